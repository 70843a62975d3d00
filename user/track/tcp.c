// SPDX-License-Identifier: MIT
/*
 * TCP connection tracking.  Each condition is reported once per connection:
 *   SynSent   a SYN got no SYN-ACK: refused (RST), unreachable (ICMP), timeout
 *   Reset     an RST on a synchronized connection
 *   CloseWait one side's FIN, and no FIN from the other a timeout later
 *   LastAck   both FINs, and the second FIN not acknowledged a timeout later
 * Waits are measured in packet time, so a file gives the same entries on
 * every run.
 */
#include "track/tcp.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/config.h"
#include "core/decode.h"
#include "core/flow.h"
#include "report/entry.h"
#include "report/stats.h"
#include "track/icmp_msg.h"

static inline int other(int side) { return side ^ 1; }

/* ---- evicted connections, to continue them (tcp_track_evicted) ---- */

#define TCP_RESUME_SLOTS 1024u

struct tcp_resume_slot {
	struct flow_key key;
	struct tcp_conn conn;
	uint64_t first_ts_ns, missed_bytes, truncated_bytes;
	uint32_t retransmissions;
	uint8_t client;
	bool used;
};

struct tcp_resume {
	struct tcp_resume_slot slot[TCP_RESUME_SLOTS];
};

static uint32_t resume_index(const struct flow_key *k)
{
	uint32_t h = 2166136261u;
	const uint8_t *parts[2] = { k->addr[0].bytes, k->addr[1].bytes };
	for (int p = 0; p < 2; p++)
		for (size_t i = 0; i < sizeof(k->addr[0].bytes); i++)
			h = (h ^ parts[p][i]) * 16777619u;
	h = (h ^ k->port[0]) * 16777619u;
	h = (h ^ k->port[1]) * 16777619u;
	return h % TCP_RESUME_SLOTS;
}

static bool key_same(const struct flow_key *a, const struct flow_key *b)
{
	return a->proto == b->proto && a->port[0] == b->port[0] && a->port[1] == b->port[1] &&
	       addr_equal(&a->addr[0], &b->addr[0]) && addr_equal(&a->addr[1], &b->addr[1]);
}

void tcp_track_evicted(struct track_env *env, const struct flow *f)
{
	const struct tcp_conn *c = track_tcp(env, f);
	/* Only a connection that goes on is worth keeping. */
	if (f->key.proto != FL_IPPROTO_TCP || c->state != TCP_CONN_ESTABLISHED)
		return;
	if (!env->resume) {
		if (!memory_allows(env->stats, sizeof(*env->resume))) {
			env->stats->memory.over_limit++;
			return;
		}
		env->resume = calloc(1, sizeof(*env->resume));
		if (!env->resume)
			return;
		env->stats->memory.evicted_bytes += sizeof(*env->resume);
	}
	struct tcp_resume_slot *s = &env->resume->slot[resume_index(&f->key)];
	*s = (struct tcp_resume_slot){ .key = f->key, .conn = *c, .first_ts_ns = f->first_ts_ns,
				       .missed_bytes = f->missed_bytes,
				       .truncated_bytes = f->truncated_bytes,
				       .retransmissions = f->retransmissions,
				       .client = f->client, .used = true };
}

void tcp_resume_free(struct track_env *env)
{
	if (!env->resume)
		return;
	env->stats->memory.evicted_bytes -= sizeof(*env->resume);
	free(env->resume);
	env->resume = NULL;
}

