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
		zsm_sub_relaxed(&zram->stats.bd_count, 1);
	} else if (flags & ZRAM_SAME) {
		zsm_sub_relaxed(&zram->stats.same_pages, 1);
		zsm_sub_relaxed(&zram->stats.pages_stored, 1);
	} else if (slot->handle) {
		handle = slot->handle;
		if (flags & ZRAM_HUGE)
			zsm_sub_relaxed(&zram->stats.huge_pages, 1);
		zsm_sub_relaxed(&zram->stats.compr_data_size, flags & ZRAM_SIZE_MASK);
		zsm_sub_relaxed(&zram->stats.pages_stored, 1);
		if (slot_prio(flags))
			zsm_sub_relaxed(&zram->stats.prio_slots[slot_prio(flags)], 1);
	}
	if (flags & ZRAM_IDLE)
		zsm_sub_relaxed(&zram->stats.idle_pages, 1);
	if (flags & ZRAM_INCOMPRESSIBLE)
		zsm_sub_relaxed(&zram->stats.incompressible, 1);
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
	zsm_add_relaxed(&zram->stats.pages_stored, 1);
	if (flags & ZRAM_SAME) {
		zsm_add_relaxed(&zram->stats.same_pages, 1);
		return old;
	}
	zsm_add_relaxed(&zram->stats.compr_data_size, flags & ZRAM_SIZE_MASK);
	if (flags & ZRAM_HUGE) {
		zsm_add_relaxed(&zram->stats.huge_pages, 1);
		zsm_add_relaxed(&zram->stats.huge_pages_since, 1);
	}
	return old;
}

static void fill_page(void *page, unsigned long v)
{
	unsigned long *w = page;

	if (v == 0) {
		memset(page, 0, ZSM_PAGE_SIZE);
		return;
	}
	for (size_t i = 0; i < ZSM_PAGE_SIZE / sizeof(*w); i++)
		w[i] = v;
}

int _zram_slot_read(struct zram *zram, uint32_t index, uint32_t flags, void *page)
{
	unsigned char local[ZSM_PAGE_SIZE];
	unsigned long handle = zram->slots[index].handle;
	size_t size = flags & ZRAM_SIZE_MASK;
	const void *src;
	int ret;

	if (flags & ZRAM_SAME) {
		fill_page(page, handle);
		return 0;
	}
	if (!handle) {
		memset(page, 0, ZSM_PAGE_SIZE);
		return 0;
	}
	if (flags & ZRAM_HUGE) {
		zs_obj_read(zram->pool, handle, page, ZSM_PAGE_SIZE);
		return 0;
	}
	src = zs_obj_read_begin(zram->pool, handle, size, local);
	ret = zcomp_decompress(zram->comps[slot_prio(flags)], src, size, page, ZSM_PAGE_SIZE);
	zs_obj_read_end(zram->pool, handle, src);
	return ret ? -EIO : 0;
}
