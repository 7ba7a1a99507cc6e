/* SPDX-License-Identifier: MIT */
/*
 * zsmalloc.c - pools, zs_malloc / zs_free / zs_free_batch, fullness groups and
 * object access. The data structure map and the lock ordering are at the top of
 * zs_internal.h; in short:
 *
 *   zs_malloc:  class lock -> pop a handle cell, take a slot from the fullest
 *               non-full zspage: a freed slot, else its next fresh slot,
 *               populating the reserved page it reaches (elastic zspages); a new
 *               zspage is built with the lock dropped
 *   zs_free:    cell -> class index -> class lock -> re-read cell -> free the slot;
 *               an emptied zspage is released after the lock is dropped.
 *               No pool-wide lock (unless ZS_POOL_LEGACY_LOCK).
 *   read/write: cell -> zspage read lock -> re-check cell -> copy -> unlock.
 *
 * Fullness groups: g(inuse) = 0 when empty, 11 when full, else 1 + 10*inuse/objs;
 * allocation takes the head of the highest non-empty group in 1..10 (a bit mask
 * finds it in O(1)); empty zspages are released at once, never kept in group 0.
 */
#include <errno.h>
#include <stdlib.h>

#include "zs_internal.h"

#define ZS_POISON	0x6b

/* ---------------------------------------------------------------------------------- */
/* Fullness lists (class->lock held)                                                   */

static void zs_group_add(struct size_class *class, struct zspage *zp, unsigned int g)
{
	zp->fullness = (uint8_t)g;
	zsm_list_add(&zp->node, &class->fullness_list[g]);
	class->nr_fullness[g]++;
	class->nonempty |= 1u << g;
}

static void zs_group_del(struct size_class *class, struct zspage *zp)
{
	unsigned int g = zp->fullness;

	zsm_list_del(&zp->node);
	if (--class->nr_fullness[g] == 0)
		class->nonempty &= ~(1u << g);
}

void zs_fix_fullness(struct size_class *class, struct zspage *zp)
{
	unsigned int g = zs_fullness(zp->inuse, class->objs_per_zspage);

	if (g != zp->fullness) {
		zs_group_del(class, zp);
		zs_group_add(class, zp, g);
	}
}

/* Takes zp off its list (compaction's source); counters other than the group stay. */
void zs_isolate_zspage(struct size_class *class, struct zspage *zp)
{
	zs_group_del(class, zp);
}

void zs_putback_zspage(struct size_class *class, struct zspage *zp)
{
	zs_group_add(class, zp, zs_fullness(zp->inuse, class->objs_per_zspage));
}

/* An isolated, empty zspage leaves the class. */
void zs_remove_zspage(struct size_class *class, struct zspage *zp)
{
	class->zspages--;
	class->obj_allocated -= class->objs_per_zspage;
	class->pages -= zp->nr_pages;
}

/* ---------------------------------------------------------------------------------- */
/* Slots (class->lock held)                                                            */

/*
 * With ZSMEM_ASAN, the payload of a freed slot (all but its free-list word) and the
 * whole of a fresh slot are poisoned, so a write past the end of an object into a
 * free neighbour is reported. Slot idx is (un)poisoned from byte `from` on. Huge
 * slots are not: their page goes back as soon as the object is freed.
 */
void zs_asan_slot(const struct size_class *class, const struct zspage *zp, unsigned int idx,
		  size_t from, bool poison)
{
#ifdef ZSMEM_ASAN
	size_t pos = (size_t)idx * class->size + from, len = class->size - from;

	if (!class->hdr)
		return;
	while (len) {
		size_t in = pos & ZSM_PAGE_MASK, n = ZSM_PAGE_SIZE - in;
		char *p = (char *)zs_page_addr(zp, (unsigned int)(pos >> ZSM_PAGE_SHIFT)) + in;

		if (n > len)
			n = len;
		if (poison)
			ASAN_POISON_MEMORY_REGION(p, n);
		else
			ASAN_UNPOISON_MEMORY_REGION(p, n);
		pos += n;
		len -= n;
	}
#else
	(void)class, (void)zp, (void)idx, (void)from, (void)poison;
#endif
}

/* Debug builds fill a freed object with ZS_POISON (its free-list word excepted). */
static void zs_poison(const struct size_class *class, const struct zspage *zp,
		      unsigned int idx)
{
#ifdef ZSMEM_DEBUG
	static const unsigned char junk[ZSM_PAGE_SIZE] = { [0 ... ZSM_PAGE_SIZE - 1] = ZS_POISON };

	zs_copy_in(class, zp, idx, class->hdr, junk, class->size - class->hdr);
#else
	(void)class, (void)zp, (void)idx;
#endif
	zs_asan_slot(class, zp, idx, class->hdr, true);
}

