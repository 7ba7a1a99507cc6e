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
 *     stats                counters, plain uint64_t read and written only with the
 *                          relaxed zsm_* names (common/atomics.h): they are statistics,
 *                          nothing is ordered by them
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
 *   The flags word is a plain uint32_t: every access goes through a zsm_* name that
 *   states its order (acquire to take the LOCK bit, release to drop it, relaxed for
 *   everything else, which the lock or nothing orders).
 *
 *   Order: ctl_lock (control operations) -> slot lock -> pool locks (inside zs_*).
 *   No two slot locks are ever held at once.
 *
 * Files, and the files each one calls (a DAG: only files listed below it; the
 * zram_calls_dag test checks it with scripts/check-calls.sh)
 *   zram_dev.c   create/reset/destroy, pool + deferred set-up -> drv (ops), bdev, util
 *   zram_ctl.c   idle marking, compaction, recompression      -> slot, util
 *   zram_wb.c    writeback of slots to the backing file        -> slot, bdev, util
 *   zram_drv.c   read/write/discard, free notify, drains       -> slot, bdev, util
 *   zram_stat.c  statistics and their sysfs text               -> util
 *   zram_slot.c  slot extract / install / read                 -> bdev, util
 *   zram_bdev.c  backing file: block bitmap, block read/write  -> util
 *   zram_util.c  error text, clock, mem_used_max               -> (nothing)
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
#include <stdint.h>

#include <zsmem/zram.h>
#include <zsmem/zsmalloc.h>
#include <zsmem/lab.h>		/* zram_test_corrupt_slot */
#include "common/atomics.h"
#include "common/compiler.h"
#include "common/page.h"
#include "compress/zcomp.h"

_Static_assert(ZRAM_PAGE_SIZE == ZSM_PAGE_SIZE, "the public page size is the library's");

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

#define ZRAM_PUSH_PER_PAGE	(ZSM_PAGE_SIZE / sizeof(uint32_t))	/* 1024 u32 indexes */

struct zram_slot {
	unsigned long handle;			/* under the slot lock */
	uint32_t flags;				/* atomic: zsm_* (the lock lives here) */
	uint32_t ac_time;			/* under the slot lock */
};

/* Every field atomic: zsm_add/sub/load_relaxed. */
struct zram_stats {
	uint64_t compr_data_size;
	uint64_t pages_stored;
	uint64_t same_pages;
	uint64_t huge_pages;
	uint64_t huge_pages_since;
	uint64_t max_used_pages;
	uint64_t num_reads;
	uint64_t num_writes;
	uint64_t failed_reads;
	uint64_t failed_writes;
	uint64_t invalid_io;
	/* miss_free on a line of its own, away from the write path's counters. */
	zsm_cacheline_aligned uint64_t miss_free;
	uint64_t bd_count;
	uint64_t bd_reads;
	uint64_t bd_writes;
	zsm_cacheline_aligned uint64_t drained_slots;
	uint64_t drain_stale;
	uint64_t recompressed;
	uint64_t incompressible;
	uint64_t idle_pages;
	uint64_t prio_slots[ZRAM_MAX_COMPS];	/* slots stored with each priority */
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
	zsm_cacheline_aligned uint64_t notify_free;
};

struct zram {
	struct zram_slot *slots;
	uint32_t nr_pages;
	enum zram_free_mode free_mode;
	struct zs_pool *pool;
	size_t huge_class_size;
	struct zcomp *comps[ZRAM_MAX_COMPS];
	uint64_t limit_pages;			/* atomic, relaxed (a setting, orders
						 * nothing); 0 = no limit */
	struct zram_config cfg;			/* as given (name and algorithm copied) */
	char name[64];
	char algo[32];
	uint64_t epoch_sec;			/* CLOCK_MONOTONIC seconds at creation */

	/* Backing file: set under ctl_lock, read by I/O paths under a slot lock of a
	 * WB slot (a WB slot cannot exist without it, and detaching needs none). */
	int backing_fd;
	uint64_t wb_nr_blocks;
	uint64_t *wb_bitmap;			/* words atomic: zsm_*_relaxed */
	uint64_t wb_hint;			/* atomic, relaxed: next search's start */

	pthread_mutex_t ctl_lock;		/* writeback, recompression, setup changes */
	struct zram_stats stats;
	struct zram_stat_shard shards[ZRAM_STAT_SHARDS];
};

