/* SPDX-License-Identifier: MIT */
/*
 * zswap internals shared by the files of src/zswap: the compressed swap cache (see
 * include/zsmem/zswap.h for the contract).
 *
 * Data structures
 * ---------------
 *   struct zswap                 one cache: zsmalloc pool, compressor, limit state,
 *     trees[type] ------------>  struct zswap_tree: one per swapped-on type
 *                                  slots[offset]   entry pointer or NULL
 *                                  zero_map        one bit per offset: zero-filled page
 *                                  stripes[]       lock + "writeback done" condvar for
 *                                                  the 64 offsets of one zero_map word,
 *                                                  striped over ZSWAP_STRIPES
 *     lru --------------------> every live entry (all types), hottest first
 *   struct zswap_entry           pool handle, length (ZSWAP_PAGE_SIZE = stored raw),
 *                                type/offset (immutable), referenced bit, writeback flag
 *
 * An offset holds at most one of: an entry, a zero bit, nothing.
 *
 * Entry life cycle
 * ----------------
 *   store:      allocated, written, linked on the LRU and published in the slot, all
 *               under the slot's stripe lock (so anyone who finds it in the slot may
 *               assume it is on the LRU).
 *   unpublish:  load, invalidate, replacement by a later store, swapoff and a finished
 *               writeback clear the slot under the stripe lock. Whoever clears the slot
 *               owns the entry and is the only one who may free it: that is the rule
 *               that makes a double free impossible.
 *   free:       _zswap_entry_free() unlinks it from the LRU, frees the pool object and the
 *               entry. With deferred invalidate the owner may instead hand the pointer
 *               to zs_free_deferred(); the drain worker then runs the same free.
 *
 * Unpublished entries may sit on the LRU until they are freed (a deferred invalidate
 * keeps the LRU unlink off the caller's path). The shrinker therefore never trusts an
 * entry it took from the LRU: it only reads the immutable type/offset there (an entry
 * on the LRU is not yet freed, and _zswap_entry_free unlinks under lru_lock first), then
 * re-checks under the stripe lock that the slot still holds that very pointer.
 *
 * Writeback versus everything else
 * --------------------------------
 * Writeback decompresses and pwrite()s without holding the stripe lock, so the entry is
 * pinned by a flag instead: under the stripe lock the shrinker sets e->writeback while
 * the entry is still published. Every path that would unpublish an entry (load,
 * invalidate, store, which all go through slot_settle()) waits on the stripe's condvar
 * while the slot's entry has the flag set. When the write is done the shrinker, under
 * the stripe lock, either unpublishes the entry (success: the file now has the page, a
 * later load says -ENOENT) or leaves it cached (failure), clears the flag and wakes the
 * waiters. Consequences: a load never returns -ENOENT before the file holds the page;
 * a load, invalidate or store during a writeback simply happens after it; no stale
 * write reaches the file after the slot has been reused, because the slot cannot change
 * while the write is in flight. The wait is one page of decompress + pwrite.
 * Swapoff and writeback are serialised by wb_mutex, which is what keeps the shrinker
 * from using a tree that swapoff is freeing.
 *
 * Lock ordering
 * -------------
 *   wb_mutex -> stripe lock -> lru_lock
 *   shrink_lock is a leaf (only protects the shrinker's sleep).
 * The shrinker takes lru_lock without a stripe lock, drops it, then takes the stripe
 * lock: it never holds both in the wrong order.
 *
 * Counters are relaxed atomics: they are statistics, nothing is ordered by them.
 * stored_pages is raised before an entry is published and lowered after it is freed
 * (zero bits: both under the stripe lock), so it never transiently underflows.
 *
 * Files, and the files each one calls (a DAG: only files listed below it; the
 * zswap_calls_dag test checks it with scripts/check-calls.sh)
 * -----
 *   zswap_io.c      store, load, invalidate                    -> entry, shrink
 *   zswap_dev.c     create/destroy, swapon/swapoff             -> entry, shrink, defer
 *   zswap_stat.c    statistics, zswap_check                    -> defer
 *   zswap_shrink.c  limit + hysteresis, writeback, shrinker    -> entry
 *   zswap_entry.c   LRU insertion, entry free/release/decompress, slot drop
 *   zswap_defer.c   deferred-invalidate ops and drain, zswap_flush
 *
 * Invariants (zswap_check recounts them, after a flush, with no store, load,
 * invalidate or writeback in flight):
 *   lru_nr                      == |LRU| == published + awaiting a deferred free
 *                                  (so lru_nr >= published)
 *   stored_pages                == |LRU| + |zero bits|
 *   zero_pages                  == |zero bits|
 *   stored_incompressible_pages == |entries on the LRU with length == ZSWAP_PAGE_SIZE|
 *   per offset: |entry| + |zero bit| <= 1
 *   a published e: trees[e->type]->slots[e->offset] == e, e is on the LRU, and
 *   e->writeback == false unless the shrinker is writing it back right now
 */
