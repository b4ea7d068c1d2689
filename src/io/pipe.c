/* Local sockets: Unix domain sockets and Windows named pipes (uv_pipe_t).
 *
 * Bind and connect run as operations on the caller's home, as TCP's do
 * (tcp.c): a heap operation shared by the future and the home, handed over
 * with post, woken through a waker slot, and abandoned by a future dropped
 * before the end (the last of "done" and "abandoned" cleans up).
 *
 * A listener has one socket on one home.  As with TCP, a pending
 * connection is accepted (uv_accept) only when an accept waits, so the
 * kernel's backlog is the queue; the connection's stream lives on the
 * listener's home. */
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <sys/un.h>
#endif

#include "axle/net.h"
#include "core/alloc.h"
#include "core/list.h"
#include "io/proc.h"
#include "io/uvstream.h"

/* ---- operations on a home ------------------------------------------------------ */

enum { OP_RUNNING, OP_DONE, OP_ABANDONED };
enum { KIND_BIND, KIND_CONNECT };

typedef struct ax__pipe_op_s {
  ax__op_t op;                  /* the hand-off to home */
  ax__ctx_t *home;              /* where the libuv work happens */
  ax_waker_slot_t waker;        /* the future's */
  _Atomic int state;            /* OP_*: the last of done and abandoned
                                   cleans up */
  int kind;                     /* KIND_* */
  int result;                   /* written before OP_DONE */
  char *path;                   /* a copy */
  int backlog;
  ax__uvs_t *u;                 /* connect: the stream */
  uv_connect_t creq;
  ax_pipe_listener_t *l;        /* bind: the listener */
} ax__pipe_op_t;

struct ax_pipe_listener_s {
  ax__ctx_t *home;              /* the loop its socket is on */
  ax__homed_t homed;            /* in home->homed while open */
  _Atomic int refs;             /* the owner's + the handle's + a queued
                                   accept_op's */
  _Atomic int dead;             /* the home's loop closed it */
  ax__spin_t lock;              /* guards the fields marked (lock) */
  ax_waker_t *waker;            /* (lock) the waiting accept's */
  int waiting;                  /* (lock) an accept waits */
  int pending;                  /* (lock) connections signalled, not
                                   accepted */
  int accept_posted;            /* (lock) accept_op is queued */
  int err;                      /* (lock) an accept error to report */
  ax__link_t ready;             /* (lock) accepted, not yet taken */
  ax__op_t accept_op;           /* accept now, on home */
  ax__op_t close_op;            /* close, on home */
  uv_pipe_t pipe;               /* home */
};

static void listener_release(ax_pipe_listener_t *l) {
  ax__link_t *q;
  if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
    return;
  /* The socket is closed: nothing queues any more. */
  while ((q = ax__list_first(&l->ready)) != NULL) {
    ax__list_remove(q);
    ax_stream_close(&ax__container_of(q, ax__uvs_t, queued)->base);
  }
  if (l->waker != NULL) ax_waker_drop(l->waker);
  ax__free(l);
}

static void listener_closed(uv_handle_t *h) { listener_release(h->data); }

/* Home: closes the socket once (libuv removes its socket file). */
static void listener_close_now(ax_pipe_listener_t *l) {
  if (uv_is_closing((uv_handle_t *)&l->pipe)) return;
  if (ax__list_linked(&l->homed.link)) ax__list_remove(&l->homed.link);
  uv_close((uv_handle_t *)&l->pipe, listener_closed);
}

static void listener_close_op(ax__op_t *op) {
  listener_close_now(ax__container_of(op, ax_pipe_listener_t, close_op));
}

static void listener_homed_release(ax__homed_t *hd) {
  ax_pipe_listener_t *l = ax__container_of(hd, ax_pipe_listener_t, homed);
  atomic_store_explicit(&l->dead, 1, memory_order_release);
  uv_close((uv_handle_t *)&l->pipe, listener_closed);
}

/* Any thread: closes the socket and drops the owner's reference. */
static void listener_close(ax_pipe_listener_t *l) {
  if (!atomic_load_explicit(&l->dead, memory_order_acquire)) {
    if (ax__ctx_current() == l->home)
      listener_close_now(l);
    else
      l->home->post(l->home, &l->close_op);  /* the handle's ref keeps l */
  }
  listener_release(l);
}

void ax_pipe_listener_close(ax_pipe_listener_t *l) {
  if (l != NULL) listener_close(l);
}

