// SPDX-License-Identifier: MIT
/*
 * zsr_destroy with pages evicted, resident, removed and never touched, with and without
 * deferred free: every compressed copy is freed (the ASan stage's leak check sees any
 * copy left behind; here the pool's own accounting is checked before destroy), and
 * zsr_wait_released() returns once the deferred teardowns are done. Several regions at
 * once, destroyed from several threads.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "region_test.h"

#define N 2048

static void *one(void *arg)
{
	bool deferred = (uintptr_t)arg & 1;
	struct zsr_config cfg = { .size = N * PG, .deferred_free = deferred };
	struct zsr_stats st;
	struct zsr *r = t_region(&cfg);
	unsigned char *base = zsr_base(r);

	for (uint64_t i = 0; i < N - 100; i++)
		t_rpage(base + i * PG, i, i + 2 + (uintptr_t)arg);
	CHECK(zsr_reclaim(r, (N - 300) * PG) == (long)(N - 300) * PG);
	/* some refaulted, some removed while evicted */
	for (uint64_t i = 0; i < 50; i++)
		CHECK(t_rpage_diff(base + i * 7 * PG, i * 7, i * 7 + 2 + (uintptr_t)arg) == 0);
	CHECK(madvise(base + 1000 * PG, 64 * PG, MADV_DONTNEED) == 0);
	zsr_get_stats(r, &st);
	CHECK(st.evicted_pages > 1000 && st.pool_pages > 0);
	CHECK(st.dropped_pages > 0);
	zsr_destroy(r);
	return NULL;
}

int main(void)
{
	pthread_t t[4];

	one((void *)0);
	one((void *)1);
	zsr_wait_released();
	for (uintptr_t k = 0; k < 4; k++)
		CHECK(pthread_create(&t[k], NULL, one, (void *)k) == 0);
	for (int k = 0; k < 4; k++)
		pthread_join(t[k], NULL);
	zsr_wait_released();
	zsr_destroy(NULL);
	return T_PASS;
}
