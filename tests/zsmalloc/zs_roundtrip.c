/* SPDX-License-Identifier: MIT */
/* Round trip of every size 1..4096 (chains 4, 8, 16): write a pattern, read it back with
 * zs_obj_read and zs_obj_read_begin/end (straddling objects come back in the copy),
 * zs_pool_check, free in a random order, and every page goes back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define MAXSZ 4096

static void fill(unsigned char *p, size_t len, unsigned long long seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7 + (i >> 8));
}

static void run(unsigned int chain)
{
	struct zs_pool_config cfg = { .chain_size = chain };
	struct zs_pool *pool = zs_create_pool_ex("roundtrip", &cfg);
	static unsigned long h[MAXSZ + 1];
	static unsigned char want[MAXSZ], got[MAXSZ], copy[MAXSZ];
	unsigned long long s = 42;
	unsigned long copies = 0, direct = 0;
	struct zs_pool_stats st;
	size_t size;

	CHECK(pool);
	for (size = 1; size <= MAXSZ; size++) {
		h[size] = zs_malloc(pool, size);
		CHECKF(h[size], "size %zu: errno %d", size, errno);
		fill(want, size, size);
		zs_obj_write(pool, h[size], want, size);
	}
	CHECK(zs_pool_check(pool) == 0);
	for (size = 1; size <= MAXSZ; size++) {
		const unsigned char *p;

		fill(want, size, size);
		memset(got, 0, size);
		zs_obj_read(pool, h[size], got, size);
		CHECKF(!memcmp(want, got, size), "chain %u size %zu: zs_obj_read mismatch",
		       chain, size);
		p = zs_obj_read_begin(pool, h[size], size, copy);
		CHECKF(!memcmp(want, p, size), "chain %u size %zu: read_begin mismatch", chain,
		       size);
		if (p == copy)
			copies++;
		else
			direct++;
		zs_obj_read_end(pool, h[size], p);
		CHECK(zs_handle_class(pool, h[size]) < ZS_NR_SIZE_SLOTS);
		if (size >= zs_huge_class_size(pool))
			CHECK(zs_handle_class(pool, h[size]) == ZS_NR_SIZE_SLOTS - 1);
		else
			CHECK(zs_handle_class(pool, h[size]) < ZS_NR_SIZE_SLOTS - 1);
	}
	CHECKF(copies > 0 && direct > 0, "copies %lu direct %lu", copies, direct);
	zs_pool_stats(pool, &st);
	CHECK(st.objs_used == MAXSZ);
	CHECK(st.total_pages == zs_get_total_pages(pool) && st.total_pages > 0);
	/* Free in a random order, checking a survivor now and then. */
	for (size = MAXSZ; size > 1; size--) {
		size_t j = 1 + t_rand(&s) % size;
		unsigned long t = h[j];

		h[j] = h[size];
		h[size] = t;
	}
	for (size = 1; size <= MAXSZ; size++) {
		zs_free(pool, h[size]);
		if (size % 512 == 0)
			CHECK(zs_pool_check(pool) == 0);
	}
	CHECK(zs_pool_check(pool) == 0);
	CHECK(zs_get_total_pages(pool) == 0);
	zs_destroy_pool(pool);
}

int main(void)
{
	run(8);
	run(4);
	run(16);
	return T_PASS;
}
