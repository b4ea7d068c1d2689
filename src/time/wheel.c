/* The per-worker hierarchical timing wheel (the rules are in wheel.h).
 *
 * Time inside a wheel is an integer count of milliseconds since the wheel
 * was created ("wheel ms").  A deadline converts to wheel ms rounding UP and
 * the current time rounding DOWN, so an entry never fires before its
 * deadline, whatever the timer's own rounding does.
 *
 * Invariant: `elapsed` <= every registered deadline, and an entry with
 * deadline d sits at level L = the highest base-64 digit in which d and
 * `elapsed` differ, slot = digit L of d.  Walking levels from 0 up, the first
 * occupied slot at or after the current digit is therefore the earliest
 * slot whose time has to be looked at; its start is where the uv timer is
 * armed.  When that time comes, the slot's entries fire (deadline equal to
 * the slot's time) or are re-inserted, which moves them to a lower level; a
 * late timer catches up slot by slot, so wakes always go in deadline order.
 */
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "core/context.h"
#include "core/list.h"
#include "time/keeper.h"
#include "time/wheel.h"

#define LEVELS 6
#define SLOT_BITS 6
#define SLOTS (1u << SLOT_BITS)
#define SLOT_MASK ((uint64_t)SLOTS - 1)
/* Deadlines further than this (2^36 ms, about 2.2 years) wait in the top
 * level and are re-inserted each time their slot comes round. */
#define MAX_SPAN ((uint64_t)1 << (LEVELS * SLOT_BITS))
#define NEVER UINT64_MAX
/* Wakers are collected under the lock and woken after it, this many at a
 * time, so a waker never runs with the wheel locked. */
#define WAKE_BATCH 32
/* Beyond this distance the timer is armed approximately (no overflow in
 * the ns arithmetic); it re-arms itself when it fires early. */
#define EXACT_ARM_MS ((uint64_t)86400000)

enum { ST_NONE = 0, ST_REGISTERED = 1, ST_FIRED = 2, ST_DETACHED = 3 };

struct ax__wheel_s {
  uv_mutex_t lock;                   /* guards the fields down to `rescued` */
  uint64_t elapsed;                  /* wheel ms the slots are relative to */
  uint64_t occupied[LEVELS];         /* bit s: slot s of the level non-empty */
  size_t len;                        /* registered entries */
  size_t refs;                       /* handle + entries holding the wheel */
  int closed;                        /* no more inserts */
  ax__link_t pending;                /* due slot being processed */
  ax__link_t slots[LEVELS][SLOTS];   /* the wheel */
  size_t rescued;                    /* entries fired by ax__wheel_rescue */
  /* Written under the lock, read by the keeper without it (keeper.h):
   * the wheel ms by which the home should have run the wheel (its
   * earliest slot), or NEVER.  Never later than that slot; earlier (a
   * cancelled entry) only makes the keeper look for nothing.  In wheel
   * ms, not ns: the insert compares it with the entry's deadline as is
   * (converting cost 20 instructions per insert in timers_1m), the
   * keeper converts. */
  _Atomic uint64_t watch;
  /* Set before the wheel is used, then read-only. */
  ax__keeper_t *keeper;              /* told when `watch` moves earlier */
  int paused;                        /* virtual clock (ax__wheel_pause) */
  uint64_t origin;                   /* clock at wheel ms 0 */
  /* Paused wheels: the virtual clock (ns), moved by the home thread,
   * read by ax_instant_now on it (atomic: a read from elsewhere is not a
   * race). */
  _Atomic uint64_t vnow;
  /* Home thread only (never under the lock, never from other threads). */
  uv_loop_t *loop;                   /* the loop the timer lives on */
  uv_timer_t timer;                  /* armed at `armed`, or stopped */
  uint64_t armed;                    /* wheel ms the timer fires at, NEVER */
};

/* ---- bits and lists ---------------------------------------------------- */

/* Index of the highest set bit (x != 0).  The fallback loop is for
 * compilers without the builtin; it runs at most 63 times. */
static unsigned high_bit(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return 63u - (unsigned)__builtin_clzll(x);
#else
  unsigned n = 0;
  while (x >>= 1) n++;
  return n;
#endif
}

