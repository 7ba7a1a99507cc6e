/* SPDX-License-Identifier: MIT */
/*
 * compact.c - zs_compact(): per class, move objects from the emptiest zspages into
 * the fullest and release the zspages that empty.
 *
 * A class is worth compacting while (obj_allocated - obj_used) >= objs_per_zspage:
 * then the free slots outside the emptiest zspage can hold all its objects, so
 * emptying it always succeeds and frees pages_per_zspage pages.
 *
 * Per source zspage, with the class lock held:
 *   1. write-trylock the source (readers inside it make us give up on this class
 *      for now; a few retries first), take it off its fullness list;
 *   2. for each allocated slot: take a slot in the fullest non-full zspage, copy the
 *      payload, store the new location in the handle cell (release), free the old slot;
 *   3. write-unlock; if the source is empty, drop the class lock and release it.
 * zs_free never misses a move: it takes the class lock and re-reads the cell.
 * Readers that loaded the old location find the cell changed after read-locking.
 *
 * Then the zspages left partly used are shrunk (zspages are elastic, see
 * zs_internal.h): each one's objects above its first inuse slots move down into its
 * holes, under the same write lock, and the pages no slot below the new bump
 * reaches are madvised at once (they stay reserved for the zspage). After a free of a random half, that is what brings a class from
 * one half-empty zspage of pages_per_zspage pages down to the pages its objects
 * fill.
 */
#include <sched.h>

#include "zs_internal.h"

#define ZS_TRYLOCK_TRIES	64

/* The emptiest zspage that is not empty: lowest set bit of nonempty within 1..10. */
static struct zspage *zs_find_source(struct size_class *class)
{
	unsigned int mask = class->nonempty & ~(1u << ZS_FULLNESS_FULL) &
			    ~(1u << ZS_FULLNESS_EMPTY);

	if (!mask)
		return NULL;
	return zsm_container_of(class->fullness_list[__builtin_ctz(mask)].prev,
			       struct zspage, node);
}

static struct zspage *zs_find_dest(struct size_class *class)
{
	unsigned int mask = class->nonempty & ~(1u << ZS_FULLNESS_FULL);

	if (!mask)
		return NULL;
	return zsm_container_of(class->fullness_list[31 - __builtin_clz(mask)].next,
			       struct zspage, node);
}

/* Copies slot idx of src to slot didx of dst and points the handle there. */
static void zs_move_payload(struct size_class *class, struct zspage *src, unsigned int idx,
			    struct zspage *dst, unsigned int didx, unsigned long handle)
{
	unsigned char buf[ZSM_PAGE_SIZE];
	size_t len = class->size - class->hdr;

	zs_copy_out(class, src, idx, class->hdr, buf, len);
	zs_copy_in(class, dst, didx, class->hdr, buf, len);
	/* Release: the bytes just copied are visible to whoever loads the new location. */
	zsm_store_release(zs_cell(handle), zs_loc_encode(dst, didx, class->index));
}

/* Returns the pages dst populated for the object: they count against what we free. */
static unsigned int zs_migrate_obj(struct zs_pool *pool, struct size_class *class,
				   struct zspage *src, unsigned int idx, struct zspage *dst,
				   unsigned long handle)
{
	unsigned int had = dst->nr_pages, didx = zs_obj_alloc(pool, class, dst, handle);

	zs_move_payload(class, src, idx, dst, didx, handle);
	zs_obj_free(class, src, idx);
	zs_fix_fullness(class, dst);
	return dst->nr_pages - had;
}

/*
 * Shrinks zp (on a fullness list, class->lock held) to the pages its inuse objects
 * need: objects in slots >= inuse move into the holes below inuse, bump drops to
 * inuse and the pages above are given back to the OS but stay reserved for zp.
 * Returns their number: 0 when nothing would be freed or a reader is inside zp.
 */
static unsigned int zs_zspage_shrink(struct zs_pool *pool, struct size_class *class,
				     struct zspage *zp)
{
	unsigned int live = zp->inuse, keep = zs_pages_for(class, live), lo, hi, k, n;

