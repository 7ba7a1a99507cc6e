/* SPDX-License-Identifier: MIT */
/*
 * report.c - what zsbench prints and writes: the table, the fallback sweep, the
 * targets, the JSON file (with the --kernel reference row) and the plots.
 */
#define _GNU_SOURCE
#include "zsbench.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Median and range of a measure over repetitions. */
struct zsb_spread {
	double med, min, max;
	unsigned int n;
};

enum zsb_measure {
	ZSB_M_EXIT, ZSB_M_ALL_EXIT, ZSB_M_BACK, ZSB_M_BACK_VS_SYNC_EXIT,
	ZSB_M_EXIT_MS, ZSB_M_ALL_EXIT_MS, ZSB_M_VCSW, ZSB_M_IVCSW,
};

/*
 * Over the repetitions both ran: sync's exit time over r's (the speed-up, paired within
 * a repetition, so drift between repetitions cancels), r's memory back over sync's
 * all-exit time of the same repetition, or r's own figures (times in ms, the exiting
 * threads' context switches).
 */
static struct zsb_spread zsb_spread_of(const struct zsb_result *base, const struct zsb_result *r,
				       enum zsb_measure m)
{
	struct zsb_spread sp = { 0, 0, 0, 0 };
	double v[ZSB_MAX_REPS];
	unsigned int n = r->reps;

	if (base->reps < n)
		n = base->reps;
	for (unsigned int i = 0; i < n; i++) {
		const struct zsb_rep *b = &base->rep[i], *p = &r->rep[i];

		switch (m) {
		case ZSB_M_EXIT:
			v[i] = bench_ratio(b->exit_ns_proc_median, p->exit_ns_proc_median);
			break;
		case ZSB_M_ALL_EXIT:
			v[i] = bench_ratio(b->exit_ns_all, p->exit_ns_all);
			break;
		case ZSB_M_BACK:
			v[i] = p->back_ns / 1e6;
			break;
		case ZSB_M_BACK_VS_SYNC_EXIT:
			v[i] = bench_ratio(p->back_ns, b->exit_ns_all);
			break;
		case ZSB_M_EXIT_MS:
			v[i] = p->exit_ns_proc_median / 1e6;
			break;
		case ZSB_M_ALL_EXIT_MS:
			v[i] = p->exit_ns_all / 1e6;
			break;
		case ZSB_M_VCSW:
			v[i] = (double)p->exit_vcsw;
			break;
		case ZSB_M_IVCSW:
			v[i] = (double)p->exit_ivcsw;
			break;
		}
		if (!i || v[i] < sp.min)
			sp.min = v[i];
		if (!i || v[i] > sp.max)
			sp.max = v[i];
	}
	sp.n = n;
	if (n)
		sp.med = bench_median_d(v, n);
	return sp;
}

static void zsb_report_contention(const struct zsb_run *run)
{
	const struct zsb_opts *o = &run->o;

	if (!o->hog)
		return;
	printf("\ncontention: %u hog process%s spinning (own session) from the deaths until "
	       "memory is back, every other repetition;\nexit speed-up = sync's time / the "
	       "strategy's, paired within a repetition: median [min-max] of %u\n", o->hog,
	       o->hog == 1 ? "" : "es", o->reps);
	printf("%-10s %-6s %24s %24s %22s %9s %7s\n", "strategy", "cond", "exit/proc speed-up",
	       "all-exit speed-up", "mem-back ms", "/sync-all", "fallbk");
	for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
		if (s == ZSB_SYNC)
			continue;
		for (int h = 0; h < 2; h++) {
			const struct zsb_result *set = h ? run->res_hog : run->res;
			const struct zsb_result *r = &set[s], *b = &set[ZSB_SYNC];
			struct zsb_spread x, y, z, w;

			if (!r->ran || !b->ran)
				continue;
			x = zsb_spread_of(b, r, ZSB_M_EXIT);
			y = zsb_spread_of(b, r, ZSB_M_ALL_EXIT);
			z = zsb_spread_of(b, r, ZSB_M_BACK);
			w = zsb_spread_of(b, r, ZSB_M_BACK_VS_SYNC_EXIT);
			printf("%-10s %-6s %7.1f [%6.1f-%6.1f] %7.1f [%6.1f-%6.1f] %7.1f [%5.1f-%6.1f] "
			       "%9.2f %7llu\n", zsb_strategies[s].name, h ? "hog" : "quiet",
			       x.med, x.min, x.max, y.med, y.min, y.max, z.med, z.min, z.max, w.med,
			       (unsigned long long)r->fallbacks_max);
		}
	}
}

