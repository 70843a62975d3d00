// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/decode.h"
#include "pktbuild.h"

static void test_ethernet_ipv4_tcp(void **state)
{
	(void)state;
	struct pktbuf b;
	struct decoded d;
	struct fl_packet p = tcp_packet(&b, 1, IP4(198, 18, 1, 2), 40000, IP4(198, 18, 2, 2), 80,
					1000, 0, TCP_SYN, 0);
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.ip_version, 4);
	assert_int_equal(d.l4proto, FL_IPPROTO_TCP);
	assert_int_equal(d.sport, 40000);
	assert_int_equal(d.dport, 80);
	assert_int_equal(d.seq, 1000);
	assert_int_equal(d.tcp_flags, TCP_SYN);
	assert_int_equal(d.src.bytes[3], 2);
	assert_int_equal(d.payload_len, 0);
}

static void test_payload_and_padding(void **state)
{
	(void)state;
	struct pktbuf b;
	struct decoded d;
	struct fl_packet p = tcp_packet(&b, 1, IP4(198, 18, 1, 2), 1, IP4(198, 18, 2, 2), 2, 0, 0,
					TCP_ACK | TCP_PSH, 5);
	/* Ethernet pads short frames: the IP length, not the frame, bounds the payload. */
	memset(b.data + b.len, 0, 10);
	p.caplen = p.len = b.len + 10;
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.payload_len, 5);
	assert_int_equal(d.payload_caplen, 5);
}

static void test_truncated_is_malformed(void **state)
{
	(void)state;
	struct pktbuf b;
	struct decoded d;
	struct fl_packet p = tcp_packet(&b, 1, IP4(198, 18, 1, 2), 1, IP4(198, 18, 2, 2), 2, 0, 0,
					TCP_SYN, 0);
	for (uint32_t cut = 0; cut < 14 + 20 + 20; cut++) {
		p.caplen = cut;
		enum decode_result r = decode_packet(&p, &d);
		assert_true(r == DECODE_MALFORMED);
	}
}

static void test_bad_ihl(void **state)
{
	(void)state;
	struct pktbuf b;
	struct decoded d;
	struct fl_packet p = tcp_packet(&b, 1, IP4(198, 18, 1, 2), 1, IP4(198, 18, 2, 2), 2, 0, 0,
					TCP_SYN, 0);
	b.data[14] = 0x44;     /* IHL 16 bytes: invalid */
	assert_int_equal(decode_packet(&p, &d), DECODE_MALFORMED);
	b.data[14] = 0x4f;     /* IHL 60 bytes: longer than the packet */
	assert_int_equal(decode_packet(&p, &d), DECODE_MALFORMED);
}

static void test_vlan_and_qinq(void **state)
{
	(void)state;
	struct pktbuf inner, b;
	struct decoded d;
	tcp_packet(&inner, 1, IP4(198, 18, 1, 2), 1, IP4(198, 18, 2, 2), 2, 0, 0, TCP_SYN, 0);
	b.len = 0;
	putn(&b, inner.data, 12);
	put16(&b, 0x88a8); put16(&b, 100);     /* 802.1ad outer tag */
	put16(&b, 0x8100); put16(&b, 200);     /* 802.1Q inner tag */
	putn(&b, inner.data + 12, inner.len - 12);
	struct fl_packet p = { .data = b.data, .caplen = b.len, .len = b.len,
			       .linktype = FL_LINK_ETHERNET };
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.dport, 2);
}

