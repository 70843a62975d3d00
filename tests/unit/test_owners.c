// SPDX-License-Identifier: MIT
/* Socket owners: join by 4-tuple, listeners, lifetime, the bound under 100k sockets churned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "report/owners.h"
#include "report/stats.h"

#define S 1000000000ull

static struct fl_sock_owner ev(uint8_t kind, uint32_t client, uint16_t sport, uint16_t dport,
			       uint32_t pid, const char *comm)
{
	struct fl_sock_owner o = { .kind = kind, .family = 2, .sport = sport, .dport = dport,
				   .pid = pid, .cgroup_id = 0 };
	o.saddr[0] = 198;
	o.saddr[1] = 19;
	o.saddr[2] = (uint8_t)(client >> 8);
	o.saddr[3] = (uint8_t)client;
	o.daddr[0] = 198;
	o.daddr[1] = 18;
	o.daddr[3] = 2;
	snprintf(o.comm, sizeof(o.comm), "%s", comm);
	return o;
}

static struct fl_endpoint ep(const uint8_t *a, uint16_t port)
{
	struct fl_endpoint e = { .addr = { .family = 4 }, .port = port, .has_port = true };
	memcpy(e.addr.bytes, a, 4);
	return e;
}

/* The comm describe() wrote for `a` talking to `b`, or "" when it knows no owner. */
static const char *who_proto(struct owners *o, struct doc *d, const struct fl_endpoint *a,
			     const struct fl_endpoint *b, uint8_t proto, uint64_t ts)
{
	doc_reset(d);
	uint32_t obj = doc_add_obj(d, DOC_ROOT, "src");
	if (!owners_describe(o, d, obj, a, b, proto, false, ts))
		return "";
	return doc_path_str(d, obj, "process.comm");
}

static const char *who(struct owners *o, struct doc *d, const struct fl_endpoint *a,
		       const struct fl_endpoint *b, uint64_t ts)
{
	return who_proto(o, d, a, b, 6, ts);
}

static void test_join_listener_lifetime(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	struct owners *o = owners_new(1024, &stats);
	struct doc d;
	doc_init(&d);
	struct fl_sock_owner c = ev(FL_OWN_CONNECT, 1, 40000, 8080, 10, "curl");
	struct fl_sock_owner l = { .kind = FL_OWN_LISTEN, .family = 2, .sport = 8080, .pid = 20 };
	memcpy(l.saddr, c.daddr, 4);
	snprintf(l.comm, sizeof(l.comm), "nginx");
	owners_event(o, &c, 1 * S);
	owners_event(o, &l, 1 * S);
	struct fl_endpoint cli = ep(c.saddr, 40000), srv = ep(c.daddr, 8080);
	assert_string_equal(who(o, &d, &cli, &srv, 2 * S), "curl");
	/* The accepted side: its listener's owner. */
	assert_string_equal(who(o, &d, &srv, &cli, 2 * S), "nginx");
	/* Without a cgroup the name is the process's. */
	assert_string_equal(doc_path_str(&d, 1, "name"), "nginx");
	/* The socket closes: still its owner's just after, not for a later connection. */
	struct fl_sock_owner end = c;
	end.kind = FL_OWN_END;
	owners_event(o, &end, 3 * S);
	assert_string_equal(who(o, &d, &cli, &srv, 3 * S + 1), "curl");
	assert_string_equal(who(o, &d, &cli, &srv, 10 * S), "");
	/* The same 4-tuple connected again by another process: that one. */
	struct fl_sock_owner again = ev(FL_OWN_CONNECT, 1, 40000, 8080, 11, "python3");
	owners_event(o, &again, 11 * S);
	assert_string_equal(who(o, &d, &cli, &srv, 12 * S), "python3");
	/* The listener closes: accepted connections after that have no owner. */
	struct fl_sock_owner lend = l;
	lend.kind = FL_OWN_END;
	owners_event(o, &lend, 13 * S);
	struct fl_endpoint other = ep(c.saddr, 40001);
	assert_string_equal(who(o, &d, &srv, &other, 14 * S), "");
	assert_int_equal(stats.attribution.listeners, 0);
	doc_free(&d);
	owners_free(o);
	assert_int_equal(stats.memory.attribution_bytes, 0);
}

