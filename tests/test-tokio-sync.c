/* Tokio parity suite: Tokio's own integration tests for sync, channels and
 * time, ported to axle.
 *
 * Each test is named after the Tokio test it ports, and the comment above
 * it names the Tokio file (tokio/tests/<file>.rs).  Tests for axle APIs
 * that Tokio has no test for carry a name of their own and say so.
 *
 * Two kinds of tests, as in the sync and channel suites:
 *  - hand-polled: futures polled directly with a counting test waker
 *    (helpers.h), so wake-ups and cancellation are checked exactly;
 *  - runtime: real tasks on the current-thread (_i == 0) and multi-thread
 *    (_i == 1) runtimes.  Nothing is timed: a test waits for events and
 *    asserts counts and states; a hang is a failure through the test
 *    case's timeout.
 * Every hand-polled test checks that no waker clone is left behind
 * (refs == 0); valgrind checks that nothing leaks.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define WORKERS 3   /* of the multi-thread runtime */

static atomic_int join_errors;  /* spawns or joins that failed */

/* Runs the async function body over *state as a task (th_join) on runtime
 * flavour multi and checks that it ended well, and that no task it ran
 * counted an error in join_errors. */
#define RUN_TASK(multi, fn, state)                                         \
  do {                                                                     \
    th_join_t j_;                                                          \
    th_run_checked((multi), WORKERS,                                       \
                   th_join(&j_, AX_FUTURE(fn, (state)), sizeof *(state)),  \
                   &join_errors);                                          \
    TH_ASSERT_OK(j_.result);                                               \
  } while (0)

/* ======================================================================
 * time
 * ====================================================================== */

/* tokio/tests/time_timeout.rs: timeout_is_not_exhausted_by_future.  The
 * inner future is ready-but-costly on every poll (Tokio's io::empty()
 * read): it spends the whole cooperative budget each time it is polled.
 * The timeout must still see its deadline. */
typedef struct {
  ax_async_t co;
  ax_consume_budget_t cb;   /* one budget unit per await */
} busy_t;

AX_ASYNC(busy_forever, busy_t, s) {
  AX_BEGIN(s);
  for (;;)
    AX_AWAIT(ax_consume_budget(&s->cb));
  AX_END();
}

static atomic_int to_busy_result;

typedef struct {
  ax_async_t co;
  busy_t busy;              /* the inner future */
  ax_timeout_t to;          /* 1 ms around it */
} to_busy_t;

AX_ASYNC(to_busy, to_busy_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_timeout(&s->to, AX_FUTURE(busy_forever, &s->busy), 1));
  atomic_store(&to_busy_result, s->to.result);
  ax_drop(&s->to.base);
  AX_END();
}

START_TEST(timeout_is_not_exhausted_by_future) {
  to_busy_t m = {0};
  atomic_store(&to_busy_result, 1);
  RUN_TASK(_i, to_busy, &m);
  ck_assert_int_eq(atomic_load(&to_busy_result), AX_ETIMEDOUT);
}
END_TEST

/* ======================================================================
 * mpsc (tokio/tests/sync_mpsc.rs)
 * ====================================================================== */

/* sync_mpsc.rs: recv_close_gets_none_reserved. */
START_TEST(recv_close_gets_none_reserved) {
  ax_mpsc_tx_t *tx1, *tx2;
  ax_mpsc_rx_t *rx;
  ax_mpsc_reserve_t p1, p2;
  ax_mpsc_recv_t r;
  th_cx_t c1, c2, cr;
  int v = 123, out = 0;
  TH_CX_INIT(&c1, &c2, &cr);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 1, NULL, &tx1, &rx), 0);
  tx2 = ax_mpsc_sender_clone(tx1);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&p1, tx1), &c1), AX_READY);
  ck_assert_int_eq(p1.result, 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&p2, tx2), &c2), AX_PENDING);
  ax_mpsc_close(rx);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&p2.base, &c2), AX_READY);
  ck_assert_int_eq(p2.result, AX_ECLOSED);
  ax_drop(&p2.base);
  /* The receiver waits for the outstanding permit. */
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &cr), AX_PENDING);
  ck_assert_int_eq(c1.w.wakes + c2.w.wakes, 1);
  ck_assert_int_eq(ax_mpsc_permit_send(&p1.permit, &v), 0);
  ck_assert_int_eq(cr.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &cr), AX_READY);
  ck_assert_int_eq(r.result, 0);
  ck_assert_int_eq(out, 123);
  ax_drop(&r.base);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &cr), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ax_drop(&r.base);
  ax_drop(&p1.base);
  ax_mpsc_sender_drop(tx1);
  ax_mpsc_sender_drop(tx2);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + cr.w.refs, 0);
}
END_TEST

/* Shared shape of sync_mpsc.rs's "*_wakes_closed_receiver" tests: a
 * permit is out, the receiver closes and waits; `finish` disposes of the
 * permit, which must wake the receiver, which then sees AX_ECLOSED (after
 * the value, if one was sent). */
enum { FIN_DROP, FIN_SEND, FIN_RELEASE_MANY };

static void closed_receiver_woken(int finish) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t p;
  ax_mpsc_recv_t r;
  th_cx_t cr;
  th_cx_init(&cr);
  ck_assert_int_eq(ax_mpsc_new(0, 100, NULL, &tx, &rx), 0);
  if (finish == FIN_RELEASE_MANY)
    ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, 1), 0);
  else
    ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
  ax_mpsc_close(rx);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, NULL), &cr), AX_PENDING);
  if (finish == FIN_SEND)
    ck_assert_int_eq(ax_mpsc_permit_send(&p, NULL), 0);
  else
    ax_mpsc_permit_release(&p);
  ck_assert_int_eq(cr.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &cr), AX_READY);
  ck_assert_int_eq(r.result, finish == FIN_SEND ? 0 : AX_ECLOSED);
  ax_drop(&r.base);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_ECLOSED);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(cr.w.refs, 0);
}

/* sync_mpsc.rs: dropping_last_permit_wakes_closed_receiver (and
 * dropping_last_owned_permit_wakes_closed_receiver: axle's permit is the
 * owned one). */
START_TEST(dropping_last_permit_wakes_closed_receiver) {
  closed_receiver_woken(FIN_DROP);
}
END_TEST

/* sync_mpsc.rs: sending_last_permit_wakes_closed_receiver. */
START_TEST(sending_last_permit_wakes_closed_receiver) {
  closed_receiver_woken(FIN_SEND);
}
END_TEST

/* sync_mpsc.rs: dropping_last_permit_iterator_wakes_closed_receiver. */
START_TEST(dropping_last_permit_iterator_wakes_closed_receiver) {
  closed_receiver_woken(FIN_RELEASE_MANY);
}
END_TEST

/* axle: the same promise on an unbounded channel (Tokio's unbounded
 * sender has no permits): a permit reserved before the close still sends,
 * and the receiver waits for it; a permit asked for after the close is
 * refused. */
START_TEST(unbounded_permit_survives_close) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t p, q;
  ax_mpsc_recv_t r;
  th_cx_t c;
  int v = 8, out = 0;
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, 2), 0);
  ax_mpsc_close(rx);
  ck_assert_int_eq(ax_mpsc_try_reserve(&q, tx), AX_ECLOSED);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_EEMPTY);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &c), AX_PENDING);
  ck_assert_int_eq(ax_mpsc_permit_send(&p, &v), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, 0);
  ck_assert_int_eq(out, 8);
  ax_drop(&r.base);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &c), AX_PENDING);
  ax_mpsc_permit_release(&p);  /* the second slot, unused */
  ck_assert_int_eq(c.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ax_drop(&r.base);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_mpsc.rs: try_recv_after_receiver_close_with_permit (and
 * try_recv_after_receiver_close). */
START_TEST(try_recv_after_receiver_close_with_permit) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t p;
  ck_assert_int_eq(ax_mpsc_new(0, 5, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_EEMPTY);
  ax_mpsc_close(rx);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);
  ax_mpsc_sender_drop(tx);

  ck_assert_int_eq(ax_mpsc_new(0, 5, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_EEMPTY);
  ax_mpsc_close(rx);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_EEMPTY);
  ax_mpsc_permit_release(&p);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);
  ax_mpsc_sender_drop(tx);
}
END_TEST

/* sync_mpsc.rs: permit_available_not_acquired_close. */
START_TEST(permit_available_not_acquired_close) {
  ax_mpsc_tx_t *tx1, *tx2;
  ax_mpsc_rx_t *rx;
  ax_mpsc_reserve_t p1, p2;
  th_cx_t c1, c2;
  TH_CX_INIT(&c1, &c2);
  ck_assert_int_eq(ax_mpsc_new(0, 1, NULL, &tx1, &rx), 0);
  tx2 = ax_mpsc_sender_clone(tx1);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&p1, tx1), &c1), AX_READY);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&p2, tx2), &c2), AX_PENDING);
  ax_mpsc_close(rx);
  ax_drop(&p1.base);
  ck_assert_int_eq(c2.w.wakes, 1);
  ax_drop(&p2.base);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_ECLOSED);
  ax_mpsc_sender_drop(tx1);
  ax_mpsc_sender_drop(tx2);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c1.w.refs + c2.w.refs, 0);
}
END_TEST

/* sync_mpsc.rs: failed_reserve_wakes_closed_receiver and
 * cancelled_reserve_wakes_closed_receiver: a reserve handed a slot just
 * before the close completes with AX_ECLOSED (polled) or is dropped; either
 * way the slot goes back and the closed receiver is woken. */
static void reserve_after_handoff_closed(int cancel) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t p;
  ax_mpsc_reserve_t res;
  ax_mpsc_recv_t r;
  th_cx_t c, cr;
  TH_CX_INIT(&c, &cr);
  ck_assert_int_eq(ax_mpsc_new(0, 1, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&res, tx), &c), AX_PENDING);
  ax_mpsc_permit_release(&p);
  ck_assert_int_eq(c.w.wakes, 1);  /* handed the slot */
  ax_mpsc_close(rx);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, NULL), &cr), AX_PENDING);
  if (cancel) {
    ax_drop(&res.base);
  } else {
    ck_assert_int_eq(TH_POLL(&res.base, &c), AX_READY);
    ck_assert_int_eq(res.result, AX_ECLOSED);
    ck_assert_ptr_null(res.permit.tx);
  }
  ck_assert_int_eq(cr.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &cr), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ax_drop(&r.base);
  ax_drop(&res.base);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs + cr.w.refs, 0);
}

START_TEST(failed_reserve_wakes_closed_receiver) {
  reserve_after_handoff_closed(0);
}
END_TEST

START_TEST(cancelled_reserve_wakes_closed_receiver) {
  reserve_after_handoff_closed(1);
}
END_TEST

/* sync_mpsc.rs: reserve_many_above_cap, reserve_many_zero,
 * try_reserve_many_zero, try_reserve_many_edge_cases,
 * reserve_many_on_closed_channel, try_reserve_many_on_closed_channel.
 * axle says AX_EINVAL for "more than the capacity" where Tokio says
 * Closed (reserve_many) or Full (try_reserve_many). */
START_TEST(reserve_many_edge_cases) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_reserve_t res;
  ax_mpsc_permit_t p;
  th_cx_t c;
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new(0, 1, NULL, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&res, tx, 2), &c), AX_READY);
  ck_assert_int_eq(res.result, AX_EINVAL);
  ax_drop(&res.base);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&res, tx, SIZE_MAX), &c),
                   AX_READY);
  ck_assert_int_eq(res.result, AX_EINVAL);
  ax_drop(&res.base);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, 2), AX_EINVAL);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, SIZE_MAX), AX_EINVAL);
  /* Zero: an empty permit, full channel or not. */
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&res, tx, 0), &c), AX_READY);
  ck_assert_int_eq(res.result, 0);
  ck_assert_ptr_null(res.permit.tx);
  ck_assert_uint_eq(res.permit.count, 0);
  ax_drop(&res.base);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, 0), 0);
  ck_assert_ptr_null(p.tx);
  ck_assert_int_eq(ax_mpsc_try_send(tx, NULL), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, 0), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&res, tx, 0), &c), AX_READY);
  ck_assert_int_eq(res.result, 0);
  ax_drop(&res.base);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, 0), AX_ECLOSED);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, 1), AX_ECLOSED);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&res, tx, 0), &c), AX_READY);
  ck_assert_int_eq(res.result, AX_ECLOSED);
  ax_drop(&res.base);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&res, tx, 1), &c), AX_READY);
  ck_assert_int_eq(res.result, AX_ECLOSED);
  ax_drop(&res.base);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(NULL, tx, 1), AX_EINVAL);
  ax_mpsc_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_mpsc.rs: reserve_many_and_send / try_reserve_many_and_send: every
 * slot of a permit sends (here split off one by one, as Tokio's iterator
 * hands them out, and sent through the permit itself). */
START_TEST(reserve_many_and_send) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_reserve_t res;
  ax_mpsc_permit_t p, one;
  th_cx_t c;
  size_t i, k;
  int v, out;
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 100, NULL, &tx, &rx), 0);
  for (i = 0; i < 100; i++) {
    ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&res, tx, i), &c), AX_READY);
    ck_assert_int_eq(res.result, 0);
    ck_assert_uint_eq(res.permit.count, i);
    for (k = 0; k < i; k++) {
      v = (int)k;
      if (res.permit.count > 1) {
        ck_assert_int_eq(ax_mpsc_permit_split(&one, &res.permit, 1), 0);
        ck_assert_int_eq(ax_mpsc_permit_send(&one, &v), 0);
        ck_assert_ptr_null(one.tx);
      } else {
        ck_assert_int_eq(ax_mpsc_permit_send(&res.permit, &v), 0);
      }
      ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
      ck_assert_int_eq(out, (int)k);
    }
    ck_assert_ptr_null(res.permit.tx);
    ax_drop(&res.base);
    ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_EEMPTY);
    ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, i), 0);
    for (k = 0; k < i; k++) {
      v = (int)k;
      ck_assert_int_eq(ax_mpsc_permit_send(&p, &v), 0);
      ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
    }
    ck_assert_ptr_null(p.tx);
  }
  ck_assert_uint_eq(ax_mpsc_sender_strong_count(tx), 1);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_mpsc.rs: try_reserve_many_full (n up to 24). */
START_TEST(try_reserve_many_full) {
  size_t n, k, i;
  for (n = 1; n < 25; n++) {
    for (k = 0; k < n; k++) {
      ax_mpsc_tx_t *tx;
      ax_mpsc_rx_t *rx;
      ax_mpsc_permit_t p, q;
      ck_assert_int_eq(ax_mpsc_new(0, n, NULL, &tx, &rx), 0);
      ck_assert_int_eq(ax_mpsc_try_reserve_many(&p, tx, n), 0);
      ck_assert_uint_eq(p.count, n);
      ck_assert_uint_eq(ax_mpsc_capacity(tx), 0);
      ck_assert_int_eq(ax_mpsc_try_reserve_many(&q, tx, 1), AX_EFULL);
      for (i = 0; i < k; i++)
        ck_assert_int_eq(ax_mpsc_permit_send(&p, NULL), 0);
      ax_mpsc_permit_release(&p);
      ck_assert_uint_eq(ax_mpsc_capacity(tx), n - k);
      ck_assert_int_eq(ax_mpsc_try_reserve_many(&q, tx, 1), 0);
      ax_mpsc_permit_release(&q);
      /* (k == 0: more than the capacity, which axle calls AX_EINVAL) */
      ck_assert_int_eq(ax_mpsc_try_reserve_many(&q, tx, n - k + 1),
                       k == 0 ? AX_EINVAL : AX_EFULL);
      for (i = 0; i < k; i++)
        ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), 0);
      ck_assert_uint_eq(ax_mpsc_capacity(tx), n);
      ax_mpsc_sender_drop(tx);
      ax_mpsc_receiver_drop(rx);
    }
  }
}
END_TEST

/* sync_mpsc.rs: drop_permit_releases_permit and
 * drop_permit_iterator_releases_permits. */
START_TEST(drop_permit_iterator_releases_permits) {
  size_t n;
  for (n = 1; n < 40; n++) {
    ax_mpsc_tx_t *tx1, *tx2;
    ax_mpsc_rx_t *rx;
    ax_mpsc_reserve_t r1, r2;
    th_cx_t c1, c2;
    TH_CX_INIT(&c1, &c2);
    ck_assert_int_eq(ax_mpsc_new(sizeof(int), n, NULL, &tx1, &rx), 0);
    tx2 = ax_mpsc_sender_clone(tx1);
    ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&r1, tx1, n), &c1), AX_READY);
    ck_assert_int_eq(r1.result, 0);
    ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&r2, tx2, n), &c2),
                     AX_PENDING);
    ax_drop(&r1.base);
    ck_assert_int_eq(c2.w.wakes, 1);
    ck_assert_int_eq(TH_POLL(&r2.base, &c2), AX_READY);
    ck_assert_int_eq(r2.result, 0);
    ck_assert_uint_eq(ax_mpsc_capacity(tx1), 0);
    ax_drop(&r2.base);
    ck_assert_uint_eq(ax_mpsc_capacity(tx1), n);
    ax_mpsc_sender_drop(tx1);
    ax_mpsc_sender_drop(tx2);
    ax_mpsc_receiver_drop(rx);
    ck_assert_int_eq(c1.w.refs + c2.w.refs, 0);
  }
}
END_TEST

/* sync_mpsc.rs: test_tx_capacity (and max_capacity on both sides). */
START_TEST(test_tx_capacity) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t p;
  ck_assert_int_eq(ax_mpsc_new(0, 10, NULL, &tx, &rx), 0);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 10);
  ck_assert_uint_eq(ax_mpsc_max_capacity(tx), 10);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 9);
  ck_assert_uint_eq(ax_mpsc_max_capacity(tx), 10);
  ck_assert_int_eq(ax_mpsc_try_send(tx, NULL), 0);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 8);
  ck_assert_uint_eq(ax_mpsc_receiver_capacity(rx), 8);
  ck_assert_uint_eq(ax_mpsc_receiver_max_capacity(rx), 10);
  ax_mpsc_permit_release(&p);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(ax_mpsc_new_unbounded(0, NULL, &tx, &rx), 0);
  ck_assert_uint_eq(ax_mpsc_max_capacity(tx), SIZE_MAX);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
}
END_TEST

/* sync_mpsc.rs: test_rx_is_closed_when_calling_close_with_sender,
 * test_rx_is_closed_when_dropping_all_senders,
 * test_rx_is_not_closed_when_there_are_senders(_and_buffer_filled),
 * test_rx_is_closed_when_there_are_no_senders_and_there_are_messages,
 * test_rx_is_closed_when_there_are_messages_and_close_is_called,
 * test_rx_is_not_closed_when_there_are_permits_but_not_senders. */
START_TEST(rx_is_closed) {
  ax_mpsc_tx_t *tx, *tx2;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t p;
  int i;
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 10, NULL, &tx, &rx), 0);
  ck_assert(!ax_mpsc_receiver_is_closed(rx));
  ax_mpsc_close(rx);
  ck_assert(ax_mpsc_receiver_is_closed(rx));
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);

  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 10, NULL, &tx, &rx), 0);
  tx2 = ax_mpsc_sender_clone(tx);
  for (i = 0; i < 10; i++)
    ck_assert_int_eq(ax_mpsc_try_send(tx, &i), 0);
  ck_assert(!ax_mpsc_receiver_is_closed(rx));
  ax_mpsc_sender_drop(tx);
  ck_assert(!ax_mpsc_receiver_is_closed(rx));
  ax_mpsc_sender_drop(tx2);
  ck_assert(ax_mpsc_receiver_is_closed(rx));  /* messages still queued */
  ax_mpsc_receiver_drop(rx);

  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 10, NULL, &tx, &rx), 0);
  for (i = 0; i < 10; i++)
    ck_assert_int_eq(ax_mpsc_try_send(tx, &i), 0);
  ax_mpsc_close(rx);
  ck_assert(ax_mpsc_receiver_is_closed(rx));
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);

  /* A permit owns a sender: the channel is not closed for it. */
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 10, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
  ax_mpsc_sender_drop(tx);
  ck_assert(!ax_mpsc_receiver_is_closed(rx));
  ax_mpsc_permit_release(&p);
  ck_assert(ax_mpsc_receiver_is_closed(rx));
  ax_mpsc_receiver_drop(rx);
}
END_TEST

/* sync_mpsc.rs: test_rx_is_empty_*, test_rx_is_not_empty_* and
 * test_rx_len_* (and their test_rx_unbounded_* twins). */
START_TEST(rx_len_and_is_empty) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  int i, out;
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 100, NULL, &tx, &rx), 0);
  ck_assert_uint_eq(ax_mpsc_len(rx), 0);
  ck_assert(ax_mpsc_is_empty(rx));
  for (i = 0; i < 100; i++)
    ck_assert_int_eq(ax_mpsc_try_send(tx, &i), 0);
  ck_assert_uint_eq(ax_mpsc_len(rx), 100);
  ck_assert(!ax_mpsc_is_empty(rx));
  ax_mpsc_sender_drop(tx);
  ck_assert_uint_eq(ax_mpsc_len(rx), 100);
  for (i = 0; i < 99; i++) {
    ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
    ck_assert_uint_eq(ax_mpsc_len(rx), (size_t)(99 - i));
  }
  ck_assert(!ax_mpsc_is_empty(rx));
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert(ax_mpsc_is_empty(rx));
  ck_assert_uint_eq(ax_mpsc_len(rx), 0);
  ax_mpsc_receiver_drop(rx);

  ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(int), NULL, &tx, &rx), 0);
  ax_mpsc_sender_drop(tx);
  ck_assert_uint_eq(ax_mpsc_len(rx), 0);
  ck_assert(ax_mpsc_is_empty(rx));
  ax_mpsc_receiver_drop(rx);
}
END_TEST

/* sync_mpsc.rs: send_recv_many_unbounded, by hand (limit 0, limit 1,
 * a larger limit, then the close). */
