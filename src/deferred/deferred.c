/* SPDX-License-Identifier: MIT */
/*
 * deferred.c - the framework around the push path: drain workers, the bounded-delay
 * timer, flush, teardown and statistics. The page pool beneath it (spare stack, work
 * FIFO, slot swap) is pagepool.c, shared with percpu.c and v2array.c.
 *
 * Flush ordering: every page handed to the workers gets a ticket (increasing, under
 * d->lock) and the FIFO is drained in ticket order, so "every page queued up to ticket
 * T is drained" is "the smallest unfinished ticket (FIFO head, or one a worker is
 * draining) is > T". Flush takes every slot's buffer (the cross-slot protocol of
 * percpu.c), queues the non-empty ones, reads T and waits for that condition. A push
 * that returned before the flush began either left its value in a slot buffer (taken
 * by the flush) or in a page queued while the pusher still owned its slot (ticket <= T).
 *
 * Bounded delay: the timer wakes every max_delay/4 and takes buffers whose first value
 * is older than max_delay/2, so a value waits at most about 3/4 of max_delay plus the
 * time a worker needs to reach it. The push path pays nothing for this: it stamps the
 * clock once per page (when it stores the first value).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deferred.h"
#include "pagepool.h"

/* Smallest ticket still queued or being drained; UINT64_MAX when idle. */
static uint64_t zsd_min_unfinished_locked(struct zs_deferred *d)
{
	uint64_t m = d->work_head ? d->work_head->ticket : UINT64_MAX;
	unsigned int i;

	for (i = 0; i < d->nr_started; i++)
		if (d->workers[i].busy_ticket && d->workers[i].busy_ticket < m)
			m = d->workers[i].busy_ticket;
	return m;
}

static void zsd_record_wait(struct zs_deferred *d, uint64_t first_ns)
{
	uint64_t now = zsd_now_ns();
	uint64_t w = now > first_ns ? now - first_ns : 0;

	zsm_max_relaxed_u64(&d->wait_ns_max, w);
	zsm_add_relaxed(&d->wait_ns_sum, w);
	zsm_add_relaxed(&d->wait_samples, 1);
}

static void *zsd_worker_main(void *arg)
{
	struct zsd_worker *w = arg;
	struct zs_deferred *d = w->d;
	struct zsd_page *pg;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->work_head && !d->stop)
			pthread_cond_wait(&d->work_cond, &d->lock);
		pg = d->work_head;
		if (!pg)
			break;		/* stopping and nothing left */
		d->work_head = pg->next;
		if (!d->work_head)
			d->work_tail = NULL;
		w->busy_ticket = pg->ticket;
		pthread_mutex_unlock(&d->lock);

		if (pg->kind == ZSD_WORK_V2) {
			zsd_v2_drain(d);
		} else {
			zsd_record_wait(d, pg->first_ns);
			d->drain(d->private, pg->mem, pg->count);
			zsm_add_relaxed(&d->drained, pg->count);
			zsm_add_relaxed(&d->drain_calls, 1);
		}

		pthread_mutex_lock(&d->lock);
		if (pg->kind == ZSD_WORK_PAGE)
			zsd_spare_put_locked(d, pg);
		w->busy_ticket = 0;
		pthread_cond_broadcast(&d->done_cond);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* Taking buffers: flush, idle drains, teardown */

/*
 * Taker, with the slot closed and quiet: detach its page if it holds values. No spare
 * is installed here (that needs d->lock): the slot's next pusher takes one, so the
 * slot stays closed only for a few plain stores.
 */
static struct zsd_page *zsd_slot_detach(struct zsd_slot *s)
{
	struct zsd_page *pg = s->pg;

	if (!pg || !s->count)
		return NULL;
	pg->count = s->count;
	pg->first_ns = s->first_ns;
	zsm_store_relaxed(&s->pg, NULL);
	s->buf = NULL;
	zsm_store_relaxed(&s->count, 0);
	return pg;
}

static void zsd_queue_list(struct zs_deferred *d, struct zsd_page *list)
{
	struct zsd_page *next;

	if (!list)
		return;
	pthread_mutex_lock(&d->lock);
	for (; list; list = next) {
		next = list->next;
		zsd_queue_locked(d, list);
	}
	pthread_mutex_unlock(&d->lock);
}

