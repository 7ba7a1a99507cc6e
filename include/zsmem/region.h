/* SPDX-License-Identifier: MIT */
/*
 * zsmem/region.h - compressed memory for a process's own pages: a userfaultfd region.
 *
 * zsr_create() maps `size` bytes of private anonymous memory and registers it with a
 * userfaultfd (missing + write-protect faults, unmap / remove / remap events). Cold
 * pages are evicted: write-protected, compressed into a private zsmalloc pool (pages
 * that are one repeated 64-bit word are kept as that word, with no pool memory) and
 * dropped with MADV_DONTNEED. Touching an evicted page faults; a handler thread of the
 * region decompresses it and maps it back with UFFDIO_COPY (or UFFDIO_ZEROPAGE). The
 * application sees ordinary memory.
 *
 * Storage: the region stores directly into its own zsmalloc pool with a zcomp
 * compressor and same-filled detection, not through a zswap instance: a region page
 * needs no swap slot table, LRU or writeback, and the region's page table already is
 * the index. With deferred_free, every compressed copy the region drops on munmap /
 * MADV_DONTNEED of part of the region and on zsr_destroy is released through
 * zsmalloc's deferred free (zs_free_deferred, drained in class-grouped batches by
 * worker threads); without it they are freed synchronously. Copies dropped by a
 * refault are freed by the handler thread itself, in class-grouped batches of 32
 * (zs_free_batch) after the faulting thread is woken: copies held in deferred
 * buffers would be pool memory outside the compressed bytes. A reclaim (the
 * reclaimer's, or zsr_reclaim of 16 pages or more) compacts the pool when its free
 * slots exceed 1/64 of it.
 *
 * Residency: max_resident > 0 starts a background reclaimer that keeps resident
 * pages at or below max_resident (rounded down to pages, at least 64 pages); a fault
 * that would exceed the cap waits (at most a few milliseconds) for the reclaimer.
 * Victims are chosen by a CLOCK over fault-in events: a page gets a reference when it
 * is faulted in, the hand clears it on the first pass and evicts on the second; a page
 * that was evicted and faulted back (a refault) gets two passes. There is no read or
 * write tracking of resident pages (see DESIGN notes in src/region/region.c for why
 * the write-protect used for safe eviction excludes WP_ASYNC write tracking).
 *
 * Errors: zsr_create returns NULL with errno
 *   EINVAL  cfg NULL, size 0, unknown compressor
 *   ENOMEM  the mapping, the pool or the metadata could not be allocated
 *   EPERM   no usable userfaultfd (no access to the syscall or /dev/userfaultfd, or a
 *           kernel without missing + write-protect faults on anonymous memory)
 * zsr_reclaim returns the bytes evicted (0 when nothing is evictable) or -errno
 * (-ENOMEM when the pool cannot grow, -EINVAL for a NULL region).
 *
 * userfaultfd modes: as root (or with CAP_SYS_PTRACE, or vm.unprivileged_userfaultfd=1,
 * or access to /dev/userfaultfd) the region uses the full mode. Otherwise it falls back
 * to UFFD_USER_MODE_ONLY, where only faults from user space are handled: a system call
 * that touches an evicted page (read(2) into it, write(2) from it, futexes in it...)
 * fails with EFAULT instead of waiting. zsr_get_stats() reports user_mode_only.
 *
 * What the application may do with the region, concurrently with faults and reclaim:
 *   - munmap() part of it: the compressed copies of the range are freed;
 *   - madvise(MADV_DONTNEED) part of it: the range reads as zeros afterwards and its
 *     compressed copies are freed;
 *   - mremap() part of it elsewhere: the moved pages leave the region: evicted ones are
 *     decompressed into place at the new address, which becomes plain memory;
 *   - fork(): the region is MADV_DONTFORK: the child has no mapping at those addresses
 *     (an access faults with SIGSEGV); the parent is unaffected. A child must not call
 *     any zsr_* function on a region inherited this way (exiting is fine).
 * Caveat: an address range unmapped from the region and mapped again by the application
 * while a reclaim is evicting pages of that very range can lose the new mapping's
 * contents: the kernel offers no conditional MADV_DONTNEED or UFFDIO_MOVE, so the window
 * between the region's last check and its madvise (or move) cannot be closed. Do not
 * reuse unmapped parts of a region for other mappings while a reclaim may run (the
 * launcher serialises this). Likewise a page whose compressed copy found no pool memory
 * (ENOMEM) while the application mremap'd it away is lost.
 *
 * Thread and signal safety: zsr_reclaim and zsr_get_stats may be called from any
 * threads at once; zsr_destroy must not race with other calls on the same region.
 * No zsr_* function is async-signal-safe (they take mutexes). Touching region memory
 * from a signal handler is safe (the fault is served by the handler thread) unless the
 * signal interrupted a thread while it was inside zsr_reclaim. The region's threads
 * block every signal.
 *
 * Exit: at process exit the kernel drops the region and the pool's pages with the rest
 * of the address space; no per-object work happens on that path.
 */
