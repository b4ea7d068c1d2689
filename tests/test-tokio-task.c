/* Tokio parity suite for tasks: Tokio's own task tests (task_abort.rs,
 * task_id.rs, rt_common.rs, task_join_set.rs, task_local.rs), ported to
 * axle, and the tests of the task API that came with them (abort handles,
 * JoinSet, task-locals, spawn sites, local tasks).
 *
 * Each test is named after the Tokio test it ports, and the comment above
 * it names the Tokio file (tokio/tests/<file>.rs).  Tests for axle APIs
 * that Tokio has no test for carry a name of their own and say so.
 *
 * Loop tests run on both flavours (_i == CURRENT, MULTI).  Nothing is
 * timed: a test waits for events (a flag set by a drop, a latch, a join
 * handle) and asserts counts and states; a hang is a failure through the
 * test case's timeout.  Tasks count what they find wrong in `errors`
 * (a ck_assert on a worker thread would not unwind cleanly).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define WORKERS 3   /* of the multi-thread runtime */

static atomic_int errors;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                      \
      atomic_fetch_add(&errors, 1);                                        \
    }                                                                      \
  } while (0)

/* Runs the async function fn over *state (in place: its fields are the
 * test's results) as the block_on future of a fresh runtime of flavour
 * `multi`; it must count no error. */
#define RUN_MAIN(multi, fn, state)                                         \
  th_run_checked((multi), WORKERS, AX_FUTURE(fn, (state)), &errors)

/* ---- a leaf future for these tests --------------------------------------
 *
 * pend: pending forever (nothing wakes it); otherwise ready at once.  Its
 * polls set *polled and record ax_task_id() in *poll_id; its drop records
 * ax_task_id() in *drop_id, sets *dropped, sets *wrong_thread when it runs
 * on another thread than `home`, and panics when panic_on_drop is set. */
typedef struct probe_s {
  ax_future_t base;
  int pend;
  int panic_on_drop;
  atomic_int *polled;
  atomic_int *dropped;
  _Atomic uint64_t *poll_id;
  _Atomic uint64_t *drop_id;
  atomic_int *wrong_thread;   /* when set: dropped off `home` */
  uv_thread_t home;
} probe_t;

static ax_poll_t probe_poll(ax_future_t *f, ax_cx_t *cx) {
  probe_t *p = (probe_t *)f;
  (void)cx;
  if (p->poll_id != NULL) atomic_store(p->poll_id, ax_task_id());
  if (p->polled != NULL) atomic_store(p->polled, 1);
  return p->pend ? AX_PENDING : AX_READY;
}

static void probe_drop(ax_future_t *f) {
  probe_t *p = (probe_t *)f;
  if (p->drop_id != NULL) atomic_store(p->drop_id, ax_task_id());
  if (p->dropped != NULL) atomic_store(p->dropped, 1);
  if (p->wrong_thread != NULL) {
    uv_thread_t me = uv_thread_self();
    if (!uv_thread_equal(&me, &p->home)) atomic_store(p->wrong_thread, 1);
  }
  if (p->panic_on_drop) {
    p->panic_on_drop = 0;
    ax_panic("panic in drop");
  }
}

static const ax_future_vtable_t probe_vtable = {probe_poll, probe_drop,
                                                "probe"};

static ax_future_t *probe(probe_t *p, int pend) {
  memset(p, 0, sizeof(*p));
  p->base.vtable = &probe_vtable;
  p->pend = pend;
  return &p->base;
}

/* ======================================================================
 * Bugs of issue 13
 * ====================================================================== */

/* A task that owns a probe, spawned, polled once, aborted. */
typedef struct {
  ax_async_t co;
  probe_t p;
  ax_join_t h;
  ax_yield_t y;
  atomic_int polled, dropped;
  _Atomic uint64_t drop_id;
  int drop_handle;   /* drop the handle right after the abort */
  int result;        /* the handle's result */
  char msg[64];      /* its panic message */
} abort_probe_t;

AX_ASYNC(abort_probe, abort_probe_t, s) {
  AX_BEGIN(s);
  probe(&s->p, 1);
  s->p.panic_on_drop = 1;
  s->p.polled = &s->polled;
  s->p.dropped = &s->dropped;
  s->p.drop_id = &s->drop_id;
  CHECK(ax_spawn(&s->p.base, sizeof(s->p), &s->h) == 0);
  /* "wait for task to sleep": until its first poll. */
  while (!atomic_load(&s->polled)) AX_AWAIT(ax_yield_now(&s->y));
  CHECK(ax_abort(&s->h) == 0);
  if (s->drop_handle) {
    ax_join_drop(&s->h);
    /* "wait for task to abort" */
    while (!atomic_load(&s->dropped)) AX_AWAIT(ax_yield_now(&s->y));
    AX_RETURN();
  }
  AX_AWAIT(ax_join_wait(&s->h));
  s->result = s->h.result;
  snprintf(s->msg, sizeof(s->msg), "%s",
           ax_join_panic_message(&s->h) ? ax_join_panic_message(&s->h) : "");
  ax_join_drop(&s->h);
  AX_END();
}

/* task_abort.rs: test_abort_task_that_panics_on_drop_contained.  The
 * drop's panic stays in the task: the process goes on, and with the
 * handle dropped the panic reaches the panic hook. */
START_TEST(test_abort_task_that_panics_on_drop_contained) {
  abort_probe_t m;
  th_hook_t hook;
  ax_runtime_t *rt;
  memset(&m, 0, sizeof(m));
  m.drop_handle = 1;
  th_hook_init(&hook);
  rt = th_runtime(_i, WORKERS, &hook);
  atomic_store(&errors, 0);
  th_run_on(rt, AX_FUTURE(abort_probe, &m));
  ck_assert_int_eq(atomic_load(&errors), 0);
  ck_assert_int_eq(atomic_load(&m.dropped), 1);
  ck_assert_int_eq(atomic_load(&hook.calls), 1);
  ck_assert_ptr_nonnull(strstr(hook.msg, "panic in drop"));
  th_hook_destroy(&hook);
}
END_TEST

/* task_abort.rs: test_abort_task_that_panics_on_drop_returned: the join
 * handle reports the panic (not a cancellation). */
START_TEST(test_abort_task_that_panics_on_drop_returned) {
  abort_probe_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, abort_probe, &m);
  ck_assert_int_eq(m.result, AX_EPANIC);
  ck_assert_str_eq(m.msg, "panic in drop");
}
END_TEST

/* task_id.rs: task_id_future_destructor_abort: ax_task_id() inside the
 * drop that an abort runs is the task's id. */
typedef struct {
  ax_async_t co;
  probe_t p;
  ax_join_t h;
  ax_yield_t y;
  atomic_int polled;
  _Atomic uint64_t poll_id, drop_id;
  int pend;       /* 1: abort it (Pending); 0: let it complete (Ready) */
  int result;
} id_drop_t;

AX_ASYNC(id_drop, id_drop_t, s) {
  AX_BEGIN(s);
  probe(&s->p, s->pend);
  s->p.polled = &s->polled;
  s->p.poll_id = &s->poll_id;
  s->p.drop_id = &s->drop_id;
  CHECK(ax_spawn(&s->p.base, sizeof(s->p), &s->h) == 0);
  if (s->pend) {
    while (!atomic_load(&s->polled)) AX_AWAIT(ax_yield_now(&s->y));
    CHECK(ax_abort(&s->h) == 0);
  }
  AX_AWAIT(ax_join_wait(&s->h));
  s->result = s->h.result;
  ax_join_drop(&s->h);
  AX_END();
}

START_TEST(task_id_future_destructor_abort) {
  id_drop_t m;
  memset(&m, 0, sizeof(m));
  m.pend = 1;
  RUN_MAIN(_i, id_drop, &m);
  ck_assert_int_eq(m.result, AX_ECANCELED);
  ck_assert_uint_ne(atomic_load(&m.poll_id), 0);
  ck_assert_uint_eq(atomic_load(&m.drop_id), atomic_load(&m.poll_id));
}
END_TEST

/* task_id.rs: task_id_future_destructor_completion: the same in the drop
 * that runs when the task completes. */
