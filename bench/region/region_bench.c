// SPDX-License-Identifier: MIT
/*
 * region_bench: the userfaultfd region's goals, measured in one run.
 *
 *  1. fault     median time of a write to an evicted region page (missing fault served
 *               by the handler: decompress + UFFDIO_COPY) against a plain first-touch
 *               write fault on fresh anonymous memory, rounds interleaved; and the
 *               floor under both: a bare userfaultfd round trip (no region at all,
 *               handler threads arranged as the region's);
 *  2. evict     zsr_reclaim of a resident working set in batches, us per page (and
 *               page by page, for contrast);
 *  3. cap       max_resident = 1/4 of a working set of heap pages: random reads and
 *               writes, every byte checked against the corpus; RssAnon sampled against
 *               max_resident + compr_bytes x 1.05 + 2 MiB; pool bytes / evicted bytes;
 *  4. destroy   zsr_destroy with DESTROY MiB evicted, synchronous free vs deferred:
 *               time until the caller is back, time until the memory is back
 *               (zsr_wait_released; RssAnon confirms), as ratios to the sync time.
 *
 * Pages come from a corpus file (-c, default /tmp/corpus192.bin when present, mapped
 * read-only so it does not count in RssAnon) or the generator. Prints a table, writes
 * JSON (-o). Timings are medians; ratios compare figures from this same run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <zsmem/lab.h>
#include <zsmem/region.h>

#include "bench.h"
#include "common/thread.h"

#define PG 4096ul

static const unsigned char *corpus;
static size_t corpus_pages;
static char origin[300];

static const unsigned char *cpage(size_t i)
{
	return corpus + (i % corpus_pages) * PG;
}

static void load_corpus(const char *path, size_t gen_pages)
{
	struct stat sb;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size >= (off_t)PG) {
		corpus_pages = (size_t)sb.st_size / PG;
		corpus = mmap(NULL, corpus_pages * PG, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
		close(fd);
		if (corpus != MAP_FAILED) {
			snprintf(origin, sizeof(origin), "%s", path);
			return;
		}
	}
	if (fd >= 0)
		close(fd);
	{
		static struct bench_pages ps;

		if (bench_pages_generate(&ps, gen_pages, 1) != 0) {
			fprintf(stderr, "region_bench: no memory for the generator\n");
			exit(1);
		}
		corpus = ps.data;
		corpus_pages = ps.nr;
		snprintf(origin, sizeof(origin), "%s", ps.origin);
	}
}

static uint64_t rss_anon(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static struct zsr *region(size_t size, size_t max_resident, bool deferred)
{
	struct zsr_config cfg = { .size = size, .max_resident = max_resident,
				  .compressor = "lz4", .deferred_free = deferred };
	struct zsr *r = zsr_create(&cfg);

	if (!r) {
		fprintf(stderr, "region_bench: zsr_create: %s\n", strerror(errno));
		exit(errno == EPERM ? 77 : 1);
	}
	return r;
}

/* Fills n pages of a region from the corpus (offset off), evicting every chunk pages. */
static void fill(struct zsr *r, size_t n, size_t off, size_t chunk)
{
	unsigned char *b = zsr_base(r);

	for (size_t i = 0; i < n; i++) {
		memcpy(b + i * PG, cpage(i + off), PG);
		if (chunk && (i + 1) % chunk == 0)
			zsr_reclaim(r, chunk * PG);
	}
}

/* ---------------------------------------------------------------------------------- */

struct results {
	double plain_fault_ns, region_fault_ns, region_fault_p99_ns, fault_ratio;
	double evict_batch_us, evict_single_us;
	double plain_fault_cpu_us, region_fault_cpu_us, evict_batch_cpu_us;
	double bare_fault_ns, bare_ratio;	/* the floor: a bare userfaultfd round trip */
	uint64_t ws_pages, cap_pages, rss_max_over, ops, refaults, evicted_pages;
	double pool_ratio, compr_ratio_pool, rss_worst_slack_mib;
	bool bytes_exact, rss_ok;
	double destroy_sync_ms, destroy_def_call_ms, destroy_def_back_ms;
	double destroy_call_ratio, destroy_back_ratio;
	uint64_t destroy_pages;
	bool destroy_rss_back;
};

