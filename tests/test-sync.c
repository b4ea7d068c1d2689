/* Sync suite: the wait queue and the async primitives of axle/sync.h.
 *
 * Two kinds of tests:
 *  - hand-polled: futures polled directly with a counting test waker, so
 *    FIFO order, wake-ups and cancellation hand-offs are checked exactly
 *    and deterministically;
 *  - runtime: the same behaviours with real tasks, on the current-thread
 *    and the multi-thread runtime (loop tests: _i == 0 current, 1 multi).
 * Every test checks that no waker clone is left behind (refs == 0) and
 * destroys what it created.
 */
#include <stdatomic.h>
#include <string.h>

#include "helpers.h"
#include "sync/waitq.h"

#define WORKERS 3   /* of the multi-thread runtime */

/* ---- wait queue ------------------------------------------------------ */

START_TEST(waitq_wake_one_n_all) {
  enum { N = 40 };  /* more than one wake batch */
  ax__waitq_t q;
  ax__waiter_t w[N + 1];
  th_cx_t c[N + 1];
  int i;

  ax__waitq_init(&q);
  for (i = 0; i <= N; i++) {
    th_cx_init(&c[i]);
    ax__waiter_init(&w[i]);
  }
  ax__waitq_lock(&q);
  for (i = 0; i < N; i++)
    ax__waitq_push_locked(&q, &w[i], &c[i].w.base);
  ax__waitq_unlock(&q);

  ck_assert_int_eq(ax__waitq_wake_one(&q, 7), 1);
  ck_assert_int_eq(c[0].w.wakes, 1);
  ck_assert_int_eq(ax__waiter_state(&w[0]), AX__WAITER_WOKEN);
  ck_assert_int_eq(w[0].result, 7);
  ck_assert_int_eq(c[1].w.wakes, 0);

  ck_assert_uint_eq(ax__waitq_wake_n(&q, 3, 0), 3);
  for (i = 1; i <= 3; i++)
    ck_assert_int_eq(ax__waiter_state(&w[i]), AX__WAITER_WOKEN);
  ck_assert_int_eq(ax__waiter_state(&w[4]), AX__WAITER_QUEUED);

  /* wake_all takes a snapshot: w[N], queued after it, is not woken. */
  ax__waitq_lock(&q);
  ck_assert_uint_eq(ax__waitq_wake_all_unlock(&q, 5), N - 4);
  ax__waitq_lock(&q);
  ck_assert(ax__waitq_empty_locked(&q));
  ax__waitq_push_locked(&q, &w[N], &c[N].w.base);
  ax__waitq_unlock(&q);
  for (i = 4; i < N; i++) {
    ck_assert_int_eq(ax__waiter_state(&w[i]), AX__WAITER_WOKEN_ALL);
    ck_assert_int_eq(w[i].result, 5);
    ck_assert_int_eq(c[i].w.wakes, 1);
  }
  ck_assert_int_eq(ax__waiter_state(&w[N]), AX__WAITER_QUEUED);
  ck_assert_int_eq(ax__waitq_cancel_pass(&q, &w[N]), AX__WAITER_QUEUED);
  ck_assert_int_eq(c[N].w.wakes, 0);
  ck_assert_int_eq(ax__waitq_wake_one(&q, 0), 0);
  for (i = 0; i <= N; i++)
    ck_assert_int_eq(c[i].w.refs, 0);
  ax__waitq_destroy(&q);
}
END_TEST

START_TEST(waitq_cancel_passes_wakeup) {
  ax__waitq_t q;
  ax__waiter_t a, b, c;
  th_cx_t ca, cb, cc;
  ax__waitq_init(&q);
  TH_CX_INIT(&ca, &cb, &cc);
  ax__waiter_init(&a);
  ax__waiter_init(&b);
  ax__waiter_init(&c);
  ax__waitq_lock(&q);
  ax__waitq_push_locked(&q, &a, &ca.w.base);
  ax__waitq_push_locked(&q, &b, &cb.w.base);
  ax__waitq_push_locked(&q, &c, &cc.w.base);
  ax__waitq_unlock(&q);

  /* A re-poll with another waker swaps the stored clone. */
  ck_assert_int_eq(ax__waitq_update_waker(&q, &c, &cb.w.base),
                   AX__WAITER_QUEUED);
  ck_assert_int_eq(cc.w.refs, 0);
  ck_assert_int_eq(cb.w.refs, 2);
  ck_assert_int_eq(ax__waitq_update_waker(&q, &c, &cc.w.base),
                   AX__WAITER_QUEUED);

  ck_assert_int_eq(ax__waitq_wake_one(&q, 3), 1);  /* a gets it ... */
  ck_assert_int_eq(ax__waitq_cancel_pass(&q, &a), AX__WAITER_WOKEN);
  ck_assert_int_eq(cb.w.wakes, 1);                /* ... and passes it on */
  ck_assert_int_eq(b.result, 3);
  ck_assert_int_eq(cc.w.wakes, 0);
  /* b consumed it (its owner saw WOKEN); c is cancelled while queued. */
  ck_assert_int_eq(ax__waitq_cancel_pass(&q, &c), AX__WAITER_QUEUED);
  ck_assert_int_eq(cc.w.wakes, 0);
  ck_assert_int_eq(ax__waitq_cancel_pass(&q, &c), AX__WAITER_IDLE);
  ck_assert_int_eq(ca.w.refs + cb.w.refs + cc.w.refs, 0);
  ax__waitq_destroy(&q);
}
END_TEST

/* ---- mutex, hand-polled ---------------------------------------------- */

START_TEST(mutex_fifo_hand) {
  ax_mutex_t m;
  ax_mutex_guard_t g0, gx, g[3];
  th_cx_t c[3];
  int i;
  ck_assert_int_eq(ax_mutex_init(&m), 0);
  ck_assert(!ax_mutex_is_locked(&m));
  ck_assert_int_eq(ax_mutex_try_lock(&g0, &m), 0);
  ck_assert(ax_mutex_is_locked(&m));
  for (i = 0; i < 3; i++) {
    th_cx_init(&c[i]);
    ck_assert_int_eq(TH_POLL(ax_mutex_lock(&g[i], &m), &c[i]), AX_PENDING);
    ck_assert_int_eq(c[i].w.refs, 1);
  }
  ck_assert_int_eq(ax_mutex_try_lock(&gx, &m), AX_EBUSY);
  ax_drop(&gx.base);
  ax_mutex_unlock(&g0);
  ax_mutex_unlock(&g0);  /* second unlock: no-op */
  for (i = 0; i < 3; i++) {
    int j;
    for (j = 0; j < 3; j++)
      ck_assert_int_eq(c[j].w.wakes, j <= i ? 1 : 0);
    ck_assert(ax_mutex_is_locked(&m));  /* handed over, never free */
    ck_assert_int_eq(ax_mutex_try_lock(&gx, &m), AX_EBUSY);
    ck_assert_int_eq(TH_POLL(&g[i].base, &c[i]), AX_READY);
    ck_assert_int_eq(g[i].result, 0);
    ck_assert_int_eq(TH_POLL(&g[i].base, &c[i]), AX_READY);  /* idempotent */
    ax_mutex_unlock(&g[i]);
  }
  ck_assert(!ax_mutex_is_locked(&m));
  for (i = 0; i < 3; i++) {
    ax_drop(&g[i].base);
    ax_drop(&g[i].base);
    ck_assert_int_eq(c[i].w.refs, 0);
  }
  ax_drop(&g0.base);
  ax_mutex_destroy(&m);
}
END_TEST