/*
 * Populates the reserved pages k = nr_pages..n-1 of zp, class->lock held: from now
 * on they count. They are zp's since it was built; resident freed pages replace them
 * when there are some (the page source lock nests inside the class lock).
 */
static void zs_zspage_grow(struct zs_pool *pool, struct size_class *class, struct zspage *zp,
			   unsigned int n)
{
	zs_pages_prefer_dirty(pool, zp->page + zp->nr_pages, n - zp->nr_pages);
#ifdef ZSMEM_ASAN
	for (unsigned int k = zp->nr_pages; k < n && class->hdr; k++)
		ASAN_POISON_MEMORY_REGION(zs_page_addr(zp, k), ZSM_PAGE_SIZE);	/* fresh slots */
#endif
	zsm_add_relaxed(&pool->total_pages, n - zp->nr_pages);
	class->pages += n - zp->nr_pages;
	zp->nr_pages = (uint8_t)n;
}

/*
 * Takes a slot of zp (which has room) for handle: a freed slot if there is one, else
 * the first fresh slot, populating the page(s) it reaches. Returns its index.
 */
unsigned int zs_obj_alloc(struct zs_pool *pool, struct size_class *class, struct zspage *zp,
			  unsigned long handle)
{
	unsigned int idx = zp->freeobj;

	if (idx != ZS_NO_FREE) {
		zs_asan_slot(class, zp, idx, class->hdr, false);
		zp->freeobj = class->hdr ? (uint16_t)(*zs_slot_word(class, zp, idx) >> 1) :
					   ZS_NO_FREE;
	} else {
		unsigned int need;

		idx = zp->bump++;
		need = zs_pages_for(class, idx + 1);
		if (need > zp->nr_pages)
			zs_zspage_grow(pool, class, zp, need);
		zs_asan_slot(class, zp, idx, 0, false);
	}
	if (class->hdr)
		*zs_slot_word(class, zp, idx) = zs_handle_tag(handle);
	else
		zp->huge_handle = handle;
	zp->inuse++;
	class->obj_used++;
	return idx;
}

void zs_obj_free(struct size_class *class, struct zspage *zp, unsigned int idx)
{
	zs_poison(class, zp, idx);
	if (class->hdr)
		*zs_slot_word(class, zp, idx) = (uint32_t)zp->freeobj << 1;
	else
		zp->huge_handle = 0;
	zp->freeobj = (uint16_t)idx;
	zp->inuse--;
	class->obj_used--;
}

/* ---------------------------------------------------------------------------------- */
/* Copies, straddle-aware: off is a byte offset inside slot idx                         */

void zs_copy_out(const struct size_class *class, const struct zspage *zp, unsigned int idx,
		 size_t off, void *dst, size_t len)
{
	size_t pos = (size_t)idx * class->size + off;
	char *d = dst;

	while (len) {
		size_t in = pos & ZSM_PAGE_MASK, n = ZSM_PAGE_SIZE - in;

		if (n > len)
			n = len;
		memcpy(d, (char *)zs_page_addr(zp, (unsigned int)(pos >> ZSM_PAGE_SHIFT)) + in, n);
		d += n;
		pos += n;
		len -= n;
	}
}

void zs_copy_in(const struct size_class *class, const struct zspage *zp, unsigned int idx,
		size_t off, const void *src, size_t len)
{
	size_t pos = (size_t)idx * class->size + off;
	const char *s = src;

	while (len) {
		size_t in = pos & ZSM_PAGE_MASK, n = ZSM_PAGE_SIZE - in;

		if (n > len)
			n = len;
		memcpy((char *)zs_page_addr(zp, (unsigned int)(pos >> ZSM_PAGE_SHIFT)) + in, s, n);
		s += n;
		pos += n;
		len -= n;
	}
}

/* ---------------------------------------------------------------------------------- */
/* zspages                                                                             */

/*
 * Builds a zspage for class without its lock: all its pages' addresses, the first
 * page populated (slot 0 lies in it), the others reserved until slots reach them.
 * NULL (ENOMEM) leaves nothing behind. The caller adds the page to class->pages
 * under the lock.
 */
static struct zspage *zs_zspage_create(struct zs_pool *pool, struct size_class *class)
{
	unsigned int n = class->pages_per_zspage, k;
	struct zspage *zp = zs_desc_get(pool, n);	/* nr_held == n */

