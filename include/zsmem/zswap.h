/* SPDX-License-Identifier: MIT */
/*
 * zsmem/zswap.h - a userspace zswap: a compressed cache in front of swap files.
 *
 * The caller plays the kernel's swap core. It turns swap files on and off by type
 * (zswap_swapon/zswap_swapoff), and for each swap slot (type, offset) it offers pages
 * to the cache (zswap_store), takes them back (zswap_load, exclusive: the entry is gone
 * afterwards) or tells the cache the slot is dead (zswap_invalidate).
 *
 * Pages live compressed in a zsmalloc pool; zero-filled pages take no pool memory
 * (one bit per slot); pages that do not compress below zsmalloc's huge class are kept
 * raw. The pool has a limit with hysteresis: once it reaches the limit, stores are
 * rejected until it falls to accept_threshold_percent of the limit. An optional
 * background shrinker writes the coldest entries (one LRU, second chance) back to the
 * swap file at offset * 4096; zswap_load then answers -ENOENT and the caller reads the
 * file, exactly as the kernel's swap-in path falls through to the swap device.
 *
 * With deferred_invalidate, zswap_invalidate() only unlinks the entry from its slot and
 * hands the entry to zsmalloc's per-CPU deferred free framework; the LRU unlink, the
 * zs_free() and the entry's own memory are released by a drain worker in batches.
 *
 * Thread safety: store, load, invalidate, writeback and statistics may run at once from
 * any threads, on the same or different slots. zswap_swapon/zswap_swapoff must not race
 * with other calls on the same type, and zswap_destroy with anything.
 *
 * Errors are negative errno values (the header includes <errno.h>):
 *   -EINVAL  unknown / not swapped-on type, offset >= nr_pages, NULL page
 *   -ENOENT  zswap_load: nothing cached at that slot (never stored, loaded, invalidated,
 *            rejected, or written back to the swap file)
 *   -ENOSPC  zswap_store: rejected by the pool limit (pool_limit_hit and hysteresis)
 *   -ENOMEM  zswap_store: the entry or the pool object could not be allocated
 *   -EIO     zswap_store: the compressor failed; zswap_load: decompression failed
 *            (the corrupt entry is dropped: the slot is empty afterwards)
 *   -E2BIG   zswap_store: incompressible page with reject_incompressible set
 * A store that fails for any reason also drops what was cached at that slot before,
 * so that a later load cannot return stale data: the caller writes the page to its
 * swap file itself.
 */
#ifndef ZSMEM_ZSWAP_H
#define ZSMEM_ZSWAP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <zsmem/zsmalloc.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZSWAP_PAGE_SIZE		4096u
#define ZSWAP_MAX_TYPES		32u	/* swap types 0..31, as the kernel's MAX_SWAPFILES */

struct zswap;

/* A zeroed configuration is valid: lz4, 20% of physical RAM, 90% threshold, no
 * shrinker, synchronous invalidate. */
struct zswap_config {
	const char *compressor;		/* zcomp name; NULL = "lz4" */
	int comp_level;			/* 0 = the compressor's default */
	uint64_t max_pool_bytes;	/* pool limit; 0 = max_pool_percent of ram_bytes */
	unsigned int max_pool_percent;	/* 0 = 20; 1..100 */
	uint64_t ram_bytes;		/* 0 = physical RAM (sysconf) */
	unsigned int accept_threshold_percent; /* of the limit; 0 = 90; 1..100 */
	bool shrinker_enabled;		/* background writeback thread */
	bool deferred_invalidate;	/* zswap_invalidate() through zs_free_deferred() */
	/*
	 * Pages that do not shrink below zs_huge_class_size() are stored raw by default
	 * (stored_incompressible_pages); true rejects them instead (reject_compress_poor),
	 * as kernels before raw storage did.
	 */
	bool reject_incompressible;

	/* Passthrough to the allocator and the deferred framework (the exit-path lab). */
	unsigned int zs_pool_flags;	/* enum zs_pool_flags */
	unsigned int zs_chain_size;	/* 0 = ZS_DEFAULT_CHAIN */
	struct zs_deferred_config defer; /* used when deferred_invalidate; zeroed = defaults */
};

/* NULL with errno: EINVAL (bad config, unknown compressor), ENOMEM, or what thread or
 * deferred-free setup failed with. */
