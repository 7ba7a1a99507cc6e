// SPDX-License-Identifier: MIT
/*
 * Eviction and the background reclaimer.
 *
 * Two ways to evict a batch. Where the kernel has UFFDIO_MOVE (Linux 6.8), the move
 * path (evict_batch_move, below) takes the pages out of the region in one step and
 * sends the handler no event: 9.6 us a page against 11.0 for the madvise path on
 * region_bench's corpus (3 runs each, alternated). Without it, or with
 * ZSMEM_REGION_NO_MOVE=1, the madvise path. One batch there (up to ZSR_BATCH pages):
 *   1. claim   under r->lock, the CLOCK hand picks RESIDENT pages whose reference
 *              (PF_REF, then PF_HOT for refaulted pages) is clear -> EVICTING;
 *   2. protect UFFDIO_WRITEPROTECT per contiguous run: from now on a writer waits in
 *              the kernel, so the contents cannot change under the compressor;
 *   3. copy    process_vm_readv of the runs into a staging buffer: an address the
 *              application unmapped meanwhile gives EFAULT here instead of SIGSEGV;
 *   4. store   same-filled -> the word; else compress, zs_malloc, zs_obj_write;
 *   5. zap     under r->lock, skip pages an event touched (PF_DROP_*, PF_MOVED) and
 *              register each run in r->zaps (so the handler knows its remove event),
 *              then MADV_DONTNEED the runs (a run of >= 33 pages is one TLB flush);
 *   6. commit  unprotect what was not zapped, then under r->lock: EVICTED, or what the
 *              events asked for; then UFFDIO_WAKE the runs: writers that waited on the
 *              protection refault as missing faults and get the compressed copy.
 * The order protect -> copy -> zap is what makes eviction safe: a write either lands
 * before the protection (and is in the copy) or waits until the page is gone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/page.h"
#include "region_internal.h"

/* UFFDIO_MOVE (Linux 6.8), for headers older than the kernel. */
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE	(1 << 16)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};
#define _UFFDIO_MOVE		(0x05)
#define UFFDIO_MOVE		_IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

enum { V_OK, V_ABORT, V_SKIP, V_ZAPPED, V_ZAPFAIL };

struct victim {
	size_t idx;
	int status;
	bool has_copy;
	bool wp;		/* protection applied */
	bool moved;		/* move path: its page is in the scratch pages */
	size_t off;		/* its copy in the staging buffer */
	struct zsr_page pe;	/* the stored copy when has_copy */
};

struct evctx {
	unsigned char *scratch;	/* ZSR_BATCH pages registered on the mover; NULL: no move path */
	int mover;		/* the mover descriptor they are registered on */
	bool copy;		/* read them through the kernel (first_touch_dear) */
	pid_t pid;		/* the process the scratch belongs to (a fork child has none) */
	unsigned char *stage;	/* ZSR_BATCH pages */
	unsigned char *cbuf;	/* compression output */
	size_t cbuf_cap;
	struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];	/* maybe_compact's view of the pool */
	struct victim v[ZSR_BATCH];
};

