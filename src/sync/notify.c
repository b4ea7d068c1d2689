/* Notify.  One atomic word holds the state and the notify_waiters
 * generation:
 *
 *   word = generation << 2 | EMPTY / WAITING / NOTIFIED
 *
 * EMPTY <-> NOTIFIED (store / consume the single permit) are lock-free
 * CASes, so notify_one with nobody waiting and a notified() that finds the
 * permit never take the lock.  WAITING is set and cleared only under the
 * queue lock and means exactly "the queue is not empty".
 */
#include <assert.h>

#include "sync/waitq.h"

enum { N_EMPTY = 0, N_WAITING = 1, N_NOTIFIED = 2 };
#define N_STATE(word) ((word) & (size_t)3)
#define N_GEN(word) ((word) >> 2)
#define N_GEN_ONE ((size_t)4)

/* F_READY / F_READY_ONE: enable() found the future already notified
 * (by a notify_waiters / by taking the stored notify_one permit); its
 * first poll completes.  A dropped F_READY_ONE passes its permit on. */
enum { F_IDLE = 0, F_WAITING, F_DONE, F_READY, F_READY_ONE };

static ax_poll_t notified_poll(ax_future_t *f, ax_cx_t *cx);
static void notified_drop(ax_future_t *f);
static const ax_future_vtable_t notified_vtable = {
  notified_poll, notified_drop, "ax_notify_wait"
};

int ax_notify_init(ax_notify_t *n) {
  if (n == NULL)
    return AX_EINVAL;
  atomic_init(&n->word, (size_t)N_EMPTY);
  ax__waitq_init(&n->q);
  return 0;
}

void ax_notify_destroy(ax_notify_t *n) {
  if (n != NULL)
    ax__waitq_destroy(&n->q);
}

/* Lock held: clears WAITING once the queue has run empty. */
static void clear_waiting_if_empty_locked(ax_notify_t *n) {
  size_t cur;
  if (!ax__waitq_empty_locked(&n->q))
    return;
  cur = atomic_load_explicit(&n->word, memory_order_relaxed);
  while (N_STATE(cur) == N_WAITING &&
         !atomic_compare_exchange_weak_explicit(
             &n->word, &cur, cur & ~(size_t)3, memory_order_relaxed,
             memory_order_relaxed)) {
  }
}

/* Lock held: wakes the oldest (or, with last, the newest) waiter, or
 * stores the permit. */
static void notify_locked(ax_notify_t *n, int last, ax__wakelist_t *wl) {
  size_t cur = atomic_load_explicit(&n->word, memory_order_relaxed);
  for (;;) {
    if (N_STATE(cur) == N_WAITING) {
      /* The waiter's result records the direction, so a waiter dropped
       * before it saw the wake-up passes it on the same way (Tokio). */
      if (last)
        ax__waitq_wake_locked(&n->q, ax__waitq_last_locked(&n->q), 1,
                              AX__WAITER_WOKEN, wl);
      else
        ax__waitq_wake_one_locked(&n->q, 0, wl);
      clear_waiting_if_empty_locked(n);
      return;
    }
    if (atomic_compare_exchange_weak_explicit(
            &n->word, &cur, (cur & ~(size_t)3) | N_NOTIFIED,
            memory_order_release, memory_order_relaxed))
      return;
  }
}

static void notify_one_or_last(ax_notify_t *n, int last) {
  ax__wakelist_t wl;
  size_t cur;
  assert(n != NULL);
  cur = atomic_load_explicit(&n->word, memory_order_relaxed);
  while (N_STATE(cur) != N_WAITING) {
    if (atomic_compare_exchange_weak_explicit(
            &n->word, &cur, (cur & ~(size_t)3) | N_NOTIFIED,
            memory_order_release, memory_order_relaxed))
      return;
  }
  ax__wakelist_init(&wl);
  ax__waitq_lock(&n->q);
  notify_locked(n, last, &wl);
  ax__waitq_unlock(&n->q);
  ax__wakelist_flush(&wl);
}

void ax_notify_one(ax_notify_t *n) { notify_one_or_last(n, 0); }

void ax_notify_last(ax_notify_t *n) { notify_one_or_last(n, 1); }

void ax_notify_waiters(ax_notify_t *n) {
  size_t cur;
  assert(n != NULL);
  cur = atomic_load_explicit(&n->word, memory_order_relaxed);
  /* Nobody queued: only the generation moves (for futures created but not
   * yet polled).  The permit, if stored, stays. */
  while (N_STATE(cur) != N_WAITING) {
    if (atomic_compare_exchange_weak_explicit(&n->word, &cur,
                                              cur + N_GEN_ONE,
                                              memory_order_release,
                                              memory_order_relaxed))
      return;
  }
  ax__waitq_lock(&n->q);
  cur = atomic_load_explicit(&n->word, memory_order_relaxed);
  for (;;) {
    size_t next = cur + N_GEN_ONE;
    if (N_STATE(next) == N_WAITING)
      next &= ~(size_t)3;  /* the whole queue is taken below */
    if (atomic_compare_exchange_weak_explicit(&n->word, &cur, next,
                                              memory_order_release,
                                              memory_order_relaxed))
      break;
  }
  ax__waitq_wake_all_unlock(&n->q, 0);
}

