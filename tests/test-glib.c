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

static gboolean quit_cb(gpointer loop) {
  g_main_loop_quit(loop);
  return G_SOURCE_REMOVE;
}

/* th_gui_run_t's last(): ends the loop, from the loop's own thread. */
static int quit_loop(void *loop) {
  g_main_context_invoke(NULL, quit_cb, loop);
  return 0;
}

/* ---- workers that spawn onto the GUI runtime and await it (helpers.h) --- */

START_TEST(glib_workers_and_gui_thread) {
  ax_glib_t *g;
  ax_runtime_t *mt = th_runtime(1, 2, NULL);
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  th_gui_run_t r;
  FILE *f = fopen("embed-glib.tmp", "w");
  ck_assert_ptr_nonnull(f);
  fputs("some bytes for the GUI thread to read\n", f);
  fclose(f);
  main_thread = g_thread_self();
  TH_ASSERT_OK(ax_glib_new(NULL, NULL, &g));
  memset(&r, 0, sizeof(r));
  r.gui = ax_glib_runtime(g);
  r.on_gui = on_main;
  r.path = "embed-glib.tmp";
  r.last = quit_loop;
  r.last_arg = loop;
  r.n = (int)ax_test_iters(100);
  th_gui_spawn(mt, &r);
  g_main_loop_run(loop);
  ck_assert_int_eq(atomic_load(&r.done), r.n);
  ck_assert_int_eq(atomic_load(&r.wrong), 0);
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

START_TEST(glib_idle_adds_no_wakeups) {
  ax_glib_t *g;
  GMainContext *ctx = g_main_context_new();
  GMainLoop *loop = g_main_loop_new(ctx, FALSE);
  GSource *quit;
  th_ticker_t t;
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
  atomic_store(&polls, 0);
  TH_ASSERT_OK(ax_spawn_on(ax_glib_runtime(g), th_ticker(&t, 10, 20, NULL),
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

/* A blocking job for the tasks that never end: they start it, and the
 * free finds some in it. */
static void *slow(void *arg) {
  g_usleep(20000);
  return arg;
}

START_TEST(glib_free_cancels_in_flight) {
  ax_glib_t *g;
  _Atomic int drops = 0;
  int i;
  main_thread = g_thread_self();
  TH_ASSERT_OK(ax_glib_new(NULL, NULL, &g));
  th_spawn_forever(ax_glib_runtime(g), 20, slow, &drops);
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
