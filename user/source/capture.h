/* SPDX-License-Identifier: MIT */
/*
 * Live packet sources for `faultline capture`: the eBPF backend (tc or XDP
 * programs and a BPF ring buffer) and AF_PACKET (a TPACKET_V3 mmap ring).
 * Both hand struct fl_packet to a packet_sink (the pipeline's); the capture loop
 * (cmd/capture.c) decides which interfaces they attach to.
 */
#ifndef FL_CAPTURE_H
#define FL_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline.h"

#include "core/config.h"
#include "core/packet.h"
#include "report/stats.h"

struct capture_iface {
	int ifindex;
	char name[16];             /* IFNAMSIZ */
	unsigned flags;            /* IFF_* */
	unsigned short type;       /* ARPHRD_* */
	bool attached;
	bool created_qdisc;        /* eBPF tc: we created its clsact qdisc */
	bool xdp;                  /* eBPF: ingress is XDP */
};

struct capture_params {
	const struct fl_config *cfg;
	bool xdp;                  /* eBPF: ingress on XDP instead of tc */
	/* Called for each packet's ifindex: is it one we capture?  (AF_PACKET sees every interface.) */
	const struct capture_iface *(*iface_lookup)(void *ctx, int ifindex);
	void *lookup_ctx;
	/* AF_PACKET: the capture filter for the socket (struct sock_filter[filter_len]), or NULL. */
	const void *filter;
	unsigned filter_len;
};

struct capture_source;

struct capture_source_ops {
	int (*attach)(struct capture_source *s, struct capture_iface *ifc);
	void (*detach)(struct capture_source *s, struct capture_iface *ifc);
	/* Hand every waiting packet and socket event to the pipeline. */
	void (*poll)(struct capture_source *s);
	/* Fold the kernel's counters (drops, socket states) into the stats. */
	void (*update_stats)(struct capture_source *s, struct fl_stats *stats);
	/* Add what only this source knows to the stats' "capture" object (may be NULL). */
	void (*describe)(struct capture_source *s, struct doc *d, uint32_t capture_obj);
	void (*close)(struct capture_source *s);
};

struct capture_source {
	const struct capture_source_ops *ops;
	const char *backend;       /* "ebpf-tc", "ebpf-xdp", "afpacket" */
	int fd;                    /* readable when there is something to poll */
	struct packet_sink out;    /* set by the caller before the first poll */
	/* eBPF with tap.skipPayload: how the stream layer asks for payload not to be
	 * copied (give it to pipeline_set_payload_control); skip NULL otherwise. */
	struct payload_control ctl;
};

/*
 * Each returns 0 or -errno with a message for the user in err.  -EPERM and
 * -EOPNOTSUPP/-ENOSYS say eBPF is not allowed or not supported here; -EBUSY
 * that another eBPF capture runs in this network namespace.  The eBPF open
 * first removes what a killed earlier run left (see below).
 */
int capture_ebpf_open(const struct capture_params *p, struct capture_source **out,
		      char *err, size_t errlen);
int capture_afpacket_open(const struct capture_params *p, struct capture_source **out,
			  char *err, size_t errlen);

/*
 * Remove what a killed earlier eBPF run left on this network namespace's
 * interfaces: our tc filters (by handle, priority and program name), our XDP
 * programs, and the clsact qdiscs it recorded as its own.  Returns how many
 * attachments were removed.  Only safe while holding the namespace's lock
 * (capture_ebpf_open takes it).
 */
int capture_ebpf_cleanup_leftovers(void);

/*
 * `faultline cleanup` in the calling thread's network namespace: takes the
 * namespace's lock (-EBUSY, with msg, when a live capture holds it), removes
 * the leftovers as above and releases it.  Returns how many were removed.
 * BPF links need no cleanup: the kernel drops them with their last fd.
 */
int capture_ebpf_cleanup_netns(char *msg, size_t msglen);

/* Wall clock minus CLOCK_MONOTONIC, in ns: bpf_ktime_get_ns() + offset is wall time. */
int64_t capture_clock_offset(void);
uint64_t capture_now_ns(void);

#endif
