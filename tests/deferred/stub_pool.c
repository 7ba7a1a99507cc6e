/* SPDX-License-Identifier: MIT */
/*
 * The allocator symbols pool_glue.c refers to, for the framework tests that never
 * create a pool: they link without src/zsmalloc and abort if ever reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include <zsmem/zsmalloc.h>

static void stub_called(const char *fn)
{
	fprintf(stderr, "stub %s called: this test must not use a pool\n", fn);
	abort();
}

void zs_free(struct zs_pool *pool, unsigned long handle)
{
	(void)pool;
	(void)handle;
	stub_called(__func__);
}

void zs_free_batch(struct zs_pool *pool, unsigned long *handles, size_t n)
{
	(void)pool;
	(void)handles;
	(void)n;
	stub_called(__func__);
}

unsigned int zs_handle_class(struct zs_pool *pool, unsigned long handle)
{
	(void)pool;
	(void)handle;
	stub_called(__func__);
	return 0;
}
