/* SPDX-License-Identifier: MIT */
/*
 * pagepool.c - the page pool beneath both buffering strategies: the spare page stack
 * (with growth past the floor), the work FIFO the drain workers consume, and the slot
 * swap (queue a slot's full page, install a spare). percpu.c (per-CPU / per-class
 * slots), v2array.c (v2's array) and deferred.c (workers, timer, flush) all call down
 * into it; it calls none of them, so the files form a DAG:
 *
 *   pool_glue.c -> deferred.c -> percpu.c, v2array.c -> pagepool.c
 *
 * Everything here runs under d->lock except where a comment says otherwise.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "deferred.h"
#include "pagepool.h"

/* Defined here, the bottom of the file graph: every file of the framework counts in it. */
_Thread_local unsigned int zsd_tls_busy __attribute__((tls_model("initial-exec")));

/*
 * Fault in [p, p + len) ahead of use: MADV_POPULATE_WRITE (Linux 5.14) in one call for
 * the guest kernel's part, then one write per page for the hypervisor's. On a VM with
 * shadow paging (ours) populate leaves the hypervisor's tables empty, and the first
 * access after it still costs ~5 us a page (measured: populate 0.5-0.7 us a page, then a
 * first write 4.9-5.3 us a page, 0.03 us once any thread of the process has touched the
 * page). Without the writes the burst pusher paid that trap on every ready page: 48 ns a
 * push instead of ~10 (zsd_bench burst, figures at 1f8f500). zs_prefault_pages in
 * src/zsmalloc/page.c does the same for pool pages.
 */
static void zsd_populate(void *p, size_t len)
{
	(void)madvise(p, len, MADV_POPULATE_WRITE);	/* fails harmlessly before 5.14 */
	for (size_t off = 0; off < len; off += ZSM_PAGE_SIZE)
		((volatile char *)p)[off] = 0;
}

uint64_t zsd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------------------- */
/* Page pool and work queue (d->lock) */

struct zsd_page *zsd_spare_get_locked(struct zs_deferred *d)
{
	struct zsd_page *pg = d->spare;

	if (!pg)
		return NULL;
	d->spare = pg->next;
	d->nr_spare--;
	if (d->nr_spare < d->spare_low)
		d->spare_low = d->nr_spare;
	return pg;
}

void zsd_spare_put_locked(struct zs_deferred *d, struct zsd_page *pg)
{
	pg->next = d->spare;
	d->spare = pg;
	d->nr_spare++;
}

void zsd_queue_locked_nowake(struct zs_deferred *d, struct zsd_page *pg)
{
	pg->ticket = ++d->next_ticket;
	/* Once per page, not per push: the timer's overdue test (deferred.c) reads it. */
	pg->queued_ns = zsd_now_ns();
	pg->next = NULL;
	if (d->work_tail)
		d->work_tail->next = pg;
	else
		d->work_head = pg;
	d->work_tail = pg;
}

void zsd_queue_locked(struct zs_deferred *d, struct zsd_page *pg)
{
	zsd_queue_locked_nowake(d, pg);
	pthread_cond_signal(&d->work_cond);
}

/*
 * Signalling without d->lock cannot lose the wake-up: the page was linked under the
 * lock, and a worker tests work_head and goes to sleep atomically under that lock, so
 * it either saw the page or is already waiting when the signal comes.
 */
void zsd_wake_worker(struct zs_deferred *d)
{
	pthread_cond_signal(&d->work_cond);
}

/*
 * Under d->lock: a cold descriptor (its page not faulted in, or madvised away), or
 * NULL when every descriptor is in use, ready or being refilled.
 */
static struct zsd_page *zsd_grow_cold_locked(struct zs_deferred *d)
{
	struct zsd_page *pg = d->grow_free;

	if (pg) {
		d->grow_free = pg->next;
		return pg;
	}
	if (d->grow_used == d->nr_grow_max)
		return NULL;
	pg = &d->grow_desc[d->grow_used];
	pg->mem = (char *)d->grow_mem + (size_t)d->grow_used * ZSM_PAGE_SIZE;
	pg->kind = ZSD_WORK_PAGE;
	pg->grown = true;
	d->grow_used++;
	return pg;
}

/*
 * Under d->lock, below the ceiling: a grown page for a pusher whose spare stack ran
 * dry. A refilled one if there is one; else a cold one, whose memory its first push
 * faults in. No allocation either way, so the page swap stays async-signal-safe.
 */
static struct zsd_page *zsd_grow_get_locked(struct zs_deferred *d)
{
	struct zsd_page *pg = d->grow_ready;

	if (pg) {
		d->grow_ready = pg->next;
		d->nr_ready--;
		return pg;
	}
	return zsd_grow_cold_locked(d);
}

/* Pages a refill run faults in at most; ~1 us each with MADV_POPULATE_WRITE here. */
#define ZSD_REFILL_BATCH 32u

/*
 * Under d->lock, from the page swap: should a worker refill? When a burst has eaten a
 * quarter of the floor and the ready pages would not cover the rest of it: a push costs
 * a few ns and fills a page in ~2 us, a refill run takes ~30 us plus a wake-up, so it
 * must start while the floor still has a runway. Never in a fork child (no workers).
 */
