/* SPDX-License-Identifier: MIT */
/*
 * Spare pool growth: a burst far larger than the preallocated floor, pushed while the
 * drain is held back, ends without a single fallback when the ceiling allows it (the
 * pool grows on demand), with counted "nospare" fallbacks when the ceiling is tiny,
 * and once idle the grown pages are freed again (spare_allocated back to the floor).
 * The drain is gated rather than slowed: the pile-up is then the same on any machine
 * and under sanitizers.
 */
#include "zsd_test.h"

static int gate_closed;

static void gated_drain(void *private, void *buf, unsigned int count)
{
	while (__atomic_load_n(&gate_closed, __ATOMIC_ACQUIRE))
		usleep(100);
	t_drain_u32(private, buf, count);
}

static const struct zs_deferred_ops gated_ops = { .push = t_push_u32, .drain = gated_drain };

/* Pushes [first, last] with the drain held; refused values are freed "synchronously". */
static unsigned long burst(struct zs_deferred *d, unsigned long first, unsigned long last)
{
	unsigned long v, refused = 0;

	__atomic_store_n(&gate_closed, 1, __ATOMIC_RELEASE);
	for (v = first; v <= last; v++)
		if (!zsd_push(d, v)) {
			t_hit(v);
			refused++;
		}
	__atomic_store_n(&gate_closed, 0, __ATOMIC_RELEASE);
	return refused;
}

/* Waits (bounded) for the timer to free the grown pages. */
static void wait_floor(struct zs_deferred *d, struct zs_deferred_stats *st)
{
	uint64_t t0 = t_now_ns();

	for (;;) {
		zsd_get_stats(d, st);
		if (st->spare_allocated == st->spare_pages)
			return;
		CHECKF(t_now_ns() - t0 < 5000000000ull, "spare_allocated %llu, floor %llu after 5 s",
		       (unsigned long long)st->spare_allocated,
		       (unsigned long long)st->spare_pages);
		usleep(1000);
	}
}

static void print(const char *name, const struct zs_deferred_stats *st, unsigned long refused)
{
	printf("%s: pushed %llu, refused %lu (busy %llu, nospare %llu), floor %llu, ceiling %llu, "
	       "high %llu, grown %llu, now %llu\n", name, (unsigned long long)st->pushed, refused,
	       (unsigned long long)st->fallbacks_busy, (unsigned long long)st->fallbacks_nospare,
	       (unsigned long long)st->spare_pages, (unsigned long long)st->spare_max,
	       (unsigned long long)st->spare_high, (unsigned long long)st->spare_grown,
	       (unsigned long long)st->spare_allocated);
}

static void run(const char *name, bool no_rseq)
{
	/* 1 worker, delay bound 5 ms: the timer shrinks 5 ms after the last dry stack. */
	struct zs_deferred_config cfg = { .spare_pages = 8, .workers = 1, .max_delay_us = 5000,
					  .no_rseq = no_rseq };
	const unsigned long pages = 200, n = pages * 1024;
	struct zs_deferred_stats st;
	struct zs_deferred *d;
	unsigned long refused, round;

	for (round = 0; round < 2; round++) {
		/* Default ceiling (1024 pages): the burst of 200 pages fits. */
		memset(t_tab.hits, 0, t_tab.n);
		d = zsd_create(&gated_ops, &t_tab, &cfg, NULL);
		CHECKF(d, "zsd_create: %s", strerror(errno));
		zsd_get_stats(d, &st);
		CHECK(st.spare_pages == 8 && st.spare_max == 1024 && st.spare_allocated == 8);
		refused = burst(d, 1, n);
		zsd_get_stats(d, &st);
		print(name, &st, refused);
		CHECK(refused == 0 && st.fallbacks == 0);
		CHECK(st.pushed == n);
		/* At most one page drained (and blocked) while pushing: the rest piled up. */
		CHECK(st.spare_grown >= pages - 8 - 4);
		CHECK(st.spare_high <= st.spare_max);
		zsd_flush(d);
		t_table_check(1, n);
		wait_floor(d, &st);
		CHECK(st.spare_high >= pages - 4);
		if (round == 1) {
			/* Grows again after a shrink: the same burst, the same outcome. */
			memset(t_tab.hits, 0, t_tab.n);
			refused = burst(d, 1, n);
			zsd_get_stats(d, &st);
			CHECK(refused == 0 && st.fallbacks == 0);
			zsd_flush(d);
			t_table_check(1, n);
			wait_floor(d, &st);
			print(name, &st, refused);
		}
		zsd_destroy(d);
	}

	/* A tiny ceiling: 2 preallocated + 1 grown, then fallbacks counted as nospare. */
	memset(t_tab.hits, 0, t_tab.n);
	cfg.spare_pages = 2;
	cfg.spare_pages_max = 3;
	d = zsd_create(&gated_ops, &t_tab, &cfg, NULL);
	CHECK(d);
	refused = burst(d, 1, n);
	zsd_get_stats(d, &st);
	print(name, &st, refused);
	CHECK(st.spare_max == 3 && st.spare_high <= 3 && st.spare_grown >= 1);
	CHECK(refused > n / 2);
	CHECK(st.fallbacks == refused);
	CHECK(st.fallbacks == st.fallbacks_busy + st.fallbacks_nospare);
	CHECK(st.fallbacks_nospare > 0);
	CHECK(st.pushed + refused == n);
	zsd_flush(d);
	t_table_check(1, n);
	wait_floor(d, &st);
	zsd_destroy(d);

	/* A ceiling below the floor means no growth at all. */
	cfg.spare_pages = 4;
	cfg.spare_pages_max = 1;
	d = zsd_create(&gated_ops, &t_tab, &cfg, NULL);
	CHECK(d);
	zsd_get_stats(d, &st);
	CHECK(st.spare_max == 4);
	zsd_destroy(d);
}

int main(void)
{
	t_table_init(200 * 1024 + 1);
	run("percpu", false);
	run("percpu-norseq", true);
	free(t_tab.hits);
	return T_PASS;
}
