/* SPDX-License-Identifier: MIT */
/* Wrap-safe TCP sequence number comparisons (Suricata's SEQ_* idiom, RFC 1982 arithmetic). */
#ifndef FL_STREAM_SEQ_H
#define FL_STREAM_SEQ_H

#include <stdint.h>

#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

#endif
