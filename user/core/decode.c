// SPDX-License-Identifier: MIT
/*
 * Packet decoding.  Every read goes through the cursor below, which checks
 * bounds first (tcpdump's GET_* discipline); a packet that ends early or
 * contradicts itself is DECODE_MALFORMED, never a crash.
 */
#include "core/decode.h"

#include <string.h>

#include "core/bytes.h"

#define ETH_P_IPV4   0x0800
#define ETH_P_IPV6   0x86dd
#define ETH_P_8021Q  0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ1  0x9100
#define ETH_P_TEB    0x6558    /* transparent Ethernet bridging (GRE) */
#define MAX_VLAN_TAGS 4
#define MAX_TUNNEL_DEPTH 2
#define GTPU_PORT 2152

struct cursor {
	const uint8_t *p;
	uint32_t len;
};

static inline bool has(const struct cursor *c, uint32_t n) { return c->len >= n; }
static inline void skip(struct cursor *c, uint32_t n) { c->p += n; c->len -= n; }

static enum decode_result decode_l3(struct cursor c, uint16_t ethertype, struct decoded *d,
				    int depth);
static enum decode_result decode_ethernet(struct cursor c, struct decoded *d, int depth);

/* --- IP version from the first nibble, for raw-IP link types --------------- */
static enum decode_result decode_by_version(struct cursor c, struct decoded *d, int depth)
{
	if (!has(&c, 1))
		return DECODE_MALFORMED;
	switch (c.p[0] >> 4) {
	case 4: return decode_l3(c, ETH_P_IPV4, d, depth);
	case 6: return decode_l3(c, ETH_P_IPV6, d, depth);
	default: return DECODE_NOT_IP;
	}
}

/* --- L4 ------------------------------------------------------------------- */
static enum decode_result decode_l4(struct cursor c, uint32_t wire_len, struct decoded *d,
				    int depth)
{
	d->l4 = c.p;
	d->l4_caplen = c.len;
	if (d->fragment)
		return DECODE_OK;     /* later fragments carry no L4 header */

	switch (d->l4proto) {
	case FL_IPPROTO_TCP: {
		if (!has(&c, 20) && d->quote && has(&c, 8)) {
			/* An ICMP quote: RFC 792 promises only the first 8 bytes. */
			d->sport = be16(c.p);
			d->dport = be16(c.p + 2);
			d->seq = be32(c.p + 4);
			return DECODE_OK;
		}
		if (!has(&c, 20))
			return DECODE_MALFORMED;
		uint32_t hlen = (uint32_t)(c.p[12] >> 4) * 4;
		if (hlen < 20 || (wire_len && hlen > wire_len))
			return DECODE_MALFORMED;
		d->sport = be16(c.p);
		d->dport = be16(c.p + 2);
		d->seq = be32(c.p + 4);
		d->ack = be32(c.p + 8);
		d->tcp_flags = c.p[13];
		d->window = be16(c.p + 14);
		/* Options may be cut by the snaplen; the fixed header is what we need. */
		uint32_t skip_len = hlen <= c.len ? hlen : c.len;
		skip(&c, skip_len);
		d->payload = c.p;
		d->payload_caplen = hlen <= d->l4_caplen ? c.len : 0;
		d->payload_len = wire_len >= hlen ? wire_len - hlen : 0;
		if (d->payload_caplen > d->payload_len)
			d->payload_caplen = d->payload_len;   /* Ethernet padding */
		return DECODE_OK;
	}
	case FL_IPPROTO_UDP: {
		if (!has(&c, 8))
			return DECODE_MALFORMED;
		uint16_t ulen = be16(c.p + 4);
		d->sport = be16(c.p);
		d->dport = be16(c.p + 2);
		if (ulen < 8 || (wire_len && ulen > wire_len))
			return DECODE_MALFORMED;
		skip(&c, 8);
		d->payload = c.p;
		d->payload_len = ulen - 8u;
		d->payload_caplen = c.len < d->payload_len ? c.len : d->payload_len;
		/* GTP-U carries whole IP packets; analyse the inner one (mobile cores). */
		if ((d->sport == GTPU_PORT || d->dport == GTPU_PORT) && depth < MAX_TUNNEL_DEPTH &&
		    d->payload_caplen >= 8 && (d->payload[0] >> 5) == 1 && d->payload[1] == 0xff) {
			struct cursor in = { d->payload, d->payload_caplen };
			uint32_t hl = 8;
			if (in.p[0] & 0x07)      /* E, S or PN: 4 more bytes, then extensions */
				hl = 12;
			if (!has(&in, hl))
				return DECODE_MALFORMED;
			if (in.p[0] & 0x04) {    /* extension headers, each 4*n bytes */
				uint8_t next = in.p[11];
				for (int i = 0; next && i < 8; i++) {
					if (!has(&in, hl + 1) || in.p[hl] == 0)
						return DECODE_MALFORMED;
					uint32_t el = in.p[hl] * 4u;
					if (!has(&in, hl + el))
						return DECODE_MALFORMED;
					next = in.p[hl + el - 1];
					hl += el;
				}
			}
			skip(&in, hl);
			struct decoded inner = { .pkt = d->pkt };
			if (decode_by_version(in, &inner, depth + 1) == DECODE_OK) {
				*d = inner;
				return DECODE_OK;
			}
		}
		return DECODE_OK;
	}
	case 47: {   /* GRE: look inside for IP (or Ethernet) */
		if (depth >= MAX_TUNNEL_DEPTH || !has(&c, 4))
			return DECODE_OK;
		uint16_t flags = be16(c.p), proto = be16(c.p + 2);
		if (flags & 0x0007)      /* version 1 (PPTP) is not IP-in-GRE */
			return DECODE_OK;
		uint32_t hl = 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) +
			      (flags & 0x1000 ? 4 : 0);
		if (!has(&c, hl))
			return DECODE_MALFORMED;
		skip(&c, hl);
		struct decoded inner = { .pkt = d->pkt };
		enum decode_result r = proto == ETH_P_TEB ? decode_ethernet(c, &inner, depth + 1)
							  : decode_l3(c, proto, &inner, depth + 1);
		if (r == DECODE_OK)
			*d = inner;
		return DECODE_OK;
	}
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6:
		/* Type and code are enough to report (tcpdump prints the type alone). */
		if (!has(&c, 2))
			return DECODE_MALFORMED;
		return DECODE_OK;
	default:
		return DECODE_OK;
	}
}

