// SPDX-License-Identifier: MIT
#include "source/merge.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/packet.h"
#include "source/pcap.h"

/* Descriptors left for what the run opens besides the inputs (-w, --names, logs). */
#define MERGE_FD_RESERVE 32
/* What the inputs open at once may buffer in all (each at least 512 KiB, at most 4 MiB). */
#define MERGE_BUFFER_TOTAL (64u << 20)

struct merge_input {
	const char *path;
	struct pcap_source *src;    /* open: its next packet is pkt */
	struct fl_packet pkt;
	uint64_t next_ts;           /* closed: the time of the next packet it will give */
	uint64_t consumed;          /* packets read from it so far (kept while it is closed) */
	int index;                  /* the position on the command line: breaks ties */
};

struct pcap_merge {
	struct merge_input *in;
	int n;
	uint32_t snaplen;
	int *pending;               /* closed regular files with packets left, the earliest next_ts first */
	int n_pending;
	int *heap;                  /* open inputs, the earliest next packet first */
	int heap_n;
	int open_now, open_limit;
	unsigned long long rlimit;  /* the soft RLIMIT_NOFILE after raising it */
	uint64_t reopened;          /* files closed to make room and opened again */
};

/* The open heap orders by the packet waiting, the pending heap by next_ts; ties by file order. */
static bool earlier(const struct pcap_merge *m, const int *heap, int a, int b)
{
	const struct merge_input *x = &m->in[a], *y = &m->in[b];
	uint64_t tx = heap == m->heap ? x->pkt.ts_ns : x->next_ts;
	uint64_t ty = heap == m->heap ? y->pkt.ts_ns : y->next_ts;
	return tx != ty ? tx < ty : x->index < y->index;
}

static void sift_down(struct pcap_merge *m, int *heap, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, min = i;
		if (l < n && earlier(m, heap, heap[l], heap[min]))
			min = l;
		if (r < n && earlier(m, heap, heap[r], heap[min]))
			min = r;
		if (min == i)
			return;
		int t = heap[i];
		heap[i] = heap[min];
		heap[min] = t;
		i = min;
	}
}

static void sift_up(struct pcap_merge *m, int *heap, int i)
{
	while (i > 0 && earlier(m, heap, heap[i], heap[(i - 1) / 2])) {
		int parent = (i - 1) / 2, t = heap[i];
		heap[i] = heap[parent];
		heap[parent] = t;
		i = parent;
	}
}

static void heap_push(struct pcap_merge *m, int *heap, int *n, int input)
{
	heap[(*n)++] = input;
	sift_up(m, heap, *n - 1);
}

static void heap_remove(struct pcap_merge *m, int *heap, int *n, int i)
{
	heap[i] = heap[--(*n)];
	if (i < *n) {
		sift_down(m, heap, *n, i);
		sift_up(m, heap, i);
	}
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return 16;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0;   /* ".", ".." and the directory's own descriptor */
}

/*
 * How many inputs may be open at once: raise the soft limit to the hard one
 * when the files need it, keep MERGE_FD_RESERVE for the rest of the run.
 */
static void set_open_limit(struct pcap_merge *m)
{
	struct rlimit rl;
	int used = count_open_fds();
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		rl.rlim_cur = rl.rlim_max = 1024;
	} else if (rl.rlim_cur < rl.rlim_max &&
		   (rl.rlim_cur == RLIM_INFINITY ||
		    (rlim_t)m->n + (rlim_t)used + MERGE_FD_RESERVE > rl.rlim_cur)) {
		struct rlimit raised = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl = raised;
	}
	rlim_t cur = rl.rlim_cur == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_cur;
	m->rlimit = (unsigned long long)cur;
	rlim_t room = cur > (rlim_t)used + MERGE_FD_RESERVE ? cur - (rlim_t)used - MERGE_FD_RESERVE : 0;
	m->open_limit = room > (rlim_t)m->n ? m->n : (int)room;
}

static void set_buffer(struct pcap_merge *m, struct pcap_source *s)
{
	pcap_source_set_buffer_cap(s, MERGE_BUFFER_TOTAL / (size_t)(m->open_now + 1));
}

void pcap_merge_close(struct pcap_merge *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n; i++)
		pcap_source_close(m->in[i].src);
	free(m->in);
	free(m->pending);
	free(m->heap);
	free(m);
}

struct pcap_merge *pcap_merge_open(char *const *paths, int n, uint32_t snaplen, char *err,
				   size_t errlen)
{
	struct pcap_merge *m = calloc(1, sizeof(*m));
	int permanent = 0;
	if (!m || !(m->in = calloc((size_t)n, sizeof(*m->in))) ||
	    !(m->pending = calloc((size_t)n, sizeof(int))) ||
	    !(m->heap = calloc((size_t)n, sizeof(int)))) {
		snprintf(err, errlen, "out of memory");
		pcap_merge_close(m);
		return NULL;
	}
	m->n = n;
	m->snaplen = snaplen;
	for (int i = 0; i < n; i++)
		permanent += !pcap_source_reopenable(paths[i]);
	set_open_limit(m);
	if (permanent + (permanent < n) > m->open_limit) {
		snprintf(err, errlen, "%d inputs cannot be opened twice (pipes, FIFOs, stdin) and must "
			 "stay open, but only %d files can be open at once (open files limit %llu)",
			 permanent, m->open_limit, m->rlimit);
		pcap_merge_close(m);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		struct merge_input *in = &m->in[i];
		char perr[8];
		in->path = paths[i];
		in->index = i;
		struct pcap_source *s = pcap_source_open(paths[i], snaplen, err, errlen);
		if (!s) {
			pcap_merge_close(m);
			return NULL;
		}
		set_buffer(m, s);
		if (!pcap_source_reopenable(paths[i])) {
			/* Opened for good; the run reads its first packet (and reports a failure). */
			in->src = s;
			m->open_now++;
			heap_push(m, m->heap, &m->heap_n, i);
			continue;
		}
		/* Its first packet's time says when the merge needs it; a file that
		 * fails there is opened first, so its error comes at once. */
		int rc = pcap_source_next(s, &in->pkt, perr, sizeof(perr));
		in->next_ts = rc == 1 ? in->pkt.ts_ns : 0;
		pcap_source_close(s);
		if (rc != 0)
			heap_push(m, m->pending, &m->n_pending, i);
	}
	return m;
}

