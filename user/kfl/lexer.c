// SPDX-License-Identifier: MIT
/* KFL lexer: one token at a time, on demand, so errors come in query order. */
#include "kfl/kfl_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void kfl_lex_init(struct kfl_lexer *lx, const char *src)
{
	lx->src = src;
	lx->len = strlen(src);
	lx->pos = 0;
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || is_digit(c);
}

static int lex_error(struct kfl_error *err, size_t pos, const char *msg)
{
	err->pos = pos;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
	return -EINVAL;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Scan a quoted string from the opening quote at `q`; returns the end (after the quote). */
static int scan_string(struct kfl_lexer *lx, size_t start, size_t q, bool raw,
		       size_t *end, struct kfl_error *err)
{
	const char *s = lx->src;
	size_t i = q + 1;
	while (i < lx->len && s[i] != '"') {
		if (s[i] != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= lx->len)
			break;
		if (!raw) {
			char c = s[i + 1];
			if (c == 'u') {
				for (int k = 2; k < 6; k++)
					if (i + k >= lx->len || hex_value(s[i + k]) < 0)
						return lex_error(err, i, "bad \\u escape in string, expected four hex digits");
				i += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c)) {
				char msg[128];
				snprintf(msg, sizeof(msg),
					 "unknown escape '\\%c' in string, expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
					 (c >= 0x20 && c < 0x7f) ? c : '?');
				return lex_error(err, i, msg);
			}
		}
		i += 2;     /* in a regex \" keeps the quote in the pattern */
	}
	if (i >= lx->len)
		return lex_error(err, start, raw ? "unterminated regex, expected a closing '\"'"
					       : "unterminated string, expected a closing '\"'");
	*end = i + 1;
	return 0;
}

static void put_utf8(char *out, size_t *n, unsigned cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

size_t kfl_lex_string(const char *src, const struct kfl_token *tok, char *out)
{
	const char *s = src + tok->pos + 1;
	const char *end = src + tok->pos + tok->len - 1;
	size_t n = 0;
	while (s < end) {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		char c = s[1];
		s += 2;
		switch (c) {
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			unsigned cp = 0;
			for (int k = 0; k < 4; k++)
				cp = cp * 16 + (unsigned)hex_value(s[k]);
			s += 4;
			put_utf8(out, &n, cp);   /* 3 bytes at most, from 6 of source */
			break;
		}
		default: out[n++] = c; break;   /* " \ / */
		}
	}
	return n;
}

static const struct {
	const char *word;
	enum kfl_tok type;
} keywords[] = {
	{ "and", KT_AND }, { "or", KT_OR }, { "not", KT_NOT },
	{ "true", KT_TRUE }, { "false", KT_FALSE }, { "null", KT_NULL },
};

static int scan_number(struct kfl_lexer *lx, size_t start, struct kfl_token *tok,
		       struct kfl_error *err)
{
	const char *s = lx->src;
	size_t i = start;
	if (s[i] == '-')
		i++;
	while (is_digit(s[i]))
		i++;
	if (s[i] == '.') {
		if (!is_digit(s[i + 1]))
			return lex_error(err, i, "expected a digit after the decimal point");
		i++;
		while (is_digit(s[i]))
			i++;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		size_t e = i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		if (!is_digit(s[i]))
			return lex_error(err, e, "expected digits in the exponent");
		while (is_digit(s[i]))
			i++;
	}
	if (is_ident_start(s[i]))
		return lex_error(err, start, "malformed number");
	tok->type = KT_NUMBER;
	tok->len = i - start;
	return 0;
}

int kfl_lex_next(struct kfl_lexer *lx, struct kfl_token *tok, struct kfl_error *err)
{
	const char *s = lx->src;
	size_t i = lx->pos;
	while (i < lx->len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	tok->pos = i;
	tok->len = 1;
	if (i >= lx->len) {
		tok->type = KT_EOF;
		tok->len = 0;
		lx->pos = i;
		return 0;
	}

	char c = s[i], n = s[i + 1];
	size_t end;
	int rc;
	switch (c) {
	case '.': tok->type = KT_DOT; break;
	case '[': tok->type = KT_LBRACK; break;
	case ']': tok->type = KT_RBRACK; break;
	case '(': tok->type = KT_LPAREN; break;
	case ')': tok->type = KT_RPAREN; break;
	case ',': tok->type = KT_COMMA; break;
	case '=':
		tok->type = n == '=' ? KT_EQ : KT_BAD;
		tok->len = n == '=' ? 2 : 1;
		break;
	case '!':
		tok->type = n == '=' ? KT_NE : KT_NOT;
		tok->len = n == '=' ? 2 : 1;
		break;
	case '<':
		tok->type = n == '=' ? KT_LE : KT_LT;
		tok->len = n == '=' ? 2 : 1;
		break;
	case '>':
		tok->type = n == '=' ? KT_GE : KT_GT;
		tok->len = n == '=' ? 2 : 1;
		break;
	case '&':
		tok->type = n == '&' ? KT_AND : KT_BAD;
		tok->len = n == '&' ? 2 : 1;
		break;
	case '|':
		tok->type = n == '|' ? KT_OR : KT_BAD;
		tok->len = n == '|' ? 2 : 1;
		break;
	case '"':
		if ((rc = scan_string(lx, i, i, false, &end, err)))
			return rc;
		tok->type = KT_STRING;
		tok->len = end - i;
		break;
	default:
		if (c == 'r' && n == '"') {
			if ((rc = scan_string(lx, i, i + 1, true, &end, err)))
				return rc;
			tok->type = KT_REGEX;
			tok->len = end - i;
		} else if (is_digit(c) || (c == '-' && is_digit(n))) {
			if ((rc = scan_number(lx, i, tok, err)))
				return rc;
		} else if (is_ident_start(c)) {
			size_t j = i;
			while (is_ident_char(s[j]))
				j++;
			tok->type = KT_IDENT;
			tok->len = j - i;
			for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
				if (strlen(keywords[k].word) == tok->len &&
				    memcmp(keywords[k].word, s + i, tok->len) == 0)
					tok->type = keywords[k].type;
		} else {
			/* One whole UTF-8 character, so the message quotes it intact. */
			tok->type = KT_BAD;
			while (i + tok->len < lx->len && ((unsigned char)s[i + tok->len] & 0xc0) == 0x80)
				tok->len++;
		}
	}
	lx->pos = i + tok->len;
	return 0;
}

void kfl_tok_describe(const char *src, const struct kfl_token *tok, char *buf, size_t len)
{
	if (tok->type == KT_EOF) {
		snprintf(buf, len, "end of input");
		return;
	}
	int show = tok->len > 24 ? 24 : (int)tok->len;
	const char *ell = tok->len > 24 ? "..." : "";
	if (tok->type == KT_STRING || tok->type == KT_REGEX)
		snprintf(buf, len, "%.*s%s", show, src + tok->pos, ell);
	else
		snprintf(buf, len, "'%.*s%s'", show, src + tok->pos, ell);
}