/* UDP: a bound socket owns its local port for every peer, apart from TCP on the same port;
 * a connected one its 4-tuple; each until it closes. */
static void test_udp(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	struct owners *o = owners_new(1024, &stats);
	struct doc d;
	doc_init(&d);
	struct fl_sock_owner b = { .kind = FL_OWN_BIND, .family = 2, .sport = 53, .pid = 30,
				   .proto = 17 };
	snprintf(b.comm, sizeof(b.comm), "dnsmasq");
	owners_event(o, &b, 1 * S);
	struct fl_sock_owner c = ev(FL_OWN_CONNECT, 1, 40000, 53, 31, "dig");
	c.proto = 17;
	owners_event(o, &c, 1 * S);
	struct fl_endpoint cli = ep(c.saddr, 40000), srv = ep(c.daddr, 53);
	assert_string_equal(who_proto(o, &d, &srv, &cli, 17, 2 * S), "dnsmasq");   /* 0.0.0.0:53 */
	assert_string_equal(who_proto(o, &d, &cli, &srv, 17, 2 * S), "dig");
	assert_string_equal(who_proto(o, &d, &srv, &cli, 6, 2 * S), "");   /* not TCP's */
	assert_string_equal(who_proto(o, &d, &cli, &srv, 6, 2 * S), "");
	assert_string_equal(who_proto(o, &d, &cli, &srv, 1, 2 * S), "");   /* ICMP has no socket */
	struct fl_sock_owner bend = b;
	bend.kind = FL_OWN_END;
	owners_event(o, &bend, 3 * S);
	assert_string_equal(who_proto(o, &d, &srv, &cli, 17, 4 * S), "");
	struct fl_sock_owner cend = c;
	cend.kind = FL_OWN_END;
	owners_event(o, &cend, 3 * S);
	assert_string_equal(who_proto(o, &d, &cli, &srv, 17, 10 * S), "");
	doc_free(&d);
	owners_free(o);
}

/* 100k sockets opened and closed: the tables never grow, the newest are still known. */
static void test_churn_bound(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	struct owners *o = owners_new(4096, &stats);
	struct doc d;
	doc_init(&d);
	uint64_t bytes = stats.memory.attribution_bytes;
	assert_true(bytes > 0);
	for (uint32_t i = 0; i < 100000; i++) {
		struct fl_sock_owner c = ev(FL_OWN_CONNECT, i / 50000, (uint16_t)(10000 + i % 50000),
					    8080, i, "churn");
		owners_event(o, &c, (uint64_t)i * 1000);
		struct fl_sock_owner e = c;
		e.kind = FL_OWN_END;
		owners_event(o, &e, (uint64_t)i * 1000 + 500);
	}
	assert_int_equal(stats.memory.attribution_bytes, bytes);
	assert_true(stats.attribution.sockets <= 4096);
	assert_int_equal(stats.attribution.sockets + stats.attribution.sockets_evicted, 100000);
	/* The last socket is still known (within the grace after its close). */
	struct fl_sock_owner last = ev(FL_OWN_CONNECT, 1, 10000 + 49999, 8080, 0, "");
	struct fl_endpoint a = ep(last.saddr, last.sport), b = ep(last.daddr, 8080);
	assert_string_equal(who(o, &d, &a, &b, 100000ull * 1000), "churn");
	doc_free(&d);
	owners_free(o);
}

/* Under a small tap.memoryLimitMb the tables shrink to fit instead of passing it. */
static void test_memory_limit(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	stats.memory.limit_bytes = 1u << 20;
	struct owners *o = owners_new(1000000, &stats);
	assert_non_null(o);
	assert_true(memory_used(&stats) <= stats.memory.limit_bytes);
	assert_true(stats.memory.over_limit > 0);
	owners_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_listener_lifetime),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_churn_bound),
		cmocka_unit_test(test_memory_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
