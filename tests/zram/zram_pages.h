/* SPDX-License-Identifier: MIT */
/*
 * The zram tests' page stream: zsm_page_mixed() of the shared generator
 * (tests/common/pagegen.h), under the names the zram tests use.
 */
#ifndef ZSMEM_ZRAM_PAGES_H
#define ZSMEM_ZRAM_PAGES_H

#include "pagegen.h"

/* The zram tests' names for the shared generator's mixed recipe (tests/common). */
#define ZPG_MIXED	ZSM_PAGE_MIXED
#define ZPG_ZERO	ZSM_PAGE_ZERO
#define ZPG_SAME	ZSM_PAGE_SAME
#define ZPG_RANDOM	ZSM_PAGE_RANDOM
#define zpg_fill	zsm_page_mixed
#define zpg_next	zsm_splitmix64

#endif
