// SPDX-License-Identifier: MIT
/*
 * The --workers ring (core/spsc.h): records come out in order and intact
 * across the wrap (padding at the end), a full ring refuses instead of
 * overwriting, a record bigger than half the ring is refused, and a producer
 * and a consumer on two threads pass a hundred thousand records without loss.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>

#include "core/spsc.h"

static void test_order_and_wrap(void **state)
{
	(void)state;
	struct spsc r;
	assert_int_equal(spsc_init(&r, 1024), 0);
	uint32_t next_in = 0, next_out = 0;
	for (int round = 0; round < 200; round++) {
		/* Fill until refused, with sizes that do not divide the ring. */
		for (;;) {
			uint32_t len = 4 + (next_in * 7) % 61;
			uint8_t *m = spsc_reserve(&r, len, 1 + next_in % 3);
			if (!m)
				break;
			memset(m, (int)(next_in & 0xff), len);
			memcpy(m, &next_in, 4);
			spsc_commit(&r);
			next_in++;
		}
		/* Take a few out (not all: the head moves round the ring). */
		for (int k = 0; k < 5; k++) {
			uint32_t type, len;
			const uint8_t *m = spsc_peek(&r, &type, &len);
			assert_non_null(m);
			uint32_t v;
			memcpy(&v, m, 4);
			assert_int_equal(v, next_out);
			assert_int_equal(len, 4 + (next_out * 7) % 61);
			assert_int_equal(type, 1 + next_out % 3);
			for (uint32_t i = 4; i < len; i++)
				assert_int_equal(m[i], next_out & 0xff);
			spsc_pop(&r);
			next_out++;
		}
	}
	uint32_t type, len;
	while (spsc_peek(&r, &type, &len)) {
		spsc_pop(&r);
		next_out++;
	}
	assert_int_equal(next_out, next_in);
	assert_null(spsc_peek(&r, &type, &len));
	spsc_free(&r);
}

static void test_too_big(void **state)
{
	(void)state;
	struct spsc r;
	assert_int_equal(spsc_init(&r, 1024), 0);
	assert_null(spsc_reserve(&r, 600, 1));
	assert_non_null(spsc_reserve(&r, 400, 1));
	spsc_free(&r);
}

#define N_RECORDS 100000u

static void *producer(void *arg)
{
	struct spsc *r = arg;
	for (uint32_t i = 0; i < N_RECORDS; i++) {
		uint32_t len = 8 + i % 200;
		uint8_t *m;
		while (!(m = spsc_reserve(r, len, 1)))
			sched_yield();
		memcpy(m, &i, 4);
		m[len - 1] = (uint8_t)i;
		spsc_commit(r);
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	(void)state;
	struct spsc r;
	pthread_t t;
	assert_int_equal(spsc_init(&r, 4096), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
	for (uint32_t i = 0; i < N_RECORDS; i++) {
		uint32_t type, len, v;
		const uint8_t *m;
		while (!(m = spsc_peek(&r, &type, &len)))
			sched_yield();
		memcpy(&v, m, 4);
		if (v != i || len != 8 + i % 200 || m[len - 1] != (uint8_t)i)
			fail_msg("record %u: got %u (len %u)", i, v, len);
		spsc_pop(&r);
	}
	pthread_join(t, NULL);
	spsc_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_wrap),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
