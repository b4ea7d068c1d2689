/* Scheduler workloads (Tokio's benches/rt_multi_threaded.rs):
 * spawn_many_local, spawn_many_blockon, spawn_many_remote_{idle,busy1,busy2},
 * yield_many, chained_spawn. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- tasks shared by several workloads -------------------------------- */

/* A task whose body is only latch.count_down(). */
typedef struct {
  ax_async_t co;
  bench_latch_t *latch;
} count_task_t;

AX_ASYNC(count_task, count_task_t, s) {
  AX_BEGIN(s);
  bench_latch_count_down(s->latch);
  AX_END();
}

static void spawn_counter(bench_latch_t *l) {
  count_task_t c;
  c.latch = l;
  bench_check(AX_SPAWN(count_task, &c, NULL), "ax_spawn");
}

/* async {} */
typedef struct {
  ax_async_t co;
} empty_task_t;

AX_ASYNC(empty_task, empty_task_t, s) {
  AX_BEGIN(s);
  AX_END();
}

/* ---- spawn_many_local --------------------------------------------------- */

/* Runs on a worker: NUM_SPAWN spawns into the worker's local queue. */
typedef struct {
  ax_async_t co;
  bench_latch_t *latch;
} spawner_t;

AX_ASYNC(spawner_task, spawner_t, s) {
  unsigned i;
  AX_BEGIN(s);
  for (i = 0; i < NUM_SPAWN; i++) spawn_counter(s->latch);
  AX_END();
}

/* The block_on future spawns the spawner and waits. */
void wl_spawn_many_local_start(bench_latch_t *l) {
  spawner_t sp;
  sp.latch = l;
  bench_check(AX_SPAWN(spawner_task, &sp, NULL), "ax_spawn");
}

/* ---- spawn_many_blockon: the spawn loop in the block_on future itself ---- */

void wl_spawn_many_blockon_start(bench_latch_t *l) {
  unsigned i;
  for (i = 0; i < NUM_SPAWN; i++) spawn_counter(l);
}

/* ---- spawn_many_remote_*: spawn from outside, join in block_on ---------- */

typedef struct {
  ax_async_t co;
  ax_join_t *handles;
  size_t n, i;
} join_all_t;

AX_ASYNC(join_all_main, join_all_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < s->n; s->i++) {
    AX_AWAIT(ax_join_wait(&s->handles[s->i]));
    if (s->handles[s->i].result != 0)
      bench_fail("join: %s", ax_strerror(s->handles[s->i].result));
    ax_join_drop(&s->handles[s->i]);
  }
  AX_END();
}

/* The workloads that spawn from this thread, outside the runtime. */
typedef struct {
  ax_runtime_t *rt;
  ax_join_t *handles;   /* spawn_many_remote_*: capacity reserved once */
  size_t n;             /* spawn_many_remote_*: spawns per iteration */
  bench_latch_t latch;  /* yield_many: the tasks' completion */
} remote_ctx_t;

/* From the main thread, outside the runtime: n remote spawns, then
 * block_on awaits every handle in spawn order. */
static uint64_t remote_spawn_join(void *arg) {
  remote_ctx_t *c = arg;
  join_all_t m;
  size_t i;
  uint64_t t0 = bench_now_ns();
  for (i = 0; i < c->n; i++) {
    empty_task_t e;
    bench_check(ax_spawn_on(c->rt, AX_FUTURE(empty_task, &e), sizeof(e),
                            &c->handles[i]),
                "ax_spawn_on");
  }
  memset(&m, 0, sizeof(m));
  m.handles = c->handles;
  m.n = c->n;
  bench_check(ax_block_on(c->rt, AX_FUTURE(join_all_main, &m)),
              "ax_block_on");
  ax_drop(AX_FUTURE_OF(&m));
  return bench_now_ns() - t0;
}

static void remote_init(remote_ctx_t *c, const bench_opts_t *o, size_t n) {
  c->rt = bench_runtime(o, 0);
  c->n = n;
  c->handles = calloc(n, sizeof(ax_join_t));
  if (c->handles == NULL) bench_fail("out of memory");
}

