/* watch: one value under a reader-writer lock, a version number, and a
 * wait queue of changed() futures.
 *
 * A sender replaces the value and bumps the version under the write lock,
 * then wakes the whole queue.  changed() compares the version with the one
 * its receiver saw last; it queues itself under the queue lock after
 * looking once more, so a bump that happens before it queues is seen and
 * one that happens after wakes it.  The queue lock also guards the handle
 * counts; `refs` (every handle) decides when the memory goes.
 */
#include <assert.h>

#include "core/context.h"
#include "sync/chan.h"
#include "sync/trap.h"
#include "sync/waitq.h"

typedef struct ax__watch_s {
  uv_rwlock_t lock;          /* guards the value */
  _Atomic uint64_t version;  /* bumped (under the write lock) per send */
  _Atomic int closed;        /* every sender gone */
  ax__waitq_t q;             /* changed() futures; its lock guards counts */
  ax__waitq_t txq;           /* sender closed() futures (lock after q's) */
  size_t tx_count;           /* sender handles */
  size_t rx_count;           /* receiver handles */
  _Atomic size_t refs;       /* every handle */
  size_t elem_size;
  ax_elem_clone_fn clone;
  ax_elem_drop_fn drop;
  max_align_t value[];       /* the current value */
} ax__watch_t;

struct ax_watch_rx_s {
  ax__watch_t *c;            /* counted in c->rx_count */
  uint64_t seen;             /* version seen last */
};

#define WT(h) ((ax__watch_t *)(void *)(h))
/* A value (or out) buffer may be NULL only for 0-byte values. */
#define WT_BAD_BUF(c, buf) ((buf) == NULL && (c)->elem_size != 0)

static void wt_unref(ax__watch_t *c) {
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (c->drop != NULL)
    c->drop(c->value);
  ax__waitq_destroy(&c->q);
  ax__waitq_destroy(&c->txq);
  uv_rwlock_destroy(&c->lock);
  ax__free(c);
}

static uint64_t wt_version(ax__watch_t *c) {
  return atomic_load_explicit(&c->version, memory_order_acquire);
}

int ax_watch_new(size_t elem_size, const void *initial, ax_elem_clone_fn clone,
                 ax_elem_drop_fn drop, ax_watch_tx_t **tx,
                 ax_watch_rx_t **rx) {
  ax__watch_t *c;
  ax_watch_rx_t *r;
  int err;
  if (tx == NULL || rx == NULL || elem_size > SIZE_MAX / 2 ||
      (initial == NULL && elem_size != 0))
    return AX_EINVAL;
  c = ax__malloc(sizeof *c + elem_size);
  r = ax__malloc(sizeof *r);
  if (c == NULL || r == NULL) {
    ax__free(c);
    ax__free(r);
    return AX_ENOMEM;
  }
  if ((err = uv_rwlock_init(&c->lock)) != 0) {
    ax__free(c);
    ax__free(r);
    return err;
  }
  atomic_init(&c->version, 0);
  atomic_init(&c->closed, 0);
  ax__waitq_init(&c->q);
  ax__waitq_init(&c->txq);
  c->tx_count = 1;
  c->rx_count = 1;
  atomic_init(&c->refs, 2);
  c->elem_size = elem_size;
  c->clone = clone;
  c->drop = drop;
  ax__chan_copy(c->value, initial, elem_size);
  r->c = c;
  r->seen = 0;
  *tx = (ax_watch_tx_t *)(void *)c;
  *rx = r;
  return 0;
}

/* ---- Senders -------------------------------------------------------------- */

void ax_watch_send_replace(ax_watch_tx_t *tx, const void *value, void *old) {
  ax__watch_t *c = WT(tx);
  assert(c != NULL && !WT_BAD_BUF(c, value));
  uv_rwlock_wrlock(&c->lock);
  if (old != NULL)
    ax__chan_copy(old, c->value, c->elem_size);
  else if (c->drop != NULL)
    c->drop(c->value);
  ax__chan_copy(c->value, value, c->elem_size);
  atomic_fetch_add_explicit(&c->version, 1, memory_order_release);
  uv_rwlock_wrunlock(&c->lock);
  ax__waitq_wake_all(&c->q, 0);
}

