// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12): NULL device or pool pointers segfaulted in zram and zsmalloc
 * while zswap checked them. One rule now holds for the whole API (zsmem/zsmalloc.h):
 * int -> -EINVAL, pointer or handle -> NULL / 0 with errno EINVAL, bool -> false,
 * sizes and counts -> 0, statistics zeroed, void (destroy included) -> nothing.
 */
#include <stdio.h>

#include <zsmem/lab.h>
#include <zsmem/zram.h>
#include <zsmem/zswap.h>

#include "regress_ops.h"

static const struct zs_deferred_ops ops = { .push = t_push_ul, .drain = t_drain_ul };

#define ZEROED(st) do {							\
		memset(&(st), 0xa5, sizeof(st));			\
	} while (0)

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void zsmalloc_null(void)
{
	struct zs_pool_stats ps;
	struct zs_class_stats rows[4];
	struct zs_deferred_stats ds;
	unsigned long h = 1;
	char buf[64];

	errno = 0;
	CHECK(zs_malloc(NULL, 100) == 0 && errno == EINVAL);
	zs_free(NULL, 1234);
	zs_free_batch(NULL, &h, 1);
	CHECK(zs_obj_write(NULL, 1, buf, 8) == -EINVAL);
	CHECK(zs_obj_read(NULL, 1, buf, 8) == -EINVAL);
	errno = 0;
	CHECK(zs_obj_read_begin(NULL, 1, 8, buf) == NULL && errno == EINVAL);
	zs_obj_read_end(NULL, 1, buf);
	CHECK(zs_handle_class(NULL, 1) == ZS_NR_SIZE_SLOTS);
	CHECK(zs_pool_name(NULL) == NULL);
	CHECK(zs_huge_class_size(NULL) == 0);
	CHECK(zs_get_total_pages(NULL) == 0);
	CHECK(zs_compact(NULL) == 0);
	ZEROED(ps);
	zs_pool_stats(NULL, &ps);
	CHECK(all_zero(&ps, sizeof(ps)));
	CHECK(zs_class_stats(NULL, rows, 4) == 0);
	zs_print_stats(NULL, stdout);
	CHECK(zs_pool_check(NULL) == -EINVAL);
	zs_destroy_pool(NULL);

	CHECK(zs_pool_enable_deferred_free(NULL, &ops, NULL) == -EINVAL);
	CHECK(zs_pool_enable_deferred_free_ex(NULL, &ops, NULL, NULL) == -EINVAL);
	CHECK(zs_pool_enable_deferred_handles(NULL, true, NULL) == -EINVAL);
	CHECK(!zs_free_deferred(NULL, 5));
	zs_deferred_flush(NULL);
	ZEROED(ds);
	zs_deferred_get_stats(NULL, &ds);
	CHECK(all_zero(&ds, sizeof(ds)));

	/* Handle 0 on a real pool is no object either. */
	{
		struct zs_pool *pool = zs_create_pool("null");

		CHECK(pool);
		zs_free(pool, 0);
		CHECK(zs_obj_write(pool, 0, buf, 8) == -EINVAL);
		CHECK(zs_obj_read(pool, 0, buf, 8) == -EINVAL);
		CHECK(zs_pool_enable_deferred_free(pool, NULL, NULL) == -EINVAL);
		zs_pool_stats(pool, NULL);
		zs_deferred_get_stats(pool, NULL);
		zs_destroy_pool(pool);
	}
}

