/* Instants and the sleep future.
 *
 * A sleep is lazy: ax_sleep() only records the deadline.  Its first poll
 * registers it on the wheel of the calling worker (the only place where a
 * new entry may go: registration may re-arm that loop's uv timer).  Later
 * polls and the drop may come from any worker and only touch the entry
 * under its wheel's lock.
 */
#include <assert.h>

#include "core/context.h"
#include "time/wheel.h"

ax_instant_t ax_instant_now(void) { return uv_hrtime(); }

uint64_t ax_instant_elapsed_ms(ax_instant_t t) {
  ax_instant_t now = uv_hrtime();
  return now > t ? (now - t) / 1000000u : 0;
}

static ax_poll_t sleep_finish(ax_sleep_t *s, int result) {
  s->entry.phase = AX__PHASE_DONE;
  s->entry.result = result;
  return AX_READY;
}

static ax__wheel_t *current_wheel(void) {
  ax__ctx_t *c = ax__ctx_current();
  return c != NULL ? c->wheel : NULL;
}

/* lookup: find the wheel of the calling thread if registering (a TLS read
 * that only a registration pays); else w is the wheel to use. */
static ax_poll_t sleep_poll_impl(ax_sleep_t *s, ax_cx_t *cx, int lookup,
                                 ax__wheel_t *w) {
  ax_timer_entry_t *e = &s->entry;
  int r;

  if (e->phase == AX__PHASE_DONE) return AX_READY;
  if (e->phase == AX__PHASE_WAITING) {
    r = ax__timer_entry_poll(e, ax_cx_waker(cx));
    if (r == 0) return AX_PENDING;
    if (r == AX__TIMER_FIRED) {
      /* Out of budget: remember it fired and come back for it later. */
      if (!ax__coop_proceed(cx)) {
        sleep_finish(s, 0);
        return AX_PENDING;
      }
      return sleep_finish(s, 0);
    }
    /* Detached: the loop it was registered on closed.  Whoever polls it
     * now still wants to sleep: register again, here. */
    e->phase = AX__PHASE_IDLE;
  }

  if (!ax__coop_proceed(cx)) return AX_PENDING;
  if (lookup) w = current_wheel();
  if (w == NULL) {
    /* A deadline in the past needs no wheel, even outside a runtime. */
    return sleep_finish(s, ax_instant_now() >= s->deadline ? 0
                                                            : AX_ENORUNTIME);
  }
  r = ax__wheel_insert(w, e, s->deadline, ax_cx_waker(cx));
  if (r == 0) {
    ax__coop_refund(cx);
    e->phase = AX__PHASE_WAITING;
    return AX_PENDING;
  }
  return sleep_finish(s, r == 1 ? 0 : r);
}

ax_poll_t ax__sleep_poll_on(ax_sleep_t *s, ax_cx_t *cx, ax__wheel_t *w) {
  return sleep_poll_impl(s, cx, 0, w);
}

static ax_poll_t sleep_poll(ax_future_t *f, ax_cx_t *cx) {
  return sleep_poll_impl((ax_sleep_t *)f, cx, 1, NULL);
}

static void sleep_drop(ax_future_t *f) {
  ax_sleep_t *s = (ax_sleep_t *)f;
  if (s->entry.phase == AX__PHASE_WAITING) ax__timer_entry_cancel(&s->entry);
  if (s->entry.phase != AX__PHASE_DONE) {
    s->entry.phase = AX__PHASE_DONE;
    s->entry.result = AX_ECANCELED;
  }
}

static const ax_future_vtable_t sleep_vtable = {
  sleep_poll, sleep_drop, "ax_sleep"
};

ax_future_t *ax_sleep_until(ax_sleep_t *s, ax_instant_t deadline) {
  assert(s != NULL);
  s->base.vtable = &sleep_vtable;
  s->deadline = deadline;
  ax__timer_entry_init(&s->entry);
  return &s->base;
}

ax_future_t *ax_sleep(ax_sleep_t *s, uint64_t ms) {
  return ax_sleep_until(s, ax_instant_add_ms(ax_instant_now(), ms));
}

void ax_sleep_reset(ax_sleep_t *s, ax_instant_t deadline) {
  assert(s != NULL);
  if (s->entry.phase == AX__PHASE_WAITING) ax__timer_entry_cancel(&s->entry);
  s->entry.phase = AX__PHASE_IDLE;
  s->entry.result = 0;
  s->deadline = deadline;
}

int ax_sleep_is_elapsed(const ax_sleep_t *s) {
  assert(s != NULL);
  return s->entry.phase == AX__PHASE_DONE;
}
