/* Blocking work on libuv's threadpool (include/axle/blocking.h):
 * ax_spawn_blocking / ax_spawn_blocking_on, their join handles (value,
 * panic capture), cancellation before and after the job started, detached
 * jobs, shutdown with jobs in flight, max_blocking_threads and the
 * process-wide pool size (AX_EPOOLSIZE), and the chapter's compute_hash.
 *
 * The pool is process-global: every test that needs it full finds its
 * size the way libuv does (UV_THREADPOOL_SIZE, default 4) and fills every
 * thread; the test that sets a size of its own runs only in a fresh
 * process (Check's fork mode).
 */
#include "helpers.h"

/* ---- job functions ------------------------------------------------------- */

typedef struct {
  uv_thread_t thread;     /* where fn ran */
  ax_runtime_t *rt;       /* ax_runtime_current() there */
  uint64_t id;            /* ax_task_id() there */
  _Atomic int ran;
} where_t;

static void *job_where(void *arg) {
  where_t *w = arg;
  w->thread = uv_thread_self();
  w->rt = ax_runtime_current();
  w->id = ax_task_id();
  atomic_fetch_add(&w->ran, 1);
  return (char *)arg + 1;
}

static void *job_panics(void *arg) {
  ax_panic("blocking job %s", (const char *)arg);
}

static void *job_asserts(void *arg) {
  ax_assert(arg == NULL);
  return NULL;
}

/* Blocks its pool thread until released (the gate is a semaphore). */
typedef struct {
  uv_sem_t gate;
  _Atomic int started, finished, running, max_running;
} gate_t;

static void gate_init(gate_t *g) {
  ck_assert_int_eq(uv_sem_init(&g->gate, 0), 0);
  atomic_init(&g->started, 0);
  atomic_init(&g->finished, 0);
  atomic_init(&g->running, 0);
  atomic_init(&g->max_running, 0);
}

static void *job_gated(void *arg) {
  gate_t *g = arg;
  int r = atomic_fetch_add(&g->running, 1) + 1;
  int m = atomic_load(&g->max_running);
  while (r > m && !atomic_compare_exchange_weak(&g->max_running, &m, r)) {
  }
  atomic_fetch_add(&g->started, 1);
  uv_sem_wait(&g->gate);
  atomic_fetch_sub(&g->running, 1);
  atomic_fetch_add(&g->finished, 1);
  return arg;
}

static _Atomic int cancelled_runs;
static void *job_must_not_run(void *arg) {
  atomic_fetch_add(&cancelled_runs, 1);
  return arg;
}

static void wait_for(_Atomic int *v, int n) {
  while (atomic_load(v) < n) uv_sleep(1);   /* an event, not a time */
}

/* ---- result and where it runs -------------------------------------------- */

typedef struct {
  ax_async_t co;
  ax_join_t h[3];
  where_t w;
  uv_thread_t task_thread;
  int rc[3];
  int result[3];
  void *value;
  char msg[2][160];
} basic_t;

AX_ASYNC(basic_fn, basic_t, self) {
  AX_BEGIN(self);
  self->task_thread = uv_thread_self();
  self->rc[0] = ax_spawn_blocking(job_where, &self->w, &self->h[0]);
  self->rc[1] = ax_spawn_blocking(job_panics, "failed", &self->h[1]);
  self->rc[2] = ax_spawn_blocking(job_asserts, &self->w, &self->h[2]);
  AX_AWAIT(ax_join_wait(&self->h[0]));
  AX_AWAIT(ax_join_wait(&self->h[1]));
  AX_AWAIT(ax_join_wait(&self->h[2]));
  for (int k = 0; k < 3; k++) self->result[k] = self->h[k].result;
  self->value = ax_join_value(&self->h[0]);
  for (int k = 1; k < 3; k++) {
    const char *m = ax_join_panic_message(&self->h[k]);
    snprintf(self->msg[k - 1], sizeof(self->msg[k - 1]), "%s",
             m ? m : "(null)");
  }
  for (int k = 0; k < 3; k++) ax_join_drop(&self->h[k]);
  AX_END();
}

