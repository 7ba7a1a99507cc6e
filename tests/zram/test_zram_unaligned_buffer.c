/* SPDX-License-Identifier: MIT */
/*
 * Regression: zram_write_page / zram_read_page took the caller's page as an array of
 * unsigned long (same-filled detection, same-filled reads), a misaligned access when the
 * page is not 8-byte aligned (an NBD request at an odd offset of the server's buffer).
 * UBSan (the ASan stage) reports it; every build checks the data.
 */
#include "zram_test_util.h"

int main(void)
{
	static unsigned char raw[3 * 4096 + 16];
	struct zram *z = zt_create("lz4", 0, 16, ZRAM_FREE_SYNC);

	for (unsigned int mis = 1; mis < 8; mis++) {
		unsigned char *in = raw + mis, *out = raw + 4096 + 8 + mis;
		unsigned char want[4096];

		/* Same-filled (non-zero word), zero, and compressible pages. */
		memset(in, 0x37, 4096);
		CHECK(zram_write_page(z, mis, in) == 0);
		memset(out, 0, 4096);
		CHECK(zram_read_page(z, mis, out) == 0 && !memcmp(in, out, 4096));
		memset(in, 0, 4096);
		CHECK(zram_write_page(z, 8 + mis, in) == 0);
		CHECK(zram_read_page(z, 8 + mis, out) == 0 && !memcmp(in, out, 4096));
		zpg_fill(want, 7, mis, 10, 0);
		memcpy(in, want, 4096);
		CHECK(zram_write_page(z, 0, in) == 0);
		CHECK(zram_read_page(z, 0, out) == 0 && !memcmp(want, out, 4096));
		CHECK(zram_write_partial(z, mis, mis, in, 100) == 0);
	}
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
