// SPDX-License-Identifier: MIT
/*
 * The eBPF capture source: capture.bpf.c on tc (or XDP for ingress) of each
 * chosen interface feeding one ring buffer per CPU, and socktrace.bpf.c on the
 * TCP tracepoints feeding another.  The packet rings are merged here in
 * capture-time order into the pipeline, on one epoll descriptor with the
 * socket events.
 *
 * The programs are attached with BPF links (tcx on Linux >= 6.6, XDP links
 * since 5.9): a link lives as long as its file descriptor, so the kernel
 * detaches everything when faultline dies, even by SIGKILL or the OOM killer.
 * On older kernels (or with FAULTLINE_ATTACH=netlink) they are attached over
 * netlink as tc filters on a clsact qdisc and XDP programs, which outlive the
 * process: those are written down in a state file, and the next run or
 * `faultline cleanup` removes what a killed run left.
 */
#include "source/capture.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <netinet/tcp.h>         /* TCP_CLOSE_WAIT: the kernel's state numbers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.skel.h"
#include "source/iface.h"
#include "source/kdrops.h"
#include "core/log.h"
#include "socktrace.skel.h"
#include "report/stats.h"
#include "source/sockowner.h"

#define STATE_DIR "/run/faultline"
#define MAX_CREATED 64
/* enum bpf_attach_type of Linux 6.6 (tcx), newer than the uapi headers of Debian 12. */
#define FL_BPF_TCX_INGRESS 46
#define FL_BPF_TCX_EGRESS 47

enum { LINK_TC_INGRESS, LINK_TC_EGRESS, LINK_XDP, LINK_MAX };
/* Records handed to the pipeline per poll, so the loop gets back to its timer under load. */
#define POLL_BUDGET 65536

/*
 * One packet ring buffer, read directly (libbpf's reader hands out one
 * ring's records after another; the merge below needs to look at each
 * ring's next record first).  Layout: a consumer page we write, then the
 * producer page and the data pages mapped twice (a record never wraps).
 */
struct pkt_ring {
	int fd;
	unsigned long *consumer;
	const unsigned long *producer;
	const uint8_t *data;
	size_t mask;              /* data size - 1 */
	size_t map_len;           /* of producer + data */
	unsigned long prod;       /* producer position seen at this poll's start */
};

struct ebpf_source {
	struct capture_source base;
	struct capture_params params;
	struct capture_bpf *cap;
	struct socktrace_bpf *trace;          /* NULL when the tracepoints are unavailable */
	struct ring_buffer *rb;               /* the socket events (NULL without them) */
	struct pkt_ring *rings;               /* the packet rings, one per CPU */
	unsigned n_rings;
	int epoll_fd;                         /* every packet ring and rb: the source's fd */
	struct kdrops *drops;                 /* skb:kfree_skb; NULL when unavailable */
	struct ring_buffer *owners_rb;        /* socket owners: read before every packet */
	struct sockowner *udp_owners;         /* UDP socket owners (cgroup hooks); NULL without */
	int lock_fd;                          /* held while we run: one eBPF capture per netns */
	int64_t clock_offset;
	unsigned budget;
	/* Last kernel counter values folded into the stats. */
	uint64_t last_drops;
	uint64_t waits_counted[FL_KCNT_MAX];  /* CLOSE_WAIT/LAST_ACK counted from userspace */
	/* clsact qdiscs we created, remembered in a state file for a later run. */
	struct { int ifindex; char name[IF_NAMESIZE]; } created[MAX_CREATED];
	unsigned n_created;
	/* XDP programs we attached (same file): a later run detaches them by interface. */
	struct { int ifindex; char name[IF_NAMESIZE]; __u32 prog_id; } xdp[MAX_CREATED];
	unsigned n_xdp;
	/* BPF links per interface (-1: none); closing one detaches its program. */
	struct { int ifindex; int fd[LINK_MAX]; } links[FL_MAX_INTERFACES];
	unsigned n_links;
	bool netlink;                         /* attach over netlink: no links here */
	bool links_work;                      /* a link was created: failures are not the kernel's age */
	int skips_fd;                         /* capture's `skips` map (tap.skipPayload) */
	uint64_t skip_updates, skip_failed;   /* map writes asked for, and those that failed */
	uint64_t copied_bytes;                /* record bytes read from the rings (header + captured) */
};

int64_t capture_clock_offset(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000ll + (real.tv_nsec - mono.tv_nsec);
}

uint64_t capture_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- payload skipping: the stream layer's requests into the `skips` map ---- */

static void skip_key(const struct fl_skip *sk, struct fl_skip_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, sk->saddr, sizeof(k->saddr));
	memcpy(k->daddr, sk->daddr, sizeof(k->daddr));
	k->sport = htons(sk->sport);
	k->dport = htons(sk->dport);
	k->family = sk->family;
}

/*
 * One map write per request: the stream layer asks once per message body
 * (or once per unclaimed flow), not per packet.  A failed write only means
 * the bytes are copied after all.
 */
static void skip_set(void *ctx, const struct fl_skip *sk)
{
	struct ebpf_source *s = ctx;
	struct fl_skip_key k;
	struct fl_skip_val v = { .from = sk->from, .to = sk->to,
				 .flags = sk->all ? FL_SKIP_ALL : 0 };

	skip_key(sk, &k);
	/* --workers: each worker's stream layer asks from its own thread */
	__atomic_fetch_add(&s->skip_updates, 1, __ATOMIC_RELAXED);
	if (bpf_map_update_elem(s->skips_fd, &k, &v, BPF_ANY))
		__atomic_fetch_add(&s->skip_failed, 1, __ATOMIC_RELAXED);
}

