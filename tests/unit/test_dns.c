// SPDX-License-Identifier: MIT
/* The DNS dissector on hand-built messages: UDP, TCP framing, names, rcodes, errors. */
#include "dissect_harness.h"

/* ---- building messages ---- */

struct msg {
	uint8_t b[1024];
	size_t len;
};

static void put8(struct msg *m, uint8_t v) { m->b[m->len++] = v; }
static void put16(struct msg *m, uint16_t v) { put8(m, (uint8_t)(v >> 8)); put8(m, (uint8_t)v); }
static void put32(struct msg *m, uint32_t v) { put16(m, (uint16_t)(v >> 16)); put16(m, (uint16_t)v); }

static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		put8(m, (uint8_t)l);
		memcpy(m->b + m->len, name, l);
		m->len += l;
		name += l + (dot ? 1 : 0);
	}
	put8(m, 0);
}

static void header(struct msg *m, uint16_t id, uint8_t flags2, uint8_t flags3, uint16_t qd,
		   uint16_t an, uint16_t ns, uint16_t ar)
{
	m->len = 0;
	put16(m, id);
	put8(m, flags2);
	put8(m, flags3);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

static void query(struct msg *m, uint16_t id, const char *name, uint16_t type)
{
	header(m, id, 0x01, 0x00, 1, 0, 0, 0);   /* RD */
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
}

/* A response echoing the question, with `an` A records pointing at it (0xc00c). */
static void response(struct msg *m, uint16_t id, const char *name, uint16_t type,
		     uint8_t rcode, uint16_t an)
{
	header(m, id, 0x81, (uint8_t)(0x80 | rcode), 1, an, 0, 0);
	put_name(m, name);
	put16(m, type);
	put16(m, 1);
	for (uint16_t i = 0; i < an; i++) {
		put16(m, 0xc00c);
		put16(m, 1);
		put16(m, 1);
		put32(m, 300);
		put16(m, 4);
		put8(m, 198); put8(m, 18); put8(m, 4); put8(m, (uint8_t)(9 + i));
	}
}

/* Append an OPT record (the message's arcount must count it). */
static void put_opt(struct msg *m, uint8_t ext_rcode, uint16_t udp_size)
{
	put8(m, 0);
	put16(m, 41);
	put16(m, udp_size);
	put32(m, (uint32_t)ext_rcode << 24);
	put16(m, 0);
}

static struct harness *udp(void) { return h_new(&dns_dissector, FL_IPPROTO_UDP, 53); }
static struct harness *tcp(void) { return h_new(&dns_dissector, FL_IPPROTO_TCP, 53); }

/* ---- tests ---- */

static void test_udp_query_response(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg q, r;

	query(&q, 0x1234, "ok.test", 1);
	response(&r, 0x1234, "ok.test", 1, 0, 1);
	assert_int_equal(h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0), (ssize_t)q.len);
	assert_int_equal(h->n, 0);
	assert_true(h->ops->pending(h->state));
	assert_int_equal(h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 5), (ssize_t)r.len);
	assert_int_equal(h->n, 1);
	assert_false(h->ops->pending(h->state));
	assert_string_equal(h_str(h, 0, "protocol"), "dns");
	assert_string_equal(h_str(h, 0, "transport"), "udp");
	assert_int_equal(h_int(h, 0, "request.id"), 0x1234);
	h_contains(h, 0, "\"questions\":[{\"name\":\"ok.test\",\"type\":\"A\"}]");
	assert_int_equal(h_int(h, 0, "response.rcode"), 0);
	assert_string_equal(h_str(h, 0, "response.rcode_name"), "NOERROR");
	assert_int_equal(h_int(h, 0, "response.answers"), 1);
	h_contains(h, 0, "\"records\":[{\"name\":\"ok.test\",\"type\":\"A\",\"ttl\":300,"
			 "\"data\":\"198.18.4.9\"}]");
	h_contains(h, 0, "\"elapsed_ms\":5.000");
	assert_true(h_is_null(h, 0, "error"));
	assert_string_equal(h_str(h, 0, "src.ip"), "198.18.4.1");
	assert_int_equal(h_int(h, 0, "dst.port"), 53);
	h_free(h);
}

