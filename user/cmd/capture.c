// SPDX-License-Identifier: MIT
/*
 * `faultline capture`: choose the interfaces, open a source (eBPF, or
 * AF_PACKET), and run one epoll loop over the source, a 200 ms timer that
 * drives the pipeline's timeouts, link changes, signals and the control
 * socket, until SIGINT/SIGTERM or --duration.
 */
#include <net/if.h>
#include <errno.h>
#include <pthread.h>
#include <fnmatch.h>
#include <linux/if_arp.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "source/capture.h"
#include "cmd/cli.h"
#include "source/cgroup.h"
#include "source/procscan.h"
#include "cmd/commands.h"
#include "sink/ctl.h"
#include "source/iface.h"
#include "core/log.h"
#include "sink/metrics.h"
#include "source/privs.h"
#include "sink/output.h"
#include "sink/recorder.h"
#include "source/pktfilter.h"
#include "core/watch.h"

#define TICK_MS 200
#define STATS_EVERY_TICKS 5     /* kernel counters refreshed once a second */
#define SCAN_EVERY_NS 1000000000ull   /* /proc socket scans at most once a second */
#define SCAN_SLICE_NS 2000000ull      /* and 2 ms of one per tick (TICK_MS) */

struct capture_loop {
	const struct cli_opts *opts;
	struct run run;
	struct capture_source *src;
	struct ctl *ctl;
	int epfd;
	struct watch source_w, timer_w, signal_w, link_w, metrics_w;
	struct metrics_server *metrics;
	struct metrics_entry_counts entry_counts;   /* metrics from the entries */
	struct capture_iface ifaces[FL_MAX_INTERFACES];
	unsigned n_ifaces;
	int last_hit;
	uint64_t deadline_ns;   /* 0: none */
	uint64_t longest_stall_ns;   /* longest time the loop spent on anything but packets */
	uint64_t longest_stall_cpu_ns;  /* the same in CPU time (wall time includes preemption) */
	const char *longest_stall_in;   /* in what */
	const char *longest_stall_cpu_in;
	const char *timer_phase;        /* the timer's costliest part, this time */
	uint64_t poll_ns, poll_cpu_ns;  /* packet time inside the handler being measured */
	unsigned ticks;
	uint64_t drops_reported;   /* packets.dropped when loss was last logged */
	bool stop;
	int status;
	struct pkt_filter *filter;      /* the capture filter expression, or NULL */
	bool filter_in_kernel;          /* AF_PACKET runs it */
	bool interrupted;               /* stopped by SIGINT (Ctrl-C) */
	struct procscan *scan;          /* sockets older than the capture, from /proc; or NULL */
	struct watch pods_w;            /* inotify on tap.attribution.podLogDir; fd -1 without */
	uint64_t last_scan_ns;
	/* --workers: the workers name interfaces in entries while link changes edit the table */
	pthread_mutex_t if_lock;
	struct fl_stats snap;           /* the stats served (pipeline_stats) */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t loop_clock_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* Captured on two interfaces or more: one packet may be seen on two (core/dedup.h). */
static void expect_interfaces(struct capture_loop *l)
{
	unsigned n = 0;

	for (unsigned i = 0; i < l->n_ifaces; i++)
		n += l->ifaces[i].attached;
	if (n > 1 && l->run.pipeline)
		pipeline_expect_interfaces(l->run.pipeline);
}

static const struct capture_iface *loop_iface_lookup(void *ctx, int ifindex)
{
	struct capture_loop *l = ctx;

	if ((unsigned)l->last_hit < l->n_ifaces && l->ifaces[l->last_hit].ifindex == ifindex)
		return &l->ifaces[l->last_hit];
	for (unsigned i = 0; i < l->n_ifaces; i++)
		if (l->ifaces[i].ifindex == ifindex) {
			l->last_hit = (int)i;
			return &l->ifaces[i];
		}
	return NULL;
}

/* An entry's `interface`: the name of a captured interface (any thread: --workers). */
static const char *loop_ifname(void *ctx, uint32_t ifindex)
{
	static _Thread_local char name[IF_NAMESIZE];
	struct capture_loop *l = ctx;
	const char *found = NULL;

	pthread_mutex_lock(&l->if_lock);
	for (unsigned i = 0; i < l->n_ifaces && !found; i++)
		if (l->ifaces[i].ifindex == (int)ifindex) {
			snprintf(name, sizeof(name), "%s", l->ifaces[i].name);
			found = name;
		}
	pthread_mutex_unlock(&l->if_lock);
	return found;
}

static bool named_by_user(const struct capture_loop *l, const char *name)
{
	for (unsigned i = 0; i < l->opts->n_interfaces; i++)
		if (strcmp(l->opts->interfaces[i], name) == 0)
			return true;
	return false;
}

/* -i names the interfaces; without it, every interface that is up except loopback. */
static bool wanted(const struct capture_loop *l, const struct capture_iface *ifc)
{
	if (l->opts->n_interfaces)
		return named_by_user(l, ifc->name);
	return (ifc->flags & IFF_UP) && !(ifc->flags & IFF_LOOPBACK);
}

static void stats_interfaces(struct capture_loop *l)
{
	struct fl_stats *st = &l->run.stats;

	st->capture.n_interfaces = 0;
	for (unsigned i = 0; i < l->n_ifaces; i++)
		if (l->ifaces[i].attached)
			memcpy(st->capture.interfaces[st->capture.n_interfaces++], l->ifaces[i].name,
			       sizeof(st->capture.interfaces[0]));
}

static int attach_one(struct capture_loop *l, struct capture_iface *ifc)
{
	int err = l->src->ops->attach(l->src, ifc);

	if (err) {
		pr_warn("cannot capture on %s: %s\n", ifc->name, strerror(-err));
		return err;
	}
	pr_debug("capturing on %s\n", ifc->name);
	stats_interfaces(l);
	return 0;
}

/* The link table follows rtnetlink; a new interface that is wanted is attached at once. */
static void on_link(void *ctx, const struct iface_link *link, bool removed)
{
	struct capture_loop *l = ctx;
	struct capture_iface *ifc = (struct capture_iface *)loop_iface_lookup(l, link->ifindex);

	if (removed) {
		if (ifc) {
			if (ifc->attached && l->src)
				l->src->ops->detach(l->src, ifc);   /* the kernel has dropped the hooks */
			pthread_mutex_lock(&l->if_lock);
			*ifc = l->ifaces[--l->n_ifaces];
			pthread_mutex_unlock(&l->if_lock);
			l->last_hit = -1;
			stats_interfaces(l);
		}
		return;
	}
	pthread_mutex_lock(&l->if_lock);
	if (!ifc) {
		if (l->n_ifaces >= FL_MAX_INTERFACES) {
			pthread_mutex_unlock(&l->if_lock);
			return;
		}
		ifc = &l->ifaces[l->n_ifaces++];
		*ifc = (struct capture_iface){ .ifindex = link->ifindex };
	}
	snprintf(ifc->name, sizeof(ifc->name), "%s", link->name);
	pthread_mutex_unlock(&l->if_lock);
	ifc->flags = link->flags;
	ifc->type = link->type;
	if (l->src && l->run.pipeline && !ifc->attached && wanted(l, ifc)) {
		attach_one(l, ifc);
		expect_interfaces(l);
	}
}

static void refresh_stats(void *ctx)
{
	struct capture_loop *l = ctx;

	l->run.stats.capture.now_ns = capture_now_ns();
	if (l->src)
		l->src->ops->update_stats(l->src, &l->run.stats);
}

/* The stats served on the control socket: what --stats prints, plus the capture source's own. */
/* For /readyz: how many interfaces have our programs (or the AF_PACKET socket) on them. */
static unsigned attached_count(void *ctx)
{
	const struct capture_loop *l = ctx;

	return l->run.stats.capture.n_interfaces;
}

static void describe_stats(void *ctx, struct doc *out)
{
	struct capture_loop *l = ctx;

	refresh_stats(l);
	/* --workers: with the workers' counters as of the last tick */
	if (l->run.pipeline)
		pipeline_stats(l->run.pipeline, &l->snap);
	else
		l->snap = l->run.stats;
	stats_to_doc(&l->snap, out);
	uint32_t cap = doc_get(out, DOC_ROOT, "capture");
	if (l->src->ops->describe)
		l->src->ops->describe(l->src, out, cap);
	if (cap != DOC_NONE && l->longest_stall_in) {
		doc_add_int(out, cap, "longest_stall_us", (int64_t)(l->longest_stall_ns / 1000));
		doc_add_int(out, cap, "longest_stall_cpu_us", (int64_t)(l->longest_stall_cpu_ns / 1000));
		doc_add_str(out, cap, "longest_stall_in", l->longest_stall_in);
		if (l->longest_stall_cpu_in)
			doc_add_str(out, cap, "longest_stall_cpu_in", l->longest_stall_cpu_in);
	}
	metrics_entry_counts_describe(&l->entry_counts, out);
	ctl_describe(l->ctl, out);
}

static void on_metrics(struct watch *w, uint32_t events)
{
	struct capture_loop *l = watch_container(w, struct capture_loop, metrics_w);

	(void)events;
	metrics_server_run(l->metrics);
}

static void on_source(struct watch *w, uint32_t events)
{
	struct capture_loop *l = watch_container(w, struct capture_loop, source_w);

	(void)events;
	l->src->ops->poll(l->src);
	if (l->opts->count && output_printed(l->run.out) >= l->opts->count)
		l->stop = true;
}

/* Ring loss is logged as it happens, once a second at most, besides packets.dropped. */
static void report_drops(struct capture_loop *l)
{
	const struct fl_stats *st = &l->run.stats;
	uint64_t lost = st->packets.dropped - l->drops_reported;
	char where[128] = "";
	size_t used = 0;

	if (!lost)
		return;
	l->drops_reported = st->packets.dropped;
	/* One ring serves every interface: name them all. */
	for (unsigned i = 0; i < st->capture.n_interfaces && used < sizeof(where); i++)
		used += (size_t)snprintf(where + used, sizeof(where) - used, "%s%.16s", i ? ", " : "",
					 st->capture.interfaces[i]);
	pr_warn("lost %llu packet%s in the last second on %s: ring full\n",
		(unsigned long long)lost, lost == 1 ? "" : "s", where[0] ? where : "no interface");
}

/* The timer's parts are named in the longest stall: which one took the CPU. */
static void timer_phase(struct capture_loop *l, const char *name, uint64_t *since, uint64_t *worst)
{
	uint64_t now = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (now - *since >= *worst) {
		*worst = now - *since;
		l->timer_phase = name;
	}
	*since = now;
}

/* A pod's log directory came or went: names are looked up again. */
static void on_pods(struct watch *w, uint32_t events)
{
	struct capture_loop *l = watch_container(w, struct capture_loop, pods_w);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;

	(void)events;
	for (int i = 0; i < 64 && read(w->fd, buf, sizeof(buf)) > 0; i++)
		changed = true;
	if (changed)
		pipeline_owners_refresh_names(l->run.pipeline);
}

/* Watch the pod log directory (a missing one is looked up again on a miss, once a second). */
static void watch_pods(struct capture_loop *l, const char *dir)
{
	l->pods_w = (struct watch){ .fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), .handle = on_pods };
	if (l->pods_w.fd < 0)
		return;
	if (inotify_add_watch(l->pods_w.fd, dir, IN_CREATE | IN_DELETE | IN_MOVED_TO |
				IN_MOVED_FROM | IN_ONLYDIR) < 0 ||
	    watch_add(l->epfd, &l->pods_w, EPOLLIN) < 0) {
		close(l->pods_w.fd);
		l->pods_w.fd = -1;
	}
}

