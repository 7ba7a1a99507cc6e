/* SPDX-License-Identifier: MIT */
/*
 * zs_internal.h - the allocator's internal data structures, shared by the files of
 * src/zsmalloc (classes.c, page.c, handle.c, zsmalloc.c, compact.c, stats.c).
 *
 * Map of the data structures
 * --------------------------
 *
 *   struct zs_pool
 *     hooks                       first member (zs_hooks.h): the deferred free seam
 *     size_class[255] ----------> struct size_class (merged slots share one)
 *     classes[nr_classes]         the distinct classes, smallest first
 *     pages                       struct zs_pagesrc: mmap'd regions, a stack of free
 *                                 page addresses, free lists of zspage descriptors
 *                                 (one per page count), the metadata blocks (meta.c)
 *     defer                       background release of emptied zspages (flag)
 *
 *   struct size_class
 *     fullness_list[12] --------> struct zspage <-> struct zspage <-> ...
 *     free_cells ---------------> handle cell -> handle cell -> ... (in handle chunks)
 *     chunks -------------------> struct zs_hchunk -> ... (512 bytes, 60 cells each)
 *
 *   struct zspage (descriptor, carved from the pool's metadata blocks (meta.c),
 *                  type-stable: reused by zspages of as many pages, never freed
 *                  before the pool is destroyed; 8-aligned, zs_desc_size(n) bytes
 *                  for a class of n pages per zspage)
 *     page[k] = address of the k-th 4 KiB page | offset of the first object in it,
 *               for the nr_pages pages populated so far (see "Elastic zspages")
 *
 *   a handle is the address of an 8-byte cell in a handle chunk; the cell holds
 *   the object's location:
 *
 *     63                     20 19       12 11          1   0
 *     [ zspage >> 3             ][ class idx ][ obj index  ][ 0 ]
 *
 *   a free cell holds (next free cell | 1).
 *
 *   a handle id (32 bits) names a cell within its class: (chunk number << 6) | cell
 *   index in the chunk; class->chunk_tab[chunk number] is the chunk.
 *
 *   slot layout (non-huge classes): slot i starts at byte i * size of the zspage's
 *   pages seen as one run; an allocated slot's first 32-bit word is (handle id << 1
 *   | 1), a free slot's is (index of next free slot) << 1. Huge classes (1 page, 1
 *   object) store no header: the handle lives in zspage->huge_handle.
 *
 * Elastic zspages
 * ---------------
 *
 *   A zspage holds only the pages its slots have reached. Slots [0, bump) have been
 *   handed out at least once (each is allocated or on the slot free list); slots
 *   [bump, objs_per_zspage) are fresh, and their bytes lie in pages not populated
 *   yet: page[nr_pages..nr_held) are reserved addresses, untouched since their last
 *   madvise (they hold no memory and are not counted in total_pages), so a zspage's
 *   pages stay contiguous and growing cannot fail (a resident freed page, if the
 *   page source has one, replaces the reserved one: no fault). Allocation reuses a
 *   freed slot first, else takes slot bump and populates the page(s) it reaches. So the last, partly filled zspage of a
 *   class holds the pages its objects need, not pages_per_zspage of them: with ~100
 *   classes in use that is most of what a pool wastes beyond class rounding.
 *   Compaction, after emptying what it can, shrinks the zspages left partly used:
 *   it moves their highest objects into their holes, lowers bump and gives the
 *   pages above it back (zs_zspage_shrink in compact.c).
 *
 * Lock ordering
 * -------------
 *
 *   pool->legacy_lock (rwlock; only with ZS_POOL_LEGACY_LOCK: zs_free read side,
 *                      zs_compact write side)
 *     -> class->lock (mutex: lists, counters, slot free lists, handle free list,
 *                     zspage->inuse/freeobj/fullness)
 *       -> zspage->lock (reader count; compaction only ever try-locks it for write)
 *       -> pool->pages.lock (leaf: page stack, descriptor free lists, metadata
 *                            blocks and cursors, spare handle chunks)
 *   pool->defer.lock is a leaf.
 *
 *   Readers and writers (zs_obj_read/write/read_begin) take no class lock: they
 *   load the cell, read-lock the zspage it names, and re-check the cell.
 *   zs_free takes no pool-wide lock: the class index is in the cell.
 */
