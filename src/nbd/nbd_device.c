/* SPDX-License-Identifier: MIT */
/*
 * The plugin's device: the shared state (struct zsn) and how a zram device is made from
 * the parameters, at start-up (zsmem_nbd.c) and when the service thread replaces an
 * emptied one (nbd_service.c). Calls neither of them.
 */
#include <string.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "nbd_internal.h"

#define NBD_DEFERRED_DELAY_US	100000u

struct zsn zsn = {
	.cfg = { .size = -1 },
	.backing_fd = -1,
	.dev_lock = PTHREAD_RWLOCK_INITIALIZER,
	.reclaim_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* The zram config from the parameters (the device itself is made in .after_fork). */
void zsn_zram_config(struct zram_config *zc, uint64_t disksize, bool sync)
{
	memset(zc, 0, sizeof(*zc));
	zc->disksize = disksize;
	zc->comp_algorithm = zsn.cfg.compressor ? zsn.cfg.compressor : "lz4";
	zc->comp_level = zsn.cfg.level;
	zc->mem_limit = zsn.cfg.mem_limit;
	zc->free_mode = sync ? ZRAM_FREE_SYNC : ZRAM_FREE_PERCPU_GROUPED;
	/*
	 * The deferred framework's timer wakes every max_delay/4, busy or idle: at the
	 * default 10 ms that is ~400 wake-ups a second of a disk nobody uses. 100 ms (a
	 * 25 ms tick) bounds a trimmed page's wait just as well here: the service thread
	 * flushes the frees itself IDLE_MS after trims pause (nbd_service.c), and .flush
	 * drains them at once.
	 */
	zc->deferred.max_delay_us = NBD_DEFERRED_DELAY_US;
	zc->name = "nbdkit-zsmem";
}

uint64_t zsn_disk_pages(void)
{
	uint64_t pages = ((uint64_t)zsn.cfg.size + ZRAM_PAGE_SIZE - 1) / ZRAM_PAGE_SIZE;

	return pages ? pages : 1;	/* size=0 is a valid (empty) export */
}

/* A device of zsn_disk_pages() pages with the parameters' config and backing file. */
struct zram *zsn_make_device(void)
{
	struct zram_config zc;
	struct zram *zram;

	zsn_zram_config(&zc, zsn_disk_pages() * ZRAM_PAGE_SIZE, zsn.cfg.sync_free);
	zram = zram_create(&zc);
	if (!zram) {
		nbdkit_error("cannot create the zram device: %s", zram_last_error());
		return NULL;
	}
	if (zsn.backing_fd >= 0) {
		int ret = zram_set_backing_fd(zram, zsn.backing_fd, 0);

		if (ret) {
			nbdkit_error("backing=%s: %s", zsn.cfg.backing, strerror(-ret));
			zram_destroy(zram);
			return NULL;
		}
	}
	return zram;
}

