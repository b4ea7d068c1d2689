/* Spawning tasks, and block_on. */
#include <stdio.h>
#include <string.h>

#include "runtime/pump.h"
#include "runtime/sched.h"
#include "runtime/spawn.h"
#include "runtime/worker.h"

/* A new task of rt, with its memory from the calling thread's cache if it
 * is one of rt's workers. */
static ax__task_t *task_new(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                            int kind, int join, int notified) {
  ax__ctx_t *c = ax__ctx_current();
  uint64_t id = atomic_fetch_add_explicit(&rt->next_id, 1,
                                          memory_order_relaxed);
  return ax__task_new(rt, c != NULL && c->rt == rt ? c->tcache : NULL,
                      &rt->tshared, id, fut, size, kind, join, notified);
}

/* idle: do not schedule the task; *idle gets it, with the notification
 * reference (ax__spawn_idle). */
static int spawn(const char *site, ax_runtime_t *rt, const char *name,
                 ax_future_t *fut, size_t size, int kind,
                 ax_join_t *join, ax__task_t **idle) {
  ax__task_t *t;
  char *copy = NULL;
  int rc;
  if (join != NULL) memset(join, 0, sizeof(*join));
  if (rt == NULL) return AX_ENORUNTIME;
  if (fut == NULL || size < sizeof(ax_future_t) || size > AX__TASK_MAX_FUTURE)
    return AX_EINVAL;
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return AX_ESHUTDOWN;
  /* The name first: a task without the name it was given is not what
   * the caller asked for, and nothing is undone when its copy fails. */
  if (name != NULL && (copy = ax__strdup(name)) == NULL) return AX_ENOMEM;
  /* A local task is queued by its set (local.c), notified already. */
  t = task_new(rt, fut, size, kind, join != NULL,
               idle == NULL || kind == AX__TASK_LOCAL);
  if (t == NULL) {
    ax__free(copy);
    return AX_ENOMEM;
  }
  t->name = copy;
  t->site = site;   /* ax__task_new leaves it to its callers */
  if ((rc = ax__owned_insert(&rt->owned, t, &rt->shutdown)) != 0) {
    ax__task_discard(t);
    return rc;
  }
  if (join != NULL) ax__join_attach(join, t);
  if (idle != NULL)
    *idle = t;
  else
    ax__sched_schedule(t, 0);
  return 0;
}

int ax__spawn_raw(const char *site, ax_runtime_t *rt, ax_future_t *fut,
                  size_t size, int kind, ax_join_t *join) {
  return spawn(site, rt, NULL, fut, size, kind, join, NULL);
}

int ax__spawn_kind_idle(const char *site, ax_runtime_t *rt, ax_future_t *fut,
                        size_t size, int kind, ax_join_t *join,
                        ax__task_t **t) {
  return spawn(site, rt, NULL, fut, size, kind, join, t);
}

int ax__spawn_idle(const char *site, ax_runtime_t *rt, ax_future_t *fut,
                   size_t size, int kind, ax_join_t *join,
                   ax__task_t **t) {
  return spawn(site, rt, NULL, fut, size, kind, join, t);
}

/* The spawn macros of task.h come here with their call's AX_HERE; the
 * functions of the same names (in parentheses: not the macros) record no
 * site. */
int ax__spawn_here(const char *site, ax_future_t *fut, size_t size,
                   ax_join_t *join) {
  return spawn(site, ax_runtime_current(), NULL, fut, size, AX__TASK_PLAIN,
               join, NULL);
}

int ax__spawn_on_at(const char *site, ax_runtime_t *rt, const char *name,
                    ax_future_t *fut, size_t size, ax_join_t *join) {
  return spawn(site, rt, name, fut, size, AX__TASK_PLAIN, join, NULL);
}

int ax__spawn_at(const char *site, int on, ax_runtime_t *rt,
                 const char *name, ax_future_t *fut, size_t size,
                 ax_join_t *join) {
  return spawn(site, on ? rt : ax_runtime_current(), name, fut, size,
               AX__TASK_PLAIN, join, NULL);
}

int (ax_spawn)(ax_future_t *fut, size_t size, ax_join_t *join) {
  return spawn(NULL, ax_runtime_current(), NULL, fut, size, AX__TASK_PLAIN,
               join, NULL);
}

int (ax_spawn_on)(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                  ax_join_t *join) {
  return spawn(NULL, rt, NULL, fut, size, AX__TASK_PLAIN, join, NULL);
}

int (ax_spawn_named)(ax_runtime_t *rt, const char *name, ax_future_t *fut,
                     size_t size, ax_join_t *join) {
  return spawn(NULL, rt, name, fut, size, AX__TASK_PLAIN, join, NULL);
}

/* ---- ax_spawn_fn: a task that calls one plain function ---------------- */

typedef struct fn_future_s {
  ax_future_t base;
  void *result;     /* output: ax_join_value() */
  ax_task_fn fn;    /* called once */
  void *arg;        /* its argument */
} fn_future_t;

static ax_poll_t fn_poll(ax_future_t *f, ax_cx_t *cx) {
  fn_future_t *ff = (fn_future_t *)f;
  (void)cx;
  ff->result = ff->fn(ff->arg);
  return AX_READY;
}

static const ax_future_vtable_t fn_vtable = {fn_poll, NULL, "ax_spawn_fn"};

