/* SPDX-License-Identifier: MIT */
/*
 * IP fragment reassembly, IPv4 and IPv6, before the transport layer.
 *
 * decode stops at a fragmented IP layer (DECODE_FRAGMENT); the pipeline hands
 * the fragment here, and when a datagram is whole gets it back as one IP
 * packet to decode as if it had arrived so.  The rules are the Linux stack's:
 *
 * - a datagram is keyed by addresses, id, protocol (IPv4) and the tunnel it
 *   came through; it waits at most tap.defragTimeoutMs from its first
 *   fragment (packet time offline, like every other timeout);
 * - an exact duplicate is dropped and the datagram continues;
 * - an overlapping IPv6 fragment drops the whole datagram (RFC 5722); IPv4
 *   overlaps are resolved first-wins (the bytes already held stay) and counted;
 * - a first fragment too short for its transport header (RFC 1858, RFC 7112),
 *   a fragment that ends beyond 65535 bytes or past the last fragment, and a
 *   non-last fragment whose length is not a multiple of 8 are dropped;
 * - everything held is bounded by tap.defragMemcapMb (real bytes: buffers and
 *   bookkeeping); when a new fragment would pass it the oldest datagrams go
 *   first.  Every dropped fragment is counted by reason.
 *
 * Memory: one bookkeeping struct and one buffer per datagram in progress,
 * the buffer grown to the datagram's size; no allocation for a datagram that
 * arrives whole.
 */
#ifndef FL_DEFRAG_H
#define FL_DEFRAG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/decode.h"

enum defrag_drop_reason {
	DEFRAG_DROP_OVERLAP,      /* IPv6 overlap: the whole datagram */
	DEFRAG_DROP_DUPLICATE,    /* a fragment already held, byte range for byte range */
	DEFRAG_DROP_TINY,         /* a first fragment without its transport header */
	DEFRAG_DROP_TOO_FAR,      /* ends beyond 65535 bytes */
	DEFRAG_DROP_INVALID,      /* length not a multiple of 8, past the last fragment, ... */
	DEFRAG_DROP_TRUNCATED,    /* the snaplen cut it: its bytes are not all there */
	DEFRAG_DROP_TOO_MANY,     /* more fragments than one datagram may have */
	DEFRAG_DROP_MEMCAP,       /* over tap.defragMemcapMb */
	DEFRAG_DROP_CAPTURE_END,  /* still incomplete when the capture ended */
	DEFRAG_DROP_MAX,
};

/* "overlap", "duplicate", "tiny", "too_far", ... as the stats name them. */
static inline const char *defrag_drop_reason_name(enum defrag_drop_reason r)
{
	static const char *const names[DEFRAG_DROP_MAX] = {
		[DEFRAG_DROP_OVERLAP] = "overlap",
		[DEFRAG_DROP_DUPLICATE] = "duplicate",
		[DEFRAG_DROP_TINY] = "tiny",
		[DEFRAG_DROP_TOO_FAR] = "too_far",
		[DEFRAG_DROP_INVALID] = "invalid",
		[DEFRAG_DROP_TRUNCATED] = "truncated",
		[DEFRAG_DROP_TOO_MANY] = "too_many",
		[DEFRAG_DROP_MEMCAP] = "memcap",
		[DEFRAG_DROP_CAPTURE_END] = "capture_end",
	};
	return (unsigned)r < DEFRAG_DROP_MAX ? names[r] : "unknown";
}

/* The ip.* counters of the stats document; owned by the stats, written here. */
struct defrag_counters {
	uint64_t fragments;       /* fragments seen */
	uint64_t reassembled;     /* datagrams made whole */
	uint64_t timeouts;        /* datagrams that never completed in tap.defragTimeoutMs */
	uint64_t dropped;         /* fragments dropped (sum of dropped_by) */
	uint64_t dropped_by[DEFRAG_DROP_MAX];
	uint64_t overlaps;        /* IPv4 overlaps resolved first-wins (the datagram went on) */
	uint64_t bytes;           /* memory held now */
};

struct defrag;

/* NULL with errno set. */
struct defrag *defrag_new(uint64_t memcap_bytes, uint64_t timeout_ns, struct defrag_counters *c);
/*
 * Draw from tap.memoryLimitMb as well (memory.defrag_bytes is stats.ip.bytes):
 * over it, the oldest datagrams are dropped (reason memcap) and
 * memory.over_limit counted.  `stats` must outlive t.
 */
struct fl_stats;
void defrag_set_budget(struct defrag *t, const struct fl_stats *stats, uint64_t *over_limit);
void defrag_free(struct defrag *t);

/*
 * One fragment (d as decode_packet left it with DECODE_FRAGMENT).  Returns
 * true when it completed its datagram: *ip / *len are the whole IP packet
 * (valid until the next call into the table) and *first_ts_ns the time of
 * the datagram's first fragment.
 */
bool defrag_add(struct defrag *t, const struct decoded *d, uint64_t ts_ns,
		const uint8_t **ip, uint32_t *len, uint64_t *first_ts_ns);

/*
 * The first `n` (<= 8) bytes of the datagram a fragment belongs to, when its
 * first fragment is held: the ports (or ICMP echo id) of a later fragment.
 */
bool defrag_first_bytes(struct defrag *t, const struct decoded *d, uint8_t *out, uint32_t n);

/* Time out the datagrams older than the timeout at now_ns. */
void defrag_expire(struct defrag *t, uint64_t now_ns);
/* The capture ended: drop what is still incomplete (counted as capture_end). */
void defrag_finish(struct defrag *t);

/*
 * What the capture saw of the datagram an ICMP error quotes (its first
 * fragment: addresses, id, protocol): held now, reassembled, timed out or
 * dropped.  Recent outcomes are remembered (a bounded ring) so an error that
 * comes after the capture's own timeout still finds them.  `give_up` ends a
 * datagram still held: the receiver said it timed out, so will the capture.
 */
enum defrag_outcome {
	DEFRAG_PENDING,           /* held, incomplete */
	DEFRAG_REASSEMBLED,
	DEFRAG_TIMED_OUT,
	DEFRAG_DROPPED,
};
struct defrag_match {
	enum defrag_outcome outcome;
	uint32_t fragments;       /* fragments the capture saw */
	uint32_t bytes;           /* datagram bytes they held */
	uint64_t first_ts_ns;
};
bool defrag_lookup(struct defrag *t, const struct decoded *quote, bool give_up,
		   struct defrag_match *m);

/* "pending", "reassembled", "timed_out", "dropped". */
static inline const char *defrag_outcome_name(enum defrag_outcome o)
{
	switch (o) {
	case DEFRAG_PENDING: return "pending";
	case DEFRAG_REASSEMBLED: return "reassembled";
	case DEFRAG_TIMED_OUT: return "timed_out";
	case DEFRAG_DROPPED: return "dropped";
	}
	return "unknown";
}

#endif
