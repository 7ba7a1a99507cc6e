/* SPDX-License-Identifier: MIT */
/*
 * v2array.c - the v2 series' rival: one per-pool array of values under a trylock.
 *
 * push: trylock (contention -> false, the caller frees synchronously), append, and at
 * half capacity queue one drain to the workers; a full array -> false. The drain
 * swaps the array for a second one under the lock, so pushers keep going while it
 * frees. Faithful to v2, there is no idle drain: values wait until half capacity,
 * a flush or teardown.
 *
 * Values are kept as unsigned long. With the built-in handle ops (extra->ulong_values)
 * the array goes to drain() as it is; with user ops the drain repacks the values into
 * a page with ops->push() and calls drain() page by page, so any ops work here.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "deferred.h"
#include "pagepool.h"

struct zsd_v2 {
	pthread_spinlock_t lock;	/* pushers: trylock; the drain: lock */
	unsigned int count, cap;
	bool queued;			/* work item claimed or queued, drain not yet started */
	/*
	 * atomic: pushers that claimed the work item (queued = true, under lock) and have
	 * not yet put it in the FIFO. The FIFO needs d->lock, a mutex, which is never
	 * taken under the spinlock, so the claim and the queueing are two steps; a flush
	 * (zsd_v2_kick) waits for this to reach 0 so the item has its ticket first.
	 */
	unsigned int handoffs;
	unsigned long *arr;		/* pushers append here */
	unsigned long *other;		/* the drain's side of the swap */
	uint64_t first_ns;		/* when arr received its first value */
	uint64_t pushed;		/* under lock; read racily by stats */
	pthread_mutex_t drain_mu;	/* one drain at a time: it owns `other` */
	void *page;			/* repacking page for user ops (under drain_mu) */
	struct zsd_page work;		/* the single work item, kind ZSD_WORK_V2 */
};

struct zsd_v2 *zsd_v2_create(struct zs_deferred *d, unsigned int entries)
{
	struct zsd_v2 *v2 = calloc(1, sizeof(*v2));

	(void)d;
	if (!v2)
		return NULL;
	if (entries < 2)
		entries = 2;
	v2->cap = entries;
	v2->arr = malloc(sizeof(unsigned long) * entries);
	v2->other = malloc(sizeof(unsigned long) * entries);
	v2->page = aligned_alloc(ZSM_PAGE_SIZE, ZSM_PAGE_SIZE);
	if (!v2->arr || !v2->other || !v2->page) {
		free(v2->arr);
		free(v2->other);
		free(v2->page);
		free(v2);
		return NULL;
	}
	pthread_spin_init(&v2->lock, PTHREAD_PROCESS_PRIVATE);
	pthread_mutex_init(&v2->drain_mu, NULL);
	v2->work.kind = ZSD_WORK_V2;
	return v2;
}

void zsd_v2_destroy(struct zsd_v2 *v2)
{
	pthread_spin_destroy(&v2->lock);
	pthread_mutex_destroy(&v2->drain_mu);
	free(v2->arr);
	free(v2->other);
	free(v2->page);
	free(v2);
}

/*
 * Under v2->lock: claim the work item. Counted in handoffs before the spinlock is
 * released, so whoever later sees queued == true under the lock also sees the
 * hand-off in flight (or its end, with the item already ticketed).
 */
static void zsd_v2_claim_locked(struct zsd_v2 *v2)
{
	v2->queued = true;
	zsm_add_relaxed(&v2->handoffs, 1);	/* ordered by the spinlock's release */
}

/*
 * After v2->lock is released: put the claimed item in the FIFO under d->lock. The
 * release decrement pairs with zsd_v2_kick()'s acquire load: the item's ticket is
 * visible to a flush that saw the count drop.
 */
static void zsd_v2_queue(struct zs_deferred *d, struct zsd_v2 *v2)
{
	pthread_mutex_lock(&d->lock);
	zsd_queue_locked(d, &v2->work);
	pthread_mutex_unlock(&d->lock);
	zsm_fetch_sub_release(&v2->handoffs, 1);
}

