/* What the suites share (the one helper header; axtest.h is the Check
 * glue every suite includes):
 *   th_leaf, th_counts   a leaf future that counts its polls and drops;
 *   th_task              a small async task (records where it ran, yields,
 *                        doubles its input);
 *   th_late              a poll that outlives its sleep's deadline;
 *   th_waker, th_cx      the counting waker and the context to poll by
 *                        hand with it (TH_POLL);
 *   th_assert_refused    a combinator refuses more futures than it holds;
 *   th_signal, th_latch  a one-shot signal and a count-down latch, both
 *                        usable from any thread;
 *   th_stuck             a poll that holds its worker until released;
 *   th_stopper           a task that shuts a runtime down in the background;
 *   th_hook              a panic-hook recorder;
 *   th_run & co          the runtime runner (and its parts);
 *   th_join              one future run as a task, and how it ended;
 *   th_joins, th_run_tasks  joining a group of tasks, spawning n of them;
 *   th_square            a square computed on the blocking pool;
 *   th_gui_spawn         workers that spawn onto a GUI runtime and await it;
 *   th_ticker, th_spawn_forever  a task that sleeps n times, and tasks
 *                        that only a shutdown ends;
 *   th_pool_threads      the size of libuv's threadpool.
 * Everything is static inline: each suite is one executable.
 *
 * None of these helpers measures time.  Tests wait for events (a latch, a
 * signal, a join handle) and assert counts, states and error codes.
 *
 * Loop tests run once per runtime flavour (AX_FLAVOURS in axtest.h):
 * _i == CURRENT on a current-thread runtime (deterministic order),
 * _i == MULTI on a multi-thread one; th_runtime(_i, workers, hook).
 */
#ifndef AX_TESTS_HELPERS_H
#define AX_TESTS_HELPERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <axle.h>

#include "axtest.h"

#define CURRENT 0   /* _i of the current-thread flavour */
#define MULTI 1     /* _i of the multi-thread flavour */

#define TH_ASSERT_OK(expr)                                                   \
  do {                                                                       \
    int th__rc = (expr);                                                     \
    ck_assert_msg(th__rc == 0, "%s: %s (%d)", #expr, ax_err_name(th__rc),   \
                  th__rc);                                                   \
  } while (0)

