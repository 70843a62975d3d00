/* SPDX-License-Identifier: MIT */
/*
 * reasm: one direction of TCP reassembly.  Segments go in with their sequence
 * numbers; bytes come out in order, once, through a sink.
 *
 * - In-order data is handed to the sink straight from the packet (no copy).
 * - The sink returns how many bytes it consumed (Suricata's model); the rest
 *   is kept in a small per-direction buffer (REASM_PENDING_MAX) and presented
 *   again, with the next bytes appended.
 * - Out-of-order segments are copied and held, in a search tree (O(log n) per
 *   segment in any order; data continuing a held segment is appended to it),
 *   until the hole before them fills.  Held memory (real bytes: headers and
 *   allocator overhead included) is bounded by a global memcap and by
 *   tap.memoryLimitMb; a segment over either is dropped and counted
 *   (tcp.reassembly_dropped_bytes).
 * - Retransmitted and overlapping bytes are trimmed: the first copy seen wins.
 * - A hole is skipped (the sink's gap() hears its size) when the peer
 *   acknowledged past it, when more than REASM_HELD_MAX bytes wait behind it,
 *   or when the stream ends (reasm_flush).
 * - A segment's length is its length on the wire (from the IP total length);
 *   the payload a small snaplen cut off is held as a range without bytes and,
 *   once in order, skipped with gap() told it was truncated (not missed): its
 *   sequence space still counts for retransmissions and holes.
 * Sequence numbers are compared only through the wrap-safe SEQ_* macros.
 */
#ifndef FL_REASM_H
#define FL_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "report/stats.h"

/* Unconsumed bytes kept per direction before the stream layer gives up on them. */
#define REASM_PENDING_MAX (64u * 1024)
/* Out-of-order bytes held behind one hole before the hole is skipped ("moved past"). */
#define REASM_HELD_MAX (4u * 1024 * 1024)

/* Bytes reassembly skips. */
struct reasm_gap {
	uint32_t seq;             /* sequence number of the first byte skipped */
	uint32_t missing;         /* bytes skipped */
	bool truncated;           /* they were on the wire, cut by the capture's snaplen;
				   * otherwise no captured segment carried them (a hole) */
	/* The bytes the sink had left unconsumed, thrown away with the gap (they
	 * cannot join what follows): valid during the call. */
	uint32_t unconsumed;
	const uint8_t *unconsumed_data;
};

struct reasm_sink {
	/* In-order bytes; returns how many were consumed (0..len). */
	size_t (*data)(void *arg, const uint8_t *data, size_t len);
	void (*gap)(void *arg, const struct reasm_gap *g);
	void *arg;
};

/* What the stream layer shares across every direction: the memcap and the counters. */
struct reasm_env {
	struct fl_stats *stats;   /* memory.reassembly_bytes, tcp.reassembly_dropped_bytes */
	uint64_t memcap;          /* bytes of memory held for reassembly, all streams */
};

struct reasm_seg;

struct reasm {
	uint32_t next_seq;        /* first byte not yet delivered */
	uint32_t fin_seq;         /* valid when fin */
	bool started;             /* next_seq is known */
	bool fin;
	struct reasm_seg *held;   /* out-of-order segments, disjoint: a treap by seq (reasm.c) */
	uint32_t held_bytes;
	uint8_t *pending;         /* unconsumed in-order bytes */
	uint32_t pending_len, pending_cap;
	uint64_t delivered;       /* bytes handed to the sink (consumed or kept) */
	uint64_t missed;          /* bytes skipped over: never captured */
	uint64_t truncated;       /* bytes skipped over: cut by the snaplen */
};

/* What one segment turned out to be. */
enum reasm_result {
	REASM_IN_ORDER = 0,
	REASM_RETRANSMISSION = 1 << 0,   /* carried bytes already seen (all or part) */
	REASM_OUT_OF_ORDER = 1 << 1,     /* new bytes behind a hole: held, or filled a hole */
	REASM_DROPPED = 1 << 2,          /* over the memcap: not held */
	REASM_IGNORED = 1 << 3,          /* empty, or a keep-alive probe */
};

void reasm_init(struct reasm *r);
/* The SYN's sequence number is known: data starts at isn + 1. */
void reasm_start(struct reasm *r, uint32_t isn);
/*
 * One segment's payload.  Before reasm_start, the first data segment sets the
 * start (a stream joined midstream).  Returns enum reasm_result bits.
 */
unsigned reasm_segment(struct reasm *r, const struct reasm_env *env, uint32_t seq,
		       const uint8_t *data, uint32_t len, const struct reasm_sink *sink);
/* The same for a segment of `wire_len` bytes of which the first `caplen` were captured. */
unsigned reasm_segment_wire(struct reasm *r, const struct reasm_env *env, uint32_t seq,
			    const uint8_t *data, uint32_t caplen, uint32_t wire_len,
			    const struct reasm_sink *sink);
/* This direction's FIN, at sequence number seq: no byte at or after it exists. */
void reasm_fin(struct reasm *r, uint32_t seq);
/*
 * The peer acknowledged up to `ack`: bytes before it reached the peer, so a
 * hole before it will never be filled in this capture.  Skips such holes and
 * delivers what was held behind them.
 */
void reasm_ack(struct reasm *r, const struct reasm_env *env, uint32_t ack,
	       const struct reasm_sink *sink);
/* The stream ends: skip every hole, deliver everything held. */
void reasm_flush(struct reasm *r, const struct reasm_env *env, const struct reasm_sink *sink);
/* Present the kept unconsumed bytes again (e.g. after the sink changed state). */
void reasm_redeliver(struct reasm *r, const struct reasm_env *env, const struct reasm_sink *sink);
/* Throw away the kept unconsumed bytes; returns how many. */
uint32_t reasm_drop_pending(struct reasm *r, const struct reasm_env *env);
/* Free everything held. */
void reasm_free(struct reasm *r, const struct reasm_env *env);

#endif
