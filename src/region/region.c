// SPDX-License-Identifier: MIT
/*
 * The userfaultfd region: creation, teardown, statistics, and the primitives shared by
 * the handler and the evictors (page load, uffd ioctls with their EAGAIN rule).
 *
 * Design notes
 *  - Storage: a private zsmalloc pool + zcomp + same-filled detection, not a zswap
 *    instance (the region's page table is already the index; no slot table, LRU or
 *    writeback needed). Every compressed copy leaves through _zsr_free_handle(), i.e.
 *    zs_free_deferred() when deferred_free is set.
 *  - Safe eviction needs synchronous write-protect faults: an evictor write-protects,
 *    compresses, then DONTNEEDs, and a writer that hits the protection waits in the
 *    kernel until the page is gone, then refaults as a missing fault and gets the
 *    compressed copy. WP_ASYNC (which would give exact write tracking through
 *    PAGEMAP_SCAN) resolves such writes in the kernel without waiting, so a write could
 *    land between compression and DONTNEED and be lost; one userfaultfd cannot have both.
 *    Hence no write tracking: victims come from a CLOCK over fault-in events (evict.c).
 *  - fork: the region is MADV_DONTFORK (no EVENT_FORK): a child has no mapping there
 *    rather than silently zero-filled memory, and the parent pays nothing at fork.
 *  - UFFDIO_COPY / ZEROPAGE / WRITEPROTECT fail with EAGAIN while a non-cooperative
 *    event (unmap, remove, remap) is pending: the handler then reads the messages and
 *    retries later, an evictor yields and retries (the handler never waits for an
 *    evictor, so it always makes progress).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/thread.h"
#include "region_internal.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* ---------------------------------------------------------------------------------- */
/* Create / destroy                                                                    */

/*
 * Full mode first (syscall, then /dev/userfaultfd), user-mode-only last. -1 with
 * errno EPERM when none is available.
 */
static int open_uffd(bool *user_only)
{
	int flags = O_CLOEXEC | O_NONBLOCK;
	int fd, dev;

	*user_only = false;
	fd = (int)syscall(SYS_userfaultfd, flags);
	if (fd >= 0)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	fd = (int)syscall(SYS_userfaultfd, flags | UFFD_USER_MODE_ONLY);
	if (fd >= 0) {
		*user_only = true;
		return fd;
	}
	errno = EPERM;
	return -1;
}

/* Stops and joins the first n handler threads, then frees the handler's state. */
static void stop_handlers(struct zsr *r, unsigned n)
{
	atomic_store_explicit(&r->handler_stop, true, memory_order_relaxed);
	_zsr_kick_handler(r);	/* every thread's epoll set sees the eventfd's edge */
	for (unsigned i = 0; i < n; i++)
		pthread_join(r->ht[i].thread, NULL);
	_zsr_handlers_fini(r);
}

