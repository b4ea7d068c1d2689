/* Where a woken task goes, and the rest of what the task harness asks of
 * the scheduler (sched.h).
 *
 * A woken task goes:
 *  - if it is the block_on future of a multi-thread runtime: to its driver,
 *    as a flag (schedule_main);
 *  - if it was woken on a worker of its own runtime: to that worker's LIFO
 *    slot (the previous occupant moves to the local queue), or to the back
 *    of the local queue when the task woke itself (a yield) or the runtime
 *    is the current-thread one, first in first out (schedule_local);
 *  - from anywhere else (a foreign thread, another runtime, the blocking
 *    pool): to the injection queue, and a parked worker is woken
 *    (schedule_remote).
 *
 * Only a worker that is parked (or about to park) costs a system call.  A
 * parking worker stores `parked`, increments rt->idle, fences and checks
 * the queues again (idle.c); a waker pushes (a seq_cst store) and reads
 * rt->idle with a seq_cst load (then the flags).  All sequentially
 * consistent, so one side always sees the other: no lost wake-up.
 */
#include <stdio.h>

#include "runtime/idle.h"
#include "runtime/local.h"
#include "runtime/sched.h"
#include "runtime/watch.h"

/* Not inlined into ax__sched_schedule: it is rare (one task per block_on)
 * and its registers would cost every other wake a save and restore. */
#if defined(__GNUC__)
#  define COLD __attribute__((noinline, cold))
#else
#  define COLD
#endif

static COLD void schedule_main(ax_runtime_t *rt, ax__ctx_t *c) {
  ax__worker_t *d = rt->driver;
  if (c == &d->ctx) {
    /* The flag carries the notification reference. */
    atomic_store(&d->main_notified, 1);
    if (atomic_load_explicit(&d->parked, memory_order_relaxed) != 0)
      uv_stop(d->ctx.loop);   /* see schedule_local */
    return;
  }
  /* From another thread: once main_notified is set, block_on may return
   * and the runtime be freed before our unpark; counting ourselves in
   * `notifying` first makes the cleanup wait for it. */
  atomic_fetch_add(&rt->notifying, 1);
  atomic_store(&d->main_notified, 1);
  ax__idle_unpark(d);
  atomic_fetch_sub_explicit(&rt->notifying, 1, memory_order_release);
}

static void schedule_local(ax_runtime_t *rt, ax__worker_t *w, ax__task_t *t,
                           int yield) {
  /* Woken by a callback of our own loop while parked in it (a timer
   * already due when park's uv_run began runs before the poll phase):
   * make that uv_run return instead of blocking with t queued.  The
   * stop flag is cleared when uv_run returns. */
  if (atomic_load_explicit(&w->parked, memory_order_relaxed) != 0)
    uv_stop(w->ctx.loop);
  /* The current-thread runtime is first-in first-out, as Tokio's: its
   * order is part of what users rely on (deterministic tests). */
  if (yield || rt->flavor == AX_CURRENT_THREAD) {
    ax__worker_push_back(w, t);
  } else {
    ax__task_t *prev = w->lifo;
    w->lifo = t;
    if (prev == NULL) return;
    ax__worker_push_back(w, prev);
  }
  if (rt->nworkers > 1) {
    /* Tasks woken by this worker's own loop (its sockets' callbacks) have
     * their I/O here: another worker that took them would hand each of
     * their next operations back (a hop).  Nobody is woken for them; a
     * worker already awake may still steal them. */
    if (w->ctx.io_wakes)
      w->loop_batch = 1;
    else
      ax__idle_notify(rt);
  }
}

/* Queued under the injection lock, so that a shutdown (which sets
 * `stopped` under it before draining the queues) is entirely before or
 * entirely after; the unpark, a system call, happens after the unlock, and
 * `notifying` makes the shutdown wait for it before it closes the loops. */