/* A new flow whose first packet is no SYN: the connection of an evicted flow goes on. */
static void resume(struct track_env *env, struct flow *f, const struct decoded *d)
{
	struct tcp_resume_slot *s = &env->resume->slot[resume_index(&f->key)];
	if (!s->used || !key_same(&s->key, &f->key))
		return;
	s->used = false;
	if ((d->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		return;     /* a new connection on the same ports */
	struct tcp_conn *c = track_tcp(env, f);
	*c = s->conn;
	c->resumed = true;
	f->client = s->client;
	f->client_known = true;
	f->first_ts_ns = s->first_ts_ns;
	f->missed_bytes = s->missed_bytes;
	f->truncated_bytes = s->truncated_bytes;
	f->retransmissions = s->retransmissions;
	env->stats->flows.resumed++;
}

static uint64_t timeout_ns(const struct track_env *env)
{
	return env->cfg->stream_timeout_ms * 1000000ull;
}

/* Time from `since` to `now`; 0 when packets arrived out of order. */
static uint64_t waited_ns(uint64_t since, uint64_t now)
{
	return now > since ? now - since : 0;
}

/* Without the handshake, guess the client: the side on the higher (ephemeral) port. */
static void guess_client(struct flow *f)
{
	if (f->client_known)
		return;
	f->client = f->key.port[0] > f->key.port[1] ? 0 : 1;
}

static void endpoints(const struct flow *f, struct fl_endpoint *client, struct fl_endpoint *server)
{
	int c = f->client, s = other(f->client);
	*client = (struct fl_endpoint){ f->key.addr[c], f->key.port[c], true };
	*server = (struct fl_endpoint){ f->key.addr[s], f->key.port[s], true };
}

/* Begin a tcp error entry with the connection's common fields; returns the "tcp" object. */
static uint32_t begin_entry(struct track_env *env, struct flow *f, const char *message)
{
	struct fl_endpoint client, server;
	endpoints(f, &client, &server);
	struct doc *d = entry_begin(env->em, f->first_ts_ns, "tcp", &client, &server, f);
	entry_set_error(env->em, FL_ERR_TCP, message, NULL);
	uint32_t tcp = doc_add_obj(d, DOC_ROOT, "tcp");
	return tcp;
}

static void finish_entry(struct track_env *env, struct flow *f, uint32_t tcp)
{
	struct doc *d = &env->em->doc;
	if (f->retransmissions)
		doc_add_int(d, tcp, "retransmissions", f->retransmissions);
	if (f->missed_bytes)
		doc_add_int(d, tcp, "missed_bytes", (int64_t)f->missed_bytes);
	if (f->truncated_bytes)
		doc_add_int(d, tcp, "truncated_bytes", (int64_t)f->truncated_bytes);
	entry_commit(env->em);
}

static void add_invalid_rst(struct track_env *env, const struct tcp_conn *c, uint32_t tcp)
{
	if (c->invalid_rst)
		doc_add_int(&env->em->doc, tcp, "invalid_rst", c->invalid_rst);
}

static void report_syn_sent(struct track_env *env, struct flow *f, const char *reason,
			    const struct icmp_info *icmp, uint64_t now_ns)
{
	struct tcp_conn *c = track_tcp(env, f);
	if (c->reported & TCP_REPORTED_SYN_SENT)
		return;
	c->reported |= TCP_REPORTED_SYN_SENT;
	env->stats->tcp.syn_sent++;
	uint32_t tcp = begin_entry(env, f, "SynSent");
	struct doc *d = &env->em->doc;
	doc_add_str(d, tcp, "reason", reason);
	doc_add_int(d, tcp, "syn_retries", c->syn_retries);
	doc_add_int(d, tcp, "waited_ms", (int64_t)(waited_ns(c->syn_ts_ns, now_ns) / 1000000));
	add_invalid_rst(env, c, tcp);
	if (icmp)
		icmp_doc_add(d, tcp, "icmp", icmp);
	finish_entry(env, f, tcp);
}

/*
 * RSTs that follow the first (the other side's, or the answer to each segment
 * still in flight) are one condition: they join its entry while it waits
 * RESET_LINGER_NS after the first, and are counted in tcp.resets.
 */
#define RESET_LINGER_NS 1000000000ull
#define RESET_REMEMBER_NS 60000000000ull     /* TCP_TIMEWAIT_LEN */

static uint64_t reset_linger_ns(const struct track_env *env)
{
	return timeout_ns(env) < RESET_LINGER_NS ? timeout_ns(env) : RESET_LINGER_NS;
}

static void report_reset(struct track_env *env, struct flow *f)
{
	struct tcp_conn *c = track_tcp(env, f);
	if (!c->reset_pending)
		return;
	c->reset_pending = false;
	env->stats->tcp.reset++;
	uint32_t tcp = begin_entry(env, f, "Reset");
	doc_add_str(&env->em->doc, tcp, "reset_by", c->reset_side == f->client ? "client" : "server");
	if (c->resets > 1)
		doc_add_int(&env->em->doc, tcp, "resets", c->resets);
	add_invalid_rst(env, c, tcp);
	finish_entry(env, f, tcp);
}

void tcp_track_flush(struct track_env *env, struct flow *f)
{
	if (f->key.proto == FL_IPPROTO_TCP)
		report_reset(env, f);
}

/* The TCP options the receiving stack checks: timestamps and window scale. */
struct tcp_opts {
	bool ts, ws;
	uint8_t ws_shift;
	uint32_t tsval;
};

static void parse_options(const struct decoded *d, struct tcp_opts *o)
{
	*o = (struct tcp_opts){ 0 };
	if (!d->l4 || d->l4_caplen < 20)
		return;
	uint32_t hl = (uint32_t)(d->l4[12] >> 4) * 4u;
	if (hl > d->l4_caplen)
		hl = d->l4_caplen;
	for (uint32_t i = 20; i < hl;) {
		uint8_t kind = d->l4[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= hl)
			break;
		uint8_t len = d->l4[i + 1];
		if (len < 2 || i + len > hl)
			break;
		if (kind == 3 && len == 3) {
			o->ws = true;
			o->ws_shift = d->l4[i + 2] > 14 ? 14 : d->l4[i + 2];   /* RFC 7323 2.3 */
		} else if (kind == 8 && len == 10) {
			o->ts = true;
			o->tsval = be32(d->l4 + i + 2);
		}
		i += len;
	}
}

/* What an accepted segment tells about its sender: how far it sent, what it acked. */
static void observe(struct tcp_conn *c, int side, const struct decoded *d,
		    const struct tcp_opts *o)
{
	struct tcp_half *h = &c->half[side], *peer = &c->half[other(side)];
	uint8_t fl = d->tcp_flags;
	uint32_t end = d->seq + d->payload_len + ((fl & TCP_SYN) ? 1 : 0) + ((fl & TCP_FIN) ? 1 : 0);
	if (!h->nxt_seen || SEQ_GT(end, h->nxt)) {
		h->nxt = end;
		h->nxt_seen = true;
	}
	if ((fl & TCP_ACK) && (!h->ack_seen || SEQ_GT(d->ack, h->ack_max))) {
		/* One byte past anything captured from the peer: the peer's FIN (or one
		 * byte of data) that the capture did not see. */
		bool unseen = !peer->nxt_seen || SEQ_GT(d->ack, peer->nxt);
		h->acked_unseen_one = h->ack_seen && d->ack - h->ack_max == 1 && unseen;
		h->ack_max = d->ack;
		h->ack_seen = true;
	}
	h->win = d->window;
	if (o->ts && (!h->ts_seen || SEQ_GT(o->tsval, h->ts_recent))) {
		h->ts_recent = o->tsval;
		h->ts_seen = true;
	}
	if ((fl & TCP_SYN) && o->ws) {
		h->wscale = o->ws_shift;
		h->wscale_seen = true;
	}
}

/* PAWS (RFC 7323 5.3): a timestamp older than the newest this side sent; the
 * receiver drops such a segment (a FIN among them). */
static bool paws_fails(const struct tcp_half *h, const struct tcp_opts *o)
{
	return o->ts && h->ts_seen && SEQ_LT(o->tsval, h->ts_recent);
}

#define RST_WINDOW_DEFAULT 65535u   /* the window when the receiver never advertised one */

/*
 * Would the receiving stack accept this RST from `side` (RFC 9293 3.10.7,
 * RFC 5961 3.2, RFC 7323 5.3)?  In SYN-SENT only an RST acknowledging the
 * ISN + 1; otherwise its sequence number must be in the receiver's window,
 * approximated as the sender's next expected sequence number plus or minus
 * the receiver's last advertised window (scaled when both SYNs offered
 * window scaling): the capture may have missed segments either way.
 * PAWS is not applied to RSTs: Linux accepts an RST that fails it
 * (tcp_validate_incoming: "Reset is accepted even if it did not pass PAWS"),
 * so the connection really ends; it applies to FINs (see tcp_track_packet).
 */
static bool rst_acceptable(const struct tcp_conn *c, const struct flow *f, int side,
			   const struct decoded *d)
{
	const struct tcp_half *h = &c->half[side], *rcv = &c->half[other(side)];
	if (c->state == TCP_CONN_SYN_SENT && side != f->client)
		return (d->tcp_flags & TCP_ACK) && d->ack == c->half[f->client].syn_seq + 1;
	if (!h->nxt_seen)
		return true;     /* nothing seen from this side: no evidence against it */
	uint64_t win = RST_WINDOW_DEFAULT;
	if (rcv->ack_seen) {
		win = rcv->win;
		if (h->wscale_seen && rcv->wscale_seen)
			win <<= rcv->wscale;
		if (win < RST_WINDOW_DEFAULT)
			win = RST_WINDOW_DEFAULT;
	}
	uint32_t dist = SEQ_GEQ(d->seq, h->nxt) ? d->seq - h->nxt : h->nxt - d->seq;
	return dist <= win;
}

static void count_invalid(struct track_env *env, struct tcp_conn *c)
{
	if (c->invalid_rst < UINT16_MAX)
		c->invalid_rst++;
	env->stats->tcp.invalid_rst++;
}

/* Start tracking a new connection on this flow (the first SYN, or port reuse). */
static void conn_start(struct track_env *env, struct flow *f, int side, const struct decoded *d,
		       uint64_t ts_ns)
{
	struct tcp_conn *c = track_tcp(env, f);
	memset(c, 0, sizeof(*c));
	f->retransmissions = 0;
	f->missed_bytes = 0;
	f->truncated_bytes = 0;
	c->state = TCP_CONN_SYN_SENT;
	c->syn_ts_ns = ts_ns;
	c->half[side].syn_seen = true;
	c->half[side].syn_seq = d->seq;
	f->client = (uint8_t)side;
	f->client_known = true;
	f->first_ts_ns = ts_ns;
}

static void count_retransmission(struct track_env *env, struct flow *f)
{
	f->retransmissions++;
	env->stats->tcp.retransmissions++;
}

static unsigned on_syn(struct track_env *env, struct flow *f, int side, const struct decoded *d,
		       uint64_t ts_ns)
{
	struct tcp_conn *c = track_tcp(env, f);
	switch (c->state) {
	case TCP_CONN_NONE:
		conn_start(env, f, side, d, ts_ns);
		break;
	case TCP_CONN_SYN_SENT:
		if (side == f->client && c->half[side].syn_seq == d->seq) {
			c->syn_retries++;
			count_retransmission(env, f);
		} else if (side == f->client) {
			/* A new attempt from the same port: judge the old one first. */
			report_syn_sent(env, f, "timeout", NULL, ts_ns);
			conn_start(env, f, side, d, ts_ns);
			return TCP_EV_RESTART;
		}
		break;
	case TCP_CONN_CLOSED:
		if (!(c->half[side].syn_seen && c->half[side].syn_seq == d->seq)) {
			conn_start(env, f, side, d, ts_ns);
			return TCP_EV_RESTART;
		}
		break;
	default:
		break;      /* a SYN inside a synchronized connection: ignore */
	}
	return 0;
}

static void on_synack(struct track_env *env, struct flow *f, int side, const struct decoded *d)
{
	struct tcp_conn *c = track_tcp(env, f);
	if (c->state == TCP_CONN_NONE) {
		/* The SYN was not captured: the other side is the client. */
		f->client = (uint8_t)other(side);
		f->client_known = true;
		c->state = TCP_CONN_ESTABLISHED;
	} else if (c->state == TCP_CONN_SYN_SENT && side != f->client) {
		c->state = TCP_CONN_ESTABLISHED;
	} else if (c->half[side].syn_seen && c->half[side].syn_seq == d->seq) {
		/* Inferred from the client's ACK, this SYN-ACK is its first copy. */
		if (!c->half[side].syn_inferred)
			count_retransmission(env, f);
		c->half[side].syn_inferred = false;
		return;
	}
	c->half[side].syn_seen = true;
	c->half[side].syn_seq = d->seq;
}

static void on_rst(struct track_env *env, struct flow *f, int side, uint64_t ts_ns)
{
	struct tcp_conn *c = track_tcp(env, f);
	if (c->state == TCP_CONN_SYN_SENT) {
		if (side != f->client)
			report_syn_sent(env, f, "refused", NULL, ts_ns);
		/* A client RST: it gave up on its own SYN, not a reset and not a timeout. */
		c->state = TCP_CONN_CLOSED;
		return;
	}
	if (c->reported & TCP_REPORTED_SYN_SENT)
		return;     /* already reported as refused or unreachable */
	if (c->resets || (c->reported & TCP_REPORTED_RESET)) {
		/* Reset already (or reported by the kernel's view): the other side's
		 * RST, or another answer to a late segment. */
		if (c->resets < UINT16_MAX)
			c->resets++;
		c->state = TCP_CONN_CLOSED;
		return;
	}
	if (c->state == TCP_CONN_NONE) {
		/* The first packet seen is an RST: the capture joined late. */
		guess_client(f);
		c->midstream = true;
	}
	c->reported |= TCP_REPORTED_RESET;     /* the kernel's view of it joins this entry */
	c->resets = 1;
	c->reset_side = (uint8_t)side;
	c->reset_ts_ns = ts_ns;
	c->reset_pending = true;
	c->state = TCP_CONN_CLOSED;
}

static void on_fin(struct track_env *env, struct flow *f, int side, const struct decoded *d,
		   uint64_t ts_ns)
{
	struct tcp_half *h = &track_tcp(env, f)->half[side];
	uint32_t fin_seq = d->seq + d->payload_len;
	if (!h->fin_seen) {
		h->fin_seen = true;
		h->fin_seq = fin_seq;
		h->fin_ts_ns = ts_ns;
	} else if (fin_seq == h->fin_seq) {
		h->fin_retransmissions++;
		count_retransmission(env, f);
	}
}

static unsigned on_ack(struct track_env *env, struct flow *f, int side, const struct decoded *d,
		       uint64_t ts_ns)
{
	struct tcp_conn *c = track_tcp(env, f);
	struct tcp_half *h = &c->half[side], *peer = &c->half[other(side)];
	if (peer->fin_seen && !peer->fin_acked && SEQ_GEQ(d->ack, peer->fin_seq + 1))
		peer->fin_acked = true;
	/* The client's ACK of the SYN-ACK: the handshake's round trip (Wireshark's
	 * tcp.analysis.initial_rtt). */
	if (!c->rtt_us && side == f->client && h->syn_seen && peer->syn_seen &&
	    d->ack == peer->syn_seq + 1 && ts_ns > c->syn_ts_ns) {
		uint64_t us = (ts_ns - c->syn_ts_ns) / 1000;
		c->rtt_us = us == 0 ? 1 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	}
	/* A closing side acknowledging one byte the capture never saw from its peer:
	 * the peer's FIN went by uncaptured (one-sided capture, loss).  It closed. */
	if (!peer->fin_seen && h->fin_seen && h->acked_unseen_one && d->ack == h->ack_max) {
		peer->fin_seen = peer->fin_inferred = peer->fin_acked = true;
		peer->fin_seq = d->ack - 1;
		peer->fin_ts_ns = ts_ns;
	}
	if (c->half[0].fin_acked && c->half[1].fin_acked && c->state != TCP_CONN_CLOSED) {
		c->state = TCP_CONN_CLOSED;
		return TCP_EV_CLOSED;
	}
	return 0;
}

unsigned tcp_track_packet(struct track_env *env, struct flow *f, int side,
			  const struct decoded *d, uint64_t ts_ns)
{
	uint8_t fl = d->tcp_flags;
	struct tcp_conn *c = track_tcp(env, f);
	struct tcp_opts o;
	unsigned ev = 0;

	parse_options(d, &o);
	if (c->state == TCP_CONN_NONE && env->resume)
		resume(env, f, d);
	if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN && !(fl & TCP_RST)) {
		ev = on_syn(env, f, side, d, ts_ns);
		observe(track_tcp(env, f), side, d, &o);
		return ev;
	}
	if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && !(fl & TCP_RST)) {
		on_synack(env, f, side, d);
		observe(c, side, d, &o);
		return 0;
	}
	if (c->resets && c->state == TCP_CONN_CLOSED) {
		/* The connection is gone at the RST's receiver: what still comes is
		 * answered by more RSTs (counted on the entry), never a new exchange. */
		if (fl & TCP_RST)
			on_rst(env, f, side, ts_ns);
		return TCP_EV_AFTER_RESET;
	}
	if (c->state != TCP_CONN_NONE && (fl & (TCP_RST | TCP_FIN)) &&
	    ((fl & TCP_RST) ? !rst_acceptable(c, f, side, d) : paws_fails(&c->half[side], &o))) {
		count_invalid(env, c);   /* the receiver drops it: no state changes */
		return 0;
	}
	if (c->state == TCP_CONN_SYN_SENT && side == f->client && !(fl & TCP_RST) &&
	    (fl & TCP_ACK) && d->seq == c->half[side].syn_seq + 1) {
		/* The client acknowledges a SYN-ACK the capture did not see: the
		 * handshake completed (one-sided capture, or the SYN-ACK was lost here).
		 * Its ACK names the server's ISN: the server's bytes its later ACKs
		 * cover and the capture never shows are missed. */
		c->state = TCP_CONN_ESTABLISHED;
		struct tcp_half *srv = &c->half[other(side)];
		if ((fl & TCP_ACK) && !srv->syn_seen) {
			srv->syn_seen = srv->syn_inferred = true;
			srv->syn_seq = d->ack - 1;
		}
	}
	if (c->state == TCP_CONN_SYN_SENT && side != f->client && !(fl & TCP_RST) &&
	    (fl & TCP_ACK) && d->ack == c->half[f->client].syn_seq + 1)
		c->state = TCP_CONN_ESTABLISHED;   /* the server talks: its SYN-ACK was not captured */
	else if (c->state == TCP_CONN_SYN_SENT && side != f->client && !(fl & TCP_RST) &&
		 (fl & TCP_ACK) && !c->half[side].syn_seen) {
		/* A SYN answered by an ACK of something else: the peer holds a
		 * synchronized connection on these ports and challenges the SYN
		 * (RFC 5961 4.2, RFC 9293 3.10.7.4).  The SYN started nothing (no
		 * SynSent); the capture joined that connection midstream, so the
		 * SYN's sequence number says nothing about where its data is. */
		struct tcp_half *cl = &c->half[f->client];
		cl->syn_seen = false;
		cl->nxt_seen = cl->ack_seen = false;
		c->state = TCP_CONN_ESTABLISHED;
		c->midstream = true;
		ev |= TCP_EV_RESTART;
	}
	if (c->state == TCP_CONN_NONE && !(fl & TCP_RST)) {
		/* Joined an established connection. */
		c->state = TCP_CONN_ESTABLISHED;
		c->midstream = true;
		guess_client(f);
	}
	if (fl & TCP_RST) {
		on_rst(env, f, side, ts_ns);
		return TCP_EV_RESET;
	}
	/* An ACK past anything captured from a peer whose ISN is known (seen, or
	 * taken from this side's ACK of its unseen SYN-ACK): the peer sent what
	 * the capture does not hold, from its host to this one. */
	const struct tcp_half *peer = &c->half[other(side)];
	if ((fl & TCP_ACK) && peer->syn_seen && SEQ_GT(d->ack, peer->syn_seq) &&
	    (!peer->nxt_seen || SEQ_GT(d->ack, peer->nxt)))
		track_dir_sent_unseen(env, &f->key.addr[other(side)], &f->key.addr[side]);
	observe(c, side, d, &o);
	if (fl & TCP_FIN) {
		on_fin(env, f, side, d, ts_ns);
		ev |= TCP_EV_FIN;
	}
	if (fl & TCP_ACK)
		ev |= on_ack(env, f, side, d, ts_ns);
	return ev;
}