#ifndef ZSMEM_ZSWAP_INTERNAL_H
#define ZSMEM_ZSWAP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <zsmem/zsmalloc.h>
#include <zsmem/zswap.h>

#include "common/atomics.h"
#include "common/compiler.h"
#include "common/list.h"
#include "common/page.h"
#include "compress/zcomp.h"

_Static_assert(ZSWAP_PAGE_SIZE == ZSM_PAGE_SIZE, "the public page size is the library's");

#define ZSWAP_STRIPES		256u	/* power of two */
#define ZSWAP_STRIPE_SHIFT	6	/* 64 offsets = one zero_map word per stripe slice */
#define ZSWAP_MAX_NR_PAGES	(1ull << 36)	/* 256 TiB: offset * 4096 fits an off_t */
#define ZSWAP_DEFER_PER_PAGE	(ZSM_PAGE_SIZE / sizeof(void *))	/* 512 entry pointers */
#define ZSWAP_DST_MAX		(2 * ZSM_PAGE_SIZE)	/* compressor output buffer (>= bound) */
#define ZSWAP_MAX_WB_FAILS	16	/* consecutive failed writes that end a shrink pass */
#define ZSWAP_COMPACT_EVERY	64	/* writebacks between compactions when stuck */
#define ZSWAP_STUCK_BACKOFF_MS	10	/* pause after a pass that wrote nothing back */

/* ---------------------------------------------------------------------------------- */
/* Structures */

struct zswap_entry {
	struct zsm_list lru;		/* on zs->lru from publication until freed */
	unsigned long handle;		/* zsmalloc object */
	uint64_t offset;		/* immutable */
	uint32_t length;		/* object bytes; ZSM_PAGE_SIZE = stored raw */
	uint8_t type;			/* immutable */
	bool referenced;		/* second chance; under lru_lock */
	bool writeback;			/* pinned by the shrinker; under the stripe lock */
	bool seen;			/* zswap_check's mark; under lru_lock */
};

struct zswap_stripe {
	pthread_mutex_t lock;
	pthread_cond_t wb_done;		/* a writeback in this stripe finished */
} __attribute__((aligned(128)));

struct zswap_tree {
	uint64_t nr_pages;
	int backing_fd;
	struct zswap_entry **slots;	/* nr_pages pointers; under the stripe lock */
	uint64_t *zero_map;		/* nr_pages bits; a word lies in one stripe */
	struct zswap_stripe stripes[ZSWAP_STRIPES];
};

/* Every field atomic: zsm_add/sub/load_relaxed (statistics; nothing is ordered by them). */
struct zswap_counters {
	uint64_t pool_limit_hit;
	uint64_t reject_reclaim_fail;
	uint64_t reject_alloc_fail;
	uint64_t reject_compress_fail;
	uint64_t reject_compress_poor;
	uint64_t decompress_fail;
	uint64_t written_back_pages;
	uint64_t stored_pages;
	uint64_t stored_incompressible_pages;
	uint64_t zero_pages;
	uint64_t reject_pool_full;
	uint64_t deferred_invalidates;
};

struct zswap {
	struct zs_pool *pool;
	struct zcomp *comp;
	struct zswap_tree *trees[ZSWAP_MAX_TYPES];	/* atomic: store release, load acquire */

	size_t raw_threshold;		/* compressed >= this: store raw */
	uint64_t max_pages;		/* limit, in pool pages */
	uint64_t accept_pages;		/* hysteresis: accept again at or below this */
	bool deferred;
	bool reject_incompressible;
	bool reached_full;		/* atomic, relaxed: limit hit, not yet back under
					 * the threshold (a hint; stores race on it) */