static unsigned low_bit(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return (unsigned)__builtin_ctzll(x);
#else
  unsigned n = 0;
  while (!(x & 1u)) { x >>= 1; n++; }
  return n;
#endif
}

static uint64_t rotr(uint64_t x, unsigned n) {
  return n == 0 ? x : (x >> n) | (x << (64 - n));
}

static ax_timer_entry_t *entry_of(ax__link_t *l) {
  return ax__container_of(l, ax_timer_entry_t, link);
}

/* ---- clock ------------------------------------------------------------- */

/* NULL: uv_hrtime.  Atomic only so a test that swaps it stays TSan-clean. */
static _Atomic(ax__wheel_clock_fn) wheel_clock;

void ax__wheel_set_clock(ax__wheel_clock_fn clock) {
  atomic_store_explicit(&wheel_clock, clock, memory_order_relaxed);
}

static uint64_t clock_ns(void) {
  ax__wheel_clock_fn c =
      atomic_load_explicit(&wheel_clock, memory_order_relaxed);
  return c != NULL ? c() : uv_hrtime();
}

/* Paused wheels (the runtime's ax_instant_now too) read the virtual clock. */
_Atomic unsigned ax__wheels_paused;

static uint64_t wheel_now_ns(const ax__wheel_t *w) {
  if (w->paused) return atomic_load_explicit(&w->vnow, memory_order_relaxed);
  return clock_ns();
}

static uint64_t now_ms(const ax__wheel_t *w) {
  return (wheel_now_ns(w) - w->origin) / 1000000u;
}

/* The clock ns at which wheel ms `ms` begins (saturating: NEVER). */
static uint64_t ms_to_ns(const ax__wheel_t *w, uint64_t ms) {
  if (ms == NEVER || ms > (NEVER - w->origin) / 1000000u) return NEVER;
  return w->origin + ms * 1000000u;
}

static uint64_t deadline_ms(const ax__wheel_t *w, ax_instant_t deadline) {
  uint64_t d;
  if (deadline <= w->origin) return 0;
  d = deadline - w->origin;
  return d / 1000000u + (d % 1000000u != 0);
}

/* ---- the wheel proper (all under the lock) ----------------------------- */

/* level * SLOTS + slot where deadline `when` (> elapsed) belongs. */
static unsigned placement(uint64_t elapsed, uint64_t when) {
  uint64_t masked = (elapsed ^ when) | SLOT_MASK;
  unsigned level;
  if (masked >= MAX_SPAN) masked = MAX_SPAN - 1;
  level = high_bit(masked) / SLOT_BITS;
  return level * SLOTS +
         ((unsigned)(when >> (level * SLOT_BITS)) & (SLOTS - 1));
}

static void slot_insert(ax__wheel_t *w, ax_timer_entry_t *e) {
  unsigned where, level, s;
  if (e->deadline_ms <= w->elapsed) {
    /* Cannot happen with a monotonic clock; if it did, slot 0 of the
     * current digit would wait a whole revolution.  Later is never wrong. */
    e->deadline_ms = w->elapsed + 1;
  }
  where = placement(w->elapsed, e->deadline_ms);
  level = where / SLOTS;
  s = where % SLOTS;
  ax__list_push_back(&w->slots[level][s], &e->link);
  w->occupied[level] |= (uint64_t)1 << s;
  e->slot = (uint16_t)where;
}

/* Unlinks e from whatever list it is on.  e->slot names the slot it was
 * put in; if e sits in `pending` instead, that slot was emptied when the
 * list moved, and recomputing its bit from its emptiness is still right. */
static void slot_remove(ax__wheel_t *w, ax_timer_entry_t *e) {
  unsigned level = e->slot / SLOTS, s = e->slot % SLOTS;
  ax__list_remove(&e->link);
  if (ax__list_empty(&w->slots[level][s]))
    w->occupied[level] &= ~((uint64_t)1 << s);
}

