/* SPDX-License-Identifier: MIT */
/*
 * The pool limit with its hysteresis, writeback of the coldest entries to the
 * backing file, the shrink loop, the shrinker thread, and zswap_writeback().
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "zswap_internal.h"

static void shrink_wake(struct zswap *zs)
{
	if (!zsm_load_relaxed(&zs->shrinker_started))
		return;
	/* Only the first waker after a pass takes the lock; the flag is re-read under
	 * shrink_lock by the shrinker before it sleeps, so no wakeup is lost. */
	if (zsm_xchg_relaxed(&zs->shrink_requested, true))
		return;
	pthread_mutex_lock(&zs->shrink_lock);
	pthread_cond_signal(&zs->shrink_cond);
	pthread_mutex_unlock(&zs->shrink_lock);
}

/* true: reject this store. Counts pool_limit_hit / reject_pool_full. */
bool _zswap_over_limit(struct zswap *zs)
{
	uint64_t cur = zs_get_total_pages(zs->pool);

	if (cur >= zs->max_pages) {
		zsm_add_relaxed(&zs->c.pool_limit_hit, 1);
		zsm_store_relaxed(&zs->reached_full, true);
		shrink_wake(zs);
		return true;
	}
	if (zsm_load_relaxed(&zs->reached_full)) {
		if (cur > zs->accept_pages) {
			zsm_add_relaxed(&zs->c.reject_pool_full, 1);
			shrink_wake(zs);
			return true;
		}
		zsm_store_relaxed(&zs->reached_full, false);
	}
	return false;
}

static int write_full(int fd, const void *buf, size_t len, off_t pos)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, pos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		pos += n;
		len -= (size_t)n;
	}
	return 0;
}

enum wb_result {
	WB_DONE,	/* one page written back and freed */
	WB_SKIP,	/* rotated (second chance) or stale LRU entry */
	WB_FAIL,	/* write or decompression failed, entry kept */
	WB_EMPTY,	/* nothing on the LRU */
};

/*
 * Writes back the coldest entry. Caller holds wb_mutex; buf is one page.
 */
static enum wb_result writeback_one(struct zswap *zs, void *buf)
{
	struct zswap_entry *e;
	struct zswap_tree *t;
	struct zswap_stripe *s;
	unsigned int type;
	uint64_t off;
	int ret;

	pthread_mutex_lock(&zs->lru_lock);
	if (zsm_list_empty(&zs->lru)) {
		pthread_mutex_unlock(&zs->lru_lock);
		return WB_EMPTY;
	}
	e = zsm_list_entry(zs->lru.prev, struct zswap_entry, lru);
	/*
	 * Rotate to the head whatever happens next: a referenced entry gets its second
	 * chance, and a stale or failing one is not picked again at once.
	 */
	zsm_list_del(&e->lru);
	zsm_list_add(&e->lru, &zs->lru);
	if (e->referenced) {
		e->referenced = false;
		pthread_mutex_unlock(&zs->lru_lock);
		return WB_SKIP;
	}
	type = e->type;
	off = e->offset;
	pthread_mutex_unlock(&zs->lru_lock);
	/* From here e may be freed by its owner: compare the pointer, never read it,
	 * until the stripe lock shows it is still published. */

	t = tree_for(zs, type, off);
	if (!t)
		return WB_SKIP;		/* leftover of a swapped-off type */
	s = stripe_of(t, off);
	pthread_mutex_lock(&s->lock);
	if (t->slots[off] != e) {
		pthread_mutex_unlock(&s->lock);
		return WB_SKIP;		/* unpublished, awaiting its free */
	}
	if (t->backing_fd < 0) {
		pthread_mutex_unlock(&s->lock);
		zsm_add_relaxed(&zs->c.reject_reclaim_fail, 1);
		return WB_FAIL;
	}
	e->writeback = true;
	pthread_mutex_unlock(&s->lock);

	/* Pinned: load/invalidate/store on this slot wait in slot_settle(). */
	ret = _zswap_entry_decompress(zs, e, buf);
	if (ret)
		zsm_add_relaxed(&zs->c.decompress_fail, 1);
	else
		ret = write_full(t->backing_fd, buf, ZSM_PAGE_SIZE, (off_t)(off * ZSM_PAGE_SIZE));

	pthread_mutex_lock(&s->lock);
	e->writeback = false;
	if (!ret)
		t->slots[off] = NULL;
	pthread_cond_broadcast(&s->wb_done);
	pthread_mutex_unlock(&s->lock);

