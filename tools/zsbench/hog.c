/* SPDX-License-Identifier: MIT */
/*
 * hog.c - a controlled CPU hog for the contention study (-H N): N processes that spin
 * while the lab says so, as other people's work on a shared machine does.
 *
 * Processes, not threads: getrusage(RUSAGE_SELF) must not count them, and the work
 * they stand for lives in other processes. Each calls setsid(), so with the
 * scheduler's autogroups (sched_autogroup_enabled) it lands in a group of its own, as
 * a build started from another terminal would: the lab's threads then share the CPUs
 * with the hog group by group, and the priorities of our own threads (the drain
 * workers' policy under study) decide only how our share is split among them.
 *
 * The switch is one word of shared memory: 1 spin, 0 sleep in 200 us naps, 2 exit.
 * The children were forked from a threaded process, so they make raw system calls
 * only (setsid, prctl, nanosleep, _exit): nothing that could take a lock another
 * thread held at fork time.
 */
#define _GNU_SOURCE
#include "zsbench.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ZSB_HOG_MAX	64

static atomic_int *hog_state;		/* shared with the children */
static pid_t hog_pid[ZSB_HOG_MAX];
static unsigned int hog_n;
static bool hog_armed;			/* the runner wants the hog in this repetition */

static void __attribute__((noreturn)) hog_child(void)
{
	struct timespec nap = { 0, 200000 };
	volatile unsigned long spin = 0;

	setsid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		int s = atomic_load_explicit(hog_state, memory_order_relaxed);

		if (s == 2)
			_exit(0);
		if (s == 1) {
			for (int i = 0; i < 4096; i++)
				spin++;
			continue;
		}
		nanosleep(&nap, NULL);
	}
}

int zsb_hog_start(unsigned int n)
{
	if (!n)
		return 0;
	if (n > ZSB_HOG_MAX)
		n = ZSB_HOG_MAX;
	hog_state = mmap(NULL, sizeof(*hog_state), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (hog_state == MAP_FAILED) {
		hog_state = NULL;
		return -1;
	}
	atomic_store(hog_state, 0);
	for (unsigned int i = 0; i < n; i++) {
		pid_t p = fork();

		if (p < 0) {
			perror("zsbench: fork (hog)");
			zsb_hog_stop();
			return -1;
		}
		if (p == 0)
			hog_child();
		hog_pid[hog_n++] = p;
	}
	return 0;
}

void zsb_hog_arm(bool on)
{
	hog_armed = on && hog_n;
}

bool zsb_hog_armed(void)
{
	return hog_armed;
}

void zsb_hog_begin(void)
{
	if (!hog_armed)
		return;
	atomic_store(hog_state, 1);
	/* The children nap 200 us at a time: let every one of them be spinning. */
	bench_sleep_ns(2000000);
}

void zsb_hog_end(void)
{
	if (hog_state)
		atomic_store(hog_state, 0);
}

void zsb_hog_stop(void)
{
	if (!hog_state)
		return;
	atomic_store(hog_state, 2);
	for (unsigned int i = 0; i < hog_n; i++)
		waitpid(hog_pid[i], NULL, 0);
	hog_n = 0;
	hog_armed = false;
	munmap(hog_state, sizeof(*hog_state));
	hog_state = NULL;
}
