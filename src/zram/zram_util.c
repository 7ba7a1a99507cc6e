/* SPDX-License-Identifier: MIT */
/*
 * The bottom of the zram call graph: the per-thread error text, the clock behind
 * ac_time, and the mem_used_max high-water mark. Calls nothing else in src/zram.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "zram_internal.h"

static _Thread_local char zram_error[256];

void _zram_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(zram_error, sizeof(zram_error), fmt, ap);
	va_end(ap);
}

void _zram_clear_error(void)
{
	zram_error[0] = '\0';
}

ZS_API const char *zram_last_error(void)
{
	return zram_error;
}

uint64_t _zram_mono_sec(void)
{
	struct timespec ts;

	/* Coarse is enough for idle ages in seconds, and cheaper on every access. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec;
}

uint32_t _zram_now(struct zram *zram)
{
	return (uint32_t)(_zram_mono_sec() - zram->epoch_sec);
}

void _zram_update_used_max(struct zram *zram, uint64_t pages)
{
	zsm_max_relaxed_u64(&zram->stats.max_used_pages, pages);
}
