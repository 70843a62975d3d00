// SPDX-License-Identifier: MIT
/*
 * The capture programs run on crafted packets with BPF_PROG_TEST_RUN: the
 * parser's counters for every header layout it claims to handle, truncated
 * and malformed packets passed untouched, and the ring records cut at
 * snaplen.  Needs root (or CAP_BPF); skipped where BPF cannot be loaded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture_skel.h"
#include "faultline.h"

#define SNAPLEN 96

static struct capture_bpf *skel;
static struct ring_buffer *rb;
static int records;
static uint32_t last_len, last_caplen;
static uint8_t last_data[SNAPLEN];

static int on_record(void *ctx, void *data, size_t size)
{
	const struct fl_ring_pkt *r = data;

	(void)ctx;
	assert_true(size >= sizeof(*r) + r->caplen);
	records++;
	last_len = r->len;
	last_caplen = r->caplen;
	memcpy(last_data, r + 1, r->caplen < SNAPLEN ? r->caplen : SNAPLEN);
	return 0;
}

/* Loaded as ebpf.c loads them (capture_skel.h), records cut at SNAPLEN. */
static void configure(struct capture_bpf *sk)
{
	sk->rodata->snaplen = SNAPLEN;
}

static int setup(void **state)
{
	(void)state;
	return capture_skel_load(&skel, &rb, configure, on_record);
}

static int teardown(void **state)
{
	(void)state;
	ring_buffer__free(rb);
	capture_bpf__destroy(skel);
	return 0;
}

/* ---- packet building ---- */

struct pkt {
	uint8_t b[2048];
	size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void put8(struct pkt *p, uint8_t v) { put(p, &v, 1); }
static void put16(struct pkt *p, uint16_t v) { v = htons(v); put(p, &v, 2); }
static void put32(struct pkt *p, uint32_t v) { v = htonl(v); put(p, &v, 4); }

static void eth(struct pkt *p, int vlans, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	p->n = 0;
	put(p, macs, sizeof(macs));
	if (vlans == 2) {
		put16(p, 0x88a8);
		put16(p, 100);
	}
	if (vlans >= 1) {
		put16(p, 0x8100);
		put16(p, 200);
	}
	put16(p, type);
}

static void ipv4(struct pkt *p, uint8_t proto, int option_words, uint16_t frag)
{
	put8(p, (uint8_t)(0x40 | (5 + option_words)));
	put8(p, 0);
	put16(p, 100);
	put16(p, 1);
	put16(p, frag);
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	put32(p, 0xc6120101);
	put32(p, 0xc6120102);
	for (int i = 0; i < option_words; i++)
		put32(p, 0x01010101);   /* NOPs */
}

static void ipv6(struct pkt *p, uint8_t next)
{
	uint8_t addr[16] = { 0xfd, 0x18, 0, 1 };

	put32(p, 0x60000000);
	put16(p, 40);
	put8(p, next);
	put8(p, 64);
	addr[15] = 1;
	put(p, addr, 16);
	addr[15] = 2;
	put(p, addr, 16);
}

/* An 8-byte extension header (hop-by-hop, destination options, routing). */
static void ext8(struct pkt *p, uint8_t next)
{
	put8(p, next);
	put8(p, 0);
	for (int i = 0; i < 6; i++)
		put8(p, 0);
}

static void fragment(struct pkt *p, uint8_t next, uint16_t offset)
{
	put8(p, next);
	put8(p, 0);
	put16(p, (uint16_t)(offset << 3));
	put32(p, 7);
}

enum { FIN = 1, SYN = 2, RST = 4, ACK = 16 };

static void tcp(struct pkt *p, uint8_t flags)
{
	put16(p, 40000);
	put16(p, 80);
	put32(p, 1000);
	put32(p, 0);
	put8(p, 5 << 4);
	put8(p, flags);
	put16(p, 65535);
	put32(p, 0);
}

static void icmp(struct pkt *p, uint8_t type, uint8_t code)
{
	put8(p, type);
	put8(p, code);
	put16(p, 0);
	put32(p, 0);
}

/* ---- running ---- */

static uint64_t counter(enum fl_pkt_counter c)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], sum = 0;
	__u32 key = c;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &key, vals), 0);
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* Run the packet through tc ingress (or XDP); it must pass unchanged.  Returns the counter deltas. */
static void run(const struct pkt *p, bool xdp, uint64_t delta[FL_CNT_MAX])
{
	uint64_t before[FL_CNT_MAX];
	uint8_t out[2048];
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->b, .data_size_in = (__u32)p->n,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int fd = bpf_program__fd(xdp ? skel->progs.fl_xdp_ingress : skel->progs.fl_tc_ingress);

	for (int c = 0; c < FL_CNT_MAX; c++)
		before[c] = counter(c);
	records = 0;
	assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
	assert_int_equal(opts.retval, xdp ? 2u /* XDP_PASS */ : (__u32)-1 /* TC_ACT_UNSPEC: next */);
	assert_int_equal(opts.data_size_out, p->n);
	assert_memory_equal(out, p->b, p->n);
	ring_buffer__consume(rb);
	assert_int_equal(records, 1);
	assert_int_equal(last_len, p->n);
	assert_int_equal(last_caplen, p->n < SNAPLEN ? p->n : SNAPLEN);
	assert_memory_equal(last_data, p->b, last_caplen);
	for (int c = 0; c < FL_CNT_MAX; c++)
		delta[c] = counter(c) - before[c];
}

