/* SPDX-License-Identifier: MIT */
/*
 * real.c - real processes under the launcher (--real): the lab's question asked of
 * processes that really die, with their cold memory really compressed.
 *
 * K child processes run this program again as "zsbench --real-child" under zsmem-run
 * (tools/zsmem-run: LD_PRELOAD places their large malloc in a userfaultfd region and a
 * reclaimer holds it at the cap, MiB/4), each filling MiB with the lab's pages. Once
 * they are ready and their resident memory has settled, they end all at once, in one
 * of two ways:
 *
 *   exit   each frees its buffer and exits normally: free -> munmap -> the region drops
 *          every compressed copy through the launcher's free path (deferred, or sync
 *          with --sync-free) on the process's own way out; "free returned" times that
 *          part, "all exited" the whole exit;
 *   kill   SIGKILL: no user-space code runs; the kernel tears down the address space,
 *          the pool's pages with it, whatever the free strategy.
 *
 * "plain" runs the same program without the launcher (all of MiB resident) as the
 * baseline. Exit times come from pidfds (readable once the process has exited, which is
 * after its address space is gone: the kernel frees every page of a dying process,
 * the pool's with the rest, in exit_mmap, before it reports the exit, so the memory is
 * back when the process has exited). MemAvailable is no witness here: with per-CPU
 * page lists auto-tuned high, 192 MiB freed showed as 24-64 MiB 50 ms later. Every
 * configuration runs in each repetition, in turn; the table shows medians.
 *
 * The pages reach the children through a memfd mapped read-only: a shared file mapping,
 * which the preload passes through, so the source pages neither sit in the region nor
 * count in RssAnon.
 *
 * The parent may have threads (the lab's devices are gone, their workers may not be):
 * between fork and exec the child calls only dup2, prctl and execv.
 */
#define _GNU_SOURCE
#include "zsbench.h"
#include "common/exe_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAL_MAX_K	16
#define REAL_MAX_REPS	16
#define FD_CMD		0	/* the child's stdin: one byte = free and exit */
#define FD_READY	3	/* the child reports {pid, phase} records here */
#define FD_PAGES	4	/* the memfd holding the pages */

enum { R_PLAIN, R_DEFERRED, R_SYNC, R_NR_STRAT };
enum { E_EXIT, E_KILL, E_NR_END };
static const char *const strat_name[R_NR_STRAT] = { "plain", "deferred", "sync" };
static const char *const end_name[E_NR_END] = { "exit", "kill" };

struct ready_msg {
	int32_t pid;
	int32_t phase;		/* 1: filled, 2: buffer freed */
};

/* ---- the child ---------------------------------------------------------------- */

static void child_send(int32_t phase)
{
	struct ready_msg m = { (int32_t)getpid(), phase };

	if (write(FD_READY, &m, sizeof(m)) != (ssize_t)sizeof(m))
		_exit(1);
}

int zsb_real_child(int argc, char **argv)
{
	size_t mib, index, npages, pages, bytes;
	uint64_t seed;
	const uint8_t *src;
	uint8_t *mem;
	char c;

	if (argc != 6)
		return 2;
	mib = strtoul(argv[2], NULL, 0);
	seed = strtoull(argv[3], NULL, 0);
	index = strtoul(argv[4], NULL, 0);
	npages = strtoul(argv[5], NULL, 0);
	if (!mib || !npages)
		return 2;
	bytes = mib << 20;
	pages = bytes / 4096;
	src = mmap(NULL, npages * 4096, PROT_READ, MAP_SHARED, FD_PAGES, 0);
	if (src == MAP_FAILED)
		return 1;
	/* one large malloc: under the launcher it lands in the region */
	mem = malloc(bytes);
	if (!mem)
		return 1;
	for (size_t i = 0; i < pages; i++)
		memcpy(mem + i * 4096, src + (((index * pages + i) * 7 + seed) % npages) * 4096,
		       4096);
	child_send(1);
	/* a byte: free and exit; EOF (the lab is gone): exit */
	while (read(FD_CMD, &c, 1) < 0 && errno == EINTR)
		;
	free(mem);
	child_send(2);
	exit(0);
}

/* ---- the parent --------------------------------------------------------------- */

static uint64_t rss_anon(pid_t pid)
{
	return zsb_status_kib(pid, "RssAnon") * 1024;
}

/* The launcher: next to zsbench (installed) or in the build tree's tools/zsmem-run. */
static int find_launcher(char *out, size_t cap)
{
	static const char *const rel[] = { "zsmem-run", "../zsmem-run/zsmem-run" };

	return zsm_find_next_to_exe(rel, sizeof(rel) / sizeof(rel[0]), X_OK, out, cap);
}

struct real_cfg {
	const struct zsb_opts *o;
	char self[PATH_MAX];
	char launcher[PATH_MAX];
	int memfd;
	size_t npages;
};

