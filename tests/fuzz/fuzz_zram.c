// SPDX-License-Identifier: MIT
/*
 * fuzz_zram: a zram device driven by an op sequence (write, read, discard, notify,
 * flush, idle marking, writeback, recompression, compaction, reset, limits), checked
 * against a model of every slot's exact page.
 *
 * Input: two config bytes, then ops (opcode byte + arguments), at most FUZZ_MAX_OPS.
 *   config 0: free mode (bits 0-2, mod 6: sync, percpu grouped, percpu plain, v2 array,
 *             per class, percpu grouped with ZS_POOL_DEFER_ZSPAGE_FREE), compressor
 *             (bits 3-4, mod 3: lz4, zstd, lzo-rle), backing file (bit 5), a 64 KiB
 *             memory limit (bit 6), chain size 4 (bit 7)
 *   config 1: secondary algorithms registered at create (bit 0: zstd at 1, bit 1:
 *             lz4hc at 2), small deferred buffers (bit 2: no spare pages, 200 us delay)
 * Pages come from a 16-bit token (pg_fill: zero, same-filled, compressible, random).
 * The device has 32 slots; indexes up to 39 are generated, so past-the-end is covered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zsmem/zram.h>

#include "fuzz_common.h"
#include "tokpage.h"

#define NSLOTS 32u

enum { EMPTY, LIVE, DEAD };

static uint8_t state[NSLOTS];
static uint64_t tok[NSLOTS];
static unsigned char page[PG_SIZE] __attribute__((aligned(4096)));
static unsigned char want[PG_SIZE] __attribute__((aligned(4096)));

/* One backing file for the whole run: zram keeps its block bitmap per device and never
 * closes the fd, so each iteration's device starts with every block free. */
static int backing_fd(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-zram-backing", 0);
		FUZZ_CHECK(fd >= 0 && ftruncate(fd, NSLOTS * PG_SIZE) == 0, "memfd");
	}
	return fd;
}

static void check_slot(struct zram *z, uint32_t i)
{
	int rc;

	if (state[i] == DEAD)	/* a notified slot must not be read before a rewrite */
		return;
	rc = zram_read_page(z, i, page);
	FUZZ_CHECK(rc == 0, "zram_read_page(%u) = %d", i, rc);
	if (state[i] == LIVE)
		pg_fill(want, tok[i]);
	else
		memset(want, 0, PG_SIZE);
	FUZZ_CHECK(!memcmp(page, want, PG_SIZE), "slot %u (state %d, token %#llx): wrong bytes",
		   i, state[i], (unsigned long long)tok[i]);
}

static void check_info(struct zram *z, uint32_t i)
{
	struct zram_slot_info info;
	int rc = zram_get_slot_info(z, i, &info);

	FUZZ_CHECK(rc == 0, "zram_get_slot_info(%u) = %d", i, rc);
	if (state[i] == EMPTY)
		FUZZ_CHECK(!info.allocated, "slot %u: empty in the model but allocated", i);
	if (state[i] != LIVE)
		return;
	FUZZ_CHECK(info.allocated, "slot %u: live but not allocated", i);
	if (tok[i] % PG_KINDS <= 1)	/* zero and same-filled pages take no pool memory */
		FUZZ_CHECK(info.same && !info.wb, "slot %u: same-filled page not stored as same", i);
	else
		FUZZ_CHECK(!info.same, "slot %u: stored as same-filled", i);
	if (tok[i] % PG_KINDS == 5 && !info.wb)	/* random bytes: stored raw */
		FUZZ_CHECK(info.huge, "slot %u: random page not huge", i);
}

/*
 * After a flush every notified slot is free, except one whose notify found the slot
 * locked (miss_free: the data stays until the next write or discard of the slot).
 */
static void after_flush(struct zram *z, uint64_t *miss_seen)
{
	struct zram_debug_stat dbg;
	struct zram_ext_stat ext;
	struct zram_bd_stat bd;
	uint64_t live = 0, left = 0;
	uint32_t i;

	zram_get_debug_stat(z, &dbg);
	for (i = 0; i < NSLOTS; i++) {
		struct zram_slot_info info;

		if (state[i] == LIVE)
			live++;
		if (state[i] != DEAD)
			continue;
		FUZZ_CHECK(zram_get_slot_info(z, i, &info) == 0, "slot info");
		if (info.allocated)
			left++;
		else
			state[i] = EMPTY;
	}
	FUZZ_CHECK(left <= dbg.miss_free - *miss_seen,
		   "%llu notified slots still allocated after zram_flush, miss_free grew by %llu",
		   (unsigned long long)left, (unsigned long long)(dbg.miss_free - *miss_seen));
	*miss_seen = dbg.miss_free;
	zram_get_ext_stat(z, &ext);
	zram_get_bd_stat(z, &bd);
	FUZZ_CHECK(ext.wb_pages == bd.bd_count, "wb_pages %llu, bd_count %llu",
		   (unsigned long long)ext.wb_pages, (unsigned long long)bd.bd_count);
	FUZZ_CHECK(ext.pages_stored + ext.wb_pages == live + left,
		   "stored %llu + written back %llu, model %llu live + %llu missed",
		   (unsigned long long)ext.pages_stored, (unsigned long long)ext.wb_pages,
		   (unsigned long long)live, (unsigned long long)left);
}

