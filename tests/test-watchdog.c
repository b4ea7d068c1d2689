/* The watchdog (builder.watchdog_ms, include/axle/runtime.h): a poll that
 * keeps its thread is reported while it is stuck and again when it ends,
 * with the lines it ran between; quick polls are not reported; the
 * environment turns it on.
 *
 * No test here depends on how fast the machine is.  A blocking task blocks
 * until the watchdog has reported it (not for a fixed time), and the only
 * assertion about silence uses a threshold far above any poll there.
 * Other polls may be reported too on a loaded machine (a descheduled
 * thread is a held thread): the assertions pick the blocking poll's
 * reports by task id and by the line it resumed from.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#define MAX_REPORTS 64

/* Copies of the reports (their strings are valid during the call only). */
typedef struct {
  int returned;
  unsigned worker;
  uint64_t task_id, elapsed_ms;
  char name[32], resumed[128], stopped[128];
  int resumed_line, stopped_line;
} rep_t;

typedef struct {
  uv_mutex_t lock;
  rep_t r[MAX_REPORTS];
  int n;
  _Atomic uint64_t blocking;  /* task now blocking in the test, or 0 */
  _Atomic uint64_t blocked;   /* the last task that did */
  _Atomic int released;       /* a stuck report named `blocking` */
  int line1;                  /* blocker_fn's first await (its state is
                                 gone when it panics) */
} log_t;

static void log_report(const ax_watchdog_report_t *r, void *arg) {
  log_t *l = arg;
  uv_mutex_lock(&l->lock);
  if (l->n < MAX_REPORTS) {
    rep_t *c = &l->r[l->n++];
    memset(c, 0, sizeof(*c));
    c->returned = r->returned;
    c->worker = r->worker;
    c->task_id = r->task_id;
    c->elapsed_ms = r->elapsed_ms;
    snprintf(c->name, sizeof(c->name), "%s", r->task_name ? r->task_name : "");
    snprintf(c->resumed, sizeof(c->resumed), "%s",
             r->resumed_file ? r->resumed_file : "");
    snprintf(c->stopped, sizeof(c->stopped), "%s",
             r->stopped_file ? r->stopped_file : "");
    c->resumed_line = r->resumed_line;
    c->stopped_line = r->stopped_line;
  }
  uv_mutex_unlock(&l->lock);
  if (!r->returned && r->task_id == atomic_load(&l->blocking))
    atomic_store(&l->released, 1);
}

/* A runtime whose watchdog (ms) hands its reports to `hook`, which gets l
 * (set up here) as its argument. */
static ax_runtime_t *watched_runtime(int multi, unsigned ms, log_t *l,
                                     ax_watchdog_fn hook) {
  ax_builder_t b;
  ax_runtime_t *rt = NULL;
  ax_builder_init(&b, multi ? AX_MULTI_THREAD : AX_CURRENT_THREAD);
  if (multi) b.worker_threads = 2;
  b.watchdog_ms = ms;
  memset(l, 0, sizeof(*l));
  uv_mutex_init(&l->lock);
  b.watchdog_hook = hook;
  b.watchdog_hook_arg = l;
  TH_ASSERT_OK(ax_runtime_new(&b, &rt));
  return rt;
}

/* Blocks the calling thread (task `id`'s poll) until the watchdog reports
 * that poll, or a minute has gone by (the test then fails on the missing
 * report).  Only reports made while it blocks count: an earlier poll of
 * the task may have been reported too, if the machine held it up. */
static void block_until_reported(log_t *l, uint64_t id) {
  atomic_store(&l->released, 0);
  atomic_store(&l->blocked, id);
  atomic_store(&l->blocking, id);
  for (int ms = 0; ms < 60000 && !atomic_load(&l->released); ms++)
    uv_sleep(1);
  atomic_store(&l->blocking, 0);
}

/* Index of the report that task `id` gave when its poll that resumed from
 * `line` returned, or -1. */
