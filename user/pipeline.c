// SPDX-License-Identifier: MIT
/* Placeholder: replaced by the real pipeline in the next commits. */
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>

struct pipeline {
	struct emitter em;
	struct fl_stats *stats;
};

struct pipeline *pipeline_new(const struct fl_config *cfg, struct fl_stats *stats)
{
	(void)cfg;
	struct pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	emitter_init(&p->em, stats);
	p->stats = stats;
	return p;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	emitter_free(&p->em);
	free(p);
}

int pipeline_add_sink(struct pipeline *p, struct entry_sink sink)
{
	return emitter_add_sink(&p->em, sink);
}

void pipeline_packet(struct pipeline *p, const struct fl_packet *pkt)
{
	p->stats->packets.seen++;
	p->stats->packets.bytes += pkt->len;
}

void pipeline_sock_event(struct pipeline *p, const struct fl_sock_event *ev, uint64_t ts_ns)
{
	(void)p; (void)ev; (void)ts_ns;
}

void pipeline_tick(struct pipeline *p, uint64_t now_ns)
{
	(void)p; (void)now_ns;
}

void pipeline_finish(struct pipeline *p)
{
	(void)p;
}

int pipeline_add_observer(struct pipeline *p, struct packet_observer obs)
{
	(void)p; (void)obs;
	return -ENOTSUP;
}
