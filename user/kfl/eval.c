// SPDX-License-Identifier: MIT
/*
 * KFL evaluator: walks the AST over an entry doc.  No allocation: paths were
 * split at compile time, regexes compiled with their match data, and a
 * number is turned into text (for a regex or a helper) in a stack buffer.
 */
#include "kfl/kfl_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum kval_type {
	KV_MISSING,     /* an absent field, or a field whose value is null */
	KV_NULL,        /* the literal null */
	KV_BOOL,
	KV_INT,
	KV_REAL,
	KV_STR,
	KV_CONTAINER,   /* object or array */
	KV_REGEX,
};

struct kval {
	enum kval_type type;
	bool b;
	int64_t i;
	double d;
	const char *s;
	size_t len;
	const struct kfl_operand *re;
};

#define KFL_TEXT_MAX 64

static uint32_t lookup_ci(const struct doc *d, uint32_t obj, const char *key, size_t len)
{
	if (doc_type_of(d, obj) != DOC_OBJ)
		return DOC_NONE;
	for (uint32_t c = d->nodes[obj].v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
		const struct doc_node *n = &d->nodes[c];
		if (n->key_len == len && strncasecmp(d->pool + n->key_off, key, len) == 0)
			return c;
	}
	return DOC_NONE;
}

static uint32_t resolve(const struct kfl_operand *o, const struct doc *d)
{
	uint32_t node = DOC_ROOT;
	for (unsigned k = 0; k < o->n_segs && node != DOC_NONE; k++) {
		const struct kfl_seg *s = &o->segs[k];
		if (!s->key) {
			node = doc_index(d, node, s->index);
			continue;
		}
		uint32_t next = doc_getn(d, node, s->key, s->key_len);
		/* HTTP header names are case-insensitive: "Host" finds "host". */
		if (next == DOC_NONE && s->headers)
			next = lookup_ci(d, node, s->key, s->key_len);
		node = next;
	}
	return node;
}

static void node_value(const struct doc *d, uint32_t node, struct kval *v)
{
	if (node == DOC_NONE) {
		v->type = KV_MISSING;
		return;
	}
	const struct doc_node *n = &d->nodes[node];
	switch (n->type) {
	case DOC_BOOL:
		v->type = KV_BOOL;
		v->b = n->v.b;
		break;
	case DOC_INT:
		v->type = KV_INT;
		v->i = n->v.i;
		v->d = (double)n->v.i;
		break;
	case DOC_REAL:
		v->type = KV_REAL;
		v->d = n->v.r;
		break;
	case DOC_STR:
		v->type = KV_STR;
		v->s = d->pool + n->v.s.off;
		v->len = n->v.s.len;
		break;
	case DOC_OBJ:
	case DOC_ARR:
		v->type = KV_CONTAINER;
		break;
	default:
		v->type = KV_MISSING;
	}
}

static void eval_operand(const struct kfl_operand *o, const struct doc *d, struct kval *v);

/* The text of a scalar: strings as they are, numbers and booleans as JSON prints them. */
static bool value_text(const struct kval *v, char *buf, const char **s, size_t *len)
{
	int n;
	switch (v->type) {
	case KV_STR:
		*s = v->s;
		*len = v->len;
		return true;
	case KV_BOOL:
		*s = v->b ? "true" : "false";
		*len = strlen(*s);
		return true;
	case KV_INT:
		n = snprintf(buf, KFL_TEXT_MAX, "%lld", (long long)v->i);
		break;
	case KV_REAL:
		if (!isfinite(v->d))
			return false;
		n = snprintf(buf, KFL_TEXT_MAX, fabs(v->d) < 1e15 ? "%.3f" : "%.17g", v->d);
		break;
	default:
		return false;
	}
	*s = buf;
	*len = n < 0 ? 0 : (size_t)n;
	return true;
}

