/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz harnesses: an input reader that turns the fuzzer's bytes into op
 * codes and arguments (reading past the end gives zeros, so every input is valid), and
 * a check that aborts with a message, which libFuzzer records as a crash and the replay
 * driver as a failed test.
 */
#ifndef ZSMEM_FUZZ_COMMON_H
#define ZSMEM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_MAX_OPS 256	/* ops per input: each iteration stays short */

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline int fz_more(const struct fz *f)
{
	return f->n != 0;
}

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | (uint16_t)fz_u8(f) << 8);
}

#define FUZZ_CHECK(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "%s:%d: FUZZ CHECK failed: %s: ",	\
				__FILE__, __LINE__, #cond);			\
			fprintf(stderr, __VA_ARGS__);				\
			fputc('\n', stderr);					\
			abort();						\
		}								\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
