// SPDX-License-Identifier: MIT
/*
 * One direction of TCP reassembly (see reasm.h).  Memory accounting:
 * stats->memory.reassembly_bytes counts what the held segments and the
 * unconsumed-bytes buffers really take (usable size and the allocator's
 * header, segment headers included); the memcap and tap.memoryLimitMb are
 * checked against it before anything is held.
 */
#include "stream/reasm.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "stream/seq.h"

/*
 * Held out-of-order segments: a splay tree by sequence number.  Every
 * operation costs O(log n) amortised whatever the arrival order, and O(1)
 * amortised for the common patterns (segments arriving in order or in reverse
 * behind a hole, taking the first one again and again): the node last touched
 * sits at the root.  Segments are disjoint; data that continues a held
 * segment is appended to it (with spare capacity, up to REASM_SEG_MERGE_MAX),
 * so a run of small segments in order costs one allocation, not one each.
 */
struct reasm_seg {
	struct reasm_seg *left, *right;
	uint32_t seq, len;
	uint32_t cap;             /* bytes of data[] allocated */
	bool nodata;              /* a range the snaplen cut: on the wire, not captured */
	uint8_t data[];
};

/* A held segment grows by appending up to this size; then a new one starts. */
#define REASM_SEG_MERGE_MAX (16u * 1024)
/* What glibc's malloc adds to each chunk (its size field). */
#define MALLOC_CHUNK_OVERHEAD sizeof(size_t)

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

/* The memory an allocation really takes: its usable size plus the allocator's header. */
static uint64_t real_size(const void *p)
{
	return p ? malloc_usable_size((void *)p) + MALLOC_CHUNK_OVERHEAD : 0;
}

