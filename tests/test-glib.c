/* The GLib adapter (<axle/glib.h>) on a real GMainLoop: tasks spawned
 * from workers run on the loop's thread and are awaited by the workers,
 * timers, blocking jobs and file I/O come through, an idle runtime adds
 * no iteration to the loop, and freeing it with work in flight cancels
 * everything.  Nothing here measures time: the idle test counts the
 * context's polls over a stretch in which only its own quit timer is due.
 */
#include <axle/glib.h>

#include "helpers.h"

static GThread *main_thread;   /* the loop's thread, for the checks */

static int on_main(void) { return g_thread_self() == main_thread; }

/* ---- a GUI task: sleeps, runs a blocking job, reads a file ------------- */

static void *square(void *arg) {
  intptr_t v = (intptr_t)arg;
  return (void *)(v * v);
}

typedef struct gui_s {
  ax_async_t co;
  ax_sleep_t nap;
  ax_join_t h;
  ax_fs_t fs;
  ax_bytes_t data;
  const char *path;
  _Atomic int *wrong;
  int in, out;
} gui_t;

AX_ASYNC(gui_fn, gui_t, self) {
  if (!on_main()) atomic_fetch_add(self->wrong, 1);
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->nap, (uint64_t)(self->in % 3)));
  if (ax_spawn_blocking(square, (void *)(intptr_t)self->in, &self->h) != 0) {
    atomic_fetch_add(self->wrong, 1);
    AX_RETURN();
  }
  AX_AWAIT(ax_join_wait(&self->h));
  self->out = (int)(intptr_t)ax_join_value(&self->h);
  ax_join_drop(&self->h);
  if (self->path != NULL) {
    AX_AWAIT(ax_fs_read_file(&self->fs, self->path, &self->data));
    if (self->fs.result != 0 || self->data.len == 0)
      atomic_fetch_add(self->wrong, 1);
    ax_bytes_free(&self->data);
  }
  AX_END();
}

/* ---- a worker task: spawns onto the GUI runtime and awaits it ---------- */

typedef struct worker_s {
  ax_async_t co;
  ax_runtime_t *gui;
  ax_join_t h;
  gui_t g;
  _Atomic int *wrong, *done;
  GMainLoop *loop;
  int in, total;
} worker_t;

