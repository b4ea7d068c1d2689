/* The Win32 adapter (<axle/win32.h>): a hidden message-only window that
 * pumps a pumped runtime.  Uses only the public API (<axle/embed.h>).
 *
 * Why messages rather than an event that the application's loop waits
 * on: a posted message reaches the window through whatever loop the
 * thread is in, including the modal loops of MessageBox, menus and
 * window moves, which an application cannot change.  The same goes for
 * the runtime's timer, a SetTimer on the window.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "axle/win32.h"

#define WM_AXLE_WAKE (WM_APP + 0x41)   /* the wake callback's message */
#define TIMER_ID 1

struct ax_win32_s {
  HWND hwnd;            /* the hidden window (its GWLP_USERDATA is us) */
  ax_runtime_t *rt;     /* the pumped runtime */
  int timer_armed;      /* a SetTimer is pending */
};

static const wchar_t class_name[] = L"axle-pump";

/* Any thread: the runtime has work.  Calls are coalesced by the runtime
 * (one per pump at most), so the queue never fills with them. */
static void win32_wake(void *arg) {
  ax_win32_t *w = arg;
  PostMessageW(w->hwnd, WM_AXLE_WAKE, 0, 0);
}

/* After a pump: the window's timer follows the runtime's next timer. */
static void arm_timer(ax_win32_t *w) {
  int t = ax_pump_timeout(w->rt);
  if (t == 0) {
    /* Due now (and no wake asked for, or the pump said so): next turn. */
    PostMessageW(w->hwnd, WM_AXLE_WAKE, 0, 0);
  } else if (t > 0) {
    SetTimer(w->hwnd, TIMER_ID, (UINT)t, NULL);
    w->timer_armed = 1;
    return;
  }
  if (w->timer_armed) {
    KillTimer(w->hwnd, TIMER_ID);
    w->timer_armed = 0;
  }
}

static LRESULT CALLBACK pump_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  ax_win32_t *w = (ax_win32_t *)GetWindowLongPtrW(hwnd, GWLP_USERDATA);
  if (w != NULL && (msg == WM_AXLE_WAKE || (msg == WM_TIMER && wp == TIMER_ID))) {
    int rc = ax_pump(w->rt, AX_PUMP_BUDGET);
    /* rc 1: the budget ran out and the runtime posted its wake again. */
    if (rc == 0) arm_timer(w);
    return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}

int ax_win32_new(const ax_builder_t *b, ax_win32_t **out) {
  ax_pump_config_t cfg = AX_ZERO(ax_pump_config_t);
  WNDCLASSEXW wc;
  ax_win32_t *w;
  int rc;
  if (out == NULL) return AX_EINVAL;
  *out = NULL;
  w = (ax_win32_t *)calloc(1, sizeof(*w));
  if (w == NULL) return AX_ENOMEM;
  memset(&wc, 0, sizeof(wc));
  wc.cbSize = sizeof(wc);
  wc.lpfnWndProc = pump_proc;
  wc.hInstance = GetModuleHandleW(NULL);
  wc.lpszClassName = class_name;
  /* Once per process; a second registration fails harmlessly. */
  if (RegisterClassExW(&wc) == 0 && GetLastError() != ERROR_CLASS_ALREADY_EXISTS) {
    free(w);
    return UV_EIO;
  }
  w->hwnd = CreateWindowExW(0, class_name, L"", 0, 0, 0, 0, 0, HWND_MESSAGE,
                            NULL, wc.hInstance, NULL);
  if (w->hwnd == NULL) {
    free(w);
    return UV_EIO;
  }
  cfg.wake = win32_wake;
  cfg.wake_arg = w;
  /* The loop's completion port cannot be waited on by a message loop. */
  cfg.io_thread = 1;
  rc = ax_runtime_new_pumped(b, &cfg, &w->rt);
  if (rc != 0) {
    DestroyWindow(w->hwnd);
    free(w);
    return rc;
  }
  SetWindowLongPtrW(w->hwnd, GWLP_USERDATA, (LONG_PTR)w);
  *out = w;
  return 0;
}

ax_runtime_t *ax_win32_runtime(const ax_win32_t *w) {
  assert(w != NULL);
  return w->rt;
}

int ax_win32_run(ax_win32_t *w) {
  MSG m;
  BOOL got;
  assert(w != NULL);
  (void)w;
  while ((got = GetMessageW(&m, NULL, 0, 0)) != 0) {
    if (got == -1) return -1;
    TranslateMessage(&m);
    DispatchMessageW(&m);
  }
  return (int)m.wParam;
}

int ax_win32_free(ax_win32_t *w) {
  int rc;
  if (w == NULL) return 0;
  rc = ax_runtime_free(w->rt);
  if (rc != 0) return rc;
  /* No wake call can come any more; wakes already queued are for a
   * window that goes now, and DestroyWindow drops them. */
  SetWindowLongPtrW(w->hwnd, GWLP_USERDATA, 0);
  if (w->timer_armed) KillTimer(w->hwnd, TIMER_ID);
  DestroyWindow(w->hwnd);
  free(w);
  return 0;
}
