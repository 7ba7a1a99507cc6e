/* SPDX-License-Identifier: MIT */
/*
 * zsd_bench - microbenchmark of the deferred free framework.
 *
 *  1. Push cost, as the caller of zs_free_deferred() sees it: median over many runs of
 *     ns per call, for the rseq per-CPU path, the fallback (no_rseq) and v2's array.
 *     The ops store an unsigned long and drain nothing, so only the push is measured;
 *     runs are short (64 pushes) so the median run contains no page swap.
 *  2. Drain cost of N handles (default 262144, sizes like compressed pages): freeing
 *     them synchronously one by one (zs_free), the grouped drain (zs_free_batch over
 *     512-handle pages, what a worker does), and v3's plain drain (zs_free per handle
 *     from the page); then the whole framework: push all N (refused pushes freed
 *     synchronously), flush, with the time the caller spent and the time until every
 *     object was really freed. Medians over --reps repetitions, ratios against the
 *     synchronous free measured in the same run. Besides wall time, the CPU time of
 *     the whole process over the same interval (getrusage(RUSAGE_SELF): user + system,
 *     every thread, so the drain workers count): a framework run can look fast on the
 *     wall clock while a worker burns as much CPU as the synchronous free on another
 *     core; on a busy machine CPU time is also the less noisy of the two.
 *
 *  3. Exit burst (DESIGN/issue 6 sizing): K threads (default 3) each push 49,152 u32
 *     slot indexes (192 MiB of 4 KiB slots, 1024 per buffer page) as fast as they can,
 *     while the drain costs ~250 ns per value, so the workers fall behind and pages
 *     pile up. Reported: synchronous fallbacks (busy / nospare) and the spare pool's
 *     high-water mark, at default sizing (floor + on-demand growth) and with growth
 *     disabled (spare_pages_max = floor), the fixed-pool behaviour.
 *
 *  4. Object burst (issue 10's row): one thread frees objects of 200-3,200 bytes back
 *     to back through the ops API (zs_pool_enable_deferred_free(), its drain a
 *     zs_free_batch()), --burst-mult times as many as the default spare floor holds
 *     (default 8x: 64 pages x 512 handles x 8 = 262,144 on 2 CPUs). Reported per push:
 *     the pushing thread's CPU time (CLOCK_THREAD_CPUTIME_ID: what the exiting thread
 *     pays, not the workers) and wall time, against zs_free() of the same objects in
 *     the same repetition; the fallbacks and how far the spare pool grew. Medians over
 *     --reps.
 *
 * usage: zsd_bench [--handles N] [--reps R] [--runs K] [--workers W] [--burst-k K]
 *                  [--burst-mult M] [--burst-only] [--worker-sched idle|nice|normal]
 * Prints one table and one JSON line. Exit 1 if a value was lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>

#include <zsmem/zsmalloc.h>

#include "bench.h"

#define PUSH_RUN	64u
#define HANDLES_PER_PAGE 512u

static enum zs_push_ret b_push(void *buf, unsigned int count, unsigned long value)
{
	unsigned long *h = buf;

	if (count >= HANDLES_PER_PAGE)
		return ZS_PUSH_FULL;
	h[count] = value;
	return count + 1 == HANDLES_PER_PAGE ? ZS_PUSH_FULL_QUEUED : ZS_PUSH_OK;
}

static uint64_t b_drained;

static void b_drain(void *private, void *buf, unsigned int count)
{
	(void)private;
	(void)buf;
	__atomic_fetch_add(&b_drained, count, __ATOMIC_RELAXED);
}

static const struct zs_deferred_ops b_ops = { .push = b_push, .drain = b_drain };

struct push_result {
	double median_ns, p90_ns;
	uint64_t refused;
	bool rseq;
	bool lost;
};

/* ---- 3. exit burst ---- */
#define BURST_SLOTS	49152ul		/* 192 MiB / 4 KiB */
#define BURST_DRAIN_NS	250u

static enum zs_push_ret b_push_u32(void *buf, unsigned int count, unsigned long value)
{
	uint32_t *p = buf;

	if (count >= 1024)
		return ZS_PUSH_FULL;
	p[count] = (uint32_t)value;
	return count + 1 == 1024 ? ZS_PUSH_FULL_QUEUED : ZS_PUSH_OK;
}

