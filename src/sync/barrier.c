/* Barrier: arrival count and generation live under the wait queue's lock
 * (each arrival takes the lock once anyway to queue itself). */
#include <assert.h>

#include "sync/waitq.h"

enum { B_IDLE = 0, B_WAITING, B_DONE };

static ax_poll_t barrier_poll(ax_future_t *f, ax_cx_t *cx);
static void barrier_drop(ax_future_t *f);
static const ax_future_vtable_t barrier_vtable = {
  barrier_poll, barrier_drop, "ax_barrier_wait"
};

int ax_barrier_init(ax_barrier_t *b, size_t parties) {
  if (b == NULL)
    return AX_EINVAL;
  ax__waitq_init(&b->q);
  b->parties = parties == 0 ? 1 : parties;
  b->arrived = 0;
  b->gen = 0;
  return 0;
}

void ax_barrier_destroy(ax_barrier_t *b) {
  if (b != NULL)
    ax__waitq_destroy(&b->q);
}

ax_future_t *ax_barrier_wait(ax_barrier_wait_t *f, ax_barrier_t *b) {
  assert(f != NULL && b != NULL);
  f->base.vtable = &barrier_vtable;
  ax__waiter_init(&f->w);
  f->barrier = b;
  f->gen = 0;
  f->phase = B_IDLE;
  f->is_leader = 0;
  return &f->base;
}

static ax_poll_t barrier_poll(ax_future_t *fut, ax_cx_t *cx) {
  ax_barrier_wait_t *f = (ax_barrier_wait_t *)fut;
  ax_barrier_t *b = f->barrier;
  switch (f->phase) {
  case B_IDLE:
    ax__waitq_lock(&b->q);
    if (++b->arrived == b->parties) {
      /* Last to arrive: open the barrier for everyone queued now; later
       * arrivals belong to the next generation. */
      b->arrived = 0;
      b->gen++;
      f->is_leader = 1;
      ax__waitq_wake_all_unlock(&b->q, 0);
      break;
    }
    f->gen = b->gen;
    ax__waitq_push_locked(&b->q, &f->w, ax_cx_waker(cx));
    ax__waitq_unlock(&b->q);
    f->phase = B_WAITING;
    return AX_PENDING;
  case B_WAITING:
    if (!ax__waitq_poll_woken(&b->q, &f->w, ax_cx_waker(cx)))
      return AX_PENDING;
    break;
  default:
    break;
  }
  f->phase = B_DONE;
  return AX_READY;
}

static void barrier_drop(ax_future_t *fut) {
  ax_barrier_wait_t *f = (ax_barrier_wait_t *)fut;
  ax_barrier_t *b = f->barrier;
  ax_waker_t *dropped;
  if (f->phase == B_WAITING) {
    ax__waitq_lock(&b->q);
    /* Still queued in our own generation: withdraw the arrival.  (Queued
     * with an older generation means the barrier already opened and a
     * wake-all is about to reach us: nothing to undo.) */
    if (ax__waitq_cancel_locked(&b->q, &f->w, &dropped) ==
            AX__WAITER_QUEUED &&
        f->gen == b->gen)
      b->arrived--;
    ax__waitq_unlock(&b->q);
    if (dropped != NULL)
      ax_waker_drop(dropped);
  }
  f->phase = B_DONE;
}
