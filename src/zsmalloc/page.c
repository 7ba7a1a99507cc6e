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
 * sorted and given back together, all contiguous runs in one process_madvise() call
 * where the kernel allows it, else one madvise per run - a madvise per emptied
 * zspage would cost more than the frees themselves. zs_compact() and the deferred
 * release thread flush the list when they finish, and so does zs_pages_flush().
 * Only one thread flushes at a time; others that find the list full wait for it.
 *
 * The free stack is kept roughly in address order (sorted when mostly unsorted), so
 * zspages built together get neighbouring pages and come back as long runs when they
 * are freed together: see zs_stack_sort().
 *
 * A zspage is built with all of its pages' addresses but populates them as its
 * objects reach them (elastic zspages, zs_internal.h): zs_pages_get() gives it one
 * page that may be resident (a dirty one: no page fault) and the rest from the
 * stack, which only holds pages untouched since their last madvise - address space,
 * no memory - and, taken together, mostly contiguous. So a zspage's pages come back
 * as long runs however its growth interleaved with other classes', and the pages it
 * never populated go straight back to the stack, with no madvise at all.
 *
 * With ZS_POOL_PREFAULT a thread keeps the dirty list stocked with pages it has
 * written once (ZS_PREFAULT_LOW..HIGH of them), so zspages grow into memory that is
 * already backed, as the kernel's do, and the allocating thread takes no page fault.
 * Why a thread and not MADV_POPULATE_WRITE in batches: on a VM with shadow paging
 * (measured here) populate costs ~1 us a page but the first access afterwards still
 * costs 7-13 us (the hypervisor fills its own tables), against 13-30 us for a plain
 * first write; only an access made earlier, by any thread of the process, removes it.
 * The thread pays those faults on another CPU; its pages are the stack's lowest (as
 * zs_pages_get would take them), handed out lowest first.
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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/thread.h"
#include "zs_internal.h"

static long zs_fault_countdown;	/* atomic */

void zs_fault_inject(long nth)
{
	zsm_store_relaxed(&zs_fault_countdown, nth);
}

bool zs_fault(void)
{
	long v = zsm_load_relaxed(&zs_fault_countdown);

	while (v > 0) {
		if (zsm_cas_weak_relaxed(&zs_fault_countdown, &v, v - 1))
			return v == 1;
	}
	return false;
}

int zs_pagesrc_init(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;
	unsigned int n;

	memset(ps, 0, sizeof(*ps));
	ps->pidfd = -1;
	pthread_mutex_init(&ps->lock, NULL);
	pthread_cond_init(&ps->flushed, NULL);
	for (n = 0; n <= ZS_MAX_CHAIN; n++)
		zsm_list_init(&ps->free_descs[n]);
	ps->dirty = zs_fault() ? NULL : malloc(3 * ZS_DIRTY_MAX * sizeof(uintptr_t));
	if (!ps->dirty)
		return -ENOMEM;
	ps->spare = ps->dirty + ZS_DIRTY_MAX;
	ps->sortbuf = ps->dirty + 2 * ZS_DIRTY_MAX;
	/* Optional (see zs_dontneed_iov): without it, one madvise per run. */
	ps->pid = getpid();
	ps->pidfd = (int)syscall(SYS_pidfd_open, ps->pid, 0);
	zsm_init(&ps->pidfd_ok, ps->pidfd >= 0);
	zsm_add_relaxed(&pool->meta_bytes, 3 * ZS_DIRTY_MAX * sizeof(uintptr_t));
	return 0;
}

void zs_pagesrc_destroy(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;

	zs_regions_unmap(&ps->regions);
	/* Descriptors live in the metadata blocks: zs_meta_destroy() unmaps them. */
	free(ps->stack);
	free(ps->dirty < ps->spare ? ps->dirty : ps->spare);
	if (ps->pidfd >= 0)
		close(ps->pidfd);
	pthread_cond_destroy(&ps->flushed);
	pthread_mutex_destroy(&ps->lock);
}

#define ZS_PUT_BATCH	(4 * ZS_MAX_CHAIN)	/* most pages zs_pages_put takes at once */

