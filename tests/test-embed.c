/* Runtimes inside a loop the application owns (<axle/embed.h>): pumped
 * runtimes driven by a small application loop of the test's own (a
 * condition variable the wake callback signals, with ax_pump_timeout() as
 * its timeout: what a GUI loop does), and a current-thread runtime on a
 * libuv loop the test runs with uv_run itself.  The GLib adapter has its
 * own suite (test-glib.c).
 *
 * Nothing here measures time: the loops wait for the wake callback or the
 * runtime's next timer, and the tests assert who ran where, counts of
 * wake calls, drops and error codes. */
#include <uv.h>
#ifndef _WIN32
#include <poll.h>
#endif

#include "helpers.h"

/* ---- an application loop -------------------------------------------------
 *
 * wake() may come from any thread; the loop on the runtime's thread pumps,
 * then sleeps until a wake or the runtime's next timer. */
typedef struct app_s {
  uv_mutex_t lock;
  uv_cond_t cond;
  int pending;          /* a wake came since the last wait (under lock) */
  _Atomic int wakes;    /* wake calls */
  _Atomic int freed;    /* on_free calls */
  ax_runtime_t *rt;     /* the pumped runtime */
  uv_thread_t thread;   /* the runtime's thread */
} app_t;

static void app_wake(void *arg) {
  app_t *a = arg;
  atomic_fetch_add(&a->wakes, 1);
  uv_mutex_lock(&a->lock);
  a->pending = 1;
  uv_cond_signal(&a->cond);
  uv_mutex_unlock(&a->lock);
}

static void app_on_free(void *arg) { atomic_fetch_add(&((app_t *)arg)->freed, 1); }

/* Waits for a wake, or ms milliseconds (-1: no limit). */
static void app_wait(app_t *a, int ms) {
  uv_mutex_lock(&a->lock);
  if (!a->pending) {
    if (ms < 0)
      while (!a->pending) uv_cond_wait(&a->cond, &a->lock);
    else if (ms > 0)
      (void)uv_cond_timedwait(&a->cond, &a->lock, (uint64_t)ms * 1000000u);
  }
  a->pending = 0;
  uv_mutex_unlock(&a->lock);
}

static void app_init(app_t *a, int io_thread) {
  ax_pump_config_t cfg = AX_ZERO(ax_pump_config_t);
  memset(a, 0, sizeof(*a));
  uv_mutex_init(&a->lock);
  uv_cond_init(&a->cond);
  a->thread = uv_thread_self();
  cfg.wake = app_wake;
  cfg.wake_arg = a;
  cfg.on_free = app_on_free;
  cfg.io_thread = io_thread;
  TH_ASSERT_OK(ax_runtime_new_pumped(NULL, &cfg, &a->rt));
}

/* The loop: pump, and sleep as long as the runtime allows, until *done. */
static void app_run_until(app_t *a, _Atomic int *done) {
  while (!atomic_load(done)) {
    int more = ax_pump(a->rt, AX_PUMP_BUDGET);
    ck_assert_int_ge(more, 0);
    if (more || atomic_load(done)) continue;
    app_wait(a, ax_pump_timeout(a->rt));
  }
}

static void app_free(app_t *a) {
  TH_ASSERT_OK(ax_runtime_free(a->rt));
  ck_assert_int_eq(atomic_load(&a->freed), 1);
  uv_cond_destroy(&a->cond);
  uv_mutex_destroy(&a->lock);
}

static int on_thread(const uv_thread_t *t) {
  uv_thread_t self = uv_thread_self();
  return uv_thread_equal(t, &self);
}

/* ---- a GUI task: records where it ran, optionally after a sleep ------- */

typedef struct gui_task_s {
  ax_async_t co;
  ax_sleep_t nap;
  app_t *app;            /* whose thread it must run on */
  unsigned sleep_ms;     /* 0: none */
  _Atomic int *done;     /* incremented at the end */
  _Atomic int *wrong;    /* polls seen off the app's thread */
} gui_task_t;

AX_ASYNC(gui_task_fn, gui_task_t, self) {
  if (!on_thread(&self->app->thread)) atomic_fetch_add(self->wrong, 1);
  AX_BEGIN(self);
  if (self->sleep_ms) AX_AWAIT(ax_sleep(&self->nap, self->sleep_ms));
  atomic_fetch_add(self->done, 1);
  AX_END();
}

/* Spawned onto the pumped runtime from other threads: every task runs,
 * each poll on the runtime's thread, and the application was woken. */
typedef struct spawner_s {
  app_t *app;
  _Atomic int *done, *wrong;
  int n;
} spawner_t;

