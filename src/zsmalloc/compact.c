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
	return zs_container_of(class->fullness_list[__builtin_ctz(mask)].prev,
			       struct zspage, node);
}

static struct zspage *zs_find_dest(struct size_class *class)
{
	unsigned int mask = class->nonempty & ~(1u << ZS_FULLNESS_FULL);

	if (!mask)
		return NULL;
	return zs_container_of(class->fullness_list[31 - __builtin_clz(mask)].next,
			       struct zspage, node);
}

static void zs_migrate_obj(struct size_class *class, struct zspage *src, unsigned int idx,
			   struct zspage *dst, unsigned long handle)
{
	unsigned char buf[ZS_PAGE_SIZE];
	size_t len = class->size - class->hdr;
	unsigned int didx = zs_obj_alloc(class, dst, handle);

	zs_copy_out(class, src, idx, class->hdr, buf, len);
	zs_copy_in(class, dst, didx, class->hdr, buf, len);
	/* Release: the bytes just copied are visible to whoever loads the new location. */
	zs_store_release(zs_cell(handle), zs_loc_encode(dst, didx, class->index));
	zs_obj_free(class, src, idx);
	zs_fix_fullness(class, dst);
}

static unsigned long zs_compact_class(struct zs_pool *pool, struct size_class *class)
{
	unsigned long freed = 0;

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
			zs_cpu_relax();
		if (tries == ZS_TRYLOCK_TRIES)
			break;	/* readers are inside: try again at the next zs_compact */
		zs_isolate_zspage(class, src);
		for (idx = 0; src->inuse && idx < class->objs_per_zspage; idx++) {
			unsigned long w = *zs_slot_word(class, src, idx);

			if (!(w & 1))
				continue;	/* free slot */
			dst = zs_find_dest(class);
			if (!dst)
				break;
			zs_migrate_obj(class, src, idx, dst, w & ~1UL);
		}
		zs_zspage_write_unlock(src);
		if (src->inuse) {
			zs_putback_zspage(class, src);
			break;
		}
		zs_remove_zspage(class, src);
		freed += class->pages_per_zspage;
		/* Let allocators and freers in, and give the pages back without the lock. */
		pthread_mutex_unlock(&class->lock);
		zs_zspage_release(pool, src);
		pthread_mutex_lock(&class->lock);
	}
	pthread_mutex_unlock(&class->lock);
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
	zs_counter_add(&pool->pages_compacted, freed);
	return freed;
}
