/* Tasks (include/axle/task.h): spawn, join handles, detach, abort, wakes,
 * yield, panics, task ids, ax_spawn_fn.
 *
 * Most cases are loop tests run twice: _i == 0 on a current-thread runtime
 * (deterministic order), _i == 1 on a multi-thread runtime with 2 workers.
 * Tasks never call ck_assert (a failed check longjmps on the thread that
 * runs it): they record what they see in their state, and the test thread
 * asserts after ax_block_on returns.
 */
#include <stdatomic.h>
#include <signal.h>

#include "helpers.h"

/* ---- spawn and join ------------------------------------------------------ */

/* The tasks these tests spawn are th_task (helpers.h): one yield, then
 * out = 2 * in. */

typedef struct {
  ax_async_t co;
  ax_join_t h, h2;
  int spawn_rc;
  int result, result2;
  int finished_before, finished_after;
  int out;
  const char *panic_msg;
  void *output_after_drop;
} spawn_join_t;

AX_ASYNC(spawn_join_fn, spawn_join_t, self) {
  AX_BEGIN(self);
  {
    th_task_t a;
    th_task(&a, 21, 1);
    self->spawn_rc = AX_SPAWN(th_task_fn, &a, &self->h);
    /* The bytes were copied: reusing a at once is fine. */
    memset(&a, 0xEE, sizeof(a));
  }
  self->finished_before = ax_join_is_finished(&self->h);
  AX_AWAIT(ax_join_wait(&self->h));
  self->finished_after = ax_join_is_finished(&self->h);
  self->result = self->h.result;
  self->out = AX_JOIN_OUTPUT(&self->h, th_task_t)->out;
  self->panic_msg = ax_join_panic_message(&self->h);
  ax_join_drop(&self->h);
  ax_join_drop(&self->h);  /* twice is safe */
  self->output_after_drop = ax_join_output(&self->h);
  AX_END();
}

START_TEST(spawn_and_join) {
  spawn_join_t s = {0};
  th_run(_i, 2, AX_FUTURE(spawn_join_fn, &s));
  TH_ASSERT_OK(s.spawn_rc);
  if (_i == CURRENT) ck_assert_int_eq(s.finished_before, 0);
  ck_assert_int_eq(s.finished_after, 1);
  ck_assert_int_eq(s.result, 0);
  ck_assert_int_eq(s.out, 42);
  ck_assert_ptr_null(s.panic_msg);
  ck_assert_ptr_null(s.output_after_drop);
}
END_TEST

/* The spawned copy is polled, the caller's copy never is; the task's future
 * is dropped once, when the last reference (here: the handle) goes. */
typedef struct {
  ax_async_t co;
  th_leaf_t leaf;          /* the caller's copy */
  th_counts_t *c;
  ax_join_t h;
  int out, task_copy_polls, drops_before_handle_drop;
} copy_t;

