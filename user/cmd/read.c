// SPDX-License-Identifier: MIT
/* faultline read: analyse capture files. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/top.h"
#include "sink/output.h"
#include "source/pcap.h"
#include "source/pktfilter.h"

/*
 * Files open at once: each holds a descriptor and read buffers, and `read`
 * takes any number of files (more than the descriptor limit), so they are
 * opened a few ahead of the one being read, each exactly once.
 */
#define READ_OPEN_AHEAD 8

/*
 * Open the files before index `upto` not opened yet.  False after printing
 * why one cannot be (the ones after it stay unopened).
 */
static bool open_ahead(const struct cli_opts *o, struct pcap_source **sources, int *opened,
		       int upto, char *err, size_t errlen)
{
	while (*opened < o->n_files && *opened < upto) {
		sources[*opened] = pcap_source_open(o->files[*opened], o->cfg.snaplen, err, errlen);
		if (!sources[*opened]) {
			fprintf(stderr, "faultline read: %s\n", err);
			*opened = o->n_files;        /* no more */
			return false;
		}
		(*opened)++;
	}
	return true;
}

/* -c N: enough entries printed. */
static bool count_reached(void *ctx)
{
	const struct run *r = ctx;
	return r->opts->count && output_printed(r->out) >= r->opts->count;
}

/* The capture filter for this file's link type.  0, or 2 after printing why. */
static int filter_for(struct run *r, const char *path, struct pcap_source *src)
{
	char err[512];

	if (!r->pkt_filter)
		return 0;
	if (pkt_filter_compile(r->pkt_filter, pcap_source_linktype(src), err, sizeof(err)) < 0) {
		fprintf(stderr, "faultline read: filter expression '%s' (for %s): %s\nTry 'faultline read --help'.\n",
			r->opts->bpf_filter, path, err);
		return 2;
	}
	return 0;
}

static int read_files(const struct cli_opts *o);

int cmd_read(int argc, char **argv)
{
	struct cli_opts opts;
	int rc = cli_parse(argc, argv, false, &opts);

	if (rc) {
		cli_opts_free(&opts);
		return rc == 1 ? 0 : rc;
	}
	/* -l: each entry reaches a pipe as soon as it is judged. */
	if (opts.line_buffered)
		setvbuf(stdout, NULL, _IOLBF, 0);
	rc = read_files(&opts);
	cli_opts_free(&opts);
	return rc;
}

static int read_files(const struct cli_opts *o)
{
	const struct cli_opts opts = *o;
	struct run run;
	char err[512];
	int rc = 0;

	/*
	 * A typo in the last name should not cost a long analysis: every name is
	 * looked up first (stat, not open: a FIFO can only be opened once).
	 */
	for (int i = 0; i < opts.n_files; i++) {
		struct stat st;
		if (strcmp(opts.files[i], "-") == 0)
			continue;
		int e = stat(opts.files[i], &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
		if (e) {
			fprintf(stderr, "faultline read: %s: %s\n", opts.files[i], strerror(e));
			return 2;
		}
	}
	struct pcap_source **sources = calloc((size_t)opts.n_files, sizeof(*sources));
	if (!sources) {
		fprintf(stderr, "faultline read: out of memory\n");
		return 1;
	}
	int opened = 0;
	if (!open_ahead(o, sources, &opened, READ_OPEN_AHEAD, err, sizeof(err)) ||
	    (rc = run_setup(&run, o, "file")) != 0) {
		for (int j = 0; j < opened; j++)
			pcap_source_close(sources[j]);
		free(sources);
		return rc ? rc : 2;
	}
	struct packet_sink sink = pipeline_packet_sink(run.pipeline);
	int status = 0;
	struct top_app *top = NULL;
	if (opts.top) {
		top = top_app_new("read", opts.filter, &status);
		if (!top)
			goto out;
		if (pipeline_add_sink(run.pipeline, top_app_sink(top)) < 0) {
			fprintf(stderr, "faultline read: out of memory\n");
			status = 1;
			goto out;
		}
	}
	if (opts.bpf_filter) {
		run.pkt_filter = pkt_filter_new(opts.bpf_filter, opts.cfg.snaplen);
		if (!run.pkt_filter) {
			fprintf(stderr, "faultline read: out of memory\n");
			status = 1;
			goto out;
		}
		pkt_filter_set_next(run.pkt_filter, sink);
		sink = pkt_filter_sink(run.pkt_filter);
		/* A bad expression is said before anything is read. */
		if ((status = filter_for(&run, opts.files[0], sources[0])) != 0)
			goto out;
	}
	for (int i = 0; i < opts.n_files; i++) {
		/* The files are one capture: stop at one that cannot be opened. */
		if (!open_ahead(o, sources, &opened, i + READ_OPEN_AHEAD, err, sizeof(err)))
			status = 2;
		if (!sources[i])
			break;
		if ((rc = filter_for(&run, opts.files[i], sources[i])) != 0) {
			status = rc;
			break;
		}
		pcap_source_set_stop(sources[i], count_reached, &run);
		int run_rc = pcap_source_run(sources[i], &sink, err, sizeof(err));
		if (run_rc < 0) {
			/* Said and counted (a cut record is a packet lost), then on to the next file. */
			fprintf(stderr, "faultline read: %s\n", err);
			if (run_rc == -EIO)
				run.stats.packets.decode_errors++;
			status = 1;
		}
		pcap_source_close(sources[i]);
		sources[i] = NULL;
		if (count_reached(&run))
			break;
	}
out:
	for (int i = 0; i < opts.n_files; i++)
		pcap_source_close(sources[i]);
	free(sources);
	/* At the end of the files (not after a usage error). */
	run.print_summary = status != 2;
	if (run_finish(&run) && !status)
		status = 1;
	if (top) {
		if (status != 2) {
			char what[256];
			snprintf(what, sizeof(what), "%s%s", opts.files[0], opts.n_files > 1 ? " ..." : "");
			int rc_top = top_app_show_file(top, opts.once, what);
			if (!status)
				status = rc_top;
		}
		top_app_free(top);
	}
	return status;
}