	if (ret) {
		zsm_add_relaxed(&zs->c.reject_reclaim_fail, 1);
		return WB_FAIL;
	}
	/* Synchronous free: writeback exists to give memory back now. */
	_zswap_entry_free(zs, e);
	zsm_add_relaxed(&zs->c.written_back_pages, 1);
	return WB_DONE;
}

static bool over_accept(struct zswap *zs)
{
	return zs_get_total_pages(zs->pool) > zs->accept_pages;
}

/*
 * Writes back until the pool is at or below the accept threshold (or nr pages when
 * to_threshold is false). Stops on an empty LRU, on ZSWAP_MAX_WB_FAILS failures in a
 * row, or after a full turn of the LRU without progress.
 */
static uint64_t shrink(struct zswap *zs, void *buf, bool to_threshold, uint64_t nr)
{
	uint64_t done = 0, idle = 0, since_compact = 0;
	unsigned int fails = 0;

	while (to_threshold ? over_accept(zs) : done < nr) {
		enum wb_result r;

		if (to_threshold && zsm_load_relaxed(&zs->shrink_stop))
			break;
		/* Per entry, so that swapoff is not shut out for a whole pass. */
		pthread_mutex_lock(&zs->wb_mutex);
		r = writeback_one(zs, buf);
		pthread_mutex_unlock(&zs->wb_mutex);

		if (r == WB_EMPTY)
			break;
		if (r == WB_DONE) {
			done++;
			idle = 0;
			fails = 0;
			/*
			 * Freeing scattered objects frees few zspages: when the coldest
			 * entries are spread thinly, compact so that the pages do come
			 * back instead of writing back the whole cache.
			 */
			if (to_threshold && ++since_compact >= ZSWAP_COMPACT_EVERY) {
				since_compact = 0;
				zs_compact(zs->pool);
			}
			continue;
		}
		if (r == WB_FAIL && ++fails >= ZSWAP_MAX_WB_FAILS)
			break;
		/* Two turns: the first clears the referenced bits. */
		if (++idle > 2 * zsm_load_relaxed(&zs->lru_nr) + ZSWAP_MAX_WB_FAILS)
			break;
	}
	return done;
}

void *_zswap_shrinker_main(void *arg)
{
	struct zswap *zs = arg;
	void *buf = aligned_alloc(ZSM_PAGE_SIZE, ZSM_PAGE_SIZE);

	pthread_mutex_lock(&zs->shrink_lock);
	for (;;) {
		while (!zsm_load_relaxed(&zs->shrink_requested) && !zsm_load_relaxed(&zs->shrink_stop))
			pthread_cond_wait(&zs->shrink_cond, &zs->shrink_lock);
		if (zsm_load_relaxed(&zs->shrink_stop))
			break;
		pthread_mutex_unlock(&zs->shrink_lock);

		/* Clear before the pass: a store that hits the limit during the pass asks
		 * for one more. */
		zsm_store_relaxed(&zs->shrink_requested, false);
		/*
		 * Invalidated entries still waiting in deferred buffers hold pool memory
		 * that is garbage already: release it before writing live pages out.
		 */
		if (zs->deferred && over_accept(zs))
			zs_deferred_flush(zs->pool);
		if (buf && shrink(zs, buf, true, 0) == 0 && over_accept(zs)) {
			struct timespec until;

			zs_compact(zs->pool);
			/*
			 * Stuck (no backing file, failing writes): every refused store asks
			 * again, so back off before the next pass instead of decompressing
			 * and failing in a loop. Only a stop cuts the pause short.
			 */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += ZSWAP_STUCK_BACKOFF_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&zs->shrink_lock);
			while (!zsm_load_relaxed(&zs->shrink_stop) &&
			       pthread_cond_timedwait(&zs->shrink_cond, &zs->shrink_lock,
						      &until) != ETIMEDOUT)
				;
		} else {
			if (buf && over_accept(zs))
				zs_compact(zs->pool);
			pthread_mutex_lock(&zs->shrink_lock);
		}
		/* A request made during the pass is honoured at the top of the loop. */
	}
	pthread_mutex_unlock(&zs->shrink_lock);
	free(buf);
	return NULL;
}


ZS_API uint64_t zswap_writeback(struct zswap *zs, uint64_t nr_pages)
{
	void *buf;
	uint64_t done;

	if (!zs || !nr_pages)
		return 0;
	buf = aligned_alloc(ZSM_PAGE_SIZE, ZSM_PAGE_SIZE);
	if (!buf)
		return 0;
	done = shrink(zs, buf, false, nr_pages);
	free(buf);
	return done;
}
