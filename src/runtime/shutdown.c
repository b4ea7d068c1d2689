/* Shutting a runtime down: stop the workers, cancel what is left, close
 * the loops; the memory goes with the last task (ax__runtime_release).
 *
 * Who may shut a runtime down: any thread but its own (a worker, the
 * thread inside its ax_block_on, a pool thread running one of its
 * blocking jobs): those get AX_ENESTED from ax_runtime_free and
 * ax_runtime_shutdown_timeout, which would wait for themselves.
 * ax_runtime_shutdown_background works from anywhere: the freeing thread
 * waits until every worker thread has left its run loop and no block_on
 * runs (a block_on sees the shutdown and returns AX_ESHUTDOWN), so nothing
 * is freed under a thread still inside the runtime. */
#include <stdlib.h>

#include "axle/time.h"
#include "runtime/blocking.h"
#include "runtime/pump.h"
#include "runtime/watch.h"
#include "time/keeper.h"

/* Is the calling thread one of rt's own? */
static int inside(ax_runtime_t *rt) {
  ax__ctx_t *c = ax__ctx_current();
  return (c != NULL && c->rt == rt) || ax__blocking_runtime() == rt;
}

/* Sets the flag every run loop checks, and wakes every loop that may be
 * parked: the workers and the one block_on drives (its loop ends on the
 * flag too; a wake-up of a loop nobody runs is drained at its close). */
static void stop_workers(ax_runtime_t *rt) {
  unsigned i;
  atomic_store(&rt->shutdown, 1);
  for (i = 0; i < rt->nworkers; i++) ax__wake_send(&rt->workers[i]->wake);
  if (rt->driver != NULL) ax__wake_send(&rt->driver->wake);
}

/* Is w's thread stuck in a task's poll: inside the same one (its `polls`
 * count) at this look and at the one before?  Looks are a millisecond
 * apart (life_lock held); ctx.task and polls are relaxed snapshots. */
static int stuck(ax__worker_t *w) {
  uint64_t seen = w->stuck_seen;
  if (atomic_load_explicit(&w->ctx.task, memory_order_relaxed) == NULL) {
    w->stuck_seen = 0;
    return 0;
  }
  w->stuck_seen = atomic_load_explicit(&w->polls, memory_order_relaxed) + 1;
  return seen == w->stuck_seen;
}

/* With life_lock held: waits until every worker thread has left its run
 * loop and no block_on runs (both signal life_cond), or, past `deadline`
 * (uv_hrtime; UINT64_MAX: none), until each one still running is stuck in
 * a task's poll (the same poll a millisecond apart): waiting longer would
 * only wait for that poll.  Threads that are not (parked ones being
 * woken, ones in on_thread_stop, a poll just ending) are waited for, so an
 * idle runtime stops with any timeout, 0 too.  Returns 1 when all have
 * gone, 0 when the deadline passed with a poll stuck. */
static int wait_quiet(ax_runtime_t *rt, uint64_t deadline) {
  unsigned i;
  for (i = 0; i < rt->nworkers; i++) rt->workers[i]->stuck_seen = 0;
  if (rt->driver != NULL) rt->driver->stuck_seen = 0;
  for (;;) {
    int in_block_on = atomic_load(&rt->in_block_on);
    uint64_t now;
    int all_stuck = 1;
    if (rt->running_threads == 0 && !in_block_on) return 1;
    if (deadline == UINT64_MAX) {
      uv_cond_wait(&rt->life_cond, &rt->life_lock);
      continue;
    }
    now = uv_hrtime();
    if (now < deadline) {
      /* In slices: libuv adds the timeout to the clock, unchecked. */
      uint64_t left = deadline - now, slice = 1000000000u;
      (void)uv_cond_timedwait(&rt->life_cond, &rt->life_lock,
                              left < slice ? left : slice);
      continue;
    }
    if (rt->flavor == AX_MULTI_THREAD)
      for (i = 0; i < rt->nworkers; i++)
        if (!rt->workers[i]->exited && !stuck(rt->workers[i]))
          all_stuck = 0;
    if (in_block_on &&
        !stuck(rt->driver != NULL ? rt->driver : rt->workers[0]))
      all_stuck = 0;
    if (all_stuck) return 0;
    /* No event says when a thread enters or leaves a poll: look again in
     * a millisecond (or at an exit, whichever comes first). */
    (void)uv_cond_timedwait(&rt->life_cond, &rt->life_lock, 1000000u);
  }
}

static void cancel_queued(ax__task_t *t) {
  (void)ax__task_shutdown(t);  /* queued: never claimed */
  ax__task_drop_ref(t);  /* the queue's notification reference */
}

/* Cancels every task still on the owned lists; each comes with a
 * reference of our own (ax__owned_first). */
static void cancel_owned(ax_runtime_t *rt) {
  unsigned i;
  ax__task_t *t;
  for (i = 0; i < AX__SHARDS; i++) {
    while ((t = ax__owned_first(&rt->owned, i)) != NULL) {
      if (ax__task_state(t) & AX__COMPLETE) {
        ax__owned_remove(&rt->owned, t);  /* cannot happen; never loop forever */
      } else if (ax__task_shutdown(t)) {
        ax__task_drop_ref(t);
        ax__cpu_yield();          /* a blocking job finishing it */
        continue;
      }
      ax__task_drop_ref(t);
    }
  }
}

