/* SPDX-License-Identifier: MIT */
/* Statistics stay consistent: sum of obj_used == live objects, sum of pages_used ==
 * zs_get_total_pages, obj_allocated == zspages * objs, pages_used between one and
 * pages_per_zspage per zspage, freeable by its formula, fullness
 * groups add up; zs_print_stats prints one row per class and a total. */
#include <stdlib.h>
#include <string.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define N 20000

static unsigned long h[N];

static void check(struct zs_pool *pool, unsigned long live)
{
	struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
	unsigned int n = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);
	unsigned long used = 0, pages = 0, alloc = 0, zspages = 0;
	struct zs_pool_stats st;

	for (unsigned int i = 0; i < n; i++) {
		const struct zs_class_stats *r = &rows[i];
		unsigned long zp = 0;

		for (unsigned int g = 0; g < ZS_NR_FULLNESS; g++)
			zp += r->fullness[g];
		CHECK(r->fullness[0] == 0);	/* empty zspages are released at once */
		CHECK(r->obj_allocated == zp * r->objs_per_zspage);
		/* Elastic zspages: from one page each up to pages_per_zspage each. */
		CHECK(r->pages_used >= zp && r->pages_used <= zp * r->pages_per_zspage);
		CHECK(r->obj_used <= r->obj_allocated);
		CHECK(r->freeable == (r->obj_allocated - r->obj_used) / r->objs_per_zspage *
				     r->pages_per_zspage);
		used += r->obj_used;
		pages += r->pages_used;
		alloc += r->obj_allocated;
		zspages += zp;
	}
	zs_pool_stats(pool, &st);
	CHECKF(used == live, "obj_used %lu, live %lu", used, live);
	CHECK(pages == zs_get_total_pages(pool) && st.total_pages == pages);
	CHECK(st.objs_used == live && st.objs_allocated == alloc && st.zspages == zspages);
	CHECK(st.meta_bytes > 0);
	CHECK(zs_pool_check(pool) == 0);
}

int main(void)
{
	struct zs_pool *pool = zs_create_pool("stats");
	unsigned long long s = 3;
	unsigned long live = 0, i;
	char *text = NULL;
	size_t textlen = 0;
	FILE *mem;
	int lines = 0;

	CHECK(pool);
	check(pool, 0);
	for (i = 0; i < N; i++) {
		h[i] = zs_malloc(pool, 1 + t_rand(&s) % 4096);
		CHECK(h[i]);
		live++;
	}
	check(pool, live);
	for (i = 0; i < N; i += 3) {
		zs_free(pool, h[i]);
		h[i] = 0;
		live--;
	}
	check(pool, live);
	zs_compact(pool);
	check(pool, live);

	mem = open_memstream(&text, &textlen);
	CHECK(mem);
	zs_print_stats(pool, mem);
	fclose(mem);
	for (size_t k = 0; k < textlen; k++)
		lines += text[k] == '\n';
	{
		struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
		unsigned int nc = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);

		CHECK(nc == 119);	/* chain 8, the kernel's table: see zs_classes */
		CHECKF(lines == (int)nc + 2, "%d lines for %u classes", lines, nc);
	}
	CHECK(strstr(text, "obj_allocated") && strstr(text, "freeable") && strstr(text, "Total"));
	free(text);

	for (i = 0; i < N; i++)
		zs_free(pool, h[i]);
	check(pool, 0);
	zs_destroy_pool(pool);
	return T_PASS;
}
