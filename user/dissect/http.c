// SPDX-License-Identifier: MIT
/*
 * HTTP/1.x dissector: message framing (RFC 9112 section 6), request/response
 * pairing in order (pipelining: up to HTTP_MAX_OUTSTANDING exchanges wait in
 * the exchange layer's queue, dissect/exchange.h), and the stream errors.
 *
 * - Bodies are counted and skipped, never copied.  An entry keeps at most
 *   HTTP_STORE_BYTES of start line and headers per message.
 * - An entry is emitted when a response ends; elapsed_ms runs from the first
 *   byte of the request to the last byte of the response.
 * - tcp.missed_bytes / tcp.retransmissions on an entry are those of its own
 *   exchange (the exchange layer's rule): holes inside it, and retransmissions
 *   seen on the connection from its request's head until it was emitted.
 * - A body delimited by the close ends at a FIN or RST (complete); any other
 *   message cut by the stream's end is the exchange layer's exchange_cut().
 * - A complete request without a response is the exchange layer's
 *   exchange_end(); a response without a request is `half-connection` with
 *   reason midstream (the capture joined late) or loss (request bytes missed).
 * - Midstream and after a hole the parser looks for the next line that starts
 *   a request (known method, " HTTP/1.x" at the end) or a status line.  A hole
 *   inside a body of known size keeps it in step; elsewhere the exchange it
 *   hit is reported (response side: half-connection, reason loss) or marked.
 */
#include "dissect/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissect/exchange.h"
#include "dissect/protocols.h"

enum http_parse_state {
	HS_IDLE = 0,        /* expecting a start line */
	HS_BODY_LENGTH,     /* Content-Length body: `remaining` */
	HS_CHUNK_SIZE,
	HS_CHUNK_DATA,      /* `remaining` of this chunk */
	HS_CHUNK_END,       /* the CRLF after chunk data */
	HS_TRAILERS,
	HS_BODY_CLOSE,      /* response body delimited by the connection's close */
	HS_OPAQUE,          /* CONNECT tunnel or protocol upgrade: not HTTP any more */
	HS_RESYNC,          /* looking for the next message start (midstream, after a hole) */
	HS_DEAD,            /* after a parser error */
};

/* The record of one exchange (the exchange layer keeps its time and loss). */
struct http_exchange {
	struct http_msg req, resp;
	bool orphan;              /* a response with no request (not in the queue) */
	/* Past HTTP_MAX_OUTSTANDING: the queue's last slot stands for this request
	 * and every later one (exchange_unrecorded()); none of them is parsed. */
	bool unrecorded;
	bool head, connect;
};

/* A new exchange's record: everything but the messages' kept text (read only up to text_len). */
static void http_exchange_reset(void *data)
{
	struct http_exchange *x = data;
	http_msg_reset(&x->req);
	http_msg_reset(&x->resp);
	x->orphan = x->unrecorded = x->head = x->connect = false;
}

static struct http_exchange *hx(struct exchange *ex)
{
	return exchange_data(ex);
}

struct http_dir {
	uint8_t state;            /* enum http_parse_state */
	uint64_t remaining;
	uint64_t start_ts;        /* first byte of a message not yet consumed, or 0 */
	/* Request side: the exchange whose request is being parsed (NULL once
	 * emitted).  Response side: the exchange whose response is being parsed. */
	struct exchange *cur;
	/* Response side: cur's head was cut by the snaplen; its end is unknown, so
	 * it completes at the next message start or at the end of the stream. */
	bool cut_open;
};

struct http_conn {
	struct http_dir dir[2];
	struct exchange_queue queue;  /* exchanges awaiting or receiving responses */
	uint64_t requests_missed; /* bytes of the request side lost between requests */
	bool midstream;
	bool dead;
};

static struct exchange *q_first(struct http_conn *s)
{
	return exchange_first(&s->queue);
}

static void http_fill(struct exchange_queue *q, struct dissect_ctx *ctx, struct doc *d,
		      const struct exchange *ex, const void *response)
{
	const struct http_exchange *x = exchange_cdata(ex);
	(void)q;
	(void)ctx;
	(void)response;
	if (x->unrecorded) {
		uint32_t req = doc_add_obj(d, DOC_ROOT, "request");
		doc_add_bool(d, req, "unrecorded", true);
	} else {
		http_msg_to_doc(&x->req, DISSECT_TO_SERVER, d, "request");
	}
	http_msg_to_doc(&x->resp, DISSECT_TO_CLIENT, d, "response");
	if (x->req.seen && !x->unrecorded && x->resp.complete)
		doc_add_real(d, DOC_ROOT, "elapsed_ms", elapsed_ms(x->req.ts_first, x->resp.ts_last));
	else
		doc_add_null(d, DOC_ROOT, "elapsed_ms");
}

