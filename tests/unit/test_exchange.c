// SPDX-License-Identifier: MIT
/*
 * The exchange layer (dissect/exchange.c) on its own: a toy protocol whose
 * record is a name, driven with the shared harness's emitter and context.
 */
#include <errno.h>

#include "dissect_harness.h"
#include "dissect/exchange.h"

#define TO_S DISSECT_TO_SERVER
#define TO_C DISSECT_TO_CLIENT

struct toy {
	char name[16];
};

/* request {name}, response {value} when given, elapsed_ms */
static void toy_fill(struct exchange_queue *q, struct dissect_ctx *ctx, struct doc *d,
		     const struct exchange *ex, const void *response)
{
	const struct toy *t = exchange_cdata(ex);
	(void)q;
	uint32_t req = doc_add_obj(d, DOC_ROOT, "request");
	doc_add_str(d, req, "name", t->name);
	if (response) {
		uint32_t resp = doc_add_obj(d, DOC_ROOT, "response");
		doc_add_str(d, resp, "value", response);
		doc_add_real(d, DOC_ROOT, "elapsed_ms", elapsed_ms(ex->ts_ns, ctx->ts_ns));
	} else {
		doc_add_null(d, DOC_ROOT, "response");
		doc_add_null(d, DOC_ROOT, "elapsed_ms");
	}
}

struct rig {
	struct harness *h;
	struct exchange_queue q;
};

static void rig_init(struct rig *r, uint32_t max)
{
	r->h = h_alloc();
	struct dissect_ctx *ctx = &r->h->ctx;
	ctx->em = &r->h->em;
	ctx->cfg = &r->h->cfg;
	ctx->timeout_ms = 10000;
	ctx->transport = DISSECT_TCP;
	addr_parse(&ctx->client.addr, "198.18.4.1");
	ctx->client.port = 40000;
	ctx->client.has_port = true;
	addr_parse(&ctx->server.addr, "198.18.4.2");
	ctx->server.port = 7;
	ctx->server.has_port = true;
	exchange_queue_init(&r->q, "toy", sizeof(struct toy), max, toy_fill, NULL);
}

static void rig_free(struct rig *r)
{
	exchange_queue_free(&r->q);
	for (unsigned i = 0; i < r->h->n; i++) {
		doc_free(&r->h->docs[i]);
		free(r->h->json[i]);
	}
	emitter_free(&r->h->em);
	free(r->h);
}

static void at(struct rig *r, uint64_t ms)
{
	r->h->ctx.ts_ns = 1700000000000000000ull + ms * 1000000ull;
}

static struct exchange *open_toy(struct rig *r, const char *name)
{
	struct exchange *ex = exchange_open(&r->q, &r->h->ctx, r->h->ctx.ts_ns);
	assert_non_null(ex);
	snprintf(((struct toy *)exchange_data(ex))->name, sizeof(struct toy), "%s", name);
	return ex;
}

static void test_open_complete_in_order(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, 4);
	at(&r, 0);
	open_toy(&r, "a");
	at(&r, 1);
	open_toy(&r, "b");
	assert_int_equal(r.q.count, 2);
	at(&r, 5);
	exchange_complete(&r.q, &r.h->ctx, exchange_first(&r.q), "A");
	assert_int_equal(r.q.count, 1);
	assert_int_equal(r.h->n, 1);
	assert_string_equal(h_str(r.h, 0, "request.name"), "a");
	assert_string_equal(h_str(r.h, 0, "response.value"), "A");
	assert_true(h_is_null(r.h, 0, "error"));
	h_contains(r.h, 0, "\"elapsed_ms\":5.000");
	h_contains(r.h, 0, "\"protocol\":\"toy\"");
	/* the error member comes before tcp, and there is no tcp without loss */
	assert_int_equal(h_node(r.h, 0, "tcp"), DOC_NONE);
	assert_string_equal(((struct toy *)exchange_data(exchange_first(&r.q)))->name, "b");
	rig_free(&r);
}

static void test_bound(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, 2);
	open_toy(&r, "a");
	open_toy(&r, "b");
	assert_null(exchange_open(&r.q, &r.h->ctx, 0));
	struct exchange *ex = exchange_new(&r.q, &r.h->ctx, 0);
	assert_non_null(ex);
	assert_int_equal(exchange_push(&r.q, ex), -ENOSPC);
	exchange_release(&r.q, ex);
	/* removal from the middle keeps the order and the tail */
	struct exchange *a = exchange_first(&r.q), *b = a->next;
	exchange_remove(&r.q, b);
	assert_ptr_equal(exchange_last(&r.q), a);
	exchange_release(&r.q, b);
	open_toy(&r, "c");
	assert_string_equal(((struct toy *)exchange_data(exchange_last(&r.q)))->name, "c");
	rig_free(&r);
}

