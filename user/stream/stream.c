// SPDX-License-Identifier: MIT
/*
 * The stream layer: per-flow reassembly (reasm.c, one per direction), the
 * choice of a dissector, and the stream errors that belong to no protocol.
 *
 * - The stream is allocated on a flow's first payload (its pointer is the
 *   stream layer's flow storage).  Data starts at the
 *   ISN + 1 the connection tracker saw, or at the first data segment when the
 *   capture joined midstream (then dissectors resynchronise).
 * - The dissector is chosen by content: every TCP dissector probes the first
 *   bytes; YES wins (a port hint breaks ties), MAYBE waits for more bytes (up
 *   to STREAM_PROBE_MAX).  A midstream stream whose server port a dissector
 *   hints at gets that dissector, which resynchronises on its own.
 * - Bytes the client sends that nobody recognises make the stream opaque (not
 *   parsed, no errors); the server speaking first waits for the client.
 * - A server FIN, both FINs, or a RST end the stream: everything held is
 *   delivered (holes skipped and counted) and the dissector's end() reports
 *   what was unfinished.  After a FIN a hole before it is waited for (its
 *   retransmission comes after the FIN in a receiver's capture) until it
 *   fills, the peer acknowledges past it, the timeout or the capture's end:
 *   bytes are missed only when no captured segment ever carried them.
 * - Segments filling a hole later than the handshake's round trip are
 *   retransmissions (sooner: out of order), and data resent after the
 *   stream ended still counts as retransmitted.
 * - The pipeline's stream_idle() judges staleness: a stream holding
 *   unfinished data (dissector pending(), unconsumed or held bytes, bytes no
 *   dissector recognised) is counted in tcp.streams_timed_out, its pending
 *   data is dropped, and it starts over as if joined midstream.
 */
#include "stream/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "report/stats.h"
#include "stream/reasm.h"
#include "stream/seq.h"
#include "dissect/exchange.h"

#define STREAM_PROBE_MAX 4096u            /* bytes a MAYBE may wait for */
#define STREAM_UNRECOGNISED_MAX (64u * 1024) /* midstream bytes probed before giving up */
/*
 * A segment filling a hole behind the highest one seen, more than the
 * handshake's round trip after it (this when the round trip is unknown): the
 * copy that made the hole was lost before the capture point and this is its
 * retransmission; sooner, the network reordered it.  Wireshark's
 * tcp.analysis.out_of_order rule, with its threshold.
 */
#define STREAM_REORDER_NS (3ull * 1000000)
/*
 * Payload skipping (tap.skipPayload, eBPF): a body shorter than this is not
 * worth a map write (one syscall per request, never per packet); a range is
 * at most STREAM_SKIP_SPAN long (sequence comparisons stay wrap-safe) and is
 * asked again once the stream has passed it.
 */
#define STREAM_SKIP_MIN 4096u
#define STREAM_SKIP_SPAN (1u << 30)

struct stream;

struct stream_side {
	struct stream *s;
	int side;
};

struct stream {
	struct reasm dir[2];              /* indexed by the sender's side in the flow key */
	struct stream_side sides[2];
	struct reasm_sink sinks[2];       /* the reassembly sink of each side */
	const struct dissector_ops *ops;
	void *state;
	uint8_t client;                   /* side of the client */
	bool tcp;
	bool midstream;
	bool opaque;                      /* nobody recognised it: not parsed */
	bool dead;                        /* the dissector gave up (parser error) */
	bool ended;
	bool fin[2];
	/* The FINs end the exchange, but holes before them wait for their
	 * retransmissions (they come after the FIN in a receiver's capture). */
	bool end_pending;
	uint8_t end_side;
	/* Per side: the end of the highest segment seen and when it came (hole fillers). */
	uint32_t high[2];
	uint64_t high_ts[2];
	bool high_known[2];
	uint64_t reorder_ns;              /* a hole filled later than this is a retransmission */
	uint64_t unrecognised;            /* bytes no dissector recognised, undecided stream */
	uint64_t unrecognised_ts;
	/* Per side: the payload range the source was asked not to copy (tap.skipPayload):
	 * cut bytes inside it are skipped, not truncated. */
	bool skip_asked[2], skip_all[2];
	uint32_t skip_from[2], skip_to[2];
	/* The segment being reassembled was cut for skipping (headers only, or an
	 * HTTP/1.x head the kernel framed): a cut of it the dissector wanted is a
	 * disagreement between the kernel and the dissector. */
	bool skip_cut;
	/* The call in progress, for the reassembly sink. */
	struct stream_env *env;
	struct flow *f;
	uint64_t ts;
};