/* The exchange leaves: forget every pointer to it; the entry's time is its first message's. */
static void forget(struct http_conn *s, struct exchange *ex)
{
	for (int d = 0; d < 2; d++)
		if (s->dir[d].cur == ex) {
			s->dir[d].cur = NULL;
			s->dir[d].cut_open = false;
		}
	ex->ts_ns = hx(ex)->req.seen ? hx(ex)->req.ts_first : hx(ex)->resp.ts_first;
}

/* One entry for ex, which then leaves. */
static void emit(struct http_conn *s, struct dissect_ctx *ctx, struct exchange *ex,
		 enum fl_error_type type, const char *message, const char *reason)
{
	forget(s, ex);
	if (type == FL_ERR_NONE)
		exchange_complete(&s->queue, ctx, ex, NULL);
	else
		exchange_fail(&s->queue, ctx, ex, type, message, reason, NULL);
}

static const char *who(enum dissect_dir d)
{
	return d == DISSECT_TO_SERVER ? "client" : "server";
}

/* A parser error: report it with the exchange it concerns, stop parsing the stream. */
/* No memory for an exchange (the budget said no): stop parsing, say nothing (not the peer's fault). */
static ssize_t give_up(struct http_conn *s)
{
	s->dead = true;
	s->dir[0].state = s->dir[1].state = HS_DEAD;
	return -1;
}

static ssize_t parser_error(struct http_conn *s, struct dissect_ctx *ctx, enum dissect_dir dir,
			    const char *what)
{
	struct exchange *ex = s->dir[dir].cur;
	if (!ex && dir == DISSECT_TO_CLIENT)
		ex = q_first(s);
	if (!ex)
		ex = exchange_new(&s->queue, ctx, 0);
	s->dead = true;
	s->dir[0].state = s->dir[1].state = HS_DEAD;
	if (!ex)
		return -1;
	char msg[320];
	snprintf(msg, sizeof(msg), "%s from %s", what, who(dir));
	if (!hx(ex)->req.seen && !hx(ex)->resp.seen)
		hx(ex)->resp.ts_first = s->dir[dir].start_ts ? s->dir[dir].start_ts : ctx->ts_ns;
	emit(s, ctx, ex, FL_ERR_PARSER, msg, NULL);
	return -1;
}

/* A message's body is over. */
static void request_done(struct http_conn *s, struct dissect_ctx *ctx)
{
	struct http_dir *dd = &s->dir[DISSECT_TO_SERVER];
	if (dd->cur) {
		hx(dd->cur)->req.complete = true;
		hx(dd->cur)->req.ts_last = ctx->ts_ns;
		if (hx(dd->cur)->connect)
			dd->state = HS_OPAQUE;  /* tunnel bytes follow; reset if refused */
	}
	if (dd->state != HS_OPAQUE)
		dd->state = HS_IDLE;
	dd->cur = NULL;
}

/*
 * Queue a request for its response.  Past HTTP_MAX_OUTSTANDING the last slot
 * stands for this request and every later one (exchange_unrecorded()): each
 * still gets its response's entry.  Returns ex, or NULL when it was only counted.
 */
static struct exchange *queue_request(struct http_conn *s, struct dissect_ctx *ctx,
				      struct exchange *ex)
{
	struct exchange *tail = exchange_last(&s->queue);
	if (tail && hx(tail)->unrecorded) {
		exchange_unrecorded(&s->queue, ctx, tail);   /* too deep a pipeline */
		exchange_release(&s->queue, ex);
		return NULL;
	}
	exchange_push(&s->queue, ex);   /* the last slot is always free here */
	if (s->queue.count == HTTP_MAX_OUTSTANDING) {
		hx(ex)->unrecorded = true;   /* the last slot counts all that come after */
		if (ctx->stats)
			ctx->stats->entries.unrecorded_requests++;
	}
	return ex;
}

