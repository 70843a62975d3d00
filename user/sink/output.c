// SPDX-License-Identifier: MIT
#include "sink/output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
	*o = (struct output){ out, format, colour, match, match_ctx, false, false };
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

static void print_table_row(struct output *o, const struct doc *d)
{
	char src[64], dst[64], what[512];
	const char *ts = doc_path_str(d, DOC_ROOT, "ts");
	const char *proto = doc_path_str(d, DOC_ROOT, "protocol");
	bool is_error = doc_type_of(d, doc_get(d, DOC_ROOT, "error")) == DOC_OBJ;

	format_endpoint(d, doc_get(d, DOC_ROOT, "src"), !o->numeric, src, sizeof(src));
	format_endpoint(d, doc_get(d, DOC_ROOT, "dst"), !o->numeric, dst, sizeof(dst));
	output_summary(d, what, sizeof(what));
	/* "2026-11-26T06:41:56.718846Z" -> "06:41:56.718846" */
	char clock[16] = "";
	if (ts && strlen(ts) >= 26)
		snprintf(clock, sizeof(clock), "%.15s", ts + 11);

	if (!o->header_done) {
		fprintf(o->out, "%s%-15s  %-5s  %-21s    %-21s  %s%s\n", o->colour ? BOLD : "",
			"TIME", "PROTO", "SOURCE", "DESTINATION", "WHAT", o->colour ? RESET : "");
		o->header_done = true;
	}
	const char *on = !o->colour ? "" : is_error ? RED : DIM;
	fprintf(o->out, "%s%-15s  %-5s  %-21s -> %-21s  %s%s\n", on, clock, proto ? proto : "?",
		src, dst, what, o->colour ? RESET : "");
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
