// SPDX-License-Identifier: MIT
/* IP fragment reassembly: the rules of core/defrag.h, each one a test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/defrag.h"
#include "report/stats.h"
#include "pktbuild.h"

#define MS 1000000ull

/* The datagram the tests fragment: a UDP header and 56 bytes 'a'..: 64 bytes. */
static uint8_t datagram[64];

static void make_datagram(void)
{
	datagram[0] = 0x9c; datagram[1] = 0x40;      /* 40000 */
	datagram[2] = 0x00; datagram[3] = 0x35;      /* 53 */
	datagram[4] = 0x00; datagram[5] = 64;
	datagram[6] = datagram[7] = 0;
	for (int i = 8; i < 64; i++)
		datagram[i] = (uint8_t)('a' + i % 26);
}

/* An Ethernet/IPv4 fragment of `datagram` (or of `bytes` when given). */
static enum decode_result frag4(struct pktbuf *b, struct decoded *d, struct fl_packet *p,
				uint16_t id, uint32_t off, uint32_t len, bool more,
				const uint8_t *bytes)
{
	b->len = 0;
	eth(b, 0x0800);
	ipv4(b, 17, IP4(198, 18, 1, 2), IP4(198, 18, 2, 2), (uint16_t)len);
	b->data[14 + 4] = (uint8_t)(id >> 8);
	b->data[14 + 5] = (uint8_t)id;
	uint16_t fo = (uint16_t)(off / 8) | (more ? 0x2000 : 0);
	b->data[14 + 6] = (uint8_t)(fo >> 8);
	b->data[14 + 7] = (uint8_t)fo;
	putn(b, bytes ? bytes : datagram + off, len);
	*p = (struct fl_packet){ .data = b->data, .caplen = b->len, .len = b->len,
				 .linktype = FL_LINK_ETHERNET };
	return decode_packet(p, d);
}

static enum decode_result frag6(struct pktbuf *b, struct decoded *d, struct fl_packet *p,
				uint32_t id, uint32_t off, uint32_t len, bool more,
				const uint8_t *bytes)
{
	static const uint8_t a[16] = { 0xfd, 0x18, 1, [15] = 2 }, z[16] = { 0xfd, 0x18, 2, [15] = 2 };
	b->len = 0;
	eth(b, 0x86dd);
	put32(b, 0x60000000); put16(b, (uint16_t)(8 + len)); put8(b, 44); put8(b, 64);
	putn(b, a, 16); putn(b, z, 16);
	put8(b, 17); put8(b, 0); put16(b, (uint16_t)(off | (more ? 1 : 0))); put32(b, id);
	putn(b, bytes ? bytes : datagram + off, len);
	*p = (struct fl_packet){ .data = b->data, .caplen = b->len, .len = b->len,
				 .linktype = FL_LINK_ETHERNET };
	return decode_packet(p, d);
}

struct fixture {
	struct defrag_counters c;
	struct defrag *t;
	struct pktbuf b;
	struct fl_packet p;
	struct decoded d;
	const uint8_t *ip;
	uint32_t len;
	uint64_t first;
};

static int setup(void **state)
{
	make_datagram();
	struct fixture *f = test_calloc(1, sizeof(*f));
	f->t = defrag_new(1 << 20, 30000 * MS, &f->c);
	*state = f;
	return f->t ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	defrag_free(f->t);
	assert_int_equal(f->c.bytes, 0);     /* every byte held is given back */
	test_free(f);
	return 0;
}

static bool add4(struct fixture *f, uint16_t id, uint32_t off, uint32_t len, bool more,
		 const uint8_t *bytes, uint64_t ts)
{
	assert_int_equal(frag4(&f->b, &f->d, &f->p, id, off, len, more, bytes), DECODE_FRAGMENT);
	return defrag_add(f->t, &f->d, ts, &f->ip, &f->len, &f->first);
}

static bool add6(struct fixture *f, uint32_t id, uint32_t off, uint32_t len, bool more,
		 const uint8_t *bytes, uint64_t ts)
{
	assert_int_equal(frag6(&f->b, &f->d, &f->p, id, off, len, more, bytes), DECODE_FRAGMENT);
	return defrag_add(f->t, &f->d, ts, &f->ip, &f->len, &f->first);
}

