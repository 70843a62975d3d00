// SPDX-License-Identifier: MIT
/*
 * One direction of TCP reassembly (see reasm.h).  Memory accounting:
 * stats->memory.reassembly_bytes counts held out-of-order payload plus the
 * capacity of the unconsumed-bytes buffers; the memcap is checked against it
 * when a segment would be held.
 */
#include "stream/reasm.h"

#include <stdlib.h>
#include <string.h>

#include "stream/seq.h"

struct reasm_seg {
	struct reasm_seg *next;
	uint32_t seq, len;
	uint8_t data[];
};

/* A pending buffer this small is kept between uses; a larger one is freed when empty. */
#define REASM_PENDING_KEEP 4096u
/* An acknowledgement this far past what we have is not believed. */
#define REASM_ACK_SANE (1u << 30)

void reasm_init(struct reasm *r)
{
	memset(r, 0, sizeof(*r));
}

void reasm_start(struct reasm *r, uint32_t isn)
{
	if (r->started)
		return;
	r->next_seq = isn + 1;
	r->started = true;
}

void reasm_fin(struct reasm *r, uint32_t seq)
{
	if (!r->started) {
		r->next_seq = seq;
		r->started = true;
	}
	if (!r->fin) {
		r->fin = true;
		r->fin_seq = seq;
	}
}

static void account(const struct reasm_env *env, int64_t delta)
{
	env->stats->memory.reassembly_bytes += (uint64_t)delta;
}

static void pending_release(struct reasm *r, const struct reasm_env *env)
{
	account(env, -(int64_t)r->pending_cap);
	free(r->pending);
	r->pending = NULL;
	r->pending_cap = 0;
	r->pending_len = 0;
}

uint32_t reasm_drop_pending(struct reasm *r, const struct reasm_env *env)
{
	uint32_t n = r->pending_len;
	r->pending_len = 0;
	if (r->pending_cap > REASM_PENDING_KEEP)
		pending_release(r, env);
	return n;
}

/* Make room for `need` pending bytes.  Returns false when it cannot. */
static bool pending_reserve(struct reasm *r, const struct reasm_env *env, uint32_t need)
{
	if (need <= r->pending_cap)
		return true;
	if (need > REASM_PENDING_MAX)
		return false;
	uint32_t cap = r->pending_cap ? r->pending_cap : 2048;
	while (cap < need)
		cap *= 2;
	if (cap > REASM_PENDING_MAX)
		cap = REASM_PENDING_MAX;
	uint8_t *p = realloc(r->pending, cap);
	if (!p)
		return false;
	account(env, (int64_t)cap - (int64_t)r->pending_cap);
	r->pending = p;
	r->pending_cap = cap;
	return true;
}

/* Hand bytes to the sink until it stops consuming; returns how many it took. */
static size_t feed(const struct reasm_sink *sink, const uint8_t *data, size_t len)
{
	size_t done = 0;
	while (done < len) {
		size_t n = sink->data(sink->arg, data + done, len - done);
		if (n == 0)
			break;
		if (n > len - done)
			n = len - done;
		done += n;
	}
	return done;
}

/* In-order bytes: to the sink, the unconsumed rest kept for the next call. */
static void deliver(struct reasm *r, const struct reasm_env *env, const uint8_t *data,
		    uint32_t len, const struct reasm_sink *sink)
{
	r->delivered += len;
	if (r->pending_len && !pending_reserve(r, env, r->pending_len + len)) {
		/* The sink left more than REASM_PENDING_MAX unconsumed: give up on it. */
		uint32_t dropped = r->pending_len;
		r->pending_len = 0;
		env->stats->tcp.reassembly_dropped_bytes += dropped;
		sink->gap(sink->arg, 0, dropped);
	}
	if (r->pending_len == 0) {
		size_t used = feed(sink, data, len);
		if (used == len)
			return;
		data += used;
		len -= (uint32_t)used;
		if (!pending_reserve(r, env, len)) {
			env->stats->tcp.reassembly_dropped_bytes += len;
			sink->gap(sink->arg, 0, len);
			return;
		}
		memcpy(r->pending, data, len);
		r->pending_len = len;
		return;
	}
	memcpy(r->pending + r->pending_len, data, len);
	r->pending_len += len;
	size_t used = feed(sink, r->pending, r->pending_len);
	if (used == 0)
		return;
	memmove(r->pending, r->pending + used, r->pending_len - used);
	r->pending_len -= (uint32_t)used;
	if (r->pending_len == 0 && r->pending_cap > REASM_PENDING_KEEP)
		pending_release(r, env);
}

void reasm_redeliver(struct reasm *r, const struct reasm_env *env, const struct reasm_sink *sink)
{
	if (r->pending_len == 0)
		return;
	size_t used = feed(sink, r->pending, r->pending_len);
	memmove(r->pending, r->pending + used, r->pending_len - used);
	r->pending_len -= (uint32_t)used;
	if (r->pending_len == 0 && r->pending_cap > REASM_PENDING_KEEP)
		pending_release(r, env);
}

static void seg_free(struct reasm *r, const struct reasm_env *env, struct reasm_seg *s)
{
	r->held_bytes -= s->len;
	account(env, -(int64_t)s->len);
	free(s);
}