	if (!zp)
		return NULL;
	if (zs_pages_get(pool, zp->page, n)) {
		zs_desc_put(pool, zp);
		return NULL;
	}
	for (k = 0; k < n; k++)
		zp->page[k] |= zs_first_offset(class, k);
#ifdef ZSMEM_ASAN
	if (class->hdr)
		ASAN_POISON_MEMORY_REGION(zs_page_addr(zp, 0), ZSM_PAGE_SIZE);
#endif
	zp->nr_pages = 1;
	zp->class_idx = (uint8_t)class->index;
	zp->inuse = 0;
	zp->huge_handle = 0;
	zp->freeobj = ZS_NO_FREE;
	zp->bump = 0;
	zp->fullness = ZS_FULLNESS_EMPTY;
	zsm_add_relaxed(&pool->total_pages, 1);
	return zp;
}

/* The fullest zspage with room, O(1): highest set bit of nonempty within 1..10. */
static struct zspage *zs_find_zspage(struct size_class *class)
{
	unsigned int mask = class->nonempty & ~(1u << ZS_FULLNESS_FULL);

	if (!mask)
		return NULL;
	return zsm_container_of(class->fullness_list[31 - __builtin_clz(mask)].next,
			       struct zspage, node);
}

/* ---------------------------------------------------------------------------------- */
/* Pools                                                                               */

ZS_API struct zs_pool *zs_create_pool_ex(const char *name, const struct zs_pool_config *cfg)
{
	unsigned int chain = cfg && cfg->chain_size ? cfg->chain_size : ZS_DEFAULT_CHAIN;
	unsigned int flags = cfg ? cfg->flags : 0;
	struct zs_pool *pool;

	if (chain < ZS_MIN_CHAIN || chain > ZS_MAX_CHAIN ||
	    (flags & ~(unsigned int)(ZS_POOL_LEGACY_LOCK | ZS_POOL_DEFER_ZSPAGE_FREE |
				      ZS_POOL_PREFAULT | ZS_POOL_DENSE_CLASSES))) {
		errno = EINVAL;
		return NULL;
	}
	pool = zs_fault() ? NULL : calloc(1, sizeof(*pool));
	if (!pool)
		goto nomem;
	pool->chain = chain;
	pool->flags = flags;
	pool->name = zs_fault() ? NULL : strdup(name ? name : "zsmalloc");
	if (!pool->name)
		goto free_pool;
	zsm_init(&pool->total_pages, 0);
	zsm_init(&pool->pages_compacted, 0);
	zsm_init(&pool->meta_bytes, sizeof(*pool));
	if (zs_classes_init(pool))
		goto free_name;
	if (zs_pagesrc_init(pool))
		goto free_pagesrc;
	pthread_rwlock_init(&pool->legacy_lock, NULL);
	if (zs_defer_start(pool))
		goto free_all;
	if (zs_prefault_start(pool))
		goto free_prefault;
	return pool;

free_prefault:
	zs_prefault_stop(pool);
free_all:
	zs_defer_stop(pool);
	pthread_rwlock_destroy(&pool->legacy_lock);
free_pagesrc:
	zs_pagesrc_destroy(pool);
	zs_classes_destroy(pool);
free_name:
	free(pool->name);
free_pool:
	free(pool);
nomem:
	errno = ENOMEM;
	return NULL;
}

ZS_API struct zs_pool *zs_create_pool(const char *name)
{
	return zs_create_pool_ex(name, NULL);
}

ZS_API void zs_destroy_pool(struct zs_pool *pool)
{
	unsigned int i, g;

	if (!pool)
		return;
	if (pool->hooks.deferred_teardown)
		pool->hooks.deferred_teardown(pool);
	zs_defer_stop(pool);	/* releases every queued zspage first */
	zs_prefault_stop(pool);	/* nothing takes pages any more */
	for (i = 0; i < pool->nr_classes; i++) {
		struct size_class *class = &pool->classes[i];

		/* Descriptors and handle chunks go with the metadata blocks, below. */
		for (g = 0; g < ZS_NR_FULLNESS; g++)
			zsm_list_init(&class->fullness_list[g]);
		zs_hchunks_destroy(pool, class);
	}
	zs_pagesrc_destroy(pool);	/* unmaps every region */
	zs_meta_destroy(pool);
	pthread_rwlock_destroy(&pool->legacy_lock);
	zs_classes_destroy(pool);
	free(pool->name);
	free(pool);
}

ZS_API const char *zs_pool_name(const struct zs_pool *pool)
{
	return pool ? pool->name : NULL;
}

ZS_API size_t zs_huge_class_size(struct zs_pool *pool)
{
	return pool ? pool->huge_class_size : 0;
}

ZS_API unsigned long zs_get_total_pages(struct zs_pool *pool)
{
	return pool ? zsm_load_relaxed(&pool->total_pages) : 0;
}