/* What one configuration measured in one repetition. */
struct real_rep {
	bool ok, placed;
	double held;		/* RssAnon of the K processes when they end, bytes */
	double free_ms;		/* exit: until every free() returned (median over processes) */
	double free_all_ms;	/* exit: until the last free() returned */
	double exit_ms;		/* until every process had exited */
	char err[128];
};

/*
 * Moves a pipe's ends above the child's fixed descriptors (0, 3, 4): the child's dup2
 * calls must not overwrite a source they still need.
 */
static int lift(int fd[2])
{
	for (int i = 0; i < 2; i++) {
		int nfd = fcntl(fd[i], F_DUPFD_CLOEXEC, 10);

		if (nfd < 0)
			return -1;
		close(fd[i]);
		fd[i] = nfd;
	}
	return 0;
}

/* Waits until the children's RssAnon stops falling (the reclaimers reached the cap). */
static uint64_t settle(const pid_t *pids, unsigned int k)
{
	uint64_t prev = UINT64_MAX, cur = 0, t0 = bench_now_ns();

	for (;;) {
		cur = 0;
		for (unsigned int i = 0; i < k; i++)
			cur += rss_anon(pids[i]);
		if (prev != UINT64_MAX && cur <= prev && prev - cur <= prev / 100 &&
		    bench_now_ns() - t0 > 100000000ull)
			return cur;
		if (bench_now_ns() - t0 > 3000000000ull)
			return cur;
		prev = cur;
		bench_sleep_ns(30000000);
	}
}

