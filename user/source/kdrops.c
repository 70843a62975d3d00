// SPDX-License-Identifier: MIT
/*
 * Kernel packet drops: load drops.bpf.c, drain its `drops` LRU hash of
 * per-(flow, reason) aggregates (lookup-and-delete in batches, so each drain
 * hands on what happened since the last one), name the reasons from the
 * running kernel's BTF and the drop locations from /proc/kallsyms.
 */
#include "source/kdrops.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "faultline.h"
#include "core/log.h"
#include "source/nsdiag.h"
#include "drops.skel.h"

_Static_assert(FL_STATS_DROP_REASONS == FL_DROP_REASONS, "stats hold every per-reason counter");
_Static_assert(FL_STATS_ERRNOS == FL_ERRNOS, "stats hold every per-errno counter");
_Static_assert(FL_STATS_TCP_STATES == FL_RST_STATES, "stats hold every per-state reset counter");

#define BATCH 256
#define DRAIN_MAX 8192            /* records per drain: the map holds 4096 */
#define DRAIN_EVERY_NS 100000000ull
#define SYMS 256                  /* drop locations resolved, remembered */
/*
 * A pass over /proc/kallsyms reads the whole file (~120k lines, ~50 ms of the kernel's
 * time here): at most one per drain, naming every new location of the batch at once.
 */
#define PASSES_PER_DRAIN 1

struct sym {
	uint64_t addr;
	char name[64];                /* "?" when it could not be resolved */
	bool pending;                 /* waits for the next pass */
};

/*
 * Listeners of every network namespace (one sock_diag socket each, nsdiag.h), read once a
 * second: a SYN that finds the accept queue full is consumed without a drop reason and no
 * tracepoint sees it, but the listener counts it (sk_drops, with every other listen drop).
 * Socket cookies are unique across namespaces; the namespace goes with the listener.
 */
#define LISTENERS 1024
#define DIAG_EVERY_NS 1000000000ull
/* New namespaces are looked for this often, a slice of the /proc walk per poll. */
#define RESCAN_EVERY_NS 5000000000ull
#define RESCAN_SLICE_NS 1000000ull
#define DIAG_SLICE_NS 1000000ull

struct listener {
	uint64_t cookie;
	uint64_t netns;               /* the namespace's inode */
	uint32_t drops;               /* sk_drops at the last read */
	uint8_t family, seen;
	uint8_t addr[16];
	uint16_t port;
};

#define IFNAMES 16