START_TEST(task_id_future_destructor_completion) {
  id_drop_t m;
  memset(&m, 0, sizeof(m));
  m.pend = 0;
  RUN_MAIN(_i, id_drop, &m);
  ck_assert_int_eq(m.result, 0);
  ck_assert_uint_ne(atomic_load(&m.poll_id), 0);
  ck_assert_uint_eq(atomic_load(&m.drop_id), atomic_load(&m.poll_id));
}
END_TEST

/* axle's own: a drop that panics when a task completes is that task's
 * panic (it used to abort the process: no poll was armed any more). */
typedef struct {
  ax_async_t co;
  probe_t p;
  ax_join_t h;
  int result;
} done_panic_t;

AX_ASYNC(done_panic, done_panic_t, s) {
  AX_BEGIN(s);
  probe(&s->p, 0);
  s->p.panic_on_drop = 1;
  CHECK(ax_spawn(&s->p.base, sizeof(s->p), &s->h) == 0);
  AX_AWAIT(ax_join_wait(&s->h));
  s->result = s->h.result;
  CHECK(ax_join_output(&s->h) == NULL);
  ax_join_drop(&s->h);
  AX_END();
}

START_TEST(panic_in_drop_at_completion) {
  done_panic_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, done_panic, &m);
  ck_assert_int_eq(m.result, AX_EPANIC);
}
END_TEST

/* axle's own: a drop that panics while the runtime's shutdown cancels its
 * task is that task's panic too (the hook gets it); the shutdown goes on
 * and frees everything. */
typedef struct {
  ax_async_t co;
  probe_t p;
  ax_yield_t y;
  atomic_int polled;
} left_t;

AX_ASYNC(left_behind, left_t, s) {
  AX_BEGIN(s);
  probe(&s->p, 1);
  s->p.panic_on_drop = 1;
  s->p.polled = &s->polled;
  CHECK(ax_spawn(&s->p.base, sizeof(s->p), NULL) == 0);
  while (!atomic_load(&s->polled)) AX_AWAIT(ax_yield_now(&s->y));
  AX_END();
}

START_TEST(shutdown_drop_panic_contained) {
  left_t m;
  th_hook_t hook;
  memset(&m, 0, sizeof(m));
  th_hook_init(&hook);
  atomic_store(&errors, 0);
  th_run_on(th_runtime(_i, WORKERS, &hook), AX_FUTURE(left_behind, &m));
  ck_assert_int_eq(atomic_load(&errors), 0);
  ck_assert_int_eq(atomic_load(&hook.calls), 1);
  ck_assert_ptr_nonnull(strstr(hook.msg, "panic in drop"));
  th_hook_destroy(&hook);
}
END_TEST

/* rt_common.rs: spawn_from_blocking: a blocking job spawns onto its own
 * runtime (the job returns the join handle of the task it spawned). */
typedef struct {
  ax_async_t co;
  ax_join_t inner;   /* the job's spawn */
  int out;
} hello_t;

AX_ASYNC(hello, hello_t, s) {
  AX_BEGIN(s);
  s->out = 42;
  AX_END();
}

static void *spawn_job(void *arg) {
  ax_join_t *inner = arg;
  hello_t h;
  memset(&h, 0, sizeof(h));
  CHECK(ax_runtime_current() != NULL);
  if (AX_SPAWN(hello, &h, inner) != 0) return NULL;
  return inner;
}

typedef struct {
  ax_async_t co;
  ax_join_t job;
  ax_join_t inner;
  int out;
} from_blocking_t;

AX_ASYNC(from_blocking, from_blocking_t, s) {
  AX_BEGIN(s);
  CHECK(ax_spawn_blocking(spawn_job, &s->inner, &s->job) == 0);
  AX_AWAIT(ax_join_wait(&s->job));
  CHECK(s->job.result == 0);
  CHECK(ax_join_value(&s->job) == &s->inner);
  ax_join_drop(&s->job);
  AX_AWAIT(ax_join_wait(&s->inner));
  CHECK(s->inner.result == 0);
  if (s->inner.result == 0) s->out = AX_JOIN_OUTPUT(&s->inner, hello_t)->out;
  ax_join_drop(&s->inner);
  AX_END();
}

START_TEST(spawn_from_blocking) {
  from_blocking_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, from_blocking, &m);
  ck_assert_int_eq(m.out, 42);
}
END_TEST

/* task_id.rs: task_id_spawn_blocking: a blocking job has its task's id. */
static void *id_job(void *arg) {
  *(uint64_t *)arg = ax_task_id();
  return NULL;
}

typedef struct {
  ax_async_t co;
  ax_join_t job;
  uint64_t seen, mine;
} id_blocking_t;

AX_ASYNC(id_blocking, id_blocking_t, s) {
  AX_BEGIN(s);
  CHECK(ax_spawn_blocking(id_job, &s->seen, &s->job) == 0);
  s->mine = ax_task_id();
  AX_AWAIT(ax_join_wait(&s->job));
  CHECK(s->job.result == 0);
  ax_join_drop(&s->job);
  AX_END();
}

START_TEST(task_id_spawn_blocking) {
  id_blocking_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, id_blocking, &m);
  ck_assert_uint_ne(m.seen, 0);
  ck_assert_uint_ne(m.seen, m.mine);
  ck_assert_uint_eq(ax_task_id(), 0);
}
END_TEST

/* rt_common.rs: shutdown_timeout.  A blocking job that has started runs
 * on; shutdown_timeout(rt, 100) returns anyway (AX_ETIMEDOUT: axle frees
 * the runtime only once the job is done, the later ax_runtime_free).  On
 * main it did not return before the job did. */
typedef struct {
  uv_sem_t started, release;
} gate_t;

static void *gated_job(void *arg) {
  gate_t *g = arg;
  uv_sem_post(&g->started);
  uv_sem_wait(&g->release);   /* Tokio's thread::sleep(10_000 s) */
  return NULL;
}

typedef struct {
  ax_async_t co;
  gate_t *gate;
} start_job_t;

AX_ASYNC(start_job, start_job_t, s) {
  AX_BEGIN(s);
  CHECK(ax_spawn_blocking(gated_job, s->gate, NULL) == 0);
  AX_END();
}

START_TEST(shutdown_timeout) {
  gate_t g;
  start_job_t m;
  ax_runtime_t *rt;
  ck_assert_int_eq(uv_sem_init(&g.started, 0), 0);
  ck_assert_int_eq(uv_sem_init(&g.release, 0), 0);
  memset(&m, 0, sizeof(m));
  m.gate = &g;
  atomic_store(&errors, 0);
  rt = th_runtime(_i, WORKERS, NULL);
  th_block_on(rt, AX_FUTURE(start_job, &m));
  ax_drop(AX_FUTURE_OF(&m));
  uv_sem_wait(&g.started);
  ck_assert_int_eq(ax_runtime_shutdown_timeout(rt, 100), AX_ETIMEDOUT);
  uv_sem_post(&g.release);
  ck_assert_int_eq(ax_runtime_free(rt), 0);
  ck_assert_int_eq(atomic_load(&errors), 0);
  uv_sem_destroy(&g.started);
  uv_sem_destroy(&g.release);
}
END_TEST

/* ======================================================================
 * Task ids and abort handles (task_id.rs, task_abort.rs)
 * ====================================================================== */

/* task_id.rs: task_ids_match_{current,multi}_thread: the id from the join
 * handle is the one ax_task_id() gives inside the task (th_task records
 * it); and task_id_collision_*: two tasks, two ids. */
typedef struct {
  ax_async_t co;
  ax_join_t h[2];
  uint64_t id[2], inside[2];
  int i;
} ids_t;

AX_ASYNC(ids_match, ids_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 2; s->i++) {
    th_task_t w;
    CHECK(ax_spawn(th_task(&w, 0, 0), sizeof(w), &s->h[s->i]) == 0);
    s->id[s->i] = ax_join_id(&s->h[s->i]);
  }
  for (s->i = 0; s->i < 2; s->i++) {
    AX_AWAIT(ax_join_wait(&s->h[s->i]));
    CHECK(s->h[s->i].result == 0);
    s->inside[s->i] = AX_JOIN_OUTPUT(&s->h[s->i], th_task_t)->id;
    CHECK(ax_join_id(&s->h[s->i]) == s->id[s->i]);  /* still, once done */
    ax_join_drop(&s->h[s->i]);
  }
  CHECK(ax_join_id(&s->h[0]) == 0);   /* a dropped handle */
  AX_END();
}

