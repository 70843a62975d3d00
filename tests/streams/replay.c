// SPDX-License-Identifier: MIT
/*
 * Test scaffolding, not product code: replays a pcap (Ethernet, IPv4/IPv6,
 * TCP) through the stream layer with a minimal flow table and connection
 * tracking, and prints the entries as JSON lines (the stats object on
 * stderr).  tests/streams/run.sh uses it only while `faultline read` cannot
 * run the fixtures; it exercises the stream layer and the dissectors on real
 * traffic, not decode/flow/tcp.
 *   replay [--set KEY=VALUE]... FILE
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "entry.h"
#include "flow.h"
#include "stream.h"

#define MAX_FLOWS 256

static struct flow flows[MAX_FLOWS];
static unsigned n_flows;

static void print_entry(void *ctx, const struct doc *d, const struct entry_meta *meta)
{
	(void)ctx; (void)meta;
	doc_write_json(d, DOC_ROOT, stdout);
	putchar('\n');
}

static struct flow *lookup(const struct fl_addr *src, uint16_t sport, const struct fl_addr *dst,
			   uint16_t dport, int *side)
{
	for (unsigned i = 0; i < n_flows; i++) {
		struct flow *f = &flows[i];
		for (int s = 0; s < 2; s++) {
			if (!memcmp(&f->key.addr[s], src, sizeof(*src)) && f->key.port[s] == sport &&
			    !memcmp(&f->key.addr[!s], dst, sizeof(*dst)) && f->key.port[!s] == dport) {
				*side = s;
				return f;
			}
		}
	}
	if (n_flows == MAX_FLOWS)
		return NULL;
	struct flow *f = &flows[n_flows++];
	memset(f, 0, sizeof(*f));
	f->key.addr[0] = *src;
	f->key.port[0] = sport;
	f->key.addr[1] = *dst;
	f->key.port[1] = dport;
	f->key.proto = 6;
	*side = 0;
	return f;
}

static int decode(const uint8_t *p, uint32_t caplen, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	if (caplen < 14)
		return -1;
	uint16_t type = (uint16_t)(p[12] << 8 | p[13]);
	p += 14;
	caplen -= 14;
	uint32_t l4off, total;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	if (type == 0x0800) {
		if (caplen < 20 || p[9] != 6)
			return -1;
		l4off = (uint32_t)(p[0] & 15) * 4;
		total = (uint32_t)(p[2] << 8 | p[3]);
		inet_ntop(AF_INET, p + 12, a, sizeof(a));
		inet_ntop(AF_INET, p + 16, b, sizeof(b));
	} else if (type == 0x86dd) {
		if (caplen < 40 || p[6] != 6)
			return -1;
		l4off = 40;
		total = 40 + (uint32_t)(p[4] << 8 | p[5]);
		inet_ntop(AF_INET6, p + 8, a, sizeof(a));
		inet_ntop(AF_INET6, p + 24, b, sizeof(b));
	} else {
		return -1;
	}
	if (addr_parse(&d->src, a) || addr_parse(&d->dst, b) || caplen < l4off + 20)
		return -1;
	const uint8_t *t = p + l4off;
	d->sport = (uint16_t)(t[0] << 8 | t[1]);
	d->dport = (uint16_t)(t[2] << 8 | t[3]);
	d->seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
	d->ack = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
	d->tcp_flags = t[13];
	uint32_t hl = (uint32_t)(t[12] >> 4) * 4;
	if (caplen < l4off + hl || total < l4off + hl)
		return -1;
	d->payload = t + hl;
	d->payload_len = total - l4off - hl;
	uint32_t cap = caplen - l4off - hl;
	d->payload_caplen = cap < d->payload_len ? cap : d->payload_len;
	return 0;
}

int main(int argc, char **argv)
{
	struct fl_config cfg;
	struct fl_stats stats;
	struct emitter em;
	char err[256], errbuf[PCAP_ERRBUF_SIZE];
	config_defaults(&cfg);
	memset(&stats, 0, sizeof(stats));
	int i = 1;
	for (; i + 1 < argc && !strcmp(argv[i], "--set"); i += 2)
		if (config_set(&cfg, argv[i + 1], err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	if (i >= argc)
		return 2;
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(argv[i], PCAP_TSTAMP_PRECISION_NANO,
							       errbuf);
	if (!pc) {
		fprintf(stderr, "%s\n", errbuf);
		return 1;
	}
	emitter_init(&em, &stats);
	emitter_add_sink(&em, (struct entry_sink){ print_entry, NULL });
	struct stream_env env = { &em, &cfg, &stats };
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t ts = 0;
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct decoded d;
		/* nanosecond precision: tv_usec holds nanoseconds */
		ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		for (unsigned k = 0; k < n_flows; k++)
			if (flows[k].stream && ts - flows[k].last_ts_ns > cfg.stream_timeout_ms * 1000000ull)
				stream_idle(&env, &flows[k], ts);
		if (decode(data, h->caplen, &d))
			continue;
		int side;
		struct flow *f = lookup(&d.src, d.sport, &d.dst, d.dport, &side);
		if (!f)
			continue;
		if (!f->first_ts_ns)
			f->first_ts_ns = ts;
		f->last_ts_ns = ts;
		if (d.tcp_flags & TCP_SYN) {
			f->tcp.half[side].syn_seen = true;
			f->tcp.half[side].syn_seq = d.seq;
			if (!(d.tcp_flags & TCP_ACK)) {
				f->client = (uint8_t)side;
				f->client_known = true;
			}
		} else if (!f->tcp.half[0].syn_seen && !f->tcp.half[1].syn_seen) {
			f->tcp.midstream = true;
		}
		stream_tcp_packet(&env, f, side, &d, ts);
	}
	for (unsigned k = 0; k < n_flows; k++) {
		stream_end(&env, &flows[k], DISSECT_END_CAPTURE, 0, ts);
		stream_free(&env, &flows[k]);
	}
	pcap_close(pc);
	emitter_free(&em);
	/* The counters the stream layer keeps, as `read --stats` prints them. */
	stats_write_json(&stats, stderr);
	fputc('\n', stderr);
	return 0;
}