struct kdrops {
	struct drops_bpf *skel;
	int diag_fd;                  /* NETLINK_SOCK_DIAG of our own namespace, -1 without it */
	int self_ns_fd;               /* our own namespace, to come back to after entering another */
	struct nsdiag nsd;            /* a sock_diag socket per namespace (ours first) */
	uint64_t last_rescan_ns;
	struct listener listeners[LISTENERS];
	unsigned n_listeners, hint;
	unsigned diag_next;           /* the next namespace of the read under way */
	bool diag_busy;
	uint64_t last_diag_ns;
	uint64_t diag_overflows;      /* listen drops the listeners counted since we started */
	uint64_t records;             /* drop aggregates drained from the kernel */
	uint8_t diag_buf[32768];
	bool classic;
	bool reasons;                 /* the reason argument is read */
	bool syn_overflow;            /* kprobe/tcp_conn_request attached: SYN-time overflows counted */
	char *names[FL_DROP_REASONS]; /* reason i's name */
	uint64_t last_drain_ns;
	uint64_t own_netns;
	bool kallsyms_ok;             /* readable with real addresses */
	FILE *kallsyms;               /* opened while privileged: it shows addresses to its opener */
	struct sym syms[SYMS];
	unsigned n_syms, next_sym;
	unsigned pending;             /* syms waiting for a pass */
	unsigned passes;              /* passes in this drain */
	/* Interface names looked up in this drain (if_indextoname is three syscalls). */
	struct { uint32_t ifindex; char name[IF_NAMESIZE]; } ifnames[IFNAMES];
	unsigned n_ifnames;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Reason names from the running kernel's enum skb_drop_reason ("SKB_DROP_REASON_X" -> "X"). */
static void load_names(struct kdrops *k)
{
	struct btf *btf = btf__load_vmlinux_btf();
	char buf[48];

	if (btf) {
		int id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
		const struct btf_type *t = id > 0 ? btf__type_by_id(btf, (__u32)id) : NULL;
		const struct btf_enum *e = t ? btf_enum(t) : NULL;

		for (unsigned i = 0; t && i < btf_vlen(t); i++) {
			const char *name = btf__name_by_offset(btf, e[i].name_off);
			__u32 v = (__u32)e[i].val;

			if (!name || v >= FL_DROP_REASONS - 1 || k->names[v])
				continue;
			if (!strncmp(name, "SKB_DROP_REASON_", 16))
				name += 16;
			else if (!strncmp(name, "SKB_", 4))
				name += 4;
			k->names[v] = strdup(name);
		}
		btf__free(btf);
	}
	for (unsigned i = 0; i < FL_DROP_REASONS; i++) {
		if (k->names[i])
			continue;
		/* Not in this kernel's enum (a subsystem's reason, or no BTF): by number. */
		if (i == FL_DROP_REASONS - 1)
			snprintf(buf, sizeof(buf), "OTHER");
		else
			snprintf(buf, sizeof(buf), "REASON_%u", i);
		k->names[i] = strdup(buf);
	}
}

static void reason_name(const struct kdrops *k, uint32_t reason, char *buf, size_t len)
{
	if (reason == FL_DROP_NO_REASON)
		snprintf(buf, len, "%s", "");
	else if (reason < FL_DROP_REASONS - 1 && k->names[reason])
		snprintf(buf, len, "%s", k->names[reason]);
	else if (reason >> 16)
		/* enum skb_drop_reason_subsys in the high bits, the subsystem's own code below. */
		snprintf(buf, len, "SUBSYS_%u_%u", reason >> 16, reason & 0xffff);
	else
		snprintf(buf, len, "REASON_%u", reason);
}

/*
 * One pass over /proc/kallsyms: each pending location gets the code symbol at or
 * below it.  Addresses that read as 0 (no privilege) mean the file is no use: it is
 * not read again.
 */
static void kallsyms_pass(struct kdrops *k)
{
	FILE *f = k->kallsyms;
	char line[256];
	uint64_t best[SYMS] = { 0 };
	bool any = false;

	k->passes++;
	if (!f || fseek(f, 0, SEEK_SET) < 0) {
		k->kallsyms_ok = false;
		return;
	}
	clearerr(f);
	while (fgets(line, sizeof(line), f)) {
		char *end;
		uint64_t a = strtoull(line, &end, 16);

		if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		any |= a != 0;
		if (end[1] != 't' && end[1] != 'T')
			continue;
		for (unsigned i = 0; i < k->n_syms; i++) {
			struct sym *s = &k->syms[i];
			if (!s->pending || a > s->addr || a < best[i])
				continue;
			best[i] = a;
			size_t n = strcspn(end + 3, " \t\n[");
			snprintf(s->name, sizeof(s->name), "%.*s", (int)n, end + 3);
		}
	}
	for (unsigned i = 0; i < k->n_syms; i++)
		k->syms[i].pending = false;
	k->pending = 0;
	if (!any)
		k->kallsyms_ok = false;
}

/* A location to name: remembered (SYMS, the oldest forgotten), pending until a pass. */
static void want_location(struct kdrops *k, uint64_t addr)
{
	if (!addr || !k->kallsyms_ok)
		return;
	for (unsigned i = 0; i < k->n_syms; i++)
		if (k->syms[i].addr == addr)
			return;
	struct sym *s = &k->syms[k->next_sym];
	k->next_sym = (k->next_sym + 1) % SYMS;
	if (k->n_syms < SYMS)
		k->n_syms++;
	else if (s->pending)
		k->pending--;
	*s = (struct sym){ .addr = addr, .name = "?", .pending = true };
	k->pending++;
}

/* The symbol for a drop location, or "" while unknown (a later record of it carries it). */
static const char *locate(const struct kdrops *k, uint64_t addr, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned i = 0; addr && i < k->n_syms; i++)
		if (k->syms[i].addr == addr && !k->syms[i].pending)
			snprintf(buf, len, "%s", k->syms[i].name[0] == '?' ? "" : k->syms[i].name);
	return buf;
}

