/* SPDX-License-Identifier: MIT */
/*
 * zram_bench: write and read throughput of zsmem's zram per compressor, with 1 and 2
 * threads, and the memory it takes (mem_used_total / compr_data_size), on the pages of
 * a corpus file (-c, 4 KiB pages, e.g. from make-corpus.sh) or of the built-in
 * generator. With --kernel (never the default: it configures and then resets the
 * device) the same pages go through /sys/block/zram0 with 1 MiB O_DIRECT writes and
 * reads, when we are root and zram0 is free (disksize 0, not swap).
 *
 * Prints a table and one JSON line. Throughputs are medians over -r repetitions.
 *
 * usage: zram_bench [-c FILE] [-m MIB] [-a lz4,zstd,lzo] [-t 1,2] [-r REPS] [-l LEVEL]
 *                   [--kernel] [--no-verify]
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zsmem/zram.h>

#include "bench.h"

#define MAX_ALGOS	8
#define MAX_THREADS	8
#define MAX_REPS	15
#define KCHUNK		(1u << 20)	/* kernel I/O size: 1 MiB */

struct opts {
	const char *corpus;
	size_t mib;
	char *algos[MAX_ALGOS];
	int nalgos;
	int threads[MAX_THREADS];
	int nthreads;
	int reps;
	int level;
	bool kernel;
	bool verify;
};

struct result {
	const char *impl;		/* "zsmem" or "kernel" */
	const char *algo;
	int threads;
	double write_mbps, read_mbps;
	double cpu_write_s, cpu_read_s;	/* process CPU seconds, median */
	struct zram_mm_stat mm;
	bool ok;			/* content verified (or not verified) */
	char skip[128];			/* why a kernel run was skipped */
	double w[MAX_REPS], rd[MAX_REPS], cw[MAX_REPS], cr[MAX_REPS];
	int n;				/* repetitions done */
};

static struct result results[MAX_ALGOS * MAX_THREADS * 2];
static int nresults;

/* ---------------------------------------------------------------------------------- */
/* zsmem                                                                               */

/*
 * A phase runs nthreads jobs, each over a contiguous range [first, last) of units (pages,
 * or the kernel's 1 MiB chunks), released together by one barrier so that the clock
 * covers only the work. Every job type begins with this header.
 */
struct phase_job {
	size_t first, last;
	int err;
	pthread_barrier_t *bar;
};

/* Runs jobs[0..nthreads) (each `size` bytes, a struct phase_job first) with fn over
 * units split evenly; returns the last error seen, and wall and CPU seconds. */
static int run_jobs(void *jobs, size_t size, int nthreads, size_t units, void *(*fn)(void *),
		    double *wall, double *cpu)
{
	pthread_t th[MAX_THREADS];
	pthread_barrier_t bar;
	uint64_t t0, c0;
	int err = 0;

	pthread_barrier_init(&bar, NULL, (unsigned int)nthreads + 1);
	for (int t = 0; t < nthreads; t++) {
		struct phase_job *h = (struct phase_job *)((char *)jobs + (size_t)t * size);

		h->first = units * (size_t)t / (size_t)nthreads;
		h->last = units * (size_t)(t + 1) / (size_t)nthreads;
		h->err = 0;
		h->bar = &bar;
		pthread_create(&th[t], NULL, fn, h);
	}
	c0 = bench_cpu_ns();
	t0 = bench_now_ns();
	pthread_barrier_wait(&bar);
	for (int t = 0; t < nthreads; t++) {
		struct phase_job *h = (struct phase_job *)((char *)jobs + (size_t)t * size);

		pthread_join(th[t], NULL);
		if (h->err)
			err = h->err;
	}
	*wall = (double)(bench_now_ns() - t0) / 1e9;
	*cpu = (double)(bench_cpu_ns() - c0) / 1e9;	/* with the kernel: its work, as our sys time */
	pthread_barrier_destroy(&bar);
	return err;
}

struct job {
	struct phase_job h;	/* first: see run_jobs() */
	struct zram *z;
	const struct bench_pages *ps;
	uint8_t *out;
	bool write;
};