static void test_other_link_types(void **state)
{
	(void)state;
	struct pktbuf inner, b;
	struct decoded d;
	tcp_packet(&inner, 1, IP4(198, 18, 1, 2), 7, IP4(198, 18, 2, 2), 9, 0, 0, TCP_SYN, 0);
	const uint8_t *ip = inner.data + 14;
	uint32_t iplen = inner.len - 14;
	struct fl_packet p = { .data = b.data, .linktype = FL_LINK_RAW };

	b.len = 0; putn(&b, ip, iplen);                       /* raw IP */
	p.caplen = p.len = b.len;
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.sport, 7);

	b.len = 0; put8(&b, 2); put8(&b, 0); put8(&b, 0); put8(&b, 0); putn(&b, ip, iplen);
	p.caplen = p.len = b.len; p.linktype = FL_LINK_NULL;  /* BSD loopback, little-endian */
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);

	b.len = 0; put32(&b, 2); putn(&b, ip, iplen);         /* written big-endian */
	p.caplen = p.len = b.len;
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);

	b.len = 0; memset(b.data, 0, 14); b.len = 14; put16(&b, 0x0800); putn(&b, ip, iplen);
	p.caplen = p.len = b.len; p.linktype = FL_LINK_LINUX_SLL;
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);

	b.len = 0; put16(&b, 0x0800); memset(b.data + 2, 0, 18); b.len = 20; putn(&b, ip, iplen);
	p.caplen = p.len = b.len; p.linktype = FL_LINK_LINUX_SLL2;
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.dport, 9);

	b.len = 0; put8(&b, 0xff); put8(&b, 0x03); put16(&b, 0x0021); putn(&b, ip, iplen);
	p.caplen = p.len = b.len; p.linktype = 9;             /* PPP */
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);

	p.linktype = 147;                                     /* a user DLT: not ours */
	assert_int_equal(decode_packet(&p, &d), DECODE_NOT_IP);
}

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	struct pktbuf b = { .len = 0 };
	struct decoded d;
	eth(&b, 0x86dd);
	put32(&b, 0x60000000); put16(&b, 8 + 8 + 20); put8(&b, 0 /* hop-by-hop */); put8(&b, 64);
	uint8_t a[16] = { 0xfd, 0x18, [15] = 1 }, z[16] = { 0xfd, 0x18, [15] = 2 };
	putn(&b, a, 16); putn(&b, z, 16);
	put8(&b, 44); put8(&b, 0); put16(&b, 0x0104); put32(&b, 0);   /* HBH: PadN, next: fragment */
	put8(&b, 6); put8(&b, 0); put16(&b, 0); put32(&b, 0x1234);    /* first fragment, next: TCP */
	tcp(&b, 5, 6, 1, 0, TCP_SYN);
	struct fl_packet p = { .data = b.data, .caplen = b.len, .len = b.len,
			       .linktype = FL_LINK_ETHERNET };
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.ip_version, 6);
	assert_int_equal(d.l4proto, FL_IPPROTO_TCP);
	assert_false(d.fragment);
	assert_int_equal(d.sport, 5);
}

static void test_ipv4_later_fragment(void **state)
{
	(void)state;
	struct pktbuf b;
	struct decoded d;
	struct fl_packet p = tcp_packet(&b, 1, IP4(198, 18, 1, 2), 1, IP4(198, 18, 2, 2), 2, 0, 0,
					TCP_SYN, 0);
	b.data[14 + 6] = 0x00;
	b.data[14 + 7] = 0x10;     /* offset 128 bytes: no TCP header here */
	assert_int_equal(decode_packet(&p, &d), DECODE_FRAGMENT);
	assert_true(d.fragment);
	assert_true(d.is_fragment);
	assert_int_equal(d.frag.offset, 128);
	assert_int_equal(d.frag.id, 1);
	assert_int_equal(d.frag.proto, FL_IPPROTO_TCP);
	assert_false(d.frag.more);
	assert_int_equal(d.frag.data_len, 20);
	assert_int_equal(d.sport, 0);
}

/* An IPv4 packet (20-byte header) inside the current buffer, for tunnels. */
static void inner_tcp4(struct pktbuf *b, uint32_t src, uint32_t dst)
{
	ipv4(b, 6, src, dst, 20);
	tcp(b, 40000, 9999, 1, 0, TCP_SYN);
}

static void udp_hdr(struct pktbuf *b, uint16_t sport, uint16_t dport, uint16_t plen)
{
	put16(b, sport); put16(b, dport); put16(b, (uint16_t)(8 + plen)); put16(b, 0);
}

