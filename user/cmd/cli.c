// SPDX-License-Identifier: MIT
#include "cmd/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kfl/kfl.h"
#include "pipeline.h"
#include "report/names.h"
#include "sink/metrics.h"
#include "sink/output.h"
#include "sink/recorder.h"
#include "sink/summary.h"
#include "source/pktfilter.h"

enum {
	OPT_SET = 256, OPT_WORKERS, OPT_STATS, OPT_ALL, OPT_CONFIG, OPT_WRITE_FILTER, OPT_WRITE_MAX_MB, OPT_WRITE_FILES,
	OPT_WRITE_FOLLOW_SYMLINKS, OPT_SUMMARY, OPT_NO_SUMMARY, OPT_TOP, OPT_ONCE, OPT_BACKEND, OPT_DURATION, OPT_HOOK, OPT_SOCKET, OPT_SOCKET_GROUP, OPT_METRICS_LISTEN,
	OPT_NAMES,
	OPT_NO_REDACT,
	OPT_COLOR,
};

static const struct option read_options[] = {
	{ "filter", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "colour", required_argument, NULL, OPT_COLOR },
	{ "write", required_argument, NULL, 'w' },
	{ "set", required_argument, NULL, OPT_SET },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "no-redact", no_argument, NULL, OPT_NO_REDACT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "write-filter", required_argument, NULL, OPT_WRITE_FILTER },
	{ "write-max-mb", required_argument, NULL, OPT_WRITE_MAX_MB },
	{ "write-files", required_argument, NULL, OPT_WRITE_FILES },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "write-follow-symlinks", no_argument, NULL, OPT_WRITE_FOLLOW_SYMLINKS },
	{ "names", required_argument, NULL, OPT_NAMES },
	{ "numeric", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ "count", required_argument, NULL, 'c' },
	{ "line-buffered", no_argument, NULL, 'l' },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "no-summary", no_argument, NULL, OPT_NO_SUMMARY },
	{ "top", no_argument, NULL, OPT_TOP },
	{ "once", no_argument, NULL, OPT_ONCE },
	/* capture only (rejected for read below) */
	{ "interface", required_argument, NULL, 'i' },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "hook", required_argument, NULL, OPT_HOOK },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "list-interfaces", no_argument, NULL, 'D' },
	{ NULL, 0, NULL, 0 },
};

static const char read_help[] =
	"usage: faultline read [OPTIONS] FILE... [--] [EXPRESSION]\n"
	"Analyse pcap/pcapng files (plain or gzip-compressed; \"-\" is stdin) for network errors.\n"
	"Several files are one capture, merged in timestamp order as mergecap merges\n"
	"them; each is its own interface (a packet seen in two is judged once).\n"
	"EXPRESSION is a tcpdump capture filter (pcap-filter(7)), e.g. faultline read\n"
	"x.pcap port 80 or port 53: the leading arguments that name existing files (or\n"
	"-) are the inputs, the first one that does not starts the expression; -- ends\n"
	"the files explicitly.  Only packets that match are analysed.  A plain capture\n"
	"read from a pipe (tcpdump -U -w - | faultline read -l -) is judged as it\n"
	"arrives, not at its end.\n";

static const char capture_help[] =
	"usage: faultline capture [OPTIONS] [--] [EXPRESSION]\n"
	"Capture live traffic (eBPF, or AF_PACKET) and report network errors as they happen.\n"
	"EXPRESSION is a tcpdump capture filter (pcap-filter(7)), e.g. faultline capture\n"
	"port 80 or port 53: AF_PACKET runs it in the kernel, eBPF on each packet it\n"
	"hands over.  Loopback is not captured unless named: -i lo.\n";

