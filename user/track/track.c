// SPDX-License-Identifier: MIT
#include "track/track.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "report/stats.h"
#include "track/tcp.h"

/*
 * The direction table: direct-mapped by host pair, fixed size (it never
 * grows; taken from the memory budget once, at init).  A pair that finds its
 * slot held by another takes it over marked unsure: what the evicted pair
 * knew is lost, and so may be packets of the new one seen before.
 */
#define TRACK_DIR_SLOTS 1024u

enum { DIR_SEEN = 1, DIR_SENT_UNSEEN = 2, DIR_UNSURE = 4 };

struct track_dir_slot {
	struct fl_addr from, to;
	uint8_t flags;            /* DIR_* bits; 0: free */
};

struct track_dirs {
	struct track_dir_slot slot[TRACK_DIR_SLOTS];
};

static uint32_t dir_index(const struct fl_addr *from, const struct fl_addr *to)
{
	uint64_t a, b, c, d;
	memcpy(&a, from->bytes, 8);
	memcpy(&b, from->bytes + 8, 8);
	memcpy(&c, to->bytes, 8);
	memcpy(&d, to->bytes + 8, 8);
	uint64_t h = mix64(a ^ mix64(b ^ mix64(c ^ mix64(d ^ from->family))));
	return (uint32_t)(h % TRACK_DIR_SLOTS);
}

static struct track_dir_slot *dir_slot(const struct track_env *env, const struct fl_addr *from,
				       const struct fl_addr *to, bool take)
{
	if (!env->dirs)
		return NULL;
	struct track_dir_slot *s = &env->dirs->slot[dir_index(from, to)];
	if (s->flags && addr_equal(&s->from, from) && addr_equal(&s->to, to))
		return s;
	if (!take)
		return NULL;
	uint8_t unsure = s->flags ? DIR_UNSURE : 0;
	*s = (struct track_dir_slot){ .from = *from, .to = *to, .flags = unsure };
	return s;
}

void track_dir_saw(struct track_env *env, const struct fl_addr *from, const struct fl_addr *to)
{
	struct track_dir_slot *s = dir_slot(env, from, to, true);
	if (s)
		s->flags |= DIR_SEEN;
}

void track_dir_sent_unseen(struct track_env *env, const struct fl_addr *from,
			   const struct fl_addr *to)
{
	struct track_dir_slot *s = dir_slot(env, from, to, true);
	if (s)
		s->flags |= DIR_SENT_UNSEEN;
}

bool track_dir_uncaptured(const struct track_env *env, const struct fl_addr *from,
			  const struct fl_addr *to)
{
	const struct track_dir_slot *s = dir_slot(env, from, to, false);
	return s && s->flags == DIR_SENT_UNSEEN;
}

int track_env_init(struct track_env *env, struct flow_table *flows, struct emitter *em,
		   const struct fl_config *cfg, struct fl_stats *stats)
{
	*env = (struct track_env){ .em = em, .cfg = cfg, .stats = stats };
	env->slot = flow_storage_register(flows, sizeof(union track_state));
	/* Without it no direction is ever proven uncaptured: entries as before. */
	if (!memory_allows(stats, sizeof(*env->dirs)))
		stats->memory.over_limit++;
	else if ((env->dirs = calloc(1, sizeof(*env->dirs))))
		stats->memory.host_pair_bytes += sizeof(*env->dirs);
	return env->slot < 0 ? -1 : 0;
}

void track_env_free(struct track_env *env)
{
	tcp_resume_free(env);
	if (env->dirs)
		env->stats->memory.host_pair_bytes -= sizeof(*env->dirs);
	free(env->dirs);
	env->dirs = NULL;
}
