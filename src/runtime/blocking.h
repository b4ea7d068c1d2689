/* Internal: the blocking pool's process-wide settings (blocking.c). */
#ifndef AX_RUNTIME_BLOCKING_H
#define AX_RUNTIME_BLOCKING_H

#include "axle/runtime.h"

/* Fixes libuv's pool size (UV_THREADPOOL_SIZE) before its first job:
 * 0, AX_EPOOLSIZE (started, or set to another size already) or a libuv
 * error from setting the variable. */
int ax__blocking_configure(unsigned max_threads);

/* The runtime whose blocking job the calling pool thread is running, or
 * NULL: such a job must not wait for its own runtime's shutdown. */
ax_runtime_t *ax__blocking_runtime(void);

#endif
