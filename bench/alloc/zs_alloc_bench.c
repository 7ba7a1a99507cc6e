/* SPDX-License-Identifier: MIT */
/*
 * zs_alloc_bench - how densely zsmalloc holds compressed pages, next to malloc.
 *
 * Every page of a corpus (or of the built-in generator) is compressed with lz4 the way
 * zram would store it: same-filled pages are skipped (zram keeps them as one word), pages
 * that do not shrink below the huge class (3625 bytes with the default chain of 8) are
 * stored raw as 4096 bytes. Each stored page becomes one object, allocated and filled in
 * page order; then a random half is freed; then the allocator is asked to give memory
 * back (zs_compact for zsmalloc; malloc_trim(0) for glibc, arena purge for jemalloc,
 * mi_collect(true) for mimalloc: malloc cannot move live objects, so that is the
 * best any of them can do).
 *
 * Two zsmalloc pools run: "zsmalloc" with the default chain of 8 pages per zspage
 * and "zsmalloc-c16" with the longest chain a pool accepts (16; as the kernel's
 * CONFIG_ZSMALLOC_CHAIN_SIZE, a creation-time setting), both with the kernel's class
 * table; "zsmalloc-dense" is chain 16 with ZS_POOL_DENSE_CLASSES (the class merge
 * slack). They store the same objects.
 *
 * Memory held / compressed bytes live is reported after each step:
 *   zsmalloc: pool pages * 4096 (the kernel's mem_used_total) and the RSS delta;
 *   peers:    the RSS delta (they have no other honest measure).
 *
 * Every allocator runs in a fresh child process (re-exec of this program), so that one
 * allocator's leftovers never count against another; jemalloc and mimalloc are loaded
 * with LD_PRELOAD and the child checks that they really replaced malloc. The data to
 * store lives in mmap'd memory, never in the heap under test, and is prepared before
 * the baseline RSS is taken.
 *
 * Per-call times: batches of 64 calls are timed with one clock read on each side (a
 * clock read costs as much as a free), and the median over batches is divided by 64.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <lz4.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zsmem/zsmalloc.h>

#define BATCH		64
/*
 * Compressed pages this large or larger are stored raw, as zram does: the parent asks
 * a pool for zs_huge_class_size() and passes it to every child, so that all allocators
 * store the same objects.
 */
static unsigned int huge_raw = 3625;

#ifndef ZSB_JEMALLOC_SO
#define ZSB_JEMALLOC_SO ""
#endif
#ifndef ZSB_MIMALLOC_SO
#define ZSB_MIMALLOC_SO ""
#endif

struct result {
	char name[16];
	int ok;
	char err[160];
	char how_back[64];		/* what "give memory back" meant */
	uint64_t pages_in, same_pages, huge_pages;
	uint64_t objs_fill, objs_half;
	uint64_t bytes_fill, bytes_half;	/* compressed bytes live */
	uint64_t pool_fill, pool_half, pool_back;	/* zsmalloc pool bytes (0 for peers) */
	int64_t rss_fill, rss_half, rss_back;	/* RSS delta over the baseline */
	uint64_t meta_bytes;		/* zsmalloc metadata outside zspages, after fill */
	uint64_t meta_desc, meta_handle;	/* its descriptors, its handle chunks + tables */
	uint64_t free_resident;		/* bytes of freed pages the pool still holds */
	/*
	 * Where zsmalloc's pool bytes above the compressed bytes go, after the fill:
	 * pool_fill == bytes_fill + w_header + w_round + w_unused + w_tail.
	 */
	uint64_t w_header;		/* in-slot handle headers (not in the huge class) */
	uint64_t w_round;		/* slot size - object size - header: class rounding */
	uint64_t w_unused;		/* the rest of the pages of partly filled zspages */
	uint64_t w_tail;		/* full zspages' bytes after their last slot */
	uint64_t compacted_pages;
	double ns_malloc, ns_free;	/* median per call, during the fill / the free-half */
	double ns_malloc_warm, ns_free_warm;	/* alloc-then-free cycles on a warm heap */
	double fill_s;
};

/*
 * Splits the pool's bytes above the compressed bytes into the four places they go (see
 * struct result). The class of size ZS_PAGE_SIZE is the huge class: no header there.
 * Zspages are elastic (they hold the pages their slots reached): a full zspage holds
 * pages_per_zspage pages and wastes its tail; whatever else the pool holds beyond the
 * slots in use is the unused part of the partly filled zspages.
 */
