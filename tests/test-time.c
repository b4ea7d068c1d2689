/* Time: the timing wheel on its own (plain uv loop, simulated clock), then
 * sleep, timeout and interval on both runtime flavours, the keeper that
 * fires a stuck worker's timers, and paused time.
 *
 * The current-thread runs of the runtime tests are on a paused clock
 * (builder.start_paused): their sleeps take no real time and their order
 * is the same on every run.  The multi-thread runs keep the real clock
 * (the uv timers, several wheels, the keeper), and so do the tests about
 * real time itself (a deadline that passes during a poll).
 *
 * Tasks never call ck_assert (a failing assert would longjmp out of a
 * worker); they count what they saw in atomics that the test thread checks
 * after block_on.  No timing upper bounds: only "never early", ordering and
 * counts.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/list.h"
#include "core/context.h"
#include "time/keeper.h"
#include "time/wheel.h"
#include "helpers.h"

#define MS ((uint64_t)1000000u)

static uint64_t mix(uint64_t x) {   /* splitmix64: deterministic "random" */
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* atomic_load expands to a statement expression that makes Check's failure
 * messages unreadable: load through these instead inside ck_assert. */
static int ldi(atomic_int *p) { return atomic_load(p); }
static long ldl(atomic_long *p) { return atomic_load(p); }

/* The runtimes of this suite: multi-thread (real time, `workers`
 * workers), or current-thread on a paused clock. */
static ax_runtime_t *tt_runtime(int multi, unsigned workers) {
  ax_builder_t b;
  ax_runtime_t *rt = NULL;
  ax_builder_init(&b, multi ? AX_MULTI_THREAD : AX_CURRENT_THREAD);
  if (multi)
    b.worker_threads = workers;
  else
    b.start_paused = 1;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  return rt;
}

static void tt_run(int multi, unsigned workers, ax_future_t *fut) {
  th_run_on(tt_runtime(multi, workers), fut);
}

/* th_run_tasks (helpers.h) on tt_runtime. */
static void tt_run_tasks(int multi, unsigned workers, th_make_fn make,
                         size_t size, size_t n) {
  th_run_tasks_on(tt_runtime(multi, workers), make, size, n);
}

/* Runs fut, a test body that sets bits in *bad for what it found wrong,
 * on tt_runtime(multi, 2): no bit may be set. */
static void run_clean(int multi, ax_future_t *fut, const int *bad) {
  tt_run(multi, 2, fut);
  ck_assert_int_eq(*bad, 0);
}

/* Closes a wheel made on a plain loop, lets the loop finish its close,
 * and closes the loop: nothing of the wheel may be left on it. */
static void wheel_close_loop(ax__wheel_t *wh, uv_loop_t *loop) {
  ax__wheel_close(wh);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(loop), 0);
}

static ax__wheel_t *my_wheel(void) {
  ax__ctx_t *c = ax__ctx_current();
  return c != NULL ? c->wheel : NULL;
}

/* ---- counting wakers (helpers.h) that report their wakes ---------------- */

/* Installed around uv_run: each wake of a waker from tw_init calls it with
 * the waker's tag (the index of its sleep). */
static void (*tw_on_wake)(int tag);

static void tw_woken(th_waker_t *w) {
  if (tw_on_wake != NULL) tw_on_wake(w->tag);
}

static ax_waker_t *tw_init(th_waker_t *w, int tag) {
  th_waker_init(w);
  w->on_wake = tw_woken;
  w->tag = tag;
  return &w->base;
}

/* ======================================================================
 * The wheel on a plain uv loop (no runtime: ax__sleep_poll_on names the
 * wheel explicitly).
 * ==================================================================== */

static ax_sleep_t *ws;
static th_waker_t *ww;
static ax_cx_t *wcx;
static ax__wheel_t *wwheel;
static int wfired, wbad, wpending;
static uint64_t wlast_ms;

static void order_on_wake(int i) {
  /* Woken outside the wheel lock: polling right here must work. */
  if (ax__wheel_now(wwheel) < ws[i].deadline) wbad++;
  if (ax__sleep_poll_on(&ws[i], &wcx[i], wwheel) != AX_READY) wbad++;
  if (ws[i].entry.deadline_ms < wlast_ms) wbad++;   /* deadline order */
  wlast_ms = ws[i].entry.deadline_ms;
  wfired++;
}

/* On a paused wheel: the clock jumps from deadline to deadline (what
 * auto-advance does), so this takes no real time and every entry
 * registers.  The uv timer's real-time arming is what the multi-thread
 * runs of the runtime tests below exercise. */
START_TEST(wheel_order_never_early) {
  uv_loop_t loop;
  int n = (int)ax_test_iters(20000), i;
  size_t fired = 0, step, steps = 0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ws = calloc((size_t)n, sizeof *ws);
  ww = calloc((size_t)n, sizeof *ww);
  wcx = calloc((size_t)n, sizeof *wcx);
  wwheel = ax__wheel_new(&loop);
  ax__wheel_pause(wwheel);
  ck_assert(ax__wheel_is_paused(wwheel));
  wfired = wbad = wpending = 0;
  wlast_ms = 0;
  for (i = 0; i < n; i++) {
    ax_cx_init(&wcx[i], tw_init(&ww[i], i));
    ax_sleep(&ws[i], 1 + mix((uint64_t)i) % 300);
    ck_assert_int_eq(ax__sleep_poll_on(&ws[i], &wcx[i], wwheel), AX_PENDING);
    wpending++;
  }
  ck_assert_uint_eq(ax__wheel_len(wwheel), (size_t)wpending);
  ck_assert_int_eq(ax__wheel_check(wwheel), 0);
  tw_on_wake = order_on_wake;
  while ((step = ax__wheel_advance_next(wwheel)) != 0) {
    fired += step;
    if (++steps % 32 == 0 && ax__wheel_check(wwheel) != 0) wbad++;  /* O(n) */
  }
  tw_on_wake = NULL;
  ck_assert_int_eq(wbad, 0);
  ck_assert_int_eq(wfired, wpending);
  ck_assert_uint_eq(fired, (size_t)wpending);
  ck_assert_uint_eq(ax__wheel_len(wwheel), 0);
  for (i = 0; i < n; i++) {
    ck_assert_int_le(ldi(&ww[i].wakes), 1);
    ck_assert_int_eq(ldi(&ww[i].refs), 0);
    ck_assert_int_eq(ax_sleep_result(&ws[i]), 0);
    ax_drop(&ws[i].base);   /* drop after firing: harmless, twice too */
    ax_drop(&ws[i].base);
    ck_assert_int_eq(ax_sleep_result(&ws[i]), 0);
  }
  wheel_close_loop(wwheel, &loop);
  free(ws);
  free(ww);
  free(wcx);
}
END_TEST

START_TEST(wheel_cancel_far_and_detach) {
  enum { N = 3000 };
  static ax_sleep_t s[N];
  static th_waker_t w[N];
  static ax_cx_t cx[N];
  uv_loop_t loop;
  ax__wheel_t *wh, *wh2;
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  wh = ax__wheel_new(&loop);
  for (i = 0; i < N; i++) {
    ax_cx_init(&cx[i], tw_init(&w[i], i));
    if (i % 3 == 0)
      ax_sleep_until(&s[i], UINT64_MAX);                      /* forever */
    else if (i % 3 == 1)
      ax_sleep(&s[i], (uint64_t)3 * 365 * 86400 * 1000);      /* > wheel span */
    else
      ax_sleep(&s[i], 1000 + mix((uint64_t)i) % 100000);
    ck_assert_int_eq(ax__sleep_poll_on(&s[i], &cx[i], wh), AX_PENDING);
    ck_assert_int_eq(ax__sleep_poll_on(&s[i], &cx[i], wh), AX_PENDING);
  }
  ck_assert_uint_eq(ax__wheel_len(wh), N);
  ck_assert_int_eq(ax__wheel_check(wh), 0);
  for (i = 0; i < N; i += 2) {   /* cancel half: O(1) each */
    ax_drop(&s[i].base);
    ck_assert_int_eq(ax_sleep_result(&s[i]), AX_ECANCELED);
    ck_assert_int_eq(ldi(&w[i].refs), 0);
  }
  ck_assert_uint_eq(ax__wheel_len(wh), N / 2);
  ck_assert_int_eq(ax__wheel_check(wh), 0);

  /* Closing detaches the rest: wakers dropped, never woken. */
  ax__wheel_close(wh);
  uv_run(&loop, UV_RUN_DEFAULT);
  for (i = 1; i < N; i += 2) {
    ck_assert_int_eq(ldi(&w[i].refs), 0);
    ck_assert_int_eq(ldi(&w[i].wakes), 0);
  }
  /* A detached sleep registers again on whichever wheel polls it next; the
   * last release frees the closed wheel (valgrind/ASan check that). */
  wh2 = ax__wheel_new(&loop);
  for (i = 1; i < N; i += 2)
    ck_assert_int_eq(ax__sleep_poll_on(&s[i], &cx[i], wh2), AX_PENDING);
  ck_assert_uint_eq(ax__wheel_len(wh2), N / 2);
  for (i = 1; i < N; i += 2) ax_drop(&s[i].base);
  ck_assert_uint_eq(ax__wheel_len(wh2), 0);
  for (i = 0; i < N; i++) ck_assert_int_eq(ldi(&w[i].refs), 0);
  wheel_close_loop(wh2, &loop);
}
END_TEST

