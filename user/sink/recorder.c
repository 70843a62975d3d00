// SPDX-License-Identifier: MIT
/*
 * The recorder: which packets go to the pcap, and when (recorder.h).  The
 * file itself (buffering, gzip, rotation, write errors) is recorder_file.c.
 *
 * --write-filter buffers: each undecided flow owns a FIFO of pcap-shaped
 * records (16-byte header + bytes) laid across fixed-size blocks.  Blocks come
 * from one pool that grows a slab at a time up to the total bound and is
 * never handed back before close, so buffering a packet allocates nothing
 * once the pool has grown.  The recorder's flow storage (a tag) says where a
 * flow stands: 0 (not seen), REC_TAG_MATCHED (record directly) or its struct
 * rec_flow.
 */
#include "sink/recorder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/flow.h"
#include "sink/recorder_file.h"

#define REC_SNAPLEN_DEFAULT 262144u
#define REC_FLOW_PACKETS_DEFAULT 256u
#define REC_FLOW_BYTES_DEFAULT (512u << 10)
#define REC_TOTAL_BYTES_DEFAULT (64ull << 20)
#define REC_FLUSH_INTERVAL_NS 1000000000ull

/* Small blocks: a flow that has sent one SYN holds 512 bytes, not a page. */
#define REC_BLOCK_DATA (512u - sizeof(void *))
#define REC_SLAB_BLOCKS 2048u         /* the pool grows 1 MiB at a time */
#define REC_SLAB_FLOWS 256u
#define REC_TAG_MATCHED 1ull

struct rec_block {
	struct rec_block *next;
	uint8_t data[REC_BLOCK_DATA];
};

/* The record header in a buffer (the pcap record header is built when written). */
struct rec_hdr {
	uint64_t ts_ns;
	uint32_t caplen;
	uint32_t len;
};

struct rec_fifo {
	struct rec_block *head, *tail;
	uint32_t head_off, tail_off;
	uint64_t bytes;
	uint32_t packets;
};

struct rec_flow {
	struct flow *flow;
	struct rec_flow *prev, *next;   /* the buffered list, oldest buffered packet first */
	bool listed;
	struct rec_fifo q;
};

struct rec_slab {
	struct rec_slab *next;
	/* followed by the blocks or rec_flows */
};

struct recorder {
	struct recorder_opts o;
	struct fl_stats *stats;
	struct rec_file *file;
	bool linktype_known;
	uint64_t now_ns, last_flush_ns;

	/* --write-filter */
	struct rec_slab *slabs;
	struct rec_block *free_blocks;
	uint64_t blocks_alloc, blocks_used, blocks_max;
	struct rec_flow *free_flows;
	struct rec_flow *oldest, *newest;     /* flows with buffered packets */
	/* The last packet with no flow, for an entry with no flow. */
	uint8_t *lone;
	struct rec_hdr lone_hdr;
	bool lone_valid;
	uint64_t lone_match_ts;               /* a flowless entry matched before its packet came */

	int flow_slot;                        /* flow storage id of each flow's tag */

	char err[256];
};

static uint64_t *tag_of(const struct recorder *r, const struct flow *flow)
{
	return flow_storage(flow, r->flow_slot);
}

void recorder_set_flow_storage(struct recorder *r, int slot)
{
	r->flow_slot = slot;
}

/* ---- the block pool ---- */

/*
 * The blocks the pool may hold: --write-filter's buffer bound, and no more
 * than tap.memoryLimitMb leaves beside everything else (memory.recorder_bytes
 * counts the blocks allocated, held or free; the pool keeps them until the
 * recorder closes).
 */
static uint64_t pool_limit(const struct recorder *r)
{
	const struct fl_stats *s = r->stats;
	if (!s->memory.limit_bytes)
		return r->blocks_max;
	uint64_t used = memory_used(s);
	uint64_t left = used < s->memory.limit_bytes ? s->memory.limit_bytes - used : 0;
	uint64_t limit = r->blocks_alloc + left / sizeof(struct rec_block);
	return limit < r->blocks_max ? limit : r->blocks_max;
}

static void pool_account(struct recorder *r)
{
	r->stats->memory.recorder_bytes = r->blocks_alloc * sizeof(struct rec_block);
}

