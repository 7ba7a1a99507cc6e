/* SPDX-License-Identifier: MIT */
/* mem_limit: writes over it fail with -ENOMEM and leave the old content intact. */
#include "zram_test_util.h"

int main(void)
{
	static unsigned char page[4096], out[4096];
	struct zram_config cfg;
	struct zram_mm_stat mm;
	struct zram_io_stat io;
	struct zram *z;
	uint32_t i, written = 0;
	int ret = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.disksize = 4096 * 4096;
	cfg.mem_limit = 64 * 4096;	/* 64 pool pages */
	z = zram_create(&cfg);
	CHECKF(z, "%s", zram_last_error());
	zram_get_mm_stat(z, &mm);
	CHECK(mm.mem_limit == 64 * 4096);

	for (i = 0; i < 4096; i++) {
		zpg_fill(page, 5, i, 100, 0);	/* huge: one pool page each */
		ret = zram_write_page(z, i, page);
		if (ret)
			break;
		written++;
	}
	CHECK(ret == -ENOMEM);
	CHECK(written >= 60 && written <= 64);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.mem_used_total <= 64 * 4096);
	CHECK(mm.mem_used_max <= 65 * 4096);
	zram_get_io_stat(z, &io);
	CHECK(io.failed_writes == 1);

	/* Overwriting a stored page over the limit fails and keeps the old page. */
	zpg_fill(page, 6, 0, 100, 0);
	CHECK(zram_write_page(z, 0, page) == -ENOMEM);
	zpg_fill(page, 5, 0, 100, 0);
	CHECK(zram_read_page(z, 0, out) == 0 && !memcmp(page, out, 4096));
	/* Same-filled pages need no pool memory: still accepted. */
	memset(page, 0, sizeof(page));
	CHECK(zram_write_page(z, 4000, page) == 0);

	/* Raise the limit: writes go through again; reset mem_used_max. */
	zram_set_mem_limit(z, 0);
	zpg_fill(page, 5, written, 100, 0);
	CHECK(zram_write_page(z, written, page) == 0);
	CHECK(zram_discard(z, 0, 32) == 0);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.mem_used_max > mm.mem_used_total);
	zram_reset_mem_used_max(z);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.mem_used_max == mm.mem_used_total);
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