static void spawner_main(void *arg) {
  spawner_t *s = arg;
  int i;
  for (i = 0; i < s->n; i++) {
    gui_task_t g = AX_ZERO(gui_task_t);
    g.app = s->app;
    g.sleep_ms = (unsigned)(i % 3);  /* some through the timer */
    g.done = s->done;
    g.wrong = s->wrong;
    TH_ASSERT_OK(ax_spawn_on(s->app->rt, AX_FUTURE(gui_task_fn, &g),
                             sizeof(g), NULL));
  }
}

START_TEST(pumped_spawns_from_threads_run_on_its_thread) {
  app_t a;
  _Atomic int done = 0, wrong = 0, all = 0;
  spawner_t s[3];
  uv_thread_t th[3];
  int i, n = (int)ax_test_iters(200);
  app_init(&a, 0);
  for (i = 0; i < 3; i++) {
    s[i].app = &a;
    s[i].done = &done;
    s[i].wrong = &wrong;
    s[i].n = n;
    ck_assert_int_eq(uv_thread_create(&th[i], spawner_main, &s[i]), 0);
  }
  while (atomic_load(&done) < 3 * n) {
    int more = ax_pump(a.rt, AX_PUMP_BUDGET);
    ck_assert_int_ge(more, 0);
    if (!more && atomic_load(&done) < 3 * n)
      app_wait(&a, ax_pump_timeout(a.rt));
  }
  for (i = 0; i < 3; i++) uv_thread_join(&th[i]);
  (void)all;
  ck_assert_int_eq(atomic_load(&wrong), 0);
  ck_assert_int_gt(atomic_load(&a.wakes), 0);
  app_free(&a);
}
END_TEST

/* ---- idle: no wake-ups, no timer; a sleep gives the time to wait ------ */

START_TEST(pumped_idle_makes_no_wakeups) {
  app_t a;
  _Atomic int done = 0, wrong = 0;
  gui_task_t g = AX_ZERO(gui_task_t);
  int t;
  app_init(&a, 0);
  ck_assert_int_eq(ax_pump(a.rt, AX_PUMP_BUDGET), 0);
  ck_assert_int_eq(ax_pump_timeout(a.rt), -1);
  uv_sleep(200);  /* an idle stretch: nothing may call the application */
  ck_assert_int_eq(atomic_load(&a.wakes), 0);
  ck_assert_int_eq(ax_pump_timeout(a.rt), -1);

  /* A sleeping task: the wait is bounded by its deadline, and the pump at
   * that time finishes it with no wake call (the timer is the
   * application's own timeout). */
  g.app = &a;
  g.sleep_ms = 30;
  g.done = &done;
  g.wrong = &wrong;
  TH_ASSERT_OK(ax_spawn_on(a.rt, AX_FUTURE(gui_task_fn, &g), sizeof(g), NULL));
  ck_assert_int_eq(atomic_load(&a.wakes), 1);  /* the spawn asked */
  ck_assert_int_eq(ax_pump_timeout(a.rt), 0);  /* the task is ready */
  ck_assert_int_eq(ax_pump(a.rt, AX_PUMP_BUDGET), 0);
  t = ax_pump_timeout(a.rt);
  ck_assert_int_ge(t, 0);
  /* The wheel rounds the deadline up to its millisecond, and that up to
   * the loop's: up to 2 ms more. */
  ck_assert_int_le(t, 32);
  app_wait(&a, 0);  /* takes the spawn's wake */
  app_run_until(&a, &done);
  ck_assert_int_eq(atomic_load(&a.wakes), 1);
  ck_assert_int_eq(ax_pump_timeout(a.rt), -1);
  ck_assert_int_eq(atomic_load(&wrong), 0);
  app_free(&a);
}
END_TEST

/* ---- the budget: a pump never runs more than asked ----------------------- */

typedef struct spin_s {
  ax_async_t co;
  ax_yield_t y;
  int left;
} spin_t;

AX_ASYNC(spin_fn, spin_t, self) {
  AX_BEGIN(self);
  while (self->left-- > 0) AX_AWAIT(ax_yield_now(&self->y));
  AX_END();
}