static void response_done(struct http_conn *s, struct dissect_ctx *ctx)
{
	struct http_dir *dd = &s->dir[DISSECT_TO_CLIENT];
	struct exchange *ex = dd->cur;
	if (dd->state != HS_OPAQUE)
		dd->state = HS_IDLE;
	if (!ex)
		return;
	hx(ex)->resp.complete = true;
	hx(ex)->resp.ts_last = ctx->ts_ns;
	if (hx(ex)->orphan) {
		if (s->midstream)
			emit(s, ctx, ex, FL_ERR_HALF_CONNECTION,
			     "request missing: the capture joined the connection after the request",
			     "midstream");
		else if (s->requests_missed)
			emit(s, ctx, ex, FL_ERR_HALF_CONNECTION,
			     "request missing: bytes of the request stream were not captured", "loss");
		else
			emit(s, ctx, ex, FL_ERR_HALF_CONNECTION, "response without a request", NULL);
		s->requests_missed = 0;
		return;
	}
	/* ex is the queue's head. */
	emit(s, ctx, ex, FL_ERR_NONE, NULL, NULL);
}

static void body_done(struct http_conn *s, struct dissect_ctx *ctx, enum dissect_dir dir)
{
	if (dir == DISSECT_TO_SERVER)
		request_done(s, ctx);
	else
		response_done(s, ctx);
}

static struct http_msg *cur_msg(struct http_conn *s, enum dissect_dir dir)
{
	struct exchange *ex = s->dir[dir].cur;
	if (!ex)
		return NULL;
	return dir == DISSECT_TO_SERVER ? &hx(ex)->req : &hx(ex)->resp;
}

static void count_body(struct http_conn *s, enum dissect_dir dir, uint64_t n)
{
	struct http_msg *m = cur_msg(s, dir);
	if (m)
		m->body_bytes += n;
}

/* Set the body state for a parsed head (RFC 9112 section 6.3). */
static void frame_request(struct http_conn *s, struct dissect_ctx *ctx, const struct http_head *h)
{
	struct http_dir *dd = &s->dir[DISSECT_TO_SERVER];
	if (h->chunked) {
		dd->state = HS_CHUNK_SIZE;
	} else if (h->has_length && h->content_length) {
		dd->state = HS_BODY_LENGTH;
		dd->remaining = h->content_length;
	} else {
		request_done(s, ctx);
	}
}

static void frame_response(struct http_conn *s, struct dissect_ctx *ctx, const struct http_head *h)
{
	struct http_dir *dd = &s->dir[DISSECT_TO_CLIENT];
	struct http_exchange *ex = hx(dd->cur);
	uint16_t st = ex->resp.status;
	if (st == 101 || (ex->connect && st >= 200 && st < 300)) {
		/* The connection is a tunnel or another protocol from here on. */
		response_done(s, ctx);
		s->dir[0].state = s->dir[1].state = HS_OPAQUE;
		return;
	}
	if (ex->connect && s->dir[DISSECT_TO_SERVER].state == HS_OPAQUE)
		s->dir[DISSECT_TO_SERVER].state = HS_IDLE;   /* CONNECT refused: HTTP goes on */
	if (ex->head || st == 204 || st == 304) {
		response_done(s, ctx);
	} else if (h->chunked) {
		dd->state = HS_CHUNK_SIZE;
	} else if (h->te_other || !h->has_length) {
		dd->state = HS_BODY_CLOSE;
		ex->resp.close_delimited = true;
	} else if (h->content_length) {
		dd->state = HS_BODY_LENGTH;
		dd->remaining = h->content_length;
	} else {
		response_done(s, ctx);
	}
}

/* A complete head of `dir` in p[0..n).  Returns 0 or a parser error (-1). */
static ssize_t on_head(struct http_conn *s, struct dissect_ctx *ctx, enum dissect_dir dir,
		       const uint8_t *p, size_t n)
{
	struct http_dir *dd = &s->dir[dir];
	uint64_t ts = dd->start_ts ? dd->start_ts : ctx->ts_ns;
	struct http_head h;
	char err[256];

	if (dir == DISSECT_TO_SERVER) {
		struct exchange *ex = exchange_new(&s->queue, ctx, ts);
		if (!ex)
			return give_up(s);
		struct http_exchange *x = hx(ex);
		if (http_parse_head(&x->req, &h, dir, p, n, err, sizeof(err))) {
			exchange_release(&s->queue, ex);
			return parser_error(s, ctx, dir, err);
		}
		if (h.te_other && !h.chunked) {
			exchange_release(&s->queue, ex);
			return parser_error(s, ctx, dir, "request Transfer-Encoding is not chunked");
		}
		x->req.ts_first = ts;
		x->head = http_method_is(&x->req, "HEAD");
		x->connect = http_method_is(&x->req, "CONNECT");
		dd->cur = queue_request(s, ctx, ex);
		frame_request(s, ctx, &h);
		return 0;
	}

	struct http_msg m;
	http_msg_reset(&m);
	if (http_parse_head(&m, &h, dir, p, n, err, sizeof(err)))
		return parser_error(s, ctx, dir, err);
	if (m.status >= 100 && m.status < 200 && m.status != 101)
		return 0;         /* interim (100 Continue): the final response follows */
	struct exchange *ex = exchange_take(&s->queue, ctx);
	if (ex && !ex->queued) {
		/* A copy for an unrecorded request: its time is its response's. */
		http_msg_reset(&hx(ex)->req);
	} else if (!ex) {
		if (!(ex = exchange_new(&s->queue, ctx, ts)))
			return give_up(s);
		hx(ex)->orphan = true;
	}
	m.ts_first = ts;
	http_msg_copy(&hx(ex)->resp, &m);
	dd->cur = ex;
	frame_response(s, ctx, &h);
	return 0;
}

