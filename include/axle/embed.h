/* axle — living inside an event loop the application owns (desktop apps).
 *
 * A desktop application owns its main thread and its loop (GLib, Win32,
 * Qt, a libuv app), and only that thread may touch its widgets.  axle fits
 * in two ways:
 *
 * 1. A pumped runtime (ax_runtime_new_pumped): a current-thread runtime
 *    that never takes the thread.  The application calls ax_pump() to run
 *    what is ready (a budget of task polls and one non-blocking turn of
 *    axle's libuv loop, due timers and I/O included), asks ax_pump_timeout()
 *    how long it may sleep, and gets a wake callback, from any thread, when
 *    the runtime has work (a task woken by a worker or any other thread, a
 *    blocking job finished, a spawn from another thread).  It turns that
 *    callback into its own loop's wake-up (g_main_context_wakeup,
 *    PostMessage, QMetaObject::invokeMethod) and calls ax_pump() from
 *    there.  I/O readiness reaches the application either through
 *    ax_pump_fd() (Unix: watch it for reading in the application's loop) or
 *    through a thread of the runtime's that waits on the loop's backend and
 *    calls the wake callback (io_thread; the only way on Windows).
 *    <axle/glib.h> and <axle/win32.h> are ready-made adapters.
 *
 * 2. A libuv application that runs uv_run() itself: a current-thread
 *    runtime built on its loop (builder.loop).  Tasks then run inside the
 *    application's uv_run(), on the loop's thread, whenever they are woken:
 *    nothing else is needed.  axle's own handles on that loop are unref'd,
 *    so uv_run(UV_RUN_DEFAULT) returns once the application's own handles
 *    and requests are done, even with axle tasks still waiting (they go on
 *    at the next uv_run, or are cancelled by ax_runtime_free).  From the
 *    loop's callbacks, never call ax_block_on (it would nest uv_run: it
 *    returns AX_ENESTED inside a task); spawn with ax_spawn_on and await
 *    the join handle in a task, or call ax_pump() to run ready tasks now.
 *
 * Either way every task of the runtime is polled on the application's
 * thread: the GUI-thread rule holds by construction.  Tasks on a
 * multi-thread runtime send work to it with ax_spawn_on(gui_rt, ...) and
 * await the join handle, and the other way round; abort and shutdown work
 * across runtimes as anywhere else.
 *
 * Threads: ax_runtime_new_pumped's calling thread is the runtime's thread.
 * ax_pump, ax_pump_timeout, ax_pump_fd and ax_runtime_free are called
 * there only; ax_spawn_on, wakers and ax_spawn_blocking_on from anywhere.
 *
 * An idle pumped runtime makes no wake-ups and has no timer: with nothing
 * to do, ax_pump_timeout() returns -1 and the wake callback is not called.
 *
 * Closing (either kind): on the runtime's thread only, where the drops of
 * its tasks then run (ax_runtime_free elsewhere: AX_EINVAL).
 * ax_runtime_free cancels every task, timer and blocking job not started,
 * waits for running blocking jobs, and (pumped) makes no wake call after
 * it returns.  On an application's uv loop it gives that loop one
 * uv_run(UV_RUN_NOWAIT) turn to close axle's handles (uv_loop_close works
 * right after), so call it outside the loop's callbacks; inside them, use
 * ax_runtime_shutdown_background(rt): on the runtime's thread it cancels
 * at once and the closes finish at the end of the loop's current turn.
 * ax_runtime_shutdown_background from another thread only stops the
 * runtime (spawns fail, ax_pump and ax_pump_timeout return AX_ESHUTDOWN):
 * a runtime on an application's uv loop is then freed by its next
 * wake-up, a pumped one by the application's ax_runtime_free.
 */
#ifndef AXLE_EMBED_H
#define AXLE_EMBED_H

