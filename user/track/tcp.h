/* SPDX-License-Identifier: MIT */
/*
 * TCP connection tracking: SynSent, Reset, CloseWait and LastAck (spec
 * section 2), judged from both directions of the packet stream.
 */
#ifndef FL_TCP_H
#define FL_TCP_H

#include <stdbool.h>
#include <stdint.h>

/* Wrap-safe sequence comparisons (Suricata's SEQ_* idiom). */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

/* One direction of a connection, indexed by the sender's side in the flow key. */
struct tcp_half {
	uint32_t syn_seq;         /* ISN, valid when syn_seen */
	uint32_t fin_seq;         /* sequence number of the FIN, valid when fin_seen */
	uint64_t fin_ts_ns;       /* first FIN */
	uint16_t fin_retransmissions;
	bool syn_seen, fin_seen;
	bool fin_acked;           /* the peer acknowledged this side's FIN */
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
	uint32_t retransmissions; /* SYN, FIN and data retransmissions (data: stream layer) */
	uint32_t missed_bytes;    /* bytes never captured (stream layer) */
	struct tcp_half half[2];
	uint8_t state;            /* enum tcp_conn_state */
	uint8_t reported;         /* enum tcp_reported bits */
	uint8_t syn_retries;
	bool midstream;           /* the capture joined after the handshake */
};

#endif

/* --- tracking (tcp.c) ----------------------------------------------------- */
struct flow;
struct decoded;
struct icmp_info;
struct stream_env;

/* One TCP packet of flow f sent by `side`: updates state, reports refusals and resets. */
void tcp_track_packet(struct stream_env *env, struct flow *f, int side,
		      const struct decoded *d, uint64_t ts_ns);
/*
 * Judge the timers at now_ns: SynSent timeout, CloseWait, LastAck.  At the
 * end of the capture an unanswered SYN is a timeout whatever its wait.
 */
void tcp_track_check(struct stream_env *env, struct flow *f, uint64_t now_ns, bool capture_end);
/* An ICMP error quoted a segment that `side` of f sent with sequence number `seq`. */
void tcp_track_icmp(struct stream_env *env, struct flow *f, int side, uint32_t seq,
		    const struct icmp_info *icmp, uint64_t ts_ns);
/* When the next condition of this connection falls due (0: none pending). */
uint64_t tcp_track_deadline(const struct flow *f, uint64_t timeout_ns);