static uint64_t netns_self(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* ifindex's name in our namespace ("" if none), asked once per drain. */
static void ifname(struct kdrops *k, uint32_t ifindex, char *name)
{
	for (unsigned i = 0; i < k->n_ifnames; i++) {
		if (k->ifnames[i].ifindex == ifindex) {
			memcpy(name, k->ifnames[i].name, IF_NAMESIZE);
			return;
		}
	}
	if (!if_indextoname(ifindex, name))
		name[0] = '\0';
	if (k->n_ifnames < IFNAMES) {
		k->ifnames[k->n_ifnames].ifindex = ifindex;
		memcpy(k->ifnames[k->n_ifnames++].name, name, IF_NAMESIZE);
	}
}

static void deliver(struct kdrops *k, const struct packet_sink *out, const struct fl_drop_key *key,
		    const struct fl_drop_val *v, int64_t clock_offset, bool is_errno)
{
	struct fl_drop_record r = {
		.family = key->family, .l4proto = key->l4proto, .l3proto = key->l3proto,
		.sport = key->sport, .dport = key->dport, .ifindex = key->ifindex,
		.netns_ino = key->netns_ino, .count = v->count,
		.first_ns = v->first_ns + (uint64_t)clock_offset,
		.last_ns = v->last_ns + (uint64_t)clock_offset,
	};

	memcpy(r.saddr, key->saddr, 16);
	memcpy(r.daddr, key->daddr, 16);
	if (is_errno) {
		const char *name = strerrorname_np((int)key->reason);
		r.is_errno = 1;
		snprintf(r.reason, sizeof(r.reason), "%s", name ? name : "OTHER");
	} else {
		k->records++;
		reason_name(k, key->reason, r.reason, sizeof(r.reason));
		locate(k, v->location, r.location, sizeof(r.location));
	}
	/* Interface names are per namespace: only ours can be named. */
	if (key->ifindex && key->netns_ino == k->own_netns)
		ifname(k, key->ifindex, r.interface);
	out->drop(out->ctx, &r);
}

/* Hand on (and delete) every aggregate of one map. */
static void drain(struct kdrops *k, const struct packet_sink *out, int fd, int64_t clock_offset,
		  bool is_errno)
{
	struct fl_drop_key keys[BATCH];
	struct fl_drop_val vals[BATCH];
	__u32 batch_out = 0;
	void *in = NULL;
	unsigned drained = 0;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);

	while (drained < DRAIN_MAX) {
		__u32 n = BATCH;
		int err = bpf_map_lookup_and_delete_batch(fd, in, &batch_out, keys, vals, &n, &opts);

		/* The batch's new locations named in one pass, before its records go out. */
		for (__u32 i = 0; i < n; i++)
			want_location(k, vals[i].location);
		if (k->pending && k->kallsyms_ok && k->passes < PASSES_PER_DRAIN)
			kallsyms_pass(k);
		for (__u32 i = 0; i < n; i++)
			deliver(k, out, &keys[i], &vals[i], clock_offset, is_errno);
		drained += n;
		if (err)
			break;   /* -ENOENT: the map is empty */
		in = &batch_out;
	}
}