START_TEST(task_ids_match) {
  ids_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, ids_match, &m);
  ck_assert_uint_eq(m.inside[0], m.id[0]);
  ck_assert_uint_eq(m.inside[1], m.id[1]);
  ck_assert_uint_ne(m.id[0], m.id[1]);
}
END_TEST

/* task_abort.rs: test_abort_wakes_task_3964, with an abort handle: the
 * join handle is dropped at once, the abort handle (Tokio's
 * JoinHandle::abort_handle) aborts the idle task later, and its future is
 * dropped.  Also: the abort handle tells the id and whether it ended,
 * and outlives the task. */
typedef struct {
  ax_async_t co;
  probe_t p;
  ax_join_t h;
  ax_abort_handle_t a, b;
  ax_yield_t y;
  atomic_int polled, dropped;
  uint64_t id;
} abort_handle_t_;

AX_ASYNC(abort_by_handle, abort_handle_t_, s) {
  AX_BEGIN(s);
  probe(&s->p, 1);
  s->p.polled = &s->polled;
  s->p.dropped = &s->dropped;
  CHECK(ax_spawn(&s->p.base, sizeof(s->p), &s->h) == 0);
  CHECK(ax_join_abort_handle(&s->h, &s->a) == 0);
  CHECK(ax_abort_handle_clone(&s->a, &s->b) == 0);
  s->id = ax_join_id(&s->h);
  CHECK(ax_abort_handle_id(&s->a) == s->id);
  ax_join_drop(&s->h);
  {
    ax_abort_handle_t none;
    CHECK(ax_join_abort_handle(&s->h, &none) == AX_EJOINED);
    CHECK(ax_abort_handle_id(&none) == 0);
  }
  while (!atomic_load(&s->polled)) AX_AWAIT(ax_yield_now(&s->y));
  CHECK(!ax_abort_handle_is_finished(&s->a));
  CHECK(ax_abort_handle_abort(&s->a) == 0);
  while (!atomic_load(&s->dropped) || !ax_abort_handle_is_finished(&s->b))
    AX_AWAIT(ax_yield_now(&s->y));
  CHECK(ax_abort_handle_abort(&s->b) == 0);  /* ended: does nothing */
  CHECK(ax_abort_handle_id(&s->b) == s->id);
  ax_abort_handle_drop(&s->a);
  ax_abort_handle_drop(&s->a);               /* twice: no-op */
  ax_abort_handle_drop(&s->b);
  CHECK(ax_abort_handle_abort(&s->a) == AX_EJOINED);
  CHECK(ax_abort_handle_id(&s->a) == 0);
  AX_END();
}

START_TEST(test_abort_wakes_task_3964) {
  abort_handle_t_ m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, abort_by_handle, &m);
  ck_assert_int_eq(atomic_load(&m.dropped), 1);
}
END_TEST

/* ======================================================================
 * Spawn sites (axle's own: Tokio records them only with tokio_unstable
 * tracing)
 * ====================================================================== */

static void *nothing(void *arg) { return arg; }

typedef struct {
  ax_async_t co;
  ax_join_t h[3];
  char want[3][512];
  th_task_t w;   /* zeroed: no yield */
  int i;
} sites_t;

AX_ASYNC(sites, sites_t, s) {
  AX_BEGIN(s);
  snprintf(s->want[0], sizeof(s->want[0]), "%s:%d", __FILE__, __LINE__ + 1);
  CHECK(AX_SPAWN(th_task_fn, &s->w, &s->h[0]) == 0);
  snprintf(s->want[1], sizeof(s->want[1]), "%s:%d", __FILE__, __LINE__ + 1);
  CHECK(ax_spawn_blocking(nothing, NULL, &s->h[1]) == 0);
  snprintf(s->want[2], sizeof(s->want[2]), "%s:%d", __FILE__, __LINE__ + 1);
  CHECK(ax_spawn_fn(nothing, NULL, &s->h[2]) == 0);
  for (s->i = 0; s->i < 3; s->i++) {
    CHECK(ax_join_spawn_site(&s->h[s->i]) != NULL &&
          strcmp(ax_join_spawn_site(&s->h[s->i]), s->want[s->i]) == 0);
    AX_AWAIT(ax_join_wait(&s->h[s->i]));
    CHECK(s->h[s->i].result == 0);
    ax_join_drop(&s->h[s->i]);
    CHECK(ax_join_spawn_site(&s->h[s->i]) == NULL);
  }
  /* The function itself, not the macro: no site. */
  CHECK((ax_spawn)(AX_FUTURE(th_task_fn, &s->w), sizeof(s->w), &s->h[0]) == 0);
  CHECK(ax_join_spawn_site(&s->h[0]) == NULL);
  AX_AWAIT(ax_join_wait(&s->h[0]));
  ax_join_drop(&s->h[0]);
  AX_END();
}

START_TEST(spawn_sites) {
  sites_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, sites, &m);
}
END_TEST

/* ======================================================================
 * JoinSet (tokio/tests/task_join_set.rs)
 * ====================================================================== */

/* A task that sleeps `ms` (0: not at all) and returns `i`. */
typedef struct {
  ax_async_t co;
  ax_sleep_t nap;
  int ms, i, out;
} napper_t;

AX_ASYNC(napper, napper_t, s) {
  AX_BEGIN(s);
  if (s->ms > 0) AX_AWAIT(ax_sleep(&s->nap, (uint64_t)s->ms));
  s->out = s->i;
  AX_END();
}

static ax_future_t *napper_init(napper_t *n, int ms, int i) {
  memset(n, 0, sizeof(*n));
  n->ms = ms;
  n->i = i;
  return AX_FUTURE(napper, n);
}

/* task_join_set.rs: test_with_sleep: len counts the spawns, detach_all
 * empties the set, join_next says "none" on an empty set, and every task
 * comes out once, twice over. */
typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_join_next_t next;
  ax_join_t done;
  int i, round, seen[10];
} with_sleep_t;

AX_ASYNC(with_sleep, with_sleep_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 10; s->i++) {
    napper_t n;
    CHECK(ax_join_set_spawn(&s->set, napper_init(&n, 0, s->i), sizeof(n),
                            NULL) == 0);
    CHECK(ax_join_set_len(&s->set) == (size_t)s->i + 1);
  }
  ax_join_set_detach_all(&s->set);
  CHECK(ax_join_set_len(&s->set) == 0);
  AX_AWAIT(ax_join_set_next(&s->next, &s->set, &s->done));
  CHECK(s->next.result == AX_EEMPTY);
  for (s->round = 0; s->round < 2; s->round++) {
    for (s->i = 0; s->i < 10; s->i++) {
      napper_t n;
      CHECK(ax_join_set_spawn(&s->set, napper_init(&n, s->i, s->i),
                              sizeof(n), NULL) == 0);
      CHECK(ax_join_set_len(&s->set) == (size_t)s->i + 1);
      s->seen[s->i] = 0;
    }
    for (;;) {
      AX_AWAIT(ax_join_set_next(&s->next, &s->set, &s->done));
      if (s->next.result == AX_EEMPTY) break;
      CHECK(s->next.result == 0 && s->done.result == 0);
      if (s->done.result == 0) {
        int i = AX_JOIN_OUTPUT(&s->done, napper_t)->out;
        CHECK(i >= 0 && i < 10);
        if (i >= 0 && i < 10) s->seen[i]++;
      }
      ax_join_drop(&s->done);
    }
    for (s->i = 0; s->i < 10; s->i++) CHECK(s->seen[s->i] == 1);
    CHECK(ax_join_set_is_empty(&s->set));
  }
  ax_join_set_drop(&s->set);
  AX_END();
}

START_TEST(test_with_sleep) {
  with_sleep_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, with_sleep, &m);
}
END_TEST

/* task_join_set.rs: test_abort_on_drop: dropping the set aborts its
 * tasks (each one's future is dropped).  The tasks are th_leaf futures
 * that pend forever; their drops count in `counted`. */
static th_counts_t counted;

typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_yield_t y;
} abort_on_drop_t;

AX_ASYNC(abort_on_drop, abort_on_drop_t, s) {
  AX_BEGIN(s);
  for (int i = 0; i < 16; i++) {
    th_leaf_t l;
    CHECK(ax_join_set_spawn(&s->set, th_leaf(&l, &counted, -1, 0), sizeof(l),
                            NULL) == 0);
  }
  ax_join_set_drop(&s->set);
  CHECK(ax_join_set_len(&s->set) == 0);
  while (atomic_load(&counted.drops) < 16) AX_AWAIT(ax_yield_now(&s->y));
  AX_END();
}

