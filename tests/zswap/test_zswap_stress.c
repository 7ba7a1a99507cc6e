/* SPDX-License-Identifier: MIT */
/*
 * Threaded stress: stores, loads, invalidates and writebacks racing on the same and on
 * different slots, under a pool limit small enough that the background shrinker (and
 * a thread calling zswap_writeback) write pages back all the time.
 *
 *  - Owned slots: each worker owns offsets i (mod workers) and keeps a model of each
 *    (nothing / cached version v / version v in the file). Every load is checked
 *    against the model; a miss on a cached page must find that exact page in the file.
 *  - Shared slots: all workers store, load and invalidate them at random; every page
 *    loaded must be one that some thread stored there (self-describing pages).
 *  - A churn thread turns swap type 1 on and off with pages in it while the shrinker
 *    may be writing them back (swapoff must not free a table under a writeback).
 *  - At the end every slot is loaded once more: stored_pages and the pool must be 0,
 *    i.e. no entry was lost (leak) or freed twice (ASan / corrupt counters).
 *
 * ZSWAP_STRESS_OPS (per worker, default 20000) and a 5 s wall-clock cap per run keep it short
 * under the sanitizers.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "zswap_test_util.h"

#define WORKERS		4
#define OWNED		1024
#define SHARED		128
#define NR		(OWNED + SHARED)

enum { M_NONE, M_CACHED, M_FILE };

struct model {
	unsigned char state;
	uint64_t ver;
};

static struct zswap *zs;
static int fd;
static struct model model[OWNED];
static atomic_bool stop;
static unsigned long ops_per_worker = 20000;
static uint64_t t_start;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Version v of a slot: every 11th version is a zero page. */
static void make_page(unsigned char *p, uint64_t off, uint64_t ver)
{
	if (ver % 11 == 0)
		memset(p, 0, PG);
	else
		t_vpage(p, off, ver, (unsigned)(ver % 5));
}

static void owned_op(unsigned long long *seed, uint64_t off, unsigned char *in,
		     unsigned char *out)
{
	struct model *m = &model[off];
	unsigned r = (unsigned)(t_rand(seed) % 10);
	int ret;

	if (r < 5) {			/* store a new version */
		uint64_t ver = m->ver + 1;

		make_page(in, off, ver);
		ret = zswap_store(zs, 0, off, in);
		m->ver = ver;
		if (ret == 0) {
			m->state = M_CACHED;
		} else {
			CHECKF(ret == -ENOSPC, "store: %d", ret);
			/* Rejected: the swap core writes the page to the device. */
			CHECK(pwrite(fd, in, PG, (off_t)(off * PG)) == (ssize_t)PG);
			m->state = M_FILE;
		}
	} else if (r < 8) {		/* load */
		ret = zswap_load(zs, 0, off, out);
		if (ret == 0) {
			CHECKF(m->state == M_CACHED, "offset %llu: load hit in state %d",
			       (unsigned long long)off, m->state);
			make_page(in, off, m->ver);
			CHECKF(!memcmp(in, out, PG), "offset %llu: wrong content",
			       (unsigned long long)off);
			m->state = M_NONE;
			return;
		}
		CHECKF(ret == -ENOENT, "load: %d", ret);
		if (m->state == M_NONE)
			return;
		/* Written back (or rejected): the file must hold exactly this version. */
		CHECKF(m->ver % 11 || m->state == M_FILE, "zero page written back");
		t_read_file_page(fd, off, out);
		make_page(in, off, m->ver);
		CHECKF(!memcmp(in, out, PG), "offset %llu: file holds the wrong page (state %d)",
		       (unsigned long long)off, m->state);
		m->state = M_NONE;
	} else {			/* invalidate */
		zswap_invalidate(zs, 0, off);
		m->state = M_NONE;
	}
}

static void shared_op(unsigned long long *seed, unsigned char *in, unsigned char *out)
{
	uint64_t off = OWNED + t_rand(seed) % SHARED;
	unsigned r = (unsigned)(t_rand(seed) % 10);
	int ret;

	if (r < 5) {
		make_page(in, off, 1 + t_rand(seed) % 1000);
		ret = zswap_store(zs, 0, off, in);
		CHECKF(ret == 0 || ret == -ENOSPC, "store: %d", ret);
	} else if (r < 8) {
		ret = zswap_load(zs, 0, off, out);
		CHECKF(ret == 0 || ret == -ENOENT, "load: %d", ret);
		if (ret == 0)
			CHECKF(t_vpage_valid(out, off, 1), "shared offset %llu: bad page",
			       (unsigned long long)off);
	} else {
		zswap_invalidate(zs, 0, off);
	}
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	unsigned long long seed = 0x9e3779b97f4a7c15ull * (id + 1);
	unsigned char in[PG], out[PG];

	for (unsigned long i = 0; i < ops_per_worker && !atomic_load(&stop); i++) {
		if (t_rand(&seed) % 4 == 0) {
			shared_op(&seed, in, out);
		} else {
			uint64_t off = (t_rand(&seed) % (OWNED / WORKERS)) * WORKERS + id;

			owned_op(&seed, off, in, out);
		}
		if (i % 256 == 0 && now_ms() - t_start > 5000)
			break;
	}
	return NULL;
}