/* Wheel ms at which the earliest occupied slot starts, or NEVER. */
static uint64_t next_due(const ax__wheel_t *w, unsigned *level_out,
                         unsigned *slot_out) {
  unsigned level;
  for (level = 0; level < LEVELS; level++) {
    uint64_t occ = w->occupied[level], range, start, when;
    unsigned shift = level * SLOT_BITS, cur, s;
    if (occ == 0) continue;
    /* Search from the slot after the current digit: below the top level
     * the current slot is always empty.  At the top level, the current slot
     * and those before it hold only entries beyond MAX_SPAN, due in the
     * next revolution, so they come last. */
    cur = ((unsigned)(w->elapsed >> shift) + 1) & (SLOTS - 1);
    s = (low_bit(rotr(occ, cur)) + cur) & (SLOTS - 1);
    range = (uint64_t)1 << (shift + SLOT_BITS);
    start = w->elapsed & ~(range - 1);
    when = start + ((uint64_t)s << shift);
    if (when <= w->elapsed) when += range;
    *level_out = level;
    *slot_out = s;
    return when;
  }
  return NEVER;
}

/* ---- references and the uv timer --------------------------------------- */

/* Drops one reference (lock held); returns 1 when it was the last: the
 * caller then frees the wheel with wheel_free() after unlocking.  The count
 * lives under the lock that every holder takes anyway: no extra atomics. */
static int unref_locked(ax__wheel_t *w) { return --w->refs == 0; }

static void wheel_free(ax__wheel_t *w) {
  if (w->paused) atomic_fetch_sub(&ax__wheels_paused, 1);
  uv_mutex_destroy(&w->lock);
  ax__free(w);
}

static void wheel_timer_cb(uv_timer_t *t);

/* Home thread: makes the uv timer fire at wheel ms `when` (`now` is the
 * current wheel ms), or stops it. */
static void wheel_arm(ax__wheel_t *w, uint64_t when, uint64_t now) {
  uint64_t timeout;
  if (w->paused) {
    /* Virtual deadlines: only an advance fires them, never the uv timer. */
    w->armed = when;
    return;
  }
  if (when == NEVER) {
    if (w->armed != NEVER) uv_timer_stop(&w->timer);
    w->armed = NEVER;
    return;
  }
  if (when == w->armed) return;
  /* The loop clock may be stale while a worker runs tasks: refresh it, then
   * aim at the loop-clock millisecond where wheel ms `when` has begun. */
  uv_update_time(w->loop);
  if (when - now > EXACT_ARM_MS || when < now) {
    timeout = when > now ? when - now : 0;
  } else {
    uint64_t target = (w->origin + when * 1000000u + 999999u) / 1000000u;
    uint64_t loop_now = uv_now(w->loop);
    timeout = target > loop_now ? target - loop_now : 0;
  }
  uv_timer_start(&w->timer, wheel_timer_cb, timeout, 0);
  w->armed = when;
}

static void wake_all(ax_waker_t **batch, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) ax_waker_wake(batch[i]);
}

static void drop_all(ax_waker_t **batch, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) ax_waker_drop(batch[i]);
}

/* Fires everything due at wheel ms `now`, from any thread: wakes all
 * but the last batch (the lock dropped around each), leaves that one in
 * batch[0 .. *n) for the caller, and returns the number of entries fired;
 * *next gets the next slot's time.  Publishes `watch`.  The home and the
 * keeper may both be in here at once: each step is under the lock, and a
 * slot being processed (`pending`) is finished by whoever holds it. */
static size_t fire_due(ax__wheel_t *w, uint64_t now, ax_waker_t **batch,
                       size_t *n, uint64_t *next) {
  size_t fired = 0;
  unsigned level, s;

  *n = 0;
  uv_mutex_lock(&w->lock);
  for (;;) {
    ax_timer_entry_t *e;
    if (ax__list_empty(&w->pending)) {
      uint64_t when = next_due(w, &level, &s);
      if (when > now) break;
      /* Take the whole slot first: an entry re-inserted below may land in
       * this same slot (top level only) and must not be seen again now. */
      ax__list_move_all(&w->slots[level][s], &w->pending);
      w->occupied[level] &= ~((uint64_t)1 << s);
      w->elapsed = when;
    }
    e = entry_of(w->pending.next);
    ax__list_remove(&e->link);
    if (e->deadline_ms > w->elapsed) {
      /* Not this millisecond yet: move it down, even if it is already
       * overdue, so that overdue entries still fire in deadline order. */
      slot_insert(w, e);
      continue;
    }
    /* From here the owner may see FIRED and free e as soon as we unlock:
     * keep only the waker. */
    e->state = ST_FIRED;
    w->len--;
    fired++;
    batch[(*n)++] = e->waker;
    e->waker = NULL;
    if (*n == WAKE_BATCH) {
      uv_mutex_unlock(&w->lock);
      wake_all(batch, *n);
      *n = 0;
      uv_mutex_lock(&w->lock);
    }
  }
  if (now > w->elapsed) w->elapsed = now;
  *next = next_due(w, &level, &s);
  atomic_store_explicit(&w->watch, *next, memory_order_relaxed);
  uv_mutex_unlock(&w->lock);
  return fired;
}

