/* SPDX-License-Identifier: MIT */
/*
 * zswap.c - the compressed swap cache (see include/zsmem/zswap.h for the contract).
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
 *   free:       entry_free() unlinks it from the LRU, frees the pool object and the
 *               entry. With deferred invalidate the owner may instead hand the pointer
 *               to zs_free_deferred(); the drain worker then runs the same free.
 *
 * Unpublished entries may sit on the LRU until they are freed (a deferred invalidate
 * keeps the LRU unlink off the caller's path). The shrinker therefore never trusts an
 * entry it took from the LRU: it only reads the immutable type/offset there (an entry
 * on the LRU is not yet freed, and entry_free unlinks under lru_lock first), then
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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zsmem/zsmalloc.h>
#include <zsmem/zswap.h>

#include "common/thread.h"
#include "compress/zcomp.h"

#define PAGE_SZ			ZSWAP_PAGE_SIZE
#define ZSWAP_STRIPES		256u	/* power of two */
#define ZSWAP_STRIPE_SHIFT	6	/* 64 offsets = one zero_map word per stripe slice */
#define ZSWAP_MAX_NR_PAGES	(1ull << 36)	/* 256 TiB: offset * 4096 fits an off_t */
#define ZSWAP_DEFER_PER_PAGE	(ZS_PAGE_SIZE / sizeof(void *))	/* 512 entry pointers */
#define ZSWAP_DST_MAX		(2 * PAGE_SZ)	/* compressor output buffer (>= bound) */
#define ZSWAP_MAX_WB_FAILS	16	/* consecutive failed writes that end a shrink pass */
#define ZSWAP_COMPACT_EVERY	64	/* writebacks between compactions when stuck */
#define ZSWAP_STUCK_BACKOFF_MS	10	/* pause after a pass that wrote nothing back */

/* ---------------------------------------------------------------------------------- */
/* Named atomics: relaxed counters and the published tree pointers. */

