/* SPDX-License-Identifier: MIT */
/*
 * scenario.c - one repetition of the exit scenario (DESIGN.md section 8).
 *
 *  1. A fresh device for the strategy. K "processes" own K ranges of slots; their pages
 *     are written interleaved (page j of every process, then page j+1...), as concurrent
 *     swap-outs would, so each zspage mixes objects of several processes. A foreground
 *     ring of slots is filled too: it is the memory that stays.
 *  2. All K processes die at once (a barrier): each frees its own slots in address order
 *     through the backend's release (zram_slot_free_notify / zswap_invalidate) and
 *     records its exit-path time. A sampler thread reads the pool's page count every
 *     SAMPLE_US; a foreground thread keeps storing pages into its ring.
 *  3. When every exit returned: let the deferred work drain on its own (until the
 *     framework's drained count reaches its pushed count, at most natural_ms), so
 *     that a value left in a half-full buffer waits as long as the framework's delay
 *     bound makes it, not as long as our flush would; then flush, stop the foreground,
 *     and wait until the page count stops moving (ZS_POOL_DEFER_ZSPAGE_FREE frees
 *     zspages behind the flush's back). The count then is the floor; "memory back" is
 *     the first sample within 1% of the freed memory above the floor.
 *
 * CPU is getrusage(RUSAGE_SELF) over steps 2-3, so drain workers and the pool's
 * background threads count; the foreground and sampler threads' own CPU, and the main
 * thread's polling for the end of the drains, are subtracted (a flush that drains in
 * the calling thread is work of the strategy and stays in).
 * With -C a compaction thread runs zs_compact() back to back (1 ms apart) from the
 * deaths until the flush, as a kernel's background compaction might; its CPU counts.
 */
#define _GNU_SOURCE
#include "zsbench.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define SAMPLE_US	200
#define MAX_SAMPLES	(1u << 18)	/* 52 s at SAMPLE_US */
#define FILL_CHUNK	256
#define IDLE_WINDOW_NS	50000000ull

struct rep_ctx {
	const struct zsb_opts *o;
	const struct bench_pages *ps;
	struct zsb_dev *dev;
	unsigned int k;
	uint64_t ppp;			/* pages per process */
	uint64_t fg_base, fg_slots;
	pthread_barrier_t barrier;
	uint64_t t0;			/* the moment the processes die */
	atomic_bool stop_fg, stop_sampler, stop_compact;
	uint64_t compactions, compacted_pages;
	/* fill */
	atomic_uint_fast64_t next_chunk;
	atomic_int fill_err;
	/* results */
	uint64_t *exit_ns;		/* per process: wall time of its exit path */
	uint64_t *exit_cpu_ns;		/* per process: CPU time of the same */
	atomic_uint_fast64_t exit_vcsw, exit_ivcsw;	/* context switches, all processes */
	uint64_t fg_pages, fg_cpu_ns, sampler_cpu_ns;
	struct zsb_sample *samples;
	size_t nr_samples;
};

/* Page content for a slot: a fixed mapping, so every strategy stores the same data. */
static const void *page_for(const struct rep_ctx *c, uint64_t slot)
{
	return bench_page(c->ps, slot * 7 + c->o->seed);
}

static void *fill_thread(void *arg)
{
	struct rep_ctx *c = arg;
	uint64_t total = c->ppp * c->k;

	for (;;) {
		uint64_t ch = atomic_fetch_add(&c->next_chunk, 1);
		uint64_t b = ch * FILL_CHUNK, e = b + FILL_CHUNK;

		if (b >= total)
			break;
		if (e > total)
			e = total;
		for (uint64_t i = b; i < e; i++) {
			/* item i is page i / k of process i % k */
			uint64_t slot = (i % c->k) * c->ppp + i / c->k;
			int rc = zsb_dev_store(c->dev, slot, page_for(c, slot));

			if (rc) {
				atomic_store(&c->fill_err, rc);
				return NULL;
			}
		}
	}
	return NULL;
}

struct exit_arg {
	struct rep_ctx *c;
	unsigned int p;
};

