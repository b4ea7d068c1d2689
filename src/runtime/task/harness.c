/* The task harness: a task's life from spawn to free, as a table of the
 * state transitions' outcomes (state.h).  Where a woken task goes is the
 * scheduler's business (runtime/sched.h). */
#include <assert.h>

#include "core/context.h"
#include "core/list.h"
#include "runtime/sched.h"
#include "runtime/task/cache.h"
#include "runtime/task/state.h"

/* ---- the waker --------------------------------------------------------- */

static ax__task_t *task_of(ax_waker_t *w) {
  return ax__container_of(w, ax__task_t, waker);
}

static ax_waker_t *task_waker_clone(ax_waker_t *w) {
  ax__state_ref_inc(&task_of(w)->state);
  return w;
}

/* Wake, consuming one reference: it becomes the notification. */
static void task_waker_wake(ax_waker_t *w) {
  ax__task_t *t = task_of(w);
  switch (ax__state_notify_by_val(&t->state)) {
  case AX__NOTIFY_SUBMIT: ax__sched_schedule(t, 0); break;
  case AX__NOTIFY_DROP_REF: ax__task_drop_ref(t); break;
  case AX__NOTIFY_DONE: break;
  }
}

void ax__task_wake_by_ref(ax__task_t *t) {
  if (ax__state_notify_by_ref(&t->state) == AX__NOTIFY_SUBMIT)
    ax__sched_schedule(t, 0);
}

static void task_waker_wake_by_ref(ax_waker_t *w) {
  ax__task_wake_by_ref(task_of(w));
}

static void task_waker_drop(ax_waker_t *w) { ax__task_drop_ref(task_of(w)); }

static const ax_waker_vtable_t task_waker_vtable = {
  task_waker_clone, task_waker_wake, task_waker_wake_by_ref, task_waker_drop,
};

/* ---- life and death ------------------------------------------------------ */

ax__task_t *ax__task_new(ax_runtime_t *rt, struct ax__tcache_s *own,
                         struct ax__tcache_shared_s *shared, uint64_t id,
                         ax_future_t *fut, size_t size, int kind,
                         int join, int notified) {
  /* size 0: block_on's task stores only a pointer to the caller's. */
  ax__task_t *t;
  assert(size <= AX__TASK_MAX_FUTURE);  /* checked by the spawner */
  t = ax__tcache_alloc(own, shared,
                       sizeof(*t) + (size > 0 ? size : sizeof(fut)));
  if (t == NULL) return NULL;
  t->waker.vtable = &task_waker_vtable;
  ax__state_init(&t->state, join, notified);
  t->owned.next = t->owned.prev = NULL;
  t->rt = rt;
  if (size > 0)
    memcpy(t->storage, fut, size);
  else
    memcpy(t->storage, &fut, sizeof(fut));  /* block_on: borrowed */
  t->join_waker = NULL;
  t->panic_msg = NULL;
  t->name = NULL;
  atomic_init(&t->wait.file, NULL);
  atomic_init(&t->wait.line, 0);
  t->id = id;
  ax__sched_ref(rt);
  t->result = 0;
  t->kind = (uint8_t)kind;
  t->shard = 0;
  t->dropped = 0;
  return t;
}

static void task_free(ax__task_t *t) {
  ax_runtime_t *rt = t->rt;
  ax__free(t->panic_msg);
  ax__free(t->name);
  ax__tcache_free(t);
  ax__sched_unref(rt);
}

void ax__task_discard(ax__task_t *t) {
  if (t->join_waker != NULL) ax_waker_drop(t->join_waker);
  task_free(t);  /* never polled: the caller still owns fut's contents */
}

/* The last reference is gone.  A value task's future (AX__TASK_VALUE) is
 * dropped only now, so that its drop can release a value nobody took. */
static void task_dealloc(ax__task_t *t) {
  if (!t->dropped && t->kind != AX__TASK_MAIN) {
    t->dropped = 1;
    ax_drop(ax__task_fut(t));
  }
  if (t->join_waker != NULL) ax_waker_drop(t->join_waker);
  if (t->kind == AX__TASK_LOCAL) ax__sched_local_free(t);
  task_free(t);
}

static void drop_refs(ax__task_t *t, size_t n) {
  if (ax__state_ref_dec(&t->state, n)) task_dealloc(t);
}

void ax__task_ref(ax__task_t *t) { ax__state_ref_inc(&t->state); }
void ax__task_drop_ref(ax__task_t *t) { drop_refs(t, 1); }