static inline uint64_t zsw_read(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void zsw_add(uint64_t *p, uint64_t v)
{
	__atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

static inline void zsw_sub(uint64_t *p, uint64_t v)
{
	__atomic_fetch_sub(p, v, __ATOMIC_RELAXED);
}

static inline bool zsw_flag_read(const bool *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void zsw_flag_set(bool *p, bool v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Returns the previous value. */
static inline bool zsw_flag_xchg(bool *p, bool v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------------- */
/* An intrusive doubly linked list (the LRU). */

struct zsw_list {
	struct zsw_list *prev, *next;
};

static inline void zsw_list_init(struct zsw_list *h)
{
	h->prev = h->next = h;
}

static inline bool zsw_list_empty(const struct zsw_list *h)
{
	return h->next == h;
}

static inline void zsw_list_del(struct zsw_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static inline void zsw_list_add_head(struct zsw_list *h, struct zsw_list *n)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}

/* ---------------------------------------------------------------------------------- */
/* Structures */

struct zswap_entry {
	struct zsw_list lru;		/* on zs->lru from publication until entry_free */
	unsigned long handle;		/* zsmalloc object */
	uint64_t offset;		/* immutable */
	uint32_t length;		/* object bytes; PAGE_SZ = stored raw */
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
	struct zswap_tree *trees[ZSWAP_MAX_TYPES];	/* acquire/release published */

	size_t raw_threshold;		/* compressed >= this: store raw */
	uint64_t max_pages;		/* limit, in pool pages */
	uint64_t accept_pages;		/* hysteresis: accept again at or below this */
	bool deferred;
	bool reject_incompressible;
	bool reached_full;		/* limit hit, not yet back under the threshold */

	pthread_mutex_t lru_lock;
	struct zsw_list lru;		/* next = hottest, prev = coldest */
	uint64_t lru_nr;		/* written under lru_lock, read racily */

	pthread_mutex_t wb_mutex;	/* one writeback at a time; excludes swapoff */

	bool shrinker_started;
	pthread_t shrinker;
	pthread_mutex_t shrink_lock;
	pthread_cond_t shrink_cond;
	bool shrink_requested;
	bool shrink_stop;
	/*
	 * fork(): the shrinker is "busy" while it runs a pass (not waiting on shrink_cond);
	 * shrink_fork_pending parks it between passes (a pass ends early when it is set),
	 * and shrink_idle tells the prepare handler it is parked. Under shrink_lock;
	 * shrink_fork_pending is also read racily by the pass.
	 */
	bool shrink_busy;
	bool shrink_fork_pending;
	pthread_cond_t shrink_idle;
	struct zswap *all_next, *all_prev;	/* zswaps with a shrinker, for fork */

	struct zswap_counters c;
};

/* ---------------------------------------------------------------------------------- */
/* Helpers */

static inline struct zswap_tree *tree_get(struct zswap *zs, unsigned int type)
{
	if (type >= ZSWAP_MAX_TYPES)
		return NULL;
	/* Pairs with the release in zswap_swapon: the table is initialised before use. */
	return __atomic_load_n(&zs->trees[type], __ATOMIC_ACQUIRE);
}

/* The table holding (type, offset), or NULL: no such type, or offset past its end. */
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

static bool page_is_zero(const void *page)
{
	const unsigned char *p = page;
	size_t i;

	/* OR 64 bytes at a time: the compiler vectorises it, and most non-zero pages
	 * are caught in the first block. memcpy keeps unaligned pages legal. */
	for (i = 0; i < PAGE_SZ; i += 64) {
		uint64_t w[8], acc = 0;

		memcpy(w, p + i, sizeof(w));
		for (int k = 0; k < 8; k++)
			acc |= w[k];
		if (acc)
			return false;
	}
	return true;
}

static inline bool entry_is_raw(const struct zswap_entry *e)
{
	return e->length == PAGE_SZ;
}

/*
 * Waits, stripe lock held, until the slot's entry (if any) is not being written back,
 * and returns it. After this the caller may unpublish the entry.
 */
static struct zswap_entry *slot_settle(struct zswap_tree *t, struct zswap_stripe *s,
				       uint64_t off)
{
	struct zswap_entry *e;

	while ((e = t->slots[off]) && e->writeback)
		pthread_cond_wait(&s->wb_done, &s->lock);
	return e;
}

static void lru_add(struct zswap *zs, struct zswap_entry *e)
{
	pthread_mutex_lock(&zs->lru_lock);
	zsw_list_add_head(&zs->lru, &e->lru);
	zsw_add(&zs->lru_nr, 1);
	pthread_mutex_unlock(&zs->lru_lock);
}

/* The full free of an unpublished entry that the caller owns. */
static void entry_free(struct zswap *zs, struct zswap_entry *e)
{
	pthread_mutex_lock(&zs->lru_lock);
	zsw_list_del(&e->lru);
	zsw_sub(&zs->lru_nr, 1);
	pthread_mutex_unlock(&zs->lru_lock);

	zs_free(zs->pool, e->handle);
	if (entry_is_raw(e))
		zsw_sub(&zs->c.stored_incompressible_pages, 1);
	zsw_sub(&zs->c.stored_pages, 1);
	free(e);
}

/* Frees an unpublished entry, through the deferred framework when configured. */
static void entry_release(struct zswap *zs, struct zswap_entry *e)
{
	if (zs->deferred && zs_free_deferred(zs->pool, (unsigned long)e)) {
		zsw_add(&zs->c.deferred_invalidates, 1);
		return;
	}
	/* Not enabled or no spare buffer page: free on the caller's time, as the
	 * framework requires. */
	entry_free(zs, e);
}

static int entry_decompress(struct zswap *zs, const struct zswap_entry *e, void *page)
{
	unsigned char local[PAGE_SZ];
	const void *src;
	int ret;

	if (entry_is_raw(e)) {
		zs_obj_read(zs->pool, e->handle, page, PAGE_SZ);
		return 0;
	}
	src = zs_obj_read_begin(zs->pool, e->handle, e->length, local);
	ret = zcomp_decompress(zs->comp, src, e->length, page, PAGE_SZ);
	zs_obj_read_end(zs->pool, e->handle, src);
	return ret;
}

/* Unpublishes and releases whatever the slot holds. */
static void slot_drop(struct zswap *zs, struct zswap_tree *t, uint64_t off)
{
	struct zswap_stripe *s = stripe_of(t, off);
	struct zswap_entry *e;

	pthread_mutex_lock(&s->lock);
	e = slot_settle(t, s, off);
	if (e) {
		t->slots[off] = NULL;
	} else if (zero_test(t, off)) {
		zero_clear(t, off);
		zsw_sub(&zs->c.zero_pages, 1);
		zsw_sub(&zs->c.stored_pages, 1);
	}
	pthread_mutex_unlock(&s->lock);
	if (e)
		entry_release(zs, e);
}

/* ---------------------------------------------------------------------------------- */
/* Deferred invalidate: entry pointers, 512 per buffer page */

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
		zsw_list_del(&v[i]->lru);
	zsw_sub(&zs->lru_nr, count);
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
	zsw_sub(&zs->c.stored_incompressible_pages, raw);
	zsw_sub(&zs->c.stored_pages, count);
}

static const struct zs_deferred_ops zswap_defer_ops = {
	.push = zswap_defer_push,
	.drain = zswap_defer_drain,
};

/* ---------------------------------------------------------------------------------- */
/* Pool limit with hysteresis, and the shrinker */

static void shrink_wake(struct zswap *zs)
{
	if (!zsw_flag_read(&zs->shrinker_started))
		return;
	/* Only the first waker after a pass takes the lock; the flag is re-read under
	 * shrink_lock by the shrinker before it sleeps, so no wakeup is lost. */
	if (zsw_flag_xchg(&zs->shrink_requested, true))
		return;
	pthread_mutex_lock(&zs->shrink_lock);
	pthread_cond_signal(&zs->shrink_cond);
	pthread_mutex_unlock(&zs->shrink_lock);
}

/* true: reject this store. Counts pool_limit_hit / reject_pool_full. */
static bool zswap_over_limit(struct zswap *zs)
{
	uint64_t cur = zs_get_total_pages(zs->pool);

	if (cur >= zs->max_pages) {
		zsw_add(&zs->c.pool_limit_hit, 1);
		zsw_flag_set(&zs->reached_full, true);
		shrink_wake(zs);
		return true;
	}
	if (zsw_flag_read(&zs->reached_full)) {
		if (cur > zs->accept_pages) {
			zsw_add(&zs->c.reject_pool_full, 1);
			shrink_wake(zs);
			return true;
		}
		zsw_flag_set(&zs->reached_full, false);
	}
	return false;
}

static int write_full(int fd, const void *buf, size_t len, off_t pos)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		pos += n;
		len -= (size_t)n;
	}
	return 0;
}

enum wb_result {
	WB_DONE,	/* one page written back and freed */
	WB_SKIP,	/* rotated (second chance) or stale LRU entry */
	WB_FAIL,	/* write or decompression failed, entry kept */
	WB_EMPTY,	/* nothing on the LRU */
};

/*
 * Writes back the coldest entry. Caller holds wb_mutex; buf is one page.
 */
static enum wb_result writeback_one(struct zswap *zs, void *buf)
{
	struct zswap_entry *e;
	struct zswap_tree *t;
	struct zswap_stripe *s;
	unsigned int type;
	uint64_t off;
	int ret;

	pthread_mutex_lock(&zs->lru_lock);
	if (zsw_list_empty(&zs->lru)) {
		pthread_mutex_unlock(&zs->lru_lock);
		return WB_EMPTY;
	}
	e = (struct zswap_entry *)((char *)zs->lru.prev - offsetof(struct zswap_entry, lru));
	/*
	 * Rotate to the head whatever happens next: a referenced entry gets its second
	 * chance, and a stale or failing one is not picked again at once.
	 */
	zsw_list_del(&e->lru);
	zsw_list_add_head(&zs->lru, &e->lru);
	if (e->referenced) {
		e->referenced = false;
		pthread_mutex_unlock(&zs->lru_lock);
		return WB_SKIP;
	}
	type = e->type;
	off = e->offset;
	pthread_mutex_unlock(&zs->lru_lock);
	/* From here e may be freed by its owner: compare the pointer, never read it,
	 * until the stripe lock shows it is still published. */

	t = tree_for(zs, type, off);
	if (!t)
		return WB_SKIP;		/* leftover of a swapped-off type */
	s = stripe_of(t, off);
	pthread_mutex_lock(&s->lock);
	if (t->slots[off] != e) {
		pthread_mutex_unlock(&s->lock);
		return WB_SKIP;		/* unpublished, awaiting its free */
	}
	if (t->backing_fd < 0) {
		pthread_mutex_unlock(&s->lock);
		zsw_add(&zs->c.reject_reclaim_fail, 1);
		return WB_FAIL;
	}
	e->writeback = true;
	pthread_mutex_unlock(&s->lock);

	/* Pinned: load/invalidate/store on this slot wait in slot_settle(). */
	ret = entry_decompress(zs, e, buf);
	if (ret)
		zsw_add(&zs->c.decompress_fail, 1);
	else
		ret = write_full(t->backing_fd, buf, PAGE_SZ, (off_t)(off * PAGE_SZ));

	pthread_mutex_lock(&s->lock);
	e->writeback = false;
	if (!ret)
		t->slots[off] = NULL;
	pthread_cond_broadcast(&s->wb_done);
	pthread_mutex_unlock(&s->lock);

	if (ret) {
		zsw_add(&zs->c.reject_reclaim_fail, 1);
		return WB_FAIL;
	}
	/* Synchronous free: writeback exists to give memory back now. */
	entry_free(zs, e);
	zsw_add(&zs->c.written_back_pages, 1);
	return WB_DONE;
}

static bool over_accept(struct zswap *zs)
{
	return zs_get_total_pages(zs->pool) > zs->accept_pages;
}

/*
 * Writes back until the pool is at or below the accept threshold (or nr pages when
 * to_threshold is false). Stops on an empty LRU, on ZSWAP_MAX_WB_FAILS failures in a
 * row, or after a full turn of the LRU without progress.
 */
static uint64_t shrink(struct zswap *zs, void *buf, bool to_threshold, uint64_t nr)
{
	uint64_t done = 0, idle = 0, since_compact = 0;
	unsigned int fails = 0;

	while (to_threshold ? over_accept(zs) : done < nr) {
		enum wb_result r;

		if (to_threshold && (zsw_flag_read(&zs->shrink_stop) ||
				     zsw_flag_read(&zs->shrink_fork_pending)))
			break;
		/* Per entry, so that swapoff is not shut out for a whole pass. */
		pthread_mutex_lock(&zs->wb_mutex);
		r = writeback_one(zs, buf);
		pthread_mutex_unlock(&zs->wb_mutex);

		if (r == WB_EMPTY)
			break;
		if (r == WB_DONE) {
			done++;
			idle = 0;
			fails = 0;
			/*
			 * Freeing scattered objects frees few zspages: when the coldest
			 * entries are spread thinly, compact so that the pages do come
			 * back instead of writing back the whole cache.
			 */
			if (to_threshold && ++since_compact >= ZSWAP_COMPACT_EVERY) {
				since_compact = 0;
				zs_compact(zs->pool);
			}
			continue;
		}
		if (r == WB_FAIL && ++fails >= ZSWAP_MAX_WB_FAILS)
			break;
		/* Two turns: the first clears the referenced bits. */
		if (++idle > 2 * zsw_read(&zs->lru_nr) + ZSWAP_MAX_WB_FAILS)
			break;
	}
	return done;
}

static void *shrinker_main(void *arg)
{
	struct zswap *zs = arg;
	void *buf = aligned_alloc(PAGE_SZ, PAGE_SZ);

	pthread_mutex_lock(&zs->shrink_lock);
	for (;;) {
		zs->shrink_busy = false;
		pthread_cond_broadcast(&zs->shrink_idle);
		while ((!zsw_flag_read(&zs->shrink_requested) ||
			zsw_flag_read(&zs->shrink_fork_pending)) &&
		       !zsw_flag_read(&zs->shrink_stop))
			pthread_cond_wait(&zs->shrink_cond, &zs->shrink_lock);
		if (zsw_flag_read(&zs->shrink_stop))
			break;
		zs->shrink_busy = true;
		pthread_mutex_unlock(&zs->shrink_lock);

		/* Clear before the pass: a store that hits the limit during the pass asks
		 * for one more. */
		zsw_flag_set(&zs->shrink_requested, false);
		/*
		 * Invalidated entries still waiting in deferred buffers hold pool memory
		 * that is garbage already: release it before writing live pages out.
		 */
		if (zs->deferred && over_accept(zs))
			zs_deferred_flush(zs->pool);
		if (buf && shrink(zs, buf, true, 0) == 0 && over_accept(zs)) {
			struct timespec until;

			zs_compact(zs->pool);
			/*
			 * Stuck (no backing file, failing writes): every refused store asks
			 * again, so back off before the next pass instead of decompressing
			 * and failing in a loop. Only a stop cuts the pause short.
			 */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += ZSWAP_STUCK_BACKOFF_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&zs->shrink_lock);
			/* Waiting is parked, for fork as well. */
			zs->shrink_busy = false;
			pthread_cond_broadcast(&zs->shrink_idle);
			while (!zsw_flag_read(&zs->shrink_stop) &&
			       pthread_cond_timedwait(&zs->shrink_cond, &zs->shrink_lock,
						      &until) != ETIMEDOUT)
				;
		} else {
			if (buf && over_accept(zs))
				zs_compact(zs->pool);
			pthread_mutex_lock(&zs->shrink_lock);
		}
		/* A request made during the pass is honoured at the top of the loop. */
	}
	pthread_mutex_unlock(&zs->shrink_lock);
	free(buf);
	return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* fork()                                                                              */

/*
 * Every zswap with a shrinker. zswap_all_lock comes before any shrink_lock; the
 * prepare handler holds both across fork(), with every shrinker parked between
 * passes (holding no zswap or pool lock). The child has no shrinker: as if it had
 * been created without one (zswap_writeback() still works there).
 */
static pthread_mutex_t zswap_all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zswap *zswap_all;

static void zswap_register(struct zswap *zs)
{
	pthread_mutex_lock(&zswap_all_lock);
	zs->all_prev = NULL;
	zs->all_next = zswap_all;
	if (zswap_all)
		zswap_all->all_prev = zs;
	zswap_all = zs;
	pthread_mutex_unlock(&zswap_all_lock);
}

static void zswap_unregister(struct zswap *zs)
{
	pthread_mutex_lock(&zswap_all_lock);
	if (zs->all_prev)
		zs->all_prev->all_next = zs->all_next;
	else if (zswap_all == zs)
		zswap_all = zs->all_next;
	if (zs->all_next)
		zs->all_next->all_prev = zs->all_prev;
	zs->all_next = zs->all_prev = NULL;
	pthread_mutex_unlock(&zswap_all_lock);
}

static void zswap_fork_prepare(void)
{
	pthread_mutex_lock(&zswap_all_lock);
	for (struct zswap *zs = zswap_all; zs; zs = zs->all_next) {
		pthread_mutex_lock(&zs->shrink_lock);
		zsw_flag_set(&zs->shrink_fork_pending, true);
		while (zs->shrink_busy)
			pthread_cond_wait(&zs->shrink_idle, &zs->shrink_lock);
	}
}

static void zswap_fork_parent(void)
{
	for (struct zswap *zs = zswap_all; zs; zs = zs->all_next) {
		zsw_flag_set(&zs->shrink_fork_pending, false);
		pthread_cond_signal(&zs->shrink_cond);
		pthread_mutex_unlock(&zs->shrink_lock);
	}
	pthread_mutex_unlock(&zswap_all_lock);
}

static void zswap_fork_child(void)
{
	for (struct zswap *zs = zswap_all; zs; zs = zs->all_next) {
		zsw_flag_set(&zs->shrink_fork_pending, false);
		zsw_flag_set(&zs->shrinker_started, false);
		/* Their waiter (the shrinker) does not exist here. */
		pthread_cond_init(&zs->shrink_cond, NULL);
		pthread_cond_init(&zs->shrink_idle, NULL);
		pthread_mutex_unlock(&zs->shrink_lock);
	}
	zswap_all = NULL;	/* none has a shrinker any more */
	pthread_mutex_unlock(&zswap_all_lock);
}

/* Last of the library's fork handlers to register (zsmalloc 201, deferred 202), so
 * its prepare runs first: the shrinker may flush deferred frees until it is parked. */
__attribute__((constructor(203))) static void zswap_fork_register(void)
{
	pthread_atfork(zswap_fork_prepare, zswap_fork_parent, zswap_fork_child);
}

/* ---------------------------------------------------------------------------------- */
/* Creation and teardown */

static uint64_t phys_ram_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psz <= 0)
		return 1ull << 30;	/* unknown: assume 1 GiB rather than fail */
	return (uint64_t)pages * (uint64_t)psz;
}

