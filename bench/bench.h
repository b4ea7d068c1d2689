/* axle-bench: shared declarations.
 *
 * The workloads are specified in shared/anchors/README.md (the Tokio
 * anchors' specification): same constants, same warm-up / measured
 * iteration counts, same ops_per_iter, same JSON fields.
 */
#ifndef AXLE_BENCH_H
#define AXLE_BENCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <axle.h>
#include <axle/leaf.h>

/* ---- constants (Tokio's benches/rt_multi_threaded.rs, sync_mpsc.rs) ---- */
#define NUM_SPAWN 10000u          /* spawn_many_* */
#define NUM_SPAWN_BUSY2 1000u     /* spawn_many_remote_busy2 */
#define STALL_NS 10000u           /* stall(): 10 us */
#define NUM_YIELD 1000u           /* yield_many: yields per task */
#define YIELD_TASKS 200u          /* yield_many: tasks */
#define NUM_PINGS 1000u           /* ping_pong */
#define CHAIN_ITER 1000u          /* chained_spawn */
#define MPSC_PRODUCERS 5u
#define MPSC_PER_PRODUCER 1000u
#define MPSC_UNCONTENDED 5000u
/* the anchors' own workloads */
#define ONESHOT_HANDOFFS 100000u  /* oneshot_roundtrip: 50 000 round trips */
#define MUTEX_TASKS 10u
#define MUTEX_LOCKS_PER_TASK 10000u
#define TIMER_TASKS 1000000u
#define IDLE_TASKS 1000000u
#define BLOCKING_JOBS 10000u
#define TIMER_SEED UINT64_C(88172645463325252)
#define BUSY2_WATCHDOG_MS 3000u

/* ---- options and results ------------------------------------------------ */
typedef struct bench_opts_s {
  const char *workload;
  unsigned threads;   /* --threads N (default 2) */
  int current;        /* --current */
} bench_opts_t;

#define BENCH_EXTRA_MAX 1024

typedef struct bench_result_s {
  size_t ops;                    /* ops_per_iter */
  uint64_t *samples;             /* ns per measured iteration */
  size_t nsamples;
  char extra[BENCH_EXTRA_MAX];   /* ,"key":value pairs, already JSON */
} bench_result_t;

/* A workload: builds its runtime, runs w warm-up and r measured iterations,
 * fills res (samples allocated with malloc).  Exits the process on error. */
typedef void (*bench_fn_t)(const bench_opts_t *o, unsigned w, unsigned r,
                           bench_result_t *res);

/* One iteration: returns its wall time in ns. */
typedef uint64_t (*bench_iter_fn_t)(void *ctx);

/* ---- helpers (axle-bench.c) ---------------------------------------------- */
/* Prints "axle-bench: what: <error>" and exits 1 when rc != 0. */
void bench_check(int rc, const char *what);
void bench_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
/* The runtime the options ask for; max_blocking 0 = libuv's default. */
ax_runtime_t *bench_runtime(const bench_opts_t *o, unsigned max_blocking);
/* ax_runtime_free, after printing the worker stats if AXLE_BENCH_STATS=1. */
void bench_runtime_free(ax_runtime_t *rt);
/* Number of workers (1 for --current). */
unsigned bench_workers(const bench_opts_t *o);
/* CLOCK_MONOTONIC in ns (what Rust's Instant uses). */
uint64_t bench_now_ns(void);
/* w unrecorded + r recorded calls of fn; fills res->samples. */
void bench_measure(unsigned w, unsigned r, bench_iter_fn_t fn, void *ctx,
                   bench_result_t *res);
