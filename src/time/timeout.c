/* ax_timeout: a future raced against its own deadline.
 *
 * The inner future is polled first on every poll, so work that is ready at
 * the deadline is not thrown away.  When the deadline wins, the inner future
 * is dropped right there (cancellation at the await point, as Tokio's
 * timeout drops its future), before the timeout reports AX_ETIMEDOUT.
 */
#include <assert.h>

#include "time/wheel.h"

#define TO_DONE 1           /* result is final */
#define TO_INNER_DROPPED 2  /* inner's drop has run: never touch it again */

static ax_poll_t timeout_finish(ax_timeout_t *t, int result) {
  t->result = result;
  t->flags |= TO_DONE;
  return AX_READY;
}

static ax_poll_t timeout_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_timeout_t *t = (ax_timeout_t *)f;
  int r;

  if (t->flags & TO_DONE) return AX_READY;
  if (t->inner == NULL) return timeout_finish(t, AX_EINVAL);
  if (ax_poll(t->inner, cx) == AX_READY) {
    /* Unregister now rather than when t is dropped: a finished timeout
     * holds nothing but the inner output. */
    ax_drop(&t->timer.base);
    return timeout_finish(t, 0);
  }
  if (ax_poll(&t->timer.base, cx) == AX_PENDING) return AX_PENDING;

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
