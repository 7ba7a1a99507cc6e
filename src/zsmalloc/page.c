/* SPDX-License-Identifier: MIT */
/*
 * page.c - where zspage memory comes from and goes back to.
 *
 * Pages are taken from the OS in regions of ZS_REGION_PAGES pages (one mmap each) and
 * kept on a stack of free page addresses. A zspage pops the pages it needs; when it
 * empties, its pages are madvise(MADV_DONTNEED)'d - the process RSS drops at once -
 * and pushed back, so the address space is reused and the next touch faults in a zero
 * page. Regions are unmapped only when the pool is destroyed.
 *
 * Freed pages first go to a small dirty list (at most ZS_DIRTY_MAX pages, 2 MiB): new
 * zspages reuse them without a page fault, and when the list fills up they are
 * sorted and madvise'd together, one call per contiguous run - a madvise per emptied
 * zspage would cost more than the frees themselves. zs_compact() and the deferred
 * release thread flush the list when they finish, and so does zs_pages_flush().
 *
 * Descriptors (struct zspage) are type-stable: a released descriptor goes to the
 * pool's free list, never back to malloc before zs_destroy_pool().
 *
 * With ZS_POOL_DEFER_ZSPAGE_FREE, emptied zspages are queued to a background thread
 * that does the madvise; pool->total_pages counts them until it has.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "zs_internal.h"

static _Atomic long zs_fault_countdown;

void zs_fault_inject(long nth)
{
	atomic_store_explicit(&zs_fault_countdown, nth, memory_order_relaxed);
}

bool zs_fault(void)
{
	long v = atomic_load_explicit(&zs_fault_countdown, memory_order_relaxed);

	while (v > 0) {
		if (atomic_compare_exchange_weak_explicit(&zs_fault_countdown, &v, v - 1,
				memory_order_relaxed, memory_order_relaxed))
			return v == 1;
	}
	return false;
}

int zs_pagesrc_init(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;
	size_t sz = sizeof(struct zspage) + pool->chain * sizeof(uintptr_t);

	memset(ps, 0, sizeof(*ps));
	pthread_mutex_init(&ps->lock, NULL);
	zs_list_init(&ps->free_descs);
	ps->desc_size = (sz + ZS_DESC_ALIGN - 1) & ~(size_t)(ZS_DESC_ALIGN - 1);
	ps->dirty = zs_fault() ? NULL : malloc(2 * ZS_DIRTY_MAX * sizeof(uintptr_t));
	if (!ps->dirty)
		return -ENOMEM;
	ps->spare = ps->dirty + ZS_DIRTY_MAX;
	zs_counter_add(&pool->meta_bytes, 2 * ZS_DIRTY_MAX * sizeof(uintptr_t));
	return 0;
}

void zs_pagesrc_destroy(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;
	struct zs_region *r;

	while ((r = ps->regions)) {
		ps->regions = r->next;
#ifdef ZSMEM_ASAN
		ASAN_UNPOISON_MEMORY_REGION(r->addr, r->len);	/* the range may be reused */
#endif
		munmap(r->addr, r->len);
		free(r);
	}
	while (!zs_list_empty(&ps->free_descs)) {
		struct zs_list *n = ps->free_descs.next;

		zs_list_del(n);
		free(zs_container_of(n, struct zspage, node));
	}
	free(ps->stack);
	free(ps->dirty < ps->spare ? ps->dirty : ps->spare);
	pthread_mutex_destroy(&ps->lock);
}

/* Called with ps->lock held. */
static int zs_region_add(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;
	size_t len = (size_t)ZS_REGION_PAGES * ZS_PAGE_SIZE;
	struct zs_region *r;
	unsigned int k;
	void *addr;

	/* The stack must be able to hold every page mapped, all free at once. */
	if (ps->mapped + ZS_REGION_PAGES > ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 4 * ZS_REGION_PAGES;
		uintptr_t *st;

		while (cap < ps->mapped + ZS_REGION_PAGES)
			cap *= 2;
		st = zs_fault() ? NULL : realloc(ps->stack, cap * sizeof(*st));
		if (!st)
			return -ENOMEM;
		zs_counter_add(&pool->meta_bytes, (cap - ps->cap) * sizeof(*st));
		ps->stack = st;
		ps->cap = cap;
	}
	r = zs_fault() ? NULL : malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	addr = zs_fault() ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED) {
		free(r);
		return -ENOMEM;
	}
	r->addr = addr;
	r->len = len;
	r->next = ps->regions;
	ps->regions = r;
	ps->mapped += ZS_REGION_PAGES;
	zs_counter_add(&pool->meta_bytes, sizeof(*r));
	for (k = ZS_REGION_PAGES; k-- > 0;)
		ps->stack[ps->nr++] = (uintptr_t)addr + (uintptr_t)k * ZS_PAGE_SIZE;
	return 0;
}

