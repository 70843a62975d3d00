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

#include "core/config.h"
#include "core/decode.h"
#include "core/flow.h"
#include "report/entry.h"
#include "report/stats.h"
#include "track/icmp_msg.h"

static inline int other(int side) { return side ^ 1; }

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
	entry_commit(env->em);
}

static void report_syn_sent(struct track_env *env, struct flow *f, const char *reason,
			    const struct icmp_info *icmp)
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
	if (icmp)
		icmp_doc_add(d, tcp, "icmp", icmp);
	finish_entry(env, f, tcp);
}

static void report_reset(struct track_env *env, struct flow *f, int side)
{
	struct tcp_conn *c = track_tcp(env, f);
	if (c->reported & TCP_REPORTED_RESET)
		return;
	c->reported |= TCP_REPORTED_RESET;
	env->stats->tcp.reset++;
	uint32_t tcp = begin_entry(env, f, "Reset");
	doc_add_str(&env->em->doc, tcp, "reset_by", side == f->client ? "client" : "server");
	finish_entry(env, f, tcp);
}

/* Start tracking a new connection on this flow (the first SYN, or port reuse). */
static void conn_start(struct track_env *env, struct flow *f, int side, const struct decoded *d,
		       uint64_t ts_ns)
{
	struct tcp_conn *c = track_tcp(env, f);
	memset(c, 0, sizeof(*c));
	f->retransmissions = 0;
	f->missed_bytes = 0;
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
			report_syn_sent(env, f, "timeout", NULL);
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
		count_retransmission(env, f);
		return;
	}
	c->half[side].syn_seen = true;
	c->half[side].syn_seq = d->seq;
}

static void on_rst(struct track_env *env, struct flow *f, int side)
{
	struct tcp_conn *c = track_tcp(env, f);
	if (c->state == TCP_CONN_SYN_SENT) {
		if (side != f->client) {
			report_syn_sent(env, f, "refused", NULL);
			c->state = TCP_CONN_CLOSED;
		}
		return;     /* the client gave up on its own SYN: not a reset */
	}
	if (c->reported & TCP_REPORTED_SYN_SENT)
		return;     /* already reported as refused or unreachable */
	if (c->state == TCP_CONN_NONE) {
		/* The first packet seen is an RST: the capture joined late. */
		guess_client(f);
		c->midstream = true;
	}
	report_reset(env, f, side);
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

static unsigned on_ack(struct track_env *env, struct flow *f, int side, const struct decoded *d)
{
	struct tcp_conn *c = track_tcp(env, f);
	struct tcp_half *peer = &c->half[other(side)];
	if (peer->fin_seen && !peer->fin_acked && SEQ_GEQ(d->ack, peer->fin_seq + 1))
		peer->fin_acked = true;
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
	unsigned ev = 0;

	if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN && !(fl & TCP_RST))
		return on_syn(env, f, side, d, ts_ns);
	if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && !(fl & TCP_RST)) {
		on_synack(env, f, side, d);
		return 0;
	}
	if (c->state == TCP_CONN_NONE && !(fl & TCP_RST)) {
		/* Joined an established connection. */
		c->state = TCP_CONN_ESTABLISHED;
		c->midstream = true;
		guess_client(f);
	}
	if (fl & TCP_RST) {
		on_rst(env, f, side);
		return TCP_EV_RESET;
	}
	if (fl & TCP_FIN) {
		on_fin(env, f, side, d, ts_ns);
		ev |= TCP_EV_FIN;
	}
	if (fl & TCP_ACK)
		ev |= on_ack(env, f, side, d);
	return ev;
}

void tcp_track_view(const struct track_env *env, const struct flow *f, struct tcp_view *v)
{
	const struct tcp_conn *c = track_tcp(env, f);
	for (int i = 0; i < 2; i++) {
		v->isn_known[i] = c->half[i].syn_seen;
		v->isn[i] = c->half[i].syn_seq;
	}
	v->midstream = c->midstream;
}

void tcp_track_icmp(struct track_env *env, struct flow *f, int side, uint32_t seq,
		    const struct icmp_info *icmp)
{
	struct tcp_conn *c = track_tcp(env, f);
	if (c->state == TCP_CONN_SYN_SENT && side == f->client && seq == c->half[side].syn_seq) {
		report_syn_sent(env, f, "unreachable", icmp);
		/* Not CLOSED: Linux retries after soft errors (host/net unreachable). */
	}
}

/* The one timeout condition a connection can still be waiting on, and since when. */
enum tcp_pending { PENDING_NONE, PENDING_SYN, PENDING_CLOSE_WAIT, PENDING_LAST_ACK };

static enum tcp_pending pending_condition(const struct track_env *env, const struct flow *f,
					  uint64_t *since_ns, int *side)
{
	const struct tcp_conn *c = track_tcp(env, f);
	const struct tcp_half *h0 = &c->half[0], *h1 = &c->half[1];

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

void tcp_track_check(struct track_env *env, struct flow *f, uint64_t now_ns, bool capture_end)
{
	struct tcp_conn *c = track_tcp(env, f);
	uint64_t since = 0;
	int side = 0;
	enum tcp_pending pending = pending_condition(env, f, &since, &side);
	uint64_t waited = waited_ns(since, now_ns);
	uint32_t tcp;

	/* At the end of the capture an unanswered SYN is a timeout whatever its wait. */
	if (pending == PENDING_NONE ||
	    (waited < timeout_ns(env) && !(capture_end && pending == PENDING_SYN)))
		return;
	switch (pending) {
	case PENDING_SYN:
		report_syn_sent(env, f, "timeout", NULL);
		break;
	case PENDING_CLOSE_WAIT:
		c->reported |= TCP_REPORTED_CLOSE_WAIT;
		env->stats->tcp.close_wait++;
		tcp = begin_entry(env, f, "CloseWait");
		doc_add_str(&env->em->doc, tcp, "closed_by", side == f->client ? "client" : "server");
		doc_add_int(&env->em->doc, tcp, "waited_ms", (int64_t)(waited / 1000000));
		finish_entry(env, f, tcp);
		break;
	case PENDING_LAST_ACK:
		c->reported |= TCP_REPORTED_LAST_ACK;
		env->stats->tcp.last_ack++;
		tcp = begin_entry(env, f, "LastAck");
		doc_add_int(&env->em->doc, tcp, "fin_retransmissions", c->half[side].fin_retransmissions);
		doc_add_int(&env->em->doc, tcp, "waited_ms", (int64_t)(waited / 1000000));
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
	return pending_condition(env, f, &since, &side) == PENDING_NONE ? 0 : since + timeout_ns;
}
