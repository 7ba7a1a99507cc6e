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
 *
 * Workers and the pushers (cfg worker_sched; the data is in the README, measured with
 * zsbench -H for issue 10). The pushers are typically an exit path: K dying processes
 * free their swap slots at once, on as many CPUs as there are. Workers at the pushers'
 * priority (NORMAL, the default) are woken as soon as a page is queued and take their
 * share of the CPUs: on a 2-CPU machine the deferred exit of 3 processes (0.4 ms of CPU
 * each) took 0.9-1.6 ms (medians of runs) when no one else ran, and 0.4 ms under a hog
 * in another session, whatever the policy. The exit-time ratio to sync swings (5x-30x
 * between runs) with sync's own exit time and the machine's load far more than with the
 * workers. nice 19 workers (NICE, weight 15 against 1024) leave the CPUs to the exit
 * path (0.75-1.0 ms quiet; the last exit 13x ahead of sync's instead of 9x, medians),
 * but a low-weight worker starves when the CPUs stay busy: under autogroups a group
 * whose only runnable thread on a CPU is a nice-19 one weighs almost nothing there.
 * Priority cannot be raised back without privilege, so with NICE and IDLE, catch-up
 * threads stand by, as many as workers, at normal priority: the timer (every
 * max_delay/4) wakes them when the FIFO's head has waited max_delay/4 (or holds a value
 * older than max_delay/2), and they then drain until the FIFO is empty; a flush wakes
 * them for everything up to its ticket. What they cannot take is the page a starved
 * worker is in the middle of draining (and drain()'s locks it holds): memory came back
 * 1.3-2.3x later than with normal workers at 3 x 64 MiB, and 12x later for a small
 * burst on a loaded machine. That is why NORMAL stays the default and the others are
 * opt-in, for programs that put their exit path first. SCHED_IDLE (weight 3) starves
 * worse: memory back up to 1.3 s late. Holding normal workers off while pages keep
 * coming (a burst) was worse for the exit path: the woken workers' re-checks contended
 * with the pushers' page swaps on d->lock. The refill-ahead stays with the workers:
 * with every CPU taken by pushers a low-priority worker's refill waits, and the pushers
 * fault their grown pages in themselves, as without refill; with a CPU free it runs at
 * once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/thread.h"
#include "deferred.h"
#include "pagepool.h"

/* The framework whose drain() this thread is running (worker, or inline in a fork
 * child): a flush from inside drain() must not wait for itself. */
static _Thread_local struct zs_deferred *zsd_tls_draining
	__attribute__((tls_model("initial-exec")));

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

/* Under d->lock: the FIFO's head, unlinked, or NULL. */
static struct zsd_page *zsd_work_pop_locked(struct zs_deferred *d)
{
	struct zsd_page *pg = d->work_head;

	if (pg) {
		d->work_head = pg->next;
		if (!d->work_head)
			d->work_tail = NULL;
	}
	return pg;
}

/* Drains one work item, without d->lock (a worker, or inline in a fork child). */
static void zsd_run_work(struct zs_deferred *d, struct zsd_page *pg)
{
	struct zs_deferred *outer = zsd_tls_draining;

	zsd_tls_draining = d;
	if (pg->kind == ZSD_WORK_V2) {
		zsd_v2_drain(d);
	} else {
		zsd_record_wait(d, pg->first_ns);
		d->drain(d->private, pg->mem, pg->count);
		zsm_add_relaxed(&d->drained, pg->count);
		zsm_add_relaxed(&d->drain_calls, 1);
	}
	zsd_tls_draining = outer;
}

/*
 * A worker's own scheduling (the essay at the top). Per thread: SCHED_IDLE and nice
 * apply to the calling thread only on Linux. Lowering one's own priority needs no
 * privilege; where SCHED_IDLE is refused anyway (seccomp, an old kernel) nice 19 is
 * the next best thing, and where that fails too the worker keeps its priority.
 */
static void zsd_worker_sched(const struct zs_deferred *d)
{
	struct sched_param sp = { 0 };

	switch (d->worker_sched) {
	case ZS_DEFER_WORKERS_IDLE:
		if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
			break;
		/* fall through */
	case ZS_DEFER_WORKERS_NICE:
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
		break;
	case ZS_DEFER_WORKERS_DEFAULT:	/* resolved to NORMAL at create */
	case ZS_DEFER_WORKERS_NORMAL:
		break;
	}
}

/*
 * Under d->lock: the catch-up threads have work. The FIFO's head waited max_delay/4
 * in the queue (about one timer period), or holds a value older than max_delay/2: the
 * workers are starved, so the catch-up goes on until the FIFO is empty
 * (catchup_active), not only while the head is overdue; or a flush waits for the
 * head's ticket.
 */
static bool zsd_catchup_due_locked(struct zs_deferred *d)
{
	struct zsd_page *pg = d->work_head;

	if (!pg) {
		d->catchup_active = false;
		return false;
	}
	if (!d->catchup_active) {
		uint64_t now = zsd_now_ns();

		/* A page the idle scan queued is overdue as it comes: its oldest value
		 * already waited max_delay/2 (v2's work item has no such stamp). */
		d->catchup_active = now - pg->queued_ns >= d->max_delay_ns / 4 ||
				    (pg->kind == ZSD_WORK_PAGE && pg->first_ns <= now &&
				     now - pg->first_ns >= d->max_delay_ns / 2);
	}
	return d->catchup_active || pg->ticket <= d->urgent_ticket;
}

/*
 * Under d->lock, dropped while draining: drain a page taken from the FIFO, its ticket
 * shown in busy_ticket meanwhile (flush and fork wait on it), then the page back to
 * the spare stack and the waiters on done_cond woken.
 */
static void zsd_drain_taken_locked(struct zsd_worker *w, struct zsd_page *pg)
{
	struct zs_deferred *d = w->d;

	w->busy_ticket = pg->ticket;
	zsd_unlock(d);

	zsd_run_work(d, pg);

	zsd_lock(d);
	if (pg->kind == ZSD_WORK_PAGE)
		zsd_spare_put_locked(d, pg);
	w->busy_ticket = 0;
	pthread_cond_broadcast(&d->done_cond);
}

/*
 * A catch-up thread (the essay at the top): normal priority, asleep until the timer
 * finds the FIFO's head overdue, or a flush waits; then it drains, oldest first, until
 * the FIFO is empty (or, for a flush alone, up to the flush's ticket). It takes no
 * refill (the workers' job) and, once stopping, leaves what is left to the workers,
 * which drain the FIFO to the end.
 */
static void zsd_catchup_main(struct zsd_worker *w)
{
	struct zs_deferred *d = w->d;
	struct zsd_page *pg;

	zsd_lock(d);
	for (;;) {
		while ((!zsd_catchup_due_locked(d) || d->fork_pending) && !d->stop)
			pthread_cond_wait(&d->catchup_cond, &d->lock);
		if (d->stop)
			break;
		pg = zsd_work_pop_locked(d);
		d->catchup_drains++;
		zsd_drain_taken_locked(w, pg);
	}
	zsd_unlock(d);
}

static void *zsd_worker_main(void *arg)
{
	struct zsd_worker *w = arg;
	struct zs_deferred *d = w->d;
	struct zsd_page *pg;

	if (w->catchup) {
		zsd_catchup_main(w);
		return NULL;
	}
	zsd_worker_sched(d);
	zsd_lock(d);
	for (;;) {
		/* While a fork is being prepared, take nothing new (zsd_fork_quiesce). */
		while (((!d->work_head && !d->refill_wanted) || d->fork_pending) && !d->stop)
			pthread_cond_wait(&d->work_cond, &d->lock);
		/* A refill first: ~30 us, and it keeps the burst's pusher off page faults. */
		if (d->refill_wanted && !d->stop) {
			zsd_refill_locked(d);
			continue;
		}
		pg = zsd_work_pop_locked(d);
		if (!pg)
			break;		/* stopping and nothing left */
		zsd_drain_taken_locked(w, pg);
	}
	zsd_unlock(d);
	return NULL;
}

/*
 * Without workers (a fork child): drain the FIFO in the calling thread. taker_lock
 * serialises it with other flushes of the child and with a further fork.
 */
static void zsd_drain_inline(struct zs_deferred *d)
{
	struct zsd_page *pg;

	pthread_mutex_lock(&d->taker_lock);
	if (d->v2)
		zsd_v2_kick(d);
	zsd_lock(d);
	while ((pg = zsd_work_pop_locked(d)) != NULL) {
		zsd_unlock(d);
		zsd_run_work(d, pg);
		zsd_lock(d);
		if (pg->kind == ZSD_WORK_PAGE)
			zsd_spare_put_locked(d, pg);
	}
	zsd_unlock(d);
	pthread_mutex_unlock(&d->taker_lock);
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
	zsd_lock(d);
	for (; list; list = next) {
		next = list->next;
		zsd_queue_locked(d, list);
	}
	zsd_unlock(d);
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
	zsd_lock(d);
	while (zsd_min_unfinished_locked(d) <= ticket)
		pthread_cond_wait(&d->done_cond, &d->lock);
	zsd_unlock(d);
}

static void zsd_flush_all(struct zs_deferred *d)
{
	uint64_t t;

	pthread_mutex_lock(&d->taker_lock);
	zsd_take_all(d);
	zsd_lock(d);
	t = d->next_ticket;
	/* A flush wants it now: the catch-up threads drain up to t with the workers. */
	if (d->nr_catchup && t > d->urgent_ticket) {
		d->urgent_ticket = t;
		pthread_cond_broadcast(&d->catchup_cond);
	}
	zsd_unlock(d);
	pthread_mutex_unlock(&d->taker_lock);
	zsd_wait_upto(d, t);
}

void zsd_flush(struct zs_deferred *d)
{
	zsm_add_relaxed(&d->flushes, 1);
	if (d->mode == ZS_DEFER_SYNC)
		return;
	if (zsd_tls_draining == d) {
		/*
		 * Called from this framework's own drain(): waiting would wait for the very
		 * work item this thread is draining. Queue every buffer (the other workers,
		 * or this one once drain() returns, drain them) and return at once. In a fork
		 * child the outer inline drain picks them up.
		 */
		if (!d->forked) {
			pthread_mutex_lock(&d->taker_lock);
			zsd_take_all(d);
			pthread_mutex_unlock(&d->taker_lock);
		} else if (d->v2) {
			zsd_v2_kick(d);
		}
		return;
	}
	if (d->forked) {
		zsd_drain_inline(d);
		return;
	}
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
	unsigned int i;

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
		}
		zsd_slot_open(d, s);
		pthread_mutex_unlock(&d->taker_lock);
	}
	return list;	/* nr_grown is lowered by zsd_grow_put_list() */
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
	unsigned int n = 0, k;
	bool idle;
	uint64_t now;

	/*
	 * Once per tick, so no racy peek: d->lock is cheap next to the timer period.
	 * The clock is read under the lock, so spare_dry_ns (set under it) is never later.
	 */
	zsd_lock(d);
	now = zsd_now_ns();
	if ((!d->nr_grown && !d->nr_ready) || d->work_head ||
	    now - d->spare_dry_ns < d->max_delay_ns) {
		zsd_unlock(d);
		return;
	}
	k = d->nr_grown;
	/* Ready pages go too, counted in nr_grown while in transit (zsd_grow_put_list). */
	while ((pg = d->grow_ready) != NULL) {
		d->grow_ready = pg->next;
		d->nr_ready--;
		d->nr_grown++;
		pg->next = list;
		list = pg;
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
		n++;
		pg->next = list;
		list = pg;
	}
	idle = idle && k > n;	/* some grown page is neither spare nor ready */
	zsd_unlock(d);
	if (idle)
		list = zsd_slots_reclaim(d, list);
	zsd_grow_put_list(d, list);
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

