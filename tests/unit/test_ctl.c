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
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
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
	struct fl_stats stats;
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
	f->ctl = ctl_open(f->path, NULL, f->epfd, &f->stats, describe, f, err, sizeof(err));
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

/* As the capture loop does: a batch of handlers, then one slice of ctl work (bounded wait). */
static bool pump(struct fixture *f, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(f->epfd, evs, 32, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;
		w->handle(w, evs[i].events);
	}
	return ctl_run(f->ctl);
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
	static char buf[8 << 20];
	size_t len = 0;
	bool more = false;

	for (int i = 0, idle = 0; idle < 500 && i < 200000; i++) {
		more = pump(f, more ? 0 : 10);
		idle += !more;
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

	assert_null(ctl_open(f->path, NULL, f->epfd, NULL, describe, f, err, sizeof(err)));
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

/* ---- client lifetime: clients that vanish while events for them are pending ---- */

/* A watch standing in for the packet source: when its pipe is readable, entries are emitted. */
struct source {
	struct watch w;
	struct fixture *f;
	int wr;
	int entries;
};

static void source_handle(struct watch *w, uint32_t events)
{
	struct source *src = watch_container(w, struct source, w);
	char b[64];

	(void)events;
	while (read(w->fd, b, sizeof(b)) > 0)
		;
	for (int i = 0; i < src->entries; i++)
		emit(src->f, "Reset");
}

static void source_open(struct fixture *f, struct source *src, int entries)
{
	int p[2];

	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	*src = (struct source){ .w = { .fd = p[0], .handle = source_handle }, .f = f, .wr = p[1],
				.entries = entries };
	assert_int_equal(watch_add(f->epfd, &src->w, EPOLLIN), 0);
}

static void source_close(struct fixture *f, struct source *src)
{
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, src->w.fd, NULL);
	close(src->w.fd);
	close(src->wr);
}

static uint64_t control_counter(struct fixture *f, const char *name)
{
	struct doc d;
	doc_init(&d);
	doc_reset(&d);
	ctl_describe(f->ctl, &d);
	uint32_t n = doc_path(&d, DOC_ROOT, name);
	int64_t v = n == DOC_NONE ? -1 : d.nodes[n].v.i;
	doc_free(&d);
	return (uint64_t)v;
}

/*
 * Followers hang up; in the same epoll batch the source emits entries (the
 * server finds the followers gone) and then their hang-up events come.  Used
 * to free a follower at the emit and call through it at its own event.
 */
static void test_followers_vanish_in_one_batch(void **state)
{
	struct fixture *f = *state;
	struct source src;
	int fds[CTL_MAX_QUERIES];

	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < CTL_MAX_QUERIES; i++)
			fds[i] = client(f, "query 0 1\n");
		for (int i = 0; i < 1000 && control_counter(f, "control.followers") < CTL_MAX_QUERIES; i++)
			pump(f, 1);
		assert_int_equal(control_counter(f, "control.followers"), CTL_MAX_QUERIES);
		source_open(f, &src, 3);
		assert_int_equal(write(src.wr, "x", 1), 1);   /* ready first: first in the batch */
		for (int i = 0; i < CTL_MAX_QUERIES; i++)
			close(fds[i]);
		pump(f, 100);
		for (int i = 0; i < 1000 && control_counter(f, "control.clients") > 0; i++)
			pump(f, 1);
		source_close(f, &src);
		assert_int_equal(control_counter(f, "control.clients"), 0);
	}
	int fd = client(f, "stats\n");
	assert_string_equal(collect(f, fd, 0), "{\"packets\":{\"seen\":42}}\n");
	close(fd);
}

/* Hundreds of clients connect, ask, and vanish while entries flow: the server stays whole. */
static void test_connect_flood(void **state)
{
	struct fixture *f = *state;
	struct source src;
	int open_fds[256];
	unsigned n_open = 0, answered = 0;

	source_open(f, &src, 2);
	for (int i = 0; i < 600; i++) {
		static const char *const reqs[] = { "query 0 1\n", "query 5 0\n", "stats\n",
						    "query 0 1 error.message == r\"Res\"\n", "" };
		int fd = client(f, reqs[i % 5]);
		open_fds[n_open++] = fd;
		if (i % 3 == 0)
			assert_int_equal(write(src.wr, "x", 1), 1);
		pump(f, 0);
		/* Vanish: some at once, some after a while, some after reading a bit. */
		while (n_open > (unsigned)(i % 7) * 6) {
			int victim = open_fds[--n_open];
			char b[512];
			answered += recv(victim, b, sizeof(b), MSG_DONTWAIT) > 0;
			close(victim);
		}
	}
	while (n_open)
		close(open_fds[--n_open]);
	for (int i = 0; i < 50; i++)
		pump(f, 1);
	source_close(f, &src);
	assert_true(answered > 0);
	assert_int_equal(control_counter(f, "control.clients"), 0);
	int fd = client(f, "query 1 0\n");
	assert_non_null(strstr(collect(f, fd, 0), "\"Reset\""));
	close(fd);
}

