/* SPDX-License-Identifier: MIT */
/* Round trips of page-like data through every compressor, overwrites included, with
 * the statistics recounted after each phase. */
#include <stdlib.h>

#include "zram_test_util.h"

#define NPAGES 2048

static void run(const char *algo, int level)
{
	static unsigned char page[4096], out[4096];
	struct zram *z = zt_create(algo, level, NPAGES, ZRAM_FREE_DEFAULT);
	struct zram_mm_stat mm;
	uint64_t huge_since;

	for (uint32_t i = 0; i < NPAGES; i++) {
		zpg_fill(page, 1, i, i % 7 == 0 ? 100 : 10, 5);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	for (uint32_t i = 0; i < NPAGES; i++) {
		zpg_fill(page, 1, i, i % 7 == 0 ? 100 : 10, 5);
		CHECK(zram_read_page(z, i, out) == 0);
		CHECKF(!memcmp(page, out, 4096), "%s: page %u differs", algo, i);
	}
	CHECK(zt_check_stats(z) == NPAGES);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.huge_pages > 0 && mm.huge_pages == mm.huge_pages_since);
	CHECK(mm.compr_data_size < mm.orig_data_size);
	huge_since = mm.huge_pages_since;
	printf("%-5s: orig %llu compr %llu used %llu (%.3f of compr) same %llu huge %llu\n",
	       algo, (unsigned long long)mm.orig_data_size,
	       (unsigned long long)mm.compr_data_size, (unsigned long long)mm.mem_used_total,
	       (double)mm.mem_used_total / (double)mm.compr_data_size,
	       (unsigned long long)mm.same_pages, (unsigned long long)mm.huge_pages);

	/* Overwrite every page with another stream: old objects must all be freed. */
	for (uint32_t i = 0; i < NPAGES; i++) {
		zpg_fill(page, 2, i, 10, 5);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	for (uint32_t i = 0; i < NPAGES; i++) {
		zpg_fill(page, 2, i, 10, 5);
		CHECK(zram_read_page(z, i, out) == 0);
		CHECK(!memcmp(page, out, 4096));
	}
	CHECK(zt_check_stats(z) == NPAGES);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.huge_pages_since == huge_since);
	CHECK(mm.huge_pages == 0);

	/* An empty slot reads as zeros. */
	CHECK(zram_discard(z, 5, 1) == 0);
	memset(out, 0xff, sizeof(out));
	CHECK(zram_read_page(z, 5, out) == 0);
	for (int i = 0; i < 4096; i++)
		CHECK(out[i] == 0);
	zram_destroy(z);
}

int main(void)
{
	run(NULL, 0);
	run("lz4", 0);
	run("zstd", 3);
	run("zstd", 1);
	run("lzo", 0);
	run("lzo-rle", 0);
	return T_PASS;
}
