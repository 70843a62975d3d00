// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary TCP segments (both directions, any sequence
 * numbers, FIN/RST, holes, idle timeouts) through the stream layer, the
 * reassembler and every dissector.  `make test` runs it for a few
 * seconds, `make fuzz` longer:
 *   tests/fuzz/fuzz.sh [SECONDS] [TARGET...]
 *
 * Input: a sequence of records [ctl][len][len bytes]: ctl bit 0 = side,
 * bit 1 = FIN, bit 2 = RST, bit 3 = jump the sequence number (a hole or an
 * overlap), bit 4 = idle past the timeout, bit 5 = midstream flow, bits 6-7
 * pick the server port (HTTP hint or not).
 */
#include <stdint.h>
#include <string.h>

#include "core/config.h"
#include "report/entry.h"
#include "core/flow.h"
#include "stream/stream.h"

static void discard(void *ctx, const struct doc *d, const struct entry_meta *meta)
{
	(void)ctx; (void)d; (void)meta;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_config cfg;
	struct fl_stats stats;
	struct emitter em;
	struct flow f;
	config_defaults(&cfg);
	cfg.reassembly_memcap_mb = 1;
	memset(&stats, 0, sizeof(stats));
	memset(&f, 0, sizeof(f));
	emitter_init(&em, &stats);
	emitter_add_sink(&em, (struct entry_sink){ discard, NULL });
	struct stream_env env = { &em, &cfg, &stats };
	addr_parse(&f.key.addr[0], "198.18.3.1");
	addr_parse(&f.key.addr[1], "198.18.3.2");
	f.key.port[0] = 40000;
	f.key.proto = 6;
	uint32_t seq[2] = { 1000, 0xfffffff0u };
	uint64_t ts = 1;
	bool first = true;

	size_t off = 0;
	while (off + 2 <= size) {
		uint8_t ctl = data[off], len = data[off + 1];
		off += 2;
		if (len > size - off)
			len = (uint8_t)(size - off);
		if (first) {
			first = false;
			f.key.port[1] = (ctl >> 6) == 0 ? 80 : (ctl >> 6) == 1 ? 6379 : 5555;
			if (ctl & 0x20) {
				f.tcp.midstream = true;
			} else {
				f.client_known = true;
				for (int s = 0; s < 2; s++) {
					f.tcp.half[s].syn_seen = true;
					f.tcp.half[s].syn_seq = seq[s]++;
				}
			}
		}
		int side = ctl & 1;
		if (ctl & 0x08)
			seq[side] += (uint32_t)(int8_t)data[off - 1] * 37;
		if (ctl & 0x10) {
			ts += 20000000000ull;
			stream_idle(&env, &f, ts);
		}
		struct decoded d;
		memset(&d, 0, sizeof(d));
		d.seq = seq[side];
		d.ack = seq[!side];
		d.tcp_flags = TCP_ACK | (ctl & 0x02 ? TCP_FIN : 0) | (ctl & 0x04 ? TCP_RST : 0);
		d.payload = data + off;
		d.payload_caplen = d.payload_len = len;
		ts += 1000;
		f.last_ts_ns = ts;
		stream_tcp_packet(&env, &f, side, &d, ts);
		seq[side] += len + (ctl & 0x02 ? 1 : 0);
		off += len;
	}
	stream_end(&env, &f, DISSECT_END_CAPTURE, 0, ts);
	stream_free(&env, &f);
	emitter_free(&em);
	if (stats.memory.reassembly_bytes != 0)
		__builtin_trap();
	return 0;
}
