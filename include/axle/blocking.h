/* axle — blocking work on libuv's threadpool.
 *
 * ax_spawn_blocking(fn, arg, &h) runs fn(arg) on libuv's threadpool
 * (uv_queue_work) and returns at once; h is a join handle whose
 * ax_join_value() is fn's return value.  Use it for CPU-heavy work and
 * blocking calls: never block a worker thread.
 *
 * Pool size: libuv sizes its pool ONCE per process, from the environment
 * variable UV_THREADPOOL_SIZE (default 4, at most 1024), when the first
 * request is queued.  The builder's max_blocking_threads sets that variable
 * before the pool starts; a runtime built later with a different value
 * fails with AX_EPOOLSIZE.  libuv's file-system requests, DNS lookups and
 * this share the same pool: a pool full of long jobs delays file I/O.
 *
 * Cancellation: ax_abort() (or dropping the awaiting task) before the job
 * started removes it from the queue (uv_cancel); a started job runs to
 * completion and its result is discarded.  ax_panic() inside fn is caught:
 * the handle reports AX_EPANIC with the message.
 */
#ifndef AXLE_BLOCKING_H
#define AXLE_BLOCKING_H

#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

AX_EXTERN int ax_spawn_blocking(ax_task_fn fn, void *arg, ax_join_t *join);
AX_EXTERN int ax_spawn_blocking_on(ax_runtime_t *rt, ax_task_fn fn,
                                   void *arg, ax_join_t *join);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_BLOCKING_H */
