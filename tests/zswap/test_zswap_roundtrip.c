/* SPDX-License-Identifier: MIT */
/*
 * Round trips through every compressor: what is stored comes back bit for bit, a load
 * is exclusive, a second store at a slot replaces the first, and the pool is empty once
 * everything has been loaded.
 */
#define _GNU_SOURCE
#include <zsmem/lab.h>	/* ZS_POOL_LEGACY_LOCK */

#include "zswap_test_util.h"

#define NR	512

static void run(const char *comp, bool deferred)
{
	struct zswap_config cfg = { .compressor = comp, .max_pool_bytes = 1ull << 30,
				    .deferred_invalidate = deferred };
	unsigned char in[PG], out[PG];
	struct zswap_stats st;
	struct zswap *zs = t_zswap(&cfg);
	uint64_t off;

	CHECK(zswap_swapon(zs, 3, NR, -1) == 0);
	for (off = 0; off < NR; off++) {
		t_vpage(in, off, 1, (unsigned)off % 5);
		CHECK(zswap_store(zs, 3, off, in) == 0);
	}
	st = t_stats(zs);
	CHECK(st.stored_pages == NR);
	CHECK(st.pool_total_size > 0);
	CHECK(st.pool_total_size < (uint64_t)NR * PG);	/* it did compress */

	/* Replace every other page with a new version. */
	for (off = 0; off < NR; off += 2) {
		t_vpage(in, off, 2, (unsigned)(off + 1) % 5);
		CHECK(zswap_store(zs, 3, off, in) == 0);
	}
	zswap_flush(zs);
	CHECK(t_stats(zs).stored_pages == NR);
	CHECK(zswap_check(zs) == 0);

	for (off = 0; off < NR; off++) {
		uint64_t ver = off % 2 ? 1 : 2;
		unsigned kind = off % 2 ? (unsigned)off % 5 : (unsigned)(off + 1) % 5;

		memset(out, 0xa5, PG);
		CHECK(zswap_load(zs, 3, off, out) == 0);
		t_vpage(in, off, ver, kind);
		CHECKF(!memcmp(in, out, PG), "%s: page %llu differs", comp,
		       (unsigned long long)off);
		/* Exclusive: gone after a successful load. */
		CHECK(zswap_load(zs, 3, off, out) == -ENOENT);
	}
	zswap_flush(zs);
	st = t_stats(zs);
	CHECK(st.stored_pages == 0);
	CHECK(st.stored_incompressible_pages == 0);
	CHECK(st.pool_total_size == 0);
	CHECK(st.decompress_fail == 0);
	CHECK(zswap_check(zs) == 0);
	zswap_destroy(zs);
}

int main(void)
{
	static const char *comps[] = { "lz4", "zstd", "lzo", "lz4hc" };

	for (unsigned i = 0; i < sizeof(comps) / sizeof(comps[0]); i++) {
		run(comps[i], false);
		run(comps[i], true);
	}
	/* Allocator passthrough: legacy pool lock, deferred zspage free, 16-page chains. */
	{
		struct zswap_config cfg = { .zs_pool_flags = ZS_POOL_LEGACY_LOCK |
							     ZS_POOL_DEFER_ZSPAGE_FREE,
					    .zs_chain_size = 16, .deferred_invalidate = true };
		struct zswap *zs = t_zswap(&cfg);
		unsigned char in[PG], out[PG];

		CHECK(zswap_swapon(zs, 0, NR, -1) == 0);
		for (uint64_t off = 0; off < NR; off++) {
			t_vpage(in, off, 3, (unsigned)off % 5);
			CHECK(zswap_store(zs, 0, off, in) == 0);
		}
		for (uint64_t off = 0; off < NR; off += 2)
			zswap_invalidate(zs, 0, off);
		for (uint64_t off = 1; off < NR; off += 2) {
			t_vpage(in, off, 3, (unsigned)off % 5);
			CHECK(zswap_load(zs, 0, off, out) == 0 && !memcmp(in, out, PG));
		}
		zswap_flush(zs);
		CHECK(t_stats(zs).stored_pages == 0);
		CHECK(zswap_check(zs) == 0);
		zswap_destroy(zs);
	}
	/* A zeroed config (and a NULL one) is valid. */
	{
		struct zswap_config cfg = { 0 };
		struct zswap *zs = t_zswap(&cfg);
		unsigned char in[PG], out[PG];

		CHECK(zswap_swapon(zs, 0, 1, -1) == 0);
		t_vpage(in, 0, 9, 1);
		CHECK(zswap_store(zs, 0, 0, in) == 0);
		CHECK(zswap_load(zs, 0, 0, out) == 0 && !memcmp(in, out, PG));
		zswap_destroy(zs);
		zswap_destroy(t_zswap(NULL));
	}
	return T_PASS;
}