static void on_scanned(void *ctx, const struct fl_sock_owner *ev)
{
	pipeline_owner_scanned(ctx, ev);
}

/*
 * The /proc scan: a whole one at start (still privileged), then at most one a
 * second while local endpoints miss an owner, SCAN_SLICE_NS of it per tick so
 * that a node with many processes never stalls the packet loop.
 */
static void scan_sockets(struct capture_loop *l, uint64_t now)
{
	if (!l->scan)
		return;
	if (procscan_busy(l->scan)) {
		procscan_step(l->scan, SCAN_SLICE_NS, on_scanned, l->run.pipeline);
		return;
	}
	if (l->last_scan_ns && now - l->last_scan_ns < SCAN_EVERY_NS)
		return;
	if (l->last_scan_ns && !pipeline_owners_want_scan(l->run.pipeline))
		return;
	bool first = !l->last_scan_ns;
	l->last_scan_ns = now;
	l->run.stats.attribution.scans++;
	if (first)
		procscan_run(l->scan, on_scanned, l->run.pipeline);
	else if (procscan_begin(l->scan) == 0)
		procscan_step(l->scan, SCAN_SLICE_NS, on_scanned, l->run.pipeline);
}

static void on_timer(struct watch *w, uint32_t events)
{
	struct capture_loop *l = watch_container(w, struct capture_loop, timer_w);
	uint64_t expirations, now;

	(void)events;
	if (read(w->fd, &expirations, sizeof(expirations)) < 0)
		return;
	/* The eBPF programs wake us only for bulk: the timer collects the rest. */
	uint64_t t0 = loop_clock_ns(), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	l->src->ops->poll(l->src);
	l->poll_ns = loop_clock_ns() - t0;
	l->poll_cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	now = capture_now_ns();
	uint64_t c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID), worst = 0;
	pipeline_tick(l->run.pipeline, now);
	timer_phase(l, "timer: flow timers and expiry", &c1, &worst);
	scan_sockets(l, now);
	timer_phase(l, "timer: /proc socket scan", &c1, &worst);
	if (++l->ticks % STATS_EVERY_TICKS == 0) {
		refresh_stats(l);
		report_drops(l);
		timer_phase(l, "timer: stats", &c1, &worst);
		/* -w: an idle capture's last packets reach the disk within a second. */
		if (l->run.recorder) {
			recorder_flush(l->run.recorder);
			run_report_recorder(&l->run);
			timer_phase(l, "timer: recorder flush", &c1, &worst);
		}
	}
	if (l->metrics) {
		metrics_server_run(l->metrics);     /* connection timeouts */
		timer_phase(l, "timer: metrics connections", &c1, &worst);
	}
	if (l->deadline_ns && now >= l->deadline_ns)
		l->stop = true;
	if (l->opts->count && output_printed(l->run.out) >= l->opts->count)
		l->stop = true;
}