static void zs_waste(struct zs_pool *pool, struct result *res, uint64_t nobjs)
{
	static struct zs_class_stats rows[ZS_NR_SIZE_SLOTS];
	unsigned int n = zs_class_stats(pool, rows, ZS_NR_SIZE_SLOTS);
	uint64_t used = 0, tail = 0, huge = 0;

	for (unsigned int i = 0; i < n && i < ZS_NR_SIZE_SLOTS; i++) {
		const struct zs_class_stats *r = &rows[i];

		used += (uint64_t)r->obj_used * r->size;
		tail += (uint64_t)r->fullness[ZS_NR_FULLNESS - 1] *
			((uint64_t)r->pages_per_zspage * ZS_PAGE_SIZE -
			 (uint64_t)r->objs_per_zspage * r->size);
		if (r->size == ZS_PAGE_SIZE)
			huge = r->obj_used;
	}
	res->w_header = (uint64_t)ZS_OBJ_HEADER_SIZE * (nobjs - huge);
	res->w_round = used - res->bytes_fill - res->w_header;
	res->w_tail = tail;
	res->w_unused = res->pool_fill - used - tail;
}

/* The objects to store: packed compressed bytes in mmap'd memory. */
struct objset {
	uint8_t *blob;
	uint64_t *off;
	uint16_t *len;		/* 1..4096 */
	uint32_t *order;	/* free order (a random half first) */
	unsigned long *ref;	/* handle or pointer per object */
	size_t n;
	uint64_t bytes;
	uint64_t same, huge, pages;
};

