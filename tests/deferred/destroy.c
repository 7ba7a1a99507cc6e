/* SPDX-License-Identifier: MIT */
/*
 * Destroy with pending values drains them all: values sit in half-full per-CPU
 * buffers (no idle drain within the test's lifetime) and in queued pages when
 * zsd_destroy() is called; afterwards each was drained exactly once.
 */
#include "zsd_test.h"

static void run(const char *name, struct zs_deferred_config *cfg, unsigned long n)
{
	struct zs_deferred_stats st;
	struct zs_deferred *d;
	unsigned long v, refused = 0;

	memset(t_tab.hits, 0, t_tab.n);
	d = zsd_create(&t_ops, &t_tab, cfg, NULL);
	CHECKF(d, "zsd_create: %s", strerror(errno));
	for (v = 1; v <= n; v++)
		if (!zsd_push(d, v)) {
			t_hit(v);
			refused++;
		}
	zsd_get_stats(d, &st);
	CHECK(st.pushed + refused == n);
	CHECK(st.fallbacks == refused);
	CHECK(st.fallbacks == st.fallbacks_busy + st.fallbacks_nospare);
	/* With a 60 s delay bound nothing half-full has been drained yet. */
	CHECK(t_table_count(1, n) < n || refused == n);
	zsd_destroy(d);
	t_table_check(1, n);
	printf("%s: %lu values, %lu refused, all drained by destroy\n", name, n, refused);
}

int main(void)
{
	struct zs_deferred_config cfg = { .max_delay_us = 60000000, .spare_pages = 64 };

	t_table_init(100000);
	run("percpu", &cfg, 3);
	run("percpu", &cfg, 5000);
	cfg.no_rseq = true;
	run("percpu-norseq", &cfg, 5000);
	cfg.no_rseq = false;
	cfg.mode = ZS_DEFER_V2_ARRAY;
	run("v2", &cfg, 20000);		/* one drain queued at 16384, 3616 left */
	cfg.mode = ZS_DEFER_SYNC;
	run("sync", &cfg, 10);
	free(t_tab.hits);
	return T_PASS;
}
