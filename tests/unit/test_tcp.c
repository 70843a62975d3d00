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

/*
 * An evicted connection seen again goes on: the client's FIN came before the
 * eviction, the server's after; no CloseWait (the old view had only the
 * server's FIN), the flow counted as resumed.
 */
static void test_evicted_flow_resumes(void **state)
{
	struct fixture *f = *state;
	f->cfg.max_flows = 16;
	fixture_pipeline(f);
	handshake(f);
	seg(f, 3, 1, 101, 501, TCP_FIN | TCP_ACK, 0);
	seg(f, 4, 0, 501, 102, TCP_ACK, 0);
	/* Twenty other connections push it out of the table. */
	for (uint16_t i = 0; i < 20; i++) {
		struct fl_packet p = tcp_packet(&f->buf, T0 + (5 + i) * MS, CLIENT, (uint16_t)(41000 + i),
						SERVER, 80, 7, 0, TCP_SYN, 0);
		pipeline_packet(f->p, &p);
		p = tcp_packet(&f->buf, T0 + (5 + i) * MS, SERVER, 80, CLIENT, (uint16_t)(41000 + i),
			       9, 8, TCP_SYN | TCP_ACK, 0);
		pipeline_packet(f->p, &p);
	}
	assert_true(f->stats.flows.evicted > 0);
	seg(f, 500, 0, 501, 102, TCP_FIN | TCP_ACK, 0);
	seg(f, 501, 1, 102, 502, TCP_ACK, 0);
	assert_int_equal(f->stats.flows.resumed, 1);
	/* Time passes far beyond the timeout. */
	struct fl_packet late = tcp_packet(&f->buf, T0 + 5000 * MS, CLIENT, 42000, SERVER, 80, 7, 0,
					   TCP_SYN, 0);
	pipeline_packet(f->p, &late);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.close_wait, 0);
	assert_int_equal(f->stats.tcp.last_ack, 0);
	for (size_t i = 0; i < f->got.n; i++)
		assert_null(strstr(f->got.json[i], "\"port\":40000"));
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

/* A SYN carrying data sent again is one retransmission, not one for the SYN and one for its bytes. */
static void test_syn_with_data_retransmitted_once(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 41);
	seg(f, 1, 1, 100, 0, TCP_SYN, 22);
	seg(f, 2, 1, 100, 0, TCP_SYN, 32);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"syn_retries\":2"));
	assert_non_null(strstr(f->got.json[0], "\"retransmissions\":2"));
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

/* The same with a timestamps option (TSval `tsval`) and an explicit window. */
static void seg_ts(struct fixture *f, uint64_t ms, int from_client, uint32_t seq, uint32_t ack,
		   uint8_t flags, uint16_t plen, uint32_t tsval)
{
	struct pktbuf *b = &f->buf;
	uint32_t src = from_client ? CLIENT : SERVER, dst = from_client ? SERVER : CLIENT;
	uint16_t sport = from_client ? 40000 : 80, dport = from_client ? 80 : 40000;
	b->len = 0;
	eth(b, 0x0800);
	ipv4(b, 6, src, dst, (uint16_t)(32 + plen));
	put16(b, sport); put16(b, dport); put32(b, seq); put32(b, ack);
	put8(b, 8 << 4); put8(b, flags); put16(b, 1000); put16(b, 0); put16(b, 0);
	put8(b, 1); put8(b, 1); put8(b, 8); put8(b, 10); put32(b, tsval); put32(b, 0);
	memset(b->data + b->len, 'x', plen);
	b->len += plen;
	struct fl_packet p = { .ts_ns = T0 + ms * MS, .data = b->data, .caplen = b->len,
			       .len = b->len, .linktype = FL_LINK_ETHERNET };
	pipeline_packet(f->p, &p);
}

