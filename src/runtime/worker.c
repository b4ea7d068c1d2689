/* A worker: its loop, its run loop, parking and stealing. */
#include <string.h>

#include "core/alloc.h"
#include "core/fence.h"
#include "runtime/runtime.h"

#define MAX_LIFO_POLLS 3     /* LIFO polls in a row before the queue goes */
#define INJECT_BATCH 64      /* tasks moved from the injection queue at once */

/* For the run loop and what it calls on every poll: gcc neither clones a
 * function this size for a constant argument nor, once there are two
 * copies of the loop, keeps next_task inline in both.  The two copies stay
 * out of ax__worker_run: in a function that calls setjmp, gcc keeps far
 * more in memory (+30 % instructions on yield_many when inlined there). */
#if defined(__GNUC__)
#  define RUN_LOOP_INLINE inline __attribute__((always_inline))
#  define RUN_LOOP_OUTLINE __attribute__((noinline))
#elif defined(_MSC_VER)
#  define RUN_LOOP_INLINE __forceinline
#  define RUN_LOOP_OUTLINE __declspec(noinline)
#else
#  define RUN_LOOP_INLINE inline
#  define RUN_LOOP_OUTLINE
#endif


static void stat_inc(_Atomic uint64_t *c) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

/* Runs the ops posted to w.  Wake-ups coalesce, so each one drains
 * everything queued so far. */
static void run_mailbox(ax__worker_t *w) {
  ax__op_t *op;
  ax__spin_lock(&w->mail_lock);
  op = w->mail_head;
  w->mail_head = w->mail_tail = NULL;
  atomic_store_explicit(&w->mail_pending, 0, memory_order_relaxed);
  ax__spin_unlock(&w->mail_lock);
  while (op != NULL) {
    ax__op_t *next = op->next;
    op->fn(op);
    op = next;
  }
}

/* Besides the mailbox, the wake-up itself is the point: it ends uv_run. */
void ax__worker_woken(ax__worker_t *w) { run_mailbox(w); }

void ax__worker_post(ax__worker_t *w, ax__op_t *op) {
  if (ax__worker_current() == w) {
    op->fn(op);
    return;
  }
  op->next = NULL;
  ax__spin_lock(&w->mail_lock);
  if (w->mail_tail != NULL)
    w->mail_tail->next = op;
  else
    w->mail_head = op;
  w->mail_tail = op;
  atomic_store_explicit(&w->mail_pending, 1, memory_order_relaxed);
  ax__spin_unlock(&w->mail_lock);
  ax__wake_send(&w->wake);
}

int ax__worker_init(ax__worker_t *w, ax_runtime_t *rt, unsigned index,
                    uv_loop_t *user_loop) {
  int rc;
  memset(w, 0, sizeof(*w));
  w->rt = rt;
  w->index = index;
  w->rng = index * 2654435761u + 0x9e3779b9u;
  w->until_global = rt->global_queue_interval;
  w->until_io = rt->event_interval;
  ax__lq_init(&w->q);
  ax__spin_init(&w->mail_lock);
  atomic_init(&w->main_notified, 0);
  atomic_init(&w->parked, 0);
  if (user_loop != NULL) {
    w->loop = user_loop;
  } else {
    w->loop = &w->loop_storage;
    if ((rc = uv_loop_init(w->loop)) != 0) return rc;
  }
  if ((rc = ax__wake_init(w, &w->wake, w->loop)) != 0) goto err;
  w->wheel = ax__wheel_new(w->loop);
  if (w->wheel == NULL) {
    ax__wake_close(&w->wake);
    uv_run(w->loop, UV_RUN_DEFAULT);
    rc = AX_ENOMEM;
    goto err;
  }
  return 0;
err:
  if (user_loop == NULL) uv_loop_close(w->loop);
  return rc;
}

void ax__worker_close(ax__worker_t *w) {
  run_mailbox(w);  /* the closing thread owns every loop now */
  ax__tcache_drain(&w->tcache);
  ax__wheel_close(w->wheel);
  ax__wake_close(&w->wake);
  if (w->loop == &w->loop_storage) {
    uv_run(w->loop, UV_RUN_DEFAULT);
    uv_loop_close(w->loop);
  } else {
    /* The user's loop stays theirs: one turn runs our close callbacks. */
    uv_run(w->loop, UV_RUN_NOWAIT);
  }
}

