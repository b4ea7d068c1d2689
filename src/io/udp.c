/* UDP sockets (net.h).  The same bridge as libuv streams (uvstream.h), for
 * datagrams: a receive waiting on the home thread gets the datagram
 * straight in its buffer; otherwise datagrams wait in a bounded queue of
 * copies (reading stops when it is full: the kernel then drops, as UDP
 * does); a dropped receive gives back what it was handed.  A send tries
 * uv_udp_try_send at once; otherwise it copies and uses uv_udp_send.  The
 * shared state is under `lock`; libuv calls happen on the home thread. */
#include <stdio.h>
#include <string.h>

#include "axle/net.h"
#include "core/alloc.h"
#include "core/list.h"
#include "core/spin.h"
#include "io/hop.h"

#define DGRAM_MAX 65536

enum { R_IDLE, R_WAIT, R_ARMED, R_IN_USE, R_FILLED };
enum { S_IDLE, S_BUSY, S_DONE };

typedef struct dgram_s {
  ax__link_t link;              /* in the socket's queue */
  struct sockaddr_storage from;
  size_t len;
  int truncated;
  char data[];
} dgram_t;

struct ax_udp_s {
  ax__homed_t homed;            /* in home->homed while the handle is open */
  ax__ctx_t *home;
  _Atomic int refs;             /* owner + handle */
  _Atomic int dead;             /* the loop closed it */
  ax__spin_t lock;              /* guards the fields marked (lock) */
  ax__link_t queue;             /* (lock) datagrams nobody took yet */
  unsigned queued;              /* (lock) how many */
  int reading;                  /* (lock) uv_udp_recv_start is on */
  int read_posted;              /* (lock) */
  int opt_posted;               /* (lock) opt_op is queued */
  int rerr;                     /* (lock) a receive error to report */
  int rstate;                   /* (lock) R_* as in uvstream.c */
  char *rbuf;                   /* (lock) the waiting receive's buffer */
  size_t rlen;                  /* (lock) */
  ax_udp_recv_t *rfut;          /* (lock) its future (results go there) */
  ax_waker_t *rwaker;           /* (lock) */
  char *scratch;                /* home: where datagrams land otherwise */
  int sstate;                   /* (lock) S_* */
  const char *sowner;           /* (lock) the send future's buffer */
  int sresult;                  /* (lock) */
  ax_waker_t *swaker;           /* (lock) */
  char *sbuf;                   /* the copy being sent (home) */
  struct sockaddr_storage sto;  /* its destination */
  int sto_set;
  size_t slen;
  uv_udp_send_t sreq;           /* home */
  struct sockaddr_storage local;
  ax__op_t read_op, send_op, close_op, opt_op;
  /* (lock) Settings queued from other threads (opt_op applies them). */
  struct {
    int connect_set; struct sockaddr_storage connect; int connect_null;
    int broadcast, ttl, mttl, mloop;   /* -1: not queued */
  } q;
  uv_udp_t h;                   /* home */
};

static void wake(ax_waker_t *w) {
  if (w != NULL) ax_waker_wake(w);
}
static void drop_waker(ax_waker_t *w) {
  if (w != NULL) ax_waker_drop(w);
}
static ax_waker_t *keep(ax_waker_t **slot, ax_cx_t *cx) {
  ax_waker_t *w = ax_cx_waker(cx), *old = *slot;
  if (old != NULL && ax_waker_will_wake(old, w)) return NULL;
  *slot = ax_waker_clone(w);
  return old;
}
static int on_home(const ax_udp_t *u) { return ax__ctx_current() == u->home; }

/* ---- life ----------------------------------------------------------------------- */

