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
#include <stdlib.h>

#include "core/decode.h"
#include "core/flow.h"
#include "stream/stream.h"
#include "track/icmp.h"
#include "track/kernel_events.h"
#include "track/tcp.h"

#define MAX_OBSERVERS 4
#define SCAN_INTERVAL_NS 200000000ull    /* 200 ms of packet time */

struct pipeline {
	struct fl_config cfg;
	struct fl_stats *stats;
	struct emitter em;
	struct track_env track;
	struct stream_env env;
	struct flow_table *flows;
	struct kernel_events *kernel;    /* socket events waiting to be joined with the packets */
	uint64_t now_ns;                 /* newest packet or tick time */
	uint64_t last_pkt_ns;            /* the previous packet's own time */
	uint64_t next_scan_ns;
	struct packet_observer observers[MAX_OBSERVERS];
	unsigned n_observers;
};

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
	if (evicted) {
		judge(p, f, false);
		stream_end(&p->env, f, DISSECT_END_EVICTED, f->client, p->now_ns);
	}
	stream_free(&p->env, f);
	kernel_events_forget_flow(p->kernel, &p->track, f);
	for (unsigned i = 0; i < p->n_observers; i++)
		if (p->observers[i].flow_end)
			p->observers[i].flow_end(p->observers[i].ctx, f);
}

struct pipeline *pipeline_new(const struct fl_config *cfg, struct fl_stats *stats)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->stats = stats;
	emitter_init(&p->em, stats);
	p->flows = flow_table_new(cfg->max_flows, stats, on_flow_release, p);
	p->kernel = kernel_events_new();
	if (!p->flows || !p->kernel ||
	    track_env_init(&p->track, p->flows, &p->em, &p->cfg, stats) < 0 ||
	    stream_env_init(&p->env, p->flows, &p->em, &p->cfg, stats) < 0) {
		flow_table_free(p->flows);
		kernel_events_free(p->kernel);
		emitter_free(&p->em);
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	flow_table_free(p->flows);
	kernel_events_free(p->kernel);
	emitter_free(&p->em);
	free(p);
}

int pipeline_add_sink(struct pipeline *p, struct entry_sink sink)
{
	return emitter_add_sink(&p->em, sink);
}

int pipeline_flow_storage(struct pipeline *p, size_t size)
{
	return flow_storage_register(p->flows, size);
}

int pipeline_add_observer(struct pipeline *p, struct packet_observer obs)
{
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
	run_timers(p);
	if (p->now_ns >= p->next_scan_ns) {
		kernel_events_run(p->kernel, &p->track, p->flows, p->now_ns);
		expire_idle(p);
		p->next_scan_ns = p->now_ns + SCAN_INTERVAL_NS;
	}
}

/* A TCP packet: the tracker judges it, then the stream layer gets its bytes and its end. */
static void tcp_packet(struct pipeline *p, struct flow *f, int side, const struct decoded *d,
		       uint64_t ts)
{
	unsigned ev = tcp_track_packet(&p->track, f, side, d, ts);
	if (ev & TCP_EV_RESTART) {
		stream_end(&p->env, f, DISSECT_END_FIN, side, ts);
		stream_free(&p->env, f);
	}
	if (ev & TCP_EV_CLOSED)
		stream_end(&p->env, f, DISSECT_END_FIN, side, ts);

	struct tcp_view v;
	tcp_track_view(&p->track, f, &v);
	struct stream_origin o = { .midstream = v.midstream };
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
	if (f->key.proto == FL_IPPROTO_TCP)
		tcp_track_icmp(&p->track, f, side, q->seq, icmp, ts);
	struct dissect_icmp di = {
		.version = icmp->version, .type = icmp->type, .code = icmp->code,
		.type_name = icmp->type_name, .code_name = icmp->code_name,
		.dir = side == f->client ? DISSECT_TO_SERVER : DISSECT_TO_CLIENT,
		.quoted_payload = q->payload, .quoted_len = q->payload_caplen,
	};
	stream_icmp_error(&p->env, f, side, &di, ts);
}

static void notify_observers(struct pipeline *p, const struct fl_packet *pkt, struct flow *f)
{
	for (unsigned i = 0; i < p->n_observers; i++)
		p->observers[i].packet(p->observers[i].ctx, pkt, f);
}

void pipeline_packet(struct pipeline *p, const struct fl_packet *pkt)
{
	struct decoded d;
	struct icmp_info icmp;
	struct flow *f = NULL;
	int side = 0;
	uint64_t ts = pkt->ts_ns;

	if (p->stats->packets.seen && ts < p->last_pkt_ns)
		p->stats->packets.time_reversals++;
	p->last_pkt_ns = ts;
	/* Time that went back by more than a timeout (files out of order, a clock
	 * step) is judged on the capture's clock: never waits of years. */
	if (p->now_ns > ts && p->now_ns - ts >= timeout_ns(p))
		ts = p->now_ns;
	p->stats->packets.seen++;
	p->stats->packets.bytes += pkt->len;
	advance_clock(p, ts);

	enum decode_result r = decode_packet(pkt, &d);
	if (r == DECODE_MALFORMED)
		p->stats->packets.decode_errors++;
	if (r != DECODE_OK || d.fragment) {
		notify_observers(p, pkt, NULL);
		return;
	}

	switch (d.l4proto) {
	case FL_IPPROTO_TCP:
		f = flow_lookup(p->flows, &d.src, d.sport, &d.dst, d.dport, d.l4proto, ts, true, &side);
		notify_observers(p, pkt, f);
		if (!f)
			return;
		tcp_packet(p, f, side, &d, ts);
		rearm(p, f);
		return;
	case FL_IPPROTO_UDP:
		f = flow_lookup(p->flows, &d.src, d.sport, &d.dst, d.dport, d.l4proto, ts, true, &side);
		notify_observers(p, pkt, f);
		if (!f)
			return;
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
		notify_observers(p, pkt, f);
		if (d.l4_caplen < 4)
			p->stats->packets.decode_errors++;   /* truncated, but type and code are there */
		if (icmp_track_packet(&p->track, &d, &icmp, f, side, ts))
			icmp_error(p, f, side, &icmp, ts);
		if (f)
			rearm(p, f);
		return;
	default:
		notify_observers(p, pkt, NULL);
		return;
	}
}

void pipeline_set_netns(struct pipeline *p, uint64_t netns_ino)
{
	kernel_events_set_netns(p->kernel, netns_ino);
}

void pipeline_sock_event(struct pipeline *p, const struct fl_sock_event *ev, uint64_t ts_ns)
{
	/* stats.kernel comes from the BPF counters; here the event waits to meet the packets. */
	kernel_events_add(p->kernel, ev, ts_ns, timeout_ns(p));
}

static void sink_packet(void *ctx, const struct fl_packet *pkt)
{
	pipeline_packet(ctx, pkt);
}

static void sink_sock_event(void *ctx, const struct fl_sock_event *ev, uint64_t ts_ns)
{
	pipeline_sock_event(ctx, ev, ts_ns);
}

struct packet_sink pipeline_packet_sink(struct pipeline *p)
{
	return (struct packet_sink){ .packet = sink_packet, .sock_event = sink_sock_event, .ctx = p };
}

void pipeline_tick(struct pipeline *p, uint64_t now_ns)
{
	advance_clock(p, now_ns);
}

void pipeline_finish(struct pipeline *p)
{
	struct flow *f;
	while ((f = flow_oldest(p->flows))) {
		judge(p, f, true);
		stream_end(&p->env, f, DISSECT_END_CAPTURE, f->client, p->now_ns);
		flow_remove(p->flows, f);
	}
}
