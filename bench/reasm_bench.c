// SPDX-License-Identifier: MIT
/*
 * Reassembly micro-benchmark: N one-byte segments held behind a one-byte hole,
 * in ascending, descending and shuffled order, then the hole filled.  Prints
 * the time for N = 10k and 80k and their ratio (8 means linear; 64 would be
 * quadratic; CPU time, best of 5 runs each), and the memory accounted for 100 one-byte held segments in each
 * of F flows beside the process's RSS growth.  Not a test (timings).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream/reasm.h"

static size_t sink_data(void *arg, const uint8_t *data, size_t len)
{
	(void)arg; (void)data;
	return len;
}

static void sink_gap(void *arg, const struct reasm_gap *g)
{
	(void)arg; (void)g;
}

/* CPU time: on a shared machine wall time is mostly other processes. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * 4;
}

/* order: 0 ascending, 1 descending, 2 shuffled.  Seconds for n segments plus the fill. */
static double run(uint32_t n, int order)
{
	struct fl_stats stats = { 0 };
	struct reasm_env env = { &stats, 1ull << 34 };
	struct reasm_sink sink = { sink_data, sink_gap, NULL };
	struct reasm r;
	uint32_t *seqs = malloc(n * sizeof(*seqs));
	uint8_t byte = 'x';

	for (uint32_t i = 0; i < n; i++)
		seqs[i] = order == 1 ? n - i : i + 1;
	if (order == 2) {
		srand(1);
		for (uint32_t i = n - 1; i > 0; i--) {
			uint32_t j = (uint32_t)rand() % (i + 1), t = seqs[i];
			seqs[i] = seqs[j];
			seqs[j] = t;
		}
	}
	reasm_init(&r);
	reasm_start(&r, 0xffffffffu);     /* data starts at seq 0: byte 0 is the hole */
	double t0 = now();
	for (uint32_t i = 0; i < n; i++)
		reasm_segment(&r, &env, seqs[i], &byte, 1, &sink);
	reasm_segment(&r, &env, 0, &byte, 1, &sink);
	double dt = now() - t0;
	if (r.delivered != n + 1)
		fprintf(stderr, "reasm_bench: delivered %llu of %u\n", (unsigned long long)r.delivered, n + 1);
	reasm_free(&r, &env);
	free(seqs);
	return dt;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "ascending", "descending", "shuffled" };
	uint32_t flows = argc > 1 ? (uint32_t)atoi(argv[1]) : 100000;

	/* Keep freed memory in the process: the timings are the reassembler's, not page faults'. */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	mallopt(M_MMAP_THRESHOLD, 1 << 30);

	printf("%-11s %12s %12s %8s\n", "order", "10k cpu s", "80k cpu s", "ratio");
	for (int o = 0; o < 3; o++) {
		double a = 1e9, b = 1e9;
		for (int k = 0; k < 5; k++) {      /* best of 5: the machine is shared */
			double x = run(10000, o), y = run(80000, o);
			a = x < a ? x : a;
			b = y < b ? y : b;
		}
		printf("%-11s %12.4f %12.4f %8.1f\n", names[o], a, b, b / a);
	}

	/* Memory: F flows x 100 one-byte segments, every other byte (nothing merges). */
	struct fl_stats stats = { 0 };
	struct reasm_env env = { &stats, 1ull << 40 };
	struct reasm_sink sink = { sink_data, sink_gap, NULL };
	struct reasm *rs = calloc(flows, sizeof(*rs));
	uint8_t byte = 'x';
	malloc_trim(0);
	long before = rss_kb();
	for (uint32_t f = 0; f < flows; f++) {
		reasm_init(&rs[f]);
		reasm_start(&rs[f], 0);
		for (uint32_t i = 0; i < 100; i++)
			reasm_segment(&rs[f], &env, 3 + 2 * i, &byte, 1, &sink);
	}
	long grown = rss_kb() - before;
	printf("memory: %u flows x 100 one-byte held segments: accounted %.1f MB, RSS grew %.1f MB "
	       "(reasm structs %.1f MB of it), accounted/RSS %.2f\n", flows,
	       (double)stats.memory.reassembly_bytes / 1e6, (double)grown * 1024 / 1e6,
	       (double)flows * sizeof(*rs) / 1e6,
	       (double)stats.memory.reassembly_bytes / ((double)grown * 1024 - (double)flows * sizeof(*rs)));
	for (uint32_t f = 0; f < flows; f++)
		reasm_free(&rs[f], &env);
	free(rs);
	return 0;
}