static const char common_help[] =
	"\n"
	"  -f, --filter KFL         print only entries matching the KFL expression\n"
	"                           (replaces the default selection)\n"
	"      --all                print every entry (healthy exchanges, echo, neighbour\n"
	"                           discovery and MLD too); by default only failures print\n"
	"                           (the default selection, below); the stats count all\n"
	"  -o, --output table|json  table on a terminal, json (one object per line) otherwise\n"
	"      --color auto|always|never  colour the table: errors red, HTTP 5xx, DNS\n"
	"                           SERVFAIL/REFUSED and Redis error replies yellow, the\n"
	"                           rest dim (auto: stdout is a terminal, NO_COLOR unset\n"
	"                           or empty, TERM not dumb)\n"
	"                           The table fits COLUMNS, else the terminal's width\n"
	"                           (not a terminal: unlimited); a date row starts each day\n"
	"  -n, --numeric            the table shows addresses, not names (JSON has both)\n"
	"      --names FILE         names for addresses: 'IP name [namespace]' lines, like\n"
	"                           /etc/hosts; they win over names learned from DNS answers\n"
	"      --workers N          pipelines on their own threads, packets shared out by\n"
	"                           flow (tap.workers; default: one per CPU, less one on\n"
	"                           machines of up to 4); read gives the same entries\n"
	"                           with any N; capture shares out the kernel's socket\n"
	"                           events and drops by flow too, and merges entries in\n"
	"                           time order within a 200 ms tick; --write-filter runs\n"
	"                           one pipeline\n"
	"      --no-redact          keep credentials (Authorization, Cookie, Set-Cookie,\n"
	"                           URL passwords and tokens, Redis AUTH) in entries\n"
	"  -w, --write FILE         record the packets to a pcap file (.gz: gzip-compressed)\n"
	"      --write-filter KFL   record only the flows that produced a matching entry\n"
	"      --write-max-mb N     rotate the recording every N MB\n"
	"      --write-files K      keep only the newest K recordings\n"
	"      --write-follow-symlinks  write through FILE when it is a symbolic link\n"
	"                           (refused by default)\n"
	"      --set KEY=VALUE      set a configuration key (repeatable), e.g.\n"
	"                           --set tap.tcpStreamChannelTimeoutMs=2000\n"
	"      --config FILE        read configuration keys from a YAML file\n"
	"      --stats              print the stats as one JSON document instead of entries\n"
	"                           (-o table: one 'dotted.key value' line each)\n"
	"  -c, --count N            stop after printing N entries\n"
	"  -l, --line-buffered      flush every entry at once (stdout is a pipe)\n"
	"      --summary            print a summary on stderr at the end: packets, failures\n"
	"                           by type, the top 5 groups, drops (default: when stderr is\n"
	"                           a terminal; capture: on Ctrl-C)\n"
	"      --no-summary         never print it\n";

static const char read_only_help[] =
	"      --top                failures grouped by source, destination, protocol and\n"
	"                           error, sorted by rate, in the top view (keys as in\n"
	"                           faultline top); a plain table when stdout is not a terminal\n"
	"      --once               with --top: print the plain table and exit\n";

static const char capture_only_help[] =
	"  -i, --interface IFACE    capture on IFACE (repeatable; default: every interface\n"
	"                           that is up, loopback excluded: name it, -i lo)\n"
	"  -D, --list-interfaces    list the interfaces capture can use, and exit\n"
	"      --backend auto|ebpf|afpacket   default auto: eBPF, else AF_PACKET\n"
	"      --hook tc|xdp        where eBPF takes ingress packets (default tc)\n"
	"      --duration SECONDS   stop after SECONDS\n"
	"      --socket PATH        control socket (default /run/faultline/faultline.sock)\n"
	"      --socket-group GROUP make the socket 0660 for GROUP (a name or a number)\n"
	"      --metrics-listen ADDR:PORT  serve Prometheus metrics at /metrics, and the\n"
	"                           probes /healthz (200 while running) and /readyz (200 once\n"
	"                           attached to an interface, 503 before)\n"
	"eBPF programs are attached with BPF links (tcx, XDP links) where the kernel has them,\n"
	"so nothing stays attached if faultline is killed; on older kernels (or with\n"
	"FAULTLINE_ATTACH=netlink) over netlink, and `faultline cleanup` removes what a killed\n"
	"capture left.\n";