/* Resynchronising: skip to the next message start.  Returns bytes skipped. */
static size_t resync(struct http_dir *dd, enum dissect_dir dir, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && p[i - 1] != '\n')
			continue;
		int r = http_is_message_start(dir, p + i, n - i);
		if (r == 1) {
			dd->state = HS_IDLE;
			return i;
		}
		if (r < 0)
			return i;      /* maybe: wait for more from here */
	}
	return n;
}

static ssize_t http_parse(void *state, struct dissect_ctx *ctx, enum dissect_dir dir,
			  const uint8_t *data, size_t len)
{
	struct http_conn *s = state;
	struct http_dir *dd = &s->dir[dir];
	size_t off = 0;
	char err[256];

	while (off < len) {
		const uint8_t *p = data + off;
		size_t n = len - off;
		switch (dd->state) {
		case HS_DEAD:
		case HS_OPAQUE:
			return (ssize_t)len;
		case HS_RESYNC: {
			size_t skip = resync(dd, dir, p, n);
			off += skip;
			if (dd->cut_open)
				count_body(s, dir, skip);
			if (dd->state == HS_RESYNC)
				return (ssize_t)off;
			if (dd->cut_open) {
				/* The next response starts: the one the snaplen cut ended before it. */
				dd->cut_open = false;
				response_done(s, ctx);
			}
			break;
		}
		case HS_IDLE: {
			/* Empty lines between messages are allowed (and left by some clients). */
			if (p[0] == '\r' || p[0] == '\n') {
				off++;
				break;
			}
			if (!dd->start_ts)
				dd->start_ts = ctx->ts_ns;
			size_t hl = http_head_length(p, n);
			if (!hl) {
				/* Judge the start line as soon as it is there (or cannot be one). */
				const uint8_t *nl = memchr(p, '\n', n);
				if (nl) {
					struct http_msg scratch;
					struct http_head h;
					http_msg_reset(&scratch);
					if (http_parse_head(&scratch, &h, dir, p, (size_t)(nl - p) + 1,
							    err, sizeof(err)))
						return parser_error(s, ctx, dir, err);
				} else if (!http_start_plausible(dir, p, n)) {
					char ex[128];
					dissect_excerpt(ex, sizeof(ex), p, n, 40);
					snprintf(err, sizeof(err), "invalid %s line: \"%s\"",
						 dir == DISSECT_TO_SERVER ? "request" : "status", ex);
					return parser_error(s, ctx, dir, err);
				}
				if (n > HTTP_MAX_HEADER_BLOCK) {
					snprintf(err, sizeof(err), "header block larger than %u bytes",
						 HTTP_MAX_HEADER_BLOCK);
					return parser_error(s, ctx, dir, err);
				}
				return (ssize_t)off;
			}
			if (hl > HTTP_MAX_HEADER_BLOCK) {
				snprintf(err, sizeof(err), "header block larger than %u bytes",
					 HTTP_MAX_HEADER_BLOCK);
				return parser_error(s, ctx, dir, err);
			}
			if (on_head(s, ctx, dir, p, hl) < 0)
				return -1;
			dd->start_ts = 0;
			off += hl;
			break;
		}
		case HS_BODY_LENGTH:
		case HS_CHUNK_DATA: {
			uint64_t take = n < dd->remaining ? n : dd->remaining;
			count_body(s, dir, take);
			dd->remaining -= take;
			off += take;
			if (dd->remaining == 0) {
				if (dd->state == HS_CHUNK_DATA)
					dd->state = HS_CHUNK_END;
				else
					body_done(s, ctx, dir);
			}
			break;
		}
		case HS_CHUNK_END:
			if (p[0] == '\n') {
				off++;
			} else if (p[0] == '\r') {
				if (n < 2)
					return (ssize_t)off;
				if (p[1] != '\n')
					return parser_error(s, ctx, dir, "chunk data not followed by CRLF");
				off += 2;
			} else {
				return parser_error(s, ctx, dir, "chunk data longer than its size");
			}
			dd->state = HS_CHUNK_SIZE;
			break;
		case HS_CHUNK_SIZE:
		case HS_TRAILERS: {
			const uint8_t *nl = memchr(p, '\n', n);
			if (!nl) {
				if (n > HTTP_MAX_CHUNK_LINE)
					return parser_error(s, ctx, dir, dd->state == HS_CHUNK_SIZE ?
							    "chunk size line too long" : "trailer line too long");
				return (ssize_t)off;
			}
			size_t ll = (size_t)(nl - p);
			off += ll + 1;
			if (ll && p[ll - 1] == '\r')
				ll--;
			if (dd->state == HS_TRAILERS) {
				if (ll == 0) {
					body_done(s, ctx, dir);
				} else {
					struct http_msg *m = cur_msg(s, dir);
					struct http_msg scratch;
					if (!m) {
						http_msg_reset(&scratch);
						m = &scratch;
					}
					if (http_parse_trailer(m, p, ll, err, sizeof(err)))
						return parser_error(s, ctx, dir, err);
				}
				break;
			}
			uint64_t size;
			if (http_parse_chunk_size(p, ll, &size)) {
				char ex[128];
				dissect_excerpt(ex, sizeof(ex), p, ll, 40);
				snprintf(err, sizeof(err), "invalid chunk size: \"%s\"", ex);
				return parser_error(s, ctx, dir, err);
			}
			if (size == 0) {
				dd->state = HS_TRAILERS;
			} else {
				dd->state = HS_CHUNK_DATA;
				dd->remaining = size;
			}
			break;
		}
		case HS_BODY_CLOSE:
			count_body(s, dir, n);
			off += n;
			break;
		}
	}
	return (ssize_t)off;
}

