/* mpsc: the block list (chan_list.h) for the values, a semaphore for the
 * capacity of bounded channels (the waiting senders queue there, FIFO,
 * cancellation-safe), and one atomic waker slot for the receiver.
 *
 * Receiver wake-up without a lock: the receiver stores its waker in
 * rx_waker and then looks at the queue again; a sender publishes its value
 * and then looks at rx_waker.  All four accesses are seq_cst, so at least
 * one side sees the other: either the receiver finds the value on its
 * second look, or the sender finds the waker (and takes it with an
 * exchange, so exactly one sender wakes it).  A sender finding the slot
 * empty costs one plain load.
 *
 * Closing: the last sender handle sets tx_closed after all its sends (the
 * acq_rel count decrements order every sender's pushes before it), so a
 * receiver that sees tx_closed and then an empty queue has received
 * everything.  ax_mpsc_close sets rx_closed and closes the semaphore;
 * after it the receiver reports closed once every claimed slot is read.
 */
#include <assert.h>

#include "core/context.h"
#include "sync/chan_list.h"
#include "sync/semaphore.h"

typedef struct ax__mpsc_s {
  ax__blist_t list;                  /* the values */
  _Atomic(ax_waker_t *) rx_waker;   /* receiver's waker while it waits */
  _Atomic int rx_closed;            /* receiver closed or dropped */
  _Atomic int tx_closed;            /* every sender (and permit) gone */
  char pad_[AX__CACHELINE];
  ax_semaphore_t room;              /* bounded: free capacity */
  char pad2_[AX__CACHELINE];
  _Atomic size_t tx_count;          /* sender handles + live permits */
  _Atomic int refs;                 /* 1 for all senders, 1 for the receiver */
  ax_elem_drop_fn drop;             /* for values nobody received */
  int bounded;                      /* room is used */
} ax__mpsc_t;

#define MPSC_TX(h) ((ax__mpsc_t *)(void *)(h))
#define MPSC_RX(h) ((ax__mpsc_t *)(void *)(h))

/* A value (or out) buffer may be NULL only on a channel of 0-byte values
 * (pure signals). */
#define MPSC_BAD_BUF(c, buf) ((buf) == NULL && (c)->list.elem_size != 0)

enum { PH_INIT = 0, PH_WAIT, PH_DONE };

static void mpsc_unref(ax__mpsc_t *c) {
  ax_waker_t *w;
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  ax__blist_free(&c->list, c->drop);
  w = atomic_load_explicit(&c->rx_waker, memory_order_relaxed);
  if (w != NULL)
    ax_waker_drop(w);
  if (c->bounded)
    ax_semaphore_destroy(&c->room);
  ax__free(c);
}

static int mpsc_new(size_t elem_size, size_t capacity, int bounded,
                    ax_elem_drop_fn drop, ax_mpsc_tx_t **tx,
                    ax_mpsc_rx_t **rx) {
  ax__mpsc_t *c;
  if (tx == NULL || rx == NULL)
    return AX_EINVAL;
  if (bounded && (capacity == 0 || capacity > AX_SEMAPHORE_MAX_PERMITS))
    return AX_EINVAL;
  if (elem_size > (SIZE_MAX - AX__BLK_HDR) / AX__BLK_CAP)
    return AX_EINVAL;
  c = ax__malloc(sizeof *c);
  if (c == NULL)
    return AX_ENOMEM;
  if (ax__blist_init(&c->list, elem_size) != 0) {
    ax__free(c);
    return AX_ENOMEM;
  }
  atomic_init(&c->rx_waker, NULL);
  atomic_init(&c->rx_closed, 0);
  atomic_init(&c->tx_closed, 0);
  atomic_init(&c->tx_count, 1);
  atomic_init(&c->refs, 2);
  c->drop = drop;
  c->bounded = bounded;
  if (bounded)
    ax_semaphore_init(&c->room, capacity);
  *tx = (ax_mpsc_tx_t *)(void *)c;
  *rx = (ax_mpsc_rx_t *)(void *)c;
  return 0;
}

