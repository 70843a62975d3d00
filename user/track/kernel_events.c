// SPDX-License-Identifier: MIT
#include "track/kernel_events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/config.h"
#include "core/decode.h"
#include "core/flow.h"
#include "report/entry.h"
#include "report/stats.h"
#include "track/track.h"

#define PENDING_MAX 512
#define TOMBSTONES 4096          /* flows the packet view finished with, remembered a while */
#define GRACE_NS 2000000000ull   /* the packet view reports within a tick or two */

struct pending {
	struct fl_sock_event ev;
	uint64_t due_ns;
	bool used;
};

/* What the packet view knew of a connection it has let go of. */
struct tombstone {
	struct flow_key key;
	uint8_t reported, state;
};

/*
 * Another namespace's socket counts only through a flow the capture has (the tracepoints see
 * every namespace): without one its event would crowd out ours.  A RST is the exception for a
 * moment: the kernel's ring is read before the packets, so a RST sent for a SYN still unread
 * waits here to join the entry its packet makes, and is otherwise forgotten.
 */
#define FOREIGN_MAX 256

struct kernel_events {
	struct pending foreign[FOREIGN_MAX];
	unsigned next_foreign;
	struct pending slots[PENDING_MAX];
	unsigned next;           /* round robin: when full the oldest slot is reused */
	struct tombstone *tombs; /* ring of TOMBSTONES */
	unsigned next_tomb;
	uint64_t own_netns;
};

struct kernel_events *kernel_events_new(void)
{
	struct kernel_events *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->tombs = calloc(TOMBSTONES, sizeof(*k->tombs));
	if (!k->tombs) {
		free(k);
		return NULL;
	}
	return k;
}

void kernel_events_set_netns(struct kernel_events *k, uint64_t netns_ino)
{
	k->own_netns = netns_ino;
}

void kernel_events_free(struct kernel_events *k)
{
	if (k)
		free(k->tombs);
	free(k);
}

void kernel_events_forget_flow(struct kernel_events *k, const struct track_env *env,
			       const struct flow *f)
{
	if (f->key.proto != FL_IPPROTO_TCP)
		return;
	const struct tcp_conn *c = track_tcp(env, f);
	struct tombstone *t = &k->tombs[k->next_tomb];
	k->next_tomb = (k->next_tomb + 1) % TOMBSTONES;
	*t = (struct tombstone){ .key = f->key, .reported = c->reported, .state = c->state };
}

static const struct tombstone *find_tomb(const struct kernel_events *k, const struct fl_addr *a,
					 uint16_t ap, const struct fl_addr *b, uint16_t bp)
{
	for (unsigned i = 0; i < TOMBSTONES; i++) {
		const struct tombstone *t = &k->tombs[i];
		if (t->key.proto != FL_IPPROTO_TCP)
			continue;
		if ((addr_equal(&t->key.addr[0], a) && t->key.port[0] == ap &&
		     addr_equal(&t->key.addr[1], b) && t->key.port[1] == bp) ||
		    (addr_equal(&t->key.addr[0], b) && t->key.port[0] == bp &&
		     addr_equal(&t->key.addr[1], a) && t->key.port[1] == ap))
			return t;
	}
	return NULL;
}

/* b may be a socket that has left CLOSE: by then its local port is released (0). */
static bool same_socket(const struct fl_sock_event *a, const struct fl_sock_event *b)
{
	return a->family == b->family && (a->sport == b->sport || b->sport == 0) &&
	       a->dport == b->dport &&
	       a->netns_cookie == b->netns_cookie && !memcmp(a->saddr, b->saddr, 16) &&
	       !memcmp(a->daddr, b->daddr, 16);
}

