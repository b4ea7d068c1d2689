/* Internal: the task header and its state word.
 *
 * One allocation holds the header and a copy of the spawned future.  The
 * state word packs the lifecycle flags and the reference count, so every
 * transition is one compare-and-swap (the scheme of Tokio's task state).
 *
 * References: the owned list (until the task completes), the join handle
 * (until ax_join_drop), each waker clone, and the "notification" held by
 * whoever has the task queued or is polling it.  The task is freed when the
 * count reaches zero, on whichever thread drops the last one.
 */
#ifndef AX_TASK_TASK_H
#define AX_TASK_TASK_H

#include <stdatomic.h>
#include <string.h>

#include "axle/runtime.h"

#define AX__RUNNING       ((size_t)1)   /* a worker is polling it */
#define AX__COMPLETE      ((size_t)2)   /* future finished, cancelled or panicked */
#define AX__NOTIFIED      ((size_t)4)   /* queued, or to re-queue after this poll */
#define AX__CANCELLED     ((size_t)8)   /* abort requested */
#define AX__JOIN_INTEREST ((size_t)16)  /* a join handle exists */
#define AX__JOIN_WAKER    ((size_t)32)  /* join_waker belongs to the runtime */
#define AX__REF_ONE       ((size_t)64)
#define AX__REF_SHIFT     6
#define AX__FLAGS         (AX__REF_ONE - 1)

typedef struct ax__worker_s ax__worker_t;

struct ax__task_s {
  ax_waker_t waker;              /* the task's waker: a counted reference */
  _Atomic size_t state;          /* flags | refcount << AX__REF_SHIFT */
  ax__task_t *owned_prev;        /* owned list links (shard lock) */
  ax__task_t *owned_next;
  ax_runtime_t *rt;              /* runtime that schedules it */
  struct ax__tremote_s *home;    /* tcache.h: the cache the block goes
                                    back to (of rt), or NULL: malloc */
  ax_waker_t *join_waker;        /* who awaits the join handle */
  char *panic_msg;               /* set before COMPLETE when panicked */
  char *name;                    /* owned copy, or NULL */
  /* Where the task last suspended: written by the thread polling it, read
   * by ax_runtime_dump_tasks from any thread (relaxed: a dump may pair a
   * new file with an old line, never tear either). */
  _Atomic(const char *) wait_file;
  uint64_t id;                   /* unique per runtime, from 1 */
  _Atomic int wait_line;
  int result;                    /* 0, AX_ECANCELED, AX_EPANIC; written
                                    before COMPLETE */
  uint32_t out_off;              /* output offset inside the future */
  uint8_t shard;                 /* owned-list shard */
  uint8_t dropped;               /* future's drop already ran */
  uint8_t is_main;               /* block_on's future (not ours to free) */
  uint8_t tclass;                /* tcache.h: size class + 1, 0: malloc */
  max_align_t storage[];         /* the spawned future; for block_on's
                                    task, a pointer to the caller's */
};

static inline int ax__task_wait_line(ax__task_t *t) {
  return atomic_load_explicit(&t->wait_line, memory_order_relaxed);
}
static inline const char *ax__task_wait_file(ax__task_t *t) {
  return atomic_load_explicit(&t->wait_file, memory_order_relaxed);
}
static inline void ax__task_set_wait(ax__task_t *t, const char *file,
                                     int line) {
  atomic_store_explicit(&t->wait_file, file, memory_order_relaxed);
  atomic_store_explicit(&t->wait_line, line, memory_order_relaxed);
}

/* The task's future (ax__task_fut): inline, or block_on's borrowed one. */
static inline ax_future_t *ax__task_fut(ax__task_t *t) {
  ax_future_t *f;
  if (!t->is_main) return (ax_future_t *)(void *)t->storage;
  memcpy(&f, t->storage, sizeof(f));  /* no aliasing games */
  return f;
}

/* Creates a task for fut (copied when size > 0, else borrowed: block_on)
 * with refs for: owned list, notification, and join handle if `join`. */
ax__task_t *ax__task_new(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                         uint32_t out_off, int join);
/* Polls the task once; the caller hands over the notification ref. */
void ax__task_run(ax__worker_t *w, ax__task_t *t);
/* The same for a worker with a watchdog (runtime/watchdog.c): reports the
 * end of the poll while the task is still alive. */
void ax__task_run_watched(ax__worker_t *w, ax__task_t *t);
/* The worker's jump target caught a panic while polling t. */
void ax__task_panicked(ax__worker_t *w, ax__task_t *t, char *msg);
/* Shutdown: cancel t if it is not complete (no worker is running).
 * Returns 1 when a pool thread is finishing it right now (claimed): it
 * leaves the owned list by itself in a moment. */
int ax__task_shutdown(ax__task_t *t);
void ax__task_drop_ref(ax__task_t *t);
/* For a task whose future finishes outside any poll (a blocking job):
 * claim it as a poller would (1), unless it is queued, being polled or
 * complete (0).  A claimed task is then finished with ax__task_finish,
 * which completes it with `result` (AX_EPANIC: t->panic_msg set first)
 * and drops the owned list's reference and the caller's. */
int ax__task_claim(ax__task_t *t);
void ax__task_finish(ax__task_t *t, int result);
void ax__task_wake_by_ref(ax__task_t *t);

static inline size_t ax__task_state(ax__task_t *t) {
  return atomic_load_explicit(&t->state, memory_order_acquire);
}

#endif