static void real_rep(const struct real_cfg *c, int strat, int end, struct real_rep *rr)
{
	const struct zsb_opts *o = c->o;
	unsigned int k = o->k, nready = 0, nfreed = 0, nexited = 0;
	bool ready_eof = false;
	char a_mib[24], a_seed[24], a_idx[REAL_MAX_K][24], a_np[24], a_cap[24];
	char *argv[REAL_MAX_K][16];
	pid_t kids[REAL_MAX_K], target[REAL_MAX_K];
	int pidfd[REAL_MAX_K], cmd[2] = { -1, -1 }, ready[2] = { -1, -1 };
	double t_freed[REAL_MAX_K], t_exit[REAL_MAX_K];
	uint64_t t0, held;
	char bytes[REAL_MAX_K];

	memset(rr, 0, sizeof(*rr));
	for (unsigned int i = 0; i < k; i++) {
		kids[i] = target[i] = -1;
		pidfd[i] = -1;
	}
	snprintf(a_mib, sizeof(a_mib), "%u", o->mib);
	snprintf(a_seed, sizeof(a_seed), "%llu", (unsigned long long)o->seed);
	snprintf(a_np, sizeof(a_np), "%zu", c->npages);
	snprintf(a_cap, sizeof(a_cap), "%uK", o->mib * 256);	/* MiB/4, in KiB */
	for (unsigned int i = 0; i < k; i++) {
		char **v = argv[i];
		int n = 0;

		snprintf(a_idx[i], sizeof(a_idx[i]), "%u", i);
		if (strat != R_PLAIN) {
			v[n++] = (char *)c->launcher;
			v[n++] = "--max-resident";
			v[n++] = a_cap;
			if (strat == R_SYNC)
				v[n++] = "--sync-free";
			v[n++] = "--";
		}
		v[n++] = (char *)c->self;
		v[n++] = "--real-child";
		v[n++] = a_mib;
		v[n++] = a_seed;
		v[n++] = a_idx[i];
		v[n++] = a_np;
		v[n] = NULL;
	}
	if (pipe2(cmd, O_CLOEXEC) || pipe2(ready, O_CLOEXEC) || lift(cmd) || lift(ready)) {
		snprintf(rr->err, sizeof(rr->err), "pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	for (unsigned int i = 0; i < k; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			/* dup2 clears close-on-exec on the copies: they are all the child keeps */
			if (dup2(cmd[0], FD_CMD) < 0 || dup2(ready[1], FD_READY) < 0 ||
			    dup2(c->memfd, FD_PAGES) < 0)
				_exit(126);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			execv(argv[i][0], argv[i]);
			_exit(127);
		}
		if (kids[i] < 0) {
			snprintf(rr->err, sizeof(rr->err), "fork: %s", strerror(errno));
			goto out;
		}
	}
	close(ready[1]);
	ready[1] = -1;
	close(cmd[0]);
	cmd[0] = -1;
	while (nready < k) {
		struct ready_msg m;
		ssize_t n = read(ready[0], &m, sizeof(m));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m) || m.phase != 1) {
			snprintf(rr->err, sizeof(rr->err), "a %s child died before it was ready",
				 strat_name[strat]);
			goto out;
		}
		target[nready] = m.pid;
		pidfd[nready] = (int)syscall(SYS_pidfd_open, m.pid, 0);
		if (pidfd[nready] < 0) {
			snprintf(rr->err, sizeof(rr->err), "pidfd_open: %s", strerror(errno));
			goto out;
		}
		nready++;
	}
	held = settle(target, k);
	rr->held = (double)held;
	/* under the launcher at most the cap plus the pool should stay resident */
	rr->placed = strat == R_PLAIN || held < (uint64_t)k * ((uint64_t)o->mib << 20) * 3 / 4;

	memset(bytes, 'x', sizeof(bytes));
	t0 = bench_now_ns();
	if (end == E_KILL) {
		for (unsigned int i = 0; i < k; i++)
			kill(target[i], SIGKILL);
	} else if (write(cmd[1], bytes, k) != (ssize_t)k) {
		snprintf(rr->err, sizeof(rr->err), "cannot tell the children to exit");
		goto out;
	}
	/* every process's exit (pidfd readable), and for exit the frees as reported */
	while (nexited < k || (end == E_EXIT && nfreed < k && !ready_eof)) {
		struct pollfd pf[REAL_MAX_K + 1];
		int np = 0, map[REAL_MAX_K + 1];

		for (unsigned int i = 0; i < k; i++)
			if (pidfd[i] >= 0) {
				pf[np].fd = pidfd[i];
				pf[np].events = POLLIN;
				map[np++] = (int)i;
			}
		if (end == E_EXIT && nfreed < k && !ready_eof) {
			pf[np].fd = ready[0];
			pf[np].events = POLLIN;
			map[np++] = -1;
		}
		if (poll(pf, (nfds_t)np, 10000) <= 0) {
			if (errno == EINTR)
				continue;
			snprintf(rr->err, sizeof(rr->err), "the processes did not end in 10 s");
			goto out;
		}
		for (int p = 0; p < np; p++) {
			double t = (double)(bench_now_ns() - t0) / 1e6;

			if (!(pf[p].revents & (POLLIN | POLLHUP)))
				continue;
			if (map[p] >= 0) {
				t_exit[nexited++] = t;
				close(pidfd[map[p]]);
				pidfd[map[p]] = -1;
				continue;
			}
			{
				struct ready_msg m;
				ssize_t n = read(ready[0], &m, sizeof(m));

				if (n == (ssize_t)sizeof(m) && m.phase == 2)
					t_freed[nfreed++] = t;
				else if (n <= 0)
					ready_eof = true;	/* all gone: one died before its free */
			}
		}
	}
	rr->exit_ms = 0;
	for (unsigned int i = 0; i < k; i++)
		rr->exit_ms = t_exit[i] > rr->exit_ms ? t_exit[i] : rr->exit_ms;
	if (end == E_EXIT && nfreed < k) {
		snprintf(rr->err, sizeof(rr->err), "a process exited without freeing its buffer");
		goto out;
	}
	if (end == E_EXIT) {
		for (unsigned int i = 0; i < nfreed; i++)
			rr->free_all_ms = t_freed[i] > rr->free_all_ms ? t_freed[i] : rr->free_all_ms;
		rr->free_ms = nfreed ? bench_median_d(t_freed, nfreed) : 0;
	}
	rr->ok = true;
out:
	for (unsigned int i = 0; i < k; i++) {
		if (pidfd[i] >= 0)
			close(pidfd[i]);
		if (!rr->ok && target[i] > 0)
			kill(target[i], SIGKILL);
		if (kids[i] > 0) {
			if (!rr->ok)
				kill(kids[i], SIGKILL);
			while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (cmd[i] >= 0)
			close(cmd[i]);
		if (ready[i] >= 0)
			close(ready[i]);
	}
}

static int skip(struct bench_json *j, const char *why)
{
	printf("\nreal processes (--real): skipped: %s\n", why);
	bench_json_obj_begin(j, "real");
	bench_json_bool(j, "ran", false);
	bench_json_str(j, "skipped", why);
	bench_json_obj_end(j);
	return 77;
}

static double med(struct real_rep (*reps)[REAL_MAX_REPS], int s, int e, unsigned int n,
		  size_t off)
{
	double v[REAL_MAX_REPS];
	unsigned int m = 0;

	for (unsigned int r = 0; r < n; r++)
		if (reps[s * E_NR_END + e][r].ok)
			v[m++] = *(const double *)((const char *)&reps[s * E_NR_END + e][r] + off);
	return m ? bench_median_d(v, m) : 0;
}

