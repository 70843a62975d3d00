// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the reassembler alone, checked against a model.  Every
 * byte of the stream at offset o is pattern(o), whatever copy carries it, so
 * the sink can check each byte it gets at the offset it tracks (data plus the
 * gaps it hears); at the end nothing is held and the memory account is 0.
 *   tests/fuzz/fuzz.sh [SECONDS]
 * Input: records of 5 bytes: [op][offset:2][len:2]; op % 4: 0 segment, 1 ack,
 * 2 fin, 3 segment with a sink that consumes only up to a newline.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream/reasm.h"

#define ISN 0xfffff000u   /* the stream crosses the sequence-number wrap */

static uint8_t pattern(uint32_t off)
{
	return (uint8_t)(off * 7u + off / 251u);
}

struct model {
	uint64_t off;      /* stream offset of the next byte the sink sees */
	int lines;         /* consume only whole lines */
};

static size_t sink_data(void *arg, const uint8_t *data, size_t len)
{
	struct model *m = arg;
	size_t take = len;
	if (m->lines) {
		const uint8_t *nl = memchr(data, pattern(10), len);
		take = nl ? (size_t)(nl - data) + 1 : 0;
	}
	for (size_t i = 0; i < take; i++)
		if (data[i] != pattern((uint32_t)(m->off + i)))
			abort();
	m->off += take;
	return take;
}

static void sink_gap(void *arg, const struct reasm_gap *g)
{
	struct model *m = arg;
	m->off += g->missing + g->unconsumed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];
	struct fl_stats stats = { 0 };
	struct reasm_env env = { &stats, 1u << 20 };
	struct model m = { 0 };
	struct reasm_sink sink = { sink_data, sink_gap, &m };
	struct reasm r;

	reasm_init(&r);
	reasm_start(&r, ISN);
	for (size_t i = 0; i + 5 <= size; i += 5) {
		uint32_t off = (uint32_t)data[i + 1] << 8 | data[i + 2];
		uint32_t len = ((uint32_t)data[i + 3] << 8 | data[i + 4]) % 2000;
		switch (data[i] % 4) {
		case 0:
		case 3:
			m.lines = data[i] % 4 == 3;
			for (uint32_t k = 0; k < len; k++)
				buf[k] = pattern(off + k);
			reasm_segment(&r, &env, ISN + 1 + off, buf, len, &sink);
			break;
		case 1:
			reasm_ack(&r, &env, ISN + 1 + off, &sink);
			break;
		case 2:
			reasm_fin(&r, ISN + 1 + off);
			break;
		}
		/* The sink has seen exactly what was delivered or skipped, minus what it keeps. */
		if (m.off + r.pending_len != r.delivered + r.missed)
			abort();
	}
	reasm_flush(&r, &env, &sink);
	if (r.held_bytes != 0)
		abort();
	reasm_free(&r, &env);
	if (stats.memory.reassembly_bytes != 0)
		abort();
	return 0;
}
