// SPDX-License-Identifier: MIT
/* dedup: one packet seen on several interfaces (core/dedup.h), each rule a test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/dedup.h"
#include "report/stats.h"
#include "pktbuild.h"

#define MS 1000000ull
#define C IP4(198, 18, 1, 2)
#define S IP4(198, 18, 2, 2)

/* The key of a segment, after what a router does to it (ttl, checksum) when `forwarded`. */
static uint64_t seg_key(uint32_t seq, uint16_t ip_id, uint16_t plen, bool forwarded)
{
	struct pktbuf b;
	struct decoded d;
	struct fl_packet p = tcp_packet(&b, 0, C, 40000, S, 80, seq, 1, TCP_ACK | TCP_PSH, plen);
	b.data[14 + 4] = (uint8_t)(ip_id >> 8);
	b.data[14 + 5] = (uint8_t)ip_id;
	if (forwarded) {
		b.data[14 + 8]--;             /* TTL */
		b.data[14 + 10] ^= 0x5a;      /* header checksum */
	}
	enum decode_result r = decode_packet(&p, &d);
	assert_int_equal(r, DECODE_OK);
	return dedup_key(&d, r);
}

static void test_key_is_the_packet_not_the_hop(void **state)
{
	(void)state;
	uint64_t k = seg_key(1000, 7, 100, false);
	assert_true(k != 0);
	assert_true(k == seg_key(1000, 7, 100, true));     /* TTL and checksum are not the packet */
	assert_true(k != seg_key(1001, 7, 100, false));    /* sequence */
	assert_true(k != seg_key(1000, 8, 100, false));    /* IPv4 id: a retransmission has its own */
	assert_true(k != seg_key(1000, 7, 99, false));     /* length */
}

static void test_copy_on_another_interface(void **state)
{
	(void)state;
	struct fl_stats s = { 0 };
	struct dedup *dd = dedup_new(&s, 64, 100 * MS);
	assert_non_null(dd);
	uint64_t k = seg_key(1, 1, 10, false);
	assert_false(dedup_check(dd, k, 1, 1000 * MS));         /* first seen on interface 1 */
	assert_true(dedup_check(dd, k, 2, 1000 * MS + 50000));  /* forwarded out of interface 2 */
	assert_true(dedup_check(dd, k, 3, 1001 * MS));          /* and a third (a bridge) */
	assert_int_equal(s.packets.duplicates, 2);
	/* The same packet again on interface 1: a retransmission, judged. */
	assert_false(dedup_check(dd, k, 1, 1050 * MS));
	/* ...and its copy on interface 2 is a copy of that one. */
	assert_true(dedup_check(dd, k, 2, 1050 * MS + 1000));
	assert_int_equal(s.packets.duplicates, 3);
	/* Key 0: nothing to key on, never a copy. */
	assert_false(dedup_check(dd, 0, 1, 1100 * MS));
	assert_false(dedup_check(dd, 0, 2, 1100 * MS));
	dedup_free(dd);
}

static void test_window(void **state)
{
	(void)state;
	struct fl_stats s = { 0 };
	struct dedup *dd = dedup_new(&s, 64, 100 * MS);
	uint64_t k = seg_key(5, 5, 5, false);
	assert_false(dedup_check(dd, k, 1, 1000 * MS));
	/* Outside the window on another interface: the same bytes sent again, not a copy. */
	assert_false(dedup_check(dd, k, 2, 1101 * MS));
	assert_int_equal(s.packets.duplicates, 0);
	/* ...it took the old entry's place: the next copy is one of it. */
	assert_true(dedup_check(dd, k, 1, 1120 * MS));
	assert_int_equal(s.packets.duplicates, 1);
	/* Time going back (dumpcap writes a pcapng an interface at a time) within the window. */
	uint64_t k2 = seg_key(6, 6, 6, false);
	assert_false(dedup_check(dd, k2, 1, 2000 * MS));
	assert_true(dedup_check(dd, k2, 2, 1980 * MS));
	assert_int_equal(s.packets.duplicates, 2);
	dedup_free(dd);
}

static void test_bounded_table_and_eviction(void **state)
{
	(void)state;
	struct fl_stats s = { 0 };
	struct dedup *dd = dedup_new(&s, 8, 100 * MS);   /* 4 buckets of 2 */
	assert_int_equal(s.memory.dedup_bytes, 0);        /* taken at the first packet */
	uint64_t first = seg_key(100, 1, 10, false);
	assert_false(dedup_check(dd, first, 1, 1000 * MS));
	assert_int_equal(s.memory.dedup_bytes, 8 * 24);
	assert_int_equal(memory_used(&s), 8 * 24);
	/* 64 more packets inside the window: the table stays 8 entries and says what it lost. */
	for (uint32_t i = 0; i < 64; i++)
		assert_false(dedup_check(dd, seg_key(200 + i, (uint16_t)(2 + i), 10, false), 1,
					 1000 * MS + i));
	assert_int_equal(s.memory.dedup_bytes, 8 * 24);
	assert_true(s.packets.dedup_evicted >= 64 - 8);
	/* The first packet was evicted: its copy is no longer recognised (judged again). */
	assert_false(dedup_check(dd, first, 2, 1001 * MS));
	assert_int_equal(s.packets.duplicates, 0);
	/* Entries past their window are reused without counting an eviction. */
	uint64_t evicted = s.packets.dedup_evicted;
	for (uint32_t i = 0; i < 8; i++)
		dedup_check(dd, seg_key(900 + i, (uint16_t)(900 + i), 10, false), 1, 5000 * MS);
	assert_true(s.packets.dedup_evicted - evicted <= 4);
	dedup_free(dd);
	assert_int_equal(s.memory.dedup_bytes, 0);
}

static void test_memory_budget(void **state)
{
	(void)state;
	struct fl_stats s = { 0 };
	s.memory.limit_bytes = 1024;
	struct dedup *dd = dedup_new(&s, DEDUP_SLOTS, 100 * MS);
	uint64_t k = seg_key(1, 1, 1, false);
	assert_false(dedup_check(dd, k, 1, 1000 * MS));
	assert_false(dedup_check(dd, k, 2, 1000 * MS));    /* off: judged twice, never over the budget */
	assert_int_equal(s.memory.over_limit, 1);           /* counted once */
	assert_int_equal(s.memory.dedup_bytes, 0);
	dedup_free(dd);
}

static void test_sll2_interface(void **state)
{
	(void)state;
	struct pktbuf b;
	struct decoded d;
	b.len = 0;
	put16(&b, 0x0800); put16(&b, 0); put32(&b, 7);      /* protocol, reserved, ifindex 7 */
	put16(&b, 1); put8(&b, 4); put8(&b, 6);             /* ARPHRD_ETHER, outgoing, 6-byte address */
	for (int i = 0; i < 8; i++)
		put8(&b, 0);
	ipv4(&b, 6, C, S, 20);
	tcp(&b, 40000, 80, 1, 0, TCP_SYN);
	struct fl_packet p = { .data = b.data, .caplen = b.len, .len = b.len,
			       .linktype = FL_LINK_LINUX_SLL2, .ifindex = 3 };
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.link_ifindex, 7);
	assert_true(dedup_iface(&p, &d) == ((uint64_t)3 << 32 | 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_is_the_packet_not_the_hop),
		cmocka_unit_test(test_copy_on_another_interface),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_bounded_table_and_eviction),
		cmocka_unit_test(test_memory_budget),
		cmocka_unit_test(test_sll2_interface),
	};
	return cmocka_run_group_tests_name("dedup", tests, NULL, NULL);
}
