// SPDX-License-Identifier: MIT
/* The Redis dissector on hand-built RESP2/RESP3: every type, pipelining, errors. */
#include "dissect_harness.h"

static struct harness *conn(void) { return h_new(&redis_dissector, FL_IPPROTO_TCP, 6379); }

#define TO_S DISSECT_TO_SERVER
#define TO_C DISSECT_TO_CLIENT

/* One command, one reply; returns the harness with the entry (or entries). */
static struct harness *exchange(const char *cmd, const char *reply)
{
	struct harness *h = conn();
	assert_int_equal(h_streams(h, TO_S, cmd, 0), (ssize_t)strlen(cmd));
	assert_int_equal(h_streams(h, TO_C, reply, 2), (ssize_t)strlen(reply));
	return h;
}

static void test_set_get(void **unused)
{
	(void)unused;
	struct harness *h = exchange("*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$3\r\nbar\r\n", "+OK\r\n");
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "protocol"), "redis");
	assert_string_equal(h_str(h, 0, "request.command"), "SET");
	h_contains(h, 0, "\"args\":[\"foo\",\"bar\"],\"args_count\":2");
	h_contains(h, 0, "\"response\":{\"type\":\"simple\",\"value\":\"OK\"}");
	h_contains(h, 0, "\"elapsed_ms\":2.000");
	assert_true(h_is_null(h, 0, "error"));
	assert_false(h->ops->pending(h->state));
	h_free(h);

	/* Repairs show on the exchange that was open when they happened, not on the next. */
	h = conn();
	h->ctx.tcp.retransmissions = 1;        /* before the command: nobody's */
	h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 0);
	h->ctx.tcp.retransmissions = 3;
	h_streams(h, TO_C, "+PONG\r\n", 1);
	h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 2);
	h_streams(h, TO_C, "+PONG\r\n", 3);
	assert_int_equal(h->n, 2);
	h_contains(h, 0, "\"tcp\":{\"retransmissions\":2}");
	assert_int_equal(h_node(h, 1, "tcp"), DOC_NONE);
	h_free(h);
}

struct reply_case {
	const char *reply;
	const char *json;       /* expected "response" member */
};