static void remote_fini(remote_ctx_t *c) {
  bench_runtime_free(c->rt);
  free(c->handles);
}

/* The busy* workloads' background load: n tasks of fn, each over the
 * flag that stops it. */
typedef struct {
  ax_async_t co;
  _Atomic int *flag;
} busy_task_t;

static void spawn_busy(remote_ctx_t *c, ax_async_fn fn, unsigned n,
                       _Atomic int *flag) {
  unsigned i;
  for (i = 0; i < n; i++) {
    busy_task_t b;
    b.flag = flag;
    bench_check(ax_spawn_on(c->rt, ax_async_init(&b.co, fn, NULL), sizeof(b),
                            NULL),
                "ax_spawn_on");
  }
}

void wl_spawn_many_remote_idle(const bench_opts_t *o, unsigned w, unsigned r,
                               bench_result_t *res) {
  remote_ctx_t c;
  remote_init(&c, o, NUM_SPAWN);
  bench_measure(w, r, remote_spawn_join, &c, res);
  res->ops = NUM_SPAWN;
  remote_fini(&c);
}

/* busy1: 2 * workers tasks `while flag { yield_now().await; stall(); }` */
AX_ASYNC(busy1_task, busy_task_t, s) {
  AX_BEGIN(s);
  while (atomic_load_explicit(s->flag, memory_order_relaxed)) {
    AX_YIELD();
    bench_stall();
  }
  AX_END();
}

void wl_spawn_many_remote_busy1(const bench_opts_t *o, unsigned w, unsigned r,
                                bench_result_t *res) {
  remote_ctx_t c;
  _Atomic int flag;
  unsigned nbusy = 2 * bench_workers(o);
  atomic_init(&flag, 1);
  remote_init(&c, o, NUM_SPAWN);
  spawn_busy(&c, busy1_task, nbusy, &flag);
  bench_measure(w, r, remote_spawn_join, &c, res);
  atomic_store(&flag, 0);
  res->ops = NUM_SPAWN;
  bench_extra(res, "busy_tasks", "%u", nbusy);
  remote_fini(&c);
}

/* busy2: `workers` chains; a chain task, while flag, stalls and spawns its
 * successor from inside the worker. */
AX_ASYNC(busy2_chain, busy_task_t, s) {
  AX_BEGIN(s);
  if (atomic_load_explicit(s->flag, memory_order_relaxed)) {
    busy_task_t next;
    int rc;
    bench_stall();
    next.flag = s->flag;
    rc = AX_SPAWN(busy2_chain, &next, NULL);
    if (rc != AX_ESHUTDOWN) bench_check(rc, "ax_spawn");  /* the end */
  }
  AX_END();
}

AX_ASYNC(busy2_start, busy_task_t, s) {
  AX_BEGIN(s);
  {
    busy_task_t first;
    first.flag = s->flag;
    bench_check(AX_SPAWN(busy2_chain, &first, NULL), "ax_spawn");
  }
  AX_END();
}

typedef struct {
  uv_mutex_t lock;
  uv_cond_t cond;
  int done;
  int fired;
  _Atomic int *flag;
} watchdog_t;

/* Stops the chains when an iteration takes longer than 3 s. */
static void watchdog_main(void *arg) {
  watchdog_t *wd = arg;
  uint64_t deadline = uv_hrtime() + (uint64_t)BUSY2_WATCHDOG_MS * 1000000u;
  uv_mutex_lock(&wd->lock);
  while (!wd->done) {
    uint64_t now = uv_hrtime();
    if (now >= deadline) {
      atomic_store(wd->flag, 0);
      wd->fired = 1;
      break;
    }
    (void)uv_cond_timedwait(&wd->cond, &wd->lock, deadline - now);
  }
  uv_mutex_unlock(&wd->lock);
}

