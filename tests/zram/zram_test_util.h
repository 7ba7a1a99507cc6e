/* SPDX-License-Identifier: MIT */
/* Helpers shared by the zram tests. */
#ifndef ZSMEM_ZRAM_TEST_UTIL_H
#define ZSMEM_ZRAM_TEST_UTIL_H

#include <string.h>

#include <zsmem/zram.h>

#include "zsmem_test.h"
#include "zram_pages.h"

static inline struct zram *zt_create(const char *algo, int level, uint32_t pages,
				     enum zram_free_mode mode)
{
	struct zram_config cfg;
	struct zram *z;

	memset(&cfg, 0, sizeof(cfg));
	cfg.disksize = (uint64_t)pages * 4096;
	cfg.comp_algorithm = algo;
	cfg.comp_level = level;
	cfg.free_mode = mode;
	z = zram_create(&cfg);
	CHECKF(z, "zram_create(%s, %u pages, %s): %s", algo ? algo : "default", pages,
	       zram_free_mode_name(mode), zram_last_error());
	return z;
}

/*
 * Recounts the slot table and checks it against the statistics:
 * orig_data_size == pages_stored * 4096, compr_data_size == sum of stored sizes,
 * same_pages, huge_pages, bd_count. Returns the number of slots in memory.
 */
static inline uint64_t zt_check_stats(struct zram *z)
{
	struct zram_mm_stat mm;
	struct zram_bd_stat bd;
	struct zram_ext_stat ext;
	uint64_t stored = 0, compr = 0, same = 0, huge = 0, wb = 0, idle = 0;

	for (uint32_t i = 0; i < zram_nr_pages(z); i++) {
		struct zram_slot_info si;

		CHECK(zram_get_slot_info(z, i, &si) == 0);
		if (!si.allocated)
			continue;
		idle += si.idle;
		if (si.wb) {
			wb++;
			continue;
		}
		stored++;
		same += si.same;
		huge += si.huge;
		if (!si.same)
			compr += si.size;
		if (si.huge)
			CHECK(si.size == 4096);
	}
	zram_get_mm_stat(z, &mm);
	zram_get_bd_stat(z, &bd);
	zram_get_ext_stat(z, &ext);
	CHECKF(mm.orig_data_size == stored * 4096, "orig %llu stored %llu",
	       (unsigned long long)mm.orig_data_size, (unsigned long long)stored);
	CHECKF(mm.compr_data_size == compr, "compr %llu counted %llu",
	       (unsigned long long)mm.compr_data_size, (unsigned long long)compr);
	CHECK(mm.same_pages == same);
	CHECK(mm.huge_pages == huge);
	CHECK(bd.bd_count == wb);
	CHECK(ext.pages_stored == stored);
	CHECK(ext.idle_pages == idle);
	CHECK(mm.mem_used_max >= mm.mem_used_total);
	CHECK(zs_pool_check(zram_pool(z)) == 0);
	return stored;
}

#endif
