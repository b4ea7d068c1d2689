/* Internal: the runtime and its workers.
 *
 * A worker owns one uv_loop_t, a local run queue, a LIFO slot and a timing
 * wheel.  The multi-thread runtime has N workers on their own threads plus,
 * during ax_block_on, a "driver" worker on the calling thread that polls
 * only the block_on future (it has its own loop for that future's timers).
 * The current-thread runtime has one worker, run by ax_block_on.
 */
#ifndef AX_RUNTIME_RUNTIME_H
#define AX_RUNTIME_RUNTIME_H

#include <setjmp.h>
#include <stdatomic.h>

#include "core/alloc.h"
#include "core/spin.h"
#include "runtime/current.h"
#include "runtime/inject.h"
#include "runtime/queue.h"
#include "runtime/wake.h"
#include "task/task.h"

#define AX__SHARDS 16u
#define AX__TCACHE_GRAIN 16           /* size classes: 16, 32, ... */
#define AX__TCACHE_CLASSES 32         /* ... 512-byte blocks */
#define AX__TCACHE_BYTES (2u << 20)   /* per list set, per remote stack */

/* Task block cache (task/tcache.h): free lists by size class, and the
 * stack other threads push blocks back on. */
typedef struct ax__tlists_s {
  void *head[AX__TCACHE_CLASSES];
  size_t bytes;
} ax__tlists_t;
typedef struct ax__tremote_s {
  _Atomic(void *) head;
  _Atomic size_t bytes;
} ax__tremote_t;

typedef struct ax__jump_s {
  jmp_buf jb;           /* where ax_panic() lands */
  char *msg;            /* the panic message (owned) */
  int armed;            /* 1 while a task is being polled under jb */
} ax__jump_t;

/* An operation handed to a worker's loop thread (the home-loop rule: every
 * uv call on a handle or request happens on its loop's thread).  Embedded
 * in the object it acts on; the poster keeps that object alive until fn
 * has run. */
typedef struct ax__op_s {
  struct ax__op_s *next;
  void (*fn)(struct ax__op_s *op);
} ax__op_t;

/* Field groups are kept on separate cache lines by who writes them: a
 * line the owner writes on every poll must not be one that other workers
 * read on every wake (the first layout lost up to 2x in yield_many to
 * that, depending on where malloc put the workers). */
struct ax__worker_s {
  /* Set at creation, read by everyone. */
  ax_runtime_t *rt;
  uv_loop_t *loop;              /* loop_storage, or the user's loop */
  ax__wheel_t *wheel;           /* this loop's timers */
  ax__task_t *main_task;        /* driver: the block_on task */
  unsigned index;               /* worker number, or ~0u for the driver */
  int is_driver;
  uv_thread_t thread;
  char pad0_[AX__CACHELINE];

  /* Written by other threads. */
  _Atomic int parked;           /* 1 inside uv_run(ONCE), 2 being woken */
  _Atomic int main_notified;    /* driver: main task must be polled */
  ax__spin_t mail_lock;         /* guards the mailbox */
  ax__op_t *mail_head, *mail_tail;  /* ops posted from other threads */
  _Atomic int mail_pending;     /* mail_head != NULL, readable unlocked */
  ax__tremote_t tremote;        /* task blocks given back (tcache.h) */
  ax__wake_t wake;              /* ends uv_run from other threads */
  /* Written by the watchdog (watchdog.c) when it reports a poll. */
  _Atomic uint64_t wd_flag;     /* `polls` of the poll it reported */
  _Atomic uint64_t wd_since;    /* uv_hrtime() it first saw that poll at */
  char pad1_[AX__CACHELINE];