static void op_free(ax__pipe_op_t *o) {
  ax__free(o->path);
  ax_waker_slot_drop(&o->waker);
  ax__free(o);
}

/* The home finished o with result (the stream or listener in o). */
static void op_finish(ax__pipe_op_t *o, int result) {
  int expect = OP_RUNNING;
  o->result = result;
  if (atomic_compare_exchange_strong(&o->state, &expect, OP_DONE)) {
    ax_waker_slot_wake(&o->waker);
    return;
  }
  /* The future is gone: what was made is nobody's. */
  if (o->u != NULL) ax_stream_close(&o->u->base);
  if (o->l != NULL) listener_close(o->l);
  op_free(o);
}

/* The future is dropped before done: the home cleans up when it ends. */
static void op_abandon(ax__pipe_op_t *o) {
  int expect = OP_RUNNING;
  if (!atomic_compare_exchange_strong(&o->state, &expect, OP_ABANDONED)) {
    if (o->u != NULL) ax_stream_close(&o->u->base);
    if (o->l != NULL) listener_close(o->l);
    op_free(o);
  }
}

/* ---- connect ---------------------------------------------------------------------- */

static void connected(uv_connect_t *req, int status) {
  ax__pipe_op_t *o = req->data;
  if (status != 0) {
    ax_stream_close(&o->u->base);
    o->u = NULL;
  }
  op_finish(o, status);
}

static void connect_start(ax__pipe_op_t *o) {
  if ((o->u = ax__uvs_alloc(o->home, AX__UVS_PIPE)) == NULL) {
    op_finish(o, AX_ENOMEM);
    return;
  }
  uv_pipe_init(o->home->loop, &o->u->h.pipe, 0);
  ax__uvs_open(o->u);
  o->creq.data = o;
  uv_pipe_connect(&o->creq, &o->u->h.pipe, o->path, connected);
}

/* ---- listeners -------------------------------------------------------------------- */

/* Home: accepts one pending connection into a stream and queues it (lock
 * not held).  0 or an error. */
static int accept_one(ax_pipe_listener_t *l) {
  ax__uvs_t *u = ax__uvs_alloc(l->home, AX__UVS_PIPE);
  int rc;
  if (u == NULL) return AX_ENOMEM;
  uv_pipe_init(l->home->loop, &u->h.pipe, 0);
  ax__uvs_open(u);
  if ((rc = uv_accept((uv_stream_t *)&l->pipe, &u->h.stream)) != 0) {
    ax_stream_close(&u->base);
    return rc;
  }
  ax__spin_lock(&l->lock);
  ax__list_push_back(&l->ready, &u->queued);
  ax__spin_unlock(&l->lock);
  return 0;
}

/* Home: accepts what is pending if an accept waits, and wakes it. */
static void serve(ax_pipe_listener_t *l) {
  ax_waker_t *w = NULL;
  int rc = 0, n;
  ax__spin_lock(&l->lock);
  n = l->waiting && !uv_is_closing((uv_handle_t *)&l->pipe) ? l->pending : 0;
  l->pending -= n;
  l->accept_posted = 0;
  ax__spin_unlock(&l->lock);
  while (n-- > 0 && rc == 0) rc = accept_one(l);
  ax__spin_lock(&l->lock);
  if (rc != 0 && l->err == 0) l->err = rc;
  if (l->waiting && (rc != 0 || !ax__list_empty(&l->ready))) {
    w = l->waker;
    l->waker = NULL;
  }
  ax__spin_unlock(&l->lock);
  if (w != NULL) ax_waker_wake(w);
}

/* Posted with a reference of its own: the owner may close the listener
 * (after dropping the accept) before this runs. */
static void accept_op(ax__op_t *op) {
  ax_pipe_listener_t *l = ax__container_of(op, ax_pipe_listener_t, accept_op);
  serve(l);
  listener_release(l);
}

static void connection(uv_stream_t *server, int status) {
  ax_pipe_listener_t *l = server->data;
  ax__spin_lock(&l->lock);
  if (status < 0) {
    if (l->err == 0) l->err = status;
  } else {
    l->pending++;   /* libuv holds it until uv_accept */
  }
  ax__spin_unlock(&l->lock);
  serve(l);
}

