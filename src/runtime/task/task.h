/* Internal: a task, and the harness's interface to the scheduler.
 *
 * One allocation holds the header below and a copy of the spawned future.
 * Its state word (state.h) packs the lifecycle flags and the reference
 * count.  References are held by: the owned list (until the task
 * completes), the join handle (until ax_join_drop), every waker clone, and
 * the "notification" of whoever has the task queued or is polling it.  The
 * last one frees the task, on whichever thread drops it.
 *
 * The harness (harness.c, join.c) knows the scheduler only through
 * runtime/sched.h; the scheduler drives tasks only through this header.
 */
#ifndef AX_RUNTIME_TASK_TASK_H
#define AX_RUNTIME_TASK_TASK_H

#include <stdatomic.h>
#include <string.h>

#include "axle/runtime.h"
#include "core/context.h"

struct ax__task_s {
  ax_waker_t waker;              /* the task's waker: a counted reference */
  _Atomic size_t state;          /* flags | refcount (state.h) */
  ax__link_t owned;              /* owned list (owned.h; its shard's lock) */
  ax_runtime_t *rt;              /* runtime that schedules it */
  struct ax__tremote_s *home;    /* cache.h: where the block goes back (a
                                    cache of rt's), or NULL: ax__free */
  ax_waker_t *join_waker;        /* who awaits the join handle (JOIN_WAKER) */
  union {
    char *panic_msg;             /* set before COMPLETE when panicked */
    struct ax__task_s *inject_next;  /* the next task on the injection
                                    queue's overflow list while this one
                                    is on it (inject.h): a queued task is
                                    not being completed, and the pop
                                    clears it, so never both */
  };
  char *name;                    /* owned copy, or NULL */
  const char *site;              /* "file:line" of the spawn call (a
                                    string literal: AX_HERE), or NULL */
  ax__wait_t wait;               /* the await it last suspended at */
  uint64_t id;                   /* unique per runtime, from 1 */
  int result;                    /* 0, AX_ECANCELED, AX_EPANIC; written
                                    before COMPLETE */
  uint8_t kind;                  /* AX__TASK_PLAIN, _MAIN or _VALUE, set
                                    at creation (one byte for what were
                                    is_main and a 32-bit out_off: the
                                    room `site` took) */
  uint8_t shard;                 /* owned-list shard (owned.h) */
  uint8_t dropped;               /* the future's drop has run */
  uint8_t tclass;                /* cache.h: size class + 1, 0: ax__free */
  max_align_t storage[];         /* the spawned future; for block_on's
                                    task, a pointer to the caller's */
};

/* kind: a task's future is its own (PLAIN), block_on's borrowed one
 * (MAIN: not ours to drop), or a value task's (VALUE: ax_spawn_fn,
 * ax_spawn_blocking), whose one value (ax_join_value) is the pointer right
 * after its ax_future_t, and whose future is dropped only when the task is
 * freed, so that its drop can release a value nobody took. */
#define AX__TASK_PLAIN 0
#define AX__TASK_LOCAL 1   /* a LocalSet's (runtime/local.c): its storage
                              begins with an ax__local_hdr_t, the future
                              follows at AX__LOCAL_PREFIX */
#define AX__TASK_VALUE 2
#define AX__TASK_MAIN 3
/* Numbered so that each hot test is one instruction: bit 0 set = not
 * inline at storage and not an ordinary schedule (LOCAL, MAIN); >= VALUE
 * = the future is kept at completion (VALUE, MAIN). */
#define AX__TASK_VALUE_OFF sizeof(ax_future_t)

/* What a local task keeps in front of its future: its set (counted) and
 * its link in the set's list of tasks (the set's lock). */
struct ax__local_shared_s;
typedef struct ax__local_hdr_s {
  struct ax__local_shared_s *set;
  ax__link_t link;
} ax__local_hdr_t;
#define AX__LOCAL_PREFIX                                                   \
  ((sizeof(ax__local_hdr_t) + sizeof(max_align_t) - 1) /                   \
   sizeof(max_align_t) * sizeof(max_align_t))

/* The header stays 112 bytes on 64-bit targets: the spawn site took the
 * room of is_main and out_off, folded into `kind`. */
AX__STATIC_ASSERT(sizeof(void *) != 8 ||
                      offsetof(struct ax__task_s, storage) == 112,
                  "the task header grew");