START_TEST(blocking_result_and_panics) {
  basic_t s = {0};
  th_run(_i, 2, AX_FUTURE(basic_fn, &s));
  for (int k = 0; k < 3; k++) TH_ASSERT_OK(s.rc[k]);
  ck_assert_int_eq(s.result[0], 0);
  ck_assert_ptr_eq(s.value, (char *)&s.w + 1);
  ck_assert_int_eq(atomic_load(&s.w.ran), 1);
  /* It ran on a pool thread, not the task's thread, as its own task of
   * the same runtime (Tokio: a blocking closure may spawn there, and
   * task::id() is its task's). */
  ck_assert(!uv_thread_equal(&s.w.thread, &s.task_thread));
  ck_assert_ptr_nonnull(s.w.rt);
  ck_assert_uint_ne(s.w.id, 0);
  ck_assert_int_eq(s.result[1], AX_EPANIC);
  ck_assert_str_eq(s.msg[0], "blocking job failed");
  ck_assert_int_eq(s.result[2], AX_EPANIC);
  ck_assert_msg(strstr(s.msg[1], "assertion failed: arg == NULL") != NULL,
                "%s", s.msg[1]);
}
END_TEST

START_TEST(blocking_outside_runtime) {
  where_t w = {0};
  ax_join_t h;
  memset(&h, 0xFF, sizeof(h));
  TH_ASSERT_ERR(ax_spawn_blocking(job_where, &w, &h), AX_ENORUNTIME);
  ck_assert_ptr_null(h.task);
  TH_ASSERT_ERR(ax_spawn_blocking_on(NULL, job_where, &w, NULL),
                AX_ENORUNTIME);
  ck_assert_int_eq(atomic_load(&w.ran), 0);
}
END_TEST

/* ax_spawn_blocking_on from a thread outside the runtime; the handle is
 * awaited by the block_on future. */
typedef struct {
  ax_async_t co;
  ax_join_t *h;
  void *value;
  int result;
} await_one_t;

AX_ASYNC(await_one_fn, await_one_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_join_wait(self->h));
  self->result = self->h->result;
  self->value = ax_join_value(self->h);
  ax_join_drop(self->h);
  AX_END();
}

START_TEST(blocking_on_from_outside) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  where_t w = {0};
  ax_join_t h;
  await_one_t a = {0};
  TH_ASSERT_OK(ax_spawn_blocking_on(rt, job_where, &w, &h));
  a.h = &h;
  th_block_on(rt, AX_FUTURE(await_one_fn, &a));
  ck_assert_int_eq(a.result, 0);
  ck_assert_ptr_eq(a.value, (char *)&w + 1);
  th_finish(rt, AX_FUTURE_OF(&a));
}
END_TEST

/* Detached jobs still run (a latch counts them). */
static void *job_latch(void *arg) {
  th_latch_down(arg);
  return NULL;
}

typedef struct {
  ax_async_t co;
  th_latch_t l;
  th_latchwait_t lw;
  int n;
  int failed;
} detached_t;

AX_ASYNC(detached_fn, detached_t, self) {
  AX_BEGIN(self);
  for (int k = 0; k < self->n; k++) {
    ax_join_t h;
    if (ax_spawn_blocking(job_latch, &self->l, k % 2 ? &h : NULL) != 0)
      self->failed++;
    else if (k % 2)
      ax_join_drop(&h);   /* detached after the fact */
  }
  AX_AWAIT(th_latch_wait(&self->lw, &self->l));
  AX_END();
}

START_TEST(blocking_detached) {
  detached_t s = {0};
  s.n = 64;
  th_latch_init(&s.l, s.n);
  th_run(_i, 2, AX_FUTURE(detached_fn, &s));
  ck_assert_int_eq(s.failed, 0);
  th_latch_destroy(&s.l);
}
END_TEST

/* Many jobs (th_square_job), every value comes back to its own handle. */

