/* Internal: the I/O thread of a pumped runtime (ax_pump_config_t.io_thread).
 *
 * Electron's way of embedding libuv in another loop: a thread waits on the
 * loop's backend (without running the loop) and tells the loop's thread,
 * which then runs uv_run(UV_RUN_NOWAIT).  The backend stays ready until
 * that turn has taken the events (level-triggered), so after each report
 * the thread waits for the next pump (ax__iowatch_arm) before it looks
 * again: one report per batch of events, no spinning.
 *
 *   iowatch_unix.c  poll() on uv_backend_fd (epoll, kqueue), with a pipe
 *                   to stop it.
 *   iowatch_win.c   GetQueuedCompletionStatus on the loop's completion
 *                   port; each packet taken is posted back at once for
 *                   libuv's own turn to find.
 *
 * Timers are not its business: the application sleeps at most
 * ax_pump_timeout(), so a timer costs one wake-up, not two.
 */
#ifndef AX_RUNTIME_IOWATCH_H
#define AX_RUNTIME_IOWATCH_H

#include <uv.h>

typedef struct ax__iowatch_s ax__iowatch_t;

/* Starts the thread; ready(arg) is called from it when loop has I/O.  On
 * loop's thread.  0 or a negative error code. */
int ax__iowatch_start(ax__iowatch_t **out, uv_loop_t *loop,
                      void (*ready)(void *arg), void *arg);
/* After a uv_run turn of the loop (its thread): the thread may wait again. */
void ax__iowatch_arm(ax__iowatch_t *io);
/* Stops and joins the thread, frees it; before the loop closes. */
void ax__iowatch_stop(ax__iowatch_t *io);

#endif