int stream_env_init(struct stream_env *env, struct flow_table *flows, struct emitter *em,
		    const struct fl_config *cfg, struct fl_stats *stats)
{
	*env = (struct stream_env){ .em = em, .cfg = cfg, .stats = stats };
	env->slot = flow_storage_register(flows, sizeof(struct stream *));
	return env->slot < 0 ? -1 : 0;
}

static struct stream **slot_of(const struct stream_env *env, const struct flow *f)
{
	return flow_storage(f, env->slot);
}

static enum dissect_dir side_dir(const struct stream *s, int side)
{
	return side == s->client ? DISSECT_TO_SERVER : DISSECT_TO_CLIENT;
}

static void endpoint(const struct flow *f, int side, struct fl_endpoint *ep)
{
	ep->addr = f->key.addr[side];
	ep->port = f->key.port[side];
	ep->has_port = true;
}

/*
 * The dissector's view of the flow: what it needs of struct flow is copied
 * into the context, and the entries it begins are the flow's (scope_flow)
 * until ctx_done().
 */
static void make_ctx(struct stream *s, struct dissect_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->em = s->env->em;
	ctx->cfg = s->env->cfg;
	ctx->stats = s->env->stats;
	ctx->ts_ns = s->ts;
	endpoint(s->f, s->client, &ctx->client);
	endpoint(s->f, !s->client, &ctx->server);
	ctx->transport = s->tcp ? DISSECT_TCP : DISSECT_UDP;
	if (s->tcp) {
		ctx->tcp.missed_bytes = s->f->missed_bytes;
		ctx->tcp.retransmissions = s->f->retransmissions;
		ctx->tcp.truncated_bytes = s->f->truncated_bytes;
	}
	ctx->midstream = s->midstream;
	ctx->skipping = s->tcp && s->env->ctl.skip && !s->f->tunnels;
	ctx->timeout_ms = s->env->cfg->stream_timeout_ms;
	s->env->em->scope_flow = s->f;
}

static void ctx_done(struct stream *s)
{
	s->env->em->scope_flow = NULL;
}

static struct reasm_env reasm_env_of(const struct stream_env *env)
{
	return (struct reasm_env){ .stats = env->stats,
				   .memcap = (uint64_t)env->cfg->reassembly_memcap_mb << 20 };
}

static void set_client(struct stream *s, int client_side)
{
	s->client = (uint8_t)client_side;
	s->f->client = (uint8_t)client_side;
	s->f->client_known = true;
}

/* The dissector's state freed and given back to the budget; the stream has none after. */
static void release_dissector(struct stream_env *env, struct stream *s)
{
	if (s->ops && s->state) {
		s->ops->free(s->state);
		env->stats->memory.stream_bytes -= s->ops->state_size;
	}
	s->ops = NULL;
	s->state = NULL;
}

static bool select_dissector(struct stream *s, const struct dissector_ops *ops)
{
	struct dissect_ctx ctx;
	make_ctx(s, &ctx);
	s->ops = ops;
	if (memory_allows(s->env->stats, ops->state_size))
		s->state = ops->new(&ctx);
	else
		s->env->stats->memory.over_limit++;
	ctx_done(s);
	if (!s->state) {
		s->ops = NULL;
		s->opaque = true;
		return false;
	}
	s->env->stats->memory.stream_bytes += ops->state_size;
	return true;
}

