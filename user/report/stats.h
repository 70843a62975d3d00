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

/* drops.bpf.c's per-reason counters (FL_DROP_REASONS in faultline.h). */
#define FL_STATS_DROP_REASONS 512
#define FL_STATS_ERRNOS 256
#define FL_STATS_TCP_STATES 16   /* FL_RST_STATES */
#include "report/doc.h"

enum fl_error_type {
	FL_ERR_NONE = 0,
	FL_ERR_TCP,
	FL_ERR_ICMP,
	FL_ERR_TIMEOUT,
	FL_ERR_HALF_CONNECTION,
	FL_ERR_UNEXPECTED_EOF,
	FL_ERR_PARSER,
	FL_ERR_DROP,          /* the kernel dropped packets of a flow no other entry explains */
	FL_ERR_MAX,
};

/* "tcp", "icmp", "timeout", "half-connection", "unexpected-eof", "parser-error", "drop". */
const char *error_type_name(enum fl_error_type type);
/* The kernel's TCP state number as a name ("ESTABLISHED"; 0 "NO_SOCKET"), NULL if unknown. */
const char *tcp_state_name(unsigned state);

#define FL_MAX_INTERFACES 64

struct fl_stats {
	struct {
		uint64_t seen, bytes, dropped, decode_errors;
		uint64_t time_reversals;     /* packets older than the packet before them */
		uint64_t duplicates;         /* copies of a packet seen on another interface (core/dedup.h) */
		uint64_t dedup_evicted;      /* dedup entries overwritten inside their window */
	} packets;
	struct {
		const char *backend;         /* "file", "ebpf-tc", "ebpf-xdp", "afpacket" */
		char interfaces[FL_MAX_INTERFACES][16];
		unsigned n_interfaces;
		uint64_t start_ns;           /* wall clock at start */
		uint64_t now_ns;             /* wall clock when the stats were taken */
		bool skipping;               /* the source skips payload (eBPF, tap.skipPayload) */
		uint64_t skipped_bytes;      /* payload not copied: body no dissector parses */
		uint64_t skip_requests;      /* ranges the stream layer asked the source to skip */
		uint64_t frame_disagreements; /* skipping's cuts on bytes a dissector wanted */
	} capture;
	struct {
		uint64_t tcp, udp, active, evicted;
		uint64_t resumed;            /* evicted TCP flows seen again and continued */
	} flows;
	struct {
		uint64_t syn_sent, reset, close_wait, last_ack;
		uint64_t retransmissions, out_of_order, missed_bytes, streams_timed_out;
		uint64_t truncated_bytes;    /* payload the snaplen cut (not missed) */
		uint64_t reassembly_dropped_bytes;   /* out-of-order data over the memcap */
		uint64_t invalid_rst;        /* RSTs/FINs the receiving stack would not accept */
		uint64_t syn_answer_uncaptured;   /* unanswered SYNs not reported: see track/tcp.c */
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
		/* Pipelined requests past a queue's bound: each still has an entry,
		 * its request marked "unrecorded" (dissect/exchange.h). */
		uint64_t unrecorded_requests;
	} entries;
	struct {
		uint64_t syn_sent, reset, close_wait, last_ack;
		/* Packet drops from skb:kfree_skb (eBPF backend), counted by reason.  drop_names[i]
		 * is reason i's name (from the kernel's BTF), NULL for a reason with no name. */
		struct {
			const char *source;          /* "tp_btf", "tracepoint", or NULL: unavailable */
			bool reasons;                /* false: the kernel has no reason argument */
			uint64_t total, without_reason, unrecorded;
			uint64_t records;            /* per-(flow, reason) aggregates drained */
			uint64_t by_reason[FL_STATS_DROP_REASONS];
			const char *const *names;    /* FL_STATS_DROP_REASONS names, owned by the source */
		} drops;
		/* Socket trouble from the same view: retransmissions (tcp_retransmit_skb), SYNs that
		 * found a full accept queue, errors reported to sockets by errno. */
		uint64_t retransmits, syn_retransmits, listen_overflows;
		bool listen_overflows_at_syn;    /* false: only the handshake's last ACK is seen */
		/* Network namespaces whose listeners are read with sock_diag (kdrops, nsdiag.h), held
		 * without a socket (entering refused), over the bound: at the last rescan. */
		uint64_t listen_namespaces, listen_namespaces_refused, listen_namespaces_over_limit;
		uint64_t socket_errors[FL_STATS_ERRNOS];
		/* Resets by the TCP state they hit (the kernel's numbering; 0: no socket), live
		 * only, when the socket tracepoints are attached (`resets`). */
		bool resets;
		uint64_t resets_sent[FL_STATS_TCP_STATES], resets_received[FL_STATS_TCP_STATES];
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
		/* capture: /proc scans for sockets opened before the capture, sockets they found */
		uint64_t scans, scanned;
	} attribution;
	struct {
		uint64_t flow_bytes;          /* bytes held by the flow table */
		uint64_t reassembly_bytes;    /* bytes of out-of-order data held */
		uint64_t recorder_bytes;      /* --write-filter: packets held until their flow is judged */
		uint64_t control_bytes;       /* control socket: entry ring, client buffers */
		uint64_t evicted_bytes;       /* evicted TCP flows' connections, kept to continue them */
		uint64_t attribution_bytes;   /* names, socket owners, cgroups */
		uint64_t dedup_bytes;         /* the table of recent packets that tells copies (core/dedup.h) */
		uint64_t host_pair_bytes;     /* the host pairs seen in each direction (track/track.c) */
		uint64_t stream_bytes;        /* streams, dissector states, open exchanges */
		uint64_t peak_bytes;          /* the most memory_used() was, sampled (memory_note_peak) */
		uint64_t limit_bytes;         /* tap.memoryLimitMb; 0: no limit */
		uint64_t over_limit;          /* things evicted or refused to stay under the limit */
	} memory;
};

/*
 * tap.memoryLimitMb: one budget the growing structures (flows, streams, reassembly,
 * control socket, recorder, IP defragmentation) draw from.  Before growing by `more` bytes a
 * structure asks memory_allows(); when it says no, it evicts or refuses
 * (and counts memory.over_limit) instead of growing.
 */
static inline uint64_t memory_used(const struct fl_stats *s)
{
	return s->memory.flow_bytes + s->memory.reassembly_bytes + s->memory.recorder_bytes +
	       s->memory.control_bytes + s->memory.evicted_bytes + s->memory.attribution_bytes +
	       s->memory.dedup_bytes + s->memory.host_pair_bytes +
	       s->memory.stream_bytes + s->ip.bytes;
}

static inline bool memory_allows(const struct fl_stats *s, uint64_t more)
{
	return !s->memory.limit_bytes || memory_used(s) + more <= s->memory.limit_bytes;
}

/* Remember memory_used() if it is the most yet: every MEMORY_PEAK_EVERY packets and at the end. */
#define MEMORY_PEAK_EVERY 1024
static inline void memory_note_peak(struct fl_stats *s)
{
	uint64_t used = memory_used(s);
	if (used > s->memory.peak_bytes)
		s->memory.peak_bytes = used;
}

/* The stats as a doc (root object): one object per group, the keys --stats prints. */
void stats_to_doc(const struct fl_stats *s, struct doc *out);
void stats_write_json(const struct fl_stats *s, FILE *out);

#endif
