/* axle-desktop-bench-win32: the Win32 adapter's wake latency and message
 * counts (BENCHMARKS.md, "Desktop"); Windows builds (run under wine in
 * the cross build).
 *
 *   wake latency  a worker spawns onto the GUI runtime while the GUI
 *                 thread sleeps in GetMessage; time from the spawn to the
 *                 task's first poll.
 *   idle          messages the GUI loop gets in N s with nothing to do.
 *   ticking       messages per tick of a 16 ms interval on the GUI thread.
 *
 * usage: axle-desktop-bench-win32 [seconds for idle and ticking, default 2]
 */
#include <axle.h>
#include <axle/win32.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 1000

static ax_win32_t *gui;
static uint64_t lat[ROUNDS];

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

typedef struct on_gui_s {
  ax_async_t co;
  uint64_t sent;
  int i;
} on_gui_t;

AX_ASYNC(on_gui, on_gui_t, self) {
  AX_BEGIN(self);
  lat[self->i] = uv_hrtime() - self->sent;
  if (self->i == ROUNDS - 1) PostQuitMessage(0);
  AX_END();
}

typedef struct driver_s {
  ax_async_t co;
  ax_sleep_t gap;
  ax_join_t h;
  on_gui_t g;
  int i;
} driver_t;

AX_ASYNC(driver, driver_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < ROUNDS; self->i++) {
    AX_AWAIT(ax_sleep(&self->gap, 2));
    self->g.i = self->i;
    self->g.sent = uv_hrtime();
    if (ax_spawn_on(ax_win32_runtime(gui), AX_FUTURE(on_gui, &self->g),
                    sizeof self->g, &self->h) != 0)
      abort();
    AX_AWAIT(ax_join_wait(&self->h));
    ax_join_drop(&self->h);
  }
  AX_END();
}

typedef struct ticker_s {
  ax_async_t co;
  ax_interval_t iv;
  int ticks;
} ticker_t;

AX_ASYNC(ticker, ticker_t, self) {
  AX_BEGIN(self);
  ax_interval_init(&self->iv, 16);
  for (; self->ticks > 0; self->ticks--) AX_AWAIT(ax_interval_tick(&self->iv));
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

static long count_messages(void) {
  MSG m;
  long n = 0;
  while (GetMessageW(&m, NULL, 0, 0) > 0) {
    n++;
    DispatchMessageW(&m);
  }
  return n;
}

int main(int argc, char **argv) {
  unsigned secs = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
  ax_builder_t b;
  ax_runtime_t *mt;
  driver_t d = AX_ZERO(driver_t);
  ticker_t t = AX_ZERO(ticker_t);
  long n;
  int ticks = (int)(secs * 1000 / 16);
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 2;
  if (ax_runtime_new(&b, &mt) != 0 || ax_win32_new(NULL, &gui) != 0) return 1;

  ax_spawn_on(mt, AX_FUTURE(driver, &d), sizeof d, NULL);
  count_messages();
  qsort(lat, ROUNDS, sizeof *lat, cmp_u64);
  printf("wake latency worker -> GUI (Win32) n=%d  p50 %.1f us  p90 %.1f us  "
         "p99 %.1f us  max %.1f us\n",
         ROUNDS, lat[ROUNDS / 2] / 1e3, lat[ROUNDS * 9 / 10] / 1e3,
         lat[ROUNDS * 99 / 100] / 1e3, lat[ROUNDS - 1] / 1e3);

  SetTimer(NULL, 0, secs * 1000, quit_timer);
  n = count_messages();
  printf("idle %u s, Win32 loop + pumped runtime: %ld messages (the quit "
         "timer's included)\n", secs, n);

  t.ticks = ticks;
  ax_spawn_on(ax_win32_runtime(gui), AX_FUTURE(ticker, &t), sizeof t, NULL);
  n = count_messages();
  printf("ticking 16 ms on the GUI thread: %.2f messages/tick (%d ticks)\n",
         (double)n / ticks, ticks);
  ax_win32_free(gui);
  ax_runtime_free(mt);
  return 0;
}
