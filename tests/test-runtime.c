/* Runtimes (include/axle/runtime.h): the builder and its options,
 * ax_runtime_new errors, ax_block_on (and its misuse), ax_main, shutdown in
 * its three forms, worker stats, task dumps, a runtime on the
 * application's own uv loop, the replaceable allocator.
 *
 * Tasks record what they see; the test thread asserts afterwards.
 */
#ifdef __linux__
#  include <dirent.h>
#  include <pthread.h>
#endif
#include <stdio.h>
#include <unistd.h>

#include "helpers.h"

/* ---- small futures ------------------------------------------------------- */

/* The simple task of these tests is th_task (helpers.h) with in = 21: it
 * ends with out = 42 after its yields. */

/* Waits forever on one of several things; counts its first poll and its
 * drop. */
enum { W_NEVER, W_SLEEP, W_JOIN, W_YIELDING };
typedef struct {
  ax_async_t co;
  int how;
  _Atomic int *drops;
  _Atomic int *spawned;
  th_latch_t *started;
  th_leaf_t never;
  ax_sleep_t nap;
  ax_join_t child;
  ax_yield_t y;
} pending_t;

AX_ASYNC_DROP(pending_on_drop, pending_t, t) {
  atomic_fetch_add(t->drops, 1);
}

static int spawn_pending(ax_runtime_t *rt, int how, _Atomic int *drops,
                         _Atomic int *spawned, th_latch_t *started,
                         ax_join_t *h);

AX_ASYNC(pending_fn, pending_t, self) {
  AX_BEGIN(self);
  if (self->started != NULL) th_latch_down(self->started);
  switch (self->how) {
    case W_NEVER:
      break;
    case W_SLEEP:
      break;
    case W_JOIN:
      /* Polled while the runtime shuts down, the spawn fails
       * (AX_ESHUTDOWN): then wait forever like W_NEVER, or this task would
       * complete and its drop would wait for its kept handle. */
      if (spawn_pending(ax_runtime_current(), W_NEVER, self->drops,
                        self->spawned, NULL, &self->child) != 0)
        self->how = W_NEVER;
      break;
    default:
      break;
  }
  /* (one await per kind; a switch may not span an await) */
  if (self->how == W_NEVER) AX_AWAIT(th_leaf(&self->never, NULL, -1, 0));
  if (self->how == W_SLEEP) AX_AWAIT(ax_sleep(&self->nap, 3600u * 1000u));
  if (self->how == W_JOIN) AX_AWAIT(ax_join_wait(&self->child));
  if (self->how == W_YIELDING)
    for (;;) AX_AWAIT(ax_yield_now(&self->y));
  AX_END();
}

static int spawn_pending(ax_runtime_t *rt, int how, _Atomic int *drops,
                         _Atomic int *spawned, th_latch_t *started,
                         ax_join_t *h) {
  pending_t p = {0};
  int rc;
  p.how = how;
  p.drops = drops;
  p.spawned = spawned;
  p.started = started;
  rc = ax_spawn_on(rt, AX_FUTURE_DROP(pending_fn, pending_on_drop, &p),
                   sizeof(p), h);
  if (rc == 0) atomic_fetch_add(spawned, 1);
  return rc;
}

/* ---- builder and creation ------------------------------------------------ */

START_TEST(builder_defaults) {
  ax_builder_t b;
  memset(&b, 0x5A, sizeof(b));
  ax_builder_init(&b, AX_MULTI_THREAD);
  ck_assert_int_eq(b.flavor, AX_MULTI_THREAD);
  ck_assert_uint_eq(b.worker_threads, 0);
  ck_assert_uint_eq(b.max_blocking_threads, 0);
  ck_assert_str_eq(b.thread_name, "axle-worker");
  ck_assert_uint_eq(b.thread_stack_size, 0);
  ck_assert(b.on_thread_start == NULL);  /* a function pointer: not a void * */
  ck_assert(b.on_thread_stop == NULL);  /* a function pointer: not a void * */
  ck_assert_ptr_null(b.hook_arg);
  ck_assert_uint_eq(b.event_interval, 61);
  ck_assert_uint_eq(b.global_queue_interval, 31);
  ck_assert_uint_eq(b.idle_spin_us, 128);
  ck_assert(b.panic_hook == NULL);  /* a function pointer: not a void * */
  ck_assert_ptr_null(b.loop);
  ax_builder_init(&b, AX_CURRENT_THREAD);
  ck_assert_int_eq(b.flavor, AX_CURRENT_THREAD);
}
END_TEST

START_TEST(runtime_new_errors) {
  ax_builder_t b;
  ax_runtime_t *rt = (ax_runtime_t *)&b;  /* garbage: must become NULL */
  uv_loop_t loop;

  ax_builder_init(&b, AX_MULTI_THREAD);
  b.flavor = (ax_flavor_t)7;
  TH_ASSERT_ERR(ax_runtime_new(&b, &rt), AX_EINVAL);
  ck_assert_ptr_null(rt);

  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 1025;
  TH_ASSERT_ERR(ax_runtime_new(&b, &rt), AX_EINVAL);
  ck_assert_ptr_null(rt);

  ax_builder_init(&b, AX_MULTI_THREAD);
  b.max_blocking_threads = 1025;   /* libuv's cap is 1024 */
  TH_ASSERT_ERR(ax_runtime_new(&b, &rt), AX_EINVAL);
  ck_assert_ptr_null(rt);

  /* An existing loop can only drive a current-thread runtime. */
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.loop = &loop;
  TH_ASSERT_ERR(ax_runtime_new(&b, &rt), AX_EINVAL);
  ck_assert_ptr_null(rt);
  ck_assert_int_eq(uv_loop_close(&loop), 0);  /* nothing was left on it */
}
END_TEST

START_TEST(worker_counts) {
  ax_builder_t b;
  ax_runtime_t *rt;
  ax_builder_init(&b, AX_CURRENT_THREAD);
  b.worker_threads = 8;   /* ignored by the current-thread flavour */
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  ck_assert_uint_eq(ax_runtime_workers(rt), 1);
  ax_runtime_free(rt);

  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 3;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  ck_assert_uint_eq(ax_runtime_workers(rt), 3);
  ax_runtime_free(rt);

  ax_builder_init(&b, AX_MULTI_THREAD);   /* default: one per CPU */
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  ck_assert_uint_eq(ax_runtime_workers(rt), uv_available_parallelism());
  ax_runtime_free(rt);

  ax_runtime_free(NULL);  /* harmless */
}
END_TEST

/* ---- block_on ------------------------------------------------------------ */

