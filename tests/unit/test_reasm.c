// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "stream/reasm.h"

/* A sink that records what it got; with `lines`, it consumes only whole lines. */
struct rec {
	char out[1 << 16];
	size_t out_len;
	uint64_t gaps, missing, unconsumed_dropped, truncated;
	bool lines;
	unsigned calls;
};

static size_t rec_data(void *arg, const uint8_t *data, size_t len)
{
	struct rec *rc = arg;
	rc->calls++;
	size_t take = len;
	if (rc->lines) {
		const uint8_t *nl = memchr(data, '\n', len);
		if (!nl)
			return 0;
		take = (size_t)(nl - data) + 1;
	}
	if (rc->out_len + take <= sizeof(rc->out)) {
		memcpy(rc->out + rc->out_len, data, take);
		rc->out_len += take;
	}
	return take;
}

static void rec_gap(void *arg, const struct reasm_gap *g)
{
	struct rec *rc = arg;
	rc->gaps++;
	if (g->truncated)
		rc->truncated += g->missing;
	else
		rc->missing += g->missing;
	rc->unconsumed_dropped += g->unconsumed;
}

struct fixture {
	struct fl_stats stats;
	struct reasm_env env;
	struct reasm r;
	struct rec rec;
	struct reasm_sink sink;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	fx->env.stats = &fx->stats;
	fx->env.memcap = 1 << 20;
	reasm_init(&fx->r);
	fx->sink = (struct reasm_sink){ rec_data, rec_gap, &fx->rec };
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	reasm_free(&fx->r, &fx->env);
	assert_int_equal(fx->stats.memory.reassembly_bytes, 0);
	free(fx);
	return 0;
}

static unsigned seg(struct fixture *fx, uint32_t seq, const char *s)
{
	return reasm_segment(&fx->r, &fx->env, seq, (const uint8_t *)s, (uint32_t)strlen(s),
			     &fx->sink);
}

static void assert_out(struct fixture *fx, const char *want)
{
	fx->rec.out[fx->rec.out_len] = 0;
	assert_string_equal(fx->rec.out, want);
}

/* A segment of `wire` bytes on the wire of which the capture kept `s`. */
static unsigned tseg(struct fixture *fx, uint32_t seq, const char *s, uint32_t wire)
{
	return reasm_segment_wire(&fx->r, &fx->env, seq, (const uint8_t *)s, (uint32_t)strlen(s),
				  wire, &fx->sink);
}

/* Snaplen-cut segments in order: their sequence space counts, the cut part is
 * truncated (not missed), and the next segment is in order. */
static void test_truncated_in_order(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	assert_int_equal(tseg(fx, 1, "abc", 100), REASM_IN_ORDER);
	assert_int_equal(tseg(fx, 101, "def", 100), REASM_IN_ORDER);
	assert_int_equal(tseg(fx, 201, "ghi", 3), REASM_IN_ORDER);
	assert_out(fx, "abcdefghi");
	assert_int_equal(fx->rec.truncated, 194);
	assert_int_equal(fx->rec.missing, 0);
	assert_int_equal(fx->r.truncated, 194);
	assert_int_equal(fx->r.missed, 0);
	/* A segment with no captured payload at all still moves the stream. */
	assert_int_equal(tseg(fx, 204, "", 50), REASM_IN_ORDER);
	assert_int_equal(fx->rec.truncated, 244);
	assert_int_equal(fx->r.next_seq, 254);
}

/* A retransmission of a cut segment is a retransmission; the cut bytes count once. */
static void test_truncated_retransmission(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	tseg(fx, 1, "abc", 100);
	assert_int_equal(tseg(fx, 1, "abc", 100), REASM_RETRANSMISSION);
	assert_int_equal(tseg(fx, 51, "", 50), REASM_RETRANSMISSION);
	assert_int_equal(fx->rec.truncated, 97);
	assert_int_equal(fx->stats.tcp.retransmissions, 0);   /* the stream layer counts */
}

/* Cut segments out of order: held as ranges, delivered in order once the hole
 * fills; only a hole no segment covered is missed. */
