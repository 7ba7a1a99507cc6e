/* SPDX-License-Identifier: MIT */
/*
 * No value lost or drained twice: pusher threads push disjoint ranges of values while
 * they migrate between CPUs (sched_setaffinity), a flusher flushes, the idle timer
 * takes half-full buffers (max_delay 500 us), and the spare pool runs dry (4 pages
 * growing to at most 12 and shrunk back by the timer, and for the first third a
 * deliberately slow drain). A refused push (false) is "freed synchronously" by the
 * pusher, which counts it in the same table; at the end
 * every value must have been seen exactly once, and the statistics must agree with
 * the refusals. 6 pushers on a 2-CPU machine also exercise preempted slot holders.
 *
 * usage: zsd_stress_rseq rseq|norseq|glibc-norseq|perclass|v2
 *   rseq:          the rseq push path (skip when the host has none)
 *   rseq-hammer:   the same with flushes back to back and a 100 us delay bound, so the
 *                  cross-CPU protocol (close, membarrier, take) runs all the time
 *   norseq:        cfg.no_rseq, the CAS fallback
 *   glibc-norseq:  run with GLIBC_TUNABLES=glibc.pthread.rseq=0: must pick the fallback
 *   perclass:      per-value-class queues (route = value % 61)
 *   v2:            v2's array (2048 entries) with repacking into pages
 */
#include "zsd_test.h"

#include <sys/rseq.h>

#define NR_THREADS	6
#define NR_ROUTES	61

struct pusher {
	pthread_t tid;
	struct zs_deferred *d;
	unsigned long first, last;
	unsigned long refused, sink;
	unsigned int idx;
	cpu_set_t allowed;
	int ncpu;
};

static volatile int t_done;
static unsigned int flush_pause_us = 3000;

static unsigned int t_route(void *private, unsigned long value)
{
	(void)private;
	return (unsigned int)(value % NR_ROUTES);
}

static void migrate(struct pusher *p, unsigned long long *rng)
{
	cpu_set_t one;
	int k = (int)(t_rand(rng) % (unsigned long long)p->ncpu), cpu;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &p->allowed))
			continue;
		if (k-- == 0)
			break;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static void *pusher_main(void *arg)
{
	struct pusher *p = arg;
	unsigned long long rng = 0x9e3779b97f4a7c15ull * (p->idx + 1);
	unsigned long v, sink = 0;

	for (v = p->first; v <= p->last; v++) {
		if ((v & 4095) == 0 && p->ncpu > 1)
			migrate(p, &rng);
		/* The first third runs the spare pool dry; then the drain keeps up. */
		if (p->idx == 0 && v == p->first + (p->last - p->first) / 3)
			__atomic_store_n(&t_tab.drain_spin_ns, 0, __ATOMIC_RELAXED);
		/* A little work per value, as an exit path has, so drains can keep up. */
		for (int w = 0; w < 8; w++)
			sink += t_rand(&rng);
		if (!zsd_push(p->d, v)) {
			p->refused++;
			t_hit(v);	/* the synchronous free */
		}
		/* Now and then stop pushing for a while so the idle timer has work. */
		if ((t_rand(&rng) & 0xffff) == 0)
			usleep(1000);
	}
	sched_setaffinity(0, sizeof(p->allowed), &p->allowed);
	p->sink = sink;
	return NULL;
}

