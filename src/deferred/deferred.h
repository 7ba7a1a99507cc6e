/* SPDX-License-Identifier: MIT */
/*
 * deferred.h - the deferred free framework, independent of struct zs_pool.
 *
 * A struct zs_deferred owns:
 *   - slots: ZSD_SUBSLOTS per CPU (ZS_DEFER_PERCPU) or one per size class
 *     (ZS_DEFER_PER_CLASS), each holding one 4 KiB buffer page that push() fills, or
 *     none (NULL) after a taker detached it or when the spare pool ran dry;
 *   - the page pool: every buffer page, described by a struct zsd_page; pages not in a
 *     slot and not queued are "spare". The floor (cfg spare_pages, default
 *     max(64, 8 * online CPUs): the kernel series' fixed 64, growing with the CPUs
 *     that can fill pages at once) is allocated at create in one block. A burst can
 *     still outrun the workers (a push costs tens of ns, draining a value hundreds),
 *     so when a full buffer finds the spare stack empty the pusher takes one more
 *     page ("grown", from a region reserved at create), up to the ceiling (cfg
 *     spare_pages_max, default max(floor, 1024) = 4 MiB). Once a burst eats into the
 *     floor, a worker faults grown pages in ahead of need in batches (refill, one
 *     MADV_POPULATE_WRITE, ~0.6 us a page, then a write to each: ~5 us a page for the
 *     hypervisor's tables on a VM with shadow paging), so the pusher's growth is a list
 *     pop, not a 15 us first-touch fault per page. The timer frees grown and ready pages once
 *     the stack has not run dry for max_delay and nothing is queued, so an idle pool
 *     shrinks back to the floor. Growth is only ever on the page-swap slow path
 *     (d->lock is taken there anyway); the common push path is unchanged;
 *   - a FIFO of full (or idle, or flushed) pages, drained by a few worker threads;
 *   - a timer thread that takes buffers whose oldest value is older than max_delay/2;
 *   - or, in ZS_DEFER_V2_ARRAY mode, v2's single array (v2array.c).
 *
 * Invariant (mode PERCPU / PER_CLASS), under d->lock with no push in flight:
 *   nr_pages + nr_grown == |pages in slots| + |queued| + |being drained| + |spare|
 *   nr_pages == nr_spare_cfg + (slots that get a page at create)
 *   nr_grown + nr_ready + nr_refilling <= nr_spare_max - nr_spare_cfg (reservations)
 *
 * Lock order: zsd_all_lock (fork) -> taker_lock -> (slot closed) -> d->lock. Pushers
 * own a slot (not a lock anyone sleeps on) and may take d->lock while they hold it.
 * One exception to "v2->lock is innermost" below: the fork prepare handler takes
 * v2->lock, then d->lock (nobody takes v2->lock while holding d->lock, so this order
 * cannot deadlock).
 *
 * Async-signal safety of the push (zs_free_deferred): the common path takes no lock
 * and the rseq section restarts when a signal arrives. Where a push would need a lock
 * (the page swap takes d->lock; the worker wake-up is a condvar signal; a per-class
 * slot is spun on), a push from a signal handler must not wait for a lock the thread
 * it interrupted holds. So every thread counts, in zsd_tls_busy, the framework locks
 * it holds or waits on and the push slow paths it is in; a push that finds the count
 * non-zero on its own thread is a signal handler's push nested in one of those, and
 * returns false (or leaves its full page unqueued) instead of taking a lock. Grown
 * spare pages come from a region reserved at create, never from malloc. The library's
 * own threads block all signals (common/thread.h).
 *
 * fork(): handlers registered once (deferred.c) quiesce every framework in the
 * parent (slots closed and quiet, workers idle, locks held) so that the child starts
 * from a consistent state. The child has no workers nor timer: its pushes return
 * false (the caller frees synchronously) and flush/destroy drain inline.
 *
 * v2 array (v2array.c): v2->drain_mu (mutex, one drain at a time) -> v2->lock
 * (spinlock: pushers trylock it, the drain and zsd_v2_kick lock it). v2->lock is
 * innermost: nothing is locked under it, d->lock in particular; the drain work item
 * is claimed under v2->lock and queued under d->lock after v2->lock is released
 * (v2->handoffs counts claims in between; zsd_v2_kick waits for them). A worker
 * drains v2 with no d->lock held; zsd_v2_kick runs under taker_lock.
 *
 * The push path and the cross-slot protocol are explained at the top of percpu.c.
 */
#ifndef ZSMEM_DEFERRED_INTERNAL_H
#define ZSMEM_DEFERRED_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <zsmem/zsmalloc.h>

