/* Runtimes: builder, creation, block_on, spawn, shutdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "runtime/runtime.h"


void ax_builder_init(ax_builder_t *b, ax_flavor_t flavor) {
  memset(b, 0, sizeof(*b));
  b->flavor = flavor;
  b->thread_name = "axle-worker";
  b->event_interval = 61;
  b->global_queue_interval = 31;
  b->idle_spin_us = 128;
  b->watchdog_ms = ax__watchdog_env();
}

/* ---- owned lists ------------------------------------------------------ */

static int owned_insert(ax_runtime_t *rt, ax__task_t *t) {
  unsigned s = t->shard;
  ax__spin_lock(&rt->owned[s].lock);
  if (atomic_load_explicit(&rt->shutdown, memory_order_relaxed)) {
    ax__spin_unlock(&rt->owned[s].lock);
    return AX_ESHUTDOWN;
  }
  t->owned_prev = NULL;
  t->owned_next = rt->owned[s].head;
  if (t->owned_next != NULL) t->owned_next->owned_prev = t;
  rt->owned[s].head = t;
  ax__spin_unlock(&rt->owned[s].lock);
  return 0;
}

void ax__owned_remove(ax_runtime_t *rt, ax__task_t *t) {
  unsigned s = t->shard;
  ax__spin_lock(&rt->owned[s].lock);
  if (t->owned_prev != NULL)
    t->owned_prev->owned_next = t->owned_next;
  else if (rt->owned[s].head == t)
    rt->owned[s].head = t->owned_next;
  if (t->owned_next != NULL) t->owned_next->owned_prev = t->owned_prev;
  t->owned_prev = t->owned_next = NULL;
  ax__spin_unlock(&rt->owned[s].lock);
}

/* ---- panics nobody joins ---------------------------------------------- */

void ax__report_panic(ax_runtime_t *rt, ax__task_t *t) {
  const char *msg = t->panic_msg != NULL ? t->panic_msg : "(no message)";
  if (rt->panic_hook != NULL) {
    rt->panic_hook(msg, t->name, rt->panic_hook_arg);
    return;
  }
  fprintf(stderr, "axle: task %llu%s%s%s panicked: %s\n",
          (unsigned long long)t->id, t->name ? " '" : "",
          t->name ? t->name : "", t->name ? "'" : "", msg);
}

/* ---- creation --------------------------------------------------------- */

static void worker_thread(void *arg) {
  ax__worker_t *w = arg;
  ax_runtime_t *rt = w->rt;
  char name[32];
  snprintf(name, sizeof(name), "%.12s-%u", rt->thread_name, w->index);
  ax__thread_set_name(name);
  if (rt->on_thread_start != NULL) rt->on_thread_start(rt->hook_arg);
  ax__worker_run(w, NULL);
  if (rt->on_thread_stop != NULL) rt->on_thread_stop(rt->hook_arg);
  uv_mutex_lock(&rt->life_lock);
  rt->running_threads--;
  uv_cond_signal(&rt->life_cond);
  uv_mutex_unlock(&rt->life_lock);
}

static ax__worker_t *worker_new(ax_runtime_t *rt, unsigned index,
                                uv_loop_t *loop, int *rc) {
  ax__worker_t *w = ax__malloc(sizeof(*w));
  if (w == NULL) {
    *rc = AX_ENOMEM;
    return NULL;
  }
  if ((*rc = ax__worker_init(w, rt, index, loop)) != 0) {
    ax__free(w);
    return NULL;
  }
  return w;
}

static void runtime_close_loops(ax_runtime_t *rt) {
  unsigned i;
  for (i = 0; i < rt->nworkers; i++)
    if (rt->workers[i] != NULL) ax__worker_close(rt->workers[i]);
  if (rt->driver != NULL) ax__worker_close(rt->driver);
}

static void runtime_free_memory(ax_runtime_t *rt) {
  unsigned i;
  /* The last task is gone: nothing pushes blocks back any more. */
  for (i = 0; i < rt->nworkers; i++) {
    if (rt->workers[i] == NULL) continue;
    ax__tcache_drain_remote(&rt->workers[i]->tremote);
    ax__free(rt->workers[i]);
  }
  if (rt->driver != NULL) ax__tcache_drain_remote(&rt->driver->tremote);
  ax__tcache_drain(&rt->fcache);
  ax__tcache_drain_remote(&rt->fremote);
  ax__free(rt->driver);
  ax__inject_free(&rt->inject);
  uv_mutex_destroy(&rt->life_lock);
  uv_cond_destroy(&rt->life_cond);
  ax__free(rt->workers);
  ax__free(rt->thread_name);
  ax__free(rt);
}

