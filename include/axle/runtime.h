/* axle — runtimes: builder, block_on, shutdown, the main() convenience.
 *
 *   Tokio                                       axle
 *   Builder::new_multi_thread()                 ax_builder_init(&b, AX_MULTI_THREAD)
 *   .worker_threads(4)                          b.worker_threads = 4
 *   .enable_all().build()                       ax_runtime_new(&b, &rt)
 *   rt.block_on(fut)                            ax_block_on(rt, fut)
 *   drop(rt)                                    ax_runtime_free(rt)
 *   #[tokio::main]                              AX_MAIN(fn, type)
 *
 * The multi-thread runtime runs N worker threads, each owning one
 * uv_loop_t.  The current-thread runtime runs everything on the thread that
 * calls ax_block_on, in a deterministic order.
 */
#ifndef AXLE_RUNTIME_H
#define AXLE_RUNTIME_H

#include <stdio.h>

#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  AX_MULTI_THREAD = 0,   /* the default, as #[tokio::main] */
  AX_CURRENT_THREAD = 1
} ax_flavor_t;

/* The watchdog (builder.watchdog_ms): a thread that looks at every
 * worker (and at block_on's thread) each watchdog_ms / 2 and reports task
 * polls that keep their thread: never one shorter than watchdog_ms,
 * always one longer than 1.5 x watchdog_ms.  Nothing is timed on the
 * workers: when it is on, each poll costs them a few stores to their own
 * memory; when it is off, nothing.  Each such poll gives two reports:
 *   - while it is stuck (returned = 0), from the watchdog's thread: which
 *     thread and which task, and for how long so far;
 *   - when it returns (returned = 1), from the thread that polled it: the
 *     task's name, the await it resumed from and the one it stopped at,
 *     so the code between those two lines is what blocked.  (The second
 *     is lost if the poll ends just as the first is made, and comes first
 *     if the poll ends while the hook runs.)
 * The hook may run on several threads at once, must not free the runtime,
 * and its argument must outlive the runtime (a runtime left running by
 * ax_runtime_shutdown_timeout keeps its watchdog).  The report and its
 * strings are valid during the call only. */
typedef struct ax_watchdog_report_s {
  int returned;              /* 0: still polling; 1: the poll has ended */
  unsigned worker;           /* worker index; ~0u: block_on's thread */
  uint64_t task_id;          /* as in ax_runtime_dump_tasks */
  uint64_t elapsed_ms;       /* at least this long in the one poll */
  const char *task_name;     /* returned = 1 and named, else NULL */
  const char *resumed_file;  /* returned = 1: the await the poll resumed */
  int resumed_line;          /*   from (NULL, 0: the task's first poll, or
                                  a future that is not an AX_ASYNC one) */
  const char *stopped_file;  /* returned = 1: the first await that was  */
  int stopped_line;          /*   pending in this poll (NULL, 0: none, as
                                  when it completed or panicked) */
  const char *spawned_at;    /* "file:line" of the task's spawn call (task.h,
                                "Spawn sites"), or NULL: unknown */
} ax_watchdog_report_t;
typedef void (*ax_watchdog_fn)(const ax_watchdog_report_t *report,
                               void *arg);
/* The default report: one line on `file` (a FILE *; NULL = stderr).  A
 * hook may call it too; it is an ax_watchdog_fn, so it can be the hook.
 * report: not NULL, asserted. */
AX_EXTERN void ax_watchdog_print(const ax_watchdog_report_t *report,
                                 void *file);

/* builder.idle_spin_us: never spin, sleep as soon as there is no work.
 * (0 means exactly this, not "the default": ax_builder_init sets that.) */
#define AX_IDLE_SPIN_OFF 0u

/* The builder is a plain struct: ax_builder_init() fills in the defaults,
 * then set what you need.  Strings are copied by ax_runtime_new(). */
