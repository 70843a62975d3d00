/* SPDX-License-Identifier: MIT */
/*
 * Failures grouped for `faultline top`, `read --top` and the summary on exit:
 * one group per (source, destination:port, protocol, error), with its count,
 * rates over the last 10 s and 1 min, first and last seen, an example message
 * and its most recent entries.  Pure: no I/O, times are given by the caller
 * (packet time in read, wall time live).  The table is allocated once with a
 * fixed number of groups; past it the group seen least recently is replaced
 * (counted in `evicted`).
 */
#ifndef FL_SINK_TOP_H
#define FL_SINK_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/doc.h"

#define TOP_RATE_SECONDS 60     /* per-second counts kept for the rates */
#define TOP_RECENT 8            /* recent entries kept per group */
#define TOP_LINE 160

struct top_key {
	char src[64];           /* name, else IP (no port: clients pick a new one each time) */
	char dst[80];           /* name or IP, and :port */
	char proto[16];         /* the entry's protocol */
	char error[96];         /* error type and message ("tcp SynSent"), or the failed response */
};

struct top_group {
	struct top_key key;
	uint64_t count;
	uint64_t first_ns, last_ns;
	char example[TOP_LINE];                 /* the first entry's one-line summary */
	uint32_t per_sec[TOP_RATE_SECONDS];     /* ring: entries in each second */
	uint64_t newest_sec;                    /* the second per_sec[newest_sec % 60] counts */
	char recent[TOP_RECENT][TOP_LINE];      /* ring of the newest entries' lines */
	unsigned n_recent;                      /* lines written in all (index = n % TOP_RECENT) */
};

enum top_sort { TOP_SORT_RATE = 0, TOP_SORT_COUNT, TOP_SORT_LAST, TOP_SORT_N };

struct top_table {
	struct top_group *groups;
	unsigned n, cap;
	uint64_t total;         /* failures added */
	uint64_t evicted;       /* groups replaced for lack of room */
	uint64_t now_ns;        /* the newest time seen */
};

/* 0, or -1 (ENOMEM). */
int top_init(struct top_table *t, unsigned max_groups);
void top_free(struct top_table *t);
void top_clear(struct top_table *t);

/*
 * Is this entry a failure (an `error`, an HTTP 5xx, a DNS SERVFAIL or
 * REFUSED)?  If so, fill its key and return true.
 */
bool top_key_of(const struct doc *d, struct top_key *k);

/* Count one failure at ts_ns; `line` is its one-line summary.  The group, or NULL (no room). */
struct top_group *top_add(struct top_table *t, const struct top_key *k, uint64_t ts_ns,
			  const char *line);

/* Entries per second over the last `window_s` seconds (at most TOP_RATE_SECONDS) before now_ns. */
double top_rate(const struct top_group *g, uint64_t now_ns, unsigned window_s);

/* The `n` first groups in `by` order into out (pointers into t); how many there were. */
unsigned top_sorted(const struct top_table *t, enum top_sort by, uint64_t now_ns,
		    const struct top_group **out, unsigned n);

/* The group's recent lines, newest first: line i (i < min(n_recent, TOP_RECENT)). */
const char *top_recent(const struct top_group *g, unsigned i);

const char *top_sort_name(enum top_sort by);

/* An entry's "ts" ("2026-11-26T06:41:56.718846Z") in ns since the epoch; 0 when unreadable. */
uint64_t top_parse_ts(const char *ts);
/* "now", "5s", "3m", "2h", "4d": how long before now_ns t was. */
void top_age(uint64_t t_ns, uint64_t now_ns, char *buf, size_t len);

#endif
