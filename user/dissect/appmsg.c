// SPDX-License-Identifier: MIT
#include "dissect/appmsg.h"

#include <stdio.h>

#include "report/doc.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_seq(const uint8_t *p, size_t avail)
{
	return p[0] < 0x80 ? 1 : doc_utf8_len(p, avail);
}

size_t appmsg_text(const uint8_t *data, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(data + i, len - i);
		if (n) {
			if (o + n >= outlen)
				break;
			for (size_t k = 0; k < n; k++)
				out[o++] = (char)data[i + k];
			i += n;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[data[i] >> 4];
			out[o++] = hex[data[i] & 15];
			i++;
		}
	}
	out[o] = '\0';
	return o;
}

uint32_t appmsg_add_text(struct doc *d, uint32_t parent, const char *key,
			 const uint8_t *data, size_t len)
{
	char buf[1024];
	size_t n = appmsg_text(data, len, buf, sizeof(buf));
	return doc_add_strn(d, parent, key, buf, n);
}