/* Another thread re-polls (new waker) and cancels half of the entries
 * while the loop thread fires the other half. */
static ax_sleep_t *xs_;
static th_waker_t *xw, *xw2;
static ax_cx_t *xcx, *xcx2;
static ax__wheel_t *xwheel;
static int xn;
static atomic_int xfired, xbad;
static int xexpect;

static void cross_on_wake(int i) {
  if (i >= xn || i % 2 == 0) return;   /* owned by the other thread */
  if (ax__sleep_poll_on(&xs_[i], &xcx[i], xwheel) != AX_READY)
    atomic_fetch_add(&xbad, 1);
  atomic_fetch_add(&xfired, 1);
}

static void cross_thread(void *arg) {
  int i;
  (void)arg;
  for (i = 0; i < xn; i += 2) {
    /* The loop thread may fire the entry between the two polls (this
     * thread can be descheduled for milliseconds on a loaded machine), so
     * the second poll may be ready, but only once the deadline has passed. */
    if (ax__sleep_poll_on(&xs_[i], &xcx2[i], xwheel) == AX_PENDING &&
        ax__sleep_poll_on(&xs_[i], &xcx2[i], xwheel) != AX_PENDING &&
        ax_instant_now() < xs_[i].deadline)
      atomic_fetch_add(&xbad, 1);
    ax_drop(&xs_[i].base);
    if (i % 64 == 0) uv_sleep(1);
  }
}

