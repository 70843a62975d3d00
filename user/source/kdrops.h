/* SPDX-License-Identifier: MIT */
/*
 * Kernel packet drops for the eBPF backend: drops.bpf.c on skb:kfree_skb
 * (tp_btf, else the classic tracepoint), its per-(flow, reason) aggregates
 * drained into the pipeline as struct fl_drop_record, reason names from the
 * running kernel's BTF (enum skb_drop_reason), drop locations from
 * /proc/kallsyms when it is readable.
 */
#ifndef FL_KDROPS_H
#define FL_KDROPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/packet.h"
#include "report/stats.h"

struct kdrops;

/*
 * Load and attach.  NULL when the kernel does not let us (no BTF, no
 * tracepoint access): `why` says so, and the capture runs without this view.
 * FAULTLINE_DROPS=classic skips tp_btf, =noreason ignores the reason argument
 * (both to test the fallbacks), =off does not load at all.  own_listeners_fd:
 * socktrace's map of faultline's own listeners (-1: none), whose drops are not reported.
 */
struct kdrops *kdrops_open(const struct fl_config *cfg, int own_listeners_fd, char *why,
			   size_t whylen);
/* Drain the aggregates into out->drop (at most every 100 ms); clock_offset: wall - monotonic. */
void kdrops_poll(struct kdrops *k, const struct packet_sink *out, int64_t clock_offset);
/* Fold the kernel's per-reason counters into stats.kernel.drops. */
void kdrops_update_stats(struct kdrops *k, struct fl_stats *st);
void kdrops_close(struct kdrops *k);

#endif
