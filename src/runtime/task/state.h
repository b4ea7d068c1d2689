/* Internal: the task state word and every transition of it.
 *
 * One atomic word per task: six flags and, above them, the reference
 * count, so that every transition is a single compare-and-swap (the scheme
 * of Tokio's task/state.rs).  Each transition below is the only place its
 * change is made, and says what the caller must do next; the harness
 * (harness.c, join.c) then reads as a table of outcomes.
 */
#ifndef AX_RUNTIME_TASK_STATE_H
#define AX_RUNTIME_TASK_STATE_H

#include <stdatomic.h>
#include <stddef.h>

/* A worker (or a pool thread that claimed it) is polling or finishing it. */
#define AX__RUNNING       ((size_t)1)
/* Finished: completed, cancelled or panicked; the result is final. */
#define AX__COMPLETE      ((size_t)2)
/* Queued, or to be queued again when the running poll ends. */
#define AX__NOTIFIED      ((size_t)4)
/* Abort requested: the next poll cancels instead of polling. */
#define AX__CANCELLED     ((size_t)8)
/* A join handle exists (its reference is counted below). */
#define AX__JOIN_INTEREST ((size_t)16)
/* The task's join_waker slot belongs to the task (it wakes it at
 * completion); clear: it belongs to the join handle, which may write it. */
#define AX__JOIN_WAKER    ((size_t)32)
/* One reference; the count is state >> AX__REF_SHIFT. */
#define AX__REF_ONE       ((size_t)64)
#define AX__REF_SHIFT     6

typedef _Atomic size_t ax__state_t;

#define AX__CAS(st, s, n)                                                  \
  atomic_compare_exchange_weak_explicit((st), &(s), (n),                    \
                                        memory_order_acq_rel,               \
                                        memory_order_acquire)

static inline size_t ax__state_load(ax__state_t *st) {
  return atomic_load_explicit(st, memory_order_acquire);
}

/* A new task: references for the owned list and the notification (+ the
 * join handle); notified = 0 for an idle task nobody has queued yet (a
 * blocking job's, whose notification reference its spawner keeps). */
static inline void ax__state_init(ax__state_t *st, int join, int notified) {
  size_t refs = 2 + (join ? 1 : 0);
  atomic_init(st, (notified ? AX__NOTIFIED : 0) |
                      (join ? AX__JOIN_INTEREST : 0) | refs * AX__REF_ONE);
}

/* ---- references ---------------------------------------------------------- */

static inline void ax__state_ref_inc(ax__state_t *st) {
  atomic_fetch_add_explicit(st, AX__REF_ONE, memory_order_relaxed);
}

/* Drops n references; 1 when they were the last (free the task). */
static inline int ax__state_ref_dec(ax__state_t *st, size_t n) {
  size_t prev = atomic_fetch_sub_explicit(st, n * AX__REF_ONE,
                                          memory_order_acq_rel);
  return (prev >> AX__REF_SHIFT) == n;
}

/* ---- polling ------------------------------------------------------------- */

typedef enum {
  AX__TO_RUNNING_OK,         /* poll it */
  AX__TO_RUNNING_CANCELLED,  /* aborted: cancel it instead */
  AX__TO_RUNNING_COMPLETE    /* cancelled at shutdown while queued: only
                                drop the notification reference */
} ax__to_running_t;

/* Notified -> running, by the worker that dequeued it. */
static inline ax__to_running_t ax__state_to_running(ax__state_t *st) {
  size_t s = ax__state_load(st), n;
  do {
    if (s & AX__COMPLETE) return AX__TO_RUNNING_COMPLETE;
    n = (s & ~AX__NOTIFIED) | AX__RUNNING;
  } while (!AX__CAS(st, s, n));
  return (n & AX__CANCELLED) ? AX__TO_RUNNING_CANCELLED : AX__TO_RUNNING_OK;
}

typedef enum {
  AX__TO_IDLE_OK,            /* idle; the notification reference is gone */
  AX__TO_IDLE_NOTIFIED,      /* woken during the poll, or it yielded: queue
                                it again with the notification reference */
  AX__TO_IDLE_CANCELLED      /* aborted during the poll: cancel it */
} ax__to_idle_t;

/* Running -> idle after a pending poll. */
static inline ax__to_idle_t ax__state_to_idle(ax__state_t *st, int yielded) {
  size_t s = ax__state_load(st), n;
  do {
    if (s & AX__CANCELLED) return AX__TO_IDLE_CANCELLED;
    if ((s & AX__NOTIFIED) || yielded)
      n = (s & ~AX__RUNNING) | AX__NOTIFIED;
    else
      n = (s & ~AX__RUNNING) - AX__REF_ONE;  /* the owned list still holds
                                                one: not the last */
  } while (!AX__CAS(st, s, n));
  return (n & AX__NOTIFIED) ? AX__TO_IDLE_NOTIFIED : AX__TO_IDLE_OK;
}

/* Running -> complete (the result is written before).  Returns the state
 * before: JOIN_INTEREST and JOIN_WAKER say whom to tell. */
