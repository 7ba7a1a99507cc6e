/* SPDX-License-Identifier: MIT */
/* Every algorithm round-trips every kind of page, and a too-small output buffer fails cleanly. */
#include <string.h>

#include "compress/zcomp.h"
#include "zsmem_test.h"

int main(void)
{
	static const char *names[] = { "lz4", "lz4hc", "zstd", "lzo", "lzo-rle" };
	unsigned char page[4096], out[4096], dst[8192];

	for (unsigned a = 0; a < sizeof(names) / sizeof(names[0]); a++) {
		struct zcomp *c = zcomp_create(names[a], 0);

		CHECKF(c, "%s", names[a]);
		CHECK(zcomp_bound(c, 4096) >= 4096);
		for (unsigned kind = 0; kind < 5; kind++) {
			size_t n;

			t_fill_page(page, kind, 1000 + kind);
			n = zcomp_compress(c, page, 4096, dst, sizeof(dst));
			CHECKF(n > 0, "%s kind %u", names[a], kind);
			if (kind != 3)
				CHECKF(n < 4096, "%s kind %u compressed to %zu", names[a], kind, n);
			memset(out, 0xa5, sizeof(out));
			CHECK(zcomp_decompress(c, dst, n, out, 4096) == 0);
			CHECKF(memcmp(page, out, 4096) == 0, "%s kind %u", names[a], kind);
			/* The wrong expected length is corruption, not a short success. */
			CHECK(zcomp_decompress(c, dst, n, out, 4000) == -EIO);
			/* Random data does not fit in 4000 bytes: 0, not an overrun. */
			if (kind == 3)
				CHECK(zcomp_compress(c, page, 4096, dst, 4000) == 0);
		}
		/* Garbage input is reported, never trusted. */
		memset(dst, 0xff, 64);
		CHECK(zcomp_decompress(c, dst, 64, out, 4096) == -EIO);
		zcomp_destroy(c);
	}
	return T_PASS;
}
