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
#include "pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <string.h>

#include "core/bytes.h"
#include "core/decode.h"
#include "core/dedup.h"
#include "core/defrag.h"
#include "core/flow.h"
#include "core/spsc.h"
#include "stream/stream.h"
#include "track/icmp.h"
#include "track/kernel_drops.h"
#include "track/kernel_events.h"
#include "track/icmp_msg.h"
#include "report/names.h"
#include "report/owners.h"
#include "track/tcp.h"

#define MAX_OBSERVERS 4
#define SCAN_INTERVAL_NS 200000000ull    /* 200 ms of packet time */

/*
 * Where an entry falls in the order one pipeline would have made it in
 * (--workers merges the workers' entries by it): the packet sequence number,
 * the step of that packet's handling, and the order within the step (a
 * timer's due time and when it was set; a flow's place in the LRU).
 */
enum order_phase {
	PH_DEFRAG = 1, PH_TIMERS, PH_KEVENTS, PH_KDROPS, PH_IDLE, PH_PACKET,
};
#define SEQ_FINISH UINT64_MAX   /* pipeline_finish: after every packet */

struct order_key {
	uint64_t seq;
	uint64_t phase;
	uint64_t k1, k2;
};

struct workers;

struct pipeline {
	struct fl_config cfg;
	struct fl_stats *stats;
	struct emitter em;
	struct track_env track;
	struct stream_env env;
	struct flow_table *flows;
	struct kernel_events *kernel;    /* socket events waiting to be joined with the packets */
	struct kernel_drops *drops;      /* kernel packet drops waiting to be joined with entries */
	struct defrag *defrag;           /* IP fragments waiting for the rest of their datagram */
	struct dedup *dedup;             /* one packet seen on several interfaces is judged once */
	uint64_t now_ns;                 /* newest packet or tick time */
	uint64_t last_pkt_ns;            /* the previous packet's own time */
	uint64_t next_scan_ns;
	struct fl_tunnels packet_tunnels;  /* the ICMP message being handled came through these */
	struct packet_observer observers[MAX_OBSERVERS];
	unsigned n_observers;
	uint64_t seq;                    /* packets handed in (or the dispatcher's number) */
	struct order_key key;            /* where the entries being made fall */
	bool worker;                     /* one of --workers: the dispatcher counts time reversals */
	struct workers *mt;              /* --workers > 1: this pipeline dispatches and merges */
};

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

static struct pipeline *workers_new(const struct fl_config *cfg, struct fl_stats *stats,
				   unsigned n);
static void workers_free(struct pipeline *fp);

static unsigned n_workers(const struct pipeline *p);
static struct pipeline *worker_pipeline(struct pipeline *p, unsigned i);

static void add_u64s(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
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
	if (p->mt)
		return -ENOTSUP;
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

static void workers_packet(struct pipeline *p, const struct fl_packet *pkt);

/* A packet numbered p->seq. */
static void handle_packet(struct pipeline *p, const struct fl_packet *pkt)
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
	handle_packet(p, pkt);
}

/* Another worker's packet numbered `seq` came at `ts`: the clock moves as in one pipeline. */
static void foreign_clock(struct pipeline *p, uint64_t seq, uint64_t ts)
{
	p->seq = seq;
	flow_table_set_seq(p->flows, seq);
	if (p->now_ns > ts && p->now_ns - ts >= timeout_ns(p))
		ts = p->now_ns;
	advance_clock(p, ts);
}

void pipeline_set_netns(struct pipeline *p, uint64_t netns_ino)
{
	if (p->mt)
		return;    /* capture runs one pipeline */
	kernel_events_set_netns(p->kernel, netns_ino);
	kernel_drops_set_netns(p->drops, netns_ino);
}

