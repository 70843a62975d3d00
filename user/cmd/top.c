// SPDX-License-Identifier: MIT
/*
 * The top view.  Entries come as JSON lines (from the control socket, or
 * written from read's docs) and are kept in a bounded ring, so a new KFL
 * filter (the / key) regroups what was seen.  The screen is drawn with plain
 * ANSI sequences (no curses), sized by TIOCGWINSZ; 80x24 fits.
 */
#include "cmd/top.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "kfl/kfl.h"
#include "report/doc_json.h"
#include "sink/ctl.h"
#include "sink/output.h"
#include "sink/top.h"

#define TOP_GROUPS 1024
#define TOP_KEEP_LINES 4096              /* entries kept for refiltering */
#define TOP_KEEP_BYTES (8u << 20)
#define TOP_MAX_ROWS 200

struct top_app {
	const char *cmd;
	struct top_table table;
	struct kfl_expr *filter;
	char filter_text[256];
	char *lines[TOP_KEEP_LINES];     /* ring of JSON lines */
	unsigned n_lines;                /* written in all */
	size_t bytes;
	struct doc doc;
	char *json;                      /* read --top: one entry as JSON */
	size_t json_len;
	FILE *json_f;
	bool live;
	enum top_sort sort;
	bool paused;
	unsigned selected;
	bool expanded;
	struct top_key expanded_key;
	bool prompting;                  /* typing a filter */
	char prompt[256];
	size_t prompt_len;
	char message[160];               /* a filter error, shown on the status line */
	uint64_t frozen_now;             /* paused: the time the view stopped at */
	uint64_t unparsed;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct top_app *top_app_new(const char *cmd, const char *filter, int *status)
{
	struct top_app *a = calloc(1, sizeof(*a));
	char err[512];

	*status = 1;
	if (!a || top_init(&a->table, TOP_GROUPS) < 0) {
		free(a);
		fprintf(stderr, "faultline %s: out of memory\n", cmd);
		return NULL;
	}
	a->cmd = cmd;
	doc_init(&a->doc);
	if (filter && *filter) {
		a->filter = kfl_compile(filter, err, sizeof(err));
		if (!a->filter) {
			fprintf(stderr, "faultline %s: -f: %s\n", cmd, err);
			*status = 2;
			top_app_free(a);
			return NULL;
		}
		snprintf(a->filter_text, sizeof(a->filter_text), "%s", filter);
	}
	return a;
}

void top_app_free(struct top_app *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < TOP_KEEP_LINES; i++)
		free(a->lines[i]);
	if (a->json_f)
		fclose(a->json_f);
	free(a->json);
	kfl_free(a->filter);
	doc_free(&a->doc);
	top_free(&a->table);
	free(a);
}

/* Group one parsed entry (a->doc) if it passes the filter and is a failure. */
static void group_doc(struct top_app *a, const struct doc *d)
{
	struct top_key k;
	char line[TOP_LINE], summary[TOP_LINE - 24];
	const char *ts = doc_path_str(d, DOC_ROOT, "ts");

	if (a->filter && !kfl_match(a->filter, d))
		return;
	if (!top_key_of(d, &k))
		return;
	output_summary(d, summary, sizeof(summary));
	/* "06:41:56.718846  SynSent refused" */
	snprintf(line, sizeof(line), "%.15s  %s", ts && strlen(ts) >= 26 ? ts + 11 : "", summary);
	top_add(&a->table, &k, top_parse_ts(ts), line);
}

static void feed_line(struct top_app *a, const char *text, size_t len)
{
	if (doc_parse_json(&a->doc, text, len) < 0) {
		a->unparsed++;
		return;
	}
	/* Kept for a later filter, within both bounds (the oldest lines go first). */
	unsigned slot = a->n_lines % TOP_KEEP_LINES;
	if (a->lines[slot]) {
		a->bytes -= strlen(a->lines[slot]) + 1;
		free(a->lines[slot]);
		a->lines[slot] = NULL;
	}
	if (a->bytes + len + 1 <= TOP_KEEP_BYTES) {
		a->lines[slot] = strndup(text, len);
		if (a->lines[slot])
			a->bytes += len + 1;
	}
	a->n_lines++;
	group_doc(a, &a->doc);
}

/* A new filter: group again what is kept. */
static void regroup(struct top_app *a)
{
	unsigned first = a->n_lines > TOP_KEEP_LINES ? a->n_lines - TOP_KEEP_LINES : 0;

	top_clear(&a->table);
	for (unsigned i = first; i != a->n_lines; i++) {
		const char *l = a->lines[i % TOP_KEEP_LINES];
		if (l && doc_parse_json(&a->doc, l, strlen(l)) == 0)
			group_doc(a, &a->doc);
	}
	a->selected = 0;
	a->expanded = false;
}