#define TH_ASSERT_ERR(expr, code)                                            \
  do {                                                                       \
    int th__rc = (expr);                                                     \
    ck_assert_msg(th__rc == (code), "%s: got %s (%d), expected %s", #expr,  \
                  ax_err_name(th__rc), th__rc, #code);                       \
  } while (0)

/* ---- counters ----------------------------------------------------------- */

/* What happened to a family of test futures (shared by their copies, so a
 * spawned copy reports here too). */
typedef struct th_counts_s {
  _Atomic int polls;    /* poll calls */
  _Atomic int readies;  /* polls that returned AX_READY */
  _Atomic int drops;    /* drop calls */
} th_counts_t;

static inline void th_counts_reset(th_counts_t *c) {
  atomic_store(&c->polls, 0);
  atomic_store(&c->readies, 0);
  atomic_store(&c->drops, 0);
}

/* ---- a leaf future ------------------------------------------------------
 *
 * Pending `pending` times, then ready with out = 42; pending < 0: pending
 * forever (it registers nothing, so only abort or shutdown ends its task).
 * wake_self: on each pending poll it wakes its own waker (by reference), so
 * the task is polled again without anyone else doing anything. */
typedef struct th_leaf_s {
  ax_future_t base;
  th_counts_t *c;   /* may be NULL */
  int pending;      /* pending polls left; < 0 forever */
  int wake_self;    /* wake_by_ref on every pending poll */
  int polls;        /* polls of this copy */
  int drops;        /* drops of this copy */
  int out;          /* 42 once ready */
} th_leaf_t;

static inline ax_poll_t th_leaf_poll(ax_future_t *f, ax_cx_t *cx) {
  th_leaf_t *l = (th_leaf_t *)f;
  l->polls++;
  if (l->c != NULL) atomic_fetch_add(&l->c->polls, 1);
  if (l->pending == 0) {
    l->out = 42;
    if (l->c != NULL) atomic_fetch_add(&l->c->readies, 1);
    return AX_READY;
  }
  if (l->pending > 0) l->pending--;
  if (l->wake_self) ax_waker_wake_by_ref(ax_cx_waker(cx));
  return AX_PENDING;
}

static inline void th_leaf_drop(ax_future_t *f) {
  th_leaf_t *l = (th_leaf_t *)f;
  l->drops++;
  if (l->c != NULL) atomic_fetch_add(&l->c->drops, 1);
}

static const ax_future_vtable_t th_leaf_vtable = {th_leaf_poll, th_leaf_drop,
                                                  "th_leaf"};

static inline ax_future_t *th_leaf(th_leaf_t *l, th_counts_t *c, int pending,
                                   int wake_self) {
  memset(l, 0, sizeof(*l));
  l->base.vtable = &th_leaf_vtable;
  l->c = c;
  l->pending = pending;
  l->wake_self = wake_self;
  return &l->base;
}

/* ---- a small task ---------------------------------------------------------
 *
 * The task many tests spawn or block on, an async function: it records
 * where it runs, yields `yields` times, then sets out = 2 * in. */
typedef struct th_task_s {
  ax_async_t co;
  ax_yield_t y;
  int in;             /* its input */
  int yields;         /* ax_yield_now awaits before the end */
  int k;              /* yields done */
  int out;            /* 2 * in, at the end */
  uint64_t id;        /* ax_task_id() where it ran */
  ax_runtime_t *rt;   /* ax_runtime_current() where it ran */
} th_task_t;

AX_ASYNC(th_task_fn, th_task_t, self) {
  AX_BEGIN(self);
  self->rt = ax_runtime_current();
  self->id = ax_task_id();
  for (self->k = 0; self->k < self->yields; self->k++)
    AX_AWAIT(ax_yield_now(&self->y));
  self->out = 2 * self->in;
  AX_END();
}

/* Fills in t (in and yields as given, the rest zeroed) and returns its
 * future, to spawn or to block on. */
static inline ax_future_t *th_task(th_task_t *t, int in, int yields) {
  memset(t, 0, sizeof(*t));
  t->in = in;
  t->yields = yields;
  return AX_FUTURE(th_task_fn, t);
}

/* ---- a deadline that passes before the worker parks ---------------------
 *
 * A future that registers a 1 ms sleep at its first poll and then keeps
 * its thread block_ms past that deadline, in the same poll (as a long poll
 * would): the sleep's timer is already due when the worker parks, and that
 * wake-up must not be lost (regression: the loop used to block forever).
 * uv_sleep makes the deadline pass for sure; nothing is timed. */
typedef struct th_late_s {
  ax_future_t base;
  ax_sleep_t nap;       /* the 1 ms sleep */
  unsigned block_ms;    /* how long the first poll keeps its thread */
  int polls;            /* polls so far */
} th_late_t;

static inline ax_poll_t th_late_poll(ax_future_t *f, ax_cx_t *cx) {
  th_late_t *l = (th_late_t *)f;
  /* The deadline is taken here, not before block_on (a slow start under a
   * sanitizer could pass it before the first poll). */
  if (++l->polls == 1) ax_sleep(&l->nap, 1);
  if (ax_poll(&l->nap.base, cx) == AX_READY) return AX_READY;
  if (l->polls == 1) uv_sleep(l->block_ms);
  return AX_PENDING;
}

static inline void th_late_drop(ax_future_t *f) {
  ax_drop(&((th_late_t *)f)->nap.base);
}

static const ax_future_vtable_t th_late_vtable = {th_late_poll, th_late_drop,
                                                  "th_late"};

static inline ax_future_t *th_late(th_late_t *l, unsigned block_ms) {
  memset(l, 0, sizeof(*l));
  l->base.vtable = &th_late_vtable;
  l->block_ms = block_ms;
  return &l->base;
}

/* ---- a counting waker, and a context to poll by hand with it ------------
 *
 * refs counts the clones alive, not the owner's reference: it starts at 0,
 * and 0 at the end of a test says that no clone was left behind.  The
 * counters are atomic (a waker may be cloned, woken and dropped on any
 * thread); read them as plain ints, C11 loads them atomically. */
typedef struct th_waker_s th_waker_t;
struct th_waker_s {
  ax_waker_t base;
  _Atomic int refs;                 /* clones alive */
  _Atomic int wakes;                /* wake + wake_by_ref calls */
  void (*on_wake)(th_waker_t *w);   /* runs after each wake; may be NULL */
  int tag;                          /* the test's own number, for on_wake */
};

static inline ax_waker_t *th_waker_clone(ax_waker_t *w) {
  atomic_fetch_add(&((th_waker_t *)w)->refs, 1);
  return w;
}
static inline void th_waker_wake_by_ref(ax_waker_t *w) {
  th_waker_t *t = (th_waker_t *)w;
  atomic_fetch_add(&t->wakes, 1);
  if (t->on_wake != NULL) t->on_wake(t);
}
static inline void th_waker_drop(ax_waker_t *w) {
  atomic_fetch_sub(&((th_waker_t *)w)->refs, 1);
}
static inline void th_waker_wake(ax_waker_t *w) {
  th_waker_wake_by_ref(w);
  th_waker_drop(w);
}
static const ax_waker_vtable_t th_waker_vtable = {
    th_waker_clone, th_waker_wake, th_waker_wake_by_ref, th_waker_drop};

static inline ax_waker_t *th_waker_init(th_waker_t *w) {
  w->base.vtable = &th_waker_vtable;
  atomic_init(&w->refs, 0);
  atomic_init(&w->wakes, 0);
  w->on_wake = NULL;
  w->tag = 0;
  return &w->base;
}

/* A counting waker and the context that hands it to a poll. */
typedef struct th_cx_s {
  th_waker_t w;   /* what the polled futures register */
  ax_cx_t cx;     /* the context built around it */
} th_cx_t;

static inline ax_cx_t *th_cx_init(th_cx_t *c) {
  ax_cx_init(&c->cx, th_waker_init(&c->w));
  return &c->cx;
}

/* Several at once: TH_CX_INIT(&c1, &c2, &c3). */
static inline void th_cx_init_all(th_cx_t *const *cs, size_t n) {
  for (size_t i = 0; i < n; i++) th_cx_init(cs[i]);
}
#define TH_CX_INIT(...)                                                      \
  th_cx_init_all((th_cx_t *const[]){__VA_ARGS__},                           \
                 sizeof((th_cx_t *const[]){__VA_ARGS__}) / sizeof(th_cx_t *))

/* Polls fut with c's context: TH_POLL(ax_mutex_lock(&g, &m), &c). */
#define TH_POLL(fut, c) ax_poll((fut), &(c)->cx)

/* ---- combinators handed more futures than they hold ----------------------
 *
 * th_leaves(&lv, n) makes n leaves that pend forever (n <= TH_LEAVES_MAX),
 * counted in lv.c, and returns the array of their futures.
 * th_assert_refused(fut, &comb.result, &lv, n): fut, a combinator built
 * over those n leaves, refuses them: its first poll is ready with
 * AX_EINVAL, every leaf was dropped unpolled, its own drop drops none a
 * second time, and no waker clone is left behind. */
#define TH_LEAVES_MAX (AX_SELECT_INLINE + 2)

typedef struct th_leaves_s {
  th_counts_t c;
  th_leaf_t l[TH_LEAVES_MAX];
  ax_future_t *futs[TH_LEAVES_MAX];
} th_leaves_t;

static inline ax_future_t **th_leaves(th_leaves_t *lv, size_t n) {
  size_t k;
  ck_assert_uint_le(n, TH_LEAVES_MAX);
  th_counts_reset(&lv->c);
  for (k = 0; k < n; k++) lv->futs[k] = th_leaf(&lv->l[k], &lv->c, -1, 0);
  return lv->futs;
}

static inline void th_assert_refused(ax_future_t *fut, const int *result,
                                     th_leaves_t *lv, size_t n) {
  th_cx_t cx;
  th_cx_init(&cx);
  ck_assert_int_eq(TH_POLL(fut, &cx), AX_READY);
  TH_ASSERT_ERR(*result, AX_EINVAL);
  ck_assert_int_eq(atomic_load(&lv->c.polls), 0);
  ck_assert_int_eq(atomic_load(&lv->c.drops), (int)n);
  ax_drop(fut);
  ck_assert_int_eq(atomic_load(&lv->c.drops), (int)n);
  ck_assert_int_eq(cx.w.refs, 0);
}

/* ---- one stored waker, under a lock -------------------------------------
 *
 * The signal and the latch below keep their waiter's waker in a slot under
 * a mutex.  th_forget_waker empties the slot and drops what it held (a
 * waiter that goes away); th_store_waker_locked puts a clone of cx's waker
 * there unless it already holds one that wakes the same task, and returns
 * the waker it replaced (to drop outside the lock), or NULL. */
static inline void th_forget_waker(uv_mutex_t *lock, ax_waker_t **slot) {
  ax_waker_t *w;
  uv_mutex_lock(lock);
  w = *slot;
  *slot = NULL;
  uv_mutex_unlock(lock);
  if (w != NULL) ax_waker_drop(w);
}

static inline ax_waker_t *th_store_waker_locked(ax_waker_t **slot,
                                                ax_cx_t *cx) {
  ax_waker_t *old = *slot;
  if (old != NULL && ax_waker_will_wake(old, ax_cx_waker(cx))) return NULL;
  *slot = ax_waker_clone(ax_cx_waker(cx));
  return old;
}

/* ---- a one-shot signal, fired from any thread ----------------------------
 *
 * th_sigwait() is a future that is ready once th_signal_fire() was called;
 * one waiter at a time.  Its drop unregisters the stored waker. */
typedef struct th_signal_s {
  uv_mutex_t lock;
  ax_waker_t *waker;   /* the waiter's clone, under lock */
  int fired;           /* under lock */
} th_signal_t;

static inline void th_signal_init(th_signal_t *s) {
  uv_mutex_init(&s->lock);
  s->waker = NULL;
  s->fired = 0;
}

static inline void th_signal_destroy(th_signal_t *s) {
  ck_assert_ptr_null(s->waker);  /* every waiter went away */
  uv_mutex_destroy(&s->lock);
}

static inline void th_signal_fire(th_signal_t *s) {
  ax_waker_t *w;
  uv_mutex_lock(&s->lock);
  s->fired = 1;
  w = s->waker;
  s->waker = NULL;
  uv_mutex_unlock(&s->lock);
  if (w != NULL) ax_waker_wake(w);
}

typedef struct th_sigwait_s {
  ax_future_t base;
  th_signal_t *s;
  th_counts_t *c;   /* may be NULL */
} th_sigwait_t;

static inline ax_poll_t th_sigwait_poll(ax_future_t *f, ax_cx_t *cx) {
  th_sigwait_t *sw = (th_sigwait_t *)f;
  th_signal_t *s = sw->s;
  ax_waker_t *old = NULL;
  int fired;
  if (sw->c != NULL) atomic_fetch_add(&sw->c->polls, 1);
  uv_mutex_lock(&s->lock);
  fired = s->fired;
  if (!fired) old = th_store_waker_locked(&s->waker, cx);
  uv_mutex_unlock(&s->lock);
  if (old != NULL) ax_waker_drop(old);
  if (fired && sw->c != NULL) atomic_fetch_add(&sw->c->readies, 1);
  return fired ? AX_READY : AX_PENDING;
}

static inline void th_sigwait_drop(ax_future_t *f) {
  th_sigwait_t *sw = (th_sigwait_t *)f;
  if (sw->s == NULL) return;
  th_forget_waker(&sw->s->lock, &sw->s->waker);
  if (sw->c != NULL) atomic_fetch_add(&sw->c->drops, 1);
  sw->s = NULL;
}

static const ax_future_vtable_t th_sigwait_vtable = {
    th_sigwait_poll, th_sigwait_drop, "th_sigwait"};

static inline ax_future_t *th_sigwait(th_sigwait_t *sw, th_signal_t *s,
                                      th_counts_t *c) {
  sw->base.vtable = &th_sigwait_vtable;
  sw->s = s;
  sw->c = c;
  return &sw->base;
}

/* ---- a count-down latch ---------------------------------------------------
 *
 * th_latch_down() from any thread; th_latch_wait() (a future, one waiter)
 * or th_latch_wait_blocking() (plain threads) until the count reaches 0. */
typedef struct th_latch_s {
  _Atomic long count;
  uv_mutex_t lock;
  uv_cond_t cond;
  int done;            /* under lock */
  ax_waker_t *waker;   /* under lock */
} th_latch_t;

static inline void th_latch_init(th_latch_t *l, long n) {
  atomic_init(&l->count, n);
  uv_mutex_init(&l->lock);
  uv_cond_init(&l->cond);
  l->done = n <= 0;
  l->waker = NULL;
}

static inline void th_latch_destroy(th_latch_t *l) {
  ck_assert_ptr_null(l->waker);
  uv_cond_destroy(&l->cond);
  uv_mutex_destroy(&l->lock);
}

static inline void th_latch_down(th_latch_t *l) {
  ax_waker_t *w;
  if (atomic_fetch_sub(&l->count, 1) != 1) return;
  uv_mutex_lock(&l->lock);
  l->done = 1;
  w = l->waker;
  l->waker = NULL;
  uv_cond_broadcast(&l->cond);
  uv_mutex_unlock(&l->lock);
  if (w != NULL) ax_waker_wake(w);
}

static inline void th_latch_wait_blocking(th_latch_t *l) {
  uv_mutex_lock(&l->lock);
  while (!l->done) uv_cond_wait(&l->cond, &l->lock);
  uv_mutex_unlock(&l->lock);
}

typedef struct th_latchwait_s {
  ax_future_t base;
  th_latch_t *l;
} th_latchwait_t;

static inline ax_poll_t th_latchwait_poll(ax_future_t *f, ax_cx_t *cx) {
  th_latch_t *l = ((th_latchwait_t *)f)->l;
  ax_waker_t *old = NULL;
  int done;
  uv_mutex_lock(&l->lock);
  done = l->done;
  if (!done) old = th_store_waker_locked(&l->waker, cx);
  uv_mutex_unlock(&l->lock);
  if (old != NULL) ax_waker_drop(old);
  return done ? AX_READY : AX_PENDING;
}

static inline void th_latchwait_drop(ax_future_t *f) {
  th_latchwait_t *lw = (th_latchwait_t *)f;
  if (lw->l == NULL) return;
  th_forget_waker(&lw->l->lock, &lw->l->waker);
  lw->l = NULL;
}

static const ax_future_vtable_t th_latchwait_vtable = {
    th_latchwait_poll, th_latchwait_drop, "th_latchwait"};

static inline ax_future_t *th_latch_wait(th_latchwait_t *lw, th_latch_t *l) {
  lw->base.vtable = &th_latchwait_vtable;
  lw->l = l;
  return &lw->base;
}

/* ---- a poll that holds its worker ----------------------------------------
 *
 * th_stuck(&st, &hold) is a future (to spawn: copies share `hold`) whose
 * poll counts hold.inside down and then keeps its thread until
 * th_hold_release(&hold), then is ready: a worker stuck in a poll, for
 * the tests of what a shutdown does meanwhile.  th_hold_wait(&hold)
 * returns once a poll holds its thread. */
typedef struct th_hold_s {
  th_latch_t inside;   /* down once a poll holds its thread */
  uv_sem_t release;    /* posted to let it go */
} th_hold_t;

typedef struct th_stuck_s {
  ax_future_t base;
  th_hold_t *hold;
} th_stuck_t;

static inline void th_hold_init(th_hold_t *h) {
  th_latch_init(&h->inside, 1);
  ck_assert_int_eq(uv_sem_init(&h->release, 0), 0);
}

static inline void th_hold_wait(th_hold_t *h) {
  th_latch_wait_blocking(&h->inside);
}

static inline void th_hold_release(th_hold_t *h) { uv_sem_post(&h->release); }

static inline void th_hold_destroy(th_hold_t *h) {
  th_latch_destroy(&h->inside);
  uv_sem_destroy(&h->release);
}

static inline ax_poll_t th_stuck_poll(ax_future_t *f, ax_cx_t *cx) {
  th_hold_t *h = ((th_stuck_t *)f)->hold;
  (void)cx;
  th_latch_down(&h->inside);
  uv_sem_wait(&h->release);   /* blocks its worker: what the test is for */
  return AX_READY;
}

static const ax_future_vtable_t th_stuck_vtable = {th_stuck_poll, NULL,
                                                   "th_stuck"};

static inline ax_future_t *th_stuck(th_stuck_t *st, th_hold_t *h) {
  st->base.vtable = &th_stuck_vtable;
  st->hold = h;
  return &st->base;
}

/* ---- a task that shuts a runtime down in the background ------------------
 *
 * th_stopper(&st, rt): a task (to spawn) that calls
 * ax_runtime_shutdown_background(rt), from wherever it runs. */
typedef struct th_stopper_s {
  ax_async_t co;
  ax_runtime_t *rt;
} th_stopper_t;

AX_ASYNC(th_stopper_fn, th_stopper_t, self) {
  AX_BEGIN(self);
  ax_runtime_shutdown_background(self->rt);
  AX_END();
}

static inline ax_future_t *th_stopper(th_stopper_t *st, ax_runtime_t *rt) {
  memset(st, 0, sizeof(*st));
  st->rt = rt;
  return AX_FUTURE(th_stopper_fn, st);
}

/* ---- panic hook recorder ------------------------------------------------- */

typedef struct th_hook_s {
  _Atomic int calls;
  uv_mutex_t lock;
  char msg[256];    /* last message */
  char name[64];    /* last task name, "" when unnamed */
} th_hook_t;

static inline void th_hook_init(th_hook_t *h) {
  atomic_init(&h->calls, 0);
  uv_mutex_init(&h->lock);
  h->msg[0] = h->name[0] = '\0';
}

static inline void th_hook_destroy(th_hook_t *h) { uv_mutex_destroy(&h->lock); }

static inline void th_hook_fn(const char *msg, const char *name, void *arg) {
  th_hook_t *h = arg;
  uv_mutex_lock(&h->lock);
  snprintf(h->msg, sizeof(h->msg), "%s", msg ? msg : "(null)");
  snprintf(h->name, sizeof(h->name), "%s", name ? name : "");
  uv_mutex_unlock(&h->lock);
  atomic_fetch_add(&h->calls, 1);
}

/* ---- runtimes ------------------------------------------------------------ */

/* A runtime of the flavour a loop test's _i names: current-thread
 * (multi == 0) or multi-thread with `workers` workers; `hook` (may be
 * NULL) records the panics nobody joined. */
static inline ax_runtime_t *th_runtime(int multi, unsigned workers,
                                       th_hook_t *hook) {
  ax_builder_t b;
  ax_runtime_t *rt = NULL;
  int rc;
  ax_builder_init(&b, multi ? AX_MULTI_THREAD : AX_CURRENT_THREAD);
  if (multi) b.worker_threads = workers;
  if (hook != NULL) {
    b.panic_hook = th_hook_fn;
    b.panic_hook_arg = hook;
  }
  rc = ax_runtime_new(&b, &rt);
  ck_assert_msg(rc == 0, "ax_runtime_new: %s", ax_strerror(rc));
  ck_assert_ptr_nonnull(rt);
  return rt;
}

/* The runner, and its parts for the tests that need the runtime itself
 * (to spawn on it first, to run twice on it, to look at it, or at counts
 * its shutdown would change, before the end):
 *   th_block_on  runs fut to completion on rt (block_on must succeed);
 *   th_finish    drops fut (the caller's once block_on returned) and shuts
 *                rt down;
 *   th_start     th_runtime + th_block_on;
 *   th_run_on    th_block_on + th_finish;
 *   th_run       all of it on a fresh runtime: everything the tasks did is
 *                over when it returns. */
static inline ax_runtime_t *th_block_on(ax_runtime_t *rt, ax_future_t *fut) {
  TH_ASSERT_OK(ax_block_on(rt, fut));
  return rt;
}

static inline void th_finish(ax_runtime_t *rt, ax_future_t *fut) {
  ax_drop(fut);
  ax_runtime_free(rt);
}

static inline ax_runtime_t *th_start(int multi, unsigned workers,
                                     ax_future_t *fut) {
  return th_block_on(th_runtime(multi, workers, NULL), fut);
}

static inline void th_run_on(ax_runtime_t *rt, ax_future_t *fut) {
  th_finish(th_block_on(rt, fut), fut);
}

static inline void th_run(int multi, unsigned workers, ax_future_t *fut) {
  th_run_on(th_runtime(multi, workers, NULL), fut);
}

/* th_run for tests whose tasks count what they found wrong in *errors
 * (a ck_assert failing on a worker thread would not unwind cleanly): the
 * count starts at 0 and must still be 0 at the end. */
static inline void th_run_checked(int multi, unsigned workers,
                                  ax_future_t *fut, _Atomic int *errors) {
  atomic_store(errors, 0);
  th_run(multi, workers, fut);
  ck_assert_int_eq(atomic_load(errors), 0);
}

/* ---- one future run as a task -------------------------------------------
 *
 * th_join(&j, fut, size) is the future to block on: it spawns fut (never
 * polled yet, size bytes, copied by the spawn) on the current runtime and
 * waits for that task, so a test body runs as a real task (with the
 * cooperative budget a block_on future does not get).  Then j.result is
 * the spawn's error, or else the task's result, and j.panic its panic
 * message ("" when it did not panic). */
typedef struct th_join_s {
  ax_async_t co;
  ax_future_t *fut;   /* to spawn */
  size_t size;        /* its size, for ax_spawn */
  ax_join_t h;        /* its task */
  int result;         /* the spawn's error, else the task's result */
  char panic[256];    /* its panic message, or "" */
} th_join_t;

AX_ASYNC(th_join_fn, th_join_t, self) {
  AX_BEGIN(self);
  self->result = ax_spawn(self->fut, self->size, &self->h);
  if (self->result != 0) AX_RETURN();
  AX_AWAIT(ax_join_wait(&self->h));
  self->result = self->h.result;
  snprintf(self->panic, sizeof(self->panic), "%s",
           ax_join_panic_message(&self->h) ? ax_join_panic_message(&self->h)
                                           : "");
  ax_join_drop(&self->h);
  AX_END();
}

static inline ax_future_t *th_join(th_join_t *j, ax_future_t *fut,
                                   size_t size) {
  memset(j, 0, sizeof(*j));
  j->fut = fut;
  j->size = size;
  return AX_FUTURE(th_join_fn, j);
}

/* ---- joining a group of tasks -------------------------------------------
 *
 * AX_AWAIT(th_joins(&self->j, self->h, n)): awaits the n handles in order
 * and drops each; then j.failed counts the tasks that did not end with 0. */
typedef struct th_joins_s {
  ax_future_t base;
  ax_join_t *h;    /* the handles */
  size_t n;        /* how many */
  size_t next;     /* the first one not joined yet */
  int failed;      /* results other than 0 */
} th_joins_t;

static inline ax_poll_t th_joins_poll(ax_future_t *f, ax_cx_t *cx) {
  th_joins_t *j = (th_joins_t *)f;
  for (; j->next < j->n; j->next++) {
    ax_join_t *h = &j->h[j->next];
    if (ax_poll(ax_join_wait(h), cx) == AX_PENDING) return AX_PENDING;
    if (h->result != 0) j->failed++;
    ax_join_drop(h);
  }
  return AX_READY;
}

/* Dropped early, it drops the handles not joined yet (detaching them). */
static inline void th_joins_drop(ax_future_t *f) {
  th_joins_t *j = (th_joins_t *)f;
  for (; j->next < j->n; j->next++) ax_join_drop(&j->h[j->next]);
}

static const ax_future_vtable_t th_joins_vtable = {th_joins_poll,
                                                   th_joins_drop, "th_joins"};

static inline ax_future_t *th_joins(th_joins_t *j, ax_join_t *h, size_t n) {
  j->base.vtable = &th_joins_vtable;
  j->h = h;
  j->n = n;
  j->next = 0;
  j->failed = 0;
  return &j->base;
}

/* A driver that spawns n tasks, task i built by make(buf, i) in a zeroed
 * buffer of `size` bytes, and joins them all; th_run_tasks runs it on a fresh
 * runtime and asserts that every spawn and every task succeeded
 * (th_run_tasks_on: the same on rt, a runtime built some other way, which
 * it frees). */
typedef ax_future_t *(*th_make_fn)(void *buf, size_t i);
#define TH_TASK_MAX 512   /* the largest task state make() may build */

typedef struct th_spawner_s {
  ax_future_t base;
  th_make_fn make;      /* builds task i */
  size_t size, n;       /* task size, count */
  ax_join_t *h;         /* n handles */
  int spawned;          /* the spawns are done (first poll) */
  int spawn_err;        /* spawns that failed */
  th_joins_t joins;     /* awaits the handles */
} th_spawner_t;

static inline ax_poll_t th_spawner_poll(ax_future_t *f, ax_cx_t *cx) {
  th_spawner_t *sp = (th_spawner_t *)f;
  if (!sp->spawned) {
    for (size_t i = 0; i < sp->n; i++) {
      union { max_align_t a; unsigned char b[TH_TASK_MAX]; } buf;
      memset(&buf, 0, sp->size);
      if (ax_spawn(sp->make(&buf, i), sp->size, &sp->h[i]) != 0)
        sp->spawn_err++;
    }
    sp->spawned = 1;
    th_joins(&sp->joins, sp->h, sp->n);
  }
  return ax_poll(&sp->joins.base, cx);
}

static const ax_future_vtable_t th_spawner_vtable = {th_spawner_poll, NULL,
                                                     "th_spawner"};

static inline void th_run_tasks_on(ax_runtime_t *rt, th_make_fn make,
                                   size_t size, size_t n) {
  th_spawner_t sp;
  ck_assert_uint_le(size, TH_TASK_MAX);
  memset(&sp, 0, sizeof sp);
  sp.base.vtable = &th_spawner_vtable;
  sp.make = make;
  sp.size = size;
  sp.n = n;
  sp.h = calloc(n, sizeof *sp.h);
  ck_assert_ptr_nonnull(sp.h);
  th_run_on(rt, &sp.base);
  ck_assert_int_eq(sp.spawn_err, 0);
  ck_assert_int_eq(sp.joins.failed, 0);
  free(sp.h);
}

static inline void th_run_tasks(int multi, unsigned workers, th_make_fn make,
                                size_t size, size_t n) {
  th_run_tasks_on(th_runtime(multi, workers, NULL), make, size, n);
}

/* ---- a square on the blocking pool --------------------------------------
 *
 * th_square_job(v) returns v * v (a blocking job, for ax_spawn_blocking);
 * AX_AWAIT(th_square(&self->sq, in)) computes it on the pool from a task:
 * then sq.rc is the spawn's error (0) and sq.out is in * in. */
static inline void *th_square_job(void *arg) {
  intptr_t v = (intptr_t)arg;
  return (void *)(v * v);
}

typedef struct th_square_s {
  ax_async_t co;
  ax_join_t h;   /* the job */
  int in;        /* its input */
  int rc;        /* ax_spawn_blocking's error */
  int out;       /* in * in, once it succeeded */
} th_square_t;

AX_ASYNC(th_square_fn, th_square_t, self) {
  AX_BEGIN(self);
  self->rc = ax_spawn_blocking(th_square_job, (void *)(intptr_t)self->in,
                               &self->h);
  if (self->rc != 0) AX_RETURN();
  AX_AWAIT(ax_join_wait(&self->h));
  self->out = (int)(intptr_t)ax_join_value(&self->h);
  ax_join_drop(&self->h);
  AX_END();
}

static inline ax_future_t *th_square(th_square_t *sq, int in) {
  memset(sq, 0, sizeof(*sq));
  sq->in = in;
  return AX_FUTURE(th_square_fn, sq);
}

/* ---- workers and a GUI thread (the desktop adapters' suites) -------------
 *
 * th_gui_spawn(mt, r) spawns r->n worker tasks on mt.  Worker i (never on
 * the GUI thread) spawns a GUI task onto r->gui and awaits it; the GUI
 * task (only ever on the GUI thread, as r->on_gui() says) sleeps i % 3 ms,
 * squares i on the blocking pool (th_square) and, when r->path is set and
 * i % 10 == 0, reads that file; the worker checks the square.  The last
 * worker to finish calls r->last(r->last_arg), which ends the GUI loop
 * (0, or an error).  Whatever went wrong counts in r->wrong; r->done
 * counts the workers that finished. */
typedef struct th_gui_run_s {
  ax_runtime_t *gui;                /* the GUI runtime */
  int (*on_gui)(void);              /* is this thread the GUI thread? */
  const char *path;                 /* a file to read, or NULL */
  int (*last)(void *arg);           /* ends the GUI loop */
  void *last_arg;
  int n;                            /* workers */
  _Atomic int wrong, done;
} th_gui_run_t;

typedef struct th_gui_task_s {
  ax_async_t co;
  th_gui_run_t *r;
  const char *path;   /* the file to read, or NULL */
  ax_sleep_t nap;
  th_square_t sq;
  ax_fs_t fs;
  ax_bytes_t data;
  int in, out;        /* out = in * in */
} th_gui_task_t;

AX_ASYNC(th_gui_task_fn, th_gui_task_t, self) {
  if (!self->r->on_gui()) atomic_fetch_add(&self->r->wrong, 1);
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->nap, (uint64_t)(self->in % 3)));
  AX_AWAIT(th_square(&self->sq, self->in));
  if (self->sq.rc != 0) {
    atomic_fetch_add(&self->r->wrong, 1);
    AX_RETURN();
  }
  self->out = self->sq.out;
  if (self->path != NULL) {
    AX_AWAIT(ax_fs_read_file(&self->fs, self->path, &self->data));
    if (self->fs.result != 0 || self->data.len == 0)
      atomic_fetch_add(&self->r->wrong, 1);
    ax_bytes_free(&self->data);
  }
  AX_END();
}

