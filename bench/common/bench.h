/* SPDX-License-Identifier: MIT */
/*
 * bench.h - helpers shared by zsmem's benchmarks and the zsbench lab.
 *
 *  - page sources: 4 KiB pages from a corpus file (make-corpus.sh) or from the
 *    deterministic generator of heap-like data (zsm_page_heap, tests/common/pagegen.h);
 *  - time (CLOCK_MONOTONIC), CPU time (getrusage), RSS (/proc/self/statm);
 *  - sample sets with median and percentiles;
 *  - a small streaming JSON writer and a fixed-width table printer.
 *
 * Clocks, CPU and RSS readers may be called from any thread; a sample set, a JSON
 * writer or a table belongs to one thread at a time.
 */
#ifndef ZSMEM_BENCH_H
#define ZSMEM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/page.h"
#include "pagegen.h"

/* ---------------------------------------------------------------------------------- */
/* Random numbers: struct zsm_rng and friends (tests/common/pagegen.h). */

/* Fisher-Yates shuffle of an index array. */
void bench_shuffle_u32(uint32_t *v, size_t n, struct zsm_rng *r);

/* ---------------------------------------------------------------------------------- */
/* Page sources */

struct bench_pages {
	uint8_t *data;		/* nr * 4096 bytes, page aligned */
	size_t nr;
	bool from_file;
	char origin[256];	/* file name or "generator(seed=N)" */
};

/*
 * Loads up to max_pages whole pages from path (0 = the whole file). A trailing
 * partial page is ignored. 0 or -errno (-ENODATA: the file holds no whole page).
 */
int bench_pages_load(struct bench_pages *ps, const char *path, size_t max_pages);
/*
 * nr pages of heap-like data: zero runs, small integers, pointer-like words, ASCII
 * text, float arrays and random bytes mixed per page, plus some zero-filled, some
 * same-filled and some incompressible pages. lz4 compresses the set roughly like the
 * anonymous memory of real programs: 2.8x overall, 2.7x over the pages zram would
 * compress (a Python heap dump from make-corpus.sh: 3.0x). Same seed, same pages.
 * 0 or -ENOMEM.
 */
int bench_pages_generate(struct bench_pages *ps, size_t nr, uint64_t seed);
/* Either of the above: the file when path is non-NULL. nr = 0 with a file: all of it. */
int bench_pages_open(struct bench_pages *ps, const char *path, size_t nr, uint64_t seed);
void bench_pages_free(struct bench_pages *ps);

/* Page i, wrapping around: callers may ask for more pages than the source holds. */
static inline const void *bench_page(const struct bench_pages *ps, size_t i)
{
	return ps->data + (i % ps->nr) * (size_t)ZSM_PAGE_SIZE;
}

/* True when the page is one 8-byte word repeated (zram's same-filled pages). */
bool bench_page_same_filled(const void *page);

/* ---------------------------------------------------------------------------------- */
/* Clocks, CPU, memory */

uint64_t bench_now_ns(void);		/* CLOCK_MONOTONIC */
uint64_t bench_cpu_ns(void);		/* user + system of the whole process (getrusage SELF) */
uint64_t bench_thread_cpu_ns(void);	/* user + system of the calling thread */
uint64_t bench_rss_bytes(void);		/* resident set from /proc/self/statm; 0 on error */
/* Sleeps for ns nanoseconds (nanosleep, restarted on EINTR). */
void bench_sleep_ns(uint64_t ns);

/* ---------------------------------------------------------------------------------- */
/* Samples */

struct bench_samples {
	uint64_t *v;
	size_t n, cap;
	bool sorted;
};

void bench_samples_init(struct bench_samples *s, size_t cap_hint);
void bench_samples_add(struct bench_samples *s, uint64_t x);
void bench_samples_reset(struct bench_samples *s);
void bench_samples_free(struct bench_samples *s);
/* p in [0, 100]; nearest-rank; 0 when empty. Sorts the samples. */
uint64_t bench_samples_pct(struct bench_samples *s, double p);
static inline uint64_t bench_samples_median(struct bench_samples *s)
{
	return bench_samples_pct(s, 50.0);
}
double bench_samples_mean(const struct bench_samples *s);

/* Median of a small array of doubles (sorted in place); 0 when n == 0. */
double bench_median_d(double *v, size_t n);
/* a / b, or 0 when b == 0 (ratios against a baseline that may be missing). */
static inline double bench_ratio(double a, double b)
{
	return b != 0.0 ? a / b : 0.0;
}

/* ---------------------------------------------------------------------------------- */
/* JSON writer: streaming, no escaping beyond what strings of ours need. */

struct bench_json {
	FILE *f;
	int depth;
	bool need_comma[32];
	bool after_key;
};

void bench_json_init(struct bench_json *j, FILE *f);
void bench_json_obj_begin(struct bench_json *j, const char *key);	/* key NULL inside arrays */
void bench_json_obj_end(struct bench_json *j);
void bench_json_arr_begin(struct bench_json *j, const char *key);
void bench_json_arr_end(struct bench_json *j);
void bench_json_str(struct bench_json *j, const char *key, const char *val);
void bench_json_u64(struct bench_json *j, const char *key, uint64_t val);
void bench_json_i64(struct bench_json *j, const char *key, int64_t val);
void bench_json_dbl(struct bench_json *j, const char *key, double val);
void bench_json_bool(struct bench_json *j, const char *key, bool val);
/* Ends the document with a newline (one JSON value per line when written compactly). */
void bench_json_finish(struct bench_json *j);

/* ---------------------------------------------------------------------------------- */
/* Tables: fixed-width columns, the first left aligned, the others right aligned. */

#define BENCH_TABLE_MAX_COLS	16

struct bench_table {
	FILE *f;
	unsigned int ncols;
	int width[BENCH_TABLE_MAX_COLS];
};

void bench_table_init(struct bench_table *t, FILE *f, unsigned int ncols, const int *widths);
/* ncols strings */
void bench_table_row(struct bench_table *t, const char *const *cells);
void bench_table_rule(struct bench_table *t);
/* printf into a caller buffer and return it, for building cells inline. */
const char *bench_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* ZSMEM_BENCH_H */