START_TEST(wheel_cross_thread_cancel) {
  uv_loop_t loop;
  uv_thread_t th;
  int i;
  xn = (int)ax_test_iters(20000) & ~1;
  if (xn < 2) xn = 2;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  xs_ = calloc((size_t)xn, sizeof *xs_);
  xw = calloc((size_t)xn, sizeof *xw);
  xw2 = calloc((size_t)xn, sizeof *xw2);
  xcx = calloc((size_t)xn, sizeof *xcx);
  xcx2 = calloc((size_t)xn, sizeof *xcx2);
  atomic_store(&xfired, 0);
  atomic_store(&xbad, 0);
  xwheel = ax__wheel_new(&loop);
  xexpect = 0;
  for (i = 0; i < xn; i++) {
    ax_cx_init(&xcx[i], tw_init(&xw[i], i));
    ax_cx_init(&xcx2[i], tw_init(&xw2[i], xn + i));
    ax_sleep(&xs_[i], 1 + mix((uint64_t)i) % 200);
    /* Ready at once only if this thread was descheduled past the deadline. */
    if (ax__sleep_poll_on(&xs_[i], &xcx[i], xwheel) == AX_PENDING && i % 2)
      xexpect++;
  }
  tw_on_wake = cross_on_wake;
  ck_assert_int_eq(uv_thread_create(&th, cross_thread, NULL), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_thread_join(&th);
  uv_run(&loop, UV_RUN_DEFAULT);   /* a spurious last fire, if any */
  tw_on_wake = NULL;
  ck_assert_int_eq(ldi(&xbad), 0);
  ck_assert_int_eq(ldi(&xfired), xexpect);
  ck_assert_uint_eq(ax__wheel_len(xwheel), 0);
  for (i = 0; i < xn; i++) {
    ck_assert_int_eq(ldi(&xw[i].refs), 0);
    ck_assert_int_eq(ldi(&xw2[i].refs), 0);
    ax_drop(&xs_[i].base);
  }
  wheel_close_loop(xwheel, &loop);
  free(xs_);
  free(xw);
  free(xw2);
  free(xcx);
  free(xcx2);
}
END_TEST

/* ---- model check on simulated time --------------------------------------
 * Random inserts (1 ms .. 10 years, and "forever"), cancels, re-polls and
 * clock jumps (sub-ms .. decades) against a brute-force list: nothing fires
 * early, everything due fires, in deadline order, and the wheel's own
 * invariants hold throughout. */

typedef struct mentry_s {
  ax_timer_entry_t e;
  ax_instant_t deadline;
  int live;
  th_waker_t w;
} mentry_t;

#define MODEL_N 2000
static mentry_t *ments;
static uint64_t model_now;
static uint64_t model_rng;
static uint64_t model_last_ms;
static long model_bad, model_fires;

static uint64_t model_clock(void) { return model_now; }
static uint64_t model_next(void) { return model_rng = mix(model_rng); }

static void model_on_wake(int i) {
  mentry_t *m = &ments[i];
  if (!m->live || m->deadline > model_now) model_bad++;
  if (m->e.deadline_ms < model_last_ms) model_bad++;
  model_last_ms = m->e.deadline_ms;
  if (ax__timer_entry_poll(&m->e, &m->w.base) != AX__TIMER_FIRED) model_bad++;
  m->live = 0;
  model_fires++;
}

static uint64_t model_span(void) {
  static const uint64_t spans[] = {
    3 * MS, 100 * MS, 300 * MS, 5000 * MS, 70000 * MS,
    86400000 * MS, (uint64_t)10 * 365 * 86400000 * MS, 10000 * MS};
  return model_next() % spans[model_next() % 8];
}

START_TEST(wheel_model_simulated_time) {
  uv_loop_t loop;
  ax__wheel_t *wh;
  long iters = (long)ax_test_iters(300000), it;
  size_t live;
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ments = calloc(MODEL_N, sizeof *ments);
  model_now = 1000 * MS;
  model_rng = 42;
  model_bad = model_fires = 0;
  ax__wheel_set_clock(model_clock);
  wh = ax__wheel_new(&loop);
  for (i = 0; i < MODEL_N; i++) tw_init(&ments[i].w, i);
  tw_on_wake = model_on_wake;
  for (it = 0; it < iters; it++) {
    unsigned op = (unsigned)(model_next() % 100);
    mentry_t *m = &ments[model_next() % MODEL_N];
    if (op < 45) {
      if (!m->live) {
        int r;
        m->deadline = model_next() % 1000 == 0 ? UINT64_MAX
                                               : model_now + model_span();
        r = ax__wheel_insert(wh, &m->e, m->deadline, &m->w.base);
        if (r == 0) m->live = 1;
        else if (r != 1 || m->deadline > model_now) model_bad++;
      }
    } else if (op < 65) {
      if (m->live) {
        ax__timer_entry_cancel(&m->e);
        m->live = 0;
      }
    } else if (op < 70) {
      if (m->live && ax__timer_entry_poll(&m->e, &m->w.base) != 0) model_bad++;
    } else {
      uint64_t adv = model_next() % 4 == 0 ? model_span()
                                           : model_next() % (2 * MS);
      if (model_next() % 5000 == 0)
        adv = model_next() % ((uint64_t)20 * 365 * 86400000 * MS);
      if (model_now > ((uint64_t)1 << 62)) adv %= 100 * MS;  /* no ns wrap */
      model_now += adv;
      model_last_ms = 0;
      ax__wheel_run(wh);
      /* Everything due has fired (checked every few runs: O(n)). */
      if (it % 8 == 0)
        for (i = 0; i < MODEL_N; i++)
          if (ments[i].live && ments[i].deadline <= model_now - MS) model_bad++;
    }
    if (it % 101 == 0 && ax__wheel_check(wh) != 0) model_bad++;
    if (model_bad) break;
  }
  tw_on_wake = NULL;
  ck_assert_int_eq(model_bad, 0);
  ck_assert_int_gt(model_fires, 0);
  for (i = 0, live = 0; i < MODEL_N; i++) live += ments[i].live ? 1u : 0u;
  ck_assert_uint_eq(ax__wheel_len(wh), live);
  for (i = 0; i < MODEL_N; i++) {
    if (ments[i].live) ax__timer_entry_cancel(&ments[i].e);
    ck_assert_int_eq(ldi(&ments[i].w.refs), 0);
  }
  ax__wheel_close(wh);
  ax__wheel_set_clock(NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
  free(ments);
}
END_TEST

/* A future that never completes (and registers nothing). */
typedef struct never_s {
  ax_future_t base;
  int drops;
} never_t;
static ax_poll_t never_poll(ax_future_t *f, ax_cx_t *cx) {
  (void)f;
  (void)cx;
  return AX_PENDING;
}
static void never_drop(ax_future_t *f) { ((never_t *)f)->drops++; }
static const ax_future_vtable_t never_vtable = {never_poll, never_drop, "never"};

START_TEST(outside_runtime) {
  ax_sleep_t s;
  ax_timeout_t t;
  never_t inner = {{&never_vtable}, 0};
  th_cx_t c;
  ax_cx_t *cx = th_cx_init(&c);
  /* A deadline in the past needs no wheel. */
  ax_sleep(&s, 0);
  ck_assert_int_eq(ax_poll(&s.base, cx), AX_READY);
  ck_assert_int_eq(ax_sleep_result(&s), 0);
  ck_assert_int_eq(ax_poll(&s.base, cx), AX_READY);   /* ready stays ready */
  /* A real wait cannot be timed outside a runtime: an error, not a hang. */
  ax_sleep(&s, 50);
  ck_assert_int_eq(ax_poll(&s.base, cx), AX_READY);
  ck_assert_int_eq(ax_sleep_result(&s), AX_ENORUNTIME);
  ax_drop(&s.base);
  /* ax_sleep_reset makes a finished sleep usable again. */
  ax_sleep_reset(&s, ax_instant_now());
  ck_assert(!ax_sleep_is_elapsed(&s));
  ck_assert_int_eq(ax_poll(&s.base, cx), AX_READY);
  ck_assert_int_eq(ax_sleep_result(&s), 0);
  /* Timeout: inner dropped, error reported. */
  ax_timeout(&t, &inner.base, 10);
  ck_assert_int_eq(ax_poll(&t.base, cx), AX_READY);
  ck_assert_int_eq(t.result, AX_ENORUNTIME);
  ck_assert_int_eq(inner.drops, 1);
  ax_drop(&t.base);
  ck_assert_int_eq(inner.drops, 1);
  /* Never polled, dropped twice. */
  ax_sleep(&s, 10);
  ax_drop(&s.base);
  ax_drop(&s.base);
  ck_assert_int_eq(ldi(&c.w.refs), 0);
  ck_assert_int_eq(ldi(&c.w.wakes), 0);
  ck_assert_uint_le(ax_instant_elapsed_ms(ax_instant_now() + 5 * MS), 0);
  ck_assert_uint_eq(ax_instant_add_ms(UINT64_MAX - 5, 1), UINT64_MAX);
}
END_TEST

/* ======================================================================
 * On a runtime.
 * ==================================================================== */


/* ---- sleep never ends early, on both flavours ---------------------------- */

typedef struct nap_s {
  ax_async_t co;
  ax_sleep_t s;
  ax_instant_t t0;
  uint64_t ms;
  unsigned k;
} nap_t;

static atomic_long naps_done, naps_bad;

static void nap_check(nap_t *self) {
  if (ax_instant_now() - self->t0 < self->ms * MS ||
      ax_instant_now() < self->s.deadline || ax_sleep_result(&self->s) != 0 ||
      !ax_sleep_is_elapsed(&self->s))
    atomic_fetch_add(&naps_bad, 1);
  atomic_fetch_add(&naps_done, 1);
}

/* A few sleeps in a row, 0..25 ms. */
AX_ASYNC(nap_series, nap_t, self) {
  static const uint64_t ms[] = {0, 1, 2, 3, 5, 10, 25};
  AX_BEGIN(self);
  for (self->k = 0; self->k < sizeof ms / sizeof ms[0]; self->k++) {
    self->ms = ms[self->k];
    self->t0 = ax_instant_now();
    AX_AWAIT(ax_sleep(&self->s, self->ms));
    nap_check(self);
  }
  AX_END();
}

static ax_future_t *make_series(void *buf, size_t i) {
  (void)i;
  return AX_FUTURE(nap_series, (nap_t *)buf);
}

START_TEST(sleep_never_early) {
  atomic_store(&naps_done, 0);
  atomic_store(&naps_bad, 0);
  tt_run_tasks(_i, 3, make_series, sizeof(nap_t), 8);
  ck_assert_int_eq(ldl(&naps_bad), 0);
  ck_assert_int_eq(ldl(&naps_done), 8 * 7);
}
END_TEST

/* ---- many concurrent sleeps ---------------------------------------------- */

AX_ASYNC(nap_once, nap_t, self) {
  AX_BEGIN(self);
  self->t0 = ax_instant_now();
  AX_AWAIT(ax_sleep(&self->s, self->ms));
  nap_check(self);
  AX_END();
}

static ax_future_t *make_nap(void *buf, size_t i) {
  nap_t *n = buf;
  n->ms = 1 + mix(i) % 100;
  return AX_FUTURE(nap_once, n);
}

START_TEST(many_sleeps) {
  size_t n = ax_test_iters(100000);
  atomic_store(&naps_done, 0);
  atomic_store(&naps_bad, 0);
  tt_run_tasks(_i, 2, make_nap, sizeof(nap_t), n);
  ck_assert_int_eq(ldl(&naps_bad), 0);
  ck_assert_int_eq(ldl(&naps_done), (long)n);
}
END_TEST

/* ---- wake order follows deadlines ----------------------------------------
 * A probe future polls its sleep with its own waker, which logs the sleep's
 * deadline when the wheel wakes it and then wakes the task.  Current-thread
 * only: one wheel, and the probe waker is used on the task's own thread. */

typedef struct probe_s {
  ax_future_t base;
  ax_sleep_t s;
  ax_waker_t pw;            /* the probe's waker (not counted: it lives as
                               long as the task, which outlives the entry) */
  ax_waker_t *task_waker;   /* clone of the task's waker, or NULL */
  int polled;               /* polled once already */
} probe_t;

#define ORDER_N 64
static ax_instant_t order_log[ORDER_N];
static atomic_int order_len, order_registered;

static ax_waker_t *pw_clone(ax_waker_t *w) { return w; }
static void pw_drop(ax_waker_t *w) { (void)w; }
static void pw_wake_by_ref(ax_waker_t *w) {
  probe_t *p = ax__container_of(w, probe_t, pw);
  int k = atomic_fetch_add(&order_len, 1);
  if (k < ORDER_N) order_log[k] = p->s.deadline;
  ax_waker_wake_by_ref(p->task_waker);
}
static void pw_wake(ax_waker_t *w) { pw_wake_by_ref(w); }
static const ax_waker_vtable_t pw_vtable = {pw_clone, pw_wake, pw_wake_by_ref,
                                            pw_drop};

static ax_poll_t probe_poll(ax_future_t *f, ax_cx_t *cx) {
  probe_t *p = (probe_t *)f;
  ax_cx_t pcx;
  ax_poll_t r;
  if (p->task_waker == NULL) p->task_waker = ax_waker_clone(ax_cx_waker(cx));
  p->pw.vtable = &pw_vtable;
  ax_cx_init(&pcx, &p->pw);
  r = ax_poll(&p->s.base, &pcx);
  if (!p->polled && r == AX_PENDING) atomic_fetch_add(&order_registered, 1);
  p->polled = 1;
  if (r == AX_READY && p->task_waker != NULL) {
    /* The wheel is done with the probe waker.  Holding the task's own
     * waker until the drop would keep the task alive forever (a task's
     * future is dropped when its last reference goes). */
    ax_waker_drop(p->task_waker);
    p->task_waker = NULL;
  }
  return r;
}

static void probe_drop(ax_future_t *f) {
  probe_t *p = (probe_t *)f;
  ax_drop(&p->s.base);
  if (p->task_waker != NULL) ax_waker_drop(p->task_waker);
  p->task_waker = NULL;
}

static const ax_future_vtable_t probe_vtable = {probe_poll, probe_drop,
                                                "probe"};
static ax_instant_t order_base;

static ax_future_t *make_probe(void *buf, size_t i) {
  probe_t *p = buf;
  p->base.vtable = &probe_vtable;
  /* A permutation of 0..63, 2 ms apart, starting well after the spawns. */
  ax_sleep_until(&p->s, order_base + 100 * MS + ((i * 37) % ORDER_N) * 2 * MS);
  return &p->base;
}

START_TEST(sleep_wake_order) {
  int k, n;
  atomic_store(&order_len, 0);
  atomic_store(&order_registered, 0);
  order_base = ax_instant_now();
  tt_run_tasks(CURRENT, 0, make_probe, sizeof(probe_t), ORDER_N);
  n = atomic_load(&order_len);
  /* Each sleep registered on its first poll (unless the machine was so
   * slow that its deadline had passed) and was woken exactly once. */
  ck_assert_int_le(n, ORDER_N);
  ck_assert_int_eq(n, ldi(&order_registered));
  ck_assert_int_gt(n, 0);
  for (k = 1; k < n; k++) ck_assert_uint_lt(order_log[k - 1], order_log[k]);
}
END_TEST

/* ---- a deadline that passes before the worker parks ----------------------
 * th_late (helpers.h): the poll registers a 1 ms sleep and then blocks for
 * 5 ms (on purpose), so the wheel's timer is already due when the worker
 * parks: it fires inside the worker's uv_run before the poll phase, and
 * that wake must not be lost.  Real time on both flavours: a paused clock
 * does not move while the poll blocks. */

static ax_future_t *make_late(void *buf, size_t i) {
  (void)i;
  return th_late(buf, 5);
}

START_TEST(sleep_due_before_park) {
  th_late_t l;
  /* As the block_on future (the driver's wake path)... */
  th_run(_i, 2, th_late(&l, 5));
  ck_assert_int_eq(ax_sleep_result(&l.nap), 0);   /* the drop keeps it */
  /* ...and as spawned tasks (the worker's). */
  th_run_tasks(_i, 2, make_late, sizeof(th_late_t), 3);
}
END_TEST

/* ---- cancel before firing; drop after firing ------------------------------ */

typedef struct cancel_s {
  ax_async_t co;
  ax_sleep_t a, b;
  ax_select_t race;
  int bad;
} cancel_t;

AX_ASYNC(cancel_fn, cancel_t, self) {
  ax__wheel_t *w = my_wheel();
  AX_BEGIN(self);
  /* Poll by hand, then drop: the wheel is empty again at once. */
  ax_sleep(&self->a, 3600 * 1000);
  if (ax_poll(&self->a.base, cx) != AX_PENDING) self->bad |= 1;
  if (ax__wheel_len(w) != 1) self->bad |= 2;
  ax_drop(&self->a.base);
  if (ax__wheel_len(w) != 0) self->bad |= 4;
  if (ax_sleep_result(&self->a) != AX_ECANCELED) self->bad |= 8;
  ax_drop(&self->a.base);   /* twice is fine */

  /* The select loser is dropped, so unregistered. */
  AX_AWAIT(ax_select(&self->race, ax_sleep(&self->a, 3600 * 1000),
                     ax_sleep(&self->b, 2)));
  if (self->race.winner != 1) self->bad |= 16;
  if (ax__wheel_len(my_wheel()) != 0) self->bad |= 32;

  /* Drop after firing: harmless, the result stays. */
  ax_drop(&self->b.base);
  ax_drop(&self->b.base);
  if (ax_sleep_result(&self->b) != 0) self->bad |= 64;
  AX_END();
}

START_TEST(sleep_cancel_and_drop) {
  cancel_t c = {0};
  run_clean(_i, AX_FUTURE(cancel_fn, &c), &c.bad);
}
END_TEST

/* ---- polled on one thread, polled again and dropped on another ----------- */

#define XW_N 64
static ax_sleep_t xw_sleeps[XW_N];
static ax__wheel_t *xw_wheels[XW_N];
static atomic_int xw_bad;

/* Task: registers xw_sleeps[i] on its worker's wheel, then ends (the
 * sleep, which lives in static memory, now belongs to the driver). */
typedef struct reg_s {
  ax_async_t co;
  size_t i;
  ax_yield_t y;
} reg_t;

AX_ASYNC(reg_fn, reg_t, self) {
  AX_BEGIN(self);
  ax_sleep(&xw_sleeps[self->i], 1 + (self->i % 4 == 0 ? 3600 * 1000 : self->i % 5));
  if (ax_poll(&xw_sleeps[self->i].base, cx) == AX_PENDING)
    xw_wheels[self->i] = my_wheel();
  AX_END();
}

/* Task: drops a sleep that the block_on thread registered. */
typedef struct dropper_s {
  ax_async_t co;
  ax_sleep_t *s;
} dropper_t;

AX_ASYNC(dropper_fn, dropper_t, self) {
  AX_BEGIN(self);
  ax_drop(&self->s->base);
  AX_END();
}

typedef struct xmain_s {
  ax_async_t co;
  size_t i;
  ax_join_t j;
  ax_sleep_t mine;
  ax__wheel_t *home;
  reg_t reg;
  dropper_t dr;
  ax_sleep_t pause;
} xmain_t;

AX_ASYNC(xmain_fn, xmain_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < XW_N; self->i++) {
    memset(&self->reg, 0, sizeof self->reg);
    self->reg.i = self->i;
    AX_SPAWN(reg_fn, &self->reg, &self->j);
    AX_AWAIT(ax_join_wait(&self->j));
    ax_join_drop(&self->j);
    /* This is the block_on thread, never a worker: poll here (swaps the
     * waker across threads), and drop every other one at once, the rest
     * after their wheel may have fired them. */
    if (xw_wheels[self->i] != NULL &&
        ax_poll(&xw_sleeps[self->i].base, cx) == AX_READY &&
        ax_sleep_result(&xw_sleeps[self->i]) != 0)
      atomic_fetch_add(&xw_bad, 1);
    if (self->i % 2 == 0) {
      ax_drop(&xw_sleeps[self->i].base);
      if (xw_sleeps[self->i].entry.wheel != NULL) atomic_fetch_add(&xw_bad, 1);
    }
  }
  AX_AWAIT(ax_sleep(&self->pause, 8));
  for (self->i = 1; self->i < XW_N; self->i += 2) ax_drop(&xw_sleeps[self->i].base);
  for (self->i = 0; self->i < XW_N; self->i++)
    if (xw_wheels[self->i] != NULL && ax__wheel_len(xw_wheels[self->i]) != 0)
      atomic_fetch_add(&xw_bad, 1);

  /* The other way round: registered here, dropped on a worker. */
  ax_sleep(&self->mine, 3600 * 1000);
  if (ax_poll(&self->mine.base, cx) != AX_PENDING) atomic_fetch_add(&xw_bad, 1);
  self->home = my_wheel();
  if (ax__wheel_len(self->home) != 1) atomic_fetch_add(&xw_bad, 1);
  self->dr.s = &self->mine;
  AX_SPAWN(dropper_fn, &self->dr, &self->j);
  AX_AWAIT(ax_join_wait(&self->j));
  ax_join_drop(&self->j);
  if (ax__wheel_len(self->home) != 0) atomic_fetch_add(&xw_bad, 1);
  AX_END();
}

START_TEST(sleep_cross_worker) {
  xmain_t *m = calloc(1, sizeof *m);
  atomic_store(&xw_bad, 0);
  memset(xw_wheels, 0, sizeof xw_wheels);
  th_run(MULTI, 2, AX_FUTURE(xmain_fn, m));
  ck_assert_int_eq(ldi(&xw_bad), 0);
  free(m);
}
END_TEST

/* Races on purpose: each task registers a 1-2 ms sleep on its worker and
 * hands it to a second task that drops it while the wheel may be firing
 * it (TSan's favourite). */
#define RACE_N 256
static ax_sleep_t race_sleeps[RACE_N];

typedef struct racer_s {
  ax_async_t co;
  size_t i;
  unsigned k;
  dropper_t dr;
  ax_join_t j;
} racer_t;

AX_ASYNC(racer_fn, racer_t, self) {
  AX_BEGIN(self);
  ax_sleep(&race_sleeps[self->i], 1 + self->i % 2);
  (void)ax_poll(&race_sleeps[self->i].base, cx);
  self->dr.s = &race_sleeps[self->i];
  AX_SPAWN(dropper_fn, &self->dr, &self->j);
  for (self->k = 0; self->k < self->i % 7; self->k++) AX_YIELD();
  AX_AWAIT(ax_join_wait(&self->j));
  ax_join_drop(&self->j);
  AX_END();
}

static ax_future_t *make_racer(void *buf, size_t i) {
  racer_t *r = buf;
  r->i = i;
  return AX_FUTURE(racer_fn, r);
}

START_TEST(sleep_cross_worker_race) {
  size_t i;
  th_run_tasks(MULTI, 3, make_racer, sizeof(racer_t), RACE_N);
  for (i = 0; i < RACE_N; i++)
    ck_assert(race_sleeps[i].entry.wheel == NULL);
}
END_TEST

/* ---- reset ---------------------------------------------------------------- */

typedef struct reset_s {
  ax_async_t co;
  ax_sleep_t s;
  ax_instant_t target;
  int bad;
} reset_t;

AX_ASYNC(reset_fn, reset_t, self) {
  AX_BEGIN(self);
  ax_sleep(&self->s, 3600 * 1000);
  if (ax_poll(&self->s.base, cx) != AX_PENDING) self->bad |= 1;
  self->target = ax_instant_add_ms(ax_instant_now(), 5);
  ax_sleep_reset(&self->s, self->target);   /* a pending sleep */
  if (ax__wheel_len(my_wheel()) != 0) self->bad |= 2;
  AX_AWAIT(&self->s.base);
  if (ax_instant_now() < self->target || self->s.deadline != self->target)
    self->bad |= 4;
  self->target = ax_instant_add_ms(ax_instant_now(), 3);
  ax_sleep_reset(&self->s, self->target);   /* a finished sleep */
  AX_AWAIT(&self->s.base);
  if (ax_instant_now() < self->target || ax_sleep_result(&self->s) != 0)
    self->bad |= 8;
  AX_END();
}

START_TEST(sleep_reset) {
  reset_t r = {0};
  run_clean(_i, AX_FUTURE(reset_fn, &r), &r.bad);
}
END_TEST

/* ---- timeout -------------------------------------------------------------- */

typedef struct slow_s {
  ax_async_t co;
  ax_sleep_t s;
  uint64_t ms;
  int out;
} slow_t;

static atomic_int slow_drops;

AX_ASYNC(slow_fn, slow_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->s, self->ms));
  self->out = 42;
  AX_END();
}