void wl_spawn_many_remote_busy2(const bench_opts_t *o, unsigned w, unsigned r,
                                bench_result_t *res) {
  remote_ctx_t c;
  _Atomic int flag;
  unsigned i, nbusy = bench_workers(o);
  int starved = 0;
  atomic_init(&flag, 1);
  remote_init(&c, o, NUM_SPAWN_BUSY2);
  spawn_busy(&c, busy2_start, nbusy, &flag);
  res->samples = malloc((r ? r : 1) * sizeof(uint64_t));
  if (res->samples == NULL) bench_fail("out of memory");
  res->nsamples = 0;
  for (i = 0; i < w + r; i++) {
    watchdog_t wd;
    uv_thread_t th;
    uint64_t ns;
    memset(&wd, 0, sizeof(wd));
    wd.flag = &flag;
    uv_mutex_init(&wd.lock);
    uv_cond_init(&wd.cond);
    bench_check(uv_thread_create(&th, watchdog_main, &wd), "uv_thread_create");
    ns = remote_spawn_join(&c);
    uv_mutex_lock(&wd.lock);
    wd.done = 1;
    uv_cond_signal(&wd.cond);
    uv_mutex_unlock(&wd.lock);
    uv_thread_join(&th);
    uv_cond_destroy(&wd.cond);
    uv_mutex_destroy(&wd.lock);
    if ((i >= w || wd.fired) && res->nsamples < (r ? r : 1))
      res->samples[res->nsamples++] = ns;
    if (wd.fired) {
      starved = 1;
      break;
    }
  }
  atomic_store(&flag, 0);
  res->ops = NUM_SPAWN_BUSY2;
  bench_extra(res, "busy_tasks", "%u", nbusy);
  bench_extra(res, "starved", "%s", starved ? "true" : "false");
  bench_extra(res, "watchdog_ms", "%u", BUSY2_WATCHDOG_MS);
  remote_fini(&c);
}

/* ---- yield_many ---------------------------------------------------------- */

typedef struct {
  ax_async_t co;
  bench_latch_t *latch;
  unsigned i;
} yield_task_t;

AX_ASYNC(yield_task, yield_task_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < NUM_YIELD; s->i++) AX_YIELD();
  bench_latch_count_down(s->latch);
  AX_END();
}

/* Spawned from outside block_on (as the anchor does), so not
 * bench_latch_run's shape. */
static uint64_t yield_many_iter(void *arg) {
  remote_ctx_t *c = arg;
  bench_latch_wait_t wait;
  unsigned i;
  uint64_t t0;
  bench_latch_reset(&c->latch, YIELD_TASKS);
  t0 = bench_now_ns();
  for (i = 0; i < YIELD_TASKS; i++) {
    yield_task_t y;
    y.latch = &c->latch;
    y.i = 0;
    bench_check(ax_spawn_on(c->rt, AX_FUTURE(yield_task, &y), sizeof(y), NULL),
                "ax_spawn_on");
  }
  bench_check(ax_block_on(c->rt, bench_latch_wait(&wait, &c->latch)),
              "ax_block_on");
  return bench_now_ns() - t0;
}

void wl_yield_many(const bench_opts_t *o, unsigned w, unsigned r,
                   bench_result_t *res) {
  remote_ctx_t c;
  c.rt = bench_runtime(o, 0);
  bench_latch_init(&c.latch);
  bench_measure(w, r, yield_many_iter, &c, res);
  res->ops = (size_t)YIELD_TASKS * NUM_YIELD;
  bench_extra(res, "tasks", "%u", YIELD_TASKS);
  bench_extra(res, "yields_per_task", "%u", NUM_YIELD);
  bench_runtime_free(c.rt);
}

/* ---- chained_spawn ---------------------------------------------------------- */

typedef struct {
  ax_async_t co;
  bench_latch_t *latch;
  unsigned n;
} chain_task_t;

/* chain(n): n == 0 counts down, else spawns chain(n - 1). */
AX_ASYNC(chain_task, chain_task_t, s) {
  AX_BEGIN(s);
  if (s->n == 0) {
    bench_latch_count_down(s->latch);
  } else {
    chain_task_t next;
    next.latch = s->latch;
    next.n = s->n - 1;
    bench_check(AX_SPAWN(chain_task, &next, NULL), "ax_spawn");
  }
  AX_END();
}

void wl_chained_spawn_start(bench_latch_t *l) {
  chain_task_t first;
  first.latch = l;
  first.n = CHAIN_ITER;
  bench_check(AX_SPAWN(chain_task, &first, NULL), "ax_spawn");
}
