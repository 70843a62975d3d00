// SPDX-License-Identifier: MIT
/*
 * IP fragment reassembly (contract in defrag.h).  Datagrams in progress hang
 * off a fixed hash table and one list in arrival order of their first
 * fragment, which is also timeout order.  Each keeps the byte ranges it
 * holds, one per fragment, sorted by offset, so duplicates, overlaps and
 * completion are decided on ranges and the bytes are copied once.
 */
#include "core/defrag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/stats.h"

#define HASH_BUCKETS 4096
#define MAX_RANGES 64            /* fragments per datagram (Linux has 64K; real ones have < 50) */
#define HDR_ROOM 60              /* the largest IPv4 header, written in front of the data */
#define MAX_DATAGRAM 65535u
#define RECENT 64                /* outcomes remembered for ICMP errors that come later */

struct frag_key {
	struct fl_addr src, dst;
	uint32_t id;
	uint32_t tunnel_id;          /* the innermost tunnel's id: overlays reuse addresses */
	uint8_t version, proto, depth;
};

struct range {
	uint32_t start, end;         /* datagram bytes [start, end) */
};

struct datagram {
	struct frag_key key;
	struct datagram *hash_next;
	struct datagram *prev, *next;   /* arrival order */
	uint64_t first_ts_ns;
	uint32_t total;              /* datagram length, known once the last fragment came */
	bool has_total, has_first;
	uint8_t hdr[HDR_ROOM];       /* the first fragment's IP header */
	uint32_t hdr_len;
	uint8_t *buf;                /* HDR_ROOM bytes, then the datagram's bytes by offset */
	uint32_t cap;
	uint32_t n_fragments;
	uint16_t n_ranges;
	struct range ranges[MAX_RANGES];
};

struct recent {
	struct frag_key key;
	struct defrag_match m;
};

struct defrag {
	uint64_t memcap, timeout_ns;
	struct defrag_counters *c;
	const struct fl_stats *budget;   /* tap.memoryLimitMb, or NULL */
	uint64_t *over_limit;
	struct datagram *buckets[HASH_BUCKETS];
	struct datagram *oldest, *newest;
	struct datagram *done;       /* the datagram handed out last; freed on the next call */
	struct recent recent[RECENT];
	unsigned n_recent, next_recent;
};

struct defrag *defrag_new(uint64_t memcap_bytes, uint64_t timeout_ns, struct defrag_counters *c)
{
	struct defrag *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->memcap = memcap_bytes;
	t->timeout_ns = timeout_ns;
	t->c = c;
	return t;
}

void defrag_set_budget(struct defrag *t, const struct fl_stats *stats, uint64_t *over_limit)
{
	t->budget = stats;
	t->over_limit = over_limit;
}

/* Room for `need` more bytes under the memcap and the memory budget. */
static bool fits(const struct defrag *t, uint64_t need)
{
	return t->c->bytes + need <= t->memcap && (!t->budget || memory_allows(t->budget, need));
}

static void key_of(const struct decoded *d, uint8_t proto, uint32_t id, struct frag_key *k)
{
	memset(k, 0, sizeof(*k));
	k->src = d->src;
	k->dst = d->dst;
	k->id = id;
	k->version = d->ip_version;
	k->proto = d->ip_version == 4 ? proto : 0;   /* IPv6 keys on addresses and id only */
	k->depth = d->n_tunnels;
	if (d->n_tunnels)
		k->tunnel_id = d->tunnels[d->n_tunnels - 1].id;
}

static bool key_equal(const struct frag_key *a, const struct frag_key *b)
{
	return a->id == b->id && a->version == b->version && a->proto == b->proto &&
	       a->depth == b->depth && a->tunnel_id == b->tunnel_id &&
	       addr_equal(&a->src, &b->src) && addr_equal(&a->dst, &b->dst);
}

static uint32_t key_hash(const struct frag_key *k)
{
	uint32_t h = 2166136261u;   /* FNV-1a over the fields that vary */
	const uint8_t *parts[2] = { k->src.bytes, k->dst.bytes };
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < 16; i++)
			h = (h ^ parts[p][i]) * 16777619u;
	h = (h ^ k->id) * 16777619u;
	h = (h ^ k->tunnel_id) * 16777619u;
	return (h ^ k->proto) % HASH_BUCKETS;
}

static uint64_t datagram_bytes(const struct datagram *g)
{
	return sizeof(*g) + g->cap;
}

