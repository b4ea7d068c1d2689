/* Async functions (the AX_BEGIN/AX_AWAIT machinery), yield, and the
 * plain-function task adapter. */
#include "runtime/runtime.h"
#include "task/task.h"

void ax_drop(ax_future_t *f) {
  if (f != NULL && f->vtable != NULL && f->vtable->drop != NULL)
    f->vtable->drop(f);
}

ax_waker_t *ax_cx_waker(ax_cx_t *cx) { return cx->waker; }

static ax_poll_t async_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_async_t *co = (ax_async_t *)f;
  return co->fn(co, cx);
}

static void async_drop(ax_future_t *f) {
  ax_async_t *co = (ax_async_t *)f;
  ax_future_t *child = co->child;
  if (co->line == -2) return;  /* dropped already */
  co->child = NULL;
  if (child != NULL) ax_drop(child);
  co->line = -2;
  if (co->on_drop != NULL) co->on_drop(co);
}

static const ax_future_vtable_t async_vtable = {async_poll, async_drop,
                                                "async"};

ax_future_t *ax_async_init(ax_async_t *co, ax_async_fn fn,
                           ax_async_drop_fn on_drop) {
  co->base.vtable = &async_vtable;
  co->fn = fn;
  co->on_drop = on_drop;
  co->child = NULL;
  co->line = 0;
  return &co->base;
}

ax_poll_t ax__await(ax_async_t *co, ax_cx_t *cx, const char *file,
                    int line) {
  ax__task_t *t;
  if (ax_poll(co->child, cx) == AX_READY) {
    co->child = NULL;
    return AX_READY;
  }
  /* The innermost await of this poll names where the task waits. */
  t = cx->ax__task;
  if (t != NULL && ax__task_wait_line(t) == 0)
    ax__task_set_wait(t, file, line);
  return AX_PENDING;
}

void ax__yield(ax_async_t *co, ax_cx_t *cx, const char *file, int line) {
  ax__task_t *t = cx->ax__task;
  (void)co;
  if (t != NULL && ax__task_wait_line(t) == 0)
    ax__task_set_wait(t, file, line);
  ax__cx_yield(cx);
}

void ax__cx_yield(ax_cx_t *cx) {
  ax__worker_t *w = cx->ax__worker;
  if (w != NULL)
    w->yielded = 1;  /* ax__task_run re-queues it at the back: no atomic */
  else
    ax_waker_wake_by_ref(cx->waker);
}

static ax_poll_t yield_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_yield_t *y = (ax_yield_t *)f;
  if (y->yielded) return AX_READY;
  y->yielded = 1;
  ax__cx_yield(cx);
  return AX_PENDING;
}

static const ax_future_vtable_t yield_vtable = {yield_poll, NULL,
                                                "ax_yield_now"};

ax_future_t *ax_yield_now(ax_yield_t *y) {
  y->base.vtable = &yield_vtable;
  y->yielded = 0;
  return &y->base;
}

uint64_t ax_task_id(void) {
  ax__worker_t *w = ax__worker_current();
  return w != NULL && w->current != NULL ? w->current->id : 0;
}

/* ---- ax_spawn_fn: a task that calls one plain function ---------------- */

typedef struct fn_future_s {
  ax_future_t base;
  void *result;     /* output: ax_join_value() */
  ax_task_fn fn;
  void *arg;
} fn_future_t;

static ax_poll_t fn_poll(ax_future_t *f, ax_cx_t *cx) {
  fn_future_t *ff = (fn_future_t *)f;
  (void)cx;
  ff->result = ff->fn(ff->arg);
  return AX_READY;
}

static const ax_future_vtable_t fn_vtable = {fn_poll, NULL, "ax_spawn_fn"};


int ax_spawn_fn(ax_task_fn fn, void *arg, ax_join_t *join) {
  fn_future_t ff;
  ff.base.vtable = &fn_vtable;
  ff.result = NULL;
  ff.fn = fn;
  ff.arg = arg;
  return ax__spawn_raw(ax_runtime_current(), &ff.base, sizeof(ff),
                       offsetof(fn_future_t, result), join);
}