/* Called with ps->lock held. */
static int zs_region_add(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;
	size_t len = (size_t)ZS_REGION_PAGES * ZSM_PAGE_SIZE;
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
		zsm_add_relaxed(&pool->meta_bytes, (cap - ps->cap) * sizeof(*st));
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
	zsm_add_relaxed(&pool->meta_bytes, sizeof(*r));
	for (k = ZS_REGION_PAGES; k-- > 0;)
		ps->stack[ps->nr++] = (uintptr_t)addr + (uintptr_t)k * ZSM_PAGE_SIZE;
	return 0;
}

#define ZS_IOV_MAX	128	/* runs per process_madvise call */

/*
 * Gives the runs of iov back to the OS. One process_madvise() call for all of them
 * when the kernel accepts MADV_DONTNEED on our own pidfd (Linux 6.13 and later): a
 * madvise per run costs a syscall and a TLB flush each, which on short runs is most
 * of the price of freeing a page (measured: 1.4 us per isolated page with madvise,
 * 0.33 us with process_madvise). Elsewhere, and in a forked child (the pidfd names
 * the parent), one madvise per run.
 */
static void zs_dontneed_iov(struct zs_pagesrc *ps, struct iovec *iov, size_t niov)
{
	size_t k, done = 0;

	if (ps->pidfd >= 0 && zsm_load_relaxed(&ps->pidfd_ok) &&
	    getpid() == ps->pid) {
		while (done < niov) {
			long r = syscall(SYS_process_madvise, ps->pidfd, iov + done, niov - done,
					 MADV_DONTNEED, 0);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				/* Not supported here: madvise from now on. */
				zsm_store_relaxed(&ps->pidfd_ok, false);
				break;
			}
			/* r bytes were advised: skip the runs done, trim a partial one. */
			while (done < niov && (size_t)r >= iov[done].iov_len)
				r -= (long)iov[done++].iov_len;
			if (done < niov && r) {
				iov[done].iov_base = (char *)iov[done].iov_base + r;
				iov[done].iov_len -= (size_t)r;
			}
		}
	}
	for (k = done; k < niov; k++)
		madvise(iov[k].iov_base, iov[k].iov_len, MADV_DONTNEED);
}

