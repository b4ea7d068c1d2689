/* Internal: a worker's mailbox, operations handed to its loop's thread.
 *
 * The home-loop rule (DESIGN 3): every uv call on a handle or request
 * happens on its loop's thread.  Another thread posts an op, which runs on
 * that thread at its next wake-up (ax__worker_post in worker.h wakes it).
 * Wake-ups coalesce, so each one runs everything posted so far.
 */
#ifndef AX_RUNTIME_MAILBOX_H
#define AX_RUNTIME_MAILBOX_H

#include <stdatomic.h>

#include "core/context.h"
#include "core/spin.h"

/* An operation (ax__op_t, core/context.h) is embedded in the object it
 * acts on; the poster keeps that object alive until fn has run, and fn may
 * free it. */

typedef struct ax__mailbox_s {
  ax__spin_t lock;                /* guards ops */
  ax__link_t ops;                 /* posted, not run yet, oldest first */
  _Atomic int pending;            /* ops is not empty (readable unlocked) */
} ax__mailbox_t;

void ax__mailbox_init(ax__mailbox_t *m);
/* Any thread: queues op (the caller then wakes the mailbox's thread). */
void ax__mailbox_post(ax__mailbox_t *m, ax__op_t *op);
/* The mailbox's thread: runs every op posted so far; returns how many. */
unsigned ax__mailbox_run(ax__mailbox_t *m);

/* 1 when an op waits (a hint: read without the lock). */
static inline int ax__mailbox_pending(ax__mailbox_t *m) {
  return atomic_load_explicit(&m->pending, memory_order_relaxed) != 0;
}

#endif
