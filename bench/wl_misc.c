/* spawn_blocking, spawn_blocking_pool4, timers_1m. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* ---- spawn_blocking ------------------------------------------------------
 * Inside block_on: BLOCKING_JOBS x spawn_blocking(i * 2654435761), then
 * await every handle in order.  axle's pool is libuv's threadpool
 * (UV_THREADPOOL_SIZE, default 4): `spawn_blocking` runs on the default
 * pool, `spawn_blocking_pool4` sets max_blocking_threads = 4 explicitly
 * (the same pool; it exists so the row names match the anchors). */

static void *blocking_job(void *arg) {
  uintptr_t i = (uintptr_t)arg;
  bench_black_box(i);
  return (void *)(uintptr_t)(i * UINT64_C(2654435761));
}

typedef struct {
  ax_async_t co;
  ax_join_t *handles;
  size_t i;
  uintptr_t acc;
} blocking_main_t;

AX_ASYNC(blocking_main, blocking_main_t, s) {
  AX_BEGIN(s);
  for (s->i = 0; s->i < BLOCKING_JOBS; s->i++)
    bench_check(ax_spawn_blocking(blocking_job, (void *)(uintptr_t)s->i,
                                  &s->handles[s->i]),
                "ax_spawn_blocking");
  for (s->i = 0; s->i < BLOCKING_JOBS; s->i++) {
    AX_AWAIT(ax_join_wait(&s->handles[s->i]));
    if (s->handles[s->i].result != 0)
      bench_fail("blocking job: %s", ax_strerror(s->handles[s->i].result));
    s->acc += (uintptr_t)ax_join_value(&s->handles[s->i]);
    ax_join_drop(&s->handles[s->i]);
  }
  bench_black_box(s->acc);
  AX_END();
}

static void spawn_blocking_pool(const bench_opts_t *o, unsigned w, unsigned r,
                                bench_result_t *res, unsigned pool) {
  blocking_main_t init = {0};
  bench_main_t m = {bench_runtime(o, pool), AX_FUTURE(blocking_main, &init),
                    sizeof init, NULL, NULL, NULL};
  init.handles = calloc(BLOCKING_JOBS, sizeof(ax_join_t));
  if (init.handles == NULL) bench_fail("out of memory");
  bench_measure_main(&m, w, r, res);
  res->ops = BLOCKING_JOBS;
  bench_extra(res, "max_blocking_threads", "%u", pool ? pool : 4u);
  bench_runtime_free(m.rt);
  free(init.handles);
}

void wl_spawn_blocking(const bench_opts_t *o, unsigned w, unsigned r,
                       bench_result_t *res) {
  spawn_blocking_pool(o, w, r, res, 0);
}

void wl_spawn_blocking_pool4(const bench_opts_t *o, unsigned w, unsigned r,
                             bench_result_t *res) {
  spawn_blocking_pool(o, w, r, res, 4);
}

/* ---- timers_1m ---------------------------------------------------------------
 * A driver task spawns TIMER_TASKS tasks; task i sleeps 1 + x_i % 1000 ms
 * (x_i from xorshift64, the sleep starts when the task first runs), and
 * the driver awaits every handle in order. */

static uint64_t xorshift64(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

typedef struct {
  ax_async_t co;
  uint64_t ms;
  ax_sleep_t sleep;
} timer_task_t;

AX_ASYNC(timer_task, timer_task_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_sleep(&s->sleep, s->ms));
  ax_drop(&s->sleep.base);
  AX_END();
}

static void timer_task_drop(void *self) {
  timer_task_t *s = self;
  ax_drop(&s->sleep.base);
}

typedef struct {
  ax_async_t co;
  ax_join_t *handles;
  size_t i;
  uint64_t spawn_ns;   /* output */
} timer_driver_t;

AX_ASYNC(timer_driver, timer_driver_t, s) {
  AX_BEGIN(s);
  {
    uint64_t t0 = bench_now_ns(), rng = TIMER_SEED;
    size_t i;
    s->handles = malloc(TIMER_TASKS * sizeof(ax_join_t));
    if (s->handles == NULL) bench_fail("out of memory");
    for (i = 0; i < TIMER_TASKS; i++) {
      timer_task_t t;
      memset(&t, 0, sizeof(t));
      t.ms = 1 + xorshift64(&rng) % 1000;
      bench_check(ax_spawn(AX_FUTURE_DROP(timer_task, timer_task_drop, &t),
                           sizeof(t), &s->handles[i]),
                  "ax_spawn");
    }
    s->spawn_ns = bench_now_ns() - t0;
  }
  for (s->i = 0; s->i < TIMER_TASKS; s->i++) {
    AX_AWAIT(ax_join_wait(&s->handles[s->i]));
    if (s->handles[s->i].result != 0)
      bench_fail("timer task: %s", ax_strerror(s->handles[s->i].result));
    ax_join_drop(&s->handles[s->i]);
  }
  free(s->handles);
  s->handles = NULL;
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t h;
  uint64_t spawn_ns;
} timer_main_t;

AX_ASYNC(timer_main, timer_main_t, s) {
  AX_BEGIN(s);
  {
    timer_driver_t d;
    memset(&d, 0, sizeof(d));
    bench_check(AX_SPAWN(timer_driver, &d, &s->h), "ax_spawn");
  }
  AX_AWAIT(ax_join_wait(&s->h));
  if (s->h.result != 0) bench_fail("driver: %s", ax_strerror(s->h.result));
  s->spawn_ns = ((timer_driver_t *)ax_join_output(&s->h))->spawn_ns;
  ax_join_drop(&s->h);
  AX_END();
}

/* The spawn phase's time, logged per iteration. */
typedef struct {
  uint64_t *spawn_ns;
  size_t nspawn;
} timers_log_t;

static uint64_t timers_after(void *state, uint64_t ns, void *arg) {
  timers_log_t *c = arg;
  c->spawn_ns[c->nspawn++] = ((timer_main_t *)state)->spawn_ns;
  return ns;
}

void wl_timers_1m(const bench_opts_t *o, unsigned w, unsigned r,
                  bench_result_t *res) {
  timers_log_t c;
  timer_main_t init = {0};
  bench_main_t m = {bench_runtime(o, 0), AX_FUTURE(timer_main, &init),
                    sizeof init, NULL, timers_after, &c};
  uint64_t rss_before, peak, med;
  c.spawn_ns = malloc((w + r + 1) * sizeof(uint64_t));
  if (c.spawn_ns == NULL) bench_fail("out of memory");
  c.nspawn = 0;
  rss_before = bench_proc_status_bytes("VmRSS");
  bench_measure_main(&m, w, r, res);
  peak = bench_proc_status_bytes("VmHWM");
  med = bench_median(res->samples, res->nsamples);
  res->ops = TIMER_TASKS;
  bench_extra(res, "spawn_phase_median_ns", "%llu",
              (unsigned long long)bench_median(c.spawn_ns, c.nspawn));
  bench_extra(res, "excess_over_1s_ns", "%lld",
              (long long)med - 1000000000ll);
  bench_extra(res, "rss_before_bytes", "%llu", (unsigned long long)rss_before);
  bench_extra(res, "peak_rss_bytes", "%llu", (unsigned long long)peak);
  bench_extra(res, "peak_rss_bytes_per_task", "%.1f",
              (double)(peak > rss_before ? peak - rss_before : 0) /
                  (double)TIMER_TASKS);
  bench_runtime_free(m.rt);
  free(c.spawn_ns);
}