START_TEST(send_recv_many_unbounded) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_many_t rm;
  th_cx_t c;
  int buf[32], i, count;
  const int first[4] = {7, 13, 100, 1002}, second[4] = {5, 6, 7, 2};
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, buf, 0), &c), AX_READY);
  ck_assert_int_eq(rm.result, 0);
  ck_assert_uint_eq(rm.count, 0);
  ax_drop(&rm.base);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(ax_mpsc_try_send(tx, &first[i]), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, buf, 0), &c), AX_READY);
  ck_assert_uint_eq(rm.count, 0);
  ax_drop(&rm.base);
  for (count = 0; count < 4; count += (int)rm.count) {
    ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, &buf[count], 1), &c),
                     AX_READY);
    ck_assert_int_eq(rm.result, 0);
    ck_assert_uint_eq(rm.count, 1);
    ax_drop(&rm.base);
  }
  ck_assert_mem_eq(buf, first, sizeof first);
  for (i = 0; i < 4; i++)
    ck_assert_int_eq(ax_mpsc_try_send(tx, &second[i]), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, buf, 32), &c), AX_READY);
  ck_assert_uint_eq(rm.count, 4);
  ck_assert_mem_eq(buf, second, sizeof second);
  ax_drop(&rm.base);
  /* Pending while empty; a send wakes it. */
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, buf, 4), &c), AX_PENDING);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &first[0]), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&rm.base, &c), AX_READY);
  ck_assert_uint_eq(rm.count, 1);
  ax_drop(&rm.base);
  ax_mpsc_sender_drop(tx);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, buf, 4), &c), AX_READY);
  ck_assert_int_eq(rm.result, AX_ECLOSED);
  ck_assert_uint_eq(rm.count, 0);
  ax_drop(&rm.base);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, buf), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* axle: recv_many dropped while waiting took nothing and leaves no waker;
 * the value sent after is there for the next receive. */
START_TEST(recv_many_cancel) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_many_t rm;
  th_cx_t c;
  int buf[4], v = 9;
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 2, NULL, &tx, &rx), 0);
  ax_mpsc_recv_many(&rm, rx, buf, 4);
  ax_drop(&rm.base);  /* never polled */
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, buf, 4), &c), AX_PENDING);
  ck_assert_int_eq(c.w.refs, 1);
  ax_drop(&rm.base);
  ck_assert_int_eq(c.w.refs, 0);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
  ck_assert_int_eq(c.w.wakes, 0);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, buf), 0);
  ck_assert_int_eq(buf[0], 9);
  ax_drop(&rm.base);  /* twice */
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
}
END_TEST

/* sync_mpsc_weak.rs: downgrade_upgrade_sender_success /
 * downgrade_upgrade_sender_failure / actor_weak_sender's rule that a weak
 * sender does not keep the channel open. */
START_TEST(weak_sender) {
  ax_mpsc_tx_t *tx, *up;
  ax_mpsc_rx_t *rx;
  ax_mpsc_weak_tx_t *w, *w2;
  ax_mpsc_recv_t r;
  th_cx_t c;
  int v = 1, out = 0;
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 4, NULL, &tx, &rx), 0);
  w = ax_mpsc_sender_downgrade(tx);
  w2 = ax_mpsc_weak_clone(w);
  ck_assert_uint_eq(ax_mpsc_sender_strong_count(tx), 1);
  ck_assert_uint_eq(ax_mpsc_sender_weak_count(tx), 2);
  up = ax_mpsc_weak_upgrade(w);
  ck_assert_ptr_nonnull(up);
  ck_assert_uint_eq(ax_mpsc_sender_strong_count(tx), 2);
  ck_assert_int_eq(ax_mpsc_try_send(up, &v), 0);
  ax_mpsc_sender_drop(up);
  ax_mpsc_weak_drop(w2);
  /* Only a weak sender left: the receiver drains and sees the close. */
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &c), AX_READY);
  ck_assert_int_eq(out, 1);
  ax_drop(&r.base);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, &out), &c), AX_PENDING);
  ax_mpsc_sender_drop(tx);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ax_drop(&r.base);
  ck_assert_ptr_null(ax_mpsc_weak_upgrade(w));  /* closed for good */
  ck_assert_ptr_null(ax_mpsc_weak_upgrade(NULL));
  ax_mpsc_receiver_drop(rx);
  ck_assert_ptr_null(ax_mpsc_weak_upgrade(w));
  ax_mpsc_weak_drop(w);  /* the last handle frees the channel */
  ax_mpsc_weak_drop(NULL);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* axle: send_timeout that needs no waiting -- sent, closed (hand-polled;
 * the waiting cases need a timer, so they run on a runtime below). */
START_TEST(send_timeout_hand) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_send_timeout_t st;
  th_cx_t c;
  int v = 3, out = 0;
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 1, NULL, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_send_timeout(&st, tx, &v, 1000), &c),
                   AX_READY);
  ck_assert_int_eq(st.result, 0);
  ax_drop(&st.base);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(out, 3);
  ax_mpsc_send_timeout(&st, tx, &v, 1000);
  ax_drop(&st.base);  /* never polled */
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), AX_EEMPTY);
  ax_mpsc_close(rx);
  ck_assert_int_eq(TH_POLL(ax_mpsc_send_timeout(&st, tx, &v, 1000), &c),
                   AX_READY);
  ck_assert_int_eq(st.result, AX_ECLOSED);
  ax_drop(&st.base);
  ax_drop(&st.base);  /* twice */
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* axle: reserve_many dropped while waiting, after it collected part of
 * its slots at the head of the queue: they pass on to the next waiting
 * sender; dropped after being handed all of them, likewise. */
START_TEST(reserve_many_cancel) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t held;
  ax_mpsc_reserve_t big, small;
  th_cx_t cb, cs;
  TH_CX_INIT(&cb, &cs);
  ck_assert_int_eq(ax_mpsc_new(0, 3, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve_many(&held, tx, 2), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&big, tx, 3), &cb), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&small, tx), &cs), AX_PENDING);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 0);  /* big collected the third */
  ax_drop(&big.base);
  ck_assert_int_eq(cs.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&small.base, &cs), AX_READY);
  ck_assert_int_eq(small.result, 0);
  ax_drop(&small.base);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 1);
  /* Handed everything, dropped before it looked. */
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&big, tx, 3), &cb), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve(&small, tx), &cs), AX_PENDING);
  ax_mpsc_permit_release(&held);
  ck_assert_int_eq(cb.w.wakes, 1);
  ck_assert_int_eq(cs.w.wakes, 1);
  ax_drop(&big.base);
  ck_assert_int_eq(cs.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&small.base, &cs), AX_READY);
  ck_assert_int_eq(small.result, 0);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 2);
  ax_drop(&small.base);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 3);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(cb.w.refs + cs.w.refs, 0);
}
END_TEST

/* sync_mpsc.rs: failed_reserve_many_wakes_closed_receiver and
 * cancelled_reserve_many_wakes_closed_receiver: a reserve_many that had
 * collected part of its slots when the receiver closed.  Tokio's
 * receiver is woken only when that reserve gives its slot back (fails or
 * is dropped).  axle closes the semaphore, which hands every waiter's
 * partial slots back at once: the channel is idle as soon as the other
 * permit goes, so the receiver is woken then -- earlier than Tokio, and
 * never before every slot is back.  The reserve fails all the same. */
static void reserve_many_partial_closed(int cancel) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t p;
  ax_mpsc_reserve_t res;
  ax_mpsc_recv_t r;
  th_cx_t c, cr;
  TH_CX_INIT(&c, &cr);
  ck_assert_int_eq(ax_mpsc_new(0, 2, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_reserve_many(&res, tx, 2), &c), AX_PENDING);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 0);  /* it holds the second */
  ax_mpsc_close(rx);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, NULL), &cr), AX_PENDING);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 1);  /* its slot came back */
  ax_mpsc_permit_release(&p);
  ck_assert_int_eq(cr.w.wakes, 1);  /* Tokio: 0 until the reserve goes */
  ck_assert_int_eq(TH_POLL(&r.base, &cr), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 2);
  ax_drop(&r.base);
  if (cancel) {
    ax_drop(&res.base);
  } else {
    ck_assert_int_eq(TH_POLL(&res.base, &c), AX_READY);
    ck_assert_int_eq(res.result, AX_ECLOSED);
    ck_assert_ptr_null(res.permit.tx);
  }
  ck_assert_uint_eq(ax_mpsc_capacity(tx), 2);
  ax_drop(&res.base);
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs + cr.w.refs, 0);
}

START_TEST(failed_reserve_many_wakes_closed_receiver) {
  reserve_many_partial_closed(0);
}
END_TEST

START_TEST(cancelled_reserve_many_wakes_closed_receiver) {
  reserve_many_partial_closed(1);
}
END_TEST

/* sync_mpsc.rs: sending_last_owned_permit_wakes_closed_receiver and
 * releasing_last_owned_permit_wakes_closed_receiver: the owned permit is
 * a permit whose sender handle was dropped after reserving (it holds its
 * own).  The channel stays open for it, and using or releasing it is
 * what closes it. */
static void owned_permit_closed_receiver(int send) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_permit_t p;
  ax_mpsc_recv_t r;
  th_cx_t cr;
  th_cx_init(&cr);
  ck_assert_int_eq(ax_mpsc_new(0, 100, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
  ax_mpsc_sender_drop(tx);  /* try_reserve_owned() consumes the sender */
  ck_assert_uint_eq(ax_mpsc_receiver_sender_strong_count(rx), 1);
  ax_mpsc_close(rx);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, NULL), &cr), AX_PENDING);
  if (send)
    ck_assert_int_eq(ax_mpsc_permit_send(&p, NULL), 0);
  else
    ax_mpsc_permit_release(&p);
  ck_assert_int_eq(cr.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &cr), AX_READY);
  ck_assert_int_eq(r.result, send ? 0 : AX_ECLOSED);
  ax_drop(&r.base);
  ck_assert_uint_eq(ax_mpsc_receiver_sender_strong_count(rx), 0);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_ECLOSED);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(cr.w.refs, 0);
}

START_TEST(sending_last_owned_permit_wakes_closed_receiver) {
  owned_permit_closed_receiver(1);
}
END_TEST

START_TEST(releasing_last_owned_permit_wakes_closed_receiver) {
  owned_permit_closed_receiver(0);
}
END_TEST

/* sync_mpsc.rs: try_recv_close_while_empty_bounded / _unbounded. */
START_TEST(try_recv_close_while_empty) {
  int bounded;
  for (bounded = 0; bounded < 2; bounded++) {
    ax_mpsc_tx_t *tx;
    ax_mpsc_rx_t *rx;
    ck_assert_int_eq(bounded ? ax_mpsc_new(0, 5, NULL, &tx, &rx)
                             : ax_mpsc_new_unbounded(0, NULL, &tx, &rx),
                     0);
    ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_EEMPTY);
    ax_mpsc_sender_drop(tx);
    ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), AX_ECLOSED);
    ax_mpsc_receiver_drop(rx);
  }
}
END_TEST

/* sync_mpsc.rs: recv_many_with_non_empty_buffer_bounded_rx_closed_and_idle
 * (and _unbounded_): a closed, idle channel gives 0 values and leaves the
 * buffer as it was.  (Tokio appends to a Vec; axle writes from buf[0],
 * so "left as it was" is the whole buffer.) */
START_TEST(recv_many_rx_closed_and_idle) {
  int bounded;
  for (bounded = 0; bounded < 2; bounded++) {
    ax_mpsc_tx_t *tx;
    ax_mpsc_rx_t *rx;
    ax_mpsc_recv_many_t rm;
    th_cx_t c;
    int buf[1] = {1};
    th_cx_init(&c);
    ck_assert_int_eq(bounded ? ax_mpsc_new(sizeof(int), 1, NULL, &tx, &rx)
                             : ax_mpsc_new_unbounded(sizeof(int), NULL, &tx,
                                                     &rx),
                     0);
    ax_mpsc_close(rx);
    ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, buf, 1), &c),
                     AX_READY);
    ck_assert_int_eq(rm.result, AX_ECLOSED);
    ck_assert_uint_eq(rm.count, 0);
    ck_assert_int_eq(buf[0], 1);
    ax_drop(&rm.base);
    ax_mpsc_sender_drop(tx);
    ax_mpsc_receiver_drop(rx);
    ck_assert_int_eq(c.w.refs, 0);
  }
}
END_TEST

/* sync_mpsc.rs: test_rx_len_when_close_is_called,
 * _before_dropping_sender, _after_dropping_sender (and the
 * test_rx_unbounded_len_* three): a close does not drop what is queued. */
START_TEST(rx_len_when_close_is_called) {
  int bounded, order;
  for (bounded = 0; bounded < 2; bounded++) {
    for (order = 0; order < 3; order++) {
      ax_mpsc_tx_t *tx;
      ax_mpsc_rx_t *rx;
      ck_assert_int_eq(bounded ? ax_mpsc_new(0, 100, NULL, &tx, &rx)
                               : ax_mpsc_new_unbounded(0, NULL, &tx, &rx),
                       0);
      ck_assert_int_eq(ax_mpsc_try_send(tx, NULL), 0);
      if (order == 2) ax_mpsc_sender_drop(tx);
      ax_mpsc_close(rx);
      if (order == 1) ax_mpsc_sender_drop(tx);
      ck_assert_uint_eq(ax_mpsc_len(rx), 1);
      ck_assert(!ax_mpsc_is_empty(rx));
      ck_assert_int_eq(ax_mpsc_try_recv(rx, NULL), 0);
      ck_assert_uint_eq(ax_mpsc_len(rx), 0);
      if (order == 0) ax_mpsc_sender_drop(tx);
      ax_mpsc_receiver_drop(rx);
    }
  }
}
END_TEST

/* sync_mpsc.rs: test_is_empty_32_msgs -- across the unbounded list's
 * block boundaries (blocks of 32 values), one send and one receive at a
 * time leave the channel empty every time. */
START_TEST(test_is_empty_32_msgs) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  int v, out;
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 33, NULL, &tx, &rx), 0);
  for (v = 1; v < 257; v++) {
    ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
    ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
    ck_assert_int_eq(out, v);
    ck_assert_msg(ax_mpsc_is_empty(rx), "%d. len: %zu", v, ax_mpsc_len(rx));
  }
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(rx);
}
END_TEST

/* sync_mpsc.rs: release_waker_on_rx_drop. */
START_TEST(release_waker_on_rx_drop) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_t r;
  th_cx_t c;
  th_cx_init(&c);
  ck_assert_int_eq(ax_mpsc_new(0, 1, NULL, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_mpsc_recv(&r, rx, NULL), &c), AX_PENDING);
  ck_assert_int_eq(c.w.refs, 1);
  /* Tokio drops the receiver with the poll_recv registration in place;
   * axle's registration belongs to the recv future, and dropping it is
   * what a task's drop does before the receiver goes. */
  ax_drop(&r.base);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
  ax_mpsc_sender_drop(tx);
}
END_TEST

/* sync_mpsc_weak.rs: test_msgs_dropped_on_rx_drop.  In axle a received
 * value is the caller's (the channel runs `drop` only on values it still
 * owns), and a send that fails leaves the value with the caller: of
 * Tokio's 4 drops, the channel runs 1. */
static atomic_int msg_drops;
static void count_drop(void *v) {
  (void)v;
  atomic_fetch_add(&msg_drops, 1);
}

START_TEST(test_msgs_dropped_on_rx_drop) {
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_send_t s;
  th_cx_t c;
  int v = 0, out;
  th_cx_init(&c);
  atomic_store(&msg_drops, 0);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 3, count_drop, &tx, &rx), 0);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
  ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
  ax_mpsc_send(&s, tx, &v);  /* created, not polled yet */
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(ax_mpsc_try_recv(rx, &out), 0);
  ck_assert_int_eq(TH_POLL(&s.base, &c), AX_READY);
  ck_assert_int_eq(s.result, 0);
  ax_drop(&s.base);
  ax_mpsc_receiver_drop(rx);
  ck_assert_int_eq(atomic_load(&msg_drops), 1);  /* the one still queued */
  ck_assert_int_eq(TH_POLL(ax_mpsc_send(&s, tx, &v), &c), AX_READY);
  ck_assert_int_eq(s.result, AX_ECLOSED);
  ax_drop(&s.base);
  ck_assert_int_eq(atomic_load(&msg_drops), 1);  /* still the caller's */
  ax_mpsc_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_mpsc_weak.rs: weak_sender and weak_unbounded_sender, by hand (the
 * sends never wait: capacity 11): ten values, an upgrade that sends 20
 * and downgrades again; the receiver gets 11 values and then the close,
 * and the weak handle no longer upgrades. */
static void weak_sender_shape(int bounded) {
  ax_mpsc_tx_t *tx, *tx2;
  ax_mpsc_rx_t *rx;
  ax_mpsc_weak_tx_t *w;
  int i, out = -1, rc;
  ck_assert_int_eq(bounded ? ax_mpsc_new(sizeof(int), 11, NULL, &tx, &rx)
                           : ax_mpsc_new_unbounded(sizeof(int), NULL, &tx, &rx),
                   0);
  tx2 = ax_mpsc_sender_clone(tx);
  w = ax_mpsc_sender_downgrade(tx2);
  ax_mpsc_sender_drop(tx2);  /* tx.clone().downgrade() */
  for (i = 0; i < 10; i++)
    ck_assert_int_eq(ax_mpsc_try_send(tx, &i), 0);
  tx2 = ax_mpsc_weak_upgrade(w);
  ck_assert_ptr_nonnull(tx2);
  i = 20;
  ck_assert_int_eq(ax_mpsc_try_send(tx2, &i), 0);
  ax_mpsc_weak_drop(w);
  w = ax_mpsc_sender_downgrade(tx2);
  ax_mpsc_sender_drop(tx2);
  ax_mpsc_sender_drop(tx);  /* the task ends */
  for (i = 0; i < 12; i++) {
    rc = ax_mpsc_try_recv(rx, &out);
    if (rc == 0) {
      ck_assert_int_eq(out, i == 10 ? 20 : i);
    } else {
      ck_assert_int_eq(rc, AX_ECLOSED);
      ck_assert_int_eq(i, 11);
      break;
    }
  }
  ck_assert_int_eq(i, 11);
  ck_assert_ptr_null(ax_mpsc_weak_upgrade(w));
  ax_mpsc_weak_drop(w);
  ax_mpsc_receiver_drop(rx);
}

START_TEST(weak_sender_tokio) {
  weak_sender_shape(1);
  weak_sender_shape(0);
}
END_TEST

/* sync_mpsc_weak.rs: downgrade_upgrade_sender_failure, downgrade_drop_upgrade,
 * downgrade_get_permit_upgrade_no_senders,
 * downgrade_upgrade_get_permit_no_senders, test_tx_count_weak_sender,
 * test_rx_is_closed_when_dropping_all_senders_except_weak_senders (and
 * the _unbounded_ versions of each that has one). */
START_TEST(weak_upgrade_rules) {
  int bounded;
  for (bounded = 0; bounded < 2; bounded++) {
    ax_mpsc_tx_t *tx, *tx2, *up;
    ax_mpsc_rx_t *rx;
    ax_mpsc_weak_tx_t *w, *w2;
    ax_mpsc_permit_t p;
#define NEW_CH()                                                          \
  ck_assert_int_eq(bounded ? ax_mpsc_new(sizeof(int), 1, NULL, &tx, &rx)  \
                           : ax_mpsc_new_unbounded(sizeof(int), NULL,     \
                                                   &tx, &rx),             \
                   0)
    /* downgrade_upgrade_sender_failure */
    NEW_CH();
    w = ax_mpsc_sender_downgrade(tx);
    ax_mpsc_sender_drop(tx);
    ck_assert_ptr_null(ax_mpsc_weak_upgrade(w));
    ax_mpsc_weak_drop(w);
    ax_mpsc_receiver_drop(rx);
    /* downgrade_drop_upgrade */
    NEW_CH();
    tx2 = ax_mpsc_sender_clone(tx);
    w = ax_mpsc_sender_downgrade(tx2);
    ax_mpsc_sender_drop(tx2);
    ax_mpsc_sender_drop(tx);
    ck_assert_ptr_null(ax_mpsc_weak_upgrade(w));
    ax_mpsc_weak_drop(w);
    ax_mpsc_receiver_drop(rx);
    /* downgrade_get_permit_upgrade_no_senders: the permit is a sender */
    NEW_CH();
    w = ax_mpsc_sender_downgrade(tx);
    ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
    ax_mpsc_sender_drop(tx);  /* reserve_owned consumed it */
    up = ax_mpsc_weak_upgrade(w);
    ck_assert_ptr_nonnull(up);
    ax_mpsc_sender_drop(up);
    ax_mpsc_permit_release(&p);
    ck_assert_ptr_null(ax_mpsc_weak_upgrade(w));
    ax_mpsc_weak_drop(w);
    ax_mpsc_receiver_drop(rx);
    /* downgrade_upgrade_get_permit_no_senders */
    NEW_CH();
    tx2 = ax_mpsc_sender_clone(tx);
    ck_assert_int_eq(ax_mpsc_try_reserve(&p, tx), 0);
    ax_mpsc_sender_drop(tx);
    w = ax_mpsc_sender_downgrade(tx2);
    ax_mpsc_sender_drop(tx2);
    up = ax_mpsc_weak_upgrade(w);
    ck_assert_ptr_nonnull(up);
    ax_mpsc_sender_drop(up);
    ax_mpsc_permit_release(&p);
    ax_mpsc_weak_drop(w);
    ax_mpsc_receiver_drop(rx);
    /* test_tx_count_weak_sender */
    NEW_CH();
    w = ax_mpsc_sender_downgrade(tx);
    w2 = ax_mpsc_sender_downgrade(tx);
    ax_mpsc_sender_drop(tx);
    ck_assert(ax_mpsc_weak_upgrade(w) == NULL &&
              ax_mpsc_weak_upgrade(w2) == NULL);
    ax_mpsc_weak_drop(w);
    ax_mpsc_weak_drop(w2);
    ax_mpsc_receiver_drop(rx);
    /* test_rx_is_closed_when_dropping_all_senders_except_weak_senders */
    NEW_CH();
    tx2 = ax_mpsc_sender_clone(tx);
    w = ax_mpsc_sender_downgrade(tx2);
    ax_mpsc_sender_drop(tx2);
    ax_mpsc_sender_drop(tx);
    ck_assert(ax_mpsc_receiver_is_closed(rx));
    ax_mpsc_weak_drop(w);
    ax_mpsc_receiver_drop(rx);
#undef NEW_CH
  }
}
END_TEST

/* sync_mpsc_weak.rs: sender_strong_count_when_cloned,
 * sender_weak_count_when_downgraded, sender_strong_count_when_dropped,
 * sender_weak_count_when_dropped, sender_strong_and_weak_conut (and the
 * unbounded_ ones). */
