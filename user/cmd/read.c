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
#include "source/pcap.h"

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

int cmd_read(int argc, char **argv)
{
	struct cli_opts opts;
	struct run run;
	char err[512];
	int rc = cli_parse(argc, argv, false, &opts);
	if (rc)
		return rc == 1 ? 0 : rc;

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
	if (!open_ahead(&opts, sources, &opened, READ_OPEN_AHEAD, err, sizeof(err)) ||
	    (rc = run_setup(&run, &opts, "file")) != 0) {
		for (int j = 0; j < opened; j++)
			pcap_source_close(sources[j]);
		free(sources);
		return rc ? rc : 2;
	}
	struct packet_sink sink = pipeline_packet_sink(run.pipeline);
	int status = 0;
	for (int i = 0; i < opts.n_files; i++) {
		/* The files are one capture: stop at one that cannot be opened. */
		if (!open_ahead(&opts, sources, &opened, i + READ_OPEN_AHEAD, err, sizeof(err)))
			status = 2;
		if (!sources[i])
			break;
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
	}
	for (int i = 0; i < opts.n_files; i++)
		pcap_source_close(sources[i]);
	free(sources);
	if (run_finish(&run) && !status)
		status = 1;
	return status;
}
