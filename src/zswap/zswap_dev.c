/* SPDX-License-Identifier: MIT */
/*
 * Creation and teardown of a cache, and swapon/swapoff of its per-type tables.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zswap_internal.h"

static uint64_t phys_ram_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || psz <= 0)
		return 1ull << 30;	/* unknown: assume 1 GiB rather than fail */
	return (uint64_t)pages * (uint64_t)psz;
}

/* The end of both a failed create and a destroy: the pool, the compressor (either may
 * be missing after a failed create), the locks, the struct. */
static void zswap_free(struct zswap *zs)
{
	if (zs->pool)
		zs_destroy_pool(zs->pool);
	if (zs->comp)
		zcomp_destroy(zs->comp);
	pthread_cond_destroy(&zs->shrink_cond);
	pthread_mutex_destroy(&zs->shrink_lock);
	pthread_mutex_destroy(&zs->wb_mutex);
	pthread_mutex_destroy(&zs->lru_lock);
	free(zs);
}

ZS_API struct zswap *zswap_create(const struct zswap_config *cfg)
{
	static const struct zswap_config zero_cfg;
	struct zs_pool_config pcfg;
	unsigned int pct, thr;
	struct zswap *zs;
	size_t bound;
	int ret;

	if (!cfg)
		cfg = &zero_cfg;
	pct = cfg->max_pool_percent ? cfg->max_pool_percent : 20;
	thr = cfg->accept_threshold_percent ? cfg->accept_threshold_percent : 90;
	if (pct > 100 || thr > 100) {
		errno = EINVAL;
		return NULL;
	}

	zs = calloc(1, sizeof(*zs));
	if (!zs) {
		errno = ENOMEM;
		return NULL;
	}
	zsm_list_init(&zs->lru);
	pthread_mutex_init(&zs->lru_lock, NULL);
	pthread_mutex_init(&zs->wb_mutex, NULL);
	pthread_mutex_init(&zs->shrink_lock, NULL);
	pthread_cond_init(&zs->shrink_cond, NULL);

	zs->comp = zcomp_create(cfg->compressor ? cfg->compressor : "lz4", cfg->comp_level);
	if (!zs->comp)
		goto fail;
	bound = zcomp_bound(zs->comp, ZSM_PAGE_SIZE);
	if (bound == 0 || bound > ZSWAP_DST_MAX) {
		errno = EINVAL;
		goto fail;
	}

	memset(&pcfg, 0, sizeof(pcfg));
	pcfg.chain_size = cfg->zs_chain_size;
	pcfg.flags = cfg->zs_pool_flags;
	zs->pool = zs_create_pool_ex("zswap", &pcfg);
	if (!zs->pool)
		goto fail;

	/* Objects this large take a whole page anyway: keep the page itself and spare
	 * the decompression on load. */
	zs->raw_threshold = zs_huge_class_size(zs->pool);
	if (zs->raw_threshold == 0 || zs->raw_threshold > ZSM_PAGE_SIZE)
		zs->raw_threshold = ZSM_PAGE_SIZE;

	if (cfg->max_pool_bytes) {
		zs->max_pages = cfg->max_pool_bytes / ZSM_PAGE_SIZE;
	} else {
		uint64_t ram = cfg->ram_bytes ? cfg->ram_bytes : phys_ram_bytes();

		zs->max_pages = ram / ZSM_PAGE_SIZE / 100 * pct + ram / ZSM_PAGE_SIZE % 100 * pct / 100;
	}
	if (zs->max_pages == 0)
		zs->max_pages = 1;
	zs->accept_pages = zs->max_pages / 100 * thr + zs->max_pages % 100 * thr / 100;
	zs->reject_incompressible = cfg->reject_incompressible;

	if (cfg->deferred_invalidate) {
		ret = zs_pool_enable_deferred_free_ex(zs->pool, &_zswap_defer_ops, zs, &cfg->defer);
		if (ret) {
			errno = -ret;
			goto fail;
		}
		zs->deferred = true;
	}

	if (cfg->shrinker_enabled) {
		ret = pthread_create(&zs->shrinker, NULL, _zswap_shrinker_main, zs);
		if (ret) {
			errno = ret;
			goto fail;
		}
		zsm_store_relaxed(&zs->shrinker_started, true);
	}
	return zs;

fail:
	ret = errno;
	zswap_free(zs);
	errno = ret ? ret : ENOMEM;
	return NULL;
}

