/* SPDX-License-Identifier: MIT */
/*
 * Creating the library's own threads (deferred-free workers and timer, the zspage-free
 * thread, zswap's shrinker).
 *
 * They block every signal: a handler of the application that lands on one of them
 * could interrupt it while it holds a framework lock and then, by calling
 * zs_free_deferred(), wait for that lock forever; and the application's signals are
 * meant for the application's threads. The mask is set around pthread_create() (a new
 * thread inherits its creator's mask), so no signal can reach the thread before it
 * runs its first instruction.
 */
#ifndef ZSMEM_COMMON_THREAD_H
#define ZSMEM_COMMON_THREAD_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>

/* pthread_create() with every signal blocked in the new thread; 0 or an errno. */
static inline int zs_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

#ifdef _GNU_SOURCE
/* Pins the calling thread to cpu: 0 or an errno (the CPU is gone, or not allowed). */
static inline int zsm_thread_pin(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
}
#endif

#endif