/* The task has finished (any way) and its future has been dropped:
 * publish, wake the joiner, leave the owned list.  The caller then drops
 * the owned list's reference together with its own (one atomic operation
 * for both). */
static void task_complete(ax__task_t *t) {
  size_t s = ax__state_to_complete(&t->state);
  if (!(s & AX__JOIN_INTEREST)) {
    if (t->result == AX_EPANIC) ax__sched_report_panic(t);
  } else if (s & AX__JOIN_WAKER) {
    ax_waker_wake_by_ref(t->join_waker);
  }
  ax__sched_release(t);
}

/* A task's future is dropped as soon as the task ends, however it ends
 * (as Tokio does): what it holds (a channel sender, a guard) is released
 * before anyone is told it finished.  Its output fields stay readable.
 * When it completed, two futures are kept: block_on's (the caller's to
 * drop after reading its output) and a value task's until it is freed
 * (the value is the join handle's, task.h). */
static void task_drop_future(ax__task_t *t, int completed) {
  if (!t->dropped && !(completed && t->kind >= AX__TASK_VALUE)) {
    t->dropped = 1;
    ax_drop(ax__task_fut(t));  /* may panic: then dropped is already set */
  }
}

static void task_cancel(ax__task_t *t) {
  task_drop_future(t, 0);
  t->result = AX_ECANCELED;
  task_complete(t);
}

#if defined(__GNUC__)
#  define COLD __attribute__((noinline, cold))
#else
#  define COLD
#endif

/* An abort seen by the worker that dequeued t (before or after a poll):
 * the future's drop runs as t's own code, as a poll does: ax_task_id()
 * is t's id inside it, and a panic inside it lands in the worker's pad,
 * which completes t with AX_EPANIC (ax__task_panicked) instead of taking
 * the process down (Tokio: task_abort.rs,
 * test_abort_task_that_panics_on_drop_*; task_id.rs,
 * task_id_future_destructor_abort).  Out of line: aborts are rare. */
static COLD void task_cancel_on(ax__ctx_t *ctx, ax__task_t *t) {
  atomic_store_explicit(&ctx->task, t, memory_order_relaxed);
  ctx->jump.armed = 1;
  task_cancel(t);
  ctx->jump.armed = 0;
  atomic_store_explicit(&ctx->task, NULL, memory_order_relaxed);
  drop_refs(t, 2);
}

void ax__task_panicked(ax__task_t *t, char *msg) {
  if (t->panic_msg == NULL)
    t->panic_msg = msg;
  else
    ax__free(msg);  /* a panic inside the drop of a panicked future */
  task_drop_future(t, 0);
  t->result = AX_EPANIC;
  task_complete(t);
  drop_refs(t, 2);  /* owned list + notification */
}

/* ---- the poll ------------------------------------------------------------ */

/* `watch` is a constant in each of the two callers below, so that the
 * watchdog costs the unwatched polls nothing here. */
static inline void task_run(ax__ctx_t *ctx, ax__task_t *t, int watch) {
  ax_future_t *f;
  ax_cx_t cx;
  ax_poll_t r;

  switch (ax__state_to_running(&t->state)) {
  case AX__TO_RUNNING_COMPLETE:  /* cancelled at shutdown while queued */
    ax__task_drop_ref(t);
    return;
  case AX__TO_RUNNING_CANCELLED:
    task_cancel_on(ctx, t);
    return;
  case AX__TO_RUNNING_OK:
    break;
  }

  cx.waker = &t->waker;
  cx.ax__wait = &t->wait;
  cx.ax__ctx = ctx;
  atomic_store_explicit(&t->wait.line, 0, memory_order_relaxed);
  atomic_store_explicit(&ctx->task, t, memory_order_relaxed);
  ctx->yielded = 0;
  ctx->budget = AX__COOP_BUDGET;
  ctx->jump.armed = 1;
  f = ax__task_fut(t);
  r = f->vtable->poll(f, &cx);
  if (r == AX_READY) {
    /* The future's drop still runs as t's code (its id, its panics
     * caught: task_cancel_on says why), then the poll is over. */
    t->result = 0;
    task_drop_future(t, 1);
    ctx->jump.armed = 0;
    atomic_store_explicit(&ctx->task, NULL, memory_order_relaxed);
    if (watch) ax__sched_polled(ctx, t);
    task_complete(t);
    drop_refs(t, 2);
    return;
  }
  ctx->jump.armed = 0;
  atomic_store_explicit(&ctx->task, NULL, memory_order_relaxed);
  if (watch) ax__sched_polled(ctx, t);
  switch (ax__state_to_idle(&t->state, ctx->yielded)) {
  case AX__TO_IDLE_OK:  /* the owned list's reference keeps t alive */
    return;
  case AX__TO_IDLE_NOTIFIED:
    ax__sched_schedule(t, 1);
    return;
  case AX__TO_IDLE_CANCELLED:
    task_cancel_on(ctx, t);
    return;
  }
}