static void sink_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	struct top_app *a = ctx;

	(void)meta;
	if (!a->json_f) {
		a->json_f = open_memstream(&a->json, &a->json_len);
		if (!a->json_f)
			return;
	}
	rewind(a->json_f);
	doc_write_json(entry, DOC_ROOT, a->json_f);
	fflush(a->json_f);
	feed_line(a, a->json, a->json_len);
}

struct entry_sink top_app_sink(struct top_app *a)
{
	return (struct entry_sink){ .emit = sink_emit, .ctx = a };
}

/* ---- drawing ---- */

static void term_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static uint64_t view_now(const struct top_app *a)
{
	if (a->paused)
		return a->frozen_now;
	return a->live ? wall_ns() : a->table.now_ns;
}

/* Column widths for a terminal `cols` wide: the error column takes what is left. */
struct widths {
	int src, dst, err;
};

static struct widths widths_for(int cols)
{
	struct widths w = { 13, 21, 0 };
	/* COUNT /10s /1m LAST: 6+1 5+1 5+1 4+1 = 24, then SOURCE DESTINATION with a space each. */
	if (cols > 100) {
		w.src = 18 + (cols - 100) / 6;
		w.dst = 26 + (cols - 100) / 4;
	}
	w.err = cols - 24 - w.src - 1 - w.dst - 1;
	if (w.err < 10)
		w.err = 10;
	return w;
}

static void error_label(const struct top_group *g, char *buf, size_t len)
{
	size_t n = strcspn(g->key.error, " ");
	/* The protocol, when the error's type does not already say it ("dns" for a stream error). */
	if (strlen(g->key.proto) == n && strncmp(g->key.proto, g->key.error, n) == 0)
		snprintf(buf, len, "%s", g->key.error);
	else
		snprintf(buf, len, "%s/%s", g->key.proto, g->key.error);
}

static void print_row(FILE *f, const struct top_group *g, uint64_t now, struct widths w)
{
	char age[16], err[128];

	top_age(g->last_ns, now, age, sizeof(age));
	error_label(g, err, sizeof(err));
	fprintf(f, "%6llu %5.1f %5.2f %4s %-*.*s %-*.*s %.*s", (unsigned long long)g->count,
		top_rate(g, now, 10), top_rate(g, now, 60), age, w.src, w.src, g->key.src, w.dst,
		w.dst, g->key.dst, w.err, err);
}

static void print_header(FILE *f, struct widths w)
{
	fprintf(f, "%6s %5s %5s %4s %-*s %-*s %s", "COUNT", "/10s", "/1m", "LAST", w.src, "SOURCE",
		w.dst, "DESTINATION", "ERROR");
}

/* The plain table: every group (at most TOP_MAX_ROWS), no escape sequences. */
static void print_plain(struct top_app *a, FILE *f)
{
	const struct top_group *rows[TOP_MAX_ROWS];
	uint64_t now = view_now(a);
	unsigned n = top_sorted(&a->table, a->sort, now, rows, TOP_MAX_ROWS);
	int rows_n, cols = 132;
	if (isatty(STDOUT_FILENO))
		term_size(&rows_n, &cols);
	struct widths w = widths_for(cols);

	fprintf(f, "%llu failures in %u groups, sorted by %s%s%s\n",
		(unsigned long long)a->table.total, a->table.n, top_sort_name(a->sort),
		a->filter ? ", filter: " : "", a->filter ? a->filter_text : "");
	print_header(f, w);
	fputc('\n', f);
	for (unsigned i = 0; i < n; i++) {
		print_row(f, rows[i], now, w);
		fputc('\n', f);
	}
	if (n) {
		fprintf(f, "example: %s\n", rows[0]->example);
	}
	fflush(f);
}