/* --- IPv4 ----------------------------------------------------------------- */
static enum decode_result decode_ipv4(struct cursor c, struct decoded *d, int depth)
{
	if (!has(&c, 20) || (c.p[0] >> 4) != 4)
		return DECODE_MALFORMED;
	uint32_t ihl = (uint32_t)(c.p[0] & 0x0f) * 4;
	uint32_t total = be16(c.p + 2);
	uint16_t frag = be16(c.p + 6);
	if (ihl < 20 || !has(&c, ihl) || total < ihl)
		return DECODE_MALFORMED;
	d->ip_version = 4;
	d->src.family = d->dst.family = 4;
	memcpy(d->src.bytes, c.p + 12, 4);
	memcpy(d->dst.bytes, c.p + 16, 4);
	d->ttl = c.p[8];
	d->l4proto = c.p[9];
	d->fragment = (frag & 0x1fff) != 0;
	d->more_fragments = (frag & 0x2000) != 0;
	skip(&c, ihl);
	if (c.len > total - ihl)
		c.len = total - ihl;     /* drop link-layer padding */
	return decode_l4(c, total - ihl, d, depth);
}

/* --- IPv6 with its extension headers ---------------------------------------- */
static enum decode_result decode_ipv6(struct cursor c, struct decoded *d, int depth)
{
	if (!has(&c, 40) || (c.p[0] >> 4) != 6)
		return DECODE_MALFORMED;
	uint32_t plen = be16(c.p + 4);
	uint8_t next = c.p[6];
	d->ip_version = 6;
	d->src.family = d->dst.family = 6;
	memcpy(d->src.bytes, c.p + 8, 16);
	memcpy(d->dst.bytes, c.p + 24, 16);
	d->ttl = c.p[7];
	skip(&c, 40);
	if (c.len > plen)
		c.len = plen;
	uint32_t remaining = plen;   /* 0 with a jumbogram: trust the capture */
	if (plen == 0)
		remaining = c.len;
	for (int i = 0; i < 8; i++) {
		uint32_t hl;
		switch (next) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
			if (!has(&c, 2))
				return DECODE_MALFORMED;
			hl = (c.p[1] + 1u) * 8;
			break;
		case 51:  /* AH */
			if (!has(&c, 2))
				return DECODE_MALFORMED;
			hl = (c.p[1] + 2u) * 4;
			break;
		case 44:  /* fragment */
			if (!has(&c, 8))
				return DECODE_MALFORMED;
			hl = 8;
			d->fragment = (be16(c.p + 2) & 0xfff8) != 0;
			d->more_fragments = (c.p[3] & 1) != 0;
			break;
		default:
			d->l4proto = next;
			return decode_l4(c, remaining, d, depth);
		}
		if (!has(&c, hl) || hl > remaining)
			return DECODE_MALFORMED;
		next = c.p[0];
		skip(&c, hl);
		remaining -= hl;
	}
	return DECODE_MALFORMED;   /* more extension headers than any real packet has */
}

