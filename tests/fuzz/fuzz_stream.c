// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary TCP segments (both directions, any sequence
 * numbers, FIN/RST, holes, idle timeouts) through the stream layer, the
 * reassembler and every dissector.  `make test` runs it for a few
 * seconds, `make fuzz` longer:
 *   tests/fuzz/fuzz.sh [SECONDS] [TARGET...]
 *
 * Input: a sequence of records [ctl][len][len bytes]: ctl bit 0 = server side,
 * bit 1 = FIN, bit 2 = RST, bit 3 = jump the sequence number (a hole or an
 * overlap), bit 4 = idle past the timeout, bit 5 = midstream flow, bits 6-7
 * pick the server port (HTTP hint or not).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "report/entry.h"
#include "core/flow.h"
#include "stream/stream.h"

static void discard(void *ctx, const struct doc *d, const struct entry_meta *meta)
{
	(void)ctx; (void)d; (void)meta;
}

static void release(void *ctx, struct flow *f, bool evicted)
{
	(void)evicted;
	stream_free(ctx, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_config cfg;
	struct fl_stats stats;
	struct emitter em;
	struct stream_env env;
	struct fl_addr a, b;
	config_defaults(&cfg);
	cfg.reassembly_memcap_mb = 1;
	memset(&stats, 0, sizeof(stats));
	emitter_init(&em, &stats);
	emitter_add_sink(&em, (struct entry_sink){ discard, NULL });
	struct flow_table *flows = flow_table_new(16, &stats, release, &env);
	if (!flows || stream_env_init(&env, flows, &em, &cfg, &stats) < 0)
		abort();
	addr_parse(&a, "198.18.3.1");
	addr_parse(&b, "198.18.3.2");
	struct flow *f = NULL;
	struct stream_origin origin = { .midstream = false };
	uint32_t seq[2] = { 1000, 0xfffffff0u };
	int client = 0;
	uint64_t ts = 1;

	size_t off = 0;
	while (off + 2 <= size) {
		uint8_t ctl = data[off], len = data[off + 1];
		off += 2;
		if (len > size - off)
			len = (uint8_t)(size - off);
		if (!f) {
			uint16_t port = (ctl >> 6) == 0 ? 80 : (ctl >> 6) == 1 ? 6379 : 5555;
			f = flow_lookup(flows, &a, 40000, &b, port, FL_IPPROTO_TCP, ts, true, &client);
			if (!f)
				abort();
			f->client = (uint8_t)client;
			if (ctl & 0x20) {
				origin.midstream = true;
			} else {
				f->client_known = true;
				for (int s = 0; s < 2; s++) {
					origin.isn_known[s] = true;
					origin.isn[s] = seq[s]++;
				}
			}
		}
		/* side 0 is the client (a:40000), 1 the server, as indices into f->key */
		int side = (ctl & 1) ? !client : client;
		if (ctl & 0x08)
			seq[ctl & 1] += (uint32_t)(int8_t)data[off - 1] * 37;
		if (ctl & 0x10) {
			ts += 20000000000ull;
			stream_idle(&env, f, ts);
		}
		struct decoded d;
		memset(&d, 0, sizeof(d));
		d.seq = seq[ctl & 1];
		d.ack = seq[!(ctl & 1)];
		d.tcp_flags = TCP_ACK | (ctl & 0x02 ? TCP_FIN : 0) | (ctl & 0x04 ? TCP_RST : 0);
		d.payload = data + off;
		d.payload_caplen = d.payload_len = len;
		ts += 1000;
		f->last_ts_ns = ts;
		stream_tcp_packet(&env, f, side, &d, ts, &origin);
		if (ctl & 0x04)
			stream_end(&env, f, DISSECT_END_RST, side, ts);
		else if (ctl & 0x02)
			stream_tcp_fin(&env, f, side, &d, ts);
		seq[ctl & 1] += len + (ctl & 0x02 ? 1 : 0);
		off += len;
	}
	if (f)
		stream_end(&env, f, DISSECT_END_CAPTURE, f->client, ts);
	flow_table_free(flows);     /* frees every flow's stream through release() */
	emitter_free(&em);
	if (stats.memory.reassembly_bytes != 0)
		__builtin_trap();
	return 0;
}