static bool pool_grow(struct recorder *r)
{
	uint64_t n = REC_SLAB_BLOCKS, limit = pool_limit(r);
	struct rec_slab *slab;
	struct rec_block *b;

	if (r->blocks_alloc + n > limit)
		n = limit > r->blocks_alloc ? limit - r->blocks_alloc : 0;
	if (!n) {
		if (limit < r->blocks_max)
			r->stats->memory.over_limit++;
		return false;
	}
	slab = malloc(sizeof(*slab) + n * sizeof(struct rec_block));
	if (!slab)
		return false;
	slab->next = r->slabs;
	r->slabs = slab;
	b = (struct rec_block *)(slab + 1);
	for (uint64_t i = 0; i < n; i++) {
		b[i].next = r->free_blocks;
		r->free_blocks = &b[i];
	}
	r->blocks_alloc += n;
	pool_account(r);
	return true;
}

/* Blocks that can still be had without pushing anything out. */
static uint64_t pool_available(const struct recorder *r)
{
	uint64_t limit = pool_limit(r);
	return limit > r->blocks_used ? limit - r->blocks_used : 0;
}

static struct rec_block *block_get(struct recorder *r)
{
	struct rec_block *b;

	if (!r->free_blocks && !pool_grow(r))
		return NULL;
	b = r->free_blocks;
	r->free_blocks = b->next;
	b->next = NULL;
	r->blocks_used++;
	return b;
}

static void block_put(struct recorder *r, struct rec_block *b)
{
	b->next = r->free_blocks;
	r->free_blocks = b;
	r->blocks_used--;
}

/* ---- per-flow FIFOs of records ---- */

static uint64_t record_size(uint32_t caplen)
{
	return sizeof(struct rec_hdr) + (uint64_t)caplen;
}

/* Blocks a record of `size` bytes needs beyond the room left in the tail block. */
static uint64_t fifo_blocks_needed(const struct rec_fifo *q, uint64_t size)
{
	uint64_t room = q->tail ? REC_BLOCK_DATA - q->tail_off : 0;
	return size <= room ? 0 : (size - room + REC_BLOCK_DATA - 1) / REC_BLOCK_DATA;
}

/* Append bytes; the blocks were made available by the caller. */
static void fifo_write(struct recorder *r, struct rec_fifo *q, const void *src, size_t n)
{
	const uint8_t *p = src;

	while (n) {
		size_t k;
		if (!q->tail || q->tail_off == REC_BLOCK_DATA) {
			struct rec_block *b = block_get(r);
			if (q->tail)
				q->tail->next = b;
			else
				q->head = b;
			q->tail = b;
			q->tail_off = 0;
		}
		k = REC_BLOCK_DATA - q->tail_off;
		if (k > n)
			k = n;
		memcpy(q->tail->data + q->tail_off, p, k);
		q->tail_off += (uint32_t)k;
		p += k;
		n -= k;
	}
}

/* Take n bytes off the head into dst (or discard them when dst is NULL), freeing spent blocks. */
static void fifo_read(struct recorder *r, struct rec_fifo *q, void *dst, size_t n)
{
	uint8_t *p = dst;

	while (n) {
		uint32_t end = q->head == q->tail ? q->tail_off : REC_BLOCK_DATA;
		size_t k = end - q->head_off;
		if (k > n)
			k = n;
		if (p) {
			memcpy(p, q->head->data + q->head_off, k);
			p += k;
		}
		q->head_off += (uint32_t)k;
		n -= k;
		if (q->head_off == end) {
			struct rec_block *b = q->head;
			if (q->head == q->tail) {
				q->head = q->tail = NULL;
				q->tail_off = 0;
			} else {
				q->head = b->next;
			}
			q->head_off = 0;
			block_put(r, b);
		}
	}
}

static void fifo_pop(struct recorder *r, struct rec_fifo *q, struct rec_hdr *h)
{
	fifo_read(r, q, h, sizeof(*h));
	fifo_read(r, q, NULL, h->caplen);
	q->bytes -= record_size(h->caplen);
	q->packets--;
}

