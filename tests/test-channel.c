/* Channel suite: mpsc, oneshot, broadcast, watch (axle/channel.h).
 *
 * Two kinds of tests:
 *  - hand-polled: futures polled directly with a counting test waker, so
 *    wake-ups, hand-offs and cancellation are checked exactly;
 *  - runtime: real tasks on the current-thread (_i == 0) and multi-thread
 *    (_i == 1) runtimes, plus foreign threads; they count and checksum
 *    every message (no timing assertions).
 * Values that own memory (malloc'd ints) check that every value is freed
 * exactly once: ASan/valgrind see a leak or a double free otherwise, and
 * the counters below must balance.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define WORKERS 3   /* of the multi-thread runtime */

/* ---- owned values: a malloc'd int, freed by the element destructor ---- */

static atomic_int live_values;  /* allocated and not yet freed */
static atomic_int value_drops;  /* destructor calls */

static int *val_new(int v) {
  int *p = malloc(sizeof *p);
  ck_assert_ptr_nonnull(p);
  *p = v;
  atomic_fetch_add(&live_values, 1);
  return p;
}
static void val_free(int *p) {
  free(p);
  atomic_fetch_sub(&live_values, 1);
}
static void val_drop(void *elem) {  /* the element is an int * */
  val_free(*(int **)elem);
  atomic_fetch_add(&value_drops, 1);
}
static void val_clone(void *dst, const void *src) {
  *(int **)dst = val_new(**(int *const *)src);
}
static void values_reset(void) {
  atomic_store(&live_values, 0);
  atomic_store(&value_drops, 0);
}

/* ======================================================================
 * oneshot, by hand
 * ====================================================================== */

START_TEST(oneshot_send_recv_hand) {
  ax_oneshot_tx_t *tx;
  ax_oneshot_rx_t *rx;
  ax_oneshot_recv_t r;
  th_cx_t c;
  int v = 41, out = 0;
  th_cx_init(&c);

  /* Value first, then recv: ready at the first poll. */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &out), AX_EEMPTY);
  ck_assert_int_eq(ax_oneshot_is_closed(tx), 0);
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r, rx, &out), &c), AX_READY);
  ck_assert_int_eq(r.result, 0);
  ck_assert_int_eq(out, 41);
  ax_drop(&r.base);
  ax_drop(&r.base);  /* twice is fine */
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &out), AX_ECLOSED);  /* taken */
  ax_oneshot_receiver_drop(rx);

  /* recv first: pending, the send wakes it exactly once. */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  out = 0;
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r, rx, &out), &c), AX_PENDING);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_PENDING);  /* same waker kept */
  ck_assert_int_eq(c.w.refs, 1);
  v = 42;
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(c.w.refs, 0);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, 0);
  ck_assert_int_eq(out, 42);
  ax_drop(&r.base);
  ax_oneshot_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

START_TEST(oneshot_sender_dropped_hand) {
  ax_oneshot_tx_t *tx;
  ax_oneshot_rx_t *rx;
  ax_oneshot_recv_t r;
  th_cx_t c;
  int out = 7;
  th_cx_init(&c);
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r, rx, &out), &c), AX_PENDING);
  ax_oneshot_sender_drop(tx);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ck_assert_int_eq(out, 7);  /* untouched */
  ax_drop(&r.base);
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &out), AX_ECLOSED);
  ax_oneshot_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

START_TEST(oneshot_receiver_gone_hand) {
  ax_oneshot_tx_t *tx;
  ax_oneshot_rx_t *rx;
  ax_oneshot_closed_t cl;
  th_cx_t c;
  int *v;
  th_cx_init(&c);
  values_reset();

  /* The sender waits for the receiver to go away. */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int *), val_drop, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_oneshot_closed(&cl, tx), &c), AX_PENDING);
  ck_assert_int_eq(c.w.refs, 1);
  ax_oneshot_receiver_drop(rx);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(ax_oneshot_is_closed(tx), 1);
  ck_assert_int_eq(TH_POLL(&cl.base, &c), AX_READY);
  ax_drop(&cl.base);
  ck_assert_int_eq(c.w.refs, 0);
  /* A send now fails and the value stays the caller's. */
  v = val_new(5);
  ck_assert_int_eq(ax_oneshot_send(tx, &v), AX_ECLOSED);
  ck_assert_int_eq(*v, 5);
  ck_assert_int_eq(atomic_load(&value_drops), 0);
  val_free(v);

  /* close(): later sends fail, the sender's closed() completes. */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int *), val_drop, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_oneshot_closed(&cl, tx), &c), AX_PENDING);
  ax_oneshot_close(rx);
  ck_assert_int_eq(c.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&cl.base, &c), AX_READY);
  ax_drop(&cl.base);
  v = val_new(6);
  ck_assert_int_eq(ax_oneshot_send(tx, &v), AX_ECLOSED);
  val_free(v);
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &v), AX_ECLOSED);
  ax_oneshot_receiver_drop(rx);

  /* A value sent before close() can still be received. */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int *), val_drop, &tx, &rx), 0);
  v = val_new(7);
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ax_oneshot_close(rx);
  v = NULL;
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &v), 0);
  ck_assert_int_eq(*v, 7);
  val_free(v);
  ax_oneshot_receiver_drop(rx);

  /* A value nobody received is dropped exactly once with the channel. */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int *), val_drop, &tx, &rx), 0);
  v = val_new(8);
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ax_oneshot_receiver_drop(rx);
  ck_assert_int_eq(atomic_load(&value_drops), 1);
  ck_assert_int_eq(atomic_load(&live_values), 0);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

START_TEST(oneshot_cancel_hand) {
  ax_oneshot_tx_t *tx;
  ax_oneshot_rx_t *rx;
  ax_oneshot_recv_t r1, r2;
  ax_oneshot_closed_t cl;
  th_cx_t c1, c2;
  int v = 3, out = 0;
  TH_CX_INIT(&c1, &c2);
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  /* A recv dropped while waiting takes its waker back and nothing else. */
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r1, rx, &out), &c1), AX_PENDING);
  ck_assert_int_eq(c1.w.refs, 1);
  ax_drop(&r1.base);
  ck_assert_int_eq(c1.w.refs, 0);
  ck_assert_int_eq(TH_POLL(ax_oneshot_closed(&cl, tx), &c1), AX_PENDING);
  ax_drop(&cl.base);
  ck_assert_int_eq(c1.w.refs, 0);
  /* A second recv polled by another waker replaces nothing stale. */
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r2, rx, &out), &c2), AX_PENDING);
  ck_assert_int_eq(TH_POLL(&r2.base, &c1), AX_PENDING);  /* moved task */
  ck_assert_int_eq(c2.w.refs, 0);
  ck_assert_int_eq(c1.w.refs, 1);
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ck_assert_int_eq(c1.w.wakes, 1);
  ck_assert_int_eq(c2.w.wakes, 0);
  ck_assert_int_eq(TH_POLL(&r2.base, &c1), AX_READY);
  ck_assert_int_eq(out, 3);
  ax_drop(&r2.base);
  ax_oneshot_receiver_drop(rx);
  ck_assert_int_eq(c1.w.refs + c2.w.refs, 0);

  /* Never-polled futures drop cleanly; zero-size values carry a signal. */
  ck_assert_int_eq(ax_oneshot_new(0, NULL, &tx, &rx), 0);
  ax_oneshot_recv(&r1, rx, NULL);
  ax_drop(&r1.base);
  ck_assert_int_eq(ax_oneshot_send(tx, NULL), 0);
  ck_assert_int_eq(ax_oneshot_try_recv(rx, NULL), 0);
  ax_oneshot_receiver_drop(rx);
}
END_TEST

