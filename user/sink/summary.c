// SPDX-License-Identifier: MIT
#include "sink/summary.h"

#include <stdlib.h>
#include <string.h>

#include "sink/output.h"
#include "sink/top.h"

#define SUMMARY_GROUPS 256
#define SUMMARY_TYPES 16
#define SUMMARY_TOP 5

struct summary {
	struct top_table table;
	struct {
		char name[16];
		uint64_t n;
	} types[SUMMARY_TYPES];
	unsigned n_types;
	uint64_t other_types;
};

struct summary *summary_new(void)
{
	struct summary *s = calloc(1, sizeof(*s));

	if (s && top_init(&s->table, SUMMARY_GROUPS) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

void summary_free(struct summary *s)
{
	if (!s)
		return;
	top_free(&s->table);
	free(s);
}

static void count_type(struct summary *s, const char *error)
{
	char name[16];
	size_t n = strcspn(error, " ");

	snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), error);
	for (unsigned i = 0; i < s->n_types; i++)
		if (strcmp(s->types[i].name, name) == 0) {
			s->types[i].n++;
			return;
		}
	if (s->n_types == SUMMARY_TYPES) {
		s->other_types++;
		return;
	}
	memcpy(s->types[s->n_types].name, name, sizeof(name));
	s->types[s->n_types++].n = 1;
}

static void summary_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	struct summary *s = ctx;
	struct top_key k;
	char line[TOP_LINE];

	if (!top_key_of(entry, &k))
		return;
	count_type(s, k.error);
	output_summary(entry, line, sizeof(line));
	top_add(&s->table, &k, meta ? meta->ts_ns : 0, line);
}

struct entry_sink summary_sink(struct summary *s)
{
	return (struct entry_sink){ .emit = summary_emit, .ctx = s };
}

void summary_print(const struct summary *s, const struct fl_stats *st, FILE *out)
{
	const struct top_group *top[SUMMARY_TOP];
	unsigned n = top_sorted(&s->table, TOP_SORT_COUNT, s->table.now_ns, top, SUMMARY_TOP);

	fprintf(out, "\nfaultline: %llu packets, %llu entries, %llu failures",
		(unsigned long long)st->packets.seen, (unsigned long long)st->entries.total,
		(unsigned long long)s->table.total);
	for (unsigned i = 0; i < s->n_types; i++)
		fprintf(out, "%s%s %llu", i ? ", " : " (", s->types[i].name,
			(unsigned long long)s->types[i].n);
	if (s->other_types)
		fprintf(out, ", other %llu", (unsigned long long)s->other_types);
	fprintf(out, "%s, %llu dropped\n", s->n_types ? ")" : "",
		(unsigned long long)st->packets.dropped);
	if (!n)
		return;
	fprintf(out, "top failures:\n%7s  %-20s %-26s %-6s %s\n", "COUNT", "SOURCE", "DESTINATION",
		"PROTO", "ERROR");
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "%7llu  %-20.20s %-26.26s %-6.6s %s\n", (unsigned long long)top[i]->count,
			top[i]->key.src, top[i]->key.dst, top[i]->key.proto, top[i]->key.error);
	if (s->table.evicted)
		fprintf(out, "(more groups than the summary keeps: %llu replaced)\n",
			(unsigned long long)s->table.evicted);
}
