// SPDX-License-Identifier: MIT
/* ICMP naming and parsing, and ICMP entries through the pipeline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "track/icmp_msg.h"
#include "pipeline_fixture.h"

static void test_unreachable_codes_0_to_15(void **state)
{
	(void)state;
	static const char *const want[16] = {
		"Network unreachable", "Host unreachable", "Protocol unreachable",
		"Port unreachable", "Fragmentation needed", "Source route failed",
		"Destination network unknown", "Destination host unknown", "Source host isolated",
		"Network administratively prohibited", "Host administratively prohibited",
		"Network unreachable for TOS", "Host unreachable for TOS",
		"Communication administratively filtered", "Host precedence violation",
		"Precedence cutoff in effect",
	};
	for (uint8_t code = 0; code < 16; code++)
		assert_string_equal(icmp_code_name(4, 3, code), want[code]);
	assert_string_equal(icmp_code_name(4, 3, 16), "Unknown code");
	assert_string_equal(icmp_type_name(4, 3), "Destination unreachable");
}

static void test_names_v4_and_v6(void **state)
{
	(void)state;
	assert_string_equal(icmp_type_name(4, 11), "Time-to-live exceeded");
	assert_string_equal(icmp_code_name(4, 11, 0), "Time to live exceeded in transit");
	assert_string_equal(icmp_type_name(4, 4), "Source quench (flow control)");
	assert_string_equal(icmp_code_name(4, 5, 1), "Redirect for host");
	assert_string_equal(icmp_code_name(4, 12, 0), "Pointer indicates the error");
	assert_string_equal(icmp_type_name(4, 9), "Router advertisement");
	assert_string_equal(icmp_type_name(4, 10), "Router solicitation");
	assert_null(icmp_code_name(4, 8, 0));
	assert_string_equal(icmp_type_name(6, 1), "Destination Unreachable");
	assert_string_equal(icmp_code_name(6, 1, 0), "no route to destination");
	assert_string_equal(icmp_code_name(6, 1, 1), "Administratively prohibited");
	assert_string_equal(icmp_code_name(6, 1, 3), "Address unreachable");
	assert_string_equal(icmp_code_name(6, 1, 4), "Port unreachable");
	assert_string_equal(icmp_code_name(6, 1, 5), "Source address failed ingress/egress policy");
	assert_string_equal(icmp_code_name(6, 1, 6), "Reject route to destination");
	assert_string_equal(icmp_type_name(6, 2), "Packet Too Big");
	assert_string_equal(icmp_code_name(6, 3, 0), "hop limit exceeded in transit");
	assert_string_equal(icmp_type_name(6, 133), "Router Solicitation");
	assert_string_equal(icmp_type_name(6, 134), "Router Advertisement");
	assert_string_equal(icmp_type_name(6, 135), "Neighbor Solicitation");
	assert_string_equal(icmp_type_name(6, 136), "Neighbor Advertisement");
	assert_string_equal(icmp_type_name(6, 137), "Redirect");
	assert_string_equal(icmp_type_name(4, 200), "Unknown");
}

static void test_error_classes(void **state)
{
	(void)state;
	const uint8_t v4_errors[] = { 3, 4, 5, 11, 12 };
	for (size_t i = 0; i < sizeof(v4_errors); i++)
		assert_true(icmp_is_error(4, v4_errors[i]));
	assert_false(icmp_is_error(4, 0));
	assert_false(icmp_is_error(4, 8));
	assert_false(icmp_is_error(4, 9));
	assert_true(icmp_is_error(6, 2));
	assert_false(icmp_is_error(6, 128));
	assert_false(icmp_is_error(6, 134));
}

/* An ICMPv4 error quoting a TCP SYN, as a router sends it. */
static struct fl_packet icmp_error(struct pktbuf *b, uint8_t type, uint8_t code, uint32_t rest,
				   uint32_t syn_seq)
{
	b->len = 0;
	eth(b, 0x0800);
	ipv4(b, 1, IP4(198, 18, 1, 1), IP4(198, 18, 1, 2), 8 + 20 + 8);
	put8(b, type); put8(b, code); put16(b, 0); put32(b, rest);
	ipv4(b, 6, IP4(198, 18, 1, 2), IP4(198, 18, 2, 2), 40);
	put16(b, 40000); put16(b, 80); put32(b, syn_seq);
	return (struct fl_packet){ .ts_ns = 2000000, .data = b->data, .caplen = b->len,
				   .len = b->len, .linktype = FL_LINK_ETHERNET };
}

