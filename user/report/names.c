// SPDX-License-Identifier: MIT
#include "report/names.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define CHUNK 512u            /* entries allocated at a time, as the table fills */

struct name_ent {
	struct fl_addr addr;
	bool used, pinned;
	uint64_t expires_ns;
	uint32_t hnext;           /* next in the hash chain */
	uint32_t prev, next;      /* LRU (unpinned only; head is the most recent) */
	char name[NAMES_NAME_MAX];
	char ns[NAMES_NS_MAX];
};

struct names {
	struct fl_stats *stats;
	uint32_t max, n_used, n_alloc, n_pinned;
	uint32_t n_buckets;       /* a power of two */
	uint32_t *buckets;
	struct name_ent **chunks;
	uint32_t free_head;       /* free entries, chained by hnext */
	uint32_t lru_head, lru_tail;
	uint64_t bytes;           /* what memory.attribution_bytes has from us */
	names_forward_fn forward; /* names_new_forward: learn goes there, lookup finds nothing */
	void *forward_ctx;
};

static struct name_ent *ent(const struct names *n, uint32_t i)
{
	return &n->chunks[i / CHUNK][i % CHUNK];
}

static void account(struct names *n, uint64_t more)
{
	n->bytes += more;
	n->stats->memory.attribution_bytes += more;
}

struct names *names_new(uint32_t max, struct fl_stats *stats)
{
	struct names *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->stats = stats;
	n->max = max ? max : 1;
	n->n_buckets = 64;
	while (n->n_buckets < n->max && n->n_buckets < (1u << 24))
		n->n_buckets <<= 1;
	n->buckets = malloc(n->n_buckets * sizeof(*n->buckets));
	n->chunks = calloc((n->max + CHUNK - 1) / CHUNK, sizeof(*n->chunks));
	if (!n->buckets || !n->chunks) {
		free(n->buckets);
		free(n->chunks);
		free(n);
		return NULL;
	}
	memset(n->buckets, 0xff, n->n_buckets * sizeof(*n->buckets));
	n->free_head = n->lru_head = n->lru_tail = NONE;
	account(n, sizeof(*n) + n->n_buckets * sizeof(*n->buckets) +
		       (n->max + CHUNK - 1) / CHUNK * sizeof(*n->chunks));
	return n;
}

struct names *names_new_forward(names_forward_fn fn, void *ctx)
{
	struct names *n = calloc(1, sizeof(*n));
	if (n) {
		n->forward = fn;
		n->forward_ctx = ctx;
	}
	return n;
}

void names_free(struct names *n)
{
	if (!n)
		return;
	if (n->forward) {
		free(n);
		return;
	}
	for (uint32_t c = 0; c < (n->max + CHUNK - 1) / CHUNK; c++)
		free(n->chunks[c]);
	n->stats->memory.attribution_bytes -= n->bytes;
	n->stats->attribution.names = 0;
	free(n->chunks);
	free(n->buckets);
	free(n);
}

static uint32_t hash_addr(const struct fl_addr *a)
{
	uint32_t h = 2166136261u ^ a->family;
	for (int i = 0; i < (a->family == 6 ? 16 : 4); i++)
		h = (h ^ a->bytes[i]) * 16777619u;
	return h ^ (h >> 15);
}

static uint32_t find(const struct names *n, const struct fl_addr *a, uint32_t **link)
{
	uint32_t *l = &n->buckets[hash_addr(a) & (n->n_buckets - 1)];
	while (*l != NONE) {
		if (addr_equal(&ent(n, *l)->addr, a))
			break;
		l = &ent(n, *l)->hnext;
	}
	if (link)
		*link = l;
	return *l;
}

static void lru_unlink(struct names *n, uint32_t i)
{
	struct name_ent *e = ent(n, i);
	if (e->prev != NONE)
		ent(n, e->prev)->next = e->next;
	else
		n->lru_head = e->next;
	if (e->next != NONE)
		ent(n, e->next)->prev = e->prev;
	else
		n->lru_tail = e->prev;
	e->prev = e->next = NONE;
}

static void lru_push(struct names *n, uint32_t i)
{
	struct name_ent *e = ent(n, i);
	e->prev = NONE;
	e->next = n->lru_head;
	if (n->lru_head != NONE)
		ent(n, n->lru_head)->prev = i;
	n->lru_head = i;
	if (n->lru_tail == NONE)
		n->lru_tail = i;
}

/* Take entry i out of the table (hash chain and LRU) onto the free list. */
static void drop(struct names *n, uint32_t i)
{
	struct name_ent *e = ent(n, i);
	uint32_t *link;
	if (find(n, &e->addr, &link) == i)
		*link = e->hnext;
	if (!e->pinned)
		lru_unlink(n, i);
	else
		n->n_pinned--;
	e->used = false;
	e->hnext = n->free_head;
	n->free_head = i;
	n->n_used--;
	n->stats->attribution.names = n->n_used;
}

