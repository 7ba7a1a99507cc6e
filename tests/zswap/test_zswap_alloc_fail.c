/* SPDX-License-Identifier: MIT */
/*
 * Allocation failure: with the address space capped (RLIMIT_AS, soft limit only, so it
 * can be lifted again) stores end in -ENOMEM and reject_alloc_fail; nothing already
 * cached is lost and the cache works again once memory is back. Skipped under the
 * sanitizers, whose shadow memory does not live with an address-space cap.
 */
#define _GNU_SOURCE
#include <sys/resource.h>

#include "zswap_test_util.h"

#define NR	(64 * 1024)

#if !defined(ZSMEM_ASAN) && !defined(ZSMEM_TSAN)
static unsigned long vm_bytes(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	fclose(f);
	return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}
#endif

int main(void)
{
#if defined(ZSMEM_ASAN) || defined(ZSMEM_TSAN)
	return T_SKIP;
#else
	struct zswap_config cfg = { .max_pool_bytes = 4ull << 30 };
	unsigned char in[PG], out[PG];
	struct rlimit old, lim;
	struct zswap_stats st;
	struct zswap *zs = t_zswap(&cfg);
	uint64_t off, stored = 0;
	int ret = 0;

	CHECK(zswap_swapon(zs, 0, NR, -1) == 0);
	/* Warm up: per-thread compressor state is allocated on first use. */
	t_vpage(in, 0, 1, 3);
	CHECK(zswap_store(zs, 0, 0, in) == 0);
	CHECK(zswap_load(zs, 0, 0, out) == 0);

	if (getrlimit(RLIMIT_AS, &old) || !vm_bytes())
		return T_SKIP;
	lim = old;
	lim.rlim_cur = vm_bytes() + (16ul << 20);
	if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < lim.rlim_cur)
		return T_SKIP;
	CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
	for (off = 0; off < NR; off++) {
		t_vpage(in, off, 1, 3);
		ret = zswap_store(zs, 0, off, in);
		if (ret)
			break;
		stored++;
	}
	CHECK(setrlimit(RLIMIT_AS, &old) == 0);
	CHECKF(ret == -ENOMEM, "store %llu: %d", (unsigned long long)off, ret);
	st = t_stats(zs);
	CHECK(st.reject_alloc_fail == 1);
	CHECK(st.stored_pages == stored);
	CHECK(zswap_check(zs) == 0);

	/* Memory is back: the failed slot works, and everything stored is intact. */
	t_vpage(in, off, 1, 3);
	CHECK(zswap_store(zs, 0, off, in) == 0);
	for (uint64_t i = 0; i <= off; i++) {
		t_vpage(in, i, 1, 3);
		CHECK(zswap_load(zs, 0, i, out) == 0 && !memcmp(in, out, PG));
	}
	CHECK(t_stats(zs).stored_pages == 0);
	zswap_destroy(zs);
	return T_PASS;
#endif
}
