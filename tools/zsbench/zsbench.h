/* SPDX-License-Identifier: MIT */
/*
 * zsbench.h - the exit-path lab: shared types of zsbench's files.
 *
 *   zsbench.c   main: parse, run, report
 *   cli.c       the options, their defaults and checks
 *   runner.c    the run plan: repetitions of every strategy interleaved, medians, sweep
 *   report.c    the table, the fallback sweep, the targets, the JSON file, the plots
 *   scenario.c  one repetition: fill a device, let K "processes" die at once, measure
 *   backend.c   zram and zswap behind one small interface, one config per strategy
 *   plot.c      gnuplot data and scripts
 *   kernel.c    --kernel: the same exit against the machine's own zram swap
 *   hog.c       -H: processes that spin during the exits (the contention study)
 *   real.c      --real: real processes under zsmem-run, ended at once
 */
#ifndef ZSBENCH_H
#define ZSBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zsmem/zsmalloc.h>

#include "bench.h"

enum zsb_backend_kind {
	ZSB_ZRAM,
	ZSB_ZSWAP,
};

/* The strategies, in the order the table shows them. */
enum zsb_strategy {
	ZSB_SYNC,		/* free inline, zs_free under the legacy pool lock */
	ZSB_LOCKFREE,		/* free inline, class-encoded zs_free (no pool lock) */
	ZSB_DEFER_ZSPAGE,	/* free inline, emptied zspages freed by a background thread */
	ZSB_V2_ARRAY,		/* v2: one per-pool array, trylock, drained at half */
	ZSB_V3_PLAIN,		/* v3: per-CPU buffers, drain one slot free at a time */
	ZSB_PERCPU_GROUPED,	/* per-CPU buffers, drain grouped by size class (default) */
	ZSB_PER_CLASS,		/* one queue per size class */
	ZSB_NR_STRATEGIES,
};

struct zsb_strategy_info {
	const char *name;	/* command-line and JSON name */
	const char *what;	/* one line for the table legend */
};
extern const struct zsb_strategy_info zsb_strategies[ZSB_NR_STRATEGIES];

/* A device under test: the zram or zswap instance configured for one strategy. */
struct zsb_dev;

struct zsb_opts {
	unsigned int k;			/* dying processes */
	unsigned int mib;		/* MiB of pages per process */
	enum zsb_backend_kind backend;
	const char *comp;		/* compressor */
	bool strat[ZSB_NR_STRATEGIES];	/* strategies to run */
	unsigned int reps;
	bool foreground;		/* a thread storing new pages during the exits */
	bool compact;			/* a thread running zs_compact() during the exits */
	unsigned int fg_mib;		/* the foreground thread's ring of slots */
	const char *json_path;
	const char *plot_dir;
	const char *corpus;
	unsigned int sweep_max_k;	/* fallback sweep K = 1..this; 0 = none */
	unsigned int sweep_mib;
	unsigned int spare_pages;	/* deferred framework spare pages; 0 = default */
	unsigned int fill_threads;
	unsigned int natural_ms;	/* how long deferred work may drain on its own */
	bool kernel;
	bool real;			/* --real: real processes under the launcher */
	bool quiet;
	uint64_t seed;
	/*
	 * Contention study: hog processes spinning during the exits (hog.c). With hog > 0
	 * every repetition runs each strategy twice, quiet and under the hog.
	 */
	unsigned int hog;
	enum zs_deferred_worker_sched worker_sched;	/* -W; 0: the framework's default */
};

/* Memory over time, sampled from a thread. */
struct zsb_sample {
	uint32_t t_us;			/* since the processes died */
	uint32_t pages;			/* pool pages */
};

