/* SPDX-License-Identifier: MIT */
/* Tiny helpers shared by the test programs: exit codes and a checked assertion. */
#ifndef ZSMEM_TEST_H
#define ZSMEM_TEST_H

#include <stdio.h>
#include <stdlib.h>

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

/* xorshift64*: deterministic test data without libc rand()'s global state. */
static inline unsigned long long t_rand(unsigned long long *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Fills a 4 KiB page with page-like data of a kind chosen by `kind` (0..4). */
static inline void t_fill_page(unsigned char *p, unsigned kind, unsigned long long seed)
{
	unsigned long long s = seed | 1;
	unsigned i;

	for (i = 0; i < 4096; i++)
		p[i] = 0;
	switch (kind % 5) {
	case 0:	/* sparse small integers */
		for (i = 0; i < 4096; i += 8)
			p[i] = (unsigned char)(t_rand(&s) % 16);
		break;
	case 1: {	/* text: words drawn from a small vocabulary */
		static const char *words[] = { "memory ", "page ", "swap ", "zram ", "object ",
					       "class ", "free ", "lock ", "the ", "of " };
		for (i = 0; i < 4096;) {
			const char *w = words[t_rand(&s) % 10];
			while (*w && i < 4096)
				p[i++] = (unsigned char)*w++;
		}
		break;
	}
	case 2:	/* pointer-like words */
		for (i = 0; i < 4096; i += 8) {
			unsigned long long v = 0x7f1234560000ull + (t_rand(&s) % 4096) * 16;
			for (unsigned b = 0; b < 8; b++)
				p[i + b] = (unsigned char)(v >> (8 * b));
		}
		break;
	case 3:	/* random: incompressible */
		for (i = 0; i < 4096; i++)
			p[i] = (unsigned char)t_rand(&s);
		break;
	case 4:	/* half random, half zero */
		for (i = 0; i < 2048; i++)
			p[i] = (unsigned char)t_rand(&s);
		break;
	}
}

#endif
