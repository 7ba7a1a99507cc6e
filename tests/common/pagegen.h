// SPDX-License-Identifier: MIT
/*
 * pagegen.h - deterministic 4 KiB test pages, shared by the tests and the benchmarks
 * (static library zsmem_pagegen; no dependency on the zsmem libraries).
 *
 * One generator family on one random number generator (xorshift64*, with splitmix64
 * for seeding and for stateless per-index streams), three recipes:
 *  - zsm_page_heap:  heap-like pages (benchmarks, lab);
 *  - zsm_page_mixed: page-like chunks with a chosen share of random data and of
 *                    zero/same-filled pages, a pure function of (seed, index) (zram tests);
 *  - zsm_page_kind:  one page of a single kind 0..4 (compress and zswap tests).
 * The recipes are kept byte for byte as they were, so every test sees the same data.
 */
#ifndef ZSMEM_PAGEGEN_H
#define ZSMEM_PAGEGEN_H

#include <stdint.h>

#include "common/page.h"

/* splitmix64 step: any seed, 0 included, gives a good stream. */
static inline uint64_t zsm_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* xorshift64* step on a raw state (must not be 0). */
static inline uint64_t zsm_xorshift64s(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A seeded xorshift64* stream: cheap and reproducible. */
struct zsm_rng {
	uint64_t s;
};

static inline void zsm_rng_seed(struct zsm_rng *r, uint64_t seed)
{
	uint64_t z = seed;

	/* one splitmix64 step so that seeds 0, 1, 2... give unrelated streams */
	r->s = zsm_splitmix64(&z) | 1;
}

static inline uint64_t zsm_rng_next(struct zsm_rng *r)
{
	return zsm_xorshift64s(&r->s);
}

/* Uniform in [0, n), n > 0; the modulo bias is irrelevant here. */
static inline uint64_t zsm_rng_below(struct zsm_rng *r, uint64_t n)
{
	return zsm_rng_next(r) % n;
}

/* Heap-like page: zero runs, small integers, pointers, text, floats, random bytes. */
void zsm_page_heap(void *page, struct zsm_rng *r);

enum zsm_page_kind {
	ZSM_PAGE_MIXED,		/* the chunk mix */
	ZSM_PAGE_ZERO,		/* all zero */
	ZSM_PAGE_SAME,		/* one repeated non-zero word */
	ZSM_PAGE_RANDOM,	/* incompressible */
};

/*
 * Page `index` of the stream `seed`: chunks (32..512 bytes) of zero runs, small
 * integers, pointer-like words, text and random bytes. random_pct (0..100) is the
 * share of random chunks (about 10 gives lz4 ratios close to real pages, 100 gives
 * incompressible pages); same_pct the share of zero/same-filled pages.
 */
enum zsm_page_kind zsm_page_mixed(void *page, uint64_t seed, uint64_t index,
				  unsigned int random_pct, unsigned int same_pct);

/* kind % 5: 0 sparse small integers, 1 text, 2 pointer-like words, 3 random
 * (incompressible), 4 half random, half zero. */
void zsm_page_kind(void *page, unsigned kind, unsigned long long seed);

#endif /* ZSMEM_PAGEGEN_H */