void tcp_track_view(const struct track_env *env, const struct flow *f, struct tcp_view *v)
{
	const struct tcp_conn *c = track_tcp(env, f);
	for (int i = 0; i < 2; i++) {
		/* Resumed: the stream layer lost what came before; data starts anywhere. */
		v->isn_known[i] = c->half[i].syn_seen && !c->resumed;
		v->isn[i] = c->half[i].syn_seq;
		v->fin_known[i] = c->half[i].fin_seen;
		v->fin_seq[i] = c->half[i].fin_seq;
	}
	v->midstream = c->midstream;
	v->rtt_ns = (uint64_t)c->rtt_us * 1000;
}

void tcp_track_icmp(struct track_env *env, struct flow *f, int side, uint32_t seq,
		    const struct icmp_info *icmp, uint64_t ts_ns)
{
	struct tcp_conn *c = track_tcp(env, f);
	if (c->state == TCP_CONN_SYN_SENT && side == f->client && seq == c->half[side].syn_seq) {
		report_syn_sent(env, f, "unreachable", icmp, ts_ns);
		/* Not CLOSED: Linux retries after soft errors (host/net unreachable). */
	}
}

/* The one timeout condition a connection can still be waiting on, and since when. */
enum tcp_pending { PENDING_NONE, PENDING_SYN, PENDING_CLOSE_WAIT, PENDING_LAST_ACK, PENDING_RESET };