static size_t claim(struct zsr *r, struct victim *v, size_t max)
{
	size_t n = 0, scanned = 0, limit, filling = SIZE_MAX;
	bool waited = false;

	pthread_mutex_lock(&r->lock);
again:
	/* Two sweeps over the written part of the table: the first may only clear
	 * references. */
	limit = 2 * r->hi + 2;
	while (n < max && scanned < limit && r->nr_resident) {
		size_t i = r->hand;
		struct zsr_page *pe = &r->pages[i];

		r->hand = i + 1 >= r->hi ? 0 : i + 1;
		scanned++;
		if (pe->state != PS_RESIDENT)
			continue;
		if (pe->flags & PF_FILLING) {
			filling = i;
			continue;
		}
		if (pe->flags & PF_REF) {
			pe->flags &= (uint16_t)~PF_REF;
			continue;
		}
		if (pe->flags & PF_HOT) {
			pe->flags &= (uint16_t)~PF_HOT;
			continue;
		}
		pe->state = PS_EVICTING;
		memset(&v[n], 0, sizeof(v[n]));
		v[n++].idx = i;
	}
	/*
	 * Short, and a page was still being filled: the fill wakes the faulting thread as
	 * it maps the page, and that thread may preempt the handler on its CPU before the
	 * handler clears FILLING. A caller that reclaims right after its own touches would
	 * then miss the page in every sweep until the handler ran again (regression test
	 * region_reclaim_after_fill). Wait for that fill (blocking lets the handler run)
	 * and sweep again, once.
	 */
	if (n < max && filling != SIZE_MAX && !waited) {
		struct zsr_page *pe = &r->pages[filling];

		waited = true;
		r->fill_waiters++;
		while (pe->state == PS_RESIDENT && (pe->flags & PF_FILLING) &&
		       !atomic_load_explicit(&r->handler_stop, memory_order_relaxed))
			pthread_cond_wait(&r->fill_cv, &r->lock);
		r->fill_waiters--;
		scanned = 0;
		goto again;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

static inline uintptr_t vaddr(struct zsr *r, const struct victim *v)
{
	return (uintptr_t)r->base + v->idx * ZSR_PAGE;
}

/* Length of the run of contiguous victims starting at k whose status is st. */
static size_t run_len(const struct victim *v, size_t k, size_t n, int st)
{
	size_t j = k + 1;

	while (j < n && v[j].idx == v[j - 1].idx + 1 && v[j].status == st)
		j++;
	return j - k;
}

static bool same_filled(const void *page, unsigned long *word)
{
	const uint64_t *w = page;
	size_t i;

	for (i = 1; i < ZSR_PAGE / 8; i++)
		if (w[i] != w[0])
			return false;
	*word = w[0];
	return true;
}

static int store(struct zsr *r, struct evctx *c, size_t n, const unsigned char *stage);

/* Steps 2-4. Returns -ENOMEM if a pool allocation failed, else 0. */
static int protect_copy_store(struct zsr *r, struct evctx *c, size_t n)
{
	struct iovec local, remote[ZSR_BATCH];
	size_t k, len, nr = 0, total = 0;
	ssize_t got;

	for (k = 0; k < n; k += len) {
		len = run_len(c->v, k, n, V_OK);
		if (_zsr_wp(r, vaddr(r, &c->v[k]), len * ZSR_PAGE, true, NULL) == 0) {
			size_t j;

			for (j = k; j < k + len; j++)
				c->v[j].wp = true;
			continue;
		}
		for (size_t j = k; j < k + len; j++) {
			if (_zsr_wp(r, vaddr(r, &c->v[j]), ZSR_PAGE, true, NULL) == 0)
				c->v[j].wp = true;
			else
				c->v[j].status = V_ABORT;
		}
	}
	for (k = 0; k < n; k++) {
		if (c->v[k].status != V_OK)
			continue;
		len = run_len(c->v, k, n, V_OK);
		remote[nr].iov_base = (void *)vaddr(r, &c->v[k]);
		remote[nr].iov_len = len * ZSR_PAGE;
		nr++;
		for (size_t j = k; j < k + len; j++) {
			c->v[j].off = total;
			total += ZSR_PAGE;
		}
		k += len - 1;
	}
	local.iov_base = c->stage;
	local.iov_len = total;
	got = nr ? process_vm_readv(getpid(), &local, 1, remote, nr, 0) : 0;
	if (got != (ssize_t)total) {
		for (k = 0; k < n; k++) {
			struct iovec l1, r1;

			if (c->v[k].status != V_OK)
				continue;
			l1.iov_base = c->stage + c->v[k].off;
			l1.iov_len = ZSR_PAGE;
			r1.iov_base = (void *)vaddr(r, &c->v[k]);
			r1.iov_len = ZSR_PAGE;
			if (process_vm_readv(getpid(), &l1, 1, &r1, 1, 0) != (ssize_t)ZSR_PAGE)
				c->v[k].status = V_ABORT;	/* unmapped meanwhile */
		}
	}
	return store(r, c, n, c->stage);
}

/* Step 4 for the victims still V_OK: their contents at stage + off. -ENOMEM if a pool
 * allocation failed (that victim is V_ABORT), else 0. */
static int store(struct zsr *r, struct evctx *c, size_t n, const unsigned char *stage)
{
	size_t k;
	int err = 0;

	for (k = 0; k < n; k++) {
		struct victim *v = &c->v[k];
		const unsigned char *page = stage + v->off, *src = page;
		unsigned long word, h;
		size_t clen;

		if (v->status != V_OK)
			continue;
		if (same_filled(page, &word)) {
			v->pe.handle = word;
			v->pe.len = 0;
			v->pe.flags = PF_SAME;
			v->has_copy = true;
			continue;
		}
		clen = zcomp_compress(r->comp, page, ZSR_PAGE, c->cbuf, c->cbuf_cap);
		if (clen == 0 || clen >= r->huge_size) {
			v->pe.flags = PF_RAW;	/* incompressible: kept raw */
			clen = ZSR_PAGE;
		} else {
			src = c->cbuf;
		}
		h = zs_malloc(r->pool, clen);
		if (!h) {
			v->status = V_ABORT;
			err = -ENOMEM;
			continue;
		}
		zs_obj_write(r->pool, h, src, clen);
		v->pe.handle = h;
		v->pe.len = (uint16_t)clen;
		v->has_copy = true;
	}
	return err;
}

/*
 * Step 6's decision for one victim, under r->lock: EVICTED (returns 1), or what the
 * events asked for, or RESIDENT again. Copies to free are appended to frees.
 */
static size_t commit_one(struct zsr *r, struct victim *v, struct zsr_page *pe,
			 unsigned long *frees, size_t *nf)
{
	uint16_t fl = pe->flags;

	if (fl & PF_MOVED) {
		/* Hand the page to the handler: it maps our copy at the destination
		 * (a present page there means the contents moved with their pte). */
		for (size_t m = 0; m < r->nr_moves; m++) {
			struct zsr_move *mv = &r->moves[m];

			if (mv->idx == v->idx && !mv->ready) {
				mv->ready = true;
				mv->has_copy = v->has_copy;
				mv->pe = v->pe;
				break;
			}
		}
		v->has_copy = false;	/* owned by the move now */
		pe->state = PS_GONE;
		pe->flags = 0;
		r->nr_resident--;
		return 0;
	}
	if (fl & (PF_DROP_NONE | PF_DROP_GONE)) {
		pe->flags = 0;
		if ((fl & (PF_DROP_GONE | PF_FILLED)) == PF_FILLED) {
			/* zeros mapped by the handler since the removal; should our
			 * zap have taken them, a refault maps zeros again */
			pe->state = PS_RESIDENT;
			pe->flags = PF_REF;
		} else {
			pe->state = (fl & PF_DROP_GONE) ? PS_GONE : PS_NONE;
			r->nr_resident--;
		}
		if (v->has_copy && !(v->pe.flags & PF_SAME))
			frees[(*nf)++] = v->pe.handle;
		return 0;
	}
	if (v->status != V_ZAPPED) {
		pe->state = PS_RESIDENT;
		pe->flags = 0;
		if (v->has_copy && !(v->pe.flags & PF_SAME))
			frees[(*nf)++] = v->pe.handle;
		return 0;
	}
	*pe = v->pe;
	pe->state = PS_EVICTED;
	r->nr_resident--;
	_zsr_count_evicted(r, pe);
	r->evictions++;
	return 1;
}

/*
 * Whether the first user access through a pte the kernel just filled is dear here. On
 * VMs with shadow paging it traps to the hypervisor even after the kernel populated the
 * page: compressing moved pages straight from the scratch mapping cost 12 us a page
 * there, against 6.4 when the kernel first copied them out through its own mapping
 * (0.7 us a page). Elsewhere that copy is pure waste: region_bench's eviction went
 * from 6.1 to 5.0 us a page without it on a VM with a 2 us first-touch fault. So it is
 * measured, once per process: the median first read of 16 populated pages, dear
 * above 1 us (0.02 us without shadow paging, ~5 us with it). ZSMEM_REGION_COPY_MOVED=1
 * forces the copy (the tests run both ways).
 */
static bool first_touch_dear(void)
{
	enum { N = 16 };
	uint64_t t[N];
	unsigned char *p = mmap(NULL, N * ZSR_PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return true;
	if (madvise(p, N * ZSR_PAGE, MADV_POPULATE_WRITE)) {
		munmap(p, N * ZSR_PAGE);
		return true;	/* no populate (before Linux 5.14): keep the sure way */
	}
	for (int i = 0; i < N; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		(void)*(volatile unsigned char *)(p + (size_t)i * ZSR_PAGE);
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)b.tv_nsec -
		       (uint64_t)a.tv_nsec;
	}
	munmap(p, N * ZSR_PAGE);
	for (int i = 1; i < N; i++)	/* insertion sort for the median */
		for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
			uint64_t x = t[j];

			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return t[N / 2] > 1000;
}

/*
 * The mover: a userfaultfd of this process with no event features, on which every
 * evicting thread registers its scratch pages (missing mode; nothing ever faults there:
 * only pages moved in are read). UFFDIO_MOVE wants its destination registered on the
 * descriptor it is issued on, not its source, so region pages move out through it and
 * their removal sends the region's descriptor no event. One per process: a fork child's
 * copy of the descriptor would act on the parent's memory, so it is remade by pid.
 */
static pthread_mutex_t mover_mu = PTHREAD_MUTEX_INITIALIZER;
static int mover_fd = -1;
static pid_t mover_pid;
static bool mover_copy;		/* first_touch_dear(): read moved pages through the kernel */

static int mover_get(bool *copy)
{
	pid_t me = getpid();
	int fd;

	pthread_mutex_lock(&mover_mu);
	if (mover_pid != me) {
		struct uffdio_api api;
		const char *off = getenv("ZSMEM_REGION_NO_MOVE");

		if (mover_fd >= 0)
			close(mover_fd);	/* the parent's (a fork child): not ours */
		mover_fd = -1;
		mover_pid = me;
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		memset(&api, 0, sizeof(api));
		api.api = UFFD_API;
		api.features = UFFD_FEATURE_MOVE;
		if (fd >= 0 && !(off && *off == '1') && ioctl(fd, UFFDIO_API, &api) == 0 &&
		    (api.features & UFFD_FEATURE_MOVE)) {
			const char *cp = getenv("ZSMEM_REGION_COPY_MOVED");

			mover_fd = fd;
			mover_copy = (cp && *cp == '1') || first_touch_dear();
		}
		else if (fd >= 0)
			close(fd);
	}
	fd = mover_fd;
	*copy = mover_copy;
	pthread_mutex_unlock(&mover_mu);
	return fd;
}

/* Moves [src, src + len) of the region to dst (scratch): bytes moved before a failure. */
static size_t move_out(int fd, uintptr_t dst, uintptr_t src, size_t len)
{
	struct uffdio_move m;

	memset(&m, 0, sizeof(m));
	m.dst = dst;
	m.src = src;
	m.len = len;
	if (ioctl(fd, UFFDIO_MOVE, &m) == 0)
		return len;
	return m.move > 0 ? (size_t)m.move : 0;
}

/*
 * The moved pages' contents into the staging buffer (same offsets), read through the
 * kernel (process_vm_readv), not by touching the scratch pages: only where the first
 * user access through a fresh pte is dear (first_touch_dear). Holes are skipped: a
 * read of one would wait on the mover forever.
 */
static void copy_moved(struct evctx *c, size_t n)
{
	struct iovec local[ZSR_BATCH], remote[ZSR_BATCH];
	size_t k, j, nr = 0, total = 0;

	for (k = 0; k < n; k = j) {
		if (!c->v[k].moved) {
			j = k + 1;
			continue;
		}
		for (j = k + 1; j < n && c->v[j].moved; j++)
			;
		local[nr].iov_base = c->stage + c->v[k].off;
		remote[nr].iov_base = c->scratch + c->v[k].off;
		local[nr].iov_len = remote[nr].iov_len = (j - k) * ZSR_PAGE;
		total += (j - k) * ZSR_PAGE;
		nr++;
	}
	if (nr && process_vm_readv(getpid(), local, nr, remote, nr, 0) != (ssize_t)total)
		for (k = 0; k < n; k++)	/* not expected: the slow, sure way */
			if (c->v[k].moved)
				memcpy(c->stage + c->v[k].off, c->scratch + c->v[k].off, ZSR_PAGE);
}

/*
 * One batch by moving its pages out (the move path, used whenever the kernel has
 * UFFDIO_MOVE):
 *   1. mark    under r->lock, skip pages an event touched; the rest get PF_ZAPPING, so
 *              a fault on them from now on parks in the handler until the commit;
 *   2. move    UFFDIO_MOVE each run into this thread's scratch pages: the region's ptes
 *              go in the same step as the pages' contents leave, so no write can land
 *              in between and no write protection is needed; nor is a copy, the
 *              compressor reads the scratch pages; and the region's descriptor gets no
 *              remove event, so no round trip with the handler. A page that does not
 *              move (no pte: the application removed it; pinned) is left as it is;
 *   3. store   copy_moved where first_touch_dear, then as in the madvise path; a
 *              page whose store failed is copied back;
 *   4. free    one MADV_DONTNEED of the scratch pages (a range no event watches);
 *   5. commit  as in the madvise path: EVICTED, or what the events asked for.
 */
static long evict_batch_move(struct zsr *r, struct evctx *c, size_t n, int *err)
{
	unsigned long frees[ZSR_BATCH];
	size_t k, len, nf = 0, done = 0;
	bool kick;

	pthread_mutex_lock(&r->lock);
	for (k = 0; k < n; k++) {
		struct zsr_page *pe = &r->pages[c->v[k].idx];

		if (pe->flags & (PF_DROP_NONE | PF_DROP_GONE | PF_MOVED)) {
			c->v[k].status = V_SKIP;
			continue;
		}
		pe->flags |= PF_ZAPPING;
		c->v[k].off = k * ZSR_PAGE;
	}
	pthread_mutex_unlock(&r->lock);

	for (k = 0; k < n; k += len) {
		size_t got, j;

		len = run_len(c->v, k, n, c->v[k].status);
		if (c->v[k].status != V_OK)
			continue;
		got = move_out(c->mover, (uintptr_t)c->scratch + c->v[k].off, vaddr(r, &c->v[k]),
			       len * ZSR_PAGE) / ZSR_PAGE;
		if (got < len) {
			/* the page at got did not move: leave it; the rest of the run is
			 * retried as a run of its own */
			c->v[k + got].status = V_ABORT;
			len = got + 1;
		}
		for (j = k; j < k + got; j++)
			c->v[j].moved = true;
	}
	if (c->copy)
		copy_moved(c, n);
	*err = store(r, c, n, c->copy ? c->stage : c->scratch);
	for (k = 0; k < n; k++) {
		struct victim *v = &c->v[k];

		if (!v->moved)
			continue;
		if (v->status == V_OK) {
			v->status = V_ZAPPED;
			continue;
		}
		/*
		 * Moved, but no pool memory for its copy: put it back. Faults on it park
		 * until the commit, so the address is still empty, unless the application
		 * removed it meanwhile (its contents are zeros then) or moved it away with
		 * mremap: that needs an allocation failure and a concurrent mremap of the
		 * page at once, and loses the page (region.h, "Caveat").
		 */
		(void)_zsr_copy(r, vaddr(r, v), c->scratch + v->off, false, NULL);
	}
	(void)madvise(c->scratch, n * ZSR_PAGE, MADV_DONTNEED);

	pthread_mutex_lock(&r->lock);
	for (k = 0; k < n; k++) {
		struct victim *v = &c->v[k];
		struct zsr_page *pe = &r->pages[v->idx];

		pe->flags &= (uint16_t)~PF_ZAPPING;
		done += commit_one(r, v, pe, frees, &nf);
	}
	kick = r->kick_wanted;
	r->kick_wanted = false;
	pthread_mutex_unlock(&r->lock);
	for (k = 0; k < nf; k++)
		_zsr_free_handle(r, frees[k]);
	/* Parked faults (our pages, throttled faults, moves) may proceed now: a kick
	 * wakes every handler thread, so only when one parked (under r->lock, like the
	 * commit, so a fault parked on our pages is seen here). */
	if (kick)
		_zsr_kick_handler(r);
	return (long)done;
}

static long evict_batch(struct zsr *r, struct evctx *c, size_t n, int *err)
{
	unsigned long frees[ZSR_BATCH];
	size_t zap_slot[2 * ZSR_BATCH];
	size_t k, len, nf = 0, nzap = 0, done = 0;

	*err = protect_copy_store(r, c, n);

	/* 5. Decide what to zap, and announce it to the handler. */
	pthread_mutex_lock(&r->lock);
	for (k = 0; k < n; k++) {
		struct zsr_page *pe = &r->pages[c->v[k].idx];

		if (c->v[k].status == V_OK && (pe->flags & (PF_DROP_NONE | PF_DROP_GONE | PF_MOVED)))
			c->v[k].status = V_SKIP;
	}
	for (k = 0; k < n; k += len) {
		size_t s;

		len = run_len(c->v, k, n, c->v[k].status);
		if (c->v[k].status != V_OK)
			continue;
		for (s = 0; s < ZSR_MAX_ZAPS && r->zaps[s].used; s++)
			;
		if (s == ZSR_MAX_ZAPS) {
			for (size_t j = k; j < k + len; j++)
				c->v[j].status = V_SKIP;
			continue;
		}
		r->zaps[s].used = true;
		r->zaps[s].consumed = false;
		r->zaps[s].start = vaddr(r, &c->v[k]);
		r->zaps[s].end = r->zaps[s].start + len * ZSR_PAGE;
		zap_slot[nzap++] = s;
		for (size_t j = k; j < k + len; j++)
			r->pages[c->v[j].idx].flags |= PF_ZAPPING;
	}
	pthread_mutex_unlock(&r->lock);

	/* Zap; each madvise blocks until the handler has read its remove event. */
	for (k = 0; k < n; k += len) {
		int st = c->v[k].status;

		len = run_len(c->v, k, n, st);
		if (st != V_OK)
			continue;
		if (madvise((void *)vaddr(r, &c->v[k]), len * ZSR_PAGE, MADV_DONTNEED) == 0) {
			for (size_t j = k; j < k + len; j++)
				c->v[j].status = V_ZAPPED;
			continue;
		}
		/* A hole (the application unmapped part of the run): the mapped pages
		 * may be zapped already; page by page tells which are, each announced
		 * like a run so that its remove event is known as ours. */
		for (size_t j = k; j < k + len; j++) {
			uintptr_t a = vaddr(r, &c->v[j]);
			size_t z;

			pthread_mutex_lock(&r->lock);
			for (z = 0; z < ZSR_MAX_ZAPS && r->zaps[z].used; z++)
				;
			if (z < ZSR_MAX_ZAPS && nzap < 2 * ZSR_BATCH) {
				r->zaps[z].used = true;
				r->zaps[z].consumed = false;
				r->zaps[z].start = a;
				r->zaps[z].end = a + ZSR_PAGE;
				zap_slot[nzap++] = z;
			}
			pthread_mutex_unlock(&r->lock);
			c->v[j].status = madvise((void *)a, ZSR_PAGE, MADV_DONTNEED) == 0
						 ? V_ZAPPED : V_ZAPFAIL;
		}
		/* The failed call's remove events came clipped to the vmas around the
		 * hole, so the handler took them for the application's and marked our
		 * pages removed (PF_DROP_NONE; none was set at step 5). Those pages are
		 * ours and their contents are in our copies: undo. (An application
		 * DONTNEED of the same pages at this very moment would be lost: this
		 * needs a munmap and a DONTNEED racing with one eviction run.) */
		pthread_mutex_lock(&r->lock);
		for (size_t j = k; j < k + len; j++)
			if (c->v[j].status == V_ZAPPED)
				r->pages[c->v[j].idx].flags &= (uint16_t)~PF_DROP_NONE;
		pthread_mutex_unlock(&r->lock);
	}

	/* 6. Unprotect what is still mapped here, while we still own it (EVICTING): a
	 * later unprotect could undo a newer evictor's protection. */
	for (k = 0; k < n; k += len) {
		int st = c->v[k].status;

		len = run_len(c->v, k, n, st);
		if (st == V_ZAPPED)
			continue;
		for (size_t j = k; j < k + len; j++)
			if (c->v[j].wp)
				(void)_zsr_wp(r, vaddr(r, &c->v[j]), ZSR_PAGE, false, NULL);
	}

	pthread_mutex_lock(&r->lock);
	if (nzap) {
		/* Our remove events were read by reads numbered <= g: wait until the
		 * handler has processed them (it never waits for us), then free the zaps.
		 * A zap whose event never came (madvise failed) is freed all the same. */
		uint64_t g = atomic_load_explicit(&r->read_gen, memory_order_relaxed);

		while (r->done_gen < g && !atomic_load_explicit(&r->handler_stop, memory_order_relaxed))
			pthread_cond_wait(&r->events_cv, &r->lock);
	}
	for (k = 0; k < nzap; k++)
		r->zaps[zap_slot[k]].used = false;
	for (k = 0; k < n; k++)
		done += commit_one(r, &c->v[k], &r->pages[c->v[k].idx], frees, &nf);
	pthread_mutex_unlock(&r->lock);

	for (k = 0; k < nf; k++)
		_zsr_free_handle(r, frees[k]);
	/* Writers that waited on the protection of a zapped page now refault (missing). */
	for (k = 0; k < n; k += len) {
		len = run_len(c->v, k, n, c->v[k].status);
		_zsr_wake(r, vaddr(r, &c->v[k]), len * ZSR_PAGE);
	}
	/* Parked faults (our pages, throttled faults, moves) may proceed now. */
	_zsr_kick_handler(r);
	return (long)done;
}

/*
 * Compaction. Refaults free objects all over the zspages: without compaction the pool
 * kept ~30% of its slots free under region_bench's cap run (pool pages 1.30x the
 * compressed bytes), memory that the RSS bound (1.05x) does not allow. The trigger is
 * the bytes in free slots, not pool pages against compr_bytes: objects still waiting
 * in the deferred-free buffers count as used, and no compaction can take them back.
 */
static void maybe_compact(struct zsr *r, struct zs_class_stats *rows)
{
	unsigned int i, max = ZS_NR_SIZE_SLOTS, n = zs_class_stats(r->pool, rows, max);
	uint64_t free_bytes = 0, total = (uint64_t)zs_get_total_pages(r->pool) * ZSR_PAGE;

	for (i = 0; i < n && i < max; i++)
		free_bytes += (uint64_t)(rows[i].obj_allocated - rows[i].obj_used) * rows[i].size;
	if (free_bytes > total / 64 + (128u << 10))
		(void)zs_compact(r->pool);
}

/*
 * Each evicting thread keeps its staging buffers (256 KiB + a compression buffer) in a
 * thread-specific slot: allocating them per call cost an mmap + munmap each time.
 */
static pthread_key_t evctx_key;
static pthread_once_t evctx_once = PTHREAD_ONCE_INIT;

static void evctx_free(void *p)
{
	struct evctx *c = p;

	/* a fork child's copy has no scratch mapping (MADV_DONTFORK): leave the range */
	if (c->scratch && c->pid == getpid())
		munmap(c->scratch, ZSR_BATCH * ZSR_PAGE);
	free(c->stage);
	free(c->cbuf);
	free(c);
}

static void evctx_key_init(void)
{
	(void)pthread_key_create(&evctx_key, evctx_free);
}

/* This thread's scratch pages for the move path, when the kernel has UFFDIO_MOVE. */
static void scratch_init(struct evctx *c)
{
	struct uffdio_register reg;
	bool copy;
	int fd = mover_get(&copy);
	void *p;

	if (fd < 0)
		return;
	p = mmap(NULL, ZSR_BATCH * ZSR_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return;
	(void)madvise(p, ZSR_BATCH * ZSR_PAGE, MADV_DONTFORK);
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)p;
	reg.range.len = ZSR_BATCH * ZSR_PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) != 0) {
		munmap(p, ZSR_BATCH * ZSR_PAGE);
		return;
	}
	c->scratch = p;
	c->mover = fd;
	c->copy = copy;
}