  /* The owner's. */
  ax__task_t *lifo;             /* task woken last by this worker */
  ax__task_t *current;          /* task being polled */
  int yielded;                  /* the task being polled asked to yield */
  int budget;                   /* coop units left in this poll (coop.h) */
  uint32_t tick;                /* tasks polled */
  uint32_t until_global;        /* ticks left before the injection queue
                                   goes first (a countdown: no division) */
  uint32_t until_io;            /* ticks left before uv_run(NOWAIT) */
  uint32_t lifo_streak;         /* LIFO polls in a row */
  uint32_t rng;                 /* victim choice */
  uint64_t wait_avg;            /* ns: moving average of idle waits (park) */
  uint64_t idle_since;          /* uv_hrtime() when it ran out of work,
                                   0 while it has work (multi-thread) */
  uint64_t spin_from;           /* start of the current spin window: out
                                   of work, or woken from park */
  ax__tlists_t tcache;          /* free task blocks (tcache.h) */
  size_t ref_debt;              /* task refs on rt freed here, not yet
                                   subtracted from rt->refs (runtime.c) */
  /* Stats: written by the owner only (relaxed load + store, no locked
   * instruction), read from any thread. */
  _Atomic uint64_t polls, steals, parks, io_polls;
  /* With a watchdog (watchdog.c): `polls` of the last poll that ended,
   * and the task of the current one (read by the watchdog's thread), and
   * where that poll resumed (the owner's). */
  _Atomic uint64_t wd_done, wd_task;
  const char *wd_file;
  int wd_line;
  ax__jump_t jump;              /* panic landing for this worker */
  uv_loop_t loop_storage;
  char pad2_[AX__CACHELINE];

  ax__lqueue_t q;               /* local run queue (its own line groups) */
};

struct ax_runtime_s {
  /* Read-mostly. */
  ax_flavor_t flavor;
  unsigned nworkers;
  ax__worker_t **workers;
  ax__worker_t *driver;          /* block_on's worker (multi-thread) */
  _Atomic int shutdown;          /* no new spawns; workers exit */
  _Atomic int stopped;           /* workers have exited */
  unsigned event_interval;
  unsigned global_queue_interval;
  uint64_t spin_min_ns, spin_max_ns;  /* idle spin bounds (worker.c park) */
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
  _Atomic uint64_t next_id;
  _Atomic size_t refs;           /* 1 (the owner) + 1 per task alive */
  char pad1_[AX__CACHELINE];
  ax__inject_t inject;           /* tasks from outside, overflow */
  _Atomic unsigned notifying;    /* outside wakers between their push and
                                    their unpark (shutdown waits for 0) */
  _Atomic int blocking_post;     /* a drainer post to worker 0 is pending
                                    (blocking.c) */
  char pad2_[AX__CACHELINE];
  /* The task block cache of spawns from outside the workers (tcache.h):
   * lists under a lock, and the blocks given back. */
  ax__spin_t flock;
  ax__tlists_t fcache;
  char pad3_[AX__CACHELINE];
  ax__tremote_t fremote;
  char pad4_[AX__CACHELINE];
  /* owned lists: every live task, for shutdown and dumps */
  struct {
    ax__spin_t lock;
    ax__task_t *head;
    char pad_[AX__CACHELINE - sizeof(void *) - sizeof(int)];
  } owned[AX__SHARDS];
  /* builder settings */
  char *thread_name;
  size_t stack_size;
  void (*on_thread_start)(void *);
  void (*on_thread_stop)(void *);
  void *hook_arg;
  ax_panic_hook_fn panic_hook;
  void *panic_hook_arg;
  uv_loop_t *user_loop;
  /* watchdog.c */
  uint64_t watchdog_ns;          /* 0: none */
  ax_watchdog_fn watchdog_hook;
  void *watchdog_hook_arg;
  uv_thread_t watchdog_thread;
  uv_mutex_t watchdog_lock;
  uv_cond_t watchdog_cond;
  int watchdog_stop;             /* under watchdog_lock */
  void *watchdog_seen;           /* the watchdog thread's notes */
  _Atomic int in_block_on;       /* one block_on at a time */
  /* thread start/exit bookkeeping */
  uv_mutex_t life_lock;
  uv_cond_t life_cond;
  unsigned running_threads;
};

/* Schedules t, whose notification ref the caller hands over.  yield: put
 * it at the back (it woke itself), not in the LIFO slot. */
void ax__schedule(ax__task_t *t, int yield);
/* Pushes t at the back of w's local queue (overflow: half of the queue
 * moves to the injection queue).  On w's thread only. */
void ax__push_back(ax__worker_t *w, ax__task_t *t);
void ax__notify_parked(ax_runtime_t *rt);  /* wake one parked worker, if
                                            no worker is spinning */
/* Runs op->fn(op) on w's loop thread: at once when called there, else
 * queued and w's loop woken.  Callable from any thread. */