static void zsb_json_spread(struct bench_json *j, const char *key, struct zsb_spread sp)
{
	bench_json_obj_begin(j, key);
	bench_json_dbl(j, "median", sp.med);
	bench_json_dbl(j, "min", sp.min);
	bench_json_dbl(j, "max", sp.max);
	bench_json_u64(j, "n", sp.n);
	bench_json_obj_end(j);
}

static void zsb_json_contention(struct bench_json *j, const struct zsb_run *run)
{
	const struct zsb_opts *o = &run->o;

	bench_json_obj_begin(j, "contention");
	bench_json_u64(j, "hog_processes", o->hog);
	bench_json_u64(j, "repetitions", o->reps);
	bench_json_arr_begin(j, "strategies");
	for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
		if (s == ZSB_SYNC || !run->res[s].ran || !run->res_hog[s].ran ||
		    !run->res[ZSB_SYNC].ran || !run->res_hog[ZSB_SYNC].ran)
			continue;
		bench_json_obj_begin(j, NULL);
		bench_json_str(j, "name", zsb_strategies[s].name);
		for (int h = 0; h < 2; h++) {
			const struct zsb_result *set = h ? run->res_hog : run->res;
			const struct zsb_result *r = &set[s], *b = &set[ZSB_SYNC];

			bench_json_obj_begin(j, h ? "hog" : "quiet");
			zsb_json_spread(j, "exit_speedup", zsb_spread_of(b, r, ZSB_M_EXIT));
			zsb_json_spread(j, "all_exit_speedup", zsb_spread_of(b, r, ZSB_M_ALL_EXIT));
			zsb_json_spread(j, "memory_back_ms", zsb_spread_of(b, r, ZSB_M_BACK));
			zsb_json_spread(j, "memory_back_ratio_sync_all_exit",
					zsb_spread_of(b, r, ZSB_M_BACK_VS_SYNC_EXIT));
			zsb_json_spread(j, "exit_ms", zsb_spread_of(b, r, ZSB_M_EXIT_MS));
			zsb_json_spread(j, "all_exit_ms", zsb_spread_of(b, r, ZSB_M_ALL_EXIT_MS));
			zsb_json_spread(j, "exit_voluntary_switches", zsb_spread_of(b, r, ZSB_M_VCSW));
			zsb_json_spread(j, "exit_involuntary_switches",
					zsb_spread_of(b, r, ZSB_M_IVCSW));
			bench_json_dbl(j, "sync_exit_ms", b->exit_proc_ns / 1e6);
			bench_json_dbl(j, "cpu_ratio_sync", bench_ratio(r->cpu_ns, b->cpu_ns));
			bench_json_u64(j, "fallbacks_max", r->fallbacks_max);
			bench_json_u64(j, "reps_flush_needed", r->forced);
			bench_json_obj_end(j);
		}
		bench_json_obj_end(j);
	}
	bench_json_arr_end(j);
	bench_json_obj_end(j);
}