static ax__task_t *steal(ax__worker_t *w) {
  ax_runtime_t *rt = w->rt;
  unsigned n = rt->nworkers, i, start;
  ax__task_t *t = NULL;
  if (n < 2) return NULL;
  /* At most half the workers search at once: more thieves than that only
   * fight over the same queues' head words. */
  if (2 * atomic_load_explicit(&rt->searching, memory_order_relaxed) >= n)
    return NULL;
  atomic_fetch_add_explicit(&rt->searching, 1, memory_order_relaxed);
  w->rng ^= w->rng << 13;
  w->rng ^= w->rng >> 17;
  w->rng ^= w->rng << 5;
  start = w->rng % n;
  for (i = 0; i < n; i++) {
    ax__worker_t *v = rt->workers[(start + i) % n];
    if (v == w) continue;
    t = ax__lq_steal_into(&v->q, &w->q);
    if (t != NULL) {
      stat_inc(&w->steals);
      break;
    }
  }
  atomic_fetch_sub_explicit(&rt->searching, 1, memory_order_relaxed);
  return t;
}

static RUN_LOOP_INLINE ax__task_t *next_task(ax__worker_t *w) {
  ax_runtime_t *rt = w->rt;
  ax__task_t *t;

  if (w->is_driver) {
    if (atomic_exchange(&w->main_notified, 0)) return w->main_task;
    return NULL;
  }
  /* Fairness: now and then the injection queue goes first, and this worker
   * takes its share of it at once, so tasks that keep a worker busy (a
   * spawn chain, a yield loop) delay outside spawns by one interval, not
   * by one interval per spawn. */
  if (--w->until_global == 0) {
    w->until_global = rt->global_queue_interval;
    size_t len = ax__inject_len(&rt->inject);
    t = ax__inject_pop_batch(w, (uint32_t)(len / rt->nworkers) + 1);
    if (t != NULL) return t;
  }
  if (w->lifo != NULL) {
    t = w->lifo;
    w->lifo = NULL;
    if (w->lifo_streak < MAX_LIFO_POLLS) {
      w->lifo_streak++;
      return t;
    }
    ax__push_back(w, t);  /* a chain of wakes must not starve the queue */
  }
  w->lifo_streak = 0;
  t = rt->nworkers == 1 ? ax__lq_pop_unshared(&w->q) : ax__lq_pop(&w->q);
  if (t != NULL) return t;
  if ((t = ax__inject_pop_batch(w, INJECT_BATCH)) != NULL) return t;
  return steal(w);
}

/* Is there work for w: the injection queue, or another worker's local
 * queue holding at least min_other tasks (w's own is empty when it is
 * idle).  Liveness needs only the injection queue: a local queue's owner
 * is awake, as only the owner pushes to it.  Other queues are about
 * parallelism: a single task there is mostly popped by its busy owner
 * before a thief gets it, so after its spin an idle worker looks only
 * for two or more (else it would return, fail to steal and come back
 * for as long as a chain keeps one task in its worker's queue). */
static int has_work(ax__worker_t *w, uint32_t min_other) {
  ax_runtime_t *rt = w->rt;
  unsigned i;
  if (w->is_driver) return atomic_load(&w->main_notified) != 0;
  if (ax__inject_len(&rt->inject) != 0) return 1;
  for (i = 0; i < rt->nworkers; i++)
    if (ax__lq_len(&rt->workers[i]->q) >= min_other) return 1;
  return 0;
}

static int finished(ax__worker_t *w, ax__task_t *until) {
  if (until != NULL) return (ax__task_state(until) & AX__COMPLETE) != 0;
  return atomic_load_explicit(&w->rt->shutdown, memory_order_acquire);
}

