/* SPDX-License-Identifier: MIT */
/*
 * The pool's own metadata (meta.c): descriptors are sized by their class's pages per
 * zspage (48 bytes for a huge, 1-page zspage) and recycled, not carved again; handle
 * chunks are ZS_HCHUNK_SIZE (512) bytes and a class takes a new one every ZS_HCHUNK_CELLS handles; a chunk
 * whose class could not grow its chunk table (injected failure) is kept and used by
 * the next allocation, not lost. zs_pool_stats reports each part exactly.
 */
#include <errno.h>
#include <stdlib.h>

#include "zsmem/zsmalloc.h"
#include "zsmalloc/zs_internal.h"
#include "zsmem_test.h"

#define SMALL	100		/* one class for all of them */
#define NSMALL	(8 * ZS_HCHUNK_CELLS)	/* fills the first chunk table (8 entries) */
#define NHUGE	300

static unsigned long small[NSMALL + 1], huge[NHUGE];

static struct zs_pool_stats stats(struct zs_pool *pool)
{
	struct zs_pool_stats st;

	zs_pool_stats(pool, &st);
	return st;
}

static void check_handle(unsigned long h)
{
	const struct zs_hchunk *c = (const void *)(h & ~(unsigned long)(ZS_HCHUNK_SIZE - 1));

	CHECK(h && !(h & 7));
	CHECK(c->magic == ZS_HCHUNK_MAGIC);
	CHECK(zs_loc_zspage(zsm_load_relaxed(zs_cell(h))) != NULL);
	CHECK((uintptr_t)zs_loc_zspage(zsm_load_relaxed(zs_cell(h))) % ZS_DESC_ALIGN == 0);
}

int main(void)
{
	struct zs_pool *pool = zs_create_pool("meta");
	struct zs_pool_stats st0, st;
	unsigned int pages_small, i;
	size_t desc_small;

	CHECK(pool);
	st0 = stats(pool);
	CHECK(st0.meta_desc_bytes == 0 && st0.meta_handle_bytes == 0);
	pages_small = pool->size_class[zs_size_index(SMALL + ZS_HANDLE_SIZE)]->pages_per_zspage;
	desc_small = zs_desc_size(pages_small);

	/* One object: one descriptor of its class's size, one chunk, a table of 8. */
	small[0] = zs_malloc(pool, SMALL);
	check_handle(small[0]);
	st = stats(pool);
	CHECKF(st.meta_desc_bytes == desc_small, "desc %lu, want %zu", st.meta_desc_bytes,
	       desc_small);
	CHECKF(st.meta_handle_bytes == ZS_HCHUNK_SIZE + 8 * sizeof(void *), "handles %lu",
	       st.meta_handle_bytes);

	/* A chunk per ZS_HCHUNK_CELLS handles, no more. */
	for (i = 1; i < NSMALL; i++) {
		small[i] = zs_malloc(pool, SMALL);
		check_handle(small[i]);
		zs_obj_write(pool, small[i], &i, sizeof(i));
	}
	st = stats(pool);
	CHECK(st.meta_handle_bytes == 8 * ZS_HCHUNK_SIZE + 8 * sizeof(void *));
	CHECK(st.meta_desc_bytes == st.zspages * desc_small);

	/*
	 * The ninth chunk: its table must grow, and that fails (the second OS allocation
	 * from now: the chunk, then the table). The chunk is kept, and the retry uses it.
	 */
	zs_fault_inject(2);
	errno = 0;
	CHECK(zs_malloc(pool, SMALL) == 0 && errno == ENOMEM);
	zs_fault_inject(0);
	st = stats(pool);
	CHECK(st.meta_handle_bytes == 9 * ZS_HCHUNK_SIZE + 8 * sizeof(void *));
	small[NSMALL] = zs_malloc(pool, SMALL);
	check_handle(small[NSMALL]);
	st = stats(pool);
	CHECKF(st.meta_handle_bytes == 9 * ZS_HCHUNK_SIZE + 16 * sizeof(void *),
	       "handles %lu", st.meta_handle_bytes);
	CHECK(zs_pool_check(pool) == 0);

	/* Huge objects: a 48-byte descriptor each (one page, one object). */
	st0 = stats(pool);
	for (i = 0; i < NHUGE; i++) {
		huge[i] = zs_malloc(pool, ZSM_PAGE_SIZE);
		check_handle(huge[i]);
		zs_obj_write(pool, huge[i], &i, sizeof(i));
	}
	st = stats(pool);
	CHECK(zs_desc_size(1) == 48);
	CHECKF(st.meta_desc_bytes - st0.meta_desc_bytes == NHUGE * zs_desc_size(1),
	       "huge descriptors took %lu bytes", st.meta_desc_bytes - st0.meta_desc_bytes);

	/* Freed and allocated again: descriptors and cells are reused, nothing carved. */
	for (i = 0; i < NHUGE; i++)
		zs_free(pool, huge[i]);
	st0 = stats(pool);
	for (i = 0; i < NHUGE; i++) {
		huge[i] = zs_malloc(pool, ZSM_PAGE_SIZE);
		check_handle(huge[i]);
	}
	st = stats(pool);
	CHECK(st.meta_desc_bytes == st0.meta_desc_bytes);
	CHECK(st.meta_handle_bytes == st0.meta_handle_bytes);
	CHECK(st.meta_bytes == st0.meta_bytes);
	CHECK(zs_pool_check(pool) == 0);

	for (i = 0; i <= NSMALL; i++) {
		if (i && i < NSMALL) {
			unsigned int v = 0;

			zs_obj_read(pool, small[i], &v, sizeof(v));
			CHECK(v == i);
		}
		zs_free(pool, small[i]);
	}
	for (i = 0; i < NHUGE; i++)
		zs_free(pool, huge[i]);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
	return 0;
}
