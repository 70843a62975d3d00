// SPDX-License-Identifier: MIT
/* faultline read: analyse capture files. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/top.h"
#include "core/packet.h"
#include "sink/output.h"
#include "source/pcap.h"
#include "source/pktfilter.h"

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

/*
 * Several files are one capture, merged in timestamp order as mergecap
 * merges them: the next packet is always the earliest of the files' next
 * packets (the first file's on a tie).  Each file is a cursor with its own
 * read window (one packet handed out at a time, valid until that file's
 * next read), kept in a binary heap by the time of its next packet.  Time
 * going back inside a file is not reordered: the pipeline counts it
 * (packets.time_reversals).
 *
 * Files are opened once each up front to learn their first packet's time.
 * More files than descriptors: a regular file may be closed while waiting
 * (the one needed last) and reopened later, its packets read up to where it
 * was (a pipe or FIFO stays open).
 */
struct cursor {
	struct pcap_source *src;   /* NULL while closed */
	struct fl_packet head;     /* the next packet (src open) */
	uint64_t key;              /* its time */
	uint64_t consumed;         /* packets handed to the pipeline */
	int index;                 /* the file's place on the command line */
	bool reopenable;
};

struct merge {
	const struct cli_opts *o;
	struct run *run;
	struct cursor *c;
	int *heap, n_heap;
	int n_open, max_open;
	size_t buf_cap;
	int status;
};

static bool cursor_before(const struct merge *m, int a, int b)
{
	if (m->c[a].key != m->c[b].key)
		return m->c[a].key < m->c[b].key;
	return m->c[a].index < m->c[b].index;
}

static void heap_down(struct merge *m, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, min = i;
		if (l < m->n_heap && cursor_before(m, m->heap[l], m->heap[min]))
			min = l;
		if (r < m->n_heap && cursor_before(m, m->heap[r], m->heap[min]))
			min = r;
		if (min == i)
			return;
		int t = m->heap[i];
		m->heap[i] = m->heap[min];
		m->heap[min] = t;
		i = min;
	}
}

static void heap_up(struct merge *m, int i)
{
	while (i > 0 && cursor_before(m, m->heap[i], m->heap[(i - 1) / 2])) {
		int t = m->heap[i];
		m->heap[i] = m->heap[(i - 1) / 2];
		m->heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void cursor_close(struct merge *m, struct cursor *c)
{
	if (!c->src)
		return;
	pcap_source_close(c->src);
	c->src = NULL;
	m->n_open--;
}

/*
 * A descriptor for one more file: close the open regular file needed last
 * (not `keep`), if the limit is reached.
 */
static void make_room(struct merge *m, int keep)
{
	int worst = -1;

	if (m->n_open < m->max_open)
		return;
	for (int i = 0; i < m->n_heap; i++) {
		int k = m->heap[i];
		if (k == keep || !m->c[k].src || !m->c[k].reopenable)
			continue;
		if (worst < 0 || cursor_before(m, worst, k))
			worst = k;
	}
	if (worst >= 0)
		cursor_close(m, &m->c[worst]);
}

/* The cursor's next packet into head.  1, 0 at the end, -1 after saying why the file failed. */
static int cursor_read(struct merge *m, struct cursor *c)
{
	char err[512];
	int rc = pcap_source_next(c->src, &c->head, err, sizeof(err));

	if (rc == 1) {
		c->key = c->head.ts_ns;
		return 1;
	}
	if (rc < 0) {
		/* Said and counted (a cut record is a packet lost), then on with the other files. */
		fprintf(stderr, "faultline read: %s\n", err);
		if (rc == -EIO)
			m->run->stats.packets.decode_errors++;
		m->status = 1;
		return -1;
	}
	return 0;
}

/*
 * Open file k (again: its packets up to where it was are read past).  0;
 * 2 after saying why it cannot be opened or filtered.
 */
static int cursor_open(struct merge *m, int k)
{
	struct cursor *c = &m->c[k];
	const char *path = m->o->files[c->index];
	char err[512];

	make_room(m, k);
	c->src = pcap_source_open(path, m->o->cfg.snaplen, err, sizeof(err));
	if (!c->src) {
		fprintf(stderr, "faultline read: %s\n", err);
		return 2;
	}
	m->n_open++;
	pcap_source_set_buffer_cap(c->src, m->buf_cap);
	/* Each file is its own interface (a pcapng's interfaces are told apart within it). */
	pcap_source_set_if_base(c->src, (uint32_t)c->index << 16);
	int rc = filter_for(m->run, path, c->src);
	if (rc)
		return rc;
	for (uint64_t n = 0; n < c->consumed; n++)
		if (cursor_read(m, c) != 1) {
			fprintf(stderr, "faultline read: %s: changed while it was read\n", path);
			m->status = 1;
			cursor_close(m, c);
			return -1;
		}
	return 0;
}

/* How many files may be open at once: the soft descriptor limit, raised to the hard one. */
static int open_limit(int n_files)
{
	struct rlimit rl;
	const int reserve = 32;     /* the pipeline's own: sockets, outputs, the recorder */

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 64;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n_files + reserve &&
	    rl.rlim_cur < rl.rlim_max) {
		rlim_t want = (rlim_t)n_files + reserve;
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)n_files + reserve)
		return n_files;
	return rl.rlim_cur > (rlim_t)reserve + 4 ? (int)(rl.rlim_cur - reserve) : 4;
}