typedef struct {
  ax_async_t co;
  ax_join_t *h;
  int n, k;
  int bad;
} many_t;

AX_ASYNC(many_fn, many_t, self) {
  AX_BEGIN(self);
  for (int k = 0; k < self->n; k++)
    if (ax_spawn_blocking(th_square_job, (void *)(uintptr_t)k,
                          &self->h[k]) != 0)
      self->bad++;
  for (self->k = 0; self->k < self->n; self->k++) {
    AX_AWAIT(ax_join_wait(&self->h[self->k]));
    if (self->h[self->k].result != 0 ||
        ax_join_value(&self->h[self->k]) !=
            (void *)((uintptr_t)self->k * (uintptr_t)self->k))
      self->bad++;
    ax_join_drop(&self->h[self->k]);
  }
  AX_END();
}

START_TEST(blocking_many) {
  many_t s = {0};
  s.n = (int)ax_test_iters(2000);
  s.h = calloc((size_t)s.n, sizeof(*s.h));
  ck_assert_ptr_nonnull(s.h);
  th_run(_i, 2, AX_FUTURE(many_fn, &s));
  ck_assert_int_eq(s.bad, 0);
  free(s.h);
}
END_TEST

/* A long job does not hold up the next one while the pool has room: with
 * one job blocked on a gate, a second job still runs and finishes (axle
 * keeps its own job queue; one drainer busy with a job must not leave the
 * next job waiting behind it). */
typedef struct {
  ax_async_t co;
  gate_t *g;
  where_t w;
  ax_join_t slow, quick;
  int quick_done_while_slow_blocked;
} overtake_t;

AX_ASYNC(overtake_fn, overtake_t, self) {
  AX_BEGIN(self);
  TH_ASSERT_OK(ax_spawn_blocking(job_gated, self->g, &self->slow));
  while (atomic_load(&self->g->started) < 1) AX_YIELD();
  TH_ASSERT_OK(ax_spawn_blocking(job_where, &self->w, &self->quick));
  AX_AWAIT(ax_join_wait(&self->quick));
  self->quick_done_while_slow_blocked = atomic_load(&self->g->finished) == 0;
  uv_sem_post(&self->g->gate);
  AX_AWAIT(ax_join_wait(&self->slow));
  ck_assert_int_eq(self->slow.result, 0);
  ax_join_drop(&self->slow);
  ax_join_drop(&self->quick);
  AX_END();
}

START_TEST(blocking_long_job_does_not_block_next) {
  gate_t g;
  overtake_t s = {0};
  if (th_pool_threads() < 2) return;   /* one thread: FIFO is all there is */
  gate_init(&g);
  s.g = &g;
  th_run(_i, 2, AX_FUTURE(overtake_fn, &s));
  ck_assert_int_eq(s.quick_done_while_slow_blocked, 1);
  ck_assert_int_eq(atomic_load(&s.w.ran), 1);
  uv_sem_destroy(&g.gate);
}
END_TEST

/* Jobs that wait for the job spawned right after them (through a
 * semaphore, as a blocking channel would): job 2k waits for job 2k+1.
 * libuv's first-in-first-out pool runs them fine with two threads or
 * more; so must axle's queue (no job may sit in a batch behind one that
 * waits for it). */
typedef struct {
  uv_sem_t go[4];
} pairs_t;

typedef struct {
  pairs_t *p;
  int k;
} pair_arg_t;

static void *job_pair(void *arg) {
  pair_arg_t *a = arg;
  if (a->k % 2 == 0)
    uv_sem_wait(&a->p->go[a->k / 2]);
  else
    uv_sem_post(&a->p->go[a->k / 2]);
  return arg;
}

typedef struct {
  ax_async_t co;
  pairs_t *p;
  gate_t *g;
  unsigned pool;
  ax_join_t blockers[64];
  pair_arg_t args[8];
  ax_join_t h[8];
  int k;
  int bad;
} pairs_main_t;

