/* SPDX-License-Identifier: MIT */
/*
 * zram I/O: the read and write paths, discard, and the slot-free strategies behind
 * zram_slot_free_notify() with their deferred drains.
 *
 * Write path, in order (the old content is touched only at the very end, so every
 * failure leaves it intact):
 *   1. same-filled?  -> install SAME + the fill word, no pool memory
 *   2. compress into a buffer of huge_class_size - 1 bytes; a result that does not fit
 *      means the page is stored raw (HUGE)
 *   3. zs_malloc, then the mem_limit check on the pool's new size
 *   4. copy into the object
 *   5. slot lock: extract the old content, install the new, unlock; zs_free the old
 * zram_write_partial() runs the same steps with the slot lock held from the read of the
 * old page to the install (read-modify-write).
 */
#include <stdlib.h>
#include <string.h>

#include "zram_internal.h"

/* ---------------------------------------------------------------------------------- */
/* Slot free: lock, extract (zram_slot.c), unlock, then the pool part.                 */

/* Frees whatever the slot holds: lock, extract, unlock, zs_free outside the lock. */
static void slot_free_locked_wait(struct zram *zram, uint32_t index)
{
	unsigned long handle;

	slot_lock(zram, index);
	handle = _zram_slot_free_extract(zram, index);
	slot_unlock(zram, index);
	if (handle)
		zs_free(zram->pool, handle);
}

/* ---------------------------------------------------------------------------------- */
/* Deferred drains (per-CPU index modes). Values are u32 slot indexes.                 */

static enum zs_push_ret push_slot_index(void *buf, unsigned int count, unsigned long value)
{
	if (count >= ZRAM_PUSH_PER_PAGE)
		return ZS_PUSH_FULL;
	((uint32_t *)buf)[count] = (uint32_t)value;
	return count + 1 == ZRAM_PUSH_PER_PAGE ? ZS_PUSH_FULL_QUEUED : ZS_PUSH_OK;
}

/*
 * Under the slot lock: extracts the content if the slot is still FREE_PENDING. A slot
 * that is no longer pending was rewritten or discarded after the notify (that path
 * already freed the dead content), or its index was pushed twice: nothing to do.
 */
static bool drain_extract(struct zram *zram, uint32_t index, unsigned long *handle)
{
	if (!(slot_flags(zram, index) & ZRAM_FREE_PENDING))
		return false;
	*handle = _zram_slot_free_extract(zram, index);
	return true;
}

/* Counted once per buffer: the drain runs beside writers that share these lines. */
static void drain_account(struct zram *zram, unsigned int done, unsigned int stale)
{
	zsm_add_relaxed(&zram->stats.drained_slots, done);
	if (stale)
		zsm_add_relaxed(&zram->stats.drain_stale, stale);
}

/*
 * Grouped: metadata slot by slot, then one zs_free_batch for the whole buffer.
 * Plain (v3): slot lock, the whole slot free with zs_free inside, unlock.
 */
static void drain_slots(struct zram *zram, const uint32_t *idx, unsigned int count,
			bool grouped)
{
	unsigned long handles[ZRAM_PUSH_PER_PAGE];
	unsigned int done = 0;
	size_t n = 0;

	for (unsigned int i = 0; i < count; i++) {
		unsigned long h = 0;

		if (idx[i] >= zram->nr_pages)
			continue;
		slot_lock(zram, idx[i]);
		if (drain_extract(zram, idx[i], &h)) {
			done++;
			if (h && grouped)
				handles[n++] = h;
			else if (h)
				zs_free(zram->pool, h);
		}
		slot_unlock(zram, idx[i]);
	}
	if (n)
		zs_free_batch(zram->pool, handles, n);
	drain_account(zram, done, count - done);
}

static void drain_grouped(void *private, void *buf, unsigned int count)
{
	drain_slots(private, buf, count, true);
}

static void drain_plain(void *private, void *buf, unsigned int count)
{
	drain_slots(private, buf, count, false);
}

const struct zs_deferred_ops _zram_ops_grouped = {
	.push = push_slot_index,
	.drain = drain_grouped,
};

const struct zs_deferred_ops _zram_ops_plain = {
	.push = push_slot_index,
	.drain = drain_plain,
};

/* ---------------------------------------------------------------------------------- */
/* zram_slot_free_notify                                                               */