int pcap_merge_open_limit(const struct pcap_merge *m)
{
	return m->open_limit;
}

static void report(pcap_merge_error_fn on_error, void *ctx, int rc, const char *msg)
{
	if (on_error)
		on_error(ctx, rc, msg);
}

/* Read an open input's next packet (1), or close it at its end or failure (0). */
static int advance(struct pcap_merge *m, struct merge_input *in, pcap_merge_error_fn on_error,
		   void *ctx, char *err, size_t errlen)
{
	int rc = pcap_source_next(in->src, &in->pkt, err, errlen);
	if (rc == 1) {
		in->consumed++;
		return 1;
	}
	if (rc < 0)
		report(on_error, ctx, rc, err);
	pcap_source_close(in->src);
	in->src = NULL;
	m->open_now--;
	return 0;
}

/*
 * No descriptor left for the next file: close the open regular file whose
 * next packet is the latest (it is not needed soonest) and pend it at that
 * packet.  False if every open input is a pipe or the latest is not later.
 */
static bool evict_latest(struct pcap_merge *m, const struct merge_input *wanted)
{
	int latest = -1;
	for (int i = 0; i < m->heap_n; i++) {
		const struct merge_input *in = &m->in[m->heap[i]];
		if (!pcap_source_reopenable(in->path))
			continue;
		if (latest < 0 || earlier(m, m->heap, m->heap[latest], m->heap[i]))
			latest = i;
	}
	if (latest < 0)
		return false;
	struct merge_input *in = &m->in[m->heap[latest]];
	if (in->pkt.ts_ns < wanted->next_ts ||
	    (in->pkt.ts_ns == wanted->next_ts && in->index < wanted->index))
		return false;
	heap_remove(m, m->heap, &m->heap_n, latest);
	in->next_ts = in->pkt.ts_ns;
	in->consumed--;          /* that packet is read again when it reopens */
	pcap_source_close(in->src);
	in->src = NULL;
	m->open_now--;
	m->reopened++;
	heap_push(m, m->pending, &m->n_pending, in->index);
	return true;
}

/*
 * Open the earliest pending file and put its next packet in the open heap
 * (a file closed to make room reads up to where it was).  -EMFILE when no
 * descriptor can be freed.
 */
static int admit(struct pcap_merge *m, pcap_merge_error_fn on_error, void *ctx, char *err,
		 size_t errlen)
{
	struct merge_input *in = &m->in[m->pending[0]];
	heap_remove(m, m->pending, &m->n_pending, 0);
	if (m->open_now >= m->open_limit && !evict_latest(m, in)) {
		snprintf(err, errlen, "%s: more pipes and FIFOs overlap in time than can be open "
			 "at once (%d, open files limit %llu, see ulimit -n)", in->path,
			 m->open_limit, m->rlimit);
		return -EMFILE;
	}
	in->src = pcap_source_open(in->path, m->snaplen, err, errlen);
	if (!in->src) {
		report(on_error, ctx, -ENOENT, err);
		return 0;
	}
	set_buffer(m, in->src);
	m->open_now++;
	uint64_t skip = in->consumed;
	in->consumed = 0;
	while (advance(m, in, on_error, ctx, err, errlen) == 1) {
		if (in->consumed > skip) {
			heap_push(m, m->heap, &m->heap_n, in->index);
			return 0;
		}
	}
	return 0;
}

/* The earliest pending file comes before the earliest packet waiting in the open heap. */
static bool needed_first(const struct pcap_merge *m)
{
	const struct merge_input *p = &m->in[m->pending[0]], *o = &m->in[m->heap[0]];
	return p->next_ts != o->pkt.ts_ns ? p->next_ts < o->pkt.ts_ns : p->index < o->index;
}

int pcap_merge_run(struct pcap_merge *m, const struct packet_sink *out, pcap_merge_error_fn on_error,
		   void *ctx, char *err, size_t errlen)
{
	/* The inputs opened for good: read their first packets. */
	for (int i = m->heap_n - 1; i >= 0; i--) {
		struct merge_input *in = &m->in[m->heap[i]];
		if (!advance(m, in, on_error, ctx, err, errlen))
			m->heap[i] = m->heap[--m->heap_n];
	}
	for (int i = m->heap_n / 2; i >= 0; i--)
		sift_down(m, m->heap, m->heap_n, i);
	for (;;) {
		while (m->n_pending && (!m->heap_n || needed_first(m))) {
			int rc = admit(m, on_error, ctx, err, errlen);
			if (rc < 0)
				return rc;
		}
		if (!m->heap_n)
			return 0;
		struct merge_input *in = &m->in[m->heap[0]];
		out->packet(out->ctx, &in->pkt);
		if (advance(m, in, on_error, ctx, err, errlen))
			sift_down(m, m->heap, m->heap_n, 0);
		else
			heap_remove(m, m->heap, &m->heap_n, 0);
	}
}

uint64_t pcap_merge_reopened(const struct pcap_merge *m)
{
	return m->reopened;
}
