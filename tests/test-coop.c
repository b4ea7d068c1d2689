/* The cooperative budget (src/task/coop.h): a task whose awaits are always
 * ready yields after AX_COOP_UNITS of them, so its worker's other tasks,
 * timers and I/O run.  The order tests use the current-thread runtime,
 * which is first in first out: a task spawned by the looping task runs
 * exactly when the loop first yields, and records how far it had got.  The
 * starvation tests would hang (and hit Check's timeout) without a budget.
 * Nothing is timed. */
#include "helpers.h"

#define AX_COOP_UNITS 128   /* documented in axle/task.h */
#define LOOP_N 1000

static _Atomic long progress;   /* operations the looping task completed */
static _Atomic long seen_at;    /* progress when the observer ran; -1 not yet */

typedef struct {
  ax_async_t co;
} observer_t;

AX_ASYNC(observer, observer_t, s) {
  AX_BEGIN(s);
  atomic_store(&seen_at, atomic_load(&progress));
  AX_END();
}

static void reset(void) {
  atomic_store(&progress, 0);
  atomic_store(&seen_at, -1);
}

static void spawn_observer(ax_join_t *h) {
  observer_t o = {0};
  ck_assert_int_eq(AX_SPAWN(observer, &o, h), 0);
}

/* ---- always-ready loops yield after the budget ------------------------- */

enum { K_RECV, K_MUTEX, K_SLEEP0, K_CONSUME, K_ONESHOT };

typedef struct {
  ax_async_t co;
  int kind;
  long i;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_t recv;
  int v;
  ax_mutex_t m;
  ax_mutex_guard_t g;
  ax_sleep_t sl;
  ax_consume_budget_t cb;
  ax_oneshot_tx_t *otx;
  ax_oneshot_rx_t *orx;
  ax_oneshot_recv_t orecv;
  ax_join_t obs;
} loop_t;

AX_ASYNC(ready_loop, loop_t, s) {
  AX_BEGIN(s);
  if (s->kind == K_RECV) {
    ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(int), NULL, &s->tx, &s->rx), 0);
    for (s->v = 0; s->v < LOOP_N; s->v++)
      ck_assert_int_eq(ax_mpsc_try_send(s->tx, &s->v), 0);
  }
  if (s->kind == K_MUTEX) ax_mutex_init(&s->m);
  spawn_observer(&s->obs);
  for (s->i = 0; s->i < LOOP_N; s->i++) {
    /* An if chain, not a switch: AX_AWAIT is itself a case label. */
    if (s->kind == K_RECV) {
      AX_AWAIT(ax_mpsc_recv(&s->recv, s->rx, &s->v));
      ck_assert_int_eq(s->recv.result, 0);
      ck_assert_int_eq(s->v, (int)s->i);
    } else if (s->kind == K_MUTEX) {
      AX_AWAIT(ax_mutex_lock(&s->g, &s->m));
      ax_mutex_unlock(&s->g);
    } else if (s->kind == K_SLEEP0) {
      AX_AWAIT(ax_sleep(&s->sl, 0));
    } else if (s->kind == K_CONSUME) {
      AX_AWAIT(ax_consume_budget(&s->cb));
    } else {
      int one = 1;
      ck_assert_int_eq(ax_oneshot_new(sizeof(int), NULL, &s->otx, &s->orx), 0);
      ck_assert_int_eq(ax_oneshot_send(s->otx, &one), 0);
      AX_AWAIT(ax_oneshot_recv(&s->orecv, s->orx, &s->v));
      ck_assert_int_eq(s->orecv.result, 0);
      ax_oneshot_receiver_drop(s->orx);
    }
    atomic_store(&progress, s->i + 1);
  }
  AX_AWAIT(ax_join_wait(&s->obs));
  ax_join_drop(&s->obs);
  if (s->kind == K_RECV) {
    ax_mpsc_sender_drop(s->tx);
    ax_mpsc_receiver_drop(s->rx);
  }
  if (s->kind == K_MUTEX) ax_mutex_destroy(&s->m);
  AX_END();
}

/* Runs the loop of this kind (inside ax_unconstrained when asked) on a
 * current-thread runtime; returns how far it had got when the observer
 * ran. */
static long run_loop_as(int kind, int unconstrained) {
  loop_t l = {0};
  ax_unconstrained_t u;
  ax_future_t *f = AX_FUTURE(ready_loop, &l);
  l.kind = kind;
  reset();
  th_run(CURRENT, 0, unconstrained ? ax_unconstrained(&u, f) : f);
  ck_assert_int_eq(atomic_load(&progress), LOOP_N);
  return atomic_load(&seen_at);
}

static long run_loop(int kind) { return run_loop_as(kind, 0); }

START_TEST(recv_loop_yields) { ck_assert_int_eq(run_loop(K_RECV), AX_COOP_UNITS); }
END_TEST
START_TEST(mutex_loop_yields) { ck_assert_int_eq(run_loop(K_MUTEX), AX_COOP_UNITS); }
END_TEST
START_TEST(due_sleep_loop_yields) { ck_assert_int_eq(run_loop(K_SLEEP0), AX_COOP_UNITS); }
END_TEST
START_TEST(consume_budget_yields) { ck_assert_int_eq(run_loop(K_CONSUME), AX_COOP_UNITS); }
END_TEST
START_TEST(oneshot_loop_yields) { ck_assert_int_eq(run_loop(K_ONESHOT), AX_COOP_UNITS); }
END_TEST