static unsigned int next_shard;
static _Thread_local unsigned int shard_plus1;	/* 0 = not assigned yet */

/* This thread's shard: threads are spread round-robin on their first notify (relaxed:
 * the counter only spreads them; any interleaving gives a valid shard). */
static struct zram_stat_shard *zram_my_shard(struct zram *zram)
{
	if (!shard_plus1)
		shard_plus1 = 1 + zsm_fetch_add_relaxed(&next_shard, 1) % ZRAM_STAT_SHARDS;
	return &zram->shards[shard_plus1 - 1];
}

/* The kernel's synchronous notify: try-lock, or count miss_free and keep the data. */
static void notify_sync(struct zram *zram, uint32_t index, bool only_pending)
{
	unsigned long handle;

	if (!slot_trylock(zram, index)) {
		zsm_add_relaxed(&zram->stats.miss_free, 1);
		return;
	}
	if (only_pending && !(slot_flags(zram, index) & ZRAM_FREE_PENDING)) {
		/* A write or discard came between our OR and the lock: already freed. */
		slot_unlock(zram, index);
		return;
	}
	handle = _zram_slot_free_extract(zram, index);
	slot_unlock(zram, index);
	if (handle)
		zs_free(zram->pool, handle);
}

static void notify_percpu(struct zram *zram, uint32_t index)
{
	uint32_t old;

	/*
	 * Relaxed is enough: the OR is sequenced before the push, and the framework's
	 * hand-over of the buffer to the drain worker is a release/acquire pair, so the
	 * drain, which reads the flag under the slot lock, sees it set.
	 */
	old = zsm_fetch_or_relaxed(&zram->slots[index].flags, ZRAM_FREE_PENDING);
	if (old & ZRAM_FREE_PENDING)
		return;		/* already queued, and not rewritten since */
	/* The framework counts pushes and fallbacks: no shared counter on this path. */
	if (!zs_free_deferred(zram->pool, index))
		notify_sync(zram, index, true);
}

/* v2 / per-class: extract inline (try-lock like the kernel), defer only the zs_free. */
static void notify_handle_deferred(struct zram *zram, uint32_t index)
{
	unsigned long handle;

	if (!slot_trylock(zram, index)) {
		zsm_add_relaxed(&zram->stats.miss_free, 1);
		return;
	}
	handle = _zram_slot_free_extract(zram, index);
	slot_unlock(zram, index);
	if (!handle)
		return;
	if (!zs_free_deferred(zram->pool, handle))
		zs_free(zram->pool, handle);
}

ZS_API void zram_slot_free_notify(struct zram *zram, uint32_t index)
{
	if (!zram)
		return;
	if (index >= zram->nr_pages)
		return;
	zsm_add_relaxed(&zram_my_shard(zram)->notify_free, 1);
	switch (zram->free_mode) {
	case ZRAM_FREE_PERCPU_GROUPED:
	case ZRAM_FREE_PERCPU_PLAIN:
		notify_percpu(zram, index);
		break;
	case ZRAM_FREE_V2_ARRAY:
	case ZRAM_FREE_PER_CLASS:
		notify_handle_deferred(zram, index);
		break;
	default:
		notify_sync(zram, index, false);
		break;
	}
}

ZS_API void zram_flush(struct zram *zram)
{
	if (!zram)
		return;
	if (zram->free_mode != ZRAM_FREE_SYNC)
		zs_deferred_flush(zram->pool);
}

/* ---------------------------------------------------------------------------------- */
/* Write                                                                               */

/*
 * Callers' pages may sit at any address (an NBD request at an odd offset): words are
 * loaded with memcpy, which compiles to plain moves, never through an unsigned long
 * lvalue, whose misaligned use is undefined.
 */
static inline unsigned long page_word(const unsigned char *p, size_t i)
{
	unsigned long v;

	memcpy(&v, p + i * sizeof(v), sizeof(v));
	return v;
}

static bool page_same_filled(const void *page, unsigned long *fill)
{
	const unsigned char *p = page;
	const size_t n = ZSM_PAGE_SIZE / sizeof(unsigned long);
	unsigned long v = page_word(p, 0);

	/* The last word first: most pages that are not same-filled fail there at once. */
	if (page_word(p, n - 1) != v)
		return false;
	for (size_t i = 1; i < n - 1; i++)
		if (page_word(p, i) != v)
			return false;
	*fill = v;
	return true;
}