/*
 * A head the snaplen cut: its complete lines p[0..n) are all there is.  The
 * message is taken as it is (start line and the headers before the cut,
 * marked truncated); where its body ends is unknown, so the direction looks
 * for the next message start.  A response completes its exchange: the
 * snaplen is no error of the server's.  False when the lines do not parse.
 */
static bool truncated_head(struct http_conn *s, struct dissect_ctx *ctx, enum dissect_dir dir,
			   const uint8_t *p, size_t n, uint64_t missing)
{
	struct http_dir *dd = &s->dir[dir];
	uint64_t ts = dd->start_ts ? dd->start_ts : ctx->ts_ns;
	struct http_head h;
	struct http_msg m;
	char err[256];

	http_msg_reset(&m);
	if (http_is_message_start(dir, p, n) != 1 ||
	    http_parse_head(&m, &h, dir, p, n, err, sizeof(err)))
		return false;
	m.ts_first = ts;
	m.truncated = true;
	if (dir == DISSECT_TO_SERVER) {
		struct exchange *ex = exchange_new(&s->queue, ctx, ts);
		if (!ex)
			return false;
		http_msg_copy(&hx(ex)->req, &m);
		hx(ex)->head = http_method_is(&hx(ex)->req, "HEAD");
		ex->truncated_bytes += missing;
		dd->cur = queue_request(s, ctx, ex);
		request_done(s, ctx);
	} else {
		if (m.status >= 100 && m.status < 200)
			return true;   /* interim: the final response follows */
		struct exchange *ex = q_first(s);
		if (!ex) {
			ex = exchange_new(&s->queue, ctx, ts);
			if (!ex)
				return false;
			hx(ex)->orphan = true;
		}
		ex->truncated_bytes += missing;
		http_msg_copy(&hx(ex)->resp, &m);
		dd->cur = ex;
		dd->cut_open = true;
	}
	dd->state = HS_RESYNC;
	dd->start_ts = 0;
	return true;
}

/*
 * Bytes not seen inside a body of known size (Content-Length, a chunk): still
 * in step, they just were not seen.  False when they do not fit in it.
 */