int ax_watch_send(ax_watch_tx_t *tx, const void *value) {
  ax__watch_t *c = WT(tx);
  size_t n;
  if (c == NULL || WT_BAD_BUF(c, value))
    return AX_EINVAL;
  ax__waitq_lock(&c->q);
  n = c->rx_count;
  ax__waitq_unlock(&c->q);
  if (n == 0)
    return AX_ECLOSED;
  ax_watch_send_replace(tx, value, NULL);
  return 0;
}

/* The caller's modifier, run under the write lock through a trap
 * (trap.h). */
typedef struct {
  ax_watch_modify_fn fn;  /* the caller's modifier */
  void *value;            /* the channel's value */
  void *arg;              /* the modifier's argument */
  int modified;           /* out: what fn returned, as 0 or 1 */
} modify_call_t;

static void modify_call(void *arg) {
  modify_call_t *m = (modify_call_t *)arg;
  m->modified = m->fn(m->value, m->arg) != 0;
}

int ax_watch_send_if_modified(ax_watch_tx_t *tx, ax_watch_modify_fn modify,
                              void *arg) {
  ax__watch_t *c = WT(tx);
  modify_call_t m;
  ax__trap_t trap;
  int modified;
  if (c == NULL || modify == NULL)
    return AX_EINVAL;
  m.fn = modify;
  m.arg = arg;
  m.modified = 0;
  uv_rwlock_wrlock(&c->lock);
  m.value = c->value;
  if (ax__trap_call(&trap, modify_call, &m) != 0) {
    /* It panicked: as in Tokio, the value keeps whatever the modifier did
     * to it, nobody is told of a change, and the lock is free again. */
    uv_rwlock_wrunlock(&c->lock);
    ax__trap_rethrow(&trap);
  }
  modified = m.modified;
  if (modified)
    atomic_fetch_add_explicit(&c->version, 1, memory_order_release);
  uv_rwlock_wrunlock(&c->lock);
  if (modified)
    ax__waitq_wake_all(&c->q, 0);
  return modified;
}

/* Adapts a void modifier to send_if_modified: always "modified". */
typedef struct {
  void (*fn)(void *value, void *arg);  /* the caller's modifier */
  void *arg;                           /* its argument */
} modify_all_t;

static int modify_all(void *value, void *arg) {
  modify_all_t *m = (modify_all_t *)arg;
  m->fn(value, m->arg);
  return 1;
}

int ax_watch_send_modify(ax_watch_tx_t *tx,
                         void (*modify)(void *value, void *arg), void *arg) {
  modify_all_t m;
  int r;
  if (modify == NULL)
    return AX_EINVAL;
  m.fn = modify;
  m.arg = arg;
  r = ax_watch_send_if_modified(tx, modify_all, &m);
  return r < 0 ? r : 0;
}

ax_watch_tx_t *ax_watch_sender_clone(ax_watch_tx_t *tx) {
  ax__watch_t *c = WT(tx);
  assert(c != NULL);
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  ax__waitq_lock(&c->q);
  c->tx_count++;
  ax__waitq_unlock(&c->q);
  return tx;
}

void ax_watch_sender_drop(ax_watch_tx_t *tx) {
  ax__watch_t *c = WT(tx);
  if (c == NULL)
    return;
  ax__waitq_lock(&c->q);
  if (--c->tx_count == 0) {
    atomic_store_explicit(&c->closed, 1, memory_order_release);
    ax__waitq_wake_all_unlock(&c->q, 0);
  } else {
    ax__waitq_unlock(&c->q);
  }
  wt_unref(c);
}

size_t ax_watch_receiver_count(ax_watch_tx_t *tx) {
  ax__watch_t *c = WT(tx);
  size_t n;
  assert(c != NULL);
  ax__waitq_lock(&c->q);
  n = c->rx_count;
  ax__waitq_unlock(&c->q);
  return n;
}

/* ---- Receivers ------------------------------------------------------------ */