START_TEST(test_abort_on_drop) {
  abort_on_drop_t m;
  memset(&m, 0, sizeof(m));
  th_counts_reset(&counted);
  RUN_MAIN(_i, abort_on_drop, &m);
  ck_assert_int_eq(atomic_load(&counted.drops), 16);
}
END_TEST

/* task_join_set.rs: alternating. */
typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_join_next_t next;
  ax_join_t done;
  int i;
} alternating_t;

AX_ASYNC(alternating_body, alternating_t, s) {
  AX_BEGIN(s);
  CHECK(ax_join_set_len(&s->set) == 0);
  {
    napper_t n;
    CHECK(ax_join_set_spawn(&s->set, napper_init(&n, 0, 0), sizeof(n),
                            NULL) == 0);
    CHECK(ax_join_set_len(&s->set) == 1);
    CHECK(ax_join_set_spawn(&s->set, napper_init(&n, 0, 0), sizeof(n),
                            NULL) == 0);
    CHECK(ax_join_set_len(&s->set) == 2);
  }
  for (s->i = 0; s->i < 16; s->i++) {
    AX_AWAIT(ax_join_set_next(&s->next, &s->set, &s->done));
    CHECK(s->next.result == 0 && s->done.result == 0);
    ax_join_drop(&s->done);
    CHECK(ax_join_set_len(&s->set) == 1);
    {
      napper_t n;
      CHECK(ax_join_set_spawn(&s->set, napper_init(&n, 0, 0), sizeof(n),
                              NULL) == 0);
    }
    CHECK(ax_join_set_len(&s->set) == 2);
  }
  ax_join_set_drop(&s->set);
  AX_END();
}

START_TEST(alternating) {
  alternating_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, alternating_body, &m);
}
END_TEST

/* task_join_set.rs: abort_tasks: the abort handle that spawn gives
 * aborts one task of the set; the odd ones pend for ever (Tokio: sleep
 * i seconds on paused time), so only their abort ends them. */
typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_join_next_t next;
  ax_join_t done;
  ax_abort_handle_t a;
  int i, cancelled, completed;
} abort_tasks_t;

AX_ASYNC(abort_tasks_body, abort_tasks_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 16; s->i++) {
    if (s->i % 2 == 0) {
      napper_t n;
      CHECK(ax_join_set_spawn(&s->set, napper_init(&n, 0, s->i), sizeof(n),
                              &s->a) == 0);
    } else {
      probe_t p;
      CHECK(ax_join_set_spawn(&s->set, probe(&p, 1), sizeof(p), &s->a) ==
            0);
      CHECK(ax_abort_handle_abort(&s->a) == 0);
    }
    ax_abort_handle_drop(&s->a);
  }
  for (;;) {
    AX_AWAIT(ax_join_set_next(&s->next, &s->set, &s->done));
    if (s->next.result == AX_EEMPTY) break;
    if (s->done.result == 0) {
      s->completed++;
      CHECK(AX_JOIN_OUTPUT(&s->done, napper_t)->out % 2 == 0);
    } else {
      CHECK(s->done.result == AX_ECANCELED);
      s->cancelled++;
    }
    ax_join_drop(&s->done);
  }
  ax_join_set_drop(&s->set);
  AX_END();
}

START_TEST(abort_tasks) {
  abort_tasks_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, abort_tasks_body, &m);
  ck_assert_int_eq(m.cancelled, 8);
  ck_assert_int_eq(m.completed, 8);
}
END_TEST

/* task_join_set.rs: runtime_gone: a task spawned into the set on a
 * runtime that is then freed is joined, cancelled, from another. */
typedef struct {
  ax_async_t co;
  ax_join_set_t *set;
  ax_join_next_t next;
  ax_join_t done;
  int result, done_result;
} join_one_t;

AX_ASYNC(join_one, join_one_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_join_set_next(&s->next, s->set, &s->done));
  s->result = s->next.result;
  s->done_result = s->done.result;
  ax_join_drop(&s->done);
  AX_END();
}

START_TEST(runtime_gone) {
  ax_join_set_t set;
  join_one_t m;
  ax_runtime_t *rt = th_runtime(_i, WORKERS, NULL);
  probe_t p;
  ax_join_set_init(&set);
  TH_ASSERT_OK(ax_join_set_spawn_on(&set, rt, probe(&p, 1), sizeof(p), NULL));
  ck_assert_int_eq(ax_runtime_free(rt), 0);
  memset(&m, 0, sizeof(m));
  m.set = &set;
  RUN_MAIN(_i, join_one, &m);
  ck_assert_int_eq(m.result, 0);
  ck_assert_int_eq(m.done_result, AX_ECANCELED);
  ck_assert_uint_eq(ax_join_set_len(&set), 0);
  ax_join_set_drop(&set);
}
END_TEST

/* task_join_set.rs: task_panics (join_all's panic, joined one by one):
 * the panicking task's handle says AX_EPANIC with its message. */
typedef struct {
  ax_async_t co;
  int boom;
} maybe_panic_t;

AX_ASYNC(maybe_panic, maybe_panic_t, s) {
  AX_BEGIN(s);
  if (s->boom) ax_panic("boom");
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_join_next_t next;
  ax_join_t done;
  int ok, panicked;
} task_panics_t;

AX_ASYNC(task_panics_body, task_panics_t, s) {
  AX_BEGIN(s);
  {
    maybe_panic_t a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    b.boom = 1;
    CHECK(ax_join_set_spawn(&s->set, AX_FUTURE(maybe_panic, &a), sizeof(a),
                            NULL) == 0);
    CHECK(ax_join_set_spawn(&s->set, AX_FUTURE(maybe_panic, &b), sizeof(b),
                            NULL) == 0);
  }
  for (;;) {
    AX_AWAIT(ax_join_set_next(&s->next, &s->set, &s->done));
    if (s->next.result == AX_EEMPTY) break;
    if (s->done.result == AX_EPANIC) {
      s->panicked++;
      CHECK(strstr(ax_join_panic_message(&s->done), "boom") != NULL);
    } else if (s->done.result == 0) {
      s->ok++;
    }
    ax_join_drop(&s->done);
  }
  ax_join_set_drop(&s->set);
  AX_END();
}

START_TEST(task_panics) {
  task_panics_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, task_panics_body, &m);
  ck_assert_int_eq(m.ok, 1);
  ck_assert_int_eq(m.panicked, 1);
}
END_TEST

/* task_join_set.rs: abort_all: 5 tasks pending for ever, 5 that end at
 * once; abort_all keeps them in the set; joining gives 10, the errors
 * all cancellations. */
typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_join_next_t next;
  ax_join_t done;
  ax_yield_t y;
  int i, count;
} abort_all_t;

AX_ASYNC(abort_all_body, abort_all_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 10; s->i++) {
    if (s->i < 5) {
      probe_t p;
      CHECK(ax_join_set_spawn(&s->set, probe(&p, 1), sizeof(p), NULL) == 0);
    } else {
      napper_t n;
      CHECK(ax_join_set_spawn(&s->set, napper_init(&n, 0, s->i), sizeof(n),
                              NULL) == 0);
    }
  }
  for (s->i = 0; s->i < 4; s->i++) AX_AWAIT(ax_yield_now(&s->y));
  ax_join_set_abort_all(&s->set);
  CHECK(ax_join_set_len(&s->set) == 10);
  for (;;) {
    AX_AWAIT(ax_join_set_next(&s->next, &s->set, &s->done));
    if (s->next.result == AX_EEMPTY) break;
    CHECK(s->done.result == 0 || s->done.result == AX_ECANCELED);
    s->count++;
    ax_join_drop(&s->done);
  }
  CHECK(s->count == 10);
  CHECK(ax_join_set_len(&s->set) == 0);
  ax_join_set_drop(&s->set);
  AX_END();
}

START_TEST(abort_all) {
  abort_all_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, abort_all_body, &m);
}
END_TEST

/* task_join_set.rs: join_set_coop: 1000 tasks have all ended; joining
 * them without waiting runs out of cooperative budget at least once (the
 * body must run as a task: th_join; results in statics). */
