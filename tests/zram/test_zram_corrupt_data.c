/* SPDX-License-Identifier: MIT */
/* Corrupt compressed data: the read fails with -EIO and is counted, nothing crashes, and
 * the slot can be rewritten and read back; corrupting an empty slot is -ENOENT. */
#include <stdlib.h>

#include <zsmem/lab.h>	/* zram_test_corrupt_slot */

#include "zram_test_util.h"

int main(void)
{
	static unsigned char page[4096], out[4096];
	struct zram_config cfg;
	struct zram_io_stat io;
	unsigned int corrupted = 0;
	struct zram *z;

	memset(&cfg, 0, sizeof(cfg));
	cfg.disksize = 1 << 20;
	cfg.comp_algorithm = "zstd";
	z = zram_create(&cfg);
	CHECKF(z, "%s", zram_last_error());
	for (uint32_t i = 0; i < 16; i++) {
		zpg_fill(page, 3, i, 10, 0);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	for (uint32_t i = 0; i < 16; i++) {
		struct zram_slot_info si;

		CHECK(zram_get_slot_info(z, i, &si) == 0);
		if (si.same || si.huge)
			continue;
		CHECK(zram_test_corrupt_slot(z, i) == 0);
		CHECK(zram_read_page(z, i, out) == -EIO);
		corrupted++;
	}
	CHECK(corrupted > 0);
	zram_get_io_stat(z, &io);
	CHECKF(io.failed_reads == corrupted, "failed_reads %llu, corrupted %u",
	       (unsigned long long)io.failed_reads, corrupted);
	zpg_fill(page, 3, 0, 10, 0);
	CHECK(zram_write_page(z, 0, page) == 0);
	CHECK(zram_read_page(z, 0, out) == 0 && !memcmp(page, out, 4096));
	CHECK(zram_test_corrupt_slot(z, 200) == -ENOENT);
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