/* Home thread: fires everything due and re-arms the timer. */
static size_t wheel_run(ax__wheel_t *w) {
  ax_waker_t *batch[WAKE_BATCH];
  size_t n, fired;
  uint64_t now = now_ms(w), next;

  fired = fire_due(w, now, batch, &n, &next);
  /* Arm before the last wakes: a waker that registers a new entry right
   * away (an inline executor) then moves the timer earlier if it must,
   * and our `next` cannot overwrite that with a later time. */
  wheel_arm(w, next, now);
  wake_all(batch, n);
  return fired;
}

void ax__wheel_run(ax__wheel_t *w) { (void)wheel_run(w); }

size_t ax__wheel_rescue(ax__wheel_t *w) {
  ax_waker_t *batch[WAKE_BATCH];
  size_t n, fired;
  uint64_t next;
  /* No uv call: the timer is the home's.  It may fire later for nothing
   * (it is armed no later than the entries fired here were due). */
  fired = fire_due(w, now_ms(w), batch, &n, &next);
  if (fired != 0) {
    uv_mutex_lock(&w->lock);
    w->rescued += fired;
    uv_mutex_unlock(&w->lock);
  }
  wake_all(batch, n);
  return fired;
}

uint64_t ax__wheel_watch_ns(ax__wheel_t *w) {
  /* seq_cst: the keeper's side (keeper.c) */
  return ms_to_ns(w, atomic_load(&w->watch));
}

void ax__wheel_set_keeper(ax__wheel_t *w, ax__keeper_t *k) { w->keeper = k; }

size_t ax__wheel_rescued(ax__wheel_t *w) {
  size_t n;
  uv_mutex_lock(&w->lock);
  n = w->rescued;
  uv_mutex_unlock(&w->lock);
  return n;
}

/* ---- paused time --------------------------------------------------------- */

void ax__wheel_pause(ax__wheel_t *w) {
  w->paused = 1;
  atomic_store_explicit(&w->vnow, w->origin, memory_order_relaxed);
  atomic_fetch_add(&ax__wheels_paused, 1);
}

int ax__wheel_is_paused(const ax__wheel_t *w) { return w->paused; }

uint64_t ax__wheel_now(const ax__wheel_t *w) { return wheel_now_ns(w); }

/* Beyond this the virtual clock does not jump by itself: a sleep "for
 * ever" (ax_sleep_until(UINT64_MAX)) must not make the clock run to the
 * end of time, one wheel revolution per step. */
#define ADVANCE_LIMIT (UINT64_MAX / 2)

size_t ax__wheel_advance(ax__wheel_t *w, uint64_t ns) {
  uint64_t v = atomic_load_explicit(&w->vnow, memory_order_relaxed);
  if (!w->paused) return 0;
  v = ns > ADVANCE_LIMIT - v ? (v > ADVANCE_LIMIT ? v : ADVANCE_LIMIT) : v + ns;
  atomic_store_explicit(&w->vnow, v, memory_order_relaxed);
  return wheel_run(w);
}

size_t ax__wheel_advance_next(ax__wheel_t *w) {
  unsigned level, s;
  if (!w->paused) return 0;
  for (;;) {
    uint64_t next, at, v, first = NEVER;
    size_t fired;
    ax__link_t *l;
    uv_mutex_lock(&w->lock);
    next = next_due(w, &level, &s);
    /* The slot's start may be far before its entries' deadlines (an upper
     * level): a slot holding only "for ever" must not move the clock one
     * wheel revolution (2^36 ms) at a time to the end of time.  Later
     * slots hold later deadlines. */
    if (next != NEVER)
      for (l = w->slots[level][s].next; l != &w->slots[level][s]; l = l->next)
        if (entry_of(l)->deadline_ms < first) first = entry_of(l)->deadline_ms;
    uv_mutex_unlock(&w->lock);
    if (ms_to_ns(w, first) >= ADVANCE_LIMIT) return 0;   /* nothing due, ever */
    at = ms_to_ns(w, next);
    v = atomic_load_explicit(&w->vnow, memory_order_relaxed);
    if (at > v) atomic_store_explicit(&w->vnow, at, memory_order_relaxed);
    /* The slot's time may hold only entries that move down a level (a
     * far deadline's upper digits): then go on to the next slot. */
    if ((fired = wheel_run(w)) != 0) return fired;
  }
}