int ax_runtime_new(const ax_builder_t *b, ax_runtime_t **out) {
  ax_runtime_t *rt;
  unsigned i, n;
  int rc;

  *out = NULL;
  if (b->flavor != AX_MULTI_THREAD && b->flavor != AX_CURRENT_THREAD)
    return AX_EINVAL;
  if (b->loop != NULL && b->flavor != AX_CURRENT_THREAD) return AX_EINVAL;
  if (b->max_blocking_threads > 1024) return AX_EINVAL;
  if (b->max_blocking_threads != 0 &&
      (rc = ax__blocking_configure(b->max_blocking_threads)) != 0)
    return rc;
  n = b->flavor == AX_CURRENT_THREAD ? 1
      : b->worker_threads != 0       ? b->worker_threads
                                     : uv_available_parallelism();
  if (n == 0 || n > 1024) return AX_EINVAL;

  rt = ax__calloc(1, sizeof(*rt));
  if (rt == NULL) return AX_ENOMEM;
  rt->workers = ax__calloc(n, sizeof(*rt->workers));
  rt->thread_name = ax__strdup(b->thread_name ? b->thread_name : "axle");
  if (rt->workers == NULL || rt->thread_name == NULL) {
    ax__free(rt->workers);
    ax__free(rt->thread_name);
    ax__free(rt);
    return AX_ENOMEM;
  }
  rt->flavor = b->flavor;
  rt->event_interval = b->event_interval ? b->event_interval : 61;
  rt->global_queue_interval =
      b->global_queue_interval ? b->global_queue_interval : 31;
  /* worker.c: park() */
  rt->spin_max_ns = (uint64_t)(b->idle_spin_us ? b->idle_spin_us : 128) * 1000u;
  rt->spin_min_ns = rt->spin_max_ns < 16000u ? rt->spin_max_ns : 16000u;
  rt->cpus = uv_available_parallelism();
  rt->stack_size = b->thread_stack_size;
  rt->on_thread_start = b->on_thread_start;
  rt->on_thread_stop = b->on_thread_stop;
  rt->hook_arg = b->hook_arg;
  rt->panic_hook = b->panic_hook;
  rt->panic_hook_arg = b->panic_hook_arg;
  rt->user_loop = b->loop;
  rt->watchdog_ns = (uint64_t)b->watchdog_ms * 1000000u;
  rt->watchdog_hook = b->watchdog_hook;
  rt->watchdog_hook_arg = b->watchdog_hook_arg;
  atomic_init(&rt->next_id, 1);
  atomic_init(&rt->refs, 1);
  ax__inject_init(&rt->inject);
  ax__spin_init(&rt->flock);
  uv_mutex_init(&rt->life_lock);
  uv_cond_init(&rt->life_cond);
  for (i = 0; i < AX__SHARDS; i++) ax__spin_init(&rt->owned[i].lock);

  for (i = 0; i < n; i++) {
    rt->workers[i] = worker_new(rt, i, i == 0 ? b->loop : NULL, &rc);
    if (rt->workers[i] == NULL) goto err;
    rt->nworkers = i + 1;
  }
  if (rt->flavor == AX_MULTI_THREAD) {
    uv_thread_options_t opts;
    rt->driver = worker_new(rt, ~0u, NULL, &rc);
    if (rt->driver == NULL) goto err;
    rt->driver->is_driver = 1;
    if ((rc = ax__watchdog_start(rt)) != 0) goto err;
    opts.flags = rt->stack_size ? UV_THREAD_HAS_STACK_SIZE : UV_THREAD_NO_FLAGS;
    opts.stack_size = rt->stack_size;
    for (i = 0; i < n; i++) {
      rt->running_threads++;
      rc = uv_thread_create_ex(&rt->workers[i]->thread, &opts, worker_thread,
                               rt->workers[i]);
      if (rc != 0) {
        unsigned j;
        rt->running_threads--;
        atomic_store(&rt->shutdown, 1);
        for (j = 0; j < i; j++) ax__wake_send(&rt->workers[j]->wake);
        for (j = 0; j < i; j++) uv_thread_join(&rt->workers[j]->thread);
        ax__watchdog_stop(rt);
        goto err;
      }
    }
  } else if ((rc = ax__watchdog_start(rt)) != 0) {
    goto err;
  }
  ax__live_runtimes_add(1);
  *out = rt;
  return 0;
err:
  runtime_close_loops(rt);
  runtime_free_memory(rt);
  return rc;
}

unsigned ax_runtime_workers(const ax_runtime_t *rt) { return rt->nworkers; }

ax_runtime_t *ax_runtime_current(void) {
  ax__worker_t *w = ax__worker_current();
  return w != NULL ? w->rt : NULL;
}

/* ---- spawn ------------------------------------------------------------ */

/* idle: do not schedule the task; *idle gets it, with the notification
 * reference (ax__spawn_idle). */
