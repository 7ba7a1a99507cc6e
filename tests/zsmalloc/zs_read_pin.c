/* SPDX-License-Identifier: MIT */
/* An object mapped with zs_obj_read_begin() does not move until zs_obj_read_end():
 * compaction in another thread leaves it (and its zspage) in place, and moves it
 * once it is unmapped. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define N 4000

static struct zs_pool *pool;
static unsigned long h[N];
static unsigned long freed_while_pinned;

static void *compact_thread(void *arg)
{
	(void)arg;
	freed_while_pinned = zs_compact(pool);
	return NULL;
}

int main(void)
{
	unsigned char buf[512], copy[512];
	const unsigned char *p;
	pthread_t t;
	unsigned long i, pin = N - 1, after;

	pool = zs_create_pool("pin");
	CHECK(pool);
	for (i = 0; i < N; i++) {
		memset(buf, (int)(i & 0xff), sizeof(buf));
		h[i] = zs_malloc(pool, 200);
		CHECK(h[i]);
		zs_obj_write(pool, h[i], buf, 200);
	}
	/* Leave the last-allocated object's zspage nearly empty: compaction's first pick. */
	for (i = 0; i < N - 1; i++)
		if (i % 4 || i >= N - 40) {
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	p = zs_obj_read_begin(pool, h[pin], 200, copy);
	CHECK(pthread_create(&t, NULL, compact_thread, NULL) == 0);
	pthread_join(t, NULL);
	/* Still mapped: the bytes are where the pointer says. */
	for (i = 0; i < 200; i++)
		CHECK(p[i] == (pin & 0xff));
	zs_obj_read_end(pool, h[pin], p);
	CHECK(zs_pool_check(pool) == 0);
	after = zs_compact(pool);
	CHECKF(freed_while_pinned + after > 0, "nothing compacted");
	zs_obj_read(pool, h[pin], buf, 200);
	for (i = 0; i < 200; i++)
		CHECK(buf[i] == (pin & 0xff));
	for (i = 0; i < N; i++) {
		if (!h[i])
			continue;
		zs_obj_read(pool, h[i], buf, 200);
		CHECK(buf[0] == (i & 0xff) && buf[199] == (i & 0xff));
		zs_free(pool, h[i]);
	}
	CHECK(zs_get_total_pages(pool) == 0);
	zs_destroy_pool(pool);
	return T_PASS;
}