START_TEST(mutex_cancel_hand) {
  ax_mutex_t m;
  ax_mutex_guard_t g0, g1, g2, g3, gn;
  th_cx_t c1, c2, c3, c2b;
  ax_mutex_init(&m);
  TH_CX_INIT(&c1, &c2, &c2b, &c3);
  ax_mutex_lock(&gn, &m);  /* never polled: dropping it is a no-op */
  ax_drop(&gn.base);
  ck_assert_int_eq(ax_mutex_try_lock(&g0, &m), 0);
  ck_assert_int_eq(TH_POLL(ax_mutex_lock(&g1, &m), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_mutex_lock(&g2, &m), &c2), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_mutex_lock(&g3, &m), &c3), AX_PENDING);
  /* Re-polled from "another task": the old waker clone is released. */
  ck_assert_int_eq(TH_POLL(&g2.base, &c2b), AX_PENDING);
  ck_assert_int_eq(c2.w.refs, 0);
  ck_assert_int_eq(c2b.w.refs, 1);
  /* Queued, not woken: leaves quietly. */
  ax_drop(&g2.base);
  ck_assert_int_eq(c2b.w.refs, 0);
  ck_assert_int_eq(c1.w.wakes + c2.w.wakes + c3.w.wakes, 0);
  /* g1 is handed the lock but dropped before it sees it: g3 gets it. */
  ax_mutex_unlock(&g0);
  ck_assert_int_eq(c1.w.wakes, 1);
  ax_drop(&g1.base);
  ck_assert_int_eq(c3.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&g3.base, &c3), AX_READY);
  /* Dropping a guard that holds the lock unlocks. */
  ax_drop(&g3.base);
  ck_assert(!ax_mutex_is_locked(&m));
  ck_assert_int_eq(ax_mutex_try_lock(&g0, &m), 0);
  ax_mutex_unlock(&g0);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + c3.w.refs, 0);
  ax_mutex_destroy(&m);
}
END_TEST

/* ---- semaphore, hand-polled ------------------------------------------ */

START_TEST(semaphore_fifo_hand) {
  ax_semaphore_t s;
  ax_permit_t p0, p1, p2, px;
  th_cx_t c1, c2;
  ck_assert_int_eq(ax_semaphore_init(&s, AX_SEMAPHORE_MAX_PERMITS + 1),
                   AX_EINVAL);
  ck_assert_int_eq(ax_semaphore_init(&s, 3), 0);
  TH_CX_INIT(&c1, &c2);
  ck_assert_int_eq(ax_semaphore_try_acquire(&p0, &s, 3), 0);
  ck_assert_uint_eq(p0.held, 3);
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  /* A big request first, a small one after: the big one is served first
   * (it collects permits as they come back), so it cannot starve. */
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p1, &s, 2), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p2, &s, 1), &c2), AX_PENDING);
  ax_semaphore_add_permits(&s, 1);
  ck_assert_int_eq(c1.w.wakes + c2.w.wakes, 0);
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  ck_assert_int_eq(ax_semaphore_try_acquire(&px, &s, 1), AX_EAGAIN);
  ax_semaphore_release(&p0);  /* 3 back: 1 completes p1, 1 p2, 1 spare */
  ck_assert_uint_eq(p0.held, 0);
  ck_assert_int_eq(c1.w.wakes, 1);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_uint_eq(ax_semaphore_available(&s), 1);
  ck_assert_int_eq(TH_POLL(&p2.base, &c2), AX_READY);
  ck_assert_int_eq(TH_POLL(&p1.base, &c1), AX_READY);
  ck_assert_uint_eq(p1.held, 2);
  ck_assert_uint_eq(p2.held, 1);
  ax_semaphore_release(&p1);
  ax_drop(&p2.base);  /* a held permit is released by drop */
  ck_assert_uint_eq(ax_semaphore_available(&s), 4);
  /* n == 0 completes at once. */
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&px, &s, 0), &c1), AX_READY);
  ax_drop(&px.base);
  /* forget: the permits are gone; add_permits brings new ones. */
  ck_assert_int_eq(ax_semaphore_try_acquire(&px, &s, 4), 0);
  ax_semaphore_forget(&px);
  ax_drop(&px.base);
  ck_assert_uint_eq(ax_semaphore_available(&s), 0);
  ax_semaphore_add_permits(&s, 2);
  ck_assert_uint_eq(ax_semaphore_available(&s), 2);
  ck_assert_int_eq(c1.w.refs + c2.w.refs, 0);
  ax_semaphore_destroy(&s);
}
END_TEST

START_TEST(semaphore_cancel_head_hand) {
  ax_semaphore_t s;
  ax_permit_t p0, p1, p2;
  th_cx_t c1, c2;
  ax_semaphore_init(&s, 2);
  TH_CX_INIT(&c1, &c2);
  ck_assert_int_eq(ax_semaphore_try_acquire(&p0, &s, 2), 0);
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p1, &s, 2), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p2, &s, 1), &c2), AX_PENDING);
  ax_semaphore_add_permits(&s, 1);  /* p1 collects it, still needs one */
  ck_assert_int_eq(c1.w.wakes + c2.w.wakes, 0);
  ax_drop(&p1.base);  /* the collected permit goes on to p2 */
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&p2.base, &c2), AX_READY);
  ck_assert_uint_eq(p2.held, 1);
  ax_semaphore_release(&p0);
  ax_semaphore_release(&p2);
  ck_assert_uint_eq(ax_semaphore_available(&s), 3);
  ck_assert_int_eq(c1.w.refs + c2.w.refs, 0);
  ax_semaphore_destroy(&s);
}
END_TEST

