/* SPDX-License-Identifier: MIT */
/* pagepool.h - the page pool beneath percpu.c and v2array.c (see pagepool.c). */
#ifndef ZSMEM_DEFERRED_PAGEPOOL_H
#define ZSMEM_DEFERRED_PAGEPOOL_H

#include "deferred.h"

uint64_t zsd_now_ns(void);
/* Under d->lock: a spare page or NULL. */
struct zsd_page *zsd_spare_get_locked(struct zs_deferred *d);
/* Under d->lock: back onto the spare stack. */
void zsd_spare_put_locked(struct zs_deferred *d, struct zsd_page *pg);
/* A grown page (malloc'd alone): free it and its buffer. */
void zsd_page_free(struct zsd_page *pg);
/* Under d->lock: append to the work FIFO with a fresh ticket and wake a worker. */
void zsd_queue_locked(struct zs_deferred *d, struct zsd_page *pg);
/* Queue without waking a worker: the caller calls zsd_wake_worker() later. */
void zsd_queue_locked_nowake(struct zs_deferred *d, struct zsd_page *pg);
void zsd_wake_worker(struct zs_deferred *d);
/* Takes d->lock: queue the slot's page (if non-empty), install a spare one (or NULL). */
void zsd_slot_swap(struct zs_deferred *d, struct zsd_slot *s);

#endif /* ZSMEM_DEFERRED_PAGEPOOL_H */
