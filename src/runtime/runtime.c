/* Runtimes: the builder, creation, and the runtime's memory. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "runtime/blocking.h"
#include "runtime/platform.h"
#include "runtime/watch.h"
#include "time/keeper.h"

void ax_builder_init(ax_builder_t *b, ax_flavor_t flavor) {
  assert(b != NULL);
  memset(b, 0, sizeof(*b));
  b->flavor = flavor;
  b->thread_name = "axle-worker";
  b->event_interval = 61;
  b->global_queue_interval = 31;
  b->idle_spin_us = 128;
  b->watchdog_ms = ax__watchdog_env();
}

static void worker_thread(void *arg) {
  ax__worker_t *w = arg;
  ax_runtime_t *rt = w->ctx.rt;
  char name[32];
  snprintf(name, sizeof(name), "%.12s-%u", rt->thread_name, w->index);
  ax__thread_set_name(name);
  if (rt->on_thread_start != NULL) rt->on_thread_start(rt->hook_arg);
  ax__worker_run(w, NULL);
  if (rt->on_thread_stop != NULL) rt->on_thread_stop(rt->hook_arg);
  uv_mutex_lock(&rt->life_lock);
  rt->running_threads--;
  w->exited = 1;
  uv_cond_broadcast(&rt->life_cond);
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

void ax__runtime_close_loops(ax_runtime_t *rt, int defer) {
  unsigned i;
  for (i = 0; i < rt->nworkers; i++)
    if (rt->workers[i] != NULL) ax__worker_close(rt->workers[i], defer);
  if (rt->driver != NULL) ax__worker_close(rt->driver, defer);
}

static void runtime_free_memory(ax_runtime_t *rt) {
  unsigned i;
  /* The last task is gone: nothing gives blocks back any more. */
  for (i = 0; i < rt->nworkers; i++) {
    if (rt->workers[i] == NULL) continue;
    ax__tcache_drain(&rt->workers[i]->tcache);
    ax__free(rt->workers[i]);
  }
  if (rt->driver != NULL) ax__tcache_drain(&rt->driver->tcache);
  ax__tcache_drain(&rt->tshared.cache);
  ax__free(rt->driver);
  ax__inject_free(&rt->inject);
  uv_mutex_destroy(&rt->life_lock);
  uv_cond_destroy(&rt->life_cond);
  ax__free(rt->workers);
  ax__free(rt->homes);
  ax__free(rt->thread_name);
  ax__free(rt);
}

void ax__runtime_release(ax_runtime_t *rt) {
  if (atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) == 1)
    runtime_free_memory(rt);
}

/* Starts the worker threads of a multi-thread runtime; on failure the
 * ones started are stopped and joined again. */
static int start_threads(ax_runtime_t *rt) {
  uv_thread_options_t opts;
  unsigned i, j;
  int rc;
  opts.flags = rt->stack_size ? UV_THREAD_HAS_STACK_SIZE : UV_THREAD_NO_FLAGS;
  opts.stack_size = rt->stack_size;
  for (i = 0; i < rt->nworkers; i++) {
    rt->running_threads++;
    rc = uv_thread_create_ex(&rt->workers[i]->thread, &opts, worker_thread,
                             rt->workers[i]);
    if (rc != 0) {
      rt->running_threads--;
      atomic_store(&rt->shutdown, 1);
      for (j = 0; j < i; j++) ax__wake_send(&rt->workers[j]->wake);
      for (j = 0; j < i; j++) uv_thread_join(&rt->workers[j]->thread);
      return rc;
    }
  }
  return 0;
}

/* The timer keeper (time/keeper.h) of a runtime whose tasks can run on
 * another worker than the one a sleep was registered on: every worker's
 * wheel and block_on's. */
static int keeper_start(ax_runtime_t *rt) {
  ax__wheel_t *wheels[1024 + 1];   /* ax_runtime_new: 1024 workers at most */
  unsigned i, n = 0;
  if (rt->flavor != AX_MULTI_THREAD || rt->nworkers < 2) return 0;
  for (i = 0; i < rt->nworkers; i++) wheels[n++] = rt->workers[i]->ctx.wheel;
  wheels[n++] = rt->driver->ctx.wheel;
  return ax__keeper_start(wheels, n, &rt->keeper);
}