/* One listener's count, read now: a rise is that many listen drops, handed on per listener. */
static void listener_seen(struct kdrops *k, const struct packet_sink *out, uint64_t netns,
			  const struct inet_diag_msg *m, uint32_t drops, int64_t clock_offset)
{
	uint64_t cookie = (uint64_t)m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
	struct listener *l = NULL;

	/* The dumps come in the same order poll after poll: the slot after the last one first. */
	if (k->hint < k->n_listeners && k->listeners[k->hint].cookie == cookie)
		l = &k->listeners[k->hint];
	for (unsigned i = 0; !l && i < k->n_listeners; i++)
		if (k->listeners[i].cookie == cookie)
			l = &k->listeners[i];
	if (!l) {
		if (k->n_listeners == LISTENERS)
			return;   /* bounded: further listeners count in no entry */
		l = &k->listeners[k->n_listeners++];
		*l = (struct listener){ .cookie = cookie, .netns = netns, .drops = drops,
					.family = m->idiag_family, .port = ntohs(m->id.idiag_sport) };
		memcpy(l->addr, m->id.idiag_src, 16);
		l->seen = 1;
		k->hint = k->n_listeners;
		return;   /* what it dropped before we started is not ours to report */
	}
	l->seen = 1;
	k->hint = (unsigned)(l - k->listeners) + 1;
	if (drops <= l->drops) {
		l->drops = drops;
		return;
	}
	uint64_t n = drops - l->drops, now = mono_ns() + (uint64_t)clock_offset;
	l->drops = drops;
	k->diag_overflows += n;
	struct fl_drop_record r = {
		.family = l->family == AF_INET6 ? 6 : 4, .l4proto = IPPROTO_TCP,
		.l3proto = l->family == AF_INET6 ? 0x86dd : 0x0800, .dport = l->port,
		.netns_ino = l->netns, .count = n, .first_ns = now, .last_ns = now,
	};
	memcpy(r.daddr, l->addr, 16);
	snprintf(r.reason, sizeof(r.reason), "TCP_LISTEN_OVERFLOW");
	if (out && out->drop)
		out->drop(out->ctx, &r);
}

/*
 * Read every TCP listener of one family in one namespace (with its sk_drops) and hand on
 * the rises (out NULL: only learn them).  False when the dump did not come whole.
 */
static bool diag_family(struct kdrops *k, const struct packet_sink *out, int fd, uint64_t netns,
			uint8_t family, int64_t clock_offset)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_ext = 1 << (INET_DIAG_SKMEMINFO - 1), .idiag_states = 1 << 10 /* LISTEN */ },
	};

	if (send(fd, &req, sizeof(req), MSG_DONTWAIT) < 0)
		return false;
	/* Each recv has the kernel fill the next part of the dump: it never waits. */
	for (int rounds = 0; rounds < 64; rounds++) {
		ssize_t n = recv(fd, k->diag_buf, sizeof(k->diag_buf), MSG_DONTWAIT);
		if (n <= 0)
			return false;
		for (struct nlmsghdr *h = (struct nlmsghdr *)k->diag_buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return true;
			if (h->nlmsg_type == NLMSG_ERROR)
				return false;
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				continue;
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
			for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len);
			     a = RTA_NEXT(a, len)) {
				if (a->rta_type == INET_DIAG_SKMEMINFO &&
				    RTA_PAYLOAD(a) >= (int)((SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))) {
					const uint32_t *mem = RTA_DATA(a);
					listener_seen(k, out, netns, m, mem[SK_MEMINFO_DROPS],
						      clock_offset);
				}
			}
		}
	}
	return false;
}

/* Both families of one namespace; false when either dump did not come whole. */
static bool diag_netns(struct kdrops *k, const struct packet_sink *out, int fd, uint64_t netns,
		       int64_t clock_offset)
{
	bool v4 = diag_family(k, out, fd, netns, AF_INET, clock_offset);
	bool v6 = diag_family(k, out, fd, netns, AF_INET6, clock_offset);

	return v4 && v6;
}

/*
 * Once a second every namespace's listeners, a slice of namespaces per poll (a dump costs
 * ~40 us of the kernel's time: 256 namespaces would hold the capture loop ~20 ms at once).
 */
