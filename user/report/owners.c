// SPDX-License-Identifier: MIT
#include "report/owners.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#define WAYS 4
/* A socket that closed is still its owner's for entries judged just after (a reset,
 * the last exchange); after that the 4-tuple is free for another socket. */
#define END_GRACE_NS 1000000000ull

struct who {
	uint32_t pid;
	char comm[16];
	uint64_t cgroup_id;
};

struct sock_slot {
	uint8_t family, used, ended;
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];
	uint64_t end_ns, touched;
	struct who who;
};

struct cg_slot {
	uint64_t id, touched;
	uint64_t resolved_ns;     /* when it was last resolved (wall clock of the event or entry) */
	bool used, known;
	bool stale;               /* names may have changed (the pod logs did): resolve again */
	struct workload w;
};

struct owners {
	struct fl_stats *stats;
	struct sock_slot *socks, *listeners;
	struct cg_slot *cgroups;
	uint32_t sock_sets, listener_sets, cg_sets;   /* powers of two */
	uint64_t clock;                               /* LRU order within a set */
	uint64_t bytes;
	owners_resolve_fn resolve;
	void *resolve_ctx;
	bool want_scan;       /* a local endpoint had no owner: the /proc scan may know it */
	/* --workers: the workers describe their entries' endpoints while the capture
	 * thread adds the kernel's events; every call below holds it (never per packet). */
	pthread_mutex_t lock;
};

static uint32_t pow2_floor(uint32_t v)
{
	uint32_t p = 1;
	while (p * 2 <= v && p < (1u << 30))
		p *= 2;
	return p;
}

struct owners *owners_new(uint32_t max_sockets, struct fl_stats *stats)
{
	struct owners *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->stats = stats;
	pthread_mutex_init(&o->lock, NULL);
	o->sock_sets = pow2_floor(max_sockets / WAYS ? max_sockets / WAYS : 1);
	o->listener_sets = pow2_floor(o->sock_sets / 16 ? o->sock_sets / 16 : 1);
	o->cg_sets = pow2_floor(o->sock_sets / 16 ? o->sock_sets / 16 : 1);
	if (o->cg_sets > 1024)
		o->cg_sets = 1024;
	/* Allocated once: halve the tables until they fit the memory budget. */
	for (;;) {
		uint64_t bytes = (uint64_t)(o->sock_sets + o->listener_sets) * WAYS *
					 sizeof(struct sock_slot) +
				 (uint64_t)o->cg_sets * WAYS * sizeof(struct cg_slot);
		if (memory_allows(stats, bytes) || o->sock_sets == 1) {
			o->bytes = bytes;
			break;
		}
		stats->memory.over_limit++;
		o->sock_sets = o->sock_sets > 1 ? o->sock_sets / 2 : 1;
		o->listener_sets = o->listener_sets > 1 ? o->listener_sets / 2 : 1;
		o->cg_sets = o->cg_sets > 1 ? o->cg_sets / 2 : 1;
	}
	o->socks = calloc((size_t)o->sock_sets * WAYS, sizeof(*o->socks));
	o->listeners = calloc((size_t)o->listener_sets * WAYS, sizeof(*o->listeners));
	o->cgroups = calloc((size_t)o->cg_sets * WAYS, sizeof(*o->cgroups));
	if (!o->socks || !o->listeners || !o->cgroups) {
		free(o->socks);
		free(o->listeners);
		free(o->cgroups);
		free(o);
		return NULL;
	}
	stats->memory.attribution_bytes += o->bytes;
	return o;
}