/* Stands for zram's per-slot free: ~250 ns of work per value. */
static void b_drain_slow(void *private, void *buf, unsigned int count)
{
	uint64_t end = bench_now_ns() + (uint64_t)count * BURST_DRAIN_NS;

	(void)private;
	(void)buf;
	while (bench_now_ns() < end)
		;
	__atomic_fetch_add(&b_drained, count, __ATOMIC_RELAXED);
}

static const struct zs_deferred_ops b_ops_u32 = { .push = b_push_u32, .drain = b_drain_slow };

struct burst_thread {
	pthread_t tid;
	struct zs_pool *pool;
	unsigned long first, refused;
	int *go;
};

static void *burst_main(void *arg)
{
	struct burst_thread *b = arg;
	unsigned long v;

	while (!__atomic_load_n(b->go, __ATOMIC_ACQUIRE))
		;
	for (v = b->first; v < b->first + BURST_SLOTS; v++)
		if (!zs_free_deferred(b->pool, v))
			b->refused++;	/* the caller would free it synchronously */
	return NULL;
}

struct burst_result {
	struct zs_deferred_stats st;
	uint64_t refused;
	double ms;		/* until all K threads have returned */
	bool lost;
};

static struct burst_result bench_burst(unsigned int k, bool grow)
{
	struct zs_pool *pool = zs_create_pool("burst");
	struct zs_deferred_config cfg = { 0 };
	struct burst_thread th[16];
	struct burst_result r = { 0 };
	int go = 0;
	uint64_t t0, d0 = __atomic_load_n(&b_drained, __ATOMIC_RELAXED);
	unsigned int i;

	if (!pool)
		abort();
	if (!grow) {
		/* Learn the floor the defaults give, then pin the ceiling to it. */
		if (zs_pool_enable_deferred_free_ex(pool, &b_ops_u32, NULL, &cfg))
			abort();
		zs_deferred_get_stats(pool, &r.st);
		zs_destroy_pool(pool);
		pool = zs_create_pool("burst");
		if (!pool)
			abort();
		cfg.spare_pages_max = (unsigned int)r.st.spare_pages;
	}
	if (zs_pool_enable_deferred_free_ex(pool, &b_ops_u32, NULL, &cfg))
		abort();
	for (i = 0; i < k; i++) {
		th[i] = (struct burst_thread){ .pool = pool, .first = 1 + i * BURST_SLOTS,
					       .go = &go };
		if (pthread_create(&th[i].tid, NULL, burst_main, &th[i]))
			abort();
	}
	t0 = bench_now_ns();
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < k; i++) {
		pthread_join(th[i].tid, NULL);
		r.refused += th[i].refused;
	}
	r.ms = (double)(bench_now_ns() - t0) / 1e6;
	zs_deferred_flush(pool);
	zs_deferred_get_stats(pool, &r.st);
	r.lost = r.st.pushed + r.refused != k * BURST_SLOTS || r.st.fallbacks != r.refused ||
		 __atomic_load_n(&b_drained, __ATOMIC_RELAXED) - d0 != r.st.pushed;
	zs_destroy_pool(pool);
	return r;
}

/* ---- 4. object burst ---- */
static void b_drain_free(void *private, void *buf, unsigned int count)
{
	zs_free_batch(private, buf, count);
	__atomic_fetch_add(&b_drained, count, __ATOMIC_RELAXED);
}

static const struct zs_deferred_ops b_ops_free = { .push = b_push, .drain = b_drain_free };

struct objburst_result {
	double push_cpu_ns, push_wall_ns;	/* per object, the pushing thread */
	double sync_cpu_ns, sync_wall_ns;	/* per object, zs_free() */
	double push_faults;			/* page faults the pushing thread took */
	uint64_t fallbacks, floor, spare_high, spare_grown;
	unsigned long n;
	bool lost;
};

/* n objects of 200..3200 bytes, uniformly; a sync fallback frees inline. */
static unsigned long *ob_fill(struct zs_pool *pool, unsigned long n, uint64_t seed)
{
	unsigned long *h = malloc(n * sizeof(*h)), i;
	struct zsm_rng r;

	if (!h)
		abort();
	zsm_rng_seed(&r, seed);
	for (i = 0; i < n; i++) {
		h[i] = zs_malloc(pool, 200 + zsm_rng_below(&r, 3001));
		if (!h[i]) {
			perror("zs_malloc");
			exit(1);
		}
	}
	return h;
}

