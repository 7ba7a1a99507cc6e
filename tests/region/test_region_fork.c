// SPDX-License-Identifier: MIT
/*
 * fork: the region is MADV_DONTFORK. A child forked while pages are evicted and the
 * background reclaimer runs has no mapping at the region's addresses (msync reports
 * ENOMEM) and exits normally; the parent's pages, evicted ones included, stay exact,
 * before and after the child is gone.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "region_test.h"

#define N 1024

int main(void)
{
	struct zsr_config cfg = { .size = N * PG, .max_resident = N / 4 * PG, .deferred_free = true };
	struct zsr_stats st;
	struct zsr *r = t_region(&cfg);
	unsigned char *base = zsr_base(r);
	int status;
	pid_t pid;

	for (uint64_t i = 0; i < N; i++)
		t_rpage(base + i * PG, i, i + 2);
	zsr_get_stats(r, &st);
	CHECK(st.evicted_pages > 0);	/* the cap forced evictions */
	for (int k = 0; k < 3; k++) {
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			/* no region here; the parent's handler does not serve us */
			if (msync(base, PG, MS_ASYNC) == 0 || errno != ENOMEM)
				_exit(2);
			if (msync(base + (N - 1) * PG, PG, MS_ASYNC) == 0 || errno != ENOMEM)
				_exit(3);
			_exit(0);
		}
		/* the parent keeps faulting and evicting while the child runs */
		for (uint64_t i = 0; i < N; i += 5)
			CHECK(t_rpage_diff(base + i * PG, i, i + 2) == 0);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	}
	for (uint64_t i = 0; i < N; i++)
		CHECK(t_rpage_diff(base + i * PG, i, i + 2) == 0);
	zsr_get_stats(r, &st);
	CHECK(st.refaults > 0);
	zsr_destroy(r);
	zsr_wait_released();
	return T_PASS;
}
