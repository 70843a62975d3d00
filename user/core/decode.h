/* SPDX-License-Identifier: MIT */
/*
 * decode: link layer -> VLAN -> IPv4/IPv6 -> TCP/UDP/ICMP/ICMPv6, every field
 * read through bounds checks.  Fills a struct decoded that points into the
 * packet; nothing is copied or allocated.
 */
#ifndef FL_DECODE_H
#define FL_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/packet.h"

#define FL_IPPROTO_ICMP   1
#define FL_IPPROTO_TCP    6
#define FL_IPPROTO_UDP    17
#define FL_IPPROTO_GRE    47
#define FL_IPPROTO_ICMPV6 58
#define FL_IPPROTO_SCTP   132

/* TCP flags as in the header's 13th byte. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/*
 * An encapsulation the packet came through, outermost first.  The inner
 * packet is the one decoded; this says how it was carried.
 */
enum fl_tunnel_type {
	FL_TUNNEL_GRE = 1,
	FL_TUNNEL_GTP,
	FL_TUNNEL_VXLAN,
	FL_TUNNEL_GENEVE,
	FL_TUNNEL_MPLS,
};
#define FL_MAX_TUNNELS 3
#define FL_MPLS_LABELS 4          /* labels kept of an MPLS stack (the rest counted) */

struct fl_tunnel {
	uint8_t type;                 /* enum fl_tunnel_type */
	bool has_id;                  /* VNI (VXLAN, Geneve), key (GRE), TEID (GTP-U) */
	bool has_outer;               /* outer addresses (every type but MPLS) */
	uint8_t n_labels;             /* MPLS: labels kept in labels[] */
	uint32_t id;
	uint32_t labels[FL_MPLS_LABELS];
	struct fl_addr outer_src, outer_dst;
};

/* UDP ports that carry a tunnel decode looks into (GTP-U, VXLAN, Geneve). */
static inline bool decode_is_tunnel_port(uint16_t sport, uint16_t dport)
{
	return sport == 2152 || dport == 2152 || dport == 4789 || dport == 8472 || dport == 6081;
}

/* The encapsulations of a flow, as entries report them (`tunnel`). */
struct fl_tunnels {
	uint8_t n;
	struct fl_tunnel t[FL_MAX_TUNNELS];
};

/* "vxlan", "geneve", "gre", "gtp", "mpls" (inline: the stats use it without decode). */
static inline const char *tunnel_type_name(uint8_t type)
{
	switch (type) {
	case FL_TUNNEL_GRE: return "gre";
	case FL_TUNNEL_GTP: return "gtp";
	case FL_TUNNEL_VXLAN: return "vxlan";
	case FL_TUNNEL_GENEVE: return "geneve";
	case FL_TUNNEL_MPLS: return "mpls";
	default: return "unknown";
	}
}

/*
 * An IP fragment: what the defragmenter needs (decode stops at the first
 * fragmented IP layer and returns DECODE_FRAGMENT; the pipeline hands the
 * datagram back to decode_reassembled() once it is whole).
 */
struct fl_fragment {
	uint32_t id;                  /* IPv4: 16 bits; IPv6: 32 bits */
	uint32_t offset;              /* bytes */
	bool more;                    /* MF */
	uint8_t proto;                /* the protocol the datagram carries */
	const uint8_t *ip_hdr;        /* IPv4 header with options / IPv6 fixed header */
	uint32_t ip_hdr_len;
	const uint8_t *data;          /* the fragment's part of the datagram */
	uint32_t data_len;            /* bytes on the wire (from the IP length) */
	uint32_t data_caplen;         /* bytes captured */
	uint8_t depth;                /* tunnel depth of this IP layer */
};

struct decoded {
	const struct fl_packet *pkt;
	uint8_t ip_version;          /* 4 or 6 */
	struct fl_addr src, dst;
	uint8_t l4proto;             /* FL_IPPROTO_*, or another IP protocol number */
	uint8_t ttl;                 /* TTL or hop limit */
	uint16_t ip_id;              /* IPv4 identification (0 for IPv6) */
	uint32_t link_ifindex;       /* Linux SLL2: the interface's index; 0 otherwise */
	bool fragment;               /* not the first fragment: no L4 header here */
	bool more_fragments;         /* the first fragment of a fragmented datagram */
	bool l4_missing;             /* quote: cut before the L4 header (l4proto still named) */
	bool quote;                  /* decoding the packet quoted in an ICMP error */
	bool is_fragment;            /* frag below holds the fragment (DECODE_FRAGMENT, or a quote) */
	struct fl_fragment frag;
	uint16_t sport, dport;       /* TCP/UDP ports (0 otherwise) */
	/* TCP */
	uint32_t seq, ack;
	uint8_t tcp_flags;
	uint16_t window;
	/* The L4 header and what follows it (ICMP: the whole message). */
	const uint8_t *l4;
	uint32_t l4_caplen;          /* captured bytes from l4 */
	/* Application payload after the TCP/UDP header. */
	const uint8_t *payload;
	uint32_t payload_caplen;     /* bytes captured */
	uint32_t payload_len;        /* bytes on the wire, from the IP length */
	/* How the packet was carried, outermost first. */
	uint8_t n_tunnels;
	struct fl_tunnel tunnels[FL_MAX_TUNNELS];
};

enum decode_result {
	DECODE_OK = 0,
	DECODE_NOT_IP = 1,           /* ARP, LLDP, ...: skipped, not an error */
	DECODE_FRAGMENT = 2,         /* an IP fragment: d->frag describes it, nothing above it */
	DECODE_MALFORMED = -1,       /* truncated or invalid: counted in decode_errors */
};

enum decode_result decode_packet(const struct fl_packet *pkt, struct decoded *out);
/* Whether decode_packet() understands the link type (a DLT number). */
bool decode_linktype_known(uint32_t linktype);

/*
 * Decode an IP packet quoted inside an ICMP error (no link layer; the quote
 * is usually the IP header plus 8 bytes, so only ports and TCP seq are sure).
 */
enum decode_result decode_ip(const uint8_t *data, uint32_t caplen, struct decoded *out);

/*
 * Decode a reassembled datagram (an IP packet built by defrag) as if it had
 * arrived whole: `out` keeps pkt and the tunnels the fragments came through
 * (the first n_tunnels of `out`, as decode_packet left them).
 */
enum decode_result decode_reassembled(const uint8_t *data, uint32_t len, uint8_t depth,
				      struct decoded *out);

#endif
