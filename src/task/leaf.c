/* The leaf-future author's toolkit (<axle/leaf.h>): homes and waker
 * slots.  A home is the poll context of a worker (core/context.h). */
#include "core/context.h"
#include "core/spin.h"

ax_home_t *ax_home_current(void) {
  ax__ctx_t *c = ax__ctx_current();
  return c != NULL ? (ax_home_t *)(void *)c->home : NULL;
}

uv_loop_t *ax_home_loop(ax_home_t *h) { return ((ax__ctx_t *)(void *)h)->loop; }

int ax_home_is_current(const ax_home_t *h) {
  return (const void *)ax__ctx_current() == (const void *)h;
}

void ax_home_post(ax_home_t *h, ax_home_op_t *op) {
  ax__ctx_t *c = (ax__ctx_t *)(void *)h;
  c->post(c, op);
}

/* ---- waker slots: a spin lock, as the critical sections are a few
 * stores and wakers are always called outside it ----------------------- */

void ax_waker_slot_init(ax_waker_slot_t *s) {
  ax__spin_init(&s->lock);
  s->pending = 0;
  s->complete = 0;
  s->waker = NULL;
}

void ax_waker_slot_register(ax_waker_slot_t *s, ax_waker_t *w) {
  ax_waker_t *old = NULL;
  int pending;
  ax__spin_lock(&s->lock);
  pending = s->pending;
  s->pending = 0;
  if (!pending && !s->complete &&
      (s->waker == NULL || !ax_waker_will_wake(s->waker, w))) {
    old = s->waker;
    s->waker = ax_waker_clone(w);
  }
  ax__spin_unlock(&s->lock);
  if (old != NULL) ax_waker_drop(old);
  if (pending) ax_waker_wake_by_ref(w);
}

void ax_waker_slot_wake(ax_waker_slot_t *s) {
  ax_waker_t *w;
  ax__spin_lock(&s->lock);
  w = s->waker;
  s->waker = NULL;
  if (w == NULL) s->pending = 1;
  ax__spin_unlock(&s->lock);
  if (w != NULL) ax_waker_wake(w);
}

void ax_waker_slot_complete(ax_waker_slot_t *s) {
  ax_waker_t *w;
  ax__spin_lock(&s->lock);
  w = s->waker;
  s->waker = NULL;
  s->complete = 1;
  ax__spin_unlock(&s->lock);
  if (w != NULL) ax_waker_wake(w);
}

/* Under the lock, whose release and acquire order the completing thread's
 * writes before this read. */
int ax_waker_slot_is_complete(ax_waker_slot_t *s) {
  int c;
  ax__spin_lock(&s->lock);
  c = s->complete;
  ax__spin_unlock(&s->lock);
  return c;
}

void ax_waker_slot_drop(ax_waker_slot_t *s) {
  ax_waker_t *w;
  ax__spin_lock(&s->lock);
  w = s->waker;
  s->waker = NULL;
  s->pending = 0;
  ax__spin_unlock(&s->lock);
  if (w != NULL) ax_waker_drop(w);
}
