/* SPDX-License-Identifier: MIT */
/*
 * The one harness of the dissector unit tests.  An emitter whose sink keeps a
 * copy of every entry (h->docs, h->json; h_str, h_int, ... read them), fed in
 * one of two ways:
 *
 * - straight into one dissector (h_new): a dissect_ctx as the stream layer
 *   fills it, and a feed that keeps unconsumed bytes and presents them again
 *   with the next call (h_stream), or one datagram per call (h_datagram);
 * - through the stream layer (h_tcp_new): synthetic TCP segments go into
 *   stream_tcp_packet() exactly as the pipeline hands them over (h_send_s,
 *   h_seg_at, h_fin, h_rst), so reassembly, holes and retransmissions are real.
 */
#ifndef TEST_DISSECT_HARNESS_H
#define TEST_DISSECT_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/config.h"
#include "core/decode.h"
#include "dissect/dissect.h"
#include "dissect/protocols.h"
#include "report/entry.h"
#include "core/flow.h"
#include "stream/stream.h"

#define H_MAX_ENTRIES 512
#define H_BUF 4096

struct harness {
	const struct dissector_ops *ops;
	void *state;
	struct emitter em;
	struct fl_stats stats;
	struct fl_config cfg;
	struct dissect_ctx ctx;
	unsigned n;
	struct doc docs[H_MAX_ENTRIES];
	char *json[H_MAX_ENTRIES];
	/* Unconsumed bytes per direction, as the stream layer keeps them. */
	uint8_t buf[2][H_BUF];
	size_t buf_len[2];
	bool stopped;
	/* Through the stream layer (h_tcp_new). */
	struct stream_env env;
	struct flow f;
	void *stream_storage;     /* the stream layer's flow storage, right after f */
	struct stream_origin origin;
	uint32_t seq[2];          /* next sequence number per side */
	uint64_t ts;
	bool count_only;          /* benchmarks: count entries, keep none */
};

static void h_sink(void *c, const struct doc *d, const struct entry_meta *meta)
{
	struct harness *h = c;
	(void)meta;
	if (h->count_only)
		return;
	if (h->n == H_MAX_ENTRIES)
		return;
	struct doc *dst = &h->docs[h->n];
	doc_init(dst);
	doc_reset(dst);
	for (uint32_t k = d->nodes[DOC_ROOT].v.kids.first; k != DOC_NONE; k = d->nodes[k].next)
		doc_copy(dst, DOC_ROOT, doc_key(d, k, NULL), d, k);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	doc_write_json(d, DOC_ROOT, f);
	fclose(f);
	h->json[h->n++] = text;
}

static inline struct harness *h_alloc(void)
{
	struct harness *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	emitter_init(&h->em, &h->stats);
	emitter_add_sink(&h->em, (struct entry_sink){ .emit = h_sink, .ctx = h });
	config_defaults(&h->cfg);
	return h;
}

/* Straight into `ops`: client 198.18.4.1:40000, server 198.18.4.2:server_port. */
static inline struct harness *h_new(const struct dissector_ops *ops, uint8_t proto,
				    uint16_t server_port)
{
	struct harness *h = h_alloc();
	h->ops = ops;
	h->ctx.em = &h->em;
	h->ctx.transport = proto == FL_IPPROTO_TCP ? DISSECT_TCP : DISSECT_UDP;
	h->ctx.cfg = &h->cfg;
	h->ctx.timeout_ms = h->cfg.stream_timeout_ms;
	h->ctx.stats = &h->stats;
	addr_parse(&h->ctx.client.addr, "198.18.4.1");
	h->ctx.client.port = 40000;
	h->ctx.client.has_port = true;
	addr_parse(&h->ctx.server.addr, "198.18.4.2");
	h->ctx.server.port = server_port;
	h->ctx.server.has_port = true;
	h->state = ops->new(&h->ctx);
	assert_non_null(h->state);
	return h;
}

/* The stream layer joined the stream after it started. */
static inline void h_midstream(struct harness *h)
{
	h->ops->free(h->state);
	h->ctx.midstream = true;
	h->state = h->ops->new(&h->ctx);
	assert_non_null(h->state);
}

/*
 * Through the stream layer: a TCP flow 198.18.3.1:40000 -> 198.18.3.2:server_port,
 * its handshake seen (or joined midstream), the dissector chosen by content.
 */
static inline struct harness *h_tcp_new(bool handshake, uint16_t server_port)
{
	struct harness *h = h_alloc();
	struct flow *f = &h->f;
	h->env = (struct stream_env){ &h->em, &h->cfg, &h->stats,
				      (int)(offsetof(struct harness, stream_storage) -
					    offsetof(struct harness, f)) };
	addr_parse(&f->key.addr[0], "198.18.3.1");
	addr_parse(&f->key.addr[1], "198.18.3.2");
	f->key.port[0] = 40000;
	f->key.port[1] = server_port;
	f->key.proto = FL_IPPROTO_TCP;
	h->seq[0] = 0xfffff000u;      /* the client's data wraps 2^32 early on */
	h->seq[1] = 5000;
	h->ts = 1700000000ull * 1000000000ull;
	if (handshake) {
		f->client = 0;
		f->client_known = true;
		h->origin.isn_known[0] = h->origin.isn_known[1] = true;
		h->origin.isn[0] = h->seq[0]++;
		h->origin.isn[1] = h->seq[1]++;
	} else {
		h->origin.midstream = true;
	}
	return h;
}

#define H_CLIENT 0
#define H_SERVER 1