int zsb_real_run(const struct zsb_opts *o, const struct bench_pages *ps, struct bench_json *j)
{
	static struct real_rep reps[R_NR_STRAT * E_NR_END][REAL_MAX_REPS];
	unsigned int nreps = o->reps < REAL_MAX_REPS ? o->reps : REAL_MAX_REPS;
	struct real_cfg c = { .o = o };
	ssize_t n;
	int failed = 0;

	if (o->k > REAL_MAX_K)
		return skip(j, "more than 16 processes");
	{
		ssize_t sn = readlink("/proc/self/exe", c.self, sizeof(c.self) - 1);

		if (sn <= 0)
			return skip(j, "cannot read /proc/self/exe");
		c.self[sn] = 0;
	}
	if (find_launcher(c.launcher, sizeof(c.launcher)))
		return skip(j, "zsmem-run not found next to zsbench (not built in sanitizer builds)");
	c.npages = ps->nr;
	c.memfd = memfd_create("zsbench-pages", MFD_CLOEXEC);
	if (c.memfd >= 0 && c.memfd < 10) {
		int nfd = fcntl(c.memfd, F_DUPFD_CLOEXEC, 10);

		close(c.memfd);
		c.memfd = nfd;
	}
	if (c.memfd < 0)
		return skip(j, "memfd_create failed");
	for (size_t off = 0; off < c.npages * 4096; off += (size_t)n) {
		n = pwrite(c.memfd, ps->data + off, c.npages * 4096 - off, (off_t)off);
		if (n <= 0) {
			close(c.memfd);
			return skip(j, "cannot write the pages to a memfd");
		}
	}

	for (unsigned int r = 0; r < nreps; r++)
		for (int s = 0; s < R_NR_STRAT; s++)
			for (int e = 0; e < E_NR_END; e++) {
				struct real_rep *rr = &reps[s * E_NR_END + e][r];

				real_rep(&c, s, e, rr);
				if (!rr->ok || !rr->placed) {
					fprintf(stderr, "zsbench: --real %s/%s: %s\n", strat_name[s],
						end_name[e], rr->ok ? "the memory was not placed in a "
						"region (see the launcher's message)" : rr->err);
					failed = 1;
				}
			}
	close(c.memfd);

	printf("\nreal processes under zsmem-run (--real): %u x %u MiB each, cap %g MiB each, "
	       "medians of %u\n", o->k, o->mib, o->mib / 4.0, nreps);
	printf("  %-9s %-5s %12s %14s %16s\n", "strategy", "end", "RssAnon MiB",
	       "free() ms", "all exited ms");
	bench_json_obj_begin(j, "real");
	bench_json_bool(j, "ran", !failed);
	bench_json_str(j, "launcher", c.launcher);
	bench_json_u64(j, "k", o->k);
	bench_json_u64(j, "mib_per_process", o->mib);
	bench_json_dbl(j, "cap_mib", o->mib / 4.0);
	bench_json_u64(j, "repetitions", nreps);
	bench_json_arr_begin(j, "rows");
	for (int s = 0; s < R_NR_STRAT; s++)
		for (int e = 0; e < E_NR_END; e++) {
			struct real_rep (*rp)[REAL_MAX_REPS] = reps;
			unsigned int ok = 0, placed = 0;
			double held = med(rp, s, e, nreps, offsetof(struct real_rep, held));
			double fr = med(rp, s, e, nreps, offsetof(struct real_rep, free_ms));
			double fa = med(rp, s, e, nreps, offsetof(struct real_rep, free_all_ms));
			double ex = med(rp, s, e, nreps, offsetof(struct real_rep, exit_ms));
			char fbuf[32];

			for (unsigned int r = 0; r < nreps; r++) {
				ok += reps[s * E_NR_END + e][r].ok;
				placed += reps[s * E_NR_END + e][r].placed;
			}
			if (e == E_EXIT)
				snprintf(fbuf, sizeof(fbuf), "%.2f", fr);
			else
				snprintf(fbuf, sizeof(fbuf), "-");
			printf("  %-9s %-5s %12.1f %14s %16.2f\n", strat_name[s], end_name[e],
			       held / 1048576.0, fbuf, ex);
			bench_json_obj_begin(j, NULL);
			bench_json_str(j, "strategy", strat_name[s]);
			bench_json_str(j, "end", end_name[e]);
			bench_json_u64(j, "ok", ok);
			bench_json_bool(j, "placed", placed == nreps);
			bench_json_dbl(j, "rss_anon_mib", held / 1048576.0);
			if (e == E_EXIT) {
				bench_json_dbl(j, "free_ms", fr);
				bench_json_dbl(j, "free_all_ms", fa);
			}
			bench_json_dbl(j, "exit_ms", ex);
			bench_json_obj_end(j);
		}
	bench_json_arr_end(j);
	bench_json_obj_end(j);
	printf("  (exit: each frees its buffer, then exits; kill: SIGKILL. Either way the "
	       "kernel frees the pool's\n   pages with the rest of the process before it "
	       "reports the exit: memory is back at 'all exited')\n");
	return failed;
}