static void draw(struct top_app *a, const char *source)
{
	int rows_n, cols;
	term_size(&rows_n, &cols);
	struct widths w = widths_for(cols);
	const struct top_group *rows[TOP_MAX_ROWS];
	uint64_t now = view_now(a);
	int body = rows_n - 4;
	if (body < 1)
		body = 1;
	unsigned n = top_sorted(&a->table, a->sort, now, rows,
				body < TOP_MAX_ROWS ? (unsigned)body : TOP_MAX_ROWS);
	char line[1024];

	if (a->selected >= n)
		a->selected = n ? n - 1 : 0;
	printf("\033[H\033[2J");
	/* What changes first (the source last: a long socket path is cut, not the state). */
	snprintf(line, sizeof(line), "faultline top: %llu failures, %u groups  sort: %s%s%s%s  %s",
		 (unsigned long long)a->table.total, a->table.n, top_sort_name(a->sort),
		 a->paused ? "  PAUSED" : "", a->filter ? "  filter: " : "",
		 a->filter ? a->filter_text : "", source);
	printf("\033[1m%.*s\033[0m\r\n", cols, line);
	if (a->expanded) {
		const struct top_group *g = NULL;
		for (unsigned i = 0; i < a->table.n; i++)
			if (memcmp(&a->table.groups[i].key, &a->expanded_key, sizeof(a->expanded_key)) == 0)
				g = &a->table.groups[i];
		if (!g) {
			a->expanded = false;
		} else {
			char err[128], age[16];
			error_label(g, err, sizeof(err));
			top_age(g->last_ns, now, age, sizeof(age));
			snprintf(line, sizeof(line), "%s -> %s  %s", g->key.src, g->key.dst, err);
			printf("\033[7m%-*.*s\033[0m\r\n", cols, cols, line);
			snprintf(line, sizeof(line), "count %llu  %.1f/s over 10 s  %.2f/s over 1 min  last %s",
				 (unsigned long long)g->count, top_rate(g, now, 10), top_rate(g, now, 60),
				 age);
			printf("%.*s\r\n", cols, line);
			printf("recent entries, newest first:\r\n");
			for (int i = 0; i < TOP_RECENT && i < rows_n - 6; i++) {
				const char *r = top_recent(g, (unsigned)i);
				if (!r)
					break;
				printf("  %.*s\r\n", cols - 2, r);
			}
			printf("\033[%d;1H\033[7m%-*.*s\033[0m", rows_n, cols, cols,
			       "Enter/Esc back  q quit  p pause");
			fflush(stdout);
			return;
		}
	}
	print_header(stdout, w);
	printf("\r\n");
	for (unsigned i = 0; i < n; i++) {
		if (i == a->selected)
			printf("\033[7m");
		print_row(stdout, rows[i], now, w);
		printf("\033[0m\r\n");
	}
	if (!n)
		printf("(no failures yet)\r\n");
	if (n)
		printf("\033[%d;1H\033[2m%.*s\033[0m", rows_n - 1, cols, rows[a->selected]->example);
	if (a->prompting)
		snprintf(line, sizeof(line), "KFL filter (Enter applies, empty clears, Esc cancels): %.*s",
			 (int)a->prompt_len, a->prompt);
	else if (a->message[0])
		snprintf(line, sizeof(line), "%s", a->message);
	else
		snprintf(line, sizeof(line), "q quit  s sort  / filter  p pause  Enter expand  "
			 "up/down select");
	printf("\033[%d;1H\033[7m%-*.*s\033[0m", rows_n, cols, cols, line);
	fflush(stdout);
}

/* ---- keys ---- */

static struct termios saved_tio;
static bool raw_mode;

static void restore_term(void)
{
	if (raw_mode) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
		printf("\033[?25h\033[?1049l");
		fflush(stdout);
		raw_mode = false;
	}
}

static int enter_raw(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -1;
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
		return -1;
	raw_mode = true;
	atexit(restore_term);
	/* The alternate screen, cursor hidden: the shell's screen comes back on quit. */
	printf("\033[?1049h\033[?25l");
	return 0;
}

static void apply_filter(struct top_app *a)
{
	char err[256];

	a->message[0] = '\0';
	a->prompt[a->prompt_len] = '\0';
	if (a->prompt_len == 0) {
		kfl_free(a->filter);
		a->filter = NULL;
		a->filter_text[0] = '\0';
		regroup(a);
		return;
	}
	struct kfl_expr *e = kfl_compile(a->prompt, err, sizeof(err));
	if (!e) {
		snprintf(a->message, sizeof(a->message), "filter: %.150s", err);
		return;
	}
	kfl_free(a->filter);
	a->filter = e;
	snprintf(a->filter_text, sizeof(a->filter_text), "%s", a->prompt);
	regroup(a);
}

