/* Internal: a worker: one thread, one uv_loop_t, its run queues.
 *
 * A worker owns a loop, a LIFO slot, a local run queue (queue.h), a timing
 * wheel, a task block cache and a mailbox.  The multi-thread runtime has N
 * of them on their own threads, plus the "driver" of the thread inside
 * ax_block_on (it polls only the block_on future, on a loop of its own for
 * that future's timers); the current-thread runtime has one, run by
 * ax_block_on.  The code a worker polls sees it only as the poll context
 * `ctx` (core/context.h).
 *
 * Field groups are kept on separate cache lines by who writes them: a line
 * the owner writes on every poll must not be one that other workers read
 * on every wake (mixing them cost up to 2x in yield_many, depending on
 * where malloc put the workers).
 */
#ifndef AX_RUNTIME_WORKER_H
#define AX_RUNTIME_WORKER_H

#include <stdatomic.h>

#include "core/context.h"
#include "core/list.h"
#include "runtime/mailbox.h"
#include "runtime/queue.h"
#include "runtime/runtime.h"
#include "runtime/task/state.h"
#include "runtime/wake.h"

/* A runtime the application pumps (pump.h). */
typedef struct ax__pump_s ax__pump_t;
void ax__pump_signal(ax__pump_t *p);

struct ax__worker_s {
  /* Set at creation, read by everyone. */
  ax__task_t *main_task;        /* driver: the block_on task */
  unsigned index;               /* worker number, or ~0u for the driver */
  int is_driver;                /* block_on's worker (multi-thread) */
  ax__pump_t *pump;             /* pumped runtime: its wake-up goes to the
                                   application's callback (pump.h) */
  uv_thread_t thread;           /* its thread (multi-thread workers) */
  int exited;                   /* that thread left its run loop (under
                                   rt->life_lock; shutdown.c) */
  uint64_t stuck_seen;          /* shutdown.c's last look at its poll:
                                   polls + 1, or 0 (life_lock) */
  char pad0_[AX__CACHELINE];

  /* Written by other threads. */
  _Atomic int parked;           /* 1 inside uv_run(ONCE), 2 being woken */
  _Atomic int main_notified;    /* driver: main task must be polled */
  ax__mailbox_t mail;           /* ops posted from other threads */
  ax__wake_t wake;              /* ends uv_run from other threads */
  /* Written by the watchdog (watchdog.c) when it reports a poll. */
  _Atomic uint64_t wd_flag;     /* `polls` of the poll it reported */
  _Atomic uint64_t wd_since;    /* uv_hrtime() it first saw that poll at */
  char pad1_[AX__CACHELINE];

  /* The owner's. */
  ax__ctx_t ctx;                /* what the code polled here sees */
  ax__task_t *lifo;             /* task woken last by this worker */
  uint32_t tick;                /* tasks polled */
  uint32_t until_global;        /* ticks left before the injection queue
                                   goes first (a countdown: no division) */
  uint32_t until_io;            /* ticks left before uv_run(NOWAIT) */
  uint32_t lifo_streak;         /* LIFO polls in a row */
  uint32_t rng;                 /* victim choice */
  uint8_t loop_batch;           /* the loop's callbacks queued tasks in
                                   this idle period (idle.c) */
  uint64_t wait_avg;            /* ns: moving average of idle waits (idle.c) */
  uint64_t idle_since;          /* uv_hrtime() when it ran out of work,
                                   0 while it has work (multi-thread) */
  uint64_t spin_from;           /* start of the current spin window: out
                                   of work, or woken from park */
  size_t ref_debt;              /* task refs on rt freed here, not yet
                                   subtracted from rt->refs (sched.c) */
  /* Stats: written by the owner only (relaxed load + store, no locked
   * instruction), read from any thread. */
  _Atomic uint64_t polls, steals, parks, io_polls, hops;
  /* With a watchdog (watch.h): `polls` of the last poll that ended, and
   * the task of the current one (read by the watchdog's thread), and
   * where that poll resumed (the owner's). */
  _Atomic uint64_t wd_done, wd_task;
  _Atomic(const char *) wd_site;  /* that task's spawn site (static) */
  const char *wd_file;
  int wd_line;
  uv_loop_t loop_storage;       /* the loop, unless the user gave one */
  ax__tcache_t tcache;          /* free task blocks: the owner's lists,
                                   then the remote stack on its own line */
  char pad2_[AX__CACHELINE];

  ax__lqueue_t q;               /* local run queue (its own line groups) */
};

/* The worker (or block_on driver) whose loop the calling thread runs, or
 * NULL on any other thread. */