AX_ASYNC_DROP(slow_drop, slow_t, s) {
  (void)s;
  atomic_fetch_add(&slow_drops, 1);
}

typedef struct tmain_s {
  ax_async_t co;
  slow_t slow;
  ax_timeout_t t;
  ax_instant_t t0;
  int bad;
} tmain_t;

AX_ASYNC(tmain_fn, tmain_t, self) {
  AX_BEGIN(self);
  /* The deadline wins: the inner future is dropped exactly once, at once. */
  self->slow.ms = 3600 * 1000;
  self->t0 = ax_instant_now();
  AX_AWAIT(ax_timeout(&self->t,
                      AX_FUTURE_DROP(slow_fn, slow_drop, &self->slow), 20));
  if (self->t.result != AX_ETIMEDOUT) self->bad |= 1;
  if (atomic_load(&slow_drops) != 1) self->bad |= 2;
  if (ax_instant_now() - self->t0 < 20 * MS) self->bad |= 4;
  if (ax__wheel_len(my_wheel()) != 0) self->bad |= 8;
  ax_drop(&self->t.base);
  ax_drop(&self->t.base);
  if (atomic_load(&slow_drops) != 1) self->bad |= 16;

  /* The inner future wins: its output is there, the timer is gone, and
   * dropping the timeout drops the inner future (once). */
  memset(&self->slow, 0, sizeof self->slow);
  self->slow.ms = 5;
  AX_AWAIT(ax_timeout(&self->t,
                      AX_FUTURE_DROP(slow_fn, slow_drop, &self->slow),
                      3600 * 1000));
  if (self->t.result != 0 || self->slow.out != 42) self->bad |= 32;
  if (ax__wheel_len(my_wheel()) != 0) self->bad |= 64;
  if (atomic_load(&slow_drops) != 1) self->bad |= 128;
  ax_drop(&self->t.base);
  if (atomic_load(&slow_drops) != 2) self->bad |= 256;

  /* Already past its deadline: an inner future that is ready still wins
   * (polled first); a pending one is dropped on the first poll. */
  memset(&self->slow, 0, sizeof self->slow);
  AX_AWAIT(ax_timeout(&self->t,
                      AX_FUTURE_DROP(slow_fn, slow_drop, &self->slow), 0));
  if (self->t.result != 0 || self->slow.out != 42) self->bad |= 512;
  ax_drop(&self->t.base);
  memset(&self->slow, 0, sizeof self->slow);
  self->slow.ms = 1000;
  AX_AWAIT(ax_timeout(&self->t,
                      AX_FUTURE_DROP(slow_fn, slow_drop, &self->slow), 0));
  if (self->t.result != AX_ETIMEDOUT || atomic_load(&slow_drops) != 4)
    self->bad |= 1024;
  ax_drop(&self->t.base);
  if (atomic_load(&slow_drops) != 4) self->bad |= 2048;
  AX_END();
}

