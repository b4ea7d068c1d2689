/* broadcast: a ring of `cap` slots under one mutex; each receiver keeps
 * the position of the next value it reads.
 *
 * Positions grow forever (64 bits); value p lives in slot p % cap while p
 * is among the last cap values.  A slot counts the receivers that still
 * have to read its value (`rem`, set to the number of receivers when the
 * value is sent); the last reader takes the channel's copy itself (no
 * clone, no drop), a receiver that is dropped gives up its share of every
 * value it did not read, and a value overwritten while some receivers
 * still lag behind is dropped -- those receivers then get AX_ELAGGED.
 *
 * Why a mutex (uv_mutex_t) and not the wait queue's spin lock: the
 * critical sections copy values and call the user's clone/drop.  Waiting
 * receivers sit in a wait queue; a receiver queues itself while holding
 * the mutex, and a sender wakes the queue after releasing it, so a value
 * published in between is never missed.
 */
#include <assert.h>

#include "core/context.h"
#include "sync/chan.h"
#include "sync/trap.h"
#include "sync/waitq.h"

typedef struct bslot_s {
  uint64_t pos;   /* position of the value held */
  size_t rem;     /* receivers still to read it; 0 = no value held */
} bslot_t;

typedef struct ax__bcast_s {
  uv_mutex_t lock;          /* guards everything but the constants */
  uint64_t tail;            /* position of the next value sent */
  size_t rx_count;          /* receiver handles */
  size_t tx_count;          /* sender handles */
  _Atomic size_t refs;      /* every handle: the memory's lifetime (a
                               dropping handle may still wake the queue
                               after it left the counts above) */
  size_t weak_count;        /* weak sender handles (each holds a ref) */
  ax__waitq_t q;            /* receivers waiting for a value */
  ax__waitq_t txq;          /* sender closed() futures */
  size_t cap;               /* slots */
  size_t elem_size;         /* bytes per value */
  size_t stride;            /* bytes per slot (header + value, aligned) */
  ax_elem_clone_fn clone;
  ax_elem_drop_fn drop;
  char *slots;              /* cap slots, in the same allocation */
} ax__bcast_t;

struct ax_broadcast_rx_s {
  ax__bcast_t *c;           /* counted in c->rx_count */
  uint64_t next;            /* position of the next value to read */
};

#define BC(h) ((ax__bcast_t *)(void *)(h))
/* A value (or out) buffer may be NULL only for 0-byte values. */
#define BC_BAD_BUF(c, buf) ((buf) == NULL && (c)->elem_size != 0)
#define VAL_OFF AX__VALUE_OFFSET(sizeof(bslot_t))

static bslot_t *bc_slot(ax__bcast_t *c, uint64_t pos) {
  return (bslot_t *)(void *)(c->slots + (size_t)(pos % c->cap) * c->stride);
}
static void *bc_val(bslot_t *s) { return (char *)s + VAL_OFF; }

/* Lock held: one receiver gives up its share of the value in s. */
static void bc_unshare(ax__bcast_t *c, bslot_t *s) {
  if (--s->rem == 0 && c->drop != NULL)
    c->drop(bc_val(s));
}

static void bc_unref(ax__bcast_t *c) {
  size_t i;
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  for (i = 0; i < c->cap; i++) {
    bslot_t *s = (bslot_t *)(void *)(c->slots + i * c->stride);
    if (s->rem > 0 && c->drop != NULL)
      c->drop(bc_val(s));
  }
  ax__waitq_destroy(&c->q);
  ax__waitq_destroy(&c->txq);
  uv_mutex_destroy(&c->lock);
  ax__free(c);
}

