/* oneshot: one value, one sender, one receiver, one allocation.
 *
 * Everything is in one atomic state word, so each side's common operation
 * is one compare-and-swap (the scheme of Tokio's oneshot, with the two
 * references folded into the same word):
 *
 *   VALUE    the value is in the slot (written before the flag, release)
 *   TX_GONE  the sender sent or was dropped: nothing more will come
 *   CLOSED   the receiver closed or was dropped: sends fail
 *   RX_TASK  rx_waker holds the receiver's waker
 *   TX_TASK  tx_waker holds the sender's waker (closed() future)
 *   TX_REF   the sender side still uses the memory
 *   RX_REF   the receiver side still uses the memory
 *
 * Waker slots: a side writes its own slot only while its TASK bit is clear
 * (it clears the bit with a CAS first), and the other side takes the waker
 * by clearing the bit in the same CAS that publishes its event.  Whoever
 * takes a waker reads it before giving up its reference, and wakes it
 * after: the waker is a counted reference, valid after the channel is
 * freed.  The side that clears the last REF bit frees the channel and
 * releases what is left in it (a value nobody took, registered wakers).
 */
#include <assert.h>

#include "core/context.h"
#include "sync/chan.h"

#define OS_VALUE   ((size_t)1)
#define OS_TX_GONE ((size_t)2)
#define OS_CLOSED  ((size_t)4)
#define OS_RX_TASK ((size_t)8)
#define OS_TX_TASK ((size_t)16)
#define OS_TX_REF  ((size_t)32)
#define OS_RX_REF  ((size_t)64)

typedef struct ax__oneshot_s {
  _Atomic size_t state;    /* the bits above */
  ax_waker_t *rx_waker;    /* valid while RX_TASK */
  ax_waker_t *tx_waker;    /* valid while TX_TASK */
  ax_elem_drop_fn drop;    /* for a value nobody received, or NULL */
  size_t elem_size;        /* bytes per value */
  int taken;               /* receiver-only: the value was moved out */
  int terminated;          /* receiver-only: a receive reported its final
                              outcome (the value, or AX_ECLOSED) */
  max_align_t value[];     /* the slot */
} ax__oneshot_t;

#define OS(h) ((ax__oneshot_t *)(void *)(h))
/* A value (or out) buffer may be NULL only for 0-byte values. */
#define OS_BAD_BUF(c, buf) ((buf) == NULL && (c)->elem_size != 0)

static void os_free(ax__oneshot_t *c, size_t s) {
  if ((s & OS_VALUE) && !c->taken && c->drop != NULL)
    c->drop(c->value);
  if (s & OS_RX_TASK)
    ax_waker_drop(c->rx_waker);
  if (s & OS_TX_TASK)
    ax_waker_drop(c->tx_waker);
  ax__free(c);
}

/* Clears `ref` (the caller's last use of c) and frees c if it was the last
 * reference. */
static void os_release(ax__oneshot_t *c, size_t ref) {
  size_t s = atomic_fetch_and_explicit(&c->state, ~ref, memory_order_acq_rel);
  if ((s & (OS_TX_REF | OS_RX_REF)) == ref)
    os_free(c, s & ~ref);
}

/* Applies `set` and gives up the caller's reference `ref`: one CAS, or
 * two when the other side's waker is registered: then it is taken (clears
 * `task`) in the first CAS and returned, to be woken by the caller.  c may
 * be freed on return. */
static ax_waker_t *os_publish(ax__oneshot_t *c, size_t s, size_t set,
                              size_t task, size_t ref) {
  for (;;) {
    if (s & task) {
      if (atomic_compare_exchange_weak_explicit(
              &c->state, &s, (s | set) & ~task, memory_order_acq_rel,
              memory_order_acquire)) {
        ax_waker_t *w = task == OS_RX_TASK ? c->rx_waker : c->tx_waker;
        os_release(c, ref);
        return w;
      }
    } else if (atomic_compare_exchange_weak_explicit(
                   &c->state, &s, (s | set) & ~ref, memory_order_acq_rel,
                   memory_order_acquire)) {
      if ((s & (OS_TX_REF | OS_RX_REF)) == ref)
        os_free(c, (s | set) & ~ref);
      return NULL;
    }
  }
}

