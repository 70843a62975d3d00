// SPDX-License-Identifier: MIT
/* KFL: grammar, precedence, operators, helpers, paths, regexes, bare booleans, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report/doc.h"
#include "kfl/kfl.h"

/* Entries shaped as spec section 2 builds them. */
static struct doc http_doc, tcp_doc, icmp_doc, dns_doc, redis_doc, half_doc;

static void endpoints(struct doc *d, const char *src_ip, int sport, const char *dst_ip, int dport)
{
	uint32_t s = doc_add_obj(d, DOC_ROOT, "src");
	doc_add_str(d, s, "ip", src_ip);
	if (sport >= 0)
		doc_add_int(d, s, "port", sport);
	uint32_t t = doc_add_obj(d, DOC_ROOT, "dst");
	doc_add_str(d, t, "ip", dst_ip);
	if (dport >= 0)
		doc_add_int(d, t, "port", dport);
}

static void build_http(struct doc *d)
{
	doc_init(d);
	doc_reset(d);
	doc_add_int(d, DOC_ROOT, "id", 7);
	doc_add_str(d, DOC_ROOT, "ts", "2026-11-26T06:41:56.718846Z");
	doc_add_str(d, DOC_ROOT, "protocol", "http");
	endpoints(d, "198.18.1.2", 36060, "198.18.2.2", 8080);
	uint32_t rq = doc_add_obj(d, DOC_ROOT, "request");
	doc_add_str(d, rq, "method", "GET");
	doc_add_str(d, rq, "path", "/api/Users/42");
	uint32_t h = doc_add_obj(d, rq, "headers");
	doc_add_str(d, h, "Host", "shop.example.test");
	doc_add_str(d, h, "content-type", "application/json");
	doc_add_str(d, h, "X-Count", "17");
	doc_add_str(d, h, "X-Empty", "");
	uint32_t tags = doc_add_arr(d, rq, "tags");
	doc_add_str(d, tags, NULL, "first");
	doc_add_str(d, tags, NULL, "second");
	uint32_t rs = doc_add_obj(d, DOC_ROOT, "response");
	doc_add_int(d, rs, "status", 503);
	doc_add_str(d, rs, "reason", "Service Unavailable");
	doc_add_bool(d, rs, "chunked", true);
	doc_add_int(d, rs, "body_bytes", 0);
	doc_add_real(d, DOC_ROOT, "elapsed_ms", 12.5);
	doc_add_null(d, DOC_ROOT, "error");
	doc_add_str(d, DOC_ROOT, "transport", "tcp");
	uint32_t tcp = doc_add_obj(d, DOC_ROOT, "tcp");
	doc_add_int(d, tcp, "retransmissions", 1);
}

static void build_tcp(struct doc *d)
{
	doc_init(d);
	doc_reset(d);
	doc_add_int(d, DOC_ROOT, "id", 8);
	doc_add_str(d, DOC_ROOT, "protocol", "tcp");
	endpoints(d, "198.18.1.2", 40000, "198.18.2.2", 9);
	doc_add_null(d, DOC_ROOT, "response");
	uint32_t e = doc_add_obj(d, DOC_ROOT, "error");
	doc_add_str(d, e, "type", "tcp");
	doc_add_str(d, e, "message", "SynSent");
	uint32_t t = doc_add_obj(d, DOC_ROOT, "tcp");
	doc_add_str(d, t, "reason", "refused");
	doc_add_int(d, t, "syn_retries", 0);
}

static void build_icmp(struct doc *d)
{
	doc_init(d);
	doc_reset(d);
	doc_add_int(d, DOC_ROOT, "id", 9);
	doc_add_str(d, DOC_ROOT, "protocol", "icmp");
	endpoints(d, "198.18.2.2", -1, "198.18.1.2", -1);
	uint32_t e = doc_add_obj(d, DOC_ROOT, "error");
	doc_add_str(d, e, "type", "icmp");
	doc_add_str(d, e, "message", "Destination unreachable (Port unreachable)");
	uint32_t i = doc_add_obj(d, DOC_ROOT, "icmp");
	doc_add_int(d, i, "version", 4);
	doc_add_int(d, i, "type", 3);
	doc_add_int(d, i, "code", 3);
	doc_add_str(d, i, "type_name", "Destination unreachable");
	doc_add_str(d, i, "code_name", "Port unreachable");
}

