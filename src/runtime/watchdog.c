/* The watchdog: reports a task poll that keeps its thread too long.
 *
 * The chapter's worst bug is a blocking call in async code: the worker
 * stops running its other tasks, its timers and its I/O.  Nothing on the
 * workers reads a clock for this.  A worker with a watchdog stores the
 * task's id and bumps `polls` before each poll, and copies `polls` into
 * `wd_done` after it; the watchdog's thread samples both every half
 * period.  A poll it has seen in progress (polls != wd_done) with the
 * same `polls` for a whole period has run at least that long: it reports
 * it, then sets `wd_flag` to that poll's number so that the worker, when
 * the poll ends, reports the details only it can read safely (the task's
 * name and where it resumed and stopped: the task may be freed right after
 * the poll, so the watchdog's thread never touches it).
 *
 * Ordering: the worker stores wd_done and then loads wd_flag; the watchdog
 * stores wd_flag and then calls the hook.  The worker may miss a flag
 * stored just after its poll ended (no second report then), and its
 * report may come before the watchdog's when the poll ends while the
 * hook runs; the number in the flag matches one poll only.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/watch.h"

/* What the watchdog's thread remembers of one thread it watches. */
typedef struct {
  ax__worker_t *w;
  uint64_t poll;      /* `polls` at the last look, while in a poll */
  uint64_t since;     /* when that poll was first seen */
  int reported;
} watched_t;

void ax_watchdog_print(const ax_watchdog_report_t *r, void *file) {
  FILE *f = file != NULL ? file : stderr;
  assert(r != NULL);
  char who[32], site[300];
  if (r->worker == ~0u)
    snprintf(who, sizeof(who), "block_on's thread");
  else
    snprintf(who, sizeof(who), "worker %u", r->worker);
  if (r->spawned_at != NULL)
    snprintf(site, sizeof(site), " (spawned at %s)", r->spawned_at);
  else
    site[0] = '\0';
  if (!r->returned) {
    fprintf(f,
            "axle: watchdog: task %llu%s has kept %s for %llu ms in one poll "
            "(a blocking call in async code? see ax_spawn_blocking)\n",
            (unsigned long long)r->task_id, site, who,
            (unsigned long long)r->elapsed_ms);
    return;
  }
  {
    char from[300], to[300];
    if (r->resumed_file != NULL)
      snprintf(from, sizeof(from), "%s:%d", r->resumed_file, r->resumed_line);
    else
      snprintf(from, sizeof(from), "the start of its first poll");
    if (r->stopped_file != NULL)
      snprintf(to, sizeof(to), "%s:%d", r->stopped_file, r->stopped_line);
    else
      snprintf(to, sizeof(to), "its end");
    /* One fprintf per line: reports from two threads do not interleave. */
    fprintf(f,
            "axle: watchdog: task %llu%s%s%s%s kept %s for %llu ms, from %s "
            "to %s\n",
            (unsigned long long)r->task_id, r->task_name ? " (" : "",
            r->task_name ? r->task_name : "", r->task_name ? ")" : "", site,
            who, (unsigned long long)r->elapsed_ms, from, to);
  }
}

static void report(ax_runtime_t *rt, const ax_watchdog_report_t *r) {
  if (rt->watchdog_hook != NULL)
    rt->watchdog_hook(r, rt->watchdog_hook_arg);
  else
    ax_watchdog_print(r, NULL);
}

/* One look at one thread.  Two clock reads bracket the loads: a poll seen
 * in progress began before `after`, which is what a first sighting
 * records; a poll still in progress at the next look was running at
 * `before` or later, which is what its time is measured to.  Times stay
 * lower bounds however late this thread runs (a slow hook, preemption). */
static void look(ax_runtime_t *rt, watched_t *s) {
  ax__worker_t *w = s->w;
  uint64_t before = uv_hrtime(), after, p, id, d;
  const char *site;
  /* wd_task is stored before `polls` and after the last wd_done, both
   * with release: a task id read between them belongs to poll p unless
   * wd_done then shows p over. */
  p = atomic_load_explicit(&w->polls, memory_order_acquire);
  id = atomic_load_explicit(&w->wd_task, memory_order_acquire);
  /* A string literal (or NULL): readable whatever became of the task. */
  site = atomic_load_explicit(&w->wd_site, memory_order_relaxed);
  d = atomic_load_explicit(&w->wd_done, memory_order_acquire);
  after = uv_hrtime();
  if (p == d) {           /* between polls, parked or idle */
    s->poll = p;
    s->since = 0;
    return;
  }
  if (s->since == 0 || s->poll != p) {  /* a poll not seen before */
    s->poll = p;
    s->since = after;
    s->reported = 0;
    return;
  }
  if (!s->reported && before - s->since >= rt->watchdog_ns) {
    ax_watchdog_report_t r = {0};
    s->reported = 1;
    /* Flag the poll before the hook runs: a hook that ends the blocking
     * call (closes its socket, say) still gets the second report. */
    atomic_store_explicit(&w->wd_since, s->since, memory_order_relaxed);
    atomic_store_explicit(&w->wd_flag, p, memory_order_release);
    r.worker = w->index;
    r.task_id = id;
    r.spawned_at = site;
    r.elapsed_ms = (before - s->since) / 1000000u;
    report(rt, &r);
  }
}