START_TEST(timeout_fires_and_not) {
  tmain_t *m = calloc(1, sizeof *m);
  atomic_store(&slow_drops, 0);
  run_clean(_i, AX_FUTURE(tmain_fn, m), &m->bad);
  free(m);
}
END_TEST

/* ---- interval ------------------------------------------------------------- */

#define TICKS 5
typedef struct imain_s {
  ax_async_t co;
  ax_interval_t iv;
  ax_missed_tick_t policy;
  ax_instant_t start, before, after[TICKS];
  ax_instant_t ticks[TICKS];
  int late;            /* start the interval 35 ms in the past */
  unsigned k;
  int bad;
} imain_t;

AX_ASYNC(imain_fn, imain_t, self) {
  AX_BEGIN(self);
  self->before = ax_instant_now();
  self->start = self->late ? self->before - 35 * MS : self->before;
  ax_interval_init_at(&self->iv, self->start, 10);
  self->iv.missed = self->policy;
  for (self->k = 0; self->k < TICKS; self->k++) {
    AX_AWAIT(ax_interval_tick(&self->iv));
    self->ticks[self->k] = self->iv.tick;
    self->after[self->k] = ax_instant_now();
    if (self->after[self->k] < self->iv.tick || self->iv.result != 0)
      self->bad |= 1;   /* never early */
  }
  ax_drop(&self->iv.base);
  AX_END();
}

/* The ticks of an interval of 10 ms, late or not, under a policy. */
static void run_interval(imain_t *m, int multi, int late,
                         ax_missed_tick_t policy) {
  m->late = late;
  m->policy = policy;
  run_clean(multi, AX_FUTURE(imain_fn, m), &m->bad);
  ck_assert_uint_eq(m->ticks[0], m->start);   /* the first tick is at once */
}

/* Every tick exactly on the schedule: start, +10, +20, ... */
static void ticks_on_schedule(const imain_t *m) {
  for (unsigned k = 0; k < TICKS; k++)
    ck_assert_uint_eq(m->ticks[k], m->start + k * 10 * MS);
}

START_TEST(interval_ticks) {
  imain_t m = {0};
  run_interval(&m, _i, 0, AX_MISSED_TICK_BURST);
  /* Burst (the default) keeps the schedule exactly, even when late. */
  ticks_on_schedule(&m);
}
END_TEST

START_TEST(interval_missed_burst) {
  imain_t m = {0};
  run_interval(&m, _i, 1, AX_MISSED_TICK_BURST);
  /* The missed ticks (start, +10, +20, +30) all come, back to back. */
  ticks_on_schedule(&m);
}
END_TEST

START_TEST(interval_missed_delay) {
  imain_t m = {0};
  unsigned k;
  run_interval(&m, _i, 1, AX_MISSED_TICK_DELAY);
  /* After the late first tick the schedule restarts from "now". */
  ck_assert_uint_ge(m.ticks[1], m.before + 10 * MS);
  for (k = 1; k < TICKS; k++) ck_assert_uint_ge(m.ticks[k], m.ticks[k - 1] + 10 * MS);
}
END_TEST

START_TEST(interval_missed_skip) {
  imain_t m = {0};
  unsigned k;
  run_interval(&m, _i, 1, AX_MISSED_TICK_SKIP);
  /* Stays on the original grid but skips the ticks already missed. */
  ck_assert_uint_ge(m.ticks[1], m.start + 40 * MS);
  ck_assert_uint_gt(m.ticks[1], m.before);
  for (k = 0; k < TICKS; k++) ck_assert_uint_eq((m.ticks[k] - m.start) % (10 * MS), 0);
  for (k = 1; k < TICKS; k++) ck_assert_uint_gt(m.ticks[k], m.ticks[k - 1]);
}
END_TEST

/* A tick that loses a select is dropped; the next tick() waits for the
 * same deadline: nothing lost. */
typedef struct icancel_s {
  ax_async_t co;
  ax_interval_t iv;
  ax_sleep_t s;
  ax_select_t race;
  ax_instant_t next;
  int bad;
} icancel_t;

AX_ASYNC(icancel_fn, icancel_t, self) {
  AX_BEGIN(self);
  ax_interval_init(&self->iv, 1000);
  AX_AWAIT(ax_interval_tick(&self->iv));   /* immediate */
  self->next = self->iv.next;
  AX_AWAIT(ax_select(&self->race, ax_interval_tick(&self->iv),
                     ax_sleep(&self->s, 1)));
  if (self->race.winner != 1) self->bad |= 1;
  if (ax__wheel_len(my_wheel()) != 0) self->bad |= 2;
  if (self->iv.next != self->next) self->bad |= 4;
  if (ax_poll(ax_interval_tick(&self->iv), cx) != AX_PENDING) self->bad |= 8;
  if (self->iv.sleep.deadline != self->next) self->bad |= 16;
  ax_interval_reset(&self->iv);
  if (self->iv.next < self->next) self->bad |= 32;
  ax_drop(&self->iv.base);
  if (ax__wheel_len(my_wheel()) != 0) self->bad |= 64;
  AX_END();
}

START_TEST(interval_cancel_safe) {
  icancel_t c = {0};
  tt_run(CURRENT, 0, AX_FUTURE(icancel_fn, &c));
  ck_assert_int_eq(c.bad, 0);
}
END_TEST

/* ---- shutdown with pending sleeps leaks nothing --------------------------- */

static atomic_int sleepers_started;

AX_ASYNC(sleeper_fn, nap_t, self) {
  AX_BEGIN(self);
  atomic_fetch_add(&sleepers_started, 1);
  AX_AWAIT(ax_sleep(&self->s, 3600 * 1000));
  atomic_fetch_add(&naps_bad, 1);   /* never: the runtime shuts down first */
  AX_END();
}

typedef struct smain_s {
  ax_async_t co;
  int n, i;
  ax_sleep_t pause;
  ax_sleep_t *left;    /* registered here and never dropped by this future */
} smain_t;

AX_ASYNC(smain_fn, smain_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < self->n; self->i++) {
    nap_t n = {0};
    if (AX_SPAWN(sleeper_fn, &n, NULL) != 0) atomic_fetch_add(&naps_bad, 1);
  }
  while (atomic_load(&sleepers_started) < self->n)
    AX_AWAIT(ax_sleep(&self->pause, 1));
  ax_sleep(self->left, 3600 * 1000);
  (void)ax_poll(&self->left->base, cx);
  AX_END();
}

START_TEST(shutdown_with_pending_sleeps) {
  smain_t m = {0};
  ax_sleep_t left;
  th_cx_t c;
  m.n = (int)ax_test_iters(2000);
  m.left = &left;
  atomic_store(&sleepers_started, 0);
  atomic_store(&naps_bad, 0);
  /* The shutdown cancels the sleepers: their sleeps unregister. */
  tt_run(_i, 2, AX_FUTURE(smain_fn, &m));
  ck_assert_int_eq(ldl(&naps_bad), 0);
  ck_assert_int_eq(ldi(&sleepers_started), m.n);
  /* `left` outlived its runtime: its wheel detached it.  Polled here (no
   * runtime) it reports that; dropping it frees the last of the wheel. */
  th_cx_init(&c);
  ck_assert_int_eq(TH_POLL(&left.base, &c), AX_READY);
  ck_assert_int_eq(ax_sleep_result(&left), AX_ENORUNTIME);
  ax_drop(&left.base);
  ck_assert_int_eq(ldi(&c.w.refs), 0);
}
END_TEST

/* ======================================================================
 * The keeper (time/keeper.h): a stuck home's wheel is fired elsewhere.
 * ==================================================================== */

/* White box: two wheels on loops that nobody runs (two stuck homes), a
 * keeper watching them.  A sleep an hour away puts the keeper to sleep
 * for an hour; a 5 ms sleep registered after it must wake it (the note),
 * and then every short sleep fires, from the keeper's thread, never
 * early, once.  The test waits for the wakes (a latch), never for a
 * time. */
#define KN 24
static th_latch_t kn_latch;
static ax_sleep_t kn_s[KN];
static th_waker_t kn_w[KN];
static ax_cx_t kn_cx[KN];
static atomic_int kn_bad;

