/* SPDX-License-Identifier: MIT */
/*
 * backend.c - zram and zswap behind one interface, and the configuration each strategy
 * stands for.
 *
 * Every strategy is a device configuration, not code of ours: the free path under test
 * is the library's own. The table of what each maps to:
 *
 *   strategy        zram free_mode          zswap               pool flags
 *   sync            SYNC                    sync invalidate     LEGACY_LOCK
 *   lockfree        SYNC                    sync invalidate     -
 *   defer-zspage    SYNC                    sync invalidate     DEFER_ZSPAGE_FREE
 *   v2              V2_ARRAY                deferred, V2_ARRAY  -
 *   v3-plain        PERCPU_PLAIN            (no such choice)    -
 *   percpu          PERCPU_GROUPED          deferred, PERCPU    -
 *   per-class       PER_CLASS               (handles only)      -
 *
 * "sync" is the kernel before June 2026: zs_free takes the pool lock. Every other row
 * starts from the lock-free zs_free, so lockfree vs sync is what the lock removal alone
 * buys, and each deferred row is measured against both.
 */
#define _GNU_SOURCE
#include "zsbench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zsmem/zsmalloc.h>
#include <zsmem/zram.h>
#include <zsmem/zswap.h>
#include <zsmem/lab.h>	/* ZS_POOL_LEGACY_LOCK: the sync baseline */

const struct zsb_strategy_info zsb_strategies[ZSB_NR_STRATEGIES] = {
	[ZSB_SYNC] = { "sync", "free inline; zs_free under the pool lock (pre-2026 kernel)" },
	[ZSB_LOCKFREE] = { "lockfree", "free inline; class-encoded zs_free, no pool lock" },
	[ZSB_DEFER_ZSPAGE] = { "defer-zspage",
			       "free inline; emptied zspages freed by a background thread" },
	[ZSB_V2_ARRAY] = { "v2", "v2: one per-pool array (trylock), drained at half" },
	[ZSB_V3_PLAIN] = { "v3-plain", "v3: per-CPU buffers, drain frees slot by slot" },
	[ZSB_PERCPU_GROUPED] = { "percpu",
				 "per-CPU buffers, drain grouped by size class (default)" },
	[ZSB_PER_CLASS] = { "per-class", "one queue per size class, batch drain" },
};

struct zsb_dev {
	enum zsb_backend_kind kind;
	struct zram *zram;
	struct zswap *zswap;
	struct zs_pool *pool;
};

const char *zsb_backend_name(enum zsb_backend_kind b)
{
	return b == ZSB_ZSWAP ? "zswap" : "zram";
}

static unsigned int pool_flags(enum zsb_strategy s)
{
	if (s == ZSB_SYNC)
		return ZS_POOL_LEGACY_LOCK;
	if (s == ZSB_DEFER_ZSPAGE)
		return ZS_POOL_DEFER_ZSPAGE_FREE;
	return 0;
}

bool zsb_backend_supports(enum zsb_backend_kind b, enum zsb_strategy s, const char **why)
{
	*why = NULL;
	if (b == ZSB_ZRAM)
		return true;
	if (s == ZSB_V3_PLAIN) {
		*why = "zswap's drain has one form (entry frees); see percpu";
		return false;
	}
	if (s == ZSB_PER_CLASS) {
		*why = "per-class queues take zsmalloc handles; zswap defers entries";
		return false;
	}
	return true;
}