/* ======================================================================
 * mpsc, by hand
 * ====================================================================== */

START_TEST(mpsc_unbounded_hand) {
  enum { N = 1000 };  /* many blocks, recycled */
  ax_mpsc_tx_t *tx, *tx2;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_t r;
  th_cx_t c;
  int i, v, out;
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), SIZE_MAX);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_EEMPTY);
  for (i = 0; i < N; i++)
    ck_assert_int_eq(ax_mpsc_try_send(tx, &i), 0);
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
    ck_assert_int_eq(out, i);
  }
  /* Interleaved, in small bursts: the receiver keeps recycling blocks. */
  for (i = 0; i < 20 * N; i++) {
    v = i;
    ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
    if (i % 7 == 6) {
      int k;
      for (k = i - 6; k <= i; k++) {
        ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
        ck_assert_int_eq(out, k);
      }
    }
  }
  while (ax_mpsc_try_recv(rx, &out) == 0) {
  }

  /* recv waits; a send wakes it once. */
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &c), AX_PENDING);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_PENDING);
  ck_assert_int_eq(c.w.refs, 1);
  v = 99;
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(c.w.refs, 0);
  v = 100;
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
  ck_assert_int_eq(c.w.wakes, 1);  /* nobody registered: no wake */
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, 0);
  ck_assert_int_eq(out, 99);
  out = -1;  /* a finished recv polled again takes nothing more */
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, 0);
  ck_assert_int_eq(out, -1);
  ax_drop(&r.base);

  /* Closed only when every sender is gone, and after the queue drained. */
  tx2 = ax_mpsc_sender_clone(tx);
  ax_mpsc_sender_drop(tx);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(out, 100);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &c), AX_PENDING);
  ax_mpsc_sender_drop(tx2);
  ck_assert_int_eq(c.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ax_drop(&r.base);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

START_TEST(mpsc_bounded_hand) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_send_t a, b;
  ax_mpsc_recv_t r;
  th_cx_t ca, cb, cr;
  int v1 = 1, v2 = 2, va = 10, vb = 11, out;
  TH_CX_INIT(&ca, &cb, &cr);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 0, NULL, &tx, &rx),
                   AX_EINVAL);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 2, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v1), 0);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v2), 0);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 0);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v2), AX_EFULL);

  /* Two senders wait, FIFO. */
  ck_assert_int_eq(TH_POLL(ax_mpsc_send(&a, tx, &va), &ca), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_mpsc_send(&b, tx, &vb), &cb), AX_PENDING);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(out, 1);
  ck_assert_int_eq(ca.w.wakes, 1);
  ck_assert_int_eq(cb.w.wakes, 0);
  /* A's slot is reserved for it: try_send cannot barge in. */
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v2), AX_EFULL);
  ck_assert_int_eq(TH_POLL(&a.base, &ca), AX_READY);
  ck_assert_int_eq(a.result, 0);
  ax_drop(&a.base);
  ck_assert_int_eq(TH_POLL(&b.base, &cb), AX_PENDING);

  /* The receiver waits on an empty queue and a sender wakes it. */
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(out, 2);
  ck_assert_int_eq(cb.w.wakes, 1);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(out, 10);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &cr), AX_PENDING);
  ck_assert_int_eq(TH_POLL(&b.base, &cb), AX_READY);
  ck_assert_int_eq(b.result, 0);
  ax_drop(&b.base);
  ck_assert_int_eq(cr.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &cr), AX_READY);
  ck_assert_int_eq(out, 11);
  ax_drop(&r.base);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 2);

  ax_mpsc_sender_drop(tx);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(ca.w.refs + cb.w.refs + cr.w.refs, 0);
}
END_TEST

/* A sender handed a slot but dropped before it saw it (a select loser)
 * passes the slot on: the next sender gets it, nothing is lost. */
START_TEST(mpsc_send_cancel_hand) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_send_t a, b, c3;
  th_cx_t ca, cb, cc;
  int v0 = 0, va = 1, vb = 2, vc = 3, out;
  TH_CX_INIT(&ca, &cb, &cc);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 1, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v0), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_send(&a, tx, &va), &ca), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_mpsc_send(&b, tx, &vb), &cb), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_mpsc_send(&c3, tx, &vc), &cc), AX_PENDING);
  /* c3 leaves the queue while waiting. */
  ax_drop(&c3.base);
  ck_assert_int_eq(cc.w.refs, 0);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(ca.w.wakes, 1);
  ax_drop(&a.base);  /* handed the slot, never polled again */
  ck_assert_int_eq(cb.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&b.base, &cb), AX_READY);
  ck_assert_int_eq(b.result, 0);
  ax_drop(&b.base);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(out, 2);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_EEMPTY);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 1);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(ca.w.refs + cb.w.refs + cc.w.refs, 0);
}
END_TEST

START_TEST(mpsc_close_hand) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_send_t s;
  th_cx_t c;
  int *v, *out = NULL, i;
  th_cx_init(&c);
  values_reset();
  ck_assert_int_eq(ax_mpsc_new(sizeof(int *), 2, val_drop, &tx, &rx), 0);
  for (i = 0; i < 2; i++) {
    v = val_new(i);
    ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
  }
  v = val_new(2);
  ck_assert_int_eq(TH_POLL(ax_mpsc_send(&s, tx, &v), &c), AX_PENDING);
  ck_assert_int_eq(ax_mpsc_is_closed(tx), 0);
  ax_mpsc_close(rx);
  ck_assert_int_eq(ax_mpsc_is_closed(tx), 1);
  /* The waiting sender wakes with AX_ECLOSED; its value is still its own. */
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&s.base, &c), AX_READY);
  ck_assert_int_eq(s.result, AX_ECLOSED);
  ax_drop(&s.base);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v), AX_ECLOSED);
  ck_assert_int_eq(*v, 2);
  val_free(v);
  /* What was queued before close is still received, then: closed. */
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(*out, 0);
  val_free(out);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(*out, 1);
  val_free(out);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);
  ax_mpsc_sender_drop(tx);
  ck_assert_int_eq(atomic_load(&value_drops), 0);
  ck_assert_int_eq(atomic_load(&live_values), 0);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* The destructor runs exactly once on each value still queued. */
