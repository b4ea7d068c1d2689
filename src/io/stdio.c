/* Standard input, output and error as streams (<axle/stdio.h>).
 *
 * A stdio stream is a small object with a vtable of its own in front of
 * either a libuv stream (uvstream.c: a uv_tty_t or uv_pipe_t, to which
 * every call is passed on) or, for what libuv cannot stream (regular
 * files, most often), fs requests on the threadpool (the FILE code below).
 * Being in front lets it do what closing a stdio stream needs beyond
 * closing a handle: reset the terminal's mode, give the descriptor back its
 * blocking mode, and free the descriptor for the next stream.
 *
 * The registry (process-wide, `reg`) makes one stream per descriptor at a
 * time and keeps the descriptors' blocking modes:
 *   - `claimed[fd]` from ax_stdin() until the owner's ax_stream_close;
 *   - a closed stream's handle is closed on its home, maybe later (an op
 *     from another thread): until then it is on `closing[fd]`.  A new
 *     stream opened on that same home first runs that close itself, so
 *     one loop never has two handles on one descriptor (libuv's watcher
 *     table keeps one per descriptor); a new stream on another home has
 *     its own loop, and the closing one stops on its own;
 *   - `nb_live[fd]` counts TTY and pipe streams not yet closed on their
 *     homes: those may have set O_NONBLOCK (uv_pipe_open sets it on the
 *     descriptor shared with other processes; uv_tty_init does when it
 *     cannot reopen the terminal).  The flags a descriptor had before its
 *     first such stream are saved, and restored once no such stream is
 *     left on any descriptor open on the same file (stdout and stderr are
 *     often one pipe: `2>&1`).
 *
 * Memory: references held by the owner, by the home side (until the
 * handle is closed on the home, or the loop closes it), by each op posted
 * to the home and by each fs request in flight; the last frees. */
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <fcntl.h>
#  include <sys/stat.h>
#endif

#include "axle/stdio.h"
#include "core/alloc.h"
#include "core/list.h"
#include "io/proc.h"
#include "io/stream.h"
#include "io/uvstream.h"

/* The write side's states (wstate, FILE). */
enum { W_IDLE, W_BUSY, W_DONE };

typedef struct stdio_s {
  ax_stream_t base;             /* our vtable */
  int fd;                       /* 0, 1 or 2 */
  int kind;                     /* AX_STDIO_* */
  ax__ctx_t *home;              /* where its handle / requests live */
  ax__homed_t homed;            /* in home->homed until closed there */
  ax__link_t closing;           /* (reg.lock) in reg.closing[fd] */
  _Atomic int refs;             /* see above */
  _Atomic int dead;             /* the home's loop closed it */
  int home_closed;              /* home: home_close ran (or the loop's) */
  int open_err;                 /* home: the open's result */
  ax__uvs_t *inner;             /* TTY, PIPE: the libuv stream */
  int tty_changed;              /* home: uv_tty_set_mode succeeded */
  ax__spin_t lock;              /* guards the fields marked (lock) */
  int tty_mode;                 /* (lock) a mode to set on the home, -1 */
  int mode_posted;              /* (lock) mode_op is queued */
  ax__op_t close_op, mode_op, read_op, write_op;
  /* FILE: reads. */
  char *rbuf;                   /* the requests' buffer (made on home) */
  size_t roff, rlen;            /* (lock) bytes read, not handed out */
  size_t rwant;                 /* (lock) what the next request asks */
  int rbusy;                    /* (lock) a read request is in flight */
  int rres;                     /* (lock) UV_EOF or an error to report */
  ax_waker_t *rwaker;           /* (lock) the waiting read's */
  uv_fs_t rreq;                 /* home, pool */
  /* FILE: writes. */
  char *wbuf;                   /* the copy being written */
  size_t wlen;                  /* its length */
  int wstate;                   /* (lock) W_* */
  const char *wowner;           /* (lock) whose write it is (NULL:
                                   dropped) */
  int wres;                     /* (lock) the finished write's result */
  size_t wdone;                 /* (lock) and its bytes */
  ax_waker_t *wwaker, *swaker;  /* (lock) write's, shutdown's */
  uv_fs_t wreq;                 /* home, pool */
} stdio_t;

