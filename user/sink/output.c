// SPDX-License-Identifier: MIT
#include "sink/output.h"

#include "report/doc_json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct output {
	FILE *out;
	enum output_format format;
	bool colour;
	bool (*match)(const void *ctx, const struct doc *entry);
	const void *match_ctx;
	bool header_done;
	bool flush;          /* -l */
	uint64_t limit;      /* -c: 0, or the most entries to print */
	uint64_t printed;
	bool numeric;         /* -n: addresses even when the endpoint has a name */
	unsigned width;       /* terminal width; 0: unlimited */
	char day[11];         /* the date of the last row printed ("2026-11-30") */
};

#define RED    "\033[31m"
#define YELLOW "\033[33m"
#define DIM    "\033[2m"
#define BOLD   "\033[1m"
#define RESET  "\033[0m"

struct output *output_new(FILE *out, enum output_format format, bool colour,
			  bool (*match)(const void *ctx, const struct doc *entry),
			  const void *match_ctx)
{
	struct output *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->out = out;
	o->format = format;
	o->colour = colour;
	o->match = match;
	o->match_ctx = match_ctx;
	return o;
}

void output_set_limit(struct output *o, uint64_t max)
{
	o->limit = max;
}

void output_set_flush(struct output *o, bool flush)
{
	o->flush = flush;
}

uint64_t output_printed(const struct output *o)
{
	return o ? o->printed : 0;
}

void output_set_numeric(struct output *o, bool numeric)
{
	o->numeric = numeric;
}

void output_set_width(struct output *o, unsigned width)
{
	o->width = width;
}

unsigned output_terminal_width(int fd)
{
	const char *env = getenv("COLUMNS");
	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);
		if (!*end && v > 0 && v <= 10000)
			return (unsigned)v;
	}
	struct winsize ws;
	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

bool output_colour_wanted(enum output_colour mode, int fd)
{
	if (mode == OUTPUT_COLOUR_ALWAYS)
		return true;
	if (mode == OUTPUT_COLOUR_NEVER)
		return false;
	const char *no = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	if (no && *no)
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fd) == 1;
}

void output_free(struct output *o)
{
	if (o)
		fflush(o->out);
	free(o);
}

/* "ip:port", with brackets around IPv6 addresses that carry a port; the
 * endpoint's name instead of its address when `named` and it has one. */
static void format_endpoint(const struct doc *d, uint32_t ep, bool named, char *buf, size_t len)
{
	const char *ip = named ? doc_path_str(d, ep, "name") : NULL;
	if (ip && strchr(ip, ':'))
		ip = NULL;   /* a name that reads as an IPv6 address would mislead */
	if (!ip)
		ip = doc_path_str(d, ep, "ip");
	uint32_t port = doc_get(d, ep, "port");
	if (!ip)
		ip = "?";
	if (port == DOC_NONE)
		snprintf(buf, len, "%s", ip);
	else if (strchr(ip, ':'))
		snprintf(buf, len, "[%s]:%lld", ip, (long long)doc_number(d, port));
	else
		snprintf(buf, len, "%s:%lld", ip, (long long)doc_number(d, port));
}

