// SPDX-License-Identifier: MIT
/*
 * HTTP/1.x through the stream layer, with the shared dissector harness
 * (dissect_harness.h, h_tcp_new): synthetic TCP segments go into
 * stream_tcp_packet() exactly as the pipeline hands them over, entries come
 * out of the emitter.
 */
#include <stdint.h>
#include <time.h>

#include "dissect_harness.h"
#include "dissect/http.h"

/* What the tests look at in an HTTP entry. */
struct got {
	char json[4096];
	char type[32], msg[256], reason[32];
	char method[16], path[128], version[16], reason_phrase[64];
	int status;
	long req_body, resp_body, missed, retrans;
	bool has_req, has_resp, has_elapsed;
};

static void copy_str(const struct doc *d, const char *path, char *out, size_t len)
{
	const char *s = doc_path_str(d, DOC_ROOT, path);
	snprintf(out, len, "%s", s ? s : "");
}

static long num(const struct doc *d, const char *path)
{
	uint32_t n = doc_path(d, DOC_ROOT, path);
	return n == DOC_NONE ? -1 : (long)doc_number(d, n);
}

/* Entry i, as the tests look at it (valid until the next call). */
static struct got *got(struct harness *h, unsigned i)
{
	static struct got g;
	assert_true(i < h->n);
	const struct doc *d = &h->docs[i];
	memset(&g, 0, sizeof(g));
	snprintf(g.json, sizeof(g.json), "%s", h->json[i]);
	copy_str(d, "error.type", g.type, sizeof(g.type));
	copy_str(d, "error.message", g.msg, sizeof(g.msg));
	copy_str(d, "error.reason", g.reason, sizeof(g.reason));
	copy_str(d, "request.method", g.method, sizeof(g.method));
	copy_str(d, "request.path", g.path, sizeof(g.path));
	copy_str(d, "response.version", g.version, sizeof(g.version));
	copy_str(d, "response.reason", g.reason_phrase, sizeof(g.reason_phrase));
	g.status = (int)num(d, "response.status");
	g.req_body = num(d, "request.body_bytes");
	g.resp_body = num(d, "response.body_bytes");
	g.missed = num(d, "tcp.missed_bytes");
	g.retrans = num(d, "tcp.retransmissions");
	g.has_req = doc_type_of(d, doc_get(d, DOC_ROOT, "request")) == DOC_OBJ;
	g.has_resp = doc_type_of(d, doc_get(d, DOC_ROOT, "response")) == DOC_OBJ;
	g.has_elapsed = doc_type_of(d, doc_get(d, DOC_ROOT, "elapsed_ms")) == DOC_REAL;
	return &g;
}

#define CLIENT H_CLIENT
#define SERVER H_SERVER

static void test_get_content_length(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /index.html HTTP/1.1\r\nHost: example\r\nUser-Agent: t\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\n01234");
	assert_int_equal(h->n, 0);
	h_send_s(h, SERVER, "56789");
	assert_int_equal(h->n, 1);
	struct got *g = got(h, 0);
	assert_string_equal(g->type, "");
	assert_string_equal(g->method, "GET");
	assert_string_equal(g->path, "/index.html");
	assert_int_equal(g->status, 200);
	assert_string_equal(g->reason_phrase, "OK");
	assert_string_equal(g->version, "HTTP/1.1");
	assert_int_equal(g->resp_body, 10);
	assert_int_equal(g->req_body, 0);
	assert_true(g->has_elapsed);
	assert_int_equal(g->missed, -1);
	assert_non_null(strstr(g->json, "\"src\":{\"ip\":\"198.18.3.1\",\"port\":40000}"));
	assert_non_null(strstr(g->json, "\"headers\":{\"Host\":\"example\",\"User-Agent\":\"t\"}"));
	/* request at packet 1, the response's last byte at packet 3, 1 ms apart */
	assert_non_null(strstr(g->json, "\"elapsed_ms\":2.000"));
	h_fin(h, CLIENT);
	h_fin(h, SERVER);
	assert_int_equal(h->n, 1);
	h_free(h);
}

/*
 * The stream, the HTTP state and each open exchange are drawn from the memory
 * budget (memory.stream_bytes) and given back (h_free checks 0).  A budget
 * with no room for a request's exchange stops the parse without an entry:
 * running out of memory is no parser error of the peer's.
 */
