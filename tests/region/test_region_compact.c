// SPDX-License-Identifier: MIT
/*
 * Regression test for the pool's fragmentation under refaults: every refault frees a
 * copy somewhere in the zspages, and nothing compacted them, so the pool stayed at the
 * size of the largest set of copies ever held (region_bench's cap run: pool pages 1.30x
 * the compressed bytes, RssAnon 6 MiB over its bound). Here three pages in four come
 * back, then a reclaim worth a quarter batch must leave the pool near the compressed
 * bytes still held, and every page exact.
 */
#define _GNU_SOURCE
#include "region_test.h"

#define N 4096

int main(void)
{
	struct zsr_config cfg;
	struct zsr_stats st;
	struct zsr *r;
	unsigned char *base;
	long got = 0;
	size_t i;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = (size_t)N * PG;
	cfg.compressor = "lz4";
	r = t_region(&cfg);
	base = zsr_base(r);
	for (i = 0; i < N; i++)
		t_rpage(base + i * PG, i, 2 + i % 5);	/* page-like data, never same-filled */
	CHECK(zsr_reclaim(r, (size_t)N * PG) > 0);
	zsr_get_stats(r, &st);
	CHECKF(st.stored_pages > N / 2, "stored %llu", (unsigned long long)st.stored_pages);

	/* three in four come back: their copies are freed all over the zspages */
	for (i = 0; i < N; i++)
		if (i % 4)
			CHECKF(t_rpage_diff(base + i * PG, i, 2 + i % 5) == 0, "page %zu", i);
	/* the refaulted pages are referenced (and hot): the hand needs sweeps first */
	for (int tries = 0; tries < 4 && got <= 0; tries++)
		got = zsr_reclaim(r, 16 * PG);
	CHECKF(got > 0, "reclaim: %ld", got);

	zsr_get_stats(r, &st);
	fprintf(stderr, "stored %llu compr %llu bytes pool %llu pages\n",
		(unsigned long long)st.stored_pages, (unsigned long long)st.compr_bytes,
		(unsigned long long)st.pool_pages);
	/* 10% for size classes and zspage tails, plus the handler's batch of copies
	 * still to free (at most ZSR_HFREE - 1 = 31 objects, a page each at worst) */
	CHECKF((double)st.pool_pages * PG <= (double)st.compr_bytes * 1.10 + 48.0 * PG,
	       "pool %llu pages for %llu compressed bytes", (unsigned long long)st.pool_pages,
	       (unsigned long long)st.compr_bytes);

	for (i = 0; i < N; i++)
		CHECKF(t_rpage_diff(base + i * PG, i, 2 + i % 5) == 0, "page %zu", i);
	zsr_destroy(r);
	return 0;
}