static void bind_start(ax__pipe_op_t *o) {
  ax_pipe_listener_t *l = ax__calloc(1, sizeof(*l));
  int rc;
  if (l == NULL) {
    op_finish(o, AX_ENOMEM);
    return;
  }
  l->home = o->home;
  atomic_init(&l->refs, 2);
  atomic_init(&l->dead, 0);
  ax__spin_init(&l->lock);
  ax__list_init(&l->ready);
  l->homed.release = listener_homed_release;
  l->accept_op.fn = accept_op;
  l->close_op.fn = listener_close_op;
  uv_pipe_init(o->home->loop, &l->pipe, 0);
  l->pipe.data = l;
  ax__list_push_back(&o->home->homed, &l->homed.link);
  o->l = l;
  rc = uv_pipe_bind(&l->pipe, o->path);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&l->pipe,
                   o->backlog > 0 ? o->backlog : SOMAXCONN, connection);
  if (rc != 0) {
    listener_close(l);
    o->l = NULL;
  }
  op_finish(o, rc);
}

/* Home: starts the operation. */
static void op_start(ax__op_t *op) {
  ax__pipe_op_t *o = ax__container_of(op, ax__pipe_op_t, op);
  if (atomic_load(&o->state) == OP_ABANDONED) {
    op_free(o);
    return;
  }
  if (o->kind == KIND_BIND)
    bind_start(o);
  else
    connect_start(o);
}

/* 0 when path can name a local socket here. */
static int path_check(const char *path) {
  if (path == NULL || path[0] == '\0') return AX_EINVAL;
#ifndef _WIN32
  {
    struct sockaddr_un sa;
    /* libuv 1.44 would cut a longer name short (and bind another one). */
    if (strlen(path) >= sizeof(sa.sun_path)) return UV_ENAMETOOLONG;
  }
#endif
  return 0;
}

/* Any thread: a new operation for the future, handed to its home.  NULL
 * with *err set when it cannot start. */
static ax__pipe_op_t *op_new(int kind, const char *path, int backlog,
                             int *err) {
  ax__ctx_t *c = ax__ctx_current();
  ax__pipe_op_t *o;
  if ((*err = path_check(path)) != 0) return NULL;
  if (c == NULL) {
    *err = AX_ENORUNTIME;
    return NULL;
  }
  if ((o = ax__calloc(1, sizeof(*o))) == NULL ||
      (o->path = ax__strdup(path)) == NULL) {
    ax__free(o);
    *err = AX_ENOMEM;
    return NULL;
  }
  ax__ignore_sigpipe();
  o->home = c->home;
  o->kind = kind;
  o->backlog = backlog;
  atomic_init(&o->state, OP_RUNNING);
  ax_waker_slot_init(&o->waker);
  o->op.fn = op_start;
  return o;
}

/* The future's side: 1 when done (result in o), 0 while running. */
static int op_poll(ax__pipe_op_t *o, ax_cx_t *cx) {
  ax_waker_slot_register(&o->waker, ax_cx_waker(cx));
  return atomic_load_explicit(&o->state, memory_order_acquire) == OP_DONE;
}

/* ---- the futures -------------------------------------------------------------------- */

static ax_poll_t connect_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_pipe_connect_t *c = (ax_pipe_connect_t *)f;
  ax__pipe_op_t *o = c->op;
  int err;
  if (c->result != 0 || c->stream != NULL) return AX_READY;
  if (o == NULL) {
    if ((o = op_new(KIND_CONNECT, c->path, 0, &err)) == NULL) {
      c->result = err;
      return AX_READY;
    }
    c->op = o;
    ax_waker_slot_register(&o->waker, ax_cx_waker(cx));
    o->home->post(o->home, &o->op);
  }
  if (!op_poll(o, cx)) return AX_PENDING;
  c->result = o->result;
  c->stream = o->result == 0 ? &o->u->base : NULL;
  o->u = NULL;
  op_free(o);
  c->op = NULL;
  return AX_READY;
}

static void connect_drop(ax_future_t *f) {
  ax_pipe_connect_t *c = (ax_pipe_connect_t *)f;
  if (c->op != NULL) op_abandon(c->op);
  c->op = NULL;
}

static const ax_future_vtable_t connect_vtable = {connect_poll, connect_drop,
                                                  "ax_pipe_connect"};

ax_future_t *ax_pipe_connect(ax_pipe_connect_t *f, const char *path) {
  f->base.vtable = &connect_vtable;
  f->op = NULL;
  f->path = path;
  f->result = 0;
  f->stream = NULL;
  return &f->base;
}

