// SPDX-License-Identifier: MIT
#include "report/doc_json.h"

#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct parser {
	const char *p, *end;
	struct doc *d;
	char *buf;              /* a decoded string */
	size_t buf_cap;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* A string at ps->p (the opening quote): decoded into ps->buf, its length in *len. */
static int string(struct parser *ps, size_t *len)
{
	size_t n = 0;

	ps->p++;
	for (;;) {
		if (ps->p >= ps->end)
			return -1;
		/* Room for the longest expansion (4 bytes) plus a NUL. */
		if (n + 5 > ps->buf_cap) {
			size_t cap = ps->buf_cap ? ps->buf_cap * 2 : 256;
			char *b = realloc(ps->buf, cap);
			if (!b)
				return -1;
			ps->buf = b;
			ps->buf_cap = cap;
		}
		char c = *ps->p++;
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20)
			return -1;
		if (c != '\\') {
			ps->buf[n++] = c;
			continue;
		}
		if (ps->p >= ps->end)
			return -1;
		c = *ps->p++;
		switch (c) {
		case '"': case '\\': case '/': ps->buf[n++] = c; break;
		case 'b': ps->buf[n++] = '\b'; break;
		case 'f': ps->buf[n++] = '\f'; break;
		case 'n': ps->buf[n++] = '\n'; break;
		case 'r': ps->buf[n++] = '\r'; break;
		case 't': ps->buf[n++] = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (ps->end - ps->p < 4 || hex4(ps->p, &cp) < 0)
				return -1;
			ps->p += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
			    ps->p[1] == 'u' && hex4(ps->p + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				ps->p += 6;
			} else if (cp >= 0xD800 && cp < 0xE000) {
				cp = 0xFFFD;      /* a lone surrogate */
			}
			n += put_utf8(ps->buf + n, cp);
			break;
		}
		default:
			return -1;
		}
	}
	*len = n;
	return 0;
}

static int value(struct parser *ps, uint32_t parent, const char *key, int depth);

static int container(struct parser *ps, uint32_t node, bool object, int depth)
{
	char close = object ? '}' : ']';

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(ps);
		if (object) {
			size_t len;
			if (ps->p >= ps->end || *ps->p != '"' || string(ps, &len) < 0)
				return -1;
			key = strndup(ps->buf, len);
			if (!key)
				return -1;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return -1;
			}
			ps->p++;
		}
		int rc = value(ps, node, key, depth + 1);
		free(key);
		if (rc < 0)
			return -1;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -1;
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			return 0;
		}
		return -1;
	}
}

static bool word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int value(struct parser *ps, uint32_t parent, const char *key, int depth)
{
	struct doc *d = ps->d;
	uint32_t node;

	if (depth > JSON_MAX_DEPTH)
		return -1;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -1;
	switch (*ps->p) {
	case '{':
		node = doc_add_obj(d, parent, key);
		return node == DOC_NONE ? -1 : container(ps, node, true, depth);
	case '[':
		node = doc_add_arr(d, parent, key);
		return node == DOC_NONE ? -1 : container(ps, node, false, depth);
	case '"': {
		size_t len;
		if (string(ps, &len) < 0)
			return -1;
		return doc_add_strn(d, parent, key, ps->buf, len) == DOC_NONE ? -1 : 0;
	}
	case 't':
		return word(ps, "true") && doc_add_bool(d, parent, key, true) != DOC_NONE ? 0 : -1;
	case 'f':
		return word(ps, "false") && doc_add_bool(d, parent, key, false) != DOC_NONE ? 0 : -1;
	case 'n':
		return word(ps, "null") && doc_add_null(d, parent, key) != DOC_NONE ? 0 : -1;
	default: {
		char num[64];
		size_t n = 0;
		bool real = false;
		while (ps->p < ps->end && n < sizeof(num) - 1 && strchr("+-0123456789.eE", *ps->p)) {
			real |= *ps->p == '.' || *ps->p == 'e' || *ps->p == 'E';
			num[n++] = *ps->p++;
		}
		num[n] = '\0';
		if (!n)
			return -1;
		char *e;
		if (!real) {
			long long v = strtoll(num, &e, 10);
			if (*e)
				return -1;
			return doc_add_int(d, parent, key, v) == DOC_NONE ? -1 : 0;
		}
		double r = strtod(num, &e);
		if (*e)
			return -1;
		return doc_add_real(d, parent, key, r) == DOC_NONE ? -1 : 0;
	}
	}
}

int doc_parse_json(struct doc *d, const char *text, size_t len)
{
	struct parser ps = { .p = text, .end = text + len, .d = d };
	int rc;

	doc_reset(d);
	skip_ws(&ps);
	if (ps.p >= ps.end || *ps.p != '{')
		return -1;
	/* The root object exists after reset: its members go straight into it. */
	rc = container(&ps, DOC_ROOT, true, 0);
	if (rc == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			rc = -1;
	}
	free(ps.buf);
	return rc == 0 && !d->oom ? 0 : -1;
}
