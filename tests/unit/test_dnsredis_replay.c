// SPDX-License-Identifier: MIT
/*
 * Replay the tests/dnsredis fixtures through the real stream layer (stream.c,
 * reassembly, the registry's probing) and the DNS and Redis dissectors, with
 * a minimal decoder and flow table of its own standing in for decode, flow
 * and TCP tracking.  It checks the dissectors on real dig/redis-cli traffic
 * before `faultline read` exists, and does not replace the end-to-end run.
 *
 *   test_dnsredis_replay               the cmocka tests below
 *   test_dnsredis_replay FILE.pcap     print the entries as JSON lines
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include "dissect_harness.h"
#include "stream.h"

#define REPLAY_FLOWS 64

struct replay {
	struct emitter em;
	struct fl_stats stats;
	struct fl_config cfg;
	struct stream_env env;
	struct flow flows[REPLAY_FLOWS];
	unsigned n_flows;
	uint64_t last_ts;
	FILE *out;            /* JSON lines, or NULL */
	struct harness *h;    /* entries kept for the tests, or NULL */
};

static void replay_print(void *ctx, const struct doc *d, const struct entry_meta *meta)
{
	struct replay *r = ctx;
	(void)meta;
	doc_write_json(d, DOC_ROOT, r->out);
	fputc('\n', r->out);
}

/* The flow of (src, sport) -> (dst, dport), created on first sight; *side is the sender's. */
static struct flow *replay_flow(struct replay *r, const struct fl_addr *src, uint16_t sport,
				const struct fl_addr *dst, uint16_t dport, uint8_t proto,
				bool create, int *side)
{
	int cmp = addr_compare(src, dst);
	int s = cmp < 0 || (cmp == 0 && sport <= dport) ? 0 : 1;
	struct flow_key k = { .proto = proto };
	k.addr[s] = *src;
	k.port[s] = sport;
	k.addr[!s] = *dst;
	k.port[!s] = dport;
	*side = s;
	for (unsigned i = 0; i < r->n_flows; i++) {
		struct flow_key *o = &r->flows[i].key;
		if (o->proto == proto && addr_equal(&o->addr[0], &k.addr[0]) &&
		    addr_equal(&o->addr[1], &k.addr[1]) && o->port[0] == k.port[0] &&
		    o->port[1] == k.port[1])
			return &r->flows[i];
	}
	if (!create || r->n_flows == REPLAY_FLOWS)
		return NULL;
	struct flow *f = &r->flows[r->n_flows++];
	memset(f, 0, sizeof(*f));
	f->key = k;
	return f;
}

/* IP header at p: addresses, protocol, L4 offset.  false when not IPv4/IPv6 or short. */
static bool replay_ip(const uint8_t *p, size_t len, struct fl_addr *src, struct fl_addr *dst,
		      uint8_t *proto, size_t *l4, size_t *end)
{
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (len >= 20 && p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4, total = (size_t)(p[2] << 8 | p[3]);
		src->family = dst->family = 4;
		memcpy(src->bytes, p + 12, 4);
		memcpy(dst->bytes, p + 16, 4);
		*proto = p[9];
		*l4 = ihl;
		*end = total < len ? total : len;
		return ihl >= 20 && ihl <= len;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		src->family = dst->family = 6;
		memcpy(src->bytes, p + 8, 16);
		memcpy(dst->bytes, p + 24, 16);
		*proto = p[6];
		*l4 = 40;
		size_t total = 40 + (size_t)(p[4] << 8 | p[5]);
		*end = total < len ? total : len;
		return true;
	}
	return false;
}

static void replay_icmp(struct replay *r, const uint8_t *p, size_t len, uint8_t version,
			uint64_t ts)
{
	struct fl_addr qs, qd;
	uint8_t qproto;
	size_t ql4, qend;
	int side;

	/* Destination unreachable only (the fixtures' port unreachable). */
	if (len < 8 || p[0] != (version == 4 ? 3 : 1))
		return;
	if (!replay_ip(p + 8, len - 8, &qs, &qd, &qproto, &ql4, &qend) || qproto != 17 ||
	    ql4 + 8 > len - 8)
		return;
	const uint8_t *u = p + 8 + ql4;
	struct flow *f = replay_flow(r, &qs, (uint16_t)(u[0] << 8 | u[1]), &qd,
				     (uint16_t)(u[2] << 8 | u[3]), qproto, false, &side);
	if (!f)
		return;
	struct dissect_icmp icmp = {
		.version = version, .type = p[0], .code = p[1],
		.type_name = "Destination unreachable",
		.code_name = p[1] == (version == 4 ? 3 : 4) ? "Port unreachable" : NULL,
		.dir = side == f->client ? DISSECT_TO_SERVER : DISSECT_TO_CLIENT,
		.quoted_payload = u + 8, .quoted_len = len - 8 - ql4 - 8,
	};
	stream_icmp_error(&r->env, f, side, &icmp, ts);
}