/*
 * The floor under the region's fault on this machine: a bare userfaultfd round trip,
 * i.e. handler threads that answer each missing fault with UFFDIO_COPY of a ready page
 * (copy and wake in one ioctl: no lookup, no decompression, no bookkeeping), arranged
 * as the region arranges its own (zsr_lab_handler_cpus). The region cannot serve a
 * fault faster than this.
 */
#define BARE_MAX 4

struct bare {
	int uffd;
	int stop;		/* eventfd: the round is over */
	unsigned char *src;
	int cpu;		/* -1: not pinned */
};

static void *bare_handler(void *arg)
{
	struct bare *b = arg;
	struct uffd_msg m[16];

	if (b->cpu >= 0)
		(void)zsm_thread_pin(b->cpu);
	for (;;) {
		struct pollfd p[2] = { { .fd = b->uffd, .events = POLLIN },
				       { .fd = b->stop, .events = POLLIN } };
		ssize_t got;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[1].revents & POLLIN)
			return NULL;
		got = read(b->uffd, m, sizeof(m));	/* non-blocking: another may have it */
		for (size_t i = 0; got > 0 && i < (size_t)got / sizeof(m[0]); i++) {
			struct uffdio_copy c = { .dst = m[i].arg.pagefault.address & ~(PG - 1),
						 .src = (uintptr_t)b->src, .len = PG };

			if (m[i].event == UFFD_EVENT_PAGEFAULT)
				(void)ioctl(b->uffd, UFFDIO_COPY, &c);
		}
	}
}

/* Adds n bare round trips (in the given page order) to s; false if no userfaultfd. */
static bool bare_round(struct bench_samples *s, const uint32_t *order, size_t n)
{
	struct bare b[BARE_MAX];
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	unsigned char *a, *src;
	pthread_t t[BARE_MAX];
	int cpus[BARE_MAX], uffd, stop;
	unsigned nt = zsr_lab_handler_cpus(cpus, BARE_MAX), started = 0;
	uint64_t one = 1;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* USER_MODE_ONLY */);
	if (uffd < 0)
		return false;
	stop = eventfd(0, EFD_CLOEXEC);
	a = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = aligned_alloc(PG, PG);
	if (stop < 0 || a == MAP_FAILED || !src || ioctl(uffd, UFFDIO_API, &api) != 0)
		goto fail;
	memcpy(src, cpage(0), PG);
	(void)madvise(a, n * PG, MADV_NOHUGEPAGE);
	reg.range.start = (uintptr_t)a;
	reg.range.len = n * PG;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0)
		goto fail;
	for (; started < nt; started++) {
		b[started] = (struct bare){ .uffd = uffd, .stop = stop, .src = src,
					    .cpu = cpus[started] };
		if (pthread_create(&t[started], NULL, bare_handler, &b[started]) != 0)
			goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = bench_now_ns();

		a[order[i] * PG + 64] ^= 1;
		bench_samples_add(s, bench_now_ns() - t0);
	}
	(void)!write(stop, &one, sizeof(one));
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	close(stop);
	close(uffd);
	munmap(a, n * PG);
	free(src);
	return true;
fail:
	if (stop >= 0)
		(void)!write(stop, &one, sizeof(one));
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (stop >= 0)
		close(stop);
	close(uffd);
	if (a != MAP_FAILED)
		munmap(a, n * PG);
	free(src);
	return false;
}