START_TEST(mpsc_drop_values_hand) {
  int bounded;
  for (bounded = 0; bounded < 2; bounded++) {
    ax_mpsc_tx_t *tx;
    ax_mpsc_rx_t *rx;
    int *v, *out, i;
    values_reset();
    if (bounded)
      ck_assert_int_eq(ax_mpsc_new(sizeof(int *), 100, val_drop, &tx,
                                       &rx), 0);
    else
      ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(int *), val_drop, &tx, &rx),
                       0);
    for (i = 0; i < 70; i++) {
      v = val_new(i);
      ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
    }
    for (i = 0; i < 30; i++) {
      ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
      ck_assert_int_eq(*out, i);
      val_free(out);
    }
    ax_mpsc_receiver_drop(rx);  /* 40 still queued */
    ck_assert_int_eq(atomic_load(&value_drops), 40);
    v = val_new(1000);
    ck_assert_int_eq(ax_mpsc_try_send(tx, &v), AX_ECLOSED);
    val_free(v);
    ax_mpsc_sender_drop(tx);
    ck_assert_int_eq(atomic_load(&value_drops), 40);
    ck_assert_int_eq(atomic_load(&live_values), 0);

    /* Sender dropped last, values never received: freed with it. */
    values_reset();
    ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(int *), val_drop, &tx, &rx), 0);
    for (i = 0; i < 5; i++) {
      v = val_new(i);
      ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
    }
    ax_mpsc_receiver_drop(rx);
    ax_mpsc_sender_drop(tx);
    ck_assert_int_eq(atomic_load(&value_drops), 5);
    ck_assert_int_eq(atomic_load(&live_values), 0);
  }
}
END_TEST

START_TEST(mpsc_reserve_hand) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_reserve_t r1, r2;
  ax_mpsc_permit_t p;
  ax_mpsc_recv_t rv;
  th_cx_t c1, c2, cr;
  int v = 5, out = 0;
  TH_CX_INIT(&c1, &c2, &cr);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 1, NULL, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&r1, tx), &c1), AX_READY);
  ck_assert_int_eq(r1.result, 0);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v), AX_EFULL);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), AX_EFULL);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&r2, tx), &c2), AX_PENDING);
  /* Dropping an unused reserve future gives its slot back: to r2. */
  ax_drop(&r1.base);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r2.base, &c2), AX_READY);
  ck_assert_int_eq(r2.result, 0);
  /* The permit keeps the channel open after the last sender handle. */
  p = r2.permit;
  r2.permit.tx = NULL;
  ax_drop(&r2.base);
  ax_mpsc_sender_drop(tx);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&rv, rx, &out), &cr), AX_PENDING);
  ck_assert_int_eq(ax_mpsc_permit_send(&p, &v), 0);
  ck_assert_ptr_null(p.tx);
  ck_assert_int_eq(cr.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&rv.base, &cr), AX_READY);
  ck_assert_int_eq(rv.result, 0);
  ck_assert_int_eq(out, 5);
  ax_drop(&rv.base);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);

  /* try_reserve, then the receiver closes: the permit still sends (as
   * Tokio's), and the receiver gets the value before AX_ECLOSED. */
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 3, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 2);
  ax_mpsc_close(rx);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_EEMPTY);
  ck_assert_int_eq(ax_mpsc_permit_send(&p, &v), 0);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_ECLOSED);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), AX_ECLOSED);
  ax_mpsc_permit_release(&p);  /* holds nothing: no-op */
  ax_mpsc_receiver_drop(rx);
  ax_mpsc_sender_drop(tx);

  /* Unbounded: reserve is immediate. */
  ck_assert_int_eq(ax_mpsc_new_unbounded(0, NULL, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&r1, tx), &c1), AX_READY);
  ck_assert_int_eq(ax_mpsc_permit_send(&r1.permit, NULL), 0);
  ax_drop(&r1.base);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), 0);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + cr.w.refs, 0);
}
END_TEST

/* ======================================================================
 * broadcast and watch, by hand
 * ====================================================================== */

START_TEST(broadcast_hand) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *a, *b, *late;
  ax_broadcast_recv_t r;
  th_cx_t c;
  uint64_t lagged = 0;
  int i, v, out;
  th_cx_init(&c);
  ck_assert_int_eq(ax_broadcast_new(sizeof(int), 4, NULL, NULL, &tx, &a), 0);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &b), 0);
  ck_assert_uint_eq(ax_broadcast_receiver_count(tx), 2);
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(ax_broadcast_send(tx, &i), 0);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &late), 0);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(ax_broadcast_try_recv(a, &out, &lagged), 0);
    ck_assert_int_eq(out, i);
    ck_assert_int_eq(ax_broadcast_try_recv(b, &out, &lagged), 0);
    ck_assert_int_eq(out, i);
  }
  ck_assert_int_eq(ax_broadcast_try_recv(a, &out, &lagged), AX_EEMPTY);
  ck_assert_int_eq(ax_broadcast_try_recv(late, &out, &lagged), AX_EEMPTY);

  /* Ten more into a ring of 4: a, at 3, missed 3..8 (6 values). */
  for (i = 3; i < 13; i++)
    ck_assert_int_eq(ax_broadcast_send(tx, &i), 0);
  ck_assert_int_eq(ax_broadcast_try_recv(a, &out, &lagged), AX_ELAGGED);
  ck_assert_uint_eq(lagged, 6);  /* values 3..8 were overwritten */
  for (i = 9; i < 13; i++) {
    ck_assert_int_eq(ax_broadcast_try_recv(a, &out, &lagged), 0);
    ck_assert_int_eq(out, i);
  }
  /* The recv future reports the lag too, then continues. */
  ck_assert_int_eq(TH_POLL(ax_broadcast_recv(&r, b, &out), &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ELAGGED);
  ck_assert_uint_eq(r.lagged, 6);
  ax_drop(&r.base);
  ck_assert_int_eq(TH_POLL(ax_broadcast_recv(&r, b, &out), &c), AX_READY);
  ck_assert_int_eq(r.result, 0);
  ck_assert_int_eq(out, 9);
  ax_drop(&r.base);

  /* Waiting: a send wakes the receiver. */
  ck_assert_int_eq(TH_POLL(ax_broadcast_recv(&r, a, &out), &c), AX_PENDING);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_PENDING);
  ck_assert_int_eq(c.w.refs, 1);
  v = 77;
  ck_assert_int_eq(ax_broadcast_send(tx, &v), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(out, 77);
  ax_drop(&r.base);
  /* A waiting recv dropped leaves the queue. */
  ck_assert_int_eq(TH_POLL(ax_broadcast_recv(&r, a, &out), &c), AX_PENDING);
  ax_drop(&r.base);
  ck_assert_int_eq(c.w.refs, 0);

  /* Sender gone: receivers drain, then AX_ECLOSED. */
  ck_assert_int_eq(TH_POLL(ax_broadcast_recv(&r, a, &out), &c), AX_PENDING);
  ax_broadcast_sender_drop(tx);
  ck_assert_int_eq(c.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ax_drop(&r.base);
  /* late (at 3) missed 3..9; 10, 11, 12 and 77 are still kept. */
  ck_assert_int_eq(ax_broadcast_try_recv(late, &out, &lagged), AX_ELAGGED);
  ck_assert_uint_eq(lagged, 7);
  ck_assert_int_eq(ax_broadcast_try_recv(late, &out, NULL), 0);
  ck_assert_int_eq(out, 10);
  ax_broadcast_receiver_drop(a);
  ax_broadcast_receiver_drop(b);
  ax_broadcast_receiver_drop(late);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

START_TEST(broadcast_values_hand) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *a, *b;
  int *v, *out;
  uint64_t lag;
  int i;
  values_reset();
  /* No receiver: the send fails and the value stays the caller's. */
  ck_assert_int_eq(ax_broadcast_new(sizeof(int *), 3, val_clone, val_drop,
                                    &tx, NULL), 0);
  v = val_new(1);
  ck_assert_int_eq(ax_broadcast_send(tx, &v), AX_ECLOSED);
  ck_assert_int_eq(*v, 1);
  val_free(v);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &a), 0);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &b), 0);
  for (i = 0; i < 5; i++) {  /* 0, 1 overwritten before anyone read */
    v = val_new(i);
    ck_assert_int_eq(ax_broadcast_send(tx, &v), 0);
  }
  ck_assert_int_eq(atomic_load(&value_drops), 2);
  ck_assert_int_eq(ax_broadcast_try_recv(a, &out, &lag), AX_ELAGGED);
  ck_assert_uint_eq(lag, 2);
  for (i = 2; i < 5; i++) {  /* a gets clones */
    ck_assert_int_eq(ax_broadcast_try_recv(a, &out, &lag), 0);
    ck_assert_int_eq(*out, i);
    val_free(out);
  }
  ck_assert_int_eq(ax_broadcast_try_recv(b, &out, &lag), AX_ELAGGED);
  ck_assert_int_eq(ax_broadcast_try_recv(b, &out, &lag), 0);  /* moved */
  ck_assert_int_eq(*out, 2);
  val_free(out);
  /* b drops its share of 3 and 4 when it goes. */
  ax_broadcast_receiver_drop(b);
  ax_broadcast_receiver_drop(a);
  ax_broadcast_sender_drop(tx);
  ck_assert_int_eq(atomic_load(&live_values), 0);
}
END_TEST