static enum decode_result decode_l3(struct cursor c, uint16_t ethertype, struct decoded *d,
				    int depth)
{
	switch (ethertype) {
	case ETH_P_IPV4: return decode_ipv4(c, d, depth);
	case ETH_P_IPV6: return decode_ipv6(c, d, depth);
	default: return DECODE_NOT_IP;
	}
}

/* --- Link layers ------------------------------------------------------------ */
static enum decode_result decode_ethertype_tags(struct cursor c, uint16_t type,
						struct decoded *d, int depth)
{
	for (int tags = 0; type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ1;
	     tags++) {
		if (tags == MAX_VLAN_TAGS || !has(&c, 4))
			return DECODE_MALFORMED;
		type = be16(c.p + 2);
		skip(&c, 4);
	}
	return decode_l3(c, type, d, depth);
}

static enum decode_result decode_ethernet(struct cursor c, struct decoded *d, int depth)
{
	if (!has(&c, 14))
		return DECODE_MALFORMED;
	uint16_t type = be16(c.p + 12);
	skip(&c, 14);
	if (type < 0x0600) {     /* 802.3 length: LLC, maybe SNAP */
		if (has(&c, 8) && c.p[0] == 0xaa && c.p[1] == 0xaa && c.p[2] == 0x03) {
			type = be16(c.p + 6);
			skip(&c, 8);
		} else {
			return DECODE_NOT_IP;
		}
	}
	return decode_ethertype_tags(c, type, d, depth);
}

static enum decode_result link_ethernet(struct cursor c, struct decoded *d)
{
	return decode_ethernet(c, d, 0);
}

static enum decode_result link_sll(struct cursor c, struct decoded *d)
{
	if (!has(&c, 16))
		return DECODE_MALFORMED;
	uint16_t type = be16(c.p + 14);
	skip(&c, 16);
	return decode_ethertype_tags(c, type, d, 0);
}

static enum decode_result link_sll2(struct cursor c, struct decoded *d)
{
	if (!has(&c, 20))
		return DECODE_MALFORMED;
	uint16_t type = be16(c.p);
	skip(&c, 20);
	return decode_ethertype_tags(c, type, d, 0);
}

/* BSD loopback: a 4-byte address family in the byte order of the host that wrote it. */
static enum decode_result link_null(struct cursor c, struct decoded *d)
{
	if (!has(&c, 4))
		return DECODE_MALFORMED;
	uint32_t fam = (uint32_t)c.p[0] | (uint32_t)c.p[1] << 8 | (uint32_t)c.p[2] << 16 |
		       (uint32_t)c.p[3] << 24;
	if (fam > 0xffff)
		fam = be32(c.p);
	skip(&c, 4);
	switch (fam) {
	case 2: return decode_l3(c, ETH_P_IPV4, d, 0);
	case 24: case 28: case 30: return decode_l3(c, ETH_P_IPV6, d, 0);
	default: return DECODE_NOT_IP;
	}
}

static enum decode_result link_raw(struct cursor c, struct decoded *d)
{
	return decode_by_version(c, d, 0);
}

/* PPP: optional 0xff 0x03 address/control, then a 1- or 2-byte protocol. */
static enum decode_result link_ppp(struct cursor c, struct decoded *d)
{
	if (has(&c, 2) && c.p[0] == 0xff && c.p[1] == 0x03)
		skip(&c, 2);
	if (!has(&c, 2))
		return DECODE_MALFORMED;
	uint16_t proto;
	if (c.p[0] & 1) {        /* compressed 1-byte protocol field */
		proto = c.p[0];
		skip(&c, 1);
	} else {
		proto = be16(c.p);
		skip(&c, 2);
	}
	switch (proto) {
	case 0x21: return decode_l3(c, ETH_P_IPV4, d, 0);
	case 0x57: return decode_l3(c, ETH_P_IPV6, d, 0);
	default: return DECODE_NOT_IP;
	}
}

