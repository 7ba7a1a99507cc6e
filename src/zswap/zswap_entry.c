/* SPDX-License-Identifier: MIT */
/*
 * The entry life cycle below publication: LRU insertion, the owner's free (now or
 * through the deferred framework), decompression, and dropping whatever a slot holds.
 * The rules (who may free, what the LRU may hold) are in zswap_internal.h.
 */
#include <stdlib.h>

#include "zswap_internal.h"

void _zswap_lru_add(struct zswap *zs, struct zswap_entry *e)
{
	pthread_mutex_lock(&zs->lru_lock);
	zsm_list_add(&e->lru, &zs->lru);
	zsm_add_relaxed(&zs->lru_nr, 1);
	pthread_mutex_unlock(&zs->lru_lock);
}

/* The full free of an unpublished entry that the caller owns. */
void _zswap_entry_free(struct zswap *zs, struct zswap_entry *e)
{
	pthread_mutex_lock(&zs->lru_lock);
	zsm_list_del(&e->lru);
	zsm_sub_relaxed(&zs->lru_nr, 1);
	pthread_mutex_unlock(&zs->lru_lock);

	zs_free(zs->pool, e->handle);
	if (entry_is_raw(e))
		zsm_sub_relaxed(&zs->c.stored_incompressible_pages, 1);
	zsm_sub_relaxed(&zs->c.stored_pages, 1);
	free(e);
}

/* Frees an unpublished entry, through the deferred framework when configured. */
void _zswap_entry_release(struct zswap *zs, struct zswap_entry *e)
{
	if (zs->deferred && zs_free_deferred(zs->pool, (unsigned long)e)) {
		zsm_add_relaxed(&zs->c.deferred_invalidates, 1);
		return;
	}
	/* Not enabled or no spare buffer page: free on the caller's time, as the
	 * framework requires. */
	_zswap_entry_free(zs, e);
}

int _zswap_entry_decompress(struct zswap *zs, const struct zswap_entry *e, void *page)
{
	unsigned char local[ZSM_PAGE_SIZE];
	const void *src;
	int ret;

	if (entry_is_raw(e)) {
		zs_obj_read(zs->pool, e->handle, page, ZSM_PAGE_SIZE);
		return 0;
	}
	src = zs_obj_read_begin(zs->pool, e->handle, e->length, local);
	ret = zcomp_decompress(zs->comp, src, e->length, page, ZSM_PAGE_SIZE);
	zs_obj_read_end(zs->pool, e->handle, src);
	return ret;
}

/* Unpublishes and releases whatever the slot holds. */
void _zswap_slot_drop(struct zswap *zs, struct zswap_tree *t, uint64_t off)
{
	struct zswap_stripe *s = stripe_of(t, off);
	struct zswap_entry *e;

	pthread_mutex_lock(&s->lock);
	e = slot_settle(t, s, off);
	if (e) {
		t->slots[off] = NULL;
	} else if (zero_test(t, off)) {
		zero_clear(t, off);
		zsm_sub_relaxed(&zs->c.zero_pages, 1);
		zsm_sub_relaxed(&zs->c.stored_pages, 1);
	}
	pthread_mutex_unlock(&s->lock);
	if (e)
		_zswap_entry_release(zs, e);
}
