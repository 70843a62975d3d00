/* SPDX-License-Identifier: MIT */
/*
 * A bounded single-producer single-consumer ring of variable-size records
 * (--workers: packets to a worker, entries back).  One allocation when made;
 * a record is reserved in place, written, then committed (a release store);
 * the consumer peeks (an acquire load), reads in place and pops.  Records are
 * 8-byte aligned and never wrap: the end of the buffer is padded instead.
 */
#ifndef FL_SPSC_H
#define FL_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct spsc_rec {
	uint32_t len;      /* payload bytes */
	uint32_t type;     /* 0: padding to the end of the buffer */
};

struct spsc {
	_Alignas(64) _Atomic uint64_t head;   /* written by the producer */
	uint64_t tail_seen;                   /* producer's copy of tail */
	uint64_t pending;                     /* producer: reserved, not committed */
	_Alignas(64) _Atomic uint64_t tail;   /* written by the consumer */
	uint64_t head_seen;                   /* consumer's copy of head */
	_Alignas(64) uint8_t *buf;
	uint64_t cap;                         /* power of two */
};

static inline int spsc_init(struct spsc *r, uint64_t cap)
{
	memset(r, 0, sizeof(*r));
	r->buf = aligned_alloc(64, cap);
	r->cap = cap;
	return r->buf ? 0 : -1;
}

static inline void spsc_free(struct spsc *r)
{
	free(r->buf);
	r->buf = NULL;
}

static inline uint64_t spsc_rec_size(uint32_t len)
{
	return (sizeof(struct spsc_rec) + len + 7) & ~7ull;
}

/* Room for a record of `len` bytes: its payload, or NULL when full (or too big). */
static inline void *spsc_reserve(struct spsc *r, uint32_t len, uint32_t type)
{
	uint64_t need = spsc_rec_size(len);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t off = head & (r->cap - 1);
	uint64_t pad = off + need > r->cap ? r->cap - off : 0;
	if (need + pad > r->cap / 2)
		return NULL;
	if (head + pad + need - r->tail_seen > r->cap) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + pad + need - r->tail_seen > r->cap)
			return NULL;
	}
	if (pad) {
		struct spsc_rec *p = (struct spsc_rec *)(r->buf + off);
		p->len = (uint32_t)(pad - sizeof(*p));
		p->type = 0;
		head += pad;
		off = 0;
	}
	struct spsc_rec *rec = (struct spsc_rec *)(r->buf + off);
	rec->len = len;
	rec->type = type;
	r->pending = head + need;
	return rec + 1;
}

static inline void spsc_commit(struct spsc *r)
{
	atomic_store_explicit(&r->head, r->pending, memory_order_release);
}

/* The next record (its type in *type, its length in *len), or NULL when empty. */
static inline const void *spsc_peek(struct spsc *r, uint32_t *type, uint32_t *len)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	for (;;) {
		if (tail == r->head_seen) {
			r->head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
			if (tail == r->head_seen)
				return NULL;
		}
		const struct spsc_rec *rec = (const struct spsc_rec *)(r->buf + (tail & (r->cap - 1)));
		if (rec->type) {
			*type = rec->type;
			*len = rec->len;
			return rec + 1;
		}
		tail += spsc_rec_size(rec->len);     /* padding */
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
}

static inline void spsc_pop(struct spsc *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	const struct spsc_rec *rec = (const struct spsc_rec *)(r->buf + (tail & (r->cap - 1)));
	atomic_store_explicit(&r->tail, tail + spsc_rec_size(rec->len), memory_order_release);
}

#endif
