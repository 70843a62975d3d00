// SPDX-License-Identifier: MIT
#include "report/community_id.h"

#include <string.h>

#include "core/sha1.h"

/* The ICMP request/response pairs the spec maps to each other (type -> counterpart type). */
static bool icmp_counterpart(bool v6, uint16_t type, uint16_t *out)
{
	static const uint8_t v4[][2] = {
		{ 8, 0 }, { 0, 8 }, { 13, 14 }, { 14, 13 }, { 15, 16 }, { 16, 15 },
		{ 10, 9 }, { 9, 10 }, { 17, 18 }, { 18, 17 },
	};
	static const uint8_t v6m[][2] = {
		{ 128, 129 }, { 129, 128 }, { 133, 134 }, { 134, 133 }, { 135, 136 }, { 136, 135 },
		{ 130, 131 }, { 131, 130 }, { 144, 145 }, { 145, 144 }, { 146, 147 }, { 147, 146 },
		{ 139, 140 }, { 140, 139 },
	};
	const uint8_t (*m)[2] = v6 ? v6m : v4;
	size_t n = v6 ? sizeof(v6m) / sizeof(v6m[0]) : sizeof(v4) / sizeof(v4[0]);
	for (size_t i = 0; i < n; i++)
		if (m[i][0] == type) {
			*out = m[i][1];
			return true;
		}
	return false;
}

static void base64(const uint8_t *in, size_t len, char *out)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = i + 1 < len ? tbl[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
}

bool community_id_v1(uint16_t seed, const uint8_t *saddr, const uint8_t *daddr, size_t addr_len,
		     uint8_t proto, uint16_t sport, uint16_t dport, char out[COMMUNITY_ID_LEN])
{
	if (addr_len != 4 && addr_len != 16)
		return false;
	bool one_way = false;
	if (proto == 1 || proto == 58) {
		uint16_t peer;
		if (icmp_counterpart(proto == 58, sport, &peer))
			dport = peer;
		else
			one_way = true;
	}
	int c = memcmp(saddr, daddr, addr_len);
	if (!one_way && !(c < 0 || (c == 0 && sport < dport))) {
		const uint8_t *t = saddr;
		saddr = daddr;
		daddr = t;
		uint16_t p = sport;
		sport = dport;
		dport = p;
	}
	uint8_t buf[2 + 16 + 16 + 2 + 4], *p = buf;
	*p++ = (uint8_t)(seed >> 8);
	*p++ = (uint8_t)seed;
	memcpy(p, saddr, addr_len);
	p += addr_len;
	memcpy(p, daddr, addr_len);
	p += addr_len;
	*p++ = proto;
	*p++ = 0;
	*p++ = (uint8_t)(sport >> 8);
	*p++ = (uint8_t)sport;
	*p++ = (uint8_t)(dport >> 8);
	*p++ = (uint8_t)dport;
	uint8_t digest[SHA1_DIGEST_LEN];
	sha1(buf, (size_t)(p - buf), digest);
	memcpy(out, "1:", 2);
	base64(digest, sizeof(digest), out + 2);
	return true;
}