void kernel_events_add(struct kernel_events *k, struct flow_table *flows,
		       const struct fl_sock_event *ev, uint64_t ts_ns, uint64_t timeout_ns)
{
	uint64_t due = ts_ns + GRACE_NS;

	if (ev->netns_ino != k->own_netns) {
		struct fl_addr local = { .family = ev->family == 10 ? 6 : 4 }, remote = local;
		int side;
		memcpy(local.bytes, ev->saddr, local.family == 6 ? 16 : 4);
		memcpy(remote.bytes, ev->daddr, local.family == 6 ? 16 : 4);
		if (!flow_find(flows, &local, ev->sport, &remote, ev->dport, FL_IPPROTO_TCP, &side)) {
			if (ev->kind == FL_SOCK_RESET_SEND || ev->kind == FL_SOCK_RESET_RECV) {
				k->foreign[k->next_foreign] = (struct pending){ .ev = *ev, .due_ns = due,
									  .used = true };
				k->next_foreign = (k->next_foreign + 1) % FOREIGN_MAX;
			}
			return;
		}
	}

	/* A socket that left CLOSE_WAIT or LAST_ACK before the timeout was no condition. */
	if (ev->kind == FL_SOCK_CLOSED || ev->kind == FL_SOCK_LAST_ACK) {
		for (unsigned i = 0; i < PENDING_MAX; i++) {
			struct pending *p = &k->slots[i];
			if (p->used && (p->ev.kind == FL_SOCK_CLOSE_WAIT || p->ev.kind == FL_SOCK_LAST_ACK) &&
			    same_socket(&p->ev, ev) && ts_ns < p->due_ns - GRACE_NS)
				p->used = false;
		}
	}
	switch (ev->kind) {
	case FL_SOCK_CLOSED:
		return;
	case FL_SOCK_CLOSE_WAIT:
	case FL_SOCK_LAST_ACK:
		due += timeout_ns;
		break;
	case FL_SOCK_SYN_SENT_CLOSE:
	case FL_SOCK_RESET_RECV:
	case FL_SOCK_RESET_SEND:
		break;
	default:
		return;
	}
	struct pending *p = &k->slots[k->next];
	k->next = (k->next + 1) % PENDING_MAX;
	*p = (struct pending){ .ev = *ev, .due_ns = due, .used = true };
}

static void endpoint(struct fl_endpoint *ep, const uint8_t *addr, uint16_t port, uint16_t family)
{
	memset(ep, 0, sizeof(*ep));
	ep->addr.family = family == 10 ? 6 : 4;   /* AF_INET6 : AF_INET */
	memcpy(ep->addr.bytes, addr, family == 10 ? 16 : 4);
	ep->port = port;
	ep->has_port = true;
}

/* The packet view's bit for an event's condition. */
static uint8_t condition_bit(uint8_t kind)
{
	switch (kind) {
	case FL_SOCK_SYN_SENT_CLOSE: return TCP_REPORTED_SYN_SENT;
	case FL_SOCK_CLOSE_WAIT: return TCP_REPORTED_CLOSE_WAIT;
	case FL_SOCK_LAST_ACK: return TCP_REPORTED_LAST_ACK;
	default: return TCP_REPORTED_RESET;
	}
}

/*
 * Is the local end of the event's socket the client (the end that connected)?  The kernel
 * knows for sockets it saw open; a flow the packets saw open knows too; else, as the packet
 * view guesses, the client is on the higher (ephemeral) port.
 */
static bool local_is_client(const struct fl_sock_event *ev, const struct flow *f,
			    const struct fl_endpoint *local)
{
	if (ev->kind == FL_SOCK_SYN_SENT_CLOSE || ev->initiator == FL_INIT_LOCAL)
		return true;
	if (ev->initiator == FL_INIT_REMOTE)
		return false;
	if (f && f->client_known)
		return addr_equal(&f->key.addr[f->client], &local->addr) &&
		       f->key.port[f->client] == local->port;
	return ev->sport > ev->dport;
}

/* SynSent's tcp.reason from the error the connect ended with. */
static const char *syn_sent_reason(uint8_t err)
{
	switch (err) {
	case ECONNREFUSED: return "refused";
	case EHOSTUNREACH:
	case ENETUNREACH: return "unreachable";
	default: return "timeout";   /* ETIMEDOUT, or the application gave up waiting */
	}
}

/*
 * An entry for a condition only the kernel saw, oriented as the packet view's are: src the
 * client, dst the server, the same words (reset_by, closed_by: client or server).
 */