static bool zsd_refill_due_locked(const struct zs_deferred *d)
{
	unsigned int low = d->nr_spare_cfg - d->nr_spare_cfg / 4;

	return !d->refill_wanted && !d->nr_refilling && d->nr_started &&
	       d->nr_spare + d->nr_ready < low &&
	       d->nr_grown + d->nr_ready < d->nr_grow_max;
}

/*
 * Worker, under d->lock (dropped while populating): fault in up to ZSD_REFILL_BATCH
 * cold pages and put them on grow_ready. The descriptors are reserved in nr_refilling
 * meanwhile, so neither a pusher nor the fork handler (zsd_workers_busy_locked) takes
 * them in transit. Fresh descriptors are adjacent in the region: one madvise covers
 * them; returned ones (grow_free) are populated one by one.
 */
void zsd_refill_locked(struct zs_deferred *d)
{
	struct zsd_page *list = NULL, *last = NULL, *pg;
	unsigned int n = 0, fresh0 = d->grow_used, nfresh;

	d->refill_wanted = false;
	/* NULL at the ceiling: the descriptors are the reservations (deferred.h). */
	while (n < ZSD_REFILL_BATCH && (pg = zsd_grow_cold_locked(d)) != NULL) {
		pg->next = list;
		list = pg;
		if (!last)
			last = pg;
		d->nr_refilling++;
		n++;
	}
	if (!n)
		return;
	nfresh = d->grow_used - fresh0;
	zsd_unlock(d);

	if (nfresh)
		zsd_populate((char *)d->grow_mem + (size_t)fresh0 * ZSM_PAGE_SIZE,
			     (size_t)nfresh * ZSM_PAGE_SIZE);
	for (pg = list; pg; pg = pg->next) {
		size_t i = (size_t)((char *)pg->mem - (char *)d->grow_mem) / ZSM_PAGE_SIZE;

		if (i < fresh0)
			zsd_populate(pg->mem, ZSM_PAGE_SIZE);
	}

	zsd_lock(d);
	last->next = d->grow_ready;
	d->grow_ready = list;
	d->nr_ready += n;
	d->nr_refilling -= n;
	/* Still short of a floor's worth of pages: the burst goes on, so does the refill. */
	d->refill_wanted = !d->stop && !d->fork_pending && d->nr_spare + d->nr_ready < d->nr_spare_cfg;
	pthread_cond_broadcast(&d->done_cond);	/* a fork handler may wait for us */
}

/*
 * Memory back to the OS outside d->lock, then the descriptors back on the free list
 * and nr_grown lowered in one step: lowered earlier, a pusher could grow past the
 * descriptors while these are in transit.
 */
void zsd_grow_put_list(struct zs_deferred *d, struct zsd_page *list)
{
	struct zsd_page *pg, *last = NULL;
	unsigned int n = 0;

	if (!list)
		return;
	for (pg = list; pg; pg = pg->next) {
		madvise(pg->mem, ZSM_PAGE_SIZE, MADV_DONTNEED);
		last = pg;
		n++;
	}
	zsd_lock(d);
	last->next = d->grow_free;
	d->grow_free = list;
	d->nr_grown -= n;
	zsd_unlock(d);
}

/*
 * With the slot owned (pusher, or never-shared at create): queue its page if it holds
 * values and install a spare one, growing the pool if the stack is empty. This is the
 * only place pages are grown: once per 4 KiB of pushed values at most, never on the
 * common push path.
 */
void zsd_slot_swap(struct zs_deferred *d, struct zsd_slot *s)
{
	struct zsd_page *pg = s->pg;

	zsd_lock(d);
	if (pg) {
		if (s->count == 0) {
			zsd_unlock(d);
			return;		/* nothing to drain: keep the page */
		}
		pg->count = s->count;
		pg->first_ns = s->first_ns;
		/*
		 * Wake the worker only once the slot is released (zsd_push_slots): woken
		 * now, it could preempt us on this CPU for a whole drain while we still own
		 * the slot, and every other pusher of the CPU would fall back meanwhile.
		 */
		zsd_queue_locked_nowake(d, pg);
		s->wake = 1;
	}
	pg = zsd_spare_get_locked(d);
	if (!pg) {
		/* Remembered by the shrinker: the floor was not enough just now. */
		d->spare_dry_ns = zsd_now_ns();
		pg = zsd_grow_get_locked(d);	/* NULL at the ceiling */
		if (pg) {
			d->nr_grown++;
			if (d->nr_grown > d->grown_high)
				d->grown_high = d->nr_grown;
			d->spare_grown++;
		}
	}
	if (d->nr_grow_max && zsd_refill_due_locked(d)) {
		d->refill_wanted = true;
		s->wake = 1;	/* the worker is signalled once the slot is released */
	}
	zsd_unlock(d);
	zsm_store_relaxed(&s->pg, pg);	/* peeked at by the shrinker */
	s->buf = pg ? pg->mem : NULL;
	zsm_store_relaxed(&s->count, 0);
}
