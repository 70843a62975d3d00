/* SPDX-License-Identifier: MIT */
/*
 * The packet every source (pcap file, eBPF ring, AF_PACKET ring) hands to the
 * pipeline.  Nothing after the source depends on where it came from.
 */
#ifndef FL_PACKET_H
#define FL_PACKET_H

#include <stdbool.h>
#include <stdint.h>

/* Link types, numbered as libpcap's DLT_* so pcap files map directly. */
enum fl_linktype {
	FL_LINK_NULL = 0,       /* BSD loopback: 4-byte host-order family */
	FL_LINK_ETHERNET = 1,
	FL_LINK_PPP = 9,
	FL_LINK_ATM_RFC1483 = 11,  /* DLT_ATM_RFC1483; LINKTYPE_ATM_RFC1483 (100) in files */
	FL_LINK_RAW_BSD = 12,      /* DLT_RAW on most BSDs; LINKTYPE_RAW (101) in files */
	FL_LINK_RAW_OPENBSD = 14,  /* DLT_RAW on OpenBSD */
	FL_LINK_PPP_SERIAL = 50,   /* HDLC-like framing */
	FL_LINK_PPP_ETHER = 51,    /* payload after PPPoE is PPP */
	FL_LINK_RAW = 101,      /* DLT_RAW on Linux: raw IPv4/IPv6 */
	FL_LINK_LOOP = 108,     /* OpenBSD loopback: 4-byte network-order family */
	FL_LINK_LINUX_SLL = 113,
	FL_LINK_IEEE802_11_RADIO = 127,
	FL_LINK_IPV4 = 228,
	FL_LINK_IPV6 = 229,
	FL_LINK_IPOIB = 242,
	FL_LINK_LINUX_SLL2 = 276,
};

struct fl_packet {
	uint64_t ts_ns;        /* wall-clock time, ns since the Unix epoch */
	const uint8_t *data;   /* first `caplen` bytes of the frame */
	uint32_t caplen;
	uint32_t len;          /* length on the wire */
	uint32_t linktype;     /* enum fl_linktype (DLT number) */
	uint32_t ifindex;      /* 0 when unknown (files) */
	uint8_t direction;     /* enum fl_direction */
};

/*
 * One direction's "do not copy these payload bytes" (copy only what is
 * judged): the stream layer sends it when a dissector knows the next bytes
 * are body it does not parse; a source that copies packets in the kernel
 * (eBPF) sends headers only for segments inside [from, to).  Sequence
 * numbers; addresses and ports are the sender's and receiver's (host-order
 * ports).  all: every segment of the direction (nobody parses the flow).
 */
struct fl_skip {
	uint8_t family;          /* 4 or 6 */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t from, to;
	bool all;
};

/* Set by a source that can skip (eBPF); skip NULL elsewhere (files, AF_PACKET). */
struct payload_control {
	/* Ask for [from, to) to be skipped; a later call for the direction replaces it. */
	void (*skip)(void *ctx, const struct fl_skip *sk);
	/* The direction is over (the flow ended): forget it. */
	void (*forget)(void *ctx, const struct fl_skip *sk);
	void *ctx;
};

struct fl_sock_event;
struct fl_sock_owner;

/*
 * One aggregate of kernel packet drops (eBPF backend, drops.bpf.c): `count`
 * packets of one flow dropped for one reason between first_ns and last_ns
 * (wall clock).  Addresses are the dropped packet's own, source first.
 */
struct fl_drop_record {
	uint8_t family;          /* 4, 6, or 0: not IP (protocol only) */
	uint8_t l4proto;         /* IPPROTO_*; 0 when unknown */
	uint16_t l3proto;        /* ethertype */
	uint8_t saddr[16], daddr[16];
	uint16_t sport, dport;
	uint32_t ifindex;
	uint64_t netns_ino;
	uint64_t count, first_ns, last_ns;
	char reason[48];         /* the kernel's name (NETFILTER_DROP), "" without a reason */
	char location[64];       /* the kernel function that dropped it, "" when unknown */
	char interface[16];      /* "" when unknown or in another network namespace */
	uint8_t is_errno;        /* not a drop: `count` errors reported to the socket of this flow,
				  * `reason` the errno's name (ETIMEDOUT), src the local end */
};

/*
 * Where a source delivers: every packet, and (eBPF) every kernel socket event
 * with its time.  The pipeline provides one (pipeline_packet_sink), so the
 * sources know nothing above core.
 */
struct packet_sink {
	void (*packet)(void *ctx, const struct fl_packet *pkt);
	void (*sock_event)(void *ctx, const struct fl_sock_event *ev, uint64_t ts_ns);
	/* (eBPF) kernel packet drops, aggregated; may be NULL. */
	void (*drop)(void *ctx, const struct fl_drop_record *r);
	/* Who owns a socket (connect, listen, close); may be NULL. */
	void (*owner_event)(void *ctx, const struct fl_sock_owner *ev, uint64_t ts_ns);
	void *ctx;
};

#endif