static void test_truncated_out_of_order(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	assert_int_equal(tseg(fx, 201, "ghi", 100), REASM_IN_ORDER);   /* behind a hole: held */
	assert_int_equal(tseg(fx, 101, "def", 100), REASM_OUT_OF_ORDER);
	assert_int_equal(fx->rec.truncated, 0);
	assert_int_equal(tseg(fx, 1, "abc", 100), REASM_OUT_OF_ORDER);
	assert_out(fx, "abcdefghi");
	assert_int_equal(fx->rec.truncated, 291);
	assert_int_equal(fx->rec.missing, 0);
	/* A real hole before a cut segment: the ACK skips the hole (missed), the
	 * cut part stays truncated. */
	assert_int_equal(tseg(fx, 401, "xyz", 100), REASM_IN_ORDER);
	reasm_ack(&fx->r, &fx->env, 501, &fx->sink);
	assert_out(fx, "abcdefghixyz");
	assert_int_equal(fx->rec.missing, 100);
	assert_int_equal(fx->rec.truncated, 388);
	assert_int_equal(fx->r.next_seq, 501);
}

/* A head cut by the snaplen: the sink hears the bytes it left unconsumed with the gap. */
static void test_truncated_unconsumed_seen(void **state)
{
	struct fixture *fx = *state;
	fx->rec.lines = true;
	reasm_start(&fx->r, 0);
	tseg(fx, 1, "GET / HTTP/1.1\r\nHos", 80);
	assert_out(fx, "GET / HTTP/1.1\r\n");
	assert_int_equal(fx->rec.unconsumed_dropped, 3);
	assert_int_equal(fx->rec.truncated, 61);
	assert_int_equal(fx->r.pending_len, 0);
}

/*
 * Past 4 GiB of stream (the sequence numbers wrap more than once): segments of
 * 65000 bytes on the wire, none captured; one never sent (the ACK covers it)
 * and one sent twice, both after 2^32 bytes.  The counts stay exact: every
 * comparison is within a window (RFC 7323 bounds it below 2^30) of next_seq.
 */
static void test_past_4gib(void **state)
{
	struct fixture *fx = *state;
	const uint32_t seg_len = 65000;
	const uint64_t total = 65000ull * 76923;   /* 4 999 995 000 bytes */
	uint32_t isn = 0xfff00000u;
	bool holed = false, resent = false;
	unsigned retrans = 0;
	reasm_start(&fx->r, isn);
	for (uint64_t off = 0; off < total; off += seg_len) {
		uint32_t seq = isn + 1 + (uint32_t)off;
		if (!holed && off >= 4400000000ull) {
			holed = true;
			continue;
		}
		if (reasm_segment_wire(&fx->r, &fx->env, seq, NULL, 0, seg_len, &fx->sink) &
		    REASM_RETRANSMISSION)
			retrans++;
		if (!resent && off >= 4500000000ull) {
			resent = true;
			if (reasm_segment_wire(&fx->r, &fx->env, seq, NULL, 0, seg_len, &fx->sink) &
			    REASM_RETRANSMISSION)
				retrans++;
		}
		if ((off / seg_len) % 64 == 0)
			reasm_ack(&fx->r, &fx->env, seq + seg_len, &fx->sink);
	}
	reasm_ack(&fx->r, &fx->env, isn + 1 + (uint32_t)total, &fx->sink);
	assert_int_equal(retrans, 1);
	assert_int_equal(fx->rec.missing, seg_len);
	assert_int_equal(fx->r.missed, seg_len);
	assert_true(fx->r.truncated == total - seg_len);
	assert_int_equal(fx->r.held_bytes, 0);
	assert_int_equal(fx->r.next_seq, isn + 1 + (uint32_t)total);
}

static void test_in_order(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 999);
	assert_int_equal(seg(fx, 1000, "hello "), REASM_IN_ORDER);
	assert_int_equal(seg(fx, 1006, "world"), REASM_IN_ORDER);
	assert_out(fx, "hello world");
	assert_int_equal(fx->rec.gaps, 0);
	assert_int_equal(fx->stats.memory.reassembly_bytes, 0);
}

static void test_midstream_starts_at_first_data(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(seg(fx, 5000, "abc"), REASM_IN_ORDER);
	assert_int_equal(seg(fx, 5003, "def"), REASM_IN_ORDER);
	assert_out(fx, "abcdef");
}

