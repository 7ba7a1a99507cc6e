/* SPDX-License-Identifier: MIT */
/*
 * The seam between the allocator (src/zsmalloc) and the deferred free framework
 * (src/deferred). struct zs_pool begins with a struct zs_pool_hooks, so the framework
 * reaches its per-pool state with one load and the allocator never names a symbol of
 * src/deferred: the allocator builds and tests on its own.
 */
#ifndef ZSMEM_ZS_HOOKS_H
#define ZSMEM_ZS_HOOKS_H

struct zs_pool;
struct zs_deferred;		/* defined in src/deferred */

struct zs_pool_hooks {
	/* Set once by zs_pool_enable_deferred_free*(); NULL while disabled. */
	struct zs_deferred *deferred;
	/* Called first by zs_destroy_pool() when set: drain and free the deferred state. */
	void (*deferred_teardown)(struct zs_pool *pool);
};

/* Valid because struct zs_pool's first member is a struct zs_pool_hooks. */
static inline struct zs_pool_hooks *zs_pool_hooks(struct zs_pool *pool)
{
	return (struct zs_pool_hooks *)(void *)pool;
}

#endif