ZS_API unsigned int zs_handle_class(struct zs_pool *pool, unsigned long handle)
{
	if (!pool || !handle)
		return ZS_NR_SIZE_SLOTS;	/* no class: out of range by design */
#ifdef ZSMEM_DEBUG
	zs_check_handle(pool, handle, "zs_handle_class");
#else
	(void)pool;
#endif
	/* The class of a live handle never changes: a relaxed load suffices. */
	return zs_loc_class(zsm_load_relaxed(zs_cell(handle)));
}

/* ---------------------------------------------------------------------------------- */
/* Allocation                                                                          */

ZS_API unsigned long zs_malloc(struct zs_pool *pool, size_t size)
{
	struct size_class *class;
	unsigned long *cell;
	struct zspage *zp;
	unsigned int idx;

	if (unlikely(!pool || !size || size > ZS_MAX_ALLOC_SIZE)) {
		errno = size && pool ? ENOSPC : EINVAL;
		return 0;
	}
	/* From the kernel's huge threshold on: the huge class, as in the kernel. */
	class = pool->size_class[size >= pool->huge_class_size ? ZS_NR_SIZE_SLOTS - 1 :
				 zs_size_index(size + ZS_HANDLE_SIZE)];

	pthread_mutex_lock(&class->lock);
	while (unlikely(!class->free_cells)) {
		struct zs_hchunk *chunk;

		pthread_mutex_unlock(&class->lock);
		chunk = zs_hchunk_alloc(pool, class);
		if (!chunk) {
			errno = ENOMEM;
			return 0;
		}
		pthread_mutex_lock(&class->lock);
		if (zs_hchunk_add(pool, class, chunk)) {
			pthread_mutex_unlock(&class->lock);
			errno = ENOMEM;
			return 0;
		}
	}
	cell = zs_cell_pop(class);	/* reserved; pushed back if no zspage can be built */

	zp = zs_find_zspage(class);
	if (unlikely(!zp)) {
		pthread_mutex_unlock(&class->lock);
		zp = zs_zspage_create(pool, class);
		pthread_mutex_lock(&class->lock);
		if (!zp) {
			zs_cell_push(class, cell);
			pthread_mutex_unlock(&class->lock);
			errno = ENOMEM;
			return 0;
		}
		class->zspages++;
		class->obj_allocated += class->objs_per_zspage;
		class->pages += zp->nr_pages;
		zs_group_add(class, zp, ZS_FULLNESS_EMPTY);
	}
	idx = zs_obj_alloc(pool, class, zp, (unsigned long)cell);
	/* Relaxed: the caller publishes the handle; nobody can race on a new cell. */
	zsm_store_relaxed(cell, zs_loc_encode(zp, idx, class->index));
	zs_fix_fullness(class, zp);
	pthread_mutex_unlock(&class->lock);
	return (unsigned long)cell;
}

/* ---------------------------------------------------------------------------------- */
/* Free                                                                                */

/*
 * Frees the object of cell, class->lock held. Returns its zspage when that emptied:
 * it is then off every list and the caller releases it after dropping the lock.
 */
static inline struct zspage *zs_free_locked(struct zs_pool *pool, struct size_class *class,
					    unsigned long *cell)
{
	/* Re-read under the lock: compaction may have moved the object meanwhile. */
	unsigned long loc = zsm_load_relaxed(cell);
	struct zspage *zp = zs_loc_zspage(loc);
	unsigned int idx = zs_loc_idx(loc);

	if (unlikely(loc & ZS_CELL_FREE))	/* one bit test, in every build */
		zs_die("zs_free: pool %s: handle %#lx is not allocated (double free?)",
		       pool->name, (unsigned long)cell);
#ifdef ZSMEM_DEBUG
	zs_check_handle(pool, (unsigned long)cell, "zs_free");
	if (class->hdr && *zs_slot_word(class, zp, idx) != zs_handle_tag((unsigned long)cell))
		zs_die("zs_free: pool %s: handle %#lx: slot header corrupt", pool->name,
		       (unsigned long)cell);
#endif
	zs_obj_free(class, zp, idx);
	zs_cell_push(class, cell);
	if (zp->inuse) {
		zs_fix_fullness(class, zp);
		return NULL;
	}
	zs_group_del(class, zp);
	zs_remove_zspage(class, zp);
	return zp;
}

