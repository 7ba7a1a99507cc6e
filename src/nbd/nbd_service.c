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
 * Returning memory: after a connection has closed, or once the pool has shrunk by 1 MiB
 * or more, the thread waits until trims and flushes have paused for IDLE_MS, then
 * returns what the frees left behind: compaction when the pool is fragmented, and
 * glibc's malloc_trim(0) (nbdkit's request buffers, up to threads x the largest request,
 * are malloc'd and stay in glibc's heap once freed until trimmed). A RAM disk whose
 * contents were just trimmed should give its memory back, not keep it for later.
 *
 * An emptied disk gets a fresh device (zsn_renew): zsmalloc keeps the metadata of the
 * pool's largest size (handle chunks, zspage descriptors: ~0.7% of the bytes stored)
 * until the pool is destroyed, and the slot table stays touched (16 bytes per page);
 * replacing a device that holds nothing frees both and costs a few milliseconds. The
 * swap takes the device lock for writing, with a try-lock: it waits for no request and
 * no request waits for it beyond the swap itself (the new device is made beforehand,
 * the old one destroyed afterwards). The stats file's cumulative counters carry over.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "common/atomics.h"
#include "nbd_internal.h"

#define TICK_MS		200
#define IDLE_MS		100	/* trims and flushes paused this long: return memory */
#define MIN_WASTE	(1u << 20)
#define RENEW_WRITES	4096	/* page writes to a device before an emptied one is replaced */

static int wake_pipe[2] = { -1, -1 };
static pthread_t service;
static bool service_running;
static struct sigaction old_usr1;
static bool stopping;			/* zsm_* atomics */
static uint64_t waste_after_compact;	/* service thread only */
static uint64_t pool_mark;		/* service thread only: pool bytes at the last release,
					 * raised by growth */
static uint64_t last_kick_ms;		/* service thread only: last trim, flush or close */
static bool release_pending;		/* service thread only: memory to return when idle */
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

/* The device's counters plus those of the devices it replaced (service thread). */
static void format_stats(char *mm, size_t mm_size, char *io, size_t io_size, char *bd,
			 size_t bd_size)
{
	const struct zsn_carried *c = &zsn.carried;
	struct zram_mm_stat m;
	struct zram_io_stat i;
	struct zram_bd_stat b;

	zram_get_mm_stat(zsn.zram, &m);
	zram_get_io_stat(zsn.zram, &i);
	zram_get_bd_stat(zsn.zram, &b);
	m.pages_compacted += c->mm.pages_compacted;
	m.huge_pages_since += c->mm.huge_pages_since;
	if (c->mm.mem_used_max > m.mem_used_max)
		m.mem_used_max = c->mm.mem_used_max;
	i.failed_reads += c->io.failed_reads;
	i.failed_writes += c->io.failed_writes;
	i.invalid_io += c->io.invalid_io;
	i.notify_free += c->io.notify_free;
	b.bd_reads += c->bd.bd_reads;
	b.bd_writes += c->bd.bd_writes;
	zram_format_mm_stat(&m, mm, mm_size);
	zram_format_io_stat(&i, io, io_size);
	zram_format_bd_stat(&b, bd, bd_size);
}

/* Adds a device's cumulative counters to zsn.carried before it is replaced. */
static void carry_stats(struct zram *zram)
{
	struct zsn_carried *c = &zsn.carried;
	struct zram_mm_stat m;
	struct zram_io_stat i;
	struct zram_bd_stat b;

	zram_get_mm_stat(zram, &m);
	zram_get_io_stat(zram, &i);
	zram_get_bd_stat(zram, &b);
	c->mm.pages_compacted += m.pages_compacted;
	c->mm.huge_pages_since += m.huge_pages_since;
	if (m.mem_used_max > c->mm.mem_used_max)
		c->mm.mem_used_max = m.mem_used_max;
	c->io.failed_reads += i.failed_reads;
	c->io.failed_writes += i.failed_writes;
	c->io.invalid_io += i.invalid_io;
	c->io.notify_free += i.notify_free;
	c->bd.bd_reads += b.bd_reads;
	c->bd.bd_writes += b.bd_writes;
}