static void test_memory_budget(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
	uint64_t with_request = h->stats.memory.stream_bytes;
	assert_true(with_request > 4000);                /* stream + state + one ~4.9 KB exchange */
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h->n, 1);
	assert_true(h->stats.memory.stream_bytes < with_request - 4000);   /* the exchange went */
	assert_true(h->stats.memory.stream_bytes > 0);
	/* Room for the next request no more. */
	h->stats.memory.limit_bytes = h->stats.memory.stream_bytes + 100;
	h_send_s(h, CLIENT, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	h_fin(h, CLIENT);
	h_fin(h, SERVER);
	assert_int_equal(h->n, 1);                       /* no parser error, no second entry */
	assert_true(h->stats.memory.over_limit >= 1);
	h_free(h);

	/* No room for the stream at all: the payload is not parsed, nothing is said. */
	h = h_tcp_new(true, 80);
	h->stats.memory.limit_bytes = 64;
	h_send_s(h, CLIENT, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h->n, 0);
	assert_int_equal(h->stats.memory.stream_bytes, 0);
	assert_true(h->stats.memory.over_limit >= 2);
	h_free(h);
}

static void test_keepalive_and_pipelining(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 8080);
	/* three pipelined requests in one segment, one with a body */
	h_send_s(h, CLIENT, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
			   "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
			   "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n");
	/* responses split at odd places */
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 201 Cre");
	h_send_s(h, SERVER, "ated\r\nContent-Length: 0\r\n\r\n");
	/* the HEAD response announces a length but has no body */
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	assert_int_equal(h->n, 3);
	assert_string_equal(got(h, 0)->path, "/a");
	assert_int_equal(got(h, 0)->resp_body, 3);
	assert_string_equal(got(h, 1)->method, "POST");
	assert_int_equal(got(h, 1)->req_body, 5);
	assert_int_equal(got(h, 1)->status, 201);
	assert_string_equal(got(h, 1)->reason_phrase, "Created");
	assert_string_equal(got(h, 2)->method, "HEAD");
	assert_int_equal(got(h, 2)->resp_body, 0);
	/* keep-alive: another exchange later */
	h_send_s(h, CLIENT, "GET /d HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
	assert_int_equal(h->n, 4);
	assert_int_equal(got(h, 3)->status, 404);
	assert_string_equal(got(h, 3)->type, "");
	for (unsigned i = 0; i < h->n; i++)
		assert_string_equal(got(h, i)->type, "");
	h_capture_end(h);
	assert_int_equal(h->n, 4);
	h_free(h);
}

static void test_chunked_with_trailers(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /stream HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n");
	h_send_s(h, SERVER, "5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r");
	h_send_s(h, SERVER, "\n0\r\nX-Checksum: 42\r\n");
	assert_int_equal(h->n, 0);
	h_send_s(h, SERVER, "\r\n");
	assert_int_equal(h->n, 1);
	assert_int_equal(got(h, 0)->resp_body, 5 + 26);
	assert_non_null(strstr(got(h, 0)->json, "\"trailers\":{\"X-Checksum\":\"42\"}"));
	/* a chunked request body too */
	h_send_s(h, CLIENT, "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(h->n, 2);
	assert_int_equal(got(h, 1)->req_body, 3);
	assert_int_equal(got(h, 1)->status, 204);
	h_free(h);
}

static void test_close_delimited(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET / HTTP/1.0\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\n");
	h_send_n(h, SERVER, "0123456789", 10);
	h_send_n(h, SERVER, "0123456789", 10);
	assert_int_equal(h->n, 0);
	h_fin(h, SERVER);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "");
	assert_int_equal(got(h, 0)->resp_body, 20);
	assert_true(got(h, 0)->has_elapsed);
	h_free(h);
}

static void test_interim_and_no_body(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "PUT /f HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 100 Continue\r\n\r\n");
	h_send_s(h, CLIENT, "data");
	h_send_s(h, SERVER, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	h_send_s(h, CLIENT, "GET /cached HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n");
	h_send_s(h, CLIENT, "DELETE /f HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(h->n, 3);
	assert_int_equal(got(h, 0)->status, 201);
	assert_int_equal(got(h, 0)->req_body, 4);
	assert_int_equal(got(h, 1)->status, 304);
	assert_int_equal(got(h, 1)->resp_body, 0);
	assert_int_equal(got(h, 2)->status, 204);
	for (unsigned i = 0; i < h->n; i++)
		assert_string_equal(got(h, i)->type, "");
	h_free(h);
}

static void test_connect_tunnel(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 3128);
	h_send_s(h, CLIENT, "CONNECT example:443 HTTP/1.1\r\nHost: example:443\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 Connection established\r\n\r\n");
	assert_int_equal(h->n, 1);
	/* TLS bytes: not HTTP, no parser error */
	h_send_n(h, CLIENT, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9);
	h_send_n(h, SERVER, "\x16\x03\x03\x00\x7a\x02", 6);
	h_fin(h, CLIENT);
	h_fin(h, SERVER);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->method, "CONNECT");
	h_free(h);
}

