/* A desktop app on axle: search as you type, and a download with progress.
 *
 * The GUI thread runs GLib's main loop (GTK's, when built with GTK 4:
 * -DAX_DEMO_GTK) and an axle runtime inside it (<axle/glib.h>): the tasks
 * that touch widgets run there.  The heavy work goes elsewhere:
 *   - every keystroke aborts the previous search task and starts a new
 *     one, which waits 150 ms (the debounce: typing on aborts it there),
 *     then runs the search with spawn_blocking on libuv's pool; a search
 *     made stale by a keystroke while its job runs is aborted too (the
 *     job finishes on the pool, its result is freed, nobody waits);
 *   - "Download" (or Enter) fetches a file from a server task running on a
 *     multi-thread runtime (loopback TCP, paced like a slow network); the
 *     GUI task reads it and moves a progress bar, never blocking the loop;
 *   - closing the window cancels whatever is in flight: the tasks' drop
 *     handlers run, on the GUI thread, before the widgets go.
 * Each event is also a line on stdout, which the Xvfb test
 * (tests/check-desktop.py) reads.
 *
 *   desktop --headless   no window: types "axle" in one go, downloads,
 *                        exits (the examples test compares its output)
 */
#include <axle.h>
#include <axle/glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef AX_DEMO_GTK
#include <gtk/gtk.h>
#endif

#define CHUNK 16384

static ax_glib_t *gui;          /* the GUI thread's runtime */
static ax_runtime_t *workers;   /* the server's */
static uint16_t port;           /* the server's */
static size_t file_size;        /* what it serves */
static unsigned pace_ms;        /* its pause between chunks */
static int stale;               /* searches cancelled (GUI thread only) */
static int downloading;         /* a download runs (GUI thread only) */
static GMainLoop *headless_loop;

/* ---- the view: widgets, and a line on stdout for each change ----------- */

#ifdef AX_DEMO_GTK
static GtkWidget *win, *results_label, *progress_bar, *status_label;
#endif

static void show_results(const char *query, const char *text) {
  printf("results: '%s' -> %s\n", query, text);
  fflush(stdout);
#ifdef AX_DEMO_GTK
  if (results_label != NULL) gtk_label_set_text(GTK_LABEL(results_label), text);
#endif
}

static void show_progress(size_t got) {
  static unsigned last_quarter;
  unsigned quarter = (unsigned)(got * 4 / file_size);
  if (got == 0) last_quarter = 0;
  if (quarter > last_quarter) {
    last_quarter = quarter;
    printf("download: %u%%\n", quarter * 25);
    fflush(stdout);
  }
#ifdef AX_DEMO_GTK
  if (progress_bar != NULL)
    gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(progress_bar),
                                  (double)got / (double)file_size);
#endif
}

static void show_status(const char *text) {
  printf("status: %s\n", text);
  fflush(stdout);
#ifdef AX_DEMO_GTK
  if (status_label != NULL) gtk_label_set_text(GTK_LABEL(status_label), text);
#endif
}

/* ---- the search: debounce, then a blocking job -------------------------- */

static const char *const words[] = {
    "async", "await", "axe", "axes", "axial", "axiom", "axis", "axle",
    "axles", "axletree", "awake", "backpressure", "blocking", "channel",
    "future", "join", "libuv", "loop", "mutex", "poll", "pump", "runtime",
    "select", "sleep", "spawn", "task", "timer", "waker", "worker", "yield"};

/* On libuv's pool: the "expensive" search (a scan with a pause, as over a
 * big index).  Returns a malloc'd line of matches; arg is the query, ours
 * once we run (ax_spawn_blocking_with frees it only if we never do). */
static void *search_words(void *arg) {
  char *q = arg;
  char *out = calloc(1, 256);
  size_t i, n = 0;
  g_usleep(30000);
  if (out == NULL) {
    g_free(q);
    return NULL;
  }
  for (i = 0; i < sizeof words / sizeof *words; i++) {
    if (strstr(words[i], q) == NULL) continue;
    if (n++ > 0) strcat(out, ", ");
    strcat(out, words[i]);
  }
  if (n == 0) strcpy(out, "(none)");
  g_free(q);
  return out;
}

typedef struct search_s {
  ax_async_t co;
  ax_sleep_t debounce;
  ax_join_t job;
  char query[64];
  int done;            /* showed its results */
} search_t;

AX_ASYNC(search, search_t, self) {
  char *text;
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->debounce, 150));
  /* The job owns its argument (a copy, freed with it) and its result
   * until we take it: an abort leaks neither. */
  if (ax_spawn_blocking_with(NULL, search_words, g_strdup(self->query), g_free,
                             free, &self->job) != 0)
    AX_RETURN();
  AX_AWAIT(ax_join_wait(&self->job));
  text = ax_join_value(&self->job);
  show_results(self->query, text != NULL ? text : "(out of memory)");
  free(text);
  self->done = 1;
  AX_END();
}

/* Runs on abort too (the drop of an aborted task): a stale search. */
AX_ASYNC_DROP(search_drop, search_t, self) {
  ax_join_drop(&self->job);   /* detaches a running job */
  if (!self->done) stale++;
}