bool zsd_v2_push(struct zs_deferred *d, unsigned long value)
{
	struct zsd_v2 *v2 = d->v2;
	bool claim;

	if (pthread_spin_trylock(&v2->lock) != 0) {
		zsm_add_relaxed(&d->fallbacks_busy, 1);
		return false;
	}
	if (v2->count >= v2->cap) {
		pthread_spin_unlock(&v2->lock);
		zsm_add_relaxed(&d->fallbacks_nospare, 1);
		return false;
	}
	if (v2->count == 0)
		v2->first_ns = zsd_now_ns();
	v2->arr[v2->count++] = value;
	zsm_store_relaxed(&v2->pushed, v2->pushed + 1);
	claim = v2->count >= v2->cap / 2 && !v2->queued;
	if (claim)
		zsd_v2_claim_locked(v2);
	pthread_spin_unlock(&v2->lock);
	if (claim)
		zsd_v2_queue(d, v2);
	return true;
}

void zsd_v2_kick(struct zs_deferred *d)
{
	struct zsd_v2 *v2 = d->v2;
	unsigned int spins = 0;
	bool claim;

	pthread_spin_lock(&v2->lock);
	claim = v2->count && !v2->queued;
	if (claim)
		zsd_v2_claim_locked(v2);
	pthread_spin_unlock(&v2->lock);
	if (claim)
		zsd_v2_queue(d, v2);
	/* A pusher's claim seen above (queued) may still be on its way to the FIFO. */
	while (zsm_load_acquire(&v2->handoffs))
		zsd_relax(spins++);
}

uint64_t zsd_v2_pushed(struct zs_deferred *d)
{
	return zsm_load_relaxed(&d->v2->pushed);
}

static void zsd_v2_drain_values(struct zs_deferred *d, struct zsd_v2 *v2,
				unsigned long *vals, unsigned int n)
{
	unsigned int i, c = 0;

	if (d->extra.ulong_values) {
		d->drain(d->private, vals, n);
		zsm_add_relaxed(&d->drain_calls, 1);
		zsm_add_relaxed(&d->drained, n);
		return;
	}
	for (i = 0; i < n; i++) {
		enum zs_push_ret r = d->push(v2->page, c, vals[i]);

		if (r == ZS_PUSH_FULL && c) {
			d->drain(d->private, v2->page, c);
			zsm_add_relaxed(&d->drain_calls, 1);
			zsm_add_relaxed(&d->drained, c);
			c = 0;
			r = d->push(v2->page, 0, vals[i]);
		}
		if (r == ZS_PUSH_FULL)
			abort();	/* push() refuses an empty page: broken ops */
		c++;
		if (r == ZS_PUSH_FULL_QUEUED) {
			d->drain(d->private, v2->page, c);
			zsm_add_relaxed(&d->drain_calls, 1);
			zsm_add_relaxed(&d->drained, c);
			c = 0;
		}
	}
	if (c) {
		d->drain(d->private, v2->page, c);
		zsm_add_relaxed(&d->drain_calls, 1);
		zsm_add_relaxed(&d->drained, c);
	}
}

void zsd_v2_drain(struct zs_deferred *d)
{
	struct zsd_v2 *v2 = d->v2;
	unsigned long *vals;
	unsigned int n;
	uint64_t first, now;

	pthread_mutex_lock(&v2->drain_mu);
	pthread_spin_lock(&v2->lock);
	vals = v2->arr;
	v2->arr = v2->other;
	v2->other = vals;
	n = v2->count;
	v2->count = 0;
	v2->queued = false;
	first = v2->first_ns;
	pthread_spin_unlock(&v2->lock);

	if (n) {
		now = zsd_now_ns();
		now = now > first ? now - first : 0;
		zsm_max_relaxed_u64(&d->wait_ns_max, now);
		zsm_add_relaxed(&d->wait_ns_sum, now);
		zsm_add_relaxed(&d->wait_samples, 1);
		zsd_v2_drain_values(d, v2, vals, n);
	}
	pthread_mutex_unlock(&v2->drain_mu);
}