static void test_eof_mid_body(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /big HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	char body[100];
	memset(body, 'b', sizeof(body));
	h_send_n(h, SERVER, body, sizeof(body));
	h_fin(h, SERVER);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "unexpected-eof");
	assert_string_equal(got(h, 0)->msg,
			    "connection closed by server after 100 of 1000 response body bytes");
	assert_int_equal(got(h, 0)->status, 200);
	assert_int_equal(got(h, 0)->resp_body, 100);
	assert_false(got(h, 0)->has_elapsed);
	h_free(h);
}

static void test_reset_after_request(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
	h_rst(h, SERVER);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "half-connection");
	assert_string_equal(got(h, 0)->reason, "reset");
	assert_string_equal(got(h, 0)->msg, "response missing: connection reset by server");
	assert_true(got(h, 0)->has_req);
	assert_false(got(h, 0)->has_resp);
	/* nothing more after the end */
	h_rst(h, CLIENT);
	h_capture_end(h);
	assert_int_equal(h->n, 1);
	h_free(h);
}

static void test_closed_and_capture_end(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /x HTTP/1.1\r\n\r\n");
	h_fin(h, CLIENT);         /* half-close: the server may still answer */
	assert_int_equal(h->n, 0);
	h_fin(h, SERVER);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->reason, "closed");
	h_free(h);

	h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /y HTTP/1.1\r\n\r\n");
	h_capture_end(h);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "half-connection");
	assert_string_equal(got(h, 0)->reason, "capture-end");
	h_free(h);
}

static void test_eof_in_chunked_request(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123");
	h_rst(h, CLIENT);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "unexpected-eof");
	assert_string_equal(got(h, 0)->msg,
			    "connection reset by client after 4 bytes of a chunked request body");
	h_free(h);

	/* the client closes in the middle of its body; the server closes after */
	h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "PUT /u HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123");
	h_fin(h, CLIENT);
	assert_int_equal(h->n, 0);
	h_fin(h, SERVER);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "unexpected-eof");
	assert_string_equal(got(h, 0)->msg, "connection closed by client after 4 of 10 request body bytes");
	h_free(h);
}

