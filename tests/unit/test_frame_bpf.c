// SPDX-License-Identifier: MIT
/*
 * HTTP/1.x framing in the capture programs (bpf/skip.bpf.h skip_frame()),
 * run on crafted connections with BPF_PROG_TEST_RUN and tap.skipPayload on:
 * a response to a GET with one plain Content-Length is copied up to the end
 * of its head and its body's range lands in `skips`; chunked, 204, two
 * Content-Length, Transfer-Encoding, obs-fold, a head split across
 * segments, a pipelined GET and anything after a HEAD are left alone; a
 * range userspace skipped does not stop framing on the connection.  On tc
 * and XDP.  Needs root (or CAP_BPF); skipped where BPF cannot be loaded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture_skel.h"
#include "faultline.h"

#define HDRS 54     /* Ethernet, IPv4 and TCP without options */

static struct capture_bpf *skel;
static struct ring_buffer *rb;
static int records;
static uint32_t last_caplen;

static int on_record(void *ctx, void *data, size_t size)
{
	const struct fl_ring_pkt *r = data;

	(void)ctx;
	assert_true(size >= sizeof(*r) + r->caplen);
	records++;
	last_caplen = r->caplen;
	return 0;
}

/* Loaded as ebpf.c loads them (capture_skel.h), with tap.skipPayload on. */
static void configure(struct capture_bpf *sk)
{
	sk->rodata->snaplen = 65535;
	sk->rodata->skip_enabled = 1;
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

#define SKIP_WITHOUT_BPF() do { if (!skel) skip(); } while (0)

/* ---- a connection ---- */

enum { FIN = 1, SYN = 2, PSH = 8, ACK = 16 };

struct conn {
	uint16_t cport;
	bool xdp;
	uint32_t cseq, sseq;     /* next sequence number of the client, the server */
};

static uint8_t pkt[HDRS + 4000];   /* a tc test run takes less than a page */

/* One segment through the program; returns the bytes it copied. */
static uint32_t send_seg(struct conn *c, bool from_server, uint8_t flags, uint32_t seq,
			 uint32_t ack, const void *payload, size_t len)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	uint8_t *p = pkt, out[sizeof(pkt)];
	uint8_t cli[4] = { 198, 18, 203, 1 }, srv[4] = { 198, 18, 203, 2 };
	uint16_t v16;
	uint32_t v32;

	memcpy(p, macs, 12);
	p[12] = 0x08;
	p[13] = 0x00;
	p += 14;
	memset(p, 0, 20);
	p[0] = 0x45;
	v16 = htons((uint16_t)(40 + len));
	memcpy(p + 2, &v16, 2);
	p[8] = 64;
	p[9] = 6;
	memcpy(p + 12, from_server ? srv : cli, 4);
	memcpy(p + 16, from_server ? cli : srv, 4);
	p += 20;
	memset(p, 0, 20);
	v16 = htons(from_server ? 80 : c->cport);
	memcpy(p, &v16, 2);
	v16 = htons(from_server ? c->cport : 80);
	memcpy(p + 2, &v16, 2);
	v32 = htonl(seq);
	memcpy(p + 4, &v32, 4);
	v32 = htonl(ack);
	memcpy(p + 8, &v32, 4);
	p[12] = 5 << 4;
	p[13] = flags;
	p[14] = 0xff;
	p[15] = 0xff;
	if (len)
		memcpy(p + 20, payload, len);

	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
			    .data_size_in = (__u32)(HDRS + len), .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);
	int fd = bpf_program__fd(c->xdp ? skel->progs.fl_xdp_ingress : skel->progs.fl_tc_ingress);
	records = 0;
	assert_int_equal(bpf_prog_test_run_opts(fd, &opts), 0);
	ring_buffer__consume(rb);
	assert_int_equal(records, 1);
	return last_caplen;
}

static void handshake(struct conn *c, uint16_t cport, bool xdp)
{
	memset(c, 0, sizeof(*c));
	c->cport = cport;
	c->xdp = xdp;
	c->cseq = 100;
	c->sseq = 7000;
	send_seg(c, false, SYN, c->cseq - 1, 0, NULL, 0);
	send_seg(c, true, SYN | ACK, c->sseq - 1, c->cseq, NULL, 0);
}

/* The client sends s (all of it in one segment); returns the bytes copied. */
static uint32_t client(struct conn *c, const char *s)
{
	size_t n = strlen(s);
	uint32_t cap = send_seg(c, false, PSH | ACK, c->cseq, c->sseq, s, n);
	c->cseq += (uint32_t)n;
	return cap;
}

