// SPDX-License-Identifier: MIT
/*
 * Payload skipping's userspace bookkeeping (tap.skipPayload): the stream
 * layer asks a source not to copy body a dissector only counts, and takes
 * the cut bytes inside the asked range as skipped.  Each scenario runs twice
 * through the stream layer: once with every byte captured and no skipping,
 * once with a simulated kernel that honours each request at once (segments
 * wholly inside the range arrive as headers only, as bpf/skip.bpf.h sends
 * them).  The entries must be identical; holes and retransmissions inside a
 * skipped range must still count.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include "dissect_harness.h"
#include "report/names.h"

/* The simulated kernel: the last range per sending port (one flow per test). */
struct sim {
	struct fl_skip range[2];   /* by side: 0 the client (port 40000), 1 the server */
	bool set[2];
	unsigned asks, forgets;
};

static int side_of(const struct fl_skip *sk)
{
	return sk->sport == 40000 ? 0 : 1;
}

static void sim_skip(void *ctx, const struct fl_skip *sk)
{
	struct sim *s = ctx;
	if (getenv("SIM_DEBUG"))
		fprintf(stderr, "ask side %d %u..%u all %d\n", side_of(sk), sk->from, sk->to, sk->all);
	s->range[side_of(sk)] = *sk;
	s->set[side_of(sk)] = true;
	s->asks++;
}

static void sim_forget(void *ctx, const struct fl_skip *sk)
{
	struct sim *s = ctx;
	s->set[side_of(sk)] = false;
	s->forgets++;
}

/* Does the simulated kernel send this segment as headers only? */
static bool sim_cuts(const struct sim *s, int side, uint32_t seq, uint32_t len)
{
	const struct fl_skip *r = &s->range[side];
	if (!s->set[side] || len == 0 || (int32_t)(seq - r->from) < 0)
		return false;
	return r->all || (int32_t)(r->to - (seq + len)) >= 0;
}

struct run {
	struct harness *h;
	struct sim sim;
	bool skipping;
	uint64_t cut;              /* payload bytes the simulated kernel did not copy */
};

static void run_init(struct run *r, bool skipping, uint16_t port)
{
	memset(r, 0, sizeof(*r));
	r->h = h_tcp_new(true, port);
	r->skipping = skipping;
	if (skipping)
		r->h->env.ctl = (struct payload_control){ sim_skip, sim_forget, &r->sim };
}

/* One segment at seq: cut to its headers when the simulated kernel skips it. */
static void seg(struct run *r, int side, uint32_t seq, const void *data, size_t len)
{
	struct harness *h = r->h;
	struct decoded d;
	memset(&d, 0, sizeof(d));
	d.seq = seq;
	d.ack = h->seq[!side];
	d.tcp_flags = TCP_PSH | TCP_ACK;
	d.payload = data;
	d.payload_len = d.payload_caplen = (uint32_t)len;
	if (r->skipping && sim_cuts(&r->sim, side, seq, (uint32_t)len)) {
		d.payload_caplen = 0;
		r->cut += len;
	}
	h->ts += 1000000;
	h->f.last_ts_ns = h->ts;
	stream_tcp_packet(&h->env, &h->f, side, &d, h->ts, &h->origin);
}

/* `len` bytes from side in segments of at most 1448, in order. */
static void send_bytes(struct run *r, int side, const uint8_t *data, size_t len)
{
	for (size_t off = 0; off < len; off += 1448) {
		size_t n = len - off < 1448 ? len - off : 1448;
		seg(r, side, r->h->seq[side], data + off, n);
		r->h->seq[side] += (uint32_t)n;
	}
}

static void send_str(struct run *r, int side, const char *s)
{
	send_bytes(r, side, (const uint8_t *)s, strlen(s));
}

static void finish_run(struct run *r)
{
	h_fin(r->h, H_CLIENT);
	h_fin(r->h, H_SERVER);
	h_capture_end(r->h);
}

static uint8_t body[300000];

static void fill_body(void)
{
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)('a' + i % 26);
}