START_TEST(pump_budget_bounds_a_turn) {
  app_t a;
  spin_t s = AX_ZERO(spin_t);
  ax_join_t h;
  int turns = 0, more;
  app_init(&a, 0);
  s.left = 10;
  TH_ASSERT_OK(ax_spawn_on(a.rt, AX_FUTURE(spin_fn, &s), sizeof(s), &h));
  /* Budget 0: the loop's turn only, the task stays ready. */
  ck_assert_int_eq(ax_pump(a.rt, 0), 1);
  /* One poll per pump: 11 polls (10 yields, then the end). */
  do {
    more = ax_pump(a.rt, 1);
    ck_assert_int_ge(more, 0);
    turns++;
  } while (more == 1);
  ck_assert_int_eq(turns, 11);
  ck_assert(ax_join_is_finished(&h));
  ax_join_drop(&h);
  app_free(&a);
}
END_TEST

/* ---- misuse -------------------------------------------------------------- */

static void pump_elsewhere(void *arg) {
  app_t *a = arg;
  /* Not the runtime's thread: refused, nothing run. */
  if (ax_pump(a->rt, 1) != AX_EINVAL) atomic_fetch_add(&a->freed, 100);
  if (ax_pump_timeout(a->rt) != AX_EINVAL) atomic_fetch_add(&a->freed, 100);
  /* Only its thread closes it (the drops run on the GUI thread). */
  if (ax_runtime_free(a->rt) != AX_EINVAL) atomic_fetch_add(&a->freed, 100);
}

typedef struct nested_s {
  ax_async_t co;
  ax_runtime_t *gui;
  int rc;
} nested_t;

AX_ASYNC(nested_fn, nested_t, self) {
  AX_BEGIN(self);
  self->rc = ax_pump(self->gui, 1);
  AX_END();
}

START_TEST(pump_misuse_is_refused) {
  app_t a;
  ax_builder_t b;
  ax_runtime_t *rt = NULL, *plain;
  uv_thread_t th;
  th_leaf_t l;
  nested_t n = AX_ZERO(nested_t);
  app_init(&a, 0);
  /* A pumped runtime never takes its thread. */
  TH_ASSERT_ERR(ax_block_on(a.rt, th_leaf(&l, NULL, 0, 0)), AX_EINVAL);
  ck_assert_int_eq(uv_thread_create(&th, pump_elsewhere, &a), 0);
  uv_thread_join(&th);
  ck_assert_int_eq(atomic_load(&a.freed), 0);
  /* Only current-thread runtimes that own their loop are pumped. */
  ax_builder_init(&b, AX_MULTI_THREAD);
  TH_ASSERT_ERR(ax_runtime_new_pumped(&b, NULL, &rt), AX_EINVAL);
  ck_assert_ptr_null(rt);
  /* An ordinary runtime is not pumped; a pump inside a task nests. */
  plain = th_runtime(0, 0, NULL);
  TH_ASSERT_ERR(ax_pump(plain, 1), AX_EINVAL);
  TH_ASSERT_ERR(ax_pump_timeout(plain), AX_EINVAL);
  n.gui = a.rt;
  TH_ASSERT_OK(ax_block_on(plain, AX_FUTURE(nested_fn, &n)));
  TH_ASSERT_ERR(n.rc, AX_ENESTED);
  TH_ASSERT_OK(ax_runtime_free(plain));
  app_free(&a);
  /* A pumped runtime with no callback at all: the application pumps on
   * its own schedule. */
  TH_ASSERT_OK(ax_runtime_new_pumped(NULL, NULL, &rt));
  ck_assert_int_eq(ax_pump(rt, 1), 0);
  TH_ASSERT_OK(ax_runtime_free(rt));
}
END_TEST

/* ---- the GUI thread and the workers talk to each other ------------------
 *
 * A task on the multi-thread runtime spawns onto the GUI runtime and
 * awaits it; that GUI task in turn spawns work back onto the workers and
 * awaits it (and a spawn_blocking job).  Each side checks where it ran. */

typedef struct back_s {      /* runs on the workers */
  ax_async_t co;
  app_t *app;
  _Atomic int *wrong;
  int in, out;
} back_t;

AX_ASYNC(back_fn, back_t, self) {
  AX_BEGIN(self);
  if (on_thread(&self->app->thread)) atomic_fetch_add(self->wrong, 1);
  self->out = self->in + 1;
  AX_END();
}

typedef struct gui_side_s {  /* runs on the GUI runtime */
  ax_async_t co;
  app_t *app;
  ax_runtime_t *mt;
  _Atomic int *wrong;
  ax_join_t h;
  back_t back;
  th_square_t sq;
  int in, out;
} gui_side_t;

