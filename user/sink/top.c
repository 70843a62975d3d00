// SPDX-License-Identifier: MIT
#include "sink/top.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int top_init(struct top_table *t, unsigned max_groups)
{
	memset(t, 0, sizeof(*t));
	t->groups = calloc(max_groups, sizeof(*t->groups));
	if (!t->groups)
		return -1;
	t->cap = max_groups;
	return 0;
}

void top_free(struct top_table *t)
{
	free(t->groups);
	memset(t, 0, sizeof(*t));
}

void top_clear(struct top_table *t)
{
	t->n = 0;
	t->total = t->evicted = t->now_ns = 0;
}

/* "name" if the endpoint has one, else "ip"; then ":port" when with_port and there is one. */
static void endpoint(const struct doc *d, const char *which, bool with_port, char *buf, size_t len)
{
	uint32_t ep = doc_get(d, DOC_ROOT, which);
	const char *name = doc_path_str(d, ep, "name");
	const char *ip = doc_path_str(d, ep, "ip");
	uint32_t port = doc_get(d, ep, "port");
	const char *host = name && *name ? name : ip ? ip : "?";
	bool v6 = !(name && *name) && ip && strchr(ip, ':');

	if (with_port && port != DOC_NONE)
		snprintf(buf, len, v6 ? "[%s]:%lld" : "%s:%lld", host, (long long)doc_number(d, port));
	else
		snprintf(buf, len, "%s", host);
}

bool top_key_of(const struct doc *d, struct top_key *k)
{
	uint32_t err = doc_get(d, DOC_ROOT, "error");
	const char *proto = doc_path_str(d, DOC_ROOT, "protocol");

	memset(k, 0, sizeof(*k));
	if (doc_type_of(d, err) == DOC_OBJ) {
		const char *type = doc_path_str(d, err, "type");
		const char *msg = doc_path_str(d, err, "message");
		snprintf(k->error, sizeof(k->error), "%s%s%s", type ? type : "",
			 type && msg ? " " : "", msg ? msg : "");
	} else {
		uint32_t status = doc_path(d, DOC_ROOT, "response.status");
		const char *rcode = doc_path_str(d, DOC_ROOT, "response.rcode_name");
		if (proto && strcmp(proto, "http") == 0 && status != DOC_NONE &&
		    doc_number(d, status) >= 500) {
			const char *reason = doc_path_str(d, DOC_ROOT, "response.reason");
			snprintf(k->error, sizeof(k->error), "http %lld%s%s",
				 (long long)doc_number(d, status), reason ? " " : "", reason ? reason : "");
		} else if (proto && strcmp(proto, "dns") == 0 && rcode &&
			   (strcmp(rcode, "SERVFAIL") == 0 || strcmp(rcode, "REFUSED") == 0)) {
			snprintf(k->error, sizeof(k->error), "dns %s", rcode);
		} else {
			return false;
		}
	}
	endpoint(d, "src", false, k->src, sizeof(k->src));
	endpoint(d, "dst", true, k->dst, sizeof(k->dst));
	snprintf(k->proto, sizeof(k->proto), "%s", proto ? proto : "?");
	return true;
}

static bool same_key(const struct top_key *a, const struct top_key *b)
{
	return strcmp(a->src, b->src) == 0 && strcmp(a->dst, b->dst) == 0 &&
	       strcmp(a->proto, b->proto) == 0 && strcmp(a->error, b->error) == 0;
}

/* Move the per-second ring forward to `sec`, zeroing the seconds that passed. */
static void advance(struct top_group *g, uint64_t sec)
{
	if (sec <= g->newest_sec)
		return;
	uint64_t gap = sec - g->newest_sec;
	if (gap >= TOP_RATE_SECONDS)
		memset(g->per_sec, 0, sizeof(g->per_sec));
	else
		for (uint64_t s = g->newest_sec + 1; s <= sec; s++)
			g->per_sec[s % TOP_RATE_SECONDS] = 0;
	g->newest_sec = sec;
}

struct top_group *top_add(struct top_table *t, const struct top_key *k, uint64_t ts_ns,
			  const char *line)
{
	struct top_group *g = NULL;
	uint64_t sec = ts_ns / 1000000000ull;

	/* A linear scan: the table is small (hundreds), and failures are far fewer than packets. */
	for (unsigned i = 0; i < t->n; i++)
		if (same_key(&t->groups[i].key, k)) {
			g = &t->groups[i];
			break;
		}
	if (!g) {
		if (!t->cap)
			return NULL;
		if (t->n < t->cap) {
			g = &t->groups[t->n++];
		} else {
			g = &t->groups[0];
			for (unsigned i = 1; i < t->n; i++)
				if (t->groups[i].last_ns < g->last_ns)
					g = &t->groups[i];
			t->evicted++;
		}
		memset(g, 0, sizeof(*g));
		g->key = *k;
		g->first_ns = ts_ns;
		g->newest_sec = sec;
		snprintf(g->example, sizeof(g->example), "%s", line ? line : "");
	}
	g->count++;
	t->total++;
	if (ts_ns > g->last_ns)
		g->last_ns = ts_ns;
	if (ts_ns > t->now_ns)
		t->now_ns = ts_ns;
	advance(g, sec);
	/* An entry older than the ring (out of order) still counts, only not in the rates. */
	if (sec + TOP_RATE_SECONDS > g->newest_sec)
		g->per_sec[sec % TOP_RATE_SECONDS]++;
	snprintf(g->recent[g->n_recent % TOP_RECENT], TOP_LINE, "%s", line ? line : "");
	g->n_recent++;
	return g;
}

