// SPDX-License-Identifier: MIT
/*
 * The region's handler: the only reader of the userfaultfd. It may run on one of several
 * threads, one at a time ("The handler threads", at the end of the file).
 *
 * Ordering. read(2) on a userfaultfd returns pending faults before pending events, so a
 * fault read together with an event may have been raised after it (a fault at the
 * destination of an mremap, say). The handler therefore keeps two queues and always
 * processes every queued event before the next fault. Any fill ioctl that answers
 * EAGAIN (an event is pending, not yet read) makes the handler read the messages and
 * park the fault; parked faults are retried after the events, every millisecond while
 * any are parked, and whenever an evictor kicks the eventfd.
 *
 * The handler never waits for an evictor: an evictor's own DONTNEED blocks until its
 * remove event is read, and an evictor's read of a page the application removed
 * faults into this thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <zsmem/lab.h>

#include "common/thread.h"
#include "region_internal.h"

struct fault {
	uintptr_t addr;
	uint64_t flags;
	uint64_t t0_ms;		/* first time it was parked; 0 = never */
};

struct zsr_hstate {
	struct uffd_msg *ev;
	size_t ev_head, ev_n, ev_cap;
	struct fault *fq;
	size_t fq_head, fq_n, fq_cap;
	struct fault *parked;
	size_t np, cap_p;
	unsigned char *buf;	/* one page: decompression target */
	unsigned char *zero;	/* one zero page: source of write first-touch fills */
	unsigned long frees[ZSR_HFREE];	/* copies of refaulted pages, freed in a batch */
	size_t nfree;
	struct {
		size_t next;	/* the refault that would continue this sequential run */
		size_t win;	/* its readahead window (pages); 0 = not sequential yet */
	} ra[ZSR_RA_STREAMS];
	unsigned ra_victim;	/* the stream slot a new run takes (round robin) */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;

	while (n < need)
		n *= 2;
	if (n == *cap)
		return p;
	p = realloc(p, n * elem);
	if (!p) {
		/* The handler cannot drop a message: every fault must be answered. */
		fprintf(stderr, "zsmem region: handler out of memory\n");
		abort();
	}
	*cap = n;
	return p;
}

static void push_fault(struct zsr_hstate *h, const struct fault *f)
{
	if (h->fq_head && h->fq_head == h->fq_n)
		h->fq_head = h->fq_n = 0;
	h->fq = grow(h->fq, &h->fq_cap, h->fq_n + 1, sizeof(*h->fq));
	h->fq[h->fq_n++] = *f;
}

static void park(struct zsr_hstate *h, const struct fault *f)
{
	h->parked = grow(h->parked, &h->cap_p, h->np + 1, sizeof(*h->parked));
	h->parked[h->np] = *f;
	if (!h->parked[h->np].t0_ms)
		h->parked[h->np].t0_ms = now_ms();
	h->np++;
}

/* Every event read so far is processed: let evictors waiting on their zaps go. */
static void events_done(struct zsr *r)
{
	uint64_t g = atomic_load_explicit(&r->read_gen, memory_order_relaxed);

	pthread_mutex_lock(&r->lock);
	if (r->done_gen != g) {
		r->done_gen = g;
		pthread_cond_broadcast(&r->events_cv);
	}
	pthread_mutex_unlock(&r->lock);
}

/* Reads every pending message into the queues. Called on EAGAIN, and by the loop. */
static void drain(struct zsr *r)
{
	struct zsr_hstate *h = r->hs;
	struct uffd_msg m[64];
	ssize_t n;
	size_t i, k;

	for (;;) {
		/* Relaxed is enough: only the serving thread writes it, and evictors read it
		 * after their madvise returned, i.e. after the read(2) below that
		 * released them (the syscall orders the two). */
		atomic_fetch_add_explicit(&r->read_gen, 1, memory_order_relaxed);
		n = read(r->uffd, m, sizeof(m));
		if (n <= 0) {
			if (h->ev_head >= h->ev_n)
				events_done(r);
			return;
		}
		k = (size_t)n / sizeof(m[0]);
		for (i = 0; i < k; i++) {
			if (m[i].event == UFFD_EVENT_PAGEFAULT) {
				struct fault f = { m[i].arg.pagefault.address & ~(ZSR_PAGE - 1),
						   m[i].arg.pagefault.flags, 0 };
				push_fault(h, &f);
			} else {
				if (h->ev_head && h->ev_head == h->ev_n)
					h->ev_head = h->ev_n = 0;
				h->ev = grow(h->ev, &h->ev_cap, h->ev_n + 1, sizeof(*h->ev));
				h->ev[h->ev_n++] = m[i];
			}
		}
		if (k < sizeof(m) / sizeof(m[0])) {
			if (h->ev_head >= h->ev_n)
				events_done(r);
			return;
		}
	}
}

