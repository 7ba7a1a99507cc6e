// SPDX-License-Identifier: MIT
/*
 * pagegen.c - the one home of the page generators the tests and the benchmarks use,
 * on one random number generator (pagegen.h). Every recipe is deterministic: the same
 * seed gives the same bytes, so a test can regenerate a page to compare it.
 *
 * zsm_page_heap: heap-like pages for the benchmarks and the lab.
 *
 * Real anonymous memory (the corpus make-corpus.sh dumps) is a patchwork: object
 * headers with small integers, pointers that share their upper bytes, strings, numeric
 * arrays, zeroed slack, and some dense binary data. lz4 finds most of its matches in
 * the repeated upper bytes of pointers, zero runs and repeated text. We build each page
 * from segments of those kinds, with a per-page "density" that shifts the mix, so that
 * the compressed sizes spread over most size classes the way real pages do instead of
 * piling into a few.
 *
 * Page kinds (per mille): 25 zero-filled, 15 same-filled with another word, 20 random
 * (incompressible: zram stores them raw), the rest mixed.
 */
#include "pagegen.h"

#include <stdbool.h>
#include <string.h>

enum seg_kind {
	SEG_ZERO,
	SEG_SMALL_INT,
	SEG_POINTER,
	SEG_TEXT,
	SEG_FLOAT,
	SEG_RANDOM,
	SEG_NR,
};

static const char *const words[] = {
	"the", "memory", "page", "object", "size", "class", "free", "alloc", "return",
	"value", "node", "list", "next", "prev", "data", "buffer", "string", "python",
	"import", "self", "def", "none", "true", "false", "error", "file", "path", "user",
	"id", "name", "type", "count", "index", "key", "dict", "tuple", "int", "float",
	"request", "response", "http", "json", "status", "config", "module", "cache",
};

static void fill_zero(uint8_t *p, size_t len)
{
	memset(p, 0, len);
}

static void fill_small_int(uint8_t *p, size_t len, struct zsm_rng *r)
{
	/*
	 * 8-byte fields holding refcounts, lengths, flags: skewed towards tiny values
	 * (refcount 1, empty lengths), so runs of identical fields are common.
	 */
	for (size_t i = 0; i + 8 <= len; i += 8) {
		unsigned int pick = (unsigned int)zsm_rng_below(r, 10);
		uint64_t v = pick < 6 ? zsm_rng_below(r, 3) :
			     pick < 9 ? zsm_rng_below(r, 64) : zsm_rng_below(r, 1u << 16);

		memcpy(p + i, &v, 8);
	}
}

static void fill_pointer(uint8_t *p, size_t len, struct zsm_rng *r, uint64_t base)
{
	/*
	 * Heap pointers share their upper bytes, and many repeat exactly (type and class
	 * pointers in every object header): half come from 8 hot values per page.
	 */
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v;

		switch (zsm_rng_below(r, 8)) {
		case 0:
			v = 0;
			break;
		case 1:
			v = zsm_rng_below(r, 64);	/* a tag or small int between pointers */
			break;
		case 2:
		case 3:
		case 4:
		case 5:
			v = base + 64 * (base >> 16 & 7) + 4096 * zsm_rng_below(r, 8);
			break;
		default:
			v = base + (zsm_rng_below(r, 1u << 22) & ~15ull);
		}
		memcpy(p + i, &v, 8);
	}
}

static void fill_text(uint8_t *p, size_t len, struct zsm_rng *r)
{
	size_t i = 0;
	size_t nw = sizeof(words) / sizeof(words[0]);

	while (i < len) {
		const char *w = words[zsm_rng_below(r, nw)];
		size_t wl = strlen(w);

		if (zsm_rng_below(r, 12) == 0) {
			/* an identifier that does not repeat: lz4 finds no match in it */
			char id[6];

			for (size_t k = 0; k < sizeof(id); k++)
				id[k] = (char)('a' + zsm_rng_below(r, 26));
			for (size_t k = 0; k < sizeof(id) && i < len; k++)
				p[i++] = (uint8_t)id[k];
		} else {
			for (size_t k = 0; k < wl && i < len; k++)
				p[i++] = (uint8_t)w[k];
		}
		if (i < len)
			p[i++] = zsm_rng_below(r, 10) ? ' ' : (zsm_rng_below(r, 2) ? '\n' : '_');
	}
}

