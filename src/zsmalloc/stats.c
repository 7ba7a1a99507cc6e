/* SPDX-License-Identifier: MIT */
/*
 * stats.c - pool totals, the per-class table (the kernel's debugfs "classes"
 * columns) and zs_pool_check(), which recounts every invariant of zs_internal.h.
 *
 *   freeable(class) = floor((obj_allocated - obj_used) / objs_per_zspage)
 *                     * pages_per_zspage
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "zs_internal.h"

static void zs_class_row(const struct size_class *class, struct zs_class_stats *row)
{
	unsigned int g;

	row->index = class->index;
	row->size = class->size;
	for (g = 0; g < ZS_NR_FULLNESS; g++)
		row->fullness[g] = class->nr_fullness[g];
	row->obj_allocated = class->obj_allocated;
	row->obj_used = class->obj_used;
	row->pages_used = class->pages;	/* populated: zspages are elastic */
	row->pages_per_zspage = class->pages_per_zspage;
	row->objs_per_zspage = class->objs_per_zspage;
	row->freeable = (class->obj_allocated - class->obj_used) / class->objs_per_zspage *
			class->pages_per_zspage;
}

ZS_API unsigned int zs_class_stats(struct zs_pool *pool, struct zs_class_stats *rows,
				   unsigned int max)
{
	unsigned int i;

	if (!pool || (!rows && max))
		return 0;
	for (i = 0; i < pool->nr_classes && i < max; i++) {
		struct size_class *class = &pool->classes[i];

		pthread_mutex_lock(&class->lock);
		zs_class_row(class, &rows[i]);
		pthread_mutex_unlock(&class->lock);
	}
	return pool->nr_classes;
}

ZS_API void zs_pool_stats(struct zs_pool *pool, struct zs_pool_stats *st)
{
	unsigned int i;

	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!pool)
		return;
	for (i = 0; i < pool->nr_classes; i++) {
		struct size_class *class = &pool->classes[i];

		pthread_mutex_lock(&class->lock);
		st->objs_allocated += class->obj_allocated;
		st->objs_used += class->obj_used;
		st->zspages += class->zspages;
		st->meta_handle_bytes += class->chunk_cap * sizeof(*class->chunk_tab);
		pthread_mutex_unlock(&class->lock);
	}
	st->total_pages = zsm_load_relaxed(&pool->total_pages);
	st->pages_compacted = zsm_load_relaxed(&pool->pages_compacted);
	st->meta_bytes = zsm_load_relaxed(&pool->meta_bytes);
	st->meta_desc_bytes = zsm_load_relaxed(&pool->pages.desc_bytes);
	st->meta_handle_bytes += zsm_load_relaxed(&pool->pages.chunk_bytes);
	pthread_mutex_lock(&pool->pages.lock);
	st->free_resident_pages = pool->pages.nr_dirty;
	pthread_mutex_unlock(&pool->pages.lock);
}

ZS_API void zs_print_stats(struct zs_pool *pool, FILE *out)
{
	static const char *const group[ZS_NR_FULLNESS] = {
		"empty", "0%", "10%", "20%", "30%", "40%", "50%", "60%", "70%", "80%", "90%",
		"100%"
	};
	struct zs_class_stats row, sum;
	unsigned int i, g;

	if (!pool || !out)
		return;
	memset(&sum, 0, sizeof(sum));
	fprintf(out, "%5s %5s", "class", "size");
	for (g = 0; g < ZS_NR_FULLNESS; g++)
		fprintf(out, " %6s", group[g]);
	fprintf(out, " %13s %10s %10s %16s %8s\n", "obj_allocated", "obj_used", "pages_used",
		"pages_per_zspage", "freeable");
	for (i = 0; i < pool->nr_classes; i++) {
		pthread_mutex_lock(&pool->classes[i].lock);
		zs_class_row(&pool->classes[i], &row);
		pthread_mutex_unlock(&pool->classes[i].lock);
		fprintf(out, "%5u %5u", row.index, row.size);
		for (g = 0; g < ZS_NR_FULLNESS; g++) {
			fprintf(out, " %6lu", row.fullness[g]);
			sum.fullness[g] += row.fullness[g];
		}
		fprintf(out, " %13lu %10lu %10lu %16u %8lu\n", row.obj_allocated, row.obj_used,
			row.pages_used, row.pages_per_zspage, row.freeable);
		sum.obj_allocated += row.obj_allocated;
		sum.obj_used += row.obj_used;
		sum.pages_used += row.pages_used;
		sum.freeable += row.freeable;
	}
	fprintf(out, "%11s", "Total");
	for (g = 0; g < ZS_NR_FULLNESS; g++)
		fprintf(out, " %6lu", sum.fullness[g]);
	fprintf(out, " %13lu %10lu %10lu %16s %8lu\n", sum.obj_allocated, sum.obj_used,
		sum.pages_used, "", sum.freeable);
}