AX_ASYNC(pairs_fn, pairs_main_t, self) {
  AX_BEGIN(self);
  /* Hold every pool thread first, so that all eight are queued before
   * any is taken: then the threads, freed together, each find several
   * jobs waiting. */
  for (self->k = 0; self->k < (int)self->pool; self->k++)
    TH_ASSERT_OK(ax_spawn_blocking(job_gated, self->g,
                                   &self->blockers[self->k]));
  while (atomic_load(&self->g->started) < (int)self->pool) AX_YIELD();
  for (self->k = 0; self->k < 8; self->k++) {
    self->args[self->k].p = self->p;
    self->args[self->k].k = self->k;
    TH_ASSERT_OK(ax_spawn_blocking(job_pair, &self->args[self->k],
                                   &self->h[self->k]));
  }
  for (self->k = 0; self->k < (int)self->pool; self->k++)
    uv_sem_post(&self->g->gate);
  for (self->k = 0; self->k < 8; self->k++) {
    AX_AWAIT(ax_join_wait(&self->h[self->k]));
    if (self->h[self->k].result != 0) self->bad++;
    ax_join_drop(&self->h[self->k]);
  }
  for (self->k = 0; self->k < (int)self->pool; self->k++) {
    AX_AWAIT(ax_join_wait(&self->blockers[self->k]));
    ax_join_drop(&self->blockers[self->k]);
  }
  AX_END();
}

START_TEST(blocking_jobs_waiting_for_the_next_one) {
  pairs_t p;
  pairs_main_t s = {0};
  gate_t g;
  if (th_pool_threads() < 2 || th_pool_threads() > 64) return;
  for (int k = 0; k < 4; k++) ck_assert_int_eq(uv_sem_init(&p.go[k], 0), 0);
  gate_init(&g);
  s.p = &p;
  s.g = &g;
  s.pool = th_pool_threads();
  th_run(_i, 2, AX_FUTURE(pairs_fn, &s));
  ck_assert_int_eq(s.bad, 0);
  for (int k = 0; k < 4; k++) uv_sem_destroy(&p.go[k]);
  uv_sem_destroy(&g.gate);
}
END_TEST

/* After a burst whose first job is long: once the burst's other jobs are
 * done, a new job still gets a pool thread while the long one runs (the
 * count of busy drainers must not drift). */
typedef struct {
  ax_async_t co;
  gate_t *g;
  where_t w[16];
  ax_join_t slow, quick[15], late;
  where_t late_w;
  int k;
  int late_done_while_slow_blocked;
} burst_t;

AX_ASYNC(burst_fn, burst_t, self) {
  AX_BEGIN(self);
  TH_ASSERT_OK(ax_spawn_blocking(job_gated, self->g, &self->slow));
  for (self->k = 0; self->k < 15; self->k++)
    TH_ASSERT_OK(ax_spawn_blocking(job_where, &self->w[self->k],
                                   &self->quick[self->k]));
  for (self->k = 0; self->k < 15; self->k++) {
    AX_AWAIT(ax_join_wait(&self->quick[self->k]));
    ax_join_drop(&self->quick[self->k]);
  }
  TH_ASSERT_OK(ax_spawn_blocking(job_where, &self->late_w, &self->late));
  AX_AWAIT(ax_join_wait(&self->late));
  ax_join_drop(&self->late);
  self->late_done_while_slow_blocked = atomic_load(&self->g->finished) == 0;
  uv_sem_post(&self->g->gate);
  AX_AWAIT(ax_join_wait(&self->slow));
  ax_join_drop(&self->slow);
  AX_END();
}

START_TEST(blocking_after_burst_with_long_job) {
  gate_t g;
  burst_t s = {0};
  if (th_pool_threads() < 2) return;
  gate_init(&g);
  s.g = &g;
  th_run(_i, 2, AX_FUTURE(burst_fn, &s));
  ck_assert_int_eq(s.late_done_while_slow_blocked, 1);
  uv_sem_destroy(&g.gate);
}
END_TEST

/* A job spawned from outside on a current-thread runtime that is not in
 * block_on waits for that runtime's next turn; it must not hold up the
 * jobs of another runtime meanwhile (the pool work it asked for is not
 * capacity until that runtime's loop runs). */