static void build_dns(struct doc *d)
{
	doc_init(d);
	doc_reset(d);
	doc_add_int(d, DOC_ROOT, "id", 10);
	doc_add_str(d, DOC_ROOT, "protocol", "dns");
	doc_add_str(d, DOC_ROOT, "transport", "udp");
	endpoints(d, "198.18.1.2", 5353, "198.18.2.2", 53);
	uint32_t rq = doc_add_obj(d, DOC_ROOT, "request");
	uint32_t qs = doc_add_arr(d, rq, "questions");
	uint32_t q = doc_add_obj(d, qs, NULL);
	doc_add_str(d, q, "name", "missing.example.test");
	doc_add_str(d, q, "type", "A");
	uint32_t rs = doc_add_obj(d, DOC_ROOT, "response");
	doc_add_int(d, rs, "rcode", 3);
	doc_add_str(d, rs, "rcode_name", "NXDOMAIN");
	doc_add_null(d, DOC_ROOT, "error");
}

static void build_redis(struct doc *d)
{
	doc_init(d);
	doc_reset(d);
	doc_add_int(d, DOC_ROOT, "id", 11);
	doc_add_str(d, DOC_ROOT, "protocol", "redis");
	endpoints(d, "198.18.1.2", 41000, "198.18.2.2", 6379);
	uint32_t rq = doc_add_obj(d, DOC_ROOT, "request");
	doc_add_str(d, rq, "command", "GET");
	uint32_t rs = doc_add_obj(d, DOC_ROOT, "response");
	doc_add_str(d, rs, "type", "error");
	doc_add_str(d, rs, "value", "ERR unknown command");
	doc_add_null(d, DOC_ROOT, "error");
}

static void build_half(struct doc *d)
{
	doc_init(d);
	doc_reset(d);
	doc_add_int(d, DOC_ROOT, "id", 12);
	doc_add_str(d, DOC_ROOT, "protocol", "http");
	endpoints(d, "198.18.1.3", 36062, "198.18.2.2", 8080);
	uint32_t rq = doc_add_obj(d, DOC_ROOT, "request");
	doc_add_str(d, rq, "method", "POST");
	doc_add_str(d, rq, "path", "/x");
	doc_add_null(d, DOC_ROOT, "response");
	doc_add_null(d, DOC_ROOT, "elapsed_ms");
	uint32_t e = doc_add_obj(d, DOC_ROOT, "error");
	doc_add_str(d, e, "type", "half-connection");
	doc_add_str(d, e, "message", "response missing: connection reset by server");
	doc_add_str(d, e, "reason", "reset");
}

static int setup(void **state)
{
	(void)state;
	build_http(&http_doc);
	build_tcp(&tcp_doc);
	build_icmp(&icmp_doc);
	build_dns(&dns_doc);
	build_redis(&redis_doc);
	build_half(&half_doc);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	doc_free(&http_doc);
	doc_free(&tcp_doc);
	doc_free(&icmp_doc);
	doc_free(&dns_doc);
	doc_free(&redis_doc);
	doc_free(&half_doc);
	return 0;
}

/* Compile (must succeed) and match one doc. */
static bool match(const char *query, const struct doc *d)
{
	char err[512];
	struct kfl_expr *e = kfl_compile(query, err, sizeof(err));
	if (!e)
		fail_msg("query %s did not compile: %s", query, err);
	bool m = kfl_match(e, d);
	kfl_free(e);
	return m;
}

#define YES(q, d) do { if (!match(q, d)) fail_msg("expected %s to match %s", q, #d); } while (0)
#define NO(q, d)  do { if (match(q, d)) fail_msg("expected %s not to match %s", q, #d); } while (0)

/* Compile (must fail) and compare the whole message. */
static void check_error(const char *query, const char *want)
{
	char err[512];
	struct kfl_expr *e = kfl_compile(query, err, sizeof(err));
	if (e) {
		kfl_free(e);
		fail_msg("query %s compiled, expected error:\n%s", query, want);
	}
	if (strcmp(err, want) != 0)
		fail_msg("query %s\n got: [%s]\nwant: [%s]", query, err, want);
}