/* Append printf-style text to buf at *used, never past len. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	if (*used >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

static void summarise_tcp(const struct doc *d, uint32_t tcp, char *buf, size_t len, size_t *used)
{
	const char *s;
	uint32_t n;
	if ((s = doc_path_str(d, tcp, "reason")))
		append(buf, len, used, " %s", s);
	if ((n = doc_get(d, tcp, "syn_retries")) != DOC_NONE && doc_number(d, n) > 0)
		append(buf, len, used, " after %lld SYN retries", (long long)doc_number(d, n));
	if ((s = doc_path_str(d, tcp, "icmp.code_name")) || (s = doc_path_str(d, tcp, "icmp.type_name")))
		append(buf, len, used, " (ICMP %s)", s);
	if ((s = doc_path_str(d, tcp, "reset_by")))
		append(buf, len, used, " by %s", s);
	if ((s = doc_path_str(d, tcp, "closed_by")))
		append(buf, len, used, ": closed by %s", s);
	if ((n = doc_get(d, tcp, "fin_retransmissions")) != DOC_NONE)
		append(buf, len, used, ": FIN sent %lld times", (long long)doc_number(d, n) + 1);
	if ((n = doc_get(d, tcp, "waited_ms")) != DOC_NONE)
		append(buf, len, used, ", waited %lld ms", (long long)doc_number(d, n));
}

/* Words for a kernel drop reason: "by netfilter"; NULL: say the reason's name. */
static const char *drop_words(const char *reason)
{
	static const struct { const char *reason, *words; } words[] = {
		{ "NETFILTER_DROP", "by netfilter" },
		{ "IP_RPFILTER", "by the reverse-path filter" },
		{ "NO_SOCKET", "for want of a socket" },
		{ "SOCKET_RCVBUFF", "for a full receive buffer" },
		{ "TCP_LISTEN_OVERFLOW", "for a full listen queue" },
		{ "QDISC_DROP", "by the qdisc" },
		{ "NEIGH_FAILED", "for a failed neighbour lookup" },
	};
	for (size_t i = 0; reason && i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(reason, words[i].reason))
			return words[i].words;
	return NULL;
}

/* tcp.kernel_drops (or kernel_drops): " — dropped by netfilter on this host (3 times)". */
static void summarise_kernel_drops(const struct doc *d, uint32_t arr, char *buf, size_t len,
				   size_t *used)
{
	uint32_t o;
	for (uint32_t i = 0; (o = doc_index(d, arr, i)) != DOC_NONE; i++) {
		const char *reason = doc_path_str(d, o, "reason");
		const char *w = drop_words(reason);
		long long n = (long long)doc_number(d, doc_get(d, o, "count"));
		append(buf, len, used, "%s dropped %s%s%s on this host (%lld time%s)",
		       i ? ";" : " \u2014", w ? w : "(", w ? "" : reason ? reason : "?", w ? "" : ")",
		       n, n == 1 ? "" : "s");
	}
}

static void summarise_icmp(const struct doc *d, uint32_t icmp, char *buf, size_t len, size_t *used)
{
	const char *type = doc_path_str(d, icmp, "type_name");
	const char *code = doc_path_str(d, icmp, "code_name");
	uint32_t n;
	append(buf, len, used, "%s", type ? type : "ICMP");
	if (code)
		append(buf, len, used, " (%s)", code);
	if ((n = doc_get(d, icmp, "seq")) != DOC_NONE)
		append(buf, len, used, " seq %lld", (long long)doc_number(d, n));
	if ((n = doc_get(d, icmp, "mtu")) != DOC_NONE)
		append(buf, len, used, " mtu %lld", (long long)doc_number(d, n));
	const char *s;
	if ((s = doc_path_str(d, icmp, "gateway")))
		append(buf, len, used, " gateway %s", s);
	if ((n = doc_get(d, icmp, "pointer")) != DOC_NONE)
		append(buf, len, used, " pointer %lld", (long long)doc_number(d, n));
	uint32_t orig = doc_get(d, icmp, "original");
	if (orig != DOC_NONE) {
		char src[64], dst[64];
		format_endpoint(d, doc_get(d, orig, "src"), false, src, sizeof(src));
		format_endpoint(d, doc_get(d, orig, "dst"), false, dst, sizeof(dst));
		const char *proto = doc_path_str(d, orig, "protocol");
		append(buf, len, used, " for %s %s -> %s", proto ? proto : "", src, dst);
	}
	if (doc_get(d, DOC_ROOT, "response") != DOC_NONE &&
	    doc_type_of(d, doc_get(d, DOC_ROOT, "response")) == DOC_NULL)
		append(buf, len, used, ": no reply");
}

/* The per-protocol summaries of dissect/protocols.def. */
static const struct {
	const char *protocol, *request, *response;
} summaries[] = {
#define PROTOCOL(name, request_summary, response_summary) \
	{ #name, request_summary, response_summary },
#include "dissect/protocols.def"
#undef PROTOCOL
};

/* The node at a dotted path whose numeric segments index arrays ("a.questions.0.name"). */
static uint32_t summary_lookup(const struct doc *d, const char *path, size_t path_len)
{
	uint32_t node = DOC_ROOT;
	const char *p = path, *end = path + path_len;
	while (p < end && node != DOC_NONE) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (doc_type_of(d, node) == DOC_ARR && n && p[0] >= '0' && p[0] <= '9')
			node = doc_index(d, node, (uint32_t)strtoul(p, NULL, 10));
		else
			node = doc_getn(d, node, p, n);
		p += n + (dot ? 1 : 0);
	}
	return node;
}

