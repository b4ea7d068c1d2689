/* A worker: its loop, its run loop, and stealing.  How it waits when it
 * has nothing to do is idle.c; where the tasks it wakes go is sched.c. */
#include <string.h>

#include "runtime/idle.h"
#include "runtime/pump.h"
#include "runtime/watch.h"
#include "time/wheel.h"

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

/* ---- the loop and the mailbox ------------------------------------------ */

static void run_mailbox(ax__worker_t *w) {
  unsigned n = ax__mailbox_run(&w->mail);
  if (n != 0)
    atomic_store_explicit(
        &w->hops, atomic_load_explicit(&w->hops, memory_order_relaxed) + n,
        memory_order_relaxed);
}

/* A wake-up ends uv_run; besides, it delivers the mailbox.  On a loop the
 * application runs itself, it is also how tasks get to run (pump.c). */
static void woken(void *arg) {
  ax__worker_t *w = arg;
  run_mailbox(w);
  if (ax__worker_on_user_loop(w)) ax__pump_woken(w);
}

void ax__worker_post(ax__worker_t *w, ax__op_t *op) {
  if (ax__worker_current() == w) {
    op->fn(op);
    return;
  }
  ax__mailbox_post(&w->mail, op);
  ax__worker_wake(w);
}

static void ctx_post(ax__ctx_t *c, ax__op_t *op) {
  ax__worker_post(ax__container_of(c, ax__worker_t, ctx), op);
}

int ax__worker_init(ax__worker_t *w, ax_runtime_t *rt, unsigned index,
                    uv_loop_t *user_loop) {
  int rc;
  memset(w, 0, sizeof(*w));
  w->ctx.rt = rt;
  w->ctx.tcache = &w->tcache;
  w->ctx.home = &w->ctx;        /* the driver's is set by ax_runtime_new */
  w->ctx.post = ctx_post;
  ax__list_init(&w->ctx.homed);
  w->index = index;
  w->rng = index * 2654435761u + 0x9e3779b9u;
  w->until_global = rt->global_queue_interval;
  w->until_io = rt->event_interval;
  ax__lq_init(&w->q);
  ax__mailbox_init(&w->mail);
  ax__tcache_init(&w->tcache);
  atomic_init(&w->main_notified, 0);
  atomic_init(&w->parked, 0);
  if (user_loop != NULL) {
    w->ctx.loop = user_loop;
  } else {
    w->ctx.loop = &w->loop_storage;
    if ((rc = uv_loop_init(w->ctx.loop)) != 0) return rc;
  }
  if ((rc = ax__wake_init(&w->wake, w->ctx.loop, woken, w)) != 0) goto err;
  w->ctx.wheel = ax__wheel_new(w->ctx.loop);
  if (w->ctx.wheel == NULL) {
    ax__wake_close(&w->wake, NULL, NULL);
    uv_run(w->ctx.loop, user_loop != NULL ? UV_RUN_NOWAIT : UV_RUN_DEFAULT);
    rc = AX_ENOMEM;
    goto err;
  }
  if (user_loop != NULL) {
    /* The application's uv_run(UV_RUN_DEFAULT) must return once its own
     * handles are done: axle's wake-up and timer never keep it running
     * (they are ref'd only while ax_block_on parks in that loop). */
    ax__wake_set_ref(&w->wake, 0);
    ax__wheel_unref(w->ctx.wheel);
  }
  return 0;
err:
  if (user_loop == NULL) uv_loop_close(w->ctx.loop);
  return rc;
}

/* The wake-up's close callback on the application's loop: the runtime's
 * memory (the worker, its wake-up inside) may go now. */
static void wake_closed(void *arg) { ax__runtime_release(arg); }

void ax__worker_close(ax__worker_t *w, int defer) {
  ax__link_t *l;
  ax__mailbox_run(&w->mail);  /* the closing thread owns every loop now */
  /* What nobody closed (a stream held outside any task) is closed now, so
   * that the loop can end; its owner's later close only frees it. */
  while ((l = ax__list_first(&w->ctx.homed)) != NULL) {
    ax__list_remove(l);
    ax__container_of(l, ax__homed_t, link)->release(
        ax__container_of(l, ax__homed_t, link));
  }
  ax__tcache_drain_lists(&w->tcache);
  ax__wheel_close(w->ctx.wheel);
  if (w->ctx.loop == &w->loop_storage) {
    ax__wake_close(&w->wake, NULL, NULL);
    uv_run(w->ctx.loop, UV_RUN_DEFAULT);
    uv_loop_close(w->ctx.loop);
  } else if (defer) {
    /* The application's loop, maybe inside one of its callbacks, where
     * uv_run must not nest: the close callbacks run in its next turn (as
     * libuv asks of every closed handle), and the wake-up's keeps the
     * runtime's memory until then (the wheel frees itself). */
    atomic_fetch_add(&w->ctx.rt->refs, 1);
    ax__wake_close(&w->wake, wake_closed, w->ctx.rt);
  } else {
    /* ax_runtime_new failing: one turn runs our close callbacks. */
    ax__wake_close(&w->wake, NULL, NULL);
    uv_run(w->ctx.loop, UV_RUN_NOWAIT);
  }
}