ZS_API struct zswap *zswap_create(const struct zswap_config *cfg)
{
	static const struct zswap_config zero_cfg;
	struct zs_pool_config pcfg;
	unsigned int pct, thr;
	struct zswap *zs;
	size_t bound;
	int ret;

	if (!cfg)
		cfg = &zero_cfg;
	pct = cfg->max_pool_percent ? cfg->max_pool_percent : 20;
	thr = cfg->accept_threshold_percent ? cfg->accept_threshold_percent : 90;
	if (pct > 100 || thr > 100) {
		errno = EINVAL;
		return NULL;
	}

	zs = calloc(1, sizeof(*zs));
	if (!zs) {
		errno = ENOMEM;
		return NULL;
	}
	zsw_list_init(&zs->lru);
	pthread_mutex_init(&zs->lru_lock, NULL);
	pthread_mutex_init(&zs->wb_mutex, NULL);
	pthread_mutex_init(&zs->shrink_lock, NULL);
	pthread_cond_init(&zs->shrink_cond, NULL);
	pthread_cond_init(&zs->shrink_idle, NULL);

	zs->comp = zcomp_create(cfg->compressor ? cfg->compressor : "lz4", cfg->comp_level);
	if (!zs->comp)
		goto fail;
	bound = zcomp_bound(zs->comp, PAGE_SZ);
	if (bound == 0 || bound > ZSWAP_DST_MAX) {
		errno = EINVAL;
		goto fail;
	}

	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.chain_size = cfg->zs_chain_size;
	pcfg.flags = cfg->zs_pool_flags;
	zs->pool = zs_create_pool_ex("zswap", &pcfg);
	if (!zs->pool)
		goto fail;

	/* Objects this large take a whole page anyway: keep the page itself and spare
	 * the decompression on load. */
	zs->raw_threshold = zs_huge_class_size(zs->pool);
	if (zs->raw_threshold == 0 || zs->raw_threshold > PAGE_SZ)
		zs->raw_threshold = PAGE_SZ;

	if (cfg->max_pool_bytes) {
		zs->max_pages = cfg->max_pool_bytes / PAGE_SZ;
	} else {
		uint64_t ram = cfg->ram_bytes ? cfg->ram_bytes : phys_ram_bytes();

		zs->max_pages = ram / PAGE_SZ / 100 * pct + ram / PAGE_SZ % 100 * pct / 100;
	}
	if (zs->max_pages == 0)
		zs->max_pages = 1;
	zs->accept_pages = zs->max_pages / 100 * thr + zs->max_pages % 100 * thr / 100;
	zs->reject_incompressible = cfg->reject_incompressible;

	if (cfg->deferred_invalidate) {
		ret = zs_pool_enable_deferred_free_ex(zs->pool, &zswap_defer_ops, zs, &cfg->defer);
		if (ret) {
			errno = -ret;
			goto fail;
		}
		zs->deferred = true;
	}

	if (cfg->shrinker_enabled) {
		zs->shrink_busy = true;	/* until it first waits */
		ret = zs_thread_create(&zs->shrinker, shrinker_main, zs);
		if (ret) {
			errno = ret;
			goto fail;
		}
		zsw_flag_set(&zs->shrinker_started, true);
		zswap_register(zs);
	}
	return zs;

fail:
	ret = errno;
	if (zs->pool)
		zs_destroy_pool(zs->pool);
	if (zs->comp)
		zcomp_destroy(zs->comp);
	pthread_cond_destroy(&zs->shrink_cond);
	pthread_cond_destroy(&zs->shrink_idle);
	pthread_mutex_destroy(&zs->shrink_lock);
	pthread_mutex_destroy(&zs->wb_mutex);
	pthread_mutex_destroy(&zs->lru_lock);
	free(zs);
	errno = ret ? ret : ENOMEM;
	return NULL;
}

