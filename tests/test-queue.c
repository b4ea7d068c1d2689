/* The worker's local run queue (src/runtime/queue.h), tested directly:
 * FIFO order, overflow of half the queue, stealing half, and the case that
 * used to hand out stale slots (thieves emptying part of a full queue
 * between the owner's failed push and its overflow).  The last test runs
 * an owner and thieves on real threads and checks that every task comes
 * out exactly once; it is meant for the TSan setup as much as the plain
 * one.  Tasks here are bare headers: the queue only moves pointers. */
#include <string.h>
#include <uv.h>

#include "axtest.h"
#include "runtime/inject.h"
#include "runtime/queue.h"

#define CAP AX__LQ_CAP

static ax__task_t *tasks_new(size_t n) {
  ax__task_t *v = calloc(n, sizeof(*v));
  size_t i;
  ck_assert_ptr_nonnull(v);
  for (i = 0; i < n; i++) v[i].id = i;
  return v;
}

static void fill(ax__lqueue_t *q, ax__task_t *v, size_t from, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) ck_assert_int_eq(ax__lq_push(q, &v[from + i]), 0);
}

START_TEST(fifo_and_full) {
  static ax__lqueue_t q;
  ax__task_t *v = tasks_new(CAP + 1);
  size_t i;
  ax__lq_init(&q);
  ck_assert_ptr_null(ax__lq_pop(&q));
  fill(&q, v, 0, CAP);
  ck_assert_uint_eq(ax__lq_len(&q), CAP);
  ck_assert_uint_eq(ax__lq_room(&q), 0);
  ck_assert_int_eq(ax__lq_push(&q, &v[CAP]), -1);
  for (i = 0; i < CAP; i++) ck_assert_ptr_eq(ax__lq_pop(&q), &v[i]);
  ck_assert_ptr_null(ax__lq_pop(&q));
  ck_assert_uint_eq(ax__lq_room(&q), CAP);
  free(v);
}
END_TEST

START_TEST(overflow_moves_the_oldest_half) {
  static ax__lqueue_t q;
  ax__task_t *v = tasks_new(CAP + 1), *batch[CAP / 2 + 1];
  uint32_t n, i;
  ax__lq_init(&q);
  fill(&q, v, 0, CAP);
  n = ax__lq_push_overflow(&q, &v[CAP], batch);
  ck_assert_uint_eq(n, CAP / 2 + 1);
  for (i = 0; i < n; i++)
    ck_assert_ptr_eq(batch[i], i < CAP / 2 ? &v[i] : &v[CAP]);
  /* The newer half stays, in order. */
  ck_assert_uint_eq(ax__lq_len(&q), CAP / 2);
  for (i = CAP / 2; i < CAP; i++) ck_assert_ptr_eq(ax__lq_pop(&q), &v[i]);
  ck_assert_ptr_null(ax__lq_pop(&q));
  free(v);
}
END_TEST

START_TEST(steal_takes_half) {
  static ax__lqueue_t src, dst;
  ax__task_t *v = tasks_new(10), *t;
  uint32_t i;
  ax__lq_init(&src);
  ax__lq_init(&dst);
  fill(&src, v, 0, 10);
  /* Half (rounded up) moves: the thief runs the last one it took. */
  t = ax__lq_steal_into(&src, &dst);
  ck_assert_ptr_eq(t, &v[4]);
  ck_assert_uint_eq(ax__lq_len(&dst), 4);
  ck_assert_uint_eq(ax__lq_len(&src), 5);
  for (i = 0; i < 4; i++) ck_assert_ptr_eq(ax__lq_pop(&dst), &v[i]);
  for (i = 5; i < 10; i++) ck_assert_ptr_eq(ax__lq_pop(&src), &v[i]);
  ck_assert_ptr_null(ax__lq_steal_into(&src, &dst));
  free(v);
}
END_TEST

/* Regression: the owner's push found the queue full; before its overflow
 * ran, two thieves took 128 and then 64 tasks.  The overflow used to move
 * 128 tasks anyway: 64 real ones and 64 stale slots (tasks already run, in
 * the runtime possibly freed), and left `real` past `tail`. */
START_TEST(overflow_after_steals_takes_nothing_stale) {
  static ax__lqueue_t q, a, b;
  ax__task_t *v = tasks_new(CAP + 1), *batch[CAP / 2 + 1], *t;
  uint32_t n, seen = 0;
  ax__lq_init(&q);
  ax__lq_init(&a);
  ax__lq_init(&b);
  fill(&q, v, 0, CAP);
  ck_assert_int_eq(ax__lq_push(&q, &v[CAP]), -1);  /* the failed push */
  ck_assert_ptr_nonnull(ax__lq_steal_into(&q, &a));
  ck_assert_ptr_nonnull(ax__lq_steal_into(&q, &b));
  ck_assert_uint_eq(ax__lq_len(&q), CAP / 4);
  n = ax__lq_push_overflow(&q, &v[CAP], batch);
  ck_assert_uint_eq(n, 0);  /* room again: push instead */
  ck_assert_uint_eq(ax__lq_len(&q), CAP / 4);
  ck_assert_int_eq(ax__lq_push(&q, &v[CAP]), 0);
  while ((t = ax__lq_pop(&q)) != NULL) {
    ck_assert_ptr_eq(t, &v[3 * CAP / 4 + seen]);
    seen++;
  }
  ck_assert_uint_eq(seen, CAP / 4 + 1);
  free(v);
}
END_TEST

/* The injection queue: first in first out across its growth, and batches
 * taken while pushes continue (the ring wraps). */