AX_ASYNC(copy_fn, copy_t, self) {
  AX_BEGIN(self);
  th_leaf(&self->leaf, self->c, 2, 1);
  ax_spawn(&self->leaf.base, sizeof(self->leaf), &self->h);
  AX_AWAIT(ax_join_wait(&self->h));
  {
    th_leaf_t *task_copy = ax_join_output(&self->h);
    self->out = task_copy->out;
    self->task_copy_polls = task_copy->polls;
  }
  self->drops_before_handle_drop = atomic_load(&self->c->drops);
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(spawn_copies_the_future) {
  th_counts_t c = {0};
  copy_t s = {0};
  s.c = &c;
  th_run(_i, 2, AX_FUTURE(copy_fn, &s));
  ck_assert_int_eq(s.leaf.polls, 0);      /* the caller's copy: untouched */
  ck_assert_int_eq(s.task_copy_polls, 3);  /* 2 pending (self-woken) + ready */
  ck_assert_int_eq(s.out, 42);
  ck_assert_int_eq(atomic_load(&c.polls), 3);
  /* Dropped when the task completed (as Tokio does); the output fields
   * were still readable through the handle. */
  ck_assert_int_eq(s.drops_before_handle_drop, 1);
  ck_assert_int_eq(atomic_load(&c.drops), 1);       /* and only then */
}
END_TEST

/* Poll laziness: a future that is never spawned is never polled, even
 * while the runtime runs other tasks; a spawned one on a runtime that is
 * never driven is never polled either, and shutdown drops it once. */
typedef struct {
  ax_async_t co;
  ax_join_t h;
  th_task_t a;
} busy_t;

AX_ASYNC(busy_fn, busy_t, self) {
  AX_BEGIN(self);
  th_task(&self->a, 1, 1);
  AX_SPAWN(th_task_fn, &self->a, &self->h);
  AX_AWAIT(ax_join_wait(&self->h));
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(never_spawned_never_polled) {
  th_counts_t c = {0};
  th_leaf_t lazy;
  busy_t b = {0};
  th_leaf(&lazy, &c, 0, 0);   /* would be ready at once if polled */
  ax_runtime_t *rt = th_start(_i, 2, AX_FUTURE(busy_fn, &b));
  ck_assert_int_eq(atomic_load(&c.polls), 0);
  ck_assert_int_eq(lazy.out, 0);
  th_finish(rt, AX_FUTURE_OF(&b));
  ck_assert_int_eq(atomic_load(&c.polls), 0);
  ck_assert_int_eq(atomic_load(&c.drops), 0);
}
END_TEST

START_TEST(spawned_but_never_driven) {
  /* Current-thread: nothing runs outside ax_block_on. */
  ax_runtime_t *rt = th_runtime(0, 0, NULL);
  th_counts_t c = {0};
  th_leaf_t l;
  ax_join_t h;
  int i;
  for (i = 0; i < 10; i++) {
    th_leaf(&l, &c, 0, 0);
    TH_ASSERT_OK(ax_spawn_on(rt, &l.base, sizeof(l), i == 0 ? &h : NULL));
  }
  ck_assert_int_eq(ax_join_is_finished(&h), 0);
  ax_runtime_free(rt);
  ck_assert_int_eq(atomic_load(&c.polls), 0);
  ck_assert_int_eq(atomic_load(&c.drops), 10);
  /* The handle outlives the runtime and reports the cancellation. */
  ck_assert_int_eq(ax_join_is_finished(&h), 1);
  {
    th_cx_t cx;
    th_cx_init(&cx);
    ck_assert_int_eq(TH_POLL(ax_join_wait(&h), &cx), AX_READY);
    ck_assert_int_eq(h.result, AX_ECANCELED);
    ck_assert_ptr_null(ax_join_output(&h));
    ax_join_drop(&h);
    ck_assert_int_eq(cx.w.refs, 0);
  }
}
END_TEST

/* ---- misuse: error codes ------------------------------------------------- */

START_TEST(spawn_outside_runtime) {
  th_leaf_t l;
  ax_join_t h;
  th_cx_t cx;
  memset(&h, 0xFF, sizeof(h));  /* garbage: must be left dropped */
  ck_assert_ptr_null(ax_runtime_current());
  TH_ASSERT_ERR(ax_spawn(th_leaf(&l, NULL, 0, 0), sizeof(l), &h),
                AX_ENORUNTIME);
  ck_assert_ptr_null(h.task);
  ck_assert_int_eq(ax_join_is_finished(&h), 0);
  ax_join_drop(&h);  /* a dropped handle may be dropped again */
  /* Awaiting the dropped handle says it is misused, and does not hang. */
  th_cx_init(&cx);
  ck_assert_int_eq(TH_POLL(ax_join_wait(&h), &cx), AX_READY);
  ck_assert_int_eq(h.result, AX_EJOINED);
  TH_ASSERT_ERR(ax_abort(&h), AX_EJOINED);
  ck_assert_ptr_null(ax_join_panic_message(&h));
  ck_assert_ptr_null(ax_join_output(&h));
  ck_assert_ptr_null(ax_join_value(&h));
  TH_ASSERT_ERR(ax_spawn(&l.base, sizeof(l), NULL), AX_ENORUNTIME);
  TH_ASSERT_ERR(ax_spawn_on(NULL, &l.base, sizeof(l), NULL), AX_ENORUNTIME);
  TH_ASSERT_ERR(ax_spawn_named(NULL, "x", &l.base, sizeof(l), NULL),
                AX_ENORUNTIME);
  TH_ASSERT_ERR(ax_spawn_fn(NULL, NULL, &h), AX_ENORUNTIME);
  ck_assert_ptr_null(h.task);
  ck_assert_int_eq(l.polls, 0);
  ck_assert_int_eq(l.drops, 0);  /* on error the caller keeps its future */
}
END_TEST

START_TEST(spawn_invalid_arguments) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  th_leaf_t l;
  ax_join_t h;
  th_leaf(&l, NULL, 0, 0);
  TH_ASSERT_ERR(ax_spawn_on(rt, NULL, sizeof(l), &h), AX_EINVAL);
  ck_assert_ptr_null(h.task);
  TH_ASSERT_ERR(ax_spawn_on(rt, &l.base, sizeof(ax_future_t) - 1, &h),
                AX_EINVAL);
  ck_assert_ptr_null(h.task);
  ax_runtime_free(rt);
  ck_assert_int_eq(l.polls, 0);
}
END_TEST

typedef struct {
  ax_async_t co;
  ax_join_t h;
  th_task_t a;
  int r1, r2, r3;
  int out2;
} twice_t;

AX_ASYNC(twice_fn, twice_t, self) {
  AX_BEGIN(self);
  th_task(&self->a, 5, 1);
  AX_SPAWN(th_task_fn, &self->a, &self->h);
  AX_AWAIT(ax_join_wait(&self->h));
  self->r1 = self->h.result;
  AX_AWAIT(ax_join_wait(&self->h));     /* joining twice */
  self->r2 = self->h.result;
  /* The output is still there. */
  self->out2 = AX_JOIN_OUTPUT(&self->h, th_task_t)->out;
  ax_join_drop(&self->h);
  AX_AWAIT(ax_join_wait(&self->h));     /* joining a dropped handle */
  self->r3 = self->h.result;
  AX_END();
}

START_TEST(join_twice) {
  twice_t s = {0};
  th_run(_i, 2, AX_FUTURE(twice_fn, &s));
  ck_assert_int_eq(s.r1, 0);
  ck_assert_int_eq(s.r2, AX_EJOINED);
  ck_assert_int_eq(s.r3, AX_EJOINED);
  ck_assert_int_eq(s.out2, 10);
}
END_TEST

/* ---- detach -------------------------------------------------------------- */

typedef struct {
  ax_async_t co;
  th_latch_t *l;
  th_signal_t *go;
  th_sigwait_t w;
} detached_t;

AX_ASYNC(detached_fn, detached_t, self) {
  AX_BEGIN(self);
  if (self->go != NULL) AX_AWAIT(th_sigwait(&self->w, self->go, NULL));
  th_latch_down(self->l);
  AX_END();
}

typedef struct {
  ax_async_t co;
  th_latch_t l;
  th_signal_t go;
  th_latchwait_t lw;
  ax_join_t h;
  int rc1, rc2;
} detach_t;

AX_ASYNC(detach_fn, detach_t, self) {
  AX_BEGIN(self);
  {
    detached_t d = {0};
    d.l = &self->l;
    self->rc1 = AX_SPAWN(detached_fn, &d, NULL);        /* detached at once */
    d.go = &self->go;
    self->rc2 = AX_SPAWN(detached_fn, &d, &self->h);    /* detached later */
  }
  ax_join_drop(&self->h);   /* before the task can finish */
  th_signal_fire(&self->go);
  AX_AWAIT(th_latch_wait(&self->lw, &self->l));
  AX_END();
}

START_TEST(detached_tasks_run) {
  detach_t s = {0};
  th_latch_init(&s.l, 2);
  th_signal_init(&s.go);
  th_run(_i, 2, AX_FUTURE(detach_fn, &s));
  TH_ASSERT_OK(s.rc1);
  TH_ASSERT_OK(s.rc2);
  ck_assert_int_eq(atomic_load(&s.l.count), 0);
  th_signal_destroy(&s.go);
  th_latch_destroy(&s.l);
}
END_TEST

/* ---- abort --------------------------------------------------------------- */

/* A task that waits, in a field, on one of: a future that never completes,
 * an hour-long sleep, or a signal; `ondrop` counts its drop. */
enum { WAIT_NEVER, WAIT_SLEEP, WAIT_SIGNAL };
typedef struct {
  ax_async_t co;
  int how;
  th_counts_t *c;
  th_leaf_t never;
  ax_sleep_t nap;
  th_sigwait_t sw;
  th_signal_t *sig;
  int out;
} waiter_t;

AX_ASYNC(waiter_fn, waiter_t, self) {
  AX_BEGIN(self);
  atomic_fetch_add(&self->c->polls, 1);
  if (self->how == WAIT_NEVER)
    AX_AWAIT(th_leaf(&self->never, NULL, -1, 0));
  else if (self->how == WAIT_SLEEP)
    AX_AWAIT(ax_sleep(&self->nap, 3600u * 1000u));
  else
    AX_AWAIT(th_sigwait(&self->sw, self->sig, NULL));
  self->out = 1;
  atomic_fetch_add(&self->c->readies, 1);
  AX_END();
}

AX_ASYNC_DROP(waiter_on_drop, waiter_t, w) {
  atomic_fetch_add(&w->c->drops, 1);
}

static int spawn_waiter(int how, th_counts_t *c, th_signal_t *sig,
                        ax_join_t *h) {
  waiter_t w = {0};
  w.how = how;
  w.c = c;
  w.sig = sig;
  return ax_spawn(AX_FUTURE_DROP(waiter_fn, waiter_on_drop, &w), sizeof(w),
                  h);
}

typedef struct {
  ax_async_t co;
  int how;
  th_counts_t c;
  ax_join_t h;
  ax_yield_t y;
  int rc_abort, rc_abort2, result, polled_before_abort;
  void *output;
} abort_idle_t;

AX_ASYNC(abort_idle_fn, abort_idle_t, self) {
  AX_BEGIN(self);
  spawn_waiter(self->how, &self->c, NULL, &self->h);
  /* Let it run up to its await (yield until it has been polled). */
  while (atomic_load(&self->c.polls) == 0) AX_AWAIT(ax_yield_now(&self->y));
  self->polled_before_abort = atomic_load(&self->c.polls);
  self->rc_abort = ax_abort(&self->h);
  self->rc_abort2 = ax_abort(&self->h);  /* twice is harmless */
  AX_AWAIT(ax_join_wait(&self->h));
  self->result = self->h.result;
  self->output = ax_join_output(&self->h);
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(abort_sleeping_task) {
  /* _i: 0..1 never-ready future, 2..3 ax_sleep; even current, odd multi. */
  abort_idle_t s = {0};
  s.how = _i < 2 ? WAIT_NEVER : WAIT_SLEEP;
  ax_runtime_t *rt = th_start(_i & 1, 2, AX_FUTURE(abort_idle_fn, &s));
  ck_assert_int_eq(s.polled_before_abort, 1);
  TH_ASSERT_OK(s.rc_abort);
  TH_ASSERT_OK(s.rc_abort2);
  ck_assert_int_eq(s.result, AX_ECANCELED);
  ck_assert_ptr_null(s.output);
  ck_assert_int_eq(atomic_load(&s.c.polls), 1);
  ck_assert_int_eq(atomic_load(&s.c.readies), 0);
  ck_assert_int_eq(atomic_load(&s.c.drops), 1);   /* by the abort */
  th_finish(rt, AX_FUTURE_OF(&s));
  ck_assert_int_eq(atomic_load(&s.c.drops), 1);
}
END_TEST

/* Abort before the task was ever polled: its poll never runs. */
typedef struct {
  ax_async_t co;
  th_counts_t c;
  ax_join_t h;
  int rc_spawn, rc_abort, result;
} abort_queued_t;

AX_ASYNC(abort_queued_fn, abort_queued_t, self) {
  AX_BEGIN(self);
  self->rc_spawn = spawn_waiter(WAIT_NEVER, &self->c, NULL, &self->h);
  self->rc_abort = ax_abort(&self->h);
  AX_AWAIT(ax_join_wait(&self->h));
  self->result = self->h.result;
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(abort_queued_task) {
  abort_queued_t s = {0};
  ax_runtime_t *rt = th_start(_i, 2, AX_FUTURE(abort_queued_fn, &s));
  TH_ASSERT_OK(s.rc_spawn);
  TH_ASSERT_OK(s.rc_abort);
  ck_assert_int_eq(s.result, AX_ECANCELED);
  /* Current-thread: the task cannot have run between spawn and abort. */
  if (_i == CURRENT) ck_assert_int_eq(atomic_load(&s.c.polls), 0);
  ck_assert_int_le(atomic_load(&s.c.polls), 1);
  ck_assert_int_eq(atomic_load(&s.c.drops), 1);   /* by the abort */
  th_finish(rt, AX_FUTURE_OF(&s));
}
END_TEST

/* Abort of a running task, from inside its own poll (current-thread): it
 * is cancelled when the poll returns pending; if that poll completes the
 * task, the abort does nothing. */
typedef struct {
  ax_async_t co;
  ax_join_t *self_handle;
  int complete_anyway;
  int rc_abort;
  int *drops;
  int out;
} self_abort_t;

AX_ASYNC(self_abort_fn, self_abort_t, self) {
  AX_BEGIN(self);
  self->rc_abort = ax_abort(self->self_handle);
  if (!self->complete_anyway) {
    ax_waker_wake_by_ref(ax_cx_waker(cx));  /* even if it asks again */
    return AX_PENDING;
  }
  self->out = 99;
  AX_END();
}

AX_ASYNC_DROP(self_abort_drop, self_abort_t, t) { (*t->drops)++; }

typedef struct {
  ax_async_t co;
  ax_join_t h;
  int complete_anyway;
  int drops;
  int result, rc_abort, out;
} abort_running_t;

AX_ASYNC(abort_running_fn, abort_running_t, self) {
  AX_BEGIN(self);
  {
    self_abort_t t = {0};
    t.self_handle = &self->h;
    t.complete_anyway = self->complete_anyway;
    t.drops = &self->drops;
    ax_spawn(AX_FUTURE_DROP(self_abort_fn, self_abort_drop, &t), sizeof(t),
             &self->h);
  }
  AX_AWAIT(ax_join_wait(&self->h));
  self->result = self->h.result;
  if (self->result == 0) {
    self_abort_t *t = ax_join_output(&self->h);
    self->out = t->out;
    self->rc_abort = t->rc_abort;
  }
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(abort_running_task_from_itself) {
  for (int complete = 0; complete < 2; complete++) {
    abort_running_t s = {0};
    s.complete_anyway = complete;
    th_run(_i, 2, AX_FUTURE(abort_running_fn, &s));
    if (complete) {
      ck_assert_int_eq(s.result, 0);
      ck_assert_int_eq(s.out, 99);
      TH_ASSERT_OK(s.rc_abort);
    } else {
      ck_assert_int_eq(s.result, AX_ECANCELED);
    }
    ck_assert_int_eq(s.drops, 1);
  }
}
END_TEST

/* Multi-thread: abort from the block_on thread while the task is inside a
 * poll on a worker.  The task spins until the abort was issued, then
 * returns pending: it must be cancelled right after that poll. */
typedef struct {
  ax_future_t base;
  _Atomic int *running;
  _Atomic int *released;
  _Atomic int *drops;
  int polls;
} spinner_t;

static ax_poll_t spinner_poll(ax_future_t *f, ax_cx_t *cx) {
  spinner_t *s = (spinner_t *)f;
  s->polls++;
  atomic_store(s->running, 1);
  while (!atomic_load(s->released)) uv_sleep(1);  /* an event, not a time */
  ax_waker_wake_by_ref(ax_cx_waker(cx));
  return AX_PENDING;
}

static void spinner_drop(ax_future_t *f) {
  atomic_fetch_add(((spinner_t *)f)->drops, 1);
}

static const ax_future_vtable_t spinner_vt = {spinner_poll, spinner_drop,
                                              "spinner"};

typedef struct {
  ax_async_t co;
  ax_join_t h;
  _Atomic int running, released, drops;
  int rc_abort, result, finished_while_running;
} abort_mt_t;

AX_ASYNC(abort_mt_fn, abort_mt_t, self) {
  AX_BEGIN(self);
  {
    spinner_t sp = {{&spinner_vt}, &self->running, &self->released,
                    &self->drops, 0};
    ax_spawn(&sp.base, sizeof(sp), &self->h);
  }
  /* This is the block_on thread, not a worker: waiting here blocks no
   * task. */
  while (!atomic_load(&self->running)) uv_sleep(1);
  self->rc_abort = ax_abort(&self->h);
  self->finished_while_running = ax_join_is_finished(&self->h);
  atomic_store(&self->released, 1);
  AX_AWAIT(ax_join_wait(&self->h));
  self->result = self->h.result;
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(abort_running_task_multi_thread) {
  abort_mt_t s = {0};
  ax_runtime_t *rt = th_start(MULTI, 2, AX_FUTURE(abort_mt_fn, &s));
  TH_ASSERT_OK(s.rc_abort);
  ck_assert_int_eq(s.finished_while_running, 0);
  ck_assert_int_eq(s.result, AX_ECANCELED);
  ck_assert_int_eq(atomic_load(&s.drops), 1);   /* by the abort */
  th_finish(rt, AX_FUTURE_OF(&s));
  ck_assert_int_eq(atomic_load(&s.drops), 1);
}
END_TEST

/* Abort after the task finished: nothing changes. */
typedef struct {
  ax_async_t co;
  ax_join_t h;
  ax_yield_t y;
  th_task_t a;
  int rc_abort_before_join, rc_abort_after_join, result, out;
} abort_done_t;

AX_ASYNC(abort_done_fn, abort_done_t, self) {
  AX_BEGIN(self);
  th_task(&self->a, 4, 1);
  AX_SPAWN(th_task_fn, &self->a, &self->h);
  while (!ax_join_is_finished(&self->h)) AX_AWAIT(ax_yield_now(&self->y));
  self->rc_abort_before_join = ax_abort(&self->h);
  AX_AWAIT(ax_join_wait(&self->h));
  self->result = self->h.result;
  self->rc_abort_after_join = ax_abort(&self->h);
  self->out = AX_JOIN_OUTPUT(&self->h, th_task_t)->out;
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(abort_finished_task) {
  abort_done_t s = {0};
  th_run(_i, 2, AX_FUTURE(abort_done_fn, &s));
  TH_ASSERT_OK(s.rc_abort_before_join);
  TH_ASSERT_OK(s.rc_abort_after_join);
  ck_assert_int_eq(s.result, 0);
  ck_assert_int_eq(s.out, 8);
}
END_TEST

/* ---- wakes --------------------------------------------------------------- */

/* Wake from inside poll: by reference, and by value (clone + wake). */
typedef struct {
  ax_future_t base;
  int polls;
  int by_value;
  int rounds;
} selfwake_t;

static ax_poll_t selfwake_poll(ax_future_t *f, ax_cx_t *cx) {
  selfwake_t *s = (selfwake_t *)f;
  if (++s->polls > s->rounds) return AX_READY;
  if (s->by_value)
    ax_waker_wake(ax_waker_clone(ax_cx_waker(cx)));
  else
    ax_waker_wake_by_ref(ax_cx_waker(cx));
  return AX_PENDING;
}

static const ax_future_vtable_t selfwake_vt = {selfwake_poll, NULL,
                                               "selfwake"};

typedef struct {
  ax_async_t co;
  ax_join_t h[2];
  int polls[2];
} wake_inside_t;

AX_ASYNC(wake_inside_fn, wake_inside_t, self) {
  AX_BEGIN(self);
  for (int k = 0; k < 2; k++) {
    selfwake_t sw = {{&selfwake_vt}, 0, k, 10};
    ax_spawn(&sw.base, sizeof(sw), &self->h[k]);
  }
  AX_AWAIT(ax_join_wait(&self->h[0]));
  AX_AWAIT(ax_join_wait(&self->h[1]));
  for (int k = 0; k < 2; k++) {
    self->polls[k] = ((selfwake_t *)ax_join_output(&self->h[k]))->polls;
    ax_join_drop(&self->h[k]);
  }
  AX_END();
}

START_TEST(wake_from_inside_poll) {
  wake_inside_t s = {0};
  th_run(_i, 2, AX_FUTURE(wake_inside_fn, &s));
  ck_assert_int_eq(s.polls[0], 11);  /* woke itself 10 times: 11 polls */
  ck_assert_int_eq(s.polls[1], 11);
}
END_TEST

/* Wake from outside poll: from the block_on future, and from a thread
 * axle does not know (uv_thread). */
typedef struct {
  ax_async_t co;
  th_signal_t sig[2];
  th_counts_t c;
  ax_join_t h[2];
  uv_thread_t thr;
  int thread_started;
  int r[2];
} wake_outside_t;

static void fire_thread(void *arg) { th_signal_fire(arg); }

AX_ASYNC(wake_outside_fn, wake_outside_t, self) {
  AX_BEGIN(self);
  spawn_waiter(WAIT_SIGNAL, &self->c, &self->sig[0], &self->h[0]);
  spawn_waiter(WAIT_SIGNAL, &self->c, &self->sig[1], &self->h[1]);
  th_signal_fire(&self->sig[0]);  /* maybe before, maybe after its poll */
  self->thread_started =
      uv_thread_create(&self->thr, fire_thread, &self->sig[1]) == 0;
  AX_AWAIT(ax_join_wait(&self->h[0]));
  AX_AWAIT(ax_join_wait(&self->h[1]));
  if (self->thread_started) uv_thread_join(&self->thr);
  for (int k = 0; k < 2; k++) {
    self->r[k] = self->h[k].result;
    ax_join_drop(&self->h[k]);
  }
  AX_END();
}

START_TEST(wake_from_outside_poll) {
  wake_outside_t s = {0};
  th_signal_init(&s.sig[0]);
  th_signal_init(&s.sig[1]);
  th_run(_i, 2, AX_FUTURE(wake_outside_fn, &s));
  ck_assert(s.thread_started);
  ck_assert_int_eq(s.r[0], 0);
  ck_assert_int_eq(s.r[1], 0);
  ck_assert_int_eq(atomic_load(&s.c.readies), 2);
  ck_assert_int_eq(atomic_load(&s.c.drops), 2);
  th_signal_destroy(&s.sig[0]);
  th_signal_destroy(&s.sig[1]);
}
END_TEST

/* Wakes of a task that is idle coalesce: ten wakes, one poll
 * (current-thread, where nothing runs between the wakes). */
typedef struct {
  ax_future_t base;
  _Atomic(ax_waker_t *) *slot;   /* where its waker clone goes */
  int polls;
  int ready_at;
} stash_t;

static ax_poll_t stash_poll(ax_future_t *f, ax_cx_t *cx) {
  stash_t *s = (stash_t *)f;
  if (++s->polls >= s->ready_at) return AX_READY;
  if (atomic_load(s->slot) == NULL)
    atomic_store(s->slot, ax_waker_clone(ax_cx_waker(cx)));
  return AX_PENDING;
}

static const ax_future_vtable_t stash_vt = {stash_poll, NULL, "stash"};

/* Same, but the second wake completes it. */
typedef struct {
  ax_async_t co;
  ax_join_t h;
  _Atomic(ax_waker_t *) w;
  ax_yield_t y;
  int polls_1, polls_2;
} coalesce2_t;

AX_ASYNC(coalesce2_fn, coalesce2_t, self) {
  AX_BEGIN(self);
  {
    stash_t st = {{&stash_vt}, &self->w, 0, 3};
    ax_spawn(&st.base, sizeof(st), &self->h);
  }
  AX_AWAIT(ax_yield_now(&self->y));   /* the task runs: polls = 1 */
  for (int k = 0; k < 10; k++) ax_waker_wake_by_ref(atomic_load(&self->w));
  AX_AWAIT(ax_yield_now(&self->y));   /* runs once more: polls = 2 */
  self->polls_1 = ax_join_is_finished(&self->h);
  ax_waker_wake(atomic_exchange(&self->w, NULL));  /* the third completes it */
  AX_AWAIT(ax_join_wait(&self->h));
  self->polls_2 = ((stash_t *)ax_join_output(&self->h))->polls;
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(wakes_coalesce) {
  coalesce2_t s = {0};
  th_run(CURRENT, 0, AX_FUTURE(coalesce2_fn, &s));
  ck_assert_int_eq(s.polls_1, 0);  /* ten wakes made one poll, not three */
  ck_assert_int_eq(s.polls_2, 3);
}
END_TEST

/* Wake after completion is harmless: the clone outlives the task's end,
 * and even the runtime; no extra poll, no crash, no leak. */
typedef struct {
  ax_async_t co;
  ax_join_t h;
  _Atomic(ax_waker_t *) w;
  ax_yield_t y;
  int polls_at_join, polls_after_wakes;
} late_wake_t;

AX_ASYNC(late_wake_fn, late_wake_t, self) {
  AX_BEGIN(self);
  {
    stash_t st = {{&stash_vt}, &self->w, 0, 2};
    ax_spawn(&st.base, sizeof(st), &self->h);
  }
  while (atomic_load(&self->w) == NULL) AX_AWAIT(ax_yield_now(&self->y));
  ax_waker_wake_by_ref(atomic_load(&self->w));   /* this one completes it */
  AX_AWAIT(ax_join_wait(&self->h));
  self->polls_at_join = ((stash_t *)ax_join_output(&self->h))->polls;
  /* Now wake the finished task in every way. */
  {
    ax_waker_t *w = atomic_load(&self->w);
    ax_waker_wake_by_ref(w);
    ax_waker_wake(ax_waker_clone(w));
    ax_waker_drop(ax_waker_clone(w));
  }
  AX_AWAIT(ax_yield_now(&self->y));
  AX_AWAIT(ax_yield_now(&self->y));
  self->polls_after_wakes = ((stash_t *)ax_join_output(&self->h))->polls;
  ax_join_drop(&self->h);
  /* self->w is kept past the runtime. */
  AX_END();
}

START_TEST(wake_after_completion) {
  late_wake_t s = {0};
  th_run(_i, 2, AX_FUTURE(late_wake_fn, &s));
  ck_assert_int_eq(s.polls_at_join, 2);
  ck_assert_int_eq(s.polls_after_wakes, 2);
  /* The runtime is gone; the waker still holds the task's memory. */
  ax_waker_t *w = atomic_load(&s.w);
  ax_waker_wake_by_ref(w);
  ax_waker_wake(ax_waker_clone(w));
  ax_waker_wake(w);                /* the last reference: frees the task */
}
END_TEST

/* The join handle's waker follows whoever polls it last: polled with W1,
 * then with W2, only W2 is woken at completion and W1's clone is gone. */
typedef struct {
  ax_async_t co;
  th_signal_t go;
  th_counts_t c;
  ax_join_t h;
  ax_yield_t y;
  th_cx_t w1, w2;
  int p1, p2, p3;
  int w1_refs_after_w2, w1_wakes, w2_wakes, result;
} rejoin_t;

AX_ASYNC(rejoin_fn, rejoin_t, self) {
  AX_BEGIN(self);
  spawn_waiter(WAIT_SIGNAL, &self->c, &self->go, &self->h);
  th_cx_init(&self->w1);
  th_cx_init(&self->w2);
  self->p1 = TH_POLL(ax_join_wait(&self->h), &self->w1);
  self->p2 = TH_POLL(ax_join_wait(&self->h), &self->w2);
  self->w1_refs_after_w2 = self->w1.w.refs;
  th_signal_fire(&self->go);
  while (!ax_join_is_finished(&self->h)) AX_AWAIT(ax_yield_now(&self->y));
  self->p3 = TH_POLL(ax_join_wait(&self->h), &self->w2);
  self->w1_wakes = self->w1.w.wakes;
  self->result = self->h.result;
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(join_waker_replaced) {
  rejoin_t s = {0};
  th_signal_init(&s.go);
  th_run(_i, 2, AX_FUTURE(rejoin_fn, &s));
  ck_assert_int_eq(s.p1, AX_PENDING);
  ck_assert_int_eq(s.p2, AX_PENDING);
  ck_assert_int_eq(s.p3, AX_READY);
  ck_assert_int_eq(s.w1_refs_after_w2, 0);  /* W1's clone was released */
  ck_assert_int_eq(s.w1_wakes, 0);
  ck_assert_int_eq(s.w2.w.wakes, 1);
  ck_assert_int_eq(s.result, 0);
  ck_assert_int_eq(s.w1.w.refs, 0);
  ck_assert_int_eq(s.w2.w.refs, 0);  /* no clone left anywhere */
  th_signal_destroy(&s.go);
}
END_TEST

/* ---- yield --------------------------------------------------------------- */

typedef struct {
  ax_async_t co;
  int who;
  int *log;
  _Atomic int *n;
  int k;
} yielder_t;

AX_ASYNC(yielder_fn, yielder_t, self) {
  AX_BEGIN(self);
  for (self->k = 0; self->k < 5; self->k++) {
    self->log[atomic_fetch_add(self->n, 1)] = self->who;
    AX_YIELD();
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t h[2];
  int log[16];
  _Atomic int n;
} yield_t;

AX_ASYNC(yield_fn, yield_t, self) {
  AX_BEGIN(self);
  for (int k = 0; k < 2; k++) {
    yielder_t y = {0};
    y.who = k;
    y.log = self->log;
    y.n = &self->n;
    AX_SPAWN(yielder_fn, &y, &self->h[k]);
  }
  AX_AWAIT(ax_join_wait(&self->h[0]));
  AX_AWAIT(ax_join_wait(&self->h[1]));
  ax_join_drop(&self->h[0]);
  ax_join_drop(&self->h[1]);
  AX_END();
}

START_TEST(yield_lets_others_run) {
  /* Current-thread: two yielding tasks alternate strictly. */
  yield_t s = {0};
  th_run(CURRENT, 0, AX_FUTURE(yield_fn, &s));
  ck_assert_int_eq(atomic_load(&s.n), 10);
  for (int k = 1; k < 10; k++)
    ck_assert_msg(s.log[k] != s.log[k - 1], "no alternation at %d", k);
}
END_TEST

/* ---- panics -------------------------------------------------------------- */

/* A leaf whose poll panics (so the panic happens inside a child future). */
typedef struct {
  ax_future_t base;
  int *drops;
  int code;
} bomb_t;

static ax_poll_t bomb_poll(ax_future_t *f, ax_cx_t *cx) {
  bomb_t *b = (bomb_t *)f;
  (void)cx;
  ax_panic("boom %d", b->code);
}

/* Two panicking tasks may drop on two workers at once: count atomically. */
static void count_drop(int *n) { atomic_fetch_add((_Atomic int *)n, 1); }
static void bomb_drop(ax_future_t *f) { count_drop(((bomb_t *)f)->drops); }

static const ax_future_vtable_t bomb_vt = {bomb_poll, bomb_drop, "bomb"};

typedef struct {
  ax_async_t co;
  ax_yield_t y;
  bomb_t bomb;
  int *on_drops;
  int *child_drops;
  int use_assert;
  int x;
  int after;
} panicker_t;

AX_ASYNC(panicker_fn, panicker_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_yield_now(&self->y));
  if (self->use_assert) {
    self->x = 1;
    ax_assert(self->x == 2);
  }
  self->bomb.base.vtable = &bomb_vt;
  self->bomb.drops = self->child_drops;
  self->bomb.code = 7;
  AX_AWAIT(&self->bomb.base);
  self->after = 1;   /* never */
  AX_END();
}

AX_ASYNC_DROP(panicker_on_drop, panicker_t, p) { count_drop(p->on_drops); }

static int spawn_panicker(ax_runtime_t *rt, const char *name, int use_assert,
                          int *on_drops, int *child_drops, ax_join_t *h) {
  panicker_t p = {0};
  p.on_drops = on_drops;
  p.child_drops = child_drops;
  p.use_assert = use_assert;
  return ax_spawn_named(rt, name,
                        AX_FUTURE_DROP(panicker_fn, panicker_on_drop, &p),
                        sizeof(p), h);
}

typedef struct {
  ax_async_t co;
  ax_join_t h[2];
  ax_join_t after;
  th_task_t a;
  int on_drops, child_drops;
  int result[2];
  char msg[2][256];
  void *output;
  int after_result, after_out;
} panic_t;

AX_ASYNC(panic_fn, panic_t, self) {
  AX_BEGIN(self);
  spawn_panicker(ax_runtime_current(), NULL, 0, &self->on_drops,
                 &self->child_drops, &self->h[0]);
  spawn_panicker(ax_runtime_current(), "asserter", 1, &self->on_drops,
                 &self->child_drops, &self->h[1]);
  AX_AWAIT(ax_join_wait(&self->h[0]));
  AX_AWAIT(ax_join_wait(&self->h[1]));
  for (int k = 0; k < 2; k++) {
    const char *m = ax_join_panic_message(&self->h[k]);
    self->result[k] = self->h[k].result;
    snprintf(self->msg[k], sizeof(self->msg[k]), "%s", m ? m : "(null)");
  }
  self->output = ax_join_output(&self->h[0]);
  ax_join_drop(&self->h[0]);
  ax_join_drop(&self->h[1]);
  /* The runtime goes on. */
  th_task(&self->a, 50, 1);
  AX_SPAWN(th_task_fn, &self->a, &self->after);
  AX_AWAIT(ax_join_wait(&self->after));
  self->after_result = self->after.result;
  self->after_out = AX_JOIN_OUTPUT(&self->after, th_task_t)->out;
  ax_join_drop(&self->after);
  AX_END();
}

START_TEST(panic_is_captured) {
  th_hook_t hook;
  th_hook_init(&hook);
  ax_runtime_t *rt = th_runtime(_i, 2, &hook);
  panic_t s = {0};
  th_block_on(rt, AX_FUTURE(panic_fn, &s));
  ck_assert_int_eq(s.result[0], AX_EPANIC);
  ck_assert_str_eq(s.msg[0], "boom 7");
  ck_assert_int_eq(s.result[1], AX_EPANIC);
  ck_assert_msg(strstr(s.msg[1], "assertion failed: self->x == 2") != NULL,
                "message: %s", s.msg[1]);
  ck_assert_msg(strstr(s.msg[1], "test-task.c:") != NULL, "message: %s",
                s.msg[1]);
  ck_assert_ptr_null(s.output);
  /* Both futures were dropped: the async's on_drop each time, and the
   * child it was awaiting (the bomb) in the first. */
  ck_assert_int_eq(s.on_drops, 2);
  ck_assert_int_eq(s.child_drops, 1);
  ck_assert_int_eq(s.after_result, 0);
  ck_assert_int_eq(s.after_out, 100);
  th_finish(rt, AX_FUTURE_OF(&s));
  ck_assert_int_eq(s.on_drops, 2);
  ck_assert_int_eq(atomic_load(&hook.calls), 0);  /* joined: no hook */
  th_hook_destroy(&hook);
}
END_TEST

/* Panics nobody joins reach the hook exactly once, with message and name:
 * detached at spawn, handle dropped while running, handle dropped after the
 * end without looking. */
typedef struct {
  ax_async_t co;
  th_hook_t *hook;
  ax_join_t h[2];
  ax_yield_t y;
  int on_drops, child_drops;
  int calls[3];
  char name0[64];
} unjoined_t;

AX_ASYNC(unjoined_fn, unjoined_t, self) {
  AX_BEGIN(self);
  spawn_panicker(ax_runtime_current(), "lonely", 0, &self->on_drops,
                 &self->child_drops, NULL);
  while (atomic_load(&self->hook->calls) < 1) AX_AWAIT(ax_yield_now(&self->y));
  uv_mutex_lock(&self->hook->lock);
  snprintf(self->name0, sizeof(self->name0), "%s", self->hook->name);
  uv_mutex_unlock(&self->hook->lock);
  self->calls[0] = atomic_load(&self->hook->calls);

  spawn_panicker(ax_runtime_current(), NULL, 0, &self->on_drops,
                 &self->child_drops, &self->h[0]);
  ax_join_drop(&self->h[0]);   /* before it could run */
  while (atomic_load(&self->hook->calls) < 2) AX_AWAIT(ax_yield_now(&self->y));
  self->calls[1] = atomic_load(&self->hook->calls);

  spawn_panicker(ax_runtime_current(), NULL, 0, &self->on_drops,
                 &self->child_drops, &self->h[1]);
  while (!ax_join_is_finished(&self->h[1])) AX_AWAIT(ax_yield_now(&self->y));
  self->calls[2] = atomic_load(&self->hook->calls);  /* still 2: handle */
  ax_join_drop(&self->h[1]);   /* unseen panic: reported now */
  AX_END();
}

START_TEST(unjoined_panic_goes_to_hook) {
  th_hook_t hook;
  th_hook_init(&hook);
  ax_runtime_t *rt = th_runtime(_i, 2, &hook);
  unjoined_t s = {0};
  s.hook = &hook;
  th_block_on(rt, AX_FUTURE(unjoined_fn, &s));
  ck_assert_int_eq(s.calls[0], 1);
  ck_assert_str_eq(s.name0, "lonely");
  ck_assert_int_eq(s.calls[1], 2);
  ck_assert_int_eq(s.calls[2], 2);
  ck_assert_int_eq(atomic_load(&hook.calls), 3);
  ck_assert_str_eq(hook.msg, "boom 7");
  ck_assert_str_eq(hook.name, "");
  ck_assert_int_eq(s.on_drops, 3);
  ck_assert_int_eq(s.child_drops, 3);
  th_finish(rt, AX_FUTURE_OF(&s));
  ck_assert_int_eq(atomic_load(&hook.calls), 3);
  th_hook_destroy(&hook);
}
END_TEST

/* The block_on future itself panics: ax_block_on says AX_EPANIC, the
 * future's drop ran, and the runtime can be used again. */
START_TEST(block_on_future_panics) {
  th_hook_t hook;
  th_hook_init(&hook);
  ax_runtime_t *rt = th_runtime(_i, 2, &hook);
  int on_drops = 0, child_drops = 0;
  panicker_t p = {0};
  p.on_drops = &on_drops;
  p.child_drops = &child_drops;
  TH_ASSERT_ERR(ax_block_on(rt, AX_FUTURE_DROP(panicker_fn, panicker_on_drop,
                                               &p)),
                AX_EPANIC);
  ck_assert_int_eq(on_drops, 1);
  ck_assert_int_eq(child_drops, 1);
  ck_assert_int_eq(p.after, 0);
  ax_drop(AX_FUTURE_OF(&p));            /* a second drop is harmless */
  ck_assert_int_eq(on_drops, 1);
  {
    th_task_t a;
    th_block_on(rt, th_task(&a, 3, 1));
    ck_assert_int_eq(a.out, 6);
  }
  ax_runtime_free(rt);
  ck_assert_int_eq(atomic_load(&hook.calls), 0);  /* reported by block_on */
  th_hook_destroy(&hook);
}
END_TEST

/* ---- ax_spawn_fn --------------------------------------------------------- */

static void *plus_one(void *arg) { return (char *)arg + 1; }

static void *fn_panics(void *arg) {
  ax_panic("fn says %s", (const char *)arg);
}

static _Atomic int fn_runs;
static void *count_run(void *arg) {
  atomic_fetch_add(&fn_runs, 1);
  return arg;
}

typedef struct {
  ax_async_t co;
  ax_join_t h[3];
  char buf[4];
  int rc[3];
  void *value[2];
  void *output0;   /* *ax_join_output(), read before the drop */
  void *value_again;  /* a second ax_join_value: moved out, NULL */
  int result[3];
  char msg[128];
  uint64_t fn_task_id;
  int k;
} spawn_fn_t;

static void *record_id(void *arg) {
  *(uint64_t *)arg = ax_task_id();
  return NULL;
}

AX_ASYNC(spawn_fn_fn, spawn_fn_t, self) {
  AX_BEGIN(self);
  self->rc[0] = ax_spawn_fn(plus_one, self->buf, &self->h[0]);
  self->rc[1] = ax_spawn_fn(fn_panics, "hi", &self->h[1]);
  self->rc[2] = ax_spawn_fn(record_id, &self->fn_task_id, &self->h[2]);
  ax_spawn_fn(count_run, NULL, NULL);  /* detached */
  for (self->k = 0; self->k < 3; self->k++)
    AX_AWAIT(ax_join_wait(&self->h[self->k]));
  for (int k = 0; k < 3; k++) self->result[k] = self->h[k].result;
  self->output0 = ax_join_output(&self->h[0]) != NULL
                     ? *(void **)ax_join_output(&self->h[0])
                     : NULL;
  self->value[0] = ax_join_value(&self->h[0]);
  self->value_again = ax_join_value(&self->h[0]);  /* moved out: NULL */
  self->value[1] = ax_join_value(&self->h[1]);
  snprintf(self->msg, sizeof(self->msg), "%s",
           ax_join_panic_message(&self->h[1]));
  for (int k = 0; k < 3; k++) ax_join_drop(&self->h[k]);
  AX_END();
}

START_TEST(spawn_fn_value) {
  spawn_fn_t s = {0};
  atomic_store(&fn_runs, 0);
  th_run(_i, 2, AX_FUTURE(spawn_fn_fn, &s));
  for (int k = 0; k < 3; k++) TH_ASSERT_OK(s.rc[k]);
  ck_assert_int_eq(s.result[0], 0);
  ck_assert_ptr_eq(s.value[0], s.buf + 1);
  ck_assert_ptr_eq(s.output0, s.buf + 1);
  ck_assert_ptr_null(s.value_again);
  ck_assert_int_eq(s.result[1], AX_EPANIC);
  ck_assert_ptr_null(s.value[1]);
  ck_assert_str_eq(s.msg, "fn says hi");
  ck_assert_int_eq(s.result[2], 0);
  ck_assert_uint_ne(s.fn_task_id, 0);  /* runs as a task */
  /* The detached one ran, or was dropped at shutdown (multi-thread may
   * not have reached it): never twice. */
  ck_assert_int_le(atomic_load(&fn_runs), 1);
}
END_TEST

/* ---- task ids ------------------------------------------------------------ */

typedef struct {
  ax_async_t co;
  ax_join_t h[8];
  th_task_t a;
  uint64_t main_id;
  uint64_t ids[8];
  int k;
} ids_t;

AX_ASYNC(ids_fn, ids_t, self) {
  AX_BEGIN(self);
  self->main_id = ax_task_id();
  for (int k = 0; k < 8; k++) {
    th_task(&self->a, 0, 1);
    AX_SPAWN(th_task_fn, &self->a, &self->h[k]);
  }
  for (self->k = 0; self->k < 8; self->k++)
    AX_AWAIT(ax_join_wait(&self->h[self->k]));
  for (int k = 0; k < 8; k++) {
    self->ids[k] = AX_JOIN_OUTPUT(&self->h[k], th_task_t)->id;
    ax_join_drop(&self->h[k]);
  }
  AX_END();
}

START_TEST(task_ids) {
  ids_t s = {0};
  ck_assert_uint_eq(ax_task_id(), 0);  /* not in a task */
  th_run(_i, 2, AX_FUTURE(ids_fn, &s));
  ck_assert_uint_eq(s.main_id, 1);     /* the first task of the runtime */
  for (int k = 0; k < 8; k++) {
    ck_assert_uint_ne(s.ids[k], 0);
    ck_assert_uint_ne(s.ids[k], s.main_id);
    for (int j = 0; j < k; j++) ck_assert_uint_ne(s.ids[k], s.ids[j]);
  }
  ck_assert_uint_eq(ax_task_id(), 0);
}
END_TEST

/* ---- spawn from other places --------------------------------------------- */

/* A chain: each task spawns the next and awaits it. */
typedef struct chain_s {
  ax_async_t co;
  int depth;
  ax_join_t next;
  int out;
} chain_t;

AX_ASYNC(chain_fn, chain_t, self) {
  AX_BEGIN(self);
  if (self->depth == 0) {
    self->out = 0;
    AX_RETURN();
  }
  {
    chain_t c = {0};
    c.depth = self->depth - 1;
    if (AX_SPAWN(chain_fn, &c, &self->next) != 0) {
      self->out = -1000000;
      AX_RETURN();
    }
  }
  AX_AWAIT(ax_join_wait(&self->next));
  self->out = ((chain_t *)ax_join_output(&self->next))->out + 1;
  ax_join_drop(&self->next);
  AX_END();
}

START_TEST(spawn_chain) {
  chain_t c = {0};
  c.depth = 200;
  th_run(_i, 2, AX_FUTURE(chain_fn, &c));
  ck_assert_int_eq(c.out, 200);
}
END_TEST

/* ax_spawn_on from the main thread before block_on, and from a foreign
 * thread during it; the handles are awaited inside. */
typedef struct {
  ax_runtime_t *rt;
  ax_join_t *h;
  int rc;
} foreign_spawn_t;

static void foreign_spawner(void *arg) {
  foreign_spawn_t *fs = arg;
  th_task_t a;
  fs->rc = ax_spawn_on(fs->rt, th_task(&a, 11, 1), sizeof(a), fs->h);
}

typedef struct {
  ax_async_t co;
  ax_join_t *pre;
  ax_join_t mid;
  foreign_spawn_t fs;
  uv_thread_t thr;
  int out_pre, out_mid;
} spawn_on_t;

AX_ASYNC(spawn_on_fn, spawn_on_t, self) {
  AX_BEGIN(self);
  self->fs.rt = ax_runtime_current();
  self->fs.h = &self->mid;
  if (uv_thread_create(&self->thr, foreign_spawner, &self->fs) != 0)
    AX_RETURN();
  uv_thread_join(&self->thr);   /* the spawn is done; the task may not be */
  AX_AWAIT(ax_join_wait(self->pre));
  AX_AWAIT(ax_join_wait(&self->mid));
  self->out_pre = AX_JOIN_OUTPUT(self->pre, th_task_t)->out;
  self->out_mid = AX_JOIN_OUTPUT(&self->mid, th_task_t)->out;
  ax_join_drop(self->pre);
  ax_join_drop(&self->mid);
  AX_END();
}

START_TEST(spawn_on_from_any_thread) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  ax_join_t pre;
  th_task_t a;
  spawn_on_t s = {0};
  TH_ASSERT_OK(ax_spawn_on(rt, th_task(&a, 10, 1), sizeof(a), &pre));
  s.pre = &pre;
  th_block_on(rt, AX_FUTURE(spawn_on_fn, &s));
  th_finish(rt, AX_FUTURE_OF(&s));
  TH_ASSERT_OK(s.fs.rc);
  ck_assert_int_eq(s.out_pre, 20);
  ck_assert_int_eq(s.out_mid, 22);
}
END_TEST

/* ---- panic outside a task ------------------------------------------------ */

START_TEST(panic_outside_task_aborts) {
  /* Registered only in fork mode: it kills its process with SIGABRT. */
  ax_panic("no task here %d", 1);
}
END_TEST

Suite *ax_task_suite(void) {
  return AX_SUITE("task",
                  AX_CASE("spawn", 0),
                  AX_FLAVOURS(spawn_and_join),
                  AX_FLAVOURS(spawn_copies_the_future),
                  AX_FLAVOURS(never_spawned_never_polled),
                  AX_ONCE(spawned_but_never_driven),
                  AX_FLAVOURS(spawn_chain),
                  AX_FLAVOURS(spawn_on_from_any_thread),
                  AX_FLAVOURS(detached_tasks_run),
                  AX_FLAVOURS(spawn_fn_value),
                  AX_FLAVOURS(task_ids),
                  AX_CASE("misuse", 0),
                  AX_ONCE(spawn_outside_runtime),
                  AX_FLAVOURS(spawn_invalid_arguments),
                  AX_FLAVOURS(join_twice),
                  AX_CASE("abort", 0),
                  AX_LOOP(abort_sleeping_task, 0, 4),
                  AX_FLAVOURS(abort_queued_task),
                  AX_FLAVOURS(abort_running_task_from_itself),
                  AX_ONCE(abort_running_task_multi_thread),
                  AX_FLAVOURS(abort_finished_task),
                  AX_CASE("wake", 0),
                  AX_FLAVOURS(wake_from_inside_poll),
                  AX_FLAVOURS(wake_from_outside_poll),
                  AX_ONCE(wakes_coalesce),
                  AX_FLAVOURS(wake_after_completion),
                  AX_FLAVOURS(join_waker_replaced),
                  AX_ONCE(yield_lets_others_run),
                  AX_CASE("panic", 0),
                  AX_FLAVOURS(panic_is_captured),
                  AX_FLAVOURS(unjoined_panic_goes_to_hook),
                  AX_FLAVOURS(block_on_future_panics),
                  /* Only where Check forks: it kills its process. */
                  AX_SIGNAL(th_no_fork() ? NULL : panic_outside_task_aborts,
                            SIGABRT));
}