START_TEST(watch_hand) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx, *late, *cl;
  ax_watch_changed_t ch;
  th_cx_t c;
  int v = 0, out = -1, i, changed = -1;
  const int *p;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  ax_watch_borrow(rx, &out);
  ck_assert_int_eq(out, 0);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_PENDING);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_PENDING);
  ck_assert_int_eq(c.w.refs, 1);
  /* Three sends before the receiver looks: it sees only the latest. */
  for (i = 1; i <= 3; i++)
    ck_assert_int_eq(ax_watch_send(tx, &i), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_READY);
  ck_assert_int_eq(ch.result, 0);
  ax_drop(&ch.base);
  p = ax_watch_borrow_lock(rx);
  ck_assert_int_eq(*p, 3);
  ax_watch_borrow_unlock(rx);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_PENDING);
  ax_drop(&ch.base);
  ck_assert_int_eq(c.w.refs, 0);

  /* A late receiver sees the current value, marked seen; a clone shares
   * what its origin saw. */
  ck_assert_int_eq(ax_watch_subscribe(tx, &late), 0);
  ck_assert_int_eq(ax_watch_has_changed(late, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ax_watch_borrow(late, &out);
  ck_assert_int_eq(out, 3);
  i = 4;
  ck_assert_int_eq(ax_watch_send(tx, &i), 0);
  ck_assert_int_eq(ax_watch_receiver_clone(late, &cl), 0);
  ck_assert_int_eq(ax_watch_has_changed(cl, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ax_watch_borrow_and_update(cl, &out);
  ck_assert_int_eq(out, 4);
  ck_assert_int_eq(ax_watch_has_changed(cl, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ck_assert_int_eq(ax_watch_has_changed(late, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ck_assert_uint_eq(ax_watch_receiver_count(tx), 3);

  /* The sender goes: changed() reports it after the last value. */
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, cl), &c), AX_PENDING);
  ax_watch_sender_drop(tx);
  ck_assert_int_eq(c.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_READY);
  ck_assert_int_eq(ch.result, AX_ECLOSED);
  ax_drop(&ch.base);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, late), &c), AX_READY);
  ck_assert_int_eq(ch.result, 0);  /* 4 was not seen yet */
  ax_drop(&ch.base);
  ck_assert_int_eq(ax_watch_has_changed(late, &changed), AX_ECLOSED);
  ck_assert_int_eq(changed, 0);
  ax_watch_receiver_drop(rx);
  ax_watch_receiver_drop(late);
  ax_watch_receiver_drop(cl);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

START_TEST(watch_values_hand) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx;
  int *v, *out, *old = NULL;
  int i;
  values_reset();
  v = val_new(0);
  ck_assert_int_eq(ax_watch_new(sizeof(int *), &v, val_clone, val_drop, &tx,
                                &rx), 0);
  for (i = 1; i <= 3; i++) {  /* each replaced value dropped once */
    v = val_new(i);
    ck_assert_int_eq(ax_watch_send(tx, &v), 0);
  }
  ck_assert_int_eq(atomic_load(&value_drops), 3);
  ax_watch_borrow(rx, &out);  /* a clone of its own */
  ck_assert_int_eq(*out, 3);
  val_free(out);
  v = val_new(4);
  ax_watch_send_replace(tx, &v, &old);  /* the old value moves out */
  ck_assert_int_eq(*old, 3);
  val_free(old);
  ax_watch_receiver_drop(rx);
  v = val_new(5);
  ck_assert_int_eq(ax_watch_send(tx, &v), AX_ECLOSED);  /* nobody left */
  ck_assert_int_eq(*v, 5);
  val_free(v);
  ax_watch_sender_drop(tx);  /* drops the current value (4) */
  ck_assert_int_eq(atomic_load(&value_drops), 4);
  ck_assert_int_eq(atomic_load(&live_values), 0);
}
END_TEST

/* ======================================================================
 * Runtime tests: _i == 0 current-thread, 1 multi-thread.
 * Tasks record what they saw in globals; the test thread asserts after
 * ax_block_on returned (th_run, helpers.h).
 * ====================================================================== */

static atomic_int errors;  /* anything a task found wrong */
#define TASK_CHECK(cond)                                                    \
  do {                                                                      \
    if (!(cond))                                                            \
      atomic_fetch_add(&errors, 1);                                         \
  } while (0)

/* The awaits of a main task's join: a task that failed is an error. */
#define JOIN_ALL(s, handles, count)                                         \
  AX_AWAIT(th_joins(&(s)->j, (handles), (count)));                         \
  atomic_fetch_add(&errors, (s)->j.failed)

/* Runs main on a runtime of flavour multi: no task may find an error. */
#define run_checked(multi, main)                                            \
  th_run_checked((multi), WORKERS, (main), &errors)

/* ---- the chapter's producer / consumer ----------------------------------
 *   let (tx, mut rx) = mpsc::channel::<String>(32);
 *   let tx_clone = tx.clone();
 *   tokio::spawn(async move { for i in 0..5 { tx_clone.send(..).await } });
 *   drop(tx);
 *   while let Some(msg) = rx.recv().await { println!("Got: {msg}"); }
 */
typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;   /* owned: dropped by the drop handler */
  int i;
  char *msg;
  ax_mpsc_send_t send;
} producer_t;

AX_ASYNC_DROP(producer_drop, producer_t, s) {
  ax_mpsc_sender_drop(s->tx);
  s->tx = NULL;
}

AX_ASYNC(producer, producer_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 5; s->i++) {
    s->msg = malloc(32);
    snprintf(s->msg, 32, "message %d", s->i);
    AX_AWAIT(ax_mpsc_send(&s->send, s->tx, &s->msg));
    TASK_CHECK(s->send.result == 0);
  }
  AX_END();
}

static char got[5][32];
static int ngot;

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  char *msg;
  ax_mpsc_recv_t recv;
  ax_join_t h;
} chapter_main_t;

static void free_str(void *e) { free(*(char **)e); }

