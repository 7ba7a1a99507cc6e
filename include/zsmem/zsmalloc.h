/* SPDX-License-Identifier: MIT */
/*
 * zsmem/zsmalloc.h - a userspace zsmalloc: a dense allocator for compressed pages,
 * and the per-CPU deferred free framework built on it.
 *
 * Objects of 1..4096 bytes live in size classes (32 + 16*i bytes). A class carves
 * "zspages" (chains of 1..chain_size 4 KiB pages) into back-to-back slots; a slot may
 * straddle a page boundary, so objects are reached through a handle and copied in and
 * out with zs_obj_write()/zs_obj_read(), or mapped with zs_obj_read_begin()/end().
 *
 * Thread safety: every function may be called from any thread at any time, except that
 * zs_destroy_pool() must not race with anything else on the same pool.
 *
 * NULL pointers (the rule of the whole library: zsmalloc, the deferred framework, zram,
 * zswap): a NULL pool, device or zswap is never dereferenced. A function returning int
 * returns -EINVAL; one returning a pointer or a handle returns NULL / 0 with errno
 * EINVAL; bool: false; a size, count or statistic: 0; a statistics getter zeroes its
 * output (and does nothing when the output pointer is NULL); a void function, destroy
 * included, does nothing (like free(NULL)). Handle 0 is likewise never an object.
 * A NULL config is not an error: it means the defaults (zs_create_pool_ex,
 * zs_pool_enable_deferred_free_ex, zswap_create), except for zram_create(), which
 * needs a disksize (EINVAL).
 *
 * Async-signal safety: zs_free_deferred() only (see there). Everything else may take
 * locks or allocate, and must not be called from a signal handler.
 *
 * fork(): the library registers pthread_atfork() handlers. While a process forks, the
 * library's own threads (deferred-free workers and timer, the zspage-free thread,
 * zswap's shrinker) are parked at a point where they hold nothing, and no push is in
 * flight. The parent then carries on unchanged. The child has none of those threads
 * and works synchronously: zs_free_deferred() returns false (free at once), and
 * zs_deferred_flush(), zs_destroy_pool(), zram_flush() and zswap_destroy() do their
 * remaining work in the calling thread; emptied zspages of a ZS_POOL_DEFER_ZSPAGE_FREE
 * pool are released inline; zswap has no background shrinker (zswap_writeback() still
 * works). As with any multithreaded fork, another application thread that was inside a
 * zsmem call (other than a deferred push) at that moment may leave a lock of that
 * object held in the child: fork from a point where no other thread is using the
 * object, or have the child use other objects. fork() must not be called from a
 * drain() callback.
 */
#ifndef ZSMEM_ZSMALLOC_H
#define ZSMEM_ZSMALLOC_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ZS_API __attribute__((visibility("default")))
#else
#define ZS_API
#endif

#define ZS_PAGE_SIZE		4096u
#define ZS_MAX_ALLOC_SIZE	4096u	/* larger requests fail with ENOSPC */
#define ZS_MIN_CHAIN		4u	/* pages per zspage: configurable range */
#define ZS_MAX_CHAIN		16u
#define ZS_DEFAULT_CHAIN	8u
#define ZS_NR_FULLNESS		12	/* empty, 0-9%, 10-19%, ..., 90-99%, full */
#define ZS_NR_SIZE_SLOTS	255	/* (4096 - 32) / 16 + 1 size slots before merging */
#define ZS_OBJ_HEADER_SIZE	4u	/* in-slot bytes per object, huge class excepted */

struct zs_pool;

/* ---------------------------------------------------------------------------------- */
/* Pools                                                                               */

enum zs_pool_flags {
	/* 1u << 0 is reserved: the lab's legacy-lock baseline (zsmem/lab.h, unstable). */
	/*
	 * Emptied zspages are not returned to the OS by the thread that emptied them but
	 * queued to a background thread (the reviewers' "defer only the zspage free").
	 */
	ZS_POOL_DEFER_ZSPAGE_FREE = 1u << 1,
	/*
	 * A background thread keeps a few pages (at most 48, 192 KiB) faulted in ahead of
	 * need, so that zs_malloc() finds backed memory as the kernel's zsmalloc does and
	 * the allocating thread takes no page fault while the pool grows. The first write
	 * of a fresh anonymous page costs 10-30 us on a VM with shadow paging (more than
	 * compressing the page); the thread pays it on another CPU. zram pools use it.
	 */
	ZS_POOL_PREFAULT = 1u << 2,
	/*
	 * Denser size classes than the kernel's table: a size slot also joins the class
	 * above when that costs it at most 16 bytes per object (92 classes for chain 8
	 * instead of 119, 128 for chain 16 instead of 192). Each class in use holds about
	 * half a page it cannot fill, a partly used handle chunk and its struct, so fewer
	 * classes take less memory on real heaps (measured: bench/alloc/README.md). The
	 * huge threshold is unchanged. Off by default: the default table is the kernel's.
	 */
	ZS_POOL_DENSE_CLASSES = 1u << 3,
};