/* Loss is per exchange: retransmissions while it was open, holes given to it. */
static void test_per_exchange_counters(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, 4);
	r.h->ctx.tcp.retransmissions = 7;       /* before: nobody's */
	open_toy(&r, "a");
	r.h->ctx.tcp.retransmissions = 9;
	open_toy(&r, "b");
	r.h->ctx.tcp.retransmissions = 10;
	/* a hole in the responses is the oldest's, in the requests the newest's */
	exchange_loss(&r.q, TO_C, 100);
	exchange_loss(&r.q, TO_S, 3);
	exchange_complete(&r.q, &r.h->ctx, exchange_first(&r.q), "A");
	exchange_complete(&r.q, &r.h->ctx, exchange_first(&r.q), "B");
	h_contains(r.h, 0, "\"error\":null,\"tcp\":{\"missed_bytes\":100,\"retransmissions\":3}");
	h_contains(r.h, 1, "\"tcp\":{\"missed_bytes\":3,\"retransmissions\":1}");
	/* a hole with nobody waiting is the next exchange's (its request was in it) */
	exchange_loss(&r.q, TO_S, 20);
	open_toy(&r, "c");
	exchange_complete(&r.q, &r.h->ctx, exchange_first(&r.q), "C");
	assert_int_equal(h_int(r.h, 2, "tcp.missed_bytes"), 20);
	rig_free(&r);
}

struct end_case {
	enum dissect_end why;
	enum dissect_dir by;
	bool fin_client, fin_server;
	const char *missing, *reason;       /* exchange_end */
	const char *cut_type, *cut_msg;     /* exchange_cut of a response */
};

static void test_end_verdicts(void **state)
{
	(void)state;
	static const struct end_case cases[] = {
		{ DISSECT_END_FIN, TO_C, false, true, "response missing: connection closed by server",
		  "closed", "unexpected-eof", "connection closed by server in the middle" },
		{ DISSECT_END_RST, TO_S, false, false, "response missing: connection reset by client",
		  "reset", "unexpected-eof", "connection reset by client in the middle" },
		{ DISSECT_END_TIMEOUT, TO_S, false, false,
		  "response missing: stream idle for 10000 ms", "timeout", "timeout",
		  "stream idle for 10000 ms in the middle" },
		{ DISSECT_END_CAPTURE, TO_S, false, false, "response missing: capture ended",
		  "capture-end", "half-connection",
		  "response incomplete: capture ended in the middle" },
		{ DISSECT_END_EVICTED, TO_S, false, false,
		  "response missing: flow evicted from the flow table", "timeout", "half-connection",
		  "response incomplete: flow evicted from the flow table in the middle" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct end_case *c = &cases[i];
		struct rig r;
		rig_init(&r, 4);
		r.h->ctx.end_reason = c->why;
		r.h->ctx.end_by = c->by;
		r.h->ctx.fin[TO_S] = c->fin_client;
		r.h->ctx.fin[TO_C] = c->fin_server;
		struct exchange *cut = open_toy(&r, "cut");
		open_toy(&r, "waiting");
		exchange_cut(&r.q, &r.h->ctx, cut, TO_C, "in the middle", NULL);
		exchange_end(&r.q, &r.h->ctx);
		assert_int_equal(r.q.count, 0);
		assert_int_equal(r.h->n, 2);
		assert_string_equal(h_str(r.h, 0, "error.type"), c->cut_type);
		assert_string_equal(h_str(r.h, 0, "error.message"), c->cut_msg);
		assert_string_equal(h_str(r.h, 1, "error.type"), "half-connection");
		assert_string_equal(h_str(r.h, 1, "error.message"), c->missing);
		assert_string_equal(h_str(r.h, 1, "error.reason"), c->reason);
		rig_free(&r);
	}

	/* A FIN: the message's own sender's FIN is what cut it. */
	struct rig r;
	rig_init(&r, 4);
	r.h->ctx.end_reason = DISSECT_END_FIN;
	r.h->ctx.end_by = TO_C;
	r.h->ctx.fin[TO_S] = true;
	r.h->ctx.fin[TO_C] = true;
	exchange_cut(&r.q, &r.h->ctx, open_toy(&r, "q"), TO_S, "after 4 of 10 request body bytes",
		     NULL);
	assert_string_equal(h_str(r.h, 0, "error.message"),
			    "connection closed by client after 4 of 10 request body bytes");
	/* a hole that damaged an exchange makes its reason loss */
	open_toy(&r, "damaged")->loss = true;
	exchange_end(&r.q, &r.h->ctx);
	assert_string_equal(h_str(r.h, 1, "error.reason"), "loss");
	rig_free(&r);
}

static void test_expire(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, 4);
	at(&r, 0);
	open_toy(&r, "old");
	at(&r, 5000);
	open_toy(&r, "young");
	at(&r, 10001);
	exchange_expire(&r.q, &r.h->ctx);
	assert_int_equal(r.h->n, 1);
	assert_string_equal(h_str(r.h, 0, "request.name"), "old");
	assert_string_equal(h_str(r.h, 0, "error.message"),
			    "response missing: no response within 10000 ms");
	assert_string_equal(h_str(r.h, 0, "error.reason"), "timeout");
	assert_int_equal(r.q.count, 1);
	rig_free(&r);
}