/* ---------------------------------------------------------------------------------- */
/* Events                                                                              */

/* Index of a pending move whose destination is addr, or -1. Under r->lock. */
static long move_at(struct zsr *r, uintptr_t addr)
{
	size_t i;

	for (i = 0; i < r->nr_moves; i++)
		if (r->moves[i].to == addr)
			return (long)i;
	return -1;
}

static void push_move(struct zsr *r, const struct zsr_move *m)
{
	r->moves = grow(r->moves, &r->cap_moves, r->nr_moves + 1, sizeof(*r->moves));
	r->moves[r->nr_moves++] = *m;
}

/* Takes an EVICTED entry out of the counters. Under r->lock. */
static void uncount_evicted(struct zsr *r, const struct zsr_page *pe)
{
	if (pe->flags & PF_SAME) {
		r->nr_same--;
	} else {
		r->nr_stored--;
		r->compr_bytes -= pe->len;
		if (pe->flags & PF_RAW)
			r->nr_huge--;
	}
}

/*
 * The application removed (DONTNEED: to = PS_NONE) or unmapped (to = PS_GONE)
 * [s, e): drop the compressed copies, in chunks so the lock is held briefly.
 */
static void drop_range(struct zsr *r, uintptr_t s, uintptr_t e, enum zsr_state to)
{
	unsigned long handles[256];
	uintptr_t lo = s < (uintptr_t)r->base ? (uintptr_t)r->base : s;
	uintptr_t hi = e > (uintptr_t)r->base + r->size ? (uintptr_t)r->base + r->size : e;
	size_t i, end, nh, k;

	pthread_mutex_lock(&r->lock);
	for (k = 0; k < r->nr_moves; k++)
		if (r->moves[k].to >= s && r->moves[k].to < e)
			r->moves[k].to = 0;	/* its destination is gone or zeroed */
	pthread_mutex_unlock(&r->lock);
	if (lo >= hi)
		return;
	i = zsr_idx(r, lo);
	end = zsr_idx(r, hi + ZSR_PAGE - 1);
	pthread_mutex_lock(&r->lock);
	if (to == PS_NONE && end > r->hi)
		end = r->hi;	/* above hi every entry is NONE already */
	else if (end > 0)
		zsr_touch(r, end - 1);	/* GONE must be recorded: unmap_live skips it */
	pthread_mutex_unlock(&r->lock);
	while (i < end) {
		nh = 0;
		pthread_mutex_lock(&r->lock);
		for (; i < end && nh < 256; i++) {
			struct zsr_page *pe = &r->pages[i];

			switch (pe->state) {
			case PS_RESIDENT:
				r->nr_resident--;
				pe->state = (uint8_t)to;
				pe->flags = 0;
				break;
			case PS_EVICTED:
				uncount_evicted(r, pe);
				if (!(pe->flags & PF_SAME))
					handles[nh++] = pe->handle;
				r->dropped++;
				pe->state = (uint8_t)to;
				pe->flags = 0;
				break;
			case PS_EVICTING:
				pe->flags |= to == PS_GONE ? PF_DROP_GONE : PF_DROP_NONE;
				break;
			case PS_NONE:
				pe->state = (uint8_t)to;
				break;
			default:
				break;
			}
		}
		pthread_mutex_unlock(&r->lock);
		for (k = 0; k < nh; k++)
			_zsr_free_handle(r, handles[k]);
	}
}

