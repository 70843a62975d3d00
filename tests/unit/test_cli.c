// SPDX-License-Identifier: MIT
/* cli_parse: options, --set over --config, and repeated calls in one process. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "cmd/cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_read_options(void **state)
{
	char *argv[] = { "read", "-o", "json", "--set", "tap.snaplen=1500", "-f", "error", "x.pcap" };
	struct cli_opts o;
	(void)state;
	assert_int_equal(cli_parse(ARGC(argv), argv, false, &o), 0);
	assert_int_equal(o.output, CLI_OUTPUT_JSON);
	assert_int_equal(o.cfg.snaplen, 1500);
	assert_string_equal(o.filter, "error");
	assert_int_equal(o.n_files, 1);
	assert_string_equal(o.files[0], "x.pcap");
}

/*
 * A call that stops inside a cluster of short options ("-hf": help returns
 * before 'f' is read) must not leave the rest of the cluster to the next
 * call, whose argv may be gone by then (the fuzzer found this).
 */
static void test_repeated_calls_start_afresh(void **state)
{
	char cluster[] = "-hf";
	char *first[] = { "read", cluster };
	char *second[] = { "read", "x.pcap" };
	struct cli_opts o;
	(void)state;
	FILE *saved = stdout;
	stdout = fopen("/dev/null", "w");          /* --help prints */
	assert_int_equal(cli_parse(ARGC(first), first, false, &o), 1);
	fclose(stdout);
	stdout = saved;
	cluster[2] = 'o';                           /* as if the memory were reused */
	assert_int_equal(cli_parse(ARGC(second), second, false, &o), 0);
	assert_null(o.filter);
	assert_int_equal(o.n_files, 1);
}

static void test_usage_errors(void **state)
{
	char *capture_only[] = { "read", "-i", "eth0", "x.pcap" };
	char *bad_set[] = { "read", "--set", "tap.snaplen=1", "x.pcap" };
	char *no_file[] = { "read", "--stats" };
	struct cli_opts o;
	(void)state;
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w");
	assert_int_equal(cli_parse(ARGC(capture_only), capture_only, false, &o), 2);
	assert_int_equal(cli_parse(ARGC(bad_set), bad_set, false, &o), 2);
	assert_int_equal(cli_parse(ARGC(no_file), no_file, false, &o), 2);
	fclose(stderr);
	stderr = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_options),
		cmocka_unit_test(test_repeated_calls_start_afresh),
		cmocka_unit_test(test_usage_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