static void diag_poll(struct kdrops *k, const struct packet_sink *out, int64_t clock_offset)
{
	uint64_t now = mono_ns();

	if (!k->diag_busy) {
		if (!k->nsd.n || now - k->last_diag_ns < DIAG_EVERY_NS)
			return;
		k->last_diag_ns = now;
		for (unsigned i = 0; i < k->n_listeners; i++)
			k->listeners[i].seen = 0;
		k->hint = 0;
		k->diag_next = 0;
		k->diag_busy = true;
	}
	uint64_t until = now + DIAG_SLICE_NS;
	while (k->diag_next < k->nsd.n) {
		const struct nsdiag_ns *e = &k->nsd.ns[k->diag_next++];
		if (e->fd >= 0 && !diag_netns(k, out, e->fd, e->ino, clock_offset)) {
			/* A dump cut short: its namespace's listeners are kept as they were. */
			for (unsigned i = 0; i < k->n_listeners; i++)
				if (k->listeners[i].netns == e->ino)
					k->listeners[i].seen = 1;
		}
		if (k->diag_next < k->nsd.n && mono_ns() >= until)
			return;
	}
	k->diag_busy = false;
	/* Listeners gone: forget them (a later one may take the slot). */
	for (unsigned i = 0; i < k->n_listeners;)
		if (!k->listeners[i].seen)
			k->listeners[i] = k->listeners[--k->n_listeners];
		else
			i++;
}

static bool rescan_due(const struct kdrops *k)
{
	return k->self_ns_fd >= 0 && mono_ns() - k->last_rescan_ns >= RESCAN_EVERY_NS;
}

/* New namespaces, gone ones: a slice of the /proc walk per poll, a walk every few seconds. */
static void rescan_poll(struct kdrops *k)
{
	if (!nsdiag_busy(&k->nsd))
		k->last_rescan_ns = mono_ns();
	nsdiag_rescan(&k->nsd, RESCAN_SLICE_NS);
}

void kdrops_poll(struct kdrops *k, const struct packet_sink *out, int64_t clock_offset)
{
	/* One at a time: a rescan closing namespaces would shift those a read is going through. */
	if (k && !k->diag_busy && (nsdiag_busy(&k->nsd) || rescan_due(k)))
		rescan_poll(k);
	else if (k)
		diag_poll(k, out, clock_offset);
	uint64_t now = mono_ns();

	if (!k || !out->drop || now - k->last_drain_ns < DRAIN_EVERY_NS)
		return;
	k->last_drain_ns = now;
	k->passes = 0;
	k->n_ifnames = 0;      /* names can change: asked again each drain */
	drain(k, out, bpf_map__fd(k->skel->maps.drops), clock_offset, false);
	if (!k->classic)
		drain(k, out, bpf_map__fd(k->skel->maps.sockerrs), clock_offset, true);
}

static uint64_t percpu_sum(int fd, __u32 key, uint64_t *vals, int ncpu)
{
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(fd, &key, vals) < 0)
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

void kdrops_update_stats(struct kdrops *k, struct fl_stats *st)
{
	int ncpu = libbpf_num_possible_cpus();

	if (!k) {
		/* Live, but the kernel did not let us: the stats say so. */
		st->kernel.drops.source = "unavailable";
		return;
	}
	if (ncpu <= 0)
		return;
	uint64_t vals[ncpu];
	int rfd = bpf_map__fd(k->skel->maps.reasons), cfd = bpf_map__fd(k->skel->maps.dcounters);

	st->kernel.drops.source = k->classic ? "tracepoint" : "tp_btf";
	st->kernel.drops.reasons = k->reasons;
	st->kernel.drops.names = (const char *const *)k->names;
	st->kernel.drops.total = percpu_sum(cfd, FL_DCNT_TOTAL, vals, ncpu);
	st->kernel.drops.without_reason = percpu_sum(cfd, FL_DCNT_NO_REASON, vals, ncpu);
	st->kernel.drops.unrecorded = percpu_sum(cfd, FL_DCNT_MAP_FULL, vals, ncpu);
	st->kernel.drops.records = k->records;
	/* One syscall for the whole array would need a batch; 512 lookups once a second is fine. */
	for (__u32 i = 0; i < FL_DROP_REASONS; i++)
		st->kernel.drops.by_reason[i] = percpu_sum(rfd, i, vals, ncpu);
	st->kernel.retransmits = percpu_sum(cfd, FL_DCNT_RETRANS, vals, ncpu);
	st->kernel.syn_retransmits = percpu_sum(cfd, FL_DCNT_SYN_RETRANS, vals, ncpu);
	st->kernel.listen_overflows = percpu_sum(cfd, FL_DCNT_LISTEN_OVERFLOW, vals, ncpu);
	/* The listeners we read count their own (SYN time too) unless the kprobe does. */
	if (!k->syn_overflow)
		st->kernel.listen_overflows += k->diag_overflows;
	st->kernel.listen_namespaces = k->nsd.open_now;
	st->kernel.listen_namespaces_refused = k->nsd.refused_now;
	st->kernel.listen_namespaces_over_limit = k->nsd.over_now;
	/* At SYN time in every namespace only with the kprobe; ours is read either way. */
	st->kernel.listen_overflows_at_syn = k->syn_overflow;
	int efd = bpf_map__fd(k->skel->maps.errnos);
	for (__u32 e = 0; e < FL_ERRNOS; e++)
		st->kernel.socket_errors[e] = percpu_sum(efd, e, vals, ncpu);
}

