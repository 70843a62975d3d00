// SPDX-License-Identifier: MIT
/*
 * --workers N: this pipeline (the front) reads nothing itself.  The thread
 * that feeds it (the dispatcher) hashes each packet to one of N worker
 * pipelines by a symmetric flow hash, copies it into that worker's ring and
 * hands every other worker the packet's time, so each worker's clock, timers
 * and idle scans move exactly as one pipeline's would.  Each worker stamps its
 * entries with where they fall in one pipeline's order (struct order_key);
 * the dispatcher thread merges them to the sinks by that key once every
 * worker has gone past it (its `done` sequence number), numbers them and
 * names their endpoints from the one name table (the workers hand it the
 * names they learn, in the same order).  The merged output equals one
 * pipeline's.  Counters are per worker and summed when the run ends.
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pipeline_internal.h"
#include "core/bytes.h"
#include "core/decode.h"
#include "core/spsc.h"
#include "report/names.h"
#include "track/icmp.h"

#include "core/hash.h"

#define IN_RING_BYTES (8u << 20)
#define OUT_RING_BYTES (4u << 20)
#define CLOCK_BATCH 64
#define FRAG_MAP 4096
#define DRAIN_EVERY 64
#define TICK_WAIT_NS 5000000ull   /* capture's tick waits for the workers at most 5 ms */

enum { REC_PACKET = 1, REC_CLOCK, REC_FINISH, REC_ENTRY, REC_LEARN, REC_SOCK, REC_DROP, REC_TICK, REC_CALL };

/* capture: a kernel socket event for the flow's worker, and the wall-clock tick for all. */
struct rec_sock {
	struct fl_sock_event ev;
	uint64_t ts_ns;
};

struct rec_tick {
	uint64_t seq, ts_ns;
};

struct rec_call {
	int (*fn)(void *ctx);
	void *ctx;
};

struct rec_packet {
	uint64_t seq, ts_ns;
	uint32_t caplen, len, linktype, ifindex;
	uint8_t direction;
};

struct rec_clock {
	uint64_t first_seq;
	uint64_t n;
	uint64_t ts[];
};

struct rec_entry {
	struct order_key key;
	uint64_t ts_ns;
	uint32_t error, n_nodes, pool_len;
	bool oom;
};
#define REC_ENTRY_NODES ((sizeof(struct rec_entry) + 7) & ~(size_t)7)

struct rec_learn {
	struct order_key key;
	struct fl_addr addr;
	uint64_t expires_ns;
	uint32_t name_len, ns_len;   /* ns_len 0: no namespace; both with their NUL */
	bool pinned;
	char text[];
};

struct worker {
	struct pipeline *p;
	struct pipeline *front;
	struct fl_stats stats;
	struct spsc in, out;
	pthread_t thread;
	bool running;
	uint64_t last;                        /* worker: the last sequence number handled */
	_Alignas(64) _Atomic uint64_t done;   /* published last */
	_Atomic bool stop;                    /* pipeline_free without pipeline_finish */
	_Atomic int called;                   /* REC_CALL: 1 + its result, once it ran */
	_Atomic uint32_t sleeping;            /* idle: waiting on this futex word for a record */
	pthread_mutex_t snap_lock;            /* capture: the counters as of the last tick */
	struct fl_stats snap;
	_Alignas(64) uint64_t clk_first;      /* dispatcher: times not yet sent */
	uint64_t clk_n;
	uint64_t clk_ts[CLOCK_BATCH];
};

struct frag_slot {
	struct fl_addr src, dst;
	uint32_t id;
	uint8_t proto;
	bool used;
	uint16_t worker;
};

struct workers {
	unsigned n;
	struct worker *w;
	bool hooked, finished;
	uint64_t last_ts;
	unsigned since_drain;
	struct frag_slot frags[FRAG_MAP];
};

unsigned n_workers(const struct pipeline *p)
{
	return p->mt ? p->mt->n : 0;
}

struct pipeline *worker_pipeline(struct pipeline *p, unsigned i)
{
	return p->mt->w[i].p;
}

/* A spin-wait hint to the CPU (x86 pause, Arm yield); elsewhere a compiler barrier. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

static void backoff(unsigned *spins)
{
	if (++*spins < 64) {
		cpu_relax();
	} else if (*spins < 256) {
		sched_yield();
	} else {
		struct timespec ts = { 0, 50000 };
		if (*spins > 1u << 30)
			*spins = 1u << 30;      /* no wrap back to spinning */
		nanosleep(&ts, NULL);
	}
}

