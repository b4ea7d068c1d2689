/* axle — time: instants, sleep, sleep_until, timeout, interval.
 *
 * Sleeps live in a hierarchical timing wheel, one per worker loop, driven by
 * one uv_timer_t: insert and cancel are O(1), a million sleeping tasks cost a
 * million small structs (an ax_sleep_t is 64 bytes on 64-bit targets) and no
 * libuv handle each.  Resolution is 1 ms; a sleep never ends early (it may
 * end up to about a millisecond late, more when the worker is busy).
 *
 * Where a sleep lives: it is registered on the wheel of the worker that
 * first polls it (not when ax_sleep() fills in the struct).  It may be polled
 * again and dropped from any worker later; dropping it before its deadline
 * unregisters it at once.
 *
 * Outside a runtime: a sleep polled on a thread that runs no axle loop (a
 * custom executor) cannot be timed.  Rather than abort, it completes at once
 * with ax_sleep_result() == AX_ENORUNTIME; a sleep whose deadline has
 * already passed completes normally anywhere.
 *
 * Ownership: every struct here is the caller's memory (usually a field of
 * an async function's state).  axle keeps pointers into it while it is
 * registered, so after the first poll it must not move until it is dropped
 * (ax_drop) or has completed.
 */
#ifndef AXLE_TIME_H
#define AXLE_TIME_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Monotonic time in nanoseconds (uv_hrtime), comparable across threads. */
typedef uint64_t ax_instant_t;
AX_EXTERN ax_instant_t ax_instant_now(void);
/* t + ms, saturating at the far future instead of wrapping. */
static inline ax_instant_t ax_instant_add_ms(ax_instant_t t, uint64_t ms) {
  const uint64_t max = UINT64_MAX;
  if (ms > (max - t) / 1000000u) return max;
  return t + ms * 1000000u;
}
/* Milliseconds elapsed since t, rounded down (0 if t is in the future). */
AX_EXTERN uint64_t ax_instant_elapsed_ms(ax_instant_t t);

typedef struct ax__wheel_s ax__wheel_t;

/* One timer in a wheel, embedded in the future that waits on it (all fields
 * private).  The fields marked "wheel lock" are shared with the wheel's home
 * thread; the others belong to the owning future.  The owner's two small
 * fields sit here so that an ax_sleep_t packs into 64 bytes. */
typedef struct ax_timer_entry_s {
  ax__link_t link;       /* wheel lock: slot list */
  ax__wheel_t *wheel;    /* owner: the wheel we hold a reference on, or NULL */
  ax_waker_t *waker;     /* wheel lock: woken at the deadline (owned clone) */
  uint64_t deadline_ms;  /* wheel lock: deadline in the wheel's ms clock */
  uint16_t slot;         /* wheel lock: level * 64 + slot, or "pending" */
  uint8_t state;         /* wheel lock: registered / fired / detached */
  uint8_t phase;         /* owner: idle / waiting / done */
  int32_t result;        /* owner: 0 or why the wait ended (see below) */
} ax_timer_entry_t;

/* ---- Sleep --------------------------------------------------------------
 *
 *   AX_AWAIT(ax_sleep(&self->delay, 100));    // tokio::time::sleep(100 ms)
 *
 * Polling a completed sleep again returns AX_READY again (until
 * ax_sleep_reset).  Dropping is cancellation and is safe in every state. */
typedef struct ax_sleep_s {
  ax_future_t base;        /* the future */
  ax_instant_t deadline;   /* read-only: when the sleep ends */
  ax_timer_entry_t entry;  /* private */
} ax_sleep_t;

/* Prepares s to sleep ms milliseconds from now (the deadline is taken at
 * this call, as Tokio's sleep does) and returns it as a future.  s (here
 * and in every sleep and interval function below): not NULL, asserted. */
AX_EXTERN ax_future_t *ax_sleep(ax_sleep_t *s, uint64_t ms);
/* Prepares s to sleep until deadline. */
AX_EXTERN ax_future_t *ax_sleep_until(ax_sleep_t *s, ax_instant_t deadline);
/* Moves the deadline of a sleep (never polled, pending or finished) so it
 * can be awaited again; a pending sleep is unregistered at once and
 * registers again on its next poll.  Not concurrently with a poll of s. */