static void *job_fn(void *p)
{
	struct job *j = p;

	pthread_barrier_wait(j->h.bar);
	for (size_t i = j->h.first; i < j->h.last && !j->h.err; i++) {
		if (j->write)
			j->h.err = zram_write_page(j->z, (uint32_t)i, bench_page(j->ps, i));
		else
			j->h.err = zram_read_page(j->z, (uint32_t)i,
						  j->out + i * (size_t)ZSM_PAGE_SIZE);
	}
	return NULL;
}

/* Runs one phase on nthreads threads (contiguous ranges); wall and CPU seconds. */
static int run_phase(struct zram *z, const struct bench_pages *ps, uint8_t *out, int nthreads,
		     bool write, double *wall, double *cpu)
{
	struct job jobs[MAX_THREADS];

	for (int t = 0; t < nthreads; t++)
		jobs[t] = (struct job){ .z = z, .ps = ps, .out = out, .write = write };
	return run_jobs(jobs, sizeof(jobs[0]), nthreads, ps->nr, job_fn, wall, cpu);
}

/* One repetition into r. */
static void bench_zsmem(const struct opts *o, const struct bench_pages *ps, uint8_t *out,
			struct result *r)
{
	double bytes = (double)ps->nr * ZSM_PAGE_SIZE;
	struct zram_config cfg = {
		.disksize = (uint64_t)ps->nr * ZSM_PAGE_SIZE,
		.comp_algorithm = r->algo,
		.comp_level = strcmp(r->algo, "zstd") ? 0 : o->level,
	};
	struct zram *z = zram_create(&cfg);
	double wall, cpu;
	int err;

	if (!z) {
		fprintf(stderr, "zram_bench: %s\n", zram_last_error());
		exit(1);
	}
	err = run_phase(z, ps, out, r->threads, true, &wall, &cpu);
	if (err) {
		fprintf(stderr, "zram_bench: write failed: %s\n", strerror(-err));
		exit(1);
	}
	r->w[r->n] = bytes / wall / 1e6;
	r->cw[r->n] = cpu;
	zram_get_mm_stat(z, &r->mm);
	err = run_phase(z, ps, out, r->threads, false, &wall, &cpu);
	if (err) {
		fprintf(stderr, "zram_bench: read failed: %s\n", strerror(-err));
		exit(1);
	}
	r->rd[r->n] = bytes / wall / 1e6;
	r->cr[r->n] = cpu;
	r->n++;
	if (o->verify && memcmp(out, ps->data, ps->nr * (size_t)ZSM_PAGE_SIZE))
		r->ok = false;
	zram_destroy(z);
}

/* ---------------------------------------------------------------------------------- */
/* Kernel zram0                                                                        */

#define ZDIR "/sys/block/zram0/"