static gboolean quit_cb(gpointer loop) {
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

AX_ASYNC(worker_fn, worker_t, self) {
  AX_BEGIN(self);
  if (on_main()) atomic_fetch_add(self->wrong, 1);
  self->g.wrong = self->wrong;
  self->g.in = self->in;
  self->g.path = self->in % 10 == 0 ? "embed-glib.tmp" : NULL;
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
  /* The last one ends the loop, from the loop's own thread. */
  if (atomic_fetch_add(self->done, 1) + 1 == self->total)
    g_main_context_invoke(NULL, quit_cb, self->loop);
  AX_END();
}

START_TEST(glib_workers_and_gui_thread) {
  ax_glib_t *g;
  ax_runtime_t *mt = th_runtime(1, 2, NULL);
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  _Atomic int wrong = 0, done = 0;
  int i, n = (int)ax_test_iters(100);
  FILE *f = fopen("embed-glib.tmp", "w");
  ck_assert_ptr_nonnull(f);
  fputs("some bytes for the GUI thread to read\n", f);
  fclose(f);
  main_thread = g_thread_self();
  TH_ASSERT_OK(ax_glib_new(NULL, NULL, &g));
  for (i = 0; i < n; i++) {
    worker_t w = AX_ZERO(worker_t);
    w.gui = ax_glib_runtime(g);
    w.wrong = &wrong;
    w.done = &done;
    w.loop = loop;
    w.in = i;
    w.total = n;
    TH_ASSERT_OK(ax_spawn_on(mt, AX_FUTURE(worker_fn, &w), sizeof(w), NULL));
  }
  g_main_loop_run(loop);
  ck_assert_int_eq(atomic_load(&done), n);
  ck_assert_int_eq(atomic_load(&wrong), 0);
  TH_ASSERT_OK(ax_runtime_free(mt));
  TH_ASSERT_OK(ax_glib_free(g));
  g_main_loop_unref(loop);
  remove("embed-glib.tmp");
}
END_TEST

/* ---- idle: no iteration of the context is ours ------------------------- */

static GPollFunc real_poll;
static _Atomic int polls;

static gint counting_poll(GPollFD *fds, guint n, gint timeout) {
  atomic_fetch_add(&polls, 1);
  return real_poll(fds, n, timeout);
}

static gboolean count_dispatch(gpointer p) {
  (void)p;
  return G_SOURCE_CONTINUE;
}

typedef struct ticker_s {
  ax_async_t co;
  ax_sleep_t nap;
  int ticks;
} ticker_t;

AX_ASYNC(ticker_fn, ticker_t, self) {
  AX_BEGIN(self);
  for (; self->ticks > 0; self->ticks--) AX_AWAIT(ax_sleep(&self->nap, 20));
  AX_END();
}

START_TEST(glib_idle_adds_no_wakeups) {
  ax_glib_t *g;
  GMainContext *ctx = g_main_context_new();
  GMainLoop *loop = g_main_loop_new(ctx, FALSE);
  GSource *quit;
  ticker_t t = AX_ZERO(ticker_t);
  ax_join_t h;
  int idle_polls, tick_polls;
  (void)count_dispatch;
  g_main_context_push_thread_default(ctx);
  real_poll = g_main_context_get_poll_func(ctx);
  g_main_context_set_poll_func(ctx, counting_poll);
  TH_ASSERT_OK(ax_glib_new(ctx, NULL, &g));
  /* Idle: 300 ms in which only the quit timer is due.  GLib itself polls
   * a few times around it (the timer, the quit); none is axle's. */
  atomic_store(&polls, 0);
  quit = g_timeout_source_new(300);
  g_source_set_callback(quit, quit_cb, loop, NULL);
  g_source_attach(quit, ctx);
  g_source_unref(quit);
  g_main_loop_run(loop);
  idle_polls = atomic_load(&polls);
  ck_assert_int_le(idle_polls, 4);

  /* Ticking: a task that sleeps 20 ms ten times costs about one poll per
   * tick (the runtime's timer is the poll's timeout), not a busy loop. */
  t.ticks = 10;
  atomic_store(&polls, 0);
  TH_ASSERT_OK(ax_spawn_on(ax_glib_runtime(g), AX_FUTURE(ticker_fn, &t),
                           sizeof(t), &h));
  while (!ax_join_is_finished(&h)) g_main_context_iteration(ctx, TRUE);
  tick_polls = atomic_load(&polls);
  ck_assert_int_ge(tick_polls, 10);
  ck_assert_int_le(tick_polls, 40);
  ax_join_drop(&h);
  TH_ASSERT_OK(ax_glib_free(g));
  g_main_context_pop_thread_default(ctx);
  g_main_loop_unref(loop);
  g_main_context_unref(ctx);
}
END_TEST

/* ---- closing with work in flight ----------------------------------------- */

typedef struct forever_s {
  ax_async_t co;
  ax_sleep_t nap;
  ax_join_t h;
  _Atomic int *drops;
} forever_t;

static void *slow(void *arg) {
  g_usleep(20000);
  return arg;
}

AX_ASYNC(forever_fn, forever_t, self) {
  AX_BEGIN(self);
  if (ax_spawn_blocking(slow, NULL, &self->h) == 0)
    AX_AWAIT(ax_join_wait(&self->h));
  AX_AWAIT(ax_sleep(&self->nap, 3600 * 1000));
  AX_END();
}

AX_ASYNC_DROP(forever_drop, forever_t, self) {
  ax_join_drop(&self->h);
  atomic_fetch_add(self->drops, 1);
}

START_TEST(glib_free_cancels_in_flight) {
  ax_glib_t *g;
  _Atomic int drops = 0;
  int i;
  main_thread = g_thread_self();
  TH_ASSERT_OK(ax_glib_new(NULL, NULL, &g));
  for (i = 0; i < 20; i++) {
    forever_t f = AX_ZERO(forever_t);
    f.drops = &drops;
    TH_ASSERT_OK(ax_spawn_on(ax_glib_runtime(g),
                             AX_FUTURE_DROP(forever_fn, forever_drop, &f),
                             sizeof(f), NULL));
  }
  /* Start them: each is in its blocking job or its sleep. */
  for (i = 0; i < 5; i++) g_main_context_iteration(NULL, FALSE);
  TH_ASSERT_OK(ax_glib_free(g));
  ck_assert_int_eq(atomic_load(&drops), 20);
  /* The context has nothing of axle's left. */
  while (g_main_context_iteration(NULL, FALSE)) {
  }
}
END_TEST

START_TEST(glib_new_refuses_bad_builders) {
  ax_builder_t b;
  ax_glib_t *g = (ax_glib_t *)&b;
  ax_builder_init(&b, AX_MULTI_THREAD);
  TH_ASSERT_ERR(ax_glib_new(NULL, &b, &g), AX_EINVAL);
  ck_assert_ptr_null(g);
  TH_ASSERT_ERR(ax_glib_new(NULL, NULL, NULL), AX_EINVAL);
  TH_ASSERT_OK(ax_glib_free(NULL));
}
END_TEST

Suite *ax_glib_suite(void) {
  return AX_SUITE("glib",
                  AX_CASE("glib", 30),
                  AX_ONCE(glib_workers_and_gui_thread),
                  AX_ONCE(glib_idle_adds_no_wakeups),
                  AX_ONCE(glib_free_cancels_in_flight),
                  AX_ONCE(glib_new_refuses_bad_builders));
}