/* The reassembled datagram decodes as UDP 40000 -> 53 with the 56 payload bytes. */
static void check_whole(struct fixture *f, uint8_t version)
{
	struct decoded d = { .pkt = &f->p };
	assert_int_equal(decode_reassembled(f->ip, f->len, 0, &d), DECODE_OK);
	assert_int_equal(d.ip_version, version);
	assert_int_equal(d.l4proto, FL_IPPROTO_UDP);
	assert_int_equal(d.sport, 40000);
	assert_int_equal(d.dport, 53);
	assert_int_equal(d.payload_len, 56);
	assert_int_equal(d.payload_caplen, 56);
	assert_memory_equal(d.payload, datagram + 8, 56);
	assert_false(d.fragment);
}

static void test_in_order_and_out_of_order(void **state)
{
	struct fixture *f = *state;
	assert_false(add4(f, 1, 0, 24, true, NULL, 10 * MS));
	assert_false(add4(f, 1, 24, 16, true, NULL, 11 * MS));
	assert_true(add4(f, 1, 40, 24, false, NULL, 12 * MS));
	assert_int_equal(f->first, 10 * MS);     /* the datagram's time is its first fragment's */
	check_whole(f, 4);

	assert_false(add4(f, 2, 40, 24, false, NULL, 20 * MS));
	assert_false(add4(f, 2, 0, 24, true, NULL, 21 * MS));
	assert_true(add4(f, 2, 24, 16, true, NULL, 22 * MS));
	check_whole(f, 4);

	assert_false(add6(f, 7, 32, 32, false, NULL, 30 * MS));
	assert_true(add6(f, 7, 0, 32, true, NULL, 31 * MS));
	check_whole(f, 6);
	assert_int_equal(f->c.fragments, 8);
	assert_int_equal(f->c.reassembled, 3);
	assert_int_equal(f->c.dropped, 0);
}

static void test_ipv4_overlap_first_wins(void **state)
{
	struct fixture *f = *state;
	uint8_t junk[16];
	memset(junk, 'X', sizeof(junk));
	assert_false(add4(f, 3, 0, 32, true, NULL, 1));
	assert_false(add4(f, 3, 24, 16, true, junk, 2));   /* overlaps bytes 24..31 */
	assert_true(add4(f, 3, 40, 24, false, NULL, 3));
	assert_int_equal(f->len, 20 + 64);
	/* 24..31 came first from the real data; 32..39 only from the overlapping fragment */
	assert_memory_equal(f->ip + 20, datagram, 32);
	assert_memory_equal(f->ip + 20 + 32, junk, 8);
	assert_memory_equal(f->ip + 20 + 40, datagram + 40, 24);
	assert_int_equal(f->c.overlaps, 1);
	assert_int_equal(f->c.reassembled, 1);
}

static void test_ipv6_overlap_drops_the_datagram(void **state)
{
	struct fixture *f = *state;
	assert_false(add6(f, 9, 0, 32, true, NULL, 1));
	assert_false(add6(f, 9, 24, 40, false, NULL, 2));
	assert_int_equal(f->c.dropped_by[DEFRAG_DROP_OVERLAP], 2);
	assert_int_equal(f->c.dropped, 2);
	/* The rest of it, when it comes, starts a new datagram that never completes. */
	assert_false(add6(f, 9, 32, 32, false, NULL, 3));
	assert_int_equal(f->c.reassembled, 0);
}

static void test_duplicate_tiny_too_far_invalid(void **state)
{
	struct fixture *f = *state;
	assert_false(add4(f, 4, 0, 32, true, NULL, 1));
	assert_false(add4(f, 4, 0, 32, true, NULL, 2));
	assert_int_equal(f->c.dropped_by[DEFRAG_DROP_DUPLICATE], 1);
	assert_true(add4(f, 4, 32, 32, false, NULL, 3));
	check_whole(f, 4);

	assert_false(add4(f, 5, 0, 4, true, NULL, 4));          /* no room for the UDP header */
	assert_int_equal(f->c.dropped_by[DEFRAG_DROP_TINY], 1);
	assert_false(add4(f, 6, 65528, 16, false, datagram, 5));
	assert_int_equal(f->c.dropped_by[DEFRAG_DROP_TOO_FAR], 1);
	assert_false(add4(f, 7, 0, 12, true, NULL, 6));          /* not a multiple of 8 */
	assert_int_equal(f->c.dropped_by[DEFRAG_DROP_INVALID], 1);
	/* A last fragment that ends before bytes already held: the datagram goes. */
	assert_false(add4(f, 8, 32, 32, true, NULL, 7));
	assert_false(add4(f, 8, 8, 16, false, NULL, 8));
	assert_int_equal(f->c.dropped_by[DEFRAG_DROP_INVALID], 3);
}

