// SPDX-License-Identifier: MIT
/*
 * Readahead on sequential refaults: a scan of evicted memory in order brings pages back
 * ahead of their faults, contents exact (written again after readahead, evicted and read
 * back again), counted in refaults and readahead_pages; a strided scan reads nothing
 * ahead; under a cap the scan still reads ahead and every byte comes back.
 */
#include "region_test.h"

#define N 1024

int main(void)
{
	struct zsr_config cfg;
	struct zsr_stats st, st0;
	struct zsr *r;
	unsigned char *base;

	memset(&cfg, 0, sizeof(cfg));
	cfg.size = (size_t)N * PG;
	r = t_region(&cfg);
	base = zsr_base(r);
	for (uint64_t i = 0; i < N; i++)
		t_rpage(base + i * PG, i, i + 2);
	CHECK(zsr_reclaim(r, (size_t)N * PG) == (long)N * PG);

	/* a sequential scan: single-threaded, so every page is either faulted or read
	 * ahead, never both */
	for (uint64_t i = 0; i < N; i++)
		CHECKF(t_rpage_diff(base + i * PG, i, i + 2) == 0, "page %llu", (unsigned long long)i);
	zsr_get_stats(r, &st);
	CHECK(st.refaults == N && st.evicted_pages == 0);
	CHECKF(st.readahead_pages > N / 2, "readahead %llu", (unsigned long long)st.readahead_pages);
	CHECKF(st.faults == N + (N - st.readahead_pages), "faults %llu readahead %llu",
	       (unsigned long long)st.faults, (unsigned long long)st.readahead_pages);

	/* pages mapped by readahead are ordinary: written, evicted, read back */
	for (uint64_t i = 1; i < N; i += 2)
		t_rpage(base + i * PG, i, i + 5);
	CHECK(zsr_reclaim(r, (size_t)N * PG) == (long)N * PG);
	st0 = st;
	/* a strided scan (every third page) is not sequential: nothing read ahead */
	for (uint64_t i = 0; i < N; i += 3)
		CHECK(t_rpage_diff(base + i * PG, i, i & 1 ? i + 5 : i + 2) == 0);
	zsr_get_stats(r, &st);
	CHECK(st.readahead_pages == st0.readahead_pages);
	for (uint64_t i = 0; i < N; i++)
		CHECKF(t_rpage_diff(base + i * PG, i, i & 1 ? i + 5 : i + 2) == 0, "page %llu",
		       (unsigned long long)i);
	zsr_destroy(r);

	/* under a cap of a quarter: the reclaimer evicts while the scans read ahead */
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = (size_t)N * PG;
	cfg.max_resident = (size_t)N / 4 * PG;
	r = t_region(&cfg);
	base = zsr_base(r);
	for (uint64_t i = 0; i < N; i++)
		t_rpage(base + i * PG, i, i + 3);
	for (int pass = 0; pass < 3; pass++)
		for (uint64_t i = 0; i < N; i++)
			CHECKF(t_rpage_diff(base + i * PG, i, i + 3) == 0, "pass %d page %llu", pass,
			       (unsigned long long)i);
	zsr_get_stats(r, &st);
	CHECK(st.evictions > 0 && st.refaults > 0);
	CHECKF(st.readahead_pages > 0, "readahead %llu of %llu refaults",
	       (unsigned long long)st.readahead_pages, (unsigned long long)st.refaults);
	zsr_destroy(r);
	return 0;
}
