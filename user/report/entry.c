// SPDX-License-Identifier: MIT
#include "report/entry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "faultline.h"

#include "core/flow.h"
#include "report/names.h"
#include "report/owners.h"
#include "report/community_id.h"
#include "report/redact.h"

void emitter_init(struct emitter *em, struct fl_stats *stats)
{
	memset(em, 0, sizeof(*em));
	doc_init(&em->doc);
	em->stats = stats;
	em->next_id = 1;
	em->redact = true;
	const char *node = getenv("NODE_NAME");
	em->node = node && *node ? node : NULL;
}

void emitter_set_first_id(struct emitter *em, uint64_t id)
{
	em->next_id = id;
}

void emitter_free(struct emitter *em)
{
	doc_free(&em->doc);
}

int emitter_add_sink(struct emitter *em, struct entry_sink sink)
{
	if (em->n_sinks == ENTRY_MAX_SINKS)
		return -ENOSPC;
	em->sinks[em->n_sinks++] = sink;
	return 0;
}

void format_ts(uint64_t ts_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ts_ns / 1000000000ull);
	unsigned usec = (unsigned)(ts_ns % 1000000000ull / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	int year = tm.tm_year + 1900;
	if (len < 28 || year < 0 || year > 9999) {
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", year,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
		return;
	}
	/* The same text without snprintf (an entry's costliest field). */
	static const char tmpl[] = "0000-00-00T00:00:00.000000Z";
	memcpy(buf, tmpl, sizeof(tmpl));
	const int at[6] = { 3, 6, 9, 12, 15, 18 };
	const unsigned v[6] = { (unsigned)year, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday,
				(unsigned)tm.tm_hour, (unsigned)tm.tm_min, (unsigned)tm.tm_sec };
	for (int i = 0; i < 6; i++)
		for (unsigned x = v[i], k = 0; x && k < (i ? 2u : 4u); x /= 10, k++)
			buf[at[i] - (int)k] = (char)('0' + x % 10);
	for (unsigned x = usec, k = 0; k < 6; x /= 10, k++)
		buf[25 - k] = (char)('0' + x % 10);
}

uint32_t entry_add_endpoint(struct doc *d, uint32_t parent, const char *key,
			    const struct fl_endpoint *ep)
{
	char ip[FL_ADDR_STRLEN];
	uint32_t obj = doc_add_obj(d, parent, key);
	doc_add_str(d, obj, "ip", addr_format(&ep->addr, ip, sizeof(ip)));
	if (ep->has_port)
		doc_add_int(d, obj, "port", ep->port);
	return obj;
}

void entry_add_tunnels(struct doc *d, uint32_t parent, const struct fl_tunnels *tunnels)
{
	char ip[FL_ADDR_STRLEN];
	uint32_t arr = doc_add_arr(d, parent, "tunnel");
	for (unsigned i = 0; i < tunnels->n; i++) {
		const struct fl_tunnel *t = &tunnels->t[i];
		uint32_t o = doc_add_obj(d, arr, NULL);
		doc_add_str(d, o, "type", tunnel_type_name(t->type));
		if (t->has_id) {
			const char *id = t->type == FL_TUNNEL_GRE ? "key" :
					 t->type == FL_TUNNEL_GTP ? "teid" : "vni";
			doc_add_int(d, o, id, t->id);
		}
		if (t->n_labels) {
			uint32_t labels = doc_add_arr(d, o, "labels");
			for (unsigned l = 0; l < t->n_labels; l++)
				doc_add_int(d, labels, NULL, t->labels[l]);
		}
		if (t->has_outer) {
			uint32_t outer = doc_add_obj(d, o, "outer");
			doc_add_str(d, outer, "src", addr_format(&t->outer_src, ip, sizeof(ip)));
			doc_add_str(d, outer, "dst", addr_format(&t->outer_dst, ip, sizeof(ip)));
		}
	}
}

/* Where the entry's flow (else its packet) was captured. */
static const struct flow_origin *entry_origin(const struct emitter *em, const struct flow *f)
{
	if (f && em->origin_slot > 0 && !(em->origin_packet && em->packet_origin.ifindex))
		return flow_storage(f, em->origin_slot);
	return &em->packet_origin;
}