static void test_timeout_and_icmp_meeting(void **state)
{
	struct fixture *f = *state;
	struct defrag_match m;
	assert_false(add4(f, 10, 0, 32, true, NULL, 1000 * MS));
	struct decoded quote = f->d;       /* what an ICMP error would quote: the first fragment */
	quote.quote = true;
	assert_true(defrag_lookup(f->t, &quote, false, &m));
	assert_int_equal(m.outcome, DEFRAG_PENDING);
	assert_int_equal(m.fragments, 1);
	assert_int_equal(m.bytes, 32);

	defrag_expire(f->t, 1000 * MS + 29999 * MS);
	assert_int_equal(f->c.timeouts, 0);
	defrag_expire(f->t, 1000 * MS + 30000 * MS);
	assert_int_equal(f->c.timeouts, 1);
	assert_true(defrag_lookup(f->t, &quote, true, &m));      /* remembered after it went */
	assert_int_equal(m.outcome, DEFRAG_TIMED_OUT);

	/* The receiver's ICMP comes first: the capture gives up on the datagram too. */
	assert_false(add4(f, 11, 0, 32, true, NULL, 40000 * MS));
	quote = f->d;
	assert_true(defrag_lookup(f->t, &quote, true, &m));
	assert_int_equal(m.outcome, DEFRAG_TIMED_OUT);
	assert_int_equal(f->c.timeouts, 2);
	assert_false(add4(f, 11, 32, 32, false, NULL, 40001 * MS));   /* too late: incomplete */

	/* A time of 0 is a time like any other. */
	assert_false(add4(f, 12, 0, 32, true, NULL, 0));
	assert_true(add4(f, 12, 32, 32, false, NULL, 0));
	assert_int_equal(f->first, 0);

	defrag_finish(f->t);
	assert_int_equal(f->c.dropped_by[DEFRAG_DROP_CAPTURE_END], 1);
}

static void test_memcap(void **state)
{
	(void)state;
	struct defrag_counters c = { 0 };
	struct fixture f = { 0 };
	make_datagram();
	/* Room for a few datagrams in progress only. */
	struct defrag *t = defrag_new(16 * 1024, 30000 * MS, &c);
	assert_non_null(t);
	for (uint16_t id = 0; id < 100; id++) {
		assert_int_equal(frag4(&f.b, &f.d, &f.p, id, 0, 32, true, NULL), DECODE_FRAGMENT);
		assert_false(defrag_add(t, &f.d, id, &f.ip, &f.len, &f.first));
		assert_true(c.bytes <= 16 * 1024);
	}
	assert_true(c.dropped_by[DEFRAG_DROP_MEMCAP] > 90);
	/* The newest ones are still there and complete. */
	assert_int_equal(frag4(&f.b, &f.d, &f.p, 99, 32, 32, false, NULL), DECODE_FRAGMENT);
	assert_true(defrag_add(t, &f.d, 100, &f.ip, &f.len, &f.first));
	defrag_free(t);
	assert_int_equal(c.bytes, 0);
}

/* tap.memoryLimitMb: what the others hold leaves the rest to fragments. */
static void test_memory_budget(void **state)
{
	(void)state;
	struct fl_stats s = { 0 };
	struct fixture f = { 0 };
	make_datagram();
	s.memory.limit_bytes = 20 * 1024;
	s.memory.flow_bytes = 8 * 1024;
	struct defrag *t = defrag_new(1 << 20, 30000 * MS, &s.ip);
	assert_non_null(t);
	defrag_set_budget(t, &s, &s.memory.over_limit);
	for (uint16_t id = 0; id < 100; id++) {
		assert_int_equal(frag4(&f.b, &f.d, &f.p, id, 0, 32, true, NULL), DECODE_FRAGMENT);
		assert_false(defrag_add(t, &f.d, id, &f.ip, &f.len, &f.first));
		assert_true(memory_used(&s) <= s.memory.limit_bytes);
	}
	assert_true(s.ip.dropped_by[DEFRAG_DROP_MEMCAP] > 90);
	assert_true(s.memory.over_limit > 90);
	assert_int_equal(frag4(&f.b, &f.d, &f.p, 99, 32, 32, false, NULL), DECODE_FRAGMENT);
	assert_true(defrag_add(t, &f.d, 100, &f.ip, &f.len, &f.first));
	defrag_free(t);
	assert_int_equal(s.ip.bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order_and_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_overlap_first_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_overlap_drops_the_datagram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_tiny_too_far_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_icmp_meeting, setup, teardown),
		cmocka_unit_test(test_memcap),
		cmocka_unit_test(test_memory_budget),
	};
	return cmocka_run_group_tests_name("defrag", tests, NULL, NULL);
}