static int wt_new_rx(ax__watch_t *c, ax_watch_rx_t **out) {
  ax_watch_rx_t *r = ax__malloc(sizeof *r);
  if (r == NULL)
    return AX_ENOMEM;
  r->c = c;
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  ax__waitq_lock(&c->q);
  c->rx_count++;
  ax__waitq_unlock(&c->q);
  r->seen = wt_version(c);
  *out = r;
  return 0;
}

int ax_watch_subscribe(ax_watch_tx_t *tx, ax_watch_rx_t **rx) {
  if (tx == NULL || rx == NULL)
    return AX_EINVAL;
  return wt_new_rx(WT(tx), rx);
}

int ax_watch_receiver_clone(ax_watch_rx_t *rx, ax_watch_rx_t **out) {
  int r;
  if (rx == NULL || out == NULL)
    return AX_EINVAL;
  r = wt_new_rx(rx->c, out);
  if (r == 0)
    (*out)->seen = rx->seen;  /* a clone shares what its origin saw */
  return r;
}

void ax_watch_receiver_drop(ax_watch_rx_t *rx) {
  ax__watch_t *c;
  int last;
  if (rx == NULL)
    return;
  c = rx->c;
  ax__waitq_lock(&c->q);
  last = --c->rx_count == 0;
  ax__waitq_unlock(&c->q);
  ax__free(rx);
  if (last)
    ax__waitq_wake_all(&c->txq, 0);  /* sender closed() futures */
  wt_unref(c);
}

/* Read lock held: copies the value to out with the channel's clone.  A
 * clone that panics gives the lock back first (trap.h). */
static void wt_clone_locked(ax__watch_t *c, void *out) {
  ax__trap_t trap;
  if (c->clone == NULL)
    ax__chan_copy(out, c->value, c->elem_size);
  else if (ax__trap_clone(&trap, c->clone, out, c->value, c->elem_size) != 0) {
    uv_rwlock_rdunlock(&c->lock);
    ax__trap_rethrow(&trap);
  }
}

void ax_watch_borrow(ax_watch_rx_t *rx, void *out) {
  ax__watch_t *c;
  assert(rx != NULL && !WT_BAD_BUF(rx->c, out));
  c = rx->c;
  uv_rwlock_rdlock(&c->lock);
  wt_clone_locked(c, out);
  uv_rwlock_rdunlock(&c->lock);
}

void ax_watch_borrow_and_update(ax_watch_rx_t *rx, void *out) {
  ax__watch_t *c;
  assert(rx != NULL && !WT_BAD_BUF(rx->c, out));
  c = rx->c;
  uv_rwlock_rdlock(&c->lock);
  wt_clone_locked(c, out);
  rx->seen = wt_version(c);  /* stable: bumps need the write lock */
  uv_rwlock_rdunlock(&c->lock);
}

const void *ax_watch_borrow_lock(ax_watch_rx_t *rx) {
  assert(rx != NULL);
  uv_rwlock_rdlock(&rx->c->lock);
  return rx->c->value;
}

void ax_watch_borrow_unlock(ax_watch_rx_t *rx) {
  if (rx != NULL)
    uv_rwlock_rdunlock(&rx->c->lock);
}

/* `closed` is read BEFORE the version: the last sender's final send
 * happens before it sets closed, so a receiver that sees closed also sees
 * that value's version (the other order could report closed and miss it). */
static int wt_closed(ax__watch_t *c) {
  return atomic_load_explicit(&c->closed, memory_order_acquire);
}

int ax_watch_has_changed(ax_watch_rx_t *rx, int *changed) {
  if (rx == NULL || changed == NULL)
    return AX_EINVAL;
  *changed = 0;
  /* Tokio's has_changed: closed wins over an unseen value. */
  if (wt_closed(rx->c))
    return AX_ECLOSED;
  *changed = wt_version(rx->c) != rx->seen;
  return 0;
}

void ax_watch_mark_changed(ax_watch_rx_t *rx) {
  /* Versions only grow, so one below the current one is never current
   * again: changed() and has_changed() see a change until the next
   * borrow_and_update / changed(). */
  rx->seen = wt_version(rx->c) - 1;
}

void ax_watch_mark_unchanged(ax_watch_rx_t *rx) {
  rx->seen = wt_version(rx->c);
}

