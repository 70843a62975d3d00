/* The exposition writer (names, HELP/TYPE, escaping) and the entry counters' bounded tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "report/stats.h"
#include "sink/metrics.h"

static char *exposition(const struct doc *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	metrics_write(d, f);
	fclose(f);
	return buf;
}

/* Every sample line's family has a # HELP and a # TYPE before it, once. */
static void assert_headers(const char *text)
{
	char *copy = strdup(text), *save = NULL;
	char helped[256][96];
	unsigned n = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			size_t len = strcspn(line + 7, " ");
			for (unsigned i = 0; i < n; i++)
				assert_false(strlen(helped[i]) == len && strncmp(helped[i], line + 7, len) == 0);
			assert_true(n < 256);
			snprintf(helped[n++], sizeof(helped[0]), "%.*s", (int)len, line + 7);
		} else if (line[0] != '#') {
			size_t len = strcspn(line, "{ ");
			assert_true(n > 0);
			assert_int_equal(strlen(helped[n - 1]), len);
			assert_memory_equal(helped[n - 1], line, len);
		}
	}
	free(copy);
}

static void test_names_and_types(void **state)
{
	(void)state;
	struct fl_stats s = { 0 };
	struct doc d;
	s.entries.total = 7;
	s.capture.backend = "ebpf-tc";
	s.capture.n_interfaces = 1;
	snprintf(s.capture.interfaces[0], sizeof(s.capture.interfaces[0]), "veth1234");
	s.capture.start_ns = 1000000000ull;
	s.capture.now_ns = 4000000000ull;
	doc_init(&d);
	stats_to_doc(&s, &d);
	uint32_t bpf = doc_add_obj(&d, doc_get(&d, DOC_ROOT, "capture"), "bpf");
	doc_add_int(&d, bpf, "tcp_syn", 3);
	doc_add_bool(&d, bpf, "socket_tracepoints", true);
	doc_add_int(&d, doc_get(&d, DOC_ROOT, "capture"), "longest_stall_us", 1500);
	uint32_t extra = doc_add_obj(&d, DOC_ROOT, "widgets");
	doc_add_int(&d, extra, "spins", 2);
	char *t = exposition(&d);

	assert_non_null(strstr(t, "\nfaultline_entries_total 7\n"));
	assert_null(strstr(t, "_total_total"));
	assert_non_null(strstr(t, "\nfaultline_capture_uptime_seconds 3\n"));
	assert_null(strstr(t, "_s "));
	assert_null(strstr(t, "veth1234"));          /* no interface label */
	assert_non_null(strstr(t, "\nfaultline_capture_interfaces 1\n"));
	assert_non_null(strstr(t, "\nfaultline_bpf_tcp_packets_total{flags=\"syn\"} 3\n"));
	assert_non_null(strstr(t, "\nfaultline_bpf_socket_tracepoints 1\n"));
	assert_non_null(strstr(t, "# TYPE faultline_bpf_socket_tracepoints gauge\n"));
	assert_null(strstr(t, "faultline_capture_bpf_total"));
	assert_non_null(strstr(t, "\nfaultline_capture_longest_stall_seconds 0.0015"));
	/* a group no definition names: derived, one series per member, still a counter with help */
	assert_non_null(strstr(t, "# TYPE faultline_widgets_spins_total counter\nfaultline_widgets_spins_total 2\n"));
	assert_non_null(strstr(t, "\nfaultline_build_info{version=\""));
	assert_non_null(strstr(t, ",backend=\"ebpf-tc\"} 1\n"));
	assert_non_null(strstr(t, "\nprocess_open_fds "));
	assert_non_null(strstr(t, "\nprocess_resident_memory_bytes "));
	assert_headers(t);
	free(t);
	doc_free(&d);
}

static void test_label_values_escaped(void **state)
{
	(void)state;
	struct doc d;
	doc_init(&d);
	doc_reset(&d);
	uint32_t c = doc_add_obj(&d, DOC_ROOT, "capture");
	doc_add_str(&d, c, "backend", "a\"x{\\y\nz");
	uint32_t e = doc_add_obj(&d, doc_add_obj(&d, DOC_ROOT, "entries"), "errors");
	doc_add_int(&d, e, "we\"ird}", 1);
	char *t = exposition(&d);
	assert_non_null(strstr(t, "faultline_capture_info{backend=\"a\\\"x{\\\\y\\nz\"} 1\n"));
	assert_non_null(strstr(t, "faultline_entries_errors_total{type=\"we\\\"ird}\"} 1\n"));
	assert_headers(t);
	free(t);
	doc_free(&d);
}