/* Every reply type, RESP2 and RESP3, each answering a GET. */
static void test_reply_types(void **unused)
{
	(void)unused;
	static const struct reply_case cases[] = {
		{ "+PONG\r\n", "{\"type\":\"simple\",\"value\":\"PONG\"}" },
		{ "-ERR value is not an integer or out of range\r\n",
		  "{\"type\":\"error\",\"value\":\"ERR value is not an integer or out of range\"}" },
		{ ":-42\r\n", "{\"type\":\"integer\",\"value\":-42}" },
		{ "$5\r\nhello\r\n", "{\"type\":\"bulk\",\"value\":\"hello\",\"length\":5}" },
		{ "$0\r\n\r\n", "{\"type\":\"bulk\",\"value\":\"\",\"length\":0}" },
		{ "$-1\r\n", "{\"type\":\"null\",\"value\":null}" },
		{ "*-1\r\n", "{\"type\":\"null\",\"value\":null}" },
		{ "*0\r\n", "{\"type\":\"array\",\"value\":[],\"count\":0}" },
		{ "*3\r\n$1\r\nc\r\n:2\r\n$-1\r\n",
		  "{\"type\":\"array\",\"value\":[\"c\",2,null],\"count\":3}" },
		{ "_\r\n", "{\"type\":\"null\",\"value\":null}" },
		{ ",3.5\r\n", "{\"type\":\"double\",\"value\":3.500}" },
		{ ",inf\r\n", "{\"type\":\"double\",\"value\":\"inf\"}" },
		{ "#t\r\n", "{\"type\":\"boolean\",\"value\":true}" },
		{ "#f\r\n", "{\"type\":\"boolean\",\"value\":false}" },
		{ "(3492890328409238509324850943850943825024385\r\n",
		  "{\"type\":\"big_number\",\"value\":\"3492890328409238509324850943850943825024385\"}" },
		{ "=15\r\ntxt:Some string\r\n",
		  "{\"type\":\"verbatim\",\"value\":\"Some string\",\"length\":15}" },
		{ "!21\r\nSYNTAX invalid syntax\r\n",
		  "{\"type\":\"blob_error\",\"value\":\"SYNTAX invalid syntax\",\"length\":21}" },
		{ "%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n#f\r\n",
		  "{\"type\":\"map\",\"value\":{\"first\":1,\"second\":false},\"count\":2}" },
		{ "~2\r\n+a\r\n+b\r\n", "{\"type\":\"set\",\"value\":[\"a\",\"b\"],\"count\":2}" },
		/* An attribute before the reply is read and skipped. */
		{ "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:7\r\n",
		  "{\"type\":\"array\",\"value\":[7],\"count\":1}" },
		/* Nested aggregates show as their type and count. */
		{ "*2\r\n*2\r\n:1\r\n:2\r\n%1\r\n+k\r\n*1\r\n:3\r\n",
		  "{\"type\":\"array\",\"value\":[{\"type\":\"array\",\"count\":2},"
		  "{\"type\":\"map\",\"count\":1}],\"count\":2}" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct harness *h = exchange("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", cases[i].reply);
		char want[512];
		if (h->n != 1)
			fail_msg("case %u (%s): %u entries", i, cases[i].reply, h->n);
		snprintf(want, sizeof(want), "\"response\":%s,", cases[i].json);
		h_contains(h, 0, want);
		assert_true(h_is_null(h, 0, "error"));
		h_free(h);
	}
}

/* Feed a command and its reply one byte at a time: the same entry. */
static void test_byte_at_a_time(void **unused)
{
	(void)unused;
	static const char cmd[] = "*3\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n$3\r\nabc\r\n";
	static const char reply[] = "*2\r\n$3\r\nabc\r\n*1\r\n%1\r\n+k\r\n_\r\n";
	struct harness *h = conn();
	for (size_t i = 0; i < sizeof(cmd) - 1; i++)
		assert_int_equal(h_stream(h, TO_S, cmd + i, 1, 0), 1);
	for (size_t i = 0; i < sizeof(reply) - 1; i++) {
		assert_int_equal(h->n, 0);
		assert_int_equal(h_stream(h, TO_C, reply + i, 1, 1), 1);
	}
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "request.command"), "LPUSH");
	h_contains(h, 0, "\"value\":[\"abc\",{\"type\":\"array\",\"count\":1}],\"count\":2");
	h_free(h);
}

static void test_pipelining(void **unused)
{
	(void)unused;
	struct harness *h = conn();
	h_streams(h, TO_S, "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
			   "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n"
			   "*2\r\n$4\r\nINCR\r\n$1\r\ns\r\n", 0);
	assert_true(h->ops->pending(h->state));
	h_streams(h, TO_C, "+OK\r\n:2\r\n-ERR value is not an integer or out of range\r\n", 1);
	assert_int_equal(h->n, 3);
	assert_string_equal(h_str(h, 0, "request.command"), "SET");
	assert_string_equal(h_str(h, 1, "request.command"), "INCR");
	assert_int_equal(h_int(h, 1, "response.value"), 2);
	assert_string_equal(h_str(h, 2, "response.type"), "error");
	assert_true(h_is_null(h, 2, "error"));   /* -ERR is a response, not an entry error */
	assert_false(h->ops->pending(h->state));
	h_free(h);
}

static void test_inline_commands(void **unused)
{
	(void)unused;
	struct harness *h = conn();
	h_streams(h, TO_S, "PING\r\n\r\nset k \"hello world\"\r\nget k\n", 0);
	h_streams(h, TO_C, "+PONG\r\n+OK\r\n$11\r\nhello world\r\n", 1);
	assert_int_equal(h->n, 3);
	assert_string_equal(h_str(h, 0, "request.command"), "PING");
	h_contains(h, 0, "\"args\":[],\"args_count\":0");
	h_contains(h, 1, "\"command\":\"SET\",\"args\":[\"k\",\"hello world\"],\"args_count\":2");
	h_contains(h, 2, "\"command\":\"GET\",\"args\":[\"k\"]");
	h_contains(h, 2, "\"value\":\"hello world\"");
	h_free(h);

	/* A bare LF after a command is an empty inline line (found by test_random_input). */
	h = conn();
	h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 0);
	h_streams(h, TO_S, "\n", 0);
	h_streams(h, TO_C, "+PONG\r\n", 1);
	assert_int_equal(h->n, 1);
	assert_false(h->ops->pending(h->state));
	h_free(h);
}