int ax_broadcast_new(size_t elem_size, size_t capacity, ax_elem_clone_fn clone,
                     ax_elem_drop_fn drop, ax_broadcast_tx_t **tx,
                     ax_broadcast_rx_t **rx) {
  size_t hdr = AX__VALUE_OFFSET(sizeof(ax__bcast_t)), stride, i;
  ax__bcast_t *c;
  ax_broadcast_rx_t *r = NULL;
  int err;
  if (tx == NULL || capacity == 0 || elem_size > SIZE_MAX / 4)
    return AX_EINVAL;
  stride = AX__VALUE_OFFSET(VAL_OFF + elem_size);
  if (capacity > (SIZE_MAX - hdr) / stride)
    return AX_EINVAL;
  c = ax__malloc(hdr + capacity * stride);
  if (c == NULL)
    return AX_ENOMEM;
  if (rx != NULL && (r = ax__malloc(sizeof *r)) == NULL) {
    ax__free(c);
    return AX_ENOMEM;
  }
  if ((err = uv_mutex_init(&c->lock)) != 0) {
    ax__free(r);
    ax__free(c);
    return err;
  }
  c->tail = 0;
  c->rx_count = r != NULL;
  c->tx_count = 1;
  atomic_init(&c->refs, c->rx_count + 1);
  c->weak_count = 0;
  ax__waitq_init(&c->q);
  ax__waitq_init(&c->txq);
  c->cap = capacity;
  c->elem_size = elem_size;
  c->stride = stride;
  c->clone = clone;
  c->drop = drop;
  c->slots = (char *)c + hdr;
  for (i = 0; i < capacity; i++) {
    bslot_t *s = (bslot_t *)(void *)(c->slots + i * stride);
    s->pos = 0;
    s->rem = 0;
  }
  if (r != NULL) {
    r->c = c;
    r->next = 0;
    *rx = r;
  }
  *tx = (ax_broadcast_tx_t *)(void *)c;
  return 0;
}

int ax_broadcast_send(ax_broadcast_tx_t *tx, const void *value) {
  ax__bcast_t *c = BC(tx);
  bslot_t *s;
  if (c == NULL || BC_BAD_BUF(c, value))
    return AX_EINVAL;
  uv_mutex_lock(&c->lock);
  if (c->rx_count == 0) {
    uv_mutex_unlock(&c->lock);
    return AX_ECLOSED;
  }
  s = bc_slot(c, c->tail);
  if (s->rem > 0 && c->drop != NULL)
    c->drop(bc_val(s));  /* overwritten: its laggards will hear of it */
  ax__chan_copy(bc_val(s), value, c->elem_size);
  s->pos = c->tail++;
  s->rem = c->rx_count;
  uv_mutex_unlock(&c->lock);
  ax__waitq_wake_all(&c->q, 0);
  return 0;
}

ax_broadcast_tx_t *ax_broadcast_sender_clone(ax_broadcast_tx_t *tx) {
  ax__bcast_t *c = BC(tx);
  assert(c != NULL);
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  uv_mutex_lock(&c->lock);
  c->tx_count++;
  uv_mutex_unlock(&c->lock);
  return tx;
}

void ax_broadcast_sender_drop(ax_broadcast_tx_t *tx) {
  ax__bcast_t *c = BC(tx);
  int closed;
  if (c == NULL)
    return;
  uv_mutex_lock(&c->lock);
  closed = --c->tx_count == 0;
  uv_mutex_unlock(&c->lock);
  if (closed)
    ax__waitq_wake_all(&c->q, 0);  /* waiting receivers: AX_ECLOSED */
  bc_unref(c);
}

static int bc_new_rx(ax__bcast_t *c, ax_broadcast_rx_t **out) {
  ax_broadcast_rx_t *r = ax__malloc(sizeof *r);
  if (r == NULL)
    return AX_ENOMEM;
  r->c = c;
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  uv_mutex_lock(&c->lock);
  c->rx_count++;
  r->next = c->tail;
  uv_mutex_unlock(&c->lock);
  *out = r;
  return 0;
}

int ax_broadcast_subscribe(ax_broadcast_tx_t *tx, ax_broadcast_rx_t **rx) {
  if (tx == NULL || rx == NULL)
    return AX_EINVAL;
  return bc_new_rx(BC(tx), rx);
}

int ax_broadcast_resubscribe(ax_broadcast_rx_t *rx, ax_broadcast_rx_t **out) {
  if (rx == NULL || out == NULL)
    return AX_EINVAL;
  return bc_new_rx(rx->c, out);
}