static void emit(struct entry_sink *sink, struct doc *d, enum fl_error_type err)
{
	struct entry_meta meta = { .error = err };
	sink->emit(sink->ctx, d, &meta);
	doc_reset(d);
}

static void test_entry_counts_bounded(void **state)
{
	(void)state;
	struct metrics_entry_counts *c = calloc(1, sizeof(*c));
	struct entry_sink sink = metrics_entry_sink(c);
	struct doc d, out;
	char name[32];
	doc_init(&d);
	doc_init(&out);
	doc_reset(&d);
	doc_reset(&out);

	doc_add_str(&d, DOC_ROOT, "protocol", "http");
	doc_add_int(&d, doc_add_obj(&d, DOC_ROOT, "response"), "status", 503);
	emit(&sink, &d, FL_ERR_NONE);
	doc_add_str(&d, DOC_ROOT, "protocol", "dns");
	uint32_t r = doc_add_obj(&d, DOC_ROOT, "response");
	doc_add_int(&d, r, "rcode", 3);
	doc_add_str(&d, r, "rcode_name", "NXDOMAIN");
	emit(&sink, &d, FL_ERR_NONE);
	doc_add_str(&d, DOC_ROOT, "protocol", "tcp");
	uint32_t err = doc_add_obj(&d, DOC_ROOT, "error");
	doc_add_str(&d, err, "message", "SynSent");
	doc_add_str(&d, doc_add_obj(&d, DOC_ROOT, "tcp"), "reason", "refused");
	emit(&sink, &d, FL_ERR_TCP);
	doc_add_str(&d, DOC_ROOT, "protocol", "tcp");
	doc_add_str(&d, doc_add_obj(&d, DOC_ROOT, "error"), "message", "Reset");
	doc_add_str(&d, doc_add_obj(&d, DOC_ROOT, "tcp"), "reset_by", "server");
	emit(&sink, &d, FL_ERR_TCP);
	/* 100 distinct ICMP names: the table keeps METRICS_SLOTS - 1, the rest is "other" */
	for (int i = 0; i < 100; i++) {
		doc_add_str(&d, DOC_ROOT, "protocol", "icmp");
		uint32_t icmp = doc_add_obj(&d, DOC_ROOT, "icmp");
		snprintf(name, sizeof(name), "type %d", i);
		doc_add_str(&d, icmp, "type_name", name);
		doc_add_str(&d, icmp, "code_name", "x\"y");
		emit(&sink, &d, FL_ERR_ICMP);
	}
	metrics_entry_counts_describe(c, &out);
	char *t = exposition(&out);
	assert_non_null(strstr(t, "faultline_http_responses_total{status_class=\"5xx\"} 1\n"));
	assert_non_null(strstr(t, "faultline_dns_responses_total{rcode=\"NXDOMAIN\"} 1\n"));
	assert_non_null(strstr(t, "faultline_tcp_errors_total{message=\"SynSent\",reason=\"refused\"} 1\n"));
	assert_non_null(strstr(t, "faultline_tcp_errors_total{message=\"Reset\",reason=\"server\"} 1\n"));
	assert_non_null(strstr(t, "faultline_icmp_errors_total{type_name=\"type 0\",code_name=\"x\\\"y\"} 1\n"));
	assert_non_null(strstr(t, "faultline_icmp_errors_total{type_name=\"other\",code_name=\"other\"} 69\n"));
	unsigned series = 0;
	for (const char *p = t; (p = strstr(p, "\nfaultline_icmp_errors_total{")); p++)
		series++;
	assert_int_equal(series, METRICS_SLOTS);
	assert_headers(t);
	free(t);
	doc_free(&d);
	doc_free(&out);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_types),
		cmocka_unit_test(test_label_values_escaped),
		cmocka_unit_test(test_entry_counts_bounded),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
