/* SPDX-License-Identifier: MIT */
/*
 * Socket events from the kernel's TCP tracepoints, joined with the packet
 * view.  An event waits a grace period; if the packet view has the same
 * connection it owns the condition (one entry, from the packets), and only a
 * condition the packets never showed, because they were lost, becomes an entry
 * of its own (tcp.source "kernel").  Events of sockets with no flow count only
 * in faultline's own network namespace: elsewhere their traffic was never
 * meant to be captured.
 */
#ifndef FL_KERNEL_EVENTS_H
#define FL_KERNEL_EVENTS_H

#include <stdint.h>

#include "faultline.h"

struct track_env;
struct flow_table;
struct kernel_events;

struct kernel_events *kernel_events_new(void);
void kernel_events_free(struct kernel_events *k);
/* The network namespace (inode of /proc/self/ns/net) faultline runs in: events
 * of sockets no flow knows count only there.  0 until set: none count. */
void kernel_events_set_netns(struct kernel_events *k, uint64_t netns_ino);
void kernel_events_add(struct kernel_events *k, struct flow_table *flows,
		       const struct fl_sock_event *ev, uint64_t ts_ns, uint64_t timeout_ns);
/* The packet view lets go of a flow: remember what it had reported. */
struct flow;
void kernel_events_forget_flow(struct kernel_events *k, const struct track_env *env,
			       const struct flow *f);
/* The emitter's annotate hook: a TCP error entry carries the kernel's resets of its flow
 * that are still waiting (tcp.kernel_resets), which are then not judged on their own. */
struct emitter;
void kernel_events_annotate(struct kernel_events *k, struct emitter *em);
/* Judge the events whose grace period ended by now_ns. */
void kernel_events_run(struct kernel_events *k, struct track_env *env, struct flow_table *flows,
		       uint64_t now_ns);

#endif
