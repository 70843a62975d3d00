/* SPDX-License-Identifier: MIT */
/*
 * Entries: what faultline reports, one per finding (id, ts, protocol, src and dst with the
 * initiator first, error or null, and the protocol's own fields).  A stage builds one with
 * entry_begin(), adds its fields to the returned doc, and hands it on with
 * entry_commit(), which numbers it, counts it and passes it to every sink
 * (output, query ring, recorder).  One entry is under construction at a time.
 */
#ifndef FL_ENTRY_H
#define FL_ENTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/decode.h"
#include "report/doc.h"
#include "report/stats.h"

struct flow;
struct names;
struct owners;

struct fl_endpoint {
	struct fl_addr addr;
	uint16_t port;
	bool has_port;        /* false for ICMP: no "port" member */
};

/* What a sink learns about an entry besides its doc. */
struct entry_meta {
	enum fl_error_type error;
	struct flow *flow;    /* the flow it concerns, or NULL */
	uint64_t ts_ns;
	uint64_t id;
};

struct entry_sink {
	void (*emit)(void *ctx, const struct doc *entry, const struct entry_meta *meta);
	void *ctx;
};

#define ENTRY_MAX_SINKS 8

/* Where a flow was first captured (capture): the interface and direction of its first packet. */
struct flow_origin {
	uint32_t ifindex;     /* 0: unknown (files) */
	uint8_t direction;    /* enum fl_direction */
};

struct emitter {
	struct doc doc;
	struct entry_meta meta;
	uint64_t next_id;
	const char *node;     /* "node" in every entry: $NODE_NAME (Kubernetes downward API);
			       * capture falls back to the hostname (emitter_set_node) */
	bool redact;          /* credentials redacted (report/redact.h); false with --no-redact */
	/* The tunnels of the packet being handled, for entries that have no flow (pipeline). */
	const struct fl_tunnels *packet_tunnels;
	struct fl_stats *stats;
	/* IP -> name (DNS answers, --names): `name` and `namespace` of src and dst. */
	struct names *names;
	/* capture: who owns the local sockets (process, cgroup, container, pod). */
	struct owners *owners;
	struct entry_sink sinks[ENTRY_MAX_SINKS];
	unsigned n_sinks;
	bool open;
	/* The flow a stage is working on (set by the stream layer around dissector
	 * calls): entries begun without a flow concern this one. */
	struct flow *scope_flow;
	/* Called by entry_commit before the sinks (the pipeline's kernel-drop join): may add
	 * to the doc of the entry being committed. */
	void (*annotate)(void *ctx, struct emitter *em);
	void *annotate_ctx;
	/*
	 * `interface` and `direction` (capture): those of the packet that opened the
	 * entry's flow (its struct flow_origin, flow storage `origin_slot`); for an
	 * entry without a flow, or an entry about the ICMP message itself (origin_packet),
	 * those of the packet being handled (packet_origin, set by the pipeline around an
	 * ICMP message).  Names come from ifname().
	 */
	int origin_slot;      /* 0: none */
	struct flow_origin packet_origin;
	bool origin_packet;
	const char *(*ifname)(void *ctx, uint32_t ifindex);
	void *ifname_ctx;
};

void emitter_init(struct emitter *em, struct fl_stats *stats);
/*
 * The first entry id (1 by default, so a file gives the same ids on every
 * read).  capture starts at its start time in microseconds since the epoch,
 * so ids stay unique and increasing across restarts (below 2^53: exact in
 * JSON parsers that read numbers as doubles, until the year 2255).
 */
void emitter_set_first_id(struct emitter *em, uint64_t id);
void emitter_free(struct emitter *em);
int emitter_add_sink(struct emitter *em, struct entry_sink sink);

/*
 * Start an entry: id, ts, protocol, src, dst.  Returns the doc to fill; the
 * root object is DOC_ROOT.  `flow` may be NULL (then em->scope_flow, if any).
 */
struct doc *entry_begin(struct emitter *em, uint64_t ts_ns, const char *protocol,
			const struct fl_endpoint *src, const struct fl_endpoint *dst,
			struct flow *flow);
/*
 * Add `tunnel`: [{"type", "vni" | "key" | "teid" | "labels", "outer": {"src", "dst"}}],
 * outermost first.
 */
void entry_add_tunnels(struct doc *d, uint32_t parent, const struct fl_tunnels *tunnels);
/* Add {"ip", "port"} as member `key` of `parent`. */
uint32_t entry_add_endpoint(struct doc *d, uint32_t parent, const char *key,
			    const struct fl_endpoint *ep);
/* Set the error object: {"type", "message", "reason" (when not NULL)}. */
void entry_set_error(struct emitter *em, enum fl_error_type type, const char *message,
		     const char *reason);
void entry_commit(struct emitter *em);

/* RFC 3339 UTC with microseconds: "2026-11-26T06:41:56.718846Z" (buf >= 32). */
void format_ts(uint64_t ts_ns, char *buf, size_t len);
/* Milliseconds between two packet times, as entries carry them. */
static inline double elapsed_ms(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e6 : 0.0;
}

#endif