#define ZS_BAD(...)						\
	do {							\
		fprintf(stderr, "zs_pool_check: pool %s: ", pool->name); \
		fprintf(stderr, __VA_ARGS__);			\
		fputc('\n', stderr);				\
		bad++;						\
	} while (0)

static unsigned long zs_check_zspage(struct zs_pool *pool, struct size_class *class,
				     struct zspage *zp, unsigned int g, unsigned char *seen)
{
	unsigned int objs = class->objs_per_zspage, k, idx, nfree = 0, live = 0;
	unsigned long bad = 0;

	if (zp->fullness != g || zs_fullness(zp->inuse, objs) != g)
		ZS_BAD("class %u: zspage %p in group %u, fullness %u, inuse %u/%u",
		       class->index, (void *)zp, g, zp->fullness, zp->inuse, objs);
	if (zp->bump > objs || zp->inuse > zp->bump ||
	    zp->nr_pages != zs_pages_for(class, zp->bump) ||
	    zp->nr_held != class->pages_per_zspage || zp->class_idx != class->index)
		ZS_BAD("class %u: zspage %p: %u of %u pages for %u slots handed out (%u in use), "
		       "class %u", class->index, (void *)zp, zp->nr_pages, zp->nr_held, zp->bump,
		       zp->inuse, zp->class_idx);
	for (k = 0; k < zp->nr_held; k++) {
		if ((zp->page[k] & ZSM_PAGE_MASK) != zs_first_offset(class, k))
			ZS_BAD("class %u: zspage %p page %u: first object offset %lu, want %u",
			       class->index, (void *)zp, k,
			       (unsigned long)(zp->page[k] & ZSM_PAGE_MASK),
			       zs_first_offset(class, k));
	}
	if (!class->hdr) {
		unsigned long h = zp->huge_handle;

		if (zp->inuse != 1 || !h ||
		    zsm_load_relaxed(zs_cell(h)) != zs_loc_encode(zp, 0, class->index))
			ZS_BAD("class %u: huge zspage %p: inuse %u, handle %#lx", class->index,
			       (void *)zp, zp->inuse, h);
		return bad;
	}
	/* Walk the slot free list: indices in range, no cycle. */
	memset(seen, 0, objs);
	for (idx = zp->freeobj; idx != ZS_NO_FREE; ) {
		uint32_t w;

		if (idx >= zp->bump || seen[idx]) {
			ZS_BAD("class %u: zspage %p: free list broken at slot %u", class->index,
			       (void *)zp, idx);
			return bad;
		}
		seen[idx] = 1;
		nfree++;
		w = *zs_slot_word(class, zp, idx);
		if (w & 1) {
			ZS_BAD("class %u: zspage %p: free slot %u tagged allocated",
			       class->index, (void *)zp, idx);
			return bad;
		}
		idx = (unsigned int)(w >> 1);
	}
	/* Every other slot handed out is allocated and its handle points back at it. */
	for (idx = 0; idx < zp->bump; idx++) {
		uint32_t w, id;

		if (seen[idx])
			continue;
		w = *zs_slot_word(class, zp, idx);
		id = w >> 1;
		if (!(w & 1) || id >> ZS_HCHUNK_ID_SHIFT >= class->nr_chunks ||
		    (id & ((1u << ZS_HCHUNK_ID_SHIFT) - 1)) >= ZS_HCHUNK_CELLS ||
		    zsm_load_relaxed(zs_cell(zs_tag_handle(class, w))) !=
				zs_loc_encode(zp, idx, class->index))
			ZS_BAD("class %u: zspage %p: slot %u header %#x does not match its handle",
			       class->index, (void *)zp, idx, w);
		else
			live++;
	}
	if (nfree + zp->inuse != zp->bump || live != zp->inuse)
		ZS_BAD("class %u: zspage %p: inuse %u, %u free, %u live, %u slots handed out",
		       class->index, (void *)zp, zp->inuse, nfree, live, zp->bump);
	return bad;
}

