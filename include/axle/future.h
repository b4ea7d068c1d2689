/* axle — futures, wakers and async functions.
 *
 * A future is any struct whose FIRST member is an ax_future_t (a pointer to
 * a vtable with poll and drop).  Nothing happens until somebody polls it:
 * creating a future only fills in a struct, it registers nothing, allocates
 * nothing and costs no stack.
 *
 *   poll(self, cx)  returns AX_READY (the output is now in the future's own
 *                   struct) or AX_PENDING (the future has arranged for
 *                   ax_cx_waker(cx) to be woken when it can make progress).
 *   drop(self)      cancellation and destruction: releases what the future
 *                   holds (wakers, timers, requests, owned memory).  It may be
 *                   called in any state: never polled, pending, or ready.
 *                   Callers drop a future at most once; axle's own futures
 *                   also tolerate a second drop.
 *
 * Moving: a future may be copied (memcpy) until it is first polled; after
 * that it must stay where it is until it is dropped (like Rust's Pin).
 * ax_spawn() copies the future into the task, so spawn it unpolled.
 *
 * Ownership: whoever polls a future owns it and must either drop it or run
 * it to completion and then drop it (a completed future's drop releases its
 * output, e.g. a join handle's task reference).
 */
#ifndef AXLE_FUTURE_H
#define AXLE_FUTURE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { AX_PENDING = 0, AX_READY = 1 } ax_poll_t;

typedef struct ax_future_s ax_future_t;
typedef struct ax_cx_s ax_cx_t;
typedef struct ax_waker_s ax_waker_t;

typedef struct ax_future_vtable_s {
  ax_poll_t (*poll)(ax_future_t *self, ax_cx_t *cx);
  void (*drop)(ax_future_t *self);   /* may be NULL: nothing to release */
  const char *name;                  /* for task dumps; may be NULL */
} ax_future_vtable_t;

struct ax_future_s {
  const ax_future_vtable_t *vtable;
};

static inline ax_poll_t ax_poll(ax_future_t *f, ax_cx_t *cx) {
  return f->vtable->poll(f, cx);
}

/* Drops (cancels) a future: calls its vtable's drop if it has one.  NULL,
 * or a struct whose vtable is NULL (zeroed, never prepared): no-op. */
AX_EXTERN void ax_drop(ax_future_t *f);

/* ---- Wakers ------------------------------------------------------------
 *
 * A waker is a counted reference to something that can be scheduled (a
 * task, the block_on thread, or a custom executor).  Wakers may be cloned,
 * woken and dropped from any thread.  Waking a task that is already queued,
 * running or finished is harmless.
 */
typedef struct ax_waker_vtable_s {
  ax_waker_t *(*clone)(ax_waker_t *w);   /* +1 reference, returns w */
  void (*wake)(ax_waker_t *w);           /* wake and release one reference */
  void (*wake_by_ref)(ax_waker_t *w);    /* wake, keep the reference */
  void (*drop)(ax_waker_t *w);           /* release one reference */
} ax_waker_vtable_t;

struct ax_waker_s {
  const ax_waker_vtable_t *vtable;
};

static inline ax_waker_t *ax_waker_clone(ax_waker_t *w) {
  return w->vtable->clone(w);
}
static inline void ax_waker_wake(ax_waker_t *w) { w->vtable->wake(w); }
static inline void ax_waker_wake_by_ref(ax_waker_t *w) {
  w->vtable->wake_by_ref(w);
}
static inline void ax_waker_drop(ax_waker_t *w) { w->vtable->drop(w); }
/* True when a and b wake the same thing (so a stored clone can be kept). */
static inline int ax_waker_will_wake(const ax_waker_t *a,
                                     const ax_waker_t *b) {
  return a == b;
}

/* The waker of the task being polled: borrowed, valid during this poll.
 * Clone it to keep it past the poll.  cx: not NULL, asserted. */
AX_EXTERN ax_waker_t *ax_cx_waker(ax_cx_t *cx);

/* Builds a context around any waker, for code that polls futures outside a
 * runtime (custom executors, tests).  cx must stay valid while polled. */
struct ax_cx_s {
  ax_waker_t *waker;           /* public: the waker to register */
  struct ax__wait_s *ax__wait; /* private: where the polled task records
                                  the await it waits at, or NULL */
  struct ax__ctx_s *ax__ctx;   /* private: the polling thread's runtime
                                  context, or NULL */
};
static inline void ax_cx_init(ax_cx_t *cx, ax_waker_t *w) {
  cx->waker = w;
  cx->ax__wait = NULL;
  cx->ax__ctx = NULL;
}

