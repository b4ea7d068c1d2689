/* Where a woken task goes.
 *
 *  - woken on a worker of its own runtime: that worker's LIFO slot (the
 *    previous occupant moves to the local queue), or the back of the local
 *    queue when the task woke itself (a yield) or the runtime is the
 *    current-thread one (first in, first out);
 *  - the block_on future: its driver's flag;
 *  - anywhere else (foreign thread, other runtime, blocking pool): the
 *    injection queue, and a parked worker is woken (ax__wake_send).
 *
 * Only a worker that is parked (or about to park) costs a system call.  A
 * parking worker stores `parked`, increments rt->idle, fences and checks
 * the queues again; a waker pushes (a seq_cst store) and reads rt->idle
 * with a seq_cst load (then the flags).  All sequentially consistent, so
 * one side always sees the other: no lost wake-up.
 */
#include "core/fence.h"
#include "runtime/runtime.h"

#ifdef AX__TSAN
_Atomic int ax__fence_word;
#endif

static AX__TLS ax__worker_t *tls_worker;

ax__worker_t *ax__worker_current(void) { return tls_worker; }
void ax__worker_set_current(ax__worker_t *w) { tls_worker = w; }
uv_loop_t *ax__worker_loop(ax__worker_t *w) { return w->loop; }
ax__wheel_t *ax__worker_wheel(ax__worker_t *w) { return w->wheel; }
ax_runtime_t *ax__worker_runtime(ax__worker_t *w) { return w->rt; }

static void unpark(ax__worker_t *w) {
  int expect = 1;
  if (atomic_compare_exchange_strong(&w->parked, &expect, 2))
    ax__wake_send(&w->wake);
}

/* Wakes one parked worker, if any, to pick up new work.  No fence here:
 * work pushed to the caller's own local queue will be run by the caller
 * anyway (a missed wake-up costs parallelism for a moment, never
 * progress), and the push to the injection queue is followed by its own
 * seq_cst reads of `idle` and `spinning` (ax__schedule). */
static void wake_one(ax_runtime_t *rt) {
  unsigned i;
  /* One read-mostly word first: scanning every worker's flag on every
   * wake costs a cache miss per worker when nobody is parked. */
  if (atomic_load_explicit(&rt->idle, memory_order_relaxed) == 0) return;
  for (i = 0; i < rt->nworkers; i++) {
    ax__worker_t *w = rt->workers[i];
    if (atomic_load_explicit(&w->parked, memory_order_relaxed) == 1) {
      unpark(w);
      return;
    }
  }
}

/* As wake_one, unless a worker is spinning: it will find the work, and a
 * worker woken besides it would most often find nothing and park again
 * (on 2 cores, taking CPU from the two that work).  Tokio's workers skip
 * the wake-up while one of them searches in the same way. */
void ax__notify_parked(ax_runtime_t *rt) {
  if (atomic_load_explicit(&rt->spinning, memory_order_relaxed) != 0) return;
  wake_one(rt);
}

/* Moves up to max tasks from the injection queue into w's local queue and
 * returns one more to run now. */
ax__task_t *ax__inject_pop_batch(ax__worker_t *w, uint32_t max) {
  ax__task_t *v[AX__LQ_CAP + 1];
  uint32_t room;
  size_t n, i;
  if (ax__inject_len(&w->rt->inject) == 0) return NULL;
  room = ax__lq_room(&w->q);
  if (max > room) max = room;
  n = ax__inject_pop_n(&w->rt->inject, v, (size_t)max + 1);
  if (n == 0) return NULL;
  for (i = 1; i < n; i++) ax__lq_push(&w->q, v[i]);  /* room checked */
  return v[0];
}

void ax__push_back(ax__worker_t *w, ax__task_t *t) {
  ax__task_t *batch[AX__LQ_CAP / 2 + 1];
  uint32_t n;
  for (;;) {
    if (ax__lq_push(&w->q, t) == 0) return;
    n = ax__lq_push_overflow(&w->q, t, batch);
    if (n != 0) break;
  }
  ax__inject_push(&w->rt->inject, batch, n);
}

