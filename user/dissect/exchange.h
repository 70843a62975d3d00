/* SPDX-License-Identifier: MIT */
/*
 * Exchanges: the engine's part of every request/response protocol, so that
 * each dissector only parses and fills documents (Suricata's app-layer
 * transactions).
 *
 * An exchange is one request and its response.  A dissector opens one when a
 * request starts, and ends it with exactly one verdict, each of which emits
 * one entry and releases the exchange:
 *
 *   exchange_complete()   the response arrived (error null)
 *   exchange_fail()       any other error the dissector judges (parser-error, loss, ...)
 *   exchange_expire()     no response within the timeout, by packet time (UDP)
 *   exchange_cut()        the stream ended inside one of its messages
 *   exchange_end()        the stream ended: every exchange still waiting, "response missing"
 *   exchange_icmp()       an ICMP error that ends delivery quoted the flow
 *
 * The rules that are the same for every protocol live here, once:
 *
 * - Loss is per exchange: tcp.missed_bytes are the holes attributed to the
 *   exchange while it was open (exchange_loss(), or the dissector adding to
 *   missed_bytes), tcp.retransmissions those the connection saw from its
 *   opening until its entry.
 * - One end-of-stream wording (exchange_end_cause()): "connection closed by
 *   server", "connection reset by client", "stream idle for 10000 ms",
 *   "capture ended", "flow evicted from the flow table".  A message cut by a
 *   FIN or RST is unexpected-eof, by the idle timeout a timeout error, by the
 *   end of the capture or an eviction a half-connection.
 * - One ICMP policy (exchange_icmp_ends_delivery()): destination unreachable,
 *   time exceeded and parameter problem fail waiting requests; packet too big
 *   only for IPv6 or a quoted IPv4 packet with DF set; redirect and source
 *   quench never (the packet was delivered, or will be).
 *
 * An entry is: id, ts (ex->ts_ns), protocol, src, dst, then what the queue's
 * fill() writes (request, response, elapsed_ms, protocol fields), then
 * error, then tcp.  Exchanges are recycled through a small cache, so a busy
 * connection does not allocate per request.  Pointers to an exchange stay
 * valid until its verdict or exchange_release().
 */
#ifndef FL_DISSECT_EXCHANGE_H
#define FL_DISSECT_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dissect/dissect.h"

struct exchange {
	struct exchange *next;        /* the queue's link */
	uint64_t ts_ns;               /* the entry's time: the request's first byte, or the
				       * response's for a response without a request */
	uint64_t missed_bytes;        /* bytes of this exchange never captured */
	uint64_t truncated_bytes;     /* bytes of this exchange the snaplen cut */
	uint64_t retrans_base;        /* the connection's retransmissions when it opened */
	uint32_t data_size;
	bool queued;
	bool loss;                    /* a hole damaged it: its end-of-stream reason is "loss" */
	/* It also stands for this many later requests that the queue had no room to
	 * record: a failure reports each of them with it. */
	uint32_t repeat;
	struct fl_stats *stats;       /* its bytes are in stats->memory.stream_bytes until released */
	uint64_t data[];              /* the dissector's record: exchange_data() */
};

struct exchange_queue;

/*
 * Write the protocol's members of ex's entry: request, response, elapsed_ms
 * and whatever the protocol adds.  `response` is what the dissector passed
 * to the verdict (NULL when there is none).
 */
typedef void (*exchange_fill_fn)(struct exchange_queue *q, struct dissect_ctx *ctx,
				 struct doc *d, const struct exchange *ex, const void *response);

/* The exchanges of one stream that wait for their responses, oldest first. */
struct exchange_queue {
	const char *protocol;         /* the entries' "protocol" */
	exchange_fill_fn fill;
	void *owner;                  /* the dissector's state, for fill() */
	struct exchange *head, *tail;
	uint32_t count, max;
	uint32_t data_size;           /* bytes of the dissector's record */
	uint64_t unowned_missed;      /* a hole no waiting exchange owned: the next one's */
	/* Requests nobody has to answer (broadcast): an exchange that fails as a
	 * half-connection without a response leaves without an entry. */
	bool quiet_unanswered;
	/* Clears a new exchange's record (NULL: all data_size bytes are zeroed);
	 * a record with large buffers of which only a used length is read need
	 * not zero them (HTTP: ~4.6 KB of kept text per exchange). */
	void (*reset)(void *data);
};

void exchange_queue_init(struct exchange_queue *q, const char *protocol, uint32_t data_size,
			 uint32_t max, exchange_fill_fn fill, void *owner);
/* Release every exchange without a report (the stream is freed). */
void exchange_queue_free(struct exchange_queue *q);
/* Free this thread's cache of released exchanges (a --workers thread that ends). */
void exchange_cache_free(void);

static inline void *exchange_data(struct exchange *ex)
{
	return ex->data;
}

static inline const void *exchange_cdata(const struct exchange *ex)
{
	return ex->data;
}

/* An exchange not yet in the queue, its record zeroed: NULL when out of memory. */
struct exchange *exchange_new(struct exchange_queue *q, const struct dissect_ctx *ctx,
			      uint64_t ts_ns);
/* Queue ex behind the others: -ENOSPC when `max` wait already. */
int exchange_push(struct exchange_queue *q, struct exchange *ex);
/* exchange_new() and exchange_push(): NULL when full or out of memory. */
struct exchange *exchange_open(struct exchange_queue *q, const struct dissect_ctx *ctx,
			       uint64_t ts_ns);
