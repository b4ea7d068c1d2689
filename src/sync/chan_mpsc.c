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
 * after it the receiver reports closed once the queue is empty AND every
 * capacity slot is back (the semaphore is idle): a permit reserved before
 * the close is a promise that its send succeeds, so until it is used or
 * released the receiver waits for it (Tokio's rule).  Every path that
 * gives a slot back after the close wakes the receiver, which then looks
 * again.  Unbounded channels have no capacity, but their permits make the
 * same promise: `uslots` counts the slots permits hold there (taken before
 * the permit looks at rx_closed, given back after its value is pushed),
 * and the receiver waits for it to reach 0.  Plain unbounded sends do not
 * touch it.
 *
 * Weak senders hold a reference on the memory (refs) but not on tx_count:
 * upgrading one increments tx_count only while it is not 0, so once the
 * last strong sender is gone the channel stays closed for good.
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
  _Atomic size_t weak_count;        /* weak sender handles */
  _Atomic size_t refs;              /* 1 for all senders, 1 for the receiver,
                                       1 per weak sender */
  _Atomic int rx_dropped;           /* the receiver handle is gone */
  _Atomic size_t uslots;            /* unbounded: slots held by permits */
  ax_elem_drop_fn drop;             /* for values nobody received */
  size_t cap;                       /* bounded: capacity (room when idle) */
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
  atomic_init(&c->weak_count, 0);
  atomic_init(&c->refs, 2);
  atomic_init(&c->rx_dropped, 0);
  atomic_init(&c->uslots, 0);
  c->drop = drop;
  c->cap = bounded ? capacity : SIZE_MAX;
  c->bounded = bounded;
  if (bounded)
    ax_semaphore_init(&c->room, capacity);
  *tx = (ax_mpsc_tx_t *)(void *)c;
  *rx = (ax_mpsc_rx_t *)(void *)c;
  return 0;
}

int ax_mpsc_new(size_t elem_size, size_t capacity, ax_elem_drop_fn drop,
                    ax_mpsc_tx_t **tx, ax_mpsc_rx_t **rx) {
  return mpsc_new(elem_size, capacity, 1, drop, tx, rx);
}

