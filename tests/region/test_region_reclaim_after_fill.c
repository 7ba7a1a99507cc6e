// SPDX-License-Identifier: MIT
/*
 * Regression test: a reclaim right after the application's own touches missed a page.
 * The handler's fill ioctl wakes the faulting thread as it maps the page, and the
 * handler clears the entry's FILLING mark (which keeps evictors off a page whose pte
 * may not exist yet) only afterwards. The woken thread can preempt the handler on its
 * CPU and run on without blocking: a zsr_reclaim of everything then found the last
 * page FILLING in both of the CLOCK's sweeps, and again in every later reclaim until
 * the handler got the CPU back, and returned N - 1 pages (region_basic failed so about
 * one run in six). Here: rounds of "new region, touch every page, reclaim everything".
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "region_test.h"

#define N	512u
#define ROUNDS	100u

int main(void)
{
	for (unsigned k = 0; k < ROUNDS; k++) {
		struct zsr_config cfg;
		struct zsr *r;
		unsigned char *base;
		long got;

		memset(&cfg, 0, sizeof(cfg));
		cfg.size = (size_t)N * PG;
		r = t_region(&cfg);
		base = zsr_base(r);
		for (unsigned i = 0; i < N; i++)
			t_rpage(base + i * PG, i, 2 + (i + k) % 5);
		got = zsr_reclaim(r, (size_t)N * PG);
		CHECKF(got == (long)N * PG, "round %u: reclaim returned %ld of %ld bytes", k, got,
		       (long)N * PG);
		for (unsigned i = 0; i < N; i++)
			CHECKF(t_rpage_diff(base + i * PG, i, 2 + (i + k) % 5) == 0, "page %u", i);
		zsr_destroy(r);
	}
	return 0;
}
