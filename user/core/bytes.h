/* SPDX-License-Identifier: MIT */
/*
 * Network byte order readers.  The caller has checked the bounds; these only
 * assemble the bytes (no unaligned loads, no host byte order assumptions).
 */
#ifndef FL_CORE_BYTES_H
#define FL_CORE_BYTES_H

#include <stdint.h>

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
