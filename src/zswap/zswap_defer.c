/* SPDX-License-Identifier: MIT */
/*
 * Deferred invalidate: the zs_deferred_ops that queue entry pointers (512 per buffer
 * page) and the drain that frees them in batches, and zswap_flush().
 */
#include <stdlib.h>

#include "zswap_internal.h"

static enum zs_push_ret zswap_defer_push(void *buf, unsigned int count, unsigned long value)
{
	/* Runs inside the framework's per-CPU critical section: one store, nothing else. */
	if (count >= ZSWAP_DEFER_PER_PAGE)
		return ZS_PUSH_FULL;
	((void **)buf)[count] = (void *)value;
	return count + 1 == ZSWAP_DEFER_PER_PAGE ? ZS_PUSH_FULL_QUEUED : ZS_PUSH_OK;
}

static void zswap_defer_drain(void *private, void *buf, unsigned int count)
{
	struct zswap *zs = private;
	struct zswap_entry **v = buf;
	unsigned long handles[ZSWAP_DEFER_PER_PAGE];
	unsigned int done, i, n;
	uint64_t raw = 0;

	/* One lru_lock hold for the whole batch instead of one per entry. */
	pthread_mutex_lock(&zs->lru_lock);
	for (i = 0; i < count; i++)
		zsm_list_del(&v[i]->lru);
	zsm_sub_relaxed(&zs->lru_nr, count);
	pthread_mutex_unlock(&zs->lru_lock);

	/*
	 * Our push() never fills more than one page, but a mode that hands over a larger
	 * array of our values (v2's) is still freed completely, one page-worth at a time.
	 */
	for (done = 0; done < count; done += n) {
		n = count - done < ZSWAP_DEFER_PER_PAGE ? count - done :
			(unsigned int)ZSWAP_DEFER_PER_PAGE;
		for (i = 0; i < n; i++) {
			handles[i] = v[done + i]->handle;
			raw += entry_is_raw(v[done + i]);
			free(v[done + i]);
		}
		/* Grouped by class: one class-lock hold per run of same-class handles. */
		zs_free_batch(zs->pool, handles, n);
	}
	zsm_sub_relaxed(&zs->c.stored_incompressible_pages, raw);
	zsm_sub_relaxed(&zs->c.stored_pages, count);
}

const struct zs_deferred_ops _zswap_defer_ops = {
	.push = zswap_defer_push,
	.drain = zswap_defer_drain,
};


ZS_API void zswap_flush(struct zswap *zs)
{
	if (zs && zs->deferred)
		zs_deferred_flush(zs->pool);
}