START_TEST(sender_strong_and_weak_count) {
  int bounded;
  for (bounded = 0; bounded < 2; bounded++) {
    ax_mpsc_tx_t *tx, *tx2;
    ax_mpsc_rx_t *rx;
    ax_mpsc_weak_tx_t *weak, *weak2;
    ck_assert_int_eq(bounded ? ax_mpsc_new(0, 1, NULL, &tx, &rx)
                             : ax_mpsc_new_unbounded(0, NULL, &tx, &rx),
                     0);
    tx2 = ax_mpsc_sender_clone(tx);
    ck_assert_uint_eq(ax_mpsc_sender_strong_count(tx), 2);
    ck_assert_uint_eq(ax_mpsc_sender_strong_count(tx2), 2);
    ck_assert_uint_eq(ax_mpsc_receiver_sender_strong_count(rx), 2);
    weak = ax_mpsc_sender_downgrade(tx);
    weak2 = ax_mpsc_sender_downgrade(tx2);
    ck_assert_uint_eq(ax_mpsc_weak_strong_count(weak), 2);
    ck_assert_uint_eq(ax_mpsc_weak_strong_count(weak2), 2);
    ck_assert_uint_eq(ax_mpsc_sender_weak_count(tx), 2);
    ck_assert_uint_eq(ax_mpsc_sender_weak_count(tx2), 2);
    ck_assert_uint_eq(ax_mpsc_weak_weak_count(weak), 2);
    ck_assert_uint_eq(ax_mpsc_weak_weak_count(weak2), 2);
    ck_assert_uint_eq(ax_mpsc_receiver_sender_weak_count(rx), 2);
    ax_mpsc_sender_drop(tx2);
    ax_mpsc_weak_drop(weak2);
    ck_assert_uint_eq(ax_mpsc_sender_strong_count(tx), 1);
    ck_assert_uint_eq(ax_mpsc_weak_strong_count(weak), 1);
    ck_assert_uint_eq(ax_mpsc_receiver_sender_strong_count(rx), 1);
    ck_assert_uint_eq(ax_mpsc_sender_weak_count(tx), 1);
    ck_assert_uint_eq(ax_mpsc_weak_weak_count(weak), 1);
    ck_assert_uint_eq(ax_mpsc_receiver_sender_weak_count(rx), 1);
    ax_mpsc_weak_drop(weak);
    ck_assert_uint_eq(ax_mpsc_sender_weak_count(tx), 0);
    ck_assert_uint_eq(ax_mpsc_receiver_sender_weak_count(rx), 0);
    ax_mpsc_sender_drop(tx);
    ck_assert_uint_eq(ax_mpsc_receiver_sender_strong_count(rx), 0);
    ax_mpsc_receiver_drop(rx);
  }
}
END_TEST

/* ---- mpsc on a runtime -------------------------------------------------- */

/* axle (recv_many against reserve_many under load; Tokio's
 * send_recv_many_bounded_capacity is ported by hand as
 * send_recv_many_capacity below): a producer task sends N values through
 * reserve_many batches that wait for room; the consumer takes them with
 * recv_many; every value arrives once, in order. */
#define RM_N 2000
#define RM_BATCH 7
typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;       /* owned: dropped at the end */
  ax_mpsc_reserve_t res;  /* the batch being reserved */
  int next;               /* next value to send */
} rm_producer_t;

AX_ASYNC(rm_producer, rm_producer_t, s) {
  AX_BEGIN(s);
  while (s->next < RM_N) {
    AX_AWAIT(ax_mpsc_reserve_many(&s->res, s->tx,
                                  RM_N - s->next < RM_BATCH
                                      ? (size_t)(RM_N - s->next)
                                      : RM_BATCH));
    if (s->res.result != 0) atomic_fetch_add(&join_errors, 1);
    while (s->res.permit.tx != NULL) {
      if (ax_mpsc_permit_send(&s->res.permit, &s->next) != 0)
        atomic_fetch_add(&join_errors, 1);
      s->next++;
    }
    ax_drop(&s->res.base);
  }
  ax_mpsc_sender_drop(s->tx);
  AX_END();
}

static atomic_int rm_received, rm_order_errors, rm_batches;

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;       /* handed to the producer */
  ax_mpsc_rx_t *rx;       /* owned */
  ax_mpsc_recv_many_t rm;
  int buf[RM_BATCH * 2];
  int expect;             /* next value expected */
  ax_join_t h;
  rm_producer_t prod;
} rm_main_t;

AX_ASYNC(rm_main, rm_main_t, s) {
  size_t i;
  AX_BEGIN(s);
  s->prod.tx = s->tx;
  if (AX_SPAWN(rm_producer, &s->prod, &s->h) != 0)
    atomic_fetch_add(&join_errors, 1);
  for (;;) {
    AX_AWAIT(ax_mpsc_recv_many(&s->rm, s->rx, s->buf, RM_BATCH * 2));
    ax_drop(&s->rm.base);
    if (s->rm.result != 0) break;
    atomic_fetch_add(&rm_batches, 1);
    for (i = 0; i < s->rm.count; i++)
      if (s->buf[i] != s->expect++) atomic_fetch_add(&rm_order_errors, 1);
    atomic_fetch_add(&rm_received, (int)s->rm.count);
  }
  if (s->rm.count != 0) atomic_fetch_add(&rm_order_errors, 1);
  AX_AWAIT(ax_join_wait(&s->h));
  ax_join_drop(&s->h);
  ax_mpsc_receiver_drop(s->rx);
  AX_END();
}

START_TEST(reserve_many_recv_many_rt) {
  rm_main_t m = {0};
  atomic_store(&rm_received, 0);
  atomic_store(&rm_order_errors, 0);
  atomic_store(&rm_batches, 0);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 9, NULL, &m.tx, &m.rx), 0);
  RUN_TASK(_i, rm_main, &m);
  ck_assert_int_eq(atomic_load(&rm_received), RM_N);
  ck_assert_int_eq(atomic_load(&rm_order_errors), 0);
  ck_assert_int_le(atomic_load(&rm_batches), RM_N);
}
END_TEST

/* sync_mpsc.rs: send_recv_many_bounded_capacity and
 * send_recv_many_unbounded_capacity, by hand: a batch of `limit` values
 * and one more; then a receive waits while the last sender sends a final
 * value and goes -- the value comes first, then the close.  (Tokio's
 * buffer grows; axle's is the caller's array, passed from where the
 * previous batch ended.) */
START_TEST(send_recv_many_capacity) {
  int bounded;
  for (bounded = 0; bounded < 2; bounded++) {
    enum { LIMIT = 9 };
    ax_mpsc_tx_t *tx;
    ax_mpsc_rx_t *rx;
    ax_mpsc_recv_many_t rm;
    th_cx_t c;
    int buf[LIMIT * 2], i, v;
    size_t have = 0;
    th_cx_init(&c);
    ck_assert_int_eq(bounded ? ax_mpsc_new(sizeof(int), 100, NULL, &tx, &rx)
                             : ax_mpsc_new_unbounded(sizeof(int), NULL, &tx,
                                                     &rx),
                     0);
    for (i = 0; i < LIMIT; i++)
      ck_assert_int_eq(ax_mpsc_try_send(tx, &i), 0);
    v = 100;  /* "one more" */
    ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
    ck_assert_int_eq(TH_POLL(ax_mpsc_recv_many(&rm, rx, buf, LIMIT), &c),
                     AX_READY);
    ck_assert_uint_eq(rm.count, LIMIT);
    ax_drop(&rm.base);
    have = LIMIT;
    for (i = 0; i < LIMIT; i++) ck_assert_int_eq(buf[i], i);
    ck_assert_int_eq(
        TH_POLL(ax_mpsc_recv_many(&rm, rx, &buf[have], LIMIT), &c), AX_READY);
    ck_assert_uint_eq(rm.count, 1);
    ax_drop(&rm.base);
    ck_assert_int_eq(buf[have++], 100);
    ck_assert_int_eq(
        TH_POLL(ax_mpsc_recv_many(&rm, rx, &buf[have], LIMIT), &c),
        AX_PENDING);
    v = 200;  /* "final", from the task that owns the last sender */
    ck_assert_int_eq(ax_mpsc_try_send(tx, &v), 0);
    ax_mpsc_sender_drop(tx);
    ck_assert_int_eq(c.w.wakes, 1);
    ck_assert_int_eq(TH_POLL(&rm.base, &c), AX_READY);
    ck_assert_int_eq(rm.result, 0);
    ck_assert_uint_eq(rm.count, 1);
    ax_drop(&rm.base);
    ck_assert_int_eq(buf[have++], 200);
    ck_assert_int_eq(
        TH_POLL(ax_mpsc_recv_many(&rm, rx, &buf[have], LIMIT), &c), AX_READY);
    ck_assert_int_eq(rm.result, AX_ECLOSED);
    ck_assert_uint_eq(rm.count, 0);
    ax_drop(&rm.base);
    ax_mpsc_receiver_drop(rx);
    ck_assert_int_eq(c.w.refs, 0);
  }
}
END_TEST

/* sync_mpsc.rs: async_send_recv_many_with_buffer -- a task sends 1, 2, 7,
 * 0 into a channel of capacity 2 (waiting for room); the receiver takes
 * them with recv_many (limit 3) until it has all four, then sees the
 * close. */
static atomic_int arm_errors;

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;            /* owned */
  ax_mpsc_send_t send;
  int i, v;
} arm_sender_t;

AX_ASYNC(arm_sender, arm_sender_t, s) {
  static const int vals[4] = {1, 2, 7, 0};
  AX_BEGIN(s);
  for (s->i = 0; s->i < 4; s->i++) {
    s->v = vals[s->i];
    AX_AWAIT(ax_mpsc_send(&s->send, s->tx, &s->v));
    if (s->send.result != 0) atomic_fetch_add(&arm_errors, 1);
  }
  ax_mpsc_sender_drop(s->tx);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;            /* owned */
  ax_mpsc_recv_many_t rm;
  ax_join_t h;
  arm_sender_t snd;
  int buf[8];
  size_t have;
} arm_main_t;

AX_ASYNC(arm_main, arm_main_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_mpsc_recv_many(&s->rm, s->rx, s->buf, 0));
  if (s->rm.result != 0 || s->rm.count != 0) atomic_fetch_add(&arm_errors, 1);
  s->snd.tx = s->tx;
  if (AX_SPAWN(arm_sender, &s->snd, &s->h) != 0)
    atomic_fetch_add(&arm_errors, 1);
  while (s->have < 4) {
    AX_AWAIT(ax_mpsc_recv_many(&s->rm, s->rx, &s->buf[s->have], 3));
    if (s->rm.result != 0 || s->rm.count == 0) {
      atomic_fetch_add(&arm_errors, 1);
      break;
    }
    s->have += s->rm.count;
  }
  if (s->have != 4 || s->buf[0] != 1 || s->buf[1] != 2 || s->buf[2] != 7 ||
      s->buf[3] != 0)
    atomic_fetch_add(&arm_errors, 1);
  AX_AWAIT(ax_mpsc_recv_many(&s->rm, s->rx, &s->buf[4], 3));
  if (s->rm.result != AX_ECLOSED || s->rm.count != 0)
    atomic_fetch_add(&arm_errors, 1);
  AX_AWAIT(ax_join_wait(&s->h));
  if (s->h.result != 0) atomic_fetch_add(&arm_errors, 1);
  ax_join_drop(&s->h);
  ax_mpsc_receiver_drop(s->rx);
  AX_END();
}

START_TEST(async_send_recv_many_with_buffer) {
  arm_main_t m = {0};
  atomic_store(&arm_errors, 0);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 2, NULL, &m.tx, &m.rx), 0);
  RUN_TASK(_i, arm_main, &m);
  ck_assert_int_eq(atomic_load(&arm_errors), 0);
}
END_TEST

/* sync_mpsc_weak.rs: actor_weak_sender -- an actor keeps a weak sender to
 * itself: it can send itself a message while a handle is alive, and it
 * does not keep its own channel open, so it ends when the last handle
 * goes. */
enum { ACT_GET_ID, ACT_SELF };
typedef struct {
  int kind;
  ax_oneshot_tx_t *respond_to;  /* ACT_GET_ID: owned by the message */
} act_msg_t;

static void act_msg_drop(void *elem) {
  act_msg_t *m = (act_msg_t *)elem;
  if (m->kind == ACT_GET_ID) ax_oneshot_sender_drop(m->respond_to);
}

static atomic_int act_errors, act_self_seen, act_id_seen;

typedef struct {
  ax_async_t co;
  ax_mpsc_rx_t *rx;             /* owned */
  ax_mpsc_weak_tx_t *self_tx;   /* owned: a weak sender to itself */
  ax_mpsc_tx_t *strong;         /* while sending to itself */
  ax_mpsc_recv_t recv;
  ax_mpsc_send_t send;
  act_msg_t msg, self_msg;
  unsigned next_id;
  int i;
} actor_t;

AX_ASYNC(actor, actor_t, s) {
  AX_BEGIN(s);
  for (s->i = 0;; s->i++) {
    AX_AWAIT(ax_mpsc_recv(&s->recv, s->rx, &s->msg));
    if (s->recv.result != 0) break;  /* every handle gone: the weak one
                                        does not keep it open */
    if (s->msg.kind == ACT_GET_ID) {
      s->next_id++;
      (void)ax_oneshot_send(s->msg.respond_to, &s->next_id);
    } else {
      atomic_store(&act_self_seen, 1);
    }
    if (s->i == 0) {
      s->strong = ax_mpsc_weak_upgrade(s->self_tx);
      if (s->strong != NULL) {
        s->self_msg.kind = ACT_SELF;
        s->self_msg.respond_to = NULL;
        AX_AWAIT(ax_mpsc_send(&s->send, s->strong, &s->self_msg));
        if (s->send.result != 0) atomic_fetch_add(&act_errors, 1);
        ax_mpsc_weak_drop(s->self_tx);
        s->self_tx = ax_mpsc_sender_downgrade(s->strong);
        ax_mpsc_sender_drop(s->strong);
        s->strong = NULL;
      } else {
        atomic_fetch_add(&act_errors, 1);
      }
    }
  }
  if (!atomic_load(&act_self_seen)) atomic_fetch_add(&act_errors, 1);
  ax_mpsc_weak_drop(s->self_tx);
  ax_mpsc_receiver_drop(s->rx);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *handle;         /* owned: MyActorHandle's sender */
  ax_oneshot_rx_t *reply;
  ax_mpsc_send_t send;
  ax_oneshot_recv_t recv;
  act_msg_t msg;
  unsigned id;
} act_client_t;

AX_ASYNC(act_client, act_client_t, s) {
  AX_BEGIN(s);
  s->msg.kind = ACT_GET_ID;
  if (ax_oneshot_new(sizeof(unsigned), NULL, &s->msg.respond_to,
                     &s->reply) != 0)
    atomic_fetch_add(&act_errors, 1);
  AX_AWAIT(ax_mpsc_send(&s->send, s->handle, &s->msg));
  if (s->send.result != 0) {
    ax_oneshot_sender_drop(s->msg.respond_to);  /* still ours */
    atomic_fetch_add(&act_errors, 1);
  }
  AX_AWAIT(ax_oneshot_recv(&s->recv, s->reply, &s->id));
  if (s->recv.result == 0) atomic_store(&act_id_seen, (int)s->id);
  ax_oneshot_receiver_drop(s->reply);
  ax_mpsc_sender_drop(s->handle);  /* drop(handle) */
  AX_END();
}

typedef struct {
  ax_async_t co;
  actor_t act;
  act_client_t client;
  ax_join_t ha, hc;
} act_main_t;

AX_ASYNC(act_main, act_main_t, s) {
  AX_BEGIN(s);
  if (AX_SPAWN(actor, &s->act, &s->ha) != 0 ||
      AX_SPAWN(act_client, &s->client, &s->hc) != 0)
    atomic_fetch_add(&act_errors, 1);
  AX_AWAIT(ax_join_wait(&s->hc));
  if (s->hc.result != 0) atomic_fetch_add(&act_errors, 1);
  ax_join_drop(&s->hc);
  AX_AWAIT(ax_join_wait(&s->ha));  /* ends: only its weak sender is left */
  if (s->ha.result != 0) atomic_fetch_add(&act_errors, 1);
  ax_join_drop(&s->ha);
  AX_END();
}

START_TEST(actor_weak_sender) {
  act_main_t m = {0};
  ax_mpsc_tx_t *tx;
  atomic_store(&act_errors, 0);
  atomic_store(&act_self_seen, 0);
  atomic_store(&act_id_seen, 0);
  ck_assert_int_eq(
      ax_mpsc_new(sizeof(act_msg_t), 8, act_msg_drop, &tx, &m.act.rx), 0);
  m.act.self_tx = ax_mpsc_sender_downgrade(tx);  /* sender.clone().downgrade() */
  m.client.handle = tx;
  RUN_TASK(_i, act_main, &m);
  ck_assert_int_eq(atomic_load(&act_errors), 0);
  ck_assert_int_eq(atomic_load(&act_self_seen), 1);
  ck_assert_int_eq(atomic_load(&act_id_seen), 1);
}
END_TEST

/* axle: send_timeout on a full channel.  (1) Dropped while waiting: sent
 * nothing.  (2) Nobody drains: AX_ETIMEDOUT, the value still the caller's.
 * (3) A receive makes room while it waits: sent. */
static atomic_int st_result, st_steps;

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_send_timeout_t st;
  int v, out;
} st_main_t;

AX_ASYNC(st_main, st_main_t, s) {
  AX_BEGIN(s);
  s->v = 5;
  if (ax_poll(ax_mpsc_send_timeout(&s->st, s->tx, &s->v, 100000), cx) ==
      AX_PENDING)
    atomic_fetch_add(&st_steps, 1);
  ax_drop(&s->st.base);
  if (ax_mpsc_len(s->rx) == 1) atomic_fetch_add(&st_steps, 1);
  AX_AWAIT(ax_mpsc_send_timeout(&s->st, s->tx, &s->v, 5));
  atomic_store(&st_result, s->st.result);
  ax_drop(&s->st.base);
  if (ax_poll(ax_mpsc_send_timeout(&s->st, s->tx, &s->v, 100000), cx) ==
      AX_PENDING)
    atomic_fetch_add(&st_steps, 1);
  if (ax_mpsc_try_recv(s->rx, &s->out) == 0 && s->out == 1)
    atomic_fetch_add(&st_steps, 1);
  AX_AWAIT(&s->st.base);
  if (s->st.result == 0) atomic_fetch_add(&st_steps, 1);
  ax_drop(&s->st.base);
  AX_END();
}

START_TEST(send_timeout_elapses) {
  st_main_t m = {0};
  int v = 1, out = 0;
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 1, NULL, &m.tx, &m.rx), 0);
  ck_assert_int_eq(ax_mpsc_try_send(m.tx, &v), 0);
  atomic_store(&st_result, 1);
  atomic_store(&st_steps, 0);
  RUN_TASK(_i, st_main, &m);
  ck_assert_int_eq(atomic_load(&st_result), AX_ETIMEDOUT);
  ck_assert_int_eq(atomic_load(&st_steps), 5);
  ck_assert_int_eq(ax_mpsc_try_recv(m.rx, &out), 0);
  ck_assert_int_eq(out, 5);
  ck_assert_int_eq(ax_mpsc_try_recv(m.rx, &out), AX_EEMPTY);
  ck_assert_uint_eq(ax_mpsc_capacity(m.tx), 1);
  ax_mpsc_sender_drop(m.tx);
  ax_mpsc_receiver_drop(m.rx);
}
END_TEST

/* sync_mpsc.rs: recv_close_gets_none_reserved, on a runtime: a receiver
 * task waits on a closed channel for the permit reserved before the
 * close; the main task sends through it; the receiver gets the value and
 * then AX_ECLOSED. */
static atomic_int rc_value, rc_closed;

typedef struct {
  ax_async_t co;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_t r;
  int out;
} rc_receiver_t;

AX_ASYNC(rc_receiver, rc_receiver_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_mpsc_recv(&s->r, s->rx, &s->out));
  if (s->r.result == 0) atomic_store(&rc_value, s->out);
  ax_drop(&s->r.base);
  AX_AWAIT(ax_mpsc_recv(&s->r, s->rx, &s->out));
  atomic_store(&rc_closed, s->r.result);
  ax_drop(&s->r.base);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_reserve_t res;
  ax_join_t h;
  rc_receiver_t recv;
  ax_yield_t y;
  int i, v;
} rc_main_t;

AX_ASYNC(rc_main, rc_main_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_mpsc_reserve(&s->res, s->tx));
  ax_mpsc_sender_drop(s->tx);  /* the permit owns its own sender */
  ax_mpsc_close(s->rx);
  s->recv.rx = s->rx;
  if (AX_SPAWN(rc_receiver, &s->recv, &s->h) != 0)
    atomic_fetch_add(&join_errors, 1);
  for (s->i = 0; s->i < 20; s->i++)  /* let it wait (or not: either way) */
    AX_AWAIT(ax_yield_now(&s->y));
  s->v = 123;
  if (ax_mpsc_permit_send(&s->res.permit, &s->v) != 0)
    atomic_fetch_add(&join_errors, 1);
  ax_drop(&s->res.base);
  AX_AWAIT(ax_join_wait(&s->h));
  ax_join_drop(&s->h);
  ax_mpsc_receiver_drop(s->rx);
  AX_END();
}

START_TEST(recv_close_gets_none_reserved_rt) {
  rc_main_t m = {0};
  atomic_store(&rc_value, 0);
  atomic_store(&rc_closed, 0);
  ck_assert_int_eq(ax_mpsc_new(sizeof(int), 1, NULL, &m.tx, &m.rx), 0);
  RUN_TASK(_i, rc_main, &m);
  ck_assert_int_eq(atomic_load(&rc_value), 123);
  ck_assert_int_eq(atomic_load(&rc_closed), AX_ECLOSED);
}
END_TEST

/* ======================================================================
 * oneshot (tokio/tests/sync_oneshot.rs)
 * ====================================================================== */

/* sync_oneshot.rs: receiver_is_terminated_send, _try_recv, _drop and
 * _rx_close, one after the other. */
