/* The Win32 adapter (<axle/win32.h>) in real message loops (Windows, and
 * wine in the Windows stage): tasks spawned from workers run on the GUI
 * thread and are awaited by the workers, timers and blocking jobs come
 * through, a plain GetMessage loop of the test's own drives it as well as
 * ax_win32_run, an idle runtime adds no message, and freeing it with work
 * in flight cancels everything.  Nothing is timed: the idle test counts
 * messages over a stretch in which only its own quit timer is due. */
#include <axle/win32.h>

#include "helpers.h"

static DWORD gui_thread;

static void *square(void *arg) {
  intptr_t v = (intptr_t)arg;
  return (void *)(v * v);
}

typedef struct gui_s {
  ax_async_t co;
  ax_sleep_t nap;
  ax_join_t h;
  _Atomic int *wrong;
  int in, out;
} gui_t;

AX_ASYNC(gui_fn, gui_t, self) {
  if (GetCurrentThreadId() != gui_thread) atomic_fetch_add(self->wrong, 1);
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->nap, (uint64_t)(self->in % 3)));
  if (ax_spawn_blocking(square, (void *)(intptr_t)self->in, &self->h) != 0) {
    atomic_fetch_add(self->wrong, 1);
    AX_RETURN();
  }
  AX_AWAIT(ax_join_wait(&self->h));
  self->out = (int)(intptr_t)ax_join_value(&self->h);
  ax_join_drop(&self->h);
  AX_END();
}

typedef struct quit_s {
  ax_async_t co;
} quit_t;

AX_ASYNC(quit_fn, quit_t, self) {   /* on the GUI thread: ends its loop */
  AX_BEGIN(self);
  PostQuitMessage(7);
  AX_END();
}

typedef struct worker_s {
  ax_async_t co;
  ax_runtime_t *gui;
  ax_join_t h;
  gui_t g;
  _Atomic int *wrong, *done;
  int in, total;
} worker_t;

AX_ASYNC(worker_fn, worker_t, self) {
  AX_BEGIN(self);
  if (GetCurrentThreadId() == gui_thread) atomic_fetch_add(self->wrong, 1);
  self->g.wrong = self->wrong;
  self->g.in = self->in;
  if (ax_spawn_on(self->gui, AX_FUTURE(gui_fn, &self->g), sizeof(self->g),
                  &self->h) != 0) {
    atomic_fetch_add(self->wrong, 1);
  } else {
    AX_AWAIT(ax_join_wait(&self->h));
    if (self->h.result != 0 ||
        AX_JOIN_OUTPUT(&self->h, gui_t)->out != self->in * self->in)
      atomic_fetch_add(self->wrong, 1);
    ax_join_drop(&self->h);
  }
  if (atomic_fetch_add(self->done, 1) + 1 == self->total) {
    quit_t q = AX_ZERO(quit_t);
    if (ax_spawn_on(self->gui, AX_FUTURE(quit_fn, &q), sizeof q, NULL) != 0)
      atomic_fetch_add(self->wrong, 1);
  }
  AX_END();
}

/* _i == 0: ax_win32_run; 1: the test's own GetMessage loop. */
START_TEST(win32_workers_and_gui_thread) {
  ax_win32_t *w;
  ax_runtime_t *mt = th_runtime(1, 2, NULL);
  _Atomic int wrong = 0, done = 0;
  int i, n = (int)ax_test_iters(100), code;
  gui_thread = GetCurrentThreadId();
  TH_ASSERT_OK(ax_win32_new(NULL, &w));
  for (i = 0; i < n; i++) {
    worker_t wk = AX_ZERO(worker_t);
    wk.gui = ax_win32_runtime(w);
    wk.wrong = &wrong;
    wk.done = &done;
    wk.in = i;
    wk.total = n;
    TH_ASSERT_OK(ax_spawn_on(mt, AX_FUTURE(worker_fn, &wk), sizeof(wk), NULL));
  }
  if (_i == 0) {
    code = ax_win32_run(w);
  } else {
    MSG m;
    while (GetMessageW(&m, NULL, 0, 0) > 0) {
      TranslateMessage(&m);
      DispatchMessageW(&m);
    }
    code = (int)m.wParam;
  }
  ck_assert_int_eq(code, 7);
  ck_assert_int_eq(atomic_load(&done), n);
  ck_assert_int_eq(atomic_load(&wrong), 0);
  TH_ASSERT_OK(ax_runtime_free(mt));
  TH_ASSERT_OK(ax_win32_free(w));
}
END_TEST