static ax_join_t current_search;

/* A keystroke (the GUI thread): the previous search is stale. */
static void on_query(const char *query) {
  search_t s = AX_ZERO(search_t);
  /* Aborting a finished (or never started) search does nothing. */
  (void)ax_abort(&current_search);
  ax_join_drop(&current_search);
  if (query[0] == '\0') return;
  g_strlcpy(s.query, query, sizeof s.query);
  ax_spawn_on(ax_glib_runtime(gui), AX_FUTURE_DROP(search, search_drop, &s),
              sizeof s, &current_search);
}

/* ---- the server (workers) and the download (GUI thread) ----------------- */

typedef struct serve_s {           /* one connection */
  ax_async_t co;
  ax_stream_t *conn;
  ax_write_t wr;
  ax_sleep_t pace;
  size_t sent;
  char chunk[CHUNK];
} serve_t;

AX_ASYNC(serve, serve_t, self) {
  AX_BEGIN(self);
  memset(self->chunk, 'x', sizeof self->chunk);
  while (self->sent < file_size) {
    AX_AWAIT(ax_sleep(&self->pace, pace_ms));
    AX_AWAIT(ax_write_all(&self->wr, self->conn, self->chunk, CHUNK));
    if (self->wr.result != 0) break;   /* the client went away */
    self->sent += CHUNK;
  }
  AX_END();
}

AX_ASYNC_DROP(serve_drop, serve_t, self) { ax_stream_close(self->conn); }

typedef struct server_s {          /* the accept loop */
  ax_async_t co;
  ax_tcp_listener_t *l;
  ax_tcp_accept_t acc;
} server_t;

AX_ASYNC(server, server_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_tcp_accept(&self->acc, self->l));
    if (self->acc.result != 0) continue;
    {
      serve_t c = AX_ZERO(serve_t);
      c.conn = self->acc.stream;
      if (ax_spawn(AX_FUTURE_DROP(serve, serve_drop, &c), sizeof c, NULL) != 0)
        ax_stream_close(c.conn);
    }
  }
  AX_END();
}

AX_ASYNC_DROP(server_drop, server_t, self) { ax_tcp_listener_close(self->l); }

typedef struct download_s {
  ax_async_t co;
  ax_tcp_connect_t conn;
  ax_read_t rd;
  ax_stream_t *s;
  size_t got;
  int finished;
  char buf[CHUNK];
} download_t;

AX_ASYNC(download, download_t, self) {
  AX_BEGIN(self);
  show_progress(0);
  show_status("downloading...");
  AX_AWAIT(ax_tcp_connect(&self->conn, "127.0.0.1", port, NULL));
  if (self->conn.result != 0) {
    show_status(ax_strerror(self->conn.result));
    AX_RETURN();
  }
  self->s = self->conn.stream;
  for (;;) {
    AX_AWAIT(ax_read(&self->rd, self->s, self->buf, sizeof self->buf));
    if (self->rd.result != 0 || self->rd.nread == 0) break;
    self->got += self->rd.nread;
    show_progress(self->got);
  }
  self->finished = 1;
  printf("download: done, %zu bytes\n", self->got);
  show_status("downloaded");
  if (headless_loop != NULL) g_main_loop_quit(headless_loop);
  AX_END();
}

/* Closing the window mid-download ends up here, on the GUI thread. */
AX_ASYNC_DROP(download_drop, download_t, self) {
  ax_stream_close(self->s);
  downloading = 0;
  if (!self->finished)
    printf("download: cancelled at %zu%%\n", self->got * 100 / file_size);
  fflush(stdout);
}

static ax_join_t current_download;

static void start_download(void) {
  download_t d = AX_ZERO(download_t);
  if (downloading) return;   /* one at a time */
  downloading = 1;
  ax_join_drop(&current_download);
  ax_spawn_on(ax_glib_runtime(gui), AX_FUTURE_DROP(download, download_drop, &d),
              sizeof d, &current_download);
}

/* ---- start and end -------------------------------------------------------- */

typedef struct bind_s {
  ax_async_t co;
  ax_tcp_bind_t bind;
  int result;
} bind_t;

AX_ASYNC(bind_fn, bind_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_tcp_bind(&self->bind, "127.0.0.1", 0, NULL));
  self->result = self->bind.result;
  AX_END();
}

static int start_server(void) {
  ax_builder_t b;
  bind_t bf = AX_ZERO(bind_t);
  server_t srv = AX_ZERO(server_t);
  struct sockaddr_storage addr;
  ax_builder_init(&b, AX_MULTI_THREAD);
  b.worker_threads = 2;
  if (ax_runtime_new(&b, &workers) != 0) return -1;
  if (ax_block_on(workers, AX_FUTURE(bind_fn, &bf)) != 0 || bf.result != 0)
    return -1;
  ax_tcp_listener_addr(bf.bind.listener, &addr);
  port = ax_addr_port((const struct sockaddr *)&addr);
  srv.l = bf.bind.listener;
  return ax_spawn_on(workers, AX_FUTURE_DROP(server, server_drop, &srv),
                     sizeof srv, NULL);
}

