/* SPDX-License-Identifier: MIT */
/*
 * pagegen.c - a deterministic generator of heap-like 4 KiB pages.
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
#include "bench.h"

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

static void fill_small_int(uint8_t *p, size_t len, struct bench_rng *r)
{
	/*
	 * 8-byte fields holding refcounts, lengths, flags: skewed towards tiny values
	 * (refcount 1, empty lengths), so runs of identical fields are common.
	 */
	for (size_t i = 0; i + 8 <= len; i += 8) {
		unsigned int pick = (unsigned int)bench_rng_below(r, 10);
		uint64_t v = pick < 6 ? bench_rng_below(r, 3) :
			     pick < 9 ? bench_rng_below(r, 64) : bench_rng_below(r, 1u << 16);

		memcpy(p + i, &v, 8);
	}
}

static void fill_pointer(uint8_t *p, size_t len, struct bench_rng *r, uint64_t base)
{
	/*
	 * Heap pointers share their upper bytes, and many repeat exactly (type and class
	 * pointers in every object header): half come from 8 hot values per page.
	 */
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t v;

		switch (bench_rng_below(r, 8)) {
		case 0:
			v = 0;
			break;
		case 1:
			v = bench_rng_below(r, 64);	/* a tag or small int between pointers */
			break;
		case 2:
		case 3:
		case 4:
		case 5:
			v = base + 64 * (base >> 16 & 7) + 4096 * bench_rng_below(r, 8);
			break;
		default:
			v = base + (bench_rng_below(r, 1u << 22) & ~15ull);
		}
		memcpy(p + i, &v, 8);
	}
}

static void fill_text(uint8_t *p, size_t len, struct bench_rng *r)
{
	size_t i = 0;
	size_t nw = sizeof(words) / sizeof(words[0]);

	while (i < len) {
		const char *w = words[bench_rng_below(r, nw)];
		size_t wl = strlen(w);

		if (bench_rng_below(r, 12) == 0) {
			/* an identifier that does not repeat: lz4 finds no match in it */
			char id[6];

			for (size_t k = 0; k < sizeof(id); k++)
				id[k] = (char)('a' + bench_rng_below(r, 26));
			for (size_t k = 0; k < sizeof(id) && i < len; k++)
				p[i++] = (uint8_t)id[k];
		} else {
			for (size_t k = 0; k < wl && i < len; k++)
				p[i++] = (uint8_t)w[k];
		}
		if (i < len)
			p[i++] = bench_rng_below(r, 10) ? ' ' : (bench_rng_below(r, 2) ? '\n' : '_');
	}
}

static void fill_float(uint8_t *p, size_t len, struct bench_rng *r)
{
	/* numeric arrays: half regular (steps of 0.5), half measured values */
	double x = (double)bench_rng_below(r, 1000);
	bool regular = bench_rng_below(r, 2);

	for (size_t i = 0; i + 8 <= len; i += 8) {
		double v;

		if (regular) {
			x += 0.5;
			v = x;
		} else {
			v = x + (double)bench_rng_below(r, 1u << 30) / (double)(1u << 30);
		}
		memcpy(p + i, &v, 8);
	}
}

static void fill_random(uint8_t *p, size_t len, struct bench_rng *r)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = bench_rng_next(r);

		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)bench_rng_next(r);
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

void bench_gen_page(void *page, struct bench_rng *r)
{
	uint8_t *p = page;
	unsigned int kind = (unsigned int)bench_rng_below(r, 1000);
	unsigned int density, total = 0;
	uint64_t base;
	size_t off = 0;

	if (kind < 25) {
		memset(p, 0, BENCH_PAGE_SIZE);
		return;
	}
	if (kind < 40) {
		uint64_t w = bench_rng_next(r) & 0xff;

		w *= 0x0101010101010101ull;
		for (size_t i = 0; i < BENCH_PAGE_SIZE; i += 8)
			memcpy(p + i, &w, 8);
		return;
	}
	if (kind < 60) {
		fill_random(p, BENCH_PAGE_SIZE, r);
		return;
	}

	density = (unsigned int)bench_rng_below(r, 4);
	for (int k = 0; k < SEG_NR; k++)
		total += seg_weight[density][k];
	base = 0x00007f0000000000ull | ((bench_rng_next(r) & 0xffffffull) << 16);

	while (off < BENCH_PAGE_SIZE) {
		/* segments of 32..1024 bytes, 8-byte aligned like heap objects */
		size_t len = 32 + 8 * (size_t)bench_rng_below(r, 125);
		unsigned int pick = (unsigned int)bench_rng_below(r, total);
		int k = 0;

		if (len > BENCH_PAGE_SIZE - off)
			len = BENCH_PAGE_SIZE - off;
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
