/* SPDX-License-Identifier: MIT */
/* Same-filled pages take no pool memory; incompressible pages are stored raw. */
#include "zram_test_util.h"

int main(void)
{
	static unsigned char page[4096], out[4096];
	struct zram *z = zt_create("lz4", 0, 512, ZRAM_FREE_SYNC);
	struct zram_mm_stat mm;
	struct zram_slot_info si;

	/* 256 same-filled pages: zero, and repeated words. */
	for (uint32_t i = 0; i < 256; i++) {
		unsigned long v = i % 2 ? 0 : 0x0101010101010101ul * i;

		for (int k = 0; k < 512; k++)
			((unsigned long *)page)[k] = v;
		CHECK(zram_write_page(z, i, page) == 0);
		CHECK(zram_get_slot_info(z, i, &si) == 0);
		CHECK(si.allocated && si.same && si.value == v && si.size == 0);
	}
	zram_get_mm_stat(z, &mm);
	CHECK(mm.same_pages == 256 && mm.orig_data_size == 256 * 4096);
	CHECK(mm.compr_data_size == 0 && mm.mem_used_total == 0);
	for (uint32_t i = 0; i < 256; i++) {
		unsigned long v = i % 2 ? 0 : 0x0101010101010101ul * i;

		CHECK(zram_read_page(z, i, out) == 0);
		for (int k = 0; k < 512; k++)
			CHECK(((unsigned long *)out)[k] == v);
	}
	/* A page that differs only in its last byte is not same-filled. */
	memset(page, 0, sizeof(page));
	page[4095] = 1;
	CHECK(zram_write_page(z, 300, page) == 0);
	CHECK(zram_get_slot_info(z, 300, &si) == 0 && !si.same && !si.huge && si.size > 0);
	CHECK(zram_read_page(z, 300, out) == 0 && !memcmp(page, out, 4096));

	/* 128 random pages: huge, 4096 bytes each, in the huge class. */
	for (uint32_t i = 256; i < 384; i++) {
		zpg_fill(page, 9, i, 100, 0);
		CHECK(zram_write_page(z, i, page) == 0);
		CHECK(zram_get_slot_info(z, i, &si) == 0);
		CHECK(si.huge && si.size == 4096);
	}
	zram_get_mm_stat(z, &mm);
	CHECK(mm.huge_pages == 128 && mm.huge_pages_since == 128);
	CHECK(mm.compr_data_size >= 128 * 4096);
	for (uint32_t i = 256; i < 384; i++) {
		zpg_fill(page, 9, i, 100, 0);
		CHECK(zram_read_page(z, i, out) == 0 && !memcmp(page, out, 4096));
	}
	/* Replacing a huge page with a same page: huge_pages drops, huge_pages_since not. */
	memset(page, 0, sizeof(page));
	CHECK(zram_write_page(z, 256, page) == 0);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.huge_pages == 127 && mm.huge_pages_since == 128 && mm.same_pages == 257);
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
