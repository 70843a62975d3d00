/* SPDX-License-Identifier: MIT */
/*
 * The control socket of a running capture: a Unix stream socket that
 * answers one request line per connection.
 *
 *   stats                          -> the stats object, one JSON line
 *   metrics                        -> the stats in Prometheus text format
 *   query LIMIT FOLLOW [KFL...]    -> the newest LIMIT entries matching KFL
 *                                     (0: all that are kept), one JSON line
 *                                     each, newest last; FOLLOW 1 keeps the
 *                                     connection and streams new ones
 *   anything wrong                 -> "error CODE MESSAGE" (CODE: the exit
 *                                     status the client should use); a full
 *                                     server answers "error 1 busy: ..."
 *   (to a follower)                -> "lost N": N matching entries were not
 *                                     sent because the client read too slowly
 *
 * LIMIT is a decimal number without a sign, FOLLOW is 0 or 1, the line holds
 * no NUL byte and ends with '\n' (or the client's half-close).
 *
 * Served from the capture's epoll loop and never holding it up:
 * - Handlers only read requests and write what is queued.  Queries run in
 *   slices (ctl_run, between packet batches): a cursor per client over the
 *   entry ring, at most CTL_SLICE_US of filter work per slice, each regex
 *   match bounded, and a total filter-time budget per query (a follower's
 *   refills slowly); a query over its budget gets "error 1 query exceeded".
 * - A follower is a cursor over the shared ring: it costs its small output
 *   buffer, never a copy of the entries.  One that falls more than
 *   CTL_FOLLOW_BACKLOG entries behind skips ahead and is told ("lost N").
 * - A connection that sends no request within the idle timeout, or that
 *   reads nothing of what waits for it for ten times that, is closed; at most CTL_MAX_QUERIES long-running
 *   queries, so `stats` (a liveness probe) always finds a slot.
 * - A client that goes away is unregistered at once but freed only by the
 *   next ctl_run, after the epoll batch that may still name it.
 * Memory (ring, output buffers) is reported in stats memory.control_bytes
 * and drawn from tap.memoryLimitMb: over it, the oldest entries are dropped.
 */
#ifndef FL_CTL_H
#define FL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/entry.h"
#include "report/stats.h"

#define CTL_DEFAULT_SOCKET "/run/faultline/faultline.sock"
#define CTL_RING_ENTRIES 4096
#define CTL_MAX_CLIENTS 64
#define CTL_MAX_QUERIES 32            /* queries and followers at once; the rest is for stats */
#define CTL_FOLLOW_BACKLOG 512        /* entries a follower may be behind before it loses some */
#define CTL_REQUEST_MAX 4096
#define CTL_IDLE_TIMEOUT_MS 3000      /* to send a request; and for a reply to make progress: x10 */
#define CTL_SLICE_US 1000             /* query work per ctl_run */
#define CTL_QUERY_BUDGET_MS 1000      /* filter time one query may spend (a follower: refilled at 5%) */

struct ctl;

/*
 * Listen on `path` (its directory is created).  The socket is made in a
 * private directory with its final owner and mode (0600, or 0660 owned by
 * `group`, a name or a number) and renamed into place, so it is never open
 * to others.  An existing path is replaced only when it is a socket nobody
 * answers on (a killed run's); anything else there is an error.  `stats`
 * (may be NULL) is where memory is accounted and tap.memoryLimitMb read.
 * `describe` writes the up-to-date stats object for a `stats` request.
 * NULL with errno set and a message in err.
 */
struct ctl *ctl_open(const char *path, const char *group, int epfd, struct fl_stats *stats,
		     void (*describe)(void *ctx, struct doc *out), void *ctx, char *err, size_t errlen);
/* Close every connection and remove the socket file (if it is still ours). */
void ctl_close(struct ctl *c);
/* The sink that keeps entries for `query` and for followers. */
struct entry_sink ctl_entry_sink(struct ctl *c);
/*
 * Call after every batch of epoll events: frees the clients that left,
 * closes idle ones, and runs one slice of query work.  Returns true when
 * work remains (poll again without sleeping).
 */
bool ctl_run(struct ctl *c);
/* Whether a query or a follower is being served (ctl_run may have work). */
bool ctl_serving(const struct ctl *c);
/* The control socket's counters, added to a stats doc as "control". */
void ctl_describe(const struct ctl *c, struct doc *d);
/* For tests: the idle timeout and the filter-time budget per query, in ms. */
void ctl_set_limits(struct ctl *c, unsigned idle_ms, unsigned budget_ms);

/* Client side: connect to path.  fd or -errno. */
int ctl_connect(const char *path);

/* ---- the request line (ctl_request.c; fuzzed by tests/fuzz/fuzz_ctl.c) ---- */

enum ctl_request_kind { CTL_REQ_STATS, CTL_REQ_METRICS, CTL_REQ_QUERY };

struct ctl_request {
	enum ctl_request_kind kind;
	uint32_t limit;            /* 0: every entry kept */
	bool follow;
	const char *filter;        /* into the line; "" for none */
};

/*
 * Parse one request line of `len` bytes (without its '\n'; line[len] must be
 * '\0', the filter runs to the end of the line).  0, or the exit
 * status the client should use (2: a malformed request) with a message in err.
 */
int ctl_parse_request(const char *line, size_t len, struct ctl_request *req, char *err,
		      size_t errlen);

#endif