/* Page faults (minor and major) the calling thread has taken. */
static uint64_t ob_thread_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (uint64_t)ru.ru_minflt + (uint64_t)ru.ru_majflt;
}

/* --worker-sched: the drain workers' scheduling in the object burst (default: normal). */
static enum zs_deferred_worker_sched b_worker_sched = ZS_DEFER_WORKERS_DEFAULT;

/* One repetition: the deferred burst, then zs_free() of the same objects. */
static struct objburst_result bench_objburst(unsigned int mult, uint64_t seed)
{
	const struct zs_deferred_config ob_cfg = { .worker_sched = b_worker_sched };
	struct objburst_result r = { 0 };
	struct zs_deferred_stats st;
	struct zs_pool_stats ps;
	struct zs_pool *pool = zs_create_pool("objburst");
	unsigned long *h, i;
	uint64_t c0, t0, f0, d0 = __atomic_load_n(&b_drained, __ATOMIC_RELAXED);

	if (!pool || zs_pool_enable_deferred_free_ex(pool, &b_ops_free, pool, &ob_cfg))
		abort();
	zs_deferred_get_stats(pool, &st);
	r.floor = st.spare_pages;
	r.n = (unsigned long)(mult ? mult : 1) * (r.floor ? r.floor : 1) * HANDLES_PER_PAGE;
	h = ob_fill(pool, r.n, seed);
	f0 = ob_thread_faults();
	c0 = bench_thread_cpu_ns();
	t0 = bench_now_ns();
	for (i = 0; i < r.n; i++)
		if (!zs_free_deferred(pool, h[i])) {
			zs_free(pool, h[i]);
			r.fallbacks++;
		}
	r.push_wall_ns = (double)(bench_now_ns() - t0) / (double)r.n;
	r.push_cpu_ns = (double)(bench_thread_cpu_ns() - c0) / (double)r.n;
	r.push_faults = (double)(ob_thread_faults() - f0);
	zs_deferred_flush(pool);
	zs_deferred_get_stats(pool, &st);
	zs_pool_stats(pool, &ps);
	r.spare_high = st.spare_high;
	r.spare_grown = st.spare_grown;
	r.lost = ps.objs_used != 0 || st.fallbacks != r.fallbacks ||
		 st.pushed + r.fallbacks != r.n ||
		 __atomic_load_n(&b_drained, __ATOMIC_RELAXED) - d0 != st.pushed;
	zs_destroy_pool(pool);
	free(h);

	pool = zs_create_pool("objburst-sync");
	if (!pool)
		abort();
	h = ob_fill(pool, r.n, seed);
	c0 = bench_thread_cpu_ns();
	t0 = bench_now_ns();
	for (i = 0; i < r.n; i++)
		zs_free(pool, h[i]);
	r.sync_wall_ns = (double)(bench_now_ns() - t0) / (double)r.n;
	r.sync_cpu_ns = (double)(bench_thread_cpu_ns() - c0) / (double)r.n;
	zs_pool_stats(pool, &ps);
	r.lost |= ps.objs_used != 0;
	zs_destroy_pool(pool);
	free(h);
	return r;
}

struct objburst_summary {
	unsigned long n;
	unsigned int mult, reps;
	double pc[64], pw[64], sc[64], sw[64], ratio[64], pf[64];
	uint64_t fb, high, grown, floor;
};

static void objburst_json(struct bench_json *j, struct objburst_summary *o)
{
	bench_json_u64(j, "objburst_objects", o->n);
	bench_json_u64(j, "objburst_mult", o->mult);
	bench_json_u64(j, "objburst_floor", o->floor);
	bench_json_u64(j, "objburst_reps", o->reps);
	bench_json_dbl(j, "objburst_push_cpu_ns", bench_median_d(o->pc, o->reps));
	bench_json_dbl(j, "objburst_push_wall_ns", bench_median_d(o->pw, o->reps));
	bench_json_dbl(j, "objburst_sync_cpu_ns", bench_median_d(o->sc, o->reps));
	bench_json_dbl(j, "objburst_sync_wall_ns", bench_median_d(o->sw, o->reps));
	bench_json_dbl(j, "objburst_speedup_cpu", bench_median_d(o->ratio, o->reps));
	bench_json_dbl(j, "objburst_push_faults", bench_median_d(o->pf, o->reps));
	bench_json_u64(j, "objburst_fallbacks", o->fb);
	bench_json_u64(j, "objburst_spare_high", o->high);
	bench_json_u64(j, "objburst_spare_grown", o->grown);
}