static void *exit_thread(void *arg)
{
	struct exit_arg *a = arg;
	struct rep_ctx *c = a->c;
	uint64_t first = a->p * c->ppp, t, cpu;

	struct rusage ru0, ru1;

	pthread_barrier_wait(&c->barrier);
	getrusage(RUSAGE_THREAD, &ru0);
	t = bench_now_ns();
	cpu = bench_thread_cpu_ns();
	/* the exit path: every swap entry of the process, in address order */
	for (uint64_t s = first; s < first + c->ppp; s++)
		zsb_dev_release(c->dev, s);
	c->exit_ns[a->p] = bench_now_ns() - t;
	/* CPU too: with more threads than CPUs the wall time includes waiting to run */
	c->exit_cpu_ns[a->p] = bench_thread_cpu_ns() - cpu;
	/* why it waited: blocked (a lock, a fault) or preempted (another thread ran) */
	getrusage(RUSAGE_THREAD, &ru1);
	atomic_fetch_add(&c->exit_vcsw, (uint64_t)(ru1.ru_nvcsw - ru0.ru_nvcsw));
	atomic_fetch_add(&c->exit_ivcsw, (uint64_t)(ru1.ru_nivcsw - ru0.ru_nivcsw));
	return NULL;
}

static void *sampler_thread(void *arg)
{
	struct rep_ctx *c = arg;
	uint64_t cpu0;

	pthread_barrier_wait(&c->barrier);
	cpu0 = bench_thread_cpu_ns();
	while (!atomic_load(&c->stop_sampler) && c->nr_samples < MAX_SAMPLES) {
		struct zsb_sample *s = &c->samples[c->nr_samples++];

		s->t_us = (uint32_t)((bench_now_ns() - c->t0) / 1000);
		s->pages = (uint32_t)zsb_dev_pool_pages(c->dev);
		bench_sleep_ns(SAMPLE_US * 1000ull);
	}
	c->sampler_cpu_ns = bench_thread_cpu_ns() - cpu0;
	return NULL;
}

static void *fg_thread(void *arg)
{
	struct rep_ctx *c = arg;
	uint64_t n = 0, cpu0;

	pthread_barrier_wait(&c->barrier);
	cpu0 = bench_thread_cpu_ns();
	while (!atomic_load_explicit(&c->stop_fg, memory_order_relaxed)) {
		uint64_t slot = c->fg_base + n % c->fg_slots;

		/* new content each round: a different page of the source */
		zsb_dev_store(c->dev, slot, bench_page(c->ps, n * 13 + 5));
		n++;
	}
	c->fg_pages = n;
	c->fg_cpu_ns = bench_thread_cpu_ns() - cpu0;
	return NULL;
}

static void *compact_thread(void *arg)
{
	struct rep_ctx *c = arg;

	pthread_barrier_wait(&c->barrier);
	while (!atomic_load(&c->stop_compact)) {
		c->compacted_pages += zsb_dev_compact(c->dev);
		c->compactions++;
		bench_sleep_ns(1000000);
	}
	return NULL;
}

static int fill(struct rep_ctx *c)
{
	unsigned int nt = c->o->fill_threads ? c->o->fill_threads : 2;
	pthread_t th[16];

	if (nt > 16)
		nt = 16;
	atomic_store(&c->next_chunk, 0);
	atomic_store(&c->fill_err, 0);
	for (unsigned int t = 0; t < nt; t++)
		if (pthread_create(&th[t], NULL, fill_thread, c))
			return -EAGAIN;
	for (unsigned int t = 0; t < nt; t++)
		pthread_join(th[t], NULL);
	for (uint64_t i = 0; i < c->fg_slots; i++) {
		int rc = zsb_dev_store(c->dev, c->fg_base + i, bench_page(c->ps, i * 13 + 5));

		if (rc)
			return rc;
	}
	return atomic_load(&c->fill_err);
}

/*
 * The barrier counts on every party: a thread that cannot be started would leave the
 * others waiting forever, so that is fatal for the run rather than an error to unwind.
 */
