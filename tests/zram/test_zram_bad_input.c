/* SPDX-License-Identifier: MIT */
/* Bad input: bad configs, indexes past disksize. Corrupt data: test_zram_corrupt_data.c. */
#include <stdlib.h>

#include "zram_test_util.h"

int main(void)
{
	static unsigned char page[4096], out[4096];
	struct zram_config cfg;
	struct zram_io_stat io;
	struct zram *z;

	memset(&cfg, 0, sizeof(cfg));
	errno = 0;
	CHECK(zram_create(&cfg) == NULL && errno == EINVAL);
	CHECK(strstr(zram_last_error(), "disksize"));
	cfg.disksize = 4095;
	CHECK(zram_create(&cfg) == NULL && errno == EINVAL);
	cfg.disksize = 1 << 20;
	cfg.comp_algorithm = "nosuch";
	errno = 0;
	CHECK(zram_create(&cfg) == NULL && errno == EINVAL);
	CHECK(strstr(zram_last_error(), "nosuch"));
	cfg.comp_algorithm = "zstd";
	cfg.comp_level = 99;
	CHECK(zram_create(&cfg) == NULL && errno == EINVAL);
	cfg.comp_level = 0;
	cfg.free_mode = (enum zram_free_mode)42;
	CHECK(zram_create(&cfg) == NULL && errno == EINVAL);
	cfg.free_mode = ZRAM_FREE_DEFAULT;
	cfg.zs_chain_size = 3;
	CHECK(zram_create(&cfg) == NULL && errno == EINVAL);
	cfg.zs_chain_size = 0;

	z = zram_create(&cfg);
	CHECKF(z, "%s", zram_last_error());
	CHECK(zram_nr_pages(z) == 256);
	zpg_fill(page, 3, 0, 10, 0);
	CHECK(zram_write_page(z, 256, page) == -EINVAL);
	CHECK(zram_write_page(z, UINT32_MAX, page) == -EINVAL);
	CHECK(zram_read_page(z, 256, out) == -EINVAL);
	CHECK(zram_discard(z, 250, 7) == -EINVAL);
	zram_slot_free_notify(z, 1000);		/* ignored */
	zram_get_io_stat(z, &io);
	CHECK(io.failed_writes == 2 && io.failed_reads == 1 && io.invalid_io == 4);
	CHECK(io.notify_free == 0);

	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