AX_ASYNC(chapter_main, chapter_main_t, s) {
  AX_BEGIN(s);
  TASK_CHECK(ax_mpsc_new(sizeof(char *), 32, free_str, &s->tx, &s->rx) ==
             0);
  {
    producer_t p = {0};
    p.tx = ax_mpsc_sender_clone(s->tx);
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(producer, producer_drop, &p),
                        sizeof p, &s->h) == 0);
  }
  ax_mpsc_sender_drop(s->tx);
  for (;;) {
    AX_AWAIT(ax_mpsc_recv(&s->recv, s->rx, &s->msg));
    if (s->recv.result != 0)
      break;
    if (ngot < 5)
      memcpy(got[ngot], s->msg, strlen(s->msg) + 1);
    ngot++;
    free(s->msg);
  }
  AX_AWAIT(ax_join_wait(&s->h));
  ax_join_drop(&s->h);
  ax_mpsc_receiver_drop(s->rx);
  AX_END();
}

START_TEST(chapter_mpsc_rt) {
  chapter_main_t m = {0};
  int i;
  ngot = 0;
  run_checked(_i, AX_FUTURE(chapter_main, &m));
  ck_assert_int_eq(ngot, 5);
  for (i = 0; i < 5; i++) {
    char want[32];
    snprintf(want, sizeof want, "message %d", i);
    ck_assert_str_eq(got[i], want);
  }
}
END_TEST

/* ---- many producers: tasks and foreign threads, no loss, no dup -------- */

#define MP_TASKS 6
#define MP_THREADS 2
#define MP_PRODUCERS (MP_TASKS + MP_THREADS)

static struct {
  unsigned long per;          /* values per producer */
  int bounded;
  size_t cap;
  int select_send;            /* task producers race send against yield */
  ax_mpsc_rx_t *rx;
  uint64_t next[MP_PRODUCERS];  /* receiver: next sequence expected */
  uint64_t count;
  uint64_t sum;
  atomic_ulong spins;          /* foreign threads: times they found it full */
  atomic_ulong lost_sends;     /* sends that lost a select */
  unsigned long lost_recvs;    /* recvs that lost a select */
} MP;

static uint64_t mp_value(unsigned id, uint64_t seq) {
  return ((uint64_t)id << 40) | seq;
}

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  unsigned id;
  unsigned long i;
  uint64_t v;
  ax_mpsc_send_t send;
  ax_yield_t y;
  ax_select_t sel;
} mp_task_t;

AX_ASYNC_DROP(mp_task_drop, mp_task_t, s) {
  ax_mpsc_sender_drop(s->tx);
  s->tx = NULL;
}

AX_ASYNC(mp_task, mp_task_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < MP.per; s->i++) {
    s->v = mp_value(s->id, s->i);
    if (MP.select_send && s->i % 2 == 0) {
      /* Race the send against a yield: when the yield wins, the send was
       * dropped (maybe just after being handed a slot, which then passes
       * on) and did not send: send the same value again below. */
      AX_AWAIT(ax_select(&s->sel, ax_mpsc_send(&s->send, s->tx, &s->v),
                         ax_yield_now(&s->y)));
      if (s->sel.winner == 0) {
        TASK_CHECK(s->send.result == 0);
        continue;
      }
      atomic_fetch_add(&MP.lost_sends, 1);
    }
    AX_AWAIT(ax_mpsc_send(&s->send, s->tx, &s->v));
    TASK_CHECK(s->send.result == 0);
  }
  AX_END();
}

typedef struct {
  ax_mpsc_tx_t *tx;  /* owned by the thread */
  unsigned id;
} mp_thread_arg_t;

/* A thread axle does not know: blocking_send, or try_send spinning while
 * the channel is full (only with room for 64: retries sleep). */
static void mp_thread(void *arg) {
  mp_thread_arg_t *a = arg;
  int blocking = MP.bounded && (a->id % 2 == 0 || MP.cap < 64);
  unsigned long i;
  for (i = 0; i < MP.per; i++) {
    uint64_t v = mp_value(a->id, i);
    int r;
    if (blocking) {
      r = ax_mpsc_blocking_send(a->tx, &v);
    } else {
      while ((r = ax_mpsc_try_send(a->tx, &v)) == AX_EFULL) {
        atomic_fetch_add(&MP.spins, 1);
        uv_sleep(0);
      }
    }
    if (r != 0)
      atomic_fetch_add(&errors, 1);
  }
  ax_mpsc_sender_drop(a->tx);
}

static void mp_receive(uint64_t v) {
  unsigned id = (unsigned)(v >> 40);
  uint64_t seq = v & (((uint64_t)1 << 40) - 1);
  if (id >= MP_PRODUCERS || MP.next[id] != seq) {  /* FIFO per sender */
    atomic_fetch_add(&errors, 1);
    return;
  }
  MP.next[id]++;
  MP.count++;
  MP.sum += v;
}

typedef struct {
  ax_async_t co;
  int i;
  uint64_t v;
  ax_mpsc_recv_t recv;
  ax_select_t sel;
  ax_yield_t y;
  ax_join_t h[MP_TASKS];
  ax_mpsc_tx_t *tx;
  uv_thread_t th[MP_THREADS];
  mp_thread_arg_t targ[MP_THREADS];
  unsigned long n;
  th_joins_t j;
} mp_main_t;

AX_ASYNC(mp_main, mp_main_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < MP_TASKS; s->i++) {
    mp_task_t t = {0};
    t.tx = ax_mpsc_sender_clone(s->tx);
    t.id = (unsigned)s->i;
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(mp_task, mp_task_drop, &t), sizeof t,
                        &s->h[s->i]) == 0);
  }
  for (s->i = 0; s->i < MP_THREADS; s->i++) {
    s->targ[s->i].tx = ax_mpsc_sender_clone(s->tx);
    s->targ[s->i].id = MP_TASKS + (unsigned)s->i;
    TASK_CHECK(uv_thread_create(&s->th[s->i], mp_thread, &s->targ[s->i]) ==
               0);
  }
  ax_mpsc_sender_drop(s->tx);
  s->tx = NULL;
  /* Every fourth recv races a yield: a recv that loses took nothing. */
  for (s->n = 0;; s->n++) {
    if (s->n % 4 == 0) {
      AX_AWAIT(ax_select(&s->sel, ax_mpsc_recv(&s->recv, MP.rx, &s->v),
                         ax_yield_now(&s->y)));
      if (s->sel.winner != 0) {
        MP.lost_recvs++;
        continue;
      }
    } else {
      AX_AWAIT(ax_mpsc_recv(&s->recv, MP.rx, &s->v));
    }
    if (s->recv.result != 0)
      break;
    mp_receive(s->v);
  }
  JOIN_ALL(s, s->h, MP_TASKS);
  for (s->i = 0; s->i < MP_THREADS; s->i++)
    uv_thread_join(&s->th[s->i]);
  AX_END();
}