static int sysfs_read(const char *file, char *buf, size_t size)
{
	int fd = open(file, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int sysfs_write(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* NULL when zram0 can be used, else why not. */
static const char *kernel_unusable(const char *algo, char *why, size_t len)
{
	char buf[512];
	FILE *f;

	if (geteuid() != 0)
		return "not root";
	if (sysfs_read(ZDIR "disksize", buf, sizeof(buf)))
		return "no /sys/block/zram0 (modprobe zram)";
	if (strtoull(buf, NULL, 10) != 0)
		return "zram0 is in use (disksize is not 0)";
	f = fopen("/proc/swaps", "r");
	if (f) {
		while (fgets(buf, sizeof(buf), f))
			if (strstr(buf, "/dev/zram0")) {
				fclose(f);
				return "zram0 is a swap device";
			}
		fclose(f);
	}
	if (sysfs_read(ZDIR "comp_algorithm", buf, sizeof(buf)))
		return "cannot read comp_algorithm";
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(why, len, "the kernel has no %.32s (it offers: %.160s)", algo, buf);
	for (char *tok = strtok(buf, " []"); tok; tok = strtok(NULL, " []"))
		if (!strcmp(tok, algo))
			return NULL;
	return why;
}

struct kjob {
	struct phase_job h;	/* first: see run_jobs(); the range counts KCHUNK chunks */
	int fd;
	uint8_t *buf;
	size_t bytes;		/* total bytes */
	bool write;
};

static void *kjob_fn(void *p)
{
	struct kjob *j = p;

	pthread_barrier_wait(j->h.bar);
	for (size_t c = j->h.first; c < j->h.last && !j->h.err; c++) {
		size_t off = c * KCHUNK, len = j->bytes - off < KCHUNK ? j->bytes - off : KCHUNK;
		ssize_t n = j->write ? pwrite(j->fd, j->buf + off, len, (off_t)off)
				     : pread(j->fd, j->buf + off, len, (off_t)off);

		if (n != (ssize_t)len)
			j->h.err = n < 0 ? errno : EIO;
	}
	return NULL;
}

static int kphase(int fd, uint8_t *buf, size_t bytes, int nthreads, bool write, double *wall,
		  double *cpu)
{
	struct kjob jobs[MAX_THREADS];

	for (int t = 0; t < nthreads; t++)
		jobs[t] = (struct kjob){ .fd = fd, .buf = buf, .bytes = bytes, .write = write };
	return run_jobs(jobs, sizeof(jobs[0]), nthreads, (bytes + KCHUNK - 1) / KCHUNK, kjob_fn,
			wall, cpu);
}

/* One repetition into r; on a problem r->skip says why and later reps do nothing. */
static void bench_kernel(const struct opts *o, const struct bench_pages *ps, uint8_t *out,
			 struct result *r)
{
	size_t bytes = ps->nr * (size_t)ZSM_PAGE_SIZE;
	char why[256], val[64], buf[512];
	unsigned long long v[9] = { 0 };
	double wall, cpu;
	const char *no;
	int fd, err;

	if (r->skip[0])
		return;
	no = kernel_unusable(r->algo, why, sizeof(why));
	if (no) {
		snprintf(r->skip, sizeof(r->skip), "%.120s", no);
		return;
	}
	snprintf(val, sizeof(val), "%zu", (bytes + KCHUNK - 1) / KCHUNK * KCHUNK);
	if (sysfs_write(ZDIR "comp_algorithm", r->algo) || sysfs_write(ZDIR "disksize", val)) {
		snprintf(r->skip, sizeof(r->skip), "configuring zram0 failed");
		sysfs_write(ZDIR "reset", "1");
		return;
	}
	fd = open("/dev/zram0", O_RDWR | O_DIRECT);
	if (fd < 0) {
		snprintf(r->skip, sizeof(r->skip), "open /dev/zram0: %s", strerror(errno));
		sysfs_write(ZDIR "reset", "1");
		return;
	}
	/* ps->data is page aligned (mmap), as O_DIRECT needs. */
	err = kphase(fd, ps->data, bytes, r->threads, true, &wall, &cpu);
	r->w[r->n] = (double)bytes / wall / 1e6;
	r->cw[r->n] = cpu;
	if (!err && !sysfs_read(ZDIR "mm_stat", buf, sizeof(buf)) &&
	    sscanf(buf, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 9)
		r->mm = (struct zram_mm_stat){ v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
					       v[8] };
	if (!err)
		err = kphase(fd, out, bytes, r->threads, false, &wall, &cpu);
	r->rd[r->n] = (double)bytes / wall / 1e6;
	r->cr[r->n] = cpu;
	close(fd);
	sysfs_write(ZDIR "reset", "1");
	if (err) {
		snprintf(r->skip, sizeof(r->skip), "I/O on /dev/zram0: %s", strerror(err));
		return;
	}
	r->n++;
	if (o->verify && memcmp(out, ps->data, bytes))
		r->ok = false;
}

/* ---------------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: zram_bench [-c FILE] [-m MIB] [-a lz4,zstd,lzo] [-t 1,2] [-r REPS]\n"
		"                  [-l ZSTD_LEVEL] [--kernel] [--no-verify]\n"
		"  -c FILE     corpus of 4 KiB pages (default: the built-in generator)\n"
		"  -m MIB      MiB of pages (default 64; with -c at most the file)\n"
		"  --kernel    also measure /sys/block/zram0 (root; configures then RESETS it)\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "kernel", no_argument, NULL, 'K' },
		{ "no-verify", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *algos = "lz4,zstd,lzo", *threads = "1,2";
	int c;

	*o = (struct opts){ .mib = 64, .reps = 3, .level = 0, .verify = true };
	while ((c = getopt_long(argc, argv, "c:m:a:t:r:l:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->corpus = optarg; break;
		case 'm': o->mib = strtoul(optarg, NULL, 0); break;
		case 'a': algos = optarg; break;
		case 't': threads = optarg; break;
		case 'r': o->reps = atoi(optarg); break;
		case 'l': o->level = atoi(optarg); break;
		case 'K': o->kernel = true; break;
		case 'V': o->verify = false; break;
		default: usage();
		}
	}
	if (o->reps < 1 || o->reps > MAX_REPS || o->mib < 1)
		usage();
	algos = strdup(algos);
	for (char *t = strtok(algos, ","); t && o->nalgos < MAX_ALGOS; t = strtok(NULL, ","))
		o->algos[o->nalgos++] = t;
	threads = strdup(threads);
	for (char *t = strtok(threads, ","); t && o->nthreads < MAX_THREADS; t = strtok(NULL, ",")) {
		int n = atoi(t);

		if (n < 1 || n > MAX_THREADS)
			usage();
		o->threads[o->nthreads++] = n;
	}
}

int main(int argc, char **argv)
{
	static const int widths[] = { 7, 6, 4, 10, 10, 8, 8, 10, 9, 8, 8, 7 };
	static const char *const head[] = { "impl", "algo", "thr", "write MB/s", "read MB/s",
					    "wr cpu s", "rd cpu s", "used/compr", "orig/comp",
					    "same", "huge", "check" };
	struct bench_pages ps;
	struct bench_table tab;
	struct bench_json js;
	struct opts o;
	uint8_t *out;
	char cells[12][32];
	int err;

	parse(argc, argv, &o);
	err = bench_pages_open(&ps, o.corpus, o.mib * 256, 1);
	if (err) {
		fprintf(stderr, "zram_bench: cannot load pages from %s: %s\n",
			o.corpus ? o.corpus : "the generator", strerror(-err));
		return 1;
	}
	if (o.corpus && ps.nr > o.mib * 256)
		ps.nr = o.mib * 256;
	if (posix_memalign((void **)&out, 4096, ps.nr * (size_t)ZSM_PAGE_SIZE))
		return 1;

	for (int a = 0; a < o.nalgos; a++)
		for (int t = 0; t < o.nthreads; t++)
			for (int k = 0; k < (o.kernel ? 2 : 1); k++) {
				struct result *r = &results[nresults++];

				r->impl = k ? "kernel" : "zsmem";
				r->algo = o.algos[a];
				r->threads = o.threads[t];
				r->ok = true;
			}
	/* Repetitions interleave zsmem and the kernel, so that both see the same noise of
	 * a shared machine; medians are taken per configuration afterwards. */
	for (int a = 0; a < o.nalgos * o.nthreads; a++) {
		int per = o.kernel ? 2 : 1;

		for (int k = 0; k < o.reps; k++)
			for (int i = a * per; i < (a + 1) * per; i++) {
				if (!strcmp(results[i].impl, "zsmem"))
					bench_zsmem(&o, &ps, out, &results[i]);
				else
					bench_kernel(&o, &ps, out, &results[i]);
			}
	}
	for (int i = 0; i < nresults; i++) {
		struct result *r = &results[i];

		r->write_mbps = bench_median_d(r->w, (size_t)r->n);
		r->read_mbps = bench_median_d(r->rd, (size_t)r->n);
		r->cpu_write_s = bench_median_d(r->cw, (size_t)r->n);
		r->cpu_read_s = bench_median_d(r->cr, (size_t)r->n);
	}

	printf("zram_bench: %zu pages (%.1f MiB) from %s, %d rep(s), medians\n", ps.nr,
	       (double)ps.nr / 256.0, ps.origin, o.reps);
	bench_table_init(&tab, stdout, 12, widths);
	bench_table_row(&tab, head);
	bench_table_rule(&tab);
	for (int i = 0; i < nresults; i++) {
		struct result *r = &results[i];
		const char *row[12];

		if (r->skip[0]) {
			printf("%-7s %-6s %4d skipped: %s\n", r->impl, r->algo, r->threads, r->skip);
			continue;
		}
		snprintf(cells[0], 32, "%s", r->impl);
		snprintf(cells[1], 32, "%s", r->algo);
		snprintf(cells[2], 32, "%d", r->threads);
		snprintf(cells[3], 32, "%.0f", r->write_mbps);
		snprintf(cells[4], 32, "%.0f", r->read_mbps);
		snprintf(cells[5], 32, "%.3f", r->cpu_write_s);
		snprintf(cells[6], 32, "%.3f", r->cpu_read_s);
		snprintf(cells[7], 32, "%.3f", bench_ratio((double)r->mm.mem_used_total,
							   (double)r->mm.compr_data_size));
		snprintf(cells[8], 32, "%.2f", bench_ratio((double)r->mm.orig_data_size,
							   (double)r->mm.compr_data_size));
		snprintf(cells[9], 32, "%llu", (unsigned long long)r->mm.same_pages);
		snprintf(cells[10], 32, "%llu", (unsigned long long)r->mm.huge_pages);
		snprintf(cells[11], 32, "%s", o.verify ? (r->ok ? "ok" : "BAD") : "-");
		for (int c = 0; c < 12; c++)
			row[c] = cells[c];
		bench_table_row(&tab, row);
	}

	bench_json_init(&js, stdout);
	bench_json_obj_begin(&js, NULL);
	bench_json_str(&js, "bench", "zram");
	bench_json_str(&js, "source", ps.origin);
	bench_json_u64(&js, "pages", ps.nr);
	bench_json_u64(&js, "reps", (uint64_t)o.reps);
	bench_json_u64(&js, "max_rss", bench_rss_bytes());
	bench_json_arr_begin(&js, "results");
	for (int i = 0; i < nresults; i++) {
		struct result *r = &results[i];

		bench_json_obj_begin(&js, NULL);
		bench_json_str(&js, "impl", r->impl);
		bench_json_str(&js, "algo", r->algo);
		bench_json_i64(&js, "threads", r->threads);
		if (r->skip[0]) {
			bench_json_str(&js, "skipped", r->skip);
		} else {
			bench_json_dbl(&js, "write_mbps", r->write_mbps);
			bench_json_dbl(&js, "read_mbps", r->read_mbps);
			bench_json_dbl(&js, "write_cpu_s", r->cpu_write_s);
			bench_json_dbl(&js, "read_cpu_s", r->cpu_read_s);
			bench_json_u64(&js, "orig_data_size", r->mm.orig_data_size);
			bench_json_u64(&js, "compr_data_size", r->mm.compr_data_size);
			bench_json_u64(&js, "mem_used_total", r->mm.mem_used_total);
			bench_json_u64(&js, "same_pages", r->mm.same_pages);
			bench_json_u64(&js, "huge_pages", r->mm.huge_pages);
			bench_json_dbl(&js, "used_over_compr",
				       bench_ratio((double)r->mm.mem_used_total,
						   (double)r->mm.compr_data_size));
			bench_json_bool(&js, "verified", o.verify && r->ok);
		}
		bench_json_obj_end(&js);
	}
	bench_json_arr_end(&js);
	bench_json_obj_end(&js);
	bench_json_finish(&js);

	for (int i = 0; i < nresults; i++)
		if (!results[i].ok)
			return 1;
	free(out);
	bench_pages_free(&ps);
	return 0;
}
