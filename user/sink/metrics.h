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

#include "report/doc.h"

/* Write every counter of a stats doc (stats_to_doc's shape) as exposition text. */
void metrics_write(const struct doc *stats, FILE *out);

struct metrics_server;

/*
 * Listen on "ADDR:PORT" ("[::1]:9464", "0.0.0.0:9464", ":9464").  Each scrape
 * calls `describe` for the current stats doc.  NULL with a message in err.
 */
struct metrics_server *metrics_server_start(const char *listen,
					    void (*describe)(void *ctx, struct doc *out), void *ctx,
					    char *err, size_t errlen);
/* A file descriptor to poll for readability; call metrics_server_run() when it is. */
int metrics_server_fd(const struct metrics_server *m);
void metrics_server_run(struct metrics_server *m);
void metrics_server_stop(struct metrics_server *m);

#endif