/* Under taker_lock: take every slot's buffer and queue the non-empty ones. */
static void zsd_take_all(struct zs_deferred *d)
{
	unsigned int i, left = d->nr_slots, spins = 0;
	struct zsd_page *list = NULL, *pg;

	if (d->v2) {
		zsd_v2_kick(d);
		return;
	}
	/*
	 * Close all with one fence, then detach and reopen each slot as soon as it is
	 * quiet: a holder preempted on one slot does not keep the others closed.
	 */
	zsd_slots_close_begin(d, 0, d->nr_slots);
	memset(d->taken, 0, d->nr_slots);
	while (left) {
		for (i = 0; i < d->nr_slots; i++) {
			if (d->taken[i] || !zsd_slot_quiet(&d->slots[i]))
				continue;
			pg = zsd_slot_detach(&d->slots[i]);
			zsd_slot_open(d, &d->slots[i]);
			if (pg) {
				pg->next = list;
				list = pg;
			}
			d->taken[i] = 1;
			left--;
		}
		if (left)
			zsd_relax(spins++);
	}
	zsd_queue_list(d, list);
}

static void zsd_wait_upto(struct zs_deferred *d, uint64_t ticket)
{
	pthread_mutex_lock(&d->lock);
	while (zsd_min_unfinished_locked(d) <= ticket)
		pthread_cond_wait(&d->done_cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
}

static void zsd_flush_all(struct zs_deferred *d)
{
	uint64_t t;

	pthread_mutex_lock(&d->taker_lock);
	zsd_take_all(d);
	pthread_mutex_lock(&d->lock);
	t = d->next_ticket;
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_unlock(&d->taker_lock);
	zsd_wait_upto(d, t);
}

void zsd_flush(struct zs_deferred *d)
{
	zsm_add_relaxed(&d->flushes, 1);
	if (d->mode == ZS_DEFER_SYNC)
		return;
	zsd_flush_all(d);
}

static bool zsd_page_grown(struct zs_deferred *d, struct zsd_page *pg)
{
	/* By address, without dereferencing a page another thread may be filling. */
	uintptr_t a = (uintptr_t)pg, lo = (uintptr_t)d->pages;

	return pg && (a < lo || a >= lo + (uintptr_t)d->nr_pages * sizeof(*pg));
}

/*
 * A grown page can also sit empty in a slot: installed by the swap that queued the
 * burst's last full page. Nobody would ever hand it back, so take it: close the slot,
 * and if it still holds that empty grown page, detach it (the next pusher takes a
 * spare). Only slots whose racy peek shows one are closed (one membarrier each), and
 * only once everything is idle, so this runs about once per burst.
 */
static struct zsd_page *zsd_slots_reclaim(struct zs_deferred *d, struct zsd_page *list)
{
	struct zsd_page *pg;
	unsigned int i, n = 0;

	for (i = 0; i < d->nr_slots; i++) {
		struct zsd_slot *s = &d->slots[i];

		if (!zsd_page_grown(d, zsm_load_relaxed(&s->pg)) || zsm_load_relaxed(&s->count))
			continue;
		pthread_mutex_lock(&d->taker_lock);
		zsd_slots_close(d, i, 1);
		pg = s->pg;
		if (zsd_page_grown(d, pg) && !s->count) {
			zsm_store_relaxed(&s->pg, NULL);
			s->buf = NULL;
			pg->next = list;
			list = pg;
			n++;
		}
		zsd_slot_open(d, s);
		pthread_mutex_unlock(&d->taker_lock);
	}
	if (n) {
		pthread_mutex_lock(&d->lock);
		d->nr_grown -= n;
		pthread_mutex_unlock(&d->lock);
	}
	return list;
}

/*
 * One timer tick, after the idle scan: give grown pages back once the spare stack
 * has not run dry for max_delay and nothing waits for a worker. Grown pages in the
 * spare stack are freed; one parked empty in a slot is taken back when nothing at
 * all is queued or draining; one in use (in a slot with values, queued) goes on a
 * later tick, once it is back in the stack. Freed outside d->lock.
 */
static void zsd_spare_shrink(struct zs_deferred *d)
{
	struct zsd_page **pp, *pg, *list = NULL;
	bool idle;
	uint64_t now;

	/*
	 * Once per tick, so no racy peek: d->lock is cheap next to the timer period.
	 * The clock is read under the lock, so spare_dry_ns (set under it) is never later.
	 */
	pthread_mutex_lock(&d->lock);
	now = zsd_now_ns();
	if (!d->nr_grown || d->work_head || now - d->spare_dry_ns < d->max_delay_ns) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	/* Grown pages not in the stack nor queued nor being drained: some slot has them. */
	idle = zsd_min_unfinished_locked(d) == UINT64_MAX;
	for (pp = &d->spare; (pg = *pp) != NULL;) {
		if (!pg->grown) {
			pp = &pg->next;
			continue;
		}
		*pp = pg->next;
		d->nr_spare--;
		d->nr_grown--;
		pg->next = list;
		list = pg;
	}
	idle = idle && d->nr_grown;
	pthread_mutex_unlock(&d->lock);
	if (idle)
		list = zsd_slots_reclaim(d, list);
	for (; list; list = pg) {
		pg = list->next;
		zsd_page_free(list);
	}
}

/* One timer tick: take the buffers whose oldest value is older than max_delay / 2. */
static void zsd_idle_scan(struct zs_deferred *d)
{
	uint64_t now = zsd_now_ns(), limit = d->max_delay_ns / 2;
	struct zsd_page *pg;
	unsigned int i;

	for (i = 0; i < d->nr_slots; i++) {
		struct zsd_slot *s = &d->slots[i];
		uint32_t c = zsm_load_relaxed(&s->count);
		uint64_t f = zsm_load_relaxed(&s->first_ns);

		/* Racy peek: at worst an early or a skipped take, decided again below. */
		if (!c || f > now || now - f < limit)
			continue;
		pthread_mutex_lock(&d->taker_lock);
		zsd_slots_close(d, i, 1);
		pg = zsd_slot_detach(s);
		zsd_slot_open(d, s);
		if (pg) {
			/* Counted first: once queued, the drain may be done before we go on. */
			zsm_add_relaxed(&d->idle_drains, 1);
			pg->next = NULL;
			zsd_queue_list(d, pg);
		}
		pthread_mutex_unlock(&d->taker_lock);
	}
}

static void *zsd_timer_main(void *arg)
{
	struct zs_deferred *d = arg;
	uint64_t period = d->max_delay_ns / 4;
	struct timespec ts;

	if (period < 50000)
		period = 50000;
	pthread_mutex_lock(&d->timer_lock);
	while (!d->timer_stop) {
		uint64_t at = zsd_now_ns() + period;

		ts.tv_sec = (time_t)(at / 1000000000ull);
		ts.tv_nsec = (long)(at % 1000000000ull);
		while (!d->timer_stop &&
		       pthread_cond_timedwait(&d->timer_cond, &d->timer_lock, &ts) != ETIMEDOUT)
			;
		if (d->timer_stop)
			break;
		pthread_mutex_unlock(&d->timer_lock);
		zsd_idle_scan(d);
		zsd_spare_shrink(d);
		pthread_mutex_lock(&d->timer_lock);
	}
	pthread_mutex_unlock(&d->timer_lock);
	return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* Create, push, destroy, stats */

static void zsd_free_all(struct zs_deferred *d)
{
	struct zsd_page *pg, *next;
	unsigned int i;

	/* With the workers stopped every page is in a slot or in the spare stack. */
	for (i = 0; d->slots && i < d->nr_slots; i++)
		if (d->slots[i].pg && d->slots[i].pg->grown)
			zsd_page_free(d->slots[i].pg);
	for (pg = d->spare; pg; pg = next) {
		next = pg->next;
		if (pg->grown)
			zsd_page_free(pg);
	}
	if (d->v2)
		zsd_v2_destroy(d->v2);
	free(d->workers);
	free(d->pages);
	free(d->page_mem);
	free(d->slots);
	free(d->taken);
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->taker_lock);
	pthread_mutex_destroy(&d->timer_lock);
	pthread_cond_destroy(&d->work_cond);
	pthread_cond_destroy(&d->done_cond);
	pthread_cond_destroy(&d->timer_cond);
	free(d);
}

static void zsd_stop_workers(struct zs_deferred *d)
{
	unsigned int i;

	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_broadcast(&d->work_cond);
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < d->nr_started; i++)
		pthread_join(d->workers[i].tid, NULL);
}

