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
#include "sink/metrics.h"
#include "sink/output.h"
#include "sink/recorder.h"

enum {
	OPT_SET = 256, OPT_STATS, OPT_ALL, OPT_CONFIG, OPT_WRITE_FILTER, OPT_WRITE_MAX_MB, OPT_WRITE_FILES,
	OPT_WRITE_FOLLOW_SYMLINKS, OPT_BACKEND, OPT_DURATION, OPT_HOOK, OPT_SOCKET, OPT_SOCKET_GROUP, OPT_METRICS_LISTEN,
	OPT_NO_REDACT,
};

static const struct option read_options[] = {
	{ "filter", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "write", required_argument, NULL, 'w' },
	{ "set", required_argument, NULL, OPT_SET },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "no-redact", no_argument, NULL, OPT_NO_REDACT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "write-filter", required_argument, NULL, OPT_WRITE_FILTER },
	{ "write-max-mb", required_argument, NULL, OPT_WRITE_MAX_MB },
	{ "write-files", required_argument, NULL, OPT_WRITE_FILES },
	{ "write-follow-symlinks", no_argument, NULL, OPT_WRITE_FOLLOW_SYMLINKS },
	{ "help", no_argument, NULL, 'h' },
	/* capture only (rejected for read below) */
	{ "interface", required_argument, NULL, 'i' },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "hook", required_argument, NULL, OPT_HOOK },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ NULL, 0, NULL, 0 },
};

static const char read_help[] =
	"usage: faultline read [OPTIONS] FILE...\n"
	"Analyse pcap/pcapng files (plain or gzip-compressed; \"-\" is stdin) for network errors.\n"
	"Several files are read in order as one capture.\n";

static const char capture_help[] =
	"usage: faultline capture [OPTIONS]\n"
	"Capture live traffic (eBPF, or AF_PACKET) and report network errors as they happen.\n";

static const char common_help[] =
	"\n"
	"  -f, --filter KFL         print only entries matching the KFL expression\n"
	"                           (replaces the default selection)\n"
	"      --all                print every entry (healthy exchanges, echo, neighbour\n"
	"                           discovery and MLD too); by default only failures print\n"
	"                           (the default selection, below); the stats count all\n"
	"  -o, --output table|json  table on a terminal, json (one object per line) otherwise\n"
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
	"      --stats              print the stats as one JSON document instead of entries\n";

static const char capture_only_help[] =
	"  -i, --interface IFACE    capture on IFACE (repeatable; default: every interface\n"
	"                           that is up, loopback excluded)\n"
	"      --backend auto|ebpf|afpacket   default auto: eBPF, else AF_PACKET\n"
	"      --hook tc|xdp        where eBPF takes ingress packets (default tc)\n"
	"      --duration SECONDS   stop after SECONDS\n"
	"      --socket PATH        control socket (default /run/faultline/faultline.sock)\n"
	"      --socket-group GROUP make the socket 0660 for GROUP\n"
	"      --metrics-listen ADDR:PORT  serve Prometheus metrics at /metrics\n";

static const char keys_help[] =
	"\nDefault selection (without --all or -f), in KFL:\n"
	"  " CLI_DEFAULT_SELECTION_1 "\n"
	"  " CLI_DEFAULT_SELECTION_2 "\n"
	"  " CLI_DEFAULT_SELECTION_3 "\n"
	"\nConfiguration keys: tap.tcpStreamChannelTimeoutMs (10000), tap.snaplen (262144),\n"
	"tap.maxFlows (1000000), tap.reassemblyMemcapMb (256), tap.ringBufferMb (64),\n"
	"tap.memoryLimitMb (384; 0: no limit).\n";

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

	/* 0, not 1: glibc then forgets a short-option cluster an earlier call left half read. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:w:i:h", read_options, NULL)) != -1) {
		if (!capture && (c == 'i' || (c >= OPT_BACKEND && c <= OPT_METRICS_LISTEN)))
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
		case 'w': o->write_path = optarg; break;
		case OPT_SET:
			if (n_sets == sizeof(sets) / sizeof(sets[0]))
				return usage_error(cmd, "too many --set options%s", "");
			sets[n_sets++] = optarg;
			break;
		case OPT_STATS: o->stats = true; break;
		case OPT_ALL: o->all = true; break;
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
			       capture ? capture_only_help : "", keys_help);
			return 1;
		case ':':
			return usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	/* The YAML file first, then --set on top of it. */
	if (config_path && config_load_yaml(&o->cfg, config_path, err, sizeof(err)) < 0)
		return usage_error(cmd, "--config: %s", err);
	for (unsigned i = 0; i < n_sets; i++)
		if (config_set(&o->cfg, sets[i], err, sizeof(err)) < 0)
			return usage_error(cmd, "--set: %s", err);
	if (!capture) {
		o->files = argv + optind;
		o->n_files = argc - optind;
		if (o->n_files == 0)
			return usage_error(cmd, "no capture file given (use - for stdin)%s", "");
	} else if (optind < argc) {
		return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	}
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
	if (!o->stats) {
		bool tty = isatty(STDOUT_FILENO);
		enum output_format fmt = o->output == CLI_OUTPUT_JSON ? OUTPUT_JSON :
					 o->output == CLI_OUTPUT_TABLE ? OUTPUT_TABLE :
					 tty ? OUTPUT_TABLE : OUTPUT_JSON;
		r->out = output_new(stdout, fmt, tty && fmt == OUTPUT_TABLE,
				    r->filter ? filter_match : NULL, r->filter);
		if (!r->out || pipeline_add_sink(r->pipeline, output_sink(r->out)) < 0) {
			fprintf(stderr, "faultline: out of memory\n");
			run_finish(r);
			return 1;
		}
	}
	if (o->write_path && (rc = setup_recorder(r, o)) != 0) {
		/* The caller does not finish a run that failed to start: free what was built. */
		output_free(r->out);
		pipeline_free(r->pipeline);
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
	if (r->opts && r->opts->stats)
		stats_write_json(&r->stats, stdout);
	output_free(r->out);
	/* The pipeline's flows point into the recorder: free them first. */
	pipeline_free(r->pipeline);
	recorder_close(r->recorder);
	kfl_free(r->write_filter);
	kfl_free(r->filter);
	r->filter = NULL;
	fflush(stdout);
	r->out = NULL;
	r->pipeline = NULL;
	r->recorder = NULL;
	r->write_filter = NULL;
	return status;
}
