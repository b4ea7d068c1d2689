/* Internal: the watchdog (watchdog.c), and what a watched poll costs its
 * worker: a few stores to its own lines before the poll and after it.
 *
 * ax__watchdog_start: after the workers exist (0 or an error; nothing to
 *   do when rt->watchdog_ns is 0).  ax__watchdog_stop: joins its thread,
 *   before the workers are freed.
 * ax__watch_begin / ax__watch_end bracket each task poll while
 *   rt->watchdog_ns != 0 (set before the threads start, cleared after they
 *   stop); end also runs for a poll that panicked, and a second end of the
 *   same poll does nothing.
 */
#ifndef AX_RUNTIME_WATCH_H
#define AX_RUNTIME_WATCH_H

#include "runtime/worker.h"

int ax__watchdog_start(ax_runtime_t *rt);
void ax__watchdog_stop(ax_runtime_t *rt);
/* ax__watch_end's report when the watchdog flagged the poll. */
void ax__watch_report_end(ax__worker_t *w, ax__task_t *t);
/* AXLE_WATCHDOG_MS from the environment, or 0. */
unsigned ax__watchdog_env(void);

static inline void ax__watch_begin(ax__worker_t *w, ax__task_t *t) {
  w->wd_file = ax__wait_file(&t->wait);  /* ax__task_run clears the line */
  w->wd_line = ax__wait_line(&t->wait);
  atomic_store_explicit(&w->wd_site, t->site, memory_order_relaxed);
  atomic_store_explicit(&w->wd_task, t->id, memory_order_release);
  /* release: the watchdog that sees this poll's number sees its task */
  atomic_store_explicit(
      &w->polls, atomic_load_explicit(&w->polls, memory_order_relaxed) + 1,
      memory_order_release);
}

static inline void ax__watch_end(ax__worker_t *w, ax__task_t *t) {
  uint64_t p = atomic_load_explicit(&w->polls, memory_order_relaxed);
  if (atomic_load_explicit(&w->wd_done, memory_order_relaxed) == p)
    return;  /* ended already (ax__task_run's call, then the worker's) */
  atomic_store_explicit(&w->wd_done, p, memory_order_release);
  if (atomic_load_explicit(&w->wd_flag, memory_order_acquire) == p)
    ax__watch_report_end(w, t);
}

#endif