static void remember(struct defrag *t, const struct datagram *g, enum defrag_outcome o)
{
	struct recent *r = &t->recent[t->next_recent];
	uint32_t bytes = 0;
	for (unsigned i = 0; i < g->n_ranges; i++)
		bytes += g->ranges[i].end - g->ranges[i].start;
	r->key = g->key;
	r->m = (struct defrag_match){ .outcome = o, .fragments = g->n_fragments, .bytes = bytes,
				      .first_ts_ns = g->first_ts_ns };
	t->next_recent = (t->next_recent + 1) % RECENT;
	if (t->n_recent < RECENT)
		t->n_recent++;
}

static void unlink_datagram(struct defrag *t, struct datagram *g)
{
	struct datagram **pp = &t->buckets[key_hash(&g->key)];
	while (*pp && *pp != g)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = g->hash_next;
	if (g->prev)
		g->prev->next = g->next;
	else
		t->oldest = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		t->newest = g->prev;
	g->prev = g->next = g->hash_next = NULL;
}

static void free_datagram(struct defrag *t, struct datagram *g)
{
	t->c->bytes -= datagram_bytes(g);
	free(g->buf);
	free(g);
}

static void drop_fragments(struct defrag *t, enum defrag_drop_reason r, uint64_t n)
{
	t->c->dropped += n;
	t->c->dropped_by[r] += n;
}

/* End a datagram that will not complete: its fragments are dropped for `r`. */
static void kill_datagram(struct defrag *t, struct datagram *g, enum defrag_drop_reason r)
{
	unlink_datagram(t, g);
	remember(t, g, DEFRAG_DROPPED);
	drop_fragments(t, r, g->n_fragments);
	free_datagram(t, g);
}

static void release_done(struct defrag *t)
{
	if (t->done) {
		free_datagram(t, t->done);
		t->done = NULL;
	}
}

void defrag_free(struct defrag *t)
{
	if (!t)
		return;
	release_done(t);
	while (t->oldest) {
		struct datagram *g = t->oldest;
		unlink_datagram(t, g);
		free_datagram(t, g);
	}
	free(t);
}

static struct datagram *find(struct defrag *t, const struct frag_key *k)
{
	for (struct datagram *g = t->buckets[key_hash(k)]; g; g = g->hash_next)
		if (key_equal(&g->key, k))
			return g;
	return NULL;
}

/* Make room for `need` more bytes, evicting the oldest datagrams but `keep`. */
static bool reserve(struct defrag *t, uint64_t need, const struct datagram *keep)
{
	while (!fits(t, need)) {
		struct datagram *g = t->oldest;
		if (g && g == keep)
			g = g->next;
		if (!g)
			return false;
		if (t->over_limit && t->c->bytes + need <= t->memcap)
			(*t->over_limit)++;     /* the budget, not the memcap, pushed it out */
		kill_datagram(t, g, DEFRAG_DROP_MEMCAP);
	}
	return true;
}

static bool grow(struct defrag *t, struct datagram *g, uint32_t end)
{
	uint32_t need = HDR_ROOM + end;
	if (need <= g->cap)
		return true;
	uint32_t cap = g->cap ? g->cap : 2048;
	while (cap < need)
		cap *= 2;
	if (cap > HDR_ROOM + MAX_DATAGRAM)
		cap = HDR_ROOM + MAX_DATAGRAM;
	if (!reserve(t, cap - g->cap, g))
		return false;
	uint8_t *buf = realloc(g->buf, cap);
	if (!buf)
		return false;
	t->c->bytes += cap - g->cap;
	g->buf = buf;
	g->cap = cap;
	return true;
}

/* The transport header a first fragment must hold (RFC 1858 for TCP, RFC 7112 for IPv6). */
static uint32_t min_first_fragment(uint8_t proto)
{
	switch (proto) {
	case FL_IPPROTO_TCP: return 20;
	case FL_IPPROTO_UDP:
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6: return 8;
	default: return 0;
	}
}

static bool complete(const struct datagram *g)
{
	if (!g->has_total || !g->has_first)
		return false;
	uint32_t covered = 0;
	for (unsigned i = 0; i < g->n_ranges; i++) {
		if (g->ranges[i].start > covered)
			return false;
		if (g->ranges[i].end > covered)
			covered = g->ranges[i].end;
	}
	return covered >= g->total;
}

