// SPDX-License-Identifier: MIT
#include "track/kernel_drops.h"

#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/decode.h"
#include "core/flow.h"
#include "report/entry.h"
#include "report/stats.h"

#define SLOTS 1024                /* aggregates waiting; when full the oldest is reported early */
#define GRACE_NS 3000000000ull    /* past the stream timeout: the packet view has judged by then */
#define JOIN_MAX 8                /* reasons listed on one entry */

struct pending {
	struct fl_drop_record r;
	struct fl_addr src, dst;
	uint64_t due_ns;
	uint64_t created_ns;
	bool used;
	bool folded;              /* explained an entry: later drops of it are absorbed */
};

/*
 * TCP flows that had an error entry lately.  The kernel's drops are drained a moment after
 * the packets that explain them (the SYN a closed port answered with a RST was dropped as
 * NO_SOCKET): such a drop is the same failure, absorbed rather than an entry of its own.
 */
#define RECENT 256

struct recent {
	struct flow_key key;
	uint64_t ts_ns;
};

struct kernel_drops {
	struct pending slots[SLOTS];
	uint64_t hold_ns;
	uint64_t own_netns;
	struct recent recent[RECENT];
	unsigned next_recent;
	uint64_t now_ns;          /* the pipeline's clock at the last add or run */
};

struct kernel_drops *kernel_drops_new(const struct fl_config *cfg)
{
	struct kernel_drops *k = calloc(1, sizeof(*k));

	if (k)
		k->hold_ns = cfg->stream_timeout_ms * 1000000ull + GRACE_NS;
	return k;
}

void kernel_drops_free(struct kernel_drops *k)
{
	free(k);
}

void kernel_drops_set_netns(struct kernel_drops *k, uint64_t netns_ino)
{
	k->own_netns = netns_ino;
}

static void to_addr(struct fl_addr *a, uint8_t family, const uint8_t *bytes)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->bytes, bytes, family == 6 ? 16 : 4);
}

/* A listener's overflows: any client (no source address, no port), the listener the dst. */
static bool of_listener(const struct fl_drop_record *r)
{
	static const uint8_t zero[16];

	return r->l4proto == FL_IPPROTO_TCP && !r->is_errno && r->sport == 0 &&
	       !memcmp(r->saddr, zero, 16);
}

static bool same_aggregate(const struct pending *p, const struct fl_drop_record *r,
			   const struct fl_addr *src, const struct fl_addr *dst)
{
	/* Two namespaces' listeners may have the same address (two pods on 0.0.0.0:8080). */
	if (of_listener(r) && p->r.netns_ino != r->netns_ino)
		return false;
	return p->r.is_errno == r->is_errno && p->r.l4proto == r->l4proto &&
	       p->r.sport == r->sport && p->r.dport == r->dport &&
	       addr_equal(&p->src, src) && addr_equal(&p->dst, dst) &&
	       !strcmp(p->r.reason, r->reason);
}

/* A socket's error may come after its local port was released (ETIMEDOUT): then 0 matches any. */
static bool sport_eq(const struct pending *p, uint16_t port)
{
	return p->r.sport == port || (p->r.is_errno && p->r.sport == 0);
}

/* Does the aggregate concern flow f (either direction)? */
static bool of_flow(const struct pending *p, const struct flow *f)
{
	const struct flow_key *k = &f->key;

	if (p->r.l4proto != k->proto)
		return false;
	return (addr_equal(&p->src, &k->addr[0]) && sport_eq(p, k->port[0]) &&
		addr_equal(&p->dst, &k->addr[1]) && p->r.dport == k->port[1]) ||
	       (addr_equal(&p->src, &k->addr[1]) && sport_eq(p, k->port[1]) &&
		addr_equal(&p->dst, &k->addr[0]) && p->r.dport == k->port[0]);
}

static const char *protocol_name(uint8_t l4proto)
{
	switch (l4proto) {
	case FL_IPPROTO_TCP: return "tcp";
	case FL_IPPROTO_UDP: return "udp";
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6: return "icmp";
	default: return "ip";
	}
}

static bool has_ports(uint8_t l4proto)
{
	return l4proto == FL_IPPROTO_TCP || l4proto == FL_IPPROTO_UDP;
}

/* Does the socket error q concern the flow of the drop p (either direction)? */
static bool of_pair(const struct pending *p, const struct pending *q)
{
	return p->r.l4proto == q->r.l4proto &&
	       ((addr_equal(&p->src, &q->src) && sport_eq(q, p->r.sport) &&
		 addr_equal(&p->dst, &q->dst) && p->r.dport == q->r.dport) ||
		(addr_equal(&p->src, &q->dst) && p->r.sport == q->r.dport &&
		 addr_equal(&p->dst, &q->src) && sport_eq(q, p->r.dport)));
}