/* A finished join handle is a ready await too (re-awaited here through a
 * private field, to have many ready joins on one task). */
typedef struct {
  ax_async_t co;
  long i;
  ax_join_t h;
  ax_join_t obs;
} joins_t;

AX_ASYNC(join_loop, joins_t, s) {
  AX_BEGIN(s);
  {
    th_task_t t;   /* done at its first poll (no yields) */
    ck_assert_int_eq(ax_spawn(th_task(&t, 0, 0), sizeof(t), &s->h), 0);
  }
  AX_AWAIT(ax_join_wait(&s->h));   /* now finished: every await is ready */
  AX_YIELD();                      /* a fresh poll, a full budget */
  spawn_observer(&s->obs);
  for (s->i = 0; s->i < LOOP_N; s->i++) {
    s->h.consumed = 0;   /* private field: re-await the same finished task */
    AX_AWAIT(ax_join_wait(&s->h));
    atomic_store(&progress, s->i + 1);
  }
  ax_join_drop(&s->h);
  AX_AWAIT(ax_join_wait(&s->obs));
  ax_join_drop(&s->obs);
  AX_END();
}

START_TEST(join_loop_yields) {
  joins_t j = {0};
  reset();
  th_run(CURRENT, 0, AX_FUTURE(join_loop, &j));
  ck_assert_int_eq(atomic_load(&seen_at), AX_COOP_UNITS);
}
END_TEST

/* ---- ax_unconstrained: no yield ------------------------------------------ */

START_TEST(unconstrained_never_yields) {
  /* The budget loop, unconstrained: the observer runs only at its end. */
  ck_assert_int_eq(run_loop_as(K_CONSUME, 1), LOOP_N);
  /* The same loop without the wrapper does yield. */
  ck_assert_int_eq(run_loop(K_CONSUME), AX_COOP_UNITS);
}
END_TEST

/* ---- a busy task cannot starve its worker's timers ---------------------- */

static _Atomic int stop_flag;

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_t recv;
  int v;
  long loops;
} spinner_t;

/* Sends to itself and receives, forever: every await is ready at once.
 * Only the budget lets the worker reach the timer that stops it. */
AX_ASYNC(spinner, spinner_t, s) {
  AX_BEGIN(s);
  ck_assert_int_eq(ax_mpsc_new_unbounded(sizeof(int), NULL, &s->tx, &s->rx), 0);
  while (!atomic_load(&stop_flag)) {
    ck_assert_int_eq(ax_mpsc_try_send(s->tx, &s->v), 0);
    AX_AWAIT(ax_mpsc_recv(&s->recv, s->rx, &s->v));
    s->loops++;
  }
  ax_mpsc_sender_drop(s->tx);
  ax_mpsc_receiver_drop(s->rx);
  AX_END();
}

static void stop(void) { atomic_store(&stop_flag, 1); }

/* Task 0 sets stop_flag after a 5 ms sleep (th_ticker), task 1 spins. */
static ax_future_t *make_starve(void *buf, size_t i) {
  return i == 0 ? th_ticker(buf, 1, 5, stop)
                : AX_FUTURE(spinner, (spinner_t *)buf);
}

static void run_starve(int multi) {
  union { th_ticker_t t; spinner_t s; } task;
  atomic_store(&stop_flag, 0);
  /* One worker: nobody else to help. */
  th_run_tasks(multi, 1, make_starve, sizeof(task), 2);
  ck_assert_int_eq(atomic_load(&stop_flag), 1);
}

START_TEST(busy_task_does_not_starve_timers_current) { run_starve(0); }
END_TEST
START_TEST(busy_task_does_not_starve_timers_multi) { run_starve(1); }
END_TEST

/* ---- outside a runtime everything proceeds ----------------------------- */

START_TEST(no_budget_outside_runtime) {
  th_cx_t c;
  int i;
  th_cx_init(&c);
  ck_assert_int_eq(ax_coop_has_budget(), 1);
  for (i = 0; i < 10 * AX_COOP_UNITS; i++)
    ck_assert_int_eq(ax_coop_proceed(&c.cx), 1);
  ax_coop_refund(&c.cx);
  ck_assert_int_eq(c.w.wakes, 0);
}
END_TEST

Suite *ax_coop_suite(void) {
  return AX_SUITE("coop",
                  AX_CASE("budget", 20),
                  AX_ONCE(recv_loop_yields),
                  AX_ONCE(mutex_loop_yields),
                  AX_ONCE(due_sleep_loop_yields),
                  AX_ONCE(consume_budget_yields),
                  AX_ONCE(oneshot_loop_yields),
                  AX_ONCE(join_loop_yields),
                  AX_ONCE(unconstrained_never_yields),
                  AX_ONCE(busy_task_does_not_starve_timers_current),
                  AX_ONCE(busy_task_does_not_starve_timers_multi),
                  AX_ONCE(no_budget_outside_runtime));
}
