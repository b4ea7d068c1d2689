/* axle — tasks: spawn, join handles, abort, yield, panic.
 *
 * A task is a future copied into one allocation together with its header
 * (state word, reference count, queue link, join slot).  ax_spawn() returns
 * at once; the task runs when a worker polls it.  When the task ends
 * (completed, aborted or panicked) the runtime drops its future at once,
 * as Tokio does: its drop handler runs then, and whatever the future still
 * held (a channel sender, say) is released before anyone joins it.  The
 * output fields stay readable through the join handle.
 *
 * Join handles (ax_join_t) are futures too.  The handle is a struct the
 * caller owns (usually a field of its own async state); it holds a reference
 * to the task until ax_join_drop().  Dropping a handle before the task ends
 * detaches the task: it keeps running and frees itself when done.
 */
#ifndef AXLE_TASK_H
#define AXLE_TASK_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_runtime_s ax_runtime_t;
typedef struct ax__task_s ax__task_t;

typedef struct ax_join_s {
  ax_future_t base;    /* the future: ax_join_wait(&h) returns &h.base */
  ax__task_t *task;    /* private: counted reference, NULL once dropped */
  int result;          /* read-only once ready: 0 done, AX_ECANCELED,
                          AX_EPANIC, or AX_EJOINED (handle misused) */
  int consumed;        /* private: the result was delivered once */
} ax_join_t;

/* Spawns `fut` (of `size` bytes, never polled yet) on the runtime of the
 * calling thread (a worker, a block_on thread, or a thread inside a runtime
 * callback).  The bytes are copied into the task: the caller's copy may be
 * reused at once.  `join` may be NULL to detach immediately.
 * Returns 0, AX_ENORUNTIME (no runtime on this thread), AX_ESHUTDOWN,
 * AX_EINVAL (fut NULL, or size below sizeof(ax_future_t) or above
 * SIZE_MAX / 2) or AX_ENOMEM.  On error nothing was spawned and `join` is
 * left dropped. */
AX_EXTERN int ax_spawn(ax_future_t *fut, size_t size, ax_join_t *join);
/* Same, on an explicit runtime: callable from any thread, including
 * threads that axle does not know.  rt NULL: AX_ENORUNTIME, as ax_spawn
 * outside a runtime. */
AX_EXTERN int ax_spawn_on(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                          ax_join_t *join);
/* Same with a name (copied: shown in task dumps and panic messages; NULL:
 * none).  AX_ENOMEM also when the copy cannot be made. */
AX_EXTERN int ax_spawn_named(ax_runtime_t *rt, const char *name,
                             ax_future_t *fut, size_t size, ax_join_t *join);

/* Spawns the async function fn over *state (copied), on the current
 * runtime.  The state may be a local in a block of its own:
 *   { work_t job = AX_ZERO(work_t); job.n = 5;
 *     AX_SPAWN(work, &job, &self->handle); } */
#define AX_SPAWN(fn, state, join)                                          \
  ax_spawn(AX_FUTURE(fn, state), sizeof *(state), (join))

/* The simplest case: a plain function that needs no await.  The task calls
 * fn(arg) once; its return value is ax_join_value().  Errors as ax_spawn;
 * fn NULL: AX_EINVAL. */
typedef void *(*ax_task_fn)(void *arg);
AX_EXTERN int ax_spawn_fn(ax_task_fn fn, void *arg, ax_join_t *join);

/* The future that waits for the task: AX_AWAIT(ax_join_wait(&h)).  Once
 * ready, read h.result and the output, then call ax_join_drop(&h).  h:
 * not NULL, asserted (here and in the three accessors and
 * ax_join_is_finished below). */
AX_EXTERN ax_future_t *ax_join_wait(ax_join_t *h);
/* The task's future (its copy inside the task, dropped already: its
 * output fields are intact): AX_JOIN_OUTPUT(&h, type) reads it as the
 * state type the task was spawned with.  Valid from ready until
 * ax_join_drop(); NULL unless the task completed normally. */
AX_EXTERN void *ax_join_output(ax_join_t *h);
#define AX_JOIN_OUTPUT(h, type) ((type *)ax_join_output(h))
/* For tasks from ax_spawn_fn / ax_spawn_blocking: the function's result,
 * which is now the caller's (a second call returns NULL, and a result
 * destructor given to ax_spawn_blocking_with no longer runs on it). */
