// SPDX-License-Identifier: MIT
/*
 * The one intrusive circular doubly linked list. A list head is a struct zsm_list
 * pointing at itself when empty; a node is embedded in its owner and found back with
 * zsm_container_of() (compiler.h). Not thread-safe: the owner's lock guards a list.
 */
#ifndef ZSMEM_COMMON_LIST_H
#define ZSMEM_COMMON_LIST_H

#include <stdbool.h>

#include "common/compiler.h"

struct zsm_list {
	struct zsm_list *next, *prev;
};

static inline void zsm_list_init(struct zsm_list *h)
{
	h->next = h->prev = h;
}

static inline bool zsm_list_empty(const struct zsm_list *h)
{
	return h->next == h;
}

/* Inserts n right after h (at the head when h is the list head). */
static inline void zsm_list_add(struct zsm_list *n, struct zsm_list *h)
{
	n->next = h->next;
	n->prev = h;
	h->next->prev = n;
	h->next = n;
}

/* Inserts n right before h (at the tail when h is the list head). */
static inline void zsm_list_add_tail(struct zsm_list *n, struct zsm_list *h)
{
	zsm_list_add(n, h->prev);
}

/* Unlinks n and leaves it pointing at itself (zsm_list_empty(n) is then true). */
static inline void zsm_list_del(struct zsm_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

#define zsm_list_entry(p, type, member)	zsm_container_of(p, type, member)

#endif /* ZSMEM_COMMON_LIST_H */
