/* SPDX-License-Identifier: MIT */
/*
 * Controls that walk the slot table: idle marking, compaction, recompression.
 */
#include <stdlib.h>
#include <string.h>

#include "zram_internal.h"

ZS_API uint64_t zram_mark_idle(struct zram *zram, uint64_t older_than_sec)
{
	if (!zram)
		return 0;
	uint32_t now = _zram_now(zram);
	uint64_t marked = 0;

	for (uint32_t i = 0; i < zram->nr_pages; i++) {
		uint32_t flags;

		/* Cheap unlocked peek: skip empty slots without touching the lock. A slot
		 * written meanwhile was just accessed, so it is not idle anyway. */
		flags = slot_flags(zram, i);
		if (!(flags & (ZRAM_SIZE_MASK | ZRAM_SAME | ZRAM_WB)))
			continue;
		slot_lock(zram, i);
		flags = slot_flags(zram, i);
		if (slot_allocated(zram, i, flags) && !(flags & (ZRAM_IDLE | ZRAM_PP_SLOT)) &&
		    (older_than_sec == 0 ||
		     (uint64_t)(now - zram->slots[i].ac_time) >= older_than_sec)) {
			slot_update_flags(zram, i, 0, ZRAM_IDLE);
			zsm_add_relaxed(&zram->stats.idle_pages, 1);
			marked++;
		}
		slot_unlock(zram, i);
	}
	return marked;
}

ZS_API unsigned long zram_compact(struct zram *zram)
{
	if (!zram)
		return 0;
	return zs_compact(zram->pool);
}

ZS_API unsigned int zram_release_idle_state(struct zram *zram)
{
	unsigned int n = 0;

	if (!zram)
		return 0;
	/* ctl_lock: comps[] entries are replaced (recomp_register_locked) only under it. */
	pthread_mutex_lock(&zram->ctl_lock);
	for (unsigned int p = 0; p < ZRAM_MAX_COMPS; p++)
		if (zram->comps[p])
			n += zcomp_release_idle(zram->comps[p]);
	pthread_mutex_unlock(&zram->ctl_lock);
	return n;
}

/* ---------------------------------------------------------------------------------- */
/* Recompression                                                                       */

/* Installs algo at prio; ctl_lock held. 0, -EINVAL, -EBUSY, -ENOMEM. */
static int recomp_register_locked(struct zram *zram, unsigned int prio, const char *algo,
				  int level)
{
	struct zcomp *comp;

	if (prio < 1 || prio >= ZRAM_MAX_COMPS || !algo || !zcomp_known(algo)) {
		_zram_set_error("zram: bad recompression algorithm \"%s\" or priority %u "
				"(1..%d; available: %s)", algo ? algo : "(null)", prio,
				ZRAM_MAX_COMPS - 1, zcomp_available());
		return -EINVAL;
	}
	/* Slots get a priority only under ctl_lock (recompression), so this count is
	 * stable here, and a comp in use by slots is never replaced under a reader. */
	if (zsm_load_relaxed(&zram->stats.prio_slots[prio])) {
		_zram_set_error("zram: slots are stored with priority %u", prio);
		return -EBUSY;
	}
	comp = zcomp_create(algo, level);
	if (!comp) {
		int ret = -errno;

		_zram_set_error("zram: cannot create \"%s\" level %d", algo, level);
		return ret;
	}
	if (zram->comps[prio])
		zcomp_destroy(zram->comps[prio]);
	/* Readers reach comps[prio] only through a slot installed with prio after this
	 * store, under that slot's lock (release/acquire): no barrier needed here. */
	zram->comps[prio] = comp;
	return 0;
}

ZS_API int zram_set_recomp_algorithm(struct zram *zram, unsigned int prio, const char *algo,
				     int level)
{
	if (!zram)
		return -EINVAL;
	int ret;

	pthread_mutex_lock(&zram->ctl_lock);
	ret = recomp_register_locked(zram, prio, algo, level);
	pthread_mutex_unlock(&zram->ctl_lock);
	return ret;
}