static void fifo_clear(struct recorder *r, struct rec_fifo *q)
{
	struct rec_block *b = q->head;

	while (b) {
		struct rec_block *next = b->next;
		block_put(r, b);
		b = next;
	}
	memset(q, 0, sizeof(*q));
}

/* ---- flows with buffered packets, oldest first ---- */

static void list_remove(struct recorder *r, struct rec_flow *rf)
{
	if (!rf->listed)
		return;
	if (rf->prev)
		rf->prev->next = rf->next;
	else
		r->oldest = rf->next;
	if (rf->next)
		rf->next->prev = rf->prev;
	else
		r->newest = rf->prev;
	rf->prev = rf->next = NULL;
	rf->listed = false;
}

static void list_append(struct recorder *r, struct rec_flow *rf)
{
	rf->prev = r->newest;
	rf->next = NULL;
	if (r->newest)
		r->newest->next = rf;
	else
		r->oldest = rf;
	r->newest = rf;
	rf->listed = true;
}

static struct rec_flow *rec_flow_new(struct recorder *r, struct flow *flow)
{
	struct rec_flow *rf;

	if (!r->free_flows) {
		struct rec_slab *slab = malloc(sizeof(*slab) + REC_SLAB_FLOWS * sizeof(*rf));
		if (!slab)
			return NULL;
		slab->next = r->slabs;
		r->slabs = slab;
		rf = (struct rec_flow *)(slab + 1);
		for (unsigned i = 0; i < REC_SLAB_FLOWS; i++) {
			rf[i].next = r->free_flows;
			r->free_flows = &rf[i];
		}
	}
	rf = r->free_flows;
	r->free_flows = rf->next;
	memset(rf, 0, sizeof(*rf));
	rf->flow = flow;
	*tag_of(r, flow) = (uint64_t)(uintptr_t)rf;
	return rf;
}

static void rec_flow_free(struct recorder *r, struct rec_flow *rf)
{
	list_remove(r, rf);
	fifo_clear(r, &rf->q);
	*tag_of(r, rf->flow) = 0;
	rf->flow = NULL;
	rf->next = r->free_flows;
	r->free_flows = rf;
}

static void drop_buffer(struct recorder *r, struct rec_flow *rf)
{
	r->stats->recorder.dropped += rf->q.packets;
	fifo_clear(r, &rf->q);
	list_remove(r, rf);
}

static void drop_oldest_packet(struct recorder *r, struct rec_flow *rf)
{
	struct rec_hdr h;

	fifo_pop(r, &rf->q, &h);
	r->stats->recorder.dropped++;
	if (!rf->q.packets)
		list_remove(r, rf);
}

/*
 * Make room for a record of `size` bytes in rf's buffer: first the flow's own
 * bounds (its oldest packets go), then the total bound (the buffers of the
 * flows holding the oldest packets go; when that is rf itself, its oldest
 * packets).  False when the record cannot be held at all.
 */
static bool make_room(struct recorder *r, struct rec_flow *rf, uint64_t size)
{
	if (size > r->o.flow_buffer_bytes)
		return false;
	while (rf->q.packets && (rf->q.packets >= r->o.flow_buffer_packets ||
				 rf->q.bytes + size > r->o.flow_buffer_bytes))
		drop_oldest_packet(r, rf);
	while (fifo_blocks_needed(&rf->q, size) > pool_available(r)) {
		struct rec_flow *victim = r->oldest;
		if (!victim)
			return false;
		if (pool_limit(r) < r->blocks_max)
			r->stats->memory.over_limit++;   /* tap.memoryLimitMb, not --write-filter's bound */
		if (victim == rf)
			drop_oldest_packet(r, rf);
		else
			drop_buffer(r, victim);
	}
	return true;
}

static void buffer_packet(struct recorder *r, struct rec_flow *rf, const struct rec_hdr *h,
			  const uint8_t *data)
{
	uint64_t size = record_size(h->caplen);

	if (!make_room(r, rf, size)) {
		r->stats->recorder.dropped++;
		return;
	}
	/* Grow the pool now: under its bound, malloc may still fail. */
	while (r->blocks_alloc - r->blocks_used < fifo_blocks_needed(&rf->q, size)) {
		if (!pool_grow(r)) {
			r->stats->recorder.dropped++;
			return;
		}
	}
	fifo_write(r, &rf->q, h, sizeof(*h));
	fifo_write(r, &rf->q, data, h->caplen);
	rf->q.bytes += size;
	rf->q.packets++;
	if (!rf->listed)
		list_append(r, rf);
}