static void fill_float(uint8_t *p, size_t len, struct zsm_rng *r)
{
	/* numeric arrays: half regular (steps of 0.5), half measured values */
	double x = (double)zsm_rng_below(r, 1000);
	bool regular = zsm_rng_below(r, 2);

	for (size_t i = 0; i + 8 <= len; i += 8) {
		double v;

		if (regular) {
			x += 0.5;
			v = x;
		} else {
			v = x + (double)zsm_rng_below(r, 1u << 30) / (double)(1u << 30);
		}
		memcpy(p + i, &v, 8);
	}
}

static void fill_random(uint8_t *p, size_t len, struct zsm_rng *r)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = zsm_rng_next(r);

		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)zsm_rng_next(r);
}

/*
 * Segment weights by page density: a "dense" page has more random and float data and
 * fewer zeros, a "sparse" page the reverse. Rows are densities 0..3.
 */
static const unsigned int seg_weight[4][SEG_NR] = {
	/* zero small ptr text float random */
	{ 60, 16, 16, 6, 1, 1 },
	{ 45, 18, 22, 8, 4, 3 },
	{ 30, 18, 26, 12, 8, 6 },
	{ 14, 14, 26, 12, 14, 20 },
};

void zsm_page_heap(void *page, struct zsm_rng *r)
{
	uint8_t *p = page;
	unsigned int kind = (unsigned int)zsm_rng_below(r, 1000);
	unsigned int density, total = 0;
	uint64_t base;
	size_t off = 0;

	if (kind < 25) {
		memset(p, 0, ZSM_PAGE_SIZE);
		return;
	}
	if (kind < 40) {
		uint64_t w = zsm_rng_next(r) & 0xff;

		w *= 0x0101010101010101ull;
		for (size_t i = 0; i < ZSM_PAGE_SIZE; i += 8)
			memcpy(p + i, &w, 8);
		return;
	}
	if (kind < 60) {
		fill_random(p, ZSM_PAGE_SIZE, r);
		return;
	}

	density = (unsigned int)zsm_rng_below(r, 4);
	for (int k = 0; k < SEG_NR; k++)
		total += seg_weight[density][k];
	base = 0x00007f0000000000ull | ((zsm_rng_next(r) & 0xffffffull) << 16);

	while (off < ZSM_PAGE_SIZE) {
		/* segments of 32..1024 bytes, 8-byte aligned like heap objects */
		size_t len = 32 + 8 * (size_t)zsm_rng_below(r, 125);
		unsigned int pick = (unsigned int)zsm_rng_below(r, total);
		int k = 0;

		if (len > ZSM_PAGE_SIZE - off)
			len = ZSM_PAGE_SIZE - off;
		while (pick >= seg_weight[density][k]) {
			pick -= seg_weight[density][k];
			k++;
		}
		switch (k) {
		case SEG_ZERO:
			fill_zero(p + off, len);
			break;
		case SEG_SMALL_INT:
			fill_small_int(p + off, len, r);
			break;
		case SEG_POINTER:
			fill_pointer(p + off, len, r, base);
			break;
		case SEG_TEXT:
			fill_text(p + off, len, r);
			break;
		case SEG_FLOAT:
			fill_float(p + off, len, r);
			break;
		default:
			fill_random(p + off, len, r);
		}
		/* a segment's tail bytes that fill_* skip (len not a multiple of 8) */
		for (size_t i = (len & ~(size_t)7); i < len; i++)
			p[off + i] = 0;
		off += len;
	}
}

/* ---------------------------------------------------------------------------------- */
/* zsm_page_mixed: the zram tests' pages, a pure function of (seed, index). */

