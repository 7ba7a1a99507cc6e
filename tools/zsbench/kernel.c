/* SPDX-License-Identifier: MIT */
/*
 * kernel.c - the kernel's own exit path as a reference row (--kernel, never default).
 *
 * Needs root, Linux, and /sys/block/zram0 unused (disksize 0, not a swap device). Then:
 * zram0 gets the compressor and a disksize, a swap header, and swapon at top priority.
 * K child processes each map the same amount of memory as the lab's processes, fill it
 * with the same pages, and push it to swap with madvise(MADV_PAGEOUT). When all report
 * ready, the parent SIGKILLs them together and times (a) until every child is reaped,
 * (b) until zram's mem_used_total is back at its floor. Then swapoff and reset restore
 * the device. Anything missing: say why and skip (return 77).
 */
#define _GNU_SOURCE
#include "zsbench.h"
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define ZRAM_SYS	"/sys/block/zram0/"
#define ZRAM_DEV	"/dev/zram0"

static int sys_read(const char *file, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), ZRAM_SYS "%s", file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int sys_write(const char *file, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), ZRAM_SYS "%s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static uint64_t mem_used_total(void)
{
	unsigned long long v[3] = { 0 };
	char buf[256];

	if (sys_read("mm_stat", buf, sizeof(buf)))
		return 0;
	sscanf(buf, "%llu %llu %llu", &v[0], &v[1], &v[2]);
	return v[2];
}

static bool zram0_in_swaps(void)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, ZRAM_DEV, strlen(ZRAM_DEV)))
			found = true;
	fclose(f);
	return found;
}

