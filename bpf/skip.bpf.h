/* SPDX-License-Identifier: (MIT OR GPL-2.0-only) */
/*
 * Copy only what is judged: how many bytes of a packet the capture programs
 * copy.  Kept apart from capture.bpf.c, which calls skip_caplen() once per
 * packet before it reserves the record.
 *
 * - A TCP segment whose payload lies wholly inside a range userspace asked
 *   to skip (the `skips` map, struct fl_skip_val) is sent as headers only:
 *   the record's `len` stays the wire length, so userspace still sees its
 *   sequence space (holes and retransmissions inside the range are counted)
 *   and accounts the cut bytes as skipped.  A segment that straddles the
 *   range's end is copied whole.
 * - payload_bytes (tap.payloadBytes, 0: no limit) caps the TCP payload copied
 *   from any one segment, like a snaplen counted from the end of the headers.
 * - A packet whose headers are not in the linear area, or that is not TCP,
 *   is left to the snaplen.
 */
#ifndef FL_SKIP_BPF_H
#define FL_SKIP_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "faultline.h"
#include "parse.bpf.h"

/* Set by the loader between open and load. */
const volatile __u32 payload_bytes = 0;
const volatile __u32 skip_enabled = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FL_SKIP_MAX_ENTRIES);
	__type(key, struct fl_skip_key);
	__type(value, struct fl_skip_val);
} skips SEC(".maps");

/*
 * A copied full segment (more follows) whose payload skip_wake() looks at:
 * where the payload starts (0: none), and whether it is DNS's port.
 */
struct skip_peek {
	__u32 off;
	bool dns;
};

/*
 * Wake the reader now, not once wakeup_bytes wait, when the segment starts
 * an HTTP response ("HTTP/1.") or a long DNS-over-TCP message (port 53: its
 * length, then a header with one question; or a response's header alone, the
 * 2-byte length sent apart): the reader sees its head, and can ask for the
 * rest to be skipped, before it has gone by.  Read through the dynptr: the
 * payload of a segment TCP built is seldom in the linear area.
 */
static __always_inline bool skip_wake(struct bpf_dynptr *src, const struct skip_peek *pk)
{
	__u8 p[8];

	if (!pk->off || bpf_dynptr_read(p, sizeof(p), src, pk->off, 0))
		return false;
	if (p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P' && p[4] == '/' && p[5] == '1' &&
	    p[6] == '.')
		return true;
	return pk->dns && ((((__u32)p[0] << 8 | p[1]) >= FL_SKIP_DNS_LONG && p[6] == 0 && p[7] == 1) ||
			   ((p[2] & 0x80) && p[4] == 0 && p[5] == 1));
}

/*
 * How many of the packet's `caplen` bytes to copy (never more); *pk says
 * where skip_wake() should look.
 */
static __always_inline __u64 skip_caplen(void *data, void *data_end, __u64 caplen,
					 struct skip_peek *pk)
{
	struct cursor c = { .pos = data, .end = data_end };
	struct fl_skip_key key = {};
	struct fl_skip_val *v;
	struct tcphdr *th;
	__u32 ip_end, hdr_end, paylen, seq;
	int proto, l4;

	if (!skip_enabled && !payload_bytes)
		return caplen;
	proto = parse_ethernet(&c);
	if (proto == ETH_P_IP) {
		struct iphdr *ip = c.pos;

		if ((void *)(ip + 1) > data_end)
			return caplen;
		ip_end = (__u32)(c.pos - data) + bpf_ntohs(ip->tot_len);
		__builtin_memcpy(key.saddr, &ip->saddr, 4);
		__builtin_memcpy(key.daddr, &ip->daddr, 4);
		key.family = 4;
		l4 = parse_ipv4(&c);
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = c.pos;

		if ((void *)(ip6 + 1) > data_end)
			return caplen;
		ip_end = (__u32)(c.pos - data) + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(key.saddr, &ip6->saddr, 16);
		__builtin_memcpy(key.daddr, &ip6->daddr, 16);
		key.family = 6;
		l4 = parse_ipv6(&c);
	} else {
		return caplen;
	}
	if (l4 != IPPROTO_TCP)
		return caplen;
	th = c.pos;
	if ((void *)(th + 1) > data_end || th->doff < 5)
		return caplen;
	if (th->syn && skip_enabled) {
		/* A new connection on these addresses and ports: an old range is void. */
		key.sport = th->source;
		key.dport = th->dest;
		bpf_map_delete_elem(&skips, &key);
		return caplen;
	}
	hdr_end = (__u32)(c.pos - data) + th->doff * 4;
	if (ip_end <= hdr_end)
		return caplen;                  /* no payload */
	paylen = ip_end - hdr_end;
	if (payload_bytes && caplen > (__u64)hdr_end + payload_bytes)
		caplen = (__u64)hdr_end + payload_bytes;
	if (!skip_enabled)
		return caplen;
	key.sport = th->source;
	key.dport = th->dest;
	v = bpf_map_lookup_elem(&skips, &key);
	if (v) {
		seq = bpf_ntohl(th->seq);
		if ((__s32)(seq - v->from) >= 0 &&
		    ((v->flags & FL_SKIP_ALL) || (__s32)(v->to - (seq + paylen)) >= 0))
			return caplen > hdr_end ? hdr_end : caplen;
	}
	/* Copied: if it starts a message whose rest goes on past this full
	 * segment, the reader should see it now (a small one wakes nobody). */
	if (paylen >= 1200) {
		pk->off = hdr_end;
		pk->dns = th->source == bpf_htons(53) || th->dest == bpf_htons(53);
	}
	return caplen;
}

#endif
