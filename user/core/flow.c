// SPDX-License-Identifier: MIT
/*
 * Flow table: chained hash buckets that double as the table grows, flows
 * carved from slabs (no malloc per flow once warm), and an LRU list whose
 * tail is the least recently active flow, for eviction and idle checks.
 */
#include "core/flow.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/decode.h"
#include "core/hash.h"
#include "report/stats.h"

#define SLAB_FLOWS 256
#define MIN_BUCKETS 1024

/* A slab holds SLAB_FLOWS flows of t->stride bytes: struct flow, then the storage areas. */
struct flow_slab {
	struct flow_slab *next;
	uint64_t mem[];
};

struct flow_table {
	struct flow **buckets;
	uint32_t n_buckets;          /* power of two */
	uint32_t count, max;
	struct flow *lru_head, *lru_tail;
	struct flow *timer_head, *timer_tail;
	struct flow *free_list;
	struct flow_slab *slabs;
	size_t stride;               /* bytes per flow: struct flow and every storage area */
	struct fl_stats *stats;
	flow_release_fn release;
	void *release_ctx;
	uint64_t seq;                /* the pipeline's packet sequence number (flow_table_set_seq) */
	int order_slot;              /* flow_table_keep_order: storage of lru and timer seq; -1: none */
};

static void update_memory(struct flow_table *t)
{
	if (!t->stats)
		return;
	uint64_t slabs = 0;
	for (struct flow_slab *s = t->slabs; s; s = s->next)
		slabs++;
	t->stats->memory.flow_bytes = slabs * (sizeof(struct flow_slab) + SLAB_FLOWS * t->stride) +
				      (uint64_t)t->n_buckets * sizeof(struct flow *);
	t->stats->flows.active = t->count;
}

static size_t align_up(size_t n)
{
	size_t a = _Alignof(uint64_t);   /* storage holds pointers and 64-bit counters */
	return (n + a - 1) / a * a;
}

int flow_storage_register(struct flow_table *t, size_t size)
{
	if (t->slabs || !size || t->stride + align_up(size) > UINT16_MAX) {
		errno = t->slabs ? EBUSY : EINVAL;
		return -1;
	}
	size_t at = t->stride;
	t->stride += align_up(size);
	return (int)at;
}

struct flow_table *flow_table_new(uint32_t max_flows, struct fl_stats *stats,
				  flow_release_fn release, void *ctx)
{
	struct flow_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->n_buckets = MIN_BUCKETS;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->max = max_flows ? max_flows : 1;
	t->stride = align_up(sizeof(struct flow));
	t->order_slot = -1;
	t->stats = stats;
	t->release = release;
	t->release_ctx = ctx;
	update_memory(t);
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	while (t->lru_tail)
		flow_remove(t, t->lru_tail);
	for (struct flow_slab *s = t->slabs, *n; s; s = n) {
		n = s->next;
		free(s);
	}
	free(t->buckets);
	free(t);
}

/* Build the canonical key; *swapped tells whether (src, sport) is side 1. */
static void make_key(struct flow_key *k, const struct fl_addr *src, uint16_t sport,
		     const struct fl_addr *dst, uint16_t dport, uint8_t proto, bool *swapped)
{
	int c = addr_compare(src, dst);
	*swapped = c > 0 || (c == 0 && sport > dport);
	memset(k, 0, sizeof(*k));
	k->addr[0] = *swapped ? *dst : *src;
	k->addr[1] = *swapped ? *src : *dst;
	k->port[0] = *swapped ? dport : sport;
	k->port[1] = *swapped ? sport : dport;
	k->proto = proto;
}

static uint32_t key_hash(const struct flow_key *k)
{
	uint64_t words[5];
	memcpy(&words[0], k->addr[0].bytes, 8);
	memcpy(&words[1], k->addr[0].bytes + 8, 8);
	memcpy(&words[2], k->addr[1].bytes, 8);
	memcpy(&words[3], k->addr[1].bytes + 8, 8);
	words[4] = (uint64_t)k->port[0] << 32 | (uint64_t)k->port[1] << 16 | k->proto;
	/* One multiply per word to combine, one full mix to finish (was a mix per word). */
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 5; i++)
		h = ((h << 5 | h >> 59) ^ words[i]) * 0x517cc1b727220a95ull;
	return (uint32_t)mix64(h);
}

static bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
	return a->proto == b->proto && a->port[0] == b->port[0] && a->port[1] == b->port[1] &&
	       addr_equal(&a->addr[0], &b->addr[0]) && addr_equal(&a->addr[1], &b->addr[1]);
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

/* Which packet last moved f to the LRU head (which 0) or set its timer (which 1). */
static void stamp_order(const struct flow_table *t, struct flow *f, int which)
{
	if (t->order_slot >= 0)
		((uint64_t *)flow_storage(f, t->order_slot))[which] = t->seq;
}

int flow_table_keep_order(struct flow_table *t)
{
	int slot = flow_storage_register(t, 2 * sizeof(uint64_t));
	if (slot < 0)
		return -1;
	t->order_slot = slot;
	return 0;
}

uint64_t flow_lru_seq(const struct flow_table *t, const struct flow *f)
{
	return t->order_slot >= 0 ? ((const uint64_t *)flow_storage(f, t->order_slot))[0] : 0;
}

uint64_t flow_timer_seq(const struct flow_table *t, const struct flow *f)
{
	return t->order_slot >= 0 ? ((const uint64_t *)flow_storage(f, t->order_slot))[1] : 0;
}

static void lru_push_head(struct flow_table *t, struct flow *f)
{
	stamp_order(t, f, 0);
	f->lru_prev = NULL;
	f->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = f;
	t->lru_head = f;
	if (!t->lru_tail)
		t->lru_tail = f;
}

static struct flow **bucket_of(struct flow_table *t, const struct flow_key *k)
{
	return &t->buckets[key_hash(k) & (t->n_buckets - 1)];
}