START_TEST(semaphore_close_hand) {
  ax_semaphore_t s;
  ax_permit_t p0, p1, p2, p3;
  th_cx_t c1, c2;
  ax_semaphore_init(&s, 2);
  TH_CX_INIT(&c1, &c2);
  ck_assert_int_eq(ax_semaphore_try_acquire(&p0, &s, 1), 0);
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p1, &s, 3), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p2, &s, 1), &c2), AX_PENDING);
  ck_assert(!ax_semaphore_is_closed(&s));
  ax_semaphore_close(&s);
  ck_assert(ax_semaphore_is_closed(&s));
  ck_assert_int_eq(c1.w.wakes, 1);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&p1.base, &c1), AX_READY);
  ck_assert_int_eq(p1.result, AX_ECLOSED);
  ck_assert_uint_eq(p1.held, 0);
  ck_assert_int_eq(TH_POLL(&p2.base, &c2), AX_READY);
  ck_assert_int_eq(p2.result, AX_ECLOSED);
  /* p1 had collected the free permit: it went back. */
  ck_assert_uint_eq(ax_semaphore_available(&s), 1);
  ck_assert_int_eq(TH_POLL(ax_semaphore_acquire(&p3, &s, 1), &c1), AX_READY);
  ck_assert_int_eq(p3.result, AX_ECLOSED);
  ck_assert_int_eq(ax_semaphore_try_acquire(&p3, &s, 1), AX_ECLOSED);
  ax_semaphore_release(&p0);  /* held permits stay valid */
  ck_assert_uint_eq(ax_semaphore_available(&s), 2);
  ax_drop(&p1.base);
  ax_drop(&p2.base);
  ax_drop(&p3.base);
  ck_assert_int_eq(c1.w.refs + c2.w.refs, 0);
  ax_semaphore_destroy(&s);
}
END_TEST

/* ---- rwlock, hand-polled ---------------------------------------------- */

START_TEST(rwlock_fair_hand) {
  ax_rwlock_t rw;
  ax_rwlock_guard_t r1, r2, r3, w, x;
  th_cx_t cw, c3;
  ck_assert_int_eq(ax_rwlock_init(&rw, 0), 0);
  ck_assert_uint_eq(rw.max_readers, AX_RWLOCK_MAX_READERS);
  TH_CX_INIT(&cw, &c3);
  ck_assert_int_eq(ax_rwlock_try_read(&r1, &rw), 0);
  ck_assert_int_eq(ax_rwlock_try_read(&r2, &rw), 0);
  ck_assert_int_eq(ax_rwlock_try_write(&x, &rw), AX_EBUSY);
  ck_assert_int_eq(TH_POLL(ax_rwlock_write(&w, &rw), &cw), AX_PENDING);
  /* A reader arriving after the writer queues behind it. */
  ck_assert_int_eq(ax_rwlock_try_read(&x, &rw), AX_EBUSY);
  ck_assert_int_eq(TH_POLL(ax_rwlock_read(&r3, &rw), &c3), AX_PENDING);
  ax_rwlock_unlock(&r1);
  ck_assert_int_eq(cw.w.wakes, 0);
  ax_rwlock_unlock(&r2);
  ck_assert_int_eq(cw.w.wakes, 1);
  ck_assert_int_eq(c3.w.wakes, 0);
  ck_assert_int_eq(TH_POLL(&w.base, &cw), AX_READY);
  ck_assert_int_eq(ax_rwlock_try_read(&x, &rw), AX_EBUSY);
  ax_rwlock_unlock(&w);
  ck_assert_int_eq(c3.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&r3.base, &c3), AX_READY);
  ck_assert_int_eq(ax_rwlock_try_read(&x, &rw), 0);  /* readers share */
  ax_rwlock_unlock(&x);
  ax_rwlock_unlock(&r3);
  ck_assert_int_eq(ax_rwlock_try_write(&x, &rw), 0);
  ax_drop(&x.base);  /* releases the write lock */
  ck_assert_int_eq(ax_rwlock_try_write(&x, &rw), 0);
  ax_rwlock_unlock(&x);
  ck_assert_int_eq(cw.w.refs + c3.w.refs, 0);
  ax_rwlock_destroy(&rw);

  ck_assert_int_eq(ax_rwlock_init(&rw, 2), 0);
  ck_assert_int_eq(ax_rwlock_try_read(&r1, &rw), 0);
  ck_assert_int_eq(ax_rwlock_try_read(&r2, &rw), 0);
  ck_assert_int_eq(ax_rwlock_try_read(&r3, &rw), AX_EBUSY);
  ax_rwlock_unlock(&r1);
  ax_rwlock_unlock(&r2);
  ax_rwlock_destroy(&rw);
  ck_assert_int_eq(ax_rwlock_init(&rw, AX_RWLOCK_MAX_READERS + 1), AX_EINVAL);
}
END_TEST

/* ---- notify, hand-polled ----------------------------------------------- */

START_TEST(notify_permit_hand) {
  ax_notify_t n;
  ax_notify_wait_t f1, f2, f3, f4;
  th_cx_t c1, c2, c3;
  ax_notify_init(&n);
  TH_CX_INIT(&c1, &c2, &c3);
  /* notify_one with nobody waiting stores ONE permit. */
  ax_notify_one(&n);
  ax_notify_one(&n);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c1), AX_READY);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_PENDING);
  ax_notify_one(&n);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&f2.base, &c2), AX_READY);
  ax_drop(&f1.base);
  ax_drop(&f2.base);

  /* notify_one wakes the oldest waiter only. */
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_PENDING);
  ax_notify_one(&n);
  ck_assert_int_eq(c1.w.wakes, 1);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&f1.base, &c1), AX_READY);
  ck_assert_int_eq(TH_POLL(&f2.base, &c2), AX_PENDING);

  /* notify_waiters: every waiter, including a future created (not yet
   * polled) before the call; no permit is stored. */
  ax_notify_wait(&f3, &n);
  ax_notify_waiters(&n);
  ck_assert_int_eq(c2.w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&f2.base, &c2), AX_READY);
  ck_assert_int_eq(TH_POLL(&f3.base, &c3), AX_READY);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f4, &n), &c3), AX_PENDING);
  ax_drop(&f4.base);
  ax_drop(&f4.base);
  ax_drop(&f1.base);
  ax_drop(&f2.base);
  ax_drop(&f3.base);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + c3.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

START_TEST(notify_cancel_hand) {
  ax_notify_t n;
  ax_notify_wait_t f1, f2, f3;
  th_cx_t c1, c2, c3;
  ax_notify_init(&n);
  TH_CX_INIT(&c1, &c2, &c3);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c1), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f2, &n), &c2), AX_PENDING);
  ax_notify_one(&n);
  ck_assert_int_eq(c1.w.wakes, 1);
  ax_drop(&f1.base);  /* notified but never saw it: f2 gets it */
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&f2.base, &c2), AX_READY);
  ax_drop(&f2.base);
  /* The last waiter drops an unseen notification: it becomes the permit. */
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c1), AX_PENDING);
  ax_notify_one(&n);
  ax_drop(&f1.base);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f3, &n), &c3), AX_READY);
  ax_drop(&f3.base);
  /* A broadcast wake-up is not passed on. */
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f1, &n), &c1), AX_PENDING);
  ax_notify_waiters(&n);
  ax_drop(&f1.base);
  ck_assert_int_eq(TH_POLL(ax_notify_wait(&f3, &n), &c3), AX_PENDING);
  ax_drop(&f3.base);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + c3.w.refs, 0);
  ax_notify_destroy(&n);
}
END_TEST

/* ---- barrier, hand-polled ---------------------------------------------- */