static void test_out_of_order(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	assert_int_equal(seg(fx, 1, "aaa"), REASM_IN_ORDER);
	/* 4..6 missing: held */
	assert_int_equal(seg(fx, 7, "ccc"), REASM_IN_ORDER);
	assert_int_equal(seg(fx, 10, "ddd"), REASM_IN_ORDER);
	assert_out(fx, "aaa");
	/* real memory: the payload, the segment header and the allocator's share */
	assert_true(fx->stats.memory.reassembly_bytes >= 6 + 32);
	assert_int_equal(fx->r.held_bytes, 6);
	/* the late segment fills the hole: out of order, everything delivered */
	assert_int_equal(seg(fx, 4, "bbb"), REASM_OUT_OF_ORDER);
	assert_out(fx, "aaabbbcccddd");
	assert_int_equal(fx->stats.memory.reassembly_bytes, 0);
	assert_int_equal(fx->r.missed, 0);
}

static void test_retransmission(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	seg(fx, 1, "abcd");
	assert_int_equal(seg(fx, 1, "abcd"), REASM_RETRANSMISSION);
	/* a retransmission carrying new bytes too: only the new ones go on */
	assert_int_equal(seg(fx, 3, "cdef"), REASM_RETRANSMISSION);
	assert_out(fx, "abcdef");
	/* a keep-alive probe is not a retransmission */
	assert_int_equal(seg(fx, 6, "f"), REASM_IGNORED);
	assert_int_equal(reasm_segment(&fx->r, &fx->env, 7, NULL, 0, &fx->sink), REASM_IGNORED);
}

static void test_overlap_held(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	seg(fx, 1, "a");
	assert_int_equal(seg(fx, 5, "EFG"), REASM_IN_ORDER);      /* held 5..7 */
	/* overlaps the held one on both sides: first copy wins, new parts held */
	assert_int_equal(seg(fx, 4, "DxxxH") & REASM_RETRANSMISSION, REASM_RETRANSMISSION);
	assert_int_equal(seg(fx, 2, "BC"), REASM_OUT_OF_ORDER);
	assert_out(fx, "aBCDEFGH");
	assert_int_equal(fx->stats.memory.reassembly_bytes, 0);
}

static void test_in_order_overlapping_held(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	seg(fx, 4, "DEF");                     /* held */
	unsigned res = seg(fx, 1, "ABCDE");    /* fills the hole and covers part of the held one */
	assert_true(res & REASM_OUT_OF_ORDER);
	assert_true(res & REASM_RETRANSMISSION);
	assert_out(fx, "ABCDEF");
}

static void test_wrap(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0xfffffff0u);      /* data starts at 0xfffffff1 */
	char a[16], b[21];
	memset(a, 'a', 15); a[15] = 0;
	memset(b, 'b', 20); b[20] = 0;
	/* b crosses 2^32 and arrives first */
	assert_int_equal(seg(fx, 0x00000000u, b), REASM_IN_ORDER);  /* held: after the hole */
	assert_int_equal(fx->r.held_bytes, 20);
	assert_int_equal(seg(fx, 0xfffffff1u, a), REASM_OUT_OF_ORDER);
	assert_int_equal(fx->rec.out_len, 35);
	assert_int_equal(fx->r.next_seq, 20);
	/* an old segment from before the wrap is a retransmission, not new data */
	assert_int_equal(seg(fx, 0xfffffff1u, "aaaa"), REASM_RETRANSMISSION);
	/* an ack past the wrap with nothing missing is nothing */
	reasm_ack(&fx->r, &fx->env, 20, &fx->sink);
	assert_int_equal(fx->rec.gaps, 0);
}

static void test_hole_acked(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 100);
	seg(fx, 101, "0123456789");
	seg(fx, 121, "KLMNOPQRST");            /* 111..120 never captured */
	assert_out(fx, "0123456789");
	/* an ack below the hole changes nothing */
	reasm_ack(&fx->r, &fx->env, 111, &fx->sink);
	assert_int_equal(fx->rec.gaps, 0);
	/* the peer acked past the hole: it is skipped, held data delivered */
	reasm_ack(&fx->r, &fx->env, 131, &fx->sink);
	assert_int_equal(fx->rec.gaps, 1);
	assert_int_equal(fx->rec.missing, 10);
	assert_int_equal(fx->r.missed, 10);
	assert_out(fx, "0123456789KLMNOPQRST");
	/* data lost at the tail, acked: the whole acked range is missing */
	reasm_ack(&fx->r, &fx->env, 141, &fx->sink);
	assert_int_equal(fx->r.missed, 20);
	/* a late copy of skipped bytes is old now */
	assert_int_equal(seg(fx, 131, "xxxxxxxxxx"), REASM_RETRANSMISSION);
}

