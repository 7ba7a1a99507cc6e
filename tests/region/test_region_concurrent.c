// SPDX-License-Identifier: MIT
/*
 * Model-checked concurrency: worker threads read and write random pages of a region
 * whose cap is an eighth of it, while the background reclaimer and a thread calling
 * zsr_reclaim() evict all the time. A model holds each page's version under a per-page
 * lock; every read must find exactly that version (zero before the first write), and
 * a final pass checks every page. Writes are whole pages, single words in place (the
 * model then records the patch) and a read(2) into the page from a pipe (a fault
 * from inside a system call).
 *
 * REGION_OPS (per worker, default 20000) and a wall-clock cap keep it short under the
 * sanitizers.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "region_test.h"

#define NPAGES	2048
#define WORKERS	3

struct mpage {
	pthread_mutex_t lock;
	uint64_t ver;		/* 0 = never written (zeros) */
	int32_t patch_off;	/* -1, or a word patched in place after t_rpage(ver) */
	uint64_t patch;
};

static struct mpage model[NPAGES];
static unsigned char *base;
static struct zsr *r;
static atomic_bool stop;
static unsigned long ops = 20000;
static uint64_t deadline_ms;
static bool user_only;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The model's view of page i. Caller holds model[i].lock. */
static void expect(unsigned char *p, size_t i)
{
	if (!model[i].ver) {
		memset(p, 0, PG);
		return;
	}
	t_rpage(p, i, model[i].ver);
	if (model[i].patch_off >= 0)
		memcpy(p + model[i].patch_off, &model[i].patch, 8);
}

static void check_page(size_t i, const char *when)
{
	unsigned char ref[PG];

	expect(ref, i);
	if (memcmp(base + i * PG, ref, PG) != 0) {
		size_t k = 0;

		while (base[i * PG + k] == ref[k])
			k++;
		fprintf(stderr, "%s: page %zu (version %llu) differs at byte %zu\n", when, i,
			(unsigned long long)model[i].ver, k);
		exit(T_FAIL);
	}
}

static void *worker(void *arg)
{
	unsigned long long s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	uint64_t ver = (uintptr_t)arg << 40;
	int fds[2];

	CHECK(pipe(fds) == 0);
	for (unsigned long n = 0; n < ops && !atomic_load(&stop); n++) {
		size_t i = t_rand(&s) % NPAGES;
		unsigned op = (unsigned)(t_rand(&s) % 10);

		if ((n & 255) == 0 && now_ms() > deadline_ms)
			break;
		pthread_mutex_lock(&model[i].lock);
		if (op < 5) {
			check_page(i, "read");
		} else if (op < 8) {
			t_rpage(base + i * PG, i, ++ver);
			model[i].ver = ver;
			model[i].patch_off = -1;
		} else if (op < 9 && model[i].ver) {
			/* one word in place: a write fault on an evicted page */
			uint64_t w = t_rand(&s);
			int32_t off = (int32_t)(t_rand(&s) % (PG / 8)) * 8;

			if (model[i].patch_off >= 0 && model[i].patch_off != off) {
				check_page(i, "pre-patch");
			} else {
				memcpy(base + i * PG + off, &w, 8);
				model[i].patch_off = off;
				model[i].patch = w;
			}
		} else if (!user_only) {
			/* the kernel writes into the page: read(2) from a pipe */
			unsigned char page[PG];

			t_rpage(page, i, ++ver);
			CHECK(write(fds[1], page, PG) == PG);
			CHECK(read(fds[0], base + i * PG, PG) == PG);
			model[i].ver = ver;
			model[i].patch_off = -1;
		}
		pthread_mutex_unlock(&model[i].lock);
	}
	close(fds[0]);
	close(fds[1]);
	return NULL;
}

static void *reclaimer(void *arg)
{
	unsigned long long s = 77;
	long total = 0, got;

	(void)arg;
	while (!atomic_load(&stop)) {
		got = zsr_reclaim(r, (t_rand(&s) % 200 + 1) * PG);
		CHECKF(got >= 0, "zsr_reclaim: %ld", got);
		total += got;
	}
	return (void *)(intptr_t)total;
}

int main(void)
{
	struct zsr_config cfg = { .size = (size_t)NPAGES * PG, .max_resident = NPAGES / 8 * PG,
				  .deferred_free = true };
	pthread_t w[WORKERS], rc;
	struct zsr_stats st;
	void *rv;
	const char *e = getenv("REGION_OPS");

	if (e)
		ops = strtoul(e, NULL, 0);
	deadline_ms = now_ms() + 15000;
	for (size_t i = 0; i < NPAGES; i++) {
		pthread_mutex_init(&model[i].lock, NULL);
		model[i].patch_off = -1;
	}
	r = t_region(&cfg);
	base = zsr_base(r);
	zsr_get_stats(r, &st);
	user_only = st.user_mode_only;

	CHECK(pthread_create(&rc, NULL, reclaimer, NULL) == 0);
	for (uintptr_t t = 0; t < WORKERS; t++)
		CHECK(pthread_create(&w[t], NULL, worker, (void *)(t + 1)) == 0);
	for (int t = 0; t < WORKERS; t++)
		pthread_join(w[t], NULL);
	atomic_store(&stop, true);
	pthread_join(rc, &rv);

	zsr_get_stats(r, &st);
	fprintf(stderr, "faults %llu refaults %llu evictions %llu resident %llu evicted %llu "
		"throttled %llu reclaimed-by-call %ld\n",
		(unsigned long long)st.faults, (unsigned long long)st.refaults,
		(unsigned long long)st.evictions, (unsigned long long)st.resident_pages,
		(unsigned long long)st.evicted_pages, (unsigned long long)st.throttled_faults,
		(long)(intptr_t)rv / (long)PG);
	CHECK(st.refaults > 0 && st.evictions > 0);
	CHECK(st.resident_pages + st.evicted_pages <= NPAGES);
	CHECK(st.resident_pages <= st.max_resident_pages);
	for (size_t i = 0; i < NPAGES; i++)
		check_page(i, "final");
	zsr_get_stats(r, &st);
	CHECK(st.resident_pages <= st.max_resident_pages);
	zsr_destroy(r);
	zsr_wait_released();
	return T_PASS;
}
