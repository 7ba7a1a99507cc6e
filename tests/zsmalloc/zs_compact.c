/* SPDX-License-Identifier: MIT */
/* Compaction keeps every object's bytes, frees pages (as many as freeable said), counts
 * them in pages_compacted, leaves nothing freeable, and a second pass frees nothing. */
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
	CHECKF(freed == freeable, "freed %lu, freeable was %lu", freed, freeable);
	CHECK(before - after == freed);
	CHECK(total_freeable(pool) == 0);
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