START_TEST(receiver_is_terminated) {
  ax_oneshot_tx_t *tx;
  ax_oneshot_rx_t *rx;
  ax_oneshot_recv_t r;
  th_cx_t c;
  int v = 17, out = 0;
  th_cx_init(&c);
  /* send */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert(!ax_oneshot_is_terminated(rx));
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ck_assert(!ax_oneshot_is_terminated(rx));
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r, rx, &out), &c), AX_READY);
  ck_assert_int_eq(out, 17);
  ck_assert(ax_oneshot_is_terminated(rx));
  ax_drop(&r.base);
  ax_oneshot_receiver_drop(rx);
  /* try_recv */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &out), AX_EEMPTY);
  ck_assert(!ax_oneshot_is_terminated(rx));
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &out), 0);
  ck_assert(ax_oneshot_is_terminated(rx));
  ax_oneshot_receiver_drop(rx);
  /* sender dropped */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ax_oneshot_sender_drop(tx);
  ck_assert(!ax_oneshot_is_terminated(rx));
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r, rx, &out), &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ck_assert(ax_oneshot_is_terminated(rx));
  ax_drop(&r.base);
  ax_oneshot_receiver_drop(rx);
  /* receiver closed */
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ax_oneshot_close(rx);
  ck_assert(!ax_oneshot_is_terminated(rx));
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r, rx, &out), &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ECLOSED);
  ck_assert(ax_oneshot_is_terminated(rx));
  ax_drop(&r.base);
  ax_oneshot_sender_drop(tx);
  ax_oneshot_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_oneshot.rs: receiver_is_empty_send, _try_recv, _drop, _rx_close. */
START_TEST(receiver_is_empty) {
  ax_oneshot_tx_t *tx;
  ax_oneshot_rx_t *rx;
  ax_oneshot_recv_t r;
  th_cx_t c;
  int v = 17, out = 0;
  th_cx_init(&c);
  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert(ax_oneshot_is_empty(rx));
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ck_assert(!ax_oneshot_is_empty(rx));
  ck_assert_int_eq(TH_POLL(ax_oneshot_recv(&r, rx, &out), &c), AX_READY);
  ck_assert(ax_oneshot_is_empty(rx));
  ax_drop(&r.base);
  ax_oneshot_receiver_drop(rx);

  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_oneshot_send(tx, &v), 0);
  ck_assert(!ax_oneshot_is_empty(rx));
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &out), 0);
  ck_assert(ax_oneshot_is_empty(rx));
  ax_oneshot_receiver_drop(rx);

  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ax_oneshot_sender_drop(tx);
  ck_assert(ax_oneshot_is_empty(rx));
  ck_assert_int_eq(ax_oneshot_try_recv(rx, &out), AX_ECLOSED);
  ck_assert(ax_oneshot_is_empty(rx));
  ax_oneshot_receiver_drop(rx);

  ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &tx, &rx), 0);
  ax_oneshot_close(rx);
  ck_assert(ax_oneshot_is_empty(rx));
  ax_oneshot_sender_drop(tx);
  ax_oneshot_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* ======================================================================
 * broadcast (tokio/tests/sync_broadcast.rs)
 * ====================================================================== */

/* sync_broadcast.rs: sender_len. */
START_TEST(sender_len) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx1, *rx2;
  int i, out;
  ck_assert_int_eq(ax_broadcast_new(sizeof(int), 4, NULL, NULL, &tx, &rx1),
                   0);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &rx2), 0);
  ck_assert_uint_eq(ax_broadcast_len(tx), 0);
  ck_assert(ax_broadcast_is_empty(tx));
  for (i = 1; i <= 3; i++)
    ck_assert_int_eq(ax_broadcast_send(tx, &i), 0);
  ck_assert_uint_eq(ax_broadcast_len(tx), 3);
  ck_assert(!ax_broadcast_is_empty(tx));
  ck_assert_int_eq(ax_broadcast_try_recv(rx1, &out, NULL), 0);
  ck_assert_int_eq(ax_broadcast_try_recv(rx1, &out, NULL), 0);
  ck_assert_uint_eq(ax_broadcast_len(tx), 3);
  ck_assert_int_eq(ax_broadcast_try_recv(rx2, &out, NULL), 0);
  ck_assert_uint_eq(ax_broadcast_len(tx), 2);
  for (i = 4; i <= 6; i++)
    ck_assert_int_eq(ax_broadcast_send(tx, &i), 0);
  ck_assert_uint_eq(ax_broadcast_len(tx), 4);
  /* A receiver that goes gives up its share. */
  ax_broadcast_receiver_drop(rx2);
  ck_assert_uint_eq(ax_broadcast_len(tx), 4);  /* rx1 has 4 left too */
  while (ax_broadcast_try_recv(rx1, &out, NULL) == 0) {
  }
  ck_assert(ax_broadcast_is_empty(tx));
  ax_broadcast_receiver_drop(rx1);
  ax_broadcast_sender_drop(tx);
}
END_TEST

/* sync_broadcast.rs: sender_len_random (a fixed-seed generator instead
 * of rand): after every step, the sender's len is the larger of the
 * receivers' lens, at most the capacity. */
START_TEST(sender_len_random) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx1, *rx2;
  uint32_t seed = 12345;
  int i, out;
  uint64_t lag, l1, l2, expected;
  ck_assert_int_eq(ax_broadcast_new(sizeof(int), 16, NULL, NULL, &tx, &rx1),
                   0);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &rx2), 0);
  for (i = 0; i < 1000; i++) {
    seed = seed * 1103515245u + 12345u;
    switch ((seed >> 16) % 4) {
    case 0:
      (void)ax_broadcast_try_recv(rx1, &out, &lag);
      break;
    case 1:
      (void)ax_broadcast_try_recv(rx2, &out, &lag);
      break;
    default:
      out = 0;
      ck_assert_int_eq(ax_broadcast_send(tx, &out), 0);
    }
    l1 = ax_broadcast_receiver_len(rx1);
    l2 = ax_broadcast_receiver_len(rx2);
    expected = l1 > l2 ? l1 : l2;
    if (expected > 16) expected = 16;
    ck_assert_uint_eq(ax_broadcast_len(tx), expected);
  }
  ax_broadcast_receiver_drop(rx1);
  ax_broadcast_receiver_drop(rx2);
  ax_broadcast_sender_drop(tx);
}
END_TEST

/* sync_broadcast.rs: send_in_waker_drop -- a waker whose last drop sends
 * on the channel.  Replacing it (a poll with another waker) and waking it
 * (a send) must not deadlock on the channel's own locks. */
typedef struct {
  ax_waker_t base;
  atomic_int refs;            /* the owner's reference included */
  ax_broadcast_tx_t *tx;      /* owned: sent on, then dropped, by the last drop */
  atomic_int sent;
} send_on_drop_t;

static ax_waker_t *sod_clone(ax_waker_t *w) {
  atomic_fetch_add(&((send_on_drop_t *)w)->refs, 1);
  return w;
}
static void sod_drop(ax_waker_t *w) {
  send_on_drop_t *s = (send_on_drop_t *)w;
  if (atomic_fetch_sub(&s->refs, 1) == 1) {
    int v = 0;
    (void)ax_broadcast_send(s->tx, &v);
    atomic_fetch_add(&s->sent, 1);
    ax_broadcast_sender_drop(s->tx);
  }
}
static void sod_wake_by_ref(ax_waker_t *w) { (void)w; }
static void sod_wake(ax_waker_t *w) { sod_drop(w); }
static const ax_waker_vtable_t sod_vtable = {sod_clone, sod_wake,
                                             sod_wake_by_ref, sod_drop};

START_TEST(send_in_waker_drop) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx;
  ax_broadcast_recv_t r;
  send_on_drop_t w;
  ax_cx_t cx;
  th_cx_t c;
  int out;
  th_cx_init(&c);
  w.base.vtable = &sod_vtable;

  /* Replacing the old waker. */
  ck_assert_int_eq(ax_broadcast_new(0, 16, NULL, NULL, &tx, &rx), 0);
  atomic_init(&w.refs, 1);
  atomic_init(&w.sent, 0);
  w.tx = tx;                  /* the waker owns the only sender */
  ax_cx_init(&cx, &w.base);
  ck_assert_int_eq(ax_poll(ax_broadcast_recv(&r, rx, &out), &cx), AX_PENDING);
  sod_drop(&w.base);          /* drop(waker): the channel's clone is left */
  ck_assert_int_eq(atomic_load(&w.sent), 0);
  (void)TH_POLL(&r.base, &c); /* replaces it: its drop sends */
  ck_assert_int_eq(atomic_load(&w.sent), 1);
  ax_drop(&r.base);
  ax_broadcast_receiver_drop(rx);

  /* Waking it. */
  ck_assert_int_eq(ax_broadcast_new(0, 16, NULL, NULL, &tx, &rx), 0);
  atomic_init(&w.refs, 1);
  atomic_init(&w.sent, 0);
  w.tx = ax_broadcast_sender_clone(tx);
  ax_cx_init(&cx, &w.base);
  ck_assert_int_eq(ax_poll(ax_broadcast_recv(&r, rx, &out), &cx), AX_PENDING);
  sod_drop(&w.base);
  ck_assert_int_eq(ax_broadcast_send(tx, &out), 0);  /* wake: drop: send */
  ck_assert_int_eq(atomic_load(&w.sent), 1);
  ax_drop(&r.base);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_broadcast.rs: receiver_len_with_lagged -- with Tokio's capacity
 * (4: what Tokio makes of channel(3)) the numbers are Tokio's; with the
 * exact capacity 3 axle keeps one value fewer, so the receiver loses 10
 * and 30 where Tokio's loses only 10 (see channel.h). */
START_TEST(receiver_len_with_lagged) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx;
  uint64_t lag = 0;
  int i, out = 0, caps[2] = {4, 3};
  for (i = 0; i < 2; i++) {
    int v;
    ck_assert_int_eq(
        ax_broadcast_new(sizeof(int), (size_t)caps[i], NULL, NULL, &tx, &rx),
        0);
    for (v = 10; v <= 40; v += 10)
      ck_assert_int_eq(ax_broadcast_send(tx, &v), 0);
    ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 4);
    if (caps[i] == 4) {
      ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, &lag), 0);
      ck_assert_int_eq(out, 10);
    } else {
      ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, &lag), AX_ELAGGED);
      ck_assert_uint_eq(lag, 1);  /* 10 is gone already */
      ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, &lag), 0);
      ck_assert_int_eq(out, 20);
    }
    for (v = 50; v <= 60; v += 10)
      ck_assert_int_eq(ax_broadcast_send(tx, &v), 0);
    ck_assert_uint_eq(ax_broadcast_receiver_len(rx),
                      caps[i] == 4 ? 5 : 4);
    ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, &lag), AX_ELAGGED);
    ck_assert_uint_eq(lag, 1);  /* 20 (Tokio) or 30 (axle, cap 3) */
    ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, &lag), 0);
    ck_assert_int_eq(out, caps[i] == 4 ? 30 : 40);
    ck_assert(!ax_broadcast_receiver_is_empty(rx));
    while (ax_broadcast_try_recv(rx, &out, &lag) == 0) {
    }
    ck_assert(ax_broadcast_receiver_is_empty(rx));
    ax_broadcast_receiver_drop(rx);
    ax_broadcast_sender_drop(tx);
  }
}
END_TEST

/* sync_broadcast.rs: broadcast_sender_closed and
 * broadcast_sender_closed_with_extra_subscribe. */
START_TEST(broadcast_sender_closed) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx, *rx2;
  ax_broadcast_closed_t cl;
  th_cx_t c;
  th_cx_init(&c);
  ck_assert_int_eq(ax_broadcast_new(0, 1, NULL, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_broadcast_resubscribe(rx, &rx2), 0);
  ck_assert_int_eq(TH_POLL(ax_broadcast_closed(&cl, tx), &c), AX_PENDING);
  ax_broadcast_receiver_drop(rx);
  ck_assert_int_eq(c.w.wakes, 0);
  ck_assert_int_eq(TH_POLL(&cl.base, &c), AX_PENDING);
  ax_broadcast_receiver_drop(rx2);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&cl.base, &c), AX_READY);
  ax_drop(&cl.base);
  /* with_extra_subscribe: a receiver that comes and goes meanwhile. */
  ck_assert_int_eq(TH_POLL(ax_broadcast_closed(&cl, tx), &c), AX_READY);
  ax_drop(&cl.base);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_broadcast_closed(&cl, tx), &c), AX_PENDING);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &rx2), 0);
  ax_broadcast_receiver_drop(rx);
  ck_assert_int_eq(TH_POLL(&cl.base, &c), AX_PENDING);
  ax_broadcast_receiver_drop(rx2);
  ck_assert_int_eq(TH_POLL(&cl.base, &c), AX_READY);
  ax_drop(&cl.base);
  /* Dropped while waiting: leaves no waker behind. */
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_broadcast_closed(&cl, tx), &c), AX_PENDING);
  ax_drop(&cl.base);
  ck_assert_int_eq(c.w.refs, 0);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
}
END_TEST

/* sync_broadcast_weak.rs: downgrade_upgrade_sender_failure (and axle's
 * own checks: a successful upgrade, weak_clone and weak_drop). */
START_TEST(broadcast_weak_sender) {
  ax_broadcast_tx_t *tx, *up;
  ax_broadcast_rx_t *rx;
  ax_broadcast_weak_tx_t *w, *w2;
  int v = 7, out = 0;
  ck_assert_int_eq(ax_broadcast_new(sizeof(int), 2, NULL, NULL, &tx, &rx),
                   0);
  w = ax_broadcast_sender_downgrade(tx);
  w2 = ax_broadcast_weak_clone(w);
  ck_assert_uint_eq(ax_broadcast_sender_strong_count(tx), 1);
  ck_assert_uint_eq(ax_broadcast_sender_weak_count(tx), 2);
  ax_broadcast_weak_drop(w2);
  ck_assert_uint_eq(ax_broadcast_sender_weak_count(tx), 1);
  up = ax_broadcast_weak_upgrade(w);
  ck_assert_ptr_nonnull(up);
  ck_assert_uint_eq(ax_broadcast_sender_strong_count(tx), 2);
  ck_assert_int_eq(ax_broadcast_send(up, &v), 0);
  ax_broadcast_sender_drop(up);
  ax_broadcast_sender_drop(tx);
  /* Only the weak one left: closed for the receiver, after the value. */
  ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, NULL), 0);
  ck_assert_int_eq(out, 7);
  ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, NULL), AX_ECLOSED);
  ck_assert_ptr_null(ax_broadcast_weak_upgrade(w));
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_weak_drop(w);
}
END_TEST

/* sync_broadcast.rs: broadcast_sender_new_must_be_closed (Sender::new is
 * ax_broadcast_new without a first receiver). */
START_TEST(broadcast_sender_new_must_be_closed) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx;
  ax_broadcast_closed_t cl;
  th_cx_t c;
  th_cx_init(&c);
  ck_assert_int_eq(ax_broadcast_new(0, 1, NULL, NULL, &tx, NULL), 0);
  ck_assert_int_eq(TH_POLL(ax_broadcast_closed(&cl, tx), &c), AX_READY);
  ax_drop(&cl.base);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_broadcast_closed(&cl, tx), &c), AX_PENDING);
  ax_drop(&cl.base);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* Tokio's assert_recv! / assert_lagged! / assert_empty! for an int
 * broadcast receiver. */
static int bc_recv(ax_broadcast_rx_t *rx) {
  int out = -1;
  ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, NULL), 0);
  return out;
}
static void bc_lagged(ax_broadcast_rx_t *rx, uint64_t n) {
  uint64_t lag = 0;
  int out = -1;
  ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, &lag), AX_ELAGGED);
  ck_assert_uint_eq(lag, n);
  ck_assert_int_eq(out, -1);  /* nothing copied */
}
static void bc_empty(ax_broadcast_rx_t *rx) {
  int out;
  ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, NULL), AX_EEMPTY);
}
static void bc_send(ax_broadcast_tx_t *tx, int v) {
  ck_assert_int_eq(ax_broadcast_send(tx, &v), 0);
}
static void bc_new(size_t cap, ax_broadcast_tx_t **tx, ax_broadcast_rx_t **rx) {
  ck_assert_int_eq(ax_broadcast_new(sizeof(int), cap, NULL, NULL, tx, rx), 0);
}

/* sync_broadcast.rs, "Lagging semantics": with power-of-two capacities
 * axle and Tokio keep the same number of values, so the numbers are
 * Tokio's exactly.  slow_receiver_within_capacity_does_not_lag,
 * capacity_overflow_reports_lagged_then_oldest_retained,
 * lagged_count_matches_number_of_overwritten_messages,
 * lag_catch_up_then_lag_again, lag_is_per_receiver,
 * lag_again_before_reading_retained_messages,
 * single_slot_capacity_lag_semantics,
 * receiver_len_after_lag_error_advances_cursor. */
START_TEST(broadcast_lag_semantics) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx, *fast;
  int i;
  /* slow_receiver_within_capacity_does_not_lag */
  bc_new(2, &tx, &rx);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &fast), 0);
  bc_send(tx, 1);
  bc_send(tx, 2);
  ck_assert_int_eq(bc_recv(fast), 1);
  ck_assert_int_eq(bc_recv(fast), 2);
  bc_empty(fast);
  ck_assert_int_eq(bc_recv(rx), 1);
  ck_assert_int_eq(bc_recv(rx), 2);
  bc_empty(rx);
  ax_broadcast_receiver_drop(fast);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  /* capacity_overflow_reports_lagged_then_oldest_retained */
  bc_new(2, &tx, &rx);
  bc_send(tx, 10);
  bc_send(tx, 20);
  bc_send(tx, 30);
  bc_lagged(rx, 1);
  ck_assert_int_eq(bc_recv(rx), 20);
  ck_assert_int_eq(bc_recv(rx), 30);
  bc_empty(rx);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  /* lagged_count_matches_number_of_overwritten_messages */
  bc_new(4, &tx, &rx);
  for (i = 1; i <= 4; i++) bc_send(tx, i);
  ck_assert_int_eq(bc_recv(rx), 1);
  for (i = 5; i <= 8; i++) bc_send(tx, i);
  bc_lagged(rx, 3);
  for (i = 5; i <= 8; i++) ck_assert_int_eq(bc_recv(rx), i);
  bc_empty(rx);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  /* lag_catch_up_then_lag_again */
  bc_new(2, &tx, &rx);
  for (i = 1; i <= 3; i++) bc_send(tx, i);
  bc_lagged(rx, 1);
  ck_assert_int_eq(bc_recv(rx), 2);
  ck_assert_int_eq(bc_recv(rx), 3);
  bc_empty(rx);
  for (i = 4; i <= 6; i++) bc_send(tx, i);
  bc_lagged(rx, 1);
  ck_assert_int_eq(bc_recv(rx), 5);
  ck_assert_int_eq(bc_recv(rx), 6);
  bc_empty(rx);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  /* lag_is_per_receiver */
  bc_new(2, &tx, &rx);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &fast), 0);
  bc_send(tx, 1);
  bc_send(tx, 2);
  ck_assert_int_eq(bc_recv(fast), 1);
  ck_assert_int_eq(bc_recv(fast), 2);
  bc_send(tx, 3);
  bc_send(tx, 4);
  ck_assert_int_eq(bc_recv(fast), 3);
  ck_assert_int_eq(bc_recv(fast), 4);
  bc_lagged(rx, 2);
  ck_assert_int_eq(bc_recv(rx), 3);
  ck_assert_int_eq(bc_recv(rx), 4);
  bc_empty(rx);
  bc_empty(fast);
  ax_broadcast_receiver_drop(fast);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  /* lag_again_before_reading_retained_messages */
  bc_new(2, &tx, &rx);
  for (i = 1; i <= 3; i++) bc_send(tx, i);
  bc_lagged(rx, 1);
  for (i = 4; i <= 6; i++) bc_send(tx, i);
  bc_lagged(rx, 3);
  ck_assert_int_eq(bc_recv(rx), 5);
  ck_assert_int_eq(bc_recv(rx), 6);
  bc_empty(rx);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  /* single_slot_capacity_lag_semantics */
  bc_new(1, &tx, &rx);
  bc_send(tx, 1);
  ck_assert_int_eq(bc_recv(rx), 1);
  bc_send(tx, 2);
  bc_send(tx, 3);
  bc_lagged(rx, 1);
  ck_assert_int_eq(bc_recv(rx), 3);
  bc_empty(rx);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  /* receiver_len_after_lag_error_advances_cursor */
  bc_new(2, &tx, &rx);
  for (i = 1; i <= 4; i++) bc_send(tx, i);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 4);
  bc_lagged(rx, 2);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 2);
  ck_assert_int_eq(bc_recv(rx), 3);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 1);
  ck_assert_int_eq(bc_recv(rx), 4);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 0);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
}
END_TEST

/* sync_broadcast.rs: lag_uses_power_of_two_buffer_length.  Tokio's
 * channel(3) keeps 4 values; axle's keeps exactly 3 (channel.h).  First
 * Tokio's numbers with capacity 4 (what Tokio makes of 3), then the same
 * sends with axle's capacity 3: the lag starts one send earlier and the
 * receiver loses one value more. */
START_TEST(lag_uses_power_of_two_buffer_length) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx;
  int i;
  bc_new(4, &tx, &rx);
  for (i = 1; i <= 4; i++) bc_send(tx, i);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 4);
  ck_assert_int_eq(bc_recv(rx), 1);
  bc_send(tx, 5);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 4);
  bc_send(tx, 6);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 5);
  bc_lagged(rx, 1);
  for (i = 3; i <= 6; i++) ck_assert_int_eq(bc_recv(rx), i);
  bc_empty(rx);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);

  bc_new(3, &tx, &rx);
  for (i = 1; i <= 4; i++) bc_send(tx, i);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 4);  /* counts the lost */
  bc_lagged(rx, 1);                                      /* Tokio: recv 1 */
  ck_assert_int_eq(bc_recv(rx), 2);
  bc_send(tx, 5);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 3);
  bc_send(tx, 6);
  ck_assert_uint_eq(ax_broadcast_receiver_len(rx), 4);
  bc_lagged(rx, 1);                                      /* 3 is gone */
  for (i = 4; i <= 6; i++) ck_assert_int_eq(bc_recv(rx), i);
  bc_empty(rx);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);

  /* The examples of channel.h (5 values) and docs/guide.md (6 values),
   * sent to a receiver that read nothing: Tokio's numbers with 4 slots,
   * axle's with 3. */
  for (i = 5; i <= 6; i++) {
    int k;
    bc_new(4, &tx, &rx);
    for (k = 1; k <= i; k++) bc_send(tx, k);
    bc_lagged(rx, (uint64_t)(i - 4));
    for (k = i - 3; k <= i; k++) ck_assert_int_eq(bc_recv(rx), k);
    bc_empty(rx);
    ax_broadcast_receiver_drop(rx);
    ax_broadcast_sender_drop(tx);
    bc_new(3, &tx, &rx);
    for (k = 1; k <= i; k++) bc_send(tx, k);
    bc_lagged(rx, (uint64_t)(i - 3));
    for (k = i - 2; k <= i; k++) ck_assert_int_eq(bc_recv(rx), k);
    bc_empty(rx);
    ax_broadcast_receiver_drop(rx);
    ax_broadcast_sender_drop(tx);
  }
}
END_TEST

