/* SPDX-License-Identifier: MIT */
/*
 * Bounded delay: a value left alone in a half-full buffer is drained within
 * max_delay_us without any further push or flush, and the wait statistics say so.
 *
 * Fails when the median wait of ten lone values exceeds WAIT_MARGIN x max_delay: a
 * median shrugs off the odd timer-thread delay on a loaded 2-core machine (or under a
 * sanitizer), and a 5x margin still catches a 10x regression of the bound.
 */
#include "zsd_test.h"

#define NR_TRIALS	10
#define WAIT_MARGIN	5

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void run(const char *name, bool no_rseq)
{
	struct zs_deferred_config cfg = { .max_delay_us = 20000, .no_rseq = no_rseq };
	struct zs_deferred_stats st;
	struct zs_deferred *d;
	unsigned long v;
	uint64_t t0, waited = 0, wait[NR_TRIALS], median;

	memset(t_tab.hits, 0, t_tab.n);
	d = zsd_create(&t_ops, &t_tab, &cfg, NULL);
	CHECK(d);
	for (v = 1; v <= NR_TRIALS; v++) {
		t0 = t_now_ns();
		CHECK(zsd_push(d, v));
		while (!__atomic_load_n(&t_tab.hits[v], __ATOMIC_RELAXED)) {
			usleep(200);
			/* generous bound: a loaded 2-core machine delays the timer thread */
			CHECKF(t_now_ns() - t0 < 1000000000ull, "value %lu not drained in 1 s",
			       v);
		}
		wait[v - 1] = t_now_ns() - t0;
		if (wait[v - 1] > waited)
			waited = wait[v - 1];
	}
	qsort(wait, NR_TRIALS, sizeof(wait[0]), cmp_u64);
	median = (wait[NR_TRIALS / 2 - 1] + wait[NR_TRIALS / 2]) / 2;
	zsd_get_stats(d, &st);
	printf("%s: observed wait median %.2f ms, longest %.2f ms (bound %.0f ms), stats: idle "
	       "drains %llu, wait max %.2f ms, mean %.2f ms\n", name, median / 1e6, waited / 1e6,
	       cfg.max_delay_us / 1e3, (unsigned long long)st.idle_drains, st.wait_ns_max / 1e6,
	       st.wait_samples ? (double)st.wait_ns_sum / (double)st.wait_samples / 1e6 : 0.0);
	CHECK(st.idle_drains >= NR_TRIALS);
	CHECK(st.wait_samples >= NR_TRIALS && st.wait_ns_max > 0);
	CHECKF(median <= WAIT_MARGIN * cfg.max_delay_us * 1000ull,
	       "%s: median wait %.2f ms > %d x max_delay (%.0f ms)", name, median / 1e6,
	       WAIT_MARGIN, cfg.max_delay_us / 1e3);
	/* single waits past the bound (not the median) are load, not a regression */
	if (waited > cfg.max_delay_us * 1000ull)
		fprintf(stderr, "note: a wait exceeded max_delay (machine loaded?)\n");
	zsd_destroy(d);
	t_table_check(1, NR_TRIALS);
}

int main(void)
{
	t_table_init(64);
	run("percpu", false);
	run("percpu-norseq", true);
	free(t_tab.hits);
	return T_PASS;
}
