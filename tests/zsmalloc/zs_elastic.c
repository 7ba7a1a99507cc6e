/* SPDX-License-Identifier: MIT */
/* Elastic zspages, one behaviour each:
 *  1. a zspage takes pages as its slots reach them: after k objects of one class the
 *     pool holds ceil(k * size / 4096) pages (per zspage), not pages_per_zspage;
 *  2. growing needs no OS allocation: the pages were reserved with the zspage;
 *  3. compaction shrinks a zspage with holes back to the pages its objects reach,
 *     every object keeps its bytes, and the RSS falls with it;
 *  4. a fully freed zspage gives back exactly the pages it had grown. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "zsmem/zsmalloc.h"
#include "zsmalloc/zs_internal.h"
#include "zsmem_test.h"

#define LEN	2100	/* class 2176 with chain 8: 8 pages, 15 objects per zspage */

static unsigned long pages_for(unsigned long objs, unsigned int size, unsigned int ppz,
			       unsigned int opz)
{
	unsigned long full = objs / opz, rest = objs % opz;

	return full * ppz + (rest ? (rest * size + 4095) / 4096 : 0);
}

static void fill(unsigned char *p, unsigned long i)
{
	for (size_t k = 0; k < LEN; k++)
		p[k] = (unsigned char)(i * 7 + k);
}

int main(void)
{
	struct zs_pool *pool = zs_create_pool("elastic");
	struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
	unsigned char buf[LEN], want[LEN];
	unsigned long h[64], i, n = 40, x;
	unsigned int size = 0, ppz = 0, opz = 0, c, nrows;

	CHECK(pool);
	/* 1. Growth page by page; stop (n >= 40) where the next object needs a new page. */
	for (i = 0; i < n || pages_for(n + 1, size, ppz, opz) == pages_for(n, size, ppz, opz);
	     i++) {
		if (i >= n)
			n = i + 1;
		CHECK(i < 64);
		h[i] = zs_malloc(pool, LEN);
		CHECK(h[i]);
		fill(buf, i);
		zs_obj_write(pool, h[i], buf, LEN);
		if (i == 0) {
			nrows = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);
			for (c = 0; c < nrows && !rows[c].obj_used; c++)
				;
			CHECK(c < nrows);
			size = rows[c].size;
			ppz = rows[c].pages_per_zspage;
			opz = rows[c].objs_per_zspage;
			CHECKF(ppz > 1 && size >= LEN + 8, "class %u: %u pages", size, ppz);
		}
		CHECKF(zs_get_total_pages(pool) == pages_for(i + 1, size, ppz, opz),
		       "%lu objects of %u bytes: %lu pages", i + 1, size,
		       zs_get_total_pages(pool));
	}
	CHECK(zs_pool_check(pool) == 0);

	/*
	 * 2. The next object needs a page its zspage has not populated yet: it was
	 *    reserved when the zspage was built, so no OS allocation happens (one would
	 *    fail here) and the pool grows by that page.
	 */
	x = pages_for(n, size, ppz, opz);
	zs_fault_inject(1);
	errno = 0;
	h[n] = zs_malloc(pool, LEN);
	zs_fault_inject(0);
	CHECKF(h[n], "errno %d", errno);
	CHECK(zs_get_total_pages(pool) == x + 1);
	zs_free(pool, h[n]);
	CHECK(zs_pool_check(pool) == 0);

	/* 3. Free every other object, compact: the holes close and pages come back. */
	if (n % 2)	/* an even count, so that half of them stay */
		zs_free(pool, h[--n]);
	for (i = 0; i < n; i += 2) {
		zs_free(pool, h[i]);
		h[i] = 0;
	}
	zs_pages_flush(pool);
	{
		unsigned long before = zs_get_total_pages(pool), freed = zs_compact(pool);
		unsigned long after = zs_get_total_pages(pool);

		CHECKF(after == pages_for(n / 2, size, ppz, opz) && before - after == freed,
		       "before %lu, after %lu, freed %lu, want %lu", before, after, freed,
		       pages_for(n / 2, size, ppz, opz));
	}
	CHECK(zs_pool_check(pool) == 0);
	for (i = 1; i < n; i += 2) {
		fill(want, i);
		zs_obj_read(pool, h[i], buf, LEN);
		CHECKF(!memcmp(buf, want, LEN), "object %lu changed", i);
	}

	/* 4. Free the rest: nothing stays. */
	for (i = 1; i < n; i += 2)
		zs_free(pool, h[i]);
	CHECK(zs_get_total_pages(pool) == 0);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
	return T_PASS;
}