static void test_every_rcode_name(void **unused)
{
	(void)unused;
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
		"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", "RCODE12", "RCODE13",
		"RCODE14", "RCODE15", "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME",
		"BADALG", "BADTRUNC", "BADCOOKIE", "RCODE24",
	};
	for (unsigned rc = 0; rc < sizeof(names) / sizeof(names[0]); rc++) {
		struct harness *h = udp();
		struct msg q, r;
		query(&q, (uint16_t)rc, "x.test", 1);
		/* Past 15 only EDNS can say it: the OPT TTL holds the upper 8 bits. */
		header(&r, (uint16_t)rc, 0x81, (uint8_t)(0x80 | (rc & 15)), 1, 0, 0, rc > 15);
		put_name(&r, "x.test");
		put16(&r, 1);
		put16(&r, 1);
		if (rc > 15)
			put_opt(&r, (uint8_t)(rc >> 4), 1232);
		h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
		h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 1);
		assert_int_equal(h->n, 1);
		assert_int_equal(h_int(h, 0, "response.rcode"), rc);
		assert_string_equal(h_str(h, 0, "response.rcode_name"), names[rc]);
		assert_true(h_is_null(h, 0, "error"));   /* NXDOMAIN & co are responses */
		h_free(h);
	}
}

static void test_type_names(void **unused)
{
	(void)unused;
	static const struct { uint16_t type; const char *name; } types[] = {
		{ 1, "A" }, { 28, "AAAA" }, { 15, "MX" }, { 5, "CNAME" }, { 16, "TXT" },
		{ 33, "SRV" }, { 65, "HTTPS" }, { 255, "ANY" }, { 257, "CAA" }, { 54, "TYPE54" },
		{ 1234, "TYPE1234" },
	};
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct harness *h = udp();
		struct msg q;
		char want[64];
		query(&q, 7, "t.test", types[i].type);
		h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
		h_end(h, DISSECT_END_CAPTURE, DISSECT_TO_SERVER, 1);
		assert_int_equal(h->n, 1);
		snprintf(want, sizeof(want), "\"type\":\"%s\"", types[i].name);
		h_contains(h, 0, want);
		h_free(h);
	}
}

static void test_edns_and_records(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg q, r;

	query(&q, 9, "www.ok.test", 1);
	/* CNAME www.ok.test -> ok.test (compressed into the question), A of ok.test, OPT. */
	header(&r, 9, 0x81, 0x80, 1, 3, 0, 1);
	put_name(&r, "www.ok.test");             /* at 12; "ok.test" at 16 */
	put16(&r, 1);
	put16(&r, 1);
	put16(&r, 0xc00c); put16(&r, 5); put16(&r, 1); put32(&r, 60); put16(&r, 2);
	put16(&r, 0xc010);                       /* CNAME data: pointer to "ok.test" */
	put16(&r, 0xc010); put16(&r, 1); put16(&r, 1); put32(&r, 60); put16(&r, 4);
	put8(&r, 198); put8(&r, 18); put8(&r, 4); put8(&r, 9);
	put16(&r, 0xc010); put16(&r, 28); put16(&r, 1); put32(&r, 60); put16(&r, 16);
	static const uint8_t v6[16] = { 0xfd, 0x18, 0, 4, [15] = 9 };
	memcpy(r.b + r.len, v6, 16);
	r.len += 16;
	put_opt(&r, 0, 1232);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 1);
	assert_int_equal(h->n, 1);
	assert_int_equal(h_int(h, 0, "response.answers"), 3);
	h_contains(h, 0, "{\"name\":\"www.ok.test\",\"type\":\"CNAME\",\"ttl\":60,\"data\":\"ok.test\"}");
	h_contains(h, 0, "{\"name\":\"ok.test\",\"type\":\"A\",\"ttl\":60,\"data\":\"198.18.4.9\"}");
	h_contains(h, 0, "\"type\":\"AAAA\",\"ttl\":60,\"data\":\"fd18:4::9\"}");
	assert_int_equal(h_int(h, 0, "response.edns.udp_size"), 1232);
	assert_int_equal(h_int(h, 0, "response.edns.version"), 0);
	h_free(h);
}

static void test_name_escapes_and_root(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg q;

	header(&q, 1, 0x01, 0, 1, 0, 0, 0);
	put8(&q, 3); put8(&q, 'a'); put8(&q, '.'); put8(&q, 0x07);
	put8(&q, 4); memcpy(q.b + q.len, "test", 4); q.len += 4;
	put8(&q, 0);
	put16(&q, 2);
	put16(&q, 1);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
	query(&q, 2, "", 2);                     /* the root: ". NS" */
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
	h_end(h, DISSECT_END_CAPTURE, DISSECT_TO_SERVER, 1);
	assert_int_equal(h->n, 2);
	h_contains(h, 0, "\"name\":\"a\\\\.\\\\007.test\"");
	h_contains(h, 1, "\"name\":\".\",\"type\":\"NS\"");
	h_free(h);
}

/* A malformed message is a parser-error naming what and where. */
static void expect_parser_error(struct msg *m, enum dissect_dir dir, const char *what)
{
	struct harness *h = udp();
	assert_int_equal(h_datagram(h, dir, m->b, m->len, 0), (ssize_t)m->len);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "parser-error");
	h_contains(h, 0, what);
	/* UDP goes on: the next datagram is parsed. */
	struct msg q;
	query(&q, 77, "after.test", 1);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 1);
	assert_true(h->ops->pending(h->state));
	h_free(h);
}

