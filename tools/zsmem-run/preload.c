// SPDX-License-Identifier: MIT
/*
 * libzsmem-run.so: preloaded into an unmodified program by zsmem-run. It places the
 * program's large anonymous private memory into one userfaultfd region (zsmem/region.h)
 * and keeps the region's resident pages at a cap; the rest is held compressed.
 *
 * What is placed (>= ZSMEM_RUN_MIN bytes, default 1 MiB):
 *   - mmap(NULL or a hint, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS[|
 *     MAP_NORESERVE|MAP_POPULATE], -1, 0): Python's arenas, programs' own buffers;
 *   - malloc / calloc / realloc / memalign family: glibc serves large requests with its
 *     own internal mmap, which no preload can see, so large requests are taken here
 *     (a 64-byte header before the pointer holds the range) and the rest goes to glibc
 *     (__libc_malloc & co). This is where node's ArrayBuffer stores and CPython's big
 *     dict and list tables live.
 * Everything else passes through: MAP_FIXED, shared or file mappings, PROT_NONE
 * reservations (glibc heaps, V8's heap cages), small requests. The real calls are raw
 * system calls (SYS_mmap, ...), not dlsym(RTLD_NEXT): no lookup that could allocate and
 * recurse; the cost is that another interposer of mmap loaded after us is bypassed.
 *
 * munmap of a placed range: MADV_DONTNEED (the region drops the compressed copies) and
 * the pages go back to the range allocator. mremap: shrink in place, grow in place when
 * the next pages are free, else move (new range + copy + release). A range that a
 * MAP_FIXED mapping replaced is "detached": it is plain memory now; its munmap is a real
 * munmap and its pages are never handed out again.
 *
 * Reuse and eviction: the region cannot make its final MADV_DONTNEED of a victim
 * conditional (region.h, "Caveat"), so a range released by the program must not be
 * handed out again while an eviction that started before the release is running. The
 * preload therefore runs the reclaimer itself (the region has no cap of its own):
 * every zsr_reclaim runs under evict_mu, and a release takes evict_mu once after its
 * MADV_DONTNEED and before freeing the range. A later eviction sees the range empty.
 * The cost: a release waits for at most one reclaim call (<= ZRUN_RECLAIM_CHUNK).
 *
 * Internal callers: the region's and the pool's own allocations must never land in the
 * region (its handler thread would fault on its own memory). Every hook bypasses calls
 * whose return address lies in this object; lz4 allocates nothing; zstd's contexts are
 * below the 1 MiB threshold at the levels zcomp uses.
 *
 * fork: the region is MADV_DONTFORK. In the child, placed memory is gone (an access is
 * SIGSEGV); a pthread_atfork child handler switches the preload off there, so every
 * later call passes through, and munmap/free of a placed range are no-ops. fork + exec
 * (subprocess, system(3), posix_spawn) works; a child that keeps running and reads
 * memory its parent had placed does not. exec: LD_PRELOAD and the ZSMEM_RUN_* variables
 * are inherited, so an exec'd program runs under the launcher too, with its own region.
 *
 * Signal safety: the hooks take a mutex (alloc_mu, then evict_mu for releases; never the
 * other order). mmap and munmap are async-signal-safe in POSIX; under this preload a
 * *large* mmap/munmap from a signal handler that interrupted a hook can deadlock. Small
 * and passed-through calls take no lock. malloc is not async-signal-safe anyway.
 * userfaultfd: in UFFD_USER_MODE_ONLY (unprivileged) a system call reading an evicted
 * page fails with EFAULT; the stats line says which mode was in effect.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "zsmem/region.h"
#include "ranges.h"

#define EXPORT __attribute__((visibility("default")))
#define PG 4096UL
#define HDR 64UL				/* malloc header: keeps 64-byte alignment */
#define HDR_MAGIC 0x7a736d656d72756eULL		/* "zsmemrun" */
#define ZRUN_RECLAIM_CHUNK (2UL << 20)		/* bytes per zsr_reclaim call */

/* glibc's own allocator, exported for exactly this use (malloc interposition). */
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

struct hdr {			/* just below a placed malloc pointer */
	uint64_t magic;
	uint64_t first;		/* the range: first page index, pages */
	uint64_t npages;
	uint64_t pad[5];
};
_Static_assert(sizeof(struct hdr) == HDR, "header size");