/* ---- idle: no message is axle's; ticking: one or so per tick ----------- */

typedef struct ticker_s {
  ax_async_t co;
  ax_sleep_t nap;
  int ticks;
} ticker_t;

AX_ASYNC(ticker_fn, ticker_t, self) {
  AX_BEGIN(self);
  for (; self->ticks > 0; self->ticks--) AX_AWAIT(ax_sleep(&self->nap, 20));
  PostQuitMessage(0);
  AX_END();
}

static void CALLBACK quit_timer(HWND h, UINT m, UINT_PTR id, DWORD t) {
  (void)h;
  (void)m;
  (void)t;
  KillTimer(NULL, id);
  PostQuitMessage(0);
}

static int count_messages(void) {
  MSG m;
  int n = 0;
  while (GetMessageW(&m, NULL, 0, 0) > 0) {
    n++;
    DispatchMessageW(&m);
  }
  return n;
}

START_TEST(win32_idle_posts_nothing) {
  ax_win32_t *w;
  ticker_t t = AX_ZERO(ticker_t);
  int idle, ticking;
  TH_ASSERT_OK(ax_win32_new(NULL, &w));
  /* 300 ms with only the quit timer due: its WM_TIMER is the message. */
  SetTimer(NULL, 0, 300, quit_timer);
  idle = count_messages();
  ck_assert_int_le(idle, 2);
  /* Ten 20 ms sleeps: about one WM_TIMER each (Win32 timers are coarse,
   * so a tick may take two), never a busy loop. */
  t.ticks = 10;
  TH_ASSERT_OK(ax_spawn_on(ax_win32_runtime(w), AX_FUTURE(ticker_fn, &t),
                           sizeof(t), NULL));
  ticking = count_messages();
  ck_assert_int_ge(ticking, 10);
  ck_assert_int_le(ticking, 40);
  fprintf(stderr, "win32: idle 300 ms: %d messages; 10 ticks: %d messages\n",
          idle, ticking);
  TH_ASSERT_OK(ax_win32_free(w));
}
END_TEST

/* ---- closing with work in flight ----------------------------------------- */

typedef struct forever_s {
  ax_async_t co;
  ax_sleep_t nap;
  _Atomic int *drops;
} forever_t;

AX_ASYNC(forever_fn, forever_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->nap, 3600 * 1000));
  AX_END();
}

AX_ASYNC_DROP(forever_drop, forever_t, self) { atomic_fetch_add(self->drops, 1); }

START_TEST(win32_free_cancels_in_flight) {
  ax_win32_t *w;
  _Atomic int drops = 0;
  MSG m;
  int i;
  TH_ASSERT_OK(ax_win32_new(NULL, &w));
  for (i = 0; i < 20; i++) {
    forever_t f = AX_ZERO(forever_t);
    f.drops = &drops;
    TH_ASSERT_OK(ax_spawn_on(ax_win32_runtime(w),
                             AX_FUTURE_DROP(forever_fn, forever_drop, &f),
                             sizeof(f), NULL));
  }
  while (PeekMessageW(&m, NULL, 0, 0, PM_REMOVE)) DispatchMessageW(&m);
  TH_ASSERT_OK(ax_win32_free(w));
  ck_assert_int_eq(atomic_load(&drops), 20);
  while (PeekMessageW(&m, NULL, 0, 0, PM_REMOVE)) DispatchMessageW(&m);
}
END_TEST

START_TEST(win32_new_refuses_bad_builders) {
  ax_builder_t b;
  ax_win32_t *w = (ax_win32_t *)&b;
  ax_builder_init(&b, AX_MULTI_THREAD);
  TH_ASSERT_ERR(ax_win32_new(&b, &w), AX_EINVAL);
  ck_assert_ptr_null(w);
  TH_ASSERT_ERR(ax_win32_new(NULL, NULL), AX_EINVAL);
  TH_ASSERT_OK(ax_win32_free(NULL));
}
END_TEST

Suite *ax_win32_suite(void) {
  return AX_SUITE("win32",
                  AX_CASE("win32", 60),
                  AX_LOOP(win32_workers_and_gui_thread, 0, 2),
                  AX_ONCE(win32_idle_posts_nothing),
                  AX_ONCE(win32_free_cancels_in_flight),
                  AX_ONCE(win32_new_refuses_bad_builders));
}