void pipeline_sock_event(struct pipeline *p, const struct fl_sock_event *ev, uint64_t ts_ns)
{
	if (p->mt)
		return;
	/* stats.kernel comes from the BPF counters; here the event waits to meet the packets. */
	kernel_events_add(p->kernel, p->flows, ev, ts_ns, timeout_ns(p));
}

void pipeline_drop(struct pipeline *p, const struct fl_drop_record *r)
{
	if (p->mt)
		return;
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
	if (p->mt)
		return -ENOTSUP;
	if (!p->em.owners && !(p->em.owners = owners_new(p->cfg.max_sockets, p->stats)))
		return -ENOMEM;
	owners_set_resolver(p->em.owners, resolve, ctx);
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
	p->stats->capture.skipping = true;
}

struct packet_sink pipeline_packet_sink(struct pipeline *p)
{
	return (struct packet_sink){ .packet = sink_packet, .sock_event = sink_sock_event,
				     .drop = sink_drop, .owner_event = sink_owner_event, .ctx = p };
}

void pipeline_tick(struct pipeline *p, uint64_t now_ns)
{
	if (p->mt)
		return;
	advance_clock(p, now_ns);
}

static void workers_finish(struct pipeline *p);

void pipeline_finish(struct pipeline *p)
{
	struct flow *f;
	if (p->mt) {
		workers_finish(p);
		return;
	}
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

/*
 * --workers N: this pipeline (the front) reads nothing itself.  The thread
 * that feeds it (the dispatcher) hashes each packet to one of N worker
 * pipelines by a symmetric flow hash, copies it into that worker's ring and
 * hands every other worker the packet's time, so each worker's clock, timers
 * and idle scans move exactly as one pipeline's would.  Each worker stamps its
 * entries with where they fall in one pipeline's order (struct order_key);
 * the dispatcher thread merges them to the sinks by that key once every
 * worker has gone past it (its `done` sequence number), numbers them and
 * names their endpoints from the one name table (the workers hand it the
 * names they learn, in the same order).  The merged output equals one
 * pipeline's.  Counters are per worker and summed when the run ends.
 */
#define IN_RING_BYTES (8u << 20)
#define OUT_RING_BYTES (4u << 20)
#define CLOCK_BATCH 64
#define FRAG_MAP 4096
#define DRAIN_EVERY 64

enum { REC_PACKET = 1, REC_CLOCK, REC_FINISH, REC_ENTRY, REC_LEARN };

struct rec_packet {
	uint64_t seq, ts_ns;
	uint32_t caplen, len, linktype, ifindex;
	uint8_t direction;
};

struct rec_clock {
	uint64_t first_seq;
	uint64_t n;
	uint64_t ts[];
};

struct rec_entry {
	struct order_key key;
	uint64_t ts_ns;
	uint32_t error, n_nodes, pool_len;
	bool oom;
};
#define REC_ENTRY_NODES ((sizeof(struct rec_entry) + 7) & ~(size_t)7)

struct rec_learn {
	struct order_key key;
	struct fl_addr addr;
	uint64_t expires_ns;
	uint32_t name_len, ns_len;   /* ns_len 0: no namespace; both with their NUL */
	bool pinned;
	char text[];
};

struct worker {
	struct pipeline *p;
	struct pipeline *front;
	struct fl_stats stats;
	struct spsc in, out;
	pthread_t thread;
	bool running;
	uint64_t last;                        /* worker: the last sequence number handled */
	_Alignas(64) _Atomic uint64_t done;   /* published last */
	_Atomic bool stop;                    /* pipeline_free without pipeline_finish */
	_Alignas(64) uint64_t clk_first;      /* dispatcher: times not yet sent */
	uint64_t clk_n;
	uint64_t clk_ts[CLOCK_BATCH];
};

struct frag_slot {
	struct fl_addr src, dst;
	uint32_t id;
	uint8_t proto;
	bool used;
	uint16_t worker;
};

struct workers {
	unsigned n;
	struct worker *w;
	bool hooked, finished;
	uint64_t last_ts;
	unsigned since_drain;
	struct frag_slot frags[FRAG_MAP];
};

static unsigned n_workers(const struct pipeline *p)
{
	return p->mt ? p->mt->n : 0;
}

static struct pipeline *worker_pipeline(struct pipeline *p, unsigned i)
{
	return p->mt->w[i].p;
}

static void backoff(unsigned *spins)
{
	if (++*spins < 64) {
		__builtin_ia32_pause();
	} else if (*spins < 256) {
		sched_yield();
	} else {
		struct timespec ts = { 0, 50000 };
		nanosleep(&ts, NULL);
	}
}

unsigned pipeline_workers_auto(void)
{
	cpu_set_t set;
	int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	/* Leave one CPU to the kernel's own work (softirqs, the BPF programs) on small machines. */
	if (n <= 4)
		n--;
	if (n > PIPELINE_MAX_WORKERS)
		n = PIPELINE_MAX_WORKERS;
	return n < 1 ? 1 : (unsigned)n;
}

static void publish(struct worker *w)
{
	atomic_store_explicit(&w->done, w->last, memory_order_release);
}

static void worker_emit(void *ctx, const struct doc *d, const struct entry_meta *meta)
{
	struct worker *w = ctx;
	size_t nodes = (size_t)d->n_nodes * sizeof(*d->nodes);
	size_t len = REC_ENTRY_NODES + nodes + d->pool_len;
	struct rec_entry *re;
	unsigned spins = 0;
	if (len > w->out.cap / 4)
		len = REC_ENTRY_NODES;    /* cannot happen (entries are kilobytes): an empty doc */
	while (!(re = spsc_reserve(&w->out, (uint32_t)len, REC_ENTRY))) {
		publish(w);
		if (atomic_load_explicit(&w->stop, memory_order_relaxed))
			return;
		backoff(&spins);
	}
	re->key = w->p->key;
	re->ts_ns = meta->ts_ns;
	re->error = meta->error;
	re->oom = d->oom;
	if (len == REC_ENTRY_NODES) {
		re->n_nodes = re->pool_len = 0;
	} else {
		re->n_nodes = d->n_nodes;
		re->pool_len = d->pool_len;
		memcpy((char *)re + REC_ENTRY_NODES, d->nodes, nodes);
		memcpy((char *)re + REC_ENTRY_NODES + nodes, d->pool, d->pool_len);
	}
	spsc_commit(&w->out);
}

static int worker_learn(void *ctx, const struct fl_addr *addr, const char *name, const char *ns,
			uint64_t expires_ns, bool pinned)
{
	struct worker *w = ctx;
	size_t nl = strlen(name) + 1, sl = ns ? strlen(ns) + 1 : 0;
	struct rec_learn *rl;
	unsigned spins = 0;
	while (!(rl = spsc_reserve(&w->out, (uint32_t)(sizeof(*rl) + nl + sl), REC_LEARN))) {
		publish(w);
		if (atomic_load_explicit(&w->stop, memory_order_relaxed))
			return 0;
		backoff(&spins);
	}
	rl->key = w->p->key;
	rl->addr = *addr;
	rl->expires_ns = expires_ns;
	rl->pinned = pinned;
	rl->name_len = (uint32_t)nl;
	rl->ns_len = (uint32_t)sl;
	memcpy(rl->text, name, nl);
	if (sl)
		memcpy(rl->text + nl, ns, sl);
	spsc_commit(&w->out);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pipeline *p = w->p;
	unsigned spins = 0, since = 0;
	for (;;) {
		uint32_t type, len;
		const void *r = spsc_peek(&w->in, &type, &len);
		if (!r) {
			if (since) {
				publish(w);
				since = 0;
			}
			if (atomic_load_explicit(&w->stop, memory_order_relaxed))
				break;
			backoff(&spins);
			continue;
		}
		spins = 0;
		if (type == REC_PACKET) {
			const struct rec_packet *rp = r;
			struct fl_packet pkt = {
				.ts_ns = rp->ts_ns, .data = (const uint8_t *)(rp + 1),
				.caplen = rp->caplen, .len = rp->len, .linktype = rp->linktype,
				.ifindex = rp->ifindex, .direction = rp->direction,
			};
			p->seq = rp->seq;
			handle_packet(p, &pkt);
			w->last = rp->seq;
		} else if (type == REC_CLOCK) {
			const struct rec_clock *rc = r;
			for (uint64_t i = 0; i < rc->n; i++)
				foreign_clock(p, rc->first_seq + i, rc->ts[i]);
			w->last = rc->first_seq + rc->n - 1;
		} else if (type == REC_FINISH) {
			spsc_pop(&w->in);
			pipeline_finish(p);
			w->last = SEQ_FINISH;
			publish(w);
			break;
		}
		spsc_pop(&w->in);
		if (++since >= 32) {
			publish(w);
			since = 0;
		}
	}
	stream_thread_end();
	return NULL;
}

/* ---- the dispatcher ---- */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t endpoint_hash(const struct fl_addr *a, uint16_t port)
{
	uint64_t w0, w1;
	memcpy(&w0, a->bytes, 8);
	memcpy(&w1, a->bytes + 8, 8);
	return mix64(w0 ^ mix64(w1 ^ ((uint64_t)port << 8) ^ a->family));
}

/* Symmetric: both directions of a flow give the same worker. */
static unsigned pick(const struct workers *mt, const struct fl_addr *a, uint16_t pa,
		     const struct fl_addr *b, uint16_t pb, uint8_t proto)
{
	uint64_t h = mix64(endpoint_hash(a, pa) + endpoint_hash(b, pb) + proto);
	return (unsigned)((h >> 32) % mt->n);
}

/*
 * A fragment goes where its datagram's flow goes: the first fragment names
 * the ports; the others follow it by (addresses, protocol, id).  A fragment
 * that comes before its first goes by the addresses and id, and the rest of
 * its datagram follows it there.
 */
static unsigned pick(const struct workers *mt, const struct fl_addr *a, uint16_t pa,
		     const struct fl_addr *b, uint16_t pb, uint8_t proto);

/*
 * The first fragment of an IPv4 datagram to a tunnel port: the flow is
 * inside, so decode its first bytes as if the datagram were whole.
 */
static bool tunneled_fragment_flow(const struct decoded *outer, const struct fl_fragment *fr,
				   struct decoded *in)
{
	uint8_t buf[640];
	uint32_t hl = fr->ip_hdr_len;
	if (!outer || !fr->ip_hdr || hl < 20 || hl > 60 || (fr->ip_hdr[0] >> 4) != 4)
		return false;
	uint32_t n = fr->data_caplen < sizeof(buf) - hl ? fr->data_caplen : (uint32_t)sizeof(buf) - hl;
	memcpy(buf, fr->ip_hdr, hl);
	memcpy(buf + hl, fr->data, n);
	buf[6] &= 0x40;      /* DF stays; MF and the offset go */
	buf[7] = 0;
	buf[2] = (uint8_t)((hl + n) >> 8);
	buf[3] = (uint8_t)(hl + n);
	buf[hl + 4] = (uint8_t)(n >> 8);     /* the UDP length: what is here (n >= 8) */
	buf[hl + 5] = (uint8_t)n;
	*in = *outer;
	return decode_reassembled(buf, hl + n, fr->depth, in) == DECODE_OK && !in->fragment &&
	       (in->l4proto == FL_IPPROTO_TCP || in->l4proto == FL_IPPROTO_UDP);
}

static unsigned pick_fragment(struct workers *mt, const struct fl_addr *src,
			      const struct fl_addr *dst, const struct fl_fragment *fr,
			      const struct decoded *outer)
{
	uint64_t h = mix64(endpoint_hash(src, 0) + endpoint_hash(dst, 0) + fr->proto) ^ mix64(fr->id);
	struct frag_slot *s = &mt->frags[h % FRAG_MAP];
	bool same = s->used && s->id == fr->id && s->proto == fr->proto &&
		    addr_equal(&s->src, src) && addr_equal(&s->dst, dst);
	if (same)
		return s->worker;
	unsigned w = (unsigned)((h >> 32) % mt->n);
	if (fr->offset == 0 && fr->data_caplen >= 8) {
		uint16_t a = be16(fr->data), b = be16(fr->data + 2), id = be16(fr->data + 4);
		struct decoded in;
		if (fr->proto == FL_IPPROTO_UDP && decode_is_tunnel_port(a, b) &&
		    tunneled_fragment_flow(outer, fr, &in))
			w = pick(mt, &in.src, in.sport, &in.dst, in.dport, in.l4proto);
		else if (fr->proto == FL_IPPROTO_TCP || fr->proto == FL_IPPROTO_UDP)
			w = pick(mt, src, a, dst, b, fr->proto);
		else if (fr->proto == FL_IPPROTO_ICMP || fr->proto == FL_IPPROTO_ICMPV6)
			w = pick(mt, src, id, dst, id, fr->proto);
	}
	*s = (struct frag_slot){ .src = *src, .dst = *dst, .id = fr->id, .proto = fr->proto,
				 .used = true, .worker = (uint16_t)w };
	return w;
}

static unsigned pick_worker(struct workers *mt, const struct fl_packet *pkt)
{
	struct decoded d;
	struct icmp_info icmp;
	enum decode_result r = decode_packet(pkt, &d);
	if (r == DECODE_FRAGMENT)
		return pick_fragment(mt, &d.src, &d.dst, &d.frag, &d);
	if (r != DECODE_OK)
		return 0;
	switch (d.l4proto) {
	case FL_IPPROTO_TCP:
	case FL_IPPROTO_UDP:
		return pick(mt, &d.src, d.sport, &d.dst, d.dport, d.l4proto);
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6:
		if (icmp_parse(&d, &icmp) < 0)
			break;
		if (icmp.is_echo_request || icmp.is_echo_reply)
			return pick(mt, &d.src, icmp.echo_id, &d.dst, icmp.echo_id, d.l4proto);
		if (icmp.has_quote) {
			/* An ICMP error goes to the flow it quotes. */
			const struct decoded *q = &icmp.quote;
			uint8_t echo_req = q->l4proto == FL_IPPROTO_ICMPV6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
			if (q->is_fragment)
				return pick_fragment(mt, &q->src, &q->dst, &q->frag, NULL);
			if ((q->l4proto == FL_IPPROTO_TCP || q->l4proto == FL_IPPROTO_UDP) && !q->l4_missing)
				return pick(mt, &q->src, q->sport, &q->dst, q->dport, q->l4proto);
			if ((q->l4proto == FL_IPPROTO_ICMP || q->l4proto == FL_IPPROTO_ICMPV6) &&
			    !q->fragment && q->l4 && q->l4_caplen >= 8 && q->l4[0] == echo_req) {
				uint16_t id = be16(q->l4 + 4);
				return pick(mt, &q->src, id, &q->dst, id, q->l4proto);
			}
			return pick(mt, &q->src, 0, &q->dst, 0, 0);
		}
		break;
	default:
		break;
	}
	return pick(mt, &d.src, 0, &d.dst, 0, 0);
}

static void workers_drain(struct pipeline *fp);

/* Room in a worker's ring, waiting (and merging meanwhile) while it is full. */
static void *ring_wait(struct pipeline *fp, struct worker *w, uint32_t len, uint32_t type)
{
	void *m;
	unsigned spins = 0;
	while (!(m = spsc_reserve(&w->in, len, type))) {
		/* The others' clocks go out, so that they get past what this one waits to merge. */
		for (unsigned i = 0; i < fp->mt->n; i++) {
			struct worker *o = &fp->mt->w[i];
			struct rec_clock *rc;
			if (o == w || !o->clk_n ||
			    !(rc = spsc_reserve(&o->in, (uint32_t)(sizeof(*rc) + o->clk_n * 8), REC_CLOCK)))
				continue;
			rc->first_seq = o->clk_first;
			rc->n = o->clk_n;
			memcpy(rc->ts, o->clk_ts, o->clk_n * 8);
			spsc_commit(&o->in);
			o->clk_n = 0;
		}
		workers_drain(fp);
		backoff(&spins);
	}
	return m;
}

static void flush_clock(struct pipeline *fp, struct worker *w)
{
	if (!w->clk_n)
		return;
	struct rec_clock *rc = ring_wait(fp, w, (uint32_t)(sizeof(*rc) + w->clk_n * 8), REC_CLOCK);
	rc->first_seq = w->clk_first;
	rc->n = w->clk_n;
	memcpy(rc->ts, w->clk_ts, w->clk_n * 8);
	spsc_commit(&w->in);
	w->clk_n = 0;
}

/* The sinks are known now: the workers build entries only when someone reads them. */
static void workers_hook(struct pipeline *fp)
{
	struct workers *mt = fp->mt;
	mt->hooked = true;
	if (!fp->em.n_sinks)
		return;
	for (unsigned i = 0; i < mt->n; i++)
		emitter_add_sink(&mt->w[i].p->em, (struct entry_sink){ worker_emit, &mt->w[i] });
}

static void workers_packet(struct pipeline *fp, const struct fl_packet *pkt)
{
	struct workers *mt = fp->mt;
	if (!mt->hooked)
		workers_hook(fp);
	uint64_t seq = ++fp->seq;
	if (seq > 1 && pkt->ts_ns < mt->last_ts)
		fp->stats->packets.time_reversals++;
	mt->last_ts = pkt->ts_ns;
	unsigned t = pick_worker(mt, pkt);
	for (unsigned i = 0; i < mt->n; i++) {
		struct worker *w = &mt->w[i];
		if (i == t)
			continue;
		if (!w->clk_n)
			w->clk_first = seq;
		w->clk_ts[w->clk_n++] = pkt->ts_ns;
		if (w->clk_n == CLOCK_BATCH)
			flush_clock(fp, w);
	}
	struct worker *w = &mt->w[t];
	flush_clock(fp, w);
	struct rec_packet *rp = ring_wait(fp, w, (uint32_t)(sizeof(*rp) + pkt->caplen), REC_PACKET);
	*rp = (struct rec_packet){ .seq = seq, .ts_ns = pkt->ts_ns, .caplen = pkt->caplen,
				   .len = pkt->len, .linktype = pkt->linktype,
				   .ifindex = pkt->ifindex, .direction = pkt->direction };
	memcpy(rp + 1, pkt->data, pkt->caplen);
	spsc_commit(&w->in);
	if (++mt->since_drain >= DRAIN_EVERY) {
		mt->since_drain = 0;
		workers_drain(fp);
	}
}

/* ---- the merge ---- */

static int key_cmp(const struct order_key *a, const struct order_key *b)
{
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->k1 != b->k1)
		return a->k1 < b->k1 ? -1 : 1;
	if (a->k2 != b->k2)
		return a->k2 < b->k2 ? -1 : 1;
	return 0;
}

