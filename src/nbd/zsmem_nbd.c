/* SPDX-License-Identifier: MIT */
/*
 * nbdkit-zsmem-plugin: a compressed RAM disk. `nbdkit zsmem size=4G` serves one zram
 * device (4 KiB slots in a zsmalloc pool) to every NBD client that connects.
 *
 * Requests of any offset and length map onto the device's 4 KiB pages: whole pages go
 * straight to zram_read_page() / zram_write_page() (into and out of nbdkit's buffer, no
 * copy), the partial pages at either end are read, modified and written back under the
 * page's slot lock by zram_write_partial(), so that two clients writing different bytes
 * of one page never undo each other.
 *
 * Multi-conn: every connection shares the one device, and a write is stored in it
 * before nbdkit replies. A reply therefore means the data is visible to every later
 * read on every connection, and there is no cache to write out: a flush on any
 * connection covers the writes of all of them, which is what can_multi_conn promises.
 * .flush only drains zram's deferred frees (so that trims reach the pool) and asks the
 * service thread to consider compaction. FUA is native for the same reason.
 *
 * Trim frees whole pages (deferred by default: zram_slot_free_notify(), whose deferred
 * drain frees them within the framework's delay bound; free=sync: zram_discard()). A
 * trimmed page reads as zeros at once. Partial pages of a trim are left alone (trim is
 * advisory). Extents report pages never written, trimmed or holding zeros as holes that
 * read as zeros; pages filled with one non-zero word take no pool memory either, but are
 * reported as data: NBD clients read a hole without the zero bit as unallocated.
 *
 * Every callback that touches the device holds zsn.dev_lock for reading: the service
 * thread replaces a device that trims have emptied (nbd_service.c).
 */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbd_internal.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

#define PAGE		ZRAM_PAGE_SIZE
#define MAX_REQUEST	(32u << 20)	/* block_size maximum */


static const unsigned char zero_page[PAGE];

/* ---------------------------------------------------------------------------------- */
/* Configuration                                                                       */

static int parse_size_param(const char *key, const char *value, int64_t *out)
{
	int64_t v = nbdkit_parse_size(value);

	if (v == -1) {
		nbdkit_error("%s=%s: expected a size such as 4096, 512M or 4G", key, value);
		return -1;
	}
	*out = v;
	return 0;
}

static int set_path(char **dst, const char *key, const char *value)
{
	free(*dst);
	*dst = nbdkit_absolute_path(value);	/* nbdkit changes to / when it daemonises */
	if (!*dst) {
		nbdkit_error("%s=%s: cannot make an absolute path", key, value);
		return -1;
	}
	return 0;
}