static void test_compression_loop(void **unused)
{
	(void)unused;
	struct msg m;
	header(&m, 1, 0x01, 0, 1, 0, 0, 0);
	put16(&m, 0xc00c);                       /* points at itself */
	put16(&m, 1);
	put16(&m, 1);
	expect_parser_error(&m, DISSECT_TO_SERVER,
			    "question 1: compression pointer loop at offset 12");

	/* A label and a pointer back to it: the jumps run out. */
	header(&m, 1, 0x81, 0, 1, 0, 0, 0);
	put8(&m, 1); put8(&m, 'a'); put16(&m, 0xc00c);
	put16(&m, 1);
	put16(&m, 1);
	expect_parser_error(&m, DISSECT_TO_CLIENT,
			    "malformed DNS response: question 1: compression pointer loop at offset 14");

	/* Five 63-byte labels: 320 bytes, past the 255-byte bound. */
	header(&m, 1, 0x01, 0, 1, 0, 0, 0);
	for (int l = 0; l < 5; l++) {
		put8(&m, 63);
		memset(m.b + m.len, 'x', 63);
		m.len += 63;
	}
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	expect_parser_error(&m, DISSECT_TO_SERVER, "name longer than 255 bytes at offset 204");
}

static void test_compression_out_of_bounds(void **unused)
{
	(void)unused;
	struct msg m;
	query(&m, 3, "ok.test", 1);
	m.b[6] = 0; m.b[7] = 1;                  /* one answer */
	put16(&m, 0xc0ff);                       /* past the end */
	put16(&m, 1); put16(&m, 1); put32(&m, 1); put16(&m, 0);
	expect_parser_error(&m, DISSECT_TO_SERVER,
			    "answer 1: compression pointer out of bounds at offset 25");
}

static void test_truncated_messages(void **unused)
{
	(void)unused;
	struct msg m, full;

	m.len = 8;
	memset(m.b, 0, 8);
	expect_parser_error(&m, DISSECT_TO_SERVER, "message shorter than the 12-byte header");

	query(&full, 4, "ok.test", 1);
	m = full;
	m.len -= 3;                              /* type and class cut */
	expect_parser_error(&m, DISSECT_TO_SERVER, "question 1: question cut short");
	m = full;
	m.len = 17;                              /* inside the second label */
	expect_parser_error(&m, DISSECT_TO_SERVER, "label runs past the end of the message at offset 15");
	m.len = 15;                              /* before the second label's length */
	expect_parser_error(&m, DISSECT_TO_SERVER, "name runs past the end of the message at offset 15");

	response(&full, 4, "ok.test", 1, 0, 1);
	m = full;
	m.len -= 2;                              /* A data cut */
	expect_parser_error(&m, DISSECT_TO_CLIENT,
			    "answer 1: record data runs past the end of the message");
	m = full;
	m.b[m.len - 5] = 5;                      /* rdlength 5 for an A record */
	put8(&m, 0);
	expect_parser_error(&m, DISSECT_TO_CLIENT, "A record data is not 4 bytes");
	m = full;
	m.b[7] = 2;                              /* ancount 2, one present */
	expect_parser_error(&m, DISSECT_TO_CLIENT, "answer 2: name runs past the end");
}

static void test_malformed_response_keeps_its_query(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg q, r;

	query(&q, 0x55, "ok.test", 1);
	response(&r, 0x55, "ok.test", 1, 0, 1);
	r.len -= 1;
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 1);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "parser-error");
	h_contains(h, 0, "malformed DNS response: answer 1:");
	assert_int_equal(h_int(h, 0, "request.id"), 0x55);
	assert_false(h->ops->pending(h->state));
	h_free(h);
}

static void test_response_without_query(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg r;

	response(&r, 0x99, "nx.test", 1, 3, 0);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 0);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "half-connection");
	assert_string_equal(h_str(h, 0, "error.reason"), "midstream");
	assert_true(h_is_null(h, 0, "request"));
	assert_string_equal(h_str(h, 0, "response.rcode_name"), "NXDOMAIN");
	h_contains(h, 0, "\"questions\":[{\"name\":\"nx.test\",\"type\":\"A\"}]");
	h_free(h);
}

static void test_query_without_response(void **unused)
{
	(void)unused;
	static const struct { enum dissect_end why; const char *reason; } ends[] = {
		{ DISSECT_END_CAPTURE, "capture-end" },
		{ DISSECT_END_TIMEOUT, "timeout" },
		{ DISSECT_END_EVICTED, "timeout" },
	};
	for (unsigned i = 0; i < 3; i++) {
		struct harness *h = udp();
		struct msg q;
		query(&q, 0x42, "slow.test", 28);
		h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
		h_end(h, ends[i].why, DISSECT_TO_SERVER, 100);
		assert_int_equal(h->n, 1);
		assert_string_equal(h_str(h, 0, "error.type"), "half-connection");
		assert_string_equal(h_str(h, 0, "error.reason"), ends[i].reason);
		assert_true(h_is_null(h, 0, "response"));
		h_contains(h, 0, "\"name\":\"slow.test\",\"type\":\"AAAA\"");
		assert_false(h->ops->pending(h->state));
		h_free(h);
	}
}