/* No worker runs any more: settle the references they kept count of
 * (sched.c), then drop the owner's. */
static void settle_refs(ax_runtime_t *rt) {
  size_t debt = 0;
  unsigned i;
  for (i = 0; i < rt->nworkers; i++) {
    debt += rt->workers[i]->ref_debt;
    rt->workers[i]->ref_debt = 0;
  }
  if (rt->driver != NULL) {
    debt += rt->driver->ref_debt;
    rt->driver->ref_debt = 0;
  }
  if (debt != 0)
    atomic_fetch_sub_explicit(&rt->refs, debt, memory_order_acq_rel);
  ax__runtime_release(rt);
}

/* Every worker has stopped: cancel what is left, close the loops, free
 * (defer: see ax__worker_close). */
static void runtime_cleanup(ax_runtime_t *rt, int defer) {
  unsigned i;
  ax__task_t *t;

  /* The workers have stopped (the drops below run on this thread, and a
   * drop that blocks is not what the watchdog is for). */
  ax__watchdog_stop(rt);
  /* Before the wheels close: the keeper rescues wheels from its thread. */
  ax__keeper_stop(rt->keeper);
  rt->keeper = NULL;

  /* Under the injection lock: a wake from another thread either queued
   * its task before (drained below) or sees `stopped` (sched.c). */
  ax__spin_lock(&rt->inject.lock);
  atomic_store(&rt->stopped, 1);
  ax__spin_unlock(&rt->inject.lock);
  /* ...and one that queued before may still be unparking a worker: the
   * loops (and their wake handles) must outlive that. */
  while (atomic_load_explicit(&rt->notifying, memory_order_acquire) != 0)
    ax__cpu_yield();
  for (i = 0; i < rt->nworkers; i++) {
    ax__worker_t *w = rt->workers[i];
    if ((t = w->lifo) != NULL) {
      w->lifo = NULL;
      cancel_queued(t);
    }
    while ((t = ax__lq_pop(&w->q)) != NULL) cancel_queued(t);
  }
  while ((t = ax__inject_pop(&rt->inject)) != NULL) cancel_queued(t);
  cancel_owned(rt);
  /* Wakes during the drops above found the runtime stopped: queues stay
   * empty.  Close every handle; the memory goes with the last task (a
   * waker may still be alive on another thread). */
  ax__runtime_close_loops(rt, defer);
  ax__live_runtimes_add(-1);
  settle_refs(rt);
}

/* With life_lock held, after wait_quiet: waits until no blocking-pool
 * drainer queued on rt's loops is still on its pool thread (a job of rt's
 * that started before the shutdown runs to its end: nothing can stop a
 * plain function), or until `deadline`.  Closing a loop waits for the
 * drainers queued on it (libuv calls their after-work callbacks there),
 * so without this a shutdown_timeout returned only when the job did
 * (Tokio: rt_common.rs, shutdown_timeout).  1 when none is left. */
static int wait_drainers(ax_runtime_t *rt, uint64_t deadline) {
  while (rt->drainers_out != 0) {
    uint64_t now, left, slice = 1000000000u;
    if (deadline == UINT64_MAX) {
      uv_cond_wait(&rt->life_cond, &rt->life_lock);
      continue;
    }
    now = uv_hrtime();
    if (now >= deadline) return 0;
    left = deadline - now;
    (void)uv_cond_timedwait(&rt->life_cond, &rt->life_lock,
                            left < slice ? left : slice);
  }
  return 1;
}

/* Waits for rt's threads and its running blocking jobs (deadline as for
 * wait_quiet), then joins and frees: 0, or AX_ETIMEDOUT with nothing
 * freed (the worker threads are joined by the later free). */
static int finish(ax_runtime_t *rt, uint64_t deadline, int defer) {
  unsigned i;
  int quiet;
  uv_mutex_lock(&rt->life_lock);
  quiet = wait_quiet(rt, deadline) && wait_drainers(rt, deadline);
  uv_mutex_unlock(&rt->life_lock);
  if (!quiet) return AX_ETIMEDOUT;  /* leaked, as Tokio leaks threads */
  if (rt->flavor == AX_MULTI_THREAD)
    for (i = 0; i < rt->nworkers; i++) uv_thread_join(&rt->workers[i]->thread);
  runtime_cleanup(rt, defer);
  return 0;
}

/* A runtime living in the application's loop (pumped, or on the
 * application's uv loop): its loop is the application thread's, and only
 * that thread may close it (<axle/embed.h>). */
static int in_app_loop(ax_runtime_t *rt) {
  ax__worker_t *w = rt->workers[0];
  return rt->flavor == AX_CURRENT_THREAD &&
         (w->pump != NULL || ax__worker_on_user_loop(w));
}

