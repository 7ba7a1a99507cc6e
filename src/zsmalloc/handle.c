/* SPDX-License-Identifier: MIT */
/*
 * handle.c - handle cells.
 *
 * A handle is the address of an 8-byte cell holding the object's location (see the
 * map in zs_internal.h). Cells are carved from 4 KiB-aligned chunks owned by one size
 * class, so the class lock protects the cell free list and no other lock is needed.
 * A chunk starts with a header (magic, owning pool), so a debug build can tell a
 * foreign handle from ours: handle & ~4095 is the header. A free cell holds
 * (next free cell | 1); a live cell's bit 0 is clear, so a double free is visible.
 *
 * Chunks (512 bytes, carved by meta.c) are kept until the pool is destroyed (they are
 * metadata, reported in zs_pool_stats.meta_bytes). Each class numbers its chunks (class->chunk_tab), so a
 * slot header can name its handle in 32 bits: see zs_handle_tag() in zs_internal.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>

#include "zs_internal.h"

void zs_die(const char *fmt, ...)
{
	va_list ap;

	fputs("zsmalloc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

struct zs_hchunk *zs_hchunk_alloc(struct zs_pool *pool, struct size_class *class)
{
	struct zs_pagesrc *ps = &pool->pages;
	struct zs_hchunk *chunk = NULL;
	size_t i;

	pthread_mutex_lock(&ps->lock);
	if (ps->free_chunks) {
		chunk = ps->free_chunks;
		ps->free_chunks = chunk->next;
	} else if (!zs_fault()) {
		chunk = zs_meta_carve(pool, &ps->chunk_cur, ZS_HCHUNK_SIZE, ZS_HCHUNK_SIZE);
		if (chunk) {
			zsm_add_relaxed(&pool->meta_bytes, ZS_HCHUNK_SIZE);
			zsm_add_relaxed(&ps->chunk_bytes, ZS_HCHUNK_SIZE);
		}
	}
	pthread_mutex_unlock(&ps->lock);
	if (!chunk)
		return NULL;
	chunk->magic = ZS_HCHUNK_MAGIC;
	chunk->pool = pool;
	chunk->next = NULL;
	chunk->class_idx = class->index;
	chunk->no = 0;		/* numbered when added to the class */
	for (i = 0; i < ZS_HCHUNK_CELLS; i++) {
		unsigned long next = i + 1 < ZS_HCHUNK_CELLS ?
				     (unsigned long)&chunk->cell[i + 1] : 0;

		zsm_init(&chunk->cell[i], next | ZS_CELL_FREE);
	}
	return chunk;
}

/*
 * Called with class->lock held. -ENOMEM (the chunk table cannot grow) keeps chunk
 * for the next zs_hchunk_alloc (ps->free_chunks); the class is unchanged. Handle ids
 * have 31 bits: at most 2^(31 - ZS_HCHUNK_ID_SHIFT) chunks per class.
 */
int zs_hchunk_add(struct zs_pool *pool, struct size_class *class, struct zs_hchunk *chunk)
{
	if (class->nr_chunks == class->chunk_cap) {
		unsigned long cap = class->chunk_cap ? class->chunk_cap * 2 : 8;
		struct zs_hchunk **tab = NULL;

		if (cap <= (1ul << (31 - ZS_HCHUNK_ID_SHIFT)) && !zs_fault())
			tab = realloc(class->chunk_tab, cap * sizeof(*tab));
		if (!tab) {
			/* class->lock, then the leaf ps->lock: the documented order. */
			pthread_mutex_lock(&pool->pages.lock);
			chunk->next = pool->pages.free_chunks;
			pool->pages.free_chunks = chunk;
			pthread_mutex_unlock(&pool->pages.lock);
			return -ENOMEM;
		}
		zsm_add_relaxed(&pool->meta_bytes, (cap - class->chunk_cap) * sizeof(*tab));
		class->chunk_tab = tab;
		class->chunk_cap = cap;
	}
	chunk->no = (uint32_t)class->nr_chunks;
	class->chunk_tab[class->nr_chunks] = chunk;
	/* Splice the chunk's cells in front of the class's free cells. */
	zsm_store_relaxed(&chunk->cell[ZS_HCHUNK_CELLS - 1],
			 (unsigned long)class->free_cells | ZS_CELL_FREE);
	class->free_cells = &chunk->cell[0];
	chunk->next = class->chunks;
	class->chunks = chunk;
	class->nr_chunks++;
	return 0;
}

void zs_hchunks_destroy(struct zs_pool *pool, struct size_class *class)
{
	struct zs_hchunk *c;

	/* The chunks themselves go with the metadata blocks (zs_meta_destroy). */
	(void)pool;
	for (c = class->chunks; c; c = c->next)
		c->magic = 0;
	class->chunks = NULL;
	class->free_cells = NULL;
	class->nr_chunks = 0;
	free(class->chunk_tab);
	class->chunk_tab = NULL;
	class->chunk_cap = 0;
}

/* Aborts unless handle is a live cell of this pool. */
void zs_check_handle(struct zs_pool *pool, unsigned long handle, const char *what)
{
	const struct zs_hchunk *chunk = (const void *)(handle & ~(unsigned long)(ZS_HCHUNK_SIZE - 1));
	unsigned long off = handle & (ZS_HCHUNK_SIZE - 1);
	unsigned long loc;

	if (!handle || (handle & 7) || off < sizeof(struct zs_hchunk))
		zs_die("%s: pool %s: %#lx is not a handle", what, pool->name, handle);
	if (chunk->magic != ZS_HCHUNK_MAGIC)
		zs_die("%s: pool %s: %#lx is not a zsmalloc handle", what, pool->name, handle);
	if (chunk->pool != pool)
		zs_die("%s: pool %s: handle %#lx belongs to another pool (%s)", what,
		       pool->name, handle, chunk->pool->name);
	loc = zsm_load_relaxed(zs_cell((unsigned long)handle));
	if (loc & ZS_CELL_FREE)
		zs_die("%s: pool %s: handle %#lx is not allocated (double free?)", what,
		       pool->name, handle);
}