static void test_literals_and_comparisons(void **state)
{
	(void)state;
	struct doc *h = &http_doc;
	YES("response.status == 503", h);
	NO("response.status == 500", h);
	YES("response.status != 500", h);
	NO("response.status != 503", h);
	YES("response.status > 400", h);
	NO("response.status > 503", h);
	YES("response.status >= 503", h);
	YES("response.status < 600", h);
	NO("response.status < 503", h);
	YES("response.status <= 503", h);
	NO("response.status <= 502", h);
	YES("elapsed_ms > 12.25", h);
	YES("elapsed_ms == 12.5", h);
	YES("elapsed_ms < 1.3e1", h);
	YES("elapsed_ms > -1", h);
	YES("id == 7.0", h);
	YES("request.method == \"GET\"", h);
	NO("request.method == \"get\"", h);
	YES("request.method != \"POST\"", h);
	YES("request.method < \"POST\"", h);      /* strings order bytewise */
	YES("request.method >= \"GET\"", h);
	NO("request.method > \"GET\"", h);
	YES("response.chunked == true", h);
	YES("response.chunked != false", h);
	NO("response.chunked == false", h);
	YES("503 == response.status", h);          /* a literal on the left */
	YES("\"GET\" == request.method", h);
	YES("1 < 2", h);
	YES("src.port == 36060 and dst.port == 8080", h);
	YES("src.ip == \"198.18.1.2\"", h);
	/* string escapes */
	YES("response.reason == \"Service\\u0020Unavailable\"", h);
	NO("response.reason == \"Service\\tUnavailable\"", h);
	YES("request.path == \"\\/api\\/Users\\/42\"", h);
}

static void test_numbers_vs_strings(void **state)
{
	(void)state;
	struct doc *h = &http_doc;
	/* A string that is a whole number compares numerically with a number. */
	YES("response.status == \"503\"", h);
	YES("response.status > \"400\"", h);
	YES("request.headers[\"X-Count\"] == 17", h);
	YES("request.headers[\"X-Count\"] > 9", h);         /* numerically, not "17" < "9" */
	NO("request.headers[\"X-Count\"] == 18", h);
	/* Otherwise different types are never equal and do not order. */
	NO("response.status == \"503 Service\"", h);
	YES("response.status != \"abc\"", h);
	NO("response.status < \"abc\"", h);
	NO("request.method == 1", h);
	YES("request.method != 1", h);
	/* Booleans against strings compare with "true"/"false"; against numbers never equal. */
	YES("response.chunked == \"true\"", h);
	NO("response.chunked == 1", h);
	YES("response.chunked != 1", h);
	NO("response.chunked > false", h);
	/* An object is not equal to a scalar. */
	NO("response == 1", h);
	YES("response != 1", h);
}

static void test_precedence(void **state)
{
	(void)state;
	struct doc *h = &http_doc;
	/* and binds tighter than or: true or (false and false) */
	YES("true or false and false", h);
	YES("false and false or true", h);
	NO("(true or false) and false", h);
	YES("response.status == 503 or request.method == \"X\" and id == 0", h);
	NO("(response.status == 503 or request.method == \"X\") and id == 0", h);
	/* not binds tighter than and/or, and covers a whole comparison */
	YES("not false and true", h);
	NO("not true and true", h);
	YES("not true or true", h);
	NO("not (true or true)", h);
	YES("!response.status == 500", h);
	NO("!response.status == 503", h);
	YES("not not true", h);
	YES("!!true", h);
	NO("! ! ! true", h);
	/* both spellings */
	YES("true && true", h);
	NO("true && false", h);
	YES("false || true", h);
	YES("true&&(false||true)", h);
	YES("((((response.status == 503))))", h);
	/* left to right chains */
	YES("false or false or true", h);
	NO("true and true and false", h);
}

static void test_paths(void **state)
{
	(void)state;
	struct doc *h = &http_doc;
	YES("request.headers[\"Host\"] == \"shop.example.test\"", h);
	YES("request[\"headers\"][\"Host\"] == \"shop.example.test\"", h);
	YES("request.headers.Host == \"shop.example.test\"", h);
	YES("request[\"method\"] == \"GET\"", h);
	/* header names match whatever their case */
	YES("request.headers[\"host\"] == \"shop.example.test\"", h);
	YES("request.headers[\"Content-Type\"] == \"application/json\"", h);
	NO("request[\"Method\"] == \"GET\"", h);       /* only headers ignore case */
	YES("request.tags[0] == \"first\"", h);
	YES("request.tags[1] == \"second\"", h);
	NO("request.tags[2] == \"second\"", h);
	NO("request.tags[2] != \"second\"", h);
	YES("request.questions[0].name == \"x\" or true", h);
	YES("request.questions[0].name == \"missing.example.test\"", &dns_doc);
	YES("request.questions[0][\"type\"] == \"A\"", &dns_doc);
	NO("request.questions[1].name == \"missing.example.test\"", &dns_doc);
	NO("request.tags.first == \"x\"", h);          /* a key into an array */
	NO("request.tags[0].x == \"x\"", h);           /* through a string */
	NO("request.headers[0] == \"x\"", h);          /* an index into an object */
	/* keywords are plain names after a dot */
	NO("request.not == 1", h);
	NO("request.and == 1", h);
}

