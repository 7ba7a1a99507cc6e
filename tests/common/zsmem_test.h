/* SPDX-License-Identifier: MIT */
/* Tiny helpers shared by the test programs: exit codes and a checked assertion. */
#ifndef ZSMEM_TEST_H
#define ZSMEM_TEST_H

#include <stdio.h>
#include <stdlib.h>

#include "common/proc.h"
#include "pagegen.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

/* Fails the test with the condition's text and location; never compiled out. */
#define CHECK(cond)								\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",		\
				__FILE__, __LINE__, #cond);			\
			exit(T_FAIL);						\
		}								\
	} while (0)

#define CHECKF(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s:%d: CHECK failed: %s: ",		\
				__FILE__, __LINE__, #cond);			\
			fprintf(stderr, __VA_ARGS__);				\
			fputc('\n', stderr);					\
			exit(T_FAIL);						\
		}								\
	} while (0)

/* xorshift64* (pagegen.h) on the tests' unsigned long long state. */
static inline unsigned long long t_rand(unsigned long long *s)
{
	uint64_t v = *s;
	uint64_t r = zsm_xorshift64s(&v);

	*s = v;
	return r;
}

/* Fills a 4 KiB page with page-like data of a kind chosen by `kind` (0..4). */
static inline void t_fill_page(unsigned char *p, unsigned kind, unsigned long long seed)
{
	zsm_page_kind(p, kind, seed);
}

#endif