START_TEST(barrier_hand) {
  ax_barrier_t b;
  ax_barrier_wait_t f[4];
  th_cx_t c[4];
  int i;
  ax_barrier_init(&b, 3);
  for (i = 0; i < 4; i++)
    th_cx_init(&c[i]);
  ck_assert_int_eq(TH_POLL(ax_barrier_wait(&f[0], &b), &c[0]), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_barrier_wait(&f[1], &b), &c[1]), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_barrier_wait(&f[2], &b), &c[2]), AX_READY);
  ck_assert(f[2].is_leader);
  ck_assert_int_eq(c[0].w.wakes + c[1].w.wakes, 2);
  ck_assert_int_eq(TH_POLL(&f[0].base, &c[0]), AX_READY);
  ck_assert_int_eq(TH_POLL(&f[1].base, &c[1]), AX_READY);
  ck_assert(!f[0].is_leader && !f[1].is_leader);
  /* Next generation; a dropped waiter withdraws its arrival. */
  ck_assert_int_eq(TH_POLL(ax_barrier_wait(&f[0], &b), &c[0]), AX_PENDING);
  ax_drop(&f[0].base);
  ck_assert_int_eq(TH_POLL(ax_barrier_wait(&f[1], &b), &c[1]), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_barrier_wait(&f[2], &b), &c[2]), AX_PENDING);
  ck_assert_int_eq(TH_POLL(ax_barrier_wait(&f[3], &b), &c[3]), AX_READY);
  ck_assert(f[3].is_leader);
  ck_assert_int_eq(TH_POLL(&f[1].base, &c[1]), AX_READY);
  ck_assert_int_eq(TH_POLL(&f[2].base, &c[2]), AX_READY);
  for (i = 0; i < 4; i++) {
    ax_drop(&f[i].base);
    ck_assert_int_eq(c[i].w.refs, 0);
  }
  ax_barrier_destroy(&b);
  /* One party: everyone is the leader at once. */
  ax_barrier_init(&b, 1);
  ck_assert_int_eq(TH_POLL(ax_barrier_wait(&f[0], &b), &c[0]), AX_READY);
  ck_assert(f[0].is_leader);
  ax_barrier_destroy(&b);
}
END_TEST

/* ---- oncecell, hand-polled -------------------------------------------- */

/* An init future the test drives: pending until `ready`, then yields
 * `value` through `out`. */
typedef struct {
  ax_future_t base;
  int polls, drops, ready;
  void *value;
  void *out;
} ctl_init_t;

static ax_poll_t ctl_poll(ax_future_t *f, ax_cx_t *cx) {
  ctl_init_t *c = (ctl_init_t *)f;
  (void)cx;
  c->polls++;
  if (!c->ready)
    return AX_PENDING;
  c->out = c->value;
  return AX_READY;
}
static void ctl_drop(ax_future_t *f) { ((ctl_init_t *)f)->drops++; }
static const ax_future_vtable_t ctl_vtable = {ctl_poll, ctl_drop, "ctl"};

static ax_future_t *ctl(ctl_init_t *c, void *value, int ready) {
  memset(c, 0, sizeof *c);
  c->base.vtable = &ctl_vtable;
  c->value = value;
  c->ready = ready;
  return &c->base;
}

static int dtor_calls;
static void count_dtor(void *v) {
  (void)v;
  dtor_calls++;
}

START_TEST(oncecell_hand) {
  static int x, y;
  ax_oncecell_t cell;
  ax_oncecell_get_t g1, g2, g3, g4;
  ctl_init_t i1, i2, i3, i4;
  th_cx_t c1, c2, c3;
  ax_oncecell_init(&cell, count_dtor);
  dtor_calls = 0;
  TH_CX_INIT(&c1, &c2, &c3);
  ck_assert_ptr_null(ax_oncecell_get(&cell));
  ck_assert_int_eq(
      TH_POLL(ax_oncecell_get_or_init(&g1, &cell, ctl(&i1, &x, 0), &i1.out),
              &c1),
      AX_PENDING);
  ck_assert_int_eq(i1.polls, 1);
  ck_assert_int_eq(
      TH_POLL(ax_oncecell_get_or_init(&g2, &cell, ctl(&i2, &y, 0), &i2.out),
              &c2),
      AX_PENDING);
  ck_assert_int_eq(i2.polls, 0);  /* waits: g1 is initialising */
  ck_assert_int_eq(ax_oncecell_set(&cell, &x), AX_EBUSY);
  /* The initialiser is cancelled: g2 takes over with its own init. */
  ax_drop(&g1.base);
  ck_assert_int_eq(i1.drops, 1);
  ck_assert_int_eq(c2.w.wakes, 1);
  ck_assert_int_eq(TH_POLL(&g2.base, &c2), AX_PENDING);
  ck_assert_int_eq(i2.polls, 1);
  i2.ready = 1;
  ck_assert_int_eq(TH_POLL(&g2.base, &c2), AX_READY);
  ck_assert_int_eq(g2.result, 0);
  ck_assert_ptr_eq(g2.value, &y);
  ck_assert_int_eq(i2.drops, 1);  /* dropped as soon as it was ready */
  ck_assert_ptr_eq(ax_oncecell_get(&cell), &y);
  /* Set: later callers get the value, their init dropped unpolled. */
  ck_assert_int_eq(
      TH_POLL(ax_oncecell_get_or_init(&g3, &cell, ctl(&i3, &x, 1), &i3.out),
              &c3),
      AX_READY);
  ck_assert_ptr_eq(g3.value, &y);
  ck_assert_int_eq(i3.polls, 0);
  ck_assert_int_eq(i3.drops, 1);
  ck_assert_int_eq(ax_oncecell_set(&cell, &x), AX_EALREADY);
  ax_drop(&g1.base);
  ax_drop(&g2.base);
  ax_drop(&g3.base);
  ck_assert_int_eq(i1.drops + i2.drops + i3.drops, 3);
  ax_oncecell_destroy(&cell);
  ck_assert_int_eq(dtor_calls, 1);

  /* A failed init (NULL) reports AX_ENOTREADY; the next caller tries. */
  ax_oncecell_init(&cell, NULL);
  ck_assert_int_eq(
      TH_POLL(ax_oncecell_get_or_init(&g1, &cell, ctl(&i1, NULL, 0), &i1.out),
              &c1),
      AX_PENDING);
  ck_assert_int_eq(
      TH_POLL(ax_oncecell_get_or_init(&g2, &cell, ctl(&i2, &y, 1), &i2.out),
              &c2),
      AX_PENDING);
  /* A waiter that is dropped while waiting leaves the queue quietly. */
  ck_assert_int_eq(
      TH_POLL(ax_oncecell_get_or_init(&g4, &cell, ctl(&i4, &x, 1), &i4.out),
              &c3),
      AX_PENDING);
  ax_drop(&g4.base);
  ck_assert_int_eq(i4.polls, 0);
  ck_assert_int_eq(i4.drops, 1);
  i1.ready = 1;
  ck_assert_int_eq(TH_POLL(&g1.base, &c1), AX_READY);
  ck_assert_int_eq(g1.result, AX_ENOTREADY);
  ck_assert_ptr_null(g1.value);
  ck_assert_int_eq(TH_POLL(&g2.base, &c2), AX_READY);
  ck_assert_ptr_eq(g2.value, &y);
  ax_drop(&g1.base);
  ax_drop(&g2.base);
  ax_oncecell_destroy(&cell);

  ax_oncecell_init(&cell, NULL);
  ck_assert_int_eq(ax_oncecell_set(&cell, NULL), AX_EINVAL);
  ck_assert_int_eq(ax_oncecell_set(&cell, &x), 0);
  ck_assert_ptr_eq(ax_oncecell_get(&cell), &x);
  ax_oncecell_destroy(&cell);
  ck_assert_int_eq(c1.w.refs + c2.w.refs + c3.w.refs, 0);
}
END_TEST