AX_EXTERN void ax_sleep_reset(ax_sleep_t *s, ax_instant_t deadline);
/* Once the sleep is ready: 0 (the deadline passed), AX_ENORUNTIME (polled
 * outside a runtime), AX_ESHUTDOWN (first polled on a worker whose loop was
 * already closing), or AX_ECANCELED after ax_drop. */
static inline int ax_sleep_result(const ax_sleep_t *s) {
  return s->entry.result;
}
/* 1 once the sleep is over: a poll returned AX_READY, or it was dropped. */
AX_EXTERN int ax_sleep_is_elapsed(const ax_sleep_t *s);

/* ---- Timeout ------------------------------------------------------------
 *
 * ax_timeout(&t, inner, ms) runs `inner` for at most ms milliseconds (the
 * clock starts at this call).  Each poll polls inner first, so an inner
 * future that is ready at its deadline still wins.  When ready, t.result is
 *   0             inner finished: read its output, then drop t;
 *   AX_ETIMEDOUT  the deadline passed: inner has already been dropped;
 *   AX_ENORUNTIME polled outside a runtime (inner dropped, as above).
 * `inner` is the caller's memory; the timeout owns it from its first poll:
 * ax_drop(timeout) drops inner exactly once (unless it already did because
 * of the deadline), so never drop inner yourself.  As with every completed
 * future, drop the timeout once its output has been read.  t: not NULL,
 * asserted; inner NULL: ready at the first poll with AX_EINVAL. */
typedef struct ax_timeout_s {
  ax_future_t base;        /* the future */
  ax_future_t *inner;      /* private: the wrapped future (caller's memory) */
  ax_sleep_t timer;        /* private */
  int result;              /* read-only once ready */
  int flags;               /* private: done / inner dropped */
} ax_timeout_t;
AX_EXTERN ax_future_t *ax_timeout(ax_timeout_t *t, ax_future_t *inner,
                                  uint64_t ms);

/* ---- Interval -----------------------------------------------------------
 *
 *   ax_interval_init(&self->iv, 100);
 *   for (;;) { AX_AWAIT(ax_interval_tick(&self->iv)); ... }
 *
 * The first tick completes at once (as Tokio's).  A tick that completes
 * more than 5 ms after its deadline counts as late and the missed-tick
 * policy decides the next deadline.  ax_interval_tick() is cancel-safe: a
 * dropped tick (a select loser) loses nothing, the next call waits for the
 * same deadline.  An interval is a future: drop it when done. */
typedef enum {
  AX_MISSED_TICK_BURST = 0,  /* fire missed ticks back to back (default) */
  AX_MISSED_TICK_DELAY = 1,  /* next tick period_ms after the late one */
  AX_MISSED_TICK_SKIP = 2    /* skip to the next multiple of the period */
} ax_missed_tick_t;

typedef struct ax_interval_s {
  ax_future_t base;          /* the future */
  ax_sleep_t sleep;          /* private */
  uint64_t period_ms;        /* read-only (a period of 0 is taken as 1) */
  ax_missed_tick_t missed;   /* public: missed-tick policy */
  int result;                /* read-only: 0, or as ax_sleep_result() */
  ax_instant_t next;         /* private: deadline of the next tick */
  ax_instant_t tick;         /* read-only: deadline of the tick just
                                completed */
} ax_interval_t;
AX_EXTERN void ax_interval_init(ax_interval_t *iv, uint64_t period_ms);
/* Same, with the first tick at `start` instead of now. */
AX_EXTERN void ax_interval_init_at(ax_interval_t *iv, ax_instant_t start,
                                   uint64_t period_ms);
AX_EXTERN ax_future_t *ax_interval_tick(ax_interval_t *iv);
/* Makes the next tick period_ms from now (Tokio's Interval::reset). */
AX_EXTERN void ax_interval_reset(ax_interval_t *iv);
/* Resets the schedule (Tokio's reset_immediately / reset_after /
 * reset_at): the next tick completes at once / ms from now / at deadline
 * (at once if it has passed), and the ticks after it follow every
 * period_ms from there (the missed-tick policy applies as usual).  A tick
 * being awaited (or dropped) when the schedule is reset waits for the new
 * deadline.  Not concurrently with a poll of iv. */
AX_EXTERN void ax_interval_reset_immediately(ax_interval_t *iv);
AX_EXTERN void ax_interval_reset_after(ax_interval_t *iv, uint64_t ms);
AX_EXTERN void ax_interval_reset_at(ax_interval_t *iv, ax_instant_t deadline);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_TIME_H */
