// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the whole offline pipeline.  Raw bytes become a sequence
 * of packets, each with a link type decode supports (or one it does not) and a
 * timestamp that may be 0, equal to the last one or go backwards; socket
 * events and wall-clock ticks are mixed in.  Entries go through a KFL filter
 * into the JSON and table printers (to /dev/null), so doc, entry, output and
 * eval run on every entry the pipeline produces.
 *
 * Input: records of an 8-byte header and `len` bytes:
 *   [0] kind: bits 0-3 pick the link type (link_types[]), bits 4-5 the direction,
 *       bit 6: the bytes are a struct fl_sock_event, bit 7: a tick (no packet)
 *   [1] time: bits 0-1: 0 forward by `delta` us, 1 back to 0, 2 unchanged,
 *       3 backwards by `delta` us; bits 2-7: the frame was that many x 64 bytes
 *       longer on the wire than captured
 *   [2..3] len (little-endian), [4..7] delta in microseconds (little-endian)
 * tests/fuzz/make-seeds.py turns pcaps into such seeds; with FUZZ_PIPELINE_ECHO
 * set, the JSON entries go to stdout (to check what a seed reaches).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/packet.h"
#include "faultline.h"
#include "kfl/kfl.h"
#include "pipeline.h"
#include "report/stats.h"
#include "sink/output.h"

/* Every DLT decode_packet() knows, and one it does not (DLT_USER0). */
static const uint32_t link_types[16] = {
	FL_LINK_ETHERNET, FL_LINK_LINUX_SLL, FL_LINK_LINUX_SLL2, FL_LINK_NULL,
	FL_LINK_LOOP, FL_LINK_RAW, 12 /* DLT_RAW, BSD */, 14 /* DLT_RAW, OpenBSD */,
	FL_LINK_IPV4, FL_LINK_IPV6, 9 /* DLT_PPP */, 50 /* DLT_PPP_SERIAL */,
	51 /* DLT_PPP_ETHER */, 242 /* DLT_IPOIB */, 127 /* DLT_IEEE802_11_RADIO */,
	147 /* DLT_USER0: not decoded */,
};

#define HEADER_LEN 8
#define BASE_TS_NS 1700000000000000000ull

static FILE *devnull;
static struct kfl_expr *filter;

static bool filter_match(const void *ctx, const struct doc *entry)
{
	(void)ctx;
	return kfl_match(filter, entry);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	(void)argc;
	(void)argv;
	devnull = getenv("FUZZ_PIPELINE_ECHO") ? stdout : fopen("/dev/null", "w");
	filter = kfl_compile("response.status > 400 or error or icmp or tcp or "
			     "request.headers[\"Host\"].endsWith(\".internal\")", err, sizeof(err));
	if (!devnull || !filter)
		abort();
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_config cfg;
	struct fl_stats stats;
	config_defaults(&cfg);
	cfg.stream_timeout_ms = 1000;     /* timeouts within a short input */
	cfg.max_flows = 16;               /* the smallest table: evictions */
	cfg.reassembly_memcap_mb = 1;
	memset(&stats, 0, sizeof(stats));

	struct pipeline *p = pipeline_new(&cfg, &stats);
	struct output *json = output_new(devnull, OUTPUT_JSON, false, NULL, NULL);
	struct output *table = output_new(devnull, OUTPUT_TABLE, true, filter_match, NULL);
	if (!p || !json || !table)
		abort();
	pipeline_add_sink(p, output_sink(json));
	pipeline_add_sink(p, output_sink(table));

	uint64_t ts = BASE_TS_NS;
	size_t off = 0;
	while (size - off >= HEADER_LEN) {
		const uint8_t *h = data + off;
		size_t len = (size_t)h[2] | (size_t)h[3] << 8;
		uint64_t delta = (uint64_t)le32(h + 4) * 1000;
		off += HEADER_LEN;
		if (len > size - off)
			len = size - off;
		switch (h[1] & 3) {
		case 0: ts += delta; break;
		case 1: ts = 0; break;
		case 2: break;
		case 3: ts -= delta < ts ? delta : ts; break;
		}
		if (h[0] & 0x80) {
			pipeline_tick(p, ts);
		} else if (h[0] & 0x40) {
			struct fl_sock_event ev;
			memset(&ev, 0, sizeof(ev));
			memcpy(&ev, data + off, len < sizeof(ev) ? len : sizeof(ev));
			pipeline_sock_event(p, &ev, ts);
		} else {
			/* A copy of exactly caplen bytes, so ASan sees any read past it. */
			uint8_t *frame = malloc(len ? len : 1);
			memcpy(frame, data + off, len);
			struct fl_packet pkt = {
				.ts_ns = ts,
				.data = frame,
				.caplen = (uint32_t)len,
				.len = (uint32_t)len + (uint32_t)(h[1] >> 2) * 64,
				.linktype = link_types[h[0] & 0x0f],
				.direction = (h[0] >> 4) & 3,
			};
			pipeline_packet(p, &pkt);
			free(frame);
		}
		off += len;
	}
	pipeline_finish(p);
	pipeline_free(p);
	output_free(json);
	output_free(table);
	return 0;
}