/* The server sends head and `body` bytes of its body in one segment; returns the payload copied. */
static uint32_t server(struct conn *c, const char *head, size_t body)
{
	static uint8_t b[3000];
	size_t hl = strlen(head);
	assert_true(hl + body <= sizeof(b));
	memcpy(b, head, hl);
	memset(b + hl, 'x', body);
	uint32_t cap = send_seg(c, true, PSH | ACK, c->sseq, c->cseq, b, hl + body);
	c->sseq += (uint32_t)(hl + body);
	return cap - HDRS;
}

/* More body from the server (len bytes, <= 3000); returns the payload copied. */
static uint32_t server_body(struct conn *c, size_t len)
{
	static uint8_t b[3000];
	memset(b, 'y', len);
	uint32_t cap = send_seg(c, true, ACK, c->sseq, c->cseq, b, len);
	c->sseq += (uint32_t)len;
	return cap - HDRS;
}

static uint64_t framed(void)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], sum = 0;
	__u32 key = FL_CNT_HTTP_FRAMED;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &key, vals), 0);
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* The `skips` range of the server's side. */
static bool skip_range(const struct conn *c, uint32_t *from, uint32_t *to)
{
	struct fl_skip_key k;
	struct fl_skip_val v;
	uint8_t cli[4] = { 198, 18, 203, 1 }, srv[4] = { 198, 18, 203, 2 };

	memset(&k, 0, sizeof(k));
	memcpy(k.saddr, srv, 4);
	memcpy(k.daddr, cli, 4);
	k.sport = htons(80);
	k.dport = htons(c->cport);
	k.family = 4;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.skips), &k, &v))
		return false;
	*from = v.from;
	*to = v.to;
	return true;
}

#define GET "GET /f HTTP/1.1\r\nHost: a\r\n\r\n"
#define OK_HEAD(len) "HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: " len "\r\n\r\n"

/* Framed: cut at the head's end, the body's range in `skips`, the rest headers only. */
static void framed_response(bool xdp)
{
	struct conn c;
	uint32_t from, to, start;
	uint64_t before = framed();
	const char *head = OK_HEAD("100000");

	handshake(&c, xdp ? 40101 : 40100, xdp);
	assert_int_equal(client(&c, GET), HDRS + strlen(GET));
	start = c.sseq;
	assert_int_equal(server(&c, head, 1000), strlen(head));
	assert_int_equal(framed(), before + 1);
	assert_true(skip_range(&c, &from, &to));
	assert_int_equal(from, start + strlen(head));
	assert_int_equal(to, start + strlen(head) + 100000);
	assert_int_equal(server_body(&c, 1400), 0);
	assert_int_equal(server_body(&c, 1400), 0);
	/* The rest of the body went by (headers only); the next GET, once all was
	 * received: its response is framed too, its small body (inside the head's
	 * segment) cut. */
	c.sseq = to;
	client(&c, GET);
	head = "HTTP/1.0 404 Not Found\r\ncontent-length:  9 \r\n\r\n";
	assert_int_equal(server(&c, head, 9), strlen(head));
	assert_int_equal(framed(), before + 2);
}

static void test_framed_tc(void **state)
{
	(void)state;
	SKIP_WITHOUT_BPF();
	framed_response(false);
}

static void test_framed_xdp(void **state)
{
	(void)state;
	SKIP_WITHOUT_BPF();
	framed_response(true);
}

/* Heads the kernel leaves to the dissector: copied whole, nothing counted. */
static void test_unusual_heads_copied(void **state)
{
	static const char *const heads[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 500\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 500\r\nContent-Length: 500\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5x0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 500\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length : 500\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 500\n\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: 500\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\n\r\n",
		"HTTP/1.1 100 Continue\r\nContent-Length: 500\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n",        /* head not complete */
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",     /* 500 bytes follow: more than 10 */
	};
	(void)state;
	SKIP_WITHOUT_BPF();
	for (unsigned i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct conn c;
		uint64_t before = framed();
		handshake(&c, (uint16_t)(41000 + i), false);
		client(&c, GET);
		assert_int_equal(server(&c, heads[i], 500), strlen(heads[i]) + 500);
		assert_int_equal(framed(), before);
	}
	/* The same connection with a plain head: framed. */
	struct conn c;
	uint64_t before = framed();
	handshake(&c, 41999, false);
	client(&c, GET);
	assert_int_equal(server(&c, OK_HEAD("500"), 500), strlen(OK_HEAD("500")));
	assert_int_equal(framed(), before + 1);
}

