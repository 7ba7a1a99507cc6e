/* SPDX-License-Identifier: MIT */
/*
 * zsmem/zram.h - a userspace zram: a compressed RAM block store of 4 KiB pages kept in
 * a zsmalloc pool, with the kernel's statistics, idle tracking, compaction, writeback to
 * a backing file, recompression with secondary algorithms, and a choice of strategies
 * for freeing slots that the swap layer declared dead (the exit-path lab's subject).
 *
 * A device holds disksize / 4096 slots ("indexes"). Every slot is empty, same-filled
 * (one repeated unsigned long, no pool memory), compressed, huge (stored raw because it
 * did not compress below zs_huge_class_size()), or written back to the backing file.
 *
 * Thread safety: reads, writes, discards, slot_free_notify, mark_idle, compact,
 * writeback, recompress and the stat getters may run from any number of threads at once.
 * zram_reset() and zram_destroy() must not race with anything else on the device.
 *
 * Errors: functions returning int give 0 (or a count) or -errno. zram_create() returns
 * NULL with errno set, and zram_last_error() then says why in words.
 */
#ifndef ZSMEM_ZRAM_H
#define ZSMEM_ZRAM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <zsmem/zsmalloc.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZRAM_PAGE_SIZE		4096u
#define ZRAM_MAX_COMPS		4	/* primary + 3 secondary (recompression) algorithms */

struct zram;

/*
 * How zram_slot_free_notify() frees a slot. In every mode the notify counts notify_free
 * and the slot's content is dead once it returns: the caller must not read it again
 * before rewriting it (it reads as zeros, before the drain as after). A write or
 * discard of a notified slot frees the dead content at once, and a later drain of its
 * index then does nothing (counted in zram_ext_stat.drain_stale). zram_flush() returns
 * when every queued free has reached the pool (mem_used_total drops as zsmalloc gives
 * zspages back; with ZS_POOL_DEFER_ZSPAGE_FREE that is later, on the pool's thread).
 * After zram_flush(), every mode leaves the same slots and the same statistics.
 */
enum zram_free_mode {
	/* ZRAM_FREE_SYNC if deferred_free is false, else ZRAM_FREE_PERCPU_GROUPED. */
	ZRAM_FREE_DEFAULT = 0,
	/*
	 * The kernel without deferral: try-lock the slot; on contention count miss_free and
	 * leave the data (freed by the next write or discard of that slot); else free the
	 * metadata and zs_free() the object inline.
	 */
	ZRAM_FREE_SYNC,
	/*
	 * v3 framework, pushing u32 slot indexes (1024 per 4 KiB buffer page) into the
	 * per-CPU buffers with zs_free_deferred(). The notify marks the slot FREE_PENDING
	 * (one atomic OR, no lock) and pushes. The drain, on a worker, locks each slot,
	 * extracts the handle and clears the metadata, unlocks, and frees all handles of the
	 * buffer with one zs_free_batch() (class runs under one class lock). Default when
	 * deferred_free is true. When zs_free_deferred() returns false the notify falls
	 * back to the ZRAM_FREE_SYNC path. A slot notified twice before its drain is pushed
	 * once. Half-full buffers wait at most deferred.max_delay_us.
	 */
	ZRAM_FREE_PERCPU_GROUPED,
	/* As PERCPU_GROUPED, but v3's plain drain: per index, slot lock + the whole slot
	 * free including zs_free() + unlock, one by one. */
	ZRAM_FREE_PERCPU_PLAIN,
	/*
	 * v2: the notify try-locks the slot (miss_free on contention, like SYNC), extracts
	 * the handle and clears the metadata inline, unlocks, then zs_free_deferred(handle)
	 * into the pool's single ZS_DEFER_V2_ARRAY array (trylock, drained at half capacity
	 * with zs_free() one by one); a false return frees synchronously with zs_free().
	 */
	ZRAM_FREE_V2_ARRAY,
	/* As V2_ARRAY, but handles go to one queue per size class (ZS_DEFER_PER_CLASS via
	 * zs_pool_enable_deferred_handles(), drained with zs_free_batch()). */
	ZRAM_FREE_PER_CLASS,
};

