/* SPDX-License-Identifier: MIT */
/*
 * Statistics, and zswap_check(), which recounts the invariants of zswap_internal.h.
 */
#include <errno.h>
#include <string.h>

#include "zswap_internal.h"

ZS_API void zswap_get_stats(struct zswap *zs, struct zswap_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!zs)
		return;
	st->pool_limit_hit = zsm_load_relaxed(&zs->c.pool_limit_hit);
	st->reject_reclaim_fail = zsm_load_relaxed(&zs->c.reject_reclaim_fail);
	st->reject_alloc_fail = zsm_load_relaxed(&zs->c.reject_alloc_fail);
	st->reject_compress_fail = zsm_load_relaxed(&zs->c.reject_compress_fail);
	st->reject_compress_poor = zsm_load_relaxed(&zs->c.reject_compress_poor);
	st->decompress_fail = zsm_load_relaxed(&zs->c.decompress_fail);
	st->written_back_pages = zsm_load_relaxed(&zs->c.written_back_pages);
	st->pool_total_size = (uint64_t)zs_get_total_pages(zs->pool) * ZSM_PAGE_SIZE;
	st->stored_pages = zsm_load_relaxed(&zs->c.stored_pages);
	st->stored_incompressible_pages = zsm_load_relaxed(&zs->c.stored_incompressible_pages);
	st->zero_pages = zsm_load_relaxed(&zs->c.zero_pages);
	st->reject_pool_full = zsm_load_relaxed(&zs->c.reject_pool_full);
	st->deferred_invalidates = zsm_load_relaxed(&zs->c.deferred_invalidates);
	st->max_pool_bytes = zs->max_pages * ZSM_PAGE_SIZE;
	st->accept_pool_bytes = zs->accept_pages * ZSM_PAGE_SIZE;
}

ZS_API void zswap_print_stats(struct zswap *zs, FILE *out)
{
	struct zswap_stats st;

	zswap_get_stats(zs, &st);
#define P(f) fprintf(out, "%s %llu\n", #f, (unsigned long long)st.f)
	P(pool_limit_hit);
	P(reject_reclaim_fail);
	P(reject_alloc_fail);
	P(reject_compress_fail);
	P(reject_compress_poor);
	P(decompress_fail);
	P(written_back_pages);
	P(pool_total_size);
	P(stored_pages);
	P(stored_incompressible_pages);
	P(zero_pages);
	P(reject_pool_full);
	P(deferred_invalidates);
	P(max_pool_bytes);
	P(accept_pool_bytes);
#undef P
}

/*
 * Invariants, recounted after a flush with wb_mutex (no writeback, no swapoff) and
 * lru_lock (no drain) held. Stores, loads and invalidates must not be in flight: they
 * are the only other writers of the slots, so the slots are read without their locks
 * (taking all 256 stripe locks of every table would also trip sanitizers' lock limits).
 *
 *   every published entry sits at slots[e->offset] of table e->type, is on the LRU and
 *   is not pinned; an offset has an entry or a zero bit, not both;
 *   lru_nr == |LRU| == published + awaiting a deferred free (so >= published);
 *   stored_pages == |LRU| + zero bits; zero_pages == zero bits;
 *   stored_incompressible_pages == raw entries on the LRU.
 */
ZS_API int zswap_check(struct zswap *zs)
{
	uint64_t lru = 0, raw = 0, published = 0, zeros = 0, bad = 0;
	struct zswap_tree *trees[ZSWAP_MAX_TYPES];
	struct zsm_list *n;

#define BAD(...) do { fprintf(stderr, "zswap_check: " __VA_ARGS__); fputc('\n', stderr); \
		      bad++; } while (0)
	/* Pending deferred frees would be on the LRU yet half-counted mid-drain. */
	zswap_flush(zs);
	pthread_mutex_lock(&zs->wb_mutex);
	for (unsigned int type = 0; type < ZSWAP_MAX_TYPES; type++)
		trees[type] = tree_get(zs, type);
	pthread_mutex_lock(&zs->lru_lock);

	for (n = zs->lru.next; n != &zs->lru; n = n->next) {
		struct zswap_entry *e = zsm_list_entry(n, struct zswap_entry, lru);

		e->seen = true;
		lru++;
		raw += entry_is_raw(e);
		if (n->next->prev != n)
			BAD("LRU links broken at entry %p", (void *)e);
		if (lru > zsm_load_relaxed(&zs->lru_nr) + 1000000)
			break;		/* a cycle: stop walking */
	}
	for (unsigned int type = 0; type < ZSWAP_MAX_TYPES; type++) {
		struct zswap_tree *t = trees[type];

		for (uint64_t off = 0; t && off < t->nr_pages; off++) {
			struct zswap_entry *e = t->slots[off];

			if (zero_test(t, off)) {
				zeros++;
				if (e)
					BAD("type %u offset %llu: entry and zero bit", type,
					    (unsigned long long)off);
			}
			if (!e)
				continue;
			published++;
			if (e->type != type || e->offset != off)
				BAD("type %u offset %llu: entry says %u/%llu", type,
				    (unsigned long long)off, e->type, (unsigned long long)e->offset);
			if (!e->seen)
				BAD("type %u offset %llu: published entry not on the LRU", type,
				    (unsigned long long)off);
			if (e->writeback)
				BAD("type %u offset %llu: still pinned by writeback", type,
				    (unsigned long long)off);
		}
	}
	for (n = zs->lru.next; n != &zs->lru && lru; n = n->next)
		zsm_list_entry(n, struct zswap_entry, lru)->seen = false;

	if (lru != zsm_load_relaxed(&zs->lru_nr))
		BAD("lru_nr %llu, LRU holds %llu", (unsigned long long)zsm_load_relaxed(&zs->lru_nr),
		    (unsigned long long)lru);
	if (published > lru)
		BAD("%llu published entries, %llu on the LRU", (unsigned long long)published,
		    (unsigned long long)lru);
	if (zsm_load_relaxed(&zs->c.stored_pages) != lru + zeros)
		BAD("stored_pages %llu, entries %llu + zero pages %llu",
		    (unsigned long long)zsm_load_relaxed(&zs->c.stored_pages), (unsigned long long)lru,
		    (unsigned long long)zeros);
	if (zsm_load_relaxed(&zs->c.zero_pages) != zeros)
		BAD("zero_pages %llu, zero bits %llu",
		    (unsigned long long)zsm_load_relaxed(&zs->c.zero_pages), (unsigned long long)zeros);
	if (zsm_load_relaxed(&zs->c.stored_incompressible_pages) != raw)
		BAD("stored_incompressible_pages %llu, raw entries %llu",
		    (unsigned long long)zsm_load_relaxed(&zs->c.stored_incompressible_pages),
		    (unsigned long long)raw);

	pthread_mutex_unlock(&zs->lru_lock);
	pthread_mutex_unlock(&zs->wb_mutex);
#undef BAD
	return bad ? -EUCLEAN : 0;
}

ZS_API struct zs_pool *zswap_pool(struct zswap *zs)
{
	return zs ? zs->pool : NULL;
}
