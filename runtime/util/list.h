/* runtime/util/list.h: the intrusive doubly linked list every parked-task queue, timer bucket
 * and connection set is made of. Header-only.
 *
 * The node lives inside the element (struct corio__lnode link;) and the element is found
 * again with CORIO__CONTAINER_OF. The list owns nothing: it never allocates or frees, and an
 * element must be unlinked before its memory goes away. A node that is on no list has
 * prev == next == NULL (corio__list_linked says false), so unlinking twice is harmless.
 *
 *     struct waiter { struct corio__lnode link; ... };
 *     corio__list q = CORIO__LIST_INIT;
 *     corio__list_push_back(&q, &w->link);
 *     for (corio__lnode *n = q.head; n; n = n->next) { struct waiter *x =
 *         CORIO__CONTAINER_OF(n, struct waiter, link); ... }
 *     corio__list_remove(&q, &w->link);
 */
#ifndef CORIO_UTIL_LIST_H
#define CORIO_UTIL_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define CORIO__CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

typedef struct corio__lnode {
	struct corio__lnode *prev, *next;
} corio__lnode;

typedef struct corio__list {
	corio__lnode *head, *tail;
} corio__list;

#define CORIO__LIST_INIT ((corio__list){ NULL, NULL })

static inline bool corio__list_empty(const corio__list *l)
{
	return l->head == NULL;
}

/* Whether n is on l (O(1): a node on no list has both links NULL, except a sole element,
 * which is l's head). */
static inline bool corio__list_linked(const corio__list *l, const corio__lnode *n)
{
	return n->prev || n->next || l->head == n;
}

static inline void corio__list_push_back(corio__list *l, corio__lnode *n)
{
	n->next = NULL;
	n->prev = l->tail;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
}

static inline void corio__list_push_front(corio__list *l, corio__lnode *n)
{
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->prev = n;
	else
		l->tail = n;
	l->head = n;
}

/* Unlinks n from l; n must be on l or on no list. */
static inline void corio__list_remove(corio__list *l, corio__lnode *n)
{
	if (!corio__list_linked(l, n))
		return;
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

/* Unlinks and returns the first node, or NULL. */
static inline corio__lnode *corio__list_pop_front(corio__list *l)
{
	corio__lnode *n = l->head;

	if (n)
		corio__list_remove(l, n);
	return n;
}

#endif