ZS_API void zswap_destroy(struct zswap *zs)
{
	if (!zs)
		return;
	if (zsw_flag_read(&zs->shrinker_started)) {
		zswap_unregister(zs);
		pthread_mutex_lock(&zs->shrink_lock);
		zsw_flag_set(&zs->shrink_stop, true);
		pthread_cond_signal(&zs->shrink_cond);
		pthread_mutex_unlock(&zs->shrink_lock);
		pthread_join(zs->shrinker, NULL);
	}
	zswap_flush(zs);
	for (unsigned int type = 0; type < ZSWAP_MAX_TYPES; type++)
		zswap_swapoff(zs, type);
	/* Drains nothing by now: every entry was freed above. */
	zs_destroy_pool(zs->pool);
	zcomp_destroy(zs->comp);
	pthread_cond_destroy(&zs->shrink_cond);
	pthread_cond_destroy(&zs->shrink_idle);
	pthread_mutex_destroy(&zs->shrink_lock);
	pthread_mutex_destroy(&zs->wb_mutex);
	pthread_mutex_destroy(&zs->lru_lock);
	free(zs);
}

static void tree_free(struct zswap_tree *t)
{
	for (unsigned int i = 0; i < ZSWAP_STRIPES; i++) {
		pthread_cond_destroy(&t->stripes[i].wb_done);
		pthread_mutex_destroy(&t->stripes[i].lock);
	}
	free(t->slots);
	free(t->zero_map);
	free(t);
}

