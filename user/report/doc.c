// SPDX-License-Identifier: MIT
#include "report/doc.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void doc_init(struct doc *d)
{
	memset(d, 0, sizeof(*d));
}

void doc_free(struct doc *d)
{
	free(d->nodes);
	free(d->pool);
	memset(d, 0, sizeof(*d));
}

static bool grow(void **buf, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	uint32_t ncap = *cap ? *cap : 32;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*buf, (size_t)ncap * elem);
	if (!p)
		return false;
	*buf = p;
	*cap = ncap;
	return true;
}

static bool pool_put(struct doc *d, const char *s, size_t len, uint32_t *off)
{
	if (len > UINT32_MAX / 2 || !grow((void **)&d->pool, &d->pool_cap,
					  d->pool_len + (uint32_t)len + 1, 1)) {
		d->oom = true;
		return false;
	}
	*off = d->pool_len;
	if (len)
		memcpy(d->pool + d->pool_len, s, len);
	d->pool[d->pool_len + len] = '\0';
	d->pool_len += (uint32_t)len + 1;
	return true;
}

static uint32_t node_new(struct doc *d, uint32_t parent, const char *key, enum doc_type type)
{
	if (d->discard)
		return DOC_NONE;
	if (!grow((void **)&d->nodes, &d->cap_nodes, d->n_nodes + 1, sizeof(*d->nodes))) {
		d->oom = true;
		return DOC_NONE;
	}
	uint32_t idx = d->n_nodes;
	struct doc_node *n = &d->nodes[idx];
	memset(n, 0, sizeof(*n));
	n->type = (uint8_t)type;
	n->next = DOC_NONE;
	if (key) {
		size_t key_len = strlen(key);
		uint32_t off;
		if (!pool_put(d, key, key_len, &off))
			return DOC_NONE;
		n = &d->nodes[idx];
		n->key_off = off;
		n->key_len = (uint32_t)key_len;
	}
	if (type == DOC_OBJ || type == DOC_ARR)
		n->v.kids.first = n->v.kids.last = DOC_NONE;
	d->n_nodes++;
	if (parent != DOC_NONE) {
		struct doc_node *p = &d->nodes[parent];
		if (p->v.kids.last == DOC_NONE)
			p->v.kids.first = idx;
		else
			d->nodes[p->v.kids.last].next = idx;
		p->v.kids.last = idx;
		p->v.kids.count++;
	}
	return idx;
}

bool doc_load(struct doc *d, const struct doc_node *nodes, uint32_t n_nodes, const char *pool,
	      uint32_t pool_len, bool oom)
{
	if (!grow((void **)&d->nodes, &d->cap_nodes, n_nodes ? n_nodes : 1, sizeof(*d->nodes)) ||
	    !grow((void **)&d->pool, &d->pool_cap, pool_len ? pool_len : 1, 1))
		return false;
	memcpy(d->nodes, nodes, (size_t)n_nodes * sizeof(*nodes));
	if (pool_len)
		memcpy(d->pool, pool, pool_len);
	d->n_nodes = n_nodes;
	d->pool_len = pool_len;
	d->oom = oom;
	d->discard = false;
	return true;
}

void doc_reset(struct doc *d)
{
	d->n_nodes = 0;
	d->pool_len = 0;
	d->oom = false;
	d->discard = false;
	node_new(d, DOC_NONE, NULL, DOC_OBJ);
}

uint32_t doc_add_null(struct doc *d, uint32_t parent, const char *key)
{
	return parent == DOC_NONE ? DOC_NONE : node_new(d, parent, key, DOC_NULL);
}

uint32_t doc_add_bool(struct doc *d, uint32_t parent, const char *key, bool b)
{
	uint32_t n = doc_add_null(d, parent, key);
	if (n != DOC_NONE) {
		d->nodes[n].type = DOC_BOOL;
		d->nodes[n].v.b = b;
	}
	return n;
}