START_TEST(block_on_keeps_the_future) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  _Atomic int drops = 0;
  th_task_t s;
  ck_assert_ptr_null(ax_runtime_current());
  th_block_on(rt, th_task(&s, 21, 3));
  ck_assert_int_eq(s.out, 42);
  ck_assert_ptr_eq(s.rt, rt);
  ck_assert_ptr_null(ax_runtime_current());  /* only inside */
  ax_drop(AX_FUTURE_OF(&s));

  /* Not dropped by block_on: the caller owns it. */
  {
    pending_t p = {0};
    p.how = -1;   /* no await: ready at once */
    p.drops = &drops;
    TH_ASSERT_OK(ax_block_on(rt, AX_FUTURE_DROP(pending_fn, pending_on_drop,
                                                &p)));
    ck_assert_int_eq(atomic_load(&drops), 0);
    ax_drop(AX_FUTURE_OF(&p));
    ck_assert_int_eq(atomic_load(&drops), 1);
  }
  ax_runtime_free(rt);
}
END_TEST

/* The multi-thread block_on thread has its own loop: a sleep that the
 * block_on thread polls (here the block_on future itself) completes. */
START_TEST(block_on_future_can_sleep) {
  ax_sleep_t nap;
  th_run(_i, 2, ax_sleep(&nap, 1));
  ck_assert_int_eq(ax_sleep_result(&nap), 0);   /* the drop keeps it */
}
END_TEST

/* Current-thread: tasks left unfinished by one block_on go on in the
 * next one. */
typedef struct {
  ax_async_t co;
  th_signal_t *go;
  th_sigwait_t w;
  th_latch_t *done;
} resume_t;

AX_ASYNC(resume_fn, resume_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(th_sigwait(&self->w, self->go, NULL));
  th_latch_down(self->done);
  AX_END();
}

typedef struct {
  ax_async_t co;
  th_signal_t go;
  th_latch_t done;
  th_latchwait_t lw;
  int phase;
  int rc;
} resume_main_t;

AX_ASYNC(resume_main_fn, resume_main_t, self) {
  AX_BEGIN(self);
  if (self->phase == 0) {
    resume_t r = {0};
    r.go = &self->go;
    r.done = &self->done;
    self->rc = AX_SPAWN(resume_fn, &r, NULL);
    AX_RETURN();
  }
  th_signal_fire(&self->go);
  AX_AWAIT(th_latch_wait(&self->lw, &self->done));
  AX_END();
}

START_TEST(block_on_twice) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  resume_main_t m = {0};
  th_signal_init(&m.go);
  th_latch_init(&m.done, 1);
  th_block_on(rt, AX_FUTURE(resume_main_fn, &m));
  TH_ASSERT_OK(m.rc);
  ax_drop(AX_FUTURE_OF(&m));
  m.phase = 1;
  th_block_on(rt, AX_FUTURE(resume_main_fn, &m));
  ck_assert_int_eq(atomic_load(&m.done.count), 0);
  th_finish(rt, AX_FUTURE_OF(&m));
  th_latch_destroy(&m.done);
  th_signal_destroy(&m.go);
}
END_TEST

/* block_on from inside the runtime: from the block_on future and from a
 * task.  The inner future is neither polled nor dropped. */
typedef struct {
  ax_async_t co;
  ax_runtime_t *rt;
  th_counts_t *c;
  int rc;
} nested_task_t;

AX_ASYNC(nested_task_fn, nested_task_t, self) {
  th_leaf_t inner;
  AX_BEGIN(self);
  self->rc = ax_block_on(self->rt, th_leaf(&inner, self->c, 0, 0));
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t h;
  th_counts_t c;
  int rc_main, rc_task;
} nested_main_t;

AX_ASYNC(nested_main_fn, nested_main_t, self) {
  th_leaf_t inner;
  AX_BEGIN(self);
  self->rc_main = ax_block_on(ax_runtime_current(),
                              th_leaf(&inner, &self->c, 0, 0));
  {
    nested_task_t t = {0};
    t.rt = ax_runtime_current();
    t.c = &self->c;
    AX_SPAWN(nested_task_fn, &t, &self->h);
  }
  AX_AWAIT(ax_join_wait(&self->h));
  self->rc_task = ((nested_task_t *)ax_join_output(&self->h))->rc;
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(block_on_nested) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  ax_runtime_t *other = th_runtime(CURRENT, 0, NULL);
  nested_main_t m = {0};
  th_block_on(rt, AX_FUTURE(nested_main_fn, &m));
  ck_assert_int_eq(m.rc_main, AX_ENESTED);
  ck_assert_int_eq(m.rc_task, AX_ENESTED);
  ck_assert_int_eq(atomic_load(&m.c.polls), 0);
  ck_assert_int_eq(atomic_load(&m.c.drops), 0);
  ax_drop(AX_FUTURE_OF(&m));
  /* Also on another runtime: any runtime thread is "inside". */
  {
    nested_task_t t = {0};
    t.rt = other;
    t.c = &m.c;
    th_block_on(rt, AX_FUTURE(nested_task_fn, &t));
    ck_assert_int_eq(t.rc, AX_ENESTED);
    ax_drop(AX_FUTURE_OF(&t));
  }
  ax_runtime_free(other);
  ax_runtime_free(rt);
}
END_TEST

/* A second block_on on the same runtime while one runs on another thread. */
typedef struct {
  ax_runtime_t *rt;
  th_signal_t go;
  th_sigwait_t w;
  _Atomic int inside;
  int rc;
} busy_thread_t;

typedef struct {
  ax_async_t co;
  busy_thread_t *bt;
  th_sigwait_t w;
} busy_main_t;

AX_ASYNC(busy_main_fn, busy_main_t, self) {
  AX_BEGIN(self);
  atomic_store(&self->bt->inside, 1);
  AX_AWAIT(th_sigwait(&self->w, &self->bt->go, NULL));
  AX_END();
}

static void busy_thread(void *arg) {
  busy_thread_t *bt = arg;
  busy_main_t m = {0};
  m.bt = bt;
  bt->rc = ax_block_on(bt->rt, AX_FUTURE(busy_main_fn, &m));
  ax_drop(AX_FUTURE_OF(&m));
}

START_TEST(block_on_busy) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  busy_thread_t bt = {0};
  uv_thread_t thr;
  th_counts_t c = {0};
  th_leaf_t l;
  bt.rt = rt;
  th_signal_init(&bt.go);
  ck_assert_int_eq(uv_thread_create(&thr, busy_thread, &bt), 0);
  while (!atomic_load(&bt.inside)) uv_sleep(1);
  TH_ASSERT_ERR(ax_block_on(rt, th_leaf(&l, &c, 0, 0)), AX_EBUSY);
  ck_assert_int_eq(atomic_load(&c.polls), 0);
  th_signal_fire(&bt.go);
  uv_thread_join(&thr);
  TH_ASSERT_OK(bt.rc);
  ax_runtime_free(rt);
  th_signal_destroy(&bt.go);
}
END_TEST

/* ---- ax_main ------------------------------------------------------------- */

START_TEST(main_convenience) {
  th_task_t s;
  TH_ASSERT_OK(ax_main(th_task(&s, 21, 2)));
  ck_assert_int_eq(s.out, 42);
  ck_assert_ptr_nonnull(s.rt);   /* ran inside a runtime (now gone) */
  ck_assert_uint_eq(s.id, 1);
  ax_drop(AX_FUTURE_OF(&s));
}
END_TEST

typedef struct {
  ax_async_t co;
  int x;
} main_panics_t;