typedef struct {
  ax_async_t co;
  where_t w;
  ax_join_t h;
} one_job_t;

/* Two jobs one after the other: the first run drains the shared queue
 * (the idle runtime's job too); the second finds it empty and must still
 * get a pool thread. */
AX_ASYNC(one_job_fn, one_job_t, self) {
  AX_BEGIN(self);
  TH_ASSERT_OK(ax_spawn_blocking(job_where, &self->w, &self->h));
  AX_AWAIT(ax_join_wait(&self->h));
  ck_assert_int_eq(self->h.result, 0);
  ax_join_drop(&self->h);
  TH_ASSERT_OK(ax_spawn_blocking(job_where, &self->w, &self->h));
  AX_AWAIT(ax_join_wait(&self->h));
  ck_assert_int_eq(self->h.result, 0);
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(blocking_idle_runtime_does_not_hold_up_others) {
  ax_runtime_t *ct = th_runtime(0, 1, NULL);
  ax_runtime_t *mt = th_runtime(1, 2, NULL);
  where_t w = {0};
  ax_join_t h;
  one_job_t s = {0};
  TH_ASSERT_OK(ax_spawn_blocking_on(ct, job_where, &w, &h));
  TH_ASSERT_OK(ax_block_on(mt, AX_FUTURE(one_job_fn, &s)));
  ck_assert_int_eq(atomic_load(&s.w.ran), 2);
  ax_drop(AX_FUTURE_OF(&s));
  ax_runtime_free(mt);
  ax_runtime_free(ct);   /* runs or cancels the waiting job */
  {
    th_cx_t cx;
    int r;
    th_cx_init(&cx);
    ck_assert_int_eq(TH_POLL(ax_join_wait(&h), &cx), AX_READY);
    r = h.result;
    ck_assert_msg(r == 0 || r == AX_ECANCELED, "%s", ax_err_name(r));
    ax_join_drop(&h);
  }
}
END_TEST

/* ---- cancellation -------------------------------------------------------- */

/* Fill the pool with gated jobs, queue `n` more, abort those, open the
 * gate: the aborted jobs report AX_ECANCELED and their function never
 * runs (they were taken off the queue). */
typedef struct {
  ax_async_t co;
  gate_t *g;
  unsigned pool;
  int n;
  int multi;
  ax_join_t blockers[64];
  ax_join_t victims[16];
  ax_yield_t y;
  int k;
  int victim_results[16];
  int blocker_bad;
  int abort_rc_bad;
} cancel_t;

AX_ASYNC(cancel_fn, cancel_t, self) {
  AX_BEGIN(self);
  for (unsigned k = 0; k < self->pool; k++)
    ax_spawn_blocking(job_gated, self->g, &self->blockers[k]);
  /* Wait until every pool thread holds a blocker (this is the block_on
   * future: the yields give the loop its turns). */
  while (atomic_load(&self->g->started) < (int)self->pool)
    AX_AWAIT(ax_yield_now(&self->y));
  for (int k = 0; k < self->n; k++)
    ax_spawn_blocking(job_must_not_run, NULL, &self->victims[k]);
  /* The victims are queued by ax_spawn_blocking itself (the job tasks are
   * never polled: a pool thread finishes them).  Yield a few times anyway,
   * so that anything a worker would do for them has had its chance. */
  for (self->k = 0; self->k < 8; self->k++) AX_AWAIT(ax_yield_now(&self->y));
  for (int k = 0; k < self->n; k++)
    if (ax_abort(&self->victims[k]) != 0) self->abort_rc_bad++;
  for (self->k = 0; self->k < self->n; self->k++) {
    AX_AWAIT(ax_join_wait(&self->victims[self->k]));
    self->victim_results[self->k] = self->victims[self->k].result;
    ax_join_drop(&self->victims[self->k]);
  }
  for (unsigned k = 0; k < self->pool; k++) uv_sem_post(&self->g->gate);
  for (self->k = 0; self->k < (int)self->pool; self->k++) {
    AX_AWAIT(ax_join_wait(&self->blockers[self->k]));
    if (self->blockers[self->k].result != 0 ||
        ax_join_value(&self->blockers[self->k]) != self->g)
      self->blocker_bad++;
    ax_join_drop(&self->blockers[self->k]);
  }
  AX_END();
}

START_TEST(blocking_abort_before_start) {
  /* Multi-thread: the abort may be carried out by another worker than the
   * one whose loop queued the job, so try a few rounds. */
  int rounds = _i == MULTI ? 4 : 1, ran = 0;
  atomic_store(&cancelled_runs, 0);
  for (int round = 0; round < rounds; round++) {
    gate_t g;
    cancel_t s = {0};
    gate_init(&g);
    s.g = &g;
    s.pool = th_pool_threads();
    ck_assert_uint_le(s.pool, 64);
    s.n = 8;
    s.multi = _i;
    /* The shutdown waits for the pool's work. */
    th_run(_i, 2, AX_FUTURE(cancel_fn, &s));
    ck_assert_int_eq(s.abort_rc_bad, 0);
    for (int k = 0; k < s.n; k++)
      ck_assert_int_eq(s.victim_results[k], AX_ECANCELED);
    ck_assert_int_eq(s.blocker_bad, 0);
    uv_sem_destroy(&g.gate);
    ran += s.n;
  }
  /* An aborted job whose function ran anyway was not removed from the
   * queue. */
  ck_assert_msg(atomic_load(&cancelled_runs) == 0,
                "%d of %d aborted, not-started jobs ran anyway",
                atomic_load(&cancelled_runs), ran);
}
END_TEST

/* Abort of a job that already started: it runs to completion (its result
 * is discarded), the handle says AX_ECANCELED. */
typedef struct {
  ax_async_t co;
  gate_t *g;
  ax_join_t h;
  ax_yield_t y;
  int result;
  int finished_at_join;
} started_t;

AX_ASYNC(started_fn, started_t, self) {
  AX_BEGIN(self);
  ax_spawn_blocking(job_gated, self->g, &self->h);
  while (atomic_load(&self->g->started) < 1) AX_AWAIT(ax_yield_now(&self->y));
  ax_abort(&self->h);
  AX_AWAIT(ax_join_wait(&self->h));
  self->result = self->h.result;
  self->finished_at_join = atomic_load(&self->g->finished);
  ax_join_drop(&self->h);
  uv_sem_post(&self->g->gate);   /* now let it finish */
  AX_END();
}

START_TEST(blocking_abort_after_start) {
  gate_t g;
  started_t s = {0};
  gate_init(&g);
  s.g = &g;
  /* The shutdown waits for the job and frees its task. */
  th_run(_i, 2, AX_FUTURE(started_fn, &s));
  ck_assert_int_eq(s.result, AX_ECANCELED);
  ck_assert_int_eq(s.finished_at_join, 0);  /* the task did not wait for it */
  ck_assert_int_eq(atomic_load(&g.finished), 1);
  uv_sem_destroy(&g.gate);
}
END_TEST

/* Shutdown with jobs running and queued: nothing leaks, the kept handles
 * say how each ended. */
START_TEST(blocking_shutdown_in_flight) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  gate_t g;
  ax_join_t h[12];
  unsigned pool = th_pool_threads();
  gate_init(&g);
  for (int k = 0; k < 12; k++)
    TH_ASSERT_OK(ax_spawn_blocking_on(rt, job_gated, &g, &h[k]));
  if (_i == MULTI) wait_for(&g.started, (int)(pool < 12 ? pool : 12));
  for (int k = 0; k < 12; k++) uv_sem_post(&g.gate);  /* let them finish */
  ax_runtime_free(rt);
  for (int k = 0; k < 12; k++) {
    th_cx_t cx;
    th_cx_init(&cx);
    ck_assert_int_eq(TH_POLL(ax_join_wait(&h[k]), &cx), AX_READY);
    int r = h[k].result;
    ck_assert_msg(r == 0 || r == AX_ECANCELED, "job %d: %s", k,
                  ax_err_name(r));
    if (r == 0) ck_assert_ptr_eq(ax_join_value(&h[k]), &g);
    ax_join_drop(&h[k]);
  }
  /* Gate posts not consumed by jobs that never ran stay in the semaphore. */
  ck_assert_int_le(atomic_load(&g.finished), 12);
  uv_sem_destroy(&g.gate);
}
END_TEST