ZS_API void zs_free(struct zs_pool *pool, unsigned long handle)
{
	struct size_class *class;
	struct zspage *empty;
	unsigned long loc;

	if (unlikely(!handle || !pool))
		return;
#ifdef ZSMEM_DEBUG
	zs_check_handle(pool, handle, "zs_free");
#endif
	/* The class index never changes for a live handle: no lock needed to read it. */
	loc = zsm_load_relaxed(zs_cell(handle));
	if (unlikely(loc & ZS_CELL_FREE))
		zs_die("zs_free: pool %s: handle %#lx is not allocated (double free?)",
		       pool->name, handle);
	class = pool->size_class[zs_loc_class(loc)];

	if (unlikely(pool->flags & ZS_POOL_LEGACY_LOCK))
		pthread_rwlock_rdlock(&pool->legacy_lock);
	pthread_mutex_lock(&class->lock);
	empty = zs_free_locked(pool, class, zs_cell(handle));
	pthread_mutex_unlock(&class->lock);
	if (unlikely(pool->flags & ZS_POOL_LEGACY_LOCK))
		pthread_rwlock_unlock(&pool->legacy_lock);

	if (empty)
		zs_zspage_release(pool, empty);
}

/*
 * zs_free_batch
 * -------------
 * The deferred free drains hand us a page of handles at a time (512 or 1024). One by
 * one, each free pays a lock round trip, a fullness relink, cold misses on the cell
 * and the slot, and for an emptied zspage two page-source lock rounds. The batch:
 *
 *   1. reads every cell once (prefetched ahead) and counting-sorts (location,
 *      handle) pairs by class; the descriptors are prefetched on the way;
 *   2. within a class run, sorts by location, so the frees of one zspage are
 *      consecutive (exit-path batches arrive nearly sorted: insertion sort is
 *      linear on them);
 *   3. prefetches every slot header of the batch in one tight loop, then frees
 *      class run by class run under one class-lock acquisition each: the cells are
 *      re-read under the lock (compaction may have moved objects since step 1: a
 *      moved object just ends its group early), the fullness relink is done once
 *      per zspage, and a zspage whose every remaining object is in the group is
 *      released whole, without writing free-list links into its slots (debug
 *      builds still check every slot header);
 *   4. releases every emptied zspage of the batch after the last lock is dropped:
 *      pages go to the page source 64 at a time and the descriptors under one lock,
 *      where one-by-one frees take the page-source lock twice per zspage.
 *
 * An exit-path batch holds most of the ~200 classes with a few objects each (4.6 per
 * class run in zsd_bench), so the per-run bookkeeping is kept branch-light.
 * Measure with bench/alloc/zs_batch_speed or bench/deferred/zsd_bench.
 */
#define ZS_BATCH_STACK		1024	/* a drain's page of u32 values; larger batches malloc */
#define ZS_PREFETCH_CELL	16	/* cells this many handles ahead (step 1) */
#define ZS_NO_CLASS		ZS_NR_SIZE_SLOTS	/* step 1's key of a zero handle */

struct zs_bent {
	unsigned long loc;		/* the cell as seen in step 1, then under the lock */
	unsigned long handle;
};

