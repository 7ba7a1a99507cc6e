/* SPDX-License-Identifier: MIT */
/*
 * Internal declarations of the userfaultfd region (zsmem/region.h).
 *
 * Files: region.c (create, destroy, stats), handler.c (the fault and event thread),
 * evict.c (eviction and the background reclaimer), prim.c (uffd ioctls, load and free
 * of one copy; called by the three others, calls none of them).
 *
 * Actors:
 *   handler   one thread per region; the only reader of the userfaultfd. Serves
 *             missing faults and processes unmap / remove / remap events, in the order
 *             the kernel delivers them.
 *   evictors  any thread in zsr_reclaim() and the background reclaimer. An evictor owns
 *             the pages it claimed (state EVICTING) until it commits them.
 *
 * Page states (struct zsr_page.state) and who moves them:
 *   NONE      no contents: the next fault maps zeros           handler: -> RESIDENT
 *   RESIDENT  mapped; with FILLING: published by the handler,  evictor: -> EVICTING
 *             its fill still in progress (evictors skip it)    handler (remove): -> NONE
 *   EVICTING  owned by one evictor; pte present and            evictor: -> EVICTED,
 *             write-protected until its DONTNEED                         RESIDENT (abort),
 *                                                                        NONE / GONE (dropped)
 *   EVICTED   contents in {handle, len} or the same-fill word  handler: -> RESIDENT (fault),
 *                                                                        NONE / GONE (events)
 *   GONE      not part of the region any more (unmapped or moved away)
 * Events never take a page away from an evictor: they set DROP_NONE / DROP_GONE / MOVED in
 * `flags` and the evictor applies them at commit.
 *
 * The table is mmap'd whole and populated as entries are written; on our kernel even
 * reading an untouched entry allocates its page (no zero page on a read fault). So no
 * sweep goes past r->hi: every entry at or above it was never written (NONE). Whoever
 * writes an entry first moves hi past it (zsr_touch).
 *
 * Invariant (under r->lock): nr_resident == #RESIDENT + #EVICTING,
 * nr_stored == #EVICTED with a pool object, nr_same == #EVICTED same-filled,
 * compr_bytes == sum of len over EVICTED pool objects.
 *
 * Lock order: r->lock is a leaf: nothing is called with it held that may fault on the
 * region, block on the handler, or take another lock (zs_* calls are made outside it).
 */
#ifndef ZSMEM_REGION_INTERNAL_H
#define ZSMEM_REGION_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zsmem/region.h>
#include <zsmem/zsmalloc.h>

#include "compress/zcomp.h"

#define ZSR_PAGE		4096ul
#define ZSR_BATCH		64u	/* pages per eviction batch (>= 33: one TLB flush per madvise) */
#define ZSR_MIN_CAP		64u	/* smallest effective max_resident, pages */
#define ZSR_THROTTLE_MS		20u	/* longest a fault waits for the reclaimer */
#define ZSR_HFREE		32u	/* refaulted copies the handler frees per batch */
#define ZSR_RA_MIN		4u	/* first readahead window on a sequential refault */
#define ZSR_RA_MAX		32u	/* largest readahead window (pages) */
#define ZSR_RA_STREAMS		4u	/* sequential runs followed at once */
#define ZSR_ZA_MAX		64u	/* largest map-ahead window over untouched pages */

enum zsr_state { PS_NONE, PS_RESIDENT, PS_EVICTING, PS_EVICTED, PS_GONE };

enum zsr_flags {
	PF_REF = 1u << 0,	/* CLOCK reference: set at fault-in, cleared by the hand */
	PF_HOT = 1u << 1,	/* refaulted: one more pass before eviction */
	PF_SAME = 1u << 2,	/* EVICTED: handle holds the repeated word, no pool object */
	PF_RAW = 1u << 3,	/* EVICTED: pool object is the raw page (incompressible) */
	PF_DROP_NONE = 1u << 4,	/* EVICTING: removed (DONTNEED) meanwhile: becomes NONE */
	PF_DROP_GONE = 1u << 5,	/* EVICTING: unmapped meanwhile: becomes GONE */
	PF_MOVED = 1u << 6,	/* EVICTING: mremap'd meanwhile: see struct zsr_move */
	PF_FILLED = 1u << 7,	/* EVICTING + DROP_NONE: the handler mapped zeros since */
	PF_ZAPPING = 1u << 8,	/* EVICTING: its evictor DONTNEEDs or moves it out now: a
				 * fault on it waits for the commit */
	PF_FILLING = 1u << 9,	/* RESIDENT: published by the handler, its fill not done yet */
};

struct zsr_page {
	unsigned long handle;	/* pool handle, or the same-fill word */
	uint16_t len;		/* compressed length (4096 = raw) */
	uint8_t state;
	uint16_t flags;
};

/* A page moved out of the region by mremap while an evictor owned it (PF_MOVED): the
 * evictor puts its contents back at `to` at commit. */
struct zsr_move {
	size_t idx;		/* the page's former index (GONE now or EVICTING) */
	uintptr_t to;		/* where its contents belong now; 0 = dropped since */
	bool ready;		/* the evictor is done: the handler may finish the move */
	bool has_copy;		/* pe holds the contents (else they are mapped at `to`) */
	struct zsr_page pe;	/* EVICTED-style entry when has_copy */
};

/* A DONTNEED range the region issues itself: its remove event is not an application's. */
struct zsr_zap {
	uintptr_t start, end;
	bool used;		/* registered by an evictor, until its madvise returned */
	bool consumed;		/* the handler has seen its remove event */
};

#define ZSR_MAX_ZAPS	256
#define ZSR_MAX_HANDLERS 4u	/* per-CPU handler threads up to this many CPUs (handler.c) */

