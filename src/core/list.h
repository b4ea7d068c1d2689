/* Internal: axle's one intrusive list (libuv's queue.h in spirit).
 *
 * A list is a sentinel ax__link_t (include/axle/private.h) whose next is
 * the first element and prev the last; an element embeds a link and is
 * found from it with ax__container_of.  Putting a thing on a list
 * allocates nothing.  Every list in axle is one of these: a wheel slot, a
 * wait queue, a shard of owned tasks, the blocking jobs, a mailbox.
 *
 * No locking here: each user says which lock guards its list.  A link that
 * is on no list has NULL pointers (ax__list_remove leaves it so), which is
 * what ax__list_linked tests.
 */
#ifndef AX_CORE_LIST_H
#define AX_CORE_LIST_H

#include <stddef.h>

#include "axle/common.h"

#define ax__container_of(ptr, type, member)                                 \
  ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* An empty list: the sentinel links to itself.  h must not move after. */
static inline void ax__list_init(ax__link_t *h) { h->next = h->prev = h; }

static inline int ax__list_empty(const ax__link_t *h) { return h->next == h; }

/* The first element's link, or NULL when empty. */
static inline ax__link_t *ax__list_first(const ax__link_t *h) {
  return h->next == h ? NULL : h->next;
}

/* Appends n (on no list) at the end of h. */
static inline void ax__list_push_back(ax__link_t *h, ax__link_t *n) {
  n->prev = h->prev;
  n->next = h;
  h->prev->next = n;
  h->prev = n;
}

/* Inserts n (on no list) at the front of h. */
static inline void ax__list_push_front(ax__link_t *h, ax__link_t *n) {
  n->next = h->next;
  n->prev = h;
  h->next->prev = n;
  h->next = n;
}

/* Unlinks n from its list (needs only n's own links); n ends on none. */
static inline void ax__list_remove(ax__link_t *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = NULL;
}

/* 1 while n is on a list (its links are set). */
static inline int ax__list_linked(const ax__link_t *n) {
  return n->next != NULL;
}

/* Moves every element of `from` to the end of `to`; `from` ends empty. */
static inline void ax__list_move_all(ax__link_t *from, ax__link_t *to) {
  if (from->next == from) return;
  from->next->prev = to->prev;
  to->prev->next = from->next;
  from->prev->next = to;
  to->prev = from->prev;
  ax__list_init(from);
}

#endif