#ifndef ZSMEM_REGION_H
#define ZSMEM_REGION_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ZSR_API __attribute__((visibility("default")))
#else
#define ZSR_API
#endif

struct zsr;

/* A zeroed configuration plus a size is valid: lz4, no cap, synchronous free. */
struct zsr_config {
	size_t size;		/* bytes; rounded up to whole pages */
	size_t max_resident;	/* bytes; 0 = no cap (evict only on zsr_reclaim) */
	const char *compressor;	/* zcomp name ("lz4", "zstd", "lzo", "lz4hc"); NULL = "lz4" */
	bool deferred_free;	/* release compressed copies through zs_free_deferred */
	/*
	 * zsmem extension: when first touches go in order (a heap growing, an array
	 * filled), the handler maps the shared zero page over the next untouched pages
	 * (a window doubling from 4 to 64) in the same wake-up, so that their first write
	 * is an ordinary in-kernel copy-on-write fault (~2 us here) instead of a handler
	 * round trip (5-90 us on a 2-CPU VM, depending on where the scheduler puts the
	 * handler). They count as resident pages (they take no memory until written);
	 * under a cap it stops half a batch short of it. zsmem-run turns it on.
	 */
	bool map_ahead;
};

struct zsr_stats {
	uint64_t resident_pages;	/* pages mapped now (being evicted included) */
	uint64_t evicted_pages;		/* pages held compressed now: stored + same */
	uint64_t faults;		/* missing faults served, cumulative */
	uint64_t stored_pages;		/* evicted pages held as pool objects now */
	uint64_t compr_bytes;		/* bytes of those objects (compressed sizes) */
	uint64_t pool_pages;		/* 4 KiB pages held by the pool now */
	uint64_t same_pages;		/* evicted pages held as one repeated word now */
	/* zsmem extensions */
	uint64_t refaults;		/* evicted pages brought back (faulted or read ahead), cumulative */
	uint64_t readahead_pages;	/* of those, brought back ahead of a sequential refault */
	uint64_t evictions;		/* pages evicted, cumulative */
	uint64_t huge_pages;		/* stored pages kept raw (incompressible) now */
	uint64_t dropped_pages;		/* copies dropped by munmap / DONTNEED / mremap */
	uint64_t throttled_faults;	/* faults that waited for the reclaimer */
	uint64_t max_resident_pages;	/* the cap in effect; 0 = none */
	bool user_mode_only;		/* UFFD_USER_MODE_ONLY: syscalls get EFAULT */
};

ZSR_API struct zsr *zsr_create(const struct zsr_config *cfg);
/* size bytes of anonymous memory, page aligned (the mapping's start). */
ZSR_API void *zsr_base(struct zsr *r);
/* Evict up to bytes now: the bytes evicted, or -errno. */
ZSR_API long zsr_reclaim(struct zsr *r, size_t bytes);
ZSR_API void zsr_get_stats(struct zsr *r, struct zsr_stats *st);
/*
 * Unmaps what is still the region's (holes the application unmapped or mremap'd away,
 * and any mapping it placed in them since, are left alone) and frees every compressed
 * copy. With deferred_free the copies are
 * pushed to the deferred free path and the pool is torn down by a background thread:
 * the call returns before the memory is back (zsr_wait_released() waits for it).
 */
ZSR_API void zsr_destroy(struct zsr *r);
/* Waits until every region destroyed so far has returned its pool memory. */
ZSR_API void zsr_wait_released(void);

#ifdef __cplusplus
}
#endif
#endif /* ZSMEM_REGION_H */
