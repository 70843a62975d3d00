/* SPDX-License-Identifier: MIT */
/*
 * The summary on exit (Ctrl-C on capture, the end of read on a terminal, or
 * --summary): packets, entries, failures by error type, the top 5 groups of
 * failures (sink/top.h) and drops, a few lines on stderr.
 */
#ifndef FL_SINK_SUMMARY_H
#define FL_SINK_SUMMARY_H

#include <stdio.h>

#include "report/entry.h"
#include "report/stats.h"

struct summary;

struct summary *summary_new(void);
void summary_free(struct summary *s);
struct entry_sink summary_sink(struct summary *s);
void summary_print(const struct summary *s, const struct fl_stats *st, FILE *out);

#endif
