/* SPDX-License-Identifier: MIT */
/*
 * Invalidate with and without deferral reaches the same state: the same sequence of
 * stores, invalidates, re-stores and loads on two caches, one synchronous and one
 * deferred, gives the same counters and the same contents once zswap_flush returns.
 * The slot is emptied at once even when the free is deferred: a load right after the
 * invalidate misses and a store right after it is what a load returns.
 */
#define _GNU_SOURCE
#include "zswap_test_util.h"

#define NR	4096

static struct zswap *setup(bool deferred, unsigned int mode)
{
	struct zswap_config cfg = { .max_pool_bytes = 256ull << 20,
				    .deferred_invalidate = deferred };
	struct zswap *zs;

	cfg.defer.mode = (enum zs_deferred_mode)mode;
	zs = t_zswap(&cfg);
	CHECK(zswap_swapon(zs, 0, NR, -1) == 0);
	return zs;
}

static void workload(struct zswap *zs)
{
	unsigned char in[PG], out[PG];
	unsigned long long seed = 42;
	uint64_t off;

	for (off = 0; off < NR; off++) {
		if (off % 17 == 0)
			memset(in, 0, PG);
		else
			t_vpage(in, off, 1, (unsigned)off % 5);
		CHECK(zswap_store(zs, 0, off, in) == 0);
	}
	/* Invalidate three quarters in a scattered order (the exit path). */
	for (off = 0; off < NR; off++) {
		if (off % 4 == 3)
			continue;
		zswap_invalidate(zs, 0, off);
		/* The slot is empty right away, whatever happens to the memory later. */
		if (t_rand(&seed) % 8 == 0)
			CHECK(zswap_load(zs, 0, off, out) == -ENOENT);
	}
	/* Invalidate of an empty slot is harmless. */
	zswap_invalidate(zs, 0, 0);
	zswap_invalidate(zs, 0, 0);
	/* Re-store some invalidated slots immediately. */
	for (off = 0; off < NR; off += 8) {
		t_vpage(in, off, 2, 1);
		CHECK(zswap_store(zs, 0, off, in) == 0);
	}
	/* Load a few. */
	for (off = 0; off < NR; off += 64) {
		CHECK(zswap_load(zs, 0, off, out) == 0);
		t_vpage(in, off, 2, 1);
		CHECK(!memcmp(in, out, PG));
	}
}

static void check_contents(struct zswap *zs)
{
	unsigned char in[PG], out[PG];

	for (uint64_t off = 0; off < NR; off++) {
		int ret = zswap_load(zs, 0, off, out);

		if (off % 64 == 0) {
			CHECK(ret == -ENOENT);
		} else if (off % 8 == 0) {
			CHECK(ret == 0);
			t_vpage(in, off, 2, 1);
			CHECK(!memcmp(in, out, PG));
		} else if (off % 4 == 3) {
			CHECK(ret == 0);
			if (off % 17 == 0)
				memset(in, 0, PG);
			else
				t_vpage(in, off, 1, (unsigned)off % 5);
			CHECK(!memcmp(in, out, PG));
		} else {
			CHECK(ret == -ENOENT);
		}
	}
}

/*
 * Same entries, same counters. The pool's page count may differ: a deferred free
 * happens later, so re-stores cannot reuse the slots yet and land elsewhere. The live
 * objects must be the same number.
 */
static void same(struct zswap *za, struct zswap *zb)
{
	struct zswap_stats sa = t_stats(za), sb = t_stats(zb);
	const struct zswap_stats *a = &sa, *b = &sb;
	struct zs_pool_stats pa, pb;

	zs_pool_stats(zswap_pool(za), &pa);
	zs_pool_stats(zswap_pool(zb), &pb);
	CHECKF(pa.objs_used == pb.objs_used, "objects %lu vs %lu", pa.objs_used, pb.objs_used);
	CHECK(a->stored_pages == b->stored_pages);
	CHECK(a->zero_pages == b->zero_pages);
	CHECK(a->stored_incompressible_pages == b->stored_incompressible_pages);
	CHECK(a->reject_alloc_fail == 0 && b->reject_alloc_fail == 0);
}

int main(void)
{
	static const unsigned int modes[] = { ZS_DEFER_PERCPU, ZS_DEFER_V2_ARRAY, ZS_DEFER_SYNC };
	struct zswap *sync = setup(false, 0);
	struct zswap_stats s1, s2;

	workload(sync);
	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct zswap *def = setup(true, modes[i]);

		workload(def);
		zswap_flush(def);
		s2 = t_stats(def);
		same(sync, def);
		CHECK(zswap_check(def) == 0);
		if (modes[i] == ZS_DEFER_SYNC)
			CHECK(s2.deferred_invalidates == 0);
		check_contents(def);
		zswap_flush(def);
		s2 = t_stats(def);
		CHECK(s2.stored_pages == 0 && s2.pool_total_size == 0);
		zswap_destroy(def);
	}
	CHECK(zswap_check(sync) == 0);
	check_contents(sync);
	s1 = t_stats(sync);
	CHECK(s1.stored_pages == 0 && s1.pool_total_size == 0);
	CHECK(s1.deferred_invalidates == 0);
	zswap_destroy(sync);

	/* Destroy with invalidates still queued: nothing leaks (ASan) or is freed twice. */
	{
		struct zswap *def = setup(true, ZS_DEFER_PERCPU);

		workload(def);
		CHECK(t_stats(def).deferred_invalidates > 0);
		zswap_destroy(def);
	}
	return T_PASS;
}
