/* SPDX-License-Identifier: (MIT OR GPL-2.0-only) */
/*
 * faultline's own listeners (the metrics endpoint), by network namespace cookie
 * and port.  socktrace.bpf.c fills the map as faultline listens; the loader hands
 * the same map to drops.bpf.c (bpf_map__reuse_fd), so both leave out faultline's
 * own connections: their children are its own sockets, and a scraper closing
 * with data unread is no drop worth reporting.
 */
#ifndef FL_OWN_BPF_H
#define FL_OWN_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct listen_key {
	__u64 netns_cookie;
	__u16 port;
	__u16 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct listen_key);
	__type(value, __u8);
} own_listeners SEC(".maps");

#endif