struct zram_config {
	uint64_t disksize;		/* bytes, > 0; rounded down to whole pages */
	const char *comp_algorithm;	/* "lz4" (NULL/"" = lz4), "zstd", "lzo", "lzo-rle", "lz4hc" */
	int comp_level;			/* 0 = the algorithm's default (zstd 1..19) */
	uint64_t mem_limit;		/* bytes of pool memory; 0 = no limit */
	bool deferred_free;		/* selects PERCPU_GROUPED when free_mode is DEFAULT */
	enum zram_free_mode free_mode;	/* overrides deferred_free when not DEFAULT */
	/*
	 * Passed to zs_create_pool_ex(): ZS_POOL_DEFER_ZSPAGE_FREE (a partial fix the lab
	 * compares; the lab's legacy-lock baseline is in zsmem/lab.h), and the zspage
	 * chain size (0 = 8).
	 */
	unsigned int zs_pool_flags;
	unsigned int zs_chain_size;
	/*
	 * The pool gets ZS_POOL_PREFAULT (a thread keeps pages faulted in ahead of the
	 * write path) unless this is set.
	 */
	bool no_prefault;
	/*
	 * Passed to the deferred framework (spare pages, workers, max delay, array size,
	 * no_rseq, the workers' scheduling). Its `mode` member is ignored: free_mode decides it. Zeroed = defaults.
	 */
	struct zs_deferred_config deferred;
	const char *name;		/* pool name; NULL = "zram" */
};

/* NULL with errno: EINVAL (zero disksize, unknown compressor, bad level, bad free_mode,
 * bad pool flags / chain size), ENOMEM. zram_last_error() says which. */
ZS_API struct zram *zram_create(const struct zram_config *cfg);
/* Flushes deferred frees, frees every slot and the pool. Does not close a backing fd. */
ZS_API void zram_destroy(struct zram *zram);
/* Why the last zram_create() (or other control call) on this thread failed; "" if none. */
ZS_API const char *zram_last_error(void);

/* Number of slots (disksize / 4096). */
ZS_API uint32_t zram_nr_pages(const struct zram *zram);
/* The device's pool, e.g. for zs_deferred_get_stats() or zs_print_stats(). */
ZS_API struct zs_pool *zram_pool(struct zram *zram);
/* The free mode in effect (DEFAULT resolved). */
ZS_API enum zram_free_mode zram_get_free_mode(const struct zram *zram);
ZS_API const char *zram_free_mode_name(enum zram_free_mode mode);

/* ---------------------------------------------------------------------------------- */
/* I/O                                                                                 */

/*
 * Stores one 4 KiB page. 0, or -EINVAL (index past disksize; failed_writes counted),
 * -ENOMEM (mem_limit reached or the pool is out of memory; the slot keeps its old
 * content). An old content of the slot is freed (also one written back).
 */
ZS_API int zram_write_page(struct zram *zram, uint32_t index, const void *page);
/* Loads one 4 KiB page; an empty slot, or one notified free, reads as zeros. 0, or
 * -EINVAL (index past disksize), -EIO (corrupt data or a failing backing file);
 * failed_reads counted on every error. */
ZS_API int zram_read_page(struct zram *zram, uint32_t index, void *page);
/*
 * Writes len bytes of buf at byte offset of slot index (offset + len <= 4096; buf NULL
 * writes zeros): the slot's page is read, modified and stored again under the slot lock,
 * so concurrent partial writes of one page never lose each other's bytes. An empty,
 * discarded or notified slot counts as a zero page. 0, -EINVAL (bad index or range;
 * failed_writes counted), -EIO (the old page could not be read), -ENOMEM (as
 * zram_write_page; the slot keeps its old content). Counts one write.
 */
ZS_API int zram_write_partial(struct zram *zram, uint32_t index, uint32_t offset,
			      const void *buf, uint32_t len);
/* Frees nr_pages slots from index (a range that reaches past disksize: -EINVAL, nothing
 * freed). Waits for each slot's lock. */
ZS_API int zram_discard(struct zram *zram, uint32_t index, uint32_t nr_pages);
/* The swap layer says the slot is dead: free it as zram_config.free_mode says. An index
 * past disksize is ignored. */
ZS_API void zram_slot_free_notify(struct zram *zram, uint32_t index);
/* Returns once every slot free queued before the call has been done (no-op when sync). */
ZS_API void zram_flush(struct zram *zram);

/*
 * Extents (for block-status queries, e.g. NBD's): what slot index holds, and how many
 * consecutive slots from index, at most nr, hold the same kind. Each slot is looked at
 * under its lock; the answer is a snapshot per slot, not of the whole range.
 */
enum zram_extent_type {
	ZRAM_EXTENT_EMPTY,	/* never written, discarded or notified free: zeros, no memory */
	ZRAM_EXTENT_ZERO,	/* same-filled with zero: reads as zeros, no pool memory */
	ZRAM_EXTENT_SAME,	/* same-filled with a non-zero word: no pool memory */
	ZRAM_EXTENT_DATA,	/* compressed, raw (huge) or written back */
};
/* The run length (>= 1), or -EINVAL (index past disksize, nr 0). */
ZS_API int64_t zram_get_extent(struct zram *zram, uint32_t index, uint32_t nr,
			       enum zram_extent_type *type);

/* ---------------------------------------------------------------------------------- */
/* Controls                                                                            */

/* Frees every slot, forgets the backing file and idle state, zeroes the statistics. The
 * device stays usable with the same config. Must not race with anything else. */
