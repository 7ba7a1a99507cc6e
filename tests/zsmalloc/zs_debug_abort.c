/* SPDX-License-Identifier: MIT */
/* A double free aborts (SIGABRT) with a clear message on stderr in every build, also
 * a handle given twice to one zs_free_batch() (whether or not the batch empties the
 * zspage); in ZSMEM_DEBUG builds a handle from another pool does too. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

static void expect_abort(int which, const char *msg)
{
	int fds[2], st;
	char out[4096];
	ssize_t n, got = 0;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct zs_pool *a = zs_create_pool("pool-a"), *b = zs_create_pool("pool-b");
		unsigned long h = zs_malloc(a, 100);

		dup2(fds[1], 2);
		if (which == 0) {
			zs_free(a, h);
			zs_free(a, h);
		} else if (which == 2) {
			/* Counted twice, the pair looks like the whole zspage. */
			unsigned long h2 = zs_malloc(a, 100), v[2] = { h, h };

			(void)h2;
			zs_free_batch(a, v, 2);
		} else if (which == 3) {
			/* More than the zspage holds: freed object by object. */
			unsigned long v[3] = { h, h, 0 };

			zs_free_batch(a, v, 3);
		} else {
			zs_free(b, h);
		}
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + got, sizeof(out) - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = 0;
	close(fds[0]);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %#x", st);
	CHECKF(strstr(out, msg), "stderr: %s", out);
}

int main(void)
{
	expect_abort(0, "double free");
	expect_abort(2, "double free");
	expect_abort(3, "double free");
#ifdef ZSMEM_DEBUG
	expect_abort(1, "belongs to another pool");
#endif
	return T_PASS;
}
