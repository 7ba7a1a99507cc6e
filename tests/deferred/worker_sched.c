/* SPDX-License-Identifier: MIT */
/*
 * The drain workers' scheduling (cfg worker_sched, issue 10; default normal):
 *   - each policy is applied to every worker thread and to nothing else (SCHED_IDLE
 *     threads, nice-19 threads, counted over /proc/self/task), and every value pushed
 *     under it is drained exactly once;
 *   - a value out of range is refused with EINVAL;
 *   - the starvation fallback: with low-priority workers unable to drain (the only
 *     worker is stuck in a drain, the way a SCHED_IDLE worker sits without CPU under a
 *     permanent load), the catch-up thread drains the pages that wait in the queue, so
 *     they do not wait for the worker; with normal workers there is no catch-up thread
 *     and nothing but the worker drains.
 * No timing is asserted: the waits below are bounds on liveness (a 10 s ceiling), and
 * the "left alone" check is exact (only the stuck worker could have drained them).
 */
#include "zsd_test.h"	/* first: it defines _GNU_SOURCE */

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>

/* Threads of this process under SCHED_IDLE, and at nice 19. */
static void count_threads(unsigned int *idle, unsigned int *nice19)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;

	*idle = *nice19 = 0;
	CHECK(dir);
	while ((e = readdir(dir)) != NULL) {
		pid_t tid = (pid_t)atoi(e->d_name);
		int pol;

		if (tid <= 0)
			continue;
		pol = sched_getscheduler(tid);
		if (pol == SCHED_IDLE)
			(*idle)++;
		errno = 0;
		if (getpriority(PRIO_PROCESS, (id_t)tid) == 19 && errno == 0)
			(*nice19)++;
	}
	closedir(dir);
}

/* Workers set their own policy once started: wait (bounded) until all of them have. */
static void wait_threads(unsigned int want_idle, unsigned int want_nice)
{
	uint64_t t0 = t_now_ns();
	unsigned int idle, nice19;

	for (;;) {
		count_threads(&idle, &nice19);
		if (idle == want_idle && nice19 == want_nice)
			return;
		CHECKF(t_now_ns() - t0 < 10000000000ull,
		       "SCHED_IDLE threads %u (want %u), nice-19 threads %u (want %u)", idle,
		       want_idle, nice19, want_nice);
		usleep(1000);
	}
}

static void policies(void)
{
	static const struct {
		enum zs_deferred_worker_sched s;
		const char *name;
		unsigned int idle, nice;
	} p[] = {
		{ ZS_DEFER_WORKERS_DEFAULT, "default (normal)", 0, 0 },
		{ ZS_DEFER_WORKERS_IDLE, "idle", 3, 0 },
		{ ZS_DEFER_WORKERS_NICE, "nice", 0, 3 },
		{ ZS_DEFER_WORKERS_NORMAL, "normal", 0, 0 },
	};
	const unsigned long n = t_scale(64 * 1024);
	unsigned int base_idle, base_nice, inh_idle, inh_nice;

	/*
	 * The test may itself run under SCHED_IDLE or at nice 19 (chrt -i, nice -n 19): the
	 * framework's threads then inherit it (3 workers, 3 catch-up threads unless the
	 * policy is normal, the timer).
	 */
	count_threads(&base_idle, &base_nice);
	errno = 0;
	inh_nice = getpriority(PRIO_PROCESS, 0) == 19 && errno == 0;
	inh_idle = sched_getscheduler(0) == SCHED_IDLE;
	for (unsigned int i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		struct zs_deferred_config cfg = { .workers = 3, .worker_sched = p[i].s };
		unsigned int threads = p[i].s == ZS_DEFER_WORKERS_NORMAL ||
				       p[i].s == ZS_DEFER_WORKERS_DEFAULT ? 4 : 7;
		struct zs_deferred *d;
		unsigned long v;

		memset(t_tab.hits, 0, t_tab.n);
		d = zsd_create(&t_ops, &t_tab, &cfg, NULL);
		CHECKF(d, "zsd_create(%s): %s", p[i].name, strerror(errno));
		/* Only the workers change: the catch-up threads, the timer and the test's
		 * own threads stay as they were. */
		wait_threads(base_idle + (inh_idle ? threads : p[i].idle),
			     base_nice + (inh_nice ? threads : p[i].nice));
		for (v = 1; v <= n; v++)
			if (!zsd_push(d, v))
				t_hit(v);
		zsd_flush(d);
		t_table_check(1, n);
		zsd_destroy(d);
		wait_threads(base_idle, base_nice);
		printf("%s: workers' policy applied, %lu values drained once\n", p[i].name, n);
	}
}