AX_ASYNC(gui_side_fn, gui_side_t, self) {
  if (!on_thread(&self->app->thread)) atomic_fetch_add(self->wrong, 1);
  AX_BEGIN(self);
  self->back.app = self->app;
  self->back.wrong = self->wrong;
  self->back.in = self->in;
  if (ax_spawn_on(self->mt, AX_FUTURE(back_fn, &self->back),
                  sizeof(self->back), &self->h) != 0) {
    atomic_fetch_add(self->wrong, 1);
    AX_RETURN();
  }
  AX_AWAIT(ax_join_wait(&self->h));
  if (self->h.result != 0) atomic_fetch_add(self->wrong, 1);
  self->out = AX_JOIN_OUTPUT(&self->h, back_t)->out;
  ax_join_drop(&self->h);
  /* spawn_blocking from the GUI thread: the pool's result wakes us. */
  AX_AWAIT(th_square(&self->sq, self->out));
  if (self->sq.rc != 0) {
    atomic_fetch_add(self->wrong, 1);
    AX_RETURN();
  }
  self->out = self->sq.out;
  AX_END();
}

typedef struct worker_side_s {  /* runs on the workers */
  ax_async_t co;
  app_t *app;
  ax_runtime_t *mt;
  _Atomic int *wrong;
  _Atomic int *done;
  int in;
  ax_join_t h;
  gui_side_t g;
  int out;
} worker_side_t;

AX_ASYNC(worker_side_fn, worker_side_t, self) {
  AX_BEGIN(self);
  if (on_thread(&self->app->thread)) atomic_fetch_add(self->wrong, 1);
  self->g.app = self->app;
  self->g.mt = self->mt;
  self->g.wrong = self->wrong;
  self->g.in = self->in;
  if (ax_spawn_on(self->app->rt, AX_FUTURE(gui_side_fn, &self->g),
                  sizeof(self->g), &self->h) != 0) {
    atomic_fetch_add(self->wrong, 1);
  } else {
    AX_AWAIT(ax_join_wait(&self->h));
    if (self->h.result != 0) atomic_fetch_add(self->wrong, 1);
    self->out = AX_JOIN_OUTPUT(&self->h, gui_side_t)->out;
    ax_join_drop(&self->h);
    if (self->out != (self->in + 1) * (self->in + 1))
      atomic_fetch_add(self->wrong, 1);
  }
  atomic_fetch_add(self->done, 1);
  app_wake(self->app);  /* the test's loop waits for this count */
  AX_END();
}

START_TEST(gui_and_workers_spawn_on_each_other) {
  app_t a;
  ax_runtime_t *mt = th_runtime(1, 2, NULL);
  _Atomic int wrong = 0, done = 0, all = 0;
  int i, n = (int)ax_test_iters(50);
  app_init(&a, 0);
  for (i = 0; i < n; i++) {
    worker_side_t w = AX_ZERO(worker_side_t);
    w.app = &a;
    w.mt = mt;
    w.wrong = &wrong;
    w.done = &done;
    w.in = i;
    TH_ASSERT_OK(ax_spawn_on(mt, AX_FUTURE(worker_side_fn, &w), sizeof(w),
                             NULL));
  }
  while (atomic_load(&done) < n) {
    int more = ax_pump(a.rt, AX_PUMP_BUDGET);
    ck_assert_int_ge(more, 0);
    if (!more && atomic_load(&done) < n)
      app_wait(&a, ax_pump_timeout(a.rt));
  }
  (void)all;
  ck_assert_int_eq(atomic_load(&wrong), 0);
  TH_ASSERT_OK(ax_runtime_free(mt));
  app_free(&a);
}
END_TEST

/* ---- I/O through the I/O thread (fs requests complete on the loop) ----- */

typedef struct reader_s {
  ax_async_t co;
  ax_fs_t fs;
  ax_bytes_t data;
  const char *path;
  _Atomic int *done;
  int result;
} reader_t;

AX_ASYNC(reader_fn, reader_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_fs_read_file(&self->fs, self->path, &self->data));
  self->result = self->fs.result;
  atomic_fetch_add(self->done, 1);
  AX_END();
}

/* A file of a few hundred bytes in the working directory; its name. */
static const char *write_sample(const char *name) {
  FILE *f = fopen(name, "w");
  int i;
  ck_assert_ptr_nonnull(f);
  for (i = 0; i < 100; i++) fprintf(f, "sample %d\n", i);
  fclose(f);
  return name;
}