/*
 * One timer tick, after the idle scan: wake the catch-up threads if the FIFO's head
 * has waited max_delay/4 (the low-priority workers are starved of CPU).
 */
static void zsd_timer_catchup(struct zs_deferred *d)
{
	if (!d->nr_catchup)
		return;
	zsd_lock(d);
	if (zsd_catchup_due_locked(d))
		pthread_cond_broadcast(&d->catchup_cond);
	zsd_unlock(d);
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
		zsd_timer_catchup(d);
		zsd_spare_shrink(d);
		pthread_mutex_lock(&d->timer_lock);
	}
	pthread_mutex_unlock(&d->timer_lock);
	return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* fork()                                                                              */

/*
 * Every live framework, for the fork handlers. Lock order: zsd_all_lock is taken
 * before any framework lock (the prepare handler holds it across fork()).
 */
static pthread_mutex_t zsd_all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zs_deferred *zsd_all;

static void zsd_register(struct zs_deferred *d)
{
	pthread_mutex_lock(&zsd_all_lock);
	d->all_prev = NULL;
	d->all_next = zsd_all;
	if (zsd_all)
		zsd_all->all_prev = d;
	zsd_all = d;
	pthread_mutex_unlock(&zsd_all_lock);
}

static void zsd_unregister(struct zs_deferred *d)
{
	pthread_mutex_lock(&zsd_all_lock);
	if (d->all_prev)
		d->all_prev->all_next = d->all_next;
	else if (zsd_all == d)
		zsd_all = d->all_next;
	if (d->all_next)
		d->all_next->all_prev = d->all_prev;
	d->all_next = d->all_prev = NULL;
	pthread_mutex_unlock(&zsd_all_lock);
}