ZS_API int zswap_swapon(struct zswap *zs, unsigned int type, uint64_t nr_pages, int backing_fd)
{
	struct zswap_tree *t;

	if (!zs || type >= ZSWAP_MAX_TYPES || nr_pages == 0 || nr_pages > ZSWAP_MAX_NR_PAGES)
		return -EINVAL;
	if (tree_get(zs, type))
		return -EBUSY;
	t = aligned_alloc(128, (sizeof(*t) + 127) & ~(size_t)127);
	if (!t)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->nr_pages = nr_pages;
	t->backing_fd = backing_fd;
	/* calloc of large tables maps zero pages lazily: untouched ranges cost nothing. */
	t->slots = calloc(nr_pages, sizeof(*t->slots));
	t->zero_map = calloc((nr_pages + 63) / 64, sizeof(uint64_t));
	if (!t->slots || !t->zero_map) {
		free(t->slots);
		free(t->zero_map);
		free(t);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < ZSWAP_STRIPES; i++) {
		pthread_mutex_init(&t->stripes[i].lock, NULL);
		pthread_cond_init(&t->stripes[i].wb_done, NULL);
	}
	/*
	 * Publish a fully initialised table (release pairs with tree_get's acquire). A
	 * compare-exchange, so that two racing swapons cannot both win.
	 */
	{
		struct zswap_tree *expected = NULL;

		if (!__atomic_compare_exchange_n(&zs->trees[type], &expected, t, false,
						 __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
			tree_free(t);
			return -EBUSY;
		}
	}
	return 0;
}

ZS_API void zswap_swapoff(struct zswap *zs, unsigned int type)
{
	struct zswap_tree *t;

	if (!zs || type >= ZSWAP_MAX_TYPES)
		return;
	/* wb_mutex: no writeback is in flight on this table, and none will find it. */
	pthread_mutex_lock(&zs->wb_mutex);
	t = tree_get(zs, type);
	if (!t) {
		pthread_mutex_unlock(&zs->wb_mutex);
		return;
	}
	__atomic_store_n(&zs->trees[type], NULL, __ATOMIC_RELEASE);
	for (uint64_t off = 0; off < t->nr_pages; off++) {
		struct zswap_entry *e = t->slots[off];

		if (!e)
			continue;
		t->slots[off] = NULL;
		entry_free(zs, e);
	}
	for (uint64_t w = 0; w < (t->nr_pages + 63) / 64; w++) {
		uint64_t n = (uint64_t)__builtin_popcountll(t->zero_map[w]);

		zsw_sub(&zs->c.zero_pages, n);
		zsw_sub(&zs->c.stored_pages, n);
	}
	pthread_mutex_unlock(&zs->wb_mutex);
	tree_free(t);
	/* Entries of this type invalidated earlier may still wait in deferred buffers;
	 * let them go too, so that the counters describe the remaining types only. */
	zswap_flush(zs);
}

/* ---------------------------------------------------------------------------------- */
/* Store, load, invalidate */

ZS_API int zswap_store(struct zswap *zs, unsigned int type, uint64_t offset, const void *page)
{
	unsigned char dst[ZSWAP_DST_MAX];
	struct zswap_entry *e, *old;
	struct zswap_stripe *s;
	struct zswap_tree *t;
	const void *src;
	unsigned long handle;
	size_t len;
	int ret;

	t = tree_for(zs, type, offset);
	if (!t || !page)
		return -EINVAL;
	s = stripe_of(t, offset);

	if (page_is_zero(page)) {
		pthread_mutex_lock(&s->lock);
		old = slot_settle(t, s, offset);
		if (old)
			t->slots[offset] = NULL;
		if (!zero_test(t, offset)) {
			zero_set(t, offset);
			zsw_add(&zs->c.zero_pages, 1);
			zsw_add(&zs->c.stored_pages, 1);
		}
		pthread_mutex_unlock(&s->lock);
		if (old)
			entry_release(zs, old);
		return 0;
	}

	if (zswap_over_limit(zs)) {
		ret = -ENOSPC;
		goto reject;
	}

	len = zcomp_compress(zs->comp, page, PAGE_SZ, dst, sizeof(dst));
	if (len == 0) {
		/* dst holds the worst case, so 0 is a compressor error, not "too big". */
		zsw_add(&zs->c.reject_compress_fail, 1);
		ret = -EIO;
		goto reject;
	}
	src = dst;
	if (len >= zs->raw_threshold) {
		if (zs->reject_incompressible) {
			zsw_add(&zs->c.reject_compress_poor, 1);
			ret = -E2BIG;
			goto reject;
		}
		src = page;
		len = PAGE_SZ;
	}

	e = malloc(sizeof(*e));
	if (!e) {
		zsw_add(&zs->c.reject_alloc_fail, 1);
		ret = -ENOMEM;
		goto reject;
	}
	handle = zs_malloc(zs->pool, len);
	if (!handle) {
		free(e);
		zsw_add(&zs->c.reject_alloc_fail, 1);
		ret = -ENOMEM;
		goto reject;
	}
	zs_obj_write(zs->pool, handle, src, len);
	e->handle = handle;
	e->offset = offset;
	e->length = (uint32_t)len;
	e->type = (uint8_t)type;
	e->referenced = true;	/* a fresh page gets one pass of the shrinker for free */
	e->writeback = false;
	e->seen = false;

	/* Counted before publication so that a racing load's decrement never underflows. */
	zsw_add(&zs->c.stored_pages, 1);
	if (len == PAGE_SZ)
		zsw_add(&zs->c.stored_incompressible_pages, 1);

	pthread_mutex_lock(&s->lock);
	old = slot_settle(t, s, offset);
	if (!old && zero_test(t, offset)) {
		zero_clear(t, offset);
		zsw_sub(&zs->c.zero_pages, 1);
		zsw_sub(&zs->c.stored_pages, 1);
	}
	lru_add(zs, e);
	t->slots[offset] = e;
	pthread_mutex_unlock(&s->lock);
	if (old)
		entry_release(zs, old);
	return 0;

reject:
	/* The caller will write this page to its swap file: what we held for the slot is
	 * stale now and must not be returned by a later load. */
	slot_drop(zs, t, offset);
	return ret;
}

ZS_API int zswap_load(struct zswap *zs, unsigned int type, uint64_t offset, void *page)
{
	struct zswap_stripe *s;
	struct zswap_tree *t;
	struct zswap_entry *e;
	int ret;

	t = tree_for(zs, type, offset);
	if (!t || !page)
		return -EINVAL;
	s = stripe_of(t, offset);

	pthread_mutex_lock(&s->lock);
	e = slot_settle(t, s, offset);
	if (!e) {
		bool zero = zero_test(t, offset);

		if (zero) {
			zero_clear(t, offset);
			zsw_sub(&zs->c.zero_pages, 1);
			zsw_sub(&zs->c.stored_pages, 1);
		}
		pthread_mutex_unlock(&s->lock);
		if (!zero)
			return -ENOENT;
		memset(page, 0, PAGE_SZ);
		return 0;
	}
	/* Exclusive load: unpublish now, decompress without the lock. */
	t->slots[offset] = NULL;
	pthread_mutex_unlock(&s->lock);

	ret = entry_decompress(zs, e, page);
	if (ret) {
		/* The stored bytes are corrupt: keeping them would only fail again. */
		zsw_add(&zs->c.decompress_fail, 1);
		ret = -EIO;
	}
	/* A load is not the exit path: free synchronously, the memory is wanted back. */
	entry_free(zs, e);
	return ret;
}

ZS_API void zswap_invalidate(struct zswap *zs, unsigned int type, uint64_t offset)
{
	struct zswap_tree *t;

	t = tree_for(zs, type, offset);
	if (!t)
		return;
	slot_drop(zs, t, offset);
}

ZS_API void zswap_flush(struct zswap *zs)
{
	if (zs && zs->deferred)
		zs_deferred_flush(zs->pool);
}

ZS_API uint64_t zswap_writeback(struct zswap *zs, uint64_t nr_pages)
{
	void *buf;
	uint64_t done;

	if (!zs || !nr_pages)
		return 0;
	buf = aligned_alloc(PAGE_SZ, PAGE_SZ);
	if (!buf)
		return 0;
	done = shrink(zs, buf, false, nr_pages);
	free(buf);
	return done;
}

/* ---------------------------------------------------------------------------------- */
/* Statistics */

ZS_API void zswap_get_stats(struct zswap *zs, struct zswap_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!zs)
		return;
	st->pool_limit_hit = zsw_read(&zs->c.pool_limit_hit);
	st->reject_reclaim_fail = zsw_read(&zs->c.reject_reclaim_fail);
	st->reject_alloc_fail = zsw_read(&zs->c.reject_alloc_fail);
	st->reject_compress_fail = zsw_read(&zs->c.reject_compress_fail);
	st->reject_compress_poor = zsw_read(&zs->c.reject_compress_poor);
	st->decompress_fail = zsw_read(&zs->c.decompress_fail);
	st->written_back_pages = zsw_read(&zs->c.written_back_pages);
	st->pool_total_size = (uint64_t)zs_get_total_pages(zs->pool) * PAGE_SZ;
	st->stored_pages = zsw_read(&zs->c.stored_pages);
	st->stored_incompressible_pages = zsw_read(&zs->c.stored_incompressible_pages);
	st->zero_pages = zsw_read(&zs->c.zero_pages);
	st->reject_pool_full = zsw_read(&zs->c.reject_pool_full);
	st->deferred_invalidates = zsw_read(&zs->c.deferred_invalidates);
	st->max_pool_bytes = zs->max_pages * PAGE_SZ;
	st->accept_pool_bytes = zs->accept_pages * PAGE_SZ;
}