static void test_parser_errors(void **state)
{
	(void)state;
	static const struct { const char *req, *resp, *msg; } cases[] = {
		{ "GET /x HTTP/1.1\r\n\r\n", "SSH-2.0-OpenSSH\r\n",
		  "invalid status line: \"SSH-2.0-OpenSSH\" from server" },
		{ "GET /x HTTP/1.1\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
		  "invalid status line: \"HTTP/1.1 2x0 OK\" from server" },
		{ "GET /x HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
		  "invalid header field: \"Bad Header: x\" from server" },
		{ "GET /x HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
		  "invalid Content-Length: \"12a\" from server" },
		{ "GET /x HTTP/1.1\r\n\r\n",
		  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		  "conflicting Content-Length: 1 and 2 from server" },
		{ "GET /x HTTP/1.1\r\n\r\n",
		  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		  "invalid chunk size: \"zz\" from server" },
		{ "GET /x HTTP/1.1\r\n\r\n",
		  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
		  "chunk data longer than its size from server" },
		{ "GET /x HTTP/1.1\r\n\r\nGET /y HTTP/9\r\n\r\n", NULL,
		  "invalid request line (version): \"GET /y HTTP/9\" from client" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct harness *h = h_tcp_new(true, 80);
		h_send_s(h, CLIENT, cases[i].req);
		if (cases[i].resp)
			h_send_s(h, SERVER, cases[i].resp);
		assert_int_equal(h->n, 1);
		assert_string_equal(got(h, 0)->type, "parser-error");
		assert_string_equal(got(h, 0)->msg, cases[i].msg);
		/* the stream is not parsed further */
		h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\n\r\n");
		h_fin(h, SERVER);
		assert_int_equal(h->n, 1);
		h_free(h);
	}
}

/*
 * A field value's bytes, checked eight at a time: a control byte or DEL is
 * found wherever it is in the word (each of 24 positions), a tab, a space
 * and obs-text (0x80, 0xff) are allowed.
 */
static void test_field_value_bytes(void **state)
{
	(void)state;
	static const uint8_t bad[] = { 0x00, 0x01, 0x0d, 0x1f, 0x7f };
	static const uint8_t good[] = { '\t', ' ', 0x80, 0xff, 0x7e };
	for (int pos = 0; pos < 24; pos++) {
		for (int b = 0; b < 2 * 5; b++) {
			static const char pre[] = "HTTP/1.1 200 OK\r\nX-Long: ", post[] = "\r\n\r\n";
			uint8_t head[128];
			size_t n = 0;
			memcpy(head, pre, sizeof(pre) - 1);
			n += sizeof(pre) - 1;
			memcpy(head + n, "abcdefghijklmnopqrstuvwx", 24);
			head[n + (size_t)pos] = b < 5 ? bad[b] : good[b - 5];
			n += 24;
			memcpy(head + n, post, sizeof(post) - 1);
			n += sizeof(post) - 1;
			struct http_msg m;
			struct http_head hh;
			char err[256];
			http_msg_reset(&m);
			int rc = http_parse_head(&m, &hh, DISSECT_TO_CLIENT, head, n,
						 err, sizeof(err));
			if (b < 5)
				assert_int_not_equal(rc, 0);
			else
				assert_int_equal(rc, 0);
		}
	}
}

/* Connection's tokens: whole runs between commas and spaces, any case. */
static void test_connection_tokens(void **state)
{
	(void)state;
	static const struct { const char *value; bool close, upgrade; } cases[] = {
		{ "close", true, false },           { "Close", true, false },
		{ "keep-alive, Upgrade", false, true }, { "x,close", true, false },
		{ "closed", false, false },         { "unclose", false, false },
		{ "upgrade ,close", true, true },   { "", false, false },
		{ ",,close,,", true, false },       { "keep-alive", false, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char head[128];
		int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: %s\r\n\r\n",
				 cases[i].value);
		struct http_msg m;
		struct http_head hh;
		char err[256];
		http_msg_reset(&m);
		assert_int_equal(http_parse_head(&m, &hh, DISSECT_TO_CLIENT, (const uint8_t *)head,
						 (size_t)n, err, sizeof(err)), 0);
		assert_int_equal(hh.conn_close, cases[i].close);
		assert_int_equal(hh.upgrade, cases[i].upgrade);
	}
}

static void test_header_limits(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /x HTTP/1.1\r\n");
	char line[64];
	for (int i = 0; i < 101; i++) {
		snprintf(line, sizeof(line), "X-H%d: v\r\n", i);
		h_send_s(h, CLIENT, line);
	}
	h_send_s(h, CLIENT, "\r\n");
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->msg, "more than 100 header fields from client");
	h_free(h);

	h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /x HTTP/1.1\r\n");
	static char big[40000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "X-Big: ", 7);
	h_send_n(h, CLIENT, big, sizeof(big));
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->msg, "header block larger than 32768 bytes from client");
	h_free(h);
}

/*
 * Header fields are checked when the head is read and split for the entry
 * only when it is built: folded lines, optional whitespace, repeated names,
 * the 32-field limit, and a head too large to keep as one block (kept field
 * by field: a field too long for the space is dropped, shorter ones after it
 * are kept).
 */
