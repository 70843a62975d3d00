// SPDX-License-Identifier: MIT
/* The flow table: both directions in one flow, LRU order, bounds, timers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/flow.h"
#include "report/stats.h"

static struct fl_addr v4(uint8_t last)
{
	struct fl_addr a = { .family = 4, .bytes = { 198, 18, 0, last } };
	return a;
}

static unsigned released;
static void on_release(void *ctx, struct flow *f, bool evicted)
{
	(void)ctx; (void)f; (void)evicted;
	released++;
}

static void test_both_directions_one_flow(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	struct flow_table *t = flow_table_new(100, &stats, NULL, NULL);
	struct fl_addr a = v4(1), b = v4(2);
	int dir_ab, dir_ba;
	struct flow *f1 = flow_lookup(t, &a, 1000, &b, 80, 6, 1, true, &dir_ab);
	struct flow *f2 = flow_lookup(t, &b, 80, &a, 1000, 6, 2, true, &dir_ba);
	assert_non_null(f1);
	assert_ptr_equal(f1, f2);
	assert_int_not_equal(dir_ab, dir_ba);
	assert_int_equal(f1->last_ts_ns, 2);
	assert_int_equal(flow_count(t), 1);
	/* Same addresses, another protocol or port: another flow. */
	assert_ptr_not_equal(flow_lookup(t, &a, 1000, &b, 80, 17, 3, true, &dir_ab), f1);
	assert_ptr_not_equal(flow_lookup(t, &a, 1001, &b, 80, 6, 3, true, &dir_ab), f1);
	assert_null(flow_lookup(t, &a, 1002, &b, 80, 6, 3, false, &dir_ab));
	assert_int_equal(stats.flows.tcp, 2);
	assert_int_equal(stats.flows.udp, 1);
	flow_table_free(t);
}

static void test_lru_eviction_and_growth(void **state)
{
	(void)state;
	struct fl_stats stats = { 0 };
	released = 0;
	struct flow_table *t = flow_table_new(5000, &stats, on_release, NULL);
	struct fl_addr a = v4(1), b = v4(2);
	int dir;
	for (uint32_t i = 0; i < 6000; i++)
		assert_non_null(flow_lookup(t, &a, (uint16_t)(i + 1), &b, 80, 6, i, true, &dir));
	assert_int_equal(flow_count(t), 5000);
	assert_int_equal(stats.flows.evicted, 1000);
	assert_int_equal(released, 1000);
	/* the oldest 1000 went; port 1001 (ts 1000) is now the oldest */
	assert_null(flow_lookup(t, &a, 1, &b, 80, 6, 0, false, &dir));
	assert_int_equal(flow_oldest(t)->key.port[0] == 80 ? flow_oldest(t)->key.port[1] :
			 flow_oldest(t)->key.port[0], 1001);
	/* touching a flow makes it the newest */
	flow_lookup(t, &a, 1001, &b, 80, 6, 7000, false, &dir);
	assert_int_not_equal(flow_oldest(t)->last_ts_ns, 7000);
	assert_true(stats.memory.flow_bytes > 5000 * sizeof(struct flow));
	flow_table_free(t);
	assert_int_equal(released, 6000);
}

static void test_timer_queue_order(void **state)
{
	(void)state;
	struct flow_table *t = flow_table_new(100, NULL, NULL, NULL);
	struct fl_addr a = v4(1), b = v4(2);
	int dir;
	struct flow *f[4];
	for (int i = 0; i < 4; i++)
		f[i] = flow_lookup(t, &a, (uint16_t)(10 + i), &b, 80, 6, 1, true, &dir);
	flow_timer_set(t, f[0], 300);
	flow_timer_set(t, f[1], 100);
	flow_timer_set(t, f[2], 200);
	flow_timer_set(t, f[3], 400);
	assert_ptr_equal(flow_timer_first(t), f[1]);
	flow_timer_set(t, f[1], 0);
	assert_ptr_equal(flow_timer_first(t), f[2]);
	flow_timer_set(t, f[2], 500);        /* re-armed later: goes to the end */
	assert_ptr_equal(flow_timer_first(t), f[0]);
	flow_remove(t, f[0]);                /* removal disarms */
	assert_ptr_equal(flow_timer_first(t), f[3]);
	flow_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_directions_one_flow),
		cmocka_unit_test(test_lru_eviction_and_growth),
		cmocka_unit_test(test_timer_queue_order),
	};
	return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