static struct drops_bpf *load(const struct fl_config *cfg, bool classic, bool noreason,
			      bool listen, int own_listeners_fd, int *err)
{
	struct drops_bpf *t = drops_bpf__open();

	if (!t) {
		*err = -errno;
		return NULL;
	}
	if (own_listeners_fd >= 0 && bpf_map__reuse_fd(t->maps.own_listeners, own_listeners_fd) < 0)
		pr_debug("kernel drops: cannot share the own listeners map: drops of the metrics "
			 "endpoint's connections are reported\n");
	t->rodata->report_unspecified = cfg->drops_report_unspecified != 0;
	t->rodata->ignore_reason = noreason;
	bpf_program__set_autoload(t->progs.fl_kfree_skb_btf, !classic);
	bpf_program__set_autoload(t->progs.fl_kfree_skb_tp, classic);
	/* Socket trouble: tp_btf only (a kernel without it has none of this). */
	bpf_program__set_autoload(t->progs.fl_retrans_btf, !classic);
	bpf_program__set_autoload(t->progs.fl_skerr_btf, !classic);
	bpf_program__set_autoload(t->progs.fl_listen_ovf, !classic && listen);
	*err = drops_bpf__load(t);
	if (!*err)
		*err = drops_bpf__attach(t);
	if (*err) {
		drops_bpf__destroy(t);
		return NULL;
	}
	return t;
}

/*
 * A namespace's listeners as they are now (their drops so far are not ours to report), and
 * from now on its listen overflows are ours: the BPF side leaves them to us.
 */
static void ns_learn(struct kdrops *k, int fd, uint64_t ino)
{
	__u32 key = (__u32)ino;
	__u8 one = 1;

	diag_netns(k, NULL, fd, ino, 0);
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.diag_netns), &key, &one, BPF_ANY) < 0)
		pr_debug("kernel drops: namespace %llu not marked read: %s\n",
			 (unsigned long long)ino, strerror(errno));
}

static int ns_open(void *ctx, uint32_t pid, uint64_t ino)
{
	struct kdrops *k = ctx;
	int fd = nsdiag_open_in(pid, ino, k->self_ns_fd);

	if (fd >= 0)
		ns_learn(k, fd, ino);
	pr_debug("kernel drops: network namespace %llu (process %u): %s\n", (unsigned long long)ino,
		 pid, fd >= 0 ? "listeners read" : strerror(-fd));
	return fd;
}

/* A namespace gone: its socket closed, its listeners forgotten. */
static void ns_close(void *ctx, uint64_t ino, int fd)
{
	struct kdrops *k = ctx;
	__u32 key = (__u32)ino;

	if (k->skel)
		bpf_map_delete_elem(bpf_map__fd(k->skel->maps.diag_netns), &key);
	close(fd);
	for (unsigned i = 0; i < k->n_listeners;)
		if (k->listeners[i].netns == ino)
			k->listeners[i] = k->listeners[--k->n_listeners];
		else
			i++;
}

