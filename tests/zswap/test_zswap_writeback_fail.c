/* SPDX-License-Identifier: MIT */
/*
 * A writeback that cannot write (read-only file, no backing file) leaves the entry
 * cached and counts reject_reclaim_fail; the shrinker gives up instead of spinning and
 * the cache keeps working.
 */
#define _GNU_SOURCE
#include <fcntl.h>

#include "zswap_test_util.h"

static int readonly_fd(void)
{
	char path[] = "/tmp/zswap-ro-XXXXXX";
	int fd = mkstemp(path), ro;

	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 64 * PG) == 0);
	ro = open(path, O_RDONLY);
	unlink(path);
	close(fd);
	CHECK(ro >= 0);
	return ro;
}

static void check_all_cached(struct zswap *zs, unsigned type, uint64_t nr)
{
	unsigned char in[PG], out[PG];

	for (uint64_t off = 0; off < nr; off++) {
		t_vpage(in, off, 1, (unsigned)off % 3);
		CHECKF(zswap_load(zs, type, off, out) == 0, "offset %llu", (unsigned long long)off);
		CHECK(!memcmp(in, out, PG));
	}
}

int main(void)
{
	struct zswap_config cfg = { .max_pool_bytes = 64ull << 20 };
	unsigned char in[PG];
	struct zswap_stats st;
	struct zswap *zs = t_zswap(&cfg);
	int ro = readonly_fd();
	uint64_t off;

	CHECK(zswap_swapon(zs, 0, 64, ro) == 0);
	CHECK(zswap_swapon(zs, 1, 64, -1) == 0);
	for (off = 0; off < 16; off++) {
		t_vpage(in, off, 1, (unsigned)off % 3);
		CHECK(zswap_store(zs, 0, off, in) == 0);
		CHECK(zswap_store(zs, 1, off, in) == 0);
	}
	CHECK(zswap_writeback(zs, 4) == 0);
	st = t_stats(zs);
	CHECK(st.reject_reclaim_fail > 0);
	CHECK(st.written_back_pages == 0);
	CHECK(st.stored_pages == 32);
	CHECK(zswap_check(zs) == 0);
	check_all_cached(zs, 0, 16);
	check_all_cached(zs, 1, 16);
	zswap_destroy(zs);

	/* The background shrinker against a read-only file. */
	cfg.max_pool_bytes = 16 * PG;
	cfg.shrinker_enabled = true;
	zs = t_zswap(&cfg);
	CHECK(zswap_swapon(zs, 0, 64, ro) == 0);
	for (off = 0; off < 64; off++) {
		int ret;

		t_vpage(in, off, 1, 3);
		ret = zswap_store(zs, 0, off, in);
		CHECK(ret == 0 || ret == -ENOSPC);
	}
	/* Give the shrinker a moment to fail. */
	for (int i = 0; i < 2000 && t_stats(zs).reject_reclaim_fail == 0; i++)
		usleep(1000);
	st = t_stats(zs);
	CHECK(st.reject_reclaim_fail > 0);
	CHECK(st.written_back_pages == 0);
	CHECK(st.pool_limit_hit > 0);
	CHECK(st.stored_pages == 16);
	for (off = 0; off < 16; off++) {
		unsigned char out[PG];

		t_vpage(in, off, 1, 3);
		CHECK(zswap_load(zs, 0, off, out) == 0 && !memcmp(in, out, PG));
	}
	zswap_destroy(zs);
	close(ro);
	return T_PASS;
}