static void bench_fault(struct results *res, size_t n, int rounds)
{
	struct bench_samples plain, reg, bare;
	double cpu_plain[16], cpu_reg[16];
	bool have_bare = true;
	struct zsm_rng rng;
	uint32_t *order = malloc(n * sizeof(*order));

	bench_samples_init(&plain, n * rounds);
	bench_samples_init(&reg, n * rounds);
	bench_samples_init(&bare, n * rounds);
	zsm_rng_seed(&rng, 7);
	for (int k = 0; k < rounds; k++) {
		unsigned char *a = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		struct zsr *r = region(n * PG, 0, true);
		unsigned char *b = zsr_base(r);

		(void)madvise(a, n * PG, MADV_NOHUGEPAGE);
		for (size_t i = 0; i < n; i++)
			order[i] = (uint32_t)i;
		bench_shuffle_u32(order, n, &rng);
		uint64_t c0 = bench_cpu_ns();
		for (size_t i = 0; i < n; i++) {
			uint64_t t0 = bench_now_ns();

			a[order[i] * PG + 64] = 1;
			bench_samples_add(&plain, bench_now_ns() - t0);
		}
		if (k < 16)
			cpu_plain[k] = (double)(bench_cpu_ns() - c0) / 1e3 / (double)n;
		fill(r, n, 0, 0);
		zsr_reclaim(r, n * PG);
		c0 = bench_cpu_ns();
		for (size_t i = 0; i < n; i++) {
			uint64_t t0 = bench_now_ns();

			b[order[i] * PG + 64] ^= 1;
			bench_samples_add(&reg, bench_now_ns() - t0);
		}
		/* every thread of the process: the faulting one and the handler */
		if (k < 16)
			cpu_reg[k] = (double)(bench_cpu_ns() - c0) / 1e3 / (double)n;
		zsr_destroy(r);
		munmap(a, n * PG);
		if (have_bare)
			have_bare = bare_round(&bare, order, n);
	}
	zsr_wait_released();
	res->plain_fault_ns = (double)bench_samples_median(&plain);
	res->region_fault_ns = (double)bench_samples_median(&reg);
	res->region_fault_p99_ns = (double)bench_samples_pct(&reg, 99);
	res->fault_ratio = res->region_fault_ns / res->plain_fault_ns;
	if (have_bare) {
		res->bare_fault_ns = (double)bench_samples_median(&bare);
		res->bare_ratio = res->bare_fault_ns / res->plain_fault_ns;
	}
	res->plain_fault_cpu_us = bench_median_d(cpu_plain, (size_t)(rounds < 16 ? rounds : 16));
	res->region_fault_cpu_us = bench_median_d(cpu_reg, (size_t)(rounds < 16 ? rounds : 16));
	bench_samples_free(&plain);
	bench_samples_free(&reg);
	bench_samples_free(&bare);
	free(order);
}

static void bench_evict(struct results *res, size_t n, int rounds)
{
	double batch[16], single[16], batch_cpu[16];

	for (int k = 0; k < rounds && k < 16; k++) {
		struct zsr *r = region(n * PG, 0, true);
		uint64_t t0;
		long got = 0;

		fill(r, n, (size_t)k * n, 0);
		/* the CLOCK's first sweep only clears references: clear them first */
		zsr_reclaim(r, PG);
		uint64_t c0 = bench_cpu_ns();
		t0 = bench_now_ns();
		got = zsr_reclaim(r, n * PG);
		batch[k] = (double)(bench_now_ns() - t0) / 1e3 / (double)(got / (long)PG);
		/* the process's CPU time: evictor, handler (remove events), pool threads */
		batch_cpu[k] = (double)(bench_cpu_ns() - c0) / 1e3 / (double)(got / (long)PG);
		/* page by page: one page per call (the one-by-one cost) */
		for (size_t i = 0; i < n / 8; i++)
			(void)((volatile unsigned char *)zsr_base(r))[i * PG];
		zsr_reclaim(r, PG);
		t0 = bench_now_ns();
		got = 0;
		for (size_t i = 0; i < n / 8; i++)
			got += zsr_reclaim(r, PG);
		single[k] = got ? (double)(bench_now_ns() - t0) / 1e3 / (double)(got / (long)PG) : 0;
		zsr_destroy(r);
	}
	zsr_wait_released();
	res->evict_batch_us = bench_median_d(batch, (size_t)(rounds < 16 ? rounds : 16));
	res->evict_single_us = bench_median_d(single, (size_t)(rounds < 16 ? rounds : 16));
	res->evict_batch_cpu_us = bench_median_d(batch_cpu, (size_t)(rounds < 16 ? rounds : 16));
}