static const ax_stream_vtable_t stdio_vtable;

static int on_home(const stdio_t *s) { return ax__ctx_current() == s->home; }

static void release(stdio_t *s) {
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (s->rwaker != NULL) ax_waker_drop(s->rwaker);
  if (s->wwaker != NULL) ax_waker_drop(s->wwaker);
  if (s->swaker != NULL) ax_waker_drop(s->swaker);
  ax__free(s->rbuf);
  ax__free(s->wbuf);
  ax__free(s);
}

static void wake(ax_waker_t *w) {
  if (w != NULL) ax_waker_wake(w);
}

static void drop_waker(ax_waker_t *w) {
  if (w != NULL) ax_waker_drop(w);
}

/* Stores a clone of cx's waker in *slot unless it wakes the same task
 * (lock held); returns the old one for the caller to drop. */
static ax_waker_t *keep(ax_waker_t **slot, ax_cx_t *cx) {
  ax_waker_t *w = ax_cx_waker(cx), *old = *slot;
  if (old != NULL && ax_waker_will_wake(old, w)) return NULL;
  *slot = ax_waker_clone(w);
  return old;
}

static ax_waker_t *take(ax_waker_t **slot) {
  ax_waker_t *w = *slot;
  *slot = NULL;
  return w;
}

/* ---- the registry ------------------------------------------------------------ */

static struct {
  uv_mutex_t lock;
  int claimed[3];               /* an owner holds a stream on fd */
  ax__link_t closing[3];        /* closed by their owners, not on home */
  int nb_live[3];               /* TTY / pipe streams not closed on home */
#ifndef _WIN32
  int saved_valid[3];           /* saved_flags holds fd's own flags */
  int saved_flags[3];           /* F_GETFL before the first stream */
  int ident_valid[3];           /* dev / ino below are set */
  dev_t dev[3];                 /* the file fd was open on */
  ino_t ino[3];
#endif
} reg;
static uv_once_t reg_once = UV_ONCE_INIT;

static void reg_init(void) {
  int i;
  if (uv_mutex_init(&reg.lock) != 0) abort();
  for (i = 0; i < 3; i++) ax__list_init(&reg.closing[i]);
}

#ifndef _WIN32
/* reg.lock held: the descriptors on the same file as fd (a bit set). */
static unsigned same_file(int fd) {
  unsigned set = 1u << fd;
  int j;
  for (j = 0; j < 3; j++)
    if (j != fd && reg.ident_valid[j] && reg.ident_valid[fd] &&
        reg.dev[j] == reg.dev[fd] && reg.ino[j] == reg.ino[fd])
      set |= 1u << j;
  return set;
}
#endif

/* Home, reg.lock held: a TTY or pipe stream is about to open on fd. */
static void flags_before_open(int fd) {
#ifndef _WIN32
  struct stat st;
  unsigned set;
  int j, fl;
  reg.ident_valid[fd] = fstat(fd, &st) == 0;
  if (reg.ident_valid[fd]) {
    reg.dev[fd] = st.st_dev;
    reg.ino[fd] = st.st_ino;
  }
  if (!reg.saved_valid[fd]) {
    /* Another descriptor on the same file with a stream open already
     * changed the flags: its saved ones are this one's too. */
    set = same_file(fd);
    for (j = 0; j < 3; j++)
      if (j != fd && (set & (1u << j)) && reg.saved_valid[j]) {
        reg.saved_flags[fd] = reg.saved_flags[j];
        reg.saved_valid[fd] = 1;
        break;
      }
    if (!reg.saved_valid[fd] && (fl = fcntl(fd, F_GETFL)) != -1) {
      reg.saved_flags[fd] = fl;
      reg.saved_valid[fd] = 1;
    }
  }
#endif
  reg.nb_live[fd]++;
}