static bool zsd_workers_busy_locked(struct zs_deferred *d)
{
	if (d->nr_refilling)
		return true;
	for (unsigned int i = 0; i < d->nr_started; i++)
		if (d->workers[i].busy_ticket)
			return true;
	return false;
}

/*
 * Prepare: bring d to a state the child can continue from with no other thread.
 *   1. taker_lock: no flush, idle drain or teardown in the middle of taking slots;
 *   2. close every slot and wait until it is quiet: no push is in flight (a push
 *      racing with this falls back, the caller frees synchronously: nothing lost);
 *   3. workers: finish the drain in progress, take no new one (fork_pending);
 *   4. the v2 array's lock, then d->lock, held across fork().
 * A drain() in progress must be able to finish: it must not fork, nor create or
 * destroy a framework, nor flush another framework that waits on this one.
 */
static void zsd_fork_quiesce(struct zs_deferred *d)
{
	pthread_mutex_lock(&d->taker_lock);
	if (d->forked) {
		/* A fork child forking again: no workers, slots closed for good. */
		if (d->v2)
			zsd_v2_lock(d);
		zsd_lock(d);
		return;
	}
	if (d->nr_slots)
		zsd_slots_close(d, 0, d->nr_slots);
	zsd_lock(d);
	d->fork_pending = true;
	while (zsd_workers_busy_locked(d))
		pthread_cond_wait(&d->done_cond, &d->lock);
	zsd_unlock(d);
	if (d->v2)
		zsd_v2_lock(d);
	zsd_lock(d);
}

