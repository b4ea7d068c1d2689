/* The GLib adapter (<axle/glib.h>): a GSource that pumps a pumped runtime.
 *
 * Uses only the public API (<axle/embed.h>): it is what any other
 * toolkit's adapter would be.  The GSource's three steps:
 *   prepare   ready at once if the wake callback fired since the last
 *             dispatch; else GLib's poll timeout is ax_pump_timeout()
 *             (-1 when idle: the context sleeps until something else
 *             wakes it, so an idle runtime costs it nothing);
 *   check     woken, the loop's descriptor readable (Unix), or a timer
 *             due;
 *   dispatch  one ax_pump().  A pump that leaves tasks ready has called
 *             the wake callback again, so the next iteration dispatches
 *             again, after the context's other sources had their turn.
 * The source cannot recurse (GLib's default): a task that ran a nested
 * main loop must not get a pump inside its own poll.  The price: GLib
 * removes a dispatched source's descriptor and adds it back, signalling
 * its own wake-up, so each dispatch is followed by one poll that returns
 * at once (2 polls per tick of a 16 ms timer, 1 without the descriptor;
 * BENCHMARKS.md, "Desktop").
 */
#include <assert.h>

#include "axle/glib.h"

struct ax_glib_s {
  GSource source;          /* first: GLib allocates the whole struct */
  ax_runtime_t *rt;        /* the pumped runtime (ours) */
  GMainContext *context;   /* referenced while the source is attached */
  gpointer fd_tag;         /* Unix: the loop's descriptor; else NULL */
  gint woken;              /* g_atomic: the wake callback fired */
};

/* Any thread: the runtime has work.  g_main_context_wakeup ends the
 * context's poll (it is thread safe); the flag makes check() say so.  The
 * runtime makes no call after ax_runtime_free has returned, and the
 * context is unreferenced only after that. */
static void glib_wake(void *arg) {
  ax_glib_t *g = arg;
  g_atomic_int_set(&g->woken, 1);
  g_main_context_wakeup(g->context);
}

static gboolean src_prepare(GSource *s, gint *timeout) {
  ax_glib_t *g = (ax_glib_t *)s;
  int t;
  if (g_atomic_int_get(&g->woken)) {
    *timeout = 0;
    return TRUE;
  }
  t = ax_pump_timeout(g->rt);
  /* An error (another thread iterates this context): no timeout of ours. */
  *timeout = t >= 0 ? t : -1;
  return t == 0;
}

static gboolean src_check(GSource *s) {
  ax_glib_t *g = (ax_glib_t *)s;
  if (g_atomic_int_get(&g->woken)) return TRUE;
#ifdef G_OS_UNIX
  if (g->fd_tag != NULL && (g_source_query_unix_fd(s, g->fd_tag) & G_IO_IN))
    return TRUE;
#endif
  return ax_pump_timeout(g->rt) == 0;
}

static gboolean src_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
  ax_glib_t *g = (ax_glib_t *)s;
  int rc;
  (void)cb;
  (void)data;
  /* Cleared before the pump: a wake during it is for work it may not see,
   * and sets the flag again for the next iteration. */
  g_atomic_int_set(&g->woken, 0);
  rc = ax_pump(g->rt, AX_PUMP_BUDGET);
  if (rc < 0 && rc != AX_ESHUTDOWN)
    g_critical("axle: ax_pump: %s (the runtime's thread must run its "
               "GMainContext)", ax_strerror(rc));
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs src_funcs = {src_prepare, src_check, src_dispatch, NULL,
                                 NULL, NULL};

int ax_glib_new(GMainContext *context, const ax_builder_t *b,
                ax_glib_t **out) {
  ax_pump_config_t cfg = AX_ZERO(ax_pump_config_t);
  ax_glib_t *g;
  int rc;
  if (out == NULL) return AX_EINVAL;
  *out = NULL;
  if (context == NULL) context = g_main_context_default();
  g = (ax_glib_t *)g_source_new(&src_funcs, sizeof(ax_glib_t));
  g_source_set_name(&g->source, "axle");
  g->context = g_main_context_ref(context);
  cfg.wake = glib_wake;
  cfg.wake_arg = g;
#ifndef G_OS_UNIX
  /* No descriptor to poll (Windows: a completion port): a thread waits. */
  cfg.io_thread = 1;
#endif
  rc = ax_runtime_new_pumped(b, &cfg, &g->rt);
  if (rc != 0) {
    g_main_context_unref(g->context);
    g_source_unref(&g->source);
    return rc;
  }
#ifdef G_OS_UNIX
  {
    int fd = ax_pump_fd(g->rt);
    if (fd >= 0) g->fd_tag = g_source_add_unix_fd(&g->source, fd, G_IO_IN);
  }
#endif
  g_source_attach(&g->source, context);
  *out = g;
  return 0;
}

ax_runtime_t *ax_glib_runtime(const ax_glib_t *g) {
  assert(g != NULL);
  return g->rt;
}

GSource *ax_glib_source(ax_glib_t *g) {
  assert(g != NULL);
  return &g->source;
}

int ax_glib_free(ax_glib_t *g) {
  GMainContext *context;
  int rc;
  if (g == NULL) return 0;
  rc = ax_runtime_free(g->rt);
  if (rc != 0) return rc;
  /* No wake call can come any more: the source and the context may go. */
  g->rt = NULL;
  context = g->context;
  g_source_destroy(&g->source);
  g_source_unref(&g->source);
  g_main_context_unref(context);
  return 0;
}