/* A free entry: from the free list, a new chunk, or the least recently used. */
static uint32_t take(struct names *n)
{
	if (n->free_head == NONE && n->n_alloc < n->max) {
		uint32_t c = n->n_alloc / CHUNK;
		uint64_t bytes = (uint64_t)CHUNK * sizeof(struct name_ent);
		if (memory_allows(n->stats, bytes)) {
			n->chunks[c] = malloc(bytes);
			if (n->chunks[c]) {
				account(n, bytes);
				uint32_t end = n->n_alloc + CHUNK < n->max ? n->n_alloc + CHUNK : n->max;
				for (uint32_t i = end; i-- > n->n_alloc;) {
					ent(n, i)->used = false;
					ent(n, i)->hnext = n->free_head;
					n->free_head = i;
				}
				n->n_alloc = end;
			}
		} else if (n->lru_tail != NONE) {
			n->stats->memory.over_limit++;
		}
	}
	if (n->free_head == NONE) {
		if (n->lru_tail == NONE)
			return NONE;
		n->stats->attribution.names_evicted++;
		drop(n, n->lru_tail);
	}
	uint32_t i = n->free_head;
	n->free_head = ent(n, i)->hnext;
	return i;
}

static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t l = strnlen(src, cap - 1);
	memcpy(dst, src, l);
	dst[l] = '\0';
}

int names_learn(struct names *n, const struct fl_addr *addr, const char *name, const char *ns,
		uint64_t expires_ns, bool pinned)
{
	if (n->forward)
		return n->forward(n->forward_ctx, addr, name, ns, expires_ns, pinned);
	uint32_t i = find(n, addr, NULL);
	if (i != NONE) {
		struct name_ent *e = ent(n, i);
		if (e->pinned && !pinned)
			return 0;     /* the user's name stands */
		drop(n, i);
	}
	i = take(n);
	if (i == NONE)
		return n->n_alloc < n->max ? -ENOMEM : -ENOSPC;
	struct name_ent *e = ent(n, i);
	uint32_t *link;
	find(n, addr, &link);
	e->addr = *addr;
	e->used = true;
	e->pinned = pinned;
	e->expires_ns = expires_ns;
	copy_text(e->name, sizeof(e->name), name);
	copy_text(e->ns, sizeof(e->ns), ns ? ns : "");
	e->hnext = NONE;
	*link = i;
	if (pinned)
		n->n_pinned++;
	else
		lru_push(n, i);
	n->n_used++;
	n->stats->attribution.names = n->n_used;
	if (!pinned)
		n->stats->attribution.names_learned++;
	return 0;
}

const char *names_lookup(struct names *n, const struct fl_addr *addr, uint64_t now_ns,
			 const char **ns)
{
	*ns = NULL;
	if (n->forward)
		return NULL;
	uint32_t i = find(n, addr, NULL);
	if (i != NONE && !ent(n, i)->pinned && ent(n, i)->expires_ns < now_ns) {
		n->stats->attribution.names_expired++;
		drop(n, i);
		i = NONE;
	}
	if (i == NONE) {
		n->stats->attribution.name_misses++;
		return NULL;
	}
	struct name_ent *e = ent(n, i);
	if (!e->pinned) {
		lru_unlink(n, i);
		lru_push(n, i);
	}
	n->stats->attribution.name_hits++;
	*ns = e->ns[0] ? e->ns : NULL;
	return e->name;
}

uint32_t names_count(const struct names *n)
{
	return n->n_used;
}

/* A name or namespace as the file may give it: printable, no quotes or backslashes. */
static bool plain_word(const char *w)
{
	for (; *w; w++)
		if (!isgraph((unsigned char)*w) || *w == '"' || *w == '\\')
			return false;
	return true;
}

int names_parse_line(struct names *n, const char *line, char *err, size_t errlen)
{
	char buf[1024], *words[4], *save = NULL;
	unsigned nw = 0;

	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, errlen, "line longer than %zu bytes", sizeof(buf) - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", line);
	char *hash = strchr(buf, '#');
	if (hash)
		*hash = '\0';
	for (char *w = strtok_r(buf, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (nw == 4)
			break;
		words[nw++] = w;
	}
	if (nw == 0)
		return 0;
	if (nw < 2 || nw > 3) {
		snprintf(err, errlen, "expected 'IP name [namespace]', got %u word%s", nw,
			 nw == 1 ? "" : "s");
		return -EINVAL;
	}
	struct fl_addr a;
	if (addr_parse(&a, words[0]) < 0) {
		snprintf(err, errlen, "'%.64s' is not an IPv4 or IPv6 address", words[0]);
		return -EINVAL;
	}
	if (strlen(words[1]) >= NAMES_NAME_MAX || !plain_word(words[1])) {
		snprintf(err, errlen, "name '%.64s' is longer than %d bytes or has a quote or "
			 "backslash", words[1], NAMES_NAME_MAX - 1);
		return -EINVAL;
	}
	if (nw == 3 && (strlen(words[2]) >= NAMES_NS_MAX || !plain_word(words[2]))) {
		snprintf(err, errlen, "namespace '%.64s' is longer than %d bytes or has a quote or "
			 "backslash", words[2], NAMES_NS_MAX - 1);
		return -EINVAL;
	}
	int rc = names_learn(n, &a, words[1], nw == 3 ? words[2] : NULL, UINT64_MAX, true);
	if (rc == -ENOSPC)
		snprintf(err, errlen, "more names than tap.attribution.maxNames (%u)", n->max);
	else if (rc < 0)
		snprintf(err, errlen, "%s", strerror(-rc));
	return rc;
}
