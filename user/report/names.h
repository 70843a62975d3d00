/* SPDX-License-Identifier: MIT */
/*
 * Names for addresses: a bounded IP -> name table, learned from the DNS
 * answers seen on the wire (A/AAAA, through CNAME chains, kept for the
 * record's TTL) and from a user's --names file (kept for the whole run).
 * Entries give it to `src.name` / `dst.name` (and `namespace`) of every later
 * entry about that address.  LRU when full; its memory comes from
 * tap.memoryLimitMb (memory.attribution_bytes).  No file access here: the
 * --names file is read by the command and handed in line by line.
 */
#ifndef FL_NAMES_H
#define FL_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "report/stats.h"

#define NAMES_NAME_MAX 256    /* bytes of a name, with its NUL (a DNS name is at most 253) */
#define NAMES_NS_MAX 64       /* bytes of a Kubernetes namespace, with its NUL (63 + 1) */
/* A name learned from DNS lasts at least this long, whatever the TTL (0 included):
 * the client connects just after it resolved. */
#define NAMES_MIN_TTL_S 60u

struct names;

struct names *names_new(uint32_t max, struct fl_stats *stats);
/* A table that keeps nothing: names_learn() calls `fn` (a --workers pipeline hands what
 * it learns to the one table the merged entries are named from), names_lookup() finds nothing. */
typedef int (*names_forward_fn)(void *ctx, const struct fl_addr *addr, const char *name,
				const char *ns, uint64_t expires_ns, bool pinned);
struct names *names_new_forward(names_forward_fn fn, void *ctx);
void names_free(struct names *n);

/*
 * Remember `name` (and `ns`, may be NULL) for `addr` until `expires_ns`
 * (packet time); `pinned` entries (--names) never expire, are never evicted
 * and are not replaced by DNS.  0, -ENOSPC when the table holds only pinned
 * entries, -ENOMEM.
 */
int names_learn(struct names *n, const struct fl_addr *addr, const char *name, const char *ns,
		uint64_t expires_ns, bool pinned);
/* The name of `addr` at packet time `now_ns` (NULL: none); *ns the namespace or NULL.
 * Counts attribution.name_hits / name_misses. */
const char *names_lookup(struct names *n, const struct fl_addr *addr, uint64_t now_ns,
			 const char **ns);
/* How many names the table holds. */
uint32_t names_count(const struct names *n);

/*
 * One line of a --names file: `IP name [namespace]`, blank lines and `#`
 * comments skipped.  0 (a name added or nothing on the line), or -EINVAL with
 * what is wrong in `err`, or -ENOSPC when more names than the table holds.
 */
int names_parse_line(struct names *n, const char *line, char *err, size_t errlen);

#endif
