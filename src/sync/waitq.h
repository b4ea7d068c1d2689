/* Internal: the wait queue every waiting sync/channel future sits in.
 *
 * An intrusive FIFO of ax__waiter_t nodes (types in include/axle/sync.h).
 * The node lives inside the waiting future, so waiting allocates nothing.
 * One small lock per queue guards the list, every queued node's fields, and
 * whatever state the owner (semaphore, channel) chooses to keep under it.
 *
 * Why a spin lock and not uv_mutex_t: critical sections here are a handful
 * of pointer writes and never call out (wakers are only invoked after the
 * lock is released, see ax__wakelist_t); a spin lock is then as cheap as an
 * uncontended mutex (one atomic exchange to take, one store to release),
 * needs no init/destroy call that can fail or leak (no uv_mutex_destroy on
 * every path), takes 4 bytes, and under contention it spins briefly and
 * then yields the CPU, so a preempted holder on a small machine does not
 * make others burn their time slice.
 *
 * Waiter life cycle (state field, read by the owner without the lock):
 *
 *   IDLE ---push_locked---> QUEUED ---wake (by anyone)---> WOKEN / WOKEN_ALL
 *     ^                        |
 *     +-------cancel-----------+
 *
 *   - Only the waiter's owner (the future) pushes and cancels; anyone may
 *     wake.  Waking unlinks the node, takes its waker, writes w->result,
 *     and stores the woken state LAST, with release order: once the owner
 *     observes WOKEN* (ax__waiter_state, acquire) nobody touches the node
 *     again and the owner may complete without taking the lock.
 *   - WOKEN means "handed a single wake-up" (wake_one / wake_n, or a
 *     semaphore's permits): if the owner is dropped before consuming it, it
 *     must pass it on (ax__waitq_cancel_locked reports this;
 *     ax__waitq_cancel_pass does the generic pass-on: wake the next waiter
 *     with the same result).
 *   - WOKEN_ALL means "woken by a broadcast" (wake_all, close): nothing to
 *     pass on.
 *   - A future must never return AX_READY or be freed while its node is
 *     QUEUED: cancel it first.
 *
 * Wakers are never called with the lock held (a waker may take scheduler
 * locks or even poll inline in a custom executor).  Functions named
 * *_locked are called with the lock held and collect the wakers they take
 * into an ax__wakelist_t that the caller flushes after unlocking.
 *
 * Thread safety: every function may be called from any thread.  A waiter
 * may be pushed on thread A, polled on B and cancelled on C.
 */
#ifndef AX_SYNC_WAITQ_H
#define AX_SYNC_WAITQ_H

#include <stdatomic.h>

#include "axle/leaf.h"
#include "axle/sync.h"
#include "core/list.h"
#include "core/spin.h"

enum {
  AX__WAITER_IDLE = 0,       /* not in a queue, never woken */
  AX__WAITER_QUEUED = 1,     /* linked; owns a waker clone */
  AX__WAITER_WOKEN = 2,      /* handed one wake-up: pass it on if unused */
  AX__WAITER_WOKEN_ALL = 3   /* woken by a broadcast */
};

/* ---- Wake lists: wakers taken under the lock, woken after it ----------- */
#define AX__WAKELIST_CAP 32
typedef struct ax__wakelist_s {
  unsigned n;                              /* wakers held */
  ax_waker_t *w[AX__WAKELIST_CAP];         /* owned references */
} ax__wakelist_t;

static inline void ax__wakelist_init(ax__wakelist_t *wl) { wl->n = 0; }
static inline int ax__wakelist_full(const ax__wakelist_t *wl) {
  return wl->n == AX__WAKELIST_CAP;
}
/* Takes ownership of w (NULL is ignored).  Caller ensures !full. */
static inline void ax__wakelist_push(ax__wakelist_t *wl, ax_waker_t *w) {
  if (w != NULL)
    wl->w[wl->n++] = w;
}
/* Wakes (and releases) every waker held; the list is empty afterwards.
 * Call without any wait-queue lock held. */
void ax__wakelist_flush(ax__wakelist_t *wl);

/* ---- Queue -------------------------------------------------------------- */

/* Prepares an empty queue.  q must not move afterwards (the sentinel links
 * to itself). */
void ax__waitq_init(ax__waitq_t *q);
/* The queue must be empty (nobody waits): checked with assert(). */
void ax__waitq_destroy(ax__waitq_t *q);

static inline void ax__waitq_lock(ax__waitq_t *q) { ax__spin_lock(&q->lock); }
static inline void ax__waitq_unlock(ax__waitq_t *q) {
  ax__spin_unlock(&q->lock);
}

/* With the lock held: 1 when nobody is queued.  (Waiters already taken by
 * a wake_all in progress do not count.) */
static inline int ax__waitq_empty_locked(const ax__waitq_t *q) {
  return ax__list_empty(&q->head);
}
/* With the lock held: the oldest queued waiter, or NULL. */
static inline ax__waiter_t *ax__waitq_first_locked(ax__waitq_t *q) {
  ax__link_t *l = ax__list_first(&q->head);
  return l == NULL ? NULL : ax__container_of(l, ax__waiter_t, link);
}