static int zsd_alloc_slots(struct zs_deferred *d)
{
	size_t bytes = (size_t)d->nr_slots << ZSD_SLOT_SHIFT;
	unsigned int i;

	unsigned int step = d->mode == ZS_DEFER_PERCPU ? ZSD_SUBSLOTS : 1, s = 0;

	d->slots = aligned_alloc(1u << ZSD_SLOT_SHIFT, bytes);
	d->taken = calloc(d->nr_slots, 1);
	d->nr_pages = d->nr_slots / step + d->nr_spare_cfg;
	d->pages = calloc(d->nr_pages, sizeof(*d->pages));
	d->page_mem = aligned_alloc(ZSM_PAGE_SIZE, (size_t)d->nr_pages * ZSM_PAGE_SIZE);
	if (!d->slots || !d->taken || !d->pages || !d->page_mem)
		return -ENOMEM;
	memset(d->slots, 0, bytes);
	for (i = 0; i < d->nr_pages; i++) {
		struct zsd_page *pg = &d->pages[i];

		pg->mem = (char *)d->page_mem + (size_t)i * ZSM_PAGE_SIZE;
		pg->kind = ZSD_WORK_PAGE;
		if (s < d->nr_slots) {
			d->slots[s].pg = pg;
			d->slots[s].buf = pg->mem;
			s += step;
		} else {
			zsd_spare_put_locked(d, pg);
		}
	}
	d->spare_low = d->nr_spare;
	return 0;
}

