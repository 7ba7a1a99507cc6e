/* SPDX-License-Identifier: MIT */
/*
 * Page contents from a 64-bit token, for the soak test and the fuzzers: a model keeps
 * the token, not the page, and regenerates the page to compare. The kinds cover every
 * path a store can take (zero page, same-filled, compressible, poorly compressible,
 * incompressible = huge), and every non-uniform kind carries its token in its first 8
 * bytes so that a slot that returns another slot's page is caught even when both were
 * generated from the same kind.
 */
#ifndef ZSMEM_PAGEGEN_H
#define ZSMEM_PAGEGEN_H

#include <stdint.h>
#include <string.h>

#define PG_SIZE 4096u
#define PG_KINDS 8u

static inline uint64_t pg_next(uint64_t *s)
{
	/* splitmix64: any seed, including 0, gives a full-period stream. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* kind = tok % PG_KINDS. */
static inline void pg_fill(unsigned char *p, uint64_t tok)
{
	uint64_t s = tok, v;
	unsigned i, kind = (unsigned)(tok % PG_KINDS);

	switch (kind) {
	case 0:		/* zero page */
		memset(p, 0, PG_SIZE);
		return;
	case 1:		/* same-filled with one non-zero word */
		v = tok | 1;
		for (i = 0; i < PG_SIZE; i += 8)
			memcpy(p + i, &v, 8);
		return;
	case 2:		/* sparse small integers */
		memset(p, 0, PG_SIZE);
		for (i = 0; i < PG_SIZE; i += 8)
			p[i] = (unsigned char)(pg_next(&s) % 16);
		break;
	case 3: {	/* text */
		static const char *const words[] = { "memory ", "page ", "swap ", "zram ",
						     "object ", "class ", "free ", "the " };
		for (i = 0; i < PG_SIZE;) {
			const char *w = words[pg_next(&s) % 8];
			while (*w && i < PG_SIZE)
				p[i++] = (unsigned char)*w++;
		}
		break;
	}
	case 4:		/* pointer-like words */
		for (i = 0; i < PG_SIZE; i += 8) {
			v = 0x7f1234560000ull + (pg_next(&s) % 4096) * 16;
			memcpy(p + i, &v, 8);
		}
		break;
	case 5:		/* random: incompressible, stored huge */
		for (i = 0; i < PG_SIZE; i += 8) {
			v = pg_next(&s);
			memcpy(p + i, &v, 8);
		}
		break;
	case 6:		/* half random, half zero */
		memset(p, 0, PG_SIZE);
		for (i = 0; i < PG_SIZE / 2; i += 8) {
			v = pg_next(&s);
			memcpy(p + i, &v, 8);
		}
		break;
	default:	/* three quarters random: near the huge threshold */
		memset(p, 'a', PG_SIZE);
		for (i = 0; i < PG_SIZE * 3 / 4; i += 8) {
			v = pg_next(&s);
			memcpy(p + i, &v, 8);
		}
		break;
	}
	memcpy(p, &tok, 8);
}

/* Object bytes (any length) from a token, for zsmalloc. */
static inline void pg_fill_bytes(unsigned char *p, size_t len, uint64_t tok)
{
	uint64_t s = tok, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = pg_next(&s);
		p[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

#endif