static struct evctx *evctx_get(size_t cbuf_cap)
{
	struct evctx *c;

	pthread_once(&evctx_once, evctx_key_init);
	c = pthread_getspecific(evctx_key);
	if (c && c->pid != getpid()) {
		/* inherited through fork: its scratch pages did not come along */
		c->scratch = NULL;
		c->pid = getpid();
		scratch_init(c);
	}
	if (c && c->cbuf_cap >= cbuf_cap)
		return c;
	if (c) {
		evctx_free(c);
		(void)pthread_setspecific(evctx_key, NULL);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cbuf_cap = cbuf_cap;
	c->pid = getpid();
	if (posix_memalign((void **)&c->stage, ZSR_PAGE, ZSR_BATCH * ZSR_PAGE) ||
	    !(c->cbuf = malloc(cbuf_cap)) || pthread_setspecific(evctx_key, c)) {
		evctx_free(c);
		return NULL;
	}
	scratch_init(c);
	return c;
}

long _zsr_evict(struct zsr *r, size_t want)
{
	struct evctx *c = evctx_get(zcomp_bound(r->comp, ZSR_PAGE));
	size_t total = 0, n;
	int err = 0;

	if (!c)
		return -ENOMEM;
	while (total < want) {
		n = claim(r, c->v, want - total < ZSR_BATCH ? want - total : ZSR_BATCH);
		if (!n)
			break;
		if (c->scratch)
			total += (size_t)evict_batch_move(r, c, n, &err);
		else
			total += (size_t)evict_batch(r, c, n, &err);
		if (err)
			break;
	}
	/* A reclaim worth a batch (every reclaimer round) checks the pool's free slots:
	 * a page-by-page caller does not pay the check each time. */
	if (total && want >= ZSR_BATCH / 4)
		maybe_compact(r, c->rows);
	if (!total && err)
		return err;
	return (long)(total * ZSR_PAGE);
}

void *_zsr_reclaimer_main(void *arg)
{
	struct zsr *r = arg;
	size_t cap = r->cap;
	/* Start below the cap by a batch, stop two batches below: faults keep flowing
	 * while the reclaimer works, and it runs in batches worth a madvise. */
	size_t trigger = cap > 2 * ZSR_BATCH ? cap - ZSR_BATCH : cap * 3 / 4;
	size_t target = cap > 4 * ZSR_BATCH ? cap - 2 * ZSR_BATCH : cap / 2;
	struct timespec ts;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		if (r->nr_resident >= trigger) {
			size_t want = r->nr_resident - target;
			long got;

			r->reclaim_wanted = false;
			pthread_mutex_unlock(&r->lock);
			got = _zsr_evict(r, want);
			pthread_mutex_lock(&r->lock);
			if (got > 0)
				continue;
			/* nothing evictable (all referenced twice, or no memory): back off */
		}
		r->reclaim_wanted = false;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += r->nr_resident >= trigger ? 2000000 : 50000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r->reclaim_cv, &r->lock, &ts);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}
