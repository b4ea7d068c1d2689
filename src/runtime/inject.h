/* Internal: the injection queue, where tasks go that no worker's local
 * queue can take: spawns and wakes from outside the runtime, and the half
 * of a full local queue that overflows.
 *
 * A growable ring of task pointers under a spin lock.  A ring, not a
 * linked list: moving a batch out of a list walks the tasks' links under
 * the lock, one cache miss per task on another core's lines, where a ring
 * copies pointers.  A spin lock, not a pthread mutex, which sleeps in
 * futex() when contended while these critical sections are a few stores
 * long (a mutex made 83 futex calls per 10,000 spawns in
 * spawn_many_blockon).  The ring grows by doubling under the lock (rarely: it keeps
 * its size, unless a burst grew it past 64 Ki slots, which are freed when
 * it empties).
 *
 * A push never fails: a wake from a foreign thread has nobody to report
 * an error to, and a task that is not queued is lost.  When memory for a
 * larger ring runs out, the tasks that do not fit wait on an overflow
 * list linked through the tasks themselves (task.h's inject_next), behind
 * everything in the ring, until a later push finds the memory to take
 * them back into it (or the pops drain it).
 */
#ifndef AX_RUNTIME_INJECT_H
#define AX_RUNTIME_INJECT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/spin.h"
#include "runtime/task/task.h"

typedef struct ax__inject_s {
  ax__spin_t lock;
  ax__task_t **buf;          /* cap slots; NULL until the first push */
  size_t cap;                /* a power of two, or 0 */
  size_t head;               /* index of the oldest task (lock) */
  size_t n;                  /* tasks in the ring (lock) */
  ax__task_t *over_head;     /* overflow list, oldest first (lock): only
                                while the ring could not grow */
  ax__task_t *over_tail;     /* its newest task (lock) */
  size_t over_n;             /* tasks on it (lock) */
  /* Idle workers poll len while they look for work: on the lock's line it
   * made every push fight them for that line. */
  char pad_[AX__CACHELINE];
  _Atomic size_t len;        /* n + over_n, readable without the lock */
} ax__inject_t;

void ax__inject_init(ax__inject_t *q);
void ax__inject_free(ax__inject_t *q);
/* Lock held: appends n tasks. */
void ax__inject_push_locked(ax__inject_t *q, ax__task_t *const *v, size_t n);
/* The same, taking the lock. */
void ax__inject_push(ax__inject_t *q, ax__task_t *const *v, size_t n);
/* Takes the oldest task, or NULL. */
ax__task_t *ax__inject_pop(ax__inject_t *q);
/* Takes up to max tasks, oldest first, into v; returns how many. */
size_t ax__inject_pop_n(ax__inject_t *q, ax__task_t **v, size_t max);

static inline size_t ax__inject_len(ax__inject_t *q) {
  return atomic_load_explicit(&q->len, memory_order_acquire);
}

#endif