/* A keep-alive connection idle for five timeouts is kept, not rejoined midstream. */
static void test_idle_keepalive_connection_is_kept(void **state)
{
	struct fixture *f = *state;
	handshake(f);
	seg(f, 3, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 4, 0, 501, 111, TCP_ACK | TCP_PSH, 20);
	seg(f, 5, 1, 111, 521, TCP_ACK, 0);
	pipeline_tick(f->p, T0 + 5000 * MS);
	seg(f, 5005, 0, 521, 111, TCP_ACK | TCP_FIN, 0);   /* the server closes after 5 s */
	seg(f, 5006, 1, 111, 522, TCP_ACK, 0);
	pipeline_tick(f->p, T0 + 9000 * MS);                 /* no FIN from the client: CloseWait */
	pipeline_finish(f->p);
	assert_int_equal(f->stats.flows.tcp, 1);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"closed_by\":\"server\""));
	assert_null(strstr(f->got.json[0], "midstream"));
}

static void test_syn_sent_carries_waited_ms(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 7, 0, 0, 101, TCP_RST | TCP_ACK, 0);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 1);
	assert_non_null(strstr(f->got.json[0], "\"reason\":\"refused\",\"syn_retries\":0,\"waited_ms\":7"));
}

static void test_syn_abandoned_by_client_rst_is_no_timeout(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 5, 1, 101, 0, TCP_RST, 0);
	pipeline_tick(f->p, T0 + 5000 * MS);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 0);
}

/*
 * A SYN answered by a bare ACK of something else: the server holds a
 * synchronized connection on these ports (RFC 5961 4.2 challenge ACK).  Not a
 * SynSent timeout, and the SYN's sequence number does not place the data that
 * follows (no missed bytes).
 */
static void test_syn_answered_by_challenge_ack_is_no_timeout(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 1, 0, 90000, 5555, TCP_ACK, 0);
	seg(f, 900, 0, 90000, 5555, TCP_ACK | TCP_PSH, 10);
	seg(f, 901, 1, 5555, 90010, TCP_ACK, 0);
	pipeline_tick(f->p, T0 + 20000 * MS);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.syn_sent, 0);
	assert_int_equal(f->stats.tcp.missed_bytes, 0);
	assert_int_equal(f->got.n, 0);
}

/* The same SYN answered by nothing: a timeout, whose entry carries waited_ms. */
static void test_syn_unanswered_is_timeout(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.syn_sent, 1);
	assert_int_equal(collect_count(&f->got, "\"reason\":\"timeout\"", "\"waited_ms\":0"), 1);
}

/* One-sided capture: the SYN-ACK is missing, the client's ACK covers the server's ISN. */
static void test_client_ack_completes_unseen_handshake(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 2, 1, 101, 501, TCP_ACK, 0);
	seg(f, 3, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 5, 1, 111, 521, TCP_ACK, 0);                  /* the server's 20 bytes, unseen */
	pipeline_tick(f->p, T0 + 5000 * MS);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.syn_sent, 0);
	assert_int_equal(collect_count(&f->got, "\"type\":\"tcp\"", NULL), 0);
}

/* A SYN from the client to the server on another port at `ms`. */
static void syn_on(struct fixture *f, uint64_t ms, uint16_t sport, uint16_t dport, uint32_t seq)
{
	struct fl_packet p = tcp_packet(&f->buf, T0 + ms * MS, CLIENT, sport, SERVER, dport, seq, 0,
					TCP_SYN, 0);
	pipeline_packet(f->p, &p);
}

/* The client's packets only, its ACKs covering the server's uncaptured bytes. */
static void one_sided_session(struct fixture *f)
{
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 2, 1, 101, 501, TCP_ACK, 0);
	seg(f, 3, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 5, 1, 111, 521, TCP_ACK, 0);
}

/*
 * One-sided capture (issue 13, tcpdump's ipoib.pcap): nothing from the server's
 * host is captured though the client's ACKs prove it sent.  A later SYN to it,
 * not resent though the capture goes on 4 s (past the 1 s first
 * retransmission), was answered out of sight: counted, not a SynSent timeout.
 */
