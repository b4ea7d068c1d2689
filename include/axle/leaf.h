/* axle — writing your own leaf future.
 *
 * Everything here is for people who implement a future by hand (a library
 * wrapping a libuv handle, a custom executor): the vtable of a future,
 * wakers, the poll context and the cooperative budget.  Everyday code needs
 * only <axle.h>; include this one as well to write a leaf:
 *
 *   typedef struct { ax_future_t base; my_event_t *ev; } my_wait_t;
 *
 *   static ax_poll_t my_wait_poll(ax_future_t *f, ax_cx_t *cx) {
 *     my_wait_t *w = (my_wait_t *)f;
 *     if (!ax_coop_proceed(cx)) return AX_PENDING;    // budget spent
 *     if (event_fired(w->ev)) return AX_READY;
 *     ax_coop_refund(cx);                             // waiting after all
 *     event_set_waker(w->ev, ax_waker_clone(ax_cx_waker(cx)));
 *     return AX_PENDING;
 *   }
 *   static void my_wait_drop(ax_future_t *f) { ...release the waker... }
 *   static const ax_future_vtable_t my_wait_vtable = {
 *       my_wait_poll, my_wait_drop, "my_wait"};
 *
 * docs/guide.md ("Writing a leaf future") has the whole story.
 */
#ifndef AXLE_LEAF_H
#define AXLE_LEAF_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The future's vtable ------------------------------------------------
 *
 *   poll(self, cx)  returns AX_READY (the output is now in the future's own
 *                   struct) or AX_PENDING (the future has arranged for
 *                   ax_cx_waker(cx) to be woken when it can make progress).
 *   drop(self)      cancellation and destruction: releases what the future
 *                   holds (wakers, timers, requests, owned memory), in any
 *                   state: never polled, pending, or ready; what it
 *                   reports (its output fields) stays readable.  Callers
 *                   drop a future once; axle's own futures tolerate a
 *                   second drop.
 */
struct ax_future_vtable_s {
  ax_poll_t (*poll)(ax_future_t *self, ax_cx_t *cx);
  void (*drop)(ax_future_t *self);   /* may be NULL: nothing to release */
  const char *name;                  /* for task dumps; may be NULL */
};

static inline ax_poll_t ax_poll(ax_future_t *f, ax_cx_t *cx) {
  return f->vtable->poll(f, cx);
}

/* ---- Wakers --------------------------------------------------------------
 *
 * A waker is a counted reference to something that can be scheduled (a
 * task, the block_on thread, or a custom executor).  Wakers may be cloned,
 * woken and dropped from any thread.  Waking a task that is already queued,
 * running or finished is harmless.
 */
typedef struct ax_waker_vtable_s {
  ax_waker_t *(*clone)(ax_waker_t *w);   /* +1 reference, returns w */
  void (*wake)(ax_waker_t *w);           /* wake and release one reference */
  void (*wake_by_ref)(ax_waker_t *w);    /* wake, keep the reference */
  void (*drop)(ax_waker_t *w);           /* release one reference */
} ax_waker_vtable_t;

struct ax_waker_s {
  const ax_waker_vtable_t *vtable;
};

static inline ax_waker_t *ax_waker_clone(ax_waker_t *w) {
  return w->vtable->clone(w);
}
static inline void ax_waker_wake(ax_waker_t *w) { w->vtable->wake(w); }
static inline void ax_waker_wake_by_ref(ax_waker_t *w) {
  w->vtable->wake_by_ref(w);
}
static inline void ax_waker_drop(ax_waker_t *w) { w->vtable->drop(w); }
/* True when a and b wake the same thing (so a stored clone can be kept). */
static inline int ax_waker_will_wake(const ax_waker_t *a,
                                     const ax_waker_t *b) {
  return a == b;
}

/* ---- The poll context ------------------------------------------------------
 *
 * The waker of the task being polled: borrowed, valid during this poll.
 * Clone it to keep it past the poll. */
AX_EXTERN ax_waker_t *ax_cx_waker(ax_cx_t *cx);

/* A context around any waker, for code that polls futures outside a
 * runtime (custom executors, tests).  cx must stay valid while polled. */
struct ax_cx_s {
  ax_waker_t *waker;           /* public: the waker to register */
  struct ax__wait_s *ax__wait; /* private: where the polled task records
                                  the await it waits at, or NULL */
  struct ax__ctx_s *ax__ctx;   /* private: the polling thread's runtime
                                  context, or NULL */
};
static inline void ax_cx_init(ax_cx_t *cx, ax_waker_t *w) {
  cx->waker = w;
  cx->ax__wait = NULL;
  cx->ax__ctx = NULL;
}

/* ---- The cooperative budget --------------------------------------------
 *
 * As in Tokio, each poll of a task may complete at most 128 operations
 * that did not have to wait (a receive with a value queued, an uncontended
 * lock, a due timer, a finished join handle...).  After that, the next one
 * returns AX_PENDING and the task goes to the back of the run queue: a
 * loop whose awaits are always ready still lets the worker's other tasks,
 * timers and I/O run.  Every axle future takes part; a leaf of your own
 * that can complete without waiting should too:
 *
 *     if (!ax_coop_proceed(cx)) return AX_PENDING;   (task rescheduled)
 *     ... try the operation; if it must wait after all:
 *     ax_coop_refund(cx); register the waker; return AX_PENDING;
 *
 * Outside a runtime's worker there is no budget: everything proceeds. */
AX_EXTERN int ax_coop_proceed(ax_cx_t *cx);
AX_EXTERN void ax_coop_refund(ax_cx_t *cx);
/* 0 when the running task has spent its budget (1 outside a task). */
AX_EXTERN int ax_coop_has_budget(void);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_LEAF_H */
