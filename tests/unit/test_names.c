// SPDX-License-Identifier: MIT
/* The IP -> name table: TTL, LRU bound, pinned (--names) entries, memory budget, file lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "report/names.h"
#include "report/stats.h"

#define S 1000000000ull

static struct fl_addr v4(uint32_t n)
{
	struct fl_addr a = { .family = 4, .bytes = { 198, (uint8_t)(18 + (n >> 16)), (uint8_t)(n >> 8), (uint8_t)n } };
	return a;
}

static void test_ttl(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	struct names *n = names_new(16, &stats);
	struct fl_addr a = v4(1), b = v4(2);
	const char *ns;
	assert_int_equal(names_learn(n, &a, "redis.shop.svc.cluster.local", NULL, 30 * S, false), 0);
	assert_string_equal(names_lookup(n, &a, 10 * S, &ns), "redis.shop.svc.cluster.local");
	assert_null(ns);
	assert_null(names_lookup(n, &b, 10 * S, &ns));
	/* Past its expiry the name is gone, and counted. */
	assert_null(names_lookup(n, &a, 31 * S, &ns));
	assert_int_equal(stats.attribution.names_expired, 1);
	assert_int_equal(stats.attribution.name_hits, 1);
	assert_int_equal(stats.attribution.name_misses, 2);
	assert_int_equal(names_count(n), 0);
	/* A later answer for the same address replaces the name. */
	names_learn(n, &a, "old.test", NULL, 100 * S, false);
	names_learn(n, &a, "new.test", NULL, 100 * S, false);
	assert_string_equal(names_lookup(n, &a, 50 * S, &ns), "new.test");
	assert_int_equal(names_count(n), 1);
	names_free(n);
	assert_int_equal(stats.memory.attribution_bytes, 0);
}

/* Full: the least recently used name goes; a name just looked up stays. */
static void test_lru_bound(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	const unsigned max = 1000;
	struct names *n = names_new(max, &stats);
	const char *ns;
	char name[32];
	for (unsigned i = 0; i < max; i++) {
		struct fl_addr a = v4(i);
		snprintf(name, sizeof(name), "h%u.test", i);
		assert_int_equal(names_learn(n, &a, name, NULL, 1000 * S, false), 0);
	}
	struct fl_addr first = v4(0), second = v4(1);
	assert_non_null(names_lookup(n, &first, S, &ns));   /* now the most recent */
	uint64_t bytes = stats.memory.attribution_bytes;
	for (unsigned i = max; i < 100000; i++) {
		struct fl_addr a = v4(i);
		snprintf(name, sizeof(name), "h%u.test", i);
		assert_int_equal(names_learn(n, &a, name, NULL, 1000 * S, false), 0);
		if (i == max)
			assert_null(names_lookup(n, &second, S, &ns));  /* the oldest went first */
	}
	assert_int_equal(names_count(n), max);
	assert_int_equal(stats.attribution.names, max);
	assert_int_equal(stats.attribution.names_evicted, 100000 - max);
	/* Never grew past its bound. */
	assert_int_equal(stats.memory.attribution_bytes, bytes);
	names_free(n);
}

static void test_pinned(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	struct names *n = names_new(2, &stats);
	struct fl_addr a = v4(1), b = v4(2), c = v4(3);
	const char *ns;
	char err[128];
	assert_int_equal(names_parse_line(n, "198.18.0.1 checkout shop\n", err, sizeof(err)), 0);
	/* DNS does not replace the user's name, and the name never expires. */
	names_learn(n, &a, "dns.test", NULL, 10 * S, false);
	assert_string_equal(names_lookup(n, &a, 1000000 * S, &ns), "checkout");
	assert_string_equal(ns, "shop");
	/* Learned names are evicted, pinned ones are not. */
	names_learn(n, &b, "b.test", NULL, 10 * S, false);
	names_learn(n, &c, "c.test", NULL, 10 * S, false);
	assert_null(names_lookup(n, &b, S, &ns));
	assert_string_equal(names_lookup(n, &c, S, &ns), "c.test");
	assert_int_equal(names_parse_line(n, "198.18.0.2 b", err, sizeof(err)), 0);
	/* The table holds only pinned names: one more is refused. */
	assert_int_equal(names_parse_line(n, "198.18.0.9 x", err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "tap.attribution.maxNames"));
	names_free(n);
}

static void test_parse_line(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	struct names *n = names_new(16, &stats);
	char err[256];
	const char *ns;
	assert_int_equal(names_parse_line(n, "   \n", err, sizeof(err)), 0);
	assert_int_equal(names_parse_line(n, "# comment only\n", err, sizeof(err)), 0);
	assert_int_equal(names_parse_line(n, "fd18::2\tweb # trailing\n", err, sizeof(err)), 0);
	struct fl_addr v6 = { .family = 6, .bytes = { 0xfd, 0x18, [15] = 2 } };
	assert_string_equal(names_lookup(n, &v6, 0, &ns), "web");
	assert_int_equal(names_parse_line(n, "198.18.0.1\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "IP name [namespace]"));
	assert_int_equal(names_parse_line(n, "198.18.0.1 a b c\n", err, sizeof(err)), -EINVAL);
	assert_int_equal(names_parse_line(n, "web.test 198.18.0.1\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'web.test' is not an IPv4 or IPv6 address"));
	assert_int_equal(names_parse_line(n, "198.18.0.1 we\"b\n", err, sizeof(err)), -EINVAL);
	char long_ns[200];
	memset(long_ns, 'x', sizeof(long_ns) - 1);
	long_ns[sizeof(long_ns) - 1] = '\0';
	char line[300];
	snprintf(line, sizeof(line), "198.18.0.1 web %s", long_ns);
	assert_int_equal(names_parse_line(n, line, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "namespace"));
	names_free(n);
}

/* Under tap.memoryLimitMb the table stops growing and reuses its oldest entries. */
static void test_memory_limit(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	struct names *n = names_new(100000, &stats);
	stats.memory.limit_bytes = stats.memory.attribution_bytes + (1u << 20);
	char name[32];
	for (unsigned i = 0; i < 50000; i++) {
		struct fl_addr a = v4(i);
		snprintf(name, sizeof(name), "h%u.test", i);
		assert_int_equal(names_learn(n, &a, name, NULL, 1000 * S, false), 0);
	}
	assert_true(memory_used(&stats) <= stats.memory.limit_bytes);
	assert_true(names_count(n) < 50000);
	assert_true(stats.memory.over_limit > 0);
	assert_true(stats.attribution.names_evicted > 0);
	names_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_lru_bound),
		cmocka_unit_test(test_pinned),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_memory_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