static void test_lazy_headers(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /a HTTP/1.1\r\nHost:  example \r\nAccept: a\r\nX-Fold: one\r\n"
		 "  folded\r\naccept:b\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer:\tt\t\r\n\r\n");
	assert_int_equal(h->n, 1);
	h_contains(h, 0, "\"headers\":{\"Host\":\"example\",\"Accept\":\"a, b\",\"X-Fold\":\"one\"}");
	h_contains(h, 0, "\"headers\":{\"Content-Length\":\"0\",\"Server\":\"t\"}");

	/* 40 fields: the first 32 kept */
	char head[2048];
	size_t n = (size_t)snprintf(head, sizeof(head), "GET /b HTTP/1.1\r\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "X-H%d: v%d\r\n", i, i);
	snprintf(head + n, sizeof(head) - n, "\r\n");
	h_send_s(h, CLIENT, head);
	h_send_s(h, SERVER, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(h->n, 2);
	h_contains(h, 1, "\"X-H31\":\"v31\"}");
	assert_null(strstr(h->json[1], "X-H32"));
	assert_int_equal(h_int(h, 1, "request.headers_dropped"), 8);

	/* larger than the text space: field by field */
	static char big[6000];
	n = (size_t)snprintf(big, sizeof(big), "GET /c HTTP/1.1\r\nX-Before: 1\r\nX-Long: ");
	memset(big + n, 'x', 3000);
	n += 3000;
	snprintf(big + n, sizeof(big) - n, "\r\nX-After: 2\r\n\r\n");
	h_send_s(h, CLIENT, big);
	h_send_s(h, SERVER, "HTTP/1.1 204 No Content\r\n\r\n");
	assert_int_equal(h->n, 3);
	h_contains(h, 2, "\"headers\":{\"X-Before\":\"1\",\"X-After\":\"2\"}");
	assert_int_equal(h_int(h, 2, "request.headers_dropped"), 1);

	/* a bad field is still found when the head is read */
	h_send_s(h, CLIENT, "GET /d HTTP/1.1\r\nGood: 1\r\nBad Name: 2\r\n\r\n");
	assert_int_equal(h->n, 4);
	assert_string_equal(h_str(h, 3, "error.type"), "parser-error");
	h_free(h);
}

static void test_midstream_resync(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(false, 8080);
	/* joined inside a response body: skipped, no parser error */
	h_send_s(h, SERVER, "rest of some body\r\nmore body bytes");
	/* then a response whose request came before the capture */
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "half-connection");
	assert_string_equal(got(h, 0)->reason, "midstream");
	assert_false(got(h, 0)->has_req);
	/* a fresh exchange is complete */
	h_send_s(h, CLIENT, "GET /next HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_int_equal(h->n, 2);
	assert_string_equal(got(h, 1)->type, "");
	assert_string_equal(got(h, 1)->path, "/next");
	/* the client was found from the content and port */
	assert_true(h->f.client_known);
	assert_int_equal(h->f.client, 0);
	h_free(h);
}

static void test_midstream_request_side(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(false, 5555);     /* no port hint: content decides */
	/* the tail of a request body, then a request */
	h_send_s(h, CLIENT, "\"a\": 1}");
	h_send_s(h, CLIENT, "GET /p HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "");
	assert_string_equal(got(h, 0)->path, "/p");
	h_free(h);
}

static void test_hole_inside_body(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /f HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n");
	char body[100];
	memset(body, 'x', sizeof(body));
	h_send_n(h, SERVER, body, 100);
	h->seq[SERVER] += 100;            /* 100 bytes the capture missed */
	h_send_n(h, SERVER, body, 100);
	assert_int_equal(h->n, 0);
	/* the client acks everything: the hole is final, the body still ends in step */
	h_send_s(h, CLIENT, "GET /g HTTP/1.1\r\n\r\n");
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "");
	assert_int_equal(got(h, 0)->resp_body, 300);
	assert_int_equal(got(h, 0)->missed, 100);
	assert_int_equal(h->f.missed_bytes, 100);
	assert_int_equal(h->stats.tcp.missed_bytes, 100);
	/* the next exchange is not blamed */
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h->n, 2);
	assert_int_equal(got(h, 1)->missed, -1);
	h_free(h);
}