static void zsd_fork_resume(struct zs_deferred *d)
{
	bool reopen = !d->forked;

	d->fork_pending = false;
	pthread_cond_broadcast(&d->work_cond);
	pthread_cond_broadcast(&d->catchup_cond);
	zsd_unlock(d);
	if (d->v2)
		zsd_v2_unlock(d);
	for (unsigned int i = 0; reopen && i < d->nr_slots; i++)
		zsd_slot_open(d, &d->slots[i]);
	pthread_mutex_unlock(&d->taker_lock);
}

/*
 * Child: the only thread is the one that forked, and it holds d's locks. No worker
 * nor timer exists here; rather than start threads in every child (most exec at
 * once), the child works synchronously: slots stay closed, so pushes return false
 * and callers free at once; buffers that held values are queued now, and flush and
 * destroy drain the queue in the calling thread. Condition variables and the timer's
 * lock may record waiters that do not exist here: they are made anew.
 */
static void zsd_fork_child_one(struct zs_deferred *d)
{
	if (!d->forked) {
		d->forked = true;
		d->fork_pending = false;
		d->nr_started = 0;
		d->have_timer = false;
		pthread_cond_init(&d->work_cond, NULL);
		pthread_cond_init(&d->done_cond, NULL);
		pthread_cond_init(&d->catchup_cond, NULL);
		pthread_cond_init(&d->timer_cond, NULL);
		pthread_mutex_init(&d->timer_lock, NULL);
		for (unsigned int i = 0; i < d->nr_slots; i++) {
			struct zsd_slot *s = &d->slots[i];
			struct zsd_page *pg = s->pg;

			s->owner = 0;
			s->wake = 0;
			if (!pg || !s->count)
				continue;
			pg->count = s->count;
			pg->first_ns = s->first_ns;
			s->pg = NULL;
			s->buf = NULL;
			s->count = 0;
			zsd_queue_locked_nowake(d, pg);
		}
	}
	zsd_unlock(d);
	if (d->v2)
		zsd_v2_unlock(d);
	pthread_mutex_unlock(&d->taker_lock);
}

