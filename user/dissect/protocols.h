/* SPDX-License-Identifier: MIT */
/* The application dissectors, declared from dissect/protocols.def. */
#ifndef FL_DISSECT_PROTOCOLS_H
#define FL_DISSECT_PROTOCOLS_H

#include "dissect/dissect.h"

#define PROTOCOL(name, request_summary, response_summary) \
	extern const struct dissector_ops name##_dissector;
#include "dissect/protocols.def"
#undef PROTOCOL

#endif
