/* Internal: what the calling thread is (which runtime, which worker loop).
 * Everything that must run on a loop's thread asks here. */
#ifndef AX_RUNTIME_CURRENT_H
#define AX_RUNTIME_CURRENT_H

#include "axle/runtime.h"
#include "time/wheel.h"

typedef struct ax__worker_s ax__worker_t;

/* The worker (or block_on driver) whose loop the calling thread runs, or
 * NULL on any other thread. */
ax__worker_t *ax__worker_current(void);
uv_loop_t *ax__worker_loop(ax__worker_t *w);
ax__wheel_t *ax__worker_wheel(ax__worker_t *w);
ax_runtime_t *ax__worker_runtime(ax__worker_t *w);

#endif