static void zsd_fork_prepare(void)
{
	pthread_mutex_lock(&zsd_all_lock);
	for (struct zs_deferred *d = zsd_all; d; d = d->all_next)
		zsd_fork_quiesce(d);
}

static void zsd_fork_parent(void)
{
	for (struct zs_deferred *d = zsd_all; d; d = d->all_next)
		zsd_fork_resume(d);
	pthread_mutex_unlock(&zsd_all_lock);
}

static void zsd_fork_child(void)
{
	for (struct zs_deferred *d = zsd_all; d; d = d->all_next)
		zsd_fork_child_one(d);
	pthread_mutex_unlock(&zsd_all_lock);
}

/*
 * Registered at load time, in a fixed order across the library's subsystems
 * (constructor priorities): zsmalloc's prefault thread (200), zsmalloc (201), the
 * deferred framework (202), zswap (203).
 * Prepare handlers run in the reverse order: zswap parks its shrinker (which may
 * flush deferred frees) before the framework quiesces, and the framework's drains
 * (which release zspages) finish before zsmalloc parks its zspage-free thread.
 */
__attribute__((constructor(202))) static void zsd_fork_register(void)
{
	pthread_atfork(zsd_fork_prepare, zsd_fork_parent, zsd_fork_child);
}

/* ---------------------------------------------------------------------------------- */
/* Create, push, destroy, stats */

static void zsd_free_all(struct zs_deferred *d)
{
	/* Grown pages, wherever they are, all live in the reserved region. */
	if (d->grow_mem)
		munmap(d->grow_mem, (size_t)d->nr_grow_max * ZSM_PAGE_SIZE);
	if (d->grow_desc)
		munmap(d->grow_desc, (size_t)d->nr_grow_max * sizeof(struct zsd_page));
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
	pthread_cond_destroy(&d->catchup_cond);
	pthread_cond_destroy(&d->timer_cond);
	free(d);
}