/* The client is not known (no SYN seen): take it from a port hint or from the content. */
static void guess_client(struct stream *s, int side, const uint8_t *data, size_t len)
{
	unsigned transport = s->tcp ? DISSECT_TCP : DISSECT_UDP;
	for (const struct dissector_ops *const *d = dissectors; *d; d++) {
		const struct dissector_ops *ops = *d;
		if (!(ops->transports & transport))
			continue;
		if (ops->probe(data, len, DISSECT_TO_SERVER, false) == DISSECT_PROBE_YES) {
			set_client(s, side);
			return;
		}
		if (ops->probe(data, len, DISSECT_TO_CLIENT, false) == DISSECT_PROBE_YES) {
			set_client(s, !side);
			return;
		}
	}
	for (const struct dissector_ops *const *d = dissectors; *d; d++) {
		const struct dissector_ops *ops = *d;
		if (!(ops->transports & transport) || !ops->port_hint)
			continue;
		bool mine = ops->port_hint(s->f->key.port[side]);
		bool peer = ops->port_hint(s->f->key.port[!side]);
		if (mine != peer) {
			set_client(s, mine ? !side : side);
			return;
		}
	}
}

/*
 * No dissector yet: probe.  Returns true when one was chosen; otherwise
 * *consumed says what to do with the bytes (0: wait for more).
 */
static bool choose(struct stream *s, int side, const uint8_t *data, size_t len, size_t *consumed)
{
	unsigned transport = s->tcp ? DISSECT_TCP : DISSECT_UDP;
	/* UDP's client is only the first sender's guess (pipeline): content may correct it. */
	if (!s->f->client_known || !s->tcp)
		guess_client(s, side, data, len);
	enum dissect_dir dir = side_dir(s, side);
	uint16_t server_port = s->f->key.port[!s->client];

	if (s->midstream && s->tcp) {
		for (const struct dissector_ops *const *d = dissectors; *d; d++)
			if (((*d)->transports & transport) && (*d)->port_hint &&
			    (*d)->port_hint(server_port))
				return select_dissector(s, *d);
	}
	const struct dissector_ops *best = NULL;
	bool best_hint = false, maybe = false;
	for (const struct dissector_ops *const *d = dissectors; *d; d++) {
		const struct dissector_ops *ops = *d;
		if (!(ops->transports & transport))
			continue;
		bool hint = ops->port_hint && ops->port_hint(server_port);
		enum dissect_probe p = ops->probe(data, len, dir, hint);
		if (p == DISSECT_PROBE_YES && (!best || (hint && !best_hint))) {
			best = ops;
			best_hint = hint;
		} else if (p == DISSECT_PROBE_MAYBE) {
			maybe = true;
		}
	}
	if (best)
		return select_dissector(s, best);
	if (maybe && len < STREAM_PROBE_MAX) {
		*consumed = 0;
		return false;
	}
	/* Nobody knows these bytes. */
	if (!s->unrecognised)
		s->unrecognised_ts = s->ts;
	s->unrecognised += len;
	if (s->tcp && ((!s->midstream && dir == DISSECT_TO_SERVER) ||
		       s->unrecognised > STREAM_UNRECOGNISED_MAX))
		s->opaque = true;
	*consumed = len;
	return false;
}

/* The reassembly sink: in-order bytes of one side. */
static size_t sink_data(void *arg, const uint8_t *data, size_t len)
{
	struct stream_side *ss = arg;
	struct stream *s = ss->s;
	if (s->opaque || s->dead || s->ended)
		return len;
	bool chosen_now = false;
	if (!s->ops) {
		size_t consumed;
		if (!choose(s, ss->side, data, len, &consumed))
			return consumed;
		chosen_now = true;
	}
	struct dissect_ctx ctx;
	make_ctx(s, &ctx);
	ssize_t n = s->ops->parse(s->state, &ctx, side_dir(s, ss->side), data, len);
	ctx_done(s);
	if (n < 0) {
		s->dead = true;
		return len;
	}
	/* Bytes the other side left waiting for a probe can go now too. */
	int other = !ss->side;
	if (chosen_now && s->dir[other].pending_len) {
		struct reasm_env renv = reasm_env_of(s->env);
		reasm_redeliver(&s->dir[other], &renv, &s->sinks[other]);
	}
	return (size_t)n;
}

