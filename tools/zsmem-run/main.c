// SPDX-License-Identifier: MIT
/*
 * zsmem-run: runs an unmodified program with its large anonymous memory in a
 * userfaultfd region whose resident pages are capped; the rest is kept compressed.
 *
 *   zsmem-run --max-resident SIZE [--size SIZE] [--compressor NAME] [--min SIZE]
 *             [--sync-free] [--stats] -- CMD ARGS
 *
 * It sets LD_PRELOAD to libzsmem-run.so (next to this program, or in ../lib*), passes
 * the settings as ZSMEM_RUN_* variables, runs CMD and exits with its status (128 + the
 * signal when it was killed). See preload.c for what is placed and what is not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/exe_dir.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: zsmem-run --max-resident SIZE [--size SIZE] [--compressor NAME]\n"
		   "                 [--min SIZE] [--sync-free] [--stats] -- CMD [ARGS...]\n"
		   "  --max-resident SIZE  cap on the region's resident bytes (K/M/G suffixes; 0 = none)\n"
		   "  --size SIZE          the region's address space (default: min(RAM/2, 8G))\n"
		   "  --compressor NAME    lz4 (default), zstd, lzo, lz4hc\n"
		   "  --min SIZE           smallest mapping or malloc placed (default 1M)\n"
		   "  --sync-free          free compressed copies synchronously (default: deferred)\n"
		   "  --stats              the program's region statistics on stderr at exit\n");
}

static int check_size(const char *opt, const char *s)
{
	char *end;

	errno = 0;
	(void)strtoull(s, &end, 0);
	if (errno || end == s || (*end && !strchr("kKmMgG", *end)) || (*end && end[1])) {
		fprintf(stderr, "zsmem-run: %s: bad size '%s'\n", opt, s);
		return -1;
	}
	return 0;
}

/* libzsmem-run.so next to us (build tree) or in ../lib, ../lib64, ../lib/<multiarch>. */
static int find_preload(char *out, size_t cap)
{
	static const char *const rel[] = { "libzsmem-run.so", "../lib/libzsmem-run.so",
					   "../lib64/libzsmem-run.so",
					   "../lib/x86_64-linux-gnu/libzsmem-run.so",
					   "../lib/aarch64-linux-gnu/libzsmem-run.so" };

	return zsm_find_next_to_exe(rel, sizeof(rel) / sizeof(rel[0]), R_OK, out, cap);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "max-resident", required_argument, NULL, 'm' },
		{ "size", required_argument, NULL, 's' },
		{ "compressor", required_argument, NULL, 'c' },
		{ "min", required_argument, NULL, 'n' },
		{ "sync-free", no_argument, NULL, 'S' },
		{ "stats", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char lib[PATH_MAX], *preload;
	const char *old;
	int c, have_cap = 0, status;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "+m:s:c:n:Sth", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
		case 's':
		case 'n':
			if (check_size(c == 'm' ? "--max-resident" : c == 's' ? "--size" : "--min",
				       optarg))
				return 2;
			setenv(c == 'm' ? "ZSMEM_RUN_MAX_RESIDENT" : c == 's' ? "ZSMEM_RUN_SIZE"
				   : "ZSMEM_RUN_MIN", optarg, 1);
			have_cap |= c == 'm';
			break;
		case 'c':
			setenv("ZSMEM_RUN_COMPRESSOR", optarg, 1);
			break;
		case 'S':
			setenv("ZSMEM_RUN_SYNC_FREE", "1", 1);
			break;
		case 't':
			setenv("ZSMEM_RUN_STATS", "1", 1);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_cap || optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (find_preload(lib, sizeof(lib))) {
		fprintf(stderr, "zsmem-run: libzsmem-run.so not found next to the program\n");
		return 2;
	}
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		preload = malloc(strlen(lib) + strlen(old) + 2);
		if (!preload)
			return 2;
		sprintf(preload, "%s:%s", lib, old);
	} else {
		preload = lib;
	}
	setenv("LD_PRELOAD", preload, 1);
	unsetenv("ZSMEM_RUN_OFF");

	/* Run it as a child so that the launcher reports how it ended, like a shell. */
	pid = fork();
	if (pid < 0) {
		perror("zsmem-run: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[optind], &argv[optind]);
		fprintf(stderr, "zsmem-run: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	signal(SIGINT, SIG_IGN);	/* the child gets the terminal's signals and decides */
	signal(SIGQUIT, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("zsmem-run: waitpid");
			return 2;
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
