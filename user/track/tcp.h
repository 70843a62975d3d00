/* SPDX-License-Identifier: MIT */
/*
 * TCP connection tracking: SynSent, Reset, CloseWait and LastAck, judged from
 * both directions of the packet stream.  The tracker reports these entries
 * itself and returns what the stream layer must know as events.
 */
#ifndef FL_TCP_H
#define FL_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "stream/seq.h"
#include "track/track.h"

struct decoded;
struct icmp_info;

/* What a packet did to the connection, for the pipeline to hand on. */
enum tcp_event {
	TCP_EV_RESTART = 1 << 0,  /* a new connection replaced the one on this flow */
	TCP_EV_RESET = 1 << 1,    /* an RST ended the connection */
	TCP_EV_FIN = 1 << 2,      /* the sender closed its half */
	TCP_EV_CLOSED = 1 << 3,   /* both halves closed and acknowledged */
	TCP_EV_AFTER_RESET = 1 << 4, /* a segment of a connection already reset: no stream data */
};

/* Where each direction's data starts, for the stream layer. */
struct tcp_view {
	bool isn_known[2];        /* the SYN of that side was seen */
	uint32_t isn[2];
	bool fin_known[2];        /* that side's FIN was seen (or inferred) */
	uint32_t fin_seq[2];      /* the FIN's sequence number */
	bool midstream;           /* joined after the handshake */
	uint64_t rtt_ns;          /* SYN to the ACK of the SYN-ACK, as captured (0: unknown) */
};

/* One TCP packet of flow f sent by `side`: updates state, reports refusals and
 * resets; returns enum tcp_event bits. */
unsigned tcp_track_packet(struct track_env *env, struct flow *f, int side,
			  const struct decoded *d, uint64_t ts_ns);
void tcp_track_view(const struct track_env *env, const struct flow *f, struct tcp_view *v);
/*
 * Judge the timers at now_ns: SynSent timeout, CloseWait, LastAck.  At the
 * end of the capture an unanswered SYN is a timeout whatever its wait.
 */
void tcp_track_check(struct track_env *env, struct flow *f, uint64_t now_ns, bool capture_end);
/* An ICMP error quoted a segment that `side` of f sent with sequence number `seq`. */
void tcp_track_icmp(struct track_env *env, struct flow *f, int side, uint32_t seq,
		    const struct icmp_info *icmp, uint64_t ts_ns);
/*
 * The flow is evicted (flow table full, memory limit): keep what its
 * connection was, so that seen again it goes on instead of starting over
 * "midstream" (a bounded direct-mapped table; the newest eviction wins a slot).
 */
void tcp_track_evicted(struct track_env *env, const struct flow *f);
void tcp_resume_free(struct track_env *env);
/* The flow is let go: write a Reset entry still waiting for more RSTs. */
void tcp_track_flush(struct track_env *env, struct flow *f);
/* An idle connection worth keeping: synchronized, neither side closing; or reset less than a minute ago. */
bool tcp_track_keep(const struct track_env *env, const struct flow *f);
/* When the next condition of this connection falls due (0: none pending). */
uint64_t tcp_track_deadline(const struct track_env *env, const struct flow *f,
			    uint64_t timeout_ns);

#endif
