// SPDX-License-Identifier: MIT
#include "core/dedup.h"

#include <stdlib.h>
#include <string.h>

#include "report/stats.h"

struct dedup_entry {
	uint64_t key;       /* 0: empty */
	uint64_t ts_ns;     /* when the first copy was seen (refreshed by a retransmission) */
	uint64_t iface;     /* where */
};

struct dedup {
	struct fl_stats *stats;
	struct dedup_entry *t;   /* allocated at the first packet */
	uint32_t mask;           /* buckets - 1 (two entries a bucket) */
	uint32_t slots;
	uint64_t window_ns;
	bool refused;            /* the memory budget said no: off */
	bool active;             /* copies can be: keys are taken */
	bool seen;               /* first_iface is set */
	uint64_t first_iface;    /* the interface of the first packet (inactive) */
};

struct dedup *dedup_new(struct fl_stats *stats, uint32_t slots, uint64_t window_ns)
{
	struct dedup *dd = calloc(1, sizeof(*dd));

	if (!dd)
		return NULL;
	if (slots < 2 || (slots & (slots - 1)))
		slots = DEDUP_SLOTS;
	dd->stats = stats;
	dd->slots = slots;
	dd->mask = slots / 2 - 1;
	dd->window_ns = window_ns;
	return dd;
}

void dedup_free(struct dedup *dd)
{
	if (!dd)
		return;
	if (dd->t)
		dd->stats->memory.dedup_bytes -= (uint64_t)dd->slots * sizeof(*dd->t);
	free(dd->t);
	free(dd);
}

static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v * 0x9e3779b97f4a7c15ull;
	h = (h << 27 | h >> 37) * 0xbf58476d1ce4e5b9ull;
	return h;
}

/* Bytes, 8 at a time (n at most DEDUP_BYTES). */
static uint64_t mix_bytes(uint64_t h, const uint8_t *p, uint32_t n)
{
	uint64_t v;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		h = mix(h, v);
	}
	if (n) {
		v = 0;
		memcpy(&v, p, n);
		h = mix(h, v ^ (uint64_t)n << 56);
	}
	return h;
}

#define DEDUP_BYTES 96u   /* of the L4 header and payload: headers, options, the start of the data */

uint64_t dedup_key(const struct decoded *d, enum decode_result r)
{
	uint64_t h = 0x51ed27a1u;

	if (r != DECODE_OK && r != DECODE_FRAGMENT)
		return 0;
	h = mix_bytes(h, d->src.bytes, sizeof(d->src.bytes));
	h = mix_bytes(h, d->dst.bytes, sizeof(d->dst.bytes));
	h = mix(h, (uint64_t)d->ip_version << 56 | (uint64_t)d->ip_id << 16 | d->l4proto);
	if (r == DECODE_FRAGMENT) {
		const struct fl_fragment *f = &d->frag;
		h = mix(h, (uint64_t)f->id << 32 | f->offset | (uint64_t)f->more << 31);
		h = mix(h, f->data_len);
		h = mix_bytes(h, f->data, f->data_caplen < DEDUP_BYTES ? f->data_caplen : DEDUP_BYTES);
	} else if (d->fragment) {
		return 0;        /* decoded without its L4 header: nothing to tell copies by */
	} else {
		h = mix(h, (uint64_t)d->payload_len << 32 | d->l4_caplen);
		h = mix_bytes(h, d->l4, d->l4_caplen < DEDUP_BYTES ? d->l4_caplen : DEDUP_BYTES);
	}
	return h ? h : 1;
}

static bool table(struct dedup *dd)
{
	uint64_t bytes = (uint64_t)dd->slots * sizeof(*dd->t);

	if (dd->t)
		return true;
	if (dd->refused)
		return false;
	if (!memory_allows(dd->stats, bytes) || !(dd->t = calloc(dd->slots, sizeof(*dd->t)))) {
		dd->refused = true;
		dd->stats->memory.over_limit++;
		return false;
	}
	dd->stats->memory.dedup_bytes += bytes;
	return true;
}

static inline bool within(uint64_t a, uint64_t b, uint64_t window)
{
	return (a > b ? a - b : b - a) <= window;
}

bool dedup_check(struct dedup *dd, uint64_t key, uint64_t iface, uint64_t ts_ns)
{
	if (!key || !table(dd))
		return false;
	struct dedup_entry *b = &dd->t[(key >> 7 & dd->mask) * 2], *e = NULL;
	for (int i = 0; i < 2; i++) {
		if (b[i].key != key)
			continue;
		if (!within(ts_ns, b[i].ts_ns, dd->window_ns)) {
			e = &b[i];           /* the same bytes long after: a packet of its own */
			break;
		}
		if (b[i].iface != iface) {
			dd->stats->packets.duplicates++;
			return true;
		}
		b[i].ts_ns = ts_ns;      /* again on the same interface: a retransmission */
		return false;
	}
	/* Into the empty or older entry; a live one overwritten is counted. */
	if (!e) {
		e = &b[0];
		if (b[0].key && (!b[1].key || b[1].ts_ns < b[0].ts_ns))
			e = &b[1];
		if (e->key && within(ts_ns, e->ts_ns, dd->window_ns))
			dd->stats->packets.dedup_evicted++;
	}
	*e = (struct dedup_entry){ .key = key, .ts_ns = ts_ns, .iface = iface };
	return false;
}

void dedup_expect(struct dedup *dd)
{
	dd->active = true;
}

bool dedup_packet(struct dedup *dd, const struct fl_packet *pkt, const struct decoded *d,
		  enum decode_result r)
{
	if (r != DECODE_OK && r != DECODE_FRAGMENT)
		return false;
	uint64_t iface = dedup_iface(pkt, d);
	if (!dd->active) {
		if (!dd->seen) {
			dd->seen = true;
			dd->first_iface = iface;
		}
		if (iface == dd->first_iface && pkt->linktype != FL_LINK_LINUX_SLL2)
			return false;
		dd->active = true;       /* a second interface, or `-i any` */
	}
	return dedup_check(dd, dedup_key(d, r), iface, pkt->ts_ns);
}