/* sync_broadcast.rs: async_recv_lagged_then_resumes_from_oldest_retained
 * (the recv future, hand-polled). */
START_TEST(async_recv_lagged_then_resumes_from_oldest_retained) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx;
  ax_broadcast_recv_t r;
  th_cx_t c;
  int out = 0;
  th_cx_init(&c);
  bc_new(2, &tx, &rx);
  bc_send(tx, 10);
  bc_send(tx, 20);
  bc_send(tx, 30);
  ck_assert_int_eq(TH_POLL(ax_broadcast_recv(&r, rx, &out), &c), AX_READY);
  ck_assert_int_eq(r.result, AX_ELAGGED);
  ck_assert_uint_eq(r.lagged, 1);
  ax_drop(&r.base);
  ck_assert_int_eq(TH_POLL(ax_broadcast_recv(&r, rx, &out), &c), AX_READY);
  ck_assert_int_eq(r.result, 0);
  ck_assert_int_eq(out, 20);
  ax_drop(&r.base);
  ck_assert_int_eq(TH_POLL(ax_broadcast_recv(&r, rx, &out), &c), AX_READY);
  ck_assert_int_eq(out, 30);
  ax_drop(&r.base);
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_broadcast_weak.rs: weak_sender (by hand: the sends never wait),
 * downgrade_drop_upgrade, test_tx_count_weak_sender,
 * test_rx_is_closed_when_dropping_all_senders_except_weak_senders (as a
 * receiver's AX_ECLOSED), and the count tests sender_strong_count_*,
 * sender_weak_count_*, sender_strong_and_weak_conut. */
START_TEST(broadcast_weak_sender_tokio) {
  ax_broadcast_tx_t *tx, *tx2;
  ax_broadcast_rx_t *rx;
  ax_broadcast_weak_tx_t *w, *w2;
  int i, out = -1, rc;
  /* weak_sender */
  bc_new(11, &tx, &rx);
  tx2 = ax_broadcast_sender_clone(tx);
  w = ax_broadcast_sender_downgrade(tx2);
  ax_broadcast_sender_drop(tx2);
  for (i = 0; i < 10; i++) bc_send(tx, i);
  tx2 = ax_broadcast_weak_upgrade(w);
  ck_assert_ptr_nonnull(tx2);
  bc_send(tx2, 20);
  ax_broadcast_weak_drop(w);
  w = ax_broadcast_sender_downgrade(tx2);
  ax_broadcast_sender_drop(tx2);
  ax_broadcast_sender_drop(tx);
  for (i = 0; i < 12; i++) {
    rc = ax_broadcast_try_recv(rx, &out, NULL);
    if (rc != 0) break;
    ck_assert_int_eq(out, i == 10 ? 20 : i);
  }
  ck_assert_int_eq(rc, AX_ECLOSED);
  ck_assert_int_eq(i, 11);
  ck_assert_ptr_null(ax_broadcast_weak_upgrade(w));
  ax_broadcast_weak_drop(w);
  ax_broadcast_receiver_drop(rx);
  /* downgrade_drop_upgrade */
  bc_new(1, &tx, &rx);
  tx2 = ax_broadcast_sender_clone(tx);
  w = ax_broadcast_sender_downgrade(tx2);
  ax_broadcast_sender_drop(tx2);
  ax_broadcast_sender_drop(tx);
  ck_assert_ptr_null(ax_broadcast_weak_upgrade(w));
  ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, NULL), AX_ECLOSED);
  ax_broadcast_weak_drop(w);
  ax_broadcast_receiver_drop(rx);
  /* test_tx_count_weak_sender */
  bc_new(1, &tx, &rx);
  w = ax_broadcast_sender_downgrade(tx);
  w2 = ax_broadcast_sender_downgrade(tx);
  ax_broadcast_sender_drop(tx);
  ck_assert(ax_broadcast_weak_upgrade(w) == NULL &&
            ax_broadcast_weak_upgrade(w2) == NULL);
  ax_broadcast_weak_drop(w);
  ax_broadcast_weak_drop(w2);
  ax_broadcast_receiver_drop(rx);
  /* the counts */
  bc_new(1, &tx, &rx);
  tx2 = ax_broadcast_sender_clone(tx);
  w = ax_broadcast_sender_downgrade(tx);
  w2 = ax_broadcast_sender_downgrade(tx2);
  ck_assert_uint_eq(ax_broadcast_sender_strong_count(tx), 2);
  ck_assert_uint_eq(ax_broadcast_sender_strong_count(tx2), 2);
  ck_assert_uint_eq(ax_broadcast_weak_strong_count(w), 2);
  ck_assert_uint_eq(ax_broadcast_weak_strong_count(w2), 2);
  ck_assert_uint_eq(ax_broadcast_receiver_sender_strong_count(rx), 2);
  ck_assert_uint_eq(ax_broadcast_sender_weak_count(tx), 2);
  ck_assert_uint_eq(ax_broadcast_sender_weak_count(tx2), 2);
  ck_assert_uint_eq(ax_broadcast_weak_weak_count(w), 2);
  ck_assert_uint_eq(ax_broadcast_weak_weak_count(w2), 2);
  ck_assert_uint_eq(ax_broadcast_receiver_sender_weak_count(rx), 2);
  ax_broadcast_sender_drop(tx2);
  ax_broadcast_weak_drop(w2);
  ck_assert_uint_eq(ax_broadcast_sender_strong_count(tx), 1);
  ck_assert_uint_eq(ax_broadcast_weak_strong_count(w), 1);
  ck_assert_uint_eq(ax_broadcast_receiver_sender_strong_count(rx), 1);
  ck_assert_uint_eq(ax_broadcast_sender_weak_count(tx), 1);
  ck_assert_uint_eq(ax_broadcast_weak_weak_count(w), 1);
  ck_assert_uint_eq(ax_broadcast_receiver_sender_weak_count(rx), 1);
  ax_broadcast_weak_drop(w);
  ck_assert_uint_eq(ax_broadcast_receiver_sender_weak_count(rx), 0);
  ax_broadcast_sender_drop(tx);
  ck_assert_uint_eq(ax_broadcast_receiver_sender_strong_count(rx), 0);
  ax_broadcast_receiver_drop(rx);
}
END_TEST

/* sync_broadcast.rs: broadcast_sender_closed, on a runtime: a sender
 * task waits in closed() while receiver tasks drain and go. */
#define BC_RX 3
static atomic_int bc_closed_done, bc_errors;

typedef struct {
  ax_async_t co;
  ax_broadcast_tx_t *tx;      /* owned */
  ax_broadcast_closed_t cl;
  int i;
} bc_sender_t;

AX_ASYNC(bc_sender, bc_sender_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 3; s->i++)
    if (ax_broadcast_send(s->tx, &s->i) != 0) atomic_fetch_add(&bc_errors, 1);
  AX_AWAIT(ax_broadcast_closed(&s->cl, s->tx));
  ax_drop(&s->cl.base);
  atomic_store(&bc_closed_done, 1);
  ax_broadcast_sender_drop(s->tx);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_broadcast_rx_t *rx;      /* owned */
  ax_broadcast_recv_t r;
  int out, n;
} bc_receiver_t;

AX_ASYNC(bc_receiver, bc_receiver_t, s) {
  AX_BEGIN(s);
  for (s->n = 0; s->n < 3; s->n++) {
    AX_AWAIT(ax_broadcast_recv(&s->r, s->rx, &s->out));
    if (s->r.result != 0 || s->out != s->n) atomic_fetch_add(&bc_errors, 1);
    ax_drop(&s->r.base);
  }
  if (atomic_load(&bc_closed_done)) atomic_fetch_add(&bc_errors, 1);
  ax_broadcast_receiver_drop(s->rx);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_broadcast_tx_t *tx;
  ax_join_t h[BC_RX + 1];
  bc_sender_t snd;
  bc_receiver_t rcv;
  int i;
} bc_main_t;

AX_ASYNC(bc_main, bc_main_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < BC_RX; s->i++) {
    memset(&s->rcv, 0, sizeof s->rcv);
    if (ax_broadcast_subscribe(s->tx, &s->rcv.rx) != 0 ||
        AX_SPAWN(bc_receiver, &s->rcv, &s->h[s->i]) != 0)
      atomic_fetch_add(&bc_errors, 1);
  }
  s->snd.tx = s->tx;
  if (AX_SPAWN(bc_sender, &s->snd, &s->h[BC_RX]) != 0)
    atomic_fetch_add(&bc_errors, 1);
  for (s->i = 0; s->i <= BC_RX; s->i++) {
    AX_AWAIT(ax_join_wait(&s->h[s->i]));
    if (s->h[s->i].result != 0) atomic_fetch_add(&bc_errors, 1);
    ax_join_drop(&s->h[s->i]);
  }
  AX_END();
}

START_TEST(broadcast_sender_closed_rt) {
  bc_main_t m = {0};
  atomic_store(&bc_closed_done, 0);
  atomic_store(&bc_errors, 0);
  ck_assert_int_eq(ax_broadcast_new(sizeof(int), 4, NULL, NULL, &m.tx, NULL),
                   0);
  RUN_TASK(_i, bc_main, &m);
  ck_assert_int_eq(atomic_load(&bc_errors), 0);
  ck_assert_int_eq(atomic_load(&bc_closed_done), 1);
}
END_TEST

/* ======================================================================
 * watch (tokio/tests/sync_watch.rs)
 * ====================================================================== */

/* sync_watch.rs: rx_mark_changed. */
START_TEST(rx_mark_changed) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx, *rx2, *rx3, *rx4;
  ax_watch_changed_t ch;
  th_cx_t c;
  int v = 1, out = 0, changed = -1;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_watch_receiver_clone(rx, &rx2), 0);
  ck_assert_int_eq(ax_watch_receiver_clone(rx, &rx3), 0);
  ck_assert_int_eq(ax_watch_receiver_clone(rx, &rx4), 0);
  ax_watch_mark_changed(rx);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_READY);
  ck_assert_int_eq(ch.result, 0);
  ax_drop(&ch.base);

  ck_assert_int_eq(ax_watch_has_changed(rx2, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx2), &c), AX_PENDING);
  ax_drop(&ch.base);

  ax_watch_mark_changed(rx3);
  ax_watch_borrow(rx3, &out);
  ck_assert_int_eq(out, 1);
  ck_assert_int_eq(ax_watch_has_changed(rx3, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ax_watch_borrow_and_update(rx3, &out);
  ck_assert_int_eq(ax_watch_has_changed(rx3, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx3), &c), AX_PENDING);
  ax_drop(&ch.base);

  v = 2;
  ck_assert_int_eq(ax_watch_send(tx, &v), 0);
  ck_assert_int_eq(ax_watch_has_changed(rx4, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ax_watch_borrow_and_update(rx4, &out);
  ck_assert_int_eq(out, 2);
  ax_watch_mark_changed(rx4);
  ck_assert_int_eq(ax_watch_has_changed(rx4, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ax_watch_borrow_and_update(rx4, &out);
  ck_assert_int_eq(out, 2);
  ax_watch_receiver_drop(rx);
  ax_watch_receiver_drop(rx2);
  ax_watch_receiver_drop(rx3);
  ax_watch_receiver_drop(rx4);
  ax_watch_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_watch.rs: rx_mark_unchanged. */
START_TEST(rx_mark_unchanged) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx, *rx2;
  ax_watch_changed_t ch;
  th_cx_t c;
  int v = 1, out = 0, changed = -1;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_watch_receiver_clone(rx, &rx2), 0);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ax_watch_mark_changed(rx);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ax_watch_mark_unchanged(rx);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_PENDING);
  ax_drop(&ch.base);

  v = 2;
  ck_assert_int_eq(ax_watch_send(tx, &v), 0);
  ck_assert_int_eq(ax_watch_has_changed(rx2, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ax_watch_mark_unchanged(rx2);
  ck_assert_int_eq(ax_watch_has_changed(rx2, &changed), 0);
  ck_assert_int_eq(changed, 0);
  ax_watch_borrow_and_update(rx2, &out);
  ck_assert_int_eq(out, 2);
  ax_watch_receiver_drop(rx);
  ax_watch_receiver_drop(rx2);
  ax_watch_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_watch.rs: has_changed_errors_on_closed_channel_with_unseen_value,
 * changed_succeeds_on_closed_channel_with_unseen_value and
 * rx_observes_final_value. */
START_TEST(has_changed_errors_on_closed_channel_with_unseen_value) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx;
  ax_watch_changed_t ch;
  th_cx_t c;
  int v = 'A', out = 0, changed = -1;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  v = 'B';
  ck_assert_int_eq(ax_watch_send(tx, &v), 0);
  ax_watch_sender_drop(tx);
  /* Closed wins over the unseen value ... */
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), AX_ECLOSED);
  ck_assert_int_eq(changed, 0);
  ck_assert_int_eq(ax_watch_has_changed(rx, NULL), AX_EINVAL);
  ck_assert_int_eq(ax_watch_has_changed(NULL, &changed), AX_EINVAL);
  /* ... but changed() still delivers it, then reports the close. */
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_READY);
  ck_assert_int_eq(ch.result, 0);
  ax_drop(&ch.base);
  ax_watch_borrow(rx, &out);
  ck_assert_int_eq(out, 'B');
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_READY);
  ck_assert_int_eq(ch.result, AX_ECLOSED);
  ax_drop(&ch.base);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), AX_ECLOSED);
  ax_watch_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_watch.rs: poll_close (Sender::closed). */
START_TEST(poll_close) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx, *rx2;
  ax_watch_closed_t cl;
  th_cx_t c;
  int v = 1;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_watch_receiver_clone(rx, &rx2), 0);
  ck_assert(!ax_watch_is_closed(tx));
  ck_assert_int_eq(TH_POLL(ax_watch_closed(&cl, tx), &c), AX_PENDING);
  ax_watch_receiver_drop(rx);
  ck_assert_int_eq(c.w.wakes, 0);
  ck_assert_int_eq(TH_POLL(&cl.base, &c), AX_PENDING);
  ax_watch_receiver_drop(rx2);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&cl.base, &c), AX_READY);
  ax_drop(&cl.base);
  ck_assert(ax_watch_is_closed(tx));
  v = 2;
  ck_assert_int_eq(ax_watch_send(tx, &v), AX_ECLOSED);
  /* Dropped while waiting: no waker left behind. */
  ck_assert_int_eq(ax_watch_subscribe(tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_watch_closed(&cl, tx), &c), AX_PENDING);
  ax_drop(&cl.base);
  ck_assert_int_eq(c.w.refs, 0);
  ax_watch_receiver_drop(rx);
  ax_watch_sender_drop(tx);
}
END_TEST

static void add_n(void *value, void *arg) { *(int *)value += *(int *)arg; }
static int set_if_different(void *value, void *arg) {
  if (*(int *)value == *(int *)arg) return 0;
  *(int *)value = *(int *)arg;
  return 1;
}

/* axle (Tokio's send_modify / send_if_modified doc examples): in-place
 * changes, notifications only when modified, and without receivers. */
START_TEST(send_modify_and_send_if_modified) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx;
  ax_watch_changed_t ch;
  th_cx_t c;
  int v = 1, out = 0, arg, changed = -1;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_PENDING);
  arg = 4;
  ck_assert_int_eq(ax_watch_send_modify(tx, add_n, &arg), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_READY);
  ax_drop(&ch.base);
  ax_watch_borrow(rx, &out);
  ck_assert_int_eq(out, 5);
  /* Not modified: nobody woken, nothing unseen. */
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_PENDING);
  arg = 5;
  ck_assert_int_eq(ax_watch_send_if_modified(tx, set_if_different, &arg), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 0);
  arg = 6;
  ck_assert_int_eq(ax_watch_send_if_modified(tx, set_if_different, &arg), 1);
  ck_assert_int_eq(c.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_READY);
  ax_drop(&ch.base);
  ck_assert_int_eq(ax_watch_send_modify(tx, NULL, NULL), AX_EINVAL);
  ck_assert_int_eq(ax_watch_send_if_modified(tx, NULL, NULL), AX_EINVAL);
  /* No receiver left: still modifies (send would say AX_ECLOSED). */
  ax_watch_receiver_drop(rx);
  arg = 1;
  ck_assert_int_eq(ax_watch_send_modify(tx, add_n, &arg), 0);
  ck_assert_int_eq(ax_watch_subscribe(tx, &rx), 0);
  ax_watch_borrow(rx, &out);
  ck_assert_int_eq(out, 7);
  ax_watch_receiver_drop(rx);
  ax_watch_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

static int at_least(const void *value, void *arg) {
  return *(const int *)value >= *(int *)arg;
}

/* axle (Tokio's wait_for contract): the current value counts, each value
 * checked is marked seen, closed without a match is AX_ECLOSED, and a
 * dropped wait leaves nothing queued. */
START_TEST(wait_for_hand) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx;
  ax_watch_wait_for_t wf;
  th_cx_t c;
  int v = 3, want, out = 0, changed = -1;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  want = 3;  /* the current value, already seen: matches at once */
  ck_assert_int_eq(
      TH_POLL(ax_watch_wait_for(&wf, rx, at_least, &want, &out), &c),
      AX_READY);
  ck_assert_int_eq(wf.result, 0);
  ck_assert_int_eq(out, 3);
  ax_drop(&wf.base);
  want = 5;
  ck_assert_int_eq(
      TH_POLL(ax_watch_wait_for(&wf, rx, at_least, &want, &out), &c),
      AX_PENDING);
  v = 4;
  ck_assert_int_eq(ax_watch_send(tx, &v), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&wf.base, &c), AX_PENDING);  /* 4 < 5 */
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 0);  /* 4 was checked: seen */
  v = 6;
  ck_assert_int_eq(ax_watch_send(tx, &v), 0);
  ck_assert_int_eq(TH_POLL(&wf.base, &c), AX_READY);
  ck_assert_int_eq(wf.result, 0);
  ck_assert_int_eq(out, 6);
  ax_drop(&wf.base);
  /* Dropped while waiting. */
  want = 100;
  ck_assert_int_eq(
      TH_POLL(ax_watch_wait_for(&wf, rx, at_least, &want, NULL), &c),
      AX_PENDING);
  ck_assert_int_eq(c.w.refs, 1);
  ax_drop(&wf.base);
  ax_drop(&wf.base);
  ck_assert_int_eq(c.w.refs, 0);
  /* A last value sent before the close is checked before AX_ECLOSED. */
  ck_assert_int_eq(
      TH_POLL(ax_watch_wait_for(&wf, rx, at_least, &want, &out), &c),
      AX_PENDING);
  v = 100;
  ck_assert_int_eq(ax_watch_send(tx, &v), 0);
  ax_watch_sender_drop(tx);
  ck_assert_int_eq(TH_POLL(&wf.base, &c), AX_READY);
  ck_assert_int_eq(wf.result, 0);
  ck_assert_int_eq(out, 100);
  ax_drop(&wf.base);
  want = 101;
  ck_assert_int_eq(
      TH_POLL(ax_watch_wait_for(&wf, rx, at_least, &want, &out), &c),
      AX_READY);
  ck_assert_int_eq(wf.result, AX_ECLOSED);
  ax_drop(&wf.base);
  ck_assert_int_eq(TH_POLL(ax_watch_wait_for(&wf, rx, NULL, &want, &out), &c),
                   AX_READY);
  ck_assert_int_eq(wf.result, AX_EINVAL);
  ax_watch_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* ---- watch on a runtime: a producer counts up with send_modify while a
 * waiter waits for a threshold and the producer waits for the receivers
 * to go (Sender::closed). */
#define WF_TARGET 500
static atomic_int wf_errors, wf_seen;

typedef struct {
  ax_async_t co;
  ax_watch_tx_t *tx;          /* owned */
  ax_watch_closed_t cl;
  ax_yield_t y;
  int i, one;
} wf_producer_t;

AX_ASYNC(wf_producer, wf_producer_t, s) {
  AX_BEGIN(s);
  s->one = 1;
  for (s->i = 0; s->i < WF_TARGET * 2; s->i++) {
    if (ax_watch_send_modify(s->tx, add_n, &s->one) != 0)
      atomic_fetch_add(&wf_errors, 1);
    if (s->i % 16 == 0) AX_AWAIT(ax_yield_now(&s->y));
  }
  AX_AWAIT(ax_watch_closed(&s->cl, s->tx));
  ax_drop(&s->cl.base);
  ax_watch_sender_drop(s->tx);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx;          /* owned */
  ax_watch_wait_for_t wf;
  ax_join_t h;
  wf_producer_t prod;
  int want, out;
} wf_main_t;

AX_ASYNC(wf_main, wf_main_t, s) {
  AX_BEGIN(s);
  s->prod.tx = s->tx;
  if (AX_SPAWN(wf_producer, &s->prod, &s->h) != 0)
    atomic_fetch_add(&wf_errors, 1);
  s->want = WF_TARGET;
  AX_AWAIT(ax_watch_wait_for(&s->wf, s->rx, at_least, &s->want, &s->out));
  if (s->wf.result != 0 || s->out < WF_TARGET) atomic_fetch_add(&wf_errors, 1);
  atomic_store(&wf_seen, s->out);
  ax_drop(&s->wf.base);
  ax_watch_receiver_drop(s->rx);  /* lets the producer's closed() finish */
  AX_AWAIT(ax_join_wait(&s->h));
  if (s->h.result != 0) atomic_fetch_add(&wf_errors, 1);
  ax_join_drop(&s->h);
  AX_END();
}

START_TEST(wait_for_and_closed_rt) {
  wf_main_t m = {0};
  int v = 0;
  atomic_store(&wf_errors, 0);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &m.tx, &m.rx),
                   0);
  RUN_TASK(_i, wf_main, &m);
  ck_assert_int_eq(atomic_load(&wf_errors), 0);
  ck_assert_int_ge(atomic_load(&wf_seen), WF_TARGET);
}
END_TEST

