// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary frames through decode (every link type, VLAN,
 * MPLS, GRE, GTP-U, VXLAN, Geneve, IPv4/IPv6 and their extension headers),
 * the defragmenter (overlaps, duplicates, timeouts, a small memcap) and the
 * decode of what it reassembles, then the ICMP quote decoder.  Run with
 *   tests/fuzz/fuzz.sh [SECONDS]
 *
 * Input: records [ctl][len][len bytes]: ctl bits 0-2 pick the link type,
 * bits 3-5 advance packet time (by 0, 1 ms, ... up to past the timeout),
 * bit 6 ends the capture (defrag_finish) before the frame.
 */
#include <stdint.h>
#include <string.h>

#include "core/decode.h"
#include "core/defrag.h"
#include "track/icmp_msg.h"

static const uint32_t linktypes[8] = {
	FL_LINK_ETHERNET, FL_LINK_RAW, FL_LINK_LINUX_SLL, FL_LINK_LINUX_SLL2,
	FL_LINK_NULL, 9 /* PPP */, 242 /* IPoIB */, 127 /* radiotap */,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct defrag_counters c;
	memset(&c, 0, sizeof(c));
	struct defrag *t = defrag_new(64 * 1024, 1000000000ull, &c);
	if (!t)
		return 0;
	uint64_t now = 0;
	while (size >= 2) {
		uint8_t ctl = data[0];
		size_t len = data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		now += ((uint64_t)(ctl >> 3 & 7) * (ctl >> 3 & 7)) * 50000000ull;
		if (ctl & 0x40)
			defrag_finish(t);
		defrag_expire(t, now);
		struct fl_packet pkt = { .ts_ns = now, .data = data, .caplen = (uint32_t)len,
					 .len = (uint32_t)len, .linktype = linktypes[ctl & 7] };
		struct decoded d;
		enum decode_result r = decode_packet(&pkt, &d);
		const uint8_t *ip;
		uint32_t iplen;
		uint64_t first;
		if (r == DECODE_FRAGMENT && defrag_add(t, &d, now, &ip, &iplen, &first))
			r = decode_reassembled(ip, iplen, d.frag.depth, &d);
		if (r == DECODE_OK && (d.l4proto == FL_IPPROTO_ICMP || d.l4proto == FL_IPPROTO_ICMPV6)) {
			struct icmp_info info;
			struct defrag_match m;
			if (icmp_parse(&d, &info) == 0 && info.has_quote)
				defrag_lookup(t, &info.quote, ctl & 0x80, &m);
		}
		data += len;
		size -= len;
	}
	defrag_finish(t);
	defrag_free(t);
	if (c.bytes != 0)
		__builtin_trap();     /* every byte held must be given back */
	return 0;
}