/*
 * Append template `t` with each {path} replaced by the entry's value there
 * (strings as they are, numbers as integers, anything else as nothing),
 * when the first {path} has a string or number value.
 */
static void summarise_template(const struct doc *d, const char *t, char *buf, size_t len,
			       size_t *used)
{
	bool first = true;
	while (*t) {
		const char *open = strchr(t, '{');
		const char *close = open ? strchr(open, '}') : NULL;
		if (!open || !close) {
			append(buf, len, used, "%s", t);
			return;
		}
		uint32_t n = summary_lookup(d, open + 1, (size_t)(close - open - 1));
		enum doc_type type = n == DOC_NONE ? DOC_NULL : doc_type_of(d, n);
		bool has = type == DOC_STR || type == DOC_INT || type == DOC_REAL;
		if (first && !has)
			return;
		first = false;
		append(buf, len, used, "%.*s", (int)(open - t), t);
		if (type == DOC_STR)
			append(buf, len, used, "%s", doc_str(d, n, NULL));
		else if (has)
			append(buf, len, used, "%lld", (long long)doc_number(d, n));
		t = close + 1;
	}
}

void output_summary(const struct doc *d, char *buf, size_t len)
{
	size_t used = 0;
	uint32_t n;
	buf[0] = '\0';

	uint32_t icmp = doc_get(d, DOC_ROOT, "icmp");
	uint32_t tcp = doc_get(d, DOC_ROOT, "tcp");
	uint32_t err = doc_get(d, DOC_ROOT, "error");
	bool is_error = doc_type_of(d, err) == DOC_OBJ;

	if (icmp != DOC_NONE) {
		summarise_icmp(d, icmp, buf, len, &used);
	} else {
		/* Application request and response, as dissect/protocols.def summarises them. */
		const char *proto = doc_path_str(d, DOC_ROOT, "protocol");
		for (size_t i = 0; proto && i < sizeof(summaries) / sizeof(summaries[0]); i++) {
			if (strcmp(proto, summaries[i].protocol) != 0)
				continue;
			summarise_template(d, summaries[i].request, buf, len, &used);
			summarise_template(d, summaries[i].response, buf, len, &used);
			break;
		}
		if ((n = doc_get(d, DOC_ROOT, "elapsed_ms")) != DOC_NONE && doc_type_of(d, n) != DOC_NULL)
			append(buf, len, &used, " (%.1f ms)", doc_number(d, n));
	}
	if (is_error) {
		const char *type = doc_path_str(d, err, "type");
		const char *msg = doc_path_str(d, err, "message");
		const char *reason = doc_path_str(d, err, "reason");
		if (icmp == DOC_NONE) {
			append(buf, len, &used, "%s%s", used ? "  " : "",
			       type && strcmp(type, "tcp") != 0 ? type : "");
			append(buf, len, &used, "%s%s", type && strcmp(type, "tcp") != 0 ? ": " : "",
			       msg ? msg : "");
			if (reason)
				append(buf, len, &used, " (%s)", reason);
		}
		if (tcp != DOC_NONE && type && strcmp(type, "tcp") == 0)
			summarise_tcp(d, tcp, buf, len, &used);
		uint32_t kd = tcp != DOC_NONE ? doc_get(d, tcp, "kernel_drops") : DOC_NONE;
		if (kd == DOC_NONE)
			kd = doc_get(d, DOC_ROOT, "kernel_drops");
		if (kd != DOC_NONE)
			summarise_kernel_drops(d, kd, buf, len, &used);
		const char *eno = tcp != DOC_NONE ? doc_path_str(d, tcp, "errno") : NULL;
		if (!eno)
			eno = doc_path_str(d, DOC_ROOT, "errno");
		uint32_t drop = doc_get(d, DOC_ROOT, "drop");
		if (drop != DOC_NONE) {
			const char *w = drop_words(doc_path_str(d, drop, "reason"));
			const char *where = doc_path_str(d, drop, "location");
			long long cnt = (long long)doc_number(d, doc_get(d, drop, "count"));
			append(buf, len, &used, ": %lld packet%s dropped%s%s on this host", cnt,
			       cnt == 1 ? "" : "s", w ? " " : "", w ? w : "");
			if (where)
				append(buf, len, &used, " in %s", where);
		}
		if (eno)
			append(buf, len, &used, "; the application got %s", eno);
	}
	if (tcp != DOC_NONE) {
		if ((n = doc_get(d, tcp, "retransmissions")) != DOC_NONE)
			append(buf, len, &used, " [%lld retransmitted]", (long long)doc_number(d, n));
		if ((n = doc_get(d, tcp, "missed_bytes")) != DOC_NONE)
			append(buf, len, &used, " [%lld bytes missed]", (long long)doc_number(d, n));
		if ((n = doc_get(d, tcp, "truncated_bytes")) != DOC_NONE)
			append(buf, len, &used, " [%lld bytes truncated]", (long long)doc_number(d, n));
	}
}