/* A version-1 swap header, as mkswap writes it: info at 1024, magic at the page end. */
static int write_swap_header(uint64_t bytes)
{
	uint8_t page[4096];
	uint32_t version = 1, last_page = (uint32_t)(bytes / 4096 - 1), bad = 0;
	ssize_t n;
	int fd;

	memset(page, 0, sizeof(page));
	memcpy(page + 1024, &version, 4);
	memcpy(page + 1028, &last_page, 4);
	memcpy(page + 1032, &bad, 4);
	memcpy(page + 4096 - 10, "SWAPSPACE2", 10);
	fd = open(ZRAM_DEV, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pwrite(fd, page, sizeof(page), 0);
	fsync(fd);
	close(fd);
	return n == (ssize_t)sizeof(page) ? 0 : -EIO;
}

uint64_t zsb_status_kib(pid_t pid, const char *field)
{
	char path[64];
	long kib;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	kib = zsm_proc_kb(path, field);
	return kib > 0 ? (uint64_t)kib : 0;
}

/* A child: own the memory, swap it out, report, wait for the kill. */
static void child_main(const struct zsb_opts *o, const struct bench_pages *ps,
		       unsigned int p, int ready_fd)
{
	size_t bytes = (size_t)o->mib << 20, pages = bytes / 4096;
	uint8_t *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
	char c = 1;

	/* never outlive the lab: a child left paused would pin swap on zram0 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	if (mem == MAP_FAILED)
		_exit(1);
	for (size_t i = 0; i < pages; i++) {
		uint64_t slot = (uint64_t)p * pages + i;

		memcpy(mem + i * 4096, bench_page(ps, slot * 7 + o->seed), 4096);
	}
	/* a few passes: pages under writeback when the first call ran are skipped */
	for (int pass = 0; pass < 3; pass++)
		madvise(mem, bytes, MADV_PAGEOUT);
	if (write(ready_fd, &c, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

static int skip(struct bench_json *j, const char *why)
{
	printf("\nkernel reference: skipped: %s\n", why);
	bench_json_obj_begin(j, "kernel");
	bench_json_bool(j, "ran", false);
	bench_json_str(j, "skipped", why);
	bench_json_obj_end(j);
	return 77;
}

#define KERNEL_MAX_REPS	16

struct krep {
	double reap_ns, back_ns;
	uint64_t swapped_pages;
	uint64_t peak_bytes;
};

/* One repetition: children fill, swap out, die together. */
static int kernel_rep(const struct zsb_opts *o, const struct bench_pages *ps, struct krep *kr)
{
	pid_t *pids = calloc(o->k, sizeof(*pids));
	int pfd[2], rc = 0;
	uint64_t t0, peak, floor_bytes, tol;
	unsigned int ready = 0;

	memset(kr, 0, sizeof(*kr));
	if (!pids || pipe(pfd) < 0) {
		free(pids);
		return -ENOMEM;
	}
	fflush(NULL);
	for (unsigned int p = 0; p < o->k; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			close(pfd[0]);
			child_main(o, ps, p, pfd[1]);
		}
		if (pids[p] < 0) {
			rc = -errno;
			break;
		}
	}
	close(pfd[1]);
	while (!rc && ready < o->k) {
		char c;
		ssize_t n = read(pfd[0], &c, 1);

		if (n == 1)
			ready++;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			rc = -EIO;	/* a child died before it was ready */
	}
	close(pfd[0]);
	for (unsigned int p = 0; p < o->k; p++)
		if (pids[p] > 0)
			kr->swapped_pages += zsb_status_kib(pids[p], "VmSwap") / 4;
	peak = mem_used_total();
	kr->peak_bytes = peak;

	/* the low-memory kill: all at once, timed until every one is reaped */
	t0 = bench_now_ns();
	for (unsigned int p = 0; p < o->k; p++)
		if (pids[p] > 0)
			kill(pids[p], SIGKILL);
	for (unsigned int p = 0; p < o->k; p++)
		if (pids[p] > 0)
			waitpid(pids[p], NULL, 0);
	kr->reap_ns = (double)(bench_now_ns() - t0);
	/* the kernel frees zram slots inline in the exit path; poll until it shows */
	floor_bytes = 0;
	tol = peak / 100;
	kr->back_ns = kr->reap_ns;
	for (;;) {
		uint64_t now = bench_now_ns(), used = mem_used_total();

		if (used <= floor_bytes + tol) {
			double t = (double)(now - t0);

			kr->back_ns = t > kr->reap_ns ? t : kr->reap_ns;
			break;
		}
		if (now - t0 > 5000000000ull)
			break;
		bench_sleep_ns(200000);
	}
	free(pids);
	return rc;
}

int zsb_kernel_run(const struct zsb_opts *o, const struct bench_pages *ps,
		   struct bench_json *j, double *reap_ns)
{
	char buf[512], comp[32];
	uint64_t disksize = ((uint64_t)o->k * o->mib + 64) << 20;
	struct krep kr[KERNEL_MAX_REPS];
	double reap[KERNEL_MAX_REPS], back[KERNEL_MAX_REPS], npp[KERNEL_MAX_REPS];
	unsigned int reps = o->reps < KERNEL_MAX_REPS ? o->reps : KERNEL_MAX_REPS, done = 0;
	sigset_t block, old_mask;
	int rc;

	if (geteuid() != 0)
		return skip(j, "not root");
	if (sys_read("disksize", buf, sizeof(buf)))
		return skip(j, "no /sys/block/zram0 (modprobe zram?)");
	if (strtoull(buf, NULL, 0) != 0)
		return skip(j, "zram0 is in use (disksize is not 0)");
	if (zram0_in_swaps())
		return skip(j, "zram0 is a swap device already");

	/* the kernel's names: lz4 and zstd as ours, lzo-rle for lzo */
	snprintf(comp, sizeof(comp), "%s", strcmp(o->comp, "lzo") ? o->comp : "lzo-rle");
	if (!sys_read("comp_algorithm", buf, sizeof(buf)) && !strstr(buf, comp)) {
		printf("kernel reference: %s not offered by this kernel (%s), using lzo-rle\n",
		       comp, strtok(buf, "\n"));
		snprintf(comp, sizeof(comp), "lzo-rle");
	}
	/*
	 * From here on zram0 is ours: hold off Ctrl-C and SIGTERM until it is restored, so
	 * an interrupted run cannot leave the machine with a zram swap it did not have.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	rc = sys_write("comp_algorithm", comp);
	if (!rc) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)disksize);
		rc = sys_write("disksize", buf);
	}
	if (!rc)
		rc = write_swap_header(disksize);
	if (!rc && swapon(ZRAM_DEV, SWAP_FLAG_PREFER | (32767 << SWAP_FLAG_PRIO_SHIFT)) < 0)
		rc = -errno;
	if (rc) {
		snprintf(buf, sizeof(buf), "configuring zram0 as swap failed: %s", strerror(-rc));
		sys_write("reset", "1");
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		return skip(j, buf);
	}

	for (unsigned int r = 0; r < reps; r++) {
		rc = kernel_rep(o, ps, &kr[done]);
		if (rc) {
			fprintf(stderr, "zsbench: kernel repetition %u: %s\n", r, strerror(-rc));
			continue;
		}
		reap[done] = kr[done].reap_ns;
		back[done] = kr[done].back_ns;
		/* per page of one process: the processes die in parallel, as in the lab */
		npp[done] = kr[done].swapped_pages ?
			    kr[done].reap_ns / ((double)kr[done].swapped_pages / o->k) : 0;
		done++;
	}

	/* restore: the device goes back to unconfigured */
	if (swapoff(ZRAM_DEV) < 0)
		fprintf(stderr, "zsbench: swapoff %s: %s\n", ZRAM_DEV, strerror(errno));
	if (sys_write("reset", "1"))
		fprintf(stderr, "zsbench: resetting zram0 failed; run: echo 1 > %sreset\n",
			ZRAM_SYS);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);

	bench_json_obj_begin(j, "kernel");
	bench_json_bool(j, "ran", done > 0);
	bench_json_str(j, "compressor", comp);
	bench_json_u64(j, "repetitions", done);
	if (done) {
		uint64_t swapped = kr[0].swapped_pages, peak = kr[0].peak_bytes;
		double m_reap = bench_median_d(reap, done), m_back = bench_median_d(back, done);
		double m_npp = bench_median_d(npp, done);

		bench_json_u64(j, "swapped_pages", swapped);
		bench_json_u64(j, "mem_used_peak", peak);
		bench_json_dbl(j, "reap_ms", m_reap / 1e6);
		bench_json_dbl(j, "memory_back_ms", m_back / 1e6);
		bench_json_dbl(j, "reap_ns_per_page", m_npp);
		bench_json_dbl(j, "reap_ns_per_page_all", swapped ? m_reap / (double)swapped : 0);
		*reap_ns = m_reap;
		printf("\nkernel reference (zram0 swap, %s): %u processes x %u MiB, %llu pages "
		       "swapped out, pool %.1f MiB\n", comp, o->k, o->mib,
		       (unsigned long long)swapped, (double)peak / 1048576.0);
		printf("  SIGKILL to all reaped: %.2f ms (median of %u); %.1f ns per page of one "
		       "process, %.1f ns per page of all;\n  mem_used_total back: %.2f ms\n",
		       m_reap / 1e6, done, m_npp, swapped ? m_reap / (double)swapped : 0,
		       m_back / 1e6);
		printf("  (the whole kernel exit: page tables, anonymous memory and swap "
		       "entries; compare with sync's all-exit)\n");
	}
	bench_json_obj_end(j);
	return done ? 0 : 1;
}