/* The two runs' entries are the same, byte for byte. */
static void assert_same_entries(const struct run *off, const struct run *on)
{
	assert_int_equal(off->h->n, on->h->n);
	for (unsigned i = 0; i < off->h->n; i++)
		assert_string_equal(off->h->json[i], on->h->json[i]);
	assert_int_equal(off->h->stats.tcp.missed_bytes, on->h->stats.tcp.missed_bytes);
	assert_int_equal(off->h->stats.tcp.retransmissions, on->h->stats.tcp.retransmissions);
	assert_int_equal(on->h->stats.tcp.truncated_bytes, 0);
	/* Stream bytes skipped: a retransmitted copy that was cut is no new byte. */
	assert_true(on->h->stats.capture.skipped_bytes <= on->cut);
	assert_true(on->h->stats.capture.skipped_bytes > 0);
	assert_int_equal(off->h->stats.capture.skipped_bytes, 0);
}

static void http_downloads(struct run *r)
{
	char head[256];
	/* Content-Length, keep-alive. */
	send_str(r, H_CLIENT, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", sizeof(body));
	send_str(r, H_SERVER, head);
	send_bytes(r, H_SERVER, body, sizeof(body));
	/* Chunked: two large chunks. */
	send_str(r, H_CLIENT, "GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n");
	send_str(r, H_SERVER, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 2; i++) {
		send_str(r, H_SERVER, "c350\r\n");           /* 50000 */
		send_bytes(r, H_SERVER, body, 50000);
		send_str(r, H_SERVER, "\r\n");
	}
	send_str(r, H_SERVER, "0\r\n\r\n");
	/* An upload with Content-Length, answered 404. */
	send_str(r, H_CLIENT, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 40000\r\n\r\n");
	send_bytes(r, H_CLIENT, body, 40000);
	send_str(r, H_SERVER, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found");
	finish_run(r);
}

static void test_http_downloads(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 80);
	http_downloads(&off);
	run_init(&on, true, 80);
	http_downloads(&on);
	assert_int_equal(off.h->n, 3);
	assert_same_entries(&off, &on);
	/* Nearly every body byte was left in the kernel; the first segment after
	 * each head is copied (the request comes with it), the rest is not. */
	assert_true(on.cut > sizeof(body) + 80000);
	assert_true(on.sim.asks >= 4);
	assert_true(on.sim.forgets >= 1);     /* the stream ended: the ranges are dropped */
	h_contains(on.h, 0, "\"status\":200");
	assert_null(strstr(on.h->json[0], "truncated"));
	h_free(off.h);
	h_free(on.h);
}

/*
 * A segment lost inside a skipped body (a hole: the peer's ACK moves past it
 * later), another seen twice: the headers still come, so both count.
 */
static void http_hole(struct run *r)
{
	char head[256];
	send_str(r, H_CLIENT, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 100000);
	send_str(r, H_SERVER, head);
	uint32_t start = r->h->seq[H_SERVER];
	for (uint32_t off = 0; off < 100000; off += 1000) {
		if (off == 50000)
			continue;                              /* lost before the capture */
		seg(r, H_SERVER, start + off, body + off, 1000);
		if (off == 30000)
			seg(r, H_SERVER, start + off, body + off, 1000);   /* seen again */
	}
	r->h->seq[H_SERVER] = start + 100000;
	send_str(r, H_CLIENT, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n");   /* acks past the hole */
	send_str(r, H_SERVER, "HTTP/1.1 204 No Content\r\n\r\n");
	finish_run(r);
}

static void test_hole_and_retransmission_in_skipped_body(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 80);
	http_hole(&off);
	run_init(&on, true, 80);
	http_hole(&on);
	assert_same_entries(&off, &on);
	assert_int_equal(on.h->stats.tcp.missed_bytes, 1000);
	assert_true(on.h->stats.tcp.retransmissions >= 1);
	assert_true(on.cut > 90000);
	assert_int_equal(on.h->stats.capture.skipped_bytes, on.cut - 1000);   /* the copy seen twice */
	h_free(off.h);
	h_free(on.h);
}

/* The hole filled late by its retransmission, which comes headers only. */
static void http_late_fill(struct run *r)
{
	char head[256];
	send_str(r, H_CLIENT, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 60000);
	send_str(r, H_SERVER, head);
	uint32_t start = r->h->seq[H_SERVER];
	for (uint32_t off = 0; off < 60000; off += 1000)
		if (off != 20000)
			seg(r, H_SERVER, start + off, body + off, 1000);
	r->h->ts += 200000000;                                 /* RTO */
	seg(r, H_SERVER, start + 20000, body + 20000, 1000);
	r->h->seq[H_SERVER] = start + 60000;
	finish_run(r);
}

static void test_late_retransmission_fills_skipped_hole(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 80);
	http_late_fill(&off);
	run_init(&on, true, 80);
	http_late_fill(&on);
	assert_same_entries(&off, &on);
	assert_int_equal(on.h->stats.tcp.missed_bytes, 0);
	assert_int_equal(on.h->stats.tcp.retransmissions, 1);
	assert_int_equal(on.h->n, 1);
	h_contains(on.h, 0, "\"status\":200");
	h_free(off.h);
	h_free(on.h);
}

/*
 * The kernel framing an HTTP/1.x response (bpf/skip.bpf.h skip_frame()): a
 * segment carrying the head and the body's start (GSO) is copied up to the
 * head's end, and the body's range is skipped from then on, before the
 * dissector asked.  `frame` false: the segment goes as captured (a kernel
 * that did not frame).
 */
static void send_framed(struct run *r, const char *head, const uint8_t *b, size_t blen,
			bool frame)
{
	static uint8_t seg_buf[512 + 20000];
	struct harness *h = r->h;
	size_t hl = strlen(head), first = blen < 20000 ? blen : 20000;
	memcpy(seg_buf, head, hl);
	memcpy(seg_buf + hl, b, first);
	struct decoded d;
	memset(&d, 0, sizeof(d));
	d.seq = h->seq[H_SERVER];
	d.ack = h->seq[H_CLIENT];
	d.tcp_flags = TCP_PSH | TCP_ACK;
	d.payload = seg_buf;
	d.payload_len = d.payload_caplen = (uint32_t)(hl + first);
	if (r->skipping && frame) {
		d.payload_caplen = (uint32_t)hl;
		r->cut += first;
		if (first < blen) {
			struct fl_skip *k = &r->sim.range[H_SERVER];
			memset(k, 0, sizeof(*k));
			k->sport = 80;
			k->from = d.seq + (uint32_t)hl;
			k->to = k->from + (uint32_t)blen;
			r->sim.set[H_SERVER] = true;
		}
	}
	h->ts += 1000000;
	h->f.last_ts_ns = h->ts;
	stream_tcp_packet(&h->env, &h->f, H_SERVER, &d, h->ts, &h->origin);
	h->seq[H_SERVER] += (uint32_t)(hl + first);
	send_bytes(r, H_SERVER, b + first, blen - first);
}

static void http_framed(struct run *r)
{
	char head[256];
	send_str(r, H_CLIENT, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", sizeof(body));
	send_framed(r, head, body, sizeof(body), true);
	/* A body inside the head's segment: only the cut. */
	send_str(r, H_CLIENT, "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n");
	send_framed(r, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n",
		    (const uint8_t *)"not found", 9, true);
	/* One the kernel left alone (chunked), then a framed one again. */
	send_str(r, H_CLIENT, "GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n");
	send_str(r, H_SERVER, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	send_str(r, H_SERVER, "c350\r\n");
	send_bytes(r, H_SERVER, body, 50000);
	send_str(r, H_SERVER, "\r\n0\r\n\r\n");
	send_str(r, H_CLIENT, "GET /mid HTTP/1.1\r\nHost: a\r\n\r\n");
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 70000);
	send_framed(r, head, body, 70000, true);
	finish_run(r);
}

static void test_kernel_framed_http(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 80);
	http_framed(&off);
	run_init(&on, true, 80);
	http_framed(&on);
	assert_int_equal(off.h->n, 4);
	assert_same_entries(&off, &on);
	assert_int_equal(on.h->stats.capture.frame_disagreements, 0);
	/* Every byte of the framed bodies, and of the chunked one's asked range. */
	assert_true(on.h->stats.capture.skipped_bytes >= sizeof(body) + 9 + 70000);
	h_contains(on.h, 1, "\"status\":404");
	h_free(off.h);
	h_free(on.h);
}

/*
 * A kernel that framed a response the dissector knows has no body (to a
 * HEAD): the next response is cut where the dissector wants it.  The
 * capture programs never do this (a HEAD stops framing on the connection);
 * if they ever did, it is counted, and the cut bytes are truncated, not
 * skipped.
 */
static void test_framing_disagreement_counted(void **state)
{
	(void)state;
	struct run on;
	char head[256];
	run_init(&on, true, 80);
	send_str(&on, H_CLIENT, "HEAD /big HTTP/1.1\r\nHost: a\r\n\r\n");
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 30000);
	/* The wrong range: as if the 30000 bytes of body followed. */
	struct fl_skip *k = &on.sim.range[H_SERVER];
	memset(k, 0, sizeof(*k));
	k->sport = 80;
	k->from = on.h->seq[H_SERVER] + (uint32_t)strlen(head);
	k->to = k->from + 30000;
	on.sim.set[H_SERVER] = true;
	send_str(&on, H_SERVER, head);
	send_str(&on, H_CLIENT, "GET /small HTTP/1.1\r\nHost: a\r\n\r\n");
	send_str(&on, H_SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n");
	send_bytes(&on, H_SERVER, body, 2000);
	finish_run(&on);
	assert_true(on.h->stats.capture.frame_disagreements >= 1);
	assert_true(on.h->stats.tcp.truncated_bytes > 0);
	h_free(on.h);
}

static void redis_bulk(struct run *r)
{
	char head[64];
	send_str(r, H_CLIENT, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
	snprintf(head, sizeof(head), "$%d\r\n", 200000);
	send_str(r, H_SERVER, head);
	send_bytes(r, H_SERVER, body, 200000);
	send_str(r, H_SERVER, "\r\n");
	send_str(r, H_CLIENT, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n");
	send_bytes(r, H_CLIENT, body, 100000);
	send_str(r, H_CLIENT, "\r\n");
	send_str(r, H_SERVER, "+OK\r\n");
	finish_run(r);
}

static void test_redis_bulk_strings(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 6379);
	redis_bulk(&off);
	run_init(&on, true, 6379);
	redis_bulk(&on);
	assert_int_equal(off.h->n, 2);
	assert_same_entries(&off, &on);
	assert_true(on.cut > 250000);
	/* The value's first bytes are still in the entry. */
	h_contains(on.h, 0, "abcdefghij");
	h_free(off.h);
	h_free(on.h);
}

/* Nobody knows the client's first bytes: the flow becomes headers only. */
static void unclaimed(struct run *r)
{
	send_str(r, H_CLIENT, "\x07\x01hello, binary");
	send_bytes(r, H_SERVER, body, 100000);
	send_bytes(r, H_CLIENT, body, 10000);
	finish_run(r);
}

static void test_unclaimed_flow_headers_only(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 7070);
	unclaimed(&off);
	run_init(&on, true, 7070);
	unclaimed(&on);
	assert_same_entries(&off, &on);
	/* Everything after each side's first segment (the server's first came before its ask). */
	assert_int_equal(on.cut, 100000 - 1448 + 10000);
	assert_int_equal(on.h->stats.capture.skipped_bytes, on.cut);
	assert_true(on.sim.asks == 2);
	h_free(off.h);
	h_free(on.h);
}

/* ---- DNS over TCP: a long response judged from its head and its OPT record ---- */

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* "big.test" TXT (or A), with the 2-byte length in front; `records` answers and an OPT last. */
static size_t dns_msg_t(uint8_t *out, uint16_t id, bool response, unsigned records, uint8_t ext_rcode,
			uint16_t type)
{
	size_t n = 2;
	n += put16(out + n, id);
	n += put16(out + n, response ? 0x8180 : 0x0120);
	n += put16(out + n, 1);
	n += put16(out + n, (uint16_t)records);
	n += put16(out + n, 0);
	n += put16(out + n, 1);
	static const uint8_t qname[] = "\x03" "big" "\x04" "test";
	memcpy(out + n, qname, sizeof(qname));         /* with the root label */
	n += sizeof(qname);
	n += put16(out + n, type);
	n += put16(out + n, 1);
	for (unsigned i = 0; i < records; i++) {
		n += put16(out + n, 0xc00c);
		n += put16(out + n, type);
		n += put16(out + n, 1);
		n += put16(out + n, 0);
		n += put16(out + n, 60);
		if (type == 1) {
			n += put16(out + n, 4);
			out[n++] = 198;
			out[n++] = 18;
			out[n++] = (uint8_t)(i >> 8);
			out[n++] = (uint8_t)i;
			continue;
		}
		n += put16(out + n, 201);
		out[n++] = 200;
		for (unsigned j = 0; j < 200; j++)
			out[n++] = (uint8_t)('a' + (i + j) % 26);
	}
	/* OPT: root, type 41, udp size 1232, the extended rcode, a cookie option. */
	out[n++] = 0;
	n += put16(out + n, 41);
	n += put16(out + n, 1232);
	out[n++] = ext_rcode;
	out[n++] = 0;
	n += put16(out + n, 0);
	n += put16(out + n, response ? 12 : 0);
	if (response) {
		n += put16(out + n, 10);
		n += put16(out + n, 8);
		memcpy(out + n, "\x00\x00\x29\x00\x00\x00\x00\x00", 8);   /* looks like an OPT start */
		n += 8;
	}
	put16(out, (uint16_t)(n - 2));
	return n;
}

static size_t dns_msg(uint8_t *out, uint16_t id, bool response, unsigned records, uint8_t ext_rcode)
{
	return dns_msg_t(out, id, response, records, ext_rcode, 16);
}

static uint8_t dnsbuf[65600];

static void dns_long(struct run *r)
{
	size_t n;
	n = dns_msg(dnsbuf, 0x1111, false, 0, 0);
	send_bytes(r, H_CLIENT, dnsbuf, n);
	n = dns_msg(dnsbuf, 0x1111, true, 150, 0);             /* ~32 kB */
	send_bytes(r, H_SERVER, dnsbuf, n);
	/* The same connection again (dig +keepopen): framing kept after the skip. */
	n = dns_msg(dnsbuf, 0x2222, false, 0, 0);
	send_bytes(r, H_CLIENT, dnsbuf, n);
	n = dns_msg(dnsbuf, 0x2222, true, 100, 1);             /* BADVERS: rcode 16 from the OPT */
	send_bytes(r, H_SERVER, dnsbuf, n);
	/* A short one is parsed whole. */
	n = dns_msg(dnsbuf, 0x3333, false, 0, 0);
	send_bytes(r, H_CLIENT, dnsbuf, n);
	n = dns_msg(dnsbuf, 0x3333, true, 3, 0);
	send_bytes(r, H_SERVER, dnsbuf, n);
	finish_run(r);
}

static void test_dns_long_response(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 53);
	dns_long(&off);
	run_init(&on, true, 53);
	dns_long(&on);
	assert_int_equal(off.h->n, 3);
	assert_same_entries(&off, &on);
	h_contains(on.h, 0, "\"answers\":150");
	h_contains(on.h, 0, "\"edns\":{\"version\":0,\"udp_size\":1232}");
	h_contains(on.h, 1, "\"rcode\":16");
	h_contains(on.h, 2, "\"answers\":3");
	/* Two messages skipped from their head (the answers an entry shows) to
	 * their last 512 bytes; the segment that straddles each end is copied. */
	assert_int_equal(on.sim.asks, 2);
	assert_true(on.cut > 150 * 211 - 8 * 211 - 512 - 2 * 1448 + 100 * 211 - 8 * 211 - 512 - 2 * 1448);
	assert_int_equal(on.h->stats.capture.skipped_bytes, on.cut);
	assert_int_equal(on.h->stats.memory.reassembly_bytes, 0);
	h_free(off.h);
	h_free(on.h);
}

