// SPDX-License-Identifier: MIT
/*
 * The one page size inside the library. The public headers keep their own names
 * (ZS_PAGE_SIZE, ZRAM_PAGE_SIZE, ZSWAP_PAGE_SIZE: API, they cannot include src/), and
 * each subsystem that includes one asserts it equals ZSM_PAGE_SIZE.
 */
#ifndef ZSMEM_COMMON_PAGE_H
#define ZSMEM_COMMON_PAGE_H

#define ZSM_PAGE_SHIFT		12
#define ZSM_PAGE_SIZE		(1u << ZSM_PAGE_SHIFT)	/* 4096: the kernel's, not the MMU's */
#define ZSM_PAGE_MASK		(ZSM_PAGE_SIZE - 1)

/* Populate pages writable in one call (Linux 5.14), for C libraries older than that;
 * an older kernel answers EINVAL. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

#endif /* ZSMEM_COMMON_PAGE_H */
