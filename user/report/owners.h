/* SPDX-License-Identifier: MIT */
/*
 * Who owns the local end of a connection (capture): the process, its cgroup
 * and what the cgroup means (systemd unit, container, Kubernetes pod).
 *
 * The kernel sends one struct fl_sock_owner per connect() and listen() (in
 * the owning task), per UDP bind() or first unconnected send (FL_OWN_BIND),
 * and one when the socket closes.  Sockets are kept by 4-tuple, listeners and
 * bound UDP sockets by local address and port (an accepted connection is its
 * listener's), TCP apart from UDP, cgroups by id; each table is a bounded set-associative
 * cache (tap.attribution.maxSockets), allocated once from tap.memoryLimitMb.
 * What a cgroup id means is asked of a resolver the command supplies (it reads
 * /sys/fs/cgroup and the pod logs), once per cgroup id, never per packet.
 */
#ifndef FL_OWNERS_H
#define FL_OWNERS_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline.h"
#include "report/doc.h"
#include "report/entry.h"
#include "report/stats.h"

/* What a cgroup says about the processes in it; empty strings where unknown. */
struct workload {
	char cgroup[256];         /* path under the cgroup v2 mount, "/system.slice/x.service" */
	char unit[128];           /* systemd unit: "nginx.service" */
	char container_id[72];
	char container_name[128];
	char pod_name[128];
	char pod_namespace[64];
	char pod_uid[40];
};

/* Fill *w for cgroup `id`; 0, or <0 when nothing is known (then only the process is shown). */
typedef int (*owners_resolve_fn)(void *ctx, uint64_t cgroup_id, struct workload *w);

struct owners;

struct owners *owners_new(uint32_t max_sockets, struct fl_stats *stats);
void owners_free(struct owners *o);
void owners_set_resolver(struct owners *o, owners_resolve_fn fn, void *ctx);
/* One event from the kernel, at wall-clock `ts_ns`. */
void owners_event(struct owners *o, const struct fl_sock_owner *ev, uint64_t ts_ns);
/*
 * Describe endpoint `ep` of a `proto` (IPPROTO_TCP or IPPROTO_UDP) flow with
 * `peer`, as of `ts_ns`, in the
 * endpoint object `obj`: `name`, `namespace`, `process`, `cgroup`,
 * `container`, `pod`, `unit` as far as known.  Returns true when it wrote a
 * name.  `local`: the endpoint is known to be on this host (a miss then asks
 * for a /proc scan).
 */
bool owners_describe(struct owners *o, struct doc *d, uint32_t obj, const struct fl_endpoint *ep,
		     const struct fl_endpoint *peer, uint8_t proto, bool local, uint64_t ts_ns);
/*
 * An owner found by the /proc scan: taken unless the kernel's events already
 * named that socket (they are newer).  Counted in attribution.scanned.
 */
void owners_scanned(struct owners *o, const struct fl_sock_owner *ev, uint64_t ts_ns);
/* The pod logs changed: every cgroup's names are resolved again when next used. */
void owners_refresh_names(struct owners *o);
/* Did an endpoint known to be local miss since the last call?  (The scan may know it.) */
bool owners_want_scan(struct owners *o);
/*
 * The calls above are thread-safe (--workers: the workers describe endpoints
 * while the capture thread adds events).  Hold the lock to read the stats the
 * table counts in (attribution.socket_*) from another thread.  NULL: nothing.
 */
void owners_lock(struct owners *o);
void owners_unlock(struct owners *o);

#endif
