/* Internal: the cooperative budget (Tokio's coop).
 *
 * Every poll of a task starts with AX__COOP_BUDGET units in its worker.
 * Each leaf future that can complete without waiting (a channel receive
 * with a value queued, an uncontended lock, a timer already due, a finished
 * join handle) takes one unit first; when none is left it wakes the task
 * and returns AX_PENDING, so the task goes to the back of the run queue and
 * the worker's other tasks, its timers and its I/O get their turn.  A loop
 * whose awaits are always ready therefore yields every 128 operations
 * instead of never.
 *
 * A leaf that takes a unit and then finds it must wait anyway gives the
 * unit back (ax__coop_refund): waiting is already a yield.  Polls outside
 * a worker (no cx->ax__worker: a user's own executor) are unconstrained,
 * as is a worker whose budget is AX__COOP_UNLIMITED (ax_unconstrained).
 */
#ifndef AX_TASK_COOP_H
#define AX_TASK_COOP_H

#include "runtime/runtime.h"

#define AX__COOP_BUDGET 128
#define AX__COOP_UNLIMITED (-1)

/* 1: proceed (one unit used); 0: the budget is spent and the task has been
 * woken to run again later: return AX_PENDING without side effects. */
static inline int ax__coop_proceed(ax_cx_t *cx) {
  ax__worker_t *w = (ax__worker_t *)cx->ax__worker;
  if (w == NULL || w->budget < 0) return 1;
  if (w->budget == 0) {
    ax__cx_yield(cx);
    return 0;
  }
  w->budget--;
  return 1;
}

/* The operation that took a unit is going to wait after all. */
static inline void ax__coop_refund(ax_cx_t *cx) {
  ax__worker_t *w = (ax__worker_t *)cx->ax__worker;
  if (w != NULL && w->budget >= 0) w->budget++;
}

#endif
