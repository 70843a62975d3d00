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
#include "source/merge.h"

/* A file that failed mid-run: said and counted (a cut record is a packet lost); the others go on. */
struct read_failures {
	struct fl_stats *stats;
	int status;
};

static void read_failed(void *ctx, int rc, const char *msg)
{
	struct read_failures *f = ctx;
	fprintf(stderr, "faultline read: %s\n", msg);
	if (rc == -EIO)
		f->stats->packets.decode_errors++;
	f->status = 1;
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
	/* Every file is opened and checked before the analysis: one that is not a
	 * capture is a usage error, and no partial result is printed. */
	struct pcap_merge *merge = pcap_merge_open(opts.files, opts.n_files, opts.cfg.snaplen, err,
						   sizeof(err));
	if (!merge) {
		fprintf(stderr, "faultline read: %s\n", err);
		return 2;
	}
	if ((rc = run_setup(&run, &opts, "file")) != 0) {
		pcap_merge_close(merge);
		return rc;
	}
	struct packet_sink sink = pipeline_packet_sink(run.pipeline);
	struct read_failures failures = { .stats = &run.stats };
	if (pcap_merge_run(merge, &sink, read_failed, &failures, err, sizeof(err)) < 0) {
		fprintf(stderr, "faultline read: %s\n", err);
		failures.status = 1;
	}
	pcap_merge_close(merge);
	int status = failures.status;
	if (run_finish(&run) && !status)
		status = 1;
	return status;
}
