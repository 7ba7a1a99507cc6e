/* SPDX-License-Identifier: MIT */
/*
 * zsbench - the exit-path lab (issue 6).
 *
 * K "processes" (threads) with their memory swapped out to zram (or zswap) die at once;
 * each frees its swap slots in address order. Every free strategy runs on the same
 * pages in the same run, interleaved repetition by repetition, and is reported as a
 * ratio to "sync" measured alongside: exit-path time, time until the pool's memory is
 * back at its floor, CPU time, synchronous fallbacks, waits in half-full buffers, and
 * the throughput of a foreground thread storing pages meanwhile. With no arguments it
 * runs a default scenario in well under a minute on two cores.
 */
#define _GNU_SOURCE
#include "zsbench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zsmem/zsmalloc.h>

#define MAX_REPS	64

/* Medians over repetitions of one strategy. */
struct zsb_result {
	bool ran;
	char err[160];
	unsigned int reps;
	struct zsb_rep rep[MAX_REPS];
	double exit_proc_ns, exit_cpu_ns, exit_all_ns, back_ns, cpu_ns, fg_pps;
	double wait_avg_ns, wait_max_ns, idle_cpu_pct, rss_before, rss_after;
	uint64_t fallbacks_max, miss_free_max, leftover_max, spare_low_min, spare_pages;
	bool back_all_reached;
	unsigned int forced;		/* reps whose deferred work needed the flush */
	uint64_t pages_per_proc;
};

struct sweep_row {
	unsigned int k;
	enum zsb_strategy s;
	bool ok;
	struct zsb_rep r;
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: zsbench [options]\n"
"  -k K        dying processes (default 3)\n"
"  -m MIB      MiB of swapped pages per process (default 64)\n"
"  -b BACKEND  zram (default) or zswap\n"
"  -z ALGO     compressor: lz4 (default), zstd, lzo, lz4hc\n"
"  -S LIST     strategies, comma separated, or 'all' (default):\n"
"              sync,lockfree,defer-zspage,v2,v3-plain,percpu,per-class\n"
"  -r N        repetitions (default 5; medians are reported)\n"
"  -F          no foreground thread (default: one stores pages during the exits)\n"
"  -C          a thread running zs_compact() during the exits (compaction interference)\n"
"  -G MIB      the foreground thread's ring of slots (default 8)\n"
"  -c FILE     pages from a corpus file (make-corpus.sh); default: built-in generator\n"
"  -j FILE     JSON output (default OUTDIR/zsbench.json)\n"
"  -o OUTDIR   plots and data (default ./out/zsbench); '-' = no plot\n"
"  -K MAXK     fallback sweep for K = 1..MAXK (default 8; 0 = none)\n"
"  -M MIB      MiB per process in the sweep (default 32)\n"
"  -P PAGES    spare buffer pages of the deferred framework (default: its own)\n"
"  -T N        filling threads (default 2)\n"
"  -N MS       how long deferred work may drain on its own before the lab flushes it\n"
"              (default 250; memory-back times marked '*' needed the flush)\n"
"  -s SEED     page source seed (default 1)\n"
"  -q          only the table\n"
"  --kernel    also measure the kernel's own zram swap (root, /sys/block/zram0 free;\n"
"              reconfigures zram0 and restores it)\n");
}

static int parse_strategies(const char *list, bool *on)
{
	char buf[256], *tok, *save;

	memset(on, 0, sizeof(bool) * ZSB_NR_STRATEGIES);
	if (!strcmp(list, "all")) {
		for (int i = 0; i < ZSB_NR_STRATEGIES; i++)
			on[i] = true;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int found = -1;

		for (int i = 0; i < ZSB_NR_STRATEGIES; i++)
			if (!strcmp(tok, zsb_strategies[i].name))
				found = i;
		if (found < 0) {
			fprintf(stderr, "zsbench: unknown strategy '%s'\n", tok);
			return -1;
		}
		on[found] = true;
	}
	return 0;
}