/* ---- limits ---- */

/* Idle connections do not lock the socket: they time out, then stats answers. */
static void test_idle_clients_time_out(void **state)
{
	struct fixture *f = *state;
	int fds[CTL_MAX_CLIENTS];

	ctl_set_limits(f->ctl, 100, CTL_QUERY_BUDGET_MS);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		fds[i] = ctl_connect(f->path);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < 10; i++)
		pump(f, 0);
	/* Full: the next one is told the server is busy. */
	int fd = client(f, "stats\n");
	char *out = collect(f, fd, 0);
	assert_true(strncmp(out, "error 1 busy", 12) == 0);
	close(fd);
	usleep(150 * 1000);
	pump(f, 0);
	assert_int_equal(control_counter(f, "control.timed_out"), CTL_MAX_CLIENTS);
	fd = client(f, "stats\n");
	assert_string_equal(collect(f, fd, 0), "{\"packets\":{\"seen\":42}}\n");
	close(fd);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		close(fds[i]);
}

/* A query whose client reads nothing is closed, freeing its slot. */
static void test_non_reading_client_closed(void **state)
{
	struct fixture *f = *state;
	char msg[1000];
	int small = 4096;

	memset(msg, 'y', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (int i = 0; i < CTL_RING_ENTRIES; i++)
		emit(f, msg);
	ctl_set_limits(f->ctl, 20, CTL_QUERY_BUDGET_MS);
	int fd = ctl_connect(f->path);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(send(fd, "query 0 0\n", 10, 0), 10);
	for (int i = 0; i < 300 && control_counter(f, "control.timed_out") == 0; i++)
		pump(f, 5);
	assert_int_equal(control_counter(f, "control.timed_out"), 1);
	assert_int_equal(control_counter(f, "control.clients"), 0);
	close(fd);
}

/* Long-running queries are capped, so stats (a liveness probe) always has a slot. */
static void test_queries_capped(void **state)
{
	struct fixture *f = *state;
	int fds[CTL_MAX_QUERIES];

	for (int i = 0; i < CTL_MAX_QUERIES; i++)
		fds[i] = client(f, "query 0 1\n");
	for (int i = 0; i < 10; i++)
		pump(f, 0);
	int fd = client(f, "query 0 1\n");
	assert_true(strncmp(collect(f, fd, 0), "error 1 busy", 12) == 0);
	close(fd);
	fd = client(f, "stats\n");
	assert_string_equal(collect(f, fd, 0), "{\"packets\":{\"seen\":42}}\n");
	close(fd);
	for (int i = 0; i < CTL_MAX_QUERIES; i++)
		close(fds[i]);
}

static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	int fd = ctl_connect(f->path);

	assert_int_equal(send(fd, "stats\0x\n", 8, 0), 8);
	assert_true(strncmp(collect(f, fd, 0), "error 2 request holds a NUL byte", 32) == 0);
	close(fd);
	fd = client(f, "query -5 0\n");
	assert_true(strncmp(collect(f, fd, 0), "error 2 query takes", 19) == 0);
	close(fd);
	fd = client(f, "query 5 2\n");
	assert_true(strncmp(collect(f, fd, 0), "error 2 query takes", 19) == 0);
	close(fd);
	fd = client(f, "query 99999999999999999999 0\n");
	assert_true(strncmp(collect(f, fd, 0), "error 2 ", 8) == 0);
	close(fd);
	fd = client(f, "stats\r\n");   /* nc -C */
	assert_string_equal(collect(f, fd, 0), "{\"packets\":{\"seen\":42}}\n");
	close(fd);
}

/* A follower that does not read loses entries, keeps its memory small, and is told. */
static void test_slow_follower_told_what_it_lost(void **state)
{
	struct fixture *f = *state;
	char msg[200];
	int one = 4096;

	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (int i = 0; i < 2 * CTL_RING_ENTRIES; i++)
		emit(f, msg);
	uint64_t before = f->stats.memory.control_bytes;
	int fd = client(f, "query 1 1\n");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	for (int i = 0; i < 1000 && control_counter(f, "control.followers") < 1; i++)
		pump(f, 1);
	for (int i = 0; i < 2 * CTL_RING_ENTRIES; i++) {
		emit(f, msg);
		if (i % 64 == 0)
			pump(f, 0);
	}
	/* The follower costs its small output buffer, not a copy of what it has not read. */
	uint64_t grown = f->stats.memory.control_bytes - before;
	char *out = collect(f, fd, 50);
	char *lost = strstr(out, "lost ");
	assert_non_null(lost);
	assert_true(strtoull(lost + 5, NULL, 10) > 0);
	assert_true(control_counter(f, "control.lost") > 0);
	print_message("follower memory %llu bytes\n", (unsigned long long)grown);
	assert_true(grown < 512 * 1024);
	close(fd);
}

