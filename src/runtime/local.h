/* Internal: the scheduler's side of a LocalSet (local.c): where a woken
 * local task goes. */
#ifndef AX_RUNTIME_LOCAL_H
#define AX_RUNTIME_LOCAL_H

#include "runtime/task/task.h"

/* t (kind AX__TASK_LOCAL) was woken: onto its set's queue, and the task
 * polling the set is woken; the caller hands over the notification
 * reference.  Any thread. */
void ax__local_schedule(ax__task_t *t);

#endif
