// SPDX-License-Identifier: MIT
/*
 * src/common: the list keeps order through add/add_tail/del, the named atomics do
 * what their names say (values and the CAS failure path), and relaxed counters from
 * several threads add up.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "common/atomics.h"
#include "common/compiler.h"
#include "common/list.h"
#include "common/page.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); \
	return 1; } } while (0)

struct item {
	int v;
	struct zsm_list node;
};

static uint64_t counter;

static void *adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++)
		zsm_add_relaxed(&counter, 1);
	return NULL;
}

int main(void)
{
	struct zsm_list head;
	struct item it[3] = { { .v = 0 }, { .v = 1 }, { .v = 2 } };
	int order[3], n = 0;

	CHECK(ZSM_PAGE_SIZE == 4096 && ZSM_PAGE_MASK == 4095);
	zsm_list_init(&head);
	CHECK(zsm_list_empty(&head));
	zsm_list_add(&it[1].node, &head);		/* 1 */
	zsm_list_add(&it[0].node, &head);		/* 0 1 */
	zsm_list_add_tail(&it[2].node, &head);		/* 0 1 2 */
	for (struct zsm_list *p = head.next; p != &head; p = p->next)
		order[n++] = zsm_list_entry(p, struct item, node)->v;
	CHECK(n == 3 && order[0] == 0 && order[1] == 1 && order[2] == 2);
	zsm_list_del(&it[1].node);
	CHECK(zsm_list_empty(&it[1].node));
	CHECK(head.next == &it[0].node && it[0].node.next == &it[2].node);
	CHECK(head.prev == &it[2].node && it[2].node.prev == &it[0].node);

	unsigned long w = 5, e = 4;
	CHECK(!zsm_cas_strong_acquire(&w, &e, 9) && e == 5 && w == 5);
	CHECK(zsm_cas_strong_release(&w, &e, 9) && w == 9);
	CHECK(zsm_fetch_or_acquire(&w, 6ul) == 9 && zsm_load_relaxed(&w) == 15);
	CHECK(zsm_fetch_and_release(&w, ~1ul) == 15 && zsm_load_acquire(&w) == 14);
	CHECK(zsm_xchg_relaxed(&w, 3ul) == 14 && w == 3);
	zsm_store_release(&w, 7ul);
	CHECK(zsm_fetch_sub_relaxed(&w, 2ul) == 7 && w == 5);
	uint64_t m = 10;
	zsm_max_relaxed_u64(&m, 4);
	CHECK(m == 10);
	zsm_max_relaxed_u64(&m, 12);
	CHECK(m == 12);

	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, adder, NULL) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(zsm_load_relaxed(&counter) == 400000);
	printf("common_floor: ok\n");
	return 0;
}
