// SPDX-License-Identifier: MIT
/* Kernel socket events joined with the packet view: one entry per condition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <sys/stat.h>

#include "pipeline_fixture.h"

#define CLIENT IP4(198, 18, 1, 2)
#define SERVER IP4(198, 18, 2, 2)
#define S 1000000000ull
#define T0 (1700000000ull * S)

/* The netns faultline runs in: sockets without a flow count only there. */
static int setup(void **state)
{
	struct stat st;
	int rc = fixture_setup(state);
	struct fixture *f = *state;
	if (stat("/proc/self/ns/net", &st) == 0)
		f->own_netns = st.st_ino;
	pipeline_set_netns(f->p, f->own_netns);
	return rc;
}

static void seg(struct fixture *f, uint64_t ts, int from_client, uint32_t seq, uint32_t ack, uint8_t fl)
{
	struct fl_packet p = from_client ?
		tcp_packet(&f->buf, ts, CLIENT, 40000, SERVER, 80, seq, ack, fl, 0) :
		tcp_packet(&f->buf, ts, SERVER, 80, CLIENT, 40000, seq, ack, fl, 0);
	pipeline_packet(f->p, &p);
}

/* An event of the client's socket (local = client); a closed socket has lost its port. */
static void event(struct fixture *f, uint64_t ts, uint8_t kind, uint64_t netns)
{
	struct fl_sock_event ev = { .family = 2, .sport = kind == FL_SOCK_CLOSED ? 0 : 40000,
				    .dport = 80, .kind = kind,
				    .netns_ino = (uint32_t)netns };
	if (kind == FL_SOCK_RESET_RECV || kind == FL_SOCK_RESET_SEND)
		ev.oldstate = ev.newstate = 1;   /* ESTABLISHED */
	uint32_t c = htonl(CLIENT), s = htonl(SERVER);
	memcpy(ev.saddr, &c, 4);
	memcpy(ev.daddr, &s, 4);
	pipeline_sock_event(f->p, &ev, ts);
}

static void test_reset_seen_by_both_is_one_entry(void **state)
{
	struct fixture *f = *state;
	seg(f, T0, 1, 100, 0, TCP_SYN);
	seg(f, T0 + 1, 0, 500, 101, TCP_SYN | TCP_ACK);
	seg(f, T0 + 2, 1, 101, 501, TCP_ACK);
	event(f, T0 + 3, FL_SOCK_RESET_RECV, f->own_netns);
	seg(f, T0 + 4, 0, 501, 101, TCP_RST);
	pipeline_tick(f->p, T0 + 5 * S);
	assert_int_equal(f->got.n, 1);
	assert_null(strstr(f->got.json[0], "\"source\":\"kernel\""));
	/* The packets' entry carries what the client's kernel saw. */
	assert_non_null(strstr(f->got.json[0], "\"kernel_resets\":[{\"socket\":\"client\","
					       "\"event\":\"received\",\"state\":\"ESTABLISHED\"}]"));
}

/* A RST the kernel sent for no socket (a closed port) is never a Reset entry of its own. */
static void test_reset_for_no_socket_is_no_entry(void **state)
{
	struct fixture *f = *state;
	struct fl_sock_event ev = { .family = 2, .sport = 80, .dport = 40000,
				    .kind = FL_SOCK_RESET_SEND, .oldstate = FL_RST_NO_SOCKET,
				    .initiator = FL_INIT_REMOTE, .netns_ino = (uint32_t)f->own_netns };
	uint32_t c = htonl(CLIENT), s = htonl(SERVER);
	memcpy(ev.saddr, &s, 4);
	memcpy(ev.daddr, &c, 4);
	pipeline_sock_event(f->p, &ev, T0);
	pipeline_tick(f->p, T0 + 5 * S);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 0);
}

static void test_reset_the_packets_missed_comes_from_the_kernel(void **state)
{
	struct fixture *f = *state;
	f->cfg.stream_timeout_ms = 10000;        /* a timeout that keeps the flow meanwhile */
	fixture_pipeline(f);
	seg(f, T0, 1, 100, 0, TCP_SYN);
	seg(f, T0 + 1, 0, 500, 101, TCP_SYN | TCP_ACK);
	seg(f, T0 + 2, 1, 101, 501, TCP_ACK);
	event(f, T0 + 3, FL_SOCK_RESET_RECV, 12345);   /* the RST packet was lost */
	pipeline_tick(f->p, T0 + 1 * S);
	assert_int_equal(f->got.n, 0);                 /* still within the grace period */
	pipeline_tick(f->p, T0 + 3 * S);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"message\":\"Reset\""));
	assert_non_null(strstr(f->got.json[0], "\"source\":\"kernel\""));
	seg(f, T0 + 4 * S, 0, 501, 101, TCP_RST);     /* a late RST: already reported */
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
}

static void test_no_flow_counts_in_own_namespace_only(void **state)
{
	struct fixture *f = *state;
	event(f, T0, FL_SOCK_SYN_SENT_CLOSE, f->own_netns + 1);
	pipeline_tick(f->p, T0 + 3 * S);
	assert_int_equal(f->got.n, 0);
	event(f, T0 + 3 * S, FL_SOCK_SYN_SENT_CLOSE, f->own_netns);
	pipeline_tick(f->p, T0 + 6 * S);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"message\":\"SynSent\""));
	assert_int_equal(f->stats.tcp.syn_sent, 1);
}