ax_future_t *ax_notify_wait(ax_notify_wait_t *f, ax_notify_t *n) {
  assert(f != NULL && n != NULL);
  f->base.vtable = &notified_vtable;
  ax__waiter_init(&f->w);
  f->notify = n;
  f->gen = N_GEN(atomic_load_explicit(&n->word, memory_order_acquire));
  f->phase = F_IDLE;
  return &f->base;
}

/* Consumes the permit (returns 2) or notices a notify_waiters since
 * creation (returns 1).  With `locked`, also announces a waiter when
 * neither happened (returns 0). */
static int try_take(ax_notify_wait_t *f, int locked) {
  ax_notify_t *n = f->notify;
  size_t cur = atomic_load_explicit(&n->word, memory_order_acquire);
  for (;;) {
    if (N_GEN(cur) != f->gen)
      return 1;
    if (N_STATE(cur) == N_NOTIFIED) {
      if (atomic_compare_exchange_weak_explicit(
              &n->word, &cur, cur & ~(size_t)3, memory_order_acquire,
              memory_order_acquire))
        return 2;
      continue;
    }
    if (!locked)
      return 0;
    if (N_STATE(cur) == N_WAITING ||
        atomic_compare_exchange_weak_explicit(
            &n->word, &cur, (cur & ~(size_t)3) | N_WAITING,
            memory_order_acquire, memory_order_acquire))
      return 0;
  }
}

static ax_poll_t notified_poll(ax_future_t *fut, ax_cx_t *cx) {
  ax_notify_wait_t *f = (ax_notify_wait_t *)fut;
  ax_notify_t *n = f->notify;
  switch (f->phase) {
  case F_IDLE:
    if (try_take(f, 0))
      break;
    ax__waitq_lock(&n->q);
    if (try_take(f, 1)) {
      ax__waitq_unlock(&n->q);
      break;
    }
    ax__waitq_push_locked(&n->q, &f->w, ax_cx_waker(cx));
    ax__waitq_unlock(&n->q);
    f->phase = F_WAITING;
    return AX_PENDING;
  case F_WAITING:
    if (!ax__waitq_poll_woken(&n->q, &f->w, ax_cx_waker(cx)))
      return AX_PENDING;
    break;
  default:
    break;
  }
  f->phase = F_DONE;
  return AX_READY;
}

/* enable() queues the future before anyone polls it, so there is no task
 * waker yet: the queue holds this one, which does nothing; the first poll
 * replaces it (ax__waitq_poll_woken -> update_waker). */
static ax_waker_t *noop_clone(ax_waker_t *w) { return w; }
static void noop_wake(ax_waker_t *w) { (void)w; }
static const ax_waker_vtable_t noop_waker_vtable = {noop_clone, noop_wake,
                                                    noop_wake, noop_wake};
static ax_waker_t noop_waker = {&noop_waker_vtable};

int ax_notify_wait_enable(ax_notify_wait_t *f) {
  ax_notify_t *n;
  int st;
  if (f == NULL)
    return AX_EINVAL;
  n = f->notify;
  switch (f->phase) {
  case F_IDLE:
    if ((st = try_take(f, 0)) != 0) {
      f->phase = st == 2 ? F_READY_ONE : F_READY;
      return 1;
    }
    ax__waitq_lock(&n->q);
    if ((st = try_take(f, 1)) != 0) {
      ax__waitq_unlock(&n->q);
      f->phase = st == 2 ? F_READY_ONE : F_READY;
      return 1;
    }
    ax__waitq_push_locked(&n->q, &f->w, &noop_waker);
    ax__waitq_unlock(&n->q);
    f->phase = F_WAITING;
    return 0;
  case F_WAITING:
    st = ax__waiter_state(&f->w);
    return st == AX__WAITER_WOKEN || st == AX__WAITER_WOKEN_ALL;
  default:
    return 1;
  }
}

static void notified_drop(ax_future_t *fut) {
  ax_notify_wait_t *f = (ax_notify_wait_t *)fut;
  ax_notify_t *n = f->notify;
  ax__wakelist_t wl;
  ax_waker_t *dropped;
  int st;
  if (f->phase == F_WAITING) {
    ax__wakelist_init(&wl);
    ax__waitq_lock(&n->q);
    st = ax__waitq_cancel_locked(&n->q, &f->w, &dropped);
    if (st == AX__WAITER_QUEUED)
      clear_waiting_if_empty_locked(n);
    else if (st == AX__WAITER_WOKEN)  /* a notify_one/_last never consumed */
      notify_locked(n, f->w.result == 1, &wl);
    ax__waitq_unlock(&n->q);
    ax__wakelist_flush(&wl);
    if (dropped != NULL)
      ax_waker_drop(dropped);
  } else if (f->phase == F_READY_ONE) {
    ax_notify_one(n);  /* the permit enable() took, never seen */
  }
  f->phase = F_DONE;
}
