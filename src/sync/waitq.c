/* The intrusive FIFO wait queue: see waitq.h for the rules. */
#include "sync/waitq.h"

#include <assert.h>

/* The C++ view of the public structs uses the plain types (sync.h). */
_Static_assert(sizeof(AX__ATOMIC(int)) == sizeof(int), "atomic int size");
_Static_assert(_Alignof(AX__ATOMIC(int)) == _Alignof(int), "atomic int align");
_Static_assert(sizeof(AX__ATOMIC(size_t)) == sizeof(size_t), "atomic size");
_Static_assert(_Alignof(AX__ATOMIC(size_t)) == _Alignof(size_t),
               "atomic size_t align");

void ax__wakelist_flush(ax__wakelist_t *wl) {
  unsigned i, n = wl->n;
  wl->n = 0;
  for (i = 0; i < n; i++)
    ax_waker_wake(wl->w[i]);
}

void ax__waitq_init(ax__waitq_t *q) {
  atomic_init(&q->lock, 0);
  ax__list_init(&q->head);
}

void ax__waitq_destroy(ax__waitq_t *q) {
  assert(ax__list_empty(&q->head) && "wait queue destroyed with waiters");
  (void)q;
}

void ax__waiter_init(ax__waiter_t *w) {
  w->link.next = NULL;
  w->link.prev = NULL;
  w->waker = NULL;
  atomic_init(&w->state, AX__WAITER_IDLE);
  w->result = 0;
  w->n = 0;
  w->data = NULL;
}

void ax__waitq_push_locked(ax__waitq_t *q, ax__waiter_t *w,
                           ax_waker_t *waker) {
  ax__list_push_back(&q->head, &w->link);
  w->waker = ax_waker_clone(waker);
  /* Relaxed: only the owner reads QUEUED without the lock, and it is the
   * owner that stores it. */
  atomic_store_explicit(&w->state, AX__WAITER_QUEUED, memory_order_relaxed);
}

int ax__waitq_update_waker(ax__waitq_t *q, ax__waiter_t *w,
                           ax_waker_t *waker) {
  ax_waker_t *old = NULL;
  int st;
  ax__waitq_lock(q);
  st = atomic_load_explicit(&w->state, memory_order_relaxed);
  if (st == AX__WAITER_QUEUED && !ax_waker_will_wake(w->waker, waker)) {
    old = w->waker;
    w->waker = ax_waker_clone(waker);
  }
  ax__waitq_unlock(q);
  if (old != NULL)
    ax_waker_drop(old);
  /* Under the lock a relaxed load was enough; the caller reads w->result
   * next, which the lock already ordered. */
  return st;
}

int ax__waitq_cancel_locked(ax__waitq_t *q, ax__waiter_t *w,
                            ax_waker_t **dropped) {
  int st = atomic_load_explicit(&w->state, memory_order_relaxed);
  (void)q;
  *dropped = NULL;
  if (st == AX__WAITER_QUEUED) {
    ax__list_remove(&w->link);
    *dropped = w->waker;
    w->waker = NULL;
  }
  atomic_store_explicit(&w->state, AX__WAITER_IDLE, memory_order_relaxed);
  return st;
}

void ax__waitq_wake_locked(ax__waitq_t *q, ax__waiter_t *w, int result,
                           int state, ax__wakelist_t *wl) {
  ax_waker_t *waker = w->waker;
  (void)q;
  assert(!ax__wakelist_full(wl));
  ax__list_remove(&w->link);
  w->waker = NULL;
  w->result = result;
  /* Last access to w: after this store its owner may complete and free
   * it without taking the lock. */
  atomic_store_explicit(&w->state, state, memory_order_release);
  ax__wakelist_push(wl, waker);
}

int ax__waitq_wake_one_locked(ax__waitq_t *q, int result,
                              ax__wakelist_t *wl) {
  ax__waiter_t *w = ax__waitq_first_locked(q);
  if (w == NULL)
    return 0;
  ax__waitq_wake_locked(q, w, result, AX__WAITER_WOKEN, wl);
  return 1;
}

int ax__waitq_wake_one(ax__waitq_t *q, int result) {
  ax__wakelist_t wl;
  int woke;
  ax__wakelist_init(&wl);
  ax__waitq_lock(q);
  woke = ax__waitq_wake_one_locked(q, result, &wl);
  ax__waitq_unlock(q);
  ax__wakelist_flush(&wl);
  return woke;
}

int ax__waitq_cancel_pass(ax__waitq_t *q, ax__waiter_t *w) {
  ax__wakelist_t wl;
  ax_waker_t *dropped;
  int st = atomic_load_explicit(&w->state, memory_order_acquire);
  if (st == AX__WAITER_IDLE)
    return st;  /* never queued, or already cancelled: nothing shared */
  ax__wakelist_init(&wl);
  ax__waitq_lock(q);
  st = ax__waitq_cancel_locked(q, w, &dropped);
  if (st == AX__WAITER_WOKEN)
    ax__waitq_wake_one_locked(q, w->result, &wl);
  ax__waitq_unlock(q);
  ax__wakelist_flush(&wl);
  if (dropped != NULL)
    ax_waker_drop(dropped);
  return st;
}

void ax__waitq_cancel(ax__waitq_t *q, ax__waiter_t *w) {
  ax_waker_t *dropped = NULL;
  if (ax__waiter_state(w) == AX__WAITER_IDLE)
    return;  /* never queued, or already cancelled */
  ax__waitq_lock(q);
  ax__waitq_cancel_locked(q, w, &dropped);  /* leaves w IDLE */
  ax__waitq_unlock(q);
  if (dropped != NULL)
    ax_waker_drop(dropped);
}

size_t ax__waitq_wake_n(ax__waitq_t *q, size_t n, int result) {
  ax__wakelist_t wl;
  size_t woke = 0;
  ax__wakelist_init(&wl);
  while (woke < n) {
    ax__waitq_lock(q);
    while (woke < n && !ax__wakelist_full(&wl) &&
           ax__waitq_wake_one_locked(q, result, &wl))
      woke++;
    ax__waitq_unlock(q);
    if (wl.n == 0)
      break;  /* queue empty */
    ax__wakelist_flush(&wl);
  }
  return woke;
}

size_t ax__waitq_wake_all_unlock(ax__waitq_t *q, int result) {
  /* The snapshot lives on our stack: a circular list whose sentinel is
   * `guard`.  Waiters cancelled meanwhile unlink themselves from it under
   * the queue lock (unlinking needs only the node's own links), so the
   * guard stays valid until it is empty, which we wait for below. */
  ax__link_t guard, *l;
  ax__wakelist_t wl;
  size_t woke = 0;

  if (ax__list_empty(&q->head)) {
    ax__waitq_unlock(q);
    return 0;
  }
  ax__list_init(&guard);
  ax__list_move_all(&q->head, &guard);

  ax__wakelist_init(&wl);
  for (;;) {
    while ((l = ax__list_first(&guard)) != NULL && !ax__wakelist_full(&wl)) {
      ax__waitq_wake_locked(q, ax__container_of(l, ax__waiter_t, link),
                            result, AX__WAITER_WOKEN_ALL, &wl);
      woke++;
    }
    if (ax__list_empty(&guard))
      break;
    ax__waitq_unlock(q);
    ax__wakelist_flush(&wl);
    ax__waitq_lock(q);
  }
  ax__waitq_unlock(q);
  ax__wakelist_flush(&wl);
  return woke;
}

size_t ax__waitq_wake_all(ax__waitq_t *q, int result) {
  ax__waitq_lock(q);
  return ax__waitq_wake_all_unlock(q, result);
}
