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
#define ETH_P_TEB    0x6558    /* transparent Ethernet bridging (GRE, Geneve) */
#define ETH_P_MPLS_UC 0x8847
#define ETH_P_MPLS_MC 0x8848
#define MAX_VLAN_TAGS 4
#define MAX_MPLS_LABELS 16
#define MAX_TUNNEL_DEPTH FL_MAX_TUNNELS
#define GTPU_PORT 2152
#define VXLAN_PORT 4789
#define VXLAN_LINUX_PORT 8472     /* the Linux kernel's default before IANA assigned 4789 */
#define GENEVE_PORT 6081

struct cursor {
	const uint8_t *p;
	uint32_t len;
};

static inline bool has(const struct cursor *c, uint32_t n) { return c->len >= n; }
static inline void skip(struct cursor *c, uint32_t n) { c->p += n; c->len -= n; }

static enum decode_result decode_l3(struct cursor c, uint16_t ethertype, struct decoded *d,
				    int depth);
static enum decode_result decode_ethernet(struct cursor c, struct decoded *d, int depth);
static enum decode_result decode_by_version(struct cursor c, struct decoded *d, int depth);

/*
 * Start decoding what a tunnel carries: `inner` inherits the packet, the
 * tunnels so far plus this one (with the outer addresses of `outer` when
 * it is an IP packet).
 */
static struct fl_tunnel *inner_begin(struct decoded *inner, const struct decoded *outer,
				     uint8_t type)
{
	memset(inner, 0, sizeof(*inner));
	inner->pkt = outer->pkt;
	inner->n_tunnels = outer->n_tunnels;
	memcpy(inner->tunnels, outer->tunnels, sizeof(inner->tunnels));
	if (inner->n_tunnels == FL_MAX_TUNNELS)
		return NULL;      /* the depth limit keeps this from happening */
	struct fl_tunnel *t = &inner->tunnels[inner->n_tunnels++];
	t->type = type;
	if (outer->ip_version) {
		t->has_outer = true;
		t->outer_src = outer->src;
		t->outer_dst = outer->dst;
	}
	return t;
}

/*
 * The result of a tunnel's inner packet: a whole packet or a fragment
 * replaces the outer one; a truncated inner packet is a decode error; what
 * is not IP leaves the outer packet as it was (`not_ip`).
 */
static enum decode_result inner_end(enum decode_result r, struct decoded *d,
				    const struct decoded *inner, enum decode_result not_ip)
{
	if (r == DECODE_OK || r == DECODE_FRAGMENT) {
		*d = *inner;
		return r;
	}
	return r == DECODE_MALFORMED ? DECODE_MALFORMED : not_ip;
}

/* VXLAN (RFC 7348): flags with I set, 24-bit VNI, then an Ethernet frame. */
static enum decode_result decode_vxlan(struct cursor c, struct decoded *d, int depth)
{
	if (!has(&c, 8))
		return DECODE_MALFORMED;
	if (!(c.p[0] & 0x08))
		return DECODE_OK;          /* not VXLAN after all: the outer UDP datagram */
	struct decoded inner;
	struct fl_tunnel *t = inner_begin(&inner, d, FL_TUNNEL_VXLAN);
	if (!t)
		return DECODE_OK;
	t->has_id = true;
	t->id = (uint32_t)c.p[4] << 16 | (uint32_t)c.p[5] << 8 | c.p[6];
	skip(&c, 8);
	return inner_end(decode_ethernet(c, &inner, depth + 1), d, &inner, DECODE_NOT_IP);
}

/* Geneve (RFC 8926): version 0, options, a protocol type, 24-bit VNI. */
static enum decode_result decode_geneve(struct cursor c, struct decoded *d, int depth)
{
	if (!has(&c, 8))
		return DECODE_MALFORMED;
	if (c.p[0] >> 6 != 0)
		return DECODE_OK;          /* an unknown version: leave the outer datagram */
	uint32_t hl = 8 + (c.p[0] & 0x3f) * 4u;
	uint16_t proto = be16(c.p + 2);
	if (!has(&c, hl))
		return DECODE_MALFORMED;
	struct decoded inner;
	struct fl_tunnel *t = inner_begin(&inner, d, FL_TUNNEL_GENEVE);
	if (!t)
		return DECODE_OK;
	t->has_id = true;
	t->id = (uint32_t)c.p[4] << 16 | (uint32_t)c.p[5] << 8 | c.p[6];
	skip(&c, hl);
	enum decode_result r = proto == ETH_P_TEB ? decode_ethernet(c, &inner, depth + 1)
						  : decode_l3(c, proto, &inner, depth + 1);
	return inner_end(r, d, &inner, DECODE_NOT_IP);
}