/* What one repetition measured. */
struct zsb_rep {
	uint64_t pages_per_proc;
	double exit_ns_proc_median;	/* per-process exit-path time, median over processes */
	double exit_cpu_ns_proc_median;	/* the same in CPU time of the exiting thread */
	/* the exiting threads' context switches: voluntary (blocked on a lock, a page
	 * fault's I/O) and involuntary (preempted), summed over the K processes */
	uint64_t exit_vcsw, exit_ivcsw;
	double exit_ns_all;		/* until the last process finished its exit */
	double back_ns;			/* until pool memory was back at its floor */
	bool back_reached;
	bool forced;			/* values were still pending after natural_ms: the
					 * flush drained them (v2 below half capacity) */
	uint64_t cpu_ns;		/* process CPU from the deaths until memory was back,
					 * foreground and sampler threads excluded */
	uint64_t fallbacks;		/* synchronous fallbacks of the deferred path */
	uint64_t miss_free;		/* zram notifies that found the slot locked */
	uint64_t pushed;
	uint64_t wait_ns_max, wait_ns_sum, wait_samples;
	uint64_t idle_drains;
	uint64_t spare_low, spare_pages;
	bool rseq;			/* the framework's rseq push path was in use */
	uint64_t floor_pages, peak_pages;
	uint64_t fg_pages;		/* stored by the foreground thread in the window */
	double fg_window_ns;
	uint64_t leftover_pages;	/* dying pages still stored after the flush (a bug) */
	uint64_t compactions, compacted_pages;	/* by the compaction thread (-C) */
	uint64_t rss_before, rss_after;	/* process RSS when they die / once memory is back */
	double idle_cpu_pct;		/* process CPU while the drained device sits idle
					 * (background threads polling show up here) */
	/* memory over time, kept for the plot (only for the last repetition) */
	struct zsb_sample *samples;
	size_t nr_samples;
};

#define ZSB_MAX_REPS	64

/* Medians over repetitions of one strategy. */
struct zsb_result {
	bool ran;
	char err[160];
	unsigned int reps;
	struct zsb_rep rep[ZSB_MAX_REPS];
	double exit_proc_ns, exit_cpu_ns, exit_all_ns, back_ns, cpu_ns, fg_pps;
	double wait_avg_ns, wait_max_ns, idle_cpu_pct, rss_before, rss_after;
	uint64_t fallbacks_max, miss_free_max, leftover_max, spare_low_min, spare_pages;
	bool back_all_reached;
	unsigned int forced;		/* reps whose deferred work needed the flush */
	uint64_t pages_per_proc;
};

/* One run of the fallback sweep. */
struct zsb_sweep_row {
	unsigned int k;
	enum zsb_strategy s;
	bool ok;
	struct zsb_rep r;
};

/* One invocation of zsbench: its options, its pages and everything it measured. */
struct zsb_run {
	struct zsb_opts o;
	struct bench_pages ps;
	double fg_alone;		/* foreground pages/s with no exits (0: no foreground) */
	struct zsb_result res[ZSB_NR_STRATEGIES];
	struct zsb_result res_hog[ZSB_NR_STRATEGIES];	/* -H: the same under the hog */
	struct zsb_sweep_row *sweep;
	unsigned int nsweep;
	uint64_t t_start;		/* bench_now_ns() at start */
	int failed;			/* a strategy or the JSON write failed: exit 1 */
	int kernel_rc;			/* zsb_kernel_run()'s result; -1 when not run */
};

/* ---- cli.c ---- */
/* Fills *o from the command line: -1 to go on, else the exit status (0 after -h). */
int zsb_cli_parse(int argc, char **argv, struct zsb_opts *o);

/* ---- runner.c ---- */
/* Checks the backend and compressor, opens the pages, prints the header line and
 * measures the foreground thread alone: 0, or the exit status. */
int zsb_runner_prepare(struct zsb_run *run);
/* Every strategy's repetitions, interleaved, their medians, then the fallback sweep. */
void zsb_runner_run(struct zsb_run *run);
void zsb_runner_free(struct zsb_run *run);

/* ---- report.c ---- */
/* The table, the sweep's table and the targets, on stdout. */
void zsb_report_table(const struct zsb_run *run);
/* Writes the JSON file (running --kernel into it): 0, or -1 when it cannot be opened. */
int zsb_report_json(struct zsb_run *run);
void zsb_report_plots(const struct zsb_run *run);

