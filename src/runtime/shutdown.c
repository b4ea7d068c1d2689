/* Shutting a runtime down: stop the workers, cancel what is left, close
 * the loops; the memory goes with the last task (ax__runtime_release). */
#include <stdlib.h>

#include "runtime/pump.h"
#include "runtime/watch.h"

static void stop_workers(ax_runtime_t *rt) {
  unsigned i;
  atomic_store(&rt->shutdown, 1);
  if (rt->flavor == AX_MULTI_THREAD)
    for (i = 0; i < rt->nworkers; i++) ax__wake_send(&rt->workers[i]->wake);
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

/* Every worker has stopped: cancel what is left, close the loops, free. */
static void runtime_cleanup(ax_runtime_t *rt) {
  unsigned i;
  ax__task_t *t;

  /* The workers have stopped (the drops below run on this thread, and a
   * drop that blocks is not what the watchdog is for). */
  ax__watchdog_stop(rt);

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
  ax__runtime_close_loops(rt);
  ax__live_runtimes_add(-1);
  settle_refs(rt);
}

void ax_runtime_free(ax_runtime_t *rt) {
  unsigned i;
  ax__pump_t *pump;
  if (rt == NULL) return;
  /* A pumped runtime stops asking the application for pumps first: the
   * cancellation below runs everything that is left, here, and the
   * application may tear down what its callback uses once on_free ran. */
  pump = rt->workers[0]->pump;
  if (pump != NULL) ax__pump_close(pump);
  stop_workers(rt);
  if (rt->flavor == AX_MULTI_THREAD)
    for (i = 0; i < rt->nworkers; i++) uv_thread_join(&rt->workers[i]->thread);
  runtime_cleanup(rt);   /* rt may be gone after this */
  if (pump != NULL) ax__pump_free(pump);
}

int ax_runtime_shutdown_timeout(ax_runtime_t *rt, uint64_t timeout_ms) {
  uint64_t deadline = uv_hrtime() + timeout_ms * 1000000u;
  int timed_out = 0;
  stop_workers(rt);
  uv_mutex_lock(&rt->life_lock);
  while (rt->running_threads > 0) {
    uint64_t now = uv_hrtime();
    if (now >= deadline ||
        uv_cond_timedwait(&rt->life_cond, &rt->life_lock, deadline - now) != 0) {
      timed_out = rt->running_threads > 0;
      break;
    }
  }
  uv_mutex_unlock(&rt->life_lock);
  if (timed_out) return AX_ETIMEDOUT;  /* leaked, as Tokio leaks threads */
  ax_runtime_free(rt);
  return 0;
}

/* Background shutdown: a thread does the work; the process joins it at
 * exit so nothing is left half-freed. */
static uv_mutex_t bg_lock;
static uv_once_t bg_once = UV_ONCE_INIT;
static uv_thread_t *bg_threads;
static size_t bg_count;

static void bg_join_all(void) {
  size_t i;
  for (i = 0; i < bg_count; i++) uv_thread_join(&bg_threads[i]);
  ax__free(bg_threads);
  bg_threads = NULL;
  bg_count = 0;
}

static void bg_init(void) {
  uv_mutex_init(&bg_lock);
  atexit(bg_join_all);
}

static void bg_main(void *arg) { ax_runtime_free(arg); }

void ax_runtime_shutdown_background(ax_runtime_t *rt) {
  uv_thread_t *grown;
  /* A runtime whose loop is the application's thread's (pumped, or on the
   * application's loop) is closed on that thread: now. */
  if (rt->flavor == AX_CURRENT_THREAD &&
      (rt->workers[0]->pump != NULL ||
       ax__worker_on_user_loop(rt->workers[0]))) {
    ax_runtime_free(rt);
    return;
  }
  uv_once(&bg_once, bg_init);
  stop_workers(rt);
  uv_mutex_lock(&bg_lock);
  grown = ax__realloc(bg_threads, (bg_count + 1) * sizeof(*grown));
  if (grown == NULL ||
      uv_thread_create(&grown[bg_count], bg_main, rt) != 0) {
    if (grown != NULL) bg_threads = grown;
    uv_mutex_unlock(&bg_lock);
    ax_runtime_free(rt);  /* cannot go to the background: do it here */
    return;
  }
  bg_threads = grown;
  bg_count++;
  uv_mutex_unlock(&bg_lock);
}