static bool insert_range(struct datagram *g, uint32_t start, uint32_t end)
{
	if (g->n_ranges == MAX_RANGES)
		return false;
	unsigned i = g->n_ranges;
	while (i > 0 && g->ranges[i - 1].start > start) {
		g->ranges[i] = g->ranges[i - 1];
		i--;
	}
	g->ranges[i] = (struct range){ start, end };
	g->n_ranges++;
	return true;
}

/* Build the whole IP packet in front of the data: the first fragment's header, fixed up. */
static const uint8_t *assemble(struct datagram *g, uint32_t *len)
{
	uint8_t *ip = g->buf + HDR_ROOM - g->hdr_len;
	memcpy(ip, g->hdr, g->hdr_len);
	if (g->key.version == 4) {
		uint32_t total = g->hdr_len + g->total;
		ip[2] = (uint8_t)(total >> 8);
		ip[3] = (uint8_t)total;
		ip[6] &= 0x40;           /* keep DF; no MF, offset 0 */
		ip[7] = 0;
	} else {
		ip[4] = (uint8_t)(g->total >> 8);
		ip[5] = (uint8_t)g->total;
	}
	*len = g->hdr_len + g->total;
	return ip;
}

bool defrag_add(struct defrag *t, const struct decoded *d, uint64_t ts_ns,
		const uint8_t **ip, uint32_t *len, uint64_t *first_ts_ns)
{
	const struct fl_fragment *f = &d->frag;
	uint32_t start = f->offset, end = f->offset + f->data_len;

	release_done(t);
	t->c->fragments++;
	if (f->data_caplen < f->data_len) {
		drop_fragments(t, DEFRAG_DROP_TRUNCATED, 1);
		return false;
	}
	if (end > MAX_DATAGRAM - (d->ip_version == 4 ? f->ip_hdr_len : 0)) {
		drop_fragments(t, DEFRAG_DROP_TOO_FAR, 1);
		return false;
	}
	if ((start == 0 && f->more && f->data_len < min_first_fragment(f->proto)) ||
	    (d->ip_version == 4 && f->proto == FL_IPPROTO_TCP && start == 8)) {
		drop_fragments(t, DEFRAG_DROP_TINY, 1);
		return false;
	}
	if (f->more && (f->data_len == 0 || f->data_len % 8)) {
		drop_fragments(t, DEFRAG_DROP_INVALID, 1);
		return false;
	}

	struct frag_key k;
	key_of(d, f->proto, f->id, &k);
	struct datagram *g = find(t, &k);
	if (!g) {
		if (!reserve(t, sizeof(*g), NULL)) {
			drop_fragments(t, DEFRAG_DROP_MEMCAP, 1);
			return false;
		}
		g = calloc(1, sizeof(*g));
		if (!g) {
			drop_fragments(t, DEFRAG_DROP_MEMCAP, 1);
			return false;
		}
		g->key = k;
		g->first_ts_ns = ts_ns;
		t->c->bytes += sizeof(*g);
		uint32_t b = key_hash(&k);
		g->hash_next = t->buckets[b];
		t->buckets[b] = g;
		g->prev = t->newest;
		if (t->newest)
			t->newest->next = g;
		else
			t->oldest = g;
		t->newest = g;
	}

	/* The last fragment fixes the length; nothing may end past it. */
	if (!f->more) {
		if ((g->has_total && end != g->total) ||
		    (g->n_ranges && g->ranges[g->n_ranges - 1].end > end)) {
			drop_fragments(t, DEFRAG_DROP_INVALID, 1);
			kill_datagram(t, g, DEFRAG_DROP_INVALID);
			return false;
		}
	} else if (g->has_total && end > g->total) {
		drop_fragments(t, DEFRAG_DROP_INVALID, 1);
		kill_datagram(t, g, DEFRAG_DROP_INVALID);
		return false;
	}
	for (unsigned i = 0; i < g->n_ranges; i++) {
		if (g->ranges[i].start == start && g->ranges[i].end == end) {
			drop_fragments(t, DEFRAG_DROP_DUPLICATE, 1);
			return false;
		}
	}
	bool overlaps = false;
	for (unsigned i = 0; i < g->n_ranges && !overlaps; i++)
		overlaps = g->ranges[i].start < end && start < g->ranges[i].end;
	if (overlaps && d->ip_version == 6) {
		drop_fragments(t, DEFRAG_DROP_OVERLAP, 1);
		kill_datagram(t, g, DEFRAG_DROP_OVERLAP);
		return false;
	}
	if (!grow(t, g, end)) {
		drop_fragments(t, DEFRAG_DROP_MEMCAP, 1);
		return false;
	}

	if (!overlaps) {
		if (!insert_range(g, start, end)) {
			drop_fragments(t, DEFRAG_DROP_TOO_MANY, 1);
			kill_datagram(t, g, DEFRAG_DROP_TOO_MANY);
			return false;
		}
		memcpy(g->buf + HDR_ROOM + start, f->data, f->data_len);
	} else {
		/* IPv4 first-wins: copy only the gaps between the ranges already held. */
		t->c->overlaps++;
		struct range held[MAX_RANGES];
		unsigned n = g->n_ranges;
		memcpy(held, g->ranges, n * sizeof(held[0]));
		uint32_t at = start;
		for (unsigned i = 0; i <= n && at < end; i++) {
			uint32_t gap_end = i < n ? held[i].start : end;
			if (gap_end > end)
				gap_end = end;
			if (gap_end > at) {
				if (!insert_range(g, at, gap_end)) {
					drop_fragments(t, DEFRAG_DROP_TOO_MANY, 1);
					kill_datagram(t, g, DEFRAG_DROP_TOO_MANY);
					return false;
				}
				memcpy(g->buf + HDR_ROOM + at, f->data + (at - start), gap_end - at);
			}
			if (i < n && held[i].end > at)
				at = held[i].end;
		}
	}
	g->n_fragments++;
	if (!f->more) {
		g->has_total = true;
		g->total = end;
	}
	if (start == 0) {
		g->has_first = true;
		g->hdr_len = f->ip_hdr_len;
		memcpy(g->hdr, f->ip_hdr, f->ip_hdr_len);
		if (d->ip_version == 6)
			g->hdr[6] = f->proto;    /* the fragment header goes: next header is the payload's */
	}
	if (!complete(g))
		return false;

	unlink_datagram(t, g);
	remember(t, g, DEFRAG_REASSEMBLED);
	t->c->reassembled++;
	t->done = g;
	*ip = assemble(g, len);
	*first_ts_ns = g->first_ts_ns;
	return true;
}