void ax__schedule(ax__task_t *t, int yield) {
  ax_runtime_t *rt = t->rt;
  ax__worker_t *w = tls_worker;
  int want;

  if (t->is_main && rt->driver != NULL) {
    /* The block_on future of a multi-thread runtime: its own thread polls
     * it; the flag carries the notification reference. */
    ax__worker_t *d = rt->driver;
    if (w == d) {
      atomic_store(&d->main_notified, 1);
      if (atomic_load_explicit(&d->parked, memory_order_relaxed) != 0)
        uv_stop(d->loop);   /* see the same case below */
      return;
    }
    /* From another thread: once main_notified is set, block_on may return
     * and the runtime be freed before our unpark; counting ourselves in
     * `notifying` first makes the cleanup wait for it. */
    atomic_fetch_add(&rt->notifying, 1);
    atomic_store(&d->main_notified, 1);
    unpark(d);
    atomic_fetch_sub_explicit(&rt->notifying, 1, memory_order_release);
    return;
  }
  if (atomic_load_explicit(&rt->stopped, memory_order_acquire)) {
    ax__task_drop_ref(t);  /* shutdown cancels it from the owned list */
    return;
  }
  if (w != NULL && w->rt == rt && !w->is_driver) {
    /* Woken by a callback of our own loop while parked in it (a timer
     * already due when park's uv_run began runs before the poll phase):
     * make that uv_run return instead of blocking with t queued.  The
     * stop flag is cleared when uv_run returns. */
    if (atomic_load_explicit(&w->parked, memory_order_relaxed) != 0)
      uv_stop(w->loop);
    /* The current-thread runtime is first-in first-out, as Tokio's: its
     * order is part of what users rely on (deterministic tests). */
    if (yield || rt->flavor == AX_CURRENT_THREAD) {
      ax__push_back(w, t);
    } else {
      ax__task_t *prev = w->lifo;
      w->lifo = t;
      if (prev == NULL) return;
      ax__push_back(w, prev);
    }
    if (rt->nworkers > 1) ax__notify_parked(rt);
    return;
  }
  /* From outside.  Queued under the injection lock, so that a shutdown
   * (which sets `stopped` under it before draining the queues) is entirely
   * before or entirely after; the unpark, a system call, happens after the
   * unlock, and `notifying` makes the shutdown wait for it before it
   * closes the loops. */
  ax__spin_lock(&rt->inject.lock);
  if (atomic_load_explicit(&rt->stopped, memory_order_relaxed)) {
    ax__spin_unlock(&rt->inject.lock);
    ax__task_drop_ref(t);
    return;
  }
  ax__inject_push_locked(&rt->inject, &t, 1);  /* a seq_cst store */
  /* The Dekker reads, right after that store (seq_cst, so not reordered
   * before it): does anyone sleep, and is nobody spinning who would see
   * the task?  Only then count ourselves in `notifying` and unpark; a
   * busy runtime pays no locked instruction here beyond the lock.  (A
   * spinner that gives up decrements `spinning` and increments `idle`
   * before its fence and last look at the queues, so either it sees this
   * task or these reads see it idle and not spinning.) */
  if (rt->flavor == AX_CURRENT_THREAD)
    want = atomic_load(&rt->workers[0]->parked) == 1;
  else
    want = atomic_load(&rt->idle) != 0 && atomic_load(&rt->spinning) == 0;
  if (want) atomic_fetch_add_explicit(&rt->notifying, 1, memory_order_relaxed);
  ax__spin_unlock(&rt->inject.lock);
  if (!want) return;
  if (rt->flavor == AX_CURRENT_THREAD)
    unpark(rt->workers[0]);
  else
    wake_one(rt);
  atomic_fetch_sub_explicit(&rt->notifying, 1, memory_order_release);
}
