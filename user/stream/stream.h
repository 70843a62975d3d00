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
#include "dissect/dissect.h"
#include "core/flow.h"

struct stream_env {
	struct emitter *em;
	const struct fl_config *cfg;
	struct fl_stats *stats;
};

/* `side` is the sender's index in f->key (0 or 1); f->client says which side initiated. */
void stream_tcp_packet(struct stream_env *env, struct flow *f, int side,
		       const struct decoded *d, uint64_t ts_ns);
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

#endif
