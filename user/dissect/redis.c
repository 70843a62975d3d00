// SPDX-License-Identifier: MIT
/*
 * Redis: RESP2 and RESP3.  Each command (an array of bulk strings, or an
 * inline line) is an exchange (dissect/exchange.h) waiting in order for its
 * reply, so pipelining pairs in order.
 *
 * Each direction has a streaming reader (resp.c) that keeps only the first
 * bytes of what it reads, so a 512 MB value costs no memory.
 *
 * A stream joined midstream, or one with a hole, has lost its framing.  A
 * direction then resynchronises at the start of a later chunk of bytes (a
 * new segment usually starts a message): what does not parse from there is
 * dropped without a report, until one message parses whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dissect/appmsg.h"
#include "dissect/exchange.h"
#include "dissect/protocols.h"
#include "dissect/resp.h"

#define REDIS_SHOW_ARGS    8         /* arguments shown of a command */
#define REDIS_SHOW_ELEMENTS 8        /* elements shown of an array, set or push */
#define REDIS_NAME_MAX     32
#define REDIS_MAX_PENDING  128       /* commands recorded while waiting for replies */

/* What an entry shows of a command. */
struct redis_cmd {
	bool unrecorded;              /* past the bound: only counted (exchange repeat) */
	uint32_t argc;                /* arguments after the name */
	uint8_t name_len, n_args;
	uint8_t arg_len[REDIS_SHOW_ARGS];
	char name[REDIS_NAME_MAX];
	uint8_t args[REDIS_SHOW_ARGS][RESP_ITEM_TEXT];
};

/* The record of one exchange. */
struct redis_exchange {
	bool has_cmd;                 /* false: a reply without its command */
	struct redis_cmd cmd;
};

/* A reply as the exchange layer hands it back to redis_fill(). */
struct redis_reply {
	const struct resp_msg *m;
	bool partial;                 /* the stream ended inside it: only its type is known */
};

struct redis_state {
	bool stopped;                 /* after a parser-error */
	bool subscribed;              /* replies may come without commands (pub/sub) */
	bool resync[2];               /* framing lost in this direction: find it again */
	bool quiet_unmatched;         /* after a hole: replies to lost commands are not news */
	struct resp_reader rd[2];     /* by enum dissect_dir */
	struct exchange_queue cmds;   /* commands waiting for their replies */
	/* A parser-error found while reading, reported by the caller. */
	char error[160];
};

/* ---- the commands waiting ---- */

/*
 * The oldest command's exchange, out of the queue (NULL when none waits).  One
 * that stands for unrecorded commands too gives out a copy for each.
 */
static struct exchange *redis_take(struct redis_state *s, struct dissect_ctx *ctx)
{
	struct exchange *ex = exchange_take(&s->cmds, ctx);
	if (ex && ex->queued)
		exchange_remove(&s->cmds, ex);
	return ex;
}

/* An exchange outside the queue: a reply without its command, or a part of one. */
static struct exchange *redis_lone(struct redis_state *s, struct dissect_ctx *ctx, uint64_t ts)
{
	return exchange_new(&s->cmds, ctx, ts);
}

static const struct redis_cmd *head_cmd(const struct redis_state *s)
{
	const struct exchange *ex = exchange_first(&s->cmds);
	return ex ? &((const struct redis_exchange *)exchange_cdata(ex))->cmd : NULL;
}

/* ---- entries ---- */

/* A scalar's value as its JSON type; an aggregate as {type, count}. */
static void redis_add_value(struct doc *d, uint32_t parent, const char *key, uint8_t type,
			    bool aggregate, int64_t num, const uint8_t *text, size_t len)
{
	if (aggregate) {
		uint32_t o = doc_add_obj(d, parent, key);
		doc_add_str(d, o, "type", resp_type_name(type));
		doc_add_int(d, o, "count", num);
		return;
	}
	switch (type) {
	case ':':
		doc_add_int(d, parent, key, num);
		break;
	case '#':
		doc_add_bool(d, parent, key, num != 0);
		break;
	case ',': {
		char buf[64], *end;
		size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
		memcpy(buf, text, n);
		buf[n] = '\0';
		double v = strtod(buf, &end);
		if (end != buf && *end == '\0' && v - v == 0)
			doc_add_real(d, parent, key, v);
		else
			appmsg_add_text(d, parent, key, text, len);   /* inf, -inf, nan */
		break;
	}
	case '=':
		/* Verbatim: "txt:" or "mkd:" before the text. */
		if (len >= 4 && text[3] == ':')
			appmsg_add_text(d, parent, key, text + 4, len - 4);
		else
			appmsg_add_text(d, parent, key, text, len);
		break;
	case 0:
		doc_add_null(d, parent, key);
		break;
	default:
		appmsg_add_text(d, parent, key, text, len);
	}
}