ZS_API int zs_pool_check(struct zs_pool *pool)
{
	unsigned char *seen;
	unsigned long bad = 0;
	unsigned int i, g;

	if (!pool)
		return -EINVAL;
	seen = malloc(ZS_LOC_IDX_MASK + 1);
	if (!seen)
		return -ENOMEM;
	for (i = 0; i < pool->nr_classes; i++) {
		struct size_class *class = &pool->classes[i];
		unsigned long zspages = 0, used = 0, pages = 0, cells = 0, live_cells = 0;
		struct zs_hchunk *c;
		unsigned long *f;

		pthread_mutex_lock(&class->lock);
		for (g = 0; g < ZS_NR_FULLNESS; g++) {
			unsigned long nr = 0;
			struct zsm_list *n;

			for (n = class->fullness_list[g].next; n != &class->fullness_list[g];
			     n = n->next) {
				struct zspage *zp = zsm_container_of(n, struct zspage, node);

				bad += zs_check_zspage(pool, class, zp, g, seen);
				used += zp->inuse;
				pages += zp->nr_pages;
				nr++;
			}
			if (nr != class->nr_fullness[g] ||
			    !!(class->nonempty & (1u << g)) != !!nr)
				ZS_BAD("class %u: group %u holds %lu zspages, counted %lu",
				       class->index, g, nr, class->nr_fullness[g]);
			/* An emptied zspage is released at once, never kept. */
			if (g == ZS_FULLNESS_EMPTY && nr)
				ZS_BAD("class %u: %lu empty zspages kept", class->index, nr);
			zspages += nr;
		}
		if (zspages != class->zspages ||
		    class->obj_allocated != zspages * class->objs_per_zspage ||
		    used != class->obj_used || pages != class->pages)
			ZS_BAD("class %u: %lu zspages (counted %lu), obj_allocated %lu, "
			       "obj_used %lu (counted %lu), pages %lu (counted %lu)", class->index,
			       zspages, class->zspages, class->obj_allocated, used,
			       class->obj_used, pages, class->pages);
		/* Handles: free cells are tagged, the rest are the live objects. */
		for (c = class->chunks; c; c = c->next) {
			size_t k;

			if (c->magic != ZS_HCHUNK_MAGIC || c->pool != pool)
				ZS_BAD("class %u: handle chunk %p corrupt", class->index, (void *)c);
			for (k = 0; k < ZS_HCHUNK_CELLS; k++)
				if (!(zsm_load_relaxed(&c->cell[k]) & ZS_CELL_FREE))
					live_cells++;
			cells += ZS_HCHUNK_CELLS;
		}
		for (f = class->free_cells; f && cells;
		     f = (unsigned long *)(zsm_load_relaxed(f) & ~ZS_CELL_FREE))
			cells--;
		if (f || cells != live_cells || live_cells != class->obj_used)
			ZS_BAD("class %u: %lu live handles, %lu unaccounted cells, obj_used %lu",
			       class->index, live_cells, cells, class->obj_used);
		pthread_mutex_unlock(&class->lock);
	}
	free(seen);
	return bad ? -EUCLEAN : 0;
}
