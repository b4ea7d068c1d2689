/* axle — a pumped runtime in a Win32 message loop.
 *
 * Optional: built as libaxle-win32 on Windows (meson dependency
 * 'axle-win32'); off in a subproject build unless -Daxle:win32=enabled.
 *
 *   ax_win32_t *axle;
 *   ax_win32_new(NULL, &axle);              // on the GUI thread
 *   ax_spawn_on(ax_win32_runtime(axle), ...);
 *   int code = ax_win32_run(axle);          // or your own message loop
 *   ax_win32_free(axle);
 *
 * ax_win32_new makes a pumped current-thread runtime (<axle/embed.h>)
 * whose thread is the caller's, and a hidden message-only window on that
 * thread.  The runtime's wake callback posts a message to that window
 * (PostMessage is safe from any thread); the window procedure pumps
 * (AX_PUMP_BUDGET polls), then arms a Win32 timer on the window for the
 * runtime's next timer, or kills it when there is none.  So any message
 * loop on the thread drives the runtime: ax_win32_run's, your own
 * GetMessage/DispatchMessage loop, and the modal loops of dialogs, menus
 * and window moves.  I/O: a thread of the runtime's waits on the libuv
 * loop's completion port and wakes it.  An idle runtime posts nothing and
 * has no timer.  Win32 timers have a resolution of 10-16 ms: a sleep on
 * this runtime ends up to that much late.
 *
 * Every task of the runtime runs on the GUI thread, inside
 * DispatchMessage: it may touch the thread's windows.
 *
 * Ownership: *out is the caller's until ax_win32_free; the runtime and
 * the hidden window belong to it.
 */
#ifndef AXLE_WIN32_H
#define AXLE_WIN32_H

/* embed.h first: libuv's headers bring winsock2.h, which must come before
 * windows.h. */
#include "embed.h"

#include <windows.h>

#if defined(AXLE_WIN32_SHARED_BUILD)
#  define AX_WIN32_EXTERN __declspec(dllexport)
#elif defined(AXLE_WIN32_SHARED)
#  define AX_WIN32_EXTERN __declspec(dllimport)
#else
#  define AX_WIN32_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_win32_s ax_win32_t;

/* Creates the runtime and its hidden window on the calling thread (which
 * must run a message loop).  b: NULL for the defaults, or a builder of
 * flavour AX_CURRENT_THREAD without a loop.  0, or AX_EINVAL (out NULL, a
 * builder of another kind), AX_ENOMEM, a libuv error, or UV_EIO when the
 * window cannot be created; *out is NULL on error. */
AX_WIN32_EXTERN int ax_win32_new(const ax_builder_t *b, ax_win32_t **out);

/* The runtime to spawn on (valid until ax_win32_free).  w: not NULL,
 * asserted. */
AX_WIN32_EXTERN ax_runtime_t *ax_win32_runtime(const ax_win32_t *w);

/* A plain message loop (GetMessage, TranslateMessage, DispatchMessage)
 * until WM_QUIT; returns its exit code (PostQuitMessage's argument), or
 * -1 when GetMessage fails.  On w's thread.  w: not NULL, asserted. */
AX_WIN32_EXTERN int ax_win32_run(ax_win32_t *w);

/* Cancels every task still there (their drops run here), waits for
 * running blocking jobs, frees the runtime and destroys the window.  On
 * w's thread, outside the runtime's tasks (AX_ENESTED, nothing freed).
 * NULL: no-op, 0. */
AX_WIN32_EXTERN int ax_win32_free(ax_win32_t *w);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_WIN32_H */