static void test_close_wait_that_ended_in_time_is_nothing(void **state)
{
	struct fixture *f = *state;
	event(f, T0, FL_SOCK_CLOSE_WAIT, f->own_netns);
	event(f, T0 + S / 2, FL_SOCK_LAST_ACK, f->own_netns);    /* closed in time */
	event(f, T0 + S / 2 + 1, FL_SOCK_CLOSED, f->own_netns);
	pipeline_tick(f->p, T0 + 10 * S);
	assert_int_equal(f->got.n, 0);
	event(f, T0 + 10 * S, FL_SOCK_CLOSE_WAIT, f->own_netns);  /* this one stays */
	pipeline_tick(f->p, T0 + 14 * S);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"message\":\"CloseWait\""));
}

static void test_flow_let_go_is_remembered(void **state)
{
	struct fixture *f = *state;
	seg(f, T0, 1, 100, 0, TCP_SYN);
	seg(f, T0 + 1, 0, 0, 101, TCP_RST | TCP_ACK);      /* refused: SynSent from the packets */
	pipeline_tick(f->p, T0 + 5 * S);                   /* the flow idles out and is freed */
	assert_int_equal(f->stats.flows.active, 0);
	event(f, T0 + 5 * S, FL_SOCK_SYN_SENT_CLOSE, f->own_netns);
	pipeline_tick(f->p, T0 + 9 * S);
	assert_int_equal(f->got.n, 1);                      /* still the one entry */
}

/* A refused connect the packets saw, and the kernel's event with the port it really had. */
static void test_refused_seen_by_both_is_one_entry(void **state)
{
	struct fixture *f = *state;
	seg(f, T0, 1, 100, 0, TCP_SYN);
	seg(f, T0 + 1, 0, 0, 101, TCP_RST | TCP_ACK);
	struct fl_sock_event ev = { .family = 2, .sport = 40000, .dport = 80,
				    .kind = FL_SOCK_SYN_SENT_CLOSE, .err = ECONNREFUSED,
				    .initiator = FL_INIT_LOCAL, .netns_ino = (uint32_t)f->own_netns };
	uint32_t c = htonl(CLIENT), s = htonl(SERVER);
	memcpy(ev.saddr, &c, 4);
	memcpy(ev.daddr, &s, 4);
	pipeline_sock_event(f->p, &ev, T0 + 2);
	pipeline_tick(f->p, T0 + 5 * S);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
	assert_int_equal(f->stats.tcp.syn_sent, 1);
	assert_null(strstr(f->got.json[0], "\"source\":\"kernel\""));
}

/* Only the kernel saw it: the entry is oriented as the packet view's, with its words. */
static void test_kernel_only_entries_are_oriented(void **state)
{
	struct fixture *f = *state;
	/* A server's accepted socket (local = SERVER:80) reset by its client. */
	struct fl_sock_event ev = { .family = 2, .sport = 80, .dport = 40000,
				    .kind = FL_SOCK_RESET_RECV, .oldstate = 1, .newstate = 1,
				    .initiator = FL_INIT_REMOTE, .netns_ino = (uint32_t)f->own_netns };
	uint32_t c = htonl(CLIENT), s = htonl(SERVER);
	memcpy(ev.saddr, &s, 4);
	memcpy(ev.daddr, &c, 4);
	pipeline_sock_event(f->p, &ev, T0);
	/* A connect that timed out after 2 SYN retries, 3 s after it began. */
	struct fl_sock_event syn = { .family = 2, .sport = 40001, .dport = 81, .ts_ns = 5 * S,
				     .since_ns = 2 * S, .kind = FL_SOCK_SYN_SENT_CLOSE,
				     .err = ETIMEDOUT, .retries = 2, .initiator = FL_INIT_LOCAL,
				     .netns_ino = (uint32_t)f->own_netns };
	memcpy(syn.saddr, &c, 4);
	memcpy(syn.daddr, &s, 4);
	pipeline_sock_event(f->p, &syn, T0 + S);
	pipeline_tick(f->p, T0 + 5 * S);
	assert_int_equal(f->got.n, 2);
	const char *rst = strstr(f->got.json[0], "Reset") ? f->got.json[0] : f->got.json[1];
	const char *ss = rst == f->got.json[0] ? f->got.json[1] : f->got.json[0];
	assert_non_null(strstr(rst, "\"src\":{\"ip\":\"198.18.1.2\",\"port\":40000}"));
	assert_non_null(strstr(rst, "\"dst\":{\"ip\":\"198.18.2.2\",\"port\":80}"));
	assert_non_null(strstr(rst, "\"reset_by\":\"client\""));
	assert_non_null(strstr(ss, "\"src\":{\"ip\":\"198.18.1.2\",\"port\":40001}"));
	assert_non_null(strstr(ss, "\"reason\":\"timeout\""));
	assert_non_null(strstr(ss, "\"syn_retries\":2"));
	assert_non_null(strstr(ss, "\"waited_ms\":3000"));
	assert_non_null(strstr(ss, "\"errno\":\"ETIMEDOUT\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_seen_by_both_is_one_entry, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset_the_packets_missed_comes_from_the_kernel, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_no_flow_counts_in_own_namespace_only, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_close_wait_that_ended_in_time_is_nothing, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flow_let_go_is_remembered, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_refused_seen_by_both_is_one_entry, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset_for_no_socket_is_no_entry, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_only_entries_are_oriented, setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("kernel_events", tests, NULL, NULL);
}