static void test_ack_stops_at_fin(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	seg(fx, 1, "abc");
	reasm_fin(&fx->r, 9);                  /* 4..8 lost, FIN at 9 */
	reasm_ack(&fx->r, &fx->env, 10, &fx->sink);   /* acks the FIN too */
	assert_int_equal(fx->r.missed, 5);
}

static void test_flush_skips_holes(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	seg(fx, 1, "ab");
	seg(fx, 6, "fg");
	seg(fx, 11, "kl");
	reasm_fin(&fx->r, 20);
	reasm_flush(&fx->r, &fx->env, &fx->sink);
	assert_out(fx, "abfgkl");
	assert_int_equal(fx->r.missed, 3 + 3 + 7);
	assert_int_equal(fx->rec.gaps, 3);
	assert_int_equal(fx->stats.memory.reassembly_bytes, 0);
}

static void test_moved_past(void **state)
{
	struct fixture *fx = *state;
	fx->env.memcap = 64u << 20;
	reasm_start(&fx->r, 0);
	static uint8_t chunk[65536];
	memset(chunk, 'x', sizeof(chunk));
	/* byte 1..100 lost, then more than REASM_HELD_MAX arrives behind the hole */
	uint32_t seq = 101;
	for (unsigned i = 0; i <= REASM_HELD_MAX / sizeof(chunk); i++) {
		reasm_segment(&fx->r, &fx->env, seq, chunk, sizeof(chunk), &fx->sink);
		seq += sizeof(chunk);
	}
	assert_int_equal(fx->rec.gaps, 1);
	assert_int_equal(fx->rec.missing, 100);
	assert_int_equal(fx->r.held_bytes, 0);
	assert_int_equal(fx->r.next_seq, seq);
}

static void test_memcap(void **state)
{
	struct fixture *fx = *state;
	fx->env.memcap = 80;   /* one segment with its header, not two */
	reasm_start(&fx->r, 0);
	assert_int_equal(seg(fx, 11, "12345678"), REASM_IN_ORDER);   /* held: 8 bytes, ~48 real */
	assert_int_equal(seg(fx, 31, "abcdef"), REASM_DROPPED);      /* ~94 > 80 */
	assert_int_equal(fx->stats.tcp.reassembly_dropped_bytes, 6);
	assert_true(fx->stats.memory.reassembly_bytes > 8 && fx->stats.memory.reassembly_bytes <= 80);
	assert_int_equal(fx->r.held_bytes, 8);
}

static void test_pending_unconsumed(void **state)
{
	struct fixture *fx = *state;
	fx->rec.lines = true;
	reasm_start(&fx->r, 0);
	seg(fx, 1, "GET / HT");
	assert_out(fx, "");
	assert_int_equal(fx->r.pending_len, 8);
	seg(fx, 9, "TP/1.1\nHost");
	assert_out(fx, "GET / HTTP/1.1\n");
	assert_int_equal(fx->r.pending_len, 4);
	seg(fx, 20, ": x\n\n");
	assert_out(fx, "GET / HTTP/1.1\nHost: x\n\n");
	assert_int_equal(fx->r.pending_len, 0);
	/* a hole throws away the unconsumed bytes: they cannot join what follows */
	seg(fx, 25, "partial");
	seg(fx, 40, "tail\n");
	reasm_ack(&fx->r, &fx->env, 45, &fx->sink);
	assert_int_equal(fx->rec.unconsumed_dropped, 7);
	assert_int_equal(fx->rec.missing, 8);
	assert_out(fx, "GET / HTTP/1.1\nHost: x\n\ntail\n");
}