/*
 * Steps 1-4 of the write path: turns page into what _zram_slot_install() takes (the
 * fill word and SAME, or a new pool object holding the compressed or raw page). Touches
 * no slot, so it runs outside the slot lock for whole-page writes and inside it for
 * zram_write_partial(). 0, or -ENOMEM (nothing allocated).
 */
static int store_prepare(struct zram *zram, const void *page, unsigned long *handle,
			 uint32_t *flags)
{
	/* NULL rule: zsmem/zsmalloc.h */
	if (!zram || !page)
		return -EINVAL;
	unsigned char buf[ZSM_PAGE_SIZE];
	const void *src = buf;
	uint64_t pages, limit;
	unsigned long fill;
	size_t len;

	if (page_same_filled(page, &fill)) {
		*handle = fill;
		*flags = ZRAM_SAME;
		return 0;
	}

	/* A result that does not fit below the huge class is of no use: store raw. */
	len = zcomp_compress(zram->comps[0], page, ZSM_PAGE_SIZE, buf,
			     zram->huge_class_size - 1);
	*flags = (uint32_t)len;
	if (len == 0) {
		src = page;
		len = ZSM_PAGE_SIZE;
		*flags = ZSM_PAGE_SIZE | ZRAM_HUGE;
	}

	*handle = zs_malloc(zram->pool, len);
	if (!*handle)
		return -ENOMEM;
	/* As the kernel: the limit is checked on the pool's size with the new object. */
	pages = zs_get_total_pages(zram->pool);
	_zram_update_used_max(zram, pages);
	limit = zsm_load_relaxed(&zram->limit_pages);
	if (limit && pages > limit) {
		zs_free(zram->pool, *handle);
		return -ENOMEM;
	}
	zs_obj_write(zram->pool, *handle, src, len);
	return 0;
}