/*
 * The owner of a local endpoint, from the entry's flow (TCP or UDP).  An ICMP
 * message's endpoints have no port: one that is an end of the flow the message
 * quotes is that end (the sender of a datagram that met "port unreachable").
 */
static bool owner_of(struct emitter *em, uint32_t obj, const char *protocol, bool is_src,
		     const struct fl_endpoint *ep, const struct fl_endpoint *peer, uint64_t ts_ns)
{
	const struct flow *f = em->meta.flow;
	/* Sent from here (egress): the sender is local; received: the receiver. */
	uint8_t dir = entry_origin(em, f)->direction;
	bool local = is_src ? dir == FL_DIR_EGRESS : dir == FL_DIR_INGRESS;
	if (!f) {   /* kernel-only entries: the transport by the protocol's name */
		if (!ep->has_port || !strcmp(protocol, "icmp"))
			return false;
		uint8_t proto = !strcmp(protocol, "udp") ? IPPROTO_UDP : IPPROTO_TCP;
		return owners_describe(em->owners, &em->doc, obj, ep, peer, proto, local, ts_ns);
	}
	if (f->key.proto != IPPROTO_TCP && f->key.proto != IPPROTO_UDP)
		return false;
	if (ep->has_port)
		return owners_describe(em->owners, &em->doc, obj, ep, peer, f->key.proto, local,
				       ts_ns);
	for (int i = 0; i < 2; i++) {
		if (!addr_equal(&f->key.addr[i], &ep->addr))
			continue;
		struct fl_endpoint me = { f->key.addr[i], f->key.port[i], true },
				   other = { f->key.addr[!i], f->key.port[!i], true };
		return owners_describe(em->owners, &em->doc, obj, &me, &other, f->key.proto, local,
				       ts_ns);
	}
	return false;
}

/* `name` and `namespace` of an endpoint whose address has a name. */
static void entry_add_name(struct emitter *em, uint32_t obj, const char *protocol, bool is_src,
			   const struct fl_endpoint *ep, const struct fl_endpoint *peer, uint64_t ts_ns)
{
	const char *ns, *name;
	/* A local socket's owner names it (pod, container, unit, process) before DNS does. */
	if (em->owners && obj != DOC_NONE && owner_of(em, obj, protocol, is_src, ep, peer, ts_ns))
		return;
	if (!em->names || obj == DOC_NONE || !(name = names_lookup(em->names, &ep->addr, ts_ns, &ns)))
		return;
	doc_add_str(&em->doc, obj, "name", name);
	if (ns)
		doc_add_str(&em->doc, obj, "namespace", ns);
}

/* `interface` and `direction`. */
static void entry_add_origin(struct emitter *em, const struct flow *f)
{
	const struct flow_origin *o = entry_origin(em, f);
	if (!o->ifindex)
		return;
	const char *name = em->ifname ? em->ifname(em->ifname_ctx, o->ifindex) : NULL;
	if (name && *name)
		doc_add_str(&em->doc, DOC_ROOT, "interface", name);
	if (o->direction == FL_DIR_INGRESS || o->direction == FL_DIR_EGRESS)
		doc_add_str(&em->doc, DOC_ROOT, "direction",
			    o->direction == FL_DIR_INGRESS ? "ingress" : "egress");
}

struct doc *entry_begin(struct emitter *em, uint64_t ts_ns, const char *protocol,
			const struct fl_endpoint *src, const struct fl_endpoint *dst,
			struct flow *flow)
{
	char ts[40];
	struct doc *d = &em->doc;

	doc_reset(d);
	em->open = true;
	em->meta = (struct entry_meta){ .error = FL_ERR_NONE, .flow = flow ? flow : em->scope_flow,
					.ts_ns = ts_ns, .id = em->next_id++ };
	/* With no sink (read --stats) nobody reads the entry: count it, do not build it. */
	d->discard = em->n_sinks == 0;
	if (d->discard)
		return d;
	doc_add_int(d, DOC_ROOT, "id", (int64_t)em->meta.id);
	format_ts(ts_ns, ts, sizeof(ts));
	doc_add_str(d, DOC_ROOT, "ts", ts);
	if (em->node)
		doc_add_str(d, DOC_ROOT, "node", em->node);
	doc_add_str(d, DOC_ROOT, "protocol", protocol);
	entry_add_name(em, entry_add_endpoint(d, DOC_ROOT, "src", src), protocol, true, src, dst,
		       ts_ns);
	entry_add_name(em, entry_add_endpoint(d, DOC_ROOT, "dst", dst), protocol, false, dst, src,
		       ts_ns);
	const struct flow *f = em->meta.flow;
	entry_add_origin(em, f);
	const struct fl_tunnels *tunnels = f && f->tunnels ? f->tunnels : em->packet_tunnels;
	if (tunnels && tunnels->n)
		entry_add_tunnels(d, DOC_ROOT, tunnels);
	return d;
}

