// SPDX-License-Identifier: MIT
/*
 * KFL parser: recursive descent to an AST, and kfl_compile()/kfl_free().
 *
 *   expr       := and_expr ( ("or" | "||") and_expr )*
 *   and_expr   := unary ( ("and" | "&&") unary )*
 *   unary      := ("not" | "!") unary | "(" expr ")" | comparison
 *   comparison := operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=") operand ]
 *   operand    := number | string | regex | true | false | null | path [ helper ]
 *   path       := name ( "." name | "[" string "]" | "[" integer "]" )*
 *   helper     := "." ("startsWith" | "endsWith" | "contains") "(" operand ")"
 */
#include "kfl/kfl_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KFL_MAX_DEPTH 200
#define KFL_MAX_SEGS 64
/*
 * PCRE2 backtracks where Go's RE2 does not: bound the work one match may do
 * so a pathological pattern costs a bounded time per entry (it then fails
 * to match) instead of stalling the pipeline.
 */
#define KFL_REGEX_MATCH_LIMIT 100000
#define KFL_REGEX_DEPTH_LIMIT 10000

struct kfl_alloc {
	struct kfl_alloc *next;
	alignas(max_align_t) unsigned char data[];
};

struct parser {
	const char *src;
	struct kfl_lexer lx;
	struct kfl_token tok;       /* the current token */
	struct kfl_expr *e;
	struct kfl_error err;
	int depth;
};

static void *expr_alloc(struct parser *p, size_t size)
{
	struct kfl_alloc *a = calloc(1, sizeof(*a) + size);
	if (!a)
		return NULL;
	a->next = p->e->allocs;
	p->e->allocs = a;
	return a->data;
}

static int oom(struct parser *p)
{
	p->err.pos = p->tok.pos;
	snprintf(p->err.msg, sizeof(p->err.msg), "out of memory");
	return -ENOMEM;
}

static int advance(struct parser *p)
{
	return kfl_lex_next(&p->lx, &p->tok, &p->err);
}

/*
 * "expected <what>, got <token>".  The caret goes under the token found, or,
 * when the query ended early, under `anchor`: the token left unfinished.
 */
static int expected(struct parser *p, size_t anchor, const char *what)
{
	char got[64];
	const char *hint = "";
	kfl_tok_describe(p->src, &p->tok, got, sizeof(got));
	if (p->tok.type == KT_BAD) {
		char c = p->src[p->tok.pos];
		bool after_eq = p->tok.pos > 0 && p->src[p->tok.pos - 1] == '=';
		hint = c == '=' && !after_eq ? " (compare with '==')" :
		       c == '&' ? " (use '&&' or 'and')" :
		       c == '|' ? " (use '||' or 'or')" : "";
	}
	p->err.pos = p->tok.type == KT_EOF ? anchor : p->tok.pos;
	snprintf(p->err.msg, sizeof(p->err.msg), "expected %s, got %s%s", what, got, hint);
	return -EINVAL;
}

static int error_at(struct parser *p, size_t pos, const char *fmt, const char *arg)
{
	p->err.pos = pos;
	snprintf(p->err.msg, sizeof(p->err.msg), fmt, arg);
	return -EINVAL;
}

static struct kfl_node *node_new(struct parser *p, enum kfl_node_kind kind)
{
	struct kfl_node *n = expr_alloc(p, sizeof(*n));
	if (n)
		n->kind = kind;
	return n;
}

static int compile_regex(struct parser *p, struct kfl_operand *o, size_t pos)
{
	int code;
	PCRE2_SIZE off;
	/* Go's regexp: UTF-8, `$` only at the very end; invalid UTF-8 in a field just never matches. */
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY;

	if (p->e->n_regexes == p->e->cap_regexes) {
		unsigned cap = p->e->cap_regexes ? p->e->cap_regexes * 2 : 4;
		void *r = realloc(p->e->regexes, cap * sizeof(*p->e->regexes));
		if (!r)
			return oom(p);
		p->e->regexes = r;
		p->e->cap_regexes = cap;
	}
	o->re = pcre2_compile((PCRE2_SPTR)o->s, o->s_len, opts, &code, &off, NULL);
	if (!o->re) {
		PCRE2_UCHAR why[160];
		pcre2_get_error_message(code, why, sizeof(why));
		p->err.pos = pos;
		snprintf(p->err.msg, sizeof(p->err.msg),
			 "invalid regular expression r\"%.*s\": %s (at offset %zu of the pattern)",
			 (int)(o->s_len > 40 ? 40 : o->s_len), o->s, (const char *)why, (size_t)off);
		return -EINVAL;
	}
	p->e->regexes[p->e->n_regexes++] = o;
	if (!p->e->mctx) {
		p->e->mctx = pcre2_match_context_create(NULL);
		if (!p->e->mctx)
			return oom(p);
		pcre2_set_match_limit(p->e->mctx, KFL_REGEX_MATCH_LIMIT);
		pcre2_set_depth_limit(p->e->mctx, KFL_REGEX_DEPTH_LIMIT);
	}
	o->mctx = p->e->mctx;
	pcre2_jit_compile(o->re, PCRE2_JIT_COMPLETE);    /* the interpreter remains if JIT is unavailable */
	o->md = pcre2_match_data_create_from_pattern(o->re, NULL);
	if (!o->md)
		return oom(p);
	/* Warm up: the interpreter keeps its frame memory in the match data, so match once now. */
	pcre2_match(o->re, (PCRE2_SPTR) "", 0, 0, 0, o->md, o->mctx);
	return 0;
}

