/* axle-desktop-bench: what a desktop app pays (BENCHMARKS.md, "Desktop").
 *
 *   wake latency   a worker spawns onto the GUI thread's runtime (a GLib
 *                  main loop with <axle/glib.h>) while that thread sleeps
 *                  in poll(); time from the spawn to the task's first
 *                  poll on the GUI thread.  And the reverse: a GUI task
 *                  spawning onto the workers.
 *   idle           the GUI loop and a multi-thread runtime with nothing to
 *                  do: loop iterations (GLib polls), worker parks, CPU.
 *   ticking        a task sleeping 16 ms per tick (an animation): GLib
 *                  polls and CPU per tick; the same on a worker, with the
 *                  default idle spin and with AX_IDLE_SPIN_OFF.
 * CPU is the process's (getrusage), so it includes GLib's own work.
 *
 * usage: axle-desktop-bench [seconds per idle/ticking run, default 2]
 */
#include <axle.h>
#include <axle/glib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
         (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *ns, size_t n) {
  qsort(ns, n, sizeof *ns, cmp_u64);
  printf("%-34s n=%zu  p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n",
         what, n, ns[n / 2] / 1e3, ns[n * 9 / 10] / 1e3, ns[n * 99 / 100] / 1e3,
         ns[n - 1] / 1e3);
}

/* ---- the GUI loop's polls ----------------------------------------------- */

static GPollFunc real_poll;
static _Atomic long polls;
static gint counting_poll(GPollFD *fds, guint n, gint timeout) {
  atomic_fetch_add(&polls, 1);
  return real_poll(fds, n, timeout);
}

static gboolean quit_cb(gpointer loop) {
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

/* ---- wake latency: worker -> GUI ------------------------------------------ */

#define ROUNDS 2000

static ax_glib_t *gui;
static ax_runtime_t *mt;
static GMainLoop *loop;
static uint64_t lat[ROUNDS];
static uint64_t back_lat[ROUNDS];

typedef struct on_gui_s {
  ax_async_t co;
  uint64_t sent;      /* uv_hrtime at the spawn */
  int i;
} on_gui_t;

AX_ASYNC(on_gui, on_gui_t, self) {
  AX_BEGIN(self);
  lat[self->i] = uv_hrtime() - self->sent;
  AX_END();
}

typedef struct on_worker_s {
  ax_async_t co;
  uint64_t sent;
  int i;
} on_worker_t;

AX_ASYNC(on_worker, on_worker_t, self) {
  AX_BEGIN(self);
  back_lat[self->i] = uv_hrtime() - self->sent;
  AX_END();
}

/* On a worker: one spawn onto the GUI per round, each after the GUI has
 * gone back to sleep (a 2 ms pause), and awaited. */
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
    if (ax_spawn_on(ax_glib_runtime(gui), AX_FUTURE(on_gui, &self->g),
                    sizeof self->g, &self->h) != 0)
      abort();
    AX_AWAIT(ax_join_wait(&self->h));
    ax_join_drop(&self->h);
  }
  g_main_context_invoke(NULL, quit_cb, loop);
  AX_END();
}

/* On the GUI thread: the reverse, GUI -> an idle worker. */
typedef struct back_driver_s {
  ax_async_t co;
  ax_sleep_t gap;
  ax_join_t h;
  on_worker_t w;
  int i;
} back_driver_t;

AX_ASYNC(back_driver, back_driver_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < ROUNDS; self->i++) {
    AX_AWAIT(ax_sleep(&self->gap, 2));
    self->w.i = self->i;
    self->w.sent = uv_hrtime();
    if (ax_spawn_on(mt, AX_FUTURE(on_worker, &self->w), sizeof self->w,
                    &self->h) != 0)
      abort();
    AX_AWAIT(ax_join_wait(&self->h));
    ax_join_drop(&self->h);
  }
  g_main_loop_quit(loop);
  AX_END();
}

/* ---- ticking ----------------------------------------------------------------- */

typedef struct ticker_s {
  ax_async_t co;
  ax_interval_t iv;
  int ticks;
} ticker_t;

AX_ASYNC(ticker, ticker_t, self) {
  AX_BEGIN(self);
  ax_interval_init(&self->iv, 16);
  for (; self->ticks > 0; self->ticks--) AX_AWAIT(ax_interval_tick(&self->iv));
  AX_END();
}

