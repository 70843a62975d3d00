// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "version") == 0) {
		puts("faultline 0.1.0");
		return 0;
	}
	fprintf(stderr, "usage: faultline read|capture|stats|query|version ...\n");
	return 2;
}
