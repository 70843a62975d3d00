/* SPDX-License-Identifier: MIT */
/*
 * Network interfaces over rtnetlink: a dump of the links at start, then
 * RTM_NEWLINK / RTM_DELLINK as they come and go.
 */
#ifndef FL_IFACE_H
#define FL_IFACE_H

#include <stdbool.h>
#include <stdint.h>

struct iface_link {
	int ifindex;
	const char *name;
	unsigned flags;            /* IFF_* */
	unsigned short type;       /* ARPHRD_* */
};

typedef void (*iface_cb)(void *ctx, const struct iface_link *link, bool removed);

/* A netlink socket subscribed to link changes (non-blocking).  fd, or -errno. */
int iface_monitor_open(void);
/* Dump every link through cb (blocking until the dump is done).  0 or -errno. */
int iface_dump(iface_cb cb, void *ctx);
/* Read the notifications that are waiting and pass each to cb.  0 or -errno. */
int iface_monitor_read(int fd, iface_cb cb, void *ctx);

/* A tc filter on a clsact hook, as the kernel dumps it. */
struct iface_tc_filter {
	uint32_t handle;
	uint16_t prio;
	char kind[16];             /* "bpf", "u32", ... */
	char bpf_name[64];         /* bpf: the name its attacher gave (libbpf: "PROG:[ID]") */
	uint32_t bpf_id;           /* bpf: the program's id */
};

/*
 * The tc filters on the clsact hook of ifindex (ingress or egress): up to max
 * of them into out, and how many there are, or -errno.
 */
int iface_tc_filters(int ifindex, bool ingress, struct iface_tc_filter *out, int max);
/* Number of tc filters on the clsact hook of ifindex (ingress or egress), or -errno. */
int iface_tc_filter_count(int ifindex, bool ingress);

#endif