static void wheel_timer_cb(uv_timer_t *t) {
  ax__wheel_t *w = ax__container_of(t, ax__wheel_t, timer);
  ax__ctx_t *c = ax__ctx_current();
  int io = 0;
  w->armed = NEVER;   /* a one-shot timer that fired is stopped */
  /* A task woken by a timer has nothing tying it to this loop: the
   * scheduler may wake other workers for it (runtime/sched.c). */
  if (c != NULL) {
    io = c->io_wakes;
    c->io_wakes = 0;
  }
  wheel_run(w);
  if (c != NULL) c->io_wakes = io;
}

static void wheel_close_cb(uv_handle_t *h) {
  ax__wheel_t *w = ax__container_of(h, ax__wheel_t, timer);
  int last;
  uv_mutex_lock(&w->lock);
  last = unref_locked(w);
  uv_mutex_unlock(&w->lock);
  if (last) wheel_free(w);
}

/* ---- public (internal) API --------------------------------------------- */

ax__wheel_t *ax__wheel_new(uv_loop_t *loop) {
  ax__wheel_t *w = ax__malloc(sizeof *w);
  unsigned level, s;
  if (w == NULL) return NULL;
  memset(w, 0, sizeof *w);
  if (uv_mutex_init(&w->lock) != 0) {
    ax__free(w);
    return NULL;
  }
  ax__list_init(&w->pending);
  for (level = 0; level < LEVELS; level++)
    for (s = 0; s < SLOTS; s++) ax__list_init(&w->slots[level][s]);
  w->loop = loop;
  w->armed = NEVER;
  w->origin = clock_ns();
  atomic_init(&w->watch, NEVER);
  atomic_init(&w->vnow, w->origin);
  w->refs = 1;
  uv_timer_init(loop, &w->timer);   /* cannot fail */
  return w;
}

/* Detaches every entry of list h (lock held; may drop and retake it). */
static size_t detach_list(ax__wheel_t *w, ax__link_t *h, ax_waker_t **batch,
                          size_t n) {
  while (!ax__list_empty(h)) {
    ax_timer_entry_t *e = entry_of(h->next);
    slot_remove(w, e);
    e->state = ST_DETACHED;
    w->len--;
    batch[n++] = e->waker;
    e->waker = NULL;
    if (n == WAKE_BATCH) {
      /* Dropping a waker may free a task whose drop cancels an entry of
       * this very wheel: never with the lock held. */
      uv_mutex_unlock(&w->lock);
      drop_all(batch, n);
      n = 0;
      uv_mutex_lock(&w->lock);
    }
  }
  return n;
}

void ax__wheel_close(ax__wheel_t *w) {
  ax_waker_t *batch[WAKE_BATCH];
  size_t n = 0;
  unsigned level, s;

  uv_mutex_lock(&w->lock);
  w->closed = 1;
  n = detach_list(w, &w->pending, batch, n);
  for (level = 0; level < LEVELS; level++)
    for (s = 0; s < SLOTS; s++)
      n = detach_list(w, &w->slots[level][s], batch, n);
  uv_mutex_unlock(&w->lock);
  drop_all(batch, n);

  w->armed = NEVER;
  uv_close((uv_handle_t *)&w->timer, wheel_close_cb);
}

size_t ax__wheel_len(ax__wheel_t *w) {
  size_t n;
  uv_mutex_lock(&w->lock);
  n = w->len;
  uv_mutex_unlock(&w->lock);
  return n;
}

uv_loop_t *ax__wheel_loop(ax__wheel_t *w) { return w->loop; }

void ax__wheel_unref(ax__wheel_t *w) { uv_unref((uv_handle_t *)&w->timer); }