/* Was this cut range one the source was asked to skip? */
static bool skipped_range(const struct stream *s, int side, const struct reasm_gap *g)
{
	if (!g->truncated || !s->skip_asked[side] || g->unconsumed)
		return false;
	if (s->skip_all[side])
		return true;
	return SEQ_GEQ(g->seq, s->skip_from[side]) &&
	       SEQ_LEQ(g->seq + g->missing, s->skip_to[side]);
}

/*
 * With skipping on, bytes the capture cut (tap.payloadBytes: the rest of the
 * segment that carried a head) that the dissector only counts, or that
 * nobody parses, are skipped too: they were not wanted.
 */
static bool unwanted(const struct stream *s, int side, const struct reasm_gap *g)
{
	if (!g->truncated || !s->env->ctl.skip || g->unconsumed || s->ended)
		return false;
	if (s->opaque || s->dead)
		return true;
	return s->ops && s->ops->skippable &&
	       s->ops->skippable(s->state, side_dir(s, side)) >= g->missing;
}

static void sink_gap(void *arg, const struct reasm_gap *g)
{
	struct stream_side *ss = arg;
	struct stream *s = ss->s;
	if (skipped_range(s, ss->side, g) || unwanted(s, ss->side, g)) {
		/* Body no dissector parses, left in the kernel: neither loss nor truncation. */
		s->env->stats->capture.skipped_bytes += g->missing;
		if (!s->ops || s->dead || s->ended || !s->ops->gap || s->skip_all[ss->side] ||
		    s->opaque)
			return;
		enum dissect_dir sdir = side_dir(s, ss->side);
		if (s->ops->skippable && s->ops->skippable(s->state, sdir) >= g->missing) {
			struct dissect_ctx ctx;
			make_ctx(s, &ctx);
			ctx.skipped = true;
			s->ops->gap(s->state, &ctx, sdir, g->missing);
			ctx_done(s);
			return;
		}
		/* The dissector is not where it asked from (it cannot be): a cut after all. */
		s->env->stats->capture.skipped_bytes -= g->missing;
	}
	if (g->truncated) {
		s->f->truncated_bytes += g->missing;
		s->env->stats->tcp.truncated_bytes += g->missing;
		if (s->skip_cut && s->env->ctl.skip)
			s->env->stats->capture.frame_disagreements++;
	} else {
		s->f->missed_bytes += g->missing;
		s->env->stats->tcp.missed_bytes += g->missing;
	}
	if (!s->ops || s->dead || s->ended || !s->ops->gap)
		return;
	struct dissect_ctx ctx;
	make_ctx(s, &ctx);
	enum dissect_dir dir = side_dir(s, ss->side);
	ctx.unconsumed[dir] = g->unconsumed;
	ctx.unconsumed_data[dir] = g->unconsumed_data;
	ctx.truncated = g->truncated;
	s->ops->gap(s->state, &ctx, dir, g->missing);
	ctx_done(s);
}

