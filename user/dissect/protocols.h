/* SPDX-License-Identifier: MIT */
/* The application dissectors, for dissect/registry.c to list. */
#ifndef FL_DISSECT_PROTOCOLS_H
#define FL_DISSECT_PROTOCOLS_H

#include "dissect/dissect.h"

extern const struct dissector_ops dns_dissector;
extern const struct dissector_ops redis_dissector;

#endif
