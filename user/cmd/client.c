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
#include "sink/ctl.h"

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

/*
 * The stats JSON as an indented table: one line per section, one per value.
 * The server writes it (no string in it holds a quote or a brace), so a
 * small walker suffices.
 */
static int print_table(void *ctx, char *json)
{
	int depth = 0;
	char key[64] = "";
	bool in_array = false;

	(void)ctx;
	for (char *p = json; *p; p++) {
		if (*p == '{') {
			if (depth > 0 && *key)
				printf("%*s%s\n", (depth - 1) * 2, "", key);
			depth++;
			*key = '\0';
		} else if (*p == '}') {
			depth--;
		} else if (*p == '[') {
			printf("%*s%-26s", (depth - 1) * 2, "", key);
			in_array = true;
			*key = '\0';
		} else if (*p == ']') {
			putchar('\n');
			in_array = false;
		} else if (*p == '"') {
			char *end = strchr(p + 1, '"');
			if (!end)
				break;
			if (end[1] == ':' && !in_array) {
				snprintf(key, sizeof(key), "%.*s", (int)(end - p - 1), p + 1);
				p = end + 1;
			} else {
				if (in_array)
					printf("%s%.*s", p[-1] == ',' ? ", " : "", (int)(end - p - 1), p + 1);
				else
					printf("%*s%-26s%.*s\n", (depth - 1) * 2, "", key,
					       (int)(end - p - 1), p + 1);
				p = end;
			}
		} else if (isdigit((unsigned char)*p) || *p == '-' || *p == 't' || *p == 'f' ||
			   *p == 'n') {
			size_t n = strcspn(p, ",}]");
			printf("%*s%-26s%.*s\n", (depth - 1) * 2, "", key, (int)n, p);
			p += n - 1;
		}
	}
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = CTL_DEFAULT_SOCKET;
	bool json = false, prometheus = false;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'j': json = true; break;
		case 'p': prometheus = true; break;
		case 'h':
			puts("usage: faultline stats [--socket PATH] [--json|--prometheus]\n"
			     "Counters of a running capture: a table, one JSON document (--json),\n"
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
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = CTL_DEFAULT_SOCKET, *filter = "";
	unsigned long limit = 100;
	bool follow = false;
	char *end, *req;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'f': filter = optarg; break;
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
			     "  --limit 0 shows every entry the capture keeps");
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
	rc = request(path, req, print_line, NULL);
	free(req);
	return rc;
}
