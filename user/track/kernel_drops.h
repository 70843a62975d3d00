/* SPDX-License-Identifier: MIT */
/*
 * Kernel packet drops joined with the packet view.  The kernel drops a packet
 * seconds before the packet view judges its flow (a SYN dropped now is a
 * SynSent timeout later), so each (flow, reason) aggregate waits here: an
 * error entry of the same flow committed meanwhile carries it
 * (`tcp.kernel_drops`, or `kernel_drops` for other protocols) and the drop is
 * folded into it; one still unexplained when its hold (the stream timeout plus
 * a grace period) ends becomes an entry of its own, error type `drop`.  Drops
 * of flows the capture never saw count only in faultline's own network
 * namespace: elsewhere their traffic was never meant to be captured.
 */
#ifndef FL_KERNEL_DROPS_H
#define FL_KERNEL_DROPS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/packet.h"

struct emitter;
struct flow_table;
struct kernel_drops;
struct fl_config;

struct kernel_drops *kernel_drops_new(const struct fl_config *cfg);
void kernel_drops_free(struct kernel_drops *k);
void kernel_drops_set_netns(struct kernel_drops *k, uint64_t netns_ino);
/* One aggregate from the kernel, at pipeline time now_ns. */
void kernel_drops_add(struct kernel_drops *k, struct flow_table *flows,
		      const struct fl_drop_record *r, uint64_t now_ns);
/* The emitter's annotate hook: fold the drops of the committed entry's flow into it. */
void kernel_drops_annotate(void *ctx, struct emitter *em);
/* Report the aggregates whose hold ended by now_ns (all of them when `all`). */
void kernel_drops_run(struct kernel_drops *k, struct emitter *em, uint64_t now_ns, bool all);

#endif
