/* SPDX-License-Identifier: MIT */
/*
 * zs_deferred_flush semantics: it returns only once every value pushed before the
 * call has been drained, half-full buffers included, even when the drain is slow and
 * other threads keep pushing meanwhile. Run for every mode that queues.
 */
#include "zsd_test.h"

#define NR_BG	2

static struct zs_deferred *d;
static volatile int stop;
static unsigned long bg_first[NR_BG], bg_next[NR_BG];

/* Background pushers keep the queues busy with values we do not check here. */
static void *bg_main(void *arg)
{
	unsigned long i = (unsigned long)arg, v = bg_first[i];

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED) && v < bg_first[i] + 400000) {
		if (!zsd_push(d, v))
			t_hit(v);
		v++;
	}
	__atomic_store_n(&bg_next[i], v, __ATOMIC_RELEASE);
	return NULL;
}

static void run(const char *name, const struct zs_deferred_config *cfg)
{
	unsigned long n = 0, first = 1, round, v, refused = 0;
	pthread_t bg[NR_BG];
	unsigned long i;

	memset(t_tab.hits, 0, t_tab.n);
	d = zsd_create(&t_ops, &t_tab, cfg, NULL);
	CHECKF(d, "zsd_create: %s", strerror(errno));
	stop = 0;
	for (i = 0; i < NR_BG; i++) {
		bg_first[i] = 1000000 + i * 400000;
		CHECK(pthread_create(&bg[i], NULL, bg_main, (void *)i) == 0);
	}
	/* Rounds of 1, 3, 700, 1500, ... values: most leave a half-full buffer. */
	for (round = 0; round < 40; round++) {
		unsigned long cnt = round % 4 == 0 ? 1 : round * 97 % 2500 + 1;

		for (v = first; v < first + cnt; v++)
			if (!zsd_push(d, v)) {
				t_hit(v);
				refused++;
			}
		zsd_flush(d);
		/* Everything up to v - 1 must be done now. */
		t_table_check(1, v - 1);
		n += cnt;
		first = v;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NR_BG; i++)
		pthread_join(bg[i], NULL);
	zsd_flush(d);
	for (i = 0; i < NR_BG; i++)
		t_table_check(bg_first[i], bg_next[i] - 1);
	zsd_destroy(d);
	printf("%s: %lu checked values over 40 flushes, %lu refused\n", name, n, refused);
}

int main(void)
{
	struct zs_deferred_config cfg = { .max_delay_us = 5000000 };	/* no idle drains */

	t_table_init(2000000);
	t_tab.drain_spin_ns = 50000;	/* slow drain: flush must really wait */
	run("percpu", &cfg);
	cfg.no_rseq = true;
	run("percpu-norseq", &cfg);
	cfg.no_rseq = false;
	cfg.mode = ZS_DEFER_V2_ARRAY;
	cfg.array_entries = 4096;
	run("v2", &cfg);
	free(t_tab.hits);
	return T_PASS;
}