static void *map_zeroed(size_t bytes)
{
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int objset_build(struct objset *os, const struct bench_pages *ps, size_t npages,
			uint64_t seed)
{
	size_t cap = (size_t)LZ4_compressBound(ZSM_PAGE_SIZE);
	struct zsm_rng r;
	uint64_t at = 0;

	memset(os, 0, sizeof(*os));
	os->blob = map_zeroed(npages * (size_t)ZSM_PAGE_SIZE + cap);
	os->off = map_zeroed(npages * sizeof(*os->off));
	os->len = map_zeroed(npages * sizeof(*os->len));
	os->order = map_zeroed(npages * sizeof(*os->order));
	os->ref = map_zeroed(npages * sizeof(*os->ref));
	if (!os->blob || !os->off || !os->len || !os->order || !os->ref)
		return -ENOMEM;
	os->pages = npages;
	/* more pages than the source holds: it wraps around (a corpus repeats) */
	for (size_t i = 0; i < npages; i++) {
		const void *page = bench_page(ps, i);
		int c;

		if (bench_page_same_filled(page)) {
			os->same++;
			continue;
		}
		c = LZ4_compress_default(page, (char *)os->blob + at, ZSM_PAGE_SIZE, (int)cap);
		if (c <= 0 || (unsigned int)c >= huge_raw) {
			memcpy(os->blob + at, page, ZSM_PAGE_SIZE);
			c = ZSM_PAGE_SIZE;
			os->huge++;
		}
		os->off[os->n] = at;
		os->len[os->n] = (uint16_t)c;
		at += (uint64_t)c;
		os->bytes += (uint64_t)c;
		os->n++;
	}
	for (size_t i = 0; i < os->n; i++)
		os->order[i] = (uint32_t)i;
	zsm_rng_seed(&r, seed ^ 0x5eed);
	bench_shuffle_u32(os->order, os->n, &r);
	return 0;
}

/* --------------------------------------------------------------------------------- */
/* One allocator, in this (child) process */

enum which { W_ZS, W_GLIBC, W_JE, W_MI, W_ZS16, W_ZSD, NR_WHICH };

static const char *which_name[NR_WHICH] = { "zsmalloc", "glibc", "jemalloc", "mimalloc",
					    "zsmalloc-c16", "zsmalloc-dense" };

static bool is_zs(enum which w)
{
	return w == W_ZS || w == W_ZS16 || w == W_ZSD;
}

static bool name_is_zs(const char *name)
{
	return !strncmp(name, "zsmalloc", 8);
}

/* What malloc really is in this process, by the symbols the peers export. */
static enum which malloc_in_use(void)
{
	if (dlsym(RTLD_DEFAULT, "mallctl"))
		return W_JE;
	if (dlsym(RTLD_DEFAULT, "mi_collect"))
		return W_MI;
	return W_GLIBC;
}

static void give_back(enum which w, struct result *res)
{
	switch (w) {
	case W_GLIBC:
		malloc_trim(0);
		snprintf(res->how_back, sizeof(res->how_back), "malloc_trim(0)");
		break;
	case W_JE: {
		int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
			(int (*)(const char *, void *, size_t *, void *, size_t))
			dlsym(RTLD_DEFAULT, "mallctl");

		/* 4096 == MALLCTL_ARENAS_ALL: purge every arena's dirty and muzzy pages */
		if (mallctl && mallctl("arena.4096.purge", NULL, NULL, NULL, 0) == 0)
			snprintf(res->how_back, sizeof(res->how_back), "mallctl arena.all.purge");
		else
			snprintf(res->how_back, sizeof(res->how_back), "purge failed");
		break;
	}
	case W_MI: {
		void (*collect)(bool) = (void (*)(bool))dlsym(RTLD_DEFAULT, "mi_collect");

		collect(true);
		snprintf(res->how_back, sizeof(res->how_back), "mi_collect(true)");
		break;
	}
	default:
		break;
	}
}

static double batch_median_ns(struct bench_samples *s)
{
	return (double)bench_samples_median(s) / BATCH;
}

static int run_one(enum which w, const struct bench_pages *ps, size_t npages, uint64_t seed,
		   struct result *res)
{
	struct bench_samples ts_alloc, ts_free;
	struct zs_pool *pool = NULL;
	struct objset os;
	uint64_t rss0, t0;
	size_t half;

	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", which_name[w]);
	if (!is_zs(w) && malloc_in_use() != w) {
		snprintf(res->err, sizeof(res->err), "malloc in this process is %s, not %s "
			 "(LD_PRELOAD not effective)", which_name[malloc_in_use()], which_name[w]);
		return -1;
	}
	if (objset_build(&os, ps, npages, seed)) {
		snprintf(res->err, sizeof(res->err), "out of memory preparing objects");
		return -1;
	}
	res->pages_in = os.pages;
	res->same_pages = os.same;
	res->huge_pages = os.huge;
	half = os.n / 2;

	/* sample arrays allocated and touched before the baseline */
	bench_samples_init(&ts_alloc, os.n / BATCH + 2);
	bench_samples_init(&ts_free, os.n / BATCH + 2);
	if (ts_alloc.v)
		memset(ts_alloc.v, 0, ts_alloc.cap * sizeof(uint64_t));
	if (ts_free.v)
		memset(ts_free.v, 0, ts_free.cap * sizeof(uint64_t));

	if (is_zs(w)) {
		struct zs_pool_config cfg = {
			.chain_size = w == W_ZS ? 0 : ZS_MAX_CHAIN,
			.flags = w == W_ZSD ? ZS_POOL_DENSE_CLASSES : 0,
		};

		pool = zs_create_pool_ex("alloc_bench", &cfg);
		if (!pool) {
			snprintf(res->err, sizeof(res->err), "zs_create_pool: %s", strerror(errno));
			return -1;
		}
		/* The same objects for every pool: raw from the default pool's threshold. */
		if (w == W_ZS && zs_huge_class_size(pool) != huge_raw)
			fprintf(stderr, "note: zs_huge_class_size() = %zu, objects use %u\n",
				zs_huge_class_size(pool), huge_raw);
	}
	rss0 = bench_rss_bytes();

	/* fill, in page order */
	t0 = bench_now_ns();
	for (size_t b = 0; b < os.n; b += BATCH) {
		size_t e = b + BATCH < os.n ? b + BATCH : os.n;
		uint64_t a = bench_now_ns(), z;

		if (pool) {
			for (size_t i = b; i < e; i++)
				os.ref[i] = zs_malloc(pool, os.len[i]);
		} else {
			for (size_t i = b; i < e; i++)
				os.ref[i] = (unsigned long)malloc(os.len[i]);
		}
		z = bench_now_ns();
		if (e - b == BATCH)
			bench_samples_add(&ts_alloc, z - a);
		for (size_t i = b; i < e; i++) {
			if (!os.ref[i]) {
				snprintf(res->err, sizeof(res->err), "allocation %zu of %u bytes "
					 "failed: %s", i, os.len[i], strerror(errno));
				return -1;
			}
			if (pool)
				zs_obj_write(pool, os.ref[i], os.blob + os.off[i], os.len[i]);
			else
				memcpy((void *)os.ref[i], os.blob + os.off[i], os.len[i]);
		}
	}
	res->fill_s = (double)(bench_now_ns() - t0) / 1e9;
	res->objs_fill = os.n;
	res->bytes_fill = os.bytes;
	res->rss_fill = (int64_t)bench_rss_bytes() - (int64_t)rss0;
	if (pool) {
		struct zs_pool_stats st;

		zs_pool_stats(pool, &st);
		res->pool_fill = (uint64_t)zs_get_total_pages(pool) * ZSM_PAGE_SIZE;
		res->meta_bytes = st.meta_bytes;
		res->meta_desc = st.meta_desc_bytes;
		res->meta_handle = st.meta_handle_bytes;
		res->free_resident = (uint64_t)st.free_resident_pages * ZSM_PAGE_SIZE;
		zs_waste(pool, res, os.n);
	}

	/* check a sample of objects before freeing: a benchmark of a broken store is void */
	if (pool) {
		uint8_t buf[ZSM_PAGE_SIZE];

		for (size_t i = 0; i < os.n; i += 97) {
			zs_obj_read(pool, os.ref[i], buf, os.len[i]);
			if (memcmp(buf, os.blob + os.off[i], os.len[i])) {
				snprintf(res->err, sizeof(res->err), "object %zu read back wrong", i);
				return -1;
			}
		}
	}

	/* free a random half (os.order is a permutation) */
	res->bytes_half = os.bytes;
	for (size_t b = 0; b < half; b += BATCH) {
		size_t e = b + BATCH < half ? b + BATCH : half;
		uint64_t a = bench_now_ns(), z;

		if (pool) {
			for (size_t i = b; i < e; i++)
				zs_free(pool, os.ref[os.order[i]]);
		} else {
			for (size_t i = b; i < e; i++)
				free((void *)os.ref[os.order[i]]);
		}
		z = bench_now_ns();
		if (e - b == BATCH)
			bench_samples_add(&ts_free, z - a);
	}
	for (size_t i = 0; i < half; i++) {
		res->bytes_half -= os.len[os.order[i]];
		os.ref[os.order[i]] = 0;
	}
	res->objs_half = os.n - half;
	res->rss_half = (int64_t)bench_rss_bytes() - (int64_t)rss0;
	if (pool)
		res->pool_half = (uint64_t)zs_get_total_pages(pool) * ZSM_PAGE_SIZE;

	/* give memory back */
	if (pool) {
		res->compacted_pages = zs_compact(pool);
		res->pool_back = (uint64_t)zs_get_total_pages(pool) * ZSM_PAGE_SIZE;
		snprintf(res->how_back, sizeof(res->how_back), "zs_compact");
		/* compaction moved objects: the survivors must still read back intact */
		for (size_t i = half; i < os.n; i += 31) {
			uint8_t buf[ZSM_PAGE_SIZE];
			uint32_t k = os.order[i];

			zs_obj_read(pool, os.ref[k], buf, os.len[k]);
			if (memcmp(buf, os.blob + os.off[k], os.len[k])) {
				snprintf(res->err, sizeof(res->err),
					 "object %u wrong after compaction", k);
				return -1;
			}
		}
	} else {
		give_back(w, res);
	}
	res->rss_back = (int64_t)bench_rss_bytes() - (int64_t)rss0;

	res->ns_malloc = batch_median_ns(&ts_alloc);
	res->ns_free = batch_median_ns(&ts_free);

	/*
	 * Warm cycles: allocate a batch, free it, over the sizes of the stored objects. The
	 * fill's figures include first-touch page faults of new memory (zspages, heap
	 * growth); these do not, for every allocator alike.
	 */
	bench_samples_reset(&ts_alloc);
	bench_samples_reset(&ts_free);
	for (size_t b = 0; b + BATCH <= os.n && b < 64 * 1024; b += BATCH) {
		unsigned long h[BATCH];
		uint64_t a, z;

		a = bench_now_ns();
		if (pool) {
			for (size_t i = 0; i < BATCH; i++)
				h[i] = zs_malloc(pool, os.len[b + i]);
		} else {
			for (size_t i = 0; i < BATCH; i++)
				h[i] = (unsigned long)malloc(os.len[b + i]);
		}
		z = bench_now_ns();
		bench_samples_add(&ts_alloc, z - a);
		a = bench_now_ns();
		if (pool) {
			for (size_t i = 0; i < BATCH; i++)
				zs_free(pool, h[i]);
		} else {
			for (size_t i = 0; i < BATCH; i++)
				free((void *)h[i]);
		}
		z = bench_now_ns();
		bench_samples_add(&ts_free, z - a);
	}
	res->ns_malloc_warm = batch_median_ns(&ts_alloc);
	res->ns_free_warm = batch_median_ns(&ts_free);
	res->ok = 1;
	/* no teardown: the process ends here, and exit is not what we measure */
	return 0;
}

/* --------------------------------------------------------------------------------- */
/* The parent: one child per allocator */

struct opts {
	const char *corpus;
	size_t mib;
	uint64_t seed;
	const char *json;
	char allocs[128];
};

static const char *preload_of(enum which w)
{
	if (w == W_JE)
		return ZSB_JEMALLOC_SO;
	if (w == W_MI)
		return ZSB_MIMALLOC_SO;
	return "";
}

static int spawn(enum which w, const struct opts *o, struct result *res)
{
	char fdbuf[16], mibbuf[32], seedbuf[32], hugebuf[16];
	int pfd[2], status;
	ssize_t got = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", which_name[w]);
	if ((w == W_JE || w == W_MI) && !preload_of(w)[0]) {
		snprintf(res->err, sizeof(res->err), "not found at configure time");
		return -1;
	}
	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		snprintf(res->err, sizeof(res->err), "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char *argv[16];
		int a = 0;

		close(pfd[0]);
		snprintf(fdbuf, sizeof(fdbuf), "%d", pfd[1]);
		snprintf(mibbuf, sizeof(mibbuf), "%zu", o->mib);
		snprintf(seedbuf, sizeof(seedbuf), "%llu", (unsigned long long)o->seed);
		argv[a++] = "zs_alloc_bench";
		argv[a++] = "--child";
		argv[a++] = (char *)which_name[w];
		argv[a++] = "--result-fd";
		argv[a++] = fdbuf;
		argv[a++] = "-m";
		argv[a++] = mibbuf;
		argv[a++] = "-s";
		argv[a++] = seedbuf;
		snprintf(hugebuf, sizeof(hugebuf), "%u", huge_raw);
		argv[a++] = "-H";
		argv[a++] = hugebuf;
		if (o->corpus) {
			argv[a++] = "-c";
			argv[a++] = (char *)o->corpus;
		}
		argv[a] = NULL;
		if (preload_of(w)[0])
			setenv("LD_PRELOAD", preload_of(w), 1);
		else
			unsetenv("LD_PRELOAD");
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got < (ssize_t)sizeof(*res)) {
		ssize_t n = read(pfd[0], (char *)res + got, sizeof(*res) - (size_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(pfd[0]);
	waitpid(pid, &status, 0);
	if (got != (ssize_t)sizeof(*res)) {
		snprintf(res->name, sizeof(res->name), "%s", which_name[w]);
		snprintf(res->err, sizeof(res->err), "child failed (status 0x%x)", status);
		res->ok = 0;
		return -1;
	}
	return res->ok ? 0 : -1;
}

static double per_byte(int64_t held, uint64_t bytes)
{
	return bytes ? (double)held / (double)bytes : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zs_alloc_bench [-c CORPUS] [-m MIB] [-a LIST] [-s SEED] [-j JSON]\n"
		"  -c FILE  pages from a corpus file (make-corpus.sh); default: built-in generator\n"
		"  -m MIB   MiB of pages to store (default: the whole corpus, or 64 generated);\n"
		"           a shorter corpus is repeated\n"
		"  -a LIST  allocators, comma separated: zsmalloc,zsmalloc-c16,zsmalloc-dense,\n"
		"           glibc,jemalloc,mimalloc (default all; zsmalloc-c16: a pool with\n"
		"           chain_size 16; zsmalloc-dense: chain 16 and ZS_POOL_DENSE_CLASSES)\n"
		"  -s SEED  generator and free-order seed (default 1)\n"
		"  -j FILE  also append the JSON line to FILE\n"
		"Stores every page lz4-compressed as one object, frees a random half, then\n"
		"gives memory back; prints memory held / compressed bytes live after each step.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "child", required_argument, NULL, 'C' },
		{ "result-fd", required_argument, NULL, 'R' },
		{ "huge", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .seed = 1 };
	struct result res[NR_WHICH];
	const char *child = NULL;
	int result_fd = -1, c, failed = 0, nres = 0;
	struct bench_pages ps;
	struct bench_json j;
	char *tok, *save;

	snprintf(o.allocs, sizeof(o.allocs), "zsmalloc,zsmalloc-c16,zsmalloc-dense,glibc,jemalloc,mimalloc");
	while ((c = getopt_long(argc, argv, "c:m:a:s:j:H:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.corpus = optarg;
			break;
		case 'm':
			o.mib = strtoull(optarg, NULL, 0);
			break;
		case 'a':
			snprintf(o.allocs, sizeof(o.allocs), "%s", optarg);
			break;
		case 's':
			o.seed = strtoull(optarg, NULL, 0);
			break;
		case 'j':
			o.json = optarg;
			break;
		case 'H':
			huge_raw = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'C':
			child = optarg;
			break;
		case 'R':
			result_fd = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	if (child) {
		struct result r;
		enum which w = W_ZS;
		int rc;

		for (int i = 0; i < NR_WHICH; i++)
			if (!strcmp(child, which_name[i]))
				w = (enum which)i;
		/* a corpus is read whole and wrapped around to -m; the generator makes -m */
		rc = bench_pages_open(&ps, o.corpus, o.corpus ? 0 : (o.mib ? o.mib : 64) * 256,
				      o.seed);
		if (rc) {
			memset(&r, 0, sizeof(r));
			snprintf(r.name, sizeof(r.name), "%s", child);
			snprintf(r.err, sizeof(r.err), "pages: %s", strerror(-rc));
		} else {
			run_one(w, &ps, o.mib ? o.mib * 256 : ps.nr, o.seed, &r);
		}
		if (write(result_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
			return 1;
		return r.ok ? 0 : 1;
	}

	if (o.corpus && access(o.corpus, R_OK) < 0) {
		fprintf(stderr, "zs_alloc_bench: %s: %s\n", o.corpus, strerror(errno));
		return 1;
	}
	{
		struct zs_pool *p = zs_create_pool("alloc_bench_probe");

		if (p) {
			huge_raw = (unsigned int)zs_huge_class_size(p);
			zs_destroy_pool(p);
		}
	}
	for (tok = strtok_r(o.allocs, ",", &save); tok && nres < NR_WHICH;
	     tok = strtok_r(NULL, ",", &save)) {
		int w = -1;

		for (int i = 0; i < NR_WHICH; i++)
			if (!strcmp(tok, which_name[i]))
				w = i;
		if (w < 0) {
			fprintf(stderr, "unknown allocator '%s'\n", tok);
			return 2;
		}
		if (spawn((enum which)w, &o, &res[nres]) < 0) {
			/*
			 * zsmalloc failing is an error; a peer that is not installed, or that
			 * LD_PRELOAD cannot put in place (sanitizer builds own malloc), is a note.
			 */
			fprintf(stderr, "%s: %s\n", res[nres].name, res[nres].err);
			if (is_zs((enum which)w))
				failed = 1;
		}
		nres++;
	}

	printf("zs_alloc_bench: %s, %s MiB; lz4; same-filled pages skipped, pages >= %u bytes "
	       "compressed stored raw\n", o.corpus ? o.corpus : "built-in generator",
	       o.mib ? bench_fmt((char[24]){ 0 }, 24, "%zu", o.mib) : "all", huge_raw);
	for (int i = 0; i < nres; i++) {
		if (res[i].ok) {
			printf("pages %llu, same-filled %llu, raw %llu, objects %llu, compressed "
			       "%.1f MiB (%.2fx)\n", (unsigned long long)res[i].pages_in,
			       (unsigned long long)res[i].same_pages,
			       (unsigned long long)res[i].huge_pages,
			       (unsigned long long)res[i].objs_fill,
			       (double)res[i].bytes_fill / 1048576.0,
			       bench_ratio((double)(res[i].pages_in - res[i].same_pages) *
					   ZSM_PAGE_SIZE, (double)res[i].bytes_fill));
			break;
		}
	}
	printf("memory held / compressed bytes live (targets for zsmalloc pool: fill <= 1.03, "
	       "half+compact <= 1.06)\n");
	{
		static const int wd[] = { 12, 6, 6, 6, 7, 7, 7, 8, 7, 8, 7, 24 };
		struct bench_table t;
		char b[12][32];
		const char *hdr[] = { "allocator", "fill", "half", "back", "rssfill", "rsshalf",
				      "rssback", "ns/alloc", "ns/free", "warm-al", "warm-fr",
				      "memory back by" };

		bench_table_init(&t, stdout, 12, wd);
		bench_table_row(&t, hdr);
		bench_table_rule(&t);
		for (int i = 0; i < nres; i++) {
			struct result *r = &res[i];
			const char *cells[12];
			bool zs = name_is_zs(r->name);

			if (!r->ok) {
				cells[0] = r->name;
				for (int k = 1; k < 12; k++)
					cells[k] = "-";
				cells[11] = "skipped (see stderr)";
				bench_table_row(&t, cells);
				continue;
			}
			/* fill/half/back: pool bytes for zsmalloc, RSS for the peers */
			cells[0] = r->name;
			cells[1] = bench_fmt(b[1], 32, "%.3f", zs ?
					     per_byte((int64_t)r->pool_fill, r->bytes_fill) :
					     per_byte(r->rss_fill, r->bytes_fill));
			cells[2] = bench_fmt(b[2], 32, "%.3f", zs ?
					     per_byte((int64_t)r->pool_half, r->bytes_half) :
					     per_byte(r->rss_half, r->bytes_half));
			cells[3] = bench_fmt(b[3], 32, "%.3f", zs ?
					     per_byte((int64_t)r->pool_back, r->bytes_half) :
					     per_byte(r->rss_back, r->bytes_half));
			cells[4] = bench_fmt(b[4], 32, "%.3f", per_byte(r->rss_fill, r->bytes_fill));
			cells[5] = bench_fmt(b[5], 32, "%.3f", per_byte(r->rss_half, r->bytes_half));
			cells[6] = bench_fmt(b[6], 32, "%.3f", per_byte(r->rss_back, r->bytes_half));
			cells[7] = bench_fmt(b[7], 32, "%.1f", r->ns_malloc);
			cells[8] = bench_fmt(b[8], 32, "%.1f", r->ns_free);
			cells[9] = bench_fmt(b[9], 32, "%.1f", r->ns_malloc_warm);
			cells[10] = bench_fmt(b[10], 32, "%.1f", r->ns_free_warm);
			cells[11] = r->how_back;
			bench_table_row(&t, cells);
		}
	}
	printf("fill/half/back: zsmalloc = pool pages*4096 (mem_used_total), peers = RSS delta;\n"
	       "rss*: RSS delta of the child process over its baseline, for every allocator.\n"
	       "'back' = after freeing a random half and asking for memory back; malloc peers\n"
	       "cannot move live objects, so only trim/purge is available to them.\n"
	       "ns/alloc, ns/free: median per call while filling (first-touch page faults\n"
	       "included) and freeing the random half; warm-al, warm-fr: alloc-then-free\n"
	       "cycles of 64 objects on the warm allocator.\n");
	for (int i = 0; i < nres; i++)
		if (res[i].ok && name_is_zs(res[i].name))
			printf("%s: metadata outside zspages %.2f MiB (%.3f of compressed), "
			       "compaction freed %llu pages, RSS after compaction %s than after "
			       "the free\n", res[i].name, (double)res[i].meta_bytes / 1048576.0,
			       per_byte((int64_t)res[i].meta_bytes, res[i].bytes_fill),
			       (unsigned long long)res[i].compacted_pages,
			       res[i].rss_back < res[i].rss_half ? "lower" : "NOT lower");
	for (int i = 0; i < nres; i++)
		if (res[i].ok && name_is_zs(res[i].name))
			printf("%s pool bytes above the compressed bytes after the fill, per "
			       "compressed byte: handle headers %.4f, class rounding %.4f, partly "
			       "filled zspages %.4f, full zspages' tails %.4f\n", res[i].name,
			       per_byte((int64_t)res[i].w_header, res[i].bytes_fill),
			       per_byte((int64_t)res[i].w_round, res[i].bytes_fill),
			       per_byte((int64_t)res[i].w_unused, res[i].bytes_fill),
			       per_byte((int64_t)res[i].w_tail, res[i].bytes_fill));
	/*
	 * The RSS the fill added, term by term: pool pages, descriptors, handle chunks and
	 * tables, the rest of the metadata (class table, page-source arrays), freed pages
	 * still resident, and what none of those explain (malloc's own overhead, page-size
	 * rounding of partly touched metadata).
	 */
	for (int i = 0; i < nres; i++)
		if (res[i].ok && name_is_zs(res[i].name)) {
			const struct result *r = &res[i];
			int64_t other = (int64_t)r->meta_bytes - (int64_t)r->meta_desc -
					(int64_t)r->meta_handle;
			int64_t rest = r->rss_fill - (int64_t)r->pool_fill -
				       (int64_t)r->meta_bytes - (int64_t)r->free_resident;

			printf("%s RSS after the fill, per compressed byte: %.4f = pool pages %.4f "
			       "+ descriptors %.4f + handles %.4f + other metadata %.4f + free "
			       "resident pages %.4f + unexplained %.4f\n", r->name,
			       per_byte(r->rss_fill, r->bytes_fill),
			       per_byte((int64_t)r->pool_fill, r->bytes_fill),
			       per_byte((int64_t)r->meta_desc, r->bytes_fill),
			       per_byte((int64_t)r->meta_handle, r->bytes_fill),
			       per_byte(other, r->bytes_fill),
			       per_byte((int64_t)r->free_resident, r->bytes_fill),
			       per_byte(rest, r->bytes_fill));
		}

	for (int pass = 0; pass < 2; pass++) {
		FILE *f = pass ? (o.json ? fopen(o.json, "a") : NULL) : stdout;

		if (!f)
			continue;
		bench_json_init(&j, f);
		bench_json_obj_begin(&j, NULL);
		bench_json_str(&j, "bench", "zs_alloc_bench");
		bench_json_str(&j, "source", o.corpus ? o.corpus : "generator");
		bench_json_u64(&j, "mib", o.mib);
		bench_json_arr_begin(&j, "allocators");
		for (int i = 0; i < nres; i++) {
			struct result *r = &res[i];
			bool zs = name_is_zs(r->name);

			bench_json_obj_begin(&j, NULL);
			bench_json_str(&j, "name", r->name);
			bench_json_bool(&j, "ok", r->ok);
			if (!r->ok) {
				bench_json_str(&j, "error", r->err);
				bench_json_obj_end(&j);
				continue;
			}
			bench_json_u64(&j, "pages", r->pages_in);
			bench_json_u64(&j, "same_pages", r->same_pages);
			bench_json_u64(&j, "raw_pages", r->huge_pages);
			bench_json_u64(&j, "objects", r->objs_fill);
			bench_json_u64(&j, "compressed_bytes", r->bytes_fill);
			bench_json_u64(&j, "compressed_bytes_half", r->bytes_half);
			if (zs) {
				bench_json_u64(&j, "pool_bytes_fill", r->pool_fill);
				bench_json_u64(&j, "pool_bytes_half", r->pool_half);
				bench_json_u64(&j, "pool_bytes_compact", r->pool_back);
				bench_json_u64(&j, "meta_bytes", r->meta_bytes);
				bench_json_u64(&j, "meta_desc_bytes", r->meta_desc);
				bench_json_u64(&j, "meta_handle_bytes", r->meta_handle);
				bench_json_u64(&j, "free_resident_bytes", r->free_resident);
				bench_json_u64(&j, "waste_header_bytes", r->w_header);
				bench_json_u64(&j, "waste_round_bytes", r->w_round);
				bench_json_u64(&j, "waste_free_slot_bytes", r->w_unused);
				bench_json_u64(&j, "waste_tail_bytes", r->w_tail);
				bench_json_u64(&j, "compacted_pages", r->compacted_pages);
			}
			bench_json_dbl(&j, "ratio_fill", zs ? per_byte((int64_t)r->pool_fill, r->bytes_fill) :
				       per_byte(r->rss_fill, r->bytes_fill));
			bench_json_dbl(&j, "ratio_half", zs ? per_byte((int64_t)r->pool_half, r->bytes_half) :
				       per_byte(r->rss_half, r->bytes_half));
			bench_json_dbl(&j, "ratio_back", zs ? per_byte((int64_t)r->pool_back, r->bytes_half) :
				       per_byte(r->rss_back, r->bytes_half));
			bench_json_i64(&j, "rss_delta_fill", r->rss_fill);
			bench_json_i64(&j, "rss_delta_half", r->rss_half);
			bench_json_i64(&j, "rss_delta_back", r->rss_back);
			bench_json_str(&j, "back_by", r->how_back);
			bench_json_dbl(&j, "ns_per_alloc", r->ns_malloc);
			bench_json_dbl(&j, "ns_per_free", r->ns_free);
			bench_json_dbl(&j, "ns_per_alloc_warm", r->ns_malloc_warm);
			bench_json_dbl(&j, "ns_per_free_warm", r->ns_free_warm);
			bench_json_dbl(&j, "fill_s", r->fill_s);
			bench_json_obj_end(&j);
		}
		bench_json_arr_end(&j);
		bench_json_obj_end(&j);
		bench_json_finish(&j);
		if (pass)
			fclose(f);
	}
	return failed;
}
