/* axle — writing your own leaf future.
 *
 * Everything here is for people who implement a future by hand (a library
 * wrapping a libuv handle, a custom executor): the vtable of a future,
 * wakers, the poll context and the cooperative budget.  Everyday code needs
 * only <axle.h>; include this one as well to write a leaf:
 *
 *   typedef struct { ax_future_t base; my_event_t *ev; } my_wait_t;
 *
 *   static ax_poll_t my_wait_poll(ax_future_t *f, ax_cx_t *cx) {
 *     my_wait_t *w = (my_wait_t *)f;
 *     if (!ax_coop_proceed(cx)) return AX_PENDING;    // budget spent
 *     if (event_fired(w->ev)) return AX_READY;
 *     ax_coop_refund(cx);                             // waiting after all
 *     event_set_waker(w->ev, ax_waker_clone(ax_cx_waker(cx)));
 *     return AX_PENDING;
 *   }
 *   static void my_wait_drop(ax_future_t *f) { ...release the waker... }
 *   static const ax_future_vtable_t my_wait_vtable = {
 *       my_wait_poll, my_wait_drop, "my_wait"};
 *
 * docs/guide.md ("Writing a leaf future") has the whole story.
 */
#ifndef AXLE_LEAF_H
#define AXLE_LEAF_H

#include "future.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- The future's vtable ------------------------------------------------
 *
 *   poll(self, cx)  returns AX_READY (the output is now in the future's own
 *                   struct) or AX_PENDING (the future has arranged for
 *                   ax_cx_waker(cx) to be woken when it can make progress).
 *   drop(self)      cancellation and destruction: releases what the future
 *                   holds (wakers, timers, requests, owned memory), in any
 *                   state: never polled, pending, or ready; what it
 *                   reports (its output fields) stays readable.  Callers
 *                   drop a future once; axle's own futures tolerate a
 *                   second drop.
 */
struct ax_future_vtable_s {
  ax_poll_t (*poll)(ax_future_t *self, ax_cx_t *cx);
  void (*drop)(ax_future_t *self);   /* may be NULL: nothing to release */
  const char *name;                  /* for task dumps; may be NULL */
};

static inline ax_poll_t ax_poll(ax_future_t *f, ax_cx_t *cx) {
  return f->vtable->poll(f, cx);
}

/* ---- Wakers --------------------------------------------------------------
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

/* ---- The poll context ------------------------------------------------------
 *
 * The waker of the task being polled: borrowed, valid during this poll.
 * Clone it to keep it past the poll. */
AX_EXTERN ax_waker_t *ax_cx_waker(ax_cx_t *cx);

/* A context around any waker, for code that polls futures outside a
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

/* ---- The cooperative budget --------------------------------------------
 *
 * As in Tokio, each poll of a task may complete at most 128 operations
 * that did not have to wait (a receive with a value queued, an uncontended
 * lock, a due timer, a finished join handle...).  After that, the next one
 * returns AX_PENDING and the task goes to the back of the run queue: a
 * loop whose awaits are always ready still lets the worker's other tasks,
 * timers and I/O run.  Every axle future takes part; a leaf of your own
 * that can complete without waiting should too:
 *
 *     if (!ax_coop_proceed(cx)) return AX_PENDING;   (task rescheduled)
 *     ... try the operation; if it must wait after all:
 *     ax_coop_refund(cx); register the waker; return AX_PENDING;
 *
 * Outside a runtime's worker there is no budget: everything proceeds. */
AX_EXTERN int ax_coop_proceed(ax_cx_t *cx);
AX_EXTERN void ax_coop_refund(ax_cx_t *cx);
/* 0 when the running task has spent its budget (1 outside a task). */
AX_EXTERN int ax_coop_has_budget(void);

/* ---- Homes: the loop a libuv handle lives on ------------------------------
 *
 * libuv is not thread safe: every call on a handle must happen on the
 * thread of the loop it was created on (DESIGN 3, the home-loop rule).  A
 * leaf future that wraps a handle remembers its home, and when it is polled
 * on another worker it hands the libuv call to the home's thread with
 * ax_home_post.  The event's callback then wakes the task from the home's
 * thread, and a task woken by a worker runs next on that worker: after its
 * first operation, a task doing I/O normally runs where its handles live
 * and makes no more hops.  axle's own I/O (<axle/io.h>) is written this way.
 *
 * A home is valid as long as its runtime is.  Create handles on
 * ax_home_loop(ax_home_current()) from inside a task; on block_on's thread
 * of a multi-thread runtime that is a worker's loop, since block_on's own
 * loop runs only while block_on does. */
typedef struct ax_home_s ax_home_t;
/* An operation for a home's thread, embedded in the object it acts on:
 * keep that object alive until fn has run (fn may free it). */
typedef struct ax_home_op_s {
  ax__link_t link;                        /* private: the home's mailbox */
  void (*fn)(struct ax_home_op_s *op);    /* public: what to run there */
} ax_home_op_t;