/* The outcome for rx now: 0 (changed, now marked seen), AX_ECLOSED, or 1
 * (nothing new). */
static int wt_check(ax_watch_rx_t *rx) {
  int closed = wt_closed(rx->c);
  uint64_t v = wt_version(rx->c);
  if (v != rx->seen) {
    rx->seen = v;
    return 0;
  }
  return closed ? AX_ECLOSED : 1;
}

static ax_poll_t changed_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_watch_changed_t *ch = (ax_watch_changed_t *)f;
  ax__watch_t *c;
  int r;
  if (ch->rx == NULL)
    return AX_READY;
  c = ch->rx->c;
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  r = wt_check(ch->rx);
  if (r == 1) ax__coop_refund(cx);  /* waits: no unit (a later bump is a
                                       wake-up, not a ready loop) */
  /* Still queued from an earlier poll: any bump from now on wakes us. */
  if (r == 1 && ax__waiter_state(&ch->w) == AX__WAITER_QUEUED &&
      ax__waitq_update_waker(&c->q, &ch->w, ax_cx_waker(cx)) ==
          AX__WAITER_QUEUED)
    return AX_PENDING;
  if (r == 1) {
    ax__waitq_lock(&c->q);
    r = wt_check(ch->rx);  /* a bump before this point is seen here */
    if (r == 1) {
      ax__waitq_push_locked(&c->q, &ch->w, ax_cx_waker(cx));
      ax__waitq_unlock(&c->q);
      return AX_PENDING;
    }
    ax__waitq_unlock(&c->q);
  }
  ax__waitq_cancel(&c->q, &ch->w);  /* only wake_all wakes it */
  ch->result = r;
  ch->rx = NULL;  /* done */
  return AX_READY;
}

static void changed_drop(ax_future_t *f) {
  ax_watch_changed_t *ch = (ax_watch_changed_t *)f;
  if (ch->rx != NULL)
    ax__waitq_cancel(&ch->rx->c->q, &ch->w);
  ch->rx = NULL;
}

static const ax_future_vtable_t changed_vtable = {changed_poll, changed_drop,
                                                  "ax_watch_changed"};

ax_future_t *ax_watch_changed(ax_watch_changed_t *f, ax_watch_rx_t *rx) {
  assert(f != NULL);
  f->base.vtable = &changed_vtable;
  ax__waiter_init(&f->w);
  f->rx = rx;
  f->result = rx != NULL ? AX_ECLOSED : AX_EINVAL;  /* NULL: ready at once */
  return &f->base;
}

/* ---- wait_for: changed() until a predicate holds -------------------------- */

enum { WF_CHECK = 0, WF_WAIT, WF_DONE };

/* The caller's predicate, run under the read lock through a trap
 * (trap.h). */
typedef struct {
  ax_watch_pred_fn fn;    /* the caller's predicate */
  const void *value;      /* the channel's value */
  void *arg;              /* the predicate's argument */
  int ok;                 /* out: what fn returned, as 0 or 1 */
} pred_call_t;

static void pred_call(void *arg) {
  pred_call_t *p = (pred_call_t *)arg;
  p->ok = p->fn(p->value, p->arg) != 0;
}

/* Looks at the current value (marking it seen): 1 when pred holds (its
 * copy is in out, if wanted). */
static int wf_check(ax_watch_wait_for_t *f) {
  ax__watch_t *c = f->rx->c;
  pred_call_t p;
  ax__trap_t trap;
  int ok;
  p.fn = f->pred;
  p.arg = f->arg;
  p.ok = 0;
  uv_rwlock_rdlock(&c->lock);
  f->rx->seen = wt_version(c);  /* stable: bumps need the write lock */
  p.value = c->value;
  if (ax__trap_call(&trap, pred_call, &p) != 0) {
    uv_rwlock_rdunlock(&c->lock);  /* a panicking predicate frees the lock */
    ax__trap_rethrow(&trap);
  }
  ok = p.ok;
  if (ok && f->out != NULL)
    wt_clone_locked(c, f->out);
  uv_rwlock_rdunlock(&c->lock);
  return ok;
}