size_t ax_broadcast_receiver_count(ax_broadcast_tx_t *tx) {
  ax__bcast_t *c = BC(tx);
  size_t n;
  assert(c != NULL);
  uv_mutex_lock(&c->lock);
  n = c->rx_count;
  uv_mutex_unlock(&c->lock);
  return n;
}

void ax_broadcast_receiver_drop(ax_broadcast_rx_t *rx) {
  ax__bcast_t *c;
  uint64_t p, oldest;
  int last;
  if (rx == NULL)
    return;
  c = rx->c;
  uv_mutex_lock(&c->lock);
  oldest = c->tail > c->cap ? c->tail - c->cap : 0;
  for (p = rx->next > oldest ? rx->next : oldest; p < c->tail; p++)
    bc_unshare(c, bc_slot(c, p));
  last = --c->rx_count == 0;
  uv_mutex_unlock(&c->lock);
  ax__free(rx);
  if (last)
    ax__waitq_wake_all(&c->txq, 0);  /* sender closed() futures */
  bc_unref(c);
}

/* Lock held: the outcome of one read attempt (AX_EEMPTY: nothing yet). */
static int bc_read(ax_broadcast_rx_t *rx, void *out, uint64_t *lagged) {
  ax__bcast_t *c = rx->c;
  uint64_t oldest;
  bslot_t *s;
  if (rx->next == c->tail)
    return c->tx_count == 0 ? AX_ECLOSED : AX_EEMPTY;
  oldest = c->tail > c->cap ? c->tail - c->cap : 0;
  if (rx->next < oldest) {
    if (lagged != NULL)
      *lagged = oldest - rx->next;
    rx->next = oldest;
    return AX_ELAGGED;
  }
  s = bc_slot(c, rx->next++);
  if (s->rem == 1) {
    ax__chan_copy(out, bc_val(s), c->elem_size);  /* last reader: move */
    s->rem = 0;
  } else {
    ax__trap_t trap;
    s->rem--;  /* others still hold shares: nothing is dropped here */
    if (c->clone == NULL)
      ax__chan_copy(out, bc_val(s), c->elem_size);
    else if (ax__trap_clone(&trap, c->clone, out, bc_val(s),
                            c->elem_size) != 0) {
      /* The clone panicked: this receiver has moved past the value and
       * given up its share, as in Tokio (panic_in_clone), and the channel
       * stays usable. */
      uv_mutex_unlock(&c->lock);
      ax__trap_rethrow(&trap);
    }
  }
  return 0;
}

int ax_broadcast_try_recv(ax_broadcast_rx_t *rx, void *out, uint64_t *lagged) {
  int r;
  if (rx == NULL || BC_BAD_BUF(rx->c, out))
    return AX_EINVAL;
  uv_mutex_lock(&rx->c->lock);
  r = bc_read(rx, out, lagged);
  uv_mutex_unlock(&rx->c->lock);
  return r;
}

static ax_poll_t recv_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_broadcast_recv_t *r = (ax_broadcast_recv_t *)f;
  ax__bcast_t *c;
  int res;
  if (r->rx == NULL)
    return AX_READY;
  c = r->rx->c;
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  /* Still queued from an earlier poll: refresh the waker first, without
   * the mutex.  Replacing it drops the old one, and a waker's drop may do
   * anything -- send on this very channel, which takes the mutex (Tokio's
   * send_in_waker_drop).  A send from here on wakes the new waker; one
   * before took us off the queue, and the look below finds its value. */
  if (ax__waiter_state(&r->w) == AX__WAITER_QUEUED)
    (void)ax__waitq_update_waker(&c->q, &r->w, ax_cx_waker(cx));
  uv_mutex_lock(&c->lock);
  res = bc_read(r->rx, r->out, &r->lagged);
  if (res == AX_EEMPTY) {
    ax__coop_refund(cx);
    /* Queue (or stay queued) while holding the mutex: a sender publishes
     * under it and wakes the queue after, so it cannot slip between.  A
     * waiter a wake took off the queue goes back on; pushing drops no
     * waker, so nothing runs under the mutex. */
    if (ax__waiter_state(&r->w) != AX__WAITER_QUEUED) {
      ax__waitq_lock(&c->q);
      ax__waitq_push_locked(&c->q, &r->w, ax_cx_waker(cx));
      ax__waitq_unlock(&c->q);
    }
    uv_mutex_unlock(&c->lock);
    return AX_PENDING;
  }
  uv_mutex_unlock(&c->lock);
  ax__waitq_cancel(&c->q, &r->w);  /* only wake_all wakes it */
  r->result = res;
  r->rx = NULL;  /* done: a further poll must not take another value */
  return AX_READY;
}

