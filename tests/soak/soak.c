// SPDX-License-Identifier: MIT
/*
 * soak: every subsystem at once, for a while, checked against a model.
 *
 *   soak [-d SECONDS] [-t THREADS] [-f FORKS] [-s SEED] [-m zram-free-mode]
 *        [-T CHILD_TIMEOUT_S] [-p PROGRESS_S] [-Q] [-q]
 *
 * One zsmalloc pool with deferred handle frees and deferred zspage free, one zram device
 * in a deferred free mode with a backing file and a secondary algorithm, one zswap with
 * the shrinker, deferred invalidate and a small pool limit. Each worker thread owns a
 * disjoint part of each (zram slots, zswap offsets of two swap types, its own handles),
 * so its model needs no lock and every mismatch is the library's; the threads meet
 * inside the library. A maintenance thread marks idle, writes back, recompresses,
 * compacts and flushes all the time. FORKS times, spread over the run, the process
 * forks: odd forks quiesce the application threads first and the child goes on using
 * the inherited device, zswap and pool (worker 0's part, with its copy of the model),
 * then destroys them; even forks happen while everything runs (with -Q they quiesce
 * too) and the child creates, uses and destroys its own instances. A child gets a bounded time (then it is killed
 * and counted as an error). At the end every part is freed and the pools must be back
 * at zero pages.
 *
 * Prints ops done, errors and memory; exit 0 only with no error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zsmem/zram.h>
#include <zsmem/zsmalloc.h>
#include <zsmem/zswap.h>

#include "tokpage.h"

#define ZR_PER_THREAD	1024u	/* zram slots per worker */
#define ZW_PER_THREAD	1024u	/* zswap offsets per worker, per swap type */
#define ZS_PER_THREAD	1024u	/* zsmalloc handles per worker */
#define ZW_TYPES	2u	/* type 0 has a backing file, type 1 none */
#define CHILD_OPS	20000u
#define MAX_THREADS	64
#define RSS_SLACK_KIB	8192u	/* RSS after destroy may exceed the start by this */
/* Sanitizers keep freed memory (quarantine, shadow): RSS says nothing there. */
#if defined(ZSMEM_ASAN) || defined(ZSMEM_TSAN) || defined(__SANITIZE_ADDRESS__) || \
	defined(__SANITIZE_THREAD__)
#define RSS_CHECKED	0
#else
#define RSS_CHECKED	1
#endif

enum { EMPTY = 0, LIVE, DEAD, ONFILE };

struct zs_obj {
	unsigned long handle;
	uint32_t size;
	unsigned char *bytes;	/* the model: exact contents */
};

struct worker {
	unsigned int id;
	uint64_t rng;
	uint8_t zr_state[ZR_PER_THREAD];
	uint64_t zr_tok[ZR_PER_THREAD];
	uint8_t zw_state[ZW_TYPES][ZW_PER_THREAD];
	uint64_t zw_tok[ZW_TYPES][ZW_PER_THREAD];
	struct zs_obj zs[ZS_PER_THREAD];
	/* Written by the owner only, read by the progress line: relaxed load + store. */
	_Atomic uint64_t ops_zram, ops_zswap, ops_zs;
	unsigned char page[PG_SIZE] __attribute__((aligned(4096)));
	unsigned char want[PG_SIZE] __attribute__((aligned(4096)));
	pthread_t thread;
};

/* Counters a child writes for the parent: a MAP_SHARED page made before any fork. */
struct shared_counts {
	_Atomic uint64_t child_ops;
	_Atomic uint64_t child_errors;
};

static struct {
	double duration;
	unsigned int threads;
	unsigned int forks;
	uint64_t seed;
	enum zram_free_mode zram_mode;
	unsigned int child_timeout;
	bool quiet;
	double progress;	/* seconds between progress lines; 0 = none */
	bool no_hot_forks;	/* -Q: even forks quiesce too (their child still makes fresh instances) */
} opt = { 60, 4, 2, 1, ZRAM_FREE_PERCPU_GROUPED, 60, false, 0, false };

static struct zram *zr;
static struct zswap *zw;
static struct zs_pool *zp;
static int zr_fd = -1, zw_fd = -1;
static struct worker *workers[MAX_THREADS];
static struct shared_counts *shared;

static atomic_bool stop;
/* Quiescing for a fork: workers and the maintenance thread park at an op boundary. */
static atomic_bool pause_req;
static atomic_uint parked;
static _Atomic uint64_t errors, ops_maint;
static bool in_child;