static void mp_run(int multi, int bounded, size_t cap, int select_send) {
  mp_main_t m = {0};
  uint64_t want_sum = 0;
  unsigned id;
  unsigned long i;
  memset(&MP, 0, sizeof MP);
  /* Capacity 1 hands every value over between threads: fewer of them. */
  MP.per = ax_test_iters(cap == 1 ? 4000 : 20000);
  MP.bounded = bounded;
  MP.cap = cap;
  MP.select_send = select_send;
  if (bounded)
    ck_assert_int_eq(ax_mpsc_new(sizeof(uint64_t), cap, NULL, &m.tx,
                                     &MP.rx), 0);
  else
    ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(uint64_t), NULL, &m.tx, &MP.rx),
                     0);
  run_checked(multi, AX_FUTURE(mp_main, &m));
  ax_mpsc_receiver_drop(MP.rx);
  ck_assert_uint_eq(MP.count, (uint64_t)MP_PRODUCERS * MP.per);
  for (id = 0; id < MP_PRODUCERS; id++) {
    ck_assert_uint_eq(MP.next[id], MP.per);
    for (i = 0; i < MP.per; i++)
      want_sum += mp_value(id, i);
  }
  ck_assert_uint_eq(MP.sum, want_sum);
}

START_TEST(mpsc_many_producers_unbounded_rt) { mp_run(_i, 0, 0, 0); }
END_TEST
START_TEST(mpsc_many_producers_bounded_rt) { mp_run(_i, 1, 64, 0); }
END_TEST
START_TEST(mpsc_many_producers_full_rt) { mp_run(_i, 1, 1, 1); }
END_TEST

/* ---- oneshot round trips: every oneshot carries the next sender -------- */

static struct {
  unsigned long rounds;
  unsigned long a_rounds, b_rounds;
} OR;

static void drop_os_tx(void *e) {
  ax_oneshot_sender_drop(*(ax_oneshot_tx_t **)e);
}

typedef struct {
  ax_async_t co;
  ax_oneshot_tx_t *cur;      /* owned: where to send the next request */
  ax_oneshot_tx_t *ptx;      /* this round's reply channel */
  ax_oneshot_rx_t *prx;
  unsigned long i;
  ax_oneshot_recv_t recv;
} os_a_t;

/* Runs when A's task ends: B's next receive sees AX_ECLOSED. */
AX_ASYNC_DROP(os_a_drop, os_a_t, s) {
  ax_oneshot_sender_drop(s->cur);
  ax_oneshot_receiver_drop(s->prx);
  s->cur = NULL;
  s->prx = NULL;
}

AX_ASYNC(os_a, os_a_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < OR.rounds; s->i++) {
    TASK_CHECK(ax_oneshot_new(sizeof(ax_oneshot_tx_t *), drop_os_tx, &s->ptx,
                              &s->prx) == 0);
    TASK_CHECK(ax_oneshot_send(s->cur, &s->ptx) == 0);  /* consumes cur */
    s->cur = NULL;
    AX_AWAIT(ax_oneshot_recv(&s->recv, s->prx, &s->cur));
    ax_drop(&s->recv.base);
    TASK_CHECK(s->recv.result == 0);
    ax_oneshot_receiver_drop(s->prx);
    s->prx = NULL;
    OR.a_rounds++;
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_oneshot_rx_t *cur;      /* owned: where the next request comes from */
  ax_oneshot_tx_t *reply;
  ax_oneshot_tx_t *ntx;
  ax_oneshot_rx_t *nrx;
  ax_oneshot_recv_t recv;
} os_b_t;

AX_ASYNC_DROP(os_b_drop, os_b_t, s) {
  ax_oneshot_receiver_drop(s->cur);
  s->cur = NULL;
}

AX_ASYNC(os_b, os_b_t, s) {
  AX_BEGIN(s);
  for (;;) {
    AX_AWAIT(ax_oneshot_recv(&s->recv, s->cur, &s->reply));
    ax_drop(&s->recv.base);
    if (s->recv.result != 0)
      break;
    ax_oneshot_receiver_drop(s->cur);
    TASK_CHECK(ax_oneshot_new(sizeof(ax_oneshot_tx_t *), drop_os_tx, &s->ntx,
                              &s->nrx) == 0);
    TASK_CHECK(ax_oneshot_send(s->reply, &s->ntx) == 0);
    s->cur = s->nrx;
    OR.b_rounds++;
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  int i;
  ax_join_t h[2];
  th_joins_t j;
} os_main_t;

AX_ASYNC(os_main, os_main_t, s) {
  AX_BEGIN(s);
  {
    os_a_t a = {0};
    os_b_t b = {0};
    TASK_CHECK(ax_oneshot_new(sizeof(ax_oneshot_tx_t *), drop_os_tx, &a.cur,
                              &b.cur) == 0);
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(os_a, os_a_drop, &a), sizeof a,
                        &s->h[0]) == 0);
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(os_b, os_b_drop, &b), sizeof b,
                        &s->h[1]) == 0);
  }
  JOIN_ALL(s, s->h, 2);
  AX_END();
}

START_TEST(oneshot_roundtrip_rt) {
  os_main_t m = {0};
  memset(&OR, 0, sizeof OR);
  OR.rounds = ax_test_iters(20000);
  run_checked(_i, AX_FUTURE(os_main, &m));
  ck_assert_uint_eq(OR.a_rounds, OR.rounds);
  ck_assert_uint_eq(OR.b_rounds, OR.rounds);
}
END_TEST

/* ---- watch: the chapter's shutdown signal; only the latest value ------- */

typedef struct {
  ax_async_t co;
  ax_watch_tx_t *tx;   /* owned */
  ax_sleep_t delay;
  int v;
} signaller_t;

AX_ASYNC_DROP(signaller_drop, signaller_t, s) {
  ax_watch_sender_drop(s->tx);
  s->tx = NULL;
}

AX_ASYNC(signaller, signaller_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_sleep(&s->delay, 5));
  s->v = 1;
  TASK_CHECK(ax_watch_send(s->tx, &s->v) == 0);
  AX_END();
}

static int shutdown_seen;

typedef struct {
  ax_async_t co;
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx;
  ax_watch_changed_t changed;
  ax_select_t sel;
  ax_sleep_t tick;
  ax_join_t h;
  int v;
} shutdown_main_t;

AX_ASYNC(shutdown_main, shutdown_main_t, s) {
  AX_BEGIN(s);
  s->v = 0;
  TASK_CHECK(ax_watch_new(sizeof(int), &s->v, NULL, NULL, &s->tx, &s->rx) ==
             0);
  {
    signaller_t sig = {0};
    sig.tx = s->tx;  /* moved into the task */
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(signaller, signaller_drop, &sig),
                        sizeof sig, &s->h) == 0);
  }
  /* loop { select! { _ = shutdown_rx.changed() => if *borrow() { break } } } */
  for (;;) {
    AX_AWAIT(ax_select(&s->sel, ax_watch_changed(&s->changed, s->rx),
                       ax_sleep(&s->tick, 1)));
    if (s->sel.winner != 0)
      continue;  /* other work would go here */
    if (s->changed.result != 0)
      break;
    ax_watch_borrow(s->rx, &s->v);
    if (s->v) {
      shutdown_seen = 1;  /* println!("Shutting down") */
      break;
    }
  }
  AX_AWAIT(ax_join_wait(&s->h));
  ax_join_drop(&s->h);
  ax_watch_receiver_drop(s->rx);
  AX_END();
}

START_TEST(watch_shutdown_rt) {
  shutdown_main_t m = {0};
  shutdown_seen = 0;
  run_checked(_i, AX_FUTURE(shutdown_main, &m));
  ck_assert_int_eq(shutdown_seen, 1);
}
END_TEST

static struct {
  int n;
  int last;       /* receiver: last value seen */
  int seen;       /* receiver: values observed */
} WL;