ZS_API void zram_reset(struct zram *zram);
/* bytes; 0 = no limit. */
ZS_API void zram_set_mem_limit(struct zram *zram, uint64_t bytes);
/* Sets mem_used_max to the current mem_used_total (the kernel's "echo 0 > mem_used_max"). */
ZS_API void zram_reset_mem_used_max(struct zram *zram);
/* Marks slots IDLE: all stored slots (older_than_sec 0), or those not written or read for
 * at least older_than_sec seconds. Reading or writing a slot clears IDLE. Returns the
 * number of slots marked. */
ZS_API uint64_t zram_mark_idle(struct zram *zram, uint64_t older_than_sec);
/* zs_compact() on the pool; returns pages freed (also added to pages_compacted). */
ZS_API unsigned long zram_compact(struct zram *zram);
/*
 * Frees the compressor scratch states (zstd contexts, lzo / lz4hc work memory) that
 * exited threads left for reuse, e.g. after a server's worker threads have gone; returns
 * how many. Threads that compress later make new ones.
 */
ZS_API unsigned int zram_release_idle_state(struct zram *zram);

/* --- Writeback ---------------------------------------------------------------------- */

/*
 * Attaches a backing file open for reading and writing (O_DIRECT allowed; zram uses
 * 4 KiB aligned buffers and offsets). nr_blocks: 4 KiB blocks usable from offset 0;
 * 0 = one per slot. fd < 0 detaches. -EBUSY while slots are written back, -EINVAL.
 * zram never closes the fd.
 */
ZS_API int zram_set_backing_fd(struct zram *zram, int fd, uint64_t nr_blocks);

enum zram_wb_mode {
	ZRAM_WB_IDLE = 1,		/* slots marked IDLE (huge or not) */
	ZRAM_WB_HUGE,			/* slots stored raw */
	ZRAM_WB_HUGE_IDLE,		/* slots both huge and idle */
	ZRAM_WB_INCOMPRESSIBLE,		/* slots that recompression marked INCOMPRESSIBLE */
};
/*
 * Writes the selected slots to the backing file (one block each, from a free-block
 * bitmap); their pool memory is freed and later reads come from the file. Same-filled
 * and empty slots are skipped. Returns the number of pages written, or -errno: -ENODEV
 * (no backing file), -EIO (a pwrite failed: that slot keeps its data in memory; the
 * pages written before stay written), -ENOSPC (no free block; pages written so far stay).
 */
ZS_API int64_t zram_writeback(struct zram *zram, enum zram_wb_mode mode);
/* Writes back one slot whatever its flags (the kernel's page_index=N). 1 written,
 * 0 skipped (empty, same-filled, already written back), or -errno as above. */
ZS_API int zram_writeback_slot(struct zram *zram, uint32_t index);

/* --- Recompression ------------------------------------------------------------------ */

/*
 * Registers a secondary algorithm at priority prio (1..3), as the kernel's
 * recomp_algorithm "algo=NAME priority=N". 0, -EINVAL (bad name/level/prio), -EBUSY
 * (a slot is stored with that priority), -ENOMEM.
 */
ZS_API int zram_set_recomp_algorithm(struct zram *zram, unsigned int prio, const char *algo,
				     int level);

enum zram_recomp_mode {
	ZRAM_RECOMP_IDLE = 1,		/* idle slots */
	ZRAM_RECOMP_HUGE,		/* huge slots */
	ZRAM_RECOMP_HUGE_IDLE,		/* slots both huge and idle */
	ZRAM_RECOMP_ALL,		/* every compressed or huge slot */
};
/*
 * Recompresses the selected slots whose stored size is >= threshold bytes (0 = any) with
 * the secondary algorithm `algo` (registered on first use at the lowest free priority,
 * with level; NULL = every registered secondary, lowest priority first). Only
 * algorithms of a higher priority than the slot's current one are tried. A new copy is
 * kept only if zs_handle_class() puts it in a smaller size class than the old one
 * (huge pages: below the huge class); when every algorithm tried fails, the slot is
 * marked INCOMPRESSIBLE and later recompressions skip it. Written-back, same-filled,
 * INCOMPRESSIBLE and free-pending slots are skipped; IDLE and the access time are kept.
 * Returns the number of slots recompressed, or -errno (-EINVAL, -ENOSPC: no free
 * priority for a new algorithm, -ENOMEM). Serialised with writeback.
 */
ZS_API int64_t zram_recompress(struct zram *zram, enum zram_recomp_mode mode, const char *algo,
			       int level, size_t threshold);

/* ---------------------------------------------------------------------------------- */
/* Statistics: the kernel's sysfs files, same fields, same order, same units (bytes in  */
/* mm_stat, 4 KiB blocks in bd_stat).                                                  */

