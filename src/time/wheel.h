/* Internal: the per-worker timing wheel (see include/axle/time.h).
 *
 * Six levels of 64 slots; level L slot s holds the entries whose deadline
 * differs from the wheel's current time first in base-64 digit L and has
 * digit L equal to s.  Insert and cancel are O(1) list operations; when the
 * time of a slot comes its entries either fire (level 0) or move down a
 * level.  One uv_timer_t, armed at the earliest slot, drives it all.
 *
 * Threads (the home-loop rule of DESIGN 3):
 *  - ax__wheel_new, ax__wheel_close and ax__wheel_insert run on the wheel's
 *    loop thread, so every uv call on the timer handle happens there.
 *  - ax__timer_entry_poll and ax__timer_entry_cancel run on any thread:
 *    they only touch the lists, under the wheel's mutex.  A cancel never
 *    re-arms the uv timer; the timer may then fire for nothing, harmlessly.
 *  - An entry's owner (the future embedding it) calls the entry functions
 *    one at a time (a task is polled or dropped by one worker at a time).
 *  - ax__wheel_rescue runs on any thread (the keeper's, keeper.h): it fires
 *    what is due under the lock, as the timer callback would, and makes no
 *    uv call.
 *
 * Lifetime: the wheel's memory is reference counted: one reference for the
 * uv handle (released by the close callback) and one per entry that was
 * inserted and not yet released by its owner (through poll seeing it done,
 * or cancel).  So an owner on another thread may always lock the wheel it
 * points to, even while (or after) the wheel closes.
 */
#ifndef AX_TIME_WHEEL_H
#define AX_TIME_WHEEL_H

#include <stdatomic.h>

#include "axle/leaf.h"
#include "axle/time.h"

typedef struct ax__keeper_s ax__keeper_t;

/* A new wheel driving one uv_timer_t on loop; NULL on ENOMEM. */
ax__wheel_t *ax__wheel_new(uv_loop_t *loop);
/* Stops the timer and uv_close()s it (the loop must run once more for the
 * close callback).  Entries still registered are detached: their wakers are
 * dropped without waking, and their next poll registers them again on the
 * poller's wheel.  The memory goes when the last reference does. */
void ax__wheel_close(ax__wheel_t *w);
/* Number of registered entries (tests, stats). */
size_t ax__wheel_len(ax__wheel_t *w);
/* The loop the wheel's timer lives on. */
uv_loop_t *ax__wheel_loop(ax__wheel_t *w);
/* The timer stops keeping its loop alive (uv_unref): on a loop the
 * application runs, its uv_run returns with axle's sleeps pending.  On
 * the loop's thread. */
void ax__wheel_unref(ax__wheel_t *w);

/* Entry owner API.  e must be initialised (zeroed, or ax__timer_entry_init)
 * and not hold a wheel (e->wheel == NULL) for insert.
 *
 * ax__wheel_insert: registers e to fire at `deadline`, with a clone of
 *   waker.  Calling thread: w's loop thread.  Returns 0 (registered), 1 (the
 *   deadline has passed already: nothing registered) or AX_ESHUTDOWN (the
 *   wheel is closing).
 * ax__timer_entry_poll: e holds a wheel.  Returns 0 while registered (the
 *   stored waker becomes a clone of waker unless it already wakes the same
 *   task), AX__TIMER_FIRED once fired, AX__TIMER_DETACHED when its wheel
 *   closed first; in both last cases e has released its wheel.
 * ax__timer_entry_cancel: unregisters e if needed and releases its wheel;
 *   does nothing when e holds none.  Any thread. */
#define AX__TIMER_FIRED 1
#define AX__TIMER_DETACHED 2
void ax__timer_entry_init(ax_timer_entry_t *e);
int ax__wheel_insert(ax__wheel_t *w, ax_timer_entry_t *e,
                     ax_instant_t deadline, ax_waker_t *waker);
int ax__timer_entry_poll(ax_timer_entry_t *e, ax_waker_t *waker);
void ax__timer_entry_cancel(ax_timer_entry_t *e);

/* ---- the keeper's side (keeper.h) -------------------------------------
 *
 * ax__wheel_set_keeper: k is told (ax__keeper_note) whenever the wheel's
 *   earliest deadline moves earlier.  Before the wheel is used.
 * ax__wheel_watch_ns: the clock ns by which the home should have run the
 *   wheel (its earliest due slot), or UINT64_MAX; never later than the
 *   truth, sometimes earlier (an entry cancelled since).  Any thread.
 * ax__wheel_rescue: fires what is due now, on the calling thread (any
 *   thread; the wakes happen there); returns the number fired.
 * ax__wheel_rescued: how many entries rescues have fired (tests, bench). */
void ax__wheel_set_keeper(ax__wheel_t *w, ax__keeper_t *k);
uint64_t ax__wheel_watch_ns(ax__wheel_t *w);
size_t ax__wheel_rescue(ax__wheel_t *w);
size_t ax__wheel_rescued(ax__wheel_t *w);

/* ---- paused time ----------------------------------------------------------
 *
 * A paused wheel runs on a virtual clock that starts at the wheel's
 * creation and moves only when told to; its uv timer is never armed.
 * ax__wheel_pause: right after ax__wheel_new, before any entry.  The rest
 * on the home thread:
 * ax__wheel_advance: the clock moves ns forward (saturating) and every
 *   entry due fires, in deadline order; returns the number fired.
 * ax__wheel_advance_next: the clock jumps to the earliest deadline and
 *   what is due then fires; returns the number fired, 0 when no entry
 *   waits (or only ones centuries away: those never make time jump).
 * ax__wheel_now: the wheel's clock (virtual when paused), ns.
 * ax__wheels_paused: paused wheels alive (ax_instant_now looks at its
 *   thread's wheel only while this is not 0). */
void ax__wheel_pause(ax__wheel_t *w);
int ax__wheel_is_paused(const ax__wheel_t *w);
uint64_t ax__wheel_now(const ax__wheel_t *w);
size_t ax__wheel_advance(ax__wheel_t *w, uint64_t ns);
size_t ax__wheel_advance_next(ax__wheel_t *w);
extern _Atomic unsigned ax__wheels_paused;

/* ---- white-box test hooks --------------------------------------------- */

/* Replaces the wheels' clock (ns; NULL restores uv_hrtime) for tests that
 * drive a wheel on simulated time.  Process-wide: set it before creating
 * the wheel, restore it after. */
typedef uint64_t (*ax__wheel_clock_fn)(void);
void ax__wheel_set_clock(ax__wheel_clock_fn clock);
/* Does what the timer callback does: fires everything due at the wheel's
 * clock and re-arms the timer.  Home thread. */
void ax__wheel_run(ax__wheel_t *w);
/* Checks the wheel's invariants (slot placement, occupancy bits, count,
 * timer armed no later than the earliest deadline); 0 or -1. */
int ax__wheel_check(ax__wheel_t *w);

/* ax_timer_entry_t.phase, the owning future's view (sleep.c). */
#define AX__PHASE_IDLE 0      /* not registered: the next poll registers */
#define AX__PHASE_WAITING 1   /* holds a wheel (registered or fired) */
#define AX__PHASE_DONE 2      /* completed or dropped; result is final */

/* Polls a sleep as if the calling thread's wheel were w (NULL: no runtime).
 * ax_sleep's own poll is this with the current worker's wheel; tests use it
 * to drive a wheel on a plain uv loop. */
ax_poll_t ax__sleep_poll_on(ax_sleep_t *s, ax_cx_t *cx, ax__wheel_t *w);

#endif