int ax_mpsc_channel(size_t elem_size, size_t capacity, ax_elem_drop_fn drop,
                    ax_mpsc_tx_t **tx, ax_mpsc_rx_t **rx) {
  return mpsc_new(elem_size, capacity, 1, drop, tx, rx);
}

int ax_mpsc_unbounded(size_t elem_size, ax_elem_drop_fn drop,
                      ax_mpsc_tx_t **tx, ax_mpsc_rx_t **rx) {
  return mpsc_new(elem_size, 0, 0, drop, tx, rx);
}

/* ---- Senders ------------------------------------------------------------ */

static void mpsc_wake_rx(ax__mpsc_t *c) {
  if (atomic_load_explicit(&c->rx_waker, memory_order_seq_cst) != NULL) {
    ax_waker_t *w = atomic_exchange_explicit(&c->rx_waker, NULL,
                                             memory_order_acq_rel);
    if (w != NULL)
      ax_waker_wake(w);
  }
}

/* 0, or AX_ENOMEM (nothing sent: the list needed a block it could not
 * allocate). */
static int mpsc_push(ax__mpsc_t *c, const void *value) {
  if (ax__blist_push(&c->list, value) != 0)
    return AX_ENOMEM;
  mpsc_wake_rx(c);
  return 0;
}

static int mpsc_rx_closed(ax__mpsc_t *c) {
  return atomic_load_explicit(&c->rx_closed, memory_order_acquire);
}

/* Capacity is a semaphore (semaphore.h): a slot is taken per value sent
 * and travels with the value; the receiver gives it back.  The two fast
 * paths below work on the semaphore's word directly (its layout is
 * documented in semaphore.h for this use): one CAS each, no call, no
 * permit struct.  Anything involving waiters goes through the semaphore's
 * own functions. */
#define ROOM_ONE ((size_t)1 << AX__SEM_SHIFT)

/* Gives a capacity slot back (a value left the queue, or a permit went
 * unused): to the oldest waiting sender if there is one. */
static void mpsc_room_back(ax__mpsc_t *c) {
  size_t cur;
  if (!c->bounded)
    return;
  cur = atomic_load_explicit(&c->room.word, memory_order_relaxed);
  while (!(cur & AX__SEM_WAITERS)) {
    if (atomic_compare_exchange_weak_explicit(&c->room.word, &cur,
                                              cur + ROOM_ONE,
                                              memory_order_release,
                                              memory_order_relaxed))
      return;
  }
  ax_semaphore_add_permits(&c->room, 1);
}

/* Takes a capacity slot without waiting: 0, AX_EFULL (none free, or
 * senders already wait: no barging) or AX_ECLOSED. */
static int mpsc_room_try(ax__mpsc_t *c) {
  size_t cur;
  if (!c->bounded)
    return 0;
  cur = atomic_load_explicit(&c->room.word, memory_order_relaxed);
  for (;;) {
    if (cur & AX__SEM_CLOSED)
      return AX_ECLOSED;
    if (cur < ROOM_ONE)  /* WAITERS implies no free slot */
      return AX_EFULL;
    if (atomic_compare_exchange_weak_explicit(&c->room.word, &cur,
                                              cur - ROOM_ONE,
                                              memory_order_acquire,
                                              memory_order_relaxed))
      return 0;
  }
}

ax_mpsc_tx_t *ax_mpsc_sender_clone(ax_mpsc_tx_t *tx) {
  assert(tx != NULL);
  atomic_fetch_add_explicit(&MPSC_TX(tx)->tx_count, 1, memory_order_relaxed);
  return tx;
}

void ax_mpsc_sender_drop(ax_mpsc_tx_t *tx) {
  ax__mpsc_t *c = MPSC_TX(tx);
  if (c == NULL)
    return;
  if (atomic_fetch_sub_explicit(&c->tx_count, 1, memory_order_acq_rel) != 1)
    return;
  atomic_store_explicit(&c->tx_closed, 1, memory_order_seq_cst);
  mpsc_wake_rx(c);
  mpsc_unref(c);
}

