// SPDX-License-Identifier: MIT
/*
 * The pipeline: decode -> flow -> trackers -> stream layer -> entries.
 *
 * The one place that sequences the stages: trackers judge the transport and
 * return events (a connection restarted, reset, half-closed, closed; an ICMP
 * error about a flow), and the pipeline hands them to the stream layer, so
 * only one place decides that a stream ended.
 *
 * Time is the packets' own (in capture the source also ticks the wall clock
 * in), and it drives the timeouts: every scan interval the least recently
 * active flows are examined from the LRU tail, and a flow idle for
 * tap.tcpStreamChannelTimeoutMs is judged and freed, except a synchronized
 * TCP connection: idle keep-alive connections are normal, so only what is
 * pending (its timers, its stream's unfinished data) is judged and the flow
 * stays until it closes or the LRU evicts it under tap.maxFlows.
 */
#include "pipeline_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <string.h>

#include "core/bytes.h"
#include "core/decode.h"
#include "core/dedup.h"
#include "core/defrag.h"
#include "core/flow.h"
#include "stream/stream.h"
#include "track/icmp.h"
#include "track/kernel_drops.h"
#include "track/kernel_events.h"
#include "track/icmp_msg.h"
#include "report/names.h"
#include "report/owners.h"
#include "track/tcp.h"

static inline void set_key(struct pipeline *p, uint64_t phase, uint64_t k1, uint64_t k2)
{
	p->key.seq = p->seq;
	p->key.phase = phase;
	p->key.k1 = k1;
	p->key.k2 = k2;
}

static uint64_t timeout_ns(const struct pipeline *p)
{
	return p->cfg.stream_timeout_ms * 1000000ull;
}

/* Judge what a flow still holds: its timers, its stream, its echo requests. */
static void judge(struct pipeline *p, struct flow *f, bool capture_end)
{
	if (f->key.proto == FL_IPPROTO_TCP)
		tcp_track_check(&p->track, f, p->now_ns, capture_end);
	else if (flow_is_icmp(f))
		icmp_track_expire(&p->track, f, p->now_ns, true);
}

/* The flow table frees a flow: on eviction judge it first, always release its state. */
static void on_flow_release(void *ctx, struct flow *f, bool evicted)
{
	struct pipeline *p = ctx;
	tcp_track_flush(&p->track, f);     /* a Reset still gathering RSTs */
	if (evicted) {
		judge(p, f, false);
		stream_end(&p->env, f, DISSECT_END_EVICTED, f->client, p->now_ns);
		if (f->key.proto == FL_IPPROTO_TCP)
			tcp_track_evicted(&p->track, f);
	}
	stream_free(&p->env, f);
	kernel_events_forget_flow(p->kernel, &p->track, f);
	if (f->tunnels) {
		p->stats->memory.flow_bytes -= sizeof(*f->tunnels);
		free(f->tunnels);
		f->tunnels = NULL;
	}
	for (unsigned i = 0; i < p->n_observers; i++)
		if (p->observers[i].flow_end)
			p->observers[i].flow_end(p->observers[i].ctx, f);
}

/* Every entry committed meets the kernel's resets and drops of its flow. */
static void annotate(void *ctx, struct emitter *em)
{
	struct pipeline *p = ctx;
	kernel_events_annotate(p->kernel, em);
	kernel_drops_annotate(p->drops, em);
}