bool defrag_first_bytes(struct defrag *t, const struct decoded *d, uint8_t *out, uint32_t n)
{
	struct frag_key k;
	key_of(d, d->frag.proto, d->frag.id, &k);
	struct datagram *g = find(t, &k);
	if (!g || !g->n_ranges || g->ranges[0].start != 0 || g->ranges[0].end < n)
		return false;
	memcpy(out, g->buf + HDR_ROOM, n);
	return true;
}

void defrag_expire(struct defrag *t, uint64_t now_ns)
{
	struct datagram *g;
	while ((g = t->oldest) && now_ns > g->first_ts_ns && now_ns - g->first_ts_ns >= t->timeout_ns) {
		unlink_datagram(t, g);
		remember(t, g, DEFRAG_TIMED_OUT);
		t->c->timeouts++;
		free_datagram(t, g);
	}
}

void defrag_finish(struct defrag *t)
{
	release_done(t);
	while (t->oldest)
		kill_datagram(t, t->oldest, DEFRAG_DROP_CAPTURE_END);
}

bool defrag_lookup(struct defrag *t, const struct decoded *q, bool give_up,
		   struct defrag_match *m)
{
	if (!q->is_fragment)
		return false;
	struct frag_key k;
	key_of(q, q->frag.proto, q->frag.id, &k);
	k.depth = 0;                 /* a quote carries no tunnel */
	k.tunnel_id = 0;
	struct datagram *g = find(t, &k);
	if (g) {
		uint32_t bytes = 0;
		for (unsigned i = 0; i < g->n_ranges; i++)
			bytes += g->ranges[i].end - g->ranges[i].start;
		*m = (struct defrag_match){ .outcome = DEFRAG_PENDING, .fragments = g->n_fragments,
					    .bytes = bytes, .first_ts_ns = g->first_ts_ns };
		if (give_up) {
			unlink_datagram(t, g);
			remember(t, g, DEFRAG_TIMED_OUT);
			t->c->timeouts++;
			free_datagram(t, g);
			m->outcome = DEFRAG_TIMED_OUT;
		}
		return true;
	}
	for (unsigned i = 0; i < t->n_recent; i++) {
		/* newest first: the same id may have been reused */
		unsigned at = (t->next_recent + RECENT - 1 - i) % RECENT;
		if (key_equal(&t->recent[at].key, &k)) {
			*m = t->recent[at].m;
			return true;
		}
	}
	return false;
}