static void grow_buckets(struct flow_table *t)
{
	uint32_t n = t->n_buckets * 2;
	struct flow **nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;             /* keep the longer chains; still correct */
	for (uint32_t i = 0; i < t->n_buckets; i++) {
		for (struct flow *f = t->buckets[i], *next; f; f = next) {
			next = f->hash_next;
			struct flow **b = &nb[key_hash(&f->key) & (n - 1)];
			f->hash_next = *b;
			*b = f;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->n_buckets = n;
	update_memory(t);
}

static struct flow *flow_alloc(struct flow_table *t)
{
	if (!t->free_list) {
		struct flow_slab *s = malloc(sizeof(*s) + SLAB_FLOWS * t->stride);
		if (!s)
			return NULL;
		s->next = t->slabs;
		t->slabs = s;
		for (int i = SLAB_FLOWS - 1; i >= 0; i--) {
			struct flow *f = (struct flow *)((char *)s->mem + (size_t)i * t->stride);
			f->hash_next = t->free_list;
			t->free_list = f;
		}
		update_memory(t);
	}
	struct flow *f = t->free_list;
	t->free_list = f->hash_next;
	memset(f, 0, t->stride);
	return f;
}

static void timer_unlink(struct flow_table *t, struct flow *f)
{
	if (!f->timer_ns)
		return;
	if (f->timer_prev)
		f->timer_prev->timer_next = f->timer_next;
	else
		t->timer_head = f->timer_next;
	if (f->timer_next)
		f->timer_next->timer_prev = f->timer_prev;
	else
		t->timer_tail = f->timer_prev;
	f->timer_prev = f->timer_next = NULL;
	f->timer_ns = 0;
}

void flow_timer_set(struct flow_table *t, struct flow *f, uint64_t due_ns)
{
	if (f->timer_ns == due_ns)
		return;
	timer_unlink(t, f);
	if (!due_ns)
		return;
	f->timer_ns = due_ns;
	stamp_order(t, f, 1);
	struct flow *after = t->timer_tail;
	while (after && after->timer_ns > due_ns)
		after = after->timer_prev;
	f->timer_prev = after;
	f->timer_next = after ? after->timer_next : t->timer_head;
	if (f->timer_next)
		f->timer_next->timer_prev = f;
	else
		t->timer_tail = f;
	if (after)
		after->timer_next = f;
	else
		t->timer_head = f;
}

void flow_table_set_seq(struct flow_table *t, uint64_t seq)
{
	t->seq = seq;
}

struct flow *flow_timer_first(struct flow_table *t)
{
	return t->timer_head;
}

static void flow_drop(struct flow_table *t, struct flow *f, bool evicted)
{
	if (t->release)
		t->release(t->release_ctx, f, evicted);
	timer_unlink(t, f);
	struct flow **pp = bucket_of(t, &f->key);
	while (*pp && *pp != f)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = f->hash_next;
	lru_unlink(t, f);
	f->hash_next = t->free_list;
	t->free_list = f;
	t->count--;
	if (t->stats)
		t->stats->flows.active = t->count;
}

void flow_remove(struct flow_table *t, struct flow *f)
{
	flow_drop(t, f, false);
}

static struct flow *find(struct flow_table *t, const struct flow_key *k)
{
	for (struct flow *f = *bucket_of(t, k); f; f = f->hash_next)
		if (key_equal(&f->key, k))
			return f;
	return NULL;
}

struct flow *flow_find(struct flow_table *t, const struct fl_addr *src, uint16_t sport,
		       const struct fl_addr *dst, uint16_t dport, uint8_t proto, int *dir)
{
	struct flow_key k;
	bool swapped;
	make_key(&k, src, sport, dst, dport, proto, &swapped);
	*dir = swapped ? 1 : 0;
	return find(t, &k);
}

struct flow *flow_lookup(struct flow_table *t, const struct fl_addr *src, uint16_t sport,
			 const struct fl_addr *dst, uint16_t dport, uint8_t proto,
			 uint64_t ts_ns, bool create, int *dir)
{
	struct flow_key k;
	bool swapped;
	make_key(&k, src, sport, dst, dport, proto, &swapped);
	*dir = swapped ? 1 : 0;
	struct flow *f = find(t, &k);
	if (f) {
		if (t->lru_head != f) {
			lru_unlink(t, f);
			lru_push_head(t, f);
		}
		if (ts_ns > f->last_ts_ns)
			f->last_ts_ns = ts_ns;
		return f;
	}
	if (!create)
		return NULL;
	/* The buckets grow first, so the slab check below sees the memory they take. */
	if (t->count >= t->n_buckets &&
	    (!t->stats || memory_allows(t->stats, (uint64_t)t->n_buckets * sizeof(struct flow *))))
		grow_buckets(t);
	/* Full, or a new slab would pass tap.memoryLimitMb: reuse the least recently active flow. */
	bool over_limit = !t->free_list && t->lru_tail && t->stats &&
			  !memory_allows(t->stats, sizeof(struct flow_slab) + SLAB_FLOWS * t->stride);
	if ((t->count >= t->max || over_limit) && t->lru_tail) {
		if (t->stats) {
			t->stats->flows.evicted++;
			t->stats->memory.over_limit += over_limit && t->count < t->max;
		}
		flow_drop(t, t->lru_tail, true);
	}
	f = flow_alloc(t);
	if (!f)
		return NULL;
	f->key = k;
	f->first_ts_ns = f->last_ts_ns = ts_ns;
	struct flow **b = bucket_of(t, &k);
	f->hash_next = *b;
	*b = f;
	lru_push_head(t, f);
	t->count++;
	if (t->stats) {
		t->stats->flows.active = t->count;
		if (proto == FL_IPPROTO_TCP)
			t->stats->flows.tcp++;
		else if (proto == FL_IPPROTO_UDP)
			t->stats->flows.udp++;
	}
	return f;
}

void flow_keep(struct flow_table *t, struct flow *f, uint64_t now_ns)
{
	f->kept_ns = now_ns;
	lru_unlink(t, f);
	lru_push_head(t, f);
}

struct flow *flow_oldest(struct flow_table *t)
{
	return t->lru_tail;
}

uint32_t flow_count(const struct flow_table *t)
{
	return t->count;
}