struct icmp_case {
	uint8_t version, type, code;
	bool df;
	bool fails;
};

/* Only ICMP errors that end delivery fail waiting requests. */
static void test_icmp_policy(void **state)
{
	(void)state;
	static const struct icmp_case cases[] = {
		{ 4, 3, 3, false, true },    /* port unreachable */
		{ 4, 3, 1, false, true },    /* host unreachable */
		{ 4, 3, 13, false, true },   /* administratively filtered */
		{ 4, 3, 4, true, true },     /* fragmentation needed, DF set: dropped */
		{ 4, 3, 4, false, false },   /* fragmentation needed without DF: not a drop */
		{ 4, 11, 0, false, true },   /* time exceeded */
		{ 4, 12, 0, false, true },   /* parameter problem */
		{ 4, 5, 1, false, false },   /* redirect: the packet was forwarded */
		{ 4, 4, 0, false, false },   /* source quench */
		{ 6, 1, 4, false, true },    /* destination unreachable */
		{ 6, 2, 0, false, true },    /* packet too big: IPv6 routers never fragment */
		{ 6, 3, 0, false, true },    /* time exceeded */
		{ 6, 4, 0, false, true },    /* parameter problem */
		{ 6, 137, 0, false, false }, /* redirect */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct icmp_case *c = &cases[i];
		struct dissect_icmp icmp = { .version = c->version, .type = c->type, .code = c->code,
					     .quoted_df = c->df, .dir = TO_S,
					     .type_name = "T", .code_name = "C" };
		assert_int_equal(exchange_icmp_ends_delivery(&icmp), c->fails);
		struct rig r;
		rig_init(&r, 4);
		open_toy(&r, "a");
		open_toy(&r, "b");
		unsigned failed = exchange_icmp(&r.q, &r.h->ctx, &icmp, NULL, NULL);
		assert_int_equal(failed, c->fails ? 2 : 0);
		assert_int_equal(r.h->n, failed);
		if (failed) {
			assert_string_equal(h_str(r.h, 0, "error.message"), "response missing: ICMP T (C)");
			assert_string_equal(h_str(r.h, 1, "error.reason"), "icmp");
		}
		/* an error about a packet the server sent says nothing of the requests */
		icmp.dir = TO_C;
		open_toy(&r, "c");
		assert_int_equal(exchange_icmp(&r.q, &r.h->ctx, &icmp, NULL, NULL), 0);
		rig_free(&r);
	}
}

static enum exchange_pick pick_named(struct exchange *ex, void *arg)
{
	const struct toy *t = exchange_cdata(ex);
	if (!strcmp(t->name, "stop"))
		return EXCHANGE_PICK_STOP;
	return strcmp(t->name, arg) == 0 ? EXCHANGE_PICK_FAIL : EXCHANGE_PICK_SKIP;
}

static void test_icmp_pick(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, 8);
	struct dissect_icmp icmp = { .version = 6, .type = 1, .code = 4, .dir = TO_S };
	open_toy(&r, "x");
	open_toy(&r, "y");
	open_toy(&r, "x");
	open_toy(&r, "stop");
	open_toy(&r, "x");
	assert_int_equal(exchange_icmp(&r.q, &r.h->ctx, &icmp, pick_named, "x"), 2);
	assert_int_equal(r.q.count, 3);
	/* no names: the numbers */
	assert_string_equal(h_str(r.h, 0, "error.message"), "response missing: ICMPv6 type 1 code 4");
	rig_free(&r);
}

/* An exchange standing for requests the queue could not record fails once for each. */
static void test_repeat(void **state)
{
	(void)state;
	struct rig r;
	rig_init(&r, 1);
	open_toy(&r, "many")->repeat = 2;
	r.h->ctx.end_reason = DISSECT_END_CAPTURE;
	exchange_end(&r.q, &r.h->ctx);
	assert_int_equal(r.h->n, 3);
	rig_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_complete_in_order),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_per_exchange_counters),
		cmocka_unit_test(test_end_verdicts),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_icmp_policy),
		cmocka_unit_test(test_icmp_pick),
		cmocka_unit_test(test_repeat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
