// SPDX-License-Identifier: MIT
/*
 * fuzz_zswap: a zswap with two swap types driven by an op sequence (store, load,
 * invalidate, writeback, flush, swapoff/swapon, bad slots), checked against a model of
 * every slot: EMPTY (load says -ENOENT), LIVE (load returns the page, or on type 0,
 * which has a swap file, -ENOENT once the page was written to the file, which then
 * holds it), ONFILE (the store failed: the caller keeps the page, and zswap must not
 * answer with an older one).
 *
 * Input: two config bytes, then ops (opcode byte + arguments), at most FUZZ_MAX_OPS.
 *   config 0: compressor (bits 0-1, mod 3: lz4, zstd, lzo), deferred invalidate (bit 2),
 *             shrinker (bit 3), reject incompressible (bit 4), pool limit (bits 5-6:
 *             16, 32, 64 KiB, 1 MiB)
 *   config 1: accept threshold percent (1..100; 0 = default)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zsmem/zswap.h>

#include "fuzz_common.h"
#include "tokpage.h"

#define NPAGES 32u
#define NTYPES 2u

enum { EMPTY, LIVE, ONFILE };

static uint8_t state[NTYPES][NPAGES];
static uint64_t tok[NTYPES][NPAGES];
static unsigned char page[PG_SIZE];
static unsigned char want[PG_SIZE];

static int swap_fd(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-swapfile", 0);
		FUZZ_CHECK(fd >= 0 && ftruncate(fd, NPAGES * PG_SIZE) == 0, "memfd");
	}
	return fd;
}

static void load_check(struct zswap *zs, unsigned int type, unsigned int off)
{
	int rc = zswap_load(zs, type, off, page);

	if (rc == 0) {
		FUZZ_CHECK(state[type][off] == LIVE, "load(%u, %u) = 0 in state %d", type, off,
			   state[type][off]);
		pg_fill(want, tok[type][off]);
		FUZZ_CHECK(!memcmp(page, want, PG_SIZE), "load(%u, %u): wrong bytes", type, off);
	} else {
		FUZZ_CHECK(rc == -ENOENT, "load(%u, %u) = %d", type, off, rc);
		if (state[type][off] == LIVE) {
			/* Only the shrinker or zswap_writeback takes a page away, to the file. */
			FUZZ_CHECK(type == 0, "load(1, %u): stored page lost", off);
			FUZZ_CHECK(pread(swap_fd(), page, PG_SIZE, (off_t)off * PG_SIZE) == PG_SIZE,
				   "pread");
			pg_fill(want, tok[type][off]);
			FUZZ_CHECK(!memcmp(page, want, PG_SIZE),
				   "load(0, %u): -ENOENT but the swap file has other bytes", off);
		}
	}
	/* Swapped in: the slot is free again. */
	zswap_invalidate(zs, type, off);
	state[type][off] = EMPTY;
}

static void check_counts(struct zswap *zs)
{
	struct zswap_stats st;
	uint64_t live = 0, live1 = 0, before, after;
	unsigned int t, i;

	zswap_flush(zs);
	FUZZ_CHECK(zswap_check(zs) == 0, "zswap_check");
	/* The shrinker and the deferred drains may free pool pages between two reads (and
	 * nothing but this thread allocates), so the snapshot lies between the two. */
	before = zs_get_total_pages(zswap_pool(zs));
	zswap_get_stats(zs, &st);
	after = zs_get_total_pages(zswap_pool(zs));
	for (t = 0; t < NTYPES; t++)
		for (i = 0; i < NPAGES; i++)
			if (state[t][i] == LIVE) {
				live++;
				live1 += t == 1;
			}
	/* Type 1 has no file: its pages are all still cached; type 0's may be on file. */
	FUZZ_CHECK(st.stored_pages <= live && st.stored_pages >= live1,
		   "stored_pages %llu, model: %llu live, %llu of them on type 1",
		   (unsigned long long)st.stored_pages, (unsigned long long)live,
		   (unsigned long long)live1);
	FUZZ_CHECK(st.zero_pages <= st.stored_pages, "zero_pages");
	FUZZ_CHECK(st.pool_total_size <= before * PG_SIZE && st.pool_total_size >= after * PG_SIZE,
		   "pool_total_size %llu, pool pages %llu then %llu",
		   (unsigned long long)st.pool_total_size, (unsigned long long)before,
		   (unsigned long long)after);
}

