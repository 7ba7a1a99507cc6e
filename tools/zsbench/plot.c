/* SPDX-License-Identifier: MIT */
/*
 * plot.c - gnuplot output: exit time per strategy (bars) and memory held over time
 * (one line per strategy, the last repetition of each). Data files and the script are
 * left in the output directory so the figures can be redrawn or restyled by hand.
 */
#define _GNU_SOURCE
#include "zsbench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Curves are thinned to at most this many points: a plot needs no more. */
#define MAX_POINTS	2000

static int write_data(const struct zsb_opts *o, const char *const *names,
		      const double *ns_per_page, const double *back_ms,
		      const struct zsb_rep *const *curves, unsigned int n)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/exit_time.dat", o->plot_dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# strategy ns_per_page memory_back_ms\n");
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, "%s %.2f %.3f\n", names[i], ns_per_page[i], back_ms[i]);
	fclose(f);

	for (unsigned int i = 0; i < n; i++) {
		const struct zsb_rep *r = curves[i];
		size_t step = r->nr_samples / MAX_POINTS + 1;

		snprintf(path, sizeof(path), "%s/memory_%s.dat", o->plot_dir, names[i]);
		f = fopen(path, "w");
		if (!f)
			return -errno;
		fprintf(f, "# t_ms pool_MiB (strategy %s; 0 = the processes die)\n", names[i]);
		for (size_t s = 0; s < r->nr_samples; s += step)
			fprintf(f, "%.3f %.3f\n", r->samples[s].t_us / 1000.0,
				r->samples[s].pages * 4096.0 / 1048576.0);
		if (r->nr_samples)
			fprintf(f, "%.3f %.3f\n", r->samples[r->nr_samples - 1].t_us / 1000.0,
				r->samples[r->nr_samples - 1].pages * 4096.0 / 1048576.0);
		fclose(f);
	}
	return 0;
}

static void write_script(FILE *f, const struct zsb_opts *o, const char *term, const char *ext,
			 const char *const *names, unsigned int n)
{
	fprintf(f, "set terminal %s\n", term);
	fprintf(f, "set output '%s/exit_time.%s'\n", o->plot_dir, ext);
	fprintf(f, "set title 'Exit path: %u processes x %u MiB, %s (%s), median of %u'\n",
		o->k, o->mib, zsb_backend_name(o->backend), o->comp, o->reps);
	fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n"
		   "set style fill solid 0.8 border -1\nset boxwidth 0.9\n"
		   "set ylabel 'exit-path time per page (ns)'\nset y2label 'memory back (ms)'\n"
		   "set ytics nomirror\nset y2tics\nset yrange [0:*]\nset y2range [0:*]\n"
		   "set xtics rotate by -30\nset key top right\nset grid ytics\n");
	fprintf(f, "plot '%s/exit_time.dat' using 2:xtic(1) title 'exit ns/page' axes x1y1, "
		   "'' using 3 title 'memory back (ms)' axes x1y2\n", o->plot_dir);
	fprintf(f, "reset\n");
	fprintf(f, "set terminal %s\n", term);
	fprintf(f, "set output '%s/memory.%s'\n", o->plot_dir, ext);
	fprintf(f, "set title 'Pool memory during and after the exits (%s)'\n",
		zsb_backend_name(o->backend));
	fprintf(f, "set xlabel 'ms since the processes died'\nset ylabel 'pool MiB'\n"
		   "set grid\nset key top right\nset yrange [0:*]\n");
	fprintf(f, "plot ");
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, "%s'%s/memory_%s.dat' using 1:2 with lines lw 2 title '%s'",
			i ? ", " : "", o->plot_dir, names[i], names[i]);
	fprintf(f, "\n");
}

int zsb_plot(const struct zsb_opts *o, const char *const *names, const double *ns_per_page,
	     const double *back_ms, const struct zsb_rep *const *curves, unsigned int n)
{
	char path[600], cmd[700];
	int rc;
	FILE *f;

	rc = write_data(o, names, ns_per_page, back_ms, curves, n);
	if (rc) {
		fprintf(stderr, "zsbench: plot data: %s\n", strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/zsbench.gp", o->plot_dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# zsbench plots; redraw with: gnuplot %s\n", path);
	write_script(f, o, "pngcairo size 1000,600 noenhanced", "png", names, n);
	fprintf(f, "reset\n");
	write_script(f, o, "svg size 1000,600 noenhanced", "svg", names, n);
	fclose(f);

	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr, "zsbench: gnuplot not found; data and script left in %s\n",
			o->plot_dir);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>'%s/gnuplot.log'", path, o->plot_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "zsbench: gnuplot failed, see %s/gnuplot.log\n", o->plot_dir);
		return 1;
	}
	return 0;
}