/* ======================================================================
 * Runtime tests: _i == 0 current-thread, 1 multi-thread.
 * Tasks record what they saw in globals; the test thread asserts after
 * ax_block_on returned (th_run, helpers.h; a failed ck_assert on a
 * worker thread would not unwind cleanly).
 * ====================================================================== */

/* Wraps a future and counts, once, that it went pending: by then it has
 * queued itself, so the test knows the order in which waiters queued. */
typedef struct {
  ax_future_t base;
  ax_future_t *inner;
  atomic_int *queued;
  int signalled;
} signal_t;

static ax_poll_t signal_poll(ax_future_t *f, ax_cx_t *cx) {
  signal_t *s = (signal_t *)f;
  ax_poll_t r = ax_poll(s->inner, cx);
  if (r == AX_PENDING && !s->signalled) {
    s->signalled = 1;
    atomic_fetch_add(s->queued, 1);
  }
  return r;
}
static void signal_drop(ax_future_t *f) { ax_drop(((signal_t *)f)->inner); }
static const ax_future_vtable_t signal_vtable = {signal_poll, signal_drop,
                                                 "signal"};
static ax_future_t *signal_fut(signal_t *s, ax_future_t *inner,
                               atomic_int *queued) {
  s->base.vtable = &signal_vtable;
  s->inner = inner;
  s->queued = queued;
  s->signalled = 0;
  return &s->base;
}

static atomic_int join_errors;   /* spawns and joins that failed */

/* Runs main on a runtime of flavour multi: no spawn or join may fail. */
#define run_checked(multi, main)                                           \
  th_run_checked((multi), WORKERS, (main), &join_errors)

/* The awaits of a main task's join: the failed ones count as errors. */
#define JOIN_ALL(s, handles, count)                                        \
  AX_AWAIT(th_joins(&(s)->j, (handles), (count)));                        \
  atomic_fetch_add(&join_errors, (s)->j.failed)

/* ---- mutex counter: 10 tasks x 10,000 increments ------------------------ */

static struct {
  ax_mutex_t m;
  long counter;        /* protected by m */
  unsigned long iters;
} MC;

typedef struct {
  ax_async_t co;
  unsigned long i;
  ax_mutex_guard_t g;
  ax_yield_t y;
} incr_t;

AX_ASYNC(incr_task, incr_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < MC.iters; s->i++) {
    AX_AWAIT(ax_mutex_lock(&s->g, &MC.m));
    MC.counter++;
    if (s->i % 128 == 0)  /* sometimes hold the guard across an await */
      AX_AWAIT(ax_yield_now(&s->y));
    ax_mutex_unlock(&s->g);
  }
  AX_END();
}

static ax_future_t *make_incr(void *buf, size_t i) {
  (void)i;
  return AX_FUTURE(incr_task, (incr_t *)buf);
}

START_TEST(mutex_counter_rt) {
  ax_mutex_init(&MC.m);
  MC.counter = 0;
  MC.iters = ax_test_iters(10000);
  th_run_tasks(_i, WORKERS, make_incr, sizeof(incr_t), 10);
  ck_assert_int_eq(MC.counter, (long)(10 * MC.iters));
  ck_assert(!ax_mutex_is_locked(&MC.m));
  ax_mutex_destroy(&MC.m);
}
END_TEST

/* ---- mutex FIFO order of waiters ----------------------------------------- */

#define FIFO_N 8
static struct {
  ax_mutex_t m;
  atomic_int queued;
  int order[FIFO_N];  /* protected by m */
  int n;
} FQ;

typedef struct {
  ax_async_t co;
  int id;
  ax_mutex_guard_t g;
  signal_t sig;
} fifo_task_t;

AX_ASYNC(fifo_task, fifo_task_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(signal_fut(&s->sig, ax_mutex_lock(&s->g, &FQ.m), &FQ.queued));
  FQ.order[FQ.n++] = s->id;
  ax_mutex_unlock(&s->g);
  AX_END();
}

typedef struct {
  ax_async_t co;
  int i;
  ax_mutex_guard_t g;
  ax_yield_t y;
  ax_join_t h[FIFO_N];
  th_joins_t j;
} fifo_main_t;

AX_ASYNC(fifo_main, fifo_main_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_mutex_lock(&s->g, &FQ.m));
  for (s->i = 0; s->i < FIFO_N; s->i++) {
    fifo_task_t t = {0};
    t.id = s->i;
    if (AX_SPAWN(fifo_task, &t, &s->h[s->i]) != 0)
      atomic_fetch_add(&join_errors, 1);
    while (atomic_load(&FQ.queued) <= s->i)
      AX_AWAIT(ax_yield_now(&s->y));
  }
  ax_mutex_unlock(&s->g);
  JOIN_ALL(s, s->h, FIFO_N);
  AX_END();
}

START_TEST(mutex_fifo_rt) {
  fifo_main_t mainf = {0};
  int i;
  memset(&FQ, 0, sizeof FQ);
  ax_mutex_init(&FQ.m);
  run_checked(_i, AX_FUTURE(fifo_main, &mainf));
  ck_assert_int_eq(FQ.n, FIFO_N);
  for (i = 0; i < FIFO_N; i++)
    ck_assert_int_eq(FQ.order[i], i);
  ax_mutex_destroy(&FQ.m);
}
END_TEST

/* ---- a select loser does not swallow a permit ---------------------------
 * B waits on select_biased(go, resource); C waits on the resource behind
 * B.  The main task hands the resource to B's waiter and notifies `go`
 * without yielding in between: B's select sees `go` first (biased), so its
 * resource future loses and is dropped holding an unseen hand-off, which
 * must reach C.  (On the multi-thread runtime B may run between the two
 * steps and win the resource instead; C must then get it from B.) */

enum { RES_MUTEX, RES_SEMAPHORE, RES_NOTIFY };

static struct {
  int kind;
  ax_mutex_t m;
  ax_semaphore_t sem;
  ax_notify_t res;
  ax_notify_t go;
  atomic_int queued;
  atomic_int c_done;
  int b_winner;
} SL;

typedef struct {
  ax_mutex_guard_t g;
  ax_permit_t p;
  ax_notify_wait_t n;
} res_wait_t;

