// SPDX-License-Identifier: MIT
/*
 * The region's primitives, shared by region.c, handler.c and evict.c (a leaf: it calls
 * none of them): the uffd ioctls with their EAGAIN rule, the handler's wakeup, and the
 * load and free of one compressed copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "region_internal.h"

/* ---------------------------------------------------------------------------------- */
/* uffd primitives                                                                     */

int _zsr_copy(struct zsr *r, uintptr_t dst, const void *src, bool wake, void (*drain)(struct zsr *))
{
	struct uffdio_copy c;

	for (;;) {
		memset(&c, 0, sizeof(c));
		c.dst = dst;
		c.src = (uintptr_t)src;
		c.len = ZSR_PAGE;
		/* wake: the caller published the page's state already (one ioctl less) */
		c.mode = wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE;
		if (ioctl(r->uffd, UFFDIO_COPY, &c) == 0)
			return 0;
		if (errno != EAGAIN)
			return -errno;
		if (drain) {
			drain(r);	/* read the pending event; the caller retries later */
			return -EAGAIN;
		}	/* the handler reads events, then retries */
		sched_yield();
	}
}

int _zsr_zeropage(struct zsr *r, uintptr_t dst, bool wake, void (*drain)(struct zsr *))
{
	struct uffdio_zeropage z;

	for (;;) {
		memset(&z, 0, sizeof(z));
		z.range.start = dst;
		z.range.len = ZSR_PAGE;
		z.mode = wake ? 0 : UFFDIO_ZEROPAGE_MODE_DONTWAKE;
		if (ioctl(r->uffd, UFFDIO_ZEROPAGE, &z) == 0)
			return 0;
		if (errno != EAGAIN)
			return -errno;
		if (drain) {
			drain(r);	/* read the pending event; the caller retries later */
			return -EAGAIN;
		}
		sched_yield();
	}
}

int _zsr_wp(struct zsr *r, uintptr_t start, size_t len, bool protect, void (*drain)(struct zsr *))
{
	struct uffdio_writeprotect w;
	int tries = 0;

	for (;;) {
		memset(&w, 0, sizeof(w));
		w.range.start = start;
		w.range.len = len;
		w.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0;
		if (ioctl(r->uffd, UFFDIO_WRITEPROTECT, &w) == 0)
			return 0;
		if (errno != EAGAIN || ++tries > 1000000)
			return -errno;
		if (drain) {
			drain(r);	/* read the pending event; the caller retries later */
			return -EAGAIN;
		}
		sched_yield();
	}
}

void _zsr_wake(struct zsr *r, uintptr_t start, size_t len)
{
	struct uffdio_range w = { .start = start, .len = len };

	/* ENOENT (nothing registered there any more) is fine: nobody can wait there. */
	(void)ioctl(r->uffd, UFFDIO_WAKE, &w);
}

void _zsr_kick_handler(struct zsr *r)
{
	uint64_t one = 1;

	/* An edge in every handler thread's epoll set ("The handler threads" in
	 * handler.c). Nobody reads the counter: it would take 2^64 kicks to fill it. */
	(void)!write(r->efd, &one, sizeof(one));
}

/* ---------------------------------------------------------------------------------- */
/* Pages                                                                               */

void _zsr_free_handle(struct zsr *r, unsigned long handle)
{
	if (r->deferred && zs_free_deferred(r->pool, handle))
		return;
	zs_free(r->pool, handle);
}

void _zsr_count_evicted(struct zsr *r, const struct zsr_page *pe)
{
	if (pe->flags & PF_SAME) {
		r->nr_same++;
	} else {
		r->nr_stored++;
		r->compr_bytes += pe->len;
		if (pe->flags & PF_RAW)
			r->nr_huge++;
	}
}

int _zsr_load(struct zsr *r, const struct zsr_page *pe, void *buf)
{
	unsigned char local[ZSR_PAGE];
	const void *src;
	int ret = 0;

	if (pe->flags & PF_SAME) {
		uint64_t *w = buf;
		size_t i;

		for (i = 0; i < ZSR_PAGE / 8; i++)
			w[i] = pe->handle;
		return 0;
	}
	src = zs_obj_read_begin(r->pool, pe->handle, pe->len, local);
	if (pe->flags & PF_RAW)
		memcpy(buf, src, ZSR_PAGE);
	else
		ret = zcomp_decompress(r->comp, src, pe->len, buf, ZSR_PAGE);
	zs_obj_read_end(r->pool, pe->handle, src);
	return ret;
}

