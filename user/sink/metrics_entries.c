// SPDX-License-Identifier: MIT
/*
 * Counters taken from the entries as they are emitted: HTTP responses by
 * status class, DNS responses by RCODE, ICMP errors by type and code name,
 * TCP errors by message and reason.  Fixed-size tables: the label sets are
 * bounded whatever the traffic.
 */
#include <string.h>

#include "sink/metrics.h"

/* The slot holding (a, b), taking a free one, or the "other" slot (the last) when full. */
static struct metrics_pair *pair_slot(struct metrics_pair *t, unsigned *n, const char *a,
				      const char *b)
{
	for (unsigned i = 0; i < *n; i++)
		if (strcmp(t[i].a, a) == 0 && strcmp(t[i].b, b) == 0)
			return &t[i];
	if (*n < METRICS_SLOTS - 1 && strlen(a) < METRICS_NAME_MAX && strlen(b) < METRICS_NAME_MAX) {
		struct metrics_pair *p = &t[(*n)++];
		snprintf(p->a, sizeof(p->a), "%s", a);
		snprintf(p->b, sizeof(p->b), "%s", b);
		return p;
	}
	struct metrics_pair *other = &t[METRICS_SLOTS - 1];
	snprintf(other->a, sizeof(other->a), "other");
	snprintf(other->b, sizeof(other->b), "other");
	return other;
}

static const char *str_at(const struct doc *d, const char *path)
{
	const char *s = doc_path_str(d, DOC_ROOT, path);
	return s ? s : "";
}

static void count_entry(void *ctx, const struct doc *d, const struct entry_meta *meta)
{
	struct metrics_entry_counts *c = ctx;
	const char *proto = str_at(d, "protocol");
	uint32_t n;

	if (strcmp(proto, "http") == 0 && (n = doc_path(d, DOC_ROOT, "response.status")) != DOC_NONE &&
	    doc_type_of(d, n) == DOC_INT) {
		double status = doc_number(d, n);
		int cls = status >= 100 && status < 600 ? (int)status / 100 : 6;
		c->http_status_class[cls]++;
	} else if (strcmp(proto, "dns") == 0 &&
		   (n = doc_path(d, DOC_ROOT, "response.rcode")) != DOC_NONE &&
		   doc_type_of(d, n) == DOC_INT) {
		double rcode = doc_number(d, n);
		const char *name = str_at(d, "response.rcode_name");
		if (rcode >= 0 && rcode < 24 && *name && strlen(name) < sizeof(c->dns_rcode_name[0])) {
			c->dns_rcode[(int)rcode]++;
			snprintf(c->dns_rcode_name[(int)rcode], sizeof(c->dns_rcode_name[0]), "%s", name);
		} else {
			c->dns_rcode_other++;
		}
	}
	if (meta->error == FL_ERR_ICMP) {
		pair_slot(c->icmp, &c->n_icmp, str_at(d, "icmp.type_name"),
			  str_at(d, "icmp.code_name"))->count++;
	} else if (meta->error == FL_ERR_TCP) {
		const char *reason = str_at(d, "error.reason");
		if (!*reason)
			reason = str_at(d, "tcp.reason");
		if (!*reason)
			reason = str_at(d, "tcp.reset_by");    /* a Reset: who sent it */
		pair_slot(c->tcp, &c->n_tcp, str_at(d, "error.message"), reason)->count++;
	}
}

struct entry_sink metrics_entry_sink(struct metrics_entry_counts *c)
{
	return (struct entry_sink){ .emit = count_entry, .ctx = c };
}

static void describe_pairs(struct doc *out, uint32_t parent, const char *key,
			   const struct metrics_pair *t, unsigned n)
{
	uint32_t o = doc_add_obj(out, parent, key);

	for (unsigned i = 0; i < METRICS_SLOTS; i++) {
		if (i >= n && i != METRICS_SLOTS - 1)
			continue;
		if (!t[i].count)
			continue;
		uint32_t a = doc_get(out, o, t[i].a);
		if (a == DOC_NONE)
			a = doc_add_obj(out, o, t[i].a);
		doc_add_int(out, a, t[i].b, (int64_t)t[i].count);
	}
}

static uint32_t group(struct doc *out, const char *key)
{
	uint32_t g = doc_get(out, DOC_ROOT, key);
	return g != DOC_NONE ? g : doc_add_obj(out, DOC_ROOT, key);
}

void metrics_entry_counts_describe(const struct metrics_entry_counts *c, struct doc *out)
{
	static const char *const classes[] = { NULL, "1xx", "2xx", "3xx", "4xx", "5xx", "other" };
	/* Always present, so that rates exist before the first failure. */
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					      "NOTIMP", "REFUSED" };
	uint32_t r = group(out, "responses"), o;

	o = doc_add_obj(out, r, "http");
	for (int i = 1; i <= 6; i++)
		doc_add_int(out, o, classes[i], (int64_t)c->http_status_class[i]);
	o = doc_add_obj(out, r, "dns");
	for (int i = 0; i < 24; i++) {
		const char *name = c->dns_rcode_name[i][0] ? c->dns_rcode_name[i] :
				   i < 6 ? rcodes[i] : NULL;
		if (name && (c->dns_rcode[i] || i < 6))
			doc_add_int(out, o, name, (int64_t)c->dns_rcode[i]);
	}
	if (c->dns_rcode_other)
		doc_add_int(out, o, "other", (int64_t)c->dns_rcode_other);
	describe_pairs(out, group(out, "icmp"), "errors_by_name", c->icmp, c->n_icmp);
	describe_pairs(out, group(out, "tcp"), "errors_by_reason", c->tcp, c->n_tcp);
}