/* ---- finding the next task ---------------------------------------------- */

/* Moves up to max tasks from the injection queue into w's local queue and
 * returns one more to run now. */
static ax__task_t *inject_pop_batch(ax__worker_t *w, uint32_t max) {
  ax__task_t *v[AX__LQ_CAP + 1];
  ax_runtime_t *rt = w->ctx.rt;
  uint32_t room;
  size_t n, i;
  if (ax__inject_len(&rt->inject) == 0) return NULL;
  room = ax__lq_room(&w->q);
  if (max > room) max = room;
  n = ax__inject_pop_n(&rt->inject, v, (size_t)max + 1);
  if (n == 0) return NULL;
  for (i = 1; i < n; i++) ax__lq_push(&w->q, v[i]);  /* room checked */
  return v[0];
}

static ax__task_t *steal(ax__worker_t *w) {
  ax_runtime_t *rt = w->ctx.rt;
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
  ax_runtime_t *rt = w->ctx.rt;
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
    t = inject_pop_batch(w, (uint32_t)(len / rt->nworkers) + 1);
    if (t != NULL) return t;
  }
  if (w->lifo != NULL) {
    t = w->lifo;
    w->lifo = NULL;
    if (w->lifo_streak < MAX_LIFO_POLLS) {
      w->lifo_streak++;
      return t;
    }
    ax__worker_push_back(w, t);  /* a chain of wakes must not starve the queue */
  }
  w->lifo_streak = 0;
  t = rt->nworkers == 1 ? ax__lq_pop_unshared(&w->q) : ax__lq_pop(&w->q);
  if (t != NULL) return t;
  if ((t = inject_pop_batch(w, INJECT_BATCH)) != NULL) return t;
  return steal(w);
}

/* ---- the run loop -------------------------------------------------------- */

/* Out of tasks on a paused clock (builder.start_paused; time/wheel.h):
 * rather than sleep, let the clock jump to the next timer, as Tokio's
 * auto-advance does.  What is ready in the loop comes first (one
 * uv_run(NOWAIT): I/O, finished requests, the mailbox); while a libuv
 * request is in flight (a blocking job's drainer, a file operation, a
 * DNS lookup, a connect) time stands still and the worker parks for real
 * until it ends, so a timeout around such work cannot fire just because
 * the work is done on another thread.  Returns 1 when tasks may be
 * runnable now. */
static int paused_advance(ax__worker_t *w) {
  uv_loop_t *l = w->ctx.loop;
  ax_runtime_t *rt = w->ctx.rt;
  uv_run(l, UV_RUN_NOWAIT);
  if (ax__lq_len(&w->q) != 0 || ax__inject_len(&rt->inject) != 0) return 1;
  if (l->active_reqs.count != 0 || ax__mailbox_pending(&w->mail)) return 0;
  return ax__wheel_advance_next(w->ctx.wheel) != 0;
}

/* Out of tasks: park, or on a paused clock first let time jump.  Out of
 * line, so the run loop makes the one call it always made here (the
 * paused check inline cost a register in the loop: +1 instruction per
 * poll, yield_many +0.5 % under callgrind). */
static RUN_LOOP_OUTLINE void idle(ax__worker_t *w, ax__task_t *until) {
  if (ax__wheel_is_paused(w->ctx.wheel) && paused_advance(w)) return;
  ax__idle_park(w, until);
}

/* The run loop, compiled twice with `watch` a constant: the loop without
 * a watchdog has no trace of it (a branch per poll measured 2-3 % on
 * yield_many). */