static void test_passwords_redacted(void **unused)
{
	(void)unused;
	struct harness *h = conn();
	h_streams(h, TO_S, "*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$6\r\nsecret\r\n"
			   "*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nauth\r\n$1\r\nu\r\n$2\r\npw\r\n"
			   "AUTH inlinesecret\r\n", 0);
	h_streams(h, TO_C, "+OK\r\n%0\r\n+OK\r\n", 1);
	assert_int_equal(h->n, 3);
	h_contains(h, 0, "\"args\":[\"(redacted)\",\"(redacted)\"],\"args_count\":2");
	h_contains(h, 1, "\"args\":[\"3\",\"auth\",\"(redacted)\",\"(redacted)\"]");
	h_contains(h, 2, "\"args\":[\"(redacted)\"]");
	for (unsigned i = 0; i < 3; i++)
		assert_null(strstr(h->json[i], "secret"));
	h_free(h);
}

static void test_args_bounded(void **unused)
{
	(void)unused;
	struct harness *h = conn();
	char big[200];
	memset(big, 'v', 100);
	h_streams(h, TO_S, "*21\r\n$5\r\nRPUSH\r\n", 0);
	for (int i = 0; i < 20; i++) {
		h_streams(h, TO_S, "$100\r\n", 0);
		h_stream(h, TO_S, big, 100, 0);
		h_streams(h, TO_S, "\r\n", 0);
	}
	h_streams(h, TO_C, ":20\r\n", 1);
	assert_int_equal(h->n, 1);
	assert_int_equal(h_int(h, 0, "request.args_count"), 20);
	uint32_t args = h_node(h, 0, "request.args");
	assert_int_equal(h->docs[0].nodes[args].v.kids.count, 8);
	size_t len;
	doc_str(&h->docs[0], doc_index(&h->docs[0], args, 0), &len);
	assert_int_equal(len, 64);
	h_free(h);
}

/* A large bulk payload is counted through, never held. */
static void test_large_bulk_streamed(void **unused)
{
	(void)unused;
	struct harness *h = conn();
	char chunk[4000];
	memset(chunk, 'x', sizeof(chunk));
	h_streams(h, TO_S, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n", 0);
	h_streams(h, TO_C, "$1000000\r\n", 1);
	for (int i = 0; i < 250; i++)
		assert_int_equal(h_stream(h, TO_C, chunk, sizeof(chunk), 1), (ssize_t)sizeof(chunk));
	assert_int_equal(h->n, 0);
	/* A hole inside the payload only shortens it. */
	h_streams(h, TO_C, "\r", 2);
	assert_int_equal(h->n, 0);
	h_streams(h, TO_C, "\n", 2);
	assert_int_equal(h->n, 1);
	assert_int_equal(h_int(h, 0, "response.length"), 1000000);
	size_t len;
	doc_str(&h->docs[0], h_node(h, 0, "response.value"), &len);
	assert_int_equal(len, 128);
	h_free(h);

	h = conn();
	h_streams(h, TO_S, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n", 0);
	h_streams(h, TO_C, "$10000\r\nabc", 1);
	h->ops->gap(h->state, &h->ctx, TO_C, 9000);
	h_stream(h, TO_C, chunk, 997, 1);
	h_streams(h, TO_C, "\r\n", 1);
	assert_int_equal(h->n, 1);
	assert_true(h_is_null(h, 0, "error"));
	/* A hole anywhere else loses the framing: what waits is lost. */
	h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 3);
	h->ops->gap(h->state, &h->ctx, TO_C, 10);
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 1, "error.reason"), "loss");
	h_free(h);
}