#define SKIP_WITHOUT_BPF() do { if (!skel) skip(); } while (0)

static void expect_only(const uint64_t d[FL_CNT_MAX], int which)
{
	assert_int_equal(d[FL_CNT_PACKETS], 1);
	for (int c = FL_CNT_PACKETS + 1; c < FL_CNT_MAX; c++)
		if (c != which)
			assert_int_equal(d[c], 0);
	if (which >= 0)
		assert_int_equal(d[which], 1);
}

static void test_tcp_flags(void **state)
{
	static const struct { uint8_t flags; int counter; } cases[] = {
		{ SYN, FL_CNT_TCP_SYN }, { SYN | ACK, FL_CNT_TCP_SYNACK },
		{ RST | ACK, FL_CNT_TCP_RST }, { FIN | ACK, FL_CNT_TCP_FIN }, { ACK, -1 },
	};
	struct pkt p;
	uint64_t d[FL_CNT_MAX];

	(void)state;
	SKIP_WITHOUT_BPF();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int xdp = 0; xdp < 2; xdp++) {
			eth(&p, 0, 0x0800);
			ipv4(&p, 6, 0, 0);
			tcp(&p, cases[i].flags);
			run(&p, xdp, d);
			expect_only(d, cases[i].counter);
		}
	}
}

static void test_vlan_and_ip_options(void **state)
{
	struct pkt p;
	uint64_t d[FL_CNT_MAX];

	(void)state;
	SKIP_WITHOUT_BPF();
	for (int vlans = 0; vlans <= 2; vlans++) {
		eth(&p, vlans, 0x0800);
		ipv4(&p, 6, 10, 0);     /* 40 bytes of options: the longest header */
		tcp(&p, SYN);
		run(&p, false, d);
		expect_only(d, FL_CNT_TCP_SYN);
	}
	/* A non-first fragment carries no TCP header. */
	eth(&p, 0, 0x0800);
	ipv4(&p, 6, 0, 100);
	tcp(&p, SYN);
	run(&p, false, d);
	expect_only(d, -1);
}

static void test_ipv6_extension_headers(void **state)
{
	struct pkt p;
	uint64_t d[FL_CNT_MAX];

	(void)state;
	SKIP_WITHOUT_BPF();
	eth(&p, 1, 0x86dd);
	ipv6(&p, 0);
	ext8(&p, 60);
	ext8(&p, 43);
	ext8(&p, 44);
	fragment(&p, 6, 0);
	tcp(&p, RST);
	run(&p, false, d);
	expect_only(d, FL_CNT_TCP_RST);

	/* Later fragment: no transport header to count. */
	eth(&p, 0, 0x86dd);
	ipv6(&p, 44);
	fragment(&p, 6, 10);
	tcp(&p, RST);
	run(&p, false, d);
	expect_only(d, -1);

	/* Seven extension headers: more than the bounded walk follows. */
	eth(&p, 0, 0x86dd);
	ipv6(&p, 60);
	for (int i = 0; i < 6; i++)
		ext8(&p, 60);
	ext8(&p, 6);
	tcp(&p, SYN);
	run(&p, false, d);
	expect_only(d, FL_CNT_PARSE_FAIL);
}

