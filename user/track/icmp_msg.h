/* SPDX-License-Identifier: MIT */
/* ICMP and ICMPv6: message parsing and names as Wireshark prints them. */
#ifndef FL_ICMP_H
#define FL_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/decode.h"
#include "core/defrag.h"

struct icmp_info {
	uint8_t version;            /* 4 or 6 */
	uint8_t type, code;
	const char *type_name;      /* never NULL */
	const char *code_name;      /* NULL where the type defines no codes */
	bool is_error;              /* unreachable, too big, time exceeded, param problem, quench, redirect */
	bool is_echo_request, is_echo_reply;
	uint16_t echo_id, echo_seq;
	bool has_mtu, has_gateway, has_pointer;
	uint32_t mtu, pointer;
	struct fl_addr gateway;     /* redirect target (v4 gateway, v6 target) */
	bool has_quote;             /* the quoted original packet decoded */
	bool quoted_df;             /* IPv4: the quoted packet had Don't Fragment set */
	struct decoded quote;
	/* The quoted datagram as the capture's defragmenter saw it (set by the pipeline). */
	bool has_defrag;
	struct defrag_match defrag;
};

/* Parse the ICMP message of a decoded packet.  0, or -EINVAL when too short. */
int icmp_parse(const struct decoded *d, struct icmp_info *out);

struct doc;
/* Add {"version", "type", "code", "type_name", "code_name"} as member `key` of `parent`. */
uint32_t icmp_doc_add(struct doc *d, uint32_t parent, const char *key, const struct icmp_info *info);

const char *icmp_type_name(uint8_t version, uint8_t type);
/* NULL when the type has no code table. */
const char *icmp_code_name(uint8_t version, uint8_t type, uint8_t code);
bool icmp_is_error(uint8_t version, uint8_t type);

#endif