static bool recomp_selected(uint32_t flags, enum zram_recomp_mode mode)
{
	switch (mode) {
	case ZRAM_RECOMP_IDLE:
		return flags & ZRAM_IDLE;
	case ZRAM_RECOMP_HUGE:
		return flags & ZRAM_HUGE;
	case ZRAM_RECOMP_HUGE_IDLE:
		return (flags & (ZRAM_HUGE | ZRAM_IDLE)) == (ZRAM_HUGE | ZRAM_IDLE);
	case ZRAM_RECOMP_ALL:
		return true;
	}
	return false;
}

/*
 * Tries the algorithms of prios[] (ascending, each above the slot's current priority)
 * on one slot. 1 recompressed, 0 not, -errno. Called with ctl_lock held.
 */
static int recompress_one(struct zram *zram, uint32_t index, enum zram_recomp_mode mode,
			  const unsigned int *prios, unsigned int nprios, size_t threshold)
{
	unsigned char page[ZSM_PAGE_SIZE], buf[ZSM_PAGE_SIZE];
	unsigned long old_handle, handle = 0, freed;
	unsigned int old_class, cur_prio, new_prio = 0;
	size_t old_size, cap, len = 0;
	uint32_t flags;
	bool tried = false, nomem = false;

	slot_lock(zram, index);
	flags = slot_flags(zram, index);
	old_handle = zram->slots[index].handle;
	old_size = flags & ZRAM_SIZE_MASK;
	cur_prio = slot_prio(flags);
	if (!old_handle ||
	    (flags & (ZRAM_SAME | ZRAM_WB | ZRAM_PP_SLOT | ZRAM_INCOMPRESSIBLE |
		       ZRAM_FREE_PENDING)) ||
	    !recomp_selected(flags, mode) || old_size < threshold ||
	    _zram_slot_read(zram, index, flags, page)) {
		slot_unlock(zram, index);
		return 0;
	}
	old_class = zs_handle_class(zram->pool, old_handle);
	slot_update_flags(zram, index, 0, ZRAM_PP_SLOT);
	slot_unlock(zram, index);

	/* Anything at or above the old size cannot land in a smaller class; a huge page
	 * must come out below the huge class to leave it. */
	cap = (old_size < zram->huge_class_size ? old_size : zram->huge_class_size) - 1;
	for (unsigned int k = 0; k < nprios && !handle; k++) {
		unsigned int p = prios[k];

		if (p <= cur_prio)
			continue;
		tried = true;
		len = zcomp_compress(zram->comps[p], page, ZSM_PAGE_SIZE, buf, cap);
		if (!len)
			continue;
		handle = zs_malloc(zram->pool, len);
		if (!handle) {
			nomem = true;
			break;
		}
		if (zs_handle_class(zram->pool, handle) >= old_class) {
			zs_free(zram->pool, handle);
			handle = 0;
			continue;
		}
		new_prio = p;
	}
	if (handle) {
		zs_obj_write(zram->pool, handle, buf, len);
		_zram_update_used_max(zram, zs_get_total_pages(zram->pool));
	}

	slot_lock(zram, index);
	flags = slot_flags(zram, index);
	if (!(flags & ZRAM_PP_SLOT) || zram->slots[index].handle != old_handle ||
	    (flags & ZRAM_FREE_PENDING)) {
		/*
		 * Freed or rewritten meanwhile: our copy is stale. Or notified dead while the
		 * lock was down (FREE_PENDING, per-CPU modes): free it now, as writeback
		 * does; replacing the content would clear FREE_PENDING and the drain would
		 * leave the dead slot allocated (issue 12).
		 */
		freed = flags & ZRAM_FREE_PENDING ? _zram_slot_free_extract(zram, index) : 0;
		slot_unlock(zram, index);
		if (handle)
			zs_free(zram->pool, handle);
		if (freed)
			zs_free(zram->pool, freed);
		return 0;
	}
	if (!handle) {
		/* Every algorithm tried failed to reach a smaller class: do not try again. */
		uint32_t set = tried && !nomem ? ZRAM_INCOMPRESSIBLE : 0;

		slot_update_flags(zram, index, ZRAM_PP_SLOT, set);
		if (set && !(flags & ZRAM_INCOMPRESSIBLE))
			zsm_add_relaxed(&zram->stats.incompressible, 1);
		slot_unlock(zram, index);
		return nomem ? -ENOMEM : 0;
	}
	/* Keep IDLE: the page was not accessed; recompression is not an access. */
	{
		uint32_t keep = flags & ZRAM_IDLE;
		uint32_t ac = zram->slots[index].ac_time;

		freed = _zram_slot_free_extract(zram, index);
		zram->slots[index].handle = handle;
		zram->slots[index].ac_time = ac;
		slot_update_flags(zram, index, ZRAM_CONTENT_FLAGS,
				  (uint32_t)len | keep | (new_prio << ZRAM_PRIO_SHIFT));
		zsm_add_relaxed(&zram->stats.pages_stored, 1);
		zsm_add_relaxed(&zram->stats.compr_data_size, len);
		zsm_add_relaxed(&zram->stats.prio_slots[new_prio], 1);
		if (keep)
			zsm_add_relaxed(&zram->stats.idle_pages, 1);
	}
	slot_unlock(zram, index);
	zsm_add_relaxed(&zram->stats.recompressed, 1);
	if (freed)
		zs_free(zram->pool, freed);
	return 1;
}

