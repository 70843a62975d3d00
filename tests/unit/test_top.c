// SPDX-License-Identifier: MIT
/* The grouping behind `faultline top`, `read --top` and the summary (sink/top.c), and JSON back into a doc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/doc.h"
#include "report/doc_json.h"
#include "sink/top.h"

#define SEC 1000000000ull
#define T0 (1764000000ull * SEC)

/* Parse one entry line into d (the test's way of building entries). */
static void entry(struct doc *d, const char *json)
{
	assert_int_equal(doc_parse_json(d, json, strlen(json)), 0);
}

static const char *refused_81 =
	"{\"ts\":\"2025-11-24T16:00:00.250000Z\",\"protocol\":\"tcp\",\"src\":{\"ip\":\"198.18.64.1\","
	"\"port\":40000},\"dst\":{\"ip\":\"198.18.64.2\",\"port\":81},\"error\":{\"type\":\"tcp\","
	"\"message\":\"SynSent\"},\"tcp\":{\"reason\":\"refused\"}}";

static void test_key_of(void **state)
{
	struct doc d;
	struct top_key k;

	(void)state;
	doc_init(&d);
	entry(&d, refused_81);
	assert_true(top_key_of(&d, &k));
	assert_string_equal(k.src, "198.18.64.1");        /* no source port: one group per client */
	assert_string_equal(k.dst, "198.18.64.2:81");
	assert_string_equal(k.proto, "tcp");
	assert_string_equal(k.error, "tcp SynSent");

	/* A name wins over the address; IPv6 with a port is bracketed. */
	entry(&d, "{\"protocol\":\"tcp\",\"src\":{\"ip\":\"fd18::1\",\"name\":\"web-1\"},"
		  "\"dst\":{\"ip\":\"fd18::2\",\"port\":443},\"error\":{\"type\":\"tcp\",\"message\":\"Reset\"}}");
	assert_true(top_key_of(&d, &k));
	assert_string_equal(k.src, "web-1");
	assert_string_equal(k.dst, "[fd18::2]:443");

	/* Failures that are not errors: HTTP 5xx, DNS SERVFAIL / REFUSED. */
	entry(&d, "{\"protocol\":\"http\",\"src\":{\"ip\":\"198.18.64.1\"},\"dst\":{\"ip\":\"198.18.64.2\","
		  "\"port\":80},\"response\":{\"status\":503,\"reason\":\"Service Unavailable\"}}");
	assert_true(top_key_of(&d, &k));
	assert_string_equal(k.error, "http 503 Service Unavailable");
	entry(&d, "{\"protocol\":\"dns\",\"src\":{\"ip\":\"198.18.64.1\"},\"dst\":{\"ip\":\"198.18.64.2\","
		  "\"port\":53},\"response\":{\"rcode_name\":\"SERVFAIL\"}}");
	assert_true(top_key_of(&d, &k));
	assert_string_equal(k.error, "dns SERVFAIL");

	/* Healthy: a 404, a NOERROR answer, a ping. */
	entry(&d, "{\"protocol\":\"http\",\"src\":{\"ip\":\"a\"},\"dst\":{\"ip\":\"b\"},\"response\":{\"status\":404}}");
	assert_false(top_key_of(&d, &k));
	entry(&d, "{\"protocol\":\"dns\",\"src\":{\"ip\":\"a\"},\"dst\":{\"ip\":\"b\"},\"response\":{\"rcode_name\":\"NXDOMAIN\"}}");
	assert_false(top_key_of(&d, &k));
	entry(&d, "{\"protocol\":\"icmp\",\"src\":{\"ip\":\"a\"},\"dst\":{\"ip\":\"b\"},\"icmp\":{\"type\":8}}");
	assert_false(top_key_of(&d, &k));
	doc_free(&d);
}