	if (zp->freeobj == ZS_NO_FREE || keep >= zp->nr_pages || !class->hdr ||
	    !zs_zspage_write_trylock(zp))
		return 0;
	/*
	 * As many holes lie below live as objects at or above it (bump - free = live):
	 * pair them off, lowest hole with highest object.
	 */
	for (lo = 0, hi = zp->bump;; lo++) {
		uint32_t w;

		while (lo < live && (*zs_slot_word(class, zp, lo) & 1))
			lo++;
		if (lo == live)
			break;
		do
			w = *zs_slot_word(class, zp, --hi);
		while (!(w & 1));
		zs_asan_slot(class, zp, lo, class->hdr, false);
		*zs_slot_word(class, zp, lo) = w;
		zs_move_payload(class, zp, hi, zp, lo, zs_tag_handle(class, w));
	}
	/* [0, live) is all allocated: no free list; the slots above are fresh again. */
	for (k = live; k < zp->bump; k++)
		zs_asan_slot(class, zp, k, 0, true);
	zp->freeobj = ZS_NO_FREE;
	zp->bump = (uint16_t)live;
	n = zp->nr_pages - keep;
#ifdef ZSMEM_ASAN
	for (k = keep; k < zp->nr_pages; k++)
		ASAN_UNPOISON_MEMORY_REGION(zs_page_addr(zp, k), ZSM_PAGE_SIZE);
#endif
	/*
	 * Now, under the class lock: once we drop it, an allocation may populate these
	 * pages again, and a reserved page must hold no memory (nor data to zap).
	 */
	zs_pages_clean(pool, zp->page + keep, n);
	zp->nr_pages = (uint8_t)keep;
	class->pages -= n;
	zsm_sub_relaxed(&pool->total_pages, n);
	/* Release: the new locations are visible to the next reader of zp. */
	zs_zspage_write_unlock(zp);
	return n;
}

/* Shrinks every partly used zspage of class, class->lock held; returns pages freed. */
static unsigned long zs_shrink_class(struct zs_pool *pool, struct size_class *class)
{
	unsigned long freed = 0;
	unsigned int g;

	for (g = ZS_FULLNESS_EMPTY + 1; g < ZS_FULLNESS_FULL; g++) {
		struct zsm_list *n;

		/* Shrinking keeps inuse, so zp stays on this list. */
		for (n = class->fullness_list[g].next; n != &class->fullness_list[g];
		     n = n->next)
			freed += zs_zspage_shrink(pool, class,
						  zsm_container_of(n, struct zspage, node));
	}
	return freed;
}

/* Returns the pages the class gave back, net of those its zspages grew meanwhile. */
static unsigned long zs_compact_class(struct zs_pool *pool, struct size_class *class)
{
	unsigned long freed = 0, grown = 0;

	if (class->objs_per_zspage == 1)
		return 0;	/* huge: nothing to gain */
	if (pool->flags & ZS_POOL_LEGACY_LOCK)
		pthread_rwlock_wrlock(&pool->legacy_lock);
	pthread_mutex_lock(&class->lock);
	while (class->obj_allocated - class->obj_used >= class->objs_per_zspage) {
		struct zspage *src = zs_find_source(class), *dst;
		unsigned int idx, tries = 0;

		if (!src)
			break;
		while (!zs_zspage_write_trylock(src) && ++tries < ZS_TRYLOCK_TRIES)
			zsm_cpu_relax();
		if (tries == ZS_TRYLOCK_TRIES)
			break;	/* readers are inside: try again at the next zs_compact */
		zs_isolate_zspage(class, src);
		for (idx = 0; src->inuse && idx < src->bump; idx++) {
			uint32_t w = *zs_slot_word(class, src, idx);

			if (!(w & 1))
				continue;	/* free slot */
			dst = zs_find_dest(class);
			if (!dst)
				break;
			grown += zs_migrate_obj(pool, class, src, idx, dst,
						zs_tag_handle(class, w));
		}
		zs_zspage_write_unlock(src);
		if (src->inuse) {
			zs_putback_zspage(class, src);
			break;
		}
		zs_remove_zspage(class, src);
		freed += src->nr_pages;
		/* Let allocators and freers in, and give the pages back without the lock. */
		pthread_mutex_unlock(&class->lock);
		zs_zspage_release(pool, src);
		pthread_mutex_lock(&class->lock);
	}
	freed += zs_shrink_class(pool, class);
	pthread_mutex_unlock(&class->lock);
	freed = freed > grown ? freed - grown : 0;
	if (pool->flags & ZS_POOL_LEGACY_LOCK)
		pthread_rwlock_unlock(&pool->legacy_lock);
	return freed;
}

ZS_API unsigned long zs_compact(struct zs_pool *pool)
{
	unsigned long freed = 0;
	unsigned int i;

	for (i = 0; i < pool->nr_classes; i++)
		freed += zs_compact_class(pool, &pool->classes[i]);
	zs_pages_flush(pool);	/* compaction's promise: the pages are really gone */
	zsm_add_relaxed(&pool->pages_compacted, freed);
	return freed;
}
