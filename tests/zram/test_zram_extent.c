/* SPDX-License-Identifier: MIT */
/*
 * zram_get_extent: runs of empty (never written, discarded, notified), zero-filled,
 * same-filled and data slots, with their lengths, clamped at disksize.
 */
#include "zram_test_util.h"

#define N	32

static int64_t ext(struct zram *z, uint32_t i, uint32_t nr, enum zram_extent_type *t)
{
	return zram_get_extent(z, i, nr, t);
}

int main(void)
{
	static unsigned char page[4096], out[4096];
	enum zram_extent_type t;
	struct zram *z = zt_create("lz4", 0, N, ZRAM_FREE_PERCPU_GROUPED);

	CHECK(ext(z, 0, N, &t) == N && t == ZRAM_EXTENT_EMPTY);
	CHECK(ext(z, 5, 1000, &t) == N - 5 && t == ZRAM_EXTENT_EMPTY);
	CHECK(ext(z, N, 1, &t) == -EINVAL);
	CHECK(ext(z, 0, 0, &t) == -EINVAL);

	/* 0..3 data, 4..5 zero, 6 same 0x0101..., 7 huge, rest empty. */
	for (uint32_t i = 0; i < 4; i++) {
		zpg_fill(page, 1, i, 10, 0);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	memset(page, 0, 4096);
	CHECK(zram_write_page(z, 4, page) == 0);
	CHECK(zram_write_page(z, 5, page) == 0);
	memset(page, 1, 4096);
	CHECK(zram_write_page(z, 6, page) == 0);
	zpg_fill(page, 2, 7, 100, 0);
	CHECK(zram_write_page(z, 7, page) == 0);

	CHECK(ext(z, 0, N, &t) == 4 && t == ZRAM_EXTENT_DATA);
	CHECK(ext(z, 2, 1, &t) == 1 && t == ZRAM_EXTENT_DATA);
	CHECK(ext(z, 4, N, &t) == 2 && t == ZRAM_EXTENT_ZERO);
	CHECK(ext(z, 6, N, &t) == 1 && t == ZRAM_EXTENT_SAME);
	CHECK(ext(z, 7, N, &t) == 1 && t == ZRAM_EXTENT_DATA);
	CHECK(ext(z, 8, N, &t) == N - 8 && t == ZRAM_EXTENT_EMPTY);

	/* Discard and notify make slots empty at once; a notified slot reads as zeros
	 * whether or not its deferred free has run yet. */
	CHECK(zram_discard(z, 1, 1) == 0);
	zram_slot_free_notify(z, 2);
	CHECK(ext(z, 0, N, &t) == 1 && t == ZRAM_EXTENT_DATA);
	CHECK(ext(z, 1, N, &t) == 2 && t == ZRAM_EXTENT_EMPTY);
	memset(page, 0, 4096);
	memset(out, 0xff, 4096);
	CHECK(zram_read_page(z, 2, out) == 0 && !memcmp(out, page, 4096));
	zram_flush(z);
	CHECK(ext(z, 1, N, &t) == 2 && t == ZRAM_EXTENT_EMPTY);
	CHECK(zram_read_page(z, 2, out) == 0 && !memcmp(out, page, 4096));

	/* Rewriting a notified slot makes it data again. */
	zram_slot_free_notify(z, 3);
	zpg_fill(page, 3, 3, 10, 0);
	CHECK(zram_write_page(z, 3, page) == 0);
	CHECK(ext(z, 3, N, &t) == 1 && t == ZRAM_EXTENT_DATA);
	zram_flush(z);
	CHECK(ext(z, 3, N, &t) == 1 && t == ZRAM_EXTENT_DATA);
	CHECK(zram_read_page(z, 3, out) == 0 && !memcmp(out, page, 4096));
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
