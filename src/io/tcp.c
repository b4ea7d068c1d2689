/* TCP: bind/listen, accept, connect, and the stream's TCP-only calls.
 *
 * Bind and connect run as operations on a home (an ax__tcp_op_t on the
 * heap, shared by the future and the home): the future hands the operation
 * over, the home does the libuv work (resolving the name first when it is
 * not numeric) and wakes the future through a waker slot.  A future
 * dropped before the end abandons the operation (state word below), and
 * the memory goes with the last of the two references, the future's and
 * the home's.
 *
 * A listener has one socket per worker on Linux (SO_REUSEPORT: the kernel
 * spreads connections), one socket elsewhere or when asked (reuseport.h).
 * A socket's pending connection is accepted on that socket's loop, so the
 * connection's stream lives on the worker whose socket took it; accept()
 * hands it to whoever awaits.  A connection is accepted only when an
 * accept wants it: the kernel's backlog is the queue, and a server that
 * stops accepting stops taking connections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axle/net.h"
#include "core/alloc.h"
#include "core/list.h"
#include "io/reuseport.h"
#include "io/stream.h"
#include "io/uvstream.h"

/* ---- addresses ------------------------------------------------------------------ */

int ax_addr_format(const struct sockaddr *sa, char *buf, size_t len) {
  char ip[64];
  int rc;
  if (sa == NULL || buf == NULL || len == 0) return AX_EINVAL;
  if (sa->sa_family == AF_INET) {
    rc = uv_ip4_name((const struct sockaddr_in *)(const void *)sa, ip,
                     sizeof(ip));
    if (rc == 0)
      snprintf(buf, len, "%s:%u", ip, (unsigned)ax_addr_port(sa));
  } else if (sa->sa_family == AF_INET6) {
    rc = uv_ip6_name((const struct sockaddr_in6 *)(const void *)sa, ip,
                     sizeof(ip));
    if (rc == 0)
      snprintf(buf, len, "[%s]:%u", ip, (unsigned)ax_addr_port(sa));
  } else {
    rc = AX_EINVAL;
  }
  return rc;
}

uint16_t ax_addr_port(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
  if (sa->sa_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
  return 0;
}

/* ---- operations on a home ---------------------------------------------------- */

enum { OP_RUNNING, OP_DONE, OP_ABANDONED };
enum { KIND_BIND, KIND_CONNECT };

typedef struct ax__tcp_op_s {
  ax__op_t op;                  /* the hand-off to home */
  ax__ctx_t *home;              /* where the libuv work happens */
  ax_waker_slot_t waker;        /* the future's */
  _Atomic int state;            /* OP_*: who owns what was made (done:
                                   the future; abandoned: the home) */
  _Atomic int refs;             /* the future's + the home's: the home
                                   still wakes the slot after it publishes
                                   OP_DONE, so the future seeing OP_DONE
                                   must not free the op on its own */
  int kind;                     /* KIND_* */
  int result;                   /* written before OP_DONE */
  char *host;                   /* copy, or NULL */
  uint16_t port;
  ax_tcp_opts_t opts;
  uv_getaddrinfo_t gai;
  struct addrinfo *ai, *next;   /* the resolved addresses, the next to try */
  struct sockaddr_storage addr; /* a numeric address (when ai is NULL) */
  int have_addr;
  int last_err;                 /* the last address's error */
  /* connect */
  ax__uvs_t *u;                 /* the stream being connected */
  uv_connect_t creq;
  /* bind */
  ax_tcp_listener_t *l;         /* the listener being made */
  unsigned subs_left;           /* sockets still being made elsewhere */
  int sub_err;                  /* the first of their errors */
} ax__tcp_op_t;

struct sub_s;
static void listener_release(ax_tcp_listener_t *l);
static void listener_close_all(ax_tcp_listener_t *l);
static void try_next(ax__tcp_op_t *o);
static int bind_start(ax__tcp_op_t *o, const struct sockaddr *sa);

static void op_free(ax__tcp_op_t *o) {
  if (o->ai != NULL) uv_freeaddrinfo(o->ai);
  ax__free(o->host);
  ax_waker_slot_drop(&o->waker);
  ax__free(o);
}

/* One side is done with o: the second frees it. */
static void op_unref(ax__tcp_op_t *o) {
  if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
    op_free(o);
}

/* The home finished o with result (the stream or listener in o): its last
 * word on o, called once. */
static void op_finish(ax__tcp_op_t *o, int result) {
  int expect = OP_RUNNING;
  o->result = result;
  if (atomic_compare_exchange_strong(&o->state, &expect, OP_DONE)) {
    ax_waker_slot_wake(&o->waker);   /* o is still ours: we hold a ref */
  } else {
    /* The future is gone: what was made is nobody's. */
    if (o->u != NULL) ax_stream_close(&o->u->base);
    if (o->l != NULL) listener_close_all(o->l);
    o->u = NULL;
    o->l = NULL;
  }
  op_unref(o);
}

/* ---- resolving -------------------------------------------------------------------- */

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai) {
  ax__tcp_op_t *o = req->data;
  if (status != 0) {
    op_finish(o, status);
    return;
  }
  if (atomic_load(&o->state) == OP_ABANDONED) {
    /* Nobody waits: open nothing.  (During a runtime's shutdown this runs
     * in the loop's last uv_run, after the loop's open handles were
     * closed: a socket opened now would keep that run from ever ending.) */
    uv_freeaddrinfo(ai);
    op_finish(o, AX_ECANCELED);
    return;
  }
  o->ai = o->next = ai;
  if (o->kind == KIND_CONNECT) {
    try_next(o);
    return;
  }
  /* net.h: a name binds "the first address that binds" (localhost may
   * give ::1 first on a host without IPv6 loopback, then 127.0.0.1). */
  status = UV_EAI_NONAME;
  for (; o->next != NULL; o->next = o->next->ai_next) {
    if ((status = bind_start(o, o->next->ai_addr)) == 0) return;
  }
  op_finish(o, status);
}