static void test_group_count_and_rates(void **state)
{
	struct top_table t;
	struct top_key a = { "198.18.64.1", "198.18.64.2:81", "tcp", "tcp SynSent" };
	struct top_key b = { "198.18.64.1", "198.18.64.2:82", "tcp", "tcp SynSent" };
	const struct top_group *out[4];

	(void)state;
	assert_int_equal(top_init(&t, 16), 0);
	/* 50 failures of a, one a second for 50 s; 3 of b in the last second. */
	for (int i = 0; i < 50; i++)
		top_add(&t, &a, T0 + (uint64_t)i * SEC, "SynSent refused");
	for (int i = 0; i < 3; i++)
		top_add(&t, &b, T0 + 49 * SEC + (uint64_t)i, "SynSent refused");
	assert_int_equal(t.n, 2);
	assert_int_equal(t.total, 53);
	uint64_t now = T0 + 49 * SEC + SEC / 2;
	unsigned n = top_sorted(&t, TOP_SORT_COUNT, now, out, 4);
	assert_int_equal(n, 2);
	assert_int_equal(out[0]->count, 50);
	assert_string_equal(out[0]->key.dst, "198.18.64.2:81");
	/* a: 10 in the last 10 s, 50 in the last minute; b: 3 and 3. */
	assert_true(top_rate(out[0], now, 10) == 1.0);
	assert_true(top_rate(out[0], now, 60) == 50.0 / 60);
	assert_true(top_rate(out[1], now, 10) == 0.3);
	/* By rate: a (1.0/s) before b (0.3/s). */
	top_sorted(&t, TOP_SORT_RATE, now, out, 4);
	assert_string_equal(out[0]->key.dst, "198.18.64.2:81");
	/* Two minutes later nothing is recent: the rates fall to 0, the counts stay. */
	assert_true(top_rate(out[0], now + 120 * SEC, 60) == 0.0);
	assert_true(top_rate(out[0], now + 120 * SEC, 10) == 0.0);
	assert_int_equal(out[0]->count, 50);
	/* 15 s later: none in the last 10 s; a has seconds 5..49 (45) in the minute ending now. */
	assert_true(top_rate(out[0], now + 15 * SEC, 10) == 0.0);
	assert_true(top_rate(out[0], now + 15 * SEC, 60) == 45.0 / 60);
	/* By last seen: b is the newest. */
	top_sorted(&t, TOP_SORT_LAST, now, out, 4);
	assert_string_equal(out[0]->key.dst, "198.18.64.2:82");
	/* The example is the first entry's line. */
	assert_string_equal(out[0]->example, "SynSent refused");
	top_free(&t);
}

static void test_recent_and_sort_limit(void **state)
{
	struct top_table t;
	struct top_key k = { "s", "d:1", "tcp", "tcp Reset" };
	char line[32];
	const struct top_group *out[3];

	(void)state;
	assert_int_equal(top_init(&t, 64), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "entry %d", i);
		top_add(&t, &k, T0 + (uint64_t)i, line);
	}
	const struct top_group *g = &t.groups[0];
	assert_string_equal(top_recent(g, 0), "entry 19");       /* newest first */
	assert_string_equal(top_recent(g, TOP_RECENT - 1), "entry 12");
	assert_null(top_recent(g, TOP_RECENT));
	/* The first n of many, in order. */
	for (int i = 0; i < 10; i++) {
		struct top_key o = k;
		snprintf(o.dst, sizeof(o.dst), "d:%d", 100 + i);
		for (int j = 0; j <= i; j++)
			top_add(&t, &o, T0, "x");
	}
	assert_int_equal(top_sorted(&t, TOP_SORT_COUNT, T0, out, 3), 3);
	assert_int_equal(out[0]->count, 20);
	assert_int_equal(out[1]->count, 10);
	assert_int_equal(out[2]->count, 9);
	top_free(&t);
}

static void test_eviction(void **state)
{
	struct top_table t;
	struct top_key k = { "s", "d", "tcp", "tcp SynSent" };

	(void)state;
	assert_int_equal(top_init(&t, 4), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(k.dst, sizeof(k.dst), "d:%d", i);
		assert_non_null(top_add(&t, &k, T0 + (uint64_t)i * SEC, "x"));
	}
	/* Never more groups than the table holds; the least recently seen went. */
	assert_int_equal(t.n, 4);
	assert_int_equal(t.evicted, 2);
	for (unsigned i = 0; i < t.n; i++) {
		assert_string_not_equal(t.groups[i].key.dst, "d:0");
		assert_string_not_equal(t.groups[i].key.dst, "d:1");
	}
	top_free(&t);
}