#ifndef ZSMEM_ZS_INTERNAL_H
#define ZSMEM_ZS_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "common/atomics.h"
#include "common/compiler.h"
#include "common/list.h"
#include "common/page.h"
#include "zsmem/zsmalloc.h"
#include "zsmem/lab.h"		/* ZS_POOL_LEGACY_LOCK */
#include "zsmalloc/zs_hooks.h"

#ifdef ZSMEM_ASAN
#include <sanitizer/asan_interface.h>
#endif

_Static_assert(ZS_PAGE_SIZE == ZSM_PAGE_SIZE, "the public page size is the library's");

/*
 * In-slot header of non-huge objects: a 32-bit handle id, not the handle itself (the
 * kernel stores an 8-byte handle there). The class table and zs_huge_class_size()
 * are still computed with the kernel's 8 bytes, so they match the kernel's; requests
 * above the huge threshold go to the huge class even where 4 bytes would fit them.
 */
#define ZS_HANDLE_SIZE		ZS_OBJ_HEADER_SIZE
#define ZS_KERNEL_HANDLE_SIZE	8u
#define ZS_MIN_ALLOC		32u
#define ZS_CLASS_DELTA		16u
#define ZS_NO_FREE		0xffffu	/* end of a zspage's slot free list */
#define ZS_FULLNESS_EMPTY	0
#define ZS_FULLNESS_FULL	(ZS_NR_FULLNESS - 1)
#define ZS_REGION_PAGES		256u	/* pages per mmap of the page source (1 MiB) */
#define ZS_DESC_ALIGN		8u	/* see the location encoding below */
#define ZS_META_BLOCK		(256u << 10)	/* bytes per metadata block (meta.c) */
#define ZS_DIRTY_MAX		512u	/* freed pages kept resident before a madvise */
#define ZS_PREFAULT_LOW		16u	/* ZS_POOL_PREFAULT: refill below this many resident */
#define ZS_PREFAULT_HIGH	48u	/* ... free pages, up to this many */

/* ---------------------------------------------------------------------------------- */
/* zspages                                                                             */

/*
 * A zspage descriptor. Type-stable: once malloc'd it is only ever recycled within
 * its pool, and `lock` is never re-initialised, so a reader holding a stale location
 * may safely read-lock it and then find the cell changed.
 *
 * Invariants (under class->lock, for a zspage on a fullness list):
 *   inuse + |slot free list from freeobj| == bump <= class->objs_per_zspage
 *   every slot on the free list is < bump
 *   fullness == zs_fullness(inuse, class->objs_per_zspage)
 *   nr_pages == zs_pages_for(class, bump), nr_held == class->pages_per_zspage
 *   page[k] & ZSM_PAGE_MASK == (ceil(k*4096 / size) * size) - k*4096, for k < nr_held
 *   page[k] for nr_pages <= k < nr_held holds no memory (untouched since madvise)
 */
struct zspage {
	struct zsm_list node;		/* class->fullness_list[fullness], or a release list */
	int lock;		/* atomic: > 0: readers; -1: compaction moving objects out */
	uint16_t inuse;			/* allocated slots */
	uint16_t freeobj;		/* first freed slot, ZS_NO_FREE if none */
	uint16_t bump;			/* slots handed out so far; the rest are fresh */
	uint8_t fullness;
	uint8_t class_idx;		/* the merged class's index (0..254) */
	uint8_t nr_pages;		/* populated (counted) pages */
	uint8_t nr_held;		/* populated + reserved pages */
	unsigned long huge_handle;	/* huge classes: the handle of the one object */
	uintptr_t page[];		/* page address | first object offset */
};

/* Bytes of a descriptor for zspages of n pages (a multiple of ZS_DESC_ALIGN). */
static inline size_t zs_desc_size(unsigned int n)
{
	return offsetof(struct zspage, page) + (size_t)n * sizeof(uintptr_t);
}

static inline void *zs_page_addr(const struct zspage *zp, unsigned int k)
{
	return (void *)(zp->page[k] & ~(uintptr_t)ZSM_PAGE_MASK);
}

