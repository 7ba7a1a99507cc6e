/* SPDX-License-Identifier: MIT */
/*
 * Writeback of slots to the backing file (the file and its blocks: zram_bdev.c).
 *
 * A slot goes to the file in three steps, so that no slot lock is held across the
 * pwrite: (1) under the slot lock, pick it (PP_SLOT) and read its page out of the pool;
 * (2) allocate a block and pwrite the page; (3) under the slot lock again, if PP_SLOT is
 * still set (any free or rewrite in between clears it), drop the pool copy and point
 * the slot at the block; otherwise give the block back. A failing pwrite leaves the slot
 * as it was: the data stays in memory.
 */
#include "zram_internal.h"

static bool wb_selected(uint32_t flags, enum zram_wb_mode mode)
{
	switch (mode) {
	case ZRAM_WB_IDLE:
		return flags & ZRAM_IDLE;
	case ZRAM_WB_HUGE:
		return flags & ZRAM_HUGE;
	case ZRAM_WB_HUGE_IDLE:
		return (flags & (ZRAM_HUGE | ZRAM_IDLE)) == (ZRAM_HUGE | ZRAM_IDLE);
	case ZRAM_WB_INCOMPRESSIBLE:
		return flags & ZRAM_INCOMPRESSIBLE;
	}
	return false;
}

/* 1 written, 0 skipped, -errno. Called with ctl_lock held. */
static int writeback_one(struct zram *zram, uint32_t index, int mode)
{
	unsigned char *page = _zram_bdev_bounce();
	unsigned long handle;
	uint32_t flags;
	int64_t block;
	int ret;

	slot_lock(zram, index);
	flags = slot_flags(zram, index);
	if (!zram->slots[index].handle ||
	    (flags & (ZRAM_SAME | ZRAM_WB | ZRAM_PP_SLOT | ZRAM_FREE_PENDING)) ||
	    (mode && !wb_selected(flags, (enum zram_wb_mode)mode))) {
		slot_unlock(zram, index);
		return 0;
	}
	ret = _zram_slot_read(zram, index, flags, page);
	if (ret) {
		slot_unlock(zram, index);
		return 0;	/* unreadable: leave it where it is */
	}
	slot_update_flags(zram, index, 0, ZRAM_PP_SLOT);
	slot_unlock(zram, index);

	block = _zram_bdev_alloc_block(zram);
	if (block < 0) {
		ret = (int)block;
		goto unpick;
	}
	ret = _zram_bdev_write(zram, (uint64_t)block, page);
	if (ret) {
		_zram_bdev_free_block(zram, (uint64_t)block);
		goto unpick;
	}
	zsm_add_relaxed(&zram->stats.bd_writes, 1);

	slot_lock(zram, index);
	if (!(slot_flags(zram, index) & ZRAM_PP_SLOT)) {
		/* Freed or rewritten while we wrote: the block holds nothing live. */
		slot_unlock(zram, index);
		_zram_bdev_free_block(zram, (uint64_t)block);
		return 0;
	}
	handle = _zram_slot_free_extract(zram, index);
	zram->slots[index].handle = (unsigned long)block;
	zram->slots[index].ac_time = _zram_now(zram);
	slot_update_flags(zram, index, ZRAM_CONTENT_FLAGS, ZRAM_WB);
	zsm_add_relaxed(&zram->stats.bd_count, 1);
	slot_unlock(zram, index);
	if (handle)
		zs_free(zram->pool, handle);
	return 1;

unpick:
	slot_lock(zram, index);
	slot_update_flags(zram, index, ZRAM_PP_SLOT, 0);
	slot_unlock(zram, index);
	return ret;
}

static int64_t writeback_range(struct zram *zram, uint32_t first, uint32_t last, int mode)
{
	int64_t done = 0;
	int ret = 0;

	pthread_mutex_lock(&zram->ctl_lock);
	if (zram->backing_fd < 0) {
		_zram_set_error("zram: no backing file");
		ret = -ENODEV;
		goto out;
	}
	for (uint32_t i = first; i < last; i++) {
		ret = writeback_one(zram, i, mode);
		if (ret < 0)
			break;
		done += ret;
		ret = 0;
	}
out:
	pthread_mutex_unlock(&zram->ctl_lock);
	return ret < 0 ? ret : done;
}

ZS_API int64_t zram_writeback(struct zram *zram, enum zram_wb_mode mode)
{
	if (mode < ZRAM_WB_IDLE || mode > ZRAM_WB_INCOMPRESSIBLE)
		return -EINVAL;
	return writeback_range(zram, 0, zram->nr_pages, mode);
}

ZS_API int zram_writeback_slot(struct zram *zram, uint32_t index)
{
	if (index >= zram->nr_pages)
		return -EINVAL;
	return (int)writeback_range(zram, index, index + 1, 0);
}