START_TEST(pumped_io_thread_reports_io) {
  app_t a;
  _Atomic int done = 0;
  ax_join_t h;
  reader_t r = AX_ZERO(reader_t);
  reader_t *out;
  app_init(&a, 1);
  r.path = write_sample("embed-io-thread.tmp");
  r.done = &done;
  TH_ASSERT_OK(ax_spawn_on(a.rt, AX_FUTURE(reader_fn, &r), sizeof(r), &h));
  /* The fs request finishes on the pool, then its callback needs a turn
   * of the runtime's loop: only the I/O thread can ask for that one (no
   * timer is pending: the loop waits for wakes alone). */
  while (!atomic_load(&done)) {
    int more = ax_pump(a.rt, AX_PUMP_BUDGET);
    ck_assert_int_ge(more, 0);
    if (!more && !atomic_load(&done)) app_wait(&a, -1);
  }
  while (!ax_join_is_finished(&h)) ck_assert_int_ge(ax_pump(a.rt, 8), 0);
  out = AX_JOIN_OUTPUT(&h, reader_t);
  TH_ASSERT_OK(out->result);
  ck_assert_uint_gt(out->data.len, 100);
  ck_assert_ptr_nonnull(strstr((const char *)out->data.data, "sample 99"));
  ax_bytes_free(&out->data);
  ax_join_drop(&h);
  app_free(&a);
  remove(r.path);
}
END_TEST

/* The same without a thread: the application watches ax_pump_fd(). */
START_TEST(pumped_fd_reports_io) {
#ifdef _WIN32
  app_t a;
  app_init(&a, 0);
  TH_ASSERT_ERR(ax_pump_fd(a.rt), UV_ENOTSUP);  /* Windows: io_thread */
  app_free(&a);
#else
  app_t a;
  _Atomic int done = 0;
  ax_join_t h;
  reader_t r = AX_ZERO(reader_t);
  reader_t *out;
  int fd;
  app_init(&a, 0);
  fd = ax_pump_fd(a.rt);
  ck_assert_int_ge(fd, 0);
  r.path = write_sample("embed-fd.tmp");
  r.done = &done;
  TH_ASSERT_OK(ax_spawn_on(a.rt, AX_FUTURE(reader_fn, &r), sizeof(r), &h));
  while (!atomic_load(&done)) {
    struct pollfd p;
    int more = ax_pump(a.rt, AX_PUMP_BUDGET);
    ck_assert_int_ge(more, 0);
    if (more || atomic_load(&done)) continue;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    (void)poll(&p, 1, ax_pump_timeout(a.rt));
  }
  while (!ax_join_is_finished(&h)) ck_assert_int_ge(ax_pump(a.rt, 8), 0);
  out = AX_JOIN_OUTPUT(&h, reader_t);
  TH_ASSERT_OK(out->result);
  ck_assert_uint_gt(out->data.len, 100);
  ax_bytes_free(&out->data);
  ax_join_drop(&h);
  app_free(&a);
  remove(r.path);
#endif
}
END_TEST

/* ---- closing the app with work in flight -------------------------------- */

static void *blocking_wait(void *arg) {
  th_latch_wait_blocking(arg);
  return NULL;
}

START_TEST(pumped_free_cancels_everything) {
  app_t a;
  th_counts_t c;
  th_leaf_t l;
  th_latch_t gate;
  _Atomic int done = 0, wrong = 0;
  ax_join_t hb, hq;
  int i;
  app_init(&a, 1);
  th_counts_reset(&c);
  th_latch_init(&gate, 1);
  for (i = 0; i < 10; i++) {
    gui_task_t g = AX_ZERO(gui_task_t);
    g.app = &a;
    g.sleep_ms = 60000;   /* a timer in flight */
    g.done = &done;
    g.wrong = &wrong;
    TH_ASSERT_OK(ax_spawn_on(a.rt, AX_FUTURE(gui_task_fn, &g), sizeof(g), NULL));
    TH_ASSERT_OK(ax_spawn_on(a.rt, th_leaf(&l, &c, -1, 0), sizeof(l), NULL));
  }
  /* A blocking job running (it waits for the gate) and one that may be
   * queued behind it. */
  TH_ASSERT_OK(ax_spawn_blocking_on(a.rt, blocking_wait, &gate, &hb));
  TH_ASSERT_OK(ax_spawn_blocking_on(a.rt, th_square_job, (void *)3, &hq));
  ck_assert_int_eq(ax_pump(a.rt, AX_PUMP_BUDGET), 0);
  ck_assert_int_eq(atomic_load(&c.polls), 10);
  th_latch_down(&gate);  /* the pool thread must be able to finish */
  TH_ASSERT_OK(ax_runtime_free(a.rt));
  ck_assert_int_eq(atomic_load(&c.drops), 10);
  ck_assert_int_eq(atomic_load(&done), 0);
  ck_assert_int_eq(atomic_load(&wrong), 0);
  ck_assert_int_eq(atomic_load(&a.freed), 1);
  ck_assert(ax_join_is_finished(&hb));
  ck_assert(ax_join_is_finished(&hq));
  ax_join_drop(&hb);
  ax_join_drop(&hq);
  th_latch_destroy(&gate);
  uv_cond_destroy(&a.cond);
  uv_mutex_destroy(&a.lock);
}
END_TEST

