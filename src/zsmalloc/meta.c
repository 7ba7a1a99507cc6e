/* SPDX-License-Identifier: MIT */
/*
 * meta.c - where the pool's own metadata lives: zspage descriptors and handle chunks.
 *
 * Both are carved, bump-pointer style, from blocks the pool maps itself (ZS_META_BLOCK
 * bytes each, untouched until carved, so the process RSS grows with what is carved and
 * not with the block), and neither is ever given back before zs_destroy_pool(): a
 * descriptor is recycled through the pool's free lists (type-stable, see zs_internal.h),
 * a handle chunk stays with its class.
 *
 * Why not malloc: on a corpus whose compressed pages take 19 MiB, descriptors and
 * handle chunks from malloc held 0.71 MiB (3.7% of the data) and the process RSS grew by
 * another 1-2% in the allocator's own overhead: aligned_alloc(64, 104) takes a 128-byte
 * slot plus its header, aligned_alloc(4096, 4096) leaves fragments around every chunk.
 * Carving packs descriptors at 8-byte alignment, each as long as its class's zspages
 * need (48 bytes for a 1-page zspage instead of 128), and handle chunks as 512-byte blocks
 * (a class with few objects no longer holds a whole 4 KiB page of free cells).
 *
 * Two cursors, one per kind: descriptors are 8-aligned and handle chunks 512-aligned,
 * and mixing them in one run would pad every chunk. Called with pool->pages.lock held
 * (a leaf lock); this file calls nothing else of the allocator, so it sits at the
 * bottom of the call graph (scripts/check-calls.sh). Fault injection (zs_fault) is the
 * callers' business.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "zs_internal.h"

/*
 * Carves size bytes aligned to align (a power of two dividing ZSM_PAGE_SIZE, size a
 * multiple of it) from cur, mapping a new block when the current one is used up; the
 * end of a block that cannot hold size is skipped (at most one object's worth). NULL
 * when the OS has no memory. ps->lock held.
 */
void *zs_meta_carve(struct zs_pool *pool, struct zs_meta_cursor *cur, size_t size,
		    size_t align)
{
	struct zs_pagesrc *ps = &pool->pages;
	uintptr_t p = (cur->next + align - 1) & ~(uintptr_t)(align - 1);

	if (!cur->next || p + size > cur->end) {
		struct zs_region *r = malloc(sizeof(*r));
		void *addr;

		if (!r)
			return NULL;
		addr = mmap(NULL, ZS_META_BLOCK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		/* The location encoding needs a descriptor address below 2^47. */
		if (addr != MAP_FAILED && (uintptr_t)addr + ZS_META_BLOCK > (1ul << 47)) {
			munmap(addr, ZS_META_BLOCK);
			addr = MAP_FAILED;
		}
		if (addr == MAP_FAILED) {
			free(r);
			return NULL;
		}
#ifdef ZSMEM_ASAN
		/* What is not carved yet is nobody's: catch overruns of the last object. */
		ASAN_POISON_MEMORY_REGION(addr, ZS_META_BLOCK);
#endif
		r->addr = addr;
		r->len = ZS_META_BLOCK;
		r->next = ps->meta_blocks;
		ps->meta_blocks = r;
		zsm_add_relaxed(&pool->meta_bytes, sizeof(*r));
		p = (uintptr_t)addr;
		cur->end = p + ZS_META_BLOCK;
	}
	cur->next = p + size;
#ifdef ZSMEM_ASAN
	ASAN_UNPOISON_MEMORY_REGION((void *)p, size);
#endif
	return (void *)p;
}

void zs_regions_unmap(struct zs_region **list)
{
	struct zs_region *r;

	while ((r = *list)) {
		*list = r->next;
#ifdef ZSMEM_ASAN
		ASAN_UNPOISON_MEMORY_REGION(r->addr, r->len);	/* the range may be reused */
#endif
		munmap(r->addr, r->len);
		free(r);
	}
}

/* Unmaps every block: every descriptor and handle chunk of the pool goes with them. */
void zs_meta_destroy(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;

	zs_regions_unmap(&ps->meta_blocks);
	ps->desc_cur.next = ps->desc_cur.end = 0;
	ps->chunk_cur.next = ps->chunk_cur.end = 0;
}