static void test_vxlan(void **state)
{
	(void)state;
	struct pktbuf b = { .len = 0 };
	struct decoded d;
	for (int port = 0; port < 2; port++) {
		uint16_t dport = port ? 8472 : 4789;
		b.len = 0;
		eth(&b, 0x0800);
		ipv4(&b, 17, IP4(198, 18, 1, 2), IP4(198, 18, 2, 2), 8 + 8 + 14 + 40);
		udp_hdr(&b, 55555, dport, 8 + 14 + 40);
		put32(&b, 0x08000000); put32(&b, 42 << 8);           /* I flag, VNI 42 */
		eth(&b, 0x0800);
		inner_tcp4(&b, IP4(198, 19, 42, 1), IP4(198, 19, 42, 2));
		struct fl_packet p = { .data = b.data, .caplen = b.len, .len = b.len,
				       .linktype = FL_LINK_ETHERNET };
		assert_int_equal(decode_packet(&p, &d), DECODE_OK);
		assert_int_equal(d.l4proto, FL_IPPROTO_TCP);
		assert_int_equal(d.dport, 9999);
		assert_int_equal(d.src.bytes[1], 19);
		assert_int_equal(d.n_tunnels, 1);
		assert_int_equal(d.tunnels[0].type, FL_TUNNEL_VXLAN);
		assert_true(d.tunnels[0].has_id);
		assert_int_equal(d.tunnels[0].id, 42);
		assert_true(d.tunnels[0].has_outer);
		assert_int_equal(d.tunnels[0].outer_src.bytes[3], 2);
		assert_int_equal(d.tunnels[0].outer_dst.bytes[2], 2);
		assert_string_equal(tunnel_type_name(d.tunnels[0].type), "vxlan");

		p.caplen = p.len = b.len - 30;     /* the inner IPv4 header cut at 10 bytes */
		b.data[14 + 2] = 0; b.data[14 + 3] = (uint8_t)(p.len - 14);
		b.data[14 + 20 + 4] = 0; b.data[14 + 20 + 5] = (uint8_t)(p.len - 34);
		assert_int_equal(decode_packet(&p, &d), DECODE_MALFORMED);
	}
}

static void test_geneve(void **state)
{
	(void)state;
	struct pktbuf b = { .len = 0 };
	struct decoded d;
	eth(&b, 0x0800);
	ipv4(&b, 17, IP4(198, 18, 1, 2), IP4(198, 18, 2, 2), 8 + 16 + 40);
	udp_hdr(&b, 55555, 6081, 16 + 40);
	put8(&b, 2); put8(&b, 0); put16(&b, 0x0800);           /* 2 option words, IPv4 inside */
	put32(&b, 0x00100700);                                 /* VNI 0x001007 */
	put32(&b, 0x01028001); put32(&b, 0x6f707431);          /* one option, 4 bytes */
	inner_tcp4(&b, IP4(198, 19, 7, 1), IP4(198, 19, 7, 2));
	struct fl_packet p = { .data = b.data, .caplen = b.len, .len = b.len,
			       .linktype = FL_LINK_ETHERNET };
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.dport, 9999);
	assert_int_equal(d.n_tunnels, 1);
	assert_int_equal(d.tunnels[0].type, FL_TUNNEL_GENEVE);
	assert_int_equal(d.tunnels[0].id, 0x1007);
}

static void test_mpls(void **state)
{
	(void)state;
	struct pktbuf b = { .len = 0 };
	struct decoded d;
	eth(&b, 0x8847);
	put32(&b, 1000u << 12 | 64);                            /* label 1000 */
	put32(&b, 2000u << 12 | 0x100 | 64);                    /* label 2000, bottom of stack */
	inner_tcp4(&b, IP4(198, 18, 1, 2), IP4(198, 18, 2, 2));
	struct fl_packet p = { .data = b.data, .caplen = b.len, .len = b.len,
			       .linktype = FL_LINK_ETHERNET };
	assert_int_equal(decode_packet(&p, &d), DECODE_OK);
	assert_int_equal(d.dport, 9999);
	assert_int_equal(d.n_tunnels, 1);
	assert_int_equal(d.tunnels[0].type, FL_TUNNEL_MPLS);
	assert_false(d.tunnels[0].has_outer);
	assert_int_equal(d.tunnels[0].n_labels, 2);
	assert_int_equal(d.tunnels[0].labels[0], 1000);
	assert_int_equal(d.tunnels[0].labels[1], 2000);

	b.data[14 + 6] &= (uint8_t)~1;                           /* no bottom of stack: runs off */
	p.caplen = p.len = 14 + 8;
	assert_int_equal(decode_packet(&p, &d), DECODE_MALFORMED);
}

