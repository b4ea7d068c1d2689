/* Internal: the runtime struct.
 *
 * A runtime owns its workers (worker.h): N threads of the multi-thread
 * flavour plus, during ax_block_on, a "driver" worker on the calling thread
 * that polls only the block_on future; or the one worker of the
 * current-thread flavour, run by ax_block_on.  Field groups are kept on
 * separate cache lines by who writes them.
 */
#ifndef AX_RUNTIME_RUNTIME_H
#define AX_RUNTIME_RUNTIME_H

#include <stdatomic.h>

#include "axle/runtime.h"
#include "core/alloc.h"
#include "core/spin.h"
#include "runtime/inject.h"
#include "runtime/task/cache.h"
#include "runtime/task/owned.h"

typedef struct ax__worker_s ax__worker_t;

/* The smallest worker thread stack (builder.thread_stack_size is raised
 * to it): a worker's own deepest path, libuv's poll included (its
 * epoll_wait buffer alone is 12 KiB), needs 21-24 KiB (measured: 20 KiB
 * overflowed, 24 KiB ran, plain and under ASan), and the rest is room
 * for the tasks' polls and a panic's message formatting. */
#define AX__MIN_STACK ((size_t)64 * 1024)

struct ax_runtime_s {
  /* Read-mostly. */
  ax_flavor_t flavor;            /* multi-thread or current-thread */
  unsigned nworkers;             /* workers[] entries */
  ax__worker_t **workers;        /* the workers, each its own block */
  ax__ctx_t **homes;             /* their contexts (ax__ctx_t.homes) */
  ax__worker_t *driver;          /* block_on's worker (multi-thread) */
  _Atomic int shutdown;          /* no new spawns; workers exit */
  _Atomic int stopped;           /* workers have exited (shutdown.c) */
  unsigned event_interval;       /* ticks between uv_run(NOWAIT) */
  unsigned global_queue_interval;  /* ticks between injection-first looks */
  uint64_t spin_min_ns, spin_max_ns;  /* idle spin bounds (idle.c) */
  unsigned cpus;                 /* uv_available_parallelism() */
  char pad0_[AX__CACHELINE];
  /* Written by workers going idle or looking for work; read by wakers. */
  _Atomic unsigned idle;         /* workers parked or parking: wakers
                                    look here before scanning them */
  _Atomic unsigned searching;    /* workers stealing right now */
  _Atomic unsigned spinning;     /* workers looking for work before they
                                    park: they will see new work, so
                                    wakers need not unpark anyone */
  _Atomic unsigned long_spinning;  /* threads spinning past spin_min_ns */
  _Atomic int driver_busy;       /* block_on's thread is polling its future */
  char pad5_[AX__CACHELINE];
  /* Written on every spawn and task free. */
  _Atomic uint64_t next_id;      /* the next task's id */
  _Atomic size_t refs;           /* 1 (the owner) + 1 per task alive,
                                    less the workers' debts (sched.c) */
  char pad1_[AX__CACHELINE];
  ax__inject_t inject;           /* tasks from outside, overflow */
  _Atomic unsigned notifying;    /* outside wakers between their push and
                                    their unpark (shutdown waits for 0) */
  _Atomic int blocking_post;     /* a drainer post to worker 0 is pending
                                    (blocking.c) */
  char pad2_[AX__CACHELINE];
  ax__tcache_shared_t tshared;   /* task blocks of spawns from outside */
  char pad4_[AX__CACHELINE];
  ax__owned_t owned;             /* every live task */
  /* Builder settings. */
  char *thread_name;             /* worker thread name prefix (owned) */
  size_t stack_size;             /* worker thread stack, 0: libuv's */
  void (*on_thread_start)(void *);  /* hooks run on each worker thread */
  void (*on_thread_stop)(void *);
  void *hook_arg;
  ax_panic_hook_fn panic_hook;   /* unjoined panics, or NULL: stderr */
  void *panic_hook_arg;
  uv_loop_t *user_loop;          /* the caller's loop (current-thread) */
  uv_thread_t home_thread;       /* current-thread: the creating thread,
                                    the only one that may free a runtime
                                    living in the application's loop */
  _Atomic int free_on_wake;      /* on the application's uv loop: a
                                    shutdown_background from elsewhere
                                    left the free to the next wake-up */
  /* The watchdog (watchdog.c). */
  uint64_t watchdog_ns;          /* its threshold; 0: none */
  ax_watchdog_fn watchdog_hook;  /* its reports, or NULL: stderr */
  void *watchdog_hook_arg;
  uv_thread_t watchdog_thread;
  uv_mutex_t watchdog_lock;
  uv_cond_t watchdog_cond;
  int watchdog_stop;             /* under watchdog_lock */
  void *watchdog_seen;           /* the watchdog thread's notes */
  struct ax__keeper_s *keeper;   /* fires the timers of stuck workers'
                                    wheels (time/keeper.h), or NULL */
  _Atomic int in_block_on;       /* one block_on at a time; cleared under
                                    life_lock (a shutdown waits for it) */
  /* Worker threads' start and exit, block_on's end (shutdown.c). */
  uv_mutex_t life_lock;
  uv_cond_t life_cond;           /* broadcast at each of those exits */
  unsigned running_threads;      /* under life_lock */
  unsigned drainers_out;         /* blocking-pool drainers queued on its
                                    loops and not yet back from their pool
                                    thread (under life_lock; blocking.c):
                                    a loop cannot close before they are */
};

/* Drops a reference to rt's memory (the owner's, or a task's from a
 * thread that is not one of rt's workers); the last frees it (runtime.c). */
void ax__runtime_release(ax_runtime_t *rt);
/* Closes every worker's loop (runtime.c): creation's failure path
 * (defer = 0) and shutdown (defer = 1: on the application's loop the
 * closes finish in its next turn, see ax__worker_close). */
void ax__runtime_close_loops(ax_runtime_t *rt, int defer);

#endif
