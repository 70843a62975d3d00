// SPDX-License-Identifier: MIT
#include "dissect/appmsg.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_seq(const uint8_t *p, size_t avail)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
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