/*
 * MPLS (RFC 3032): 4-byte label stack entries down to the one with the
 * bottom-of-stack bit; then IPv4 or IPv6 by the first nibble, or a
 * pseudowire control word (nibble 0) and an Ethernet frame.
 */
static enum decode_result decode_mpls(struct cursor c, struct decoded *d, int depth)
{
	struct decoded inner;
	struct fl_tunnel *t = inner_begin(&inner, d, FL_TUNNEL_MPLS);
	if (!t)
		return DECODE_NOT_IP;
	t->has_outer = false;      /* labels, not addresses (inside GRE the GRE entry has them) */
	for (int i = 0;; i++) {
		if (i == MAX_MPLS_LABELS || !has(&c, 4))
			return DECODE_MALFORMED;
		uint32_t lse = be32(c.p);
		if (t->n_labels < FL_MPLS_LABELS)
			t->labels[t->n_labels++] = lse >> 12;
		skip(&c, 4);
		if (lse & 0x100)
			break;
	}
	if (!has(&c, 1))
		return DECODE_MALFORMED;
	enum decode_result r;
	switch (c.p[0] >> 4) {
	case 4:
	case 6:
		r = decode_by_version(c, &inner, depth + 1);
		break;
	case 0:
		if (!has(&c, 4))
			return DECODE_MALFORMED;
		skip(&c, 4);
		r = decode_ethernet(c, &inner, depth + 1);
		break;
	default:
		return DECODE_NOT_IP;
	}
	return inner_end(r, d, &inner, DECODE_NOT_IP);
}

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
	/* A quoted first fragment: the lengths are the fragment's, not the datagram's. */
	if (d->quote && d->more_fragments)
		wire_len = 0;

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
		if (depth >= MAX_TUNNEL_DEPTH)
			return DECODE_OK;
		/* VXLAN and Geneve carry Ethernet frames (overlay networks): the inner flow is the flow. */
		if (d->dport == VXLAN_PORT || d->dport == VXLAN_LINUX_PORT) {
			struct cursor in = { d->payload, d->payload_caplen };
			return decode_vxlan(in, d, depth);
		}
		if (d->dport == GENEVE_PORT) {
			struct cursor in = { d->payload, d->payload_caplen };
			return decode_geneve(in, d, depth);
		}
		/* GTP-U carries whole IP packets; analyse the inner one (mobile cores). */
		if ((d->sport == GTPU_PORT || d->dport == GTPU_PORT) &&
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
			uint32_t teid = be32(in.p + 4);
			skip(&in, hl);
			struct decoded inner;
			struct fl_tunnel *t = inner_begin(&inner, d, FL_TUNNEL_GTP);
			if (!t)
				return DECODE_OK;
			t->has_id = true;
			t->id = teid;
			return inner_end(decode_by_version(in, &inner, depth + 1), d, &inner, DECODE_OK);
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
		struct decoded inner;
		struct fl_tunnel *t = inner_begin(&inner, d, FL_TUNNEL_GRE);
		if (!t)
			return DECODE_OK;
		if (flags & 0x2000) {    /* the key follows the checksum when both are there */
			t->has_id = true;
			t->id = be32(c.p + (flags & 0x8000 ? 8 : 4));
		}
		skip(&c, hl);
		enum decode_result r = proto == ETH_P_TEB ? decode_ethernet(c, &inner, depth + 1)
							  : decode_l3(c, proto, &inner, depth + 1);
		return inner_end(r, d, &inner, DECODE_OK);
	}
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6:
		/* Type and code are enough to report (tcpdump prints the type alone);
		 * the pipeline counts a header shorter than 8 bytes as a decode error. */
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
	d->ip_id = be16(c.p + 4);
	d->src.family = d->dst.family = 4;
	memcpy(d->src.bytes, c.p + 12, 4);
	memcpy(d->dst.bytes, c.p + 16, 4);
	d->ttl = c.p[8];
	d->l4proto = c.p[9];
	d->fragment = (frag & 0x1fff) != 0;
	d->more_fragments = (frag & 0x2000) != 0;
	const uint8_t *hdr = c.p;
	skip(&c, ihl);
	if (c.len > total - ihl)
		c.len = total - ihl;     /* drop link-layer padding */
	if (d->fragment || d->more_fragments) {
		d->is_fragment = true;
		d->frag = (struct fl_fragment){
			.id = be16(hdr + 4), .offset = (frag & 0x1fffu) * 8, .more = d->more_fragments,
			.proto = d->l4proto, .ip_hdr = hdr, .ip_hdr_len = ihl, .data = c.p,
			.data_len = total - ihl, .data_caplen = c.len, .depth = (uint8_t)depth,
		};
		if (!d->quote)
			return DECODE_FRAGMENT;
	}
	return decode_l4(c, total - ihl, d, depth);
}

