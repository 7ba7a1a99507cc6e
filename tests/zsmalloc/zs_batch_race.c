/* SPDX-License-Identifier: MIT */
/*
 * zs_free_batch() racing with compaction, plain zs_free() and readers: threads fill
 * objects with known bytes, free most of them in batches of 512 (in order, shuffled,
 * with zero entries) or one by one, while a compactor moves objects under them; the
 * survivors must keep their bytes, the invariants must hold, every page must go back.
 * argv[1] (optional): pool flags, to run the same with the legacy pool lock (1) or
 * the deferred zspage release (2).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define THREADS	3
#define OBJS	12000
#define ROUNDS	6

static struct zs_pool *pool;
static atomic_bool stop;

struct obj {
	unsigned long h;
	unsigned int len;
	unsigned char tag;
};

static void check_obj(const struct obj *o)
{
	unsigned char buf[4096];

	zs_obj_read(pool, o->h, buf, o->len);
	for (unsigned int k = 0; k < o->len; k++)
		CHECKF(buf[k] == (unsigned char)(o->tag + k), "object %#lx byte %u", o->h, k);
}

static void *compactor(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		zs_compact(pool);
	return NULL;
}

static void *worker(void *arg)
{
	unsigned long long s = (unsigned long long)(uintptr_t)arg * 7919 + 1;
	static _Thread_local struct obj o[OBJS];
	static _Thread_local unsigned long batch[OBJS];
	unsigned char buf[4096];

	for (int round = 0; round < ROUNDS; round++) {
		size_t i, n = 0;

		for (i = 0; i < OBJS; i++) {
			o[i].len = 1 + (unsigned int)(t_rand(&s) % 3700);
			if (t_rand(&s) % 30 == 0)
				o[i].len = 4096;
			o[i].tag = (unsigned char)t_rand(&s);
			for (unsigned int k = 0; k < o[i].len; k++)
				buf[k] = (unsigned char)(o[i].tag + k);
			o[i].h = zs_malloc(pool, o[i].len);
			CHECK(o[i].h);
			zs_obj_write(pool, o[i].h, buf, o[i].len);
		}
		/* Two thirds go: in order, or shuffled on odd rounds; some one by one. */
		for (i = 0; i < OBJS; i++) {
			if (i % 3 == 2)
				continue;
			if (i % 17 == 0) {
				zs_free(pool, o[i].h);
			} else {
				batch[n++] = o[i].h;
				if (i % 101 == 0)
					batch[n++] = 0;
			}
			o[i].h = 0;
		}
		if (round % 2)
			for (i = n; i > 1; i--) {
				size_t j = (size_t)(t_rand(&s) % i);
				unsigned long t = batch[j];

				batch[j] = batch[i - 1];
				batch[i - 1] = t;
			}
		for (i = 0; i < n; i += 512) {
			zs_free_batch(pool, batch + i, n - i < 512 ? n - i : 512);
			check_obj(&o[(i / 512 * 3 + 2) % OBJS]);	/* a survivor */
		}
		for (i = 2; i < OBJS; i += 3)
			check_obj(&o[i]);
		for (i = 2, n = 0; i < OBJS; i += 3)
			batch[n++] = o[i].h;
		zs_free_batch(pool, batch, n);
	}
	return NULL;
}

/* argv[1]: pool flags (1: ZS_POOL_LEGACY_LOCK, 2: ZS_POOL_DEFER_ZSPAGE_FREE). */
int main(int argc, char **argv)
{
	struct zs_pool_config cfg = { 0 };
	pthread_t t[THREADS], c;

	if (argc > 1)
		cfg.flags = (unsigned int)strtoul(argv[1], NULL, 0);
	pool = zs_create_pool_ex("batch_race", &cfg);
	CHECK(pool);
	CHECK(pthread_create(&c, NULL, compactor, NULL) == 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, true);
	pthread_join(c, NULL);
	CHECK(zs_pool_check(pool) == 0);
	zs_compact(pool);
	/* With ZS_POOL_DEFER_ZSPAGE_FREE the release thread may still hold a few. */
	for (int i = 0; i < 5000 && zs_get_total_pages(pool); i++)
		usleep(1000);
	if (zs_get_total_pages(pool))
		zs_print_stats(pool, stderr);
	CHECKF(zs_get_total_pages(pool) == 0, "%lu pages left", zs_get_total_pages(pool));
	zs_destroy_pool(pool);
	return T_PASS;
}
