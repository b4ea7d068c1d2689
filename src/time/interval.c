/* ax_interval: a sleep re-armed after each tick, with Tokio's missed-tick
 * policies.
 *
 * Invariant: the inner sleep's deadline equals `next` exactly while a tick
 * is armed and not yet delivered; once a tick is delivered `next` moves on
 * (by at least 1 ms), and ax_interval_tick() re-arms the sleep for it.
 */
#include <assert.h>

#include "time/wheel.h"

/* A tick later than this past its deadline counts as missed.  Below it,
 * scheduling jitter is not a missed tick (Tokio uses the same 5 ms). */
#define LATE_NS ((uint64_t)5 * 1000000u)

static uint64_t add_sat(uint64_t a, uint64_t b) {
  return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

static ax_instant_t next_deadline(const ax_interval_t *iv, ax_instant_t dl,
                                  ax_instant_t now) {
  uint64_t period = ax_instant_add_ms(0, iv->period_ms);
  if (now <= add_sat(dl, LATE_NS)) return add_sat(dl, period);
  switch (iv->missed) {
  case AX_MISSED_TICK_DELAY:
    return add_sat(now, period);
  case AX_MISSED_TICK_SKIP:
    /* The first deadline of the original schedule after now. */
    return add_sat(now, period - (now - dl) % period);
  case AX_MISSED_TICK_BURST:
  default:
    return add_sat(dl, period);
  }
}

static ax_poll_t interval_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_interval_t *iv = (ax_interval_t *)f;
  ax_instant_t dl = iv->sleep.deadline;

  if (dl != iv->next) return AX_READY;   /* this tick was delivered */
  if (ax_poll(&iv->sleep.base, cx) == AX_PENDING) return AX_PENDING;
  iv->result = ax_sleep_result(&iv->sleep);
  iv->tick = dl;
  iv->next = next_deadline(iv, dl, ax_instant_now());
  return AX_READY;
}

static void interval_drop(ax_future_t *f) {
  ax_interval_t *iv = (ax_interval_t *)f;
  ax_drop(&iv->sleep.base);
}

static const ax_future_vtable_t interval_vtable = {
  interval_poll, interval_drop, "ax_interval"
};

void ax_interval_init_at(ax_interval_t *iv, ax_instant_t start,
                         uint64_t period_ms) {
  assert(iv != NULL);
  iv->base.vtable = &interval_vtable;
  iv->period_ms = period_ms ? period_ms : 1;
  iv->missed = AX_MISSED_TICK_BURST;
  iv->result = 0;
  iv->next = start;
  iv->tick = 0;
  ax_sleep_until(&iv->sleep, start);
}

void ax_interval_init(ax_interval_t *iv, uint64_t period_ms) {
  ax_interval_init_at(iv, ax_instant_now(), period_ms);
}

ax_future_t *ax_interval_tick(ax_interval_t *iv) {
  assert(iv != NULL);
  /* Re-arm after a delivered tick, or after a dropped one (a select
   * loser): the same deadline is awaited again, nothing is lost. */
  if (iv->sleep.deadline != iv->next ||
      iv->sleep.entry.phase == AX__PHASE_DONE)
    ax_sleep_reset(&iv->sleep, iv->next);
  return &iv->base;
}

void ax_interval_reset_at(ax_interval_t *iv, ax_instant_t deadline) {
  assert(iv != NULL);
  iv->next = deadline;
  ax_sleep_reset(&iv->sleep, iv->next);
}

void ax_interval_reset(ax_interval_t *iv) {
  ax_interval_reset_at(iv, ax_instant_add_ms(ax_instant_now(), iv->period_ms));
}

void ax_interval_reset_immediately(ax_interval_t *iv) {
  ax_interval_reset_at(iv, ax_instant_now());
}

void ax_interval_reset_after(ax_interval_t *iv, uint64_t ms) {
  ax_interval_reset_at(iv, ax_instant_add_ms(ax_instant_now(), ms));
}