/* ---- Async functions --------------------------------------------------
 *
 * An async function is a resumable poll function over a struct whose first
 * member is an ax_async_t.  Locals that live across an await are fields of
 * that struct; child futures are stored inline in it.
 *
 *   typedef struct {
 *     ax_async_t co;          // first member
 *     ax_sleep_t delay;       // child future, stored inline
 *     int out;                // output
 *   } answer_t;
 *
 *   AX_ASYNC(answer, answer_t, self) {
 *     AX_BEGIN(self);
 *     AX_AWAIT(ax_sleep(&self->delay, 100));
 *     self->out = 42;
 *     AX_END;
 *   }
 *
 *   answer_t a = {0};
 *   ax_block_on(rt, AX_FUTURE(answer, &a));
 *
 * Rules (as for protothreads): a `switch` statement may not span an await,
 * and there is at most one AX_AWAIT / AX_YIELD per source line.  Inside the
 * body, `cx` is the poll context.
 */
typedef ax_poll_t (*ax_async_fn)(void *self, ax_cx_t *cx);
typedef void (*ax_async_drop_fn)(void *self);

typedef struct ax_async_s {
  ax_future_t base;            /* private: axle's async vtable */
  ax_async_fn fn;              /* private: the body */
  ax_async_drop_fn on_drop;    /* private: user destructor, or NULL */
  ax_future_t *child;          /* private: the future being awaited now */
  int line;                    /* private: resume point (0 start, -1 done) */
} ax_async_t;

/* Prepares co for fn and returns it as a future.  Call before the first
 * poll (AX_FUTURE does).  on_drop runs when the future is dropped, in any
 * state, after the awaited child (if any) has been dropped.  co and fn:
 * not NULL, asserted; on_drop may be NULL. */
AX_EXTERN ax_future_t *ax_async_init(ax_async_t *co, ax_async_fn fn,
                                     ax_async_drop_fn on_drop);

/* The future of async function fn over state struct *ptr. */
#define AX_FUTURE(fn, ptr) ax_async_init(&(ptr)->co, (fn), NULL)
#define AX_FUTURE_DROP(fn, drop, ptr) ax_async_init(&(ptr)->co, (fn), (drop))

/* Declares / defines an async function `name` over `type`; inside, the
 * state is `var` (a type *) and the context is `cx`. */
#define AX_ASYNC_DECL(name) ax_poll_t name(void *ax__self, ax_cx_t *cx)
#define AX_ASYNC(name, type, var)                                          \
  static ax_poll_t name##__body(type *var, ax_cx_t *cx);                   \
  static ax_poll_t name(void *ax__self, ax_cx_t *cx) {                     \
    return name##__body((type *)ax__self, cx);                             \
  }                                                                        \
  static ax_poll_t name##__body(type *var, ax_cx_t *cx)

/* Internal helpers of the macros below. */
AX_EXTERN ax_poll_t ax__await(ax_async_t *co, ax_cx_t *cx, const char *file,
                              int line);
AX_EXTERN void ax__yield(ax_async_t *co, ax_cx_t *cx, const char *file,
                         int line);

#define AX_BEGIN(var)                                                      \
  ax_async_t *const ax__co = &(var)->co;                                   \
  (void)cx; /* an async function need not await */                         \
  switch (ax__co->line) {                                                  \
  case -1:                                                                 \
    return AX_READY;                                                       \
  case 0:

/* Polls `expr` (an ax_future_t *) until it is ready, suspending the async
 * function meanwhile.  The future is stored in ax__co->child so dropping the
 * async function drops it. */
#define AX_AWAIT(expr)                                                     \
  do {                                                                     \
    ax__co->child = (expr);                                                \
    ax__co->line = __LINE__;                                               \
    /* fall through */                                                     \
  case __LINE__:                                                           \
    if (ax__await(ax__co, cx, __FILE__, __LINE__) == AX_PENDING)           \
      return AX_PENDING;                                                   \
  } while (0)

/* Gives the worker to other tasks once (Tokio's yield_now().await). */
#define AX_YIELD()                                                         \
  do {                                                                     \
    ax__co->line = __LINE__;                                               \
    ax__yield(ax__co, cx, __FILE__, __LINE__);                             \
    return AX_PENDING;                                                     \
  case __LINE__:;                                                          \
  } while (0)

/* Finishes the async function early (its output must be set). */
#define AX_RETURN()                                                        \
  do {                                                                     \
    ax__co->line = -1;                                                     \
    return AX_READY;                                                       \
  } while (0)

#define AX_END                                                             \
  }                                                                        \
  ax__co->line = -1;                                                       \
  return AX_READY

#ifdef __cplusplus
}
#endif
#endif /* AXLE_FUTURE_H */
