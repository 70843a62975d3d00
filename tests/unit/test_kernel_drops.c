// SPDX-License-Identifier: MIT
/* Kernel packet drops joined with the packet view: folded into the entry they explain, or
 * an entry of their own (error type drop) once their hold ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "pipeline_fixture.h"
#include "sink/output.h"

#define CLIENT IP4(198, 18, 56, 1)
#define SERVER IP4(198, 18, 56, 2)
#define S 1000000000ull
#define T0 (1700000000ull * S)

/* The table's words of the last entry. */
static char table_what[512];
static void summary_emit(void *ctx, const struct doc *entry, const struct entry_meta *meta)
{
	(void)ctx;
	(void)meta;
	output_summary(entry, table_what, sizeof(table_what));
}

static int setup(void **state)
{
	int rc = fixture_setup(state);
	struct fixture *f = *state;
	pipeline_add_sink(f->p, (struct entry_sink){ .emit = summary_emit });
	f->own_netns = 4026531840ull;
	pipeline_set_netns(f->p, f->own_netns);
	return rc;
}

static void syn(struct fixture *f, uint64_t ts)
{
	struct fl_packet p = tcp_packet(&f->buf, ts, CLIENT, 40000, SERVER, 80, 100, 0, TCP_SYN, 0);
	pipeline_packet(f->p, &p);
}

/* count packets client:40000 -> server:80 (or sport/dport given) dropped for reason. */
static void drop(struct fixture *f, uint64_t ts, const char *reason, uint64_t count, uint8_t proto,
		 uint16_t sport, uint16_t dport, uint64_t netns)
{
	struct fl_drop_record r = { .family = 4, .l4proto = proto, .l3proto = 0x0800,
				    .sport = sport, .dport = dport, .netns_ino = netns, .count = count,
				    .first_ns = ts, .last_ns = ts };
	uint32_t c = htonl(CLIENT), s = htonl(SERVER);
	memcpy(r.saddr, &c, 4);
	memcpy(r.daddr, &s, 4);
	snprintf(r.reason, sizeof(r.reason), "%s", reason);
	snprintf(r.location, sizeof(r.location), "nf_hook_slow");
	pipeline_drop(f->p, &r);
}

static void test_drops_fold_into_the_syn_sent_timeout(void **state)
{
	struct fixture *f = *state;
	syn(f, T0);
	pipeline_tick(f->p, T0 + S / 5);
	drop(f, T0, "NETFILTER_DROP", 3, 6, 40000, 80, 999);   /* another netns: the flow is ours */
	pipeline_tick(f->p, T0 + 2 * S);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"message\":\"SynSent\""));
	assert_non_null(strstr(f->got.json[0],
			       "\"kernel_drops\":[{\"reason\":\"NETFILTER_DROP\",\"count\":3}]"));
	/* Later drops of the same flow and reason are absorbed: one failure, one entry. */
	drop(f, T0 + 3 * S, "NETFILTER_DROP", 1, 6, 40000, 80, 999);
	pipeline_tick(f->p, T0 + 20 * S);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
	assert_int_equal(f->stats.entries.errors[FL_ERR_DROP], 0);

	/* "SynSent timeout, waited 2000 ms — dropped by netfilter on this host (3 times)" */
	assert_non_null(strstr(table_what, "SynSent timeout"));
	assert_non_null(strstr(table_what, " \u2014 dropped by netfilter on this host (3 times)"));
}

static void test_unexplained_drop_becomes_a_drop_entry_after_its_hold(void **state)
{
	struct fixture *f = *state;
	drop(f, T0, "NO_SOCKET", 5, 17, 5555, 9002, f->own_netns);
	drop(f, T0 + S / 2, "NO_SOCKET", 2, 17, 5555, 9002, f->own_netns);   /* the same aggregate */
	pipeline_tick(f->p, T0 + 2 * S);
	assert_int_equal(f->got.n, 0);        /* held: the packet view may still judge the flow */
	pipeline_tick(f->p, T0 + 10 * S);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"error\":{\"type\":\"drop\",\"message\":\"NO_SOCKET\"}"));
	assert_non_null(strstr(f->got.json[0], "\"count\":7"));
	assert_non_null(strstr(f->got.json[0], "\"location\":\"nf_hook_slow\""));
	assert_int_equal(f->stats.entries.errors[FL_ERR_DROP], 1);
}