static void zram_null(void)
{
	static unsigned char page[4096];
	struct zram_mm_stat mm;
	struct zram_io_stat io;
	struct zram_bd_stat bd;
	struct zram_debug_stat dbg;
	struct zram_ext_stat ext;
	struct zram_slot_info si;
	char buf[256];

	errno = 0;
	CHECK(zram_create(NULL) == NULL && errno == EINVAL);
	zram_destroy(NULL);
	CHECK(zram_nr_pages(NULL) == 0);
	errno = 0;
	CHECK(zram_pool(NULL) == NULL && errno == EINVAL);
	CHECK(zram_get_free_mode(NULL) == ZRAM_FREE_DEFAULT);
	CHECK(zram_write_page(NULL, 0, page) == -EINVAL);
	CHECK(zram_write_partial(NULL, 0, 0, page, 16) == -EINVAL);
	CHECK(zram_get_extent(NULL, 0, 1, &(enum zram_extent_type){ ZRAM_EXTENT_EMPTY }) == -EINVAL);
	CHECK(zram_read_page(NULL, 0, page) == -EINVAL);
	CHECK(zram_discard(NULL, 0, 1) == -EINVAL);
	zram_slot_free_notify(NULL, 0);
	zram_flush(NULL);
	zram_reset(NULL);
	zram_set_mem_limit(NULL, 1 << 20);
	zram_reset_mem_used_max(NULL);
	CHECK(zram_mark_idle(NULL, 0) == 0);
	CHECK(zram_compact(NULL) == 0);
	CHECK(zram_set_backing_fd(NULL, -1, 0) == -EINVAL);
	CHECK(zram_writeback(NULL, ZRAM_WB_IDLE) == -EINVAL);
	CHECK(zram_writeback_slot(NULL, 0) == -EINVAL);
	CHECK(zram_set_recomp_algorithm(NULL, 1, "zstd", 0) == -EINVAL);
	CHECK(zram_recompress(NULL, ZRAM_RECOMP_ALL, "zstd", 0, 0) == -EINVAL);
	ZEROED(mm);
	zram_get_mm_stat(NULL, &mm);
	CHECK(all_zero(&mm, sizeof(mm)));
	ZEROED(io);
	zram_get_io_stat(NULL, &io);
	CHECK(all_zero(&io, sizeof(io)));
	ZEROED(bd);
	zram_get_bd_stat(NULL, &bd);
	CHECK(all_zero(&bd, sizeof(bd)));
	ZEROED(dbg);
	zram_get_debug_stat(NULL, &dbg);
	CHECK(all_zero(&dbg, sizeof(dbg)));
	ZEROED(ext);
	zram_get_ext_stat(NULL, &ext);
	CHECK(all_zero(&ext, sizeof(ext)));
	CHECK(zram_format_mm_stat(NULL, buf, sizeof(buf)) == -EINVAL);
	CHECK(zram_mm_stat_show(NULL, buf, sizeof(buf)) == -EINVAL);
	CHECK(zram_io_stat_show(NULL, buf, sizeof(buf)) == -EINVAL);
	CHECK(zram_bd_stat_show(NULL, buf, sizeof(buf)) == -EINVAL);
	CHECK(zram_debug_stat_show(NULL, buf, sizeof(buf)) == -EINVAL);
	CHECK(zram_get_slot_info(NULL, 0, &si) == -EINVAL);
	CHECK(zram_test_corrupt_slot(NULL, 0) == -EINVAL);

	/* NULL pages and outputs on a real device. */
	{
		struct zram_config cfg = { .disksize = 1 << 20 };
		struct zram *z = zram_create(&cfg);

		CHECK(z);
		CHECK(zram_write_page(z, 0, NULL) == -EINVAL);
		CHECK(zram_read_page(z, 0, NULL) == -EINVAL);
		CHECK(zram_get_slot_info(z, 0, NULL) == -EINVAL);
		zram_get_mm_stat(z, NULL);
		zram_destroy(z);
	}
}

static void zswap_null(void)
{
	static unsigned char page[4096];
	struct zswap_stats st;

	struct zswap *zs;

	/* A NULL config is the defaults (as zs_create_pool_ex's), not an error. */
	zs = zswap_create(NULL);
	CHECK(zs);
	zswap_destroy(zs);
	zswap_destroy(NULL);
	CHECK(zswap_swapon(NULL, 0, 16, -1) == -EINVAL);
	zswap_swapoff(NULL, 0);
	CHECK(zswap_store(NULL, 0, 0, page) == -EINVAL);
	CHECK(zswap_load(NULL, 0, 0, page) == -EINVAL);
	zswap_invalidate(NULL, 0, 0);
	zswap_flush(NULL);
	CHECK(zswap_writeback(NULL, 1) == 0);
	ZEROED(st);
	zswap_get_stats(NULL, &st);
	CHECK(all_zero(&st, sizeof(st)));
	zswap_get_stats(NULL, NULL);
	zswap_print_stats(NULL, stdout);
	CHECK(zswap_check(NULL) == -EINVAL);
	CHECK(zswap_pool(NULL) == NULL);
}

int main(void)
{
	zsmalloc_null();
	zram_null();
	zswap_null();
	printf("regress_null_pointer_segfault: ok\n");
	return T_PASS;
}