static void test_icmp_answers_query(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg q1, q2;

	query(&q1, 0x1111, "a.test", 1);
	query(&q2, 0x2222, "b.test", 1);
	h_datagram(h, DISSECT_TO_SERVER, q1.b, q1.len, 0);
	h_datagram(h, DISSECT_TO_SERVER, q2.b, q2.len, 1);
	struct dissect_icmp icmp = {
		.version = 4, .type = 3, .code = 3, .type_name = "Destination unreachable",
		.code_name = "Port unreachable", .dir = DISSECT_TO_SERVER,
		.quoted_payload = q2.b, .quoted_len = q2.len,
	};
	h->ops->icmp(h->state, &h->ctx, &icmp);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.reason"), "icmp");
	assert_string_equal(h_str(h, 0, "error.message"),
			    "response missing: ICMP Destination unreachable (Port unreachable)");
	assert_int_equal(h_int(h, 0, "request.id"), 0x2222);
	/* No payload quoted: every waiting query is lost. */
	icmp.quoted_len = 0;
	h->ops->icmp(h->state, &h->ctx, &icmp);
	assert_int_equal(h->n, 2);
	assert_int_equal(h_int(h, 1, "request.id"), 0x1111);
	h_free(h);
}

/* A Redirect (or Source Quench) does not say the query was lost: its answer pairs. */
static void test_icmp_redirect_keeps_query(void **unused)
{
	(void)unused;
	static const uint8_t kinds[][2] = { { 5, 1 }, { 4, 0 } };
	for (size_t i = 0; i < 2; i++) {
		struct harness *h = udp();
		struct msg q, r;
		query(&q, 0x3333, "ok.test", 1);
		h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
		struct dissect_icmp icmp = {
			.version = 4, .type = kinds[i][0], .code = kinds[i][1], .type_name = "Redirect",
			.code_name = "Redirect for host", .dir = DISSECT_TO_SERVER,
			.quoted_payload = q.b, .quoted_len = q.len,
		};
		h->ops->icmp(h->state, &h->ctx, &icmp);
		assert_int_equal(h->n, 0);
		assert_true(h->ops->pending(h->state));
		response(&r, 0x3333, "ok.test", 1, 0, 0);
		h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 1);
		assert_int_equal(h->n, 1);
		assert_true(h_is_null(h, 0, "error"));
		assert_int_equal(h_int(h, 0, "request.id"), 0x3333);
		h_free(h);
	}
}

static void test_retry_and_timeout_by_packet_time(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg q, q2, r;

	query(&q, 5, "ok.test", 1);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 1000);   /* the client retries */
	response(&r, 5, "ok.test", 1, 0, 1);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 1002);
	assert_int_equal(h->n, 1);
	h_contains(h, 0, "\"elapsed_ms\":1002.000");

	query(&q, 6, "lost.test", 1);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 2000);
	query(&q2, 7, "later.test", 1);
	h_datagram(h, DISSECT_TO_SERVER, q2.b, q2.len, 2000 + 10001);
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 1, "error.reason"), "timeout");
	assert_int_equal(h_int(h, 1, "request.id"), 6);
	h_free(h);
}

static void test_outstanding_bound(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg q;

	for (uint16_t id = 0; id < 40; id++) {
		query(&q, id, "many.test", 1);
		h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, id);
	}
	assert_int_equal(h->n, 8);               /* 40 - 32 reported early */
	assert_int_equal(h_int(h, 0, "request.id"), 0);
	h_contains(h, 0, "too many queries outstanding");
	h_end(h, DISSECT_END_CAPTURE, DISSECT_TO_SERVER, 100);
	assert_int_equal(h->n, 40);
	h_free(h);
}