/* The largest future a task can hold: the header plus the copy is one
 * block, and its size must not wrap (the channels' bound on theirs). */
#define AX__TASK_MAX_FUTURE (SIZE_MAX / 2)

/* The task's future: inline, block_on's borrowed one, or a local task's
 * after its header.  (One compare on the common path, as before.) */
static inline ax_future_t *ax__task_fut(ax__task_t *t) {
  ax_future_t *f;
  if (!(t->kind & 1)) return (ax_future_t *)(void *)t->storage;
  if (t->kind == AX__TASK_LOCAL)
    return (ax_future_t *)(void *)((char *)t->storage + AX__LOCAL_PREFIX);
  memcpy(&f, t->storage, sizeof(f));  /* no aliasing games */
  return f;
}

static inline ax__local_hdr_t *ax__task_local_hdr(ax__task_t *t) {
  return (ax__local_hdr_t *)(void *)t->storage;
}

/* ---- life (harness.c) ----------------------------------------------------
 *
 * ax__task_new: a task of `kind` (AX__TASK_*; MAIN with size 0) for fut
 *   (copied when size > 0, at most
 *   AX__TASK_MAX_FUTURE bytes; else borrowed: the
 *   block_on future) in a block of the calling thread's cache `own`, or of
 *   the runtime's `shared` one when own is NULL (cache.h), with references for the owned list and the notification
 *   (and the join handle if `join`).  notified = 0 makes an idle task that
 *   nobody has queued (a blocking job); the caller still holds the
 *   notification reference.  NULL when out of memory.
 *   Its `site` is left for the caller to set (one store less per spawn).
 * ax__task_discard: frees a task that never ran and never got on the owned
 *   list (spawn failed after ax__task_new): the caller's copy of the future
 *   stays the caller's.
 * ax__task_run: polls t once on the calling worker, whose context is ctx;
 *   the caller hands over the notification reference.
 * ax__task_run_watched: the same, and tells the scheduler the poll ended
 *   while t is still alive (the watchdog's report, runtime/watch.h).
 * ax__task_panicked: the worker's jump target caught a panic while t was
 *   polled (msg is owned).
 * ax__task_shutdown: cancels t (no worker runs any more) unless it is
 *   complete; 1 when a pool thread is finishing it right now (it leaves
 *   the owned list by itself in a moment).
 * ax__task_claim / ax__task_finish: for a task whose future finishes
 *   outside any poll (a blocking job): claim it as a poller would (1),
 *   unless it is queued, being polled or complete (0); then finish it with
 *   `result` (AX_EPANIC: t->panic_msg set first), which drops the owned
 *   list's reference and the claimer's.
 */
struct ax__tcache_s;
struct ax__tcache_shared_s;
ax__task_t *ax__task_new(ax_runtime_t *rt, struct ax__tcache_s *own,
                         struct ax__tcache_shared_s *shared, uint64_t id,
                         ax_future_t *fut, size_t size, int kind,
                         int join, int notified);
void ax__task_discard(ax__task_t *t);
void ax__task_run(ax__ctx_t *ctx, ax__task_t *t);
void ax__task_run_watched(ax__ctx_t *ctx, ax__task_t *t);
/* Polls t (a local task) inside another task's poll on the same worker
 * (a LocalSet's): saves and restores the outer poll's context, and
 * catches t's panic itself (runtime/local.c). */
void ax__task_run_nested(ax__ctx_t *ctx, ax__task_t *t);
void ax__task_panicked(ax__task_t *t, char *msg);
int ax__task_shutdown(ax__task_t *t);
int ax__task_claim(ax__task_t *t);
void ax__task_finish(ax__task_t *t, int result);
void ax__task_ref(ax__task_t *t);
void ax__task_drop_ref(ax__task_t *t);
void ax__task_wake_by_ref(ax__task_t *t);
/* A snapshot of the state word (state.h's flags), for the run loop. */
static inline size_t ax__task_state(ax__task_t *t) {
  return atomic_load_explicit(&t->state, memory_order_acquire);
}

/* ---- join handles (join.c) ------------------------------------------- */

/* Binds a fresh join handle to t (which holds its reference). */
void ax__join_attach(ax_join_t *h, ax__task_t *t);

#endif