static void on_signal(struct watch *w, uint32_t events)
{
	struct capture_loop *l = watch_container(w, struct capture_loop, signal_w);
	struct signalfd_siginfo si;

	(void)events;
	if (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		l->stop = true;
		l->interrupted |= si.ssi_signo == SIGINT;
	}
}

static void on_link_event(struct watch *w, uint32_t events)
{
	struct capture_loop *l = watch_container(w, struct capture_loop, link_w);

	(void)events;
	iface_monitor_read(w->fd, on_link, l);
}

/*
 * The capture filter: AF_PACKET runs it in the kernel; the eBPF backend's
 * packets (and socket events) pass through it in front of the pipeline.
 */
static int open_source(struct capture_loop *l, char *err, size_t errlen)
{
	const char *backend = l->opts->backend ? l->opts->backend : "auto";
	struct capture_params params = {
		.cfg = &l->opts->cfg,
		.xdp = l->opts->hook && strcmp(l->opts->hook, "xdp") == 0,
		.iface_lookup = loop_iface_lookup,
		.lookup_ctx = l,
	};
	int rc;

	if (strcmp(backend, "afpacket") != 0) {
		rc = capture_ebpf_open(&params, &l->src, err, errlen);
		if (rc == 0 || strcmp(backend, "ebpf") == 0)
			return rc;
		pr_warn("eBPF capture unavailable (%s); falling back to AF_PACKET\n", err);
	}
	if (l->filter) {
		char why[256];
		if (pkt_filter_kernel(l->filter, &params.filter, &params.filter_len, why,
				      sizeof(why)) < 0) {
			snprintf(err, errlen, "filter expression '%.200s': %s", l->opts->bpf_filter, why);
			return -EINVAL;
		}
		l->filter_in_kernel = true;
	}
	return capture_afpacket_open(&params, &l->src, err, errlen);
}

