// SPDX-License-Identifier: MIT
/*
 * KFL micro-benchmark (not a test): ns per kfl_match() over typical entry
 * docs, next to what building the entry doc itself costs, and the number of
 * heap allocations made while matching (must be 0).  Run bench/kfl_bench.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/doc.h"
#include "kfl/kfl.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Count heap calls: this executable's malloc interposes on libc's, pcre2's included. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static unsigned long n_allocs;
void *malloc(size_t n) { n_allocs++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { n_allocs++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { n_allocs++; return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A healthy HTTP entry as the dissector builds it (spec section 2). */
static void build_http(struct doc *d, int status, bool with_error)
{
	doc_reset(d);
	doc_add_int(d, DOC_ROOT, "id", 7);
	doc_add_str(d, DOC_ROOT, "ts", "2026-11-26T06:41:56.718846Z");
	doc_add_str(d, DOC_ROOT, "protocol", "http");
	uint32_t s = doc_add_obj(d, DOC_ROOT, "src");
	doc_add_str(d, s, "ip", "198.18.1.2");
	doc_add_int(d, s, "port", 36060);
	uint32_t t = doc_add_obj(d, DOC_ROOT, "dst");
	doc_add_str(d, t, "ip", "198.18.2.2");
	doc_add_int(d, t, "port", 8080);
	uint32_t rq = doc_add_obj(d, DOC_ROOT, "request");
	doc_add_str(d, rq, "method", "GET");
	doc_add_str(d, rq, "path", "/api/v1/users/42/orders?limit=10");
	doc_add_str(d, rq, "version", "1.1");
	uint32_t h = doc_add_obj(d, rq, "headers");
	doc_add_str(d, h, "Host", "shop.example.test");
	doc_add_str(d, h, "User-Agent", "curl/8.5.0");
	doc_add_str(d, h, "Accept", "*/*");
	doc_add_int(d, rq, "body_bytes", 0);
	uint32_t rs = doc_add_obj(d, DOC_ROOT, "response");
	doc_add_int(d, rs, "status", status);
	doc_add_str(d, rs, "reason", status == 200 ? "OK" : "Service Unavailable");
	uint32_t rh = doc_add_obj(d, rs, "headers");
	doc_add_str(d, rh, "Content-Type", "application/json");
	doc_add_str(d, rh, "Content-Length", "512");
	doc_add_int(d, rs, "body_bytes", 512);
	doc_add_real(d, DOC_ROOT, "elapsed_ms", 1.234);
	if (with_error) {
		uint32_t e = doc_add_obj(d, DOC_ROOT, "error");
		doc_add_str(d, e, "type", "half-connection");
		doc_add_str(d, e, "message", "response missing: connection reset by server");
		doc_add_str(d, e, "reason", "reset");
	} else {
		doc_add_null(d, DOC_ROOT, "error");
	}
	uint32_t tcp = doc_add_obj(d, DOC_ROOT, "tcp");
	doc_add_int(d, tcp, "retransmissions", 1);
}

static volatile unsigned sink;

static double time_match(struct kfl_expr *e, const struct doc *d, long iters, unsigned long *allocs)
{
	double best = 1e30;
	for (int round = 0; round < 5; round++) {
		unsigned long before = n_allocs;
		uint64_t t0 = now_ns();
		unsigned hits = 0;
		for (long i = 0; i < iters; i++)
			hits += kfl_match(e, d);
		uint64_t t1 = now_ns();
		*allocs += n_allocs - before;
		sink += hits;
		double ns = (double)(t1 - t0) / (double)iters;
		if (ns < best)
			best = ns;
	}
	return best;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 2000000;
	struct {
		const char *what;
		const char *query;
	} queries[] = {
		{ "dashboard", "response.status > 400 or error or icmp or tcp" },
		{ "regex path", "request.path == r\"^/api/v\\d+/users/\\d+\"" },
		{ "regex error.type", "error.type == r\"half|tcp\"" },
		{ "regex (?i) header", "request.headers[\"Host\"] == r\"(?i)SHOP\\.example\"" },
		{ "helpers", "src.ip.startsWith(\"198.18.1.\") and request.path.contains(\"orders\")" },
		{ "!error", "!error" },
	};
	struct doc healthy, failing, errored;
	doc_init(&healthy);
	doc_init(&failing);
	doc_init(&errored);
	build_http(&healthy, 200, false);
	build_http(&failing, 503, false);
	build_http(&errored, 200, true);

	/* Reference: building the entry doc, which every entry costs with or without a filter. */
	double build_best = 1e30;
	for (int round = 0; round < 5; round++) {
		uint64_t t0 = now_ns();
		for (long i = 0; i < iters / 4; i++)
			build_http(&healthy, 200, false);
		double ns = (double)(now_ns() - t0) / (double)(iters / 4);
		if (ns < build_best)
			build_best = ns;
	}
	uint32_t jit = 0;
	pcre2_config(PCRE2_CONFIG_JIT, &jit);
	printf("PCRE2 %d.%d, JIT %s\n", PCRE2_MAJOR, PCRE2_MINOR, jit ? "available" : "unavailable");
	printf("building a typical HTTP entry doc: %.1f ns\n", build_best);
	printf("%-20s %-62s %10s %10s %10s\n", "query", "", "healthy", "503", "error");

	unsigned long allocs = 0, compile_allocs = 0;
	int rc = 0;
	for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
		char err[512];
		unsigned long before = n_allocs;
		struct kfl_expr *e = kfl_compile(queries[q].query, err, sizeof(err));
		compile_allocs += n_allocs - before;
		if (!e) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		double a = time_match(e, &healthy, iters, &allocs);
		double b = time_match(e, &failing, iters, &allocs);
		double c = time_match(e, &errored, iters, &allocs);
		printf("%-20s %-62s %7.1f ns %7.1f ns %7.1f ns\n", queries[q].what, queries[q].query,
		       a, b, c);
		kfl_free(e);
	}
	printf("heap allocations while compiling the queries: %lu (the counter works)\n",
	       compile_allocs);
	printf("heap allocations during %lu matches: %lu\n",
	       (unsigned long)iters * 15 * sizeof(queries) / sizeof(queries[0]), allocs);
	if (allocs)
		rc = 1;
	doc_free(&healthy);
	doc_free(&failing);
	doc_free(&errored);
	return rc;
}
