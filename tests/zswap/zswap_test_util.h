/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the zswap tests: self-describing pages and a throwaway backing file.
 *
 * A "versioned" page starts with its offset and a version, the rest is page-like data
 * derived from both. A loaded page can therefore be checked without knowing which
 * version a racing thread stored last: it must be exactly t_vpage(offset, its version).
 */
#ifndef ZSWAP_TEST_UTIL_H
#define ZSWAP_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zsmem/zswap.h>

#include "zsmem_test.h"

#define PG 4096u

/* kind: 0..4 as t_fill_page (3 = incompressible). */
static inline void t_vpage(unsigned char *p, uint64_t offset, uint64_t version, unsigned kind)
{
	t_fill_page(p, kind, offset * 1000003ull + version * 7919ull + 1);
	memcpy(p, &offset, 8);
	memcpy(p + 8, &version, 8);
}

static inline int t_page_is_zero(const unsigned char *p)
{
	for (unsigned i = 0; i < PG; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * 1 when p is a page t_vpage(offset, v, kind) for the version v it carries and one of
 * the kinds, or (allow_zero) a zero page.
 */
static inline int t_vpage_valid(const unsigned char *p, uint64_t offset, int allow_zero)
{
	unsigned char ref[PG];
	uint64_t off, ver;

	if (allow_zero && t_page_is_zero(p))
		return 1;
	memcpy(&off, p, 8);
	memcpy(&ver, p + 8, 8);
	if (off != offset)
		return 0;
	for (unsigned kind = 0; kind < 5; kind++) {
		t_vpage(ref, offset, ver, kind);
		if (!memcmp(ref, p, PG))
			return 1;
	}
	return 0;
}

/* An anonymous file of nr_pages pages (memfd; a tmpfile where memfd is missing). */
static inline int t_backing_file(uint64_t nr_pages)
{
	int fd = memfd_create("zswap-test", 0);

	if (fd < 0) {
		FILE *f = tmpfile();

		if (!f)
			return -1;
		fd = dup(fileno(f));
		fclose(f);
	}
	if (fd >= 0 && ftruncate(fd, (off_t)(nr_pages * PG)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline void t_read_file_page(int fd, uint64_t offset, unsigned char *p)
{
	ssize_t n = pread(fd, p, PG, (off_t)(offset * PG));

	CHECKF(n == (ssize_t)PG, "pread at page %llu: %zd", (unsigned long long)offset, n);
}

static inline struct zswap *t_zswap(const struct zswap_config *cfg)
{
	struct zswap *zs = zswap_create(cfg);

	CHECKF(zs != NULL, "zswap_create: errno %d", errno);
	return zs;
}

static inline struct zswap_stats t_stats(struct zswap *zs)
{
	struct zswap_stats st;

	zswap_get_stats(zs, &st);
	return st;
}

#endif