static int on_home_thread(ax_runtime_t *rt) {
  uv_thread_t self = uv_thread_self();
  return uv_thread_equal(&rt->home_thread, &self);
}

/* The free of a runtime in the application's loop, on its thread: the
 * pump's callback stops first (the drops below run here, and the
 * application may tear down what its callback uses once on_free ran). */
static void free_in_app_loop(ax_runtime_t *rt, int defer) {
  ax__pump_t *pump = rt->workers[0]->pump;
  if (pump != NULL) ax__pump_close(pump);
  stop_workers(rt);
  (void)finish(rt, UINT64_MAX, defer);  /* no deadline: 0; rt is gone */
  if (pump != NULL) ax__pump_free(pump);
}

void ax__runtime_free_on_wake(ax_runtime_t *rt) {
  if (atomic_exchange(&rt->free_on_wake, 0)) free_in_app_loop(rt, 1);
}

int ax_runtime_free(ax_runtime_t *rt) {
  if (rt == NULL) return 0;
  if (inside(rt)) return AX_ENESTED;
  if (in_app_loop(rt)) {
    if (!on_home_thread(rt)) return AX_EINVAL;
    /* Synchronous, as for any runtime: the application's loop has nothing
     * of axle's left when this returns (one uv_run turn of it here, so
     * not from inside that loop's callbacks: see embed.h). */
    free_in_app_loop(rt, 0);
    return 0;
  }
  stop_workers(rt);
  return finish(rt, UINT64_MAX, 0);
}

int ax_runtime_shutdown_timeout(ax_runtime_t *rt, uint64_t timeout_ms) {
  uint64_t deadline;
  if (rt == NULL) return AX_EINVAL;
  if (inside(rt)) return AX_ENESTED;
  /* Nothing to wait for on the application's thread: a free. */
  if (in_app_loop(rt)) return ax_runtime_free(rt);
  deadline = ax_instant_add_ms(uv_hrtime(), timeout_ms);  /* saturates */
  stop_workers(rt);
  return finish(rt, deadline, 0);
}

/* Background shutdown: a thread does the work; the process joins it at
 * exit so nothing is left half-freed. */
static uv_mutex_t bg_lock;
static uv_once_t bg_once = UV_ONCE_INIT;
static uv_thread_t *bg_threads;
static size_t bg_count;

/* At exit, on the exiting thread, while other threads may still be
 * inside ax_runtime_shutdown_background: the list is taken under the
 * lock, the joins are made outside it. */
static void bg_join_all(void) {
  uv_thread_t *all;
  size_t i, n;
  uv_mutex_lock(&bg_lock);
  all = bg_threads;
  n = bg_count;
  bg_threads = NULL;
  bg_count = 0;
  uv_mutex_unlock(&bg_lock);
  for (i = 0; i < n; i++) uv_thread_join(&all[i]);
  ax__free(all);
}

static void bg_init(void) {
  uv_mutex_init(&bg_lock);
  atexit(bg_join_all);
}

static void bg_main(void *arg) {
  stop_workers(arg);
  (void)finish(arg, UINT64_MAX, 0);
}

/* The caller sets the flag (new spawns fail from now on) and leaves rt to
 * the thread, which wakes the loops and waits for them: the caller may be
 * one of rt's workers, or a task in the block_on whose return lets the
 * process exit, and touches rt no more once the thread may free it. */
void ax_runtime_shutdown_background(ax_runtime_t *rt) {
  uv_thread_t *grown;
  if (rt == NULL) return;
  if (in_app_loop(rt)) {
    /* Its loop is the application thread's, and is closed there.  On that
     * thread, outside its tasks: now, with the closes finishing in the
     * loop's next turn (safe inside the loop's callbacks).  Elsewhere:
     * stopped now (spawns fail, ax_pump says AX_ESHUTDOWN); a runtime on
     * the application's uv loop is then freed by its next wake-up, a
     * pumped one by the application's ax_runtime_free. */
    if (on_home_thread(rt) && !inside(rt)) {
      free_in_app_loop(rt, 1);
      return;
    }
    if (ax__worker_on_user_loop(rt->workers[0]))
      atomic_store(&rt->free_on_wake, 1);
    atomic_store(&rt->shutdown, 1);
    ax__worker_wake(rt->workers[0]);
    return;
  }
  uv_once(&bg_once, bg_init);
  atomic_store(&rt->shutdown, 1);
  uv_mutex_lock(&bg_lock);
  grown = ax__realloc(bg_threads, (bg_count + 1) * sizeof(*grown));
  if (grown == NULL ||
      uv_thread_create(&grown[bg_count], bg_main, rt) != 0) {
    if (grown != NULL) bg_threads = grown;
    uv_mutex_unlock(&bg_lock);
    stop_workers(rt);
    /* No thread for it: do it here, unless this is one of rt's own
     * threads, which cannot wait for itself: then rt stays shut down
     * and is not freed (as after a timed-out shutdown_timeout). */
    if (!inside(rt)) (void)finish(rt, UINT64_MAX, 0);
    return;
  }
  bg_threads = grown;
  bg_count++;
  uv_mutex_unlock(&bg_lock);
}
