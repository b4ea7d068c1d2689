/* Where a woken task goes.
 *
 *  - woken on a worker of its own runtime: that worker's LIFO slot (the
 *    previous occupant moves to the local queue), or the back of the local
 *    queue when the task woke itself (a yield) or the runtime is the
 *    current-thread one (first in, first out);
 *  - the block_on future: its driver's flag;
 *  - anywhere else (foreign thread, other runtime, blocking pool): the
 *    injection queue, and a parked worker is woken with uv_async_send.
 *
 * Only a worker that is parked (or about to park) costs a system call; the
 * store of `parked` and the re-check of the queues before sleeping, against
 * the push and the load of `parked` here, are both sequentially consistent,
 * so one side always sees the other (no lost wake-up).
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
    uv_async_send(&w->wake);
}

/* Wakes one parked worker, if any, to pick up new work.  `fence`: the work
 * went where only another thread would find it (the injection queue), so
 * the Dekker fence is required.  Work pushed to the caller's own local queue
 * will be run by the caller anyway: a missed wake-up there costs
 * parallelism for a moment, never progress, so the hot path skips the
 * fence. */
static void notify_parked(ax_runtime_t *rt, int fence) {
  unsigned i;
  if (fence) ax__fence();
  for (i = 0; i < rt->nworkers; i++) {
    ax__worker_t *w = rt->workers[i];
    if (atomic_load_explicit(&w->parked, memory_order_relaxed) == 1) {
      unpark(w);
      return;
    }
  }
}

/* Appends head..tail (n tasks) to the injection queue; inject_lock held. */
static void inject_link(ax_runtime_t *rt, ax__task_t *head, ax__task_t *tail,
                        size_t n) {
  tail->next = NULL;
  if (rt->inject_tail != NULL)
    rt->inject_tail->next = head;
  else
    rt->inject_head = head;
  rt->inject_tail = tail;
  atomic_fetch_add(&rt->inject_len, n);  /* seq_cst: pairs with park */
}

void ax__inject_push_list(ax_runtime_t *rt, ax__task_t *head,
                          ax__task_t *tail, size_t n) {
  uv_mutex_lock(&rt->inject_lock);
  inject_link(rt, head, tail, n);
  uv_mutex_unlock(&rt->inject_lock);
}

ax__task_t *ax__inject_pop(ax_runtime_t *rt) {
  ax__task_t *t;
  if (atomic_load_explicit(&rt->inject_len, memory_order_acquire) == 0)
    return NULL;
  uv_mutex_lock(&rt->inject_lock);
  t = rt->inject_head;
  if (t != NULL) {
    rt->inject_head = t->next;
    if (rt->inject_head == NULL) rt->inject_tail = NULL;
    atomic_fetch_sub_explicit(&rt->inject_len, 1, memory_order_relaxed);
  }
  uv_mutex_unlock(&rt->inject_lock);
  return t;
}

/* Moves up to max tasks from the injection queue into w's local queue and
 * returns one more to run now. */
ax__task_t *ax__inject_pop_batch(ax__worker_t *w, uint32_t max) {
  ax_runtime_t *rt = w->rt;
  ax__task_t *t, *first;
  uint32_t room, n = 0;
  if (atomic_load_explicit(&rt->inject_len, memory_order_acquire) == 0)
    return NULL;
  room = ax__lq_room(&w->q);
  if (max > room) max = room;
  uv_mutex_lock(&rt->inject_lock);
  first = rt->inject_head;
  if (first == NULL) {
    uv_mutex_unlock(&rt->inject_lock);
    return NULL;
  }
  t = first->next;
  n = 1;
  while (t != NULL && n <= max) {
    ax__task_t *next = t->next;
    ax__lq_push(&w->q, t);  /* room checked above: cannot fail */
    t = next;
    n++;
  }
  rt->inject_head = t;
  if (t == NULL) rt->inject_tail = NULL;
  atomic_fetch_sub_explicit(&rt->inject_len, n, memory_order_relaxed);
  uv_mutex_unlock(&rt->inject_lock);
  return first;
}

void ax__push_back(ax__worker_t *w, ax__task_t *t) {
  ax__task_t *head, *tail;
  uint32_t n;
  for (;;) {
    if (ax__lq_push(&w->q, t) == 0) return;
    n = ax__lq_push_overflow(&w->q, t, &head, &tail);
    if (n != 0) break;
  }
  ax__inject_push_list(w->rt, head, tail, n);
}

void ax__schedule(ax__task_t *t, int yield) {
  ax_runtime_t *rt = t->rt;
  ax__worker_t *w = tls_worker;

  if (t->is_main && rt->driver != NULL) {
    /* The block_on future of a multi-thread runtime: its own thread polls
     * it; the flag carries the notification reference. */
    ax__worker_t *d = rt->driver;
    atomic_store(&d->main_notified, 1);
    if (w != d) unpark(d);
    else if (atomic_load_explicit(&d->parked, memory_order_relaxed) != 0)
      uv_stop(d->loop);   /* see the same case below */
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
    if (rt->nworkers > 1) notify_parked(rt, 0);
    return;
  }
  /* From outside: queue and unpark under the injection lock, so that a
   * shutdown (which sets `stopped` under it before closing the loops) is
   * entirely before or entirely after. */
  uv_mutex_lock(&rt->inject_lock);
  if (atomic_load_explicit(&rt->stopped, memory_order_relaxed)) {
    uv_mutex_unlock(&rt->inject_lock);
    ax__task_drop_ref(t);
    return;
  }
  inject_link(rt, t, t, 1);
  if (rt->flavor == AX_CURRENT_THREAD)
    unpark(rt->workers[0]);
  else
    notify_parked(rt, 1);
  uv_mutex_unlock(&rt->inject_lock);
}