/* The skip asks from where the stream is, once the head is read, to the message's last 512 bytes. */
static void test_dns_skip_offset(void **state)
{
	(void)state;
	struct run on;
	run_init(&on, true, 53);
	size_t n = dns_msg(dnsbuf, 0x1111, false, 0, 0);
	send_bytes(&on, H_CLIENT, dnsbuf, n);
	uint32_t start = on.h->seq[H_SERVER];
	n = dns_msg(dnsbuf, 0x1111, true, 150, 0);
	send_bytes(&on, H_SERVER, dnsbuf, 2000);                /* the head is in the first 2000 bytes */
	assert_int_equal(on.sim.asks, 1);
	/* The head (length, header, question, 8 shown answers: 1716 bytes) is decided
	 * within the 2000 bytes seen; the range runs from there. */
	assert_int_equal(on.sim.range[1].from, start + 2000);
	assert_int_equal(on.sim.range[1].to, start + n - 512);
	assert_false(on.sim.range[1].all);
	h_free(on.h);
}

/* A segment lost inside a long response: the query fails as for a short one, framing is kept. */
static void dns_hole(struct run *r)
{
	size_t n = dns_msg(dnsbuf, 0x1111, false, 0, 0);
	send_bytes(r, H_CLIENT, dnsbuf, n);
	n = dns_msg(dnsbuf, 0x1111, true, 100, 0);
	uint32_t start = r->h->seq[H_SERVER];
	for (size_t off = 0; off < n; off += 1000) {
		size_t len = n - off < 1000 ? n - off : 1000;
		if (off != 9000)
			seg(r, H_SERVER, start + (uint32_t)off, dnsbuf + off, len);
	}
	r->h->seq[H_SERVER] = start + (uint32_t)n;
	n = dns_msg(dnsbuf, 0x2222, false, 0, 0);
	send_bytes(r, H_CLIENT, dnsbuf, n);                       /* acks past the hole */
	n = dns_msg(dnsbuf, 0x2222, true, 2, 0);
	send_bytes(r, H_SERVER, dnsbuf, n);
	finish_run(r);
}

