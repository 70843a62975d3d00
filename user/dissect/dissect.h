/* SPDX-License-Identifier: MIT */
/*
 * The dissector interface.  A dissector is a const ops table listed in
 * dissect/registry.c.  The stream layer feeds it bytes in order, per
 * direction: reassembled TCP payload, or one UDP datagram per call.
 *
 * Parsers report how many bytes they consumed; what they leave is kept by the
 * stream layer and presented again, with more, on the next call (Suricata's
 * model), so a parser never copies a message it cannot finish yet.
 */
#ifndef FL_DISSECT_H
#define FL_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "report/entry.h"

struct fl_config;

enum dissect_dir {
	DISSECT_TO_SERVER = 0,    /* client -> server: requests */
	DISSECT_TO_CLIENT = 1,    /* server -> client: responses */
};

enum dissect_transport {
	DISSECT_TCP = 1 << 0,
	DISSECT_UDP = 1 << 1,
};

enum dissect_probe {
	DISSECT_PROBE_NO = 0,     /* not this protocol */
	DISSECT_PROBE_MAYBE,      /* too few bytes to tell */
	DISSECT_PROBE_YES,        /* this protocol */
};

/* Why a stream (or a UDP conversation) ended. */
enum dissect_end {
	DISSECT_END_FIN = 1,      /* both sides closed, or one side's FIN */
	DISSECT_END_RST,          /* reset */
	DISSECT_END_TIMEOUT,      /* idle for tap.tcpStreamChannelTimeoutMs */
	DISSECT_END_CAPTURE,      /* the file or capture ended */
	DISSECT_END_EVICTED,      /* the flow table needed the slot */
};

/* An ICMP error quoting a packet of this flow. */
struct dissect_icmp {
	uint8_t version;          /* 4 or 6 */
	uint8_t type, code;
	const char *type_name, *code_name;
	enum dissect_dir dir;     /* direction of the quoted packet */
	bool quoted_df;           /* IPv4: the quoted packet had Don't Fragment set */
	const uint8_t *quoted_payload;   /* L4 payload bytes the ICMP quoted (may be 0) */
	size_t quoted_len;
};

/* The connection's loss so far, as the stream layer counted it (0 for UDP). */
struct dissect_loss {
	uint64_t missed_bytes;    /* bytes never captured (holes) */
	uint64_t truncated_bytes; /* bytes on the wire the snaplen cut */
	uint64_t retransmissions; /* segments seen again */
};

/*
 * What a dissector may use while parsing: everything it needs of the flow is
 * here, filled by the stream layer; dissectors never see struct flow.
 */
struct dissect_ctx {
	struct emitter *em;
	const struct fl_config *cfg;
	struct fl_stats *stats;
	uint64_t ts_ns;           /* time of the packet that carried these bytes */
	struct fl_endpoint client, server;
	enum dissect_transport transport;  /* DISSECT_TCP or DISSECT_UDP */
	struct dissect_loss tcp;
	enum dissect_end end_reason;       /* valid in end() */
	enum dissect_dir end_by;           /* who sent the FIN/RST, valid in end() */
	/* The capture joined this stream after it started: resynchronise on the next
	 * message start instead of reporting parser errors. */
	bool midstream;
	/* Bytes of each direction the dissector left unconsumed and that are now being
	 * thrown away: valid in end() and gap() (a hole makes them useless). */
	uint32_t unconsumed[2];
	/* gap(): those unconsumed bytes themselves (a head cut by the snaplen can
	 * still be read up to the cut), and whether the gap is the snaplen's:
	 * the bytes were on the wire and are not loss; skip them and stay in step
	 * where the framing allows. */
	const uint8_t *unconsumed_data[2];
	bool truncated;
	/* gap(): the bytes were on the wire inside what skippable() announced and
	 * the capture did not copy them (tap.skipPayload): take them as read,
	 * exactly as if parse() had been given them (never loss, never truncation). */
	bool skipped;
	/* The source honours skippable() (tap.skipPayload on a flow the kernel sees as
	 * it is): a dissector may then decide a long message from part of it. */
	bool skipping;
	uint64_t timeout_ms;      /* tap.tcpStreamChannelTimeoutMs, for messages */
	bool fin[2];              /* the sender of each direction sent its FIN (valid in end()) */
};

struct dissector_ops {
	const char *name;         /* the entry's "protocol": "http", "dns", "redis" */
	unsigned transports;      /* enum dissect_transport bits */
	/* Well-known server ports; a hint only, content decides. */
	bool (*port_hint)(uint16_t server_port);
	/* Look at the first bytes of a direction. */
	enum dissect_probe (*probe)(const uint8_t *data, size_t len, enum dissect_dir dir,
				    bool port_hint);
	void *(*new)(struct dissect_ctx *ctx);
	void (*free)(void *state);
	size_t state_size;        /* what new() allocates (memory.stream_bytes) */
	/*
	 * In-order bytes of `dir`.  Returns how many were consumed (0..len); the
	 * rest is presented again with more data.  Returns -1 after emitting a
	 * parser-error entry: the stream is not parsed further.
	 */
	ssize_t (*parse)(void *state, struct dissect_ctx *ctx, enum dissect_dir dir,
			 const uint8_t *data, size_t len);
	/* `missing` bytes of `dir` were never captured (a hole), or (ctx->truncated)
	 * were cut by the capture's snaplen. */
	void (*gap)(void *state, struct dissect_ctx *ctx, enum dissect_dir dir, uint64_t missing);
	/* The stream ended: report what is unfinished (ctx->end_reason, ctx->end_by). */
	void (*end)(void *state, struct dissect_ctx *ctx);
	/* An ICMP error quoted this flow. */
	void (*icmp)(void *state, struct dissect_ctx *ctx, const struct dissect_icmp *icmp);
	/* Does the state hold an unfinished message (for the stale-stream timeout)? */
	bool (*pending)(void *state);
	/*
	 * May be NULL.  How many bytes of `dir`, right after those consumed, are
	 * body the dissector only counts (a Content-Length body, chunk data, a
	 * bulk string): the capture may skip copying them, and they then come as
	 * gap() with ctx->skipped.  0: it wants to see the next bytes.
	 */
	uint64_t (*skippable)(void *state, enum dissect_dir dir);
};

/* All dissectors, in probing order; NULL-terminated. */
extern const struct dissector_ops *const dissectors[];

/*
 * Helpers for dissectors (dissect/registry.c).  dissect_add_tcp adds the
 * "tcp" object ({missed_bytes, retransmissions, truncated_bytes}) when any is non-zero.
 */
void dissect_add_tcp(struct doc *d, uint64_t missed_bytes, uint64_t retransmissions,
		     uint64_t truncated_bytes);
/* A printable excerpt of s (up to max bytes, stopping at a line end) for an error message. */
size_t dissect_excerpt(char *out, size_t out_len, const uint8_t *s, size_t len, size_t max);

#endif