/* ---- the chapter's compute_hash ------------------------------------------ */

/* async fn compute_hash(data) -> String: FNV-1a 64 on the blocking pool,
 * returned as a hex string the caller frees. */
typedef struct {
  const unsigned char *data;
  size_t len;
} hash_in_t;

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static void *hash_job(void *arg) {
  hash_in_t *in = arg;
  char *out = malloc(17);
  if (out != NULL)
    snprintf(out, 17, "%016llx",
             (unsigned long long)fnv1a64(in->data, in->len));
  free(in);   /* the job owns its input (Rust's move) */
  return out;
}

typedef struct {
  ax_async_t co;
  const char *text;
  size_t len;
  ax_join_t h;
  char *out;
  int result;
} compute_hash_t;

AX_ASYNC(compute_hash_fn, compute_hash_t, self) {
  AX_BEGIN(self);
  {
    hash_in_t *in = malloc(sizeof(*in));
    in->data = (const unsigned char *)self->text;
    in->len = self->len;
    if (ax_spawn_blocking(hash_job, in, &self->h) != 0) {
      free(in);
      self->result = -1;
      AX_RETURN();
    }
  }
  AX_AWAIT(ax_join_wait(&self->h));
  /* .expect("blocking task panicked"): the caller checks result */
  self->result = self->h.result;
  self->out = ax_join_value(&self->h);
  ax_join_drop(&self->h);
  AX_END();
}