static const char keys_help[] =
	"\nDefault selection (without --all or -f), in KFL:\n"
	"  " CLI_DEFAULT_SELECTION_1 "\n"
	"  " CLI_DEFAULT_SELECTION_2 "\n"
	"  " CLI_DEFAULT_SELECTION_3 "\n"
	"\nConfiguration keys: tap.tcpStreamChannelTimeoutMs (10000), tap.snaplen (262144),\n"
	"tap.maxFlows (1000000), tap.reassemblyMemcapMb (256), tap.ringBufferMb (8),\n"
	"tap.memoryLimitMb (384; 0: no limit), tap.drops.reportUnspecified (false),\n"
	"tap.attribution.maxNames (65536), tap.attribution.maxSockets (65536),\n"
	"tap.attribution.podLogDir (/var/log/pods), tap.skipPayload (true: the eBPF capture\n"
	"copies headers only for body no dissector parses), tap.payloadBytes (0: up to the snaplen).\n";

/* --duration: about 31 years, so that start + duration in ns fits 64 bits. */
#define CLI_MAX_DURATION_S 1e9
#define CLI_MAX_DURATION_TEXT "1000000000"
#define CLI_RING_BUFFER_MAX_MB 2048u

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "faultline %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'faultline %s --help'.\n", cmd);
	return 2;
}

static int parse_u32(const char *cmd, const char *opt, const char *text, uint32_t min,
		     uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < min || v > UINT32_MAX) {
		fprintf(stderr, "faultline %s: %s takes a whole number of at least %u, got '%s'\n",
			cmd, opt, min, text);
		return 2;
	}
	*out = (uint32_t)v;
	return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcmp(s + n - k, suffix) == 0;
}

/* After read's first file: is this word another input, or the start of the filter expression? */
static bool looks_like_input(const char *a)
{
	struct stat st;

	if (strcmp(a, "-") == 0 || stat(a, &st) == 0)
		return true;
	return has_suffix(a, ".pcap") || has_suffix(a, ".pcapng") || has_suffix(a, ".cap") ||
	       has_suffix(a, ".gz");
}

int cli_parse_color(const char *arg, int *mode)
{
	if (!strcmp(arg, "auto"))
		*mode = OUTPUT_COLOUR_AUTO;
	else if (!strcmp(arg, "always"))
		*mode = OUTPUT_COLOUR_ALWAYS;
	else if (!strcmp(arg, "never"))
		*mode = OUTPUT_COLOUR_NEVER;
	else
		return -1;
	return 0;
}