/* `name` and `namespace` of the endpoint `key` ("src" or "dst"), as entry_begin adds them. */
static void merge_name(struct pipeline *fp, const char *key, uint64_t ts_ns)
{
	struct doc *d = &fp->em.doc;
	uint32_t obj = doc_get(d, DOC_ROOT, key);
	const char *ip = obj == DOC_NONE ? NULL : doc_path_str(d, obj, "ip");
	struct fl_addr a;
	const char *ns, *name;
	if (!ip || addr_parse(&a, ip) < 0 || !(name = names_lookup(fp->em.names, &a, ts_ns, &ns)))
		return;
	doc_add_str(d, obj, "name", name);
	if (ns)
		doc_add_str(d, obj, "namespace", ns);
}

static void merge_one(struct pipeline *fp, uint32_t type, const void *r)
{
	if (type == REC_LEARN) {
		const struct rec_learn *rl = r;
		names_learn(fp->em.names, &rl->addr, rl->text,
			    rl->ns_len ? rl->text + rl->name_len : NULL, rl->expires_ns, rl->pinned);
		return;
	}
	const struct rec_entry *re = r;
	const struct doc_node *nodes = (const void *)((const char *)re + REC_ENTRY_NODES);
	const char *pool = (const char *)(nodes + re->n_nodes);
	struct doc *d = &fp->em.doc;
	if (!doc_load(d, nodes, re->n_nodes, pool, re->pool_len, re->oom)) {
		doc_reset(d);
		d->oom = true;
	}
	struct entry_meta meta = { .error = (enum fl_error_type)re->error, .ts_ns = re->ts_ns,
				   .id = fp->em.next_id++ };
	uint32_t id = doc_get(d, DOC_ROOT, "id");
	if (id != DOC_NONE)
		d->nodes[id].v.i = (int64_t)meta.id;
	if (fp->em.names) {
		merge_name(fp, "src", re->ts_ns);
		merge_name(fp, "dst", re->ts_ns);
	}
	for (unsigned i = 0; i < fp->em.n_sinks; i++)
		fp->em.sinks[i].emit(fp->em.sinks[i].ctx, d, &meta);
}