static struct {
	struct zsr *r;
	uintptr_t base, end;
	uint64_t cap_pages;	/* 0: no cap */
	size_t min_bytes;
	bool stats;
	uintptr_t self_lo, self_hi;	/* this object's mapped span */
	size_t (*libc_usable)(void *);
	pthread_mutex_t alloc_mu;	/* the range allocator and the detached map */
	pthread_mutex_t evict_mu;	/* held across each zsr_reclaim; see the top */
	struct zrr ranges;
	unsigned char *detached;	/* one byte per page: MAP_FIXED replaced it */
	pthread_t reclaimer;
	atomic_bool stop;
	/* counters (relaxed: statistics only) */
	atomic_ulong placed_maps, placed_bytes, fallback_maps, peak_resident;
	atomic_ulong peak_evicted, peak_pool, peak_compr;	/* sampled by the reclaimer */
} g = {
	.alloc_mu = PTHREAD_MUTEX_INITIALIZER,
	.evict_mu = PTHREAD_MUTEX_INITIALIZER,
};

/*
 * On: set once by the constructor, cleared in a fork child. Acquire/release pairs the
 * constructor's setup of g with the hooks' reads of it (hooks run on any thread).
 */
static atomic_bool on;

static void *sys_mmap(void *a, size_t l, int p, int f, int fd, off_t o)
{
	return (void *)syscall(SYS_mmap, a, l, p, f, fd, o);
}

static bool internal_caller(const void *ret)
{
	uintptr_t a = (uintptr_t)ret;

	return a >= g.self_lo && a < g.self_hi;
}

static inline bool in_region(const void *p)
{
	return (uintptr_t)p >= g.base && (uintptr_t)p < g.end;
}

/* ---- ranges ---- */

static void *place(size_t bytes)
{
	uint64_t n = (bytes + PG - 1) / PG, first;

	pthread_mutex_lock(&g.alloc_mu);
	first = zrr_alloc(&g.ranges, n);
	pthread_mutex_unlock(&g.alloc_mu);
	if (first == UINT64_MAX) {
		atomic_fetch_add_explicit(&g.fallback_maps, 1, memory_order_relaxed);
		return NULL;
	}
	atomic_fetch_add_explicit(&g.placed_maps, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&g.placed_bytes, n * PG, memory_order_relaxed);
	return (void *)(g.base + first * PG);
}

static bool any_detached(uint64_t first, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (g.detached[first + i])
			return true;
	return false;
}

/*
 * Gives pages [first, first+n) back: zero them (the region drops their compressed
 * copies on the remove event), wait out any eviction in flight, then free the range.
 * Detached pages are unmapped for real and never reused.
 */
static void release(uint64_t first, uint64_t n)
{
	void *p = (void *)(g.base + first * PG);
	bool det;

	pthread_mutex_lock(&g.alloc_mu);
	det = any_detached(first, n);
	pthread_mutex_unlock(&g.alloc_mu);
	if (det) {
		syscall(SYS_munmap, p, n * PG);
		return;
	}
	madvise(p, n * PG, MADV_DONTNEED);
	/* An eviction that claimed these pages before the DONTNEED ends before we free. */
	pthread_mutex_lock(&g.evict_mu);
	pthread_mutex_unlock(&g.evict_mu);
	pthread_mutex_lock(&g.alloc_mu);
	zrr_free(&g.ranges, first, n);
	pthread_mutex_unlock(&g.alloc_mu);
}

/* Pages of the region overlapping [a, a+len), clipped to it. */
static bool clip(void *a, size_t len, uint64_t *first, uint64_t *n)
{
	uintptr_t s = (uintptr_t)a, e = s + ((len + PG - 1) & ~(PG - 1));

	if (e <= g.base || s >= g.end)
		return false;
	if (s < g.base)
		s = g.base;
	if (e > g.end)
		e = g.end;
	*first = (s - g.base) / PG;
	*n = (e - s) / PG;
	return true;
}

/* ---- mmap family ---- */