static int find_returned(log_t *l, uint64_t id, int line) {
  for (int i = 0; i < l->n; i++)
    if (l->r[i].task_id == id && l->r[i].returned &&
        l->r[i].resumed_line == line)
      return i;
  return -1;
}

/* Index of the last stuck report of task `id` before `j`, or -1. */
static int find_stuck_before(log_t *l, uint64_t id, int j) {
  for (int i = j - 1; i >= 0; i--)
    if (l->r[i].task_id == id && !l->r[i].returned) return i;
  return -1;
}

/* ---- a task that blocks between two awaits ------------------------------- */

typedef struct {
  ax_async_t co;
  ax_yield_t y;
  log_t *log;
  uint64_t id;
  int line1, line2;   /* the two awaits */
  int panic;          /* panic instead of the second await */
} blocker_t;

AX_ASYNC(blocker_fn, blocker_t, self) {
  AX_BEGIN(self);
  self->id = ax_task_id();
  self->log->line1 = self->line1 = __LINE__; AX_AWAIT(ax_yield_now(&self->y));
  block_until_reported(self->log, self->id);   /* the blocking call */
  if (self->panic) ax_panic("blocked, then panicked");
  self->line2 = __LINE__; AX_AWAIT(ax_yield_now(&self->y));
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t h;
  blocker_t b;
  int result;
  const char *site;   /* the blocker's spawn site (ax_join_spawn_site) */
} spawner_t;