START_TEST(inject_fifo_through_growth) {
  static ax__inject_t q;
  const size_t n = 5000;
  ax__task_t *v = tasks_new(n), *out[64];
  size_t i, pushed = 0, next = 0, k, j;
  ax__inject_init(&q);
  ck_assert_ptr_null(ax__inject_pop(&q));
  while (next < n) {
    /* push 3, take up to 2: the queue grows slowly and wraps often */
    for (j = 0; j < 3 && pushed < n; j++, pushed++) {
      ax__task_t *one = &v[pushed];
      ax__inject_push(&q, &one, 1);
    }
    k = ax__inject_pop_n(&q, out, pushed < n ? 2 : 64);
    for (i = 0; i < k; i++) ck_assert_ptr_eq(out[i], &v[next++]);
    ck_assert_uint_eq(ax__inject_len(&q), pushed - next);
  }
  ck_assert_ptr_null(ax__inject_pop(&q));
  ax__inject_free(&q);
  free(v);
}
END_TEST

/* A burst grows the ring past the size it keeps: emptied, it lets the
 * memory go, and the next push starts small again. */
START_TEST(inject_burst_ring_shrinks) {
  static ax__inject_t q;
  const size_t n = 70000;
  ax__task_t *v = tasks_new(n), *out[64];
  size_t i, k, got = 0;
  ax__inject_init(&q);
  for (i = 0; i < n; i++) {
    ax__task_t *one = &v[i];
    ax__inject_push(&q, &one, 1);
  }
  ck_assert_uint_ge(q.cap, n);
  while ((k = ax__inject_pop_n(&q, out, 64)) > 0)
    for (i = 0; i < k; i++) ck_assert_ptr_eq(out[i], &v[got++]);
  ck_assert_uint_eq(got, n);
  ck_assert_ptr_null(q.buf);
  ck_assert_uint_eq(q.cap, 0);
  {
    ax__task_t *one = &v[0];
    ax__inject_push(&q, &one, 1);
  }
  ck_assert_uint_eq(q.cap, 256);
  ck_assert_ptr_eq(ax__inject_pop(&q), &v[0]);
  ax__inject_free(&q);
  free(v);
}
END_TEST

/* ---- owner against thieves, on threads -------------------------------- */

#define THIEVES 2

typedef struct {
  ax__lqueue_t q;
  ax__task_t *tasks;
  size_t ntasks;
  _Atomic unsigned char *seen;   /* per task: times it came out */
  _Atomic int done;              /* the owner pushed everything */
  _Atomic size_t out;            /* tasks taken so far (all threads) */
} race_t;

static void take(race_t *r, ax__task_t *t) {
  ck_assert_uint_lt(t->id, r->ntasks);
  atomic_fetch_add(&r->seen[t->id], 1);
  atomic_fetch_add(&r->out, 1);
}

typedef struct {
  race_t *r;
  ax__lqueue_t own;
} thief_t;

static void thief_main(void *arg) {
  thief_t *th = arg;
  race_t *r = th->r;
  for (;;) {
    ax__task_t *t = ax__lq_steal_into(&r->q, &th->own);
    if (t != NULL) {
      take(r, t);
      while ((t = ax__lq_pop(&th->own)) != NULL) take(r, t);
    } else if (atomic_load(&r->done) && ax__lq_len(&r->q) == 0) {
      break;
    }
  }
}

/* The owner pushes every task in bursts (overflowing into a list it
 * drains itself, as the injection queue would) and pops now and then. */
static void owner_run(race_t *r) {
  size_t i;
  ax__task_t *t;
  for (i = 0; i < r->ntasks; i++) {
    ax__task_t *batch[CAP / 2 + 1];
    uint32_t n, k;
    t = &r->tasks[i];
    for (;;) {
      if (ax__lq_push(&r->q, t) == 0) break;
      n = ax__lq_push_overflow(&r->q, t, batch);
      if (n == 0) continue;
      for (k = 0; k < n; k++) take(r, batch[k]);
      break;
    }
    if (i % 7 == 0 && (t = ax__lq_pop(&r->q)) != NULL) take(r, t);
  }
  atomic_store(&r->done, 1);
  while ((t = ax__lq_pop(&r->q)) != NULL) take(r, t);
}

START_TEST(owner_and_thieves_each_task_once) {
  static race_t r;
  static thief_t th[THIEVES];
  uv_thread_t tid[THIEVES];
  size_t i, n = ax_test_iters(400000);
  int k;
  memset(&r, 0, sizeof(r));
  ax__lq_init(&r.q);
  r.ntasks = n;
  r.tasks = tasks_new(n);
  r.seen = calloc(n, sizeof(*r.seen));
  ck_assert_ptr_nonnull(r.seen);
  for (k = 0; k < THIEVES; k++) {
    th[k].r = &r;
    ax__lq_init(&th[k].own);
    ck_assert_int_eq(uv_thread_create(&tid[k], thief_main, &th[k]), 0);
  }
  owner_run(&r);
  for (k = 0; k < THIEVES; k++) uv_thread_join(&tid[k]);
  ck_assert_uint_eq(atomic_load(&r.out), n);
  for (i = 0; i < n; i++) ck_assert_uint_eq(atomic_load(&r.seen[i]), 1);
  free(r.seen);
  free(r.tasks);
}
END_TEST

Suite *ax_queue_suite(void) {
  return AX_SUITE("queue",
                  AX_CASE("local", 60),
                  AX_ONCE(fifo_and_full),
                  AX_ONCE(overflow_moves_the_oldest_half),
                  AX_ONCE(steal_takes_half),
                  AX_ONCE(overflow_after_steals_takes_nothing_stale),
                  AX_ONCE(inject_fifo_through_growth),
                  AX_ONCE(inject_burst_ring_shrinks),
                  AX_ONCE(owner_and_thieves_each_task_once));
}
