/* Small helpers shared by the core suites (future, task, runtime, select,
 * blocking, stress): futures and wakers that count what is done to them, a
 * thread-safe one-shot signal, a count-down latch and a panic-hook
 * recorder.  Everything is static inline: each suite is one executable.
 *
 * None of these helpers measures time.  Tests wait for events (a latch, a
 * signal, a join handle) and assert counts, states and error codes.
 */
#ifndef AX_TESTS_HELPERS_H
#define AX_TESTS_HELPERS_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <axle.h>

#include "axtest.h"

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

/* ---- a counting waker (for polling by hand, outside a runtime) --------- */

typedef struct th_waker_s {
  ax_waker_t base;
  _Atomic int refs;   /* 1 (the owner's) + clones outstanding */
  _Atomic int wakes;  /* wake + wake_by_ref calls */
} th_waker_t;

static inline ax_waker_t *th_waker_clone(ax_waker_t *w) {
  atomic_fetch_add(&((th_waker_t *)w)->refs, 1);
  return w;
}
static inline void th_waker_wake(ax_waker_t *w) {
  atomic_fetch_add(&((th_waker_t *)w)->wakes, 1);
  atomic_fetch_sub(&((th_waker_t *)w)->refs, 1);
}
static inline void th_waker_wake_by_ref(ax_waker_t *w) {
  atomic_fetch_add(&((th_waker_t *)w)->wakes, 1);
}
static inline void th_waker_drop(ax_waker_t *w) {
  atomic_fetch_sub(&((th_waker_t *)w)->refs, 1);
}
static const ax_waker_vtable_t th_waker_vtable = {
    th_waker_clone, th_waker_wake, th_waker_wake_by_ref, th_waker_drop};

static inline ax_waker_t *th_waker_init(th_waker_t *w) {
  w->base.vtable = &th_waker_vtable;
  atomic_init(&w->refs, 1);
  atomic_init(&w->wakes, 0);
  return &w->base;
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
  if (!fired && (s->waker == NULL ||
                 !ax_waker_will_wake(s->waker, ax_cx_waker(cx)))) {
    old = s->waker;
    s->waker = ax_waker_clone(ax_cx_waker(cx));
  }
  uv_mutex_unlock(&s->lock);
  if (old != NULL) ax_waker_drop(old);
  if (fired && sw->c != NULL) atomic_fetch_add(&sw->c->readies, 1);
  return fired ? AX_READY : AX_PENDING;
}

static inline void th_sigwait_drop(ax_future_t *f) {
  th_sigwait_t *sw = (th_sigwait_t *)f;
  ax_waker_t *w;
  if (sw->s == NULL) return;
  uv_mutex_lock(&sw->s->lock);
  w = sw->s->waker;
  sw->s->waker = NULL;
  uv_mutex_unlock(&sw->s->lock);
  if (w != NULL) ax_waker_drop(w);
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
  if (!done) {
    old = l->waker;
    l->waker = ax_waker_clone(ax_cx_waker(cx));
  }
  uv_mutex_unlock(&l->lock);
  if (old != NULL) ax_waker_drop(old);
  return done ? AX_READY : AX_PENDING;
}

static inline void th_latchwait_drop(ax_future_t *f) {
  th_latchwait_t *lw = (th_latchwait_t *)f;
  ax_waker_t *w;
  if (lw->l == NULL) return;
  uv_mutex_lock(&lw->l->lock);
  w = lw->l->waker;
  lw->l->waker = NULL;
  uv_mutex_unlock(&lw->l->lock);
  if (w != NULL) ax_waker_drop(w);
  lw->l = NULL;
}

static const ax_future_vtable_t th_latchwait_vtable = {
    th_latchwait_poll, th_latchwait_drop, "th_latchwait"};

static inline ax_future_t *th_latch_wait(th_latchwait_t *lw, th_latch_t *l) {
  lw->base.vtable = &th_latchwait_vtable;
  lw->l = l;
  return &lw->base;
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

/* The two flavours a loop test runs on: _i == 0 current-thread, _i == 1
 * multi-thread with 2 workers (tcase_add_loop_test(tc, fn, 0, 2)). */
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

#endif /* AX_TESTS_HELPERS_H */