static const char *const comps[] = { "lz4", "zstd", "lzo" };
static const uint64_t limits[] = { 16 << 10, 32 << 10, 64 << 10, 1 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t c0 = fz_u8(&f), c1 = fz_u8(&f);
	struct zswap_config cfg = {
		.compressor = comps[(c0 & 3) % 3],
		.deferred_invalidate = c0 & 4,
		.shrinker_enabled = c0 & 8,
		.reject_incompressible = c0 & 0x10,
		.max_pool_bytes = limits[(c0 >> 5) & 3],
		.accept_threshold_percent = c1 % 101,
	};
	bool on[NTYPES] = { true, true };
	struct zswap_stats st;
	unsigned int nops, t, i;
	struct zswap *zs;
	int rc;

	memset(state, EMPTY, sizeof(state));
	zs = zswap_create(&cfg);
	if (!zs && errno == ENOMEM)
		return 0;
	FUZZ_CHECK(zs, "zswap_create: %d", errno);
	FUZZ_CHECK(zswap_swapon(zs, 0, NPAGES, swap_fd()) == 0, "swapon 0");
	FUZZ_CHECK(zswap_swapon(zs, 1, NPAGES, -1) == 0, "swapon 1");

	for (nops = 0; fz_more(&f) && nops < FUZZ_MAX_OPS; nops++) {
		uint8_t op = fz_u8(&f) % 10, a = fz_u8(&f);
		/* Types up to 3 and offsets up to NPAGES + 3: bad slots are part of the game. */
		unsigned int type = a >> 6, off = (a & 63) % (NPAGES + 4);
		bool valid = type < NTYPES && on[type] && off < NPAGES;

		switch (op) {
		case 0:
		case 1:
		case 2: {	/* store */
			uint64_t tk = fz_u16(&f);

			pg_fill(page, tk);
			rc = zswap_store(zs, type, off, page);
			if (!valid) {
				FUZZ_CHECK(rc == -EINVAL, "store to a bad slot (%u, %u) = %d", type, off, rc);
				break;
			}
			tok[type][off] = tk;
			if (rc == 0) {
				state[type][off] = LIVE;
			} else {
				FUZZ_CHECK(rc == -ENOSPC || rc == -ENOMEM ||
					   (rc == -E2BIG && cfg.reject_incompressible),
					   "store(%u, %u) = %d", type, off, rc);
				state[type][off] = ONFILE;
			}
			break;
		}
		case 3:
		case 4:
			if (valid)
				load_check(zs, type, off);
			else
				FUZZ_CHECK(zswap_load(zs, type, off, page) == -EINVAL, "load of a bad slot");
			break;
		case 5:
			zswap_invalidate(zs, type, off);
			if (valid)
				state[type][off] = EMPTY;
			break;
		case 6: {
			uint64_t n = zswap_writeback(zs, 1 + a % 8);

			FUZZ_CHECK(n <= 1 + a % 8u, "writeback returned %llu", (unsigned long long)n);
			break;
		}
		case 7:
			check_counts(zs);
			break;
		case 8:	/* swapoff / swapon a type */
			if (type >= NTYPES)
				break;
			if (on[type]) {
				zswap_swapoff(zs, type);
				on[type] = false;
				memset(state[type], EMPTY, sizeof(state[type]));
			} else {
				rc = zswap_swapon(zs, type, NPAGES, type == 0 ? swap_fd() : -1);
				FUZZ_CHECK(rc == 0, "swapon %u = %d", type, rc);
				on[type] = true;
			}
			break;
		default:	/* a second swapon of a type that is on */
			if (type < NTYPES && on[type])
				FUZZ_CHECK(zswap_swapon(zs, type, NPAGES, -1) == -EBUSY, "double swapon");
			break;
		}
	}

	for (t = 0; t < NTYPES; t++)
		for (i = 0; on[t] && i < NPAGES; i++)
			load_check(zs, t, i);
	zswap_flush(zs);
	FUZZ_CHECK(zswap_check(zs) == 0, "zswap_check at the end");
	zswap_get_stats(zs, &st);
	FUZZ_CHECK(st.stored_pages == 0 && st.pool_total_size == 0,
		   "after loading everything: stored %llu, pool %llu bytes",
		   (unsigned long long)st.stored_pages, (unsigned long long)st.pool_total_size);
	zswap_destroy(zs);
	return 0;
}