void ax__task_run(ax__ctx_t *ctx, ax__task_t *t) { task_run(ctx, t, 0); }

void ax__task_run_watched(ax__ctx_t *ctx, ax__task_t *t) {
  task_run(ctx, t, 1);
}

void ax__task_run_nested(ax__ctx_t *ctx, ax__task_t *t) {
  ax__task_t *outer = atomic_load_explicit(&ctx->task, memory_order_relaxed);
  int budget = ctx->budget, yielded = ctx->yielded, armed = ctx->jump.armed;
  ax__jump_t jump, *prev = ax__jump_current();
  ax__tl_frame_t *locals = ax__tls_locals;
  jump.msg = NULL;
  jump.armed = 1;
  ax__jump_set(&jump);
  ax__tls_locals = NULL;  /* the poller's task-locals are not t's */
  if (setjmp(jump.jb) == 0) {
    task_run(ctx, t, 0);
  } else {
    /* As the worker's pad: t (ctx->task) panicked in its poll or drop. */
    ax__task_t *p = atomic_load_explicit(&ctx->task, memory_order_relaxed);
    ax__tls_locals = NULL;
    jump.armed = 0;
    ax__task_panicked(p, jump.msg);
  }
  ax__jump_set(prev);
  ax__tls_locals = locals;
  ctx->budget = budget;
  ctx->yielded = yielded;
  ctx->jump.armed = armed;
  atomic_store_explicit(&ctx->task, outer, memory_order_relaxed);
}

/* ---- finished outside a poll ------------------------------------------- */

int ax__task_claim(ax__task_t *t) { return ax__state_claim(&t->state); }

void ax__task_finish(ax__task_t *t, int result) {
  t->result = result;
  task_drop_future(t, result == 0);
  task_complete(t);
  drop_refs(t, 2);  /* owned list + the claimer's */
}

/* The drop of a task cancelled by its runtime's shutdown, on the freeing
 * thread, under a jump target of its own: a panic in it completes t with
 * AX_EPANIC, as on a worker.  Without it the panic would abort the
 * process or, on a worker of another runtime that frees this one, land
 * in that worker's pad in the middle of the shutdown.  ax_task_id() says
 * t's id meanwhile (ax__tls_task_id). */
static void task_cancel_guarded(ax__task_t *t) {
  ax__jump_t jump, *volatile prev = ax__jump_current();
  uint64_t volatile prev_id = ax__tls_task_id;
  ax__tl_frame_t *volatile prev_locals = ax__tls_locals;
  jump.msg = NULL;
  jump.armed = 1;
  ax__jump_set(&jump);
  ax__tls_task_id = t->id;
  if (setjmp(jump.jb) == 0) {
    task_cancel(t);
  } else {
    ax__tls_locals = prev_locals;  /* scopes the panic unwound past */
    if (t->panic_msg == NULL)
      t->panic_msg = jump.msg;
    else
      ax__free(jump.msg);
    t->result = AX_EPANIC;
    task_complete(t);
  }
  ax__tls_task_id = prev_id;
  ax__jump_set(prev);
}

int ax__task_shutdown(ax__task_t *t) {
  switch (ax__state_shutdown(&t->state)) {
  case AX__SHUTDOWN_COMPLETE: return 0;
  case AX__SHUTDOWN_BUSY: return 1;
  case AX__SHUTDOWN_CLAIMED: break;
  }
  task_cancel_guarded(t);
  drop_refs(t, 1);  /* the owned list's; the caller keeps its own */
  return 0;
}

uint64_t ax_task_id(void) {
  ax__ctx_t *c = ax__ctx_current();
  ax__task_t *t;
  /* A task's code running outside a worker's poll (a blocking job, a
   * drop at shutdown) first: it may run on a worker of another runtime. */
  if (ax__tls_task_id != 0) return ax__tls_task_id;
  if (c == NULL) return 0;
  t = atomic_load_explicit(&c->task, memory_order_relaxed);
  return t != NULL ? t->id : 0;
}