static void recv_drop(ax_future_t *f) {
  ax_broadcast_recv_t *r = (ax_broadcast_recv_t *)f;
  if (r->rx != NULL)
    ax__waitq_cancel(&r->rx->c->q, &r->w);
  r->rx = NULL;
}

static const ax_future_vtable_t recv_vtable = {recv_poll, recv_drop,
                                               "ax_broadcast_recv"};

ax_future_t *ax_broadcast_recv(ax_broadcast_recv_t *f, ax_broadcast_rx_t *rx,
                               void *out) {
  assert(f != NULL);
  f->base.vtable = &recv_vtable;
  ax__waiter_init(&f->w);
  f->rx = rx;
  f->out = out;
  f->result = AX_ECLOSED;
  f->lagged = 0;
  if (rx == NULL || BC_BAD_BUF(rx->c, out)) {
    f->rx = NULL;  /* ready at the first poll */
    f->result = AX_EINVAL;
  }
  return &f->base;
}

/* ---- Lengths -------------------------------------------------------------- */

size_t ax_broadcast_len(ax_broadcast_tx_t *tx) {
  ax__bcast_t *c = BC(tx);
  uint64_t p, oldest;
  size_t n = 0;
  uv_mutex_lock(&c->lock);
  /* Receivers read in order, so the values some receiver still has to
   * read are the newest ones: count back from the tail. */
  oldest = c->tail > c->cap ? c->tail - c->cap : 0;
  for (p = c->tail; p > oldest && bc_slot(c, p - 1)->rem > 0; p--)
    n++;
  uv_mutex_unlock(&c->lock);
  return n;
}

int ax_broadcast_is_empty(ax_broadcast_tx_t *tx) {
  return ax_broadcast_len(tx) == 0;
}

uint64_t ax_broadcast_receiver_len(ax_broadcast_rx_t *rx) {
  ax__bcast_t *c = rx->c;
  uint64_t n;
  uv_mutex_lock(&c->lock);
  n = c->tail - rx->next;  /* lagged values included, as Tokio's */
  uv_mutex_unlock(&c->lock);
  return n;
}

int ax_broadcast_receiver_is_empty(ax_broadcast_rx_t *rx) {
  return ax_broadcast_receiver_len(rx) == 0;
}

/* ---- Weak senders --------------------------------------------------------- */

ax_broadcast_weak_tx_t *ax_broadcast_sender_downgrade(ax_broadcast_tx_t *tx) {
  ax__bcast_t *c = BC(tx);
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  uv_mutex_lock(&c->lock);
  c->weak_count++;
  uv_mutex_unlock(&c->lock);
  return (ax_broadcast_weak_tx_t *)(void *)c;
}

ax_broadcast_weak_tx_t *ax_broadcast_weak_clone(ax_broadcast_weak_tx_t *w) {
  return ax_broadcast_sender_downgrade((ax_broadcast_tx_t *)(void *)w);
}

ax_broadcast_tx_t *ax_broadcast_weak_upgrade(ax_broadcast_weak_tx_t *w) {
  ax__bcast_t *c = BC(w);
  int ok;
  if (c == NULL)
    return NULL;
  uv_mutex_lock(&c->lock);
  ok = c->tx_count > 0;  /* 0 is final: receivers were told AX_ECLOSED */
  if (ok)
    c->tx_count++;
  uv_mutex_unlock(&c->lock);
  if (!ok)
    return NULL;
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  return (ax_broadcast_tx_t *)(void *)c;
}

