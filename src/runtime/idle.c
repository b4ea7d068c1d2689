/* An idle worker: how long it spins before it parks, how it parks, and
 * how other threads wake it (idle.h).
 *
 * The spin.  A wake-up costs the woken thread's scheduling latency: some
 * microseconds on bare metal, 40-60 us on a VM whose idle vCPU halts.
 * Tasks handed back and forth between threads (ping-pong, a channel's
 * producer and consumer, a block_on waiting for a short chain) otherwise
 * pay a park, a wake-up system call and an epoll_wait per message, and
 * that latency.  So an idle thread spins first, adaptively, as adaptive
 * mutexes do: each keeps a moving average of how long its idle periods
 * last (until it got a task).  While that average is at most twice
 * spin_max_ns (the builder's idle_spin_us), it spins up to twice the
 * average, at most spin_max_ns, so work that comes back at a steady short
 * interval is found without sleeping.  Twice, because a wait that ended in
 * a park includes the wake-up's latency: work that comes back 60 us after
 * the spin began shows as 150 us waits once the thread has started
 * parking.  A thread whose waits are long (an idle server between
 * requests) spins only spin_min_ns (16 us) before it parks, so an idle
 * runtime burns no CPU.  idle_spin_us = 0 turns the spin off: a thread
 * out of work parks at once.  The current-thread runtime never spins:
 * nothing else can make work.  (docs/internals.md has the measurements.)
 */
#include "core/fence.h"
#include "runtime/idle.h"

static void stat_inc(_Atomic uint64_t *c) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

/* ---- waking ------------------------------------------------------------- */

void ax__idle_unpark(ax__worker_t *w) {
  int expect = 1;
  if (atomic_compare_exchange_strong(&w->parked, &expect, 2))
    ax__worker_wake(w);
}

/* No fence here: work pushed to the caller's own local queue will be run
 * by the caller anyway (a missed wake-up costs parallelism for a moment,
 * never progress), and the push to the injection queue is followed by its
 * own seq_cst reads of `idle` and `spinning` (sched.c). */
void ax__idle_wake_one(ax_runtime_t *rt) {
  unsigned i;
  /* One read-mostly word first: scanning every worker's flag on every
   * wake costs a cache miss per worker when nobody is parked. */
  if (atomic_load_explicit(&rt->idle, memory_order_relaxed) == 0) return;
  for (i = 0; i < rt->nworkers; i++) {
    ax__worker_t *w = rt->workers[i];
    if (atomic_load_explicit(&w->parked, memory_order_relaxed) == 1) {
      ax__idle_unpark(w);
      return;
    }
  }
}

/* A spinning worker will find the work, and a worker woken besides it
 * would most often find nothing and park again (on 2 cores, taking CPU
 * from the two that work).  Tokio's workers skip the wake-up while one of
 * them searches in the same way. */
void ax__idle_notify(ax_runtime_t *rt) {
  if (atomic_load_explicit(&rt->spinning, memory_order_relaxed) != 0) return;
  ax__idle_wake_one(rt);
}

/* ---- is there work ------------------------------------------------------ */

/* Is there work for w: the injection queue, or another worker's local
 * queue holding at least min_other tasks (w's own is empty when it is
 * idle).  Liveness needs only the injection queue: a local queue's owner
 * is awake, as only the owner pushes to it.  Other queues are about
 * parallelism: a single task there is mostly popped by its busy owner
 * before a thief gets it, so after its spin an idle worker looks only
 * for two or more (else it would return, fail to steal and come back
 * for as long as a chain keeps one task in its worker's queue). */
static int has_work(ax__worker_t *w, uint32_t min_other) {
  ax_runtime_t *rt = w->ctx.rt;
  unsigned i;
  if (w->is_driver) return atomic_load(&w->main_notified) != 0;
  if (ax__inject_len(&rt->inject) != 0) return 1;
  for (i = 0; i < rt->nworkers; i++)
    if (ax__lq_len(&rt->workers[i]->q) >= min_other) return 1;
  return 0;
}