double top_rate(const struct top_group *g, uint64_t now_ns, unsigned window_s)
{
	uint64_t now = now_ns / 1000000000ull, sum = 0;

	if (window_s == 0)
		return 0;
	if (window_s > TOP_RATE_SECONDS)
		window_s = TOP_RATE_SECONDS;
	/* The window is the `window_s` seconds ending with now's second. */
	for (unsigned i = 0; i < window_s; i++) {
		if (now < i)
			break;
		uint64_t s = now - i;
		if (s > g->newest_sec || s + TOP_RATE_SECONDS <= g->newest_sec)
			continue;
		sum += g->per_sec[s % TOP_RATE_SECONDS];
	}
	return (double)sum / window_s;
}

struct sort_ctx {
	enum top_sort by;
	uint64_t now_ns;
};

static int compare(const struct top_group *a, const struct top_group *b, const struct sort_ctx *c)
{
	double ka = 0, kb = 0;

	switch (c->by) {
	case TOP_SORT_RATE:
		ka = top_rate(a, c->now_ns, 10);
		kb = top_rate(b, c->now_ns, 10);
		if (ka == kb) {
			ka = top_rate(a, c->now_ns, 60);
			kb = top_rate(b, c->now_ns, 60);
		}
		break;
	case TOP_SORT_LAST:
		/* As integers: ns since the epoch do not fit a double's 53 bits. */
		if (a->last_ns != b->last_ns)
			return a->last_ns > b->last_ns ? -1 : 1;
		break;
	default:
		break;
	}
	if (ka == kb) {
		ka = (double)a->count;
		kb = (double)b->count;
	}
	if (ka != kb)
		return ka > kb ? -1 : 1;
	/* Stable for equal groups: by key, so the view does not flicker. */
	int r = strcmp(a->key.dst, b->key.dst);
	return r ? r : strcmp(a->key.src, b->key.src) ? strcmp(a->key.src, b->key.src) :
		       strcmp(a->key.error, b->key.error);
}

unsigned top_sorted(const struct top_table *t, enum top_sort by, uint64_t now_ns,
		    const struct top_group **out, unsigned n)
{
	struct sort_ctx c = { by, now_ns };
	unsigned have = 0;

	/* Insertion into the first n: n is a screenful. */
	for (unsigned i = 0; i < t->n; i++) {
		const struct top_group *g = &t->groups[i];
		unsigned pos = have;
		while (pos > 0 && compare(g, out[pos - 1], &c) < 0)
			pos--;
		if (pos >= n)
			continue;
		unsigned last = have < n ? have : n - 1;
		memmove(out + pos + 1, out + pos, (last - pos) * sizeof(*out));
		out[pos] = g;
		if (have < n)
			have++;
	}
	return have;
}

const char *top_recent(const struct top_group *g, unsigned i)
{
	if (i >= g->n_recent || i >= TOP_RECENT)
		return NULL;
	return g->recent[(g->n_recent - 1 - i) % TOP_RECENT];
}

const char *top_sort_name(enum top_sort by)
{
	return by == TOP_SORT_COUNT ? "count" : by == TOP_SORT_LAST ? "last seen" : "rate";
}

uint64_t top_parse_ts(const char *ts)
{
	struct tm tm = { 0 };
	unsigned frac = 0;
	int digits = 0;
	const char *p;

	if (!ts)
		return 0;
	p = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return 0;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (digits < 9) {
				frac = frac * 10 + (unsigned)(*p - '0');
				digits++;
			}
	for (; digits < 9; digits++)
		frac *= 10;
	time_t sec = timegm(&tm);
	if (sec < 0)
		return 0;
	return (uint64_t)sec * 1000000000ull + frac;
}

void top_age(uint64_t t_ns, uint64_t now_ns, char *buf, size_t len)
{
	uint64_t s = now_ns > t_ns ? (now_ns - t_ns) / 1000000000ull : 0;

	if (s == 0)
		snprintf(buf, len, "now");
	else if (s < 120)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 7200)
		snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
	else if (s < 172800)
		snprintf(buf, len, "%lluh", (unsigned long long)(s / 3600));
	else
		snprintf(buf, len, "%llud", (unsigned long long)(s / 86400));
}
