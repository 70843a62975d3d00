/* SPDX-License-Identifier: (MIT OR GPL-2.0-only) */
/*
 * A bounds-checked parsing cursor over packet memory (tc's skb->data or XDP's
 * data, up to data_end).  Every pull checks the header fits before the caller
 * reads it, so a truncated or malformed packet ends the parse, never the
 * program.
 */
#ifndef FL_PARSE_BPF_H
#define FL_PARSE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_ICMPV6_ 58

/* ICMP and ICMPv6 message types (uapi linux/icmp.h, linux/icmpv6.h: macros, not in BTF). */
#define ICMP_ECHOREPLY_ 0
#define ICMP_DEST_UNREACH_ 3
#define ICMP_SOURCE_QUENCH_ 4
#define ICMP_REDIRECT_ 5
#define ICMP_ECHO_ 8
#define ICMP_TIME_EXCEEDED_ 11
#define ICMP_PARAMETERPROB_ 12
#define ICMPV6_DEST_UNREACH_ 1
#define ICMPV6_PKT_TOOBIG_ 2
#define ICMPV6_TIME_EXCEED_ 3
#define ICMPV6_PARAMPROB_ 4
#define ICMPV6_ECHO_REQUEST_ 128
#define ICMPV6_ECHO_REPLY_ 129

#define VLAN_MAX_DEPTH 2
#define IPV6_EXT_MAX 6

struct cursor {
	void *pos;
	void *end;
};

/* Return a pointer to the next `len` bytes and advance, or NULL when they are not all there. */
static __always_inline void *cursor_pull(struct cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

struct vlan_hdr_ {
	__be16 tci;
	__be16 proto;
};

/* Ethernet plus up to two VLAN tags (802.1Q, 802.1ad).  Returns the ethertype (host order) or -1. */
static __always_inline int parse_ethernet(struct cursor *c)
{
	struct ethhdr *eth = cursor_pull(c, sizeof(*eth));
	__u16 proto;

	if (!eth)
		return -1;
	proto = bpf_ntohs(eth->h_proto);
#pragma unroll
	for (int i = 0; i < VLAN_MAX_DEPTH; i++) {
		struct vlan_hdr_ *vh;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		vh = cursor_pull(c, sizeof(*vh));
		if (!vh)
			return -1;
		proto = bpf_ntohs(vh->proto);
	}
	return proto;
}

/* IPv4 with options.  Returns the protocol, or -1; a non-first fragment returns -2 (no L4 header). */
static __always_inline int parse_ipv4(struct cursor *c)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return -1;
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip) || !cursor_pull(c, hlen))
		return -1;
	if (ip->frag_off & bpf_htons(0x1fff))
		return -2;
	return ip->protocol;
}

struct ipv6_opt_hdr_ {
	__u8 nexthdr;
	__u8 hdrlen;
};

/* IPv6 and a bounded number of extension headers.  Returns the upper-layer protocol, -1, or -2. */
static __always_inline int parse_ipv6(struct cursor *c)
{
	struct ipv6hdr *ip6 = cursor_pull(c, sizeof(*ip6));
	__u8 next;

	if (!ip6)
		return -1;
	next = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr_ *oh;
		__u32 len;

		switch (next) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
			oh = c->pos;
			if ((void *)(oh + 1) > c->end)
				return -1;
			len = ((__u32)oh->hdrlen + 1) * 8;
			break;
		case IPPROTO_AH_:
			oh = c->pos;
			if ((void *)(oh + 1) > c->end)
				return -1;
			len = ((__u32)oh->hdrlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT_: {
			struct frag_hdr *fh = c->pos;

			if ((void *)(fh + 1) > c->end)
				return -1;
			if (fh->frag_off & bpf_htons(0xfff8))
				return -2;
			oh = (struct ipv6_opt_hdr_ *)fh;
			len = sizeof(*fh);
			break;
		}
		default:
			return next;
		}
		next = oh->nexthdr;
		if (!cursor_pull(c, len))
			return -1;
	}
	return -1;
}

#endif