/* The error a socket of the same flow reported to its application ("ETIMEDOUT"), or NULL. */
static const char *errno_of(struct kernel_drops *k, const struct pending *p, const struct flow *f)
{
	for (unsigned i = 0; i < SLOTS; i++) {
		struct pending *q = &k->slots[i];
		if (q->used && q->r.is_errno && (f ? of_flow(q, f) : of_pair(p, q))) {
			q->folded = true;
			return q->r.reason;
		}
	}
	return NULL;
}

/* A `drop` entry: the packets src sent to dst that the kernel dropped. */
static void report(struct kernel_drops *k, struct emitter *em, const struct pending *p)
{
	/* A listener's overflows are its own, whoever the clients: src is any, without a port. */
	static const uint8_t zero[16];
	bool any = p->r.sport == 0 && !memcmp(p->r.saddr, zero, 16);
	struct fl_endpoint src = { .addr = p->src, .port = p->r.sport,
				   .has_port = has_ports(p->r.l4proto) && !any };
	struct fl_endpoint dst = { .addr = p->dst, .port = p->r.dport, .has_port = has_ports(p->r.l4proto) };
	char ts[40];

	struct doc *d = entry_begin(em, p->r.first_ns, protocol_name(p->r.l4proto), &src, &dst, NULL);
	entry_set_error(em, FL_ERR_DROP, p->r.reason[0] ? p->r.reason : "UNKNOWN", NULL);
	uint32_t o = doc_add_obj(d, DOC_ROOT, "drop");
	doc_add_str(d, o, "reason", p->r.reason[0] ? p->r.reason : "UNKNOWN");
	doc_add_int(d, o, "count", (int64_t)p->r.count);
	format_ts(p->r.first_ns, ts, sizeof(ts));
	doc_add_str(d, o, "first_ts", ts);
	format_ts(p->r.last_ns, ts, sizeof(ts));
	doc_add_str(d, o, "last_ts", ts);
	if (p->r.interface[0])
		doc_add_str(d, o, "interface", p->r.interface);
	else
		doc_add_null(d, o, "interface");
	if (p->r.location[0])
		doc_add_str(d, o, "location", p->r.location);
	else
		doc_add_null(d, o, "location");
	/* Where it happened: the inode `lsns -t net` and /proc/PID/ns/net name it by. */
	if (p->r.netns_ino)
		doc_add_int(d, o, "netns", (int64_t)p->r.netns_ino);
	else
		doc_add_null(d, o, "netns");
	const char *err = errno_of(k, p, NULL);
	if (err)
		doc_add_str(d, p->r.l4proto == FL_IPPROTO_TCP ? doc_add_obj(d, DOC_ROOT, "tcp") : DOC_ROOT,
			    "errno", err);
	entry_commit(em);
}

void kernel_drops_add(struct kernel_drops *k, struct flow_table *flows,
		      const struct fl_drop_record *r, uint64_t now_ns)
{
	struct fl_addr src, dst;
	struct pending *free_slot = NULL;
	int side;

	if (now_ns > k->now_ns)
		k->now_ns = now_ns;
	if (r->family != 4 && r->family != 6)
		return;   /* not IP: counted in the stats only */
	to_addr(&src, r->family, r->saddr);
	to_addr(&dst, r->family, r->daddr);
	for (unsigned i = 0; i < SLOTS; i++) {
		struct pending *p = &k->slots[i];
		if (!p->used) {
			if (!free_slot)
				free_slot = p;
			continue;
		}
		if (same_aggregate(p, r, &src, &dst)) {
			p->r.count += r->count;
			if (r->last_ns > p->r.last_ns)
				p->r.last_ns = r->last_ns;
			if (r->first_ns < p->r.first_ns)
				p->r.first_ns = r->first_ns;
			if (r->location[0])
				memcpy(p->r.location, r->location, sizeof(p->r.location));
			/* Still dropping: wait a hold past the latest, up to three holds in all. */
			if (now_ns + k->hold_ns > p->due_ns)
				p->due_ns = now_ns + k->hold_ns;
			if (p->due_ns > p->created_ns + 3 * k->hold_ns)
				p->due_ns = p->created_ns + 3 * k->hold_ns;
			return;
		}
	}
	/* A TCP flow whose failure was reported moments ago: this drop is part of it. */
	bool absorbed = false;
	for (unsigned i = 0; r->l4proto == FL_IPPROTO_TCP && i < RECENT && !absorbed; i++) {
		const struct recent *q = &k->recent[i];
		const struct flow_key *fk = &q->key;
		absorbed = q->ts_ns && now_ns < q->ts_ns + k->hold_ns &&
			   ((addr_equal(&src, &fk->addr[0]) && r->sport == fk->port[0] &&
			     addr_equal(&dst, &fk->addr[1]) && r->dport == fk->port[1]) ||
			    (addr_equal(&src, &fk->addr[1]) && r->sport == fk->port[1] &&
			     addr_equal(&dst, &fk->addr[0]) && r->dport == fk->port[0]));
	}
	/*
	 * A flow the capture has, in any namespace; without one, only our own namespace's drops,
	 * and a listener's overflows in any namespace (a pod's server refusing connections).
	 */
	if (r->netns_ino != k->own_netns && !of_listener(r) &&
	    !flow_find(flows, &src, r->sport, &dst, r->dport, r->l4proto, &side))
		return;
	if (!free_slot)
		return;   /* all held (kernel_drops_run reports the oldest soon): counted in the stats only */
	/* Held from the later of now and the drop itself (a file's clock may lag the kernel's). */
	uint64_t from = r->last_ns > now_ns ? r->last_ns : now_ns;
	*free_slot = (struct pending){ .r = *r, .src = src, .dst = dst, .due_ns = from + k->hold_ns,
				       .created_ns = from, .used = true, .folded = absorbed };

}