typedef struct th_gui_worker_s {
  ax_async_t co;
  th_gui_run_t *r;
  ax_join_t h;
  th_gui_task_t g;
  int in;
} th_gui_worker_t;

AX_ASYNC(th_gui_worker_fn, th_gui_worker_t, self) {
  th_gui_run_t *r = self->r;
  AX_BEGIN(self);
  if (r->on_gui()) atomic_fetch_add(&r->wrong, 1);
  self->g.r = r;
  self->g.in = self->in;
  self->g.path = self->in % 10 == 0 ? r->path : NULL;
  if (ax_spawn_on(r->gui, AX_FUTURE(th_gui_task_fn, &self->g),
                  sizeof(self->g), &self->h) != 0) {
    atomic_fetch_add(&r->wrong, 1);
  } else {
    AX_AWAIT(ax_join_wait(&self->h));
    if (self->h.result != 0 ||
        AX_JOIN_OUTPUT(&self->h, th_gui_task_t)->out != self->in * self->in)
      atomic_fetch_add(&r->wrong, 1);
    ax_join_drop(&self->h);
  }
  if (atomic_fetch_add(&r->done, 1) + 1 == r->n && r->last(r->last_arg) != 0)
    atomic_fetch_add(&r->wrong, 1);
  AX_END();
}