static int spawn(ax_runtime_t *rt, const char *name, ax_future_t *fut,
                 size_t size, uint32_t out_off, ax_join_t *join,
                 ax__task_t **idle) {
  ax__task_t *t;
  int rc;
  if (join != NULL) memset(join, 0, sizeof(*join));
  if (rt == NULL) return AX_ENORUNTIME;
  if (fut == NULL || size < sizeof(ax_future_t)) return AX_EINVAL;
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return AX_ESHUTDOWN;
  t = ax__task_new(rt, fut, size, out_off, join != NULL);
  if (t == NULL) return AX_ENOMEM;
  /* Idle: not queued anywhere, so not NOTIFIED (nobody has seen t yet). */
  if (idle != NULL)
    atomic_store_explicit(&t->state, ax__task_state(t) & ~AX__NOTIFIED,
                          memory_order_relaxed);
  if (name != NULL) t->name = ax__strdup(name);
  if ((rc = owned_insert(rt, t)) != 0) {
    t->dropped = 1;  /* never polled: the caller still owns fut's contents */
    ax__free(t->name);
    ax__free(t);
    ax__runtime_release(rt);
    return rc;
  }
  if (join != NULL) ax__join_attach(join, t);
  if (idle != NULL)
    *idle = t;
  else
    ax__schedule(t, 0);
  return 0;
}

int ax__spawn_raw(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                  uint32_t out_off, ax_join_t *join) {
  return spawn(rt, NULL, fut, size, out_off, join, NULL);
}

int ax__spawn_idle(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                   uint32_t out_off, ax_join_t *join, ax__task_t **t) {
  return spawn(rt, NULL, fut, size, out_off, join, t);
}

int ax_spawn(ax_future_t *fut, size_t size, ax_join_t *join) {
  return spawn(ax_runtime_current(), NULL, fut, size, 0, join, NULL);
}

int ax_spawn_on(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                ax_join_t *join) {
  return spawn(rt, NULL, fut, size, 0, join, NULL);
}

int ax_spawn_named(ax_runtime_t *rt, const char *name, ax_future_t *fut,
                   size_t size, ax_join_t *join) {
  return spawn(rt, name, fut, size, 0, join, NULL);
}

/* ---- block_on --------------------------------------------------------- */

int ax_block_on(ax_runtime_t *rt, ax_future_t *fut) {
  ax__task_t *t;
  ax_join_t h;
  int rc;

  if (ax__worker_current() != NULL) return AX_ENESTED;
  if (atomic_load(&rt->shutdown)) return AX_ESHUTDOWN;
  {
    int expect = 0;
    if (!atomic_compare_exchange_strong(&rt->in_block_on, &expect, 1))
      return AX_EBUSY;
  }
  t = ax__task_new(rt, fut, 0, 0, 1);
  if (t == NULL) {
    atomic_store(&rt->in_block_on, 0);
    return AX_ENOMEM;
  }
  if ((rc = owned_insert(rt, t)) != 0) {
    ax__free(t);
    ax__runtime_release(rt);
    atomic_store(&rt->in_block_on, 0);
    return rc;
  }
  ax__join_attach(&h, t);
  if (rt->driver != NULL) {
    rt->driver->main_task = t;
    atomic_store(&rt->driver->main_notified, 1);
    atomic_store_explicit(&rt->driver_busy, 1, memory_order_relaxed);
    ax__worker_run(rt->driver, t);
    atomic_store_explicit(&rt->driver_busy, 0, memory_order_relaxed);
    rt->driver->main_task = NULL;
  } else {
    ax__inject_push(&rt->inject, &t, 1);
    ax__worker_run(rt->workers[0], t);
  }
  atomic_store(&rt->in_block_on, 0);
  rc = t->result;
  if (rc == AX_EPANIC)
    fprintf(stderr, "axle: block_on future panicked: %s\n",
            t->panic_msg ? t->panic_msg : "(no message)");
  h.consumed = 1;  /* reported above */
  ax_join_drop(&h);
  return rc;
}

int ax_main(ax_future_t *fut) {
  ax_builder_t b;
  ax_runtime_t *rt;
  int rc;
  ax_builder_init(&b, AX_MULTI_THREAD);
  if ((rc = ax_runtime_new(&b, &rt)) != 0) {
    fprintf(stderr, "axle: cannot start the runtime: %s\n", ax_strerror(rc));
    return rc;
  }
  rc = ax_block_on(rt, fut);
  ax_runtime_free(rt);
  return rc;
}

/* ---- shutdown --------------------------------------------------------- */

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