static void test_parse_mtu_and_quote(void **state)
{
	(void)state;
	struct pktbuf b;
	struct decoded d;
	struct icmp_info info;
	struct fl_packet p = icmp_error(&b, 3, 4, 1000, 77);
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(icmp_parse(&d, &info), 0);
	assert_true(info.is_error);
	assert_true(info.has_mtu);
	assert_int_equal(info.mtu, 1000);
	assert_true(info.has_quote);
	assert_int_equal(info.quote.l4proto, FL_IPPROTO_TCP);
	assert_int_equal(info.quote.sport, 40000);
	assert_int_equal(info.quote.seq, 77);
}

static void test_icmp_error_turns_syn_into_unreachable(void **state)
{
	struct fixture *f = *state;
	struct pipeline *pl = f->p;
	struct collected *got = &f->got;
	struct pktbuf *b = &f->buf;

	struct fl_packet syn = tcp_packet(b, 1000000, IP4(198, 18, 1, 2), 40000, IP4(198, 18, 2, 2),
					  80, 77, 0, TCP_SYN, 0);
	pipeline_packet(pl, &syn);
	struct fl_packet err = icmp_error(b, 3, 1, 0, 77);
	pipeline_packet(pl, &err);
	pipeline_finish(pl);

	assert_int_equal(got->n, 2);
	assert_non_null(strstr(got->json[0], "\"code_name\":\"Host unreachable\""));
	assert_non_null(strstr(got->json[0], "\"original\":{\"protocol\":\"tcp\",\"src\":{\"ip\":\"198.18.1.2\",\"port\":40000}"));
	assert_non_null(strstr(got->json[0], "\"error\":{\"type\":\"icmp\",\"message\":\"Destination unreachable (Host unreachable)\"}"));
	assert_non_null(strstr(got->json[1], "\"message\":\"SynSent\""));
	assert_non_null(strstr(got->json[1], "\"reason\":\"unreachable\""));
	assert_int_equal(f->stats.icmp.errors, 1);
	assert_int_equal(f->stats.tcp.syn_sent, 1);
}

static struct fl_packet echo(struct pktbuf *b, uint64_t ts, int reply, uint16_t seq)
{
	b->len = 0;
	eth(b, 0x0800);
	uint32_t a = IP4(198, 18, 1, 2), z = IP4(198, 18, 2, 2);
	ipv4(b, 1, reply ? z : a, reply ? a : z, 8);
	put8(b, reply ? 0 : 8); put8(b, 0); put16(b, 0); put16(b, 0x1234); put16(b, seq);
	return (struct fl_packet){ .ts_ns = ts, .data = b->data, .caplen = b->len, .len = b->len,
				   .linktype = FL_LINK_ETHERNET };
}

static void test_echo_pairs_and_unanswered(void **state)
{
	struct fixture *f = *state;
	struct pipeline *pl = f->p;
	struct collected *got = &f->got;
	struct pktbuf *b = &f->buf;

	struct fl_packet p = echo(b, 1000000000, 0, 1);
	pipeline_packet(pl, &p);
	p = echo(b, 1002500000, 1, 1);        /* 2.5 ms later */
	pipeline_packet(pl, &p);
	p = echo(b, 2000000000, 0, 2);        /* never answered */
	pipeline_packet(pl, &p);
	pipeline_finish(pl);

	assert_int_equal(got->n, 2);
	assert_non_null(strstr(got->json[0], "\"seq\":1"));
	assert_non_null(strstr(got->json[0], "\"elapsed_ms\":2.500"));
	assert_non_null(strstr(got->json[0], "\"error\":null"));
	assert_non_null(strstr(got->json[1], "\"seq\":2"));
	assert_non_null(strstr(got->json[1], "\"response\":null"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreachable_codes_0_to_15),
		cmocka_unit_test(test_names_v4_and_v6),
		cmocka_unit_test(test_error_classes),
		cmocka_unit_test(test_parse_mtu_and_quote),
		cmocka_unit_test_setup_teardown(test_icmp_error_turns_syn_into_unreachable, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_echo_pairs_and_unanswered, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("icmp", tests, NULL, NULL);
}