/* Everything in flight is cancelled here: the GUI tasks' drops run on this
 * thread (while the widgets still exist), then the server's. */
static void stop_all(void) {
  if (gui == NULL) return;
  ax_join_drop(&current_search);
  ax_join_drop(&current_download);
  ax_glib_free(gui);
  gui = NULL;
  ax_runtime_free(workers);
  printf("stale searches cancelled: %d\n", stale);
  fflush(stdout);
}

#ifdef AX_DEMO_GTK
static void on_changed(GtkEditable *e, gpointer data) {
  (void)data;
  on_query(gtk_editable_get_text(e));
}

static void on_download(GtkWidget *w, gpointer data) {
  (void)w;
  (void)data;
  start_download();
}

static gboolean on_close_request(GtkWindow *w, gpointer data) {
  (void)w;
  (void)data;
  stop_all();
  return FALSE;   /* and let it close */
}

static gboolean on_quit_key(GtkWidget *w, GVariant *args, gpointer data) {
  (void)args;
  (void)data;
  gtk_window_close(GTK_WINDOW(w));
  return TRUE;
}

static void on_activate(GtkApplication *app, gpointer data) {
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *entry = gtk_search_entry_new();
  GtkWidget *button = gtk_button_new_with_label("Download");
  GtkEventController *keys = gtk_shortcut_controller_new();
  (void)data;
  win = gtk_application_window_new(app);
  gtk_window_set_title(GTK_WINDOW(win), "axle desktop demo");
  gtk_window_set_default_size(GTK_WINDOW(win), 420, 220);
  results_label = gtk_label_new("Type to search");
  gtk_label_set_wrap(GTK_LABEL(results_label), TRUE);
  progress_bar = gtk_progress_bar_new();
  gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(progress_bar), TRUE);
  status_label = gtk_label_new("");
  gtk_widget_set_margin_start(box, 12);
  gtk_widget_set_margin_end(box, 12);
  gtk_widget_set_margin_top(box, 12);
  gtk_box_append(GTK_BOX(box), entry);
  gtk_box_append(GTK_BOX(box), results_label);
  gtk_box_append(GTK_BOX(box), button);
  gtk_box_append(GTK_BOX(box), progress_bar);
  gtk_box_append(GTK_BOX(box), status_label);
  gtk_window_set_child(GTK_WINDOW(win), box);
  g_signal_connect(entry, "changed", G_CALLBACK(on_changed), NULL);
  g_signal_connect(entry, "activate", G_CALLBACK(on_download), NULL);
  g_signal_connect(button, "clicked", G_CALLBACK(on_download), NULL);
  g_signal_connect(win, "close-request", G_CALLBACK(on_close_request), NULL);
  gtk_shortcut_controller_add_shortcut(
      GTK_SHORTCUT_CONTROLLER(keys),
      gtk_shortcut_new(gtk_shortcut_trigger_parse_string("<Control>q"),
                       gtk_callback_action_new(on_quit_key, NULL, NULL)));
  gtk_widget_add_controller(win, keys);
  gtk_window_present(GTK_WINDOW(win));
  gtk_widget_grab_focus(entry);
  printf("ready\n");
  fflush(stdout);
}
#endif

/* Headless: the same code paths without a window.  The keystrokes come in
 * one go, so the first three searches are stale by construction. */
static gboolean headless_script(gpointer data) {
  (void)data;
  on_query("a");
  on_query("ax");
  on_query("axl");
  on_query("axle");
  return G_SOURCE_REMOVE;
}

static gboolean headless_poll(gpointer data) {
  (void)data;
  if (stale < 3 || !ax_join_is_finished(&current_search))
    return G_SOURCE_CONTINUE;
  start_download();
  return G_SOURCE_REMOVE;
}

int main(int argc, char **argv) {
  int headless = argc > 1 && strcmp(argv[1], "--headless") == 0;
  int status = 0;
#ifndef AX_DEMO_GTK
  headless = 1;   /* built without GTK: GLib only */
#endif
  file_size = headless ? 64 * CHUNK : 256 * CHUNK;
  pace_ms = headless ? 2 : 20;
  if (start_server() != 0) {
    fprintf(stderr, "desktop: cannot start the server\n");
    return 1;
  }
  if (ax_glib_new(NULL, NULL, &gui) != 0) return 1;
  if (headless) {
    headless_loop = g_main_loop_new(NULL, FALSE);
    g_idle_add(headless_script, NULL);
    g_timeout_add(10, headless_poll, NULL);
    g_main_loop_run(headless_loop);
    g_main_loop_unref(headless_loop);
  } else {
#ifdef AX_DEMO_GTK
    GtkApplication *app =
        gtk_application_new("org.axle.DesktopDemo", G_APPLICATION_NON_UNIQUE);
    g_signal_connect(app, "activate", G_CALLBACK(on_activate), NULL);
    status = g_application_run(G_APPLICATION(app), 1, argv);
    g_object_unref(app);
#endif
  }
  stop_all();
  printf("bye\n");
  return status;
}
