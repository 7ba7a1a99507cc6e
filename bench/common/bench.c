/* SPDX-License-Identifier: MIT */
/*
 * bench.c - clocks, RSS, samples, JSON and tables for the benchmarks.
 * The page generator lives in pagegen.c.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void bench_shuffle_u32(uint32_t *v, size_t n, struct zsm_rng *r)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = zsm_rng_below(r, i);
		uint32_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* ---------------------------------------------------------------------------------- */
/* Page sources */

static uint8_t *pages_alloc(size_t nr)
{
	/* mmap, not malloc: page aligned, and it never perturbs a malloc under test */
	void *p = mmap(NULL, nr * (size_t)ZSM_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int bench_pages_load(struct bench_pages *ps, const char *path, size_t max_pages)
{
	struct stat st;
	size_t nr, done = 0;
	int fd, err;

	memset(ps, 0, sizeof(*ps));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	nr = (size_t)st.st_size / ZSM_PAGE_SIZE;
	if (max_pages && nr > max_pages)
		nr = max_pages;
	if (!nr) {
		close(fd);
		return -ENODATA;
	}
	ps->data = pages_alloc(nr);
	if (!ps->data) {
		close(fd);
		return -ENOMEM;
	}
	while (done < nr * (size_t)ZSM_PAGE_SIZE) {
		ssize_t n = read(fd, ps->data + done, nr * (size_t)ZSM_PAGE_SIZE - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			close(fd);
			munmap(ps->data, nr * (size_t)ZSM_PAGE_SIZE);
			ps->data = NULL;
			return err;
		}
		done += (size_t)n;
	}
	close(fd);
	ps->nr = nr;
	ps->from_file = true;
	snprintf(ps->origin, sizeof(ps->origin), "%s", path);
	return 0;
}

int bench_pages_generate(struct bench_pages *ps, size_t nr, uint64_t seed)
{
	struct zsm_rng r;

	memset(ps, 0, sizeof(*ps));
	if (!nr)
		nr = 1;
	ps->data = pages_alloc(nr);
	if (!ps->data)
		return -ENOMEM;
	zsm_rng_seed(&r, seed);
	for (size_t i = 0; i < nr; i++)
		zsm_page_heap(ps->data + i * (size_t)ZSM_PAGE_SIZE, &r);
	ps->nr = nr;
	snprintf(ps->origin, sizeof(ps->origin), "generator(seed=%llu)",
		 (unsigned long long)seed);
	return 0;
}

int bench_pages_open(struct bench_pages *ps, const char *path, size_t nr, uint64_t seed)
{
	if (path)
		return bench_pages_load(ps, path, nr);
	return bench_pages_generate(ps, nr, seed);
}

void bench_pages_free(struct bench_pages *ps)
{
	if (ps->data)
		munmap(ps->data, ps->nr * (size_t)ZSM_PAGE_SIZE);
	memset(ps, 0, sizeof(*ps));
}

bool bench_page_same_filled(const void *page)
{
	const uint64_t *w = page;
	uint64_t first = w[0];

	for (size_t i = 1; i < ZSM_PAGE_SIZE / sizeof(uint64_t); i++)
		if (w[i] != first)
			return false;
	return true;
}

/* ---------------------------------------------------------------------------------- */
/* Clocks, CPU, memory */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rusage_ns(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru) < 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

uint64_t bench_cpu_ns(void)
{
	return rusage_ns(RUSAGE_SELF);
}

uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;

	/* the thread CPU clock has nanosecond resolution; RUSAGE_THREAD rounds to us */
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return rusage_ns(RUSAGE_THREAD);
}

uint64_t bench_rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	char buf[128];
	ssize_t n;
	int fd;

	/* statm, not status: one short read and no text parsing on the hot path */
	fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---------------------------------------------------------------------------------- */
/* Samples */

void bench_samples_init(struct bench_samples *s, size_t cap_hint)
{
	memset(s, 0, sizeof(*s));
	if (cap_hint) {
		s->v = malloc(cap_hint * sizeof(*s->v));
		if (s->v)
			s->cap = cap_hint;
	}
}

void bench_samples_add(struct bench_samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return;	/* drop the sample rather than abort a benchmark */
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = x;
	s->sorted = false;
}

void bench_samples_reset(struct bench_samples *s)
{
	s->n = 0;
	s->sorted = false;
}

void bench_samples_free(struct bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t bench_samples_pct(struct bench_samples *s, double p)
{
	size_t rank;

	if (!s->n)
		return 0;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
		s->sorted = true;
	}
	if (p <= 0)
		return s->v[0];
	if (p >= 100)
		return s->v[s->n - 1];
	/* nearest rank: the smallest value with at least p% of samples at or below it */
	rank = (size_t)ceil(p / 100.0 * (double)s->n);
	return s->v[rank ? rank - 1 : 0];
}

double bench_samples_mean(const struct bench_samples *s)
{
	double sum = 0;

	for (size_t i = 0; i < s->n; i++)
		sum += (double)s->v[i];
	return s->n ? sum / (double)s->n : 0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median_d(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---------------------------------------------------------------------------------- */
/* JSON */

void bench_json_init(struct bench_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void json_key(struct bench_json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
	if (key)
		fprintf(j->f, "\"%s\":", key);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void bench_json_obj_begin(struct bench_json *j, const char *key)
{
	json_key(j, key);
	fputc('{', j->f);
	if (j->depth < 31)
		j->depth++;
	j->need_comma[j->depth] = false;
}

void bench_json_obj_end(struct bench_json *j)
{
	fputc('}', j->f);
	if (j->depth > 0)
		j->depth--;
}

void bench_json_arr_begin(struct bench_json *j, const char *key)
{
	json_key(j, key);
	fputc('[', j->f);
	if (j->depth < 31)
		j->depth++;
	j->need_comma[j->depth] = false;
}

void bench_json_arr_end(struct bench_json *j)
{
	fputc(']', j->f);
	if (j->depth > 0)
		j->depth--;
}

void bench_json_str(struct bench_json *j, const char *key, const char *val)
{
	json_key(j, key);
	json_string(j->f, val);
}

void bench_json_u64(struct bench_json *j, const char *key, uint64_t val)
{
	json_key(j, key);
	fprintf(j->f, "%llu", (unsigned long long)val);
}

void bench_json_i64(struct bench_json *j, const char *key, int64_t val)
{
	json_key(j, key);
	fprintf(j->f, "%lld", (long long)val);
}

void bench_json_dbl(struct bench_json *j, const char *key, double val)
{
	json_key(j, key);
	/* JSON has no NaN or infinity */
	if (isfinite(val))
		fprintf(j->f, "%.6g", val);
	else
		fputs("null", j->f);
}

void bench_json_bool(struct bench_json *j, const char *key, bool val)
{
	json_key(j, key);
	fputs(val ? "true" : "false", j->f);
}

void bench_json_finish(struct bench_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

/* ---------------------------------------------------------------------------------- */
/* Tables */

void bench_table_init(struct bench_table *t, FILE *f, unsigned int ncols, const int *widths)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->ncols = ncols > BENCH_TABLE_MAX_COLS ? BENCH_TABLE_MAX_COLS : ncols;
	for (unsigned int i = 0; i < t->ncols; i++)
		t->width[i] = widths[i];
}

void bench_table_row(struct bench_table *t, const char *const *cells)
{
	for (unsigned int i = 0; i < t->ncols; i++) {
		const char *c = cells[i] ? cells[i] : "";

		if (i == 0)
			fprintf(t->f, "%-*s", t->width[i], c);
		else
			fprintf(t->f, " %*s", t->width[i], c);
	}
	fputc('\n', t->f);
}

void bench_table_rule(struct bench_table *t)
{
	int total = 0;

	for (unsigned int i = 0; i < t->ncols; i++)
		total += t->width[i] + (i ? 1 : 0);
	for (int i = 0; i < total; i++)
		fputc('-', t->f);
	fputc('\n', t->f);
}

const char *bench_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}