static void err(const char *fmt, ...)
{
	uint64_t n;
	va_list ap;

	if (in_child)
		n = atomic_fetch_add(&shared->child_errors, 1);
	else
		n = atomic_fetch_add(&errors, 1);
	if (n >= 30)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "soak%s: ERROR: ", in_child ? " (child)" : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)(sysconf(_SC_PAGESIZE) / 1024);
}

static inline void bump(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static uint64_t worker_ops(struct worker *w)
{
	return atomic_load_explicit(&w->ops_zram, memory_order_relaxed) +
	       atomic_load_explicit(&w->ops_zswap, memory_order_relaxed) +
	       atomic_load_explicit(&w->ops_zs, memory_order_relaxed);
}

static inline uint64_t rnd(struct worker *w)
{
	return pg_next(&w->rng);
}

static uint64_t new_token(struct worker *w)
{
	return rnd(w);
}

static void check_page(struct worker *w, const char *what, unsigned int i, uint64_t tok)
{
	pg_fill(w->want, tok);
	if (memcmp(w->page, w->want, PG_SIZE)) {
		uint64_t got;

		memcpy(&got, w->page, 8);
		err("%s %u (worker %u): wrong bytes: want token %#" PRIx64 " (kind %u), first word %#" PRIx64,
		    what, i, w->id, tok, (unsigned)(tok % PG_KINDS), got);
	}
}

/* ---------------------------------------------------------------------------------- */
/* zram: slots [id * ZR_PER_THREAD, (id + 1) * ZR_PER_THREAD)                          */

static void zram_op(struct worker *w)
{
	unsigned int i = (unsigned)(rnd(w) % ZR_PER_THREAD);
	uint32_t idx = w->id * ZR_PER_THREAD + i;
	unsigned int r = (unsigned)(rnd(w) % 100);
	int rc;

	bump(&w->ops_zram);
	if (r < 30) {
		uint64_t tok = new_token(w);

		pg_fill(w->page, tok);
		rc = zram_write_page(zr, idx, w->page);
		if (rc == 0) {
			w->zr_state[i] = LIVE;
			w->zr_tok[i] = tok;
		} else if (rc != -ENOMEM) {
			err("zram_write_page(%u) = %d", idx, rc);
		}
	} else if (r < 62) {
		if (w->zr_state[i] == DEAD)	/* a notified slot must not be read */
			return;
		rc = zram_read_page(zr, idx, w->page);
		if (rc) {
			err("zram_read_page(%u) = %d", idx, rc);
			return;
		}
		if (w->zr_state[i] == LIVE) {
			check_page(w, "zram slot", idx, w->zr_tok[i]);
		} else {
			memset(w->want, 0, PG_SIZE);
			if (memcmp(w->page, w->want, PG_SIZE))
				err("zram slot %u: empty slot does not read as zeros", idx);
		}
	} else if (r < 80) {
		zram_slot_free_notify(zr, idx);
		if (w->zr_state[i] != EMPTY)
			w->zr_state[i] = DEAD;
	} else if (r < 86) {
		unsigned int n = 1 + (unsigned)(rnd(w) % 8), k;

		if (i + n > ZR_PER_THREAD)
			n = ZR_PER_THREAD - i;
		rc = zram_discard(zr, idx, n);
		if (rc) {
			err("zram_discard(%u, %u) = %d", idx, n, rc);
			return;
		}
		for (k = 0; k < n; k++)
			w->zr_state[i + k] = EMPTY;
	} else if (r < 96) {
		struct zram_slot_info info;

		rc = zram_get_slot_info(zr, idx, &info);
		if (rc) {
			err("zram_get_slot_info(%u) = %d", idx, rc);
			return;
		}
		if (w->zr_state[i] == LIVE && !info.allocated)
			err("zram slot %u: live but not allocated", idx);
		if (w->zr_state[i] == EMPTY && info.allocated)
			err("zram slot %u: discarded but allocated (flags wb=%d same=%d huge=%d)",
			    idx, info.wb, info.same, info.huge);
	} else {
		/* Slot-level writeback from the caller's thread, racing the maintenance. */
		rc = zram_writeback_slot(zr, idx);
		if (rc < 0 && rc != -ENOSPC)
			err("zram_writeback_slot(%u) = %d", idx, rc);
	}
}

/* ---------------------------------------------------------------------------------- */
/* zswap: offsets [id * ZW_PER_THREAD, ...) of types 0 (backing file) and 1 (none)     */

/*
 * States: EMPTY (nothing: load says -ENOENT), LIVE (stored: load returns it, or, type 0
 * only, says -ENOENT after the shrinker wrote it to the file), ONFILE (a store failed:
 * the caller keeps the page itself, and zswap must not answer with an older one).
 */
static void zswap_op(struct worker *w)
{
	unsigned int type = (unsigned)(rnd(w) % ZW_TYPES);
	unsigned int i = (unsigned)(rnd(w) % ZW_PER_THREAD);
	uint64_t off = (uint64_t)w->id * ZW_PER_THREAD + i;
	unsigned int r = (unsigned)(rnd(w) % 100);
	uint8_t *st = &w->zw_state[type][i];
	int rc;

	bump(&w->ops_zswap);
	if (r < 40) {
		uint64_t tok = new_token(w);

		pg_fill(w->page, tok);
		rc = zswap_store(zw, type, off, w->page);
		w->zw_tok[type][i] = tok;
		if (rc == 0)
			*st = LIVE;
		else if (rc == -ENOSPC || rc == -ENOMEM || rc == -E2BIG)
			*st = ONFILE;
		else
			err("zswap_store(%u, %" PRIu64 ") = %d", type, off, rc);
	} else if (r < 75) {
		rc = zswap_load(zw, type, off, w->page);
		if (rc == 0) {
			if (*st != LIVE)
				err("zswap_load(%u, %" PRIu64 ") = 0 on a slot in state %d", type, off, *st);
			else
				check_page(w, "zswap offset", (unsigned)off, w->zw_tok[type][i]);
		} else if (rc == -ENOENT) {
			if (*st == LIVE) {
				if (type != 0) {
					err("zswap_load(1, %" PRIu64 ") = -ENOENT: stored page lost", off);
				} else if (pread(zw_fd, w->page, PG_SIZE, (off_t)(off * PG_SIZE)) != PG_SIZE) {
					err("pread swap file at %" PRIu64 ": %s", off, strerror(errno));
				} else {
					check_page(w, "zswap written-back offset", (unsigned)off,
						   w->zw_tok[type][i]);
				}
			}
		} else {
			err("zswap_load(%u, %" PRIu64 ") = %d", type, off, rc);
		}
		/* Swapped in (or read from the file): the swap slot is freed. */
		zswap_invalidate(zw, type, off);
		*st = EMPTY;
	} else {
		zswap_invalidate(zw, type, off);
		*st = EMPTY;
	}
}

/* ---------------------------------------------------------------------------------- */
/* zsmalloc: the worker's own handles                                                  */

static void zs_drop(struct zs_obj *o)
{
	free(o->bytes);
	o->bytes = NULL;
	o->handle = 0;
	o->size = 0;
}

static void zs_op(struct worker *w)
{
	unsigned int i = (unsigned)(rnd(w) % ZS_PER_THREAD);
	struct zs_obj *o = &w->zs[i];
	unsigned int r = (unsigned)(rnd(w) % 100);

	bump(&w->ops_zs);
	if (!o->handle) {
		/* Sizes: mostly small and mid, some near and at the huge class. */
		uint32_t size = (uint32_t)(rnd(w) % 4) ? 1 + (uint32_t)(rnd(w) % 3000)
						      : 3000 + (uint32_t)(rnd(w) % 1097);
		unsigned long h = zs_malloc(zp, size);

		if (!h) {
			if (errno != ENOMEM)
				err("zs_malloc(%u): %s", size, strerror(errno));
			return;
		}
		o->bytes = malloc(size);
		if (!o->bytes) {
			zs_free(zp, h);
			return;
		}
		pg_fill_bytes(o->bytes, size, new_token(w));
		if (zs_obj_write(zp, h, o->bytes, size))
			err("zs_obj_write(%u) failed", size);
		o->handle = h;
		o->size = size;
		return;
	}
	if (r < 35) {
		if (zs_obj_read(zp, o->handle, w->page, o->size))
			err("zs_obj_read(%u) failed", o->size);
		else if (memcmp(w->page, o->bytes, o->size))
			err("zsmalloc handle %#lx (size %u, worker %u): wrong bytes", o->handle,
			    o->size, w->id);
	} else if (r < 50) {
		const void *p = zs_obj_read_begin(zp, o->handle, o->size, w->page);

		if (!p) {
			err("zs_obj_read_begin(%u) = NULL", o->size);
			return;
		}
		if (memcmp(p, o->bytes, o->size))
			err("zsmalloc handle %#lx (size %u): wrong bytes through read_begin",
			    o->handle, o->size);
		zs_obj_read_end(zp, o->handle, p);
	} else if (r < 60) {
		uint32_t len = 1 + (uint32_t)(rnd(w) % o->size);

		pg_fill_bytes(o->bytes, len, new_token(w));
		if (zs_obj_write(zp, o->handle, o->bytes, len))
			err("zs_obj_write(%u of %u) failed", len, o->size);
	} else if (r < 70) {
		zs_free(zp, o->handle);
		zs_drop(o);
	} else if (r < 95) {
		if (!zs_free_deferred(zp, o->handle))
			zs_free(zp, o->handle);
		zs_drop(o);
	} else {
		/* A batch of up to 8 of this worker's handles. */
		unsigned long hs[8];
		size_t n = 0;
		unsigned int k;

		for (k = 0; k < 8; k++) {
			struct zs_obj *q = &w->zs[(i + k) % ZS_PER_THREAD];

			if (q->handle) {
				hs[n++] = q->handle;
				zs_drop(q);
			}
		}
		zs_free_batch(zp, hs, n);
	}
}

static void one_op(struct worker *w)
{
	unsigned int r = (unsigned)(rnd(w) % 3);

	if (r == 0)
		zram_op(w);
	else if (r == 1)
		zswap_op(w);
	else
		zs_op(w);
}

static void park(void)
{
	atomic_fetch_add(&parked, 1);
	while (atomic_load(&pause_req))
		usleep(200);
	atomic_fetch_sub(&parked, 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (atomic_load_explicit(&pause_req, memory_order_acquire))
			park();
		one_op(w);
	}
	return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* Maintenance: everything that works on the whole device or pool                      */

static void maint_op(uint64_t *rng)
{
	unsigned int r = (unsigned)(pg_next(rng) % 14);
	int64_t n;

	switch (r) {
	case 0:
		zram_mark_idle(zr, 0);
		break;
	case 1:
		zram_mark_idle(zr, 1);
		break;
	case 2:
	case 3:
		n = zram_writeback(zr, (enum zram_wb_mode)(ZRAM_WB_IDLE + pg_next(rng) % 4));
		if (n < 0 && n != -ENOSPC)
			err("zram_writeback = %" PRId64, n);
		break;
	case 4:
	case 5:
		n = zram_recompress(zr, (enum zram_recomp_mode)(ZRAM_RECOMP_IDLE + pg_next(rng) % 4),
				    NULL, 0, (size_t)(pg_next(rng) % 2) * 1024);
		if (n < 0)
			err("zram_recompress = %" PRId64, n);
		break;
	case 6:
		zram_compact(zr);
		break;
	case 7:
		zs_compact(zp);
		break;
	case 8:
		zs_compact(zswap_pool(zw));
		break;
	case 9:
		zram_flush(zr);
		break;
	case 10:
		zs_deferred_flush(zp);
		break;
	case 11:
		zswap_flush(zw);
		break;
	case 12:
		zswap_writeback(zw, 1 + pg_next(rng) % 64);
		break;
	default: {
		/* The stat getters, racing everything. */
		struct zram_mm_stat mm;
		struct zswap_stats ws;
		struct zs_pool_stats ps;
		struct zs_deferred_stats ds;

		zram_get_mm_stat(zr, &mm);
		zswap_get_stats(zw, &ws);
		zs_pool_stats(zp, &ps);
		zs_deferred_get_stats(zp, &ds);
		break;
	}
	}
	atomic_fetch_add(&ops_maint, 1);
}

static void *maint_main(void *arg)
{
	uint64_t rng = *(uint64_t *)arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (atomic_load_explicit(&pause_req, memory_order_acquire))
			park();
		maint_op(&rng);
		usleep((useconds_t)(1000 + pg_next(&rng) % 20000));
	}
	return NULL;
}

/* ---------------------------------------------------------------------------------- */
/* Setup and teardown                                                                  */

static int backing_file(const char *name, uint64_t pages)
{
	int fd = memfd_create(name, 0);

	if (fd < 0 || ftruncate(fd, (off_t)(pages * PG_SIZE))) {
		perror("soak: memfd");
		exit(2);
	}
	return fd;
}

static void create_all(unsigned int threads, enum zram_free_mode mode)
{
	struct zs_pool_config pc = { .chain_size = 0, .flags = ZS_POOL_DEFER_ZSPAGE_FREE };
	struct zram_config zc = {
		.disksize = (uint64_t)threads * ZR_PER_THREAD * PG_SIZE,
		.comp_algorithm = "lz4",
		.deferred_free = true,
		.free_mode = mode,
		.name = "soak-zram",
	};
	struct zswap_config wc = {
		.compressor = "lz4",
		/* Small enough that the limit, the hysteresis and the shrinker all work. */
		.max_pool_bytes = (uint64_t)threads * ZW_PER_THREAD * PG_SIZE / 4,
		.shrinker_enabled = true,
		.deferred_invalidate = true,
	};
	int rc;

	zp = zs_create_pool_ex("soak", &pc);
	if (!zp || zs_pool_enable_deferred_handles(zp, true, NULL)) {
		fprintf(stderr, "soak: pool setup: %s\n", strerror(errno));
		exit(2);
	}
	zr = zram_create(&zc);
	if (!zr) {
		fprintf(stderr, "soak: zram_create: %s\n", zram_last_error());
		exit(2);
	}
	zr_fd = backing_file("soak-zram-backing", zram_nr_pages(zr));
	rc = zram_set_backing_fd(zr, zr_fd, 0);
	if (!rc)
		rc = zram_set_recomp_algorithm(zr, 1, "zstd", 0);
	if (rc) {
		fprintf(stderr, "soak: zram setup: %d %s\n", rc, zram_last_error());
		exit(2);
	}
	zw = zswap_create(&wc);
	if (!zw) {
		fprintf(stderr, "soak: zswap_create: %s\n", strerror(errno));
		exit(2);
	}
	zw_fd = backing_file("soak-swapfile", (uint64_t)threads * ZW_PER_THREAD);
	if (zswap_swapon(zw, 0, (uint64_t)threads * ZW_PER_THREAD, zw_fd) ||
	    zswap_swapon(zw, 1, (uint64_t)threads * ZW_PER_THREAD, -1)) {
		fprintf(stderr, "soak: zswap_swapon failed\n");
		exit(2);
	}
}

/*
 * With everything stopped and flushed, a notified slot is free unless its notify found
 * the slot locked and was counted in miss_free (the data then waits for the next write
 * or discard). More dead slots allocated than miss_free counts: a notify was lost.
 */
static void check_dead_slots(void)
{
	struct zram_debug_stat dbg;
	uint64_t left = 0, dead = 0;
	unsigned int t, i;

	zram_flush(zr);
	zram_get_debug_stat(zr, &dbg);
	for (t = 0; t < opt.threads; t++)
		for (i = 0; i < ZR_PER_THREAD; i++) {
			struct zram_slot_info info;
			uint32_t idx = t * ZR_PER_THREAD + i;

			if (workers[t]->zr_state[i] != DEAD)
				continue;
			dead++;
			if (zram_get_slot_info(zr, idx, &info) == 0 && info.allocated)
				left++;
		}
	if (left > dbg.miss_free)
		err("%" PRIu64 " of %" PRIu64 " notified zram slots still allocated after zram_flush,"
		    " miss_free is %" PRIu64 ": notifies lost", left, dead, dbg.miss_free);
	if (!opt.quiet)
		fprintf(stderr, "soak: %" PRIu64 " notified slots at the end, %" PRIu64
			" still allocated, miss_free %" PRIu64 "\n", dead, left, dbg.miss_free);
}

/* Frees every part a worker owns, through the same calls the ops use. */
static void release_worker(struct worker *w)
{
	unsigned int i, type;
	int rc;

	rc = zram_discard(zr, w->id * ZR_PER_THREAD, ZR_PER_THREAD);
	if (rc)
		err("final zram_discard = %d", rc);
	memset(w->zr_state, EMPTY, sizeof(w->zr_state));
	for (type = 0; type < ZW_TYPES; type++)
		for (i = 0; i < ZW_PER_THREAD; i++) {
			zswap_invalidate(zw, type, (uint64_t)w->id * ZW_PER_THREAD + i);
			w->zw_state[type][i] = EMPTY;
		}
	for (i = 0; i < ZS_PER_THREAD; i++)
		if (w->zs[i].handle) {
			if (i % 2 == 0 || !zs_free_deferred(zp, w->zs[i].handle))
				zs_free(zp, w->zs[i].handle);
			zs_drop(&w->zs[i]);
		}
}

/* Pages of a pool with ZS_POOL_DEFER_ZSPAGE_FREE reach 0 on the pool's thread: wait a bit. */
static unsigned long settle_pages(struct zs_pool *pool)
{
	unsigned long pages = zs_get_total_pages(pool);
	int tries;

	for (tries = 0; pages && tries < 500; tries++) {
		usleep(10000);
		pages = zs_get_total_pages(pool);
	}
	return pages;
}

/* Everything released: checks the floor. Returns the pool pages still held. */
static unsigned long check_floor(const char *who)
{
	struct zram_mm_stat mm;
	struct zram_bd_stat bd;
	struct zram_ext_stat ext;
	struct zswap_stats ws;
	struct zs_pool_stats ps;
	unsigned long zs_pages, zw_pages;

	zram_flush(zr);
	zswap_flush(zw);
	zs_deferred_flush(zp);
	zram_get_mm_stat(zr, &mm);
	zram_get_bd_stat(zr, &bd);
	zram_get_ext_stat(zr, &ext);
	if (ext.pages_stored || bd.bd_count || ext.wb_pages || mm.orig_data_size)
		err("%s: zram not empty: pages_stored %" PRIu64 " bd_count %" PRIu64
		    " wb_pages %" PRIu64 " orig_data_size %" PRIu64, who, ext.pages_stored,
		    bd.bd_count, ext.wb_pages, mm.orig_data_size);
	if (zs_pool_check(zram_pool(zr)))
		err("%s: zram's pool fails zs_pool_check", who);
	if (mm.mem_used_total)
		err("%s: zram mem_used_total %" PRIu64 " after freeing everything", who,
		    mm.mem_used_total);
	if (zswap_check(zw))
		err("%s: zswap_check failed", who);
	zswap_get_stats(zw, &ws);
	if (ws.stored_pages)
		err("%s: zswap stored_pages %" PRIu64 " after invalidating everything", who,
		    ws.stored_pages);
	zw_pages = settle_pages(zswap_pool(zw));
	if (zw_pages)
		err("%s: zswap pool holds %lu pages after invalidating everything", who, zw_pages);
	if (zs_pool_check(zp))
		err("%s: zsmalloc pool fails zs_pool_check", who);
	zs_pool_stats(zp, &ps);
	if (ps.objs_used)
		err("%s: zsmalloc pool has %lu live objects after freeing everything", who,
		    ps.objs_used);
	zs_pages = settle_pages(zp);
	if (zs_pages)
		err("%s: zsmalloc pool holds %lu pages after freeing everything", who, zs_pages);
	if (!opt.quiet || in_child)
		fprintf(stderr,
			"soak%s: floor: zram mem_used_total %" PRIu64 " B, bd_count %" PRIu64
			", zswap pool %lu pages (stored %" PRIu64 "), zsmalloc pool %lu pages\n",
			in_child ? " (child)" : "", mm.mem_used_total, bd.bd_count, zw_pages,
			ws.stored_pages, zs_pages);
	return zs_pages + zw_pages + (unsigned long)(mm.mem_used_total / PG_SIZE);
}

/* ---------------------------------------------------------------------------------- */
/* Fork                                                                                */

/*
 * The backing files are memfds shared with the parent: a child that writes back would
 * write blocks that the parent's bitmap owns. The child copies each into a private
 * memfd and puts it at the same descriptor number, so the inherited device and zswap
 * keep working on their own copy.
 */
static void privatize_fd(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	int nfd = memfd_create("soak-child", 0);
	static unsigned char buf[1 << 16];
	off_t pos;

	if (nfd < 0 || size < 0 || ftruncate(nfd, size))
		goto fail;
	for (pos = 0; pos < size;) {
		ssize_t n = pread(fd, buf, sizeof(buf), pos);

		if (n <= 0 || pwrite(nfd, buf, (size_t)n, pos) != n)
			goto fail;
		pos += n;
	}
	if (dup2(nfd, fd) < 0)
		goto fail;
	close(nfd);
	return;
fail:
	err("child: cannot copy a backing file: %s", strerror(errno));
	_exit(1);
}

/* A child of a quiesced fork: goes on with worker 0's part of the inherited instances. */
static void child_inherited(void)
{
	struct worker *w = workers[0];
	uint64_t rng = opt.seed ^ 0xc0ffee;
	unsigned int k, t;

	privatize_fd(zr_fd);
	privatize_fd(zw_fd);
	for (k = 0; k < CHILD_OPS; k++) {
		one_op(w);
		if (k % 500 == 0)
			maint_op(&rng);
	}
	atomic_fetch_add(&shared->child_ops, CHILD_OPS + CHILD_OPS / 500);
	/* The child owns every part now; free all of them and check the floor. */
	for (t = 0; t < opt.threads; t++)
		release_worker(workers[t]);
	check_floor("child");
	zram_destroy(zr);
	zswap_destroy(zw);
	zs_destroy_pool(zp);
}

/* A child of a fork taken while everything ran: fresh instances only. */
static void child_fresh(void)
{
	struct worker *w = workers[0];
	uint64_t rng = opt.seed ^ 0xf00d;
	unsigned int k;

	/* The parent's threads are gone; the parent's instances are abandoned (a forking
	 * server's child that never touches them), fresh ones made with the same recipe. */
	memset(w->zr_state, EMPTY, sizeof(w->zr_state));
	memset(w->zw_state, EMPTY, sizeof(w->zw_state));
	for (k = 0; k < ZS_PER_THREAD; k++) {
		free(w->zs[k].bytes);
		w->zs[k].bytes = NULL;
		w->zs[k].handle = 0;
	}
	create_all(1, opt.zram_mode);
	w->id = 0;
	for (k = 0; k < CHILD_OPS; k++) {
		one_op(w);
		if (k % 500 == 0)
			maint_op(&rng);
	}
	atomic_fetch_add(&shared->child_ops, CHILD_OPS + CHILD_OPS / 500);
	release_worker(w);
	check_floor("child");
	zram_destroy(zr);
	zswap_destroy(zw);
	zs_destroy_pool(zp);
}

static const char *fork_kind(bool inherit, bool quiesce)
{
	return inherit ? "quiesced, inherited instances" :
	       quiesce ? "quiesced, fresh instances" : "hot, fresh instances";
}

/* Returns true if the child exited 0 in time. */
static bool do_fork(unsigned int nr)
{
	bool inherit = nr % 2 == 1, quiesce = inherit || opt.no_hot_forks;
	double t0;
	int status;
	pid_t pid, r;

	if (quiesce) {
		double deadline = now_s() + 30;

		atomic_store_explicit(&pause_req, true, memory_order_release);
		while (atomic_load(&parked) < opt.threads + 1) {
			if (now_s() > deadline) {
				err("fork %u: threads did not park within 30 s", nr);
				atomic_store(&pause_req, false);
				return false;
			}
			usleep(500);
		}
	}
	pid = fork();
	if (pid == 0) {
		in_child = true;
		/* A hang here is the bug under test: the parent kills us after the timeout. */
		if (inherit)
			child_inherited();
		else
			child_fresh();
		fflush(stderr);
		_exit(atomic_load(&shared->child_errors) ? 1 : 0);
	}
	if (quiesce)
		atomic_store_explicit(&pause_req, false, memory_order_release);
	if (pid < 0) {
		err("fork: %s", strerror(errno));
		return false;
	}
	t0 = now_s();
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (now_s() - t0 > opt.child_timeout) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			err("fork %u (%s): child hung: killed after %u s", nr,
			    fork_kind(inherit, quiesce),
			    opt.child_timeout);
			return false;
		}
		usleep(20000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		err("fork %u (%s): child failed (status %#x)", nr,
		    fork_kind(inherit, quiesce), status);
		return false;
	}
	if (!opt.quiet)
		fprintf(stderr, "soak: fork %u (%s): child ok in %.1f s\n", nr,
			fork_kind(inherit, quiesce),
			now_s() - t0);
	return true;
}

