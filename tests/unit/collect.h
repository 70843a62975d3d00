/* SPDX-License-Identifier: MIT */
/* An entry sink for tests: keeps each entry as its JSON text. */
#ifndef TEST_COLLECT_H
#define TEST_COLLECT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/entry.h"

#define COLLECT_MAX 64

struct collected {
	char *json[COLLECT_MAX];
	unsigned n;
};

static inline void collect_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	struct collected *c = ctx;
	(void)meta;
	if (c->n == COLLECT_MAX)
		return;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	doc_write_json(entry, DOC_ROOT, f);
	fclose(f);
	c->json[c->n++] = buf;
}

static inline struct entry_sink collect_sink(struct collected *c)
{
	return (struct entry_sink){ .emit = collect_emit, .ctx = c };
}

static inline void collect_free(struct collected *c)
{
	for (unsigned i = 0; i < c->n; i++)
		free(c->json[i]);
	c->n = 0;
}

/* How many collected entries contain every one of the given fragments. */
static inline unsigned collect_count(const struct collected *c, const char *a, const char *b)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->n; i++)
		if (strstr(c->json[i], a) && (!b || strstr(c->json[i], b)))
			n++;
	return n;
}

#endif