AX_ASYNC(main_panics_fn, main_panics_t, self) {
  AX_BEGIN(self);
  ax_assert(self->x == 1);
  AX_END();
}

START_TEST(main_convenience_panic) {
  main_panics_t m = {0};
  TH_ASSERT_ERR(ax_main(AX_FUTURE(main_panics_fn, &m)), AX_EPANIC);
  ax_drop(AX_FUTURE_OF(&m));
}
END_TEST

/* ---- shutdown ------------------------------------------------------------ */

/* 10,000 pending tasks of several kinds (never-ready, sleeping an hour,
 * awaiting another task, yielding forever), plus tasks never polled:
 * shutdown drops each exactly once and frees everything (the valgrind and
 * ASan setups check the "frees"). */
typedef struct {
  ax_async_t co;
  int n;
  _Atomic int *drops;
  _Atomic int *spawned;
  th_latch_t started;
  th_latchwait_t lw;
  int k;
  int failed;
} many_t;

AX_ASYNC(many_fn, many_t, self) {
  AX_BEGIN(self);
  for (self->k = 0; self->k < self->n; self->k++) {
    /* Yielding forever keeps a worker busy: only a few of those. */
    int how = self->k < 4 ? W_YIELDING : self->k % 3;
    if (spawn_pending(ax_runtime_current(), how, self->drops, self->spawned,
                      &self->started, NULL) != 0)
      self->failed++;
  }
  AX_AWAIT(th_latch_wait(&self->lw, &self->started));
  AX_END();
}

START_TEST(shutdown_drops_pending_tasks) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  _Atomic int drops = 0, spawned = 0;
  ax_join_t kept[3];
  many_t m = {0};
  m.n = 10000;
  m.drops = &drops;
  m.spawned = &spawned;
  th_latch_init(&m.started, m.n);
  th_block_on(rt, AX_FUTURE(many_fn, &m));
  ck_assert_int_eq(m.failed, 0);
  ax_drop(AX_FUTURE_OF(&m));
  /* Every task has started; the W_JOIN ones spawned a child each. */
  ck_assert_int_ge(atomic_load(&spawned), m.n);
  /* A few more from outside, with handles kept past the runtime. */
  for (int k = 0; k < 3; k++)
    TH_ASSERT_OK(spawn_pending(rt, k == 0 ? W_NEVER : k == 1 ? W_SLEEP
                                                              : W_JOIN,
                               &drops, &spawned, NULL, &kept[k]));
  ck_assert_int_eq(atomic_load(&drops), 0);
  ax_runtime_free(rt);
  ck_assert_int_eq(atomic_load(&drops), atomic_load(&spawned));
  for (int k = 0; k < 3; k++) {
    th_cx_t cx;
    th_cx_init(&cx);
    ck_assert_int_eq(ax_join_is_finished(&kept[k]), 1);
    ck_assert_int_eq(TH_POLL(ax_join_wait(&kept[k]), &cx), AX_READY);
    ck_assert_int_eq(kept[k].result, AX_ECANCELED);
    ax_join_drop(&kept[k]);
    ck_assert_int_eq(cx.w.refs, 0);
  }
  ck_assert_int_eq(atomic_load(&drops), atomic_load(&spawned));
  th_latch_destroy(&m.started);
}
END_TEST

/* Spawning on a runtime that is shutting down: a task spins on ax_spawn
 * while the test thread shuts the runtime down; it must see AX_ESHUTDOWN,
 * and every task it did spawn is dropped once. */
typedef struct {
  ax_future_t base;
  _Atomic int *started;
  _Atomic int *drops;
  _Atomic int *spawned;
  int *last_rc;
} spawner_t;

static void leaf_count_drop(ax_future_t *f);

typedef struct {
  th_leaf_t leaf;
  _Atomic int *drops;
} counted_leaf_t;

static void leaf_count_drop(ax_future_t *f) {
  atomic_fetch_add(((counted_leaf_t *)f)->drops, 1);
}

static const ax_future_vtable_t counted_leaf_vt = {th_leaf_poll,
                                                   leaf_count_drop, NULL};

static ax_poll_t spawner_poll(ax_future_t *f, ax_cx_t *cx) {
  spawner_t *s = (spawner_t *)f;
  int rc;
  (void)cx;
  atomic_store(s->started, 1);
  for (;;) {
    counted_leaf_t cl;
    th_leaf(&cl.leaf, NULL, -1, 0);
    cl.leaf.base.vtable = &counted_leaf_vt;
    cl.drops = s->drops;
    rc = ax_spawn(&cl.leaf.base, sizeof(cl), NULL);
    if (rc != 0) break;
    atomic_fetch_add(s->spawned, 1);
  }
  *s->last_rc = rc;
  return AX_READY;
}

static const ax_future_vtable_t spawner_vt = {spawner_poll, NULL, "spawner"};

START_TEST(spawn_during_shutdown) {
  ax_runtime_t *rt = th_runtime(MULTI, 2, NULL);
  _Atomic int started = 0, drops = 0, spawned = 0;
  int last_rc = 0;
  spawner_t sp = {{&spawner_vt}, &started, &drops, &spawned, &last_rc};
  TH_ASSERT_OK(ax_spawn_on(rt, &sp.base, sizeof(sp), NULL));
  while (!atomic_load(&started)) uv_sleep(1);
  ax_runtime_free(rt);
  ck_assert_int_eq(last_rc, AX_ESHUTDOWN);
  ck_assert_int_eq(atomic_load(&drops), atomic_load(&spawned));
}
END_TEST

/* ax_runtime_shutdown_timeout: workers that finish in time -> 0 and all is
 * freed; a worker stuck in a poll -> AX_ETIMEDOUT, the runtime refuses new
 * work (AX_ESHUTDOWN) and is left alive. */
START_TEST(shutdown_timeout_in_time) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  _Atomic int drops = 0, spawned = 0;
  for (int k = 0; k < 100; k++)
    TH_ASSERT_OK(spawn_pending(rt, k % 2 ? W_NEVER : W_SLEEP, &drops,
                               &spawned, NULL, NULL));
  /* A generous bound: the call returns as soon as the workers are done. */
  TH_ASSERT_OK(ax_runtime_shutdown_timeout(rt, 600000));
  ck_assert_int_eq(atomic_load(&drops), 100);
}
END_TEST

/* A blocking job that a shut-down runtime must refuse to start. */
static void *never_runs(void *arg) {
  ck_abort_msg("a shut-down runtime started a blocking job");
  return arg;
}