uint32_t doc_add_int(struct doc *d, uint32_t parent, const char *key, int64_t i)
{
	uint32_t n = doc_add_null(d, parent, key);
	if (n != DOC_NONE) {
		d->nodes[n].type = DOC_INT;
		d->nodes[n].v.i = i;
	}
	return n;
}

uint32_t doc_add_real(struct doc *d, uint32_t parent, const char *key, double r)
{
	uint32_t n = doc_add_null(d, parent, key);
	if (n != DOC_NONE) {
		d->nodes[n].type = DOC_REAL;
		d->nodes[n].v.r = r;
	}
	return n;
}

uint32_t doc_add_strn(struct doc *d, uint32_t parent, const char *key, const char *s, size_t len)
{
	uint32_t n = doc_add_null(d, parent, key);
	uint32_t off;
	if (n == DOC_NONE || !pool_put(d, s, len, &off))
		return DOC_NONE;
	d->nodes[n].type = DOC_STR;
	d->nodes[n].v.s.off = off;
	d->nodes[n].v.s.len = (uint32_t)len;
	return n;
}

bool doc_set_str(struct doc *d, uint32_t node, const char *s, size_t len)
{
	uint32_t off;
	if (node == DOC_NONE || d->discard || !pool_put(d, s, len, &off))
		return false;
	d->nodes[node].type = DOC_STR;
	d->nodes[node].v.s.off = off;
	d->nodes[node].v.s.len = (uint32_t)len;
	return true;
}

uint32_t doc_add_str(struct doc *d, uint32_t parent, const char *key, const char *s)
{
	return doc_add_strn(d, parent, key, s, strlen(s));
}

uint32_t doc_add_strf(struct doc *d, uint32_t parent, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	if (d->discard)
		return DOC_NONE;
	va_start(ap, fmt);
	int len = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if ((size_t)len >= sizeof(buf))
		len = sizeof(buf) - 1;
	return doc_add_strn(d, parent, key, buf, (size_t)len);
}

uint32_t doc_add_obj(struct doc *d, uint32_t parent, const char *key)
{
	return parent == DOC_NONE ? DOC_NONE : node_new(d, parent, key, DOC_OBJ);
}

uint32_t doc_add_arr(struct doc *d, uint32_t parent, const char *key)
{
	return parent == DOC_NONE ? DOC_NONE : node_new(d, parent, key, DOC_ARR);
}

uint32_t doc_getn(const struct doc *d, uint32_t obj, const char *key, size_t key_len)
{
	if (obj == DOC_NONE || obj >= d->n_nodes || d->nodes[obj].type != DOC_OBJ)
		return DOC_NONE;
	for (uint32_t c = d->nodes[obj].v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
		const struct doc_node *n = &d->nodes[c];
		if (n->key_len == key_len && memcmp(d->pool + n->key_off, key, key_len) == 0)
			return c;
	}
	return DOC_NONE;
}

uint32_t doc_get(const struct doc *d, uint32_t obj, const char *key)
{
	return doc_getn(d, obj, key, strlen(key));
}

uint32_t doc_index(const struct doc *d, uint32_t arr, uint32_t i)
{
	if (arr == DOC_NONE || arr >= d->n_nodes || d->nodes[arr].type != DOC_ARR)
		return DOC_NONE;
	uint32_t c = d->nodes[arr].v.kids.first;
	while (c != DOC_NONE && i--)
		c = d->nodes[c].next;
	return c;
}

uint32_t doc_path(const struct doc *d, uint32_t node, const char *dotted)
{
	const char *p = dotted;
	while (node != DOC_NONE && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		node = doc_getn(d, node, p, len);
		p += len + (dot ? 1 : 0);
	}
	return node;
}

const char *doc_path_str(const struct doc *d, uint32_t node, const char *dotted)
{
	uint32_t n = doc_path(d, node, dotted);
	return doc_type_of(d, n) == DOC_STR ? doc_str(d, n, NULL) : NULL;
}