static void test_syn_to_uncaptured_direction_is_not_judged(void **state)
{
	struct fixture *f = *state;
	one_sided_session(f);
	syn_on(f, 1000, 41000, 8, 7000);
	syn_on(f, 5000, 41001, 13, 9000);      /* the capture goes on */
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.syn_answer_uncaptured, 1);
	/* The last SYN, at the file's very end, is judged as ever (SPEC). */
	assert_int_equal(f->stats.tcp.syn_sent, 1);
	assert_int_equal(collect_count(&f->got, "\"dst\":{\"ip\":\"198.18.2.2\",\"port\":13}", NULL), 1);
	assert_int_equal(collect_count(&f->got, "\"port\":8}", NULL), 0);
}

/* The same with one packet of the server's captured: a two-sided capture, a timeout. */
static void test_syn_unanswered_in_two_sided_capture_is_timeout(void **state)
{
	struct fixture *f = *state;
	one_sided_session(f);
	seg(f, 6, 0, 521, 111, TCP_ACK | TCP_PSH, 5);    /* the server's host appears */
	syn_on(f, 1000, 41000, 8, 7000);
	syn_on(f, 5000, 41001, 13, 9000);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.syn_answer_uncaptured, 0);
	assert_int_equal(f->stats.tcp.syn_sent, 2);
}

/* One-sided, but the SYN was resent: the client got no answer, a timeout. */
static void test_resent_syn_to_uncaptured_direction_is_timeout(void **state)
{
	struct fixture *f = *state;
	one_sided_session(f);
	syn_on(f, 1000, 41000, 8, 7000);
	syn_on(f, 1500, 41000, 8, 7000);
	syn_on(f, 5000, 41001, 13, 9000);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.syn_answer_uncaptured, 0);
	assert_int_equal(f->stats.tcp.syn_sent, 2);
}

/*
 * The host-pair table is drawn from the memory budget: counted while held,
 * given back when the pipeline goes; refused by a budget too small for it,
 * nothing is proven one-sided and the SYN is judged as ever.
 */
static void test_host_pair_table_is_budgeted(void **state)
{
	struct fixture *f = *state;
	assert_true(f->stats.memory.host_pair_bytes > 30000);
	assert_int_equal(f->stats.memory.over_limit, 0);
	pipeline_free(f->p);
	f->p = NULL;
	assert_int_equal(f->stats.memory.host_pair_bytes, 0);

	f->stats.memory.limit_bytes = 4096;
	fixture_pipeline(f);
	assert_int_equal(f->stats.memory.host_pair_bytes, 0);
	assert_true(f->stats.memory.over_limit >= 1);
	one_sided_session(f);
	syn_on(f, 1000, 41000, 8, 7000);
	syn_on(f, 5000, 41001, 13, 9000);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.syn_answer_uncaptured, 0);
	assert_int_equal(f->stats.tcp.syn_sent, 2);
}

/* One-sided capture: the client closes, then acknowledges one byte more: the server's FIN. */
static void test_ack_past_own_fin_means_peer_closed(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 2, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 5, 1, 111, 521, TCP_ACK | TCP_FIN, 0);
	seg(f, 6, 1, 112, 522, TCP_ACK, 0);
	pipeline_tick(f->p, T0 + 5000 * MS);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.close_wait, 0);
	assert_int_equal(collect_count(&f->got, "\"type\":\"tcp\"", NULL), 0);
}

/* The server closed first (its FIN unseen): the client's FIN acks one byte past it. */
static void test_fin_acking_unseen_peer_fin(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 2, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 4, 1, 111, 521, TCP_ACK, 0);
	seg(f, 5, 1, 111, 522, TCP_ACK, 0);
	seg(f, 6, 1, 111, 522, TCP_ACK | TCP_FIN, 0);
	pipeline_tick(f->p, T0 + 5000 * MS);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.close_wait, 0);
}

/* Without that evidence the client's FIN alone is still a CloseWait. */
/*
 * The client's packets only (tcpdump -Q in on the server): its ACK of the
 * server's ISN+1 names the ISN, so the 3000 response bytes its ACKs cover are
 * missed, and the one more byte its FIN acks is the server's FIN, not a byte.
 */