/* How long an idle worker (or the block_on driver, waiting for its
 * future) looks for work before it parks.  Tasks handed back and forth
 * between threads (ping-pong, a channel's producer and consumer, a
 * block_on waiting for a short chain) otherwise cost a park, a wake-up
 * system call and an epoll_wait per message, and the woken thread's
 * latency: some microseconds on bare metal, 40-60 us on a VM whose idle
 * vCPU halts.
 *
 * The spin adapts, as adaptive mutexes do: each thread keeps a moving
 * average of how long its idle periods last (until it got a task).  While
 * that average is at most twice spin_max_ns (the builder's idle_spin_us),
 * it spins up to twice the average, at most spin_max_ns, so work that
 * comes back at a steady short interval is found without sleeping.  Twice,
 * because a wait that ended in a park includes the wake-up's latency:
 * work that comes back 60 us after the spin began shows as 150 us waits
 * once the thread has started parking.  A thread whose waits are long (an
 * idle server between requests) spins only spin_min_ns (16 us) before it
 * parks, so an idle runtime burns no CPU.  The current-thread runtime
 * never spins: nothing else can make work. */
static uint64_t spin_limit(const ax__worker_t *w) {
  uint64_t avg = w->wait_avg, lo = w->rt->spin_min_ns, hi = w->rt->spin_max_ns;
  if (avg > 2 * hi) return lo;
  avg *= 2;
  if (avg < lo) return lo;
  return avg > hi ? hi : avg;
}

/* avg += (wait - avg) / 4, in unsigned arithmetic.  A wait counts at
 * most 4 * spin_max_ns: one idle hour must not take fifty short waits to
 * forget. */