struct zram_mm_stat {
	uint64_t orig_data_size;	/* bytes of pages stored (same-filled included) */
	uint64_t compr_data_size;	/* bytes of compressed data (huge pages: 4096 each) */
	uint64_t mem_used_total;	/* bytes of pool pages */
	uint64_t mem_limit;		/* bytes; 0 = none */
	uint64_t mem_used_max;		/* high-water mark of mem_used_total, bytes */
	uint64_t same_pages;		/* same-filled pages stored */
	uint64_t pages_compacted;	/* pool pages freed by compaction, cumulative */
	uint64_t huge_pages;		/* pages stored raw */
	uint64_t huge_pages_since;	/* pages ever stored raw */
};

struct zram_io_stat {
	uint64_t failed_reads;
	uint64_t failed_writes;
	uint64_t invalid_io;		/* requests with an index past disksize */
	uint64_t notify_free;		/* zram_slot_free_notify() calls */
};

struct zram_bd_stat {
	uint64_t bd_count;		/* 4 KiB blocks in use in the backing file */
	uint64_t bd_reads;		/* blocks read from it */
	uint64_t bd_writes;		/* blocks written to it */
};

struct zram_debug_stat {
	uint64_t miss_free;		/* notifies that found the slot locked: data left */
};

/* Not in the kernel's files: counters for tests and the lab. */
struct zram_ext_stat {
	uint64_t pages_stored;		/* slots holding data in memory (same-filled included) */
	uint64_t num_reads;		/* successful or not */
	uint64_t num_writes;
	uint64_t notify_deferred;	/* values the deferred framework accepted (indexes in
					 * the per-CPU modes, handles in v2 / per-class) */
	uint64_t notify_fallback;	/* zs_free_deferred() said no: freed synchronously */
	uint64_t drained_slots;		/* slots freed by a drain (percpu modes) */
	uint64_t drain_stale;		/* drained indexes whose slot was no longer pending */
	uint64_t wb_pages;		/* slots currently written back */
	uint64_t recompressed;		/* slots recompressed, cumulative */
	uint64_t incompressible;	/* slots currently marked INCOMPRESSIBLE */
	uint64_t idle_pages;		/* slots currently marked IDLE */
};

ZS_API void zram_get_mm_stat(struct zram *zram, struct zram_mm_stat *st);
ZS_API void zram_get_io_stat(struct zram *zram, struct zram_io_stat *st);
ZS_API void zram_get_bd_stat(struct zram *zram, struct zram_bd_stat *st);
ZS_API void zram_get_debug_stat(struct zram *zram, struct zram_debug_stat *st);
ZS_API void zram_get_ext_stat(struct zram *zram, struct zram_ext_stat *st);

/*
 * Formats a stat exactly as the kernel's sysfs file reads (fields right-aligned in 8
 * columns, separated by one space, one line ending in '\n'; debug_stat has a
 * "version: N" line first). snprintf semantics: returns the length of the full text.
 */
ZS_API int zram_format_mm_stat(const struct zram_mm_stat *st, char *buf, size_t size);
ZS_API int zram_format_io_stat(const struct zram_io_stat *st, char *buf, size_t size);
ZS_API int zram_format_bd_stat(const struct zram_bd_stat *st, char *buf, size_t size);
ZS_API int zram_format_debug_stat(const struct zram_debug_stat *st, char *buf, size_t size);
/* The device's current stats, formatted as above. */
ZS_API int zram_mm_stat_show(struct zram *zram, char *buf, size_t size);
ZS_API int zram_io_stat_show(struct zram *zram, char *buf, size_t size);
ZS_API int zram_bd_stat_show(struct zram *zram, char *buf, size_t size);
ZS_API int zram_debug_stat_show(struct zram *zram, char *buf, size_t size);

/* ---------------------------------------------------------------------------------- */
/* Introspection and test hooks                                                        */

struct zram_slot_info {
	bool allocated;			/* holds data (in memory or written back) */
	bool same;			/* same-filled; value in `value` */
	bool huge;
	bool wb;			/* written back; block number in `value` */
	bool idle;
	bool incompressible;
	bool free_pending;		/* notified, waiting for a deferred drain */
	unsigned int prio;		/* compression priority (0 = primary) */
	unsigned int size;		/* stored bytes (0 for same-filled) */
	unsigned int zs_class;		/* size class of the object, if in the pool */
	unsigned long value;		/* fill value or backing block */
};
/* 0 or -EINVAL. A snapshot taken under the slot lock. */
ZS_API int zram_get_slot_info(struct zram *zram, uint32_t index, struct zram_slot_info *info);
/* Test hooks (fault injection) are in zsmem/lab.h, outside the stable API. */

#ifdef __cplusplus
}
#endif
#endif /* ZSMEM_ZRAM_H */
