/* SPDX-License-Identifier: MIT */
/*
 * The plugin's service thread: the stats file on SIGUSR1, compaction, and the reclaim
 * that writers run when mem_limit stops them.
 *
 * SIGUSR1: the handler only write()s one byte ('s') to a non-blocking self-pipe (write
 * is async-signal-safe, errno is saved and restored). Kicks write at most one byte until
 * the thread has read it, so the pipe never fills and no 's' is dropped. The service thread poll()s the pipe and
 * does the real work (formatting, file I/O, zram calls), none of which is allowed in a
 * signal handler.
 *
 * Compaction: random overwrites and trims free objects all over the pool's zspages,
 * which then stay resident half empty. Every tick (and when a flush or trim kicks it) the
 * thread compares the pool's size with the compressed bytes it holds; when the waste
 * has grown by more than max(1 MiB, 1/16 of the pool) since the last compaction, it
 * runs zram_compact(). The threshold is relative to the waste left after the last
 * compaction (size-class rounding that compaction cannot remove), so a pool that
 * cannot be compacted further is not scanned again and again.
 *
 * Returning memory: when the pool has shrunk by 1 MiB or more since the last look, or a
 * connection has closed, the thread calls glibc's malloc_trim(0). nbdkit's request
 * buffers (up to threads x the largest request) and zram's scratch pages are malloc'd;
 * freed, they stay resident in glibc's arenas until trimmed, and a RAM disk whose
 * contents were just trimmed should give its memory back, not keep it for later.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "common/atomics.h"
#include "nbd_internal.h"

#define TICK_MS		200
#define MIN_WASTE	(1u << 20)

static int wake_pipe[2] = { -1, -1 };
static pthread_t service;
static bool service_running;
static struct sigaction old_usr1;
static bool stopping;			/* zsm_* atomics */
static uint64_t waste_after_compact;	/* service thread only */
static uint64_t pool_at_trim;		/* service thread only: pool bytes at the last trim */
/* Set by .close (any thread), taken by the service thread; relaxed: a hint only. */
static bool trim_wanted;		/* zsm_* atomics */
/* A 'k' is in the pipe: further kicks skip the write() (relaxed: at worst one kick
 * too many or one left to the next tick). */
static bool kick_pending;

static void on_sigusr1(int sig)
{
	int saved = errno;
	ssize_t r;

	(void)sig;
	r = write(wake_pipe[1], "s", 1);	/* 's': the stats file is wanted */
	(void)r;	/* EAGAIN: the pipe is full, the thread will wake anyway */
	errno = saved;
}

/* Not from the signal handler (never): from the service thread and .cleanup. */
int zsn_write_stats(void)
{
	char mm[256], io[128], bd[128], tmp[4096 + 8];
	FILE *f;
	int ok;

	if (!zsn.cfg.stats || !zsn.zram)
		return 0;
	zram_mm_stat_show(zsn.zram, mm, sizeof(mm));
	zram_io_stat_show(zsn.zram, io, sizeof(io));
	zram_bd_stat_show(zsn.zram, bd, sizeof(bd));
	/* Written whole to a temporary name, then renamed: readers never see half a file. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", zsn.cfg.stats) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "we");
	if (!f) {
		nbdkit_error("stats=%s: %m", tmp);
		return -1;
	}
	ok = fputs(mm, f) >= 0 && fputs(io, f) >= 0 && fputs(bd, f) >= 0;
	ok = !fclose(f) && ok;
	if (!ok || rename(tmp, zsn.cfg.stats)) {
		nbdkit_error("stats=%s: %m", zsn.cfg.stats);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static uint64_t pool_waste(void)
{
	struct zram_mm_stat mm;

	zram_get_mm_stat(zsn.zram, &mm);
	return mm.mem_used_total > mm.compr_data_size ? mm.mem_used_total - mm.compr_data_size
						      : 0;
}

static void maybe_compact(void)
{
	struct zram_mm_stat mm;
	uint64_t waste, slack;

	zram_get_mm_stat(zsn.zram, &mm);
	waste = mm.mem_used_total > mm.compr_data_size ? mm.mem_used_total - mm.compr_data_size
						       : 0;
	slack = mm.mem_used_total / 16 > MIN_WASTE ? mm.mem_used_total / 16 : MIN_WASTE;
	if (waste < waste_after_compact) {
		waste_after_compact = waste;	/* frees shrank it: new baseline */
		return;
	}
	if (waste - waste_after_compact <= slack)
		return;
	zram_compact(zsn.zram);
	waste_after_compact = pool_waste();
	nbdkit_debug("zsmem: compacted, pool waste %llu -> %llu bytes",
		     (unsigned long long)waste, (unsigned long long)waste_after_compact);
}

