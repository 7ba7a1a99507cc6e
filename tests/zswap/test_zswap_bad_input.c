/* SPDX-License-Identifier: MIT */
/* Bad input: -EINVAL for unknown types and offsets past nr_pages, -ENOENT for absent
 * entries, -EBUSY for a second swapon, EINVAL from zswap_create for bad configs. */
#define _GNU_SOURCE
#include "zswap_test_util.h"

int main(void)
{
	struct zswap_config cfg = { 0 };
	unsigned char in[PG], out[PG];
	struct zswap_stats st;
	struct zswap *zs;

	cfg.compressor = "no-such-compressor";
	errno = 0;
	CHECK(zswap_create(&cfg) == NULL && errno == EINVAL);
	cfg.compressor = NULL;
	cfg.max_pool_percent = 101;
	errno = 0;
	CHECK(zswap_create(&cfg) == NULL && errno == EINVAL);
	cfg.max_pool_percent = 0;
	cfg.accept_threshold_percent = 150;
	errno = 0;
	CHECK(zswap_create(&cfg) == NULL && errno == EINVAL);
	cfg.accept_threshold_percent = 0;
	cfg.zs_chain_size = 3;		/* the allocator accepts 4..16 */
	errno = 0;
	CHECK(zswap_create(&cfg) == NULL && errno == EINVAL);
	cfg.zs_chain_size = 0;

	zs = t_zswap(&cfg);
	t_vpage(in, 0, 1, 1);

	/* Nothing swapped on. */
	CHECK(zswap_store(zs, 0, 0, in) == -EINVAL);
	CHECK(zswap_load(zs, 0, 0, out) == -EINVAL);
	zswap_invalidate(zs, 0, 0);

	CHECK(zswap_swapon(zs, ZSWAP_MAX_TYPES, 10, -1) == -EINVAL);
	CHECK(zswap_swapon(zs, 0, 0, -1) == -EINVAL);
	CHECK(zswap_swapon(zs, 0, UINT64_MAX, -1) == -EINVAL);
	CHECK(zswap_swapon(zs, 0, 10, -1) == 0);
	CHECK(zswap_swapon(zs, 0, 10, -1) == -EBUSY);
	CHECK(zswap_swapon(zs, ZSWAP_MAX_TYPES - 1, 1, -1) == 0);

	CHECK(zswap_store(zs, 0, 10, in) == -EINVAL);
	CHECK(zswap_store(zs, 0, UINT64_MAX, in) == -EINVAL);
	CHECK(zswap_store(zs, 1, 0, in) == -EINVAL);
	CHECK(zswap_store(zs, ZSWAP_MAX_TYPES, 0, in) == -EINVAL);
	CHECK(zswap_store(zs, 0, 0, NULL) == -EINVAL);
	CHECK(zswap_store(NULL, 0, 0, in) == -EINVAL);
	CHECK(zswap_load(zs, 0, 10, out) == -EINVAL);
	CHECK(zswap_load(zs, 7, 0, out) == -EINVAL);
	CHECK(zswap_load(zs, 0, 0, NULL) == -EINVAL);
	CHECK(zswap_load(zs, 0, 0, out) == -ENOENT);
	zswap_invalidate(zs, 0, 10);
	zswap_invalidate(zs, 99, 0);
	zswap_invalidate(NULL, 0, 0);
	zswap_swapoff(zs, 5);
	zswap_swapoff(zs, 999);

	CHECK(zswap_store(zs, ZSWAP_MAX_TYPES - 1, 0, in) == 0);
	CHECK(zswap_store(zs, 0, 9, in) == 0);
	CHECK(zswap_load(zs, 0, 9, out) == 0 && !memcmp(in, out, PG));
	CHECK(zswap_load(zs, 0, 9, out) == -ENOENT);
	st = t_stats(zs);
	CHECK(st.stored_pages == 1);

	/* After swapoff the type is unknown again, and can be swapped on anew. */
	CHECK(zswap_store(zs, 0, 3, in) == 0);
	zswap_swapoff(zs, 0);
	CHECK(zswap_load(zs, 0, 3, out) == -EINVAL);
	CHECK(t_stats(zs).stored_pages == 1);
	CHECK(zswap_swapon(zs, 0, 4, -1) == 0);
	CHECK(zswap_load(zs, 0, 3, out) == -ENOENT);
	CHECK(zswap_writeback(zs, 0) == 0);
	CHECK(zswap_writeback(NULL, 5) == 0);

	/* The debugfs-style dump has one "name value" line per counter. */
	{
		char buf[4096] = { 0 };
		FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

		CHECK(f);
		zswap_print_stats(zs, f);
		fclose(f);
		CHECK(strstr(buf, "pool_limit_hit 0\n"));
		CHECK(strstr(buf, "stored_pages 1\n"));
		CHECK(strstr(buf, "pool_total_size "));
		CHECK(strstr(buf, "stored_incompressible_pages 0\n"));
	}
	CHECK(zswap_pool(zs) != NULL);
	zswap_destroy(zs);
	zswap_destroy(NULL);
	return T_PASS;
}