/* Read side: wait while compaction holds it; acquire pairs with zs_zspage_write_unlock. */
static inline void zs_zspage_read_lock(struct zspage *zp)
{
	int v = zsm_load_relaxed(&zp->lock);
	unsigned int spins = 0;

	for (;;) {
		if (v >= 0 && zsm_cas_weak_acquire(&zp->lock, &v, v + 1))
			return;
		if (v < 0) {
			/* Compaction is moving objects out: short, unless it was preempted. */
			if (++spins % 128 == 0)
				sched_yield();
			else
				zsm_cpu_relax();
			v = zsm_load_relaxed(&zp->lock);
		}
	}
}

/* Release: our reads of the object happen before compaction may move it. */
static inline void zs_zspage_read_unlock(struct zspage *zp)
{
	zsm_fetch_sub_release(&zp->lock, 1);
}

/* Acquire: readers' accesses before their unlock happen before we move objects. */
static inline bool zs_zspage_write_trylock(struct zspage *zp)
{
	int v = 0;

	return zsm_cas_strong_acquire(&zp->lock, &v, -1);
}

/* Release: the new cell values are visible to whoever read-locks this zspage next. */
static inline void zs_zspage_write_unlock(struct zspage *zp)
{
	zsm_store_release(&zp->lock, 0);
}

/* ---------------------------------------------------------------------------------- */
/* Object locations and handles                                                        */

#define ZS_LOC_IDX_SHIFT	1
#define ZS_LOC_IDX_MASK		0x7ffUL		/* 11 bits: up to 2048 objects */
#define ZS_LOC_CLASS_SHIFT	12
#define ZS_LOC_CLASS_MASK	0xffUL
#define ZS_LOC_PTR_SHIFT	17		/* zspage (8-aligned, < 2^47) << 17 */
#define ZS_CELL_FREE		1UL

/* The zspage's low bits, zero by its alignment, are where the class bits end. */
_Static_assert(ZS_LOC_CLASS_SHIFT + 8 <= ZS_LOC_PTR_SHIFT + 3 && ZS_DESC_ALIGN >= 8 &&
	       ZS_LOC_CLASS_MASK == 0xff, "class index bits overlap the zspage address");
_Static_assert(ZS_NR_SIZE_SLOTS <= ZS_LOC_CLASS_MASK + 1, "class index fits its field");

static inline unsigned long zs_loc_encode(const struct zspage *zp, unsigned int idx,
					  unsigned int class_idx)
{
	return ((uintptr_t)zp << ZS_LOC_PTR_SHIFT) |
	       ((unsigned long)class_idx << ZS_LOC_CLASS_SHIFT) |
	       ((unsigned long)idx << ZS_LOC_IDX_SHIFT);
}

static inline struct zspage *zs_loc_zspage(unsigned long loc)
{
	return (struct zspage *)((loc >> ZS_LOC_PTR_SHIFT) & ~(uintptr_t)(ZS_DESC_ALIGN - 1));
}

static inline unsigned int zs_loc_idx(unsigned long loc)
{
	return (unsigned int)((loc >> ZS_LOC_IDX_SHIFT) & ZS_LOC_IDX_MASK);
}

static inline unsigned int zs_loc_class(unsigned long loc)
{
	return (unsigned int)((loc >> ZS_LOC_CLASS_SHIFT) & ZS_LOC_CLASS_MASK);
}

static inline unsigned long *zs_cell(unsigned long handle)
{
	return (unsigned long *)handle;
}

#define ZS_HCHUNK_MAGIC		0x7a73686e646c6521UL	/* "zshndle!" */
#define ZS_HCHUNK_SIZE		512u

/*
 * A 512-byte-aligned chunk of handle cells (carved by meta.c); cells follow the header.
 * 512 bytes and not a page: every class in use holds one partly used chunk, and with
 * ~100 classes whole pages of them were 2% of a 19 MiB pool's data (1 KiB chunks:
 * 1.08% handles in all, 512 bytes: 0.87%; the header is 6% of a chunk, a refill every
 * 60 handles of a class costs no measurable time).
 */
struct zs_hchunk {
	unsigned long magic;		/* ZS_HCHUNK_MAGIC */
	struct zs_pool *pool;
	struct zs_hchunk *next;		/* class->chunks */
	uint32_t class_idx;
	uint32_t no;			/* its index in class->chunk_tab */
	unsigned long cell[];	/* atomic (zsm_*): read lock-free by zs_obj_read */
};