/* Columns of a NUL-terminated UTF-8 string (one per code point). */
static size_t text_cols(const char *s, size_t bytes)
{
	size_t cols = 0;
	for (size_t i = 0; i < bytes && s[i]; i++)
		cols += ((unsigned char)s[i] & 0xC0) != 0x80;
	return cols;
}

/* The byte length of the first `cols` columns of s. */
static size_t cols_bytes(const char *s, size_t cols)
{
	size_t i = 0, c = 0;
	while (s[i]) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (c == cols)
				break;
			c++;
		}
		i++;
	}
	return i;
}

#define ELLIPSIS "\u2026"

void output_shorten_endpoint(char *ep, size_t size, unsigned cols)
{
	size_t len = strlen(ep);
	if (text_cols(ep, len) <= cols || cols < 4)
		return;
	/* The port: ":digits" at the end, after "]" for IPv6, or after a host without ':'. */
	const char *port = strrchr(ep, ':');
	bool bracket = ep[0] == '[';
	if (port && bracket && port[-1] != ']')
		port = NULL;
	if (port && !bracket && strchr(ep, ':') != port)
		port = NULL;  /* a bare IPv6 address: no port */
	size_t host_end = port ? (size_t)(port - ep) : len;
	size_t host_start = 0;
	if (bracket) {
		host_start = 1;
		host_end -= host_end > 1 && ep[host_end - 1] == ']';
	}
	char host[256], tail[64];
	snprintf(host, sizeof(host), "%.*s", (int)(host_end - host_start), ep + host_start);
	snprintf(tail, sizeof(tail), "%s%s", bracket ? "]" : "", port ? port : "");
	size_t fixed = text_cols(tail, sizeof(tail)) + (bracket ? 1 : 0);
	if (fixed + 2 > cols) {
		/* Not even the port fits with a character of the address: cut the end. */
		size_t b = cols_bytes(ep, cols - 1);
		snprintf(ep + b, size - b, ELLIPSIS);
		return;
	}
	size_t room = cols - fixed - 1;            /* address columns, the ellipsis aside */
	size_t head = (room + 1) / 2, back = room / 2;
	size_t hcols = text_cols(host, sizeof(host));
	size_t hb = cols_bytes(host, head);
	size_t tb = cols_bytes(host, hcols - back);
	char out[400];
	snprintf(out, sizeof(out), "%s%.*s" ELLIPSIS "%s%s", bracket ? "[" : "", (int)hb, host,
		 host + tb, tail);
	snprintf(ep, size, "%s", out);
}

/* What colour a row takes: red errors, yellow failed responses, dim the rest. */
static const char *row_colour(const struct doc *d)
{
	if (doc_type_of(d, doc_get(d, DOC_ROOT, "error")) == DOC_OBJ)
		return RED;
	uint32_t resp = doc_get(d, DOC_ROOT, "response");
	if (resp != DOC_NONE && doc_type_of(d, resp) == DOC_OBJ) {
		uint32_t st = doc_get(d, resp, "status");
		if (st != DOC_NONE && doc_number(d, st) >= 500)
			return YELLOW;
		const char *rc = doc_path_str(d, resp, "rcode_name");
		if (rc && (!strcmp(rc, "SERVFAIL") || !strcmp(rc, "REFUSED")))
			return YELLOW;
		const char *proto = doc_path_str(d, DOC_ROOT, "protocol");
		const char *type = doc_path_str(d, resp, "type");
		if (proto && !strcmp(proto, "redis") && type &&
		    (!strcmp(type, "error") || !strcmp(type, "blob_error")))
			return YELLOW;
	}
	return DIM;
}

