/* SPDX-License-Identifier: MIT */
/*
 * Recompression of idle / huge slots with a secondary algorithm: kept only in a smaller
 * class, else INCOMPRESSIBLE; pages read back with the slot's algorithm.
 */
#include "zram_test_util.h"

#define N 1024

static uint32_t pct(uint32_t i)
{
	return i % 8 == 0 ? 100 : 20;
}

static void check_all(struct zram *z)
{
	static unsigned char page[4096], out[4096];

	for (uint32_t i = 0; i < N; i++) {
		zpg_fill(page, 31, i, pct(i), 3);
		CHECK(zram_read_page(z, i, out) == 0);
		CHECKF(!memcmp(page, out, 4096), "slot %u", i);
	}
}

int main(void)
{
	static unsigned char page[4096];
	struct zram *z = zt_create("lz4", 0, N, ZRAM_FREE_SYNC);
	struct zram_mm_stat mm0, mm;
	struct zram_ext_stat ext;
	unsigned int old_class[N];
	int64_t n;

	for (uint32_t i = 0; i < N; i++) {
		struct zram_slot_info si;

		zpg_fill(page, 31, i, pct(i), 3);
		CHECK(zram_write_page(z, i, page) == 0);
		CHECK(zram_get_slot_info(z, i, &si) == 0);
		old_class[i] = si.zs_class;
	}
	zram_get_mm_stat(z, &mm0);
	CHECK(zram_recompress(z, ZRAM_RECOMP_ALL, NULL, 0, 0) == -EINVAL);
	CHECK(zram_set_recomp_algorithm(z, 0, "zstd", 0) == -EINVAL);
	CHECK(zram_set_recomp_algorithm(z, 1, "nosuch", 0) == -EINVAL);

	/* Nothing idle yet: nothing to do. */
	CHECK(zram_recompress(z, ZRAM_RECOMP_IDLE, "zstd", 9, 0) == 0);
	/* Huge pages: the random ones cannot shrink and become INCOMPRESSIBLE; huge pages
	 * of mixed data may fit below the huge class with zstd. */
	n = zram_recompress(z, ZRAM_RECOMP_HUGE, "zstd", 9, 0);
	zram_get_ext_stat(z, &ext);
	zram_get_mm_stat(z, &mm);
	printf("huge: %llu, recompressed %lld, incompressible %llu\n",
	       (unsigned long long)mm0.huge_pages, (long long)n,
	       (unsigned long long)ext.incompressible);
	CHECK(ext.incompressible >= N / 10);
	CHECK(ext.incompressible + (uint64_t)n == mm0.huge_pages);
	CHECK(mm.huge_pages == ext.incompressible);
	zt_check_stats(z);

	{
		uint64_t n_huge = (uint64_t)n;

		zram_mark_idle(z, 0);
		n = zram_recompress(z, ZRAM_RECOMP_IDLE, "zstd", 9, 0);
	zram_get_mm_stat(z, &mm);
	zram_get_ext_stat(z, &ext);
	printf("recompressed %lld slots: compr %llu -> %llu, used %llu -> %llu, "
	       "incompressible %llu\n", (long long)n,
	       (unsigned long long)mm0.compr_data_size, (unsigned long long)mm.compr_data_size,
	       (unsigned long long)mm0.mem_used_total, (unsigned long long)mm.mem_used_total,
	       (unsigned long long)ext.incompressible);
	CHECK(n > 0 && ext.recompressed == (uint64_t)n + n_huge);
	}
	CHECK(mm.compr_data_size < mm0.compr_data_size);
	for (uint32_t i = 0; i < N; i++) {
		struct zram_slot_info si;

		CHECK(zram_get_slot_info(z, i, &si) == 0);
		if (si.prio == 1)
			CHECKF(si.zs_class < old_class[i], "slot %u class %u -> %u", i,
			       old_class[i], si.zs_class);
		else if (!si.same)
			CHECK(si.zs_class == old_class[i] && si.incompressible);
		CHECK(si.idle);		/* recompression is not an access */
	}
	zt_check_stats(z);
	check_all(z);
	/* Priority 1 is in use: it cannot be replaced. */
	CHECK(zram_set_recomp_algorithm(z, 1, "lzo", 0) == -EBUSY);
	/* A second pass has nothing left to gain. */
	CHECK(zram_recompress(z, ZRAM_RECOMP_ALL, "zstd", 9, 0) == 0);
	/* Rewriting clears INCOMPRESSIBLE and the priority. */
	zpg_fill(page, 31, 0, pct(0), 3);
	CHECK(zram_write_page(z, 0, page) == 0);
	zt_check_stats(z);
	CHECK(zram_discard(z, 0, N) == 0);
	zram_get_ext_stat(z, &ext);
	CHECK(ext.incompressible == 0);
	CHECK(zram_set_recomp_algorithm(z, 1, "lzo", 0) == 0);
	zram_destroy(z);
	return T_PASS;
}