static void expect_parser_error(const char *cmd, const char *reply, const char *what)
{
	struct harness *h = conn();
	ssize_t rc = h_streams(h, TO_S, cmd, 0);
	if (rc >= 0 && reply)
		rc = h_streams(h, TO_C, reply, 1);
	assert_int_equal(rc, -1);
	if (h->n != 1)
		fail_msg("%s / %s: %u entries", cmd, reply ? reply : "", h->n);
	assert_string_equal(h_str(h, 0, "error.type"), "parser-error");
	h_contains(h, 0, what);
	h_end(h, DISSECT_END_FIN, TO_S, 2);     /* nothing more after a parser-error */
	assert_int_equal(h->n, 1);
	h_free(h);
}

static void test_malformed(void **unused)
{
	(void)unused;
	static const char get[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	expect_parser_error(get, "?what\r\n", "unknown type byte '?' at offset 0");
	expect_parser_error(get, "$3\r\nabcd\r\n", "bulk not ended by CRLF at offset 7");
	expect_parser_error(get, ":12a\r\n", "invalid integer at offset 0");
	expect_parser_error(get, "+OK\n", "line not ended by CRLF");
	expect_parser_error(get, "$-5\r\n", "invalid length of a bulk");
	expect_parser_error(get, "#x\r\n", "invalid boolean");
	expect_parser_error(get, "_1\r\n", "null with a value");
	expect_parser_error(get, "*2\r\n:1\r\n\r\n", "empty line at offset 8");
	expect_parser_error("*2\r\n$3\r\nGET\r\n:1\r\n", NULL,
			    "RESP protocol error in the commands: expected a bulk string in a "
			    "command, got ':' at offset 13");
	/* Too deep: 17 nested arrays. */
	char deep[128] = "";
	for (int i = 0; i < 17; i++)
		strcat(deep, "*1\r\n");
	expect_parser_error(get, deep, "aggregates nested deeper than 16 at offset 64");
	/* The reply's parser-error names the command it answered. */
	struct harness *h = exchange(get, "+OK\r\n");
	h_streams(h, TO_S, get, 3);
	assert_int_equal(h_streams(h, TO_C, "~x\r\n", 4), -1);
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 1, "request.command"), "GET");
	h_contains(h, 1, "invalid count of a set at offset 5");
	h_free(h);
	/* A line that never ends. */
	h = conn();
	char junk[4000];
	memset(junk, 'a', sizeof(junk));
	ssize_t rc = 0;
	for (int i = 0; i < 20 && rc >= 0; i++)
		rc = h_stream(h, TO_S, junk, sizeof(junk), 0);
	assert_int_equal(rc, -1);
	h_contains(h, 0, "line longer than 65536 bytes");
	h_free(h);
}