static void kn_on_wake(th_waker_t *w) {
  if (ax_instant_now() < kn_s[w->tag].deadline) atomic_fetch_add(&kn_bad, 1);
  th_latch_down(&kn_latch);
}

START_TEST(keeper_fires_stuck_wheels) {
  uv_loop_t loops[2];
  ax__wheel_t *wh[2];
  ax__keeper_t *k;
  ax_sleep_t distant;
  th_cx_t fc;
  int i, registered = 0;
  for (i = 0; i < 2; i++) {
    ck_assert_int_eq(uv_loop_init(&loops[i]), 0);
    wh[i] = ax__wheel_new(&loops[i]);
  }
  TH_ASSERT_OK(ax__keeper_start(wh, 2, &k));
  atomic_store(&kn_bad, 0);
  th_latch_init(&kn_latch, KN);
  th_cx_init(&fc);
  ax_sleep(&distant, 3600 * 1000);
  ck_assert_int_eq(ax__sleep_poll_on(&distant, &fc.cx, wh[0]), AX_PENDING);
  for (i = 0; i < KN; i++) {
    th_waker_init(&kn_w[i]);
    kn_w[i].on_wake = kn_on_wake;
    kn_w[i].tag = i;
    ax_cx_init(&kn_cx[i], &kn_w[i].base);
    /* The first is the one the hour-long sleep must not hide. */
    ax_sleep(&kn_s[i], i == 0 ? 5 : 1 + mix((uint64_t)i) % 30);
    if (ax__sleep_poll_on(&kn_s[i], &kn_cx[i], wh[i % 2]) != AX_PENDING)
      th_latch_down(&kn_latch);   /* this thread was descheduled past it */
    else
      registered++;
  }
  th_latch_wait_blocking(&kn_latch);
  /* The last wake may still be returning on the keeper's thread (a waker
   * is dropped after its wake): stopping the keeper joins it. */
  ax__keeper_stop(k);
  ck_assert_int_eq(ldi(&kn_bad), 0);
  for (i = 0; i < KN; i++) {
    ck_assert_int_le(ldi(&kn_w[i].wakes), 1);
    ck_assert_int_eq(ax__sleep_poll_on(&kn_s[i], &kn_cx[i], wh[i % 2]),
                     AX_READY);
    ck_assert_int_eq(ax_sleep_result(&kn_s[i]), 0);
    ck_assert_int_eq(ldi(&kn_w[i].refs), 0);
  }
  /* The homes never ran: every wake was the keeper's. */
  ck_assert_uint_eq(ax__wheel_rescued(wh[0]) + ax__wheel_rescued(wh[1]),
                    (size_t)registered);
  ck_assert_uint_eq(ax__wheel_len(wh[0]), 1);   /* the hour is still there */
  ck_assert_uint_eq(ax__wheel_len(wh[1]), 0);
  ck_assert_int_eq(ldi(&fc.w.wakes), 0);
  ck_assert_int_eq(ax__wheel_check(wh[0]), 0);
  ck_assert_int_eq(ax__wheel_check(wh[1]), 0);
  ax_drop(&distant.base);
  ck_assert_int_eq(ldi(&fc.w.refs), 0);
  th_latch_destroy(&kn_latch);
  for (i = 0; i < 2; i++) wheel_close_loop(wh[i], &loops[i]);
}
END_TEST

/* White box, racing on purpose (TSan): the home's loop fires, a rescuer
 * thread fires the same wheel, and a third thread cancels half of the
 * entries, all at once.  Every entry ends exactly once: fired (one wake)
 * or cancelled (no wake), and no waker clone is left. */
static ax_sleep_t *rr_s;
static th_waker_t *rr_w;
static ax_cx_t *rr_cx;
static ax__wheel_t *rr_wheel;
static char *rr_reg;   /* registered (not already due at its first poll) */
static int rr_n;
static atomic_int rr_stop, rr_bad;

static void rr_on_wake(th_waker_t *w) {
  if (ax_instant_now() < rr_s[w->tag].deadline) atomic_fetch_add(&rr_bad, 1);
}

static void rr_rescuer(void *arg) {
  (void)arg;
  while (!atomic_load(&rr_stop)) {
    (void)ax__wheel_rescue(rr_wheel);
    uv_sleep(0);
  }
}

static void rr_canceller(void *arg) {
  int i;
  (void)arg;
  for (i = 0; i < rr_n; i += 2) {
    ax_drop(&rr_s[i].base);
    if (i % 64 == 0) uv_sleep(1);
  }
}

START_TEST(wheel_rescue_race) {
  uv_loop_t loop;
  uv_thread_t resc, canc;
  int i;
  rr_n = (int)ax_test_iters(6000) & ~1;
  if (rr_n < 2) rr_n = 2;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  rr_s = calloc((size_t)rr_n, sizeof *rr_s);
  rr_w = calloc((size_t)rr_n, sizeof *rr_w);
  rr_cx = calloc((size_t)rr_n, sizeof *rr_cx);
  rr_reg = calloc((size_t)rr_n, 1);
  atomic_store(&rr_stop, 0);
  atomic_store(&rr_bad, 0);
  rr_wheel = ax__wheel_new(&loop);
  for (i = 0; i < rr_n; i++) {
    th_waker_init(&rr_w[i]);
    rr_w[i].on_wake = rr_on_wake;
    rr_w[i].tag = i;
    ax_cx_init(&rr_cx[i], &rr_w[i].base);
    ax_sleep(&rr_s[i], 1 + mix((uint64_t)i) % 100);
    /* Ready at once only if this thread was descheduled past the
     * deadline (a loaded machine): then it never registered. */
    rr_reg[i] = ax__sleep_poll_on(&rr_s[i], &rr_cx[i], rr_wheel) == AX_PENDING;
  }
  ck_assert_int_eq(uv_thread_create(&resc, rr_rescuer, NULL), 0);
  ck_assert_int_eq(uv_thread_create(&canc, rr_canceller, NULL), 0);
  uv_run(&loop, UV_RUN_DEFAULT);   /* the home fires too */
  uv_thread_join(&canc);
  atomic_store(&rr_stop, 1);
  uv_thread_join(&resc);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(ldi(&rr_bad), 0);
  ck_assert_uint_eq(ax__wheel_len(rr_wheel), 0);
  ck_assert_int_eq(ax__wheel_check(rr_wheel), 0);
  for (i = 0; i < rr_n; i++) {
    ck_assert_int_le(ldi(&rr_w[i].wakes), 1);
    if (!rr_reg[i]) {
      ck_assert_int_eq(ldi(&rr_w[i].wakes), 0);
      ck_assert_int_eq(ax_sleep_result(&rr_s[i]), 0);
    } else if (i % 2) {
      /* Never cancelled: fired exactly once. */
      ck_assert_int_eq(ldi(&rr_w[i].wakes), 1);
      ck_assert_int_eq(ax__sleep_poll_on(&rr_s[i], &rr_cx[i], rr_wheel),
                       AX_READY);
      ck_assert_int_eq(ax_sleep_result(&rr_s[i]), 0);
    } else {
      ck_assert_int_eq(ax_sleep_result(&rr_s[i]), AX_ECANCELED);
    }
    ck_assert_int_eq(ldi(&rr_w[i].refs), 0);
    ax_drop(&rr_s[i].base);
  }
  wheel_close_loop(rr_wheel, &loop);
  free(rr_s);
  free(rr_w);
  free(rr_cx);
  free(rr_reg);
}
END_TEST

/* On a runtime: tasks sleep on one worker's wheel, then another task
 * blocks that worker (a blocking call in async code) until they have all
 * run, or gives up after a long time (then the test fails: nothing else
 * would have fired them).  They must run on the other worker.  Some of
 * them are aborted meanwhile from block_on's thread, racing the keeper's
 * firing: each ends either way, and nothing is left on the wheel. */
#define SW_N 8
static _Atomic(ax__wheel_t *) sw_wheel[SW_N];
static _Atomic(ax_home_t *) sw_ran_on[SW_N];
static atomic_int sw_registered, sw_finished, sw_bad;

typedef struct swsleeper_s {
  ax_async_t co;
  ax_sleep_t s;
  int i;
  int ran;      /* it got past its sleep (its drop runs at the end too) */
} swsleeper_t;

AX_ASYNC(swsleeper_fn, swsleeper_t, self) {
  AX_BEGIN(self);
  /* Long enough that the blocker is stuck before it passes (its home
   * cannot fire it from then on: only the keeper can). */
  ax_sleep(&self->s, 50);
  if (ax_poll(&self->s.base, cx) == AX_PENDING)
    atomic_store(&sw_wheel[self->i], my_wheel());
  atomic_fetch_add(&sw_registered, 1);
  AX_AWAIT(&self->s.base);
  if (ax_instant_now() < self->s.deadline || ax_sleep_result(&self->s) != 0)
    atomic_fetch_add(&sw_bad, 1);
  atomic_store(&sw_ran_on[self->i], ax_home_current());
  self->ran = 1;
  atomic_fetch_add(&sw_finished, 1);
  AX_END();
}

AX_ASYNC_DROP(swsleeper_drop, swsleeper_t, self) {
  if (!self->ran) atomic_fetch_add(&sw_finished, 1);   /* aborted */
}