/* Runs `reps` object bursts into o and prints their table; true if a value was lost. */
static bool run_objburst(unsigned int mult, unsigned int reps, struct objburst_summary *o)
{
	double *pc = o->pc, *pw = o->pw, *sc = o->sc, *sw = o->sw, *ratio = o->ratio;
	uint64_t fb = 0, high = 0, grown = 0, floor = 0;
	unsigned long n = 0;
	bool lost = false;
	struct bench_table t;
	static const int w[6] = { 26, 12, 12, 12, 12, 10 };
	char c1[64], c2[64], c3[64], c4[64], c5[64];
	unsigned int rep;

	for (rep = 0; rep < reps; rep++) {
		struct objburst_result r = bench_objburst(mult, 2000 + rep);

		pc[rep] = r.push_cpu_ns;
		pw[rep] = r.push_wall_ns;
		sc[rep] = r.sync_cpu_ns;
		sw[rep] = r.sync_wall_ns;
		ratio[rep] = bench_ratio(r.sync_cpu_ns, r.push_cpu_ns);
		o->pf[rep] = r.push_faults;
		fb += r.fallbacks;
		high = r.spare_high > high ? r.spare_high : high;
		grown += r.spare_grown;
		floor = r.floor;
		n = r.n;
		lost |= r.lost;
	}
	printf("object burst: %lu objects of 200-3200 bytes (%ux the spare floor of %llu pages), "
	       "ops API, %u reps (medians)\n", n, mult, (unsigned long long)floor, reps);
	bench_table_init(&t, stdout, 6, w);
	bench_table_row(&t, (const char *const[]){ "free path", "cpu ns/obj", "wall ns/obj",
						   "fallbacks", "spare high", "grown" });
	bench_table_rule(&t);
	bench_table_row(&t, (const char *const[]){ "zs_free_deferred (push)",
		bench_fmt(c1, sizeof(c1), "%.2f", bench_median_d(pc, reps)),
		bench_fmt(c2, sizeof(c2), "%.2f", bench_median_d(pw, reps)),
		bench_fmt(c3, sizeof(c3), "%llu", (unsigned long long)fb),
		bench_fmt(c4, sizeof(c4), "%llu", (unsigned long long)high),
		bench_fmt(c5, sizeof(c5), "%llu", (unsigned long long)grown) });
	bench_table_row(&t, (const char *const[]){ "zs_free (sync)",
		bench_fmt(c1, sizeof(c1), "%.2f", bench_median_d(sc, reps)),
		bench_fmt(c2, sizeof(c2), "%.2f", bench_median_d(sw, reps)), "-", "-", "-" });
	printf("push vs sync, CPU of the freeing thread: %.1fx (median of per-rep ratios); "
	       "page faults the pusher took: %.0f (median)\n\n",
	       bench_median_d(ratio, reps), bench_median_d(o->pf, reps));
	o->n = n;
	o->mult = mult;
	o->reps = reps;
	o->fb = fb;
	o->high = high;
	o->grown = grown;
	o->floor = floor;
	return lost;
}

/* Median ns per zs_free_deferred() over `runs` runs of PUSH_RUN calls. */
static struct push_result bench_push(struct zs_deferred_config *cfg, unsigned int runs)
{
	struct zs_pool *pool = zs_create_pool("push");
	struct bench_samples s, empty;
	struct zs_deferred_stats st;
	struct push_result r = { 0 };
	unsigned long v = 1;
	uint64_t overhead;
	unsigned int i, k;
	int err;

