// SPDX-License-Identifier: MIT
/* Placeholder until TCP reassembly and the dissectors land: streams are not parsed. */
#include "stream.h"

void stream_tcp_packet(struct stream_env *env, struct flow *f, int side,
		       const struct decoded *d, uint64_t ts_ns)
{
	(void)env; (void)f; (void)side; (void)d; (void)ts_ns;
}

void stream_udp_packet(struct stream_env *env, struct flow *f, int side,
		       const struct decoded *d, uint64_t ts_ns)
{
	(void)env; (void)f; (void)side; (void)d; (void)ts_ns;
}

void stream_icmp_error(struct stream_env *env, struct flow *f, int side,
		       const struct dissect_icmp *icmp, uint64_t ts_ns)
{
	(void)env; (void)f; (void)side; (void)icmp; (void)ts_ns;
}

void stream_idle(struct stream_env *env, struct flow *f, uint64_t now_ns)
{
	(void)env; (void)f; (void)now_ns;
}

void stream_end(struct stream_env *env, struct flow *f, enum dissect_end why, int by_side,
		uint64_t ts_ns)
{
	(void)env; (void)f; (void)why; (void)by_side; (void)ts_ns;
}

void stream_free(struct stream_env *env, struct flow *f)
{
	(void)env;
	f->stream = NULL;
}