/* By location: groups a class run by zspage, slots in address order within one. */
static void zs_bent_sort(struct zs_bent *e, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct zs_bent x = e[i];

		for (j = i; j > 0 && e[j - 1].loc > x.loc; j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
}

static int zs_bent_cmp(const void *a, const void *b)
{
	unsigned long x = ((const struct zs_bent *)a)->loc, y = ((const struct zs_bent *)b)->loc;

	return x < y ? -1 : x > y;
}

/* A handle already freed (twice in the batch, or before): never silent. */
static __attribute__((noreturn, cold)) void zs_batch_double_free(struct zs_pool *pool,
								  unsigned long handle)
{
	zs_die("zs_free_batch: pool %s: handle %#lx is not allocated (double free?)",
	       pool->name, handle);
}

static inline void zs_batch_check_slot(struct zs_pool *pool, const struct size_class *class,
				       unsigned long loc, unsigned long handle)
{
#ifdef ZSMEM_DEBUG
	if (class->hdr && *zs_slot_word(class, zs_loc_zspage(loc), zs_loc_idx(loc)) !=
			  zs_handle_tag(handle))
		zs_die("zs_free_batch: pool %s: handle %#lx: slot header corrupt", pool->name,
		       handle);
#else
	(void)pool, (void)class, (void)loc, (void)handle;
#endif
}

/*
 * Frees the group e[0..n) of objects of zp, class->lock held and every loc re-read
 * under it. The free bit is tested again as each cell is pushed: a handle given
 * twice in the group was counted twice and is caught here, before its second free.
 */
static inline void zs_free_group(struct zs_pool *pool, struct size_class *class,
				 struct zspage *zp, struct zs_bent *e, size_t n,
				 struct zsm_list *empty)
{
	size_t k;

	if (n == zp->inuse) {
		/*
		 * The group holds every object left: the zspage goes back whole, and a new
		 * zspage rewrites its slot links, so its (cold) slots need no writes.
		 */
		for (k = 0; k < n; k++) {
			unsigned long *cell = zs_cell(e[k].handle);

			if (unlikely(zsm_load_relaxed(cell) & ZS_CELL_FREE))
				zs_batch_double_free(pool, e[k].handle);
			zs_batch_check_slot(pool, class, e[k].loc, e[k].handle);
			zs_cell_push(class, cell);
		}
		zp->inuse = 0;
		zp->huge_handle = 0;
		class->obj_used -= n;
		zs_group_del(class, zp);
		zs_remove_zspage(class, zp);
		zsm_list_add(&zp->node, empty);
		return;
	}

	/* Objects outside the group stay (more than inuse would be a duplicate: dies). */
	for (k = 0; k < n; k++) {
		unsigned long *cell = zs_cell(e[k].handle);

		if (unlikely(zsm_load_relaxed(cell) & ZS_CELL_FREE))
			zs_batch_double_free(pool, e[k].handle);
		zs_batch_check_slot(pool, class, e[k].loc, e[k].handle);
		zs_obj_free(class, zp, zs_loc_idx(e[k].loc));
		zs_cell_push(class, cell);
	}
#ifdef ZSMEM_DEBUG
	if (!zp->inuse)		/* n < inuse on entry: nothing else can empty it */
		zs_die("zs_free_batch: pool %s: zspage %p emptied by a partial group",
		       pool->name, (void *)zp);
#endif
	zs_fix_fullness(class, zp);	/* once per zspage, not once per object */
}

/*
 * Step 3 for one class run e[0..n), sorted. Each group is freed as soon as it is
 * found: inuse then counts the run's earlier frees, so when compaction moved objects
 * since step 1 and one zspage makes two non-adjacent groups, the second one sees
 * exactly the objects left and may still free the zspage whole.
 */
static void zs_free_class_run(struct zs_pool *pool, struct size_class *class,
			      struct zs_bent *e, size_t n, struct zsm_list *empty)
{
	size_t i, j;

	if (unlikely(pool->flags & ZS_POOL_LEGACY_LOCK))
		pthread_rwlock_rdlock(&pool->legacy_lock);
	pthread_mutex_lock(&class->lock);
	for (i = 0; i < n; i = j) {
		/* Re-read under the lock: compaction may have moved the object since step 1. */
		unsigned long loc = zsm_load_relaxed(zs_cell(e[i].handle));
		struct zspage *zp = zs_loc_zspage(loc);

		if (unlikely(loc & ZS_CELL_FREE))
			zs_batch_double_free(pool, e[i].handle);
		e[i].loc = loc;
		for (j = i + 1; j < n; j++) {
			loc = zsm_load_relaxed(zs_cell(e[j].handle));
			if (unlikely(loc & ZS_CELL_FREE))
				zs_batch_double_free(pool, e[j].handle);
			if (zs_loc_zspage(loc) != zp)
				break;
			e[j].loc = loc;
		}
		zs_free_group(pool, class, zp, e + i, j - i, empty);
	}
	pthread_mutex_unlock(&class->lock);
	if (unlikely(pool->flags & ZS_POOL_LEGACY_LOCK))
		pthread_rwlock_unlock(&pool->legacy_lock);
}

/*
 * Prefetches the slot header of loc for writing. loc is step 1's hint, read before
 * the class lock: compaction may have moved the object and the descriptor been
 * reused since, so its page address is read without the lock. That is harmless:
 * descriptors are type-stable (never freed before the pool), an aligned word cannot
 * tear, the page index stays below the class's pages per zspage (<= the chain every
 * descriptor has room for), and the result only feeds a prefetch, which cannot
 * fault. A deliberate race, hidden from TSan.
 */
__attribute__((no_sanitize("thread")))
static inline void zs_prefetch_slot(struct zs_pool *pool, unsigned long loc)
{
	const struct size_class *class = pool->size_class[zs_loc_class(loc)];
	const struct zspage *zp = zs_loc_zspage(loc);
	size_t off = (size_t)zs_loc_idx(loc) * class->size;
	uintptr_t page;

	if (!class->hdr)	/* huge: no header in the slot */
		return;
	page = zsm_load_relaxed(&zp->page[off >> ZSM_PAGE_SHIFT]);
	__builtin_prefetch((char *)(page & ~(uintptr_t)ZSM_PAGE_MASK) + (off & ZSM_PAGE_MASK), 1);
}

/* Steps 1-4; ent, loc and key have room for n entries. */
static void zs_free_batch_sorted(struct zs_pool *pool, unsigned long *handles, size_t n,
				 struct zs_bent *ent, unsigned long *loc, unsigned char *key)
{
	size_t count[ZS_NR_SIZE_SLOTS + 1] = { 0 }, pos[ZS_NR_SIZE_SLOTS];
	uint64_t present[(ZS_NR_SIZE_SLOTS + 63) / 64] = { 0 };
	unsigned char cls[ZS_NR_SIZE_SLOTS];	/* the classes present, ascending */
	unsigned int ncls = 0, c, w;
	struct zsm_list empty;
	size_t i, j, nlive;

	/*
	 * Step 1: one pass over the cells, prefetched ahead; the descriptors are
	 * prefetched as their addresses appear. The classes present are noted in a
	 * bitmap, without a branch: a batch of an exiting process holds most classes,
	 * a few objects each, and a branch per first appearance would mispredict.
	 */
	for (i = 0; i < n; i++) {
		unsigned long h = handles[i];
		unsigned int k;

		/* A zero handle ahead prefetches address 0: dropped, harmless. */
		if (i + ZS_PREFETCH_CELL < n)
			__builtin_prefetch((void *)handles[i + ZS_PREFETCH_CELL]);
		if (unlikely(!h)) {
			key[i] = ZS_NO_CLASS;
			count[ZS_NO_CLASS]++;
			continue;
		}
#ifdef ZSMEM_DEBUG
		zs_check_handle(pool, h, "zs_free_batch");
#endif
		loc[i] = zsm_load_relaxed(zs_cell(h));
		if (unlikely(loc[i] & ZS_CELL_FREE))
			zs_batch_double_free(pool, h);
		/* Only an address: harmless even if compaction recycles it meanwhile. */
		__builtin_prefetch(zs_loc_zspage(loc[i]));
		k = zs_loc_class(loc[i]);
		key[i] = (unsigned char)k;
		count[k]++;
		present[k / 64] |= (uint64_t)1 << (k % 64);
	}
	/* Step 2: counting sort by class (ascending: the documented order of handles[]). */
	for (w = 0; w < sizeof(present) / sizeof(present[0]); w++) {
		for (; present[w]; present[w] &= present[w] - 1) {
			c = w * 64 + (unsigned int)__builtin_ctzll(present[w]);
			cls[ncls++] = (unsigned char)c;
		}
	}
	for (c = 0, j = 0; c < ncls; c++) {
		pos[cls[c]] = j;
		j += count[cls[c]];
	}
	nlive = j;
	for (i = 0; i < n; i++) {
		if (unlikely(key[i] == ZS_NO_CLASS))
			continue;
		ent[pos[key[i]]].loc = loc[i];
		ent[pos[key[i]]++].handle = handles[i];
	}
	/* The documented side effect: handles[] ends up grouped by class, zeros last. */
	for (i = 0; i < nlive; i++)
		handles[i] = ent[i].handle;
	for (; i < n; i++)
		handles[i] = 0;

	/*
	 * Step 3. The slots are cold, and most sit on pages the TLB no longer maps (each
	 * release of freed pages flushes it). A prefetch cannot retire before its page
	 * walk ends: one issued between the frees, every few hundred instructions, stalls
	 * the core for a whole walk, however far ahead it looks, while back to back they
	 * overlap. Hence one loop over the batch first (measured: 4-5% off an emptying
	 * drain, 10% off one that empties few zspages). Slots of zspages freed whole are
	 * prefetched too: skipping them needs a branchy pass that costs more than it saves.
	 */
	for (i = 0; i < nlive; i++)
		zs_prefetch_slot(pool, ent[i].loc);
	/* A class at a time (pos[] is now the end of each run), sorted by location. */
	zsm_list_init(&empty);
	for (c = 0; c < ncls; c++) {
		size_t len = count[cls[c]];
		struct zs_bent *e = ent + pos[cls[c]] - len;

		if (len > 64)	/* a random batch of one class: not nearly sorted */
			qsort(e, len, sizeof(*e), zs_bent_cmp);
		else if (len > 1)
			zs_bent_sort(e, len);
		zs_free_class_run(pool, pool->size_class[cls[c]], e, len, &empty);
	}
	/* Step 4: after the last class lock is dropped. */
	zs_zspage_release_list(pool, &empty);
}

ZS_API void zs_free_batch(struct zs_pool *pool, unsigned long *handles, size_t n)
{
	struct zs_bent stack_ent[ZS_BATCH_STACK];
	unsigned long stack_loc[ZS_BATCH_STACK];
	unsigned char stack_key[ZS_BATCH_STACK];
	const size_t esz = sizeof(struct zs_bent) + sizeof(unsigned long) + 1;
	struct zs_bent *ent;
	size_t i;

	if (!pool || !handles)
		return;

	if (!n)
		return;
	if (n <= ZS_BATCH_STACK) {
		zs_free_batch_sorted(pool, handles, n, stack_ent, stack_loc, stack_key);
		return;
	}
	ent = zs_fault() ? NULL : malloc(n * esz);
	if (!ent) {	/* no memory to sort: free one by one */
		for (i = 0; i < n; i++)
			zs_free(pool, handles[i]);
		return;
	}
	zs_free_batch_sorted(pool, handles, n, ent, (unsigned long *)(ent + n),
			     (unsigned char *)((unsigned long *)(ent + n) + n));
	free(ent);
}

/* ---------------------------------------------------------------------------------- */
/* Object access                                                                       */

/*
 * Read-locks the zspage holding the object of handle and returns it with the
 * location in *locp. Compaction moves an object only with its zspage write-locked
 * and stores the new location before unlocking, so once we hold the read lock and
 * the cell still names this zspage, the object stays put until we unlock.
 */
static struct zspage *zs_obj_lock(struct zs_pool *pool, unsigned long handle,
				  unsigned long *locp)
{
	unsigned long *cell = zs_cell(handle);

#ifdef ZSMEM_DEBUG
	zs_check_handle(pool, handle, "zs_obj access");
#else
	(void)pool;
#endif
	for (;;) {
		/* Acquire: pairs with compaction's release store of a new location. */
		unsigned long loc = zsm_load_acquire(cell);
		struct zspage *zp = zs_loc_zspage(loc);

		/* zp is type-stable: locking a stale one is harmless, we re-check below. */
		zs_zspage_read_lock(zp);
		if (zsm_load_relaxed(cell) == loc) {
			*locp = loc;
			return zp;
		}
		zs_zspage_read_unlock(zp);
	}
}

/*
 * Bytes an object of this class can hold: its slot less the in-slot header. A length
 * past it would reach the neighbouring slot; one compare against a value already in
 * cache on this path, so it is checked in every build (the exact size given to
 * zs_malloc is not stored: merged classes round it up to the slot).
 */
static inline bool zs_len_fits(const struct size_class *class, size_t len)
{
	return len <= (size_t)(class->size - class->hdr);
}

ZS_API int zs_obj_write(struct zs_pool *pool, unsigned long handle, const void *src, size_t len)
{
	unsigned long loc;
	struct zspage *zp;
	const struct size_class *class;

	if (unlikely(!pool || !handle))
		return -EINVAL;
	zp = zs_obj_lock(pool, handle, &loc);
	class = pool->size_class[zs_loc_class(loc)];
	if (unlikely(!zs_len_fits(class, len))) {
		zs_zspage_read_unlock(zp);
		return -EINVAL;
	}
	zs_copy_in(class, zp, zs_loc_idx(loc), class->hdr, src, len);
	zs_zspage_read_unlock(zp);
	return 0;
}

ZS_API int zs_obj_read(struct zs_pool *pool, unsigned long handle, void *dst, size_t len)
{
	unsigned long loc;
	struct zspage *zp;
	const struct size_class *class;

	if (unlikely(!pool || !handle))
		return -EINVAL;
	zp = zs_obj_lock(pool, handle, &loc);
	class = pool->size_class[zs_loc_class(loc)];
	if (unlikely(!zs_len_fits(class, len))) {
		zs_zspage_read_unlock(zp);
		return -EINVAL;
	}
	zs_copy_out(class, zp, zs_loc_idx(loc), class->hdr, dst, len);
	zs_zspage_read_unlock(zp);
	return 0;
}

ZS_API const void *zs_obj_read_begin(struct zs_pool *pool, unsigned long handle, size_t len,
				     void *local_copy)
{
	unsigned long loc;
	struct zspage *zp;
	const struct size_class *class;
	size_t off, in;

	if (unlikely(!pool || !handle)) {
		errno = EINVAL;
		return NULL;
	}
	zp = zs_obj_lock(pool, handle, &loc);
	class = pool->size_class[zs_loc_class(loc)];
	if (unlikely(!zs_len_fits(class, len))) {
		zs_zspage_read_unlock(zp);
		errno = EINVAL;
		return NULL;	/* nothing held: no zs_obj_read_end() */
	}
	off = (size_t)zs_loc_idx(loc) * class->size + class->hdr;
	in = off & ZSM_PAGE_MASK;

	/* The lock is held until zs_obj_read_end(). */
	if (in + len <= ZSM_PAGE_SIZE)
		return (char *)zs_page_addr(zp, (unsigned int)(off >> ZSM_PAGE_SHIFT)) + in;
	zs_copy_out(class, zp, zs_loc_idx(loc), class->hdr, local_copy, len);
	return local_copy;
}

ZS_API void zs_obj_read_end(struct zs_pool *pool, unsigned long handle, const void *ptr)
{
	/* We hold the zspage read lock: the cell cannot change under us. */
	unsigned long loc;

	(void)ptr;
	if (!pool || !handle)
		return;
	loc = zsm_load_relaxed(zs_cell(handle));
	zs_zspage_read_unlock(zs_loc_zspage(loc));
}