int cli_parse(int argc, char **argv, bool capture, struct cli_opts *o)
{
	const char *cmd = capture ? "capture" : "read";
	const char *sets[64];
	unsigned n_sets = 0;
	const char *config_path = NULL;
	char err[512];
	int c;

	memset(o, 0, sizeof(*o));
	o->capture = capture;
	config_defaults(&o->cfg);
	o->backend = "auto";
	o->hook = "tc";
	o->socket_path = "/run/faultline/faultline.sock";

	/*
	 * "--" ends the options and, for read, the files: what follows is the
	 * filter expression (getopt would drop the "--" and lose where it was).
	 */
	int dashdash = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	int n_opt_args = dashdash >= 0 ? dashdash : argc;

	/* 0, not 1: glibc then forgets a short-option cluster an earlier call left half read. */
	uint32_t workers = 0;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(n_opt_args, argv, ":f:o:w:i:c:lDhn", read_options, NULL)) != -1) {
		if (!capture && (c == 'i' || c == 'D' || (c >= OPT_BACKEND && c <= OPT_METRICS_LISTEN)))
			return usage_error(cmd, "option '%s' is for capture only", argv[optind - 1]);
		switch (c) {
		case 'f': o->filter = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				o->output = CLI_OUTPUT_JSON;
			else if (strcmp(optarg, "table") == 0)
				o->output = CLI_OUTPUT_TABLE;
			else
				return usage_error(cmd, "--output takes table or json, got '%s'", optarg);
			break;
		case OPT_COLOR:
			if (cli_parse_color(optarg, &o->color) < 0)
				return usage_error(cmd, "--color takes auto, always or never, got '%s'", optarg);
			break;
		case 'w': o->write_path = optarg; break;
		case OPT_SET:
			if (n_sets == sizeof(sets) / sizeof(sets[0]))
				return usage_error(cmd, "too many --set options%s", "");
			sets[n_sets++] = optarg;
			break;
		case OPT_STATS: o->stats = true; break;
		case OPT_WORKERS:
			if (parse_u32(cmd, "--workers", optarg, 1, &workers))
				return 2;
			if (workers > PIPELINE_MAX_WORKERS)
				return usage_error(cmd, "--workers takes 1 to 64, got '%s'", optarg);
			break;
		case OPT_NAMES: o->names_path = optarg; break;
		case 'n': o->numeric = true; break;
		case OPT_ALL: o->all = true; break;
		case 'c': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v == 0)
				return usage_error(cmd, "-c takes a whole number of at least 1, got '%s'",
						   optarg);
			o->count = v;
			break;
		}
		case 'l': o->line_buffered = true; break;
		case 'D': o->list_interfaces = true; break;
		case OPT_SUMMARY: o->summary = 1; break;
		case OPT_NO_SUMMARY: o->summary = -1; break;
		case OPT_TOP:
		case OPT_ONCE:
			if (capture)
				return usage_error(cmd, "%s is for read (live: faultline top)",
						   argv[optind - 1]);
			o->top = true;
			o->once |= c == OPT_ONCE;
			break;
		case OPT_NO_REDACT: o->no_redact = true; break;
		case OPT_CONFIG: config_path = optarg; break;
		case OPT_WRITE_FILTER: o->write_filter = optarg; break;
		case OPT_WRITE_MAX_MB:
			if (parse_u32(cmd, "--write-max-mb", optarg, 1, &o->write_max_mb))
				return 2;
			break;
		case OPT_WRITE_FILES:
			if (parse_u32(cmd, "--write-files", optarg, 1, &o->write_files))
				return 2;
			break;
		case OPT_WRITE_FOLLOW_SYMLINKS: o->write_follow_symlinks = true; break;
		case 'i':
			if (o->n_interfaces == CLI_MAX_INTERFACES)
				return usage_error(cmd, "too many interfaces%s", "");
			o->interfaces[o->n_interfaces++] = optarg;
			break;
		case OPT_BACKEND:
			if (strcmp(optarg, "auto") && strcmp(optarg, "ebpf") && strcmp(optarg, "afpacket"))
				return usage_error(cmd, "--backend takes auto, ebpf or afpacket, got '%s'", optarg);
			o->backend = optarg;
			break;
		case OPT_HOOK:
			if (strcmp(optarg, "tc") && strcmp(optarg, "xdp"))
				return usage_error(cmd, "--hook takes tc or xdp, got '%s'", optarg);
			o->hook = optarg;
			break;
		case OPT_DURATION: {
			char *end;
			o->duration_s = strtod(optarg, &end);
			/* "inf", "nan" and 1e999 are numbers to strtod, not durations. */
			if (end == optarg || *end || !(o->duration_s > 0) ||
			    !(o->duration_s <= CLI_MAX_DURATION_S))
				return usage_error(cmd, "--duration takes a positive number of seconds "
						   "(at most " CLI_MAX_DURATION_TEXT "), got '%s'", optarg);
			break;
		}
		case OPT_SOCKET: o->socket_path = optarg; break;
		case OPT_SOCKET_GROUP: o->socket_group = optarg; break;
		case OPT_METRICS_LISTEN: {
			struct sockaddr_storage ss;
			char why[256];
			if (metrics_parse_listen(optarg, &ss, why, sizeof(why)) < 0)
				return usage_error(cmd, "%s", why);
			o->metrics_listen = optarg;
			break;
		}
		case 'h':
			printf("%s%s%s%s", capture ? capture_help : read_help, common_help,
			       capture ? capture_only_help : read_only_help, keys_help);
			return 1;
		case ':':
			return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_unknown_option(cmd, argv[optind - 1], optopt);
		}
	}
	/* The YAML file first, then --set on top of it. */
	if (config_path && config_load_yaml(&o->cfg, config_path, err, sizeof(err)) < 0)
		return usage_error(cmd, "--config: %s", err);
	for (unsigned i = 0; i < n_sets; i++)
		if (config_set(&o->cfg, sets[i], err, sizeof(err)) < 0)
			return usage_error(cmd, "--set: %s", err);
	/* What getopt left (before any "--"): read's files, then the expression. */
	int first_expr = optind;
	if (!capture) {
		o->files = argv + optind;
		/*
		 * The first is always a file (like tcpdump -r FILE); after it, files
		 * while the word is "-", names something that exists, or has a
		 * capture file's suffix (so a typo says "No such file").
		 */
		while (first_expr < n_opt_args) {
			if (dashdash < 0 && first_expr > optind && !looks_like_input(argv[first_expr]))
				break;
			first_expr++;
		}
		o->n_files = first_expr - optind;
		if (o->n_files == 0)
			return usage_error(cmd, "no capture file given (use - for stdin)%s", "");
	}
	char **expr_words = argv + first_expr;
	int n_expr = n_opt_args - first_expr;
	if (dashdash >= 0) {
		if (n_expr > 0)       /* capture a b -- c: the words before -- are not options */
			return usage_error(cmd, "unexpected argument '%s' before --", expr_words[0]);
		expr_words = argv + dashdash + 1;
		n_expr = argc - dashdash - 1;
	}
	if (n_expr > 0) {
		o->bpf_filter = pkt_filter_join(expr_words, n_expr);
		if (!o->bpf_filter) {
			fprintf(stderr, "faultline %s: out of memory\n", cmd);
			return 1;
		}
	}
	if (workers)
		o->cfg.workers = workers;
	/*
	 * --write-filter follows each flow's packets and entries: one pipeline.  -w
	 * alone records on the thread that reads the packets, before they are shared out.
	 */
	if (workers > 1 && o->write_filter)
		return usage_error(cmd, "--workers above 1 cannot go with --write-filter%s", "");
	if (o->write_filter)
		o->cfg.workers = 1;
	else if (!o->cfg.workers)
		o->cfg.workers = pipeline_workers_auto();
	if ((o->write_filter || o->write_max_mb || o->write_files || o->write_follow_symlinks) &&
	    !o->write_path)
		return usage_error(cmd, "--write-filter, --write-max-mb, --write-files and "
				   "--write-follow-symlinks need -w FILE%s", "");
	if (o->write_files && !o->write_max_mb)
		return usage_error(cmd, "--write-files K needs --write-max-mb N (the ring rotates by size)%s", "");
	/* A BPF ring buffer's size is a power of two that fits 32 bits: 2 GiB at most. */
	if (capture && o->cfg.ring_buffer_mb > CLI_RING_BUFFER_MAX_MB) {
		fprintf(stderr, "faultline capture: tap.ringBufferMb %u is more than the kernel "
			"allows for a ring buffer; clamped to %u\n", o->cfg.ring_buffer_mb,
			CLI_RING_BUFFER_MAX_MB);
		o->cfg.ring_buffer_mb = CLI_RING_BUFFER_MAX_MB;
	}
	return 0;
}