static void test_pending_overflow(void **state)
{
	struct fixture *fx = *state;
	fx->rec.lines = true;
	reasm_start(&fx->r, 0);
	static uint8_t chunk[16384];
	memset(chunk, 'y', sizeof(chunk));
	uint32_t seq = 1;
	for (int i = 0; i < 5; i++) {
		reasm_segment(&fx->r, &fx->env, seq, chunk, sizeof(chunk), &fx->sink);
		seq += sizeof(chunk);
	}
	/* 80 KiB without a newline: over REASM_PENDING_MAX, given up */
	assert_int_equal(fx->rec.unconsumed_dropped, 4 * sizeof(chunk));
	assert_int_equal(fx->stats.tcp.reassembly_dropped_bytes, 4 * sizeof(chunk));
	assert_true(fx->r.pending_len <= REASM_PENDING_MAX);
}

/* Memory is counted as it is: 1-byte segments cost their headers, not 1 byte each. */
static void test_accounts_real_memory(void **state)
{
	struct fixture *fx = *state;
	reasm_start(&fx->r, 0);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(seg(fx, 10 + 2 * i, "x"), REASM_IN_ORDER);   /* every other byte */
	assert_int_equal(fx->r.held_bytes, 100);
	assert_true(fx->stats.memory.reassembly_bytes >= 100 * (32 + 1 + 8));
	/* A memcap in real bytes: 10 kB holds fewer than 10k such segments. */
	reasm_free(&fx->r, &fx->env);
	reasm_init(&fx->r);
	reasm_start(&fx->r, 0);
	fx->env.memcap = 10000;
	for (uint32_t i = 0; i < 10000; i++)
		seg(fx, 10 + 2 * i, "x");
	assert_true(fx->r.held_bytes < 10000 / 32);
	assert_true(fx->stats.memory.reassembly_bytes <= 10000);
	assert_true(fx->stats.tcp.reassembly_dropped_bytes > 9000);
}

/* Segments that continue a held one are appended to it: one allocation, not thousands. */
static void test_adjacent_segments_merged(void **state)
{
	struct fixture *fx = *state;
	static char want[4002];
	reasm_start(&fx->r, 0);
	for (uint32_t i = 0; i < 4000; i++) {
		char b[2] = { (char)('a' + i % 26), 0 };
		want[i + 1] = b[0];
		assert_int_equal(seg(fx, 2 + i, b), REASM_IN_ORDER);   /* after a 1-byte hole */
	}
	assert_int_equal(fx->r.held_bytes, 4000);
	assert_true(fx->stats.memory.reassembly_bytes < 2 * 4000 + 256);
	want[0] = '-';
	assert_int_equal(seg(fx, 1, "-"), REASM_OUT_OF_ORDER);
	assert_out(fx, want);
	assert_int_equal(fx->stats.memory.reassembly_bytes, 0);
}