static void replay_packet(struct replay *r, const uint8_t *frame, size_t caplen, uint64_t ts)
{
	struct fl_addr src, dst;
	uint8_t proto;
	size_t l4, end, off = 14;
	int side;

	if (caplen < 14)
		return;
	uint16_t ethertype = (uint16_t)(frame[12] << 8 | frame[13]);
	if (ethertype == 0x8100 && caplen >= 18) {
		ethertype = (uint16_t)(frame[16] << 8 | frame[17]);
		off = 18;
	}
	if (ethertype != 0x0800 && ethertype != 0x86dd)
		return;
	const uint8_t *ip = frame + off;
	if (!replay_ip(ip, caplen - off, &src, &dst, &proto, &l4, &end))
		return;
	const uint8_t *p = ip + l4;
	size_t len = end > l4 ? end - l4 : 0;
	r->last_ts = ts;
	if (proto == 1 || proto == 58) {
		replay_icmp(r, p, len, proto == 1 ? 4 : 6, ts);
		return;
	}
	if ((proto != 6 && proto != 17) || len < (proto == 6 ? 20u : 8u))
		return;
	struct decoded d = { .ip_version = src.family, .src = src, .dst = dst, .l4proto = proto,
			     .sport = (uint16_t)(p[0] << 8 | p[1]),
			     .dport = (uint16_t)(p[2] << 8 | p[3]), .l4 = p,
			     .l4_caplen = (uint32_t)len };
	struct flow *f = replay_flow(r, &src, d.sport, &dst, d.dport, proto, true, &side);
	if (!f)
		return;
	if (proto == 17) {
		d.payload = p + 8;
		d.payload_caplen = d.payload_len = (uint32_t)(len - 8);
		if (!f->client_known) {   /* the first datagram is the request */
			f->client = (uint8_t)side;
			f->client_known = true;
		}
		stream_udp_packet(&r->env, f, side, &d, ts);
		return;
	}
	size_t doff = (size_t)(p[12] >> 4) * 4;
	if (doff < 20 || doff > len)
		return;
	d.seq = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	d.ack = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	d.tcp_flags = p[13];
	d.payload = p + doff;
	d.payload_caplen = d.payload_len = (uint32_t)(len - doff);
	if (d.tcp_flags & TCP_SYN) {
		f->tcp.half[side].syn_seen = true;
		f->tcp.half[side].syn_seq = d.seq;
		if (!(d.tcp_flags & TCP_ACK)) {
			f->client = (uint8_t)side;
			f->client_known = true;
		}
	}
	stream_tcp_packet(&r->env, f, side, &d, ts);
}

/* Replay a pcap file; returns 0 or -1 when it cannot be read. */
static int replay_file(const char *path, FILE *out, struct harness *h)
{
	char err[PCAP_ERRBUF_SIZE];
	struct replay *r = calloc(1, sizeof(*r));
	pcap_t *pc = pcap_open_offline(path, err);
	if (!r || !pc) {
		free(r);
		return -1;
	}
	emitter_init(&r->em, &r->stats);
	r->out = out;
	if (out)
		emitter_add_sink(&r->em, (struct entry_sink){ .emit = replay_print, .ctx = r });
	if (h)
		emitter_add_sink(&r->em, (struct entry_sink){ .emit = h_sink, .ctx = h });
	config_defaults(&r->cfg);
	r->env = (struct stream_env){ .em = &r->em, .cfg = &r->cfg, .stats = &r->stats };

	struct pcap_pkthdr *hdr;
	const u_char *data;
	while (pcap_datalink(pc) == DLT_EN10MB && pcap_next_ex(pc, &hdr, &data) == 1)
		replay_packet(r, data, hdr->caplen,
			      (uint64_t)hdr->ts.tv_sec * 1000000000ull + (uint64_t)hdr->ts.tv_usec * 1000);
	for (unsigned i = 0; i < r->n_flows; i++) {
		stream_end(&r->env, &r->flows[i], DISSECT_END_CAPTURE, r->flows[i].client, r->last_ts);
		stream_free(&r->env, &r->flows[i]);
	}
	pcap_close(pc);
	emitter_free(&r->em);
	free(r);
	return 0;
}

