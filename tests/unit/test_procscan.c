// SPDX-License-Identifier: MIT
/*
 * The /proc socket scan: a listener opened by a child process is found with the
 * child's pid, whether the scan runs whole or a slice at a time, and our own
 * sockets name nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultline.h"
#include "source/procscan.h"
#include "report/stats.h"

struct found {
	uint16_t port;
	uint32_t pid;       /* the owner of `port` (0: not seen) */
	unsigned sockets;   /* every socket handed over */
};

static void on_socket(void *ctx, const struct fl_sock_owner *ev)
{
	struct found *f = ctx;
	f->sockets++;
	if (ev->kind == FL_OWN_LISTEN && ev->family == 2 && ev->sport == f->port)
		f->pid = ev->pid;
}

/* A listener on 127.0.0.1, its port in *port; the descriptor, or -1. */
static int listener(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* Fork a child that listens and waits; its port in *port. */
static pid_t child_listener(uint16_t *port)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint16_t got = 0;
		int fd = listener(&got);
		(void)!write(p[1], &got, sizeof(got));
		if (fd >= 0)
			pause();   /* killed by the parent */
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], port, sizeof(*port)), (ssize_t)sizeof(*port));
	close(p[0]);
	assert_int_not_equal(*port, 0);
	return pid;
}

static void end_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_whole_scan(void **state)
{
	(void)state;
	struct fl_stats st = { 0 };
	struct procscan *s = procscan_new(1024, &st);
	assert_non_null(s);
	struct found f = { 0 };
	pid_t pid = child_listener(&f.port);
	assert_true(procscan_run(s, on_socket, &f) >= 1);
	assert_int_equal(f.pid, (uint32_t)pid);
	assert_false(procscan_busy(s));
	end_child(pid);
	procscan_free(s);
}

static void test_sliced_scan(void **state)
{
	(void)state;
	struct fl_stats st = { 0 };
	struct procscan *s = procscan_new(1024, &st);
	assert_non_null(s);
	struct found f = { 0 };
	pid_t pid = child_listener(&f.port);
	assert_int_equal(procscan_begin(s), 0);
	assert_true(procscan_busy(s));
	/* A budget of 1 ns: one process or one table a step, so many steps. */
	unsigned steps = 0;
	while (procscan_busy(s) && steps < 1000000) {
		procscan_step(s, 1, on_socket, &f);
		steps++;
	}
	assert_false(procscan_busy(s));
	assert_true(steps > 1);
	assert_int_equal(f.pid, (uint32_t)pid);
	/* Finished: a step does nothing more. */
	unsigned before = f.sockets;
	assert_int_equal(procscan_step(s, 1, on_socket, &f), 0);
	assert_int_equal(f.sockets, before);
	end_child(pid);
	procscan_free(s);
}

static void test_own_sockets_skipped(void **state)
{
	(void)state;
	struct fl_stats st = { 0 };
	struct procscan *s = procscan_new(1024, &st);
	assert_non_null(s);
	struct found f = { 0 };
	int fd = listener(&f.port);
	assert_true(fd >= 0);
	procscan_run(s, on_socket, &f);
	assert_int_equal(f.pid, 0);
	close(fd);
	procscan_free(s);
	assert_int_equal(st.memory.attribution_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_scan),
		cmocka_unit_test(test_sliced_scan),
		cmocka_unit_test(test_own_sockets_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
