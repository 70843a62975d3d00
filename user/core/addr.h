/* SPDX-License-Identifier: MIT */
/* IPv4/IPv6 addresses as faultline carries them, and their text form. */
#ifndef FL_ADDR_H
#define FL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fl_addr {
	uint8_t family;      /* 4 or 6; 0 when unset */
	uint8_t bytes[16];   /* network order; IPv4 in the first 4 bytes, rest zero */
};

#define FL_ADDR_STRLEN 46    /* INET6_ADDRSTRLEN */

static inline bool addr_equal(const struct fl_addr *a, const struct fl_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static inline int addr_compare(const struct fl_addr *a, const struct fl_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, 16);
}

/* Text form into `buf` (at least FL_ADDR_STRLEN bytes); returns buf. */
const char *addr_format(const struct fl_addr *a, char *buf, size_t len);
/* Parse dotted IPv4 or IPv6 text; returns 0 or -EINVAL. */
int addr_parse(struct fl_addr *a, const char *text);

#endif