int ax_mpsc_try_send(ax_mpsc_tx_t *tx, const void *value) {
  ax__mpsc_t *c = MPSC_TX(tx);
  int r;
  if (c == NULL || MPSC_BAD_BUF(c, value))
    return AX_EINVAL;
  if (mpsc_rx_closed(c))
    return AX_ECLOSED;
  if ((r = mpsc_room_try(c)) != 0)
    return r;
  if ((r = mpsc_push(c, value)) != 0)
    mpsc_room_back(c);
  return r;
}

int ax_mpsc_is_closed(const ax_mpsc_tx_t *tx) {
  assert(tx != NULL);
  return mpsc_rx_closed(MPSC_TX(tx)) != 0;
}

size_t ax_mpsc_capacity(const ax_mpsc_tx_t *tx) {
  ax__mpsc_t *c = MPSC_TX(tx);
  assert(c != NULL);
  return c->bounded ? ax_semaphore_available(&c->room) : SIZE_MAX;
}

/* Send and reserve share their poll: wait for a slot of room. */
static ax_poll_t mpsc_wait_room(ax__mpsc_t *c, int *phase, ax_permit_t *room,
                                int *result, ax_cx_t *cx) {
  if (*phase == PH_INIT) {
    if (mpsc_rx_closed(c)) {
      *result = AX_ECLOSED;
      *phase = PH_DONE;
      return AX_READY;
    }
    /* Fast path: a free slot, no permit future needed.  It takes a coop
     * unit; the slow path's permit takes its own. */
    if (!ax__coop_proceed(cx)) return AX_PENDING;
    switch (mpsc_room_try(c)) {
    case 0:
      *result = 0;
      return AX_READY;
    case AX_ECLOSED:
      *result = AX_ECLOSED;
      *phase = PH_DONE;
      return AX_READY;
    default:
      break;
    }
    ax__coop_refund(cx);
    ax_semaphore_acquire(room, &c->room, 1);
    *phase = PH_WAIT;
  }
  if (ax_poll(&room->base, cx) == AX_PENDING)
    return AX_PENDING;
  *phase = PH_DONE;
  if (room->result != 0) {
    *result = AX_ECLOSED;
    return AX_READY;
  }
  ax_semaphore_forget(room);
  *result = 0;
  return AX_READY;
}

static ax_poll_t send_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_mpsc_send_t *s = (ax_mpsc_send_t *)f;
  ax__mpsc_t *c = MPSC_TX(s->tx);
  if (s->phase == PH_DONE)
    return AX_READY;
  if (mpsc_wait_room(c, &s->phase, &s->room, &s->result, cx) == AX_PENDING)
    return AX_PENDING;
  s->phase = PH_DONE;
  if (s->result == 0) {
    if (mpsc_rx_closed(c))  /* closed while we waited for room */
      s->result = AX_ECLOSED;
    else
      s->result = mpsc_push(c, s->value);
    if (s->result != 0)
      mpsc_room_back(c);
  }
  return AX_READY;
}

static void send_drop(ax_future_t *f) {
  ax_mpsc_send_t *s = (ax_mpsc_send_t *)f;
  /* A slot handed to us but not seen yet passes on to the next sender. */
  if (s->phase == PH_WAIT)
    ax_drop(&s->room.base);
  s->phase = PH_DONE;
}

static const ax_future_vtable_t send_vtable = {send_poll, send_drop,
                                               "ax_mpsc_send"};

ax_future_t *ax_mpsc_send(ax_mpsc_send_t *f, ax_mpsc_tx_t *tx,
                          const void *value) {
  assert(f != NULL);
  f->base.vtable = &send_vtable;
  f->tx = tx;
  f->value = value;
  f->phase = PH_INIT;
  f->result = AX_ECLOSED;
  if (tx == NULL || MPSC_BAD_BUF(MPSC_TX(tx), value)) {
    f->phase = PH_DONE;  /* ready at the first poll */
    f->result = AX_EINVAL;
  }
  return &f->base;
}

/* ---- Permits -------------------------------------------------------------- */