/* sync_watch.rs: rx_version_underflow (marking changed twice on a fresh
 * channel is harmless) and reopened_after_subscribe (Sender::is_closed
 * follows the receivers, both ways). */
START_TEST(rx_version_underflow_and_reopened_after_subscribe) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx;
  int v = 1, changed = -1;
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  ax_watch_mark_changed(rx);
  ax_watch_mark_changed(rx);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), 0);
  ck_assert_int_eq(changed, 1);
  ck_assert(!ax_watch_is_closed(tx));
  ax_watch_receiver_drop(rx);
  ck_assert(ax_watch_is_closed(tx));
  ck_assert_int_eq(ax_watch_subscribe(tx, &rx), 0);
  ck_assert(!ax_watch_is_closed(tx));
  ax_watch_receiver_drop(rx);
  ck_assert(ax_watch_is_closed(tx));
  ax_watch_sender_drop(tx);
}
END_TEST

/* sync_watch.rs: changed_errors_on_closed_channel_with_seen_value,
 * has_changed_errors_on_closed_channel_with_seen_value and
 * wait_for_errors_on_closed_channel_true_predicate (which, despite its
 * name, expects success: a last value that matches is returned). */
static int always(const void *value, void *arg) {
  (void)value;
  (void)arg;
  return 1;
}

START_TEST(closed_channel_with_seen_value) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx;
  ax_watch_changed_t ch;
  ax_watch_wait_for_t wf;
  th_cx_t c;
  int v = 'A', out = 0, changed = -1;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  ax_watch_sender_drop(tx);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_READY);
  ck_assert_int_eq(ch.result, AX_ECLOSED);
  ax_drop(&ch.base);
  ck_assert_int_eq(ax_watch_has_changed(rx, &changed), AX_ECLOSED);
  ck_assert_int_eq(changed, 0);
  ax_watch_receiver_drop(rx);

  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  v = 'B';
  ck_assert_int_eq(ax_watch_send(tx, &v), 0);
  ax_watch_sender_drop(tx);
  ck_assert_int_eq(TH_POLL(ax_watch_wait_for(&wf, rx, always, NULL, &out), &c),
                   AX_READY);
  ck_assert_int_eq(wf.result, 0);
  ck_assert_int_eq(out, 'B');
  ax_drop(&wf.base);
  /* Seen now, and still true: wait_for checks the current value first. */
  ck_assert_int_eq(TH_POLL(ax_watch_wait_for(&wf, rx, always, NULL, &out), &c),
                   AX_READY);
  ck_assert_int_eq(wf.result, 0);
  ax_drop(&wf.base);
  ax_watch_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_watch.rs: multiple_sender and
 * receiver_is_notified_when_last_sender_is_dropped (sender clones: each
 * one sends, and only the last one's drop closes the channel). */
START_TEST(watch_multiple_sender) {
  ax_watch_tx_t *tx1, *tx2;
  ax_watch_rx_t *rx;
  ax_watch_changed_t ch;
  th_cx_t c;
  int v = 0, out = -1;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx1, &rx), 0);
  tx2 = ax_watch_sender_clone(tx1);
  v = 1;
  ck_assert_int_eq(ax_watch_send(tx1, &v), 0);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_READY);
  ck_assert_int_eq(ch.result, 0);
  ax_drop(&ch.base);
  ax_watch_borrow_and_update(rx, &out);
  ck_assert_int_eq(out, 1);
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_PENDING);
  v = 2;
  ck_assert_int_eq(ax_watch_send(tx2, &v), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_READY);
  ck_assert_int_eq(ch.result, 0);
  ax_drop(&ch.base);
  ax_watch_borrow_and_update(rx, &out);
  ck_assert_int_eq(out, 2);
  /* receiver_is_notified_when_last_sender_is_dropped */
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx), &c), AX_PENDING);
  ax_watch_sender_drop(tx1);
  ck_assert_int_eq(c.w.wakes, 1);
  ax_watch_sender_drop(tx2);
  ck_assert_int_eq(c.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_READY);
  ck_assert_int_eq(ch.result, AX_ECLOSED);
  ax_drop(&ch.base);
  ax_watch_receiver_drop(rx);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* ---- Cooperation: sync_watch.rs receiver_wait_for_is_cooperative,
 * sender_closed_is_cooperative; sync_broadcast.rs
 * receiver_recv_is_cooperative (and broadcast's Sender::closed, which
 * Tokio tests no further).  A loop over an operation that is always
 * ready races yield_now in a biased select: without the cooperative
 * budget the loop never gives the worker back and the select never
 * completes (the case's timeout fails it). */
enum { CO_WAIT_FOR, CO_WATCH_CLOSED, CO_BC_RECV, CO_BC_CLOSED };

static int never(const void *value, void *arg) {
  (void)arg;
  return *(const int *)value == 1;
}

static atomic_int co_errors;

typedef struct {
  ax_async_t co;
  int kind;
  ax_watch_tx_t *wtx;
  ax_watch_rx_t *wrx;
  ax_broadcast_tx_t *btx;
  ax_broadcast_rx_t *brx;
  ax_watch_wait_for_t wf;
  ax_watch_closed_t wcl;
  ax_broadcast_recv_t br;
  ax_broadcast_closed_t bcl;
  int out;
  long rounds;
} co_loop_t;

AX_ASYNC(co_loop, co_loop_t, s) {
  AX_BEGIN(s);
  for (;;) {
    s->rounds++;
    if (s->kind == CO_WAIT_FOR) {
      AX_AWAIT(ax_watch_wait_for(&s->wf, s->wrx, never, NULL, NULL));
      if (s->wf.result != AX_ECLOSED) atomic_fetch_add(&co_errors, 1);
      ax_drop(&s->wf.base);
    } else if (s->kind == CO_WATCH_CLOSED) {
      AX_AWAIT(ax_watch_closed(&s->wcl, s->wtx));
      ax_drop(&s->wcl.base);
    } else if (s->kind == CO_BC_RECV) {
      if (ax_broadcast_send(s->btx, &s->out) != 0)
        atomic_fetch_add(&co_errors, 1);
      AX_AWAIT(ax_broadcast_recv(&s->br, s->brx, &s->out));
      if (s->br.result != 0) atomic_fetch_add(&co_errors, 1);
      ax_drop(&s->br.base);
    } else {
      AX_AWAIT(ax_broadcast_closed(&s->bcl, s->btx));
      ax_drop(&s->bcl.base);
    }
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  co_loop_t loop;
  ax_yield_t y;
  ax_select_t race;
} co_main_t;

AX_ASYNC(co_main, co_main_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_select_biased(&s->race, AX_FUTURE(co_loop, &s->loop),
                            ax_yield_now(&s->y)));
  if (s->race.winner != 1 || s->loop.rounds < 2)
    atomic_fetch_add(&co_errors, 1);
  AX_END();
}

static void run_cooperative(int multi, int kind) {
  co_main_t m = {0};
  int v = 0;
  atomic_store(&co_errors, 0);
  m.loop.kind = kind;
  if (kind == CO_WAIT_FOR || kind == CO_WATCH_CLOSED) {
    ck_assert_int_eq(
        ax_watch_new(sizeof(int), &v, NULL, NULL, &m.loop.wtx, &m.loop.wrx),
        0);
    if (kind == CO_WAIT_FOR) {   /* closed, value never 1 */
      ax_watch_sender_drop(m.loop.wtx);
      m.loop.wtx = NULL;
    } else {                     /* no receiver left */
      ax_watch_receiver_drop(m.loop.wrx);
      m.loop.wrx = NULL;
    }
  } else {
    ck_assert_int_eq(ax_broadcast_new(sizeof(int), 8, NULL, NULL, &m.loop.btx,
                                      kind == CO_BC_RECV ? &m.loop.brx : NULL),
                     0);
  }
  RUN_TASK(multi, co_main, &m);
  ck_assert_int_eq(atomic_load(&co_errors), 0);
  ax_watch_sender_drop(m.loop.wtx);
  ax_watch_receiver_drop(m.loop.wrx);
  ax_broadcast_sender_drop(m.loop.btx);
  ax_broadcast_receiver_drop(m.loop.brx);
}

START_TEST(receiver_wait_for_is_cooperative) {
  run_cooperative(_i, CO_WAIT_FOR);
}
END_TEST

START_TEST(sender_closed_is_cooperative) {
  run_cooperative(_i, CO_WATCH_CLOSED);
  run_cooperative(_i, CO_BC_CLOSED);
}
END_TEST

START_TEST(receiver_recv_is_cooperative) {
  run_cooperative(_i, CO_BC_RECV);
}
END_TEST

/* ---- A panic inside a channel's callback (sync_watch.rs:
 * send_modify_panic; sync_broadcast.rs: panic_in_clone; and the same for
 * send_if_modified, wait_for's predicate and watch's clone, which Tokio
 * does not test).  The callback runs under the channel's lock; the panic
 * must not leave the lock held (every later call would block), and the
 * channel must be in a consistent state after it.  A task panics inside
 * the callback; then the test thread uses the channel. */
enum { PN_MODIFY, PN_IF_MODIFIED, PN_WAIT_FOR, PN_WATCH_CLONE, PN_BC_CLONE };
static atomic_int pn_result, pn_errors;

static void set_then_panic(void *value, void *arg) {
  *(int *)value = *(int *)arg;
  ax_panic("modify panicked");
}
static int set_then_panic_if(void *value, void *arg) {
  set_then_panic(value, arg);
  return 1;
}
static int pred_panics(const void *value, void *arg) {
  (void)value;
  (void)arg;
  ax_panic("predicate panicked");
}
static void clone_nonzero(void *dst, const void *src) {
  if (*(const int *)src == 0) ax_panic("clone of 0");
  *(int *)dst = *(const int *)src;
}
static void set_to(void *value, void *arg) { *(int *)value = *(int *)arg; }

typedef struct {
  ax_async_t co;
  int kind;
  ax_watch_tx_t *wtx;           /* borrowed */
  ax_watch_rx_t *wrx;           /* borrowed */
  ax_broadcast_rx_t *brx;       /* borrowed */
  ax_watch_wait_for_t wf;
  int v, out;
} pn_victim_t;

AX_ASYNC(pn_victim, pn_victim_t, s) {
  AX_BEGIN(s);
  s->v = 'P';
  if (s->kind == PN_MODIFY) {
    ax_watch_send_modify(s->wtx, set_then_panic, &s->v);
  } else if (s->kind == PN_IF_MODIFIED) {
    ax_watch_send_if_modified(s->wtx, set_then_panic_if, &s->v);
  } else if (s->kind == PN_WAIT_FOR) {
    AX_AWAIT(ax_watch_wait_for(&s->wf, s->wrx, pred_panics, NULL, NULL));
  } else if (s->kind == PN_WATCH_CLONE) {
    ax_watch_borrow(s->wrx, &s->out);
  } else {
    (void)ax_broadcast_try_recv(s->brx, &s->out, NULL);
  }
  atomic_fetch_add(&pn_errors, 1);  /* not reached: it panicked */
  AX_END();
}

typedef struct {
  ax_async_t co;
  pn_victim_t victim;
  ax_join_t h;
} pn_main_t;

AX_ASYNC(pn_main, pn_main_t, s) {
  AX_BEGIN(s);
  if (AX_SPAWN(pn_victim, &s->victim, &s->h) != 0)
    atomic_fetch_add(&pn_errors, 1);
  AX_AWAIT(ax_join_wait(&s->h));
  atomic_store(&pn_result, s->h.result);
  ax_join_drop(&s->h);
  AX_END();
}

static void run_panicking(int multi, pn_main_t *m) {
  atomic_store(&pn_result, 0);
  atomic_store(&pn_errors, 0);
  RUN_TASK(multi, pn_main, m);
  ck_assert_int_eq(atomic_load(&pn_result), AX_EPANIC);
  ck_assert_int_eq(atomic_load(&pn_errors), 0);
}

/* sync_watch.rs: send_modify_panic (and send_if_modified): the value
 * keeps what the modifier did before it panicked, nobody is told of a
 * change, and the next send_modify notifies as usual. */
static void modify_panic(int multi, int kind) {
  ax_watch_tx_t *tx;
  ax_watch_rx_t *rx, *rx2;
  ax_watch_changed_t ch;
  pn_main_t m;
  th_cx_t c;
  int v = 'o', out = 0;
  th_cx_init(&c);
  ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
  v = 't';
  ck_assert_int_eq(ax_watch_send_modify(tx, set_to, &v), 0);
  ax_watch_borrow_and_update(rx, &out);
  ck_assert_int_eq(out, 't');
  ck_assert_int_eq(ax_watch_receiver_clone(rx, &rx2), 0);
  ax_watch_borrow_and_update(rx2, &out);
  ck_assert_int_eq(out, 't');
  ck_assert_int_eq(TH_POLL(ax_watch_changed(&ch, rx2), &c), AX_PENDING);
  memset(&m, 0, sizeof m);
  m.victim.kind = kind;
  m.victim.wtx = tx;
  run_panicking(multi, &m);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_PENDING);
  ck_assert_int_eq(c.w.wakes, 0);
  ax_watch_borrow(rx, &out);  /* blocks for good if the lock was kept */
  ck_assert_int_eq(out, 'P');
  v = 'T';
  ck_assert_int_eq(ax_watch_send_modify(tx, set_to, &v), 0);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&ch.base, &c), AX_READY);
  ck_assert_int_eq(ch.result, 0);
  ax_drop(&ch.base);
  ax_watch_borrow_and_update(rx, &out);
  ck_assert_int_eq(out, 'T');
  ax_watch_receiver_drop(rx2);
  ax_watch_receiver_drop(rx);
  ax_watch_sender_drop(tx);
  ck_assert_int_eq(c.w.refs, 0);
}

START_TEST(send_modify_panic) {
  modify_panic(_i, PN_MODIFY);
  modify_panic(_i, PN_IF_MODIFIED);
}
END_TEST

/* axle: a wait_for predicate and a watch clone that panic leave the
 * read lock free: a send (which needs the write lock) goes through. */
START_TEST(watch_callback_panics) {
  int kind;
  for (kind = PN_WAIT_FOR; kind <= PN_WATCH_CLONE; kind++) {
    ax_watch_tx_t *tx;
    ax_watch_rx_t *rx;
    pn_main_t m;
    int v = 0, out = -1;
    ck_assert_int_eq(ax_watch_new(sizeof(int), &v,
                                  kind == PN_WATCH_CLONE ? clone_nonzero : NULL,
                                  NULL, &tx, &rx),
                     0);
    memset(&m, 0, sizeof m);
    m.victim.kind = kind;
    m.victim.wrx = rx;
    run_panicking(_i, &m);
    v = 5;
    ck_assert_int_eq(ax_watch_send(tx, &v), 0);
    ax_watch_borrow(rx, &out);
    ck_assert_int_eq(out, 5);
    ax_watch_receiver_drop(rx);
    ax_watch_sender_drop(tx);
  }
}
END_TEST

/* sync_broadcast.rs: panic_in_clone -- the receiver whose clone panicked
 * has moved past that value and receives the next one; the channel stays
 * usable.  (Two receivers: axle moves the value out for its last reader
 * instead of cloning it, so a single receiver never clones.) */
START_TEST(panic_in_clone) {
  ax_broadcast_tx_t *tx;
  ax_broadcast_rx_t *rx, *rx2;
  pn_main_t m;
  int v, out = -1;
  ck_assert_int_eq(
      ax_broadcast_new(sizeof(int), 16, clone_nonzero, NULL, &tx, &rx), 0);
  ck_assert_int_eq(ax_broadcast_subscribe(tx, &rx2), 0);
  v = 0;
  ck_assert_int_eq(ax_broadcast_send(tx, &v), 0);
  v = 1;
  ck_assert_int_eq(ax_broadcast_send(tx, &v), 0);
  memset(&m, 0, sizeof m);
  m.victim.kind = PN_BC_CLONE;
  m.victim.brx = rx;
  run_panicking(_i, &m);
  ck_assert_int_eq(ax_broadcast_try_recv(rx, &out, NULL), 0);
  ck_assert_int_eq(out, 1);
  ck_assert_int_eq(ax_broadcast_try_recv(rx2, &out, NULL), 0);
  ck_assert_int_eq(out, 0);  /* the last reader's: moved, not cloned */
  ck_assert_int_eq(ax_broadcast_try_recv(rx2, &out, NULL), 0);
  ck_assert_int_eq(out, 1);
  ck_assert_uint_eq(ax_broadcast_len(tx), 0);  /* every share accounted */
  ax_broadcast_receiver_drop(rx);
  ax_broadcast_receiver_drop(rx2);
  ax_broadcast_sender_drop(tx);
}
END_TEST

/* ======================================================================
 * Notify (tokio/tests/sync_notify.rs)
 * ====================================================================== */

/* sync_notify.rs: notify_multi_notified_last (and axle's own checks: a
 * woken waiter dropped unseen, and notify_last storing the permit). */
START_TEST(notify_multi_notified_last) {
  ax_notify_t n;
  ax_notify_wait_t f1, f2, f3;
  th_cx_t c1, c2, c3;
  TH_CX_INIT(&c1, &c2, &c3);
  ax_notify_init(&n);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_PENDING);
  ax_notify_last(&n);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(c1.w.wakes, 0);
  ck_assert_int_eq(TH_POLL(&f2.base, &c2), AX_READY);
  ck_assert_int_eq(TH_POLL(&f1.base, &c1), AX_PENDING);
  ax_drop(&f2.base);
  /* A woken waiter dropped unseen passes it to the newest again. */
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f3, &n), &c3), AX_PENDING);
  ax_notify_last(&n);
  ck_assert_int_eq(c3.w.wakes, 1);
  ax_drop(&f3.base);
  ck_assert_int_eq(c2.w.wakes, 2);
  ck_assert_int_eq(c1.w.wakes, 0);
  ck_assert_int_eq(TH_POLL(&f2.base, &c2), AX_READY);
  ax_drop(&f2.base);
  ax_drop(&f1.base);
  /* Nobody waits: notify_last stores the permit, like notify_one. */
  ax_notify_last(&n);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c1), AX_READY);
  ax_drop(&f1.base);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + c3.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* sync_notify.rs: test_enable_after_poll. */
START_TEST(test_enable_after_poll) {
  ax_notify_t n;
  ax_notify_wait_t f;
  th_cx_t c;
  th_cx_init(&c);
  ax_notify_init(&n);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f, &n), &c), AX_PENDING);
  ck_assert_int_eq(ax_notify_wait_enable(&f), 0);
  ax_drop(&f.base);
  ck_assert_int_eq(ax_notify_wait_enable(NULL), AX_EINVAL);
  ck_assert_int_eq(c.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* sync_notify.rs: test_poll_after_enable. */
START_TEST(test_poll_after_enable) {
  ax_notify_t n;
  ax_notify_wait_t f;
  th_cx_t c;
  th_cx_init(&c);
  ax_notify_init(&n);
  ax_notify_wait(&f, &n);
  ck_assert_int_eq(ax_notify_wait_enable(&f), 0);
  ck_assert_int_eq(TH_POLL(&f.base, &c), AX_PENDING);
  ck_assert_int_eq(c.w.refs, 1);
  ax_notify_one(&n);
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&f.base, &c), AX_READY);
  ax_drop(&f.base);
  ck_assert_int_eq(c.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* sync_notify.rs: test_enable_consumes_permit. */
START_TEST(test_enable_consumes_permit) {
  ax_notify_t n;
  ax_notify_wait_t f1, f2;
  th_cx_t c;
  th_cx_init(&c);
  ax_notify_init(&n);
  ax_notify_one(&n);
  ax_notify_wait(&f1, &n);
  ck_assert_int_eq(ax_notify_wait_enable(&f1), 1);
  ax_notify_wait(&f2, &n);
  ck_assert_int_eq(ax_notify_wait_enable(&f2), 0);
  ck_assert_int_eq(TH_POLL(&f1.base, &c), AX_READY);
  ax_drop(&f1.base);
  ax_drop(&f2.base);
  ck_assert_int_eq(c.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* axle: what enable() promises in axle beyond Tokio's tests -- an enabled
 * future keeps its FIFO place, a notify_waiters since creation counts, and
 * a permit or wake-up it took but never saw passes on when it is dropped
 * (cancel safety). */
START_TEST(notified_enable_fifo_and_cancel) {
  ax_notify_t n;
  ax_notify_wait_t f1, f2;
  th_cx_t c1, c2;
  TH_CX_INIT(&c1, &c2);
  ax_notify_init(&n);
  /* f1 enabled before f2 polls: notify_one picks f1. */
  ax_notify_wait(&f1, &n);
  ck_assert_int_eq(ax_notify_wait_enable(&f1), 0);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_PENDING);
  ax_notify_one(&n);
  ck_assert_int_eq(c2.w.wakes, 0);
  ck_assert_int_eq(ax_notify_wait_enable(&f1), 1);  /* notified now */
  /* f1 goes without looking: the wake-up moves on to f2. */
  ax_drop(&f1.base);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&f2.base, &c2), AX_READY);
  ax_drop(&f2.base);
  /* A permit taken by enable() and never seen is stored again. */
  ax_notify_one(&n);
  ax_notify_wait(&f1, &n);
  ck_assert_int_eq(ax_notify_wait_enable(&f1), 1);
  ax_drop(&f1.base);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_READY);
  ax_drop(&f2.base);
  /* notify_waiters after creation: enable says ready, no permit used. */
  ax_notify_wait(&f1, &n);
  ax_notify_waiters(&n);
  ck_assert_int_eq(ax_notify_wait_enable(&f1), 1);
  ck_assert_int_eq(TH_POLL(&f1.base, &c1), AX_READY);
  ax_drop(&f1.base);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_PENDING);
  ax_drop(&f2.base);
  /* Enabled, then woken by notify_waiters while never polled. */
  ax_notify_wait(&f1, &n);
  ck_assert_int_eq(ax_notify_wait_enable(&f1), 0);
  ax_notify_waiters(&n);
  ck_assert_int_eq(ax_notify_wait_enable(&f1), 1);
  ck_assert_int_eq(TH_POLL(&f1.base, &c1), AX_READY);
  ax_drop(&f1.base);
  ck_assert_int_eq(c1.w.refs + c2.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* ---- enable on a runtime: the "enable, then check the condition, then
 * await" pattern (Tokio's Notified::enable example) loses no notify_one
 * sent by another task between the check and the await. */
#define EN_ROUNDS 300
static atomic_int en_flag, en_rounds_done, en_errors;
static ax_notify_t en_notify;

typedef struct {
  ax_async_t co;
  ax_yield_t y;
  int i;
} en_setter_t;

AX_ASYNC(en_setter, en_setter_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < EN_ROUNDS; s->i++) {
    while (atomic_load(&en_flag) != 0)
      AX_AWAIT(ax_yield_now(&s->y));
    atomic_store(&en_flag, 1);
    ax_notify_one(&en_notify);
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_notify_wait_t f;
  ax_join_t h;
  en_setter_t setter;
  int i;
} en_main_t;

AX_ASYNC(en_main, en_main_t, s) {
  AX_BEGIN(s);
  if (AX_SPAWN(en_setter, &s->setter, &s->h) != 0)
    atomic_fetch_add(&en_errors, 1);
  for (s->i = 0; s->i < EN_ROUNDS; s->i++) {
    for (;;) {
      ax_notify_wait(&s->f, &en_notify);
      ax_notify_wait_enable(&s->f);
      if (atomic_load(&en_flag) == 1) {
        ax_drop(&s->f.base);  /* a taken permit goes back: harmless */
        break;
      }
      AX_AWAIT(&s->f.base);
      ax_drop(&s->f.base);
    }
    atomic_store(&en_flag, 0);
    atomic_fetch_add(&en_rounds_done, 1);
  }
  AX_AWAIT(ax_join_wait(&s->h));
  ax_join_drop(&s->h);
  AX_END();
}

START_TEST(notified_enable_rt) {
  en_main_t m = {0};
  atomic_store(&en_flag, 0);
  atomic_store(&en_rounds_done, 0);
  atomic_store(&en_errors, 0);
  ax_notify_init(&en_notify);
  RUN_TASK(_i, en_main, &m);
  ck_assert_int_eq(atomic_load(&en_rounds_done), EN_ROUNDS);
  ck_assert_int_eq(atomic_load(&en_errors), 0);
  ax_notify_destroy(&en_notify);
}
END_TEST

/* sync_notify.rs: notified_multi_notify_last_drop -- the newest waiter,
 * dropped after notify_last picked it, hands the wake-up to the newest
 * one left. */
START_TEST(notified_multi_notify_last_drop) {
  ax_notify_t n;
  ax_notify_wait_t f1, f2, f3;
  th_cx_t c1, c2, c3;
  TH_CX_INIT(&c1, &c2, &c3);
  ax_notify_init(&n);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f3, &n), &c3), AX_PENDING);
  ax_notify_last(&n);
  ax_drop(&f3.base);
  ck_assert_int_eq(TH_POLL(&f2.base, &c2), AX_READY);
  ck_assert_int_eq(TH_POLL(&f1.base, &c1), AX_PENDING);
  ax_drop(&f2.base);
  ax_drop(&f1.base);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + c3.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* sync_notify.rs: test_notify_one_not_enabled and
 * test_notify_one_after_enable. */