void owners_free(struct owners *o)
{
	if (!o)
		return;
	o->stats->memory.attribution_bytes -= o->bytes;
	free(o->socks);
	free(o->listeners);
	free(o->cgroups);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

void owners_set_resolver(struct owners *o, owners_resolve_fn fn, void *ctx)
{
	o->resolve = fn;
	o->resolve_ctx = ctx;
}

static uint32_t mix(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t tuple_hash(uint8_t family, const uint8_t *laddr, uint16_t lport,
			   const uint8_t *raddr, uint16_t rport)
{
	uint32_t h = mix(2166136261u ^ family, laddr, 16);
	h = mix(h, (const uint8_t *)&lport, 2);
	h = mix(h, raddr, 16);
	h = mix(h, (const uint8_t *)&rport, 2);
	return h ^ (h >> 16);
}

static bool slot_is(const struct sock_slot *s, uint8_t family, const uint8_t *laddr,
		    uint16_t lport, const uint8_t *raddr, uint16_t rport)
{
	return s->used && s->family == family && s->lport == lport && s->rport == rport &&
	       !memcmp(s->laddr, laddr, 16) && !memcmp(s->raddr, raddr, 16);
}

/* The slot of a tuple in `table`, or NULL; with `take`, a slot for it (the LRU of its set). */
static struct sock_slot *tuple_slot(struct sock_slot *table, uint32_t sets,
				    uint8_t family, const uint8_t *laddr, uint16_t lport,
				    const uint8_t *raddr, uint16_t rport, bool take, bool *evicted)
{
	struct sock_slot *set = &table[(tuple_hash(family, laddr, lport, raddr, rport) &
					(sets - 1)) * WAYS];
	struct sock_slot *lru = &set[0];
	for (int i = 0; i < WAYS; i++) {
		if (slot_is(&set[i], family, laddr, lport, raddr, rport))
			return &set[i];
		if (!set[i].used ? lru->used : (lru->used && set[i].touched < lru->touched))
			lru = &set[i];
	}
	if (!take)
		return NULL;
	*evicted = lru->used;
	memset(lru, 0, sizeof(*lru));
	lru->used = 1;
	lru->family = family;
	lru->lport = lport;
	lru->rport = rport;
	memcpy(lru->laddr, laddr, 16);
	memcpy(lru->raddr, raddr, 16);
	return lru;
}

static const uint8_t zero16[16];

/* A pod or container named by id only: its log directory may come later (resolve again). */
#define NAME_RETRY_NS 1000000000ull

static void resolve(struct owners *o, struct cg_slot *c, uint64_t now_ns)
{
	memset(&c->w, 0, sizeof(c->w));
	c->known = o->resolve && o->resolve(o->resolve_ctx, c->id, &c->w) == 0;
	c->stale = false;
	c->resolved_ns = now_ns;
}

/* The cgroup's slot, resolving it on a miss, when stale, or (at most once a second) while
 * its pod or container has no name yet. */
static const struct cg_slot *cgroup(struct owners *o, uint64_t id, uint64_t now_ns)
{
	struct cg_slot *set = &o->cgroups[((id * 0x9e3779b97f4a7c15ull) >> 40 & (o->cg_sets - 1)) *
					   WAYS];
	struct cg_slot *lru = &set[0];
	for (int i = 0; i < WAYS; i++) {
		if (set[i].used && set[i].id == id) {
			struct cg_slot *c = &set[i];
			c->touched = ++o->clock;
			bool unnamed = c->known && ((c->w.pod_uid[0] && !c->w.pod_name[0]) ||
						    (c->w.container_id[0] && !c->w.container_name[0] &&
						     c->w.pod_uid[0]));
			if (c->stale || (unnamed && now_ns >= c->resolved_ns + NAME_RETRY_NS)) {
				o->stats->attribution.cgroup_misses++;
				resolve(o, c, now_ns);
			} else {
				o->stats->attribution.cgroup_hits++;
			}
			return c;
		}
		if (!set[i].used ? lru->used : (lru->used && set[i].touched < lru->touched))
			lru = &set[i];
	}
	o->stats->attribution.cgroup_misses++;
	if (!lru->used)
		o->stats->attribution.cgroups++;
	memset(lru, 0, sizeof(*lru));
	lru->used = true;
	lru->id = id;
	lru->touched = ++o->clock;
	resolve(o, lru, now_ns);
	return lru;
}

static void set_who(struct owners *o, struct who *w, const struct fl_sock_owner *ev,
		    uint64_t ts_ns)
{
	w->pid = ev->pid;
	memcpy(w->comm, ev->comm, sizeof(w->comm));
	w->comm[sizeof(w->comm) - 1] = '\0';
	w->cgroup_id = ev->cgroup_id;
	if (ev->cgroup_id)
		cgroup(o, ev->cgroup_id, ts_ns);   /* resolved now, in the event, not when an entry needs it */
}

/* Tables key a family byte: 4 or 6, with UDP_TAG for UDP (TCP and UDP ports are apart). */
#define UDP_TAG 0x10

static void locked_event(struct owners *o, const struct fl_sock_owner *ev, uint64_t ts_ns)
{
	bool evicted = false;
	struct sock_slot *s;
	uint8_t family = (ev->family == 10 ? 6 : 4) | (ev->proto == IPPROTO_UDP ? UDP_TAG : 0);

	switch (ev->kind) {
	case FL_OWN_CONNECT:
		s = tuple_slot(o->socks, o->sock_sets, family, ev->saddr, ev->sport, ev->daddr,
			       ev->dport, true, &evicted);
		if (evicted)
			o->stats->attribution.sockets_evicted++;
		else if (!s->who.pid && !s->ended)
			o->stats->attribution.sockets++;
		s->ended = 0;
		s->end_ns = 0;
		s->touched = ++o->clock;
		set_who(o, &s->who, ev, ts_ns);
		break;
	case FL_OWN_LISTEN:
	case FL_OWN_BIND:
		s = tuple_slot(o->listeners, o->listener_sets, family, ev->saddr, ev->sport,
			       zero16, 0, true, &evicted);
		if (!evicted && !s->who.pid)
			o->stats->attribution.listeners++;
		s->touched = ++o->clock;
		set_who(o, &s->who, ev, ts_ns);
		break;
	case FL_OWN_END:
		s = tuple_slot(o->socks, o->sock_sets, family, ev->saddr, ev->sport, ev->daddr,
			       ev->dport, false, &evicted);
		if (s && !s->ended) {
			s->ended = 1;
			s->end_ns = ts_ns;
		}
		if (ev->dport == 0 && (s = tuple_slot(o->listeners, o->listener_sets, family,
						      ev->saddr, ev->sport, zero16, 0, false,
						      &evicted))) {
			memset(s, 0, sizeof(*s));
			if (o->stats->attribution.listeners)
				o->stats->attribution.listeners--;
		}
		break;
	default:
		break;
	}
}

static void locked_scanned(struct owners *o, const struct fl_sock_owner *ev, uint64_t ts_ns)
{
	bool evicted;
	uint8_t family = (ev->family == 10 ? 6 : 4) | (ev->proto == IPPROTO_UDP ? UDP_TAG : 0);
	const struct sock_slot *s;
	if (ev->kind == FL_OWN_CONNECT)
		s = tuple_slot(o->socks, o->sock_sets, family, ev->saddr, ev->sport, ev->daddr,
			       ev->dport, false, &evicted);
	else
		s = tuple_slot(o->listeners, o->listener_sets, family, ev->saddr, ev->sport, zero16,
			       0, false, &evicted);
	/* The kernel's events are newer than a scan: keep what they said. */
	if (!s || (ev->kind == FL_OWN_CONNECT && s->ended))
		locked_event(o, ev, ts_ns);
	o->stats->attribution.scanned++;
}

static void locked_refresh_names(struct owners *o)
{
	for (uint32_t i = 0; i < o->cg_sets * WAYS; i++)
		if (o->cgroups[i].used)
			o->cgroups[i].stale = true;
}

static bool locked_want_scan(struct owners *o)
{
	bool want = o->want_scan;
	o->want_scan = false;
	return want;
}

static void copy16(uint8_t *dst, const struct fl_addr *a)
{
	memset(dst, 0, 16);
	memcpy(dst, a->bytes, a->family == 6 ? 16 : 4);
}

/* The owner of `ep` talking to `peer`: its own socket, else the listener it was accepted on. */
static const struct who *find_who(struct owners *o, const struct fl_endpoint *ep,
				  const struct fl_endpoint *peer, uint8_t proto, uint64_t ts_ns)
{
	uint8_t la[16], ra[16];
	bool ev;
	if (!ep->has_port || (ep->addr.family != 4 && ep->addr.family != 6) ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return NULL;
	uint8_t tag = proto == IPPROTO_UDP ? UDP_TAG : 0, family = ep->addr.family | tag;
	copy16(la, &ep->addr);
	copy16(ra, &peer->addr);
	struct sock_slot *s = tuple_slot(o->socks, o->sock_sets, family, la, ep->port,
					 ra, peer->port, false, &ev);
	/* A socket that closed before this entry's time is not this connection's owner. */
	if (s && !(s->ended && ts_ns > s->end_ns + END_GRACE_NS)) {
		s->touched = ++o->clock;
		return &s->who;
	}
	s = tuple_slot(o->listeners, o->listener_sets, family, la, ep->port, zero16, 0,
		       false, &ev);
	if (!s)   /* bound to every address */
		s = tuple_slot(o->listeners, o->listener_sets, family, zero16, ep->port,
			       zero16, 0, false, &ev);
	if (!s && ep->addr.family == 4)   /* a dual-stack socket on :: */
		s = tuple_slot(o->listeners, o->listener_sets, 6 | tag, zero16, ep->port, zero16, 0,
			       false, &ev);
	return s ? &s->who : NULL;
}

static bool locked_describe(struct owners *o, struct doc *d, uint32_t obj, const struct fl_endpoint *ep,
		     const struct fl_endpoint *peer, uint8_t proto, bool local, uint64_t ts_ns)
{
	const struct who *w = find_who(o, ep, peer, proto, ts_ns);
	if (!w) {
		o->stats->attribution.socket_misses++;
		if (local)
			o->want_scan = true;
		return false;
	}
	o->stats->attribution.socket_hits++;
	const struct cg_slot *cg = w->cgroup_id ? cgroup(o, w->cgroup_id, ts_ns) : NULL;
	const struct workload *wl = cg && cg->known ? &cg->w : NULL;
	const char *name = w->comm;
	char short_id[13];
	if (wl) {
		if (wl->pod_name[0])
			name = wl->pod_name;
		else if (wl->container_name[0])
			name = wl->container_name;
		else if (wl->container_id[0]) {
			snprintf(short_id, sizeof(short_id), "%.12s", wl->container_id);
			name = short_id;
		} else if (wl->unit[0])
			name = wl->unit;
	}
	doc_add_str(d, obj, "name", name);
	if (wl && wl->pod_namespace[0])
		doc_add_str(d, obj, "namespace", wl->pod_namespace);
	uint32_t p = doc_add_obj(d, obj, "process");
	doc_add_int(d, p, "pid", w->pid);
	doc_add_str(d, p, "comm", w->comm);
	if (!wl)
		return true;
	if (wl->cgroup[0])
		doc_add_str(d, obj, "cgroup", wl->cgroup);
	if (wl->container_id[0]) {
		uint32_t c = doc_add_obj(d, obj, "container");
		doc_add_str(d, c, "id", wl->container_id);
		if (wl->container_name[0])
			doc_add_str(d, c, "name", wl->container_name);
	}
	if (wl->pod_uid[0]) {
		uint32_t pod = doc_add_obj(d, obj, "pod");
		if (wl->pod_name[0])
			doc_add_str(d, pod, "name", wl->pod_name);
		if (wl->pod_namespace[0])
			doc_add_str(d, pod, "namespace", wl->pod_namespace);
		doc_add_str(d, pod, "uid", wl->pod_uid);
	}
	if (wl->unit[0])
		doc_add_str(d, obj, "unit", wl->unit);
	return true;
}

void owners_event(struct owners *o, const struct fl_sock_owner *ev, uint64_t ts_ns)
{
	pthread_mutex_lock(&o->lock);
	locked_event(o, ev, ts_ns);
	pthread_mutex_unlock(&o->lock);
}

void owners_scanned(struct owners *o, const struct fl_sock_owner *ev, uint64_t ts_ns)
{
	pthread_mutex_lock(&o->lock);
	locked_scanned(o, ev, ts_ns);
	pthread_mutex_unlock(&o->lock);
}

void owners_refresh_names(struct owners *o)
{
	pthread_mutex_lock(&o->lock);
	locked_refresh_names(o);
	pthread_mutex_unlock(&o->lock);
}

bool owners_want_scan(struct owners *o)
{
	pthread_mutex_lock(&o->lock);
	bool want = locked_want_scan(o);
	pthread_mutex_unlock(&o->lock);
	return want;
}

bool owners_describe(struct owners *o, struct doc *d, uint32_t obj, const struct fl_endpoint *ep,
		     const struct fl_endpoint *peer, uint8_t proto, bool local, uint64_t ts_ns)
{
	pthread_mutex_lock(&o->lock);
	bool named = locked_describe(o, d, obj, ep, peer, proto, local, ts_ns);
	pthread_mutex_unlock(&o->lock);
	return named;
}

void owners_lock(struct owners *o)
{
	if (o)
		pthread_mutex_lock(&o->lock);
}

void owners_unlock(struct owners *o)
{
	if (o)
		pthread_mutex_unlock(&o->lock);
}
