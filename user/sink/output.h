/* SPDX-License-Identifier: MIT */
/* Entry sinks that print: JSON lines, or an aligned table (coloured on a TTY). */
#ifndef FL_OUTPUT_H
#define FL_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report/entry.h"

enum output_format { OUTPUT_JSON, OUTPUT_TABLE };

struct output;

/* `match` (may be NULL) decides which entries print: the -f filter. */
struct output *output_new(FILE *out, enum output_format format, bool colour,
			  bool (*match)(const void *ctx, const struct doc *entry),
			  const void *match_ctx);
void output_free(struct output *o);
/* -n: the table shows src/dst addresses even when they have a name. */
void output_set_numeric(struct output *o, bool numeric);
/* The entry sink to add to the pipeline. */
struct entry_sink output_sink(struct output *o);

/* -c N: print at most `max` entries (0: no limit); the ones after are dropped. */
void output_set_limit(struct output *o, uint64_t max);
/* -l: flush after each entry (stdout is a pipe and the reader wants each line at once). */
void output_set_flush(struct output *o, bool flush);
/* Entries printed so far. */
uint64_t output_printed(const struct output *o);

/*
 * The table's width: fixed columns fitted to `width`, addresses shortened to
 * fit, the summary wrapped between words.  0: unlimited (not a terminal and
 * no COLUMNS): addresses padded to 21 columns but never cut, the summary
 * never wrapped.
 */
void output_set_width(struct output *o, unsigned width);
/* COLUMNS, else the terminal's width (TIOCGWINSZ on fd), else 0 (not a terminal: unlimited). */
unsigned output_terminal_width(int fd);

enum output_colour { OUTPUT_COLOUR_AUTO = 0, OUTPUT_COLOUR_ALWAYS, OUTPUT_COLOUR_NEVER };
/* --color: always, never, or auto: fd is a terminal, NO_COLOR is unset or empty, TERM is not dumb. */
bool output_colour_wanted(enum output_colour mode, int fd);

/*
 * Shorten "ip:port", "[v6]:port" or "name:port" in place to at most `cols`
 * columns: the port kept, the address cut in the middle with an ellipsis.
 */
void output_shorten_endpoint(char *ep, size_t size, unsigned cols);

/*
 * The stats document (JSON text) as a table: one line per value, the key
 * dotted ("tcp.SynSent"), then the value.  0, or -1 when json is no object.
 */
int output_stats_table(const char *json, size_t len, FILE *out);

/* One line summing up an entry ("SynSent refused", "GET /x -> 404 Not Found", ...). */
void output_summary(const struct doc *d, char *buf, size_t len);

#endif
