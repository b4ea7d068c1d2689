/* Internal: the owned lists: every live task of a runtime, so that
 * shutdown can cancel them and a dump can list them.
 *
 * 16 shards, each a list under a spin lock on its own cache line (a
 * pthread mutex's bookkeeping cost more than the list operation).  A
 * task's shard is (id / 64) % 16: a spawner inserts into one shard for 64
 * spawns while the workers removing finished tasks are mostly on an older
 * one.  A task leaves its list when it completes (runtime/sched.h's
 * release).
 */
#ifndef AX_RUNTIME_TASK_OWNED_H
#define AX_RUNTIME_TASK_OWNED_H

#include <stdio.h>

#include "core/alloc.h"
#include "core/spin.h"
#include "runtime/task/task.h"

#define AX__SHARDS 16u

typedef struct ax__owned_s {
  struct {
    ax__spin_t lock;              /* guards head and its tasks' links */
    ax__link_t head;              /* the shard's tasks */
    char pad_[AX__CACHELINE - sizeof(ax__link_t) - sizeof(int)];
  } shard[AX__SHARDS];
} ax__owned_t;

void ax__owned_init(ax__owned_t *o);
/* Adds t (with the list's reference, counted at its creation) unless
 * *closed is set, which is read under the shard's lock: a spawn either
 * lands in the list or sees the shutdown.  0 or AX_ESHUTDOWN. */
int ax__owned_insert(ax__owned_t *o, ax__task_t *t, _Atomic int *closed);
void ax__owned_remove(ax__owned_t *o, ax__task_t *t);
/* The first task of shard i with a new reference (the caller drops it),
 * or NULL when the shard is empty: shutdown takes tasks one at a time, as
 * cancelling one may complete and remove others. */
ax__task_t *ax__owned_first(ax__owned_t *o, unsigned i);
/* One line per task (ax_runtime_dump_tasks). */
void ax__owned_dump(ax__owned_t *o, FILE *out);

#endif