static inline size_t ax__state_to_complete(ax__state_t *st) {
  size_t s = atomic_load_explicit(st, memory_order_relaxed);
  while (!AX__CAS(st, s, (s & ~AX__RUNNING) | AX__COMPLETE)) {
  }
  return s;
}

/* Idle -> running, for a task finished outside any poll (a blocking job):
 * 1 when claimed; 0 when it is queued, being polled or complete. */
static inline int ax__state_claim(ax__state_t *st) {
  size_t s = ax__state_load(st);
  do {
    if (s & (AX__COMPLETE | AX__RUNNING | AX__NOTIFIED)) return 0;
  } while (!AX__CAS(st, s, s | AX__RUNNING));
  return 1;
}

typedef enum {
  AX__SHUTDOWN_CLAIMED,      /* now running: cancel it */
  AX__SHUTDOWN_COMPLETE,     /* finished already: nothing to do */
  AX__SHUTDOWN_BUSY          /* a pool thread claimed it and is finishing */
} ax__shutdown_t;

/* Any -> running for the runtime's shutdown, when no worker runs: RUNNING
 * can then only mean a pool thread's claim. */
static inline ax__shutdown_t ax__state_shutdown(ax__state_t *st) {
  size_t s = ax__state_load(st);
  do {
    if (s & AX__COMPLETE) return AX__SHUTDOWN_COMPLETE;
    if (s & AX__RUNNING) return AX__SHUTDOWN_BUSY;
  } while (!AX__CAS(st, s, s | AX__RUNNING));
  return AX__SHUTDOWN_CLAIMED;
}

/* ---- waking and aborting --------------------------------------------------- */

typedef enum {
  AX__NOTIFY_DONE,           /* nothing more to do */
  AX__NOTIFY_DROP_REF,       /* drop the caller's reference (by value) */
  AX__NOTIFY_SUBMIT          /* schedule it; the caller's reference (by
                                value) or a new one (by ref, abort) is its
                                notification */
} ax__notify_t;

/* A wake that consumes the caller's reference. */
static inline ax__notify_t ax__state_notify_by_val(ax__state_t *st) {
  size_t s = ax__state_load(st), n;
  do {
    if (s & (AX__COMPLETE | AX__NOTIFIED)) return AX__NOTIFY_DROP_REF;
    if (s & AX__RUNNING)  /* its poller re-queues it; our reference goes */
      n = (s | AX__NOTIFIED) - AX__REF_ONE;
    else
      n = s | AX__NOTIFIED;
  } while (!AX__CAS(st, s, n));
  return (s & AX__RUNNING) ? AX__NOTIFY_DONE : AX__NOTIFY_SUBMIT;
}

/* A wake that keeps the caller's reference. */
static inline ax__notify_t ax__state_notify_by_ref(ax__state_t *st) {
  size_t s = ax__state_load(st), n;
  do {
    if (s & (AX__COMPLETE | AX__NOTIFIED)) return AX__NOTIFY_DONE;
    if (s & AX__RUNNING)
      n = s | AX__NOTIFIED;
    else
      n = (s | AX__NOTIFIED) + AX__REF_ONE;
  } while (!AX__CAS(st, s, n));
  return (s & AX__RUNNING) ? AX__NOTIFY_DONE : AX__NOTIFY_SUBMIT;
}

/* Abort: mark it cancelled; an idle task is queued so that a worker
 * cancels it (a running or queued one is cancelled by its next poll). */
static inline ax__notify_t ax__state_notify_cancel(ax__state_t *st) {
  size_t s = ax__state_load(st), n;
  do {
    if (s & (AX__COMPLETE | AX__CANCELLED)) return AX__NOTIFY_DONE;
    if (s & (AX__RUNNING | AX__NOTIFIED))
      n = s | AX__CANCELLED;
    else
      n = (s | AX__CANCELLED | AX__NOTIFIED) + AX__REF_ONE;
  } while (!AX__CAS(st, s, n));
  return (s & (AX__RUNNING | AX__NOTIFIED)) ? AX__NOTIFY_DONE
                                            : AX__NOTIFY_SUBMIT;
}

/* ---- the join handle's waker slot ------------------------------------------ */

/* The handle takes the slot back to replace its waker: 0 done (the slot is
 * the handle's), 1 the task completed first (read the result instead). */
static inline int ax__state_unset_join_waker(ax__state_t *st) {
  size_t s = ax__state_load(st);
  do {
    if (s & AX__COMPLETE) return 1;
  } while (!AX__CAS(st, s, s & ~AX__JOIN_WAKER));
  return 0;
}

/* The handle gives the slot (with its waker written) to the task: 0 done,
 * 1 the task completed first (it will not wake: read the result now). */
static inline int ax__state_set_join_waker(ax__state_t *st) {
  size_t s = ax__state_load(st);
  do {
    if (s & AX__COMPLETE) return 1;
  } while (!AX__CAS(st, s, s | AX__JOIN_WAKER));
  return 0;
}

/* The join handle goes away.  Returns the state before. */
static inline size_t ax__state_drop_join_interest(ax__state_t *st) {
  return atomic_fetch_and_explicit(st, ~AX__JOIN_INTEREST,
                                   memory_order_acq_rel);
}

#endif