static void skip_forget(void *ctx, const struct fl_skip *sk)
{
	struct ebpf_source *s = ctx;
	struct fl_skip_key k;

	skip_key(sk, &k);
	bpf_map_delete_elem(s->skips_fd, &k);
}

/* ---- the state file: clsact qdiscs this run created, per network namespace ---- */

static unsigned long netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static void state_path(char *buf, size_t len)
{
	snprintf(buf, len, STATE_DIR "/qdiscs-%lu", netns_ino());
}

static void lock_path(char *buf, size_t len)
{
	snprintf(buf, len, STATE_DIR "/ebpf-%lu.lock", netns_ino());
}

/*
 * The tc handle and priority are fixed, so two eBPF captures in one network
 * namespace would take each other's filters: a lock (released by the kernel
 * even on SIGKILL) lets one run, and tells a new run that attachments it
 * finds belong to a dead one.  fd, or -EBUSY when another capture holds it.
 */
static int take_lock(char *failed, size_t failed_len)
{
	char path[128];
	struct stat held, named;

	if (mkdir(STATE_DIR, 0755) < 0 && errno != EEXIST) {
		int e = -errno;
		snprintf(failed, failed_len, "%s", STATE_DIR);
		return e;
	}
	lock_path(path, sizeof(path));
	snprintf(failed, failed_len, "%s", path);
	/* The file is removed on exit: retry if it went away between open and flock. */
	for (int attempt = 0; attempt < 8; attempt++) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno == EWOULDBLOCK ? -EBUSY : -errno;
			close(fd);
			return e;
		}
		if (fstat(fd, &held) == 0 && stat(path, &named) == 0 && held.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
	return -EBUSY;
}

static void release_lock(int fd)
{
	char path[128];

	lock_path(path, sizeof(path));
	unlink(path);
	close(fd);
}

static void state_write(const struct ebpf_source *s)
{
	char path[128], tmp[160];
	FILE *f;

	state_path(path, sizeof(path));
	if (s->n_created == 0 && s->n_xdp == 0) {
		unlink(path);
		return;
	}
	mkdir(STATE_DIR, 0755);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		pr_debug("cannot write %s: %s\n", tmp, strerror(errno));
		return;
	}
	for (unsigned i = 0; i < s->n_created; i++)
		fprintf(f, "%d %s\n", s->created[i].ifindex, s->created[i].name);
	for (unsigned i = 0; i < s->n_xdp; i++)
		fprintf(f, "xdp %d %s %u\n", s->xdp[i].ifindex, s->xdp[i].name, s->xdp[i].prog_id);
	if (fclose(f) == 0)
		rename(tmp, path);
}

static bool prog_is_ours(__u32 id, const char *prefix)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool ours = false;

	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
		ours = strncmp(info.name, prefix, strlen(prefix)) == 0;
	close(fd);
	return ours;
}

/*
 * A tc filter of ours: the fixed handle and priority, and the name libbpf gave
 * it when a faultline attached it ("fl_tc_ingress:[ID]").  Read from the
 * filter dump, which needs only CAP_NET_ADMIN (looking the program up by id
 * needs CAP_SYS_ADMIN).  Anything else on the hook is someone else's.
 */
static bool filter_is_ours(const struct iface_tc_filter *f)
{
	return f->handle == FL_TC_HANDLE && f->prio == FL_TC_PRIORITY && strcmp(f->kind, "bpf") == 0 &&
	       strncmp(f->bpf_name, FL_PROG_PREFIX "tc_", strlen(FL_PROG_PREFIX "tc_")) == 0;
}

static bool has_our_filter(int ifindex, bool ingress)
{
	struct iface_tc_filter fs[16];
	int n = iface_tc_filters(ifindex, ingress, fs, 16);

	for (int i = 0; i < n && i < 16; i++)
		if (filter_is_ours(&fs[i]))
			return true;
	return false;
}

/* Destroy the clsact qdisc of ifindex if no filter is left on it. */
static void destroy_qdisc_if_empty(int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	if (iface_tc_filter_count(ifindex, true) == 0 && iface_tc_filter_count(ifindex, false) == 0)
		bpf_tc_hook_destroy(&hook);
}

static int detach_tc_filter(int ifindex, enum bpf_tc_attach_point where, bool only_ours)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FL_TC_HANDLE, .priority = FL_TC_PRIORITY);

	if (only_ours && !has_our_filter(ifindex, where == BPF_TC_INGRESS))
		return 0;
	if (bpf_tc_query(&hook, &opts) < 0)
		return 0;
	opts.prog_id = 0;
	opts.prog_fd = 0;
	opts.flags = 0;
	return bpf_tc_detach(&hook, &opts) == 0 ? 1 : 0;
}

/*
 * Detach the XDP program on ifindex if it is still the one a dead run
 * recorded.  By interface, over netlink: that needs only CAP_NET_ADMIN, where
 * looking the program up by id (to read its name) needs CAP_SYS_ADMIN, which
 * the service does not have.  1 if detached.
 */
static int detach_recorded_xdp(int ifindex, const char *name, __u32 prog_id)
{
	struct bpf_xdp_query_opts q = { .sz = sizeof(q) };
	__u32 mode;

	if (if_nametoindex(name) != (unsigned)ifindex || bpf_xdp_query(ifindex, 0, &q) < 0 ||
	    !q.prog_id || q.prog_id != prog_id)
		return 0;
	mode = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
	       q.attach_mode == XDP_ATTACHED_DRV ? XDP_FLAGS_DRV_MODE : 0;
	return bpf_xdp_detach(ifindex, mode, NULL) == 0 ? 1 : 0;
}

