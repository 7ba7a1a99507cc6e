/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the deferred framework tests: custom ops that push u32 values (1024 per
 * page, like zram's slot indexes) and count every drain in a table, so a test can
 * check that each value was drained exactly once.
 */
#ifndef ZSD_TEST_H
#define ZSD_TEST_H

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deferred/deferred.h"
#include "zsmem_test.h"

#if defined(ZSMEM_TSAN) || defined(ZSMEM_ASAN) || defined(__SANITIZE_THREAD__) || \
	defined(__SANITIZE_ADDRESS__)
#define T_SANITIZED 1
#else
#define T_SANITIZED 0
#endif

/* Scale a count down under sanitizers (or when ZSD_TEST_SCALE divides it). */
static inline unsigned long t_scale(unsigned long n)
{
	const char *e = getenv("ZSD_TEST_SCALE");
	unsigned long div = e ? strtoul(e, NULL, 10) : 0;

	if (!div)
		div = T_SANITIZED ? 16 : 1;
	return n / div ? n / div : 1;
}

/* Per-value drain counts, indexed by value. */
struct t_table {
	uint8_t *hits;
	unsigned long n;
	unsigned int drain_spin_ns;	/* slow the drain down, to run the spare pool dry */
};

static struct t_table t_tab;

static inline uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void t_hit(unsigned long v)
{
	CHECKF(v < t_tab.n, "value %lu out of range", v);
	__atomic_fetch_add(&t_tab.hits[v], 1, __ATOMIC_RELAXED);
}

static enum zs_push_ret t_push_u32(void *buf, unsigned int count, unsigned long value)
{
	uint32_t *p = buf;

	if (count >= 1024)
		return ZS_PUSH_FULL;
	p[count] = (uint32_t)value;
	return count + 1 == 1024 ? ZS_PUSH_FULL_QUEUED : ZS_PUSH_OK;
}

static void t_drain_u32(void *private, void *buf, unsigned int count)
{
	uint32_t *p = buf;
	unsigned int i;

	CHECK(private == &t_tab);
	CHECK(count >= 1 && count <= 1024);
	for (i = 0; i < count; i++)
		t_hit(p[i]);
	if (__atomic_load_n(&t_tab.drain_spin_ns, __ATOMIC_RELAXED)) {
		uint64_t end = t_now_ns() + __atomic_load_n(&t_tab.drain_spin_ns, __ATOMIC_RELAXED);

		while (t_now_ns() < end)
			;
	}
}

static const struct zs_deferred_ops t_ops = { .push = t_push_u32, .drain = t_drain_u32 };

static inline void t_table_init(unsigned long n)
{
	t_tab.n = n;
	t_tab.hits = calloc(n, 1);
	CHECK(t_tab.hits);
}

/* Every value in [first, last] drained (or freed synchronously) exactly once. */
static inline void t_table_check(unsigned long first, unsigned long last)
{
	unsigned long v, bad = 0;

	for (v = first; v <= last; v++) {
		if (t_tab.hits[v] != 1) {
			if (bad < 10)
				fprintf(stderr, "value %lu: drained %u times\n", v, t_tab.hits[v]);
			bad++;
		}
	}
	CHECKF(bad == 0, "%lu values not drained exactly once", bad);
}

static inline unsigned long t_table_count(unsigned long first, unsigned long last)
{
	unsigned long v, c = 0;

	for (v = first; v <= last; v++)
		c += __atomic_load_n(&t_tab.hits[v], __ATOMIC_RELAXED);
	return c;
}

static inline int t_ncpus_allowed(cpu_set_t *set)
{
	if (sched_getaffinity(0, sizeof(*set), set) != 0)
		return 1;
	return CPU_COUNT(set);
}

#endif