/* Page `index` of the stream `seed`. same_pct: share of zero/same-filled pages. */
enum zsm_page_kind zsm_page_mixed(void *page, uint64_t seed, uint64_t index,
				  unsigned int random_pct, unsigned int same_pct)
{
	static const char *const mixed_words[] = {
		"the ", "of ", "memory ", "page ", "return ", "value ", "function ",
		"{\"id\": ", "null, ", "true, ", "object ", "prototype ", "string ",
		"import ", "self.", "</div>", "length ", "buffer ", "0x", "error ",
	};
	unsigned char *p = page;
	uint64_t s = seed * 0x100000001b3ull ^ index;
	uint64_t r = zsm_splitmix64(&s);
	size_t off = 0;

	if (r % 100 < same_pct) {
		uint64_t v = (r >> 8) % 3 ? 0 : zsm_splitmix64(&s) | 1;

		for (size_t i = 0; i < 4096; i += 8)
			memcpy(p + i, &v, 8);
		return v ? ZSM_PAGE_SAME : ZSM_PAGE_ZERO;
	}
	if (random_pct >= 100) {
		for (size_t i = 0; i < 4096; i += 8) {
			uint64_t v = zsm_splitmix64(&s);

			memcpy(p + i, &v, 8);
		}
		return ZSM_PAGE_RANDOM;
	}
	while (off < 4096) {
		size_t len = 32u << (zsm_splitmix64(&s) % 5);	/* 32..512 */
		unsigned int what = (unsigned int)(zsm_splitmix64(&s) % 100);
		uint64_t base = 0x7f0000000000ull | ((zsm_splitmix64(&s) % 64) << 20);

		if (len > 4096 - off)
			len = 4096 - off;
		if (what < random_pct) {
			for (size_t i = 0; i < len; i++)
				p[off + i] = (unsigned char)zsm_splitmix64(&s);
		} else if (what < random_pct + (100 - random_pct) * 30 / 100) {
			memset(p + off, 0, len);
		} else if (what < random_pct + (100 - random_pct) * 50 / 100) {
			for (size_t i = 0; i + 4 <= len; i += 4) {
				uint32_t v = (uint32_t)(zsm_splitmix64(&s) % 300);

				memcpy(p + off + i, &v, 4);
			}
		} else if (what < random_pct + (100 - random_pct) * 75 / 100) {
			for (size_t i = 0; i + 8 <= len; i += 8) {
				uint64_t v = base + (zsm_splitmix64(&s) % 4096) * 16;

				memcpy(p + off + i, &v, 8);
			}
		} else {
			size_t i = 0;

			while (i < len) {
				const char *w = mixed_words[zsm_splitmix64(&s) % 20];

				while (*w && i < len)
					p[off + i++] = (unsigned char)*w++;
			}
		}
		off += len;
	}
	return ZSM_PAGE_MIXED;
}

/* ---------------------------------------------------------------------------------- */
/* zsm_page_kind: one page of a single kind (0..4), for the compress and zswap tests. */

void zsm_page_kind(void *page, unsigned kind, unsigned long long seed)
{
	unsigned char *p = page;
	uint64_t s = seed | 1;
	unsigned i;

	for (i = 0; i < 4096; i++)
		p[i] = 0;
	switch (kind % 5) {
	case 0:	/* sparse small integers */
		for (i = 0; i < 4096; i += 8)
			p[i] = (unsigned char)(zsm_xorshift64s(&s) % 16);
		break;
	case 1: {	/* text: words drawn from a small vocabulary */
		static const char *kind_words[] = { "memory ", "page ", "swap ", "zram ", "object ",
					       "class ", "free ", "lock ", "the ", "of " };
		for (i = 0; i < 4096;) {
			const char *w = kind_words[zsm_xorshift64s(&s) % 10];
			while (*w && i < 4096)
				p[i++] = (unsigned char)*w++;
		}
		break;
	}
	case 2:	/* pointer-like words */
		for (i = 0; i < 4096; i += 8) {
			unsigned long long v = 0x7f1234560000ull + (zsm_xorshift64s(&s) % 4096) * 16;
			for (unsigned b = 0; b < 8; b++)
				p[i + b] = (unsigned char)(v >> (8 * b));
		}
		break;
	case 3:	/* random: incompressible */
		for (i = 0; i < 4096; i++)
			p[i] = (unsigned char)zsm_xorshift64s(&s);
		break;
	case 4:	/* half random, half zero */
		for (i = 0; i < 2048; i++)
			p[i] = (unsigned char)zsm_xorshift64s(&s);
		break;
	}
}