START_TEST(test_notify_one_not_enabled_and_after_enable) {
  ax_notify_t n;
  ax_notify_wait_t f;
  th_cx_t c;
  th_cx_init(&c);
  ax_notify_init(&n);
  ax_notify_wait(&f, &n);
  ax_notify_one(&n);  /* f not enabled: the permit is stored */
  ck_assert_int_eq(TH_POLL(&f.base, &c), AX_READY);
  ax_drop(&f.base);

  ax_notify_wait(&f, &n);
  ck_assert_int_eq(ax_notify_wait_enable(&f), 0);
  ax_notify_one(&n);
  ck_assert_int_eq(TH_POLL(&f.base, &c), AX_READY);
  ck_assert_int_eq(ax_notify_wait_enable(&f), 1);
  ax_drop(&f.base);
  ck_assert_int_eq(c.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* sync_notify.rs: test_waker_update -- polled again with another waker,
 * the future is woken through the new one. */
START_TEST(test_waker_update) {
  ax_notify_t n;
  ax_notify_wait_t f;
  th_cx_t c1, c2;
  TH_CX_INIT(&c1, &c2);
  ax_notify_init(&n);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f, &n), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(&f.base, &c2), AX_PENDING);
  ax_notify_one(&n);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(c1.w.wakes, 0);
  ck_assert_int_eq(c1.w.refs, 0);  /* the old waker was released */
  ck_assert_int_eq(TH_POLL(&f.base, &c2), AX_READY);
  ax_drop(&f.base);
  ck_assert_int_eq(c2.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* sync_notify.rs:
 * unpolled_future_completed_by_notify_waiters_preserves_notify_one_permit
 * -- a future completed by notify_waiters does not also eat the permit a
 * later notify_one stored. */
START_TEST(unpolled_future_completed_by_notify_waiters_preserves_permit) {
  ax_notify_t n;
  ax_notify_wait_t f1, f2;
  th_cx_t c;
  th_cx_init(&c);
  ax_notify_init(&n);
  ax_notify_wait(&f1, &n);
  ax_notify_waiters(&n);
  ax_notify_one(&n);
  ck_assert_int_eq(TH_POLL(&f1.base, &c), AX_READY);
  ax_drop(&f1.base);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c), AX_READY);
  ax_drop(&f2.base);
  ck_assert_int_eq(c.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* sync_notify.rs: notify_in_drop_after_wake -- a waker whose last drop
 * calls notify_waiters; notify_waiters waking it must not deadlock. */
typedef struct {
  ax_waker_t base;
  atomic_int refs;            /* the owner's reference included */
  ax_notify_t *notify;        /* borrowed */
  atomic_int fired;
} notify_on_drop_t;

static ax_waker_t *nod_clone(ax_waker_t *w) {
  atomic_fetch_add(&((notify_on_drop_t *)w)->refs, 1);
  return w;
}
static void nod_drop(ax_waker_t *w) {
  notify_on_drop_t *n = (notify_on_drop_t *)w;
  if (atomic_fetch_sub(&n->refs, 1) == 1) {
    ax_notify_waiters(n->notify);
    atomic_fetch_add(&n->fired, 1);
  }
}
static void nod_wake_by_ref(ax_waker_t *w) { (void)w; }
static void nod_wake(ax_waker_t *w) { nod_drop(w); }
static const ax_waker_vtable_t nod_vtable = {nod_clone, nod_wake,
                                             nod_wake_by_ref, nod_drop};

START_TEST(notify_in_drop_after_wake) {
  ax_notify_t n;
  ax_notify_wait_t f;
  notify_on_drop_t w;
  ax_cx_t cx;
  ax_notify_init(&n);
  w.base.vtable = &nod_vtable;
  atomic_init(&w.refs, 1);
  atomic_init(&w.fired, 0);
  w.notify = &n;
  ax_cx_init(&cx, &w.base);
  ck_assert_int_eq(ax_poll(ax_notify_wait(&f, &n), &cx), AX_PENDING);
  nod_drop(&w.base);  /* the waker goes out of scope: the queue's is left */
  ck_assert_int_eq(atomic_load(&w.fired), 0);
  ax_notify_waiters(&n);  /* wakes it; its drop notifies again */
  ck_assert_int_eq(atomic_load(&w.fired), 1);
  ax_drop(&f.base);
  ax_notify_destroy(&n);
}
END_TEST

/* sync_notify.rs: notify_one_after_dropped_all -- a future completed by
 * notify_waiters and dropped unseen does not take the permit a later
 * notify_one stored. */
START_TEST(notify_one_after_dropped_all) {
  ax_notify_t n;
  ax_notify_wait_t f1, f2;
  th_cx_t c;
  th_cx_init(&c);
  ax_notify_init(&n);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c), AX_PENDING);
  ax_notify_waiters(&n);
  ax_notify_one(&n);
  ax_drop(&f1.base);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c), AX_READY);
  ax_drop(&f2.base);
  ck_assert_int_eq(c.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* ======================================================================
 * RwLock (tokio/tests/sync_rwlock.rs)
 * ====================================================================== */

/* axle (the fairness Tokio's RwLockWriteGuard::downgrade documents; its
 * test, downgrade_map, is ported as downgrade_then_map below): a write
 * guard downgraded lets the waiting readers in, keeps a waiting writer
 * out until it is released; readers that arrive after that writer still
 * queue behind it. */
START_TEST(downgrade_map) {
  ax_rwlock_t rw;
  ax_rwlock_guard_t w, r1, r2, w2, r3;
  th_cx_t c1, c2, cw, c3;
  TH_CX_INIT(&c1, &c2, &cw, &c3);
  ck_assert_int_eq(ax_rwlock_init(&rw, 0), 0);
  ck_assert_int_eq(ax_rwlock_try_write(&w, &rw), 0);
  ck_assert_int_eq(TH_POLL(ax_rwlock_read(&r1, &rw), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_rwlock_read(&r2, &rw), &c2), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_rwlock_write(&w2, &rw), &cw), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_rwlock_read(&r3, &rw), &c3), AX_PENDING);
  ck_assert_int_eq(ax_rwlock_downgrade(&w), 0);
  ck_assert_uint_eq(w.held, 1);
  ck_assert_int_eq(c1.w.wakes + c2.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&r1.base, &c1), AX_READY);
  ck_assert_int_eq(TH_POLL(&r2.base, &c2), AX_READY);
  ck_assert_int_eq(cw.w.wakes + c3.w.wakes, 0);
  ck_assert_int_eq(ax_rwlock_downgrade(&w), AX_EINVAL);  /* a read lock */
  ck_assert_int_eq(ax_rwlock_downgrade(&r1), AX_EINVAL);
  ax_rwlock_unlock(&r1);
  ax_rwlock_unlock(&r2);
  ck_assert_int_eq(cw.w.wakes, 0);
  ax_rwlock_unlock(&w);  /* the downgraded guard: now the writer */
  ck_assert_int_eq(cw.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&w2.base, &cw), AX_READY);
  ck_assert_int_eq(c3.w.wakes, 0);
  ax_drop(&w2.base);
  ck_assert_int_eq(c3.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r3.base, &c3), AX_READY);
  ax_drop(&r3.base);
  ax_drop(&r1.base);
  ax_drop(&r2.base);
  ax_drop(&w.base);
  ck_assert_int_eq(ax_rwlock_try_write(&w, &rw), 0);  /* all free again */
  ax_rwlock_unlock(&w);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + cw.w.refs + c3.w.refs, 0);
  ax_rwlock_destroy(&rw);
}
END_TEST

/* axle (Tokio's RwLockReadGuard::map / RwLockWriteGuard::map, which
 * Tokio tests only in doc examples) -- axle's mapped guards: the lock moves into the mapped guard with a pointer to a part
 * of the data; re-mapping narrows it; unlocking the mapped guard is what
 * releases the lock. */
START_TEST(mapped_guards) {
  struct {
    int a;
    int b[2];
  } data = {1, {2, 3}};
  ax_rwlock_t rw;
  ax_rwlock_guard_t g, g2;
  ax_rwlock_mapped_t m, m2;
  ck_assert_int_eq(ax_rwlock_init(&rw, 0), 0);
  ck_assert_int_eq(ax_rwlock_try_write(&g, &rw), 0);
  ck_assert_int_eq(ax_rwlock_map(&m, &g, &data.b), 0);
  ck_assert_int_eq(m.write, 1);
  ck_assert_uint_eq(g.held, 0);  /* moved out */
  ax_rwlock_unlock(&g);          /* holds nothing: no-op */
  ck_assert_int_eq(ax_rwlock_try_read(&g2, &rw), AX_EBUSY);
  ((int *)m.data)[1] = 30;
  ck_assert_int_eq(ax_rwlock_map(&m2, &m.guard, &((int *)m.data)[1]), 0);
  ck_assert_int_eq(*(int *)m2.data, 30);
  ax_rwlock_mapped_unlock(&m);   /* moved on: no-op */
  ck_assert_int_eq(ax_rwlock_try_read(&g2, &rw), AX_EBUSY);
  ax_rwlock_mapped_unlock(&m2);
  ax_rwlock_mapped_unlock(&m2);  /* twice */
  ck_assert_ptr_null(m2.data);
  ck_assert_int_eq(ax_rwlock_try_write(&g, &rw), 0);
  ax_rwlock_unlock(&g);
  /* Read guards map to read-only mapped guards; several at once. */
  ck_assert_int_eq(ax_rwlock_try_read(&g, &rw), 0);
  ck_assert_int_eq(ax_rwlock_try_read(&g2, &rw), 0);
  ck_assert_int_eq(ax_rwlock_map(&m, &g, &data.a), 0);
  ck_assert_int_eq(ax_rwlock_map(&m2, &g2, &data.b[0]), 0);
  ck_assert_int_eq(m.write, 0);
  ck_assert_int_eq(*(int *)m.data + *(int *)m2.data, 3);
  ck_assert_int_eq(ax_rwlock_map(&m, &g, &data.a), AX_EINVAL);  /* empty */
  ax_rwlock_mapped_unlock(&m);
  ax_rwlock_mapped_unlock(&m2);
  ax_rwlock_mapped_unlock(NULL);
  ck_assert_int_eq(ax_rwlock_try_write(&g, &rw), 0);
  ax_rwlock_unlock(&g);
  ax_rwlock_destroy(&rw);
}
END_TEST

/* sync_rwlock.rs: downgrade_map and try_downgrade_map.  Tokio's
 * downgrade_map is a downgrade and a map in one step; in axle the two are
 * ax_rwlock_downgrade then ax_rwlock_map (a failed try_downgrade_map is
 * simply not downgrading).  A reader waiting on the write lock stays out
 * until the downgrade, gets in right after it, and the mapped read guard
 * and the reader's guard give access to the same data. */
START_TEST(downgrade_then_map) {
  int value = 0;
  ax_rwlock_t rw;
  ax_rwlock_guard_t w, r;
  ax_rwlock_mapped_t m;
  th_cx_t c;
  th_cx_init(&c);
  ck_assert_int_eq(ax_rwlock_init(&rw, 0), 0);
  ck_assert_int_eq(ax_rwlock_try_write(&w, &rw), 0);
  ck_assert_int_eq(TH_POLL(ax_rwlock_read(&r, &rw), &c), AX_PENDING);
  /* try_downgrade_map's None: no downgrade, the reader still waits. */
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_PENDING);
  ck_assert_int_eq(ax_rwlock_downgrade(&w), 0);
  ck_assert_int_eq(ax_rwlock_map(&m, &w, &value), 0);
  ck_assert_int_eq(m.write, 0);  /* a downgraded guard maps to read access */
  ck_assert_int_eq(c.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r.base, &c), AX_READY);
  ck_assert_ptr_eq(m.data, &value);
  ck_assert_int_eq(ax_rwlock_try_write(&w, &rw), AX_EBUSY);
  ax_rwlock_mapped_unlock(&m);
  ax_drop(&r.base);
  ck_assert_int_eq(ax_rwlock_try_write(&w, &rw), 0);
  ax_rwlock_unlock(&w);
  ck_assert_int_eq(c.w.refs, 0);
  ax_rwlock_destroy(&rw);
}
END_TEST

/* axle: with max_readers 1 a downgraded guard still excludes everyone
 * (sync.h's note on ax_rwlock_downgrade). */
START_TEST(downgrade_max_readers_one) {
  ax_rwlock_t rw;
  ax_rwlock_guard_t w, r;
  ck_assert_int_eq(ax_rwlock_init(&rw, 1), 0);
  ck_assert_int_eq(ax_rwlock_try_write(&w, &rw), 0);
  ck_assert_int_eq(ax_rwlock_downgrade(&w), 0);
  ck_assert_int_eq(ax_rwlock_try_read(&r, &rw), AX_EBUSY);
  ax_rwlock_unlock(&w);
  ck_assert_int_eq(ax_rwlock_try_read(&r, &rw), 0);
  ax_rwlock_unlock(&r);
  ax_rwlock_destroy(&rw);
}
END_TEST

/* ---- downgrade on a runtime: a writer downgrades while readers and a
 * second writer wait; every reader that ran while the downgraded guard
 * was held saw the first writer's value, and nothing ran in between. */
#define DG_READERS 6
static struct {
  ax_rwlock_t rw;
  int value;                  /* protected by rw */
  atomic_int queued, errors, reads;
} DG;

typedef struct {
  ax_async_t co;
  ax_rwlock_guard_t g;
  int expect;
} dg_reader_t;

AX_ASYNC(dg_reader, dg_reader_t, s) {
  AX_BEGIN(s);
  atomic_fetch_add(&DG.queued, 1);
  AX_AWAIT(ax_rwlock_read(&s->g, &DG.rw));
  if (DG.value != 1) atomic_fetch_add(&DG.errors, 1);
  atomic_fetch_add(&DG.reads, 1);
  ax_rwlock_unlock(&s->g);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_rwlock_guard_t g;
  ax_yield_t y;
  ax_join_t h[DG_READERS];
  dg_reader_t r;
  int i;
} dg_main_t;

AX_ASYNC(dg_main, dg_main_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_rwlock_write(&s->g, &DG.rw));
  for (s->i = 0; s->i < DG_READERS; s->i++)
    if (AX_SPAWN(dg_reader, &s->r, &s->h[s->i]) != 0)
      atomic_fetch_add(&DG.errors, 1);
  while (atomic_load(&DG.queued) < DG_READERS)
    AX_AWAIT(ax_yield_now(&s->y));
  DG.value = 1;
  if (ax_rwlock_downgrade(&s->g) != 0) atomic_fetch_add(&DG.errors, 1);
  /* Holding the read lock: the readers all get in beside us. */
  while (atomic_load(&DG.reads) < DG_READERS)
    AX_AWAIT(ax_yield_now(&s->y));
  if (DG.value != 1) atomic_fetch_add(&DG.errors, 1);
  ax_rwlock_unlock(&s->g);
  for (s->i = 0; s->i < DG_READERS; s->i++) {
    AX_AWAIT(ax_join_wait(&s->h[s->i]));
    ax_join_drop(&s->h[s->i]);
  }
  AX_END();
}

START_TEST(downgrade_rt) {
  dg_main_t m = {0};
  DG.value = 0;
  atomic_store(&DG.queued, 0);
  atomic_store(&DG.errors, 0);
  atomic_store(&DG.reads, 0);
  ck_assert_int_eq(ax_rwlock_init(&DG.rw, 0), 0);
  RUN_TASK(_i, dg_main, &m);
  ck_assert_int_eq(atomic_load(&DG.errors), 0);
  ck_assert_int_eq(atomic_load(&DG.reads), DG_READERS);
  ax_rwlock_destroy(&DG.rw);
}
END_TEST

/* ======================================================================
 * Semaphore (tokio/tests/sync_semaphore.rs, sync_semaphore_owned.rs)
 * ====================================================================== */

/* tokio/src/sync/tests/semaphore_batch.rs: forget_permits_basic (and:
 * waiters keep what they were promised). */
START_TEST(forget_permits_basic) {
  ax_semaphore_t s;
  ax_permit_t p, q;
  th_cx_t c;
  th_cx_init(&c);
  ax_semaphore_init(&s, 10);
  ck_assert_uint_eq(ax_semaphore_forget_permits(&s, 4), 4);
  ck_assert_uint_eq(ax_semaphore_available(&s), 6);
  ck_assert_uint_eq(ax_semaphore_forget_permits(&s, 10), 6);
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  ck_assert_uint_eq(ax_semaphore_forget_permits(&s, 1), 0);
  ck_assert_uint_eq(ax_semaphore_forget_permits(NULL, 1), 0);
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p, &s, 2), &c), AX_PENDING);
  ax_semaphore_add_permits(&s, 1);  /* promised to p */
  ck_assert_uint_eq(ax_semaphore_forget_permits(&s, 1), 0);
  ax_semaphore_add_permits(&s, 2);
  ck_assert_int_eq(TH_POLL(&p.base, &c), AX_READY);
  ck_assert_uint_eq(ax_semaphore_available(&s), 1);
  ck_assert_int_eq(ax_semaphore_try_acquire(&q, &s, 1), 0);
  ax_semaphore_release(&q);
  ax_semaphore_release(&p);
  ck_assert_uint_eq(ax_semaphore_available(&s), 3);
  ax_semaphore_destroy(&s);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_semaphore.rs: forget_open and forget_closed (forget_permits
 * works the same on a closed semaphore), and semaphore_batch.rs:
 * update_permits_many_times (a waiter for more than the semaphore holds
 * is served by added permits; the rest can be forgotten). */
START_TEST(forget_open_closed_and_update_permits_many_times) {
  ax_semaphore_t s;
  ax_permit_t p;
  th_cx_t c;
  size_t size, sub, expected;
  int closed;
  th_cx_init(&c);
  for (closed = 0; closed < 2; closed++) {
    for (size = 0; size < 4; size++) {
      for (sub = 0; sub < 4; sub++) {
        ck_assert_int_eq(ax_semaphore_init(&s, size), 0);
        if (closed) ax_semaphore_close(&s);
        expected = size > sub ? size - sub : 0;
        ck_assert_uint_eq(ax_semaphore_forget_permits(&s, sub),
                          size - expected);
        ck_assert_uint_eq(ax_semaphore_available(&s), expected);
        ck_assert_int_eq(ax_semaphore_is_closed(&s), closed);
        ax_semaphore_destroy(&s);
      }
    }
  }
  ax_semaphore_init(&s, 5);
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p, &s, 7), &c), AX_PENDING);
  ck_assert_int_eq(ax_semaphore_add_permits(&s, 5), 0);
  ck_assert_int_eq(TH_POLL(&p.base, &c), AX_READY);
  ck_assert_int_eq(p.result, 0);
  ck_assert_uint_eq(ax_semaphore_available(&s), 3);
  ck_assert_uint_eq(ax_semaphore_forget_permits(&s, 3), 3);
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  ax_semaphore_forget(&p);
  ax_drop(&p.base);
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  ax_semaphore_destroy(&s);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* sync_semaphore.rs: merge (and merge_unrelated_permits, which panics in
 * Tokio and is AX_EINVAL here). */