/* Requests that end framing on the connection, or skip one response. */
static void test_requests_that_stop_framing(void **state)
{
	static const char *const taints[] = {
		"HEAD /f HTTP/1.1\r\nHost: a\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
		"GET /f HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /f HTTP/1.1\r\nHost: a\r\n",                     /* a head in two segments */
		"GET /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
	};
	const char *head = OK_HEAD("500");
	(void)state;
	SKIP_WITHOUT_BPF();
	for (unsigned i = 0; i < sizeof(taints) / sizeof(taints[0]); i++) {
		struct conn c;
		uint64_t before = framed();
		handshake(&c, (uint16_t)(42000 + i), false);
		client(&c, taints[i]);
		assert_int_equal(server(&c, head, 500), strlen(head) + 500);
		/* A whole GET later does not bring framing back on this connection. */
		client(&c, GET);
		assert_int_equal(server(&c, head, 500), strlen(head) + 500);
		assert_int_equal(framed(), before);
	}
	/* A GET sent before the previous response was all received (pipelined):
	 * its response is not framed; the next one, sent once all came, is. */
	struct conn c;
	uint64_t before = framed();
	const char *h2 = OK_HEAD("2000");
	handshake(&c, 42100, false);
	client(&c, GET);
	assert_int_equal(server(&c, h2, 1000), strlen(h2));
	client(&c, GET);                    /* acks the first 1000 only */
	assert_int_equal(server_body(&c, 1000), 0);
	assert_int_equal(server(&c, h2, 1000), strlen(h2) + 1000);
	assert_int_equal(server_body(&c, 1000), 1000);
	assert_int_equal(framed(), before + 1);
	client(&c, GET);
	assert_int_equal(server(&c, h2, 1000), strlen(h2));
	assert_int_equal(framed(), before + 2);
}

/*
 * A response the kernel did not frame (its head came in two segments) whose
 * body userspace asked to skip, to its end (the range's last segment went as
 * headers only): the next GET's response is framed again.
 */
static void test_framed_after_userspace_skip(void **state)
{
	struct conn c;
	struct fl_skip_key k;
	struct fl_skip_val v;
	uint8_t cli[4] = { 198, 18, 203, 1 }, srv[4] = { 198, 18, 203, 2 };
	(void)state;
	SKIP_WITHOUT_BPF();
	uint64_t before = framed();
	handshake(&c, 43100, false);
	client(&c, GET);
	assert_int_equal(server(&c, "HTTP/1.1 200 OK\r\n", 0), 17);
	assert_int_equal(server(&c, "Content-Length: 2800\r\n\r\n", 0), 24);
	assert_int_equal(framed(), before);
	/* The stream layer's request, as ebpf.c writes it. */
	memset(&k, 0, sizeof(k));
	memcpy(k.saddr, srv, 4);
	memcpy(k.daddr, cli, 4);
	k.sport = htons(80);
	k.dport = htons(c.cport);
	k.family = 4;
	memset(&v, 0, sizeof(v));
	v.from = c.sseq;
	v.to = c.sseq + 2800;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.skips), &k, &v, BPF_ANY), 0);
	assert_int_equal(server_body(&c, 1400), 0);
	assert_int_equal(server_body(&c, 1400), 0);
	client(&c, GET);
	assert_int_equal(server(&c, OK_HEAD("500"), 500), strlen(OK_HEAD("500")));
	assert_int_equal(framed(), before + 1);
}

/* Midstream (no SYN-ACK seen): never framed. */
static void test_midstream_not_framed(void **state)
{
	struct conn c;
	const char *head = OK_HEAD("500");
	(void)state;
	SKIP_WITHOUT_BPF();
	memset(&c, 0, sizeof(c));
	c.cport = 43000;
	c.cseq = 100;
	c.sseq = 7000;
	uint64_t before = framed();
	client(&c, GET);
	assert_int_equal(server(&c, head, 500), strlen(head) + 500);
	assert_int_equal(framed(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framed_tc),
		cmocka_unit_test(test_framed_xdp),
		cmocka_unit_test(test_unusual_heads_copied),
		cmocka_unit_test(test_requests_that_stop_framing),
		cmocka_unit_test(test_framed_after_userspace_skip),
		cmocka_unit_test(test_midstream_not_framed),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