struct pipeline *pipeline_new(const struct fl_config *cfg, struct fl_stats *stats)
{
	if (cfg->workers > 1)
		return workers_new(cfg, stats, cfg->workers > PIPELINE_MAX_WORKERS ?
					       PIPELINE_MAX_WORKERS : cfg->workers);
	struct pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->stats = stats;
	emitter_init(&p->em, stats);
	p->flows = flow_table_new(cfg->max_flows, stats, on_flow_release, p);
	p->kernel = kernel_events_new();
	p->drops = kernel_drops_new(cfg);
	p->em.names = names_new(cfg->max_names, stats);
	p->defrag = defrag_new((uint64_t)cfg->defrag_memcap_mb << 20,
			       cfg->defrag_timeout_ms * 1000000ull, &stats->ip);
	p->dedup = dedup_new(stats, DEDUP_SLOTS, DEDUP_WINDOW_NS);
	if (!p->flows || !p->kernel || !p->drops || !p->defrag || !p->dedup || !p->em.names ||
	    track_env_init(&p->track, p->flows, &p->em, &p->cfg, stats) < 0 ||
	    stream_env_init(&p->env, p->flows, &p->em, &p->cfg, stats) < 0) {
		flow_table_free(p->flows);
		kernel_events_free(p->kernel);
		kernel_drops_free(p->drops);
		defrag_free(p->defrag);
		dedup_free(p->dedup);
		names_free(p->em.names);
		emitter_free(&p->em);
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	defrag_set_budget(p->defrag, stats, &stats->memory.over_limit);
	p->em.annotate = annotate;
	p->em.annotate_ctx = p;
	return p;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	if (p->mt) {
		workers_free(p);
		return;
	}
	flow_table_free(p->flows);
	kernel_events_free(p->kernel);
	track_env_free(&p->track);
	kernel_drops_free(p->drops);
	defrag_free(p->defrag);
	dedup_free(p->dedup);
	names_free(p->em.names);
	owners_free(p->em.owners);
	emitter_free(&p->em);
	free(p);
}

struct names *pipeline_names(struct pipeline *p)
{
	return p->em.names;
}

void pipeline_set_redact(struct pipeline *p, bool redact)
{
	p->em.redact = redact;
	for (unsigned i = 0; i < n_workers(p); i++)
		pipeline_set_redact(worker_pipeline(p, i), redact);
}

void pipeline_set_first_id(struct pipeline *p, uint64_t id)
{
	emitter_set_first_id(&p->em, id);
}

void pipeline_set_ifname(struct pipeline *p, const char *(*ifname)(void *ctx, uint32_t ifindex),
			 void *ctx)
{
	p->em.ifname = ifname;
	p->em.ifname_ctx = ctx;
	for (unsigned i = 0; i < n_workers(p); i++)
		pipeline_set_ifname(worker_pipeline(p, i), ifname, ctx);
	if (p->mt)
		return;
	/* Where each flow was first seen (interface, direction): set from its first packet. */
	if (!p->em.origin_slot) {
		int slot = flow_storage_register(p->flows, sizeof(struct flow_origin));
		p->em.origin_slot = slot > 0 ? slot : 0;
	}
}

void pipeline_set_node(struct pipeline *p, const char *node)
{
	p->em.node = node && *node ? node : NULL;
	for (unsigned i = 0; i < n_workers(p); i++)
		pipeline_set_node(worker_pipeline(p, i), node);
}

int pipeline_add_sink(struct pipeline *p, struct entry_sink sink)
{
	return emitter_add_sink(&p->em, sink);
}

int pipeline_flow_storage(struct pipeline *p, size_t size)
{
	if (p->mt) {
		errno = ENOTSUP;    /* the observers (the recorder) run with one pipeline */
		return -1;
	}
	return flow_storage_register(p->flows, size);
}

int pipeline_add_observer(struct pipeline *p, struct packet_observer obs)
{
	/* --workers: the front's observers see every packet with no flow (workers.c). */
	if (p->mt && obs.flow_end)
		obs.flow_end = NULL;
	if (p->n_observers == MAX_OBSERVERS)
		return -ENOSPC;
	p->observers[p->n_observers++] = obs;
	return 0;
}

/* Judge and free the flows idle for a timeout, oldest first. */
static void expire_idle(struct pipeline *p)
{
	uint64_t limit = timeout_ns(p);
	struct flow *f;
	while ((f = flow_oldest(p->flows)) && p->now_ns > flow_idle_since(f) &&
	       p->now_ns - flow_idle_since(f) >= limit) {
		set_key(p, PH_IDLE, flow_lru_seq(p->flows, f), 0);
		if (f->key.proto == FL_IPPROTO_TCP) {
			tcp_track_check(&p->track, f, p->now_ns, false);
			stream_idle(&p->env, f, p->now_ns);
			if (tcp_track_keep(&p->track, f)) {
				/* A healthy idle connection: nothing is pending, keep it (LRU-bounded). */
				flow_keep(p->flows, f, p->now_ns);
				continue;
			}
		} else if (flow_is_icmp(f)) {
			icmp_track_expire(&p->track, f, p->now_ns, false);
		} else {
			stream_idle(&p->env, f, p->now_ns);
		}
		flow_remove(p->flows, f);
	}
}

/* Put a flow in the timer queue at its next due condition (or take it out). */
static void rearm(struct pipeline *p, struct flow *f)
{
	uint64_t due = 0;
	if (f->key.proto == FL_IPPROTO_TCP)
		due = tcp_track_deadline(&p->track, f, timeout_ns(p));
	else if (flow_is_icmp(f))
		due = icmp_track_deadline(&p->track, f, timeout_ns(p));
	if (due && due <= p->now_ns && f->timer_ns == due)
		due = 0;     /* judged already and nothing changed: do not spin */
	flow_timer_set(p->flows, f, due);
}

/* Judge the flows whose conditions fell due. */
static void run_timers(struct pipeline *p)
{
	struct flow *f;
	while ((f = flow_timer_first(p->flows)) && f->timer_ns <= p->now_ns) {
		uint64_t was = f->timer_ns;
		set_key(p, PH_TIMERS, f->timer_ns, flow_timer_seq(p->flows, f));
		if (f->key.proto == FL_IPPROTO_TCP)
			tcp_track_check(&p->track, f, p->now_ns, false);
		else if (flow_is_icmp(f))
			icmp_track_expire(&p->track, f, p->now_ns, false);
		rearm(p, f);
		if (f->timer_ns == was)
			flow_timer_set(p->flows, f, 0);
	}
}

static void advance_clock(struct pipeline *p, uint64_t ts_ns)
{
	if (ts_ns > p->now_ns)
		p->now_ns = ts_ns;
	set_key(p, PH_DEFRAG, 0, 0);
	defrag_expire(p->defrag, p->now_ns);
	run_timers(p);
	if (p->now_ns >= p->next_scan_ns) {
		set_key(p, PH_KEVENTS, 0, 0);
		kernel_events_run(p->kernel, &p->track, p->flows, p->now_ns);
		set_key(p, PH_KDROPS, 0, 0);
		kernel_drops_run(p->drops, &p->em, p->now_ns, false);
		expire_idle(p);
		p->next_scan_ns = p->now_ns + SCAN_INTERVAL_NS;
	}
	set_key(p, PH_PACKET, 0, 0);
}

/* A TCP packet: the tracker judges it, then the stream layer gets its bytes and its end. */
static void tcp_packet(struct pipeline *p, struct flow *f, int side, const struct decoded *d,
		       uint64_t ts)
{
	unsigned ev = tcp_track_packet(&p->track, f, side, d, ts);
	if (ev & TCP_EV_AFTER_RESET)
		return;
	if (ev & TCP_EV_RESTART) {
		stream_end(&p->env, f, DISSECT_END_FIN, side, ts);
		stream_free(&p->env, f);
	}
	if (ev & TCP_EV_CLOSED)
		stream_end(&p->env, f, DISSECT_END_FIN, side, ts);

	struct tcp_view v;
	tcp_track_view(&p->track, f, &v);
	struct stream_origin o = { .midstream = v.midstream, .rtt_ns = v.rtt_ns };
	for (int i = 0; i < 2; i++) {
		o.isn_known[i] = v.isn_known[i];
		o.isn[i] = v.isn[i];
		o.fin_known[i] = v.fin_known[i];
		o.fin_seq[i] = v.fin_seq[i];
	}
	stream_tcp_packet(&p->env, f, side, d, ts, &o);
	if (ev & TCP_EV_RESET)
		stream_end(&p->env, f, DISSECT_END_RST, side, ts);
	else if (ev & TCP_EV_FIN)
		stream_tcp_fin(&p->env, f, side, d, ts);
}

/* An ICMP error quoting a packet that `side` of the TCP or UDP flow f sent. */
static void icmp_error(struct pipeline *p, struct flow *f, int side, const struct icmp_info *icmp,
		       uint64_t ts)
{
	const struct decoded *q = &icmp->quote;
	if (!f)
		return;
	if (f->key.proto == FL_IPPROTO_TCP)
		tcp_track_icmp(&p->track, f, side, q->seq, icmp, ts);
	struct dissect_icmp di = {
		.version = icmp->version, .type = icmp->type, .code = icmp->code,
		.type_name = icmp->type_name, .code_name = icmp->code_name,
		.dir = side == f->client ? DISSECT_TO_SERVER : DISSECT_TO_CLIENT,
		.quoted_df = icmp->quoted_df,
		.quoted_payload = q->payload, .quoted_len = q->payload_caplen,
	};
	stream_icmp_error(&p->env, f, side, &di, ts);
}

static void notify_observers(struct pipeline *p, const struct fl_packet *pkt, struct flow *f)
{
	for (unsigned i = 0; i < p->n_observers; i++)
		p->observers[i].packet(p->observers[i].ctx, pkt, f);
}

/* stats.tunnels: the encapsulations of a decoded packet, from layer `from` on. */
static uint8_t count_tunnels(struct pipeline *p, const struct decoded *d, uint8_t from,
			     enum decode_result r)
{
	if (r != DECODE_OK && r != DECODE_FRAGMENT)
		return from;
	for (uint8_t i = from; i < d->n_tunnels; i++)
		if (d->tunnels[i].type <= FL_TUNNEL_MPLS)
			p->stats->tunnels.packets[d->tunnels[i].type]++;
	return d->n_tunnels;
}

/*
 * The flow a fragment belongs to, for the observers (the recorder keeps a
 * failing conversation's fragments with it): known from the transport header
 * in the first fragment, or for a later one from the first fragment held.  A
 * first fragment starts its UDP or ICMP echo flow.
 */
static struct flow *fragment_flow(struct pipeline *p, const struct decoded *d, uint64_t ts)
{
	const struct fl_fragment *fr = &d->frag;
	uint8_t head[8];
	int side;
	bool first = fr->offset == 0;
	if (first && fr->data_caplen >= 8)
		memcpy(head, fr->data, 8);
	else if (first || !defrag_first_bytes(p->defrag, d, head, 8))
		return NULL;
	uint16_t a = be16(head), b = be16(head + 2), id = be16(head + 4);
	switch (fr->proto) {
	case FL_IPPROTO_UDP:
		if (decode_is_tunnel_port(a, b))
			return NULL;     /* the flow is inside: known once the datagram is whole */
		return flow_lookup(p->flows, &d->src, a, &d->dst, b, fr->proto, ts, first, &side);
	case FL_IPPROTO_TCP:
		return flow_find(p->flows, &d->src, a, &d->dst, b, fr->proto, &side);
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6:
		if (head[0] != (fr->proto == FL_IPPROTO_ICMP ? ICMP_ECHO : ICMP6_ECHO_REQUEST))
			return NULL;
		return flow_lookup(p->flows, &d->src, id, &d->dst, id, fr->proto, ts, first, &side);
	default:
		return NULL;
	}
}

/* A flow remembers the interface and direction of its first packet (live captures). */
static inline void flow_set_origin(struct pipeline *p, struct flow *f, const struct fl_packet *pkt)
{
	if (!pkt->ifindex || !p->em.origin_slot)
		return;
	struct flow_origin *o = flow_storage(f, p->em.origin_slot);
	if (!o->ifindex)
		*o = (struct flow_origin){ .ifindex = pkt->ifindex, .direction = pkt->direction };
}

/* A tunneled flow remembers how it was carried (its first packet's tunnels). */
static void flow_set_tunnels(struct pipeline *p, struct flow *f, const struct decoded *d)
{
	if (!f || !d->n_tunnels || f->tunnels)
		return;
	f->tunnels = malloc(sizeof(*f->tunnels));
	if (!f->tunnels)
		return;
	p->stats->memory.flow_bytes += sizeof(*f->tunnels);
	f->tunnels->n = d->n_tunnels;
	memcpy(f->tunnels->t, d->tunnels, sizeof(f->tunnels->t));
}

/*
 * ICMP "fragment reassembly time exceeded" quoting a first fragment: what
 * did the capture see of that datagram?  The receiver gave up on it, so the
 * capture does too.
 */
static void icmp_meet_defrag(struct pipeline *p, struct icmp_info *icmp)
{
	if (!icmp->has_quote || !icmp->quote.is_fragment)
		return;
	bool reassembly_timeout = icmp->code == 1 &&
				  (icmp->version == 4 ? icmp->type == ICMP_TIME_EXCEEDED :
							icmp->type == ICMP6_TIME_EXCEEDED);
	icmp->has_defrag = defrag_lookup(p->defrag, &icmp->quote, reassembly_timeout, &icmp->defrag);
}

/* A packet numbered p->seq. */
void pipeline_handle(struct pipeline *p, const struct fl_packet *pkt)
{
	struct decoded d;
	struct icmp_info icmp;
	struct flow *f = NULL;
	int side = 0;
	uint64_t ts = pkt->ts_ns;
	bool reassembled = false;

	if (!p->worker && p->stats->packets.seen && ts < p->last_pkt_ns)
		p->stats->packets.time_reversals++;
	p->last_pkt_ns = ts;
	flow_table_set_seq(p->flows, p->seq);
	/* Time that went back by more than a timeout (files out of order, a clock
	 * step) is judged on the capture's clock: never waits of years. */
	if (p->now_ns > ts && p->now_ns - ts >= timeout_ns(p))
		ts = p->now_ns;
	p->stats->packets.seen++;
	p->stats->packets.bytes += pkt->len;
	if (p->stats->packets.seen % MEMORY_PEAK_EVERY == 0)
		memory_note_peak(p->stats);
	advance_clock(p, ts);

	enum decode_result r = decode_packet(pkt, &d);
	/* A copy of a packet another interface saw: recorded, judged no further. */
	bool dup = dedup_packet(p->dedup, pkt, &d, r);
	uint8_t counted = dup ? 0 : count_tunnels(p, &d, 0, r);
	if (r == DECODE_FRAGMENT) {
		/* The observers (the recorder) see each fragment; the trackers the whole datagram. */
		notify_observers(p, pkt, fragment_flow(p, &d, ts));
		if (dup)
			return;
		const uint8_t *ip;
		uint32_t len;
		if (!defrag_add(p->defrag, &d, ts, &ip, &len, &ts))
			return;
		r = decode_reassembled(ip, len, d.frag.depth, &d);
		count_tunnels(p, &d, counted, r);   /* the tunnels inside the datagram */
		reassembled = true;   /* time: its first fragment's, as if it had come whole then */
	}
	if (r == DECODE_MALFORMED)
		p->stats->packets.decode_errors++;
	if (r != DECODE_OK || d.fragment) {
		if (!reassembled)
			notify_observers(p, pkt, NULL);
		return;
	}
	p->em.packet_tunnels = NULL;
	/* Which host pairs' directions the capture holds (one-sided captures). */
	track_dir_saw(&p->track, &d.src, &d.dst);

	switch (d.l4proto) {
	case FL_IPPROTO_TCP:
		f = flow_lookup(p->flows, &d.src, d.sport, &d.dst, d.dport, d.l4proto, ts, true, &side);
		if (!reassembled)
			notify_observers(p, pkt, f);
		if (!f || dup)
			return;
		flow_set_origin(p, f, pkt);
		flow_set_tunnels(p, f, &d);
		tcp_packet(p, f, side, &d, ts);
		rearm(p, f);
		return;
	case FL_IPPROTO_UDP:
		f = flow_lookup(p->flows, &d.src, d.sport, &d.dst, d.dport, d.l4proto, ts, true, &side);
		if (!reassembled)
			notify_observers(p, pkt, f);
		if (!f || dup)
			return;
		flow_set_origin(p, f, pkt);
		flow_set_tunnels(p, f, &d);
		if (!f->client_known) {
			/* The first datagram's sender initiated (the stream layer may know better). */
			f->client = (uint8_t)side;
			f->client_known = true;
		}
		stream_udp_packet(&p->env, f, side, &d, ts);
		return;
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6:
		f = icmp_track_flow(p->flows, &d, &icmp, ts, &side);
		if (!reassembled)
			notify_observers(p, pkt, f);
		if (dup)
			return;
		if (d.l4_caplen < 8)
			p->stats->packets.decode_errors++;   /* truncated, but type and code are there */
		if (f && flow_is_icmp(f)) {
			flow_set_origin(p, f, pkt);
			flow_set_tunnels(p, f, &d);
		}
		icmp_meet_defrag(p, &icmp);
		p->em.packet_tunnels = d.n_tunnels ? &p->packet_tunnels : NULL;
		p->packet_tunnels.n = d.n_tunnels;
		memcpy(p->packet_tunnels.t, d.tunnels, sizeof(p->packet_tunnels.t));
		p->em.packet_origin = (struct flow_origin){ .ifindex = pkt->ifindex,
							    .direction = pkt->direction };
		if (icmp_track_packet(&p->track, &d, &icmp, f, side, ts))
			icmp_error(p, f, side, &icmp, ts);
		p->em.packet_tunnels = NULL;
		p->em.packet_origin = (struct flow_origin){ 0 };
		if (f)
			rearm(p, f);
		return;
	default:
		if (!reassembled)
			notify_observers(p, pkt, NULL);
		return;
	}
}

void pipeline_expect_interfaces(struct pipeline *p)
{
	if (!p->mt) {
		dedup_expect(p->dedup);
		return;
	}
	for (unsigned i = 0; i < n_workers(p); i++)
		dedup_expect(worker_pipeline(p, i)->dedup);
}

void pipeline_packet(struct pipeline *p, const struct fl_packet *pkt)
{
	if (p->mt) {
		workers_packet(p, pkt);
		return;
	}
	p->seq++;
	pipeline_handle(p, pkt);
}

/* Another worker's packet numbered `seq` came at `ts`: the clock moves as in one pipeline. */
void pipeline_foreign_clock(struct pipeline *p, uint64_t seq, uint64_t ts)
{
	p->seq = seq;
	flow_table_set_seq(p->flows, seq);
	if (p->now_ns > ts && p->now_ns - ts >= timeout_ns(p))
		ts = p->now_ns;
	advance_clock(p, ts);
}

void pipeline_set_netns(struct pipeline *p, uint64_t netns_ino)
{
	if (p->mt) {
		for (unsigned i = 0; i < n_workers(p); i++)
			pipeline_set_netns(worker_pipeline(p, i), netns_ino);
		return;
	}
	kernel_events_set_netns(p->kernel, netns_ino);
	kernel_drops_set_netns(p->drops, netns_ino);
}

void pipeline_sock_event(struct pipeline *p, const struct fl_sock_event *ev, uint64_t ts_ns)
{
	if (p->mt) {
		workers_sock_event(p, ev, ts_ns);
		return;
	}
	/* stats.kernel comes from the BPF counters; here the event waits to meet the packets. */
	kernel_events_add(p->kernel, p->flows, ev, ts_ns, timeout_ns(p));
}

void pipeline_drop(struct pipeline *p, const struct fl_drop_record *r)
{
	if (p->mt) {
		workers_drop(p, r);
		return;
	}
	kernel_drops_add(p->drops, p->flows, r, p->now_ns);
}

static void sink_drop(void *ctx, const struct fl_drop_record *r)
{
	pipeline_drop(ctx, r);
}

static void sink_packet(void *ctx, const struct fl_packet *pkt)
{
	pipeline_packet(ctx, pkt);
}

static void sink_sock_event(void *ctx, const struct fl_sock_event *ev, uint64_t ts_ns)
{
	pipeline_sock_event(ctx, ev, ts_ns);
}

int pipeline_enable_owners(struct pipeline *p, owners_resolve_fn resolve, void *ctx)
{
	if (!p->em.owners && !(p->em.owners = owners_new(p->cfg.max_sockets, p->stats)))
		return -ENOMEM;
	owners_set_resolver(p->em.owners, resolve, ctx);
	/* --workers: one table, the front's, shared by the workers' entries (it locks). */
	for (unsigned i = 0; i < n_workers(p); i++)
		worker_pipeline(p, i)->em.owners = p->em.owners;
	return 0;
}

void pipeline_owner_event(struct pipeline *p, const struct fl_sock_owner *ev, uint64_t ts_ns)
{
	if (p->em.owners)
		owners_event(p->em.owners, ev, ts_ns);
}

void pipeline_owner_scanned(struct pipeline *p, const struct fl_sock_owner *ev)
{
	if (p->em.owners)
		owners_scanned(p->em.owners, ev, p->now_ns);
}

void pipeline_owners_refresh_names(struct pipeline *p)
{
	if (p->em.owners)
		owners_refresh_names(p->em.owners);
}

bool pipeline_owners_want_scan(struct pipeline *p)
{
	return p->em.owners && owners_want_scan(p->em.owners);
}

static void sink_owner_event(void *ctx, const struct fl_sock_owner *ev, uint64_t ts_ns)
{
	pipeline_owner_event(ctx, ev, ts_ns);
}

void pipeline_set_payload_control(struct pipeline *p, const struct payload_control *ctl)
{
	if (!ctl || !ctl->skip)
		return;
	p->env.ctl = *ctl;
	for (unsigned i = 0; i < n_workers(p); i++)
		worker_pipeline(p, i)->env.ctl = *ctl;
	p->stats->capture.skipping = true;
}

struct packet_sink pipeline_packet_sink(struct pipeline *p)
{
	return (struct packet_sink){ .packet = sink_packet, .sock_event = sink_sock_event,
				     .drop = sink_drop, .owner_event = sink_owner_event, .ctx = p };
}

void pipeline_tick(struct pipeline *p, uint64_t now_ns)
{
	if (p->mt) {
		workers_tick(p, now_ns);
		return;
	}
	advance_clock(p, now_ns);
}

void pipeline_finish(struct pipeline *p)
{
	struct flow *f;
	if (p->mt) {
		workers_finish(p);
		return;
	}
	memory_note_peak(p->stats);
	p->seq = SEQ_FINISH;
	flow_table_set_seq(p->flows, SEQ_FINISH);
	set_key(p, PH_DEFRAG, 0, 0);
	defrag_finish(p->defrag);
	while ((f = flow_oldest(p->flows))) {
		set_key(p, PH_TIMERS, flow_lru_seq(p->flows, f), 0);
		judge(p, f, true);
		stream_end(&p->env, f, DISSECT_END_CAPTURE, f->client, p->now_ns);
		flow_remove(p->flows, f);
	}
	/* The flows are judged: what is left of the kernel's drops explained nothing. */
	set_key(p, PH_KDROPS, 0, 0);
	kernel_drops_run(p->drops, &p->em, p->now_ns, true);
}

void pipeline_stats(struct pipeline *p, struct fl_stats *out)
{
	if (p->mt) {
		workers_stats(p, out);
		return;
	}
	owners_lock(p->em.owners);
	*out = *p->stats;
	owners_unlock(p->em.owners);
}

int pipeline_on_threads(struct pipeline *p, int (*fn)(void *ctx), void *ctx)
{
	return p->mt ? workers_on_threads(p, fn, ctx) : 0;
}