void cli_opts_free(struct cli_opts *o)
{
	free(o->bpf_filter);
	o->bpf_filter = NULL;
}

int cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
	return usage_error(cmd, fmt, arg);
}

int cli_unknown_option(const char *cmd, const char *arg, int optopt_char)
{
	/* A short option in a cluster ("-lx") is named alone. */
	if (optopt_char > 0 && optopt_char < 128) {
		char opt[3] = { '-', (char)optopt_char, 0 };
		return usage_error(cmd, "unknown option '%s'", opt);
	}
	return usage_error(cmd, "unknown option '%s'", arg);
}

/* -w: the recorder on the pipeline.  0, or the exit status after printing why. */
static int setup_recorder(struct run *r, const struct cli_opts *o)
{
	char err[512];
	struct recorder_opts ro = {
		.path = o->write_path,
		/*
		 * The first packet's link type: the file's in read, Ethernet in capture
		 * (and Ethernet for a recording that gets no packet at all).
		 */
		.linktype = RECORDER_LINKTYPE_AUTO,
		.snaplen = o->cfg.snaplen,
		.max_mb = o->write_max_mb,
		.max_files = o->write_files,
	};

	/*
	 * The inputs by device and inode (a path compare misses hard links and
	 * rotated names): the recorder refuses to write, truncate or delete them.
	 */
	struct rec_file_id ids[o->n_files > 0 ? o->n_files : 1];
	size_t n_ids = 0;
	for (int i = 0; i < o->n_files; i++) {
		struct stat st;
		int rc = strcmp(o->files[i], "-") == 0 ? fstat(STDIN_FILENO, &st) :
							  stat(o->files[i], &st);
		if (rc == 0)
			ids[n_ids++] = (struct rec_file_id){ (uint64_t)st.st_dev, (uint64_t)st.st_ino };
	}
	ro.protect = ids;
	ro.n_protect = n_ids;
	ro.follow_symlinks = o->write_follow_symlinks;

	if (o->write_filter) {
		r->write_filter = kfl_compile(o->write_filter, err, sizeof(err));
		if (!r->write_filter) {
			fprintf(stderr, "faultline %s: --write-filter: %s\n",
				o->capture ? "capture" : "read", err);
			return 2;
		}
		ro.filter = r->write_filter;
		ro.match = kfl_match;
	}
	r->recorder = recorder_open(&ro, &r->stats, err, sizeof(err));
	if (!r->recorder) {
		fprintf(stderr, "faultline %s: -w: %s\n", o->capture ? "capture" : "read", err);
		return 2;
	}
	if (recorder_attach(r->recorder, r->pipeline) < 0) {
		fprintf(stderr, "faultline: -w: cannot attach the recorder\n");
		return 1;
	}
	return 0;
}

