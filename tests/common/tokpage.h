/* SPDX-License-Identifier: MIT */
/*
 * Pages and object bytes named by a 64-bit token, for the soak test and the fuzzers:
 * a model keeps the token, not the page, and regenerates the page to compare. Built on
 * the shared generators (pagegen.h). The kinds cover every path a store can take (zero
 * page, same-filled, compressible, poorly compressible, incompressible = huge), and every
 * non-uniform kind carries its token in its first 8 bytes, so that a slot answering with
 * another slot's page is caught even when both pages are of the same kind.
 */
#ifndef ZSMEM_TOKPAGE_H
#define ZSMEM_TOKPAGE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pagegen.h"

#define PG_SIZE 4096u
#define PG_KINDS 8u

static inline uint64_t pg_next(uint64_t *s)
{
	return zsm_splitmix64(s);
}

/*
 * kind = tok % PG_KINDS: 0 zero, 1 same-filled (one non-zero word), 2..6 zsm_page_kind
 * 0..4 (sparse integers, text, pointers, random = huge, half random), 7 the mixed recipe
 * with three quarters random chunks (near the huge threshold).
 */
static inline void pg_fill(unsigned char *p, uint64_t tok)
{
	unsigned int kind = (unsigned int)(tok % PG_KINDS);
	uint64_t v = tok | 1;
	unsigned int i;

	switch (kind) {
	case 0:
		memset(p, 0, PG_SIZE);
		return;
	case 1:
		for (i = 0; i < PG_SIZE; i += 8)
			memcpy(p + i, &v, 8);
		return;
	case 7:
		zsm_page_mixed(p, tok, 0, 75, 0);
		break;
	default:
		zsm_page_kind(p, kind - 2, tok);
		break;
	}
	memcpy(p, &tok, 8);
}

/* len bytes (any length) from a token, for zsmalloc objects. */
static inline void pg_fill_bytes(unsigned char *p, size_t len, uint64_t tok)
{
	uint64_t s = tok, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = zsm_splitmix64(&s);
		p[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

#endif
