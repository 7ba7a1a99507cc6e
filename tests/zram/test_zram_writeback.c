/* SPDX-License-Identifier: MIT */
/*
 * Writeback of idle / huge / incompressible slots to a backing file; reads come back
 * from the file; a failing backing file gives -EIO and the data stays in memory.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "zram_test_util.h"

#define N 1024

static int tmpfile_fd(void)
{
	char path[] = "/tmp/zram-wb-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	return fd;
}

static uint32_t kind_pct(uint32_t i)
{
	return i % 4 == 0 ? 100 : 10;
}

static void check_all(struct zram *z)
{
	static unsigned char page[4096], out[4096];

	for (uint32_t i = 0; i < N; i++) {
		zpg_fill(page, 21, i, kind_pct(i), 5);
		CHECK(zram_read_page(z, i, out) == 0);
		CHECKF(!memcmp(page, out, 4096), "slot %u", i);
	}
}

int main(void)
{
	static unsigned char page[4096];
	struct zram *z = zt_create("lz4", 0, N, ZRAM_FREE_SYNC);
	struct zram_bd_stat bd;
	struct zram_mm_stat mm0, mm;
	struct zram_slot_info si;
	char text[64];
	int64_t n;
	int fd, rofd;

	for (uint32_t i = 0; i < N; i++) {
		zpg_fill(page, 21, i, kind_pct(i), 5);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	CHECK(zram_writeback(z, ZRAM_WB_HUGE) == -ENODEV);

	/* A backing fd that cannot be written: -EIO, nothing lost, nothing counted. */
	{
		char path[] = "/tmp/zram-wb-ro-XXXXXX";
		int tfd = mkstemp(path);

		CHECK(tfd >= 0);
		rofd = open(path, O_RDONLY);
		CHECK(rofd >= 0);
		unlink(path);
		close(tfd);
	}
	CHECK(zram_set_backing_fd(z, rofd, 0) == 0);
	zram_get_mm_stat(z, &mm0);
	CHECK(zram_writeback(z, ZRAM_WB_HUGE) == -EIO);
	zram_get_bd_stat(z, &bd);
	CHECK(bd.bd_count == 0 && bd.bd_writes == 0);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.orig_data_size == mm0.orig_data_size && mm.huge_pages == mm0.huge_pages);
	check_all(z);
	CHECK(zram_set_backing_fd(z, -1, 0) == 0);
	close(rofd);

	fd = tmpfile_fd();
	CHECK(zram_set_backing_fd(z, fd, 0) == 0);

	/* huge: every 4th page is random, hence huge. */
	n = zram_writeback(z, ZRAM_WB_HUGE);
	CHECKF(n == (int64_t)mm0.huge_pages, "wrote %lld of %llu huge", (long long)n,
	       (unsigned long long)mm0.huge_pages);
	zram_get_bd_stat(z, &bd);
	CHECK(bd.bd_count == (uint64_t)n && bd.bd_writes == (uint64_t)n);
	zram_get_mm_stat(z, &mm);
	CHECK(mm.huge_pages == 0);
	CHECK(mm.orig_data_size == mm0.orig_data_size - (uint64_t)n * 4096);
	CHECK(mm.mem_used_total < mm0.mem_used_total);
	CHECK(zram_get_slot_info(z, 0, &si) == 0 && si.wb);
	zt_check_stats(z);
	check_all(z);
	zram_get_bd_stat(z, &bd);
	CHECK(bd.bd_reads == (uint64_t)n);
	CHECK(zram_set_backing_fd(z, -1, 0) == -EBUSY);

	/* idle: mark all, access a few, write back the rest. */
	CHECK(zram_mark_idle(z, 0) > 0);
	for (uint32_t i = 1; i < 100; i++)
		CHECK(zram_read_page(z, i, page) == 0);
	n = zram_writeback(z, ZRAM_WB_IDLE);
	CHECK(n > 0);
	for (uint32_t i = 1; i < 100; i++) {
		CHECK(zram_get_slot_info(z, i, &si) == 0);
		CHECK(!si.wb || i % 4 == 0);
	}
	zt_check_stats(z);
	check_all(z);

	/* Rewriting or discarding a written-back slot frees its block. */
	zram_get_bd_stat(z, &bd);
	CHECK(zram_discard(z, 200, 1) == 0);
	zpg_fill(page, 21, 200, kind_pct(200), 5);
	CHECK(zram_write_page(z, 200, page) == 0);
	{
		struct zram_bd_stat bd2;

		zram_get_bd_stat(z, &bd2);
		CHECK(bd2.bd_count == bd.bd_count - 1);
	}
	CHECK(zram_writeback_slot(z, 200) == 1);
	CHECK(zram_writeback_slot(z, 200) == 0);
	CHECK(zram_bd_stat_show(z, text, sizeof(text)) > 0);
	printf("bd_stat: %s", text);
	check_all(z);
	zt_check_stats(z);

	/* A backing file that lost its data: reads of written-back slots fail with -EIO
	 * and are counted; the other slots still read. */
	{
		struct zram_io_stat io0, io;
		uint32_t bad = 0;

		zram_get_io_stat(z, &io0);
		CHECK(ftruncate(fd, 0) == 0);
		for (uint32_t i = 0; i < N; i++) {
			CHECK(zram_get_slot_info(z, i, &si) == 0);
			if (si.wb) {
				CHECK(zram_read_page(z, i, page) == -EIO);
				bad++;
			} else {
				CHECK(zram_read_page(z, i, page) == 0);
			}
		}
		zram_get_io_stat(z, &io);
		CHECK(bad > 0 && io.failed_reads == io0.failed_reads + bad);
	}

	/* Discard everything: no block left in use. */
	CHECK(zram_discard(z, 0, N) == 0);
	zram_get_bd_stat(z, &bd);
	CHECK(bd.bd_count == 0);
	CHECK(zram_set_backing_fd(z, -1, 0) == 0);
	zram_destroy(z);
	close(fd);
	return T_PASS;
}
