/* SPDX-License-Identifier: MIT */
/*
 * The pool limit with hysteresis, no shrinker. Raw (random) pages take exactly one pool
 * page each, so the pool size is known page by page: with a 100-page limit and a 90%
 * threshold, stores succeed up to 100 pages, the next is rejected (pool_limit_hit),
 * stores stay rejected while the pool is above 90 pages (reject_pool_full) and are
 * accepted again at 90. Also the limit computed from ram_bytes and max_pool_percent.
 */
#define _GNU_SOURCE
#include "zswap_test_util.h"

#define LIMIT	100
#define NR	256

int main(void)
{
	struct zswap_config cfg = { .max_pool_bytes = LIMIT * PG, .accept_threshold_percent = 90 };
	unsigned char in[PG], out[PG];
	struct zswap_stats st;
	struct zswap *zs = t_zswap(&cfg);
	uint64_t off;
	int ret;

	st = t_stats(zs);
	CHECK(st.max_pool_bytes == LIMIT * PG);
	CHECK(st.accept_pool_bytes == 90 * PG);

	CHECK(zswap_swapon(zs, 0, NR, -1) == 0);
	for (off = 0; off < LIMIT; off++) {
		t_vpage(in, off, 1, 3);
		CHECKF((ret = zswap_store(zs, 0, off, in)) == 0, "store %llu: %d",
		       (unsigned long long)off, ret);
	}
	CHECK(t_stats(zs).pool_total_size == LIMIT * PG);

	/* Full: rejected, counted, and the slot's old content is dropped. */
	t_vpage(in, 200, 1, 0);
	CHECK(zswap_store(zs, 0, 200, in) == -ENOSPC);
	t_vpage(in, 3, 2, 3);
	CHECK(zswap_store(zs, 0, 3, in) == -ENOSPC);
	CHECK(zswap_load(zs, 0, 3, out) == -ENOENT);
	st = t_stats(zs);
	CHECK(st.pool_limit_hit == 2);
	CHECK(st.stored_pages == LIMIT - 1);
	CHECK(st.pool_total_size == (LIMIT - 1) * PG);

	/* Zero pages need no pool memory and are accepted even now. */
	memset(in, 0, PG);
	CHECK(zswap_store(zs, 0, 201, in) == 0);

	/* 99 pages: below the limit but above the threshold: still rejected. */
	t_vpage(in, 202, 1, 3);
	CHECK(zswap_store(zs, 0, 202, in) == -ENOSPC);
	st = t_stats(zs);
	CHECK(st.pool_limit_hit == 2);
	CHECK(st.reject_pool_full == 1);

	/* Load down to 91 pages: still rejected. */
	for (off = 4; off < 12; off++)
		CHECK(zswap_load(zs, 0, off, out) == 0);
	CHECK(t_stats(zs).pool_total_size == 91 * PG);
	CHECK(zswap_store(zs, 0, 202, in) == -ENOSPC);
	CHECK(t_stats(zs).reject_pool_full == 2);

	/* 90 = the threshold: accepted again, until the limit. */
	CHECK(zswap_load(zs, 0, 12, out) == 0);
	for (off = 202; off < 212; off++) {
		t_vpage(in, off, 1, 3);
		CHECK(zswap_store(zs, 0, off, in) == 0);
	}
	CHECK(t_stats(zs).pool_total_size == LIMIT * PG);
	CHECK(zswap_store(zs, 0, 212, in) == -ENOSPC);
	st = t_stats(zs);
	CHECK(st.pool_limit_hit == 3);
	CHECK(st.reject_pool_full == 2);
	CHECK(st.written_back_pages == 0);

	/* Invalidate also brings the pool back under the threshold. */
	for (off = 13; off < 23; off++)
		zswap_invalidate(zs, 0, off);
	t_vpage(in, 212, 1, 3);
	CHECK(zswap_store(zs, 0, 212, in) == 0);
	zswap_destroy(zs);

	/* Limit from a stated RAM size: 1 GiB * 20% by default, 10% when asked. */
	{
		struct zswap_config c2 = { .ram_bytes = 1ull << 30 };

		zs = t_zswap(&c2);
		st = t_stats(zs);
		CHECK(st.max_pool_bytes == (1ull << 30) / 100 * 20 / PG * PG ||
		      st.max_pool_bytes / PG == (1ull << 30) / PG * 20 / 100);
		CHECK(st.accept_pool_bytes / PG == st.max_pool_bytes / PG * 90 / 100);
		zswap_destroy(zs);
		c2.max_pool_percent = 10;
		c2.accept_threshold_percent = 50;
		zs = t_zswap(&c2);
		st = t_stats(zs);
		CHECK(st.max_pool_bytes / PG == (1ull << 30) / PG * 10 / 100);
		CHECK(st.accept_pool_bytes / PG == st.max_pool_bytes / PG / 2);
		zswap_destroy(zs);
		/* Physical RAM: just something sane. */
		zs = t_zswap(NULL);
		CHECK(t_stats(zs).max_pool_bytes > 0);
		zswap_destroy(zs);
	}
	return T_PASS;
}