#define COOP_TASKS 1000
static atomic_int coop_ended, coop_count, coop_yields;

typedef struct {
  ax_async_t co;
} bump_t;

AX_ASYNC(bump, bump_t, s) {
  AX_BEGIN(s);
  (void)s;
  atomic_fetch_add(&coop_ended, 1);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_join_next_t next;
  ax_join_t done;
  ax_yield_t y;
  int i;
} join_set_coop_t;

AX_ASYNC(join_set_coop_body, join_set_coop_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < COOP_TASKS; s->i++) {
    bump_t b;
    memset(&b, 0, sizeof(b));
    CHECK(ax_join_set_spawn(&s->set, AX_FUTURE(bump, &b), sizeof(b), NULL) ==
          0);
  }
  while (atomic_load(&coop_ended) < COOP_TASKS) AX_AWAIT(ax_yield_now(&s->y));
  for (;;) {
    /* now_or_never: one poll */
    if (ax_poll(ax_join_set_next(&s->next, &s->set, &s->done), cx) ==
        AX_PENDING) {
      atomic_fetch_add(&coop_yields, 1);
      AX_AWAIT(ax_yield_now(&s->y));
      continue;
    }
    if (s->next.result == AX_EEMPTY) break;
    CHECK(s->done.result == 0);
    ax_join_drop(&s->done);
    atomic_fetch_add(&coop_count, 1);
  }
  ax_join_set_drop(&s->set);
  AX_END();
}

START_TEST(join_set_coop) {
  join_set_coop_t m;
  th_join_t j;
  memset(&m, 0, sizeof(m));
  atomic_store(&coop_ended, 0);
  atomic_store(&coop_count, 0);
  atomic_store(&coop_yields, 0);
  th_run_checked(CURRENT, 1,
                 th_join(&j, AX_FUTURE(join_set_coop_body, &m), sizeof(m)),
                 &errors);
  TH_ASSERT_OK(j.result);
  ck_assert_int_ge(atomic_load(&coop_yields), 1);
  ck_assert_int_eq(atomic_load(&coop_count), COOP_TASKS);
}
END_TEST

/* task_join_set.rs: try_join_next: nothing ended yet, then all of them.
 * The tasks wait for a semaphore's permits (Tokio: a watch channel). */
static ax_semaphore_t try_sem;
static atomic_int try_ended;

typedef struct {
  ax_async_t co;
  ax_permit_t p;
} waiter_t;

AX_ASYNC(waiter, waiter_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_semaphore_acquire(&s->p, &try_sem, 1));
  ax_semaphore_forget(&s->p);
  atomic_fetch_add(&try_ended, 1);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_join_t done;
  ax_yield_t y;
  int i, count;
} try_join_next_t;

AX_ASYNC(try_join_next_body, try_join_next_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < COOP_TASKS; s->i++) {
    waiter_t w;
    memset(&w, 0, sizeof(w));
    CHECK(ax_join_set_spawn(&s->set, AX_FUTURE(waiter, &w), sizeof(w),
                            NULL) == 0);
  }
  CHECK(ax_join_set_try_next(&s->set, &s->done) == AX_EAGAIN);
  CHECK(ax_semaphore_add_permits(&try_sem, COOP_TASKS) == 0);
  while (atomic_load(&try_ended) < COOP_TASKS) AX_AWAIT(ax_yield_now(&s->y));
  /* The last task's end may still be on its way to the set (another
   * worker): wait for the set to see them all. */
  for (;;) {
    int rc = ax_join_set_try_next(&s->set, &s->done);
    if (rc == AX_EEMPTY) break;
    if (rc == AX_EAGAIN) {
      AX_AWAIT(ax_yield_now(&s->y));
      continue;
    }
    CHECK(rc == 0 && s->done.result == 0);
    ax_join_drop(&s->done);
    s->count++;
  }
  CHECK(s->count == COOP_TASKS);
  ax_join_set_drop(&s->set);
  AX_END();
}

START_TEST(try_join_next) {
  try_join_next_t m;
  memset(&m, 0, sizeof(m));
  atomic_store(&try_ended, 0);
  ck_assert_int_eq(ax_semaphore_init(&try_sem, 0), 0);
  RUN_MAIN(_i, try_join_next_body, &m);
  ax_semaphore_destroy(&try_sem);
}
END_TEST

/* axle's own: a set dropped with tasks running on another runtime's
 * workers, from a task (the drop in a drop handler, the way a cancelled
 * task drops its set), and a JoinSet in a select loser: nothing leaks
 * (valgrind, ASan) and every task is aborted. */
typedef struct {
  ax_async_t co;
  ax_join_set_t set;
  ax_join_next_t next;
  ax_join_t done;
  int i;
} owner_t;

static atomic_int owner_ready;   /* its tasks are spawned */

AX_ASYNC_DROP(owner_drop, owner_t, s) { ax_join_set_drop(&s->set); }

AX_ASYNC(owner, owner_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 8; s->i++) {
    ax_future_t *f;
    th_leaf_t l;   /* pends forever, its drop counted */
    napper_t n;
    f = s->i % 2 ? th_leaf(&l, &counted, -1, 0) : napper_init(&n, 1, s->i);
    CHECK(ax_join_set_spawn(&s->set, f,
                            s->i % 2 ? sizeof(l) : sizeof(n), NULL) == 0);
  }
  atomic_store(&owner_ready, 1);
  /* joins the ones that end; the owner is aborted while it waits */
  for (;;) {
    AX_AWAIT(ax_join_set_next(&s->next, &s->set, &s->done));
    if (s->next.result != 0) break;
    ax_join_drop(&s->done);
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t h;
  ax_yield_t y;
  int i;
} aborter_t;

AX_ASYNC(aborter, aborter_t, s) {
  AX_BEGIN(s);
  {
    owner_t o;
    memset(&o, 0, sizeof(o));
    CHECK(ax_spawn(AX_FUTURE_DROP(owner, owner_drop, &o), sizeof(o),
                   &s->h) == 0);
  }
  while (!atomic_load(&owner_ready)) AX_AWAIT(ax_yield_now(&s->y));
  for (s->i = 0; s->i < 20; s->i++) AX_AWAIT(ax_yield_now(&s->y));
  CHECK(ax_abort(&s->h) == 0);
  AX_AWAIT(ax_join_wait(&s->h));
  CHECK(s->h.result == AX_ECANCELED);
  ax_join_drop(&s->h);
  while (atomic_load(&counted.drops) < 4) AX_AWAIT(ax_yield_now(&s->y));
  AX_END();
}

START_TEST(join_set_dropped_by_abort) {
  aborter_t m;
  memset(&m, 0, sizeof(m));
  th_counts_reset(&counted);
  atomic_store(&owner_ready, 0);
  RUN_MAIN(_i, aborter, &m);
  ck_assert_int_eq(atomic_load(&counted.drops), 4);
}
END_TEST

/* ======================================================================
 * Task-local values (tokio/tests/task_local.rs)
 * ====================================================================== */

static const ax_task_local_t REQ_ID = AX_TASK_LOCAL_INIT("REQ_ID");
static const ax_task_local_t FOO = AX_TASK_LOCAL_INIT("FOO");

/* Reads REQ_ID, sleeps (the task may move to another worker), reads it
 * again; and checks that a task spawned inside the scope sees nothing. */
typedef struct {
  ax_async_t co;
  ax_sleep_t nap;
  ax_join_t child;
  unsigned want;
  int sleep;
} reader_t;

typedef struct {
  ax_async_t co;
  int seen;   /* 1: it saw REQ_ID */
} child_t;

AX_ASYNC(child_task, child_t, s) {
  AX_BEGIN(s);
  s->seen = ax_task_local_is_set(&REQ_ID);
  AX_END();
}

static void with_req_id(void *arg) {
  CHECK(*AX_TASK_LOCAL_GET(&REQ_ID, unsigned) == *(unsigned *)arg);
}

