/* SPDX-License-Identifier: MIT */
/*
 * Writeback of slots to a backing file, and the block bitmap behind it.
 *
 * A slot goes to the file in three steps, so that no slot lock is held across the
 * pwrite: (1) under the slot lock, pick it (PP_SLOT) and read its page out of the pool;
 * (2) allocate a block and pwrite the page; (3) under the slot lock again, if PP_SLOT is
 * still set (any free or rewrite in between clears it), drop the pool copy and point
 * the slot at the block; otherwise give the block back. A failing pwrite leaves the slot
 * as it was: the data stays in memory.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zram_internal.h"

/* O_DIRECT files need an aligned buffer; pages from callers may be anywhere. */
static _Thread_local unsigned char wb_bounce[ZRAM_PAGE_SIZE] __attribute__((aligned(4096)));

int64_t _zram_wb_alloc_block(struct zram *zram)
{
	uint64_t nwords = (zram->wb_nr_blocks + 63) / 64;
	uint64_t start = atomic_load_explicit(&zram->wb_hint, memory_order_relaxed);

	for (uint64_t k = 0; k < nwords; k++) {
		uint64_t w = (start + k) % nwords;
		_Atomic uint64_t *word = &zram->wb_bitmap[w];
		uint64_t v = atomic_load_explicit(word, memory_order_relaxed);

		while (~v) {
			unsigned int bit = (unsigned int)__builtin_ctzll(~v);
			uint64_t block = w * 64 + bit;

			if (block >= zram->wb_nr_blocks)
				break;
			/* Relaxed: the bit only reserves the block; the data written to it is
			 * published by the slot lock of the slot that will own it. */
			if (atomic_compare_exchange_weak_explicit(word, &v, v | (1ull << bit),
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				atomic_store_explicit(&zram->wb_hint, w, memory_order_relaxed);
				return (int64_t)block;
			}
		}
	}
	return -ENOSPC;
}

void _zram_wb_free_block(struct zram *zram, uint64_t block)
{
	atomic_fetch_and_explicit(&zram->wb_bitmap[block / 64], ~(1ull << (block % 64)),
				  memory_order_relaxed);
}

int _zram_wb_read(struct zram *zram, uint64_t block, void *page)
{
	ssize_t n = pread(zram->backing_fd, wb_bounce, ZRAM_PAGE_SIZE,
			  (off_t)(block * ZRAM_PAGE_SIZE));

	if (n != (ssize_t)ZRAM_PAGE_SIZE)
		return -EIO;
	memcpy(page, wb_bounce, ZRAM_PAGE_SIZE);
	return 0;
}

ZS_API int zram_set_backing_fd(struct zram *zram, int fd, uint64_t nr_blocks)
{
	if (!zram)
		return -EINVAL;
	_Atomic uint64_t *bitmap = NULL;
	int ret = 0;

	if (fd >= 0 && nr_blocks == 0)
		nr_blocks = zram->nr_pages;
	pthread_mutex_lock(&zram->ctl_lock);
	if (zram_stat_read(&zram->stats.bd_count)) {
		_zram_set_error("zram: %llu slots are written back; cannot change the backing file",
				(unsigned long long)zram_stat_read(&zram->stats.bd_count));
		ret = -EBUSY;
		goto out;
	}
	if (fd >= 0) {
		bitmap = calloc((nr_blocks + 63) / 64, sizeof(*bitmap));
		if (!bitmap) {
			ret = -ENOMEM;
			goto out;
		}
	}
	free((void *)zram->wb_bitmap);
	zram->wb_bitmap = bitmap;
	zram->wb_nr_blocks = fd >= 0 ? nr_blocks : 0;
	zram->backing_fd = fd;
	atomic_store_explicit(&zram->wb_hint, 0, memory_order_relaxed);
out:
	pthread_mutex_unlock(&zram->ctl_lock);
	return ret;
}

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
	unsigned char *page = wb_bounce;
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
	ret = _zram_read_from_pool(zram, index, flags, page);
	if (ret) {
		slot_unlock(zram, index);
		return 0;	/* unreadable: leave it where it is */
	}
	slot_update_flags(zram, index, 0, ZRAM_PP_SLOT);
	slot_unlock(zram, index);

	block = _zram_wb_alloc_block(zram);
	if (block < 0) {
		ret = (int)block;
		goto unpick;
	}
	if (pwrite(zram->backing_fd, page, ZRAM_PAGE_SIZE, (off_t)(block * ZRAM_PAGE_SIZE)) !=
	    (ssize_t)ZRAM_PAGE_SIZE) {
		_zram_wb_free_block(zram, (uint64_t)block);
		ret = -EIO;
		goto unpick;
	}
	zram_stat_inc(&zram->stats.bd_writes);

	slot_lock(zram, index);
	flags = slot_flags(zram, index);
	if (!(flags & ZRAM_PP_SLOT) || (flags & ZRAM_FREE_PENDING)) {
		/*
		 * Freed or rewritten while we wrote (PP_SLOT cleared), or notified dead while
		 * the lock was down (FREE_PENDING, per-CPU modes): the block holds nothing
		 * live. A pending slot is freed here, now: installing the block would clear
		 * FREE_PENDING with the other content flags and the drain, finding the slot
		 * no longer pending, would leave it allocated (issue 12). Its queued index
		 * then drains as stale.
		 */
		handle = flags & ZRAM_FREE_PENDING ? _zram_slot_free_extract(zram, index) : 0;
		slot_unlock(zram, index);
		_zram_wb_free_block(zram, (uint64_t)block);
		if (handle)
			zs_free(zram->pool, handle);
		return 0;
	}
	handle = _zram_slot_free_extract(zram, index);
	zram->slots[index].handle = (unsigned long)block;
	zram->slots[index].ac_time = _zram_now(zram);
	slot_update_flags(zram, index, ZRAM_CONTENT_FLAGS, ZRAM_WB);
	zram_stat_inc(&zram->stats.bd_count);
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
	if (!zram)
		return -EINVAL;
	if (mode < ZRAM_WB_IDLE || mode > ZRAM_WB_INCOMPRESSIBLE)
		return -EINVAL;
	return writeback_range(zram, 0, zram->nr_pages, mode);
}

ZS_API int zram_writeback_slot(struct zram *zram, uint32_t index)
{
	if (!zram)
		return -EINVAL;
	if (index >= zram->nr_pages)
		return -EINVAL;
	return (int)writeback_range(zram, index, index + 1, 0);
}
