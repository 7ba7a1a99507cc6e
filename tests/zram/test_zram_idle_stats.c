/* SPDX-License-Identifier: MIT */
/* Idle marking by age, the kernel's text formats of the stat files, and reset. */
#include <unistd.h>

#include "zram_test_util.h"

int main(void)
{
	static unsigned char page[4096];
	struct zram *z = zt_create("lz4", 0, 64, ZRAM_FREE_SYNC);
	struct zram_mm_stat mm = { 1, 2, 3, 4, 5, 6, 7, 8, 123456789 };
	struct zram_io_stat io = { 1, 22, 0, 333 };
	struct zram_bd_stat bd = { 1, 2, 3 };
	struct zram_debug_stat dbg = { 5 };
	struct zram_slot_info si;
	char buf[256];

	/* Formats: as /sys/block/zram0/{mm,io,bd,debug}_stat read on Linux 6.18. */
	zram_format_mm_stat(&mm, buf, sizeof(buf));
	CHECKF(!strcmp(buf, "       1        2        3        4        5        6        7"
		       "        8 123456789\n"), "[%s]", buf);
	zram_format_io_stat(&io, buf, sizeof(buf));
	CHECKF(!strcmp(buf, "       1       22 0      333\n"), "[%s]", buf);
	zram_format_bd_stat(&bd, buf, sizeof(buf));
	CHECKF(!strcmp(buf, "       1        2        3\n"), "[%s]", buf);
	zram_format_debug_stat(&dbg, buf, sizeof(buf));
	CHECKF(!strcmp(buf, "version: 1\n0        5\n"), "[%s]", buf);

	for (uint32_t i = 0; i < 32; i++) {
		zpg_fill(page, 41, i, 10, 0);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	CHECK(zram_mark_idle(z, 100) == 0);
	sleep(3);	/* whole seconds on a coarse clock: 3 s elapsed are >= 2 counted */
	for (uint32_t i = 32; i < 48; i++) {
		zpg_fill(page, 41, i, 10, 0);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	CHECK(zram_read_page(z, 0, page) == 0);
	CHECK(zram_mark_idle(z, 2) == 31);	/* 1..31: written 3 s ago, not read since */
	CHECK(zram_get_slot_info(z, 0, &si) == 0 && !si.idle);
	CHECK(zram_get_slot_info(z, 1, &si) == 0 && si.idle);
	CHECK(zram_get_slot_info(z, 40, &si) == 0 && !si.idle);
	CHECK(zram_mark_idle(z, 0) == 17);	/* the rest */
	zt_check_stats(z);

	zram_mm_stat_show(z, buf, sizeof(buf));
	printf("mm_stat: %s", buf);
	zram_reset(z);
	zram_mm_stat_show(z, buf, sizeof(buf));
	CHECKF(!strcmp(buf, "       0        0        0        0        0        0        0"
		       "        0        0\n"), "[%s]", buf);
	zram_io_stat_show(z, buf, sizeof(buf));
	CHECK(!strcmp(buf, "       0        0 0        0\n"));
	zram_debug_stat_show(z, buf, sizeof(buf));
	CHECK(!strcmp(buf, "version: 1\n0        0\n"));
	CHECK(zram_read_page(z, 1, page) == 0 && page[0] == 0);
	zpg_fill(page, 41, 1, 10, 0);
	CHECK(zram_write_page(z, 1, page) == 0);
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