START_TEST(merge) {
  ax_semaphore_t s, other;
  ax_permit_t p1, p2, po;
  ax_semaphore_init(&s, 3);
  ax_semaphore_init(&other, 3);
  ck_assert_int_eq(ax_semaphore_try_acquire(&p1, &s, 1), 0);
  ck_assert_uint_eq(ax_semaphore_available(&s), 2);
  ck_assert_int_eq(ax_semaphore_try_acquire(&p2, &s, 2), 0);
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  ck_assert_int_eq(ax_semaphore_try_acquire(&po, &other, 1), 0);
  ck_assert_int_eq(ax_semaphore_merge(&p1, &po), AX_EINVAL);
  ck_assert_int_eq(ax_semaphore_merge(&p1, &p1), AX_EINVAL);
  ck_assert_int_eq(ax_semaphore_merge(&p1, &p2), 0);
  ck_assert_uint_eq(p1.held, 3);
  ck_assert_uint_eq(p2.held, 0);
  ck_assert_int_eq(ax_semaphore_merge(&p1, &p2), AX_EINVAL);  /* empty */
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  ax_drop(&p2.base);
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  ax_drop(&p1.base);
  ck_assert_uint_eq(ax_semaphore_available(&s), 3);
  ax_semaphore_release(&po);
  ax_semaphore_destroy(&s);
  ax_semaphore_destroy(&other);
}
END_TEST

/* sync_semaphore.rs: split. */
START_TEST(split) {
  ax_semaphore_t s;
  ax_permit_t p1, p2, p3, p4, px;
  ax_semaphore_init(&s, 5);
  ck_assert_int_eq(ax_semaphore_try_acquire(&p1, &s, 3), 0);
  ck_assert_uint_eq(ax_semaphore_available(&s), 2);
  ck_assert_uint_eq(p1.held, 3);
  ck_assert_int_eq(ax_semaphore_split(&p2, &p1, 1), 0);
  ck_assert_uint_eq(ax_semaphore_available(&s), 2);
  ck_assert_uint_eq(p1.held, 2);
  ck_assert_uint_eq(p2.held, 1);
  ck_assert_int_eq(ax_semaphore_split(&p3, &p1, 0), 0);
  ck_assert_uint_eq(p3.held, 0);
  ax_drop(&p1.base);
  ck_assert_uint_eq(ax_semaphore_available(&s), 4);
  ck_assert_int_eq(ax_semaphore_split(&p4, &p2, 1), 0);
  ck_assert_uint_eq(p2.held, 0);
  ck_assert_uint_eq(p4.held, 1);
  ck_assert_int_eq(ax_semaphore_split(&px, &p2, 1), AX_EINVAL);
  ax_drop(&p2.base);
  ck_assert_uint_eq(ax_semaphore_available(&s), 4);
  ax_drop(&p3.base);
  ck_assert_uint_eq(ax_semaphore_available(&s), 4);
  ax_semaphore_release(&p4);
  ck_assert_uint_eq(ax_semaphore_available(&s), 5);
  ck_assert_int_eq(ax_semaphore_split(&px, &p4, 1), AX_EINVAL);  /* empty */
  ax_semaphore_destroy(&s);
}
END_TEST

/* ======================================================================
 * OnceCell (tokio/tests/sync_once_cell.rs)
 * ====================================================================== */

/* sync_once_cell.rs: set_twice. */
START_TEST(set_twice) {
  ax_oncecell_t cell;
  int a = 5, b = 6;
  ax_oncecell_init(&cell, NULL);
  ck_assert(!ax_oncecell_initialized(&cell));
  ck_assert_int_eq(ax_oncecell_set(&cell, &a), 0);
  ck_assert(ax_oncecell_initialized(&cell));
  ck_assert_int_eq(ax_oncecell_set(&cell, &b), AX_EALREADY);
  ck_assert_ptr_eq(ax_oncecell_get(&cell), &a);
  ck_assert_int_eq(ax_oncecell_set(NULL, &b), AX_EINVAL);
  ax_oncecell_destroy(&cell);
}
END_TEST

/* An init future for get_or_init that completes when `go` is set. */
typedef struct {
  ax_future_t base;
  int go;          /* set by the test */
  void *value;     /* what it produces */
  void *out;       /* where get_or_init reads it */
} gated_init_t;

static ax_poll_t gated_poll(ax_future_t *f, ax_cx_t *cx) {
  gated_init_t *g = (gated_init_t *)f;
  (void)cx;
  if (!g->go) return AX_PENDING;
  g->out = g->value;
  return AX_READY;
}
static const ax_future_vtable_t gated_vtable = {gated_poll, NULL, "gated"};

/* sync_once_cell.rs: set_while_initializing (by hand instead of with
 * paused time): set during a running initialiser is Tokio's
 * InitializingError, AX_EBUSY; after it, AlreadyInitializedError. */
START_TEST(set_while_initializing) {
  ax_oncecell_t cell;
  ax_oncecell_get_t g;
  gated_init_t init = {0};
  th_cx_t c;
  int five = 5, ten = 10;
  th_cx_init(&c);
  ax_oncecell_init(&cell, NULL);
  init.base.vtable = &gated_vtable;
  init.value = &five;
  ck_assert_int_eq(
      TH_POLL(ax_oncecell_get_or_init(&g, &cell, &init.base, &init.out), &c),
      AX_PENDING);
  ck_assert_int_eq(ax_oncecell_set(&cell, &ten), AX_EBUSY);
  init.go = 1;
  ck_assert_int_eq(TH_POLL(&g.base, &c), AX_READY);
  ck_assert_int_eq(g.result, 0);
  ck_assert_ptr_eq(g.value, &five);
  ax_drop(&g.base);
  ck_assert_int_eq(ax_oncecell_set(&cell, &ten), AX_EALREADY);
  ax_oncecell_destroy(&cell);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* ======================================================================
 * Threads racing (Tokio's loom models, tokio/src/sync/tests/loom_*.rs):
 * loom explores every interleaving of a tiny model; here each model runs
 * many times on real threads, and the TSan build checks the accesses.
 * ====================================================================== */

/* Polls f on this thread until it is ready (the waker is a counter: the
 * loop does not sleep, it polls again). */
static void spin_until_ready(ax_future_t *f, th_cx_t *c) {
  while (TH_POLL(f, c) == AX_PENDING)
    uv_sleep(0);
}

/* loom_semaphore_batch.rs: concurrent_permit_updates -- add_permits(3),
 * try_acquire(1) and forget_permits(2) at once: 5 - 1 + 3 - 2 whatever
 * the order (at least 4 permits are free when forget runs). */
static ax_semaphore_t lm_sem;
static atomic_int lm_errors;

static void lm_add(void *arg) {
  (void)arg;
  if (ax_semaphore_add_permits(&lm_sem, 3) != 0) atomic_fetch_add(&lm_errors, 1);
}
static void lm_take(void *arg) {
  ax_permit_t *p = (ax_permit_t *)arg;
  if (ax_semaphore_try_acquire(p, &lm_sem, 1) != 0)
    atomic_fetch_add(&lm_errors, 1);
  ax_semaphore_forget(p);  /* Tokio's batch try_acquire keeps no guard */
}
static void lm_forget(void *arg) {
  (void)arg;
  if (ax_semaphore_forget_permits(&lm_sem, 2) != 2)
    atomic_fetch_add(&lm_errors, 1);
}

START_TEST(concurrent_permit_updates) {
  unsigned long i, n = ax_test_iters(300);
  atomic_store(&lm_errors, 0);
  for (i = 0; i < n; i++) {
    uv_thread_t t1, t2, t3;
    ax_permit_t p;
    ck_assert_int_eq(ax_semaphore_init(&lm_sem, 5), 0);
    ck_assert_int_eq(uv_thread_create(&t1, lm_add, NULL), 0);
    ck_assert_int_eq(uv_thread_create(&t2, lm_take, &p), 0);
    ck_assert_int_eq(uv_thread_create(&t3, lm_forget, NULL), 0);
    uv_thread_join(&t1);
    uv_thread_join(&t2);
    uv_thread_join(&t3);
    ck_assert_uint_eq(ax_semaphore_available(&lm_sem), 5);
    ax_drop(&p.base);
    ax_semaphore_destroy(&lm_sem);
  }
  ck_assert_int_eq(atomic_load(&lm_errors), 0);
}
END_TEST

/* loom_watch.rs: wait_for_returns_correct_value -- while another thread
 * sends 1, 2, 3, the value wait_for returns is the one its predicate
 * accepted. */
static int record_and_accept(const void *value, void *arg) {
  *(int *)arg = *(const int *)value;
  return 1;
}
static void lm_send_123(void *arg) {
  ax_watch_tx_t *tx = (ax_watch_tx_t *)arg;
  int v;
  for (v = 1; v <= 3; v++)
    if (ax_watch_send(tx, &v) != 0) atomic_fetch_add(&lm_errors, 1);
  ax_watch_sender_drop(tx);
}

START_TEST(wait_for_returns_correct_value) {
  unsigned long i, n = ax_test_iters(300);
  th_cx_t c;
  th_cx_init(&c);
  atomic_store(&lm_errors, 0);
  for (i = 0; i < n; i++) {
    ax_watch_tx_t *tx;
    ax_watch_rx_t *rx;
    ax_watch_wait_for_t wf;
    uv_thread_t t;
    int v = 0, stopped_at = -1, returned = -2;
    ck_assert_int_eq(ax_watch_new(sizeof(int), &v, NULL, NULL, &tx, &rx), 0);
    ck_assert_int_eq(uv_thread_create(&t, lm_send_123, tx), 0);
    spin_until_ready(
        ax_watch_wait_for(&wf, rx, record_and_accept, &stopped_at, &returned),
        &c);
    ck_assert_int_eq(wf.result, 0);
    ck_assert_int_eq(stopped_at, returned);
    ax_drop(&wf.base);
    uv_thread_join(&t);
    ax_watch_receiver_drop(rx);
  }
  ck_assert_int_eq(atomic_load(&lm_errors), 0);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* loom_rwlock.rs: downgrade -- a writer on another thread waits while the
 * first write guard is downgraded and read; it writes after the read
 * guard goes, and a read after it sees its value. */
static struct {
  ax_rwlock_t rw;
  int value;                  /* guarded by rw */
} lm_rw;

static void lm_writer(void *arg) {
  ax_rwlock_guard_t g;
  th_cx_t c;
  (void)arg;
  th_cx_init(&c);
  spin_until_ready(ax_rwlock_write(&g, &lm_rw.rw), &c);
  lm_rw.value = 2;
  ax_rwlock_unlock(&g);
  ax_drop(&g.base);
  /* The waker is on this stack: the thread that granted the lock may
   * still be on its way to wake it (its drop is the last access). */
  while (atomic_load(&c.w.refs) != 0)
    uv_sleep(0);
}

START_TEST(loom_downgrade) {
  unsigned long i, n = ax_test_iters(300);
  atomic_store(&lm_errors, 0);
  for (i = 0; i < n; i++) {
    ax_rwlock_guard_t g;
    uv_thread_t t;
    ck_assert_int_eq(ax_rwlock_init(&lm_rw.rw, 0), 0);
    lm_rw.value = 1;
    ck_assert_int_eq(ax_rwlock_try_write(&g, &lm_rw.rw), 0);
    ck_assert_int_eq(uv_thread_create(&t, lm_writer, NULL), 0);
    ck_assert_int_eq(ax_rwlock_downgrade(&g), 0);
    ck_assert_int_eq(lm_rw.value, 1);
    ax_rwlock_unlock(&g);
    uv_thread_join(&t);
    ck_assert_int_eq(ax_rwlock_try_read(&g, &lm_rw.rw), 0);
    ck_assert_int_eq(lm_rw.value, 2);
    ax_rwlock_unlock(&g);
    ax_rwlock_destroy(&lm_rw.rw);
  }
  ck_assert_int_eq(atomic_load(&lm_errors), 0);
}
END_TEST

/* ======================================================================
 * Interval (tokio/tests/time_interval.rs)
 * ====================================================================== */

/* time_interval.rs: reset_immediately, reset_after, reset_at and
 * reset_at_bigger_than_interval, without paused time.  What Tokio checks
 * with a mock clock -- where the reset puts the next tick, and that the
 * ticks after it follow the period from there -- is checked on the tick
 * instants the interval reports (iv.tick, the deadline of the tick just
 * completed), which do not depend on how fast the machine is.  The only
 * clock comparison is the timer's own guarantee: a tick never completes
 * before its deadline.  A broken reset of the hour-long interval hangs
 * (the case's timeout fails it). */
#define MS(n) ((uint64_t)(n) * 1000000u)   /* ax_instant_t counts ns */
static atomic_int iv_errors, iv_ticks;

typedef struct {
  ax_async_t co;
  ax_interval_t iv;
  ax_timeout_t to;
  ax_instant_t before, after, at;
  int k;
} iv_main_t;

#define IV_CHECK(cond)                                                     \
  do {                                                                     \
    if (!(cond)) atomic_fetch_add(&iv_errors, 1);                          \
  } while (0)

AX_ASYNC(iv_main, iv_main_t, s) {
  AX_BEGIN(s);
  ax_interval_init(&s->iv, 3600 * 1000);
  AX_AWAIT(ax_interval_tick(&s->iv));  /* the first tick: at once */
  atomic_fetch_add(&iv_ticks, 1);

  /* reset_immediately: the next tick is due at the reset. */
  s->before = ax_instant_now();
  ax_interval_reset_immediately(&s->iv);
  s->after = ax_instant_now();
  AX_AWAIT(ax_interval_tick(&s->iv));
  IV_CHECK(s->iv.result == 0);
  IV_CHECK(s->iv.tick >= s->before && s->iv.tick <= s->after);
  atomic_fetch_add(&iv_ticks, 1);
  /* ... and the one after it a period later: not within 10 ms. */
  AX_AWAIT(ax_timeout(&s->to, ax_interval_tick(&s->iv), 10));
  IV_CHECK(s->to.result == AX_ETIMEDOUT);
  ax_drop(&s->to.base);  /* the tick is dropped: cancel-safe */

  /* reset_after: due ms after the reset. */
  s->before = ax_instant_now();
  ax_interval_reset_after(&s->iv, 20);
  s->after = ax_instant_now();
  AX_AWAIT(ax_interval_tick(&s->iv));
  IV_CHECK(s->iv.tick >= s->before + MS(20) && s->iv.tick <= s->after + MS(20));
  IV_CHECK(ax_instant_now() >= s->iv.tick);
  atomic_fetch_add(&iv_ticks, 1);

  /* reset_at: due at the deadline given. */
  s->at = ax_instant_add_ms(ax_instant_now(), 15);
  ax_interval_reset_at(&s->iv, s->at);
  AX_AWAIT(ax_interval_tick(&s->iv));
  IV_CHECK(s->iv.tick == s->at);
  IV_CHECK(ax_instant_now() >= s->at);
  atomic_fetch_add(&iv_ticks, 1);

  /* reset_at in the past: due at once, and the ticks after it follow the
   * period from that deadline (all in the past here, so they come back
   * to back: the default burst policy). */
  ax_drop(&s->iv.base);
  ax_interval_init(&s->iv, 1000);
  AX_AWAIT(ax_interval_tick(&s->iv));
  s->at = ax_instant_now() - MS(5000);
  ax_interval_reset_at(&s->iv, s->at);
  for (s->k = 0; s->k < 3; s->k++) {
    AX_AWAIT(ax_interval_tick(&s->iv));
    IV_CHECK(s->iv.tick == s->at + (uint64_t)s->k * MS(1000));
    atomic_fetch_add(&iv_ticks, 1);
  }

  /* reset_at_bigger_than_interval: a reset beyond the period holds every
   * tick back until it, then the period resumes from it. */
  ax_drop(&s->iv.base);
  ax_interval_init(&s->iv, 20);
  AX_AWAIT(ax_interval_tick(&s->iv));
  s->at = ax_instant_add_ms(ax_instant_now(), 100);
  ax_interval_reset_at(&s->iv, s->at);
  AX_AWAIT(ax_interval_tick(&s->iv));
  IV_CHECK(s->iv.tick == s->at);
  IV_CHECK(ax_instant_now() >= s->at);
  AX_AWAIT(ax_interval_tick(&s->iv));
  IV_CHECK(s->iv.tick == s->at + MS(20));
  atomic_fetch_add(&iv_ticks, 1);
  ax_drop(&s->iv.base);
  AX_END();
}

START_TEST(interval_reset) {
  iv_main_t m = {0};
  atomic_store(&iv_errors, 0);
  atomic_store(&iv_ticks, 0);
  RUN_TASK(_i, iv_main, &m);
  ck_assert_int_eq(atomic_load(&iv_errors), 0);
  ck_assert_int_eq(atomic_load(&iv_ticks), 8);
}
END_TEST

Suite *ax_tokio_sync_suite(void) {
  return AX_SUITE("tokio-sync",
                  AX_CASE("time", 10),
                  AX_FLAVOURS(timeout_is_not_exhausted_by_future),
                  AX_CASE("mpsc", 30),
                  AX_ONCE(recv_close_gets_none_reserved),
                  AX_ONCE(dropping_last_permit_wakes_closed_receiver),
                  AX_ONCE(sending_last_permit_wakes_closed_receiver),
                  AX_ONCE(dropping_last_permit_iterator_wakes_closed_receiver),
                  AX_ONCE(try_recv_after_receiver_close_with_permit),
                  AX_ONCE(unbounded_permit_survives_close),
                  AX_ONCE(permit_available_not_acquired_close),
                  AX_ONCE(failed_reserve_wakes_closed_receiver),
                  AX_ONCE(cancelled_reserve_wakes_closed_receiver),
                  AX_ONCE(reserve_many_edge_cases),
                  AX_ONCE(reserve_many_and_send),
                  AX_ONCE(try_reserve_many_full),
                  AX_ONCE(drop_permit_iterator_releases_permits),
                  AX_ONCE(test_tx_capacity),
                  AX_ONCE(rx_is_closed),
                  AX_ONCE(rx_len_and_is_empty),
                  AX_ONCE(send_recv_many_unbounded),
                  AX_ONCE(recv_many_cancel),
                  AX_ONCE(weak_sender),
                  AX_ONCE(send_timeout_hand),
                  AX_ONCE(reserve_many_cancel),
                  AX_ONCE(failed_reserve_many_wakes_closed_receiver),
                  AX_ONCE(cancelled_reserve_many_wakes_closed_receiver),
                  AX_ONCE(sending_last_owned_permit_wakes_closed_receiver),
                  AX_ONCE(releasing_last_owned_permit_wakes_closed_receiver),
                  AX_ONCE(try_recv_close_while_empty),
                  AX_ONCE(recv_many_rx_closed_and_idle),
                  AX_ONCE(rx_len_when_close_is_called),
                  AX_ONCE(test_is_empty_32_msgs),
                  AX_ONCE(release_waker_on_rx_drop),
                  AX_ONCE(test_msgs_dropped_on_rx_drop),
                  AX_ONCE(weak_sender_tokio),
                  AX_ONCE(weak_upgrade_rules),
                  AX_ONCE(sender_strong_and_weak_count),
                  AX_FLAVOURS(recv_close_gets_none_reserved_rt),
                  AX_FLAVOURS(reserve_many_recv_many_rt),
                  AX_ONCE(send_recv_many_capacity),
                  AX_FLAVOURS(async_send_recv_many_with_buffer),
                  AX_FLAVOURS(actor_weak_sender),
                  AX_FLAVOURS(send_timeout_elapses),
                  AX_CASE("oneshot-broadcast-watch", 30),
                  AX_ONCE(receiver_is_terminated),
                  AX_ONCE(receiver_is_empty),
                  AX_ONCE(sender_len),
                  AX_ONCE(sender_len_random),
                  AX_ONCE(send_in_waker_drop),
                  AX_ONCE(receiver_len_with_lagged),
                  AX_ONCE(broadcast_sender_closed),
                  AX_ONCE(broadcast_weak_sender),
                  AX_ONCE(broadcast_sender_new_must_be_closed),
                  AX_ONCE(broadcast_lag_semantics),
                  AX_ONCE(lag_uses_power_of_two_buffer_length),
                  AX_ONCE(async_recv_lagged_then_resumes_from_oldest_retained),
                  AX_ONCE(broadcast_weak_sender_tokio),
                  AX_FLAVOURS(broadcast_sender_closed_rt),
                  AX_ONCE(rx_mark_changed),
                  AX_ONCE(rx_mark_unchanged),
                  AX_ONCE(
                      has_changed_errors_on_closed_channel_with_unseen_value),
                  AX_ONCE(poll_close),
                  AX_ONCE(send_modify_and_send_if_modified),
                  AX_ONCE(wait_for_hand),
                  AX_FLAVOURS(wait_for_and_closed_rt),
                  AX_ONCE(rx_version_underflow_and_reopened_after_subscribe),
                  AX_ONCE(closed_channel_with_seen_value),
                  AX_ONCE(watch_multiple_sender),
                  AX_FLAVOURS(receiver_wait_for_is_cooperative),
                  AX_FLAVOURS(sender_closed_is_cooperative),
                  AX_FLAVOURS(receiver_recv_is_cooperative),
                  AX_FLAVOURS(send_modify_panic),
                  AX_FLAVOURS(watch_callback_panics),
                  AX_FLAVOURS(panic_in_clone),
                  AX_CASE("sync", 30),
                  AX_ONCE(notify_multi_notified_last),
                  AX_ONCE(test_enable_after_poll),
                  AX_ONCE(test_poll_after_enable),
                  AX_ONCE(test_enable_consumes_permit),
                  AX_ONCE(notified_enable_fifo_and_cancel),
                  AX_FLAVOURS(notified_enable_rt),
                  AX_ONCE(notified_multi_notify_last_drop),
                  AX_ONCE(test_notify_one_not_enabled_and_after_enable),
                  AX_ONCE(test_waker_update),
                  AX_ONCE(
                      unpolled_future_completed_by_notify_waiters_preserves_permit),
                  AX_ONCE(notify_in_drop_after_wake),
                  AX_ONCE(notify_one_after_dropped_all),
                  AX_ONCE(downgrade_map),
                  AX_ONCE(mapped_guards),
                  AX_ONCE(downgrade_then_map),
                  AX_ONCE(downgrade_max_readers_one),
                  AX_FLAVOURS(downgrade_rt),
                  AX_ONCE(forget_permits_basic),
                  AX_ONCE(forget_open_closed_and_update_permits_many_times),
                  AX_ONCE(merge),
                  AX_ONCE(split),
                  AX_ONCE(set_twice),
                  AX_ONCE(set_while_initializing),
                  AX_CASE("threads", 60),
                  AX_ONCE(concurrent_permit_updates),
                  AX_ONCE(wait_for_returns_correct_value),
                  AX_ONCE(loom_downgrade),
                  AX_CASE("interval", 10),
                  AX_FLAVOURS(interval_reset));
}
