/* SPDX-License-Identifier: MIT */
/* Bad input: zs_malloc(0) -> EINVAL, > 4096 -> ENOSPC, zs_free(pool, 0) is a no-op.
 * The OS refusing memory -> 0 with ENOMEM and nothing leaked or half-built: every
 * allocation point is failed in turn (fault injection), and a child process runs
 * out of address space for real under RLIMIT_AS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zsmem/zsmalloc.h"
#include "zsmalloc/zs_internal.h"
#include "zsmem_test.h"

#define N 600

static unsigned long h[N];

/* Fill until the nth OS allocation fails; the pool must stay whole and usable. */
static int inject(long nth)
{
	struct zs_pool *pool;
	unsigned long long s = 5;
	int i, failed = -1;

	zs_fault_inject(nth);
	pool = zs_create_pool("inject");
	if (!pool) {
		CHECK(errno == ENOMEM);
		zs_fault_inject(0);
		return 1;
	}
	for (i = 0; i < N; i++) {
		size_t len = 1 + t_rand(&s) % 4096;

		errno = 0;
		h[i] = zs_malloc(pool, len);
		if (!h[i]) {
			CHECKF(errno == ENOMEM, "errno %d", errno);
			failed = i;
			break;
		}
		zs_obj_write(pool, h[i], &i, sizeof(i));
	}
	zs_fault_inject(0);
	CHECK(zs_pool_check(pool) == 0);
	if (failed >= 0) {
		/* The failed request succeeds once memory is there again. */
		h[failed] = zs_malloc(pool, 100);
		CHECK(h[failed]);
		zs_obj_write(pool, h[failed], &failed, sizeof(failed));
		CHECK(zs_pool_check(pool) == 0);
		for (i = 0; i <= failed; i++) {
			int v;

			zs_obj_read(pool, h[i], &v, sizeof(v));
			CHECK(v == i);
			zs_free(pool, h[i]);
		}
	} else {
		for (i = 0; i < N; i++)
			zs_free(pool, h[i]);
	}
	CHECK(zs_get_total_pages(pool) == 0);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
	return failed >= 0;
}

static void rlimit_child(void)
{
	struct zs_pool *pool = zs_create_pool("rlimit");
	struct rlimit rl = { 256ul << 20, 256ul << 20 };
	unsigned long n = 0, cap = 1 << 20, *hs = malloc(cap * sizeof(*hs)), pages;

#if defined(ZSMEM_ASAN) || defined(ZSMEM_TSAN)
	_exit(77);	/* sanitizers reserve huge address ranges: no RLIMIT_AS run */
#endif
	if (!pool || !hs)
		_exit(2);
	if (setrlimit(RLIMIT_AS, &rl))
		_exit(77);
	for (;;) {
		unsigned long x = zs_malloc(pool, 3000);

		if (!x) {
			if (errno != ENOMEM)
				_exit(3);
			break;
		}
		if (n == cap)
			_exit(4);
		hs[n++] = x;
	}
	if (n < 1000 || zs_pool_check(pool))
		_exit(5);
	pages = zs_get_total_pages(pool);
	/* Free the older half: their zspages empty, and allocation works again. */
	for (unsigned long i = 0; i < n / 2; i++)
		zs_free(pool, hs[i]);
	if (zs_get_total_pages(pool) >= pages || !zs_malloc(pool, 3000))
		_exit(6);
	_exit(0);
}

int main(void)
{
	struct zs_pool *pool = zs_create_pool("errors");
	long nth;
	pid_t pid;
	int st;

	CHECK(pool);
	errno = 0;
	CHECK(zs_malloc(pool, 0) == 0 && errno == EINVAL);
	errno = 0;
	CHECK(zs_malloc(pool, 4097) == 0 && errno == ENOSPC);
	errno = 0;
	CHECK(zs_malloc(pool, (size_t)-1) == 0 && errno == ENOSPC);
	CHECK(zs_malloc(pool, 4096) != 0);
	zs_free(pool, 0);
	zs_free_batch(pool, NULL, 0);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);

	/* Each OS allocation point in turn, until a run needs no more than given. */
	for (nth = 1; nth < 2000; nth++)
		if (!inject(nth))
			break;
	CHECKF(nth > 10 && nth < 2000, "nth %ld", nth);

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		rlimit_child();
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECKF(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 77),
	       "child status %#x", st);
	return T_PASS;
}