static inline ax__worker_t *ax__worker_current(void) {
  ax__ctx_t *c = ax__ctx_current();
  return c != NULL ? ax__container_of(c, ax__worker_t, ctx) : NULL;
}

/* Pushes t at the back of w's local queue; when it is full, half of it
 * (and t) moves to the injection queue.  On w's thread only. */
static inline void ax__worker_push_back(ax__worker_t *w, ax__task_t *t) {
  ax__task_t *batch[AX__LQ_CAP / 2 + 1];
  uint32_t n;
  for (;;) {
    if (ax__lq_push(&w->q, t) == 0) return;
    n = ax__lq_push_overflow(&w->q, t, batch);
    if (n != 0) break;
  }
  ax__inject_push(&w->ctx.rt->inject, batch, n);
}

/* Ends w's uv_run (or, pumped, asks the application for a pump).  Any
 * thread. */
static inline void ax__worker_wake(ax__worker_t *w) {
  if (w->pump != NULL)
    ax__pump_signal(w->pump);
  else
    ax__wake_send(&w->wake);
}

/* Does w drive a loop the application owns (builder.loop)? */
static inline int ax__worker_on_user_loop(const ax__worker_t *w) {
  return w->ctx.loop != &w->loop_storage;
}

/* Should w's run loop end: `until` (block_on's task) completed, or, for a
 * thread's whole run (until == NULL), the runtime shut down. */
static inline int ax__worker_finished(ax__worker_t *w, ax__task_t *until) {
  if (until != NULL)
    return (ax__task_state(until) & AX__COMPLETE) != 0;
  return atomic_load_explicit(&w->ctx.rt->shutdown, memory_order_acquire);
}

/* Is block_on's loop to end because the runtime is shutting down (a free
 * from another thread, a background shutdown from a task: shutdown.c
 * waits for block_on before it frees the loop)?  Asked when the loop is
 * idle and every event_interval ticks, not on every turn: one more load
 * per poll was 2 % of yield_many's instructions. */
static inline int ax__worker_shut(ax__worker_t *w, ax__task_t *until) {
  return until != NULL &&
         atomic_load_explicit(&w->ctx.rt->shutdown, memory_order_acquire);
}

/* (worker.c) */
int ax__worker_init(ax__worker_t *w, ax_runtime_t *rt, unsigned index,
                    uv_loop_t *user_loop);
/* Closes the loop, on the closing thread: runs what the mailbox holds,
 * frees the cache's lists, closes the wheel and the wake-up and runs the
 * loop until they are closed. */
/* Closes w's handles and runs its loop to the end.  On the application's
 * loop with defer = 1 (a shutdown, which holds a reference on the
 * runtime's memory): the closes finish in that loop's next turn. */
void ax__worker_close(ax__worker_t *w, int defer);
/* The run loop until `until` completes (or shutdown if NULL). */
void ax__worker_run(ax__worker_t *w, ax__task_t *until);
/* Runs what is ready on w, never blocking (a pump, pump.h): the mailbox,
 * one uv_run(UV_RUN_NOWAIT) turn when run_loop is 1, then task polls until
 * none is ready or `budget` were made.  Returns the polls made. */
unsigned ax__worker_pump(ax__worker_t *w, unsigned budget, int run_loop);
/* Runs op->fn(op) on w's loop thread: at once when called there, else
 * queued and w's loop woken.  Callable from any thread. */
void ax__worker_post(ax__worker_t *w, ax__op_t *op);

/* 0 when a uv_run(UV_RUN_NOWAIT) turn of w's loop would find nothing to
 * do: its only active handle is axle's own wake-up (the wheel's timer is
 * not armed), no request is in flight (blocking drainers, the user's
 * fs requests) and no op waits in the mailbox.  Then the turn is only an
 * epoll_wait(0) system call, which every event_interval ticks was 25 % of
 * yield_many.  Reads the public counters of uv_loop_t (part of libuv 1.x's
 * ABI), on the loop's own thread.  A loop the application owns is always
 * polled: its handles are not ours to reason about. */
static inline int ax__worker_loop_has_work(ax__worker_t *w) {
  uv_loop_t *l = w->ctx.loop;
  if (l != &w->loop_storage) return 1;
  if (l->active_handles > 1 || l->active_reqs.count != 0) return 1;
  return ax__mailbox_pending(&w->mail);
}

/* Runs w's loop (on w's thread) with io_wakes set: the tasks its
 * callbacks wake are the loop's own, whose I/O is here (sched.c's
 * schedule_local wakes no other worker for them). */
static inline void ax__worker_run_io(ax__worker_t *w, uv_run_mode mode) {
  w->ctx.io_wakes = 1;
  uv_run(w->ctx.loop, mode);
  w->ctx.io_wakes = 0;
}

#endif