void kernel_drops_annotate(void *ctx, struct emitter *em)
{
	struct kernel_drops *k = ctx;
	const struct flow *f = em->meta.flow;
	struct doc *d = &em->doc;
	struct pending *hit[JOIN_MAX];
	unsigned n = 0;

	if (!f || em->meta.error == FL_ERR_NONE || em->meta.error == FL_ERR_DROP)
		return;
	if (f->key.proto == FL_IPPROTO_TCP) {
		uint64_t ts = em->meta.ts_ns > k->now_ns ? em->meta.ts_ns : k->now_ns;
		k->recent[k->next_recent] = (struct recent){ .key = f->key, .ts_ns = ts };
		k->next_recent = (k->next_recent + 1) % RECENT;
	}
	const struct pending *err = NULL;
	for (unsigned i = 0; i < SLOTS && n < JOIN_MAX; i++) {
		struct pending *p = &k->slots[i];
		if (!p->used || !of_flow(p, f))
			continue;
		if (p->r.is_errno) {
			p->folded = true;
			if (!err)
				err = p;
		} else {
			hit[n++] = p;
		}
	}
	if (!n && !err)
		return;

	uint32_t parent = DOC_ROOT;
	if (f->key.proto == FL_IPPROTO_TCP) {
		parent = doc_get(d, DOC_ROOT, "tcp");
		if (parent == DOC_NONE)
			parent = doc_add_obj(d, DOC_ROOT, "tcp");
	}
	if (err && doc_get(d, parent, "errno") == DOC_NONE)   /* a kernel-view entry may have it */
		doc_add_str(d, parent, "errno", err->r.reason);
	if (!n)
		return;
	uint32_t arr = doc_add_arr(d, parent, "kernel_drops");
	for (unsigned i = 0; i < n; i++) {
		const struct pending *p = hit[i];
		const char *reason = p->r.reason[0] ? p->r.reason : "UNKNOWN";
		uint32_t o = doc_add_obj(d, arr, NULL);
		doc_add_str(d, o, "reason", reason);
		doc_add_int(d, o, "count", (int64_t)p->r.count);
		hit[i]->folded = true;
	}
}

void kernel_drops_run(struct kernel_drops *k, struct emitter *em, uint64_t now_ns, bool all)
{
	unsigned used = 0;

	if (now_ns > k->now_ns)
		k->now_ns = now_ns;
	for (unsigned i = 0; i < SLOTS; i++) {
		struct pending *p = &k->slots[i];
		if (!p->used)
			continue;
		used++;
		if (!all && p->due_ns > now_ns)
			continue;
		p->used = false;
		if (!p->folded && !p->r.is_errno)
			report(k, em, p);   /* an errno alone is counted in the stats only */
	}
	if (used < SLOTS || all)
		return;
	/* Full: report the oldest now to make room. */
	struct pending *oldest = NULL;
	for (unsigned i = 0; i < SLOTS; i++)
		if (k->slots[i].used && (!oldest || k->slots[i].due_ns < oldest->due_ns))
			oldest = &k->slots[i];
	if (oldest) {
		oldest->used = false;
		if (!oldest->folded && !oldest->r.is_errno)
			report(k, em, oldest);
	}
}
