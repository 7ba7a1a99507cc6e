/* SPDX-License-Identifier: MIT */
/*
 * zram_slot_free_notify in every free mode ends in the same final state and the same
 * statistics as the synchronous kernel path, after zram_flush(). Also: a slot notified
 * and then rewritten before the drain keeps its new content (the drain of the stale
 * index must not free it), and a double notify frees once.
 */
#include <pthread.h>

#include <zsmem/lab.h>	/* ZS_POOL_LEGACY_LOCK */

#include "zram_test_util.h"

#define N 6000

struct result {
	struct zram_mm_stat mm;
	struct zram_io_stat io;
	struct zram_debug_stat dbg;
};

static unsigned int pool_flags;	/* zs_pool_flags for the runs */

static bool notified(uint32_t i)
{
	return i % 3 != 0;
}

struct notify_arg {
	struct zram *z;
	uint32_t first, last;
};

static void *notify_thread(void *p)
{
	struct notify_arg *a = p;

	for (uint32_t i = a->first; i < a->last; i++)
		if (notified(i))
			zram_slot_free_notify(a->z, i);
	return NULL;
}

static void run(enum zram_free_mode mode, int threads, struct result *r)
{
	static unsigned char page[4096], out[4096];
	struct zram_config cfg = {
		.disksize = N * 4096ull,
		.free_mode = mode,
		.zs_pool_flags = pool_flags,
		/* Half-full buffers wait for zram_flush(): rewrites then race no timer. */
		.deferred = { .max_delay_us = 60u * 1000 * 1000 },
	};
	struct zram *z = zram_create(&cfg);
	pthread_t th[4];
	struct notify_arg a[4];
	struct zram_ext_stat ext;
	struct result saved;

	CHECKF(z, "%s", zram_last_error());

	for (uint32_t i = 0; i < N; i++) {
		zpg_fill(page, 8, i, i % 11 == 0 ? 100 : 10, 4);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	/* "Processes" exiting: each frees its range in address order. */
	for (int t = 0; t < threads; t++) {
		a[t].z = z;
		a[t].first = (uint32_t)((uint64_t)N * t / threads);
		a[t].last = (uint32_t)((uint64_t)N * (t + 1) / threads);
		CHECK(pthread_create(&th[t], NULL, notify_thread, &a[t]) == 0);
	}
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	/* A double notify must be harmless. */
	zram_slot_free_notify(z, 1);
	zram_flush(z);

	for (uint32_t i = 0; i < N; i++) {
		struct zram_slot_info si;

		CHECK(zram_get_slot_info(z, i, &si) == 0);
		CHECKF(si.allocated == !notified(i), "%s: slot %u allocated %d",
		       zram_free_mode_name(mode), i, si.allocated);
		CHECK(!si.free_pending);
		if (!notified(i)) {
			zpg_fill(page, 8, i, i % 11 == 0 ? 100 : 10, 4);
			CHECK(zram_read_page(z, i, out) == 0 && !memcmp(page, out, 4096));
		}
	}
	zt_check_stats(z);
	zram_get_mm_stat(z, &r->mm);
	zram_get_io_stat(z, &r->io);
	zram_get_debug_stat(z, &r->dbg);
	zram_get_ext_stat(z, &ext);
	saved = *r;
	printf("%-15s threads %d: used %8llu compr %8llu orig %8llu notify %llu miss %llu "
	       "deferred %llu fallback %llu drained %llu stale %llu\n",
	       zram_free_mode_name(zram_get_free_mode(z)), threads,
	       (unsigned long long)r->mm.mem_used_total, (unsigned long long)r->mm.compr_data_size,
	       (unsigned long long)r->mm.orig_data_size, (unsigned long long)r->io.notify_free,
	       (unsigned long long)r->dbg.miss_free, (unsigned long long)ext.notify_deferred,
	       (unsigned long long)ext.notify_fallback, (unsigned long long)ext.drained_slots,
	       (unsigned long long)ext.drain_stale);

	/* Notify, rewrite before any drain could run, flush: the new content survives. */
	for (uint32_t i = 0; i < N; i += 3)
		zram_slot_free_notify(z, i);
	for (uint32_t i = 0; i < N; i += 3) {
		zpg_fill(page, 12, i, 10, 0);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	zram_flush(z);
	for (uint32_t i = 0; i < N; i += 3) {
		zpg_fill(page, 12, i, 10, 0);
		CHECK(zram_read_page(z, i, out) == 0);
		CHECKF(!memcmp(page, out, 4096), "%s: slot %u lost its rewrite",
		       zram_free_mode_name(mode), i);
	}
	zt_check_stats(z);
	zram_get_ext_stat(z, &ext);
	printf("%-15s threads %d: rewrite after notify: %llu stale drains skipped\n",
	       zram_free_mode_name(zram_get_free_mode(z)), threads,
	       (unsigned long long)ext.drain_stale);
	if (mode == ZRAM_FREE_PERCPU_GROUPED || mode == ZRAM_FREE_PERCPU_PLAIN)
		CHECK(ext.drain_stale > 0);

	/* Reset with frees still queued: they are drained first, then all is zero. */
	for (uint32_t i = 0; i < N; i += 2)
		zram_slot_free_notify(z, i);
	zram_reset(z);
	zram_get_mm_stat(z, &r->mm);
	CHECK(r->mm.orig_data_size == 0 && r->mm.compr_data_size == 0);
	CHECK(r->mm.mem_used_total == 0);
	for (uint32_t i = 0; i < N; i += 5) {
		zpg_fill(page, 13, i, 10, 0);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	/* Destroy with frees still queued: drained before the slots go away. */
	for (uint32_t i = 0; i < N; i += 5)
		zram_slot_free_notify(z, i);
	zram_destroy(z);
	*r = saved;
}

int main(void)
{
	static const enum zram_free_mode modes[] = {
		ZRAM_FREE_SYNC, ZRAM_FREE_PERCPU_GROUPED, ZRAM_FREE_PERCPU_PLAIN,
		ZRAM_FREE_V2_ARRAY, ZRAM_FREE_PER_CLASS,
	};
	struct result base, r;

	run(ZRAM_FREE_SYNC, 1, &base);
	CHECK(base.dbg.miss_free == 0);
	for (unsigned int m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (int threads = 1; threads <= 3; threads += 2) {
			run(modes[m], threads, &r);
			CHECK(r.mm.orig_data_size == base.mm.orig_data_size);
			CHECK(r.mm.compr_data_size == base.mm.compr_data_size);
			CHECK(r.mm.same_pages == base.mm.same_pages);
			CHECK(r.mm.huge_pages == base.mm.huge_pages);
			CHECK(r.mm.huge_pages_since == base.mm.huge_pages_since);
			CHECK(r.io.notify_free == base.io.notify_free);
			/* Nothing else touches the slots, so no notify can miss its lock. */
			CHECK(r.dbg.miss_free == 0);
			if (threads == 1)
				CHECKF(r.mm.mem_used_total == base.mm.mem_used_total,
				       "%s: used %llu, sync %llu", zram_free_mode_name(modes[m]),
				       (unsigned long long)r.mm.mem_used_total,
				       (unsigned long long)base.mm.mem_used_total);
		}
	}
	/* The lab's partial fixes pass through to the pool; same final state. The
	 * zspages themselves may still be on their way back: mem_used is not compared. */
	pool_flags = ZS_POOL_LEGACY_LOCK | ZS_POOL_DEFER_ZSPAGE_FREE;
	for (unsigned int m = 0; m < 2; m++) {
		run(modes[m], 2, &r);
		CHECK(r.mm.orig_data_size == base.mm.orig_data_size);
		CHECK(r.mm.compr_data_size == base.mm.compr_data_size);
		CHECK(r.io.notify_free == base.io.notify_free);
	}
	pool_flags = 1u << 30;
	{
		struct zram_config cfg = { .disksize = 1 << 20, .zs_pool_flags = pool_flags };

		CHECK(zram_create(&cfg) == NULL && errno == EINVAL);
	}
	/* deferred_free = true selects the grouped per-CPU mode. */
	{
		struct zram_config cfg = { .disksize = 1 << 20, .deferred_free = true };
		struct zram *z = zram_create(&cfg);

		CHECK(z && zram_get_free_mode(z) == ZRAM_FREE_PERCPU_GROUPED);
		zram_destroy(z);
	}
	return T_PASS;
}
