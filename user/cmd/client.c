// SPDX-License-Identifier: MIT
/* `faultline stats` and `faultline query`: clients of a running capture's control socket (ctl.h). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "report/doc_json.h"
#include "sink/ctl.h"
#include "sink/output.h"

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Send one request, then pass each reply line to `line` until the server closes.  Exit status. */
static int request(const char *path, const char *req, int (*line)(void *ctx, char *l), void *ctx)
{
	int fd = ctl_connect(path), rc = 0;
	size_t cap = 1 << 16, len = 0;
	char *buf;

	if (fd < 0) {
		fprintf(stderr, "faultline: cannot connect to %s: %s (is `faultline capture` running?)\n",
			path, strerror(-fd));
		return 1;
	}
	if (send_all(fd, req, strlen(req)) < 0) {
		fprintf(stderr, "faultline: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return 1;
	}
	for (;;) {
		if (len == cap) {
			char *p = realloc(buf, cap * 2);
			if (!p) {
				rc = 1;
				break;
			}
			buf = p;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		char *start = buf, *nl;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
			*nl = '\0';
			if (strncmp(start, "lost ", 5) == 0) {
				/* A follower that read too slowly: say so, keep going. */
				fprintf(stderr, "faultline: %s entries were lost (this client read too "
					"slowly)\n", start + 5);
			} else if (strncmp(start, "error ", 6) == 0) {
				char *msg;
				long code = strtol(start + 6, &msg, 10);
				fprintf(stderr, "faultline: %s\n", *msg == ' ' ? msg + 1 : msg);
				rc = code > 0 ? (int)code : 1;
			} else if (rc == 0) {
				rc = line(ctx, start);
			}
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
	}
	free(buf);
	close(fd);
	return rc;
}

/* ---- stats ---- */

static int print_line(void *ctx, char *l)
{
	(void)ctx;
	puts(l);
	fflush(stdout);
	return 0;
}

/* The stats JSON as a table: one dotted key and its value a line (sink/output.c). */
static int print_table(void *ctx, char *json)
{
	(void)ctx;
	if (output_stats_table(json, strlen(json), stdout) < 0)
		puts(json);
	fflush(stdout);
	return 0;
}

/* A query's entry (one JSON object a line) as a table row. */
static int print_entry_row(void *ctx, char *json)
{
	struct output *o = ctx;
	struct doc d;
	doc_init(&d);
	if (doc_parse_json(&d, json, strlen(json)) == 0) {
		struct entry_sink sink = output_sink(o);
		sink.emit(sink.ctx, &d, NULL);
	} else {
		puts(json);   /* not an entry: as it came */
	}
	doc_free(&d);
	fflush(stdout);
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = CTL_DEFAULT_SOCKET;
	bool json = false, prometheus = false;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'j': json = true; break;
		case 'o':
			if (!strcmp(optarg, "json"))
				json = true;
			else if (!strcmp(optarg, "table"))
				json = false;
			else
				return cli_usage_error("stats", "--output takes table or json, got '%s'",
						       optarg);
			break;
		case 'p': prometheus = true; break;
		case 'h':
			puts("usage: faultline stats [--socket PATH] [-o table|json] [--json|--prometheus]\n"
			     "Counters of a running capture: a table (one 'dotted.key value' line\n"
			     "each, -o table, the default), one JSON document (-o json, --json),\n"
			     "or the Prometheus text exposition format (--prometheus).");
			return 0;
		case ':':
			return cli_usage_error("stats", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option("stats", argv[optind - 1], optopt);
		}
	}
	if (optind < argc)
		return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
	if (json && prometheus)
		return cli_usage_error("stats", "--json and --prometheus exclude each other%s", "");
	if (prometheus)
		return request(path, "metrics\n", print_line, NULL);
	return request(path, "stats\n", json ? print_line : print_table, NULL);
}

/* ---- query ---- */

int cmd_query(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "filter", required_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'l' },
		{ "follow", no_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "color", required_argument, NULL, 'C' },
		{ "colour", required_argument, NULL, 'C' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = CTL_DEFAULT_SOCKET, *filter = "";
	unsigned long limit = 100;
	bool follow = false, numeric = false;
	int table = -1, colour = OUTPUT_COLOUR_AUTO;
	char *end, *req;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'f': filter = optarg; break;
		case 'o':
			if (!strcmp(optarg, "json"))
				table = 0;
			else if (!strcmp(optarg, "table"))
				table = 1;
			else
				return cli_usage_error("query", "--output takes table or json, got '%s'",
						       optarg);
			break;
		case 'C':
			if (cli_parse_color(optarg, &colour) < 0)
				return cli_usage_error("query", "--color takes auto, always or never, got '%s'",
						       optarg);
			break;
		case 'n': numeric = true; break;
		case ':':
			return cli_usage_error("query", "option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt >= '0' && optopt <= '9') {
				char opt[3] = { '-', (char)optopt, 0 };
				return cli_usage_error("query", "unknown option '%s' (the number of entries "
						       "is --limit N)", opt);
			}
			return cli_unknown_option("query", argv[optind - 1], optopt);
		case 'l':
			errno = 0;
			limit = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-')
				return cli_usage_error("query", "--limit takes a whole number, not '%s'",
						       optarg);
			break;
		case 'F': follow = true; break;
		case 'h':
			puts("usage: faultline query [--socket PATH] [-f KFL] [--limit N] [--follow]\n"
			     "                       [-o table|json] [--color auto|always|never] [-n]\n"
			     "  --limit 0 shows every entry the capture keeps\n"
			     "  -o table|json  the table of read and capture on a terminal, json (one\n"
			     "                 object per line) otherwise\n"
			     "  --color        colour the table (auto: stdout is a terminal, NO_COLOR\n"
			     "                 unset or empty, TERM not dumb)\n"
			     "  -n, --numeric  the table shows addresses, not names");
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc)
		return cli_usage_error("query", "unexpected argument '%s'", argv[optind]);
	if (asprintf(&req, "query %lu %d %s\n", limit, follow ? 1 : 0, filter) < 0)
		return 1;
	/* The request is one line: a filter spanning lines is the same filter on one. */
	for (char *p = req; p[1]; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (table < 0)
		table = isatty(STDOUT_FILENO);
	struct output *out = NULL;
	if (table) {
		out = output_new(stdout, OUTPUT_TABLE,
				 output_colour_wanted((enum output_colour)colour, STDOUT_FILENO), NULL, NULL);
		if (!out) {
			free(req);
			fprintf(stderr, "faultline: out of memory\n");
			return 1;
		}
		output_set_numeric(out, numeric);
		output_set_width(out, output_terminal_width(STDOUT_FILENO));
	}
	rc = request(path, req, out ? print_entry_row : print_line, out);
	output_free(out);
	free(req);
	return rc;
}
