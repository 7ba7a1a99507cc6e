// SPDX-License-Identifier: MIT
/*
 * fuzz_zsmalloc: zsmalloc and the deferred free framework driven by an op sequence,
 * checked against a model holding every live object's exact bytes.
 *
 * Input: two config bytes, then ops (opcode byte + arguments), at most FUZZ_MAX_OPS.
 *   config 0: chain size (bits 0-1: 4, 8, 12, 16), ZS_POOL_DEFER_ZSPAGE_FREE (bit 2),
 *             deferred mode (bits 3-5, mod 6: none, handles grouped, handles plain,
 *             v2 array, per class, sync), no_rseq (bit 6), ZS_POOL_DENSE_CLASSES (bit 7)
 *   config 1: spare pages (bits 0-1), v2 array entries 64 << bits 2-3, max delay
 *             (bit 4: 200 us, else default); bit 5: first try a config that must be
 *             refused (bit 6: spare_pages near UINT_MAX, bit 7: spare_pages_max near
 *             UINT_MAX, neither: array_entries past 1 << 26)
 * Objects live in 32 model slots; a slot byte picks one.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <zsmem/zsmalloc.h>

#include "fuzz_common.h"
#include "tokpage.h"

#define NSLOTS 32

struct obj {
	unsigned long handle;
	uint32_t size;
	unsigned char bytes[ZS_MAX_ALLOC_SIZE];
};

static struct obj objs[NSLOTS];
static unsigned char scratch[ZS_MAX_ALLOC_SIZE];
/* Source / destination of lengths past the object: 2 pages cover every slot (a length
 * the library accepts is within the slot); 1 MiB lengths must be refused unread. */
static unsigned char big[2 * ZS_PAGE_SIZE];
static struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
static bool pool_defers_zspages;
static bool async_frees;	/* deferred frees drain on a worker, at any time */

static unsigned int live_count(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < NSLOTS; i++)
		n += objs[i].handle != 0;
	return n;
}

static void check_obj(struct zs_pool *pool, struct obj *o)
{
	FUZZ_CHECK(zs_obj_read(pool, o->handle, scratch, o->size) == 0, "zs_obj_read(%u)", o->size);
	FUZZ_CHECK(!memcmp(scratch, o->bytes, o->size), "handle %#lx size %u: wrong bytes",
		   o->handle, o->size);
}

/* Every live object reads back, the invariants hold, and the counts add up. */
static void check_all(struct zs_pool *pool, bool flushed)
{
	struct zs_pool_stats st;
	unsigned int i, nrows;
	unsigned long used = 0;

	for (i = 0; i < NSLOTS; i++)
		if (objs[i].handle)
			check_obj(pool, &objs[i]);
	FUZZ_CHECK(zs_pool_check(pool) == 0, "zs_pool_check");
	zs_pool_stats(pool, &st);
	nrows = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);
	for (i = 0; i < nrows && i < ZS_NR_SIZE_SLOTS; i++)
		used += rows[i].obj_used;
	/* Two snapshots: equal only while no drain can run between them. */
	if (flushed || !async_frees)
		FUZZ_CHECK(used == st.objs_used, "class rows say %lu objects, pool %lu", used,
			   st.objs_used);
	/* Pages move on their own on the deferred zspage-free thread and in drains. */
	if (!pool_defers_zspages && (flushed || !async_frees))
		FUZZ_CHECK(st.total_pages == zs_get_total_pages(pool), "total_pages");
	/* Before a flush, deferred frees may still hold objects; after it, none. */
	if (flushed)
		FUZZ_CHECK(st.objs_used == live_count(), "pool has %lu objects, model %u",
			   st.objs_used, live_count());
	else
		FUZZ_CHECK(st.objs_used >= live_count(), "pool has %lu objects, model %u",
			   st.objs_used, live_count());
}