int ax_oneshot_new(size_t elem_size, ax_elem_drop_fn drop,
                   ax_oneshot_tx_t **tx, ax_oneshot_rx_t **rx) {
  ax__oneshot_t *c;
  if (tx == NULL || rx == NULL)
    return AX_EINVAL;
  /* The header and the slot are one block: its size must not wrap (the
   * bound of watch, the other one-block channel). */
  if (elem_size > SIZE_MAX / 2)
    return AX_EINVAL;
  c = ax__malloc(sizeof *c + elem_size);
  if (c == NULL)
    return AX_ENOMEM;
  atomic_init(&c->state, OS_TX_REF | OS_RX_REF);
  c->rx_waker = NULL;
  c->tx_waker = NULL;
  c->drop = drop;
  c->elem_size = elem_size;
  c->taken = 0;
  c->terminated = 0;
  *tx = (ax_oneshot_tx_t *)(void *)c;
  *rx = (ax_oneshot_rx_t *)(void *)c;
  return 0;
}

/* ---- Sender --------------------------------------------------------------- */

int ax_oneshot_send(ax_oneshot_tx_t *tx, const void *value) {
  ax__oneshot_t *c = OS(tx);
  size_t s;
  ax_waker_t *w;

  if (c == NULL)
    return AX_EINVAL;
  if (OS_BAD_BUF(c, value)) {
    ax_oneshot_sender_drop(tx);  /* consumed all the same */
    return AX_EINVAL;
  }
  s = atomic_load_explicit(&c->state, memory_order_acquire);

  if (!(s & OS_CLOSED)) {
    /* The slot is ours until VALUE is published; if the CAS below finds
     * CLOSED instead, the copy is simply never read. */
    ax__chan_copy(c->value, value, c->elem_size);
    for (;;) {
      if (s & OS_CLOSED)
        break;
      if (s & OS_RX_TASK) {
        if (atomic_compare_exchange_weak_explicit(
                &c->state, &s, (s | OS_VALUE | OS_TX_GONE) & ~OS_RX_TASK,
                memory_order_acq_rel, memory_order_acquire)) {
          w = c->rx_waker;
          os_release(c, OS_TX_REF);
          ax_waker_wake(w);
          return 0;
        }
      } else if (atomic_compare_exchange_weak_explicit(
                     &c->state, &s,
                     (s | OS_VALUE | OS_TX_GONE) & ~OS_TX_REF,
                     memory_order_acq_rel, memory_order_acquire)) {
        /* RX_REF is still set: CLOSED was not. */
        return 0;
      }
    }
  }
  /* Closed: the value stays the caller's; the sender goes away. */
  w = os_publish(c, s, OS_TX_GONE, OS_RX_TASK, OS_TX_REF);
  if (w != NULL)
    ax_waker_wake(w);
  return AX_ECLOSED;
}

void ax_oneshot_sender_drop(ax_oneshot_tx_t *tx) {
  ax__oneshot_t *c = OS(tx);
  ax_waker_t *w;
  if (c == NULL)
    return;
  w = os_publish(c, atomic_load_explicit(&c->state, memory_order_acquire),
                 OS_TX_GONE, OS_RX_TASK, OS_TX_REF);
  if (w != NULL)
    ax_waker_wake(w);
}

int ax_oneshot_is_closed(const ax_oneshot_tx_t *tx) {
  ax__oneshot_t *c = OS(tx);
  assert(c != NULL);
  return (atomic_load_explicit(&c->state, memory_order_acquire) & OS_CLOSED) !=
         0;
}