/* Arguments that carry a password are redacted with the entry (report/redact.c). */
static void redis_add_request(struct doc *d, const struct redis_cmd *c)
{
	uint32_t req = doc_add_obj(d, DOC_ROOT, "request");

	if (c->unrecorded) {
		doc_add_null(d, req, "command");
		doc_add_bool(d, req, "unrecorded", true);
		return;
	}
	appmsg_add_text(d, req, "command", (const uint8_t *)c->name, c->name_len);
	uint32_t args = doc_add_arr(d, req, "args");
	for (unsigned i = 0; i < c->n_args; i++)
		appmsg_add_text(d, args, NULL, c->args[i], c->arg_len[i]);
	doc_add_int(d, req, "args_count", c->argc);
}

static void redis_add_response(struct doc *d, const struct resp_msg *m, bool partial)
{
	uint32_t resp = doc_add_obj(d, DOC_ROOT, "response");
	const struct resp_item *t = &m->top;

	doc_add_str(d, resp, "type", resp_type_name(t->type));
	if (partial) {
		if (t->aggregate)
			doc_add_int(d, resp, "count", t->num);
		else if (t->type == '$' || t->type == '=' || t->type == '!')
			doc_add_int(d, resp, "length", t->num);
		return;
	}
	if (!t->aggregate) {
		redis_add_value(d, resp, "value", t->type, false, t->num, m->top_text, m->top_len);
		if (t->type == '$' || t->type == '=' || t->type == '!')
			doc_add_int(d, resp, "length", t->num);
		return;
	}
	if (t->type == '%') {
		uint32_t obj = doc_add_obj(d, resp, "value");
		for (uint32_t i = 0; i + 1 < m->n_items; i += 2) {
			const struct resp_item *k = &m->items[i], *v = &m->items[i + 1];
			char key[4 * RESP_ITEM_TEXT + 1];
			if (k->aggregate || k->type == 0)
				snprintf(key, sizeof(key), "(%s)", resp_type_name(k->type));
			else if (k->type == ':')
				snprintf(key, sizeof(key), "%lld", (long long)k->num);
			else
				appmsg_text(k->text, k->len, key, sizeof(key));
			redis_add_value(d, obj, key, v->type, v->aggregate, v->num, v->text, v->len);
		}
	} else {
		uint32_t arr = doc_add_arr(d, resp, "value");
		for (uint32_t i = 0; i < m->n_items && i < REDIS_SHOW_ELEMENTS; i++) {
			const struct resp_item *v = &m->items[i];
			redis_add_value(d, arr, NULL, v->type, v->aggregate, v->num, v->text, v->len);
		}
	}
	doc_add_int(d, resp, "count", t->num);
}

static void redis_fill(struct exchange_queue *q, struct dissect_ctx *ctx, struct doc *d,
		       const struct exchange *ex, const void *response)
{
	const struct redis_exchange *x = exchange_cdata(ex);
	const struct redis_reply *r = response;
	(void)q;
	(void)ctx;

	if (x->has_cmd)
		redis_add_request(d, &x->cmd);
	else
		doc_add_null(d, DOC_ROOT, "request");
	if (r && (r->m->top.type || r->m->top.aggregate || !r->partial))
		redis_add_response(d, r->m, r->partial);
	else
		doc_add_null(d, DOC_ROOT, "response");
	if (x->has_cmd && r && !r->partial)
		doc_add_real(d, DOC_ROOT, "elapsed_ms", elapsed_ms(ex->ts_ns, r->m->ts_ns));
	else
		doc_add_null(d, DOC_ROOT, "elapsed_ms");
}

/* A reply nobody's command waits for: an entry of its own. */
static void redis_lone_reply(struct redis_state *s, struct dissect_ctx *ctx,
			     const struct resp_msg *m, enum fl_error_type err, const char *message,
			     const char *reason)
{
	struct redis_reply r = { m, false };
	struct exchange *ex = redis_lone(s, ctx, m->ts_ns);
	if (ex)
		exchange_fail(&s->cmds, ctx, ex, err, message, reason, &r);
}