static int parse_literal(struct parser *p, struct kfl_operand *o)
{
	const struct kfl_token *t = &p->tok;
	const char *text = p->src + t->pos;
	char *buf;

	o->pos = t->pos;
	switch (t->type) {
	case KT_NULL:
		o->kind = KO_NULL;
		break;
	case KT_TRUE:
	case KT_FALSE:
		o->kind = KO_BOOL;
		o->b = t->type == KT_TRUE;
		break;
	case KT_NUMBER:
		o->kind = KO_NUMBER;
		buf = expr_alloc(p, t->len + 1);
		if (!buf)
			return oom(p);
		memcpy(buf, text, t->len);
		o->s = buf;
		o->s_len = t->len;
		o->d = strtod(buf, NULL);
		if (!strpbrk(buf, ".eE")) {
			errno = 0;
			long long v = strtoll(buf, NULL, 10);
			if (errno == 0) {
				o->is_int = true;
				o->i = v;
			}
		}
		break;
	case KT_STRING:
		o->kind = KO_STRING;
		buf = expr_alloc(p, t->len + 1);
		if (!buf)
			return oom(p);
		o->s_len = kfl_lex_string(p->src, t, buf);
		o->s = buf;
		break;
	case KT_REGEX:
		o->kind = KO_REGEX;
		buf = expr_alloc(p, t->len + 1);
		if (!buf)
			return oom(p);
		o->s_len = t->len - 3;
		memcpy(buf, text + 2, o->s_len);
		o->s = buf;
		return compile_regex(p, o, t->pos);
	default:
		return -EINVAL;
	}
	return 0;
}

static const struct {
	const char *name;
	enum kfl_helper helper;
} helpers[] = {
	{ "startsWith", KFL_STARTS_WITH },
	{ "endsWith", KFL_ENDS_WITH },
	{ "contains", KFL_CONTAINS },
};

static int parse_operand(struct parser *p, struct kfl_operand *o, size_t anchor,
			 const char *what);

/* `.name(` seen, current token is '(': parse the helper call. */
static int parse_helper(struct parser *p, struct kfl_operand *o, const struct kfl_token *name)
{
	const char *s = p->src + name->pos;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (strlen(helpers[i].name) == name->len && memcmp(helpers[i].name, s, name->len) == 0)
			break;
	if (i == sizeof(helpers) / sizeof(helpers[0])) {
		char nm[48];
		snprintf(nm, sizeof(nm), "%.*s", (int)(name->len > 40 ? 40 : name->len), s);
		return error_at(p, name->pos,
				"unknown helper '%s', expected startsWith, endsWith or contains", nm);
	}
	o->kind = KO_HELPER;
	o->helper = helpers[i].helper;
	size_t lparen = p->tok.pos;
	if ((rc = advance(p)))
		return rc;
	o->arg = expr_alloc(p, sizeof(*o->arg));
	if (!o->arg)
		return oom(p);
	char what[64];
	snprintf(what, sizeof(what), "a string argument to %s()", helpers[i].name);
	if ((rc = parse_operand(p, o->arg, lparen, what)))
		return rc;
	if (o->arg->kind == KO_REGEX || o->arg->kind == KO_HELPER || o->arg->kind == KO_NULL)
		return error_at(p, o->arg->pos, "expected a string argument to %s()", helpers[i].name);
	if (p->tok.type != KT_RPAREN) {
		snprintf(what, sizeof(what), "')' to close %s(", helpers[i].name);
		return expected(p, lparen, what);
	}
	return advance(p);
}

