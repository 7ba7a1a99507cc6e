// SPDX-License-Identifier: MIT
/*
 * Regression (destroy_hole): zsr_destroy unmapped the region's whole original range,
 * so a mapping the kernel had since placed in a part the application unmapped (or
 * mremap'd away) was destroyed with it. Under ThreadSanitizer region_events crashed
 * this way: the runtime's own mmap of a thread's signal context landed in such a hole.
 * Here the application maps memory into two holes itself (no reclaim runs, so reuse
 * is allowed), destroys the region, and that memory must still be there with its
 * contents while the rest of the region is gone.
 */
#define _GNU_SOURCE
#include "region_test.h"

#define N 512

static int mapped(const void *p)
{
	return msync((void *)p, PG, MS_ASYNC) == 0;
}

int main(void)
{
	struct zsr_config cfg = { .size = N * PG };
	struct zsr *r = t_region(&cfg);
	unsigned char *base = zsr_base(r), *hole1, *hole2, *moved, *p;

	for (uint64_t i = 0; i < N; i++)
		t_rpage(base + i * PG, i, i + 2);
	CHECK(zsr_reclaim(r, 200 * PG) == 200 * PG);

	/* hole 1: munmap, then the application maps something else there */
	hole1 = base + 100 * PG;
	CHECK(munmap(hole1, 32 * PG) == 0);
	p = mmap(hole1, 32 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(p == hole1);
	memset(p, 0x5a, 32 * PG);

	/* hole 2: the source of an mremap (evicted pages moved out), then reused */
	hole2 = base + 300 * PG;
	moved = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(moved != MAP_FAILED);
	CHECK(mremap(hole2, 16 * PG, 16 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, moved) == moved);
	p = mmap(hole2, 8 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK(p == hole2);
	memset(p, 0xa5, 8 * PG);

	zsr_destroy(r);

	for (size_t i = 0; i < 32; i++) {
		CHECKF(mapped(hole1 + i * PG), "hole 1 page %zu was unmapped by zsr_destroy", i);
		CHECK(hole1[i * PG] == 0x5a && hole1[i * PG + PG - 1] == 0x5a);
	}
	for (size_t i = 0; i < 8; i++) {
		CHECKF(mapped(hole2 + i * PG), "hole 2 page %zu was unmapped by zsr_destroy", i);
		CHECK(hole2[i * PG] == 0xa5 && hole2[i * PG + PG - 1] == 0xa5);
	}
	/* the moved pages are plain memory with their contents */
	for (uint64_t i = 300; i < 316; i++)
		CHECK(t_rpage_diff(moved + (i - 300) * PG, i, i + 2) == 0);
	/* the region's own pages are gone */
	CHECK(!mapped(base) && !mapped(base + 99 * PG) && !mapped(base + 132 * PG));
	CHECK(!mapped(base + 308 * PG) && !mapped(base + (N - 1) * PG));
	munmap(hole1, 32 * PG);
	munmap(hole2, 8 * PG);
	munmap(moved, 16 * PG);
	zsr_wait_released();
	return T_PASS;
}