static void *flusher_main(void *arg)
{
	struct zs_deferred *d = arg;

	while (!__atomic_load_n(&t_done, __ATOMIC_ACQUIRE)) {
		zsd_flush(d);
		if (flush_pause_us)
			usleep(flush_pause_us);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "rseq";
	/*
	 * Floor 4, ceiling 12: the pool grows, hits its ceiling (nospare fallbacks) and is
	 * shrunk by the timer (500 us after the stack last ran dry) while pushers race.
	 */
	struct zs_deferred_config cfg = { .spare_pages = 4, .spare_pages_max = 12, .workers = 2,
					  .max_delay_us = 500 };
	struct zsd_extra extra = { .route = t_route, .nr_routes = NR_ROUTES };
	struct zs_deferred_stats st;
	struct pusher p[NR_THREADS];
	unsigned long per = t_scale(1500000), total = per * NR_THREADS, refused = 0;
	struct zs_deferred *d;
	pthread_t flusher;
	cpu_set_t allowed;
	int ncpu = t_ncpus_allowed(&allowed);
	unsigned int i;
	uint64_t t0 = t_now_ns();

	if (!strcmp(mode, "rseq") || !strcmp(mode, "rseq-hammer")) {
		if (!strcmp(mode, "rseq-hammer")) {
			/* takers back to back: close + fence + take as often as possible */
			flush_pause_us = 0;
			cfg.max_delay_us = 100;
		}
		if (!zsd_rseq_usable()) {
			fprintf(stderr, "SKIP: no rseq on this host (__rseq_size = %u)\n", __rseq_size);
			return T_SKIP;
		}
	} else if (!strcmp(mode, "norseq")) {
		cfg.no_rseq = true;
	} else if (!strcmp(mode, "glibc-norseq")) {
		/* Set by CTest's ENVIRONMENT property; re-exec ourselves when run by hand. */
		if (__rseq_size != 0) {
			const char *tun = getenv("GLIBC_TUNABLES");

			if (tun && strstr(tun, "glibc.pthread.rseq=0")) {
				fprintf(stderr, "SKIP: glibc ignored glibc.pthread.rseq=0\n");
				return T_SKIP;
			}
			setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
			execv("/proc/self/exe", argv);
			perror("execv");
			return T_FAIL;
		}
	} else if (!strcmp(mode, "perclass")) {
		cfg.mode = ZS_DEFER_PER_CLASS;
	} else if (!strcmp(mode, "v2")) {
		cfg.mode = ZS_DEFER_V2_ARRAY;
		cfg.array_entries = 2048;
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return T_FAIL;
	}

	t_table_init(total + 1);
	t_tab.drain_spin_ns = 3000;	/* 3 us per page: the spare pool runs dry at times */
	d = zsd_create(&t_ops, &t_tab, &cfg, cfg.mode == ZS_DEFER_PER_CLASS ? &extra : NULL);
	CHECKF(d, "zsd_create: %s", strerror(errno));
	zsd_get_stats(d, &st);
	if (!strncmp(mode, "rseq", 4))
		CHECK(st.rseq);
	else
		CHECK(!st.rseq);

	CHECK(pthread_create(&flusher, NULL, flusher_main, d) == 0);
	for (i = 0; i < NR_THREADS; i++) {
		p[i] = (struct pusher){ .d = d, .first = 1 + i * per, .last = (i + 1) * per,
					.idx = i, .allowed = allowed, .ncpu = ncpu };
		CHECK(pthread_create(&p[i].tid, NULL, pusher_main, &p[i]) == 0);
	}
	for (i = 0; i < NR_THREADS; i++) {
		pthread_join(p[i].tid, NULL);
		refused += p[i].refused;
	}
	__atomic_store_n(&t_done, 1, __ATOMIC_RELEASE);
	pthread_join(flusher, NULL);

	zsd_flush(d);
	/* After the flush every value is accounted for, before destroy. */
	t_table_check(1, total);
	zsd_get_stats(d, &st);
	printf("%s: %lu values, %d cpus, refused %lu, pushed %llu drained %llu in %llu calls, "
	       "idle drains %llu, flushes %llu, spare low %llu/%llu, grown %llu high %llu, "
	       "busy %llu nospare %llu, wait max %.3f ms, "
	       "rseq %d, %.2f s\n", mode, total, ncpu, refused, (unsigned long long)st.pushed,
	       (unsigned long long)st.drained, (unsigned long long)st.drain_calls,
	       (unsigned long long)st.idle_drains, (unsigned long long)st.flushes,
	       (unsigned long long)st.spare_low, (unsigned long long)st.spare_pages,
	       (unsigned long long)st.spare_grown, (unsigned long long)st.spare_high,
	       (unsigned long long)st.fallbacks_busy, (unsigned long long)st.fallbacks_nospare,
	       st.wait_ns_max / 1e6, st.rseq, (t_now_ns() - t0) / 1e9);
	CHECK(st.fallbacks == refused);
	CHECK(st.fallbacks == st.fallbacks_busy + st.fallbacks_nospare);
	if (cfg.mode != ZS_DEFER_V2_ARRAY)
		CHECK(st.spare_high <= 12 && st.spare_allocated <= 12);
	CHECK(st.pushed + refused == total);
	CHECK(st.drained == st.pushed);
	if (cfg.mode != ZS_DEFER_V2_ARRAY)
		CHECK(st.flushes >= 1);
	zsd_destroy(d);
	t_table_check(1, total);
	free(t_tab.hits);
	return T_PASS;
}
