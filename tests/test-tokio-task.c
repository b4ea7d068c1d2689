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
 * polls set *polled and record ax_task_id() in *poll_id; its drop records ax_task_id() in *drop_id, sets
 * *dropped, and panics when panic_on_drop is set. */
typedef struct probe_s {
  ax_future_t base;
  int pend;
  int panic_on_drop;
  atomic_int *polled;
  atomic_int *dropped;
  _Atomic uint64_t *poll_id;
  _Atomic uint64_t *drop_id;
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
 * handle is the one ax_task_id() gives inside the task; and
 * task_id_collision_*: two tasks, two ids. */
typedef struct {
  ax_async_t co;
  uint64_t id;
} whoami_t;

AX_ASYNC(whoami, whoami_t, s) {
  AX_BEGIN(s);
  s->id = ax_task_id();
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t h[2];
  uint64_t id[2], inside[2];
  int i;
} ids_t;

AX_ASYNC(ids_match, ids_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < 2; s->i++) {
    whoami_t w;
    memset(&w, 0, sizeof(w));
    CHECK(AX_SPAWN(whoami, &w, &s->h[s->i]) == 0);
    s->id[s->i] = ax_join_id(&s->h[s->i]);
  }
  for (s->i = 0; s->i < 2; s->i++) {
    AX_AWAIT(ax_join_wait(&s->h[s->i]));
    CHECK(s->h[s->i].result == 0);
    s->inside[s->i] = AX_JOIN_OUTPUT(&s->h[s->i], whoami_t)->id;
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
  whoami_t w;
  int i;
} sites_t;

AX_ASYNC(sites, sites_t, s) {
  AX_BEGIN(s);
  snprintf(s->want[0], sizeof(s->want[0]), "%s:%d", __FILE__, __LINE__ + 1);
  CHECK(AX_SPAWN(whoami, &s->w, &s->h[0]) == 0);
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
  CHECK((ax_spawn)(AX_FUTURE(whoami, &s->w), sizeof(s->w), &s->h[0]) == 0);
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
                  AX_FLAVOURS(spawn_sites));
}