static ax_poll_t bind_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_pipe_bind_t *b = (ax_pipe_bind_t *)f;
  ax__pipe_op_t *o = b->op;
  int err;
  if (b->result != 0 || b->listener != NULL) return AX_READY;
  if (o == NULL) {
    if ((o = op_new(KIND_BIND, b->path, b->opts.backlog, &err)) == NULL) {
      b->result = err;
      return AX_READY;
    }
    b->op = o;
    ax_waker_slot_register(&o->waker, ax_cx_waker(cx));
    o->home->post(o->home, &o->op);
  }
  if (!op_poll(o, cx)) return AX_PENDING;
  b->result = o->result;
  b->listener = o->result == 0 ? o->l : NULL;
  o->l = NULL;
  op_free(o);
  b->op = NULL;
  return AX_READY;
}

static void bind_drop(ax_future_t *f) {
  ax_pipe_bind_t *b = (ax_pipe_bind_t *)f;
  if (b->op != NULL) op_abandon(b->op);
  b->op = NULL;
}

static const ax_future_vtable_t bind_vtable = {bind_poll, bind_drop,
                                               "ax_pipe_bind"};

ax_future_t *ax_pipe_bind(ax_pipe_bind_t *f, const char *path,
                          const ax_pipe_opts_t *opts) {
  f->base.vtable = &bind_vtable;
  f->op = NULL;
  f->path = path;
  memset(&f->opts, 0, sizeof(f->opts));
  if (opts != NULL) f->opts = *opts;
  f->result = 0;
  f->listener = NULL;
  return &f->base;
}

static ax_poll_t accept_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_pipe_accept_t *a = (ax_pipe_accept_t *)f;
  ax_pipe_listener_t *l = a->l;
  ax_waker_t *old = NULL, *me = ax_cx_waker(cx);
  ax__link_t *q;
  int inline_serve = 0, post = 0;
  if (a->phase == 2) return AX_READY;
  if (l == NULL) {
    a->result = AX_EINVAL;
    a->phase = 2;
    return AX_READY;
  }
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  for (;;) {
    ax__spin_lock(&l->lock);
    if ((q = ax__list_first(&l->ready)) != NULL || l->err != 0 ||
        atomic_load_explicit(&l->dead, memory_order_acquire)) {
      if (q != NULL) {
        ax__list_remove(q);
        a->stream = &ax__container_of(q, ax__uvs_t, queued)->base;
      } else if (l->err != 0) {
        a->result = l->err;
        l->err = 0;
      } else {
        a->result = AX_ECLOSED;   /* its runtime shut down */
      }
      l->waiting = 0;
      old = l->waker;
      l->waker = NULL;
      ax__spin_unlock(&l->lock);
      if (old != NULL) ax_waker_drop(old);
      a->phase = 2;
      return AX_READY;
    }
    l->waiting = 1;
    a->phase = 1;
    if (l->waker == NULL || !ax_waker_will_wake(l->waker, me)) {
      old = l->waker;
      l->waker = ax_waker_clone(me);
    }
    /* A connection signalled and not accepted: accept it on the home. */
    inline_serve = post = 0;
    if (l->pending != 0 && !l->accept_posted) {
      l->accept_posted = 1;
      if (ax__ctx_current() == l->home)
        inline_serve = 1;
      else
        post = 1;
    }
    ax__spin_unlock(&l->lock);
    if (old != NULL) ax_waker_drop(old);
    old = NULL;
    if (post) {
      atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
      l->home->post(l->home, &l->accept_op);
    }
    if (!inline_serve) break;
    serve(l);   /* here: accept now, and look again */
  }
  ax__coop_refund(cx);
  return AX_PENDING;
}

static void accept_drop(ax_future_t *f) {
  ax_pipe_accept_t *a = (ax_pipe_accept_t *)f;
  ax_waker_t *w = NULL;
  if (a->phase == 1) {
    /* Connections accepted for us stay queued for the next accept. */
    ax__spin_lock(&a->l->lock);
    a->l->waiting = 0;
    w = a->l->waker;
    a->l->waker = NULL;
    ax__spin_unlock(&a->l->lock);
  }
  if (w != NULL) ax_waker_drop(w);
  a->phase = 2;
}

static const ax_future_vtable_t accept_vtable = {accept_poll, accept_drop,
                                                 "ax_pipe_accept"};

ax_future_t *ax_pipe_accept(ax_pipe_accept_t *f, ax_pipe_listener_t *l) {
  f->base.vtable = &accept_vtable;
  f->l = l;
  f->phase = 0;
  f->result = 0;
  f->stream = NULL;
  return &f->base;
}