/* Handle the bytes typed.  False: quit. */
static bool on_keys(struct top_app *a, const char *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		if (a->prompting) {
			if (c == '\r' || c == '\n') {
				a->prompting = false;
				apply_filter(a);
			} else if (c == 27) {
				a->prompting = false;
				i = n;       /* an escape sequence's rest */
			} else if (c == 127 || c == 8) {
				if (a->prompt_len)
					a->prompt_len--;
			} else if ((unsigned char)c >= 32 && a->prompt_len < sizeof(a->prompt) - 1) {
				a->prompt[a->prompt_len++] = c;
			}
			continue;
		}
		if (c == 27 && i + 2 < n + 0 && k[i + 1] == '[') {
			if (k[i + 2] == 'A' && a->selected)
				a->selected--;
			else if (k[i + 2] == 'B')
				a->selected++;
			i += 2;
			continue;
		}
		switch (c) {
		case 'q': case 'Q': case 3:
			return false;
		case 27:
			a->expanded = false;
			break;
		case 's':
			a->sort = (enum top_sort)((a->sort + 1) % TOP_SORT_N);
			break;
		case 'p':
			a->paused = !a->paused;
			a->frozen_now = a->live ? wall_ns() : a->table.now_ns;
			break;
		case 'k':
			if (a->selected)
				a->selected--;
			break;
		case 'j':
			a->selected++;
			break;
		case '/':
			a->prompting = true;
			a->message[0] = '\0';
			a->prompt_len = (size_t)snprintf(a->prompt, sizeof(a->prompt), "%s", a->filter_text);
			if (a->prompt_len >= sizeof(a->prompt))
				a->prompt_len = sizeof(a->prompt) - 1;
			break;
		case '\r': case '\n':
			if (a->expanded) {
				a->expanded = false;
			} else {
				const struct top_group *rows[TOP_MAX_ROWS];
				unsigned cnt = top_sorted(&a->table, a->sort, view_now(a), rows, TOP_MAX_ROWS);
				if (a->selected < cnt) {
					a->expanded_key = rows[a->selected]->key;
					a->expanded = true;
				}
			}
			break;
		default:
			break;
		}
	}
	return true;
}

/* The interactive loop: keys on stdin, entries on fd (or -1 for none), redraw each second. */
static int interact(struct top_app *a, int fd, const char *source)
{
	char buf[65536];
	size_t have = 0;
	uint64_t last_draw = 0;

	if (enter_raw() < 0) {
		fprintf(stderr, "faultline %s: the terminal cannot be put in raw mode: %s\n", a->cmd,
			strerror(errno));
		return 1;
	}
	draw(a, source);
	for (;;) {
		struct pollfd p[2] = { { STDIN_FILENO, POLLIN, 0 }, { fd, POLLIN, 0 } };
		int r = poll(p, fd >= 0 ? 2 : 1, 250);
		bool redraw = false;
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (p[0].revents & (POLLIN | POLLHUP))) {
			char k[64];
			ssize_t n = read(STDIN_FILENO, k, sizeof(k));
			if (n <= 0 || !on_keys(a, k, (size_t)n))
				break;
			redraw = true;
		}
		if (fd >= 0 && r > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
			if (n <= 0) {
				close(fd);
				fd = -1;
				snprintf(a->message, sizeof(a->message),
					 "the capture went away (q quits; what was seen stays)");
				redraw = true;
			} else {
				have += (size_t)n;
				char *start = buf, *nl;
				while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
					if (strncmp(start, "error ", 6) == 0)
						snprintf(a->message, sizeof(a->message), "%.*s",
							 (int)(nl - start), start);
					else if (strncmp(start, "lost ", 5) != 0)
						feed_line(a, start, (size_t)(nl - start));
					start = nl + 1;
				}
				have -= (size_t)(start - buf);
				memmove(buf, start, have);
				if (have == sizeof(buf))
					have = 0;     /* a line longer than the buffer: dropped */
			}
		}
		uint64_t now = wall_ns();
		/* Once a second, at once for a key, and within 250 ms of new entries. */
		if (fd >= 0 && r > 0 && (p[1].revents & POLLIN) && now - last_draw >= 250000000ull)
			redraw |= !a->paused;
		if (redraw || (!a->paused && now - last_draw >= 1000000000ull)) {
			draw(a, source);
			last_draw = now;
		}
	}
	if (fd >= 0)
		close(fd);
	restore_term();
	return 0;
}

int top_app_show_file(struct top_app *a, bool once, const char *what)
{
	a->live = false;
	if (once || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		print_plain(a, stdout);
		return 0;
	}
	return interact(a, -1, what);
}

/* ---- faultline top ---- */