#define ZS_HCHUNK_CELLS \
	((ZS_HCHUNK_SIZE - sizeof(struct zs_hchunk)) / sizeof(unsigned long))

/* ---------------------------------------------------------------------------------- */
/* Size classes and the pool                                                           */

/*
 * Invariants (under lock):
 *   obj_allocated == zspages * objs_per_zspage
 *   pages == sum over zspages of nr_pages
 *   obj_used == sum over zspages of inuse == number of live handles of the class
 *   nr_fullness[g] == |fullness_list[g]|, sum_g nr_fullness[g] == zspages
 *   bit g of nonempty  <=>  nr_fullness[g] != 0
 */
struct size_class {
	pthread_mutex_t lock;
	struct zsm_list fullness_list[ZS_NR_FULLNESS];
	unsigned int nonempty;
	unsigned int index;		/* slot index 0..254 (the largest merged slot) */
	unsigned int size;		/* 32 + 16 * index */
	unsigned int pages_per_zspage;
	unsigned int objs_per_zspage;
	unsigned int hdr;		/* ZS_HANDLE_SIZE, or 0 for the huge class */
	unsigned long obj_allocated;
	unsigned long obj_used;
	unsigned long zspages;
	unsigned long pages;		/* populated pages of its zspages */
	unsigned long nr_fullness[ZS_NR_FULLNESS];
	unsigned long *free_cells;	/* free handle cells */
	struct zs_hchunk *chunks;
	unsigned long nr_chunks;
	struct zs_hchunk **chunk_tab;	/* by chunk number: handle ids -> cells */
	unsigned long chunk_cap;
} __attribute__((aligned(64)));

struct zs_meta_cursor {
	uintptr_t next, end;		/* the unused part of the current block */
};

/*
 * Free pages and descriptors.
 *   nr + nr_dirty + (pages being flushed) <= mapped <= cap
 *   mapped == ZS_REGION_PAGES * |regions|
 *   every page on the stack has been madvise(MADV_DONTNEED)'d or never touched;
 *   stack[0..sorted) is in descending address order (the rest: pushed since), sorted <= nr
 *   dirty[] holds freed pages still resident, nr_dirty <= ZS_DIRTY_MAX
 *   (with ZS_POOL_PREFAULT also pages faulted in ahead of need, at most ZS_PREFAULT_HIGH)
 *   free_descs[n] holds released descriptors of zs_desc_size(n) bytes (nr_held == n)
 *   desc_cur, chunk_cur carve from blocks on meta_blocks; free_chunks: chunks carved
 *   and not owned by a class (a class's chunk table could not grow), linked by next
 */
struct zs_pagesrc {
	pthread_mutex_t lock;
	uintptr_t *stack;
	size_t nr, sorted, cap, mapped;
	uintptr_t *dirty, *spare;	/* spare: the flusher's batch */
	uintptr_t *sortbuf;		/* the flusher's radix sort buffer (after both) */
	size_t nr_dirty;
	bool flushing;
	pthread_cond_t flushed;		/* signalled when flushing goes false */
	struct zs_region *regions;
	struct zsm_list free_descs[ZS_MAX_CHAIN + 1];
	struct zs_region *meta_blocks;
	struct zs_meta_cursor desc_cur, chunk_cur;
	struct zs_hchunk *free_chunks;
	unsigned long desc_bytes, chunk_bytes;	/* atomic counters: carved so far */
	int pidfd;			/* our own pidfd for process_madvise, or -1 */
	pid_t pid;			/* the process pidfd names (a forked child differs) */
	bool pidfd_ok;		/* atomic: process_madvise(MADV_DONTNEED) works */
	/* ZS_POOL_PREFAULT: the thread that keeps dirty[] stocked with faulted-in pages. */
	pthread_t pf_thread;
	pthread_cond_t pf_cond;		/* signalled when dirty[] runs low */
	bool pf_running, pf_stop, pf_wanted;
	bool pf_forked;			/* a fork's child: the thread is not here */
	struct zsm_list pf_node;	/* on the list the fork handlers walk */
};

struct zs_region {
	struct zs_region *next;
	void *addr;
	size_t len;
};