/* The home of I/O created on the calling thread, or NULL outside any
 * runtime. */
AX_EXTERN ax_home_t *ax_home_current(void);
/* Its loop: create handles on it (on the home's thread only). */
AX_EXTERN uv_loop_t *ax_home_loop(ax_home_t *h);
/* 1 when the calling thread is h's: uv calls on its handles are allowed. */
AX_EXTERN int ax_home_is_current(const ax_home_t *h);
/* Runs op->fn(op) on h's thread: at once when called there, else at the
 * home's next wake-up (which this call causes).  Any thread.  During a
 * runtime's shutdown, ops run on the thread closing it. */
AX_EXTERN void ax_home_post(ax_home_t *h, ax_home_op_t *op);

/* ---- A waker slot shared between threads (Tokio's AtomicWaker) --------------
 *
 * One waiting future registers its waker; any thread wakes it.  Register
 * and wake may race: a wake that comes before a register is not lost (the
 * next register wakes at once).  register, take and drop are for the one
 * owner (the waiting future); wake and complete are for anyone.
 *
 * A one-shot event (a libuv callback that fires once: a timer, a request's
 * completion) uses complete instead of wake: it latches, so the future
 * needs no flag of its own, and whatever the completing thread wrote
 * before complete is visible to the thread that sees is_complete return 1.
 * The pattern: register, then check is_complete (or the future's own
 * condition for a repeating event) before returning AX_PENDING. */
typedef struct ax_waker_slot_s {
  AX__ATOMIC(int) lock;        /* private: a spin lock over the three below */
  int pending;                 /* private: woken with nobody registered */
  int complete;                /* private: ax_waker_slot_complete was called */
  ax_waker_t *waker;           /* private: the registered clone, or NULL */
} ax_waker_slot_t;

AX_EXTERN void ax_waker_slot_init(ax_waker_slot_t *s);
/* Stores a clone of w (unless it already holds one that wakes the same
 * task).  If a wake came since the last register, wakes w at once.  Once
 * the slot is complete, stores nothing. */
AX_EXTERN void ax_waker_slot_register(ax_waker_slot_t *s, ax_waker_t *w);
/* Wakes the registered waker, if any, and empties the slot; otherwise the
 * next register wakes.  Any thread. */
AX_EXTERN void ax_waker_slot_wake(ax_waker_slot_t *s);
/* The event happened, for good: wakes the registered waker, if any, and
 * from now on ax_waker_slot_is_complete returns 1.  Any thread, once. */
AX_EXTERN void ax_waker_slot_complete(ax_waker_slot_t *s);
/* 1 once ax_waker_slot_complete was called (with what the completing
 * thread wrote before it visible to the caller).  Any thread. */
AX_EXTERN int ax_waker_slot_is_complete(ax_waker_slot_t *s);
/* Releases the registered waker without waking it (the future's drop). */
AX_EXTERN void ax_waker_slot_drop(ax_waker_slot_t *s);

/* ---- A stream of your own (the AsyncRead/AsyncWrite of <axle/io.h>) -------
 *
 * The helpers of <axle/io.h> (read, read_exact, write_all, copy, split,
 * the buffered reader) work on any ax_stream_t, through this vtable.  The
 * primitives follow Tokio's poll_read / poll_write:
 *   poll_read   AX_READY with *n bytes in buf (0: the end of the stream) or
 *               *err < 0; or AX_PENDING with the waker registered.  A read
 *               future keeps passing the same buf until it completes; if it
 *               is dropped first, cancel_read(s, buf) runs, and bytes the
 *               stream had put in buf must be kept for the next read.
 *   poll_write  AX_READY with *n (>= 1) bytes taken, or *err; or
 *               AX_PENDING.  After cancel_write(s, buf) the stream must not
 *               read buf any more.
 *   poll_shutdown  the write side, once what was written is delivered.
 *   close       the owner's last call (ax_stream_close).
 * A stream may have one read and one write in flight at a time. */
typedef struct ax_stream_vtable_s {
  ax_poll_t (*poll_read)(ax_stream_t *s, ax_cx_t *cx, char *buf, size_t len,
                         size_t *n, int *err);
  void (*cancel_read)(ax_stream_t *s, char *buf);
  ax_poll_t (*poll_write)(ax_stream_t *s, ax_cx_t *cx, const char *buf,
                          size_t len, size_t *n, int *err);
  void (*cancel_write)(ax_stream_t *s, const char *buf);
  ax_poll_t (*poll_shutdown)(ax_stream_t *s, ax_cx_t *cx, int *err);
  void (*cancel_shutdown)(ax_stream_t *s);
  void (*close)(ax_stream_t *s);
} ax_stream_vtable_t;

struct ax_stream_s {
  const ax_stream_vtable_t *vtable;   /* first member of every stream */
};

#ifdef __cplusplus
}
#endif
#endif /* AXLE_LEAF_H */
