/* SPDX-License-Identifier: MIT */
/*
 * A page-range allocator for the launcher's preload: free extents of a fixed span of
 * pages, first fit, coalesced on free. Its storage comes from a raw mmap system call,
 * never from malloc, so it can serve a malloc or mmap hook.
 *
 * Not thread-safe by itself: the caller holds one lock around every call.
 * Not async-signal-safe (see preload.c).
 */
#ifndef ZSMEM_RUN_RANGES_H
#define ZSMEM_RUN_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zrr_extent {
	uint64_t start, len;	/* pages */
};

struct zrr {
	struct zrr_extent *ext;	/* sorted by start, disjoint, never adjacent */
	size_t n, cap;
	uint64_t free_pages;
	uint64_t lost_pages;	/* freed while the table was full: never handed out again */
};

/* Manages pages [0, npages). Returns false when its table cannot be mapped. */
bool zrr_init(struct zrr *a, uint64_t npages);
/* First fit: the first page of npages free pages, or UINT64_MAX. */
uint64_t zrr_alloc(struct zrr *a, uint64_t npages);
/* Takes [start, start + npages) if all of it is free (in-place growth). */
bool zrr_alloc_at(struct zrr *a, uint64_t start, uint64_t npages);
/*
 * Frees [start, start + npages). Union semantics: pages already free stay free, so a
 * range freed twice (munmap is idempotent) does not corrupt the table.
 */
void zrr_free(struct zrr *a, uint64_t start, uint64_t npages);

#endif
