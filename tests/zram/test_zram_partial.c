/* SPDX-License-Identifier: MIT */
/*
 * zram_write_partial: sub-page writes at any offset and length read, modify and write
 * the page; empty, discarded and notified slots start from zeros; a NULL buffer writes
 * zeros; a page made uniform becomes same-filled; bad ranges fail with -EINVAL, a write
 * over mem_limit with -ENOMEM leaving the old page.
 */
#include "zram_test_util.h"

#define N	64

static unsigned char model[N][4096];

static void check_all(struct zram *z)
{
	unsigned char out[4096];

	for (uint32_t i = 0; i < N; i++) {
		CHECK(zram_read_page(z, i, out) == 0);
		CHECKF(!memcmp(out, model[i], 4096), "slot %u differs from the model", i);
	}
}

int main(void)
{
	static unsigned char page[4096], buf[4096];
	unsigned long long seed = 42;
	struct zram_slot_info si;
	struct zram_mm_stat mm;
	struct zram *z = zt_create("lz4", 0, N, ZRAM_FREE_PERCPU_GROUPED);

	/* Half the slots hold pages, half are empty. */
	for (uint32_t i = 0; i < N; i += 2) {
		zpg_fill(model[i], 3, i, 10, 0);
		CHECK(zram_write_page(z, i, model[i]) == 0);
	}
	check_all(z);

	/* Random sub-page writes, zero writes included, against the model. */
	for (int k = 0; k < 4000; k++) {
		uint32_t i = (uint32_t)(t_rand(&seed) % N);
		uint32_t off = (uint32_t)(t_rand(&seed) % 4096);
		uint32_t len = (uint32_t)(t_rand(&seed) % (4097 - off));
		bool zero = t_rand(&seed) % 5 == 0;

		for (uint32_t b = 0; b < len; b++)
			buf[b] = (unsigned char)t_rand(&seed);
		CHECK(zram_write_partial(z, i, off, zero ? NULL : buf, len) == 0);
		if (zero)
			memset(model[i] + off, 0, len);
		else
			memcpy(model[i] + off, buf, len);
	}
	check_all(z);
	zt_check_stats(z);

	/* Empty, discarded and notified slots start from zeros. */
	CHECK(zram_discard(z, 1, 1) == 0);
	zram_slot_free_notify(z, 3);		/* may still be pending: must read as zeros */
	for (uint32_t i = 1; i <= 3; i += 2) {
		memset(model[i], 0, 4096);
		CHECK(zram_write_partial(z, i, 4000, "abc", 3) == 0);
		memcpy(model[i] + 4000, "abc", 3);
	}
	zram_flush(z);
	check_all(z);

	/* A page made uniform by a partial write is stored same-filled. */
	memset(page, 0x5a, 4096);
	page[100] = 1;
	CHECK(zram_write_page(z, 5, page) == 0);
	CHECK(zram_write_partial(z, 5, 100, "\x5a", 1) == 0);
	CHECK(zram_get_slot_info(z, 5, &si) == 0 && si.same);
	memset(model[5], 0x5a, 4096);
	CHECK(zram_write_partial(z, 7, 0, NULL, 4096) == 0);
	CHECK(zram_get_slot_info(z, 7, &si) == 0 && si.same && si.value == 0);
	memset(model[7], 0, 4096);
	check_all(z);

	/* Bad ranges. A zero-length write at the end is valid and changes nothing. */
	CHECK(zram_write_partial(z, N, 0, buf, 1) == -EINVAL);
	CHECK(zram_write_partial(z, 0, 4096, buf, 1) == -EINVAL);
	CHECK(zram_write_partial(z, 0, 4097, buf, 0) == -EINVAL);
	CHECK(zram_write_partial(z, 0, 1, buf, 4096) == -EINVAL);
	CHECK(zram_write_partial(z, 0, 4096, buf, 0) == 0);
	check_all(z);

	/* Over mem_limit: -ENOMEM, and the old page stays. Fill incompressible pages
	 * (one pool page each) until the limit bites. */
	zram_get_mm_stat(z, &mm);
	zram_set_mem_limit(z, mm.mem_used_total + 4 * 4096);
	{
		uint32_t i;
		int ret = 0;

		for (i = 8; i < N && !ret; i++) {
			zpg_fill(page, 9, i, 100, 0);
			ret = zram_write_page(z, i, page);
			if (!ret)
				memcpy(model[i], page, 4096);
		}
		CHECK(ret == -ENOMEM);
		zpg_fill(buf, 10, 0, 100, 0);
		for (i = 8; i < N; i++)
			if (zram_write_partial(z, i, 1, buf, 4095) == -ENOMEM)
				break;
			else
				memcpy(model[i] + 1, buf, 4095);
		CHECK(i < N);
	}
	check_all(z);
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
