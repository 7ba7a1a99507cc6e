/* SPDX-License-Identifier: MIT */
/*
 * Regression: fork() deadlocked in the parent when a zram device (its pool prefaulting,
 * the default) freed through the deferred path. The prefault fork handler was registered
 * last, so its prepare ran first and took every pool's page-source lock; then the
 * deferred framework's prepare waited for its drain workers to finish their current
 * batch, and a worker freeing zspages waited for that page-source lock. Now the
 * prefault handler is registered first (prepare runs last, once the workers are parked).
 *
 * One thread keeps the drain workers busy (write, notify-free, over and over) while the
 * main thread forks; each child exits at once. A watchdog turns a hang into a failure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zram_test_util.h"

#define NPAGES	4096
#define FORKS	150

static struct zram *z;
static atomic_bool stop;

static void *churn(void *arg)
{
	static unsigned char page[4096];
	uint32_t i = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		zpg_fill(page, 1, i, 10, 5);
		CHECK(zram_write_page(z, i % NPAGES, page) == 0);
		zram_slot_free_notify(z, (i * 7) % NPAGES);
		i++;
	}
	return NULL;
}

static void watchdog(int sig)
{
	static const char msg[] = "watchdog: fork deadlocked\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(T_FAIL);
	_exit(T_FAIL);
}

int main(void)
{
	pthread_t t;

	signal(SIGALRM, watchdog);
	alarm(100);
	z = zt_create("lz4", 0, NPAGES, ZRAM_FREE_PERCPU_GROUPED);
	CHECK(pthread_create(&t, NULL, churn, NULL) == 0);
	for (int i = 0; i < FORKS; i++) {
		int status;
		pid_t pid = fork();

		CHECK(pid >= 0);
		if (pid == 0)
			_exit(0);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	atomic_store(&stop, true);
	CHECK(pthread_join(t, NULL) == 0);
	zram_flush(z);
	zram_destroy(z);
	printf("%d forks while the drain workers freed: no deadlock\n", FORKS);
	return T_PASS;
}