static void release(ax_udp_t *u) {
  ax__link_t *l;
  if (atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
    return;
  while ((l = ax__list_first(&u->queue)) != NULL) {
    ax__list_remove(l);
    ax__free(ax__container_of(l, dgram_t, link));
  }
  drop_waker(u->rwaker);
  drop_waker(u->swaker);
  ax__free(u->scratch);
  ax__free(u);
}

static void closed(uv_handle_t *h) { release(h->data); }

static void close_now(ax_udp_t *u) {
  if (uv_is_closing((uv_handle_t *)&u->h)) return;
  if (ax__list_linked(&u->homed.link)) ax__list_remove(&u->homed.link);
  uv_close((uv_handle_t *)&u->h, closed);
}

static void close_op(ax__op_t *op) {
  close_now(ax__container_of(op, ax_udp_t, close_op));
}

static void homed_release(ax__homed_t *hd) {
  ax_udp_t *u = ax__container_of(hd, ax_udp_t, homed);
  atomic_store(&u->dead, 1);
  uv_close((uv_handle_t *)&u->h, closed);
}

void ax_udp_close(ax_udp_t *u) {
  if (u == NULL) return;
  if (atomic_load(&u->dead)) {
    release(u);
    return;
  }
  if (on_home(u))
    close_now(u);
  else
    u->home->post(u->home, &u->close_op);
  release(u);
}

int ax_udp_local_addr(ax_udp_t *u, struct sockaddr_storage *out) {
  if (u == NULL || out == NULL) return AX_EINVAL;
  *out = u->local;
  return 0;
}

/* ---- receiving ------------------------------------------------------------------ */

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags);

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  ax_udp_t *u = h->data;
  (void)suggested;
  ax__spin_lock(&u->lock);
  if (u->rstate == R_ARMED) {
    u->rstate = R_IN_USE;
    *buf = uv_buf_init(u->rbuf, (unsigned)u->rlen);
    ax__spin_unlock(&u->lock);
    return;
  }
  ax__spin_unlock(&u->lock);
  if (u->scratch == NULL) u->scratch = ax__malloc(DGRAM_MAX);
  *buf = uv_buf_init(u->scratch, u->scratch ? DGRAM_MAX : 0);
}

/* Home, lock held. */
static void read_start_locked(ax_udp_t *u) {
  int rc;
  if (u->reading || uv_is_closing((uv_handle_t *)&u->h)) return;
  rc = uv_udp_recv_start(&u->h, alloc_cb, recv_cb);
  if (rc == 0)
    u->reading = 1;
  else
    u->rerr = rc;
}

static void read_stop_locked(ax_udp_t *u) {
  if (!u->reading) return;
  uv_udp_recv_stop(&u->h);
  u->reading = 0;
}

static void fill(ax_udp_recv_t *f, size_t n, const struct sockaddr *addr,
                 int truncated) {
  f->nread = n;
  f->truncated = truncated;
  memset(&f->from, 0, sizeof(f->from));
  if (addr != NULL)
    memcpy(&f->from, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
}

static void recv_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags) {
  ax_udp_t *u = h->data;
  ax_waker_t *w = NULL;
  int trunc = (flags & UV_UDP_PARTIAL) != 0;
  /* libuv on Windows reports a truncated datagram (WSAEMSGSIZE) with
   * nread 0, though it filled the whole buffer: a datagram is truncated
   * only when it filled it. */
  if (trunc && nread == 0) nread = (ssize_t)buf->len;
  ax__spin_lock(&u->lock);
  if (u->rstate == R_IN_USE && buf->base == u->rbuf) {
    if (nread < 0) {
      u->rerr = (int)nread;
      u->rstate = R_ARMED;
      w = u->rwaker;
      u->rwaker = NULL;
    } else if (addr == NULL) {
      u->rstate = R_ARMED;      /* nothing came: still waiting with it */
    } else {
      fill(u->rfut, (size_t)nread, addr, trunc);
      u->rstate = R_FILLED;
      w = u->rwaker;
      u->rwaker = NULL;
    }
  } else if (nread < 0) {
    u->rerr = (int)nread;
    w = u->rwaker;
    u->rwaker = NULL;
  } else if (addr != NULL) {
    dgram_t *d = ax__malloc(sizeof(*d) + (size_t)nread);
    if (d != NULL) {
      memset(&d->from, 0, sizeof(d->from));
      memcpy(&d->from, addr,
             addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                         : sizeof(struct sockaddr_in));
      d->len = (size_t)nread;
      d->truncated = trunc;
      memcpy(d->data, buf->base, (size_t)nread);
      ax__list_push_back(&u->queue, &d->link);
      if (++u->queued >= AX_UDP_QUEUE) read_stop_locked(u);  /* full */
    }
    if (u->rstate == R_WAIT) {
      w = u->rwaker;
      u->rwaker = NULL;
    }
  }
  ax__spin_unlock(&u->lock);
  wake(w);
}

