// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12): zs_obj_write()/zs_obj_read() with a length past the
 * allocation silently overwrote (or read) the neighbouring object in release builds,
 * and a 1 MiB length ran off the zspage. The slot size is the bound checked in every
 * build: past it, -EINVAL (NULL for zs_obj_read_begin) and nothing copied.
 */
#include <errno.h>
#include <string.h>

#include <zsmem/zsmalloc.h>

#include "zsmem_test.h"

static unsigned int slot_capacity(struct zs_pool *pool, unsigned long h)
{
	struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
	unsigned int n = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS), cls = zs_handle_class(pool, h);

	for (unsigned int i = 0; i < n; i++)
		if (rows[i].index == cls)
			return rows[i].size - (rows[i].size >= ZS_PAGE_SIZE ? 0 : ZS_OBJ_HEADER_SIZE);
	CHECKF(0, "class %u not found", cls);
	return 0;
}

int main(void)
{
	static unsigned char big[1 << 20], out[1 << 20], ref[4096];
	struct zs_pool *pool = zs_create_pool("len");
	unsigned long a, b, h;
	unsigned int cap;
	const void *p;

	CHECK(pool);
	/* Two neighbours of one class: b follows a in the zspage. */
	a = zs_malloc(pool, 100);
	b = zs_malloc(pool, 100);
	CHECK(a && b);
	cap = slot_capacity(pool, a);
	CHECKF(cap >= 100 && cap < 200, "capacity %u", cap);
	memset(ref, 0xb5, sizeof(ref));
	CHECK(zs_obj_write(pool, b, ref, 100) == 0);

	memset(big, 0x11, sizeof(big));
	CHECK(zs_obj_write(pool, a, big, cap) == 0);		/* the whole slot: fine */
	CHECK(zs_obj_write(pool, a, big, cap + 1) == -EINVAL);
	CHECK(zs_obj_write(pool, a, big, sizeof(big)) == -EINVAL);	/* 1 MiB */
	CHECK(zs_obj_read(pool, a, out, sizeof(out)) == -EINVAL);
	CHECK(zs_obj_read(pool, a, out, cap + 1) == -EINVAL);
	errno = 0;
	CHECK(zs_obj_read_begin(pool, a, sizeof(out), out) == NULL && errno == EINVAL);
	/* Nothing was held by the refused begin: a normal begin/end and compaction work. */
	p = zs_obj_read_begin(pool, a, cap, out);
	CHECK(p && ((const unsigned char *)p)[cap - 1] == 0x11);
	zs_obj_read_end(pool, a, p);
	zs_compact(pool);

	/* The neighbour is untouched. */
	memset(out, 0, 100);
	CHECK(zs_obj_read(pool, b, out, 100) == 0);
	CHECK(!memcmp(out, ref, 100));

	/* The huge class: a whole page, not one byte more. */
	h = zs_malloc(pool, 4096);
	CHECK(h);
	CHECK(zs_obj_write(pool, h, big, 4096) == 0);
	CHECK(zs_obj_write(pool, h, big, 4097) == -EINVAL);
	CHECK(zs_obj_read(pool, h, out, 4096) == 0);
	CHECK(zs_obj_read(pool, h, out, 1 << 20) == -EINVAL);

	zs_free(pool, a);
	zs_free(pool, b);
	zs_free(pool, h);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
	printf("regress_obj_len_past_allocation: ok (slot capacity %u for 100 bytes)\n", cap);
	return T_PASS;
}