static void aggregate(struct zsb_result *res)
{
	double a[MAX_REPS], b[MAX_REPS], c[MAX_REPS], d[MAX_REPS], e[MAX_REPS], f[MAX_REPS];
	double g[MAX_REPS], h[MAX_REPS], x[MAX_REPS];
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

static int mkdir_p(const char *dir)
{
	char tmp[512];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "kernel", no_argument, NULL, 1000 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct zsb_opts o = {
		.k = 3, .mib = 64, .backend = ZSB_ZRAM, .comp = "lz4", .reps = 5,
		.foreground = true, .fg_mib = 8, .plot_dir = "out/zsbench",
		.sweep_max_k = 8, .sweep_mib = 32, .fill_threads = 2, .seed = 1,
		.natural_ms = 250,
	};
	static struct zsb_result res[ZSB_NR_STRATEGIES];
	struct sweep_row *sweep = NULL;
	unsigned int nsweep = 0;
	const char *strat_list = "all";
	char json_default[600];
	struct bench_pages ps;
	struct bench_json j;
	double fg_alone = 0;
	uint64_t t_start = bench_now_ns();
	int c, rc, failed = 0, kernel_rc = -1;
	FILE *jf;

	while ((c = getopt_long(argc, argv, "k:m:b:z:S:r:FCG:c:j:o:K:M:P:T:N:s:qh", lopts,
				NULL)) != -1) {
		switch (c) {
		case 'k':
			o.k = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			o.mib = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			if (!strcmp(optarg, "zram")) {
				o.backend = ZSB_ZRAM;
			} else if (!strcmp(optarg, "zswap")) {
				o.backend = ZSB_ZSWAP;
			} else {
				fprintf(stderr, "zsbench: backend is zram or zswap\n");
				return 2;
			}
			break;
		case 'z':
			o.comp = optarg;
			break;
		case 'S':
			strat_list = optarg;
			break;
		case 'r':
			o.reps = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'F':
			o.foreground = false;
			break;
		case 'C':
			o.compact = true;
			break;
		case 'G':
			o.fg_mib = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			o.corpus = optarg;
			break;
		case 'j':
			o.json_path = optarg;
			break;
		case 'o':
			o.plot_dir = strcmp(optarg, "-") ? optarg : NULL;
			break;
		case 'K':
			o.sweep_max_k = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'M':
			o.sweep_mib = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'P':
			o.spare_pages = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'T':
			o.fill_threads = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'N':
			o.natural_ms = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			o.seed = strtoull(optarg, NULL, 0);
			break;
		case 'q':
			o.quiet = true;
			break;
		case 1000:
			o.kernel = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.k || !o.mib || !o.reps || o.reps > MAX_REPS) {
		fprintf(stderr, "zsbench: K, MiB and repetitions (1..%d) must be positive\n",
			MAX_REPS);
		return 2;
	}
	if (parse_strategies(strat_list, o.strat))
		return 2;
	if (o.plot_dir && mkdir_p(o.plot_dir)) {
		fprintf(stderr, "zsbench: cannot create %s: %s\n", o.plot_dir, strerror(errno));
		return 1;
	}
	if (!o.json_path) {
		snprintf(json_default, sizeof(json_default), "%s/zsbench.json",
			 o.plot_dir ? o.plot_dir : ".");
		o.json_path = json_default;
	}

	/* a bad compressor or a missing backend: say so once, before any work */
	{
		char err[256];
		struct zsb_dev *probe = zsb_dev_create(&o, ZSB_LOCKFREE, 256, err, sizeof(err));

		if (!probe) {
			fprintf(stderr, "zsbench: %s\n", err);
			return 2;
		}
		zsb_dev_destroy(probe);
	}

	/* 64 MiB of distinct pages at most: enough variety; larger sets cycle */
	rc = bench_pages_open(&ps, o.corpus, o.corpus ? 0 : 16384, o.seed);
	if (rc) {
		fprintf(stderr, "zsbench: pages from %s: %s\n", o.corpus ? o.corpus : "generator",
			strerror(-rc));
		return 1;
	}
	if (!o.quiet)
		printf("zsbench: backend %s, %s, K=%u processes x %u MiB (%u pages each), "
		       "%u repetitions, pages: %s (%zu distinct)%s%s\n",
		       zsb_backend_name(o.backend), o.comp, o.k, o.mib, o.mib * 256, o.reps,
		       ps.origin, ps.nr, o.foreground ? ", foreground thread on" : "",
		       o.compact ? ", compaction thread on" : "");
	fflush(stdout);
	if (o.foreground)
		fg_alone = zsb_fg_alone_rate(&o, &ps);

	/* repetitions outermost: drift on a shared machine hits every strategy alike */
	for (unsigned int rep = 0; rep < o.reps; rep++) {
		for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
			struct zsb_result *r = &res[s];
			const char *why;
			char err[160];

			if (!o.strat[s])
				continue;
			if (!zsb_backend_supports(o.backend, (enum zsb_strategy)s, &why)) {
				snprintf(r->err, sizeof(r->err), "%s", why);
				continue;
			}
			if (r->err[0])
				continue;
			if (zsb_run_rep(&o, &ps, (enum zsb_strategy)s, o.k, o.mib,
					rep == o.reps - 1, &r->rep[r->reps], err, sizeof(err))) {
				snprintf(r->err, sizeof(r->err), "%s", err);
				fprintf(stderr, "zsbench: %s: %s\n", zsb_strategies[s].name, err);
				failed = 1;
				continue;
			}
			r->reps++;
			r->ran = true;
			if (!o.quiet && isatty(2)) {
				fprintf(stderr, "\r  rep %u/%u %-12s", rep + 1, o.reps,
					zsb_strategies[s].name);
				fflush(stderr);
			}
		}
	}
	if (!o.quiet && isatty(2))
		fprintf(stderr, "\r%40s\r", "");
	for (int s = 0; s < ZSB_NR_STRATEGIES; s++)
		if (res[s].ran)
			aggregate(&res[s]);

	/* the fallback sweep: the deferred strategies that can run out of spare room */
	if (o.sweep_max_k) {
		static const enum zsb_strategy sw[] = { ZSB_PERCPU_GROUPED, ZSB_V2_ARRAY };
		/* the sweep counts fallbacks; waiting for v2's half-full array is no use there */
		struct zsb_opts so = o;

		so.natural_ms = 0;

		sweep = calloc(o.sweep_max_k * 2, sizeof(*sweep));
		for (unsigned int k = 1; sweep && k <= o.sweep_max_k; k++) {
			for (unsigned int i = 0; i < 2; i++) {
				struct sweep_row *row = &sweep[nsweep];
				const char *why;
				char err[160];

				if (!zsb_backend_supports(o.backend, sw[i], &why))
					continue;
				row->k = k;
				row->s = sw[i];
				row->ok = !zsb_run_rep(&so, &ps, sw[i], k, o.sweep_mib, false,
						       &row->r, err, sizeof(err));
				if (!row->ok)
					fprintf(stderr, "zsbench: sweep K=%u %s: %s\n", k,
						zsb_strategies[sw[i]].name, err);
				nsweep++;
			}
		}
	}

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
		       "ratios against sync in this run\n", o.k, o.mib,
		       zsb_backend_name(o.backend), o.comp, o.reps);
		bench_table_init(&t, stdout, 14, wd);
		bench_table_row(&t, hdr);
		bench_table_row(&t, units);
		bench_table_rule(&t);
		for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
			const struct zsb_result *r = &res[s];
			char b[14][48];
			const char *cells[14];
			double npp;

			if (!o.strat[s])
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
			cells[12] = o.foreground ? bench_fmt(b[12], 48, "%.0f", r->fg_pps) : "-";
			cells[13] = o.foreground && fg_alone > 0 ?
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
		if (!o.quiet) {
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
			       o.natural_ms, fg_alone);
			printf("strategies:\n");
			for (int s = 0; s < ZSB_NR_STRATEGIES; s++)
				if (o.strat[s])
					printf("  %-12s %s\n", zsb_strategies[s].name,
					       zsb_strategies[s].what);
			printf("  (sync is the legacy pool-locked zs_free; lockfree is the same "
			       "inline free with the class encoded\n"
			       "   in the object, no pool lock; every deferred row uses the "
			       "lock-free zs_free underneath.)\n");
		}
	}

	if (nsweep) {
		printf("\nsynchronous fallbacks, K = 1..%u processes x %u MiB (1 repetition each)\n",
		       o.sweep_max_k, o.sweep_mib);
		printf("%-10s %3s %10s %9s %10s %10s %9s\n", "strategy", "K", "fallbacks",
		       "pushed", "spare-low", "ns/page", "mem-back");
		for (unsigned int i = 0; i < nsweep; i++) {
			const struct sweep_row *w = &sweep[i];

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
		       "over reps)  %s%s\n", o.k, o.mib,
		       (unsigned long long)res[ZSB_PERCPU_GROUPED].fallbacks_max,
		       res[ZSB_PERCPU_GROUPED].fallbacks_max ? "MISSED" : "met",
		       o.k == 3 && o.mib == 192 ? "" : " (stated for 3 x 192 MiB: -k 3 -m 192)");
	for (unsigned int i = 0; i < nsweep; i++)
		if (sweep[i].ok && sweep[i].k == 3 && sweep[i].s == ZSB_PERCPU_GROUPED)
			printf("  no synchronous fallback, 3 processes x %u MiB: %llu fallbacks  %s%s\n",
			       o.sweep_mib, (unsigned long long)sweep[i].r.fallbacks,
			       sweep[i].r.fallbacks ? "MISSED" : "met",
			       o.sweep_mib == 192 ? "" : " (the target is stated for 192 MiB: -M 192)");

	/* ---- JSON ---- */
	jf = fopen(o.json_path, "w");
	if (!jf) {
		fprintf(stderr, "zsbench: %s: %s\n", o.json_path, strerror(errno));
		return 1;
	}
	bench_json_init(&j, jf);
	bench_json_obj_begin(&j, NULL);
	bench_json_str(&j, "tool", "zsbench");
	bench_json_str(&j, "backend", zsb_backend_name(o.backend));
	bench_json_str(&j, "compressor", o.comp);
	bench_json_u64(&j, "k", o.k);
	bench_json_u64(&j, "mib_per_process", o.mib);
	bench_json_u64(&j, "pages_per_process", (uint64_t)o.mib * 256);
	bench_json_u64(&j, "repetitions", o.reps);
	bench_json_str(&j, "source", ps.origin);
	bench_json_bool(&j, "foreground", o.foreground);
	bench_json_bool(&j, "compaction_thread", o.compact);
	bench_json_u64(&j, "spare_pages_option", o.spare_pages);
	bench_json_dbl(&j, "fg_alone_pages_per_s", fg_alone);
	bench_json_arr_begin(&j, "strategies");
	for (int s = 0; s < ZSB_NR_STRATEGIES; s++) {
		const struct zsb_result *r = &res[s], *b = &res[ZSB_SYNC];

		if (!o.strat[s])
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
		if (o.foreground) {
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
			if (o.compact) {
				bench_json_u64(&j, "compactions", p->compactions);
				bench_json_u64(&j, "compacted_pages", p->compacted_pages);
			}
			bench_json_obj_end(&j);
		}
		bench_json_arr_end(&j);
		bench_json_obj_end(&j);
	}
	bench_json_arr_end(&j);
	bench_json_arr_begin(&j, "fallback_sweep");
	for (unsigned int i = 0; i < nsweep; i++) {
		const struct sweep_row *w = &sweep[i];

		bench_json_obj_begin(&j, NULL);
		bench_json_str(&j, "strategy", zsb_strategies[w->s].name);
		bench_json_u64(&j, "k", w->k);
		bench_json_u64(&j, "mib_per_process", o.sweep_mib);
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
	if (o.kernel) {
		double reap = 0;

		kernel_rc = zsb_kernel_run(&o, &ps, &j, &reap);
		if (reap > 0 && res[ZSB_SYNC].ran) {
			bench_json_dbl(&j, "kernel_reap_ratio_sync_all_exit",
				       bench_ratio(reap, res[ZSB_SYNC].exit_all_ns));
			printf("  kernel reap / this lab's sync all-exit: %.2f (the kernel also "
			       "frees page tables and resident memory)\n",
			       bench_ratio(reap, res[ZSB_SYNC].exit_all_ns));
		}
	}
	bench_json_dbl(&j, "wall_s", (double)(bench_now_ns() - t_start) / 1e9);
	bench_json_obj_end(&j);
	bench_json_finish(&j);
	if (fclose(jf)) {
		fprintf(stderr, "zsbench: writing %s failed\n", o.json_path);
		failed = 1;
	}
	if (!o.quiet)
		printf("\nJSON: %s\n", o.json_path);

	/* ---- plots ---- */
	if (o.plot_dir) {
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
		if (n && zsb_plot(&o, names, npp, back, curves, n) == 0 && !o.quiet)
			printf("plots: %s/exit_time.{png,svg} %s/memory.{png,svg}\n",
			       o.plot_dir, o.plot_dir);
	}
	if (!o.quiet)
		printf("wall time %.1f s\n", (double)(bench_now_ns() - t_start) / 1e9);

	for (int s = 0; s < ZSB_NR_STRATEGIES; s++)
		for (unsigned int i = 0; i < res[s].reps; i++)
			free(res[s].rep[i].samples);
	free(sweep);
	bench_pages_free(&ps);
	if (kernel_rc > 0 && kernel_rc != 77)
		failed = 1;
	return failed;
}
