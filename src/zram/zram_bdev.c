/* SPDX-License-Identifier: MIT */
/*
 * The backing device: the file behind written-back slots, its block bitmap, and the
 * page-sized reads and writes of its blocks. Knows nothing of slots; writeback
 * (zram_wb.c) and the slot layer (zram_slot.c) build on it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zram_internal.h"

/* O_DIRECT files need an aligned buffer; pages from callers may be anywhere. */
static _Thread_local unsigned char wb_bounce[ZSM_PAGE_SIZE] __attribute__((aligned(4096)));

unsigned char *_zram_bdev_bounce(void)
{
	return wb_bounce;
}

int64_t _zram_bdev_alloc_block(struct zram *zram)
{
	uint64_t nwords = (zram->wb_nr_blocks + 63) / 64;
	/* Relaxed: the hint only says where to start looking; any value is correct. */
	uint64_t start = zsm_load_relaxed(&zram->wb_hint);

	for (uint64_t k = 0; k < nwords; k++) {
		uint64_t w = (start + k) % nwords;
		uint64_t *word = &zram->wb_bitmap[w];
		uint64_t v = zsm_load_relaxed(word);

		while (~v) {
			unsigned int bit = (unsigned int)__builtin_ctzll(~v);
			uint64_t block = w * 64 + bit;

			if (block >= zram->wb_nr_blocks)
				break;
			/* Relaxed: the bit only reserves the block; the data written to it is
			 * published by the slot lock of the slot that will own it. */
			if (zsm_cas_weak_relaxed(word, &v, v | (1ull << bit))) {
				zsm_store_relaxed(&zram->wb_hint, w);
				return (int64_t)block;
			}
		}
	}
	return -ENOSPC;
}

/*
 * Relaxed: the block's old owner let go of it under its slot lock, and whoever takes
 * it next publishes the new data under its own slot lock; the bit orders no data.
 */
void _zram_bdev_free_block(struct zram *zram, uint64_t block)
{
	zsm_fetch_and_relaxed(&zram->wb_bitmap[block / 64], ~(1ull << (block % 64)));
}

int _zram_bdev_read(struct zram *zram, uint64_t block, void *page)
{
	ssize_t n = pread(zram->backing_fd, wb_bounce, ZSM_PAGE_SIZE,
			  (off_t)(block * ZSM_PAGE_SIZE));

	if (n != (ssize_t)ZSM_PAGE_SIZE)
		return -EIO;
	memcpy(page, wb_bounce, ZSM_PAGE_SIZE);
	return 0;
}

int _zram_bdev_write(struct zram *zram, uint64_t block, const void *page)
{
	if (pwrite(zram->backing_fd, page, ZSM_PAGE_SIZE, (off_t)(block * ZSM_PAGE_SIZE)) !=
	    (ssize_t)ZSM_PAGE_SIZE)
		return -EIO;
	return 0;
}

void _zram_bdev_detach(struct zram *zram)
{
	free(zram->wb_bitmap);
	zram->wb_bitmap = NULL;
	zram->wb_nr_blocks = 0;
	zram->backing_fd = -1;
	zsm_store_relaxed(&zram->wb_hint, 0);
}

ZS_API int zram_set_backing_fd(struct zram *zram, int fd, uint64_t nr_blocks)
{
	uint64_t *bitmap = NULL;
	int ret = 0;

	if (fd >= 0 && nr_blocks == 0)
		nr_blocks = zram->nr_pages;
	pthread_mutex_lock(&zram->ctl_lock);
	if (zsm_load_relaxed(&zram->stats.bd_count)) {
		_zram_set_error("zram: %llu slots are written back; cannot change the backing file",
				(unsigned long long)zsm_load_relaxed(&zram->stats.bd_count));
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
	free(zram->wb_bitmap);
	zram->wb_bitmap = bitmap;
	zram->wb_nr_blocks = fd >= 0 ? nr_blocks : 0;
	zram->backing_fd = fd;
	zsm_store_relaxed(&zram->wb_hint, 0);
out:
	pthread_mutex_unlock(&zram->ctl_lock);
	return ret;
}
