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
#include <time.h>

#include "deferred.h"
#include "pagepool.h"

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

void zsd_page_free(struct zsd_page *pg)
{
	free(pg->mem);
	free(pg);
}

/*
 * A grown page, its place under the ceiling already reserved by the caller (nr_grown
 * was raised under d->lock, so racing pushers cannot overshoot). Called with the
 * caller's slot owned but without d->lock: workers returning pages are not held up
 * by the allocator. NULL (and the reservation returned) if malloc fails.
 */
static struct zsd_page *zsd_page_grow(struct zs_deferred *d)
{
	struct zsd_page *pg = calloc(1, sizeof(*pg));

	if (pg)
		pg->mem = aligned_alloc(ZSM_PAGE_SIZE, ZSM_PAGE_SIZE);
	if (!pg || !pg->mem) {
		free(pg);
		pthread_mutex_lock(&d->lock);
		d->nr_grown--;
		d->spare_grown--;
		pthread_mutex_unlock(&d->lock);
		return NULL;
	}
	pg->kind = ZSD_WORK_PAGE;
	pg->grown = true;
	return pg;
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
	bool grow = false;

	pthread_mutex_lock(&d->lock);
	if (pg) {
		if (s->count == 0) {
			pthread_mutex_unlock(&d->lock);
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
		if (d->nr_spare_cfg + d->nr_grown < d->nr_spare_max) {
			d->nr_grown++;
			if (d->nr_grown > d->grown_high)
				d->grown_high = d->nr_grown;
			d->spare_grown++;
			grow = true;
		}
	}
	pthread_mutex_unlock(&d->lock);
	if (grow)
		pg = zsd_page_grow(d);
	zsm_store_relaxed(&s->pg, pg);	/* peeked at by the shrinker */
	s->buf = pg ? pg->mem : NULL;
	zsm_store_relaxed(&s->count, 0);
}
