/* SPDX-License-Identifier: MIT */
/*
 * Page compressors over Debian's liblz4, libzstd and liblzo2.
 *
 * Per-thread state. zstd wants a context per thread, lzo and lz4hc want work memory,
 * and lzo has no output bound check, so it compresses into a scratch buffer first. A
 * thread's state is created on its first call and found again through a pthread key
 * owned by the struct zcomp: no lock on the compress or decompress path. The key's
 * destructor returns a dying thread's state to the zcomp's free list (mutex, thread
 * exit only), so a process that churns threads does not grow; zcomp_destroy() deletes
 * the key first (no destructor runs after that) and then frees every state it made.
 */
#include "compress/zcomp.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lz4hc.h>
#include <lzo/lzo1x.h>
#include <zstd.h>

enum zcomp_alg {
	ALG_LZ4,
	ALG_LZ4HC,
	ALG_ZSTD,
	ALG_LZO,
};

static const struct {
	const char *name;
	enum zcomp_alg alg;
	int def_level, min_level, max_level;
} algs[] = {
	{ "lz4",	ALG_LZ4,	0, 0, 0 },
	{ "lz4hc",	ALG_LZ4HC,	9, 1, 12 },
	{ "zstd",	ALG_ZSTD,	3, 1, 19 },
	{ "lzo",	ALG_LZO,	0, 0, 0 },
	{ "lzo-rle",	ALG_LZO,	0, 0, 0 },	/* the kernel's RLE variant: plain lzo1x here */
};

struct zcomp_state {
	struct zcomp_state *next_all;	/* every state this zcomp made, for destroy */
	struct zcomp_state *next_free;	/* states of exited threads, for reuse */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	void *work;			/* lzo / lz4hc work memory */
	unsigned char *scratch;		/* lzo output before the capacity check */
	size_t scratch_len;
	bool parked;			/* on the free list (comp->lock) */
};

struct zcomp {
	enum zcomp_alg alg;
	int level;
	const char *name;
	pthread_key_t key;
	pthread_mutex_t lock;		/* guards all and free: taken only on state creation / thread exit */
	struct zcomp_state *all;
	struct zcomp_state *free;
};

/* The destructor needs its zcomp: states are allocated with a back pointer ahead of them. */
struct zcomp_state_box {
	struct zcomp *comp;
	struct zcomp_state st;
};

static void state_release(void *p)
{
	struct zcomp_state_box *box = p;
	struct zcomp *comp = box->comp;

	pthread_mutex_lock(&comp->lock);
	box->st.next_free = comp->free;
	box->st.parked = true;
	comp->free = &box->st;
	pthread_mutex_unlock(&comp->lock);
}

static void state_free(struct zcomp_state *st)
{
	ZSTD_freeCCtx(st->cctx);
	ZSTD_freeDCtx(st->dctx);
	free(st->work);
	free(st->scratch);
	free((char *)st - offsetof(struct zcomp_state_box, st));
}

static int state_init(struct zcomp *comp, struct zcomp_state *st)
{
	switch (comp->alg) {
	case ALG_ZSTD:
		st->cctx = ZSTD_createCCtx();
		st->dctx = ZSTD_createDCtx();
		return st->cctx && st->dctx ? 0 : -1;
	case ALG_LZ4HC:
		st->work = malloc((size_t)LZ4_sizeofStateHC());
		return st->work ? 0 : -1;
	case ALG_LZO:
		st->work = malloc(LZO1X_1_MEM_COMPRESS);
		return st->work ? 0 : -1;
	case ALG_LZ4:
		return 0;
	}
	return -1;
}

static struct zcomp_state *get_state(struct zcomp *comp)
{
	struct zcomp_state_box *box = pthread_getspecific(comp->key);
	struct zcomp_state *st;

	if (box)
		return &box->st;

	pthread_mutex_lock(&comp->lock);
	st = comp->free;
	if (st) {
		comp->free = st->next_free;
		st->parked = false;
	}
	pthread_mutex_unlock(&comp->lock);

	if (!st) {
		box = calloc(1, sizeof(*box));
		if (!box)
			return NULL;
		box->comp = comp;
		st = &box->st;
		if (state_init(comp, st)) {
			state_free(st);
			return NULL;
		}
		pthread_mutex_lock(&comp->lock);
		st->next_all = comp->all;
		comp->all = st;
		pthread_mutex_unlock(&comp->lock);
	}
	box = (struct zcomp_state_box *)((char *)st - offsetof(struct zcomp_state_box, st));
	if (pthread_setspecific(comp->key, box)) {
		state_release(box);
		return NULL;
	}
	return st;
}

unsigned int zcomp_release_idle(struct zcomp *comp)
{
	struct zcomp_state *list, *st, **pp;
	unsigned int n = 0;

	if (!comp)
		return 0;
	/*
	 * Parked states belong to no thread: taken off both lists under the lock, they are
	 * out of reach of get_state() and of zcomp_destroy(), and freed after it.
	 */
	pthread_mutex_lock(&comp->lock);
	list = comp->free;
	comp->free = NULL;
	for (pp = &comp->all; (st = *pp);) {
		if (st->parked)
			*pp = st->next_all;
		else
			pp = &st->next_all;
	}
	pthread_mutex_unlock(&comp->lock);
	while ((st = list)) {
		list = st->next_free;
		state_free(st);
		n++;
	}
	return n;
}