static void test_unexpected_eof_and_half_connections(void **unused)
{
	(void)unused;
	/* Closed in the middle of a reply. */
	struct harness *h = exchange("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "$100\r\nabc");
	assert_true(h->ops->pending(h->state));
	h_end(h, DISSECT_END_FIN, TO_C, 3);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "unexpected-eof");
	assert_string_equal(h_str(h, 0, "request.command"), "GET");
	h_contains(h, 0, "\"response\":{\"type\":\"bulk\",\"length\":100}");
	h_free(h);

	/* Closed in the middle of a command. */
	h = conn();
	h_streams(h, TO_S, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc", 0);
	h_end(h, DISSECT_END_RST, TO_S, 1);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.type"), "unexpected-eof");
	h_contains(h, 0, "\"command\":\"SET\",\"args\":[\"k\"],\"args_count\":2");
	h_free(h);

	/* Commands without replies, by how the stream ended. */
	static const struct { enum dissect_end why; const char *reason, *message; } ends[] = {
		{ DISSECT_END_FIN, "closed", "response missing: connection closed by server" },
		{ DISSECT_END_RST, "reset", "response missing: connection reset by server" },
		{ DISSECT_END_TIMEOUT, "timeout", "response missing: stream idle for 10000 ms" },
		{ DISSECT_END_CAPTURE, "capture-end", "response missing: capture ended" },
	};
	for (unsigned i = 0; i < 4; i++) {
		h = conn();
		h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", 0);
		h_end(h, ends[i].why, TO_C, 5);
		assert_int_equal(h->n, 2);
		assert_string_equal(h_str(h, 1, "error.type"), "half-connection");
		assert_string_equal(h_str(h, 1, "error.reason"), ends[i].reason);
		assert_string_equal(h_str(h, 1, "error.message"), ends[i].message);
		assert_false(h->ops->pending(h->state));
		h_free(h);
	}

	/* A reply without its command: joined midstream. */
	h = conn();
	h_streams(h, TO_C, ":5\r\n", 0);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.reason"), "midstream");
	assert_true(h_is_null(h, 0, "request"));
	h_free(h);

	/* An ICMP error ends what waits. */
	h = conn();
	h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 0);
	struct dissect_icmp icmp = { .version = 6, .type = 1, .code = 4, .dir = TO_S };
	h->ops->icmp(h->state, &h->ctx, &icmp);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.reason"), "icmp");
	assert_string_equal(h_str(h, 0, "error.message"), "response missing: ICMPv6 type 1 code 4");
	h_free(h);
}

static void test_pubsub(void **unused)
{
	(void)unused;
	struct harness *h = conn();
	h_streams(h, TO_S, "*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n", 0);
	h_streams(h, TO_C, "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
			   "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
			   "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n", 1);
	assert_int_equal(h->n, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_true(h_is_null(h, i, "error"));
	assert_string_equal(h_str(h, 0, "request.command"), "SUBSCRIBE");
	assert_true(h_is_null(h, 2, "request"));
	h_free(h);

	/* RESP3: a push is nobody's reply. */
	h = conn();
	h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 0);
	h_streams(h, TO_C, ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n+PONG\r\n", 1);
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 0, "response.type"), "push");
	assert_true(h_is_null(h, 0, "error"));
	assert_string_equal(h_str(h, 1, "request.command"), "PING");
	h_free(h);
}

/* Deeper pipelines than the FIFO keeps: every reply still gets its entry. */
static void test_fifo_bound(void **unused)
{
	(void)unused;
	struct harness *h = conn();
	for (int i = 0; i < 300; i++)
		h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 0);
	for (int i = 0; i < 300; i++)
		h_streams(h, TO_C, "+PONG\r\n", 1);
	assert_int_equal(h->n, 300);
	for (unsigned i = 0; i < 300; i++)
		assert_true(h_is_null(h, i, "error"));
	assert_string_equal(h_str(h, 126, "request.command"), "PING");
	h_contains(h, 299, "\"unrecorded\":true");
	assert_false(h->ops->pending(h->state));
	h_free(h);
}

/* Joined midstream: false starts are dropped quietly until a message parses. */
static void test_midstream_resync(void **unused)
{
	(void)unused;
	struct harness *h = conn();
	h_midstream(h);
	h_streams(h, TO_C, "lue of the previous reply\r\n", 0);
	h_streams(h, TO_C, ":12x\r\n", 0);               /* looks like a start, is not */
	assert_int_equal(h->n, 0);
	h_streams(h, TO_C, "+OK\r\n", 1);                /* a reply whose command was missed */
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.reason"), "midstream");
	h_streams(h, TO_S, "ET k v\r\n", 2);             /* the tail of a command */
	h_streams(h, TO_S, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 3);
	h_streams(h, TO_C, "$1\r\nv\r\n", 4);
	assert_int_equal(h->n, 2);
	assert_string_equal(h_str(h, 1, "request.command"), "GET");
	assert_true(h_is_null(h, 1, "error"));
	/* Synchronised: garbage is a parser-error again. */
	h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 5);
	assert_int_equal(h_streams(h, TO_C, "?\r\n", 6), -1);
	assert_string_equal(h_str(h, 2, "error.type"), "parser-error");
	h_free(h);

	/* After a hole: what waited is lost, replies to lost commands are not reported. */
	h = conn();
	h_streams(h, TO_S, "*1\r\n$4\r\nPING\r\n", 0);
	h_streams(h, TO_C, "+PO", 1);
	h->ops->gap(h->state, &h->ctx, TO_C, 50);
	assert_int_equal(h->n, 1);
	assert_string_equal(h_str(h, 0, "error.reason"), "loss");
	h_streams(h, TO_C, "NG\r\n", 2);                 /* dropped: not a start */
	h_streams(h, TO_C, "+PONG\r\n", 2);              /* a reply to a command in the hole */
	assert_int_equal(h->n, 1);
	h_streams(h, TO_S, "*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n", 3);
	h_streams(h, TO_C, "$1\r\nx\r\n", 4);
	assert_int_equal(h->n, 2);
	assert_true(h_is_null(h, 1, "error"));
	h_end(h, DISSECT_END_FIN, TO_S, 5);
	assert_int_equal(h->n, 2);
	h_free(h);
}