AX_ASYNC(reader, reader_t, s) {
  AX_BEGIN(s);
  CHECK(AX_TASK_LOCAL_GET(&REQ_ID, unsigned) != NULL &&
        *AX_TASK_LOCAL_GET(&REQ_ID, unsigned) == s->want);
  with_req_id(&s->want);       /* REQ_ID.with(|v| ...) */
  CHECK(!ax_task_local_is_set(&FOO));
  {
    child_t c;
    memset(&c, 0, sizeof(c));
    CHECK(AX_SPAWN(child_task, &c, &s->child) == 0);
  }
  if (s->sleep) AX_AWAIT(ax_sleep(&s->nap, 10));
  CHECK(AX_TASK_LOCAL_GET(&REQ_ID, unsigned) != NULL &&
        *AX_TASK_LOCAL_GET(&REQ_ID, unsigned) == s->want);
  AX_AWAIT(ax_join_wait(&s->child));
  CHECK(s->child.result == 0 &&
        AX_JOIN_OUTPUT(&s->child, child_t)->seen == 0);  /* not inherited */
  ax_join_drop(&s->child);
  AX_END();
}

/* A spawned task: a scope of REQ_ID = *value around a reader. */
typedef struct {
  ax_async_t co;
  ax_task_local_scope_t scope;
  reader_t r;
  unsigned value;
} scoped_t;

AX_ASYNC(scoped, scoped_t, s) {
  AX_BEGIN(s);
  CHECK(ax_task_local_get(&REQ_ID) == NULL);   /* outside: none */
  AX_AWAIT(ax_task_local_scope(&s->scope, &REQ_ID, &s->value,
                               AX_FUTURE(reader, &s->r)));
  CHECK(ax_task_local_get(&REQ_ID) == NULL);
  ax_drop(&s->scope.base);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t h[2];
  th_joins_t j;
} local_main_t;

AX_ASYNC(local_main, local_main_t, s) {
  AX_BEGIN(s);
  for (int i = 0; i < 2; i++) {
    scoped_t t;
    memset(&t, 0, sizeof(t));
    t.value = t.r.want = (unsigned)i + 1;
    t.r.sleep = i;
    CHECK(AX_SPAWN(scoped, &t, &s->h[i]) == 0);
  }
  AX_AWAIT(th_joins(&s->j, s->h, 2));
  CHECK(s->j.failed == 0);
  AX_END();
}

/* task_local.rs: local (and: a spawned task inherits nothing). */
START_TEST(local) {
  local_main_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, local_main, &m);
}
END_TEST

/* A leaf that records KEY in its drop (Tokio's MyFuture). */
typedef struct {
  ax_future_t base;
  int pend;
  atomic_int *polled;
  atomic_uint *seen;  /* *REQ_ID at the drop, or 0 */
} keyed_t;

static ax_poll_t keyed_poll(ax_future_t *f, ax_cx_t *cx) {
  keyed_t *k = (keyed_t *)f;
  (void)cx;
  atomic_store(k->polled, 1);
  return k->pend ? AX_PENDING : AX_READY;
}
static void keyed_drop(ax_future_t *f) {
  keyed_t *k = (keyed_t *)f;
  unsigned *v = AX_TASK_LOCAL_GET(&REQ_ID, unsigned);
  atomic_store(k->seen, v != NULL ? *v : 0);
}
static const ax_future_vtable_t keyed_vtable = {keyed_poll, keyed_drop,
                                                "keyed"};

typedef struct {
  ax_future_t base;            /* a scope and its inner, as one future */
  ax_task_local_scope_t scope;
  keyed_t k;
  unsigned value;
} keyed_scope_t;

static ax_poll_t ks_poll(ax_future_t *f, ax_cx_t *cx) {
  keyed_scope_t *k = (keyed_scope_t *)f;
  if (k->scope.base.vtable == NULL)
    ax_task_local_scope(&k->scope, &REQ_ID, &k->value, &k->k.base);
  return ax_poll(&k->scope.base, cx);
}
static void ks_drop(ax_future_t *f) {
  keyed_scope_t *k = (keyed_scope_t *)f;
  if (k->scope.base.vtable == NULL)  /* never polled: inner is ours */
    ax_drop(&k->k.base);
  else
    ax_drop(&k->scope.base);
}
static const ax_future_vtable_t ks_vtable = {ks_poll, ks_drop, "ks"};

typedef struct {
  ax_async_t co;
  ax_join_t h;
  ax_yield_t y;
  atomic_int polled;
  atomic_uint seen;
  int pend;
  int result;
} on_drop_t;

AX_ASYNC(on_drop, on_drop_t, s) {
  AX_BEGIN(s);
  {
    keyed_scope_t ks;
    memset(&ks, 0, sizeof(ks));
    ks.base.vtable = &ks_vtable;
    ks.k.base.vtable = &keyed_vtable;
    ks.k.pend = s->pend;
    ks.k.polled = &s->polled;
    ks.k.seen = &s->seen;
    ks.value = 42;
    CHECK(ax_spawn(&ks.base, sizeof(ks), &s->h) == 0);
  }
  if (s->pend) {
    while (!atomic_load(&s->polled)) AX_AWAIT(ax_yield_now(&s->y));
    CHECK(ax_abort(&s->h) == 0);
  }
  AX_AWAIT(ax_join_wait(&s->h));
  s->result = s->h.result;
  ax_join_drop(&s->h);
  AX_END();
}

/* task_local.rs: task_local_available_on_abort. */
START_TEST(task_local_available_on_abort) {
  on_drop_t m;
  memset(&m, 0, sizeof(m));
  m.pend = 1;
  RUN_MAIN(_i, on_drop, &m);
  ck_assert_int_eq(m.result, AX_ECANCELED);
  ck_assert_uint_eq(atomic_load(&m.seen), 42);
}
END_TEST

/* task_local.rs: task_local_available_on_completion_drop. */
START_TEST(task_local_available_on_completion_drop) {
  on_drop_t m;
  memset(&m, 0, sizeof(m));
  m.pend = 0;
  RUN_MAIN(_i, on_drop, &m);
  ck_assert_int_eq(m.result, 0);
  ck_assert_uint_eq(atomic_load(&m.seen), 42);
}
END_TEST

/* task_local.rs: take_value, poll_after_take_value_should_fail and
 * get_value, by hand: after take, the inner future runs without it. */
typedef struct {
  ax_async_t co;
  int saw;       /* 1 set, 0 not */
  unsigned v;
} probe_key_t;

AX_ASYNC(probe_key, probe_key_t, s) {
  AX_BEGIN(s);
  s->saw = ax_task_local_is_set(&REQ_ID);
  s->v = s->saw ? *AX_TASK_LOCAL_GET(&REQ_ID, unsigned) : 0;
  AX_END();
}

START_TEST(take_value) {
  ax_task_local_scope_t sc;
  probe_key_t p;
  unsigned one = 1;
  th_cx_t c;
  TH_CX_INIT(&c);
  /* get_value: inside, the value; after, none */
  memset(&p, 0, sizeof(p));
  ax_task_local_scope(&sc, &REQ_ID, &one, AX_FUTURE(probe_key, &p));
  ck_assert_int_eq(TH_POLL(&sc.base, &c), AX_READY);
  ck_assert_int_eq(p.saw, 1);
  ck_assert_uint_eq(p.v, 1);
  ck_assert_ptr_null(ax_task_local_get(&REQ_ID));
  ax_drop(&sc.base);
  /* take_value: once, then NULL; poll_after_take_value_should_fail */
  memset(&p, 0, sizeof(p));
  ax_task_local_scope(&sc, &REQ_ID, &one, AX_FUTURE(probe_key, &p));
  ck_assert_ptr_eq(ax_task_local_scope_take(&sc), &one);
  ck_assert_ptr_null(ax_task_local_scope_take(&sc));
  ck_assert_int_eq(TH_POLL(&sc.base, &c), AX_READY);
  ck_assert_int_eq(p.saw, 0);
  ax_drop(&sc.base);
  ck_assert_int_eq(c.w.refs, 0);
}
END_TEST

/* axle's own: nested scopes (the innermost wins, the outer comes back),
 * sync_scope, and a scope left by a panic does not leak into the next
 * poll on that worker. */
static void sync_fn(void *arg) {
  unsigned *v = AX_TASK_LOCAL_GET(&FOO, unsigned);
  *(unsigned *)arg = v != NULL ? *v : 0;
}

typedef struct {
  ax_async_t co;
  unsigned got;
} nest_inner_t;

AX_ASYNC(nest_inner, nest_inner_t, s) {
  AX_BEGIN(s);
  s->got = *AX_TASK_LOCAL_GET(&REQ_ID, unsigned);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_task_local_scope_t sc;
  nest_inner_t in;
  unsigned two, outer_after;
} nest_mid_t;