struct zs_pool_config {
	unsigned int chain_size;	/* max pages per zspage, 4..16; 0 = 8 */
	unsigned int flags;		/* enum zs_pool_flags */
};

/* NULL with errno (ENOMEM). */
ZS_API struct zs_pool *zs_create_pool(const char *name);
/* NULL with errno: EINVAL for a chain size outside 4..16 or unknown flags, ENOMEM. */
ZS_API struct zs_pool *zs_create_pool_ex(const char *name, const struct zs_pool_config *cfg);
/* Drains all deferred work first, then returns every page to the OS. */
ZS_API void zs_destroy_pool(struct zs_pool *pool);
ZS_API const char *zs_pool_name(const struct zs_pool *pool);

/* ---------------------------------------------------------------------------------- */
/* Objects                                                                             */

/* A handle (never 0), or 0 with errno: EINVAL for size 0, ENOSPC for size > 4096, ENOMEM. */
ZS_API unsigned long zs_malloc(struct zs_pool *pool, size_t size);
/* handle 0 is a no-op. With ZSMEM_DEBUG a double free or foreign handle aborts with a message. */
ZS_API void zs_free(struct zs_pool *pool, unsigned long handle);
/*
 * Frees n handles grouped by size class: each run of one class is freed under a single
 * class-lock acquisition and emptied zspages are released after the lock is dropped.
 * The array is reordered in place; zero entries are skipped.
 */
ZS_API void zs_free_batch(struct zs_pool *pool, unsigned long *handles, size_t n);

/*
 * Copy len bytes (len <= the size given to zs_malloc) into / out of an object. 0, or
 * -EINVAL with nothing copied when len is past the object's slot (its size class
 * rounds the zs_malloc size up: the slot is the bound checked, in every build, so a
 * wrong length never reaches the neighbouring object) or pool is NULL / handle 0.
 */
ZS_API int zs_obj_write(struct zs_pool *pool, unsigned long handle, const void *src, size_t len);
ZS_API int zs_obj_read(struct zs_pool *pool, unsigned long handle, void *dst, size_t len);
/*
 * Zero-copy read: returns a pointer to the object's bytes when it lies inside one page,
 * otherwise copies them into local_copy (len bytes) and returns local_copy. The object
 * cannot move (compaction waits) until zs_obj_read_end() with the returned pointer.
 * NULL with errno EINVAL, and nothing held (no zs_obj_read_end()), for a len past the
 * slot, as zs_obj_read().
 */
ZS_API const void *zs_obj_read_begin(struct zs_pool *pool, unsigned long handle, size_t len,
				     void *local_copy);
ZS_API void zs_obj_read_end(struct zs_pool *pool, unsigned long handle, const void *ptr);

/* Size class index (0..254, the merged class's index) of a live handle;
 * ZS_NR_SIZE_SLOTS (no class) for a NULL pool or handle 0. */
ZS_API unsigned int zs_handle_class(struct zs_pool *pool, unsigned long handle);

/* ---------------------------------------------------------------------------------- */
/* Sizes, compaction, statistics                                                       */

/* Objects of this size or more occupy a whole page each: zram stores such pages raw. */
ZS_API size_t zs_huge_class_size(struct zs_pool *pool);
/* 4 KiB pages currently held by the pool's zspages. Zspages are elastic: one holds
 * only the pages its objects have reached, up to pages_per_zspage. */
ZS_API unsigned long zs_get_total_pages(struct zs_pool *pool);
/* Moves objects from the emptiest zspages into the fullest, class by class, then
 * shrinks the zspages left partly used to the pages their objects need; returns the
 * number of pages freed (net of pages the fullest zspages grew to take the objects).
 * Safe while other threads allocate, free, read and write; a zspage a reader holds
 * (zs_obj_read_begin) is skipped. */
ZS_API unsigned long zs_compact(struct zs_pool *pool);

struct zs_pool_stats {
	unsigned long total_pages;	/* == zs_get_total_pages() */
	unsigned long pages_compacted;	/* pages freed by zs_compact(), cumulative */
	unsigned long objs_allocated;	/* slots in all zspages */
	unsigned long objs_used;	/* live objects */
	unsigned long zspages;		/* zspages alive */
	unsigned long meta_bytes;	/* allocator metadata outside the zspages (handles, descriptors) */
	/* Parts of meta_bytes, and memory held beyond the zspages' pages: */
	unsigned long meta_desc_bytes;	/* zspage descriptors (in use and free) */
	unsigned long meta_handle_bytes; /* handle chunks and the classes' chunk tables */
	unsigned long free_resident_pages; /* freed (or prefaulted) pages not given back yet */
};
ZS_API void zs_pool_stats(struct zs_pool *pool, struct zs_pool_stats *st);

