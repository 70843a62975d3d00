// SPDX-License-Identifier: MIT
/* The streaming RESP reader (resp.h). */
#include "dissect/resp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *resp_type_name(uint8_t type)
{
	switch (type) {
	case '+': return "simple";
	case '-': return "error";
	case ':': return "integer";
	case '$': return "bulk";
	case '*': return "array";
	case ',': return "double";
	case '#': return "boolean";
	case '(': return "big_number";
	case '=': return "verbatim";
	case '!': return "blob_error";
	case '%': return "map";
	case '~': return "set";
	case '>': return "push";
	default: return "null";
	}
}


/* `at` is the offset in the direction's byte stream. */
struct resp_call {
	char *err;
	size_t errlen;
};

static int resp_fail(struct resp_call *c, struct resp_reader *r, uint64_t at, const char *fmt,
		     const char *what)
{
	char detail[96];
	snprintf(detail, sizeof(detail), fmt, what);
	snprintf(c->err, c->errlen, "RESP protocol error in the %s: %s at offset %llu",
		 r->commands ? "commands" : "replies", detail, (unsigned long long)at);
	return -EBADMSG;
}

/* Parse a signed decimal; false unless the whole text is one that fits in int64. */
static bool resp_number(const uint8_t *p, size_t len, int64_t *out)
{
	bool neg = len && p[0] == '-';
	uint64_t v = 0;
	size_t i = neg || (len && p[0] == '+');

	if (i == len || len > 20)
		return false;
	for (; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
		if (v > (uint64_t)INT64_MAX)
			return false;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

/* Optional sign, then at least one digit, and nothing else. */
static bool resp_digits(const uint8_t *p, size_t len)
{
	size_t i = len && (p[0] == '-' || p[0] == '+');
	if (i == len)
		return false;
	for (; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* Keep a finished value (scalar or aggregate header) where the entry will show it. */
static void resp_keep(struct resp_reader *r, uint32_t depth, uint8_t type, bool aggregate,
		      int64_t num, const uint8_t *text, size_t len)
{
	struct resp_msg *m = &r->msg;

	if (depth == 0) {
		m->top = (struct resp_item){ .type = type, .aggregate = aggregate, .num = num };
		m->top_len = (uint32_t)(len < RESP_TOP_TEXT ? len : RESP_TOP_TEXT);
		if (m->top_len)
			memcpy(m->top_text, text, m->top_len);
		return;
	}
	if (depth != 1 || r->attr_open || m->n_items == RESP_SHOW_ITEMS)
		return;
	struct resp_item *it = &m->items[m->n_items++];
	*it = (struct resp_item){ .type = type, .aggregate = aggregate, .num = num };
	it->len = (uint8_t)(len < RESP_ITEM_TEXT ? len : RESP_ITEM_TEXT);
	if (it->len)
		memcpy(it->text, text, it->len);
}

/*
 * The value at the current depth is complete: close the aggregates it
 * completes.  Returns true when the whole message is.
 */
static bool resp_value_done(struct resp_reader *r, bool was_attribute)
{
	for (;;) {
		if (r->depth == 0) {
			if (was_attribute) {
				r->msg.has_attribute = true;   /* the reply itself follows */
				return false;
			}
			return true;
		}
		struct resp_frame *f = &r->stack[r->depth - 1];
		if (!was_attribute)
			f->left--;
		if (f->left > 0)
			return false;
		r->depth--;
		was_attribute = f->attribute;
		if (f->attribute)
			r->attr_open--;
	}
}

/* A complete type line (CR and LF stripped) at the current depth. */
static int resp_line(struct resp_call *c, struct resp_reader *r, bool *done)
{
	uint64_t at = r->line_start;
	uint32_t n = r->cap_len < r->line_len - 1 ? r->cap_len : (uint32_t)(r->line_len - 1);
	const uint8_t *p = r->cap + 1;
	size_t plen = n ? n - 1 : 0;
	bool whole = r->line_len - 1 <= RESP_CAPTURE;   /* all of it was kept */
	uint8_t type = r->cap[0];
	int64_t v;
	char tb[8];

	snprintf(tb, sizeof(tb), type >= 0x21 && type < 0x7f ? "'%c'" : "0x%02x", type);
	if (r->commands && r->depth == 0 && type != '*')
		return resp_fail(c, r, at, "a command is not an array: type %s", tb);
	if (r->commands && r->depth == 1 && type != '$')
		return resp_fail(c, r, at, "expected a bulk string in a command, got %s", tb);

	switch (type) {
	case '+': case '-': case ',': case '(':
		if (type == '(' && !resp_digits(p, plen))
			return resp_fail(c, r, at, "invalid big number%s", "");
		resp_keep(r, r->depth, type, false, 0, p, plen);
		*done = resp_value_done(r, false);
		return 0;
	case ':':
		if (!whole || !resp_number(p, plen, &v))
			return resp_fail(c, r, at, "invalid integer%s", "");
		resp_keep(r, r->depth, type, false, v, NULL, 0);
		*done = resp_value_done(r, false);
		return 0;
	case '#':
		if (plen != 1 || (p[0] != 't' && p[0] != 'f'))
			return resp_fail(c, r, at, "invalid boolean%s", "");
		resp_keep(r, r->depth, type, false, p[0] == 't', NULL, 0);
		*done = resp_value_done(r, false);
		return 0;
	case '_':
		if (plen != 0)
			return resp_fail(c, r, at, "null with a value%s", "");
		resp_keep(r, r->depth, 0, false, 0, NULL, 0);
		*done = resp_value_done(r, false);
		return 0;
	case '$': case '=': case '!':
		if (!whole || !resp_number(p, plen, &v) || v < -1 || (v == -1 && type != '$'))
			return resp_fail(c, r, at, "invalid length of a %s", resp_type_name(type));
		if (v == -1) {   /* RESP2 null bulk string */
			resp_keep(r, r->depth, 0, false, 0, NULL, 0);
			*done = resp_value_done(r, false);
			return 0;
		}
		if (r->depth == 0)   /* known now, for a reply cut short */
			r->msg.top = (struct resp_item){ .type = type, .num = v };
		r->phase = RESP_BULK;
		r->bulk_type = type;
		r->bulk_len = r->bulk_left = (uint64_t)v;
		r->bulk_depth = r->depth;
		r->cap_len = 0;
		return 0;
	case '*': case '%': case '~': case '>': case '|':
		if (!whole || !resp_number(p, plen, &v) || v < -1 || (v == -1 && type != '*') ||
		    v > INT32_MAX)
			return resp_fail(c, r, at, "invalid count of a %s",
					 type == '|' ? "attribute" : resp_type_name(type));
		if (v == -1) {   /* RESP2 null array */
			resp_keep(r, r->depth, 0, false, 0, NULL, 0);
			*done = resp_value_done(r, false);
			return 0;
		}
		if (type != '|')
			resp_keep(r, r->depth, type, true, v, NULL, 0);
		if (v == 0) {
			*done = resp_value_done(r, type == '|');
			return 0;
		}
		if (r->depth == RESP_MAX_DEPTH)
			return resp_fail(c, r, at, "aggregates nested deeper than %s", "16");
		r->stack[r->depth++] = (struct resp_frame){
			.left = type == '%' || type == '|' ? 2 * v : v,
			.type = type, .attribute = type == '|' };
		if (type == '|')
			r->attr_open++;
		return 0;
	default:
		return resp_fail(c, r, at, "unknown type byte %s", tb);
	}
}

static void resp_begin(struct resp_reader *r, uint64_t ts)
{
	r->started = true;
	r->depth = r->attr_open = 0;
	r->line_len = 0;
	r->last_cr = false;
	r->cap_len = 0;
	memset(&r->msg, 0, sizeof(r->msg));
	r->msg.ts_ns = ts;
}

/* Bytes of a line (up to and without its LF) into the capture buffer. */
static void resp_take_line(struct resp_reader *r, const uint8_t *p, size_t n)
{
	size_t room = RESP_CAPTURE - r->cap_len;
	size_t k = n < room ? n : room;
	memcpy(r->cap + r->cap_len, p, k);
	r->cap_len += (uint32_t)k;
	r->line_len += n;
	if (n)
		r->last_cr = p[n - 1] == '\r';
}

static int resp_read_all(struct resp_call *c, struct resp_reader *r, uint64_t ts_ns,
			 const uint8_t *data, size_t len, resp_done_fn done_fn, void *arg)
{
	size_t i = 0;

	while (i < len) {
		bool done = false;
		int rc = 0;

		if (!r->started) {
			resp_begin(r, ts_ns);
			r->phase = r->commands && data[i] != '*' ? RESP_INLINE : RESP_LINE;
		}
		switch (r->phase) {
		case RESP_LINE:
		case RESP_INLINE: {
			const uint8_t *nl = memchr(data + i, '\n', len - i);
			size_t end = nl ? (size_t)(nl - data) : len;
			if (r->line_len == 0)
				r->line_start = r->offset + i;
			resp_take_line(r, data + i, end - i);
			if (r->line_len > RESP_LINE_LIMIT)
				return resp_fail(c, r, r->line_start, "line longer than %s bytes",
						 "65536");
			if (!nl) {
				i = len;
				break;
			}
			i = end + 1;
			if (r->phase == RESP_INLINE) {
				uint32_t keep = r->cap_len;
				if (r->line_len && r->line_len <= RESP_CAPTURE && r->last_cr)
					keep--;
				r->msg.is_inline = true;
				r->msg.line = r->cap;
				r->msg.line_len = keep;
				done = true;
				break;
			}
			bool cr = r->line_len && r->last_cr;
			if (!cr || r->line_len < 2)
				return resp_fail(c, r, r->line_start, "%s", r->line_len < 2 && cr
						 ? "empty line" : "line not ended by CRLF");
			rc = resp_line(c, r, &done);
			r->line_len = 0;
			r->last_cr = false;
			r->cap_len = 0;
			break;
		}
		case RESP_BULK: {
			size_t take = len - i < r->bulk_left ? len - i : (size_t)r->bulk_left;
			size_t room = RESP_TOP_TEXT - (r->cap_len < RESP_TOP_TEXT ? r->cap_len
							 : RESP_TOP_TEXT);
			size_t keep = take < room ? take : room;
			memcpy(r->cap + r->cap_len, data + i, keep);
			r->cap_len += (uint32_t)keep;
			r->bulk_left -= take;
			i += take;
			if (r->bulk_left == 0)
				r->phase = RESP_BULK_CR;
			break;
		}
		case RESP_BULK_CR:
		case RESP_BULK_LF:
			if (data[i] != (r->phase == RESP_BULK_CR ? '\r' : '\n'))
				return resp_fail(c, r, r->offset + i, "%s not ended by CRLF",
						 resp_type_name(r->bulk_type));
			i++;
			if (r->phase == RESP_BULK_CR) {
				r->phase = RESP_BULK_LF;
				break;
			}
			resp_keep(r, r->bulk_depth, r->bulk_type, false, (int64_t)r->bulk_len,
				  r->cap, r->cap_len);
			r->cap_len = 0;
			r->phase = RESP_LINE;
			done = resp_value_done(r, false);
			break;
		}
		if (rc < 0)
			return rc;
		if (done) {
			r->started = false;
			done_fn(arg, &r->msg);
		}
	}
	return 0;
}

int resp_read(struct resp_reader *r, bool commands, uint64_t ts_ns, const uint8_t *data,
	      size_t len, resp_done_fn done, void *arg, char *err, size_t errlen)
{
	struct resp_call c = { err, errlen };
	r->commands = commands;
	int rc = resp_read_all(&c, r, ts_ns, data, len, done, arg);
	r->offset += len;
	return rc;
}

bool resp_skip(struct resp_reader *r, uint64_t missing)
{
	r->offset += missing;
	if (r->started && r->phase == RESP_BULK && missing <= r->bulk_left) {
		r->bulk_left -= missing;
		if (r->bulk_left == 0)
			r->phase = RESP_BULK_CR;
		return true;
	}
	r->started = false;
	return false;
}

uint64_t resp_skippable(const struct resp_reader *r)
{
	if (!r->started || r->phase != RESP_BULK || r->cap_len < RESP_TOP_TEXT)
		return 0;
	return r->bulk_left;
}

void resp_reset(struct resp_reader *r)
{
	r->started = false;
}

bool resp_may_start(bool commands, uint8_t c)
{
	if (commands)
		return c == '*';
	return c && strchr("+-:$*_,#!=(%~>|", c);
}


int resp_count_line(const uint8_t *p, size_t len, uint8_t type)
{
	size_t i = 1;
	if (len < 1 || p[0] != type)
		return 0;
	if (i < len && p[i] == '-')
		i++;
	while (i < len && i < 12 && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i == len)
		return -1;
	if (i < 2 || p[i] != '\r')
		return 0;
	if (i + 1 == len)
		return -1;
	return p[i + 1] == '\n' ? (int)(i + 2) : 0;
}

