// SPDX-License-Identifier: MIT
#include "dissect/exchange.h"

#include "report/stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Released exchanges wait here for the next one of the same size (an HTTP
 * exchange is ~9 KB of kept text): one connection per request does not
 * allocate per request either.  One cache per thread: each --workers
 * pipeline runs on its own thread.
 */
#define EXCHANGE_CACHE 64
static __thread struct exchange *exchange_cache[EXCHANGE_CACHE];
static __thread unsigned exchange_cached;

void exchange_queue_init(struct exchange_queue *q, const char *protocol, uint32_t data_size,
			 uint32_t max, exchange_fill_fn fill, void *owner)
{
	memset(q, 0, sizeof(*q));
	q->protocol = protocol;
	q->data_size = data_size;
	q->max = max;
	q->fill = fill;
	q->owner = owner;
}

void exchange_queue_free(struct exchange_queue *q)
{
	while (q->head) {
		struct exchange *ex = q->head;
		exchange_remove(q, ex);
		exchange_release(q, ex);
	}
}

struct exchange *exchange_new(struct exchange_queue *q, const struct dissect_ctx *ctx,
			      uint64_t ts_ns)
{
	struct exchange *ex = NULL;
	uint64_t bytes = sizeof(*ex) + q->data_size;
	if (ctx->stats && !memory_allows(ctx->stats, bytes)) {
		ctx->stats->memory.over_limit++;     /* not recorded, as when the queue is full */
		return NULL;
	}
	for (unsigned i = exchange_cached; i-- > 0;) {
		if (exchange_cache[i]->data_size == q->data_size) {
			ex = exchange_cache[i];
			exchange_cache[i] = exchange_cache[--exchange_cached];
			break;
		}
	}
	if (!ex && !(ex = malloc(sizeof(*ex) + q->data_size)))
		return NULL;
	memset(ex, 0, sizeof(*ex));
	if (q->reset)
		q->reset(ex->data);
	else
		memset(ex->data, 0, q->data_size);
	ex->data_size = q->data_size;
	ex->stats = ctx->stats;
	if (ex->stats)
		ex->stats->memory.stream_bytes += bytes;
	ex->ts_ns = ts_ns;
	ex->retrans_base = ctx->tcp.retransmissions;
	ex->missed_bytes = q->unowned_missed;
	q->unowned_missed = 0;
	return ex;
}

int exchange_push(struct exchange_queue *q, struct exchange *ex)
{
	if (q->count == q->max)
		return -ENOSPC;
	ex->next = NULL;
	ex->queued = true;
	if (q->tail)
		q->tail->next = ex;
	else
		q->head = ex;
	q->tail = ex;
	q->count++;
	return 0;
}

struct exchange *exchange_open(struct exchange_queue *q, const struct dissect_ctx *ctx,
			       uint64_t ts_ns)
{
	if (q->count == q->max)
		return NULL;
	struct exchange *ex = exchange_new(q, ctx, ts_ns);
	if (ex)
		exchange_push(q, ex);
	return ex;
}

void exchange_remove(struct exchange_queue *q, struct exchange *ex)
{
	if (!ex->queued)
		return;
	struct exchange **link = &q->head, *prev = NULL;
	while (*link && *link != ex) {
		prev = *link;
		link = &(*link)->next;
	}
	if (!*link)
		return;
	*link = ex->next;
	if (q->tail == ex)
		q->tail = prev;
	ex->next = NULL;
	ex->queued = false;
	q->count--;
}

void exchange_release(struct exchange_queue *q, struct exchange *ex)
{
	if (!ex)
		return;
	exchange_remove(q, ex);
	if (ex->stats)
		ex->stats->memory.stream_bytes -= sizeof(*ex) + ex->data_size;
	ex->stats = NULL;
	if (exchange_cached < EXCHANGE_CACHE)
		exchange_cache[exchange_cached++] = ex;
	else
		free(ex);
}

void exchange_cache_free(void)
{
	while (exchange_cached)
		free(exchange_cache[--exchange_cached]);
}

void exchange_unrecorded(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex)
{
	(void)q;
	ex->repeat++;
	if (ctx->stats)
		ctx->stats->entries.unrecorded_requests++;
}