typedef struct swblock_s {
  ax_async_t co;
  ax_join_t *h;            /* the sleepers' handles (the main future's) */
  th_signal_t *blocked;    /* fired when it is about to block */
  ax_home_t *home;         /* its worker */
  int same, stuck_ok;      /* sleepers on its wheel; all ran meanwhile */
  int retry;               /* its home fired some before it could block */
  size_t rescued;          /* its wheel's rescues, after */
  int k;
} swblock_t;

AX_ASYNC(swblock_fn, swblock_t, self) {
  AX_BEGIN(self);
  for (self->k = 0; self->k < SW_N; self->k++) {
    swsleeper_t s = {0};
    s.i = self->k;
    if (ax_spawn(AX_FUTURE_DROP(swsleeper_fn, swsleeper_drop, &s), sizeof s,
                 &self->h[self->k]) != 0)
      atomic_fetch_add(&sw_bad, 1);
  }
  while (atomic_load(&sw_registered) < SW_N) AX_YIELD();
  self->home = ax_home_current();
  for (self->k = 0; self->k < SW_N; self->k++)
    self->same += atomic_load(&sw_wheel[self->k]) == my_wheel();
  /* From here this worker runs nothing else: only the keeper can fire
   * the sleeps on its wheel.  Unless its own timer fired some already (a
   * slow machine): those would wait behind this poll, so try again. */
  self->retry = ax__wheel_len(my_wheel()) != (size_t)self->same;
  th_signal_fire(self->blocked);
  if (self->retry) AX_RETURN();
  {
    uint64_t t0 = uv_hrtime();
    while (atomic_load(&sw_finished) < SW_N &&
           uv_hrtime() - t0 < (uint64_t)20 * 1000 * MS)
      uv_sleep(1);
  }
  self->stuck_ok = atomic_load(&sw_finished) == SW_N;
  self->rescued = ax__wheel_rescued(my_wheel());
  AX_END();
}

typedef struct swmain_s {
  ax_async_t co;
  ax_join_t h[SW_N], bh;
  th_signal_t blocked;
  th_sigwait_t sw;
  swblock_t *b;            /* the blocker's output, once joined */
  swblock_t out;
  int k, abort_some;
} swmain_t;

AX_ASYNC(swmain_fn, swmain_t, self) {
  AX_BEGIN(self);
  {
    swblock_t b = {0};
    b.h = self->h;
    b.blocked = &self->blocked;
    if (AX_SPAWN(swblock_fn, &b, &self->bh) != 0) atomic_fetch_add(&sw_bad, 1);
  }
  AX_AWAIT(th_sigwait(&self->sw, &self->blocked, NULL));
  /* The blocker is stuck now: cancel every other sleeper from here while
   * the keeper fires them (either may win). */
  if (self->abort_some)
    for (self->k = 0; self->k < SW_N; self->k += 2) (void)ax_abort(&self->h[self->k]);
  AX_AWAIT(ax_join_wait(&self->bh));
  self->out = *AX_JOIN_OUTPUT(&self->bh, swblock_t);
  ax_join_drop(&self->bh);
  for (self->k = 0; self->k < SW_N; self->k++) {
    AX_AWAIT(ax_join_wait(&self->h[self->k]));
    if (self->h[self->k].result != 0 &&
        !(self->abort_some && self->k % 2 == 0 &&
          self->h[self->k].result == AX_ECANCELED))
      atomic_fetch_add(&sw_bad, 1);
    ax_join_drop(&self->h[self->k]);
  }
  AX_END();
}

static void run_stuck_worker(int abort_some) {
  swmain_t *m = calloc(1, sizeof *m);
  int i, tries;
  /* Which worker runs a spawned task is the scheduler's choice; the test
   * needs some sleepers on the blocker's wheel.  Nearly always all are
   * (they are spawned into its LIFO slot and queue), so a few tries. */
  for (tries = 0; tries < 20; tries++) {
    memset(m, 0, sizeof *m);
    m->abort_some = abort_some;
    th_signal_init(&m->blocked);
    atomic_store(&sw_registered, 0);
    atomic_store(&sw_finished, 0);
    atomic_store(&sw_bad, 0);
    for (i = 0; i < SW_N; i++) {
      atomic_store(&sw_wheel[i], NULL);
      atomic_store(&sw_ran_on[i], NULL);
    }
    th_run(MULTI, 2, AX_FUTURE(swmain_fn, m));
    th_signal_destroy(&m->blocked);
    ck_assert_int_eq(ldi(&sw_bad), 0);
    if (m->out.retry) continue;
    ck_assert_msg(m->out.stuck_ok, "sleepers still waiting after 20 s");
    if (m->out.same > 0) break;
  }
  ck_assert_int_gt(m->out.same, 0);
  ck_assert(!m->out.retry);
  ck_assert_uint_ge(m->out.rescued, abort_some ? 0 : (size_t)m->out.same);
  for (i = 0; i < SW_N; i++) {
    ax_home_t *ran = atomic_load(&sw_ran_on[i]);
    /* A sleeper that ran (was not aborted first) ran elsewhere if its
     * sleep was on the stuck worker. */
    if (ran != NULL && atomic_load(&sw_wheel[i]) != NULL &&
        m->out.same == SW_N)
      ck_assert_ptr_ne(ran, m->out.home);
  }
  free(m);
}

START_TEST(keeper_stuck_worker) { run_stuck_worker(0); }
END_TEST

START_TEST(keeper_stuck_worker_abort) { run_stuck_worker(1); }
END_TEST

/* ======================================================================
 * Paused time (builder.start_paused).
 * ==================================================================== */

START_TEST(paused_needs_current_thread) {
  ax_builder_t b;
  ax_runtime_t *rt = (ax_runtime_t *)&b;
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.start_paused = 1;
  TH_ASSERT_ERR(ax_runtime_new(&b, &rt), AX_EINVAL);
  ck_assert_ptr_null(rt);
  /* Outside a runtime: nothing to advance. */
  TH_ASSERT_ERR(ax_time_advance(5), AX_ENORUNTIME);
  ck_assert_int_eq(ax_time_is_paused(), 0);
}
END_TEST

/* The chapter's timeout, an hour long: the clock jumps there as soon as
 * every task waits, the inner future is dropped exactly once, and the
 * clock shows exactly one hour (the deadline, to the nanosecond). */
typedef struct hour_s {
  ax_async_t co;
  slow_t slow;
  ax_timeout_t t;
  ax_instant_t t0, t1;
  int paused, rc_real;
} hour_t;

AX_ASYNC(hour_fn, hour_t, self) {
  AX_BEGIN(self);
  self->paused = ax_time_is_paused();
  self->t0 = ax_instant_now();
  self->slow.ms = 2 * 3600 * 1000;
  AX_AWAIT(ax_timeout(&self->t,
                      AX_FUTURE_DROP(slow_fn, slow_drop, &self->slow),
                      3600 * 1000));
  self->t1 = ax_instant_now();
  ax_drop(&self->t.base);
  AX_END();
}

START_TEST(paused_hour_timeout) {
  hour_t h = {0};
  atomic_store(&slow_drops, 0);
  tt_run(CURRENT, 0, AX_FUTURE(hour_fn, &h));
  ck_assert_int_eq(h.paused, 1);
  ck_assert_int_eq(h.t.result, AX_ETIMEDOUT);
  ck_assert_int_eq(ldi(&slow_drops), 1);
  ck_assert_uint_eq(h.t1 - h.t0, (uint64_t)3600 * 1000 * MS);
}
END_TEST

/* Many tasks sleep pseudo-random times (some equal): each wakes exactly
 * at its deadline on the virtual clock, in deadline order, and two runs
 * give the same log. */
#define PO_N 200
static int po_log[PO_N];
static atomic_int po_len, po_bad;

typedef struct po_task_s {
  ax_async_t co;
  ax_sleep_t s;
  int i;
  ax_yield_t y;
} po_task_t;

AX_ASYNC(po_task_fn, po_task_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->s, 1 + mix((uint64_t)self->i) % 50 * 37));
  if (ax_instant_now() != self->s.deadline) atomic_fetch_add(&po_bad, 1);
  {
    int k = atomic_fetch_add(&po_len, 1);
    if (k < PO_N) po_log[k] = self->i;
  }
  AX_END();
}

static ax_future_t *make_po(void *buf, size_t i) {
  po_task_t *t = buf;
  t->i = (int)i;
  return AX_FUTURE(po_task_fn, t);
}

START_TEST(paused_order_deterministic) {
  int first[PO_N], k;
  atomic_store(&po_bad, 0);
  atomic_store(&po_len, 0);
  tt_run_tasks(CURRENT, 0, make_po, sizeof(po_task_t), PO_N);
  ck_assert_int_eq(ldi(&po_len), PO_N);
  memcpy(first, po_log, sizeof first);
  for (k = 1; k < PO_N; k++)   /* deadline order (all slept from one time) */
    ck_assert_uint_le(mix((uint64_t)first[k - 1]) % 50,
                      mix((uint64_t)first[k]) % 50);
  atomic_store(&po_len, 0);
  tt_run_tasks(CURRENT, 0, make_po, sizeof(po_task_t), PO_N);
  ck_assert_int_eq(ldi(&po_len), PO_N);
  ck_assert_int_eq(memcmp(first, po_log, sizeof first), 0);
  ck_assert_int_eq(ldi(&po_bad), 0);
}
END_TEST

/* ax_time_advance by hand: nothing fires before its deadline, everything
 * due fires at the advance, the clock moves by exactly what was asked;
 * on a runtime that is not paused it refuses. */