void ax_broadcast_weak_drop(ax_broadcast_weak_tx_t *w) {
  ax__bcast_t *c = BC(w);
  if (c == NULL)
    return;
  uv_mutex_lock(&c->lock);
  c->weak_count--;
  uv_mutex_unlock(&c->lock);
  bc_unref(c);
}

size_t ax_broadcast_sender_strong_count(ax_broadcast_tx_t *tx) {
  ax__bcast_t *c = BC(tx);
  size_t n;
  uv_mutex_lock(&c->lock);
  n = c->tx_count;
  uv_mutex_unlock(&c->lock);
  return n;
}

size_t ax_broadcast_sender_weak_count(ax_broadcast_tx_t *tx) {
  ax__bcast_t *c = BC(tx);
  size_t n;
  uv_mutex_lock(&c->lock);
  n = c->weak_count;
  uv_mutex_unlock(&c->lock);
  return n;
}

size_t ax_broadcast_weak_strong_count(ax_broadcast_weak_tx_t *w) {
  assert(w != NULL);
  return ax_broadcast_sender_strong_count((ax_broadcast_tx_t *)(void *)w);
}

size_t ax_broadcast_weak_weak_count(ax_broadcast_weak_tx_t *w) {
  assert(w != NULL);
  return ax_broadcast_sender_weak_count((ax_broadcast_tx_t *)(void *)w);
}

size_t ax_broadcast_receiver_sender_strong_count(ax_broadcast_rx_t *rx) {
  assert(rx != NULL);
  return ax_broadcast_sender_strong_count((ax_broadcast_tx_t *)(void *)rx->c);
}

size_t ax_broadcast_receiver_sender_weak_count(ax_broadcast_rx_t *rx) {
  assert(rx != NULL);
  return ax_broadcast_sender_weak_count((ax_broadcast_tx_t *)(void *)rx->c);
}

/* ---- Sender closed(): every receiver gone --------------------------------- */

static ax_poll_t bclosed_poll(ax_future_t *fut, ax_cx_t *cx) {
  ax_broadcast_closed_t *f = (ax_broadcast_closed_t *)fut;
  ax__bcast_t *c;
  if (f->tx == NULL)
    return AX_READY;
  c = BC(f->tx);
  if (ax__waiter_state(&f->w) == AX__WAITER_QUEUED &&
      ax__waitq_update_waker(&c->txq, &f->w, ax_cx_waker(cx)) ==
          AX__WAITER_QUEUED)
    return AX_PENDING;
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  /* Queue while holding the mutex: the last receiver's drop lowers the
   * count under it and wakes the queue after, so it cannot slip between. */
  uv_mutex_lock(&c->lock);
  if (c->rx_count > 0) {
    ax__waitq_lock(&c->txq);
    ax__waitq_push_locked(&c->txq, &f->w, ax_cx_waker(cx));
    ax__waitq_unlock(&c->txq);
    uv_mutex_unlock(&c->lock);
    ax__coop_refund(cx);  /* waiting: no unit */
    return AX_PENDING;
  }
  uv_mutex_unlock(&c->lock);
  ax__waitq_cancel(&c->txq, &f->w);  /* only wake_all wakes it */
  f->tx = NULL;
  return AX_READY;
}

static void bclosed_drop(ax_future_t *fut) {
  ax_broadcast_closed_t *f = (ax_broadcast_closed_t *)fut;
  if (f->tx != NULL)
    ax__waitq_cancel(&BC(f->tx)->txq, &f->w);
  f->tx = NULL;
}

static const ax_future_vtable_t bclosed_vtable = {bclosed_poll, bclosed_drop,
                                                  "ax_broadcast_closed"};

ax_future_t *ax_broadcast_closed(ax_broadcast_closed_t *f,
                                 ax_broadcast_tx_t *tx) {
  f->base.vtable = &bclosed_vtable;
  ax__waiter_init(&f->w);
  f->tx = tx;
  return &f->base;
}