static void give_back(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void maybe_trim(void)
{
	static unsigned int quiet_ticks;	/* service thread only */
	struct zram_mm_stat mm;

	zram_get_mm_stat(zsn.zram, &mm);
	if (zsm_xchg_relaxed(&trim_wanted, false) ||
	    mm.mem_used_total + MIN_WASTE <= pool_at_trim) {
		give_back();
		pool_at_trim = mm.mem_used_total;
		quiet_ticks = 2;
	} else if (quiet_ticks && --quiet_ticks == 0) {
		/*
		 * Two ticks after the last big free, when the trims have stopped: the
		 * deferred framework has dropped its extra buffer pages by now, and
		 * zsmalloc may still hold freed pages for its next batched madvise;
		 * compaction releases those, then glibc gives the buffers back.
		 */
		if (mm.mem_used_total > mm.compr_data_size + MIN_WASTE) {
			zram_compact(zsn.zram);
			waste_after_compact = pool_waste();
		}
		give_back();
		zram_get_mm_stat(zsn.zram, &mm);
		pool_at_trim = mm.mem_used_total;
	} else if (mm.mem_used_total > pool_at_trim) {
		/* Growth moves the mark up: the next shrink is measured from the top. */
		pool_at_trim = mm.mem_used_total;
	}
}

void zsn_service_connection_closed(void)
{
	zsm_store_relaxed(&trim_wanted, true);
	zsn_service_kick();
}

static void *service_main(void *arg)
{
	struct pollfd p = { .fd = wake_pipe[0], .events = POLLIN };

	(void)arg;
	while (!zsm_load_acquire(&stopping)) {
		bool stats = false;
		char buf[64];
		ssize_t n;

		/* Bytes: 's' from the SIGUSR1 handler, 'k' kicks, 'q' at stop. */
		if (poll(&p, 1, TICK_MS) > 0)
			while ((n = read(wake_pipe[0], buf, sizeof(buf))) > 0)
				stats = stats || memchr(buf, 's', (size_t)n);
		zsm_store_relaxed(&kick_pending, false);
		if (stats)
			zsn_write_stats();
		maybe_compact();
		maybe_trim();
	}
	return NULL;
}

int zsn_service_start(void)
{
	struct sigaction sa;

	if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC)) {
		nbdkit_error("pipe2: %m");
		return -1;
	}
	if (pthread_create(&service, NULL, service_main, NULL)) {
		nbdkit_error("cannot start the service thread");
		return -1;
	}
	service_running = true;
	if (zsn.cfg.stats) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigusr1;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;	/* nbdkit's threads' syscalls are not disturbed */
		if (sigaction(SIGUSR1, &sa, &old_usr1)) {
			nbdkit_error("sigaction(SIGUSR1): %m");
			return -1;
		}
	}
	return 0;
}

void zsn_service_stop(void)
{
	ssize_t r;

	if (!service_running)
		return;
	if (zsn.cfg.stats)
		sigaction(SIGUSR1, &old_usr1, NULL);
	/* Release: the thread's acquire load then sees stopping before it returns. */
	zsm_store_release(&stopping, true);
	r = write(wake_pipe[1], "q", 1);
	(void)r;
	pthread_join(service, NULL);
	service_running = false;
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
}

void zsn_service_kick(void)
{
	ssize_t r;

	if (wake_pipe[1] < 0 || zsm_xchg_relaxed(&kick_pending, true))
		return;
	r = write(wake_pipe[1], "k", 1);
	(void)r;	/* EAGAIN: a wake-up is pending already */
}

/*
 * Make room for a write that mem_limit refused: deferred frees first (trims not yet
 * drained), then compaction, then, with backing=, writeback of raw (huge) pages and of
 * ever more recently used idle pages. Serialised: writers that fail together wait for
 * one pass, then retry.
 */
bool zsn_reclaim(void)
{
	static const uint64_t idle_ages[] = { 60, 10, 1, 0 };
	uint64_t before = zs_get_total_pages(zram_pool(zsn.zram));
	bool progress;

	pthread_mutex_lock(&zsn.reclaim_lock);
	zsm_add_relaxed(&zsn.reclaims, 1);	/* a count: orders nothing */
	/* Another writer may have made room meanwhile. */
	progress = zs_get_total_pages(zram_pool(zsn.zram)) < before;
	if (!progress) {
		zram_flush(zsn.zram);
		zram_compact(zsn.zram);
		progress = zs_get_total_pages(zram_pool(zsn.zram)) < before;
	}
	if (!progress && zsn.backing_fd >= 0) {
		int64_t n = zram_writeback(zsn.zram, ZRAM_WB_HUGE);

		for (size_t i = 0; i < sizeof(idle_ages) / sizeof(idle_ages[0]); i++) {
			if (n > 0) {
				zram_compact(zsn.zram);
				if (zs_get_total_pages(zram_pool(zsn.zram)) < before)
					break;
			}
			zram_mark_idle(zsn.zram, idle_ages[i]);
			n = zram_writeback(zsn.zram, ZRAM_WB_IDLE);
		}
		zram_compact(zsn.zram);
		progress = zs_get_total_pages(zram_pool(zsn.zram)) < before;
	}
	pthread_mutex_unlock(&zsn.reclaim_lock);
	nbdkit_debug("zsmem: reclaim pass %llu: %s", (unsigned long long)zsn.reclaims,
		     progress ? "room made" : "nothing to free");
	return progress;
}