ZS_API void zswap_destroy(struct zswap *zs)
{
	if (!zs)
		return;
	if (zsm_load_relaxed(&zs->shrinker_started)) {
		pthread_mutex_lock(&zs->shrink_lock);
		zsm_store_relaxed(&zs->shrink_stop, true);
		pthread_cond_signal(&zs->shrink_cond);
		pthread_mutex_unlock(&zs->shrink_lock);
		pthread_join(zs->shrinker, NULL);
	}
	zswap_flush(zs);
	for (unsigned int type = 0; type < ZSWAP_MAX_TYPES; type++)
		zswap_swapoff(zs, type);
	/* The pool's destruction drains nothing by now: every entry was freed above. */
	zswap_free(zs);
}

static void tree_free(struct zswap_tree *t)
{
	for (unsigned int i = 0; i < ZSWAP_STRIPES; i++) {
		pthread_cond_destroy(&t->stripes[i].wb_done);
		pthread_mutex_destroy(&t->stripes[i].lock);
	}
	free(t->slots);
	free(t->zero_map);
	free(t);
}

ZS_API int zswap_swapon(struct zswap *zs, unsigned int type, uint64_t nr_pages, int backing_fd)
{
	struct zswap_tree *t;

	if (!zs || type >= ZSWAP_MAX_TYPES || nr_pages == 0 || nr_pages > ZSWAP_MAX_NR_PAGES)
		return -EINVAL;
	if (tree_get(zs, type))
		return -EBUSY;
	t = aligned_alloc(128, (sizeof(*t) + 127) & ~(size_t)127);
	if (!t)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->nr_pages = nr_pages;
	t->backing_fd = backing_fd;
	/* calloc of large tables maps zero pages lazily: untouched ranges cost nothing. */
	t->slots = calloc(nr_pages, sizeof(*t->slots));
	t->zero_map = calloc((nr_pages + 63) / 64, sizeof(uint64_t));
	if (!t->slots || !t->zero_map) {
		free(t->slots);
		free(t->zero_map);
		free(t);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < ZSWAP_STRIPES; i++) {
		pthread_mutex_init(&t->stripes[i].lock, NULL);
		pthread_cond_init(&t->stripes[i].wb_done, NULL);
	}
	/*
	 * Publish a fully initialised table: the release orders the initialisation above
	 * (slots, zero_map, stripe locks) before the pointer, and pairs with tree_get's
	 * acquire. A compare-exchange, so that two racing swapons cannot both win.
	 */
	{
		struct zswap_tree *expected = NULL;

		if (!zsm_cas_strong_release(&zs->trees[type], &expected, t)) {
			tree_free(t);
			return -EBUSY;
		}
	}
	return 0;
}

ZS_API void zswap_swapoff(struct zswap *zs, unsigned int type)
{
	struct zswap_tree *t;

	if (!zs || type >= ZSWAP_MAX_TYPES)
		return;
	/* wb_mutex: no writeback is in flight on this table, and none will find it. */
	pthread_mutex_lock(&zs->wb_mutex);
	t = tree_get(zs, type);
	if (!t) {
		pthread_mutex_unlock(&zs->wb_mutex);
		return;
	}
	/* Release, like every store to trees[] (tree_get acquires): a reader that sees
	 * NULL reads nothing through it, so no data is ordered here. */
	zsm_store_release(&zs->trees[type], NULL);
	for (uint64_t off = 0; off < t->nr_pages; off++) {
		struct zswap_entry *e = t->slots[off];

		if (!e)
			continue;
		t->slots[off] = NULL;
		_zswap_entry_free(zs, e);
	}
	for (uint64_t w = 0; w < (t->nr_pages + 63) / 64; w++) {
		uint64_t n = (uint64_t)__builtin_popcountll(t->zero_map[w]);

		zsm_sub_relaxed(&zs->c.zero_pages, n);
		zsm_sub_relaxed(&zs->c.stored_pages, n);
	}
	pthread_mutex_unlock(&zs->wb_mutex);
	tree_free(t);
	/* Entries of this type invalidated earlier may still wait in deferred buffers;
	 * let them go too, so that the counters describe the remaining types only. */
	zswap_flush(zs);
}
