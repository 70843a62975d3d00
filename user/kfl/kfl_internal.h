/* SPDX-License-Identifier: MIT */
/* KFL internals shared by the lexer, the parser and the evaluator. */
#ifndef FL_KFL_INTERNAL_H
#define FL_KFL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "kfl/kfl.h"

/* ---- lexer ---- */

enum kfl_tok {
	KT_EOF = 0,
	KT_IDENT,       /* field or helper name */
	KT_NUMBER,
	KT_STRING,      /* "..." with escapes; decoded by kfl_lex_string() */
	KT_REGEX,       /* r"..."; the pattern is the raw text between the quotes */
	KT_DOT, KT_LBRACK, KT_RBRACK, KT_LPAREN, KT_RPAREN, KT_COMMA,
	KT_EQ, KT_NE, KT_LT, KT_LE, KT_GT, KT_GE,
	KT_AND,         /* and && */
	KT_OR,          /* or || */
	KT_NOT,         /* not ! */
	KT_TRUE, KT_FALSE, KT_NULL,
	KT_BAD,         /* a character that starts no token */
};

struct kfl_token {
	enum kfl_tok type;
	size_t pos;     /* byte offset in the query */
	size_t len;     /* bytes, quotes and the r included */
};

/* A syntax error: the byte offset the caret goes under, and the text. */
struct kfl_error {
	size_t pos;
	char msg[256];
};

struct kfl_lexer {
	const char *src;
	size_t len;
	size_t pos;
};

void kfl_lex_init(struct kfl_lexer *lx, const char *src);
/* Scan the next token; 0, or -EINVAL with *err filled (unterminated string...). */
int kfl_lex_next(struct kfl_lexer *lx, struct kfl_token *tok, struct kfl_error *err);
/* Decode a KT_STRING token into out (at least tok->len bytes); returns the length. */
size_t kfl_lex_string(const char *src, const struct kfl_token *tok, char *out);
/* How a token reads in a message: 'and', "abc", end of input. */
void kfl_tok_describe(const char *src, const struct kfl_token *tok, char *buf, size_t len);

/* ---- AST ---- */

enum kfl_helper { KFL_STARTS_WITH, KFL_ENDS_WITH, KFL_CONTAINS };

struct kfl_seg {
	const char *key;        /* NULL for an index */
	size_t key_len;
	uint32_t index;
	bool headers;           /* under "headers": retry case-insensitively */
};

enum kfl_operand_kind {
	KO_NULL, KO_BOOL, KO_NUMBER, KO_STRING, KO_REGEX, KO_PATH, KO_HELPER,
};

struct kfl_operand {
	enum kfl_operand_kind kind;
	size_t pos;                     /* where it starts in the query */
	bool b;
	bool is_int;
	int64_t i;
	double d;
	const char *s;                  /* string literal or regex pattern text */
	size_t s_len;
	pcre2_code *re;
	pcre2_match_data *md;
	pcre2_match_context *mctx;      /* the expression's match limits */
	struct kfl_seg *segs;           /* path */
	unsigned n_segs;
	enum kfl_helper helper;         /* helper: segs is the subject, arg the argument */
	struct kfl_operand *arg;
};

enum kfl_node_kind {
	KN_OR, KN_AND, KN_NOT,
	KN_CONST,       /* b */
	KN_PROTOCOL,    /* s: protocol == s (udp also checks transport) */
	KN_TRUTH,       /* lhs is present and not null/false/0/"" */
	KN_CMP,         /* lhs op rhs */
};

struct kfl_node {
	enum kfl_node_kind kind;
	struct kfl_node *left, *right;  /* or, and; not uses left */
	bool b;
	const char *s;
	size_t s_len;
	enum kfl_tok op;
	struct kfl_operand *lhs, *rhs;
};

struct kfl_alloc;

struct kfl_expr {
	struct kfl_node *root;
	struct kfl_alloc *allocs;       /* every node, operand and string */
	struct kfl_operand **regexes;   /* to free their PCRE2 code and match data */
	pcre2_match_context *mctx;      /* shared by the regexes: bounded backtracking */
	unsigned n_regexes, cap_regexes;
};

#endif
