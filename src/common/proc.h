// SPDX-License-Identifier: MIT
/*
 * Reading a "KEY: N kB" line of a /proc file (status, smaps_rollup, meminfo): the
 * tests' and the lab's RSS and swap figures.
 */
#ifndef ZSMEM_COMMON_PROC_H
#define ZSMEM_COMMON_PROC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* N of the line "key: N kB" of path ("/proc/self/status", "RssAnon"), or -1. */
static inline long zsm_proc_kb(const char *path, const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long kb = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			kb = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

#endif /* ZSMEM_COMMON_PROC_H */
