// SPDX-License-Identifier: MIT
/* The dissectors, in probing order, and the helpers they share. */
#include "dissect/dissect.h"

#include <stdio.h>

#include "dissect/protocols.h"

/* In the order of dissect/protocols.def. */
const struct dissector_ops *const dissectors[] = {
#define PROTOCOL(name, request_summary, response_summary) &name##_dissector,
#include "dissect/protocols.def"
#undef PROTOCOL
	NULL,
};

void dissect_add_tcp(struct doc *d, uint64_t missed_bytes, uint64_t retransmissions,
		     uint64_t truncated_bytes)
{
	if (!missed_bytes && !retransmissions && !truncated_bytes)
		return;
	uint32_t tcp = doc_add_obj(d, DOC_ROOT, "tcp");
	if (missed_bytes)
		doc_add_int(d, tcp, "missed_bytes", (int64_t)missed_bytes);
	if (retransmissions)
		doc_add_int(d, tcp, "retransmissions", (int64_t)retransmissions);
	if (truncated_bytes)
		doc_add_int(d, tcp, "truncated_bytes", (int64_t)truncated_bytes);
}

size_t dissect_excerpt(char *out, size_t out_len, const uint8_t *s, size_t len, size_t max)
{
	size_t o = 0;
	if (out_len == 0)
		return 0;
	for (size_t i = 0; i < len && i < max && o + 5 < out_len; i++) {
		uint8_t c = s[i];
		if (c == '\r' || c == '\n')
			break;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", c);
	}
	if ((len > max) && o + 4 < out_len) {
		out[o++] = '.';
		out[o++] = '.';
		out[o++] = '.';
	}
	out[o] = 0;
	return o;
}
