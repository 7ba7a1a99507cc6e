/* SPDX-License-Identifier: MIT */
/*
 * zs_batch_speed - how much cheaper is zs_free_batch() than zs_free() one by one?
 * A benchmark (ctest runs it once with tiny sizes as a smoke test, where it checks only
 * that every page went back). It replaces the timing printout zs_free_batch's test had:
 * "-o 2 -f 50" is that scenario (a random half freed), with medians and CPU time.
 *
 * The scenario is the exit path: a process's pages were stored in order, so its
 * objects (lz4-compressed page sizes, 100..3600 bytes, most around 700..1500, a few
 * stored raw at 4096) are spread over all classes, and it frees all of them. The
 * frees come either in allocation order or shuffled, and either one by one with
 * zs_free() or in chunks of `chunk` handles (one 4 KiB page of u64 values = 512) with
 * zs_free_batch(), by one thread or by `threads` drain workers taking chunks in turn.
 *
 * Every repetition refills the pool (untimed, objects written in full so that the
 * pool is cold as after a real fill) and runs the modes in a rotating order, so drift
 * on a shared machine hits all of them alike. Reported: the median over repetitions
 * of ns per object, wall clock and CPU time (all threads, user + system: madvise and
 * page-table work count; the system part is shown apart), and the one-by-one / batch
 * ratio of the medians.
 *
 * With -f P only the first P% of the (ordered or shuffled) handles are timed; the
 * rest are freed untimed afterwards (-f 50 with random order: few zspages empty, the
 * allocator's own cost without the page releases).
 *
 * usage: zs_batch_speed [-n objects] [-f percent] [-r reps] [-c chunk] [-t threads]
 *                       [-s seed] [-o orders: 1 in order, 2 random, 3 both]
 */
#define _GNU_SOURCE	/* RUSAGE_THREAD */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"	/* CHECK(): the smoke run's "every page back" */

enum { M_SINGLE, M_BATCH, NR_METHODS };
enum { O_INORDER, O_RANDOM, NR_ORDERS };

static const char *const method_name[NR_METHODS] = { "zs_free", "zs_free_batch" };
static const char *const order_name[NR_ORDERS] = { "in order", "random" };

static struct zs_pool *pool;
static unsigned long *handles, *work;
static size_t *sizes;
static size_t nobj, nfree, chunk = 512;
static unsigned int nthreads = 1;

struct worker {
	pthread_t tid;
	int method;
	double cpu, sys, t0, t1;	/* thread CPU and system seconds; wall start, end */
};

static _Atomic size_t next_chunk;
static pthread_barrier_t start_bar;

static double ts_sec(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec * 1e-9;
}

