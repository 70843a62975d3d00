/* SPDX-License-Identifier: MIT */
/*
 * The flow table: one entry per 5-tuple, both directions in one flow.
 * Bounded by tap.maxFlows; when full, the least recently active flow is
 * evicted (and counted); so it is when a new slab of flows would take the
 * run past tap.memoryLimitMb (memory.over_limit).  Flows live in an LRU list ordered by last packet
 * time, which is also how timeouts find idle flows without scanning all.
 */
#ifndef FL_FLOW_H
#define FL_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/decode.h"

struct fl_stats;

struct flow_key {
	struct fl_addr addr[2];   /* addr[0] <= addr[1] (canonical order) */
	uint16_t port[2];
	uint8_t proto;            /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
};

struct flow {
	struct flow_key key;
	struct flow *hash_next;
	struct flow *lru_prev, *lru_next;
	struct flow *timer_prev, *timer_next;   /* the timer queue, while armed */
	uint64_t timer_ns;        /* when a timeout condition is next due; 0: none */
	uint64_t first_ts_ns, last_ts_ns;
	uint64_t kept_ns;         /* an idle judgement kept the flow at this time (flow_keep) */
	/* Which side of the key initiated: 0 or 1 (index into key.addr). */
	uint8_t client;
	bool client_known;        /* we saw the SYN (or the first request) */
	/* Transport loss, counted by the TCP tracker (SYN/FIN) and the stream layer (data). */
	uint32_t retransmissions;
	uint64_t missed_bytes;    /* bytes the peer acknowledged that no captured segment carried */
	uint64_t truncated_bytes; /* payload on the wire that the capture's snaplen cut */
	struct fl_tunnels *tunnels;   /* how the flow was carried (pipeline-owned); NULL: bare */
	/* The storage areas registered with flow_storage_register() follow. */
};

struct flow_table;

/* Called for each flow just before it is freed (eviction, expiry, end). */
typedef void (*flow_release_fn)(void *ctx, struct flow *f, bool evicted);

struct flow_table *flow_table_new(uint32_t max_flows, struct fl_stats *stats,
				  flow_release_fn release, void *ctx);
void flow_table_free(struct flow_table *t);

/*
 * Per-flow storage for the stages above core (Suricata's flow storage): the
 * tracker's connection state, the stream layer's pointer, a sink's tag.  A
 * module registers the bytes it needs before the first flow exists and gets
 * an id; flow_storage(f, id) is its area of flow f, zeroed when the flow is
 * created.  Core never looks inside.  Returns -1 (errno EBUSY) once flows exist.
 */
int flow_storage_register(struct flow_table *t, size_t size);
static inline void *flow_storage(const struct flow *f, int id)
{
	return (char *)f + id;
}

/*
 * Find the flow of a packet from (src, sport) to (dst, dport), creating it if
 * `create`.  *dir is set to the index of the sender in key.addr (0 or 1).
 * Touches the flow (moves it to the LRU head) with time ts_ns.
 */
struct flow *flow_lookup(struct flow_table *t, const struct fl_addr *src, uint16_t sport,
			 const struct fl_addr *dst, uint16_t dport, uint8_t proto,
			 uint64_t ts_ns, bool create, int *dir);
/* The same without touching: for ICMP quotes and kernel events. */
struct flow *flow_find(struct flow_table *t, const struct fl_addr *src, uint16_t sport,
		       const struct fl_addr *dst, uint16_t dport, uint8_t proto, int *dir);

/* Oldest flow (LRU tail); NULL when empty. */
struct flow *flow_oldest(struct flow_table *t);
/*
 * An idle flow judged worth keeping (a healthy idle TCP connection): move it
 * to the LRU head as if active at now_ns, so the idle scan looks at it again
 * only a timeout later.  last_ts_ns (its last packet) is not changed.
 */
void flow_keep(struct flow_table *t, struct flow *f, uint64_t now_ns);
/* Last packet or flow_keep(), whichever is later: the time the LRU orders by. */
static inline uint64_t flow_idle_since(const struct flow *f)
{
	return f->kept_ns > f->last_ts_ns ? f->kept_ns : f->last_ts_ns;
}
/* Unlink and free one flow (calls the release callback). */
void flow_remove(struct flow_table *t, struct flow *f);
uint32_t flow_count(const struct flow_table *t);

/*
 * The timer queue: flows with a condition due at a known time (an unanswered
 * SYN, a FIN waiting for the peer's, an echo request), ordered by due time.
 * Deadlines are event time plus one constant timeout, so they arrive nearly
 * in order and insertion from the tail is O(1) in practice.
 */
void flow_timer_set(struct flow_table *t, struct flow *f, uint64_t due_ns);   /* 0 disarms */
struct flow *flow_timer_first(struct flow_table *t);
/*
 * --workers merges entries in packet order: with flow_table_keep_order() (before the first
 * flow), each flow remembers the packet sequence number (flow_table_set_seq) when it last
 * moved to the LRU head and when its timer was set.  Without it (one pipeline) flows carry
 * nothing for it and both read 0.  Returns -1 once flows exist.
 */
int flow_table_keep_order(struct flow_table *t);
uint64_t flow_lru_seq(const struct flow_table *t, const struct flow *f);
uint64_t flow_timer_seq(const struct flow_table *t, const struct flow *f);
/* The sequence number of the packet being handled (stamps the order above). */
void flow_table_set_seq(struct flow_table *t, uint64_t seq);

/* The endpoint of side `side` (0 or 1) of a flow. */
static inline const struct fl_addr *flow_addr(const struct flow *f, int side)
{
	return &f->key.addr[side];
}

#endif