static ax_future_t *res_future(res_wait_t *r) {
  switch (SL.kind) {
  case RES_MUTEX:
    return ax_mutex_lock(&r->g, &SL.m);
  case RES_SEMAPHORE:
    return ax_semaphore_acquire(&r->p, &SL.sem, 1);
  default:
    return ax_notify_wait(&r->n, &SL.res);
  }
}

static void res_release(res_wait_t *r) {
  switch (SL.kind) {
  case RES_MUTEX:
    ax_mutex_unlock(&r->g);
    break;
  case RES_SEMAPHORE:
    ax_semaphore_release(&r->p);
    break;
  default:
    /* A consumed notification is not given back by itself; B, when it
     * won it, passes it on by hand so C can finish (C's own call just
     * leaves a permit behind). */
    ax_notify_one(&SL.res);
    break;
  }
}

typedef struct {
  ax_async_t co;
  ax_select_t sel;
  ax_notify_wait_t go;
  res_wait_t r;
  signal_t sig;
} loser_b_t;

AX_ASYNC(loser_b, loser_b_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_select_biased(&s->sel, ax_notify_wait(&s->go, &SL.go),
                            signal_fut(&s->sig, res_future(&s->r),
                                       &SL.queued)));
  SL.b_winner = s->sel.winner;
  if (SL.b_winner == 1)
    res_release(&s->r);
  AX_END();
}

typedef struct {
  ax_async_t co;
  res_wait_t r;
  signal_t sig;
} loser_c_t;

AX_ASYNC(loser_c, loser_c_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(signal_fut(&s->sig, res_future(&s->r), &SL.queued));
  atomic_store(&SL.c_done, 1);
  res_release(&s->r);
  AX_END();
}

typedef struct {
  ax_async_t co;
  int i;
  res_wait_t r;
  ax_yield_t y;
  ax_join_t h[2];
  th_joins_t j;
} loser_main_t;

AX_ASYNC(loser_main, loser_main_t, s) {
  AX_BEGIN(s);
  if (SL.kind == RES_MUTEX)
    AX_AWAIT(ax_mutex_lock(&s->r.g, &SL.m));
  else if (SL.kind == RES_SEMAPHORE)
    AX_AWAIT(ax_semaphore_acquire(&s->r.p, &SL.sem, 1));
  {
    loser_b_t b = {0};
    AX_SPAWN(loser_b, &b, &s->h[0]);
  }
  while (atomic_load(&SL.queued) < 1)
    AX_AWAIT(ax_yield_now(&s->y));
  {
    loser_c_t c = {0};
    AX_SPAWN(loser_c, &c, &s->h[1]);
  }
  while (atomic_load(&SL.queued) < 2)
    AX_AWAIT(ax_yield_now(&s->y));
  /* Hand the resource to B's waiter, then make B's other branch ready. */
  if (SL.kind == RES_NOTIFY)
    ax_notify_one(&SL.res);
  else
    res_release(&s->r);
  ax_notify_one(&SL.go);
  JOIN_ALL(s, s->h, 2);
  AX_END();
}

START_TEST(select_loser_rt) {
  int kind;
  for (kind = RES_MUTEX; kind <= RES_NOTIFY; kind++) {
    loser_main_t mainf = {0};
    ax_permit_t p;
    SL.kind = kind;
    atomic_store(&SL.queued, 0);
    atomic_store(&SL.c_done, 0);
    SL.b_winner = -1;
    ax_mutex_init(&SL.m);
    ax_semaphore_init(&SL.sem, 1);
    ax_notify_init(&SL.res);
    ax_notify_init(&SL.go);
    run_checked(_i, AX_FUTURE(loser_main, &mainf));
    ck_assert_int_eq(atomic_load(&SL.c_done), 1);
    if (_i == 0)  /* deterministic: the pass-on path was taken */
      ck_assert_int_eq(SL.b_winner, 0);
    ck_assert(!ax_mutex_is_locked(&SL.m));
    ck_assert_uint_eq(ax_semaphore_available(&SL.sem), 1);
    ck_assert_int_eq(ax_semaphore_try_acquire(&p, &SL.sem, 1), 0);
    ax_semaphore_release(&p);
    ax_mutex_destroy(&SL.m);
    ax_semaphore_destroy(&SL.sem);
    ax_notify_destroy(&SL.res);
    ax_notify_destroy(&SL.go);
  }
}
END_TEST

/* ---- semaphore stress with cancellation -----------------------------------
 * Tasks race acquire(k) against a yield (select): many acquires are
 * dropped while queued or just after being handed permits.  No permit may
 * be lost or duplicated: in-use never exceeds the total, every task ends
 * (no lost wake-up), and all permits are back at the end. */

#define SEM_TOTAL 4
static struct {
  ax_semaphore_t sem;
  atomic_int in_use;
  atomic_int over;
  atomic_long acquired;
  unsigned long rounds;
} SS;

typedef struct {
  ax_async_t co;
  unsigned long i;
  uint32_t rng;
  size_t k;
  ax_select_t sel;
  ax_permit_t p;
  ax_yield_t y;
} sem_task_t;

AX_ASYNC(sem_task, sem_task_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < SS.rounds; s->i++) {
    s->rng = s->rng * 1103515245u + 12345u;
    s->k = 1 + (s->rng >> 16) % 3;
    AX_AWAIT(ax_select(&s->sel, ax_semaphore_acquire(&s->p, &SS.sem, s->k),
                       ax_yield_now(&s->y)));
    if (s->sel.winner == 0) {
      if (atomic_fetch_add(&SS.in_use, (int)s->k) + (int)s->k > SEM_TOTAL)
        atomic_store(&SS.over, 1);
      atomic_fetch_add(&SS.acquired, 1);
      AX_AWAIT(ax_yield_now(&s->y));
      atomic_fetch_sub(&SS.in_use, (int)s->k);
      ax_semaphore_release(&s->p);
    }
  }
  AX_END();
}

static ax_future_t *make_sem_task(void *buf, size_t i) {
  sem_task_t *t = buf;
  t->rng = 77u + (uint32_t)i;
  return AX_FUTURE(sem_task, t);
}

START_TEST(semaphore_stress_rt) {
  ax_semaphore_init(&SS.sem, SEM_TOTAL);
  atomic_store(&SS.in_use, 0);
  atomic_store(&SS.over, 0);
  atomic_store(&SS.acquired, 0);
  SS.rounds = ax_test_iters(3000);
  th_run_tasks(_i, WORKERS, make_sem_task, sizeof(sem_task_t), 8);
  ck_assert_int_eq(atomic_load(&SS.over), 0);
  ck_assert_int_gt(atomic_load(&SS.acquired), 0);
  ck_assert_uint_eq(ax_semaphore_available(&SS.sem), SEM_TOTAL);
  ax_semaphore_destroy(&SS.sem);
}
END_TEST

/* ---- rwlock: a writer is not starved by a stream of readers -------------
 * Readers hold the read lock across a yield and overlap, so the lock is
 * never free.  Once the writer has queued, a fair lock lets no new reader
 * in; an unfair one would let them in forever.  Reads granted after the
 * writer queued are counted (not time: the writer's thread may be slow to
 * get a CPU): a few may race with its arrival, RW_CAP means starvation. */

