/* SPDX-License-Identifier: MIT */
/* zs_free_batch: mixed classes and zero entries are freed correctly (array reordered,
 * survivors intact, every page back), and batches mixed with zs_free() one by one over
 * a shuffled pool give every page back. Its speed: bench/alloc/zs_batch_speed. */
#include <stdlib.h>
#include <string.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define N 65536

static unsigned long h[N], keep[N];

static struct pair {
	unsigned long h;
	unsigned int cls;
} pairs[N];

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	return x->h < y->h ? -1 : x->h > y->h;
}

static unsigned int class_of(unsigned long handle)
{
	struct pair key = { handle, 0 }, *p = bsearch(&key, pairs, N, sizeof(key), cmp_pair);

	CHECK(p);
	return p->cls;
}

static void fill(struct zs_pool *pool, unsigned long long *s)
{
	for (unsigned long i = 0; i < N; i++) {
		h[i] = zs_malloc(pool, 1 + t_rand(s) % 3000);
		CHECK(h[i]);
	}
}

int main(void)
{
	struct zs_pool *pool = zs_create_pool("batch");
	unsigned long long s = 11;
	unsigned long i, nkeep = 0, v;

	CHECK(pool);
	/* Correctness: every third handle kept, some entries zero. */
	fill(pool, &s);
	for (i = 0; i < N; i++) {
		zs_obj_write(pool, h[i], &i, sizeof(i));
		if (i % 3 == 0) {
			keep[nkeep++] = h[i];
			h[i] = 0;
		}
	}
	for (i = 0; i < N; i++) {
		pairs[i].h = h[i];
		pairs[i].cls = h[i] ? zs_handle_class(pool, h[i]) : 1000;
	}
	qsort(pairs, N, sizeof(pairs[0]), cmp_pair);
	zs_free_batch(pool, h, N);
	for (i = 1; i < N; i++)	/* grouped by class, zeros last */
		CHECK(class_of(h[i - 1]) <= class_of(h[i]));
	CHECK(zs_pool_check(pool) == 0);
	for (i = 0; i < nkeep; i++) {
		zs_obj_read(pool, keep[i], &v, sizeof(v));
		CHECK(v == i * 3);
	}
	zs_free_batch(pool, keep, 1);
	zs_free_batch(pool, keep + 1, nkeep - 1);
	CHECK(zs_pool_check(pool) == 0);
	CHECK(zs_get_total_pages(pool) == 0);

	/* A shuffled half freed one by one, the rest in one batch; then the same in chunks. */
	fill(pool, &s);
	for (i = N; i > 1; i--) {
		unsigned long j = t_rand(&s) % i, t = h[j];

		h[j] = h[i - 1];
		h[i - 1] = t;
	}
	for (i = 0; i < N / 2; i++)
		zs_free(pool, h[i]);
	zs_free_batch(pool, h + N / 2, N - N / 2);
	CHECK(zs_get_total_pages(pool) == 0);
	fill(pool, &s);
	for (i = N; i > 1; i--) {
		unsigned long j = t_rand(&s) % i, t = h[j];

		h[j] = h[i - 1];
		h[i - 1] = t;
	}
	for (i = 0; i < N / 2; i += 512)
		zs_free_batch(pool, h + i, 512);
	zs_free_batch(pool, h + N / 2, N - N / 2);
	CHECK(zs_get_total_pages(pool) == 0);
	zs_destroy_pool(pool);
	return T_PASS;
}