static void bench_cap(struct results *res, size_t ws, uint64_t ops)
{
	size_t cap = ws / 4;
	uint64_t base_anon = rss_anon(), worst = 0;
	struct zsr *r = region(ws * PG, cap * PG, true);
	unsigned char *b = zsr_base(r);
	unsigned char *ver = calloc(ws, 1);	/* 0 = corpus page i, 1 = corpus page i + ws */
	struct zsm_rng rng;
	struct zsr_stats st;
	double slack_min = 1e300;
	bool exact = true;

	zsm_rng_seed(&rng, 11);
	fill(r, ws, 0, 0);
	for (uint64_t k = 0; k < ops; k++) {
		/* a skewed pattern: 3/4 of the accesses to 1/8 of the pages */
		size_t i = zsm_rng_below(&rng, 4) ? zsm_rng_below(&rng, ws / 8)
						      : zsm_rng_below(&rng, ws);

		if (zsm_rng_below(&rng, 4) == 0) {
			ver[i] ^= 1;
			memcpy(b + i * PG, cpage(i + ver[i] * ws), PG);
		} else if (memcmp(b + i * PG, cpage(i + ver[i] * ws), PG) != 0) {
			exact = false;
		}
		if (k % 256 == 0) {
			uint64_t anon = rss_anon() - base_anon, bound;

			zsr_get_stats(r, &st);
			bound = cap * PG + (uint64_t)((double)st.compr_bytes * 1.05) + (2u << 20);
			if (anon > bound && anon - bound > worst)
				worst = anon - bound;
			if ((double)bound - (double)anon < slack_min)
				slack_min = (double)bound - (double)anon;
		}
	}
	for (size_t i = 0; i < ws; i++)
		if (memcmp(b + i * PG, cpage(i + ver[i] * ws), PG) != 0)
			exact = false;
	zsr_get_stats(r, &st);
	res->ws_pages = ws;
	res->cap_pages = cap;
	res->ops = ops;
	res->refaults = st.refaults;
	res->evicted_pages = st.evicted_pages;
	res->pool_ratio = st.evicted_pages ? (double)st.pool_pages / (double)st.evicted_pages : 0;
	res->compr_ratio_pool = st.compr_bytes ? (double)st.pool_pages * PG / (double)st.compr_bytes : 0;
	res->rss_max_over = worst;
	res->rss_ok = worst == 0;
	res->rss_worst_slack_mib = slack_min / 1048576.0;
	res->bytes_exact = exact;
	zsr_destroy(r);
	zsr_wait_released();
	free(ver);
}

static void bench_destroy(struct results *res, size_t pages, int rounds)
{
	double sync_ms[8], call_ms[8], back_ms[8];
	bool back = true;

	for (int k = 0; k < rounds && k < 8; k++) {
		for (int deferred = 0; deferred < 2; deferred++) {
			uint64_t anon0 = rss_anon(), t0, t1, t2;
			struct zsr *r = region(pages * PG, 0, deferred);

			fill(r, pages, 0, 16384);
			zsr_reclaim(r, pages * PG);
			t0 = bench_now_ns();
			zsr_destroy(r);
			t1 = bench_now_ns();
			zsr_wait_released();
			t2 = bench_now_ns();
			if (rss_anon() > anon0 + (8u << 20))
				back = false;
			if (!deferred) {
				sync_ms[k] = (double)(t2 - t0) / 1e6;
			} else {
				call_ms[k] = (double)(t1 - t0) / 1e6;
				back_ms[k] = (double)(t2 - t0) / 1e6;
			}
		}
	}
	rounds = rounds < 8 ? rounds : 8;
	res->destroy_pages = pages;
	res->destroy_sync_ms = bench_median_d(sync_ms, (size_t)rounds);
	res->destroy_def_call_ms = bench_median_d(call_ms, (size_t)rounds);
	res->destroy_def_back_ms = bench_median_d(back_ms, (size_t)rounds);
	res->destroy_call_ratio = res->destroy_def_call_ms / res->destroy_sync_ms;
	res->destroy_back_ratio = res->destroy_def_back_ms / res->destroy_sync_ms;
	res->destroy_rss_back = back;
}

