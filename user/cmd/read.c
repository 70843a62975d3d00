// SPDX-License-Identifier: MIT
/* faultline read: analyse capture files. */
#include <stdio.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "source/pcap.h"

int cmd_read(int argc, char **argv)
{
	struct cli_opts opts;
	struct run run;
	char err[512];
	int rc = cli_parse(argc, argv, false, &opts);
	if (rc)
		return rc == 1 ? 0 : rc;

	/* Open every file first: a typo in the last name should not cost a long analysis. */
	struct pcap_source *sources[opts.n_files];
	for (int i = 0; i < opts.n_files; i++) {
		sources[i] = pcap_source_open(opts.files[i], opts.cfg.snaplen, err, sizeof(err));
		if (!sources[i]) {
			fprintf(stderr, "faultline read: %s\n", err);
			for (int j = 0; j < i; j++)
				pcap_source_close(sources[j]);
			return 2;
		}
	}
	rc = run_setup(&run, &opts, "file");
	struct packet_sink sink = rc == 0 ? pipeline_packet_sink(run.pipeline) : (struct packet_sink){ 0 };
	for (int i = 0; i < opts.n_files; i++) {
		if (rc == 0 && pcap_source_run(sources[i], &sink, err, sizeof(err)) < 0)
			fprintf(stderr, "faultline read: warning: %s\n", err);
		pcap_source_close(sources[i]);
	}
	if (rc == 0)
		run_finish(&run);
	return rc;
}