AX_ASYNC(nest_mid, nest_mid_t, s) {
  AX_BEGIN(s);
  s->two = 2;
  AX_AWAIT(ax_task_local_scope(&s->sc, &REQ_ID, &s->two,
                               AX_FUTURE(nest_inner, &s->in)));
  s->outer_after = *AX_TASK_LOCAL_GET(&REQ_ID, unsigned);
  ax_drop(&s->sc.base);
  AX_END();
}

typedef struct {
  ax_async_t co;
  int boom;
} boom_t;

AX_ASYNC(boom_in_scope, boom_t, s) {
  AX_BEGIN(s);
  if (s->boom) ax_panic("in a scope");
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_task_local_scope_t sc;
  boom_t b;
  unsigned v;
} boom_scope_t;

AX_ASYNC(boom_scope, boom_scope_t, s) {
  AX_BEGIN(s);
  s->v = 7;
  s->b.boom = 1;
  AX_AWAIT(ax_task_local_scope(&s->sc, &REQ_ID, &s->v,
                               AX_FUTURE(boom_in_scope, &s->b)));
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_task_local_scope_t sc;
  nest_mid_t mid;
  unsigned one, foo, from_sync;
  ax_join_t h;
  child_t after;
  int i;
} nest_t;

AX_ASYNC(nested, nest_t, s) {
  AX_BEGIN(s);
  s->one = 1;
  AX_AWAIT(ax_task_local_scope(&s->sc, &REQ_ID, &s->one,
                               AX_FUTURE(nest_mid, &s->mid)));
  ax_drop(&s->sc.base);
  CHECK(s->mid.in.got == 2 && s->mid.outer_after == 1);
  s->foo = 5;
  ax_task_local_sync_scope(&FOO, &s->foo, sync_fn, &s->from_sync);
  CHECK(s->from_sync == 5 && !ax_task_local_is_set(&FOO));
  /* A task panics inside a scope; tasks polled after it on the same
   * worker see no scope. */
  for (s->i = 0; s->i < 4; s->i++) {
    {
      boom_scope_t b;
      memset(&b, 0, sizeof(b));
      CHECK(AX_SPAWN(boom_scope, &b, &s->h) == 0);
    }
    AX_AWAIT(ax_join_wait(&s->h));
    CHECK(s->h.result == AX_EPANIC);
    ax_join_drop(&s->h);
    CHECK(!ax_task_local_is_set(&REQ_ID));
    memset(&s->after, 0, sizeof(s->after));
    CHECK(AX_SPAWN(child_task, &s->after, &s->h) == 0);
    AX_AWAIT(ax_join_wait(&s->h));
    CHECK(s->h.result == 0 && AX_JOIN_OUTPUT(&s->h, child_t)->seen == 0);
    ax_join_drop(&s->h);
  }
  AX_END();
}

START_TEST(task_local_nested_and_panics) {
  nest_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, nested, &m);
}
END_TEST

/* ======================================================================
 * Local tasks (task_local_set.rs's LocalSet, task_abort.rs, task_id.rs)
 * ====================================================================== */

/* A local task: records its thread at each of its polls (it must never
 * change), sleeps (a timer of the set's thread), waits for a signal fired
 * from a blocking-pool thread (a wake from another thread), and spawns a
 * local task of its own. */
static void *fire_job(void *arg) {
  th_signal_fire(arg);
  return NULL;
}

typedef struct {
  ax_async_t co;
  uv_thread_t thread;
  int moved;
} leaf_local_t;

AX_ASYNC(leaf_local, leaf_local_t, s) {
  AX_BEGIN(s);
  s->thread = uv_thread_self();
  AX_END();
}

typedef struct {
  ax_async_t co;
  uv_thread_t first;
  int moved;          /* polls on another thread than the first */
  uint64_t id_inside;
  ax_sleep_t nap;
  th_signal_t sig;
  th_sigwait_t sw;
  ax_join_t job, child;
  leaf_local_t c;
  int child_same;     /* the child ran on the same thread */
} pinned_t;

#define PIN_CHECK(s)                                                       \
  do {                                                                     \
    uv_thread_t now_ = uv_thread_self();                                   \
    if (!uv_thread_equal(&now_, &(s)->first)) (s)->moved++;                \
  } while (0)

AX_ASYNC(pinned, pinned_t, s) {
  AX_BEGIN(s);
  s->first = uv_thread_self();
  s->id_inside = ax_task_id();
  AX_AWAIT(ax_sleep(&s->nap, 2));
  PIN_CHECK(s);
  th_signal_init(&s->sig);
  CHECK(ax_spawn_blocking(fire_job, &s->sig, &s->job) == 0);
  AX_AWAIT(th_sigwait(&s->sw, &s->sig, NULL));
  PIN_CHECK(s);
  AX_AWAIT(ax_join_wait(&s->job));
  ax_join_drop(&s->job);
  ax_drop(&s->sw.base);
  th_signal_destroy(&s->sig);
  memset(&s->c, 0, sizeof(s->c));
  CHECK(ax_spawn_local(AX_FUTURE(leaf_local, &s->c), sizeof(s->c),
                       &s->child) == 0);
  AX_AWAIT(ax_join_wait(&s->child));
  CHECK(s->child.result == 0);
  if (s->child.result == 0) {
    uv_thread_t ct = AX_JOIN_OUTPUT(&s->child, leaf_local_t)->thread;
    s->child_same = uv_thread_equal(&ct, &s->first);
  }
  ax_join_drop(&s->child);
  PIN_CHECK(s);
  AX_END();
}

/* The set's driver's inner future: spawns more local tasks from inside
 * (ax_spawn_local) and joins them all. */
#define PINNED 6
typedef struct {
  ax_async_t co;
  ax_join_t *h;
  uint64_t *ids;
  int i;
} joiner_t;

AX_ASYNC(joiner, joiner_t, s) {
  AX_BEGIN(s);
  for (s->i = PINNED / 2; s->i < PINNED; s->i++) {
    pinned_t p;
    memset(&p, 0, sizeof(p));
    CHECK(ax_spawn_local(AX_FUTURE(pinned, &p), sizeof(p), &s->h[s->i]) ==
          0);
    s->ids[s->i] = ax_join_id(&s->h[s->i]);
  }
  for (s->i = 0; s->i < PINNED; s->i++) {
    AX_AWAIT(ax_join_wait(&s->h[s->i]));
    CHECK(s->h[s->i].result == 0);
    if (s->h[s->i].result == 0) {
      pinned_t *p = AX_JOIN_OUTPUT(&s->h[s->i], pinned_t);
      uv_thread_t me = uv_thread_self();
      CHECK(p->moved == 0);
      CHECK(p->child_same == 1);
      CHECK(uv_thread_equal(&p->first, &me));  /* the set's thread */
      CHECK(p->id_inside == s->ids[s->i]);     /* task_id_spawn_local */
    }
    ax_join_drop(&s->h[s->i]);
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_local_set_t set;
  ax_local_run_t run;
  joiner_t j;
  ax_join_t h[PINNED];
  uint64_t ids[PINNED];
  int i;
} local_main2_t;

AX_ASYNC(local_main2, local_main2_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < PINNED / 2; s->i++) {
    pinned_t p;
    memset(&p, 0, sizeof(p));
    CHECK(ax_local_set_spawn(&s->set, AX_FUTURE(pinned, &p), sizeof(p),
                             &s->h[s->i]) == 0);
    s->ids[s->i] = ax_join_id(&s->h[s->i]);
  }
  s->j.h = s->h;
  s->j.ids = s->ids;
  AX_AWAIT(ax_local_set_run_until(&s->run, &s->set,
                                  AX_FUTURE(joiner, &s->j)));
  CHECK(s->run.result == 0);
  ax_drop(&s->run.base);
  ax_local_set_drop(&s->set);
  AX_END();
}

/* axle's own (Tokio: the LocalSet tests of rt_common.rs and
 * task_local_set.rs, local_current_thread_scheduler and
 * local_threadpool): local tasks stay on the set's thread through
 * timers, wakes from other threads and spawns of their own; ids match. */
START_TEST(local_tasks_stay_on_their_thread) {
  local_main2_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, local_main2, &m);
}
END_TEST

/* Spawns on set a probe that pends forever: its poll sets *polled, and
 * its drop *wrong_thread unless it runs on this thread (the set's). */