/* Current token is the first name of a path. */
static int parse_path(struct parser *p, struct kfl_operand *o)
{
	struct kfl_seg segs[KFL_MAX_SEGS];
	unsigned n = 0;
	int rc;

	o->kind = KO_PATH;
	o->pos = p->tok.pos;
	for (;;) {
		struct kfl_token name = p->tok;     /* a name: first token or after '.' */
		if (n == KFL_MAX_SEGS)
			return error_at(p, name.pos, "field path too long (%s segments at most)", "64");
		/* Names are copied: the query string is the caller's and may not outlive the expression. */
		char *key = expr_alloc(p, name.len + 1);
		if (!key)
			return oom(p);
		memcpy(key, p->src + name.pos, name.len);
		segs[n] = (struct kfl_seg){ .key = key, .key_len = name.len };
		segs[n].headers = n > 0 && segs[n - 1].key && segs[n - 1].key_len == 7 &&
				  memcmp(segs[n - 1].key, "headers", 7) == 0;
		n++;
		if ((rc = advance(p)))
			return rc;
		if (n == 1 && p->tok.type == KT_LPAREN) {
			char nm[48];
			snprintf(nm, sizeof(nm), "%.*s", (int)(name.len > 40 ? 40 : name.len),
				 p->src + name.pos);
			return error_at(p, name.pos, "'%s' is not a function: helpers are called on a "
					"field, e.g. src.ip.startsWith(\"198.18.\")", nm);
		}
		/* Brackets after the name. */
		while (p->tok.type == KT_LBRACK) {
			size_t lbrack = p->tok.pos;
			if ((rc = advance(p)))
				return rc;
			if (n == KFL_MAX_SEGS)
				return error_at(p, lbrack, "field path too long (%s segments at most)", "64");
			struct kfl_seg *sg = &segs[n];
			*sg = (struct kfl_seg){ 0 };
			if (p->tok.type == KT_STRING) {
				char *buf = expr_alloc(p, p->tok.len + 1);
				if (!buf)
					return oom(p);
				sg->key_len = kfl_lex_string(p->src, &p->tok, buf);
				sg->key = buf;
				sg->headers = segs[n - 1].key && segs[n - 1].key_len == 7 &&
					      memcmp(segs[n - 1].key, "headers", 7) == 0;
			} else if (p->tok.type == KT_NUMBER && p->src[p->tok.pos] != '-' &&
				   strspn(p->src + p->tok.pos, "0123456789") == p->tok.len &&
				   p->tok.len <= 9) {
				sg->index = (uint32_t)strtoul(p->src + p->tok.pos, NULL, 10);
			} else {
				return expected(p, lbrack, "a \"key\" or an index after '['");
			}
			n++;
			if ((rc = advance(p)))
				return rc;
			if (p->tok.type != KT_RBRACK)
				return expected(p, lbrack, "']'");
			if ((rc = advance(p)))
				return rc;
		}
		if (p->tok.type != KT_DOT)
			break;
		size_t dot = p->tok.pos;
		if ((rc = advance(p)))
			return rc;
		/* After a dot, keywords are plain names (a field may be called "not"). */
		if (p->tok.type != KT_IDENT && p->tok.type != KT_AND && p->tok.type != KT_OR &&
		    p->tok.type != KT_NOT && p->tok.type != KT_TRUE && p->tok.type != KT_FALSE &&
		    p->tok.type != KT_NULL)
			return expected(p, dot, "a field or helper name after '.'");
		if (p->tok.type == KT_NOT && p->src[p->tok.pos] == '!')
			return expected(p, dot, "a field or helper name after '.'");
		/* A name followed by '(' is a helper applied to the path so far. */
		struct kfl_token after = p->tok;
		struct kfl_lexer save = p->lx;
		struct kfl_token peek;
		/* A lexing error here is met again when the parser reads that token. */
		if (kfl_lex_next(&p->lx, &peek, &p->err) == 0 && peek.type == KT_LPAREN) {
			p->tok = peek;
			o->segs = expr_alloc(p, n * sizeof(*segs));
			if (!o->segs)
				return oom(p);
			memcpy(o->segs, segs, n * sizeof(*segs));
			o->n_segs = n;
			return parse_helper(p, o, &after);
		}
		p->lx = save;
		p->tok = after;
	}
	o->segs = expr_alloc(p, n * sizeof(*segs));
	if (!o->segs)
		return oom(p);
	memcpy(o->segs, segs, n * sizeof(*segs));
	o->n_segs = n;
	return 0;
}

