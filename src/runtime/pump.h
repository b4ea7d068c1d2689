/* Internal: runtimes that live in a loop the application runs
 * (<axle/embed.h>; docs/internals.md, "Living in the application's loop").
 *
 * Two kinds, both current-thread, both "parked" whenever they are not
 * running tasks (worker->parked is 1 between pumps, 2 once a wake-up has
 * been asked for), so that a task woken from any thread, a spawn from
 * outside or the end of a pump that left work asks for the next pump with
 * ax__idle_unpark, the same handshake as a parked worker's:
 *
 *  - pumped (rt->pump != NULL): the runtime owns its loop; the application
 *    calls ax_pump(), and learns of work through the wake callback
 *    (ax__pump_signal replaces the worker's eventfd), ax_pump_fd or the
 *    I/O thread (iowatch.h), and ax_pump_timeout.
 *  - on the application's libuv loop (builder.loop, rt->user_loop): the
 *    worker's wake-up handle lives on that loop, unref'd, and its callback
 *    runs the tasks inside the application's uv_run (ax__pump_woken).
 */
#ifndef AX_RUNTIME_PUMP_H
#define AX_RUNTIME_PUMP_H

#include "axle/embed.h"
#include "runtime/iowatch.h"
#include "runtime/worker.h"

struct ax__pump_s {
  ax_pump_config_t cfg;         /* the application's callback */
  uv_thread_t owner;            /* the runtime's thread */
  ax__iowatch_t *io;            /* the I/O thread, or NULL */
  char pad0_[AX__CACHELINE];
  _Atomic int signalled;        /* wake called; no pump started since */
  _Atomic int closed;           /* the runtime is being freed: no calls */
  _Atomic unsigned calling;     /* wake calls under way */
};

/* Any thread: asks the application for a pump (at most one call of its
 * callback between two pumps). */
void ax__pump_signal(ax__pump_t *p);
/* ax_runtime_free of a pumped runtime, first: no more wake calls, the I/O
 * thread stopped.  Then, once the runtime is gone, ax__pump_free. */
void ax__pump_close(ax__pump_t *p);
void ax__pump_free(ax__pump_t *p);

/* The worker of a runtime on the application's loop was woken (its
 * wake-up handle's callback, inside the application's uv_run): runs the
 * mailbox and, unless it is inside a poll already (ax_block_on parked in
 * that loop), a pump of ready tasks. */
void ax__pump_woken(ax__worker_t *w);

/* shutdown.c: the free that ax_runtime_shutdown_background left to the
 * next wake-up of a runtime on the application's uv loop, if it did. */
void ax__runtime_free_on_wake(ax_runtime_t *rt);

/* After a pump, or an ax_block_on of a runtime on the application's loop:
 * the worker is idle again (parked = 1), and if work is left, the next
 * pump is asked for.  Returns 1 when work was left. */
int ax__pump_idle(ax__worker_t *w);

#endif