/* Registers the caller's waker in the slot guarded by `task`, unless the
 * same waker is already there.  Returns the state after registering: the
 * caller re-checks it for the event it waits for (`done` bits). */
static size_t os_register(ax__oneshot_t *c, size_t task, size_t done,
                          ax_waker_t **slot, ax_cx_t *cx) {
  ax_waker_t *mine = ax_cx_waker(cx);
  size_t s = atomic_load_explicit(&c->state, memory_order_acquire);
  for (;;) {
    if (s & done)
      return s;
    if (!(s & task))
      break;
    if (ax_waker_will_wake(*slot, mine))
      return s;
    /* Take our old waker back before replacing it. */
    if (atomic_compare_exchange_weak_explicit(&c->state, &s, s & ~task,
                                              memory_order_acq_rel,
                                              memory_order_acquire)) {
      ax_waker_drop(*slot);
      s &= ~task;
      break;
    }
  }
  *slot = ax_waker_clone(mine);
  return atomic_fetch_or_explicit(&c->state, task, memory_order_acq_rel) |
         task;
}

/* Takes our registered waker back (a future dropped while waiting), so the
 * channel holds no task reference for it. */
static void os_unregister(ax__oneshot_t *c, size_t task, ax_waker_t **slot) {
  size_t s = atomic_load_explicit(&c->state, memory_order_acquire);
  while (s & task) {
    if (atomic_compare_exchange_weak_explicit(&c->state, &s, s & ~task,
                                              memory_order_acq_rel,
                                              memory_order_acquire)) {
      ax_waker_drop(*slot);
      return;
    }
  }
}

static void closed_drop(ax_future_t *f);

static ax_poll_t closed_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_oneshot_closed_t *cf = (ax_oneshot_closed_t *)f;
  ax__oneshot_t *c = OS(cf->tx);
  size_t s;
  if (c == NULL)
    return AX_READY;
  s = os_register(c, OS_TX_TASK, OS_CLOSED, &c->tx_waker, cx);
  cf->registered = 1;
  if (!(s & OS_CLOSED))
    return AX_PENDING;
  closed_drop(f);  /* done: release the registration now */
  return AX_READY;
}

static void closed_drop(ax_future_t *f) {
  ax_oneshot_closed_t *cf = (ax_oneshot_closed_t *)f;
  if (cf->registered && cf->tx != NULL)
    os_unregister(OS(cf->tx), OS_TX_TASK, &OS(cf->tx)->tx_waker);
  cf->registered = 0;
  cf->tx = NULL;
}

static const ax_future_vtable_t closed_vtable = {closed_poll, closed_drop,
                                                 "ax_oneshot_closed"};

ax_future_t *ax_oneshot_closed(ax_oneshot_closed_t *f, ax_oneshot_tx_t *tx) {
  assert(f != NULL && tx != NULL);
  f->base.vtable = &closed_vtable;
  f->tx = tx;
  f->registered = 0;
  return &f->base;
}

/* ---- Receiver ------------------------------------------------------------- */

/* The outcome for a receiver that saw state s, or 1 for "nothing yet". */
static int os_take(ax__oneshot_t *c, size_t s, void *out) {
  if (s & OS_VALUE) {
    if (c->taken)
      return AX_ECLOSED;
    ax__chan_copy(out, c->value, c->elem_size);
    c->taken = 1;
    return 0;
  }
  /* CLOSED without VALUE is final: a send can no longer succeed. */
  if (s & (OS_TX_GONE | OS_CLOSED))
    return AX_ECLOSED;
  return 1;
}

int ax_oneshot_try_recv(ax_oneshot_rx_t *rx, void *out) {
  ax__oneshot_t *c = OS(rx);
  int r;
  if (c == NULL || OS_BAD_BUF(c, out))
    return AX_EINVAL;
  r = os_take(c, atomic_load_explicit(&c->state, memory_order_acquire), out);
  if (r == 1)
    return AX_EEMPTY;
  c->terminated = 1;
  return r;
}