typedef struct {
  ax_async_t co;
  compute_hash_t calls[16];
  ax_join_t h[16];
  char big[100000];
  int k;
} hashes_t;

AX_ASYNC(hashes_fn, hashes_t, self) {
  AX_BEGIN(self);
  for (int k = 0; k < 16; k++) {
    compute_hash_t *c = &self->calls[k];
    c->text = k == 0 ? "" : k == 1 ? "a" : k == 2 ? "hello world" : self->big;
    c->len = k < 3 ? strlen(c->text) : sizeof(self->big) - (size_t)k;
    /* Each call is its own task, all hashing concurrently. */
    ax_spawn(AX_FUTURE(compute_hash_fn, c), sizeof(*c), &self->h[k]);
  }
  for (self->k = 0; self->k < 16; self->k++) {
    AX_AWAIT(ax_join_wait(&self->h[self->k]));
    {
      compute_hash_t *done = ax_join_output(&self->h[self->k]);
      self->calls[self->k].result = done->result;
      self->calls[self->k].out = done->out;
    }
    ax_join_drop(&self->h[self->k]);
  }
  AX_END();
}

START_TEST(compute_hash_example) {
  hashes_t *s = calloc(1, sizeof(*s));
  ck_assert_ptr_nonnull(s);
  for (size_t i = 0; i < sizeof(s->big); i++) s->big[i] = (char)(i * 7 + 1);
  th_run(_i, 2, AX_FUTURE(hashes_fn, s));
  /* Published FNV-1a 64 test vectors. */
  ck_assert_int_eq(s->calls[0].result, 0);
  ck_assert_str_eq(s->calls[0].out, "cbf29ce484222325");
  ck_assert_str_eq(s->calls[1].out, "af63dc4c8601ec8c");
  ck_assert_str_eq(s->calls[2].out, "779a65e7023cd2e7");
  for (int k = 3; k < 16; k++) {
    char want[17];
    snprintf(want, sizeof(want), "%016llx",
             (unsigned long long)fnv1a64((const unsigned char *)s->big,
                                         sizeof(s->big) - (size_t)k));
    ck_assert_int_eq(s->calls[k].result, 0);
    ck_assert_str_eq(s->calls[k].out, want);
  }
  for (int k = 0; k < 16; k++) free(s->calls[k].out);
  free(s);
}
END_TEST

