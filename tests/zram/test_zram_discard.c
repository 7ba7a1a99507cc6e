/* SPDX-License-Identifier: MIT */
/* Discard of page ranges frees the slots and their memory; compaction afterwards. */
#include "zram_test_util.h"

#define N 4096

int main(void)
{
	static unsigned char page[4096], out[4096];
	struct zram *z = zt_create("lz4", 0, N, ZRAM_FREE_SYNC);
	struct zram_mm_stat mm, mm2;
	uint64_t seed = 77;

	for (uint32_t i = 0; i < N; i++) {
		zpg_fill(page, 4, i, 10, 3);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	zram_get_mm_stat(z, &mm);
	/* Discard a random half, in runs of 1..16 pages. */
	for (uint32_t i = 0; i < N;) {
		uint32_t run = 1 + (uint32_t)(zpg_next(&seed) % 16);

		if (run > N - i)
			run = N - i;
		if (zpg_next(&seed) & 1)
			CHECK(zram_discard(z, i, run) == 0);
		i += run;
	}
	zt_check_stats(z);
	zram_get_mm_stat(z, &mm2);
	CHECK(mm2.orig_data_size < mm.orig_data_size);
	CHECK(mm2.mem_used_total <= mm.mem_used_total);
	/* What stayed reads back; what went reads as zeros. */
	for (uint32_t i = 0; i < N; i++) {
		struct zram_slot_info si;

		CHECK(zram_get_slot_info(z, i, &si) == 0);
		CHECK(zram_read_page(z, i, out) == 0);
		if (si.allocated) {
			zpg_fill(page, 4, i, 10, 3);
			CHECK(!memcmp(page, out, 4096));
		} else {
			memset(page, 0, sizeof(page));
			CHECK(!memcmp(page, out, 4096));
		}
	}
	printf("before compact: used %llu compr %llu\n",
	       (unsigned long long)mm2.mem_used_total, (unsigned long long)mm2.compr_data_size);
	zram_compact(z);
	zram_get_mm_stat(z, &mm);
	printf("after compact:  used %llu compr %llu, compacted %llu\n",
	       (unsigned long long)mm.mem_used_total, (unsigned long long)mm.compr_data_size,
	       (unsigned long long)mm.pages_compacted);
	CHECK(mm.mem_used_total <= mm2.mem_used_total);
	CHECK(mm.pages_compacted * 4096 == mm2.mem_used_total - mm.mem_used_total);
	for (uint32_t i = 0; i < N; i++) {
		struct zram_slot_info si;

		CHECK(zram_get_slot_info(z, i, &si) == 0);
		if (!si.allocated)
			continue;
		zpg_fill(page, 4, i, 10, 3);
		CHECK(zram_read_page(z, i, out) == 0 && !memcmp(page, out, 4096));
	}
	CHECK(zram_discard(z, 0, N) == 0);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.orig_data_size == 0 && mm.compr_data_size == 0 && mm.same_pages == 0);
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
