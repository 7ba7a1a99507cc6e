// SPDX-License-Identifier: MIT
/*
 * Runs a fuzz harness without libFuzzer: every file named on the command line, and
 * every file in every directory named, is passed once to LLVMFuzzerTestOneInput. CTest
 * runs the seed corpora this way in every build (gcc, ASan, TSan), so the corpus is a
 * regression suite even where clang is missing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static int replay_file(const char *path, unsigned long *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)len + 1);	/* +1: a zero-length input still gets a buffer */
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "replay: %s: short read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	(*count)++;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int i, bad = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent **names;
			int n = scandir(argv[i], &names, NULL, alphasort), k;

			if (n < 0)
				return 1;
			for (k = 0; k < n; k++) {
				char path[4096];

				if (names[k]->d_name[0] != '.') {
					snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
					bad |= replay_file(path, &count) != 0;
				}
				free(names[k]);
			}
			free(names);
		} else {
			bad |= replay_file(argv[i], &count) != 0;
		}
	}
	printf("replay: %lu inputs\n", count);
	/* An empty corpus proves nothing: fail rather than pass vacuously. */
	return bad || count == 0 ? 1 : 0;
}