	pthread_mutex_t lru_lock;
	struct zsm_list lru;		/* next = hottest, prev = coldest */
	uint64_t lru_nr;		/* atomic, relaxed: written under lru_lock, read racily */

	pthread_mutex_t wb_mutex;	/* one writeback at a time; excludes swapoff */

	/*
	 * The shrinker thread. The three flags are atomic, relaxed: each is re-read under
	 * shrink_lock before anyone sleeps on shrink_cond, and the mutex orders the rest.
	 */
	bool shrinker_started;		/* set once the thread exists; read by wakers */
	pthread_t shrinker;
	pthread_mutex_t shrink_lock;
	pthread_cond_t shrink_cond;
	bool shrink_requested;		/* a store hit the limit since the last pass */
	bool shrink_stop;		/* set (under shrink_lock) by zswap_destroy */

	struct zswap_counters c;
};

/* ---------------------------------------------------------------------------------- */
/* Helpers */

static inline struct zswap_tree *tree_get(struct zswap *zs, unsigned int type)
{
	if (type >= ZSWAP_MAX_TYPES)
		return NULL;
	/* Pairs with the release in zswap_swapon: the table is initialised before use. */
	return zsm_load_acquire(&zs->trees[type]);
}

/* The tree holding (type, offset), or NULL for no device, no such type or offset. */
static inline struct zswap_tree *tree_for(struct zswap *zs, unsigned int type, uint64_t offset)
{
	struct zswap_tree *t = zs ? tree_get(zs, type) : NULL;

	return t && offset < t->nr_pages ? t : NULL;
}

static inline struct zswap_stripe *stripe_of(struct zswap_tree *t, uint64_t off)
{
	return &t->stripes[(off >> ZSWAP_STRIPE_SHIFT) & (ZSWAP_STRIPES - 1)];
}

static inline bool zero_test(const struct zswap_tree *t, uint64_t off)
{
	return t->zero_map[off >> 6] & (1ull << (off & 63));
}

static inline void zero_set(struct zswap_tree *t, uint64_t off)
{
	t->zero_map[off >> 6] |= 1ull << (off & 63);
}

static inline void zero_clear(struct zswap_tree *t, uint64_t off)
{
	t->zero_map[off >> 6] &= ~(1ull << (off & 63));
}


static inline bool entry_is_raw(const struct zswap_entry *e)
{
	return e->length == ZSM_PAGE_SIZE;
}

/*
 * Waits, stripe lock held, until the slot's entry (if any) is not being written back,
 * and returns it. After this the caller may unpublish the entry.
 */
static inline struct zswap_entry *slot_settle(struct zswap_tree *t, struct zswap_stripe *s,
				       uint64_t off)
{
	struct zswap_entry *e;

	while ((e = t->slots[off]) && e->writeback)
		pthread_cond_wait(&s->wb_done, &s->lock);
	return e;
}

/* ---------------------------------------------------------------------------------- */
/* Shared between the files (hidden: the library is built with -fvisibility=hidden) */

/* zswap_entry.c: the entry life cycle. Links e at the LRU's head (lru_lock inside). */
void _zswap_lru_add(struct zswap *zs, struct zswap_entry *e);
/* The full free of an unpublished entry that the caller owns. */
void _zswap_entry_free(struct zswap *zs, struct zswap_entry *e);
/* Frees an unpublished entry, through the deferred framework when configured. */
void _zswap_entry_release(struct zswap *zs, struct zswap_entry *e);
/* Decompresses (or copies, if raw) the entry's page; 0 or the compressor's error. */
int _zswap_entry_decompress(struct zswap *zs, const struct zswap_entry *e, void *page);
/* Unpublishes and releases whatever the slot holds (stripe lock inside). */
void _zswap_slot_drop(struct zswap *zs, struct zswap_tree *t, uint64_t off);

/* zswap_defer.c: the deferred-invalidate callbacks, enabled by zswap_create. */
extern const struct zs_deferred_ops _zswap_defer_ops;

/* zswap_shrink.c: a store's limit check (true: reject), and the shrinker thread. */
bool _zswap_over_limit(struct zswap *zs);
void *_zswap_shrinker_main(void *arg);

#endif
