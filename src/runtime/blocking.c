/* spawn_blocking on libuv's threadpool.
 *
 * First version: one uv_queue_work per job, queued by a worker when it
 * first polled the job's task, completed by the after-work callback on
 * that loop, which woke the task for a second poll.  Per job that was a
 * worker poll, libuv's pool mutex and condition variable, an async
 * wake-up of the loop and another poll: 2.5x Tokio's spawn_blocking on a
 * 4-thread pool (BENCHMARKS.md).
 *
 * Now axle keeps its own queue of jobs (process-wide, under a spin lock)
 * and libuv's pool runs "drainers": uv_work_t requests that take jobs off
 * that queue until it is empty.  At most as many drainers as the pool has
 * threads; one more is queued with uv_queue_work when a job arrives and
 * the drainers not busy with a job are fewer than the jobs queued (so a
 * long job never holds up the next one while the pool has room).  A drainer finishes each job's
 * task itself, on the pool thread (ax__task_claim/ax__task_finish): the
 * task is never polled, and its joiner is woken directly.
 *
 *   - The jobs still run on libuv's threadpool, so UV_THREADPOOL_SIZE
 *     and max_blocking_threads mean what they did, and file-system
 *     requests share the same threads.  A difference: libuv's queue was
 *     first in first out across jobs and fs requests; a drainer keeps its
 *     pool thread while jobs keep coming, so a steady stream of blocking
 *     jobs delays fs requests queued behind the drainers (as a pool full
 *     of long jobs always did).
 *   - Cancellation before start: ax_abort unlinks the job from axle's
 *     queue (what uv_cancel did for libuv's queue); it never runs.
 *   - uv_queue_work must be called on a loop's thread: a drainer is queued
 *     on the calling worker's (or block_on driver's) loop, or posted to
 *     worker 0's mailbox from any other thread.  Its after-work callback
 *     only frees it; a loop that closes waits for its drainers to finish.
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

/* QUEUED -> RUNNING (a drainer took it) -> DONE; QUEUED -> ABANDONED
 * (dropped first: unlinked, never runs). */
enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

typedef struct job_s {
  ax_future_t base;
  void *result;               /* output: ax_join_value() */
  ax_task_fn fn;
  void *arg;
  ax__task_t *task;           /* the task this future lives in */
  struct job_s *prev, *next;  /* the queue (its lock) */
  char *panic_msg;            /* fn panicked (until the task takes it) */
  _Atomic int state;
} job_t;

static struct {
  ax__spin_t lock;
  job_t *head, *tail;
  size_t queued;              /* jobs in the list */
  _Atomic size_t queued_hint; /* the same, readable without the lock */
  unsigned drainers;          /* queued or running drainers */
  unsigned busy;              /* of which running a job now */
  unsigned max_drainers;      /* the pool's size, once known */
} Q;

/* Lock held. */
static void q_unlink(job_t *j) {
  if (j->prev != NULL) j->prev->next = j->next; else Q.head = j->next;
  if (j->next != NULL) j->next->prev = j->prev; else Q.tail = j->prev;
  j->prev = j->next = NULL;
  Q.queued--;
  atomic_store_explicit(&Q.queued_hint, Q.queued, memory_order_relaxed);
}

/* ---- drainers ----------------------------------------------------------- */

typedef struct drainer_s {
  uv_work_t req;
  ax__op_t op;                /* queued from a thread without a loop */
  ax__worker_t *w;            /* whose loop it is queued on */
} drainer_t;

/* Runs one job on this pool thread, then finishes its task. */
static void run_job(job_t *j) {
  ax__jump_t jump, *volatile prev = ax__jump_current();
  ax__task_t *t = j->task;
  jump.msg = NULL;
  jump.armed = 1;
  ax__jump_set(&jump);
  if (setjmp(jump.jb) == 0)
    j->result = j->fn(j->arg);
  else
    j->panic_msg = jump.msg;
  ax__jump_set(prev);
  atomic_store_explicit(&j->state, JOB_DONE, memory_order_release);
  if (ax__task_claim(t)) {
    if (j->panic_msg != NULL) {
      t->panic_msg = j->panic_msg;
      j->panic_msg = NULL;
      ax__task_finish(t, AX_EPANIC);
    } else {
      ax__task_finish(t, 0);
    }
  } else {
    /* Aborted meanwhile (the canceller completes it), or being polled
     * (job_poll sees DONE): either way the queue's reference goes. */
    ax__task_drop_ref(t);
  }
}

/* Jobs a drainer takes per turn of the lock: one when there are no more
 * jobs than drainers (long jobs spread over the pool), a few when the
 * queue is long (short jobs, where the lock is the cost). */
#define DRAIN_BATCH 4
/* How long an idle drainer waits for the next job before it gives its
 * pool thread back (a few microseconds of pause instructions): a job
 * stream slightly slower than the drainers would otherwise stop and start
 * a drainer (libuv's mutex, a condition variable, a context switch) for
 * every few jobs. */
#define DRAIN_LINGER 256

