/* SPDX-License-Identifier: MIT */
/*
 * The counters `read --stats` and `faultline stats` print (packets, capture, flows, tcp, icmp,
 * entries, kernel) and the metrics serve.  One struct, owned by the run, written by every stage.
 */
#ifndef FL_STATS_H
#define FL_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/defrag.h"
#include "report/doc.h"

enum fl_error_type {
	FL_ERR_NONE = 0,
	FL_ERR_TCP,
	FL_ERR_ICMP,
	FL_ERR_TIMEOUT,
	FL_ERR_HALF_CONNECTION,
	FL_ERR_UNEXPECTED_EOF,
	FL_ERR_PARSER,
	FL_ERR_MAX,
};

/* "tcp", "icmp", "timeout", "half-connection", "unexpected-eof", "parser-error". */
const char *error_type_name(enum fl_error_type type);

#define FL_MAX_INTERFACES 64

struct fl_stats {
	struct {
		uint64_t seen, bytes, dropped, decode_errors;
		uint64_t time_reversals;     /* packets older than the packet before them */
	} packets;
	struct {
		const char *backend;         /* "file", "ebpf-tc", "ebpf-xdp", "afpacket" */
		char interfaces[FL_MAX_INTERFACES][16];
		unsigned n_interfaces;
		uint64_t start_ns;           /* wall clock at start */
		uint64_t now_ns;             /* wall clock when the stats were taken */
	} capture;
	struct {
		uint64_t tcp, udp, active, evicted;
	} flows;
	struct {
		uint64_t syn_sent, reset, close_wait, last_ack;
		uint64_t retransmissions, out_of_order, missed_bytes, streams_timed_out;
		uint64_t reassembly_dropped_bytes;   /* out-of-order data over the memcap */
		uint64_t invalid_rst;        /* RSTs/FINs the receiving stack would not accept */
	} tcp;
	struct defrag_counters ip;        /* fragments and their reassembly */
	struct {
		uint64_t packets[FL_TUNNEL_MPLS + 1];   /* packets decapsulated, by enum fl_tunnel_type */
	} tunnels;
	struct {
		uint64_t messages, errors;
	} icmp;
	struct {
		uint64_t total;
		uint64_t errors[FL_ERR_MAX];
	} entries;
	struct {
		uint64_t syn_sent, reset, close_wait, last_ack;
	} kernel;
	struct {
		uint64_t packets, bytes, write_errors, files;
		uint64_t dropped;             /* packets that belong in the recording but are not in it */
	} recorder;
	struct {
		uint64_t names;               /* IP -> name entries held (DNS answers, --names) */
		uint64_t names_learned, names_evicted, names_expired;
		uint64_t name_hits, name_misses;   /* endpoints named / not named by the table */
		/* capture: socket owners (4-tuples), listeners, cgroups */
		uint64_t sockets, listeners, sockets_evicted, socket_hits, socket_misses;
		uint64_t cgroups, cgroup_hits, cgroup_misses;
	} attribution;
	struct {
		uint64_t flow_bytes;          /* bytes held by the flow table */
		uint64_t reassembly_bytes;    /* bytes of out-of-order data held */
		uint64_t recorder_bytes;      /* --write-filter: packets held until their flow is judged */
		uint64_t control_bytes;       /* control socket: entry ring, client buffers */
		uint64_t attribution_bytes;   /* names, socket owners, cgroups */
		uint64_t limit_bytes;         /* tap.memoryLimitMb; 0: no limit */
		uint64_t over_limit;          /* things evicted or refused to stay under the limit */
	} memory;
};

/*
 * tap.memoryLimitMb: one budget the growing structures (flows, reassembly,
 * control socket, recorder) draw from.  Before growing by `more` bytes a
 * structure asks memory_allows(); when it says no, it evicts or refuses
 * (and counts memory.over_limit) instead of growing.
 */
static inline uint64_t memory_used(const struct fl_stats *s)
{
	return s->memory.flow_bytes + s->memory.reassembly_bytes + s->memory.recorder_bytes +
	       s->memory.control_bytes + s->memory.attribution_bytes;
}

static inline bool memory_allows(const struct fl_stats *s, uint64_t more)
{
	return !s->memory.limit_bytes || memory_used(s) + more <= s->memory.limit_bytes;
}

/* The stats as a doc (root object): one object per group, the keys --stats prints. */
void stats_to_doc(const struct fl_stats *s, struct doc *out);
void stats_write_json(const struct fl_stats *s, FILE *out);

#endif