/* ---- the spin policy ---------------------------------------------------- */

/* A worker whose loop serves I/O objects (sockets, pipes, processes:
 * the home's `homed` list) does not spin.  Its work comes through its
 * loop's poll, which wakes it by itself, and its peers (a load generator,
 * the other end of a pipe) often share its cores: spinning took their CPU.
 * On 2 cores with the load generator beside it, the echo server's idle
 * spin was most of its extra user time over raw libuv, and without it the
 * server used about 20 % less CPU per round trip at the same or better
 * throughput (BENCHMARKS.md, "Network servers"). */
static uint64_t spin_limit(const ax__worker_t *w) {
  const ax_runtime_t *rt = w->ctx.rt;
  uint64_t avg = w->wait_avg, lo = rt->spin_min_ns, hi = rt->spin_max_ns;
  if (!ax__list_empty(&w->ctx.homed)) return 0;
  if (avg > 2 * hi) return lo;
  avg *= 2;
  if (avg < lo) return lo;
  return avg > hi ? hi : avg;
}

/* avg += (wait - avg) / 4, in unsigned arithmetic.  A wait counts at
 * most 4 * spin_max_ns: one idle hour must not take fifty short waits to
 * forget. */
static void note_wait(ax__worker_t *w, uint64_t t0) {
  uint64_t max = 4 * w->ctx.rt->spin_max_ns;
  uint64_t wait = uv_hrtime() - t0, avg = w->wait_avg;
  if (wait > max) wait = max;
  w->wait_avg = wait >= avg ? avg + (wait - avg) / 4 : avg - (avg - wait) / 4;
}

/* Past spin_min_ns a thread spins on only while a CPU is free: the
 * runtime's running workers, its block_on thread when it is polling and
 * its long spinners must number fewer than the CPUs.  Threads that spin
 * long while others have work would take the CPUs from them (block_on
 * waiting on each join handle in turn while both workers run tasks).  An
 * estimate from relaxed reads: it only decides whether to spin on. */
static int long_spin_enter(ax_runtime_t *rt) {
  long running = (long)rt->nworkers -
                 (long)atomic_load_explicit(&rt->idle, memory_order_relaxed) -
                 (long)atomic_load_explicit(&rt->spinning, memory_order_relaxed) +
                 atomic_load_explicit(&rt->driver_busy, memory_order_relaxed);
  unsigned n = atomic_load_explicit(&rt->long_spinning, memory_order_relaxed);
  if (running < 0) running = 0;
  do {
    if ((unsigned long)running + n + 1 > rt->cpus) return 0;
  } while (!atomic_compare_exchange_weak_explicit(
      &rt->long_spinning, &n, n + 1, memory_order_relaxed,
      memory_order_relaxed));
  return 1;
}

/* Spins until there may be work (1) or the spin is over (0).  The spin
 * window starts when the worker runs out of work or is woken (spin_from);
 * a false alarm (a task seen in another worker's queue and gone before
 * the steal) does not restart it. */
static int spin(ax__worker_t *w, ax__task_t *until) {
  ax_runtime_t *rt = w->ctx.rt;
  uint64_t limit = spin_limit(w), t0 = w->spin_from;
  int slot = 0, found = 0;
  unsigned i;
  if (uv_hrtime() - t0 >= limit) return 0;
  for (i = 1;; i++) {
    /* Look every 8th pause: each look reads lines that busy threads are
     * writing (the injection queue's length, every local queue's ends),
     * and a looker in a tight loop slows them down. */
    if ((i & 7) == 0) {
      if (has_work(w, 1) || ax__worker_finished(w, until) ||
          ax__worker_shut(w, until)) {
        found = 1;
        break;
      }
      if ((i & 63) == 0) {
        uint64_t spent;
        /* What else this loop watches (the wheel's timer, a request in
         * flight, a leaf future's own handle: a worker homing sockets
         * does not spin) is seen only by polling the loop: poll it
         * without blocking, so that a spin never holds a ready event
         * until the park.  Loops with nothing of the kind cost nothing. */
        if (ax__worker_loop_has_work(w)) {
          ax__worker_run_io(w, UV_RUN_NOWAIT);
          if (w->lifo != NULL || has_work(w, 1)) {
            found = 1;
            break;
          }
        }
        spent = uv_hrtime() - t0;
        if (spent >= limit) break;
        if (spent >= rt->spin_min_ns && !slot && !(slot = long_spin_enter(rt)))
          break;
      }
    }
    ax__cpu_relax();
  }
  if (slot)
    atomic_fetch_sub_explicit(&rt->long_spinning, 1, memory_order_relaxed);
  return found;
}