#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called from any thread (a worker, a blocking-pool thread, the I/O
 * thread, the runtime's own thread) when the runtime has work: schedule an
 * ax_pump() on the runtime's thread and return.  Never call ax_pump() from
 * inside it, nor block: it may run while locks of the caller are held.
 * Calls are coalesced: after one, the next comes only once an ax_pump()
 * has started. */
typedef void (*ax_wake_fn)(void *arg);

/* How a pumped runtime tells the application about work.  Zero it
 * (AX_ZERO(ax_pump_config_t) in C++), then set what you need. */
typedef struct ax_pump_config_s {
  ax_wake_fn wake;        /* the wake callback, or NULL (an application
                             that pumps on its own schedule, every frame) */
  void *wake_arg;         /* its argument: must stay valid until on_free
                             is called (or ax_runtime_free returns) */
  int io_thread;          /* 1: a thread waits for I/O on the runtime's
                             loop and calls wake when some is ready
                             (needed for I/O on Windows, where the loop
                             has no pollable descriptor; on Unix watching
                             ax_pump_fd() costs no thread) */
  void (*on_free)(void *wake_arg);  /* NULL, or called once by
                             ax_runtime_free after the last wake call:
                             release what wake_arg holds */
} ax_pump_config_t;

/* Polls at most this many tasks per ax_pump() in the adapters: enough to
 * drain a burst of wake-ups, small enough (a few hundred microseconds of
 * typical task work) that input and painting are not held up. */
#define AX_PUMP_BUDGET 64

/* Creates a pumped current-thread runtime on the calling thread (its
 * thread from now on).  b: NULL for the defaults, or a builder of flavour
 * AX_CURRENT_THREAD without a loop (the runtime owns its loop); cfg may be
 * NULL (no callback).  0, AX_EINVAL, AX_ENOMEM, or a libuv error (the I/O
 * thread could not start). */
AX_EXTERN int ax_runtime_new_pumped(const ax_builder_t *b,
                                    const ax_pump_config_t *cfg,
                                    ax_runtime_t **out);

/* Runs what is ready, never blocking: the ops other threads posted, one
 * uv_run(UV_RUN_NOWAIT) turn of the runtime's loop (due timers, ready I/O,
 * finished requests), then task polls until none is ready or `budget`
 * polls were made (0: no polls, only the loop).  Returns 1 when tasks are
 * still ready (the budget ran out: the wake callback has been called
 * again, so your loop gets to its own events first and then pumps again),
 * 0 when nothing is ready, or an error: AX_EINVAL (not a pumped runtime or
 * a runtime on a loop you own, or not the runtime's thread), AX_ENESTED
 * (called from inside a task or a drop of any runtime), AX_ESHUTDOWN.
 *
 * On a runtime built on your own libuv loop (builder.loop) it runs ready
 * tasks only; your uv_run() does the loop.  Callable from your loop's
 * callbacks (where ax_block_on is not). */
AX_EXTERN int ax_pump(ax_runtime_t *rt, unsigned budget);

/* Milliseconds until ax_pump() will have something to do without a wake
 * callback: 0 (pump now: tasks are ready, or the loop has due work), the
 * time until the runtime's next timer, or -1 (nothing: wait for the wake
 * callback or for ax_pump_fd()).  Give it to your loop as its timeout
 * after every pump.  The runtime's thread only. */
AX_EXTERN int ax_pump_timeout(ax_runtime_t *rt);
/* Errors: AX_EINVAL (as for ax_pump), AX_ESHUTDOWN (stopped by
 * ax_runtime_shutdown_background on another thread: wait for no timer,
 * and free it with ax_runtime_free). */

/* A descriptor that polls readable when the runtime's loop has I/O ready
 * (the loop's backend: epoll or kqueue): watch it for reading in your
 * loop and ax_pump() when it is.  Valid until ax_runtime_free.  UV_ENOTSUP
 * where there is none (Windows: use io_thread). */
AX_EXTERN int ax_pump_fd(ax_runtime_t *rt);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_EMBED_H */
