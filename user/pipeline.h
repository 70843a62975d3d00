/* SPDX-License-Identifier: MIT */
/*
 * The pipeline: decode -> flow -> tcp state / reassembly -> dissector ->
 * entry -> sinks.  Every source feeds it struct fl_packet; it owns no I/O.
 */
#ifndef FL_PIPELINE_H
#define FL_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "report/entry.h"
#include "faultline.h"
#include "core/packet.h"
#include "report/owners.h"
#include "report/stats.h"

struct pipeline;

/*
 * cfg->workers > 1 (--workers, tap.workers): the packets are sharded by flow
 * between that many pipelines on their own threads, and their entries merged
 * back in one pipeline's order (read gives the same entries and ids as with
 * one).  The thread that calls pipeline_packet() dispatches and merges.  In
 * capture the kernel's socket events and drops go to their flow's worker, the
 * socket owner table is shared (it locks), and pipeline_tick() bounds how long
 * an entry waits in the merge.
 */
#define PIPELINE_MAX_WORKERS 64
/* The default: one per CPU this process may run on, less one on machines of up to 4. */
unsigned pipeline_workers_auto(void);

/* Returns NULL with errno set. `stats` is owned by the caller and outlives it. */
struct pipeline *pipeline_new(const struct fl_config *cfg, struct fl_stats *stats);
void pipeline_free(struct pipeline *p);

int pipeline_add_sink(struct pipeline *p, struct entry_sink sink);

/* One packet.  Never fails: a bad packet is counted and skipped. */
void pipeline_packet(struct pipeline *p, const struct fl_packet *pkt);
/* A socket event from the kernel's TCP tracepoints (capture, eBPF backend). */
void pipeline_sock_event(struct pipeline *p, const struct fl_sock_event *ev, uint64_t ts_ns);
/* Kernel packet drops, aggregated (capture, eBPF backend). */
void pipeline_drop(struct pipeline *p, const struct fl_drop_record *r);
/*
 * Advance the clock to now_ns with no packet (capture's wall-clock timer):
 * judges timeouts.  In read, packet time drives the same checks.
 */
void pipeline_tick(struct pipeline *p, uint64_t now_ns);
/* The network namespace the capture runs in (the inode of /proc/self/ns/net):
 * kernel socket events with no flow are reported only from there. */
void pipeline_set_netns(struct pipeline *p, uint64_t netns_ino);
/*
 * The packets come from several interfaces (several files, a pcapng of several,
 * live capture on several): copies of one packet are told from the first packet
 * on (core/dedup.h), not only once a second interface shows.
 */
void pipeline_expect_interfaces(struct pipeline *p);
/* capture: keep socket owners (process, cgroup) for the entries; `resolve` says what a
 * cgroup id means.  0 or -ENOMEM. */
int pipeline_enable_owners(struct pipeline *p, owners_resolve_fn resolve, void *ctx);
/* Who owns a socket, from the kernel (capture, eBPF backend). */
void pipeline_owner_event(struct pipeline *p, const struct fl_sock_owner *ev, uint64_t ts_ns);
/* An owner from the /proc scan (sockets older than the capture): the kernel's events win. */
void pipeline_owner_scanned(struct pipeline *p, const struct fl_sock_owner *ev);
/* The pod log directories changed: names of pods and containers are looked up again. */
void pipeline_owners_refresh_names(struct pipeline *p);
/* Did a local endpoint miss its owner since the last call (a scan may find it)? */
bool pipeline_owners_want_scan(struct pipeline *p);
/* The IP -> name table entries take src/dst names from (--names fills it). */
struct names *pipeline_names(struct pipeline *p);
/*
 * Entries: keep credentials (--no-redact), the first id (capture: its start
 * time in microseconds, unique across restarts), the "node" name (capture:
 * NODE_NAME, else the hostname; the pipeline keeps the pointer).
 */
void pipeline_set_redact(struct pipeline *p, bool redact);
void pipeline_set_first_id(struct pipeline *p, uint64_t id);
void pipeline_set_node(struct pipeline *p, const char *node);
/*
 * The source's payload skipping (eBPF with tap.skipPayload): the stream layer
 * asks it not to copy body no dissector parses.  Not called: nothing is skipped.
 */
void pipeline_set_payload_control(struct pipeline *p, const struct payload_control *ctl);
/*
 * capture (before the first packet): entries carry `interface` and `direction`; ifname()
 * names an interface (NULL: unknown).
 */
void pipeline_set_ifname(struct pipeline *p, const char *(*ifname)(void *ctx, uint32_t ifindex),
			 void *ctx);
/* The pipeline as a source's destination (pipeline_packet, pipeline_sock_event). */
struct packet_sink pipeline_packet_sink(struct pipeline *p);
/*
 * The counters as they are now, into *out, from the thread that feeds the
 * pipeline (capture's control socket and metrics): with --workers the sums of
 * the workers' as of the last pipeline_tick (capture's 200 ms timer) added to
 * p's own; after pipeline_finish, p's stats (the sums are in them).
 */
void pipeline_stats(struct pipeline *p, struct fl_stats *out);
/*
 * Run fn(ctx) on each worker's thread (--workers above 1; else nothing), in
 * turn with what they handle, and wait for it: what is per thread, such as
 * capabilities, set there too.  0, or -1 when fn failed on one.
 */
int pipeline_on_threads(struct pipeline *p, int (*fn)(void *ctx), void *ctx);
/* The source ended: judge every flow that is still open (capture-end). */
void pipeline_finish(struct pipeline *p);

/* Observers of raw packets (the recorder): called for every packet with its flow (or NULL). */
struct flow;
struct packet_observer {
	void (*packet)(void *ctx, const struct fl_packet *pkt, struct flow *flow);
	void (*flow_end)(void *ctx, struct flow *flow);
	void *ctx;
};
int pipeline_add_observer(struct pipeline *p, struct packet_observer obs);
/* Per-flow storage of `size` bytes for an observer (before the first packet):
 * the id for flow_storage(), or -1 (errno). */
int pipeline_flow_storage(struct pipeline *p, size_t size);

#endif