	if (!pool)
		abort();
	err = zs_pool_enable_deferred_free_ex(pool, &b_ops, NULL, cfg);
	if (err) {
		fprintf(stderr, "enable: %s\n", strerror(-err));
		exit(1);
	}
	bench_samples_init(&s, runs);
	bench_samples_init(&empty, runs);
	/* Cost of the clock reads themselves, subtracted below. */
	for (i = 0; i < runs; i++) {
		uint64_t t0 = bench_now_ns();

		__asm__ __volatile__("" ::: "memory");
		bench_samples_add(&empty, bench_now_ns() - t0);
	}
	overhead = bench_samples_median(&empty);
	__atomic_store_n(&b_drained, 0, __ATOMIC_RELAXED);
	for (i = 0; i < runs; i++) {
		uint64_t t0, t;

		/*
		 * Untimed: drain every 24576 pushes so neither the spare pool (64 pages =
		 * 32768 values) nor v2's array (drain queued at 16384, full at 32768) runs
		 * dry whatever the scheduler does with the worker on a loaded machine.
		 */
		if (i % 384 == 383)
			zs_deferred_flush(pool);
		t0 = bench_now_ns();

		for (k = 0; k < PUSH_RUN; k++)
			r.refused += !zs_free_deferred(pool, v++);
		t = bench_now_ns() - t0;
		bench_samples_add(&s, (t > overhead ? t - overhead : 0) * 1000 / PUSH_RUN);
	}
	zs_deferred_flush(pool);
	zs_deferred_get_stats(pool, &st);
	r.rseq = st.rseq;
	r.lost = st.pushed != st.drained || st.pushed + r.refused != v - 1 ||
		 __atomic_load_n(&b_drained, __ATOMIC_RELAXED) != st.pushed;
	r.median_ns = (double)bench_samples_median(&s) / 1000.0;
	r.p90_ns = (double)bench_samples_pct(&s, 90) / 1000.0;
	bench_samples_free(&s);
	bench_samples_free(&empty);
	zs_destroy_pool(pool);
	return r;
}

/* Sizes shaped like lz4-compressed memory pages: mostly 200..3000 bytes. */
static size_t b_size(struct zsm_rng *r)
{
	uint64_t x = zsm_rng_below(r, 100);

	if (x < 25)
		return 64 + zsm_rng_below(r, 700);
	if (x < 85)
		return 700 + zsm_rng_below(r, 1900);
	return 2600 + zsm_rng_below(r, 1400);
}

/*
 * n handles to free. With `shared`, another n objects of a surviving owner are
 * allocated interleaved at random (another process's pages in the same zspages), so
 * freeing ours empties only some zspages, as when one of several processes exits.
 */
static unsigned long *b_fill(struct zs_pool *pool, unsigned long n, uint64_t seed, bool shared,
			    unsigned long *kept_out)
{
	unsigned long *h = malloc(n * sizeof(*h)), i = 0, kept = 0;
	struct zsm_rng r;

	if (!h)
		abort();
	zsm_rng_seed(&r, seed);
	while (i < n) {
		unsigned long x = zs_malloc(pool, b_size(&r));

		if (!x) {
			perror("zs_malloc");
			exit(1);
		}
		if (shared && kept < n && zsm_rng_below(&r, 2))
			kept++;		/* the survivor's: freed by zs_destroy_pool() */
		else
			h[i++] = x;
	}
	*kept_out = kept;
	return h;
}

enum drain_kind { D_SYNC, D_GROUPED, D_PLAIN, D_FW_GROUPED, D_FW_PLAIN, NR_DRAIN };

static const char *const drain_name[NR_DRAIN] = {
	"sync zs_free x N", "grouped drain", "plain drain", "framework grouped",
	"framework plain",
};

/* User + system CPU time of every thread of the process, live or exited, in ns. */
static uint64_t b_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

struct drain_result {
	double ns;		/* until every object is freed */
	double cpu_ns;		/* CPU time of all threads over the same interval */
	double caller_ns;	/* framework: time in zs_free_deferred() (+ sync fallbacks) */
	uint64_t refused;
	bool lost;
};

