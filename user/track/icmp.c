// SPDX-License-Identifier: MIT
#include "track/icmp.h"

#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>

#include "core/bytes.h"
#include "core/config.h"
#include "core/defrag.h"
#include "report/entry.h"
#include "report/stats.h"

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case FL_IPPROTO_TCP: return "tcp";
	case FL_IPPROTO_UDP: return "udp";
	case FL_IPPROTO_ICMP: return "icmp";
	case FL_IPPROTO_ICMPV6: return "icmpv6";
	case FL_IPPROTO_GRE: return "gre";
	case FL_IPPROTO_SCTP: return "sctp";
	default: return NULL;
	}
}

struct flow *icmp_track_flow(struct flow_table *flows, const struct decoded *d,
			     struct icmp_info *info, uint64_t ts_ns, int *side)
{
	if (icmp_parse(d, info) < 0)
		return NULL;
	if (info->is_echo_request || info->is_echo_reply)
		return flow_lookup(flows, &d->src, info->echo_id, &d->dst, info->echo_id,
				   d->l4proto, ts_ns, info->is_echo_request, side);
	if (info->has_quote) {
		const struct decoded *q = &info->quote;
		if ((q->l4proto == FL_IPPROTO_TCP || q->l4proto == FL_IPPROTO_UDP) && !q->l4_missing)
			return flow_find(flows, &q->src, q->sport, &q->dst, q->dport, q->l4proto, side);
		/* A quoted echo request: the error belongs to that echo flow (and its recording). */
		uint8_t echo_req = q->l4proto == FL_IPPROTO_ICMPV6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
		if ((q->l4proto == FL_IPPROTO_ICMP || q->l4proto == FL_IPPROTO_ICMPV6) && !q->fragment &&
		    q->l4 && q->l4_caplen >= 8 && q->l4[0] == echo_req) {
			uint16_t id = be16(q->l4 + 4);
			return flow_find(flows, &q->src, id, &q->dst, id, q->l4proto, side);
		}
	}
	return NULL;
}



static void report_message(struct track_env *env, const struct decoded *d,
			   const struct icmp_info *info, struct flow *f, uint64_t ts_ns)
{
	struct fl_endpoint src = { d->src, 0, false }, dst = { d->dst, 0, false };
	/* The entry is this message: its interface and direction, not its quoted flow's. */
	env->em->origin_packet = true;
	struct doc *doc = entry_begin(env->em, ts_ns, "icmp", &src, &dst, f);
	env->em->origin_packet = false;
	uint32_t o = icmp_doc_add(doc, DOC_ROOT, "icmp", info);
	char gw[FL_ADDR_STRLEN];

	if (info->has_mtu)
		doc_add_int(doc, o, "mtu", info->mtu);
	if (info->has_gateway)
		doc_add_str(doc, o, "gateway", addr_format(&info->gateway, gw, sizeof(gw)));
	if (info->has_pointer)
		doc_add_int(doc, o, "pointer", info->pointer);
	if (info->has_quote) {
		const struct decoded *q = &info->quote;
		bool ports = !q->fragment && !q->l4_missing &&
			     (q->l4proto == FL_IPPROTO_TCP || q->l4proto == FL_IPPROTO_UDP);
		uint32_t orig = doc_add_obj(doc, o, "original");
		const char *name = proto_name(q->l4proto);
		if (name)
			doc_add_str(doc, orig, "protocol", name);
		else
			doc_add_strf(doc, orig, "protocol", "%u", q->l4proto);
		struct fl_endpoint qsrc = { q->src, q->sport, ports }, qdst = { q->dst, q->dport, ports };
		entry_add_endpoint(doc, orig, "src", &qsrc);
		entry_add_endpoint(doc, orig, "dst", &qdst);
		if (info->has_defrag) {
			/* The quoted datagram as the capture saw it: its fragments met here. */
			uint32_t r = doc_add_obj(doc, orig, "reassembly");
			doc_add_str(doc, r, "capture", defrag_outcome_name(info->defrag.outcome));
			doc_add_int(doc, r, "fragments", info->defrag.fragments);
			doc_add_int(doc, r, "bytes", info->defrag.bytes);
			doc_add_real(doc, r, "waited_ms", elapsed_ms(info->defrag.first_ts_ns, ts_ns));
		}
	}
	if (info->is_error) {
		char msg[160];
		if (info->code_name)
			snprintf(msg, sizeof(msg), "%s (%s)", info->type_name, info->code_name);
		else
			snprintf(msg, sizeof(msg), "%s", info->type_name);
		entry_set_error(env->em, FL_ERR_ICMP, msg, NULL);
	}
	entry_commit(env->em);
}

