// SPDX-License-Identifier: MIT
/*
 * consumer: a program built against an installed zsmem, the way a library user builds
 * one (pkg-config or find_package(zsmem)), never against the source tree. It touches
 * each subsystem's public API (the allocator, deferred free through zram, the
 * compressors, zswap) so that a missing symbol, header or link dependency fails the
 * build or the run. Exit 0 when every round trip returns what went in.
 */
#include <stdio.h>
#include <string.h>

#include <zsmem/zram.h>
#include <zsmem/zsmalloc.h>
#include <zsmem/zswap.h>

static int fail(const char *what)
{
	fprintf(stderr, "consumer: %s\n", what);
	return 1;
}

static void fill(unsigned char *page, unsigned int seed)
{
	/* compressible but not same-filled: a short pattern with a running counter */
	for (unsigned int i = 0; i < 4096; i++)
		page[i] = (unsigned char)((i / 16 + seed) * (i % 16 == 0));
}

int main(void)
{
	static unsigned char page[4096], out[4096];
	static const char msg[] = "zsmem installed";
	struct zram_config zc;
	struct zswap_config wc;
	struct zs_pool *pool;
	struct zswap *zs;
	struct zram *zr;
	unsigned long h;
	char buf[sizeof(msg)];

	/* the allocator */
	pool = zs_create_pool("consumer");
	if (!pool)
		return fail("zs_create_pool");
	h = zs_malloc(pool, sizeof(msg));
	if (!h)
		return fail("zs_malloc");
	zs_obj_write(pool, h, msg, sizeof(msg));
	zs_obj_read(pool, h, buf, sizeof(buf));
	if (memcmp(buf, msg, sizeof(msg)))
		return fail("zs_obj_read returned other bytes");
	zs_free(pool, h);
	zs_destroy_pool(pool);

	/* zram with each compressor library the package depends on, deferred free on */
	static const char *const algs[] = { "lz4", "zstd", "lzo" };
	for (unsigned int a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
		memset(&zc, 0, sizeof(zc));
		zc.disksize = 64 * 4096;
		zc.comp_algorithm = algs[a];
		zc.deferred_free = true;
		zr = zram_create(&zc);
		if (!zr)
			return fail(zram_last_error());
		fill(page, a + 1);
		if (zram_write_page(zr, 3, page) || zram_read_page(zr, 3, out) ||
		    memcmp(page, out, sizeof(page)))
			return fail("zram round trip");
		zram_slot_free_notify(zr, 3);
		zram_flush(zr);
		zram_destroy(zr);
	}

	/* zswap, no backing file */
	memset(&wc, 0, sizeof(wc));
	wc.max_pool_bytes = 1u << 20;
	zs = zswap_create(&wc);
	if (!zs)
		return fail("zswap_create");
	if (zswap_swapon(zs, 0, 16, -1))
		return fail("zswap_swapon");
	fill(page, 7);
	if (zswap_store(zs, 0, 5, page) || zswap_load(zs, 0, 5, out) ||
	    memcmp(page, out, sizeof(page)))
		return fail("zswap round trip");
	zswap_swapoff(zs, 0);
	zswap_destroy(zs);
	printf("consumer: zsmalloc, zram (lz4, zstd, lzo) and zswap round trips ok\n");
	return 0;
}