/* Tens of thousands of held segments in ascending, descending and shuffled order: exact output. */
static void test_many_segments_any_order(void **state)
{
	struct fixture *fx = *state;
	enum { N = 30000 };
	static uint32_t order[N];
	static uint8_t src[N + 1];
	fx->env.memcap = 256u << 20;
	srand(777);
	for (int round = 0; round < 3; round++) {
		reasm_free(&fx->r, &fx->env);
		reasm_init(&fx->r);
		memset(&fx->rec, 0, sizeof(fx->rec));
		uint32_t isn = 0xfffff000u;   /* across the wrap */
		reasm_start(&fx->r, isn);
		for (uint32_t i = 0; i <= N; i++)
			src[i] = (uint8_t)('A' + rand() % 26);
		for (uint32_t i = 0; i < N; i++)
			order[i] = round == 0 ? i : round == 1 ? N - 1 - i : i;
		if (round == 2)
			for (uint32_t i = N - 1; i > 0; i--) {
				uint32_t j = (uint32_t)rand() % (i + 1), t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
		/* byte 0 is the hole; bytes 1..N arrive one by one (every 3rd twice) */
		for (uint32_t k = 0; k < N; k++) {
			uint32_t i = order[k] + 1;
			reasm_segment(&fx->r, &fx->env, isn + 1 + i, src + i, 1, &fx->sink);
			if (k % 3 == 0)
				reasm_segment(&fx->r, &fx->env, isn + 1 + i, src + i, 1, &fx->sink);
		}
		assert_int_equal(fx->r.held_bytes, N);
		reasm_segment(&fx->r, &fx->env, isn + 1, src, 1, &fx->sink);
		assert_int_equal(fx->rec.out_len, N + 1);
		assert_memory_equal(fx->rec.out, src, N + 1);
		assert_int_equal(fx->r.held_bytes, 0);
		assert_int_equal(fx->stats.memory.reassembly_bytes, 0);
	}
}

/* Random segmentation, reordering, duplication and overlap: the output is the input, once. */
static void test_random_reorder(void **state)
{
	struct fixture *fx = *state;
	fx->env.memcap = 64u << 20;
	static uint8_t src[20000];
	srand(12345);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)('a' + rand() % 26);
	for (int round = 0; round < 20; round++) {
		struct fixture *f = fx;
		reasm_free(&f->r, &f->env);
		reasm_init(&f->r);
		memset(&f->rec, 0, sizeof(f->rec));
		uint32_t isn = (uint32_t)rand() * 7919u;    /* anywhere, wraps too */
		if (round == 0)
			isn = 0xffffff00u;
		reasm_start(&f->r, isn);
		/* segments of 1..1500 bytes, each sent 1-2 times, some overlapping the next */
		struct { uint32_t off, len; } segs[400];
		unsigned n = 0;
		for (uint32_t off = 0; off < sizeof(src) && n < 390;) {
			uint32_t len = 1 + (uint32_t)(rand() % 1500);
			if (off + len > sizeof(src))
				len = (uint32_t)sizeof(src) - off;
			segs[n].off = off;
			segs[n++].len = len;
			if (rand() % 5 == 0 && n < 390) {     /* an overlapping copy */
				uint32_t o2 = off + (uint32_t)(rand() % len);
				uint32_t l2 = 1 + (uint32_t)(rand() % 2000);
				if (o2 + l2 > sizeof(src))
					l2 = (uint32_t)sizeof(src) - o2;
				segs[n].off = o2;
				segs[n++].len = l2;
			}
			off += len;
		}
		/* shuffle within windows of 8, like a network would */
		for (unsigned i = 0; i < n; i++) {
			unsigned j = i + (unsigned)(rand() % 8);
			if (j < n) {
				__typeof__(segs[0]) t = segs[i];
				segs[i] = segs[j];
				segs[j] = t;
			}
		}
		for (unsigned i = 0; i < n; i++)
			reasm_segment(&f->r, &f->env, isn + 1 + segs[i].off, src + segs[i].off,
				      segs[i].len, &f->sink);
		reasm_flush(&f->r, &f->env, &f->sink);
		assert_int_equal(f->rec.gaps, 0);
		assert_int_equal(f->rec.out_len, sizeof(src));
		assert_memory_equal(f->rec.out, src, sizeof(src));
		assert_int_equal(f->stats.memory.reassembly_bytes, 0);
	}
}

/* Throughput of the in-order path and of a reordered stream (printed, not asserted). */
static void test_throughput(void **state)
{
	struct fixture *fx = *state;
	fx->env.memcap = 64u << 20;
	reasm_start(&fx->r, 0);
	static uint8_t pkt[1448];
	memset(pkt, 'z', sizeof(pkt));
	const unsigned n = 200000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint32_t seq = 1;
	for (unsigned i = 0; i < n; i++) {
		/* every 8th pair swapped: half the stream goes through the held list */
		if (i % 8 == 0 && i + 1 < n) {
			reasm_segment(&fx->r, &fx->env, seq + sizeof(pkt), pkt, sizeof(pkt), &fx->sink);
			reasm_segment(&fx->r, &fx->env, seq, pkt, sizeof(pkt), &fx->sink);
			seq += 2 * sizeof(pkt);
			i++;
			continue;
		}
		reasm_segment(&fx->r, &fx->env, seq, pkt, sizeof(pkt), &fx->sink);
		seq += sizeof(pkt);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(fx->r.delivered, (uint64_t)n * sizeof(pkt));
	print_message("reasm: %u segments, %.1f MB/s, %.0f segments/s\n", n,
		      (double)n * sizeof(pkt) / s / 1e6, n / s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_midstream_starts_at_first_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmission, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_order_overlapping_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hole_acked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_stops_at_fin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_skips_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_past, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memcap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_unconsumed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_reorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounts_real_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adjacent_segments_merged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_segments_any_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throughput, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_retransmission, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_unconsumed_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_past_4gib, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
