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
#include "zsbench.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	static struct zsb_run run;	/* ~90 KiB of repetitions: not on the stack */
	int rc;

	if (argc > 1 && !strcmp(argv[1], "--real-child"))
		return zsb_real_child(argc, argv);
	run.t_start = bench_now_ns();
	run.kernel_rc = -1;
	rc = zsb_cli_parse(argc, argv, &run.o);
	if (rc >= 0)
		return rc;
	rc = zsb_runner_prepare(&run);
	if (rc)
		return rc;
	zsb_runner_run(&run);
	zsb_report_table(&run);
	if (zsb_report_json(&run))
		return 1;
	zsb_report_plots(&run);
	if (!run.o.quiet)
		printf("wall time %.1f s\n", (double)(bench_now_ns() - run.t_start) / 1e9);
	zsb_runner_free(&run);
	if (run.kernel_rc > 0 && run.kernel_rc != 77)
		run.failed = 1;
	return run.failed;
}
