// SPDX-License-Identifier: MIT
/*
 * The recorder's writer alone: packets of a pcap file (read once into memory
 * with libpcap) recorded `loops` times through recorder_packet(), timed.
 *
 *   recorder_bench IN.pcap OUT.pcap[.gz] [LOOPS] [MAX_MB MAX_FILES]
 *
 * With RECORDER_BENCH_FLOWS=N in the environment: --write-filter mode, packets
 * spread over N flows (round robin), every 16th flow judged matching after it
 * has 8 packets, every flow ended (and a new one started) after 64 packets.
 *
 * Prints one line: packets, bytes and MB/s of packet data.  Also the tests'
 * way to make recordings before `faultline read -w` exists (tests/recorder).
 * Build: see bench/recorder_bench.sh.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/flow.h"
#include "sink/recorder.h"

static bool match_all(const struct kfl_expr *filter, const struct doc *entry)
{
	(void)filter;
	(void)entry;
	return true;
}

struct pkt {
	uint64_t ts_ns;
	uint32_t caplen, len;
	uint8_t *data;
};

/* A flow with the recorder's flow storage right after it, as the flow table lays it out. */
struct bflow {
	struct flow f;
	uint64_t tag;
};

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE], err[512];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct pkt *pkts = NULL;
	size_t n = 0, cap = 0;
	struct fl_stats st = { 0 };
	struct timespec t0, t1;
	struct recorder *r;
	pcap_t *p;
	int loops, rc;
	unsigned nflows = getenv("RECORDER_BENCH_FLOWS") ? (unsigned)atoi(getenv("RECORDER_BENCH_FLOWS")) : 0;
	struct bflow *flows = NULL;
	uint32_t *seen = NULL;
	uint64_t k = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s IN.pcap OUT.pcap[.gz] [LOOPS] [MAX_MB MAX_FILES]\n", argv[0]);
		return 2;
	}
	loops = argc > 3 ? atoi(argv[3]) : 1;
	p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p) {
		fprintf(stderr, "%s\n", errbuf);
		return 1;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			pkts = realloc(pkts, cap * sizeof(*pkts));
		}
		pkts[n].ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		pkts[n].caplen = h->caplen;
		pkts[n].len = h->len;
		pkts[n].data = malloc(h->caplen);
		memcpy(pkts[n].data, data, h->caplen);
		n++;
	}
	struct recorder_opts o = {
		.path = argv[2],
		.linktype = (uint32_t)pcap_datalink(p),
		.max_mb = argc > 5 ? (uint32_t)atoi(argv[4]) : 0,
		.max_files = argc > 5 ? (uint32_t)atoi(argv[5]) : 0,
		.filter = nflows ? (const struct kfl_expr *)&nflows : NULL,
		.match = match_all,
	};
	if (nflows) {
		flows = calloc(nflows, sizeof(*flows));
		seen = calloc(nflows, sizeof(*seen));
	}
	pcap_close(p);
	r = recorder_open(&o, &st, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	recorder_set_flow_storage(r, (int)offsetof(struct bflow, tag));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int l = 0; l < loops; l++) {
		uint64_t shift = n ? (uint64_t)l * (pkts[n - 1].ts_ns - pkts[0].ts_ns + 1000) : 0;
		for (size_t i = 0; i < n; i++) {
			struct fl_packet fp = {
				.ts_ns = pkts[i].ts_ns + shift, .data = pkts[i].data,
				.caplen = pkts[i].caplen, .len = pkts[i].len, .linktype = o.linktype,
			};
			if (!nflows) {
				recorder_packet(r, &fp, NULL);
				continue;
			}
			unsigned f = (unsigned)(k++ % nflows);
			recorder_packet(r, &fp, &flows[f].f);
			if (++seen[f] == 8 && f % 16 == 0) {
				struct entry_meta meta = { .flow = &flows[f].f, .ts_ns = fp.ts_ns };
				recorder_entry(r, NULL, &meta);
			}
			if (seen[f] == 64) {
				recorder_flow_end(r, &flows[f].f);
				seen[f] = 0;
			}
		}
	}
	recorder_finish(r);
	if (recorder_last_error(r))
		fprintf(stderr, "%s\n", recorder_last_error(r));
	recorder_close(r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (nflows)
		printf("offered %llu packets, %.1f ns each; ", (unsigned long long)k, s * 1e9 / (double)k);
	printf("%s%llu packets, %llu bytes, %.3f s, %.0f MB/s, %.2f Mpps, %llu files, %llu write errors\n",
	       nflows ? "filter: " : "", (unsigned long long)st.recorder.packets,
	       (unsigned long long)st.recorder.bytes, s,
	       (double)st.recorder.bytes / 1e6 / s, (double)st.recorder.packets / 1e6 / s,
	       (unsigned long long)st.recorder.files, (unsigned long long)st.recorder.write_errors);
	for (size_t i = 0; i < n; i++)
		free(pkts[i].data);
	free(pkts);
	free(flows);
	free(seen);
	return st.recorder.write_errors ? 1 : 0;
}
