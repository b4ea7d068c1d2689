/* The public face of the cooperative budget (core/context.h). */
#include <assert.h>

#include "core/context.h"

int ax_coop_proceed(ax_cx_t *cx) {
  assert(cx != NULL);
  return ax__coop_proceed(cx);
}

void ax_coop_refund(ax_cx_t *cx) {
  assert(cx != NULL);
  ax__coop_refund(cx);
}

int ax_coop_has_budget(void) {
  ax__ctx_t *c = ax__ctx_current();
  return c == NULL || c->budget != 0;
}

/* ---- ax_consume_budget ------------------------------------------------- */

static ax_poll_t consume_poll(ax_future_t *f, ax_cx_t *cx) {
  (void)f;
  return ax__coop_proceed(cx) ? AX_READY : AX_PENDING;
}

static const ax_future_vtable_t consume_vtable = {consume_poll, NULL,
                                                  "ax_consume_budget"};

ax_future_t *ax_consume_budget(ax_consume_budget_t *f) {
  assert(f != NULL);
  f->base.vtable = &consume_vtable;
  return &f->base;
}

/* ---- ax_unconstrained -------------------------------------------------- */

static ax_poll_t unconstrained_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_unconstrained_t *u = (ax_unconstrained_t *)f;
  ax__ctx_t *c = cx->ax__ctx;
  ax_poll_t r;
  int saved;
  if (c == NULL) return ax_poll(u->inner, cx);
  saved = c->budget;
  c->budget = AX__COOP_UNLIMITED;
  /* A panic in the inner poll leaves the budget unlimited for the rest
   * of this task poll only: ax__task_run resets it. */
  r = ax_poll(u->inner, cx);
  c->budget = saved;
  return r;
}

static void unconstrained_drop(ax_future_t *f) {
  ax_unconstrained_t *u = (ax_unconstrained_t *)f;
  if (u->inner != NULL) ax_drop(u->inner);
  u->inner = NULL;
}

static const ax_future_vtable_t unconstrained_vtable = {
  unconstrained_poll, unconstrained_drop, "ax_unconstrained"};

ax_future_t *ax_unconstrained(ax_unconstrained_t *f, ax_future_t *inner) {
  assert(f != NULL && inner != NULL);
  f->base.vtable = &unconstrained_vtable;
  f->inner = inner;
  return &f->base;
}