void ax__worker_post(ax__worker_t *w, ax__op_t *op);
/* The polled task gives its worker up once (AX_YIELD, ax_yield_now). */
void ax__cx_yield(ax_cx_t *cx);
/* Owned-list bookkeeping. */
void ax__owned_insert(ax_runtime_t *rt, ax__task_t *t);
void ax__owned_remove(ax_runtime_t *rt, ax__task_t *t);
/* Reports a panic nobody will join. */
void ax__report_panic(ax_runtime_t *rt, ax__task_t *t);
/* The jump target of the calling thread (worker or blocking job) or NULL. */
ax__jump_t *ax__jump_current(void);
void ax__jump_set(ax__jump_t *j);
/* The worker's run loop until `until` completes (or shutdown if NULL). */
void ax__worker_run(ax__worker_t *w, ax__task_t *until);
int ax__worker_init(ax__worker_t *w, ax_runtime_t *rt, unsigned index,
                    uv_loop_t *user_loop);
void ax__worker_close(ax__worker_t *w);
/* The watchdog (watchdog.c).  Start: after the workers exist (0 or an
 * error; nothing to do when rt->watchdog_ns is 0).  Stop: joins its thread,
 * before the workers are freed.  Begin/end bracket each task poll while
 * rt->watchdog_ns != 0 (set before the threads start, cleared after they
 * stop); end also runs for a poll that panicked. */
int ax__watchdog_start(ax_runtime_t *rt);
void ax__watchdog_stop(ax_runtime_t *rt);
static inline void ax__watch_begin(ax__worker_t *w, ax__task_t *t);
static inline void ax__watch_end(ax__worker_t *w, ax__task_t *t);
/* ax__watch_end's report when the watchdog flagged the poll. */
void ax__watch_report_end(ax__worker_t *w, ax__task_t *t);
/* AXLE_WATCHDOG_MS from the environment, or 0. */
unsigned ax__watchdog_env(void);

/* Frees the blocks of a task cache (tcache.c): a worker's lists at its
 * close, the remote stacks and the outside lists with the runtime's
 * memory (the last task is gone: nothing pushes any more). */
void ax__tcache_drain(ax__tlists_t *l);
void ax__tcache_drain_remote(ax__tremote_t *r);
void ax__worker_set_current(ax__worker_t *w);
/* Drops a reference to rt's memory (the owner's, or a task's from a
 * thread that is not one of rt's workers). */
void ax__runtime_release(ax_runtime_t *rt);
/* A task's reference on rt's memory, taken at its creation and dropped
 * when it is freed (batched on rt's own workers: see runtime.c). */
void ax__runtime_ref_task(ax_runtime_t *rt);
void ax__runtime_unref_task(ax_runtime_t *rt);
/* Moves up to max tasks from the injection queue into w's local queue and
 * returns one more to run now (sched.c). */
ax__task_t *ax__inject_pop_batch(ax__worker_t *w, uint32_t max);
/* Spawns with an output offset inside the future (spawn_fn, blocking). */
int ax__spawn_raw(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                  uint32_t out_off, ax_join_t *join);
/* Spawns without scheduling: *t is the task, and the caller holds its
 * notification reference (a blocking job, finished by a pool thread). */
int ax__spawn_idle(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                   uint32_t out_off, ax_join_t *join, ax__task_t **t);
/* Binds a join handle to t (task.c). */
void ax__join_attach(ax_join_t *h, ax__task_t *t);
/* Names the calling thread (thread_name.c, platform code). */
void ax__thread_set_name(const char *name);
/* Count of live runtimes, for ax_replace_allocator (alloc.c). */
void ax__live_runtimes_add(int d);
/* Process-wide blocking pool size bookkeeping (blocking.c). */
int ax__blocking_configure(unsigned max_threads);

static inline void ax__watch_begin(ax__worker_t *w, ax__task_t *t) {
  w->wd_file = ax__task_wait_file(t);  /* ax__task_run clears the line */
  w->wd_line = ax__task_wait_line(t);
  atomic_store_explicit(&w->wd_task, t->id, memory_order_release);
  /* release: the watchdog that sees this poll's number sees its task */
  atomic_store_explicit(
      &w->polls, atomic_load_explicit(&w->polls, memory_order_relaxed) + 1,
      memory_order_release);
}

static inline void ax__watch_end(ax__worker_t *w, ax__task_t *t) {
  uint64_t p = atomic_load_explicit(&w->polls, memory_order_relaxed);
  if (atomic_load_explicit(&w->wd_done, memory_order_relaxed) == p)
    return;  /* ended already (ax__task_run's call, then the worker's) */
  atomic_store_explicit(&w->wd_done, p, memory_order_release);
  if (atomic_load_explicit(&w->wd_flag, memory_order_acquire) == p)
    ax__watch_report_end(w, t);
}

#endif
