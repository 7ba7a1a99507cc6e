/* SPDX-License-Identifier: MIT */
/*
 * zsmem/lab.h - what the exit-path lab (tools/zsbench) and the tests need beyond the
 * library's API: a historical baseline, a fault-injection hook, and the region's choice
 * of handler CPUs.
 *
 * UNSTABLE: not part of the API or ABI. Anything here may change or go away in any
 * release; applications should not include it.
 */
#ifndef ZSMEM_LAB_H
#define ZSMEM_LAB_H

#include <stdint.h>

#include <zsmem/region.h>
#include <zsmem/zsmalloc.h>
#include <zsmem/zram.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A pool flag (zs_create_pool_ex(), zram_config.zs_pool_flags,
 * zswap_config.zs_pool_flags): zs_free() takes a pool-wide rwlock (read side) before
 * the class lock, as kernels did before the June-2026 change that encodes the class in
 * the object location. Only the lab's "before the lock-free free" baseline uses it.
 * The bit is reserved in enum zs_pool_flags.
 */
#define ZS_POOL_LEGACY_LOCK	(1u << 0)

/* Test hook: flips bytes of the slot's stored compressed data so that the next read
 * fails to decompress. 0, -EINVAL (bad index), -ENOENT (no compressed object there). */
ZS_API int zram_test_corrupt_slot(struct zram *zram, uint32_t index);

/*
 * The CPUs a region pins its handler threads to (src/region/handler.c, "The handler
 * threads"), at most max of them in cpus: their number; 1 with cpus[0] = -1 when the
 * region runs one thread, not pinned. region_bench arranges its bare userfaultfd floor
 * the same way.
 */
ZSR_API unsigned zsr_lab_handler_cpus(int *cpus, unsigned max);

#ifdef __cplusplus
}
#endif
#endif /* ZSMEM_LAB_H */
