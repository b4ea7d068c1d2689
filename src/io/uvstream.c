/* A libuv stream behind axle's stream vtable: see uvstream.h. */
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <signal.h>
#endif

#include "core/alloc.h"
#include "core/list.h"
#include "io/stream.h"
#include "io/uvstream.h"

/* The states (uvstream.h), by their short names. */
enum {
  R_IDLE = AX__UVS_R_IDLE,
  R_WAIT = AX__UVS_R_WAIT,
  R_ARMED = AX__UVS_R_ARMED,
  R_IN_USE = AX__UVS_R_IN_USE,
  R_FILLED = AX__UVS_R_FILLED
};
enum {
  W_IDLE = AX__UVS_W_IDLE,
  W_BUSY = AX__UVS_W_BUSY,
  W_DONE = AX__UVS_W_DONE
};
enum {
  S_IDLE = AX__UVS_S_IDLE,
  S_BUSY = AX__UVS_S_BUSY,
  S_DONE = AX__UVS_S_DONE
};

_Atomic(ax__uvs_hook_fn) ax__uvs_in_use_hook;

/* The stash grows in steps of this, up to AX_STREAM_BUFFER. */
#define STASH_STEP 4096

static const ax_stream_vtable_t uvs_vtable;
static void read_op(ax__op_t *op);
static void write_op(ax__op_t *op);
static void shutdown_op(ax__op_t *op);

static int on_home(const ax__uvs_t *u) { return ax__ctx_current() == u->home; }

/* Takes *slot's waker (lock held); the caller wakes it after unlocking. */
static ax_waker_t *take(ax_waker_t **slot) {
  ax_waker_t *w = *slot;
  *slot = NULL;
  return w;
}

/* Stores a clone of cx's waker in *slot unless it already wakes the same
 * task (lock held); returns the old one for the caller to drop. */
static ax_waker_t *keep(ax_waker_t **slot, ax_cx_t *cx) {
  ax_waker_t *w = ax_cx_waker(cx), *old = *slot;
  if (old != NULL && ax_waker_will_wake(old, w)) return NULL;
  *slot = ax_waker_clone(w);
  return old;
}

static void wake(ax_waker_t *w) {
  if (w != NULL) ax_waker_wake(w);
}

static void drop_waker(ax_waker_t *w) {
  if (w != NULL) ax_waker_drop(w);
}

/* ---- life ------------------------------------------------------------------ */

#ifndef _WIN32
/* A write to a connection the peer has reset raises SIGPIPE, whose default
 * action kills the process, and libuv writes with write(2), which cannot
 * ask for MSG_NOSIGNAL.  io.h promises such a write fails with UV_EPIPE,
 * so, as Rust's runtime does for every program, the first stream made
 * ignores SIGPIPE, unless the program has chosen a disposition of its own
 * (then it is left alone). */
static uv_once_t sigpipe_once = UV_ONCE_INIT;

static void sigpipe_ignore(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) != 0 || (sa.sa_flags & SA_SIGINFO) ||
      sa.sa_handler != SIG_DFL)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  (void)sigaction(SIGPIPE, &sa, NULL);
}
#endif

