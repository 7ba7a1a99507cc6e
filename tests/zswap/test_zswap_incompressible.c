/* SPDX-License-Identifier: MIT */
/*
 * Pages that do not compress below zsmalloc's huge class are stored raw and counted in
 * stored_incompressible_pages; with reject_incompressible they are rejected
 * (reject_compress_poor, -E2BIG) and the slot's previous contents are dropped.
 */
#define _GNU_SOURCE
#include "zswap_test_util.h"

#define NR	64

int main(void)
{
	struct zswap_config cfg = { .compressor = "lz4", .max_pool_bytes = 64ull << 20 };
	unsigned char in[PG], out[PG];
	struct zswap_stats st;
	struct zswap *zs;
	uint64_t off;

	zs = t_zswap(&cfg);
	CHECK(zswap_swapon(zs, 1, NR, -1) == 0);
	for (off = 0; off < NR; off++) {
		t_vpage(in, off, 1, 3);		/* random bytes */
		CHECK(zswap_store(zs, 1, off, in) == 0);
	}
	st = t_stats(zs);
	CHECK(st.stored_pages == NR);
	CHECK(st.stored_incompressible_pages == NR);
	/* Raw pages use the huge class: one pool page each. */
	CHECK(st.pool_total_size == (uint64_t)NR * PG);

	/* A compressible page replacing a raw one. */
	t_vpage(in, 0, 2, 1);
	CHECK(zswap_store(zs, 1, 0, in) == 0);
	st = t_stats(zs);
	CHECK(st.stored_pages == NR && st.stored_incompressible_pages == NR - 1);

	for (off = 0; off < NR; off++) {
		CHECK(zswap_load(zs, 1, off, out) == 0);
		if (off == 0)
			t_vpage(in, off, 2, 1);
		else
			t_vpage(in, off, 1, 3);
		CHECK(!memcmp(in, out, PG));
	}
	st = t_stats(zs);
	CHECK(st.stored_pages == 0 && st.stored_incompressible_pages == 0);
	CHECK(st.pool_total_size == 0);
	zswap_destroy(zs);

	/* Rejecting incompressible pages. */
	cfg.reject_incompressible = true;
	zs = t_zswap(&cfg);
	CHECK(zswap_swapon(zs, 1, NR, -1) == 0);
	t_vpage(in, 4, 1, 1);
	CHECK(zswap_store(zs, 1, 4, in) == 0);
	t_vpage(in, 4, 2, 3);
	CHECK(zswap_store(zs, 1, 4, in) == -E2BIG);
	st = t_stats(zs);
	CHECK(st.reject_compress_poor == 1);
	CHECK(st.stored_pages == 0);	/* the stale version 1 went away */
	CHECK(zswap_load(zs, 1, 4, out) == -ENOENT);
	zswap_destroy(zs);
	return T_PASS;
}