static int cleanup_leftovers(void)
{
	struct if_nameindex *ifs = if_nameindex();
	char path[128], line[128], name[IF_NAMESIZE + 1];
	int removed = 0, ifindex;
	__u32 prog_id;
	FILE *f;

	/* What the dead run wrote down: its clsact qdiscs and XDP programs. */
	state_path(path, sizeof(path));
	f = fopen(path, "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "xdp %d %16s %u", &ifindex, name, &prog_id) == 3)
				removed += detach_recorded_xdp(ifindex, name, prog_id);
		}
		rewind(f);
	}

	for (struct if_nameindex *i = ifs; i && i->if_index; i++) {
		struct bpf_xdp_query_opts q = { .sz = sizeof(q) };

		removed += detach_tc_filter((int)i->if_index, BPF_TC_INGRESS, true);
		removed += detach_tc_filter((int)i->if_index, BPF_TC_EGRESS, true);
		/* A run that wrote nothing down (killed mid-attach, or older): by name, where we may look. */
		if (bpf_xdp_query((int)i->if_index, 0, &q) == 0 && q.prog_id &&
		    prog_is_ours(q.prog_id, FL_PROG_PREFIX "xdp")) {
			__u32 mode = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE :
				     q.attach_mode == XDP_ATTACHED_DRV ? XDP_FLAGS_DRV_MODE : 0;
			if (bpf_xdp_detach((int)i->if_index, mode, NULL) == 0)
				removed++;
		}
	}
	if (ifs)
		if_freenameindex(ifs);

	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%d %16s", &ifindex, name) == 2 &&
			    if_nametoindex(name) == (unsigned)ifindex)
				destroy_qdisc_if_empty(ifindex);
		fclose(f);
		unlink(path);
	}
	return removed;
}

int capture_ebpf_cleanup_leftovers(void)
{
	return cleanup_leftovers();
}

int capture_ebpf_cleanup_netns(char *msg, size_t msglen)
{
	char failed[128] = "";
	int fd = take_lock(failed, sizeof(failed)), removed;

	if (fd == -EBUSY) {
		snprintf(msg, msglen, "a faultline capture is running in this network namespace");
		return -EBUSY;
	}
	/* No state directory we may write: no capture of ours could have run with it either. */
	if (fd < 0)
		pr_debug("%s: %s; cleaning up without the lock\n", failed, strerror(-fd));
	removed = cleanup_leftovers();
	if (fd >= 0)
		release_lock(fd);
	return removed;
}

/* ---- the rings ---- */

static int on_owner(void *ctx, void *data, size_t size)
{
	struct ebpf_source *s = ctx;
	const struct fl_sock_owner *o = data;

	if (size >= sizeof(*o) && s->base.out.owner_event)
		s->base.out.owner_event(s->base.out.ctx, o, o->ts_ns + (uint64_t)s->clock_offset);
	return 0;
}

static void deliver(struct ebpf_source *s, const struct fl_ring_pkt *r, size_t size)
{
	const struct capture_iface *ifc;
	struct fl_packet pkt;

	if (size < sizeof(*r) || r->caplen > size - sizeof(*r))
		return;
	s->copied_bytes += sizeof(*r) + r->caplen;
	/*
	 * The owner of a socket is sent before its first packet (in connect()
	 * or listen()): read those first.  An empty ring costs two memory
	 * reads, no syscall.
	 */
	if (s->owners_rb)
		ring_buffer__consume(s->owners_rb);
	ifc = s->params.iface_lookup(s->params.lookup_ctx, (int)r->ifindex);
	pkt = (struct fl_packet){
		.ts_ns = r->ts_ns + (uint64_t)s->clock_offset,
		.data = (const uint8_t *)(r + 1),
		.caplen = r->caplen,
		.len = r->len,
		.linktype = ifc && ifc->type == ARPHRD_NONE ? FL_LINK_RAW : FL_LINK_ETHERNET,
		.ifindex = r->ifindex,
		.direction = r->direction,
	};
	s->base.out.packet(s->base.out.ctx, &pkt);
}

