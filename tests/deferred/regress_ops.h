/* SPDX-License-Identifier: MIT */
/*
 * Counting ops for the issue-12 regression tests, on the public API: values are
 * unsigned long, 512 per page (or one per page with t_one_per_page, so that every push
 * swaps pages and takes the framework's lock); drain() adds the count and the sum of
 * what it sees, so a test checks that what was accepted was drained exactly once in
 * total.
 */
#ifndef ZSMEM_REGRESS_OPS_H
#define ZSMEM_REGRESS_OPS_H

#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <zsmem/zsmalloc.h>

#include "zsmem_test.h"

struct t_count {
	uint64_t accepted, accepted_sum;	/* zs_free_deferred() said true */
	uint64_t drained, drained_sum;
};

static struct t_count t_cnt;
static int t_one_per_page;

static inline enum zs_push_ret t_push_ul(void *buf, unsigned int count, unsigned long value)
{
	unsigned long *p = buf;
	unsigned int cap = __atomic_load_n(&t_one_per_page, __ATOMIC_RELAXED) ? 1 : 512;

	if (count >= cap)
		return ZS_PUSH_FULL;
	p[count] = value;
	return count + 1 == cap ? ZS_PUSH_FULL_QUEUED : ZS_PUSH_OK;
}

static inline void t_drain_ul(void *private, void *buf, unsigned int count)
{
	const unsigned long *p = buf;
	uint64_t sum = 0;

	(void)private;
	for (unsigned int i = 0; i < count; i++)
		sum += p[i];
	__atomic_fetch_add(&t_cnt.drained, count, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t_cnt.drained_sum, sum, __ATOMIC_RELAXED);
}

/* Async-signal-safe: atomics only. */
static inline bool t_push(struct zs_pool *pool, unsigned long v)
{
	if (!zs_free_deferred(pool, v))
		return false;
	__atomic_fetch_add(&t_cnt.accepted, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t_cnt.accepted_sum, v, __ATOMIC_RELAXED);
	return true;
}

static inline void t_check_balanced(const char *what)
{
	uint64_t a = __atomic_load_n(&t_cnt.accepted, __ATOMIC_RELAXED);
	uint64_t d = __atomic_load_n(&t_cnt.drained, __ATOMIC_RELAXED);

	CHECKF(a == d, "%s: accepted %llu, drained %llu", what, (unsigned long long)a,
	       (unsigned long long)d);
	CHECKF(t_cnt.accepted_sum == t_cnt.drained_sum, "%s: value sums differ", what);
}

/* A hang is the failure these tests look for: turn it into a message and exit 1. */
static void t_watchdog_fire(int sig)
{
	static const char msg[] = "watchdog: the test hung (deadlock)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(T_FAIL);
	_exit(T_FAIL);
}

static inline void t_watchdog(unsigned int seconds)
{
	signal(SIGALRM, t_watchdog_fire);
	alarm(seconds);
}

#endif