static void test_icmp_classes(void **state)
{
	static const struct { bool v6; uint8_t type; int counter; } cases[] = {
		{ false, 8, FL_CNT_ICMP_ECHO }, { false, 0, FL_CNT_ICMP_ECHO },
		{ false, 3, FL_CNT_ICMP_UNREACH }, { false, 11, FL_CNT_ICMP_TIME_EXCEEDED },
		{ false, 5, FL_CNT_ICMP_OTHER_ERROR }, { false, 13, FL_CNT_ICMP_OTHER },
		{ true, 128, FL_CNT_ICMP_ECHO }, { true, 1, FL_CNT_ICMP_UNREACH },
		{ true, 3, FL_CNT_ICMP_TIME_EXCEEDED }, { true, 2, FL_CNT_ICMP_OTHER_ERROR },
		{ true, 135, FL_CNT_ICMP_OTHER },
	};
	struct pkt p;
	uint64_t d[FL_CNT_MAX];

	(void)state;
	SKIP_WITHOUT_BPF();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].v6) {
			eth(&p, 0, 0x86dd);
			ipv6(&p, 58);
		} else {
			eth(&p, 0, 0x0800);
			ipv4(&p, 1, 0, 0);
		}
		icmp(&p, cases[i].type, 1);
		run(&p, i % 2, d);
		expect_only(d, cases[i].counter);
	}
}

static void test_truncated_and_malformed(void **state)
{
	struct pkt p;
	uint64_t d[FL_CNT_MAX];

	(void)state;
	SKIP_WITHOUT_BPF();
	/*
	 * The kernel's test run refuses an skb whose IPv4 header is cut short,
	 * so those go through the XDP program, which shares the parser.
	 */
	eth(&p, 0, 0x0800);
	put32(&p, 0x45000000);
	run(&p, true, d);
	expect_only(d, FL_CNT_PARSE_FAIL);
	/* IHL below 5. */
	eth(&p, 0, 0x0800);
	ipv4(&p, 6, 0, 0);
	p.b[14] = 0x43;
	tcp(&p, SYN);
	run(&p, true, d);
	expect_only(d, FL_CNT_PARSE_FAIL);
	/* IHL pointing past the end. */
	eth(&p, 0, 0x0800);
	ipv4(&p, 6, 0, 0);
	p.b[14] = 0x4f;
	run(&p, true, d);
	expect_only(d, FL_CNT_PARSE_FAIL);
	/* TCP header cut short. */
	eth(&p, 0, 0x0800);
	ipv4(&p, 6, 0, 0);
	put32(&p, 0);
	run(&p, false, d);
	expect_only(d, FL_CNT_PARSE_FAIL);
	/* VLAN tag with nothing after it. */
	eth(&p, 1, 0x8100);
	run(&p, false, d);
	expect_only(d, FL_CNT_PARSE_FAIL);
	/* ARP: not ours to count, still captured. */
	eth(&p, 0, 0x0806);
	for (int i = 0; i < 28; i++)
		put8(&p, 0);
	run(&p, false, d);
	expect_only(d, -1);
}

static void test_snaplen_cut(void **state)
{
	struct pkt p;
	uint64_t d[FL_CNT_MAX];

	(void)state;
	SKIP_WITHOUT_BPF();
	for (int xdp = 0; xdp < 2; xdp++) {
		eth(&p, 0, 0x0800);
		ipv4(&p, 6, 0, 0);
		tcp(&p, ACK);
		for (int i = 0; i < 1000; i++)
			put8(&p, (uint8_t)i);
		run(&p, xdp, d);   /* checks len 1054, caplen SNAPLEN and the bytes */
		expect_only(d, -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_flags),
		cmocka_unit_test(test_vlan_and_ip_options),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_icmp_classes),
		cmocka_unit_test(test_truncated_and_malformed),
		cmocka_unit_test(test_snaplen_cut),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