static void test_hole_in_headers(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nCont");
	h->seq[SERVER] += 50;             /* the rest of response 1's head is lost */
	h_send_s(h, SERVER, "tail of body 1\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	h_send_s(h, CLIENT, "");          /* nothing: the ack comes with the next packet */
	h_fin(h, CLIENT);
	h_fin(h, SERVER);
	assert_int_equal(h->n, 2);
	assert_string_equal(got(h, 0)->type, "half-connection");
	assert_string_equal(got(h, 0)->reason, "loss");
	assert_string_equal(got(h, 0)->path, "/1");
	assert_string_equal(got(h, 1)->type, "");
	assert_string_equal(got(h, 1)->path, "/2");
	assert_int_equal(h->stats.tcp.missed_bytes, 50);
	h_free(h);
}

static void test_retransmission_on_entry(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	const char *req = "GET /r HTTP/1.1\r\n\r\n";
	uint32_t s0 = h->seq[CLIENT];
	h_send_s(h, CLIENT, req);
	h_seg_at(h, CLIENT, s0, req, strlen(req), TCP_PSH);   /* retransmitted */
	/* a response arriving out of order */
	const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n";
	uint32_t r0 = h->seq[SERVER];
	h_seg_at(h, SERVER, r0 + (uint32_t)strlen(a), "body", 4, TCP_PSH);
	h_seg_at(h, SERVER, r0, a, strlen(a), TCP_PSH);
	h->seq[SERVER] += (uint32_t)strlen(a) + 4;
	assert_int_equal(h->n, 1);
	assert_int_equal(got(h, 0)->retrans, 1);
	assert_int_equal(got(h, 0)->missed, -1);
	assert_string_equal(got(h, 0)->type, "");
	assert_int_equal(h->stats.tcp.retransmissions, 1);
	assert_int_equal(h->stats.tcp.out_of_order, 1);
	h_free(h);
}

static void test_timeout(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /slow HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
	stream_idle(&h->env, &h->f, h->ts + 10000000000ull);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "timeout");
	assert_string_equal(got(h, 0)->msg,
			    "stream idle for 10000 ms after 10 of 100 response body bytes");
	assert_int_equal(h->stats.tcp.streams_timed_out, 1);
	/* stale: dropped, judged once */
	stream_idle(&h->env, &h->f, h->ts + 20000000000ull);
	assert_int_equal(h->n, 1);
	/* the connection lives on: a later exchange is parsed again */
	h_send_s(h, SERVER, "more of the old body");
	h_send_s(h, CLIENT, "GET /again HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h->n, 2);
	assert_string_equal(got(h, 1)->type, "");
	h_free(h);

	/* a request with no response at all is a half connection, reason timeout */
	h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /silent HTTP/1.1\r\n\r\n");
	stream_idle(&h->env, &h->f, h->ts + 10000000000ull);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "half-connection");
	assert_string_equal(got(h, 0)->reason, "timeout");
	h_free(h);

	/* an idle keep-alive connection with nothing pending is not stale */
	h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET / HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	stream_idle(&h->env, &h->f, h->ts + 10000000000ull);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->stats.tcp.streams_timed_out, 0);
	h_free(h);
}

static void test_unrecognised_timeout_and_opaque(void **state)
{
	(void)state;
	struct harness *h;
	/* the server speaks first, in no protocol we know, and the client never answers */
	h = h_tcp_new(true, 2222);
	h_send_s(h, SERVER, "220 hello\r\n");
	stream_idle(&h->env, &h->f, h->ts + 10000000000ull);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "timeout");
	assert_non_null(strstr(got(h, 0)->json, "\"protocol\":\"tcp\""));
	h_free(h);

	/* joined midstream in a protocol nobody knows: never stale, never an error */
	h = h_tcp_new(false, 443);
	h_send_n(h, SERVER, "\x17\x03\x03\x00\x05world", 10);
	h_send_n(h, CLIENT, "\x17\x03\x03\x00\x05hello", 10);
	stream_idle(&h->env, &h->f, h->ts + 10000000000ull);
	h_capture_end(h);
	assert_int_equal(h->n, 0);
	assert_int_equal(h->stats.tcp.streams_timed_out, 0);
	h_free(h);

	/* the client speaks something else: opaque, never an error */
	h = h_tcp_new(true, 443);
	h_send_n(h, CLIENT, "\x16\x03\x01\x00\x05hello", 10);
	h_send_n(h, SERVER, "\x16\x03\x03\x00\x05world", 10);
	stream_idle(&h->env, &h->f, h->ts + 10000000000ull);
	h_rst(h, CLIENT);
	assert_int_equal(h->n, 0);
	h_free(h);
}

static void test_icmp(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /x HTTP/1.1\r\n\r\n");
	struct dissect_icmp ic = { .version = 4, .type = 3, .code = 4 };
	stream_icmp_error(&h->env, &h->f, CLIENT, &ic, h->ts);
	assert_int_equal(h->n, 0);        /* fragmentation needed: not fatal */
	ic.code = 1;
	ic.type_name = "Destination unreachable";
	ic.code_name = "Host unreachable";
	stream_icmp_error(&h->env, &h->f, CLIENT, &ic, h->ts);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->reason, "icmp");
	assert_string_equal(got(h, 0)->msg,
			    "response missing: ICMP Destination unreachable (Host unreachable)");
	h_free(h);
}