/* Random bytes and random mutations of valid traffic, in random chunks: never a crash. */
static void test_random_input(void **unused)
{
	(void)unused;
	static const char valid[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
				    "%2\r\n+a\r\n*2\r\n:1\r\n_\r\n$2\r\nxy\r\n|1\r\n+k\r\n+v\r\n#t\r\n";
	uint32_t seed = 12345;
	for (int round = 0; round < 5000; round++) {
		struct harness *h = conn();
		uint8_t buf[256];
		size_t n = sizeof(valid) - 1;
		memcpy(buf, valid, n);
		for (int k = 0; k < 1 + round % 6; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % n] = (uint8_t)(seed >> 16);
		}
		if (round % 5 == 0) {
			for (size_t i = 0; i < n; i++) {
				seed = seed * 1103515245 + 12345;
				buf[i] = (uint8_t)(seed >> 16);
			}
		}
		if (round % 7 == 0)
			h_midstream(h);
		for (size_t off = 0; off < n;) {
			seed = seed * 1103515245 + 12345;
			size_t chunk = 1 + (seed >> 16) % 17;
			if (chunk > n - off)
				chunk = n - off;
			if (h_stream(h, (seed >> 4) & 1 ? TO_S : TO_C, buf + off, chunk, off) < 0)
				break;
			off += chunk;
		}
		h_end(h, (enum dissect_end)(1 + round % 5), TO_C, 1000);
		h_free(h);
	}
}

static void test_probe(void **unused)
{
	(void)unused;
	const struct dissector_ops *ops = &redis_dissector;
#define P(s, dir, hint) ops->probe((const uint8_t *)(s), strlen(s), dir, hint)
	assert_int_equal(P("*1\r\n$4\r\nPING\r\n", TO_S, false), DISSECT_PROBE_YES);
	assert_int_equal(P("*1\r", TO_S, false), DISSECT_PROBE_MAYBE);
	assert_int_equal(P("GET / HTTP/1.1\r\n", TO_S, false), DISSECT_PROBE_NO);
	assert_int_equal(P("PING\r\n", TO_S, true), DISSECT_PROBE_YES);
	assert_int_equal(P("+OK\r\n", TO_C, true), DISSECT_PROBE_YES);
	assert_int_equal(P("+OK POP3 ready\r\n", TO_C, false), DISSECT_PROBE_NO);
	assert_int_equal(P("\x16\x03\x01", TO_S, true), DISSECT_PROBE_NO);
#undef P
	assert_true(ops->port_hint(6379));
	assert_false(ops->port_hint(53));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get),
		cmocka_unit_test(test_reply_types),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_inline_commands),
		cmocka_unit_test(test_passwords_redacted),
		cmocka_unit_test(test_args_bounded),
		cmocka_unit_test(test_large_bulk_streamed),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_unexpected_eof_and_half_connections),
		cmocka_unit_test(test_pubsub),
		cmocka_unit_test(test_fifo_bound),
		cmocka_unit_test(test_midstream_resync),
		cmocka_unit_test(test_random_input),
		cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