/* Home, reg.lock held: a TTY or pipe stream on fd is closed. */
static void flags_after_close(int fd) {
  reg.nb_live[fd]--;
#ifndef _WIN32
  {
    unsigned set = same_file(fd);
    int j, live = 0, fl;
    for (j = 0; j < 3; j++)
      if (set & (1u << j)) live += reg.nb_live[j];
    if (live != 0) return;  /* another stream still needs O_NONBLOCK */
    for (j = 0; j < 3; j++) {
      if (!(set & (1u << j)) || !reg.saved_valid[j]) continue;
      reg.saved_valid[j] = 0;
      if (!(reg.saved_flags[j] & O_NONBLOCK) &&
          (fl = fcntl(j, F_GETFL)) != -1 && (fl & O_NONBLOCK))
        (void)fcntl(j, F_SETFL, fl & ~O_NONBLOCK);
    }
  }
#endif
}

/* ---- closing ----------------------------------------------------------------------- */

/* Home (or the thread closing its loop): what closing needs besides the
 * handle; once. */
static void close_done(stdio_t *s) {
  s->home_closed = 1;
  if (ax__list_linked(&s->homed.link)) ax__list_remove(&s->homed.link);
  if (s->tty_changed) uv_tty_reset_mode();
  uv_mutex_lock(&reg.lock);
  if (ax__list_linked(&s->closing)) ax__list_remove(&s->closing);
  if (s->kind != AX_STDIO_FILE) flags_after_close(s->fd);
  uv_mutex_unlock(&reg.lock);
  release(s);   /* the home side's */
}

/* Home: the owner closed s: close its handle there (requests in flight
 * finish on their own, holding their references). */
static void home_close(stdio_t *s) {
  if (s->home_closed) return;
  if (s->inner != NULL) {
    ax_stream_close(&s->inner->base);   /* on home: uv_close now */
    s->inner = NULL;
  }
  close_done(s);
}

static void close_op(ax__op_t *op) {
  stdio_t *s = ax__container_of(op, stdio_t, close_op);
  home_close(s);
  release(s);   /* the op's */
}

/* The loop closes with s open: its inner stream is closed by its own
 * homed entry; the owner's later close only frees. */
static void homed_release(ax__homed_t *hd) {
  stdio_t *s = ax__container_of(hd, stdio_t, homed);
  atomic_store_explicit(&s->dead, 1, memory_order_release);
  close_done(s);
}

static void stdio_close(ax_stream_t *st) {
  stdio_t *s = (stdio_t *)st;
  int dead = atomic_load_explicit(&s->dead, memory_order_acquire);
  uv_mutex_lock(&reg.lock);
  reg.claimed[s->fd] = 0;
  if (!dead && !on_home(s)) ax__list_push_back(&reg.closing[s->fd], &s->closing);
  uv_mutex_unlock(&reg.lock);
  if (dead) {
    if (s->inner != NULL) ax_stream_close(&s->inner->base);  /* frees */
  } else if (on_home(s)) {
    home_close(s);
  } else {
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    s->home->post(s->home, &s->close_op);
  }
  release(s);   /* the owner's */
}

/* Home: closes now the streams on fd that were closed from other threads
 * and live here (their ops, queued, will find them closed). */
static void close_pending_here(int fd, ax__ctx_t *home) {
  for (;;) {
    stdio_t *found = NULL;
    ax__link_t *l;
    uv_mutex_lock(&reg.lock);
    for (l = reg.closing[fd].next; l != &reg.closing[fd]; l = l->next) {
      stdio_t *o = ax__container_of(l, stdio_t, closing);
      if (o->home == home) {
        found = o;
        break;
      }
    }
    uv_mutex_unlock(&reg.lock);
    if (found == NULL) return;
    home_close(found);   /* kept alive by its queued op's reference */
  }
}

/* ---- opening ---------------------------------------------------------------------- */

