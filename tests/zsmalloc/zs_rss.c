/* SPDX-License-Identifier: MIT */
/* Pages really go back to the OS: the process RSS (/proc/self/statm) falls when all
 * objects are freed, and when half are freed and the pool compacted; in a forked
 * child too (which must give back its own pages, never the parent's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zsmem/zsmalloc.h"
#include "zsmem_test.h"

#define N 60000		/* ~ 60000 * 1100 bytes = 66 MB */

static unsigned long h[N];

static long rss_pages(void)
{
	long size, res;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 4096);
}

static void fill(struct zs_pool *pool, unsigned long long *s)
{
	unsigned char buf[4096];

	memset(buf, 0xa5, sizeof(buf));
	for (unsigned long i = 0; i < N; i++) {
		size_t len = 200 + t_rand(s) % 1800;

		h[i] = zs_malloc(pool, len);
		CHECK(h[i]);
		zs_obj_write(pool, h[i], buf, len);
	}
}

int main(void)
{
	struct zs_pool *pool = zs_create_pool("rss");
	unsigned long long s = 99;
	long base, full, low, pages;
	unsigned long i;

	if (rss_pages() < 0)
		return T_SKIP;
	CHECK(pool);
	base = rss_pages();
	fill(pool, &s);
	full = rss_pages();
	pages = (long)zs_get_total_pages(pool);
	CHECKF(full - base >= pages * 9 / 10, "rss grew %ld pages, pool holds %ld", full - base,
	       pages);
	for (i = 0; i < N; i++)
		zs_free(pool, h[i]);
	low = rss_pages();
	CHECK(zs_get_total_pages(pool) == 0);
	CHECKF(full - low >= pages * 9 / 10, "rss fell %ld pages of %ld", full - low, pages);

	/* Again, freeing every other object: only compaction can give the pages back. */
	fill(pool, &s);
	full = rss_pages();
	for (i = 0; i < N; i += 2)
		zs_free(pool, h[i]);
	pages = (long)zs_get_total_pages(pool);
	CHECK(zs_compact(pool) > 0);
	pages -= (long)zs_get_total_pages(pool);
	low = rss_pages();
	CHECKF(pages > 0 && full - low >= pages * 8 / 10, "compaction freed %ld pages, rss fell %ld",
	       pages, full - low);
	for (i = 1; i < N; i += 2)
		zs_free(pool, h[i]);

	/*
	 * A forked child frees everything in batches: its RSS falls (the page source
	 * cannot use the parent's pidfd there and madvises itself), and the parent's
	 * objects keep their bytes.
	 */
	fill(pool, &s);
	{
		pid_t pid = fork();
		int st;

		CHECK(pid >= 0);
		if (pid == 0) {
			full = rss_pages();
			pages = (long)zs_get_total_pages(pool);
			for (i = 0; i < N; i += 512)
				zs_free_batch(pool, h + i, N - i < 512 ? N - i : 512);
			low = rss_pages();
			if (zs_get_total_pages(pool) || full - low < pages * 9 / 10) {
				fprintf(stderr, "child: rss fell %ld pages of %ld\n", full - low, pages);
				_exit(1);
			}
			_exit(0);
		}
		CHECK(waitpid(pid, &st, 0) == pid);
		CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	}
	for (i = 0; i < N; i += 97) {
		unsigned char b = 0;

		zs_obj_read(pool, h[i], &b, 1);
		CHECKF(b == 0xa5, "parent object %lu lost its bytes after the child's frees", i);
	}
	zs_destroy_pool(pool);
	return T_PASS;
}