static void test_tcp_framing_split(void **unused)
{
	(void)unused;
	struct harness *h = tcp();
	struct msg q1, q2, r1, r2;
	uint8_t wire[600];
	size_t n = 0;

	query(&q1, 0xa1, "one.test", 1);
	query(&q2, 0xa2, "two.test", 1);
	/* Two queries in one segment (dig +keepopen does this). */
	wire[n++] = 0; wire[n++] = (uint8_t)q1.len; memcpy(wire + n, q1.b, q1.len); n += q1.len;
	wire[n++] = 0; wire[n++] = (uint8_t)q2.len; memcpy(wire + n, q2.b, q2.len); n += q2.len;
	assert_int_equal(h_stream(h, DISSECT_TO_SERVER, wire, n, 0), (ssize_t)n);
	assert_true(h->ops->pending(h->state));

	response(&r1, 0xa1, "one.test", 1, 0, 1);
	response(&r2, 0xa2, "two.test", 1, 3, 0);
	n = 0;
	wire[n++] = 0; wire[n++] = (uint8_t)r1.len; memcpy(wire + n, r1.b, r1.len); n += r1.len;
	wire[n++] = 0; wire[n++] = (uint8_t)r2.len; memcpy(wire + n, r2.b, r2.len); n += r2.len;
	/* One byte of the length, then part of the message: nothing consumed yet. */
	assert_int_equal(h_stream(h, DISSECT_TO_CLIENT, wire, 1, 1), 0);
	assert_int_equal(h_stream(h, DISSECT_TO_CLIENT, wire + 1, 10, 2), 0);
	assert_int_equal(h->n, 0);
	/* The rest of the first and part of the second. */
	assert_int_equal(h_stream(h, DISSECT_TO_CLIENT, wire + 11, r1.len - 9 + 5, 3),
			 (ssize_t)(2 + r1.len));
	assert_int_equal(h->n, 1);
	assert_int_equal(h_stream(h, DISSECT_TO_CLIENT, wire + 2 + r1.len + 5,
				  n - 2 - r1.len - 5, 4), (ssize_t)(2 + r2.len));
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 0, "transport"), "tcp");
	assert_string_equal(h_str(h, 0, "response.rcode_name"), "NOERROR");
	assert_string_equal(h_str(h, 1, "response.rcode_name"), "NXDOMAIN");
	assert_int_equal(h_int(h, 1, "request.id"), 0xa2);
	assert_false(h->ops->pending(h->state));
	h_end(h, DISSECT_END_FIN, DISSECT_TO_SERVER, 5);
	assert_int_equal(h->n, 2);
	h_free(h);
}

static void test_tcp_errors(void **unused)
{
	(void)unused;
	struct harness *h = tcp();
	struct msg q, r;
	uint8_t wire[600];

	/* A response cut by the server's FIN: unexpected-eof. */
	query(&q, 0xb1, "cut.test", 1);
	wire[0] = 0; wire[1] = (uint8_t)q.len; memcpy(wire + 2, q.b, q.len);
	h_stream(h, DISSECT_TO_SERVER, wire, q.len + 2, 0);
	response(&r, 0xb1, "cut.test", 1, 0, 1);
	wire[0] = 0; wire[1] = (uint8_t)r.len; memcpy(wire + 2, r.b, r.len);
	assert_int_equal(h_stream(h, DISSECT_TO_CLIENT, wire, 20, 1), 0);
	h_end(h, DISSECT_END_FIN, DISSECT_TO_CLIENT, 2);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "unexpected-eof");
	assert_int_equal(h_int(h, 0, "request.id"), 0xb1);
	h_free(h);

	/* A query reset before its response. */
	h = tcp();
	wire[0] = 0; wire[1] = (uint8_t)q.len; memcpy(wire + 2, q.b, q.len);
	h_stream(h, DISSECT_TO_SERVER, wire, q.len + 2, 0);
	h_end(h, DISSECT_END_RST, DISSECT_TO_CLIENT, 2);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.reason"), "reset");
	assert_string_equal(h_str(h, 0, "error.message"),
			    "response missing: connection reset by server");
	h_free(h);

	/* A malformed TCP message stops the stream (framing cannot be trusted). */
	h = tcp();
	static const uint8_t bad[] = { 0, 5, 1, 2, 3, 4, 5 };
	assert_int_equal(h_stream(h, DISSECT_TO_SERVER, bad, sizeof(bad), 0), -1);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "parser-error");
	h_contains(h, 0, "message shorter than the 12-byte header");
	h_free(h);

	/* A hole: waiting queries are lost. */
	h = tcp();
	wire[0] = 0; wire[1] = (uint8_t)q.len; memcpy(wire + 2, q.b, q.len);
	h_stream(h, DISSECT_TO_SERVER, wire, q.len + 2, 0);
	h->ops->gap(h->state, &h->ctx, DISSECT_TO_CLIENT, 100);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.reason"), "loss");
	h_free(h);

	/*
	 * A hole among the queries after a whole query: that query still waits
	 * and its answer completes it (the server's ACK covering client bytes
	 * never captured, as in Arkime's arkime_synthetic.pcap).
	 */
	h = tcp();
	wire[0] = 0; wire[1] = (uint8_t)q.len; memcpy(wire + 2, q.b, q.len);
	h_stream(h, DISSECT_TO_SERVER, wire, q.len + 2, 0);
	h->ops->gap(h->state, &h->ctx, DISSECT_TO_SERVER, 35);
	response(&r, 0xb1, "cut.test", 1, 0, 1);
	wire[0] = 0; wire[1] = (uint8_t)r.len; memcpy(wire + 2, r.b, r.len);
	h_stream(h, DISSECT_TO_CLIENT, wire, r.len + 2, 1);
	assert_int_equal(h->n, 1);
	assert_true(h_is_null(h, 0, "error"));
	assert_int_equal(h_int(h, 0, "request.id"), 0xb1);
	h_free(h);
}