START_TEST(shutdown_timeout_expires) {
  ax_runtime_t *rt = th_runtime(MULTI, 2, NULL);
  _Atomic int drops = 0, spawned = 0;
  th_hold_t hold;
  th_stuck_t st;
  th_leaf_t l;
  ax_join_t h;
  th_hold_init(&hold);
  TH_ASSERT_OK(ax_spawn_on(rt, th_stuck(&st, &hold), sizeof(st), NULL));
  TH_ASSERT_OK(spawn_pending(rt, W_NEVER, &drops, &spawned, NULL, NULL));
  th_hold_wait(&hold);   /* a worker is stuck in a poll */
  TH_ASSERT_ERR(ax_runtime_shutdown_timeout(rt, 20), AX_ETIMEDOUT);
  /* Shut down, not freed: it refuses new work with a clear error. */
  TH_ASSERT_ERR(ax_spawn_on(rt, th_leaf(&l, NULL, 0, 0), sizeof(l), &h),
                AX_ESHUTDOWN);
  ck_assert_ptr_null(h.task);
  TH_ASSERT_ERR(ax_spawn_blocking_on(rt, never_runs, NULL, NULL), AX_ESHUTDOWN);
  TH_ASSERT_ERR(ax_block_on(rt, &l.base), AX_ESHUTDOWN);
  ck_assert_int_eq(l.polls, 0);
  /* Unblock the worker and finish the shutdown, so that this test leaves
   * nothing behind (the header calls the runtime leaked; finishing it with
   * ax_runtime_free once the worker is free works and is what a careful
   * program would do). */
  th_hold_release(&hold);
  ax_runtime_free(rt);
  ck_assert_int_eq(atomic_load(&drops), 1);
  th_hold_destroy(&hold);
}
END_TEST

/* ax_runtime_shutdown_background: returns at once; the drops happen on
 * another thread, and the worker threads stop. */
typedef struct {
  th_latch_t started;
  _Atomic int stops;
} hooks_t;

static void hook_start(void *arg) { th_latch_down(&((hooks_t *)arg)->started); }
static void hook_stop(void *arg) {
  atomic_fetch_add(&((hooks_t *)arg)->stops, 1);
}

typedef struct {
  ax_future_t base;
  th_latch_t *dropped;
} drop_signal_t;

static ax_poll_t never_poll(ax_future_t *f, ax_cx_t *cx) {
  (void)f;
  (void)cx;
  return AX_PENDING;
}

static void drop_signal_drop(ax_future_t *f) {
  th_latch_down(((drop_signal_t *)f)->dropped);
}

static const ax_future_vtable_t drop_signal_vt = {never_poll,
                                                  drop_signal_drop, NULL};

START_TEST(shutdown_background) {
  /* Static, one per loop iteration: the runtime's threads may still touch
   * them after the test returns (CK_FORK=no runs every test in one
   * process). */
  static hooks_t hooks_[2];
  static th_latch_t dropped_[2];
  hooks_t *hooks = &hooks_[_i];
  th_latch_t *dropped = &dropped_[_i];
  ax_builder_t b;
  ax_runtime_t *rt;
  const int n = 1000;
  th_latch_init(&hooks->started, 2);
  atomic_init(&hooks->stops, 0);
  th_latch_init(dropped, n);
  ax_builder_init(&b, _i ? AX_MULTI_THREAD : AX_CURRENT_THREAD);
  b.worker_threads = 2;
  b.on_thread_start = hook_start;
  b.on_thread_stop = hook_stop;
  b.hook_arg = hooks;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  for (int k = 0; k < n; k++) {
    drop_signal_t d = {{&drop_signal_vt}, dropped};
    TH_ASSERT_OK(ax_spawn_on(rt, &d.base, sizeof(d), NULL));
  }
  if (_i) th_latch_wait_blocking(&hooks->started);
  ax_runtime_shutdown_background(rt);
  th_latch_wait_blocking(dropped);   /* every task was dropped */
  ck_assert_int_eq(atomic_load(&dropped->count), 0);
  /* The workers stop (an event: waited for, not timed). */
  if (_i)
    while (atomic_load(&hooks->stops) < 2) uv_sleep(1);
  /* The background thread frees the runtime and is joined at exit. */
}
END_TEST

/* ---- builder options ----------------------------------------------------- */

typedef struct {
  th_latch_t started;
  _Atomic int starts, stops;
  _Atomic size_t min_stack, max_stack;
  _Atomic int stack_known;
} opt_hooks_t;

static void opt_start(void *arg) {
  opt_hooks_t *h = arg;
  atomic_fetch_add(&h->starts, 1);
#if defined(__linux__) && defined(__GLIBC__)
  {
    pthread_attr_t a;
    size_t sz = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
      pthread_attr_getstacksize(&a, &sz);
      pthread_attr_destroy(&a);
      size_t cur = atomic_load(&h->min_stack);
      while ((cur == 0 || sz < cur) &&
             !atomic_compare_exchange_weak(&h->min_stack, &cur, sz)) {
      }
      cur = atomic_load(&h->max_stack);
      while (sz > cur &&
             !atomic_compare_exchange_weak(&h->max_stack, &cur, sz)) {
      }
      atomic_store(&h->stack_known, 1);
    }
  }
#endif
  th_latch_down(&h->started);
}

static void opt_stop(void *arg) {
  atomic_fetch_add(&((opt_hooks_t *)arg)->stops, 1);
}

#ifdef __linux__
/* Counts the threads of this process whose name (/proc comm) match(name,
 * arg) accepts; -1 when /proc cannot be read. */
static int count_threads(int (*match)(const char *name, const char *arg),
                         const char *arg) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  if (d == NULL) return -1;
  while ((e = readdir(d)) != NULL) {
    char path[300], comm[64];
    FILE *f;
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
    if ((f = fopen(path, "r")) == NULL) continue;
    if (fgets(comm, sizeof(comm), f) != NULL) {
      comm[strcspn(comm, "\n")] = '\0';
      if (match(comm, arg)) n++;
    }
    fclose(f);
  }
  closedir(d);
  return n;
}

static int name_is(const char *name, const char *want) {
  return strcmp(name, want) == 0;
}

static int count_comm(const char *name) { return count_threads(name_is, name); }

/* "a-very-long-runtime-name" cut to Linux's 15 bytes: some prefix of it
 * and the worker number survive. */
static int name_is_cut(const char *name, const char *worker_suffix) {
  size_t len = strlen(name), n = strlen(worker_suffix);
  return strncmp(name, "a-very-lo", 9) == 0 && len >= n &&
         strcmp(name + len - n, worker_suffix) == 0;
}
#endif

START_TEST(builder_thread_options) {
  ax_builder_t b;
  ax_runtime_t *rt;
  opt_hooks_t h = {0};
  const size_t stack = 512 * 1024;
  th_latch_init(&h.started, 3);
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 3;
  b.thread_name = "axtest";
  b.thread_stack_size = stack;
  b.on_thread_start = opt_start;
  b.on_thread_stop = opt_stop;
  b.hook_arg = &h;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  th_latch_wait_blocking(&h.started);
  ck_assert_int_eq(atomic_load(&h.starts), 3);
  ck_assert_int_eq(atomic_load(&h.stops), 0);
#ifdef __linux__
  ck_assert_int_eq(count_comm("axtest-0"), 1);
  ck_assert_int_eq(count_comm("axtest-1"), 1);
  ck_assert_int_eq(count_comm("axtest-2"), 1);
#endif
#if defined(__linux__) && defined(__GLIBC__)
  if (atomic_load(&h.stack_known)) {
    ck_assert_uint_ge(atomic_load(&h.min_stack), stack);
    ck_assert_uint_lt(atomic_load(&h.max_stack), 2 * stack);
  }
#endif
  {
    th_task_t s;   /* and it runs tasks */
    th_block_on(rt, th_task(&s, 21, 5));
    ck_assert_int_eq(s.out, 42);
    ax_drop(AX_FUTURE_OF(&s));
  }
  ax_runtime_free(rt);
  /* The stop hook ran on every worker before ax_runtime_free returned. */
  ck_assert_int_eq(atomic_load(&h.stops), 3);
  ck_assert_int_eq(atomic_load(&h.starts), 3);
  th_latch_destroy(&h.started);
}
END_TEST

