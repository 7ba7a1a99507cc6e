/* SPDX-License-Identifier: MIT */
/*
 * zram internals shared by the files of src/zram.
 *
 * Data structures
 *
 *   struct zram
 *     slots[nr_pages]      one struct zram_slot per 4 KiB page of the device
 *     pool                 the zsmalloc pool holding compressed (and huge, raw) pages
 *     comps[0..3]          compressors by priority: 0 = primary, 1..3 = recompression
 *     wb_bitmap            backing file blocks in use (one bit per 4 KiB block)
 *     stats                counters, all atomics updated with relaxed order: they are
 *                          statistics, nothing is ordered by them
 *
 *   struct zram_slot (16 bytes)
 *     handle               zsmalloc handle, or the fill value (SAME), or the backing
 *                          block (WB); 0 with no flag = empty
 *     flags                low 13 bits: stored size; then LOCK, SAME, WB, PP_SLOT, HUGE,
 *                          IDLE, INCOMPRESSIBLE, 2 bits of priority, FREE_PENDING
 *     ac_time              seconds since zram->epoch of the last read or write
 *
 * Locking
 *
 *   The slot lock is the LOCK bit of the slot's flags word. It protects handle,
 *   ac_time and every flag but FREE_PENDING. FREE_PENDING is set without the lock
 *   (by zram_slot_free_notify in the per-CPU deferred modes: that path must stay one
 *   atomic OR), so every change of the flags word, even under the lock, is an atomic
 *   read-modify-write: a plain store could erase a concurrent FREE_PENDING.
 *
 *   Order: ctl_lock (control operations) -> slot lock -> pool locks (inside zs_*).
 *   No two slot locks are ever held at once.
 *
 * Invariants (stats, at quiescence, every deferred free drained):
 *   pages_stored    == |slots with SAME, or with a handle and not WB|
 *   same_pages      == |slots with SAME|
 *   huge_pages      == |slots with HUGE|
 *   compr_data_size == sum of size over slots with a pool handle
 *   bd_count        == |slots with WB| == bits set in wb_bitmap
 */
#ifndef ZSMEM_ZRAM_INTERNAL_H
#define ZSMEM_ZRAM_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include <zsmem/zram.h>
#include <zsmem/zsmalloc.h>
#include <zsmem/lab.h>		/* zram_test_corrupt_slot */
#include "compress/zcomp.h"

/* Flags word layout. */
#define ZRAM_SIZE_BITS		13
#define ZRAM_SIZE_MASK		((1u << ZRAM_SIZE_BITS) - 1)	/* up to 8191 >= 4096 */
#define ZRAM_LOCK		(1u << 13)
#define ZRAM_SAME		(1u << 14)	/* handle holds the fill word */
#define ZRAM_WB			(1u << 15)	/* handle holds the backing block */
#define ZRAM_PP_SLOT		(1u << 16)	/* picked by writeback / recompression */
#define ZRAM_HUGE		(1u << 17)	/* stored raw, 4096 bytes */
#define ZRAM_IDLE		(1u << 18)
#define ZRAM_INCOMPRESSIBLE	(1u << 19)
#define ZRAM_PRIO_SHIFT		20
#define ZRAM_PRIO_MASK		(3u << ZRAM_PRIO_SHIFT)
#define ZRAM_FREE_PENDING	(1u << 22)	/* notified; a deferred drain will free it */

/* Flags that describe a stored content; cleared when the content is freed. */
#define ZRAM_CONTENT_FLAGS	(ZRAM_SIZE_MASK | ZRAM_SAME | ZRAM_WB | ZRAM_PP_SLOT |	\
				 ZRAM_HUGE | ZRAM_IDLE | ZRAM_INCOMPRESSIBLE |		\
				 ZRAM_PRIO_MASK | ZRAM_FREE_PENDING)

#define ZRAM_PUSH_PER_PAGE	(ZRAM_PAGE_SIZE / sizeof(uint32_t))	/* 1024 u32 indexes */

struct zram_slot {
	unsigned long handle;
	_Atomic uint32_t flags;
	uint32_t ac_time;
};

struct zram_stats {
	_Atomic uint64_t compr_data_size;
	_Atomic uint64_t pages_stored;
	_Atomic uint64_t same_pages;
	_Atomic uint64_t huge_pages;
	_Atomic uint64_t huge_pages_since;
	_Atomic uint64_t max_used_pages;
	_Atomic uint64_t num_reads;
	_Atomic uint64_t num_writes;
	_Atomic uint64_t failed_reads;
	_Atomic uint64_t failed_writes;
	_Atomic uint64_t invalid_io;
	/* miss_free on a line of its own, away from the write path's counters. */
	_Alignas(64) _Atomic uint64_t miss_free;
	_Atomic uint64_t bd_count;
	_Atomic uint64_t bd_reads;
	_Atomic uint64_t bd_writes;
	_Alignas(64) _Atomic uint64_t drained_slots;
	_Atomic uint64_t drain_stale;
	_Atomic uint64_t recompressed;
	_Atomic uint64_t incompressible;
	_Atomic uint64_t idle_pages;
	_Atomic uint64_t prio_slots[ZRAM_MAX_COMPS];	/* slots stored with each priority */
};

/*
 * notify_free is bumped by every zram_slot_free_notify(): on the exit path several dying
 * threads call it back to back, and one shared counter would bounce its cache line
 * between their CPUs on every free (it cost more than the deferred push itself). Each
 * thread adds to its own shard, a line of its own; readers sum the shards.
 * Invariant: notify_free == sum over shards.
 */
#define ZRAM_STAT_SHARDS	16

struct zram_stat_shard {
	_Alignas(64) _Atomic uint64_t notify_free;
};