/* Home: makes the handle. */
static void open_home(void *arg) {
  stdio_t *s = arg;
  ax__uvs_t *u = NULL;
  int rc = 0;
  close_pending_here(s->fd, s->home);
  if (s->kind != AX_STDIO_FILE) {
    u = ax__uvs_alloc(s->home,
                      s->kind == AX_STDIO_TTY ? AX__UVS_TTY : AX__UVS_PIPE);
    if (u == NULL) {
      s->open_err = AX_ENOMEM;
      return;
    }
    uv_mutex_lock(&reg.lock);
    flags_before_open(s->fd);
    uv_mutex_unlock(&reg.lock);
    if (s->kind == AX_STDIO_TTY) {
      rc = uv_tty_init(s->home->loop, &u->h.tty, s->fd, s->fd == 0);
      if (rc == 0)
        ax__uvs_open(u);
      else
        ax__uvs_free_unopened(u);   /* nothing was initialised */
    } else {
      uv_pipe_init(s->home->loop, &u->h.pipe, 0);
      ax__uvs_open(u);
      if ((rc = uv_pipe_open(&u->h.pipe, s->fd)) != 0)
        ax_stream_close(&u->base);  /* on home: closed now */
    }
    if (rc != 0) {
      uv_mutex_lock(&reg.lock);
      flags_after_close(s->fd);
      uv_mutex_unlock(&reg.lock);
      s->open_err = rc;
      return;
    }
    s->inner = u;
  }
  ax__list_push_back(&s->home->homed, &s->homed.link);
}

static int stdio_open(int fd, ax_stream_t **out) {
  ax__ctx_t *c = ax__ctx_current();
  stdio_t *s;
  int rc;
  if (out == NULL) return AX_EINVAL;
  *out = NULL;
  if (c == NULL) return AX_ENORUNTIME;
  uv_once(&reg_once, reg_init);
  uv_mutex_lock(&reg.lock);
  if (reg.claimed[fd]) {
    uv_mutex_unlock(&reg.lock);
    return AX_EBUSY;
  }
  reg.claimed[fd] = 1;
  uv_mutex_unlock(&reg.lock);

  if ((s = ax__calloc(1, sizeof(*s))) == NULL) {
    rc = AX_ENOMEM;
    goto fail;
  }
  s->base.vtable = &stdio_vtable;
  s->fd = fd;
  switch (uv_guess_handle(fd)) {
    case UV_TTY:
      s->kind = AX_STDIO_TTY;
      break;
    case UV_NAMED_PIPE:
    case UV_TCP:        /* a socket: a stream all the same */
      s->kind = AX_STDIO_PIPE;
      ax__ignore_sigpipe();
      break;
    default:            /* files, devices, closed descriptors */
      s->kind = AX_STDIO_FILE;
      break;
  }
  s->home = c->home;
  atomic_init(&s->refs, 2);   /* owner + home side */
  atomic_init(&s->dead, 0);
  ax__spin_init(&s->lock);
  s->tty_mode = -1;
  s->homed.release = homed_release;
  s->close_op.fn = close_op;
  if ((rc = ax__home_call(s->home, open_home, s)) != 0 ||
      (rc = s->open_err) != 0) {
    ax__free(s);
    goto fail;
  }
  *out = &s->base;
  return 0;
fail:
  uv_mutex_lock(&reg.lock);
  reg.claimed[fd] = 0;
  uv_mutex_unlock(&reg.lock);
  return rc;
}

int ax_stdin(ax_stream_t **out) { return stdio_open(0, out); }
int ax_stdout(ax_stream_t **out) { return stdio_open(1, out); }
int ax_stderr(ax_stream_t **out) { return stdio_open(2, out); }

static stdio_t *stdio_of(ax_stream_t *st) {
  st = ax__stream_inner(st);
  return st != NULL && st->vtable == &stdio_vtable ? (stdio_t *)st : NULL;
}

int ax_stdio_kind(ax_stream_t *st) {
  stdio_t *s = stdio_of(st);
  return s != NULL ? s->kind : AX_EINVAL;
}

/* ---- terminal mode ------------------------------------------------------------ */

/* Home. */
static int mode_apply(stdio_t *s, int mode) {
  int rc;
  if (s->inner == NULL) return AX_ECLOSED;
  rc = uv_tty_set_mode(&s->inner->h.tty, (uv_tty_mode_t)mode);
  if (rc == 0) s->tty_changed = 1;
  return rc;
}