static int zs_cmp_page(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static int zs_cmp_page_desc(const void *a, const void *b)
{
	return zs_cmp_page(b, a);
}

/*
 * Why the free stack is kept in address order: freeing returns pages with one madvise
 * per contiguous run, and a syscall plus TLB flush costs as much as zapping several
 * pages. Pages that were allocated together (a process's pages stored in order) are
 * freed together (its exit), so if allocation hands out ascending addresses the frees
 * come back as long runs. A plain LIFO stack scrambles the addresses within a few
 * fill/free cycles, and then nearly every page costs its own madvise.
 * Descending order: the top of the stack, popped first, is the lowest address.
 * Called with ps->lock held: a sort of the whole stack holds it for a few ms per
 * 100k free pages, and happens only after the stack has seen sorted/2 pushes.
 */
static void zs_stack_sort(struct zs_pagesrc *ps)
{
	qsort(ps->stack, ps->nr, sizeof(*ps->stack), zs_cmp_page_desc);
	ps->sorted = ps->nr;
}

/*
 * After a take from the dirty list, with ps->lock held: wake the prefault thread when
 * the list runs low. pf_wanted keeps it to one signal (a futex call) per refill.
 */
static void zs_prefault_kick(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;

	if (ps->pf_running && ps->nr_dirty < ZS_PREFAULT_LOW && !ps->pf_wanted) {
		ps->pf_wanted = true;
		pthread_cond_signal(&ps->pf_cond);
	}
}

/*
 * n pages for a new zspage: pages[0] may be a still-resident freed page, the others
 * come from the stack of clean pages only (see the top of this file).
 */
int zs_pages_get(struct zs_pool *pool, uintptr_t *pages, unsigned int n)
{
	struct zs_pagesrc *ps = &pool->pages;
	unsigned int k = 0;

	pthread_mutex_lock(&ps->lock);
	if (ps->nr + !!ps->nr_dirty < n && zs_region_add(pool)) {
		pthread_mutex_unlock(&ps->lock);
		return -ENOMEM;
	}
	/*
	 * Mostly unsorted after a lot of churn: sort, so that zspages built next get
	 * ascending, contiguous pages (amortised: at least sorted/2 pushes per sort).
	 */
	if (ps->nr - ps->sorted > ps->sorted / 2 + ZS_REGION_PAGES)
		zs_stack_sort(ps);
	/* A still-resident page first: no page fault, likely in cache. */
	if (ps->nr_dirty)
		pages[k++] = ps->dirty[--ps->nr_dirty];
	for (; k < n; k++)
		pages[k] = ps->stack[--ps->nr];
	if (ps->sorted > ps->nr)
		ps->sorted = ps->nr;
	zs_prefault_kick(pool);
	pthread_mutex_unlock(&ps->lock);
	return 0;
}

/*
 * Sorts page addresses (low 12 bits clear). With tmp (room for n), an LSD radix sort
 * on the bits that differ, 8 at a time: a flush sorts up to ZS_DIRTY_MAX pages, and
 * qsort's comparator calls cost as much as the rest of freeing a page's objects.
 */
static void zs_sort_pages(uintptr_t *a, size_t n, uintptr_t *tmp)
{
	uintptr_t diff = 0, *src = a, *dst = tmp, *t;
	unsigned int shift, bits;
	size_t i, j;

	for (i = 1; i < n; i++)
		diff |= a[i] ^ a[0];
	if (!diff)
		return;
	if (!tmp || n <= 32) {
		for (i = 1; i < n; i++) {
			uintptr_t x = a[i];

			for (j = i; j > 0 && a[j - 1] > x; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
		return;
	}
	bits = 64 - (unsigned int)__builtin_clzl(diff);
	for (shift = ZSM_PAGE_SHIFT; shift < bits; shift += 8) {
		size_t pos[256] = { 0 }, sum = 0, c;

		for (i = 0; i < n; i++)
			pos[(src[i] >> shift) & 255]++;
		for (i = 0; i < 256; i++) {
			c = pos[i];
			pos[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[pos[(src[i] >> shift) & 255]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

/* Gives pages[0..n) back to the OS; tmp: room for n, or NULL. */
static void zs_pages_dontneed(struct zs_pagesrc *ps, uintptr_t *pages, size_t n,
			      uintptr_t *tmp)
{
	struct iovec iov[ZS_IOV_MAX];
	size_t k, start = 0, niov = 0;

	zs_sort_pages(pages, n, tmp);
	for (k = 1; k <= n; k++) {
		if (k < n && pages[k] == pages[start] + (k - start) * ZSM_PAGE_SIZE)
			continue;
		iov[niov].iov_base = (void *)pages[start];
		iov[niov++].iov_len = (k - start) * ZSM_PAGE_SIZE;
		start = k;
		if (niov == ZS_IOV_MAX || k == n) {
			zs_dontneed_iov(ps, iov, niov);
			niov = 0;
		}
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

	zs_pages_dontneed(ps, batch, n, ps->sortbuf);	/* one flusher at a time */

	pthread_mutex_lock(&ps->lock);
	for (k = n; k-- > 0;)	/* popped lowest address first */
		ps->stack[ps->nr++] = batch[k];
	ps->flushing = false;
	pthread_cond_broadcast(&ps->flushed);
	pthread_mutex_unlock(&ps->lock);
}

/*
 * pages[] (n <= ZS_PUT_BATCH) may carry first-object offsets in their low bits.
 *
 * When the dirty list is full while another thread flushes, we wait for that flush
 * instead of giving our few pages back ourselves: with two threads of the process on
 * two CPUs every madvise call sends a TLB-shootdown IPI, and a call per zspage from
 * each freeing thread cost ten times more than the frees (measured with two drain
 * workers). The wait is one flush long, and no allocator lock is held by callers.
 */
void zs_pages_put(struct zs_pool *pool, const uintptr_t *pages, unsigned int n)
{
	struct zs_pagesrc *ps = &pool->pages;
	unsigned int k;
	bool flush;

	pthread_mutex_lock(&ps->lock);
	while (ps->nr_dirty + n > ZS_DIRTY_MAX) {
		if (ps->flushing) {
			pthread_cond_wait(&ps->flushed, &ps->lock);
		} else {
			pthread_mutex_unlock(&ps->lock);
			zs_pages_flush(pool);
			pthread_mutex_lock(&ps->lock);
		}
	}
	for (k = n; k-- > 0;)
		ps->dirty[ps->nr_dirty++] = pages[k] & ~(uintptr_t)ZSM_PAGE_MASK;
	flush = ps->nr_dirty > ZS_DIRTY_MAX - ZS_PUT_BATCH;
	pthread_mutex_unlock(&ps->lock);
	if (flush)
		zs_pages_flush(pool);
}

/*
 * A zspage is about to populate the reserved pages[0..n): where freed pages are still
 * resident, use those instead (no page fault, and they need no madvise later) and
 * give the reserved ones back to the stack. Keeps each first-object offset. Under
 * churn that trades a zspage's contiguity for fewer faults; when nothing was freed
 * lately (a fill), the reserved pages stay and the zspage stays contiguous.
 */
void zs_pages_prefer_dirty(struct zs_pool *pool, uintptr_t *pages, unsigned int n)
{
	struct zs_pagesrc *ps = &pool->pages;
	unsigned int k;

	pthread_mutex_lock(&ps->lock);
	for (k = 0; k < n && ps->nr_dirty; k++) {
		ps->stack[ps->nr++] = pages[k] & ~(uintptr_t)ZSM_PAGE_MASK;
		pages[k] = ps->dirty[--ps->nr_dirty] | (pages[k] & ZSM_PAGE_MASK);
	}
	zs_prefault_kick(pool);
	pthread_mutex_unlock(&ps->lock);
}

/* Pages never populated since they left the stack go back to it as they are. */
static void zs_pages_put_clean(struct zs_pool *pool, const uintptr_t *pages, unsigned int n)
{
	struct zs_pagesrc *ps = &pool->pages;
	unsigned int k;

	if (!n)
		return;
	pthread_mutex_lock(&ps->lock);
	for (k = n; k-- > 0;)	/* the lowest address on top */
		ps->stack[ps->nr++] = pages[k] & ~(uintptr_t)ZSM_PAGE_MASK;
	pthread_mutex_unlock(&ps->lock);
}

/*
 * Makes pages[0..n) clean again at once (they stay with their zspage, which may
 * populate them again: they must hold no memory before the caller lets it).
 */
void zs_pages_clean(struct zs_pool *pool, const uintptr_t *pages, unsigned int n)
{
	uintptr_t addr[ZS_MAX_CHAIN];	/* without the offset bits; sorted in place */
	unsigned int k;

	for (k = 0; k < n; k++)
		addr[k] = pages[k] & ~(uintptr_t)ZSM_PAGE_MASK;
	zs_pages_dontneed(&pool->pages, addr, n, NULL);
}

/*
 * A descriptor for a zspage of npages pages: a released one of that size, else one
 * carved from the metadata blocks (meta.c). Sized per page count, so a 1-page zspage
 * (the huge class) costs 48 bytes and not the chain's longest.
 */
struct zspage *zs_desc_get(struct zs_pool *pool, unsigned int npages)
{
	struct zs_pagesrc *ps = &pool->pages;
	size_t size = zs_desc_size(npages);
	struct zspage *zp = NULL;

	pthread_mutex_lock(&ps->lock);
	if (!zsm_list_empty(&ps->free_descs[npages])) {
		zp = zsm_container_of(ps->free_descs[npages].next, struct zspage, node);
		zsm_list_del(&zp->node);
	} else if (!zs_fault()) {
		zp = zs_meta_carve(pool, &ps->desc_cur, size, ZS_DESC_ALIGN);
	}
	pthread_mutex_unlock(&ps->lock);
	if (!zp || zp->nr_held)		/* recycled (nr_held == npages): all set up */
		return zp;
	memset(zp, 0, size);
	zsm_init(&zp->lock, 0);	/* the only initialisation the lock ever gets */
	zsm_list_init(&zp->node);
	zp->nr_held = (uint8_t)npages;	/* its size, for zs_desc_put */
	zsm_add_relaxed(&pool->meta_bytes, size);
	zsm_add_relaxed(&ps->desc_bytes, size);
	return zp;
}

/* zp->nr_held names its size: its free list. */
void zs_desc_put(struct zs_pool *pool, struct zspage *zp)
{
	struct zs_pagesrc *ps = &pool->pages;

	pthread_mutex_lock(&ps->lock);
	zsm_list_add(&zp->node, &ps->free_descs[zp->nr_held]);
	pthread_mutex_unlock(&ps->lock);
}

/*
 * Gives back every zspage on list: populated pages to the dirty list, reserved ones
 * to the stack, descriptors to the free list. A batch free empties many zspages at
 * once, and taking the page source lock twice per zspage (pages, then descriptor)
 * would cost more than the frees that emptied it. Pages go back ZS_PUT_BATCH at a time,
 * descriptors under one lock acquisition, the page counter in one update.
 */
/* Appends zp's populated pages to buf and its reserved ones to clean. */
static void zs_zspage_take_pages(struct zspage *zp, uintptr_t *buf, unsigned int *nbuf,
				 uintptr_t *clean, unsigned int *nclean)
{
	unsigned int k;

	for (k = 0; k < zp->nr_held; k++) {
#ifdef ZSMEM_ASAN
		ASAN_UNPOISON_MEMORY_REGION(zs_page_addr(zp, k), ZSM_PAGE_SIZE);
#endif
		if (k < zp->nr_pages)
			buf[(*nbuf)++] = zp->page[k];
		else
			clean[(*nclean)++] = zp->page[k];
	}
}

static void zs_zspage_free_list(struct zs_pool *pool, struct zsm_list *list)
{
	struct zs_pagesrc *ps = &pool->pages;
	uintptr_t buf[ZS_PUT_BATCH], clean[ZS_PUT_BATCH];
	unsigned long total = 0;
	unsigned int nbuf = 0, nclean = 0;
	struct zsm_list *n;

	for (n = list->next; n != list; n = n->next) {
		struct zspage *zp = zsm_container_of(n, struct zspage, node);

		if (nbuf + zp->nr_pages > ZS_PUT_BATCH) {
			zs_pages_put(pool, buf, nbuf);
			nbuf = 0;
		}
		if (nclean + zp->nr_held - zp->nr_pages > ZS_PUT_BATCH) {
			zs_pages_put_clean(pool, clean, nclean);
			nclean = 0;
		}
		zs_zspage_take_pages(zp, buf, &nbuf, clean, &nclean);
		total += zp->nr_pages;
	}
	if (nbuf)
		zs_pages_put(pool, buf, nbuf);
	zs_pages_put_clean(pool, clean, nclean);
	/* Every descriptor onto the free list, under one lock acquisition. */
	pthread_mutex_lock(&ps->lock);
	while (!zsm_list_empty(list)) {
		n = list->next;
		zsm_list_del(n);
		zsm_list_add(n, &ps->free_descs[zsm_container_of(n, struct zspage,
								 node)->nr_held]);
	}
	pthread_mutex_unlock(&ps->lock);
	zsm_sub_relaxed(&pool->total_pages, total);
}

/* Releases (or queues, with ZS_POOL_DEFER_ZSPAGE_FREE) every zspage on list. */
void zs_zspage_release_list(struct zs_pool *pool, struct zsm_list *list)
{
	if (!(pool->flags & ZS_POOL_DEFER_ZSPAGE_FREE)) {
		if (!zsm_list_empty(list))
			zs_zspage_free_list(pool, list);
		return;
	}
	while (!zsm_list_empty(list)) {
		struct zsm_list *n = list->next;

		zsm_list_del(n);
		zs_zspage_release(pool, zsm_container_of(n, struct zspage, node));
	}
}

/*
 * A fork child has no release thread: the zspages the parent's thread had queued at
 * fork time are released here (from the child's next zspage release, or zs_compact)
 * instead of waiting for zs_destroy_pool. Callers hold no class lock.
 */
void zs_defer_release_orphans(struct zs_pool *pool)
{
	struct zs_defer_release *d = &pool->defer;
	struct zsm_list orphans;

	if (!(pool->flags & ZS_POOL_DEFER_ZSPAGE_FREE))
		return;
	pthread_mutex_lock(&d->lock);
	if (d->running)
		zsm_list_init(&orphans);
	else
		zsm_list_splice_init(&d->queue, &orphans);
	pthread_mutex_unlock(&d->lock);
	if (!zsm_list_empty(&orphans)) {
		zs_zspage_free_list(pool, &orphans);
		zs_pages_flush(pool);
	}
}

/* One zspage (zs_free's case): page[] already lists populated, then reserved pages. */
void zs_zspage_release(struct zs_pool *pool, struct zspage *zp)
{
	struct zs_defer_release *d = &pool->defer;

	if (pool->flags & ZS_POOL_DEFER_ZSPAGE_FREE) {
		pthread_mutex_lock(&d->lock);
		if (d->running) {
			zsm_list_add(&zp->node, d->queue.prev);
			pthread_cond_signal(&d->cond);
			pthread_mutex_unlock(&d->lock);
			return;
		}
		/* No thread (a fork child): release it here, as without the flag, and with it
		 * what the parent's thread had queued and not released at fork time. */
		pthread_mutex_unlock(&d->lock);
		zs_defer_release_orphans(pool);
	}
#ifdef ZSMEM_ASAN
	for (unsigned int k = 0; k < zp->nr_held; k++)
		ASAN_UNPOISON_MEMORY_REGION(zs_page_addr(zp, k), ZSM_PAGE_SIZE);
#endif
	zs_pages_put(pool, zp->page, zp->nr_pages);
	zs_pages_put_clean(pool, zp->page + zp->nr_pages, zp->nr_held - zp->nr_pages);
	zsm_sub_relaxed(&pool->total_pages, zp->nr_pages);
	zs_desc_put(pool, zp);	/* last: another thread may reuse it at once */
}

/*
 * Faults in pages[0..n) (ascending, mostly contiguous): MADV_POPULATE_WRITE per run
 * (the guest kernel's part, ~1 us a page in a batch; fails harmlessly before 5.14),
 * then one write per page (the hypervisor's part under shadow paging, which populate
 * leaves to the first access): measured 9-15 us a page together, 13-34 us for the
 * write alone.
 */
static void zs_prefault_pages(const uintptr_t *pages, unsigned int n)
{
	unsigned int k, start = 0;

	for (k = 1; k <= n; k++) {
		if (k < n && pages[k] == pages[k - 1] + ZSM_PAGE_SIZE)
			continue;
		madvise((void *)pages[start], (size_t)(k - start) * ZSM_PAGE_SIZE,
			MADV_POPULATE_WRITE);
		start = k;
	}
	for (k = 0; k < n; k++)
		*(volatile char *)pages[k] = 0;
}

/*
 * The prefault thread (ZS_POOL_PREFAULT). It takes the pages it fills from the top
 * of the stack under the lock, writes each once without it (the pages are its own
 * until they are on the dirty list, so the write races with nobody), and puts them
 * on the dirty list like freed pages: the mutex orders its writes before any use.
 * pf_wanted is cleared when a refill starts, so a take during the writes asks again.
 */
static void *zs_prefault_worker(void *arg)
{
	struct zs_pool *pool = arg;
	struct zs_pagesrc *ps = &pool->pages;
	uintptr_t batch[ZS_PREFAULT_HIGH];

	pthread_mutex_lock(&ps->lock);
	for (;;) {
		unsigned int n = 0, k;

		while (!ps->pf_stop && !ps->pf_wanted)
			pthread_cond_wait(&ps->pf_cond, &ps->lock);
		if (ps->pf_stop)
			break;
		ps->pf_wanted = false;
		if (ps->nr_dirty < ZS_PREFAULT_HIGH)
			n = ZS_PREFAULT_HIGH - (unsigned int)ps->nr_dirty;
		/* Out of memory: leave it to the allocating thread, which reports it. */
		if (n && ps->nr < n && zs_region_add(pool))
			n = 0;
		for (k = 0; k < n; k++)
			batch[k] = ps->stack[--ps->nr];
		if (ps->sorted > ps->nr)
			ps->sorted = ps->nr;
		if (!n)
			continue;
		pthread_mutex_unlock(&ps->lock);
		zs_prefault_pages(batch, n);
		zs_pages_put(pool, batch, n);		/* batch[0], the lowest, taken first */
		pthread_mutex_lock(&ps->lock);
	}
	pthread_mutex_unlock(&ps->lock);
	return NULL;
}

/*
 * fork() with a prefault thread: the thread does not exist in the child, and it may
 * hold ps->lock at the moment of the fork. The handlers take every such pool's lock
 * before the fork and release it after on both sides (the pool is then consistent in
 * the child), and tell the child's pools that their thread is gone. Lock order: the
 * list lock, then each ps->lock; nothing takes the list lock under a ps->lock.
 */
static pthread_mutex_t zs_pf_pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zsm_list zs_pf_pools = { &zs_pf_pools, &zs_pf_pools };

static void zs_pf_prepare(void)
{
	struct zsm_list *n;

	pthread_mutex_lock(&zs_pf_pools_lock);
	for (n = zs_pf_pools.next; n != &zs_pf_pools; n = n->next)
		pthread_mutex_lock(&zsm_container_of(n, struct zs_pagesrc, pf_node)->lock);
}

static void zs_pf_parent(void)
{
	struct zsm_list *n;

	for (n = zs_pf_pools.next; n != &zs_pf_pools; n = n->next)
		pthread_mutex_unlock(&zsm_container_of(n, struct zs_pagesrc, pf_node)->lock);
	pthread_mutex_unlock(&zs_pf_pools_lock);
}

static void zs_pf_child(void)
{
	struct zsm_list *n;

	for (n = zs_pf_pools.next; n != &zs_pf_pools; n = n->next) {
		struct zs_pagesrc *ps = zsm_container_of(n, struct zs_pagesrc, pf_node);

		/* The allocating thread faults its pages itself again. */
		ps->pf_running = false;
		ps->pf_forked = true;
		pthread_mutex_unlock(&ps->lock);
	}
	pthread_mutex_unlock(&zs_pf_pools_lock);
}

/*
 * Registered before every other fork handler of the library (zs_fork_register: 201,
 * deferred: 202, zswap: 203), so its prepare runs last: taking ps->lock first would
 * deadlock against a drain worker or the zspage-free thread that the later prepares
 * wait for while it frees pages under that lock (regress_fork_prepare_deadlock_prefault).
 */
__attribute__((constructor(200))) static void zs_pf_register_atfork(void)
{
	pthread_atfork(zs_pf_prepare, zs_pf_parent, zs_pf_child);
}

int zs_prefault_start(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;

	pthread_cond_init(&ps->pf_cond, NULL);
	zsm_list_init(&ps->pf_node);
	if (!(pool->flags & ZS_POOL_PREFAULT))
		return 0;
	if (zs_fault() || zs_thread_create(&ps->pf_thread, zs_prefault_worker, pool))
		return -ENOMEM;
	ps->pf_running = true;	/* before any zs_malloc: the pool is not published yet */
	pthread_mutex_lock(&zs_pf_pools_lock);
	zsm_list_add(&ps->pf_node, &zs_pf_pools);
	pthread_mutex_unlock(&zs_pf_pools_lock);
	return 0;
}

/* Joins the prefault thread; in a forked child there is none to join. */
void zs_prefault_stop(struct zs_pool *pool)
{
	struct zs_pagesrc *ps = &pool->pages;
	bool join;

	pthread_mutex_lock(&zs_pf_pools_lock);
	zsm_list_del(&ps->pf_node);
	pthread_mutex_unlock(&zs_pf_pools_lock);
	pthread_mutex_lock(&ps->lock);
	join = ps->pf_running;
	ps->pf_stop = true;
	ps->pf_running = false;		/* no more kicks */
	pthread_cond_signal(&ps->pf_cond);
	pthread_mutex_unlock(&ps->lock);
	if (join)
		pthread_join(ps->pf_thread, NULL);
	/* In a child the cond still counts the parent's thread as a waiter: leave it. */
	if (!ps->pf_forked)
		pthread_cond_destroy(&ps->pf_cond);
}

static void *zs_defer_worker(void *arg)
{
	struct zs_pool *pool = arg;
	struct zs_defer_release *d = &pool->defer;
	struct zsm_list batch;

	zsm_list_init(&batch);
	pthread_mutex_lock(&d->lock);
	for (;;) {
		/* While a fork is being prepared, start no batch (zs_fork_prepare). */
		while ((zsm_list_empty(&d->queue) || d->fork_pending) && !d->stop)
			pthread_cond_wait(&d->cond, &d->lock);
		if (zsm_list_empty(&d->queue))
			break;		/* stop requested and nothing left */
		/* Take the whole queue, release it without the lock. */
		zsm_list_splice_init(&d->queue, &batch);
		d->busy = true;
		pthread_mutex_unlock(&d->lock);
		zs_zspage_free_list(pool, &batch);
		zs_pages_flush(pool);
		pthread_mutex_lock(&d->lock);
		d->busy = false;
		pthread_cond_broadcast(&d->idle_cond);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* fork(): pools with a zspage-free thread                                             */

/*
 * zs_defer_all_lock is taken before any pool's defer lock; the prepare handler holds
 * both across fork(). The thread is parked between batches, so the child inherits no
 * half-released zspage; the child has no thread and releases zspages inline (its
 * queue, inherited, is released by zs_destroy_pool).
 */
static pthread_mutex_t zs_defer_all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zs_pool *zs_defer_all;

static void zs_defer_register(struct zs_pool *pool)
{
	pthread_mutex_lock(&zs_defer_all_lock);
	pool->defer.all_prev = NULL;
	pool->defer.all_next = zs_defer_all;
	if (zs_defer_all)
		zs_defer_all->defer.all_prev = pool;
	zs_defer_all = pool;
	pthread_mutex_unlock(&zs_defer_all_lock);
}

static void zs_defer_unregister(struct zs_pool *pool)
{
	struct zs_defer_release *d = &pool->defer;

	pthread_mutex_lock(&zs_defer_all_lock);
	if (d->all_prev)
		d->all_prev->defer.all_next = d->all_next;
	else if (zs_defer_all == pool)
		zs_defer_all = d->all_next;
	if (d->all_next)
		d->all_next->defer.all_prev = d->all_prev;
	d->all_next = d->all_prev = NULL;
	pthread_mutex_unlock(&zs_defer_all_lock);
}

static void zs_fork_prepare(void)
{
	pthread_mutex_lock(&zs_defer_all_lock);
	for (struct zs_pool *p = zs_defer_all; p; p = p->defer.all_next) {
		struct zs_defer_release *d = &p->defer;

		pthread_mutex_lock(&d->lock);
		d->fork_pending = true;
		while (d->busy)
			pthread_cond_wait(&d->idle_cond, &d->lock);
	}
}

static void zs_fork_parent(void)
{
	for (struct zs_pool *p = zs_defer_all; p; p = p->defer.all_next) {
		struct zs_defer_release *d = &p->defer;

		d->fork_pending = false;
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_unlock(&zs_defer_all_lock);
}

static void zs_fork_child(void)
{
	for (struct zs_pool *p = zs_defer_all; p; p = p->defer.all_next) {
		struct zs_defer_release *d = &p->defer;

		d->fork_pending = false;
		d->running = false;
		/* Their waiter (the thread) does not exist here. */
		pthread_cond_init(&d->cond, NULL);
		pthread_cond_init(&d->idle_cond, NULL);
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_unlock(&zs_defer_all_lock);
}

/* First of the library's fork handlers to register (see deferred.c: 202, zswap: 203),
 * so its prepare runs last, once the deferred drains that release zspages are done. */
__attribute__((constructor(201))) static void zs_fork_register(void)
{
	pthread_atfork(zs_fork_prepare, zs_fork_parent, zs_fork_child);
}

int zs_defer_start(struct zs_pool *pool)
{
	struct zs_defer_release *d = &pool->defer;

	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	pthread_cond_init(&d->idle_cond, NULL);
	zsm_list_init(&d->queue);
	d->stop = false;
	d->running = false;
	d->busy = false;
	d->fork_pending = false;
	if (!(pool->flags & ZS_POOL_DEFER_ZSPAGE_FREE))
		return 0;
	if (zs_fault() || zs_thread_create(&d->thread, zs_defer_worker, pool))
		return -ENOMEM;
	d->running = true;
	zs_defer_register(pool);
	return 0;
}

/* Joins the worker after it has released everything queued. */
void zs_defer_stop(struct zs_pool *pool)
{
	struct zs_defer_release *d = &pool->defer;

	if (pool->flags & ZS_POOL_DEFER_ZSPAGE_FREE)
		zs_defer_unregister(pool);
	if (d->running) {
		pthread_mutex_lock(&d->lock);
		d->stop = true;
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
		d->running = false;
	} else {
		zs_defer_release_orphans(pool);	/* a fork child */
	}
	pthread_cond_destroy(&d->cond);
	pthread_cond_destroy(&d->idle_cond);
	pthread_mutex_destroy(&d->lock);
}