/* ---- the tests: one per fixture, checking the facts the traffic fixes ---- */

static struct harness *replay(const char *name)
{
	char path[512];
	struct harness *h = h_new(&dns_dissector, FL_IPPROTO_UDP, 53);   /* only its sink is used */
	const char *dir = getenv("FIXTURES");
	snprintf(path, sizeof(path), "%s/%s.pcap", dir ? dir : "tests/dnsredis/fixtures", name);
	if (replay_file(path, NULL, h) < 0)
		fail_msg("cannot read %s", path);
	return h;
}

static void test_dns_udp(void **unused)
{
	(void)unused;
	struct harness *h = replay("dns-noerror");
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "response.rcode_name"), "NOERROR");
	h_contains(h, 0, "\"data\":\"198.18.4.9\"");
	assert_true(h_is_null(h, 0, "error"));
	h_free(h);
	h = replay("dns-nxdomain");
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "response.rcode_name"), "NXDOMAIN");
	h_free(h);
	h = replay("dns-refused");
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "response.rcode_name"), "REFUSED");
	h_contains(h, 0, "\"type\":\"MX\"");
	h_free(h);
	h = replay("dns-ipv6");
	assert_int_equal(h->n, 1);
	h_contains(h, 0, "\"data\":\"fd18:4::9\"");
	h_free(h);
	h = replay("dns-icmp");
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "half-connection");
	assert_string_equal(h_str(h, 0, "error.reason"), "icmp");
	h_free(h);
}

static void test_dns_tcp(void **unused)
{
	(void)unused;
	struct harness *h = replay("dns-tcp");
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "transport"), "tcp");
	assert_true(h_is_null(h, 0, "error"));
	h_free(h);
	h = replay("dns-tcp-keepopen");
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 0, "response.rcode_name"), "NOERROR");
	assert_string_equal(h_str(h, 1, "response.rcode_name"), "NXDOMAIN");
	h_free(h);
}

static void test_redis(void **unused)
{
	(void)unused;
	struct harness *h = replay("redis-commands");
	assert_int_equal(h->n, 8);
	for (unsigned i = 0; i < h->n; i++)
		assert_true(h_is_null(h, i, "error"));
	assert_string_equal(h_str(h, 4, "request.command"), "LRANGE");
	h_contains(h, 4, "\"value\":[\"c\",\"b\",\"a\"]");
	assert_string_equal(h_str(h, 7, "response.type"), "null");
	h_free(h);
	h = replay("redis-resp3");
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 0, "request.command"), "HELLO");
	assert_string_equal(h_str(h, 1, "response.type"), "map");
	h_contains(h, 1, "\"value\":{\"f1\":\"v1\",\"f2\":\"v2\"}");
	h_free(h);
	h = replay("redis-errors");
	assert_int_equal(h->n, 3);
	assert_string_equal(h_str(h, 1, "response.type"), "error");
	assert_string_equal(h_str(h, 2, "response.type"), "error");
	assert_true(h_is_null(h, 2, "error"));
	h_free(h);
	h = replay("redis-pipeline");
	assert_int_equal(h->n, 5);
	assert_string_equal(h_str(h, 3, "request.command"), "PING");
	h_free(h);
	h = replay("redis-eof");
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 0, "error.type"), "unexpected-eof");
	assert_string_equal(h_str(h, 1, "error.type"), "half-connection");
	assert_string_equal(h_str(h, 1, "error.reason"), "closed");
	h_free(h);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (replay_file(argv[i], stdout, NULL) < 0) {
				fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
				return 1;
			}
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_udp),
		cmocka_unit_test(test_dns_tcp),
		cmocka_unit_test(test_redis),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