static RUN_LOOP_INLINE void run_loop(ax__worker_t *w, ax__task_t *until,
                                     int watch) {
  ax_runtime_t *rt = w->ctx.rt;
  while (!ax__worker_finished(w, until)) {
    ax__task_t *t = next_task(w);
    if (t == NULL) {
      if (ax__worker_shut(w, until)) break;
      idle(w, until);
      continue;
    }
    if (w->idle_since != 0) ax__idle_end(w);
    w->tick++;
    if (watch) {
      ax__watch_begin(w, t);
      ax__task_run_watched(&w->ctx, t);
      ax__watch_end(w, NULL);  /* t may be gone: a no-op if it has ended */
    } else {
      stat_inc(&w->polls);
      ax__task_run(&w->ctx, t);
    }
    /* Busy workers still poll I/O and timers every event_interval ticks. */
    if (--w->until_io == 0) {
      w->until_io = rt->event_interval;
      if (ax__worker_shut(w, until)) break;
      if (ax__worker_loop_has_work(w)) {
        stat_inc(&w->io_polls);
        ax__worker_run_io(w, UV_RUN_NOWAIT);
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
  ax__ctx_t *volatile prev = ax__ctx_current();
  ax__jump_t *volatile prev_jump = ax__jump_current();
  ax__tl_frame_t *volatile prev_locals = ax__tls_locals;
  int watch = w->ctx.rt->watchdog_ns != 0;

  ax__ctx_set(&w->ctx);
  ax__jump_set(&w->ctx.jump);
  w->idle_since = 0;
  if (setjmp(w->ctx.jump.jb) != 0) {
    /* ax_panic() inside a poll landed here: finish that task, then back
     * into the loop (it keeps no state of its own across polls). */
    ax__task_t *t = atomic_load_explicit(&w->ctx.task, memory_order_relaxed);
    char *msg = w->ctx.jump.msg;
    /* The task-local scopes the panic unwound past (task/tasklocal.c). */
    ax__tls_locals = prev_locals;
    atomic_store_explicit(&w->ctx.task, NULL, memory_order_relaxed);
    w->ctx.jump.msg = NULL;
    w->ctx.jump.armed = 0;
    if (watch) ax__watch_end(w, t);
    ax__task_panicked(t, msg);
  }
  if (watch)
    run_loop_watched(w, until);
  else
    run_loop_plain(w, until);
  ax__jump_set(prev_jump);
  ax__ctx_set(prev);
}

/* ---- a pump: what is ready, never blocking ------------------------------ */

/* No park here, and uv_run only when the loop is the runtime's own: on the
 * application's loop this runs inside its uv_run (pump.c). */
static RUN_LOOP_OUTLINE void pump_loop(ax__worker_t *w, volatile unsigned *left,
                                       int run_io, int watch) {
  ax_runtime_t *rt = w->ctx.rt;
  while (*left > 0) {
    ax__task_t *t = next_task(w);
    if (t == NULL) return;
    (*left)--;
    w->tick++;
    if (watch) {
      ax__watch_begin(w, t);
      ax__task_run_watched(&w->ctx, t);
      ax__watch_end(w, NULL);
    } else {
      stat_inc(&w->polls);
      ax__task_run(&w->ctx, t);
    }
    if (--w->until_io == 0) {
      w->until_io = rt->event_interval;
      if (run_io) {
        stat_inc(&w->io_polls);
        uv_run(w->ctx.loop, UV_RUN_NOWAIT);
      }
    }
  }
}

unsigned ax__worker_pump(ax__worker_t *w, unsigned budget, int run_io) {
  ax__ctx_t *volatile prev = ax__ctx_current();
  ax__jump_t *volatile prev_jump = ax__jump_current();
  volatile unsigned left = budget;
  int watch = w->ctx.rt->watchdog_ns != 0;

  ax__ctx_set(&w->ctx);
  ax__jump_set(&w->ctx.jump);
  if (setjmp(w->ctx.jump.jb) != 0) {
    /* A panic in a poll (ax__worker_run's landing pad, same steps). */
    ax__task_t *t = w->ctx.task;
    char *msg = w->ctx.jump.msg;
    w->ctx.task = NULL;
    w->ctx.jump.msg = NULL;
    w->ctx.jump.armed = 0;
    if (watch) ax__watch_end(w, t);
    ax__task_panicked(t, msg);
    pump_loop(w, &left, run_io, watch);
  } else {
    run_mailbox(w);
    if (run_io) {
      /* Timers that are due, I/O that is ready and finished requests wake
       * their tasks here, into the local queue (this is a poll context). */
      stat_inc(&w->io_polls);
      uv_run(w->ctx.loop, UV_RUN_NOWAIT);
    }
    pump_loop(w, &left, run_io, watch);
  }
  ax__jump_set(prev_jump);
  ax__ctx_set(prev);
  return budget - left;
}