#include "common/atomics.h"
#include "common/compiler.h"
#include "common/page.h"

#define ZSD_SLOT_SHIFT		7		/* sizeof(struct zsd_slot) == 1 << 7 */
/*
 * Per-CPU mode gives each CPU ZSD_SUBSLOTS slots, tried in order by the push path: a
 * pusher preempted while it holds a slot (after the rseq commit, before the release)
 * then blocks only that slot, not every other thread of its CPU for a whole time
 * slice. Only sub-slot 0 gets a page at create; the others take a spare on first use.
 */
#define ZSD_SUB_SHIFT		2
#define ZSD_SUBSLOTS		(1u << ZSD_SUB_SHIFT)
/* The same as literals, for the assembly: bytes of slots per CPU, and its log2. */
#define ZSD_CPU_SHIFT		9
#define ZSD_CPU_STRIDE		512
#define ZSD_SLOT_BYTES		128
#define ZSD_DEFAULT_DELAY_US	10000u
#define ZSD_DEFAULT_V2_ENTRIES	32768u
#define ZSD_MAX_WORKERS		64u

/* Extra knobs for the built-in handle ops (pool_glue.c); NULL for user ops. */
struct zsd_extra {
	/* ZS_DEFER_PER_CLASS: slot index of a value, < nr_routes. */
	unsigned int (*route)(void *private, unsigned long value);
	unsigned int nr_routes;
	/*
	 * push() stores the value as buf[count] of an unsigned long array: v2's array may
	 * then be handed to drain() as it is, without repacking into pages.
	 */
	bool ulong_values;
};

/* How a pusher acquires a slot (chosen once at create). */
enum zsd_lock_mode {
	ZSD_LOCK_RSEQ,		/* rseq critical section commits owner = 1 (percpu.c) */
	ZSD_LOCK_TRY,		/* fallback: CAS owner 0 -> 1 on the sched_getcpu() slot */
	ZSD_LOCK_SPIN,		/* per-class queues: CAS, spinning while busy or closed */
};

/* A buffer page and what a worker needs to drain it. */
struct zsd_page {
	struct zsd_page *next;	/* spare list or work FIFO */
	void *mem;		/* ZSM_PAGE_SIZE bytes */
	unsigned int count;	/* values in mem when queued */
	unsigned int kind;	/* ZSD_WORK_* */
	uint64_t first_ns;	/* when the oldest value was pushed */
	uint64_t queued_ns;	/* when it was queued to the workers */
	uint64_t ticket;	/* queue order, for flush */
	bool grown;		/* beyond the floor: in the grow region (shrink, destroy) */
};

enum { ZSD_WORK_PAGE, ZSD_WORK_V2 };

/*
 * One per CPU or per class, 128 bytes so that two CPUs' slots never share a cache line
 * (nor an adjacent-line prefetch pair). The rseq assembly in percpu.c relies on owner
 * being at offset 0 and closed at offset 4 (aarch64 tests both with one 8-byte load).
 *
 * owner:  1 while a pusher holds the slot. Set by the pusher (rseq commit or CAS),
 *         cleared by the same thread with a store-release. Only read by others.
 * closed: 1 while a taker (flush, timer, teardown) wants the slot; written only by the
 *         taker holding d->taker_lock. While closed, no pusher can acquire the slot.
 * pg/buf/count/first_ns/pushed: written only by whoever owns the slot (the pusher
 *         with owner == 1, or the taker after closing and seeing owner == 0). The
 *         timer and the statistics read count/first_ns/pushed racily, so they are
 *         written with relaxed atomic stores (plain moves) and read the same way.
 */
struct zsd_slot {
	uint32_t owner;
	uint32_t closed;
	uint32_t count;
	uint32_t wake;		/* the holder queued a page: wake a worker after release */
	void *buf;
	struct zsd_page *pg;
	uint64_t first_ns;
	uint64_t pushed;
	char pad[128 - 48];
};
_Static_assert(sizeof(struct zsd_slot) == (1u << ZSD_SLOT_SHIFT), "slot size");
_Static_assert(ZSD_SLOT_BYTES == (1u << ZSD_SLOT_SHIFT), "slot bytes");
_Static_assert(ZSD_CPU_SHIFT == ZSD_SLOT_SHIFT + ZSD_SUB_SHIFT, "cpu shift");
_Static_assert(ZSD_CPU_STRIDE == (1u << ZSD_CPU_SHIFT), "cpu stride");

struct zsd_v2;
struct zs_deferred;

