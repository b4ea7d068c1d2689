/* Internal: all the task harness (runtime/task/) knows of the scheduler
 * (Tokio's `Schedule` trait).  Defined in sched.c.
 *
 *   schedule       t was woken (or aborted, or spawned): queue it.  The
 *                  caller hands over t's notification reference.  yield:
 *                  t woke itself (a yield, or a wake during its own poll),
 *                  so it goes to the back, not to the LIFO slot.
 *   release        t completed: take it off its runtime's owned list.
 *   report_panic   t panicked and nobody will join it: the panic hook.
 *   ref / unref    a task's reference on its runtime's memory, taken at
 *                  its creation and dropped when it is freed (batched on
 *                  the runtime's own workers).
 *   polled         a watched poll of t ended (t is still alive): the
 *                  watchdog's report of it (runtime/watch.h).
 *   local_free     a local task (AX__TASK_LOCAL) is being freed: its
 *                  reference on its set goes (runtime/local.c).
 */
#ifndef AX_RUNTIME_SCHED_H
#define AX_RUNTIME_SCHED_H

#include "runtime/task/task.h"

void ax__sched_schedule(ax__task_t *t, int yield);
void ax__sched_release(ax__task_t *t);
void ax__sched_report_panic(ax__task_t *t);
void ax__sched_ref(ax_runtime_t *rt);
void ax__sched_unref(ax_runtime_t *rt);
void ax__sched_polled(ax__ctx_t *ctx, ax__task_t *t);
void ax__sched_local_free(ax__task_t *t);

#endif