struct zs_deferred *zsd_create(const struct zs_deferred_ops *ops, void *private,
			       const struct zs_deferred_config *cfg, const struct zsd_extra *extra)
{
	struct zs_deferred_config c = { 0 };
	struct zs_deferred *d;
	pthread_condattr_t ca;
	long online = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
	unsigned int i;
	int err = 0;

	if (cfg)
		c = *cfg;
	if (!ops || !ops->push || !ops->drain || (unsigned int)c.mode > ZS_DEFER_SYNC) {
		errno = EINVAL;
		return NULL;
	}
	if (c.mode == ZS_DEFER_PER_CLASS && (!extra || !extra->route || !extra->nr_routes)) {
		errno = EINVAL;
		return NULL;
	}
	if (online < 1)
		online = 1;
	if (conf < online)
		conf = online;

	d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->mode = c.mode;
	d->push = ops->push;
	d->drain = ops->drain;
	d->private = private;
	if (extra)
		d->extra = *extra;
	d->max_delay_ns = (uint64_t)(c.max_delay_us ? c.max_delay_us : ZSD_DEFAULT_DELAY_US) * 1000u;
	d->nr_workers = c.workers ? c.workers : (online < 4 ? (unsigned int)online : 4u);
	if (d->nr_workers > ZSD_MAX_WORKERS)
		d->nr_workers = ZSD_MAX_WORKERS;
	d->nr_spare_cfg = c.spare_pages ? c.spare_pages :
			  (online * 8 > 64 ? (unsigned int)online * 8 : 64u);
	/*
	 * Default ceiling 1024 pages (4 MiB): several times the ~150 pages that three
	 * threads freeing 192 MiB of zram slots each pile up ahead of two drain workers,
	 * and small against the memory such a burst frees.
	 */
	d->nr_spare_max = c.spare_pages_max ? c.spare_pages_max : 1024u;
	if (d->nr_spare_max < d->nr_spare_cfg)
		d->nr_spare_max = d->nr_spare_cfg;
	d->lock_mode = ZSD_LOCK_TRY;

	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->taker_lock, NULL);
	pthread_mutex_init(&d->timer_lock, NULL);
	pthread_cond_init(&d->work_cond, NULL);
	pthread_cond_init(&d->done_cond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->timer_cond, &ca);
	pthread_condattr_destroy(&ca);

	switch (d->mode) {
	case ZS_DEFER_SYNC:
		d->nr_spare_cfg = d->nr_spare_max = 0;
		return d;
	case ZS_DEFER_V2_ARRAY:
		d->nr_spare_cfg = d->nr_spare_max = 0;
		d->v2 = zsd_v2_create(d, c.array_entries ? c.array_entries : ZSD_DEFAULT_V2_ENTRIES);
		if (!d->v2)
			err = -ENOMEM;
		break;
	case ZS_DEFER_PERCPU:
		d->nr_cpus = (unsigned int)conf;
		d->nr_slots = d->nr_cpus * ZSD_SUBSLOTS;
		if (!c.no_rseq && zsd_rseq_usable()) {
			d->lock_mode = ZSD_LOCK_RSEQ;
			d->rseq_off = zsd_rseq_offset();
		}
		err = zsd_alloc_slots(d);
		break;
	case ZS_DEFER_PER_CLASS:
		d->nr_slots = d->extra.nr_routes;
		d->lock_mode = ZSD_LOCK_SPIN;
		err = zsd_alloc_slots(d);
		break;
	}
	if (!err) {
		d->workers = calloc(d->nr_workers, sizeof(*d->workers));
		if (!d->workers)
			err = -ENOMEM;
	}
	for (i = 0; !err && i < d->nr_workers; i++) {
		d->workers[i].d = d;
		err = -pthread_create(&d->workers[i].tid, NULL, zsd_worker_main, &d->workers[i]);
		if (!err)
			d->nr_started++;
	}
	if (!err && d->nr_slots) {
		err = -pthread_create(&d->timer, NULL, zsd_timer_main, d);
		d->have_timer = !err;
	}
	if (err) {
		zsd_stop_workers(d);
		zsd_free_all(d);
		errno = -err;
		return NULL;
	}
	return d;
}