static void refused(void)
{
	struct zs_deferred_config cfg = { .worker_sched = (enum zs_deferred_worker_sched)4 };

	errno = 0;
	CHECK(zsd_create(&t_ops, &t_tab, &cfg, NULL) == NULL && errno == EINVAL);
	cfg.worker_sched = (enum zs_deferred_worker_sched)-1;
	errno = 0;
	CHECK(zsd_create(&t_ops, &t_tab, &cfg, NULL) == NULL && errno == EINVAL);
}

/* The first drain call blocks until released: it stands for a worker with no CPU. */
static int stuck_armed, stuck_taken, stuck_release;

static void stuck_drain(void *private, void *buf, unsigned int count)
{
	int zero = 0;

	if (__atomic_load_n(&stuck_armed, __ATOMIC_ACQUIRE) &&
	    __atomic_compare_exchange_n(&stuck_taken, &zero, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		while (!__atomic_load_n(&stuck_release, __ATOMIC_ACQUIRE))
			usleep(200);
	t_drain_u32(private, buf, count);
}

static const struct zs_deferred_ops stuck_ops = { .push = t_push_u32, .drain = stuck_drain };

static uint64_t catchup_drains(struct zs_deferred *d)
{
	uint64_t n;

	zsd_lock(d);
	n = d->catchup_drains;
	zsd_unlock(d);
	return n;
}

static void starved(enum zs_deferred_worker_sched s, const char *name)
{
	/* One worker, delay bound 2 ms: a queued page is overdue after 1 ms. */
	struct zs_deferred_config cfg = { .workers = 1, .max_delay_us = 2000, .worker_sched = s,
					  .spare_pages = 16, .no_rseq = true };
	const unsigned long pages = 8, n = pages * 1024;
	struct zs_deferred *d;
	unsigned long v;
	uint64_t t0;

	memset(t_tab.hits, 0, t_tab.n);
	__atomic_store_n(&stuck_taken, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&stuck_release, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&stuck_armed, 1, __ATOMIC_RELEASE);
	d = zsd_create(&stuck_ops, &t_tab, &cfg, NULL);
	CHECKF(d, "zsd_create: %s", strerror(errno));
	/* Full pages only: every value is queued, none waits in a half-full slot. */
	for (v = 1; v <= n; v++)
		if (!zsd_push(d, v))
			t_hit(v);
	/* Whoever drains first is stuck; everything else is queued behind it. */
	t0 = t_now_ns();
	while (!__atomic_load_n(&stuck_taken, __ATOMIC_ACQUIRE)) {
		CHECKF(t_now_ns() - t0 < 10000000000ull, "%s: no drain started in 10 s", name);
		usleep(200);
	}
	if (s == ZS_DEFER_WORKERS_NICE || s == ZS_DEFER_WORKERS_IDLE) {
		/* Every page but the stuck one gets drained: by the catch-up thread, or by
		 * the worker if the catch-up thread is the one stuck. */
		t0 = t_now_ns();
		while (t_table_count(1, n) < n - 1024) {
			CHECKF(t_now_ns() - t0 < 10000000000ull,
			       "%s: %lu of %lu values drained with one drainer stuck", name,
			       t_table_count(1, n), n - 1024);
			usleep(500);
		}
		CHECK(catchup_drains(d) >= 1);
	} else {
		/* Let several timer ticks (500 us each) pass: no catch-up thread exists, and
		 * the only worker is stuck, so nothing can have been drained. */
		usleep(20000);
		CHECK(catchup_drains(d) == 0);
		CHECK(t_table_count(1, n) == 0);
	}
	__atomic_store_n(&stuck_release, 1, __ATOMIC_RELEASE);
	zsd_flush(d);
	t_table_check(1, n);
	printf("%s: one drainer stuck, the catch-up thread drained %llu pages\n", name,
	       (unsigned long long)catchup_drains(d));
	zsd_destroy(d);
	__atomic_store_n(&stuck_armed, 0, __ATOMIC_RELEASE);
}

int main(void)
{
	t_table_init(64 * 1024 + 1);
	refused();
	policies();
	starved(ZS_DEFER_WORKERS_DEFAULT, "default (normal)");
	starved(ZS_DEFER_WORKERS_IDLE, "idle");
	starved(ZS_DEFER_WORKERS_NICE, "nice");
	starved(ZS_DEFER_WORKERS_NORMAL, "normal");
	return T_PASS;
}