/* Not from the signal handler (never): from the service thread and .cleanup. */
int zsn_write_stats(void)
{
	char mm[256], io[128], bd[128], tmp[4096 + 8];
	FILE *f;
	int ok;

	if (!zsn.cfg.stats || !zsn.zram)
		return 0;
	format_stats(mm, sizeof(mm), io, sizeof(io), bd, sizeof(bd));
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The device holds nothing, in memory or in the backing file (deferred frees drained). */
static bool device_empty(void)
{
	struct zram_ext_stat x;

	zram_flush(zsn.zram);
	zram_get_ext_stat(zsn.zram, &x);
	return !x.pages_stored && !x.wb_pages;
}

/*
 * Replaces an emptied device by a fresh one (see the top of the file). False when the
 * device is not empty, has seen too few writes to be worth it, or a request holds it.
 */
static bool zsn_renew(void)
{
	struct zram_ext_stat x;
	struct zram *fresh, *old;

	zram_get_ext_stat(zsn.zram, &x);
	if (x.num_writes < RENEW_WRITES || !device_empty())
		return false;
	fresh = zsn_make_device();
	if (!fresh)
		return false;
	if (pthread_rwlock_trywrlock(&zsn.dev_lock)) {
		zram_destroy(fresh);
		return false;
	}
	/* Again under the lock: a write may have come since the first look. */
	if (!device_empty()) {
		pthread_rwlock_unlock(&zsn.dev_lock);
		zram_destroy(fresh);
		return false;
	}
	old = zsn.zram;
	carry_stats(old);
	zsn.zram = fresh;
	/* The unlock releases the new pointer to the next request's read lock. */
	pthread_rwlock_unlock(&zsn.dev_lock);
	zram_destroy(old);
	zsn.renewals++;
	waste_after_compact = 0;
	nbdkit_debug("zsmem: the disk is empty: fresh device (%llu so far)",
		     (unsigned long long)zsn.renewals);
	return true;
}

/*
 * After a big free or a closed connection, once trims and flushes have paused for
 * IDLE_MS: a fresh device if the disk is empty, else compaction when the pool is
 * fragmented (it also flushes zsmalloc's list of freed pages still resident); then the
 * compressor states of exited threads are freed and the malloc heap is trimmed.
 */
static void maybe_release(uint64_t now)
{
	struct zram_mm_stat mm;

	zram_get_mm_stat(zsn.zram, &mm);
	if (zsm_xchg_relaxed(&trim_wanted, false) || mm.mem_used_total + MIN_WASTE <= pool_mark)
		release_pending = true;
	else if (mm.mem_used_total > pool_mark)
		pool_mark = mm.mem_used_total;	/* growth: the next shrink counts from the top */
	if (!release_pending || now - last_kick_ms < IDLE_MS)
		return;
	release_pending = false;
	/* The trims' deferred frees reach the pool now, not at the framework's next tick
	 * (up to 3/4 of its max delay, nbd_device.c): compaction then sees them. */
	zram_flush(zsn.zram);
	if (!zsn_renew()) {
		zram_get_mm_stat(zsn.zram, &mm);
		if (mm.mem_used_total > mm.compr_data_size + MIN_WASTE ||
		    !mm.compr_data_size) {
			zram_compact(zsn.zram);
			waste_after_compact = pool_waste();
		}
	}
	/* The compressor states of nbdkit's exited worker threads (zstd: ~50 KiB each,
	 * 16 threads a connection). */
	zram_release_idle_state(zsn.zram);
	give_back();
	zram_get_mm_stat(zsn.zram, &mm);
	pool_mark = mm.mem_used_total;
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
		bool stats = false, kicked = false;
		int timeout = TICK_MS;
		char buf[64];
		uint64_t now;
		ssize_t n;

		/* A release waits for IDLE_MS without kicks, not for the next tick. */
		if (release_pending) {
			uint64_t since = now_ms() - last_kick_ms;

			timeout = since >= IDLE_MS ? 0 : (int)(IDLE_MS - since);
		}
		/* Bytes: 's' from the SIGUSR1 handler, 'k' kicks, 'q' at stop. */
		if (poll(&p, 1, timeout) > 0)
			while ((n = read(wake_pipe[0], buf, sizeof(buf))) > 0) {
				stats = stats || memchr(buf, 's', (size_t)n);
				kicked = kicked || memchr(buf, 'k', (size_t)n);
			}
		zsm_store_relaxed(&kick_pending, false);
		now = now_ms();
		if (kicked)
			last_kick_ms = now;
		if (stats)
			zsn_write_stats();
		maybe_compact();
		maybe_release(now);
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