static void on_remove(struct zsr *r, uintptr_t s, uintptr_t e)
{
	size_t k;

	pthread_mutex_lock(&r->lock);
	for (k = 0; k < ZSR_MAX_ZAPS; k++) {
		struct zsr_zap *z = &r->zaps[k];

		if (z->used && !z->consumed && z->start == s && z->end == e) {
			/* An evictor's own DONTNEED. Should the application have removed the
			 * very same range at the same time, the two events are alike and the
			 * other one is taken for the application's: same outcome. */
			z->consumed = true;
			pthread_mutex_unlock(&r->lock);
			return;
		}
	}
	pthread_mutex_unlock(&r->lock);
	drop_range(r, s, e, PS_NONE);
}

/* mremap moved [from, from+len) to [to, to+len): those pages leave the region. */
static void on_remap(struct zsr *r, uintptr_t from, uintptr_t to, uintptr_t len)
{
	uintptr_t lo, hi, a;
	size_t k;

	pthread_mutex_lock(&r->lock);
	for (k = 0; k < r->nr_moves; k++)
		if (r->moves[k].to >= from && r->moves[k].to < from + len)
			r->moves[k].to = r->moves[k].to - from + to;
	lo = from < (uintptr_t)r->base ? (uintptr_t)r->base : from;
	hi = from + len > (uintptr_t)r->base + r->size ? (uintptr_t)r->base + r->size : from + len;
	if (lo < hi)
		zsr_touch(r, zsr_idx(r, hi - 1));	/* GONE must be recorded */
	for (a = lo; a < hi; a += ZSR_PAGE) {
		size_t i = zsr_idx(r, a);
		struct zsr_page *pe = &r->pages[i];
		struct zsr_move m = { .idx = i, .to = a - from + to };

		switch (pe->state) {
		case PS_RESIDENT:
			r->nr_resident--;
			/* fall through */
		case PS_NONE:
			pe->state = PS_GONE;
			pe->flags = 0;
			break;
		case PS_EVICTED:
			/* Its contents must appear at the new address: the handler maps them
			 * there (finish_moves) before serving any fault at that address. */
			uncount_evicted(r, pe);
			m.ready = true;
			m.has_copy = true;
			m.pe = *pe;
			push_move(r, &m);
			pe->state = PS_GONE;
			pe->flags = 0;
			break;
		case PS_EVICTING:
			pe->flags |= PF_MOVED;
			push_move(r, &m);	/* the evictor makes it ready at commit */
			break;
		default:
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static void handle_event(struct zsr *r, const struct uffd_msg *m)
{
	switch (m->event) {
	case UFFD_EVENT_REMOVE:
		on_remove(r, m->arg.remove.start, m->arg.remove.end);
		break;
	case UFFD_EVENT_UNMAP:
		drop_range(r, m->arg.remove.start, m->arg.remove.end, PS_GONE);
		break;
	case UFFD_EVENT_REMAP:
		on_remap(r, m->arg.remap.from, m->arg.remap.to, m->arg.remap.len);
		break;
	default:
		break;
	}
}

/*
 * Finishes ready moves: maps the saved contents at the destination, or, when the
 * contents stayed mapped (moved with their write-protected pte), lifts the protection
 * there. The destination is outside every evictor's reach (not a region page), so
 * unprotecting it cannot undo an eviction. Returns false when it hit EAGAIN.
 */
static bool finish_moves(struct zsr *r)
{
	struct zsr_hstate *h = r->hs;
	struct zsr_move m;
	size_t k;
	int ret;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		for (k = 0; k < r->nr_moves && !r->moves[k].ready; k++)
			;
		if (k == r->nr_moves) {
			pthread_mutex_unlock(&r->lock);
			return true;
		}
		m = r->moves[k];
		pthread_mutex_unlock(&r->lock);

		ret = 0;
		if (m.to && m.has_copy) {
			if (_zsr_load(r, &m.pe, h->buf) != 0) {
				fprintf(stderr, "zsmem region: corrupt compressed page\n");
				abort();
			}
			ret = _zsr_copy(r, m.to, h->buf, false, drain);
			if (ret == -EEXIST)
				ret = _zsr_wp(r, m.to, ZSR_PAGE, false, drain);
			else if (ret == 0)
				_zsr_wake(r, m.to, ZSR_PAGE);
		} else if (m.to) {
			ret = _zsr_wp(r, m.to, ZSR_PAGE, false, drain);
		}
		if (ret == -EAGAIN)
			return false;	/* events first: they may retarget or drop it */
		if (m.has_copy && !(m.pe.flags & PF_SAME))
			_zsr_free_handle(r, m.pe.handle);
		pthread_mutex_lock(&r->lock);
		r->moves[k] = r->moves[--r->nr_moves];
		pthread_mutex_unlock(&r->lock);
	}
}

/* ---------------------------------------------------------------------------------- */
/* Faults                                                                              */

/* Zeros at addr: the shared zero page for a read, a private zero page for a write. */
static int fill_zero_w(struct zsr *r, uintptr_t addr, bool write, bool wake)
{
	if (write)
		return _zsr_copy(r, addr, r->hs->zero, wake, drain);
	return _zsr_zeropage(r, addr, wake, drain);
}

static int fill_zero(struct zsr *r, uintptr_t addr, bool write)
{
	return fill_zero_w(r, addr, write, false);
}


static void queue_free(struct zsr *r, unsigned long handle)
{
	struct zsr_hstate *h = r->hs;

	h->frees[h->nfree++] = handle;
	if (h->nfree == ZSR_HFREE) {
		zs_free_batch(r->pool, h->frees, h->nfree);
		h->nfree = 0;
	}
}

/*
 * A fill is over (FILLING cleared, or the entry put back): wake evictors waiting for
 * it (claim in evict.c). Under r->lock.
 */
static void fill_over(struct zsr *r)
{
	if (r->fill_waiters)
		pthread_cond_broadcast(&r->fill_cv);
}

/*
 * Readahead after the refault of page idx. A program reading its evicted memory in
 * order (a dict walked after it was built, arrays scanned) otherwise pays one handler
 * round trip per page; when this refault continues a run (idx is the page after what
 * was refaulted or read ahead last in one of ZSR_RA_STREAMS runs: a dict walk reads its
 * entries and the objects they point to, two runs interleaved), the next evicted pages
 * are brought back now, the window doubling up to ZSR_RA_MAX. No thread waits on them (a fault that came
 * meanwhile is queued and finds the page resident), hence no wake. Under a cap it stops
 * half a batch short of it: the cap is never passed, the reclaimer is woken as by a
 * fault. Same publish/fill/commit protocol as handle_fault's.
 * kind PS_NONE (cfg.map_ahead, after a first touch): the run goes over untouched
 * pages, each mapped to the shared zero page (no memory until written; its first
 * write is an in-kernel copy-on-write), the window growing up to ZSR_ZA_MAX; they are
 * not faults nor refaults, only resident pages.
 */
static void readahead(struct zsr *r, size_t idx, enum zsr_state kind)
{
	struct zsr_hstate *h = r->hs;
	size_t i, end, win, max;
	unsigned k;

	for (k = 0; k < ZSR_RA_STREAMS && h->ra[k].next != idx; k++)
		;
	if (k == ZSR_RA_STREAMS) {
		/* a new run, or none: it takes the oldest slot */
		k = h->ra_victim++ % ZSR_RA_STREAMS;
		h->ra[k].win = 0;
		h->ra[k].next = idx + 1;
		return;
	}
	max = kind == PS_NONE ? ZSR_ZA_MAX : ZSR_RA_MAX;
	win = h->ra[k].win ? (h->ra[k].win * 2 > max ? max : h->ra[k].win * 2) : ZSR_RA_MIN;
	h->ra[k].win = win;
	end = idx + 1 + win;
	if (end > r->nr_pages)
		end = r->nr_pages;
	for (i = idx + 1; i < end; i++) {
		struct zsr_page *p = &r->pages[i];
		struct zsr_page pe;
		uintptr_t addr = (uintptr_t)r->base + i * ZSR_PAGE;
		int ret;

		pthread_mutex_lock(&r->lock);
		if (p->state == PS_RESIDENT) {	/* never evicted, or refaulted already */
			pthread_mutex_unlock(&r->lock);
			continue;
		}
		if (p->state != kind ||
		    (r->cap && r->nr_resident + ZSR_BATCH / 2 >= r->cap)) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		pe = *p;
		if (kind == PS_NONE) {
			zsr_touch(r, i);
			p->state = PS_RESIDENT;
			p->flags = PF_FILLING | PF_REF;
			r->nr_resident++;
			pthread_mutex_unlock(&r->lock);
			ret = _zsr_zeropage(r, addr, false, drain);
			pthread_mutex_lock(&r->lock);
			if (ret && ret != -EEXIST) {
				*p = pe;	/* as for a refault below: back, and stop */
				r->nr_resident--;
				fill_over(r);
				pthread_mutex_unlock(&r->lock);
				break;
			}
			p->flags &= (uint16_t)~PF_FILLING;
			fill_over(r);
			pthread_mutex_unlock(&r->lock);
			continue;
		}
		uncount_evicted(r, &pe);
		r->refaults++;
		r->readahead++;
		p->state = PS_RESIDENT;
		p->flags = PF_FILLING | PF_REF;	/* not PF_HOT: it was not asked for yet */
		r->nr_resident++;
		if (r->cap && r->nr_resident + ZSR_BATCH >= r->cap && !r->reclaim_wanted) {
			r->reclaim_wanted = true;
			pthread_cond_signal(&r->reclaim_cv);
		}
		pthread_mutex_unlock(&r->lock);

		if (_zsr_load(r, &pe, h->buf) != 0) {
			fprintf(stderr, "zsmem region: corrupt compressed page at %p\n", (void *)addr);
			abort();
		}
		ret = _zsr_copy(r, addr, h->buf, false, drain);
		pthread_mutex_lock(&r->lock);
		if (ret && ret != -EEXIST) {
			/* -EAGAIN (an event is pending) or -ENOENT (unmapped): put it back,
			 * a later fault takes the usual path */
			*p = pe;
			_zsr_count_evicted(r, &pe);	/* a fill that failed: back */
			r->refaults--;
			r->readahead--;
			r->nr_resident--;
			fill_over(r);
			pthread_mutex_unlock(&r->lock);
			break;
		}
		p->flags &= (uint16_t)~PF_FILLING;
		fill_over(r);
		pthread_mutex_unlock(&r->lock);
		if (!(pe.flags & PF_SAME))
			queue_free(r, pe.handle);
	}
	h->ra[k].next = i;
}

static void handle_fault(struct zsr *r, struct fault *f)
{
	struct zsr_hstate *h = r->hs;
	bool write = f->flags & UFFD_PAGEFAULT_FLAG_WRITE;
	bool wp = f->flags & UFFD_PAGEFAULT_FLAG_WP;
	struct zsr_page pe;
	struct zsr_page *p;
	int ret;

	pthread_mutex_lock(&r->lock);
	p = zsr_in(r, f->addr) ? &r->pages[zsr_idx(r, f->addr)] : NULL;
	if (!p || p->state == PS_GONE) {
		/* Not a region page: an mremap destination, or an mremap growth. */
		if (move_at(r, f->addr) >= 0) {
			r->kick_wanted = true;	/* by the move's evictor, at its commit */
			pthread_mutex_unlock(&r->lock);
			park(h, f);	/* finish_moves maps it first */
			return;
		}
		pthread_mutex_unlock(&r->lock);
		ret = wp ? _zsr_wp(r, f->addr, ZSR_PAGE, false, drain)
			 : fill_zero(r, f->addr, write);
		if (ret == -EAGAIN)
			park(h, f);
		else if (!wp || ret)
			_zsr_wake(r, f->addr, ZSR_PAGE);
		return;
	}
	if (wp) {
		/* Protected by an evictor: it wakes the writer once the page is gone (the
		 * writer then refaults as a missing fault) or unprotected. Otherwise the
		 * message is stale: a wake is harmless, unprotecting could undo a newer
		 * eviction's protection. */
		bool evicting = p->state == PS_EVICTING;

		pthread_mutex_unlock(&r->lock);
		if (!evicting)
			_zsr_wake(r, f->addr, ZSR_PAGE);
		return;
	}
	switch (p->state) {
	case PS_RESIDENT:
		/* Usually already served (two threads faulted the same page): the fill
		 * then answers EEXIST. A resident page without a pte was zapped by an
		 * application DONTNEED whose copy was dropped: zeros are its contents. */
		pthread_mutex_unlock(&r->lock);
		ret = fill_zero(r, f->addr, write);
		if (ret == -EAGAIN)
			park(h, f);
		else
			_zsr_wake(r, f->addr, ZSR_PAGE);
		return;
	case PS_EVICTING:
		if (p->flags & (PF_DROP_NONE | PF_DROP_GONE)) {
			/* Removed by the application while an evictor held it: zeros. The
			 * evictor's commit makes it RESIDENT (PF_FILLED), not NONE. */
			pthread_mutex_unlock(&r->lock);
			ret = fill_zero(r, f->addr, write);
			if (ret == -EAGAIN) {
				park(h, f);
				return;
			}
			if (ret == 0 || ret == -EEXIST) {
				pthread_mutex_lock(&r->lock);
				if (p->state == PS_EVICTING)
					p->flags |= PF_FILLED;
				pthread_mutex_unlock(&r->lock);
			}
			_zsr_wake(r, f->addr, ZSR_PAGE);
			return;
		}
		if (p->flags & PF_ZAPPING) {
			/* Dropped by its evictor, not committed yet: wait for the commit. */
			r->kick_wanted = true;
			pthread_mutex_unlock(&r->lock);
			park(h, f);
			return;
		}
		/* Not zapped by its evictor, yet no pte: the page lost its pte before the
		 * claim (an application DONTNEED after zeros were mapped): zeros. This is
		 * also the evictor's own read of it, which must not wait for itself. */
		pthread_mutex_unlock(&r->lock);
		ret = fill_zero(r, f->addr, write);
		if (ret == -EAGAIN)
			park(h, f);
		else
			_zsr_wake(r, f->addr, ZSR_PAGE);
		return;
	default:
		break;
	}
	/* NONE or EVICTED: this fault makes one more page resident. */
	if (r->cap && r->nr_resident >= r->cap &&
	    !(f->t0_ms && now_ms() - f->t0_ms >= ZSR_THROTTLE_MS)) {
		if (!f->t0_ms)
			r->throttled++;
		r->reclaim_wanted = true;
		r->kick_wanted = true;	/* by the reclaimer, once it evicted */
		pthread_cond_signal(&r->reclaim_cv);
		pthread_mutex_unlock(&r->lock);
		park(h, f);
		return;
	}
	pe = *p;
	/*
	 * Publish first, fill with wake: the faulting thread may run as soon as the fill
	 * ioctl maps the page (no separate UFFDIO_WAKE), and what it then reads of the
	 * stats includes its own fault. FILLING keeps evictors off the page until its pte
	 * exists; only this thread changes NONE and EVICTED entries and clears FILLING, so
	 * pe stays valid without the lock and the entry can be put back if the fill fails.
	 */
	if (pe.state == PS_EVICTED) {
		uncount_evicted(r, &pe);
		r->refaults++;
	}
	zsr_touch(r, (size_t)(p - r->pages));
	p->state = PS_RESIDENT;
	p->flags = PF_FILLING | (pe.state == PS_EVICTED ? (PF_REF | PF_HOT) : PF_REF);
	r->nr_resident++;
	r->faults++;
	if (r->cap && r->nr_resident + ZSR_BATCH >= r->cap && !r->reclaim_wanted) {
		r->reclaim_wanted = true;
		pthread_cond_signal(&r->reclaim_cv);
	}
	pthread_mutex_unlock(&r->lock);

	if (pe.state == PS_NONE) {
		ret = fill_zero_w(r, f->addr, write, true);
	} else if ((pe.flags & PF_SAME) && pe.handle == 0 && !write) {
		/* a zero-filled page read: the shared zero page, no allocation */
		ret = _zsr_zeropage(r, f->addr, true, drain);
	} else {
		if (_zsr_load(r, &pe, h->buf) != 0) {
			fprintf(stderr, "zsmem region: corrupt compressed page at %p\n",
				(void *)f->addr);
			abort();
		}
		ret = _zsr_copy(r, f->addr, h->buf, true, drain);
	}
	pthread_mutex_lock(&r->lock);
	if (ret && ret != -EEXIST) {
		/* Not mapped: the entry goes back as it was. -EAGAIN: retried after the
		 * events; -ENOENT: unmapped under us, the unmap event (queued) drops it. */
		*p = pe;
		if (pe.state == PS_EVICTED) {
			_zsr_count_evicted(r, &pe);	/* a fill that failed: back */
			r->refaults--;
		}
		r->nr_resident--;
		r->faults--;
		fill_over(r);
		pthread_mutex_unlock(&r->lock);
		if (ret == -EAGAIN)
			park(h, f);
		else
			_zsr_wake(r, f->addr, ZSR_PAGE);
		return;
	}
	p->flags &= (uint16_t)~PF_FILLING;
	fill_over(r);
	pthread_mutex_unlock(&r->lock);
	if (ret == -EEXIST)	/* a failed fill does not wake */
		_zsr_wake(r, f->addr, ZSR_PAGE);
	if (pe.state == PS_EVICTED && !(pe.flags & PF_SAME)) {
		/*
		 * Freed here, in batches (one class lock per run of a class), not through
		 * the deferred path: under a cap every refault frees a copy, and copies
		 * waiting in the deferred buffers (up to a buffer page of handles per CPU
		 * plus the queued ones, held for up to 10 ms) are pool memory outside
		 * compr_bytes that no compaction can take back. The batch is freed after
		 * the wake, off the fault's path.
		 */
		queue_free(r, pe.handle);
	}
	if (pe.state == PS_EVICTED && ret == 0)
		readahead(r, zsr_idx(r, f->addr), PS_EVICTED);
	else if (pe.state == PS_NONE && ret == 0 && r->map_ahead)
		readahead(r, zsr_idx(r, f->addr), PS_NONE);
}

/* Events before faults, ready moves before faults; then the parked faults once. */
static void process(struct zsr *r)
{
	struct zsr_hstate *h = r->hs;
	struct fault *old;
	size_t n, i;

	for (;;) {
		while (h->ev_head < h->ev_n || h->fq_head < h->fq_n) {
			if (h->ev_head < h->ev_n) {
				struct uffd_msg m = h->ev[h->ev_head++];

				handle_event(r, &m);
				if (h->ev_head >= h->ev_n)
					events_done(r);
				continue;
			}
			if (!finish_moves(r))
				continue;
			/* by value: handling it may read more messages and move the queue */
			struct fault f = h->fq[h->fq_head++];

			handle_fault(r, &f);
		}
		(void)finish_moves(r);
		if (!h->np)
			return;
		/* Retry the parked faults once; they may park again. */
		old = h->parked;
		n = h->np;
		h->parked = NULL;
		h->np = h->cap_p = 0;
		for (i = 0; i < n; i++) {
			handle_fault(r, &old[i]);
			/* events read meanwhile go first */
			while (h->ev_head < h->ev_n) {
				struct uffd_msg m = h->ev[h->ev_head++];

				handle_event(r, &m);
				if (h->ev_head >= h->ev_n)
					events_done(r);
			}
		}
		free(old);
		if (h->ev_head >= h->ev_n && h->fq_head >= h->fq_n)
			return;
	}
}

/*
 * The handler threads. One per CPU the process may run on, each pinned there, when
 * there are 2..ZSR_MAX_HANDLERS such CPUs; else one thread, not pinned. Why: a
 * fault wakes every thread waiting on the userfaultfd, and the one pinned to the
 * faulting CPU runs as soon as the faulting thread blocks, where a lone handler
 * sleeping on the other, idle vCPU first needs an interrupt to wake it: on a 2-vCPU VM
 * with 2 us plain faults region_bench's fault took 53-70 us with one handler and 20-25
 * with one per CPU (14-16 with the bench and one handler on one CPU by taskset). The
 * other threads wake too and find nothing, a few us of their CPUs per fault: with more
 * CPUs every fault would wake as many threads, hence the cap. ZSMEM_REGION_HANDLERS=1
 * keeps one thread.
 *
 * One thread serves at a time: the one that turns r->serving from false to true reads
 * and handles everything pending, so everything above stays single-threaded and events
 * keep their order against faults. The others go back to sleep. Each thread waits in
 * an epoll set of its own, edge-triggered: a thread that lost the race sleeps until
 * the next message instead of spinning on a descriptor the winner has yet to read.
 * No lost wake-up: every message and every kick (an eventfd write) puts an edge in
 * every thread's set, the serving thread's included, so whatever arrives while a
 * thread serves makes that thread's next epoll_wait return at once, and it serves
 * again. Nobody reads the eventfd's counter, for that reason: an epoll set drops an
 * edge whose descriptor is no longer readable when the edge is collected, and a kick
 * must reach every thread (the stop). r->serving's exchange and release also order the
 * handler's state (r->hs, the queues) from one serving thread to the next.
 */
static void serve(struct zsr *r)
{
	if (atomic_exchange_explicit(&r->serving, true, memory_order_acquire))
		return;
	drain(r);
	process(r);
	atomic_store_explicit(&r->parked, r->hs->np != 0, memory_order_relaxed);
	atomic_store_explicit(&r->serving, false, memory_order_release);
}

void *_zsr_handler_main(void *arg)
{
	struct zsr_hthread *t = arg;
	struct zsr *r = t->r;

	/* if it fails (the CPU went away), the thread serves from wherever it runs */
	if (t->cpu >= 0)
		(void)zsm_thread_pin(t->cpu);
	for (;;) {
		struct epoll_event ev[2];
		/* A parked fault is retried within 1 ms even if nobody kicks. */
		int ms = atomic_load_explicit(&r->parked, memory_order_relaxed) ? 1 : -1;

		if (atomic_load_explicit(&r->handler_stop, memory_order_relaxed))
			break;
		(void)epoll_wait(t->ep, ev, 2, ms);
		if (atomic_load_explicit(&r->handler_stop, memory_order_relaxed))
			break;
		serve(r);
	}
	return NULL;
}

ZSR_API unsigned zsr_lab_handler_cpus(int *cpus, unsigned max)
{
	const char *e = getenv("ZSMEM_REGION_HANDLERS");	/* 1: one thread, as before */
	cpu_set_t set;
	unsigned n = 0;

	cpus[0] = -1;
	if ((e && strcmp(e, "1") == 0) || sched_getaffinity(0, sizeof(set), &set) ||
	    CPU_COUNT(&set) < 2 || CPU_COUNT(&set) > (int)ZSR_MAX_HANDLERS)
		return 1;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static void free_state(struct zsr_hstate *h)
{
	free(h->ev);
	free(h->fq);
	free(h->parked);
	free(h->buf);
	free(h->zero);
	free(h);
}

int _zsr_handlers_init(struct zsr *r)
{
	struct zsr_hstate *h = calloc(1, sizeof(*h));
	int cpus[ZSR_MAX_HANDLERS];
	unsigned n = zsr_lab_handler_cpus(cpus, ZSR_MAX_HANDLERS), i;

	if (!h || posix_memalign((void **)&h->buf, ZSR_PAGE, ZSR_PAGE) ||
	    posix_memalign((void **)&h->zero, ZSR_PAGE, ZSR_PAGE)) {
		if (h)
			free_state(h);
		errno = ENOMEM;
		return -1;
	}
	memset(h->zero, 0, ZSR_PAGE);
	for (unsigned k = 0; k < ZSR_RA_STREAMS; k++)
		h->ra[k].next = SIZE_MAX;	/* no run yet */
	for (i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
		int ep = epoll_create1(EPOLL_CLOEXEC);

		r->ht[i].r = r;
		r->ht[i].cpu = cpus[i];
		r->ht[i].ep = ep;
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, r->uffd, &ev) ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, r->efd, &ev)) {
			int err = errno;

			for (unsigned k = 0; k <= i; k++)
				if (r->ht[k].ep >= 0)
					close(r->ht[k].ep);
			free_state(h);
			errno = err;
			return -1;
		}
	}
	r->hs = h;
	r->nr_handlers = n;
	return (int)n;
}

/* After the threads are joined (or none started). */
void _zsr_handlers_fini(struct zsr *r)
{
	struct zsr_hstate *h = r->hs;

	for (unsigned i = 0; i < r->nr_handlers; i++)
		close(r->ht[i].ep);
	r->nr_handlers = 0;
	for (size_t i = 0; i < h->nfree; i++)
		_zsr_free_handle(r, h->frees[i]);
	r->hs = NULL;
	free_state(h);
}
