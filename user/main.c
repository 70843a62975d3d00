// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "capture.h"
#include "ctl.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "version") == 0) {
		puts("faultline 0.1.0");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "capture") == 0)
		return cmd_capture(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "stats") == 0)
		return cmd_stats(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "query") == 0)
		return cmd_query(argc - 1, argv + 1);
	fprintf(stderr, "usage: faultline read|capture|stats|query|version ...\n");
	return 2;
}
