/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the request/response dissectors (dns, redis): why a
 * request went unanswered, in the spec's words, and payload bytes made safe
 * to carry in an entry (the JSON writer passes bytes >= 0x80 through, so
 * anything that is not valid UTF-8 is escaped here).
 */
#ifndef FL_DISSECT_APPMSG_H
#define FL_DISSECT_APPMSG_H

#include <stddef.h>
#include <stdint.h>

#include "dissect/dissect.h"

/*
 * The half-connection reason for a request still waiting when the stream
 * ended ("closed", "reset", "timeout", "capture-end"), and a message such as
 * "response missing: connection reset by server" written into msg (`what`
 * is its first part: "response missing", "response incomplete", ...).
 */
const char *appmsg_end_reason(const struct dissect_ctx *ctx, const char *what, char *msg,
			      size_t msglen);

/* "response missing: ICMP Destination unreachable (Port unreachable)". */
void appmsg_icmp_message(const struct dissect_icmp *icmp, char *msg, size_t msglen);

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
