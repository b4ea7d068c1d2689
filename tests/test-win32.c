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

static int on_gui(void) { return GetCurrentThreadId() == gui_thread; }

typedef struct quit_s {
  ax_async_t co;
} quit_t;

AX_ASYNC(quit_fn, quit_t, self) {   /* on the GUI thread: ends its loop */
  AX_BEGIN(self);
  PostQuitMessage(7);
  AX_END();
}

/* th_gui_run_t's last(): ends the GUI thread's loop, from that thread. */
static int quit_gui(void *gui) {
  quit_t q = AX_ZERO(quit_t);
  return ax_spawn_on(gui, AX_FUTURE(quit_fn, &q), sizeof q, NULL);
}

/* Workers that spawn onto the GUI runtime and await it (helpers.h).
 * _i == 0: ax_win32_run; 1: the test's own GetMessage loop. */
START_TEST(win32_workers_and_gui_thread) {
  ax_win32_t *w;
  ax_runtime_t *mt = th_runtime(1, 2, NULL);
  th_gui_run_t r;
  int code;
  gui_thread = GetCurrentThreadId();
  TH_ASSERT_OK(ax_win32_new(NULL, &w));
  memset(&r, 0, sizeof(r));
  r.gui = ax_win32_runtime(w);
  r.on_gui = on_gui;
  r.last = quit_gui;
  r.last_arg = r.gui;
  r.n = (int)ax_test_iters(100);
  th_gui_spawn(mt, &r);
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
  ck_assert_int_eq(atomic_load(&r.done), r.n);
  ck_assert_int_eq(atomic_load(&r.wrong), 0);
  TH_ASSERT_OK(ax_runtime_free(mt));
  TH_ASSERT_OK(ax_win32_free(w));
}
END_TEST

/* ---- idle: no message is axle's; ticking: one or so per tick ----------- */

/* After the ticks: ends count_messages() below. */
static void quit_now(void) { PostQuitMessage(0); }

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
  th_ticker_t t;
  int idle, ticking;
  TH_ASSERT_OK(ax_win32_new(NULL, &w));
  /* 300 ms with only the quit timer due: its WM_TIMER is the message. */
  SetTimer(NULL, 0, 300, quit_timer);
  idle = count_messages();
  ck_assert_int_le(idle, 2);
  /* Ten 20 ms sleeps: about one WM_TIMER each (Win32 timers are coarse,
   * so a tick may take two), never a busy loop. */
  TH_ASSERT_OK(ax_spawn_on(ax_win32_runtime(w),
                           th_ticker(&t, 10, 20, quit_now), sizeof(t), NULL));
  ticking = count_messages();
  ck_assert_int_ge(ticking, 10);
  ck_assert_int_le(ticking, 40);
  fprintf(stderr, "win32: idle 300 ms: %d messages; 10 ticks: %d messages\n",
          idle, ticking);
  TH_ASSERT_OK(ax_win32_free(w));
}
END_TEST

/* ---- closing with work in flight ----------------------------------------- */

START_TEST(win32_free_cancels_in_flight) {
  ax_win32_t *w;
  _Atomic int drops = 0;
  MSG m;
  TH_ASSERT_OK(ax_win32_new(NULL, &w));
  th_spawn_forever(ax_win32_runtime(w), 20, NULL, &drops);
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