static int zsn_config(const char *key, const char *value)
{
	if (!strcmp(key, "size"))
		return parse_size_param(key, value, &zsn.cfg.size);
	if (!strcmp(key, "compressor")) {
		if (strcmp(value, "lz4") && strcmp(value, "lz4hc") && strcmp(value, "zstd") &&
		    strcmp(value, "lzo")) {
			nbdkit_error("compressor=%s: expected lz4, lz4hc, zstd or lzo", value);
			return -1;
		}
		/* Points to a literal: nbdkit's strings need not outlive this call. */
		zsn.cfg.compressor = !strcmp(value, "lz4") ? "lz4" : !strcmp(value, "lz4hc") ?
				     "lz4hc" : !strcmp(value, "zstd") ? "zstd" : "lzo";
		return 0;
	}
	if (!strcmp(key, "level")) {
		if (nbdkit_parse_int("level", value, &zsn.cfg.level) == -1)
			return -1;
		if (zsn.cfg.level < 0) {
			nbdkit_error("level=%s: must be >= 0 (0 = the compressor's default)",
				     value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "free")) {
		if (!strcmp(value, "deferred"))
			zsn.cfg.sync_free = false;
		else if (!strcmp(value, "sync"))
			zsn.cfg.sync_free = true;
		else {
			nbdkit_error("free=%s: expected deferred or sync", value);
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "mem_limit")) {
		int64_t v;

		if (parse_size_param(key, value, &v) == -1)
			return -1;
		zsn.cfg.mem_limit = (uint64_t)v;
		return 0;
	}
	if (!strcmp(key, "backing"))
		return set_path(&zsn.cfg.backing, key, value);
	if (!strcmp(key, "stats"))
		return set_path(&zsn.cfg.stats, key, value);
	nbdkit_error("unknown parameter '%s' (see nbdkit zsmem --help)", key);
	return -1;
}

static int zsn_config_complete(void)
{
	struct zram_config zc;
	struct zram *probe;
	int fd;

	if (zsn.cfg.size < 0) {
		nbdkit_error("size= is required, e.g. size=1G");
		return -1;
	}
	if (zsn_disk_pages() > UINT32_MAX) {
		nbdkit_error("size=%lld: at most %llu bytes", (long long)zsn.cfg.size,
			     (unsigned long long)UINT32_MAX * PAGE);
		return -1;
	}
	/*
	 * Checks the compressor and level now, so that a bad value stops nbdkit at start-up
	 * with zram's reason. A one-page device with synchronous free starts no thread:
	 * nothing of it survives into the fork.
	 */
	zsn_zram_config(&zc, PAGE, true);
	probe = zram_create(&zc);
	if (!probe) {
		nbdkit_error("compressor=%s level=%d: %s", zc.comp_algorithm, zc.comp_level,
			     zram_last_error());
		return -1;
	}
	zram_destroy(probe);

	if (zsn.cfg.backing) {
		zsn.backing_fd = open(zsn.cfg.backing, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (zsn.backing_fd < 0) {
			nbdkit_error("backing=%s: %m", zsn.cfg.backing);
			return -1;
		}
	}
	if (zsn.cfg.stats) {
		fd = open(zsn.cfg.stats, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			nbdkit_error("stats=%s: %m", zsn.cfg.stats);
			return -1;
		}
		close(fd);
	}
	return 0;
}

#define zsn_config_help \
	"size=SIZE                 (required) virtual size of the disk, e.g. 1G\n" \
	"compressor=lz4|lz4hc|zstd|lzo  page compressor (default lz4)\n" \
	"level=N                   compression level (default: the compressor's)\n" \
	"free=deferred|sync        how trims free pages (default deferred)\n" \
	"mem_limit=SIZE            most memory for compressed pages; writes past it\n" \
	"                          fail with ENOSPC (default: no limit)\n" \
	"backing=FILE              writeback file for pages when mem_limit is reached\n" \
	"stats=FILE                write mm_stat, io_stat, bd_stat lines (the kernel's\n" \
	"                          zram format) to FILE on SIGUSR1 and at exit"

/*
 * glibc gives each thread that contends for malloc an arena of its own, up to 8 per
 * CPU: nbdcopy's 4 connections run 64 nbdkit worker threads. malloc_trim() returns the
 * free memory inside every arena, but the free top of a thread arena (up to the trim
 * threshold, which grows to 2 x 256 KiB once nbdkit frees a request buffer, plus 128
 * KiB of padding) stays resident: 3-4 MiB over 16 arenas after the disk is emptied.
 * The server mallocs a handful of times a second (nbdkit reuses a per-thread request
 * buffer; zram's paths use the stack), so one arena costs no contention, and
 * malloc_trim() then returns its free top as well.
 */
static void zsn_load(void)
{
#ifdef __GLIBC__
	mallopt(M_ARENA_MAX, 1);
#endif
}

/* Threads must start after nbdkit has forked into the background. */
static int zsn_after_fork(void)
{
	zsn.zram = zsn_make_device();
	if (!zsn.zram)
		return -1;
	nbdkit_debug("zsmem: %llu pages, %s, free=%s, mem_limit=%llu, backing=%s",
		     (unsigned long long)zsn_disk_pages(),
		     zsn.cfg.compressor ? zsn.cfg.compressor : "lz4",
		     zram_free_mode_name(zram_get_free_mode(zsn.zram)),
		     (unsigned long long)zsn.cfg.mem_limit,
		     zsn.cfg.backing ? zsn.cfg.backing : "none");
	return zsn_service_start();
}

/* After the last connection: stop the service thread, write the final stats. */
static void zsn_cleanup(void)
{
	zsn_service_stop();
	if (zsn.zram && zsn.cfg.stats)
		zsn_write_stats();
}

static void zsn_unload(void)
{
	zram_destroy(zsn.zram);
	zsn.zram = NULL;
	if (zsn.backing_fd >= 0)
		close(zsn.backing_fd);
	free(zsn.cfg.backing);
	free(zsn.cfg.stats);
}

/* ---------------------------------------------------------------------------------- */
/* Connections: every handle serves the one device.                                    */

static void *zsn_open(int readonly)
{
	(void)readonly;
	return &zsn;
}

static void zsn_close(void *h)
{
	(void)h;
	zsn_service_connection_closed();
}

static int64_t zsn_get_size(void *h)
{
	(void)h;
	return zsn.cfg.size;
}

static int zsn_yes(void *h)
{
	(void)h;
	return 1;
}

static int zsn_no(void *h)
{
	(void)h;
	return 0;
}

static int zsn_can_fua(void *h)
{
	(void)h;
	return NBDKIT_FUA_NATIVE;	/* a stored write is as durable as this disk gets */
}

static int zsn_block_size(void *h, uint32_t *minimum, uint32_t *preferred,
			  uint32_t *maximum)
{
	(void)h;
	*minimum = 1;
	*preferred = PAGE;
	*maximum = MAX_REQUEST;
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* I/O                                                                                 */

static int fail(int err, const char *what, uint64_t offset, int ret)
{
	nbdkit_error("%s at offset %llu: %s", what, (unsigned long long)offset, strerror(-ret));
	nbdkit_set_error(err);
	return -1;
}

static int do_pread(void *h, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	unsigned char page[PAGE];
	unsigned char *dst = buf;

	(void)h;
	(void)flags;
	while (count) {
		uint32_t index = (uint32_t)(offset / PAGE), in = (uint32_t)(offset % PAGE);
		uint32_t n = PAGE - in < count ? PAGE - in : count;
		int ret;

		if (n == PAGE) {
			ret = zram_read_page(zsn.zram, index, dst);
		} else {
			ret = zram_read_page(zsn.zram, index, page);
			memcpy(dst, page + in, n);
		}
		if (ret)
			return fail(EIO, "read", offset, ret);
		dst += n;
		offset += n;
		count -= n;
	}
	return 0;
}

/*
 * One page or part of it (src NULL: zeros). On -ENOMEM (mem_limit) the device is asked
 * to make room once, then ENOSPC: the slot keeps its old content either way.
 */
static int store(uint32_t index, uint32_t in, const void *src, uint32_t n)
{
	for (int attempt = 0;; attempt++) {
		int ret;

		if (n == PAGE)
			ret = zram_write_page(zsn.zram, index, src ? src : zero_page);
		else
			ret = zram_write_partial(zsn.zram, index, in, src, n);
		if (ret != -ENOMEM || attempt > 0 || !zsn_reclaim())
			return ret;
	}
}

static int do_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset,
		     uint32_t flags)
{
	const unsigned char *src = buf;

	(void)h;
	(void)flags;	/* FUA: nothing to write out, see the top of the file */
	while (count) {
		uint32_t index = (uint32_t)(offset / PAGE), in = (uint32_t)(offset % PAGE);
		uint32_t n = PAGE - in < count ? PAGE - in : count;
		int ret = store(index, in, src, n);

		if (ret)
			return fail(ret == -ENOMEM ? ENOSPC : EIO, "write", offset, ret);
		src += n;
		offset += n;
		count -= n;
	}
	return 0;
}

/* The whole pages inside [offset, offset + count): first index and number. */
static uint32_t whole_pages(uint32_t count, uint64_t offset, uint32_t *first)
{
	uint64_t lo = (offset + PAGE - 1) / PAGE, hi = (offset + count) / PAGE;

	/* The last page of a disk whose size is not a multiple of 4096 ends at size. */
	if (offset + count == (uint64_t)zsn.cfg.size)
		hi = zsn_disk_pages();
	*first = (uint32_t)lo;
	return hi > lo ? (uint32_t)(hi - lo) : 0;
}

static void discard_pages(uint32_t first, uint32_t nr)
{
	if (zsn.cfg.sync_free) {
		zram_discard(zsn.zram, first, nr);	/* range checked by nbdkit */
		return;
	}
	/* The deferred path: each notify is one atomic OR and a per-CPU push. */
	for (uint32_t i = 0; i < nr; i++)
		zram_slot_free_notify(zsn.zram, first + i);
}

static int do_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	uint32_t first, nr = whole_pages(count, offset, &first);

	(void)h;
	(void)flags;
	if (nr) {
		discard_pages(first, nr);
		zsn_service_kick();
	}
	return 0;
}

/* True when page index reads as zeros without any stored data (empty or zero-filled). */
static bool page_is_zero(uint32_t index)
{
	enum zram_extent_type t;

	return zram_get_extent(zsn.zram, index, 1, &t) == 1 &&
	       (t == ZRAM_EXTENT_EMPTY || t == ZRAM_EXTENT_ZERO);
}

/*
 * Whole pages are zeroed without touching the pool: discarded with MAY_TRIM, else
 * stored same-filled (no compression, no pool memory), so zeroing is always faster
 * than writing zeros. The partial pages at either end need a read-modify-write unless
 * they already read as zeros; that is no faster than a write, so FAST_ZERO fails with
 * ENOTSUP before anything is changed in that case.
 */
/* Zeroes [lo, hi) inside one page, unless it reads as zeros already. */
static int zero_partial(uint64_t lo, uint64_t hi)
{
	uint32_t index = (uint32_t)(lo / PAGE);
	int ret;

	if (lo >= hi || page_is_zero(index))
		return 0;
	ret = store(index, (uint32_t)(lo % PAGE), NULL, (uint32_t)(hi - lo));
	return ret ? fail(ret == -ENOMEM ? ENOSPC : EIO, "zero", lo, ret) : 0;
}

static int do_zero(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	uint32_t first, nr = whole_pages(count, offset, &first);
	uint64_t end = offset + count, size = (uint64_t)zsn.cfg.size;
	uint64_t wlo = (uint64_t)first * PAGE, whi = wlo + (uint64_t)nr * PAGE;
	/* The partial pages: head [offset, head_end), tail [tail_lo, end); either may be
	 * empty, and both lie in one page or two when there is no whole page. */
	uint64_t head_end = end < wlo ? end : wlo;
	uint64_t tail_lo;

	(void)h;
	if (whi > size)
		whi = size;
	tail_lo = offset > whi ? offset : whi;
	if ((flags & NBDKIT_FLAG_FAST_ZERO) &&
	    ((offset < head_end && !page_is_zero((uint32_t)(offset / PAGE))) ||
	     (tail_lo < end && !page_is_zero((uint32_t)(tail_lo / PAGE))))) {
		nbdkit_set_error(ENOTSUP);
		return -1;
	}
	if (zero_partial(offset, head_end) || zero_partial(tail_lo, end))
		return -1;
	if (!nr)
		return 0;
	if (flags & NBDKIT_FLAG_MAY_TRIM) {
		discard_pages(first, nr);
		zsn_service_kick();
		return 0;
	}
	for (uint32_t i = 0; i < nr; i++) {
		/* A zero page is stored same-filled: never -ENOMEM. */
		int ret = zram_write_page(zsn.zram, first + i, zero_page);

		if (ret)
			return fail(EIO, "zero", (uint64_t)(first + i) * PAGE, ret);
	}
	return 0;
}

static int do_flush(void *h, uint32_t flags)
{
	(void)h;
	(void)flags;
	zram_flush(zsn.zram);
	zsn_service_kick();
	return 0;
}

static int do_extents(void *h, uint32_t count, uint64_t offset, uint32_t flags,
		      struct nbdkit_extents *extents)
{
	uint64_t end = offset + count, size = (uint64_t)zsn.cfg.size;
	uint64_t pos = offset / PAGE * PAGE;

	(void)h;
	while (pos < end) {
		uint32_t index = (uint32_t)(pos / PAGE);
		uint64_t want = (end - pos + PAGE - 1) / PAGE;
		enum zram_extent_type t;
		int64_t n = zram_get_extent(zsn.zram, index, want > UINT32_MAX ? UINT32_MAX :
					    (uint32_t)want, &t);
		uint64_t len;
		uint32_t type = 0;

		if (n < 0)
			return fail(EIO, "extents", pos, (int)n);
		if (t == ZRAM_EXTENT_EMPTY || t == ZRAM_EXTENT_ZERO)
			type = NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO;
		len = (uint64_t)n * PAGE;
		if (pos + len > size)
			len = size - pos;
		if (nbdkit_add_extent(extents, pos, len, type) == -1)
			return -1;
		pos += len;
		if (flags & NBDKIT_FLAG_REQ_ONE)
			break;
	}
	return 0;
}

/* ---------------------------------------------------------------------------------- */
/* The callbacks: each request holds the device for reading (see struct zsn).           */

static void dev_get(void)
{
	pthread_rwlock_rdlock(&zsn.dev_lock);
}

static void dev_put(void)
{
	pthread_rwlock_unlock(&zsn.dev_lock);
}

static int zsn_pread(void *h, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	int r;

	dev_get();
	r = do_pread(h, buf, count, offset, flags);
	dev_put();
	return r;
}

static int zsn_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset,
		      uint32_t flags)
{
	int r;

	dev_get();
	r = do_pwrite(h, buf, count, offset, flags);
	dev_put();
	return r;
}