static int parse_operand(struct parser *p, struct kfl_operand *o, size_t anchor, const char *what)
{
	int rc;
	switch (p->tok.type) {
	case KT_NULL:
	case KT_TRUE:
	case KT_FALSE:
	case KT_NUMBER:
	case KT_STRING:
	case KT_REGEX:
		if ((rc = parse_literal(p, o)))
			return rc;
		return advance(p);
	case KT_IDENT:
		return parse_path(p, o);
	default:
		return expected(p, anchor, what);
	}
}

static bool is_comparison(enum kfl_tok t)
{
	return t >= KT_EQ && t <= KT_GE;
}

/* Bare protocol words: the application protocols of dissect/protocols.def, then the rest. */
static const char *protocols[] = {
#define PROTOCOL(name, request_summary, response_summary) #name,
#include "dissect/protocols.def"
#undef PROTOCOL
	"icmp", "tcp", "udp",
};

static int parse_comparison(struct parser *p, struct kfl_node **out, size_t anchor,
			    const char *what)
{
	struct kfl_operand *lhs = expr_alloc(p, sizeof(*lhs));
	int rc;
	if (!lhs)
		return oom(p);
	if ((rc = parse_operand(p, lhs, anchor, what)))
		return rc;

	if (!is_comparison(p->tok.type)) {
		struct kfl_node *n = node_new(p, KN_TRUTH);
		if (!n)
			return oom(p);
		n->lhs = lhs;
		if (lhs->kind == KO_REGEX)
			return error_at(p, lhs->pos, "a regular expression must be compared: "
					"field == r\"%s\"", lhs->s);
		if (lhs->kind == KO_PATH && lhs->n_segs == 1 && lhs->segs[0].key) {
			for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
				if (strlen(protocols[i]) == lhs->segs[0].key_len &&
				    memcmp(protocols[i], lhs->segs[0].key, lhs->segs[0].key_len) == 0) {
					n->kind = KN_PROTOCOL;
					n->s = protocols[i];
					n->s_len = strlen(protocols[i]);
				}
			}
		}
		*out = n;
		return 0;
	}

	struct kfl_node *n = node_new(p, KN_CMP);
	struct kfl_operand *rhs = expr_alloc(p, sizeof(*rhs));
	if (!n || !rhs)
		return oom(p);
	struct kfl_token op = p->tok;
	char opwhat[48];
	snprintf(opwhat, sizeof(opwhat), "a value after '%.*s'", (int)op.len, p->src + op.pos);
	if ((rc = advance(p)))
		return rc;
	if ((rc = parse_operand(p, rhs, op.pos, opwhat)))
		return rc;
	if ((lhs->kind == KO_REGEX || rhs->kind == KO_REGEX) &&
	    op.type != KT_EQ && op.type != KT_NE)
		return error_at(p, op.pos, "a regular expression is matched with '==' or '!=', not '%s'",
				op.type == KT_LT ? "<" : op.type == KT_LE ? "<=" :
				op.type == KT_GT ? ">" : ">=");
	if (is_comparison(p->tok.type))
		return error_at(p, p->tok.pos, "%s",
				"comparisons do not chain: expected 'and', 'or', ')' or end of input");
	n->op = op.type;
	n->lhs = lhs;
	n->rhs = rhs;
	*out = n;
	return 0;
}

static int parse_expr(struct parser *p, struct kfl_node **out, size_t anchor, const char *what);

static int parse_unary(struct parser *p, struct kfl_node **out, size_t anchor, const char *what)
{
	int rc;
	if (++p->depth > KFL_MAX_DEPTH)
		return error_at(p, p->tok.pos, "%s", "query nested too deeply");
	if (p->tok.type == KT_NOT) {
		struct kfl_token op = p->tok;
		char opwhat[48];
		snprintf(opwhat, sizeof(opwhat), "a condition after '%.*s'", (int)op.len,
			 p->src + op.pos);
		struct kfl_node *n = node_new(p, KN_NOT);
		if (!n)
			return oom(p);
		if ((rc = advance(p)) || (rc = parse_unary(p, &n->left, op.pos, opwhat)))
			return rc;
		*out = n;
	} else if (p->tok.type == KT_LPAREN) {
		size_t lparen = p->tok.pos;
		if ((rc = advance(p)) ||
		    (rc = parse_expr(p, out, lparen, "a condition after '('")))
			return rc;
		if (p->tok.type != KT_RPAREN)
			return expected(p, lparen, "')' to close '('");
		if ((rc = advance(p)))
			return rc;
		if (is_comparison(p->tok.type))
			return error_at(p, p->tok.pos, "%s",
					"a parenthesized condition cannot be compared: expected 'and', 'or', ')' or end of input");
	} else {
		if ((rc = parse_comparison(p, out, anchor, what)))
			return rc;
	}
	p->depth--;
	return 0;
}