static void test_dns_hole_in_long_response(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 53);
	dns_hole(&off);
	run_init(&on, true, 53);
	dns_hole(&on);
	assert_same_entries(&off, &on);
	assert_int_equal(on.h->stats.tcp.missed_bytes, 1000);
	assert_int_equal(on.h->n, 2);
	h_contains(on.h, 0, "the capture lost bytes of the stream");
	h_contains(on.h, 1, "\"answers\":2");
	h_free(off.h);
	h_free(on.h);
}

/*
 * With names learned (--names), the head holds up to 32 answers, as many as
 * fit in 4 kB: 600 A records (the first 32 learned either way), then 60 TXT
 * records of which only 19 fit.
 */
static void dns_names(struct run *r)
{
	size_t n = dns_msg_t(dnsbuf, 0x1111, false, 0, 0, 1);
	send_bytes(r, H_CLIENT, dnsbuf, n);
	n = dns_msg_t(dnsbuf, 0x1111, true, 600, 0, 1);
	send_bytes(r, H_SERVER, dnsbuf, n);
	n = dns_msg(dnsbuf, 0x2222, false, 0, 0);
	send_bytes(r, H_CLIENT, dnsbuf, n);
	n = dns_msg(dnsbuf, 0x2222, true, 60, 0);
	send_bytes(r, H_SERVER, dnsbuf, n);
	finish_run(r);
}