#define MERGE_BUFFERS (32u << 20)   /* the read windows of all open files together */

/* Open every file once and take its first packet.  0, or 2 after saying why one cannot be. */
static int merge_open(struct merge *m)
{
	struct stat st;

	for (int i = 0; i < m->o->n_files; i++) {
		const char *path = m->o->files[i];
		struct cursor *c = &m->c[i];
		c->index = i;
		c->reopenable = strcmp(path, "-") != 0 && strncmp(path, "/dev/", 5) != 0 &&
				strncmp(path, "/proc/", 6) != 0 && stat(path, &st) == 0 &&
				S_ISREG(st.st_mode);
		int rc = cursor_open(m, i);
		if (rc > 0)
			return rc;
		if (rc < 0 || cursor_read(m, c) != 1) {
			cursor_close(m, c);      /* empty, or failed in its first packet: said */
			continue;
		}
		m->heap[m->n_heap++] = i;
		heap_up(m, m->n_heap - 1);
		/* Several files, or a pcapng of several interfaces: one packet may be in two. */
		if (m->n_heap > 1 || (c->src && pcap_source_interfaces(c->src) > 1))
			pipeline_expect_interfaces(m->run->pipeline);
	}
	return 0;
}

/* Hand packets to sink in time order until every file ends or -c is reached. */
static int merge_run(struct merge *m, const struct packet_sink *sink)
{
	while (m->n_heap) {
		int k = m->heap[0];
		struct cursor *c = &m->c[k];
		if (!c->src) {
			int rc = cursor_open(m, k);
			if (rc > 0)
				return rc;
			if (rc < 0 || cursor_read(m, c) != 1) {
				cursor_close(m, c);
				m->heap[0] = m->heap[--m->n_heap];
				heap_down(m, 0);
				continue;
			}
		}
		sink->packet(sink->ctx, &c->head);
		c->consumed++;
		if (count_reached(m->run))
			return 0;
		if (cursor_read(m, c) != 1) {
			cursor_close(m, c);
			m->heap[0] = m->heap[--m->n_heap];
		}
		heap_down(m, 0);
	}
	return 0;
}

static int read_files(const struct cli_opts *o)
{
	const struct cli_opts opts = *o;
	struct run run;
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
	struct merge m = { .o = o, .run = &run };
	m.c = calloc((size_t)opts.n_files, sizeof(*m.c));
	m.heap = calloc((size_t)opts.n_files, sizeof(*m.heap));
	if (!m.c || !m.heap) {
		fprintf(stderr, "faultline read: out of memory\n");
		free(m.c);
		free(m.heap);
		return 1;
	}
	if ((rc = run_setup(&run, o, "file")) != 0) {
		free(m.c);
		free(m.heap);
		return rc;
	}
	m.max_open = open_limit(opts.n_files);
	m.buf_cap = MERGE_BUFFERS / (size_t)(opts.n_files < m.max_open ? opts.n_files : m.max_open);
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
	}
	if ((status = merge_open(&m)) == 0) {
		status = merge_run(&m, &sink);
		if (!status)
			status = m.status;
	}
out:
	for (int i = 0; i < opts.n_files; i++)
		cursor_close(&m, &m.c[i]);
	free(m.c);
	free(m.heap);
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