int ax_runtime_new(const ax_builder_t *b, ax_runtime_t **out) {
  ax_runtime_t *rt;
  unsigned i, n;
  int rc;

  if (out == NULL) return AX_EINVAL;
  *out = NULL;
  if (b == NULL) return AX_EINVAL;
  if (b->flavor != AX_MULTI_THREAD && b->flavor != AX_CURRENT_THREAD)
    return AX_EINVAL;
  if (b->loop != NULL && b->flavor != AX_CURRENT_THREAD) return AX_EINVAL;
  if (b->max_blocking_threads > 1024) return AX_EINVAL;
  /* One thread runs every task: "all idle" is then one loop's to know
   * (Tokio's paused time needs a current-thread runtime too). */
  if (b->start_paused && b->flavor != AX_CURRENT_THREAD) return AX_EINVAL;
  if (b->max_blocking_threads != 0 &&
      (rc = ax__blocking_configure(b->max_blocking_threads)) != 0)
    return rc;
  n = b->flavor == AX_CURRENT_THREAD ? 1
      : b->worker_threads != 0       ? b->worker_threads
                                     : uv_available_parallelism();
  if (n == 0 || n > 1024) return AX_EINVAL;

  ax__platform_init();
  rt = ax__calloc(1, sizeof(*rt));
  if (rt == NULL) return AX_ENOMEM;
  rt->workers = ax__calloc(n, sizeof(*rt->workers));
  rt->homes = ax__calloc(n, sizeof(*rt->homes));
  rt->thread_name = ax__strdup(b->thread_name ? b->thread_name : "axle");
  if (rt->workers == NULL || rt->homes == NULL || rt->thread_name == NULL) {
    ax__free(rt->workers);
    ax__free(rt->homes);
    ax__free(rt->thread_name);
    ax__free(rt);
    return AX_ENOMEM;
  }
  rt->flavor = b->flavor;
  rt->event_interval = b->event_interval ? b->event_interval : 61;
  rt->global_queue_interval =
      b->global_queue_interval ? b->global_queue_interval : 31;
  /* 0 is "no spin", not "the default" (ax_builder_init sets that). */
  rt->spin_max_ns = (uint64_t)b->idle_spin_us * 1000u;
  rt->spin_min_ns = rt->spin_max_ns < 16000u ? rt->spin_max_ns : 16000u;
  rt->cpus = uv_available_parallelism();
  rt->stack_size = b->thread_stack_size;
  if (rt->stack_size != 0 && rt->stack_size < AX__MIN_STACK)
    rt->stack_size = AX__MIN_STACK;
  rt->on_thread_start = b->on_thread_start;
  rt->on_thread_stop = b->on_thread_stop;
  rt->hook_arg = b->hook_arg;
  rt->panic_hook = b->panic_hook;
  rt->panic_hook_arg = b->panic_hook_arg;
  rt->user_loop = b->loop;
  rt->home_thread = uv_thread_self();
  rt->watchdog_ns = (uint64_t)b->watchdog_ms * 1000000u;
  rt->watchdog_hook = b->watchdog_hook;
  rt->watchdog_hook_arg = b->watchdog_hook_arg;
  atomic_init(&rt->next_id, 1);
  atomic_init(&rt->refs, 1);
  ax__inject_init(&rt->inject);
  ax__spin_init(&rt->tshared.lock);
  ax__tcache_init(&rt->tshared.cache);
  ax__owned_init(&rt->owned);
  uv_mutex_init(&rt->life_lock);
  uv_cond_init(&rt->life_cond);

  for (i = 0; i < n; i++) {
    rt->workers[i] = worker_new(rt, i, i == 0 ? b->loop : NULL, &rc);
    if (rt->workers[i] == NULL) goto err;
    rt->homes[i] = &rt->workers[i]->ctx;
    rt->nworkers = i + 1;
  }
  for (i = 0; i < n; i++) {
    rt->workers[i]->ctx.homes = rt->homes;
    rt->workers[i]->ctx.nhomes = n;
  }
  /* On the application's loop the worker is parked whenever it is not
   * running tasks: a spawn or a wake from anywhere asks for a turn through
   * its wake-up handle, whose callback runs the tasks (pump.h). */
  if (b->loop != NULL) atomic_store(&rt->workers[0]->parked, 1);
  if (rt->flavor == AX_MULTI_THREAD) {
    rt->driver = worker_new(rt, ~0u, NULL, &rc);
    if (rt->driver == NULL) goto err;
    rt->driver->is_driver = 1;
    /* block_on's loop runs only while block_on does: I/O made there lives
     * on a worker's loop instead. */
    rt->driver->ctx.home = &rt->workers[0]->ctx;
    rt->driver->ctx.homes = rt->homes;
    rt->driver->ctx.nhomes = n;
  }
  if (b->start_paused) ax__wheel_pause(rt->workers[0]->ctx.wheel);
  if ((rc = keeper_start(rt)) != 0) goto err;
  if ((rc = ax__watchdog_start(rt)) != 0) {
    ax__keeper_stop(rt->keeper);
    goto err;
  }
  if (rt->flavor == AX_MULTI_THREAD && (rc = start_threads(rt)) != 0) {
    ax__watchdog_stop(rt);
    ax__keeper_stop(rt->keeper);
    goto err;
  }
  ax__live_runtimes_add(1);
  *out = rt;
  return 0;
err:
  ax__runtime_close_loops(rt, 0);
  runtime_free_memory(rt);
  return rc;
}

unsigned ax_runtime_workers(const ax_runtime_t *rt) {
  assert(rt != NULL);
  return rt->nworkers;
}

ax_runtime_t *ax_runtime_current(void) {
  ax__ctx_t *c = ax__ctx_current();
  /* A pool thread running a blocking job belongs to the job's runtime. */
  return c != NULL ? c->rt : ax__blocking_runtime();
}
