/* SPDX-License-Identifier: MIT */
/*
 * Regression (found by the soak, rseq-off pass): a fork child kept the zspages that a
 * ZS_POOL_DEFER_ZSPAGE_FREE pool had queued for its release thread at fork time. The
 * child has no release thread; it released its own emptied zspages inline but never
 * the inherited queue, so after freeing everything zs_get_total_pages() stayed above 0
 * until zs_destroy_pool(). Now the child releases the inherited queue with the next
 * zspage it releases, and zs_compact() releases it too.
 *
 * The parent frees every object and forks at once, so the release thread usually still
 * has zspages queued; the rounds repeat that until one child inherited a queue.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define N	4096
#define ROUNDS	40

static unsigned long h[N];

/* In the child: 0 when the pool is back at zero pages, 2 when it is not; 1 if
 * the child saw nothing queued (no evidence either way). */
static int child(struct zs_pool *pool, int how)
{
	unsigned long before = zs_get_total_pages(pool);

	alarm(20);
	if (!before)
		return 1;
	if (how == 0) {
		/* Release one zspage of the child's own: the inherited queue goes with it. */
		unsigned long x = zs_malloc(pool, 3000);

		if (!x)
			return 3;
		zs_free(pool, x);
	} else {
		zs_compact(pool);
	}
	return zs_get_total_pages(pool) == 0 ? 0 : 2;
}

int main(void)
{
	struct zs_pool_config cfg = { .flags = ZS_POOL_DEFER_ZSPAGE_FREE };
	unsigned long long s = 7;
	int seen[2] = { 0, 0 };

	for (int round = 0; round < ROUNDS; round++) {
		int how = round & 1, status;
		struct zs_pool *pool = zs_create_pool_ex("fork-queue", &cfg);
		pid_t pid;

		CHECK(pool);
		for (int i = 0; i < N; i++) {
			h[i] = zs_malloc(pool, 100 + t_rand(&s) % 3000);
			CHECK(h[i]);
		}
		for (int i = 0; i < N; i++)
			zs_free(pool, h[i]);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			_exit(child(pool, how));
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECKF(WIFEXITED(status), "child killed by signal %d", WTERMSIG(status));
		CHECKF(WEXITSTATUS(status) != 2,
		       "round %d: the child kept inherited queued zspages after %s", round,
		       how ? "zs_compact" : "releasing a zspage of its own");
		CHECKF(WEXITSTATUS(status) <= 2, "child error %d", WEXITSTATUS(status));
		if (WEXITSTATUS(status) == 0)
			seen[how]++;
		zs_destroy_pool(pool);
	}
	printf("children that inherited a queue: %d (own release), %d (compact)\n", seen[0],
	       seen[1]);
	return T_PASS;
}
