/* SPDX-License-Identifier: MIT */
/*
 * zram device life cycle (create, reset, destroy, the pool and its deferred-free
 * strategy), limits, and introspection.
 */
#include <stdlib.h>
#include <string.h>

#include "zram_internal.h"

/* ---------------------------------------------------------------------------------- */
/* Setup                                                                               */

static enum zram_free_mode resolve_free_mode(const struct zram_config *cfg)
{
	if (cfg->free_mode != ZRAM_FREE_DEFAULT)
		return cfg->free_mode;
	return cfg->deferred_free ? ZRAM_FREE_PERCPU_GROUPED : ZRAM_FREE_SYNC;
}

ZS_API const char *zram_free_mode_name(enum zram_free_mode mode)
{
	switch (mode) {
	case ZRAM_FREE_DEFAULT:		return "default";
	case ZRAM_FREE_SYNC:		return "sync";
	case ZRAM_FREE_PERCPU_GROUPED:	return "percpu-grouped";
	case ZRAM_FREE_PERCPU_PLAIN:	return "percpu-plain";
	case ZRAM_FREE_V2_ARRAY:	return "v2-array";
	case ZRAM_FREE_PER_CLASS:	return "per-class";
	}
	return "?";
}

/* Creates the pool and turns on the chosen deferred strategy; 0 or -errno. */
static int zram_pool_setup(struct zram *zram)
{
	struct zs_pool_config pcfg = {
		.chain_size = zram->cfg.zs_chain_size,
		.flags = zram->cfg.zs_pool_flags,
	};
	struct zs_deferred_config dcfg = zram->cfg.deferred;
	int ret = 0;

	zram->pool = zs_create_pool_ex(zram->name, &pcfg);
	if (!zram->pool) {
		ret = -errno;
		_zram_set_error("zram: cannot create the pool (chain %u, flags %#x): %s",
				pcfg.chain_size, pcfg.flags, strerror(errno));
		return ret;
	}
	zram->huge_class_size = zs_huge_class_size(zram->pool);

	switch (zram->free_mode) {
	case ZRAM_FREE_PERCPU_GROUPED:
		dcfg.mode = ZS_DEFER_PERCPU;
		ret = zs_pool_enable_deferred_free_ex(zram->pool, &_zram_ops_grouped, zram, &dcfg);
		break;
	case ZRAM_FREE_PERCPU_PLAIN:
		dcfg.mode = ZS_DEFER_PERCPU;
		ret = zs_pool_enable_deferred_free_ex(zram->pool, &_zram_ops_plain, zram, &dcfg);
		break;
	case ZRAM_FREE_V2_ARRAY:
		/* v2 drained its array with zs_free() one by one. */
		dcfg.mode = ZS_DEFER_V2_ARRAY;
		ret = zs_pool_enable_deferred_handles(zram->pool, false, &dcfg);
		break;
	case ZRAM_FREE_PER_CLASS:
		dcfg.mode = ZS_DEFER_PER_CLASS;
		ret = zs_pool_enable_deferred_handles(zram->pool, true, &dcfg);
		break;
	default:
		break;
	}
	if (ret) {
		_zram_set_error("zram: cannot enable deferred free (%s): %s",
				zram_free_mode_name(zram->free_mode), strerror(-ret));
		zs_destroy_pool(zram->pool);
		zram->pool = NULL;
	}
	return ret;
}

ZS_API struct zram *zram_create(const struct zram_config *cfg)
{
	struct zram *zram;
	uint64_t nr_pages;
	const char *algo;
	int err;

	_zram_clear_error();
	if (!cfg) {
		_zram_set_error("zram: no config");
		errno = EINVAL;
		return NULL;
	}
	nr_pages = cfg->disksize / ZSM_PAGE_SIZE;
	if (nr_pages == 0 || nr_pages > UINT32_MAX) {
		_zram_set_error("zram: disksize %llu is not in 4096..%llu bytes",
				(unsigned long long)cfg->disksize,
				(unsigned long long)UINT32_MAX * ZSM_PAGE_SIZE);
		errno = EINVAL;
		return NULL;
	}
	if ((unsigned int)cfg->free_mode > ZRAM_FREE_PER_CLASS) {
		_zram_set_error("zram: unknown free_mode %d", (int)cfg->free_mode);
		errno = EINVAL;
		return NULL;
	}
	algo = cfg->comp_algorithm && *cfg->comp_algorithm ? cfg->comp_algorithm : "lz4";
	if (!zcomp_known(algo) || strlen(algo) >= sizeof(zram->algo)) {
		_zram_set_error("zram: unknown compressor \"%s\" (available: %s)", algo,
				zcomp_available());
		errno = EINVAL;
		return NULL;
	}

	zram = calloc(1, sizeof(*zram));
	if (!zram)
		goto nomem;
	zram->cfg = *cfg;
	snprintf(zram->name, sizeof(zram->name), "%s", cfg->name ? cfg->name : "zram");
	snprintf(zram->algo, sizeof(zram->algo), "%s", algo);
	zram->cfg.name = zram->name;
	zram->cfg.comp_algorithm = zram->algo;
	zram->nr_pages = (uint32_t)nr_pages;
	zram->free_mode = resolve_free_mode(cfg);
	zram->backing_fd = -1;
	zram->epoch_sec = _zram_mono_sec();
	zsm_init(&zram->limit_pages, (cfg->mem_limit + ZSM_PAGE_SIZE - 1) / ZSM_PAGE_SIZE);
	pthread_mutex_init(&zram->ctl_lock, NULL);

	zram->comps[0] = zcomp_create(algo, cfg->comp_level);
	if (!zram->comps[0]) {
		err = errno;
		_zram_set_error("zram: cannot create compressor \"%s\" level %d: %s", algo,
				cfg->comp_level, strerror(err));
		goto fail;
	}
	zram->slots = calloc(nr_pages, sizeof(*zram->slots));
	if (!zram->slots) {
		err = ENOMEM;
		_zram_set_error("zram: cannot allocate %llu slots", (unsigned long long)nr_pages);
		goto fail;
	}
	err = -zram_pool_setup(zram);
	if (err)
		goto fail;
	return zram;

nomem:
	_zram_set_error("zram: out of memory");
	errno = ENOMEM;
	return NULL;
fail:
	if (zram->comps[0])
		zcomp_destroy(zram->comps[0]);
	free(zram->slots);
	pthread_mutex_destroy(&zram->ctl_lock);
	free(zram);
	errno = err;
	return NULL;
}