struct exchange *exchange_take(struct exchange_queue *q, struct dissect_ctx *ctx)
{
	struct exchange *ex = q->head;
	if (!ex || !ex->repeat)
		return ex;
	struct exchange *one = exchange_new(q, ctx, ex->ts_ns);
	ex->repeat--;   /* the next response is the next unrecorded request's */
	if (one) {
		memcpy(one->data, ex->data, q->data_size);
		one->retrans_base = ex->retrans_base;
	}
	return one;
}

/* ---- verdicts ---- */

static void emit(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex,
		 enum fl_error_type type, const char *message, const char *reason,
		 const void *response)
{
	struct doc *d = entry_begin(ctx->em, ex->ts_ns ? ex->ts_ns : ctx->ts_ns, q->protocol,
				    &ctx->client, &ctx->server, NULL);
	q->fill(q, ctx, d, ex, response);
	if (type != FL_ERR_NONE)
		entry_set_error(ctx->em, type, message, reason);
	else
		doc_add_null(d, DOC_ROOT, "error");
	uint64_t retrans = ctx->tcp.retransmissions - ex->retrans_base;
	dissect_add_tcp(d, ex->missed_bytes, retrans, ex->truncated_bytes);
	entry_commit(ctx->em);
}

void exchange_complete(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex,
		       const void *response)
{
	emit(q, ctx, ex, FL_ERR_NONE, NULL, NULL, response);
	exchange_release(q, ex);
}

void exchange_fail(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex,
		   enum fl_error_type type, const char *message, const char *reason,
		   const void *response)
{
	if (q->quiet_unanswered && type == FL_ERR_HALF_CONNECTION && !response) {
		exchange_release(q, ex);
		return;
	}
	for (uint32_t i = 0; i <= ex->repeat; i++)
		emit(q, ctx, ex, type, message, reason, response);
	exchange_release(q, ex);
}

void exchange_fail_all(struct exchange_queue *q, struct dissect_ctx *ctx, enum fl_error_type type,
		       const char *message, const char *reason)
{
	while (q->head)
		exchange_fail(q, ctx, q->head, type, message, reason, NULL);
}

void exchange_lose_all(struct exchange_queue *q, struct dissect_ctx *ctx, enum dissect_dir dir,
		       uint64_t missing)
{
	exchange_gap(q, ctx, dir, missing);
	exchange_fail_all(q, ctx, FL_ERR_HALF_CONNECTION,
			  ctx->truncated ? "response missing: the capture's snaplen cut the stream"
					 : "response missing: the capture lost bytes of the stream",
			  "loss");
}

void exchange_expire(struct exchange_queue *q, struct dissect_ctx *ctx)
{
	if (ctx->timeout_ms == 0)
		return;
	uint64_t limit = ctx->timeout_ms * 1000000ull;
	char msg[96];
	while (q->head && ctx->ts_ns > q->head->ts_ns && ctx->ts_ns - q->head->ts_ns > limit) {
		snprintf(msg, sizeof(msg), "response missing: no response within %llu ms",
			 (unsigned long long)ctx->timeout_ms);
		exchange_fail(q, ctx, q->head, FL_ERR_HALF_CONNECTION, msg, "timeout", NULL);
	}
}

static const char *side_name(enum dissect_dir d)
{
	return d == DISSECT_TO_SERVER ? "client" : "server";
}

const char *exchange_end_cause(const struct dissect_ctx *ctx, enum dissect_dir dir, char *buf,
			       size_t len)
{
	switch (ctx->end_reason) {
	case DISSECT_END_FIN:
		snprintf(buf, len, "connection closed by %s",
			 side_name(ctx->fin[dir] ? dir : ctx->fin[!dir] ? !dir : ctx->end_by));
		return "closed";
	case DISSECT_END_RST:
		snprintf(buf, len, "connection reset by %s", side_name(ctx->end_by));
		return "reset";
	case DISSECT_END_EVICTED:
		/* Not a reason of its own in the spec: the flow went idle long enough to be evicted. */
		snprintf(buf, len, "flow evicted from the flow table");
		return "timeout";
	case DISSECT_END_TIMEOUT:
		snprintf(buf, len, "stream idle for %llu ms", (unsigned long long)ctx->timeout_ms);
		return "timeout";
	case DISSECT_END_CAPTURE:
	default:
		snprintf(buf, len, "capture ended");
		return "capture-end";
	}
}

