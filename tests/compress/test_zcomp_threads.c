/* SPDX-License-Identifier: MIT */
/*
 * Threads compress and decompress with one shared zcomp at once, and threads come and
 * go (their per-thread state is recycled, destroy frees all of it: ASan checks leaks).
 */
#include <pthread.h>
#include <string.h>

#include "compress/zcomp.h"
#include "zsmem_test.h"

#define THREADS 4
#define ROUNDS 3

struct arg {
	struct zcomp *c;
	unsigned seed;
};

static void *worker(void *p)
{
	struct arg *a = p;
	unsigned char page[4096], out[4096], dst[8192];

	for (unsigned i = 0; i < 300; i++) {
		size_t n;

		t_fill_page(page, i, a->seed * 7919u + i);
		n = zcomp_compress(a->c, page, 4096, dst, sizeof(dst));
		if (!n || zcomp_decompress(a->c, dst, n, out, 4096) || memcmp(page, out, 4096))
			return (void *)1;
	}
	return NULL;
}

int main(void)
{
	static const char *names[] = { "zstd", "lzo", "lz4hc", "lz4" };

	for (unsigned a = 0; a < 4; a++) {
		struct zcomp *c = zcomp_create(names[a], 0);

		CHECK(c);
		for (unsigned r = 0; r < ROUNDS; r++) {
			pthread_t t[THREADS];
			struct arg args[THREADS];
			void *ret;

			for (unsigned i = 0; i < THREADS; i++) {
				args[i] = (struct arg){ c, r * THREADS + i };
				CHECK(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
			}
			for (unsigned i = 0; i < THREADS; i++) {
				CHECK(pthread_join(t[i], &ret) == 0);
				CHECKF(ret == NULL, "%s: round trip failed", names[a]);
			}
		}
		zcomp_destroy(c);
	}
	return T_PASS;
}