ZS_API struct zswap *zswap_create(const struct zswap_config *cfg);
/* Stops the shrinker, waits for deferred invalidates, frees every entry and the pool. */
ZS_API void zswap_destroy(struct zswap *zs);

/*
 * Creates the slot table of a swap file with nr_pages slots. backing_fd is where the
 * shrinker writes pages back (pwrite at offset * 4096); -1 means no backing file: its
 * entries are never written back. The fd stays owned by the caller and must stay open
 * until zswap_swapoff. 0, -EINVAL (type >= ZSWAP_MAX_TYPES, nr_pages 0 or too large),
 * -EBUSY (type already on), -ENOMEM.
 */
ZS_API int zswap_swapon(struct zswap *zs, unsigned int type, uint64_t nr_pages, int backing_fd);
/* Drops every page cached for type (waiting for a writeback in flight) and its table. */
ZS_API void zswap_swapoff(struct zswap *zs, unsigned int type);

/* page: 4096 bytes. 0 or a negative errno (see the top of this file). Replaces
 * whatever was cached at the slot. */
ZS_API int zswap_store(struct zswap *zs, unsigned int type, uint64_t offset, const void *page);
/* Exclusive: on success the slot is empty afterwards. 0, -EINVAL, -ENOENT, -EIO. */
ZS_API int zswap_load(struct zswap *zs, unsigned int type, uint64_t offset, void *page);
/* The swap slot is dead. Bad type/offset or an empty slot: nothing happens. */
ZS_API void zswap_invalidate(struct zswap *zs, unsigned int type, uint64_t offset);
/* Returns once every invalidate issued before the call has released its memory. */
ZS_API void zswap_flush(struct zswap *zs);

/*
 * Synchronous writeback of up to nr_pages of the coldest entries (second chance
 * applies), whatever the pool limit; for tests and the lab. Returns the number of
 * pages written back (failed writes count reject_reclaim_fail and stay cached).
 */
ZS_API uint64_t zswap_writeback(struct zswap *zs, uint64_t nr_pages);

/* The kernel's debugfs counters (first ten fields), then ours. */
struct zswap_stats {
	uint64_t pool_limit_hit;		/* stores that found the pool at its limit */
	uint64_t reject_reclaim_fail;		/* writebacks that failed: entry kept */
	uint64_t reject_alloc_fail;		/* stores: entry or zs_malloc failed */
	uint64_t reject_compress_fail;		/* stores: compressor error */
	uint64_t reject_compress_poor;		/* stores: incompressible, reject_incompressible */
	uint64_t decompress_fail;		/* loads or writebacks that could not decompress */
	uint64_t written_back_pages;		/* pages written to a swap file */
	uint64_t pool_total_size;		/* bytes: zsmalloc pages * 4096 */
	uint64_t stored_pages;			/* entries held, zero-filled pages included;
						 * a deferred invalidate counts until drained */
	uint64_t stored_incompressible_pages;	/* entries held raw: compressed size was
						 * >= zs_huge_class_size() */
	/* zsmem extensions */
	uint64_t zero_pages;			/* zero-filled pages held (subset of stored_pages) */
	uint64_t reject_pool_full;		/* stores rejected in the hysteresis zone
						 * (above the threshold, below the limit) */
	uint64_t deferred_invalidates;		/* entries handed to zs_free_deferred() */
	uint64_t max_pool_bytes;		/* the effective limit */
	uint64_t accept_pool_bytes;		/* the effective accept threshold */
};

ZS_API void zswap_get_stats(struct zswap *zs, struct zswap_stats *st);
/* One "name value" line per counter, as /sys/kernel/debug/zswap/ would show them. */
ZS_API void zswap_print_stats(struct zswap *zs, FILE *out);
/*
 * Flushes deferred invalidates, then recounts the invariants (every cached entry in
 * its slot and on the LRU, counters against the tables); 0, or -EUCLEAN after printing
 * what is wrong to stderr. For tests and debugging: no store, load or invalidate may
 * be in flight (the shrinker may run).
 */
ZS_API int zswap_check(struct zswap *zs);
/* The zsmalloc pool underneath (for zs_pool_stats, zs_deferred_get_stats, zs_compact). */
ZS_API struct zs_pool *zswap_pool(struct zswap *zs);

#ifdef __cplusplus
}
#endif
#endif /* ZSMEM_ZSWAP_H */