void exchange_cut(struct exchange_queue *q, struct dissect_ctx *ctx, struct exchange *ex,
		  enum dissect_dir dir, const char *where, const void *response)
{
	char cause[96], msg[320];
	const char *reason = exchange_end_cause(ctx, dir, cause, sizeof(cause));
	enum fl_error_type type;

	switch (ctx->end_reason) {
	case DISSECT_END_FIN:
	case DISSECT_END_RST:
		type = FL_ERR_UNEXPECTED_EOF;
		reason = NULL;
		break;
	case DISSECT_END_TIMEOUT:
		type = FL_ERR_TIMEOUT;
		reason = NULL;
		break;
	default:
		type = FL_ERR_HALF_CONNECTION;
		break;
	}
	if (type == FL_ERR_HALF_CONNECTION)
		snprintf(msg, sizeof(msg), "%s incomplete: %s %s",
			 dir == DISSECT_TO_SERVER ? "request" : "response", cause, where);
	else
		snprintf(msg, sizeof(msg), "%s %s", cause, where);
	exchange_fail(q, ctx, ex, type, msg, reason, response);
}

void exchange_end(struct exchange_queue *q, struct dissect_ctx *ctx)
{
	char cause[96], msg[128];
	const char *reason = exchange_end_cause(ctx, DISSECT_TO_CLIENT, cause, sizeof(cause));

	snprintf(msg, sizeof(msg), "response missing: %s", cause);
	while (q->head) {
		struct exchange *ex = q->head;
		exchange_fail(q, ctx, ex, FL_ERR_HALF_CONNECTION, msg, ex->loss ? "loss" : reason,
			      NULL);
	}
}

struct exchange *exchange_loss(struct exchange_queue *q, enum dissect_dir dir, uint64_t missing)
{
	struct exchange *ex = dir == DISSECT_TO_CLIENT ? q->head : q->tail;
	if (ex)
		ex->missed_bytes += missing;
	else
		q->unowned_missed += missing;
	return ex;
}

struct exchange *exchange_gap(struct exchange_queue *q, const struct dissect_ctx *ctx,
			      enum dissect_dir dir, uint64_t missing)
{
	if (!ctx->truncated)
		return exchange_loss(q, dir, missing);
	struct exchange *ex = dir == DISSECT_TO_CLIENT ? q->head : q->tail;
	if (ex)
		ex->truncated_bytes += missing;
	return ex;
}

/* ---- ICMP ---- */

bool exchange_icmp_ends_delivery(const struct dissect_icmp *icmp)
{
	if (icmp->version == 4) {
		switch (icmp->type) {
		case 3:             /* destination unreachable */
			return icmp->code != 4 || icmp->quoted_df;   /* 4: fragmentation needed */
		case 11:            /* time exceeded */
		case 12:            /* parameter problem */
			return true;
		default:            /* 4 source quench, 5 redirect */
			return false;
		}
	}
	switch (icmp->type) {
	case 1:                     /* destination unreachable */
	case 2:                     /* packet too big: IPv6 routers never fragment */
	case 3:                     /* time exceeded */
	case 4:                     /* parameter problem */
		return true;
	default:                    /* 137 redirect */
		return false;
	}
}

unsigned exchange_icmp(struct exchange_queue *q, struct dissect_ctx *ctx,
		       const struct dissect_icmp *icmp, exchange_pick_fn pick, void *arg)
{
	char msg[160];
	unsigned failed = 0;

	/* Only a request that did not arrive leaves its response missing. */
	if (icmp->dir != DISSECT_TO_SERVER || !exchange_icmp_ends_delivery(icmp))
		return 0;
	if (icmp->type_name && icmp->code_name)
		snprintf(msg, sizeof(msg), "response missing: ICMP %s (%s)", icmp->type_name,
			 icmp->code_name);
	else
		snprintf(msg, sizeof(msg), "response missing: ICMP%s type %u code %u",
			 icmp->version == 6 ? "v6" : "", icmp->type, icmp->code);
	for (struct exchange *ex = q->head, *next; ex; ex = next) {
		next = ex->next;
		enum exchange_pick p = pick ? pick(ex, arg) : EXCHANGE_PICK_FAIL;
		if (p == EXCHANGE_PICK_STOP)
			break;
		if (p == EXCHANGE_PICK_SKIP)
			continue;
		exchange_fail(q, ctx, ex, FL_ERR_HALF_CONNECTION, msg, "icmp", NULL);
		failed++;
	}
	return failed;
}