/* The ring's next committed record (discarded ones skipped), or NULL: empty or still being written. */
static const struct fl_ring_pkt *ring_head(struct pkt_ring *r, uint32_t *len, bool *busy)
{
	unsigned long cons = __atomic_load_n(r->consumer, __ATOMIC_RELAXED);

	*busy = false;
	while (cons < r->prod) {
		const uint32_t *hdr = (const uint32_t *)(r->data + (cons & r->mask));
		uint32_t h = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		if (h & BPF_RINGBUF_BUSY_BIT) {
			*busy = true;
			return NULL;
		}
		*len = h & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		if (!(h & BPF_RINGBUF_DISCARD_BIT))
			return (const struct fl_ring_pkt *)(hdr + 2);
		cons += (*len + BPF_RINGBUF_HDR_SZ + 7) & ~7ul;
		__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void ring_pop(struct pkt_ring *r, uint32_t len)
{
	unsigned long cons = __atomic_load_n(r->consumer, __ATOMIC_RELAXED);

	__atomic_store_n(r->consumer, cons + ((len + BPF_RINGBUF_HDR_SZ + 7) & ~7ul),
			 __ATOMIC_RELEASE);
}

/*
 * Drain the per-CPU rings as one stream in capture-time order: each step
 * hands on the earliest of the rings' next records (bpf_ktime_get_ns() is
 * one clock for every CPU).  Per-flow order is what the trackers need;
 * with RSS/RPS a flow's packets come on one CPU and its ring keeps their
 * order, and when a flow's directions are on two CPUs (the egress on the
 * sender's CPU, the ingress where the NIC's queue is served) the merge
 * restores it.  Only what was committed when the poll began is merged, and
 * the merge stops at a record still being written (a later record on
 * another ring must not overtake it), so a reorder needs a record whose
 * reservation began before, and ended after, this poll's snapshot; the
 * pipeline counts any as packets.time_reversals.
 */
static void drain_rings(struct ebpf_source *s)
{
	for (unsigned i = 0; i < s->n_rings; i++)
		s->rings[i].prod = __atomic_load_n(s->rings[i].producer, __ATOMIC_ACQUIRE);
	while (s->budget < POLL_BUDGET) {
		const struct fl_ring_pkt *best = NULL;
		uint32_t best_len = 0;
		unsigned best_i = 0;
		for (unsigned i = 0; i < s->n_rings; i++) {
			uint32_t len;
			bool busy;
			const struct fl_ring_pkt *r = ring_head(&s->rings[i], &len, &busy);
			if (busy)
				return;        /* the next poll goes on from here */
			if (r && (!best || r->ts_ns < best->ts_ns)) {
				best = r;
				best_len = len;
				best_i = i;
			}
		}
		if (!best)
			return;
		deliver(s, best, best_len);
		ring_pop(&s->rings[best_i], best_len);
		s->budget++;
	}
}

static int on_sock_event(void *ctx, void *data, size_t size)
{
	struct ebpf_source *s = ctx;
	const struct fl_sock_event *ev = data;

	if (size < sizeof(*ev))
		return 0;
	s->base.out.sock_event(s->base.out.ctx, ev, ev->ts_ns + (uint64_t)s->clock_offset);
	return ++s->budget >= POLL_BUDGET ? -EAGAIN : 0;
}

static void ebpf_poll(struct capture_source *base)
{
	struct ebpf_source *s = (struct ebpf_source *)base;

	s->budget = 0;
	/* Follow the wall clock if it is stepped or slewed while we run. */
	s->clock_offset = capture_clock_offset();
	if (s->owners_rb)
		ring_buffer__consume(s->owners_rb);
	/* Socket events first: a RST the kernel sent is in its ring before the packet is in
	 * ours, so the entry the packet makes can carry it. */
	if (s->rb)
		ring_buffer__consume(s->rb);
	drain_rings(s);
	kdrops_poll(s->drops, &s->base.out, s->clock_offset);
}

/* ---- attach / detach ---- */

static void remember_qdisc(struct ebpf_source *s, const struct capture_iface *ifc)
{
	if (s->n_created >= MAX_CREATED)
		return;
	s->created[s->n_created].ifindex = ifc->ifindex;
	snprintf(s->created[s->n_created].name, IF_NAMESIZE, "%s", ifc->name);
	s->n_created++;
	state_write(s);
}

static void forget_qdisc(struct ebpf_source *s, int ifindex)
{
	for (unsigned i = 0; i < s->n_created; i++) {
		if (s->created[i].ifindex == ifindex) {
			s->created[i] = s->created[--s->n_created];
			state_write(s);
			return;
		}
	}
}

static void remember_xdp(struct ebpf_source *s, const struct capture_iface *ifc)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (s->n_xdp >= MAX_CREATED ||
	    bpf_obj_get_info_by_fd(bpf_program__fd(s->cap->progs.fl_xdp_ingress), &info, &len) < 0)
		return;
	s->xdp[s->n_xdp].ifindex = ifc->ifindex;
	snprintf(s->xdp[s->n_xdp].name, IF_NAMESIZE, "%s", ifc->name);
	s->xdp[s->n_xdp].prog_id = info.id;
	s->n_xdp++;
	state_write(s);
}

static void forget_xdp(struct ebpf_source *s, int ifindex)
{
	for (unsigned i = 0; i < s->n_xdp; i++) {
		if (s->xdp[i].ifindex == ifindex) {
			s->xdp[i] = s->xdp[--s->n_xdp];
			state_write(s);
			return;
		}
	}
}

static int attach_tc(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FL_TC_HANDLE, .priority = FL_TC_PRIORITY,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);

	return bpf_tc_attach(&hook, &opts);
}

