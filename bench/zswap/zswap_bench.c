/* SPDX-License-Identifier: MIT */
/*
 * zswap_bench: store, load and invalidate throughput of the zswap engine, with
 * synchronous invalidate next to deferred invalidate (per-CPU buffers, v2's array).
 *
 * One round, per mode, on a fresh cache (no limit in the way, no shrinker):
 *   store       T threads store their share of the pages (contiguous offset ranges)
 *   load        every 4th page is loaded back (exclusive load, synchronous free)
 *   invalidate  the T threads "exit" at once: each invalidates the rest of its range in
 *               address order, as the swap core frees a dying process's entries
 *   release     zswap_flush(): until every deferred free has been done, i.e. until the
 *               memory is really back (the pool is then empty)
 * Invalidate time is what the exiting thread pays (median over threads of ns/page);
 * release is measured from the start of the invalidate phase; CPU is the whole
 * process's (drain workers included) over invalidate + release. Modes alternate inside
 * each round and figures are medians over rounds; ratios are against sync in the same
 * run. Prints a table and one JSON line.
 *
 *   zswap_bench [-c corpus.bin] [-n pages] [-t threads] [-r rounds] [-C lz4]
 *               [-m sync,percpu,v2] [-q]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zsmem/zswap.h>

#include "bench.h"

#define MAX_THREADS	64
#define MAX_ROUNDS	64

enum mode { M_SYNC, M_PERCPU, M_V2, NR_MODES };
static const char *const mode_name[NR_MODES] = { "sync", "percpu", "v2" };

struct opts {
	const char *corpus;
	size_t pages;
	unsigned int threads;
	unsigned int rounds;
	const char *comp;
	bool mode_on[NR_MODES];
	bool quiet;
};

/* Figures of one round of one mode. */
struct round {
	double store_ns;	/* per page, wall / pages */
	double load_ns;		/* per page, wall / pages */
	double inv_ns;		/* per page, median over threads of the thread's own time */
	double inv_wall_ns;	/* per page, wall / pages */
	double release_ms;
	double cpu_ms;
	uint64_t pool_full;	/* pool bytes after the store phase */
	uint64_t pool_after;	/* after release */
	uint64_t fallbacks;
	uint64_t deferred;
};

struct worker {
	pthread_t th;
	struct zswap *zs;
	const struct bench_pages *ps;
	uint64_t lo, hi;	/* offsets [lo, hi) */
	int phase;		/* 0 store, 1 load, 2 invalidate */
	uint64_t t0, t1;
	uint64_t done;
	int err;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned char page[ZSM_PAGE_SIZE];
	uint64_t off;

	w->done = 0;
	w->t0 = bench_now_ns();
	for (off = w->lo; off < w->hi; off++) {
		int ret = 0;

		switch (w->phase) {
		case 0:
			ret = zswap_store(w->zs, 0, off, bench_page(w->ps, off));
			break;
		case 1:
			if (off % 4)
				continue;
			ret = zswap_load(w->zs, 0, off, page);
			break;
		default:
			if (off % 4 == 0)
				continue;
			zswap_invalidate(w->zs, 0, off);
			break;
		}
		if (ret && !w->err)
			w->err = ret;
		w->done++;
	}
	w->t1 = bench_now_ns();
	return NULL;
}

/* Runs one phase on all workers; returns the wall time (first start to last end). */
static uint64_t run_phase(struct worker *w, unsigned int n, int phase)
{
	uint64_t t0 = UINT64_MAX, t1 = 0;

	for (unsigned int i = 0; i < n; i++) {
		w[i].phase = phase;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i])) {
			perror("pthread_create");
			exit(1);
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].err) {
			fprintf(stderr, "phase %d: error %d\n", phase, w[i].err);
			exit(1);
		}
		t0 = w[i].t0 < t0 ? w[i].t0 : t0;
		t1 = w[i].t1 > t1 ? w[i].t1 : t1;
	}
	return t1 - t0;
}