static bool skip_in_body(struct http_conn *s, struct dissect_ctx *ctx, enum dissect_dir dir,
			 uint32_t unconsumed, uint64_t missing)
{
	struct http_dir *dd = &s->dir[dir];
	if (unconsumed != 0 || missing > dd->remaining)
		return false;
	count_body(s, dir, missing);
	dd->remaining -= missing;
	if (dd->remaining == 0) {
		if (dd->state == HS_CHUNK_DATA)
			dd->state = HS_CHUNK_END;
		else
			body_done(s, ctx, dir);
	}
	return true;
}

/* A gap the snaplen made: no loss and no error; stay in step where the framing allows. */
static void http_truncated(struct http_conn *s, struct dissect_ctx *ctx, enum dissect_dir dir,
			   uint64_t missing)
{
	struct http_dir *dd = &s->dir[dir];
	uint32_t unconsumed = ctx->unconsumed[dir];
	const uint8_t *pend = ctx->unconsumed_data[dir];
	struct exchange *ex = dd->cur;
	if (!ex && dir == DISSECT_TO_CLIENT)
		ex = q_first(s);

	switch (dd->state) {
	case HS_BODY_LENGTH:
	case HS_CHUNK_DATA:
		if (ex)
			ex->truncated_bytes += missing;
		if (unconsumed == 0 && missing <= dd->remaining && cur_msg(s, dir))
			cur_msg(s, dir)->truncated = true;
		if (skip_in_body(s, ctx, dir, unconsumed, missing))
			return;
		break;
	case HS_BODY_CLOSE:
		if (ex)
			ex->truncated_bytes += missing;
		if (cur_msg(s, dir))
			cur_msg(s, dir)->truncated = true;
		count_body(s, dir, missing);
		return;
	case HS_RESYNC:
		if (ex)
			ex->truncated_bytes += missing;
		if (dd->cut_open)
			count_body(s, dir, missing);
		return;
	case HS_IDLE: {
		/* A head cut before its end: read it up to its last complete line. */
		size_t n = unconsumed;
		while (n && pend && pend[n - 1] != '\n')
			n--;
		if (n && pend && truncated_head(s, ctx, dir, pend, n, missing))
			return;
		if (ex)
			ex->truncated_bytes += missing;
		break;
	}
	default:
		if (ex)
			ex->truncated_bytes += missing;
		break;
	}
	/* Out of step: the message in progress ends here as far as the capture
	 * shows (its head was read: no error); look for the next message start. */
	if (dd->state != HS_OPAQUE && dd->state != HS_DEAD) {
		struct http_msg *m = cur_msg(s, dir);
		if (m && m->seen) {
			m->truncated = true;
			body_done(s, ctx, dir);   /* a CONNECT request leaves the state HS_OPAQUE */
		}
		if (s->dir[dir].state == HS_OPAQUE) {
			dd->start_ts = 0;
			return;
		}
		dd->state = HS_RESYNC;
	}
	dd->start_ts = 0;
}

/* Bytes skippable() announced that the capture did not copy: as if parsed. */
static bool http_skipped(struct http_conn *s, struct dissect_ctx *ctx, enum dissect_dir dir,
			 uint64_t missing)
{
	struct http_dir *dd = &s->dir[dir];
	switch (dd->state) {
	case HS_BODY_LENGTH:
	case HS_CHUNK_DATA:
		return skip_in_body(s, ctx, dir, ctx->unconsumed[dir], missing);
	case HS_BODY_CLOSE:
		count_body(s, dir, missing);
		return true;
	case HS_OPAQUE:
		return true;
	default:
		return false;
	}
}

