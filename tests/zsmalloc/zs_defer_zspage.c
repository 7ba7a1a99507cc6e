/* SPDX-License-Identifier: MIT */
/* ZS_POOL_DEFER_ZSPAGE_FREE: emptied zspages are released by a background thread;
 * zs_get_total_pages counts them until it has, then falls to 0; destroying a pool with
 * releases still queued is clean. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define N 20000

static unsigned long h[N], odd[N / 2];

int main(void)
{
	struct zs_pool_config cfg = { .flags = ZS_POOL_DEFER_ZSPAGE_FREE };
	struct zs_pool *pool;
	unsigned long long s = 1;
	struct timespec ms = { 0, 1000000 };
	int round, waited;

	for (round = 0; round < 2; round++) {
		pool = zs_create_pool_ex("defer", &cfg);
		CHECK(pool);
		for (int i = 0; i < N; i++) {
			h[i] = zs_malloc(pool, 1 + t_rand(&s) % 4096);
			CHECK(h[i]);
			zs_obj_write(pool, h[i], &i, sizeof(i));
		}
		CHECK(zs_get_total_pages(pool) > 0);
		for (int i = 0; i < N; i += 2)
			zs_free(pool, h[i]);
		zs_compact(pool);
		for (int i = 1; i < N; i += 2) {
			int v;

			zs_obj_read(pool, h[i], &v, sizeof(v));
			CHECK(v == i);
		}
		CHECK(zs_pool_check(pool) == 0);
		/* The odd ones are live: batch-free the first half of them. */
		for (int i = 0; i < N / 2; i++)
			odd[i] = h[2 * i + 1];
		zs_free_batch(pool, odd, N / 4);
		CHECK(zs_pool_check(pool) == 0);
		if (round == 0) {
			zs_free_batch(pool, odd + N / 4, N / 2 - N / 4);
			for (waited = 0; zs_get_total_pages(pool) && waited < 5000; waited++)
				nanosleep(&ms, NULL);
			CHECKF(zs_get_total_pages(pool) == 0, "%lu pages never released",
			       zs_get_total_pages(pool));
			CHECK(zs_pool_check(pool) == 0);
		}
		/* round 1: destroy with live objects and releases possibly queued */
		zs_destroy_pool(pool);
	}
	return T_PASS;
}