static ax_poll_t reserve_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_mpsc_reserve_t *r = (ax_mpsc_reserve_t *)f;
  ax__mpsc_t *c = MPSC_TX(r->tx);
  if (r->phase == PH_DONE)
    return AX_READY;
  if (mpsc_wait_room(c, &r->phase, &r->room, &r->result, cx) == AX_PENDING)
    return AX_PENDING;
  r->phase = PH_DONE;
  if (r->result == 0)
    r->permit.tx = ax_mpsc_sender_clone(r->tx);
  return AX_READY;
}

static void reserve_drop(ax_future_t *f) {
  ax_mpsc_reserve_t *r = (ax_mpsc_reserve_t *)f;
  if (r->phase == PH_WAIT)
    ax_drop(&r->room.base);
  r->phase = PH_DONE;
  ax_mpsc_permit_release(&r->permit);
}

static const ax_future_vtable_t reserve_vtable = {reserve_poll, reserve_drop,
                                                  "ax_mpsc_reserve"};

ax_future_t *ax_mpsc_reserve(ax_mpsc_reserve_t *f, ax_mpsc_tx_t *tx) {
  assert(f != NULL);
  f->base.vtable = &reserve_vtable;
  f->tx = tx;
  f->phase = tx != NULL ? PH_INIT : PH_DONE;
  f->result = tx != NULL ? AX_ECLOSED : AX_EINVAL;
  f->permit.tx = NULL;
  return &f->base;
}

int ax_mpsc_try_reserve(ax_mpsc_tx_t *tx, ax_mpsc_permit_t *p) {
  ax__mpsc_t *c = MPSC_TX(tx);
  int r;
  if (p == NULL)
    return AX_EINVAL;
  p->tx = NULL;
  if (c == NULL)
    return AX_EINVAL;
  if (mpsc_rx_closed(c))
    return AX_ECLOSED;
  if ((r = mpsc_room_try(c)) != 0)
    return r;
  p->tx = ax_mpsc_sender_clone(tx);
  return 0;
}

int ax_mpsc_permit_send(ax_mpsc_permit_t *p, const void *value) {
  ax_mpsc_tx_t *tx;
  ax__mpsc_t *c;
  int r = 0;
  if (p == NULL || (c = MPSC_TX(tx = p->tx)) == NULL || MPSC_BAD_BUF(c, value))
    return AX_EINVAL;  /* nothing done: the permit keeps its slot */
  p->tx = NULL;
  if (mpsc_rx_closed(c))
    r = AX_ECLOSED;
  else
    r = mpsc_push(c, value);
  if (r != 0)
    mpsc_room_back(c);
  ax_mpsc_sender_drop(tx);
  return r;
}

void ax_mpsc_permit_release(ax_mpsc_permit_t *p) {
  ax_mpsc_tx_t *tx;
  if (p == NULL || (tx = p->tx) == NULL)
    return;
  p->tx = NULL;
  mpsc_room_back(MPSC_TX(tx));
  ax_mpsc_sender_drop(tx);
}

/* ---- Receiver ------------------------------------------------------------- */

static int mpsc_pop(ax__mpsc_t *c, void *out) {
  if (!ax__blist_pop(&c->list, out))
    return 0;
  mpsc_room_back(c);
  return 1;
}

/* The outcome when nothing was ready at the first look: 0 (a value came
 * after all), AX_ECLOSED, or AX_EEMPTY. */
static int mpsc_rx_recheck(ax__mpsc_t *c, void *out) {
  if (mpsc_pop(c, out))
    return 0;
  if (atomic_load_explicit(&c->tx_closed, memory_order_seq_cst)) {
    /* Every send happened before tx_closed: one last look is final. */
    return mpsc_pop(c, out) ? 0 : AX_ECLOSED;
  }
  if (mpsc_rx_closed(c) && !ax__blist_in_flight(&c->list))
    return AX_ECLOSED;
  return AX_EEMPTY;
}

/* 0 (a value moved to *out), AX_ECLOSED, or AX_EEMPTY -- with the
 * caller's waker registered when cx is not NULL. */
