// SPDX-License-Identifier: MIT
/* The doc model (entries' shape and JSON) and configuration keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "report/doc.h"

static char *to_json(const struct doc *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	doc_write_json(d, DOC_ROOT, f);
	fclose(f);
	return buf;
}

static void test_build_lookup_and_json(void **state)
{
	(void)state;
	struct doc d;
	doc_init(&d);
	for (int round = 0; round < 2; round++) {    /* reuse after reset */
		doc_reset(&d);
		uint32_t req = doc_add_obj(&d, DOC_ROOT, "request");
		uint32_t h = doc_add_obj(&d, req, "headers");
		doc_add_str(&d, h, "Host", "a\"b\\c\n");
		uint32_t arr = doc_add_arr(&d, DOC_ROOT, "list");
		doc_add_int(&d, arr, NULL, -3);
		doc_add_real(&d, arr, NULL, 1.5);
		doc_add_null(&d, DOC_ROOT, "error");
		doc_add_bool(&d, DOC_ROOT, "ok", true);
		char *json = to_json(&d);
		assert_string_equal(json, "{\"request\":{\"headers\":{\"Host\":\"a\\\"b\\\\c\\n\"}},"
					  "\"list\":[-3,1.500],\"error\":null,\"ok\":true}");
		free(json);
		assert_string_equal(doc_path_str(&d, DOC_ROOT, "request.headers.Host"), "a\"b\\c\n");
		assert_int_equal(doc_path(&d, DOC_ROOT, "request.missing"), DOC_NONE);
		assert_true(doc_number(&d, doc_index(&d, arr, 1)) == 1.5);
		assert_int_equal(doc_index(&d, arr, 2), DOC_NONE);
		assert_int_equal(doc_type_of(&d, doc_get(&d, DOC_ROOT, "error")), DOC_NULL);
	}
	struct doc copy;
	doc_init(&copy);
	doc_reset(&copy);
	doc_copy(&copy, DOC_ROOT, "x", &d, doc_get(&d, DOC_ROOT, "request"));
	assert_string_equal(doc_path_str(&copy, DOC_ROOT, "x.headers.Host"), "a\"b\\c\n");
	doc_free(&copy);
	doc_free(&d);
}

static void test_control_characters_escaped(void **state)
{
	(void)state;
	struct doc d;
	doc_init(&d);
	doc_reset(&d);
	doc_add_strn(&d, DOC_ROOT, "s", "\x01\x7f", 2);
	char *json = to_json(&d);
	assert_string_equal(json, "{\"s\":\"\\u0001\\u007f\"}");
	free(json);
	doc_free(&d);
}

static void test_config_set(void **state)
{
	(void)state;
	struct fl_config c;
	char err[256];
	config_defaults(&c);
	assert_int_equal(c.stream_timeout_ms, 10000);
	assert_int_equal(config_set(&c, "tap.tcpStreamChannelTimeoutMs=2500", err, sizeof(err)), 0);
	assert_int_equal(c.stream_timeout_ms, 2500);
	assert_int_equal(config_set(&c, "tap.maxFlows=64", err, sizeof(err)), 0);
	assert_int_equal(c.max_flows, 64);
	assert_true(config_set(&c, "tap.nope=1", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "unknown configuration key 'tap.nope'"));
	assert_true(config_set(&c, "tap.snaplen=-1", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "tap.snaplen"));
	assert_true(config_set(&c, "tap.snaplen", err, sizeof(err)) < 0);
	assert_true(config_set(&c, "tap.snaplen=12abc", err, sizeof(err)) < 0);
}

static void test_config_yaml(void **state)
{
	(void)state;
	struct fl_config c;
	char err[256], path[] = "/tmp/faultline-test-XXXXXX";
	int fd = mkstemp(path);
	const char yaml[] = "# comment\ntap:\n  tcpStreamChannelTimeoutMs: 1234\n  snaplen: 1500\n"
			    "tap.maxFlows: 99\n";
	assert_int_equal(write(fd, yaml, sizeof(yaml) - 1), (ssize_t)sizeof(yaml) - 1);
	close(fd);
	config_defaults(&c);
	assert_int_equal(config_load_yaml(&c, path, err, sizeof(err)), 0);
	assert_int_equal(c.stream_timeout_ms, 1234);
	assert_int_equal(c.snaplen, 1500);
	assert_int_equal(c.max_flows, 99);

	FILE *f = fopen(path, "w");
	fputs("tap:\n  snaplen: [1, 2]\n", f);
	fclose(f);
	assert_true(config_load_yaml(&c, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, ":2:"));       /* names the line */
	f = fopen(path, "w");
	fputs("tap:\n  bogus: 1\n", f);
	fclose(f);
	assert_true(config_load_yaml(&c, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "tap.bogus"));
	unlink(path);
	assert_true(config_load_yaml(&c, path, err, sizeof(err)) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_lookup_and_json),
		cmocka_unit_test(test_control_characters_escaped),
		cmocka_unit_test(test_config_set),
		cmocka_unit_test(test_config_yaml),
	};
	return cmocka_run_group_tests_name("doc_config", tests, NULL, NULL);
}