static ax_poll_t wait_for_poll(ax_future_t *fut, ax_cx_t *cx) {
  ax_watch_wait_for_t *f = (ax_watch_wait_for_t *)fut;
  for (;;) {
    switch (f->phase) {
    case WF_CHECK:
      if (!ax__coop_proceed(cx)) return AX_PENDING;
      if (wf_check(f)) {
        f->result = 0;
        f->phase = WF_DONE;
        return AX_READY;
      }
      ax__coop_refund(cx);  /* the changed() poll takes its own unit */
      ax_watch_changed(&f->ch, f->rx);
      f->phase = WF_WAIT;
      break;
    case WF_WAIT:
      if (ax_poll(&f->ch.base, cx) == AX_PENDING)
        return AX_PENDING;
      ax_drop(&f->ch.base);
      if (f->ch.result != 0) {
        /* Closed, and no value newer than the one checked last (a last
         * value sent before the close was marked changed, so changed()
         * returned 0 for it and it was checked). */
        f->result = f->ch.result;
        f->phase = WF_DONE;
        return AX_READY;
      }
      f->phase = WF_CHECK;
      break;
    default:
      return AX_READY;
    }
  }
}

static void wait_for_drop(ax_future_t *fut) {
  ax_watch_wait_for_t *f = (ax_watch_wait_for_t *)fut;
  if (f->phase == WF_WAIT)
    ax_drop(&f->ch.base);
  f->phase = WF_DONE;
}

static const ax_future_vtable_t wait_for_vtable = {
    wait_for_poll, wait_for_drop, "ax_watch_wait_for"};

ax_future_t *ax_watch_wait_for(ax_watch_wait_for_t *f, ax_watch_rx_t *rx,
                               ax_watch_pred_fn pred, void *arg, void *out) {
  f->base.vtable = &wait_for_vtable;
  f->rx = rx;
  f->pred = pred;
  f->arg = arg;
  f->out = out;
  f->phase = WF_CHECK;
  f->result = AX_EINVAL;
  if (rx == NULL || pred == NULL)
    f->phase = WF_DONE;
  return &f->base;
}

/* ---- Sender closed(): every receiver gone --------------------------------- */

static ax_poll_t wclosed_poll(ax_future_t *fut, ax_cx_t *cx) {
  ax_watch_closed_t *f = (ax_watch_closed_t *)fut;
  ax__watch_t *c;
  if (f->tx == NULL)
    return AX_READY;
  c = WT(f->tx);
  if (ax__waiter_state(&f->w) == AX__WAITER_QUEUED &&
      ax__waitq_update_waker(&c->txq, &f->w, ax_cx_waker(cx)) ==
          AX__WAITER_QUEUED)
    return AX_PENDING;
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  /* Not queued (first poll), or woken by the last receiver's drop, or a
   * wake that raced with a new subscribe: look at the count. */
  ax__waitq_lock(&c->q);
  if (c->rx_count > 0) {
    ax__waitq_lock(&c->txq);
    ax__waitq_push_locked(&c->txq, &f->w, ax_cx_waker(cx));
    ax__waitq_unlock(&c->txq);
    ax__waitq_unlock(&c->q);
    ax__coop_refund(cx);  /* waiting: no unit */
    return AX_PENDING;
  }
  ax__waitq_unlock(&c->q);
  ax__waitq_cancel(&c->txq, &f->w);  /* only wake_all wakes it */
  f->tx = NULL;
  return AX_READY;
}

static void wclosed_drop(ax_future_t *fut) {
  ax_watch_closed_t *f = (ax_watch_closed_t *)fut;
  if (f->tx != NULL)
    ax__waitq_cancel(&WT(f->tx)->txq, &f->w);
  f->tx = NULL;
}

static const ax_future_vtable_t wclosed_vtable = {wclosed_poll, wclosed_drop,
                                                  "ax_watch_closed"};

ax_future_t *ax_watch_closed(ax_watch_closed_t *f, ax_watch_tx_t *tx) {
  f->base.vtable = &wclosed_vtable;
  ax__waiter_init(&f->w);
  f->tx = tx;
  return &f->base;
}

int ax_watch_is_closed(ax_watch_tx_t *tx) {
  return ax_watch_receiver_count(tx) == 0;
}
