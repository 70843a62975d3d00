// SPDX-License-Identifier: MIT
/*
 * The per-namespace sock_diag bookkeeping (source/nsdiag.c) with fake namespaces:
 * processes of one namespace share one socket, the bound holds and counts what it
 * leaves out, a namespace no process is in any more is closed, one whose process we
 * can no longer see lives while that process runs, and one that could not be entered
 * is not tried again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "source/nsdiag.h"

#define PIDS 1024

struct fake {
	unsigned opens, closes;
	int next_fd;
	uint64_t refuse;              /* this namespace cannot be entered */
	uint64_t closed[NSDIAG_MAX + 8];
	uint64_t start[PIDS];         /* each pid's start time, 0: not running */
};

static int fake_open(void *ctx, uint32_t pid, uint64_t ino)
{
	struct fake *f = ctx;
	(void)pid;
	f->opens++;
	return ino == f->refuse ? -1 /* -EPERM */ : f->next_fd++;
}

static void fake_close(void *ctx, uint64_t ino, int fd)
{
	struct fake *f = ctx;
	(void)fd;
	if (f->closes < sizeof(f->closed) / sizeof(f->closed[0]))
		f->closed[f->closes] = ino;
	f->closes++;
}

static uint64_t fake_started(void *ctx, uint32_t pid)
{
	struct fake *f = ctx;
	return pid < PIDS ? f->start[pid] : 0;
}

static void setup(struct nsdiag *t, struct fake *f)
{
	struct nsdiag_ops ops = { .open = fake_open, .close = fake_close, .started = fake_started,
				  .ctx = f };
	memset(f, 0, sizeof(*f));
	f->next_fd = 100;
	for (unsigned p = 1; p < PIDS; p++)
		f->start[p] = 1000 + p;
	nsdiag_init(t, &ops, 1 /* our own namespace */, 3);
}

static void dedupe_and_disappearance(void **state)
{
	(void)state;
	static struct nsdiag t;
	struct fake f;
	setup(&t, &f);

	/* Three processes in namespace 50, two in 60, one in ours. */
	nsdiag_begin(&t);
	const struct nsdiag_ns *a = nsdiag_note(&t, 10, 50);
	assert_non_null(a);
	int fd50 = a->fd;
	assert_ptr_equal(nsdiag_note(&t, 11, 50), a);
	assert_ptr_equal(nsdiag_note(&t, 12, 50), a);
	assert_non_null(nsdiag_note(&t, 20, 60));
	assert_non_null(nsdiag_note(&t, 21, 60));
	assert_int_equal(nsdiag_note(&t, 30, 1)->fd, 3);
	nsdiag_end(&t);
	assert_int_equal(f.opens, 2);
	assert_int_equal(t.open_now, 3);
	assert_int_equal(t.n, 3);

	/* Namespace 60's processes exit: closed; 50 keeps its socket. */
	f.start[20] = f.start[21] = 0;
	nsdiag_begin(&t);
	assert_int_equal(nsdiag_note(&t, 11, 50)->fd, fd50);
	nsdiag_end(&t);
	assert_int_equal(f.closes, 1);
	assert_int_equal(f.closed[0], 60);
	assert_int_equal(t.open_now, 2);
	assert_int_equal(f.opens, 2);   /* nothing opened again */

	/* Nobody seen at all (our own namespace stays, always). */
	f.start[10] = f.start[11] = f.start[12] = 0;
	nsdiag_begin(&t);
	nsdiag_end(&t);
	assert_int_equal(f.closes, 2);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.open_now, 1);
	nsdiag_close_all(&t);
	assert_int_equal(f.closes, 3);   /* ours too */
}

/* Once capabilities are dropped the rescan sees no process of a namespace: the one it goes
 * by still runs, so the namespace is kept; when that one exits, it is closed. */
static void unseen_but_alive(void **state)
{
	(void)state;
	static struct nsdiag t;
	struct fake f;
	setup(&t, &f);

	nsdiag_begin(&t);
	nsdiag_note(&t, 40, 70);
	nsdiag_note(&t, 41, 70);
	nsdiag_end(&t);
	for (int i = 0; i < 3; i++) {
		nsdiag_begin(&t);
		nsdiag_end(&t);
	}
	assert_int_equal(f.closes, 0);
	assert_int_equal(t.open_now, 2);
	/* The process it went by exits while another is seen: that one stands in. */
	f.start[40] = 0;
	nsdiag_begin(&t);
	nsdiag_note(&t, 41, 70);
	nsdiag_end(&t);
	nsdiag_begin(&t);
	nsdiag_end(&t);
	assert_int_equal(f.closes, 0);
	/* A pid reused by another process (another start time) is not the one it went by. */
	f.start[41] = 99;
	nsdiag_begin(&t);
	nsdiag_end(&t);
	assert_int_equal(f.closes, 1);
	assert_int_equal(t.open_now, 1);
}

static void bound_counted(void **state)
{
	(void)state;
	static struct nsdiag t;
	struct fake f;
	setup(&t, &f);

	nsdiag_begin(&t);
	for (unsigned i = 0; i < NSDIAG_MAX + 10; i++) {
		/* Two processes each: the ones over the bound are counted once. */
		nsdiag_note(&t, 100 + i % 500, 1000 + i);
		nsdiag_note(&t, 100 + i % 500, 1000 + i);
	}
	nsdiag_end(&t);
	assert_int_equal(t.n, NSDIAG_MAX);
	assert_int_equal(t.open_now, NSDIAG_MAX);
	assert_int_equal(f.opens, NSDIAG_MAX - 1);   /* ours holds one place */
	assert_int_equal(t.over_now, 11);
	assert_null(nsdiag_note(&t, 5, 99999));
	nsdiag_close_all(&t);
	assert_int_equal(f.closes, NSDIAG_MAX);
}

static void refused_not_retried(void **state)
{
	(void)state;
	static struct nsdiag t;
	struct fake f;
	setup(&t, &f);

	f.refuse = 80;
	for (int i = 0; i < 3; i++) {
		nsdiag_begin(&t);
		const struct nsdiag_ns *e = nsdiag_note(&t, 50, 80);
		assert_non_null(e);
		assert_int_equal(e->fd, -1);
		nsdiag_end(&t);
	}
	assert_int_equal(f.opens, 1);
	assert_int_equal(t.refused_now, 1);
	assert_int_equal(t.open_now, 1);
	/* Gone: forgotten (nothing to close), counted no more. */
	f.start[50] = 0;
	nsdiag_begin(&t);
	nsdiag_end(&t);
	assert_int_equal(f.closes, 0);
	assert_int_equal(t.refused_now, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dedupe_and_disappearance),
		cmocka_unit_test(unseen_but_alive),
		cmocka_unit_test(bound_counted),
		cmocka_unit_test(refused_not_retried),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
