/* Internal: a caller's callback run under a channel's lock, safe from
 * ax_panic.
 *
 * ax_panic() longjmps to the thread's landing (core/jump.h) and releases
 * nothing on the way, so a callback that panics while a channel holds its
 * lock would leave the lock held for good: every later send, borrow or
 * receive on that channel would block its worker forever.  Tokio's lock
 * guards unlock as a panic unwinds and the channel stays usable
 * (sync_watch.rs: send_modify_panic; sync_broadcast.rs: panic_in_clone).
 * ax__trap_call runs the callback under a landing of its own; when it
 * reports a panic, the caller unlocks (and leaves its state consistent)
 * and continues the panic with ax__trap_rethrow, which lands where the
 * panic was going.  Outside a task or blocking job there is no landing: a
 * panic aborts the process, so the callback is simply called.
 *
 * Cost: a setjmp per callback, only where a user callback runs under a
 * lock (watch's modifiers, wait_for predicates and clone; broadcast's
 * clone); the plain memcpy paths call no callback and pay nothing.  Drop
 * callbacks are not trapped (channel.h: they must not panic).
 */
#ifndef AX_SYNC_TRAP_H
#define AX_SYNC_TRAP_H

#include <stddef.h>

#include "core/jump.h"

typedef struct ax__trap_s {
  ax__jump_t jump;     /* the landing while the callback runs */
  ax__jump_t *outer;   /* the thread's landing before it (NULL: none) */
} ax__trap_t;

/* Runs fn(arg) under t: 0 when fn returned, 1 when it panicked (the
 * thread's landing is back in place and t->jump.msg holds the message,
 * owned by t until ax__trap_rethrow). */
int ax__trap_call(ax__trap_t *t, void (*fn)(void *arg), void *arg);
/* Continues the panic ax__trap_call caught: lands at the thread's landing
 * with its message.  Only after ax__trap_call returned 1. */
_Noreturn void ax__trap_rethrow(ax__trap_t *t);

/* An element clone callback (channel.h's ax_elem_clone_fn) under t: 0
 * when the copy is made (memcpy when clone is NULL, though callers keep
 * their inline copy for that case), 1 when clone panicked (dst holds no
 * value; unlock, then rethrow). */
int ax__trap_clone(ax__trap_t *t, void (*clone)(void *dst, const void *src),
                   void *dst, const void *src, size_t size);

#endif