static void test_missing_and_null(void **state)
{
	(void)state;
	struct doc *h = &http_doc, *t = &tcp_doc, *half = &half_doc;
	/* a missing field makes its comparison false, != included */
	NO("nosuch == 1", h);
	NO("nosuch != 1", h);
	NO("nosuch < 1", h);
	NO("nosuch > 1", h);
	NO("nosuch == \"\"", h);
	NO("request.nosuch.deeper == 1", h);
	NO("nosuch == r\".*\"", h);
	NO("nosuch != r\"x\"", h);
	YES("!(nosuch == 1)", h);
	NO("nosuch.startsWith(\"\")", h);
	/* through null is missing too */
	NO("response.status > 400", t);
	NO("response.status != 200", t);
	NO("error.type == \"tcp\"", h);
	NO("error.type != \"tcp\"", h);
	/* null */
	YES("error == null", h);
	NO("error != null", h);
	NO("error == null", t);
	YES("error != null", t);
	YES("nosuch == null", h);
	NO("nosuch != null", h);
	YES("null == nosuch", h);
	YES("response == null", half);
	YES("elapsed_ms == null", half);
	NO("elapsed_ms == null", h);
	YES("null == null", h);
	NO("null != null", h);
	NO("nosuch == other_nosuch", h);
	NO("response.status == null", h);
	YES("response.status != null", h);
	/* a null field is not 0 and not "" */
	NO("elapsed_ms == 0", half);
	NO("elapsed_ms != 0", half);
	NO("response == \"\"", half);
}

static void test_truthiness(void **state)
{
	(void)state;
	struct doc *h = &http_doc, *half = &half_doc;
	YES("response", h);
	NO("response", half);               /* null */
	NO("nosuch", h);
	YES("!nosuch", h);
	YES("request.headers", h);
	YES("response.chunked", h);         /* true */
	NO("response.body_bytes", h);       /* 0 */
	YES("response.status", h);
	NO("request.headers[\"X-Empty\"]", h); /* "" */
	YES("request.headers.Host", h);
	YES("elapsed_ms", h);
	YES("true", h);
	NO("false", h);
	NO("null", h);
	NO("0", h);
	YES("1", h);
	NO("\"\"", h);
	YES("\"x\"", h);
}