static bool helper_apply(const struct kfl_operand *o, const struct doc *d)
{
	struct kval subj, arg;
	char sbuf[KFL_TEXT_MAX], abuf[KFL_TEXT_MAX];
	const char *s, *a;
	size_t slen, alen;

	node_value(d, resolve(o, d), &subj);
	if (!value_text(&subj, sbuf, &s, &slen))
		return false;
	eval_operand(o->arg, d, &arg);
	if (!value_text(&arg, abuf, &a, &alen))
		return false;
	if (alen > slen)
		return false;
	switch (o->helper) {
	case KFL_STARTS_WITH:
		return memcmp(s, a, alen) == 0;
	case KFL_ENDS_WITH:
		return memcmp(s + slen - alen, a, alen) == 0;
	case KFL_CONTAINS:
		return alen == 0 || memmem(s, slen, a, alen) != NULL;
	}
	return false;
}

static void eval_operand(const struct kfl_operand *o, const struct doc *d, struct kval *v)
{
	switch (o->kind) {
	case KO_NULL:
		v->type = KV_NULL;
		break;
	case KO_BOOL:
		v->type = KV_BOOL;
		v->b = o->b;
		break;
	case KO_NUMBER:
		v->type = o->is_int ? KV_INT : KV_REAL;
		v->i = o->i;
		v->d = o->d;
		break;
	case KO_STRING:
		v->type = KV_STR;
		v->s = o->s;
		v->len = o->s_len;
		break;
	case KO_REGEX:
		v->type = KV_REGEX;
		v->re = o;
		break;
	case KO_PATH:
		node_value(d, resolve(o, d), v);
		break;
	case KO_HELPER:
		v->type = KV_BOOL;
		v->b = helper_apply(o, d);
		break;
	}
}

static bool truthy(const struct kval *v)
{
	switch (v->type) {
	case KV_BOOL:
		return v->b;
	case KV_INT:
		return v->i != 0;
	case KV_REAL:
		return v->d != 0;
	case KV_STR:
		return v->len > 0;
	case KV_CONTAINER:
		return true;
	default:
		return false;
	}
}

/* A whole string that is a JSON-style number, as a double. */
static bool string_number(const char *s, size_t len, double *out)
{
	char buf[KFL_TEXT_MAX];
	size_t i = 0;
	if (len == 0 || len >= sizeof(buf))
		return false;
	if (s[i] == '-')
		i++;
	size_t digits = i;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == digits)
		return false;
	if (i < len && s[i] == '.') {
		size_t frac = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == frac)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t exp = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == exp)
			return false;
	}
	if (i != len)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, NULL);
	return true;
}

/* -1, 0, 1 from a three-way comparison turned into the operator's answer. */
static bool order_result(enum kfl_tok op, int c)
{
	switch (op) {
	case KT_EQ: return c == 0;
	case KT_NE: return c != 0;
	case KT_LT: return c < 0;
	case KT_LE: return c <= 0;
	case KT_GT: return c > 0;
	case KT_GE: return c >= 0;
	default: return false;
	}
}

static bool compare_doubles(enum kfl_tok op, double a, double b)
{
	if (isnan(a) || isnan(b))
		return op == KT_NE;
	return order_result(op, (a > b) - (a < b));
}

static bool is_number(const struct kval *v)
{
	return v->type == KV_INT || v->type == KV_REAL;
}

static bool regex_match(enum kfl_tok op, const struct kfl_operand *re, const struct kval *v)
{
	char buf[KFL_TEXT_MAX];
	const char *s;
	size_t len;
	if (v->type == KV_MISSING || v->type == KV_NULL || v->type == KV_REGEX)
		return false;
	bool m = value_text(v, buf, &s, &len) &&
		 pcre2_match(re->re, (PCRE2_SPTR)s, len, 0, 0, re->md, re->mctx) >= 0;
	return op == KT_EQ ? m : !m;
}