static void tick_on_workers(unsigned spin_us, const char *label, int ticks) {
  ax_builder_t b;
  ax_runtime_t *rt;
  ticker_t t = AX_ZERO(ticker_t);
  ax_join_t h;
  ax_worker_stats_t s;
  uint64_t parks0 = 0, parks1 = 0;
  double c0;
  unsigned i;
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 2;
  b.idle_spin_us = spin_us;
  if (ax_runtime_new(&b, &rt) != 0) abort();
  uv_sleep(100);
  for (i = 0; i < 2; i++) {
    ax_runtime_worker_stats(rt, i, &s);
    parks0 += s.parks;
  }
  c0 = cpu_us();
  t.ticks = ticks;
  ax_spawn_on(rt, AX_FUTURE(ticker, &t), sizeof t, &h);
  while (!ax_join_is_finished(&h)) uv_sleep(50);
  for (i = 0; i < 2; i++) {
    ax_runtime_worker_stats(rt, i, &s);
    parks1 += s.parks;
  }
  printf("ticking 16 ms on workers (%s): %.1f us CPU/tick, %.2f parks/tick\n",
         label, (cpu_us() - c0) / ticks, (double)(parks1 - parks0) / ticks);
  ax_join_drop(&h);
  ax_runtime_free(rt);
}

static void idle_workers(unsigned spin_us, const char *label, unsigned secs) {
  ax_builder_t b;
  ax_runtime_t *rt;
  ax_worker_stats_t s;
  uint64_t parks0 = 0, parks1 = 0;
  double c0;
  unsigned i;
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 2;
  b.idle_spin_us = spin_us;
  if (ax_runtime_new(&b, &rt) != 0) abort();
  uv_sleep(100);
  for (i = 0; i < 2; i++) {
    ax_runtime_worker_stats(rt, i, &s);
    parks0 += s.parks;
  }
  c0 = cpu_us();
  uv_sleep(secs * 1000);
  for (i = 0; i < 2; i++) {
    ax_runtime_worker_stats(rt, i, &s);
    parks1 += s.parks;
  }
  printf("idle %u s, 2 workers (%s): %llu wake-ups, %.0f us CPU\n", secs,
         label, (unsigned long long)(parks1 - parks0), cpu_us() - c0);
  ax_runtime_free(rt);
}

int main(int argc, char **argv) {
  unsigned secs = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
  ax_builder_t b;
  GMainContext *ctx = g_main_context_default();
  driver_t d = AX_ZERO(driver_t);
  back_driver_t bd = AX_ZERO(back_driver_t);
  ticker_t t = AX_ZERO(ticker_t);
  ax_join_t h;
  double c0;
  long p0;
  int ticks = (int)(secs * 1000 / 16);

  real_poll = g_main_context_get_poll_func(ctx);
  g_main_context_set_poll_func(ctx, counting_poll);
  loop = g_main_loop_new(NULL, FALSE);
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 2;
  if (ax_runtime_new(&b, &mt) != 0 || ax_glib_new(NULL, NULL, &gui) != 0)
    return 1;

  /* Wake latency, both ways. */
  ax_spawn_on(mt, AX_FUTURE(driver, &d), sizeof d, NULL);
  g_main_loop_run(loop);
  report("wake latency worker -> GUI (GLib)", lat, ROUNDS);
  ax_spawn_on(ax_glib_runtime(gui), AX_FUTURE(back_driver, &bd), sizeof bd,
              NULL);
  g_main_loop_run(loop);
  report("wake latency GUI -> idle worker", back_lat, ROUNDS);

  /* Idle GUI loop: only the quit timer is due. */
  p0 = atomic_load(&polls);
  c0 = cpu_us();
  g_timeout_add_seconds(secs, quit_cb, loop);
  g_main_loop_run(loop);
  printf("idle %u s, GLib loop + pumped runtime: %ld polls (the quit timer's "
         "included), %.0f us CPU\n",
         secs, atomic_load(&polls) - p0, cpu_us() - c0);

  /* Ticking on the GUI thread. */
  t.ticks = ticks;
  p0 = atomic_load(&polls);
  c0 = cpu_us();
  ax_spawn_on(ax_glib_runtime(gui), AX_FUTURE(ticker, &t), sizeof t, &h);
  while (!ax_join_is_finished(&h)) g_main_context_iteration(NULL, TRUE);
  printf("ticking 16 ms on the GUI thread: %.2f polls/tick, %.1f us CPU/tick "
         "(%d ticks)\n",
         (double)(atomic_load(&polls) - p0) / ticks, (cpu_us() - c0) / ticks,
         ticks);
  ax_join_drop(&h);
  ax_glib_free(gui);
  ax_runtime_free(mt);

  idle_workers(128, "idle_spin_us 128, the default", secs);
  idle_workers(AX_IDLE_SPIN_OFF, "AX_IDLE_SPIN_OFF", secs);
  tick_on_workers(128, "default spin", ticks);
  tick_on_workers(AX_IDLE_SPIN_OFF, "AX_IDLE_SPIN_OFF", ticks);
  g_main_loop_unref(loop);
  return 0;
}