static uint64_t phase_pages(const struct worker *w, unsigned int n)
{
	uint64_t s = 0;

	for (unsigned int i = 0; i < n; i++)
		s += w[i].done;
	return s ? s : 1;
}

static void one_round(const struct opts *o, const struct bench_pages *ps, enum mode m,
		      struct round *r)
{
	struct zswap_config cfg = { 0 };
	struct worker w[MAX_THREADS];
	struct zswap_stats st;
	double per_thread[MAX_THREADS];
	uint64_t t, cpu0, inv_start;
	struct zswap *zs;

	cfg.compressor = o->comp;
	/* Far above what is stored: this measures the paths, not the limit. */
	cfg.max_pool_bytes = (uint64_t)o->pages * ZSM_PAGE_SIZE * 2 + (64u << 20);
	cfg.deferred_invalidate = m != M_SYNC;
	cfg.defer.mode = m == M_V2 ? ZS_DEFER_V2_ARRAY : ZS_DEFER_PERCPU;
	zs = zswap_create(&cfg);
	if (!zs) {
		fprintf(stderr, "zswap_create: %s\n", strerror(errno));
		exit(1);
	}
	if (zswap_swapon(zs, 0, o->pages, -1)) {
		fprintf(stderr, "zswap_swapon failed\n");
		exit(1);
	}
	memset(w, 0, sizeof(w));
	for (unsigned int i = 0; i < o->threads; i++) {
		w[i].zs = zs;
		w[i].ps = ps;
		w[i].lo = o->pages * i / o->threads;
		w[i].hi = o->pages * (i + 1) / o->threads;
	}

	t = run_phase(w, o->threads, 0);
	r->store_ns = (double)t / (double)phase_pages(w, o->threads);
	zswap_get_stats(zs, &st);
	r->pool_full = st.pool_total_size;

	t = run_phase(w, o->threads, 1);
	r->load_ns = (double)t / (double)phase_pages(w, o->threads);

	cpu0 = bench_cpu_ns();
	t = run_phase(w, o->threads, 2);
	inv_start = UINT64_MAX;
	for (unsigned int i = 0; i < o->threads; i++) {
		per_thread[i] = (double)(w[i].t1 - w[i].t0) / (double)(w[i].done ? w[i].done : 1);
		inv_start = w[i].t0 < inv_start ? w[i].t0 : inv_start;
	}
	r->inv_ns = bench_median_d(per_thread, o->threads);
	r->inv_wall_ns = (double)t / (double)phase_pages(w, o->threads);
	zswap_flush(zs);
	r->release_ms = (double)(bench_now_ns() - inv_start) / 1e6;
	r->cpu_ms = (double)(bench_cpu_ns() - cpu0) / 1e6;

	zswap_get_stats(zs, &st);
	r->pool_after = st.pool_total_size;
	r->deferred = st.deferred_invalidates;
	r->fallbacks = 0;
	if (m != M_SYNC) {
		struct zs_deferred_stats ds;

		zs_deferred_get_stats(zswap_pool(zs), &ds);
		r->fallbacks = ds.fallbacks;
	}
	zswap_destroy(zs);
}

static double med(struct round *rs, unsigned int n, size_t field)
{
	double v[MAX_ROUNDS];

	for (unsigned int i = 0; i < n; i++)
		v[i] = *(double *)((char *)&rs[i] + field);
	return bench_median_d(v, n);
}

static uint64_t med_u(struct round *rs, unsigned int n, size_t field)
{
	double v[MAX_ROUNDS];

	for (unsigned int i = 0; i < n; i++)
		v[i] = (double)*(uint64_t *)((char *)&rs[i] + field);
	return (uint64_t)bench_median_d(v, n);
}