static bool placeable(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	const int ok = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE;

	(void)addr;		/* a hint only: ignored */
	return len >= g.min_bytes && prot == (PROT_READ | PROT_WRITE) && (flags & ~ok) == 0 &&
	       (flags & MAP_PRIVATE) && (flags & MAP_ANONYMOUS) && fd == -1 && off == 0;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (atomic_load_explicit(&on, memory_order_acquire) &&
	    !internal_caller(__builtin_return_address(0))) {
		if (placeable(addr, len, prot, flags, fd, off)) {
			void *p = place(len);

			if (p)
				return p;
		} else if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) == MAP_FIXED) {
			uint64_t first, n;

			if (clip(addr, len, &first, &n)) {
				/* The kernel replaces those pages: they leave the region. */
				pthread_mutex_lock(&g.alloc_mu);
				memset(g.detached + first, 1, n);
				pthread_mutex_unlock(&g.alloc_mu);
			}
		}
	}
	return sys_mmap(addr, len, prot, flags, fd, off);
}
EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
	uint64_t first, n;

	if (atomic_load_explicit(&on, memory_order_acquire) && clip(addr, len, &first, &n)) {
		uintptr_t s = (uintptr_t)addr, e = s + len;

		if ((s & (PG - 1)) || len == 0) {
			errno = EINVAL;
			return -1;
		}
		/* Parts outside the region (a range spanning its edge) are unmapped for real. */
		if (s < g.base)
			syscall(SYS_munmap, addr, g.base - s);
		if (e > g.end)
			syscall(SYS_munmap, (void *)g.end, e - g.end);
		release(first, n);
		return 0;
	}
	if (!atomic_load_explicit(&on, memory_order_acquire) && g.r && in_region(addr))
		return 0;	/* fork child: the region's pages are not mapped here */
	return (int)syscall(SYS_munmap, addr, len);
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *want = NULL;
	uint64_t first, n;

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	if (atomic_load_explicit(&on, memory_order_acquire) && in_region(old) &&
	    clip(old, old_len, &first, &n) && !(flags & MREMAP_DONTUNMAP)) {
		uint64_t nn = (new_len + PG - 1) / PG;
		bool det, grown = false;
		void *to;

		if (((uintptr_t)old & (PG - 1)) || new_len == 0 ||
		    (uintptr_t)old + old_len > g.end) {
			errno = EINVAL;
			return MAP_FAILED;
		}
		pthread_mutex_lock(&g.alloc_mu);
		det = any_detached(first, n);
		if (!det && !(flags & MREMAP_FIXED) && nn > n)
			grown = zrr_alloc_at(&g.ranges, first + n, nn - n);
		pthread_mutex_unlock(&g.alloc_mu);
		if (det)
			goto real;
		if (!(flags & MREMAP_FIXED) && nn <= n) {	/* shrink in place */
			if (nn < n)
				release(first + nn, n - nn);
			return old;
		}
		if (grown)
			return old;
		if (!(flags & MREMAP_MAYMOVE)) {
			errno = ENOMEM;
			return MAP_FAILED;
		}
		if (flags & MREMAP_FIXED)
			to = sys_mmap(want, new_len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		else if (!(to = place(new_len)))
			to = sys_mmap(NULL, new_len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (to == MAP_FAILED)
			return MAP_FAILED;	/* errno from the kernel */
		memcpy(to, old, (n < nn ? n : nn) * PG);
		release(first, n);
		return to;
	}
real:
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, want);
}

/* ---- malloc family ---- */

static void *big_alloc(size_t size, size_t align)
{
	size_t off = align > HDR ? align : HDR;
	struct hdr *h;
	char *p;

	if (size > SIZE_MAX - off - PG)
		return NULL;
	p = place(size + off);
	if (!p)
		return NULL;
	h = (struct hdr *)(p + off - HDR);
	h->magic = HDR_MAGIC;
	h->first = ((uintptr_t)p - g.base) / PG;
	h->npages = (size + off + PG - 1) / PG;
	return p + off;
}

static struct hdr *hdr_of(void *p)
{
	return (struct hdr *)((char *)p - HDR);
}

static size_t big_usable(void *p)
{
	struct hdr *h = hdr_of(p);

	return g.base + (h->first + h->npages) * PG - (uintptr_t)p;
}

static bool use_region(size_t size, const void *ret)
{
	return size >= g.min_bytes && atomic_load_explicit(&on, memory_order_acquire) &&
	       !internal_caller(ret);
}

EXPORT void *malloc(size_t size)
{
	if (use_region(size, __builtin_return_address(0))) {
		void *p = big_alloc(size, 0);

		if (p)
			return p;
	}
	return __libc_malloc(size);
}