static int parse_and(struct parser *p, struct kfl_node **out, size_t anchor, const char *what)
{
	int rc = parse_unary(p, out, anchor, what);
	while (rc == 0 && p->tok.type == KT_AND) {
		struct kfl_token op = p->tok;
		char opwhat[48];
		snprintf(opwhat, sizeof(opwhat), "a condition after '%.*s'", (int)op.len,
			 p->src + op.pos);
		struct kfl_node *n = node_new(p, KN_AND);
		if (!n)
			return oom(p);
		n->left = *out;
		if ((rc = advance(p)) || (rc = parse_unary(p, &n->right, op.pos, opwhat)))
			return rc;
		*out = n;
	}
	return rc;
}

static int parse_expr(struct parser *p, struct kfl_node **out, size_t anchor, const char *what)
{
	int rc = parse_and(p, out, anchor, what);
	while (rc == 0 && p->tok.type == KT_OR) {
		struct kfl_token op = p->tok;
		char opwhat[48];
		snprintf(opwhat, sizeof(opwhat), "a condition after '%.*s'", (int)op.len,
			 p->src + op.pos);
		struct kfl_node *n = node_new(p, KN_OR);
		if (!n)
			return oom(p);
		n->left = *out;
		if ((rc = advance(p)) || (rc = parse_and(p, &n->right, op.pos, opwhat)))
			return rc;
		*out = n;
	}
	return rc;
}

/* Column (1-based, in characters) of byte offset pos. */
static size_t column_of(const char *src, size_t pos)
{
	size_t col = 1;
	for (size_t i = 0; i < pos && src[i]; i++)
		if (((unsigned char)src[i] & 0xc0) != 0x80)
			col++;
	return col;
}

static void format_error(const char *src, const struct kfl_error *err, char *out, size_t len)
{
	size_t col = column_of(src, err->pos);
	size_t n = 0;
	int w;
	if (!out || !len)
		return;
	w = snprintf(out, len, "column %zu: %s\n  ", col, err->msg);
	n = w < 0 ? 0 : (size_t)w;
	/* The query on one line: whitespace that would break the caret line becomes a space. */
	for (size_t i = 0; src[i] && n + 1 < len; i++)
		out[n++] = (src[i] == '\n' || src[i] == '\r' || src[i] == '\t') ? ' ' : src[i];
	if (n + 3 < len) {
		out[n++] = '\n';
		out[n++] = ' ';
		out[n++] = ' ';
	}
	for (size_t i = 1; i < col && n + 1 < len; i++)
		out[n++] = ' ';
	if (n + 1 < len)
		out[n++] = '^';
	out[n < len ? n : len - 1] = '\0';
}

void kfl_free(struct kfl_expr *e)
{
	if (!e)
		return;
	for (unsigned i = 0; i < e->n_regexes; i++) {
		pcre2_match_data_free(e->regexes[i]->md);
		pcre2_code_free(e->regexes[i]->re);
	}
	free(e->regexes);
	pcre2_match_context_free(e->mctx);
	while (e->allocs) {
		struct kfl_alloc *a = e->allocs;
		e->allocs = a->next;
		free(a);
	}
	free(e);
}

struct kfl_expr *kfl_compile(const char *query, char *err, size_t errlen)
{
	struct parser p = { .src = query };
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!query) {
		errno = EINVAL;
		return NULL;
	}
	p.e = calloc(1, sizeof(*p.e));
	if (!p.e) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	kfl_lex_init(&p.lx, query);
	rc = advance(&p);
	if (rc == 0 && p.tok.type == KT_EOF) {
		/* An empty query matches everything, as in Kubeshark. */
		p.e->root = node_new(&p, KN_CONST);
		if (p.e->root)
			p.e->root->b = true;
		else
			rc = oom(&p);
	} else if (rc == 0) {
		rc = parse_expr(&p, &p.e->root, p.tok.pos, "a condition");
		if (rc == 0 && p.tok.type != KT_EOF)
			rc = p.tok.type == KT_RPAREN
				? error_at(&p, p.tok.pos, "%s", "unmatched ')'")
				: expected(&p, p.tok.pos, "'and', 'or' or end of input");
	}
	if (rc) {
		format_error(query, &p.err, err, errlen);
		kfl_free(p.e);
		errno = -rc;
		return NULL;
	}
	return p.e;
}