/* With the lock held: the newest queued waiter, or NULL (Notify's
 * notify_last). */
static inline ax__waiter_t *ax__waitq_last_locked(ax__waitq_t *q) {
  return q->head.prev == &q->head ? NULL : (ax__waiter_t *)q->head.prev;
}

/* ---- Waiter side (the owner of w) -------------------------------------- */

/* Prepares a node (IDLE).  Call when preparing the future. */
void ax__waiter_init(ax__waiter_t *w);

/* The node's state with acquire order: when it returns AX__WAITER_WOKEN*,
 * w->result and everything the waker did before waking are visible and
 * the node is no longer linked. */
static inline int ax__waiter_state(ax__waiter_t *w) {
  return atomic_load_explicit(&w->state, memory_order_acquire);
}

/* With the lock held: appends w (IDLE, or WOKEN* being re-queued by its
 * owner) at the tail, with a clone of waker.  w->n / w->data are the
 * caller's to set before or after. */
void ax__waitq_push_locked(ax__waitq_t *q, ax__waiter_t *w, ax_waker_t *waker);

/* Re-poll of a waiting future: takes the lock; if w is still QUEUED and
 * waker does not wake the same task as the stored one, replaces the stored
 * clone.  Returns w's state as seen under the lock (QUEUED: stay pending;
 * WOKEN*: complete). */
int ax__waitq_update_waker(ax__waitq_t *q, ax__waiter_t *w, ax_waker_t *waker);

/* Re-poll of a future whose node was pushed: while w is still QUEUED,
 * refreshes its waker (ax__waitq_update_waker) and returns 0 (stay
 * pending); once it has been woken, takes the node back (IDLE again, so it
 * may be re-queued; w->result is readable) and returns 1. */
static inline int ax__waitq_poll_woken(ax__waitq_t *q, ax__waiter_t *w,
                                       ax_waker_t *waker) {
  int st = ax__waiter_state(w);
  if (st == AX__WAITER_QUEUED)
    st = ax__waitq_update_waker(q, w, waker);
  if (st == AX__WAITER_QUEUED)
    return 0;
  /* Woken: nobody else touches the node any more. */
  atomic_store_explicit(&w->state, AX__WAITER_IDLE, memory_order_relaxed);
  return 1;
}

/* With the lock held: if w is QUEUED, unlinks it and moves its waker
 * clone into *dropped (the caller drops it after unlocking, with
 * ax_waker_drop; *dropped is NULL otherwise).  Always leaves w IDLE, so a
 * second cancel is a no-op.  Returns the state w had:
 * IDLE / QUEUED (it was waiting, now removed), or WOKEN / WOKEN_ALL (it
 * had been woken: for WOKEN the caller owns a wake-up to pass on). */
int ax__waitq_cancel_locked(ax__waitq_t *q, ax__waiter_t *w,
                            ax_waker_t **dropped);

/* Generic drop of a waiting future: takes the lock, cancels w, and if w
 * had been WOKEN (a single wake-up it never used) wakes the next queued
 * waiter with the same result instead.  Leaves w IDLE.  Returns the state
 * w had (see cancel_locked).  Cheap when w is IDLE. */
int ax__waitq_cancel_pass(ax__waitq_t *q, ax__waiter_t *w);

/* Drop (or completion) of a waiting future on a queue that is only ever
 * woken by wake_all (WOKEN_ALL: there is no single wake-up to pass on):
 * takes the lock, cancels w and drops its waker clone after unlocking.
 * Leaves w IDLE.  Cheap when w is IDLE. */
void ax__waitq_cancel(ax__waitq_t *q, ax__waiter_t *w);

/* ---- Waking side ------------------------------------------------------- */

/* With the lock held: unlinks queued w, stores result, takes its waker
 * into wl and marks it `state` (WOKEN or WOKEN_ALL).  wl must not be full.
 * After this call the caller must not touch w. */
void ax__waitq_wake_locked(ax__waitq_t *q, ax__waiter_t *w, int result,
                           int state, ax__wakelist_t *wl);

/* Wakes the oldest waiter (WOKEN, with result).  Returns 1 if one was
 * woken, 0 if the queue was empty.  _locked: wl must not be full. */
int ax__waitq_wake_one_locked(ax__waitq_t *q, int result, ax__wakelist_t *wl);
int ax__waitq_wake_one(ax__waitq_t *q, int result);

/* Wakes up to n of the oldest waiters (WOKEN, each with result).  Returns
 * how many were woken.  Takes and releases the lock (more than once for
 * large n). */
size_t ax__waitq_wake_n(ax__waitq_t *q, size_t n, int result);

/* Wakes every waiter queued at the time of the call (WOKEN_ALL, each with
 * result) -- waiters that arrive while it runs are not woken.  Any number
 * of waiters, bounded stack: the queue is moved aside in one step under the
 * lock, then woken in batches of AX__WAKELIST_CAP.  Returns the count.
 * _unlock: called with the lock held (so the caller can change its own
 * state atomically with the snapshot); returns with it released. */
size_t ax__waitq_wake_all_unlock(ax__waitq_t *q, int result);
size_t ax__waitq_wake_all(ax__waitq_t *q, int result);

#endif /* AX_SYNC_WAITQ_H */