/* The flow's stream, created with `o` (TCP) on its first payload; existing streams ignore `o`. */
static struct stream *stream_get(struct stream_env *env, struct flow *f, bool tcp, uint64_t ts,
				 const struct stream_origin *o)
{
	static const struct stream_origin unknown;   /* UDP, or no origin given */
	if (!o)
		o = &unknown;
	struct stream *s = *slot_of(env, f);
	if (!s) {
		if (!memory_allows(env->stats, sizeof(*s))) {
			env->stats->memory.over_limit++;     /* the flow's payload is not parsed */
			return NULL;
		}
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		env->stats->memory.stream_bytes += sizeof(*s);
		*slot_of(env, f) = s;
		s->tcp = tcp;
		for (int i = 0; i < 2; i++) {
			reasm_init(&s->dir[i]);
			s->sides[i] = (struct stream_side){ s, i };
			s->sinks[i] = (struct reasm_sink){ sink_data, sink_gap, &s->sides[i] };
			if (tcp && o->isn_known[i])
				reasm_start(&s->dir[i], o->isn[i]);
			/* A FIN before the first payload: an ACK of it is no missed byte. */
			if (tcp && o->isn_known[i] && o->fin_known[i])
				reasm_fin(&s->dir[i], o->fin_seq[i]);
		}
		s->client = f->client;
		s->reorder_ns = o->rtt_ns ? o->rtt_ns : STREAM_REORDER_NS;
		s->midstream = tcp && (o->midstream || !(o->isn_known[0] || o->isn_known[1]));
	}
	s->env = env;
	s->f = f;
	s->ts = ts;
	if (f->client_known)
		s->client = f->client;
	return s;
}

static const struct reasm_sink *sink_of(struct stream *s, int side)
{
	return &s->sinks[side];
}

static bool unfinished(const struct stream *s)
{
	if (s->opaque || s->dead || s->ended)
		return false;
	for (int i = 0; i < 2; i++)
		if (s->dir[i].pending_len || s->dir[i].held_bytes)
			return true;
	/* Unrecognised bytes are unfinished only when we saw the stream start: joined
	 * midstream, they may just be a protocol we never got in step with. */
	if (!s->ops)
		return s->unrecognised > 0 && !s->midstream;
	return s->ops->pending && s->ops->pending(s->state);
}

static void skip_forget(struct stream *s);

/* Tell the dissector the stream ended; nothing is parsed after. */
static void finish(struct stream *s, enum dissect_end why, int by_side, bool flush)
{
	if (s->ended)
		return;
	struct reasm_env renv = reasm_env_of(s->env);
	if (flush)
		for (int i = 0; i < 2; i++)
			reasm_flush(&s->dir[i], &renv, sink_of(s, i));
	if (s->ops && s->state && s->ops->end && !s->dead && !s->opaque) {
		struct dissect_ctx ctx;
		make_ctx(s, &ctx);
		ctx.end_reason = why;
		ctx.end_by = side_dir(s, by_side);
		for (int i = 0; i < 2; i++) {
			ctx.unconsumed[side_dir(s, i)] = s->dir[i].pending_len;
			ctx.fin[side_dir(s, i)] = s->fin[i];
		}
		s->ops->end(s->state, &ctx);
		ctx_done(s);
	}
	s->ended = true;
	s->end_pending = false;
	for (int i = 0; i < 2; i++)
		reasm_free(&s->dir[i], &renv);
	skip_forget(s);
}

/* Every byte before each FIN is in (delivered or skipped), nothing waits behind a hole. */
static bool complete(const struct stream *s)
{
	for (int i = 0; i < 2; i++) {
		const struct reasm *r = &s->dir[i];
		if (r->held_bytes || (r->fin && r->started && SEQ_LT(r->next_seq, r->fin_seq)))
			return false;
	}
	return true;
}

static void skip_request(const struct stream *s, int side, struct fl_skip *sk)
{
	const struct flow *f = s->f;
	memset(sk, 0, sizeof(*sk));
	sk->family = f->key.addr[side].family;
	memcpy(sk->saddr, f->key.addr[side].bytes, 16);
	memcpy(sk->daddr, f->key.addr[!side].bytes, 16);
	sk->sport = f->key.port[side];
	sk->dport = f->key.port[!side];
	sk->from = s->skip_from[side];
	sk->to = s->skip_to[side];
	sk->all = s->skip_all[side];
}