void ax__timer_entry_init(ax_timer_entry_t *e) { memset(e, 0, sizeof *e); }

int ax__wheel_insert(ax__wheel_t *w, ax_timer_entry_t *e,
                     ax_instant_t deadline, ax_waker_t *waker) {
  uint64_t now = wheel_now_ns(w), when;
  int earlier = 0;
  if (deadline <= now) return 1;
  when = deadline_ms(w, deadline);

  uv_mutex_lock(&w->lock);
  if (w->closed) {
    uv_mutex_unlock(&w->lock);
    return AX_ESHUTDOWN;
  }
  e->deadline_ms = when;
  e->waker = ax_waker_clone(waker);
  e->state = ST_REGISTERED;
  slot_insert(w, e);
  w->len++;
  w->refs++;
  /* The earliest deadline so far: the keeper must know (it may be asleep
   * until a later one).  seq_cst, paired with the keeper's (keeper.c). */
  if (e->deadline_ms < atomic_load_explicit(&w->watch, memory_order_relaxed)) {
    atomic_store(&w->watch, e->deadline_ms);
    earlier = 1;
  }
  uv_mutex_unlock(&w->lock);

  e->wheel = w;
  if (earlier && w->keeper != NULL)
    ax__keeper_note(w->keeper, ms_to_ns(w, when));
  /* `armed` is never later than the earliest deadline, so only an earlier
   * one needs the timer moved (and we are on the home thread). */
  if (when < w->armed) wheel_arm(w, when, (now - w->origin) / 1000000u);
  return 0;
}

int ax__timer_entry_poll(ax_timer_entry_t *e, ax_waker_t *waker) {
  ax__wheel_t *w = e->wheel;
  ax_waker_t *old = NULL;
  int st, last;

  uv_mutex_lock(&w->lock);
  st = e->state;
  if (st == ST_REGISTERED) {
    if (!ax_waker_will_wake(e->waker, waker)) {
      old = e->waker;
      e->waker = ax_waker_clone(waker);
    }
    uv_mutex_unlock(&w->lock);
    if (old != NULL) ax_waker_drop(old);
    return 0;
  }
  e->state = ST_NONE;
  last = unref_locked(w);
  uv_mutex_unlock(&w->lock);

  e->wheel = NULL;
  if (last) wheel_free(w);
  return st == ST_FIRED ? AX__TIMER_FIRED : AX__TIMER_DETACHED;
}

void ax__timer_entry_cancel(ax_timer_entry_t *e) {
  ax__wheel_t *w = e->wheel;
  ax_waker_t *waker = NULL;
  int last;
  if (w == NULL) return;

  uv_mutex_lock(&w->lock);
  if (e->state == ST_REGISTERED) {
    slot_remove(w, e);
    w->len--;
    waker = e->waker;
    e->waker = NULL;
  }
  e->state = ST_NONE;
  last = unref_locked(w);
  uv_mutex_unlock(&w->lock);

  e->wheel = NULL;
  if (last) wheel_free(w);
  if (waker != NULL) ax_waker_drop(waker);
}

int ax__wheel_check(ax__wheel_t *w) {
  uint64_t min = NEVER;
  unsigned level, lv, s, sl;
  size_t count = 0;
  int ok;

  uv_mutex_lock(&w->lock);
  ok = ax__list_empty(&w->pending);
  for (level = 0; level < LEVELS; level++) {
    for (s = 0; s < SLOTS; s++) {
      const ax__link_t *h = &w->slots[level][s], *l;
      int bit = (w->occupied[level] >> s) & 1;
      if (bit != !ax__list_empty(h)) ok = 0;
      for (l = h->next; l != h; l = l->next) {
        const ax_timer_entry_t *e = ax__container_of(l, ax_timer_entry_t, link);
        count++;
        if (e->state != ST_REGISTERED || e->slot != level * SLOTS + s ||
            e->deadline_ms <= w->elapsed ||
            placement(w->elapsed, e->deadline_ms) != e->slot)
          ok = 0;
        if (e->deadline_ms < min) min = e->deadline_ms;
      }
    }
  }
  if (count != w->len) ok = 0;
  if (min != NEVER && (w->armed > min || next_due(w, &lv, &sl) > min)) ok = 0;
  uv_mutex_unlock(&w->lock);
  return ok ? 0 : -1;
}
