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
/* Grown pages taken out of use (a list): memory back to the OS, descriptors back to
 * the grow free list, nr_grown lowered. Takes d->lock. */
void zsd_grow_put_list(struct zs_deferred *d, struct zsd_page *list);
/* Under d->lock: append to the work FIFO with a fresh ticket and wake a worker. */
void zsd_queue_locked(struct zs_deferred *d, struct zsd_page *pg);
/* Queue without waking a worker: the caller calls zsd_wake_worker() later. */
void zsd_queue_locked_nowake(struct zs_deferred *d, struct zsd_page *pg);
void zsd_wake_worker(struct zs_deferred *d);
/* Worker, under d->lock (dropped meanwhile): fault in a batch of grown pages ahead. */
void zsd_refill_locked(struct zs_deferred *d);
/* Takes d->lock: queue the slot's page (if non-empty), install a spare one (or NULL). */
void zsd_slot_swap(struct zs_deferred *d, struct zsd_slot *s);

#endif /* ZSMEM_DEFERRED_PAGEPOOL_H */
