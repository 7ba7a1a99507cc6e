// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12, defect 4): zs_free_deferred() from a signal handler deadlocked
 * on the framework's mutex when the signal interrupted a push inside the page swap
 * (which held it), or landed on one of the library's own threads (which did not block
 * signals). The push must be async-signal-safe: return false rather than block.
 *
 * 1. Storm: pushers (one value per page, so every push swaps pages under the lock)
 *    are hit by a stream of signals whose handler pushes too; nothing may hang and
 *    every accepted value is drained exactly once.
 * 2. Library threads: signals sent to every thread the library started (deferred
 *    workers and timer, the zspage-free thread, zswap's shrinker) must never run the
 *    handler there: those threads block signals.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include <zsmem/zram.h>
#include <zsmem/zswap.h>

#include "regress_ops.h"

static const struct zs_deferred_ops ops = { .push = t_push_ul, .drain = t_drain_ul };
static struct zs_pool *pool;
static unsigned long handler_next = 1ul << 40;
static uint64_t handler_runs, handler_refused;
static int stop;

static void on_signal(int sig)
{
	unsigned long v = __atomic_fetch_add(&handler_next, 1, __ATOMIC_RELAXED);
	int saved = errno;

	(void)sig;
	__atomic_fetch_add(&handler_runs, 1, __ATOMIC_RELAXED);
	if (!t_push(pool, v))
		__atomic_fetch_add(&handler_refused, 1, __ATOMIC_RELAXED);
	errno = saved;
}

static void *pusher(void *arg)
{
	unsigned long v = ((unsigned long)arg + 1) << 32;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
		t_push(pool, v++);
	return NULL;
}

static void storm(const char *name, bool no_rseq)
{
	struct zs_deferred_config cfg = { .no_rseq = no_rseq };
	struct sigaction sa = { .sa_handler = on_signal };
	pthread_t t[2];
	uint64_t start = 0;

	memset(&t_cnt, 0, sizeof(t_cnt));
	handler_runs = handler_refused = 0;
	t_one_per_page = 1;
	pool = zs_create_pool(name);
	CHECK(pool);
	CHECK(zs_pool_enable_deferred_free_ex(pool, &ops, NULL, &cfg) == 0);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	stop = 0;
	for (unsigned long i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, pusher, (void *)i) == 0);
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		start = (uint64_t)ts.tv_sec;
	}
	for (unsigned long n = 0;; n++) {
		struct timespec ts;

		pthread_kill(t[n % 2], SIGUSR1);
		if (n % 64 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if ((uint64_t)ts.tv_sec >= start + 2)
				break;
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	signal(SIGUSR1, SIG_IGN);
	zs_deferred_flush(pool);
	t_check_balanced(name);
	printf("%s: %llu values drained, handler ran %llu times (%llu refused)\n", name,
	       (unsigned long long)t_cnt.drained, (unsigned long long)handler_runs,
	       (unsigned long long)handler_refused);
	CHECK(handler_runs > 0);
	zs_destroy_pool(pool);
	t_one_per_page = 0;
}

/* ---- signals aimed at the library's threads --------------------------------------- */

#define MAX_TIDS 256

static int list_tids(pid_t *tids)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	CHECK(d);
	while ((e = readdir(d)) != NULL && n < MAX_TIDS)
		if (e->d_name[0] != '.')
			tids[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	return n;
}

static pid_t handled_on[MAX_TIDS];
static int nr_handled;

static void on_signal_record(int sig)
{
	int i = __atomic_fetch_add(&nr_handled, 1, __ATOMIC_RELAXED);

	(void)sig;
	if (i < MAX_TIDS)
		handled_on[i] = (pid_t)syscall(SYS_gettid);
}

static void library_threads(void)
{
	struct zs_pool_config pc = { .flags = ZS_POOL_DEFER_ZSPAGE_FREE };
	struct zswap_config zc = { .shrinker_enabled = true, .deferred_invalidate = true };
	struct zram_config rc = { .disksize = 1 << 20, .deferred_free = true };
	struct sigaction sa = { .sa_handler = on_signal_record };
	pid_t before[MAX_TIDS], after[MAX_TIDS];
	int nb, na, sent = 0;
	struct zswap *zs;
	struct zram *z;

	nb = list_tids(before);
	pool = zs_create_pool_ex("signals", &pc);
	CHECK(pool);
	CHECK(zs_pool_enable_deferred_free(pool, &ops, NULL) == 0);
	zs = zswap_create(&zc);
	CHECK(zs);
	z = zram_create(&rc);
	CHECK(z);
	na = list_tids(after);

	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
	for (int i = 0; i < na; i++) {
		bool old = false;

		for (int k = 0; k < nb; k++)
			old |= after[i] == before[k];
		if (old)
			continue;
		/* A thread the library started: the signal must stay pending there. */
		CHECK(syscall(SYS_tgkill, getpid(), after[i], SIGUSR2) == 0);
		sent++;
	}
	CHECKF(sent >= 3, "only %d library threads found", sent);
	usleep(200000);
	CHECKF(__atomic_load_n(&nr_handled, __ATOMIC_RELAXED) == 0,
	       "the handler ran on library thread %d (of %d signalled)", (int)handled_on[0],
	       sent);
	printf("library threads: %d signalled, handler ran on none\n", sent);
	zram_destroy(z);
	zswap_destroy(zs);
	zs_destroy_pool(pool);
}

int main(void)
{
	t_watchdog(90);
	storm("storm-rseq", false);
	storm("storm-norseq", true);
	library_threads();
	printf("regress_signal_push_deadlock: ok\n");
	return T_PASS;
}
