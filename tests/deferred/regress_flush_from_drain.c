// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12, defect 3): zs_deferred_flush() called from a drain() callback
 * deadlocked: the worker waited for the ticket it was draining itself. It must return
 * (having queued what it could) and every value must still be drained exactly once.
 */
#include <pthread.h>

#include "regress_ops.h"

static struct zs_pool *pool;
static int nested_state;	/* 0 not yet, 1 inside the nested flush, 2 returned */

static void drain_and_flush(void *private, void *buf, unsigned int count)
{
	t_drain_ul(private, buf, count);
	if (__atomic_load_n(&nested_state, __ATOMIC_ACQUIRE) == 0) {
		__atomic_store_n(&nested_state, 1, __ATOMIC_RELEASE);
		zs_deferred_flush(pool);
		__atomic_store_n(&nested_state, 2, __ATOMIC_RELEASE);
	}
}

static const struct zs_deferred_ops ops = { .push = t_push_ul, .drain = drain_and_flush };

static void run(const char *name, enum zs_deferred_mode mode, bool no_rseq)
{
	struct zs_deferred_config cfg = { .mode = mode, .no_rseq = no_rseq };
	unsigned long v;

	memset(&t_cnt, 0, sizeof(t_cnt));
	nested_state = 0;
	pool = zs_create_pool(name);
	CHECK(pool);
	CHECK(zs_pool_enable_deferred_free_ex(pool, &ops, NULL, &cfg) == 0);
	/* Several full pages and a half-full one, then a flush from here. */
	for (v = 1; v <= 5000; v++)
		t_push(pool, v);
	zs_deferred_flush(pool);
	CHECKF(__atomic_load_n(&nested_state, __ATOMIC_ACQUIRE) == 2,
	       "%s: nested flush state %d", name, nested_state);
	/* Values pushed after the nested flush: a second flush still works. */
	for (; v <= 6000; v++)
		t_push(pool, v);
	zs_deferred_flush(pool);
	t_check_balanced(name);
	zs_destroy_pool(pool);
}

int main(void)
{
	t_watchdog(60);
	run("percpu", ZS_DEFER_PERCPU, false);
	run("percpu-norseq", ZS_DEFER_PERCPU, true);
	run("v2", ZS_DEFER_V2_ARRAY, false);
	printf("regress_flush_from_drain: ok\n");
	return T_PASS;
}
