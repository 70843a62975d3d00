/* SPDX-License-Identifier: MIT */
/*
 * What a cgroup id means (capture): its path under the cgroup v2 mount (found
 * in /proc/mounts, opened by handle), and from the path a systemd unit, a
 * container (docker-, libpod-, cri-containerd-, crio- scopes; cgroupfs ids) or
 * a Kubernetes pod (kubepods-*-pod<UID>.slice; cgroupfs pod<UID>), with the
 * pod's and container's names from the kubelet's log directories
 * (tap.attribution.podLogDir and the containers/ directory beside it).
 * Called once per new cgroup id (the owners table caches the answer).
 */
#ifndef FL_SOURCE_CGROUP_H
#define FL_SOURCE_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#include "report/owners.h"

struct cgroup_resolver;

/*
 * The cgroup v2 mount: where its mount table says it is (`mount`) and how this
 * process reaches it (`open_path`).  0, or -ENOENT without one (or with
 * FAULTLINE_NO_CGROUP2 set, which tests use to play a host without cgroup v2).
 */
int cgroup_v2_find(char *mount, size_t mlen, char *open_path, size_t plen);

/* Never NULL but out of memory; `notice` is set (one line) when cgroup v2 cannot be used. */
struct cgroup_resolver *cgroup_resolver_new(const char *pod_log_dir, char *notice, size_t len);
void cgroup_resolver_free(struct cgroup_resolver *r);
/* owners_resolve_fn: 0 and *w filled, or -errno. */
int cgroup_resolve(void *ctx, uint64_t id, struct workload *w);

#endif
