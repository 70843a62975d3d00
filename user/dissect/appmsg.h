/* SPDX-License-Identifier: MIT */
/*
 * Payload bytes made safe to carry in an entry (the JSON writer passes bytes
 * >= 0x80 through, so anything that is not valid UTF-8 is escaped here).  Why
 * a request went unanswered is the exchange layer's (dissect/exchange.h).
 */
#ifndef FL_DISSECT_APPMSG_H
#define FL_DISSECT_APPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dissect/dissect.h"

/*
 * Copy `len` payload bytes into out (NUL-terminated) keeping valid UTF-8 and
 * writing every other byte >= 0x80 as "\xNN".  Returns the text length.
 * out must hold at least 4 * len + 1 bytes to take everything.
 */
size_t appmsg_text(const uint8_t *data, size_t len, char *out, size_t outlen);

/* Add `data` as a string member made safe with appmsg_text(). */
uint32_t appmsg_add_text(struct doc *d, uint32_t parent, const char *key,
			 const uint8_t *data, size_t len);

#endif
