/* Internal: what an idle worker does, and how it is woken (idle.c).
 *
 * An idle worker (or the block_on driver waiting for its future) spins a
 * while looking for work, then parks in uv_run(UV_RUN_ONCE); a thread
 * that makes work for it unparks it with its wake-up (wake.h).  Parking is
 * a Dekker handshake with the wakers (see sched.c): no wake-up is lost,
 * and only a parked worker costs a system call.
 */
#ifndef AX_RUNTIME_IDLE_H
#define AX_RUNTIME_IDLE_H

#include "runtime/worker.h"

/* Waits for work: spins (multi-thread), then parks until woken. */
void ax__idle_park(ax__worker_t *w, ax__task_t *until);
/* w got a task after being idle: the idle period counts towards its spin
 * policy, and work it found beyond that task is passed on. */
void ax__idle_end(ax__worker_t *w);
/* Wakes w if it is parked (any thread). */
void ax__idle_unpark(ax__worker_t *w);
/* Wakes one parked worker of rt to pick up new work, unless a worker is
 * spinning (it will find the work). */
void ax__idle_notify(ax_runtime_t *rt);
/* Wakes one parked worker of rt, if any, spinner or not. */
void ax__idle_wake_one(ax_runtime_t *rt);

#endif
