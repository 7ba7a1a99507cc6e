/* SPDX-License-Identifier: MIT */
/*
 * A generator of page-like data for the zram tests and benchmark: each 4 KiB page is a
 * sequence of chunks (32..512 bytes) of zero runs, small integers, pointer-like words,
 * text and random bytes, like the anonymous memory of a running program. `random_pct`
 * (0..100) is the share of random chunks, hence the incompressibility: about 10 gives
 * lz4 ratios close to real pages, 100 gives incompressible (huge) pages. Pages are a
 * pure function of (seed, index): a test can regenerate and compare them.
 */
#ifndef ZSMEM_ZRAM_PAGES_H
#define ZSMEM_ZRAM_PAGES_H

#include <stdint.h>
#include <string.h>

static inline uint64_t zpg_next(uint64_t *s)
{
	/* splitmix64: good enough and seedable with any value, 0 included. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

enum zpg_kind {
	ZPG_MIXED,	/* the chunk mix below */
	ZPG_ZERO,	/* all zero */
	ZPG_SAME,	/* one repeated non-zero word */
	ZPG_RANDOM,	/* incompressible */
};

/* Page `index` of the stream `seed`. same_pct: share of zero/same-filled pages. */
static inline enum zpg_kind zpg_fill(void *page, uint64_t seed, uint64_t index,
				     unsigned int random_pct, unsigned int same_pct)
{
	static const char *const words[] = {
		"the ", "of ", "memory ", "page ", "return ", "value ", "function ",
		"{\"id\": ", "null, ", "true, ", "object ", "prototype ", "string ",
		"import ", "self.", "</div>", "length ", "buffer ", "0x", "error ",
	};
	unsigned char *p = page;
	uint64_t s = seed * 0x100000001b3ull ^ index;
	uint64_t r = zpg_next(&s);
	size_t off = 0;

	if (r % 100 < same_pct) {
		uint64_t v = (r >> 8) % 3 ? 0 : zpg_next(&s) | 1;

		for (size_t i = 0; i < 4096; i += 8)
			memcpy(p + i, &v, 8);
		return v ? ZPG_SAME : ZPG_ZERO;
	}
	if (random_pct >= 100) {
		for (size_t i = 0; i < 4096; i += 8) {
			uint64_t v = zpg_next(&s);

			memcpy(p + i, &v, 8);
		}
		return ZPG_RANDOM;
	}
	while (off < 4096) {
		size_t len = 32u << (zpg_next(&s) % 5);	/* 32..512 */
		unsigned int what = (unsigned int)(zpg_next(&s) % 100);
		uint64_t base = 0x7f0000000000ull | ((zpg_next(&s) % 64) << 20);

		if (len > 4096 - off)
			len = 4096 - off;
		if (what < random_pct) {
			for (size_t i = 0; i < len; i++)
				p[off + i] = (unsigned char)zpg_next(&s);
		} else if (what < random_pct + (100 - random_pct) * 30 / 100) {
			memset(p + off, 0, len);
		} else if (what < random_pct + (100 - random_pct) * 50 / 100) {
			for (size_t i = 0; i + 4 <= len; i += 4) {
				uint32_t v = (uint32_t)(zpg_next(&s) % 300);

				memcpy(p + off + i, &v, 4);
			}
		} else if (what < random_pct + (100 - random_pct) * 75 / 100) {
			for (size_t i = 0; i + 8 <= len; i += 8) {
				uint64_t v = base + (zpg_next(&s) % 4096) * 16;

				memcpy(p + off + i, &v, 8);
			}
		} else {
			size_t i = 0;

			while (i < len) {
				const char *w = words[zpg_next(&s) % 20];

				while (*w && i < len)
					p[off + i++] = (unsigned char)*w++;
			}
		}
		off += len;
	}
	return ZPG_MIXED;
}

#endif
