/* Task-local values (Tokio's task_local!, task.h).
 *
 * A scope future puts its (key, value) on the calling thread's list for
 * the duration of each poll of its inner future, and of that future's
 * drop, then takes it off again.  Every future polled inside (the whole
 * task below the scope) sees the value; nothing polled elsewhere does: a
 * spawned task runs in polls of its own, so it inherits nothing unless
 * its future is wrapped in a scope too.  The task struct holds nothing
 * for it: a task that uses no task-local pays nothing, and a lookup walks
 * only the scopes entered in the current poll.
 *
 * A panic unwinds past the scope's poll without taking its frame off:
 * the landing pads (the worker's, a blocking job's, a shutdown's drop)
 * put the list back as it was before the poll (core/context.h).
 */
#include <assert.h>

#include "axle/task.h"
#include "core/context.h"

#define TL_TAKEN 1     /* ax_task_local_scope_take: no value any more */
#define TL_DONE 2      /* inner is ready (its output stays readable) */
#define TL_DROPPED 4   /* inner's drop has run */

static void enter(ax_task_local_scope_t *f) {
  f->ax__frame.prev = ax__tls_locals;
  ax__tls_locals = &f->ax__frame;
}

static void leave(ax_task_local_scope_t *f) {
  ax__tls_locals = f->ax__frame.prev;
}

static ax_poll_t scope_poll(ax_future_t *base, ax_cx_t *cx) {
  ax_task_local_scope_t *f = (ax_task_local_scope_t *)base;
  ax_poll_t r;
  if (f->ax__flags & TL_DONE) return AX_READY;
  if (f->ax__flags & TL_TAKEN) {
    r = ax_poll(f->ax__inner, cx);
  } else {
    enter(f);
    r = ax_poll(f->ax__inner, cx);
    leave(f);
  }
  if (r == AX_READY) f->ax__flags |= TL_DONE;
  return r;
}

/* The inner future is dropped inside the scope, so that its drop can read
 * the value (Tokio: task_local_available_on_abort / _on_completion_drop). */
static void scope_drop(ax_future_t *base) {
  ax_task_local_scope_t *f = (ax_task_local_scope_t *)base;
  if (f->ax__flags & TL_DROPPED) return;
  f->ax__flags |= TL_DROPPED | TL_DONE;
  if (f->ax__inner == NULL) return;
  if (f->ax__flags & TL_TAKEN) {
    ax_drop(f->ax__inner);
    return;
  }
  enter(f);
  ax_drop(f->ax__inner);
  leave(f);
}

static const ax_future_vtable_t scope_vtable = {scope_poll, scope_drop,
                                                "ax_task_local_scope"};

ax_future_t *ax_task_local_scope(ax_task_local_scope_t *f,
                                 const ax_task_local_t *key, void *value,
                                 ax_future_t *inner) {
  assert(f != NULL && key != NULL && inner != NULL);
  f->base.vtable = &scope_vtable;
  f->ax__frame.key = key;
  f->ax__frame.value = value;
  f->ax__frame.prev = NULL;
  f->ax__inner = inner;
  f->ax__flags = 0;
  return &f->base;
}

void *ax_task_local_scope_take(ax_task_local_scope_t *f) {
  void *v;
  assert(f != NULL);
  if (f->ax__flags & TL_TAKEN) return NULL;
  f->ax__flags |= TL_TAKEN;
  v = f->ax__frame.value;
  f->ax__frame.value = NULL;
  return v;
}

int ax_task_local_is_set(const ax_task_local_t *key) {
  const ax__tl_frame_t *fr;
  assert(key != NULL);
  for (fr = ax__tls_locals; fr != NULL; fr = fr->prev)
    if (fr->key == key) return 1;
  return 0;
}

void *ax_task_local_get(const ax_task_local_t *key) {
  const ax__tl_frame_t *fr;
  assert(key != NULL);
  for (fr = ax__tls_locals; fr != NULL; fr = fr->prev)
    if (fr->key == key) return fr->value;
  return NULL;
}

void ax_task_local_sync_scope(const ax_task_local_t *key, void *value,
                              void (*fn)(void *arg), void *arg) {
  ax__tl_frame_t fr;
  assert(key != NULL && fn != NULL);
  fr.key = key;
  fr.value = value;
  fr.prev = ax__tls_locals;
  ax__tls_locals = &fr;
  fn(arg);
  ax__tls_locals = fr.prev;
}