static enum tcp_pending pending_condition(const struct track_env *env, const struct flow *f,
					  uint64_t *since_ns, int *side)
{
	const struct tcp_conn *c = track_tcp(env, f);
	const struct tcp_half *h0 = &c->half[0], *h1 = &c->half[1];

	if (c->reset_pending) {
		*since_ns = c->reset_ts_ns;
		*side = c->reset_side;
		return PENDING_RESET;
	}
	if (c->state == TCP_CONN_SYN_SENT) {
		*since_ns = c->syn_ts_ns;
		*side = f->client;
		return c->reported & TCP_REPORTED_SYN_SENT ? PENDING_NONE : PENDING_SYN;
	}
	if (c->state != TCP_CONN_ESTABLISHED)
		return PENDING_NONE;
	if (h0->fin_seen != h1->fin_seen) {
		/* One side closed; the other has not yet: CloseWait if it stays so. */
		*side = h0->fin_seen ? 0 : 1;
		*since_ns = c->half[*side].fin_ts_ns;
		return c->reported & TCP_REPORTED_CLOSE_WAIT ? PENDING_NONE : PENDING_CLOSE_WAIT;
	}
	if (h0->fin_seen && h1->fin_seen) {
		/* Both closed: the second FIN waits for its final ACK. */
		*side = h0->fin_ts_ns > h1->fin_ts_ns ? 0 : 1;
		*since_ns = c->half[*side].fin_ts_ns;
		if (c->half[*side].fin_acked || (c->reported & TCP_REPORTED_LAST_ACK))
			return PENDING_NONE;
		return PENDING_LAST_ACK;
	}
	return PENDING_NONE;
}

