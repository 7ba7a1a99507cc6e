/* SPDX-License-Identifier: MIT */
/*
 * zram_write_partial from several threads at once on the same pages, each thread owning
 * its own bytes of every page: no byte written is ever lost (the read-modify-write runs
 * under the slot lock), while other threads read the pages and notify/rewrite others.
 */
#include <pthread.h>

#include "zram_test_util.h"

#define N		16
#define THREADS		4
#define ROUNDS		3000
#define SPAN		(4096 / THREADS)	/* bytes of each page that a thread owns */

static struct zram *z;
/* What each thread last wrote to its own bytes of each page. */
static unsigned char model[THREADS][N][SPAN];

static void *writer(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg;
	unsigned long long seed = t + 1;

	for (int r = 0; r < ROUNDS; r++) {
		uint32_t i = (uint32_t)(t_rand(&seed) % N);
		uint32_t off = (uint32_t)(t_rand(&seed) % SPAN);
		uint32_t len = 1 + (uint32_t)(t_rand(&seed) % (SPAN - off));
		unsigned char *m = &model[t][i][off];

		/* Fresh values each time: a lost update would leave older ones behind. */
		for (uint32_t b = 0; b < len; b++)
			m[b] = (unsigned char)t_rand(&seed);
		CHECK(zram_write_partial(z, i, t * SPAN + off, m, len) == 0);
		if (r % 64 == 0) {
			unsigned char out[4096];

			CHECK(zram_read_page(z, i, out) == 0);
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t th[THREADS];
	unsigned char out[4096];

	z = zt_create("lz4", 0, N, ZRAM_FREE_PERCPU_GROUPED);
	for (unsigned int t = 0; t < THREADS; t++)
		CHECK(pthread_create(&th[t], NULL, writer, (void *)(uintptr_t)t) == 0);
	for (unsigned int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	/* Bytes never written are zeros in the model (static) and on the device. */
	for (uint32_t i = 0; i < N; i++) {
		CHECK(zram_read_page(z, i, out) == 0);
		for (unsigned int t = 0; t < THREADS; t++)
			CHECKF(!memcmp(out + t * SPAN, model[t][i], SPAN),
			       "slot %u: bytes of thread %u lost", i, t);
	}
	zt_check_stats(z);
	zram_destroy(z);
	return T_PASS;
}
