/* SPDX-License-Identifier: MIT */
/*
 * ICMP entries: every message is one, an echo request and its reply are one
 * together, and an error that quotes a tracked flow is also handed to that
 * flow (a SYN becomes SynSent/unreachable; a pending request a half-connection).
 */
#ifndef FL_ICMP_TRACK_H
#define FL_ICMP_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/decode.h"
#include "core/flow.h"
#include "track/icmp_msg.h"
#include "track/track.h"

/*
 * Find the flow an ICMP packet belongs to: its echo flow (created on a
 * request), or for an error the flow of the packet it quotes (never created).
 * Returns NULL when there is none.  `info` is filled for icmp_track_packet.
 */
struct flow *icmp_track_flow(struct flow_table *flows, const struct decoded *d,
			     struct icmp_info *info, uint64_t ts_ns, int *side);
/*
 * Report the message; `f`/`side` as icmp_track_flow returned them.  Returns
 * true when it is an error about the TCP or UDP flow f (the quoted packet was
 * sent by `side`): the pipeline hands it on to the flow's tracker and stream.
 */
bool icmp_track_packet(struct track_env *env, const struct decoded *d,
		       const struct icmp_info *info, struct flow *f, int side, uint64_t ts_ns);
/* Report echo requests still unanswered: those older than the timeout, or all. */
void icmp_track_expire(struct track_env *env, struct flow *f, uint64_t now_ns, bool all);

/* When the oldest unanswered echo request times out (0: none). */
static inline uint64_t icmp_track_deadline(const struct track_env *env, const struct flow *f,
					   uint64_t timeout_ns)
{
	const struct echo_state *e = track_echo(env, f);
	return e->n ? e->ts_ns[0] + timeout_ns : 0;
}

static inline bool flow_is_icmp(const struct flow *f)
{
	return f->key.proto == FL_IPPROTO_ICMP || f->key.proto == FL_IPPROTO_ICMPV6;
}

#endif