/*
 * Was this segment cut for skipping?  Sent as headers only (a skip range:
 * the stream layer's or the kernel's framing), or an HTTP/1.x response
 * copied up to the end of its head and no further, short of
 * tap.payloadBytes (bpf/skip.bpf.h skip_frame()).
 */
static bool cut_for_skipping(const struct stream_env *env, const struct decoded *d)
{
	uint32_t n = d->payload_caplen, cap = env->cfg->payload_bytes;
	if (!env->ctl.skip || n >= d->payload_len)
		return false;
	if (n == 0)
		return true;
	return n >= 16 && (cap == 0 || n < cap) && memcmp(d->payload, "HTTP/1.", 7) == 0 &&
	       memcmp(d->payload + n - 4, "\r\n\r\n", 4) == 0;
}

/* The source may copy the side's payload again (the stream ended or starts over). */
static void skip_forget(struct stream *s)
{
	const struct payload_control *ctl = &s->env->ctl;
	for (int i = 0; i < 2; i++) {
		if (!s->skip_asked[i])
			continue;
		if (ctl->forget) {
			struct fl_skip sk;
			skip_request(s, i, &sk);
			ctl->forget(ctl->ctx, &sk);
		}
		s->skip_asked[i] = s->skip_all[i] = false;
	}
}

/*
 * After a segment of `side`: if what comes next is body the dissector only
 * counts (or nobody parses the stream at all), ask the source not to copy it.
 * Only for flows the kernel sees as they are (not inside a tunnel), and only
 * once per body: the request is a map write.
 */
static void skip_ask(struct stream *s, int side)
{
	const struct payload_control *ctl = &s->env->ctl;
	const struct reasm *r = &s->dir[side];
	if (!ctl->skip || s->f->tunnels || !r->started || r->pending_len || s->ended ||
	    s->skip_all[side])
		return;
	bool all = s->opaque || s->dead;
	uint64_t n = 0;
	if (!all) {
		if (!s->ops || !s->ops->skippable)
			return;
		n = s->ops->skippable(s->state, side_dir(s, side));
		if (n < STREAM_SKIP_MIN)
			return;
		if (n > STREAM_SKIP_SPAN)
			n = STREAM_SKIP_SPAN;
	}
	uint32_t to = r->next_seq + (uint32_t)n;
	if (!all && s->skip_asked[side] && SEQ_GEQ(s->skip_to[side], to) &&
	    SEQ_LEQ(s->skip_from[side], r->next_seq))
		return;               /* already asked for */
	s->skip_asked[side] = true;
	s->skip_all[side] = all;
	s->skip_from[side] = r->next_seq;
	s->skip_to[side] = to;
	struct fl_skip sk;
	skip_request(s, side, &sk);
	ctl->skip(ctl->ctx, &sk);
	s->env->stats->capture.skip_requests++;
}

