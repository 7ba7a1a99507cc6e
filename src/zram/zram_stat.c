/* SPDX-License-Identifier: MIT */
/*
 * Statistics, and their text exactly as the kernel's sysfs files read (checked against
 * /sys/block/zram0 on Linux 6.18): every field "%8llu", one space between fields.
 * io_stat's third column is the kernel's old invalid_io, which it now prints as a bare
 * "0": we print our count there unpadded, so the line is identical while it is 0.
 * debug_stat's second line starts with the retired writestall column, a bare "0".
 */
#include <string.h>

#include "zram_internal.h"

#define R(x) zsm_load_relaxed(&zram->stats.x)

ZS_API void zram_get_mm_stat(struct zram *zram, struct zram_mm_stat *st)
{
	struct zs_pool_stats ps;

	zs_pool_stats(zram->pool, &ps);
	st->orig_data_size = R(pages_stored) * ZSM_PAGE_SIZE;
	st->compr_data_size = R(compr_data_size);
	st->mem_used_total = (uint64_t)ps.total_pages * ZSM_PAGE_SIZE;
	st->mem_limit = zsm_load_relaxed(&zram->limit_pages) * ZSM_PAGE_SIZE;
	_zram_update_used_max(zram, ps.total_pages);
	st->mem_used_max = R(max_used_pages) * ZSM_PAGE_SIZE;
	st->same_pages = R(same_pages);
	st->pages_compacted = ps.pages_compacted;
	st->huge_pages = R(huge_pages);
	st->huge_pages_since = R(huge_pages_since);
}

ZS_API void zram_get_io_stat(struct zram *zram, struct zram_io_stat *st)
{
	st->failed_reads = R(failed_reads);
	st->failed_writes = R(failed_writes);
	st->invalid_io = R(invalid_io);
	st->notify_free = zram_sum_notify_free(zram);
}

ZS_API void zram_get_bd_stat(struct zram *zram, struct zram_bd_stat *st)
{
	st->bd_count = R(bd_count);
	st->bd_reads = R(bd_reads);
	st->bd_writes = R(bd_writes);
}

ZS_API void zram_get_debug_stat(struct zram *zram, struct zram_debug_stat *st)
{
	st->miss_free = R(miss_free);
}

ZS_API void zram_get_ext_stat(struct zram *zram, struct zram_ext_stat *st)
{
	st->pages_stored = R(pages_stored);
	st->num_reads = R(num_reads);
	st->num_writes = R(num_writes);
	st->notify_deferred = 0;
	st->notify_fallback = 0;
	if (zram->free_mode != ZRAM_FREE_SYNC) {
		struct zs_deferred_stats ds;

		zs_deferred_get_stats(zram->pool, &ds);
		st->notify_deferred = ds.pushed;
		st->notify_fallback = ds.fallbacks;
	}
	st->drained_slots = R(drained_slots);
	st->drain_stale = R(drain_stale);
	st->wb_pages = R(bd_count);
	st->recompressed = R(recompressed);
	st->incompressible = R(incompressible);
	st->idle_pages = R(idle_pages);
}

#undef R

typedef unsigned long long ull;

ZS_API int zram_format_mm_stat(const struct zram_mm_stat *st, char *buf, size_t size)
{
	return snprintf(buf, size, "%8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu %8llu\n",
			(ull)st->orig_data_size, (ull)st->compr_data_size,
			(ull)st->mem_used_total, (ull)st->mem_limit, (ull)st->mem_used_max,
			(ull)st->same_pages, (ull)st->pages_compacted, (ull)st->huge_pages,
			(ull)st->huge_pages_since);
}

ZS_API int zram_format_io_stat(const struct zram_io_stat *st, char *buf, size_t size)
{
	return snprintf(buf, size, "%8llu %8llu %llu %8llu\n", (ull)st->failed_reads,
			(ull)st->failed_writes, (ull)st->invalid_io, (ull)st->notify_free);
}

ZS_API int zram_format_bd_stat(const struct zram_bd_stat *st, char *buf, size_t size)
{
	return snprintf(buf, size, "%8llu %8llu %8llu\n", (ull)st->bd_count,
			(ull)st->bd_reads, (ull)st->bd_writes);
}

ZS_API int zram_format_debug_stat(const struct zram_debug_stat *st, char *buf, size_t size)
{
	return snprintf(buf, size, "version: %d\n0 %8llu\n", 1, (ull)st->miss_free);
}

ZS_API int zram_mm_stat_show(struct zram *zram, char *buf, size_t size)
{
	struct zram_mm_stat st;

	zram_get_mm_stat(zram, &st);
	return zram_format_mm_stat(&st, buf, size);
}

ZS_API int zram_io_stat_show(struct zram *zram, char *buf, size_t size)
{
	struct zram_io_stat st;

	zram_get_io_stat(zram, &st);
	return zram_format_io_stat(&st, buf, size);
}

ZS_API int zram_bd_stat_show(struct zram *zram, char *buf, size_t size)
{
	struct zram_bd_stat st;

	zram_get_bd_stat(zram, &st);
	return zram_format_bd_stat(&st, buf, size);
}

ZS_API int zram_debug_stat_show(struct zram *zram, char *buf, size_t size)
{
	struct zram_debug_stat st;

	zram_get_debug_stat(zram, &st);
	return zram_format_debug_stat(&st, buf, size);
}