/* An ICMPv6 quote: a whole IPv6 header, then a destination options header cut short. */
static void test_icmpv6_quote_cut_extension_header(void **state)
{
	(void)state;
	struct pktbuf b = { .len = 0 };
	struct decoded d;
	put32(&b, 0x60000000); put16(&b, 1344); put8(&b, 60); put8(&b, 64);
	uint8_t a[16] = { 0xfd, 0x18, 1, [15] = 2 }, z[16] = { 0xfd, 0x18, 2, [15] = 2 };
	putn(&b, a, 16); putn(&b, z, 16);
	put8(&b, 17); put8(&b, 166);                            /* next: UDP, 1336 bytes long */
	memset(b.data + b.len, 'o', 100);
	b.len += 100;
	assert_int_equal(decode_ip(b.data, b.len, &d), DECODE_OK);
	assert_true(d.l4_missing);
	assert_int_equal(d.l4proto, FL_IPPROTO_UDP);
	assert_int_equal(d.src.bytes[2], 1);
	assert_int_equal(d.dst.bytes[2], 2);
	assert_int_equal(d.sport, 0);

	/* The same bytes as a packet of their own are truncated: a decode error. */
	struct pktbuf e = { .len = 0 };
	eth(&e, 0x86dd);
	putn(&e, b.data, b.len);
	struct fl_packet p = { .data = e.data, .caplen = e.len, .len = e.len,
			       .linktype = FL_LINK_ETHERNET };
	assert_int_equal(decode_packet(&p, &d), DECODE_MALFORMED);
}

/* ICMP quoting the first fragment of a UDP datagram: the UDP length is the datagram's. */
static void test_icmp_quote_of_first_fragment(void **state)
{
	(void)state;
	struct pktbuf b = { .len = 0 };
	struct decoded d;
	ipv4(&b, 17, IP4(198, 18, 2, 2), IP4(198, 18, 1, 2), 8);
	b.data[6] = 0x20;                                       /* MF */
	b.data[4] = 0x12; b.data[5] = 0x34;
	udp_hdr(&b, 53, 40000, 3000);
	assert_int_equal(decode_ip(b.data, b.len, &d), DECODE_OK);
	assert_true(d.is_fragment);
	assert_int_equal(d.frag.id, 0x1234);
	assert_int_equal(d.sport, 53);
	assert_int_equal(d.dport, 40000);
}

static void test_icmp_quote_needs_only_8_bytes(void **state)
{
	(void)state;
	struct pktbuf b = { .len = 0 };
	struct decoded d;
	ipv4(&b, 6, IP4(198, 18, 1, 2), IP4(198, 18, 2, 2), 40);
	put16(&b, 40000); put16(&b, 443); put32(&b, 0xdeadbeef);
	assert_int_equal(decode_ip(b.data, b.len, &d), DECODE_OK);
	assert_int_equal(d.sport, 40000);
	assert_int_equal(d.dport, 443);
	assert_int_equal(d.seq, 0xdeadbeef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_ipv4_tcp),
		cmocka_unit_test(test_payload_and_padding),
		cmocka_unit_test(test_truncated_is_malformed),
		cmocka_unit_test(test_bad_ihl),
		cmocka_unit_test(test_vlan_and_qinq),
		cmocka_unit_test(test_other_link_types),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_ipv4_later_fragment),
		cmocka_unit_test(test_icmp_quote_needs_only_8_bytes),
		cmocka_unit_test(test_vxlan),
		cmocka_unit_test(test_geneve),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_icmpv6_quote_cut_extension_header),
		cmocka_unit_test(test_icmp_quote_of_first_fragment),
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