void stream_tcp_packet(struct stream_env *env, struct flow *f, int side,
		       const struct decoded *d, uint64_t ts_ns, const struct stream_origin *o)
{
	struct stream *s = *slot_of(env, f);
	/* A new connection on the same addresses and ports: start over. */
	if (s && s->ended && (d->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		stream_free(env, f);
	if (!*slot_of(env, f) && d->payload_len == 0)
		return;
	s = stream_get(env, f, true, ts_ns, o);
	if (!s)
		return;
	uint8_t flags = d->tcp_flags;
	if (s->ended) {
		/* Data resent after the exchange ended (the sender had not seen its
		 * ACK yet): still a retransmission. */
		uint32_t sq = d->seq + ((flags & TCP_SYN) ? 1 : 0);
		if (d->payload_len && !(flags & TCP_RST) && s->dir[side].started &&
		    SEQ_LT(sq, s->dir[side].next_seq)) {
			f->retransmissions++;
			env->stats->tcp.retransmissions++;
		}
		return;
	}
	struct reasm_env renv = reasm_env_of(env);

	/* A FIN of the peer the tracker inferred (never captured): its ACK is no missed byte. */
	if (o && o->fin_known[!side] && s->dir[!side].started && !s->dir[!side].fin)
		reasm_fin(&s->dir[!side], o->fin_seq[!side]);
	/* What this packet acknowledges first: a hole the peer acked is final. */
	if (flags & TCP_ACK)
		reasm_ack(&s->dir[!side], &renv, d->ack, sink_of(s, !side));

	uint32_t seq = d->seq + ((flags & TCP_SYN) ? 1 : 0);
	/* Sequence space from the headers (IP total length), bytes as captured. */
	if (d->payload_len && !(flags & TCP_RST)) {
		s->skip_cut = cut_for_skipping(env, d);
		unsigned res = reasm_segment_wire(&s->dir[side], &renv, seq, d->payload,
						  d->payload_caplen, d->payload_len,
						  sink_of(s, side));
		s->skip_cut = false;
		uint32_t end = seq + d->payload_len;
		bool behind = s->high_known[side] && SEQ_LEQ(end, s->high[side]);
		if ((res & REASM_OUT_OF_ORDER) && !(res & REASM_RETRANSMISSION) && behind &&
		    ts_ns - s->high_ts[side] > s->reorder_ns)
			res |= REASM_RETRANSMISSION;   /* a hole filled late: the lost copy resent */
		/* A SYN sent again is counted once, by the connection tracker. */
		if ((res & REASM_RETRANSMISSION) && !(flags & TCP_SYN)) {
			f->retransmissions++;
			env->stats->tcp.retransmissions++;
		} else if ((res & REASM_OUT_OF_ORDER) && !(res & REASM_RETRANSMISSION)) {
			env->stats->tcp.out_of_order++;
		}
		if (!behind) {
			s->high[side] = end;
			s->high_ts[side] = ts_ns;
			s->high_known[side] = true;
		}
		skip_ask(s, side);
	}
	if (s->end_pending && complete(s))
		finish(s, DISSECT_END_FIN, s->end_side, true);
}

void stream_tcp_fin(struct stream_env *env, struct flow *f, int side, const struct decoded *d,
		    uint64_t ts_ns)
{
	struct stream *s = *slot_of(env, f);
	if (!s || s->ended)
		return;
	stream_get(env, f, true, ts_ns, NULL);
	uint32_t seq = d->seq + ((d->tcp_flags & TCP_SYN) ? 1 : 0);
	reasm_fin(&s->dir[side], seq + d->payload_len);
	s->fin[side] = true;
	/* The server closing ends the exchange; the client closing only its half does
	 * not.  A hole before a FIN is waited for: its retransmission may follow. */
	if (s->fin[!side] || side != s->client) {
		if (complete(s)) {
			finish(s, DISSECT_END_FIN, side, true);
		} else if (!s->end_pending) {
			s->end_pending = true;
			s->end_side = (uint8_t)side;
		}
	}
}

void stream_udp_packet(struct stream_env *env, struct flow *f, int side,
		       const struct decoded *d, uint64_t ts_ns)
{
	if (d->payload_caplen == 0)
		return;
	struct stream *s = stream_get(env, f, false, ts_ns, NULL);
	if (!s || s->dead || s->opaque)
		return;
	if (s->ended) {
		/* A UDP conversation that went stale starts over with the next datagram. */
		stream_free(env, f);
		s = stream_get(env, f, false, ts_ns, NULL);
		if (!s)
			return;
	}
	if (!s->ops) {
		size_t consumed;
		if (!choose(s, side, d->payload, d->payload_caplen, &consumed))
			return;
	}
	struct dissect_ctx ctx;
	make_ctx(s, &ctx);
	if (s->ops->parse(s->state, &ctx, side_dir(s, side), d->payload, d->payload_caplen) < 0)
		s->dead = true;
	ctx_done(s);
}

void stream_icmp_error(struct stream_env *env, struct flow *f, int side,
		       const struct dissect_icmp *icmp, uint64_t ts_ns)
{
	(void)side;
	struct stream *s = *slot_of(env, f);
	if (!s || s->ended || s->dead || !s->ops || !s->ops->icmp)
		return;
	stream_get(env, f, s->tcp, ts_ns, NULL);
	struct dissect_ctx ctx;
	make_ctx(s, &ctx);
	s->ops->icmp(s->state, &ctx, icmp);
	ctx_done(s);
}

/* Emit the `timeout` entry for bytes no dissector recognised. */
static void report_unrecognised(struct stream *s)
{
	struct fl_endpoint client, server;
	endpoint(s->f, s->client, &client);
	endpoint(s->f, !s->client, &server);
	struct doc *d = entry_begin(s->env->em, s->unrecognised_ts ? s->unrecognised_ts : s->ts,
				    "tcp", &client, &server, s->f);
	char msg[160];
	uint64_t held = 0;
	for (int i = 0; i < 2; i++)
		held += s->dir[i].pending_len + s->dir[i].held_bytes;
	snprintf(msg, sizeof(msg), "stream idle for %llu ms with %llu bytes unparsed",
		 (unsigned long long)s->env->cfg->stream_timeout_ms,
		 (unsigned long long)(s->unrecognised + held));
	entry_set_error(s->env->em, FL_ERR_TIMEOUT, msg, NULL);
	dissect_add_tcp(d, s->f->missed_bytes, s->f->retransmissions, s->f->truncated_bytes);
	entry_commit(s->env->em);
}

void stream_idle(struct stream_env *env, struct flow *f, uint64_t now_ns)
{
	struct stream *s = *slot_of(env, f);
	if (!s || s->ended)
		return;
	stream_get(env, f, s->tcp, now_ns, NULL);
	if (s->end_pending) {
		/* Closed with a hole the timeout did not see filled: it is missed. */
		finish(s, DISSECT_END_FIN, s->end_side, true);
		return;
	}
	if (!unfinished(s))
		return;
	if (s->tcp)
		env->stats->tcp.streams_timed_out++;
	if (s->ops && s->state)
		finish(s, DISSECT_END_TIMEOUT, s->client, false);
	else if (s->tcp)
		report_unrecognised(s);
	/* Stale: drop what was pending and start over as a stream joined midstream. */
	skip_forget(s);
	struct reasm_env renv = reasm_env_of(env);
	for (int i = 0; i < 2; i++)
		reasm_free(&s->dir[i], &renv);
	release_dissector(env, s);
	s->unrecognised = 0;
	s->unrecognised_ts = 0;
	s->ended = false;
	s->midstream = s->tcp;
}

void stream_end(struct stream_env *env, struct flow *f, enum dissect_end why, int by_side,
		uint64_t ts_ns)
{
	struct stream *s = *slot_of(env, f);
	if (!s || s->ended)
		return;
	stream_get(env, f, s->tcp, ts_ns, NULL);
	if (s->end_pending && why != DISSECT_END_RST) {
		/* The FINs closed it; only the wait for a hole's retransmission was left. */
		finish(s, DISSECT_END_FIN, s->end_side, true);
		return;
	}
	if (why == DISSECT_END_TIMEOUT && s->tcp && unfinished(s))
		env->stats->tcp.streams_timed_out++;
	finish(s, why, by_side, why != DISSECT_END_TIMEOUT);
}

void stream_free(struct stream_env *env, struct flow *f)
{
	struct stream *s = *slot_of(env, f);
	if (!s)
		return;
	struct reasm_env renv = reasm_env_of(env);
	s->env = env;
	s->f = f;
	skip_forget(s);
	for (int i = 0; i < 2; i++)
		reasm_free(&s->dir[i], &renv);
	release_dissector(env, s);
	free(s);
	env->stats->memory.stream_bytes -= sizeof(*s);
	*slot_of(env, f) = NULL;
}

void stream_thread_end(void)
{
	exchange_cache_free();
}