ZS_API void zram_destroy(struct zram *zram)
{
	if (!zram)
		return;
	/* zs_destroy_pool drains the deferred buffers first; the drains touch the slots. */
	zs_destroy_pool(zram->pool);
	for (int i = 0; i < ZRAM_MAX_COMPS; i++)
		if (zram->comps[i])
			zcomp_destroy(zram->comps[i]);
	free(zram->wb_bitmap);
	free(zram->slots);
	pthread_mutex_destroy(&zram->ctl_lock);
	free(zram);
}

ZS_API void zram_reset(struct zram *zram)
{
	uint64_t limit = zsm_load_relaxed(&zram->limit_pages);

	pthread_mutex_lock(&zram->ctl_lock);
	/* Drains every deferred free and drops all objects at once. */
	zs_destroy_pool(zram->pool);
	zram->pool = NULL;
	memset(zram->slots, 0, (size_t)zram->nr_pages * sizeof(*zram->slots));
	_zram_bdev_detach(zram);
	memset(&zram->stats, 0, sizeof(zram->stats));
	memset(zram->shards, 0, sizeof(zram->shards));
	zsm_store_relaxed(&zram->limit_pages, limit);
	zram->epoch_sec = _zram_mono_sec();
	/* Same config as at creation: cannot fail for a bad argument, only for memory. */
	if (zram_pool_setup(zram))
		abort();
	pthread_mutex_unlock(&zram->ctl_lock);
}

ZS_API uint32_t zram_nr_pages(const struct zram *zram)
{
	return zram->nr_pages;
}

ZS_API struct zs_pool *zram_pool(struct zram *zram)
{
	return zram->pool;
}

ZS_API enum zram_free_mode zram_get_free_mode(const struct zram *zram)
{
	return zram->free_mode;
}

ZS_API void zram_set_mem_limit(struct zram *zram, uint64_t bytes)
{
	zsm_store_relaxed(&zram->limit_pages, (bytes + ZSM_PAGE_SIZE - 1) / ZSM_PAGE_SIZE);
}

ZS_API void zram_reset_mem_used_max(struct zram *zram)
{
	zsm_store_relaxed(&zram->stats.max_used_pages, zs_get_total_pages(zram->pool));
}

/* ---------------------------------------------------------------------------------- */
/* Introspection                                                                       */

ZS_API int zram_get_slot_info(struct zram *zram, uint32_t index, struct zram_slot_info *info)
{
	uint32_t flags;

	if (index >= zram->nr_pages)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	slot_lock(zram, index);
	flags = slot_flags(zram, index);
	info->allocated = slot_allocated(zram, index, flags);
	info->same = flags & ZRAM_SAME;
	info->huge = flags & ZRAM_HUGE;
	info->wb = flags & ZRAM_WB;
	info->idle = flags & ZRAM_IDLE;
	info->incompressible = flags & ZRAM_INCOMPRESSIBLE;
	info->free_pending = flags & ZRAM_FREE_PENDING;
	info->prio = slot_prio(flags);
	info->size = flags & ZRAM_SIZE_MASK;
	if (flags & (ZRAM_SAME | ZRAM_WB))
		info->value = zram->slots[index].handle;
	else if (info->allocated)
		info->zs_class = zs_handle_class(zram->pool, zram->slots[index].handle);
	slot_unlock(zram, index);
	return 0;
}

ZS_API int zram_test_corrupt_slot(struct zram *zram, uint32_t index)
{
	unsigned char buf[ZSM_PAGE_SIZE];
	uint32_t flags;
	size_t size;
	int ret = -ENOENT;

	if (index >= zram->nr_pages)
		return -EINVAL;
	slot_lock(zram, index);
	flags = slot_flags(zram, index);
	size = flags & ZRAM_SIZE_MASK;
	if (zram->slots[index].handle && !(flags & (ZRAM_SAME | ZRAM_WB | ZRAM_HUGE)) && size) {
		zs_obj_read(zram->pool, zram->slots[index].handle, buf, size);
		/* Garbage in the middle and a truncated tail: every decoder must reject it. */
		for (size_t i = size / 4; i < size; i++)
			buf[i] ^= 0xa5;
		zs_obj_write(zram->pool, zram->slots[index].handle, buf, size);
		ret = 0;
	}
	slot_unlock(zram, index);
	return ret;
}