int ax__spawn_fn_at(const char *site, ax_task_fn fn, void *arg,
                    ax_join_t *join) {
  ax_runtime_t *rt = ax_runtime_current();
  fn_future_t ff;
  if (rt != NULL && fn == NULL) {
    if (join != NULL) memset(join, 0, sizeof(*join));
    return AX_EINVAL;
  }
  ff.base.vtable = &fn_vtable;
  ff.result = NULL;
  ff.fn = fn;
  ff.arg = arg;
  AX__STATIC_ASSERT(offsetof(fn_future_t, result) == AX__TASK_VALUE_OFF,
                    "ax_join_value finds it");
  return ax__spawn_raw(site, rt, &ff.base, sizeof(ff), AX__TASK_VALUE, join);
}

int (ax_spawn_fn)(ax_task_fn fn, void *arg, ax_join_t *join) {
  return ax__spawn_fn_at(NULL, fn, arg, join);
}

/* ---- block_on ----------------------------------------------------------- */

/* block_on is over: a shutdown waiting to free rt may go on (shutdown.c). */
static int block_on_leave(ax_runtime_t *rt, int rc) {
  uv_mutex_lock(&rt->life_lock);
  atomic_store(&rt->in_block_on, 0);
  uv_cond_broadcast(&rt->life_cond);
  uv_mutex_unlock(&rt->life_lock);
  return rc;
}

int ax_block_on(ax_runtime_t *rt, ax_future_t *fut) {
  ax__task_t *t;
  ax_join_t h;
  int rc;

  if (rt == NULL || fut == NULL) return AX_EINVAL;
  if (ax__ctx_current() != NULL) return AX_ENESTED;
  /* A pumped runtime's thread belongs to the application's loop. */
  if (rt->workers[0]->pump != NULL) return AX_EINVAL;
  {
    int expect = 0;
    if (!atomic_compare_exchange_strong(&rt->in_block_on, &expect, 1))
      return AX_EBUSY;
  }
  /* in_block_on first, then the flag; a shutdown stores the flag, then
   * waits for in_block_on to clear (both seq_cst): one sees the other. */
  if (atomic_load(&rt->shutdown)) return block_on_leave(rt, AX_ESHUTDOWN);
  t = task_new(rt, fut, 0, AX__TASK_MAIN, 1, 1);
  if (t == NULL) return block_on_leave(rt, AX_ENOMEM);
  t->site = NULL;
  if ((rc = ax__owned_insert(&rt->owned, t, &rt->shutdown)) != 0) {
    ax__task_discard(t);
    return block_on_leave(rt, rc);
  }
  ax__join_attach(&h, t);
  /* A loop that ends with t not complete ended on a shutdown: fut is then
   * cancelled here, on its own thread, as the runtime's tasks are. */
  if (rt->driver != NULL) {
    rt->driver->main_task = t;
    atomic_store(&rt->driver->main_notified, 1);
    atomic_store_explicit(&rt->driver_busy, 1, memory_order_relaxed);
    ax__worker_run(rt->driver, t);
    if (!(ax__task_state(t) & AX__COMPLETE)) {
      /* The driver's flag carries a notification nobody else drops, and a
       * wake may be between the task's state and the flag: cancel as an
       * abort does and let the driver run the cancellation off its flag
       * (it comes: whoever set NOTIFIED sets the flag right after). */
      (void)ax_abort(&h);
      while (!(ax__task_state(t) & AX__COMPLETE))
        ax__worker_run(rt->driver, t);
    }
    atomic_store_explicit(&rt->driver_busy, 0, memory_order_relaxed);
    rt->driver->main_task = NULL;
  } else {
    ax__worker_t *w = rt->workers[0];
    int user_loop = ax__worker_on_user_loop(w);
    /* On the application's loop the worker is "parked" between its turns
     * (pump.h): running now, and parked again after, with a turn asked
     * for if tasks are left. */
    if (user_loop) atomic_store(&w->parked, 0);
    ax__inject_push(&rt->inject, &t, 1);
    ax__worker_run(w, t);
    /* A notification of t left in a queue is the cleanup's to drop. */
    if (!(ax__task_state(t) & AX__COMPLETE)) (void)ax__task_shutdown(t);
    if (user_loop) ax__pump_idle(w);
  }
  rc = t->result;
  if (rc == AX_ECANCELED) rc = AX_ESHUTDOWN;
  if (rc == AX_EPANIC)
    fprintf(stderr, "axle: block_on future panicked: %s\n",
            t->panic_msg ? t->panic_msg : "(no message)");
  h.consumed = 1;  /* reported above */
  ax_join_drop(&h);
  return block_on_leave(rt, rc);
}

int ax_main(ax_future_t *fut) {
  ax_builder_t b;
  ax_builder_init(&b, AX_MULTI_THREAD);
  return ax_main_with(&b, fut);
}

int ax_main_with(const ax_builder_t *b, ax_future_t *fut) {
  ax_runtime_t *rt;
  int rc;
  if (fut == NULL || b == NULL) return AX_EINVAL;
  if ((rc = ax_runtime_new(b, &rt)) != 0) {
    fprintf(stderr, "axle: cannot start the runtime: %s\n", ax_strerror(rc));
    return rc;
  }
  rc = ax_block_on(rt, fut);
  (void)ax_runtime_free(rt);
  return rc;
}