static int setup_fds(struct capture_loop *l)
{
	struct itimerspec its = {
		.it_interval = { .tv_nsec = TICK_MS * 1000000l },
		.it_value = { .tv_nsec = TICK_MS * 1000000l },
	};
	sigset_t mask;

	/* A shell starts background jobs with SIGINT ignored; we still want to stop cleanly on it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->signal_w = (struct watch){ .fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK),
				      .handle = on_signal };
	l->timer_w = (struct watch){ .fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
				     .handle = on_timer };
	l->link_w = (struct watch){ .fd = iface_monitor_open(), .handle = on_link_event };
	if (l->epfd < 0 || l->signal_w.fd < 0 || l->timer_w.fd < 0 || l->link_w.fd < 0)
		return -errno;
	if (timerfd_settime(l->timer_w.fd, 0, &its, NULL) < 0 ||
	    watch_add(l->epfd, &l->signal_w, EPOLLIN) < 0 ||
	    watch_add(l->epfd, &l->timer_w, EPOLLIN) < 0 ||
	    watch_add(l->epfd, &l->link_w, EPOLLIN) < 0)
		return -errno;
	return 0;
}

static void close_fds(struct capture_loop *l)
{
	struct watch *ws[] = { &l->signal_w, &l->timer_w, &l->link_w };

	for (unsigned i = 0; i < sizeof(ws) / sizeof(ws[0]); i++)
		if (ws[i]->fd >= 0)
			close(ws[i]->fd);
	if (l->epfd >= 0)
		close(l->epfd);
}

static int attach_all(struct capture_loop *l)
{
	unsigned attached = 0;

	for (unsigned i = 0; i < l->opts->n_interfaces; i++) {
		bool found = false;
		for (unsigned k = 0; k < l->n_ifaces; k++)
			found |= strcmp(l->ifaces[k].name, l->opts->interfaces[i]) == 0;
		if (!found) {
			fprintf(stderr, "faultline: interface '%s' does not exist\n",
				l->opts->interfaces[i]);
			return 1;
		}
	}
	for (unsigned i = 0; i < l->n_ifaces; i++) {
		if (!wanted(l, &l->ifaces[i]))
			continue;
		int err = attach_one(l, &l->ifaces[i]);
		if (err && l->opts->n_interfaces)
			return 1;   /* an interface the user named must work */
		attached += !err;
	}
	if (!attached && !l->opts->n_interfaces)
		pr_warn("no interface is up yet; waiting for one\n");
	return 0;
}