/* The column widths for a terminal `width` columns wide (0: unlimited). */
struct table_cols {
	unsigned time, addr, what;   /* what 0: unlimited */
};

static struct table_cols table_cols(unsigned width)
{
	struct table_cols c = { 15, 21, 0 };
	if (!width)
		return c;
	if (width < 100)
		c.time = 12;   /* milliseconds */
	/* time, 2, proto 5, 2, src, " -> ", dst, 2, what: each address a quarter of the rest. */
	unsigned fixed = c.time + 2 + 5 + 2 + 4 + 2;
	c.addr = width > fixed ? (width - fixed) / 4 : 0;
	if (c.addr > 47)
		c.addr = 47;   /* "[ffff:...:ffff]:65535" in full */
	if (c.addr < 16)
		c.addr = 16;   /* "198.18.1.2:40000" */
	c.what = width > fixed + 2 * c.addr + 12 ? width - fixed - 2 * c.addr : 12;
	return c;
}

/* Print s padded with spaces to `cols` columns. */
static void put_padded(FILE *out, const char *s, unsigned cols)
{
	size_t n = text_cols(s, strlen(s));
	fputs(s, out);
	for (; n < cols; n++)
		fputc(' ', out);
}

/*
 * The summary in lines of at most `cols` columns, broken between words
 * (a word longer than a line is cut: nothing else fits), continuation lines
 * indented by `indent`.
 */
static void put_wrapped(struct output *o, const char *s, unsigned cols, unsigned indent,
			const char *on, const char *off)
{
	if (!cols) {
		fprintf(o->out, "%s%s\n", s, off);
		return;
	}
	bool first = true;
	while (*s) {
		size_t total = text_cols(s, strlen(s));
		size_t take;
		if (total <= cols) {
			take = strlen(s);
		} else {
			size_t lim = cols_bytes(s, cols);
			take = lim;
			/* The last space at or before the limit. */
			while (take > 0 && s[take] != ' ')
				take--;
			if (take == 0)
				take = lim;
		}
		if (!first) {
			fprintf(o->out, "%s", on);
			for (unsigned i = 0; i < indent; i++)
				fputc(' ', o->out);
		}
		fprintf(o->out, "%.*s%s\n", (int)take, s, off);
		first = false;
		s += take;
		while (*s == ' ')
			s++;
	}
	if (first)
		fprintf(o->out, "%s\n", off);
}