struct zram {
	struct zram_slot *slots;
	uint32_t nr_pages;
	enum zram_free_mode free_mode;
	struct zs_pool *pool;
	size_t huge_class_size;
	struct zcomp *comps[ZRAM_MAX_COMPS];
	_Atomic uint64_t limit_pages;		/* 0 = no limit */
	struct zram_config cfg;			/* as given (name and algorithm copied) */
	char name[64];
	char algo[32];
	uint64_t epoch_sec;			/* CLOCK_MONOTONIC seconds at creation */

	/* Backing file: set under ctl_lock, read by I/O paths under a slot lock of a
	 * WB slot (a WB slot cannot exist without it, and detaching needs none). */
	int backing_fd;
	uint64_t wb_nr_blocks;
	_Atomic uint64_t *wb_bitmap;
	_Atomic uint64_t wb_hint;		/* where the next block search starts */

	pthread_mutex_t ctl_lock;		/* writeback, recompression, setup changes */
	struct zram_stats stats;
	struct zram_stat_shard shards[ZRAM_STAT_SHARDS];
};

/* ---- named atomics (statistics: relaxed, they order nothing) ---------------------- */

static inline void zram_stat_inc(_Atomic uint64_t *v)
{
	atomic_fetch_add_explicit(v, 1, memory_order_relaxed);
}

static inline uint64_t zram_sum_notify_free(struct zram *zram)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < ZRAM_STAT_SHARDS; i++)
		sum += atomic_load_explicit(&zram->shards[i].notify_free, memory_order_relaxed);
	return sum;
}

static inline void zram_stat_dec(_Atomic uint64_t *v)
{
	atomic_fetch_sub_explicit(v, 1, memory_order_relaxed);
}

static inline void zram_stat_add(_Atomic uint64_t *v, uint64_t n)
{
	atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static inline void zram_stat_sub(_Atomic uint64_t *v, uint64_t n)
{
	atomic_fetch_sub_explicit(v, n, memory_order_relaxed);
}

static inline uint64_t zram_stat_read(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static inline void zram_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- slot lock ------------------------------------------------------------------- */

static inline uint32_t slot_flags(struct zram *zram, uint32_t index)
{
	return atomic_load_explicit(&zram->slots[index].flags, memory_order_relaxed);
}

/*
 * Acquire: everything the previous holder wrote under the lock (handle, ac_time, the
 * object's bytes in the pool) is visible once the LOCK bit is ours.
 */
static inline bool slot_trylock(struct zram *zram, uint32_t index)
{
	uint32_t old = atomic_fetch_or_explicit(&zram->slots[index].flags, ZRAM_LOCK,
						memory_order_acquire);

	return !(old & ZRAM_LOCK);
}

/*
 * Test-and-test-and-set: spin on a plain load so that waiters do not bounce the
 * cache line, and yield after a while: on a 2-core machine shared with other
 * programs the holder may well be preempted, and spinning would only delay it.
 */
static inline void slot_lock(struct zram *zram, uint32_t index)
{
	unsigned int spins = 0;

	while (!slot_trylock(zram, index)) {
		while (slot_flags(zram, index) & ZRAM_LOCK) {
			if (++spins < 64)
				zram_cpu_relax();
			else
				sched_yield();
		}
	}
}

/* Release: our writes under the lock happen before the next holder's acquire. */
static inline void slot_unlock(struct zram *zram, uint32_t index)
{
	atomic_fetch_and_explicit(&zram->slots[index].flags, ~ZRAM_LOCK, memory_order_release);
}

/*
 * Changes flags under the slot lock: clears `clear`, then sets `set`, in one atomic
 * step, so that a FREE_PENDING ORed in meanwhile by a notify is never lost.
 * Relaxed: the slot lock's acquire/release orders it with the protected data.
 */
static inline uint32_t slot_update_flags(struct zram *zram, uint32_t index, uint32_t clear,
					 uint32_t set)
{
	_Atomic uint32_t *f = &zram->slots[index].flags;
	uint32_t old = atomic_load_explicit(f, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(f, &old, (old & ~clear) | set,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
	return old;
}

static inline bool slot_allocated(struct zram *zram, uint32_t index, uint32_t flags)
{
	return zram->slots[index].handle || (flags & (ZRAM_SAME | ZRAM_WB));
}

static inline unsigned int slot_prio(uint32_t flags)
{
	return (flags & ZRAM_PRIO_MASK) >> ZRAM_PRIO_SHIFT;
}

/* ---- shared between the files ---------------------------------------------------- */

/* Called under the slot lock: drops the slot's content from the statistics and the
 * backing bitmap, clears its content flags, and returns the pool handle the caller
 * must zs_free() (0 if none). */
unsigned long _zram_slot_free_extract(struct zram *zram, uint32_t index);
/* Reads the slot's page (not WB) into page under the slot lock; 0 or -EIO. */
int _zram_read_from_pool(struct zram *zram, uint32_t index, uint32_t flags, void *page);
/* Monotonic seconds since creation, for ac_time. */
uint32_t _zram_now(struct zram *zram);
void _zram_update_used_max(struct zram *zram, uint64_t pages);
uint64_t _zram_mono_sec(void);
void _zram_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void _zram_clear_error(void);
/* The per-CPU index modes' callbacks (zram_drv.c), enabled by zram_dev.c. */
extern const struct zs_deferred_ops _zram_ops_grouped;
extern const struct zs_deferred_ops _zram_ops_plain;

/* Backing block bitmap (zram_wb.c). */
int64_t _zram_wb_alloc_block(struct zram *zram);
void _zram_wb_free_block(struct zram *zram, uint64_t block);
int _zram_wb_read(struct zram *zram, uint64_t block, void *page);

#endif