ZS_API void zswap_print_stats(struct zswap *zs, FILE *out)
{
	struct zswap_stats st;

	if (!zs || !out)
		return;
	zswap_get_stats(zs, &st);
#define P(f) fprintf(out, "%s %llu\n", #f, (unsigned long long)st.f)
	P(pool_limit_hit);
	P(reject_reclaim_fail);
	P(reject_alloc_fail);
	P(reject_compress_fail);
	P(reject_compress_poor);
	P(decompress_fail);
	P(written_back_pages);
	P(pool_total_size);
	P(stored_pages);
	P(stored_incompressible_pages);
	P(zero_pages);
	P(reject_pool_full);
	P(deferred_invalidates);
	P(max_pool_bytes);
	P(accept_pool_bytes);
#undef P
}

/*
 * Invariants, recounted after a flush with wb_mutex (no writeback, no swapoff) and
 * lru_lock (no drain) held. Stores, loads and invalidates must not be in flight: they
 * are the only other writers of the slots, so the slots are read without their locks
 * (taking all 256 stripe locks of every table would also trip sanitizers' lock limits).
 *
 *   every published entry sits at slots[e->offset] of table e->type, is on the LRU and
 *   is not pinned; an offset has an entry or a zero bit, not both;
 *   lru_nr == |LRU| == published + awaiting a deferred free (so >= published);
 *   stored_pages == |LRU| + zero bits; zero_pages == zero bits;
 *   stored_incompressible_pages == raw entries on the LRU.
 */