static void test_one_sided_acks_count_missed_bytes(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 1, 1, 101, 501, TCP_ACK, 0);
	seg(f, 2, 1, 101, 501, TCP_ACK | TCP_PSH, 50);
	seg(f, 3, 1, 151, 2001, TCP_ACK, 0);
	seg(f, 4, 1, 151, 3501, TCP_ACK, 0);
	seg(f, 5, 1, 151, 3502, TCP_ACK | TCP_FIN, 0);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.missed_bytes, 3000);
	assert_int_equal(f->stats.tcp.syn_sent, 0);
	assert_int_equal(f->stats.tcp.close_wait, 0);
	assert_int_equal(f->stats.tcp.retransmissions, 0);
}

static void test_one_sided_fin_without_evidence_is_close_wait(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 2, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 5, 1, 111, 521, TCP_ACK | TCP_FIN, 0);
	pipeline_tick(f->p, T0 + 5000 * MS);
	assert_int_equal(f->stats.tcp.close_wait, 1);
}

/* RFC 9293 3.10.7.3: in SYN-SENT an RST is acceptable only if it acks ISN + 1. */
static void test_rst_with_bad_ack_in_syn_sent_is_ignored(void **state)
{
	struct fixture *f = *state;
	seg(f, 0, 1, 100, 0, TCP_SYN, 0);
	seg(f, 1, 0, 0, 4242, TCP_RST | TCP_ACK, 0);        /* blind: wrong ack */
	seg(f, 2, 0, 0, 0, TCP_RST, 0);                      /* no ACK at all */
	seg(f, 3, 0, 500, 101, TCP_SYN | TCP_ACK, 0);
	seg(f, 4, 1, 101, 501, TCP_ACK, 0);
	pipeline_tick(f->p, T0 + 5000 * MS);
	pipeline_finish(f->p);
	assert_int_equal(f->got.n, 0);
	assert_int_equal(f->stats.tcp.syn_sent, 0);
	assert_int_equal(f->stats.tcp.invalid_rst, 2);
}

/* RFC 5961: an RST far outside the window changes nothing; a later real one carries the count. */
static void test_rst_out_of_window_is_counted(void **state)
{
	struct fixture *f = *state;
	handshake(f);
	seg(f, 3, 1, 101, 501, TCP_ACK | TCP_PSH, 10);
	seg(f, 4, 0, 501 + 50000000u, 0, TCP_RST, 0);
	assert_int_equal(f->got.n, 0);
	seg(f, 5, 0, 501, 111, TCP_ACK | TCP_PSH, 20);
	seg(f, 6, 0, 521, 111, TCP_RST | TCP_ACK, 0);
	pipeline_finish(f->p);
	assert_int_equal(collect_count(&f->got, "\"message\":\"Reset\"", NULL), 1);
	assert_non_null(strstr(f->got.json[0], "\"invalid_rst\":1"));
	assert_int_equal(f->stats.tcp.invalid_rst, 1);
}

/* RFC 7323 PAWS: a FIN with a timestamp older than the sender's newest is dropped
 * (no CloseWait from it); an in-window RST failing PAWS still resets, as on Linux. */
static void test_stale_timestamp_fin_ignored_rst_accepted(void **state)
{
	struct fixture *f = *state;
	seg_ts(f, 0, 1, 100, 0, TCP_SYN, 0, 1000);
	seg_ts(f, 1, 0, 500, 101, TCP_SYN | TCP_ACK, 0, 7000);
	seg_ts(f, 2, 1, 101, 501, TCP_ACK, 0, 1001);
	seg_ts(f, 3, 0, 501, 101, TCP_ACK | TCP_PSH, 20, 7005);
	seg_ts(f, 4, 0, 521, 101, TCP_FIN | TCP_ACK, 0, 6000);   /* stale FIN */
	pipeline_tick(f->p, T0 + 3000 * MS);
	assert_int_equal(f->stats.tcp.close_wait, 0);
	assert_int_equal(f->stats.tcp.invalid_rst, 1);
	seg_ts(f, 3004, 0, 521, 101, TCP_RST | TCP_ACK, 0, 6001);   /* stale RST */
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.reset, 1);
	assert_int_equal(collect_count(&f->got, "\"message\":\"Reset\"", "\"invalid_rst\":1"), 1);
}

