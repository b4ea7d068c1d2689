/* axle-bench: the axle side of the anchor benchmarks.
 *
 *   axle-bench <workload> [--threads N | --current] [--iters R] [--warmup W]
 *   axle-bench list
 *
 * Every workload prints exactly one JSON line on stdout, with the fields of
 * the Tokio anchor (shared/anchors/README.md is the specification) and
 * "system":"axle".  One runtime per process.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#  include <windows.h>
#else
#  include <sched.h>
#endif

#include "bench.h"

/* ---- errors ----------------------------------------------------------------- */

void bench_fail(const char *fmt, ...) {
  va_list ap;
  fputs("axle-bench: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  exit(1);
}

void bench_check(int rc, const char *what) {
  if (rc != 0) bench_fail("%s: %s", what, ax_strerror(rc));
}

/* ---- runtime ---------------------------------------------------------------- */

unsigned bench_workers(const bench_opts_t *o) {
  return o->current ? 1u : o->threads;
}

ax_runtime_t *bench_runtime(const bench_opts_t *o, unsigned max_blocking) {
  ax_builder_t b;
  ax_runtime_t *rt;
  ax_builder_init(&b, o->current ? AX_CURRENT_THREAD : AX_MULTI_THREAD);
  if (!o->current) b.worker_threads = o->threads;
  b.max_blocking_threads = max_blocking;
  bench_check(ax_runtime_new(&b, &rt), "ax_runtime_new");
  return rt;
}

/* AXLE_BENCH_STATS=1: each worker's counters on stderr before the runtime
 * goes (polls, steals, parks, I/O polls): where the time went, at no cost
 * when unset. */
void bench_runtime_free(ax_runtime_t *rt) {
  const char *env = getenv("AXLE_BENCH_STATS");
  unsigned i;
  if (env != NULL && *env != '\0' && *env != '0') {
    for (i = 0; i < ax_runtime_workers(rt); i++) {
      ax_worker_stats_t st;
      if (ax_runtime_worker_stats(rt, i, &st) != 0) continue;
      fprintf(stderr,
              "worker %u: polls %llu steals %llu parks %llu io_polls %llu\n",
              i, (unsigned long long)st.polls, (unsigned long long)st.steals,
              (unsigned long long)st.parks, (unsigned long long)st.io_polls);
    }
  }
  ax_runtime_free(rt);
}

/* ---- time and measurement ------------------------------------------------- */

uint64_t bench_now_ns(void) { return uv_hrtime(); }

void bench_measure(unsigned w, unsigned r, bench_iter_fn_t fn, void *ctx,
                   bench_result_t *res) {
  unsigned i;
  res->samples = malloc((r ? r : 1) * sizeof(uint64_t));
  if (res->samples == NULL) bench_fail("out of memory");
  res->nsamples = 0;
  for (i = 0; i < w; i++) bench_black_box(fn(ctx));
  for (i = 0; i < r; i++) res->samples[res->nsamples++] = fn(ctx);
}

uint64_t bench_timed_block_on(ax_runtime_t *rt, ax_future_t *fut) {
  uint64_t t0 = bench_now_ns();
  bench_check(ax_block_on(rt, fut), "ax_block_on");
  return bench_now_ns() - t0;
}

static uint64_t main_iter(void *arg) {
  const bench_main_t *m = arg;
  union {
    max_align_t align;
    unsigned char bytes[BENCH_MAIN_MAX];
  } state;
  ax_future_t *fut = (ax_future_t *)(void *)&state;   /* co.base leads */
  uint64_t ns;
  memcpy(&state, m->proto, m->size);
  if (m->before != NULL) m->before(&state, m->arg);
  ns = bench_timed_block_on(m->rt, fut);
  ax_drop(fut);
  return m->after != NULL ? m->after(&state, ns, m->arg) : ns;
}

void bench_measure_main(const bench_main_t *m, unsigned w, unsigned r,
                        bench_result_t *res) {
  if (m->size > BENCH_MAIN_MAX) bench_fail("main state too large");
  bench_measure(w, r, main_iter, (void *)m, res);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

uint64_t bench_median(const uint64_t *v, size_t n) {
  uint64_t *s, m;
  if (n == 0) return 0;
  s = malloc(n * sizeof(*s));
  if (s == NULL) bench_fail("out of memory");
  memcpy(s, v, n * sizeof(*s));
  qsort(s, n, sizeof(*s), cmp_u64);
  m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  free(s);
  return m;
}

void bench_extra(bench_result_t *res, const char *key, const char *fmt, ...) {
  size_t len = strlen(res->extra);
  va_list ap;
  int n = snprintf(res->extra + len, sizeof(res->extra) - len, ",\"%s\":", key);
  if (n < 0 || (size_t)n >= sizeof(res->extra) - len)
    bench_fail("extra fields too long");
  len += (size_t)n;
  va_start(ap, fmt);
  n = vsnprintf(res->extra + len, sizeof(res->extra) - len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof(res->extra) - len)
    bench_fail("extra fields too long");
}

void bench_stall(void) {
  uint64_t t0 = bench_now_ns();
  while (bench_now_ns() - t0 < STALL_NS) {
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
  }
}

uint64_t bench_proc_status_bytes(const char *field) {
#if defined(__linux__)
  char line[256];
  size_t flen = strlen(field);
  uint64_t kb = 0;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) return 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
      kb = strtoull(line + flen + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb * 1024;
#else
  (void)field;
  return 0;
#endif
}

/* ---- the latch ---------------------------------------------------------------- */

void bench_latch_init(bench_latch_t *l) {
  atomic_init(&l->rem, 0);
  atomic_init(&l->waker, NULL);
}

void bench_latch_reset(bench_latch_t *l, size_t n) {
  atomic_store(&l->rem, n);
}

void bench_latch_count_down(bench_latch_t *l) {
  if (atomic_fetch_sub_explicit(&l->rem, 1, memory_order_acq_rel) == 1) {
    ax_waker_t *w = atomic_exchange(&l->waker, NULL);
    if (w != NULL) ax_waker_wake(w);
  }
}

static ax_poll_t latch_wait_poll(ax_future_t *f, ax_cx_t *cx) {
  bench_latch_t *l = ((bench_latch_wait_t *)f)->latch;
  ax_waker_t *w, *old;
  if (atomic_load(&l->rem) == 0) return AX_READY;
  w = ax_waker_clone(ax_cx_waker(cx));
  old = atomic_exchange(&l->waker, w);
  if (old != NULL) ax_waker_drop(old);
  if (atomic_load(&l->rem) == 0) {
    /* Reached zero meanwhile: take our waker back unless the last
     * count_down already took (and woke) it. */
    w = atomic_exchange(&l->waker, NULL);
    if (w != NULL) ax_waker_drop(w);
    return AX_READY;
  }
  return AX_PENDING;
}

static void latch_wait_drop(ax_future_t *f) {
  bench_latch_t *l = ((bench_latch_wait_t *)f)->latch;
  ax_waker_t *w = atomic_exchange(&l->waker, NULL);
  if (w != NULL) ax_waker_drop(w);
}

static const ax_future_vtable_t latch_wait_vtable = {
  latch_wait_poll, latch_wait_drop, "bench_latch_wait"};

ax_future_t *bench_latch_wait(bench_latch_wait_t *f, bench_latch_t *l) {
  f->base.vtable = &latch_wait_vtable;
  f->latch = l;
  return &f->base;
}

/* ---- start, then wait for the latch ------------------------------------ */

typedef struct {
  ax_async_t co;
  bench_latch_t *latch;
  bench_latch_start_fn start;
  bench_latch_wait_t wait;
} latch_main_t;

AX_ASYNC(latch_main, latch_main_t, s) {
  AX_BEGIN(s);
  s->start(s->latch);
  AX_AWAIT(bench_latch_wait(&s->wait, s->latch));
  AX_END();
}

/* Before each run: the latch counts down from the workload's count. */
static void latch_rearm(void *state, void *count) {
  bench_latch_reset(((latch_main_t *)state)->latch, *(size_t *)count);
}

void bench_latch_run(const bench_opts_t *o, unsigned w, unsigned r,
                     bench_result_t *res, size_t count, size_t ops,
                     bench_latch_start_fn start) {
  bench_latch_t latch;
  latch_main_t init = {0};
  bench_main_t m = {bench_runtime(o, 0), AX_FUTURE(latch_main, &init),
                    sizeof init, latch_rearm, NULL, &count};
  bench_latch_init(&latch);
  init.latch = &latch;
  init.start = start;
  bench_measure_main(&m, w, r, res);
  res->ops = ops;
  bench_runtime_free(m.rt);
}

/* ---- workloads ------------------------------------------------------------------ */

typedef struct {
  const char *name;
  bench_fn_t fn;              /* NULL: a latch workload, run by
                                 bench_latch_run with the three below */
  unsigned warmup, iters;     /* the anchors' defaults */
  bench_latch_start_fn start; /* latch workloads: starts an iteration */
  size_t count;               /* latch workloads: count-downs an iteration */
  size_t ops;                 /* latch workloads: ops_per_iter */
} workload_t;

#define WORKLOAD(name, fn, warmup, iters) {name, fn, warmup, iters, NULL, 0, 0}
#define LATCH_WORKLOAD(name, warmup, iters, start, count, ops)               \
  {name, NULL, warmup, iters, start, count, ops}

static const workload_t workloads[] = {
  LATCH_WORKLOAD("spawn_many_local", 3, 500, wl_spawn_many_local_start,
                 NUM_SPAWN, NUM_SPAWN),
  LATCH_WORKLOAD("spawn_many_blockon", 3, 500, wl_spawn_many_blockon_start,
                 NUM_SPAWN, NUM_SPAWN),
  WORKLOAD("spawn_many_remote_idle", wl_spawn_many_remote_idle, 3, 300),
  WORKLOAD("spawn_many_remote_busy1", wl_spawn_many_remote_busy1, 3, 200),
  WORKLOAD("spawn_many_remote_busy2", wl_spawn_many_remote_busy2, 1, 5),
  WORKLOAD("yield_many", wl_yield_many, 3, 150),
  LATCH_WORKLOAD("ping_pong", 3, 1000, wl_ping_pong_start, NUM_PINGS,
                 NUM_PINGS),
  LATCH_WORKLOAD("chained_spawn", 3, 5000, wl_chained_spawn_start, 1,
                 CHAIN_ITER),
  WORKLOAD("mpsc_contention_bounded", wl_mpsc_contention_bounded, 3, 1000),
  WORKLOAD("mpsc_contention_bounded_full", wl_mpsc_contention_bounded_full, 3,
           1000),
  WORKLOAD("mpsc_contention_unbounded", wl_mpsc_contention_unbounded, 3, 1000),
  WORKLOAD("mpsc_uncontended_bounded", wl_mpsc_uncontended_bounded, 3, 3000),
  WORKLOAD("mpsc_uncontended_unbounded", wl_mpsc_uncontended_unbounded, 3,
           3000),
  WORKLOAD("oneshot_roundtrip", wl_oneshot_roundtrip, 3, 100),
  WORKLOAD("mutex_contention", wl_mutex_contention, 3, 100),
  WORKLOAD("timers_1m", wl_timers_1m, 0, 3),
  WORKLOAD("idle_tasks_1m", wl_idle_tasks_1m, 0, 3),
  WORKLOAD("spawn_blocking", wl_spawn_blocking, 3, 20),
  WORKLOAD("spawn_blocking_pool4", wl_spawn_blocking_pool4, 3, 300),
};
#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static void usage(void) {
  size_t i;
  fprintf(stderr,
          "usage: axle-bench <workload> [--threads N | --current] "
          "[--iters R] [--warmup W]\n       axle-bench list\nworkloads:");
  for (i = 0; i < NWORKLOADS; i++) fprintf(stderr, " %s", workloads[i].name);
  fputc('\n', stderr);
  exit(2);
}

static unsigned parse_uint(const char *name, const char *v) {
  char *end;
  unsigned long x;
  if (v == NULL) {
    fprintf(stderr, "missing value for %s\n", name);
    usage();
  }
  x = strtoul(v, &end, 10);
  if (*v == '\0' || *end != '\0' || x > 100000000ul) {
    fprintf(stderr, "bad value for %s: %s\n", name, v);
    usage();
  }
  return (unsigned)x;
}

static void emit(const bench_opts_t *o, const bench_result_t *r) {
  uint64_t med = bench_median(r->samples, r->nsamples), mn = 0, mx = 0;
  size_t i;
  for (i = 0; i < r->nsamples; i++) {
    if (i == 0 || r->samples[i] < mn) mn = r->samples[i];
    if (i == 0 || r->samples[i] > mx) mx = r->samples[i];
  }
  printf("{\"system\":\"axle\",\"axle_version\":\"%s\",\"workload\":\"%s\","
         "\"runtime\":\"%s\",\"threads\":%u,\"iters\":%zu,"
         "\"ops_per_iter\":%zu,\"median_ns\":%llu,\"min_ns\":%llu,"
         "\"max_ns\":%llu,\"per_op_ns\":%.2f%s}\n",
         AX_VERSION_STRING, o->workload,
         o->current ? "current_thread" : "multi_thread", bench_workers(o),
         r->nsamples, r->ops, (unsigned long long)med, (unsigned long long)mn,
         (unsigned long long)mx,
         r->ops ? (double)med / (double)r->ops : 0.0, r->extra);
  fflush(stdout);
}

int main(int argc, char **argv) {
  bench_opts_t o;
  const workload_t *wl = NULL;
  bench_result_t res;
  long iters = -1, warmup = -1;
  unsigned w, r;
  int i;
  size_t k;

  if (argc < 2) usage();
  if (strcmp(argv[1], "list") == 0) {
    for (k = 0; k < NWORKLOADS; k++) puts(workloads[k].name);
    return 0;
  }
  memset(&o, 0, sizeof(o));
  o.workload = argv[1];
  o.threads = 2;
  for (i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--threads") == 0) {
      o.threads = parse_uint(a, i + 1 < argc ? argv[++i] : NULL);
    } else if (strcmp(a, "--current") == 0) {
      o.current = 1;
    } else if (strcmp(a, "--iters") == 0) {
      iters = parse_uint(a, i + 1 < argc ? argv[++i] : NULL);
    } else if (strcmp(a, "--warmup") == 0) {
      warmup = parse_uint(a, i + 1 < argc ? argv[++i] : NULL);
    } else {
      usage();
    }
  }
  if (o.threads == 0) usage();
  for (k = 0; k < NWORKLOADS; k++)
    if (strcmp(workloads[k].name, o.workload) == 0) wl = &workloads[k];
  if (wl == NULL) usage();

  memset(&res, 0, sizeof(res));
  w = warmup >= 0 ? (unsigned)warmup : wl->warmup;
  r = iters > 0 ? (unsigned)iters : (iters == 0 ? 1u : wl->iters);
  if (wl->fn != NULL)
    wl->fn(&o, w, r, &res);
  else
    bench_latch_run(&o, w, r, &res, wl->count, wl->ops, wl->start);
  emit(&o, &res);
  free(res.samples);
  return 0;
}