static void mode_op(ax__op_t *op) {
  stdio_t *s = ax__container_of(op, stdio_t, mode_op);
  int mode;
  ax__spin_lock(&s->lock);
  mode = s->tty_mode;
  s->tty_mode = -1;
  s->mode_posted = 0;
  ax__spin_unlock(&s->lock);
  if (mode >= 0 && !s->home_closed) (void)mode_apply(s, mode);
  release(s);   /* the op's */
}

int ax_tty_set_mode(ax_stream_t *st, ax_tty_mode_t mode) {
  stdio_t *s = stdio_of(st);
  int post = 0;
  if (s == NULL || s->kind != AX_STDIO_TTY) return AX_EINVAL;
  if (mode != AX_TTY_NORMAL && mode != AX_TTY_RAW && mode != AX_TTY_IO)
    return AX_EINVAL;
  if (atomic_load_explicit(&s->dead, memory_order_acquire)) return AX_ECLOSED;
  if (on_home(s)) return mode_apply(s, (int)mode);
  ax__spin_lock(&s->lock);
  s->tty_mode = (int)mode;
  if (!s->mode_posted) post = s->mode_posted = 1;
  ax__spin_unlock(&s->lock);
  if (post) {
    s->mode_op.fn = mode_op;
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    s->home->post(s->home, &s->mode_op);
  }
  return 0;
}

/* ---- FILE: reading with fs requests ----------------------------------------------- */

static void file_read_cb(uv_fs_t *req) {
  stdio_t *s = req->data;
  ssize_t r = req->result;
  ax_waker_t *w;
  uv_fs_req_cleanup(req);
  ax__spin_lock(&s->lock);
  s->rbusy = 0;
  if (r > 0) {
    s->roff = 0;
    s->rlen = (size_t)r;
  } else {
    s->rres = r == 0 ? UV_EOF : (int)r;
  }
  w = take(&s->rwaker);
  ax__spin_unlock(&s->lock);
  wake(w);
  release(s);   /* the request's */
}

/* Home: starts the read request (holding a reference for it). */
static void file_read_start(stdio_t *s) {
  uv_buf_t b;
  size_t want;
  int rc;
  if (s->rbuf == NULL) s->rbuf = ax__malloc(AX_STREAM_BUFFER);
  ax__spin_lock(&s->lock);
  want = s->rwant;
  ax__spin_unlock(&s->lock);
  if (s->rbuf == NULL) {
    rc = AX_ENOMEM;
  } else {
    b = uv_buf_init(s->rbuf, (unsigned)want);
    s->rreq.data = s;
    rc = uv_fs_read(s->home->loop, &s->rreq, s->fd, &b, 1, -1, file_read_cb);
    if (rc == 0) return;
  }
  s->rreq.result = rc;   /* could not start: finish it as failed */
  s->rreq.data = s;
  file_read_cb(&s->rreq);
}

static void file_read_op(ax__op_t *op) {
  file_read_start(ax__container_of(op, stdio_t, read_op));
}

static ax_poll_t file_poll_read(stdio_t *s, ax_cx_t *cx, char *buf,
                                size_t len, size_t *n, int *err) {
  ax_waker_t *old;
  int start = 0;
  ax__spin_lock(&s->lock);
  if (s->rlen != 0 || s->rres != 0) {
    if (s->rlen != 0) {
      *n = len < s->rlen ? len : s->rlen;
      memcpy(buf, s->rbuf + s->roff, *n);
      s->roff += *n;
      s->rlen -= *n;
    } else {
      if (s->rres != UV_EOF) *err = s->rres;   /* the end: nread 0 */
      s->rres = 0;   /* reported once: a later read asks again */
    }
    old = take(&s->rwaker);
    ax__spin_unlock(&s->lock);
    drop_waker(old);
    return AX_READY;
  }
  old = keep(&s->rwaker, cx);
  if (!s->rbusy) {
    s->rbusy = start = 1;
    s->rwant = len < AX_STREAM_BUFFER ? len : AX_STREAM_BUFFER;
  }
  ax__spin_unlock(&s->lock);
  drop_waker(old);
  if (start) {
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    if (on_home(s)) {
      file_read_start(s);
    } else {
      s->read_op.fn = file_read_op;
      s->home->post(s->home, &s->read_op);
    }
  }
  return AX_PENDING;
}