/* One row of the kernel's debugfs "classes" table. */
struct zs_class_stats {
	unsigned int index;		/* class index (0..254) */
	unsigned int size;		/* slot size in bytes */
	unsigned long fullness[ZS_NR_FULLNESS]; /* zspages per fullness group */
	unsigned long obj_allocated;
	unsigned long obj_used;
	unsigned long pages_used;	/* pages its zspages hold now (elastic) */
	unsigned int pages_per_zspage;	/* pages of a full zspage */
	unsigned int objs_per_zspage;
	unsigned long freeable;		/* pages compaction could free */
};
/* Fills up to max rows, one per distinct (merged) class, smallest first; returns the
 * number of distinct classes. */
ZS_API unsigned int zs_class_stats(struct zs_pool *pool, struct zs_class_stats *rows,
				   unsigned int max);
/* Prints the per-class table (the kernel's debugfs columns) and a total line. */
ZS_API void zs_print_stats(struct zs_pool *pool, FILE *out);
/*
 * Recounts the invariants (objects per zspage and per class, fullness groups, free lists,
 * handles) and returns 0, or -EUCLEAN after printing what is wrong to stderr. Takes every
 * class lock; meant for tests and debug builds.
 */
ZS_API int zs_pool_check(struct zs_pool *pool);

/* ---------------------------------------------------------------------------------- */
/* Deferred free                                                                       */

enum zs_push_ret {
	ZS_PUSH_OK,		/* value stored, buffer has room */
	ZS_PUSH_FULL,		/* value NOT stored: buffer full */
	ZS_PUSH_FULL_QUEUED,	/* value stored, and the buffer is now full */
};

/*
 * push() stores value into a one-page buffer already holding count values; it runs
 * inside the per-CPU critical section, so it must be short, must not block and must
 * commit nothing but the stored value. drain() does the real free of count values, on
 * a worker thread, with any locks it needs.
 */
struct zs_deferred_ops {
	enum zs_push_ret (*push)(void *buf, unsigned int count, unsigned long value);
	void (*drain)(void *priv, void *buf, unsigned int count);
};

enum zs_deferred_mode {
	ZS_DEFER_PERCPU = 0,	/* per-CPU one-page buffers, spare pool, workers (v3, default) */
	ZS_DEFER_V2_ARRAY,	/* one per-pool array under a trylock, drained at half (v2) */
	ZS_DEFER_PER_CLASS,	/* handles only: one queue per size class */
	ZS_DEFER_SYNC,		/* zs_free_deferred() always returns false */
};

/*
 * How the drain workers are scheduled against the threads that push (an exit path
 * freeing a process's swap slots competes with them for the CPUs). With NICE and IDLE
 * the workers yield the CPUs to the pushers; as many catch-up threads, at the creating
 * thread's priority, sleep until a queued page has waited max_delay/4 (busy CPUs
 * starve the workers) or a flush waits, and then drain the queue too. A page a
 * low-priority worker is in the middle of draining stays with it, though: on a loaded
 * machine memory then comes back later than with normal workers (README, "Deferred
 * free under CPU contention"), which is why NORMAL is the default. Past the spare
 * ceiling pushes fall back to synchronous frees, as always. zsbench -H -W measures it.
 */
enum zs_deferred_worker_sched {
	ZS_DEFER_WORKERS_DEFAULT = 0,	/* ZS_DEFER_WORKERS_NORMAL */
	ZS_DEFER_WORKERS_NICE,		/* nice 19 workers, catch-up threads */
	/*
	 * SCHED_IDLE workers, catch-up threads: the exit path runs first, but a worker
	 * preempted in the middle of a drain holds its page (and any lock drain() takes)
	 * for as long as the CPUs stay busy.
	 */
	ZS_DEFER_WORKERS_IDLE,
	ZS_DEFER_WORKERS_NORMAL,	/* the creating thread's priority, no catch-up threads
					 * (the behaviour before issue 10) */
};

struct zs_deferred_config {
	enum zs_deferred_mode mode;
	unsigned int spare_pages;	/* spare buffer pages; 0 = sized from the CPU count */
	unsigned int workers;		/* drain threads; 0 = automatic (CPUs, at most 4);
					 * worker_sched IDLE or NICE adds as many catch-up
					 * threads */
	unsigned int max_delay_us;	/* bound on a value's wait in a half-full buffer; 0 = 10000 */
	unsigned int array_entries;	/* ZS_DEFER_V2_ARRAY capacity; 0 = 32768 */
	bool no_rseq;			/* force the fallback push path even where rseq works */
	/*
	 * Ceiling of the spare pool (ZS_DEFER_PERCPU, ZS_DEFER_PER_CLASS). spare_pages
	 * are allocated at create (the floor); when a full buffer finds the spare stack
	 * empty, one more page is allocated, up to spare_pages_max pages, and pages above
	 * the floor are freed again once the framework has been idle for max_delay.
	 * 0 = max(floor, 1024) pages (4 MiB); a value <= the floor disables growth.
	 */
	unsigned int spare_pages_max;
	/* Drain workers' scheduling; 0 = ZS_DEFER_WORKERS_NORMAL (see the enum). */
	enum zs_deferred_worker_sched worker_sched;
};