/* Home: turns host:port into addresses, then goes on (connect / bind). */
static void op_start(ax__op_t *op) {
  ax__tcp_op_t *o = ax__container_of(op, ax__tcp_op_t, op);
  const char *host = o->host;
  struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&o->addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&o->addr;
  char port[8];
  struct addrinfo hints;
  int rc;
  if (atomic_load(&o->state) == OP_ABANDONED) {
    op_unref(o);   /* the home's: nothing was started */
    return;
  }
  if (host == NULL || host[0] == '\0') host = o->kind == KIND_BIND ? "::" : "::1";
  if (uv_ip4_addr(host, o->port, a4) == 0 ||
      uv_ip6_addr(host, o->port, a6) == 0) {
    o->have_addr = 1;
    if (o->kind == KIND_CONNECT)
      try_next(o);
    else if ((rc = bind_start(o, (const struct sockaddr *)&o->addr)) != 0)
      op_finish(o, rc);
    return;
  }
  snprintf(port, sizeof(port), "%u", (unsigned)o->port);
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = o->kind == KIND_BIND ? AI_PASSIVE : 0;
  o->gai.data = o;
  rc = uv_getaddrinfo(o->home->loop, &o->gai, resolved, host, port, &hints);
  if (rc != 0) op_finish(o, rc);
}

/* Any thread: a new operation for the future, handed to its home.  NULL
 * with *err set when it cannot start. */
static ax__tcp_op_t *op_new(int kind, const char *host, uint16_t port,
                            const ax_tcp_opts_t *opts, int *err) {
  ax__ctx_t *c = ax__ctx_current();
  ax__tcp_op_t *o;
  if (c == NULL) {
    *err = AX_ENORUNTIME;
    return NULL;
  }
  if ((o = ax__calloc(1, sizeof(*o))) == NULL ||
      (host != NULL && (o->host = ax__strdup(host)) == NULL)) {
    ax__free(o);
    *err = AX_ENOMEM;
    return NULL;
  }
  o->home = c->home;
  o->kind = kind;
  o->port = port;
  if (opts != NULL) o->opts = *opts;
  atomic_init(&o->state, OP_RUNNING);
  atomic_init(&o->refs, 2);
  ax_waker_slot_init(&o->waker);
  o->op.fn = op_start;
  return o;
}

/* The future's side: 1 when done (result in o), 0 while running. */
static int op_poll(ax__tcp_op_t *o, ax_cx_t *cx) {
  ax_waker_slot_register(&o->waker, ax_cx_waker(cx));
  return atomic_load_explicit(&o->state, memory_order_acquire) == OP_DONE;
}