struct zsd_worker {
	pthread_t tid;
	struct zs_deferred *d;
	uint64_t busy_ticket;		/* ticket being drained, 0 = idle; under d->lock */
	bool catchup;			/* a catch-up thread (deferred.c), not a worker */
};

struct zs_deferred {
	/* Read-mostly, hot on the push path. */
	enum zs_deferred_mode mode;
	enum zsd_lock_mode lock_mode;
	struct zsd_slot *slots;
	unsigned int nr_slots;
	unsigned int nr_cpus;		/* PERCPU: nr_slots == nr_cpus * ZSD_SUBSLOTS */
	long rseq_off;			/* glibc's __rseq_offset, copied */
	enum zs_push_ret (*push)(void *buf, unsigned int count, unsigned long value);
	void (*drain)(void *private, void *buf, unsigned int count);
	void *private;
	struct zsd_extra extra;
	struct zsd_v2 *v2;

	/* Slow-path counters (atomic adds, never on the common push path). */
	uint64_t fallbacks_busy;
	uint64_t fallbacks_nospare;
	uint64_t drained;
	uint64_t drain_calls;
	uint64_t idle_drains;
	uint64_t flushes;
	uint64_t wait_ns_max;
	uint64_t wait_ns_sum;
	uint64_t wait_samples;

	/* Configuration */
	unsigned int nr_spare_cfg;	/* the floor */
	unsigned int nr_spare_max;	/* the ceiling, >= nr_spare_cfg */
	unsigned int nr_workers;
	uint64_t max_delay_ns;
	enum zs_deferred_worker_sched worker_sched;

	/* Everything below is protected by lock. */
	pthread_mutex_t lock __attribute__((aligned(64)));
	pthread_cond_t work_cond;	/* workers wait for work or stop */
	pthread_cond_t done_cond;	/* flushers wait for tickets to complete */
	struct zsd_page *spare;		/* spare pages, LIFO */
	unsigned int nr_spare;
	unsigned int spare_low;
	unsigned int nr_grown;		/* grown pages allocated now (or being allocated) */
	unsigned int grown_high;	/* most grown pages at once */
	uint64_t spare_grown;		/* grown pages allocated, cumulative */
	uint64_t spare_dry_ns;		/* last time the spare stack was found empty */
	struct zsd_page *work_head, *work_tail;
	uint64_t next_ticket;		/* last ticket handed out */
	/*
	 * Catch-up threads (low-priority workers, deferred.c): they drain the FIFO once its
	 * head waited max_delay/4, or while its ticket is <= urgent_ticket (a flush).
	 */
	pthread_cond_t catchup_cond;
	uint64_t urgent_ticket;
	bool catchup_active;		/* the head was overdue: drain until empty */
	uint64_t catchup_drains;	/* pages the catch-up threads drained, cumulative */
	bool stop;
	bool fork_pending;		/* fork() in progress: workers take no new work */
	/*
	 * Grown pages (beyond the floor) come from a region reserved at create: nr_grow_max
	 * descriptors and pages of address space, touched only when used, so growing needs
	 * no malloc (async-signal-safe) and cannot fail. Pages given back are madvised
	 * away and their descriptors kept on grow_free.
	 */
	struct zsd_page *grow_desc;
	void *grow_mem;
	unsigned int nr_grow_max;
	unsigned int grow_used;		/* descriptors ever handed out */
	struct zsd_page *grow_free;
	/*
	 * Refill ahead (pagepool.c): grown pages a worker has already faulted in, handed
	 * to the next pushers that find the spare stack empty, so that a burst's pusher
	 * never takes a first-touch fault. Not in nr_grown until a pusher takes one;
	 * nr_refilling descriptors are being populated by a worker outside the lock.
	 *   nr_grown + nr_ready + nr_refilling + |grow_free| + nr_grow_max - grow_used
	 *     == nr_grow_max
	 */
	struct zsd_page *grow_ready;
	unsigned int nr_ready;
	unsigned int nr_refilling;
	bool refill_wanted;		/* a pusher asked the workers for a refill */

	/* Serialises takers (flush, timer, teardown) so a slot has one taker at a time. */
	pthread_mutex_t taker_lock;

	/* Timer thread (bounded delay) */
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cond;
	bool timer_stop;
	bool have_timer;
	pthread_t timer;

	struct zsd_worker *workers;	/* nr_workers, then nr_catchup */
	unsigned int nr_catchup;	/* nr_workers with worker_sched IDLE or NICE, else 0 */
	unsigned int nr_started;	/* threads of both kinds started */