static bool compare(enum kfl_tok op, const struct kval *a, const struct kval *b)
{
	if (a->type == KV_REGEX)
		return regex_match(op, a->re, b);
	if (b->type == KV_REGEX)
		return regex_match(op, b->re, a);

	bool a_null = a->type == KV_MISSING || a->type == KV_NULL;
	bool b_null = b->type == KV_MISSING || b->type == KV_NULL;
	if (a_null || b_null) {
		/* Only the literal null tests presence; otherwise a missing field fails. */
		if (op == KT_EQ)
			return a_null && b_null && (a->type == KV_NULL || b->type == KV_NULL);
		if (op == KT_NE)
			return (a->type == KV_NULL && !b_null) || (b->type == KV_NULL && !a_null);
		return false;
	}

	if (a->type == KV_INT && b->type == KV_INT)
		return order_result(op, (a->i > b->i) - (a->i < b->i));
	if (is_number(a) && is_number(b))
		return compare_doubles(op, a->d, b->d);
	if (a->type == KV_STR && b->type == KV_STR) {
		size_t n = a->len < b->len ? a->len : b->len;
		int c = memcmp(a->s, b->s, n);
		if (c == 0)
			c = (a->len > b->len) - (a->len < b->len);
		return order_result(op, c);
	}
	/* A string against a number: numerically when the string is a number. */
	if ((a->type == KV_STR && is_number(b)) || (is_number(a) && b->type == KV_STR)) {
		double x;
		const struct kval *str = a->type == KV_STR ? a : b;
		if (!string_number(str->s, str->len, &x))
			return op == KT_NE;
		return a == str ? compare_doubles(op, x, b->d) : compare_doubles(op, a->d, x);
	}
	if (a->type == KV_BOOL && b->type == KV_BOOL) {
		if (op == KT_EQ || op == KT_NE)
			return (a->b == b->b) == (op == KT_EQ);
		return false;
	}
	/* A string against a boolean: against "true"/"false". */
	if ((a->type == KV_STR && b->type == KV_BOOL) || (a->type == KV_BOOL && b->type == KV_STR)) {
		const struct kval *str = a->type == KV_STR ? a : b;
		const char *t = (a->type == KV_BOOL ? a->b : b->b) ? "true" : "false";
		bool eq = str->len == strlen(t) && memcmp(str->s, t, str->len) == 0;
		if (op == KT_EQ || op == KT_NE)
			return eq == (op == KT_EQ);
		return false;
	}
	/* Different JSON types (an object, a boolean against a number): never equal. */
	return op == KT_NE;
}

static bool protocol_is(const struct doc *d, const char *key, size_t key_len,
			const char *name, size_t len)
{
	uint32_t n = doc_getn(d, DOC_ROOT, key, key_len);
	if (doc_type_of(d, n) != DOC_STR || d->nodes[n].v.s.len != len)
		return false;
	return memcmp(d->pool + d->nodes[n].v.s.off, name, len) == 0;
}

static bool eval_node(const struct kfl_node *n, const struct doc *d)
{
	struct kval a, b;
	switch (n->kind) {
	case KN_OR:
		return eval_node(n->left, d) || eval_node(n->right, d);
	case KN_AND:
		return eval_node(n->left, d) && eval_node(n->right, d);
	case KN_NOT:
		return !eval_node(n->left, d);
	case KN_CONST:
		return n->b;
	case KN_PROTOCOL:
		if (protocol_is(d, "protocol", 8, n->s, n->s_len))
			return true;
		/* udp: DNS (and others) over UDP say so in "transport". */
		return n->s_len == 3 && memcmp(n->s, "udp", 3) == 0 &&
		       protocol_is(d, "transport", 9, "udp", 3);
	case KN_TRUTH:
		eval_operand(n->lhs, d, &a);
		return truthy(&a);
	case KN_CMP:
		eval_operand(n->lhs, d, &a);
		eval_operand(n->rhs, d, &b);
		return compare(n->op, &a, &b);
	}
	return false;
}

bool kfl_match(const struct kfl_expr *e, const struct doc *entry)
{
	if (!e || !entry || entry->n_nodes == 0)
		return false;
	return eval_node(e->root, entry);
}