AX_EXTERN void *ax_join_value(ax_join_t *h);
/* The panic message when result is AX_EPANIC (valid until ax_join_drop),
 * else NULL. */
AX_EXTERN const char *ax_join_panic_message(ax_join_t *h);
/* Non-blocking: 1 when the task has ended (any way), else 0. */
AX_EXTERN int ax_join_is_finished(const ax_join_t *h);
/* Releases the handle (detaches the task if it still runs).  Safe to call
 * twice and on a zeroed handle.  NULL: no-op. */
AX_EXTERN void ax_join_drop(ax_join_t *h);
/* Requests cancellation: the task's future is dropped at its next await
 * (at once if idle); its handle then reports AX_ECANCELED.  Aborting a
 * finished task does nothing.  Returns 0, AX_EJOINED for a dropped
 * handle, or AX_EINVAL for NULL. */
AX_EXTERN int ax_abort(ax_join_t *h);

/* ---- Panics -----------------------------------------------------------
 *
 * ax_panic() inside a task unwinds to the poll boundary (longjmp): the
 * task's future is dropped (its drop runs, so release resources there, not
 * after the call), the formatted message goes to the join handle, and the
 * worker goes on.  Memory and locks acquired in the same poll before the
 * panic and not reachable from the future are NOT released.  Outside a
 * task it prints the message and aborts the process.  fmt: not NULL,
 * asserted.  When the message cannot be allocated, the handle's panic
 * message is NULL (the result is still AX_EPANIC).
 */
#if defined(__GNUC__)
#  define AX__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define AX__PRINTF(a, b)
#endif
AX_EXTERN AX__NORETURN void ax_panic(const char *fmt, ...) AX__PRINTF(1, 2);
AX_EXTERN AX__NORETURN void ax__panic_at(const char *file, int line,
                                      const char *fmt, ...) AX__PRINTF(3, 4);
#define ax_assert(cond)                                                    \
  ((cond) ? (void)0                                                        \
          : ax__panic_at(__FILE__, __LINE__, "assertion failed: %s", #cond))

/* Called for a panic nobody will join (handle dropped or never taken):
 * msg is the message, name the task's name or NULL. */
typedef void (*ax_panic_hook_fn)(const char *msg, const char *name,
                                 void *arg);

/* ---- Yield --------------------------------------------------------------
 * AX_YIELD() inside an async function; ax_yield_now() is the same as a
 * future, for select/join composition.  y: not NULL, asserted. */
typedef struct ax_yield_s {
  ax_future_t base;  /* the future */
  int yielded;       /* private */
} ax_yield_t;
AX_EXTERN ax_future_t *ax_yield_now(ax_yield_t *y);

/* ---- Cooperative budget ----------------------------------------------
 * Each poll of a task may complete at most 128 operations that did not
 * have to wait, then it yields (Tokio's coop; <axle/leaf.h> has the
 * details).  ax_consume_budget() is a future that takes one unit (a cheap
 * yield point in a CPU-bound loop: it yields only when the budget is
 * spent), and ax_unconstrained() polls `inner` with no budget at all (it
 * owns `inner` from its first poll, and drops it with itself, as
 * ax_timeout does; use it sparingly: it can starve the worker, which is
 * what the budget is for).  Every pointer argument below: not NULL,
 * asserted. */

typedef struct ax_consume_budget_s {
  ax_future_t base;  /* the future */
} ax_consume_budget_t;
AX_EXTERN ax_future_t *ax_consume_budget(ax_consume_budget_t *f);

typedef struct ax_unconstrained_s {
  ax_future_t base;    /* the future */
  ax_future_t *inner;  /* private: the wrapped future (caller's memory) */
} ax_unconstrained_t;
AX_EXTERN ax_future_t *ax_unconstrained(ax_unconstrained_t *f,
                                        ax_future_t *inner);

/* Information about the current task (for logs): its id (unique per
 * runtime, starting at 1) or 0 outside a task. */
AX_EXTERN uint64_t ax_task_id(void);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_TASK_H */
