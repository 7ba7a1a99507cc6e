/* SPDX-License-Identifier: MIT */
/* The OS refusing memory for real: a child process under RLIMIT_AS allocates until
 * zs_malloc() fails with ENOMEM, the pool stays whole, and freeing half gives pages back
 * and makes allocation work again. Skipped (77) in sanitizer builds, whose shadow
 * memory does not fit under an address-space limit. */
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

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
	pid_t pid;
	int st;

	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		rlimit_child();
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECKF(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 77),
	       "child status %#x", st);
	if (WEXITSTATUS(st) == 77)
		printf("skip: no RLIMIT_AS run in a sanitizer build, or setrlimit refused\n");
	return WEXITSTATUS(st) == 77 ? T_SKIP : T_PASS;
}
