/* SPDX-License-Identifier: MIT */
/* Compaction keeps every object's bytes, frees pages (at least as many as freeable
 * said, more from shrinking the zspages left partly used), counts them in
 * pages_compacted, leaves nothing freeable and every partly used zspage shrunk to the
 * pages its objects reach, and a second pass frees nothing. */
#include <stdlib.h>
#include <string.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define N 40000

static unsigned long h[N];
static unsigned short len[N];

static void pattern(unsigned char *p, size_t n, unsigned long i)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (unsigned char)(i * 131 + k * 17);
}

static unsigned long total_freeable(struct zs_pool *pool)
{
	struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
	unsigned int n = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);
	unsigned long f = 0;

	for (unsigned int i = 0; i < n; i++)
		f += rows[i].freeable;
	return f;
}

/*
 * After compaction (single-threaded: no reader blocks a shrink) each class holds its
 * full zspages plus, per partly used zspage, the pages its objects reach: less than
 * one page more each than the objects' bytes.
 */
static void check_shrunk(struct zs_pool *pool)
{
	struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
	unsigned int n = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);

	for (unsigned int i = 0; i < n; i++) {
		const struct zs_class_stats *r = &rows[i];
		unsigned long full = r->fullness[ZS_NR_FULLNESS - 1], partial = 0;
		unsigned long long bytes;

		for (unsigned int g = 1; g < ZS_NR_FULLNESS - 1; g++)
			partial += r->fullness[g];
		bytes = (unsigned long long)full * r->pages_per_zspage * 4096 +
			(unsigned long long)(r->obj_used - full * r->objs_per_zspage) * r->size;
		CHECKF((unsigned long long)r->pages_used * 4096 < bytes + partial * 4096 ||
		       r->pages_used == full * r->pages_per_zspage,
		       "class %u: %lu pages for %lu objects (%lu full zspages, %lu partial)",
		       r->index, r->pages_used, r->obj_used, full, partial);
	}
}

int main(void)
{
	struct zs_pool *pool = zs_create_pool("compact");
	unsigned char buf[4096], want[4096];
	unsigned long long s = 7;
	unsigned long before, after, freed, freeable, i;
	struct zs_pool_stats st;

	CHECK(pool);
	for (i = 0; i < N; i++) {
		len[i] = (unsigned short)(1 + t_rand(&s) % 3000);
		h[i] = zs_malloc(pool, len[i]);
		CHECK(h[i]);
		pattern(buf, len[i], i);
		zs_obj_write(pool, h[i], buf, len[i]);
	}
	/* Free two objects in three, at random. */
	for (i = 0; i < N; i++) {
		if (t_rand(&s) % 3) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	}
	CHECK(zs_pool_check(pool) == 0);
	before = zs_get_total_pages(pool);
	freeable = total_freeable(pool);
	CHECK(freeable > before / 4);
	freed = zs_compact(pool);
	after = zs_get_total_pages(pool);
	CHECKF(freed > freeable, "freed %lu, freeable was %lu", freed, freeable);
	CHECKF(before - after == freed, "before %lu after %lu freed %lu", before, after, freed);
	CHECK(total_freeable(pool) == 0);
	check_shrunk(pool);
	CHECK(zs_pool_check(pool) == 0);
	zs_pool_stats(pool, &st);
	CHECK(st.pages_compacted == freed);
	for (i = 0; i < N; i++) {
		if (!h[i])
			continue;
		pattern(want, len[i], i);
		zs_obj_read(pool, h[i], buf, len[i]);
		CHECKF(!memcmp(buf, want, len[i]), "object %lu (%u bytes) changed", i, len[i]);
	}
	CHECK(zs_compact(pool) == 0);
	for (i = 0; i < N; i++)
		zs_free(pool, h[i]);
	CHECK(zs_get_total_pages(pool) == 0);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
	return T_PASS;
}
