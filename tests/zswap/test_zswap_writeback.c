/* SPDX-License-Identifier: MIT */
/*
 * Writeback to the swap file: the coldest entries go first, referenced (fresh) entries
 * get a second chance, the file holds exactly the page at offset * 4096, and a load of a
 * written-back slot answers -ENOENT. Then the background shrinker under a pool limit:
 * every page is either still cached or in the file (the test plays the swap core and
 * writes rejected pages to the file itself), and the pool ends below the threshold.
 */
#define _GNU_SOURCE
#include <time.h>

#include "zswap_test_util.h"

static void sync_writeback(void)
{
	struct zswap_config cfg = { .max_pool_bytes = 64ull << 20 };
	unsigned char in[PG], out[PG];
	struct zswap_stats st;
	struct zswap *zs = t_zswap(&cfg);
	int fd = t_backing_file(128);
	uint64_t off;

	CHECK(fd >= 0);
	CHECK(zswap_swapon(zs, 2, 128, fd) == 0);
	for (off = 0; off < 64; off++) {
		t_vpage(in, off, 1, (unsigned)off % 5);
		CHECK(zswap_store(zs, 2, off, in) == 0);
	}
	/* Everything is referenced: one turn clears the bits, then the 16 oldest go. */
	CHECK(zswap_writeback(zs, 16) == 16);
	st = t_stats(zs);
	CHECK(st.written_back_pages == 16);
	CHECK(st.stored_pages == 48);

	/* A fresh entry is skipped in favour of the cold ones. */
	t_vpage(in, 100, 1, 1);
	CHECK(zswap_store(zs, 2, 100, in) == 0);
	CHECK(zswap_writeback(zs, 1) == 1);
	CHECK(zswap_load(zs, 2, 16, out) == -ENOENT);
	CHECK(zswap_load(zs, 2, 100, out) == 0 && !memcmp(in, out, PG));

	for (off = 0; off < 64; off++) {
		int ret = zswap_load(zs, 2, off, out);

		t_vpage(in, off, 1, (unsigned)off % 5);
		if (off <= 16) {
			CHECK(ret == -ENOENT);
			t_read_file_page(fd, off, out);
			CHECKF(!memcmp(in, out, PG), "file page %llu", (unsigned long long)off);
		} else {
			CHECK(ret == 0);
			CHECK(!memcmp(in, out, PG));
		}
	}
	/* Nothing was written where nothing was written back. */
	t_read_file_page(fd, 17, out);
	CHECK(t_page_is_zero(out));
	st = t_stats(zs);
	CHECK(st.stored_pages == 0 && st.pool_total_size == 0);
	CHECK(st.written_back_pages == 17 && st.reject_reclaim_fail == 0);
	zswap_destroy(zs);
	close(fd);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* kind < 0: mixed kinds by offset. */
static unsigned page_kind(int kind, uint64_t off)
{
	return kind < 0 ? (unsigned)off % 5 : (unsigned)kind;
}

static void background_shrinker(int kind, bool deferred)
{
	const uint64_t nr = 1024, extra = 256, limit = 64;
	struct zswap_config cfg = { .max_pool_bytes = limit * PG, .accept_threshold_percent = 50,
				    .shrinker_enabled = true, .deferred_invalidate = deferred };
	unsigned char in[PG], out[PG];
	struct zswap_stats st;
	struct zswap *zs = t_zswap(&cfg);
	int fd = t_backing_file(nr + extra);
	uint64_t off, end, rejected = 0, cached = 0, in_file = 0, t0;
	int ret = 0;

	CHECK(fd >= 0);
	CHECK(zswap_swapon(zs, 0, nr + extra, fd) == 0);
	for (off = 0; off < nr + extra; off++) {
		t_vpage(in, off, 1, page_kind(kind, off));
		ret = zswap_store(zs, 0, off, in);
		if (ret == -ENOSPC) {
			/* The swap core writes a rejected page to the device itself. */
			CHECK(pwrite(fd, in, PG, (off_t)(off * PG)) == (ssize_t)PG);
			rejected++;
		} else {
			CHECKF(ret == 0, "store: %d", ret);
		}
		/*
		 * The shrinker only runs when a store is refused; the pool may rest anywhere
		 * below the limit otherwise. End on a refusal so that a pass is due.
		 */
		if (off >= nr && ret == -ENOSPC)
			break;
	}
	CHECK(ret == -ENOSPC);
	end = off + 1;
	/* Wait for that pass to bring the pool to the accept threshold. */
	t0 = now_ms();
	for (;;) {
		st = t_stats(zs);
		if (st.pool_total_size <= st.accept_pool_bytes || now_ms() - t0 > 10000)
			break;
		usleep(1000);
	}
	st = t_stats(zs);
	CHECKF(st.pool_total_size <= st.accept_pool_bytes,
	       "kind %d deferred %d: pool %llu > accept %llu, stored %llu, written back %llu",
	       kind, deferred, (unsigned long long)st.pool_total_size,
	       (unsigned long long)st.accept_pool_bytes, (unsigned long long)st.stored_pages,
	       (unsigned long long)st.written_back_pages);
	CHECK(st.written_back_pages > 0);
	CHECK(st.pool_limit_hit > 0);
	CHECK(st.reject_reclaim_fail == 0);
	CHECK(zswap_check(zs) == 0);

	for (off = 0; off < end; off++) {
		ret = zswap_load(zs, 0, off, out);
		t_vpage(in, off, 1, page_kind(kind, off));
		if (ret == -ENOENT) {
			t_read_file_page(fd, off, out);
			in_file++;
		} else {
			CHECKF(ret == 0, "load: %d", ret);
			cached++;
		}
		CHECKF(!memcmp(in, out, PG), "page %llu (%s)", (unsigned long long)off,
		       ret ? "file" : "cache");
	}
	zswap_flush(zs);
	st = t_stats(zs);
	CHECK(cached + in_file == end);
	CHECK(in_file == rejected + st.written_back_pages);
	CHECK(st.stored_pages == 0);
	zswap_destroy(zs);
	close(fd);
}

int main(void)
{
	sync_writeback();
	background_shrinker(3, false);
	background_shrinker(-1, false);
	background_shrinker(-1, true);
	return T_PASS;
}
