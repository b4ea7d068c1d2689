/* ax_timeout: a future raced against its own deadline.
 *
 * The inner future is polled first on every poll, so work that is ready at
 * the deadline is not thrown away.  When the deadline wins, the inner future
 * is dropped right there (cancellation at the await point, as Tokio's
 * timeout drops its future), before the timeout reports AX_ETIMEDOUT.
 *
 * The cooperative budget: when it is the inner future that spent the last
 * unit of this task poll, the timer is polled with an unlimited budget.
 * Otherwise an inner future that spends the whole budget on every poll
 * (ready-but-costly work in a loop) would leave the timer never registered
 * (and, once registered, never seen to fire): the timeout would never
 * fire, the one thing it is for.  Tokio's Timeout does the same.
 */
#include <assert.h>

#include "axle/task.h"
#include "time/wheel.h"

#define TO_DONE 1           /* result is final */
#define TO_INNER_DROPPED 2  /* inner's drop has run: never touch it again */

static ax_poll_t timeout_finish(ax_timeout_t *t, int result) {
  t->result = result;
  t->flags |= TO_DONE;
  return AX_READY;
}

/* Polls the timer; with an unlimited budget when had_budget says the
 * inner poll is what used the budget up (see the top of the file). */
static ax_poll_t timeout_poll_timer(ax_timeout_t *t, ax_cx_t *cx,
                                    int had_budget) {
  ax_unconstrained_t u;
  if (!had_budget || ax_coop_has_budget())
    return ax_poll(&t->timer.base, cx);
  /* Only polled through u, never dropped through it: the timer stays
   * ours. */
  return ax_poll(ax_unconstrained(&u, &t->timer.base), cx);
}

static ax_poll_t timeout_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_timeout_t *t = (ax_timeout_t *)f;
  int r, had_budget;

  if (t->flags & TO_DONE) return AX_READY;
  if (t->inner == NULL) return timeout_finish(t, AX_EINVAL);
  had_budget = ax_coop_has_budget();
  if (ax_poll(t->inner, cx) == AX_READY) {
    /* Unregister now rather than when t is dropped: a finished timeout
     * holds nothing but the inner output. */
    ax_drop(&t->timer.base);
    return timeout_finish(t, 0);
  }
  if (timeout_poll_timer(t, cx, had_budget) == AX_PENDING) return AX_PENDING;

  r = ax_sleep_result(&t->timer);
  t->flags |= TO_INNER_DROPPED;
  ax_drop(t->inner);
  return timeout_finish(t, r == 0 ? AX_ETIMEDOUT : r);
}

static void timeout_drop(ax_future_t *f) {
  ax_timeout_t *t = (ax_timeout_t *)f;
  if (!(t->flags & TO_INNER_DROPPED)) {
    t->flags |= TO_INNER_DROPPED;
    if (t->inner != NULL) ax_drop(t->inner);
  }
  ax_drop(&t->timer.base);
  t->flags |= TO_DONE;
}

static const ax_future_vtable_t timeout_vtable = {
  timeout_poll, timeout_drop, "ax_timeout"
};

ax_future_t *ax_timeout(ax_timeout_t *t, ax_future_t *inner, uint64_t ms) {
  assert(t != NULL);
  t->base.vtable = &timeout_vtable;
  t->inner = inner;
  ax_sleep(&t->timer, ms);
  t->result = 0;
  t->flags = 0;
  return &t->base;
}