typedef struct ax_builder_s {
  ax_flavor_t flavor;
  unsigned worker_threads;        /* 0 = number of CPUs (multi-thread) */
  unsigned max_blocking_threads;  /* 0 = libuv's default (4); see blocking.h */
  const char *thread_name;        /* worker thread name prefix ("axle-worker") */
  size_t thread_stack_size;       /* 0 = libuv's default; less than
                                     64 KiB is raised to 64 KiB (a
                                     worker's own frames, libuv's poll
                                     included, take about 24) */
  void (*on_thread_start)(void *arg);  /* runs on each worker thread */
  void (*on_thread_stop)(void *arg);
  void *hook_arg;
  unsigned event_interval;        /* ticks between I/O polls while busy (61) */
  unsigned global_queue_interval; /* ticks between global queue checks (31) */
  unsigned idle_spin_us;          /* multi-thread: longest time an idle
                                     worker (or block_on) looks for work
                                     before it sleeps (128); it spins that
                                     long only while work has lately come
                                     back sooner, else 16; a worker
                                     with sockets, pipes or processes
                                     open on its loop does not spin
                                     (its loop wakes it).  Lower it to
                                     save CPU at the cost of wake-up
                                     latency; AX_IDLE_SPIN_OFF (0): no
                                     spin at all, an idle thread sleeps at
                                     once (battery-powered apps) */
  ax_panic_hook_fn panic_hook;    /* unjoined panics; NULL = one line on stderr */
  void *panic_hook_arg;
  uv_loop_t *loop;                /* current-thread only: drive this existing
                                     loop instead of creating one (owned by
                                     the caller, must outlive the runtime).
                                     Tasks then also run inside the
                                     caller's own uv_run, and axle's
                                     handles there are unref'd (see
                                     <axle/embed.h>) */
  unsigned watchdog_ms;           /* report every poll that keeps its thread
                                     longer than this: the blocking call in
                                     async code (0 = off, the default; the
                                     environment's AXLE_WATCHDOG_MS, read
                                     by ax_builder_init, turns it on) */
  ax_watchdog_fn watchdog_hook;   /* the reports; NULL = lines on stderr */
  void *watchdog_hook_arg;
  int start_paused;               /* current-thread only (else AX_EINVAL):
                                     run on a paused virtual clock, for
                                     tests (Tokio's start_paused; see
                                     "Paused time" in <axle/time.h>) */
} ax_builder_t;

/* b: not NULL, asserted. */
AX_EXTERN void ax_builder_init(ax_builder_t *b, ax_flavor_t flavor);

/* Creates a runtime.  The multi-thread flavour starts its workers now.
 * Returns 0 or a negative code (AX_EINVAL, AX_ENOMEM, AX_EPOOLSIZE, ...).
 * b or out NULL: AX_EINVAL (*out, when there is one, is set to NULL on
 * every error).
 * On POSIX the first runtime makes the process ignore SIGPIPE, unless the
 * program installed a handler of its own (as Rust's runtime does): a write
 * to a closed socket or pipe is then an UV_EPIPE error, not the end of the
 * process. */
AX_EXTERN int ax_runtime_new(const ax_builder_t *b, ax_runtime_t **out);

/* Runs `fut` on the calling thread until it is ready and returns 0, or
 * AX_EPANIC when it panicked (the message went to stderr; the future's
 * drop has then already run, as the unwinding would in Rust), or
 * AX_ESHUTDOWN: the runtime was shut down before the call (fut untouched)
 * or during it, from another thread or one of its tasks (fut was
 * cancelled like the tasks: its drop has run, on this thread).  On
 * success the future stays owned by the caller (read its output, then
 * ax_drop it).  One block_on at a time per runtime (AX_EBUSY).  Not
 * callable from inside a runtime (AX_ENESTED).  rt or fut NULL: AX_EINVAL.
 * Current-thread: every task runs on this thread during the call.
 * Multi-thread: fut is polled here, other tasks run on the workers. */
AX_EXTERN int ax_block_on(ax_runtime_t *rt, ax_future_t *fut);

/* Shuts down: cancels every task (its future is dropped), closes every
 * handle, joins the workers and frees everything; returns 0.  It waits
 * for a block_on running on another thread to end (block_on returns
 * AX_ESHUTDOWN) and for each worker's current poll.  NULL does nothing.
 *
 * Not from inside rt: called on one of rt's own threads (a task, the
 * block_on future, a blocking job of rt) it would wait for itself, so it
 * refuses with AX_ENESTED and rt keeps running (Tokio panics when a
 * runtime is dropped in an async context).  Shut a runtime down from
 * inside with ax_runtime_shutdown_background().  From a task of another
 * runtime it works, but blocks that worker while it waits. */
