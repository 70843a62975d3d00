/* SPDX-License-Identifier: MIT */
/*
 * The stats in the Prometheus text exposition format (version 0.0.4), and a
 * /metrics endpoint served by libmicrohttpd from the capture's own event loop
 * (no thread: the counters are read where they are written).
 *
 * Naming follows the Prometheus conventions: every family has # HELP and
 * # TYPE, counters end in one `_total`, units are base units spelled out
 * (`_seconds`, `_bytes`), booleans are 0/1 gauges, and no label takes values
 * that change with every restart (interface names are not labels).  Label
 * values are escaped (backslash, double quote, newline).
 */
#ifndef FL_METRICS_H
#define FL_METRICS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "report/doc.h"
#include "report/entry.h"

/*
 * Write every counter of a stats doc (stats_to_doc's shape, plus what the
 * capture adds) as exposition text, followed by faultline_build_info and the
 * process_* metrics of this process (from /proc/self).
 */
void metrics_write(const struct doc *stats, FILE *out);

/* A label value as the exposition format wants it: \\, \" and \n escaped. */
void metrics_write_label_value(FILE *out, const char *s, size_t len);

/*
 * Counters taken from the entries (an entry sink on the pipeline), with
 * bounded label sets: fixed-size tables that never grow; a label pair that
 * does not fit is counted under "other".
 */
#define METRICS_SLOTS 32
#define METRICS_NAME_MAX 48

struct metrics_pair {
	char a[METRICS_NAME_MAX], b[METRICS_NAME_MAX];
	uint64_t count;
};

struct metrics_entry_counts {
	uint64_t http_status_class[7];         /* [1..5]: 1xx..5xx, [6]: anything else */
	uint64_t dns_rcode[24];                /* by RCODE; names in dns_rcode_name */
	char dns_rcode_name[24][16];
	uint64_t dns_rcode_other;
	struct metrics_pair icmp[METRICS_SLOTS];   /* type_name, code_name */
	struct metrics_pair tcp[METRICS_SLOTS];    /* message, reason */
	unsigned n_icmp, n_tcp;
};

struct entry_sink metrics_entry_sink(struct metrics_entry_counts *c);
/*
 * Add the counts to a stats doc: "responses" {"http": {"2xx": n}, "dns":
 * {"NXDOMAIN": n}}, "icmp"."errors_by_name" {type_name: {code_name: n}},
 * "tcp"."errors_by_reason" {message: {reason: n}}.
 */
void metrics_entry_counts_describe(const struct metrics_entry_counts *c, struct doc *out);

/*
 * Parse "ADDR:PORT" ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464"): a
 * numeric address is required, nothing is implied.  0, or -EINVAL with a
 * message in err.
 */
int metrics_parse_listen(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen);

struct metrics_server;

/*
 * Listen on "ADDR:PORT".  Each scrape of /metrics calls `describe` for the
 * current stats doc; /readyz calls `attached` for the number of interfaces
 * the capture is attached to (503 when 0); /healthz is always 200.  NULL with
 * a message in err.
 */
struct metrics_server *metrics_server_start(const char *listen,
					    void (*describe)(void *ctx, struct doc *out),
					    unsigned (*attached)(void *ctx), void *ctx,
					    char *err, size_t errlen);
/* A file descriptor to poll for readability; call metrics_server_run() when it is. */
int metrics_server_fd(const struct metrics_server *m);
/* Serve what is ready, and close connections past their timeout (call it on a timer too). */
void metrics_server_run(struct metrics_server *m);
void metrics_server_stop(struct metrics_server *m);

#endif