static void schedule_remote(ax_runtime_t *rt, ax__task_t *t) {
  int want;
  ax__spin_lock(&rt->inject.lock);
  if (atomic_load_explicit(&rt->stopped, memory_order_relaxed)) {
    ax__spin_unlock(&rt->inject.lock);
    ax__task_drop_ref(t);
    return;
  }
  ax__inject_push_locked(&rt->inject, &t, 1);  /* a seq_cst store */
  /* The Dekker reads, right after that store (seq_cst, so not reordered
   * before it): does anyone sleep, and is nobody spinning who would see
   * the task?  Only then count ourselves in `notifying` and unpark; a
   * busy runtime pays no locked instruction here beyond the lock.  (A
   * spinner that gives up decrements `spinning` and increments `idle`
   * before its fence and last look at the queues, so either it sees this
   * task or these reads see it idle and not spinning.) */
  if (rt->flavor == AX_CURRENT_THREAD)
    want = atomic_load(&rt->workers[0]->parked) == 1;
  else
    want = atomic_load(&rt->idle) != 0 && atomic_load(&rt->spinning) == 0;
  if (want) atomic_fetch_add_explicit(&rt->notifying, 1, memory_order_relaxed);
  ax__spin_unlock(&rt->inject.lock);
  if (!want) return;
  if (rt->flavor == AX_CURRENT_THREAD)
    ax__idle_unpark(rt->workers[0]);
  else
    ax__idle_wake_one(rt);
  atomic_fetch_sub_explicit(&rt->notifying, 1, memory_order_release);
}

/* Where an ordinary task goes (and a current-thread block_on's). */
static inline void schedule_task(ax_runtime_t *rt, ax__ctx_t *c,
                                 ax__task_t *t, int yield) {
  if (atomic_load_explicit(&rt->stopped, memory_order_acquire)) {
    ax__task_drop_ref(t);  /* shutdown cancels it from the owned list */
    return;
  }
  if (c != NULL && c->rt == rt) {
    ax__worker_t *w = ax__container_of(c, ax__worker_t, ctx);
    if (!w->is_driver) {
      schedule_local(rt, w, t, yield);
      return;
    }
  }
  schedule_remote(rt, t);
}

/* A local task goes to its set, block_on's future of a multi-thread
 * runtime to its driver.  Out of line, whole: the common path keeps the
 * one compare of memory the old is_main test was (a version that came
 * back here for the rest cost yield_many 1.4 % under callgrind). */
static COLD void schedule_special(ax_runtime_t *rt, ax__ctx_t *c,
                                  ax__task_t *t, int yield) {
  if (t->kind == AX__TASK_LOCAL)
    ax__local_schedule(t);
  else if (rt->driver != NULL)
    schedule_main(rt, c);
  else
    schedule_task(rt, c, t, yield);
}

void ax__sched_schedule(ax__task_t *t, int yield) {
  ax_runtime_t *rt = t->rt;
  ax__ctx_t *c = ax__ctx_current();
  if (t->kind & 1)  /* AX__TASK_LOCAL or AX__TASK_MAIN (task.h) */
    schedule_special(rt, c, t, yield);
  else
    schedule_task(rt, c, t, yield);
}

void ax__sched_release(ax__task_t *t) { ax__owned_remove(&t->rt->owned, t); }

void ax__sched_report_panic(ax__task_t *t) {
  ax_runtime_t *rt = t->rt;
  const char *msg = t->panic_msg != NULL ? t->panic_msg : "(no message)";
  if (rt->panic_hook != NULL) {
    rt->panic_hook(msg, t->name, rt->panic_hook_arg);
    return;
  }
  fprintf(stderr, "axle: task %llu%s%s%s panicked: %s\n",
          (unsigned long long)t->id, t->name ? " '" : "",
          t->name ? t->name : "", t->name ? "'" : "", msg);
}

/* Task references on the runtime's memory, from a worker of that runtime:
 * a task freed there only adds to the worker's debt, which the next spawn
 * there takes over (the new task inherits the reference) or which goes
 * back in one subtraction per REF_BATCH.  Every task freed on the spawner's
 * other worker otherwise took the reference count's cache line away from
 * the spawner.  The count cannot reach zero while debts are pending: the
 * owner's reference is only dropped after shutdown has settled them. */
#define REF_BATCH 64

void ax__sched_ref(ax_runtime_t *rt) {
  ax__worker_t *w = ax__worker_current();
  if (w != NULL && w->ctx.rt == rt && w->ref_debt > 0) {
    w->ref_debt--;
    return;
  }
  atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
}

void ax__sched_unref(ax_runtime_t *rt) {
  ax__worker_t *w = ax__worker_current();
  if (w != NULL && w->ctx.rt == rt) {
    if (++w->ref_debt >= 2 * REF_BATCH) {
      /* Keep some for the spawns to come; give the rest back. */
      w->ref_debt -= REF_BATCH;
      atomic_fetch_sub_explicit(&rt->refs, REF_BATCH, memory_order_release);
    }
    return;
  }
  ax__runtime_release(rt);
}

void ax__sched_polled(ax__ctx_t *ctx, ax__task_t *t) {
  ax__watch_end(ax__container_of(ctx, ax__worker_t, ctx), t);
}