typedef struct {
  ax_async_t co;
  ax_watch_tx_t *tx;   /* owned */
  int i;
  ax_yield_t y;
} wsend_t;

AX_ASYNC_DROP(wsend_drop, wsend_t, s) {
  ax_watch_sender_drop(s->tx);
  s->tx = NULL;
}

AX_ASYNC(wsend, wsend_t, s) {
  AX_BEGIN(s);
  for (s->i = 1; s->i <= WL.n; s->i++) {
    TASK_CHECK(ax_watch_send(s->tx, &s->i) == 0);
    if (s->i % 3 == 0)
      AX_AWAIT(ax_yield_now(&s->y));
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_watch_rx_t *rx;
  ax_watch_changed_t changed;
  ax_join_t h;
  int v;
} wlatest_main_t;

AX_ASYNC(wlatest_main, wlatest_main_t, s) {
  AX_BEGIN(s);
  {
    wsend_t w = {0};
    s->v = 0;
    TASK_CHECK(ax_watch_new(sizeof(int), &s->v, NULL, NULL, &w.tx, &s->rx) ==
               0);
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(wsend, wsend_drop, &w), sizeof w,
                        &s->h) == 0);
  }
  for (;;) {
    AX_AWAIT(ax_watch_changed(&s->changed, s->rx));
    if (s->changed.result != 0)
      break;
    ax_watch_borrow_and_update(s->rx, &s->v);
    TASK_CHECK(s->v > WL.last);  /* only newer values, never an old one */
    WL.last = s->v;
    WL.seen++;
  }
  ax_watch_borrow(s->rx, &s->v);
  TASK_CHECK(s->v == WL.n);
  AX_AWAIT(ax_join_wait(&s->h));
  ax_join_drop(&s->h);
  ax_watch_receiver_drop(s->rx);
  AX_END();
}

START_TEST(watch_latest_rt) {
  wlatest_main_t m = {0};
  memset(&WL, 0, sizeof WL);
  WL.n = (int)ax_test_iters(3000);
  run_checked(_i, AX_FUTURE(wlatest_main, &m));
  ck_assert_int_eq(WL.last, WL.n);
  ck_assert_int_ge(WL.seen, 1);
  ck_assert_int_le(WL.seen, WL.n);
}
END_TEST

/* ---- broadcast: receivers account for every value (got or lagged) ------ */

#define BC_RX 4
static struct {
  unsigned long n;
  uint64_t got[BC_RX];
  uint64_t lagged[BC_RX];
} BCT;

typedef struct {
  ax_async_t co;
  ax_broadcast_tx_t *tx;  /* owned */
  unsigned long i;
  uint64_t v;
  ax_yield_t y;
} bsend_t;

AX_ASYNC_DROP(bsend_drop, bsend_t, s) {
  ax_broadcast_sender_drop(s->tx);
  s->tx = NULL;
}

AX_ASYNC(bsend, bsend_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < BCT.n; s->i++) {
    s->v = s->i;
    TASK_CHECK(ax_broadcast_send(s->tx, &s->v) == 0);
    if (s->i % 16 == 15)
      AX_AWAIT(ax_yield_now(&s->y));
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_broadcast_rx_t *rx;  /* owned */
  int id;
  uint64_t expect, v;
  ax_broadcast_recv_t recv;
} brecv_t;

AX_ASYNC_DROP(brecv_drop, brecv_t, s) {
  ax_broadcast_receiver_drop(s->rx);
  s->rx = NULL;
}

AX_ASYNC(brecv, brecv_t, s) {
  AX_BEGIN(s);
  for (;;) {
    AX_AWAIT(ax_broadcast_recv(&s->recv, s->rx, &s->v));
    if (s->recv.result == AX_ECLOSED)
      break;
    if (s->recv.result == AX_ELAGGED) {
      s->expect += s->recv.lagged;
      BCT.lagged[s->id] += s->recv.lagged;
      continue;
    }
    TASK_CHECK(s->recv.result == 0 && s->v == s->expect);
    s->expect = s->v + 1;
    BCT.got[s->id]++;
  }
  TASK_CHECK(s->expect == BCT.n);
  AX_END();
}

typedef struct {
  ax_async_t co;
  int i;
  ax_join_t h[BC_RX + 1];
  th_joins_t j;
} bc_main_t;

AX_ASYNC(bc_main, bc_main_t, s) {
  AX_BEGIN(s);
  {
    bsend_t snd = {0};
    brecv_t r;
    TASK_CHECK(ax_broadcast_new(sizeof(uint64_t), 8, NULL, NULL, &snd.tx,
                                NULL) == 0);
    for (s->i = 0; s->i < BC_RX; s->i++) {
      memset(&r, 0, sizeof r);
      r.id = s->i;
      TASK_CHECK(ax_broadcast_subscribe(snd.tx, &r.rx) == 0);
      TASK_CHECK(ax_spawn(AX_FUTURE_DROP(brecv, brecv_drop, &r), sizeof r,
                          &s->h[s->i]) == 0);
    }
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(bsend, bsend_drop, &snd), sizeof snd,
                        &s->h[BC_RX]) == 0);
  }
  JOIN_ALL(s, s->h, BC_RX + 1);
  AX_END();
}

START_TEST(broadcast_rt) {
  bc_main_t m = {0};
  int k;
  memset(&BCT, 0, sizeof BCT);
  BCT.n = ax_test_iters(20000);
  run_checked(_i, AX_FUTURE(bc_main, &m));
  for (k = 0; k < BC_RX; k++)
    ck_assert_uint_eq(BCT.got[k] + BCT.lagged[k], BCT.n);
}
END_TEST

/* ---- blocking_send / blocking_recv from a plain thread ------------------
 * Tasks send into a bounded channel that a plain thread drains with
 * blocking_recv; the thread answers on a oneshot that the main task awaits,
 * then blocking_sends into a second channel the main task reads.  On a
 * runtime thread the blocking calls refuse with AX_ENESTED. */

static struct {
  unsigned long per;
  ax_mpsc_rx_t *rx;         /* drained by the thread */
  ax_mpsc_tx_t *back;       /* the thread's sender to the main task */
  ax_oneshot_tx_t *done;    /* the thread's answer */
  uint64_t count, sum;      /* thread side */
  int nested;               /* main task: what the blocking calls said */
} BL;

static void bl_thread(void *arg) {
  uint64_t v, i;
  (void)arg;
  while (ax_mpsc_blocking_recv(BL.rx, &v) == 0) {
    BL.count++;
    BL.sum += v;
  }
  if (ax_oneshot_send(BL.done, &BL.count) != 0)
    atomic_fetch_add(&errors, 1);
  for (i = 0; i < 100; i++)
    if (ax_mpsc_blocking_send(BL.back, &i) != 0)
      atomic_fetch_add(&errors, 1);
  ax_mpsc_sender_drop(BL.back);
}

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;  /* owned */
  unsigned long i;
  uint64_t v;
  ax_mpsc_send_t send;
} bl_task_t;

AX_ASYNC(bl_task, bl_task_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < BL.per; s->i++) {
    s->v = s->i + 1;
    AX_AWAIT(ax_mpsc_send(&s->send, s->tx, &s->v));
    TASK_CHECK(s->send.result == 0);
  }
  ax_mpsc_sender_drop(s->tx);
  s->tx = NULL;
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *back;
  ax_oneshot_rx_t *done;
  ax_oneshot_recv_t recv;
  ax_mpsc_recv_t brecv;
  uv_thread_t th;
  uint64_t n, v, expect;
  int i;
  ax_join_t h[4];
  th_joins_t j;
} bl_main_t;

