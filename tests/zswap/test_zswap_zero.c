/* SPDX-License-Identifier: MIT */
/*
 * Zero-filled pages are kept out of the pool: no pool memory, counted in stored_pages
 * and zero_pages, loaded back as zeros (exclusively), and they replace or are replaced
 * by ordinary pages at the same slot.
 */
#define _GNU_SOURCE
#include "zswap_test_util.h"

#define NR	300

int main(void)
{
	struct zswap_config cfg = { .max_pool_bytes = 64ull << 20 };
	unsigned char zero[PG], in[PG], out[PG];
	struct zswap_stats st;
	struct zswap *zs = t_zswap(&cfg);
	uint64_t off;

	memset(zero, 0, PG);
	CHECK(zswap_swapon(zs, 0, NR, -1) == 0);
	for (off = 0; off < NR; off++)
		CHECK(zswap_store(zs, 0, off, zero) == 0);
	st = t_stats(zs);
	CHECK(st.stored_pages == NR);
	CHECK(st.zero_pages == NR);
	CHECK(st.pool_total_size == 0);

	/* Storing zeros again at a zero slot changes nothing. */
	CHECK(zswap_store(zs, 0, 5, zero) == 0);
	CHECK(t_stats(zs).zero_pages == NR);

	/* Replace zero by data at odd offsets. */
	for (off = 1; off < NR; off += 2) {
		t_vpage(in, off, 1, 0);
		CHECK(zswap_store(zs, 0, off, in) == 0);
	}
	st = t_stats(zs);
	CHECK(st.stored_pages == NR);
	CHECK(st.zero_pages == NR / 2);
	CHECK(st.pool_total_size > 0);

	/* Replace data by zero at offsets = 1 mod 4. */
	for (off = 1; off < NR; off += 4)
		CHECK(zswap_store(zs, 0, off, zero) == 0);
	st = t_stats(zs);
	CHECK(st.stored_pages == NR);
	CHECK(st.zero_pages == NR / 2 + NR / 4);
	CHECK(zswap_check(zs) == 0);

	for (off = 0; off < NR; off++) {
		memset(out, 0x5a, PG);
		CHECK(zswap_load(zs, 0, off, out) == 0);
		if (off % 4 == 3) {
			t_vpage(in, off, 1, 0);
			CHECK(!memcmp(in, out, PG));
		} else {
			CHECK(t_page_is_zero(out));
		}
		CHECK(zswap_load(zs, 0, off, out) == -ENOENT);
	}
	st = t_stats(zs);
	CHECK(st.stored_pages == 0 && st.zero_pages == 0 && st.pool_total_size == 0);

	/* Invalidate of a zero page. */
	CHECK(zswap_store(zs, 0, 7, zero) == 0);
	zswap_invalidate(zs, 0, 7);
	CHECK(zswap_load(zs, 0, 7, out) == -ENOENT);
	CHECK(t_stats(zs).zero_pages == 0);

	/* swapoff drops zero pages from the counters as well. */
	CHECK(zswap_store(zs, 0, 8, zero) == 0);
	zswap_swapoff(zs, 0);
	st = t_stats(zs);
	CHECK(st.stored_pages == 0 && st.zero_pages == 0);
	zswap_destroy(zs);
	return T_PASS;
}