static void report(struct track_env *env, const struct fl_sock_event *ev, struct flow *f,
		   uint64_t ts_ns)
{
	struct fl_endpoint local, remote;
	const char *message;
	endpoint(&local, ev->saddr, ev->sport, ev->family);
	endpoint(&remote, ev->daddr, ev->dport, ev->family);
	bool lc = local_is_client(ev, f, &local);
	/* Connect failures begin when the connect did, as the packet view's SynSent. */
	uint64_t waited = ev->since_ns && ev->ts_ns > ev->since_ns ? ev->ts_ns - ev->since_ns : 0;

	switch (ev->kind) {
	case FL_SOCK_SYN_SENT_CLOSE: message = "SynSent"; env->stats->tcp.syn_sent++; break;
	case FL_SOCK_CLOSE_WAIT: message = "CloseWait"; env->stats->tcp.close_wait++; break;
	case FL_SOCK_LAST_ACK: message = "LastAck"; env->stats->tcp.last_ack++; break;
	default: message = "Reset"; env->stats->tcp.reset++; break;
	}
	struct doc *d = entry_begin(env->em, ev->kind == FL_SOCK_SYN_SENT_CLOSE ? ts_ns - waited : ts_ns,
				    "tcp", lc ? &local : &remote, lc ? &remote : &local, f);
	entry_set_error(env->em, FL_ERR_TCP, message, NULL);
	uint32_t tcp = doc_add_obj(d, DOC_ROOT, "tcp");
	const char *local_word = lc ? "client" : "server", *remote_word = lc ? "server" : "client";
	switch (ev->kind) {
	case FL_SOCK_SYN_SENT_CLOSE:
		doc_add_str(d, tcp, "reason", syn_sent_reason(ev->err));
		doc_add_int(d, tcp, "syn_retries", ev->retries);
		doc_add_int(d, tcp, "waited_ms", (int64_t)(waited / 1000000));
		break;
	case FL_SOCK_RESET_SEND:
	case FL_SOCK_RESET_RECV:
		doc_add_str(d, tcp, "reset_by", ev->kind == FL_SOCK_RESET_SEND ? local_word : remote_word);
		break;
	case FL_SOCK_CLOSE_WAIT:
		doc_add_str(d, tcp, "closed_by", remote_word);
		doc_add_int(d, tcp, "waited_ms", (int64_t)env->cfg->stream_timeout_ms);
		break;
	default:
		doc_add_int(d, tcp, "waited_ms", (int64_t)env->cfg->stream_timeout_ms);
		break;
	}
	const char *err = ev->err ? strerrorname_np(ev->err) : NULL;
	if (err)
		doc_add_str(d, tcp, "errno", err);
	doc_add_str(d, tcp, "source", "kernel");
	entry_commit(env->em);
}

/* A reset that hit a connection (not a connect, a listener, TIME-WAIT or no socket at all). */
static bool resets_a_connection(const struct fl_sock_event *ev)
{
	switch (ev->oldstate) {
	case FL_RST_NO_SOCKET:
	case 2:    /* SYN_SENT: a refused connect, the SynSent condition */
	case 6:    /* TIME_WAIT: the answer to a segment of an ended connection */
	case 10:   /* LISTEN */
	case 12:   /* NEW_SYN_RECV: a request, no connection yet */
		return false;
	default:
		return true;
	}
}

static bool event_of_flow(const struct fl_sock_event *ev, const struct flow *f, int *local_side)
{
	struct fl_endpoint local, remote;
	endpoint(&local, ev->saddr, ev->sport, ev->family);
	endpoint(&remote, ev->daddr, ev->dport, ev->family);
	for (int side = 0; side < 2; side++) {
		if (addr_equal(&f->key.addr[side], &local.addr) && f->key.port[side] == local.port &&
		    addr_equal(&f->key.addr[!side], &remote.addr) && f->key.port[!side] == remote.port) {
			*local_side = side;
			return true;
		}
	}
	return false;
}

#define JOIN_MAX 4

