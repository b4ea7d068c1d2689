/* Internal: the poll context, the one seam between the scheduler and the
 * code that runs on it.
 *
 * Every thread that runs an axle loop (a worker, block_on's driver) has an
 * ax__ctx_t, embedded in its worker struct and filled in by runtime/: its
 * runtime, its loop and timing wheel, the task it is polling and that
 * poll's cooperative budget.  The task harness, coop (task/coop.h) and the
 * leaf futures of time/, sync/ and io/ learn all they need about "where am
 * I running" here, never from the worker or runtime structs.
 *
 * Two ways in: a poll's ax_cx_t carries its thread's context (cx->ax__ctx,
 * NULL when a future is polled by hand), and ax__ctx_current() gives the
 * calling thread's (NULL on threads that run no axle loop).  Only the
 * owning thread touches its context.
 */
#ifndef AX_CORE_CONTEXT_H
#define AX_CORE_CONTEXT_H

#include <stdatomic.h>

#include "axle/leaf.h"
#include "axle/task.h"
#include "core/jump.h"
#include "core/tls.h"

struct ax__task_s;
struct ax__wheel_s;
struct ax__tcache_s;

/* Where a task last suspended: written by the thread polling it (the
 * await macros, through cx->ax__wait), read by task dumps from any thread
 * (relaxed: a dump may pair a new file with an old line, never tear
 * either).  Embedded in the task. */
typedef struct ax__wait_s {
  _Atomic(const char *) file;  /* __FILE__ of the await, or NULL */
  _Atomic int line;            /* its __LINE__; 0: not suspended yet */
} ax__wait_t;

/* An operation handed to a loop's thread (the home-loop rule: every uv
 * call on a handle happens on its loop's thread): the public
 * ax_home_op_t of <axle/leaf.h>. */
typedef ax_home_op_t ax__op_t;

/* An object with libuv handles on a loop (an I/O object, a listener):
 * linked in its home's list while open, so that closing the loop can
 * close what its owner never closed (release, on the closing thread). */
typedef struct ax__homed_s {
  ax__link_t link;                        /* in the home's `homed` list */
  void (*release)(struct ax__homed_s *h); /* close its handles now */
} ax__homed_t;

typedef struct ax__ctx_s ax__ctx_t;
struct ax__ctx_s {
  int budget;                  /* coop units left in this poll (coop.h);
                                  negative: unconstrained */
  int yielded;                 /* the task being polled asked to yield */
  int io_wakes;                /* 1 while the worker's loop runs its
                                  callbacks: a task they wake has its I/O
                                  on this loop (runtime/sched.c); the
                                  wheel clears it while it fires timers */
  _Atomic(struct ax__task_s *) task;  /* the task being polled, or NULL:
                                  written by the owner (relaxed stores,
                                  plain moves), read by a shutdown on
                                  another thread to tell a worker stuck
                                  in a poll from one on its way out */
  ax_runtime_t *rt;            /* the runtime this thread works for */
  uv_loop_t *loop;             /* this thread's loop */
  struct ax__wheel_s *wheel;   /* that loop's timers (time/wheel.h) */
  struct ax__tcache_s *tcache; /* this thread's free task blocks
                                  (runtime/task/cache.h) */
  ax__jump_t jump;             /* where a panic in a poll here lands */
  ax__ctx_t *home;             /* where I/O made on this thread lives: this
                                  worker, or for block_on's thread of a
                                  multi-thread runtime a worker (its own
                                  loop runs only while block_on does) */
  void (*post)(ax__ctx_t *c, ax__op_t *op);  /* runs op on c's thread */
  ax__ctx_t *const *homes;     /* the runtime's workers' contexts (the
                                  homes I/O may spread over) */
  unsigned nhomes;             /* entries in homes */
  ax__link_t homed;            /* ax__homed_t open on this loop (home
                                  thread only) */
};

/* The id of the task whose code the calling thread runs outside any
 * worker's poll (a blocking job on a pool thread, a drop run by a
 * shutdown), or 0: ax_task_id() looks here first (context.c). */
extern AX__TLS uint64_t ax__tls_task_id;

/* The task-local scopes entered on the calling thread (innermost first),
 * or NULL between polls (task/tasklocal.c).  A panic skips the scopes'
 * exits: each landing pad puts back the value it saw before the poll. */
extern AX__TLS ax__tl_frame_t *ax__tls_locals;

/* The calling thread's context, or NULL: read inline (the scheduler asks
 * on every wake), written by the worker entering and leaving its loop. */
extern AX__TLS ax__ctx_t *ax__tls_ctx;   /* context.c */
static inline ax__ctx_t *ax__ctx_current(void) { return ax__tls_ctx; }
static inline void ax__ctx_set(ax__ctx_t *c) { ax__tls_ctx = c; }

static inline void ax__wait_set(ax__wait_t *w, const char *file, int line) {
  atomic_store_explicit(&w->file, file, memory_order_relaxed);
  atomic_store_explicit(&w->line, line, memory_order_relaxed);
}
static inline int ax__wait_line(ax__wait_t *w) {
  return atomic_load_explicit(&w->line, memory_order_relaxed);
}
static inline const char *ax__wait_file(ax__wait_t *w) {
  return atomic_load_explicit(&w->file, memory_order_relaxed);
}

/* ---- the cooperative budget (Tokio's coop) ------------------------------
 *
 * Every poll of a task starts with AX__COOP_BUDGET units in its context.
 * Each leaf future that can complete without waiting (a channel receive
 * with a value queued, an uncontended lock, a timer already due, a finished
 * join handle) takes one unit first; when none is left it makes the task
 * yield and returns AX_PENDING, so the task goes to the back of the run
 * queue and the worker's other tasks, its timers and its I/O get their
 * turn.  A loop whose awaits are always ready therefore yields every 128
 * operations instead of never.  A leaf that takes a unit and then finds it
 * must wait anyway gives the unit back (ax__coop_refund): waiting is
 * already a yield.  Polls outside a worker (no cx->ax__ctx: a user's own
 * executor) are unconstrained, as is a context whose budget is
 * AX__COOP_UNLIMITED (ax_unconstrained).  The public face is task/coop.c.
 */
#define AX__COOP_BUDGET 128
#define AX__COOP_UNLIMITED (-1)

/* The polled task gives its worker up once (AX_YIELD, ax_yield_now, a
 * spent budget): on a worker, a flag its poller reads when the poll
 * returns (no atomic); elsewhere, a plain wake. */
static inline void ax__cx_yield(ax_cx_t *cx) {
  ax__ctx_t *c = cx->ax__ctx;
  if (c != NULL)
    c->yielded = 1;
  else
    ax_waker_wake_by_ref(cx->waker);
}

/* 1: proceed (one unit used); 0: the budget is spent and the task will
 * run again later: return AX_PENDING without side effects. */
static inline int ax__coop_proceed(ax_cx_t *cx) {
  ax__ctx_t *c = cx->ax__ctx;
  if (c == NULL || c->budget < 0) return 1;
  if (c->budget == 0) {
    ax__cx_yield(cx);
    return 0;
  }
  c->budget--;
  return 1;
}

/* The operation that took a unit is going to wait after all. */
static inline void ax__coop_refund(ax_cx_t *cx) {
  ax__ctx_t *c = cx->ax__ctx;
  if (c != NULL && c->budget >= 0) c->budget++;
}

#endif