/* A shutdown_background from a worker (th_stopper) stops a pumped
 * runtime; the application's thread then frees it, and the drops run
 * there. */
typedef struct drop_where_s {
  ax_async_t co;
  th_leaf_t never;      /* pending forever */
  app_t *app;
  _Atomic int *drops, *wrong;
} drop_where_t;

AX_ASYNC(drop_where_fn, drop_where_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(th_leaf(&self->never, NULL, -1, 0));
  AX_END();
}

AX_ASYNC_DROP(drop_where_drop, drop_where_t, self) {
  if (!on_thread(&self->app->thread)) atomic_fetch_add(self->wrong, 1);
  atomic_fetch_add(self->drops, 1);
}

START_TEST(pumped_shutdown_from_a_worker) {
  app_t a;
  ax_runtime_t *mt = th_runtime(1, 2, NULL);
  th_stopper_t st;
  _Atomic int drops = 0, wrong = 0;
  ax_join_t h;
  int i;
  app_init(&a, 1);
  for (i = 0; i < 5; i++) {
    drop_where_t d = AX_ZERO(drop_where_t);
    d.app = &a;
    d.drops = &drops;
    d.wrong = &wrong;
    TH_ASSERT_OK(ax_spawn_on(a.rt, AX_FUTURE_DROP(drop_where_fn,
                                                  drop_where_drop, &d),
                             sizeof(d), NULL));
  }
  ck_assert_int_eq(ax_pump(a.rt, AX_PUMP_BUDGET), 0);
  TH_ASSERT_OK(ax_spawn_on(mt, th_stopper(&st, a.rt), sizeof(st), &h));
  TH_ASSERT_OK(ax_block_on(mt, ax_join_wait(&h)));
  ax_join_drop(&h);
  /* Stopped, not freed: the application learns it from its calls. */
  TH_ASSERT_ERR(ax_pump(a.rt, AX_PUMP_BUDGET), AX_ESHUTDOWN);
  TH_ASSERT_ERR(ax_pump_timeout(a.rt), AX_ESHUTDOWN);
  ck_assert_int_eq(atomic_load(&drops), 0);
  app_free(&a);
  ck_assert_int_eq(atomic_load(&drops), 5);
  ck_assert_int_eq(atomic_load(&wrong), 0);
  TH_ASSERT_OK(ax_runtime_free(mt));
}
END_TEST

/* ---- a libuv application that runs uv_run itself ------------------------- */

typedef struct uvapp_s {
  uv_loop_t loop;
  uv_async_t done;       /* the app's own handle: keeps its uv_run alive */
  uv_thread_t thread;
  _Atomic int wrong;
  _Atomic int finished;
} uvapp_t;

static void uvapp_done(uv_async_t *h) { uv_close((uv_handle_t *)h, NULL); }

typedef struct uvtask_s {
  ax_async_t co;
  ax_sleep_t nap;
  th_square_t sq;
  uvapp_t *app;
  int last;              /* tell the app when done */
} uvtask_t;

AX_ASYNC(uvtask_fn, uvtask_t, self) {
  if (!on_thread(&self->app->thread)) atomic_fetch_add(&self->app->wrong, 1);
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->nap, 5));
  AX_AWAIT(th_square(&self->sq, 7));
  if (self->sq.rc != 0 || self->sq.out != 49)
    atomic_fetch_add(&self->app->wrong, 1);
  if (atomic_fetch_add(&self->app->finished, 1) + 1 == self->last)
    uv_async_send(&self->app->done);
  AX_END();
}

typedef struct uvspawner_s {
  uvapp_t *app;
  ax_runtime_t *rt;
  int n, total;
} uvspawner_t;

static void uvspawner_main(void *arg) {
  uvspawner_t *s = arg;
  int i;
  for (i = 0; i < s->n; i++) {
    uvtask_t t = AX_ZERO(uvtask_t);
    t.app = s->app;
    t.last = s->total;
    if (ax_spawn_on(s->rt, AX_FUTURE(uvtask_fn, &t), sizeof(t), NULL) != 0)
      atomic_fetch_add(&s->app->wrong, 1);
  }
}