void entry_set_error(struct emitter *em, enum fl_error_type type, const char *message,
		     const char *reason)
{
	struct doc *d = &em->doc;
	uint32_t err = doc_add_obj(d, DOC_ROOT, "error");
	doc_add_str(d, err, "type", error_type_name(type));
	doc_add_str(d, err, "message", message);
	if (reason)
		doc_add_str(d, err, "reason", reason);
	em->meta.error = type;
}

/* An endpoint's address bytes and port (0 when it has none). */
static size_t endpoint_bytes(const struct doc *d, const char *key, uint8_t addr[16], uint16_t *port)
{
	uint32_t ep = doc_get(d, DOC_ROOT, key);
	const char *ip = doc_path_str(d, ep, "ip");
	uint32_t p = doc_get(d, ep, "port");
	*port = p == DOC_NONE ? 0 : (uint16_t)doc_number(d, p);
	if (!ip)
		return 0;
	if (inet_pton(AF_INET, ip, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, ip, addr) == 1)
		return 16;
	return 0;
}

/*
 * community_id of the entry's flow: TCP or UDP from the flow (or the entry's
 * transport), ICMP from its type and code.  None when the entry has no flow
 * to speak of.
 */
static void add_community_id(struct emitter *em)
{
	struct doc *d = &em->doc;
	uint8_t sa[16], da[16];
	uint16_t sp, dp;
	size_t sl = endpoint_bytes(d, "src", sa, &sp), dl = endpoint_bytes(d, "dst", da, &dp);
	if (!sl || sl != dl)
		return;
	uint8_t proto = 0;
	uint32_t icmp = doc_get(d, DOC_ROOT, "icmp");
	const char *protocol = doc_path_str(d, DOC_ROOT, "protocol");
	const char *transport = doc_path_str(d, DOC_ROOT, "transport");
	if (icmp != DOC_NONE) {
		uint32_t v = doc_get(d, icmp, "version"), t = doc_get(d, icmp, "type"),
			 c = doc_get(d, icmp, "code");
		if (v == DOC_NONE || t == DOC_NONE || c == DOC_NONE)
			return;
		proto = doc_number(d, v) == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		sp = (uint16_t)doc_number(d, t);
		dp = (uint16_t)doc_number(d, c);
	} else if (em->meta.flow && (em->meta.flow->key.proto == IPPROTO_TCP ||
				     em->meta.flow->key.proto == IPPROTO_UDP)) {
		proto = em->meta.flow->key.proto;
	} else if (transport) {
		proto = strcmp(transport, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	} else if (protocol && strcmp(protocol, "dns") != 0) {
		proto = IPPROTO_TCP;      /* tcp, http, redis: TCP protocols */
	} else {
		return;
	}
	char id[COMMUNITY_ID_LEN];
	if (community_id_v1(0, sa, da, sl, proto, sp, dp, id))
		doc_add_str(d, DOC_ROOT, "community_id", id);
}

void entry_commit(struct emitter *em)
{
	if (!em->open)
		return;
	em->open = false;
	if (em->annotate)
		em->annotate(em->annotate_ctx, em);
	if (doc_get(&em->doc, DOC_ROOT, "error") == DOC_NONE)
		doc_add_null(&em->doc, DOC_ROOT, "error");
	if (!em->doc.discard) {
		add_community_id(em);
		if (em->redact)
			redact_entry(&em->doc);
	}
	if (em->stats) {
		em->stats->entries.total++;
		if (em->meta.error != FL_ERR_NONE)
			em->stats->entries.errors[em->meta.error]++;
	}
	for (unsigned i = 0; i < em->n_sinks; i++)
		em->sinks[i].emit(em->sinks[i].ctx, &em->doc, &em->meta);
}