START_TEST(builder_thread_name_long) {
  ax_builder_t b;
  ax_runtime_t *rt;
  opt_hooks_t h = {0};
  th_latch_init(&h.started, 1);
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 1;
  b.thread_name = "a-very-long-runtime-name";  /* Linux keeps 15 bytes */
  b.on_thread_start = opt_start;
  b.hook_arg = &h;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  th_latch_wait_blocking(&h.started);
#ifdef __linux__
  ck_assert_int_eq(count_threads(name_is_cut, "-0"), 1);
#endif
  ax_runtime_free(rt);
  th_latch_destroy(&h.started);
}
END_TEST

/* event_interval: a busy worker polls its loop (uv_run NOWAIT) once every
 * event_interval task polls, exactly, when the loop has something that
 * may need it (here: the application's own loop, always polled); and not
 * at all when its loop holds nothing but axle's wake-up handle (the turn
 * would only be an epoll_wait(0)). */
START_TEST(builder_event_interval) {
  static const unsigned intervals[] = {1, 3, 61};
  for (int k = 0; k < 3; k++) {
    for (int own_loop = 0; own_loop < 2; own_loop++) {
      ax_builder_t b;
      ax_runtime_t *rt;
      ax_worker_stats_t st;
      uv_loop_t loop;
      th_task_t s;
      ax_builder_init(&b, AX_CURRENT_THREAD);
      b.event_interval = intervals[k];
      if (!own_loop) {
        ck_assert_int_eq(uv_loop_init(&loop), 0);
        b.loop = &loop;
      }
      TH_ASSERT_OK(ax_runtime_new(&b, &rt));
      th_block_on(rt, th_task(&s, 21, 200));
      ax_drop(AX_FUTURE_OF(&s));
      TH_ASSERT_OK(ax_runtime_worker_stats(rt, 0, &st));
      ck_assert_uint_eq(st.polls, 201);
      if (own_loop)
        ck_assert_uint_eq(st.io_polls, 0);
      else
        ck_assert_uint_eq(st.io_polls, st.polls / intervals[k]);
      ax_runtime_free(rt);
      if (!own_loop) ck_assert_int_eq(uv_loop_close(&loop), 0);
    }
  }
}
END_TEST

/* global_queue_interval: how often a worker looks at the injection queue
 * (tasks from outside) before its own queue.  With 1 a task spawned from a
 * foreign thread runs before the five local ones; with a large interval,
 * after them. */
typedef struct {
  ax_async_t co;
  int who;
  int *log;
  _Atomic int *n;
  th_latch_t *done;
} rec_t;

AX_ASYNC(rec_fn, rec_t, self) {
  AX_BEGIN(self);
  self->log[atomic_fetch_add(self->n, 1)] = self->who;
  th_latch_down(self->done);
  AX_END();
}

typedef struct {
  ax_async_t co;
  int log[8];
  _Atomic int n;
  th_latch_t done;
  th_latchwait_t lw;
  int rc;
} gqi_t;

static gqi_t *g_gqi;
static ax_runtime_t *g_gqi_rt;

static void gqi_foreign(void *arg) {
  rec_t r = {0};
  (void)arg;
  r.who = 100;
  r.log = g_gqi->log;
  r.n = &g_gqi->n;
  r.done = &g_gqi->done;
  g_gqi->rc = ax_spawn_on(g_gqi_rt, AX_FUTURE(rec_fn, &r), sizeof(r), NULL);
}

AX_ASYNC(gqi_fn, gqi_t, self) {
  AX_BEGIN(self);
  for (int k = 1; k <= 5; k++) {
    rec_t r = {0};
    r.who = k;
    r.log = self->log;
    r.n = &self->n;
    r.done = &self->done;
    AX_SPAWN(rec_fn, &r, NULL);
  }
  {
    uv_thread_t t;
    if (uv_thread_create(&t, gqi_foreign, NULL) == 0) uv_thread_join(&t);
  }
  AX_AWAIT(th_latch_wait(&self->lw, &self->done));
  AX_END();
}

START_TEST(builder_global_queue_interval) {
  for (int k = 0; k < 2; k++) {
    ax_builder_t b;
    ax_runtime_t *rt;
    gqi_t s = {0};
    ax_builder_init(&b, AX_CURRENT_THREAD);
    b.global_queue_interval = k == 0 ? 1 : 1000;
    TH_ASSERT_OK(ax_runtime_new(&b, &rt));
    th_latch_init(&s.done, 6);
    g_gqi = &s;
    g_gqi_rt = rt;
    th_block_on(rt, AX_FUTURE(gqi_fn, &s));
    TH_ASSERT_OK(s.rc);
    ck_assert_int_eq(atomic_load(&s.n), 6);
    if (k == 0)
      ck_assert_int_eq(s.log[0], 100);   /* the outside task went first */
    else
      ck_assert_int_eq(s.log[5], 100);   /* ... or last */
    th_finish(rt, AX_FUTURE_OF(&s));
    th_latch_destroy(&s.done);
  }
}
END_TEST

/* idle_spin_us: the block_on thread and a worker task hand a counter back
 * and forth (each side waits for the other, the pattern the adaptive
 * spin is for), with the shortest spin, none at all (AX_IDLE_SPIN_OFF:
 * every wait ends in a park and a wake-up) and a very long one.  Every
 * message arrives, in order, and no wake-up is lost in any case.  (How much the spin saves is a benchmark's
 * business: chained_spawn, ping_pong.) */
typedef struct {
  ax_async_t co;
  ax_mpsc_rx_t *rx;
  ax_mpsc_tx_t *tx;
  ax_mpsc_recv_t r;
  ax_mpsc_send_t s;
  int v;
} echo_t;

AX_ASYNC(echo_fn, echo_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_mpsc_recv(&self->r, self->rx, &self->v));
    if (self->r.result != 0) break;
    self->v++;
    AX_AWAIT(ax_mpsc_send(&self->s, self->tx, &self->v));
  }
  ax_mpsc_receiver_drop(self->rx);
  ax_mpsc_sender_drop(self->tx);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_rx_t *rx;
  ax_mpsc_send_t s;
  ax_mpsc_recv_t r;
  ax_join_t echo;
  int i, v, bad;
} pinger_t;

/* 2000 round trips, fewer in the slow setups: each is two wake-ups, and
 * on a machine with more runnable threads than CPUs each wake-up waits
 * for a time slice (seen: 3 x 2000 round trips past the ASan setup's 12 s
 * beside three CPU hogs and another test). */