/* IP over InfiniBand (LINKTYPE_IPOIB): two 20-byte hardware addresses, ethertype, reserved. */
static enum decode_result link_ipoib(struct cursor c, struct decoded *d)
{
	if (!has(&c, 44))
		return DECODE_MALFORMED;
	uint16_t type = be16(c.p + 40);
	skip(&c, 44);
	return decode_ethertype_tags(c, type, d, 0);
}

/* 802.11 with a radiotap header: data frames with an LLC/SNAP header. */
static enum decode_result link_radiotap(struct cursor c, struct decoded *d)
{
	if (!has(&c, 4))
		return DECODE_MALFORMED;
	uint32_t rt_len = (uint32_t)c.p[2] | (uint32_t)c.p[3] << 8;
	if (rt_len < 8 || !has(&c, rt_len + 24))
		return DECODE_MALFORMED;
	skip(&c, rt_len);
	uint8_t fc0 = c.p[0], fc1 = c.p[1];
	if (((fc0 >> 2) & 3) != 2)          /* not a data frame */
		return DECODE_NOT_IP;
	if (fc1 & 0x40)                     /* protected: encrypted payload */
		return DECODE_NOT_IP;
	uint32_t hl = 24;
	if ((fc1 & 3) == 3)                 /* to-DS and from-DS: a fourth address */
		hl += 6;
	if (fc0 & 0x80)                     /* QoS data */
		hl += 2;
	if ((fc0 & 0x80) && (fc1 & 0x80))   /* HT control with order bit */
		hl += 4;
	if (fc0 & 0x40)                     /* null data: no payload */
		return DECODE_NOT_IP;
	if (!has(&c, hl + 8))
		return DECODE_MALFORMED;
	skip(&c, hl);
	if (c.p[0] != 0xaa || c.p[1] != 0xaa || c.p[2] != 0x03)
		return DECODE_NOT_IP;
	uint16_t type = be16(c.p + 6);
	skip(&c, 8);
	return decode_l3(c, type, d, 0);
}

struct link_decoder {
	uint32_t linktype;
	enum decode_result (*decode)(struct cursor c, struct decoded *d);
};

/* Link types by DLT number; raw IP has several numbers across platforms. */
static const struct link_decoder link_decoders[] = {
	{ FL_LINK_ETHERNET, link_ethernet },
	{ FL_LINK_LINUX_SLL, link_sll },
	{ FL_LINK_LINUX_SLL2, link_sll2 },
	{ FL_LINK_NULL, link_null },
	{ FL_LINK_LOOP, link_null },
	{ FL_LINK_RAW, link_raw },
	{ 12, link_raw },              /* DLT_RAW on most BSDs */
	{ 14, link_raw },              /* DLT_RAW on OpenBSD */
	{ FL_LINK_IPV4, link_raw },
	{ FL_LINK_IPV6, link_raw },
	{ 9, link_ppp },               /* DLT_PPP */
	{ 50, link_ppp },              /* DLT_PPP_SERIAL (HDLC-like framing) */
	{ 51, link_ppp },              /* DLT_PPP_ETHER payload after PPPoE is PPP */
	{ 242, link_ipoib },           /* DLT_IPOIB */
	{ 127, link_radiotap },        /* DLT_IEEE802_11_RADIO */
};

enum decode_result decode_packet(const struct fl_packet *pkt, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	d->pkt = pkt;
	struct cursor c = { pkt->data, pkt->caplen };
	for (size_t i = 0; i < sizeof(link_decoders) / sizeof(link_decoders[0]); i++)
		if (link_decoders[i].linktype == pkt->linktype)
			return link_decoders[i].decode(c, d);
	return DECODE_NOT_IP;
}

enum decode_result decode_ip(const uint8_t *data, uint32_t caplen, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	d->quote = true;
	struct cursor c = { data, caplen };
	return decode_by_version(c, d, MAX_TUNNEL_DEPTH);
}