/* A FIN before any payload, then data acking it: no phantom missed byte. */
static void test_fin_before_stream_is_no_missed_byte(void **state)
{
	struct fixture *f = *state;
	handshake(f);
	seg(f, 3, 0, 501, 101, TCP_ACK | TCP_FIN, 0);
	seg(f, 4, 1, 101, 502, TCP_ACK | TCP_PSH, 10);
	seg(f, 5, 0, 502, 111, TCP_ACK, 0);
	pipeline_finish(f->p);
	assert_int_equal(f->stats.tcp.missed_bytes, 0);
}

/* Files out of order: an older healthy connection after a newer one is no error. */
static void test_time_going_back_is_counted_not_waited(void **state)
{
	struct fixture *f = *state;
	seg(f, 100000, 1, 100, 0, TCP_SYN, 0);
	seg(f, 100001, 0, 500, 101, TCP_SYN | TCP_ACK, 0);
	seg(f, 100002, 1, 101, 501, TCP_ACK, 0);
	struct fl_packet p;
	uint32_t seqs[][3] = { { 1000, 0, TCP_SYN }, { 7000, 1001, TCP_SYN | TCP_ACK },
			       { 1001, 7001, TCP_ACK }, { 1001, 7001, TCP_ACK | TCP_FIN },
			       { 7001, 1002, TCP_ACK | TCP_FIN }, { 1002, 7002, TCP_ACK } };
	for (unsigned i = 0; i < 6; i++) {
		int from_client = !(seqs[i][2] & TCP_SYN && seqs[i][2] & TCP_ACK) && i != 4;
		p = from_client ?
			tcp_packet(&f->buf, T0 + i * MS, CLIENT, 41000, SERVER, 80, seqs[i][0], seqs[i][1],
				   (uint8_t)seqs[i][2], 0) :
			tcp_packet(&f->buf, T0 + i * MS, SERVER, 80, CLIENT, 41000, seqs[i][0], seqs[i][1],
				   (uint8_t)seqs[i][2], 0);
		pipeline_packet(f->p, &p);
	}
	pipeline_finish(f->p);
	assert_int_equal(f->stats.packets.time_reversals, 1);
	assert_int_equal(f->got.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_evicted_flow_resumes, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_timeout_with_retries, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_unanswered_syn_at_end_of_file, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_healthy_connection_reports_nothing, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset_by_server, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_close_wait, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_close_wait_not_reached_at_end, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_last_ack_with_fin_retransmissions, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_with_data_retransmitted_once, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_midstream_reset_guesses_client_by_port, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_sequence_wrap_fin_ack, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flow_table_bound_evicts, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_idle_keepalive_connection_is_kept, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_sent_carries_waited_ms, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_abandoned_by_client_rst_is_no_timeout, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_answered_by_challenge_ack_is_no_timeout, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_unanswered_is_timeout, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_client_ack_completes_unseen_handshake, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_to_uncaptured_direction_is_not_judged, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_syn_unanswered_in_two_sided_capture_is_timeout, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_resent_syn_to_uncaptured_direction_is_timeout, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_host_pair_table_is_budgeted, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_ack_past_own_fin_means_peer_closed, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_fin_acking_unseen_peer_fin, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_one_sided_fin_without_evidence_is_close_wait, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_one_sided_acks_count_missed_bytes, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_rst_with_bad_ack_in_syn_sent_is_ignored, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_rst_out_of_window_is_counted, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_stale_timestamp_fin_ignored_rst_accepted, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_fin_before_stream_is_no_missed_byte, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_time_going_back_is_counted_not_waited, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