/*
 * A SYN the capture cannot judge: sent once and not again although the capture
 * went on past the first retransmission (RFC 6298's initial RTO of 1 s, what
 * Linux uses; half a second more for timer slack and the way to the capture
 * point), to a host whose packets to the client's host the capture never
 * holds although ACKs prove it sent some (track_dir_uncaptured: a one-sided
 * capture).  The SYN was most likely answered, SYN-ACK or RST, out of sight;
 * it is counted (tcp.syn_answer_uncaptured), not reported as a timeout.  A SYN
 * resent, or the file ending before its retransmission was due, or any packet
 * from that host to the client's in the capture: a timeout as ever.
 */
#define SYN_RETRANSMIT_DUE_NS 1500000000ull

static bool syn_answer_uncaptured(const struct track_env *env, const struct flow *f,
				  uint64_t waited_ns)
{
	const struct tcp_conn *c = track_tcp(env, f);
	int s = other(f->client);
	return c->syn_retries == 0 && waited_ns >= SYN_RETRANSMIT_DUE_NS &&
	       track_dir_uncaptured(env, &f->key.addr[s], &f->key.addr[f->client]);
}

void tcp_track_check(struct track_env *env, struct flow *f, uint64_t now_ns, bool capture_end)
{
	struct tcp_conn *c = track_tcp(env, f);
	uint64_t since = 0;
	int side = 0;
	enum tcp_pending pending = pending_condition(env, f, &since, &side);
	uint64_t waited = waited_ns(since, now_ns);
	uint32_t tcp;

	if (pending == PENDING_RESET) {
		if (waited >= reset_linger_ns(env) || capture_end)
			report_reset(env, f);
		return;
	}
	/* At the end of the capture an unanswered SYN is a timeout whatever its wait. */
	if (pending == PENDING_NONE ||
	    (waited < timeout_ns(env) && !(capture_end && pending == PENDING_SYN)))
		return;
	switch (pending) {
	case PENDING_SYN:
		if (syn_answer_uncaptured(env, f, waited)) {
			c->reported |= TCP_REPORTED_SYN_SENT;
			env->stats->tcp.syn_answer_uncaptured++;
			break;
		}
		report_syn_sent(env, f, "timeout", NULL, now_ns);
		break;
	case PENDING_CLOSE_WAIT:
		c->reported |= TCP_REPORTED_CLOSE_WAIT;
		env->stats->tcp.close_wait++;
		tcp = begin_entry(env, f, "CloseWait");
		doc_add_str(&env->em->doc, tcp, "closed_by", side == f->client ? "client" : "server");
		doc_add_int(&env->em->doc, tcp, "waited_ms", (int64_t)(waited / 1000000));
		add_invalid_rst(env, c, tcp);
		finish_entry(env, f, tcp);
		break;
	case PENDING_LAST_ACK:
		c->reported |= TCP_REPORTED_LAST_ACK;
		env->stats->tcp.last_ack++;
		tcp = begin_entry(env, f, "LastAck");
		doc_add_int(&env->em->doc, tcp, "fin_retransmissions", c->half[side].fin_retransmissions);
		doc_add_int(&env->em->doc, tcp, "waited_ms", (int64_t)(waited / 1000000));
		add_invalid_rst(env, c, tcp);
		finish_entry(env, f, tcp);
		break;
	default:
		break;
	}
}

uint64_t tcp_track_deadline(const struct track_env *env, const struct flow *f,
			    uint64_t timeout_ns)
{
	uint64_t since = 0;
	int side;
	switch (pending_condition(env, f, &since, &side)) {
	case PENDING_NONE:
		return 0;
	case PENDING_RESET:
		return since + reset_linger_ns(env);
	default:
		return since + timeout_ns;
	}
}

bool tcp_track_keep(const struct track_env *env, const struct flow *f)
{
	const struct tcp_conn *c = track_tcp(env, f);
	/* A reset connection is remembered as long as Linux keeps TIME-WAIT: the
	 * RSTs answering its late segments are its own, not a new connection's. */
	if (c->resets && c->state == TCP_CONN_CLOSED)
		return flow_idle_since(f) - c->reset_ts_ns < RESET_REMEMBER_NS;
	return c->state == TCP_CONN_ESTABLISHED && !c->half[0].fin_seen && !c->half[1].fin_seen;
}