static struct drain_result bench_drain(enum drain_kind kind, unsigned long n, uint64_t seed,
				       unsigned int workers, bool shared)
{
	struct zs_pool *pool = zs_create_pool("drain");
	struct drain_result r = { 0 };
	unsigned long *h, i, kept, buf[HANDLES_PER_PAGE];
	struct zs_pool_stats ps;
	uint64_t t0, t1, c0;

	if (!pool)
		abort();
	if (kind == D_FW_GROUPED || kind == D_FW_PLAIN) {
		/* Enough spare pages for all N: the drain is measured, not the fallbacks. */
		struct zs_deferred_config cfg = {
			.spare_pages = (unsigned int)(n / HANDLES_PER_PAGE + 16),
			.workers = workers,
		};

		if (zs_pool_enable_deferred_handles(pool, kind == D_FW_GROUPED, &cfg))
			abort();
	}
	h = b_fill(pool, n, seed, shared, &kept);
	c0 = b_cpu_ns();
	t0 = bench_now_ns();
	switch (kind) {
	case D_SYNC:
		for (i = 0; i < n; i++)
			zs_free(pool, h[i]);
		break;
	case D_GROUPED:
		for (i = 0; i < n; i += HANDLES_PER_PAGE) {
			unsigned long c = n - i < HANDLES_PER_PAGE ? n - i : HANDLES_PER_PAGE;

			memcpy(buf, h + i, c * sizeof(*h));
			zs_free_batch(pool, buf, c);
		}
		break;
	case D_PLAIN:
		for (i = 0; i < n; i += HANDLES_PER_PAGE) {
			unsigned long c = n - i < HANDLES_PER_PAGE ? n - i : HANDLES_PER_PAGE, j;

			memcpy(buf, h + i, c * sizeof(*h));
			for (j = 0; j < c; j++)
				zs_free(pool, buf[j]);
		}
		break;
	default:
		for (i = 0; i < n; i++)
			if (!zs_free_deferred(pool, h[i])) {
				zs_free(pool, h[i]);
				r.refused++;
			}
		t1 = bench_now_ns();
		r.caller_ns = (double)(t1 - t0);
		zs_deferred_flush(pool);
		break;
	}
	t1 = bench_now_ns();
	r.cpu_ns = (double)(b_cpu_ns() - c0);
	r.ns = (double)(t1 - t0);
	if (kind != D_FW_GROUPED && kind != D_FW_PLAIN)
		r.caller_ns = r.ns;
	zs_pool_stats(pool, &ps);
	r.lost = ps.objs_used != kept;
	if (kind == D_FW_GROUPED || kind == D_FW_PLAIN) {
		struct zs_deferred_stats st;

		zs_deferred_get_stats(pool, &st);
		r.lost |= st.pushed != st.drained || st.pushed + r.refused != n;
	}
	zs_destroy_pool(pool);
	free(h);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "handles", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ "runs", required_argument, NULL, 'k' },
		{ "workers", required_argument, NULL, 'w' },
		{ "burst-k", required_argument, NULL, 'b' },
		{ "burst-mult", required_argument, NULL, 'm' },
		{ "burst-only", no_argument, NULL, 'o' },
		{ "worker-sched", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long n = 262144;
	unsigned int reps = 7, runs = 20000, workers = 1, burst_k = 3, burst_mult = 8, i, rep;
	bool burst_only = false;
	static struct objburst_summary ob;
	struct burst_result br[2];
	struct push_result pr[3];
	const char *const push_name[3] = { "rseq per-CPU", "fallback (no_rseq)", "v2 array" };
	double dns[NR_DRAIN][64], dcaller[NR_DRAIN][64], med[2][NR_DRAIN], medc[2][NR_DRAIN];
	double dcpu[NR_DRAIN][64], medcpu[2][NR_DRAIN];
	uint64_t refused[2][NR_DRAIN] = { { 0 } };
	unsigned int sc;
	bool lost = false;
	struct bench_table t;
	struct bench_json j;
	char c1[64], c2[64], c3[64], c4[64], c5[64], c6[64];
	int opt;

	while ((opt = getopt_long(argc, argv, "n:r:k:w:b:m:os:", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': n = strtoul(optarg, NULL, 0); break;
		case 'r': reps = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'k': runs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'w': workers = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'b': burst_k = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'm': burst_mult = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'o': burst_only = true; break;
		case 's':
			b_worker_sched = !strcmp(optarg, "nice") ? ZS_DEFER_WORKERS_NICE :
					 !strcmp(optarg, "idle") ? ZS_DEFER_WORKERS_IDLE :
					 ZS_DEFER_WORKERS_NORMAL;
			break;
		default:
			fprintf(stderr, "usage: %s [--handles N] [--reps R] [--runs K] [--workers W] "
				"[--burst-k K] [--burst-mult M] [--burst-only] "
				"[--worker-sched idle|nice|normal]\n",
				argv[0]);
			return 2;
		}
	}
	if (reps < 1)
		reps = 1;
	if (reps > 64)
		reps = 64;
	if (n < 1)
		n = 1;
	if (burst_k < 1)
		burst_k = 1;
	if (burst_k > 16)
		burst_k = 16;
	if (burst_mult < 1)
		burst_mult = 1;
	if (burst_only) {
		lost = run_objburst(burst_mult, reps, &ob);
		bench_json_init(&j, stdout);
		bench_json_obj_begin(&j, NULL);
		bench_json_str(&j, "bench", "zsd_bench");
		objburst_json(&j, &ob);
		bench_json_u64(&j, "lost", lost);
		bench_json_obj_end(&j);
		bench_json_finish(&j);
		return lost ? 1 : 0;
	}

	{
		struct zs_deferred_config c0 = { .spare_pages = 64 };
		struct zs_deferred_config c1cfg = { .spare_pages = 64, .no_rseq = true };
		struct zs_deferred_config c2cfg = { .mode = ZS_DEFER_V2_ARRAY };

		pr[0] = bench_push(&c0, runs);
		pr[1] = bench_push(&c1cfg, runs);
		pr[2] = bench_push(&c2cfg, runs);
	}
	for (i = 0; i < 3; i++)
		lost |= pr[i].lost;

	for (i = 0; i < 3; i++) {
		const char *name = i == 0 && !pr[0].rseq ? "rseq (unavailable!)" : push_name[i];
		static const int w1[4] = { 24, 12, 12, 10 };

		if (i == 0) {
			bench_table_init(&t, stdout, 4, w1);
			bench_table_row(&t, (const char *const[]){ "push path", "median ns",
								   "p90 ns", "refused" });
			bench_table_rule(&t);
		}
		bench_table_row(&t, (const char *const[]){ name,
			bench_fmt(c1, sizeof(c1), "%.2f", pr[i].median_ns),
			bench_fmt(c2, sizeof(c2), "%.2f", pr[i].p90_ns),
			bench_fmt(c3, sizeof(c3), "%llu", (unsigned long long)pr[i].refused) });
	}
	printf("\n");

	for (sc = 0; sc < 2; sc++) {
		static const int w2[7] = { 24, 12, 10, 12, 12, 10, 10 };

		/* Interleave the kinds within each repetition so drift hits all alike. */
		for (rep = 0; rep < reps; rep++) {
			for (i = 0; i < NR_DRAIN; i++) {
				struct drain_result dr = bench_drain(i, n, 1000 + rep, workers, sc);

				dns[i][rep] = dr.ns;
				dcaller[i][rep] = dr.caller_ns;
				dcpu[i][rep] = dr.cpu_ns;
				refused[sc][i] += dr.refused;
				lost |= dr.lost;
			}
		}
		for (i = 0; i < NR_DRAIN; i++) {
			med[sc][i] = bench_median_d(dns[i], reps);
			medc[sc][i] = bench_median_d(dcaller[i], reps);
			medcpu[sc][i] = bench_median_d(dcpu[i], reps);
		}
		printf("%lu handles, %s, %u reps (medians), %u worker(s)\n", n,
		       sc ? "pool shared with as many surviving objects" : "pool emptied",
		       reps, workers);
		bench_table_init(&t, stdout, 7, w2);
		bench_table_row(&t, (const char *const[]){ "free strategy", "ns/handle", "vs sync",
							   "caller ns/h", "cpu ns/h",
							   "cpu vs sync", "refused" });
		bench_table_rule(&t);
		for (i = 0; i < NR_DRAIN; i++)
			bench_table_row(&t, (const char *const[]){ drain_name[i],
				bench_fmt(c1, sizeof(c1), "%.2f", med[sc][i] / (double)n),
				bench_fmt(c2, sizeof(c2), "%.2fx",
					  bench_ratio(med[sc][D_SYNC], med[sc][i])),
				bench_fmt(c3, sizeof(c3), "%.2f", medc[sc][i] / (double)n),
				bench_fmt(c5, sizeof(c5), "%.2f", medcpu[sc][i] / (double)n),
				bench_fmt(c6, sizeof(c6), "%.2fx",
					  bench_ratio(medcpu[sc][D_SYNC], medcpu[sc][i])),
				bench_fmt(c4, sizeof(c4), "%llu",
					  (unsigned long long)refused[sc][i]) });
		printf("\n");
	}
	for (i = 0; i < 2; i++) {
		br[i] = bench_burst(burst_k, i == 0);
		lost |= br[i].lost;
	}
	printf("exit burst: %u threads x %lu u32 slots, drain %u ns/value, default workers\n",
	       burst_k, BURST_SLOTS, BURST_DRAIN_NS);
	{
		static const int w3[7] = { 24, 8, 8, 10, 10, 12, 10 };
		static const char *const bn[2] = { "floor + growth", "floor only" };

		bench_table_init(&t, stdout, 7, w3);
		bench_table_row(&t, (const char *const[]){ "spare pool", "floor", "ceiling",
							   "high", "grown", "fallbacks", "ms" });
		bench_table_rule(&t);
		for (i = 0; i < 2; i++) {
			char c7[64];

			bench_table_row(&t, (const char *const[]){ bn[i],
				bench_fmt(c1, sizeof(c1), "%llu",
					  (unsigned long long)br[i].st.spare_pages),
				bench_fmt(c2, sizeof(c2), "%llu",
					  (unsigned long long)br[i].st.spare_max),
				bench_fmt(c3, sizeof(c3), "%llu",
					  (unsigned long long)br[i].st.spare_high),
				bench_fmt(c4, sizeof(c4), "%llu",
					  (unsigned long long)br[i].st.spare_grown),
				bench_fmt(c5, sizeof(c5), "%llu/%llu",
					  (unsigned long long)br[i].st.fallbacks_busy,
					  (unsigned long long)br[i].st.fallbacks_nospare),
				bench_fmt(c7, sizeof(c7), "%.2f", br[i].ms) });
		}
		printf("(fallbacks: busy/nospare)\n\n");
	}
	lost |= run_objburst(burst_mult, reps, &ob);
	printf("lost values: %s\n", lost ? "YES (bug)" : "0");

	bench_json_init(&j, stdout);
	bench_json_obj_begin(&j, NULL);
	bench_json_str(&j, "bench", "zsd_bench");
	bench_json_u64(&j, "handles", n);
	bench_json_u64(&j, "reps", reps);
	bench_json_u64(&j, "push_runs", runs);
	bench_json_u64(&j, "workers", workers);
	bench_json_bool(&j, "rseq", pr[0].rseq);
	bench_json_dbl(&j, "push_rseq_ns", pr[0].median_ns);
	bench_json_dbl(&j, "push_fallback_ns", pr[1].median_ns);
	bench_json_dbl(&j, "push_v2_ns", pr[2].median_ns);
	for (sc = 0; sc < 2; sc++) {
		const char *sfx = sc ? "_shared" : "";
		char key[64];

		for (i = 0; i < NR_DRAIN; i++) {
			static const char *const k[NR_DRAIN] = { "sync", "grouped", "plain",
								 "fw_grouped", "fw_plain" };

			snprintf(key, sizeof(key), "%s_ns_per_handle%s", k[i], sfx);
			bench_json_dbl(&j, key, med[sc][i] / (double)n);
			snprintf(key, sizeof(key), "%s_cpu_ns_per_handle%s", k[i], sfx);
			bench_json_dbl(&j, key, medcpu[sc][i] / (double)n);
			if (i >= D_FW_GROUPED) {
				snprintf(key, sizeof(key), "%s_caller_ns_per_handle%s", k[i], sfx);
				bench_json_dbl(&j, key, medc[sc][i] / (double)n);
			}
		}
		snprintf(key, sizeof(key), "grouped_speedup_vs_sync%s", sfx);
		bench_json_dbl(&j, key, bench_ratio(med[sc][D_SYNC], med[sc][D_GROUPED]));
		snprintf(key, sizeof(key), "fw_grouped_speedup_vs_sync%s", sfx);
		bench_json_dbl(&j, key, bench_ratio(med[sc][D_SYNC], med[sc][D_FW_GROUPED]));
		snprintf(key, sizeof(key), "grouped_cpu_speedup_vs_sync%s", sfx);
		bench_json_dbl(&j, key, bench_ratio(medcpu[sc][D_SYNC], medcpu[sc][D_GROUPED]));
		snprintf(key, sizeof(key), "fw_grouped_cpu_speedup_vs_sync%s", sfx);
		bench_json_dbl(&j, key, bench_ratio(medcpu[sc][D_SYNC], medcpu[sc][D_FW_GROUPED]));
	}
	bench_json_u64(&j, "burst_threads", burst_k);
	bench_json_u64(&j, "burst_fallbacks", br[0].st.fallbacks);
	bench_json_u64(&j, "burst_spare_high", br[0].st.spare_high);
	bench_json_u64(&j, "burst_spare_grown", br[0].st.spare_grown);
	bench_json_u64(&j, "burst_fallbacks_no_growth", br[1].st.fallbacks);
	objburst_json(&j, &ob);
	bench_json_u64(&j, "lost", lost);
	bench_json_obj_end(&j);
	bench_json_finish(&j);
	return lost ? 1 : 0;
}