static int find_prio(struct zram *zram, const char *algo)
{
	for (int p = 1; p < ZRAM_MAX_COMPS; p++)
		if (zram->comps[p] && !strcmp(zcomp_name(zram->comps[p]), algo))
			return p;
	return -1;
}

ZS_API int64_t zram_recompress(struct zram *zram, enum zram_recomp_mode mode, const char *algo,
			       int level, size_t threshold)
{
	if (!zram)
		return -EINVAL;
	unsigned int prios[ZRAM_MAX_COMPS], nprios = 0;
	int64_t done = 0;
	int ret;

	if (mode < ZRAM_RECOMP_IDLE || mode > ZRAM_RECOMP_ALL || threshold > ZSM_PAGE_SIZE) {
		_zram_set_error("zram: bad recompression mode %d or threshold %zu", (int)mode,
				threshold);
		return -EINVAL;
	}
	pthread_mutex_lock(&zram->ctl_lock);
	if (algo) {
		int p = find_prio(zram, algo);

		if (p < 0) {
			/* Register it at the lowest free priority. */
			for (p = 1; p < ZRAM_MAX_COMPS && zram->comps[p]; p++)
				;
			if (p == ZRAM_MAX_COMPS) {
				_zram_set_error("zram: all %d recompression priorities are taken",
						ZRAM_MAX_COMPS - 1);
				done = -ENOSPC;
				goto out;
			}
			ret = recomp_register_locked(zram, (unsigned int)p, algo, level);
			if (ret) {
				done = ret;
				goto out;
			}
		}
		prios[nprios++] = (unsigned int)p;
	} else {
		for (unsigned int p = 1; p < ZRAM_MAX_COMPS; p++)
			if (zram->comps[p])
				prios[nprios++] = p;
		if (!nprios) {
			_zram_set_error("zram: no recompression algorithm registered");
			done = -EINVAL;
			goto out;
		}
	}

	for (uint32_t i = 0; i < zram->nr_pages; i++) {
		ret = recompress_one(zram, i, mode, prios, nprios, threshold);
		if (ret < 0) {
			done = ret;
			break;
		}
		done += ret;
	}
out:
	pthread_mutex_unlock(&zram->ctl_lock);
	return done;
}