/* One segment from `side` (H_CLIENT, H_SERVER) at an explicit sequence number, 1 ms later. */
static inline void h_seg_at(struct harness *h, int side, uint32_t seq, const void *data,
			    size_t len, uint8_t flags)
{
	struct decoded d;
	memset(&d, 0, sizeof(d));
	d.seq = seq;
	d.ack = h->seq[!side];
	d.tcp_flags = (flags & TCP_SYN) ? flags : flags | TCP_ACK;
	d.payload = data;
	d.payload_caplen = d.payload_len = (uint32_t)len;
	h->ts += 1000000;
	h->f.last_ts_ns = h->ts;
	/* As the pipeline does: bytes first, then the end connection tracking reports. */
	stream_tcp_packet(&h->env, &h->f, side, &d, h->ts, &h->origin);
	if (flags & TCP_RST)
		stream_end(&h->env, &h->f, DISSECT_END_RST, side, h->ts);
	else if (flags & TCP_FIN)
		stream_tcp_fin(&h->env, &h->f, side, &d, h->ts);
}

static inline void h_send_n(struct harness *h, int side, const void *data, size_t len)
{
	h_seg_at(h, side, h->seq[side], data, len, TCP_PSH);
	h->seq[side] += (uint32_t)len;
}

static inline void h_send_s(struct harness *h, int side, const char *s)
{
	h_send_n(h, side, s, strlen(s));
}

static inline void h_fin(struct harness *h, int side)
{
	h_seg_at(h, side, h->seq[side], NULL, 0, TCP_FIN);
	h->seq[side]++;
}

static inline void h_rst(struct harness *h, int side)
{
	h_seg_at(h, side, h->seq[side], NULL, 0, TCP_RST);
}

static inline void h_capture_end(struct harness *h)
{
	stream_end(&h->env, &h->f, DISSECT_END_CAPTURE, 0, h->ts);
}

static inline void h_free(struct harness *h)
{
	if (h->env.em) {
		stream_free(&h->env, &h->f);
		assert_int_equal(h->stats.memory.reassembly_bytes, 0);
		assert_int_equal(h->stats.memory.stream_bytes, 0);   /* all given back */
	} else {
		h->ops->free(h->state);
	}
	for (unsigned i = 0; i < h->n; i++) {
		doc_free(&h->docs[i]);
		free(h->json[i]);
	}
	emitter_free(&h->em);
	free(h);
}

/* One call of parse() with exactly these bytes (a UDP datagram); returns its result. */
static inline ssize_t h_datagram(struct harness *h, enum dissect_dir dir, const void *data,
				 size_t len, uint64_t ts_ms)
{
	h->ctx.ts_ns = 1700000000000000000ull + ts_ms * 1000000ull;
	return h->ops->parse(h->state, &h->ctx, dir, data, len);
}

/* Stream bytes: append to what was left, parse, keep what was not consumed. */
static inline ssize_t h_stream(struct harness *h, enum dissect_dir dir, const void *data,
			       size_t len, uint64_t ts_ms)
{
	if (h->stopped)
		return -1;
	assert_true(h->buf_len[dir] + len <= H_BUF);
	memcpy(h->buf[dir] + h->buf_len[dir], data, len);
	h->buf_len[dir] += len;
	ssize_t used = h_datagram(h, dir, h->buf[dir], h->buf_len[dir], ts_ms);
	if (used < 0) {
		h->stopped = true;
		return used;
	}
	assert_true((size_t)used <= h->buf_len[dir]);
	memmove(h->buf[dir], h->buf[dir] + used, h->buf_len[dir] - (size_t)used);
	h->buf_len[dir] -= (size_t)used;
	return used;
}

static inline ssize_t h_streams(struct harness *h, enum dissect_dir dir, const char *text,
				uint64_t ts_ms)
{
	return h_stream(h, dir, text, strlen(text), ts_ms);
}

static inline void h_end(struct harness *h, enum dissect_end why, enum dissect_dir by,
			 uint64_t ts_ms)
{
	h->ctx.ts_ns = 1700000000000000000ull + ts_ms * 1000000ull;
	h->ctx.end_reason = why;
	h->ctx.end_by = by;
	h->ops->end(h->state, &h->ctx);
}

/* Field access on entry i. */
static inline uint32_t h_node(struct harness *h, unsigned i, const char *path)
{
	assert_true(i < h->n);
	return doc_path(&h->docs[i], DOC_ROOT, path);
}

static inline const char *h_str(struct harness *h, unsigned i, const char *path)
{
	const char *s = doc_path_str(&h->docs[i], DOC_ROOT, path);
	if (!s)
		fail_msg("entry %u: no string at %s in %s", i, path, h->json[i]);
	return s;
}

static inline int64_t h_int(struct harness *h, unsigned i, const char *path)
{
	uint32_t n = h_node(h, i, path);
	if (doc_type_of(&h->docs[i], n) != DOC_INT)
		fail_msg("entry %u: no integer at %s in %s", i, path, h->json[i]);
	return h->docs[i].nodes[n].v.i;
}

static inline bool h_is_null(struct harness *h, unsigned i, const char *path)
{
	return doc_type_of(&h->docs[i], h_node(h, i, path)) == DOC_NULL;
}

/* The entry's JSON contains `text`. */
static inline void h_contains(struct harness *h, unsigned i, const char *text)
{
	assert_true(i < h->n);
	if (!strstr(h->json[i], text))
		fail_msg("entry %u lacks %s: %s", i, text, h->json[i]);
}

#endif