#define PING_ROUNDS ((int)ax_test_iters(2000))

AX_ASYNC(pinger_fn, pinger_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < PING_ROUNDS; self->i++) {
    self->v = 2 * self->i;
    AX_AWAIT(ax_mpsc_send(&self->s, self->tx, &self->v));
    if (self->s.result != 0) self->bad++;
    AX_AWAIT(ax_mpsc_recv(&self->r, self->rx, &self->v));
    if (self->r.result != 0 || self->v != 2 * self->i + 1) self->bad++;
  }
  ax_mpsc_sender_drop(self->tx);   /* the echo task's recv ends */
  self->tx = NULL;
  AX_AWAIT(ax_join_wait(&self->echo));
  if (self->echo.result != 0) self->bad++;
  ax_join_drop(&self->echo);
  ax_mpsc_receiver_drop(self->rx);
  AX_END();
}

START_TEST(builder_idle_spin) {
  static const unsigned spins[] = {1, AX_IDLE_SPIN_OFF, 100000};
  for (unsigned k = 0; k < sizeof(spins) / sizeof(spins[0]); k++) {
    ax_builder_t b;
    ax_runtime_t *rt;
    pinger_t p = {0};
    echo_t e = {0};
    ax_builder_init(&b, AX_MULTI_THREAD);
    b.worker_threads = 2;
    b.idle_spin_us = spins[k];
    TH_ASSERT_OK(ax_runtime_new(&b, &rt));
    TH_ASSERT_OK(ax_mpsc_new(sizeof(int), 1, NULL, &p.tx, &e.rx));
    TH_ASSERT_OK(ax_mpsc_new(sizeof(int), 1, NULL, &e.tx, &p.rx));
    TH_ASSERT_OK(ax_spawn_on(rt, AX_FUTURE(echo_fn, &e), sizeof(e), &p.echo));
    th_block_on(rt, AX_FUTURE(pinger_fn, &p));
    ck_assert_int_eq(p.bad, 0);
    ck_assert_int_eq(p.i, PING_ROUNDS);
    th_finish(rt, AX_FUTURE_OF(&p));
  }
}
END_TEST

/* ---- observability ------------------------------------------------------- */

START_TEST(worker_stats_counts) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  ax_worker_stats_t st, sum;
  th_task_t s;
  unsigned n = ax_runtime_workers(rt);
  TH_ASSERT_ERR(ax_runtime_worker_stats(rt, n, &st), AX_EINVAL);
  TH_ASSERT_ERR(ax_runtime_worker_stats(rt, ~0u, &st), AX_EINVAL);
  th_block_on(rt, th_task(&s, 21, 10));
  ax_drop(AX_FUTURE_OF(&s));
  memset(&sum, 0, sizeof(sum));
  for (unsigned k = 0; k < n; k++) {
    TH_ASSERT_OK(ax_runtime_worker_stats(rt, k, &st));
    sum.polls += st.polls;
    sum.local_queue += st.local_queue;
    sum.steals += st.steals;
  }
  /* Current-thread: the 11 polls of the block_on future are the worker's;
   * multi-thread: the block_on thread polled it, the workers nothing. */
  ck_assert_uint_eq(sum.polls, _i ? 0 : 11);
  ck_assert_uint_eq(sum.local_queue, 0);
  ck_assert_uint_eq(sum.steals, 0);
  ax_runtime_free(rt);
}
END_TEST

/* Work stealing: a task on one worker spawns 100 tasks into its own queue
 * and then blocks its worker until 50 of them have run.  Only the other
 * worker can run them, by stealing. */
typedef struct {
  ax_future_t base;
  _Atomic int *ran;
} bump_t;

static ax_poll_t bump_poll(ax_future_t *f, ax_cx_t *cx) {
  (void)cx;
  atomic_fetch_add(((bump_t *)f)->ran, 1);
  return AX_READY;
}

static const ax_future_vtable_t bump_vt = {bump_poll, NULL, "bump"};

typedef struct {
  ax_future_t base;
  _Atomic int *ran;
  _Atomic int *done;
} hog_t;

static ax_poll_t hog_poll(ax_future_t *f, ax_cx_t *cx) {
  hog_t *h = (hog_t *)f;
  (void)cx;
  for (int k = 0; k < 100; k++) {
    bump_t b = {{&bump_vt}, h->ran};
    ax_spawn(&b.base, sizeof(b), NULL);
  }
  while (atomic_load(h->ran) < 50) uv_sleep(1);
  atomic_store(h->done, 1);
  return AX_READY;
}

static const ax_future_vtable_t hog_vt = {hog_poll, NULL, "hog"};

START_TEST(idle_worker_steals) {
  ax_runtime_t *rt = th_runtime(MULTI, 2, NULL);
  _Atomic int ran = 0, done = 0;
  ax_worker_stats_t a, b;
  hog_t h = {{&hog_vt}, &ran, &done};
  TH_ASSERT_OK(ax_spawn_on(rt, &h.base, sizeof(h), NULL));
  while (!atomic_load(&done)) uv_sleep(1);
  TH_ASSERT_OK(ax_runtime_worker_stats(rt, 0, &a));
  TH_ASSERT_OK(ax_runtime_worker_stats(rt, 1, &b));
  ck_assert_uint_ge(a.steals + b.steals, 1);
  ck_assert_uint_ge(a.polls + b.polls, 51);
  ax_runtime_free(rt);
}
END_TEST

/* The task dump: one line per live task with id, name, state and where it
 * waits. */
typedef struct {
  ax_async_t co;
  th_leaf_t never;
} parked_t;

static int parked_line;
static const char *parked_one_site;  /* its spawn site */
AX_ASYNC(parked_fn, parked_t, self) {
  AX_BEGIN(self);
  parked_line = __LINE__ + 1;
  AX_AWAIT(th_leaf(&self->never, NULL, -1, 0));
  AX_END();
}

/* ax_runtime_dump_tasks(rt) as a string (malloc'd), or NULL. */
static char *dump_text(ax_runtime_t *rt) {
  char *text = NULL;
  FILE *f = tmpfile();
  if (f == NULL) return NULL;
  ax_runtime_dump_tasks(rt, f);
  long len = ftell(f);
  if (len > 0 && (text = malloc((size_t)len + 1)) != NULL) {
    rewind(f);
    text[fread(text, 1, (size_t)len, f)] = '\0';
  }
  fclose(f);
  return text;
}

typedef struct {
  ax_async_t co;
  ax_yield_t y;
  ax_runtime_t *rt;
  char *dump;   /* what ax_runtime_dump_tasks wrote */
  uint64_t id;
} dumper_t;