void run_report_recorder(struct run *r)
{
	const char *msg = r->recorder ? recorder_last_error(r->recorder) : NULL;
	if (msg && !r->recorder_reported) {
		fprintf(stderr, "faultline: recording: %s\n", msg);
		r->recorder_reported = true;
	}
}

/* --names FILE into the pipeline's name table.  0, or 2 after printing what is wrong and where. */
static int load_names(struct run *r, const struct cli_opts *o)
{
	const char *cmd = o->capture ? "capture" : "read";
	FILE *f = fopen(o->names_path, "r");
	char line[1100], err[256];
	unsigned lineno = 0;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "faultline %s: --names: %s: %s\n", cmd, o->names_path, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t l = strlen(line);
		if (l == sizeof(line) - 1 && line[l - 1] != '\n' && !feof(f)) {
			fprintf(stderr, "faultline %s: --names: %s:%u: line longer than %zu bytes\n",
				cmd, o->names_path, lineno, sizeof(line) - 2);
			rc = 2;
			break;
		}
		if (names_parse_line(pipeline_names(r->pipeline), line, err, sizeof(err)) < 0) {
			fprintf(stderr, "faultline %s: --names: %s:%u: %s\n", cmd, o->names_path,
				lineno, err);
			rc = 2;
			break;
		}
	}
	if (!rc && ferror(f)) {
		fprintf(stderr, "faultline %s: --names: %s: read error\n", cmd, o->names_path);
		rc = 2;
	}
	fclose(f);
	return rc;
}

static bool filter_match(const void *ctx, const struct doc *entry)
{
	return kfl_match(ctx, entry);
}