static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, NULL, fn, arg);

	if (rc) {
		fprintf(stderr, "zsbench: pthread_create: %s\n", strerror(rc));
		exit(1);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Waits until the pool's page count has not moved for 20 ms (at most 5 s). */
static void wait_stable(struct zsb_dev *d)
{
	unsigned long last = zsb_dev_pool_pages(d);
	uint64_t since = bench_now_ns(), start = since;

	while (bench_now_ns() - since < 20000000ull && bench_now_ns() - start < 5000000000ull) {
		unsigned long now;

		bench_sleep_ns(1000000);
		now = zsb_dev_pool_pages(d);
		if (now != last) {
			last = now;
			since = bench_now_ns();
		}
	}
}

int zsb_run_rep(const struct zsb_opts *o, const struct bench_pages *ps, enum zsb_strategy s,
		unsigned int k, unsigned int mib, bool keep_samples, struct zsb_rep *r,
		char *err, size_t errlen)
{
	struct rep_ctx c;
	struct exit_arg *args = NULL;
	pthread_t *th = NULL, sampler, fg, compactor;
	uint64_t cpu0, cpu1, t_done, tol, dying_peak, poll_cpu, t;
	unsigned int parties;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.ps = ps;
	c.k = k;
	c.ppp = (uint64_t)mib * 256;
	c.fg_base = c.ppp * k;
	c.fg_slots = o->foreground ? (uint64_t)o->fg_mib * 256 : 0;
	if (o->foreground && !c.fg_slots)
		c.fg_slots = 256;
	r->pages_per_proc = c.ppp;

	c.dev = zsb_dev_create(o, s, c.fg_base + c.fg_slots, err, errlen);
	if (!c.dev)
		return -1;
	c.exit_ns = calloc(k, sizeof(*c.exit_ns));
	c.exit_cpu_ns = calloc(k, sizeof(*c.exit_cpu_ns));
	c.samples = malloc(MAX_SAMPLES * sizeof(*c.samples));
	th = calloc(k, sizeof(*th));
	args = calloc(k, sizeof(*args));
	if (!c.exit_ns || !c.exit_cpu_ns || !c.samples || !th || !args) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = fill(&c);
	if (rc) {
		snprintf(err, errlen, "filling the device: %s", strerror(-rc));
		rc = -1;
		goto out;
	}
	zsb_dev_flush(c.dev);
	r->peak_pages = zsb_dev_pool_pages(c.dev);

	parties = k + 2 + (o->foreground ? 1 : 0) + (o->compact ? 1 : 0);
	pthread_barrier_init(&c.barrier, NULL, parties);
	for (unsigned int p = 0; p < k; p++) {
		args[p].c = &c;
		args[p].p = p;
		start_thread(&th[p], exit_thread, &args[p]);
	}
	start_thread(&sampler, sampler_thread, &c);
	if (o->foreground)
		start_thread(&fg, fg_thread, &c);
	if (o->compact)
		start_thread(&compactor, compact_thread, &c);

	r->rss_before = bench_rss_bytes();
	/* -H: the hog spins from before the deaths until memory is back (hog.c) */
	zsb_hog_begin();
	/* t0 is published before the barrier, so every thread reads it after */
	cpu0 = bench_cpu_ns();
	c.t0 = bench_now_ns();
	pthread_barrier_wait(&c.barrier);

	for (unsigned int p = 0; p < k; p++)
		pthread_join(th[p], NULL);
	r->exit_ns_all = (double)(bench_now_ns() - c.t0);
	/* our polling is not work of the strategy: its CPU is taken out below */
	poll_cpu = bench_thread_cpu_ns();
	for (uint64_t until = bench_now_ns() + o->natural_ms * 1000000ull;;) {
		if (!zsb_dev_deferred_pending(c.dev))
			break;
		if (bench_now_ns() >= until) {
			r->forced = true;
			break;
		}
		bench_sleep_ns(500000);
	}
	poll_cpu = bench_thread_cpu_ns() - poll_cpu;
	zsb_dev_flush(c.dev);
	atomic_store(&c.stop_compact, true);
	if (o->compact)
		pthread_join(compactor, NULL);
	r->compactions = c.compactions;
	r->compacted_pages = c.compacted_pages;
	/*
	 * The foreground stops once the deferred work is drained: its window is "during the
	 * exits and their drains", and the floor below must not move with its stores.
	 */
	atomic_store(&c.stop_fg, true);
	if (o->foreground)
		pthread_join(fg, NULL);
	r->fg_window_ns = (double)(bench_now_ns() - c.t0);
	/* the foreground's overwrites since the flush may have queued frees of their own */
	zsb_dev_flush(c.dev);
	t = bench_thread_cpu_ns();
	wait_stable(c.dev);
	poll_cpu += bench_thread_cpu_ns() - t;
	t_done = bench_now_ns();
	cpu1 = bench_cpu_ns();
	zsb_hog_end();
	r->rss_after = bench_rss_bytes();
	atomic_store(&c.stop_sampler, true);
	pthread_join(sampler, NULL);
	pthread_barrier_destroy(&c.barrier);

	/* per-process exit time: median over the K processes */
	qsort(c.exit_ns, k, sizeof(*c.exit_ns), cmp_u64);
	r->exit_ns_proc_median = k & 1 ? (double)c.exit_ns[k / 2] :
				 ((double)c.exit_ns[k / 2 - 1] + (double)c.exit_ns[k / 2]) / 2;
	qsort(c.exit_cpu_ns, k, sizeof(*c.exit_cpu_ns), cmp_u64);
	r->exit_cpu_ns_proc_median = k & 1 ? (double)c.exit_cpu_ns[k / 2] :
				     ((double)c.exit_cpu_ns[k / 2 - 1] +
				      (double)c.exit_cpu_ns[k / 2]) / 2;
	/* the exit threads' CPU is in cpu1 - cpu0; take out the observers' */
	r->cpu_ns = cpu1 - cpu0;
	if (r->cpu_ns > c.fg_cpu_ns + c.sampler_cpu_ns + poll_cpu)
		r->cpu_ns -= c.fg_cpu_ns + c.sampler_cpu_ns + poll_cpu;
	r->fg_pages = c.fg_pages;
	r->exit_vcsw = atomic_load(&c.exit_vcsw);
	r->exit_ivcsw = atomic_load(&c.exit_ivcsw);

	/* floor and the moment memory got back to it */
	r->floor_pages = zsb_dev_pool_pages(c.dev);
	dying_peak = r->peak_pages > r->floor_pages ? r->peak_pages - r->floor_pages : 0;
	tol = dying_peak / 100;
	r->back_ns = (double)(t_done - c.t0);
	r->back_reached = false;
	for (size_t i = 0; i < c.nr_samples; i++) {
		if (c.samples[i].pages <= r->floor_pages + tol) {
			r->back_ns = (double)c.samples[i].t_us * 1000.0;
			r->back_reached = true;
			break;
		}
	}

	/* the device at rest: whatever CPU it burns now is overhead, not freeing */
	{
		uint64_t w0 = bench_now_ns(), u0 = bench_cpu_ns();

		bench_sleep_ns(IDLE_WINDOW_NS);
		r->idle_cpu_pct = 100.0 * (double)(bench_cpu_ns() - u0) /
				  (double)(bench_now_ns() - w0);
	}
	r->leftover_pages = zsb_dev_stored(c.dev);
	r->leftover_pages = r->leftover_pages > c.fg_slots ? r->leftover_pages - c.fg_slots : 0;
	zsb_dev_stats(c.dev, r);
	if (keep_samples) {
		r->samples = c.samples;
		r->nr_samples = c.nr_samples;
		c.samples = NULL;
	}
	rc = 0;
out:
	zsb_dev_destroy(c.dev);
	free(c.exit_ns);
	free(c.exit_cpu_ns);
	free(c.samples);
	free(th);
	free(args);
	return rc;
}

double zsb_fg_alone_rate(const struct zsb_opts *o, const struct bench_pages *ps)
{
	uint64_t slots = (o->fg_mib ? o->fg_mib : 1) * 256ull, n = 0;
	double rate[5];
	char err[128];
	struct zsb_dev *d = zsb_dev_create(o, ZSB_LOCKFREE, slots, err, sizeof(err));

	if (!d)
		return 0;
	for (uint64_t i = 0; i < slots; i++)
		zsb_dev_store(d, i, bench_page(ps, i * 13 + 5));
	/* five 60 ms windows, median: one window can land on another job's burst */
	for (int w = 0; w < 5; w++) {
		uint64_t t0 = bench_now_ns(), n0 = n, dt;

		do {
			for (int i = 0; i < 256; i++, n++)
				zsb_dev_store(d, n % slots, bench_page(ps, n * 13 + 5));
			dt = bench_now_ns() - t0;
		} while (dt < 60000000ull);
		rate[w] = (double)(n - n0) * 1e9 / (double)dt;
	}
	zsb_dev_destroy(d);
	return bench_median_d(rate, 5);
}