/* ---------------------------------------------------------------------------------- */

static enum zram_free_mode parse_mode(const char *s)
{
	static const struct { const char *name; enum zram_free_mode mode; } modes[] = {
		{ "grouped", ZRAM_FREE_PERCPU_GROUPED }, { "plain", ZRAM_FREE_PERCPU_PLAIN },
		{ "v2", ZRAM_FREE_V2_ARRAY }, { "per-class", ZRAM_FREE_PER_CLASS },
		{ "sync", ZRAM_FREE_SYNC },
	};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(s, modes[i].name))
			return modes[i].mode;
	fprintf(stderr, "soak: unknown zram free mode '%s' (grouped, plain, v2, per-class, sync)\n", s);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long floor_pages;
	uint64_t rss_start, rss_peak = 0, rss_end, rss_destroyed, ops = 0, maint_rng;
	unsigned int t, forks_done = 0, forks_ok = 0;
	double t0, next_fork, fork_every, next_progress;
	pthread_t maint;
	int c;

	while ((c = getopt(argc, argv, "d:t:f:s:m:T:p:Qq")) != -1) {
		switch (c) {
		case 'd': opt.duration = atof(optarg); break;
		case 't': opt.threads = (unsigned)atoi(optarg); break;
		case 'f': opt.forks = (unsigned)atoi(optarg); break;
		case 's': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'm': opt.zram_mode = parse_mode(optarg); break;
		case 'T': opt.child_timeout = (unsigned)atoi(optarg); break;
		case 'p': opt.progress = atof(optarg); break;
		case 'Q': opt.no_hot_forks = true; break;
		case 'q': opt.quiet = true; break;
		default:
			fprintf(stderr, "usage: %s [-d SECONDS] [-t THREADS] [-f FORKS] [-s SEED] "
				"[-m grouped|plain|v2|per-class|sync] [-T CHILD_TIMEOUT_S] [-p PROGRESS_S] [-Q] [-q]\n", argv[0]);
			return 2;
		}
	}
	if (opt.threads < 1 || opt.threads > MAX_THREADS || opt.duration <= 0) {
		fprintf(stderr, "soak: 1..%d threads and a positive duration\n", MAX_THREADS);
		return 2;
	}
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (shared == MAP_FAILED) {
		perror("soak: mmap");
		return 2;
	}
	rss_start = rss_kib();
	create_all(opt.threads, opt.zram_mode);
	for (t = 0; t < opt.threads; t++) {
		/* The page buffers in it are page-aligned: calloc would not honour that. */
		workers[t] = aligned_alloc(4096, sizeof(struct worker));
		if (!workers[t]) {
			perror("soak: aligned_alloc");
			return 2;
		}
		memset(workers[t], 0, sizeof(struct worker));
		workers[t]->id = t;
		workers[t]->rng = opt.seed * 0x100000001b3ull + t;
	}
	printf("soak: %.0f s, %u worker threads + maintenance, %u forks, seed %" PRIu64
	       ", zram %s, RSS at start %" PRIu64 " KiB\n", opt.duration, opt.threads, opt.forks,
	       opt.seed, zram_free_mode_name(zram_get_free_mode(zr)), rss_start);
	fflush(stdout);
	for (t = 0; t < opt.threads; t++)
		if (pthread_create(&workers[t]->thread, NULL, worker_main, workers[t])) {
			perror("soak: pthread_create");
			return 2;
		}
	maint_rng = opt.seed ^ 0x5eed;
	if (pthread_create(&maint, NULL, maint_main, &maint_rng)) {
		perror("soak: pthread_create");
		return 2;
	}

	t0 = now_s();
	next_progress = t0 + opt.progress;
	fork_every = opt.duration / (opt.forks + 1);
	next_fork = opt.forks ? t0 + fork_every : t0 + opt.duration * 2;
	while (now_s() - t0 < opt.duration) {
		uint64_t rss = rss_kib();

		if (rss > rss_peak)
			rss_peak = rss;
		if (opt.progress > 0 && now_s() >= next_progress) {
			uint64_t sum = atomic_load(&ops_maint);

			for (t = 0; t < opt.threads; t++)
				sum += worker_ops(workers[t]);
			printf("soak: %6.0f s: ops %" PRIu64 ", forks %u, errors %" PRIu64
			       ", RSS %" PRIu64 " KiB\n", now_s() - t0, sum, forks_done,
			       atomic_load(&errors), rss);
			fflush(stdout);
			next_progress += opt.progress;
		}
		if (forks_done < opt.forks && now_s() >= next_fork) {
			forks_done++;
			forks_ok += do_fork(forks_done);
			next_fork = t0 + fork_every * (forks_done + 1);
		}
		usleep(50000);
	}
	atomic_store(&stop, true);
	for (t = 0; t < opt.threads; t++)
		pthread_join(workers[t]->thread, NULL);
	pthread_join(maint, NULL);

	check_dead_slots();
	for (t = 0; t < opt.threads; t++) {
		struct worker *w = workers[t];

		ops += worker_ops(w);
		release_worker(w);
	}
	floor_pages = check_floor("end");
	malloc_trim(0);
	rss_end = rss_kib();
	zram_destroy(zr);
	zswap_destroy(zw);
	zs_destroy_pool(zp);
	close(zr_fd);
	close(zw_fd);
	for (t = 0; t < opt.threads; t++) {
		printf("soak: worker %u: zram %" PRIu64 ", zswap %" PRIu64 ", zsmalloc %" PRIu64 " ops\n",
		       t, atomic_load(&workers[t]->ops_zram), atomic_load(&workers[t]->ops_zswap),
		       atomic_load(&workers[t]->ops_zs));
		free(workers[t]);
	}
	malloc_trim(0);
	rss_destroyed = rss_kib();
	ops += atomic_load(&ops_maint);
	printf("soak: ops %" PRIu64 " (maintenance %" PRIu64 ", in children %" PRIu64 "), forks %u (%u children ok)\n",
	       ops, atomic_load(&ops_maint), atomic_load(&shared->child_ops), forks_done, forks_ok);
	printf("soak: memory: pool pages left %lu (zram + zswap + zsmalloc); RSS start %" PRIu64
	       " KiB, peak %" PRIu64 " KiB, end (everything freed) %" PRIu64
	       " KiB, after destroy %" PRIu64 " KiB\n",
	       floor_pages, rss_start, rss_peak, rss_end, rss_destroyed);
	/*
	 * Back to the floor: with every instance destroyed, what is left is glibc's and the
	 * program's own (thread arenas, stdio). A leak of pool or metadata memory over a
	 * long run ends far above this bound (a run's peak is tens of MiB).
	 */
	if (RSS_CHECKED && rss_destroyed > rss_start + RSS_SLACK_KIB)
		err("RSS after destroying everything is %" PRIu64 " KiB, start %" PRIu64
		    " KiB: more than %u KiB above", rss_destroyed, rss_start, RSS_SLACK_KIB);
	printf("soak: errors %" PRIu64 "\n", atomic_load(&errors));
	return atomic_load(&errors) ? 1 : 0;
}