/* Hand on every entry no worker can come before any more. */
static void workers_drain(struct pipeline *fp)
{
	struct workers *mt = fp->mt;
	for (;;) {
		int best = -1;
		struct order_key bk = { 0 };
		uint64_t min_done = SEQ_FINISH;
		const void *br = NULL;
		uint32_t btype = 0;
		for (unsigned i = 0; i < mt->n; i++) {
			struct worker *w = &mt->w[i];
			/* done first: what it covers was committed before it */
			uint64_t done = atomic_load_explicit(&w->done, memory_order_acquire);
			uint32_t type, len;
			const void *r = spsc_peek(&w->out, &type, &len);
			if (!r) {
				if (done < min_done)
					min_done = done;
				continue;
			}
			const struct order_key *k = r;   /* first in both record types */
			if (best < 0 || key_cmp(k, &bk) < 0) {
				best = (int)i;
				bk = *k;
				br = r;
				btype = type;
			}
		}
		if (best < 0 || bk.seq > min_done)
			return;
		merge_one(fp, btype, br);
		spsc_pop(&mt->w[best].out);
	}
}

static void workers_finish(struct pipeline *fp)
{
	struct workers *mt = fp->mt;
	if (mt->finished)
		return;
	if (!mt->hooked)
		workers_hook(fp);
	for (unsigned i = 0; i < mt->n; i++) {
		flush_clock(fp, &mt->w[i]);
		ring_wait(fp, &mt->w[i], 0, REC_FINISH);
		spsc_commit(&mt->w[i].in);
	}
	unsigned spins = 0;
	for (;;) {
		workers_drain(fp);
		bool all = true;
		uint32_t type, len;
		for (unsigned i = 0; i < mt->n && all; i++)
			all = atomic_load_explicit(&mt->w[i].done, memory_order_acquire) == SEQ_FINISH &&
			      !spsc_peek(&mt->w[i].out, &type, &len);
		if (all)
			break;
		backoff(&spins);
	}
	for (unsigned i = 0; i < mt->n; i++) {
		pthread_join(mt->w[i].thread, NULL);
		mt->w[i].running = false;
	}
	mt->finished = true;
	/* The counters: the sums of the workers'. */
	struct fl_stats *s = fp->stats;
	for (unsigned i = 0; i < mt->n; i++) {
		const struct fl_stats *ws = &mt->w[i].stats;
#define ADD_ALL(field) add_u64s((uint64_t *)&s->field, (const uint64_t *)&ws->field, \
				sizeof(s->field) / sizeof(uint64_t))
		ADD_ALL(packets);
		ADD_ALL(flows);
		ADD_ALL(tcp);
		ADD_ALL(ip);
		ADD_ALL(tunnels);
		ADD_ALL(icmp);
		ADD_ALL(entries);
#undef ADD_ALL
		s->memory.flow_bytes += ws->memory.flow_bytes;
		s->memory.reassembly_bytes += ws->memory.reassembly_bytes;
		s->memory.evicted_bytes += ws->memory.evicted_bytes;
		s->memory.over_limit += ws->memory.over_limit;
	}
}