static void test_orphan_response_after_request_loss(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /1 HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	h->seq[CLIENT] += 20;             /* request 2 lost by the capture */
	h_send_s(h, SERVER, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h->n, 2);
	assert_string_equal(got(h, 1)->type, "half-connection");
	assert_string_equal(got(h, 1)->reason, "loss");
	assert_int_equal(got(h, 1)->status, 500);
	assert_int_equal(h->stats.tcp.missed_bytes, 20);
	h_free(h);
}

static void test_port_reuse(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h_send_s(h, CLIENT, "GET /1 HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	h_fin(h, CLIENT);
	h_fin(h, SERVER);
	assert_int_equal(h->n, 1);
	/* the same ports again: a new SYN starts a new stream */
	h->seq[CLIENT] = 777;
	h->seq[SERVER] = 999;
	h->origin.isn[CLIENT] = h->seq[CLIENT];
	h->origin.isn[SERVER] = h->seq[SERVER];
	h_seg_at(h, CLIENT, h->seq[CLIENT]++, NULL, 0, TCP_SYN);
	h_send_s(h, CLIENT, "GET /2 HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(h->n, 2);
	assert_string_equal(got(h, 1)->path, "/2");
	h_free(h);
}

/* Every framing rule fed one byte per segment gives the same entries as whole messages. */
static void test_byte_at_a_time(void **state)
{
	(void)state;
	static const char *const req =
		"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
		"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"
		"HEAD /c HTTP/1.1\r\n\r\n"
		"PUT /d HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi"
		"GET /e HTTP/1.0\r\n\r\n";
	static const char *const resp =
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 77\r\n\r\n"
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
		"HTTP/1.0 200 OK\r\n\r\nuntil the end";
	for (int whole = 0; whole < 2; whole++) {
		struct harness *h = h_tcp_new(true, 80);
		if (whole) {
			h_send_s(h, CLIENT, req);
			h_send_s(h, SERVER, resp);
		} else {
			for (const char *p = req; *p; p++)
				h_send_n(h, CLIENT, p, 1);
			for (const char *p = resp; *p; p++)
				h_send_n(h, SERVER, p, 1);
		}
		h_fin(h, SERVER);
		assert_int_equal(h->n, 5);
		static const int status[] = { 200, 201, 200, 204, 200 };
		static const long resp_body[] = { 5, 17, 0, 0, 13 };
		static const long req_body[] = { 0, 3, 0, 2, 0 };
		for (int i = 0; i < 5; i++) {
			assert_string_equal(got(h, i)->type, "");
			assert_int_equal(got(h, i)->status, status[i]);
			assert_int_equal(got(h, i)->resp_body, resp_body[i]);
			assert_int_equal(got(h, i)->req_body, req_body[i]);
		}
		assert_non_null(strstr(got(h, 1)->json, "\"trailers\":{\"T\":\"1\"}"));
		h_free(h);
	}
}

/* Random bytes, random cuts, both directions, in step and midstream: never a crash or leak. */
static void test_garbage_robustness(void **state)
{
	(void)state;
	srand(777);
	static const char *const pieces[] = {
		"GET / HTTP/1.1\r\n", "HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n",
		"Transfer-Encoding: chunked\r\n", "\r\n", "ffffffff\r\n", "0\r\n", "abc", "\n",
		"HEAD /x HTTP/1.1\r\n", "HTTP/1.1 100 Continue\r\n", "CONNECT a:1 HTTP/1.1\r\n",
		"\x00\xff", ": v\r\n", "HTTP/1.", "GE",
	};
	for (int round = 0; round < 300; round++) {
		struct harness *h = h_tcp_new(round % 3 != 0, round % 2 ? 80 : 1234);
		h->count_only = true;
		for (int i = 0; i < 60; i++) {
			char buf[256];
			size_t len = 0;
			int k = 1 + rand() % 4;
			while (k-- && len < 200) {
				const char *p = pieces[rand() % (sizeof(pieces) / sizeof(pieces[0]))];
				size_t pl = strlen(p) ? strlen(p) : 2;
				memcpy(buf + len, p, pl);
				len += pl;
			}
			if (rand() % 10 == 0)
				buf[rand() % len] = (char)rand();
			int side = rand() % 2;
			if (rand() % 20 == 0)
				h->seq[side] += (uint32_t)(rand() % 300);     /* a hole */
			h_send_n(h, side, buf, len);
			if (rand() % 50 == 0)
				stream_idle(&h->env, &h->f, h->ts + 20000000000ull);
		}
		if (round % 2)
			h_rst(h, rand() % 2);
		else
			h_capture_end(h);
		h_free(h);
	}
}

/* Out-of-order data over tap.reassemblyMemcapMb is dropped and counted; the ack then skips it. */
static void test_memcap_through_stream(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h->cfg.reassembly_memcap_mb = 1;
	h_send_s(h, CLIENT, "GET /big HTTP/1.1\r\n\r\n");
	h_send_s(h, SERVER, "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n");
	static char chunk[1000];
	memset(chunk, 'm', sizeof(chunk));
	uint32_t hole = h->seq[SERVER];
	h->seq[SERVER] += 1000;           /* the first 1000 body bytes are late */
	for (int i = 0; i < 1999; i++) {
		h_seg_at(h, SERVER, h->seq[SERVER], chunk, sizeof(chunk), TCP_PSH);
		h->seq[SERVER] += sizeof(chunk);
	}
	/* held while they fit in 1 MiB of real memory (headers and allocator overhead
	 * counted; adjacent segments merged), the rest dropped */
	const uint64_t dropped = h->stats.tcp.reassembly_dropped_bytes;
	const uint64_t held = 1999000 - dropped;
	assert_true(h->stats.memory.reassembly_bytes <= 1u << 20);
	assert_true(held > (1u << 20) - 64 * 1024 && held < 1u << 20);
	/* the late segment arrives: what was held goes on, the dropped part is a hole */
	h_seg_at(h, SERVER, hole, chunk, sizeof(chunk), TCP_PSH);
	assert_int_equal(h->stats.memory.reassembly_bytes, 0);
	h_send_s(h, CLIENT, "");          /* nothing to send; the client's ack comes on its FIN */
	h_fin(h, CLIENT);
	assert_int_equal(h->n, 1);
	assert_string_equal(got(h, 0)->type, "");
	assert_int_equal(got(h, 0)->resp_body, 2000000);
	assert_int_equal(got(h, 0)->missed, 1999000 - held);
	assert_int_equal(h->stats.tcp.missed_bytes, 1999000 - held);
	h_free(h);
}

/* Keep-alive exchanges per second through stream + reassembly + HTTP (printed, not asserted). */
static void test_throughput(void **state)
{
	(void)state;
	struct harness *h = h_tcp_new(true, 80);
	h->count_only = true;
	const char *req = "GET /api/items?id=42 HTTP/1.1\r\nHost: example\r\nUser-Agent: bench\r\n"
			  "Accept: */*\r\n\r\n";
	static char resp[1400];
	int hl = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			  "Content-Length: %d\r\n\r\n", 1000);
	memset(resp + hl, 'x', 1000);
	const unsigned n = 100000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < n; i++) {
		h_send_s(h, CLIENT, req);
		h_send_n(h, SERVER, resp, (size_t)hl + 1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(h->stats.entries.total, n);
	print_message("http: %u exchanges, %.0f exchanges/s, %.1f MB/s\n", n,
		      n / s, (double)n * (strlen(req) + (size_t)hl + 1000) / s / 1e6);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_content_length),
		cmocka_unit_test(test_memory_budget),
		cmocka_unit_test(test_keepalive_and_pipelining),
		cmocka_unit_test(test_chunked_with_trailers),
		cmocka_unit_test(test_close_delimited),
		cmocka_unit_test(test_interim_and_no_body),
		cmocka_unit_test(test_connect_tunnel),
		cmocka_unit_test(test_eof_mid_body),
		cmocka_unit_test(test_reset_after_request),
		cmocka_unit_test(test_closed_and_capture_end),
		cmocka_unit_test(test_eof_in_chunked_request),
		cmocka_unit_test(test_parser_errors),
		cmocka_unit_test(test_field_value_bytes),
		cmocka_unit_test(test_connection_tokens),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_midstream_resync),
		cmocka_unit_test(test_midstream_request_side),
		cmocka_unit_test(test_hole_inside_body),
		cmocka_unit_test(test_hole_in_headers),
		cmocka_unit_test(test_retransmission_on_entry),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_unrecognised_timeout_and_opaque),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_orphan_response_after_request_loss),
		cmocka_unit_test(test_port_reuse),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_lazy_headers),
		cmocka_unit_test(test_garbage_robustness),
		cmocka_unit_test(test_memcap_through_stream),
		cmocka_unit_test(test_throughput),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
