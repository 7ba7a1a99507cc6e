// SPDX-License-Identifier: MIT
/*
 * Finding a file installed next to the running program: the launcher's preload
 * (tools/zsmem-run) and zsbench's launcher (--real) both sit beside their program in
 * the install tree and in nearby directories of the build tree.
 */
#ifndef ZSMEM_COMMON_EXE_DIR_H
#define ZSMEM_COMMON_EXE_DIR_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * The first of the directory of /proc/self/exe + rel[i] that access(2) allows with
 * amode (R_OK, X_OK), in out: 0, or -1 when none is.
 */
static inline int zsm_find_next_to_exe(const char *const *rel, size_t n, int amode,
				       char *out, size_t cap)
{
	char self[PATH_MAX], *slash;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0)
		return -1;
	self[len] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	slash[1] = 0;
	for (size_t i = 0; i < n; i++)
		if ((size_t)snprintf(out, cap, "%s%s", self, rel[i]) < cap &&
		    access(out, amode) == 0)
			return 0;
	return -1;
}

#endif /* ZSMEM_COMMON_EXE_DIR_H */
