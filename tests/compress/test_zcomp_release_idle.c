/* SPDX-License-Identifier: MIT */
/*
 * zcomp_release_idle() frees the states of exited threads, and only those: the states
 * of threads still compressing stay theirs (they keep compressing, round trips hold),
 * a freed state is never handed out again nor freed twice by zcomp_destroy() (ASan),
 * and releases run beside threads that come, compress and go (TSan).
 */
#include <pthread.h>
#include <string.h>

#include "common/atomics.h"
#include "compress/zcomp.h"
#include "zsmem_test.h"

#define THREADS 4

struct arg {
	struct zcomp *c;
	unsigned int seed;
	unsigned int rounds;
	bool *stop;		/* NULL: run rounds, else until *stop (zsm_* atomics) */
	pthread_barrier_t *met;	/* non-NULL: wait there after the first page, so that
				 * every thread holds a state of its own */
};

static void *worker(void *p)
{
	struct arg *a = p;
	unsigned char page[4096], out[4096], dst[8192];

	for (unsigned int i = 0; a->stop ? !zsm_load_relaxed(a->stop) : i < a->rounds; i++) {
		size_t n;

		t_fill_page(page, i, a->seed * 7919u + i);
		n = zcomp_compress(a->c, page, 4096, dst, sizeof(dst));
		if (!n || zcomp_decompress(a->c, dst, n, out, 4096) || memcmp(page, out, 4096))
			return (void *)1;
		if (i == 0 && a->met)
			pthread_barrier_wait(a->met);
	}
	return NULL;
}

/* THREADS threads, all alive at once (each with a state), compress 50 pages and exit. */
static void run_and_exit(struct zcomp *c, unsigned int seed)
{
	pthread_t t[THREADS];
	struct arg args[THREADS];
	pthread_barrier_t met;
	void *ret;

	CHECK(pthread_barrier_init(&met, NULL, THREADS) == 0);
	for (unsigned int i = 0; i < THREADS; i++) {
		args[i] = (struct arg){ c, seed + i, 50, NULL, &met };
		CHECK(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
	}
	for (unsigned int i = 0; i < THREADS; i++) {
		CHECK(pthread_join(t[i], &ret) == 0);
		CHECK(ret == NULL);
	}
	pthread_barrier_destroy(&met);
}

int main(void)
{
	static const char *names[] = { "zstd", "lzo", "lz4hc", "lz4" };
	/* lz4 compresses with a state on the stack: no per-thread state to release. */
	static const unsigned int states[] = { THREADS, THREADS, THREADS, 0 };

	CHECK(zcomp_release_idle(NULL) == 0);
	for (unsigned int a = 0; a < 4; a++) {
		struct zcomp *c = zcomp_create(names[a], 0);
		struct arg self = { c, 99, 10, NULL, NULL };
		pthread_t busy, churn;
		struct arg busy_arg, churn_arg;
		bool stop = false;
		void *ret;

		CHECK(c);
		CHECK(zcomp_release_idle(c) == 0);
		CHECK(worker(&self) == NULL);		/* the main thread's own state */
		run_and_exit(c, 1);
		CHECKF(zcomp_release_idle(c) == states[a], "%s: exited threads' states", names[a]);
		CHECK(zcomp_release_idle(c) == 0);	/* nothing parked is left */
		CHECK(worker(&self) == NULL);		/* the main thread's state was kept */
		run_and_exit(c, 11);			/* new states are made */
		CHECK(zcomp_release_idle(c) == states[a]);

		/* Releases beside a thread that keeps its state and threads that come and go. */
		busy_arg = (struct arg){ c, 21, 0, &stop, NULL };
		CHECK(pthread_create(&busy, NULL, worker, &busy_arg) == 0);
		churn_arg = (struct arg){ c, 31, 5, NULL, NULL };
		for (unsigned int r = 0; r < 40; r++) {
			CHECK(pthread_create(&churn, NULL, worker, &churn_arg) == 0);
			zcomp_release_idle(c);
			CHECK(pthread_join(churn, &ret) == 0);
			CHECK(ret == NULL);
		}
		zsm_store_relaxed(&stop, true);
		CHECK(pthread_join(busy, &ret) == 0);
		CHECK(ret == NULL);
		/* The last churn thread and busy parked theirs (a release may have freed some
		 * of the churn states already): at most 2 left. */
		CHECK(zcomp_release_idle(c) <= 2);
		run_and_exit(c, 41);			/* parked states left unreleased: destroy frees them */
		zcomp_destroy(c);
	}
	return T_PASS;
}