/* ---- writing ---- */

static void write_packet(struct recorder *r, const struct rec_hdr *h, const uint8_t *data)
{
	uint8_t *dst = rec_file_reserve(r->file, h->ts_ns, h->caplen, h->len);
	if (dst)
		memcpy(dst, data, h->caplen);
}

/* A matching entry for the flow: its buffer goes out, its later packets go straight. */
static void flow_matched(struct recorder *r, struct flow *flow)
{
	struct rec_flow *rf;

	if (*tag_of(r, flow) == REC_TAG_MATCHED)
		return;
	rf = (struct rec_flow *)(uintptr_t)*tag_of(r, flow);
	if (rf) {
		while (rf->q.packets) {
			struct rec_hdr h;
			uint8_t *dst;
			fifo_read(r, &rf->q, &h, sizeof(h));
			dst = rec_file_reserve(r->file, h.ts_ns, h.caplen, h.len);
			fifo_read(r, &rf->q, dst, h.caplen);
			rf->q.bytes -= record_size(h.caplen);
			rf->q.packets--;
		}
		rec_flow_free(r, rf);
	}
	*tag_of(r, flow) = REC_TAG_MATCHED;
}

/* ---- the interface ---- */

struct recorder *recorder_open(const struct recorder_opts *o, struct fl_stats *stats,
			       char *err, size_t errlen)
{
	struct recorder *r = calloc(1, sizeof(*r));
	struct rec_file_opts fo;
	uint64_t min_blocks;

	if (!r) {
		snprintf(err, errlen, "cannot record to %s: %s", o->path, strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	r->o = *o;
	r->flow_slot = -1;      /* until recorder_set_flow_storage: flows are not told apart */
	r->stats = stats;
	if (!r->o.snaplen)
		r->o.snaplen = REC_SNAPLEN_DEFAULT;
	if (!r->o.flow_buffer_packets)
		r->o.flow_buffer_packets = REC_FLOW_PACKETS_DEFAULT;
	if (!r->o.flow_buffer_bytes)
		r->o.flow_buffer_bytes = REC_FLOW_BYTES_DEFAULT;
	if (!r->o.buffer_total_bytes)
		r->o.buffer_total_bytes = REC_TOTAL_BYTES_DEFAULT;
	if (o->filter && !o->match) {
		snprintf(err, errlen, "cannot record to %s: a filter without a matcher", o->path);
		free(r);
		errno = EINVAL;
		return NULL;
	}
	r->linktype_known = o->linktype != RECORDER_LINKTYPE_AUTO;

	/* The total bound holds at least one whole packet. */
	r->blocks_max = r->o.buffer_total_bytes / sizeof(struct rec_block);
	min_blocks = (record_size(r->o.snaplen) + REC_BLOCK_DATA - 1) / REC_BLOCK_DATA + 1;
	if (r->blocks_max < min_blocks)
		r->blocks_max = min_blocks;
	if (o->filter) {
		r->lone = malloc(r->o.snaplen);
		if (!r->lone) {
			snprintf(err, errlen, "cannot record to %s: %s", o->path, strerror(ENOMEM));
			free(r);
			errno = ENOMEM;
			return NULL;
		}
	}

	fo = (struct rec_file_opts){
		.path = o->path,
		.snaplen = r->o.snaplen,
		.linktype = r->linktype_known ? o->linktype : FL_LINK_ETHERNET,
		.max_bytes = (uint64_t)o->max_mb * 1000000ull,
		.max_files = o->max_files,
		.protect = o->protect,
		.n_protect = o->n_protect,
		.follow_symlinks = o->follow_symlinks,
	};
	r->file = rec_file_open(&fo, stats, err, errlen);
	if (!r->file) {
		int e = errno;
		free(r->lone);
		free(r);
		errno = e;
		return NULL;
	}
	return r;
}

void recorder_flush(struct recorder *r)
{
	rec_file_flush(r->file);
	r->last_flush_ns = r->now_ns;
}

void recorder_packet(struct recorder *r, const struct fl_packet *pkt, struct flow *flow)
{
	if (r->flow_slot < 0)
		flow = NULL;
	struct rec_hdr h = {
		.ts_ns = pkt->ts_ns,
		.caplen = pkt->caplen < r->o.snaplen ? pkt->caplen : r->o.snaplen,
		.len = pkt->len > pkt->caplen ? pkt->len : pkt->caplen,
	};

	if (!r->linktype_known) {
		r->o.linktype = pkt->linktype;
		r->linktype_known = true;
		rec_file_set_linktype(r->file, pkt->linktype);
	} else if (pkt->linktype != r->o.linktype) {
		/* A pcap file has one link type: the packets of a second one cannot go in it. */
		r->stats->recorder.dropped++;
		if (!r->err[0])
			snprintf(r->err, sizeof(r->err),
				 "packets of link type %u not recorded: the recording is link type %u",
				 pkt->linktype, r->o.linktype);
		return;
	}
	if (pkt->ts_ns > r->now_ns) {
		if (!r->last_flush_ns)
			r->last_flush_ns = pkt->ts_ns;
		r->now_ns = pkt->ts_ns;
	}

	if (!r->o.filter) {
		write_packet(r, &h, pkt->data);
	} else if (!flow) {
		if (r->lone_match_ts && r->lone_match_ts == h.ts_ns) {
			write_packet(r, &h, pkt->data);
			r->lone_match_ts = 0;
		} else {
			memcpy(r->lone, pkt->data, h.caplen);
			r->lone_hdr = h;
			r->lone_valid = true;
		}
	} else if (*tag_of(r, flow) == REC_TAG_MATCHED) {
		write_packet(r, &h, pkt->data);
	} else {
		struct rec_flow *rf = (struct rec_flow *)(uintptr_t)*tag_of(r, flow);
		if (!rf)
			rf = rec_flow_new(r, flow);
		if (rf)
			buffer_packet(r, rf, &h, pkt->data);
		else
			r->stats->recorder.dropped++;
	}

	if (r->now_ns - r->last_flush_ns >= REC_FLUSH_INTERVAL_NS)
		recorder_flush(r);
}

void recorder_entry(struct recorder *r, const struct doc *entry, const struct entry_meta *meta)
{
	if (!r->o.filter || !r->o.match(r->o.filter, entry))
		return;
	if (meta->flow && r->flow_slot >= 0) {
		flow_matched(r, meta->flow);
	} else if (r->lone_valid && r->lone_hdr.ts_ns == meta->ts_ns) {
		write_packet(r, &r->lone_hdr, r->lone);
		r->lone_valid = false;
	} else {
		/* Its packet has not been observed yet: take it when it comes. */
		r->lone_match_ts = meta->ts_ns;
	}
}

void recorder_flow_end(struct recorder *r, struct flow *flow)
{
	if (r->flow_slot < 0)
		return;
	if (*tag_of(r, flow) != REC_TAG_MATCHED && *tag_of(r, flow))
		rec_flow_free(r, (struct rec_flow *)(uintptr_t)*tag_of(r, flow));
	*tag_of(r, flow) = 0;
}

void recorder_finish(struct recorder *r)
{
	rec_file_finish(r->file);
}

void recorder_close(struct recorder *r)
{
	if (!r)
		return;
	rec_file_close(r->file);
	while (r->slabs) {
		struct rec_slab *next = r->slabs->next;
		free(r->slabs);
		r->slabs = next;
	}
	r->stats->memory.recorder_bytes = 0;
	free(r->lone);
	free(r);
}

const char *recorder_last_error(struct recorder *r)
{
	const char *e = rec_file_error(r->file);
	return e ? e : (r->err[0] ? r->err : NULL);
}

void recorder_observe_packet(void *ctx, const struct fl_packet *pkt, struct flow *flow)
{
	recorder_packet(ctx, pkt, flow);
}

void recorder_observe_flow_end(void *ctx, struct flow *flow)
{
	recorder_flow_end(ctx, flow);
}

void recorder_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	recorder_entry(ctx, entry, meta);
}

bool recorder_filtering(const struct recorder *r)
{
	return r->o.filter != NULL;
}
