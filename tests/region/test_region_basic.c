// SPDX-License-Identifier: MIT
/*
 * The contract, single-threaded: argument errors, a zeroed config plus a size, zeros on
 * first touch, explicit reclaim of everything, exact contents back on refault (from
 * user space and from inside a system call), and the statistics along the way.
 */
#define _GNU_SOURCE
#include <fcntl.h>

#include "region_test.h"

#define N 512

int main(void)
{
	struct zsr_config cfg;
	struct zsr_stats st;
	struct zsr *r;
	unsigned char *base, buf[PG];
	int fds[2];
	long got;

	/* errors */
	errno = 0;
	CHECK(zsr_create(NULL) == NULL && errno == EINVAL);
	memset(&cfg, 0, sizeof(cfg));
	errno = 0;
	CHECK(zsr_create(&cfg) == NULL && errno == EINVAL);
	cfg.size = N * PG;
	cfg.compressor = "no-such-compressor";
	errno = 0;
	CHECK(zsr_create(&cfg) == NULL && errno == EINVAL);
	CHECK(zsr_reclaim(NULL, PG) == -EINVAL);

	/* a zeroed config plus a size (not a page multiple: rounded up) */
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = N * PG - 100;
	r = t_region(&cfg);
	base = zsr_base(r);
	CHECK(base && ((uintptr_t)base & (PG - 1)) == 0);
	zsr_get_stats(r, &st);
	CHECK(st.resident_pages == 0 && st.evicted_pages == 0 && st.max_resident_pages == 0);

	/* untouched memory reads as zeros; nothing to evict yet */
	CHECK(t_all_zero(base + 7 * PG, PG));
	CHECK(zsr_reclaim(r, 0) == 0);

	for (uint64_t i = 0; i < N; i++)
		t_rpage(base + i * PG, i, i + 2);
	zsr_get_stats(r, &st);
	CHECK(st.resident_pages == N);
	CHECK(st.faults == N);

	got = zsr_reclaim(r, (size_t)N * PG);
	CHECKF(got == (long)N * PG, "reclaim returned %ld", got);
	zsr_get_stats(r, &st);
	CHECK(st.resident_pages == 0);
	CHECK(st.evicted_pages == N && st.evictions == N);
	CHECK(st.stored_pages + st.same_pages == N);
	CHECK(st.same_pages >= N / 7 * 2 - 2);	/* zero and same-filled versions */
	CHECK(st.compr_bytes > 0 && st.compr_bytes < (uint64_t)st.stored_pages * PG);
	CHECK(st.huge_pages > 0);		/* the incompressible kind, kept raw */
	CHECK(st.pool_pages > 0 && st.pool_pages * PG >= st.compr_bytes);
	CHECK(zsr_reclaim(r, PG) == 0);		/* nothing resident left */

	/* a system call touching an evicted page: the handler serves the kernel's fault */
	CHECK(pipe(fds) == 0);
	if (!st.user_mode_only) {
		CHECK(write(fds[1], base + 5 * PG, PG) == PG);
		CHECK(read(fds[0], buf, PG) == PG);
		CHECK(t_rpage_diff(buf, 5, 7) == 0);
	}
	close(fds[0]);
	close(fds[1]);

	for (uint64_t i = 0; i < N; i++)
		CHECKF(t_rpage_diff(base + i * PG, i, i + 2) == 0, "page %llu",
		       (unsigned long long)i);
	zsr_get_stats(r, &st);
	CHECK(st.resident_pages == N && st.evicted_pages == 0 && st.stored_pages == 0);
	CHECK(st.compr_bytes == 0 && st.refaults == N);

	/* evicted twice: refaulted pages need two CLOCK sweeps, reclaim still gets all */
	CHECK(zsr_reclaim(r, (size_t)N * PG) == (long)N * PG);
	for (uint64_t i = 0; i < N; i += 3)
		t_rpage(base + i * PG, i, i + 9);
	for (uint64_t i = 0; i < N; i++)
		CHECKF(t_rpage_diff(base + i * PG, i, i % 3 ? i + 2 : i + 9) == 0, "page %llu diff at %zu",
		       (unsigned long long)i, t_rpage_diff(base + i * PG, i, i % 3 ? i + 2 : i + 9));
	zsr_destroy(r);
	zsr_wait_released();
	return T_PASS;
}