static void detach_all(struct capture_loop *l)
{
	for (unsigned i = 0; i < l->n_ifaces; i++)
		if (l->ifaces[i].attached)
			l->src->ops->detach(l->src, &l->ifaces[i]);
}

struct span {
	uint64_t wall, cpu;       /* cpu 0: not measured (a syscall: only where it may matter) */
};

static struct span span_begin(bool cpu)
{
	return (struct span){ loop_clock_ns(), cpu ? clock_ns(CLOCK_THREAD_CPUTIME_ID) : 0 };
}

/* The end of something that kept the loop from packets: the longest is reported. */
static void stalled(struct capture_loop *l, struct span s, uint64_t minus_wall, uint64_t minus_cpu,
		    const char *what)
{
	uint64_t wall = loop_clock_ns() - s.wall - minus_wall;
	uint64_t cpu = s.cpu ? clock_ns(CLOCK_THREAD_CPUTIME_ID) - s.cpu - minus_cpu : 0;

	if (wall > l->longest_stall_ns) {
		l->longest_stall_ns = wall;
		l->longest_stall_in = what;
	}
	if (cpu > l->longest_stall_cpu_ns) {
		l->longest_stall_cpu_ns = cpu;
		l->longest_stall_cpu_in = what;
	}
}

static const char *watch_name(const struct capture_loop *l, const struct watch *w)
{
	if (w == &l->timer_w)
		return l->timer_phase ? l->timer_phase : "timer";
	return w == &l->signal_w ? "signal" :
	       w == &l->link_w ? "link" : w == &l->metrics_w ? "metrics" : "control socket";
}

/*
 * One epoll loop.  After each batch of events the control socket runs one
 * bounded slice of query work (and frees the clients that left during the
 * batch); while it has more, the loop polls without sleeping.  Every handler
 * but the packet source's is timed: the longest is capture.longest_stall_us.
 */
static void run_loop(struct capture_loop *l)
{
	struct epoll_event evs[32];
	bool busy = false;

	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, 32, busy ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("epoll_wait: %s\n", strerror(errno));
			l->status = 1;
			break;
		}
		bool control = busy;   /* anything but packets in this batch */
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w == &l->source_w) {
				w->handle(w, evs[i].events);
				continue;
			}
			struct span s = span_begin(true);
			l->poll_ns = l->poll_cpu_ns = 0;
			w->handle(w, evs[i].events);
			stalled(l, s, l->poll_ns, l->poll_cpu_ns, watch_name(l, w));
			control = true;
		}
		struct span s = span_begin(control || ctl_serving(l->ctl));
		busy = ctl_run(l->ctl);
		stalled(l, s, 0, 0, "control socket work");
	}
}

