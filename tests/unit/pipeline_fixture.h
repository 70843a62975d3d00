/* SPDX-License-Identifier: MIT */
/* A pipeline with a collecting sink, for the unit tests that drive whole scenarios. */
#ifndef TEST_PIPELINE_FIXTURE_H
#define TEST_PIPELINE_FIXTURE_H

#include <stdlib.h>

#include "collect.h"
#include "pipeline.h"
#include "pktbuild.h"

struct fixture {
	struct fl_config cfg;
	struct fl_stats stats;
	struct pipeline *p;
	struct collected got;
	struct pktbuf buf;
	uint64_t own_netns;
};

/* (Re)build the pipeline with the fixture's configuration. */
static inline void fixture_pipeline(struct fixture *f)
{
	if (f->p)
		pipeline_free(f->p);
	f->p = pipeline_new(&f->cfg, &f->stats);
	pipeline_add_sink(f->p, collect_sink(&f->got));
}

/* cmocka setup: a 1000 ms timeout keeps the scenarios short. */
static inline int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	config_defaults(&f->cfg);
	f->cfg.stream_timeout_ms = 1000;
	fixture_pipeline(f);
	*state = f;
	return 0;
}

static inline int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	pipeline_free(f->p);
	collect_free(&f->got);
	free(f);
	return 0;
}

#endif