/* Slot size of a live object's class (its row in the class table). */
static unsigned int slot_size(struct zs_pool *pool, struct obj *o)
{
	unsigned int cls = zs_handle_class(pool, o->handle), nrows, k;

	nrows = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);
	for (k = 0; k < nrows && k < ZS_NR_SIZE_SLOTS; k++)
		if (rows[k].index == cls)
			return rows[k].size;
	FUZZ_CHECK(0, "handle class %u is no class row", cls);
	return 0;
}

static void drop(struct obj *o)
{
	o->handle = 0;
	o->size = 0;
}

static int enable_deferred(struct zs_pool *pool, unsigned int mode, uint8_t c0, uint8_t c1)
{
	struct zs_deferred_config dc = {
		.spare_pages = c1 & 3,
		.array_entries = 64u << ((c1 >> 2) & 3),
		.max_delay_us = (c1 & 0x10) ? 200 : 0,
		.no_rseq = (c0 >> 6) & 1,
	};

	if (mode && (c1 & 0x20)) {
		/* Sizes that overflowed an unsigned sum once: refused, nothing enabled. */
		struct zs_deferred_config bad = dc;
		int rc;

		bad.mode = mode == 3 ? ZS_DEFER_V2_ARRAY : mode == 4 ? ZS_DEFER_PER_CLASS :
			   mode == 5 ? ZS_DEFER_SYNC : ZS_DEFER_PERCPU;
		if (c1 & 0x40)
			bad.spare_pages = UINT32_MAX - (c1 & 3);
		else if (c1 & 0x80)
			bad.spare_pages_max = UINT32_MAX - (c1 & 3);
		else
			bad.array_entries = (1u << 26) + 1 + (c1 & 3);
		rc = zs_pool_enable_deferred_handles(pool, mode != 2, &bad);
		FUZZ_CHECK(rc == -EINVAL, "enable with spare %u / max %u / entries %u = %d",
			   bad.spare_pages, bad.spare_pages_max, bad.array_entries, rc);
	}
	switch (mode) {
	case 1:
		return zs_pool_enable_deferred_handles(pool, true, &dc);
	case 2:
		return zs_pool_enable_deferred_handles(pool, false, &dc);
	case 3:
		dc.mode = ZS_DEFER_V2_ARRAY;
		return zs_pool_enable_deferred_handles(pool, false, &dc);
	case 4:
		dc.mode = ZS_DEFER_PER_CLASS;
		return zs_pool_enable_deferred_handles(pool, true, &dc);
	case 5:
		dc.mode = ZS_DEFER_SYNC;
		return zs_pool_enable_deferred_handles(pool, true, &dc);
	default:
		return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t c0 = fz_u8(&f), c1 = fz_u8(&f);
	struct zs_pool_config pc = {
		.chain_size = 4 + (c0 & 3) * 4,
		.flags = ((c0 & 4) ? ZS_POOL_DEFER_ZSPAGE_FREE : 0) |
			 ((c0 & 0x80) ? ZS_POOL_DENSE_CLASSES : 0),
	};
	unsigned int mode = ((c0 >> 3) & 7) % 6, nops, i;
	bool deferred = mode != 0;

	async_frees = mode >= 1 && mode <= 4;
	struct zs_pool_stats st;
	struct zs_pool *pool;
	int rc;

	memset(objs, 0, sizeof(objs));
	pool_defers_zspages = pc.flags & ZS_POOL_DEFER_ZSPAGE_FREE;
	pool = zs_create_pool_ex("fuzz", &pc);
	FUZZ_CHECK(pool, "zs_create_pool_ex: %d", errno);
	rc = enable_deferred(pool, mode, c0, c1);
	if (rc == -ENOMEM || rc == -EAGAIN) {	/* memory pressure: nothing to fuzz */
		zs_destroy_pool(pool);
		return 0;
	}
	FUZZ_CHECK(rc == 0, "enable deferred mode %u: %d", mode, rc);

	for (nops = 0; fz_more(&f) && nops < FUZZ_MAX_OPS; nops++) {
		uint8_t op = fz_u8(&f) % 13;
		struct obj *o = &objs[fz_u8(&f) % NSLOTS];

		switch (op) {
		case 0: {	/* alloc: sizes past both ends included */
			uint32_t sz = fz_u16(&f) % (ZS_MAX_ALLOC_SIZE + 64);
			unsigned long h;

			if (o->handle)
				break;
			errno = 0;
			h = zs_malloc(pool, sz);
			if (sz == 0 || sz > ZS_MAX_ALLOC_SIZE) {
				FUZZ_CHECK(!h && errno == (sz ? ENOSPC : EINVAL),
					   "zs_malloc(%u) = %#lx errno %d", sz, h, errno);
				break;
			}
			if (!h) {
				FUZZ_CHECK(errno == ENOMEM, "zs_malloc(%u): errno %d", sz, errno);
				break;
			}
			pg_fill_bytes(o->bytes, sz, (uint64_t)fz_u16(&f) << 16 | sz);
			rc = zs_obj_write(pool, h, o->bytes, sz);
			FUZZ_CHECK(rc == 0, "zs_obj_write(%u) = %d", sz, rc);
			o->handle = h;
			o->size = sz;
			break;
		}
		case 1: {	/* partial write from the start */
			uint32_t len;

			if (!o->handle)
				break;
			len = 1 + fz_u16(&f) % o->size;
			pg_fill_bytes(o->bytes, len, fz_u16(&f) | (uint64_t)len << 20);
			rc = zs_obj_write(pool, o->handle, o->bytes, len);
			FUZZ_CHECK(rc == 0, "zs_obj_write(%u of %u) = %d", len, o->size, rc);
			break;
		}
		case 2:
			if (o->handle)
				check_obj(pool, o);
			break;
		case 3: {	/* zero-copy read; with bit 0 set, compaction runs while it is held */
			uint8_t how = fz_u8(&f);
			const void *p;

			if (!o->handle)
				break;
			p = zs_obj_read_begin(pool, o->handle, o->size, scratch);
			FUZZ_CHECK(!memcmp(p, o->bytes, o->size), "read_begin: wrong bytes");
			if (how & 1) {
				/* The held zspage is skipped; the others move under us. */
				zs_compact(pool);
				FUZZ_CHECK(!memcmp(p, o->bytes, o->size),
					   "held object changed during compaction");
				if (how & 2)
					for (i = 0; i < NSLOTS; i++)
						if (objs[i].handle && &objs[i] != o)
							check_obj(pool, &objs[i]);
			}
			zs_obj_read_end(pool, o->handle, p);
			break;
		}
		case 4:
			if (o->handle) {
				zs_free(pool, o->handle);
				drop(o);
			}
			break;
		case 5:
			if (o->handle) {
				bool ok = zs_free_deferred(pool, o->handle);

				FUZZ_CHECK(!ok || (deferred && mode != 5),
					   "zs_free_deferred accepted in mode %u", mode);
				if (!ok)
					zs_free(pool, o->handle);
				drop(o);
			}
			break;
		case 6: {	/* batch: the next 8 slots selected by a mask */
			unsigned long hs[8];
			uint8_t mask = fz_u8(&f);
			size_t n = 0;
			unsigned int k, base = (unsigned int)(o - objs);

			for (k = 0; k < 8; k++) {
				struct obj *q = &objs[(base + k) % NSLOTS];

				if ((mask >> k) & 1 && q->handle) {
					hs[n++] = q->handle;
					drop(q);
				} else if ((mask >> k) & 1) {
					hs[n++] = 0;	/* zero entries are skipped */
				}
			}
			zs_free_batch(pool, hs, n);
			break;
		}
		case 7:
			zs_deferred_flush(pool);
			check_all(pool, true);
			break;
		case 8: {
			unsigned long before = zs_get_total_pages(pool), freed = zs_compact(pool);

			FUZZ_CHECK(freed <= before, "compact freed %lu of %lu pages", freed, before);
			check_all(pool, false);
			break;
		}
		case 9: {	/* the handle's class holds its size */
			unsigned int cls, nrows, k;
			bool found = false;

			if (!o->handle)
				break;
			cls = zs_handle_class(pool, o->handle);
			nrows = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);
			for (k = 0; k < nrows && k < ZS_NR_SIZE_SLOTS; k++)
				if (rows[k].index == cls) {
					found = true;
					FUZZ_CHECK(rows[k].size >= o->size,
						   "class %u (size %u) holds a %u-byte object", cls,
						   rows[k].size, o->size);
					FUZZ_CHECK(rows[k].obj_used >= 1, "class %u has no object", cls);
				}
			FUZZ_CHECK(found, "handle class %u is no class row", cls);
			break;
		}
		case 10:
			check_all(pool, false);
			break;
		case 11: {	/* lengths past the object: past the slot refused, nothing copied */
			uint8_t how = fz_u8(&f);
			size_t len;
			unsigned int slot;

			if (!o->handle)
				break;
			slot = slot_size(pool, o);
			len = (how & 0x80) ? (size_t)1 << 20 : o->size + 1 + fz_u16(&f) % ZS_PAGE_SIZE;
			if (how & 1) {
				rc = zs_obj_read(pool, o->handle, big, len);
			} else if (how & 2) {
				const void *p = zs_obj_read_begin(pool, o->handle, len, big);

				rc = p ? 0 : -errno;
				if (p)
					zs_obj_read_end(pool, o->handle, p);
			} else {
				memset(big, how, sizeof(big));
				rc = zs_obj_write(pool, o->handle, big, len);
				if (rc == 0)	/* accepted: within the slot; the object's bytes change */
					memcpy(o->bytes, big, o->size);
			}
			if (len > slot)
				FUZZ_CHECK(rc == -EINVAL, "length %zu past a %u-byte slot (object %u) = %d",
					   len, slot, o->size, rc);
			else
				FUZZ_CHECK(rc == 0 || rc == -EINVAL, "length %zu in a %u-byte slot = %d",
					   len, slot, rc);
			/* The object and its neighbours are intact either way. */
			check_all(pool, false);
			break;
		}
		default:	/* free everything, half deferred, and look at the floor */
			for (i = 0; i < NSLOTS; i++)
				if (objs[i].handle) {
					if (i % 2 || !zs_free_deferred(pool, objs[i].handle))
						zs_free(pool, objs[i].handle);
					drop(&objs[i]);
				}
			zs_deferred_flush(pool);
			zs_pool_stats(pool, &st);
			FUZZ_CHECK(st.objs_used == 0, "%lu objects after freeing all", st.objs_used);
			/* Emptied zspages go back at once unless their free is deferred too. */
			if (!(pc.flags & ZS_POOL_DEFER_ZSPAGE_FREE))
				FUZZ_CHECK(st.total_pages == 0, "%lu pages after freeing all",
					   st.total_pages);
			break;
		}
	}

	check_all(pool, false);
	for (i = 0; i < NSLOTS; i++)
		if (objs[i].handle) {
			if (i % 2 || !zs_free_deferred(pool, objs[i].handle))
				zs_free(pool, objs[i].handle);
			drop(&objs[i]);
		}
	zs_deferred_flush(pool);
	zs_pool_stats(pool, &st);
	FUZZ_CHECK(st.objs_used == 0, "%lu objects at the end", st.objs_used);
	if (!(pc.flags & ZS_POOL_DEFER_ZSPAGE_FREE))
		FUZZ_CHECK(st.total_pages == 0, "%lu pages at the end", st.total_pages);
	zs_destroy_pool(pool);
	return 0;
}