static inline void th_gui_spawn(ax_runtime_t *mt, th_gui_run_t *r) {
  int i;
  atomic_store(&r->wrong, 0);
  atomic_store(&r->done, 0);
  for (i = 0; i < r->n; i++) {
    th_gui_worker_t w;
    memset(&w, 0, sizeof(w));
    w.r = r;
    w.in = i;
    TH_ASSERT_OK(ax_spawn_on(mt, AX_FUTURE(th_gui_worker_fn, &w), sizeof(w),
                             NULL));
  }
}

/* ---- tickers and tasks that never end (the adapters' suites too) --------
 *
 * th_ticker: `ticks` sleeps of `ms` each, then then() (when set), on the
 * thread that polls it.  th_spawn_forever(rt, n, job, &drops) spawns n
 * tasks on rt that each run job (when set) on the blocking pool, then
 * sleep for an hour: only a shutdown ends them, and each one's drop
 * counts in *drops. */
typedef struct th_ticker_s {
  ax_async_t co;
  ax_sleep_t nap;
  int ticks;              /* sleeps left */
  uint64_t ms;            /* each one's length */
  void (*then)(void);     /* after the last one, or NULL */
} th_ticker_t;

AX_ASYNC(th_ticker_fn, th_ticker_t, self) {
  AX_BEGIN(self);
  for (; self->ticks > 0; self->ticks--)
    AX_AWAIT(ax_sleep(&self->nap, self->ms));
  if (self->then != NULL) self->then();
  AX_END();
}