/* ---- parking ------------------------------------------------------------- */

/* A spinning worker is counted in `spinning` (wakers rely on it to take
 * new work); block_on's driver is not (it runs no tasks), it only stops
 * counting as busy for the CPU estimate of long_spin_enter. */
void ax__idle_park(ax__worker_t *w, ax__task_t *until) {
  ax_runtime_t *rt = w->ctx.rt;
  int multi = rt->flavor == AX_MULTI_THREAD;
  int counted = multi && !w->is_driver;
  if (w->is_driver)
    atomic_store_explicit(&rt->driver_busy, 0, memory_order_relaxed);
  if (multi) {
    if (w->idle_since == 0) {
      /* An idle period begins: what the loop queued while the worker
       * was busy was run by it then. */
      w->idle_since = w->spin_from = uv_hrtime();
      w->loop_batch = 0;
    }
    if (counted)
      atomic_fetch_add_explicit(&rt->spinning, 1, memory_order_relaxed);
    if (spin(w, until)) {
      /* seq_cst: on weak-memory CPUs our later reads of the injection
       * queue (the batch, the hand-on in ax__idle_end) must not miss a
       * push whose waker saw us spinning and skipped the unpark. */
      if (counted) atomic_fetch_sub(&rt->spinning, 1);
      goto out;
    }
  }
  /* Idle, then no longer spinning, then the fence and the last look (see
   * sched.c for the other side). */
  atomic_store(&w->parked, 1);
  if (!w->is_driver) atomic_fetch_add(&rt->idle, 1);
  if (counted) atomic_fetch_sub(&rt->spinning, 1);
  ax__fence();
  if (!has_work(w, 2) && !ax__worker_finished(w, until) &&
      !ax__worker_shut(w, until)) {
    stat_inc(&w->parks);
    /* On the application's loop our wake-up is unref'd (pump.h): with
     * nothing of the application's active, uv_run would return at once
     * and this would spin. */
    if (ax__worker_on_user_loop(w)) ax__wake_set_ref(&w->wake, 1);
    ax__worker_run_io(w, UV_RUN_ONCE);
    if (ax__worker_on_user_loop(w)) ax__wake_set_ref(&w->wake, 0);
    /* Woken, most often for work: a new spin window. */
    if (multi) w->spin_from = uv_hrtime();
  }
  atomic_store(&w->parked, 0);
  if (!w->is_driver) atomic_fetch_sub(&rt->idle, 1);
out:
  if (w->is_driver)
    atomic_store_explicit(&rt->driver_busy, 1, memory_order_relaxed);
}

/* Back from idle with work: the idle period counts towards the spin's
 * average now, not at a false alarm.  Wakers skipped unparking others
 * while we spun; if we found more than this task, hand some on, unless
 * our own loop's callbacks woke them: their I/O is here (sched.c). */
void ax__idle_end(ax__worker_t *w) {
  ax_runtime_t *rt = w->ctx.rt;
  note_wait(w, w->idle_since);
  w->idle_since = 0;
  if (rt->nworkers > 1 && !w->is_driver &&
      ((ax__lq_len(&w->q) != 0 && !w->loop_batch) ||
       ax__inject_len(&rt->inject) != 0))
    ax__idle_notify(rt);
}