/*
 * A dynamic UPDATE: its prerequisite "name in use" is a CNAME of class NONE
 * with no data, a deletion an A of class ANY with none: not malformed.
 */
static void test_update_empty_records(void **unused)
{
	(void)unused;
	struct msg q, r;
	struct harness *h = udp();
	header(&q, 0x6919, 0x28, 0x00, 1, 1, 1, 0);   /* opcode 5 */
	put_name(&q, "zone.test");
	put16(&q, 6);
	put16(&q, 1);
	put_name(&q, "host.zone.test");
	put16(&q, 5); put16(&q, 254); put32(&q, 0); put16(&q, 0);
	put_name(&q, "host.zone.test");
	put16(&q, 1); put16(&q, 255); put32(&q, 0); put16(&q, 0);
	header(&r, 0x6919, 0xa8, 0x04, 1, 0, 0, 0);   /* NOTIMP */
	put_name(&r, "zone.test");
	put16(&r, 6);
	put16(&r, 1);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 1);
	assert_int_equal(h->n, 1);
	assert_true(h_is_null(h, 0, "error"));
	assert_string_equal(h_str(h, 0, "request.opcode"), "UPDATE");
	assert_string_equal(h_str(h, 0, "response.rcode_name"), "NOTIMP");
	h_free(h);
}

/* LLMNR: the answer to a multicast query comes by unicast from 5355, on a flow of its own. */
static void test_llmnr_unicast_answer(void **unused)
{
	(void)unused;
	struct msg r;
	struct harness *h = h_new(&dns_dissector, FL_IPPROTO_UDP, 5355);
	response(&r, 0x200c, "mypc", 1, 0, 1);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 0);
	h_end(h, DISSECT_END_CAPTURE, DISSECT_TO_CLIENT, 1);
	assert_int_equal(h->n, 0);
	h_free(h);
}

/* TCP joined midstream: a chunk that does not start with a message is dropped. */
static void test_tcp_midstream_resync(void **unused)
{
	(void)unused;
	struct harness *h = tcp();
	struct msg q, r;
	uint8_t wire[600];

	h_midstream(h);
	static const uint8_t junk[] = { 0x00, 0x05, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',
					'j', 'k', 'l', 'm', 'n' };
	assert_int_equal(h_stream(h, DISSECT_TO_CLIENT, junk, sizeof(junk), 0), sizeof(junk));
	assert_int_equal(h->n, 0);
	response(&r, 0xc1, "early.test", 1, 0, 1);       /* its query was before the capture */
	wire[0] = 0; wire[1] = (uint8_t)r.len; memcpy(wire + 2, r.b, r.len);
	h_stream(h, DISSECT_TO_CLIENT, wire, r.len + 2, 1);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.reason"), "midstream");
	query(&q, 0xc2, "next.test", 1);
	wire[0] = 0; wire[1] = (uint8_t)q.len; memcpy(wire + 2, q.b, q.len);
	h_stream(h, DISSECT_TO_SERVER, wire, q.len + 2, 2);
	response(&r, 0xc2, "next.test", 1, 0, 1);
	wire[0] = 0; wire[1] = (uint8_t)r.len; memcpy(wire + 2, r.b, r.len);
	h_stream(h, DISSECT_TO_CLIENT, wire, r.len + 2, 3);
	assert_int_equal(h->n, 2);
	assert_true(h_is_null(h, 1, "error"));
	assert_int_equal(h_int(h, 1, "request.id"), 0xc2);
	h_free(h);
}

/* mDNS: queries go unanswered on their flow and answers come unasked; no entries. */
static void test_mdns_is_quiet(void **unused)
{
	(void)unused;
	static const char *const groups[] = { "224.0.0.251", "ff02::fb" };
	for (size_t i = 0; i < 2; i++) {
		struct harness *h = h_new(&dns_dissector, FL_IPPROTO_UDP, 5353);
		struct msg q, r;

		addr_parse(&h->ctx.server.addr, groups[i]);
		h_midstream(h);   /* re-create the state: mDNS is judged in new() from the endpoints */
		query(&q, 0, "printer.local", 12);
		response(&r, 0, "other.local", 1, 0, 1);
		h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
		h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 1);
		h_end(h, DISSECT_END_CAPTURE, DISSECT_TO_SERVER, 2);
		assert_int_equal(h->n, 0);
		h_free(h);
	}
}

