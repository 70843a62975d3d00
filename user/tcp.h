/* SPDX-License-Identifier: MIT */
#ifndef FL_TCP_H
#define FL_TCP_H
#include <stdint.h>
struct tcp_conn {
	uint8_t state;
};
#endif
