/* spawn_blocking on libuv's threadpool.
 *
 * One uv_queue_work per job costs, per job, a worker poll, libuv's pool
 * mutex and condition variable, an async wake-up of the loop and a second
 * poll: 2.5x Tokio's spawn_blocking on a 4-thread pool (BENCHMARKS.md).
 * So axle keeps its own queue of jobs (process-wide, under a spin lock)
 * and libuv's pool runs "drainers": uv_work_t requests that take jobs off
 * that queue, one at a time, until it is empty.  At most as many drainers
 * as the pool has threads; more are queued with uv_queue_work when a job
 * arrives and the drainers not busy with a job are fewer than the jobs
 * queued (so a long job never holds up the next one while the pool has
 * room).  A drainer finishes each job's task itself, on the pool thread
 * (ax__task_claim/ax__task_finish): the task is never polled, and its
 * joiner is woken directly.
 *
 *   - The jobs still run on libuv's threadpool, so UV_THREADPOOL_SIZE
 *     and max_blocking_threads mean what they did, and file-system
 *     requests share the same threads.  A difference: libuv's queue was
 *     first in first out across jobs and fs requests; a drainer keeps its
 *     pool thread while jobs keep coming, so a steady stream of blocking
 *     jobs delays fs requests queued behind the drainers (as a pool full
 *     of long jobs always did).
 *   - Cancellation before start: ax_abort unlinks the job from axle's
 *     queue (what uv_cancel did for libuv's queue); it never runs.  So
 *     does a runtime's shutdown, from the moment it begins: a drainer
 *     skips a job whose runtime is shutting down, even while the free
 *     still waits for a worker's poll.
 *   - uv_queue_work must be called on a loop's thread: a drainer is queued
 *     on the calling worker's (or block_on driver's) loop, or posted to
 *     worker 0's mailbox from any other thread (and counted only when the
 *     post runs there).  Its after-work callback only frees it; a loop
 *     that closes waits for its drainers to finish (which may include
 *     other runtimes' jobs: docs/internals.md, Known gaps).
 */
#include <stdio.h>
#include <stdlib.h>

#include "axle/blocking.h"
#include "core/list.h"
#include "core/tls.h"
#include "runtime/blocking.h"
#include "runtime/spawn.h"
#include "runtime/worker.h"

/* ---- pool size: libuv reads UV_THREADPOOL_SIZE once per process ------- */

static uv_once_t pool_once = UV_ONCE_INIT;
static uv_mutex_t pool_lock;
static unsigned pool_size;     /* 0 until fixed */
static int pool_started;       /* a job was queued: the size is final */

static void pool_init(void) { uv_mutex_init(&pool_lock); }