/* A dropped read: what its request brings stays for the next read. */
static void file_cancel_read(stdio_t *s) {
  ax_waker_t *w;
  ax__spin_lock(&s->lock);
  w = take(&s->rwaker);
  ax__spin_unlock(&s->lock);
  drop_waker(w);
}

/* ---- FILE: writing with fs requests ----------------------------------------------- */

static void file_write_cb(uv_fs_t *req) {
  stdio_t *s = req->data;
  ssize_t r = req->result;
  ax_waker_t *w = NULL, *sw;
  uv_fs_req_cleanup(req);
  ax__spin_lock(&s->lock);
  if (s->wowner != NULL) {
    s->wstate = W_DONE;
    s->wres = r < 0 ? (int)r : r == 0 ? UV_EIO : 0;  /* 0 bytes: no progress */
    s->wdone = r > 0 ? (size_t)r : 0;
    w = take(&s->wwaker);
  } else {
    s->wstate = W_IDLE;   /* its future was dropped; the bytes went out */
  }
  sw = take(&s->swaker);
  ax__spin_unlock(&s->lock);
  wake(w);
  wake(sw);
  release(s);   /* the request's */
}

/* Home: writes wbuf (holding a reference for the request). */
static void file_write_start(stdio_t *s) {
  uv_buf_t b = uv_buf_init(s->wbuf, (unsigned)s->wlen);
  int rc;
  s->wreq.data = s;
  rc = uv_fs_write(s->home->loop, &s->wreq, s->fd, &b, 1, -1, file_write_cb);
  if (rc != 0) {
    s->wreq.result = rc;
    file_write_cb(&s->wreq);
  }
}

static void file_write_op(ax__op_t *op) {
  file_write_start(ax__container_of(op, stdio_t, write_op));
}

static ax_poll_t file_poll_write(stdio_t *s, ax_cx_t *cx, const char *buf,
                                 size_t len, size_t *n, int *err) {
  ax_waker_t *old;
  ax__spin_lock(&s->lock);
  if (s->wstate == W_DONE && s->wowner == buf) {
    *n = s->wdone;
    *err = s->wres;
    s->wstate = W_IDLE;
    s->wowner = NULL;
    old = take(&s->wwaker);
    ax__spin_unlock(&s->lock);
    drop_waker(old);
    return AX_READY;
  }
  if (s->wstate != W_IDLE) {
    if (s->wowner != buf) {   /* a second writer: one at a time */
      ax__spin_unlock(&s->lock);
      *err = AX_EBUSY;
      return AX_READY;
    }
    old = keep(&s->wwaker, cx);
    ax__spin_unlock(&s->lock);
    drop_waker(old);
    return AX_PENDING;
  }
  s->wstate = W_BUSY;         /* claimed: the copy is ours to fill */
  s->wowner = buf;
  old = keep(&s->wwaker, cx);
  ax__spin_unlock(&s->lock);
  drop_waker(old);
  if (s->wbuf == NULL && (s->wbuf = ax__malloc(AX_STREAM_BUFFER)) == NULL) {
    ax__spin_lock(&s->lock);
    s->wstate = W_IDLE;
    s->wowner = NULL;
    old = take(&s->wwaker);
    ax__spin_unlock(&s->lock);
    drop_waker(old);
    *err = AX_ENOMEM;
    return AX_READY;
  }
  /* A copy (a dropped write must not leave the pool reading buf), of at
   * most AX_STREAM_BUFFER bytes: write_all comes back for the rest. */
  s->wlen = len < AX_STREAM_BUFFER ? len : AX_STREAM_BUFFER;
  memcpy(s->wbuf, buf, s->wlen);
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
  if (on_home(s)) {
    file_write_start(s);
  } else {
    s->write_op.fn = file_write_op;
    s->home->post(s->home, &s->write_op);
  }
  return AX_PENDING;
}