static void zsd_stop_workers(struct zs_deferred *d)
{
	unsigned int i;

	zsd_lock(d);
	d->stop = true;
	pthread_cond_broadcast(&d->work_cond);
	pthread_cond_broadcast(&d->catchup_cond);
	zsd_unlock(d);
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
	/* Address space only: pages and descriptors are touched as growth reaches them. */
	d->nr_grow_max = d->nr_spare_max - d->nr_spare_cfg;
	if (d->nr_grow_max) {
		d->grow_mem = mmap(NULL, (size_t)d->nr_grow_max * ZSM_PAGE_SIZE,
				   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				   -1, 0);
		d->grow_desc = mmap(NULL, (size_t)d->nr_grow_max * sizeof(struct zsd_page),
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (d->grow_mem == MAP_FAILED)
			d->grow_mem = NULL;
		if (d->grow_desc == MAP_FAILED)
			d->grow_desc = NULL;
		if (!d->grow_mem || !d->grow_desc)
			return -ENOMEM;
	}
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
	/* Limits first: sizes past them would overflow the page and slot arithmetic. */
	if (!ops || !ops->push || !ops->drain || (unsigned int)c.mode > ZS_DEFER_SYNC ||
	    (unsigned int)c.worker_sched > ZS_DEFER_WORKERS_NORMAL ||
	    c.spare_pages > ZSD_MAX_SPARE || c.spare_pages_max > ZSD_MAX_SPARE ||
	    c.array_entries > ZSD_MAX_V2_ENTRIES) {
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
	d->worker_sched = c.worker_sched == ZS_DEFER_WORKERS_DEFAULT ? ZS_DEFER_WORKERS_NORMAL :
			  c.worker_sched;
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
	pthread_cond_init(&d->catchup_cond, NULL);
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
	/* As many catch-up threads as workers: a catch-up drains with the same parallelism. */
	d->nr_catchup = d->worker_sched != ZS_DEFER_WORKERS_NORMAL ? d->nr_workers : 0;
	if (!err) {
		d->workers = calloc(d->nr_workers + d->nr_catchup, sizeof(*d->workers));
		if (!d->workers)
			err = -ENOMEM;
	}
	for (i = 0; !err && i < d->nr_workers + d->nr_catchup; i++) {
		d->workers[i].d = d;
		d->workers[i].catchup = i >= d->nr_workers;
		err = -zs_thread_create(&d->workers[i].tid, zsd_worker_main, &d->workers[i]);
		if (!err)
			d->nr_started++;
	}
	/* v2 has no slots to scan, but catch-up threads need the timer's ticks. */
	if (!err && (d->nr_slots || d->nr_catchup)) {
		err = -zs_thread_create(&d->timer, zsd_timer_main, d);
		d->have_timer = !err;
	}
	if (err) {
		zsd_stop_workers(d);
		zsd_free_all(d);
		errno = -err;
		return NULL;
	}
	zsd_register(d);
	return d;
}

void zsd_destroy(struct zs_deferred *d)
{
	if (!d)
		return;
	/* First: a fork from now on leaves this framework alone (its owner is tearing it
	 * down, and that thread does not exist in the child). */
	zsd_unregister(d);
	if (d->have_timer) {
		pthread_mutex_lock(&d->timer_lock);
		d->timer_stop = true;
		pthread_cond_signal(&d->timer_cond);
		pthread_mutex_unlock(&d->timer_lock);
		pthread_join(d->timer, NULL);
	}
	if (d->mode != ZS_DEFER_SYNC && d->forked)
		zsd_drain_inline(d);
	else if (d->mode != ZS_DEFER_SYNC)
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
	zsd_lock(d);
	st->spare_low = d->spare_low;
	st->spare_allocated = d->nr_spare_cfg + d->nr_grown + d->nr_ready + d->nr_refilling;
	st->spare_high = d->nr_spare_cfg + d->grown_high;
	st->spare_grown = d->spare_grown;
	st->spare_max = d->nr_spare_max;
	zsd_unlock(d);
	st->rseq = d->lock_mode == ZSD_LOCK_RSEQ;
}