static void drain_work(uv_work_t *req) {
  job_t *batch[DRAIN_BATCH];
  unsigned had = 0, n, i;
  int linger = 1;
  (void)req;
  for (;;) {
    ax__spin_lock(&Q.lock);
    Q.busy -= had;
    n = Q.queued > Q.drainers ? (unsigned)(Q.queued / Q.drainers) : 1u;
    if (n > DRAIN_BATCH) n = DRAIN_BATCH;
    for (i = 0; i < n && Q.head != NULL; i++) {
      job_t *j = Q.head;
      q_unlink(j);
      atomic_store_explicit(&j->state, JOB_RUNNING, memory_order_relaxed);
      batch[i] = j;
    }
    if (i == 0) {
      unsigned spin;
      if (linger) {
        linger = 0;
        ax__spin_unlock(&Q.lock);
        for (spin = 0; spin < DRAIN_LINGER; spin++) {
          if (atomic_load_explicit(&Q.queued_hint, memory_order_relaxed))
            break;
          ax__cpu_relax();
        }
        had = 0;
        continue;
      }
      Q.drainers--;  /* under the lock: a push after this sees it */
      ax__spin_unlock(&Q.lock);
      return;
    }
    linger = 1;
    Q.busy += i;
    had = i;
    ax__spin_unlock(&Q.lock);
    for (n = i, i = 0; i < n; i++) run_job(batch[i]);
  }
}

static void drain_after(uv_work_t *req, int status) {
  (void)status;  /* drainers are never cancelled */
  ax__free(ax__container_of(req, drainer_t, req));
}

static void drainer_queue(drainer_t *d, uv_loop_t *loop) {
  int rc = uv_queue_work(loop, &d->req, drain_work, drain_after);
  if (rc != 0) {
    fprintf(stderr, "axle: cannot queue blocking work: %s\n",
            ax_strerror(rc));
    abort();
  }
}

static void drainer_queue_op(ax__op_t *op) {
  drainer_t *d = ax__container_of(op, drainer_t, op);
  drainer_queue(d, ax__worker_loop(d->w));
}

/* Starts one more drainer from this thread (a loop's, or else worker 0's
 * by its mailbox). */
static void drainer_start(ax_runtime_t *rt) {
  ax__worker_t *w = ax__worker_current();
  drainer_t *d = ax__malloc(sizeof(*d));
  if (d == NULL) {
    /* Without it a queued job could wait forever: as a failed allocation
     * inside the scheduler, this is fatal. */
    fprintf(stderr, "axle: out of memory starting blocking work\n");
    abort();
  }
  if (w != NULL) {
    d->w = w;
    drainer_queue(d, ax__worker_loop(w));
  } else {
    d->w = rt->workers[0];
    d->op.fn = drainer_queue_op;
    ax__worker_post(d->w, &d->op);
  }
}

/* ---- the job future ---------------------------------------------------- */

static ax_poll_t job_poll(ax_future_t *f, ax_cx_t *cx) {
  job_t *j = (job_t *)f;
  (void)cx;
  /* A job's task is finished by its drainer and never polled, except when
   * something else had it queued at that instant: then it is done. */
  if (atomic_load_explicit(&j->state, memory_order_acquire) != JOB_DONE)
    return AX_PENDING;
  if (j->panic_msg != NULL) {
    char *msg = j->panic_msg;
    j->panic_msg = NULL;
    ax__panic_owned(msg);  /* the task reports fn's panic as its own */
  }
  return AX_READY;
}

static void job_drop(ax_future_t *f) {
  job_t *j = (job_t *)f;
  int unlinked = 0;
  if (atomic_load_explicit(&j->state, memory_order_acquire) == JOB_QUEUED) {
    ax__spin_lock(&Q.lock);
    if (atomic_load_explicit(&j->state, memory_order_relaxed) ==
        JOB_QUEUED) {
      q_unlink(j);
      atomic_store_explicit(&j->state, JOB_ABANDONED, memory_order_relaxed);
      unlinked = 1;
    }
    ax__spin_unlock(&Q.lock);
  }
  /* The queue's reference; never the last (the caller holds one). */
  if (unlinked) ax__task_drop_ref(j->task);
  ax__free(j->panic_msg);
  j->panic_msg = NULL;
}

static const ax_future_vtable_t job_vtable = {job_poll, job_drop,
                                              "ax_spawn_blocking"};

int ax_spawn_blocking_on(ax_runtime_t *rt, ax_task_fn fn, void *arg,
                         ax_join_t *join) {
  job_t j, *jp;
  ax__task_t *t;
  unsigned max;
  int rc, start = 0;
  j.base.vtable = &job_vtable;
  j.result = NULL;
  j.fn = fn;
  j.arg = arg;
  j.task = NULL;
  j.prev = j.next = NULL;
  j.panic_msg = NULL;
  atomic_init(&j.state, JOB_QUEUED);
  rc = ax__spawn_idle(rt, &j.base, sizeof(j), offsetof(job_t, result), join,
                      &t);
  if (rc != 0) return rc;
  max = pool_threads();
  /* The task's notification reference now belongs to the queue. */
  jp = (job_t *)(void *)ax__task_fut(t);
  jp->task = t;
  ax__spin_lock(&Q.lock);
  if (Q.max_drainers == 0) Q.max_drainers = max;
  jp->prev = Q.tail;
  if (Q.tail != NULL) Q.tail->next = jp; else Q.head = jp;
  Q.tail = jp;
  Q.queued++;
  atomic_store_explicit(&Q.queued_hint, Q.queued, memory_order_relaxed);
  if (Q.drainers < Q.max_drainers && Q.drainers - Q.busy < Q.queued) {
    Q.drainers++;
    start = 1;
  }
  ax__spin_unlock(&Q.lock);
  if (start) drainer_start(rt);
  return 0;
}

int ax_spawn_blocking(ax_task_fn fn, void *arg, ax_join_t *join) {
  return ax_spawn_blocking_on(ax_runtime_current(), fn, arg, join);
}