START_TEST(uv_app_runs_tasks_in_its_own_uv_run) {
  uvapp_t app;
  ax_builder_t b;
  ax_runtime_t *rt;
  uvspawner_t s;
  uv_thread_t th;
  th_counts_t c;
  th_leaf_t l;
  int i, n = (int)ax_test_iters(20);
  memset(&app, 0, sizeof(app));
  app.thread = uv_thread_self();
  ck_assert_int_eq(uv_loop_init(&app.loop), 0);
  ck_assert_int_eq(uv_async_init(&app.loop, &app.done, uvapp_done), 0);
  ax_builder_init(&b, AX_CURRENT_THREAD);
  b.loop = &app.loop;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  /* Half spawned here before the loop runs, half from another thread
   * while it runs; the last task to finish tells the app. */
  for (i = 0; i < n; i++) {
    uvtask_t t = AX_ZERO(uvtask_t);
    t.app = &app;
    t.last = 2 * n;
    TH_ASSERT_OK(ax_spawn_on(rt, AX_FUTURE(uvtask_fn, &t), sizeof(t), NULL));
  }
  s.app = &app;
  s.rt = rt;
  s.n = n;
  s.total = 2 * n;
  ck_assert_int_eq(uv_thread_create(&th, uvspawner_main, &s), 0);
  /* The app's own uv_run: returns once its handle is closed. */
  ck_assert_int_eq(uv_run(&app.loop, UV_RUN_DEFAULT), 0);
  uv_thread_join(&th);
  ck_assert_int_eq(atomic_load(&app.finished), 2 * n);
  ck_assert_int_eq(atomic_load(&app.wrong), 0);

  /* axle's waiting tasks and timers keep nothing alive: with no handle of
   * the app's, uv_run returns at once although a task sleeps for a
   * minute and another waits forever. */
  th_counts_reset(&c);
  {
    gui_task_t g = AX_ZERO(gui_task_t);
    app_t dummy;
    _Atomic int done = 0, wrong = 0;
    memset(&dummy, 0, sizeof(dummy));
    dummy.thread = app.thread;
    g.app = &dummy;
    g.sleep_ms = 60000;
    g.done = &done;
    g.wrong = &wrong;
    TH_ASSERT_OK(ax_spawn_on(rt, AX_FUTURE(gui_task_fn, &g), sizeof(g), NULL));
    TH_ASSERT_OK(ax_spawn_on(rt, th_leaf(&l, &c, -1, 0), sizeof(l), NULL));
    /* ax_pump runs the ready tasks now (from the app's code, where
     * ax_block_on would nest): both start and wait. */
    ck_assert_int_eq(ax_pump(rt, AX_PUMP_BUDGET), 0);
    ck_assert_int_eq(atomic_load(&c.polls), 1);
    ck_assert_int_eq(uv_run(&app.loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(atomic_load(&done), 0);
    ck_assert_int_eq(atomic_load(&wrong), 0);
    TH_ASSERT_OK(ax_runtime_free(rt));
  }
  ck_assert_int_eq(atomic_load(&c.drops), 1);
  /* Everything of axle's is closed: the loop closes cleanly. */
  ck_assert_int_eq(uv_run(&app.loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&app.loop), 0);
}
END_TEST

/* block_on on the app's loop still works (outside its callbacks), and
 * ax_pump is refused on runtimes it does not drive. */
START_TEST(uv_app_block_on_outside_callbacks) {
  uv_loop_t loop;
  ax_builder_t b;
  ax_runtime_t *rt;
  th_task_t t;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ax_builder_init(&b, AX_CURRENT_THREAD);
  b.loop = &loop;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  TH_ASSERT_OK(ax_block_on(rt, th_task(&t, 21, 3)));
  ck_assert_int_eq(t.out, 42);
  /* A sleep: block_on parks in the app's loop, whose only handles are
   * axle's (unref'd but for that park); the timer still ends the park. */
  {
    ax_sleep_t s;
    TH_ASSERT_OK(ax_block_on(rt, ax_sleep(&s, 20)));
    ck_assert(ax_sleep_is_elapsed(&s));
  }
  TH_ASSERT_OK(ax_runtime_free(rt));
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- closing a runtime on the app's loop from the loop's callbacks ------ */

typedef struct closer_s {
  uv_check_t check;     /* the app's: once every task waits, closes the
                           runtime; once the drops ran, ends the loop */
  int stopping;         /* the shutdown was asked for */
  ax_runtime_t *rt;
  th_counts_t *c;
  int expect;           /* drops to wait for */
  uv_thread_t other;    /* the thread that shuts it down, if any */
  int from_thread;
} closer_t;

static void closer_shutdown_main(void *arg) {
  ax_runtime_shutdown_background(((closer_t *)arg)->rt);
}

static void closer_check(uv_check_t *h) {
  closer_t *c = h->data;
  if (!c->stopping && atomic_load(&c->c->polls) == c->expect) {
    c->stopping = 1;
    if (c->from_thread)
      ck_assert_int_eq(uv_thread_create(&c->other, closer_shutdown_main, c),
                       0);
    else
      /* Inside the app's uv_run: no nested loop turn, the closes finish
       * at the end of this one.  The drops run here. */
      ax_runtime_shutdown_background(c->rt);
  }
  if (atomic_load(&c->c->drops) == c->expect) uv_close((uv_handle_t *)h, NULL);
}

START_TEST(uv_app_shutdown_from_its_callbacks) {
  uv_loop_t loop;
  ax_builder_t b;
  closer_t c;
  th_counts_t counts;
  th_leaf_t l;
  int i;
  memset(&c, 0, sizeof(c));
  c.from_thread = _i;
  th_counts_reset(&counts);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ax_builder_init(&b, AX_CURRENT_THREAD);
  b.loop = &loop;
  TH_ASSERT_OK(ax_runtime_new(&b, &c.rt));
  for (i = 0; i < 10; i++)
    TH_ASSERT_OK(ax_spawn_on(c.rt, th_leaf(&l, &counts, -1, 0), sizeof(l),
                             NULL));
  c.c = &counts;
  c.expect = 10;
  c.check.data = &c;
  ck_assert_int_eq(uv_check_init(&loop, &c.check), 0);
  ck_assert_int_eq(uv_check_start(&c.check, closer_check), 0);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  if (c.from_thread) uv_thread_join(&c.other);
  ck_assert_int_eq(atomic_load(&counts.polls), 10);
  ck_assert_int_eq(atomic_load(&counts.drops), 10);
  /* Every handle of axle's is closed: the loop closes. */
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- the idle spin setting ---------------------------------------------- */

/* idle_spin_us = AX_IDLE_SPIN_OFF means no spin, not the default: such a
 * runtime still runs everything (wake-ups then always go through the
 * parked path), and an idle one makes no wake-ups. */
START_TEST(idle_spin_off_runs_and_sleeps) {
  ax_builder_t b;
  ax_runtime_t *rt;
  ax_worker_stats_t s0, s1;
  uint64_t before = 0, after = 0;
  unsigned i;
  th_task_t t;
  ax_builder_init(&b, AX_MULTI_THREAD);
  ck_assert_uint_gt(b.idle_spin_us, 0);   /* the default spins */
  b.worker_threads = 2;
  b.idle_spin_us = AX_IDLE_SPIN_OFF;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  TH_ASSERT_OK(ax_block_on(rt, th_join(&(th_join_t){0}, th_task(&t, 1, 50),
                                        sizeof(t))));
  uv_sleep(50);  /* let the workers go to sleep */
  for (i = 0; i < 2; i++) {
    TH_ASSERT_OK(ax_runtime_worker_stats(rt, i, &s0));
    before += s0.parks;
  }
  uv_sleep(300);  /* idle: the workers stay asleep */
  for (i = 0; i < 2; i++) {
    TH_ASSERT_OK(ax_runtime_worker_stats(rt, i, &s1));
    after += s1.parks;
  }
  ck_assert_uint_le(after - before, 2);
  TH_ASSERT_OK(ax_runtime_free(rt));
}
END_TEST

Suite *ax_embed_suite(void) {
  return AX_SUITE("embed",
                  AX_CASE("pumped", 30),
                  AX_ONCE(pumped_spawns_from_threads_run_on_its_thread),
                  AX_ONCE(pumped_idle_makes_no_wakeups),
                  AX_ONCE(pump_budget_bounds_a_turn),
                  AX_ONCE(pump_misuse_is_refused),
                  AX_ONCE(gui_and_workers_spawn_on_each_other),
                  AX_ONCE(pumped_io_thread_reports_io),
                  AX_ONCE(pumped_fd_reports_io),
                  AX_ONCE(pumped_free_cancels_everything),
                  AX_ONCE(pumped_shutdown_from_a_worker),
                  AX_CASE("uv-app", 30),
                  AX_ONCE(uv_app_runs_tasks_in_its_own_uv_run),
                  AX_ONCE(uv_app_block_on_outside_callbacks),
                  AX_LOOP(uv_app_shutdown_from_its_callbacks, 0, 2),
                  AX_CASE("spin", 30),
                  AX_ONCE(idle_spin_off_runs_and_sleeps));
}
