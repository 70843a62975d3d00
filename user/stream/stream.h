/* SPDX-License-Identifier: MIT */
/*
 * The stream layer: between connection tracking and the dissectors.  It owns
 * flow->stream (per-direction reassembly, the chosen dissector and its state)
 * and reports the stream errors (timeout, and through the dissectors
 * half-connection, unexpected-eof, parser-error).  The pipeline calls it for
 * every TCP and UDP packet of a flow after connection tracking.
 */
#ifndef FL_STREAM_H
#define FL_STREAM_H

#include <stdint.h>

#include "core/decode.h"
#include "core/flow.h"
#include "core/packet.h"
#include "dissect/dissect.h"

struct stream_env {
	struct emitter *em;
	const struct fl_config *cfg;
	struct fl_stats *stats;
	int slot;                 /* flow storage id of the flow's struct stream pointer */
	struct payload_control ctl;   /* the source's payload skipping (skip NULL: none) */
};

/* Register the stream layer's flow storage; 0 or -1 (errno). */
int stream_env_init(struct stream_env *env, struct flow_table *flows, struct emitter *em,
		    const struct fl_config *cfg, struct fl_stats *stats);

/* Where a TCP connection's byte streams start, as connection tracking saw it. */
struct stream_origin {
	bool isn_known[2];        /* the SYN of that side was seen: data starts at isn + 1 */
	uint32_t isn[2];
	bool fin_known[2];        /* that side's FIN came before the stream existed */
	uint32_t fin_seq[2];
	bool midstream;           /* the capture joined after the handshake */
	uint64_t rtt_ns;          /* the handshake's round trip (0: unknown) */
};

/*
 * The payload and acknowledgement of one TCP packet.  `side` is the sender's
 * index in f->key (0 or 1); f->client says which side initiated.  How the
 * connection ends (FIN, RST, a new SYN) comes from connection tracking,
 * through stream_tcp_fin() and stream_end().
 */
void stream_tcp_packet(struct stream_env *env, struct flow *f, int side,
		       const struct decoded *d, uint64_t ts_ns, const struct stream_origin *o);
/* `side` sent its FIN (d is that packet): the server's FIN, or both, end the exchange. */
void stream_tcp_fin(struct stream_env *env, struct flow *f, int side, const struct decoded *d,
		    uint64_t ts_ns);
void stream_udp_packet(struct stream_env *env, struct flow *f, int side,
		       const struct decoded *d, uint64_t ts_ns);
/* An ICMP error quoted a packet this flow's `side` sent. */
void stream_icmp_error(struct stream_env *env, struct flow *f, int side,
		       const struct dissect_icmp *icmp, uint64_t ts_ns);
/* The flow saw no packet since f->last_ts_ns and now_ns is past the timeout. */
void stream_idle(struct stream_env *env, struct flow *f, uint64_t now_ns);
/* The connection ended (FIN from both, RST), or the capture ended, or eviction. */
void stream_end(struct stream_env *env, struct flow *f, enum dissect_end why, int by_side,
		uint64_t ts_ns);
/* Release f->stream. */
void stream_free(struct stream_env *env, struct flow *f);
/* A pipeline thread ends (--workers): free what the dissectors keep per thread. */
void stream_thread_end(void);

#endif