struct zs_defer_release {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t idle_cond;	/* the thread finished a batch (fork waits for it) */
	struct zsm_list queue;		/* emptied zspages whose pages are still held */
	bool stop;
	/* The thread exists: false before start, after stop, and in a fork child, where
	 * zspages are released inline instead. Written under lock or single-threaded. */
	bool running;
	bool busy;			/* releasing a batch (without the lock) */
	bool fork_pending;		/* fork() being prepared: take no new batch */
	pthread_t thread;
	struct zs_pool *all_next, *all_prev;	/* pools with the thread, for fork */
};

struct zs_pool {
	struct zs_pool_hooks hooks;	/* MUST stay first: see zs_hooks.h */
	char *name;
	unsigned int chain;
	unsigned int flags;
	size_t huge_class_size;
	struct size_class *size_class[ZS_NR_SIZE_SLOTS];
	struct size_class *classes;	/* distinct classes, smallest first */
	unsigned int nr_classes;
	unsigned long total_pages;	/* atomic counter: pages of zspages not yet returned to the OS */
	unsigned long pages_compacted;	/* atomic counter */
	unsigned long meta_bytes;	/* atomic counter */
	pthread_rwlock_t legacy_lock;
	struct zs_pagesrc pages;
	struct zs_defer_release defer;
};

static inline unsigned int zs_size_index(size_t size)
{
	size_t i = size <= ZS_MIN_ALLOC ? 0 : (size - ZS_MIN_ALLOC + ZS_CLASS_DELTA - 1) /
					     ZS_CLASS_DELTA;

	return i >= ZS_NR_SIZE_SLOTS ? ZS_NR_SIZE_SLOTS - 1 : (unsigned int)i;
}

/* Group 0: empty; 1..10: 0-9% .. 90-99% in use; 11: full. */
static inline unsigned int zs_fullness(unsigned int inuse, unsigned int objs)
{
	if (inuse == 0)
		return ZS_FULLNESS_EMPTY;
	if (inuse == objs)
		return ZS_FULLNESS_FULL;
	return 1 + inuse * 10 / objs;
}

static inline void *zs_slot_addr(const struct size_class *class, const struct zspage *zp,
				 unsigned int idx)
{
	size_t off = (size_t)idx * class->size;

	return (char *)zs_page_addr(zp, (unsigned int)(off >> ZSM_PAGE_SHIFT)) +
	       (off & ZSM_PAGE_MASK);
}

/*
 * Pages a zspage needs to hold slots [0, bump): those its bytes reach, and always the
 * first (a zspage is built for the allocation about to take slot 0).
 */
static inline unsigned int zs_pages_for(const struct size_class *class, unsigned int bump)
{
	unsigned int n = (unsigned int)(((size_t)bump * class->size + ZSM_PAGE_SIZE - 1) >>
					ZSM_PAGE_SHIFT);

	return n ? n : 1;
}

/* Where the first slot starting in page k of a zspage of class begins, in that page. */
static inline unsigned int zs_first_offset(const struct size_class *class, unsigned int k)
{
	size_t start = (size_t)k * ZSM_PAGE_SIZE;

	return (unsigned int)((start + class->size - 1) / class->size * class->size - start);
}

/* The slot's first word: (handle id << 1 | 1) when allocated, (next free << 1) when free. */
static inline uint32_t *zs_slot_word(const struct size_class *class,
				     const struct zspage *zp, unsigned int idx)
{
	return (uint32_t *)zs_slot_addr(class, zp, idx);
}

#define ZS_HCHUNK_ID_SHIFT	6	/* cells per chunk < 64 */
_Static_assert(ZS_HCHUNK_CELLS < (1u << ZS_HCHUNK_ID_SHIFT), "cell index fits its field");

/* The header word of an allocated slot holding handle's object. */
static inline uint32_t zs_handle_tag(unsigned long handle)
{
	const struct zs_hchunk *c = (const void *)(handle & ~(unsigned long)(ZS_HCHUNK_SIZE - 1));
	uint32_t cell = (uint32_t)((handle - (unsigned long)c->cell) / sizeof(c->cell[0]));

	return (c->no << ZS_HCHUNK_ID_SHIFT | cell) << 1 | 1;
}