void zsb_report_table(const struct zsb_run *run)
{
	const struct zsb_opts *o = &run->o;
	const struct zsb_result *res = run->res;
	const struct zsb_sweep_row *sweep = run->sweep;
	unsigned int nsweep = run->nsweep;
	double fg_alone = run->fg_alone;

	/* ---- the table ---- */
	{
		static const int wd[] = { 12, 9, 8, 6, 7, 9, 9, 6, 8, 6, 7, 13, 9, 6 };
		static const char *const hdr[] = {
			"strategy", "exit/proc", "ns/page", "xsync", "cpu/pg", "all-exit",
			"mem-back", "xsyncX", "CPU", "xsync", "fallbk", "wait avg/max", "fg pg/s",
			"xalone",
		};
		static const char *const units[] = {
			"", "ms", "", "", "ns", "ms", "ms", "", "ms", "", "", "ms", "", "",
		};
		const struct zsb_result *base = res[ZSB_SYNC].ran ? &res[ZSB_SYNC] : NULL;
		struct bench_table t;

		printf("\nexit of %u processes x %u MiB on %s (%s); medians of %u repetitions; "
		       "ratios against sync in this run\n", o->k, o->mib,
		       zsb_backend_name(o->backend), o->comp, o->reps);
		bench_table_init(&t, stdout, 14, wd);
		bench_table_row(&t, hdr);
		bench_table_row(&t, units);
		bench_table_rule(&t);
		for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
			const struct zsb_result *r = &res[s];
			char b[14][48];
			const char *cells[14];
			double npp;

			if (!o->strat[s])
				continue;
			cells[0] = zsb_strategies[s].name;
			if (!r->ran) {
				for (int i = 1; i < 14; i++)
					cells[i] = "";
				cells[1] = "n/a:";
				bench_table_row(&t, cells);
				printf("    %s\n", r->err);
				continue;
			}
			npp = r->exit_proc_ns / (double)r->pages_per_proc;
			cells[1] = bench_fmt(b[1], 48, "%.2f", r->exit_proc_ns / 1e6);
			cells[2] = bench_fmt(b[2], 48, "%.1f", npp);
			cells[3] = base ? bench_fmt(b[3], 48, "%.3f", bench_ratio(r->exit_proc_ns,
							base->exit_proc_ns)) : "-";
			cells[4] = bench_fmt(b[4], 48, "%.1f", r->exit_cpu_ns /
					     (double)r->pages_per_proc);
			cells[5] = bench_fmt(b[5], 48, "%.2f", r->exit_all_ns / 1e6);
			cells[6] = bench_fmt(b[6], 48, "%.2f%s%s", r->back_ns / 1e6,
					     r->forced ? "*" : "",
					     r->back_all_reached ? "" : "?");
			cells[7] = base ? bench_fmt(b[7], 48, "%.2f", bench_ratio(r->back_ns,
							base->exit_all_ns)) : "-";
			cells[8] = bench_fmt(b[8], 48, "%.1f", r->cpu_ns / 1e6);
			cells[9] = base ? bench_fmt(b[9], 48, "%.2f", bench_ratio(r->cpu_ns,
							base->cpu_ns)) : "-";
			cells[10] = bench_fmt(b[10], 48, "%llu", (unsigned long long)r->fallbacks_max);
			cells[11] = r->wait_max_ns > 0 ?
				    bench_fmt(b[11], 48, "%.2f/%.2f", r->wait_avg_ns / 1e6,
					      r->wait_max_ns / 1e6) : "-";
			cells[12] = o->foreground ? bench_fmt(b[12], 48, "%.0f", r->fg_pps) : "-";
			cells[13] = o->foreground && fg_alone > 0 ?
				    bench_fmt(b[13], 48, "%.2f", r->fg_pps / fg_alone) : "-";
			bench_table_row(&t, cells);
			if (r->idle_cpu_pct >= 5.0)
				printf("    note: %.0f%% of a CPU busy while the drained device sat "
				       "idle (background polling?)\n", r->idle_cpu_pct);
			if (r->leftover_max || r->miss_free_max)
				printf("    note: %llu slots still stored after the flush, "
				       "%llu notifies missed (slot lock busy)\n",
				       (unsigned long long)r->leftover_max,
				       (unsigned long long)r->miss_free_max);
		}
		printf("process RSS, MiB, when they die -> once memory is back:");
		for (int s = 0; s < ZSB_NR_STRATEGIES; s++)
			if (res[s].ran)
				printf(" %s %.0f->%.0f", zsb_strategies[s].name,
				       res[s].rss_before / 1048576.0, res[s].rss_after / 1048576.0);
		printf("\n");
		if (!o->quiet) {
			printf("\nexit/proc: one process's exit path (median over processes), "
			       "ns/page: the same per swapped page;\n"
			       "cpu/pg: the exiting thread's CPU per page (wall time minus "
			       "waiting for a CPU);\n"
			       "all-exit: until the last process returned; mem-back: until the "
			       "pool's pages are back within 1%% of their floor\n"
			       "  ('*': values still queued %u ms after the exits, drained by the "
			       "lab's flush; '?': not reached while sampling),\n"
			       "  xsyncX: mem-back / sync's "
			       "all-exit; CPU: getrusage(SELF) from the deaths\n"
			       "  until memory was back, workers included, foreground and "
			       "sampler excluded; fallbk: synchronous fallbacks\n"
			       "  (max over reps); wait: how long values sat in buffers before "
			       "their drain began (avg of oldest / max);\n"
			       "  fg pg/s: pages the foreground thread stored per second "
			       "during the window, xalone: vs %.0f pg/s with no exits.\n",
			       o->natural_ms, fg_alone);
			printf("strategies:\n");
			for (int s = 0; s < ZSB_NR_STRATEGIES; s++)
				if (o->strat[s])
					printf("  %-12s %s\n", zsb_strategies[s].name,
					       zsb_strategies[s].what);
			printf("  (sync is the legacy pool-locked zs_free; lockfree is the same "
			       "inline free with the class encoded\n"
			       "   in the object, no pool lock; every deferred row uses the "
			       "lock-free zs_free underneath.)\n");
		}
	}

	zsb_report_contention(run);

	if (nsweep) {
		printf("\nsynchronous fallbacks, K = 1..%u processes x %u MiB (1 repetition each)\n",
		       o->sweep_max_k, o->sweep_mib);
		printf("%-10s %3s %10s %9s %10s %10s %9s\n", "strategy", "K", "fallbacks",
		       "pushed", "spare-low", "ns/page", "mem-back");
		for (unsigned int i = 0; i < nsweep; i++) {
			const struct zsb_sweep_row *w = &sweep[i];

			if (!w->ok) {
				printf("%-10s %3u %10s\n", zsb_strategies[w->s].name, w->k, "failed");
				continue;
			}
			printf("%-10s %3u %10llu %9llu %6llu/%-3llu %10.1f %7.2fms\n",
			       zsb_strategies[w->s].name, w->k,
			       (unsigned long long)w->r.fallbacks, (unsigned long long)w->r.pushed,
			       (unsigned long long)w->r.spare_low,
			       (unsigned long long)w->r.spare_pages,
			       w->r.exit_ns_proc_median / (double)w->r.pages_per_proc,
			       w->r.back_ns / 1e6);
		}
	}


	/* ---- targets (reported, never asserted) ---- */
	if (res[ZSB_SYNC].ran && res[ZSB_PERCPU_GROUPED].ran) {
		const struct zsb_result *b = &res[ZSB_SYNC], *d = &res[ZSB_PERCPU_GROUPED];
		double x = bench_ratio(d->exit_proc_ns, b->exit_proc_ns);
		double y = bench_ratio(d->back_ns, b->exit_all_ns);
		double z = bench_ratio(d->cpu_ns, b->cpu_ns);

		printf("\ntargets (default strategy 'percpu' vs 'sync', this run):\n");
		printf("  exit-path time per page <= 1/10 of sync:     %.3f  %s\n", x,
		       x <= 0.1 ? "met" : "MISSED");
		printf("  memory back within 1.2x of sync's exit time:  %.2f  %s\n", y,
		       y <= 1.2 ? "met" : "MISSED");
		printf("  total CPU <= sync's:                          %.2f  %s\n", z,
		       z <= 1.0 ? "met" : "MISSED");
	}
	if (res[ZSB_PERCPU_GROUPED].ran)
		printf("  no synchronous fallback, %u processes x %u MiB: %llu fallbacks (max "
		       "over reps)  %s%s\n", o->k, o->mib,
		       (unsigned long long)res[ZSB_PERCPU_GROUPED].fallbacks_max,
		       res[ZSB_PERCPU_GROUPED].fallbacks_max ? "MISSED" : "met",
		       o->k == 3 && o->mib == 192 ? "" : " (stated for 3 x 192 MiB: -k 3 -m 192)");
	for (unsigned int i = 0; i < nsweep; i++)
		if (sweep[i].ok && sweep[i].k == 3 && sweep[i].s == ZSB_PERCPU_GROUPED)
			printf("  no synchronous fallback, 3 processes x %u MiB: %llu fallbacks  %s%s\n",
			       o->sweep_mib, (unsigned long long)sweep[i].r.fallbacks,
			       sweep[i].r.fallbacks ? "MISSED" : "met",
			       o->sweep_mib == 192 ? "" : " (the target is stated for 192 MiB: -M 192)");
}

