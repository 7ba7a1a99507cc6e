/* SPDX-License-Identifier: MIT */
/*
 * The zsmem nbdkit plugin's shared state: one zram device per nbdkit process, served
 * to every connection (see zsmem_nbd.c), and the service thread beside it (stats on
 * SIGUSR1, compaction, reclaim when mem_limit is reached; nbd_service.c).
 */
#ifndef ZSMEM_NBD_INTERNAL_H
#define ZSMEM_NBD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <zsmem/zram.h>

struct zsn_config {
	int64_t size;			/* exported bytes (size=) */
	const char *compressor;		/* compressor= */
	int level;			/* level=; 0 = the algorithm's default */
	bool sync_free;			/* free=sync */
	uint64_t mem_limit;		/* mem_limit=; 0 = none */
	char *backing;			/* backing=, absolute */
	char *stats;			/* stats=, absolute */
};

/* Counters of the devices replaced so far (zsn_renew), added to the stats file's. */
struct zsn_carried {
	struct zram_mm_stat mm;		/* pages_compacted, huge_pages_since, mem_used_max */
	struct zram_io_stat io;
	struct zram_bd_stat bd;		/* bd_reads, bd_writes */
};

struct zsn {
	struct zsn_config cfg;
	/*
	 * The device. Requests use it under dev_lock held for reading; the service thread
	 * replaces it (an emptied disk gets a fresh device, see zsn_renew) under dev_lock
	 * held for writing, so a request never sees it change or go away.
	 */
	struct zram *zram;
	pthread_rwlock_t dev_lock;
	struct zsn_carried carried;	/* service thread (and .cleanup after it stops) */
	uint64_t renewals;		/* devices replaced */
	int backing_fd;			/* -1 without backing= */
	/* Serialises reclaim (flush, compact, writeback) between writers that hit
	 * mem_limit at once: one reclaims, the others then retry. */
	pthread_mutex_t reclaim_lock;
	uint64_t reclaims;		/* reclaim passes run (zsm_add_relaxed) */
};

extern struct zsn zsn;

/* nbd_device.c: the zram config from the parameters (disksize bytes; sync: free=sync). */
void zsn_zram_config(struct zram_config *zc, uint64_t disksize, bool sync);
/* Pages of the export, rounded up; at least 1. */
uint64_t zsn_disk_pages(void);
/* A new device with the parameters' config and backing file (NULL: error logged). */
struct zram *zsn_make_device(void);

/* Service thread: started in .after_fork (after nbdkit daemonises), stopped in .cleanup. */
int zsn_service_start(void);
void zsn_service_stop(void);
/* Asks the service thread to look at fragmentation now (after a flush, a trim). */
void zsn_service_kick(void);
/* A connection closed: its request buffers are free, time to give memory back. */
void zsn_service_connection_closed(void);
/* Writes the stats file (stats=) now: mm_stat, io_stat, bd_stat lines. */
int zsn_write_stats(void);
/*
 * Called by a writer whose zram write failed with -ENOMEM: makes room (deferred frees
 * drained, compaction, and with backing= writeback of huge then ever more recently
 * idle pages). Returns true when the write is worth retrying.
 */
bool zsn_reclaim(void);

#endif