static int zsn_trim(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	int r;

	dev_get();
	r = do_trim(h, count, offset, flags);
	dev_put();
	return r;
}

static int zsn_zero(void *h, uint32_t count, uint64_t offset, uint32_t flags)
{
	int r;

	dev_get();
	r = do_zero(h, count, offset, flags);
	dev_put();
	return r;
}

static int zsn_flush(void *h, uint32_t flags)
{
	int r;

	dev_get();
	r = do_flush(h, flags);
	dev_put();
	return r;
}

static int zsn_extents(void *h, uint32_t count, uint64_t offset, uint32_t flags,
		       struct nbdkit_extents *extents)
{
	int r;

	dev_get();
	r = do_extents(h, count, offset, flags, extents);
	dev_put();
	return r;
}

static struct nbdkit_plugin plugin = {
	.name = "zsmem",
	.longname = "zsmem compressed RAM disk (zram over zsmalloc)",
	.version = "0.1.0",
	.description = "A compressed RAM disk: pages are compressed into a zsmalloc pool",
	.config = zsn_config,
	.config_complete = zsn_config_complete,
	.config_help = zsn_config_help,
	.magic_config_key = "size",
	.load = zsn_load,
	.after_fork = zsn_after_fork,
	.cleanup = zsn_cleanup,
	.unload = zsn_unload,
	.open = zsn_open,
	.close = zsn_close,
	.get_size = zsn_get_size,
	.block_size = zsn_block_size,
	.can_write = zsn_yes,
	.can_flush = zsn_yes,
	.is_rotational = zsn_no,
	.can_trim = zsn_yes,
	.can_zero = zsn_yes,
	.can_fast_zero = zsn_yes,
	.can_fua = zsn_can_fua,
	.can_multi_conn = zsn_yes,
	.can_extents = zsn_yes,
	.pread = zsn_pread,
	.pwrite = zsn_pwrite,
	.trim = zsn_trim,
	.zero = zsn_zero,
	.flush = zsn_flush,
	.extents = zsn_extents,
	.errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)
