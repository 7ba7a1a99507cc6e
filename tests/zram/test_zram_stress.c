/* SPDX-License-Identifier: MIT */
/*
 * Threaded stress with content checks: threads write, read, discard and notify their
 * own slots (exact expected content) and a shared region (self-describing pages: a
 * read must return zeros or a page that matches its own header), while a control
 * thread marks idle and compacts. Run in several free modes; statistics recounted at
 * the end. Usage: test_zram_stress [seconds-per-mode]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "zram_test_util.h"

#define THREADS		3
#define OWN		1500		/* slots per thread */
#define SHARED		256
#define NPAGES		(THREADS * OWN + SHARED)

struct worker {
	struct zram *z;
	int id;
	uint32_t version[OWN];		/* 0: empty or dead (notified) */
	uint64_t ops;
};

static atomic_bool stop;

static void make_shared(unsigned char *page, uint32_t index, uint64_t v)
{
	zpg_fill(page, v, index, (unsigned int)(v % 3) * 20, 0);
	memcpy(page, &index, sizeof(index));
	memcpy(page + 8, &v, sizeof(v));
}

static void check_shared(const unsigned char *out, uint32_t index)
{
	unsigned char want[4096];
	uint32_t idx;
	uint64_t v;
	int zero = 1;

	for (int i = 0; i < 4096 && zero; i++)
		zero = out[i] == 0;
	if (zero)
		return;
	memcpy(&idx, out, sizeof(idx));
	memcpy(&v, out + 8, sizeof(v));
	CHECKF(idx == index, "shared slot %u holds a page of slot %u", index, idx);
	make_shared(want, index, v);
	CHECKF(!memcmp(want, out, 4096), "shared slot %u: torn page (version %llu)", index,
	       (unsigned long long)v);
}

static void *worker_fn(void *p)
{
	struct worker *w = p;
	unsigned char page[4096], out[4096];
	uint64_t s = 1000 + (uint64_t)w->id;
	uint32_t base = (uint32_t)w->id * OWN;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t r = zpg_next(&s);
		unsigned int op = (unsigned int)(r % 100);
		uint32_t k = (uint32_t)((r >> 8) % OWN);
		uint32_t sh = THREADS * OWN + (uint32_t)((r >> 24) % SHARED);

		w->ops++;
		if (op < 35) {
			uint32_t v = w->version[k] + 1 + (uint32_t)(r >> 40) % 7;

			zpg_fill(page, v, base + k, v % 5 == 0 ? 100 : 10, 5);
			CHECK(zram_write_page(w->z, base + k, page) == 0);
			w->version[k] = v;
		} else if (op < 65) {
			CHECK(zram_read_page(w->z, base + k, out) == 0);
			if (w->version[k]) {
				zpg_fill(page, w->version[k], base + k,
					 w->version[k] % 5 == 0 ? 100 : 10, 5);
				CHECKF(!memcmp(page, out, 4096), "thread %d slot %u v%u", w->id,
				       base + k, w->version[k]);
			}
		} else if (op < 70) {
			uint32_t n = 1 + (uint32_t)(r >> 40) % 8;

			if (k + n > OWN)
				n = OWN - k;
			CHECK(zram_discard(w->z, base + k, n) == 0);
			for (uint32_t i = 0; i < n; i++)
				w->version[k + i] = 0;
		} else if (op < 78) {
			/* Dead from now on: its content is unspecified until rewritten. */
			zram_slot_free_notify(w->z, base + k);
			w->version[k] = 0;
		} else if (op < 88) {
			make_shared(page, sh, r >> 20);
			CHECK(zram_write_page(w->z, sh, page) == 0);
		} else if (op < 96) {
			CHECK(zram_read_page(w->z, sh, out) == 0);
			check_shared(out, sh);
		} else if (op < 98) {
			zram_slot_free_notify(w->z, sh);
		} else {
			CHECK(zram_discard(w->z, sh, 1) == 0);
		}
	}
	return NULL;
}

/* Controls racing the I/O: idle marking, compaction, writeback, recompression. */
static void *control_fn(void *p)
{
	struct zram *z = p;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	uint64_t s = 99;
	unsigned int round = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		zram_mark_idle(z, 0);
		zram_compact(z);
		for (int i = 0; i < 64; i++)
			CHECK(zram_writeback_slot(z, (uint32_t)(zpg_next(&s) % NPAGES)) >= 0);
		if (round++ % 4 == 0)
			CHECK(zram_recompress(z, ZRAM_RECOMP_IDLE, "zstd", 1, 1024) >= 0);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void run(enum zram_free_mode mode, double seconds)
{
	static struct worker w[THREADS];
	unsigned char page[4096], out[4096];
	pthread_t th[THREADS], ctl;
	struct timespec ts = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };
	struct zram *z = zt_create("lz4", 0, NPAGES, mode);
	struct zram_debug_stat dbg;
	struct zram_bd_stat bd;
	struct zram_ext_stat ext;
	char path[] = "/tmp/zram-stress-XXXXXX";
	int fd = mkstemp(path);
	uint64_t ops = 0;

	CHECK(fd >= 0);
	unlink(path);
	CHECK(zram_set_backing_fd(z, fd, 0) == 0);

	atomic_store(&stop, false);
	for (int t = 0; t < THREADS; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].z = z;
		w[t].id = t;
		CHECK(pthread_create(&th[t], NULL, worker_fn, &w[t]) == 0);
	}
	CHECK(pthread_create(&ctl, NULL, control_fn, z) == 0);
	nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		ops += w[t].ops;
	}
	pthread_join(ctl, NULL);
	zram_flush(z);

	/* Final content check of the owned slots; free the notified ones' leftovers. */
	for (int t = 0; t < THREADS; t++) {
		for (uint32_t k = 0; k < OWN; k++) {
			uint32_t idx = (uint32_t)t * OWN + k;

			if (!w[t].version[k])
				continue;
			zpg_fill(page, w[t].version[k], idx, w[t].version[k] % 5 == 0 ? 100 : 10, 5);
			CHECK(zram_read_page(z, idx, out) == 0 && !memcmp(page, out, 4096));
		}
	}
	for (uint32_t i = THREADS * OWN; i < NPAGES; i++) {
		CHECK(zram_read_page(z, i, out) == 0);
		check_shared(out, i);
	}
	zt_check_stats(z);
	zram_get_debug_stat(z, &dbg);
	zram_get_bd_stat(z, &bd);
	zram_get_ext_stat(z, &ext);
	printf("%-15s %8llu ops, miss_free %llu, bd_writes %llu bd_reads %llu, recompressed "
	       "%llu\n", zram_free_mode_name(zram_get_free_mode(z)), (unsigned long long)ops,
	       (unsigned long long)dbg.miss_free, (unsigned long long)bd.bd_writes,
	       (unsigned long long)bd.bd_reads, (unsigned long long)ext.recompressed);
	CHECK(zram_discard(z, 0, NPAGES) == 0);
	zt_check_stats(z);
	zram_get_bd_stat(z, &bd);
	CHECK(bd.bd_count == 0);
	zram_destroy(z);
	close(fd);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.5;

	run(ZRAM_FREE_SYNC, seconds);
	run(ZRAM_FREE_PERCPU_GROUPED, seconds);
	run(ZRAM_FREE_PERCPU_PLAIN, seconds);
	run(ZRAM_FREE_V2_ARRAY, seconds);
	run(ZRAM_FREE_PER_CLASS, seconds);
	return T_PASS;
}
