/* axle — blocking work on libuv's threadpool.
 *
 * ax_spawn_blocking(fn, arg, &h) runs fn(arg) on libuv's threadpool and
 * returns at once; h is a join handle whose ax_join_value() is fn's return
 * value.  Use it for CPU-heavy work and blocking calls: never block a
 * worker thread.  Ownership: arg is fn's once fn runs; the result is the
 * join handle's until ax_join_value() moves it out.  A job whose argument
 * or result owns memory says how to release them with
 * ax_spawn_blocking_with(): drop_arg runs on an argument fn never got (the
 * job was aborted before it started, or the runtime shut down), and
 * drop_result on a result nobody took (the handle was dropped unread, or
 * the awaiting task was cancelled while the job ran).
 *
 * How: axle queues the job on its own process-wide queue, and libuv's pool
 * runs a few uv_queue_work requests that take jobs from it (never more
 * than the pool has threads).  The pool thread that ran fn completes the
 * job's task and wakes whoever awaits the handle: no worker polls it.
 *
 * Pool size: libuv sizes its pool ONCE per process, from the environment
 * variable UV_THREADPOOL_SIZE (default 4, at most 1024), when the first
 * request is queued.  The builder's max_blocking_threads sets that variable
 * before the pool starts; a runtime built later with a different value
 * fails with AX_EPOOLSIZE.  libuv's file-system requests, DNS lookups and
 * this share the same pool: a pool busy with jobs delays file I/O, and
 * while jobs keep coming the threads taking them keep them.
 *
 * Cancellation: ax_abort() (or the runtime's shutdown) before the job
 * started takes it off the queue: fn never runs, the handle reports
 * AX_ECANCELED.  A started job runs to completion; after an abort its
 * result is discarded.  ax_panic() inside fn is caught: the handle reports
 * AX_EPANIC with the message.  From a thread outside any runtime,
 * ax_spawn_blocking_on() hands the start of the pool work to the runtime's
 * first worker (of a current-thread runtime: the next ax_block_on).
 */
#ifndef AXLE_BLOCKING_H
#define AXLE_BLOCKING_H

#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Releases a job's argument or result (ax_spawn_blocking_with). */
typedef void (*ax_blocking_drop_fn)(void *p);

/* Returns 0, AX_ENORUNTIME (no runtime on this thread; for _on, rt NULL),
 * AX_ESHUTDOWN, AX_EINVAL (fn NULL) or AX_ENOMEM (the job's task, or the
 * pool work it needed, could not be allocated).  On error nothing was
 * spawned and `join` (which may be NULL) is left dropped.  arg may be
 * anything, NULL too. */
AX_EXTERN int ax_spawn_blocking(ax_task_fn fn, void *arg, ax_join_t *join);
/* On rt, from any thread. */
AX_EXTERN int ax_spawn_blocking_on(ax_runtime_t *rt, ax_task_fn fn,
                                   void *arg, ax_join_t *join);
/* With destructors for an abandoned argument and result (either may be
 * NULL); rt NULL means the calling thread's runtime.  When the call
 * fails, nothing was spawned and arg is still the caller's. */
AX_EXTERN int ax_spawn_blocking_with(ax_runtime_t *rt, ax_task_fn fn,
                                     void *arg, ax_blocking_drop_fn drop_arg,
                                     ax_blocking_drop_fn drop_result,
                                     ax_join_t *join);

/* The three record their call's spawn site (task.h, "Spawn sites"):
 * macros over this one.  on = 0: rt NULL means the calling thread's
 * runtime; on = 1: rt NULL is AX_ENORUNTIME. */
AX_EXTERN int ax__spawn_blocking_at(const char *site, int on,
                                    ax_runtime_t *rt, ax_task_fn fn,
                                    void *arg, ax_blocking_drop_fn drop_arg,
                                    ax_blocking_drop_fn drop_result,
                                    ax_join_t *join);
#define ax_spawn_blocking(fn, arg, join)                                   \
  ax__spawn_blocking_at(AX_HERE, 0, NULL, (fn), (arg), NULL, NULL, (join))
#define ax_spawn_blocking_on(rt, fn, arg, join)                            \
  ax__spawn_blocking_at(AX_HERE, 1, (rt), (fn), (arg), NULL, NULL, (join))
#define ax_spawn_blocking_with(rt, fn, arg, drop_arg, drop_result, join)   \
  ax__spawn_blocking_at(AX_HERE, 0, (rt), (fn), (arg), (drop_arg),         \
                        (drop_result), (join))

#ifdef __cplusplus
}
#endif
#endif /* AXLE_BLOCKING_H */