/* System (kernel) CPU time of the calling thread: madvise, page-table work. */
static double sys_sec(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static double clock_sec(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts_sec(&ts);
}

/*
 * A compressed-page size: a mixture peaked around 700..1500 bytes (typical lz4 output
 * for anonymous memory), a tail of poorly compressible pages, small ones for sparse
 * pages, and 3% stored raw (4096, the huge class).
 */
static size_t object_size(unsigned long long *s)
{
	unsigned int r = (unsigned int)(t_rand(s) % 100);
	long v;

	if (r < 3)
		return 4096;
	if (r < 13)
		return 100 + t_rand(s) % 300;
	if (r < 25)
		return 1500 + t_rand(s) % 2100;
	/* Sum of four uniforms: roughly normal, mean 1100, spread +-800. */
	v = 300;
	for (int k = 0; k < 4; k++)
		v += (long)(t_rand(s) % 401);
	return (size_t)v;
}

static void fill(void)
{
	static unsigned char junk[4096];

	if (!junk[0])
		memset(junk, 0x5a, sizeof(junk));
	for (size_t i = 0; i < nobj; i++) {
		handles[i] = zs_malloc(pool, sizes[i]);
		CHECK(handles[i]);
		zs_obj_write(pool, handles[i], junk, sizes[i]);
	}
}

/* Frees work[] chunk by chunk; chunks are handed out in turn to the workers. */
static void free_chunks(int method)
{
	size_t c, nchunks = (nfree + chunk - 1) / chunk;

	while ((c = atomic_fetch_add(&next_chunk, 1)) < nchunks) {
		unsigned long *h = work + c * chunk;
		size_t n = c + 1 < nchunks ? chunk : nfree - c * chunk;

		if (method == M_BATCH) {
			zs_free_batch(pool, h, n);
		} else {
			for (size_t i = 0; i < n; i++)
				zs_free(pool, h[i]);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	double c0, s0;

	pthread_barrier_wait(&start_bar);
	s0 = sys_sec();
	c0 = clock_sec(CLOCK_THREAD_CPUTIME_ID);
	w->t0 = clock_sec(CLOCK_MONOTONIC);
	free_chunks(w->method);
	w->t1 = clock_sec(CLOCK_MONOTONIC);
	w->cpu = clock_sec(CLOCK_THREAD_CPUTIME_ID) - c0;
	w->sys = sys_sec() - s0;
	return NULL;
}

/* One timed free of nfree objects; returns wall, CPU and system CPU seconds. */
static void run_one(int method, int order, unsigned long long seed, double *wall, double *cpu,
		    double *sys)
{
	struct worker w[16];
	double t0, t1;

	fill();
	memcpy(work, handles, nobj * sizeof(*work));
	if (order == O_RANDOM) {
		unsigned long long s = seed | 1;

		for (size_t i = nobj; i > 1; i--) {
			size_t j = (size_t)(t_rand(&s) % i);
			unsigned long t = work[j];

			work[j] = work[i - 1];
			work[i - 1] = t;
		}
	}
	atomic_store(&next_chunk, 0);
	for (unsigned int t = 0; t < nthreads; t++) {
		w[t].method = method;
		w[t].cpu = 0;
	}
	if (nthreads == 1) {
		double s0 = sys_sec(), c0 = clock_sec(CLOCK_THREAD_CPUTIME_ID);

		t0 = clock_sec(CLOCK_MONOTONIC);
		free_chunks(method);
		*wall = clock_sec(CLOCK_MONOTONIC) - t0;
		*cpu = clock_sec(CLOCK_THREAD_CPUTIME_ID) - c0;
		*sys = sys_sec() - s0;
	} else {
		pthread_barrier_init(&start_bar, NULL, nthreads + 1);
		for (unsigned int t = 0; t < nthreads; t++)
			CHECK(pthread_create(&w[t].tid, NULL, worker_main, &w[t]) == 0);
		pthread_barrier_wait(&start_bar);
		*cpu = 0;
		*sys = 0;
		for (unsigned int t = 0; t < nthreads; t++)
			pthread_join(w[t].tid, NULL);
		/* Wall: first worker's start to last worker's end. */
		t0 = w[0].t0;
		t1 = w[0].t1;
		for (unsigned int t = 0; t < nthreads; t++) {
			*cpu += w[t].cpu;
			*sys += w[t].sys;
			t0 = w[t].t0 < t0 ? w[t].t0 : t0;
			t1 = w[t].t1 > t1 ? w[t].t1 : t1;
		}
		*wall = t1 - t0;
		pthread_barrier_destroy(&start_bar);
	}
	for (size_t i = nfree; i < nobj; i++)
		zs_free(pool, work[i]);
	/* Everything went back (zs_compact also flushes the page source's dirty list). */
	zs_compact(pool);
	CHECKF(zs_get_total_pages(pool) == 0, "%lu pages left", zs_get_total_pages(pool));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	unsigned int reps = 7, pct = 100, orders = 3, r, m, o, k;
	unsigned long long seed = 1, s;
	double (*wall)[NR_METHODS][NR_ORDERS], (*cpu)[NR_METHODS][NR_ORDERS];
	double (*sys)[NR_METHODS][NR_ORDERS];
	double med_wall[NR_METHODS][NR_ORDERS], med_cpu[NR_METHODS][NR_ORDERS];
	size_t bytes = 0;
	int opt;

	nobj = 262144;
	while ((opt = getopt(argc, argv, "n:f:r:c:t:s:o:")) != -1) {
		switch (opt) {
		case 'o': orders = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'n': nobj = strtoul(optarg, NULL, 0); break;
		case 'f': pct = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'r': reps = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'c': chunk = strtoul(optarg, NULL, 0); break;
		case 't': nthreads = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-n objects] [-f percent] [-r reps] [-c chunk] "
				"[-t threads] [-s seed] [-o 1|2|3]\n", argv[0]);
			return T_FAIL;
		}
	}
	CHECK(nobj && reps && chunk && nthreads >= 1 && nthreads <= 16 && pct && pct <= 100);
	nfree = nobj * pct / 100;

	handles = malloc(nobj * sizeof(*handles));
	work = malloc(nobj * sizeof(*work));
	sizes = malloc(nobj * sizeof(*sizes));
	wall = calloc(reps, sizeof(*wall));
	cpu = calloc(reps, sizeof(*cpu));
	sys = calloc(reps, sizeof(*sys));
	CHECK(handles && work && sizes && wall && cpu && sys);
	s = seed * 2 + 1;
	for (size_t i = 0; i < nobj; i++) {
		sizes[i] = object_size(&s);
		bytes += sizes[i];
	}
	pool = zs_create_pool("batch_speed");
	CHECK(pool);

	printf("zs_batch_speed: %zu objects (%.1f MiB, mean %zu B), %zu timed, chunk %zu, "
	       "%u thread%s, %u reps\n", nobj, (double)bytes / (1 << 20), bytes / nobj, nfree,
	       chunk, nthreads, nthreads > 1 ? "s" : "", reps);
	for (r = 0; r < reps; r++) {
		/* Rotate the order of the four runs from one repetition to the next. */
		for (k = 0; k < NR_METHODS * NR_ORDERS; k++) {
			unsigned int x = (k + r) % (NR_METHODS * NR_ORDERS);

			m = x % NR_METHODS;
			o = x / NR_METHODS;
			if (!(orders & (1u << o)))
				continue;
			run_one((int)m, (int)o, seed + r, &wall[r][m][o], &cpu[r][m][o],
				&sys[r][m][o]);
		}
	}
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);

	for (m = 0; m < NR_METHODS; m++) {
		for (o = 0; o < NR_ORDERS; o++) {
			double v[reps], c[reps], y[reps];

			if (!(orders & (1u << o)))
				continue;

			for (r = 0; r < reps; r++) {
				v[r] = wall[r][m][o] * 1e9 / (double)nfree;
				c[r] = cpu[r][m][o] * 1e9 / (double)nfree;
				y[r] = sys[r][m][o] * 1e9 / (double)nfree;
			}
			med_wall[m][o] = median(v, reps);
			med_cpu[m][o] = median(c, reps);
			printf("  %-14s %-9s  wall %6.1f ns/obj (min %6.1f)  cpu %6.1f ns/obj "
			       "(min %6.1f, of which sys %6.1f)\n", method_name[m], order_name[o],
			       med_wall[m][o], v[0], med_cpu[m][o], c[0], median(y, reps));
		}
	}
	for (o = 0; o < NR_ORDERS; o++)
		if (orders & (1u << o))
			printf("  ratio zs_free / zs_free_batch, %-9s  wall %.2fx  cpu %.2fx\n",
			       order_name[o], med_wall[M_SINGLE][o] / med_wall[M_BATCH][o],
			       med_cpu[M_SINGLE][o] / med_cpu[M_BATCH][o]);
	free(handles);
	free(work);
	free(sizes);
	free(wall);
	free(cpu);
	free(sys);
	return T_PASS;
}