/* ---- whole messages ---- */

static bool redis_is_subscribe(const struct redis_cmd *c)
{
	static const char *const names[] = { "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (c->name_len == strlen(names[i]) && !memcmp(c->name, names[i], c->name_len))
			return true;
	return false;
}

static void redis_cmd_set_name(struct redis_cmd *c, const uint8_t *name, size_t len)
{
	c->name_len = (uint8_t)(len < REDIS_NAME_MAX ? len : REDIS_NAME_MAX);
	for (unsigned i = 0; i < c->name_len; i++) {
		char ch = (char)name[i];
		c->name[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
	}
}

static void redis_cmd_add_arg(struct redis_cmd *c, const uint8_t *arg, size_t len)
{
	if (c->n_args == REDIS_SHOW_ARGS)
		return;
	c->arg_len[c->n_args] = (uint8_t)(len < RESP_ITEM_TEXT ? len : RESP_ITEM_TEXT);
	memcpy(c->args[c->n_args], arg, c->arg_len[c->n_args]);
	c->n_args++;
}

/* Record a command; past the queue's bound, only count it. */
static struct redis_cmd *redis_cmd_new(struct redis_state *s, struct dissect_ctx *ctx,
				       uint64_t ts)
{
	struct exchange *ex, *tail = exchange_last(&s->cmds);
	struct redis_exchange *x;

	if (tail && ((struct redis_exchange *)exchange_data(tail))->cmd.unrecorded) {
		exchange_unrecorded(&s->cmds, ctx, tail);
		return NULL;
	}
	if (!(ex = exchange_open(&s->cmds, ctx, ts)))
		return NULL;   /* out of memory: its reply will show as midstream */
	x = exchange_data(ex);
	x->has_cmd = true;
	if (s->cmds.count == REDIS_MAX_PENDING) {
		x->cmd.unrecorded = true;   /* the last slot counts all that come after */
		if (ctx->stats)
			ctx->stats->entries.unrecorded_requests++;
		return NULL;
	}
	return &x->cmd;
}

/* An inline command: words split on blanks, quotes grouping as redis-cli writes them. */
static void redis_inline(struct redis_state *s, struct dissect_ctx *ctx, const uint8_t *line,
			 size_t len, uint64_t ts)
{
	size_t i = 0, words = 0;
	struct redis_cmd tmp, *c;

	memset(&tmp, 0, sizeof(tmp));
	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		size_t start = i, end;
		if (line[i] == '"' || line[i] == '\'') {
			uint8_t q = line[i++];
			start = i;
			while (i < len && line[i] != q)
				i += line[i] == '\\' && q == '"' && i + 1 < len ? 2 : 1;
			end = i < len ? i : len;
			i = end + 1;
		} else {
			while (i < len && line[i] != ' ' && line[i] != '\t')
				i++;
			end = i;
		}
		if (words == 0)
			redis_cmd_set_name(&tmp, line + start, end - start);
		else
			redis_cmd_add_arg(&tmp, line + start, end - start);
		words++;
	}
	if (words == 0)
		return;   /* an empty line: Redis ignores it */
	tmp.argc = words ? (uint32_t)(words - 1) : 0;
	c = redis_cmd_new(s, ctx, ts);
	if (c)
		*c = tmp;
}

static void redis_command(struct redis_state *s, struct dissect_ctx *ctx,
			  const struct resp_msg *m)
{
	struct redis_cmd *c;

	if (m->top.type != '*' || m->top.num <= 0)
		return;   /* "*0" and "*-1" are no command */
	c = redis_cmd_new(s, ctx, m->ts_ns);
	if (!c)
		return;
	redis_cmd_set_name(c, m->items[0].text, m->items[0].len);
	for (uint32_t i = 1; i < m->n_items && c->n_args < REDIS_SHOW_ARGS; i++)
		redis_cmd_add_arg(c, m->items[i].text, m->items[i].len);
	c->argc = (uint32_t)(m->top.num - 1);
}

static void redis_reply(struct redis_state *s, struct dissect_ctx *ctx, const struct resp_msg *m)
{
	const struct redis_cmd *head = head_cmd(s);
	struct exchange *ex;
	bool push = m->top.type == '>';

	/* An out-of-band push is nobody's reply, except to the subscribe that asked for it. */
	if (push && !(head && !head->unrecorded && redis_is_subscribe(head))) {
		redis_lone_reply(s, ctx, m, FL_ERR_NONE, NULL, NULL);
		return;
	}
	if ((ex = redis_take(s, ctx))) {
		const struct redis_exchange *x = exchange_cdata(ex);
		struct redis_reply r = { m, false };
		if (!x->cmd.unrecorded && redis_is_subscribe(&x->cmd))
			s->subscribed = true;
		s->quiet_unmatched = false;
		exchange_complete(&s->cmds, ctx, ex, &r);
	} else if (head) {
		return;   /* out of memory for the copy of an unrecorded command */
	} else if (s->quiet_unmatched) {
		return;
	} else if (s->subscribed) {
		redis_lone_reply(s, ctx, m, FL_ERR_NONE, NULL, NULL);
	} else {
		redis_lone_reply(s, ctx, m, FL_ERR_HALF_CONNECTION,
				 "request missing: reply without its command", "midstream");
	}
}

/* ---- the ops ---- */

static bool redis_port_hint(uint16_t port)
{
	return port == 6379 || port == 6380 || port == 26379;
}

static enum dissect_probe redis_probe(const uint8_t *data, size_t len, enum dissect_dir dir,
				      bool port_hint)
{
	int n;

	if (len == 0)
		return DISSECT_PROBE_MAYBE;
	/* An array of bulk strings is Redis on any port. */
	n = resp_count_line(data, len, '*');
	if (n > 0 && (size_t)n < len) {
		if (data[n] == '$' || (port_hint && data[n] && strchr("+-:*_,#!=(%~>|", data[n])))
			return DISSECT_PROBE_YES;
		return DISSECT_PROBE_NO;
	}
	if (n < 0 || (n > 0 && port_hint))
		return n > 0 ? DISSECT_PROBE_YES : DISSECT_PROBE_MAYBE;
	if (!port_hint)
		return DISSECT_PROBE_NO;
	if (dir == DISSECT_TO_SERVER)   /* an inline command: a word of letters */
		return (data[0] >= 'A' && data[0] <= 'Z') || (data[0] >= 'a' && data[0] <= 'z')
		       ? DISSECT_PROBE_YES : DISSECT_PROBE_NO;
	return data[0] && strchr("+-:$*_,#!=(%~>|", data[0]) ? DISSECT_PROBE_YES
							      : DISSECT_PROBE_NO;
}

static void *redis_new(struct dissect_ctx *ctx)
{
	struct redis_state *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (ctx->midstream)
		s->resync[0] = s->resync[1] = true;
	exchange_queue_init(&s->cmds, redis_dissector.name, sizeof(struct redis_exchange),
			    REDIS_MAX_PENDING, redis_fill, s);
	return s;
}

static void redis_free(void *state)
{
	struct redis_state *s = state;
	if (!s)
		return;
	exchange_queue_free(&s->cmds);
	free(s);
}

struct redis_call {
	struct redis_state *s;
	struct dissect_ctx *ctx;
	enum dissect_dir dir;
};

/* A whole message from the reader of call->dir. */
static void redis_message(void *arg, const struct resp_msg *m)
{
	struct redis_call *call = arg;
	struct redis_state *s = call->s;

	s->resync[call->dir] = false;
	if (call->dir == DISSECT_TO_CLIENT)
		redis_reply(s, call->ctx, m);
	else if (m->is_inline)
		redis_inline(s, call->ctx, m->line, m->line_len, m->ts_ns);
	else
		redis_command(s, call->ctx, m);
}

static ssize_t redis_parse(void *state, struct dissect_ctx *ctx, enum dissect_dir dir,
			   const uint8_t *data, size_t len)
{
	struct redis_state *s = state;
	struct redis_call call = { s, ctx, dir };
	bool commands = dir == DISSECT_TO_SERVER;
	char error[160];

	if (s->stopped)
		return (ssize_t)len;
	if (s->resync[dir] && !s->rd[dir].started && len && !resp_may_start(commands, data[0]))
		return (ssize_t)len;   /* not a message start: wait for the next chunk */
	if (resp_read(&s->rd[dir], commands, ctx->ts_ns, data, len, redis_message, &call, error,
		      sizeof(error)) < 0) {
		if (s->resync[dir]) {
			resp_reset(&s->rd[dir]);   /* a false start: try the next chunk */
			return (ssize_t)len;
		}
		struct exchange *ex = dir == DISSECT_TO_CLIENT ? redis_take(s, ctx) : NULL;
		if (!ex)
			ex = redis_lone(s, ctx, ctx->ts_ns);
		if (ex)
			exchange_fail(&s->cmds, ctx, ex, FL_ERR_PARSER, error, NULL, NULL);
		s->stopped = true;
		return -1;
	}
	return (ssize_t)len;
}

static void redis_gap(void *state, struct dissect_ctx *ctx, enum dissect_dir dir, uint64_t missing)
{
	struct redis_state *s = state;

	if (s->stopped)
		return;
	/* A hole inside a bulk payload only shortens what is left to count. */
	if (resp_skip(&s->rd[dir], missing)) {
		if (ctx->truncated)
			exchange_gap(&s->cmds, ctx, dir, missing);
		return;
	}
	/* Framing is lost: what waits is lost with it; both directions start over. */
	exchange_lose_all(&s->cmds, ctx, dir, missing);
	for (int d = 0; d < 2; d++) {
		resp_reset(&s->rd[d]);
		s->resync[d] = true;
	}
	s->quiet_unmatched = true;
}

/* The rest of a bulk string whose kept prefix is full: only counted. */
static uint64_t redis_skippable(void *state, enum dissect_dir dir)
{
	const struct redis_state *s = state;
	return s->stopped ? 0 : resp_skippable(&s->rd[dir]);
}

static void redis_end(void *state, struct dissect_ctx *ctx)
{
	struct redis_state *s = state;
	struct resp_reader *rq = &s->rd[DISSECT_TO_SERVER], *rp = &s->rd[DISSECT_TO_CLIENT];
	struct exchange *ex;

	if (s->stopped)
		return;
	/* Bytes read while looking for a message start are nobody's message. */
	if (s->resync[DISSECT_TO_CLIENT])
		resp_reset(rp);
	if (s->resync[DISSECT_TO_SERVER])
		resp_reset(rq);
	if (rp->started) {
		struct redis_reply r = { &rp->msg, true };
		if (!(ex = redis_take(s, ctx)))
			ex = redis_lone(s, ctx, rp->msg.ts_ns);
		if (ex)
			exchange_cut(&s->cmds, ctx, ex, DISSECT_TO_CLIENT, "in the middle of a reply", &r);
		rp->started = false;
	}
	exchange_end(&s->cmds, ctx);
	if (rq->started && (ex = redis_lone(s, ctx, rq->msg.ts_ns))) {
		/* Part of a command: show what of it was read. */
		struct redis_exchange *x = exchange_data(ex);
		struct redis_cmd *part = &x->cmd;
		x->has_cmd = true;
		if (rq->msg.n_items)
			redis_cmd_set_name(part, rq->msg.items[0].text, rq->msg.items[0].len);
		for (uint32_t i = 1; i < rq->msg.n_items; i++)
			redis_cmd_add_arg(part, rq->msg.items[i].text, rq->msg.items[i].len);
		part->argc = rq->msg.top.num > 0 ? (uint32_t)(rq->msg.top.num - 1) : 0;
		exchange_cut(&s->cmds, ctx, ex, DISSECT_TO_SERVER, "in the middle of a command", NULL);
	}
	rq->started = false;
}

static void redis_icmp(void *state, struct dissect_ctx *ctx, const struct dissect_icmp *icmp)
{
	struct redis_state *s = state;

	if (!s->stopped)
		exchange_icmp(&s->cmds, ctx, icmp, NULL, NULL);
}

static bool redis_pending(void *state)
{
	const struct redis_state *s = state;
	return !s->stopped && (s->cmds.count || s->rd[0].started || s->rd[1].started);
}

const struct dissector_ops redis_dissector = {
	.name = "redis",
	.transports = DISSECT_TCP,
	.port_hint = redis_port_hint,
	.probe = redis_probe,
	.new = redis_new,
	.state_size = sizeof(struct redis_state),
	.free = redis_free,
	.parse = redis_parse,
	.gap = redis_gap,
	.end = redis_end,
	.icmp = redis_icmp,
	.pending = redis_pending,
	.skippable = redis_skippable,
};