/* Sums the shards (relaxed: a statistic, read while threads may add to it). */
static inline uint64_t zram_sum_notify_free(struct zram *zram)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < ZRAM_STAT_SHARDS; i++)
		sum += zsm_load_relaxed(&zram->shards[i].notify_free);
	return sum;
}

/* ---- slot lock ------------------------------------------------------------------- */

/*
 * Relaxed: under the slot lock, the lock's acquire already ordered everything the
 * flags describe; without it (notify, mark_idle's skip) the value is only a peek that
 * is checked again under the lock before anything depends on it.
 */
static inline uint32_t slot_flags(struct zram *zram, uint32_t index)
{
	return zsm_load_relaxed(&zram->slots[index].flags);
}

/*
 * Acquire: everything the previous holder wrote under the lock (handle, ac_time, the
 * object's bytes in the pool) is visible once the LOCK bit is ours.
 */
static inline bool slot_trylock(struct zram *zram, uint32_t index)
{
	uint32_t old = zsm_fetch_or_acquire(&zram->slots[index].flags, ZRAM_LOCK);

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
				zsm_cpu_relax();
			else
				sched_yield();
		}
	}
}

/* Release: our writes under the lock happen before the next holder's acquire. */
static inline void slot_unlock(struct zram *zram, uint32_t index)
{
	zsm_fetch_and_release(&zram->slots[index].flags, ~ZRAM_LOCK);
}

/*
 * Changes flags under the slot lock: clears `clear`, then sets `set`, in one atomic
 * step, so that a FREE_PENDING ORed in meanwhile by a notify is never lost.
 * Relaxed: the slot lock's acquire/release orders it with the protected data.
 */
static inline uint32_t slot_update_flags(struct zram *zram, uint32_t index, uint32_t clear,
					 uint32_t set)
{
	uint32_t *f = &zram->slots[index].flags;
	uint32_t old = zsm_load_relaxed(f);

	while (!zsm_cas_weak_relaxed(f, &old, (old & ~clear) | set))
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

/* ---- shared between the files (hidden: built with -fvisibility=hidden) ------------- */

/* zram_util.c */
void _zram_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void _zram_clear_error(void);
uint64_t _zram_mono_sec(void);
/* Monotonic seconds since creation, for ac_time. */
uint32_t _zram_now(struct zram *zram);
void _zram_update_used_max(struct zram *zram, uint64_t pages);

/* zram_bdev.c: the backing file's blocks. Blocks are reserved in wb_bitmap. */
int64_t _zram_bdev_alloc_block(struct zram *zram);		/* block or -ENOSPC */
void _zram_bdev_free_block(struct zram *zram, uint64_t block);
int _zram_bdev_read(struct zram *zram, uint64_t block, void *page);	/* 0 or -EIO */
int _zram_bdev_write(struct zram *zram, uint64_t block, const void *page); /* 0, -EIO */
/* This thread's page-aligned bounce buffer (O_DIRECT files). _zram_bdev_read uses
 * it too: data kept in it does not survive a read of a written-back slot. */
unsigned char *_zram_bdev_bounce(void);
/* Forgets the backing file and frees the bitmap (reset, with no WB slot left). */
void _zram_bdev_detach(struct zram *zram);

/* zram_slot.c: a slot's content, all under the slot lock. */
/* Drops the slot's content from the statistics and the backing bitmap, clears its
 * content flags, and returns the pool handle the caller must zs_free() (0 if none). */
unsigned long _zram_slot_free_extract(struct zram *zram, uint32_t index);
/* Replaces the content with (handle, flags), SAME or a pool object, and accounts for
 * it; returns the old pool handle to zs_free() outside the lock (0 if none). */
unsigned long _zram_slot_install(struct zram *zram, uint32_t index, unsigned long handle,
				 uint32_t flags);
/* Reads the slot's page (not WB: see _zram_bdev_read) into page; 0 or -EIO. */
int _zram_slot_read(struct zram *zram, uint32_t index, uint32_t flags, void *page);

/* zram_drv.c: the per-CPU index modes' callbacks, enabled by zram_dev.c. */
extern const struct zs_deferred_ops _zram_ops_grouped;
extern const struct zs_deferred_ops _zram_ops_plain;

#endif
