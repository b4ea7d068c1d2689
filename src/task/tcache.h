/* Internal: the task block cache.
 *
 * A task is one block (header + future).  Spawning a task and freeing it
 * is most of the cost of a short task, and glibc's malloc makes it worse
 * across threads: a block freed on the worker that ran the task, not the
 * one that spawned it, goes back to the spawner's arena under its lock
 * (in spawn_many_local that lock's futex calls and _int_malloc/_int_free
 * were 20% of the profile).
 *
 * So each worker keeps free blocks in 16-byte size classes (16..512: as
 * fine as glibc's own, so a cached task costs no more memory than a
 * malloc'd one).  A
 * block remembers its home, the remote stack of the cache it came from:
 *   - freed on its home worker's thread: back on that worker's lists (no
 *     atomics);
 *   - freed anywhere else: pushed on the home's remote stack (one CAS);
 *     the home takes the whole stack with one exchange when its lists run
 *     dry (the scheme of mimalloc's thread-delayed frees);
 *   - spawned outside the runtime's workers (a foreign thread, block_on's
 *     caller before it enters, another runtime's worker): the runtime's
 *     own lists, under a spin lock, with their own remote stack;
 *   - beyond AX__TCACHE_BYTES on either side, or larger than 512 bytes:
 *     plain ax__malloc/ax__free.
 * A home outlives its blocks' tasks: it belongs to the task's runtime, and
 * each task holds a reference to that runtime's memory.  A worker's lists
 * are freed at its close; the remote stacks and the runtime's lists with
 * the runtime's memory (after the last task is gone).
 */
#ifndef AX_TASK_TCACHE_H
#define AX_TASK_TCACHE_H

#include "runtime/runtime.h"

/* A block of at least n bytes for a task of rt; sets t->home and
 * t->tclass.  NULL when out of memory. */
ax__task_t *ax__tcache_alloc(ax_runtime_t *rt, size_t n);
/* Frees a block from ax__tcache_alloc (any thread). */
void ax__tcache_free(ax__task_t *t);

#endif