/* Port 5353 alone is not mDNS: a unicast query to a DNS server there is DNS. */
static void test_unicast_5353_is_dns(void **unused)
{
	(void)unused;
	struct harness *h = h_new(&dns_dissector, FL_IPPROTO_UDP, 5353);
	struct msg q;

	query(&q, 9, "ok.test", 1);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
	struct dissect_icmp icmp = {
		.version = 4, .type = 3, .code = 3, .type_name = "Destination unreachable",
		.code_name = "Port unreachable", .dir = DISSECT_TO_SERVER,
		.quoted_payload = q.b, .quoted_len = q.len,
	};
	h->ops->icmp(h->state, &h->ctx, &icmp);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "half-connection");
	assert_string_equal(h_str(h, 0, "error.reason"), "icmp");
	h_free(h);
}

/* NetBIOS name service and broadcast queries: unanswered is normal, answered pairs. */
static void test_broadcast_unanswered_is_quiet(void **unused)
{
	(void)unused;
	static const struct {
		const char *server;
		uint16_t port;
	} cases[] = { { "198.18.4.255", 137 }, { "255.255.255.255", 53 } };
	for (size_t i = 0; i < 2; i++) {
		struct harness *h = h_new(&dns_dissector, FL_IPPROTO_UDP, cases[i].port);
		struct msg q, q2, r;

		addr_parse(&h->ctx.server.addr, cases[i].server);
		h_midstream(h);
		query(&q, 1, "NOBODY", 32);
		h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
		query(&q2, 2, "SOMEBODY", 32);
		h_datagram(h, DISSECT_TO_SERVER, q2.b, q2.len, 1);
		response(&r, 2, "SOMEBODY", 32, 0, 1);
		h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 2);
		response(&r, 7, "UNASKED", 32, 0, 1);
		h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 3);
		h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 20000);   /* expires the first */
		h_end(h, DISSECT_END_CAPTURE, DISSECT_TO_SERVER, 20001);
		assert_int_equal(h->n, 1);
		assert_int_equal(h_int(h, 0, "request.id"), 2);
		assert_true(h_is_null(h, 0, "error"));
		h_free(h);
	}
}

/* A client retrying one query that gets several answers: one exchange with dns.retries. */
static void test_retries_answered_twice(void **unused)
{
	(void)unused;
	struct harness *h = udp();
	struct msg q, r;

	query(&q, 0x77, "slow.test", 1);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 0);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 1000);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 2000);
	response(&r, 0x77, "slow.test", 1, 0, 1);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 2500);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 3500);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 4500);
	assert_int_equal(h->n, 1);
	assert_true(h_is_null(h, 0, "error"));
	assert_int_equal(h_int(h, 0, "dns.retries"), 2);
	h_contains(h, 0, "\"elapsed_ms\":2500.000");
	/* one answer more than the retries is news again */
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 5000);
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 1, "error.reason"), "midstream");
	/* the same id with another question is no retry */
	struct msg other;
	query(&q, 0x78, "a.test", 1);
	query(&other, 0x78, "b.test", 1);
	h_datagram(h, DISSECT_TO_SERVER, q.b, q.len, 6000);
	h_datagram(h, DISSECT_TO_SERVER, other.b, other.len, 6001);
	response(&r, 0x78, "a.test", 1, 0, 1);
	h_datagram(h, DISSECT_TO_CLIENT, r.b, r.len, 6002);
	assert_int_equal(h->n, 3);
	assert_int_equal(h_node(h, 2, "dns"), DOC_NONE);
	h_free(h);
}

/* Random mutations of valid messages, over UDP and TCP in random chunks: never a crash. */
static void test_random_input(void **unused)
{
	(void)unused;
	uint32_t seed = 777;
	for (int round = 0; round < 6000; round++) {
		bool over_tcp = round & 1;
		struct harness *h = over_tcp ? tcp() : udp();
		struct msg m;
		uint8_t wire[1100];
		if (round % 3 == 0)
			query(&m, 1, "www.example.test", 28);
		else
			response(&m, 1, "ok.test", 1, (uint8_t)(round % 16), (uint16_t)(round % 4));
		if (round % 4 == 0) {
			header(&m, 1, 0x81, 0, 1, 1, 0, 1);
			put16(&m, 0xc00c);
			put16(&m, 1); put16(&m, 1);
			put16(&m, 0xc00c); put16(&m, 5); put16(&m, 1); put32(&m, 1); put16(&m, 2);
			put16(&m, 0xc00c);
			put_opt(&m, 1, 512);
		}
		for (int k = 0; k < 1 + round % 5; k++) {
			seed = seed * 1103515245 + 12345;
			m.b[(seed >> 8) % m.len] = (uint8_t)(seed >> 16);
		}
		seed = seed * 1103515245 + 12345;
		if ((seed >> 16) % 3 == 0)
			m.len = (seed >> 4) % (m.len + 1);
		if (!over_tcp) {
			h_datagram(h, (seed >> 3) & 1 ? DISSECT_TO_SERVER : DISSECT_TO_CLIENT, m.b, m.len, 0);
		} else {
			wire[0] = (uint8_t)(m.len >> 8);
			wire[1] = (uint8_t)m.len;
			memcpy(wire + 2, m.b, m.len);
			if (round % 8 == 1)
				h_midstream(h);
			for (size_t off = 0; off < m.len + 2;) {
				seed = seed * 1103515245 + 12345;
				size_t chunk = 1 + (seed >> 16) % 40;
				if (chunk > m.len + 2 - off)
					chunk = m.len + 2 - off;
				if (h_stream(h, DISSECT_TO_CLIENT, wire + off, chunk, off) < 0)
					break;
				off += chunk;
			}
		}
		h_end(h, (enum dissect_end)(1 + round % 5), DISSECT_TO_CLIENT, 1);
		h_free(h);
	}
}

