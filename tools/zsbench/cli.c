/* SPDX-License-Identifier: MIT */
/*
 * cli.c - zsbench's command line: the options, their defaults and their checks.
 */
#define _GNU_SOURCE
#include "zsbench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
"  -H N        contention study: N processes (own sessions) spin during the exits;\n"
"              every repetition runs each strategy quiet and under them, and the\n"
"              per-repetition exit ratios against sync get their median and spread\n"
"  -W SCHED    the deferred drain workers' scheduling: normal (default), nice (nice\n"
"              19, with catch-up threads), idle (SCHED_IDLE, the same)\n"
"  -q          only the table\n"
"  --kernel    also measure the kernel's own zram swap (root, /sys/block/zram0 free;\n"
"              reconfigures zram0 and restores it)\n"
"  --real      also K real processes under zsmem-run (cap MIB/4 each), ended at once\n"
"              by exit (each frees its buffer) and by SIGKILL: plain, deferred, sync\n");
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

int zsb_cli_parse(int argc, char **argv, struct zsb_opts *o)
{
	static const struct option lopts[] = {
		{ "kernel", no_argument, NULL, 1000 },
		{ "real", no_argument, NULL, 1001 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char json_default[600];
	const char *strat_list = "all";
	int c;

	*o = (struct zsb_opts){
		.k = 3, .mib = 64, .backend = ZSB_ZRAM, .comp = "lz4", .reps = 5,
		.foreground = true, .fg_mib = 8, .plot_dir = "out/zsbench",
		.sweep_max_k = 8, .sweep_mib = 32, .fill_threads = 2, .seed = 1,
		.natural_ms = 250,
	};
	while ((c = getopt_long(argc, argv, "k:m:b:z:S:r:FCG:c:j:o:K:M:P:T:N:s:H:W:qh", lopts,
				NULL)) != -1) {
		switch (c) {
		case 'k':
			o->k = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			o->mib = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			if (!strcmp(optarg, "zram")) {
				o->backend = ZSB_ZRAM;
			} else if (!strcmp(optarg, "zswap")) {
				o->backend = ZSB_ZSWAP;
			} else {
				fprintf(stderr, "zsbench: backend is zram or zswap\n");
				return 2;
			}
			break;
		case 'z':
			o->comp = optarg;
			break;
		case 'S':
			strat_list = optarg;
			break;
		case 'r':
			o->reps = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'F':
			o->foreground = false;
			break;
		case 'C':
			o->compact = true;
			break;
		case 'G':
			o->fg_mib = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			o->corpus = optarg;
			break;
		case 'j':
			o->json_path = optarg;
			break;
		case 'o':
			o->plot_dir = strcmp(optarg, "-") ? optarg : NULL;
			break;
		case 'K':
			o->sweep_max_k = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'M':
			o->sweep_mib = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'P':
			o->spare_pages = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'T':
			o->fill_threads = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'N':
			o->natural_ms = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'H':
			o->hog = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'W':
			if (!strcmp(optarg, "idle")) {
				o->worker_sched = ZS_DEFER_WORKERS_IDLE;
			} else if (!strcmp(optarg, "nice")) {
				o->worker_sched = ZS_DEFER_WORKERS_NICE;
			} else if (!strcmp(optarg, "normal")) {
				o->worker_sched = ZS_DEFER_WORKERS_NORMAL;

			} else {
				fprintf(stderr, "zsbench: -W is nice, idle or normal\n");
				return 2;
			}
			break;
		case 'q':
			o->quiet = true;
			break;
		case 1000:
			o->kernel = true;
			break;
		case 1001:
			o->real = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o->k || !o->mib || !o->reps || o->reps > ZSB_MAX_REPS) {
		fprintf(stderr, "zsbench: K, MiB and repetitions (1..%d) must be positive\n",
			ZSB_MAX_REPS);
		return 2;
	}
	if (parse_strategies(strat_list, o->strat))
		return 2;
	if (o->plot_dir && mkdir_p(o->plot_dir)) {
		fprintf(stderr, "zsbench: cannot create %s: %s\n", o->plot_dir, strerror(errno));
		return 1;
	}
	if (!o->json_path) {
		snprintf(json_default, sizeof(json_default), "%s/zsbench.json",
			 o->plot_dir ? o->plot_dir : ".");
		o->json_path = json_default;
	}
	return -1;
}
