// SPDX-License-Identifier: MIT
/*
 * Regression (issue 12, defect 2): fork() left the child without the library's drain,
 * timer, zspage-free and shrinker threads, and zs_deferred_flush(), zs_destroy_pool()
 * with deferred zspage free, zram_flush() and zswap_destroy() with the shrinker hung
 * in the child; a push in flight in another thread at fork time hung the child's next
 * push. Each case forks and runs the operation in the child under a watchdog; the
 * parent then checks that it lost nothing.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <zsmem/zram.h>
#include <zsmem/zswap.h>

#include "regress_ops.h"

static const struct zs_deferred_ops ops = { .push = t_push_ul, .drain = t_drain_ul };

/* Runs fn in a child; the child exits 0 on success, the watchdog makes a hang exit 1. */
static void in_child(const char *what, void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	CHECKF(pid >= 0, "fork");
	if (pid == 0) {
		t_watchdog(20);
		fn(arg);
		_exit(T_PASS);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child %s %d", what,
	       WIFEXITED(status) ? "exited" : "killed by signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* ---- zs_deferred_flush and pushes in the child ------------------------------------ */

static void child_flush(void *arg)
{
	struct zs_pool *pool = arg;

	zs_deferred_flush(pool);
	t_check_balanced("child, values pushed before fork");
	/* The child keeps using the pool: accepted or refused, nothing hangs or is lost. */
	for (unsigned long v = 100000; v < 103000; v++)
		t_push(pool, v);
	zs_deferred_flush(pool);
	t_check_balanced("child, values pushed in the child");
	zs_destroy_pool(pool);
}

static void case_deferred_flush(enum zs_deferred_mode mode)
{
	struct zs_deferred_config cfg = { .mode = mode };
	struct zs_pool *pool = zs_create_pool("fork");

	memset(&t_cnt, 0, sizeof(t_cnt));
	CHECK(pool);
	CHECK(zs_pool_enable_deferred_free_ex(pool, &ops, NULL, &cfg) == 0);
	for (unsigned long v = 1; v <= 2000; v++)	/* full pages queued, one half-full */
		t_push(pool, v);
	in_child("zs_deferred_flush", child_flush, pool);
	zs_deferred_flush(pool);
	t_check_balanced("parent");
	zs_destroy_pool(pool);
}

/* ---- zs_destroy_pool with ZS_POOL_DEFER_ZSPAGE_FREE ------------------------------- */

static void child_destroy_pool(void *arg)
{
	struct zs_pool *pool = arg;
	unsigned long h[256];

	/* Empty zspages in the child too: released without the pool's thread. */
	for (int i = 0; i < 256; i++)
		CHECK((h[i] = zs_malloc(pool, 900)) != 0);
	for (int i = 0; i < 256; i++)
		zs_free(pool, h[i]);
	CHECK(zs_pool_check(pool) == 0);
	zs_destroy_pool(pool);
}

static void case_destroy_pool(void)
{
	struct zs_pool_config pc = { .flags = ZS_POOL_DEFER_ZSPAGE_FREE };
	struct zs_pool *pool = zs_create_pool_ex("fork-zspage", &pc);
	static unsigned long h[4096];
	struct zs_pool_stats st;

	CHECK(pool);
	for (int i = 0; i < 4096; i++)
		CHECK((h[i] = zs_malloc(pool, 700)) != 0);
	for (int i = 0; i < 4096; i++)
		zs_free(pool, h[i]);	/* emptied zspages go to the pool's thread */
	in_child("zs_destroy_pool(DEFER_ZSPAGE_FREE)", child_destroy_pool, pool);
	CHECK(zs_pool_check(pool) == 0);
	zs_pool_stats(pool, &st);
	CHECK(st.objs_used == 0);
	zs_destroy_pool(pool);
}

/* ---- zram_flush ------------------------------------------------------------------- */

#define ZR_PAGES 2048

static void zram_check_empty(struct zram *z, const char *who)
{
	struct zram_mm_stat mm;
	struct zs_pool_stats ps;

	zram_get_mm_stat(z, &mm);
	zs_pool_stats(zram_pool(z), &ps);
	CHECKF(mm.orig_data_size == 0 && ps.objs_used == 0, "%s: %llu bytes, %lu objects left",
	       who, (unsigned long long)mm.orig_data_size, ps.objs_used);
}

static void child_zram(void *arg)
{
	struct zram *z = arg;
	static unsigned char page[4096];

	zram_flush(z);
	zram_check_empty(z, "child");
	/* And the device keeps working in the child. */
	memset(page, 0x5a, 2048);
	CHECK(zram_write_page(z, 3, page) == 0);
	zram_slot_free_notify(z, 3);
	zram_flush(z);
	zram_check_empty(z, "child, after a write and notify");
	zram_destroy(z);
}

static void case_zram(void)
{
	struct zram_config cfg = { .disksize = ZR_PAGES * 4096ull, .deferred_free = true };
	static unsigned char page[4096];
	unsigned long long s = 3;
	struct zram *z = zram_create(&cfg);

	CHECK(z);
	for (uint32_t i = 0; i < ZR_PAGES; i++) {
		for (int k = 0; k < 4096; k += 8)
			page[k] = (unsigned char)t_rand(&s);
		CHECK(zram_write_page(z, i, page) == 0);
	}
	for (uint32_t i = 0; i < ZR_PAGES; i++)
		zram_slot_free_notify(z, i);
	in_child("zram_flush", child_zram, z);
	zram_flush(z);
	zram_check_empty(z, "parent");
	zram_destroy(z);
}

/* ---- zswap_destroy with the shrinker ---------------------------------------------- */

static void child_zswap(void *arg)
{
	struct zswap *zs = arg;
	static unsigned char page[4096];

	CHECK(zswap_load(zs, 0, 7, page) == 0);
	zswap_invalidate(zs, 0, 7);
	zswap_flush(zs);
	CHECK(zswap_check(zs) == 0);
	zswap_destroy(zs);
}

static void case_zswap(void)
{
	struct zswap_config cfg = { .shrinker_enabled = true, .deferred_invalidate = true,
				    .max_pool_bytes = 64ull << 20 };
	static unsigned char page[4096];
	struct zswap *zs = zswap_create(&cfg);

	CHECK(zs);
	CHECK(zswap_swapon(zs, 0, 512, -1) == 0);
	for (uint64_t off = 0; off < 512; off++) {
		memset(page, (int)off, 1024);
		CHECK(zswap_store(zs, 0, off, page) == 0);
	}
	for (uint64_t off = 100; off < 300; off++)
		zswap_invalidate(zs, 0, off);
	in_child("zswap_destroy", child_zswap, zs);
	zswap_flush(zs);
	CHECK(zswap_check(zs) == 0);
	CHECK(zswap_load(zs, 0, 7, page) == 0);
	zswap_destroy(zs);
}

/* ---- a push in flight in another thread at fork time ------------------------------ */

static struct zs_pool *inflight_pool;
static int inflight_stop;

static void *pusher(void *arg)
{
	unsigned long v = 1u << 20;

	(void)arg;
	while (!__atomic_load_n(&inflight_stop, __ATOMIC_RELAXED))
		t_push(inflight_pool, v++);
	return NULL;
}

static void child_push(void *arg)
{
	(void)arg;
	uint64_t a, d;

	t_push(inflight_pool, 7);
	t_push(inflight_pool, 8);
	zs_deferred_flush(inflight_pool);
	/*
	 * The pusher thread counts a value after zs_free_deferred() returned true: the
	 * fork may fall between the two, and the child then drains one value more than
	 * its copy of the counter says.
	 */
	a = __atomic_load_n(&t_cnt.accepted, __ATOMIC_RELAXED);
	d = __atomic_load_n(&t_cnt.drained, __ATOMIC_RELAXED);
	CHECKF(d == a || d == a + 1, "child after a fork during pushes: accepted %llu, "
	       "drained %llu", (unsigned long long)a, (unsigned long long)d);
}

static void case_push_in_flight(void)
{
	struct zs_deferred_config cfg = { 0 };
	pthread_t t;

	memset(&t_cnt, 0, sizeof(t_cnt));
	/* One value per page: the pusher is inside the framework's page swap (its lock
	 * held) most of the time, so a fork lands there often. */
	t_one_per_page = 1;
	inflight_pool = zs_create_pool("fork-inflight");
	CHECK(inflight_pool);
	CHECK(zs_pool_enable_deferred_free_ex(inflight_pool, &ops, NULL, &cfg) == 0);
	inflight_stop = 0;
	CHECK(pthread_create(&t, NULL, pusher, NULL) == 0);
	for (int i = 0; i < 40; i++) {
		usleep(2000);
		in_child("push in flight at fork", child_push, NULL);
	}
	__atomic_store_n(&inflight_stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	zs_deferred_flush(inflight_pool);
	t_check_balanced("parent after forks during pushes");
	zs_destroy_pool(inflight_pool);
	t_one_per_page = 0;
}

int main(void)
{
	t_watchdog(120);
	case_deferred_flush(ZS_DEFER_PERCPU);
	case_deferred_flush(ZS_DEFER_V2_ARRAY);
	case_destroy_pool();
	case_zram();
	case_zswap();
	case_push_in_flight();
	printf("regress_fork_child_hang: ok\n");
	return T_PASS;
}