/*
 * One echo entry: the request (when `has_request`: a reply may come whose
 * request was not captured), and the reply when it came.  Any time is valid,
 * 0 included.
 */
static void report_echo(struct track_env *env, struct flow *f, int requester, uint16_t seq,
			bool has_request, uint64_t req_ts, const struct icmp_info *reply,
			uint64_t reply_ts)
{
	int responder = requester ^ 1;
	struct fl_endpoint src = { f->key.addr[requester], 0, false };
	struct fl_endpoint dst = { f->key.addr[responder], 0, false };
	uint8_t version = f->key.proto == FL_IPPROTO_ICMPV6 ? 6 : 4;
	uint8_t req_type = version == 6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	uint8_t rep_type = version == 6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
	struct doc *doc = entry_begin(env->em, has_request ? req_ts : reply_ts, "icmp", &src, &dst, f);
	struct icmp_info req = {
		.version = version, .type = req_type, .type_name = icmp_type_name(version, req_type),
	};
	uint32_t o;

	if (has_request || !reply)
		o = icmp_doc_add(doc, DOC_ROOT, "icmp", &req);
	else
		o = icmp_doc_add(doc, DOC_ROOT, "icmp", reply);   /* a reply whose request was not captured */
	doc_add_int(doc, o, "id", f->key.port[0]);
	doc_add_int(doc, o, "seq", seq);
	if (reply && has_request) {
		uint32_t resp = doc_add_obj(doc, DOC_ROOT, "response");
		doc_add_int(doc, resp, "type", rep_type);
		doc_add_str(doc, resp, "type_name", icmp_type_name(version, rep_type));
		doc_add_real(doc, DOC_ROOT, "elapsed_ms", elapsed_ms(req_ts, reply_ts));
	} else if (!reply) {
		doc_add_null(doc, DOC_ROOT, "response");
	}
	entry_commit(env->em);
}

static void echo_remove(struct echo_state *e, unsigned i)
{
	for (; i + 1 < e->n; i++) {
		e->ts_ns[i] = e->ts_ns[i + 1];
		e->seq[i] = e->seq[i + 1];
		e->requester[i] = e->requester[i + 1];
	}
	e->n--;
}

static void on_echo(struct track_env *env, const struct icmp_info *info, struct flow *f,
		    int side, uint64_t ts_ns)
{
	struct echo_state *e = track_echo(env, f);
	if (info->is_echo_request) {
		if (e->n == ECHO_PENDING) {      /* full: the oldest goes out unanswered */
			report_echo(env, f, e->requester[0], e->seq[0], true, e->ts_ns[0], NULL, 0);
			echo_remove(e, 0);
		}
		e->ts_ns[e->n] = ts_ns;
		e->seq[e->n] = info->echo_seq;
		e->requester[e->n] = (uint8_t)side;
		e->n++;
		return;
	}
	for (unsigned i = 0; i < e->n; i++) {
		if (e->seq[i] == info->echo_seq && e->requester[i] != side) {
			report_echo(env, f, e->requester[i], e->seq[i], true, e->ts_ns[i], info, ts_ns);
			echo_remove(e, i);
			return;
		}
	}
	report_echo(env, f, side ^ 1, info->echo_seq, false, 0, info, ts_ns);
}

bool icmp_track_packet(struct track_env *env, const struct decoded *d,
		       const struct icmp_info *info, struct flow *f, int side, uint64_t ts_ns)
{
	env->stats->icmp.messages++;
	if (info->is_error)
		env->stats->icmp.errors++;
	if (f && flow_is_icmp(f) && !info->is_error) {
		on_echo(env, info, f, side, ts_ns);
		return false;
	}
	if (!f && (info->is_echo_request || info->is_echo_reply)) {
		/* A reply with no flow (its request was never seen). */
		report_message(env, d, info, NULL, ts_ns);
		return false;
	}
	report_message(env, d, info, f, ts_ns);
	/* An error about an echo flow is its entry alone; one about TCP or UDP goes on. */
	return f && info->is_error && !flow_is_icmp(f);
}

void icmp_track_expire(struct track_env *env, struct flow *f, uint64_t now_ns, bool all)
{
	struct echo_state *e = track_echo(env, f);
	uint64_t limit = env->cfg->stream_timeout_ms * 1000000ull;
	while (e->n && (all || (now_ns > e->ts_ns[0] && now_ns - e->ts_ns[0] >= limit))) {
		report_echo(env, f, e->requester[0], e->seq[0], true, e->ts_ns[0], NULL, 0);
		echo_remove(e, 0);
	}
}
