// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12, defect 1): a zram_slot_free_notify() that arrives while
 * writeback has dropped the slot lock (to pwrite the page) was lost in the per-CPU
 * deferred modes: the re-lock installed the written-back content with
 * slot_update_flags(..., ZRAM_CONTENT_FLAGS, WB), which cleared FREE_PENDING, so the
 * drain found the slot no longer pending and left the dead slot allocated, holding a
 * backing block. pwrite is interposed (the library reaches it through the PLT) to
 * notify the slot inside that window. After zram_flush() the slot must be free and
 * no backing block in use, in every free mode.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zram_test_util.h"

static struct zram *armed_zram;
static int armed_once;

/* The window: the slot is picked (PP_SLOT) and unlocked while the page is written. */
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (armed_zram && armed_once) {
		armed_once = 0;
		zram_slot_free_notify(armed_zram, 0);
	}
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

static void run(enum zram_free_mode mode)
{
	static unsigned char page[4096];
	char path[] = "/tmp/zram-regress-wb-XXXXXX";
	struct zram *z = zt_create("lz4", 0, 64, mode);
	struct zram_slot_info si;
	struct zram_bd_stat bd;
	struct zram_mm_stat mm;
	unsigned long long s = 12;
	int fd = mkstemp(path), r;

	CHECK(fd >= 0);
	unlink(path);
	CHECK(zram_set_backing_fd(z, fd, 0) == 0);
	for (unsigned int i = 0; i < 4096; i++)
		page[i] = (unsigned char)t_rand(&s);
	CHECK(zram_write_page(z, 0, page) == 0);

	armed_zram = z;
	armed_once = 1;
	r = zram_writeback_slot(z, 0);
	armed_zram = NULL;
	CHECKF(armed_once == 0, "%s: pwrite was not reached", zram_free_mode_name(mode));
	CHECKF(r >= 0, "%s: writeback %d", zram_free_mode_name(mode), r);
	zram_flush(z);

	CHECK(zram_get_slot_info(z, 0, &si) == 0);
	zram_get_bd_stat(z, &bd);
	zram_get_mm_stat(z, &mm);
	CHECKF(!si.allocated && !si.wb && !si.free_pending,
	       "%s: notified slot still allocated=%d wb=%d pending=%d after flush",
	       zram_free_mode_name(mode), si.allocated, si.wb, si.free_pending);
	CHECKF(bd.bd_count == 0, "%s: bd_count %llu", zram_free_mode_name(mode),
	       (unsigned long long)bd.bd_count);
	CHECKF(mm.orig_data_size == 0, "%s: orig_data_size %llu", zram_free_mode_name(mode),
	       (unsigned long long)mm.orig_data_size);
	zt_check_stats(z);
	zram_destroy(z);
	close(fd);
}

int main(void)
{
	run(ZRAM_FREE_SYNC);
	run(ZRAM_FREE_PERCPU_GROUPED);
	run(ZRAM_FREE_PERCPU_PLAIN);
	run(ZRAM_FREE_V2_ARRAY);
	run(ZRAM_FREE_PER_CLASS);
	printf("regress_free_lost_during_writeback: ok\n");
	return T_PASS;
}
