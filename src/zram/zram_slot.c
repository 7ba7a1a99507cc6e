/* SPDX-License-Identifier: MIT */
/*
 * The slot layer: what a slot holds, taken out (extract), put in (install) and read
 * back (read), all under the slot lock. Every path that changes a slot's content (the
 * I/O paths of zram_drv.c, writeback in zram_wb.c, recompression in zram_ctl.c) goes
 * through here, so the statistics follow the content in one place. Calls down into
 * the backing device (zram_bdev.c) for written-back slots; never up.
 */
#include <string.h>

#include "zram_internal.h"

unsigned long _zram_slot_free_extract(struct zram *zram, uint32_t index)
{
	struct zram_slot *slot = &zram->slots[index];
	uint32_t flags = slot_flags(zram, index);
	unsigned long handle = 0;

	if (flags & ZRAM_WB) {
		_zram_bdev_free_block(zram, slot->handle);
		zram_stat_dec(&zram->stats.bd_count);
	} else if (flags & ZRAM_SAME) {
		zram_stat_dec(&zram->stats.same_pages);
		zram_stat_dec(&zram->stats.pages_stored);
	} else if (slot->handle) {
		handle = slot->handle;
		if (flags & ZRAM_HUGE)
			zram_stat_dec(&zram->stats.huge_pages);
		zram_stat_sub(&zram->stats.compr_data_size, flags & ZRAM_SIZE_MASK);
		zram_stat_dec(&zram->stats.pages_stored);
		if (slot_prio(flags))
			zram_stat_dec(&zram->stats.prio_slots[slot_prio(flags)]);
	}
	if (flags & ZRAM_IDLE)
		zram_stat_dec(&zram->stats.idle_pages);
	if (flags & ZRAM_INCOMPRESSIBLE)
		zram_stat_dec(&zram->stats.incompressible);
	slot->handle = 0;
	slot->ac_time = 0;
	slot_update_flags(zram, index, ZRAM_CONTENT_FLAGS, 0);
	return handle;
}

/*
 * The counters move under the lock so that a concurrent free of the same slot never
 * sees them below zero.
 */
unsigned long _zram_slot_install(struct zram *zram, uint32_t index, unsigned long handle,
				 uint32_t flags)
{
	unsigned long old = _zram_slot_free_extract(zram, index);

	zram->slots[index].handle = handle;
	zram->slots[index].ac_time = _zram_now(zram);
	slot_update_flags(zram, index, ZRAM_CONTENT_FLAGS, flags);
	zram_stat_inc(&zram->stats.pages_stored);
	if (flags & ZRAM_SAME) {
		zram_stat_inc(&zram->stats.same_pages);
		return old;
	}
	zram_stat_add(&zram->stats.compr_data_size, flags & ZRAM_SIZE_MASK);
	if (flags & ZRAM_HUGE) {
		zram_stat_inc(&zram->stats.huge_pages);
		zram_stat_inc(&zram->stats.huge_pages_since);
	}
	return old;
}

static void fill_page(void *page, unsigned long v)
{
	unsigned long *w = page;

	if (v == 0) {
		memset(page, 0, ZRAM_PAGE_SIZE);
		return;
	}
	for (size_t i = 0; i < ZRAM_PAGE_SIZE / sizeof(*w); i++)
		w[i] = v;
}

int _zram_slot_read(struct zram *zram, uint32_t index, uint32_t flags, void *page)
{
	unsigned char local[ZRAM_PAGE_SIZE];
	unsigned long handle = zram->slots[index].handle;
	size_t size = flags & ZRAM_SIZE_MASK;
	const void *src;
	int ret;

	if (flags & ZRAM_SAME) {
		fill_page(page, handle);
		return 0;
	}
	if (!handle) {
		memset(page, 0, ZRAM_PAGE_SIZE);
		return 0;
	}
	if (flags & ZRAM_HUGE) {
		zs_obj_read(zram->pool, handle, page, ZRAM_PAGE_SIZE);
		return 0;
	}
	src = zs_obj_read_begin(zram->pool, handle, size, local);
	ret = zcomp_decompress(zram->comps[slot_prio(flags)], src, size, page, ZRAM_PAGE_SIZE);
	zs_obj_read_end(zram->pool, handle, src);
	return ret ? -EIO : 0;
}
