/* Internal: the task block cache: where task memory comes from.
 *
 * A task is one block (header + future).  Spawning a task and freeing it
 * is most of the cost of a short task, and glibc's malloc makes it worse
 * across threads: a block freed on the worker that ran the task, not the
 * one that spawned it, goes back to the spawner's arena under its lock
 * (in spawn_many_local that lock's futex calls and _int_malloc/_int_free
 * were 20 % of the profile).
 *
 * So each worker keeps free blocks in 16-byte size classes (16..512: as
 * fine as glibc's own, so a cached task costs no more memory than a
 * malloc'd one).  A block remembers its home, the remote stack of the
 * cache it came from:
 *   - freed on its home worker's thread: back on that worker's lists (no
 *     atomics);
 *   - freed anywhere else: pushed on the home's remote stack (one CAS);
 *     the home takes the whole stack with one exchange when its lists run
 *     dry (the scheme of mimalloc's thread-delayed frees);
 *   - spawned outside the runtime's workers (a foreign thread, block_on's
 *     caller before it enters, another runtime's worker): the runtime's
 *     shared cache, its lists under a spin lock;
 *   - beyond AX__TCACHE_BYTES on either side, or larger than 512 bytes:
 *     plain ax__malloc/ax__free.
 * A home outlives its blocks' tasks: it belongs to the task's runtime, and
 * each task holds a reference to that runtime's memory.  A worker's lists
 * are freed at its close; the remote stacks and the shared lists with the
 * runtime's memory (after the last task is gone).  Under AddressSanitizer
 * every block goes back to malloc, so that a use after free is caught.
 */
#ifndef AX_RUNTIME_TASK_CACHE_H
#define AX_RUNTIME_TASK_CACHE_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/alloc.h"
#include "core/spin.h"
#include "runtime/task/task.h"

#define AX__TCACHE_GRAIN 16           /* size classes: 16, 32, ... */
#define AX__TCACHE_CLASSES 32         /* ... 512-byte blocks */
#define AX__TCACHE_BYTES (2u << 20)   /* per list set, per remote stack */

/* Blocks other threads gave back, for the owner to take in one go. */
typedef struct ax__tremote_s {
  _Atomic(void *) head;               /* a stack linked through the blocks */
  _Atomic size_t bytes;               /* bytes on it (the bound) */
} ax__tremote_t;

/* One cache: free lists by size class, and the remote stack of blocks
 * that other threads give back.  The two halves are written by different
 * threads: the padding keeps them on separate cache lines. */
typedef struct ax__tcache_s {
  void *head[AX__TCACHE_CLASSES];     /* owner: free lists by class */
  size_t bytes;                       /* owner: bytes on them */
  char pad_[AX__CACHELINE];
  ax__tremote_t remote;               /* any thread: blocks given back */
} ax__tcache_t;

/* A runtime's cache for spawns from threads that are not its workers. */
typedef struct ax__tcache_shared_s {
  ax__spin_t lock;                    /* guards cache.head / cache.bytes */
  ax__tcache_t cache;
} ax__tcache_shared_t;

void ax__tcache_init(ax__tcache_t *c);
/* A block of at least n bytes: from `own` (the calling thread's cache, no
 * lock) or else from `shared` (under its lock).  Sets t->home and
 * t->tclass.  NULL when out of memory. */
ax__task_t *ax__tcache_alloc(ax__tcache_t *own, ax__tcache_shared_t *shared,
                             size_t n);
/* Frees a block from ax__tcache_alloc (any thread). */
void ax__tcache_free(ax__task_t *t);
/* Frees the blocks on the owner's lists (a worker's, at its close: tasks
 * may still be freed on other threads later, onto its remote stack). */
void ax__tcache_drain_lists(ax__tcache_t *c);
/* Frees every block the cache holds, the remote stack's too: with the
 * runtime's memory, once the last task is gone and nothing pushes. */
void ax__tcache_drain(ax__tcache_t *c);

#endif