static void test_bare_booleans(void **state)
{
	(void)state;
	struct {
		const char *q;
		bool http, tcp, icmp, dns, redis, half;
	} cases[] = {
		{ "http",   true,  false, false, false, false, true },
		{ "tcp",    false, true,  false, false, false, false },
		{ "icmp",   false, false, true,  false, false, false },
		{ "dns",    false, false, false, true,  false, false },
		{ "redis",  false, false, false, false, true,  false },
		{ "udp",    false, false, false, true,  false, false },
		{ "error",  false, true,  true,  false, false, true },
		{ "!error", true,  false, false, true,  true,  false },
		{ "!icmp",  true,  true,  false, true,  true,  true },
		{ "!tcp",   true,  false, true,  true,  true,  true },
		{ "not http", false, true, true, true, true, false },
		{ "response.status > 400 or error or icmp or tcp", true, true, true, false, false, true },
		{ "http and !error", true, false, false, false, false, false },
		{ "dns and udp", false, false, false, true, false, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct doc *docs[] = { &http_doc, &tcp_doc, &icmp_doc, &dns_doc, &redis_doc, &half_doc };
		bool want[] = { cases[i].http, cases[i].tcp, cases[i].icmp, cases[i].dns,
				cases[i].redis, cases[i].half };
		for (size_t j = 0; j < 6; j++)
			if (match(cases[i].q, docs[j]) != want[j])
				fail_msg("%s on doc %zu: got %d, want %d", cases[i].q, j, !want[j], want[j]);
	}
	/* A protocol name followed by a path is a field: tcp.reason, icmp.code_name. */
	YES("tcp.reason == \"refused\"", &tcp_doc);
	NO("tcp.reason == \"refused\"", &http_doc);
	YES("tcp.retransmissions == 1", &http_doc);     /* tcp object on an http entry */
	NO("tcp", &http_doc);                           /* ...which is not a tcp entry */
	YES("icmp.code_name == \"Port unreachable\"", &icmp_doc);
	YES("icmp.type == 3 and icmp.code == 3", &icmp_doc);
	YES("error.type == \"tcp\"", &tcp_doc);
	YES("error.message == \"SynSent\"", &tcp_doc);
	/* udp without a transport field is false */
	NO("udp", &redis_doc);
}

static void test_helpers(void **state)
{
	(void)state;
	struct doc *h = &http_doc;
	YES("src.ip.startsWith(\"198.18.1.\")", h);
	NO("src.ip.startsWith(\"198.18.2.\")", h);
	YES("dst.ip.startsWith(\"198.18.2.\")", h);
	YES("request.path.endsWith(\"/42\")", h);
	NO("request.path.endsWith(\"/4\")", h);
	YES("request.path.contains(\"Users\")", h);
	NO("request.path.contains(\"users\")", h);
	YES("request.path.contains(\"\")", h);
	YES("request.path.startsWith(\"\")", h);
	NO("request.path.startsWith(\"/api/Users/42/more\")", h);
	YES("request.headers[\"Host\"].endsWith(\".test\")", h);
	YES("request.headers.Host.contains(\"example\")", h);
	YES("!request.path.contains(\"admin\")", h);
	YES("not request.path.contains(\"admin\") and http", h);
	/* numbers through their text */
	YES("response.status.startsWith(\"5\")", h);
	YES("dst.port.endsWith(\"80\")", h);
	YES("response.status.contains(50)", h);
	/* the argument may be a field */
	YES("request.path.contains(request.method) or true", h);
	YES("request.headers.Host.startsWith(request.headers.Host)", h);
	/* a helper is a boolean operand */
	YES("src.ip.startsWith(\"198.\") == true", h);
	YES("src.ip.startsWith(\"10.\") == false", h);
	/* a missing subject or argument */
	NO("nosuch.contains(\"a\")", h);
	NO("request.path.contains(nosuch)", h);
	YES("!nosuch.contains(\"a\")", h);
}

static void test_regex(void **state)
{
	(void)state;
	struct doc *h = &http_doc;
	YES("request.path == r\"^/api/\"", h);
	YES("request.path == r\"Users\"", h);               /* unanchored */
	NO("request.path == r\"^Users\"", h);
	YES("request.path == r\"/\\d+$\"", h);              /* \d */
	YES("request.path == r\"\\w+/\\w+\"", h);           /* \w */
	YES("response.reason == r\"Service\\sUnavailable\"", h); /* \s */
	NO("request.path == r\"users\"", h);
	YES("request.path == r\"(?i)users\"", h);           /* case-insensitive */
	YES("request.path != r\"admin\"", h);
	NO("request.path != r\"api\"", h);
	YES("r\"^GET$\" == request.method", h);             /* regex on the left */
	YES("request.path == r\"/a.*?/\"", h);              /* non-greedy */
	YES("error.type == r\"half|tcp\"", &half_doc);
	YES("error.type == r\"half|tcp\"", &tcp_doc);
	NO("error.type == r\"half|tcp\"", &icmp_doc);
	NO("error.type == r\"half|tcp\"", h);               /* error is null */
	YES("response.status == r\"^5\\d\\d$\"", h);        /* numbers as their text */
	YES("response.chunked == r\"^true$\"", h);
	YES("src.ip == r\"^198\\.18\\.1\\.\"", h);
	YES("response.reason == r\"a\\\"?ble\"", h);        /* \" keeps the quote in the pattern */
	NO("response.reason == r\"$Service\"", h);
	/* Go's $ matches only at the very end */
	NO("request.path == r\"42$\" and false", h);
	YES("request.path == r\"(?:a|b|c)pi\"", h);
	/* backtracking is bounded: a pathological pattern finishes (and fails) */
	struct doc a;
	doc_init(&a);
	doc_reset(&a);
	doc_add_str(&a, DOC_ROOT, "s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac");
	NO("s == r\"^(a|aa)+(a|aa)+b\"", &a);
	YES("s == r\"^(a|aa)+c$\"", &a);
	doc_free(&a);
	/* the same compiled regex matched many times */
	char err[256];
	struct kfl_expr *e = kfl_compile("error.type == r\"^(half-connection|tcp)$\"", err, sizeof(err));
	assert_non_null(e);
	for (int i = 0; i < 100; i++) {
		assert_true(kfl_match(e, &half_doc));
		assert_true(kfl_match(e, &tcp_doc));
		assert_false(kfl_match(e, &icmp_doc));
	}
	kfl_free(e);
}

/* The expression owns what it needs: the query may be freed after compiling. */
static void test_query_not_retained(void **state)
{
	(void)state;
	char err[256];
	char *q = strdup("request.headers[\"Host\"] == \"shop.example.test\" and "
			 "request.method.startsWith(\"GE\") and response.reason == r\"Service\" and tcp.retransmissions == 1");
	assert_non_null(q);
	struct kfl_expr *e = kfl_compile(q, err, sizeof(err));
	assert_non_null(e);
	memset(q, 'x', strlen(q));
	free(q);
	assert_true(kfl_match(e, &http_doc));
	assert_false(kfl_match(e, &half_doc));
	kfl_free(e);
}

static void test_empty_and_whitespace(void **state)
{
	(void)state;
	YES("", &http_doc);
	YES("   ", &tcp_doc);
	YES("\tresponse.status\n==\r503 ", &http_doc);
	assert_false(kfl_match(NULL, &http_doc));
	kfl_free(NULL);
}

static void test_error_messages(void **state)
{
	(void)state;
	check_error("response.status ==",
		    "column 17: expected a value after '==', got end of input\n"
		    "  response.status ==\n"
		    "                  ^");
	check_error("a ==",
		    "column 3: expected a value after '==', got end of input\n"
		    "  a ==\n"
		    "    ^");
	check_error("(a == 1",
		    "column 1: expected ')' to close '(', got end of input\n"
		    "  (a == 1\n"
		    "  ^");
	check_error("(a == 1 b",
		    "column 9: expected ')' to close '(', got 'b'\n"
		    "  (a == 1 b\n"
		    "          ^");
	check_error("a === 1",
		    "column 5: expected a value after '==', got '='\n"
		    "  a === 1\n"
		    "      ^");
	check_error("a = 1",
		    "column 3: expected 'and', 'or' or end of input, got '=' (compare with '==')\n"
		    "  a = 1\n"
		    "    ^");
	check_error("\"unterminated",
		    "column 1: unterminated string, expected a closing '\"'\n"
		    "  \"unterminated\n"
		    "  ^");
	check_error("a == \"abc",
		    "column 6: unterminated string, expected a closing '\"'\n"
		    "  a == \"abc\n"
		    "       ^");
	check_error("x.foo(\"a\")",
		    "column 3: unknown helper 'foo', expected startsWith, endsWith or contains\n"
		    "  x.foo(\"a\")\n"
		    "    ^");
	check_error("a == r\"(\"",
		    "column 6: invalid regular expression r\"(\": missing closing parenthesis (at offset 1 of the pattern)\n"
		    "  a == r\"(\"\n"
		    "       ^");
	check_error("a == 1 b",
		    "column 8: expected 'and', 'or' or end of input, got 'b'\n"
		    "  a == 1 b\n"
		    "         ^");
	check_error("a and",
		    "column 3: expected a condition after 'and', got end of input\n"
		    "  a and\n"
		    "    ^");
	check_error("a || or",
		    "column 6: expected a condition after '||', got 'or'\n"
		    "  a || or\n"
		    "       ^");
	check_error("!",
		    "column 1: expected a condition after '!', got end of input\n"
		    "  !\n"
		    "  ^");
	check_error("a.",
		    "column 2: expected a field or helper name after '.', got end of input\n"
		    "  a.\n"
		    "   ^");
	check_error("a[",
		    "column 2: expected a \"key\" or an index after '[', got end of input\n"
		    "  a[\n"
		    "   ^");
	check_error("a[-1] == 1",
		    "column 3: expected a \"key\" or an index after '[', got '-1'\n"
		    "  a[-1] == 1\n"
		    "    ^");
	check_error("a[\"x\" == 1",
		    "column 7: expected ']', got '=='\n"
		    "  a[\"x\" == 1\n"
		    "        ^");
	check_error("a < r\"x\"",
		    "column 3: a regular expression is matched with '==' or '!=', not '<'\n"
		    "  a < r\"x\"\n"
		    "    ^");
	check_error("r\"x\" or a",
		    "column 1: a regular expression must be compared: field == r\"x\"\n"
		    "  r\"x\" or a\n"
		    "  ^");
	check_error("a == 1 == 2",
		    "column 8: comparisons do not chain: expected 'and', 'or', ')' or end of input\n"
		    "  a == 1 == 2\n"
		    "         ^");
	check_error("a == 1)",
		    "column 7: unmatched ')'\n"
		    "  a == 1)\n"
		    "        ^");
	check_error("x.startsWith(",
		    "column 13: expected a string argument to startsWith(), got end of input\n"
		    "  x.startsWith(\n"
		    "              ^");
	check_error("x.endsWith(\"a\"",
		    "column 11: expected ')' to close endsWith(, got end of input\n"
		    "  x.endsWith(\"a\"\n"
		    "            ^");
	check_error("x.contains(r\"a\")",
		    "column 12: expected a string argument to contains()\n"
		    "  x.contains(r\"a\")\n"
		    "             ^");
	check_error("a == \"\\q\"",
		    "column 7: unknown escape '\\q' in string, expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX\n"
		    "  a == \"\\q\"\n"
		    "        ^");
	check_error("a == 1.",
		    "column 7: expected a digit after the decimal point\n"
		    "  a == 1.\n"
		    "        ^");
	check_error("a == 1 & b",
		    "column 8: expected 'and', 'or' or end of input, got '&' (use '&&' or 'and')\n"
		    "  a == 1 & b\n"
		    "         ^");
	/* Columns count characters, not bytes. */
	check_error("a == \"\xc3\xa9\xc3\xa9\" b",
		    "column 11: expected 'and', 'or' or end of input, got 'b'\n"
		    "  a == \"\xc3\xa9\xc3\xa9\" b\n"
		    "            ^");
	check_error("a == \"x\" \xe2\x82\xac",
		    "column 10: expected 'and', 'or' or end of input, got '\xe2\x82\xac'\n"
		    "  a == \"x\" \xe2\x82\xac\n"
		    "           ^");
	check_error("startsWith(\"a\")",
		    "column 1: 'startsWith' is not a function: helpers are called on a field, "
		    "e.g. src.ip.startsWith(\"198.18.\")\n"
		    "  startsWith(\"a\")\n"
		    "  ^");
	check_error(")",
		    "column 1: expected a condition, got ')'\n"
		    "  )\n"
		    "  ^");
}

static void test_error_edges(void **state)
{
	(void)state;
	char err[512], tiny[8];
	char deep[1024];
	/* Nesting is bounded. */
	memset(deep, '(', 600);
	strcpy(deep + 600, "true");
	assert_null(kfl_compile(deep, err, sizeof(err)));
	assert_non_null(strstr(err, "nested too deeply"));
	/* A small buffer is truncated, never overrun. */
	assert_null(kfl_compile("a ==", tiny, sizeof(tiny)));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_null(kfl_compile("a ==", NULL, 0));
	/* Deep but legal nesting compiles. */
	memset(deep, '(', 100);
	strcpy(deep + 100, "true");
	memset(deep + 104, ')', 100);
	deep[204] = '\0';
	struct kfl_expr *e = kfl_compile(deep, err, sizeof(err));
	assert_non_null(e);
	assert_true(kfl_match(e, &http_doc));
	kfl_free(e);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_literals_and_comparisons),
	cmocka_unit_test(test_numbers_vs_strings),
	cmocka_unit_test(test_precedence),
	cmocka_unit_test(test_paths),
	cmocka_unit_test(test_missing_and_null),
	cmocka_unit_test(test_truthiness),
	cmocka_unit_test(test_bare_booleans),
	cmocka_unit_test(test_helpers),
	cmocka_unit_test(test_regex),
	cmocka_unit_test(test_query_not_retained),
	cmocka_unit_test(test_empty_and_whitespace),
	cmocka_unit_test(test_error_messages),
	cmocka_unit_test(test_error_edges),
};

int main(void)
{
	return cmocka_run_group_tests(tests, setup, teardown);
}