/* A hole of `missing` bytes in `dir`. */
static void http_gap(void *state, struct dissect_ctx *ctx, enum dissect_dir dir, uint64_t missing)
{
	struct http_conn *s = state;
	struct http_dir *dd = &s->dir[dir];
	if (s->dead)
		return;
	if (ctx->skipped && http_skipped(s, ctx, dir, missing))
		return;
	if (ctx->truncated) {
		http_truncated(s, ctx, dir, missing);
		return;
	}
	uint32_t unconsumed = ctx->unconsumed[dir];
	struct exchange *ex = dd->cur;
	if (!ex && dir == DISSECT_TO_CLIENT)
		ex = q_first(s);
	if (ex)
		ex->missed_bytes += missing;

	switch (dd->state) {
	case HS_BODY_LENGTH:
	case HS_CHUNK_DATA:
		if (skip_in_body(s, ctx, dir, unconsumed, missing))
			return;
		break;
	case HS_BODY_CLOSE:
		count_body(s, dir, missing);
		return;
	case HS_RESYNC:
		/* Out of step already: a waiting request's response went by in this hole. */
		if (dir == DISSECT_TO_CLIENT && ex && missing)
			ex->loss = true;
		return;
	case HS_OPAQUE:
	case HS_DEAD:
		return;
	default:
		if (missing == 0 && unconsumed == 0)
			return;
		break;
	}

	/* Out of step: look for the next message start; say which exchange lost bytes. */
	dd->state = HS_RESYNC;
	dd->start_ts = 0;
	if (dir == DISSECT_TO_CLIENT) {
		if (!ex)
			return;
		if (hx(ex)->orphan) {
			forget(s, ex);
			exchange_release(&s->queue, ex);
			return;
		}
		char msg[160];
		snprintf(msg, sizeof(msg), "response damaged: %llu bytes were not captured",
			 (unsigned long long)(missing + unconsumed));
		emit(s, ctx, ex, FL_ERR_HALF_CONNECTION, msg, "loss");
		return;
	}
	if (dd->cur) {
		dd->cur->loss = true;       /* its request body is cut: still paired with its response */
		dd->cur = NULL;
	} else {
		s->requests_missed += missing + unconsumed;
	}
}

/* "after 100 of 1000 response body bytes" and the like. */
static void body_progress(const struct http_msg *m, const struct http_dir *dd, const char *what,
			  char *buf, size_t len)
{
	unsigned long long got = m->body_bytes;
	if (m->chunked)
		snprintf(buf, len, "after %llu bytes of a chunked %s body", got, what);
	else if (m->has_length && dd->state == HS_BODY_LENGTH)
		snprintf(buf, len, "after %llu of %llu %s body bytes", got,
			 (unsigned long long)m->content_length, what);
	else
		snprintf(buf, len, "after %llu %s body bytes", got, what);
}

/* Report a message of `dir` cut short. */
static void report_cut(struct http_conn *s, struct dissect_ctx *ctx, struct exchange *ex,
		       enum dissect_dir dir, const char *where)
{
	forget(s, ex);
	exchange_cut(&s->queue, ctx, ex, dir, where, NULL);
}

static void http_end(void *state, struct dissect_ctx *ctx)
{
	struct http_conn *s = state;
	if (s->dead)
		return;
	bool closed = ctx->end_reason == DISSECT_END_FIN || ctx->end_reason == DISSECT_END_RST;
	char where[128];

	/* The response being received. */
	struct http_dir *rd = &s->dir[DISSECT_TO_CLIENT];
	if (rd->cur && rd->cut_open) {
		rd->cut_open = false;
		response_done(s, ctx);   /* its end was hidden by the snaplen, not cut */
	} else if (rd->cur && rd->state == HS_BODY_CLOSE && closed) {
		response_done(s, ctx);   /* the close delimits the body: complete */
	} else if (rd->cur && rd->state != HS_IDLE && rd->state != HS_OPAQUE) {
		struct exchange *ex = rd->cur;
		body_progress(&hx(ex)->resp, rd, "response", where, sizeof(where));
		report_cut(s, ctx, ex, DISSECT_TO_CLIENT, where);
	} else if (rd->state == HS_IDLE && ctx->unconsumed[DISSECT_TO_CLIENT]) {
		struct exchange *ex = q_first(s);
		if (!ex)
			ex = exchange_new(&s->queue, ctx, 0);
		snprintf(where, sizeof(where), "inside the response head (%u bytes)",
			 ctx->unconsumed[DISSECT_TO_CLIENT]);
		if (ex)
			report_cut(s, ctx, ex, DISSECT_TO_CLIENT, where);
	}

	/* A request head cut short. */
	struct http_dir *qd = &s->dir[DISSECT_TO_SERVER];
	struct exchange *blank;
	if (qd->state == HS_IDLE && ctx->unconsumed[DISSECT_TO_SERVER] &&
	    (blank = exchange_new(&s->queue, ctx, 0))) {
		hx(blank)->resp.ts_first = qd->start_ts;
		snprintf(where, sizeof(where), "inside the request head (%u bytes)",
			 ctx->unconsumed[DISSECT_TO_SERVER]);
		report_cut(s, ctx, blank, DISSECT_TO_SERVER, where);
	}

	/* Requests still waiting for their responses; the newest may be cut short. */
	struct exchange *cut = qd->cur;
	if (cut && hx(cut)->req.complete)
		cut = NULL;
	if (cut)
		exchange_remove(&s->queue, cut);
	for (struct exchange *ex = q_first(s); ex; ex = ex->next)
		forget(s, ex);
	exchange_end(&s->queue, ctx);
	if (cut) {
		body_progress(&hx(cut)->req, qd, "request", where, sizeof(where));
		report_cut(s, ctx, cut, DISSECT_TO_SERVER, where);
	}
	s->dir[0].state = s->dir[1].state = HS_DEAD;
	s->dead = true;
}

