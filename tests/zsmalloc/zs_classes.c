/* SPDX-License-Identifier: MIT */
/* The class table: distinct class counts and huge thresholds for chains 4, 8, 16, the
 * kernel's (the default) and ZS_POOL_DENSE_CLASSES; in the kernel's table a slot's
 * class has its own best geometry, in the dense one it costs at most 16 bytes per
 * object more (the merge slack, classes.c); chain sizes outside 4..16 and unknown
 * flags are rejected with EINVAL. */
#include <errno.h>
#include <stdlib.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

static void check_chain(unsigned int chain, bool dense, unsigned int want_classes,
			size_t want_huge)
{
	struct zs_pool_config cfg = { .chain_size = chain,
				      .flags = dense ? ZS_POOL_DENSE_CLASSES : 0 };
	struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
	struct zs_pool *pool = zs_create_pool_ex("classes", &cfg);
	unsigned int n, i;

	CHECK(pool);
	n = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);
	CHECKF(n == want_classes, "chain %u: %u classes, want %u", chain, n, want_classes);
	CHECKF(zs_huge_class_size(pool) == want_huge, "chain %u: huge %zu, want %zu", chain,
	       zs_huge_class_size(pool), want_huge);
	for (i = 0; i < n; i++) {
		CHECK(rows[i].size == 32 + 16 * rows[i].index);
		CHECK(rows[i].pages_per_zspage >= 1 && rows[i].pages_per_zspage <= (chain ? chain : 8));
		CHECK(rows[i].objs_per_zspage == rows[i].pages_per_zspage * 4096 / rows[i].size);
		if (i) {
			CHECK(rows[i].size > rows[i - 1].size);
			CHECK(rows[i].pages_per_zspage != rows[i - 1].pages_per_zspage ||
			      rows[i].objs_per_zspage != rows[i - 1].objs_per_zspage);
		}
	}
	CHECK(rows[0].size == 32 && rows[n - 1].size == 4096);
	/* Each multi-object slot: the class its requests land in, against its own best. */
	for (unsigned int size = 32; size + 16 < zs_huge_class_size(pool) + 8; size += 16) {
		unsigned int c = chain ? chain : ZS_DEFAULT_CHAIN, best = 1, k, objs;
		unsigned long h = zs_malloc(pool, size - 4);
		const struct zs_class_stats *r = NULL;

		for (k = 2; k <= c; k++)
			if ((k * 4096) % size < (best * 4096) % size)
				best = k;
		objs = best * 4096 / size;
		CHECK(h);
		for (i = 0; i < n; i++)
			if (rows[i].index == zs_handle_class(pool, h))
				r = &rows[i];
		CHECK(r && r->size >= size);
		if (!dense)	/* the kernel's table: exactly the slot's own geometry */
			CHECKF(r->objs_per_zspage * best == objs * r->pages_per_zspage,
			       "chain %u: slot %u (%u pages, %u objs) in class %u (%u, %u)", c,
			       size, best, objs, r->size, r->pages_per_zspage,
			       r->objs_per_zspage);
		else if (objs > 1)
			CHECKF((unsigned long)r->pages_per_zspage * 4096 * objs <=
			       (unsigned long)best * 4096 * r->objs_per_zspage +
			       16ul * objs * r->objs_per_zspage,
			       "chain %u: slot %u (%u pages, %u objs) in class %u (%u, %u)", c,
			       size, best, objs, r->size, r->pages_per_zspage,
			       r->objs_per_zspage);
		zs_free(pool, h);
	}
	CHECK(rows[n - 1].pages_per_zspage == 1 && rows[n - 1].objs_per_zspage == 1);
	zs_destroy_pool(pool);
}

int main(void)
{
	struct zs_pool_config bad = { .chain_size = 3 };
	struct zs_pool *pool;

	/* The kernel's rule (same geometry): DESIGN.md's 119 classes for chain 8. */
	check_chain(8, false, 119, 3625);
	check_chain(0, false, 119, 3625);	/* 0 = default chain 8 */
	check_chain(4, false, 69, 3257);
	check_chain(16, false, 192, 3833);
	check_chain(8, true, 92, 3625);
	check_chain(0, true, 92, 3625);
	check_chain(4, true, 55, 3257);
	check_chain(16, true, 128, 3833);

	errno = 0;
	CHECK(!zs_create_pool_ex("bad", &bad) && errno == EINVAL);
	bad.chain_size = 17;
	errno = 0;
	CHECK(!zs_create_pool_ex("bad", &bad) && errno == EINVAL);
	bad.chain_size = 8;
	bad.flags = 1u << 7;
	errno = 0;
	CHECK(!zs_create_pool_ex("bad", &bad) && errno == EINVAL);

	pool = zs_create_pool("named");
	CHECK(pool);
	CHECK(zs_pool_name(pool)[0] == 'n');
	CHECK(zs_get_total_pages(pool) == 0);
	zs_destroy_pool(pool);
	return T_PASS;
}
