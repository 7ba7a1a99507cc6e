/* SPDX-License-Identifier: MIT */
/*
 * zcomp: the page compressors shared by zram, zswap and the benchmarks, wrapping
 * Debian's liblz4, libzstd and liblzo2. A struct zcomp is one algorithm with its
 * parameters; it is safe to use from many threads at once: each thread gets its own
 * scratch state (zstd contexts, lzo work memory) on first use, so no lock is taken
 * on the compress or decompress path.
 */
#ifndef ZSMEM_ZCOMP_H
#define ZSMEM_ZCOMP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

struct zcomp;

/*
 * name: "lz4", "lz4hc", "zstd", "lzo", "lzo-rle" (lzo-rle is an alias of lzo here).
 * level: algorithm level (zstd 1..19, lz4hc 1..12); 0 = the algorithm's default.
 * NULL with errno EINVAL (unknown name or bad level) or ENOMEM.
 */
struct zcomp *zcomp_create(const char *name, int level);
void zcomp_destroy(struct zcomp *comp);
bool zcomp_known(const char *name);
/*
 * Frees the scratch states that threads left when they exited (kept for threads to
 * come: a zstd state holds ~50 KiB of contexts); returns how many. Safe beside
 * compressing threads, whose own states stay theirs.
 */
unsigned int zcomp_release_idle(struct zcomp *comp);
const char *zcomp_name(const struct zcomp *comp);	/* canonical name */
/* Comma-separated list of the supported names, for error messages. */
const char *zcomp_available(void);

/* Worst-case compressed size of src_len bytes: a dst this large never fails for lack of room. */
size_t zcomp_bound(const struct zcomp *comp, size_t src_len);
/* Compresses src into dst; returns the compressed length, or 0 when the result does not
 * fit in dst_cap bytes or the library fails. */
size_t zcomp_compress(struct zcomp *comp, const void *src, size_t src_len, void *dst, size_t dst_cap);
/* Decompresses exactly dst_len bytes; 0, or -EIO when the data is corrupt or the
 * decompressed length differs from dst_len. */
int zcomp_decompress(struct zcomp *comp, const void *src, size_t src_len, void *dst, size_t dst_len);

#endif