int main(int argc, char **argv)
{
	const char *path = access("/tmp/corpus192.bin", R_OK) == 0 ? "/tmp/corpus192.bin" : NULL;
	const char *out = NULL;
	size_t ws_mib = 128, destroy_mib = 1024, fault_pages = 4096;
	int rounds = 3, quick = 0, c;
	const char *only = NULL;	/* -O fault,evict,cap,destroy: run only those phases */
	uint64_t ops = 200000;
	struct results res;
	static const struct option lo[] = { { "quick", no_argument, NULL, 'q' }, { 0 } };

	while ((c = getopt_long(argc, argv, "c:o:w:d:r:n:qO:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'o': out = optarg; break;
		case 'w': ws_mib = strtoul(optarg, NULL, 0); break;
		case 'd': destroy_mib = strtoul(optarg, NULL, 0); break;
		case 'r': rounds = atoi(optarg); break;
		case 'n': ops = strtoull(optarg, NULL, 0); break;
		case 'q': quick = 1; break;
		case 'O': only = optarg; break;
		default:
			fprintf(stderr, "usage: region_bench [-c corpus] [-o json] [-w ws_mib] "
					"[-d destroy_mib] [-r rounds] [-n ops] [-O phases] [--quick]\n");
			return 2;
		}
	}
	if (quick) {
		ws_mib = 8;
		destroy_mib = 16;
		fault_pages = 512;
		rounds = 1;
		ops = 5000;
	}
	load_corpus(path, 8192);
	memset(&res, 0, sizeof(res));
	if (!only || strstr(only, "fault"))
		bench_fault(&res, fault_pages, rounds);
	if (!only || strstr(only, "evict"))
		bench_evict(&res, 8192, rounds);
	if (!only || strstr(only, "cap"))
		bench_cap(&res, ws_mib * 256, ops);
	if (!only || strstr(only, "destroy"))
		bench_destroy(&res, destroy_mib * 256, rounds);

	printf("region_bench: pages from %s\n", origin);
	printf("%-44s %12s %12s %s\n", "figure", "value", "goal", "met");
	printf("%-44s %12.1f %12s\n", "plain first-touch write fault, median us", res.plain_fault_ns / 1e3, "");
	printf("%-44s %12.1f %12s\n", "region fault (evicted page), median us", res.region_fault_ns / 1e3, "");
	printf("%-44s %12.1f %12s\n", "region fault p99 us", res.region_fault_p99_ns / 1e3, "");
	printf("%-44s %12.1f %12s\n", "bare userfaultfd round trip, median us", res.bare_fault_ns / 1e3, "");
	printf("%-44s %12.2f %12s\n", "bare round trip / plain fault (floor)", res.bare_ratio, "");
	printf("%-44s %12.2f %12s\n", "plain fault, process CPU us per fault", res.plain_fault_cpu_us, "");
	printf("%-44s %12.2f %12s\n", "region fault, process CPU us per fault", res.region_fault_cpu_us, "");
	printf("%-44s %12.2f %12s %s\n", "region / plain fault", res.fault_ratio, "<= 2",
	       res.fault_ratio <= 2 ? "yes" : "NO");
	printf("%-44s %12.2f %12s %s\n", "eviction in batches, us/page", res.evict_batch_us, "<= 6",
	       res.evict_batch_us <= 6 ? "yes" : "NO");
	printf("%-44s %12.2f %12s\n", "eviction in batches, process CPU us/page", res.evict_batch_cpu_us, "");
	printf("%-44s %12.2f %12s\n", "eviction page by page, us/page", res.evict_single_us, "");
	printf("%-44s %12s %12s %s\n", "every byte exact (cap run)", res.bytes_exact ? "yes" : "NO", "yes",
	       res.bytes_exact ? "yes" : "NO");
	printf("%-44s %12.1f %12s %s\n", "RssAnon over the bound, worst MiB", (double)res.rss_max_over / 1048576.0,
	       "0", res.rss_ok ? "yes" : "NO");
	printf("%-44s %12.3f %12s\n", "pool bytes / evicted bytes", res.pool_ratio, "~0.33");
	printf("%-44s %12.3f %12s\n", "pool bytes / compressed bytes", res.compr_ratio_pool, "");
	printf("%-44s %12.1f %12s\n", "destroy, sync free: caller = memory back, ms", res.destroy_sync_ms, "");
	printf("%-44s %12.2f %12s\n", "destroy, deferred: caller back, ms", res.destroy_def_call_ms, "");
	printf("%-44s %12.1f %12s\n", "destroy, deferred: memory back, ms", res.destroy_def_back_ms, "");
	printf("%-44s %12.3f %12s %s\n", "deferred caller / sync", res.destroy_call_ratio, "<= 0.1",
	       res.destroy_call_ratio <= 0.1 ? "yes" : "NO");
	printf("%-44s %12.3f %12s %s\n", "deferred memory back / sync", res.destroy_back_ratio, "<= 1.2",
	       res.destroy_back_ratio <= 1.2 ? "yes" : "NO");

	if (out) {
		FILE *f = fopen(out, "w");
		struct bench_json j;

		if (!f) {
			perror(out);
			return 1;
		}
		bench_json_init(&j, f);
		bench_json_obj_begin(&j, NULL);
		bench_json_str(&j, "bench", "region");
		bench_json_str(&j, "pages_from", origin);
		bench_json_bool(&j, "quick", quick);
		bench_json_dbl(&j, "plain_fault_us", res.plain_fault_ns / 1e3);
		bench_json_dbl(&j, "region_fault_us", res.region_fault_ns / 1e3);
		bench_json_dbl(&j, "region_fault_p99_us", res.region_fault_p99_ns / 1e3);
		bench_json_dbl(&j, "fault_ratio", res.fault_ratio);
		bench_json_dbl(&j, "bare_uffd_fault_us", res.bare_fault_ns / 1e3);
		bench_json_dbl(&j, "bare_fault_ratio", res.bare_ratio);
		bench_json_dbl(&j, "evict_batch_us_per_page", res.evict_batch_us);
		bench_json_dbl(&j, "evict_single_us_per_page", res.evict_single_us);
		bench_json_dbl(&j, "evict_batch_cpu_us_per_page", res.evict_batch_cpu_us);
		bench_json_dbl(&j, "plain_fault_cpu_us", res.plain_fault_cpu_us);
		bench_json_dbl(&j, "region_fault_cpu_us", res.region_fault_cpu_us);
		bench_json_u64(&j, "ws_pages", res.ws_pages);
		bench_json_u64(&j, "cap_pages", res.cap_pages);
		bench_json_u64(&j, "cap_ops", res.ops);
		bench_json_u64(&j, "cap_refaults", res.refaults);
		bench_json_bool(&j, "bytes_exact", res.bytes_exact);
		bench_json_u64(&j, "rss_over_bound_bytes", res.rss_max_over);
		bench_json_dbl(&j, "rss_min_slack_mib", res.rss_worst_slack_mib);
		bench_json_dbl(&j, "pool_over_evicted", res.pool_ratio);
		bench_json_dbl(&j, "pool_over_compressed", res.compr_ratio_pool);
		bench_json_u64(&j, "destroy_pages", res.destroy_pages);
		bench_json_dbl(&j, "destroy_sync_ms", res.destroy_sync_ms);
		bench_json_dbl(&j, "destroy_deferred_call_ms", res.destroy_def_call_ms);
		bench_json_dbl(&j, "destroy_deferred_back_ms", res.destroy_def_back_ms);
		bench_json_dbl(&j, "destroy_call_ratio", res.destroy_call_ratio);
		bench_json_dbl(&j, "destroy_back_ratio", res.destroy_back_ratio);
		bench_json_bool(&j, "destroy_rss_back", res.destroy_rss_back);
		bench_json_u64(&j, "rounds", (uint64_t)rounds);
		bench_json_obj_end(&j);
		bench_json_finish(&j);
		fclose(f);
	}
	return 0;
}