static void file_cancel_write(stdio_t *s, const char *buf) {
  ax_waker_t *w = NULL;
  ax__spin_lock(&s->lock);
  if (s->wowner == buf) {
    /* The copy still goes out; nobody waits for it. */
    s->wowner = NULL;
    if (s->wstate == W_DONE) s->wstate = W_IDLE;
    w = take(&s->wwaker);
  }
  ax__spin_unlock(&s->lock);
  drop_waker(w);
}

/* A file has nothing to shut down: done once the write in flight is. */
static ax_poll_t file_poll_shutdown(stdio_t *s, ax_cx_t *cx, int *err) {
  ax_waker_t *old = NULL;
  ax__spin_lock(&s->lock);
  if (s->wstate == W_BUSY) {
    old = keep(&s->swaker, cx);
    ax__spin_unlock(&s->lock);
    drop_waker(old);
    return AX_PENDING;
  }
  old = take(&s->swaker);
  ax__spin_unlock(&s->lock);
  drop_waker(old);
  *err = 0;
  return AX_READY;
}

static void file_cancel_shutdown(stdio_t *s) {
  ax_waker_t *w;
  ax__spin_lock(&s->lock);
  w = take(&s->swaker);
  ax__spin_unlock(&s->lock);
  drop_waker(w);
}

/* ---- the vtable: the libuv stream's, or the FILE code ------------------------------ */

static ax_poll_t stdio_poll_read(ax_stream_t *st, ax_cx_t *cx, char *buf,
                                 size_t len, size_t *n, int *err) {
  stdio_t *s = (stdio_t *)st;
  ax_stream_t *in = s->inner != NULL ? &s->inner->base : NULL;
  *n = 0;
  *err = 0;
  if (in != NULL) return in->vtable->poll_read(in, cx, buf, len, n, err);
  return file_poll_read(s, cx, buf, len, n, err);
}

static void stdio_cancel_read(ax_stream_t *st, char *buf) {
  stdio_t *s = (stdio_t *)st;
  if (s->inner != NULL)
    s->inner->base.vtable->cancel_read(&s->inner->base, buf);
  else
    file_cancel_read(s);
}

static ax_poll_t stdio_poll_write(ax_stream_t *st, ax_cx_t *cx,
                                  const char *buf, size_t len, size_t *n,
                                  int *err) {
  stdio_t *s = (stdio_t *)st;
  ax_stream_t *in = s->inner != NULL ? &s->inner->base : NULL;
  *n = 0;
  *err = 0;
  if (in != NULL) return in->vtable->poll_write(in, cx, buf, len, n, err);
  return file_poll_write(s, cx, buf, len, n, err);
}

static void stdio_cancel_write(ax_stream_t *st, const char *buf) {
  stdio_t *s = (stdio_t *)st;
  if (s->inner != NULL)
    s->inner->base.vtable->cancel_write(&s->inner->base, buf);
  else
    file_cancel_write(s, buf);
}

static ax_poll_t stdio_poll_shutdown(ax_stream_t *st, ax_cx_t *cx, int *err) {
  stdio_t *s = (stdio_t *)st;
  *err = 0;
  if (s->inner != NULL)
    return s->inner->base.vtable->poll_shutdown(&s->inner->base, cx, err);
  return file_poll_shutdown(s, cx, err);
}

static void stdio_cancel_shutdown(ax_stream_t *st) {
  stdio_t *s = (stdio_t *)st;
  if (s->inner != NULL)
    s->inner->base.vtable->cancel_shutdown(&s->inner->base);
  else
    file_cancel_shutdown(s);
}

static const ax_stream_vtable_t stdio_vtable = {
  stdio_poll_read, stdio_cancel_read, stdio_poll_write, stdio_cancel_write,
  stdio_poll_shutdown, stdio_cancel_shutdown, stdio_close,
};