#define RW_READERS 4
#define RW_CAP 1000
static struct {
  ax_rwlock_t rw;
  atomic_int writer_queued;
  atomic_int late_reads;
  atomic_int writer_done;
  atomic_int starved;
  atomic_int readers_in;
  atomic_int violation;
  atomic_int reads;
} RW;

typedef struct {
  ax_async_t co;
  ax_rwlock_guard_t g;
  ax_yield_t y;
} reader_t;

AX_ASYNC(reader_task, reader_t, s) {
  AX_BEGIN(s);
  while (!atomic_load(&RW.writer_done) && !atomic_load(&RW.starved)) {
    AX_AWAIT(ax_rwlock_read(&s->g, &RW.rw));
    if (atomic_load(&RW.writer_queued) &&
        atomic_fetch_add(&RW.late_reads, 1) + 1 >= RW_CAP)
      atomic_store(&RW.starved, 1);
    atomic_fetch_add(&RW.readers_in, 1);
    atomic_fetch_add(&RW.reads, 1);
    AX_AWAIT(ax_yield_now(&s->y));  /* readers overlap: always one inside */
    atomic_fetch_sub(&RW.readers_in, 1);
    ax_rwlock_unlock(&s->g);
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_rwlock_guard_t g;
  ax_yield_t y;
  signal_t sig;
} writer_t;

AX_ASYNC(writer_task, writer_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(signal_fut(&s->sig, ax_rwlock_write(&s->g, &RW.rw),
                      &RW.writer_queued));
  if (atomic_load(&RW.readers_in) != 0)
    atomic_store(&RW.violation, 1);
  AX_AWAIT(ax_yield_now(&s->y));
  if (atomic_load(&RW.readers_in) != 0)
    atomic_store(&RW.violation, 1);
  atomic_store(&RW.writer_done, 1);
  ax_rwlock_unlock(&s->g);
  AX_END();
}

typedef struct {
  ax_async_t co;
  int i;
  ax_yield_t y;
  ax_join_t h[RW_READERS + 1];
  th_joins_t j;
} rw_main_t;

AX_ASYNC(rw_main, rw_main_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < RW_READERS; s->i++) {
    reader_t r = {0};
    AX_SPAWN(reader_task, &r, &s->h[s->i]);
  }
  /* Let the readers get going before the writer arrives. */
  while (atomic_load(&RW.reads) < 2 * RW_READERS)
    AX_AWAIT(ax_yield_now(&s->y));
  {
    writer_t w = {0};
    AX_SPAWN(writer_task, &w, &s->h[RW_READERS]);
  }
  JOIN_ALL(s, s->h, RW_READERS + 1);
  AX_END();
}

START_TEST(rwlock_writer_not_starved_rt) {
  rw_main_t mainf = {0};
  memset(&RW, 0, sizeof RW);
  ax_rwlock_init(&RW.rw, 0);
  run_checked(_i, AX_FUTURE(rw_main, &mainf));
  ck_assert_int_eq(atomic_load(&RW.writer_done), 1);
  ck_assert_int_eq(atomic_load(&RW.starved), 0);
  ck_assert_int_eq(atomic_load(&RW.violation), 0);
  ax_rwlock_destroy(&RW.rw);
}
END_TEST

/* ---- notify on the runtime ---------------------------------------------- */

#define NW 5
static struct {
  ax_notify_t ping, pong, all;
  atomic_int ready;
  atomic_int woken;
  unsigned long rounds;
  unsigned long pongs;  /* written by the ponger only */
} NT;

typedef struct {
  ax_async_t co;
  ax_notify_wait_t f;
} nwait_t;

AX_ASYNC(nwait_task, nwait_t, s) {
  AX_BEGIN(s);
  /* Created before announcing readiness: a notify_waiters from now on
   * counts for it even if it was not polled yet. */
  ax_notify_wait(&s->f, &NT.all);
  atomic_fetch_add(&NT.ready, 1);
  AX_AWAIT(&s->f.base);
  atomic_fetch_add(&NT.woken, 1);
  AX_END();
}

typedef struct {
  ax_async_t co;
  unsigned long i;
  ax_notify_wait_t f;
} pinger_t;

AX_ASYNC(pinger, pinger_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < NT.rounds; s->i++) {
    ax_notify_one(&NT.ping);  /* stored as a permit if pong is not there */
    AX_AWAIT(ax_notify_wait(&s->f, &NT.pong));
  }
  AX_END();
}

AX_ASYNC(ponger, pinger_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < NT.rounds; s->i++) {
    AX_AWAIT(ax_notify_wait(&s->f, &NT.ping));
    NT.pongs++;
    ax_notify_one(&NT.pong);
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  int i;
  ax_yield_t y;
  ax_join_t h[NW + 2];
  th_joins_t j;
} notify_main_t;

AX_ASYNC(notify_main, notify_main_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < NW; s->i++) {
    nwait_t w = {0};
    AX_SPAWN(nwait_task, &w, &s->h[s->i]);
  }
  while (atomic_load(&NT.ready) < NW)
    AX_AWAIT(ax_yield_now(&s->y));
  ax_notify_waiters(&NT.all);
  {
    pinger_t p = {0};
    AX_SPAWN(pinger, &p, &s->h[NW]);
    AX_SPAWN(ponger, &p, &s->h[NW + 1]);
  }
  JOIN_ALL(s, s->h, NW + 2);
  AX_END();
}

START_TEST(notify_rt) {
  notify_main_t mainf = {0};
  ax_notify_init(&NT.ping);
  ax_notify_init(&NT.pong);
  ax_notify_init(&NT.all);
  atomic_store(&NT.ready, 0);
  atomic_store(&NT.woken, 0);
  NT.rounds = ax_test_iters(2000);
  NT.pongs = 0;
  run_checked(_i, AX_FUTURE(notify_main, &mainf));
  ck_assert_int_eq(atomic_load(&NT.woken), NW);
  ck_assert_uint_eq(NT.pongs, NT.rounds);
  ax_notify_destroy(&NT.ping);
  ax_notify_destroy(&NT.pong);
  ax_notify_destroy(&NT.all);
}
END_TEST

/* ---- barrier: one leader per generation --------------------------------- */

#define BP 6
static struct {
  ax_barrier_t b;
  atomic_int leaders;
  unsigned long gens;
} BR;

typedef struct {
  ax_async_t co;
  unsigned long i;
  ax_barrier_wait_t w;
} bar_task_t;

AX_ASYNC(bar_task, bar_task_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < BR.gens; s->i++) {
    AX_AWAIT(ax_barrier_wait(&s->w, &BR.b));
    if (s->w.is_leader)
      atomic_fetch_add(&BR.leaders, 1);
  }
  AX_END();
}

static ax_future_t *make_bar_task(void *buf, size_t i) {
  (void)i;
  return AX_FUTURE(bar_task, (bar_task_t *)buf);
}

