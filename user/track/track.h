/* SPDX-License-Identifier: MIT */
/*
 * The trackers' shared context and their per-flow state.
 *
 * Trackers (TCP connections, ICMP messages and echo pairs, kernel socket
 * events) judge what the transport did and report it as entries.  They keep
 * their state in one flow storage area (a union: a flow is TCP or ICMP echo,
 * never both) and never call the stream layer: what the stream layer must
 * know (a connection reset, closed, restarted; an ICMP error about a flow)
 * they return to the pipeline, which calls the stream layer in one place.
 */
#ifndef FL_TRACK_H
#define FL_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/flow.h"

struct emitter;
struct fl_config;
struct fl_stats;

/* One direction of a connection, indexed by the sender's side in the flow key. */
struct tcp_half {
	uint32_t syn_seq;         /* ISN, valid when syn_seen */
	uint32_t fin_seq;         /* sequence number of the FIN, valid when fin_seen */
	uint64_t fin_ts_ns;       /* first FIN */
	uint16_t fin_retransmissions;
	bool syn_seen, fin_seen;
	bool fin_acked;           /* the peer acknowledged this side's FIN */
	bool fin_inferred;        /* fin_seen from the peer's ACKs: this FIN was not captured */
	bool syn_inferred;        /* syn_seen from the peer's ACK of ISN+1: this SYN was not captured */
	/* What the receiving stack would check an RST or FIN of this side against. */
	bool nxt_seen, ack_seen, ts_seen, wscale_seen;
	bool acked_unseen_one;    /* this side's ACK last advanced by exactly one byte the capture never saw */
	uint8_t wscale;           /* window scale offered in this side's SYN */
	uint16_t win;             /* last window advertised (unscaled) */
	uint32_t nxt;             /* highest sequence end sent (SYN and FIN count one) */
	uint32_t ack_max;         /* highest acknowledgement sent */
	uint32_t ts_recent;       /* newest TSval sent (RFC 7323) */
};

enum tcp_conn_state {
	TCP_CONN_NONE = 0,        /* no packet yet, or not TCP */
	TCP_CONN_SYN_SENT,        /* SYN seen, no SYN-ACK */
	TCP_CONN_ESTABLISHED,     /* SYN-ACK seen, or joined midstream */
	TCP_CONN_CLOSED,          /* reset, refused, or closed by both FINs and the last ACK */
};

/* Conditions already reported, so each is reported once per connection. */
enum tcp_reported {
	TCP_REPORTED_SYN_SENT = 1 << 0,
	TCP_REPORTED_RESET = 1 << 1,
	TCP_REPORTED_CLOSE_WAIT = 1 << 2,
	TCP_REPORTED_LAST_ACK = 1 << 3,
};

struct tcp_conn {
	uint64_t syn_ts_ns;       /* first SYN */
	uint32_t rtt_us;          /* the handshake's round trip at the capture point (0: unknown) */
	struct tcp_half half[2];
	uint8_t state;            /* enum tcp_conn_state */
	uint8_t reported;         /* enum tcp_reported bits */
	uint8_t syn_retries;
	bool midstream;           /* the capture joined after the handshake */
	uint16_t invalid_rst;     /* RSTs (and FINs) the receiving stack would not accept */
	bool resumed;             /* continued after the flow was evicted: data starts anywhere */
	/* Reset: one entry however many RSTs, written a moment after the first. */
	uint16_t resets;          /* acceptable RSTs after the handshake (0: not reset) */
	uint8_t reset_side;       /* who sent the first */
	bool reset_pending;       /* its entry is not written yet */
	uint64_t reset_ts_ns;     /* the first */
};

/* Outstanding echo requests of an ICMP echo flow (key ports = echo id). */
#define ECHO_PENDING 4
struct echo_state {
	uint64_t ts_ns[ECHO_PENDING];
	uint16_t seq[ECHO_PENDING];
	uint8_t requester[ECHO_PENDING];   /* side that sent the request */
	uint8_t n;
};

union track_state {
	struct tcp_conn tcp;      /* TCP flows */
	struct echo_state echo;   /* ICMP echo flows */
};

struct tcp_resume;
struct track_dirs;

struct track_env {
	struct emitter *em;
	const struct fl_config *cfg;
	struct fl_stats *stats;
	int slot;                 /* flow storage id of union track_state */
	/* What evicted TCP flows' connections were, so a flow seen again goes on
	 * (tcp.c; allocated at the first eviction, memory.evicted_bytes). */
	struct tcp_resume *resume;
	/* Host pairs: whether the capture holds packets from one host to the
	 * other, and whether ACKs prove that host sent some it does not hold
	 * (track.c; a fixed table allocated at init, NULL without memory). */
	struct track_dirs *dirs;
};

/* Register the trackers' flow storage; 0 or -1 (errno). */
int track_env_init(struct track_env *env, struct flow_table *flows, struct emitter *em,
		   const struct fl_config *cfg, struct fl_stats *stats);
void track_env_free(struct track_env *env);

/*
 * One-sided captures, judged per host pair (the direction from one address to
 * another).  track_dir_saw: a packet from -> to is in the capture (every IP
 * packet).  track_dir_sent_unseen: ACKs from `to` acknowledge sequence space
 * of `from` that no captured packet carried.  track_dir_uncaptured: the second
 * is known and the first never happened, as far as the table can tell (a slot
 * shared with another pair makes it unsure, and unsure is "no").
 */
void track_dir_saw(struct track_env *env, const struct fl_addr *from, const struct fl_addr *to);
void track_dir_sent_unseen(struct track_env *env, const struct fl_addr *from,
			   const struct fl_addr *to);
bool track_dir_uncaptured(const struct track_env *env, const struct fl_addr *from,
			  const struct fl_addr *to);

static inline struct tcp_conn *track_tcp(const struct track_env *env, const struct flow *f)
{
	return &((union track_state *)flow_storage(f, env->slot))->tcp;
}

static inline struct echo_state *track_echo(const struct track_env *env, const struct flow *f)
{
	return &((union track_state *)flow_storage(f, env->slot))->echo;
}

#endif