/* Take ex out of the queue (it stays the caller's) / give it back to the cache. */
void exchange_remove(struct exchange_queue *q, struct exchange *ex);
void exchange_release(struct exchange_queue *q, struct exchange *ex);

static inline struct exchange *exchange_first(const struct exchange_queue *q)
{
	return q->head;
}

static inline struct exchange *exchange_last(const struct exchange_queue *q)
{
	return q->tail;
}

/*
 * Pipelining past the queue's bound.  The last exchange a queue records stands
 * for every later request too: exchange_unrecorded() counts one more on it
 * (ex->repeat, and stats entries.unrecorded_requests), and exchange_take()
 * gives out a fresh copy of its record, outside the queue, for each of them
 * before the exchange itself, so that every response still has its entry
 * (the dissector marks the copies' requests as unrecorded).  exchange_take()
 * returns the head itself, still queued, when it stands for no other.
 */
void exchange_unrecorded(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex);
struct exchange *exchange_take(struct exchange_queue *q, struct dissect_ctx *ctx);

/* ---- verdicts: one entry each; ex leaves the queue and is released ---- */

void exchange_complete(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex,
		       const void *response);
void exchange_fail(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex,
		   enum fl_error_type type, const char *message, const char *reason,
		   const void *response);

/* Fail every waiting exchange the same way (a hole lost them all, ...). */
void exchange_fail_all(struct exchange_queue *q, struct dissect_ctx *ctx, enum fl_error_type type,
		       const char *message, const char *reason);
/*
 * `missing` bytes of `dir` never captured (or cut, ctx->truncated) took the
 * framing with them: exchange_gap(), then every waiting exchange fails as a
 * response missing for that loss.
 */
void exchange_lose_all(struct exchange_queue *q, struct dissect_ctx *ctx, enum dissect_dir dir,
		       uint64_t missing);

/*
 * By packet time (ctx->ts_ns), the exchanges waiting longer than
 * tap.tcpStreamChannelTimeoutMs will not be answered: half-connection
 * "response missing: no response within 10000 ms", reason timeout.  For
 * streams that do not end (UDP); TCP streams time out as a whole.
 */
void exchange_expire(struct exchange_queue *q, struct dissect_ctx *ctx);

/*
 * The stream ended (ctx->end_reason) inside ex's message of `dir`; `where`
 * says how far it got ("after 100 of 1000 response body bytes", "in the
 * middle of a reply").  FIN/RST: unexpected-eof "connection closed by server
 * <where>"; idle: timeout "stream idle for N ms <where>"; capture end or
 * eviction: half-connection "response incomplete: capture ended <where>".
 */
void exchange_cut(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex,
		  enum dissect_dir dir, const char *where, const void *response);

/*
 * The stream ended: every exchange still waiting is a half-connection
 * "response missing: <cause>" with the reason closed, reset, timeout,
 * capture-end (or loss when a hole damaged it).
 */
void exchange_end(struct exchange_queue *q, struct dissect_ctx *ctx);

/*
 * Why the stream ended, for a message of `dir`: "connection closed by
 * server" (a FIN from the message's own sender cut it, else the peer's),
 * "connection reset by client", "stream idle for 10000 ms", "capture ended",
 * "flow evicted from the flow table".  Returns the half-connection reason.
 */
const char *exchange_end_cause(const struct dissect_ctx *ctx, enum dissect_dir dir, char *buf,
			       size_t len);

/*
 * A hole of `missing` bytes in `dir`: a hole in the responses belongs to the
 * oldest exchange (whose response is due), one in the requests to the newest;
 * with none waiting, to the next exchange created (its request was in the
 * hole).  Returns the exchange, or NULL when none waits.
 */
struct exchange *exchange_loss(struct exchange_queue *q, enum dissect_dir dir, uint64_t missing);
/* A gap() of `missing` bytes: exchange_loss(), or when the snaplen cut them
 * (ctx->truncated) counted in the exchange's truncated_bytes, not as loss. */
struct exchange *exchange_gap(struct exchange_queue *q, const struct dissect_ctx *ctx,
			      enum dissect_dir dir, uint64_t missing);

/* ---- ICMP ---- */

/* Does this ICMP error mean the quoted packet was not delivered? */
bool exchange_icmp_ends_delivery(const struct dissect_icmp *icmp);

/* Which waiting exchanges an ICMP error fails: */
enum exchange_pick {
	EXCHANGE_PICK_FAIL,           /* this one */
	EXCHANGE_PICK_SKIP,           /* not this one, look further */
	EXCHANGE_PICK_STOP,           /* not this one nor any after it */
};
typedef enum exchange_pick (*exchange_pick_fn)(struct exchange *ex, void *arg);

/*
 * An ICMP error quoting a request: when it ends delivery, every waiting
 * exchange `pick` chooses (all when NULL) is a half-connection "response
 * missing: ICMP Destination unreachable (Port unreachable)", reason icmp.
 * Returns how many failed.
 */
unsigned exchange_icmp(struct exchange_queue *q, struct dissect_ctx *ctx,
		       const struct dissect_icmp *icmp, exchange_pick_fn pick, void *arg);

#endif