static void test_probe(void **unused)
{
	(void)unused;
	struct msg q, r;
	uint8_t wire[600];
	const struct dissector_ops *ops = &dns_dissector;

	query(&q, 0x1234, "ok.test", 1);
	response(&r, 0x1234, "ok.test", 1, 0, 1);
	assert_int_equal(ops->probe(q.b, q.len, DISSECT_TO_SERVER, false), DISSECT_PROBE_YES);
	assert_int_equal(ops->probe(r.b, r.len, DISSECT_TO_CLIENT, false), DISSECT_PROBE_YES);
	assert_int_equal(ops->probe(q.b, q.len, DISSECT_TO_CLIENT, false), DISSECT_PROBE_NO);
	wire[0] = 0; wire[1] = (uint8_t)q.len; memcpy(wire + 2, q.b, q.len);
	assert_int_equal(ops->probe(wire, q.len + 2, DISSECT_TO_SERVER, false), DISSECT_PROBE_YES);
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(ops->probe((const uint8_t *)http, sizeof(http) - 1, DISSECT_TO_SERVER,
				    false), DISSECT_PROBE_NO);
	assert_int_equal(ops->probe(q.b, 5, DISSECT_TO_SERVER, true), DISSECT_PROBE_MAYBE);
	/*
	 * A DHCP LEASEQUERY (op 1, htype 1, hlen 6, hops 1, xid 1, zeros): read
	 * with a 2-byte length first it looks like a query for "." of type 0,
	 * class 0, which no resolver asks.  Not DNS.
	 */
	uint8_t dhcp[300] = { 1, 1, 6, 1, 0, 0, 0, 1 };
	dhcp[236] = 99; dhcp[237] = 130; dhcp[238] = 83; dhcp[239] = 99;
	dhcp[240] = 53; dhcp[241] = 1; dhcp[242] = 10; dhcp[243] = 255;
	assert_int_equal(ops->probe(dhcp, sizeof(dhcp), DISSECT_TO_SERVER, false), DISSECT_PROBE_NO);
	assert_int_equal(ops->probe(dhcp, sizeof(dhcp), DISSECT_TO_CLIENT, false), DISSECT_PROBE_NO);
	/* A query for "." (dig . NS) is one. */
	query(&q, 0x4321, "", 2);
	assert_int_equal(ops->probe(q.b, q.len, DISSECT_TO_SERVER, false), DISSECT_PROBE_YES);
	assert_true(ops->port_hint(53));
	assert_false(ops->port_hint(80));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_query_response),
		cmocka_unit_test(test_llmnr_unicast_answer),
		cmocka_unit_test(test_update_empty_records),
		cmocka_unit_test(test_every_rcode_name),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_edns_and_records),
		cmocka_unit_test(test_name_escapes_and_root),
		cmocka_unit_test(test_compression_loop),
		cmocka_unit_test(test_compression_out_of_bounds),
		cmocka_unit_test(test_truncated_messages),
		cmocka_unit_test(test_malformed_response_keeps_its_query),
		cmocka_unit_test(test_response_without_query),
		cmocka_unit_test(test_query_without_response),
		cmocka_unit_test(test_icmp_answers_query),
		cmocka_unit_test(test_icmp_redirect_keeps_query),
		cmocka_unit_test(test_retry_and_timeout_by_packet_time),
		cmocka_unit_test(test_outstanding_bound),
		cmocka_unit_test(test_tcp_framing_split),
		cmocka_unit_test(test_tcp_errors),
		cmocka_unit_test(test_tcp_midstream_resync),
		cmocka_unit_test(test_mdns_is_quiet),
		cmocka_unit_test(test_unicast_5353_is_dns),
		cmocka_unit_test(test_broadcast_unanswered_is_quiet),
		cmocka_unit_test(test_retries_answered_twice),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