static void print_table_row(struct output *o, const struct doc *d)
{
	char src[160], dst[160], what[512];
	const char *ts = doc_path_str(d, DOC_ROOT, "ts");
	const char *proto = doc_path_str(d, DOC_ROOT, "protocol");
	struct table_cols c = table_cols(o->width);

	format_endpoint(d, doc_get(d, DOC_ROOT, "src"), !o->numeric, src, sizeof(src));
	format_endpoint(d, doc_get(d, DOC_ROOT, "dst"), !o->numeric, dst, sizeof(dst));
	if (o->width) {
		/* Unlimited (a pipe without COLUMNS): nothing cut, long addresses shift the row. */
		output_shorten_endpoint(src, sizeof(src), c.addr);
		output_shorten_endpoint(dst, sizeof(dst), c.addr);
	}
	output_summary(d, what, sizeof(what));
	/* "2026-11-26T06:41:56.718846Z" -> "06:41:56.718846" (or "06:41:56.718" when narrow) */
	char clock[16] = "";
	if (ts && strlen(ts) >= 26)
		snprintf(clock, sizeof(clock), "%.*s", (int)c.time, ts + 11);

	const char *off = o->colour ? RESET : "";
	if (!o->header_done) {
		fprintf(o->out, "%s", o->colour ? BOLD : "");
		put_padded(o->out, "TIME", c.time);
		fprintf(o->out, "  %-5s  ", "PROTO");
		put_padded(o->out, "SOURCE", c.addr + 4);
		put_padded(o->out, "DESTINATION", c.addr);
		fprintf(o->out, "  WHAT%s\n", off);
		o->header_done = true;
	}
	/* The date before the first row and whenever the day changes (like tcpdump -tttt). */
	if (ts && strlen(ts) >= 10 && strncmp(o->day, ts, 10) != 0) {
		memcpy(o->day, ts, 10);
		o->day[10] = '\0';
		fprintf(o->out, "%s--- %s ---%s\n", o->colour ? BOLD : "", o->day, off);
	}
	const char *on = o->colour ? row_colour(d) : "";
	fprintf(o->out, "%s", on);
	put_padded(o->out, clock, c.time);
	fprintf(o->out, "  %-5.5s  ", proto ? proto : "?");
	put_padded(o->out, src, c.addr);
	fputs(" -> ", o->out);
	put_padded(o->out, dst, c.addr);
	fputs("  ", o->out);
	put_wrapped(o, what, c.what, c.time + 2 + 5 + 2 + c.addr + 4 + c.addr + 2, on, off);
}

static void output_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	struct output *o = ctx;
	(void)meta;
	if (o->limit && o->printed >= o->limit)
		return;
	if (o->match && !o->match(o->match_ctx, entry))
		return;
	if (o->format == OUTPUT_JSON) {
		doc_write_json(entry, DOC_ROOT, o->out);
		fputc('\n', o->out);
	} else {
		print_table_row(o, entry);
	}
	o->printed++;
	if (o->flush)
		fflush(o->out);
}

struct entry_sink output_sink(struct output *o)
{
	return (struct entry_sink){ .emit = output_emit, .ctx = o };
}

/* The widest dotted key under node (prefix `plen` bytes long). */
static size_t stats_key_width(const struct doc *d, uint32_t node, size_t plen)
{
	size_t w = 0;
	for (uint32_t c = d->nodes[node].v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
		size_t klen;
		doc_key(d, c, &klen);
		size_t n = plen + (plen ? 1 : 0) + klen;
		if (doc_type_of(d, c) == DOC_OBJ && d->nodes[c].v.kids.count)
			n = stats_key_width(d, c, n);
		if (n > w)
			w = n;
	}
	return w;
}

static void stats_rows(const struct doc *d, uint32_t node, const char *prefix, int width, FILE *out)
{
	for (uint32_t c = d->nodes[node].v.kids.first; c != DOC_NONE; c = d->nodes[c].next) {
		size_t klen;
		const char *k = doc_key(d, c, &klen);
		char key[512];
		snprintf(key, sizeof(key), "%s%s%.*s", prefix, *prefix ? "." : "", (int)klen, k);
		enum doc_type t = doc_type_of(d, c);
		if (t == DOC_OBJ && d->nodes[c].v.kids.count) {
			stats_rows(d, c, key, width, out);
			continue;
		}
		fprintf(out, "%-*s  ", width, key);
		if (t == DOC_STR) {
			fputs(doc_str(d, c, NULL), out);
		} else if (t == DOC_ARR) {
			/* Scalars joined by ", "; anything else as JSON. */
			uint32_t e;
			for (uint32_t i = 0; (e = doc_index(d, c, i)) != DOC_NONE; i++) {
				if (i)
					fputs(", ", out);
				if (doc_type_of(d, e) == DOC_STR)
					fputs(doc_str(d, e, NULL), out);
				else
					doc_write_json(d, e, out);
			}
		} else {
			doc_write_json(d, c, out);
		}
		fputc('\n', out);
	}
}

int output_stats_table(const char *json, size_t len, FILE *out)
{
	struct doc d;
	doc_init(&d);
	if (doc_parse_json(&d, json, len) < 0) {
		doc_free(&d);
		return -1;
	}
	size_t w = stats_key_width(&d, DOC_ROOT, 0);
	stats_rows(&d, DOC_ROOT, "", (int)(w < 200 ? w : 200), out);
	doc_free(&d);
	return 0;
}