/* The future is dropped before done: the home cleans up when it ends. */
static void op_abandon(ax__tcp_op_t *o) {
  int expect = OP_RUNNING;
  if (!atomic_compare_exchange_strong(&o->state, &expect, OP_ABANDONED)) {
    /* Done already: what it made is ours to close. */
    if (o->u != NULL) ax_stream_close(&o->u->base);
    if (o->l != NULL) listener_close_all(o->l);
    o->u = NULL;
    o->l = NULL;
  }
  op_unref(o);
}

/* ---- connect ------------------------------------------------------------------ */

static void apply_opts(ax__uvs_t *u, const ax_tcp_opts_t *opts) {
  if (opts->nodelay) uv_tcp_nodelay(&u->h.tcp, 1);
  if (opts->keepalive_s) uv_tcp_keepalive(&u->h.tcp, 1, opts->keepalive_s);
}

static void save_addrs(ax__uvs_t *u) {
  int len = (int)sizeof(u->local);
  uv_tcp_getsockname(&u->h.tcp, (struct sockaddr *)&u->local, &len);
  len = (int)sizeof(u->peer);
  uv_tcp_getpeername(&u->h.tcp, (struct sockaddr *)&u->peer, &len);
}

static void connected(uv_connect_t *req, int status) {
  ax__tcp_op_t *o = req->data;
  if (status == 0) {
    save_addrs(o->u);
    apply_opts(o->u, &o->opts);
    op_finish(o, 0);
    return;
  }
  o->last_err = status;
  ax_stream_close(&o->u->base);   /* this address failed: the next one */
  o->u = NULL;
  try_next(o);
}

/* Home: connects to the next address, or finishes with the last error. */
static void try_next(ax__tcp_op_t *o) {
  const struct sockaddr *sa;
  int rc;
  for (;;) {
    if (atomic_load(&o->state) == OP_ABANDONED) {
      op_finish(o, AX_ECANCELED);
      return;
    }
    if (o->have_addr) {
      sa = (const struct sockaddr *)&o->addr;
      o->have_addr = 0;
    } else if (o->next != NULL) {
      sa = o->next->ai_addr;
      o->next = o->next->ai_next;
    } else {
      op_finish(o, o->last_err != 0 ? o->last_err : UV_ECONNREFUSED);
      return;
    }
    if ((o->u = ax__uvs_alloc(o->home, AX__UVS_TCP)) == NULL) {
      op_finish(o, AX_ENOMEM);
      return;
    }
    uv_tcp_init(o->home->loop, &o->u->h.tcp);
    ax__uvs_open(o->u);
    o->creq.data = o;
    rc = uv_tcp_connect(&o->creq, &o->u->h.tcp, sa, connected);
    if (rc == 0) return;
    o->last_err = rc;
    ax_stream_close(&o->u->base);
    o->u = NULL;
  }
}

