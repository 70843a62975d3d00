// SPDX-License-Identifier: MIT
/*
 * ICMP names follow Wireshark's packet-icmp.c / packet-icmpv6.c text, so an
 * entry reads the same as the packet does in Wireshark (tests/icmpnames
 * compares the two over every type and code).
 */
#include "track/icmp_msg.h"

#include "core/bytes.h"
#include "report/doc.h"

#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <stddef.h>
#include <string.h>

struct name_entry {
	uint8_t value;
	const char *name;
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct name_entry icmp4_types[] = {
	{ 0, "Echo (ping) reply" }, { 1, "Reserved" }, { 2, "Reserved" },
	{ 3, "Destination unreachable" }, { 4, "Source quench (flow control)" },
	{ 5, "Redirect" }, { 6, "Alternate host address" }, { 8, "Echo (ping) request" },
	{ 9, "Router advertisement" }, { 10, "Router solicitation" },
	{ 11, "Time-to-live exceeded" }, { 12, "Parameter problem" },
	{ 13, "Timestamp request" }, { 14, "Timestamp reply" }, { 15, "Information request" },
	{ 16, "Information reply" }, { 17, "Address mask request" },
	{ 18, "Address mask reply" }, { 19, "Reserved (for security)" }, { 30, "Traceroute" },
	{ 31, "Datagram Conversion Error" }, { 32, "Mobile Host Redirect" },
	{ 33, "IPv6 Where-Are-You" }, { 34, "IPv6 I-Am-Here" },
	{ 35, "Mobile Registration Request" }, { 36, "Mobile Registration Reply" },
	{ 37, "Domain Name Request" }, { 38, "Domain Name Reply" }, { 39, "SKIP" },
	{ 40, "Photuris" }, { 41, "Experimental mobility protocols" },
	{ 42, "Extended Echo request" }, { 43, "Extended Echo reply" },
};

static const char *const icmp4_unreach[16] = {
	"Network unreachable", "Host unreachable", "Protocol unreachable", "Port unreachable",
	"Fragmentation needed", "Source route failed", "Destination network unknown",
	"Destination host unknown", "Source host isolated", "Network administratively prohibited",
	"Host administratively prohibited", "Network unreachable for TOS",
	"Host unreachable for TOS", "Communication administratively filtered",
	"Host precedence violation", "Precedence cutoff in effect",
};
static const char *const icmp4_redirect[4] = {
	"Redirect for network", "Redirect for host", "Redirect for TOS and network",
	"Redirect for TOS and host",
};
static const char *const icmp4_time_exceeded[2] = {
	"Time to live exceeded in transit", "Fragment reassembly time exceeded",
};
static const char *const icmp4_param_problem[3] = {
	"Pointer indicates the error", "Required option missing", "Bad length",
};
static const char *const icmp4_photuris[6] = {
	"Bad SPI", "Authentication Failed", "Decompression Failed", "Decryption Failed",
	"Need Authentication", "Need Authorization",
};
static const char *const icmp4_ext_echo_reply[5] = {
	"No error", "Malformed Query", "No Such Interface", "No Such Table Entry",
	"Multiple Interfaces Satisfy Query",
};

static const struct name_entry icmp6_types[] = {
	{ 1, "Destination Unreachable" }, { 2, "Packet Too Big" }, { 3, "Time Exceeded" },
	{ 4, "Parameter Problem" }, { 128, "Echo (ping) request" }, { 129, "Echo (ping) reply" },
	{ 130, "Multicast Listener Query" }, { 131, "Multicast Listener Report" },
	{ 132, "Multicast Listener Done" }, { 133, "Router Solicitation" },
	{ 134, "Router Advertisement" }, { 135, "Neighbor Solicitation" },
	{ 136, "Neighbor Advertisement" }, { 137, "Redirect" }, { 138, "Router Renumbering" },
	{ 139, "Node Information Query" }, { 140, "Node Information Reply" },
	{ 141, "Inverse Neighbor Discovery Solicitation" },
	{ 142, "Inverse Neighbor Discovery Advertisement" },
	{ 143, "Multicast Listener Report Message v2" },
	{ 144, "Home Agent Address Discovery Request" },
	{ 145, "Home Agent Address Discovery Reply" }, { 146, "Mobile Prefix Solicitation" },
	{ 147, "Mobile Prefix Advertisement" }, { 148, "Certification Path Solicitation" },
	{ 149, "Certification Path Advertisement" }, { 150, "Experimental Mobility" },
	{ 151, "Multicast Router Advertisement" }, { 152, "Multicast Router Solicitation" },
	{ 153, "Multicast Router Termination" }, { 154, "FMIPv6" }, { 155, "RPL Control" },
	{ 156, "Locator Update" }, { 157, "Duplicate Address Request" },
	{ 158, "Duplicate Address Confirmation" }, { 159, "MPL Control Message" },
	{ 160, "Extended Echo request" }, { 161, "Extended Echo reply" },
};

static const char *const icmp6_unreach[8] = {
	"no route to destination", "Administratively prohibited",
	"Beyond scope of source address", "Address unreachable", "Port unreachable",
	"Source address failed ingress/egress policy", "Reject route to destination",
	"Error in Source Routing Header",
};
static const char *const icmp6_time_exceeded[2] = {
	"hop limit exceeded in transit", "fragment reassembly time exceeded",
};
static const char *const icmp6_param_problem[4] = {
	"erroneous header field encountered", "unrecognized Next Header type encountered",
	"unrecognized IPv6 option encountered",
	"IPv6 First Fragment has incomplete IPv6 Header Chain",
};
static const char *const icmp6_rr[2] = { "Command", "Result" };
static const char *const icmp6_ni_query[3] = {
	"Query subject = IPv6 addresses", "Query subject = DNS name or empty",
	"Query subject = IPv4 addresses",
};
static const char *const icmp6_ni_reply[3] = { "Successful", "Refused", "Unknown query type" };
static const char *const icmp6_rpl[6] = {
	"DODAG Information Solicitation", "DODAG Information Object",
	"Destination Advertisement Object", "Destination Advertisement Object Acknowledgment",
	"P2P Discovery Reply Object", "P2P Discovery Reply Object Acknowledgement",
};

/* A code table for one type; `unknown` is how Wireshark shows an undefined code. */
struct code_table {
	uint8_t version, type;
	const char *const *names;
	uint8_t count;
};

#define TABLE(v, t, a) { v, t, a, COUNT(a) }
static const struct code_table code_tables[] = {
	TABLE(4, 3, icmp4_unreach), TABLE(4, 5, icmp4_redirect),
	TABLE(4, 11, icmp4_time_exceeded), TABLE(4, 12, icmp4_param_problem),
	TABLE(4, 40, icmp4_photuris), TABLE(4, 43, icmp4_ext_echo_reply),
	TABLE(6, 1, icmp6_unreach), TABLE(6, 3, icmp6_time_exceeded),
	TABLE(6, 4, icmp6_param_problem), TABLE(6, 138, icmp6_rr),
	TABLE(6, 139, icmp6_ni_query), TABLE(6, 140, icmp6_ni_reply), TABLE(6, 155, icmp6_rpl),
	TABLE(6, 161, icmp4_ext_echo_reply),
};

const char *icmp_type_name(uint8_t version, uint8_t type)
{
	const struct name_entry *t = version == 6 ? icmp6_types : icmp4_types;
	size_t n = version == 6 ? COUNT(icmp6_types) : COUNT(icmp4_types);
	for (size_t i = 0; i < n; i++)
		if (t[i].value == type)
			return t[i].name;
	return "Unknown";
}

const char *icmp_code_name(uint8_t version, uint8_t type, uint8_t code)
{
	/* Codes with a name outside a table. */
	if (version == 4 && type == 6 && code == 0)
		return "Alternate address for host";
	if (version == 4 && type == 9)
		return code == 0 ? "Normal router advertisement" :
		       code == 16 ? "Does not route common traffic" : "Unknown code";
	if (code == 0 && ((version == 4 && type == 42) || (version == 6 && type == 160)))
		return "No error";
	for (size_t i = 0; i < COUNT(code_tables); i++) {
		const struct code_table *ct = &code_tables[i];
		if (ct->version == version && ct->type == type)
			return code < ct->count ? ct->names[code] : "Unknown code";
	}
	return NULL;
}

bool icmp_is_error(uint8_t version, uint8_t type)
{
	if (version == 6)
		return (type >= 1 && type <= 4) || type == 137;   /* a Redirect is reported as an error too */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* The Redirected Header option (type 4) of an ICMPv6 redirect quotes the packet. */
static bool redirected_header(const uint8_t *opt, uint32_t len, struct decoded *quote)
{
	for (int i = 0; i < 16 && len >= 8; i++) {
		uint32_t olen = opt[1] * 8u;
		if (olen == 0 || olen > len)
			return false;
		if (opt[0] == 4)
			return decode_ip(opt + 8, olen - 8, quote) == DECODE_OK;
		opt += olen;
		len -= olen;
	}
	return false;
}

int icmp_parse(const struct decoded *d, struct icmp_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->l4 || d->l4_caplen < 2)
		return -EINVAL;
	const uint8_t *p = d->l4;
	uint32_t len = d->l4_caplen;
	out->version = d->l4proto == FL_IPPROTO_ICMPV6 ? 6 : 4;
	out->type = p[0];
	out->code = p[1];
	out->type_name = icmp_type_name(out->version, out->type);
	out->code_name = icmp_code_name(out->version, out->type, out->code);
	out->is_error = icmp_is_error(out->version, out->type);

	uint8_t echo_req = out->version == 6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	uint8_t echo_rep = out->version == 6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
	if ((out->type == echo_req || out->type == echo_rep) && len >= 8) {
		out->is_echo_request = out->type == echo_req;
		out->is_echo_reply = out->type == echo_rep;
		out->echo_id = be16(p + 4);
		out->echo_seq = be16(p + 6);
	}
	if (len >= 8) {
		if (out->version == 4 && out->type == 3 && out->code == 4) {
			out->has_mtu = true;
			out->mtu = be16(p + 6);
		} else if (out->version == 6 && out->type == 2) {
			out->has_mtu = true;
			out->mtu = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		} else if (out->version == 4 && out->type == 5) {
			out->has_gateway = true;
			out->gateway.family = 4;
			memcpy(out->gateway.bytes, p + 4, 4);
		} else if (out->type == (out->version == 6 ? 4 : 12)) {
			out->has_pointer = true;
			out->pointer = out->version == 6 ?
				(uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7] :
				p[4];
		}
	}
	if (out->version == 6 && out->type == 137 && len >= 40) {
		/* Redirect: the better first hop (target), the destination, then ND options. */
		out->has_gateway = true;
		out->gateway.family = 6;
		memcpy(out->gateway.bytes, p + 8, 16);
		out->has_quote = redirected_header(p + 40, len - 40, &out->quote);
		return 0;
	}
	/* The quoted packet of an error starts after the 8-byte header. */
	if (out->is_error && len > 8 && decode_ip(p + 8, len - 8, &out->quote) == DECODE_OK)
		out->has_quote = true;
	/* Don't Fragment in the quoted IPv4 header (was it dropped for its size?). */
	out->quoted_df = out->version == 4 && out->is_error && len > 8 + 6 && (p[8 + 6] & 0x40);
	return 0;
}

uint32_t icmp_doc_add(struct doc *d, uint32_t parent, const char *key, const struct icmp_info *info)
{
	uint32_t o = doc_add_obj(d, parent, key);
	doc_add_int(d, o, "version", info->version);
	doc_add_int(d, o, "type", info->type);
	doc_add_int(d, o, "code", info->code);
	doc_add_str(d, o, "type_name", info->type_name);
	if (info->code_name)
		doc_add_str(d, o, "code_name", info->code_name);
	return o;
}
