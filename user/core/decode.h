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

struct decoded {
	const struct fl_packet *pkt;
	uint8_t ip_version;          /* 4 or 6 */
	struct fl_addr src, dst;
	uint8_t l4proto;             /* FL_IPPROTO_*, or another IP protocol number */
	uint8_t ttl;                 /* TTL or hop limit */
	bool fragment;               /* not the first fragment: no L4 header here */
	bool more_fragments;         /* the first fragment of a fragmented datagram */
	bool quote;                  /* decoding the packet quoted in an ICMP error */
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
};

enum decode_result {
	DECODE_OK = 0,
	DECODE_NOT_IP = 1,           /* ARP, LLDP, ...: skipped, not an error */
	DECODE_MALFORMED = -1,       /* truncated or invalid: counted in decode_errors */
};

enum decode_result decode_packet(const struct fl_packet *pkt, struct decoded *out);

/*
 * Decode an IP packet quoted inside an ICMP error (no link layer; the quote
 * is usually the IP header plus 8 bytes, so only ports and TCP seq are sure).
 */
enum decode_result decode_ip(const uint8_t *data, uint32_t caplen, struct decoded *out);

#endif
