/* SPDX-License-Identifier: MIT */
/*
 * The stats in the Prometheus text exposition format (version 0.0.4), and a
 * /metrics endpoint served by libmicrohttpd from the capture's own event loop
 * (no thread: the counters are read where they are written).
 */
#ifndef FL_METRICS_H
#define FL_METRICS_H

#include <stddef.h>
#include <stdio.h>

#include "stats.h"

/* Write every counter of `s` as exposition text. */
void metrics_write(const struct fl_stats *s, FILE *out);

struct metrics_server;

/*
 * Listen on "ADDR:PORT" ("[::1]:9090", "0.0.0.0:9090", ":9090").  `refresh`
 * (may be NULL) is called before each scrape to bring the stats up to date.
 * NULL with a message in err on failure.
 */
struct metrics_server *metrics_server_start(const char *listen, const struct fl_stats *s,
					    void (*refresh)(void *ctx), void *ctx,
					    char *err, size_t errlen);
/* A file descriptor to poll for readability; call metrics_server_run() when it is. */
int metrics_server_fd(const struct metrics_server *m);
void metrics_server_run(struct metrics_server *m);
void metrics_server_stop(struct metrics_server *m);

#endif