static int find_links(const struct ebpf_source *s, int ifindex)
{
	for (unsigned i = 0; i < s->n_links; i++)
		if (s->links[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

static void close_links(struct ebpf_source *s, unsigned i)
{
	for (int k = 0; k < LINK_MAX; k++)
		if (s->links[i].fd[k] >= 0)
			close(s->links[i].fd[k]);
	s->links[i] = s->links[--s->n_links];
}

/* A BPF link of prog on ifindex: its fd, or -errno. */
static int link_prog(struct bpf_program *prog, int ifindex, int attach_type)
{
	int fd = bpf_link_create(bpf_program__fd(prog), ifindex, (enum bpf_attach_type)attach_type, NULL);

	return fd;   /* libbpf 1.x: -errno on failure */
}

/*
 * tcx links for tc (appended after the programs already there, which keep
 * running: ours returns TC_ACT_UNSPEC, "next"), an XDP link for XDP (refused
 * with -EBUSY over another XDP program).  0 or -errno.
 */
static int attach_links(struct ebpf_source *s, struct capture_iface *ifc)
{
	bool loopback = ifc->flags & IFF_LOOPBACK;
	unsigned i;
	int fd;

	if (s->n_links >= FL_MAX_INTERFACES)
		return -ENOSPC;
	i = s->n_links++;
	s->links[i].ifindex = ifc->ifindex;
	for (int k = 0; k < LINK_MAX; k++)
		s->links[i].fd[k] = -1;
	ifc->attached = true;
	if (s->params.xdp)
		fd = link_prog(s->cap->progs.fl_xdp_ingress, ifc->ifindex, BPF_XDP);
	else
		fd = link_prog(s->cap->progs.fl_tc_ingress, ifc->ifindex, FL_BPF_TCX_INGRESS);
	if (fd < 0)
		goto fail;
	s->links[i].fd[s->params.xdp ? LINK_XDP : LINK_TC_INGRESS] = fd;
	ifc->xdp = s->params.xdp;
	/* On loopback every packet is both sent and received: take it once, on ingress. */
	if (!loopback) {
		fd = link_prog(s->cap->progs.fl_tc_egress, ifc->ifindex, FL_BPF_TCX_EGRESS);
		if (fd < 0)
			goto fail;
		s->links[i].fd[LINK_TC_EGRESS] = fd;
	}
	s->links_work = true;
	return 0;
fail:
	close_links(s, i);
	ifc->attached = false;
	ifc->xdp = false;
	return fd;
}

static void ebpf_detach(struct capture_source *base, struct capture_iface *ifc)
{
	struct ebpf_source *s = (struct ebpf_source *)base;
	int li = find_links(s, ifc->ifindex);

	if (li >= 0) {
		close_links(s, (unsigned)li);
		ifc->attached = false;
		ifc->xdp = false;
		return;
	}
	if (ifc->xdp) {
		DECLARE_LIBBPF_OPTS(bpf_xdp_attach_opts, opts,
				    .old_prog_fd = bpf_program__fd(s->cap->progs.fl_xdp_ingress));
		bpf_xdp_detach(ifc->ifindex, XDP_FLAGS_REPLACE, &opts);
		forget_xdp(s, ifc->ifindex);
	} else {
		detach_tc_filter(ifc->ifindex, BPF_TC_INGRESS, false);
	}
	detach_tc_filter(ifc->ifindex, BPF_TC_EGRESS, false);
	if (ifc->created_qdisc) {
		destroy_qdisc_if_empty(ifc->ifindex);
		forget_qdisc(s, ifc->ifindex);
		ifc->created_qdisc = false;
	}
	ifc->attached = false;
	ifc->xdp = false;
}

static int attach_netlink(struct ebpf_source *s, struct capture_iface *ifc)
{
	struct capture_source *base = &s->base;
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	bool loopback = ifc->flags & IFF_LOOPBACK;
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	if (!err) {
		ifc->created_qdisc = true;
		remember_qdisc(s, ifc);
	}
	ifc->attached = true;   /* so detach undoes a partial attach */
	if (s->params.xdp) {
		/* Not over someone else's XDP program. */
		err = bpf_xdp_attach(ifc->ifindex, bpf_program__fd(s->cap->progs.fl_xdp_ingress),
				     XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (!err) {
			ifc->xdp = true;
			remember_xdp(s, ifc);
		}
	} else {
		err = attach_tc(ifc->ifindex, BPF_TC_INGRESS, bpf_program__fd(s->cap->progs.fl_tc_ingress));
	}
	/* On loopback every packet is both sent and received: take it once, on ingress. */
	if (!err && !loopback)
		err = attach_tc(ifc->ifindex, BPF_TC_EGRESS, bpf_program__fd(s->cap->progs.fl_tc_egress));
	if (err)
		ebpf_detach(base, ifc);
	return err;
}

static int ebpf_attach(struct capture_source *base, struct capture_iface *ifc)
{
	struct ebpf_source *s = (struct ebpf_source *)base;
	int err;

	if (!s->netlink) {
		err = attach_links(s, ifc);
		/* A kernel before tcx (6.6) or XDP links (5.9) says EINVAL: use netlink from now on. */
		if (err != -EINVAL || s->links_work)
			return err;
		pr_info("BPF links unavailable here (%s): attaching over netlink; `faultline cleanup` "
			"removes what a killed capture leaves\n", strerror(-err));
		s->netlink = true;
	}
	return attach_netlink(s, ifc);
}

/* ---- stats ---- */

static uint64_t percpu_sum(int fd, __u32 key, uint64_t *vals)
{
	uint64_t sum = 0;
	int ncpu = libbpf_num_possible_cpus();

	if (bpf_map_lookup_elem(fd, &key, vals) < 0)
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* Sockets that have waited in CLOSE_WAIT/LAST_ACK past the timeout and still wait: count them once. */
static void count_long_waits(struct ebpf_source *s)
{
	int fd = bpf_map__fd(s->trace->maps.waits);
	uint64_t wait_ns = s->params.cfg->stream_timeout_ms * 1000000ull, now = monotonic_ns();
	__u64 key, next, *prev = NULL;
	struct fl_sock_wait w;

	for (int i = 0; i < 65536 && bpf_map_get_next_key(fd, prev, &next) == 0; i++) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &w) < 0 || w.counted || now - w.since_ns < wait_ns)
			continue;
		w.counted = 1;
		if (bpf_map_update_elem(fd, &key, &w, BPF_EXIST) == 0)
			s->waits_counted[w.state == TCP_CLOSE_WAIT ? FL_KCNT_CLOSE_WAIT : FL_KCNT_LAST_ACK]++;
	}
}

static void ebpf_update_stats(struct capture_source *base, struct fl_stats *st)
{
	struct ebpf_source *s = (struct ebpf_source *)base;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu > 0 ? ncpu : 1], drops;

	if (ncpu <= 0)
		return;
	drops = percpu_sum(bpf_map__fd(s->cap->maps.counters), FL_CNT_RING_DROPS, vals);
	st->packets.dropped += drops - s->last_drops;
	s->last_drops = drops;
	kdrops_update_stats(s->drops, st);
	if (!s->trace)
		return;
	count_long_waits(s);
	int kfd = bpf_map__fd(s->trace->maps.kcounters);
	st->kernel.syn_sent = percpu_sum(kfd, FL_KCNT_SYN_SENT, vals);
	st->kernel.reset = percpu_sum(kfd, FL_KCNT_RESET, vals);
	st->kernel.close_wait = percpu_sum(kfd, FL_KCNT_CLOSE_WAIT, vals) +
				s->waits_counted[FL_KCNT_CLOSE_WAIT];
	st->kernel.last_ack = percpu_sum(kfd, FL_KCNT_LAST_ACK, vals) +
			      s->waits_counted[FL_KCNT_LAST_ACK];
	int rfd = bpf_map__fd(s->trace->maps.rcounters);
	st->kernel.resets = true;
	for (__u32 i = 0; i < FL_RST_STATES; i++) {
		st->kernel.resets_sent[i] = percpu_sum(rfd, i, vals);
		st->kernel.resets_received[i] = percpu_sum(rfd, FL_RST_STATES + i, vals);
	}
}

static void rings_close(struct ebpf_source *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (unsigned i = 0; i < s->n_rings; i++) {
		struct pkt_ring *r = &s->rings[i];
		if (r->consumer)
			munmap(r->consumer, page);
		if (r->producer)
			munmap((void *)r->producer, r->map_len);
		if (r->fd >= 0)
			close(r->fd);
	}
	free(s->rings);
	s->rings = NULL;
	s->n_rings = 0;
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	s->epoll_fd = -1;
}

/*
 * Create one ring of `bytes` per CPU, put CPU i's at index i of the
 * programs' array of rings, map them, and watch them all (and the socket
 * events) on one epoll descriptor.  0 or -errno.
 */
static int rings_open(struct ebpf_source *s, unsigned n, uint32_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int outer = bpf_map__fd(s->cap->maps.rings);

	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0)
		return -errno;
	s->rings = calloc(n, sizeof(*s->rings));
	if (!s->rings)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		s->rings[i].fd = -1;
	s->n_rings = n;
	for (unsigned i = 0; i < n; i++) {
		struct pkt_ring *r = &s->rings[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		void *p;

		r->fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, bytes, NULL);
		if (r->fd < 0)
			return r->fd;
		if (bpf_map_update_elem(outer, &i, &r->fd, BPF_ANY))
			return -errno;
		p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		r->consumer = p;
		r->map_len = page + 2 * (size_t)bytes;
		p = mmap(NULL, r->map_len, PROT_READ, MAP_SHARED, r->fd, (off_t)page);
		if (p == MAP_FAILED) {
			r->map_len = 0;
			return -errno;
		}
		r->producer = p;
		r->data = (const uint8_t *)p + page;
		r->mask = bytes - 1;
		if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, r->fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

/* The capture programs' own counters, as "capture": {"bpf": {...}}. */
static void ebpf_describe(struct capture_source *base, struct doc *d, uint32_t capture_obj)
{
	static const char *const names[FL_CNT_MAX] = {
		[FL_CNT_PACKETS] = "packets", [FL_CNT_RING_DROPS] = "ring_drops",
		[FL_CNT_PARSE_FAIL] = "parse_failures", [FL_CNT_TCP_SYN] = "tcp_syn",
		[FL_CNT_TCP_SYNACK] = "tcp_synack", [FL_CNT_TCP_RST] = "tcp_rst",
		[FL_CNT_TCP_FIN] = "tcp_fin", [FL_CNT_ICMP_ECHO] = "icmp_echo",
		[FL_CNT_ICMP_UNREACH] = "icmp_unreachable",
		[FL_CNT_ICMP_TIME_EXCEEDED] = "icmp_time_exceeded",
		[FL_CNT_ICMP_OTHER_ERROR] = "icmp_other_error", [FL_CNT_ICMP_OTHER] = "icmp_other",
		[FL_CNT_HTTP_FRAMED] = "http_framed",
	};
	struct ebpf_source *s = (struct ebpf_source *)base;
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(s->cap->maps.counters);
	uint64_t vals[ncpu > 0 ? ncpu : 1];
	uint32_t o;

	if (capture_obj == DOC_NONE || ncpu <= 0)
		return;
	o = doc_add_obj(d, capture_obj, "bpf");
	for (int c = 0; c < FL_CNT_MAX; c++)
		doc_add_int(d, o, names[c], (int64_t)percpu_sum(fd, (__u32)c, vals));
	doc_add_bool(d, o, "socket_tracepoints", s->trace != NULL);
	doc_add_int(d, o, "copied_bytes", (int64_t)s->copied_bytes);
	doc_add_bool(d, o, "skip_payload", s->skips_fd > 0);
	if (s->skips_fd > 0)
		doc_add_int(d, o, "skip_map_failures",
		    (int64_t)__atomic_load_n(&s->skip_failed, __ATOMIC_RELAXED));
}

static void ebpf_close(struct capture_source *base)
{
	struct ebpf_source *s = (struct ebpf_source *)base;

	if (!s)
		return;
	while (s->n_links)
		close_links(s, s->n_links - 1);
	ring_buffer__free(s->rb);
	rings_close(s);
	kdrops_close(s->drops);
	ring_buffer__free(s->owners_rb);
	sockowner_close(s->udp_owners);
	socktrace_bpf__destroy(s->trace);
	capture_bpf__destroy(s->cap);
	if (s->lock_fd >= 0)
		release_lock(s->lock_fd);
	free(s);
}

static const struct capture_source_ops ebpf_ops = {
	.attach = ebpf_attach,
	.detach = ebpf_detach,
	.poll = ebpf_poll,
	.update_stats = ebpf_update_stats,
	.describe = ebpf_describe,
	.close = ebpf_close,
};

/* ---- open ---- */

static void explain(int err, const char *what, char *msg, size_t len)
{
	if (err == -EACCES)
		snprintf(msg, len, "%s: the kernel's verifier rejected them; run with "
			 "FAULTLINE_DEBUG=1 for its log", what);
	else if (err == -EPERM)
		snprintf(msg, len, "%s: not permitted (%s); eBPF capture needs root or CAP_BPF, "
			 "CAP_PERFMON and CAP_NET_ADMIN", what, strerror(-err));
	else if (err == -ENOSYS || err == -EOPNOTSUPP || err == -EINVAL || err == -ENOENT)
		snprintf(msg, len, "%s: the kernel does not support it (%s); run with "
			 "FAULTLINE_DEBUG=1 for libbpf's log", what, strerror(-err));
	else
		snprintf(msg, len, "%s: %s; run with FAULTLINE_DEBUG=1 for libbpf's log", what,
			 strerror(-err));
}

/*
 * Each CPU's ring: tap.ringBufferMb is the total, split between the CPUs
 * (a power of two each), but never less than two records of snaplen bytes.
 */
static uint32_t ring_bytes_per_cpu(uint32_t mb, unsigned ncpu, uint32_t snaplen)
{
	uint64_t want = ((uint64_t)mb << 20) / (ncpu ? ncpu : 1), size = 4096;
	uint64_t floor = 2 * ((uint64_t)snaplen + sizeof(struct fl_ring_pkt) + BPF_RINGBUF_HDR_SZ);

	while (size * 2 <= want && size * 2 <= (1ull << 31))
		size *= 2;
	while (size < floor)
		size *= 2;
	return (uint32_t)size;
}

static struct socktrace_bpf *open_socktrace(const struct fl_config *cfg, bool classic, int *err)
{
	struct socktrace_bpf *t = socktrace_bpf__open();

	if (!t) {
		*err = -errno;
		return NULL;
	}
	t->rodata->wait_ns = cfg->stream_timeout_ms * 1000000ull;
	/* Our own sockets (the metrics endpoint) are known by our tgid in our pid namespace. */
	struct stat pidns;
	if (stat("/proc/self/ns/pid", &pidns) == 0) {
		t->rodata->self_tgid = (__u32)getpid();
		t->rodata->self_pidns_dev = pidns.st_dev;
		t->rodata->self_pidns_ino = pidns.st_ino;
	}
	bpf_program__set_autoload(t->progs.fl_state_btf, !classic);
	bpf_program__set_autoload(t->progs.fl_rrst_btf, !classic);
	bpf_program__set_autoload(t->progs.fl_srst_btf, !classic);
	bpf_program__set_autoload(t->progs.fl_xmit, !classic);
	bpf_program__set_autoload(t->progs.fl_state_tp, classic);
	bpf_program__set_autoload(t->progs.fl_rrst_tp, classic);
	bpf_program__set_autoload(t->progs.fl_srst_tp, classic);
	*err = socktrace_bpf__load(t);
	if (!*err)
		*err = socktrace_bpf__attach(t);
	if (*err) {
		socktrace_bpf__destroy(t);
		return NULL;
	}
	return t;
}

int capture_ebpf_open(const struct capture_params *p, struct capture_source **out,
		      char *msg, size_t msglen)
{
	struct ebpf_source *s = calloc(1, sizeof(*s));
	int ncpu = libbpf_num_possible_cpus(), err;
	unsigned nrings;
	uint32_t per_ring;
	int inner_tmpl;

	if (!s)
		return -ENOMEM;
	s->params = *p;
	s->base.ops = &ebpf_ops;
	s->base.backend = p->xdp ? "ebpf-xdp" : "ebpf-tc";
	s->base.fd = -1;
	s->clock_offset = capture_clock_offset();
	s->lock_fd = -1;
	s->epoll_fd = -1;

	s->cap = capture_bpf__open();
	if (!s->cap) {
		err = -errno;
		explain(err, "opening the capture programs", msg, msglen);
		goto fail;
	}
	s->cap->rodata->snaplen = p->cfg->snaplen;
	/* The payload cap belongs to skipping: off, every byte up to the snaplen is copied. */
	s->cap->rodata->payload_bytes = p->cfg->skip_payload ? p->cfg->payload_bytes : 0;
	s->cap->rodata->skip_enabled = p->cfg->skip_payload ? 1 : 0;
	nrings = ncpu > 0 ? (unsigned)ncpu : 1;
	per_ring = ring_bytes_per_cpu(p->cfg->ring_buffer_mb, nrings, p->cfg->snaplen);
	bpf_map__set_max_entries(s->cap->maps.rings, nrings);
	/* Wake the reader when an eighth of its ring waits (never below 64 kB): each wake-up is
	 * an irq_work and a self-IPI, dear in a VM (bench/README.md); the reader also drains on
	 * its timer, so a quiet ring waits one tick at most. */
	s->cap->rodata->wakeup_bytes = per_ring / 8 > 65536 ? per_ring / 8 : 65536;
	/* The inner maps' template: a ring of the same size (closed once loaded). */
	inner_tmpl = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, per_ring, NULL);
	if (inner_tmpl < 0 || bpf_map__set_inner_map_fd(s->cap->maps.rings, inner_tmpl)) {
		err = inner_tmpl < 0 ? inner_tmpl : -EINVAL;
		if (inner_tmpl >= 0)
			close(inner_tmpl);
		explain(err, "creating the per-CPU ring buffers", msg, msglen);
		goto fail;
	}
	bpf_program__set_autoload(s->cap->progs.fl_xdp_ingress, p->xdp);
	bpf_program__set_autoload(s->cap->progs.fl_tc_ingress, !p->xdp);
	err = capture_bpf__load(s->cap);
	close(inner_tmpl);
	if (err) {
		explain(err, "loading the capture programs", msg, msglen);
		goto fail;
	}

	/* Loaded, so privileged enough: now claim the namespace and clear a killed run's leftovers. */
	char failed[128] = "";
	s->lock_fd = take_lock(failed, sizeof(failed));
	if (s->lock_fd < 0) {
		err = s->lock_fd;
		if (err == -EBUSY)
			snprintf(msg, msglen, "another faultline capture with the eBPF backend is "
				 "running in this network namespace");
		else if (err == -EACCES || err == -EPERM)
			snprintf(msg, msglen, "%s: permission denied (the state directory must be "
				 "writable by the capture)", failed);
		else
			snprintf(msg, msglen, "%s: %s", failed, strerror(-err));
		goto fail;
	}
	const char *attach = getenv("FAULTLINE_ATTACH");
	s->netlink = attach && strcmp(attach, "netlink") == 0;
	int removed = capture_ebpf_cleanup_leftovers();
	if (removed > 0)
		pr_info("removed %d BPF attachment%s left by an earlier run\n", removed,
			removed == 1 ? "" : "s");

	/*
	 * The tracepoints are a second view: without them packets are still
	 * captured.  FAULTLINE_SOCKTRACE=classic skips tp_btf (to test the fallback).
	 */
	const char *force = getenv("FAULTLINE_SOCKTRACE");
	err = -EOPNOTSUPP;
	if (!force || strcmp(force, "classic") != 0)
		s->trace = open_socktrace(p->cfg, false, &err);
	if (!s->trace) {
		pr_debug("tp_btf socket tracepoints failed (%s); trying classic tracepoints\n",
			 strerror(-err));
		s->trace = open_socktrace(p->cfg, true, &err);
	}
	if (s->trace)
		pr_debug("socket tracepoints attached (%s)\n",
			 bpf_program__autoload(s->trace->progs.fl_state_btf) ? "tp_btf" : "classic");
	else
		pr_warn("TCP socket tracepoints unavailable (%s): the kernel counters stay 0\n",
			strerror(-err));

	/* Kernel drops, a third view: without them the rest runs (said once, here). */
	char why[256];
	s->drops = kdrops_open(p->cfg, s->trace ? bpf_map__fd(s->trace->maps.own_listeners) : -1,
			       why, sizeof(why));
	if (!s->drops)
		pr_warn("kernel drop reasons unavailable (%s): running without them\n", why);

	err = rings_open(s, nrings, per_ring);
	if (err) {
		explain(err, "creating the per-CPU ring buffers", msg, msglen);
		goto fail;
	}
	if (s->trace) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = nrings };
		s->rb = ring_buffer__new(bpf_map__fd(s->trace->maps.sock_events), on_sock_event, s,
					 NULL);
		if (!s->rb || epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(s->rb),
					&ev) < 0) {
			err = -errno;
			explain(err, "reading the socket events", msg, msglen);
			goto fail;
		}
	}
	if (s->trace) {
		s->owners_rb = ring_buffer__new(bpf_map__fd(s->trace->maps.owner_events), on_owner,
						s, NULL);
		if (!s->owners_rb) {
			err = -errno;
			explain(err, "reading the socket owners", msg, msglen);
			goto fail;
		}
	}
	if (p->cfg->skip_payload) {
		s->skips_fd = bpf_map__fd(s->cap->maps.skips);
		s->base.ctl = (struct payload_control){ skip_set, skip_forget, s };
	}
	/* UDP owners, from cgroup socket hooks: without them UDP entries name no process. */
	s->udp_owners = sockowner_open(why, sizeof(why));
	if (!s->udp_owners) {
		if (why[0])
			pr_warn("UDP socket owners unavailable (%s): UDP entries name no process\n",
				why);
	} else if (s->owners_rb) {
		if (ring_buffer__add(s->owners_rb, sockowner_ring_fd(s->udp_owners), on_owner, s) < 0) {
			sockowner_close(s->udp_owners);
			s->udp_owners = NULL;
		}
	} else if (!(s->owners_rb = ring_buffer__new(sockowner_ring_fd(s->udp_owners), on_owner, s,
						       NULL))) {
		sockowner_close(s->udp_owners);
		s->udp_owners = NULL;
	}
	s->base.fd = s->epoll_fd;
	*out = &s->base;
	return 0;
fail:
	ebpf_close(&s->base);
	return err;
}
