// SPDX-License-Identifier: MIT
/*
 * TEMPORARY stub of the lead's cli.c (capture branch only), so capture builds
 * and runs before main's cli.c lands.  On merge, main's cli.c replaces it.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_parse(int argc, char **argv, bool capture, struct cli_opts *o)
{
	static const struct option longopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "backend", required_argument, NULL, 'b' },
		{ "hook", required_argument, NULL, 'k' },
		{ "duration", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "socket-group", required_argument, NULL, 'g' },
		{ "set", required_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "stats", no_argument, NULL, 'T' },
		{ 0 },
	};
	char err[512];
	int c;

	memset(o, 0, sizeof(*o));
	o->capture = capture;
	config_defaults(&o->cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (o->n_interfaces < CLI_MAX_INTERFACES)
				o->interfaces[o->n_interfaces++] = optarg;
			break;
		case 'b': o->backend = optarg; break;
		case 'k': o->hook = optarg; break;
		case 'd': o->duration_s = atof(optarg); break;
		case 's': o->socket_path = optarg; break;
		case 'g': o->socket_group = optarg; break;
		case 'o': o->output = CLI_OUTPUT_JSON; break;
		case 'T': o->stats = true; break;
		case 'S':
			if (config_set(&o->cfg, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "faultline: %s\n", err);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	return 0;
}

static void json_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	(void)ctx; (void)meta;
	doc_write_json(entry, DOC_ROOT, stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

int run_setup(struct run *r, const struct cli_opts *o, const char *backend_name)
{
	memset(r, 0, sizeof(*r));
	r->opts = o;
	r->stats.capture.backend = backend_name;
	r->pipeline = pipeline_new(&o->cfg, &r->stats);
	if (!r->pipeline)
		return 1;
	if (!o->stats)
		pipeline_add_sink(r->pipeline, (struct entry_sink){ .emit = json_emit });
	return 0;
}

void run_finish(struct run *r)
{
	pipeline_finish(r->pipeline);
	if (r->opts->stats)
		stats_write_json(&r->stats, stdout);
	pipeline_free(r->pipeline);
}