static unsigned watched_count(const ax_runtime_t *rt) {
  return rt->nworkers + (rt->driver != NULL);
}

static void watchdog_main(void *arg) {
  ax_runtime_t *rt = arg;
  watched_t *all = rt->watchdog_seen;
  unsigned i, n = watched_count(rt);
  /* At least 1 ms: libuv on Windows waits in whole ms (0 would spin). */
  uint64_t period = rt->watchdog_ns / 2 < 1000000u ? 1000000u
                                                   : rt->watchdog_ns / 2;
  uv_mutex_lock(&rt->watchdog_lock);
  while (!rt->watchdog_stop) {
    /* A timeout or a spurious wake-up: look either way. */
    (void)uv_cond_timedwait(&rt->watchdog_cond, &rt->watchdog_lock, period);
    if (rt->watchdog_stop) break;
    uv_mutex_unlock(&rt->watchdog_lock);
    for (i = 0; i < n; i++) look(rt, &all[i]);
    uv_mutex_lock(&rt->watchdog_lock);
  }
  uv_mutex_unlock(&rt->watchdog_lock);
}

/* Before the worker threads start: they read watchdog_ns without a
 * barrier, so a failure here must clear it before they exist. */
int ax__watchdog_start(ax_runtime_t *rt) {
  unsigned i, n = watched_count(rt);
  watched_t *all;
  int rc;
  if (rt->watchdog_ns == 0) return 0;
  if ((all = ax__calloc(n, sizeof(*all))) == NULL) return AX_ENOMEM;
  for (i = 0; i < rt->nworkers; i++) all[i].w = rt->workers[i];
  if (rt->driver != NULL) all[n - 1].w = rt->driver;
  if ((rc = uv_mutex_init(&rt->watchdog_lock)) != 0) goto err_mutex;
  if ((rc = uv_cond_init(&rt->watchdog_cond)) != 0) goto err_cond;
  rt->watchdog_stop = 0;
  rt->watchdog_seen = all;
  if ((rc = uv_thread_create(&rt->watchdog_thread, watchdog_main, rt)) != 0)
    goto err_thread;
  return 0;
err_thread:
  rt->watchdog_seen = NULL;
  uv_cond_destroy(&rt->watchdog_cond);
err_cond:
  uv_mutex_destroy(&rt->watchdog_lock);
err_mutex:
  ax__free(all);
  rt->watchdog_ns = 0;
  return rc;
}

void ax__watchdog_stop(ax_runtime_t *rt) {
  if (rt->watchdog_ns == 0) return;
  uv_mutex_lock(&rt->watchdog_lock);
  rt->watchdog_stop = 1;
  uv_cond_signal(&rt->watchdog_cond);
  uv_mutex_unlock(&rt->watchdog_lock);
  uv_thread_join(&rt->watchdog_thread);
  uv_cond_destroy(&rt->watchdog_cond);
  uv_mutex_destroy(&rt->watchdog_lock);
  ax__free(rt->watchdog_seen);
  rt->watchdog_seen = NULL;
  rt->watchdog_ns = 0;  /* stopped: a second stop does nothing */
}

void ax__watch_report_end(ax__worker_t *w, ax__task_t *t) {
  ax_watchdog_report_t r = {0};
  uint64_t since = atomic_load_explicit(&w->wd_since, memory_order_relaxed);
  r.returned = 1;
  r.worker = w->index;
  r.task_id = atomic_load_explicit(&w->wd_task, memory_order_relaxed);
  r.spawned_at = atomic_load_explicit(&w->wd_site, memory_order_relaxed);
  r.elapsed_ms = (uv_hrtime() - since) / 1000000u;
  if (t != NULL) {
    r.task_name = t->name;
    if (w->wd_line != 0) {
      r.resumed_file = w->wd_file;
      r.resumed_line = w->wd_line;
    }
    if (ax__wait_line(&t->wait) != 0) {
      r.stopped_file = ax__wait_file(&t->wait);
      r.stopped_line = ax__wait_line(&t->wait);
    }
  }
  report(w->ctx.rt, &r);
}

unsigned ax__watchdog_env(void) {
  const char *s = getenv("AXLE_WATCHDOG_MS");
  char *end;
  unsigned long v;
  if (s == NULL || *s == '\0') return 0;
  v = strtoul(s, &end, 10);
  if (*end != '\0' || v > 3600000ul) return 0;  /* not a number of ms */
  return (unsigned)v;
}
