/* SPDX-License-Identifier: MIT */
/*
 * The framework on a real pool, built-in handle ops, every mode: threads free a pool's
 * objects with zs_free_deferred() (zs_free() when refused); after zs_deferred_flush()
 * the pool holds no object and its pages are back to the floor; zs_pool_check() is
 * clean. Then: destroy with pending deferred frees, and the API's error cases.
 */
#include "zsd_test.h"

#define NR_THREADS	3

struct freer {
	pthread_t tid;
	struct zs_pool *pool;
	unsigned long *h;
	unsigned long n, refused;
};

static void *freer_main(void *arg)
{
	struct freer *f = arg;
	unsigned long i;

	for (i = 0; i < f->n; i++)
		if (!zs_free_deferred(f->pool, f->h[i])) {
			zs_free(f->pool, f->h[i]);
			f->refused++;
		}
	return NULL;
}

static unsigned long *fill(struct zs_pool *pool, unsigned long n, unsigned long long seed)
{
	unsigned long *h = malloc(n * sizeof(*h)), i;
	unsigned long long s = seed | 1;

	CHECK(h);
	for (i = 0; i < n; i++) {
		size_t sz = 32 + t_rand(&s) % 3000;

		h[i] = zs_malloc(pool, sz);
		CHECKF(h[i], "zs_malloc(%zu): %s", sz, strerror(errno));
	}
	return h;
}

static void run(const char *name, bool grouped, struct zs_deferred_config *cfg)
{
	struct zs_pool *pool = zs_create_pool(name);
	unsigned long n = t_scale(120000), per = n / NR_THREADS, floor, peak, refused = 0, *h;
	struct zs_deferred_stats st;
	struct zs_pool_stats ps;
	struct freer f[NR_THREADS];
	unsigned int i;
	int r;

	CHECK(pool);
	floor = zs_get_total_pages(pool);
	r = zs_pool_enable_deferred_handles(pool, grouped, cfg);
	CHECKF(r == 0, "enable: %d", r);
	h = fill(pool, per * NR_THREADS, 42);
	peak = zs_get_total_pages(pool);
	for (i = 0; i < NR_THREADS; i++) {
		f[i] = (struct freer){ .pool = pool, .h = h + i * per, .n = per };
		CHECK(pthread_create(&f[i].tid, NULL, freer_main, &f[i]) == 0);
	}
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(f[i].tid, NULL);
		refused += f[i].refused;
	}
	zs_deferred_flush(pool);
	zs_pool_stats(pool, &ps);
	zs_deferred_get_stats(pool, &st);
	printf("%-18s %lu frees: deferred %llu, refused %lu, drains %llu, pages %lu -> %lu "
	       "(floor %lu), rseq %d\n", name, per * NR_THREADS, (unsigned long long)st.pushed,
	       refused, (unsigned long long)st.drain_calls, peak, ps.total_pages, floor,
	       st.rseq);
	CHECK(st.pushed + refused == per * NR_THREADS);
	CHECK(st.fallbacks == refused);
	CHECK(st.fallbacks == st.fallbacks_busy + st.fallbacks_nospare);
	CHECK(st.drained == st.pushed);
	CHECKF(ps.objs_used == 0, "%lu objects still live after flush", ps.objs_used);
	CHECKF(zs_get_total_pages(pool) == floor, "pages %lu, floor %lu",
	       zs_get_total_pages(pool), floor);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
	free(h);
}

/* zs_destroy_pool() with deferred frees still sitting in buffers. */
static void destroy_pending(void)
{
	struct zs_deferred_config cfg = { .max_delay_us = 60000000 };
	struct zs_pool *pool = zs_create_pool("pending");
	unsigned long *h, i, n = 3000;

	CHECK(pool);
	CHECK(zs_pool_enable_deferred_handles(pool, true, &cfg) == 0);
	h = fill(pool, n, 7);
	for (i = 0; i < n; i++)
		if (!zs_free_deferred(pool, h[i]))
			zs_free(pool, h[i]);
	/* teardown drains first (ASan/valgrind would see a use after free otherwise) */
	zs_destroy_pool(pool);
	free(h);
}

static void api_errors(void)
{
	struct zs_deferred_config cfg = { .mode = ZS_DEFER_PER_CLASS };
	struct zs_deferred_stats st;
	struct zs_pool *pool = zs_create_pool("api");

	CHECK(pool);
	CHECK(!zs_free_deferred(pool, 1));		/* not enabled */
	zs_deferred_flush(pool);			/* no-op */
	zs_deferred_get_stats(pool, &st);
	CHECK(st.pushed == 0 && !st.rseq);
	CHECK(zs_pool_enable_deferred_free(pool, NULL, NULL) == -EINVAL);
	CHECK(zs_pool_enable_deferred_free_ex(pool, &t_ops, &t_tab, &cfg) == -EINVAL);
	CHECK(zs_pool_enable_deferred_free(pool, &t_ops, &t_tab) == 0);
	CHECK(zs_pool_enable_deferred_free(pool, &t_ops, &t_tab) == -EBUSY);
	CHECK(zs_pool_enable_deferred_handles(pool, true, NULL) == -EBUSY);
	CHECK(zs_free_deferred(pool, 5));
	zs_deferred_flush(pool);
	CHECK(t_tab.hits[5] == 1);
	zs_destroy_pool(pool);

	pool = zs_create_pool("sync");
	cfg.mode = ZS_DEFER_SYNC;
	CHECK(zs_pool_enable_deferred_handles(pool, true, &cfg) == 0);
	CHECK(!zs_free_deferred(pool, 1));
	zs_deferred_get_stats(pool, &st);
	CHECK(st.fallbacks == 1 && st.fallbacks_nospare == 1);
	zs_destroy_pool(pool);
}

int main(void)
{
	struct zs_deferred_config cfg = { 0 };

	t_table_init(64);
	api_errors();
	run("percpu-grouped", true, &cfg);
	run("percpu-plain", false, &cfg);
	cfg.spare_pages = 1;
	cfg.spare_pages_max = 1;	/* no growth: the pool runs dry */
	run("percpu-dry", true, &cfg);
	cfg.spare_pages = 0;
	cfg.spare_pages_max = 0;
	cfg.no_rseq = true;
	run("percpu-norseq", true, &cfg);
	cfg.no_rseq = false;
	cfg.mode = ZS_DEFER_PER_CLASS;
	run("per-class", true, &cfg);
	cfg.mode = ZS_DEFER_V2_ARRAY;
	run("v2-array", true, &cfg);
	cfg.mode = ZS_DEFER_SYNC;
	run("sync", true, &cfg);
	destroy_pending();
	free(t_tab.hits);
	return T_PASS;
}
