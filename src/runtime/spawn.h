/* Internal: spawning for the runtime's own futures (spawn.c). */
#ifndef AX_RUNTIME_SPAWN_H
#define AX_RUNTIME_SPAWN_H

#include "runtime/task/task.h"

/* Spawns fut, of kind AX__TASK_PLAIN or AX__TASK_VALUE (its value right
 * after its ax_future_t: ax_join_value); site: the spawn call's AX_HERE,
 * or NULL. */
int ax__spawn_raw(const char *site, ax_runtime_t *rt, ax_future_t *fut,
                  size_t size, int kind, ax_join_t *join);
/* Spawns without scheduling: *t is the task, and the caller holds its
 * notification reference (a blocking job, finished by a pool thread). */
int ax__spawn_idle(const char *site, ax_runtime_t *rt, ax_future_t *fut,
                   size_t size, int kind, ax_join_t *join,
                   ax__task_t **t);

/* The same for any kind: a local task comes back notified, to be queued
 * by its set (runtime/local.c). */
int ax__spawn_kind_idle(const char *site, ax_runtime_t *rt, ax_future_t *fut,
                        size_t size, int kind, ax_join_t *join,
                        ax__task_t **t);

#endif