/* Deliver held segments that now continue the stream. */
static void deliver_held(struct reasm *r, const struct reasm_env *env,
			 const struct reasm_sink *sink)
{
	while (r->held && SEQ_LEQ(r->held->seq, r->next_seq)) {
		struct reasm_seg *s = r->held;
		r->held = s->next;
		uint32_t end = s->seq + s->len;
		if (SEQ_GT(end, r->next_seq)) {
			uint32_t off = r->next_seq - s->seq;
			uint32_t n = end - r->next_seq;
			r->next_seq = end;
			deliver(r, env, s->data + off, n, sink);
		}
		seg_free(r, env, s);
	}
}

/* Skip the bytes up to `to`: never captured. */
static void skip_to(struct reasm *r, const struct reasm_env *env, uint32_t to,
		    const struct reasm_sink *sink)
{
	uint32_t missing = to - r->next_seq;
	uint32_t unconsumed = r->pending_len;
	reasm_drop_pending(r, env);
	r->missed += missing;
	r->next_seq = to;
	sink->gap(sink->arg, missing, unconsumed);
}

/* Hold the parts of [seq, seq+len) not held yet.  Returns enum reasm_result bits. */
static unsigned hold(struct reasm *r, const struct reasm_env *env, uint32_t seq,
		     const uint8_t *data, uint32_t len)
{
	unsigned res = 0;
	uint32_t cur = seq, end = seq + len;
	struct reasm_seg **pp = &r->held;

	while (SEQ_LT(cur, end)) {
		struct reasm_seg *h = *pp;
		if (h && SEQ_LEQ(h->seq + h->len, cur)) {
			pp = &h->next;
			continue;
		}
		if (h && SEQ_LEQ(h->seq, cur)) {
			/* cur falls inside a held segment: those bytes were seen. */
			res |= REASM_RETRANSMISSION;
			cur = h->seq + h->len;
			pp = &h->next;
			continue;
		}
		uint32_t piece_end = end;
		if (h && SEQ_LT(h->seq, piece_end))
			piece_end = h->seq;
		uint32_t n = piece_end - cur;
		if (h)
			res |= REASM_OUT_OF_ORDER;   /* fills part of a hole before later data */
		struct reasm_seg *s = NULL;
		if (env->stats->memory.reassembly_bytes + n <= env->memcap)
			s = malloc(sizeof(*s) + n);
		if (!s) {
			env->stats->tcp.reassembly_dropped_bytes += n;
			res |= REASM_DROPPED;
		} else {
			s->seq = cur;
			s->len = n;
			memcpy(s->data, data + (cur - seq), n);
			s->next = h;
			*pp = s;
			pp = &s->next;
			r->held_bytes += n;
			account(env, n);
		}
		cur = piece_end;
	}
	return res;
}

unsigned reasm_segment(struct reasm *r, const struct reasm_env *env, uint32_t seq,
		       const uint8_t *data, uint32_t len, const struct reasm_sink *sink)
{
	if (len == 0)
		return REASM_IGNORED;
	if (!r->started) {
		r->next_seq = seq;
		r->started = true;
	}
	/* A keep-alive probe: one old byte, sent to provoke an ACK. */
	if (len == 1 && seq == r->next_seq - 1)
		return REASM_IGNORED;

	uint32_t end = seq + len;
	unsigned res = 0;
	if (SEQ_LEQ(end, r->next_seq))
		return REASM_RETRANSMISSION;
	if (SEQ_LT(seq, r->next_seq)) {
		uint32_t off = r->next_seq - seq;
		data += off;
		len -= off;
		seq = r->next_seq;
		res |= REASM_RETRANSMISSION;
	}
	if (seq == r->next_seq) {
		if (r->held) {
			res |= REASM_OUT_OF_ORDER;
			if (SEQ_LT(r->held->seq, end))
				res |= REASM_RETRANSMISSION;
		}
		r->next_seq = end;
		deliver(r, env, data, len, sink);
		deliver_held(r, env, sink);
		return res;
	}

	res |= hold(r, env, seq, data, len);
	/* The stream moved past the hole: too much waits behind it. */
	while (r->held && r->held_bytes > REASM_HELD_MAX) {
		skip_to(r, env, r->held->seq, sink);
		deliver_held(r, env, sink);
	}
	return res;
}

void reasm_ack(struct reasm *r, const struct reasm_env *env, uint32_t ack,
	       const struct reasm_sink *sink)
{
	if (!r->started)
		return;
	uint32_t limit = ack;
	if (r->fin && SEQ_GT(limit, r->fin_seq))
		limit = r->fin_seq;
	if (SEQ_LEQ(limit, r->next_seq) || limit - r->next_seq > REASM_ACK_SANE)
		return;
	while (SEQ_LT(r->next_seq, limit)) {
		uint32_t to = limit;
		if (r->held && SEQ_LT(r->held->seq, to))
			to = r->held->seq;
		skip_to(r, env, to, sink);
		deliver_held(r, env, sink);
	}
}

void reasm_flush(struct reasm *r, const struct reasm_env *env, const struct reasm_sink *sink)
{
	while (r->held) {
		if (SEQ_LT(r->next_seq, r->held->seq))
			skip_to(r, env, r->held->seq, sink);
		deliver_held(r, env, sink);
	}
	if (r->started && r->fin && SEQ_LT(r->next_seq, r->fin_seq) &&
	    r->fin_seq - r->next_seq <= REASM_ACK_SANE)
		skip_to(r, env, r->fin_seq, sink);
}

void reasm_free(struct reasm *r, const struct reasm_env *env)
{
	while (r->held) {
		struct reasm_seg *s = r->held;
		r->held = s->next;
		seg_free(r, env, s);
	}
	if (r->pending_cap)
		pending_release(r, env);
}