AX_ASYNC(spawner_fn, spawner_t, self) {
  AX_BEGIN(self);
  TH_ASSERT_OK(ax_spawn_named(ax_runtime_current(), "blocker",
                              AX_FUTURE(blocker_fn, &self->b),
                              sizeof(self->b), &self->h));
  AX_AWAIT(ax_join_wait(&self->h));
  self->result = self->h.result;
  self->site = ax_join_spawn_site(&self->h);
  if (self->result == 0) {
    blocker_t *done = ax_join_output(&self->h);
    self->b.id = done->id;
    self->b.line1 = done->line1;
    self->b.line2 = done->line2;
  }
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(reports_blocking_poll) {
  log_t l;
  spawner_t s = {0};
  int i, j;
  s.b.log = &l;
  /* The shutdown joins the watchdog: the log is complete. */
  th_run_on(watched_runtime(_i, 20, &l, log_report),
            AX_FUTURE(spawner_fn, &s));
  TH_ASSERT_OK(s.result);
  ck_assert_uint_ne(s.b.id, 0);
  /* When the blocking poll ended: from the thread that polled it, the
   * task's name and the lines around the blocking call. */
  j = find_returned(&l, s.b.id, s.b.line1);
  ck_assert_msg(j >= 0, "no report when the poll returned (%d reports)", l.n);
  ck_assert_str_eq(l.r[j].name, "blocker");
  ck_assert_ptr_nonnull(strstr(l.r[j].resumed, "test-watchdog.c"));
  ck_assert_ptr_nonnull(strstr(l.r[j].stopped, "test-watchdog.c"));
  ck_assert_int_eq(l.r[j].stopped_line, s.b.line2);
  /* Before it, while it was stuck: which task, where, for how long. */
  i = find_stuck_before(&l, s.b.id, j);
  ck_assert_msg(i >= 0, "no report while stuck");
  ck_assert_uint_ge(l.r[i].elapsed_ms, 20);
  if (_i == MULTI)
    ck_assert_uint_lt(l.r[i].worker, 2);
  else
    ck_assert_uint_eq(l.r[i].worker, 0);
  ck_assert_str_eq(l.r[i].name, "");  /* the watchdog never reads a task */
  ck_assert_uint_eq(l.r[j].worker, l.r[i].worker);
  ck_assert_uint_ge(l.r[j].elapsed_ms, l.r[i].elapsed_ms);
  uv_mutex_destroy(&l.lock);
}
END_TEST

/* A poll that blocks and then panics: the returned report says it ended
 * there (no await it stopped at). */
START_TEST(reports_panicking_poll) {
  log_t l;
  spawner_t s = {0};
  int j;
  s.b.log = &l;
  s.b.panic = 1;
  th_run_on(watched_runtime(_i, 20, &l, log_report),
            AX_FUTURE(spawner_fn, &s));
  ck_assert_int_eq(s.result, AX_EPANIC);
  /* The poll that panicked resumed from the first await and stopped at
   * none. */
  j = find_returned(&l, atomic_load(&l.blocked), l.line1);
  ck_assert_msg(j >= 0, "no report when the poll ended (%d reports)", l.n);
  ck_assert_str_eq(l.r[j].name, "blocker");
  ck_assert_int_eq(l.r[j].stopped_line, 0);
  ck_assert_str_eq(l.r[j].stopped, "");
  ck_assert_ptr_nonnull(strstr(l.r[j].resumed, "test-watchdog.c"));
  ck_assert_int_ge(find_stuck_before(&l, l.r[j].task_id, j), 0);
  uv_mutex_destroy(&l.lock);
}
END_TEST

/* block_on's own future blocking block_on's thread (multi-thread): the
 * report names that thread, not a worker. */
typedef struct {
  ax_async_t co;
  log_t *log;
  uint64_t id;
} self_blocker_t;

AX_ASYNC(self_blocker_fn, self_blocker_t, self) {
  AX_BEGIN(self);
  self->id = ax_task_id();
  block_until_reported(self->log, self->id);
  AX_END();
}

START_TEST(reports_block_on_thread) {
  log_t l;
  self_blocker_t s = {0};
  int i, j;
  s.log = &l;
  th_run_on(watched_runtime(MULTI, 20, &l, log_report),
            AX_FUTURE(self_blocker_fn, &s));
  j = find_returned(&l, s.id, 0);  /* its first poll */
  ck_assert_msg(j >= 0, "no report when the poll returned");
  ck_assert_uint_eq(l.r[j].worker, ~0u);
  i = find_stuck_before(&l, s.id, j);
  ck_assert_msg(i >= 0, "no report while stuck");
  ck_assert_uint_eq(l.r[i].worker, ~0u);
  uv_mutex_destroy(&l.lock);
}
END_TEST

/* Many quick polls on every thread, then idle workers (and block_on's
 * thread asleep) for 1.2 s: five looks of a watchdog at 500 ms, a
 * threshold no poll here comes near, and no report. */
typedef struct {
  ax_async_t co;
  ax_join_t h[4];
  th_task_t y[4];      /* 2000 yields each */
  th_joins_t joins;
  ax_yield_t me;
  ax_sleep_t nap;
  int k;
} yielders_t;

AX_ASYNC(yielders_fn, yielders_t, self) {
  AX_BEGIN(self);
  for (self->k = 0; self->k < 4; self->k++) {
    th_task(&self->y[self->k], 0, 2000);
    TH_ASSERT_OK(AX_SPAWN(th_task_fn, &self->y[self->k], &self->h[self->k]));
  }
  for (self->k = 0; self->k < 500; self->k++)
    AX_AWAIT(ax_yield_now(&self->me));
  AX_AWAIT(th_joins(&self->joins, self->h, 4));
  ck_assert_int_eq(self->joins.failed, 0);
  for (self->k = 0; self->k < 12; self->k++)
    AX_AWAIT(ax_sleep(&self->nap, 100));
  AX_END();
}

START_TEST(quiet_for_quick_polls) {
  log_t l;
  yielders_t y = {0};
  th_run_on(watched_runtime(_i, 500, &l, log_report),
            AX_FUTURE(yielders_fn, &y));
  ck_assert_int_eq(l.n, 0);
  uv_mutex_destroy(&l.lock);
}
END_TEST

/* The default report (no hook) is ax_watchdog_print on stderr; here a
 * hook logs each report and prints it to a file as well. */
static FILE *print_to;

static void log_and_print(const ax_watchdog_report_t *r, void *arg) {
  ax_watchdog_print(r, print_to);
  log_report(r, arg);
}

START_TEST(printed_report) {
  log_t l;
  ax_runtime_t *rt;
  char buf[2048] = "";
  size_t n;
  spawner_t s = {0};
  print_to = tmpfile();
  ck_assert_ptr_nonnull(print_to);
  rt = watched_runtime(CURRENT, 20, &l, log_and_print);
  s.b.log = &l;
  th_block_on(rt, AX_FUTURE(spawner_fn, &s));
  th_finish(rt, AX_FUTURE_OF(&s));
  rewind(print_to);
  n = fread(buf, 1, sizeof(buf) - 1, print_to);
  buf[n] = '\0';
  fclose(print_to);
  {
    char want[256];
    /* Both reports name the spawn site (a string literal of this file). */
    ck_assert_ptr_nonnull(s.site);
    ck_assert_ptr_nonnull(strstr(s.site, "test-watchdog.c:"));
    snprintf(want, sizeof(want),
             "axle: watchdog: task %llu (spawned at %s) has kept worker 0 for ",
             (unsigned long long)s.b.id, s.site);
    ck_assert_msg(strstr(buf, want) != NULL, "printed: %s", buf);
    ck_assert_msg(strstr(buf, " ms in one poll (a blocking call in async code? "
                              "see ax_spawn_blocking)\n") != NULL,
                  "printed: %s", buf);
    snprintf(want, sizeof(want),
             "axle: watchdog: task %llu (blocker) (spawned at %s) kept worker 0 for ",
             (unsigned long long)s.b.id, s.site);
    ck_assert_msg(strstr(buf, want) != NULL, "printed: %s", buf);
    snprintf(want, sizeof(want), "test-watchdog.c:%d to ", s.b.line1);
    ck_assert_msg(strstr(buf, want) != NULL, "printed: %s", buf);
    snprintf(want, sizeof(want), "test-watchdog.c:%d\n", s.b.line2);
    ck_assert_msg(strstr(buf, want) != NULL, "printed: %s", buf);
  }
  uv_mutex_destroy(&l.lock);
}
END_TEST

/* AXLE_WATCHDOG_MS turns it on for every builder that does not set it. */
static void set_env(const char *v) {
#ifdef _WIN32
  _putenv_s("AXLE_WATCHDOG_MS", v ? v : "");
#else
  if (v != NULL)
    setenv("AXLE_WATCHDOG_MS", v, 1);
  else
    unsetenv("AXLE_WATCHDOG_MS");
#endif
}

START_TEST(environment) {
  ax_builder_t b;
  const char *old = getenv("AXLE_WATCHDOG_MS");
  char keep[64] = "";
  if (old != NULL) snprintf(keep, sizeof(keep), "%s", old);
  set_env("250");
  ax_builder_init(&b, AX_MULTI_THREAD);
  ck_assert_uint_eq(b.watchdog_ms, 250);
  set_env("25x");
  ax_builder_init(&b, AX_MULTI_THREAD);
  ck_assert_uint_eq(b.watchdog_ms, 0);
  set_env(NULL);
  ax_builder_init(&b, AX_CURRENT_THREAD);
  ck_assert_uint_eq(b.watchdog_ms, 0);
  ck_assert(b.watchdog_hook == NULL);  /* a function pointer: not a void * */
  set_env(old != NULL ? keep : NULL);
}
END_TEST

Suite *ax_watchdog_suite(void) {
  return AX_SUITE("watchdog",
                  AX_CASE("watchdog", 0),
                  AX_FLAVOURS(reports_blocking_poll),
                  AX_FLAVOURS(reports_panicking_poll),
                  AX_ONCE(reports_block_on_thread),
                  AX_ONCE(printed_report),
                  AX_ONCE(environment),
                  /* 20 s: 1.2 s of idling, slower under valgrind. */
                  AX_CASE("quiet", 20),
                  AX_FLAVOURS(quiet_for_quick_polls));
}