EXPORT void free(void *p)
{
	if (p && g.r && in_region(p)) {
		struct hdr *h;

		if (!atomic_load_explicit(&on, memory_order_acquire))
			return;		/* fork child: not mapped here */
		h = hdr_of(p);
		release(h->first, h->npages);
		return;
	}
	__libc_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	size_t t;

	if (__builtin_mul_overflow(n, size, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	if (use_region(t, __builtin_return_address(0))) {
		void *p = big_alloc(t, 0);	/* a released range reads as zeros */

		if (p)
			return p;
	}
	return __libc_calloc(n, size);
}

EXPORT void *realloc(void *p, size_t size)
{
	const void *ret = __builtin_return_address(0);

	if (p && g.r && in_region(p)) {
		struct hdr *h = hdr_of(p);
		size_t have = big_usable(p);
		void *q;

		if (!atomic_load_explicit(&on, memory_order_acquire))
			return __libc_malloc(size);	/* fork child: the old contents are gone */
		if (size == 0) {
			free(p);
			return NULL;
		}
		if (size <= have) {
			uint64_t keep = ((uintptr_t)p + size - g.base + PG - 1) / PG - h->first;

			if (keep < h->npages) {
				release(h->first + keep, h->npages - keep);
				h->npages = keep;
			}
			return p;
		}
		q = use_region(size, NULL) ? big_alloc(size, 0) : NULL;
		if (!q)
			q = __libc_malloc(size);
		if (!q)
			return NULL;
		memcpy(q, p, have);
		free(p);
		return q;
	}
	if (p && use_region(size, ret) && g.libc_usable) {
		size_t have = g.libc_usable(p);
		void *q;

		if (size > have && (q = big_alloc(size, 0))) {
			memcpy(q, p, have);
			__libc_free(p);
			return q;
		}
	}
	return __libc_realloc(p, size);
}

EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t t;

	if (__builtin_mul_overflow(n, size, &t)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, t);
}

EXPORT void *memalign(size_t align, size_t size)
{
	if (align <= PG && use_region(size, __builtin_return_address(0))) {
		void *p = big_alloc(size, align);

		if (p)
			return p;
	}
	return __libc_memalign(align, size);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	p = memalign(align, size);
	if (!p && size)
		return ENOMEM;
	*out = p;
	return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return memalign(align, size);
}

EXPORT void *valloc(size_t size)
{
	return memalign(PG, size);
}

EXPORT void *pvalloc(size_t size)
{
	return memalign(PG, (size + PG - 1) & ~(PG - 1));
}

EXPORT size_t malloc_usable_size(void *p)
{
	if (p && g.r && in_region(p))
		return atomic_load_explicit(&on, memory_order_acquire) ? big_usable(p) : 0;
	return p && g.libc_usable ? g.libc_usable(p) : 0;
}

/* ---- the reclaimer ---- */

static void *reclaimer_main(void *arg)
{
	struct timespec tick = { 0, 1000000 };	/* 1 ms when under the cap */
	struct zsr_stats st;

	(void)arg;
	{
		sigset_t all;

		/* Signals are the program's business: none is delivered to this thread. */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	while (!atomic_load_explicit(&g.stop, memory_order_relaxed)) {
		zsr_get_stats(g.r, &st);
		/* Only this thread stores the peaks; the exit report reads them. */
		if (st.resident_pages > atomic_load_explicit(&g.peak_resident, memory_order_relaxed))
			atomic_store_explicit(&g.peak_resident, st.resident_pages,
					      memory_order_relaxed);
		if (st.evicted_pages > atomic_load_explicit(&g.peak_evicted, memory_order_relaxed))
			atomic_store_explicit(&g.peak_evicted, st.evicted_pages,
					      memory_order_relaxed);
		if (st.pool_pages > atomic_load_explicit(&g.peak_pool, memory_order_relaxed))
			atomic_store_explicit(&g.peak_pool, st.pool_pages, memory_order_relaxed);
		if (st.compr_bytes > atomic_load_explicit(&g.peak_compr, memory_order_relaxed))
			atomic_store_explicit(&g.peak_compr, st.compr_bytes, memory_order_relaxed);
		if (g.cap_pages && st.resident_pages > g.cap_pages) {
			/* Down to 15/16 of the cap, in bounded calls (releases wait on one). */
			uint64_t want = (st.resident_pages - g.cap_pages + g.cap_pages / 16) * PG;
			long got;

			if (want > ZRUN_RECLAIM_CHUNK)
				want = ZRUN_RECLAIM_CHUNK;
			pthread_mutex_lock(&g.evict_mu);
			got = zsr_reclaim(g.r, want);
			pthread_mutex_unlock(&g.evict_mu);
			if (got > 0)
				continue;
		}
		nanosleep(&tick, NULL);
	}
	return NULL;
}

/* ---- setup ---- */

static size_t env_size(const char *name, size_t dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	v = strtoull(s, &end, 0);
	switch (*end) {
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	default: break;
	}
	return (size_t)v;
}

static int find_self(struct dl_phdr_info *info, size_t sz, void *arg)
{
	uintptr_t me = (uintptr_t)arg, lo = UINTPTR_MAX, hi = 0;

	(void)sz;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (me >= lo && me < hi) {
		g.self_lo = lo;
		g.self_hi = hi;
		return 1;
	}
	return 0;
}

static void atfork_child(void)
{
	/* The region (MADV_DONTFORK) and the reclaimer thread did not come along. */
	atomic_store_explicit(&on, false, memory_order_release);
}

static void print_stats(void)
{
	struct zsr_stats st;
	char buf[1024];
	int n;

	if (!atomic_load(&g.placed_maps))
		return;		/* nothing was placed: stay quiet (shells, short helpers) */
	zsr_get_stats(g.r, &st);
	n = snprintf(buf, sizeof(buf),
		     "zsmem-run: pid=%d placed_maps=%lu placed_bytes=%lu fallback_maps=%lu "
		     "cap_pages=%llu resident_pages=%llu peak_resident_pages=%lu "
		     "evicted_pages=%llu stored_pages=%llu same_pages=%llu pool_pages=%llu "
		     "compr_bytes=%llu faults=%llu refaults=%llu readahead_pages=%llu evictions=%llu "
		     "peak_evicted_pages=%lu peak_pool_pages=%lu peak_compr_bytes=%lu "
		     "user_mode_only=%d\n",
		     (int)getpid(), atomic_load(&g.placed_maps), atomic_load(&g.placed_bytes),
		     atomic_load(&g.fallback_maps), (unsigned long long)g.cap_pages,
		     (unsigned long long)st.resident_pages, atomic_load(&g.peak_resident),
		     (unsigned long long)st.evicted_pages, (unsigned long long)st.stored_pages,
		     (unsigned long long)st.same_pages, (unsigned long long)st.pool_pages,
		     (unsigned long long)st.compr_bytes, (unsigned long long)st.faults,
		     (unsigned long long)st.refaults, (unsigned long long)st.readahead_pages,
		     (unsigned long long)st.evictions,
		     atomic_load(&g.peak_evicted), atomic_load(&g.peak_pool),
		     atomic_load(&g.peak_compr), (int)st.user_mode_only);
	if (n > 0 && write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1) < 0)
		return;
}

__attribute__((constructor)) static void zsmem_run_init(void)
{
	struct zsr_config cfg = { 0 };
	long phys = sysconf(_SC_PHYS_PAGES);
	size_t dflt = phys > 0 ? (size_t)phys * PG / 2 : (8UL << 30);
	const char *off = getenv("ZSMEM_RUN_OFF");

	if (off && *off == '1')
		return;
	if (dflt > (8UL << 30))
		dflt = 8UL << 30;
	dl_iterate_phdr(find_self, (void *)(uintptr_t)&zsmem_run_init);
	g.libc_usable = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
	g.min_bytes = env_size("ZSMEM_RUN_MIN", 1UL << 20);
	if (g.min_bytes < PG)
		g.min_bytes = PG;
	g.cap_pages = env_size("ZSMEM_RUN_MAX_RESIDENT", 0) / PG;
	g.stats = getenv("ZSMEM_RUN_STATS") && *getenv("ZSMEM_RUN_STATS") == '1';
	cfg.size = (env_size("ZSMEM_RUN_SIZE", dflt) + PG - 1) & ~(PG - 1);
	cfg.compressor = getenv("ZSMEM_RUN_COMPRESSOR");
	cfg.deferred_free = !(getenv("ZSMEM_RUN_SYNC_FREE") && *getenv("ZSMEM_RUN_SYNC_FREE") == '1');
	cfg.max_resident = 0;	/* the preload's reclaimer holds the cap (see the top) */
	/* A heap grows in order: zero pages ahead of its first touches (region.h). */
	cfg.map_ahead = !(getenv("ZSMEM_RUN_NO_MAP_AHEAD") && *getenv("ZSMEM_RUN_NO_MAP_AHEAD") == '1');
	if (!g.self_hi)
		return;
	g.r = zsr_create(&cfg);
	if (!g.r) {
		fprintf(stderr, "zsmem-run: zsr_create: %s: running without a region\n",
			strerror(errno));
		return;
	}
	g.base = (uintptr_t)zsr_base(g.r);
	g.end = g.base + cfg.size;
	g.detached = sys_mmap(NULL, cfg.size / PG, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (g.detached == MAP_FAILED || !zrr_init(&g.ranges, cfg.size / PG)) {
		fprintf(stderr, "zsmem-run: no memory for the range tables\n");
		return;
	}
	if (pthread_create(&g.reclaimer, NULL, reclaimer_main, NULL) != 0) {
		fprintf(stderr, "zsmem-run: cannot start the reclaimer\n");
		return;
	}
	pthread_atfork(NULL, NULL, atfork_child);
	if (g.stats)
		atexit(print_stats);
	atomic_store_explicit(&on, true, memory_order_release);
}
