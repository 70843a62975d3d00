// SPDX-License-Identifier: MIT
/*
 * cli_parse: options, --set over --config, and repeated calls in one process;
 * bounds that must not pass silently.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static char said[4096];

/* cli_parse() with argv, its stderr kept in `said`. */
static int parse(bool capture, struct cli_opts *o, int argc, const char **argv)
{
	char path[] = "/tmp/test_cli.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), rc;
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	rc = cli_parse(argc, (char **)argv, capture, o);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, said, sizeof(said) - 1, 0);
	said[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	return rc;
}

static void test_duration_must_be_finite(void **state)
{
	static const char *const bad[] = { "inf", "infinity", "nan", "1e999", "-1", "0", "2e9" };
	struct cli_opts o;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = { "capture", "--duration", bad[i] };
		assert_int_equal(parse(true, &o, 3, argv), 2);
		assert_non_null(strstr(said, "--duration"));
		assert_non_null(strstr(said, bad[i]));
	}
	const char *argv[] = { "capture", "--duration", "1.5" };
	assert_int_equal(parse(true, &o, 3, argv), 0);
	assert_true(o.duration_s == 1.5);
}

/* A BPF ring buffer is at most 2 GiB: a bigger value is clamped, and the user told. */
static void test_ring_buffer_clamped_and_said(void **state)
{
	struct cli_opts o;
	(void)state;

	const char *big[] = { "capture", "--set", "tap.ringBufferMb=4096" };
	assert_int_equal(parse(true, &o, 3, big), 0);
	assert_int_equal(o.cfg.ring_buffer_mb, 2048);
	assert_non_null(strstr(said, "tap.ringBufferMb"));
	assert_non_null(strstr(said, "4096"));
	assert_non_null(strstr(said, "clamped to 2048"));

	const char *fine[] = { "capture", "--set", "tap.ringBufferMb=2048" };
	assert_int_equal(parse(true, &o, 3, fine), 0);
	assert_int_equal(o.cfg.ring_buffer_mb, 2048);
	assert_string_equal(said, "");
}

static void test_write_follow_symlinks(void **state)
{
	struct cli_opts o;
	(void)state;

	const char *alone[] = { "read", "--write-follow-symlinks", "x.pcap" };
	assert_int_equal(parse(false, &o, 3, alone), 2);
	assert_non_null(strstr(said, "need -w FILE"));
	const char *with[] = { "read", "-w", "out.pcap", "--write-follow-symlinks", "x.pcap" };
	assert_int_equal(parse(false, &o, 5, with), 0);
	assert_true(o.write_follow_symlinks);
	const char *without[] = { "read", "-w", "out.pcap", "x.pcap" };
	assert_int_equal(parse(false, &o, 4, without), 0);
	assert_false(o.write_follow_symlinks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_options),
		cmocka_unit_test(test_repeated_calls_start_afresh),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_duration_must_be_finite),
		cmocka_unit_test(test_ring_buffer_clamped_and_said),
		cmocka_unit_test(test_write_follow_symlinks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
