/* SPDX-License-Identifier: MIT */
/*
 * runner.c - zsbench's run plan: the pages, every strategy's repetitions interleaved,
 * their medians, and the fallback sweep.
 */
#define _GNU_SOURCE
#include "zsbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void aggregate(struct zsb_result *res)
{
	double a[ZSB_MAX_REPS], b[ZSB_MAX_REPS], c[ZSB_MAX_REPS], d[ZSB_MAX_REPS];
	double e[ZSB_MAX_REPS], f[ZSB_MAX_REPS];
	double g[ZSB_MAX_REPS], h[ZSB_MAX_REPS], x[ZSB_MAX_REPS];
	uint64_t wsum = 0, wn = 0;
	unsigned int n = res->reps;

	res->back_all_reached = true;
	res->spare_low_min = UINT64_MAX;
	for (unsigned int i = 0; i < n; i++) {
		struct zsb_rep *r = &res->rep[i];

		a[i] = r->exit_ns_proc_median;
		b[i] = r->exit_ns_all;
		c[i] = r->back_ns;
		d[i] = (double)r->cpu_ns;
		e[i] = r->fg_window_ns > 0 ? (double)r->fg_pages * 1e9 / r->fg_window_ns : 0;
		f[i] = r->idle_cpu_pct;
		x[i] = r->exit_cpu_ns_proc_median;
		g[i] = (double)r->rss_before;
		h[i] = (double)r->rss_after;
		if (r->fallbacks > res->fallbacks_max)
			res->fallbacks_max = r->fallbacks;
		if (r->miss_free > res->miss_free_max)
			res->miss_free_max = r->miss_free;
		if (r->leftover_pages > res->leftover_max)
			res->leftover_max = r->leftover_pages;
		if (r->spare_low < res->spare_low_min)
			res->spare_low_min = r->spare_low;
		res->spare_pages = r->spare_pages;
		if ((double)r->wait_ns_max > res->wait_max_ns)
			res->wait_max_ns = (double)r->wait_ns_max;
		wsum += r->wait_ns_sum;
		wn += r->wait_samples;
		res->back_all_reached &= r->back_reached;
		res->forced += r->forced;
		res->pages_per_proc = r->pages_per_proc;
	}
	res->exit_proc_ns = bench_median_d(a, n);
	res->exit_cpu_ns = bench_median_d(x, n);
	res->exit_all_ns = bench_median_d(b, n);
	res->back_ns = bench_median_d(c, n);
	res->cpu_ns = bench_median_d(d, n);
	res->fg_pps = bench_median_d(e, n);
	res->idle_cpu_pct = bench_median_d(f, n);
	res->rss_before = bench_median_d(g, n);
	res->rss_after = bench_median_d(h, n);
	res->wait_avg_ns = wn ? (double)wsum / (double)wn : 0;
	if (res->spare_low_min == UINT64_MAX)
		res->spare_low_min = 0;
}

int zsb_runner_prepare(struct zsb_run *run)
{
	const struct zsb_opts *o = &run->o;
	struct bench_pages *ps = &run->ps;
	int rc;

	/* a bad compressor or a missing backend: say so once, before any work */
	{
		char err[256];
		struct zsb_dev *probe = zsb_dev_create(o, ZSB_LOCKFREE, 256, err, sizeof(err));

		if (!probe) {
			fprintf(stderr, "zsbench: %s\n", err);
			return 2;
		}
		zsb_dev_destroy(probe);
	}

	/* 64 MiB of distinct pages at most: enough variety; larger sets cycle */
	rc = bench_pages_open(ps, o->corpus, o->corpus ? 0 : 16384, o->seed);
	if (rc) {
		fprintf(stderr, "zsbench: pages from %s: %s\n", o->corpus ? o->corpus : "generator",
			strerror(-rc));
		return 1;
	}
	if (!o->quiet)
		printf("zsbench: backend %s, %s, K=%u processes x %u MiB (%u pages each), "
		       "%u repetitions, pages: %s (%zu distinct)%s%s\n",
		       zsb_backend_name(o->backend), o->comp, o->k, o->mib, o->mib * 256, o->reps,
		       ps->origin, ps->nr, o->foreground ? ", foreground thread on" : "",
		       o->compact ? ", compaction thread on" : "");
	fflush(stdout);
	if (o->foreground)
		run->fg_alone = zsb_fg_alone_rate(o, ps);

	return 0;
}