	/* Set in a fork child only: no threads; pushes refused, flush and destroy inline. */
	bool forked;
	struct zs_deferred *all_next, *all_prev;	/* every framework, for fork */

	uint8_t *taken;			/* nr_slots flags, under taker_lock */
	struct zsd_page *pages;		/* nr_pages descriptors */
	unsigned int nr_pages;
	void *page_mem;
};

/* deferred.c: the framework */
struct zs_deferred *zsd_create(const struct zs_deferred_ops *ops, void *private,
			       const struct zs_deferred_config *cfg, const struct zsd_extra *extra);
void zsd_flush(struct zs_deferred *d);
void zsd_destroy(struct zs_deferred *d);
void zsd_get_stats(struct zs_deferred *d, struct zs_deferred_stats *st);
/* Configuration limits (zsd_create returns EINVAL past them). */
#define ZSD_MAX_SPARE		(1u << 20)	/* buffer pages: 4 GiB */
#define ZSD_MAX_V2_ENTRIES	(1u << 26)

/*
 * Per thread: framework locks held or waited on and push slow paths entered (see the
 * lock-order block). Initial-exec TLS: a plain %fs-relative access, no lazy allocation
 * a signal handler could run into. Only this thread and its signal handlers touch it,
 * so plain accesses with compiler (signal) fences are the right tool.
 */
extern _Thread_local unsigned int zsd_tls_busy __attribute__((tls_model("initial-exec")));

static inline void zsd_busy_enter(void)
{
	zsd_tls_busy++;
	/* Compiler order only: a handler runs on this thread, between our instructions. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void zsd_busy_exit(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	zsd_tls_busy--;
}

/* d->lock, counted in zsd_tls_busy (also while a cond_wait has it released). */
static inline void zsd_lock(struct zs_deferred *d)
{
	zsd_busy_enter();
	pthread_mutex_lock(&d->lock);
}

static inline void zsd_unlock(struct zs_deferred *d)
{
	pthread_mutex_unlock(&d->lock);
	zsd_busy_exit();
}


/* percpu.c: slot acquisition and the cross-slot protocol */
bool zsd_rseq_usable(void);
long zsd_rseq_offset(void);
bool zsd_push_slots(struct zs_deferred *d, unsigned long value);
/* zsd_push_slots() for lock_mode ZSD_LOCK_RSEQ. */
bool zsd_push_rseq(struct zs_deferred *d, unsigned long value);
/* Closes slots [first, first + n): afterwards no pusher holds or can acquire them. */
void zsd_slots_close(struct zs_deferred *d, unsigned int first, unsigned int n);
/* The same in two steps: close and fence; then a slot is ours once it is quiet. */
void zsd_slots_close_begin(struct zs_deferred *d, unsigned int first, unsigned int n);
bool zsd_slot_quiet(struct zsd_slot *s);
/* Busy-wait step: pause, then yield (the holder may be preempted). */
void zsd_relax(unsigned int spins);
void zsd_slot_open(struct zs_deferred *d, struct zsd_slot *s);

/* v2array.c */
struct zsd_v2 *zsd_v2_create(struct zs_deferred *d, unsigned int entries);
bool zsd_v2_push(struct zs_deferred *d, unsigned long value);
/* Queues a drain if the array holds values and none is queued (flush, teardown). */
void zsd_v2_kick(struct zs_deferred *d);
/* Worker side: drain the array. */
void zsd_v2_drain(struct zs_deferred *d);
uint64_t zsd_v2_pushed(struct zs_deferred *d);
void zsd_v2_destroy(struct zsd_v2 *v2);
/* fork: hold the array still (no claim in flight once locked), and let it go. */
void zsd_v2_lock(struct zs_deferred *d);
void zsd_v2_unlock(struct zs_deferred *d);

/* false: not stored, the caller frees synchronously. Inline: one call less per push. */
static inline bool zsd_push(struct zs_deferred *d, unsigned long value)
{
	/* The common case in one test: lock_mode is RSEQ only in mode PERCPU. */
	if (likely(d->lock_mode == ZSD_LOCK_RSEQ))
		return zsd_push_rseq(d, value);
	if (d->mode == ZS_DEFER_PERCPU || d->mode == ZS_DEFER_PER_CLASS)
		return zsd_push_slots(d, value);
	if (d->mode == ZS_DEFER_V2_ARRAY)
		return zsd_v2_push(d, value);
	zsm_add_relaxed(&d->fallbacks_nospare, 1);	/* ZS_DEFER_SYNC: no buffer at all */
	return false;
}

#endif /* ZSMEM_DEFERRED_INTERNAL_H */
