/* SPDX-License-Identifier: MIT */
/*
 * The I/O paths: store, load and invalidate of one page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zswap_internal.h"

static bool page_is_zero(const void *page)
{
	const unsigned char *p = page;
	size_t i;

	/* OR 64 bytes at a time: the compiler vectorises it, and most non-zero pages
	 * are caught in the first block. memcpy keeps unaligned pages legal. */
	for (i = 0; i < ZSM_PAGE_SIZE; i += 64) {
		uint64_t w[8], acc = 0;

		memcpy(w, p + i, sizeof(w));
		for (int k = 0; k < 8; k++)
			acc |= w[k];
		if (acc)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------------------------- */
/* Store, load, invalidate */

ZS_API int zswap_store(struct zswap *zs, unsigned int type, uint64_t offset, const void *page)
{
	unsigned char dst[ZSWAP_DST_MAX];
	struct zswap_entry *e, *old;
	struct zswap_stripe *s;
	struct zswap_tree *t;
	const void *src;
	unsigned long handle;
	size_t len;
	int ret;

	t = tree_for(zs, type, offset);
	if (!t || !page)
		return -EINVAL;
	s = stripe_of(t, offset);

	if (page_is_zero(page)) {
		pthread_mutex_lock(&s->lock);
		old = slot_settle(t, s, offset);
		if (old)
			t->slots[offset] = NULL;
		if (!zero_test(t, offset)) {
			zero_set(t, offset);
			zsm_add_relaxed(&zs->c.zero_pages, 1);
			zsm_add_relaxed(&zs->c.stored_pages, 1);
		}
		pthread_mutex_unlock(&s->lock);
		if (old)
			_zswap_entry_release(zs, old);
		return 0;
	}

	if (_zswap_over_limit(zs)) {
		ret = -ENOSPC;
		goto reject;
	}

	len = zcomp_compress(zs->comp, page, ZSM_PAGE_SIZE, dst, sizeof(dst));
	if (len == 0) {
		/* dst holds the worst case, so 0 is a compressor error, not "too big". */
		zsm_add_relaxed(&zs->c.reject_compress_fail, 1);
		ret = -EIO;
		goto reject;
	}
	src = dst;
	if (len >= zs->raw_threshold) {
		if (zs->reject_incompressible) {
			zsm_add_relaxed(&zs->c.reject_compress_poor, 1);
			ret = -E2BIG;
			goto reject;
		}
		src = page;
		len = ZSM_PAGE_SIZE;
	}

	e = malloc(sizeof(*e));
	if (!e) {
		zsm_add_relaxed(&zs->c.reject_alloc_fail, 1);
		ret = -ENOMEM;
		goto reject;
	}
	handle = zs_malloc(zs->pool, len);
	if (!handle) {
		free(e);
		zsm_add_relaxed(&zs->c.reject_alloc_fail, 1);
		ret = -ENOMEM;
		goto reject;
	}
	zs_obj_write(zs->pool, handle, src, len);
	e->handle = handle;
	e->offset = offset;
	e->length = (uint32_t)len;
	e->type = (uint8_t)type;
	e->referenced = true;	/* a fresh page gets one pass of the shrinker for free */
	e->writeback = false;
	e->seen = false;

	/* Counted before publication so that a racing load's decrement never underflows. */
	zsm_add_relaxed(&zs->c.stored_pages, 1);
	if (len == ZSM_PAGE_SIZE)
		zsm_add_relaxed(&zs->c.stored_incompressible_pages, 1);

	pthread_mutex_lock(&s->lock);
	old = slot_settle(t, s, offset);
	if (!old && zero_test(t, offset)) {
		zero_clear(t, offset);
		zsm_sub_relaxed(&zs->c.zero_pages, 1);
		zsm_sub_relaxed(&zs->c.stored_pages, 1);
	}
	_zswap_lru_add(zs, e);
	t->slots[offset] = e;
	pthread_mutex_unlock(&s->lock);
	if (old)
		_zswap_entry_release(zs, old);
	return 0;

reject:
	/* The caller will write this page to its swap file: what we held for the slot is
	 * stale now and must not be returned by a later load. */
	_zswap_slot_drop(zs, t, offset);
	return ret;
}

ZS_API int zswap_load(struct zswap *zs, unsigned int type, uint64_t offset, void *page)
{
	struct zswap_stripe *s;
	struct zswap_tree *t;
	struct zswap_entry *e;
	int ret;

	t = tree_for(zs, type, offset);
	if (!t || !page)
		return -EINVAL;
	s = stripe_of(t, offset);

	pthread_mutex_lock(&s->lock);
	e = slot_settle(t, s, offset);
	if (!e) {
		bool zero = zero_test(t, offset);

		if (zero) {
			zero_clear(t, offset);
			zsm_sub_relaxed(&zs->c.zero_pages, 1);
			zsm_sub_relaxed(&zs->c.stored_pages, 1);
		}
		pthread_mutex_unlock(&s->lock);
		if (!zero)
			return -ENOENT;
		memset(page, 0, ZSM_PAGE_SIZE);
		return 0;
	}
	/* Exclusive load: unpublish now, decompress without the lock. */
	t->slots[offset] = NULL;
	pthread_mutex_unlock(&s->lock);

	ret = _zswap_entry_decompress(zs, e, page);
	if (ret) {
		/* The stored bytes are corrupt: keeping them would only fail again. */
		zsm_add_relaxed(&zs->c.decompress_fail, 1);
		ret = -EIO;
	}
	/* A load is not the exit path: free synchronously, the memory is wanted back. */
	_zswap_entry_free(zs, e);
	return ret;
}

ZS_API void zswap_invalidate(struct zswap *zs, unsigned int type, uint64_t offset)
{
	struct zswap_tree *t;

	t = tree_for(zs, type, offset);
	if (!t)
		return;
	_zswap_slot_drop(zs, t, offset);
}