static void read_op(ax__op_t *op) {
  ax_udp_t *u = ax__container_of(op, ax_udp_t, read_op);
  ax_waker_t *w = NULL;
  ax__spin_lock(&u->lock);
  u->read_posted = 0;
  read_start_locked(u);
  if (u->rerr != 0 || u->queued != 0) {
    w = u->rwaker;
    u->rwaker = NULL;
  }
  ax__spin_unlock(&u->lock);
  wake(w);
}

enum { F_START, F_WAIT, F_DONE };

static ax_poll_t recv_poll(ax_future_t *fut, ax_cx_t *cx) {
  ax_udp_recv_t *f = (ax_udp_recv_t *)fut;
  ax_udp_t *u = f->u;
  ax_waker_t *old = NULL;
  ax__link_t *l;
  int home, post = 0;
  if (f->phase == F_DONE) return AX_READY;
  if (u == NULL) {
    f->result = AX_EINVAL;
    f->phase = F_DONE;
    return AX_READY;
  }
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  home = on_home(u);
  ax__spin_lock(&u->lock);
  if (u->rstate == R_FILLED && u->rfut == f) {
    u->rstate = R_IDLE;  /* the home put a datagram straight in buf */
    goto done;
  }
  if (u->rstate == R_IN_USE) goto wait;
  if ((l = ax__list_first(&u->queue)) != NULL) {
    dgram_t *d = ax__container_of(l, dgram_t, link);
    size_t n = d->len < f->len ? d->len : f->len;
    ax__list_remove(l);
    if (u->queued-- == AX_UDP_QUEUE && !u->reading) {
      if (home)
        read_start_locked(u);
      else if (!u->read_posted)
        post = u->read_posted = 1;
    }
    memcpy(f->buf, d->data, n);
    fill(f, n, (const struct sockaddr *)&d->from, d->truncated || n < d->len);
    ax__free(d);
    u->rstate = R_IDLE;
    goto done;
  }
  if (u->rerr != 0) {
    f->result = u->rerr;
    u->rerr = 0;
    u->rstate = R_IDLE;
    goto done;
  }
  if (home) {
    u->rstate = R_ARMED;
    u->rbuf = f->buf;
    u->rlen = f->len;
    read_start_locked(u);
  } else {
    u->rstate = R_WAIT;
    if (!u->reading && !u->read_posted) post = u->read_posted = 1;
  }
  u->rfut = f;
wait:
  old = keep(&u->rwaker, cx);
  ax__spin_unlock(&u->lock);
  drop_waker(old);
  if (post) u->home->post(u->home, &u->read_op);
  f->phase = F_WAIT;
  ax__coop_refund(cx);
  return AX_PENDING;
done:
  if (u->rfut == f) u->rfut = NULL;
  old = u->rwaker;
  u->rwaker = NULL;
  ax__spin_unlock(&u->lock);
  drop_waker(old);
  if (post) u->home->post(u->home, &u->read_op);
  f->phase = F_DONE;
  return AX_READY;
}

static void recv_drop(ax_future_t *fut) {
  ax_udp_recv_t *f = (ax_udp_recv_t *)fut;
  ax_udp_t *u = f->u;
  ax_waker_t *w = NULL;
  if (f->phase != F_WAIT) {
    f->phase = F_DONE;
    return;
  }
  ax__spin_lock(&u->lock);
  while (u->rstate == R_IN_USE && u->rfut == f) {
    ax__spin_unlock(&u->lock);
    ax__cpu_yield();
    ax__spin_lock(&u->lock);
  }
  if (u->rfut == f) {
    if (u->rstate == R_FILLED) {
      /* A datagram it was handed and never saw: back to the queue head. */
      dgram_t *d = ax__malloc(sizeof(*d) + f->nread);
      if (d != NULL) {
        d->from = f->from;
        d->len = f->nread;
        d->truncated = f->truncated;
        memcpy(d->data, f->buf, f->nread);
        ax__list_push_front(&u->queue, &d->link);
        u->queued++;
      }
    }
    u->rstate = R_IDLE;
    u->rfut = NULL;
    w = u->rwaker;
    u->rwaker = NULL;
  }
  ax__spin_unlock(&u->lock);
  drop_waker(w);
  f->phase = F_DONE;
}

static const ax_future_vtable_t recv_vtable = {recv_poll, recv_drop,
                                               "ax_udp_recv"};

