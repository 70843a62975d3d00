/* SPDX-License-Identifier: MIT */
/*
 * doc: a small JSON-shaped document model.  Every entry is built as a doc;
 * the JSON and table writers print it and the KFL evaluator walks it, so the
 * three agree on field names by construction.
 *
 * Nodes and strings live in two growable arrays owned by the doc and are
 * addressed by index, so a doc that is reset and reused does not allocate
 * once it has grown to the size of its largest entry.
 */
#ifndef FL_DOC_H
#define FL_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum doc_type {
	DOC_NULL = 0,
	DOC_BOOL,
	DOC_INT,
	DOC_REAL,
	DOC_STR,
	DOC_OBJ,
	DOC_ARR,
};

#define DOC_NONE UINT32_MAX  /* "no such node" */
#define DOC_ROOT 0u          /* the root object of every doc */

struct doc_node {
	uint8_t type;            /* enum doc_type */
	uint32_t key_off;        /* key in the string pool (members of objects) */
	uint32_t key_len;
	uint32_t next;           /* next sibling, DOC_NONE at the end */
	union {
		bool b;
		int64_t i;
		double r;
		struct { uint32_t off, len; } s;
		struct { uint32_t first, last, count; } kids;
	} v;
};

struct doc {
	struct doc_node *nodes;
	uint32_t n_nodes, cap_nodes;
	char *pool;
	uint32_t pool_len, pool_cap;
	bool oom;                /* an append failed; the doc is incomplete */
	bool discard;            /* nobody will read it: appends are no-ops (set after reset) */
};

void doc_init(struct doc *d);
void doc_free(struct doc *d);
/* Empty the doc, keeping its memory, and create the root object. */
void doc_reset(struct doc *d);
/* Make d a copy of the doc whose arrays these are (a doc handed between threads). */
bool doc_load(struct doc *d, const struct doc_node *nodes, uint32_t n_nodes, const char *pool,
	      uint32_t pool_len, bool oom);

/*
 * Append a member to `parent`.  When parent is an object, `key` names the
 * member; when it is an array, key is NULL.  Each returns the new node's
 * index or DOC_NONE when out of memory (d->oom is then set).
 */
uint32_t doc_add_null(struct doc *d, uint32_t parent, const char *key);
uint32_t doc_add_bool(struct doc *d, uint32_t parent, const char *key, bool b);
uint32_t doc_add_int(struct doc *d, uint32_t parent, const char *key, int64_t i);
uint32_t doc_add_real(struct doc *d, uint32_t parent, const char *key, double r);
uint32_t doc_add_str(struct doc *d, uint32_t parent, const char *key, const char *s);
uint32_t doc_add_strn(struct doc *d, uint32_t parent, const char *key, const char *s, size_t len);
uint32_t doc_add_strf(struct doc *d, uint32_t parent, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
uint32_t doc_add_obj(struct doc *d, uint32_t parent, const char *key);
/* Make `node` the string s[0..len) (the old text stays in the pool).  False when out of memory. */
bool doc_set_str(struct doc *d, uint32_t node, const char *s, size_t len);
uint32_t doc_add_arr(struct doc *d, uint32_t parent, const char *key);

/* Lookup.  Each returns DOC_NONE when absent or when `node` is not a container. */
uint32_t doc_get(const struct doc *d, uint32_t obj, const char *key);
uint32_t doc_getn(const struct doc *d, uint32_t obj, const char *key, size_t key_len);
uint32_t doc_index(const struct doc *d, uint32_t arr, uint32_t i);
/* Follow a dotted path such as "error.type" from `node`. */
uint32_t doc_path(const struct doc *d, uint32_t node, const char *dotted);

static inline enum doc_type doc_type_of(const struct doc *d, uint32_t node)
{
	return node == DOC_NONE ? DOC_NULL : (enum doc_type)d->nodes[node].type;
}
static inline const char *doc_str(const struct doc *d, uint32_t node, size_t *len)
{
	const struct doc_node *n = &d->nodes[node];
	if (len)
		*len = n->v.s.len;
	return d->pool + n->v.s.off;
}
static inline const char *doc_key(const struct doc *d, uint32_t node, size_t *len)
{
	const struct doc_node *n = &d->nodes[node];
	if (len)
		*len = n->key_len;
	return d->pool + n->key_off;
}
/* Integer or real value as a double; 0 for other types. */
double doc_number(const struct doc *d, uint32_t node);
/* Convenience: the string at a dotted path, or NULL. */
const char *doc_path_str(const struct doc *d, uint32_t node, const char *dotted);

/* Deep-copy the subtree `src_node` of `src` as member `key` of `parent` in `dst`. */
uint32_t doc_copy(struct doc *dst, uint32_t parent, const char *key,
		  const struct doc *src, uint32_t src_node);

/* Write `node` as compact JSON (no newline). */
void doc_write_json(const struct doc *d, uint32_t node, FILE *out);

/* Length of the valid UTF-8 sequence at p (2..4 bytes, p[0] >= 0x80), or 0:
 * overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
size_t doc_utf8_len(const unsigned char *p, size_t avail);

#endif