/* Every worker has stopped: cancel what is left, close the loops, free. */
static void runtime_cleanup(ax_runtime_t *rt) {
  unsigned i;
  ax__task_t *t;

  /* The workers have stopped (the drops below run on this thread, and a
   * drop that blocks is not what the watchdog is for). */
  ax__watchdog_stop(rt);

  /* Under the injection lock: a wake from another thread either queued
   * its task before (drained below) or sees `stopped` (ax__schedule). */
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
  for (i = 0; i < AX__SHARDS; i++) {
    for (;;) {
      ax__spin_lock(&rt->owned[i].lock);
      t = rt->owned[i].head;
      if (t != NULL)
        atomic_fetch_add_explicit(&t->state, AX__REF_ONE,
                                  memory_order_relaxed);
      ax__spin_unlock(&rt->owned[i].lock);
      if (t == NULL) break;
      if (ax__task_state(t) & AX__COMPLETE) {
        ax__owned_remove(rt, t);  /* cannot happen; never loop forever */
      } else if (ax__task_shutdown(t)) {
        ax__task_drop_ref(t);
        ax__cpu_yield();          /* a blocking job finishing it */
        continue;
      }
      ax__task_drop_ref(t);
    }
  }
  /* Wakes during the drops above found the runtime stopped: queues stay
   * empty.  Close every handle; the memory goes with the last task (a
   * waker may still be alive on another thread). */
  runtime_close_loops(rt);
  ax__live_runtimes_add(-1);
  /* No worker runs any more: settle the references they kept count of
   * (below), then drop the owner's. */
  {
    size_t debt = 0;
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
  }
  ax__runtime_release(rt);
}

void ax__runtime_release(ax_runtime_t *rt) {
  if (atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) == 1)
    runtime_free_memory(rt);
}

/* Task references on the runtime's memory, from a worker of that runtime:
 * a task freed there only adds to the worker's debt, which the next spawn
 * there takes over (the new task inherits the reference) or which goes
 * back in one subtraction per REF_BATCH.  Every task freed on the spawner's
 * other worker otherwise took the reference count's cache line away from
 * the spawner.  The count cannot reach zero while debts are pending: the
 * owner's reference is only dropped after runtime_cleanup has settled
 * them. */
#define REF_BATCH 64

void ax__runtime_ref_task(ax_runtime_t *rt) {
  ax__worker_t *w = ax__worker_current();
  if (w != NULL && w->rt == rt && w->ref_debt > 0) {
    w->ref_debt--;
    return;
  }
  atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
}

void ax__runtime_unref_task(ax_runtime_t *rt) {
  ax__worker_t *w = ax__worker_current();
  if (w != NULL && w->rt == rt) {
    if (++w->ref_debt >= 2 * REF_BATCH) {
      /* Keep some for the spawns to come; give the rest back. */
      w->ref_debt -= REF_BATCH;
      atomic_fetch_sub_explicit(&rt->refs, REF_BATCH, memory_order_release);
    }
    return;
  }
  ax__runtime_release(rt);
}

void ax_runtime_free(ax_runtime_t *rt) {
  unsigned i;
  if (rt == NULL) return;
  stop_workers(rt);
  if (rt->flavor == AX_MULTI_THREAD)
    for (i = 0; i < rt->nworkers; i++) uv_thread_join(&rt->workers[i]->thread);
  runtime_cleanup(rt);
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

/* ---- observability ---------------------------------------------------- */

int ax_runtime_worker_stats(ax_runtime_t *rt, unsigned index,
                            ax_worker_stats_t *out) {
  ax__worker_t *w;
  if (index >= rt->nworkers) return AX_EINVAL;
  w = rt->workers[index];
  out->polls = atomic_load_explicit(&w->polls, memory_order_relaxed);
  out->steals = atomic_load_explicit(&w->steals, memory_order_relaxed);
  out->parks = atomic_load_explicit(&w->parks, memory_order_relaxed);
  out->io_polls = atomic_load_explicit(&w->io_polls, memory_order_relaxed);
  out->local_queue = ax__lq_len(&w->q);
  return 0;
}

void ax_runtime_dump_tasks(ax_runtime_t *rt, FILE *out) {
  unsigned i;
  for (i = 0; i < AX__SHARDS; i++) {
    ax__task_t *t;
    ax__spin_lock(&rt->owned[i].lock);
    for (t = rt->owned[i].head; t != NULL; t = t->owned_next) {
      size_t s = ax__task_state(t);
      const char *file = ax__task_wait_file(t);
      fprintf(out, "task %llu %s %s%s at %s:%d\n", (unsigned long long)t->id,
              t->name ? t->name : "-",
              (s & AX__RUNNING) ? "running" : (s & AX__NOTIFIED) ? "queued"
                                                                 : "idle",
              (s & AX__CANCELLED) ? " cancelling" : "",
              file ? file : "(not started)", ax__task_wait_line(t));
    }
    ax__spin_unlock(&rt->owned[i].lock);
  }
}