AX_ASYNC(dumper_fn, dumper_t, self) {
  AX_BEGIN(self);
  self->id = ax_task_id();
  {
    parked_t p = {0};
    ax_join_t h;
    ax_spawn_named(self->rt, "parked-one", AX_FUTURE(parked_fn, &p),
                   sizeof(p), &h);
    parked_one_site = ax_join_spawn_site(&h);
    ax_join_drop(&h);
    ax_spawn_named(self->rt, "parked-two", AX_FUTURE(parked_fn, &p),
                   sizeof(p), NULL);
  }
  AX_AWAIT(ax_yield_now(&self->y));   /* let them run to their await */
  AX_AWAIT(ax_yield_now(&self->y));
  {
    parked_t p = {0};
    ax_spawn_named(self->rt, "not-yet", AX_FUTURE(parked_fn, &p), sizeof(p),
                   NULL);
  }
  self->dump = dump_text(self->rt);
  AX_END();
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

START_TEST(dump_tasks) {
  ax_runtime_t *rt = th_runtime(CURRENT, 0, NULL);
  dumper_t d = {0};
  char want[128];
  d.rt = rt;
  th_block_on(rt, AX_FUTURE(dumper_fn, &d));
  ck_assert_ptr_nonnull(d.dump);
  /* block_on's own task, two parked, one queued. */
  ck_assert_int_eq(count_lines(d.dump), 4);
  snprintf(want, sizeof(want), "parked-one idle at ");
  ck_assert_msg(strstr(d.dump, want) != NULL, "dump:\n%s", d.dump);
  snprintf(want, sizeof(want), "test-runtime.c:%d, spawned at ", parked_line);
  ck_assert_msg(strstr(strstr(d.dump, "parked-one"), want) != NULL,
                "dump:\n%s", d.dump);
  /* ...and where it was spawned (dumper_fn's spawn call), as every task
   * spawned through the macros; block_on's future was spawned by none. */
  snprintf(want, sizeof(want), "spawned at %s", parked_one_site);
  ck_assert_msg(strstr(strstr(d.dump, "parked-one"), want) != NULL,
                "dump:\n%s", d.dump);
  ck_assert_msg(strstr(d.dump, "spawned at (unknown)\n") != NULL,
                "dump:\n%s", d.dump);
  ck_assert_msg(strstr(d.dump, "parked-two idle at ") != NULL, "dump:\n%s",
                d.dump);
  ck_assert_msg(strstr(d.dump, "not-yet queued at (not started)") != NULL,
                "dump:\n%s", d.dump);
  snprintf(want, sizeof(want), "task %llu - running",
           (unsigned long long)d.id);
  ck_assert_msg(strstr(d.dump, want) != NULL, "dump:\n%s", d.dump);
  free(d.dump);
  th_finish(rt, AX_FUTURE_OF(&d));
}
END_TEST

/* A dump from a foreign thread while the workers poll (and record where
 * each task waits): every line names a task, and TSan sees no race. */
typedef struct {
  ax_runtime_t *rt;
  _Atomic int stop;
  _Atomic int dumps;
  int bad;
} dump_loop_t;

#define DUMPS 200

/* Yields until the dumper has dumped DUMPS times. */
typedef struct {
  ax_async_t co;
  ax_yield_t y;
  dump_loop_t *d;
} spinner_t;

AX_ASYNC(spinner_fn, spinner_t, self) {
  AX_BEGIN(self);
  while (atomic_load(&self->d->dumps) < DUMPS)
    AX_AWAIT(ax_yield_now(&self->y));
  AX_END();
}

static void dump_loop(void *arg) {
  dump_loop_t *d = arg;
  FILE *f = tmpfile();
  char line[256];
  if (f == NULL) {
    d->bad = -1;
    atomic_store(&d->dumps, DUMPS);  /* let the spinners end */
    return;
  }
  while (!atomic_load(&d->stop)) {
    long end;
    rewind(f);
    ax_runtime_dump_tasks(d->rt, f);
    fflush(f);
    end = ftell(f);   /* the file is not truncated: read this dump only */
    rewind(f);
    while (ftell(f) < end && fgets(line, sizeof(line), f) != NULL)
      if (strncmp(line, "task ", 5) != 0) d->bad++;
    atomic_fetch_add(&d->dumps, 1);
  }
  fclose(f);
}

typedef struct {
  ax_async_t co;
  ax_join_t h[4];
  spinner_t s[4];
  dump_loop_t *d;
  int k;
} spinners_t;

AX_ASYNC(spinners_fn, spinners_t, self) {
  AX_BEGIN(self);
  for (self->k = 0; self->k < 4; self->k++) {
    self->s[self->k].d = self->d;
    TH_ASSERT_OK(AX_SPAWN(spinner_fn, &self->s[self->k], &self->h[self->k]));
  }
  for (self->k = 0; self->k < 4; self->k++) {
    AX_AWAIT(ax_join_wait(&self->h[self->k]));
    TH_ASSERT_OK(self->h[self->k].result);
    ax_join_drop(&self->h[self->k]);
  }
  AX_END();
}

START_TEST(dump_tasks_while_running) {
  ax_runtime_t *rt = th_runtime(MULTI, 2, NULL);
  dump_loop_t d = {0};
  spinners_t s = {0};
  uv_thread_t th;
  d.rt = rt;
  s.d = &d;
  ck_assert_int_eq(uv_thread_create(&th, dump_loop, &d), 0);
  th_block_on(rt, AX_FUTURE(spinners_fn, &s));
  atomic_store(&d.stop, 1);
  uv_thread_join(&th);
  th_finish(rt, AX_FUTURE_OF(&s));
  ck_assert_int_eq(d.bad, 0);
  ck_assert_int_ge(atomic_load(&d.dumps), DUMPS);
}
END_TEST

/* The default panic hook prints one line on stderr naming the task. */
typedef struct {
  ax_async_t co;
  ax_join_t h;
  ax_yield_t y;
} loud_t;

static void *loud_panic(void *arg) {
  (void)arg;
  ax_panic("loud %d", 3);
}

AX_ASYNC(loud_fn, loud_t, self) {
  AX_BEGIN(self);
  ax_spawn_fn(loud_panic, NULL, &self->h);
  while (!ax_join_is_finished(&self->h)) AX_AWAIT(ax_yield_now(&self->y));
  ax_join_drop(&self->h);   /* nobody looked: reported here */
  AX_END();
}

START_TEST(default_panic_hook) {
  ax_runtime_t *rt = th_runtime(CURRENT, 0, NULL);
  FILE *f = tmpfile();
  int saved;
  char buf[512] = "";
  size_t n;
  loud_t l = {0};
  ck_assert_ptr_nonnull(f);
  fflush(stderr);
  saved = dup(2);
  ck_assert_int_ge(saved, 0);
  ck_assert_int_ge(dup2(fileno(f), 2), 0);
  int rc = ax_block_on(rt, AX_FUTURE(loud_fn, &l));
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  TH_ASSERT_OK(rc);
  rewind(f);
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  ck_assert_msg(strstr(buf, "panicked: loud 3\n") != NULL, "stderr: %s", buf);
  ck_assert_int_eq(count_lines(buf), 1);
  th_finish(rt, AX_FUTURE_OF(&l));
}
END_TEST

/* ---- a runtime on the application's loop --------------------------------- */

typedef struct {
  uv_timer_t timer;
  th_signal_t *sig;
  int fired;
} app_timer_t;

static void app_timer_cb(uv_timer_t *t) {
  app_timer_t *a = t->data;
  a->fired++;
  th_signal_fire(a->sig);
}

typedef struct {
  ax_async_t co;
  th_signal_t sig;
  th_sigwait_t w;
  th_task_t s;
  ax_join_t h;
  int out;
} on_loop_t;

AX_ASYNC(on_loop_fn, on_loop_t, self) {
  AX_BEGIN(self);
  th_task(&self->s, 21, 3);
  AX_SPAWN(th_task_fn, &self->s, &self->h);
  AX_AWAIT(th_sigwait(&self->w, &self->sig, NULL));  /* the app's callback */
  AX_AWAIT(ax_join_wait(&self->h));
  self->out = AX_JOIN_OUTPUT(&self->h, th_task_t)->out;
  ax_join_drop(&self->h);
  AX_END();
}

static void close_cb_count(uv_handle_t *h) { (*(int *)h->data)++; }

START_TEST(runtime_on_user_loop) {
  uv_loop_t loop;
  ax_builder_t b;
  ax_runtime_t *rt;
  app_timer_t at;
  on_loop_t m = {0};
  int closed = 0;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  th_signal_init(&m.sig);
  at.sig = &m.sig;
  at.fired = 0;
  ck_assert_int_eq(uv_timer_init(&loop, &at.timer), 0);
  at.timer.data = &at;
  ck_assert_int_eq(uv_timer_start(&at.timer, app_timer_cb, 0, 0), 0);

  ax_builder_init(&b, AX_CURRENT_THREAD);
  b.loop = &loop;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  th_block_on(rt, AX_FUTURE(on_loop_fn, &m));
  ck_assert_int_eq(at.fired, 1);   /* the app's callback ran meanwhile */
  ck_assert_int_eq(m.out, 42);
  th_finish(rt, AX_FUTURE_OF(&m));

  /* The loop is still the application's: it runs, and once the app closes
   * its own handle nothing of axle's is left on it. */
  at.timer.data = &closed;
  uv_close((uv_handle_t *)&at.timer, close_cb_count);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(closed, 1);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  th_signal_destroy(&m.sig);
}
END_TEST

/* A wake-up from a loop callback that runs before the poll phase of
 * uv_run(UV_RUN_ONCE) (timers, idle, prepare, pending) while the worker is
 * parking: the woken task is on this very worker, so nobody sends it a
 * uv_async_send; the worker must still not go to sleep in the poll.
 *
 * Reproduced with th_late (helpers.h): it registers a 1 ms sleep and
 * keeps its worker busy for 20 ms past that deadline inside the same poll,
 * so the sleep's timer is already due when the worker parks. */
START_TEST(wake_from_timer_while_parking) {
  th_late_t l;
  th_run(_i, 2, th_late(&l, 20));   /* the bug: its block_on never returns */
  ck_assert_int_ge(l.polls, 1);
  ck_assert_int_le(l.polls, 2);
  ck_assert_int_eq(ax_sleep_result(&l.nap), 0);   /* the drop keeps it */
}
END_TEST

/* ---- allocator ----------------------------------------------------------- */

static _Atomic long n_alloc, n_free;

static void *cnt_malloc(size_t n) {
  atomic_fetch_add(&n_alloc, 1);
  return malloc(n);
}
static void *cnt_realloc(void *p, size_t n) {
  if (p == NULL) atomic_fetch_add(&n_alloc, 1);
  return realloc(p, n);
}
static void *cnt_calloc(size_t c, size_t n) {
  atomic_fetch_add(&n_alloc, 1);
  return calloc(c, n);
}
static void cnt_free(void *p) {
  if (p != NULL) atomic_fetch_add(&n_free, 1);
  free(p);
}

START_TEST(replace_allocator) {
  th_task_t s;
  TH_ASSERT_ERR(ax_replace_allocator(NULL, realloc, calloc, free), AX_EINVAL);
  atomic_store(&n_alloc, 0);
  atomic_store(&n_free, 0);
  TH_ASSERT_OK(ax_replace_allocator(cnt_malloc, cnt_realloc, cnt_calloc,
                                    cnt_free));
  th_run(_i, 2, th_task(&s, 21, 2));
  TH_ASSERT_OK(ax_replace_allocator(malloc, realloc, calloc, free));
  ck_assert_int_gt(atomic_load(&n_alloc), 0);
  ck_assert_int_eq(atomic_load(&n_alloc), atomic_load(&n_free));
}
END_TEST

START_TEST(replace_allocator_busy) {
  /* Documented: AX_EBUSY while a runtime exists (its memory came from the
   * current allocator and must go back to it). */
  ax_runtime_t *rt = th_runtime(CURRENT, 0, NULL);
  int rc = ax_replace_allocator(cnt_malloc, cnt_realloc, cnt_calloc, cnt_free);
  if (rc == 0)   /* undo, so the failure below is the only damage */
    ax_replace_allocator(malloc, realloc, calloc, free);
  ax_runtime_free(rt);
  TH_ASSERT_ERR(rc, AX_EBUSY);
}
END_TEST

Suite *ax_runtime_suite(void) {
  return AX_SUITE("runtime",
                  AX_CASE("embed", 0),
                  AX_ONCE(runtime_on_user_loop),
                  AX_FLAVOURS(replace_allocator),
                  AX_ONCE(replace_allocator_busy),
                  AX_CASE("park", 0),
                  AX_FLAVOURS(wake_from_timer_while_parking),
                  AX_CASE("create", 0),
                  AX_ONCE(builder_defaults),
                  AX_ONCE(runtime_new_errors),
                  AX_ONCE(worker_counts),
                  AX_CASE("block_on", 0),
                  AX_FLAVOURS(block_on_keeps_the_future),
                  AX_FLAVOURS(block_on_future_can_sleep),
                  AX_FLAVOURS(block_on_twice),
                  AX_FLAVOURS(block_on_nested),
                  AX_FLAVOURS(block_on_busy),
                  AX_ONCE(main_convenience),
                  AX_ONCE(main_convenience_panic),
                  AX_CASE("shutdown", 60),
                  AX_FLAVOURS(shutdown_drops_pending_tasks),
                  AX_ONCE(spawn_during_shutdown),
                  AX_FLAVOURS(shutdown_timeout_in_time),
                  AX_ONCE(shutdown_timeout_expires),
                  AX_FLAVOURS(shutdown_background),
                  /* 60 s: on a loaded machine the round trips are slow. */
                  AX_CASE("idle_spin", 60),
                  AX_ONCE(builder_idle_spin),
                  AX_CASE("options", 0),
                  AX_ONCE(builder_thread_options),
                  AX_ONCE(builder_thread_name_long),
                  AX_ONCE(builder_event_interval),
                  AX_ONCE(builder_global_queue_interval),
                  AX_CASE("observe", 0),
                  AX_FLAVOURS(worker_stats_counts),
                  AX_ONCE(idle_worker_steals),
                  AX_ONCE(dump_tasks),
                  AX_ONCE(dump_tasks_while_running),
                  AX_ONCE(default_panic_hook));
}
