/* SPDX-License-Identifier: MIT */
/* Building test packets byte by byte (header-only helpers for the unit tests). */
#ifndef TEST_PKTBUILD_H
#define TEST_PKTBUILD_H

#include <stdint.h>
#include <string.h>

#include "core/decode.h"
#include "core/packet.h"

struct pktbuf {
	uint8_t data[2048];
	uint32_t len;
};

static inline void put8(struct pktbuf *b, uint8_t v) { b->data[b->len++] = v; }
static inline void put16(struct pktbuf *b, uint16_t v) { put8(b, v >> 8); put8(b, v & 0xff); }
static inline void put32(struct pktbuf *b, uint32_t v) { put16(b, v >> 16); put16(b, v & 0xffff); }
static inline void putn(struct pktbuf *b, const void *p, uint32_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void eth(struct pktbuf *b, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	putn(b, macs, 12);
	put16(b, type);
}

/* An IPv4 header for `l4len` bytes of payload; addresses as 198.18.a.b. */
static inline void ipv4(struct pktbuf *b, uint8_t proto, uint32_t src, uint32_t dst, uint16_t l4len)
{
	put8(b, 0x45); put8(b, 0); put16(b, (uint16_t)(20 + l4len));
	put16(b, 1); put16(b, 0x4000); put8(b, 64); put8(b, proto); put16(b, 0);
	put32(b, src); put32(b, dst);
}

static inline void tcp(struct pktbuf *b, uint16_t sport, uint16_t dport, uint32_t seq,
		       uint32_t ack, uint8_t flags)
{
	put16(b, sport); put16(b, dport); put32(b, seq); put32(b, ack);
	put8(b, 5 << 4); put8(b, flags); put16(b, 65535); put16(b, 0); put16(b, 0);
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* A whole Ethernet/IPv4/TCP segment with `plen` payload bytes ('x'). */
static inline struct fl_packet tcp_packet(struct pktbuf *b, uint64_t ts_ns, uint32_t src,
					  uint16_t sport, uint32_t dst, uint16_t dport,
					  uint32_t seq, uint32_t ack, uint8_t flags, uint16_t plen)
{
	b->len = 0;
	eth(b, 0x0800);
	ipv4(b, 6, src, dst, (uint16_t)(20 + plen));
	tcp(b, sport, dport, seq, ack, flags);
	memset(b->data + b->len, 'x', plen);
	b->len += plen;
	return (struct fl_packet){ .ts_ns = ts_ns, .data = b->data, .caplen = b->len,
				   .len = b->len, .linktype = FL_LINK_ETHERNET };
}

#endif