static void test_drops_of_other_namespaces_without_a_flow_are_not_entries(void **state)
{
	struct fixture *f = *state;
	drop(f, T0, "NO_SOCKET", 5, 17, 5555, 9002, 12345);
	pipeline_tick(f->p, T0 + 10 * S);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 0);
}

/* count listen overflows of a listener on 0.0.0.0:8080 in namespace netns. */
static void listen_overflow(struct fixture *f, uint64_t ts, uint64_t count, uint64_t netns)
{
	struct fl_drop_record r = { .family = 4, .l4proto = 6, .l3proto = 0x0800, .dport = 8080,
				    .netns_ino = netns, .count = count, .first_ns = ts, .last_ns = ts };
	snprintf(r.reason, sizeof(r.reason), "TCP_LISTEN_OVERFLOW");
	pipeline_drop(f->p, &r);
}

/* Two pods both listening on 0.0.0.0:8080, neither namespace ours: two listeners, two
 * entries, each naming its namespace; one listener's later overflows join its own. */
static void test_listeners_of_two_namespaces_are_two_entries(void **state)
{
	struct fixture *f = *state;
	listen_overflow(f, T0, 3, 4026532001ull);
	listen_overflow(f, T0, 5, 4026532002ull);
	listen_overflow(f, T0 + S, 4, 4026532001ull);
	pipeline_tick(f->p, T0 + 30 * S);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 2);
	const char *a = strstr(f->got.json[0], "\"netns\":4026532001") ? f->got.json[0] : f->got.json[1];
	const char *b = a == f->got.json[0] ? f->got.json[1] : f->got.json[0];
	assert_non_null(strstr(a, "\"netns\":4026532001"));
	assert_non_null(strstr(a, "\"count\":7"));
	assert_non_null(strstr(b, "\"netns\":4026532002"));
	assert_non_null(strstr(b, "\"count\":5"));
	assert_non_null(strstr(a, "\"dst\":{\"ip\":\"0.0.0.0\",\"port\":8080}"));
	assert_int_equal(f->stats.entries.errors[FL_ERR_DROP], 2);
}

/* The error the application got joins the entry; its local port may already be released (0). */
static void test_socket_errno_joins_the_entry(void **state)
{
	struct fixture *f = *state;
	syn(f, T0);
	pipeline_tick(f->p, T0 + S / 5);
	struct fl_drop_record r = { .family = 4, .l4proto = 6, .l3proto = 0x0800, .sport = 0,
				    .dport = 80, .netns_ino = f->own_netns, .count = 1,
				    .first_ns = T0 + S / 5, .last_ns = T0 + S / 5, .is_errno = 1 };
	uint32_t c = htonl(CLIENT), s = htonl(SERVER);
	memcpy(r.saddr, &c, 4);
	memcpy(r.daddr, &s, 4);
	snprintf(r.reason, sizeof(r.reason), "ETIMEDOUT");
	pipeline_drop(f->p, &r);
	pipeline_tick(f->p, T0 + 2 * S);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"errno\":\"ETIMEDOUT\""));
	assert_non_null(strstr(table_what, "the application got ETIMEDOUT"));
	/* Alone, an errno is no entry: counted in the stats only. */
	pipeline_tick(f->p, T0 + 30 * S);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drops_fold_into_the_syn_sent_timeout, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_unexplained_drop_becomes_a_drop_entry_after_its_hold, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_drops_of_other_namespaces_without_a_flow_are_not_entries, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_socket_errno_joins_the_entry, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_listeners_of_two_namespaces_are_two_entries, setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
