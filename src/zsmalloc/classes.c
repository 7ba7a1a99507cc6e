/* SPDX-License-Identifier: MIT */
/*
 * classes.c - the size class table.
 *
 * Slot i (0..254) has size(i) = 32 + 16 * i. Its pages per zspage is the n in
 * 1..chain minimising waste(n) = (n * 4096) mod size(i), the first such n on a tie,
 * and objs(i) = n * 4096 / size(i). Walking from the largest slot down, a slot joins
 * the class just above when their (pages, objs) are equal (the kernel's rule: memory
 * per object is the same; 119 classes for chain 8), or, in a ZS_POOL_DENSE_CLASSES
 * pool, also when both hold several objects per zspage and the class above costs at
 * most ZS_CLASS_MERGE_SLACK more bytes per object than the slot's own geometry would
 * (pages * 4096 / objs). A merged class has the size and geometry of its largest slot.
 *
 * Why the slack (opt-in, so that the default table stays the kernel's): each class in use holds about half a page it cannot fill (the
 * partly populated last zspage), a partly used handle chunk and its own struct;
 * measured on heap corpora (Python, V8, a JVM), classes whose objects would save
 * fewer than 16 bytes each were worth less than that: the Python 64 MiB corpus went
 * from 1.0305 to 1.0291 pool bytes per compressed byte with chain 16, and the RSS
 * with all metadata fell further with 64 fewer classes. The table: 92 classes for
 * chain 8 (the kernel's rule alone gives 119), 128 for chain 16 (192).
 *
 * Huge threshold: with H the smallest size(i) with pages == 1 and objs == 1, a
 * request of r bytes lands in a huge slot iff r + 8 > H - 16 with the kernel's 8-byte
 * in-slot handle, i.e. iff r >= zs_huge_class_size() = H - 16 - 7 (3625 for chain
 * 8). We keep that threshold (zram decides what to store raw by it) although our
 * 4-byte header would let 4 more bytes fit below it: zs_malloc sends every request
 * from it on to the huge class. Huge objects are stored alone in a page, without a header.
 */
#include <errno.h>
#include <stdlib.h>

#include "zs_internal.h"

/* 16: see the top of this file. */
#define ZS_CLASS_MERGE_SLACK	16u

/*
 * Whether a slot of (pages, objs) joins the class of (cpages, cobjs) just above it:
 * the same geometry, or both multi-object and the class's bytes per object
 * (cpages * 4096 / cobjs) within the slack of the slot's (compared cross-multiplied).
 */
static bool zs_class_joins(bool dense, unsigned int pages, unsigned int objs,
			   unsigned int cpages, unsigned int cobjs)
{
	unsigned long mine = (unsigned long)pages * ZSM_PAGE_SIZE * cobjs;
	unsigned long theirs = (unsigned long)cpages * ZSM_PAGE_SIZE * objs;

	if (pages == cpages && objs == cobjs)
		return true;
	if (!dense || objs == 1 || cobjs == 1)
		return false;	/* the huge class stays alone, as its threshold needs */
	return theirs <= mine + (unsigned long)ZS_CLASS_MERGE_SLACK * objs * cobjs;
}

static unsigned int zs_best_pages(unsigned int size, unsigned int chain)
{
	unsigned int n, best = 1, best_waste = ZSM_PAGE_SIZE % size;

	for (n = 2; n <= chain; n++) {
		unsigned int waste = (n * ZSM_PAGE_SIZE) % size;

		if (waste < best_waste) {
			best = n;
			best_waste = waste;
		}
	}
	return best;
}

static void zs_class_init(struct size_class *class, unsigned int index, unsigned int pages,
			  unsigned int objs)
{
	unsigned int g;

	memset(class, 0, sizeof(*class));
	pthread_mutex_init(&class->lock, NULL);
	for (g = 0; g < ZS_NR_FULLNESS; g++)
		zsm_list_init(&class->fullness_list[g]);
	class->index = index;
	class->size = ZS_MIN_ALLOC + ZS_CLASS_DELTA * index;
	class->pages_per_zspage = pages;
	class->objs_per_zspage = objs;
	class->hdr = objs == 1 ? 0 : ZS_HANDLE_SIZE;
}

int zs_classes_init(struct zs_pool *pool)
{
	unsigned int pages[ZS_NR_SIZE_SLOTS], objs[ZS_NR_SIZE_SLOTS];
	unsigned int i, n = 0, huge = ZSM_PAGE_SIZE;
	bool dense = pool->flags & ZS_POOL_DENSE_CLASSES;
	int prev = -1;
	struct size_class *classes;

	/* Pass 1: per-slot geometry, huge threshold and the number of distinct classes. */
	for (i = ZS_NR_SIZE_SLOTS; i-- > 0;) {
		unsigned int size = ZS_MIN_ALLOC + ZS_CLASS_DELTA * i;

		pages[i] = zs_best_pages(size, pool->chain);
		objs[i] = pages[i] * ZSM_PAGE_SIZE / size;
		if (pages[i] == 1 && objs[i] == 1)
			huge = size;	/* ends as the smallest huge slot */
		if (prev < 0 || !zs_class_joins(dense, pages[i], objs[i], pages[prev], objs[prev])) {
			n++;
			prev = (int)i;
		}
	}
	/* The kernel's: a request r goes to slot index(r + 8); r + 8 > huge - 16 is huge. */
	pool->huge_class_size = huge - ZS_CLASS_DELTA - (ZS_KERNEL_HANDLE_SIZE - 1);

	if (zs_fault())
		return -ENOMEM;
	classes = aligned_alloc(64, n * sizeof(*classes));
	if (!classes)
		return -ENOMEM;
	zsm_add_relaxed(&pool->meta_bytes, n * sizeof(*classes));

	/* Pass 2: classes are filled from the top, then sit smallest first. */
	prev = -1;
	for (i = ZS_NR_SIZE_SLOTS; i-- > 0;) {
		if (prev < 0 || !zs_class_joins(dense, pages[i], objs[i], pages[prev], objs[prev])) {
			prev = (int)i;
			n--;
			zs_class_init(&classes[n], i, pages[i], objs[i]);
		}
		pool->size_class[i] = &classes[n];
	}
	pool->classes = classes;
	for (i = 0; pool->size_class[ZS_NR_SIZE_SLOTS - 1] != &classes[i]; i++)
		;
	pool->nr_classes = i + 1;
	return 0;
}

void zs_classes_destroy(struct zs_pool *pool)
{
	unsigned int i;

	for (i = 0; i < pool->nr_classes; i++)
		pthread_mutex_destroy(&pool->classes[i].lock);
	free(pool->classes);
	pool->classes = NULL;
}