int zs_pages_get(struct zs_pool *pool, uintptr_t *pages, unsigned int n)
{
	struct zs_pagesrc *ps = &pool->pages;
	unsigned int k;

	pthread_mutex_lock(&ps->lock);
	if (ps->nr_dirty + ps->nr < n && zs_region_add(pool)) {
		pthread_mutex_unlock(&ps->lock);
		return -ENOMEM;
	}
	/* Still-resident pages first: no page fault, likely in cache. */
	for (k = 0; k < n && ps->nr_dirty; k++)
		pages[k] = ps->dirty[--ps->nr_dirty];
	for (; k < n; k++)
		pages[k] = ps->stack[--ps->nr];
	pthread_mutex_unlock(&ps->lock);
	return 0;
}

static int zs_cmp_page(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts pages and gives them back to the OS with one madvise per contiguous run. */
static void zs_pages_dontneed(uintptr_t *pages, size_t n)
{
	size_t k, start = 0;

	qsort(pages, n, sizeof(*pages), zs_cmp_page);
	for (k = 1; k <= n; k++) {
		if (k < n && pages[k] == pages[start] + (k - start) * ZS_PAGE_SIZE)
			continue;
		madvise((void *)pages[start], (k - start) * ZS_PAGE_SIZE, MADV_DONTNEED);
		start = k;
	}
}

/*
 * Returns the dirty pages to the OS. The flusher swaps the dirty array with the
 * spare one under the lock, so frees go on while it sits in madvise; only one
 * flusher at a time (flushing), the others leave it to it.
 */
void zs_pages_flush(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;
	uintptr_t *batch;
	size_t n, k;

	pthread_mutex_lock(&ps->lock);
	if (ps->flushing || !ps->nr_dirty) {
		pthread_mutex_unlock(&ps->lock);
		return;
	}
	ps->flushing = true;
	batch = ps->dirty;
	n = ps->nr_dirty;
	ps->dirty = ps->spare;
	ps->spare = batch;
	ps->nr_dirty = 0;
	pthread_mutex_unlock(&ps->lock);

	zs_pages_dontneed(batch, n);

	pthread_mutex_lock(&ps->lock);
	for (k = n; k-- > 0;)	/* popped lowest address first */
		ps->stack[ps->nr++] = batch[k];
	ps->flushing = false;
	pthread_mutex_unlock(&ps->lock);
}

/* pages[] may carry first-object offsets in their low bits. */
void zs_pages_put(struct zs_pool *pool, const uintptr_t *pages, unsigned int n)
{
	struct zs_pagesrc *ps = &pool->pages;
	uintptr_t own[ZS_MAX_CHAIN];
	unsigned int k;
	bool flush;

	pthread_mutex_lock(&ps->lock);
	if (ps->nr_dirty + n <= ZS_DIRTY_MAX) {
		for (k = n; k-- > 0;)
			ps->dirty[ps->nr_dirty++] = pages[k] & ~(uintptr_t)ZS_PAGE_MASK;
		flush = ps->nr_dirty > ZS_DIRTY_MAX - ZS_MAX_CHAIN;
		pthread_mutex_unlock(&ps->lock);
		if (flush)
			zs_pages_flush(pool);
		return;
	}
	pthread_mutex_unlock(&ps->lock);

	/* The dirty list is full and being flushed: give these back ourselves. */
	for (k = 0; k < n; k++)
		own[k] = pages[k] & ~(uintptr_t)ZS_PAGE_MASK;
	zs_pages_dontneed(own, n);
	pthread_mutex_lock(&ps->lock);
	for (k = n; k-- > 0;)
		ps->stack[ps->nr++] = own[k];
	pthread_mutex_unlock(&ps->lock);
}

struct zspage *zs_desc_get(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;
	struct zspage *zp = NULL;

	pthread_mutex_lock(&ps->lock);
	if (!zs_list_empty(&ps->free_descs)) {
		zp = zs_container_of(ps->free_descs.next, struct zspage, node);
		zs_list_del(&zp->node);
	}
	pthread_mutex_unlock(&ps->lock);
	if (zp)
		return zp;
	zp = zs_fault() ? NULL : aligned_alloc(ZS_DESC_ALIGN, ps->desc_size);
	if (!zp)
		return NULL;
	if ((uintptr_t)zp >> 47) {	/* the location encoding needs a 47-bit address */
		free(zp);
		return NULL;
	}
	memset(zp, 0, ps->desc_size);
	atomic_init(&zp->lock, 0);	/* the only initialisation the lock ever gets */
	zs_list_init(&zp->node);
	zs_counter_add(&pool->meta_bytes, ps->desc_size);
	return zp;
}

void zs_desc_put(struct zs_pool *pool, struct zspage *zp)
{
	struct zs_pagesrc *ps = &pool->pages;

	pthread_mutex_lock(&ps->lock);
	zs_list_add(&zp->node, &ps->free_descs);
	pthread_mutex_unlock(&ps->lock);
}

void zs_zspage_free_now(struct zs_pool *pool, struct zspage *zp)
{
	unsigned int n = zp->nr_pages;

#ifdef ZSMEM_ASAN
	for (unsigned int k = 0; k < n; k++)
		ASAN_UNPOISON_MEMORY_REGION(zs_page_addr(zp, k), ZS_PAGE_SIZE);
#endif
	zs_pages_put(pool, zp->page, n);
	zs_desc_put(pool, zp);
	zs_counter_sub(&pool->total_pages, n);
}

/* Releases (or queues, with ZS_POOL_DEFER_ZSPAGE_FREE) every zspage on list. */
void zs_zspage_release_list(struct zs_pool *pool, struct zs_list *list)
{
	struct zs_defer_release *d = &pool->defer;

	if (zs_list_empty(list))
		return;
	if (pool->flags & ZS_POOL_DEFER_ZSPAGE_FREE) {
		pthread_mutex_lock(&d->lock);
		while (!zs_list_empty(list)) {
			struct zs_list *n = list->next;

			zs_list_del(n);
			zs_list_add(n, d->queue.prev);
		}
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	while (!zs_list_empty(list)) {
		struct zs_list *n = list->next;

		zs_list_del(n);
		zs_zspage_free_now(pool, zs_container_of(n, struct zspage, node));
	}
}

void zs_zspage_release(struct zs_pool *pool, struct zspage *zp)
{
	struct zs_list list;

	zs_list_init(&list);
	zs_list_add(&zp->node, &list);
	zs_zspage_release_list(pool, &list);
}

static void *zs_defer_worker(void *arg)
{
	struct zs_pool *pool = arg;
	struct zs_defer_release *d = &pool->defer;
	struct zs_list batch;

	zs_list_init(&batch);
	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (zs_list_empty(&d->queue) && !d->stop)
			pthread_cond_wait(&d->cond, &d->lock);
		if (zs_list_empty(&d->queue))
			break;		/* stop requested and nothing left */
		/* Take the whole queue, release it without the lock. */
		batch.next = d->queue.next;
		batch.prev = d->queue.prev;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		zs_list_init(&d->queue);
		pthread_mutex_unlock(&d->lock);
		while (!zs_list_empty(&batch)) {
			struct zs_list *n = batch.next;

			zs_list_del(n);
			zs_zspage_free_now(pool, zs_container_of(n, struct zspage, node));
		}
		zs_pages_flush(pool);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int zs_defer_start(struct zs_pool *pool)
{
	struct zs_defer_release *d = &pool->defer;

	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	zs_list_init(&d->queue);
	d->stop = false;
	d->running = false;
	if (!(pool->flags & ZS_POOL_DEFER_ZSPAGE_FREE))
		return 0;
	if (zs_fault() || pthread_create(&d->thread, NULL, zs_defer_worker, pool))
		return -ENOMEM;
	d->running = true;
	return 0;
}

/* Joins the worker after it has released everything queued. */
void zs_defer_stop(struct zs_pool *pool)
{
	struct zs_defer_release *d = &pool->defer;

	if (d->running) {
		pthread_mutex_lock(&d->lock);
		d->stop = true;
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
		d->running = false;
	}
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
}