/* The size libuv will use (its own clamping: 0 means 1, at most 1024). */
static unsigned env_pool_size(void) {
  char buf[16];
  size_t len = sizeof(buf);
  unsigned long n;
  if (uv_os_getenv("UV_THREADPOOL_SIZE", buf, &len) != 0) return 4;
  n = strtoul(buf, NULL, 10);
  return n == 0 ? 1u : n > 1024 ? 1024u : (unsigned)n;
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

/* The pool's size, fixed from now on (the first job is about to queue). */
static unsigned pool_threads(void) {
  unsigned n;
  uv_once(&pool_once, pool_init);
  uv_mutex_lock(&pool_lock);
  if (!pool_started) {
    pool_started = 1;
    if (pool_size == 0) pool_size = env_pool_size();
  }
  n = pool_size;
  uv_mutex_unlock(&pool_lock);
  return n;
}

/* ---- jobs and the queue ----------------------------------------------- */

/* NEW (spawned, not linked yet) -> QUEUED -> RUNNING (a drainer took it)
 * -> DONE; NEW or QUEUED -> ABANDONED (dropped first: never runs).  Every
 * transition out of NEW and QUEUED happens under Q.lock. */
enum { JOB_NEW, JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

typedef struct job_s {
  ax_future_t base;
  void *result;               /* output: ax_join_value() moves it out */
  ax_task_fn fn;              /* the job */
  void *arg;                  /* its argument, fn's once it runs */
  ax_blocking_drop_fn drop_arg;     /* for an arg fn never got, or NULL */
  ax_blocking_drop_fn drop_result;  /* for a result nobody took, or NULL */
  ax__task_t *task;           /* the task this future lives in */
  ax__link_t link;            /* in Q.jobs while QUEUED (its lock) */
  _Atomic int state;          /* JOB_* */
} job_t;

static struct {
  ax__spin_t lock;            /* guards everything below but the hint */
  ax__link_t jobs;            /* queued jobs, oldest first */
  size_t queued;              /* jobs in the list */
  _Atomic size_t queued_hint; /* the same, readable without the lock */
  unsigned drainers;          /* drainers queued on a loop or running */
  unsigned busy;              /* of which running a job right now */
  unsigned max_drainers;      /* the pool's size, once known */
} Q;

static uv_once_t q_once = UV_ONCE_INIT;
static void q_init(void) { ax__list_init(&Q.jobs); }

/* Lock held. */
static void q_unlink(job_t *j) {
  ax__list_remove(&j->link);
  Q.queued--;
  atomic_store_explicit(&Q.queued_hint, Q.queued, memory_order_relaxed);
}

/* Lock held: how many more drainers the queue wants.  A drainer busy with
 * a job cannot take the next one, so only idle drainers count against the
 * queued jobs (a long job never holds up the next while the pool has
 * room), and never more drainers than the pool has threads. */
static unsigned q_wanted(void) {
  unsigned idle = Q.drainers - Q.busy, room = Q.max_drainers - Q.drainers;
  size_t short_by;
  if (Q.drainers >= Q.max_drainers || Q.queued <= idle) return 0;
  short_by = Q.queued - idle;
  return short_by < room ? (unsigned)short_by : room;
}

/* ---- drainers ----------------------------------------------------------- */

typedef struct drainer_s {
  uv_work_t req;
  ax__op_t op;                /* posted from a thread without a loop */
  ax_runtime_t *rt;           /* the runtime whose loop it is queued on
                                 (or, posted, to whose worker 0 it goes) */
} drainer_t;

/* A drainer queued on a loop of rt's has returned from its pool thread:
 * rt's loops can close without waiting for a job (shutdown.c waits for
 * rt->drainers_out to reach 0, within a shutdown_timeout's deadline).
 * Under life_lock, so that the shutdown cannot free rt between the
 * decrement and the broadcast. */
static void drainer_done(ax_runtime_t *rt) {
  uv_mutex_lock(&rt->life_lock);
  rt->drainers_out--;
  if (rt->drainers_out == 0) uv_cond_broadcast(&rt->life_cond);
  uv_mutex_unlock(&rt->life_lock);
}

/* The runtime of the job this pool thread runs, or NULL (a job must not
 * free its own runtime: ax__blocking_runtime). */
static AX__TLS ax_runtime_t *tls_job_rt;

ax_runtime_t *ax__blocking_runtime(void) { return tls_job_rt; }

/* Runs one job on this pool thread, then finishes its task. */
static void run_job(job_t *j) {
  ax__jump_t jump, *volatile prev = ax__jump_current();
  ax__tl_frame_t *volatile prev_locals = ax__tls_locals;
  ax__task_t *t = j->task;
  char *volatile msg = NULL;
  jump.msg = NULL;
  jump.armed = 1;
  ax__jump_set(&jump);
  /* The job is its task's code: ax_task_id() is its id, and
   * ax_runtime_current() its runtime, so that it can spawn there (Tokio:
   * rt_common.rs, spawn_from_blocking; task_id.rs,
   * task_id_spawn_blocking). */
  tls_job_rt = t->rt;
  ax__tls_task_id = t->id;
  if (setjmp(jump.jb) == 0) {
    j->result = j->fn(j->arg);
  } else {
    msg = jump.msg;
    ax__tls_locals = prev_locals;  /* sync scopes the panic skipped */
  }
  ax__tls_task_id = 0;
  tls_job_rt = NULL;
  ax__jump_set(prev);
  atomic_store_explicit(&j->state, JOB_DONE, memory_order_release);
  if (ax__task_claim(t)) {
    if (msg != NULL) {
      t->panic_msg = msg;
      ax__task_finish(t, AX_EPANIC);
    } else {
      ax__task_finish(t, 0);
    }
  } else {
    /* Aborted meanwhile: the canceller completed it and dropped the job
     * (which left the result alone: fn had not returned).  Nobody will
     * take the result: release it, the panic message, and the queue's
     * reference. */
    if (j->result != NULL && j->drop_result != NULL) j->drop_result(j->result);
    ax__free(msg);
    ax__task_drop_ref(t);
  }
}

/* How long an idle drainer waits for the next job before it gives its
 * pool thread back (a few microseconds of pause instructions): a job
 * stream slightly slower than the drainers would otherwise stop and start
 * a drainer (libuv's mutex, a condition variable, a context switch) for
 * every few jobs. */
#define DRAIN_LINGER 256

/* One job per turn of the lock: a job that waits for another (a blocking
 * channel) must never find it queued behind itself on the same thread. */
static void drain_work(uv_work_t *req) {
  ax_runtime_t *home = ax__container_of(req, drainer_t, req)->rt;
  int had = 0, linger = 1;
  for (;;) {
    ax__link_t *l;
    job_t *j;
    ax__spin_lock(&Q.lock);
    if (had) {
      Q.busy--;
      had = 0;
    }
    l = ax__list_first(&Q.jobs);
    if (l == NULL) {
      unsigned spin;
      if (linger) {
        linger = 0;
        ax__spin_unlock(&Q.lock);
        for (spin = 0; spin < DRAIN_LINGER; spin++) {
          if (atomic_load_explicit(&Q.queued_hint, memory_order_relaxed))
            break;
          ax__cpu_relax();
        }
        continue;
      }
      Q.drainers--;  /* under the lock: a push after this sees it */
      ax__spin_unlock(&Q.lock);
      drainer_done(home);
      return;
    }
    j = ax__container_of(l, job_t, link);
    q_unlink(j);
    if (atomic_load_explicit(&j->task->rt->shutdown, memory_order_acquire)) {
      /* Its runtime is shutting down: a job that has not started is
       * cancelled, not run (the shutdown completes its task with
       * AX_ECANCELED; the queue's reference goes here). */
      atomic_store_explicit(&j->state, JOB_ABANDONED, memory_order_relaxed);
      ax__spin_unlock(&Q.lock);
      ax__task_drop_ref(j->task);
      continue;
    }
    atomic_store_explicit(&j->state, JOB_RUNNING, memory_order_relaxed);
    Q.busy++;
    had = 1;
    linger = 1;
    ax__spin_unlock(&Q.lock);
    run_job(j);
  }
}

static void drain_after(uv_work_t *req, int status) {
  (void)status;  /* drainers are never cancelled */
  ax__free(ax__container_of(req, drainer_t, req));
}

/* On a loop's thread: queues n drainers already counted in Q.drainers
 * (d, if not NULL, is the first) and returns how many it queued.  Out of
 * memory, the ones it could not start are uncounted again; what that
 * means for a job is the caller's to decide (ax_spawn_blocking_on takes
 * its job back).  uv_queue_work fails only for a NULL work callback. */
static unsigned drainers_queue(ax_runtime_t *rt, uv_loop_t *loop,
                               drainer_t *d, unsigned n) {
  unsigned queued;
  for (queued = 0; queued < n; queued++) {
    if (d == NULL && (d = ax__malloc(sizeof(*d))) == NULL) break;
    d->rt = rt;
    uv_mutex_lock(&rt->life_lock);
    rt->drainers_out++;
    uv_mutex_unlock(&rt->life_lock);
    if (uv_queue_work(loop, &d->req, drain_work, drain_after) != 0) {
      drainer_done(rt);
      break;
    }
    d = NULL;
  }
  ax__free(d);
  if (queued < n) {
    ax__spin_lock(&Q.lock);
    Q.drainers -= n - queued;
    ax__spin_unlock(&Q.lock);
  }
  return queued;
}

/* On worker 0's loop, posted from a thread that has none: start what the
 * queue wants now (counted here, not when posted: a post may wait for
 * the loop to run, and must not pass for capacity meanwhile).  The first
 * drainer came with the post; out of memory for more, that one drains
 * the queue alone (it runs until the queue is empty). */
static void drainer_post_op(ax__op_t *op) {
  drainer_t *d = ax__container_of(op, drainer_t, op);
  ax_runtime_t *rt = d->rt;
  unsigned n;
  atomic_store(&rt->blocking_post, 0);
  ax__spin_lock(&Q.lock);
  n = q_wanted();
  Q.drainers += n;
  ax__spin_unlock(&Q.lock);
  (void)drainers_queue(rt, rt->workers[0]->ctx.loop, n > 0 ? d : NULL, n);
  if (n == 0) ax__free(d);
}

/* From a thread outside any loop: one post per runtime at a time (a post
 * pending will count every job queued before it runs), and none once the
 * runtime has stopped (its cleanup cancels its jobs; the `notifying`
 * count keeps the loops open until the post is made).  0, or AX_ENOMEM
 * when the post's drainer cannot be allocated. */
static int drainer_post(ax_runtime_t *rt) {
  drainer_t *d;
  if (atomic_exchange(&rt->blocking_post, 1)) return 0;
  ax__spin_lock(&rt->inject.lock);
  if (atomic_load_explicit(&rt->stopped, memory_order_relaxed)) {
    ax__spin_unlock(&rt->inject.lock);
    atomic_store(&rt->blocking_post, 0);
    return 0;
  }
  atomic_fetch_add_explicit(&rt->notifying, 1, memory_order_relaxed);
  ax__spin_unlock(&rt->inject.lock);
  if ((d = ax__malloc(sizeof(*d))) == NULL) {
    atomic_store(&rt->blocking_post, 0);
  } else {
    d->rt = rt;
    d->op.fn = drainer_post_op;
    ax__worker_post(rt->workers[0], &d->op);
  }
  atomic_fetch_sub_explicit(&rt->notifying, 1, memory_order_release);
  return d != NULL ? 0 : AX_ENOMEM;
}

/* Takes back a job that will have no drainer: 1 when it was still queued
 * (unlinked now; its task's notification reference is the caller's
 * again), 0 when a drainer or a shutdown got to it first (it stands). */
static int job_withdraw(job_t *j) {
  int unlinked = 0;
  ax__spin_lock(&Q.lock);
  if (atomic_load_explicit(&j->state, memory_order_relaxed) == JOB_QUEUED) {
    q_unlink(j);
    atomic_store_explicit(&j->state, JOB_ABANDONED, memory_order_relaxed);
    unlinked = 1;
  }
  ax__spin_unlock(&Q.lock);
  return unlinked;
}

/* ---- the job future ---------------------------------------------------- */

static ax_poll_t job_poll(ax_future_t *f, ax_cx_t *cx) {
  job_t *j = (job_t *)f;
  (void)cx;
  /* A job's task is finished by its drainer and never polled, except when
   * something else had it queued at that instant: then it is done. */
  if (atomic_load_explicit(&j->state, memory_order_acquire) != JOB_DONE)
    return AX_PENDING;
  return AX_READY;
}

/* Dropped when the job is cancelled (before it started, or while it runs)
 * or, after it finished, when its task is freed (a value task, task.h). */
static void job_drop(ax_future_t *f) {
  job_t *j = (job_t *)f;
  int unlinked = 0, s = atomic_load_explicit(&j->state, memory_order_acquire);
  if (s == JOB_DONE) {
    /* Finished: a result nobody took with ax_join_value is ours. */
    if (j->result != NULL && j->drop_result != NULL) j->drop_result(j->result);
    j->result = NULL;
    return;
  }
  if (s != JOB_NEW && s != JOB_QUEUED) return;  /* running: run_job's */
  ax__spin_lock(&Q.lock);
  s = atomic_load_explicit(&j->state, memory_order_relaxed);
  if (s == JOB_QUEUED) {
    q_unlink(j);
    unlinked = 1;
  }
  if (s == JOB_QUEUED || s == JOB_NEW)  /* NEW: its spawner sees this */
    atomic_store_explicit(&j->state, JOB_ABANDONED, memory_order_relaxed);
  ax__spin_unlock(&Q.lock);
  /* fn will never run: its argument is nobody's but ours. */
  if ((s == JOB_QUEUED || s == JOB_NEW) && j->drop_arg != NULL)
    j->drop_arg(j->arg);
  /* The queue's reference; never the last (the caller holds one). */
  if (unlinked) ax__task_drop_ref(j->task);
}

static const ax_future_vtable_t job_vtable = {job_poll, job_drop,
                                              "ax_spawn_blocking"};

int ax__spawn_blocking_at(const char *site, int on, ax_runtime_t *rt,
                          ax_task_fn fn, void *arg,
                          ax_blocking_drop_fn drop_arg,
                          ax_blocking_drop_fn drop_result, ax_join_t *join) {
  job_t j, *jp;
  ax__task_t *t;
  ax__ctx_t *ctx;
  unsigned max, n = 0;
  int rc;
  if (join != NULL) memset(join, 0, sizeof(*join));
  if (rt == NULL && !on) rt = ax_runtime_current();
  if (rt == NULL) return AX_ENORUNTIME;
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return AX_ESHUTDOWN;
  if (fn == NULL) return AX_EINVAL;  /* it would crash a pool thread */
  j.base.vtable = &job_vtable;
  j.result = NULL;
  j.fn = fn;
  j.arg = arg;
  j.drop_arg = drop_arg;
  j.drop_result = drop_result;
  j.task = NULL;
  j.link.next = j.link.prev = NULL;
  atomic_init(&j.state, JOB_NEW);
  if (rt == NULL) rt = ax_runtime_current();
  if (fn == NULL) return AX_EINVAL;  /* it would crash on a pool thread */
  AX__STATIC_ASSERT(offsetof(job_t, result) == AX__TASK_VALUE_OFF,
                    "ax_join_value finds it");
  rc = ax__spawn_idle(site, rt, &j.base, sizeof(j), AX__TASK_VALUE, join, &t);
  if (rc != 0) return rc;
  max = pool_threads();
  uv_once(&q_once, q_init);
  jp = (job_t *)(void *)ax__task_fut(t);
  jp->task = t;
  ctx = ax__ctx_current();
  ax__spin_lock(&Q.lock);
  if (Q.max_drainers == 0) Q.max_drainers = max;
  if (atomic_load_explicit(&jp->state, memory_order_relaxed) != JOB_NEW) {
    /* Cancelled by a shutdown before it was queued. */
    ax__spin_unlock(&Q.lock);
    ax__task_drop_ref(t);
    return 0;
  }
  /* The task's notification reference now belongs to the queue. */
  ax__list_push_back(&Q.jobs, &jp->link);
  atomic_store_explicit(&jp->state, JOB_QUEUED, memory_order_relaxed);
  Q.queued++;
  atomic_store_explicit(&Q.queued_hint, Q.queued, memory_order_relaxed);
  n = q_wanted();
  if (ctx != NULL) Q.drainers += n;  /* else counted when the post runs */
  ax__spin_unlock(&Q.lock);
  if (n == 0) return 0;
  if (ctx != NULL ? drainers_queue(ctx->rt, ctx->loop, NULL, n) == n
                  : drainer_post(rt) == 0)
    return 0;
  /* The pool work this job needed could not be started (out of memory):
   * without it the job might wait for ever, so the spawn fails, as if
   * its task could not be allocated. */
  if (!job_withdraw(jp)) return 0;
  if (ax__task_claim(t))
    ax__task_finish(t, AX_ECANCELED);  /* never ran: owned + queue refs */
  else
    ax__task_drop_ref(t);  /* a shutdown is cancelling it */
  if (join != NULL) ax_join_drop(join);
  return AX_ENOMEM;
}

int (ax_spawn_blocking_with)(ax_runtime_t *rt, ax_task_fn fn, void *arg,
                             ax_blocking_drop_fn drop_arg,
                             ax_blocking_drop_fn drop_result,
                             ax_join_t *join) {
  return ax__spawn_blocking_at(NULL, 0, rt, fn, arg, drop_arg, drop_result,
                               join);
}

int (ax_spawn_blocking_on)(ax_runtime_t *rt, ax_task_fn fn, void *arg,
                           ax_join_t *join) {
  return ax__spawn_blocking_at(NULL, 1, rt, fn, arg, NULL, NULL, join);
}

int (ax_spawn_blocking)(ax_task_fn fn, void *arg, ax_join_t *join) {
  return ax__spawn_blocking_at(NULL, 0, NULL, fn, arg, NULL, NULL, join);
}