/* Times ax_block_on(rt, fut) (entering and leaving block_on included). */
uint64_t bench_timed_block_on(ax_runtime_t *rt, ax_future_t *fut);
uint64_t bench_median(const uint64_t *v, size_t n);
/* Appends ,"key":<printf> to res->extra. */
void bench_extra(bench_result_t *res, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Tokio's stall(): spin, yielding the OS thread, until 10 us have passed. */
void bench_stall(void);
/* A field of /proc/self/status (kB) in bytes, 0 where unavailable. */
uint64_t bench_proc_status_bytes(const char *field);
/* Keeps the compiler from optimising a value away (Rust's black_box). */
static inline void bench_black_box(uint64_t v) {
#if defined(__GNUC__)
  __asm__ volatile("" : : "r"(v) : "memory");
#else
  static volatile uint64_t sink;
  sink = v;
#endif
}

/* ---- one timed block_on per iteration -------------------------------------
 * The shape of most workloads: every iteration runs a fresh main future,
 * a copy of proto (an async function's future from AX_FUTURE, never
 * polled: a future may be copied until its first poll), as one timed
 * block_on (bench_timed_block_on), and drops it.  before (may be NULL)
 * runs on the copy just before the timer starts; after (may be NULL)
 * reads what the run left in it and returns the iteration's sample (it
 * is given the block_on's time). */
typedef void (*bench_before_fn)(void *state, void *arg);
typedef uint64_t (*bench_after_fn)(void *state, uint64_t ns, void *arg);

#define BENCH_MAIN_MAX 1024   /* the largest main state */

typedef struct bench_main_s {
  ax_runtime_t *rt;          /* where the main future runs */
  const ax_future_t *proto;  /* AX_FUTURE(fn, &state), never polled */
  size_t size;               /* sizeof that state, <= BENCH_MAIN_MAX */
  bench_before_fn before;    /* may be NULL */
  bench_after_fn after;      /* may be NULL */
  void *arg;                 /* for before and after */
} bench_main_t;

/* w unrecorded + r recorded runs of m (bench_measure). */
void bench_measure_main(const bench_main_t *m, unsigned w, unsigned r,
                        bench_result_t *res);

/* ---- the completion latch -------------------------------------------------
 * An atomic count-down plus one wake of the waiting future (the block_on
 * future): Tokio's benches count down an AtomicUsize and signal the
 * block_on thread once; the anchors use Notify for that single wake.  The
 * waiter stores its waker, then re-checks the count; the task reaching
 * zero takes the waker and wakes it (both sides seq_cst: no lost wake). */
typedef struct bench_latch_s {
  _Atomic size_t rem;
  _Atomic(ax_waker_t *) waker;
} bench_latch_t;

typedef struct bench_latch_wait_s {
  ax_future_t base;
  bench_latch_t *latch;
} bench_latch_wait_t;

void bench_latch_init(bench_latch_t *l);
void bench_latch_reset(bench_latch_t *l, size_t n);
void bench_latch_count_down(bench_latch_t *l);
ax_future_t *bench_latch_wait(bench_latch_wait_t *f, bench_latch_t *l);

/* The shape of most scheduler workloads: each iteration is one timed
 * block_on whose future resets the latch to `count`, calls start(latch)
 * (which spawns the workload's tasks; they count the latch down) and
 * awaits the latch.  Builds and frees the runtime; res->ops = ops. */
typedef void (*bench_latch_start_fn)(bench_latch_t *l);
void bench_latch_run(const bench_opts_t *o, unsigned w, unsigned r,
                     bench_result_t *res, size_t count, size_t ops,
                     bench_latch_start_fn start);

/* ---- workloads ------------------------------------------------------------ */
/* The latch workloads (bench_latch_run; their counts are in axle-bench.c's
 * table): what each iteration starts. */
void wl_spawn_many_local_start(bench_latch_t *l);     /* wl_sched.c */
void wl_spawn_many_blockon_start(bench_latch_t *l);   /* wl_sched.c */
void wl_chained_spawn_start(bench_latch_t *l);        /* wl_sched.c */
void wl_ping_pong_start(bench_latch_t *l);            /* wl_chan.c */
/* The others: wl_sched.c */
void wl_spawn_many_remote_idle(const bench_opts_t *, unsigned, unsigned,
                               bench_result_t *);
void wl_spawn_many_remote_busy1(const bench_opts_t *, unsigned, unsigned,
                                bench_result_t *);
void wl_spawn_many_remote_busy2(const bench_opts_t *, unsigned, unsigned,
                                bench_result_t *);
void wl_yield_many(const bench_opts_t *, unsigned, unsigned,
                   bench_result_t *);
/* wl_misc.c */
void wl_spawn_blocking(const bench_opts_t *, unsigned, unsigned,
                       bench_result_t *);
void wl_spawn_blocking_pool4(const bench_opts_t *, unsigned, unsigned,
                             bench_result_t *);
void wl_timers_1m(const bench_opts_t *, unsigned, unsigned,
                  bench_result_t *);
/* wl_chan.c */
void wl_mpsc_contention_bounded(const bench_opts_t *, unsigned, unsigned,
                                bench_result_t *);
void wl_mpsc_contention_bounded_full(const bench_opts_t *, unsigned, unsigned,
                                     bench_result_t *);
void wl_mpsc_contention_unbounded(const bench_opts_t *, unsigned, unsigned,
                                  bench_result_t *);
void wl_mpsc_uncontended_bounded(const bench_opts_t *, unsigned, unsigned,
                                 bench_result_t *);
void wl_mpsc_uncontended_unbounded(const bench_opts_t *, unsigned, unsigned,
                                   bench_result_t *);
void wl_oneshot_roundtrip(const bench_opts_t *, unsigned, unsigned,
                          bench_result_t *);
void wl_mutex_contention(const bench_opts_t *, unsigned, unsigned,
                         bench_result_t *);
void wl_idle_tasks_1m(const bench_opts_t *, unsigned, unsigned,
                      bench_result_t *);

#endif /* AXLE_BENCH_H */