/* -D: one line per interface, as tcpdump -D prints them. */
static void list_one(void *ctx, const struct iface_link *link, bool removed)
{
	(void)ctx;
	if (removed)
		return;
	bool up = (link->flags & IFF_UP) != 0, running = (link->flags & IFF_RUNNING) != 0;
	bool loopback = (link->flags & IFF_LOOPBACK) != 0;

	printf("%d.%s [%s%s%s%s]", link->ifindex, link->name, up ? "Up" : "Down",
	       running ? ", Running" : "", loopback ? ", Loopback" : "",
	       link->type == ARPHRD_NONE ? ", raw IP" : "");
	if (loopback)
		printf(" (captured only when named: -i %s)", link->name);
	putchar('\n');
}

static int list_interfaces(void)
{
	int rc = iface_dump(list_one, NULL);

	if (rc < 0) {
		fprintf(stderr, "faultline capture: listing the network interfaces: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}

static int capture_main(const struct capture_loop *l, const struct cli_opts *opts);

static int drop_privs_on_thread(void *ctx)
{
	char err[256];

	(void)ctx;
	return privs_drop_after_load(err, sizeof(err));
}

int cmd_capture(int argc, char **argv)
{
	struct capture_loop l = { .epfd = -1, .last_hit = -1 };
	struct cli_opts opts;
	int rc;

	l.signal_w.fd = l.timer_w.fd = l.link_w.fd = -1;
	fl_log_init();
	/* Entries are reported as they happen, also into a pipe or a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = cli_parse(argc, argv, true, &opts);
	if (rc) {
		cli_opts_free(&opts);
		return rc == 1 ? 0 : rc;
	}
	if (opts.list_interfaces)
		rc = list_interfaces();
	else
		rc = capture_main(&l, &opts);
	cli_opts_free(&opts);
	return rc;
}

static int capture_main(const struct capture_loop *lp, const struct cli_opts *o)
{
	struct capture_loop l = *lp;
	const struct cli_opts opts = *o;

	pthread_mutex_init(&l.if_lock, NULL);
	char err[512] = "";
	int rc;

	l.opts = &opts;
	if (opts.bpf_filter) {
		l.filter = pkt_filter_new(opts.bpf_filter, opts.cfg.snaplen);
		if (!l.filter) {
			fprintf(stderr, "faultline capture: out of memory\n");
			return 1;
		}
		/* A bad expression is a usage error, said before anything is set up. */
		if (pkt_filter_compile(l.filter, FL_LINK_ETHERNET, err, sizeof(err)) < 0) {
			fprintf(stderr, "faultline capture: filter expression '%s': %s\n"
				"Try 'faultline capture --help'.\n", opts.bpf_filter, err);
			pkt_filter_free(l.filter);
			return 2;
		}
	}

	if ((rc = setup_fds(&l)) < 0) {
		fprintf(stderr, "faultline: setting up the event loop: %s\n", strerror(-rc));
		close_fds(&l);
		return 1;
	}
	if ((rc = iface_dump(on_link, &l)) < 0) {
		fprintf(stderr, "faultline: listing the network interfaces: %s\n", strerror(-rc));
		close_fds(&l);
		return 1;
	}
	if (open_source(&l, err, sizeof(err)) < 0) {
		fprintf(stderr, "faultline: %s\n", err);
		pkt_filter_free(l.filter);
		close_fds(&l);
		return 1;
	}
	rc = run_setup(&l.run, &opts, l.src->backend);
	if (rc) {
		pkt_filter_free(l.filter);
		l.src->ops->close(l.src);
		close_fds(&l);
		return rc;
	}
	l.run.pkt_filter = l.filter;     /* freed with the run */
	l.src->out = pipeline_packet_sink(l.run.pipeline);
	pipeline_set_payload_control(l.run.pipeline, &l.src->ctl);
	if (l.filter && !l.filter_in_kernel) {
		pkt_filter_set_next(l.filter, l.src->out);
		l.src->out = pkt_filter_sink(l.filter);
	}
	struct stat ns;
	if (stat("/proc/self/ns/net", &ns) == 0)
		pipeline_set_netns(l.run.pipeline, ns.st_ino);
	pipeline_set_ifname(l.run.pipeline, loop_ifname, &l);
	/* Socket owners come from the eBPF socket tracepoints. */
	struct cgroup_resolver *cgroups = NULL;
	if (!strncmp(l.src->backend, "ebpf", 4)) {
		char notice[256];
		cgroups = cgroup_resolver_new(opts.cfg.pod_log_dir, notice, sizeof(notice));
		if (notice[0])
			fprintf(stderr, "faultline capture: %s\n", notice);
		if (!cgroups || pipeline_enable_owners(l.run.pipeline, cgroup_resolve, cgroups) < 0)
			fprintf(stderr, "faultline capture: no memory for socket owners: entries "
				"carry no process\n");
		else
			watch_pods(&l, opts.cfg.pod_log_dir);
		/* Sockets opened before now: scanned once here, while still privileged. */
		if (l.run.pipeline && (l.scan = procscan_new(opts.cfg.max_sockets, &l.run.stats)))
			scan_sockets(&l, capture_now_ns());
	}
	l.run.stats.capture.backend = l.src->backend;
	l.run.stats.capture.start_ns = capture_now_ns();
	l.run.stats.capture.now_ns = l.run.stats.capture.start_ns;

	l.ctl = ctl_open(opts.socket_path ? opts.socket_path : CTL_DEFAULT_SOCKET, opts.socket_group,
			 l.epfd, &l.run.stats, describe_stats, &l, err, sizeof(err));
	if (!l.ctl) {
		fprintf(stderr, "faultline: control socket: %s\n", err);
		l.status = 1;
		goto out;
	}
	pipeline_add_sink(l.run.pipeline, ctl_entry_sink(l.ctl));
	pipeline_add_sink(l.run.pipeline, metrics_entry_sink(&l.entry_counts));

	if (opts.metrics_listen) {
		l.metrics = metrics_server_start(opts.metrics_listen, describe_stats, attached_count, &l,
						 err, sizeof(err));
		l.metrics_w = (struct watch){ .fd = l.metrics ? metrics_server_fd(l.metrics) : -1,
					      .handle = on_metrics };
		if (!l.metrics) {
			fprintf(stderr, "faultline: %s\n", err);
			l.status = 2;   /* the address the user gave: a usage error */
			goto out;
		}
		if (l.metrics_w.fd < 0 || watch_add(l.epfd, &l.metrics_w, EPOLLIN) < 0) {
			fprintf(stderr, "faultline: metrics: %s\n", strerror(errno));
			l.status = 1;
			goto out;
		}
	}

	if ((l.status = attach_all(&l)) != 0)
		goto out;
	expect_interfaces(&l);
	l.source_w = (struct watch){ .fd = l.src->fd, .handle = on_source };
	if (watch_add(l.epfd, &l.source_w, EPOLLIN) < 0) {
		fprintf(stderr, "faultline: watching the capture source: %s\n", strerror(errno));
		l.status = 1;
		goto out;
	}
	/* Loaded and attached: keep only what attaching later interfaces and detaching need.
	 * Capabilities are per thread: the --workers threads, which parse the packets, drop
	 * them too. */
	if (privs_drop_after_load(err, sizeof(err)) < 0)
		pr_warn("could not drop capabilities: %s\n", err);
	else if (pipeline_on_threads(l.run.pipeline, drop_privs_on_thread, NULL) < 0)
		pr_warn("could not drop capabilities on the worker threads\n");
	if (opts.duration_s > 0)
		l.deadline_ns = l.run.stats.capture.start_ns + (uint64_t)(opts.duration_s * 1e9);
	pr_info("capturing on %u interface%s with %s; Ctrl-C to stop\n",
		l.run.stats.capture.n_interfaces, l.run.stats.capture.n_interfaces == 1 ? "" : "s",
		l.src->backend);
	run_loop(&l);

out:
	/* Detach first, so the host is clean whatever happens next. */
	detach_all(&l);
	l.src->ops->poll(l.src);
	refresh_stats(&l);
	/* Ctrl-C on a terminal, or any end with --summary. */
	l.run.print_summary = l.interrupted || opts.summary > 0;
	if (run_finish(&l.run) && !l.status)
		l.status = 1;         /* the recording failed (already said why) */
	ctl_close(l.ctl);
	metrics_server_stop(l.metrics);
	l.src->ops->close(l.src);
	cgroup_resolver_free(cgroups);
	procscan_free(l.scan);
	if (l.pods_w.fd > 0)
		close(l.pods_w.fd);
	close_fds(&l);
	return l.status;
}
