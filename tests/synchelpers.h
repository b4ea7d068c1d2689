/* What the sync and channel suites share: a counting waker and poll
 * context for polling futures by hand, and run_main for their runtime
 * tests.  Everything is static inline: each suite is one executable.
 *
 * Unlike th_waker_t (helpers.h) the waker's counters are plain ints and
 * refs counts only the clones alive (it starts at 0): the hand-polled tests
 * run on the test thread alone, and refs == 0 at the end says that no clone
 * was left behind.
 */
#ifndef AX_TESTS_SYNCHELPERS_H
#define AX_TESTS_SYNCHELPERS_H

#include "axle.h"
#include "axtest.h"

/* ---- a counting waker for hand polling -------------------------------- */

typedef struct {
  ax_waker_t base;
  int refs;   /* clones alive */
  int wakes;  /* wake + wake_by_ref calls */
} twaker_t;

static inline ax_waker_t *tw_clone(ax_waker_t *w) {
  ((twaker_t *)w)->refs++;
  return w;
}
static inline void tw_wake(ax_waker_t *w) {
  ((twaker_t *)w)->wakes++;
  ((twaker_t *)w)->refs--;
}
static inline void tw_wake_by_ref(ax_waker_t *w) {
  ((twaker_t *)w)->wakes++;
}
static inline void tw_drop(ax_waker_t *w) { ((twaker_t *)w)->refs--; }
static const ax_waker_vtable_t tw_vtable = {tw_clone, tw_wake,
                                            tw_wake_by_ref, tw_drop};

/* A waker and the context that hands it to a poll. */
typedef struct {
  twaker_t tw;
  ax_cx_t cx;
} tcx_t;

static inline void tcx_init(tcx_t *t) {
  t->tw.base.vtable = &tw_vtable;
  t->tw.refs = 0;
  t->tw.wakes = 0;
  ax_cx_init(&t->cx, &t->tw.base);
}
#define POLL(fut, t) ax_poll((fut), &(t)->cx)

/* ---- runtime tests ----------------------------------------------------- */

/* Runs fut to completion on a fresh runtime: the current-thread one
 * (multi == 0) or the multi-thread one with 3 workers.  Loop tests pass _i:
 * 0 current-thread, 1 multi-thread. */
static inline void run_main(int multi, ax_future_t *fut) {
  ax_builder_t b;
  ax_runtime_t *rt;
  ax_builder_init(&b, multi ? AX_MULTI_THREAD : AX_CURRENT_THREAD);
  if (multi)
    b.worker_threads = 3;
  ck_assert_int_eq(ax_runtime_new(&b, &rt), 0);
  ck_assert_int_eq(ax_block_on(rt, fut), 0);
  ax_runtime_free(rt);
}

#endif /* AX_TESTS_SYNCHELPERS_H */