static int mpsc_rx_poll(ax__mpsc_t *c, void *out, ax_cx_t *cx) {
  ax_waker_t *mine;
  int r;
  if (mpsc_pop(c, out))
    return 0;
  if (cx == NULL)
    return mpsc_rx_recheck(c, out);
  mine = ax_cx_waker(cx);
  /* Skip the clone when our waker is still there (a sender that takes it
   * meanwhile wakes us, which is just as good). */
  if (atomic_load_explicit(&c->rx_waker, memory_order_seq_cst) != mine) {
    ax_waker_t *old = atomic_exchange_explicit(
        &c->rx_waker, ax_waker_clone(mine), memory_order_seq_cst);
    if (old != NULL)
      ax_waker_drop(old);
  }
  r = mpsc_rx_recheck(c, out);
  if (r != AX_EEMPTY) {
    /* Done after all: take our waker back unless a sender already took
     * it, so the channel holds no reference to a caller that stopped
     * waiting (a blocking_recv parker lives on a stack). */
    ax_waker_t *exp = mine;
    if (atomic_compare_exchange_strong_explicit(&c->rx_waker, &exp, NULL,
                                                memory_order_acq_rel,
                                                memory_order_relaxed))
      ax_waker_drop(mine);
  }
  return r;
}

int ax_mpsc_try_recv(ax_mpsc_rx_t *rx, void *out) {
  ax__mpsc_t *c = MPSC_RX(rx);
  if (c == NULL || MPSC_BAD_BUF(c, out))
    return AX_EINVAL;
  return mpsc_rx_poll(c, out, NULL);
}

static ax_poll_t recv_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_mpsc_recv_t *r = (ax_mpsc_recv_t *)f;
  int res;
  if (r->rx == NULL)
    return AX_READY;
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  res = mpsc_rx_poll(MPSC_RX(r->rx), r->out, cx);
  if (res == AX_EEMPTY) {
    ax__coop_refund(cx);
    r->waiting = 1;
    return AX_PENDING;
  }
  r->waiting = 0;
  r->result = res;
  r->rx = NULL;  /* done: a further poll must not take another value */
  return AX_READY;
}

static void recv_drop(ax_future_t *f) {
  ax_mpsc_recv_t *r = (ax_mpsc_recv_t *)f;
  /* Take our waker back: the channel should not keep the task alive. */
  if (r->waiting && r->rx != NULL) {
    ax_waker_t *w = atomic_exchange_explicit(&MPSC_RX(r->rx)->rx_waker, NULL,
                                             memory_order_acq_rel);
    if (w != NULL)
      ax_waker_drop(w);
  }
  r->waiting = 0;
  r->rx = NULL;
}

static const ax_future_vtable_t recv_vtable = {recv_poll, recv_drop,
                                               "ax_mpsc_recv"};

ax_future_t *ax_mpsc_recv(ax_mpsc_recv_t *f, ax_mpsc_rx_t *rx, void *out) {
  assert(f != NULL);
  f->base.vtable = &recv_vtable;
  f->rx = rx;
  f->out = out;
  f->waiting = 0;
  f->result = AX_ECLOSED;
  if (rx == NULL || MPSC_BAD_BUF(MPSC_RX(rx), out)) {
    f->rx = NULL;  /* ready at the first poll */
    f->result = AX_EINVAL;
  }
  return &f->base;
}

void ax_mpsc_close(ax_mpsc_rx_t *rx) {
  ax__mpsc_t *c = MPSC_RX(rx);
  if (c == NULL)
    return;
  if (atomic_exchange_explicit(&c->rx_closed, 1, memory_order_seq_cst))
    return;
  if (c->bounded)
    ax_semaphore_close(&c->room);  /* waiting senders: AX_ECLOSED */
}

void ax_mpsc_receiver_drop(ax_mpsc_rx_t *rx) {
  ax__mpsc_t *c = MPSC_RX(rx);
  ax_waker_t *w;
  if (c == NULL)
    return;
  ax_mpsc_close(rx);
  w = atomic_exchange_explicit(&c->rx_waker, NULL, memory_order_acq_rel);
  if (w != NULL)
    ax_waker_drop(w);
  /* Release queued values now rather than when the last sender goes. */
  ax__blist_drain(&c->list, c->drop);
  mpsc_unref(c);
}
