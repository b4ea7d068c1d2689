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
#include "sync/waitq.h"

typedef struct ax__watch_s {
  uv_rwlock_t lock;          /* guards the value */
  _Atomic uint64_t version;  /* bumped (under the write lock) per send */
  _Atomic int closed;        /* every sender gone */
  ax__waitq_t q;             /* changed() futures; its lock guards counts */
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
  if (rx == NULL)
    return;
  c = rx->c;
  ax__waitq_lock(&c->q);
  c->rx_count--;
  ax__waitq_unlock(&c->q);
  ax__free(rx);
  wt_unref(c);
}

void ax_watch_borrow(ax_watch_rx_t *rx, void *out) {
  ax__watch_t *c;
  assert(rx != NULL && !WT_BAD_BUF(rx->c, out));
  c = rx->c;
  uv_rwlock_rdlock(&c->lock);
  ax__chan_clone(c->clone, out, c->value, c->elem_size);
  uv_rwlock_rdunlock(&c->lock);
}

void ax_watch_borrow_and_update(ax_watch_rx_t *rx, void *out) {
  ax__watch_t *c;
  assert(rx != NULL && !WT_BAD_BUF(rx->c, out));
  c = rx->c;
  uv_rwlock_rdlock(&c->lock);
  ax__chan_clone(c->clone, out, c->value, c->elem_size);
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

int ax_watch_has_changed(ax_watch_rx_t *rx) {
  int closed;
  if (rx == NULL)
    return AX_EINVAL;
  closed = wt_closed(rx->c);
  if (wt_version(rx->c) != rx->seen)
    return 1;
  return closed ? AX_ECLOSED : 0;
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