void zsb_runner_run(struct zsb_run *run)
{
	const struct zsb_opts *o = &run->o;
	const struct bench_pages *ps = &run->ps;
	struct zsb_result *res = run->res;
	struct zsb_sweep_row *sweep = NULL;
	unsigned int nsweep = 0;

	if (o->hog && zsb_hog_start(o->hog)) {
		fprintf(stderr, "zsbench: cannot start the hog processes\n");
		run->failed = 1;
		return;
	}
	/*
	 * Repetitions outermost: drift on a shared machine hits every strategy alike. With
	 * the hog (-H), each repetition runs every strategy quiet, then under the hog, so
	 * the two conditions see the same drift too.
	 */
	for (unsigned int rep = 0; rep < o->reps * (o->hog ? 2 : 1); rep++) {
		bool hog = o->hog && (rep & 1);

		zsb_hog_arm(hog);
		for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
			struct zsb_result *r = hog ? &run->res_hog[s] : &res[s];
			const char *why;
			char err[160];

			if (!o->strat[s])
				continue;
			if (!zsb_backend_supports(o->backend, (enum zsb_strategy)s, &why)) {
				snprintf(r->err, sizeof(r->err), "%s", why);
				continue;
			}
			if (r->err[0])
				continue;
			if (zsb_run_rep(o, ps, (enum zsb_strategy)s, o->k, o->mib,
					!hog && r->reps == o->reps - 1, &r->rep[r->reps], err,
					sizeof(err))) {
				snprintf(r->err, sizeof(r->err), "%s", err);
				fprintf(stderr, "zsbench: %s: %s\n", zsb_strategies[s].name, err);
				run->failed = 1;
				continue;
			}
			r->reps++;
			r->ran = true;
			if (!o->quiet && isatty(2)) {
				fprintf(stderr, "\r  rep %u/%u %-12s%s", r->reps, o->reps,
					zsb_strategies[s].name, hog ? " (hog)" : "      ");
				fflush(stderr);
			}
		}
	}
	if (!o->quiet && isatty(2))
		fprintf(stderr, "\r%40s\r", "");
	zsb_hog_arm(false);
	zsb_hog_stop();
	for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
		if (res[s].ran)
			aggregate(&res[s]);
		if (run->res_hog[s].ran)
			aggregate(&run->res_hog[s]);
	}

	/* the fallback sweep: the deferred strategies that can run out of spare room */
	if (o->sweep_max_k) {
		static const enum zsb_strategy sw[] = { ZSB_PERCPU_GROUPED, ZSB_V2_ARRAY };
		/* the sweep counts fallbacks; waiting for v2's half-full array is no use there */
		struct zsb_opts so = *o;

		so.natural_ms = 0;

		sweep = calloc(o->sweep_max_k * 2, sizeof(*sweep));
		for (unsigned int k = 1; sweep && k <= o->sweep_max_k; k++) {
			for (unsigned int i = 0; i < 2; i++) {
				struct zsb_sweep_row *row = &sweep[nsweep];
				const char *why;
				char err[160];

				if (!zsb_backend_supports(o->backend, sw[i], &why))
					continue;
				row->k = k;
				row->s = sw[i];
				row->ok = !zsb_run_rep(&so, ps, sw[i], k, o->sweep_mib, false,
						       &row->r, err, sizeof(err));
				if (!row->ok)
					fprintf(stderr, "zsbench: sweep K=%u %s: %s\n", k,
						zsb_strategies[sw[i]].name, err);
				nsweep++;
			}
		}
	}

	run->sweep = sweep;
	run->nsweep = nsweep;
}

void zsb_runner_free(struct zsb_run *run)
{
	for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
		for (unsigned int i = 0; i < run->res[s].reps; i++)
			free(run->res[s].rep[i].samples);
		for (unsigned int i = 0; i < run->res_hog[s].reps; i++)
			free(run->res_hog[s].rep[i].samples);
	}
	free(run->sweep);
	bench_pages_free(&run->ps);
}