/* A hostile regex over a full ring: worked in slices, then stopped by its budget. */
static void test_hostile_query_sliced_and_budgeted(void **state)
{
	struct fixture *f = *state;
	char msg[1024];

	memset(msg, 'a', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (int i = 0; i < CTL_RING_ENTRIES; i++)
		emit(f, msg);
	ctl_set_limits(f->ctl, CTL_IDLE_TIMEOUT_MS, 50);
	int fd = client(f, "query 0 0 error.message == r\"(a|aa)*(b|c)\"\n");
	int slices = 0;   /* ctl_run calls that gave the loop back with work left */
	bool more = false;
	char peek;
	for (int i = 0; i < 100000 && recv(fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) <= 0; i++) {
		more = pump(f, more ? 0 : 10);
		slices += more;
	}
	char *out = collect(f, fd, 0);
	print_message("slices %d: %.80s\n", slices, out);
	assert_true(slices > 2);   /* not one call: the loop got control back in between */
	assert_true(strncmp(out, "error 1 query exceeded its budget", 33) == 0);
	assert_int_equal(control_counter(f, "control.over_budget"), 1);
	close(fd);
	/* A harmless query still answers. */
	fd = client(f, "query 1 0\n");
	assert_int_equal(count_lines(collect(f, fd, 0)), 1);
	close(fd);
}

/* ---- the socket file ---- */

static void test_never_deletes_what_is_not_ours(void **state)
{
	struct fixture *f = *state;
	char path[128], target[128], err[256];
	struct stat st;

	/* A regular file at the path stays, and the open fails saying why. */
	snprintf(path, sizeof(path), "%s/run/file", f->dir);
	FILE *fp = fopen(path, "w");
	fputs("keep", fp);
	fclose(fp);
	assert_null(ctl_open(path, NULL, f->epfd, NULL, describe, f, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4);
	unlink(path);
	/* A symlink too (and its target). */
	snprintf(target, sizeof(target), "%s/run/target", f->dir);
	fp = fopen(target, "w");
	fclose(fp);
	assert_int_equal(symlink(target, path), 0);
	assert_null(ctl_open(path, NULL, f->epfd, NULL, describe, f, err, sizeof(err)));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_true(S_ISREG(st.st_mode) && (st.st_mode & 0777) != 0660);
	unlink(path);
	unlink(target);
	/* Our socket replaced by a file while we run: closing leaves the file. */
	struct ctl *c = ctl_open(path, NULL, f->epfd, NULL, describe, f, err, sizeof(err));
	assert_non_null(c);
	unlink(path);
	fp = fopen(path, "w");
	fclose(fp);
	ctl_close(c);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);
}

static void test_stale_socket_replaced(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct stat st;

	/* A killed run leaves its socket file: nobody answers there. */
	ctl_close(f->ctl);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	f->ctl = ctl_open(f->path, NULL, f->epfd, &f->stats, describe, f, err, sizeof(err));
	assert_non_null(f->ctl);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = client(f, "stats\n");
	assert_string_equal(collect(f, fd, 0), "{\"packets\":{\"seen\":42}}\n");
	close(fd);
}

static void test_numeric_group(void **state)
{
	struct fixture *f = *state;
	char path[128], err[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/run/g.sock", f->dir);
	struct ctl *c = ctl_open(path, "4242", f->epfd, NULL, describe, f, err, sizeof(err));
	if (!c && errno == EPERM) {
		skip();   /* chown needs root */
		return;
	}
	assert_non_null(c);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_gid, 4242);
	assert_int_equal(st.st_mode & 0777, 0660);
	ctl_close(c);
	assert_int_equal(lstat(path, &st), -1);
	assert_null(ctl_open(path, "no-such-group-x", f->epfd, NULL, describe, f, err, sizeof(err)));
	assert_non_null(strstr(err, "no group"));
}

/* ---- the request parser ---- */

static void test_parse_request(void **state)
{
	struct ctl_request r;
	char err[128];

	(void)state;
	assert_int_equal(ctl_parse_request("query 10 1 a == 1", 17, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_REQ_QUERY);
	assert_int_equal(r.limit, 10);
	assert_true(r.follow);
	assert_string_equal(r.filter, "a == 1");
	assert_int_equal(ctl_parse_request("query 3", 7, &r, err, sizeof(err)), 0);
	assert_int_equal(r.limit, 3);
	assert_false(r.follow);
	assert_string_equal(r.filter, "");
	assert_int_equal(ctl_parse_request("query +5 0", 10, &r, err, sizeof(err)), 2);
	assert_int_equal(ctl_parse_request("query 5 01", 10, &r, err, sizeof(err)), 2);
	assert_int_equal(ctl_parse_request("stats ", 6, &r, err, sizeof(err)), 2);
	assert_int_equal(ctl_parse_request("metrics", 7, &r, err, sizeof(err)), 0);
	assert_int_equal(r.kind, CTL_REQ_METRICS);
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
		cmocka_unit_test_setup_teardown(test_followers_vanish_in_one_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_clients_time_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queries_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_reading_client_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_follower_told_what_it_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_query_sliced_and_budgeted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_deletes_what_is_not_ours, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numeric_group, setup, teardown),
		cmocka_unit_test(test_parse_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