static void test_ts_and_age(void **state)
{
	char b[16];

	(void)state;
	assert_true(top_parse_ts("1970-01-01T00:00:01.500000Z") == 1500000000ull);
	assert_true(top_parse_ts("2025-11-24T16:00:00.250000Z") == 1764000000ull * SEC + SEC / 4);
	assert_true(top_parse_ts("nonsense") == 0);
	assert_true(top_parse_ts(NULL) == 0);
	top_age(T0, T0, b, sizeof(b));
	assert_string_equal(b, "now");
	top_age(T0, T0 + 5 * SEC, b, sizeof(b));
	assert_string_equal(b, "5s");
	top_age(T0, T0 + 600 * SEC, b, sizeof(b));
	assert_string_equal(b, "10m");
	top_age(T0, T0 + 3 * 86400 * SEC, b, sizeof(b));
	assert_string_equal(b, "3d");
}

/* JSON text back into a doc: what doc_write_json wrote reads back the same. */
static void test_json_round_trip(void **state)
{
	struct doc d, e;
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	doc_init(&d);
	doc_init(&e);
	doc_reset(&d);
	doc_add_str(&d, DOC_ROOT, "s", "a\"b\\c\n\x01 \xc3\xa9");
	doc_add_int(&d, DOC_ROOT, "i", -42);
	doc_add_real(&d, DOC_ROOT, "r", 1.5);
	doc_add_bool(&d, DOC_ROOT, "t", true);
	doc_add_null(&d, DOC_ROOT, "n");
	uint32_t arr = doc_add_arr(&d, DOC_ROOT, "a");
	doc_add_int(&d, arr, NULL, 1);
	uint32_t o = doc_add_obj(&d, arr, NULL);
	doc_add_str(&d, o, "k", "v");
	FILE *f = open_memstream(&buf, &len);
	doc_write_json(&d, DOC_ROOT, f);
	fclose(f);
	assert_int_equal(doc_parse_json(&e, buf, len), 0);
	assert_string_equal(doc_path_str(&e, DOC_ROOT, "s"), "a\"b\\c\n\x01 \xc3\xa9");
	assert_true(doc_number(&e, doc_get(&e, DOC_ROOT, "i")) == -42);
	assert_int_equal(doc_type_of(&e, doc_get(&e, DOC_ROOT, "i")), DOC_INT);
	assert_true(doc_number(&e, doc_get(&e, DOC_ROOT, "r")) == 1.5);
	assert_int_equal(doc_type_of(&e, doc_get(&e, DOC_ROOT, "n")), DOC_NULL);
	assert_string_equal(doc_path_str(&e, doc_index(&e, doc_get(&e, DOC_ROOT, "a"), 1), "k"), "v");
	/* \u escapes, a surrogate pair. */
	const char *u = "{\"x\":\"\\u00e9\\ud83d\\ude00\"}";
	assert_int_equal(doc_parse_json(&e, u, strlen(u)), 0);
	assert_string_equal(doc_path_str(&e, DOC_ROOT, "x"), "\xc3\xa9\xf0\x9f\x98\x80");
	/* Malformed and non-object input is refused, never half-read. */
	const char *bad[] = { "", "[1]", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":tru}", "{\"a\":\"x}",
			      "{\"a\":1} x", "{\"a\":\"\\q\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(doc_parse_json(&e, bad[i], strlen(bad[i])), -1);
	/* Too deep. */
	char deep[400];
	size_t n = 0;
	deep[n++] = '{';
	for (int i = 0; i < 70; i++) {
		memcpy(deep + n, "\"a\":{", 5);
		n += 5;
	}
	assert_int_equal(doc_parse_json(&e, deep, n), -1);
	free(buf);
	doc_free(&d);
	doc_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_of),
		cmocka_unit_test(test_group_count_and_rates),
		cmocka_unit_test(test_recent_and_sort_limit),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_ts_and_age),
		cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests_name("top", tests, NULL, NULL);
}