/* --- IPv6 with its extension headers ---------------------------------------- */

/*
 * An extension header cut short.  In a packet that is an error; in an ICMPv6
 * quote (a complete IPv6 header, the rest cut at the error's size limit) the
 * addresses are still worth reporting, and the protocol when the cut header
 * still names it (as Zeek does): no L4 header.
 */
static enum decode_result ipv6_cut(struct cursor c, uint8_t next, struct decoded *d)
{
	if (!d->quote)
		return DECODE_MALFORMED;
	d->l4proto = has(&c, 1) ? c.p[0] : next;
	d->l4_missing = true;
	d->l4 = NULL;
	d->l4_caplen = 0;
	return DECODE_OK;
}
static enum decode_result decode_ipv6(struct cursor c, struct decoded *d, int depth)
{
	if (!has(&c, 40) || (c.p[0] >> 4) != 6)
		return DECODE_MALFORMED;
	uint32_t plen = be16(c.p + 4);
	uint8_t next = c.p[6];
	const uint8_t *hdr = c.p;
	d->ip_version = 6;
	d->ip_id = 0;
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
				return ipv6_cut(c, next, d);
			hl = (c.p[1] + 1u) * 8;
			break;
		case 51:  /* AH */
			if (!has(&c, 2))
				return ipv6_cut(c, next, d);
			hl = (c.p[1] + 2u) * 4;
			break;
		case 44:  /* fragment */
			if (!has(&c, 8))
				return ipv6_cut(c, next, d);
			hl = 8;
			d->fragment = (be16(c.p + 2) & 0xfff8) != 0;
			d->more_fragments = (c.p[3] & 1) != 0;
			if (!d->fragment && !d->more_fragments)
				break;           /* an atomic fragment (RFC 6946) is the whole datagram */
			if (hl > remaining)
				return DECODE_MALFORMED;
			d->is_fragment = true;
			d->frag = (struct fl_fragment){
				.id = be32(c.p + 4), .offset = be16(c.p + 2) & 0xfff8u,
				.more = d->more_fragments, .proto = c.p[0], .ip_hdr = hdr,
				.ip_hdr_len = 40, .data = c.p + 8, .data_len = remaining - 8,
				.data_caplen = c.len - 8, .depth = (uint8_t)depth,
			};
			if (!d->quote)
				return DECODE_FRAGMENT;
			break;
		default:
			d->l4proto = next;
			return decode_l4(c, remaining, d, depth);
		}
		if (!has(&c, hl) || hl > remaining)
			return ipv6_cut(c, next, d);
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
	case ETH_P_MPLS_UC:
	case ETH_P_MPLS_MC:
		return depth < MAX_TUNNEL_DEPTH ? decode_mpls(c, d, depth) : DECODE_NOT_IP;
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
	d->link_ifindex = be32(c.p + 4);   /* the interface the packet was captured on */
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
	{ FL_LINK_RAW_BSD, link_raw },
	{ FL_LINK_RAW_OPENBSD, link_raw },
	{ FL_LINK_IPV4, link_raw },
	{ FL_LINK_IPV6, link_raw },
	{ FL_LINK_PPP, link_ppp },
	{ FL_LINK_PPP_SERIAL, link_ppp },
	{ FL_LINK_PPP_ETHER, link_ppp },
	{ FL_LINK_IPOIB, link_ipoib },
	{ FL_LINK_IEEE802_11_RADIO, link_radiotap },
};

bool decode_linktype_known(uint32_t linktype)
{
	for (size_t i = 0; i < sizeof(link_decoders) / sizeof(link_decoders[0]); i++)
		if (link_decoders[i].linktype == linktype)
			return true;
	return false;
}

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

enum decode_result decode_reassembled(const uint8_t *data, uint32_t len, uint8_t depth,
				      struct decoded *d)
{
	const struct fl_packet *pkt = d->pkt;
	uint8_t n = d->n_tunnels;
	struct fl_tunnel tunnels[FL_MAX_TUNNELS];
	memcpy(tunnels, d->tunnels, sizeof(tunnels));
	memset(d, 0, sizeof(*d));
	d->pkt = pkt;
	d->n_tunnels = n;
	memcpy(d->tunnels, tunnels, sizeof(tunnels));
	struct cursor c = { data, len };
	enum decode_result r = decode_by_version(c, d, depth);
	return r == DECODE_FRAGMENT ? DECODE_MALFORMED : r;   /* a fragment in a fragment */
}
