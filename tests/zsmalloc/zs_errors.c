/* SPDX-License-Identifier: MIT */
/* Bad input: zs_malloc(0) -> EINVAL, > 4096 -> ENOSPC, zs_free(pool, 0) and an empty
 * zs_free_batch() are no-ops. The OS refusing memory: zs_oom_inject.c, zs_oom_rlimit.c. */
#include <errno.h>
#include <stdlib.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

int main(void)
{
	struct zs_pool *pool = zs_create_pool("errors");

	CHECK(pool);
	errno = 0;
	CHECK(zs_malloc(pool, 0) == 0 && errno == EINVAL);
	errno = 0;
	CHECK(zs_malloc(pool, 4097) == 0 && errno == ENOSPC);
	errno = 0;
	CHECK(zs_malloc(pool, (size_t)-1) == 0 && errno == ENOSPC);
	CHECK(zs_malloc(pool, 4096) != 0);
	zs_free(pool, 0);
	zs_free_batch(pool, NULL, 0);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
	return T_PASS;
}