double doc_number(const struct doc *d, uint32_t node)
{
	switch (doc_type_of(d, node)) {
	case DOC_INT:
		return (double)d->nodes[node].v.i;
	case DOC_REAL:
		return d->nodes[node].v.r;
	default:
		return 0;
	}
}

uint32_t doc_copy(struct doc *dst, uint32_t parent, const char *key,
		  const struct doc *src, uint32_t src_node)
{
	const struct doc_node *s = &src->nodes[src_node];
	uint32_t n;
	switch (s->type) {
	case DOC_BOOL:
		return doc_add_bool(dst, parent, key, s->v.b);
	case DOC_INT:
		return doc_add_int(dst, parent, key, s->v.i);
	case DOC_REAL:
		return doc_add_real(dst, parent, key, s->v.r);
	case DOC_STR:
		return doc_add_strn(dst, parent, key, src->pool + s->v.s.off, s->v.s.len);
	case DOC_OBJ:
	case DOC_ARR:
		n = s->type == DOC_OBJ ? doc_add_obj(dst, parent, key) : doc_add_arr(dst, parent, key);
		for (uint32_t c = s->v.kids.first; c != DOC_NONE && n != DOC_NONE; c = src->nodes[c].next)
			doc_copy(dst, n, s->type == DOC_OBJ ? src->pool + src->nodes[c].key_off : NULL,
				 src, c);
		return n;
	default:
		return doc_add_null(dst, parent, key);
	}
}

size_t doc_utf8_len(const unsigned char *p, size_t avail)
{
	size_t n;
	uint32_t cp;
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
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * A JSON string that strict parsers accept: valid UTF-8 passes as it is,
 * control characters and DEL are escaped, and every byte that is not part of
 * a valid UTF-8 sequence is written as \u00XX, XX its value (so \u00e9 in the
 * output always means the raw byte 0xe9: a real U+00E9 is written as UTF-8).
 */
static void write_json_string(const char *s, size_t len, FILE *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	putc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = u[i];
		switch (c) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (c >= 0x80) {
				size_t n = doc_utf8_len(u + i, len - i);
				if (n) {
					fwrite(u + i, 1, n, out);
					i += n - 1;
					break;
				}
			}
			if (c < 0x20 || c >= 0x7f) {
				fputs("\\u00", out);
				putc(hex[c >> 4], out);
				putc(hex[c & 15], out);
			} else {
				putc(c, out);
			}
		}
	}
	putc('"', out);
}

void doc_write_json(const struct doc *d, uint32_t node, FILE *out)
{
	if (node == DOC_NONE) {
		fputs("null", out);
		return;
	}
	const struct doc_node *n = &d->nodes[node];
	switch (n->type) {
	case DOC_NULL:
		fputs("null", out);
		break;
	case DOC_BOOL:
		fputs(n->v.b ? "true" : "false", out);
		break;
	case DOC_INT:
		fprintf(out, "%lld", (long long)n->v.i);
		break;
	case DOC_REAL:
		if (isfinite(n->v.r))
			fprintf(out, "%.3f", n->v.r);
		else
			fputs("null", out);
		break;
	case DOC_STR:
		write_json_string(d->pool + n->v.s.off, n->v.s.len, out);
		break;
	case DOC_OBJ:
	case DOC_ARR:
		putc(n->type == DOC_OBJ ? '{' : '[', out);
		for (uint32_t c = n->v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
			if (c != n->v.kids.first)
				putc(',', out);
			if (n->type == DOC_OBJ) {
				write_json_string(d->pool + d->nodes[c].key_off, d->nodes[c].key_len, out);
				putc(':', out);
			}
			doc_write_json(d, c, out);
		}
		putc(n->type == DOC_OBJ ? '}' : ']', out);
		break;
	}
}