AX_EXTERN int ax_runtime_free(ax_runtime_t *rt);
/* Same, but waits at most timeout_ms (any value: it saturates) for the
 * threads still inside a task's poll and for the runtime's spawn_blocking
 * jobs that had started (jobs not started are cancelled); returns
 * AX_ETIMEDOUT when a thread is stuck in a poll then (the same poll a
 * millisecond after the deadline) or a job still runs.  Nothing is freed
 * then: call ax_runtime_free() once the stuck poll or job has returned,
 * or leave it, as Tokio's shutdown_timeout leaks its threads.  Idle workers (and on_thread_stop hooks) are always waited
 * for: an idle runtime shuts down and returns 0 with any timeout, 0 too.
 * AX_ENESTED from inside rt, as ax_runtime_free; AX_EINVAL for NULL. */
AX_EXTERN int ax_runtime_shutdown_timeout(ax_runtime_t *rt,
                                          uint64_t timeout_ms);
/* Shuts down without waiting: new spawns fail at once, and a thread of
 * axle's frees the runtime once its workers have stopped and no block_on
 * runs any more (that thread is joined at process exit).  Callable from
 * anywhere, from rt's own tasks too (Tokio's shutdown_background); a
 * block_on in progress returns AX_ESHUTDOWN.  When no thread can be
 * started for it, it frees rt on the calling thread, or, on one of rt's
 * own threads, leaves rt shut down and not freed.  NULL does nothing. */
AX_EXTERN void ax_runtime_shutdown_background(ax_runtime_t *rt);

/* The runtime of the calling thread (worker, block_on thread, or a
 * blocking-pool thread while it runs one of the runtime's spawn_blocking
 * jobs: a job may ax_spawn onto its runtime, as in Tokio), or NULL.  The
 * pointer may be handed to other threads for ax_spawn_on(). */
AX_EXTERN ax_runtime_t *ax_runtime_current(void);
/* Number of worker threads (1 for current-thread).  rt: not NULL,
 * asserted. */
AX_EXTERN unsigned ax_runtime_workers(const ax_runtime_t *rt);

/* The #[tokio::main] convenience: builds the default (multi-thread)
 * runtime, blocks on fut, shuts down.  Returns 0 or a negative code (fut
 * NULL: AX_EINVAL; a runtime that cannot start is reported on stderr). */
AX_EXTERN int ax_main(ax_future_t *fut);
/* The same with your own builder (#[tokio::main(flavor = ...)]). */
AX_EXTERN int ax_main_with(const ax_builder_t *b, ax_future_t *fut);
#define AX_MAIN(fn, type)                                                  \
  int main(void) {                                                         \
    static type ax__main_state;                                            \
    return ax_main(AX_FUTURE(fn, &ax__main_state)) == 0 ? 0 : 1;           \
  }

/* Per-worker counters (observability): 0, or AX_EINVAL for an index not
 * below ax_runtime_workers() or a NULL rt or out. */
typedef struct ax_worker_stats_s {
  uint64_t polls;        /* task polls */
  uint64_t steals;       /* tasks stolen from other workers */
  uint64_t parks;        /* times the worker slept in uv_run */
  uint64_t io_polls;     /* uv_run(NOWAIT) calls while busy (skipped when
                            the loop has only axle's own wake-up) */
  uint64_t hops;         /* operations other threads handed to this
                            worker's loop (I/O polled away from its home,
                            ax_home_post): the cross-thread hops */
  uint64_t local_queue;  /* tasks in the local queue now */
} ax_worker_stats_t;
AX_EXTERN int ax_runtime_worker_stats(ax_runtime_t *rt, unsigned index,
                                      ax_worker_stats_t *out);
/* Writes one line per live task (id, name, state, file:line it waits at,
 * file:line it was spawned at) to out (NULL: stdout).  rt: not NULL, asserted. */
AX_EXTERN void ax_runtime_dump_tasks(ax_runtime_t *rt, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_RUNTIME_H */