static void release(ax__uvs_t *u) {
  if (atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
    return;
  drop_waker(u->rwaker);
  drop_waker(u->wwaker);
  drop_waker(u->swaker);
  ax__free(u->stash);
  ax__free(u->ret);
  ax__free(u);
}

static void close_cb(uv_handle_t *h) {
  ax__uvs_t *u = h->data;
  release(u);   /* the handle's reference */
}

/* Home thread: closes the handle once. */
void ax__uvs_close_now(ax__uvs_t *u) {
  if (uv_is_closing(&u->h.handle)) return;
  if (ax__list_linked(&u->homed.link)) ax__list_remove(&u->homed.link);
  uv_close(&u->h.handle, close_cb);
}

/* The loop closes with the stream still open (its owner never closed it):
 * close the handle; the owner's later ax_stream_close only frees. */
static void homed_release(ax__homed_t *hd) {
  ax__uvs_t *u = ax__container_of(hd, ax__uvs_t, homed);
  atomic_store_explicit(&u->dead, 1, memory_order_release);
  uv_close(&u->h.handle, close_cb);
}

static void close_op(ax__op_t *op) {
  ax__uvs_close_now(ax__container_of(op, ax__uvs_t, close_op));
}

ax__uvs_t *ax__uvs_alloc(ax__ctx_t *home, int kind) {
  ax__uvs_t *u;
#ifndef _WIN32
  uv_once(&sigpipe_once, sigpipe_ignore);
#endif
  if ((u = ax__calloc(1, sizeof(*u))) == NULL) return NULL;
  u->base.vtable = &uvs_vtable;
  u->home = home;
  u->kind = kind;
  atomic_init(&u->refs, 2);
  atomic_init(&u->dead, 0);
  ax__spin_init(&u->lock);
  u->homed.release = homed_release;
  u->close_op.fn = close_op;
  u->read_op.fn = read_op;
  u->write_op.fn = write_op;
  u->shutdown_op.fn = shutdown_op;
  u->opt_nodelay = u->opt_keepalive = -1;
  return u;
}

void ax__uvs_open(ax__uvs_t *u) {
  u->h.handle.data = u;
  ax__list_push_back(&u->home->homed, &u->homed.link);
}

void ax__uvs_free_unopened(ax__uvs_t *u) { ax__free(u); }

static void uvs_close(ax_stream_t *s) {
  ax__uvs_t *u = (ax__uvs_t *)s;
  if (atomic_load_explicit(&u->dead, memory_order_acquire)) {
    release(u);  /* the loop is gone: nothing to hand to it */
    return;
  }
  if (on_home(u))
    ax__uvs_close_now(u);
  else
    u->home->post(u->home, &u->close_op);
  release(u);    /* the owner's reference (the op keeps the handle's) */
}

/* ---- reading ----------------------------------------------------------------- */

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* Lock held: room at the end of the stash, grown (or compacted) when full;
 * 0 when it is at its bound. */
static size_t stash_room(ax__uvs_t *u) {
  size_t end;
  /* Emptied: start again at the front, or libuv would be offered only the
   * tail after the bytes read (safe here: alloc_cb runs on the home before
   * libuv reads, so nothing is being read into the stash now). */
  if (u->stash_len == 0) u->stash_off = 0;
  end = u->stash_off + u->stash_len;
  if (end == u->stash_cap && u->stash_off > 0) {
    memmove(u->stash, u->stash + u->stash_off, u->stash_len);
    u->stash_off = 0;
    end = u->stash_len;
  }
  if (end == u->stash_cap && u->stash_cap < AX_STREAM_BUFFER) {
    size_t cap = u->stash_cap + STASH_STEP;
    char *p = ax__realloc(u->stash, cap);
    if (p == NULL) return 0;  /* out of memory: stop reading for now */
    u->stash = p;
    u->stash_cap = cap;
  }
  return u->stash_cap - end;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  ax__uvs_t *u = h->data;
  ax__uvs_hook_fn hook = NULL;
  size_t room;
  (void)suggested;
  ax__spin_lock(&u->lock);
  if (u->rstate == R_ARMED) {
    /* Straight into the waiting read's buffer.  Until read_cb, a drop of
     * that read from another thread waits (cancel_read). */
    u->rstate = R_IN_USE;
    *buf = uv_buf_init(u->rbuf, (unsigned)u->rlen);
    hook = atomic_load_explicit(&ax__uvs_in_use_hook, memory_order_relaxed);
  } else {
    room = stash_room(u);
    *buf = uv_buf_init(room ? u->stash + u->stash_off + u->stash_len : NULL,
                       (unsigned)room);
  }
  ax__spin_unlock(&u->lock);
  if (hook != NULL) hook(u);
}

/* Home thread, lock held: reading on or off. */
static void read_start_locked(ax__uvs_t *u) {
  int rc;
  if (u->reading || u->rerr != 0 || uv_is_closing(&u->h.handle)) return;
  rc = uv_read_start(&u->h.stream, alloc_cb, read_cb);
  if (rc == 0)
    u->reading = 1;
  else
    u->rerr = rc;
}

static void read_stop_locked(ax__uvs_t *u) {
  if (!u->reading) return;
  uv_read_stop(&u->h.stream);
  u->reading = 0;
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  ax__uvs_t *u = st->data;
  ax_waker_t *w = NULL;
  ax__spin_lock(&u->lock);
  if (u->rstate == R_IN_USE && buf->base == u->rbuf) {
    if (nread > 0) {
      u->rgot = (size_t)nread;
      u->rstate = R_FILLED;
      u->stats.zero_copy++;
      w = take(&u->rwaker);
    } else {
      u->rstate = R_ARMED;     /* nothing came: still waiting with it */
    }
  } else if (nread > 0) {
    u->stash_len += (size_t)nread;
    u->stats.stashed++;
    if (u->rstate == R_WAIT || u->rstate == R_ARMED) w = take(&u->rwaker);
  }
  if (nread < 0) {
    if (nread == UV_ENOBUFS) {
      read_stop_locked(u);     /* the stash is full: backpressure */
      u->stats.full_stops++;
    } else {
      u->rerr = (int)nread;    /* UV_EOF or an error: sticky */
      read_stop_locked(u);
      w = take(&u->rwaker);
    }
  }
  ax__spin_unlock(&u->lock);
  wake(w);
}

static void read_op(ax__op_t *op) {
  ax__uvs_t *u = ax__container_of(op, ax__uvs_t, read_op);
  ax_waker_t *w = NULL;
  ax__spin_lock(&u->lock);
  u->read_posted = 0;
  read_start_locked(u);
  if (u->rerr != 0 || u->stash_len != 0) w = take(&u->rwaker);
  ax__spin_unlock(&u->lock);
  wake(w);
}

/* Lock held: copies up to len buffered bytes into buf; 0 when none. */
static size_t take_buffered(ax__uvs_t *u, char *buf, size_t len) {
  size_t n = 0;
  if (u->ret_len != 0) {
    n = len < u->ret_len ? len : u->ret_len;
    memcpy(buf, u->ret + u->ret_off, n);
    u->ret_off += n;
    u->ret_len -= n;
    if (u->ret_len == 0) {
      ax__free(u->ret);
      u->ret = NULL;
      u->ret_off = 0;
    }
    return n;
  }
  if (u->stash_len != 0) {
    n = len < u->stash_len ? len : u->stash_len;
    memcpy(buf, u->stash + u->stash_off, n);
    u->stash_off += n;
    u->stash_len -= n;
    /* Compaction and growth are the home's (alloc_cb): libuv may be
     * reading into the room after the bytes right now. */
  }
  return n;
}

static ax_poll_t uvs_poll_read(ax_stream_t *s, ax_cx_t *cx, char *buf,
                               size_t len, size_t *n, int *err) {
  ax__uvs_t *u = (ax__uvs_t *)s;
  int home = on_home(u), post = 0;
  ax_waker_t *old = NULL;

  *n = 0;
  *err = 0;
  ax__spin_lock(&u->lock);
  if (u->rstate == R_FILLED && u->rbuf == buf) {
    *n = u->rgot;  /* the read the home did straight into buf */
    u->rstate = R_IDLE;
    u->rbuf = NULL;
    old = take(&u->rwaker);
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    return AX_READY;
  }
  if (u->rstate == R_IN_USE) {
    /* Another thread's poll while the home reads into our buffer. */
    old = keep(&u->rwaker, cx);
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    return AX_PENDING;
  }
  if ((*n = take_buffered(u, buf, len)) != 0 || u->rerr != 0) {
    if (*n == 0 && u->rerr != UV_EOF) *err = u->rerr;
    u->rstate = R_IDLE;
    u->rbuf = NULL;
    old = take(&u->rwaker);
    /* Room again after a full stash stopped the reading. */
    if (!u->reading && u->rerr == 0) {
      if (home)
        read_start_locked(u);
      else if (!u->read_posted)
        post = u->read_posted = 1;
    }
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    if (post) u->home->post(u->home, &u->read_op);
    return AX_READY;
  }
  old = keep(&u->rwaker, cx);
  if (home) {
    u->rstate = R_ARMED;
    u->rbuf = buf;
    u->rlen = len;
    read_start_locked(u);
    if (u->rerr != 0) {  /* it could not start: report that now */
      *err = u->rerr;
      u->rstate = R_IDLE;
      u->rbuf = NULL;
      drop_waker(take(&u->rwaker));
      ax__spin_unlock(&u->lock);
      drop_waker(old);
      return AX_READY;
    }
  } else {
    u->rstate = R_WAIT;
    if (!u->reading && !u->read_posted) post = u->read_posted = 1;
  }
  ax__spin_unlock(&u->lock);
  drop_waker(old);
  if (post) u->home->post(u->home, &u->read_op);
  return AX_PENDING;
}

static void uvs_cancel_read(ax_stream_t *s, char *buf) {
  ax__uvs_t *u = (ax__uvs_t *)s;
  ax_waker_t *w = NULL;
  ax__spin_lock(&u->lock);
  /* Dropped on another thread while the home reads into buf (a nonblocking
   * read call): wait for it, so that buf is not written after we return. */
  if (u->rstate == R_IN_USE && u->rbuf == buf) u->stats.cancel_waits++;
  while (u->rstate == R_IN_USE && u->rbuf == buf) {
    ax__spin_unlock(&u->lock);
    ax__cpu_yield();
    ax__spin_lock(&u->lock);
  }
  if (u->rbuf == buf && u->rstate == R_FILLED) {
    /* Bytes the kernel gave for this read: keep them for the next one. */
    char *p = ax__malloc(u->rgot);
    if (p != NULL) {
      memcpy(p, buf, u->rgot);
      ax__free(u->ret);
      u->ret = p;
      u->ret_off = 0;
      u->ret_len = u->rgot;
      u->stats.given_back++;
    } else if (u->rerr == 0) {
      u->rerr = UV_ENOMEM;   /* cannot keep them: the stream is broken */
    }
  }
  if (u->rbuf == buf || u->rstate == R_WAIT) {
    u->rstate = R_IDLE;
    u->rbuf = NULL;
    w = take(&u->rwaker);
  }
  ax__spin_unlock(&u->lock);
  drop_waker(w);
}

/* ---- writing ------------------------------------------------------------------ */

static void write_cb(uv_write_t *req, int status) {
  ax__uvs_t *u = req->data;
  ax_waker_t *w = NULL;
  ax__free(u->wbuf);
  u->wbuf = NULL;
  ax__spin_lock(&u->lock);
  if (u->wowner != NULL) {
    u->wstate = W_DONE;
    u->wresult = status;
    /* On an error, what the kernel had taken at once was still taken. */
    u->wdone = status == 0 ? u->wlen : u->wfirst;
  } else {
    u->wstate = W_IDLE;        /* its future was dropped */
  }
  w = take(&u->wwaker);        /* the owner, or a write waiting behind */
  ax__spin_unlock(&u->lock);
  wake(w);
}

/* Home thread: writes wbuf (wlen bytes, owned) behind whatever the kernel
 * takes at once.  0, or an error (wbuf freed).  wlen stays the whole
 * length: write_cb reports it as what this write took, so the part the
 * kernel took at once must not be taken off it (the writer would send
 * that part again). */
static int write_owned(ax__uvs_t *u, size_t *taken) {
  uv_buf_t b = uv_buf_init(u->wbuf, (unsigned)u->wlen);
  int r = uv_try_write(&u->h.stream, &b, 1);
  *taken = 0;
  if (r < 0 && r != UV_EAGAIN) {
    ax__free(u->wbuf);
    u->wbuf = NULL;
    return r;
  }
  if (r > 0 && (size_t)r == u->wlen) {
    ax__free(u->wbuf);
    u->wbuf = NULL;
    *taken = u->wlen;
    return 0;
  }
  if (r > 0) *taken = (size_t)r;
  u->wfirst = *taken;
  b = uv_buf_init(u->wbuf + *taken, (unsigned)(u->wlen - *taken));
  u->wreq.data = u;
  r = uv_write(&u->wreq, &u->h.stream, &b, 1, write_cb);
  if (r != 0) {
    ax__free(u->wbuf);
    u->wbuf = NULL;
  }
  return r;
}

/* A write handed over from another thread: the copy goes out here. */
static void write_op(ax__op_t *op) {
  ax__uvs_t *u = ax__container_of(op, ax__uvs_t, write_op);
  size_t taken, len = u->wlen;
  int r = write_owned(u, &taken);
  if (r != 0 || u->wbuf == NULL) {
    /* Finished at once (or failed): complete it as write_cb would. */
    ax_waker_t *w = NULL;
    ax__spin_lock(&u->lock);
    if (u->wowner != NULL) {
      u->wstate = W_DONE;
      u->wresult = r;
      u->wdone = r == 0 ? len : taken;
    } else {
      u->wstate = W_IDLE;
    }
    w = take(&u->wwaker);
    ax__spin_unlock(&u->lock);
    wake(w);
  }
}

/* (lock) */
static void count_copy(ax__uvs_t *u, size_t len) {
  u->stats.copies++;
  if (len > u->stats.copy_max) u->stats.copy_max = len;
}

static ax_poll_t uvs_poll_write(ax_stream_t *s, ax_cx_t *cx, const char *buf,
                                size_t len, size_t *n, int *err) {
  ax__uvs_t *u = (ax__uvs_t *)s;
  ax_waker_t *old = NULL;
  int r;

  *n = 0;
  *err = 0;
  ax__spin_lock(&u->lock);
  if (u->wstate == W_DONE && u->wowner == buf) {
    *n = u->wdone;
    *err = u->wresult;
    u->wstate = W_IDLE;
    u->wowner = NULL;
    old = take(&u->wwaker);
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    return AX_READY;
  }
  if (u->wstate != W_IDLE) {
    if (u->wowner != buf && u->wowner != NULL) {
      ax__spin_unlock(&u->lock);   /* a second writer: one at a time */
      *err = AX_EBUSY;
      return AX_READY;
    }
    /* Ours, in flight; or (no owner) the copy a dropped write left going
     * out: a write after a dropped one is no concurrent write, it waits
     * for that copy (its completion wakes us), then starts. */
    old = keep(&u->wwaker, cx);
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    return AX_PENDING;
  }
  u->wstate = W_BUSY;     /* claimed: nobody else starts a write now */
  u->wowner = buf;
  ax__spin_unlock(&u->lock);

  if (on_home(u)) {
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    r = uv_try_write(&u->h.stream, &b, 1);
    if (r > 0 || (r < 0 && r != UV_EAGAIN)) {
      ax__spin_lock(&u->lock);
      u->wstate = W_IDLE;
      u->wowner = NULL;
      ax__spin_unlock(&u->lock);
      if (r > 0)
        *n = (size_t)r;
      else
        *err = r;
      return AX_READY;
    }
    /* The kernel took nothing: copy, and let libuv write when it can.  All
     * of it, not AX_STREAM_BUFFER at most: the copy is what makes a dropped
     * write_all arrive whole (io.h), and it is never larger than the
     * caller's own buffer. */
    if ((u->wbuf = ax__malloc(len)) == NULL) {
      r = AX_ENOMEM;
    } else {
      uv_buf_t c;
      memcpy(u->wbuf, buf, len);
      u->wlen = len;
      u->wfirst = 0;
      c = uv_buf_init(u->wbuf, (unsigned)len);
      u->wreq.data = u;
      r = uv_write(&u->wreq, &u->h.stream, &c, 1, write_cb);
      if (r != 0) {
        ax__free(u->wbuf);
        u->wbuf = NULL;
      }
    }
    ax__spin_lock(&u->lock);
    if (r != 0) {
      u->wstate = W_IDLE;
      u->wowner = NULL;
      ax__spin_unlock(&u->lock);
      *err = r;
      return AX_READY;
    }
    count_copy(u, len);
  } else {
    /* Another thread: copy now (buf is borrowed only until this future is
     * dropped) and hand the write to the home. */
    if ((u->wbuf = ax__malloc(len)) == NULL) {
      ax__spin_lock(&u->lock);
      u->wstate = W_IDLE;
      u->wowner = NULL;
      ax__spin_unlock(&u->lock);
      *err = AX_ENOMEM;
      return AX_READY;
    }
    memcpy(u->wbuf, buf, len);
    u->wlen = len;
    ax__spin_lock(&u->lock);
    count_copy(u, len);
    old = keep(&u->wwaker, cx);
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    u->home->post(u->home, &u->write_op);
    return AX_PENDING;
  }
  old = keep(&u->wwaker, cx);
  ax__spin_unlock(&u->lock);
  drop_waker(old);
  return AX_PENDING;
}

static void uvs_cancel_write(ax_stream_t *s, const char *buf) {
  ax__uvs_t *u = (ax__uvs_t *)s;
  ax_waker_t *w = NULL;
  ax__spin_lock(&u->lock);
  if (u->wowner == buf) {
    /* What is in flight is a copy: it still goes out; nobody waits. */
    u->wowner = NULL;
    if (u->wstate == W_DONE) u->wstate = W_IDLE;
    w = take(&u->wwaker);
  } else if (u->wowner == NULL) {
    /* It waited behind a dropped write's copy and took nothing. */
    w = take(&u->wwaker);
  }
  ax__spin_unlock(&u->lock);
  drop_waker(w);
}

/* ---- shutdown ------------------------------------------------------------------ */

static void shutdown_cb(uv_shutdown_t *req, int status) {
  ax__uvs_t *u = req->data;
  ax_waker_t *w;
  ax__spin_lock(&u->lock);
  u->sstate = S_DONE;
  u->sresult = status;
  w = take(&u->swaker);
  ax__spin_unlock(&u->lock);
  wake(w);
}

static void shutdown_op(ax__op_t *op) {
  ax__uvs_t *u = ax__container_of(op, ax__uvs_t, shutdown_op);
  int r;
  u->sreq.data = u;
  r = uv_shutdown(&u->sreq, &u->h.stream, shutdown_cb);
  if (r != 0) shutdown_cb(&u->sreq, r);
}

static ax_poll_t uvs_poll_shutdown(ax_stream_t *s, ax_cx_t *cx, int *err) {
  ax__uvs_t *u = (ax__uvs_t *)s;
  ax_waker_t *old;
  int start = 0;
  ax__spin_lock(&u->lock);
  if (u->sstate == S_DONE) {
    *err = u->sresult;
    old = take(&u->swaker);
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    return AX_READY;
  }
  old = keep(&u->swaker, cx);
  if (u->sstate == S_IDLE) {
    u->sstate = S_BUSY;
    start = 1;
  }
  ax__spin_unlock(&u->lock);
  drop_waker(old);
  if (start) {
    if (on_home(u))
      shutdown_op(&u->shutdown_op);
    else
      u->home->post(u->home, &u->shutdown_op);
  }
  return AX_PENDING;
}

static void uvs_cancel_shutdown(ax_stream_t *s) {
  ax__uvs_t *u = (ax__uvs_t *)s;
  ax_waker_t *w;
  ax__spin_lock(&u->lock);
  w = take(&u->swaker);   /* the shutdown itself goes on */
  ax__spin_unlock(&u->lock);
  drop_waker(w);
}

static const ax_stream_vtable_t uvs_vtable = {
  uvs_poll_read, uvs_cancel_read, uvs_poll_write, uvs_cancel_write,
  uvs_poll_shutdown, uvs_cancel_shutdown, uvs_close,
};

ax__uvs_t *ax__uvs_of(ax_stream_t *s, int kind) {
  ax__uvs_t *u;
  s = ax__stream_inner(s);
  if (s == NULL || s->vtable != &uvs_vtable) return NULL;
  u = (ax__uvs_t *)s;
  return kind == 0 || u->kind == kind ? u : NULL;
}