int run_setup(struct run *r, const struct cli_opts *o, const char *backend_name)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->opts = o;
	r->stats.capture.backend = backend_name;
	r->stats.memory.limit_bytes = (uint64_t)o->cfg.memory_limit_mb << 20;
	if (o->filter) {
		char err[1024];
		r->filter = kfl_compile(o->filter, err, sizeof(err));
		if (!r->filter) {
			fprintf(stderr, "faultline %s: -f: %s\n", o->capture ? "capture" : "read", err);
			return 2;
		}
	} else if (!o->all) {
		/* -f replaces the default selection; --all drops it. */
		char err[1024];
		r->filter = kfl_compile(CLI_DEFAULT_SELECTION, err, sizeof(err));
		if (!r->filter) {
			fprintf(stderr, "faultline: the default selection does not compile: %s\n", err);
			return 1;
		}
	}
	r->pipeline = pipeline_new(&o->cfg, &r->stats);
	if (!r->pipeline) {
		fprintf(stderr, "faultline: cannot set up the pipeline: %s\n", strerror(errno));
		run_finish(r);
		return 1;
	}
	if (o->names_path && (rc = load_names(r, o)) != 0) {
		pipeline_free(r->pipeline);
		kfl_free(r->filter);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	pipeline_set_redact(r->pipeline, !o->no_redact);
	if (o->capture) {
		/*
		 * Ids unique across restarts: the first is the start time in
		 * microseconds (read keeps 1, 2, ...: a file gives the same entries
		 * on every run).  "node" always: NODE_NAME, else the hostname.
		 */
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		pipeline_set_first_id(r->pipeline, (uint64_t)now.tv_sec * 1000000u +
						   (uint64_t)now.tv_nsec / 1000u);
		const char *env = getenv("NODE_NAME");
		if (env && *env)
			snprintf(r->node, sizeof(r->node), "%s", env);
		else if (gethostname(r->node, sizeof(r->node) - 1) < 0)
			snprintf(r->node, sizeof(r->node), "unknown");
		r->node[sizeof(r->node) - 1] = '\0';
		pipeline_set_node(r->pipeline, r->node);
	}
	if (!o->stats && !o->top) {
		bool tty = isatty(STDOUT_FILENO);
		enum output_format fmt = o->output == CLI_OUTPUT_JSON ? OUTPUT_JSON :
					 o->output == CLI_OUTPUT_TABLE ? OUTPUT_TABLE :
					 tty ? OUTPUT_TABLE : OUTPUT_JSON;
		r->out = output_new(stdout, fmt,
				    fmt == OUTPUT_TABLE && output_colour_wanted(o->color, STDOUT_FILENO),
				    r->filter ? filter_match : NULL, r->filter);
		if (r->out) {
			output_set_numeric(r->out, o->numeric);
			output_set_width(r->out, output_terminal_width(STDOUT_FILENO));
		}
		if (!r->out || pipeline_add_sink(r->pipeline, output_sink(r->out)) < 0) {
			fprintf(stderr, "faultline: out of memory\n");
			run_finish(r);
			return 1;
		}
		output_set_limit(r->out, o->count);
		output_set_flush(r->out, o->line_buffered);
	}
	/* The summary on exit, where it may be printed. */
	if (o->summary > 0 || (o->summary == 0 && !o->stats && !o->top && isatty(STDERR_FILENO))) {
		r->summary = summary_new();
		if (!r->summary || pipeline_add_sink(r->pipeline, summary_sink(r->summary)) < 0) {
			fprintf(stderr, "faultline: out of memory\n");
			summary_free(r->summary);
			r->summary = NULL;
			run_finish(r);
			return 1;
		}
	}
	if (o->write_path && (rc = setup_recorder(r, o)) != 0) {
		/* The caller does not finish a run that failed to start: free what was built. */
		output_free(r->out);
		pipeline_free(r->pipeline);
		summary_free(r->summary);
		recorder_close(r->recorder);
		kfl_free(r->write_filter);
		kfl_free(r->filter);
		memset(r, 0, sizeof(*r));
		return rc;
	}
	return 0;
}

int run_finish(struct run *r)
{
	int status = 0;

	if (r->pipeline)
		pipeline_finish(r->pipeline);
	/* After the last entries (they flush --write-filter buffers), before --stats. */
	if (r->recorder) {
		recorder_finish(r->recorder);
		run_report_recorder(r);
		/* A recording that lost packets to a write error is a failed run. */
		if (r->stats.recorder.write_errors)
			status = 1;
	}
	if (r->opts && r->opts->stats) {
		char *json = NULL;
		size_t len = 0;
		FILE *mem = r->opts->output == CLI_OUTPUT_TABLE ? open_memstream(&json, &len) : NULL;
		if (mem) {
			/* -o table: the same document, one dotted key and its value a line. */
			stats_write_json(&r->stats, mem);
			fclose(mem);
			if (output_stats_table(json, len, stdout) < 0)
				fputs(json, stdout);
			free(json);
		} else {
			stats_write_json(&r->stats, stdout);
		}
	}
	if (r->summary && r->print_summary) {
		fflush(stdout);
		summary_print(r->summary, &r->stats, stderr);
	}
	summary_free(r->summary);
	r->summary = NULL;
	output_free(r->out);
	/* The pipeline's flows point into the recorder: free them first. */
	pipeline_free(r->pipeline);
	recorder_close(r->recorder);
	kfl_free(r->write_filter);
	kfl_free(r->filter);
	pkt_filter_free(r->pkt_filter);
	r->pkt_filter = NULL;
	r->filter = NULL;
	fflush(stdout);
	r->out = NULL;
	r->pipeline = NULL;
	r->recorder = NULL;
	r->write_filter = NULL;
	return status;
}