static int find_alg(const char *name)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool zcomp_known(const char *name)
{
	return name && find_alg(name) >= 0;
}

const char *zcomp_available(void)
{
	return "lz4, lz4hc, zstd, lzo, lzo-rle";
}

/* lzo_init() checks the library's ABI once per process. */
static void lzo_setup(void)
{
	if (lzo_init() != LZO_E_OK)
		abort();	/* a broken liblzo2 install: nothing sensible to do */
}

struct zcomp *zcomp_create(const char *name, int level)
{
	static pthread_once_t lzo_once = PTHREAD_ONCE_INIT;
	int i = find_alg(name ? name : "lz4");
	struct zcomp *comp;

	if (i < 0) {
		errno = EINVAL;
		return NULL;
	}
	if (level == 0) {
		level = algs[i].def_level;
	} else if (level < algs[i].min_level || level > algs[i].max_level) {
		errno = EINVAL;
		return NULL;
	}
	if (algs[i].alg == ALG_LZO)
		pthread_once(&lzo_once, lzo_setup);
	comp = calloc(1, sizeof(*comp));
	if (!comp)
		return NULL;
	comp->alg = algs[i].alg;
	comp->level = level;
	comp->name = algs[i].name;
	if (pthread_key_create(&comp->key, state_release)) {
		free(comp);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&comp->lock, NULL);
	return comp;
}

void zcomp_destroy(struct zcomp *comp)
{
	struct zcomp_state *st, *next;

	if (!comp)
		return;
	/* After the key is gone no thread-exit destructor can touch comp. */
	pthread_key_delete(comp->key);
	for (st = comp->all; st; st = next) {
		next = st->next_all;
		state_free(st);
	}
	pthread_mutex_destroy(&comp->lock);
	free(comp);
}

const char *zcomp_name(const struct zcomp *comp)
{
	return comp->name;
}

size_t zcomp_bound(const struct zcomp *comp, size_t src_len)
{
	switch (comp->alg) {
	case ALG_LZ4:
	case ALG_LZ4HC:
		return (size_t)LZ4_compressBound((int)src_len);
	case ALG_ZSTD:
		return ZSTD_compressBound(src_len);
	case ALG_LZO:
		return src_len + src_len / 16 + 64 + 3;
	}
	return 0;
}

size_t zcomp_compress(struct zcomp *comp, const void *src, size_t src_len, void *dst, size_t dst_cap)
{
	struct zcomp_state *st;
	size_t out;
	int n;

	if (comp->alg == ALG_LZ4) {
		/* lz4's default mode keeps its table on the stack: no per-thread state needed. */
		n = LZ4_compress_default(src, dst, (int)src_len, (int)dst_cap);
		return n > 0 ? (size_t)n : 0;
	}
	st = get_state(comp);
	if (!st)
		return 0;
	switch (comp->alg) {
	case ALG_LZ4HC:
		n = LZ4_compress_HC_extStateHC(st->work, src, dst, (int)src_len, (int)dst_cap, comp->level);
		return n > 0 ? (size_t)n : 0;
	case ALG_ZSTD:
		out = ZSTD_compressCCtx(st->cctx, dst, dst_cap, src, src_len, comp->level);
		return ZSTD_isError(out) ? 0 : out;
	case ALG_LZO: {
		/* lzo1x writes up to its bound without checking dst: compress into scratch. */
		size_t bound = zcomp_bound(comp, src_len);
		lzo_uint len = 0;

		if (st->scratch_len < bound) {
			unsigned char *p = realloc(st->scratch, bound);

			if (!p)
				return 0;
			st->scratch = p;
			st->scratch_len = bound;
		}
		if (lzo1x_1_compress(src, src_len, st->scratch, &len, st->work) != LZO_E_OK ||
		    len > dst_cap)
			return 0;
		memcpy(dst, st->scratch, len);
		return len;
	}
	default:
		return 0;
	}
}

int zcomp_decompress(struct zcomp *comp, const void *src, size_t src_len, void *dst, size_t dst_len)
{
	struct zcomp_state *st;
	size_t out;
	int n;

	switch (comp->alg) {
	case ALG_LZ4:
	case ALG_LZ4HC:
		n = LZ4_decompress_safe(src, dst, (int)src_len, (int)dst_len);
		return n == (int)dst_len ? 0 : -EIO;
	case ALG_ZSTD:
		st = get_state(comp);
		if (!st)
			return -ENOMEM;
		out = ZSTD_decompressDCtx(st->dctx, dst, dst_len, src, src_len);
		return !ZSTD_isError(out) && out == dst_len ? 0 : -EIO;
	case ALG_LZO: {
		lzo_uint len = dst_len;

		if (lzo1x_decompress_safe(src, src_len, dst, &len, NULL) != LZO_E_OK || len != dst_len)
			return -EIO;
		return 0;
	}
	}
	return -EIO;
}
