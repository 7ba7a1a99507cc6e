// SPDX-License-Identifier: MIT
/* The launcher's page-range allocator (ranges.h). */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ranges.h"

/* 1 Mi extents: 16 MiB of address space, touched only as far as the table grows. */
#define ZRR_CAP (1u << 20)

bool zrr_init(struct zrr *a, uint64_t npages)
{
	void *p = (void *)syscall(SYS_mmap, NULL, (size_t)ZRR_CAP * sizeof(struct zrr_extent),
				  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				  -1, 0);

	if (p == MAP_FAILED)
		return false;
	a->ext = p;
	a->cap = ZRR_CAP;
	a->ext[0] = (struct zrr_extent){ 0, npages };
	a->n = npages ? 1 : 0;
	a->free_pages = npages;
	a->lost_pages = 0;
	return true;
}

static void remove_at(struct zrr *a, size_t i)
{
	memmove(&a->ext[i], &a->ext[i + 1], (a->n - i - 1) * sizeof(a->ext[0]));
	a->n--;
}

/* Cuts [start, start+npages) out of extent i, which contains it. */
static bool take(struct zrr *a, size_t i, uint64_t start, uint64_t npages)
{
	struct zrr_extent e = a->ext[i];
	uint64_t end = start + npages, eend = e.start + e.len;

	if (start > e.start && end < eend) {	/* a hole in the middle: one more extent */
		if (a->n == a->cap)
			return false;
		memmove(&a->ext[i + 2], &a->ext[i + 1], (a->n - i - 1) * sizeof(a->ext[0]));
		a->n++;
		a->ext[i] = (struct zrr_extent){ e.start, start - e.start };
		a->ext[i + 1] = (struct zrr_extent){ end, eend - end };
	} else if (start == e.start && end == eend) {
		remove_at(a, i);
	} else if (start == e.start) {
		a->ext[i] = (struct zrr_extent){ end, eend - end };
	} else {
		a->ext[i].len = start - e.start;
	}
	a->free_pages -= npages;
	return true;
}

uint64_t zrr_alloc(struct zrr *a, uint64_t npages)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->ext[i].len >= npages) {
			uint64_t s = a->ext[i].start;

			return take(a, i, s, npages) ? s : UINT64_MAX;
		}
	}
	return UINT64_MAX;
}

/* Index of the first extent ending after page p (binary search). */
static size_t first_ending_after(const struct zrr *a, uint64_t p)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a->ext[mid].start + a->ext[mid].len <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool zrr_alloc_at(struct zrr *a, uint64_t start, uint64_t npages)
{
	size_t i = first_ending_after(a, start);

	if (i == a->n || a->ext[i].start > start || a->ext[i].start + a->ext[i].len < start + npages)
		return false;
	return take(a, i, start, npages);
}

void zrr_free(struct zrr *a, uint64_t start, uint64_t npages)
{
	uint64_t s = start, e = start + npages, already = 0;
	size_t i, j;

	if (!npages)
		return;
	/* Every extent overlapping or adjacent to [s, e) merges into it. */
	i = first_ending_after(a, s ? s - 1 : 0);
	if (i < a->n && a->ext[i].start + a->ext[i].len < s)
		i++;
	for (j = i; j < a->n && a->ext[j].start <= e; j++) {
		uint64_t os = a->ext[j].start, oe = os + a->ext[j].len;
		uint64_t lo = os > start ? os : start, hi = oe < start + npages ? oe : start + npages;

		if (hi > lo)
			already += hi - lo;	/* freed before: not counted twice */
		if (os < s)
			s = os;
		if (oe > e)
			e = oe;
	}
	if (j == i) {			/* nothing to merge: insert */
		if (a->n == a->cap) {
			a->lost_pages += npages;
			return;
		}
		memmove(&a->ext[i + 1], &a->ext[i], (a->n - i) * sizeof(a->ext[0]));
		a->n++;
	} else if (j > i + 1) {		/* several merged into ext[i] */
		memmove(&a->ext[i + 1], &a->ext[j], (a->n - j) * sizeof(a->ext[0]));
		a->n -= j - i - 1;
	}
	a->ext[i] = (struct zrr_extent){ s, e - s };
	a->free_pages += npages - already;
}