void zsd_destroy(struct zs_deferred *d)
{
	if (!d)
		return;
	if (d->have_timer) {
		pthread_mutex_lock(&d->timer_lock);
		d->timer_stop = true;
		pthread_cond_signal(&d->timer_cond);
		pthread_mutex_unlock(&d->timer_lock);
		pthread_join(d->timer, NULL);
	}
	if (d->mode != ZS_DEFER_SYNC)
		zsd_flush_all(d);
	/* Workers exit only once the FIFO is empty, so nothing queued is lost. */
	zsd_stop_workers(d);
	zsd_free_all(d);
}

void zsd_get_stats(struct zs_deferred *d, struct zs_deferred_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < d->nr_slots; i++)
		st->pushed += zsm_load_relaxed(&d->slots[i].pushed);
	if (d->v2)
		st->pushed += zsd_v2_pushed(d);
	st->fallbacks_busy = zsm_load_relaxed(&d->fallbacks_busy);
	st->fallbacks_nospare = zsm_load_relaxed(&d->fallbacks_nospare);
	st->fallbacks = st->fallbacks_busy + st->fallbacks_nospare;
	st->drained = zsm_load_relaxed(&d->drained);
	st->drain_calls = zsm_load_relaxed(&d->drain_calls);
	st->idle_drains = zsm_load_relaxed(&d->idle_drains);
	st->flushes = zsm_load_relaxed(&d->flushes);
	st->wait_ns_max = zsm_load_relaxed(&d->wait_ns_max);
	st->wait_ns_sum = zsm_load_relaxed(&d->wait_ns_sum);
	st->wait_samples = zsm_load_relaxed(&d->wait_samples);
	st->spare_pages = d->nr_spare_cfg;
	pthread_mutex_lock(&d->lock);
	st->spare_low = d->spare_low;
	st->spare_allocated = d->nr_spare_cfg + d->nr_grown;
	st->spare_high = d->nr_spare_cfg + d->grown_high;
	st->spare_grown = d->spare_grown;
	st->spare_max = d->nr_spare_max;
	pthread_mutex_unlock(&d->lock);
	st->rseq = d->lock_mode == ZSD_LOCK_RSEQ;
}