ZSR_API struct zsr *zsr_create(const struct zsr_config *cfg)
{
	struct uffdio_api api;
	struct uffdio_register reg;
	struct zsr *r;
	size_t size;
	uint64_t need_ioctls;
	unsigned started;
	int err;

	if (!cfg || cfg->size == 0 || cfg->size > SIZE_MAX - ZSR_PAGE) {
		errno = EINVAL;
		return NULL;
	}
	if (cfg->compressor && !zcomp_known(cfg->compressor)) {
		errno = EINVAL;
		return NULL;
	}
	size = (cfg->size + ZSR_PAGE - 1) & ~(ZSR_PAGE - 1);
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->uffd = r->efd = -1;
	r->size = size;
	r->nr_pages = size / ZSR_PAGE;
	r->deferred = cfg->deferred_free;
	r->map_ahead = cfg->map_ahead;
	if (cfg->max_resident) {
		r->cap = cfg->max_resident / ZSR_PAGE;
		if (r->cap < ZSR_MIN_CAP)
			r->cap = ZSR_MIN_CAP;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->reclaim_cv, NULL);
	pthread_cond_init(&r->events_cv, NULL);
	pthread_cond_init(&r->fill_cv, NULL);

	err = ENOMEM;
	r->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->base == MAP_FAILED) {
		r->base = NULL;
		goto fail;
	}
	/* 4 KiB granularity for faults and eviction; no copy into a fork child. */
	(void)madvise(r->base, size, MADV_NOHUGEPAGE);
	if (madvise(r->base, size, MADV_DONTFORK) != 0)
		goto fail;
	r->pages = mmap(NULL, r->nr_pages * sizeof(*r->pages), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r->pages == MAP_FAILED) {
		r->pages = NULL;
		goto fail;
	}
	(void)madvise(r->pages, r->nr_pages * sizeof(*r->pages), MADV_DONTFORK);

	r->comp = zcomp_create(cfg->compressor ? cfg->compressor : "lz4", 0);
	if (!r->comp) {
		err = errno == EINVAL ? EINVAL : ENOMEM;
		goto fail;
	}
	r->pool = zs_create_pool("zsr");
	if (!r->pool)
		goto fail;
	r->huge_size = zs_huge_class_size(r->pool);
	if (r->deferred && zs_pool_enable_deferred_handles(r->pool, true, NULL) != 0)
		goto fail;

	err = EPERM;
	r->uffd = open_uffd(&r->user_mode_only);
	if (r->uffd < 0)
		goto fail;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_EVENT_REMOVE |
		       UFFD_FEATURE_EVENT_UNMAP | UFFD_FEATURE_EVENT_REMAP;
	if (ioctl(r->uffd, UFFDIO_API, &api) != 0)
		goto fail;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)r->base;
	reg.range.len = size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP;
	if (ioctl(r->uffd, UFFDIO_REGISTER, &reg) != 0)
		goto fail;
	need_ioctls = (1ull << _UFFDIO_COPY) | (1ull << _UFFDIO_ZEROPAGE) |
		      (1ull << _UFFDIO_WAKE) | (1ull << _UFFDIO_WRITEPROTECT);
	if ((reg.ioctls & need_ioctls) != need_ioctls)
		goto fail;

	err = ENOMEM;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0)
		goto fail;
	if (_zsr_handlers_init(r) < 0) {
		err = errno;
		goto fail;
	}
	for (started = 0; started < r->nr_handlers; started++)
		if (zs_thread_create(&r->ht[started].thread, _zsr_handler_main, &r->ht[started]))
			goto stop_handlers;
	if (r->cap) {
		if (zs_thread_create(&r->reclaimer, _zsr_reclaimer_main, r) != 0)
			goto stop_handlers;
		r->have_reclaimer = true;
	}
	return r;

stop_handlers:
	stop_handlers(r, started);

fail:
	if (r->efd >= 0)
		close(r->efd);
	if (r->uffd >= 0)
		close(r->uffd);
	if (r->pool)
		zs_destroy_pool(r->pool);
	if (r->comp)
		zcomp_destroy(r->comp);
	if (r->pages)
		munmap(r->pages, r->nr_pages * sizeof(*r->pages));
	if (r->base)
		munmap(r->base, size);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->reclaim_cv);
	pthread_cond_destroy(&r->events_cv);
	pthread_cond_destroy(&r->fill_cv);
	free(r);
	errno = err;
	return NULL;
}

ZSR_API void *zsr_base(struct zsr *r)
{
	return r ? r->base : NULL;
}

ZSR_API long zsr_reclaim(struct zsr *r, size_t bytes)
{
	size_t want;

	if (!r)
		return -EINVAL;
	want = bytes / ZSR_PAGE;
	if (want == 0)
		return 0;
	return _zsr_evict(r, want);
}

ZSR_API void zsr_get_stats(struct zsr *r, struct zsr_stats *st)
{
	uint64_t g;

	memset(st, 0, sizeof(*st));
	if (!r)
		return;
	/* Reflect every event read so far: a munmap or DONTNEED returns once its event
	 * is read, the handler drops the copies just after. */
	g = atomic_load_explicit(&r->read_gen, memory_order_relaxed);
	pthread_mutex_lock(&r->lock);
	while (r->done_gen < g && !atomic_load_explicit(&r->handler_stop, memory_order_relaxed))
		pthread_cond_wait(&r->events_cv, &r->lock);
	st->resident_pages = r->nr_resident;
	st->evicted_pages = r->nr_stored + r->nr_same;
	st->faults = r->faults;
	st->stored_pages = r->nr_stored;
	st->compr_bytes = r->compr_bytes;
	st->same_pages = r->nr_same;
	st->refaults = r->refaults;
	st->readahead_pages = r->readahead;
	st->evictions = r->evictions;
	st->huge_pages = r->nr_huge;
	st->dropped_pages = r->dropped;
	st->throttled_faults = r->throttled;
	pthread_mutex_unlock(&r->lock);
	st->max_resident_pages = r->cap;
	st->user_mode_only = r->user_mode_only;
	st->pool_pages = zs_get_total_pages(r->pool);
}

