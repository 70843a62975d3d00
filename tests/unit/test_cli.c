// SPDX-License-Identifier: MIT
/* Option parsing (cli_parse): bounds that must not pass silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"

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
		cmocka_unit_test(test_duration_must_be_finite),
		cmocka_unit_test(test_ring_buffer_clamped_and_said),
		cmocka_unit_test(test_write_follow_symlinks),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