static void note_wait(ax__worker_t *w, uint64_t t0) {
  uint64_t wait = uv_hrtime() - t0, avg = w->wait_avg;
  if (wait > 4 * w->rt->spin_max_ns) wait = 4 * w->rt->spin_max_ns;
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
  ax_runtime_t *rt = w->rt;
  uint64_t limit = spin_limit(w), t0 = w->spin_from;
  int slot = 0, found = 0;
  unsigned i;
  if (uv_hrtime() - t0 >= limit) return 0;
  for (i = 1;; i++) {
    /* Look every 8th pause: each look reads lines that busy threads are
     * writing (the injection queue's length, every local queue's ends),
     * and a looker in a tight loop slows them down. */
    if ((i & 7) == 0) {
      if (has_work(w, 1) || finished(w, until)) {
        found = 1;
        break;
      }
      if ((i & 63) == 0) {
        uint64_t spent = uv_hrtime() - t0;
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

/* Waits for work: spins (multi-thread), then parks in uv_run(ONCE).  A
 * spinning worker is counted in `spinning` (wakers rely on it to take
 * new work); block_on's driver is not (it runs no tasks), it only stops
 * counting as busy for the CPU estimate of long_spin_enter. */
static void park(ax__worker_t *w, ax__task_t *until) {
  ax_runtime_t *rt = w->rt;
  int multi = rt->flavor == AX_MULTI_THREAD;
  int counted = multi && !w->is_driver;
  if (w->is_driver)
    atomic_store_explicit(&rt->driver_busy, 0, memory_order_relaxed);
  if (multi) {
    if (w->idle_since == 0) w->idle_since = w->spin_from = uv_hrtime();
    if (counted)
      atomic_fetch_add_explicit(&rt->spinning, 1, memory_order_relaxed);
    if (spin(w, until)) {
      /* seq_cst: on weak-memory CPUs our later reads of the injection
       * queue (the batch, the hand-on in ax__worker_run) must not miss a
       * push whose waker saw us spinning and skipped the unpark. */
      if (counted) atomic_fetch_sub(&rt->spinning, 1);
      goto out;
    }
  }
  /* Idle, then no longer spinning, then the fence and the last look (see
   * ax__schedule for the other side). */
  atomic_store(&w->parked, 1);
  if (!w->is_driver) atomic_fetch_add(&rt->idle, 1);
  if (counted) atomic_fetch_sub(&rt->spinning, 1);
  ax__fence();
  if (!has_work(w, 2) && !finished(w, until)) {
    stat_inc(&w->parks);
    uv_run(w->loop, UV_RUN_ONCE);
    /* Woken, most often for work: a new spin window. */
    if (multi) w->spin_from = uv_hrtime();
  }
  atomic_store(&w->parked, 0);
  if (!w->is_driver) atomic_fetch_sub(&rt->idle, 1);
out:
  if (w->is_driver)
    atomic_store_explicit(&rt->driver_busy, 1, memory_order_relaxed);
}

/* 0 when a uv_run(UV_RUN_NOWAIT) turn of w's loop would find nothing to
 * do: its only active handle is axle's own wake-up (the wheel's timer is
 * not armed), no request is in flight (blocking drainers, the user's
 * fs requests) and no op waits in the mailbox.  Then the turn is only an
 * epoll_wait(0) system call, which every event_interval ticks was 25 % of
 * yield_many.  Reads the public counters of uv_loop_t (part of libuv 1.x's
 * ABI), on the loop's own thread.  A loop the application owns is always
 * polled: its handles are not ours to reason about. */
static int loop_has_work(ax__worker_t *w) {
  uv_loop_t *l = w->loop;
  if (l != &w->loop_storage) return 1;
  if (l->active_handles > 1 || l->active_reqs.count != 0) return 1;
  return atomic_load_explicit(&w->mail_pending, memory_order_relaxed) != 0;
}

/* The run loop, compiled twice with `watch` a constant: the loop without
 * a watchdog has no trace of it (a branch per poll measured 2-3 % on
 * yield_many). */
static RUN_LOOP_INLINE void run_loop(ax__worker_t *w, ax__task_t *until,
                                     int watch) {
  ax_runtime_t *rt = w->rt;
  while (!finished(w, until)) {
    ax__task_t *t = next_task(w);
    if (t == NULL) {
      park(w, until);
      continue;
    }
    if (w->idle_since != 0) {
      /* Back from idle with work: the idle period counts towards the
       * spin's average now, not at a false alarm.  Wakers skipped
       * unparking others while we spun; if we found more than this task,
       * hand some on. */
      note_wait(w, w->idle_since);
      w->idle_since = 0;
      if (rt->nworkers > 1 && !w->is_driver &&
          (ax__lq_len(&w->q) != 0 || ax__inject_len(&rt->inject) != 0))
        ax__notify_parked(rt);
    }
    w->tick++;
    if (watch) {
      ax__watch_begin(w, t);
      ax__task_run_watched(w, t);
      ax__watch_end(w, NULL);  /* t may be gone: a no-op if it has ended */
    } else {
      stat_inc(&w->polls);
      ax__task_run(w, t);
    }
    /* Busy workers still poll I/O and timers every event_interval ticks. */
    if (--w->until_io == 0) {
      w->until_io = rt->event_interval;
      if (loop_has_work(w)) {
        stat_inc(&w->io_polls);
        uv_run(w->loop, UV_RUN_NOWAIT);
      }
    }
  }
}

static RUN_LOOP_OUTLINE void run_loop_plain(ax__worker_t *w,
                                            ax__task_t *until) {
  run_loop(w, until, 0);
}

static RUN_LOOP_OUTLINE void run_loop_watched(ax__worker_t *w,
                                              ax__task_t *until) {
  run_loop(w, until, 1);
}

void ax__worker_run(ax__worker_t *w, ax__task_t *until) {
  ax__worker_t *volatile prev = ax__worker_current();
  ax__jump_t *volatile prev_jump = ax__jump_current();
  int watch = w->rt->watchdog_ns != 0;

  ax__worker_set_current(w);
  ax__jump_set(&w->jump);
  w->idle_since = 0;
  if (setjmp(w->jump.jb) != 0) {
    /* ax_panic() inside a poll landed here: finish that task, then back
     * into the loop (it keeps no state of its own across polls). */
    ax__task_t *t = w->current;
    char *msg = w->jump.msg;
    w->current = NULL;
    w->jump.msg = NULL;
    w->jump.armed = 0;
    if (watch) ax__watch_end(w, t);
    ax__task_panicked(w, t, msg);
  }
  if (watch)
    run_loop_watched(w, until);
  else
    run_loop_plain(w, until);
  ax__jump_set(prev_jump);
  ax__worker_set_current(prev);
}