/* ---------------------------------------------------------------------------------- */
/* Release of destroyed regions' pools                                                 */

static pthread_mutex_t rel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rel_cv = PTHREAD_COND_INITIALIZER;
static unsigned long rel_pending;	/* teardowns in flight, under rel_lock */

/* Drains the deferred frees (zs_destroy_pool flushes first), then returns the pool. */
static void teardown(struct zsr *r)
{
	zs_destroy_pool(r->pool);
	zcomp_destroy(r->comp);
	munmap(r->pages, r->nr_pages * sizeof(*r->pages));
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->reclaim_cv);
	pthread_cond_destroy(&r->events_cv);
	pthread_cond_destroy(&r->fill_cv);
	free(r->moves);
	free(r);
}

static void *reaper_main(void *arg)
{
	teardown(arg);
	pthread_mutex_lock(&rel_lock);
	rel_pending--;
	pthread_cond_broadcast(&rel_cv);
	pthread_mutex_unlock(&rel_lock);
	return NULL;
}

ZSR_API void zsr_wait_released(void)
{
	pthread_mutex_lock(&rel_lock);
	while (rel_pending)
		pthread_cond_wait(&rel_cv, &rel_lock);
	pthread_mutex_unlock(&rel_lock);
}

/*
 * Unmaps what is still the region's: every run of pages not GONE. A GONE page was
 * unmapped or mremap'd away by the application (its event is processed: munmap and
 * mremap return only once the handler read it, and the handler has been joined), so
 * its address may hold an unrelated mapping by now: the kernel hands holes out to any
 * later mmap (ThreadSanitizer's runtime put a thread's signal context in one and the
 * old munmap of the whole original range took it away: SEGV in the next blocking
 * call). Called with no other thread on the region.
 */
static void unmap_live(struct zsr *r)
{
	size_t i = 0, j;

	/* Entries from hi on were never written: none is GONE, so the last run of live
	 * pages reaches the end of the region. */
	while (i < r->nr_pages) {
		if (i < r->hi && r->pages[i].state == PS_GONE) {
			i++;
			continue;
		}
		for (j = i + 1; j < r->hi && r->pages[j].state != PS_GONE; j++)
			;
		if (j >= r->hi)
			j = r->nr_pages;
		munmap(r->base + i * ZSR_PAGE, (j - i) * ZSR_PAGE);
		i = j;
	}
}

ZSR_API void zsr_destroy(struct zsr *r)
{
	pthread_t t;
	size_t i;

	if (!r)
		return;
	if (r->have_reclaimer) {
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_cond_signal(&r->reclaim_cv);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->reclaimer, NULL);
	}
	stop_handlers(r, r->nr_handlers);
	/* Closing the uffd unregisters the range (and wakes any waiter), so the munmap
	 * below sends no event that nobody would read. */
	close(r->uffd);
	close(r->efd);
	unmap_live(r);

	/* Every compressed copy goes through the deferred path (or zs_free). */
	for (i = 0; i < r->hi; i++) {
		struct zsr_page *pe = &r->pages[i];

		if (pe->state == PS_EVICTED && !(pe->flags & PF_SAME))
			_zsr_free_handle(r, pe->handle);
	}
	if (r->deferred) {
		pthread_mutex_lock(&rel_lock);
		rel_pending++;
		pthread_mutex_unlock(&rel_lock);
		if (zs_thread_create(&t, reaper_main, r) == 0) {
			pthread_detach(t);
			return;
		}
		reaper_main(r);
		return;
	}
	teardown(r);
}