static void workers_free(struct pipeline *fp)
{
	struct workers *mt = fp->mt;
	for (unsigned i = 0; i < mt->n; i++) {
		struct worker *w = &mt->w[i];
		if (w->running) {
			atomic_store(&w->stop, true);
			pthread_join(w->thread, NULL);
		}
		pipeline_free(w->p);
		spsc_free(&w->in);
		spsc_free(&w->out);
	}
	free(mt->w);
	free(mt);
	names_free(fp->em.names);
	emitter_free(&fp->em);
	free(fp);
}

/* A bound's share for one of n workers (at least 1). */
static uint64_t share(uint64_t bound, unsigned n)
{
	uint64_t s = bound / n;
	return s ? s : 1;
}

static struct pipeline *workers_new(const struct fl_config *cfg, struct fl_stats *stats, unsigned n)
{
	struct pipeline *fp = calloc(1, sizeof(*fp));
	struct workers *mt = calloc(1, sizeof(*mt));
	struct worker *ws = aligned_alloc(64, ((n * sizeof(*ws)) + 63) & ~(size_t)63);
	if (!fp || !mt || !ws) {
		free(fp);
		free(mt);
		free(ws);
		errno = ENOMEM;
		return NULL;
	}
	memset(ws, 0, n * sizeof(*ws));
	fp->cfg = *cfg;
	fp->stats = stats;
	fp->mt = mt;
	mt->n = n;
	mt->w = ws;
	emitter_init(&fp->em, stats);
	fp->em.names = names_new(cfg->max_names, stats);
	/* The bounds are split between the workers. */
	struct fl_config wc = *cfg;
	wc.workers = 1;
	wc.max_flows = share(cfg->max_flows, n);
	wc.reassembly_memcap_mb = share(cfg->reassembly_memcap_mb, n);
	wc.defrag_memcap_mb = share(cfg->defrag_memcap_mb, n);
	bool ok = fp->em.names != NULL;
	for (unsigned i = 0; i < n && ok; i++) {
		struct worker *w = &ws[i];
		w->front = fp;
		/* 0 stays 0: no limit */
		w->stats.memory.limit_bytes = stats->memory.limit_bytes ?
			share(stats->memory.limit_bytes, n) : 0;
		w->stats.capture.backend = stats->capture.backend;
		w->p = pipeline_new(&wc, &w->stats);
		ok = w->p && flow_table_keep_order(w->p->flows) == 0 && spsc_init(&w->in, IN_RING_BYTES) == 0 &&
		     spsc_init(&w->out, OUT_RING_BYTES) == 0;
		if (ok) {
			w->p->worker = true;
			names_free(w->p->em.names);
			w->p->em.names = names_new_forward(worker_learn, w);
			ok = w->p->em.names && pthread_create(&w->thread, NULL, worker_main, w) == 0;
			w->running = ok;
		}
	}
	if (!ok) {
		workers_free(fp);
		errno = ENOMEM;
		return NULL;
	}
	return fp;
}
