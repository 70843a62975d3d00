// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "core/version.h"

static const char usage[] =
	"usage: faultline COMMAND [OPTIONS]\n"
	"\n"
	"faultline reports what went wrong on the network: refused and reset connections,\n"
	"sockets stuck in CLOSE_WAIT or LAST_ACK, unanswered SYNs, every ICMP error,\n"
	"requests without responses, truncated and malformed messages, stale streams and\n"
	"packets the capture lost.\n"
	"\n"
	"Commands:\n"
	"  read FILE... [EXPR]  analyse pcap/pcapng files (plain or .gz; - for stdin)\n"
	"  capture [EXPR] capture live traffic and report errors as they happen\n"
	"                 (EXPR: a tcpdump filter; loopback only with -i lo)\n"
	"  stats          counters of a running capture\n"
	"  query          recent entries of a running capture\n"
	"  top            live view of a running capture's failures, grouped and sorted by rate\n"
	"                 (read --top FILE... for files)\n"
	"  cleanup        remove what killed captures left attached on this host\n"
	"  version        print the version\n"
	"\n"
	"  -D             list the interfaces capture can use (tcpdump -D)\n"
	"\n"
	"'faultline COMMAND --help' describes a command's options.\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static int cmd_version(int argc, char **argv)
{
	(void)argc; (void)argv;
	puts("faultline " FAULTLINE_VERSION);
	return 0;
}

static const struct command commands[] = {
	{ "read", cmd_read },
	{ "capture", cmd_capture },
	{ "stats", cmd_stats },
	{ "query", cmd_query },
	{ "top", cmd_top },
	{ "cleanup", cmd_cleanup },
	{ "version", cmd_version },
};

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	/* tcpdump -D */
	if (strcmp(argv[1], "-D") == 0 || strcmp(argv[1], "--list-interfaces") == 0) {
		char *args[] = { "capture", argv[1], NULL };
		return cmd_capture(2, args);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "faultline: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
