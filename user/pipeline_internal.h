// SPDX-License-Identifier: MIT
/*
 * Inside the pipeline, shared by pipeline.c (one pipeline: the stages in
 * order) and workers.c (--workers N: one pipeline per worker thread, packets
 * sharded to them and their entries merged back in one pipeline's order).
 * Nothing else includes it.
 */
#ifndef FL_PIPELINE_INTERNAL_H
#define FL_PIPELINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"
#include "core/dedup.h"
#include "core/defrag.h"
#include "core/flow.h"
#include "stream/stream.h"
#include "track/kernel_drops.h"
#include "track/kernel_events.h"
#include "track/track.h"

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

/* pipeline.c, for the workers: one packet handled (p->seq already set), and another
 * worker's packet `seq` seen at `ts`, so that this pipeline's clock moves as one would. */
void pipeline_handle(struct pipeline *p, const struct fl_packet *pkt);
void pipeline_foreign_clock(struct pipeline *p, uint64_t seq, uint64_t ts);

/* workers.c, for the front pipeline (p->mt set). */
struct pipeline *workers_new(const struct fl_config *cfg, struct fl_stats *stats, unsigned n);
void workers_free(struct pipeline *fp);
void workers_packet(struct pipeline *fp, const struct fl_packet *pkt);
void workers_finish(struct pipeline *fp);
void workers_sock_event(struct pipeline *fp, const struct fl_sock_event *ev, uint64_t ts_ns);
void workers_drop(struct pipeline *fp, const struct fl_drop_record *r);
void workers_tick(struct pipeline *fp, uint64_t now_ns);
void workers_stats(struct pipeline *fp, struct fl_stats *out);
int workers_on_threads(struct pipeline *fp, int (*fn)(void *ctx), void *ctx);
unsigned n_workers(const struct pipeline *p);         /* 0: one pipeline */
struct pipeline *worker_pipeline(struct pipeline *p, unsigned i);

#endif