static void test_dns_long_with_names(void **state)
{
	(void)state;
	struct run off, on;
	run_init(&off, false, 53);
	off.h->em.names = names_new(1024, &off.h->stats);
	dns_names(&off);
	run_init(&on, true, 53);
	on.h->em.names = names_new(1024, &on.h->stats);
	dns_names(&on);
	assert_int_equal(off.h->n, 2);
	assert_same_entries(&off, &on);
	assert_int_equal(names_count(on.h->em.names), 32);
	assert_int_equal(names_count(off.h->em.names), 32);
	h_contains(on.h, 0, "\"answers\":600");
	h_contains(on.h, 1, "\"answers\":60");
	assert_int_equal(on.sim.asks, 2);              /* each answer's middle */
	names_free(off.h->em.names);
	names_free(on.h->em.names);
	off.h->em.names = on.h->em.names = NULL;
	h_free(off.h);
	h_free(on.h);
}

int main(void)
{
	fill_body();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_downloads),
		cmocka_unit_test(test_hole_and_retransmission_in_skipped_body),
		cmocka_unit_test(test_late_retransmission_fills_skipped_hole),
		cmocka_unit_test(test_kernel_framed_http),
		cmocka_unit_test(test_framing_disagreement_counted),
		cmocka_unit_test(test_redis_bulk_strings),
		cmocka_unit_test(test_unclaimed_flow_headers_only),
		cmocka_unit_test(test_dns_long_response),
		cmocka_unit_test(test_dns_skip_offset),
		cmocka_unit_test(test_dns_hole_in_long_response),
		cmocka_unit_test(test_dns_long_with_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