/* ---- backend.c ---- */
/* Creates a device holding at least nr_slots pages, configured for strategy. NULL with a
 * message in err when the backend cannot express the strategy or creation fails. */
struct zsb_dev *zsb_dev_create(const struct zsb_opts *o, enum zsb_strategy s,
			       uint64_t nr_slots, char *err, size_t errlen);
void zsb_dev_destroy(struct zsb_dev *d);
int zsb_dev_store(struct zsb_dev *d, uint64_t slot, const void *page);
/* The swap layer says the slot is dead (zram_slot_free_notify / zswap_invalidate). */
void zsb_dev_release(struct zsb_dev *d, uint64_t slot);
void zsb_dev_flush(struct zsb_dev *d);
unsigned long zsb_dev_pool_pages(struct zsb_dev *d);
/* Values pushed to the deferred framework and not yet drained (0 when it is off). */
uint64_t zsb_dev_deferred_pending(struct zsb_dev *d);
/* zs_compact() on the device's pool; pages freed. */
unsigned long zsb_dev_compact(struct zsb_dev *d);
/* Slots still holding data (same-filled ones included). */
uint64_t zsb_dev_stored(struct zsb_dev *d);
void zsb_dev_stats(struct zsb_dev *d, struct zsb_rep *r);
/* Whether the backend can run strategy s; if not, why. */
bool zsb_backend_supports(enum zsb_backend_kind b, enum zsb_strategy s, const char **why);
const char *zsb_backend_name(enum zsb_backend_kind b);

/* ---- scenario.c ---- */
/* One repetition. keep_samples: keep the memory curve in r->samples (caller frees). */
int zsb_run_rep(const struct zsb_opts *o, const struct bench_pages *ps, enum zsb_strategy s,
		unsigned int k, unsigned int mib, bool keep_samples, struct zsb_rep *r,
		char *err, size_t errlen);
/* Pages per second the foreground thread stores with no exits going on. */
double zsb_fg_alone_rate(const struct zsb_opts *o, const struct bench_pages *ps);

/* ---- hog.c ---- */
/* Forks n spinning processes, idle until a repetition runs under the hog: 0 or -1. */
int zsb_hog_start(unsigned int n);
/* Whether the next repetitions run under the hog (runner). */
void zsb_hog_arm(bool on);
bool zsb_hog_armed(void);
/* Around the measured part of a repetition (scenario): spin if armed, then stop. */
void zsb_hog_begin(void);
void zsb_hog_end(void);
void zsb_hog_stop(void);

/* ---- plot.c ---- */
/* Writes the data files and zsbench.gp into o->plot_dir and runs gnuplot: 0 when the PNG
 * and SVG files were drawn, 1 when gnuplot is missing or failed, -errno on I/O errors. */
int zsb_plot(const struct zsb_opts *o, const char *const *names, const double *ns_per_page,
	     const double *back_ms, const struct zsb_rep *const *curves, unsigned int n);

/* ---- kernel.c ---- */
/* 0 done, 77 skipped (reason printed), other: failed. Appends a "kernel" member to the
 * JSON object being written; *reap_ns: median time from SIGKILL until all were reaped. */
int zsb_kernel_run(const struct zsb_opts *o, const struct bench_pages *ps,
		   struct bench_json *j, double *reap_ns);

/* A field of /proc/PID/status in KiB ("VmSwap", "RssAnon"); 0 when unreadable. */
uint64_t zsb_status_kib(pid_t pid, const char *field);

/* ---- real.c ---- */
/* 0 done, 77 skipped (reason printed), 1: a configuration failed. Appends a "real"
 * member to the JSON object being written. */
int zsb_real_run(const struct zsb_opts *o, const struct bench_pages *ps, struct bench_json *j);
/* The child side (argv[1] is "--real-child"): fills its buffer, waits, frees, exits. */
int zsb_real_child(int argc, char **argv);

#endif /* ZSBENCH_H */