void kernel_events_annotate(struct kernel_events *k, struct emitter *em)
{
	const struct flow *f = em->meta.flow;
	struct doc *d = &em->doc;
	uint32_t arr = DOC_NONE;
	unsigned n = 0;

	if (!f || f->key.proto != FL_IPPROTO_TCP || em->meta.error != FL_ERR_TCP)
		return;
	for (unsigned i = 0; i < FOREIGN_MAX + PENDING_MAX && n < JOIN_MAX; i++) {
		struct pending *p = i < FOREIGN_MAX ? &k->foreign[i] : &k->slots[i - FOREIGN_MAX];
		int side;
		if (!p->used || (p->ev.kind != FL_SOCK_RESET_SEND && p->ev.kind != FL_SOCK_RESET_RECV) ||
		    !event_of_flow(&p->ev, f, &side))
			continue;
		/* A waiting RST of another namespace is of this connection, not a later one's. */
		if (i < FOREIGN_MAX && em->meta.ts_ns > p->due_ns)
			continue;
		if (arr == DOC_NONE) {
			uint32_t tcp = doc_get(d, DOC_ROOT, "tcp");
			if (tcp == DOC_NONE)
				tcp = doc_add_obj(d, DOC_ROOT, "tcp");
			arr = doc_add_arr(d, tcp, "kernel_resets");
		}
		const char *state = tcp_state_name(p->ev.oldstate);
		uint32_t o = doc_add_obj(d, arr, NULL);
		/* Whose socket: the flow's client, or the other end (a guess when the packets
		 * never saw the handshake, as for the entry's own orientation). */
		doc_add_str(d, o, "socket", side == f->client ? "client" : "server");
		doc_add_str(d, o, "event", p->ev.kind == FL_SOCK_RESET_SEND ? "sent" : "received");
		doc_add_str(d, o, "state", state ? state : "OTHER");
		p->used = false;   /* joined: not judged again */
		n++;
	}
}

static void judge(struct kernel_events *k, struct track_env *env, struct flow_table *flows,
		  const struct fl_sock_event *ev, uint64_t ts_ns)
{
	if ((ev->kind == FL_SOCK_RESET_SEND || ev->kind == FL_SOCK_RESET_RECV) &&
	    !resets_a_connection(ev))
		return;   /* counted by state in the stats, and joined to an entry if one came */
	struct fl_endpoint local, remote;
	int side;
	endpoint(&local, ev->saddr, ev->sport, ev->family);
	endpoint(&remote, ev->daddr, ev->dport, ev->family);
	struct flow *f = flow_find(flows, &local.addr, local.port, &remote.addr, remote.port, FL_IPPROTO_TCP,
				   &side);
	const struct tombstone *t = f ? NULL : find_tomb(k, &local.addr, local.port, &remote.addr,
							 remote.port);
	uint8_t bit = condition_bit(ev->kind);

	if (f || t) {
		/* The packets own this connection: one entry, theirs, unless they missed it. */
		struct tcp_conn *c = NULL;
		uint8_t reported, state;
		if (f) {
			c = track_tcp(env, f);
			reported = c->reported;
			state = c->state;
		} else {
			reported = t->reported;
			state = t->state;
		}
		if ((reported & bit) || state == TCP_CONN_SYN_SENT ||
		    (bit != TCP_REPORTED_RESET && state == TCP_CONN_NONE))
			return;
		if (bit == TCP_REPORTED_SYN_SENT || (reported & TCP_REPORTED_SYN_SENT))
			return;
		if (c)
			c->reported |= bit;
		report(env, ev, f, ts_ns);
		return;
	}
	if (ev->netns_ino == k->own_netns)
		report(env, ev, NULL, ts_ns);
}

void kernel_events_run(struct kernel_events *k, struct track_env *env, struct flow_table *flows,
		       uint64_t now_ns)
{
	for (unsigned i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &k->slots[i];
		if (!p->used || p->due_ns > now_ns)
			continue;
		p->used = false;
		judge(k, env, flows, &p->ev, p->due_ns - GRACE_NS);
	}
}
