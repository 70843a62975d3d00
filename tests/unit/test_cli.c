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
#include "kfl/kfl.h"
#include "report/doc.h"

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

/* An entry with `protocol`, and a response / icmp / error object filled by the caller. */
static bool selected(const char *protocol, void (*fill)(struct doc *d, const void *arg), const void *arg)
{
	char err[256];
	struct doc d;
	doc_init(&d);
	doc_reset(&d);
	doc_add_int(&d, DOC_ROOT, "id", 1);
	doc_add_str(&d, DOC_ROOT, "protocol", protocol);
	fill(&d, arg);
	if (doc_get(&d, DOC_ROOT, "error") == DOC_NONE)
		doc_add_null(&d, DOC_ROOT, "error");
	struct kfl_expr *e = kfl_compile(CLI_DEFAULT_SELECTION, err, sizeof(err));
	assert_non_null(e);
	bool m = kfl_match(e, &d);
	kfl_free(e);
	doc_free(&d);
	return m;
}

static void http_status(struct doc *d, const void *arg)
{
	uint32_t rs = doc_add_obj(d, DOC_ROOT, "response");
	doc_add_int(d, rs, "status", *(const int *)arg);
}

static void dns_rcode(struct doc *d, const void *arg)
{
	uint32_t rs = doc_add_obj(d, DOC_ROOT, "response");
	doc_add_str(d, rs, "rcode_name", arg);
}

/* {version, type, is_error} */
static void icmp_msg(struct doc *d, const void *arg)
{
	const int *v = arg;
	uint32_t i = doc_add_obj(d, DOC_ROOT, "icmp");
	doc_add_int(d, i, "version", v[0]);
	doc_add_int(d, i, "type", v[1]);
	if (v[2]) {
		uint32_t e = doc_add_obj(d, DOC_ROOT, "error");
		doc_add_str(d, e, "type", "icmp");
		doc_add_str(d, e, "message", "x");
	}
}

static void tcp_error(struct doc *d, const void *arg)
{
	uint32_t e = doc_add_obj(d, DOC_ROOT, "error");
	doc_add_str(d, e, "type", "tcp");
	doc_add_str(d, e, "message", arg);
}

static void nothing(struct doc *d, const void *arg)
{
	(void)d;
	(void)arg;
}

/* The default selection (no --all, no -f): failures only, NDP/MLD/echo never. */
static void test_default_selection(void **state)
{
	(void)state;
	static const int s200 = 200, s404 = 404, s500 = 500, s503 = 503;
	assert_false(selected("http", http_status, &s200));
	assert_false(selected("http", http_status, &s404));
	assert_true(selected("http", http_status, &s500));
	assert_true(selected("http", http_status, &s503));
	assert_true(selected("dns", dns_rcode, "SERVFAIL"));
	assert_true(selected("dns", dns_rcode, "REFUSED"));
	assert_false(selected("dns", dns_rcode, "NXDOMAIN"));
	assert_false(selected("dns", dns_rcode, "NOERROR"));
	assert_true(selected("tcp", tcp_error, "SynSent"));
	assert_false(selected("redis", nothing, NULL));
	static const int unreach4[] = { 4, 3, 1 }, unreach6[] = { 6, 1, 1 }, ptb[] = { 6, 2, 1 },
			 redirect4[] = { 4, 5, 1 }, echo4[] = { 4, 8, 0 }, echo6[] = { 6, 128, 0 },
			 rs[] = { 6, 133, 0 }, ra[] = { 6, 134, 0 }, ns[] = { 6, 135, 0 },
			 na[] = { 6, 136, 0 }, redirect6[] = { 6, 137, 1 }, mld2[] = { 6, 143, 0 },
			 mld1[] = { 6, 131, 0 };
	assert_true(selected("icmp", icmp_msg, unreach4));
	assert_true(selected("icmp", icmp_msg, unreach6));
	assert_true(selected("icmp", icmp_msg, ptb));
	assert_true(selected("icmp", icmp_msg, redirect4));
	assert_false(selected("icmp", icmp_msg, echo4));
	assert_false(selected("icmp", icmp_msg, echo6));
	assert_false(selected("icmp", icmp_msg, rs));
	assert_false(selected("icmp", icmp_msg, ra));
	assert_false(selected("icmp", icmp_msg, ns));
	assert_false(selected("icmp", icmp_msg, na));
	assert_false(selected("icmp", icmp_msg, redirect6));
	assert_false(selected("icmp", icmp_msg, mld2));
	assert_false(selected("icmp", icmp_msg, mld1));
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
		cmocka_unit_test(test_default_selection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