#define MED(rs, n, f)	med(rs, n, offsetof(struct round, f))
#define MEDU(rs, n, f)	med_u(rs, n, offsetof(struct round, f))

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-c corpus] [-n pages] [-t threads] [-r rounds] [-C compressor]\n"
		"          [-m sync,percpu,v2] [-q]\n"
		"  -c FILE  4 KiB pages from a corpus file (make-corpus.sh); default: generator\n"
		"  -n N     pages (default: the corpus, or 16384 generated)\n"
		"  -t T     threads storing / exiting at once (default 2)\n"
		"  -r R     rounds, medians reported (default 5)\n"
		"  -m LIST  modes (default all)\n"
		"  -q       JSON line only\n", argv0);
}

static int parse_modes(struct opts *o, const char *list)
{
	char buf[128], *save = NULL, *tok;

	memset(o->mode_on, 0, sizeof(o->mode_on));
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int m;

		for (m = 0; m < NR_MODES; m++)
			if (!strcmp(tok, mode_name[m]))
				break;
		if (m == NR_MODES)
			return -1;
		o->mode_on[m] = true;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .threads = 2, .rounds = 5, .comp = "lz4",
			  .mode_on = { true, true, true } };
	static struct round rs[NR_MODES][MAX_ROUNDS];
	struct bench_pages ps;
	struct bench_json j;
	double sync_inv = 0, sync_rel = 0, sync_cpu = 0;
	int c;

	while ((c = getopt(argc, argv, "c:n:t:r:C:m:qh")) != -1) {
		switch (c) {
		case 'c': o.corpus = optarg; break;
		case 'n': o.pages = strtoull(optarg, NULL, 0); break;
		case 't': o.threads = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'r': o.rounds = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'C': o.comp = optarg; break;
		case 'm':
			if (parse_modes(&o, optarg)) {
				usage(argv[0]);
				return 2;
			}
			break;
		case 'q': o.quiet = true; break;
		default: usage(argv[0]); return c == 'h' ? 0 : 2;
		}
	}
	if (!o.threads || o.threads > MAX_THREADS || !o.rounds || o.rounds > MAX_ROUNDS) {
		usage(argv[0]);
		return 2;
	}
	if (!o.corpus && !o.pages)
		o.pages = 16384;
	if (bench_pages_open(&ps, o.corpus, o.pages, 1)) {
		fprintf(stderr, "cannot open page source %s\n", o.corpus ? o.corpus : "(generator)");
		return 1;
	}
	if (!o.pages)
		o.pages = ps.nr;
	if (o.pages < o.threads * 4)
		o.pages = o.threads * 4;

	/* Modes alternate inside each round so that drift on a shared machine hits all. */
	for (unsigned int r = 0; r < o.rounds; r++)
		for (int m = 0; m < NR_MODES; m++)
			if (o.mode_on[m])
				one_round(&o, &ps, (enum mode)m, &rs[m][r]);

	if (o.mode_on[M_SYNC]) {
		sync_inv = MED(rs[M_SYNC], o.rounds, inv_ns);
		sync_rel = MED(rs[M_SYNC], o.rounds, release_ms);
		sync_cpu = MED(rs[M_SYNC], o.rounds, cpu_ms);
	}

	if (!o.quiet) {
		static const int widths[] = { 8, 10, 10, 10, 10, 11, 10, 9, 9, 9, 9 };
		static const char *const head[] = { "mode", "store MB/s", "store ns", "load ns",
			"inval ns", "inval x", "release ms", "rel x", "cpu ms", "fallbk", "pool %" };
		struct bench_table t;
		char b[11][32];

		printf("zswap_bench: %zu pages from %s, %u threads, %u rounds (medians), %s\n",
		       o.pages, ps.origin, o.threads, o.rounds, o.comp);
		printf("inval ns = exiting thread's time per page; x = sync / mode (higher is "
		       "better); release = until zswap_flush returns\n");
		bench_table_init(&t, stdout, 11, widths);
		bench_table_row(&t, head);
		bench_table_rule(&t);
		for (int m = 0; m < NR_MODES; m++) {
			struct round *r = rs[m];
			const char *cells[11];
			double st_ns, inv, rel;

			if (!o.mode_on[m])
				continue;
			st_ns = MED(r, o.rounds, store_ns);
			inv = MED(r, o.rounds, inv_ns);
			rel = MED(r, o.rounds, release_ms);
			cells[0] = mode_name[m];
			cells[1] = bench_fmt(b[1], 32, "%.0f", 4096.0 / st_ns * 1e3);
			cells[2] = bench_fmt(b[2], 32, "%.0f", st_ns);
			cells[3] = bench_fmt(b[3], 32, "%.0f", MED(r, o.rounds, load_ns));
			cells[4] = bench_fmt(b[4], 32, "%.0f", inv);
			cells[5] = bench_fmt(b[5], 32, "%.2f", bench_ratio(sync_inv, inv));
			cells[6] = bench_fmt(b[6], 32, "%.2f", rel);
			cells[7] = bench_fmt(b[7], 32, "%.2f", bench_ratio(sync_rel, rel));
			cells[8] = bench_fmt(b[8], 32, "%.1f", MED(r, o.rounds, cpu_ms));
			cells[9] = bench_fmt(b[9], 32, "%llu",
					     (unsigned long long)MEDU(r, o.rounds, fallbacks));
			cells[10] = bench_fmt(b[10], 32, "%.1f", 100.0 *
					      (double)MEDU(r, o.rounds, pool_full) /
					      ((double)o.pages * 4096.0));
			bench_table_row(&t, cells);
		}
	}

	bench_json_init(&j, stdout);
	bench_json_obj_begin(&j, NULL);
	bench_json_str(&j, "bench", "zswap");
	bench_json_str(&j, "source", ps.origin);
	bench_json_u64(&j, "pages", o.pages);
	bench_json_u64(&j, "threads", o.threads);
	bench_json_u64(&j, "rounds", o.rounds);
	bench_json_str(&j, "compressor", o.comp);
	bench_json_arr_begin(&j, "modes");
	for (int m = 0; m < NR_MODES; m++) {
		struct round *r = rs[m];

		if (!o.mode_on[m])
			continue;
		bench_json_obj_begin(&j, NULL);
		bench_json_str(&j, "mode", mode_name[m]);
		bench_json_dbl(&j, "store_ns_per_page", MED(r, o.rounds, store_ns));
		bench_json_dbl(&j, "load_ns_per_page", MED(r, o.rounds, load_ns));
		bench_json_dbl(&j, "invalidate_ns_per_page", MED(r, o.rounds, inv_ns));
		bench_json_dbl(&j, "invalidate_wall_ns_per_page", MED(r, o.rounds, inv_wall_ns));
		bench_json_dbl(&j, "release_ms", MED(r, o.rounds, release_ms));
		bench_json_dbl(&j, "cpu_ms", MED(r, o.rounds, cpu_ms));
		bench_json_dbl(&j, "invalidate_speedup_vs_sync",
			       bench_ratio(sync_inv, MED(r, o.rounds, inv_ns)));
		bench_json_dbl(&j, "release_speedup_vs_sync",
			       bench_ratio(sync_rel, MED(r, o.rounds, release_ms)));
		bench_json_dbl(&j, "cpu_ratio_vs_sync",
			       bench_ratio(MED(r, o.rounds, cpu_ms), sync_cpu));
		bench_json_u64(&j, "fallbacks", MEDU(r, o.rounds, fallbacks));
		bench_json_u64(&j, "deferred", MEDU(r, o.rounds, deferred));
		bench_json_u64(&j, "pool_bytes_full", MEDU(r, o.rounds, pool_full));
		bench_json_u64(&j, "pool_bytes_after", MEDU(r, o.rounds, pool_after));
		bench_json_obj_end(&j);
	}
	bench_json_arr_end(&j);
	bench_json_u64(&j, "rss_bytes", bench_rss_bytes());
	bench_json_obj_end(&j);
	bench_json_finish(&j);
	bench_pages_free(&ps);
	return 0;
}