static void pending_release(struct reasm *r, const struct reasm_env *env)
{
	account(env, -(int64_t)real_size(r->pending));
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
	uint64_t before = real_size(r->pending);
	uint8_t *p = realloc(r->pending, cap);
	if (!p)
		return false;
	account(env, (int64_t)real_size(p) - (int64_t)before);
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
		env->stats->tcp.reassembly_dropped_bytes += dropped;
		struct reasm_gap g = { .unconsumed = dropped, .unconsumed_data = r->pending };
		sink->gap(sink->arg, &g);
		r->pending_len = 0;
	}
	if (r->pending_len == 0) {
		size_t used = feed(sink, data, len);
		if (used == len)
			return;
		data += used;
		len -= (uint32_t)used;
		if (!pending_reserve(r, env, len)) {
			env->stats->tcp.reassembly_dropped_bytes += len;
			struct reasm_gap g = { .unconsumed = len, .unconsumed_data = data };
			sink->gap(sink->arg, &g);
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

/* ---- the held splay tree ---- */

/*
 * Top-down splay (Sleator and Tarjan): bring the segment starting at `seq`,
 * or the last one met looking for it (its neighbour in order), to the root.
 * With to_min, the first segment.  Compares only through SEQ_LT.
 */
static struct reasm_seg *splay(struct reasm_seg *t, uint32_t seq, bool to_min)
{
	struct reasm_seg head = { 0 }, *l = &head, *r = &head, *y;

	if (!t)
		return NULL;
	for (;;) {
		if (to_min || SEQ_LT(seq, t->seq)) {
			if (!t->left)
				break;
			if (to_min || SEQ_LT(seq, t->left->seq)) {   /* rotate right */
				y = t->left;
				t->left = y->right;
				y->right = t;
				t = y;
				if (!t->left)
					break;
			}
			r->left = t;                                 /* link right */
			r = t;
			t = t->left;
		} else if (SEQ_LT(t->seq, seq)) {
			if (!t->right)
				break;
			if (SEQ_LT(t->right->seq, seq)) {            /* rotate left */
				y = t->right;
				t->right = y->left;
				y->left = t;
				t = y;
				if (!t->right)
					break;
			}
			l->right = t;                                /* link left */
			l = t;
			t = t->right;
		} else {
			break;
		}
	}
	l->right = t->left;
	r->left = t->right;
	t->left = head.right;
	t->right = head.left;
	return t;
}

static struct reasm_seg *seg_first(struct reasm *r)
{
	r->held = splay(r->held, 0, true);
	return r->held;
}

/* Unlink the first segment. */
static struct reasm_seg *seg_pop_first(struct reasm *r)
{
	struct reasm_seg *s = seg_first(r);
	if (s) {
		r->held = s->right;
		s->right = NULL;
	}
	return s;
}

static struct reasm_seg *seg_rightmost(struct reasm_seg *t)
{
	while (t && t->right)
		t = t->right;
	return t;
}

static struct reasm_seg *seg_leftmost(struct reasm_seg *t)
{
	while (t && t->left)
		t = t->left;
	return t;
}

/*
 * Around `seq`: *before is the last segment starting before it, *next the
 * first segment ending after it (it holds seq, or comes after it).
 */
static void seg_around(struct reasm *r, uint32_t seq, struct reasm_seg **before,
		       struct reasm_seg **next)
{
	struct reasm_seg *t = r->held = splay(r->held, seq, false);
	*before = *next = NULL;
	if (!t)
		return;
	if (SEQ_LT(t->seq, seq)) {
		*before = t;
		*next = SEQ_GT(t->seq + t->len, seq) ? t : seg_leftmost(t->right);
	} else {
		*before = seg_rightmost(t->left);
		*next = *before && SEQ_GT((*before)->seq + (*before)->len, seq) ? *before : t;
	}
}

/* Insert n (nothing held starts at its seq). */
static void seg_insert(struct reasm *r, struct reasm_seg *n)
{
	struct reasm_seg *t = splay(r->held, n->seq, false);
	n->left = n->right = NULL;
	if (t && SEQ_LT(n->seq, t->seq)) {
		n->left = t->left;
		n->right = t;
		t->left = NULL;
	} else if (t) {
		n->right = t->right;
		n->left = t;
		t->right = NULL;
	}
	r->held = n;
}

static void seg_free(struct reasm *r, const struct reasm_env *env, struct reasm_seg *s)
{
	r->held_bytes -= s->len;
	account(env, -(int64_t)real_size(s));
	free(s);
}

/* Skip the bytes up to `to`: never captured, or (truncated) cut by the snaplen. */
static void skip(struct reasm *r, const struct reasm_env *env, uint32_t to, bool truncated,
		 const struct reasm_sink *sink)
{
	struct reasm_gap g = { .seq = r->next_seq, .missing = to - r->next_seq, .truncated = truncated,
			       .unconsumed = r->pending_len, .unconsumed_data = r->pending };
	if (truncated)
		r->truncated += g.missing;
	else
		r->missed += g.missing;
	r->next_seq = to;
	sink->gap(sink->arg, &g);
	reasm_drop_pending(r, env);
}

static void skip_to(struct reasm *r, const struct reasm_env *env, uint32_t to,
		    const struct reasm_sink *sink)
{
	skip(r, env, to, false, sink);
}

/* Deliver held segments that now continue the stream. */
static void deliver_held(struct reasm *r, const struct reasm_env *env,
			 const struct reasm_sink *sink)
{
	struct reasm_seg *s;
	while ((s = seg_first(r)) && SEQ_LEQ(s->seq, r->next_seq)) {
		seg_pop_first(r);
		uint32_t end = s->seq + s->len;
		if (SEQ_GT(end, r->next_seq)) {
			if (s->nodata) {
				skip(r, env, end, true, sink);
			} else {
				uint32_t off = r->next_seq - s->seq;
				uint32_t n = end - r->next_seq;
				r->next_seq = end;
				deliver(r, env, s->data + off, n, sink);
			}
		}
		seg_free(r, env, s);
	}
}

/* Room for `more` bytes of memory: under the memcap and the memory limit. */
static bool may_grow(const struct reasm_env *env, uint64_t more)
{
	if (env->stats->memory.reassembly_bytes + more > env->memcap)
		return false;
	if (!memory_allows(env->stats, more)) {
		env->stats->memory.over_limit++;
		return false;
	}
	return true;
}

/* Append n bytes to held segment p, which ends where they start.  False when it cannot. */
static bool seg_append(struct reasm *r, const struct reasm_env *env, struct reasm_seg *p,
		       const uint8_t *data, uint32_t n)
{
	if (p->cap - p->len < n) {
		if (p->len + n > REASM_SEG_MERGE_MAX)
			return false;
		uint32_t cap = p->cap * 2;
		if (cap < p->len + n)
			cap = p->len + n;
		if (cap > REASM_SEG_MERGE_MAX)
			cap = REASM_SEG_MERGE_MAX;
		uint64_t before = real_size(p);
		if (!may_grow(env, sizeof(*p) + cap + MALLOC_CHUNK_OVERHEAD - before))
			return false;
		r->held = splay(r->held, p->seq, false);   /* p at the root: nothing else points at it */
		struct reasm_seg *q = realloc(p, sizeof(*p) + cap);
		if (!q)
			return false;
		r->held = q;
		q->cap = cap;
		account(env, (int64_t)real_size(q) - (int64_t)before);
		p = q;
	}
	memcpy(p->data + p->len, data, n);
	p->len += n;
	r->held_bytes += n;
	return true;
}

/*
 * Hold [seq, seq+n) (not held yet, not overlapping anything held); data NULL:
 * a range the snaplen cut (no bytes).  False when over a cap.
 */
static bool hold_piece(struct reasm *r, const struct reasm_env *env, uint32_t seq,
		       const uint8_t *data, uint32_t n)
{
	struct reasm_seg *p, *next;
	seg_around(r, seq, &p, &next);
	if (p && p->seq + p->len == seq && p->nodata && !data) {
		p->len += n;
		r->held_bytes += n;
		return true;
	}
	if (p && p->seq + p->len == seq && !p->nodata && data && seg_append(r, env, p, data, n))
		return true;
	uint32_t bytes = data ? n : 0;
	if (!may_grow(env, sizeof(*p) + bytes + MALLOC_CHUNK_OVERHEAD))
		return false;
	struct reasm_seg *s = malloc(sizeof(*s) + bytes);
	if (!s)
		return false;
	*s = (struct reasm_seg){ .seq = seq, .len = n, .cap = bytes, .nodata = !data };
	if (data)
		memcpy(s->data, data, n);
	seg_insert(r, s);
	r->held_bytes += n;
	account(env, (int64_t)real_size(s));
	return true;
}

/* Hold the parts of [seq, seq+len) not held yet (data NULL: cut by the snaplen).
 * Returns enum reasm_result bits. */
static unsigned hold(struct reasm *r, const struct reasm_env *env, uint32_t seq,
		     const uint8_t *data, uint32_t len)
{
	unsigned res = 0;
	uint32_t cur = seq, end = seq + len;

	while (SEQ_LT(cur, end)) {
		struct reasm_seg *before, *h;
		seg_around(r, cur, &before, &h);
		if (h && SEQ_LEQ(h->seq, cur)) {
			/* cur falls inside a held segment: those bytes were seen. */
			res |= REASM_RETRANSMISSION;
			cur = h->seq + h->len;
			continue;
		}
		uint32_t piece_end = end;
		if (h && SEQ_LT(h->seq, piece_end))
			piece_end = h->seq;
		if (h)
			res |= REASM_OUT_OF_ORDER;   /* fills part of a hole before later data */
		uint32_t n = piece_end - cur;
		if (!hold_piece(r, env, cur, data ? data + (cur - seq) : NULL, n)) {
			env->stats->tcp.reassembly_dropped_bytes += n;
			res |= REASM_DROPPED;
		}
		cur = piece_end;
	}
	return res;
}

unsigned reasm_segment(struct reasm *r, const struct reasm_env *env, uint32_t seq,
		       const uint8_t *data, uint32_t len, const struct reasm_sink *sink)
{
	return reasm_segment_wire(r, env, seq, data, len, len, sink);
}

unsigned reasm_segment_wire(struct reasm *r, const struct reasm_env *env, uint32_t seq,
			    const uint8_t *data, uint32_t caplen, uint32_t len,
			    const struct reasm_sink *sink)
{
	if (len == 0)
		return REASM_IGNORED;
	if (caplen > len)
		caplen = len;
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
		uint32_t cut = off < caplen ? off : caplen;
		data += cut;
		caplen -= cut;
		len -= off;
		seq = r->next_seq;
		res |= REASM_RETRANSMISSION;
	}
	if (seq == r->next_seq) {
		if (r->held) {
			res |= REASM_OUT_OF_ORDER;
			if (SEQ_LT(seg_first(r)->seq, end))
				res |= REASM_RETRANSMISSION;
		}
		r->next_seq = seq + caplen;
		if (caplen)
			deliver(r, env, data, caplen, sink);
		if (len > caplen) {
			/* The tail the snaplen cut: skipped now, or held where held
			 * bytes overlap it (the first copy wins). */
			if (!r->held)
				skip(r, env, end, true, sink);
			else if (hold(r, env, seq + caplen, NULL, len - caplen) & REASM_DROPPED)
				res |= REASM_DROPPED;
		}
		deliver_held(r, env, sink);
		return res;
	}

	if (caplen)
		res |= hold(r, env, seq, data, caplen);
	if (len > caplen)
		res |= hold(r, env, seq + caplen, NULL, len - caplen);
	/* The stream moved past the hole: too much waits behind it. */
	while (r->held && r->held_bytes > REASM_HELD_MAX) {
		skip_to(r, env, seg_first(r)->seq, sink);
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
		struct reasm_seg *first = seg_first(r);
		if (first && SEQ_LT(first->seq, to))
			to = first->seq;
		skip_to(r, env, to, sink);
		deliver_held(r, env, sink);
	}
}

void reasm_flush(struct reasm *r, const struct reasm_env *env, const struct reasm_sink *sink)
{
	struct reasm_seg *first;
	while ((first = seg_first(r))) {
		if (SEQ_LT(r->next_seq, first->seq))
			skip_to(r, env, first->seq, sink);
		deliver_held(r, env, sink);
	}
	if (r->started && r->fin && SEQ_LT(r->next_seq, r->fin_seq) &&
	    r->fin_seq - r->next_seq <= REASM_ACK_SANE)
		skip_to(r, env, r->fin_seq, sink);
}

void reasm_free(struct reasm *r, const struct reasm_env *env)
{
	/* Rotate left children up, freeing each root that has none: O(n), no recursion. */
	while (r->held) {
		struct reasm_seg *s = r->held;
		if (s->left) {
			r->held = s->left;
			s->left = r->held->right;
			r->held->right = s;
			continue;
		}
		r->held = s->right;
		seg_free(r, env, s);
	}
	if (r->pending_cap)
		pending_release(r, env);
}