static void *writeback_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		zswap_writeback(zs, 4);
		usleep(200);
	}
	return NULL;
}

static void *churn_thread(void *arg)
{
	unsigned char in[PG], out[PG];
	int fd2 = *(int *)arg;
	uint64_t round = 0;

	while (!atomic_load(&stop)) {
		CHECK(zswap_swapon(zs, 1, 64, fd2) == 0);
		for (uint64_t off = 0; off < 64; off++) {
			int ret;

			make_page(in, off, round * 64 + off + 1);
			ret = zswap_store(zs, 1, off, in);
			CHECK(ret == 0 || ret == -ENOSPC);
		}
		for (uint64_t off = 0; off < 64; off += 3)
			zswap_invalidate(zs, 1, off);
		for (uint64_t off = 1; off < 64; off += 3) {
			int ret = zswap_load(zs, 1, off, out);

			CHECK(ret == 0 || ret == -ENOENT);
			if (ret == 0)
				CHECK(t_vpage_valid(out, off, 1));
		}
		zswap_swapoff(zs, 1);
		round++;
		usleep(500);
	}
	return NULL;
}

static void run(bool deferred)
{
	struct zswap_config cfg = { .max_pool_bytes = 96 * PG, .accept_threshold_percent = 70,
				    .shrinker_enabled = true, .deferred_invalidate = deferred };
	pthread_t th[WORKERS], wb, churn;
	int fd2 = t_backing_file(64);
	unsigned char out[PG];
	struct zswap_stats st;

	memset(model, 0, sizeof(model));
	atomic_store(&stop, false);
	zs = t_zswap(&cfg);
	fd = t_backing_file(NR);
	CHECK(fd >= 0);
	CHECK(zswap_swapon(zs, 0, NR, fd) == 0);

	t_start = now_ms();
	CHECK(fd2 >= 0);
	CHECK(pthread_create(&wb, NULL, writeback_thread, NULL) == 0);
	CHECK(pthread_create(&churn, NULL, churn_thread, &fd2) == 0);
	for (unsigned i = 0; i < WORKERS; i++)
		CHECK(pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i) == 0);
	for (unsigned i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&stop, true);
	pthread_join(wb, NULL);
	pthread_join(churn, NULL);
	close(fd2);

	CHECK(zswap_check(zs) == 0);
	/* Final sweep: the owned slots must match the model exactly. */
	for (uint64_t off = 0; off < OWNED; off++) {
		unsigned char in[PG];
		int ret = zswap_load(zs, 0, off, out);

		if (model[off].state == M_CACHED && ret == -ENOENT) {
			t_read_file_page(fd, off, out);
			ret = 0;
		}
		if (model[off].state == M_NONE || model[off].state == M_FILE) {
			CHECKF(ret == -ENOENT, "offset %llu: unexpected hit", (unsigned long long)off);
			continue;
		}
		CHECK(ret == 0);
		make_page(in, off, model[off].ver);
		CHECKF(!memcmp(in, out, PG), "offset %llu: final content", (unsigned long long)off);
	}
	for (uint64_t off = OWNED; off < NR; off++) {
		int ret = zswap_load(zs, 0, off, out);

		CHECK(ret == 0 || ret == -ENOENT);
		if (ret == 0)
			CHECK(t_vpage_valid(out, off, 1));
	}
	zswap_flush(zs);
	zs_compact(zswap_pool(zs));
	st = t_stats(zs);
	printf("%s: written_back %llu limit_hit %llu reject_full %llu deferred %llu reclaim_fail %llu\n",
	       deferred ? "deferred" : "sync", (unsigned long long)st.written_back_pages,
	       (unsigned long long)st.pool_limit_hit, (unsigned long long)st.reject_pool_full,
	       (unsigned long long)st.deferred_invalidates,
	       (unsigned long long)st.reject_reclaim_fail);
	CHECKF(st.stored_pages == 0, "stored_pages %llu after emptying",
	       (unsigned long long)st.stored_pages);
	CHECK(st.zero_pages == 0 && st.stored_incompressible_pages == 0);
	CHECK(st.pool_total_size == 0);
	CHECK(st.decompress_fail == 0 && st.reject_reclaim_fail == 0);
	CHECK(zs_pool_check(zswap_pool(zs)) == 0);
	CHECK(zswap_check(zs) == 0);
	zswap_destroy(zs);
	close(fd);
}

int main(void)
{
	const char *e = getenv("ZSWAP_STRESS_OPS");

	if (e)
		ops_per_worker = strtoul(e, NULL, 0);
	run(false);
	run(true);
	return T_PASS;
}
