/* axle — a pumped runtime on a GLib main context (GTK applications).
 *
 * Optional: built as libaxle-glib (pkg-config axle-glib, meson
 * dependency('axle-glib')) when GLib is found; off in a subproject build
 * unless -Daxle:glib=enabled.
 *
 *   ax_glib_t *g;
 *   gtk_init();
 *   ax_glib_new(NULL, NULL, &g);            // on the GTK thread
 *   ax_spawn_on(ax_glib_runtime(g), ...);   // tasks that touch widgets
 *   ...g_main_loop_run / g_application_run...
 *   ax_glib_free(g);                        // cancels what is left
 *
 * ax_glib_new makes a pumped current-thread runtime (<axle/embed.h>) whose
 * thread is the caller's, and attaches to the context a GSource that runs
 * its ready tasks (AX_PUMP_BUDGET polls per dispatch, so input and
 * painting go on between bursts), sleeps exactly until the runtime's next
 * timer, and is woken by g_main_context_wakeup() when a task is woken
 * from another thread, a blocking job ends or a spawn arrives.  I/O
 * readiness: on Unix the source polls the runtime's loop descriptor along
 * with GLib's own; on Windows a thread of the runtime's waits on the
 * loop's completion port.  An idle runtime adds no timeout and no wake-up
 * to the context.
 *
 * Every task of that runtime is polled on the context's thread, inside
 * the context's dispatch: it may touch widgets.  Other threads (workers of
 * a multi-thread runtime, blocking jobs, plain threads) reach it with
 * ax_spawn_on(ax_glib_runtime(g), ...) and join handles, as any runtime.
 *
 * Ownership: *out is the caller's until ax_glib_free.  The context is
 * referenced by the source until then; the runtime belongs to g (do not
 * ax_runtime_free it yourself).
 */
#ifndef AXLE_GLIB_H
#define AXLE_GLIB_H

#include <glib.h>

#include "embed.h"

#if defined(_WIN32) && defined(AXLE_GLIB_SHARED_BUILD)
#  define AX_GLIB_EXTERN __declspec(dllexport)
#elif defined(_WIN32) && defined(AXLE_GLIB_SHARED)
#  define AX_GLIB_EXTERN __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define AX_GLIB_EXTERN __attribute__((visibility("default")))
#else
#  define AX_GLIB_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_glib_s ax_glib_t;

/* Creates the runtime and attaches its source to `context` (NULL: the
 * global default context, GTK's), at G_PRIORITY_DEFAULT.  Call it on the
 * thread that runs the context; that thread is the runtime's.  b: NULL for
 * the defaults, or a builder of flavour AX_CURRENT_THREAD without a loop.
 * 0, or AX_EINVAL (out NULL, a builder of another kind), AX_ENOMEM, a
 * libuv error; *out is NULL on error. */
AX_GLIB_EXTERN int ax_glib_new(GMainContext *context, const ax_builder_t *b,
                               ax_glib_t **out);

/* The runtime to spawn on (valid until ax_glib_free).  g: not NULL,
 * asserted. */
AX_GLIB_EXTERN ax_runtime_t *ax_glib_runtime(const ax_glib_t *g);

/* The source, to change its priority (g_source_set_priority) or name.
 * Owned by g.  g: not NULL, asserted. */
AX_GLIB_EXTERN GSource *ax_glib_source(ax_glib_t *g);

/* Cancels every task still there (their drops run here, on this thread),
 * waits for running blocking jobs, frees the runtime, detaches and frees
 * the source.  On the context's thread, outside the runtime's tasks
 * (AX_ENESTED, nothing freed).  NULL: no-op, 0. */
AX_GLIB_EXTERN int ax_glib_free(ax_glib_t *g);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_GLIB_H */
