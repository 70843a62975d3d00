// SPDX-License-Identifier: MIT
#include "track/track.h"

#include "track/tcp.h"

int track_env_init(struct track_env *env, struct flow_table *flows, struct emitter *em,
		   const struct fl_config *cfg, struct fl_stats *stats)
{
	*env = (struct track_env){ .em = em, .cfg = cfg, .stats = stats };
	env->slot = flow_storage_register(flows, sizeof(union track_state));
	return env->slot < 0 ? -1 : 0;
}

void track_env_free(struct track_env *env)
{
	tcp_resume_free(env);
}