static ax_poll_t connect_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_tcp_connect_t *c = (ax_tcp_connect_t *)f;
  ax__tcp_op_t *o = c->op;
  int err;
  if (c->result != 0 || c->stream != NULL) return AX_READY;
  if (o == NULL) {
    if ((o = op_new(KIND_CONNECT, c->host, c->port, &c->opts, &err)) == NULL) {
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
  op_unref(o);
  c->op = NULL;
  return AX_READY;
}

static void connect_drop(ax_future_t *f) {
  ax_tcp_connect_t *c = (ax_tcp_connect_t *)f;
  if (c->op != NULL) op_abandon(c->op);
  c->op = NULL;
  /* A stream already delivered is the caller's, not ours. */
}

static const ax_future_vtable_t connect_vtable = {connect_poll, connect_drop,
                                                  "ax_tcp_connect"};

ax_future_t *ax_tcp_connect(ax_tcp_connect_t *f, const char *host,
                            uint16_t port, const ax_tcp_opts_t *opts) {
  f->base.vtable = &connect_vtable;
  f->op = NULL;
  f->host = host;
  f->port = port;
  memset(&f->opts, 0, sizeof(f->opts));
  if (opts != NULL) f->opts = *opts;
  f->result = 0;
  f->stream = NULL;
  return &f->base;
}

/* ---- listeners -------------------------------------------------------------------- */

typedef struct sub_s {
  ax_tcp_listener_t *l;         /* the listener it belongs to */
  ax__ctx_t *home;              /* the loop its socket is on */
  ax__homed_t homed;            /* in home->homed while open */
  _Atomic int dead;             /* its loop closed it (runtime shutdown):
                                   nothing may be posted to that home */
  int open;                     /* the handle was initialised (home) */
  int pending;                  /* connections signalled, not accepted
                                   (lock) */
  int accept_posted;            /* accept_op is queued (lock) */
  ax__op_t accept_op;           /* accept now, on home */
  ax__op_t close_op;            /* close, on home */
  ax__op_t make_op;             /* make this socket, on home */
  ax__tcp_op_t *making;         /* the bind making it */
  uv_tcp_t tcp;                 /* home */
} sub_t;

struct ax_tcp_listener_s {
  _Atomic int refs;             /* the owner's + one per open socket */
  ax__spin_t lock;              /* guards the fields marked (lock) */
  ax_waker_t *waker;            /* (lock) the waiting accept's */
  int waiting;                  /* (lock) an accept waits */
  ax__link_t ready;             /* (lock) accepted, not yet taken */
  int err;                      /* (lock) an accept error to report */
  ax_tcp_opts_t opts;           /* as bound */
  struct sockaddr_storage addr; /* the address it listens on */
  unsigned nsub;                /* sockets */
  sub_t sub[];                  /* one per socket */
};

static void listener_release(ax_tcp_listener_t *l) {
  ax__link_t *q;
  if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
    return;
  /* Every socket is closed: nothing queues any more. */
  while ((q = ax__list_first(&l->ready)) != NULL) {
    ax__list_remove(q);
    ax_stream_close(&ax__container_of(q, ax__uvs_t, queued)->base);
  }
  if (l->waker != NULL) ax_waker_drop(l->waker);
  ax__free(l);
}

static void sub_closed(uv_handle_t *h) {
  sub_t *s = h->data;
  listener_release(s->l);
}

static void sub_close_now(sub_t *s) {
  if (!s->open || uv_is_closing((uv_handle_t *)&s->tcp)) return;
  if (ax__list_linked(&s->homed.link)) ax__list_remove(&s->homed.link);
  uv_close((uv_handle_t *)&s->tcp, sub_closed);
}

static void sub_close_op(ax__op_t *op) {
  sub_close_now(ax__container_of(op, sub_t, close_op));
}

/* The loop closes with the listener still open (its owner never closed
 * it): close the socket now; the owner's later ax_tcp_listener_close must
 * not post to this home, which is gone by then (dead). */
static void sub_homed_release(ax__homed_t *hd) {
  sub_t *s = ax__container_of(hd, sub_t, homed);
  atomic_store_explicit(&s->dead, 1, memory_order_release);
  sub_close_now(s);
}

/* Closes every socket (any thread) and drops the owner's reference. */
static void listener_close_all(ax_tcp_listener_t *l) {
  unsigned i;
  for (i = 0; i < l->nsub; i++) {
    sub_t *s = &l->sub[i];
    if (!s->open || atomic_load_explicit(&s->dead, memory_order_acquire))
      continue;   /* never made, or closed with its loop already */
    if (ax__ctx_current() == s->home)
      sub_close_now(s);
    else
      s->home->post(s->home, &s->close_op);
  }
  listener_release(l);
}

void ax_tcp_listener_close(ax_tcp_listener_t *l) {
  if (l != NULL) listener_close_all(l);
}

int ax_tcp_listener_addr(ax_tcp_listener_t *l, struct sockaddr_storage *out) {
  if (l == NULL || out == NULL) return AX_EINVAL;
  *out = l->addr;
  return 0;
}

/* Home of s: accepts one pending connection into a stream on s's loop and
 * queues it (lock not held).  0 or an error. */
static int sub_accept_one(sub_t *s) {
  ax_tcp_listener_t *l = s->l;
  ax__uvs_t *u = ax__uvs_alloc(s->home, AX__UVS_TCP);
  int rc;
  if (u == NULL) return AX_ENOMEM;
  uv_tcp_init(s->home->loop, &u->h.tcp);
  ax__uvs_open(u);
  rc = uv_accept((uv_stream_t *)&s->tcp, &u->h.stream);
  if (rc != 0) {
    ax_stream_close(&u->base);
    return rc;
  }
  save_addrs(u);
  apply_opts(u, &l->opts);
  ax__spin_lock(&l->lock);
  ax__list_push_back(&l->ready, &u->queued);
  ax__spin_unlock(&l->lock);
  return 0;
}

/* Home of s: accepts what is pending, if an accept waits; wakes it. */
static void sub_serve(sub_t *s) {
  ax_tcp_listener_t *l = s->l;
  ax_waker_t *w = NULL;
  int rc = 0, n;
  ax__spin_lock(&l->lock);
  n = l->waiting ? s->pending : 0;
  s->pending -= n;
  s->accept_posted = 0;
  ax__spin_unlock(&l->lock);
  while (n-- > 0 && rc == 0) rc = sub_accept_one(s);
  ax__spin_lock(&l->lock);
  if (rc != 0 && l->err == 0) l->err = rc;
  if (l->waiting && (rc != 0 || !ax__list_empty(&l->ready))) {
    w = l->waker;
    l->waker = NULL;
  }
  ax__spin_unlock(&l->lock);
  if (w != NULL) ax_waker_wake(w);
}

static void sub_accept_op(ax__op_t *op) {
  sub_serve(ax__container_of(op, sub_t, accept_op));
}

static void connection(uv_stream_t *server, int status) {
  sub_t *s = server->data;
  ax_tcp_listener_t *l = s->l;
  ax__spin_lock(&l->lock);
  if (status < 0) {
    if (l->err == 0) l->err = status;
  } else {
    s->pending++;   /* libuv holds it until uv_accept: the backlog waits */
  }
  ax__spin_unlock(&l->lock);
  sub_serve(s);
}

static ax_poll_t accept_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_tcp_accept_t *a = (ax_tcp_accept_t *)f;
  ax_tcp_listener_t *l = a->l;
  ax_waker_t *old = NULL, *me = ax_cx_waker(cx);
  sub_t *inline_sub = NULL;
  ax__link_t *q;
  unsigned i;
  if (a->phase == 2) return AX_READY;
  if (l == NULL) {
    a->result = AX_EINVAL;
    a->phase = 2;
    return AX_READY;
  }
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  for (;;) {
    ax__spin_lock(&l->lock);
    if ((q = ax__list_first(&l->ready)) != NULL) {
      ax__uvs_t *u = ax__container_of(q, ax__uvs_t, queued);
      ax__list_remove(q);
      l->waiting = 0;
      old = l->waker;
      l->waker = NULL;
      ax__spin_unlock(&l->lock);
      if (old != NULL) ax_waker_drop(old);
      a->stream = &u->base;
      a->peer = u->peer;
      a->phase = 2;
      return AX_READY;
    }
    if (l->err != 0) {
      a->result = l->err;
      l->err = 0;
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
    /* Connections signalled on sockets of other loops: accept them there. */
    inline_sub = NULL;
    for (i = 0; i < l->nsub; i++) {
      sub_t *s = &l->sub[i];
      if (s->pending == 0 || s->accept_posted) continue;
      s->accept_posted = 1;
      if (s->home == ax__ctx_current() && inline_sub == NULL)
        inline_sub = s;
      else
        s->home->post(s->home, &s->accept_op);
    }
    ax__spin_unlock(&l->lock);
    if (old != NULL) ax_waker_drop(old);
    old = NULL;
    if (inline_sub == NULL) break;
    sub_serve(inline_sub);   /* here: accept now, and look again */
  }
  ax__coop_refund(cx);
  return AX_PENDING;
}

static void accept_drop(ax_future_t *f) {
  ax_tcp_accept_t *a = (ax_tcp_accept_t *)f;
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
                                                 "ax_tcp_accept"};

ax_future_t *ax_tcp_accept(ax_tcp_accept_t *f, ax_tcp_listener_t *l) {
  f->base.vtable = &accept_vtable;
  f->l = l;
  f->phase = 0;
  f->result = 0;
  f->stream = NULL;
  memset(&f->peer, 0, sizeof(f->peer));
  return &f->base;
}

/* ---- bind -------------------------------------------------------------------- */

/* Home of s: makes s's socket on addr and listens.  0 or an error. */
static int sub_make(sub_t *s, const struct sockaddr *addr, int reuseport) {
  ax_tcp_listener_t *l = s->l;
  int backlog = l->opts.backlog > 0 ? l->opts.backlog : SOMAXCONN;
  int rc;
  uv_tcp_init(s->home->loop, &s->tcp);
  s->tcp.data = s;
  s->open = 1;
  atomic_fetch_add(&l->refs, 1);   /* released in sub_closed */
  ax__list_push_back(&s->home->homed, &s->homed.link);
  if (reuseport) {
    uv_os_sock_t fd;
    if ((rc = ax__reuseport_socket(addr, l->opts.ipv6_only, &fd)) != 0)
      return rc;
    if ((rc = uv_tcp_open(&s->tcp, fd)) != 0) {
      ax__reuseport_close(fd);
      return rc;
    }
  } else {
    unsigned flags = addr->sa_family == AF_INET6 && l->opts.ipv6_only
                         ? UV_TCP_IPV6ONLY : 0;
    if ((rc = uv_tcp_bind(&s->tcp, addr, flags)) != 0) return rc;
  }
  return uv_listen((uv_stream_t *)&s->tcp, backlog, connection);
}

static void bind_done(ax__tcp_op_t *o, int rc) {
  if (rc != 0) {
    listener_close_all(o->l);
    o->l = NULL;
  }
  op_finish(o, rc);
}

/* Home of sub i > 0: its socket, on the port sub 0 got. */
static void sub_make_op(ax__op_t *op) {
  sub_t *s = ax__container_of(op, sub_t, make_op);
  ax__tcp_op_t *o = s->making;
  int rc = sub_make(s, (const struct sockaddr *)&s->l->addr, 1);
  /* The last socket made (on whichever home) finishes the bind. */
  ax__spin_lock(&s->l->lock);
  if (rc != 0 && o->sub_err == 0) o->sub_err = rc;
  rc = --o->subs_left == 0;
  ax__spin_unlock(&s->l->lock);
  if (rc) bind_done(o, o->sub_err);
}

/* Home: makes the listener on sa.  0: under way (the bind finishes
 * itself); else the first socket failed, nothing is left open and o is
 * not finished, so that the caller may try another address. */
static int bind_start(ax__tcp_op_t *o, const struct sockaddr *sa) {
  ax__ctx_t *c = o->home;
  unsigned n = 1, i;
  int reuseport = 0, rc, len;
  ax_tcp_listener_t *l;
  if (!o->opts.one_socket && c->nhomes > 1 && ax__reuseport_available()) {
    n = c->nhomes;
    reuseport = 1;
  }
  l = ax__calloc(1, sizeof(*l) + n * sizeof(sub_t));
  if (l == NULL) return AX_ENOMEM;
  atomic_init(&l->refs, 1);
  ax__spin_init(&l->lock);
  ax__list_init(&l->ready);
  l->opts = o->opts;
  l->nsub = n;
  for (i = 0; i < n; i++) {
    sub_t *s = &l->sub[i];
    s->l = l;
    s->home = reuseport ? c->homes[i] : c;
    s->homed.release = sub_homed_release;
    s->accept_op.fn = sub_accept_op;
    s->close_op.fn = sub_close_op;
    s->make_op.fn = sub_make_op;
    atomic_init(&s->dead, 0);
  }
  o->l = l;
  /* The first socket here: it fixes the port (when asked for port 0). */
  {
    sub_t *first = NULL;
    for (i = 0; i < n; i++)
      if (l->sub[i].home == c) first = &l->sub[i];
    if (first == NULL) first = &l->sub[0];  /* not a worker of its own */
    rc = sub_make(first, sa, reuseport);
    if (rc == 0) {
      len = (int)sizeof(l->addr);
      rc = uv_tcp_getsockname(&first->tcp, (struct sockaddr *)&l->addr, &len);
    }
    if (rc != 0) {
      listener_close_all(l);
      o->l = NULL;
      return rc;
    }
    if (n == 1) {
      bind_done(o, 0);
      return 0;
    }
    o->subs_left = n - 1;
    for (i = 0; i < n; i++) {
      sub_t *s = &l->sub[i];
      if (s == first) continue;
      s->making = o;
      s->home->post(s->home, &s->make_op);
    }
  }
  return 0;
}

static ax_poll_t bind_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_tcp_bind_t *b = (ax_tcp_bind_t *)f;
  ax__tcp_op_t *o = b->op;
  int err;
  if (b->result != 0 || b->listener != NULL) return AX_READY;
  if (o == NULL) {
    if ((o = op_new(KIND_BIND, b->host, b->port, &b->opts, &err)) == NULL) {
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
  op_unref(o);
  b->op = NULL;
  return AX_READY;
}

static void bind_drop(ax_future_t *f) {
  ax_tcp_bind_t *b = (ax_tcp_bind_t *)f;
  if (b->op != NULL) op_abandon(b->op);
  b->op = NULL;
}

static const ax_future_vtable_t bind_vtable = {bind_poll, bind_drop,
                                               "ax_tcp_bind"};

ax_future_t *ax_tcp_bind(ax_tcp_bind_t *f, const char *host, uint16_t port,
                         const ax_tcp_opts_t *opts) {
  f->base.vtable = &bind_vtable;
  f->op = NULL;
  f->host = host;
  f->port = port;
  memset(&f->opts, 0, sizeof(f->opts));
  if (opts != NULL) f->opts = *opts;
  f->result = 0;
  f->listener = NULL;
  return &f->base;
}

/* ---- a TCP stream's own calls ---------------------------------------------------- */

int ax_tcp_peer_addr(ax_stream_t *s, struct sockaddr_storage *out) {
  ax__uvs_t *u = ax__uvs_of(s, AX__UVS_TCP);
  if (u == NULL || out == NULL) return AX_EINVAL;
  *out = u->peer;
  return 0;
}

int ax_tcp_local_addr(ax_stream_t *s, struct sockaddr_storage *out) {
  ax__uvs_t *u = ax__uvs_of(s, AX__UVS_TCP);
  if (u == NULL || out == NULL) return AX_EINVAL;
  *out = u->local;
  return 0;
}

/* Socket options.  On the home they are applied at once.  From another
 * thread they are queued in the stream (under its lock: the caller writes
 * them while the home may be reading them) and one op carries them all to
 * the home: an op may be queued once at a time (it is linked into the
 * mailbox), so further calls before it runs only update what it applies. */
enum { OPT_NODELAY, OPT_KEEPALIVE };

static void opts_op(ax__op_t *op) {
  ax__uvs_t *u = ax__container_of(op, ax__uvs_t, opt_op);
  int nodelay, keepalive;
  unsigned delay;
  ax__spin_lock(&u->lock);
  nodelay = u->opt_nodelay;
  keepalive = u->opt_keepalive;
  delay = u->opt_keepalive_s;
  u->opt_nodelay = u->opt_keepalive = -1;
  u->opt_posted = 0;
  ax__spin_unlock(&u->lock);
  if (uv_is_closing(&u->h.handle)) return;
  if (nodelay >= 0) (void)uv_tcp_nodelay(&u->h.tcp, nodelay);
  if (keepalive >= 0) (void)uv_tcp_keepalive(&u->h.tcp, keepalive, delay);
}

static int set_opt(ax_stream_t *s, int which, int on, unsigned delay_s) {
  ax__uvs_t *u = ax__uvs_of(s, AX__UVS_TCP);
  int post = 0;
  if (u == NULL) return AX_EINVAL;
  /* Its loop is gone (the runtime was freed): there is no home to ask. */
  if (atomic_load_explicit(&u->dead, memory_order_acquire))
    return AX_ESHUTDOWN;
  on = on != 0;
  ax__spin_lock(&u->lock);
  if (ax__ctx_current() == u->home) {
    /* Applied now: a value queued earlier for the op is older. */
    if (which == OPT_NODELAY)
      u->opt_nodelay = -1;
    else
      u->opt_keepalive = -1;
    ax__spin_unlock(&u->lock);
    return which == OPT_NODELAY ? uv_tcp_nodelay(&u->h.tcp, on)
                                : uv_tcp_keepalive(&u->h.tcp, on, delay_s);
  }
  if (which == OPT_NODELAY) {
    u->opt_nodelay = on;
  } else {
    u->opt_keepalive = on;
    u->opt_keepalive_s = delay_s;
  }
  if (!u->opt_posted) post = u->opt_posted = 1;
  ax__spin_unlock(&u->lock);
  if (post) {
    u->opt_op.fn = opts_op;
    u->home->post(u->home, &u->opt_op);
  }
  return 0;
}

int ax_tcp_set_nodelay(ax_stream_t *s, int on) {
  return set_opt(s, OPT_NODELAY, on, 0);
}

int ax_tcp_set_keepalive(ax_stream_t *s, int on, unsigned delay_s) {
  return set_opt(s, OPT_KEEPALIVE, on, delay_s);
}