/* An ICMP error fails the requests sent and not yet answered, oldest first. */
static enum exchange_pick http_pick_unanswered(struct exchange *ex, void *arg)
{
	const struct http_exchange *x = exchange_cdata(ex);
	if (!x->req.complete || x->resp.seen)
		return EXCHANGE_PICK_STOP;
	forget(arg, ex);
	return EXCHANGE_PICK_FAIL;
}

static void http_icmp(void *state, struct dissect_ctx *ctx, const struct dissect_icmp *icmp)
{
	struct http_conn *s = state;
	if (!s->dead)
		exchange_icmp(&s->queue, ctx, icmp, http_pick_unanswered, s);
}

/* Body bytes parse() would only count: a known-size body or chunk, a body up to the close. */
static uint64_t http_skippable(void *state, enum dissect_dir dir)
{
	const struct http_conn *s = state;
	const struct http_dir *dd = &s->dir[dir];
	if (s->dead)
		return 0;
	switch (dd->state) {
	case HS_BODY_LENGTH:
	case HS_CHUNK_DATA:
		return dd->remaining;
	case HS_BODY_CLOSE:
	case HS_OPAQUE:
		return UINT64_MAX;
	default:
		return 0;
	}
}

static bool http_pending(void *state)
{
	struct http_conn *s = state;
	if (s->dead)
		return false;
	/* A response whose end the snaplen hid is no unfinished message. */
	if (s->queue.count > (s->dir[DISSECT_TO_CLIENT].cut_open ? 1u : 0u))
		return true;
	for (int d = 0; d < 2; d++) {
		uint8_t st = s->dir[d].state;
		if (st != HS_IDLE && st != HS_RESYNC && st != HS_OPAQUE && st != HS_DEAD)
			return true;
	}
	return false;
}

static void *http_new(struct dissect_ctx *ctx)
{
	struct http_conn *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	exchange_queue_init(&s->queue, http_dissector.name, sizeof(struct http_exchange),
			    HTTP_MAX_OUTSTANDING, http_fill, s);
	s->queue.reset = http_exchange_reset;
	s->midstream = ctx->midstream;
	if (s->midstream)
		s->dir[0].state = s->dir[1].state = HS_RESYNC;
	return s;
}

static void http_free(void *state)
{
	struct http_conn *s = state;
	if (!s)
		return;
	/* An orphan response, or a copy for an unrecorded request, is in no
	 * queue: only its direction points at it. */
	for (int d = 0; d < 2; d++)
		if (s->dir[d].cur && !s->dir[d].cur->queued)
			exchange_release(&s->queue, s->dir[d].cur);
	exchange_queue_free(&s->queue);
	free(s);
}

static enum dissect_probe http_probe(const uint8_t *data, size_t len, enum dissect_dir dir,
				     bool port_hint)
{
	(void)port_hint;
	int r = http_is_message_start(dir, data, len);
	return r > 0 ? DISSECT_PROBE_YES : r < 0 ? DISSECT_PROBE_MAYBE : DISSECT_PROBE_NO;
}

static bool http_port_hint(uint16_t port)
{
	switch (port) {
	case 80: case 591: case 3128: case 5000: case 8000: case 8008: case 8080: case 8081:
	case 8888:
		return true;
	default:
		return false;
	}
}

static ssize_t http_parse_op(void *state, struct dissect_ctx *ctx, enum dissect_dir dir,
			     const uint8_t *data, size_t len)
{
	return http_parse(state, ctx, dir, data, len);
}

const struct dissector_ops http_dissector = {
	.name = "http",
	.transports = DISSECT_TCP,
	.port_hint = http_port_hint,
	.probe = http_probe,
	.new = http_new,
	.state_size = sizeof(struct http_conn),
	.free = http_free,
	.parse = http_parse_op,
	.gap = http_gap,
	.end = http_end,
	.icmp = http_icmp,
	.pending = http_pending,
	.skippable = http_skippable,
};