/* The handle an allocated slot's header word names; class->lock held. */
static inline unsigned long zs_tag_handle(const struct size_class *class, uint32_t tag)
{
	uint32_t id = tag >> 1;

	return (unsigned long)&class->chunk_tab[id >> ZS_HCHUNK_ID_SHIFT]
			->cell[id & ((1u << ZS_HCHUNK_ID_SHIFT) - 1)];
}

/* classes.c */
int zs_classes_init(struct zs_pool *pool);
void zs_classes_destroy(struct zs_pool *pool);

/* page.c */
int zs_pagesrc_init(struct zs_pool *pool);
void zs_pagesrc_destroy(struct zs_pool *pool);
int zs_pages_get(struct zs_pool *pool, uintptr_t *pages, unsigned int n);
void zs_pages_put(struct zs_pool *pool, const uintptr_t *pages, unsigned int n);
void zs_pages_clean(struct zs_pool *pool, const uintptr_t *pages, unsigned int n);
void zs_pages_prefer_dirty(struct zs_pool *pool, uintptr_t *pages, unsigned int n);
void zs_pages_flush(struct zs_pool *pool);
struct zspage *zs_desc_get(struct zs_pool *pool, unsigned int npages);
void zs_desc_put(struct zs_pool *pool, struct zspage *zp);
int zs_prefault_start(struct zs_pool *pool);
void zs_prefault_stop(struct zs_pool *pool);
int zs_defer_start(struct zs_pool *pool);
void zs_defer_stop(struct zs_pool *pool);
void zs_defer_release_orphans(struct zs_pool *pool);
void zs_zspage_release_list(struct zs_pool *pool, struct zsm_list *list);
void zs_zspage_release(struct zs_pool *pool, struct zspage *zp);

/* meta.c */
void *zs_meta_carve(struct zs_pool *pool, struct zs_meta_cursor *cur, size_t size,
		    size_t align);
void zs_meta_destroy(struct zs_pool *pool);
/* Unmaps and frees every region of a list (page regions, metadata blocks). */
void zs_regions_unmap(struct zs_region **list);

/* handle.c */
struct zs_hchunk *zs_hchunk_alloc(struct zs_pool *pool, struct size_class *class);
int zs_hchunk_add(struct zs_pool *pool, struct size_class *class, struct zs_hchunk *chunk);
void zs_hchunks_destroy(struct zs_pool *pool, struct size_class *class);
void zs_check_handle(struct zs_pool *pool, unsigned long handle, const char *what);
__attribute__((noreturn, format(printf, 1, 2))) void zs_die(const char *fmt, ...);

static inline unsigned long *zs_cell_pop(struct size_class *class)
{
	unsigned long *cell = class->free_cells;

	class->free_cells = (unsigned long *)(zsm_load_relaxed(cell) & ~ZS_CELL_FREE);
	return cell;
}

static inline void zs_cell_push(struct size_class *class, unsigned long *cell)
{
	zsm_store_relaxed(cell, (unsigned long)class->free_cells | ZS_CELL_FREE);
	class->free_cells = cell;
}

/* zsmalloc.c (helpers used by compact.c and stats.c) */
unsigned int zs_obj_alloc(struct zs_pool *pool, struct size_class *class, struct zspage *zp,
			  unsigned long handle);
void zs_asan_slot(const struct size_class *class, const struct zspage *zp, unsigned int idx,
		  size_t from, bool poison);
void zs_obj_free(struct size_class *class, struct zspage *zp, unsigned int idx);
void zs_fix_fullness(struct size_class *class, struct zspage *zp);
void zs_isolate_zspage(struct size_class *class, struct zspage *zp);
void zs_putback_zspage(struct size_class *class, struct zspage *zp);
void zs_remove_zspage(struct size_class *class, struct zspage *zp);
void zs_copy_out(const struct size_class *class, const struct zspage *zp, unsigned int idx,
		 size_t off, void *dst, size_t len);
void zs_copy_in(const struct size_class *class, const struct zspage *zp, unsigned int idx,
		size_t off, const void *src, size_t len);

/* Fault injection for tests: the nth OS allocation from now fails (0: off). */
void zs_fault_inject(long nth);
bool zs_fault(void);

#endif /* ZSMEM_ZS_INTERNAL_H */
