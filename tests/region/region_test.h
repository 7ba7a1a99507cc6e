/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the region tests: a region or a skip (77) when userfaultfd is truly
 * unavailable, and versioned page contents that say what they should be.
 */
#ifndef REGION_TEST_H
#define REGION_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zsmem/region.h>

#include "zsmem_test.h"

#define PG 4096u

static inline struct zsr *t_region(const struct zsr_config *cfg)
{
	struct zsr *r = zsr_create(cfg);

	if (!r && errno == EPERM) {
		fprintf(stderr, "SKIP: no usable userfaultfd on this machine\n");
		exit(T_SKIP);
	}
	CHECKF(r, "zsr_create: %s", strerror(errno));
	return r;
}

/*
 * Version ver of page idx. Every 7th version is all zeros, every 7th + 1 one repeated
 * word (same-filled), the rest page-like data of five kinds (one incompressible) stamped
 * with idx and ver.
 */
static inline void t_rpage(unsigned char *p, uint64_t idx, uint64_t ver)
{
	switch (ver % 7) {
	case 0:
		memset(p, 0, PG);
		return;
	case 1: {
		uint64_t w = 0x0101010101010101ull * (idx % 255 + 1) ^ ver;

		for (unsigned i = 0; i < PG; i += 8)
			memcpy(p + i, &w, 8);
		return;
	}
	default:
		t_fill_page(p, (unsigned)((idx + ver) % 5), idx * 1000003ull + ver * 7919ull + 1);
		memcpy(p, &idx, 8);
		memcpy(p + 8, &ver, 8);
	}
}

/* 0 when p is exactly version ver of page idx; else the first differing offset + 1. */
static inline size_t t_rpage_diff(const unsigned char *p, uint64_t idx, uint64_t ver)
{
	unsigned char ref[PG];

	t_rpage(ref, idx, ver);
	for (size_t i = 0; i < PG; i++)
		if (p[i] != ref[i])
			return i + 1;
	return 0;
}

static inline int t_all_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

#endif