AX_ASYNC(bl_main, bl_main_t, s) {
  AX_BEGIN(s);
  BL.nested = ax_mpsc_blocking_recv(s->back, &s->v) == AX_ENESTED &&
              ax_mpsc_blocking_send(s->tx, &s->v) == AX_ENESTED &&
              ax_oneshot_blocking_recv(s->done, &s->n) == AX_ENESTED;
  TASK_CHECK(uv_thread_create(&s->th, bl_thread, NULL) == 0);
  for (s->i = 0; s->i < 4; s->i++) {
    bl_task_t t = {0};
    t.tx = ax_mpsc_sender_clone(s->tx);
    TASK_CHECK(AX_SPAWN(bl_task, &t, &s->h[s->i]) == 0);
  }
  ax_mpsc_sender_drop(s->tx);
  s->tx = NULL;
  AX_AWAIT(ax_oneshot_recv(&s->recv, s->done, &s->n));
  TASK_CHECK(s->recv.result == 0 && s->n == 4 * BL.per);
  for (s->expect = 0;; s->expect++) {
    AX_AWAIT(ax_mpsc_recv(&s->brecv, s->back, &s->v));
    if (s->brecv.result != 0)
      break;
    TASK_CHECK(s->v == s->expect);
  }
  TASK_CHECK(s->expect == 100);
  JOIN_ALL(s, s->h, 4);
  uv_thread_join(&s->th);
  AX_END();
}

START_TEST(blocking_rt) {
  bl_main_t m = {0};
  memset(&BL, 0, sizeof BL);
  BL.per = ax_test_iters(5000);
  ck_assert_int_eq(ax_mpsc_new(sizeof(uint64_t), 8, NULL, &m.tx, &BL.rx),
                   0);
  ck_assert_int_eq(ax_mpsc_new(sizeof(uint64_t), 2, NULL, &BL.back,
                                   &m.back), 0);
  ck_assert_int_eq(ax_oneshot_new(sizeof(uint64_t), NULL, &BL.done, &m.done),
                   0);
  run_checked(_i, AX_FUTURE(bl_main, &m));
  ax_mpsc_receiver_drop(BL.rx);
  ax_mpsc_receiver_drop(m.back);
  ax_oneshot_receiver_drop(m.done);
  ck_assert_int_eq(BL.nested, 1);
  ck_assert_uint_eq(BL.count, 4 * BL.per);
  ck_assert_uint_eq(BL.sum, 4 * (BL.per * (BL.per + 1) / 2));
}
END_TEST

/* ---- shutdown with tasks blocked on channels: everything is released ---
 * T sends into a bounded channel nobody reads (it blocks on the 4th value,
 * which its send future still holds) and owns a oneshot sender it never
 * uses; R waits on that oneshot before it would read.  Runtime shutdown
 * drops both: every queued value and the pending one must be freed. */

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;      /* owned */
  ax_oneshot_tx_t *otx;  /* owned: never sent */
  ax_mpsc_send_t send;
  int *v;                /* the value being sent, while it is ours */
  int i;
} stuck_tx_t;

AX_ASYNC_DROP(stuck_tx_drop, stuck_tx_t, s) {
  ax_mpsc_sender_drop(s->tx);
  ax_oneshot_sender_drop(s->otx);
  s->tx = NULL;
  s->otx = NULL;
  if (s->v != NULL)  /* a send that did not complete left it to us */
    val_free(s->v);
  s->v = NULL;
}

AX_ASYNC(stuck_tx, stuck_tx_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 10; s->i++) {
    s->v = val_new(s->i);
    AX_AWAIT(ax_mpsc_send(&s->send, s->tx, &s->v));
    if (s->send.result == 0)
      s->v = NULL;
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_mpsc_rx_t *rx;      /* owned */
  ax_oneshot_rx_t *orx;  /* owned */
  ax_oneshot_recv_t recv;
  int *w;
} stuck_rx_t;

AX_ASYNC_DROP(stuck_rx_drop, stuck_rx_t, s) {
  ax_mpsc_receiver_drop(s->rx);
  ax_oneshot_receiver_drop(s->orx);
  s->rx = NULL;
  s->orx = NULL;
}

AX_ASYNC(stuck_rx, stuck_rx_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_oneshot_recv(&s->recv, s->orx, &s->w));  /* never ready */
  TASK_CHECK(0);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_yield_t y;
  int i;
} stuck_main_t;

AX_ASYNC(stuck_main, stuck_main_t, s) {
  AX_BEGIN(s);
  {
    stuck_tx_t t = {0};
    stuck_rx_t r = {0};
    TASK_CHECK(ax_mpsc_new(sizeof(int *), 3, val_drop, &t.tx, &r.rx) ==
               0);
    TASK_CHECK(ax_oneshot_new(sizeof(int *), val_drop, &t.otx, &r.orx) == 0);
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(stuck_tx, stuck_tx_drop, &t),
                        sizeof t, NULL) == 0);
    TASK_CHECK(ax_spawn(AX_FUTURE_DROP(stuck_rx, stuck_rx_drop, &r),
                        sizeof r, NULL) == 0);
  }
  for (s->i = 0; s->i < 50; s->i++)
    AX_AWAIT(ax_yield_now(&s->y));
  AX_END();  /* the runtime shuts down with both tasks blocked */
}

START_TEST(shutdown_releases_rt) {
  stuck_main_t m = {0};
  values_reset();
  run_checked(_i, AX_FUTURE(stuck_main, &m));
  ck_assert_int_eq(atomic_load(&live_values), 0);
}
END_TEST

Suite *ax_channel_suite(void) {
  return AX_SUITE("channel",
                  AX_CASE("hand", 0),
                  AX_ONCE(oneshot_send_recv_hand),
                  AX_ONCE(oneshot_sender_dropped_hand),
                  AX_ONCE(oneshot_receiver_gone_hand),
                  AX_ONCE(oneshot_cancel_hand),
                  AX_ONCE(mpsc_unbounded_hand),
                  AX_ONCE(mpsc_bounded_hand),
                  AX_ONCE(mpsc_send_cancel_hand),
                  AX_ONCE(mpsc_close_hand),
                  AX_ONCE(mpsc_drop_values_hand),
                  AX_ONCE(mpsc_reserve_hand),
                  AX_ONCE(broadcast_hand),
                  AX_ONCE(broadcast_values_hand),
                  AX_ONCE(watch_hand),
                  AX_ONCE(watch_values_hand),
                  AX_CASE("runtime", 60),
                  AX_FLAVOURS(chapter_mpsc_rt),
                  AX_FLAVOURS(mpsc_many_producers_unbounded_rt),
                  AX_FLAVOURS(mpsc_many_producers_bounded_rt),
                  AX_FLAVOURS(mpsc_many_producers_full_rt),
                  AX_FLAVOURS(oneshot_roundtrip_rt),
                  AX_FLAVOURS(watch_shutdown_rt),
                  AX_FLAVOURS(watch_latest_rt),
                  AX_FLAVOURS(broadcast_rt),
                  AX_FLAVOURS(blocking_rt),
                  AX_FLAVOURS(shutdown_releases_rt));
}
