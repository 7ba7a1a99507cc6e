// SPDX-License-Identifier: MIT
/*
 * A plain program (no zsmem calls) that the zsmem-run tests run under the launcher:
 *   blocks  large mmap / munmap / mremap (shrink, grow, move) / malloc / calloc /
 *           realloc blocks, every byte checked after a capped region evicted them;
 *   fork    touches large memory, then fork + exec (/bin/sh -c 'exit 7') and a child
 *           that allocates large memory of its own and exits;
 *   small   only small allocations: prints a line and exits 3.
 * Exit: 0 right (3 for small), 1 wrong.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (1UL << 20)
#define NB 24

static int fails;

#define CHECK(c)                                                                         \
	do {                                                                             \
		if (!(c)) {                                                              \
			fprintf(stderr, "run_target: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			fails++;                                                         \
		}                                                                        \
	} while (0)

/* Word i of block b: a mix that compresses a little and is unique per place. */
static uint64_t word(unsigned b, size_t i)
{
	uint64_t x = ((uint64_t)b << 40) ^ (i * 0x9e3779b97f4a7c15ULL);

	return (i & 3) ? x & 0xffff : x;
}

static void fill(void *p, unsigned b, size_t bytes)
{
	uint64_t *w = p;

	for (size_t i = 0; i < bytes / 8; i++)
		w[i] = word(b, i);
}

static size_t bad_words(const void *p, unsigned b, size_t bytes)
{
	const uint64_t *w = p;
	size_t bad = 0;

	for (size_t i = 0; i < bytes / 8; i++)
		bad += w[i] != word(b, i);
	return bad;
}

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static int blocks(void)
{
	void *m[NB];
	size_t len[NB];
	unsigned char *c, *z;
	void *r;

	/* 24 x 4 MiB mapped and written: far over the tests' 16 MiB cap. */
	for (unsigned b = 0; b < NB; b++) {
		len[b] = 4 * MiB;
		m[b] = map(len[b]);
		fill(m[b], b, len[b]);
	}
	/* Unmap every third block, then map again: released ranges come back as zeros. */
	for (unsigned b = 0; b < NB; b += 3) {
		CHECK(munmap(m[b], len[b]) == 0);
		m[b] = map(len[b]);
		for (size_t i = 0; i < len[b]; i += 4096)
			CHECK(((unsigned char *)m[b])[i] == 0);
		fill(m[b], b, len[b]);
	}
	/* Partial unmap: the tail of block 1. */
	CHECK(munmap((char *)m[1] + 3 * MiB, MiB) == 0);
	len[1] = 3 * MiB;
	/* mremap: shrink in place, grow (in place or moved), move. */
	r = mremap(m[2], len[2], 2 * MiB, 0);
	CHECK(r == m[2]);
	len[2] = 2 * MiB;
	r = mremap(m[4], len[4], 9 * MiB, MREMAP_MAYMOVE);
	CHECK(r != MAP_FAILED);
	if (r != MAP_FAILED) {
		CHECK(bad_words(r, 4, 4 * MiB) == 0);
		for (size_t i = 4 * MiB; i < 9 * MiB; i += 4096)
			CHECK(((unsigned char *)r)[i] == 0);
		m[4] = r;
		len[4] = 9 * MiB;
		fill(m[4], 4, len[4]);
	}
	/* malloc / calloc / realloc of large blocks. */
	c = malloc(6 * MiB);
	CHECK(c != NULL);
	fill(c, 100, 6 * MiB);
	z = calloc(3, 2 * MiB);
	CHECK(z != NULL);
	for (size_t i = 0; i < 6 * MiB; i += 512)
		CHECK(z[i] == 0);
	free(z);
	z = calloc(1, 5 * MiB);		/* likely the range just freed: zeros again */
	CHECK(z != NULL);
	for (size_t i = 0; i < 5 * MiB; i += 512)
		CHECK(z[i] == 0);
	c = realloc(c, 12 * MiB);
	CHECK(c != NULL);
	CHECK(bad_words(c, 100, 6 * MiB) == 0);
	fill(c, 101, 12 * MiB);
	c = realloc(c, 5 * MiB);
	CHECK(c != NULL);
	CHECK(bad_words(c, 101, 5 * MiB) == 0);
	CHECK(malloc_usable_size(c) >= 5 * MiB);
	/* Everything twice over, after more eviction. */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned b = 0; b < NB; b++)
			CHECK(bad_words(m[b], b, len[b]) == 0);
		CHECK(bad_words(c, 101, 5 * MiB) == 0);
	}
	free(c);
	free(z);
	for (unsigned b = 0; b < NB; b++)
		CHECK(munmap(m[b], len[b]) == 0);
	return fails ? 1 : 0;
}

static int forks(void)
{
	char *p = malloc(32 * MiB);
	int st;
	pid_t pid;

	CHECK(p != NULL);
	memset(p, 0x5a, 32 * MiB);
	/* fork + exec: the child execs at once. */
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(100);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7);
	/* A child that keeps running: its own large memory works (plain memory there). */
	pid = fork();
	if (pid == 0) {
		char *q = malloc(8 * MiB), *mm;

		if (!q)
			_exit(101);
		memset(q, 1, 8 * MiB);
		mm = map(4 * MiB);
		memset(mm, 2, 4 * MiB);
		_exit(q[8 * MiB - 1] == 1 && mm[4 * MiB - 1] == 2 && munmap(mm, 4 * MiB) == 0 ? 0 : 102);
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* system(3): fork + exec through the shell. */
	CHECK(system("exit 5") >> 8 == 5);
	for (size_t i = 0; i < 32 * MiB; i += 4096)
		CHECK(p[i] == 0x5a);
	free(p);
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "blocks"))
		return blocks();
	if (argc == 2 && !strcmp(argv[1], "fork"))
		return forks();
	if (argc == 2 && !strcmp(argv[1], "small")) {
		char *s = malloc(100);

		snprintf(s, 100, "small %d", 42);
		puts(s);
		free(s);
		return 3;
	}
	fprintf(stderr, "usage: run_target blocks|fork|small\n");
	return 1;
}
