/* SPDX-License-Identifier: MIT */
/*
 * Options shared by `read` and `capture`, and the run they set up: the
 * pipeline with its sinks (output, filter, recorder) around one stats object.
 */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "pipeline.h"
#include "report/stats.h"

enum cli_output { CLI_OUTPUT_AUTO = 0, CLI_OUTPUT_TABLE, CLI_OUTPUT_JSON };

/*
 * The default selection of `read` and `capture` (without --all or -f): the
 * entries an operator wants to see, as one KFL expression compiled once.
 * Errors (but not the neighbour-discovery / MLD family of ICMPv6, types
 * 130-143, whose Redirect is counted as an error), HTTP 5xx responses and DNS
 * SERVFAIL / REFUSED answers.  Echo, NDP, MLD and router solicitation and
 * advertisement entries are no errors, so only --all prints them; every
 * entry is still counted in the stats.  Documented in --help, the man page,
 * README.md and docs/fields.md: keep them in step.
 */
#define CLI_DEFAULT_SELECTION_1 "(error and !(icmp.version == 6 and icmp.type >= 130 and icmp.type <= 143))"
#define CLI_DEFAULT_SELECTION_2 "or response.status >= 500"
#define CLI_DEFAULT_SELECTION_3 "or response.rcode_name == \"SERVFAIL\" or response.rcode_name == \"REFUSED\""
#define CLI_DEFAULT_SELECTION \
	CLI_DEFAULT_SELECTION_1 " " CLI_DEFAULT_SELECTION_2 " " CLI_DEFAULT_SELECTION_3

#define CLI_MAX_INTERFACES 64

struct cli_opts {
	bool capture;                 /* parsing for `capture` (else `read`) */
	struct fl_config cfg;
	const char *filter;           /* -f KFL */
	enum cli_output output;
	int color;                    /* --color: enum output_colour (0: auto) */
	const char *write_path;       /* -w */
	const char *write_filter;     /* --write-filter KFL */
	uint32_t write_max_mb;        /* 0: no rotation */
	uint32_t write_files;         /* 0: keep all */
	bool write_follow_symlinks;   /* -w may be a symbolic link */
	bool stats;                   /* --stats */
	const char *names_path;       /* --names FILE: `IP name [namespace]` lines */
	bool numeric;                 /* -n: the table shows addresses, not names */
	char *bpf_filter;             /* the trailing tcpdump expression, joined (malloc'd), or NULL */
	uint64_t count;               /* -c N: stop after N printed entries (0: no limit) */
	bool line_buffered;           /* -l: flush stdout after every entry */
	bool list_interfaces;         /* -D (capture) */
	int summary;                  /* --summary 1, --no-summary -1, else 0: on a terminal */
	bool top;                     /* read --top: the grouped view instead of entries */
	bool once;                    /* read --top --once: the plain table */
	bool all;                     /* --all: every entry, not only the default selection */
	bool no_redact;               /* --no-redact: keep credentials in entries */
	/* capture only */
	const char *interfaces[CLI_MAX_INTERFACES];
	unsigned n_interfaces;
	const char *backend;          /* "auto", "ebpf", "afpacket" */
	const char *hook;             /* "tc", "xdp" */
	double duration_s;            /* 0: until signalled */
	const char *socket_path;
	const char *socket_group;
	const char *metrics_listen;
	/* read only: the files */
	char **files;
	int n_files;
};

/*
 * Parse argv (argv[0] is the command name).  Prints a message naming the
 * problem on stderr and returns 2 on a usage error; returns 1 after printing
 * help for --help; 0 otherwise.
 */
int cli_parse(int argc, char **argv, bool capture, struct cli_opts *o);
/* "faultline CMD: unknown option 'ARG'" (or '-C' for a short optopt_char) and "Try 'faultline CMD --help'." on stderr; returns 2. */
int cli_unknown_option(const char *cmd, const char *arg, int optopt_char);
/* The same for any usage error: fmt has one %s, for arg. */
int cli_usage_error(const char *cmd, const char *fmt, const char *arg);
/* --color auto|always|never into *mode (enum output_colour); -1 for anything else. */
int cli_parse_color(const char *arg, int *mode);
/* Free what cli_parse allocated (the joined filter expression). */
void cli_opts_free(struct cli_opts *o);

struct output;
struct kfl_expr;
struct recorder;
struct pkt_filter;
struct summary;

/* One run: the pipeline and what hangs off it. */
struct run {
	struct fl_stats stats;
	struct pipeline *pipeline;
	struct output *out;
	struct kfl_expr *filter;
	struct recorder *recorder;
	struct kfl_expr *write_filter;   /* --write-filter, used by the recorder */
	struct pkt_filter *pkt_filter;   /* the capture filter expression, or NULL */
	struct summary *summary;         /* the summary on exit, when it may be printed */
	bool print_summary;              /* run_finish prints it (the caller decides when) */
	bool recorder_reported;         /* its problem was printed (once) */
	char node[256];                 /* capture: NODE_NAME or the hostname */
	const struct cli_opts *opts;
};

/* Build the pipeline and its sinks from the options.  0, or exit status (1/2) after printing why. */
int run_setup(struct run *r, const struct cli_opts *o, const char *backend_name);
/* Print the recorder's problem on stderr, once per run (capture may call it on its timer). */
void run_report_recorder(struct run *r);
/*
 * Finish the pipeline (capture-end), print --stats if asked, the summary if
 * r->print_summary, free everything.
 * Returns 1 when the recording failed (its message printed), else 0.
 */
int run_finish(struct run *r);

#endif
