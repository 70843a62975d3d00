/* SPDX-License-Identifier: MIT */
/*
 * `faultline top` (a running capture, over the control socket) and
 * `faultline read --top` (files): failures grouped by source, destination,
 * protocol and error (sink/top.h), sorted by rate, in a terminal view with
 * keys, or as a plain table (--once, or stdout not a terminal).
 */
#ifndef FL_CMD_TOP_H
#define FL_CMD_TOP_H

#include <stdbool.h>

#include "report/entry.h"

struct top_app;

/* NULL with a message printed (a bad -f filter: *status 2; out of memory: 1). */
struct top_app *top_app_new(const char *cmd, const char *filter, int *status);
void top_app_free(struct top_app *a);
/* read --top: the entries go here instead of the output. */
struct entry_sink top_app_sink(struct top_app *a);
/* After the files: the view on a terminal (until q), else (or with once) the plain table.  Exit status. */
int top_app_show_file(struct top_app *a, bool once, const char *what);

#endif