ZS_API int zswap_check(struct zswap *zs)
{
	uint64_t lru = 0, raw = 0, published = 0, zeros = 0, bad = 0;
	struct zswap_tree *trees[ZSWAP_MAX_TYPES];
	struct zsw_list *n;

	if (!zs)
		return -EINVAL;
#define BAD(...) do { fprintf(stderr, "zswap_check: " __VA_ARGS__); fputc('\n', stderr); \
		      bad++; } while (0)
	/* Pending deferred frees would be on the LRU yet half-counted mid-drain. */
	zswap_flush(zs);
	pthread_mutex_lock(&zs->wb_mutex);
	for (unsigned int type = 0; type < ZSWAP_MAX_TYPES; type++)
		trees[type] = tree_get(zs, type);
	pthread_mutex_lock(&zs->lru_lock);

	for (n = zs->lru.next; n != &zs->lru; n = n->next) {
		struct zswap_entry *e = (struct zswap_entry *)((char *)n -
							       offsetof(struct zswap_entry, lru));

		e->seen = true;
		lru++;
		raw += entry_is_raw(e);
		if (n->next->prev != n)
			BAD("LRU links broken at entry %p", (void *)e);
		if (lru > zsw_read(&zs->lru_nr) + 1000000)
			break;		/* a cycle: stop walking */
	}
	for (unsigned int type = 0; type < ZSWAP_MAX_TYPES; type++) {
		struct zswap_tree *t = trees[type];

		for (uint64_t off = 0; t && off < t->nr_pages; off++) {
			struct zswap_entry *e = t->slots[off];

			if (zero_test(t, off)) {
				zeros++;
				if (e)
					BAD("type %u offset %llu: entry and zero bit", type,
					    (unsigned long long)off);
			}
			if (!e)
				continue;
			published++;
			if (e->type != type || e->offset != off)
				BAD("type %u offset %llu: entry says %u/%llu", type,
				    (unsigned long long)off, e->type, (unsigned long long)e->offset);
			if (!e->seen)
				BAD("type %u offset %llu: published entry not on the LRU", type,
				    (unsigned long long)off);
			if (e->writeback)
				BAD("type %u offset %llu: still pinned by writeback", type,
				    (unsigned long long)off);
		}
	}
	for (n = zs->lru.next; n != &zs->lru && lru; n = n->next)
		((struct zswap_entry *)((char *)n - offsetof(struct zswap_entry, lru)))->seen = false;

	if (lru != zsw_read(&zs->lru_nr))
		BAD("lru_nr %llu, LRU holds %llu", (unsigned long long)zsw_read(&zs->lru_nr),
		    (unsigned long long)lru);
	if (published > lru)
		BAD("%llu published entries, %llu on the LRU", (unsigned long long)published,
		    (unsigned long long)lru);
	if (zsw_read(&zs->c.stored_pages) != lru + zeros)
		BAD("stored_pages %llu, entries %llu + zero pages %llu",
		    (unsigned long long)zsw_read(&zs->c.stored_pages), (unsigned long long)lru,
		    (unsigned long long)zeros);
	if (zsw_read(&zs->c.zero_pages) != zeros)
		BAD("zero_pages %llu, zero bits %llu",
		    (unsigned long long)zsw_read(&zs->c.zero_pages), (unsigned long long)zeros);
	if (zsw_read(&zs->c.stored_incompressible_pages) != raw)
		BAD("stored_incompressible_pages %llu, raw entries %llu",
		    (unsigned long long)zsw_read(&zs->c.stored_incompressible_pages),
		    (unsigned long long)raw);

	pthread_mutex_unlock(&zs->lru_lock);
	pthread_mutex_unlock(&zs->wb_mutex);
#undef BAD
	return bad ? -EUCLEAN : 0;
}

ZS_API struct zs_pool *zswap_pool(struct zswap *zs)
{
	return zs ? zs->pool : NULL;
}
