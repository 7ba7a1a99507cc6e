/* SPDX-License-Identifier: MIT */
/*
 * pool_glue.c - the public zs_* deferred free functions: attach a struct zs_deferred
 * to a pool through the zs_pool_hooks seam, and the built-in ops for plain handles.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "deferred.h"
#include "zsmalloc/zs_hooks.h"

#define ZSD_HANDLES_PER_PAGE	(ZSM_PAGE_SIZE / sizeof(unsigned long))

/* ---------------------------------------------------------------------------------- */
/* Built-in ops: a page is an array of 512 handles. */

static enum zs_push_ret zsd_handle_push(void *buf, unsigned int count, unsigned long value)
{
	unsigned long *h = buf;

	if (count >= ZSD_HANDLES_PER_PAGE)
		return ZS_PUSH_FULL;
	h[count] = value;
	return count + 1 == ZSD_HANDLES_PER_PAGE ? ZS_PUSH_FULL_QUEUED : ZS_PUSH_OK;
}

/* Grouped: one class-lock acquisition per run of same-class handles (allocator side). */
static void zsd_handle_drain_grouped(void *private, void *buf, unsigned int count)
{
	zs_free_batch(private, buf, count);
}

/* v3's plain drain: the same frees the caller would have done, one by one. */
static void zsd_handle_drain_plain(void *private, void *buf, unsigned int count)
{
	unsigned long *h = buf;
	unsigned int i;

	for (i = 0; i < count; i++)
		zs_free(private, h[i]);
}

static unsigned int zsd_handle_route(void *private, unsigned long value)
{
	return zs_handle_class(private, value);
}

static const struct zs_deferred_ops zsd_handle_ops_grouped = {
	.push = zsd_handle_push,
	.drain = zsd_handle_drain_grouped,
};

static const struct zs_deferred_ops zsd_handle_ops_plain = {
	.push = zsd_handle_push,
	.drain = zsd_handle_drain_plain,
};

/* ---------------------------------------------------------------------------------- */
/* Attaching to a pool */

static void zsd_pool_teardown(struct zs_pool *pool)
{
	struct zs_pool_hooks *h = zs_pool_hooks(pool);
	struct zs_deferred *d = h->deferred;

	/* zs_destroy_pool() races with nothing: plain accesses are enough. */
	h->deferred = NULL;
	h->deferred_teardown = NULL;
	zsd_destroy(d);
}

static int zsd_attach(struct zs_pool *pool, const struct zs_deferred_ops *ops, void *private,
		      const struct zs_deferred_config *cfg, const struct zsd_extra *extra)
{
	struct zs_pool_hooks *h;
	struct zs_deferred *d, *expected = NULL;

	if (!pool || !ops || !ops->push || !ops->drain)
		return -EINVAL;
	h = zs_pool_hooks(pool);
	if (zsm_load_acquire(&h->deferred))
		return -EBUSY;
	d = zsd_create(ops, private, cfg, extra);
	if (!d)
		return -errno;
	h->deferred_teardown = zsd_pool_teardown;
	/*
	 * Publish with a release CAS: two racing enables cannot both win, and a pusher
	 * that loads the pointer (acquire) sees a fully built object.
	 */
	if (!zsm_cas_strong_release(&h->deferred, &expected, d)) {
		zsd_destroy(d);
		return -EBUSY;
	}
	return 0;
}

ZS_API int zs_pool_enable_deferred_free_ex(struct zs_pool *pool, const struct zs_deferred_ops *ops,
					   void *private, const struct zs_deferred_config *cfg)
{
	if (cfg && cfg->mode == ZS_DEFER_PER_CLASS)
		return -EINVAL;		/* needs to know values are handles */
	return zsd_attach(pool, ops, private, cfg, NULL);
}

ZS_API int zs_pool_enable_deferred_free(struct zs_pool *pool, const struct zs_deferred_ops *ops,
					void *private)
{
	return zs_pool_enable_deferred_free_ex(pool, ops, private, NULL);
}

ZS_API int zs_pool_enable_deferred_handles(struct zs_pool *pool, bool grouped,
					   const struct zs_deferred_config *cfg)
{
	struct zsd_extra extra = {
		.route = zsd_handle_route,
		.nr_routes = ZS_NR_SIZE_SLOTS,
		.ulong_values = true,
	};

	return zsd_attach(pool, grouped ? &zsd_handle_ops_grouped : &zsd_handle_ops_plain, pool,
			  cfg, &extra);
}

static inline struct zs_deferred *zsd_of(struct zs_pool *pool)
{
	/* Acquire pairs with the release CAS in zsd_attach(); a plain load on x86-64. */
	return zsm_load_acquire(&zs_pool_hooks(pool)->deferred);
}

ZS_API bool zs_free_deferred(struct zs_pool *pool, unsigned long value)
{
	struct zs_deferred *d = zsd_of(pool);

	if (unlikely(!d))
		return false;
	return zsd_push(d, value);
}

ZS_API void zs_deferred_flush(struct zs_pool *pool)
{
	struct zs_deferred *d = zsd_of(pool);

	if (d)
		zsd_flush(d);
}

ZS_API void zs_deferred_get_stats(struct zs_pool *pool, struct zs_deferred_stats *st)
{
	struct zs_deferred *d = zsd_of(pool);

	if (d)
		zsd_get_stats(d, st);
	else
		memset(st, 0, sizeof(*st));
}