/*
 * 0 or -errno: -EBUSY if already enabled; -EINVAL for NULL pool or ops, bad ops or
 * config (mode or worker_sched out of range, spare_pages or spare_pages_max above 1 << 20 pages,
 * array_entries above 1 << 26, ZS_DEFER_PER_CLASS with user ops); -ENOMEM; -EAGAIN
 * when the worker or timer threads cannot be created (pthread_create's EAGAIN: thread
 * or memory limits, e.g. under memory pressure or RLIMIT_NPROC). Nothing is left
 * enabled on failure: the pool keeps working, frees synchronously, and enabling may
 * be retried.
 */
ZS_API int zs_pool_enable_deferred_free(struct zs_pool *pool, const struct zs_deferred_ops *ops,
					void *priv);
ZS_API int zs_pool_enable_deferred_free_ex(struct zs_pool *pool, const struct zs_deferred_ops *ops,
					   void *priv, const struct zs_deferred_config *cfg);
/*
 * Built-in ops for plain zsmalloc handles: push the handle; drain with zs_free_batch()
 * (grouped = true, the default strategy) or with zs_free() one by one (v3's plain drain).
 * ZS_DEFER_PER_CLASS is only valid here.
 */
ZS_API int zs_pool_enable_deferred_handles(struct zs_pool *pool, bool grouped,
					   const struct zs_deferred_config *cfg);
/*
 * false: not deferred (not enabled, no spare page, a busy slot, a fork child, NULL
 * pool): the caller must free synchronously.
 *
 * Async-signal-safe, given an ops->push() that is (the built-in ones are): it may be
 * called from a signal handler, also one that interrupted a zs_free_deferred() or any
 * other zsmem call of its own thread, and never waits for a lock. Where it would need
 * one (the page swap when a buffer fills, waking a worker, a per-class slot held by
 * the interrupted code), it returns false instead. A handler that gets false must not
 * free synchronously with zs_free() (not async-signal-safe): keep the value and free
 * it later outside the handler. The library's own threads block all signals, so a
 * handler never runs on them.
 */
ZS_API bool zs_free_deferred(struct zs_pool *pool, unsigned long value);
/*
 * Returns once every value pushed before the call has been drained, half-full buffers
 * too. Called from a drain() callback of the same pool it cannot wait (the drain in
 * progress is one of the values it would wait for): it then queues every buffer for
 * the workers and returns at once, without waiting. Not async-signal-safe.
 */
ZS_API void zs_deferred_flush(struct zs_pool *pool);

struct zs_deferred_stats {
	uint64_t pushed;		/* values accepted by zs_free_deferred() */
	uint64_t fallbacks;		/* zs_free_deferred() returned false */
	uint64_t drained;		/* values passed to drain() */
	uint64_t drain_calls;		/* drain() invocations */
	uint64_t idle_drains;		/* half-full buffers taken by the delay bound */
	uint64_t flushes;
	uint64_t spare_pages;		/* configured spare pool size */
	uint64_t spare_low;		/* fewest spare pages seen free */
	uint64_t wait_ns_max;		/* longest time a value waited before its drain began */
	uint64_t wait_ns_sum;		/* sum over drained buffers of (age of oldest value) */
	uint64_t wait_samples;		/* number of buffers in wait_ns_sum */
	bool rseq;			/* the rseq push path is in use */
	/* Fallbacks by cause; fallbacks == fallbacks_busy + fallbacks_nospare. */
	uint64_t fallbacks_busy;	/* every slot of the CPU held or closed; v2: trylock failed */
	uint64_t fallbacks_nospare;	/* no buffer page and the pool at its ceiling; v2: array
					 * full; ZS_DEFER_SYNC: every call */
	/*
	 * Spare pool pages: buffer pages beyond the one each slot gets at create, wherever
	 * they are now (spare, in a slot, queued, being drained). spare_pages at rest.
	 */
	uint64_t spare_allocated;	/* now */
	uint64_t spare_high;		/* most ever allocated at once */
	uint64_t spare_grown;		/* pages allocated beyond the floor, cumulative */
	uint64_t spare_max;		/* the ceiling in effect */
};
ZS_API void zs_deferred_get_stats(struct zs_pool *pool, struct zs_deferred_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* ZSMEM_ZSMALLOC_H */