struct zsb_dev *zsb_dev_create(const struct zsb_opts *o, enum zsb_strategy s,
			       uint64_t nr_slots, char *err, size_t errlen)
{
	struct zsb_dev *d = calloc(1, sizeof(*d));
	const char *why;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->kind = o->backend;
	if (!zsb_backend_supports(o->backend, s, &why)) {
		snprintf(err, errlen, "%s", why);
		free(d);
		return NULL;
	}
	if (o->backend == ZSB_ZRAM) {
		struct zram_config cfg;

		memset(&cfg, 0, sizeof(cfg));
		cfg.disksize = nr_slots * ZRAM_PAGE_SIZE;
		cfg.comp_algorithm = o->comp;
		cfg.zs_pool_flags = pool_flags(s);
		cfg.deferred.spare_pages = o->spare_pages;
		cfg.deferred.worker_sched = o->worker_sched;
		cfg.name = "zsbench";
		switch (s) {
		case ZSB_V2_ARRAY:
			cfg.free_mode = ZRAM_FREE_V2_ARRAY;
			break;
		case ZSB_V3_PLAIN:
			cfg.free_mode = ZRAM_FREE_PERCPU_PLAIN;
			break;
		case ZSB_PERCPU_GROUPED:
			cfg.free_mode = ZRAM_FREE_PERCPU_GROUPED;
			break;
		case ZSB_PER_CLASS:
			cfg.free_mode = ZRAM_FREE_PER_CLASS;
			break;
		default:
			cfg.free_mode = ZRAM_FREE_SYNC;
		}
		cfg.deferred_free = cfg.free_mode != ZRAM_FREE_SYNC;
		d->zram = zram_create(&cfg);
		if (!d->zram) {
			snprintf(err, errlen, "zram_create: %s (%s)", strerror(errno),
				 zram_last_error());
			free(d);
			return NULL;
		}
		d->pool = zram_pool(d->zram);
		return d;
	}
	if (o->backend == ZSB_ZSWAP) {
		struct zswap_config cfg;
		int rc;

		memset(&cfg, 0, sizeof(cfg));
		cfg.compressor = o->comp;
		/* the lab measures frees, not the pool limit: never reject a store */
		cfg.max_pool_bytes = (nr_slots + 1024) * ZSWAP_PAGE_SIZE * 2;
		cfg.zs_pool_flags = pool_flags(s);
		cfg.defer.spare_pages = o->spare_pages;
		cfg.defer.worker_sched = o->worker_sched;
		if (s == ZSB_V2_ARRAY || s == ZSB_PERCPU_GROUPED) {
			cfg.deferred_invalidate = true;
			cfg.defer.mode = s == ZSB_V2_ARRAY ? ZS_DEFER_V2_ARRAY : ZS_DEFER_PERCPU;
		}
		d->zswap = zswap_create(&cfg);
		if (!d->zswap) {
			snprintf(err, errlen, "zswap_create: %s", strerror(errno));
			free(d);
			return NULL;
		}
		rc = zswap_swapon(d->zswap, 0, nr_slots, -1);
		if (rc) {
			snprintf(err, errlen, "zswap_swapon: %s", strerror(-rc));
			zswap_destroy(d->zswap);
			free(d);
			return NULL;
		}
		d->pool = zswap_pool(d->zswap);
		return d;
	}
	snprintf(err, errlen, "backend %s not built", zsb_backend_name(o->backend));
	free(d);
	return NULL;
}

void zsb_dev_destroy(struct zsb_dev *d)
{
	if (!d)
		return;
	if (d->zram)
		zram_destroy(d->zram);
	if (d->zswap) {
		zswap_swapoff(d->zswap, 0);
		zswap_destroy(d->zswap);
	}
	free(d);
}

int zsb_dev_store(struct zsb_dev *d, uint64_t slot, const void *page)
{
	if (d->zram)
		return zram_write_page(d->zram, (uint32_t)slot, page);
	if (d->zswap)
		return zswap_store(d->zswap, 0, slot, page);
	(void)slot;
	(void)page;
	return -ENODEV;
}

void zsb_dev_release(struct zsb_dev *d, uint64_t slot)
{
	if (d->zram) {
		zram_slot_free_notify(d->zram, (uint32_t)slot);
		return;
	}
	if (d->zswap)
		zswap_invalidate(d->zswap, 0, slot);
	(void)slot;
}

void zsb_dev_flush(struct zsb_dev *d)
{
	if (d->zram)
		zram_flush(d->zram);
	if (d->zswap)
		zswap_flush(d->zswap);
	(void)d;
}

unsigned long zsb_dev_pool_pages(struct zsb_dev *d)
{
	return d->pool ? zs_get_total_pages(d->pool) : 0;
}

uint64_t zsb_dev_deferred_pending(struct zsb_dev *d)
{
	struct zs_deferred_stats ds;

	memset(&ds, 0, sizeof(ds));
	if (d->pool)
		zs_deferred_get_stats(d->pool, &ds);
	return ds.pushed > ds.drained ? ds.pushed - ds.drained : 0;
}

unsigned long zsb_dev_compact(struct zsb_dev *d)
{
	return d->pool ? zs_compact(d->pool) : 0;
}

uint64_t zsb_dev_stored(struct zsb_dev *d)
{
	if (d->zram) {
		struct zram_ext_stat st;

		zram_get_ext_stat(d->zram, &st);
		return st.pages_stored;
	}
	if (d->zswap) {
		struct zswap_stats st;

		zswap_get_stats(d->zswap, &st);
		return st.stored_pages;
	}
	(void)d;
	return 0;
}

void zsb_dev_stats(struct zsb_dev *d, struct zsb_rep *r)
{
	struct zs_deferred_stats ds;

	memset(&ds, 0, sizeof(ds));
	if (d->pool)
		zs_deferred_get_stats(d->pool, &ds);
	r->fallbacks = ds.fallbacks;
	r->pushed = ds.pushed;
	r->wait_ns_max = ds.wait_ns_max;
	r->wait_ns_sum = ds.wait_ns_sum;
	r->wait_samples = ds.wait_samples;
	r->idle_drains = ds.idle_drains;
	r->spare_low = ds.spare_low;
	r->spare_pages = ds.spare_pages;
	r->rseq = ds.rseq;
	if (d->zram) {
		struct zram_debug_stat dbg;
		struct zram_ext_stat ext;

		zram_get_debug_stat(d->zram, &dbg);
		zram_get_ext_stat(d->zram, &ext);
		r->miss_free = dbg.miss_free;
		/* the notify's own count: a v2 fallback never reaches the framework's */
		if (ext.notify_fallback > r->fallbacks)
			r->fallbacks = ext.notify_fallback;
	}
}