int ax_oneshot_is_terminated(const ax_oneshot_rx_t *rx) {
  return OS(rx)->terminated;
}

int ax_oneshot_is_empty(const ax_oneshot_rx_t *rx) {
  ax__oneshot_t *c = OS(rx);
  size_t s = atomic_load_explicit(&c->state, memory_order_acquire);
  return !(s & OS_VALUE) || c->taken;
}

static void recv_drop(ax_future_t *f);

static ax_poll_t recv_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_oneshot_recv_t *rf = (ax_oneshot_recv_t *)f;
  ax__oneshot_t *c = OS(rf->rx);
  int r;
  if (c == NULL)
    return AX_READY;
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  r = os_take(c, atomic_load_explicit(&c->state, memory_order_acquire),
              rf->out);
  if (r == 1) {
    size_t s = os_register(c, OS_RX_TASK, OS_VALUE | OS_TX_GONE | OS_CLOSED,
                           &c->rx_waker, cx);
    rf->registered = 1;
    r = os_take(c, s, rf->out);
    if (r == 1) {
      ax__coop_refund(cx);
      return AX_PENDING;
    }
  }
  rf->result = r;
  c->terminated = 1;
  recv_drop(f);  /* done: release the registration, refuse further polls */
  return AX_READY;
}

static void recv_drop(ax_future_t *f) {
  ax_oneshot_recv_t *rf = (ax_oneshot_recv_t *)f;
  if (rf->registered && rf->rx != NULL)
    os_unregister(OS(rf->rx), OS_RX_TASK, &OS(rf->rx)->rx_waker);
  rf->registered = 0;
  rf->rx = NULL;
}

static const ax_future_vtable_t recv_vtable = {recv_poll, recv_drop,
                                               "ax_oneshot_recv"};

ax_future_t *ax_oneshot_recv(ax_oneshot_recv_t *f, ax_oneshot_rx_t *rx,
                             void *out) {
  assert(f != NULL);
  f->base.vtable = &recv_vtable;
  f->rx = rx;
  f->out = out;
  f->registered = 0;
  f->result = AX_ECLOSED;
  if (rx == NULL || OS_BAD_BUF(OS(rx), out)) {
    f->rx = NULL;  /* ready at the first poll */
    f->result = AX_EINVAL;
  }
  return &f->base;
}

void ax_oneshot_close(ax_oneshot_rx_t *rx) {
  ax__oneshot_t *c = OS(rx);
  size_t s;
  if (c == NULL)
    return;
  s = atomic_load_explicit(&c->state, memory_order_acquire);
  for (;;) {
    if (s & OS_CLOSED)
      return;
    if ((s & OS_TX_TASK) && !(s & OS_TX_GONE)) {
      if (atomic_compare_exchange_weak_explicit(
              &c->state, &s, (s | OS_CLOSED) & ~OS_TX_TASK,
              memory_order_acq_rel, memory_order_acquire)) {
        /* RX_REF keeps c alive; the sender no longer writes tx_waker. */
        ax_waker_wake(c->tx_waker);
        return;
      }
    } else if (atomic_compare_exchange_weak_explicit(
                   &c->state, &s, s | OS_CLOSED, memory_order_acq_rel,
                   memory_order_acquire)) {
      return;
    }
  }
}

void ax_oneshot_receiver_drop(ax_oneshot_rx_t *rx) {
  ax__oneshot_t *c = OS(rx);
  size_t s;
  ax_waker_t *w;
  if (c == NULL)
    return;
  s = atomic_load_explicit(&c->state, memory_order_acquire);
  /* Wake a sender waiting in closed() only if it is still there. */
  w = os_publish(c, s, OS_CLOSED, (s & OS_TX_GONE) ? 0 : OS_TX_TASK,
                 OS_RX_REF);
  if (w != NULL)
    ax_waker_wake(w);
}