/* ---- the pool size ------------------------------------------------------- */

START_TEST(max_blocking_threads_documented) {
  /* Whatever ran before in this process, libuv's pool has (or will have)
   * th_pool_threads() threads: asking for that size is fine, asking for
   * another is AX_EPOOLSIZE, asking for more than libuv's cap AX_EINVAL. */
  ax_builder_t b;
  ax_runtime_t *rt = NULL;
  unsigned n = th_pool_threads();
  ax_builder_init(&b, AX_CURRENT_THREAD);
  b.max_blocking_threads = n;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  ax_runtime_free(rt);
  b.max_blocking_threads = n + 1;
  TH_ASSERT_ERR(ax_runtime_new(&b, &rt), AX_EPOOLSIZE);
  ck_assert_ptr_null(rt);
  b.max_blocking_threads = 1025;
  TH_ASSERT_ERR(ax_runtime_new(&b, &rt), AX_EINVAL);
  b.max_blocking_threads = 0;   /* "whatever it is" */
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  ax_runtime_free(rt);
}
END_TEST

START_TEST(max_blocking_threads_fresh_process) {
  /* Only meaningful in a process whose pool is untouched: Check's fork
   * mode gives each test one.  Under CK_FORK=no the documented behaviour
   * is covered by max_blocking_threads_documented. */
  ax_builder_t b;
  ax_runtime_t *rt, *rt2;
  gate_t g;
  const int jobs = 6;
  char env[16];
  size_t len = sizeof(env);
  if (th_no_fork() || uv_os_getenv("UV_THREADPOOL_SIZE", env, &len) == 0)
    return;
  gate_init(&g);
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 2;
  b.max_blocking_threads = 2;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  /* A second runtime must agree on the size. */
  b.max_blocking_threads = 3;
  TH_ASSERT_ERR(ax_runtime_new(&b, &rt2), AX_EPOOLSIZE);
  b.max_blocking_threads = 2;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt2));
  ax_runtime_free(rt2);
  for (int k = 0; k < jobs; k++)
    TH_ASSERT_OK(ax_spawn_blocking_on(rt, job_gated, &g, NULL));
  /* Release the jobs one by one; at most 2 ever run at once. */
  for (int k = 0; k < jobs; k++) {
    wait_for(&g.started, k + 2 < jobs ? k + 2 : jobs);
    uv_sem_post(&g.gate);
  }
  wait_for(&g.finished, jobs);
  ck_assert_int_eq(atomic_load(&g.max_running), 2);
  ax_runtime_free(rt);
  uv_sem_destroy(&g.gate);
}
END_TEST

Suite *ax_blocking_suite(void) {
  return AX_SUITE("blocking",
                  AX_CASE("blocking", 30),
                  AX_FLAVOURS(blocking_result_and_panics),
                  AX_ONCE(blocking_outside_runtime),
                  AX_FLAVOURS(blocking_on_from_outside),
                  AX_FLAVOURS(blocking_detached),
                  AX_FLAVOURS(blocking_many),
                  AX_FLAVOURS(blocking_long_job_does_not_block_next),
                  AX_FLAVOURS(blocking_jobs_waiting_for_the_next_one),
                  AX_FLAVOURS(blocking_after_burst_with_long_job),
                  AX_ONCE(blocking_idle_runtime_does_not_hold_up_others),
                  AX_FLAVOURS(compute_hash_example),
                  AX_CASE("cancel", 30),
                  AX_FLAVOURS(blocking_abort_before_start),
                  AX_FLAVOURS(blocking_abort_after_start),
                  AX_FLAVOURS(blocking_shutdown_in_flight),
                  AX_CASE("pool", 30),
                  AX_ONCE(max_blocking_threads_documented),
                  AX_ONCE(max_blocking_threads_fresh_process));
}
