/* SPDX-License-Identifier: MIT */
/*
 * Regression test for the delay timer's idle wake-ups: it woke every max_delay/4 for
 * the life of the pool, busy or not (~400 wake-ups a second per pool at the default
 * 10 ms; 44 a second for the NBD disk's 100 ms), each one a scan of every slot. Now it
 * sleeps while nothing is buffered and the first value of a page wakes it.
 *
 * Checks: after a value is drained and the pool has gone quiet, ticks over 300 ms stay
 * at a handful (at max_delay 20 ms the old timer ticked ~60 times there); a value
 * pushed then is still drained by the delay bound (no flush, no further push); and
 * the timer ticks again while it waits. Both push paths, rseq and the lock fallback.
 */
#include "zsd_test.h"

static void wait_drained(unsigned long v)
{
	uint64_t t0 = t_now_ns();

	while (!__atomic_load_n(&t_tab.hits[v], __ATOMIC_RELAXED)) {
		usleep(200);
		/* generous: a loaded 2-core machine delays the timer thread */
		CHECKF(t_now_ns() - t0 < 2000000000ull, "value %lu not drained in 2 s", v);
	}
}

static void run(const char *name, bool no_rseq)
{
	struct zs_deferred_config cfg = { .max_delay_us = 20000, .no_rseq = no_rseq };
	struct zs_deferred_stats st;
	struct zs_deferred *d;
	uint64_t t1, t2, t3;

	memset(t_tab.hits, 0, t_tab.n);
	d = zsd_create(&t_ops, &t_tab, &cfg, NULL);
	CHECK(d);
	CHECK(zsd_push(d, 1));
	wait_drained(1);
	usleep(100000);		/* a few ticks: the timer finds nothing left and sleeps */
	zsd_get_stats(d, &st);
	t1 = st.timer_ticks;
	usleep(300000);
	zsd_get_stats(d, &st);
	t2 = st.timer_ticks;
	printf("%s: %llu ticks while idle for 300 ms (a 5 ms period would be ~60)\n", name,
	       (unsigned long long)(t2 - t1));
	CHECKF(t2 - t1 <= 4, "%s: the timer ticked %llu times in 300 ms of idleness", name,
	       (unsigned long long)(t2 - t1));

	/* A lone value after the idle spell: the delay bound still drains it. */
	CHECK(zsd_push(d, 2));
	wait_drained(2);
	zsd_get_stats(d, &st);
	t3 = st.timer_ticks;
	CHECKF(t3 > t2, "%s: drained without a timer tick?", name);
	CHECK(st.idle_drains >= 2);
	zsd_destroy(d);
	t_table_check(1, 2);
}

int main(void)
{
	t_table_init(64);
	run("percpu", false);
	run("percpu-norseq", true);
	free(t_tab.hits);
	return T_PASS;
}