static int send_request(int fd, const char *req)
{
	size_t len = strlen(req);
	while (len) {
		ssize_t n = send(fd, req, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		req += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read lines until the server closes (follow 0) or until `until_ns` (wall), whichever first. */
static int drain(struct top_app *a, int fd, uint64_t until_ns)
{
	static char buf[65536];
	size_t have = 0;

	for (;;) {
		int timeout = -1;
		if (until_ns) {
			uint64_t now = wall_ns();
			if (now >= until_ns)
				return 0;
			timeout = (int)((until_ns - now) / 1000000) + 1;
		}
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r;
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		char *start = buf, *nl;
		while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
			if (strncmp(start, "error ", 6) == 0) {
				char *msg;
				long code = strtol(start + 6, &msg, 10);
				fprintf(stderr, "faultline top: %.*s\n", (int)(nl - msg), *msg == ' ' ? msg + 1 : msg);
				return code == 2 ? -2 : -3;
			}
			if (strncmp(start, "lost ", 5) != 0)
				feed_line(a, start, (size_t)(nl - start));
			start = nl + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof(buf))
			have = 0;
	}
}

static const char top_help[] =
	"usage: faultline top [--socket PATH] [-f KFL] [--once] [--interval SECONDS]\n"
	"A live view of a running capture's failures (errors, HTTP 5xx, DNS SERVFAIL and\n"
	"REFUSED), grouped by source, destination:port, protocol and error, with the count,\n"
	"the rate over the last 10 s and 1 min, when last seen and an example; sorted by rate.\n"
	"Keys: s sort (rate, count, last seen), / filter with KFL, p pause, Enter expand a\n"
	"group into its recent entries (up/down or j/k select), q quit.\n"
	"  -f, --filter KFL         group only the entries matching KFL\n"
	"      --once               print the table once and exit (also when stdout is not\n"
	"                           a terminal: then the table is printed every --interval)\n"
	"      --interval SECONDS   how often the plain table is printed (default 2)\n"
	"      --socket PATH        control socket (default /run/faultline/faultline.sock)\n"
	"For files: faultline read --top FILE...\n";

static volatile sig_atomic_t top_stop;

static void on_term(int sig)
{
	(void)sig;
	top_stop = 1;
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "filter", required_argument, NULL, 'f' },
		{ "once", no_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = CTL_DEFAULT_SOCKET, *filter = NULL;
	bool once = false;
	double interval = 2;
	int c, status;
	char *end;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': path = optarg; break;
		case 'f': filter = optarg; break;
		case 'o': once = true; break;
		case 'i':
			interval = strtod(optarg, &end);
			if (end == optarg || *end || !(interval >= 0.1) || !(interval <= 86400))
				return cli_usage_error("top", "--interval takes seconds from 0.1 to 86400, "
						       "got '%s'", optarg);
			break;
		case 'h':
			fputs(top_help, stdout);
			return 0;
		case ':':
			return cli_usage_error("top", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option("top", argv[optind - 1], optopt);
		}
	}
	if (optind < argc)
		return cli_usage_error("top", "unexpected argument '%s'", argv[optind]);

	struct top_app *a = top_app_new("top", filter, &status);
	if (!a)
		return status;
	a->live = true;
	bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	int fd = ctl_connect(path);
	if (fd < 0) {
		fprintf(stderr, "faultline top: cannot connect to %s: %s (is `faultline capture` running?)\n",
			path, strerror(-fd));
		top_app_free(a);
		return 1;
	}
	/* Every entry the capture keeps, then the new ones; KFL is applied here (the / key changes it). */
	if (send_request(fd, once ? "query 0 0 \n" : "query 0 1 \n") < 0) {
		fprintf(stderr, "faultline top: %s: %s\n", path, strerror(errno));
		close(fd);
		top_app_free(a);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (once) {
		int rc = drain(a, fd, 0);
		close(fd);
		if (rc <= -2) {
			top_app_free(a);
			return rc == -2 ? 2 : 1;
		}
		print_plain(a, stdout);
		top_app_free(a);
		return 0;
	}
	if (!tty) {
		/* Not a terminal: the plain table every interval, until the capture ends or a signal. */
		signal(SIGINT, on_term);
		signal(SIGTERM, on_term);
		int rc = 0;
		while (!top_stop && rc >= 0) {
			rc = drain(a, fd, wall_ns() + (uint64_t)(interval * 1e9));
			print_plain(a, stdout);
			putchar('\n');
			fflush(stdout);
		}
		close(fd);
		top_app_free(a);
		return rc <= -2 ? (rc == -2 ? 2 : 1) : 0;
	}
	char source[300];
	snprintf(source, sizeof(source), "%s", path);
	status = interact(a, fd, source);
	top_app_free(a);
	return status;
}