int ax_mpsc_new_unbounded(size_t elem_size, ax_elem_drop_fn drop,
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

/* After the receiver closed, a slot coming back may be the last one it
 * waits for (see the top of the file): wake it to look again.  The
 * seq_cst no-op on the word (after the slot went back into it, by an RMW
 * of the same word) pairs with the receiver's seq_cst store of its waker
 * and load of the word in mpsc_rx_idle: either it sees the slot or we see
 * its waker.  (No fence: TSan does not model fences.)  Unbounded: the
 * caller's seq_cst RMW of uslots plays that part. */
static void mpsc_wake_closed_rx(ax__mpsc_t *c) {
  if (!mpsc_rx_closed(c))
    return;
  if (c->bounded)
    atomic_fetch_add_explicit(&c->room.word, 0, memory_order_seq_cst);
  mpsc_wake_rx(c);
}

/* Gives n capacity slots back (a value left the queue, or a permit went
 * unused): to the oldest waiting sender if there is one.  No wake-up: the
 * receiver's own pops use this one. */
static void mpsc_room_back_quiet(ax__mpsc_t *c, size_t n) {
  size_t cur;
  if (!c->bounded || n == 0)
    return;
  cur = atomic_load_explicit(&c->room.word, memory_order_relaxed);
  while (!(cur & AX__SEM_WAITERS)) {
    if (atomic_compare_exchange_weak_explicit(&c->room.word, &cur,
                                              cur + n * ROOM_ONE,
                                              memory_order_release,
                                              memory_order_relaxed))
      return;
  }
  ax_semaphore_add_permits(&c->room, n);
}

/* Same, from a sender or permit: wakes a closed receiver that may be
 * waiting for exactly these slots. */
static void mpsc_room_back(ax__mpsc_t *c, size_t n) {
  mpsc_room_back_quiet(c, n);
  mpsc_wake_closed_rx(c);
}

/* A permit gives back n slots it did not fill (bounded: capacity;
 * unbounded: its share of uslots). */
static void mpsc_permit_back(ax__mpsc_t *c, size_t n) {
  if (c->bounded) {
    mpsc_room_back(c, n);
  } else if (n > 0) {
    atomic_fetch_sub_explicit(&c->uslots, n, memory_order_seq_cst);
    mpsc_wake_closed_rx(c);
  }
}

/* Unbounded: a permit of n slots is about to be handed out.  Counted
 * first, then rx_closed is checked (both seq_cst, as ax_mpsc_close and
 * mpsc_rx_idle in the other order): either the receiver waits for the
 * permit, or the permit sees the close.  0, or AX_ECLOSED (not counted). */
static int mpsc_unbounded_promise(ax__mpsc_t *c, size_t n) {
  if (c->bounded || n == 0)
    return 0;
  atomic_fetch_add_explicit(&c->uslots, n, memory_order_seq_cst);
  if (!atomic_load_explicit(&c->rx_closed, memory_order_seq_cst))
    return 0;
  mpsc_permit_back(c, n);
  return AX_ECLOSED;
}

/* Takes n capacity slots without waiting: 0, AX_EFULL (not enough free,
 * or senders already wait: no barging) or AX_ECLOSED. */
static int mpsc_room_try(ax__mpsc_t *c, size_t n) {
  size_t cur;
  if (!c->bounded || n == 0)
    return 0;
  cur = atomic_load_explicit(&c->room.word, memory_order_relaxed);
  for (;;) {
    if (cur & AX__SEM_CLOSED)
      return AX_ECLOSED;
    if ((cur >> AX__SEM_SHIFT) < n)  /* WAITERS implies no free slot */
      return AX_EFULL;
    if (atomic_compare_exchange_weak_explicit(&c->room.word, &cur,
                                              cur - n * ROOM_ONE,
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
  if ((r = mpsc_room_try(c, 1)) != 0)
    return r;
  if ((r = mpsc_push(c, value)) != 0)
    mpsc_room_back(c, 1);
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

size_t ax_mpsc_max_capacity(const ax_mpsc_tx_t *tx) {
  return MPSC_TX(tx)->cap;
}

size_t ax_mpsc_sender_strong_count(const ax_mpsc_tx_t *tx) {
  return atomic_load_explicit(&MPSC_TX(tx)->tx_count, memory_order_relaxed);
}

size_t ax_mpsc_sender_weak_count(const ax_mpsc_tx_t *tx) {
  return atomic_load_explicit(&MPSC_TX(tx)->weak_count, memory_order_relaxed);
}

/* Every handle of a channel is the channel's pointer: the counts read the
 * same fields whichever handle asks. */
size_t ax_mpsc_weak_strong_count(const ax_mpsc_weak_tx_t *w) {
  assert(w != NULL);
  return ax_mpsc_sender_strong_count((const ax_mpsc_tx_t *)(const void *)w);
}

size_t ax_mpsc_weak_weak_count(const ax_mpsc_weak_tx_t *w) {
  assert(w != NULL);
  return ax_mpsc_sender_weak_count((const ax_mpsc_tx_t *)(const void *)w);
}

size_t ax_mpsc_receiver_sender_strong_count(const ax_mpsc_rx_t *rx) {
  assert(rx != NULL);
  return ax_mpsc_sender_strong_count((const ax_mpsc_tx_t *)(const void *)rx);
}

size_t ax_mpsc_receiver_sender_weak_count(const ax_mpsc_rx_t *rx) {
  assert(rx != NULL);
  return ax_mpsc_sender_weak_count((const ax_mpsc_tx_t *)(const void *)rx);
}

/* ---- Weak senders ---------------------------------------------------------- */

ax_mpsc_weak_tx_t *ax_mpsc_sender_downgrade(ax_mpsc_tx_t *tx) {
  ax__mpsc_t *c = MPSC_TX(tx);
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&c->weak_count, 1, memory_order_relaxed);
  return (ax_mpsc_weak_tx_t *)(void *)c;
}

ax_mpsc_weak_tx_t *ax_mpsc_weak_clone(ax_mpsc_weak_tx_t *w) {
  return ax_mpsc_sender_downgrade((ax_mpsc_tx_t *)(void *)w);
}

ax_mpsc_tx_t *ax_mpsc_weak_upgrade(ax_mpsc_weak_tx_t *w) {
  ax__mpsc_t *c = MPSC_TX(w);
  size_t n;
  if (c == NULL)
    return NULL;
  n = atomic_load_explicit(&c->tx_count, memory_order_relaxed);
  do {
    if (n == 0)
      return NULL;  /* closed for good: no sender can come back */
  } while (!atomic_compare_exchange_weak_explicit(
      &c->tx_count, &n, n + 1, memory_order_acquire, memory_order_relaxed));
  return (ax_mpsc_tx_t *)(void *)c;
}

void ax_mpsc_weak_drop(ax_mpsc_weak_tx_t *w) {
  ax__mpsc_t *c = MPSC_TX(w);
  if (c == NULL)
    return;
  atomic_fetch_sub_explicit(&c->weak_count, 1, memory_order_relaxed);
  mpsc_unref(c);
}

/* ---- Send, reserve ------------------------------------------------------ */

/* Send and reserve share their poll: wait for n slots of room.  A slot
 * obtained while (or after) the receiver closed is given back and the
 * result is AX_ECLOSED: the future had not completed, so it promised
 * nothing (Tokio checks for the close first too). */
static ax_poll_t mpsc_wait_room(ax__mpsc_t *c, size_t n, int *phase,
                                ax_permit_t *room, int *result,
                                ax_cx_t *cx) {
  if (*phase == PH_INIT) {
    if (mpsc_rx_closed(c)) {
      *result = AX_ECLOSED;
      *phase = PH_DONE;
      return AX_READY;
    }
    /* Fast path: free slots, no permit future needed.  It takes a coop
     * unit; the slow path's permit takes its own. */
    if (!ax__coop_proceed(cx)) return AX_PENDING;
    switch (mpsc_room_try(c, n)) {
    case 0:
      goto got;
    case AX_ECLOSED:
      *result = AX_ECLOSED;
      *phase = PH_DONE;
      return AX_READY;
    default:
      break;
    }
    ax__coop_refund(cx);
    ax_semaphore_acquire(room, &c->room, n);
    *phase = PH_WAIT;
  }
  if (ax_poll(&room->base, cx) == AX_PENDING)
    return AX_PENDING;
  *phase = PH_DONE;
  if (room->result != 0) {
    *result = AX_ECLOSED;
    mpsc_wake_closed_rx(c);  /* the close gave our partial slots back */
    return AX_READY;
  }
  ax_semaphore_forget(room);
got:
  if (mpsc_rx_closed(c)) {  /* closed while we waited for room */
    mpsc_room_back(c, n);
    *result = AX_ECLOSED;
    *phase = PH_DONE;
    return AX_READY;
  }
  *result = 0;
  return AX_READY;
}

/* Drop of a send / reserve future: a slot handed to us but not seen yet
 * passes on to the next sender (the semaphore does that), or back to the
 * channel, where a closed receiver may be waiting for it. */
static void mpsc_wait_room_drop(ax__mpsc_t *c, int *phase, ax_permit_t *room) {
  if (*phase == PH_WAIT) {
    ax_drop(&room->base);
    mpsc_wake_closed_rx(c);
  }
  *phase = PH_DONE;
}

static ax_poll_t send_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_mpsc_send_t *s = (ax_mpsc_send_t *)f;
  ax__mpsc_t *c = MPSC_TX(s->tx);
  if (s->phase == PH_DONE)
    return AX_READY;
  if (c == NULL) {
    s->result = AX_EINVAL;
    s->phase = PH_DONE;
    return AX_READY;
  }
  if (mpsc_wait_room(c, 1, &s->phase, &s->room, &s->result, cx) ==
      AX_PENDING)
    return AX_PENDING;
  s->phase = PH_DONE;
  if (s->result == 0 && (s->result = mpsc_push(c, s->value)) != 0)
    mpsc_room_back(c, 1);  /* AX_ENOMEM: nothing sent, the slot goes back */
  return AX_READY;
}

static void send_drop(ax_future_t *f) {
  ax_mpsc_send_t *s = (ax_mpsc_send_t *)f;
  if (s->tx != NULL)
    mpsc_wait_room_drop(MPSC_TX(s->tx), &s->phase, &s->room);
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

/* ---- send_timeout: a send raced against a deadline (ax_timeout) ----------- */

static ax_poll_t send_timeout_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_mpsc_send_timeout_t *s = (ax_mpsc_send_timeout_t *)f;
  if (ax_poll(&s->to.base, cx) == AX_PENDING)
    return AX_PENDING;
  s->result = s->to.result == 0 ? s->send.result : s->to.result;
  return AX_READY;
}

static void send_timeout_drop(ax_future_t *f) {
  ax_mpsc_send_timeout_t *s = (ax_mpsc_send_timeout_t *)f;
  ax_drop(&s->to.base);  /* drops the send (once) and the timer */
}

static const ax_future_vtable_t send_timeout_vtable = {
    send_timeout_poll, send_timeout_drop, "ax_mpsc_send_timeout"};

ax_future_t *ax_mpsc_send_timeout(ax_mpsc_send_timeout_t *f, ax_mpsc_tx_t *tx,
                                  const void *value, uint64_t ms) {
  f->base.vtable = &send_timeout_vtable;
  f->result = AX_ECLOSED;
  ax_timeout(&f->to, ax_mpsc_send(&f->send, tx, value), ms);
  return &f->base;
}

/* ---- Permits -------------------------------------------------------------- */

static ax_poll_t reserve_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_mpsc_reserve_t *r = (ax_mpsc_reserve_t *)f;
  ax__mpsc_t *c = MPSC_TX(r->tx);
  if (r->phase == PH_DONE)
    return AX_READY;
  if (c == NULL || (c->bounded && r->want > c->cap)) {
    r->result = AX_EINVAL;  /* could never succeed */
    r->phase = PH_DONE;
    return AX_READY;
  }
  if (mpsc_wait_room(c, r->want, &r->phase, &r->room, &r->result, cx) ==
      AX_PENDING)
    return AX_PENDING;
  r->phase = PH_DONE;
  if (r->result == 0)
    r->result = mpsc_unbounded_promise(c, r->want);
  if (r->result == 0 && r->want > 0) {
    r->permit.tx = ax_mpsc_sender_clone(r->tx);
    r->permit.count = r->want;
  }
  return AX_READY;
}

static void reserve_drop(ax_future_t *f) {
  ax_mpsc_reserve_t *r = (ax_mpsc_reserve_t *)f;
  if (r->tx != NULL)
    mpsc_wait_room_drop(MPSC_TX(r->tx), &r->phase, &r->room);
  r->phase = PH_DONE;
  ax_mpsc_permit_release(&r->permit);
}

static const ax_future_vtable_t reserve_vtable = {reserve_poll, reserve_drop,
                                                  "ax_mpsc_reserve"};

ax_future_t *ax_mpsc_reserve_many(ax_mpsc_reserve_t *f, ax_mpsc_tx_t *tx,
                                  size_t n) {
  assert(f != NULL);
  f->base.vtable = &reserve_vtable;
  f->tx = tx;
  f->want = n;
  f->phase = PH_INIT;
  f->result = AX_ECLOSED;
  f->permit.tx = NULL;
  f->permit.count = 0;
  return &f->base;
}

ax_future_t *ax_mpsc_reserve(ax_mpsc_reserve_t *f, ax_mpsc_tx_t *tx) {
  return ax_mpsc_reserve_many(f, tx, 1);
}

int ax_mpsc_try_reserve_many(ax_mpsc_permit_t *p, ax_mpsc_tx_t *tx,
                             size_t n) {
  ax__mpsc_t *c = MPSC_TX(tx);
  int r;
  if (p == NULL)
    return AX_EINVAL;
  p->tx = NULL;
  p->count = 0;
  if (c == NULL || (c->bounded && n > c->cap))
    return AX_EINVAL;
  if (mpsc_rx_closed(c))
    return AX_ECLOSED;
  if ((r = mpsc_room_try(c, n)) != 0)
    return r;
  if ((r = mpsc_unbounded_promise(c, n)) != 0)
    return r;
  if (n > 0) {
    p->tx = ax_mpsc_sender_clone(tx);
    p->count = n;
  }
  return 0;
}

int ax_mpsc_try_reserve(ax_mpsc_permit_t *p, ax_mpsc_tx_t *tx) {
  return ax_mpsc_try_reserve_many(p, tx, 1);
}

/* The permit's sender reference goes with its last slot. */
static void permit_used_one(ax_mpsc_permit_t *p) {
  ax_mpsc_tx_t *tx = p->tx;
  if (--p->count > 0)
    return;
  p->tx = NULL;
  ax_mpsc_sender_drop(tx);
}

int ax_mpsc_permit_send(ax_mpsc_permit_t *p, const void *value) {
  ax__mpsc_t *c;
  int r = 0;
  if (p == NULL || p->tx == NULL || p->count == 0 ||
      MPSC_BAD_BUF(MPSC_TX(p->tx), value))
    return AX_EINVAL;  /* nothing done: the permit keeps its slot */
  c = MPSC_TX(p->tx);
  if (atomic_load_explicit(&c->rx_dropped, memory_order_acquire)) {
    /* Nobody can receive it any more: hand it back instead. */
    mpsc_permit_back(c, 1);
    r = AX_ECLOSED;
  } else if ((r = mpsc_push(c, value)) != 0) {
    mpsc_permit_back(c, 1);    /* AX_ENOMEM: nothing sent */
  } else if (!c->bounded) {
    mpsc_permit_back(c, 1);    /* after the push: the receiver sees it */
  }
  permit_used_one(p);
  return r;
}

int ax_mpsc_permit_split(ax_mpsc_permit_t *dst, ax_mpsc_permit_t *src,
                         size_t n) {
  if (dst == NULL || src == NULL || dst == src || src->tx == NULL ||
      n == 0 || n >= src->count)
    return AX_EINVAL;
  dst->tx = ax_mpsc_sender_clone(src->tx);
  dst->count = n;
  src->count -= n;
  return 0;
}

void ax_mpsc_permit_release(ax_mpsc_permit_t *p) {
  ax_mpsc_tx_t *tx;
  size_t n;
  if (p == NULL || (tx = p->tx) == NULL)
    return;
  n = p->count;
  p->tx = NULL;
  p->count = 0;
  mpsc_permit_back(MPSC_TX(tx), n);
  ax_mpsc_sender_drop(tx);
}

/* ---- Receiver ------------------------------------------------------------- */

static int mpsc_pop(ax__mpsc_t *c, void *out) {
  if (!ax__blist_pop(&c->list, out))
    return 0;
  mpsc_room_back_quiet(c, 1);
  return 1;
}

/* After ax_mpsc_close: 1 when nothing more can come -- nothing in flight
 * and (bounded) every slot back, i.e. no value queued and no permit or
 * send holding one.  The seq_cst load pairs with mpsc_wake_closed_rx. */
static int mpsc_rx_idle(ax__mpsc_t *c) {
  if (!c->bounded)  /* permits first: one pushes before it gives back */
    return atomic_load_explicit(&c->uslots, memory_order_seq_cst) == 0 &&
           !ax__blist_in_flight(&c->list);
  if (ax__blist_in_flight(&c->list))
    return 0;
  return (atomic_load_explicit(&c->room.word, memory_order_seq_cst) >>
          AX__SEM_SHIFT) == c->cap;
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
  if (mpsc_rx_closed(c) && mpsc_rx_idle(c))
    return mpsc_pop(c, out) ? 0 : AX_ECLOSED;
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

/* Takes our waker back from the channel: it should not keep the task
 * alive once we stopped waiting. */
static void mpsc_rx_unregister(ax__mpsc_t *c) {
  ax_waker_t *w = atomic_exchange_explicit(&c->rx_waker, NULL,
                                           memory_order_acq_rel);
  if (w != NULL)
    ax_waker_drop(w);
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
  if (r->waiting && r->rx != NULL)
    mpsc_rx_unregister(MPSC_RX(r->rx));
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

/* ---- recv_many ------------------------------------------------------------ */

static ax_poll_t recv_many_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_mpsc_recv_many_t *r = (ax_mpsc_recv_many_t *)f;
  ax__mpsc_t *c;
  size_t es;
  int res;
  if (r->rx == NULL)
    return AX_READY;
  c = MPSC_RX(r->rx);
  if (r->limit == 0 || r->buf == NULL) {
    r->result = r->limit == 0 ? 0 : AX_EINVAL;
    r->rx = NULL;
    return AX_READY;
  }
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  res = mpsc_rx_poll(c, r->buf, cx);
  if (res == AX_EEMPTY) {
    ax__coop_refund(cx);
    r->waiting = 1;
    return AX_PENDING;
  }
  r->waiting = 0;
  r->result = res;
  r->rx = NULL;
  if (res != 0)
    return AX_READY;
  /* One value is in; take what else is queued now, without waiting. */
  es = c->list.elem_size;
  r->count = 1;
  while (r->count < r->limit &&
         mpsc_pop(c, (char *)r->buf + r->count * es))
    r->count++;
  return AX_READY;
}

static void recv_many_drop(ax_future_t *f) {
  ax_mpsc_recv_many_t *r = (ax_mpsc_recv_many_t *)f;
  if (r->waiting && r->rx != NULL)
    mpsc_rx_unregister(MPSC_RX(r->rx));
  r->waiting = 0;
  r->rx = NULL;
}

static const ax_future_vtable_t recv_many_vtable = {
    recv_many_poll, recv_many_drop, "ax_mpsc_recv_many"};

ax_future_t *ax_mpsc_recv_many(ax_mpsc_recv_many_t *f, ax_mpsc_rx_t *rx,
                               void *buf, size_t limit) {
  f->base.vtable = &recv_many_vtable;
  f->rx = rx;
  f->buf = buf;
  f->limit = limit;
  f->waiting = 0;
  f->result = rx == NULL ? AX_EINVAL : AX_ECLOSED;
  f->count = 0;
  return &f->base;
}

/* ---- Receiver queries and close ------------------------------------------- */

size_t ax_mpsc_len(const ax_mpsc_rx_t *rx) {
  ax__mpsc_t *c = MPSC_RX(rx);
  return atomic_load_explicit(&c->list.tx.tail_pos, memory_order_acquire) -
         c->list.rx.index;
}

int ax_mpsc_is_empty(const ax_mpsc_rx_t *rx) { return ax_mpsc_len(rx) == 0; }

int ax_mpsc_receiver_is_closed(const ax_mpsc_rx_t *rx) {
  ax__mpsc_t *c = MPSC_RX(rx);
  return mpsc_rx_closed(c) ||
         atomic_load_explicit(&c->tx_closed, memory_order_acquire);
}

size_t ax_mpsc_receiver_capacity(const ax_mpsc_rx_t *rx) {
  return ax_mpsc_capacity((const ax_mpsc_tx_t *)(const void *)rx);
}

size_t ax_mpsc_receiver_max_capacity(const ax_mpsc_rx_t *rx) {
  return MPSC_RX(rx)->cap;
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
  if (c == NULL)
    return;
  atomic_store_explicit(&c->rx_dropped, 1, memory_order_release);
  ax_mpsc_close(rx);
  mpsc_rx_unregister(c);
  /* Release queued values now rather than when the last sender goes. */
  ax__blist_drain(&c->list, c->drop);
  mpsc_unref(c);
}
