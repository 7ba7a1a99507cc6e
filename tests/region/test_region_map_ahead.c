// SPDX-License-Identifier: MIT
/*
 * Map-ahead (cfg.map_ahead): first touches in order get the zero page mapped over the
 * next untouched pages, so far fewer handler faults than pages; pages mapped ahead read
 * as zeros, take their first write in the kernel, are evicted and come back exact;
 * without map_ahead every first touch is a fault; under a cap the reclaimer evicts
 * while map-ahead maps, and every byte comes back.
 */
#include "region_test.h"

#define N 1024

static void fill_in_order(unsigned char *base, uint64_t seed)
{
	for (uint64_t i = 0; i < N; i++)
		t_rpage(base + i * PG, i, i + seed);
}

static void check_all(unsigned char *base, uint64_t seed)
{
	for (uint64_t i = 0; i < N; i++)
		CHECKF(t_rpage_diff(base + i * PG, i, i + seed) == 0, "page %llu",
		       (unsigned long long)i);
}

int main(void)
{
	struct zsr_config cfg;
	struct zsr_stats st;
	struct zsr *r;
	unsigned char *base;

	/* off (the default): one fault per first touch */
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = (size_t)N * PG;
	r = t_region(&cfg);
	base = zsr_base(r);
	fill_in_order(base, 2);
	zsr_get_stats(r, &st);
	CHECKF(st.faults == N, "faults %llu", (unsigned long long)st.faults);
	zsr_destroy(r);

	/* on: a read scan first (zeros, from the zero page), then writes in order */
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = (size_t)N * PG;
	cfg.map_ahead = true;
	r = t_region(&cfg);
	base = zsr_base(r);
	for (uint64_t i = 0; i < N; i++)
		for (size_t off = 0; off < PG; off += 512)
			CHECK(base[i * PG + off] == 0);
	zsr_get_stats(r, &st);
	CHECKF(st.faults < N / 4, "faults %llu for %d pages read in order",
	       (unsigned long long)st.faults, N);
	CHECK(st.resident_pages == N);
	fill_in_order(base, 3);
	check_all(base, 3);
	/* evicted (pages mapped ahead and written since are ordinary) and back */
	CHECK(zsr_reclaim(r, (size_t)N * PG) == (long)N * PG);
	check_all(base, 3);
	zsr_destroy(r);

	/* on, writes only, under a cap of a quarter: the cap holds, every byte back */
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = (size_t)N * PG;
	cfg.max_resident = (size_t)N / 4 * PG;
	cfg.map_ahead = true;
	r = t_region(&cfg);
	base = zsr_base(r);
	fill_in_order(base, 4);
	zsr_get_stats(r, &st);
	CHECKF(st.faults < N, "faults %llu", (unsigned long long)st.faults);
	/* (not resident <= cap: a fault past the cap waits 20 ms at most for the
	 * reclaimer, so on a loaded machine resident may pass it for a while) */
	CHECK(st.evictions > 0);
	for (int pass = 0; pass < 2; pass++)
		check_all(base, 4);
	zsr_destroy(r);
	return 0;
}