struct kdrops *kdrops_open(const struct fl_config *cfg, int own_listeners_fd, char *why, size_t whylen)
{
	const char *force = getenv("FAULTLINE_DROPS");
	bool classic = force && !strcmp(force, "classic");
	bool noreason = force && !strcmp(force, "noreason");
	struct kdrops *k;
	int err = -EOPNOTSUPP, err2;

	if (force && !strcmp(force, "off")) {
		snprintf(why, whylen, "turned off (FAULTLINE_DROPS=off)");
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return NULL;
	}
	k->diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	k->own_netns = netns_self();
	if (!k->own_netns && k->diag_fd >= 0) {
		close(k->diag_fd);   /* not knowing our namespace, we would not know whose listeners */
		k->diag_fd = -1;
	}
	/* This thread's namespace (the one we come back to), before any thread enters another. */
	k->self_ns_fd = k->diag_fd >= 0 ? open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) : -1;
	if (!classic) {
		k->skel = load(cfg, false, noreason, true, own_listeners_fd, &err);
		k->syn_overflow = k->skel != NULL;
		if (!k->skel) {
			pr_debug("kprobe/tcp_conn_request failed (%s): no listen overflow counts\n",
				 strerror(-err));
			k->skel = load(cfg, false, noreason, false, own_listeners_fd, &err);
		}
	}
	if (!k->skel) {
		pr_debug("tp_btf/kfree_skb failed (%s); trying the classic tracepoint\n", strerror(-err));
		k->classic = true;
		k->skel = load(cfg, true, noreason, false, own_listeners_fd, &err2);
		if (!k->skel) {
			snprintf(why, whylen, "skb:kfree_skb: tp_btf: %s; tracepoint: %s",
				 classic ? "skipped" : strerror(-err), strerror(-err2));
			if (k->diag_fd >= 0)
				close(k->diag_fd);
			if (k->self_ns_fd >= 0)
				close(k->self_ns_fd);
			free(k);
			return NULL;
		}
	}
	struct btf *btf = btf__load_vmlinux_btf();
	/* The program reads the reason when the kernel's BTF has the enum (and we did not say no). */
	k->reasons = !noreason && btf &&
		     btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM) > 0;
	btf__free(btf);
	load_names(k);
	/* The capture drops its capabilities after loading: /proc/kallsyms shows addresses to
	 * the credentials that opened it, so it is opened now and read again from the start. */
	k->kallsyms = fopen("/proc/kallsyms", "re");
	k->kallsyms_ok = k->kallsyms != NULL;
	k->last_drain_ns = mono_ns();
	/*
	 * Every namespace's listeners, now, while we may still enter the namespaces (the capture
	 * drops CAP_SYS_ADMIN once attached): later ones only while we still can.
	 */
	struct nsdiag_ops ops = { .open = ns_open, .close = ns_close, .started = nsdiag_started,
				  .ctx = k };
	nsdiag_init(&k->nsd, &ops, k->own_netns, k->diag_fd);
	if (k->diag_fd >= 0) {
		ns_learn(k, k->diag_fd, k->own_netns);
		if (k->self_ns_fd >= 0)
			nsdiag_rescan(&k->nsd, 0);
		k->last_rescan_ns = k->last_diag_ns = mono_ns();
	}
	pr_debug("kernel drops: skb:kfree_skb attached (%s%s)\n", k->classic ? "tracepoint" : "tp_btf",
		 k->reasons ? "" : ", without reasons");
	return k;
}

void kdrops_close(struct kdrops *k)
{
	if (!k)
		return;
	nsdiag_close_all(&k->nsd);   /* our own socket too */
	drops_bpf__destroy(k->skel);
	if (k->self_ns_fd >= 0)
		close(k->self_ns_fd);
	if (k->kallsyms)
		fclose(k->kallsyms);
	for (unsigned i = 0; i < FL_DROP_REASONS; i++)
		free(k->names[i]);
	free(k);
}