START_TEST(barrier_rt) {
  ax_barrier_init(&BR.b, BP);
  atomic_store(&BR.leaders, 0);
  BR.gens = ax_test_iters(200);
  th_run_tasks(_i, WORKERS, make_bar_task, sizeof(bar_task_t), BP);
  ck_assert_int_eq(atomic_load(&BR.leaders), (int)BR.gens);
  ax_barrier_destroy(&BR.b);
}
END_TEST

/* ---- oncecell: init once; a cancelled initialiser is taken over --------- */

#define OC_TASKS 12
static int OC_VALUE_A, OC_VALUE_B;
static struct {
  ax_oncecell_t cell;
  ax_notify_t never;        /* never notified: blocks an init forever */
  atomic_int init_runs;     /* inits that started */
  atomic_int init_drops;    /* init futures dropped */
  atomic_int blocker_running;
  atomic_int queued;
  atomic_int wrong_value;
} OC;

/* An async init: counts, yields a few times, then yields its value. */
typedef struct {
  ax_async_t co;
  int i;
  int block;           /* 1: wait forever (to be cancelled) */
  void *value;         /* input */
  void *out;           /* output */
  ax_yield_t y;
  ax_notify_wait_t n;
} oc_init_t;

AX_ASYNC_DROP(oc_init_drop, oc_init_t, s) {
  (void)s;
  atomic_fetch_add(&OC.init_drops, 1);
}

AX_ASYNC(oc_init, oc_init_t, s) {
  AX_BEGIN(s);
  atomic_fetch_add(&OC.init_runs, 1);
  if (s->block) {
    atomic_store(&OC.blocker_running, 1);
    AX_AWAIT(ax_notify_wait(&s->n, &OC.never));
  }
  for (s->i = 0; s->i < 3; s->i++)
    AX_AWAIT(ax_yield_now(&s->y));
  s->out = s->value;
  AX_END();
}

typedef struct {
  ax_async_t co;
  oc_init_t init;
  ax_oncecell_get_t get;
  signal_t sig;
  void *expect;
} oc_task_t;

AX_ASYNC(oc_task, oc_task_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(signal_fut(&s->sig,
                      ax_oncecell_get_or_init(
                          &s->get, &OC.cell,
                          AX_FUTURE_DROP(oc_init, oc_init_drop, &s->init),
                          &s->init.out),
                      &OC.queued));
  if (s->get.result != 0 || s->get.value != s->expect)
    atomic_store(&OC.wrong_value, 1);
  AX_END();
}

typedef struct {
  ax_async_t co;
  int i;
  ax_yield_t y;
  ax_join_t h[OC_TASKS];
  ax_join_t blocker;
  th_joins_t j;
} oc_main_t;

static void oc_spawn(ax_join_t *h, int block, void *value, void *expect) {
  oc_task_t t = {0};
  t.init.block = block;
  t.init.value = value;
  t.expect = expect;
  AX_SPAWN(oc_task, &t, h);
}

/* Many concurrent callers: one init runs. */
AX_ASYNC(oc_main_once, oc_main_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < OC_TASKS; s->i++)
    oc_spawn(&s->h[s->i], 0, &OC_VALUE_A, &OC_VALUE_A);
  JOIN_ALL(s, s->h, OC_TASKS);
  AX_END();
}

/* The running initialiser is aborted: a queued caller takes over. */
AX_ASYNC(oc_main_cancel, oc_main_t, s) {
  AX_BEGIN(s);
  oc_spawn(&s->blocker, 1, &OC_VALUE_A, NULL);
  while (!atomic_load(&OC.blocker_running))
    AX_AWAIT(ax_yield_now(&s->y));
  oc_spawn(&s->h[0], 0, &OC_VALUE_B, &OC_VALUE_B);
  while (atomic_load(&OC.queued) < 2)  /* blocker + h[0] are waiting */
    AX_AWAIT(ax_yield_now(&s->y));
  ax_abort(&s->blocker);
  AX_AWAIT(ax_join_wait(&s->blocker));
  if (s->blocker.result != AX_ECANCELED)
    atomic_fetch_add(&join_errors, 1);
  ax_join_drop(&s->blocker);
  JOIN_ALL(s, s->h, 1);
  AX_END();
}

static void oc_setup(void) {
  memset(&OC, 0, sizeof OC);
  ax_oncecell_init(&OC.cell, NULL);
  ax_notify_init(&OC.never);
}

START_TEST(oncecell_once_rt) {
  oc_main_t mainf = {0};
  oc_setup();
  run_checked(_i, AX_FUTURE(oc_main_once, &mainf));
  ck_assert_int_eq(atomic_load(&OC.wrong_value), 0);
  ck_assert_int_eq(atomic_load(&OC.init_runs), 1);
  ck_assert_int_eq(atomic_load(&OC.init_drops), OC_TASKS);
  ck_assert_ptr_eq(ax_oncecell_get(&OC.cell), &OC_VALUE_A);
  ax_oncecell_destroy(&OC.cell);
  ax_notify_destroy(&OC.never);
}
END_TEST

START_TEST(oncecell_cancelled_init_rt) {
  oc_main_t mainf = {0};
  oc_setup();
  run_checked(_i, AX_FUTURE(oc_main_cancel, &mainf));
  ck_assert_int_eq(atomic_load(&OC.wrong_value), 0);
  ck_assert_int_eq(atomic_load(&OC.init_runs), 2);
  ck_assert_int_eq(atomic_load(&OC.init_drops), 2);
  ck_assert_ptr_eq(ax_oncecell_get(&OC.cell), &OC_VALUE_B);
  ax_oncecell_destroy(&OC.cell);
  ax_notify_destroy(&OC.never);
}
END_TEST

Suite *ax_sync_suite(void) {
  return AX_SUITE("sync",
                  AX_CASE("waitq", 0),
                  AX_ONCE(waitq_wake_one_n_all),
                  AX_ONCE(waitq_cancel_passes_wakeup),
                  AX_CASE("hand", 0),
                  AX_ONCE(mutex_fifo_hand),
                  AX_ONCE(mutex_cancel_hand),
                  AX_ONCE(semaphore_fifo_hand),
                  AX_ONCE(semaphore_cancel_head_hand),
                  AX_ONCE(semaphore_close_hand),
                  AX_ONCE(rwlock_fair_hand),
                  AX_ONCE(notify_permit_hand),
                  AX_ONCE(notify_cancel_hand),
                  AX_ONCE(barrier_hand),
                  AX_ONCE(oncecell_hand),
                  AX_CASE("runtime", 30),
                  AX_FLAVOURS(mutex_counter_rt),
                  AX_FLAVOURS(mutex_fifo_rt),
                  AX_FLAVOURS(select_loser_rt),
                  AX_FLAVOURS(semaphore_stress_rt),
                  AX_FLAVOURS(rwlock_writer_not_starved_rt),
                  AX_FLAVOURS(notify_rt),
                  AX_FLAVOURS(barrier_rt),
                  AX_FLAVOURS(oncecell_once_rt),
                  AX_FLAVOURS(oncecell_cancelled_init_rt));
}