ax_future_t *ax_udp_recv_from(ax_udp_recv_t *f, ax_udp_t *u, void *buf,
                              size_t len) {
  f->base.vtable = &recv_vtable;
  f->u = u;
  f->buf = (char *)buf;
  f->len = len;
  f->phase = F_START;
  f->result = 0;
  f->nread = 0;
  f->truncated = 0;
  memset(&f->from, 0, sizeof(f->from));
  return &f->base;
}

ax_future_t *ax_udp_recv(ax_udp_recv_t *f, ax_udp_t *u, void *buf,
                         size_t len) {
  /* A connected socket receives only from its peer (the kernel filters). */
  return ax_udp_recv_from(f, u, buf, len);
}

/* ---- sending -------------------------------------------------------------------- */

static void send_cb(uv_udp_send_t *req, int status) {
  ax_udp_t *u = req->data;
  ax_waker_t *w = NULL;
  ax__free(u->sbuf);
  u->sbuf = NULL;
  ax__spin_lock(&u->lock);
  if (u->sowner != NULL) {
    u->sstate = S_DONE;
    u->sresult = status;
    w = u->swaker;
    u->swaker = NULL;
  } else {
    u->sstate = S_IDLE;
  }
  ax__spin_unlock(&u->lock);
  wake(w);
}

/* Home: sends sbuf (owned) to sto, at once if the kernel takes it. */
static int send_owned(ax_udp_t *u, int *pending) {
  uv_buf_t b = uv_buf_init(u->sbuf, (unsigned)u->slen);
  const struct sockaddr *to = u->sto_set ? (const struct sockaddr *)&u->sto
                                         : NULL;
  int r = uv_udp_try_send(&u->h, &b, 1, to);
  *pending = 0;
  if (r != UV_EAGAIN) {          /* sent, or failed: done either way */
    ax__free(u->sbuf);
    u->sbuf = NULL;
    return r < 0 ? r : 0;
  }
  u->sreq.data = u;
  r = uv_udp_send(&u->sreq, &u->h, &b, 1, to, send_cb);
  if (r != 0) {
    ax__free(u->sbuf);
    u->sbuf = NULL;
    return r;
  }
  *pending = 1;
  return 0;
}

static void send_op(ax__op_t *op) {
  ax_udp_t *u = ax__container_of(op, ax_udp_t, send_op);
  int pending, r = send_owned(u, &pending);
  ax_waker_t *w = NULL;
  if (pending) return;
  ax__spin_lock(&u->lock);
  if (u->sowner != NULL) {
    u->sstate = S_DONE;
    u->sresult = r;
    w = u->swaker;
    u->swaker = NULL;
  } else {
    u->sstate = S_IDLE;
  }
  ax__spin_unlock(&u->lock);
  wake(w);
}

static ax_poll_t send_poll(ax_future_t *fut, ax_cx_t *cx) {
  ax_udp_send_t *f = (ax_udp_send_t *)fut;
  ax_udp_t *u = f->u;
  ax_waker_t *old;
  int r, pending;
  if (f->phase == F_DONE) return AX_READY;
  if (u == NULL) {
    f->result = AX_EINVAL;
    f->phase = F_DONE;
    return AX_READY;
  }
  ax__spin_lock(&u->lock);
  if (u->sstate == S_DONE && u->sowner == f->buf) {
    f->result = u->sresult;
    f->nsent = f->result == 0 ? f->len : 0;
    u->sstate = S_IDLE;
    u->sowner = NULL;
    old = u->swaker;
    u->swaker = NULL;
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    f->phase = F_DONE;
    return AX_READY;
  }
  if (u->sstate != S_IDLE) {
    if (u->sowner != f->buf) {
      ax__spin_unlock(&u->lock);
      f->result = AX_EBUSY;
      f->phase = F_DONE;
      return AX_READY;
    }
    old = keep(&u->swaker, cx);
    ax__spin_unlock(&u->lock);
    drop_waker(old);
    return AX_PENDING;
  }
  u->sstate = S_BUSY;
  u->sowner = f->buf;
  ax__spin_unlock(&u->lock);
  if (on_home(u)) {
    uv_buf_t b = uv_buf_init((char *)f->buf, (unsigned)f->len);
    r = uv_udp_try_send(&u->h, &b, 1,
                        f->has_to ? (const struct sockaddr *)&f->to : NULL);
    if (r != UV_EAGAIN) {
      ax__spin_lock(&u->lock);
      u->sstate = S_IDLE;
      u->sowner = NULL;
      ax__spin_unlock(&u->lock);
      f->result = r < 0 ? r : 0;
      f->nsent = r < 0 ? 0 : f->len;
      f->phase = F_DONE;
      return AX_READY;
    }
  }
  /* Not sent at once (or not here): from a copy, as a stream's write. */
  if ((u->sbuf = ax__malloc(f->len ? f->len : 1)) == NULL) {
    ax__spin_lock(&u->lock);
    u->sstate = S_IDLE;
    u->sowner = NULL;
    ax__spin_unlock(&u->lock);
    f->result = AX_ENOMEM;
    f->phase = F_DONE;
    return AX_READY;
  }
  memcpy(u->sbuf, f->buf, f->len);
  u->slen = f->len;
  u->sto = f->to;
  u->sto_set = f->has_to;
  ax__spin_lock(&u->lock);
  old = keep(&u->swaker, cx);
  ax__spin_unlock(&u->lock);
  drop_waker(old);
  if (on_home(u)) {
    r = send_owned(u, &pending);
    if (!pending) {
      ax__spin_lock(&u->lock);
      u->sstate = S_IDLE;
      u->sowner = NULL;
      old = u->swaker;
      u->swaker = NULL;
      ax__spin_unlock(&u->lock);
      drop_waker(old);
      f->result = r;
      f->nsent = r == 0 ? f->len : 0;
      f->phase = F_DONE;
      return AX_READY;
    }
  } else {
    u->home->post(u->home, &u->send_op);
  }
  f->phase = F_WAIT;
  return AX_PENDING;
}