/*
 * An idle worker (no record for IDLE_SPINS backoffs, about a millisecond) sleeps on a futex
 * instead of napping: an idle capture costs no CPU.  The dispatcher wakes it
 * when it commits a record (a load per record; a syscall only for a sleeper).
 */
#define IDLE_SPINS (256 + 20)
#define IDLE_SLEEP_NS 100000000ll     /* and looks again after 100 ms whatever happens */

static void futex_wait_word(_Atomic uint32_t *word, uint32_t val)
{
	struct timespec ts = { 0, IDLE_SLEEP_NS };
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void wake(struct worker *w)
{
	atomic_thread_fence(memory_order_seq_cst);   /* the commit before the look (Dekker) */
	if (atomic_load_explicit(&w->sleeping, memory_order_relaxed)) {
		atomic_store(&w->sleeping, 0);
		syscall(SYS_futex, (uint32_t *)&w->sleeping, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}

static void commit_in(struct worker *w)
{
	spsc_commit(&w->in);
	wake(w);
}

/* The worker, with nothing to do for a while: sleep until a record comes (or stop). */
static void idle_sleep(struct worker *w)
{
	uint32_t type, len;
	atomic_store(&w->sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (!spsc_peek(&w->in, &type, &len) && !atomic_load(&w->stop))
		futex_wait_word(&w->sleeping, 1);
	atomic_store(&w->sleeping, 0);
}

unsigned pipeline_workers_auto(void)
{
	cpu_set_t set;
	int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	/* Leave one CPU to the kernel's own work (softirqs, the BPF programs) on small machines. */
	if (n <= 4)
		n--;
	if (n > PIPELINE_MAX_WORKERS)
		n = PIPELINE_MAX_WORKERS;
	return n < 1 ? 1 : (unsigned)n;
}

static void publish(struct worker *w)
{
	atomic_store_explicit(&w->done, w->last, memory_order_release);
}

static void worker_emit(void *ctx, const struct doc *d, const struct entry_meta *meta)
{
	struct worker *w = ctx;
	size_t nodes = (size_t)d->n_nodes * sizeof(*d->nodes);
	size_t len = REC_ENTRY_NODES + nodes + d->pool_len;
	struct rec_entry *re;
	unsigned spins = 0;
	if (len > w->out.cap / 4)
		len = REC_ENTRY_NODES;    /* cannot happen (entries are kilobytes): an empty doc */
	while (!(re = spsc_reserve(&w->out, (uint32_t)len, REC_ENTRY))) {
		publish(w);
		if (atomic_load_explicit(&w->stop, memory_order_relaxed))
			return;
		backoff(&spins);
	}
	re->key = w->p->key;
	re->ts_ns = meta->ts_ns;
	re->error = meta->error;
	re->oom = d->oom;
	if (len == REC_ENTRY_NODES) {
		re->n_nodes = re->pool_len = 0;
	} else {
		re->n_nodes = d->n_nodes;
		re->pool_len = d->pool_len;
		memcpy((char *)re + REC_ENTRY_NODES, d->nodes, nodes);
		memcpy((char *)re + REC_ENTRY_NODES + nodes, d->pool, d->pool_len);
	}
	spsc_commit(&w->out);
}

static int worker_learn(void *ctx, const struct fl_addr *addr, const char *name, const char *ns,
			uint64_t expires_ns, bool pinned)
{
	struct worker *w = ctx;
	size_t nl = strlen(name) + 1, sl = ns ? strlen(ns) + 1 : 0;
	struct rec_learn *rl;
	unsigned spins = 0;
	while (!(rl = spsc_reserve(&w->out, (uint32_t)(sizeof(*rl) + nl + sl), REC_LEARN))) {
		publish(w);
		if (atomic_load_explicit(&w->stop, memory_order_relaxed))
			return 0;
		backoff(&spins);
	}
	rl->key = w->p->key;
	rl->addr = *addr;
	rl->expires_ns = expires_ns;
	rl->pinned = pinned;
	rl->name_len = (uint32_t)nl;
	rl->ns_len = (uint32_t)sl;
	memcpy(rl->text, name, nl);
	if (sl)
		memcpy(rl->text + nl, ns, sl);
	spsc_commit(&w->out);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pipeline *p = w->p;
	unsigned spins = 0, since = 0;
	for (;;) {
		uint32_t type, len;
		const void *r = spsc_peek(&w->in, &type, &len);
		if (!r) {
			if (since) {
				publish(w);
				since = 0;
			}
			if (atomic_load_explicit(&w->stop, memory_order_relaxed))
				break;
			if (spins >= IDLE_SPINS)
				idle_sleep(w);
			else
				backoff(&spins);
			continue;
		}
		spins = 0;
		if (type == REC_PACKET) {
			const struct rec_packet *rp = r;
			struct fl_packet pkt = {
				.ts_ns = rp->ts_ns, .data = (const uint8_t *)(rp + 1),
				.caplen = rp->caplen, .len = rp->len, .linktype = rp->linktype,
				.ifindex = rp->ifindex, .direction = rp->direction,
			};
			p->seq = rp->seq;
			pipeline_handle(p, &pkt);
			w->last = rp->seq;
		} else if (type == REC_CLOCK) {
			const struct rec_clock *rc = r;
			for (uint64_t i = 0; i < rc->n; i++)
				pipeline_foreign_clock(p, rc->first_seq + i, rc->ts[i]);
			w->last = rc->first_seq + rc->n - 1;
		} else if (type == REC_SOCK) {
			const struct rec_sock *rs = r;
			pipeline_sock_event(p, &rs->ev, rs->ts_ns);
		} else if (type == REC_DROP) {
			pipeline_drop(p, r);
		} else if (type == REC_CALL) {
			const struct rec_call *rc = r;
			int res = rc->fn(rc->ctx);
			atomic_store_explicit(&w->called, res < 0 ? -1 : 1, memory_order_release);
		} else if (type == REC_TICK) {
			const struct rec_tick *rt = r;
			pipeline_foreign_clock(p, rt->seq, rt->ts_ns);
			w->last = rt->seq;
			/* The live stats (control socket, metrics) read this copy, not the counters. */
			pthread_mutex_lock(&w->snap_lock);
			w->snap = w->stats;
			pthread_mutex_unlock(&w->snap_lock);
		} else if (type == REC_FINISH) {
			spsc_pop(&w->in);
			pipeline_finish(p);
			w->last = SEQ_FINISH;
			publish(w);
			break;
		}
		spsc_pop(&w->in);
		if (++since >= 32) {
			publish(w);
			since = 0;
		}
	}
	stream_thread_end();
	return NULL;
}

/* ---- the dispatcher ---- */

static inline uint64_t endpoint_hash(const struct fl_addr *a, uint16_t port)
{
	uint64_t w0, w1;
	memcpy(&w0, a->bytes, 8);
	memcpy(&w1, a->bytes + 8, 8);
	return mix64(w0 ^ mix64(w1 ^ ((uint64_t)port << 8) ^ a->family));
}

/* Symmetric: both directions of a flow give the same worker. */
static unsigned pick(const struct workers *mt, const struct fl_addr *a, uint16_t pa,
		     const struct fl_addr *b, uint16_t pb, uint8_t proto)
{
	uint64_t h = mix64(endpoint_hash(a, pa) + endpoint_hash(b, pb) + proto);
	return (unsigned)((h >> 32) % mt->n);
}

/*
 * A fragment goes where its datagram's flow goes: the first fragment names
 * the ports; the others follow it by (addresses, protocol, id).  A fragment
 * that comes before its first goes by the addresses and id, and the rest of
 * its datagram follows it there.
 */
static unsigned pick(const struct workers *mt, const struct fl_addr *a, uint16_t pa,
		     const struct fl_addr *b, uint16_t pb, uint8_t proto);

/*
 * The first fragment of an IPv4 datagram to a tunnel port: the flow is
 * inside, so decode its first bytes as if the datagram were whole.
 */
static bool tunneled_fragment_flow(const struct decoded *outer, const struct fl_fragment *fr,
				   struct decoded *in)
{
	uint8_t buf[640];
	uint32_t hl = fr->ip_hdr_len;
	if (!outer || !fr->ip_hdr || hl < 20 || hl > 60 || (fr->ip_hdr[0] >> 4) != 4)
		return false;
	uint32_t n = fr->data_caplen < sizeof(buf) - hl ? fr->data_caplen : (uint32_t)sizeof(buf) - hl;
	memcpy(buf, fr->ip_hdr, hl);
	memcpy(buf + hl, fr->data, n);
	buf[6] &= 0x40;      /* DF stays; MF and the offset go */
	buf[7] = 0;
	buf[2] = (uint8_t)((hl + n) >> 8);
	buf[3] = (uint8_t)(hl + n);
	buf[hl + 4] = (uint8_t)(n >> 8);     /* the UDP length: what is here (n >= 8) */
	buf[hl + 5] = (uint8_t)n;
	*in = *outer;
	return decode_reassembled(buf, hl + n, fr->depth, in) == DECODE_OK && !in->fragment &&
	       (in->l4proto == FL_IPPROTO_TCP || in->l4proto == FL_IPPROTO_UDP);
}

static unsigned pick_fragment(struct workers *mt, const struct fl_addr *src,
			      const struct fl_addr *dst, const struct fl_fragment *fr,
			      const struct decoded *outer)
{
	uint64_t h = mix64(endpoint_hash(src, 0) + endpoint_hash(dst, 0) + fr->proto) ^ mix64(fr->id);
	struct frag_slot *s = &mt->frags[h % FRAG_MAP];
	bool same = s->used && s->id == fr->id && s->proto == fr->proto &&
		    addr_equal(&s->src, src) && addr_equal(&s->dst, dst);
	if (same)
		return s->worker;
	unsigned w = (unsigned)((h >> 32) % mt->n);
	if (fr->offset == 0 && fr->data_caplen >= 8) {
		uint16_t a = be16(fr->data), b = be16(fr->data + 2), id = be16(fr->data + 4);
		struct decoded in;
		if (fr->proto == FL_IPPROTO_UDP && decode_is_tunnel_port(a, b) &&
		    tunneled_fragment_flow(outer, fr, &in))
			w = pick(mt, &in.src, in.sport, &in.dst, in.dport, in.l4proto);
		else if (fr->proto == FL_IPPROTO_TCP || fr->proto == FL_IPPROTO_UDP)
			w = pick(mt, src, a, dst, b, fr->proto);
		else if (fr->proto == FL_IPPROTO_ICMP || fr->proto == FL_IPPROTO_ICMPV6)
			w = pick(mt, src, id, dst, id, fr->proto);
	}
	*s = (struct frag_slot){ .src = *src, .dst = *dst, .id = fr->id, .proto = fr->proto,
				 .used = true, .worker = (uint16_t)w };
	return w;
}

static unsigned pick_worker(struct workers *mt, const struct fl_packet *pkt)
{
	struct decoded d;
	struct icmp_info icmp;
	enum decode_result r = decode_packet(pkt, &d);
	if (r == DECODE_FRAGMENT)
		return pick_fragment(mt, &d.src, &d.dst, &d.frag, &d);
	if (r != DECODE_OK)
		return 0;
	switch (d.l4proto) {
	case FL_IPPROTO_TCP:
	case FL_IPPROTO_UDP:
		return pick(mt, &d.src, d.sport, &d.dst, d.dport, d.l4proto);
	case FL_IPPROTO_ICMP:
	case FL_IPPROTO_ICMPV6:
		if (icmp_parse(&d, &icmp) < 0)
			break;
		if (icmp.is_echo_request || icmp.is_echo_reply)
			return pick(mt, &d.src, icmp.echo_id, &d.dst, icmp.echo_id, d.l4proto);
		if (icmp.has_quote) {
			/* An ICMP error goes to the flow it quotes. */
			const struct decoded *q = &icmp.quote;
			uint8_t echo_req = q->l4proto == FL_IPPROTO_ICMPV6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
			if (q->is_fragment)
				return pick_fragment(mt, &q->src, &q->dst, &q->frag, NULL);
			if ((q->l4proto == FL_IPPROTO_TCP || q->l4proto == FL_IPPROTO_UDP) && !q->l4_missing)
				return pick(mt, &q->src, q->sport, &q->dst, q->dport, q->l4proto);
			if ((q->l4proto == FL_IPPROTO_ICMP || q->l4proto == FL_IPPROTO_ICMPV6) &&
			    !q->fragment && q->l4 && q->l4_caplen >= 8 && q->l4[0] == echo_req) {
				uint16_t id = be16(q->l4 + 4);
				return pick(mt, &q->src, id, &q->dst, id, q->l4proto);
			}
			return pick(mt, &q->src, 0, &q->dst, 0, 0);
		}
		break;
	default:
		break;
	}
	return pick(mt, &d.src, 0, &d.dst, 0, 0);
}

static void workers_drain(struct pipeline *fp);

/* Room in a worker's ring, waiting (and merging meanwhile) while it is full. */
static void *ring_wait(struct pipeline *fp, struct worker *w, uint32_t len, uint32_t type)
{
	void *m;
	unsigned spins = 0;
	while (!(m = spsc_reserve(&w->in, len, type))) {
		/* The others' clocks go out, so that they get past what this one waits to merge. */
		for (unsigned i = 0; i < fp->mt->n; i++) {
			struct worker *o = &fp->mt->w[i];
			struct rec_clock *rc;
			if (o == w || !o->clk_n ||
			    !(rc = spsc_reserve(&o->in, (uint32_t)(sizeof(*rc) + o->clk_n * 8), REC_CLOCK)))
				continue;
			rc->first_seq = o->clk_first;
			rc->n = o->clk_n;
			memcpy(rc->ts, o->clk_ts, o->clk_n * 8);
			commit_in(o);
			o->clk_n = 0;
		}
		workers_drain(fp);
		backoff(&spins);
	}
	return m;
}

static void flush_clock(struct pipeline *fp, struct worker *w)
{
	if (!w->clk_n)
		return;
	struct rec_clock *rc = ring_wait(fp, w, (uint32_t)(sizeof(*rc) + w->clk_n * 8), REC_CLOCK);
	rc->first_seq = w->clk_first;
	rc->n = w->clk_n;
	memcpy(rc->ts, w->clk_ts, w->clk_n * 8);
	commit_in(w);
	w->clk_n = 0;
}

/* The sinks are known now: the workers build entries only when someone reads them. */
static void workers_hook(struct pipeline *fp)
{
	struct workers *mt = fp->mt;
	mt->hooked = true;
	if (!fp->em.n_sinks)
		return;
	for (unsigned i = 0; i < mt->n; i++)
		emitter_add_sink(&mt->w[i].p->em, (struct entry_sink){ worker_emit, &mt->w[i] });
}

void workers_packet(struct pipeline *fp, const struct fl_packet *pkt)
{
	struct workers *mt = fp->mt;
	if (!mt->hooked)
		workers_hook(fp);
	uint64_t seq = ++fp->seq;
	if (seq > 1 && pkt->ts_ns < mt->last_ts)
		fp->stats->packets.time_reversals++;
	mt->last_ts = pkt->ts_ns;
	/* The observers (the recorder, without --write-filter) see the packets in arrival order. */
	for (unsigned i = 0; i < fp->n_observers; i++)
		fp->observers[i].packet(fp->observers[i].ctx, pkt, NULL);
	unsigned t = pick_worker(mt, pkt);
	for (unsigned i = 0; i < mt->n; i++) {
		struct worker *w = &mt->w[i];
		if (i == t)
			continue;
		if (!w->clk_n)
			w->clk_first = seq;
		w->clk_ts[w->clk_n++] = pkt->ts_ns;
		if (w->clk_n == CLOCK_BATCH)
			flush_clock(fp, w);
	}
	struct worker *w = &mt->w[t];
	flush_clock(fp, w);
	struct rec_packet *rp = ring_wait(fp, w, (uint32_t)(sizeof(*rp) + pkt->caplen), REC_PACKET);
	*rp = (struct rec_packet){ .seq = seq, .ts_ns = pkt->ts_ns, .caplen = pkt->caplen,
				   .len = pkt->len, .linktype = pkt->linktype,
				   .ifindex = pkt->ifindex, .direction = pkt->direction };
	memcpy(rp + 1, pkt->data, pkt->caplen);
	commit_in(w);
	if (++mt->since_drain >= DRAIN_EVERY) {
		mt->since_drain = 0;
		workers_drain(fp);
	}
}

/* Room for a record of `len` bytes for worker t, its clock first (it moves as one pipeline's). */
static void *to_worker(struct pipeline *fp, unsigned t, uint32_t len, uint32_t type)
{
	struct workers *mt = fp->mt;
	if (!mt->hooked)
		workers_hook(fp);
	flush_clock(fp, &mt->w[t]);
	return ring_wait(fp, &mt->w[t], len, type);
}

static void to_addr(struct fl_addr *a, unsigned family, const uint8_t *bytes)
{
	*a = (struct fl_addr){ .family = (uint8_t)family };
	memcpy(a->bytes, bytes, family == 6 ? 16 : 4);
}

/* A socket event goes to the worker of its connection (the flow it is joined with). */
void workers_sock_event(struct pipeline *fp, const struct fl_sock_event *ev, uint64_t ts_ns)
{
	struct fl_addr local, remote;
	unsigned family = ev->family == 10 ? 6 : 4;
	to_addr(&local, family, ev->saddr);
	to_addr(&remote, family, ev->daddr);
	unsigned t = pick(fp->mt, &local, ev->sport, &remote, ev->dport, FL_IPPROTO_TCP);
	struct rec_sock *rs = to_worker(fp, t, sizeof(*rs), REC_SOCK);
	rs->ev = *ev;
	rs->ts_ns = ts_ns;
	commit_in(&fp->mt->w[t]);
}

/*
 * A drop goes to the worker of the flow its 5-tuple names (an ICMP echo's by
 * its id, as the packets go); one of another protocol by its addresses; one
 * with no IP header (not IP) to worker 0.
 */
void workers_drop(struct pipeline *fp, const struct fl_drop_record *r)
{
	struct workers *mt = fp->mt;
	unsigned t = 0;
	if (r->family == 4 || r->family == 6) {
		struct fl_addr src, dst;
		to_addr(&src, r->family, r->saddr);
		to_addr(&dst, r->family, r->daddr);
		bool icmp = r->l4proto == FL_IPPROTO_ICMP || r->l4proto == FL_IPPROTO_ICMPV6;
		if (r->l4proto == FL_IPPROTO_TCP || r->l4proto == FL_IPPROTO_UDP ||
		    (icmp && r->sport == r->dport && r->sport))
			t = pick(mt, &src, r->sport, &dst, r->dport, r->l4proto);
		else
			t = pick(mt, &src, 0, &dst, 0, 0);
	}
	struct fl_drop_record *rd = to_worker(fp, t, sizeof(*rd), REC_DROP);
	*rd = *r;
	commit_in(&mt->w[t]);
}

/*
 * capture's wall-clock tick: a point in the order every worker passes (as a
 * packet's time does), so each judges its timeouts and publishes it.  The tick
 * waits up to TICK_WAIT_NS for them, then hands on every entry made before it:
 * the merge delay is one tick (200 ms) at most, unless a worker is that far
 * behind, and then its entries go out on the first tick after it catches up.
 */
void workers_tick(struct pipeline *fp, uint64_t now_ns)
{
	struct workers *mt = fp->mt;
	if (!mt->hooked)
		workers_hook(fp);
	uint64_t seq = ++fp->seq;
	for (unsigned i = 0; i < mt->n; i++) {
		struct rec_tick *rt = to_worker(fp, i, sizeof(*rt), REC_TICK);
		rt->seq = seq;
		rt->ts_ns = now_ns;
		commit_in(&mt->w[i]);
	}
	/* A moment (TICK_WAIT_NS at most) for them to get there: then everything before the
	 * tick goes out now, not a tick later. */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned spins = 0;;) {
		workers_drain(fp);
		bool all = true;
		for (unsigned i = 0; i < mt->n && all; i++)
			all = atomic_load_explicit(&mt->w[i].done, memory_order_acquire) >= seq;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (all || (uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t.tv_nsec -
				   (uint64_t)t0.tv_nsec >= TICK_WAIT_NS)
			break;
		backoff(&spins);
	}
	workers_drain(fp);
}

int workers_on_threads(struct pipeline *fp, int (*fn)(void *ctx), void *ctx)
{
	struct workers *mt = fp->mt;
	int rc = 0;
	for (unsigned i = 0; i < mt->n; i++) {
		atomic_store(&mt->w[i].called, 0);
		struct rec_call *c = ring_wait(fp, &mt->w[i], sizeof(*c), REC_CALL);
		c->fn = fn;
		c->ctx = ctx;
		commit_in(&mt->w[i]);
	}
	for (unsigned i = 0; i < mt->n; i++) {
		unsigned spins = 0;
		int got;
		while (!(got = atomic_load_explicit(&mt->w[i].called, memory_order_acquire))) {
			workers_drain(fp);
			backoff(&spins);
		}
		if (got < 0)
			rc = -1;
	}
	return rc;
}

/* ---- the merge ---- */

static void add_u64s(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

static int key_cmp(const struct order_key *a, const struct order_key *b)
{
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->k1 != b->k1)
		return a->k1 < b->k1 ? -1 : 1;
	if (a->k2 != b->k2)
		return a->k2 < b->k2 ? -1 : 1;
	return 0;
}

/* `name` and `namespace` of the endpoint `key` ("src" or "dst"), as entry_begin adds them. */
static void merge_name(struct pipeline *fp, const char *key, uint64_t ts_ns)
{
	struct doc *d = &fp->em.doc;
	uint32_t obj = doc_get(d, DOC_ROOT, key);
	const char *ip = obj == DOC_NONE ? NULL : doc_path_str(d, obj, "ip");
	struct fl_addr a;
	const char *ns, *name;
	/* A socket owner (capture) named it already, as entry_add_name prefers. */
	if (!ip || doc_get(d, obj, "name") != DOC_NONE || addr_parse(&a, ip) < 0 ||
	    !(name = names_lookup(fp->em.names, &a, ts_ns, &ns)))
		return;
	doc_add_str(d, obj, "name", name);
	if (ns)
		doc_add_str(d, obj, "namespace", ns);
}

static void merge_one(struct pipeline *fp, uint32_t type, const void *r)
{
	if (type == REC_LEARN) {
		const struct rec_learn *rl = r;
		names_learn(fp->em.names, &rl->addr, rl->text,
			    rl->ns_len ? rl->text + rl->name_len : NULL, rl->expires_ns, rl->pinned);
		return;
	}
	const struct rec_entry *re = r;
	const struct doc_node *nodes = (const void *)((const char *)re + REC_ENTRY_NODES);
	const char *pool = (const char *)(nodes + re->n_nodes);
	struct doc *d = &fp->em.doc;
	if (!doc_load(d, nodes, re->n_nodes, pool, re->pool_len, re->oom)) {
		doc_reset(d);
		d->oom = true;
	}
	struct entry_meta meta = { .error = (enum fl_error_type)re->error, .ts_ns = re->ts_ns,
				   .id = fp->em.next_id++ };
	uint32_t id = doc_get(d, DOC_ROOT, "id");
	if (id != DOC_NONE)
		d->nodes[id].v.i = (int64_t)meta.id;
	if (fp->em.names) {
		merge_name(fp, "src", re->ts_ns);
		merge_name(fp, "dst", re->ts_ns);
	}
	for (unsigned i = 0; i < fp->em.n_sinks; i++)
		fp->em.sinks[i].emit(fp->em.sinks[i].ctx, d, &meta);
}

/* Hand on every entry no worker can come before any more. */
static void workers_drain(struct pipeline *fp)
{
	struct workers *mt = fp->mt;
	for (;;) {
		int best = -1;
		struct order_key bk = { 0 };
		uint64_t min_done = SEQ_FINISH;
		const void *br = NULL;
		uint32_t btype = 0;
		for (unsigned i = 0; i < mt->n; i++) {
			struct worker *w = &mt->w[i];
			/* done first: what it covers was committed before it */
			uint64_t done = atomic_load_explicit(&w->done, memory_order_acquire);
			uint32_t type, len;
			const void *r = spsc_peek(&w->out, &type, &len);
			if (!r) {
				if (done < min_done)
					min_done = done;
				continue;
			}
			const struct order_key *k = r;   /* first in both record types */
			if (best < 0 || key_cmp(k, &bk) < 0) {
				best = (int)i;
				bk = *k;
				br = r;
				btype = type;
			}
		}
		if (best < 0 || bk.seq > min_done)
			return;
		merge_one(fp, btype, br);
		spsc_pop(&mt->w[best].out);
	}
}

/*
 * The workers' counters added to *s (each worker's memory counts its own
 * tables; its limit is its share of the front's, so the front's stays).
 * `snap`: their copies as of the last tick (capture, while they run).
 */
static void workers_add_stats(const struct pipeline *fp, struct fl_stats *s, bool snap)
{
	const struct workers *mt = fp->mt;
	uint64_t limit = s->memory.limit_bytes;
	for (unsigned i = 0; i < mt->n; i++) {
		struct worker *w = &mt->w[i];
		if (snap)
			pthread_mutex_lock(&w->snap_lock);
		const struct fl_stats *ws = snap ? &w->snap : &w->stats;
#define ADD_ALL(field) add_u64s((uint64_t *)&s->field, (const uint64_t *)&ws->field, \
				sizeof(s->field) / sizeof(uint64_t))
		ADD_ALL(packets);
		ADD_ALL(flows);
		ADD_ALL(tcp);
		ADD_ALL(ip);
		ADD_ALL(tunnels);
		ADD_ALL(icmp);
		ADD_ALL(entries);
		ADD_ALL(memory);
#undef ADD_ALL
		s->capture.skipped_bytes += ws->capture.skipped_bytes;
		s->capture.skip_requests += ws->capture.skip_requests;
		s->capture.frame_disagreements += ws->capture.frame_disagreements;
		if (snap)
			pthread_mutex_unlock(&w->snap_lock);
	}
	s->memory.limit_bytes = limit;
}

void workers_stats(struct pipeline *fp, struct fl_stats *out)
{
	owners_lock(fp->em.owners);
	*out = *fp->stats;
	owners_unlock(fp->em.owners);
	if (!fp->mt->finished)
		workers_add_stats(fp, out, true);
}

void workers_finish(struct pipeline *fp)
{
	struct workers *mt = fp->mt;
	if (mt->finished)
		return;
	if (!mt->hooked)
		workers_hook(fp);
	for (unsigned i = 0; i < mt->n; i++) {
		flush_clock(fp, &mt->w[i]);
		ring_wait(fp, &mt->w[i], 0, REC_FINISH);
		commit_in(&mt->w[i]);
	}
	unsigned spins = 0;
	for (;;) {
		workers_drain(fp);
		bool all = true;
		uint32_t type, len;
		for (unsigned i = 0; i < mt->n && all; i++)
			all = atomic_load_explicit(&mt->w[i].done, memory_order_acquire) == SEQ_FINISH &&
			      !spsc_peek(&mt->w[i].out, &type, &len);
		if (all)
			break;
		backoff(&spins);
	}
	for (unsigned i = 0; i < mt->n; i++) {
		pthread_join(mt->w[i].thread, NULL);
		mt->w[i].running = false;
	}
	mt->finished = true;
	workers_add_stats(fp, fp->stats, false);
}

void workers_free(struct pipeline *fp)
{
	struct workers *mt = fp->mt;
	for (unsigned i = 0; i < mt->n; i++) {
		struct worker *w = &mt->w[i];
		if (w->running) {
			atomic_store(&w->stop, true);
			wake(w);
			pthread_join(w->thread, NULL);
		}
		if (w->p)
			w->p->em.owners = NULL;    /* the front's, shared */
		pipeline_free(w->p);
		pthread_mutex_destroy(&w->snap_lock);
		spsc_free(&w->in);
		spsc_free(&w->out);
	}
	free(mt->w);
	free(mt);
	names_free(fp->em.names);
	owners_free(fp->em.owners);
	emitter_free(&fp->em);
	free(fp);
}

/* A bound's share for one of n workers (at least 1). */
static uint64_t share(uint64_t bound, unsigned n)
{
	uint64_t s = bound / n;
	return s ? s : 1;
}

struct pipeline *workers_new(const struct fl_config *cfg, struct fl_stats *stats, unsigned n)
{
	struct pipeline *fp = calloc(1, sizeof(*fp));
	struct workers *mt = calloc(1, sizeof(*mt));
	struct worker *ws = aligned_alloc(64, ((n * sizeof(*ws)) + 63) & ~(size_t)63);
	if (!fp || !mt || !ws) {
		free(fp);
		free(mt);
		free(ws);
		errno = ENOMEM;
		return NULL;
	}
	memset(ws, 0, n * sizeof(*ws));
	fp->cfg = *cfg;
	fp->stats = stats;
	fp->mt = mt;
	mt->n = n;
	mt->w = ws;
	emitter_init(&fp->em, stats);
	fp->em.names = names_new(cfg->max_names, stats);
	/* The bounds are split between the workers. */
	struct fl_config wc = *cfg;
	wc.workers = 1;
	wc.max_flows = share(cfg->max_flows, n);
	wc.reassembly_memcap_mb = share(cfg->reassembly_memcap_mb, n);
	wc.defrag_memcap_mb = share(cfg->defrag_memcap_mb, n);
	bool ok = fp->em.names != NULL;
	for (unsigned i = 0; i < n && ok; i++) {
		struct worker *w = &ws[i];
		w->front = fp;
		pthread_mutex_init(&w->snap_lock, NULL);
		/* 0 stays 0: no limit */
		w->stats.memory.limit_bytes = stats->memory.limit_bytes ?
			share(stats->memory.limit_bytes, n) : 0;
		w->stats.capture.backend = stats->capture.backend;
		w->p = pipeline_new(&wc, &w->stats);
		ok = w->p && flow_table_keep_order(w->p->flows) == 0 && spsc_init(&w->in, IN_RING_BYTES) == 0 &&
		     spsc_init(&w->out, OUT_RING_BYTES) == 0;
		if (ok) {
			w->p->worker = true;
			names_free(w->p->em.names);
			w->p->em.names = names_new_forward(worker_learn, w);
			ok = w->p->em.names && pthread_create(&w->thread, NULL, worker_main, w) == 0;
			w->running = ok;
		}
	}
	if (!ok) {
		workers_free(fp);
		errno = ENOMEM;
		return NULL;
	}
	return fp;
}