int zsb_report_json(struct zsb_run *run)
{
	const struct zsb_opts *o = &run->o;
	const struct zsb_result *res = run->res;
	const struct zsb_sweep_row *sweep = run->sweep;
	unsigned int nsweep = run->nsweep;
	const struct bench_pages *ps = &run->ps;
	double fg_alone = run->fg_alone;
	struct bench_json j;
	FILE *jf;

	/* ---- JSON ---- */
	jf = fopen(o->json_path, "w");
	if (!jf) {
		fprintf(stderr, "zsbench: %s: %s\n", o->json_path, strerror(errno));
		return -1;
	}
	bench_json_init(&j, jf);
	bench_json_obj_begin(&j, NULL);
	bench_json_str(&j, "tool", "zsbench");
	bench_json_str(&j, "backend", zsb_backend_name(o->backend));
	bench_json_str(&j, "compressor", o->comp);
	bench_json_u64(&j, "k", o->k);
	bench_json_u64(&j, "mib_per_process", o->mib);
	bench_json_u64(&j, "pages_per_process", (uint64_t)o->mib * 256);
	bench_json_u64(&j, "repetitions", o->reps);
	bench_json_str(&j, "source", ps->origin);
	bench_json_bool(&j, "foreground", o->foreground);
	bench_json_bool(&j, "compaction_thread", o->compact);
	bench_json_u64(&j, "spare_pages_option", o->spare_pages);
	bench_json_str(&j, "worker_sched", o->worker_sched == ZS_DEFER_WORKERS_IDLE ? "idle" :
		       o->worker_sched == ZS_DEFER_WORKERS_NICE ? "nice" : "normal");
	bench_json_dbl(&j, "fg_alone_pages_per_s", fg_alone);
	bench_json_arr_begin(&j, "strategies");
	for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
		const struct zsb_result *r = &res[s], *b = &res[ZSB_SYNC];

		if (!o->strat[s])
			continue;
		bench_json_obj_begin(&j, NULL);
		bench_json_str(&j, "name", zsb_strategies[s].name);
		bench_json_str(&j, "what", zsb_strategies[s].what);
		bench_json_bool(&j, "ok", r->ran);
		if (!r->ran) {
			bench_json_str(&j, "error", r->err);
			bench_json_obj_end(&j);
			continue;
		}
		bench_json_dbl(&j, "exit_ms_per_process", r->exit_proc_ns / 1e6);
		bench_json_dbl(&j, "exit_ns_per_page", r->exit_proc_ns / (double)r->pages_per_proc);
		bench_json_dbl(&j, "exit_cpu_ns_per_page", r->exit_cpu_ns / (double)r->pages_per_proc);
		bench_json_dbl(&j, "all_exited_ms", r->exit_all_ns / 1e6);
		bench_json_dbl(&j, "memory_back_ms", r->back_ns / 1e6);
		bench_json_bool(&j, "memory_back_reached", r->back_all_reached);
		bench_json_u64(&j, "reps_flush_needed", r->forced);
		bench_json_dbl(&j, "cpu_ms", r->cpu_ns / 1e6);
		bench_json_dbl(&j, "idle_cpu_pct", r->idle_cpu_pct);
		bench_json_u64(&j, "rss_before", (uint64_t)r->rss_before);
		bench_json_u64(&j, "rss_after", (uint64_t)r->rss_after);
		bench_json_u64(&j, "fallbacks_max", r->fallbacks_max);
		bench_json_u64(&j, "miss_free_max", r->miss_free_max);
		bench_json_u64(&j, "leftover_slots_max", r->leftover_max);
		bench_json_dbl(&j, "wait_avg_ms", r->wait_avg_ns / 1e6);
		bench_json_dbl(&j, "wait_max_ms", r->wait_max_ns / 1e6);
		bench_json_u64(&j, "spare_pages", r->spare_pages);
		bench_json_u64(&j, "spare_low", r->spare_low_min);
		bench_json_bool(&j, "rseq", r->rep[r->reps - 1].rseq);
		if (o->foreground) {
			bench_json_dbl(&j, "fg_pages_per_s", r->fg_pps);
			bench_json_dbl(&j, "fg_ratio_alone", bench_ratio(r->fg_pps, fg_alone));
		}
		if (b->ran) {
			bench_json_dbl(&j, "exit_ratio_sync", bench_ratio(r->exit_proc_ns,
								       b->exit_proc_ns));
			bench_json_dbl(&j, "memory_back_ratio_sync_exit",
				       bench_ratio(r->back_ns, b->exit_all_ns));
			bench_json_dbl(&j, "cpu_ratio_sync", bench_ratio(r->cpu_ns, b->cpu_ns));
		}
		bench_json_arr_begin(&j, "reps");
		for (unsigned int i = 0; i < r->reps; i++) {
			const struct zsb_rep *p = &r->rep[i];

			bench_json_obj_begin(&j, NULL);
			bench_json_dbl(&j, "exit_ms_per_process", p->exit_ns_proc_median / 1e6);
			bench_json_dbl(&j, "exit_cpu_ms_per_process", p->exit_cpu_ns_proc_median / 1e6);
			bench_json_dbl(&j, "all_exited_ms", p->exit_ns_all / 1e6);
			bench_json_u64(&j, "exit_voluntary_switches", p->exit_vcsw);
			bench_json_u64(&j, "exit_involuntary_switches", p->exit_ivcsw);
			bench_json_dbl(&j, "memory_back_ms", p->back_ns / 1e6);
			bench_json_bool(&j, "flush_needed", p->forced);
			bench_json_u64(&j, "cpu_us", p->cpu_ns / 1000);
			bench_json_u64(&j, "fallbacks", p->fallbacks);
			bench_json_u64(&j, "pushed", p->pushed);
			bench_json_u64(&j, "idle_drains", p->idle_drains);
			bench_json_u64(&j, "peak_pages", p->peak_pages);
			bench_json_u64(&j, "floor_pages", p->floor_pages);
			bench_json_u64(&j, "fg_pages", p->fg_pages);
			bench_json_u64(&j, "rss_before", p->rss_before);
			bench_json_u64(&j, "rss_after", p->rss_after);
			if (o->compact) {
				bench_json_u64(&j, "compactions", p->compactions);
				bench_json_u64(&j, "compacted_pages", p->compacted_pages);
			}
			bench_json_obj_end(&j);
		}
		bench_json_arr_end(&j);
		bench_json_obj_end(&j);
	}
	bench_json_arr_end(&j);
	if (o->hog)
		zsb_json_contention(&j, run);
	bench_json_arr_begin(&j, "fallback_sweep");
	for (unsigned int i = 0; i < nsweep; i++) {
		const struct zsb_sweep_row *w = &sweep[i];

		bench_json_obj_begin(&j, NULL);
		bench_json_str(&j, "strategy", zsb_strategies[w->s].name);
		bench_json_u64(&j, "k", w->k);
		bench_json_u64(&j, "mib_per_process", o->sweep_mib);
		bench_json_bool(&j, "ok", w->ok);
		if (w->ok) {
			bench_json_u64(&j, "fallbacks", w->r.fallbacks);
			bench_json_u64(&j, "pushed", w->r.pushed);
			bench_json_u64(&j, "spare_pages", w->r.spare_pages);
			bench_json_u64(&j, "spare_low", w->r.spare_low);
			bench_json_dbl(&j, "exit_ns_per_page",
				       w->r.exit_ns_proc_median / (double)w->r.pages_per_proc);
			bench_json_dbl(&j, "memory_back_ms", w->r.back_ns / 1e6);
		}
		bench_json_obj_end(&j);
	}
	bench_json_arr_end(&j);
	if (o->kernel) {
		double reap = 0;

		run->kernel_rc = zsb_kernel_run(o, ps, &j, &reap);
		if (reap > 0 && res[ZSB_SYNC].ran) {
			bench_json_dbl(&j, "kernel_reap_ratio_sync_all_exit",
				       bench_ratio(reap, res[ZSB_SYNC].exit_all_ns));
			printf("  kernel reap / this lab's sync all-exit: %.2f (the kernel also "
			       "frees page tables and resident memory)\n",
			       bench_ratio(reap, res[ZSB_SYNC].exit_all_ns));
		}
	}
	if (o->real && zsb_real_run(o, ps, &j) == 1)
		run->failed = 1;
	bench_json_dbl(&j, "wall_s", (double)(bench_now_ns() - run->t_start) / 1e9);
	bench_json_obj_end(&j);
	bench_json_finish(&j);
	if (fclose(jf)) {
		fprintf(stderr, "zsbench: writing %s failed\n", o->json_path);
		run->failed = 1;
	}
	if (!o->quiet)
		printf("\nJSON: %s\n", o->json_path);
	return 0;
}

void zsb_report_plots(const struct zsb_run *run)
{
	const struct zsb_opts *o = &run->o;
	const struct zsb_result *res = run->res;

	/* ---- plots ---- */
	if (o->plot_dir) {
		const char *names[ZSB_NR_STRATEGIES];
		double npp[ZSB_NR_STRATEGIES], back[ZSB_NR_STRATEGIES];
		const struct zsb_rep *curves[ZSB_NR_STRATEGIES];
		unsigned int n = 0;

		for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
			if (!res[s].ran)
				continue;
			names[n] = zsb_strategies[s].name;
			npp[n] = res[s].exit_proc_ns / (double)res[s].pages_per_proc;
			back[n] = res[s].back_ns / 1e6;
			curves[n] = &res[s].rep[res[s].reps - 1];
			n++;
		}
		if (n && zsb_plot(o, names, npp, back, curves, n) == 0 && !o->quiet)
			printf("plots: %s/exit_time.{png,svg} %s/memory.{png,svg}\n",
			       o->plot_dir, o->plot_dir);
	}
}