static int spawn_local_probe(ax_local_set_t *set, atomic_int *polled,
                             atomic_int *wrong_thread, ax_join_t *h) {
  probe_t p;
  probe(&p, 1);
  p.polled = polled;
  p.home = uv_thread_self();
  p.wrong_thread = wrong_thread;
  return ax_local_set_spawn(set, &p.base, sizeof(p), h);
}

/* task_abort.rs: remote_abort_local_set_3929: a local task aborted from
 * a plain thread is dropped on the set's thread. */
typedef struct {
  ax_abort_handle_t a;
  atomic_int *polled;
} remote_abort_t;

typedef struct {
  ax_async_t co;
  ax_join_t *h;
  int result;
} wait_one_t;

static void remote_abort_thread(void *arg) {
  remote_abort_t *r = arg;
  while (!atomic_load(r->polled)) uv_sleep(1);
  (void)ax_abort_handle_abort(&r->a);
}

typedef struct {
  ax_async_t co;
  ax_local_set_t set;
  ax_local_run_t run;
  ax_join_t h;
  atomic_int polled, wrong_thread;
  remote_abort_t ra;
  uv_thread_t thread;
  wait_one_t w;
  int result;
} remote_abort_main_t;

AX_ASYNC(wait_one, wait_one_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_join_wait(s->h));
  s->result = s->h->result;
  AX_END();
}

AX_ASYNC(remote_abort_main, remote_abort_main_t, s) {
  AX_BEGIN(s);
  CHECK(spawn_local_probe(&s->set, &s->polled, &s->wrong_thread, &s->h) == 0);
  CHECK(ax_join_abort_handle(&s->h, &s->ra.a) == 0);
  s->ra.polled = &s->polled;
  CHECK(uv_thread_create(&s->thread, remote_abort_thread, &s->ra) == 0);
  s->w.h = &s->h;
  AX_AWAIT(ax_local_set_run_until(&s->run, &s->set,
                                  AX_FUTURE(wait_one, &s->w)));
  s->result = s->w.result;
  ax_drop(&s->run.base);
  uv_thread_join(&s->thread);
  ax_abort_handle_drop(&s->ra.a);
  ax_join_drop(&s->h);
  ax_local_set_drop(&s->set);
  AX_END();
}

START_TEST(remote_abort_local_set_3929) {
  remote_abort_main_t m;
  memset(&m, 0, sizeof(m));
  RUN_MAIN(_i, remote_abort_main, &m);
  ck_assert_int_eq(m.result, AX_ECANCELED);
  ck_assert_int_eq(atomic_load(&m.wrong_thread), 0);
}
END_TEST

/* axle's own: a panic in a local task is its own (the set goes on); the
 * set's drop cancels the tasks left on its thread; spawn_local outside a
 * set: an ordinary task on a current-thread runtime, AX_ENORUNTIME on a
 * multi-thread worker. */
typedef struct {
  ax_async_t co;
  ax_local_set_t set;
  ax_local_run_t run;
  ax_join_t h[3];
  maybe_panic_t boom;
  wait_one_t w;
  atomic_int polled, wrong_thread;
  int spawn_rc;
  int multi;   /* the flavour: spawn_local outside a set fails there */
} local_misc_t;

AX_ASYNC(local_misc, local_misc_t, s) {
  AX_BEGIN(s);
  {
    maybe_panic_t b;
    memset(&b, 0, sizeof(b));
    b.boom = 1;
    CHECK(ax_local_set_spawn(&s->set, AX_FUTURE(maybe_panic, &b), sizeof(b),
                             &s->h[0]) == 0);
    CHECK(spawn_local_probe(&s->set, &s->polled, &s->wrong_thread,
                            &s->h[1]) == 0);
  }
  s->w.h = &s->h[0];
  AX_AWAIT(ax_local_set_run_until(&s->run, &s->set,
                                  AX_FUTURE(wait_one, &s->w)));
  if (s->multi) {
    /* A task on a multi-thread worker may move: it cannot drive a set.
     * Drive it from a local task of a set on block_on's thread instead:
     * here, just drop it (its tasks never ran). */
    CHECK(s->run.result == AX_EINVAL);
    ax_drop(&s->run.base);
    CHECK(!ax_join_is_finished(&s->h[0]));
    ax_local_set_drop(&s->set);
    CHECK(ax_join_is_finished(&s->h[0]) && ax_join_is_finished(&s->h[1]));
    ax_join_drop(&s->h[0]);
    ax_join_drop(&s->h[1]);
    {
      leaf_local_t l;   /* outside a set on a multi-thread worker */
      memset(&l, 0, sizeof(l));
      CHECK(ax_spawn_local(AX_FUTURE(leaf_local, &l), sizeof(l), &s->h[2]) ==
            AX_ENORUNTIME);
    }
    AX_RETURN();
  }
  CHECK(s->run.result == 0);
  CHECK(s->w.result == AX_EPANIC);
  ax_drop(&s->run.base);
  CHECK(!ax_join_is_finished(&s->h[1]));
  ax_local_set_drop(&s->set);   /* cancels the pending one, here */
  CHECK(ax_join_is_finished(&s->h[1]));
  ax_join_drop(&s->h[0]);
  ax_join_drop(&s->h[1]);
  {
    leaf_local_t l;
    memset(&l, 0, sizeof(l));
    s->spawn_rc = ax_spawn_local(AX_FUTURE(leaf_local, &l), sizeof(l),
                                 &s->h[2]);
  }
  CHECK(s->spawn_rc == 0);  /* current-thread: a plain, pinned task */
  if (s->spawn_rc == 0) {
    AX_AWAIT(ax_join_wait(&s->h[2]));
    CHECK(s->h[2].result == 0);
    ax_join_drop(&s->h[2]);
  }
  AX_END();
}

START_TEST(local_set_panics_drop_and_outside) {
  local_misc_t m;
  th_join_t j;
  memset(&m, 0, sizeof(m));
  m.multi = _i;
  /* as a task, so that on the multi-thread flavour it is on a worker */
  th_run_checked(_i, WORKERS, th_join(&j, AX_FUTURE(local_misc, &m),
                                      sizeof(m)), &errors);
  TH_ASSERT_OK(j.result);
}
END_TEST

Suite *ax_tokio_task_suite(void) {
  return AX_SUITE("tokio-task",
                  AX_CASE("bugs", 30),
                  AX_FLAVOURS(test_abort_task_that_panics_on_drop_contained),
                  AX_FLAVOURS(test_abort_task_that_panics_on_drop_returned),
                  AX_FLAVOURS(task_id_future_destructor_abort),
                  AX_FLAVOURS(task_id_future_destructor_completion),
                  AX_FLAVOURS(panic_in_drop_at_completion),
                  AX_FLAVOURS(shutdown_drop_panic_contained),
                  AX_FLAVOURS(spawn_from_blocking),
                  AX_FLAVOURS(task_id_spawn_blocking),
                  AX_FLAVOURS(shutdown_timeout),
                  AX_CASE("ids", 30),
                  AX_FLAVOURS(task_ids_match),
                  AX_FLAVOURS(test_abort_wakes_task_3964),
                  AX_FLAVOURS(spawn_sites),
                  AX_CASE("join_set", 60),
                  AX_FLAVOURS(test_with_sleep),
                  AX_FLAVOURS(test_abort_on_drop),
                  AX_FLAVOURS(alternating),
                  AX_FLAVOURS(abort_tasks),
                  AX_FLAVOURS(runtime_gone),
                  AX_FLAVOURS(task_panics),
                  AX_FLAVOURS(abort_all),
                  AX_ONCE(join_set_coop),
                  AX_FLAVOURS(try_join_next),
                  AX_FLAVOURS(join_set_dropped_by_abort),
                  AX_CASE("task_local", 30),
                  AX_FLAVOURS(local),
                  AX_FLAVOURS(task_local_available_on_abort),
                  AX_FLAVOURS(task_local_available_on_completion_drop),
                  AX_ONCE(take_value),
                  AX_FLAVOURS(task_local_nested_and_panics),
                  AX_CASE("local_set", 30),
                  AX_FLAVOURS(local_tasks_stay_on_their_thread),
                  AX_FLAVOURS(remote_abort_local_set_3929),
                  AX_FLAVOURS(local_set_panics_drop_and_outside));
}
