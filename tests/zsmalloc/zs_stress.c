/* SPDX-License-Identifier: MIT */
/* Threads allocate, write, read (copy and zero-copy) and free at once while another
 * thread compacts; every object's content is checked. Not a benchmark.
 * Usage: zs_stress [threads] [milliseconds] [legacy(0/1)] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zsmem/lab.h"	/* ZS_POOL_LEGACY_LOCK */
#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define SLOTS 2048

struct worker {
	pthread_t tid;
	unsigned int id;
	unsigned long ops;
};

static struct zs_pool *pool;
static atomic_bool stop;
/* Ops done by all workers; the run lasts at least MIN_OPS of them, however slow the machine. */
#define MIN_OPS 1000ul
static atomic_ulong total_ops;
static atomic_ulong compactions, compacted;

static void stamp(unsigned char *p, size_t len, unsigned int id, unsigned long serial)
{
	for (size_t k = 0; k < len; k++)
		p[k] = (unsigned char)(id * 29 + serial * 13 + k);
}

static void verify(unsigned long h, size_t len, unsigned int id, unsigned long serial,
		   int how)
{
	unsigned char want[4096], got[4096];
	const unsigned char *p;

	stamp(want, len, id, serial);
	if (how) {
		p = zs_obj_read_begin(pool, h, len, got);
		CHECKF(!memcmp(p, want, len), "thread %u: object of %zu bytes corrupt (mapped)",
		       id, len);
		zs_obj_read_end(pool, h, p);
	} else {
		zs_obj_read(pool, h, got, len);
		CHECKF(!memcmp(got, want, len), "thread %u: object of %zu bytes corrupt", id,
		       len);
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	static __thread unsigned long h[SLOTS], serial[SLOTS];
	static __thread unsigned short len[SLOTS];
	unsigned long long s = 0x9e3779b97f4a7c15ull * (w->id + 1);
	unsigned char buf[4096];
	unsigned long n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned int i = (unsigned int)(t_rand(&s) % SLOTS);

		if (h[i]) {
			verify(h[i], len[i], w->id, serial[i], (int)(n & 1));
			if (t_rand(&s) % 4 == 0) {
				/* rewrite in place */
				serial[i] = ++n;
				stamp(buf, len[i], w->id, serial[i]);
				zs_obj_write(pool, h[i], buf, len[i]);
				continue;
			}
			zs_free(pool, h[i]);
			h[i] = 0;
		} else {
			len[i] = (unsigned short)(1 + t_rand(&s) % 4096);
			h[i] = zs_malloc(pool, len[i]);
			CHECK(h[i]);
			serial[i] = ++n;
			stamp(buf, len[i], w->id, serial[i]);
			zs_obj_write(pool, h[i], buf, len[i]);
		}
		w->ops++;
		atomic_fetch_add_explicit(&total_ops, 1, memory_order_relaxed);
	}
	for (unsigned int i = 0; i < SLOTS; i++) {
		if (h[i]) {
			verify(h[i], len[i], w->id, serial[i], 0);
			zs_free(pool, h[i]);
			h[i] = 0;
		}
	}
	return NULL;
}

static void *compactor(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		atomic_fetch_add(&compacted, zs_compact(pool));
		atomic_fetch_add(&compactions, 1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned int nthreads = argc > 1 ? (unsigned int)atoi(argv[1]) : 4;
	unsigned int ms = argc > 2 ? (unsigned int)atoi(argv[2]) : 1500;
	struct zs_pool_config cfg = { 0 };
	struct worker w[16];
	struct timespec ts;
	pthread_t ct;
	unsigned long ops = 0;

	if (argc > 3 && atoi(argv[3]))
		cfg.flags |= ZS_POOL_LEGACY_LOCK;
	if (nthreads < 1 || nthreads > 16)
		nthreads = 4;
	pool = zs_create_pool_ex("stress", &cfg);
	CHECK(pool);
	for (unsigned int i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].ops = 0;
		CHECK(pthread_create(&w[i].tid, NULL, work, &w[i]) == 0);
	}
	CHECK(pthread_create(&ct, NULL, compactor, NULL) == 0);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
	/* The time window is a floor, not a throughput check: a loaded (or TSan) machine
	 * just runs longer until enough operations raced with the compactor. */
	ts.tv_sec = 0;
	ts.tv_nsec = 10 * 1000000;
	while (atomic_load_explicit(&total_ops, memory_order_relaxed) < MIN_OPS)
		nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < nthreads; i++) {
		pthread_join(w[i].tid, NULL);
		ops += w[i].ops;
	}
	pthread_join(ct, NULL);
	printf("%u threads: %lu ops, %lu compactions freed %lu pages\n", nthreads, ops,
	       atomic_load(&compactions), atomic_load(&compacted));
	CHECK(ops >= MIN_OPS);
	CHECK(zs_pool_check(pool) == 0);
	CHECK(zs_get_total_pages(pool) == 0);
	zs_destroy_pool(pool);
	return T_PASS;
}
