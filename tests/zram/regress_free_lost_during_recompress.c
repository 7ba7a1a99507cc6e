// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12, defect 1, recompression side): recompression drops the slot
 * lock while it runs the secondary compressor; a zram_slot_free_notify() in that
 * window was lost in the per-CPU deferred modes, because installing the recompressed
 * object cleared FREE_PENDING with the other content flags. The secondary compressor
 * (zstd) is interposed to notify the slot inside the window. After zram_flush() the
 * slot must be free and nothing left in the pool, in every free mode.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <zstd.h>

#include "zram_test_util.h"

static struct zram *armed_zram;
static int armed_once;

/* The window: the slot is picked (PP_SLOT) and unlocked while zstd compresses. */
size_t ZSTD_compressCCtx(ZSTD_CCtx *cctx, void *dst, size_t cap, const void *src,
			 size_t len, int level)
{
	static size_t (*real)(ZSTD_CCtx *, void *, size_t, const void *, size_t, int);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "ZSTD_compressCCtx");
	CHECK(real);
	if (armed_zram && armed_once) {
		armed_once = 0;
		zram_slot_free_notify(armed_zram, 0);
	}
	return real(cctx, dst, cap, src, len, level);
}

static void text_page(unsigned char *p)
{
	static const char *w[] = { "memory ", "page ", "swap ", "zram ", "object ", "class " };
	unsigned long long s = 5;
	unsigned int i = 0;

	while (i < 4096) {
		const char *x = w[t_rand(&s) % 6];

		while (*x && i < 4096)
			p[i++] = (unsigned char)*x++;
	}
}

static void run(enum zram_free_mode mode)
{
	static unsigned char page[4096];
	struct zram *z = zt_create("lz4", 0, 64, mode);
	struct zram_slot_info si;
	struct zram_mm_stat mm;
	int64_t n;

	text_page(page);
	/* Control: this page does recompress into a smaller class with zstd. */
	CHECK(zram_write_page(z, 1, page) == 0);
	n = zram_recompress(z, ZRAM_RECOMP_ALL, "zstd", 9, 0);
	CHECKF(n == 1, "%s: control recompression gave %lld", zram_free_mode_name(mode),
	       (long long)n);

	CHECK(zram_write_page(z, 0, page) == 0);
	armed_zram = z;
	armed_once = 1;
	n = zram_recompress(z, ZRAM_RECOMP_ALL, "zstd", 9, 0);
	armed_zram = NULL;
	CHECKF(armed_once == 0, "%s: compressor not reached", zram_free_mode_name(mode));
	CHECKF(n >= 0, "%s: recompress %lld", zram_free_mode_name(mode), (long long)n);
	zram_discard(z, 1, 1);
	zram_flush(z);

	CHECK(zram_get_slot_info(z, 0, &si) == 0);
	zram_get_mm_stat(z, &mm);
	CHECKF(!si.allocated && !si.free_pending,
	       "%s: notified slot still allocated=%d pending=%d after flush",
	       zram_free_mode_name(mode), si.allocated, si.free_pending);
	CHECKF(mm.orig_data_size == 0 && mm.compr_data_size == 0,
	       "%s: orig %llu compr %llu", zram_free_mode_name(mode),
	       (unsigned long long)mm.orig_data_size, (unsigned long long)mm.compr_data_size);
	{
		struct zs_pool_stats ps;

		zs_pool_stats(zram_pool(z), &ps);
		CHECKF(ps.objs_used == 0, "%s: %lu objects left in the pool",
		       zram_free_mode_name(mode), ps.objs_used);
	}
	zt_check_stats(z);
	zram_destroy(z);
}

int main(void)
{
	run(ZRAM_FREE_SYNC);
	run(ZRAM_FREE_PERCPU_GROUPED);
	run(ZRAM_FREE_PERCPU_PLAIN);
	run(ZRAM_FREE_V2_ARRAY);
	run(ZRAM_FREE_PER_CLASS);
	printf("regress_free_lost_during_recompress: ok\n");
	return T_PASS;
}