static const char *const comps[] = { "lz4", "zstd", "lzo-rle" };
static const char *const recomps[] = { NULL, "zstd", "lz4hc" };
static const enum zram_free_mode modes[] = {
	ZRAM_FREE_SYNC, ZRAM_FREE_PERCPU_GROUPED, ZRAM_FREE_PERCPU_PLAIN,
	ZRAM_FREE_V2_ARRAY, ZRAM_FREE_PER_CLASS, ZRAM_FREE_PERCPU_GROUPED,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t c0 = fz_u8(&f), c1 = fz_u8(&f);
	unsigned int m = (c0 & 7) % 6, nops;
	bool backing = c0 & 0x20, limited = c0 & 0x40;
	struct zram_config cfg = {
		.disksize = NSLOTS * PG_SIZE,
		.comp_algorithm = comps[((c0 >> 3) & 3) % 3],
		.mem_limit = limited ? 64 * 1024 : 0,
		.free_mode = modes[m],
		.zs_pool_flags = m == 5 ? ZS_POOL_DEFER_ZSPAGE_FREE : 0,
		.zs_chain_size = (c0 & 0x80) ? 4 : 0,
		.deferred = { .spare_pages = (c1 & 4) ? 0 : 2, .max_delay_us = (c1 & 4) ? 200 : 0,
			      .array_entries = 64 },
		.name = "fuzz-zram",
	};
	uint64_t miss_seen = 0;
	struct zram_mm_stat mm;
	struct zram_ext_stat ext;
	struct zram_bd_stat bd;
	struct zram *z;
	uint32_t i;
	int rc;

	memset(state, EMPTY, sizeof(state));
	z = zram_create(&cfg);
	if (!z && errno == ENOMEM)
		return 0;
	FUZZ_CHECK(z, "zram_create: %s", zram_last_error());
	FUZZ_CHECK(zram_nr_pages(z) == NSLOTS, "nr_pages");
	if (backing)
		FUZZ_CHECK(zram_set_backing_fd(z, backing_fd(), 0) == 0, "set_backing_fd");
	if (c1 & 1)
		FUZZ_CHECK(zram_set_recomp_algorithm(z, 1, "zstd", 0) == 0, "recomp zstd");
	if (c1 & 2)
		FUZZ_CHECK(zram_set_recomp_algorithm(z, 2, "lz4hc", 0) == 0, "recomp lz4hc");

	for (nops = 0; fz_more(&f) && nops < FUZZ_MAX_OPS; nops++) {
		uint8_t op = fz_u8(&f) % 14;
		uint32_t idx = fz_u8(&f) % (NSLOTS + 8);
		bool in = idx < NSLOTS;

		switch (op) {
		case 0:
		case 1: {	/* write */
			uint64_t t = fz_u16(&f);

			pg_fill(page, t);
			rc = zram_write_page(z, idx, page);
			if (!in) {
				FUZZ_CHECK(rc == -EINVAL, "write past the end = %d", rc);
			} else if (rc == -ENOMEM) {
				FUZZ_CHECK(limited, "write -ENOMEM without a limit");
				/* The slot keeps its old content. */
			} else {
				FUZZ_CHECK(rc == 0, "zram_write_page(%u) = %d", idx, rc);
				state[idx] = LIVE;
				tok[idx] = t;
			}
			break;
		}
		case 2:
			if (in)
				check_slot(z, idx);
			else
				FUZZ_CHECK(zram_read_page(z, idx, page) == -EINVAL, "read past the end");
			break;
		case 3: {	/* discard */
			uint32_t n = 1 + fz_u8(&f) % 4, k;

			rc = zram_discard(z, idx, n);
			if (idx + n > NSLOTS) {
				FUZZ_CHECK(rc == -EINVAL, "discard past the end = %d", rc);
			} else {
				FUZZ_CHECK(rc == 0, "zram_discard(%u, %u) = %d", idx, n, rc);
				for (k = 0; k < n; k++)
					state[idx + k] = EMPTY;
			}
			break;
		}
		case 4:
		case 5:
			zram_slot_free_notify(z, idx);
			if (in && state[idx] != EMPTY)
				state[idx] = DEAD;
			break;
		case 6:
			zram_flush(z);
			after_flush(z, &miss_seen);
			break;
		case 7:
			zram_mark_idle(z, fz_u8(&f) & 1);
			break;
		case 8: {	/* writeback by mode, or one slot */
			uint8_t how = fz_u8(&f) % 5;

			if (how == 4) {
				rc = zram_writeback_slot(z, idx);
				if (!in)
					FUZZ_CHECK(rc == -EINVAL || rc == -ENODEV, "wb slot past end = %d", rc);
				else if (!backing)
					FUZZ_CHECK(rc == -ENODEV, "wb slot without file = %d", rc);
				else
					FUZZ_CHECK(rc == 0 || rc == 1, "zram_writeback_slot(%u) = %d", idx, rc);
			} else {
				int64_t n = zram_writeback(z, (enum zram_wb_mode)(ZRAM_WB_IDLE + how));

				if (!backing)
					FUZZ_CHECK(n == -ENODEV, "writeback without file = %lld", (long long)n);
				else
					FUZZ_CHECK(n >= 0 && n <= NSLOTS, "writeback = %lld", (long long)n);
			}
			break;
		}
		case 9: {	/* recompress */
			uint8_t a = fz_u8(&f);
			const char *algo = recomps[a % 3];
			size_t threshold = (size_t)(a >> 2) * 64;
			int64_t n = zram_recompress(z, (enum zram_recomp_mode)(ZRAM_RECOMP_IDLE + (a >> 6) % 4),
						    algo, 0, threshold);

			if (!algo && !(c1 & 3))
				FUZZ_CHECK(n >= 0 || n == -EINVAL, "recompress = %lld", (long long)n);
			else
				FUZZ_CHECK(n >= 0 && n <= NSLOTS, "recompress(%s) = %lld",
					   algo ? algo : "all", (long long)n);
			if (algo && !strcmp(algo, "zstd"))
				c1 |= 1;
			else if (algo)
				c1 |= 2;
			break;
		}
		case 10:
			zram_compact(z);
			break;
		case 11:
			if (in)
				check_info(z, idx);
			break;
		case 12:	/* reset: every slot empty, backing file and algorithms forgotten */
			if (fz_u8(&f) % 4)
				break;
			zram_reset(z);
			memset(state, EMPTY, sizeof(state));
			miss_seen = 0;
			c1 &= (uint8_t)~3;	/* whether algorithms survive a reset is not promised */
			if (backing)
				FUZZ_CHECK(zram_set_backing_fd(z, backing_fd(), 0) == 0, "re-attach");
			break;
		default:	/* limit on / off */
			zram_set_mem_limit(z, (fz_u8(&f) & 1) ? 64 * 1024 : 0);
			limited = true;	/* a write may have met the limit since */
			break;
		}
	}

	/* Every slot reads back; then free them all and look at the floor. */
	for (i = 0; i < NSLOTS; i++)
		check_slot(z, i);
	zram_flush(z);
	after_flush(z, &miss_seen);
	FUZZ_CHECK(zram_discard(z, 0, NSLOTS) == 0, "final discard");
	zram_flush(z);
	zram_get_mm_stat(z, &mm);
	zram_get_ext_stat(z, &ext);
	zram_get_bd_stat(z, &bd);
	FUZZ_CHECK(ext.pages_stored == 0 && bd.bd_count == 0 && mm.orig_data_size == 0 &&
		   mm.same_pages == 0 && mm.huge_pages == 0,
		   "after discarding all: stored %llu bd_count %llu orig %llu same %llu huge %llu",
		   (unsigned long long)ext.pages_stored, (unsigned long long)bd.bd_count,
		   (unsigned long long)mm.orig_data_size, (unsigned long long)mm.same_pages,
		   (unsigned long long)mm.huge_pages);
	if (m != 5)
		FUZZ_CHECK(mm.mem_used_total == 0, "mem_used_total %llu after discarding all",
			   (unsigned long long)mm.mem_used_total);
	FUZZ_CHECK(zs_pool_check(zram_pool(z)) == 0, "zs_pool_check");
	zram_destroy(z);
	return 0;
}
