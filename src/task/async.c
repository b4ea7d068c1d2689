/* Async functions (the AX_BEGIN/AX_AWAIT machinery) and yield. */
#include <assert.h>

#include "core/context.h"

/* The compile-time checks' markers (future.h): never read. */
const struct
    AX_AWAIT_takes_an_ax_future_t_pointer_from_a_constructor_like_ax_sleep
        ax__not_a_future;
const struct
    AX_FUTURE_got_a_state_of_another_type_than_the_async_function_was_defined_over
        ax__wrong_state;

void ax_drop(ax_future_t *f) {
  if (f != NULL && f->vtable != NULL && f->vtable->drop != NULL)
    f->vtable->drop(f);
}

ax_waker_t *ax_cx_waker(ax_cx_t *cx) {
  assert(cx != NULL);
  return cx->waker;
}

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
  assert(co != NULL && fn != NULL);
  co->base.vtable = &async_vtable;
  co->fn = fn;
  co->on_drop = on_drop;
  co->child = NULL;
  co->line = 0;
  return &co->base;
}

/* The innermost await of a poll names where the task waits. */
static void note_wait(ax_cx_t *cx, const char *file, int line) {
  ax__wait_t *w = cx->ax__wait;
  if (w != NULL && ax__wait_line(w) == 0) ax__wait_set(w, file, line);
}

void ax__resume_lost(ax_async_t *co, const char *file) {
  ax__panic_at(file, co->line,
               "async function resumed at line %d, where its switch sees no "
               "await: an AX_AWAIT or AX_YIELD inside a switch statement? "
               "(await in an if or a loop instead; see axle/future.h)",
               co->line);
}

ax_poll_t ax__await(ax_async_t *co, ax_cx_t *cx, const char *file,
                    int line) {
  if (ax_poll(co->child, cx) == AX_READY) {
    co->child = NULL;
    return AX_READY;
  }
  note_wait(cx, file, line);
  return AX_PENDING;
}

void ax__yield(ax_async_t *co, ax_cx_t *cx, const char *file, int line) {
  (void)co;
  note_wait(cx, file, line);
  ax__cx_yield(cx);
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
  assert(y != NULL);
  y->base.vtable = &yield_vtable;
  y->yielded = 0;
  return &y->base;
}