/* One handler thread (handler.c, "The handler threads"). */
struct zsr_hthread {
	struct zsr *r;
	pthread_t thread;
	int cpu;		/* the CPU it is pinned to; -1: not pinned */
	int ep;			/* its epoll set: uffd and eventfd, edge-triggered */
};

struct zsr {
	uint8_t *base;
	size_t size;
	size_t nr_pages;
	int uffd;
	int efd;			/* eventfd: wakes the handler (stop, parked faults) */
	bool user_mode_only;
	bool deferred;
	bool map_ahead;			/* cfg.map_ahead: zero pages ahead of in-order first touches */
	size_t cap;			/* max resident pages; 0 = no cap */

	struct zs_pool *pool;
	struct zcomp *comp;
	size_t huge_size;		/* zs_huge_class_size: store raw from here */

	pthread_mutex_t lock;		/* page table, counters, zaps, moves */
	pthread_cond_t reclaim_cv;	/* reclaimer waits here */
	struct zsr_page *pages;		/* nr_pages entries (mmap'd, lazily populated) */
	size_t hand;			/* CLOCK hand, < hi */
	size_t hi;			/* entries >= hi never written (NONE) */
	uint64_t nr_resident, nr_stored, nr_same, nr_huge, compr_bytes;
	uint64_t faults, refaults, evictions, dropped, throttled, readahead;
	struct zsr_zap zaps[ZSR_MAX_ZAPS];
	struct zsr_move *moves;
	size_t nr_moves, cap_moves;
	bool stop;			/* reclaimer: exit */
	bool reclaim_wanted;
	bool kick_wanted;		/* a fault parked until an evictor's commit: kick then */

	pthread_t reclaimer;
	bool have_reclaimer;
	struct zsr_hthread ht[ZSR_MAX_HANDLERS];
	unsigned nr_handlers;		/* threads started */
	atomic_bool handler_stop;	/* relaxed flag; the eventfd write is the wakeup */
	atomic_bool serving;		/* a handler thread is serving (handler.c) */
	atomic_bool parked;		/* faults are parked: handler threads wake every ms */
	struct zsr_hstate *hs;		/* the handler's queues (the serving thread only) */
	/*
	 * Read generations: the handler bumps read_gen before each read(2) of the uffd
	 * and sets done_gen = read_gen whenever every event read so far is processed
	 * (under r->lock, with a broadcast on events_cv). An evictor whose DONTNEED has
	 * returned knows its remove event was read by a read numbered <= read_gen; once
	 * done_gen reaches that, the handler has matched it against r->zaps.
	 */
	atomic_uint_fast64_t read_gen;
	uint64_t done_gen;		/* under r->lock */
	pthread_cond_t events_cv;
	/* claim waits here for a page's fill to end (FILLING cleared or put back) */
	pthread_cond_t fill_cv;
	unsigned fill_waiters;		/* under r->lock */
};

static inline size_t zsr_idx(const struct zsr *r, uintptr_t addr)
{
	return (addr - (uintptr_t)r->base) / ZSR_PAGE;
}
/* Entry i is about to be written for the first time, maybe. Under r->lock. */
static inline void zsr_touch(struct zsr *r, size_t i)
{
	if (i >= r->hi)
		r->hi = i + 1;
}
static inline bool zsr_in(const struct zsr *r, uintptr_t addr)
{
	return addr >= (uintptr_t)r->base && addr < (uintptr_t)r->base + r->size;
}
/* prim.c */
/* Frees a pool object through the deferred path when enabled. Never under r->lock. */
void _zsr_free_handle(struct zsr *r, unsigned long handle);
/* Rebuilds a page from an EVICTED entry's {handle, len, flags} into buf: 0 or -EIO. */
int _zsr_load(struct zsr *r, const struct zsr_page *pe, void *buf);
/* Counts an EVICTED entry in nr_same / nr_stored, compr_bytes, nr_huge. Under r->lock. */
void _zsr_count_evicted(struct zsr *r, const struct zsr_page *pe);
/* Wakes the handler thread (eventfd). */
void _zsr_kick_handler(struct zsr *r);
/* UFFDIO_COPY / ZEROPAGE of one page. wake: the waiters are woken when it succeeded
 * (the caller published the page state before); else the caller publishes, then
 * _zsr_wake. A failed fill never wakes. 0 or -errno (-EEXIST, -ENOENT...). drain
 * non-NULL (the handler): -EAGAIN is returned; NULL (evictors): retried until the
 * event is read. */
int _zsr_copy(struct zsr *r, uintptr_t dst, const void *src, bool wake, void (*drain)(struct zsr *));
int _zsr_zeropage(struct zsr *r, uintptr_t dst, bool wake, void (*drain)(struct zsr *));
/* UFFDIO_WRITEPROTECT of [start, start+len): 0 or -errno; retries on EAGAIN. */
int _zsr_wp(struct zsr *r, uintptr_t start, size_t len, bool protect, void (*drain)(struct zsr *));
void _zsr_wake(struct zsr *r, uintptr_t start, size_t len);

/* handler.c */
struct zsr_hstate;
/* The handler's state and each thread's CPU and epoll set (r->ht[0..n)): n, or -1 with
 * errno. _zsr_handlers_fini undoes it once the threads are joined. */
int _zsr_handlers_init(struct zsr *r);
void _zsr_handlers_fini(struct zsr *r);
void *_zsr_handler_main(void *arg);	/* arg: a struct zsr_hthread */

/* evict.c */
long _zsr_evict(struct zsr *r, size_t want_pages);
void *_zsr_reclaimer_main(void *arg);

#endif