typedef struct adv_s {
  ax_async_t co;
  ax_sleep_t a, b, c;
  ax_instant_t t0;
  ax_yield_t y;
  int bad;
} adv_t;

AX_ASYNC(adv_fn, adv_t, self) {
  AX_BEGIN(self);
  if (!ax_time_is_paused()) {
    if (ax_time_advance(10) != AX_EINVAL) self->bad |= 1;
    AX_RETURN();
  }
  self->t0 = ax_instant_now();
  ax_sleep(&self->a, 100);
  ax_sleep(&self->b, 100);
  ax_sleep(&self->c, 250);
  if (ax_poll(&self->a.base, cx) != AX_PENDING) self->bad |= 2;
  if (ax_poll(&self->b.base, cx) != AX_PENDING) self->bad |= 2;
  if (ax_poll(&self->c.base, cx) != AX_PENDING) self->bad |= 2;
  if (ax_time_advance(99) != 0) self->bad |= 4;
  if (ax_poll(&self->a.base, cx) != AX_PENDING) self->bad |= 8;
  if (ax_instant_now() - self->t0 != 99 * MS) self->bad |= 16;
  if (ax_time_advance(1) != 0) self->bad |= 4;
  if (ax_poll(&self->a.base, cx) != AX_READY) self->bad |= 32;
  if (ax_poll(&self->b.base, cx) != AX_READY) self->bad |= 32;
  if (ax_poll(&self->c.base, cx) != AX_PENDING) self->bad |= 64;
  if (ax__wheel_len(my_wheel()) != 1) self->bad |= 128;
  /* A large step fires what is due, and no more than once. */
  if (ax_time_advance(3600 * 1000) != 0) self->bad |= 4;
  AX_AWAIT(&self->c.base);
  if (ax_instant_now() - self->t0 != (3600 * 1000 + 100) * MS) self->bad |= 256;
  AX_AWAIT(ax_yield_now(&self->y));
  AX_END();
}

START_TEST(paused_advance_by_hand) {
  adv_t a = {0};
  run_clean(_i, AX_FUTURE(adv_fn, &a), &a.bad);
}
END_TEST

/* Time stands still while a libuv request is in flight: a blocking job
 * that takes real time finishes inside a short timeout, every run. */
static void *slow_job(void *arg) {
  uv_sleep(30);
  return arg;
}

typedef struct pblk_s {
  ax_async_t co;
  ax_join_t h;
  ax_timeout_t t;
  ax_instant_t t0, t1;
  int spawn_rc;
} pblk_t;

AX_ASYNC(pblk_fn, pblk_t, self) {
  AX_BEGIN(self);
  self->t0 = ax_instant_now();
  self->spawn_rc = ax_spawn_blocking(slow_job, NULL, &self->h);
  if (self->spawn_rc != 0) AX_RETURN();
  AX_AWAIT(ax_timeout(&self->t, ax_join_wait(&self->h), 10));
  self->t1 = ax_instant_now();
  ax_drop(&self->t.base);
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(paused_blocking_holds_clock) {
  pblk_t p = {0};
  tt_run(CURRENT, 0, AX_FUTURE(pblk_fn, &p));
  TH_ASSERT_OK(p.spawn_rc);
  ck_assert_int_eq(p.t.result, 0);
  ck_assert_int_eq(p.h.result, 0);
  ck_assert_uint_lt(p.t1 - p.t0, 10 * MS);
}
END_TEST

/* Cancellation on a paused clock: a select loser and an aborted sleeper
 * leave the wheel at once; the clock never runs past the end of block_on
 * (tasks sleeping an hour when it ends are cancelled by the shutdown,
 * not fired). */
static atomic_int pc_fired;

AX_ASYNC(pc_sleeper_fn, nap_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->s, self->ms));
  atomic_fetch_add(&pc_fired, 1);
  AX_END();
}

typedef struct pcancel_s {
  ax_async_t co;
  ax_sleep_t a, b;
  ax_select_t race;
  ax_join_t h, h2;
  ax_yield_t y;
  ax_instant_t t0;
  int bad;
} pcancel_t;

AX_ASYNC(pcancel_fn, pcancel_t, self) {
  AX_BEGIN(self);
  self->t0 = ax_instant_now();
  AX_AWAIT(ax_select(&self->race, ax_sleep(&self->a, 7200 * 1000),
                     ax_sleep(&self->b, 3600 * 1000)));
  if (self->race.winner != 1) self->bad |= 1;
  if (ax__wheel_len(my_wheel()) != 0) self->bad |= 2;
  if (ax_instant_now() - self->t0 != (uint64_t)3600 * 1000 * MS) self->bad |= 4;
  {
    nap_t n = {0};
    n.ms = 60 * 1000;
    if (AX_SPAWN(pc_sleeper_fn, &n, &self->h) != 0) self->bad |= 8;
    n.ms = 3600 * 1000;
    if (AX_SPAWN(pc_sleeper_fn, &n, &self->h2) != 0) self->bad |= 8;
  }
  AX_AWAIT(ax_yield_now(&self->y));   /* the sleepers register */
  if (ax__wheel_len(my_wheel()) != 2) self->bad |= 16;
  (void)ax_abort(&self->h);
  AX_AWAIT(ax_join_wait(&self->h));
  if (self->h.result != AX_ECANCELED) self->bad |= 32;
  ax_join_drop(&self->h);
  if (ax__wheel_len(my_wheel()) != 1) self->bad |= 64;
  ax_join_drop(&self->h2);   /* detached: still asleep when this ends */
  AX_END();
}

/* A sleep "for ever" never makes the clock jump: with nothing else
 * pending the runtime sleeps for real until another thread wakes it. */
static th_signal_t pf_sig;

static void pf_thread(void *arg) {
  (void)arg;
  uv_sleep(5);
  th_signal_fire(&pf_sig);
}

typedef struct pforever_s {
  ax_async_t co;
  ax_sleep_t never;
  th_sigwait_t sw;
  ax_select_t race;
  ax_instant_t t0, t1;
  uv_thread_t th;
  int started;
} pforever_t;

AX_ASYNC(pforever_fn, pforever_t, self) {
  AX_BEGIN(self);
  self->t0 = ax_instant_now();
  self->started = uv_thread_create(&self->th, pf_thread, NULL) == 0;
  if (!self->started) AX_RETURN();
  AX_AWAIT(ax_select(&self->race, ax_sleep_until(&self->never, UINT64_MAX),
                     th_sigwait(&self->sw, &pf_sig, NULL)));
  self->t1 = ax_instant_now();
  AX_END();
}

START_TEST(paused_forever_stands_still) {
  pforever_t f = {0};
  th_signal_init(&pf_sig);
  tt_run(CURRENT, 0, AX_FUTURE(pforever_fn, &f));
  ck_assert(f.started);
  uv_thread_join(&f.th);
  ck_assert_int_eq(f.race.winner, 1);
  ck_assert_uint_eq(f.t1, f.t0);
  th_signal_destroy(&pf_sig);
}
END_TEST

START_TEST(paused_cancel) {
  pcancel_t c = {0};
  atomic_store(&pc_fired, 0);
  run_clean(CURRENT, AX_FUTURE(pcancel_fn, &c), &c.bad);
  ck_assert_int_eq(ldi(&pc_fired), 0);
}
END_TEST

Suite *ax_time_suite(void) {
  return AX_SUITE("time",
                  AX_CASE("wheel", 30),
                  AX_ONCE(wheel_order_never_early),
                  AX_ONCE(wheel_cancel_far_and_detach),
                  AX_ONCE(wheel_cross_thread_cancel),
                  AX_ONCE(wheel_model_simulated_time),
                  AX_ONCE(outside_runtime),
                  AX_CASE("sleep", 30),
                  AX_FLAVOURS(sleep_never_early),
                  AX_ONCE(sleep_wake_order),
                  AX_FLAVOURS(sleep_due_before_park),
                  AX_FLAVOURS(sleep_cancel_and_drop),
                  AX_ONCE(sleep_cross_worker),
                  AX_ONCE(sleep_cross_worker_race),
                  AX_FLAVOURS(sleep_reset),
                  AX_FLAVOURS(many_sleeps),
                  AX_FLAVOURS(shutdown_with_pending_sleeps),
                  AX_CASE("timeout", 30),
                  AX_FLAVOURS(timeout_fires_and_not),
                  AX_CASE("interval", 30),
                  AX_FLAVOURS(interval_ticks),
                  AX_FLAVOURS(interval_missed_burst),
                  AX_FLAVOURS(interval_missed_delay),
                  AX_FLAVOURS(interval_missed_skip),
                  AX_ONCE(interval_cancel_safe),
                  AX_CASE("keeper", 60),
                  AX_ONCE(keeper_fires_stuck_wheels),
                  AX_ONCE(wheel_rescue_race),
                  AX_ONCE(keeper_stuck_worker),
                  AX_ONCE(keeper_stuck_worker_abort),
                  AX_CASE("paused", 30),
                  AX_ONCE(paused_needs_current_thread),
                  AX_ONCE(paused_hour_timeout),
                  AX_ONCE(paused_order_deterministic),
                  AX_FLAVOURS(paused_advance_by_hand),
                  AX_ONCE(paused_blocking_holds_clock),
                  AX_ONCE(paused_cancel),
                  AX_ONCE(paused_forever_stands_still));
}
