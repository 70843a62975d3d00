// SPDX-License-Identifier: MIT
/* The control socket: its line protocol, the entry ring, filters and followers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink/ctl.h"
#include "core/watch.h"

struct fixture {
	char dir[64];
	char path[96];
	int epfd;
	struct ctl *ctl;
	struct entry_sink sink;
	uint64_t next_id;
	int describes;
};

static void describe(void *ctx, struct doc *out)
{
	struct fixture *f = ctx;

	f->describes++;
	doc_reset(out);
	uint32_t o = doc_add_obj(out, DOC_ROOT, "packets");
	doc_add_int(out, o, "seen", 42);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/flt-ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* A directory that does not exist yet: ctl_open creates it. */
	snprintf(f->path, sizeof(f->path), "%s/run/x.sock", f->dir);
	f->epfd = epoll_create1(0);
	f->ctl = ctl_open(f->path, NULL, f->epfd, describe, f, err, sizeof(err));
	assert_non_null(f->ctl);
	f->sink = ctl_entry_sink(f->ctl);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char sub[96];

	ctl_close(f->ctl);
	close(f->epfd);
	snprintf(sub, sizeof(sub), "%s/run", f->dir);
	rmdir(sub);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void emit(struct fixture *f, const char *message)
{
	struct doc d;
	struct entry_meta meta = { .id = ++f->next_id };

	doc_init(&d);
	doc_reset(&d);
	doc_add_int(&d, DOC_ROOT, "id", (int64_t)meta.id);
	doc_add_str(&d, DOC_ROOT, "protocol", "tcp");
	uint32_t e = doc_add_obj(&d, DOC_ROOT, "error");
	doc_add_str(&d, e, "type", "tcp");
	doc_add_str(&d, e, "message", message);
	f->sink.emit(f->sink.ctx, &d, &meta);
	doc_free(&d);
}

/* Run the server's handlers for whatever is ready (bounded wait). */
static void pump(struct fixture *f, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(f->epfd, evs, 16, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;
		w->handle(w, evs[i].events);
	}
}

static int client(struct fixture *f, const char *request)
{
	int fd = ctl_connect(f->path);

	assert_true(fd >= 0);
	assert_int_equal(send(fd, request, strlen(request), 0), (ssize_t)strlen(request));
	return fd;
}

/* Read what the server sends until it closes or `want_lines` lines arrived. */
static char *collect(struct fixture *f, int fd, int want_lines)
{
	static char buf[1 << 20];
	size_t len = 0;

	for (int i = 0; i < 500; i++) {
		pump(f, 10);
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0)
			len += (size_t)n;
		buf[len] = '\0';
		int lines = 0;
		for (char *p = buf; (p = strchr(p, '\n')); p++)
			lines++;
		if (want_lines && lines >= want_lines)
			break;
	}
	buf[len] = '\0';
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; (s = strchr(s, '\n')); s++)
		n++;
	return n;
}

static void test_socket_mode(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_second_server_refused(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";

	assert_null(ctl_open(f->path, NULL, f->epfd, describe, f, err, sizeof(err)));
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(err, "already"));
}

static void test_stats(void **state)
{
	struct fixture *f = *state;
	int fd = client(f, "stats\n");
	char *out = collect(f, fd, 0);

	assert_string_equal(out, "{\"packets\":{\"seen\":42}}\n");
	assert_int_equal(f->describes, 1);
	close(fd);
	fd = client(f, "metrics\n");
	assert_non_null(strstr(collect(f, fd, 0), "\nfaultline_packets_seen_total 42\n"));
	close(fd);
}

/* A client that half-closes after its request (echo stats | nc -U) still gets the answer. */
static void test_half_close(void **state)
{
	struct fixture *f = *state;
	int fd = client(f, "stats");

	shutdown(fd, SHUT_WR);
	assert_string_equal(collect(f, fd, 0), "{\"packets\":{\"seen\":42}}\n");
	close(fd);

	emit(f, "Reset");
	fd = client(f, "query 0 1\n");
	shutdown(fd, SHUT_WR);
	pump(f, 10);
	emit(f, "SynSent");
	char *out = collect(f, fd, 2);
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, "SynSent"));
	close(fd);
	pump(f, 10);
	emit(f, "SynSent");   /* the follower is gone; nothing is sent to a closed socket */
}

static void test_query_newest_last(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 5; i++)
		emit(f, i % 2 ? "Reset" : "SynSent");
	int fd = client(f, "query 2 0\n");
	char *out = collect(f, fd, 0);
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, "{\"id\":4,"));
	assert_true(strstr(out, "{\"id\":4,") < strstr(out, "{\"id\":5,"));
	close(fd);

	fd = client(f, "query 0 0\n");
	assert_int_equal(count_lines(collect(f, fd, 0)), 5);
	close(fd);
}

static void test_query_filter(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 6; i++)
		emit(f, i % 2 ? "Reset" : "SynSent");
	int fd = client(f, "query 0 0 error.message == \"Reset\" and id > 2\n");
	char *out = collect(f, fd, 0);
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, "\"id\":4,"));
	assert_non_null(strstr(out, "\"id\":6,"));
	close(fd);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	int fd = client(f, "query 0 0 dst.port ==\n");
	char *out = collect(f, fd, 0);

	assert_true(strncmp(out, "error 2 ", 8) == 0);
	assert_non_null(strstr(out, "column"));
	/* Every line of a multi-line message is an error line. */
	for (char *p = out; *p; p = strchr(p, '\n') + 1)
		assert_true(strncmp(p, "error 2 ", 8) == 0);
	close(fd);

	fd = client(f, "hello\n");
	assert_true(strncmp(collect(f, fd, 0), "error 2 unknown request", 23) == 0);
	close(fd);
	fd = client(f, "query x 0\n");
	assert_true(strncmp(collect(f, fd, 0), "error 2 ", 8) == 0);
	close(fd);
}

static void test_follow(void **state)
{
	struct fixture *f = *state;

	emit(f, "SynSent");
	int fd = client(f, "query 1 1 error.message == \"Reset\"\n");
	pump(f, 10);
	emit(f, "SynSent");
	emit(f, "Reset");
	char *out = collect(f, fd, 1);
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "{\"id\":3,"));
	/* The follower leaves; the server notices and carries on. */
	close(fd);
	pump(f, 10);
	emit(f, "Reset");
	fd = client(f, "query 0 0\n");
	assert_int_equal(count_lines(collect(f, fd, 0)), 4);
	close(fd);
}

static void test_ring_keeps_the_newest(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < CTL_RING_ENTRIES + 10; i++)
		emit(f, "SynSent");
	int fd = client(f, "query 0 0\n");
	char *out = collect(f, fd, 0);
	assert_int_equal(count_lines(out), CTL_RING_ENTRIES);
	assert_true(strncmp(out, "{\"id\":11,", 9) == 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_server_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_newest_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_keeps_the_newest, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
