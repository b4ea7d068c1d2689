/* spawn_blocking on libuv's threadpool.
 *
 * The job is a small task whose future, on first poll, queues a uv_work_t on
 * the polling worker's loop.  The work callback runs the function on a pool
 * thread (with its own panic landing); the after-work callback runs on that
 * same loop and wakes the task, which then completes with the result.  The
 * request holds a task reference, so the memory outlives an abort.
 */
#include <stdio.h>
#include <stdlib.h>

#include "axle/blocking.h"
#include "core/alloc.h"
#include "runtime/runtime.h"

_Noreturn void ax__panic_owned(char *msg);

/* ---- pool size: libuv reads UV_THREADPOOL_SIZE once per process ------- */

static uv_once_t pool_once = UV_ONCE_INIT;
static uv_mutex_t pool_lock;
static unsigned pool_size;     /* 0 until fixed */
static int pool_started;       /* a job was queued: the size is final */

static void pool_init(void) { uv_mutex_init(&pool_lock); }

static unsigned env_pool_size(void) {
  char buf[16];
  size_t len = sizeof(buf);
  if (uv_os_getenv("UV_THREADPOOL_SIZE", buf, &len) != 0) return 4;
  return (unsigned)strtoul(buf, NULL, 10);
}

int ax__blocking_configure(unsigned max_threads) {
  int rc = 0;
  uv_once(&pool_once, pool_init);
  uv_mutex_lock(&pool_lock);
  if (pool_size == 0 && !pool_started) {
    char buf[16];
    snprintf(buf, sizeof(buf), "%u", max_threads);
    rc = uv_os_setenv("UV_THREADPOOL_SIZE", buf);
    if (rc == 0) pool_size = max_threads;
  } else if ((pool_size ? pool_size : env_pool_size()) != max_threads) {
    rc = AX_EPOOLSIZE;
  }
  uv_mutex_unlock(&pool_lock);
  return rc;
}

static void pool_mark_started(void) {
  uv_once(&pool_once, pool_init);
  uv_mutex_lock(&pool_lock);
  if (!pool_started) {
    pool_started = 1;
    if (pool_size == 0) pool_size = env_pool_size();
  }
  uv_mutex_unlock(&pool_lock);
}

/* ---- the job future --------------------------------------------------- */

/* QUEUED -> RUNNING (a pool thread took it) -> DONE; QUEUED -> ABANDONED
 * (dropped first: the pool thread skips fn) -> CANCELLED. */
enum { JOB_NEW, JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_ABANDONED,
       JOB_CANCELLED };

typedef struct job_s {
  ax_future_t base;
  void *result;          /* output: ax_join_value() */
  ax_task_fn fn;
  void *arg;
  ax__task_t *task;      /* the task this future lives in */
  ax__worker_t *home;    /* whose loop the request was queued on */
  ax__op_t cancel_op;    /* uv_cancel, run on the home loop */
  char *panic_msg;       /* fn panicked */
  _Atomic int state;
  uv_work_t req;
} job_t;

static void job_work(uv_work_t *req) {
  job_t *j = req->data;
  ax__jump_t jump, *volatile prev = ax__jump_current();
  int expect = JOB_QUEUED;
  /* Aborted before it started: never run it, whether or not the uv_cancel
   * handed to the home loop got there first. */
  if (!atomic_compare_exchange_strong(&j->state, &expect, JOB_RUNNING))
    return;
  jump.msg = NULL;
  jump.armed = 1;
  ax__jump_set(&jump);
  if (setjmp(jump.jb) == 0)
    j->result = j->fn(j->arg);
  else
    j->panic_msg = jump.msg;
  ax__jump_set(prev);
}

static void job_after(uv_work_t *req, int status) {
  job_t *j = req->data;
  ax__task_t *t = j->task;
  int ran = atomic_load_explicit(&j->state, memory_order_relaxed) ==
            JOB_RUNNING;
  atomic_store_explicit(&j->state, status == 0 && ran ? JOB_DONE
                                                      : JOB_CANCELLED,
                        memory_order_release);
  ax__task_wake_by_ref(t);
  ax__task_drop_ref(t);  /* the request's reference */
}

static ax_poll_t job_poll(ax_future_t *f, ax_cx_t *cx) {
  job_t *j = (job_t *)f;
  int s = atomic_load_explicit(&j->state, memory_order_acquire);
  ax__worker_t *w;
  int rc;

  if (s == JOB_NEW) {
    w = ax__worker_current();
    j->task = cx->ax__task;
    j->home = w;
    j->req.data = j;
    atomic_store_explicit(&j->state, JOB_QUEUED, memory_order_relaxed);
    atomic_fetch_add_explicit(&j->task->state, AX__REF_ONE,
                              memory_order_relaxed);
    pool_mark_started();
    rc = uv_queue_work(w->loop, &j->req, job_work, job_after);
    if (rc != 0) {
      ax__task_drop_ref(j->task);
      ax_panic("spawn_blocking: uv_queue_work failed: %s", ax_strerror(rc));
    }
    return AX_PENDING;
  }
  if (s != JOB_DONE) return AX_PENDING;  /* job_after wakes the task */
  if (j->panic_msg != NULL) {
    char *msg = j->panic_msg;
    j->panic_msg = NULL;
    ax__panic_owned(msg);  /* the task reports fn's panic as its own */
  }
  return AX_READY;
}

/* On the home loop: take the job off the pool's queue if it has not
 * started (libuv then calls job_after with UV_ECANCELED). */
static void job_cancel_op(ax__op_t *op) {
  job_t *j = ax__container_of(op, job_t, cancel_op);
  if (atomic_load(&j->state) == JOB_ABANDONED)
    uv_cancel((uv_req_t *)&j->req);  /* fails harmlessly once started */
  ax__task_drop_ref(j->task);  /* taken by job_drop for this op */
}

static void job_drop(ax_future_t *f) {
  job_t *j = (job_t *)f;
  int expect = JOB_QUEUED;
  if (atomic_compare_exchange_strong(&j->state, &expect, JOB_ABANDONED)) {
    /* Free the pool slot too: uv_cancel must run on the loop that queued
     * the request, so hand it over when dropped on another worker. */
    atomic_fetch_add_explicit(&j->task->state, AX__REF_ONE,
                              memory_order_relaxed);
    j->cancel_op.fn = job_cancel_op;
    ax__worker_post(j->home, &j->cancel_op);
  }
  ax__free(j->panic_msg);
  j->panic_msg = NULL;
}

static const ax_future_vtable_t job_vtable = {job_poll, job_drop,
                                              "ax_spawn_blocking"};

int ax_spawn_blocking_on(ax_runtime_t *rt, ax_task_fn fn, void *arg,
                         ax_join_t *join) {
  job_t j;
  j.base.vtable = &job_vtable;
  j.result = NULL;
  j.fn = fn;
  j.arg = arg;
  j.task = NULL;
  j.home = NULL;
  j.panic_msg = NULL;
  atomic_init(&j.state, JOB_NEW);
  return ax__spawn_raw(rt, &j.base, sizeof(j), offsetof(job_t, result),
                       join);
}

int ax_spawn_blocking(ax_task_fn fn, void *arg, ax_join_t *join) {
  return ax_spawn_blocking_on(ax_runtime_current(), fn, arg, join);
}