static inline ax_future_t *th_ticker(th_ticker_t *t, int ticks, uint64_t ms,
                                     void (*then)(void)) {
  memset(t, 0, sizeof(*t));
  t->ticks = ticks;
  t->ms = ms;
  t->then = then;
  return AX_FUTURE(th_ticker_fn, t);
}

typedef struct th_forever_s {
  ax_async_t co;
  void *(*job)(void *arg);   /* run first on the pool, or NULL */
  ax_join_t h;
  ax_sleep_t nap;
  _Atomic int *drops;
} th_forever_t;

AX_ASYNC(th_forever_fn, th_forever_t, self) {
  AX_BEGIN(self);
  if (self->job != NULL && ax_spawn_blocking(self->job, NULL, &self->h) == 0)
    AX_AWAIT(ax_join_wait(&self->h));
  AX_AWAIT(ax_sleep(&self->nap, 3600 * 1000));
  AX_END();
}

AX_ASYNC_DROP(th_forever_drop, th_forever_t, self) {
  ax_join_drop(&self->h);
  atomic_fetch_add(self->drops, 1);
}

static inline void th_spawn_forever(ax_runtime_t *rt, int n,
                                    void *(*job)(void *), _Atomic int *drops) {
  int i;
  for (i = 0; i < n; i++) {
    th_forever_t f;
    memset(&f, 0, sizeof(f));
    f.job = job;
    f.drops = drops;
    TH_ASSERT_OK(ax_spawn_on(rt,
                             AX_FUTURE_DROP(th_forever_fn, th_forever_drop, &f),
                             sizeof(f), NULL));
  }
}

/* ---- libuv's threadpool -------------------------------------------------- */

/* libuv's pool size, as libuv itself reads it: UV_THREADPOOL_SIZE, else 4,
 * within 1..1024.  The pool is process-wide: tests that must fill it (so
 * that a job waits for a thread) fill this many threads. */
static inline unsigned th_pool_threads(void) {
  char buf[16];
  size_t len = sizeof(buf);
  unsigned n = 4;
  if (uv_os_getenv("UV_THREADPOOL_SIZE", buf, &len) == 0) {
    n = (unsigned)strtoul(buf, NULL, 10);
    if (n == 0) n = 1;
    if (n > 1024) n = 1024;
  }
  return n;
}

/* ---- Check --------------------------------------------------------------- */

/* Does Check run every test in this one process (CK_FORK=no, or a
 * platform without fork), so no test may assume a fresh process? */
static inline int th_no_fork(void) {
#ifdef _WIN32
  return 1;
#else
  const char *s = getenv("CK_FORK");
  return s != NULL && strcmp(s, "no") == 0;
#endif
}

#endif /* AX_TESTS_HELPERS_H */
