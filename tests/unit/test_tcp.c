// SPDX-License-Identifier: MIT
/* TCP connection tracking through the pipeline, one scenario per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline_fixture.h"

#define CLIENT IP4(198, 18, 1, 2)
#define SERVER IP4(198, 18, 2, 2)
#define MS 1000000ull
#define T0 (1700000000ull * 1000000000ull)


/* Send one segment; `from_client` picks the direction. */
static void seg(struct fixture *f, uint64_t ms, int from_client, uint32_t seq, uint32_t ack,
		uint8_t flags, uint16_t plen)
{
	struct fl_packet p = from_client ?
		tcp_packet(&f->buf, T0 + ms * MS, CLIENT, 40000, SERVER, 80, seq, ack, flags, plen) :
		tcp_packet(&f->buf, T0 + ms * MS, SERVER, 80, CLIENT, 40000, seq, ack, flags, plen);
	pipeline_packet(f->p, &p);
}

static void handshake(struct fixture *f)
{
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 1, 0, 500, 101, TCP_SYN | TCP_ACK, 0);
	seg(f, 2, 1, 101, 501, TCP_ACK, 0);
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 1, 0, 0, 101, TCP_RST | TCP_ACK, 0);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"message\":\"SynSent\""));
	assert_non_null(strstr(f->got.json[0], "\"reason\":\"refused\""));
	assert_non_null(strstr(f->got.json[0], "\"src\":{\"ip\":\"198.18.1.2\",\"port\":40000}"));
	assert_int_equal(f->stats.tcp.syn_sent, 1);
	assert_int_equal(f->stats.tcp.reset, 0);
}

static void test_syn_timeout_with_retries(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 200, 1, 100, 0, TCP_SYN, 0);
	seg(f, 600, 1, 100, 0, TCP_SYN, 0);
	assert_int_equal(f->got.n, 0);          /* 600 ms: not yet the 1000 ms timeout */
	pipeline_tick(f->p, T0 + 1500 * MS);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"reason\":\"timeout\",\"syn_retries\":2"));
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);          /* once per connection */
	assert_int_equal(f->stats.tcp.retransmissions, 2);
}

static void test_unanswered_syn_at_end_of_file(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	pipeline_finish(f->p);
	assert_int_equal(collect_count(&f->got, "\"reason\":\"timeout\"", NULL), 1);
}

static void test_healthy_connection_reports_nothing(void **state)
{
	struct fixture *f = *state;
	handshake(f);
	seg(f, 3, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 4, 0, 501, 111, TCP_ACK | TCP_PSH, 20);
	seg(f, 5, 1, 111, 521, TCP_ACK | TCP_FIN, 0);
	seg(f, 6, 0, 521, 112, TCP_ACK | TCP_FIN, 0);
	seg(f, 7, 1, 112, 522, TCP_ACK, 0);
	pipeline_tick(f->p, T0 + 60000 * MS);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 0);
}

static void test_reset_by_server(void **state)
{
	struct fixture *f = *state;
	handshake(f);
	seg(f, 3, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 4, 0, 501, 111, TCP_RST | TCP_ACK, 0);
	seg(f, 5, 0, 501, 111, TCP_RST, 0);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"message\":\"Reset\""));
	assert_non_null(strstr(f->got.json[0], "\"reset_by\":\"server\""));
}

static void test_close_wait(void **state)
{
	struct fixture *f = *state;
	handshake(f);
	seg(f, 10, 1, 101, 501, TCP_ACK | TCP_FIN, 0);
	seg(f, 11, 0, 501, 102, TCP_ACK, 0);
	pipeline_tick(f->p, T0 + 500 * MS);
	assert_int_equal(f->got.n, 0);
	pipeline_tick(f->p, T0 + 1200 * MS);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"message\":\"CloseWait\""));
	assert_non_null(strstr(f->got.json[0], "\"closed_by\":\"client\""));
	assert_non_null(strstr(f->got.json[0], "\"waited_ms\":1190"));
}

static void test_close_wait_not_reached_at_end(void **state)
{
	struct fixture *f = *state;
	handshake(f);
	seg(f, 10, 1, 101, 501, TCP_ACK | TCP_FIN, 0);
	seg(f, 11, 0, 501, 102, TCP_ACK, 0);
	pipeline_finish(f->p);     /* the file ends 1 ms after the FIN */
	assert_int_equal(f->got.n, 0);
}

static void test_last_ack_with_fin_retransmissions(void **state)
{
	struct fixture *f = *state;
	handshake(f);
	seg(f, 10, 1, 101, 501, TCP_ACK | TCP_FIN, 0);
	seg(f, 11, 0, 501, 102, TCP_ACK | TCP_FIN, 0);
	/* the client's final ACK never comes; the server retransmits its FIN */
	seg(f, 300, 0, 501, 102, TCP_ACK | TCP_FIN, 0);
	seg(f, 900, 0, 501, 102, TCP_ACK | TCP_FIN, 0);
	pipeline_tick(f->p, T0 + 1100 * MS);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"message\":\"LastAck\""));
	assert_non_null(strstr(f->got.json[0], "\"fin_retransmissions\":2"));
	assert_non_null(strstr(f->got.json[0], "\"retransmissions\":2"));
}

static void test_midstream_reset_guesses_client_by_port(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 0, 501, 111, TCP_RST | TCP_ACK, 0);   /* the first packet seen is an RST */
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"reset_by\":\"server\""));
	assert_non_null(strstr(f->got.json[0], "\"dst\":{\"ip\":\"198.18.2.2\",\"port\":80}"));
}

static void test_sequence_wrap_fin_ack(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 0xfffffff0u, 0, TCP_SYN, 0);
	seg(f, 1, 0, 500, 0xfffffff1u, TCP_SYN | TCP_ACK, 0);
	seg(f, 2, 1, 0xfffffff1u, 501, TCP_ACK | TCP_FIN, 0x20);  /* FIN after wrapping */
	seg(f, 3, 0, 501, 0x12u, TCP_ACK | TCP_FIN, 0);
	seg(f, 4, 1, 0x12u, 502, TCP_ACK, 0);
	pipeline_tick(f->p, T0 + 5000 * MS);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 0);
}

static void test_flow_table_bound_evicts(void **state)
{
	struct fixture *f = *state;
	f->cfg.max_flows = 16;
	fixture_pipeline(f);
	for (int i = 0; i < 40; i++) {
		struct fl_packet p = tcp_packet(&f->buf, T0 + (uint64_t)i * MS, CLIENT,
						(uint16_t)(30000 + i), SERVER, 80, 1, 0, TCP_SYN, 0);
		pipeline_packet(f->p, &p);
	}
	assert_int_equal(f->stats.flows.active, 16);
	assert_int_equal(f->stats.flows.evicted, 24);
	assert_int_equal(f->stats.flows.tcp, 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_timeout_with_retries, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_unanswered_syn_at_end_of_file, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_healthy_connection_reports_nothing, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset_by_server, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_close_wait, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_close_wait_not_reached_at_end, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_last_ack_with_fin_retransmissions, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_midstream_reset_guesses_client_by_port, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_sequence_wrap_fin_ack, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flow_table_bound_evicts, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