ZS_API int zram_write_page(struct zram *zram, uint32_t index, const void *page)
{
	unsigned long handle, old;
	uint32_t flags;

	if (!zram || !page)	/* NULL rule: zsmem/zsmalloc.h */
		return -EINVAL;
	if (index >= zram->nr_pages) {
		zsm_add_relaxed(&zram->stats.invalid_io, 1);
		zsm_add_relaxed(&zram->stats.failed_writes, 1);
		return -EINVAL;
	}
	zsm_add_relaxed(&zram->stats.num_writes, 1);

	if (store_prepare(zram, page, &handle, &flags)) {
		zsm_add_relaxed(&zram->stats.failed_writes, 1);
		return -ENOMEM;
	}
	slot_lock(zram, index);
	old = _zram_slot_install(zram, index, handle, flags);
	slot_unlock(zram, index);
	if (old)
		zs_free(zram->pool, old);
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* Read                                                                                */

/*
 * Under the slot lock: the slot's page into page. A FREE_PENDING slot is dead (its
 * content is unspecified until rewritten) and reads as zeros, as it will once drained,
 * so that a reader sees the same page before and after the drain. 0 or -EIO.
 */
static int read_locked(struct zram *zram, uint32_t index, void *page)
{
	uint32_t flags = slot_flags(zram, index);
	int ret;

	if (flags & ZRAM_FREE_PENDING) {
		memset(page, 0, ZSM_PAGE_SIZE);
		return 0;
	}
	if (flags & ZRAM_WB) {
		ret = _zram_bdev_read(zram, zram->slots[index].handle, page);
		if (!ret)
			zsm_add_relaxed(&zram->stats.bd_reads, 1);
	} else {
		ret = _zram_slot_read(zram, index, flags, page);
	}
	return ret;
}

ZS_API int zram_read_page(struct zram *zram, uint32_t index, void *page)
{
	if (!zram || !page)
		return -EINVAL;
	uint32_t flags;
	int ret;

	if (index >= zram->nr_pages) {
		zsm_add_relaxed(&zram->stats.invalid_io, 1);
		zsm_add_relaxed(&zram->stats.failed_reads, 1);
		return -EINVAL;
	}
	zsm_add_relaxed(&zram->stats.num_reads, 1);

	/* The lock is held across the decompression: the object must not be freed under us. */
	slot_lock(zram, index);
	ret = read_locked(zram, index, page);
	flags = slot_flags(zram, index);
	if (slot_allocated(zram, index, flags) && !(flags & ZRAM_FREE_PENDING)) {
		zram->slots[index].ac_time = _zram_now(zram);
		if (flags & ZRAM_IDLE) {
			slot_update_flags(zram, index, ZRAM_IDLE, 0);
			zsm_sub_relaxed(&zram->stats.idle_pages, 1);
		}
	}
	slot_unlock(zram, index);

	if (ret)
		zsm_add_relaxed(&zram->stats.failed_reads, 1);
	return ret;
}

/*
 * Read, modify, write under the slot lock, so that two partial writes of different
 * bytes of one page never lose each other's bytes. The compression and zs_malloc run
 * under the slot lock (allowed by the lock order slot -> pool); only writers and
 * readers of this one slot wait for it.
 */
ZS_API int zram_write_partial(struct zram *zram, uint32_t index, uint32_t offset,
			      const void *buf, uint32_t len)
{
	unsigned char page[ZSM_PAGE_SIZE];
	unsigned long handle, old;
	uint32_t flags;
	int ret;

	if (!zram)		/* NULL rule (a NULL buf writes zeros) */
		return -EINVAL;
	if (index >= zram->nr_pages || offset > ZSM_PAGE_SIZE || len > ZSM_PAGE_SIZE - offset) {
		zsm_add_relaxed(&zram->stats.invalid_io, 1);
		zsm_add_relaxed(&zram->stats.failed_writes, 1);
		return -EINVAL;
	}
	zsm_add_relaxed(&zram->stats.num_writes, 1);

	slot_lock(zram, index);
	ret = read_locked(zram, index, page);
	if (ret)
		goto out;
	if (buf)
		memcpy(page + offset, buf, len);
	else
		memset(page + offset, 0, len);
	ret = store_prepare(zram, page, &handle, &flags);
	if (ret)
		goto out;
	old = _zram_slot_install(zram, index, handle, flags);
	slot_unlock(zram, index);
	if (old)
		zs_free(zram->pool, old);
	return 0;
out:
	slot_unlock(zram, index);
	zsm_add_relaxed(&zram->stats.failed_writes, 1);
	return ret;
}

ZS_API int zram_discard(struct zram *zram, uint32_t index, uint32_t nr_pages)
{
	if (!zram)
		return -EINVAL;
	if (index >= zram->nr_pages || nr_pages > zram->nr_pages - index) {
		zsm_add_relaxed(&zram->stats.invalid_io, 1);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < nr_pages; i++)
		slot_free_locked_wait(zram, index + i);
	return 0;
}


/* ---------------------------------------------------------------------------------- */
/* Extents                                                                             */

/* Under the slot lock: what a reader of the slot would find, and where it lives. */
static enum zram_extent_type slot_extent_type(struct zram *zram, uint32_t index)
{
	uint32_t flags = slot_flags(zram, index);

	if ((flags & ZRAM_FREE_PENDING) || !slot_allocated(zram, index, flags))
		return ZRAM_EXTENT_EMPTY;
	if (flags & ZRAM_SAME)
		return zram->slots[index].handle ? ZRAM_EXTENT_SAME : ZRAM_EXTENT_ZERO;
	return ZRAM_EXTENT_DATA;
}

ZS_API int64_t zram_get_extent(struct zram *zram, uint32_t index, uint32_t nr,
			       enum zram_extent_type *type)
{
	enum zram_extent_type first = ZRAM_EXTENT_EMPTY;
	uint32_t n;

	if (!zram || !type)	/* NULL rule */
		return -EINVAL;
	if (index >= zram->nr_pages || nr == 0)
		return -EINVAL;
	if (nr > zram->nr_pages - index)
		nr = zram->nr_pages - index;
	for (n = 0; n < nr; n++) {
		enum zram_extent_type t;

		/* Each slot under its own lock: a consistent view of that slot (its flags
		 * and its fill word), never of the range, as for any concurrent reader. */
		slot_lock(zram, index + n);
		t = slot_extent_type(zram, index + n);
		slot_unlock(zram, index + n);
		if (n == 0)
			first = t;
		else if (t != first)
			break;
	}
	*type = first;
	return n;
}