static void send_drop(ax_future_t *fut) {
  ax_udp_send_t *f = (ax_udp_send_t *)fut;
  ax_udp_t *u = f->u;
  ax_waker_t *w = NULL;
  if (f->phase == F_WAIT) {
    ax__spin_lock(&u->lock);
    if (u->sowner == f->buf) {
      u->sowner = NULL;  /* the copy still goes out; nobody waits */
      if (u->sstate == S_DONE) u->sstate = S_IDLE;
      w = u->swaker;
      u->swaker = NULL;
    }
    ax__spin_unlock(&u->lock);
  }
  drop_waker(w);
  f->phase = F_DONE;
}

static const ax_future_vtable_t send_vtable = {send_poll, send_drop,
                                               "ax_udp_send"};

ax_future_t *ax_udp_send_to(ax_udp_send_t *f, ax_udp_t *u, const void *buf,
                            size_t len, const struct sockaddr *addr) {
  f->base.vtable = &send_vtable;
  f->u = u;
  f->buf = (const char *)buf;
  f->len = len;
  memset(&f->to, 0, sizeof(f->to));
  f->has_to = addr != NULL;
  if (addr != NULL)
    memcpy(&f->to, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
  f->phase = F_START;
  f->result = 0;
  f->nsent = 0;
  return &f->base;
}

ax_future_t *ax_udp_send(ax_udp_send_t *f, ax_udp_t *u, const void *buf,
                         size_t len) {
  return ax_udp_send_to(f, u, buf, len, NULL);
}

/* ---- settings ---------------------------------------------------------------------- */

/* Home: applies what is queued in u->q (lock held: other threads queue
 * settings while we apply).  0 or the first error. */
static int opts_apply(ax_udp_t *u) {
  int rc = 0, r;
  if (u->q.connect_set) {
    r = uv_udp_connect(&u->h, u->q.connect_null
                                  ? NULL
                                  : (const struct sockaddr *)&u->q.connect);
    if (rc == 0) rc = r;
  }
  if (u->q.broadcast >= 0 && (r = uv_udp_set_broadcast(&u->h, u->q.broadcast)) && !rc) rc = r;
  if (u->q.ttl >= 0 && (r = uv_udp_set_ttl(&u->h, u->q.ttl)) && !rc) rc = r;
  if (u->q.mttl >= 0 && (r = uv_udp_set_multicast_ttl(&u->h, u->q.mttl)) && !rc) rc = r;
  if (u->q.mloop >= 0 && (r = uv_udp_set_multicast_loop(&u->h, u->q.mloop)) && !rc) rc = r;
  u->q.connect_set = 0;
  u->q.broadcast = u->q.ttl = u->q.mttl = u->q.mloop = -1;
  return rc;
}

static void opts_op(ax__op_t *op) {
  ax_udp_t *u = ax__container_of(op, ax_udp_t, opt_op);
  ax__spin_lock(&u->lock);
  (void)opts_apply(u);
  u->opt_posted = 0;
  ax__spin_unlock(&u->lock);
}

/* Lock held (taken by the setter): applies now on the home, else queues
 * one op for all the settings queued meanwhile.  Unlocks. */
static int queue_opts(ax_udp_t *u) {
  int rc = 0, post = 0;
  if (on_home(u))
    rc = opts_apply(u);
  else if (!u->opt_posted)
    post = u->opt_posted = 1;
  ax__spin_unlock(&u->lock);
  if (post) u->home->post(u->home, &u->opt_op);
  return rc;
}

int ax_udp_connect(ax_udp_t *u, const struct sockaddr *peer) {
  if (u == NULL) return AX_EINVAL;
  ax__spin_lock(&u->lock);
  u->q.connect_set = 1;
  u->q.connect_null = peer == NULL;
  if (peer != NULL)
    memcpy(&u->q.connect, peer,
           peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
  return queue_opts(u);
}

int ax_udp_set_broadcast(ax_udp_t *u, int on) {
  if (u == NULL) return AX_EINVAL;
  ax__spin_lock(&u->lock);
  u->q.broadcast = on != 0;
  return queue_opts(u);
}

int ax_udp_set_ttl(ax_udp_t *u, int ttl) {
  if (u == NULL || ttl < 1 || ttl > 255) return AX_EINVAL;
  ax__spin_lock(&u->lock);
  u->q.ttl = ttl;
  return queue_opts(u);
}

int ax_udp_set_multicast_ttl(ax_udp_t *u, int ttl) {
  if (u == NULL || ttl < 0 || ttl > 255) return AX_EINVAL;
  ax__spin_lock(&u->lock);
  u->q.mttl = ttl;
  return queue_opts(u);
}

int ax_udp_set_multicast_loop(ax_udp_t *u, int on) {
  if (u == NULL) return AX_EINVAL;
  ax__spin_lock(&u->lock);
  u->q.mloop = on != 0;
  return queue_opts(u);
}

/* The multicast calls take strings: they run only on the home (as libuv
 * does), where they report their error. */
int ax_udp_set_multicast_interface(ax_udp_t *u, const char *interface_addr) {
  if (u == NULL || !on_home(u)) return u == NULL ? AX_EINVAL : AX_EBUSY;
  return uv_udp_set_multicast_interface(&u->h, interface_addr);
}

int ax_udp_join_multicast(ax_udp_t *u, const char *group,
                          const char *interface_addr) {
  if (u == NULL || group == NULL || !on_home(u))
    return u == NULL || group == NULL ? AX_EINVAL : AX_EBUSY;
  return uv_udp_set_membership(&u->h, group, interface_addr, UV_JOIN_GROUP);
}

int ax_udp_leave_multicast(ax_udp_t *u, const char *group,
                           const char *interface_addr) {
  if (u == NULL || group == NULL || !on_home(u))
    return u == NULL || group == NULL ? AX_EINVAL : AX_EBUSY;
  return uv_udp_set_membership(&u->h, group, interface_addr, UV_LEAVE_GROUP);
}

/* ---- bind -------------------------------------------------------------------------- */

typedef struct {
  ax__hop_t hop;
  char *host;
  uint16_t port;
  ax_udp_opts_t opts;
  uv_getaddrinfo_t gai;
  ax_udp_t *u;                  /* made, until taken */
} bind_op_t;

static void bind_free(ax__hop_t *h) {
  bind_op_t *b = (bind_op_t *)h;
  ax__free(b->host);
  ax__free(b);
}

static void bind_discard(ax__hop_t *h) {
  bind_op_t *b = (bind_op_t *)h;
  ax_udp_close(b->u);
  b->u = NULL;
}

/* Home: a socket bound to sa. */
static void bind_at(bind_op_t *b, const struct sockaddr *sa) {
  ax__ctx_t *home = b->hop.home;
  ax_udp_t *u;
  unsigned flags = 0;
  int rc, len;
  if ((u = ax__calloc(1, sizeof(*u))) == NULL) {
    ax__hop_finish(&b->hop, AX_ENOMEM);
    return;
  }
  u->home = home;
  atomic_init(&u->refs, 2);
  atomic_init(&u->dead, 0);
  ax__spin_init(&u->lock);
  ax__list_init(&u->queue);
  u->homed.release = homed_release;
  u->read_op.fn = read_op;
  u->send_op.fn = send_op;
  u->close_op.fn = close_op;
  u->opt_op.fn = opts_op;
  u->q.broadcast = u->q.ttl = u->q.mttl = u->q.mloop = -1;
  if ((rc = uv_udp_init(home->loop, &u->h)) != 0) {
    ax__free(u);
    ax__hop_finish(&b->hop, rc);
    return;
  }
  u->h.data = u;
  ax__list_push_back(&home->homed, &u->homed.link);
  b->u = u;
  if (b->opts.reuseaddr) flags |= UV_UDP_REUSEADDR;
  if (b->opts.ipv6_only && sa->sa_family == AF_INET6) flags |= UV_UDP_IPV6ONLY;
  rc = uv_udp_bind(&u->h, sa, flags);
  if (rc == 0 && b->opts.broadcast) rc = uv_udp_set_broadcast(&u->h, 1);
  if (rc == 0) {
    len = (int)sizeof(u->local);
    rc = uv_udp_getsockname(&u->h, (struct sockaddr *)&u->local, &len);
  }
  if (rc != 0) {
    ax_udp_close(u);
    b->u = NULL;
  }
  ax__hop_finish(&b->hop, rc);
}

static void bind_resolved(uv_getaddrinfo_t *req, int status,
                          struct addrinfo *ai) {
  bind_op_t *b = req->data;
  if (status != 0) {
    ax__hop_finish(&b->hop, status);
    return;
  }
  bind_at(b, ai->ai_addr);
  uv_freeaddrinfo(ai);
}

static void bind_start(ax__op_t *op) {
  bind_op_t *b = ax__container_of(op, bind_op_t, hop.op);
  const char *host = b->host != NULL && b->host[0] ? b->host : "::";
  struct sockaddr_storage ss;
  struct addrinfo hints;
  char port[8];
  int rc;
  if (uv_ip4_addr(host, b->port, (struct sockaddr_in *)(void *)&ss) == 0 ||
      uv_ip6_addr(host, b->port, (struct sockaddr_in6 *)(void *)&ss) == 0) {
    bind_at(b, (const struct sockaddr *)&ss);
    return;
  }
  snprintf(port, sizeof(port), "%u", (unsigned)b->port);
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE;
  b->gai.data = b;
  rc = uv_getaddrinfo(b->hop.home->loop, &b->gai, bind_resolved, host, port,
                      &hints);
  if (rc != 0) ax__hop_finish(&b->hop, rc);
}

static ax_poll_t bind_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_udp_bind_t *ub = (ax_udp_bind_t *)f;
  bind_op_t *b = (bind_op_t *)(void *)ub->op;
  int first = 0, rc;
  if (ub->result != 0 || ub->socket != NULL) return AX_READY;
  if (b == NULL) {
    if ((b = ax__calloc(1, sizeof(*b))) == NULL ||
        (ub->host != NULL && (b->host = ax__strdup(ub->host)) == NULL)) {
      ax__free(b);
      ub->result = AX_ENOMEM;
      return AX_READY;
    }
    b->port = ub->port;
    b->opts = ub->opts;
    if ((rc = ax__hop_init(&b->hop, bind_start, bind_discard, bind_free)) != 0) {
      bind_free(&b->hop);
      ub->result = rc;
      return AX_READY;
    }
    ub->op = &b->hop;
    first = 1;
  }
  if (!ax__hop_poll(&b->hop, cx, first)) return AX_PENDING;
  ub->result = b->hop.result;
  ub->socket = b->u;
  b->u = NULL;
  ax__hop_done(&b->hop);
  ub->op = NULL;
  return AX_READY;
}

static void bind_drop(ax_future_t *f) {
  ax_udp_bind_t *ub = (ax_udp_bind_t *)f;
  if (ub->op != NULL) ax__hop_abandon(ub->op);
  ub->op = NULL;
}

static const ax_future_vtable_t bind_vtable = {bind_poll, bind_drop,
                                               "ax_udp_bind"};

ax_future_t *ax_udp_bind(ax_udp_bind_t *f, const char *host, uint16_t port,
                         const ax_udp_opts_t *opts) {
  f->base.vtable = &bind_vtable;
  f->op = NULL;
  f->host = host;
  f->port = port;
  memset(&f->opts, 0, sizeof(f->opts));
  if (opts != NULL) f->opts = *opts;
  f->result = 0;
  f->socket = NULL;
  return &f->base;
}
