/* SPDX-License-Identifier: MIT */
/* The OS refusing memory (fault injection): every OS allocation point is failed in
 * turn; zs_create_pool / zs_malloc return NULL / 0 with ENOMEM, nothing is leaked or
 * half-built, and the pool works again once memory is there. */
#include <errno.h>
#include <stdlib.h>

#include "zsmem/zsmalloc.h"
#include "zsmalloc/zs_internal.h"
#include "zsmem_test.h"

#define N 600

static unsigned long h[N];

/* Fill until the nth OS allocation fails; the pool must stay whole and usable. */
static int inject(long nth)
{
	struct zs_pool *pool;
	unsigned long long s = 5;
	int i, failed = -1;

	zs_fault_inject(nth);
	pool = zs_create_pool("inject");
	if (!pool) {
		CHECK(errno == ENOMEM);
		zs_fault_inject(0);
		return 1;
	}
	for (i = 0; i < N; i++) {
		size_t len = 1 + t_rand(&s) % 4096;

		errno = 0;
		h[i] = zs_malloc(pool, len);
		if (!h[i]) {
			CHECKF(errno == ENOMEM, "errno %d", errno);
			failed = i;
			break;
		}
		zs_obj_write(pool, h[i], &i, sizeof(i));
	}
	zs_fault_inject(0);
	CHECK(zs_pool_check(pool) == 0);
	if (failed >= 0) {
		/* The failed request succeeds once memory is there again. */
		h[failed] = zs_malloc(pool, 100);
		CHECK(h[failed]);
		zs_obj_write(pool, h[failed], &failed, sizeof(failed));
		CHECK(zs_pool_check(pool) == 0);
		for (i = 0; i <= failed; i++) {
			int v;

			zs_obj_read(pool, h[i], &v, sizeof(v));
			CHECK(v == i);
			zs_free(pool, h[i]);
		}
	} else {
		for (i = 0; i < N; i++)
			zs_free(pool, h[i]);
	}
	CHECK(zs_get_total_pages(pool) == 0);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
	return failed >= 0;
}

int main(void)
{
	long nth;

	/* Each OS allocation point in turn, until a run needs no more than given. */
	for (nth = 1; nth < 2000; nth++)
		if (!inject(nth))
			break;
	CHECKF(nth > 10 && nth < 2000, "nth %ld", nth);
	return T_PASS;
}
