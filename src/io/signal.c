/* Signals: a listener is a uv_signal_t on a home; each delivery sets a
 * "pending" flag (deliveries coalesce, as Tokio's do) and wakes the one
 * recv through a waker slot.
 *
 * Memory: two references, the owner's (ax_signal_close) and the handle's
 * (its close callback); the last frees.  A loop that closes with the
 * listener open closes its handle (homed) and marks it dead, so a recv
 * reports AX_ECLOSED and the owner's close only frees. */
#include <stdlib.h>

#include "axle/process.h"
#include "core/alloc.h"
#include "core/list.h"
#include "io/proc.h"

enum { F_START, F_WAIT, F_DONE };

struct ax_signal_s {
  ax__ctx_t *home;              /* the loop the handle lives on */
  ax__homed_t homed;            /* in home->homed while the handle is open */
  int signum;
  _Atomic int refs;             /* owner + handle */
  _Atomic int pending;          /* delivered since the last recv */
  _Atomic int dead;             /* the home's loop closed it */
  ax_waker_slot_t waker;        /* the waiting recv's */
  ax__op_t close_op;            /* the owner's close, on home */
  int start_err;                /* ax_signal_open's result (home) */
  uv_signal_t h;                /* home */
};

static void release(ax_signal_t *s) {
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
    return;
  ax_waker_slot_drop(&s->waker);
  ax__free(s);
}

static void close_cb(uv_handle_t *h) { release(h->data); }

static void close_now(ax_signal_t *s) {
  if (uv_is_closing((uv_handle_t *)&s->h)) return;
  if (ax__list_linked(&s->homed.link)) ax__list_remove(&s->homed.link);
  uv_close((uv_handle_t *)&s->h, close_cb);
}

static void close_op(ax__op_t *op) {
  close_now(ax__container_of(op, ax_signal_t, close_op));
}

/* The loop closes with the listener open: close it, and let a recv know. */
static void homed_release(ax__homed_t *hd) {
  ax_signal_t *s = ax__container_of(hd, ax_signal_t, homed);
  atomic_store_explicit(&s->dead, 1, memory_order_release);
  uv_close((uv_handle_t *)&s->h, close_cb);
  ax_waker_slot_wake(&s->waker);
}

static void delivered(uv_signal_t *h, int signum) {
  ax_signal_t *s = h->data;
  (void)signum;
  atomic_store_explicit(&s->pending, 1, memory_order_release);
  ax_waker_slot_wake(&s->waker);
}

/* Home: the handle, started. */
static void open_home(void *arg) {
  ax_signal_t *s = arg;
  uv_signal_init(s->home->loop, &s->h);
  s->h.data = s;
  s->start_err = uv_signal_start(&s->h, delivered, s->signum);
  if (s->start_err == 0)
    ax__list_push_back(&s->home->homed, &s->homed.link);
  else
    uv_close((uv_handle_t *)&s->h, close_cb);  /* frees s */
}

int ax_signal_open(int signum, ax_signal_t **out) {
  ax__ctx_t *c = ax__ctx_current();
  ax_signal_t *s;
  int rc;
  if (out == NULL) return AX_EINVAL;
  *out = NULL;
  if (c == NULL) return AX_ENORUNTIME;
  if (signum <= 0) return AX_EINVAL;
  if ((s = ax__calloc(1, sizeof(*s))) == NULL) return AX_ENOMEM;
  s->home = c->home;
  s->signum = signum;
  atomic_init(&s->refs, 2);
  atomic_init(&s->pending, 0);
  atomic_init(&s->dead, 0);
  ax_waker_slot_init(&s->waker);
  s->homed.release = homed_release;
  s->close_op.fn = close_op;
  if ((rc = ax__home_call(s->home, open_home, s)) != 0) {
    ax__free(s);
    return rc;
  }
  if ((rc = s->start_err) != 0) {
    release(s);  /* the owner's; the handle's goes in its close callback */
    return rc;
  }
  *out = s;
  return 0;
}

int ax_signal_signum(const ax_signal_t *s) { return s->signum; }

void ax_signal_close(ax_signal_t *s) {
  if (s == NULL) return;
  if (!atomic_load_explicit(&s->dead, memory_order_acquire)) {
    if (ax__ctx_current() == s->home)
      close_now(s);
    else
      s->home->post(s->home, &s->close_op);  /* the handle's ref keeps s */
  }
  release(s);
}

/* ---- recv ------------------------------------------------------------------- */

static int take(ax_signal_t *s) {
  return atomic_exchange_explicit(&s->pending, 0, memory_order_acq_rel);
}

static ax_poll_t recv_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_signal_recv_t *r = (ax_signal_recv_t *)f;
  ax_signal_t *s = r->s;
  if (r->phase == F_DONE) return AX_READY;
  if (s == NULL) {
    r->result = AX_EINVAL;
    r->phase = F_DONE;
    return AX_READY;
  }
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  if (!take(s)) {
    /* Register, then look again: a delivery in between wakes the slot or
     * is seen here. */
    ax_waker_slot_register(&s->waker, ax_cx_waker(cx));
    if (!take(s)) {
      if (!atomic_load_explicit(&s->dead, memory_order_acquire)) {
        r->phase = F_WAIT;
        ax__coop_refund(cx);
        return AX_PENDING;
      }
      r->result = AX_ECLOSED;
    }
    r->phase = F_WAIT;
  }
  if (r->phase == F_WAIT) ax_waker_slot_drop(&s->waker);
  r->phase = F_DONE;
  return AX_READY;
}

static void recv_drop(ax_future_t *f) {
  ax_signal_recv_t *r = (ax_signal_recv_t *)f;
  /* A delivery that came meanwhile stays pending for the next recv. */
  if (r->phase == F_WAIT) ax_waker_slot_drop(&r->s->waker);
  r->phase = F_DONE;
}

static const ax_future_vtable_t recv_vtable = {recv_poll, recv_drop,
                                               "ax_signal_recv"};

ax_future_t *ax_signal_recv(ax_signal_recv_t *f, ax_signal_t *s) {
  f->base.vtable = &recv_vtable;
  f->s = s;
  f->phase = F_START;
  f->result = 0;
  return &f->base;
}

/* ---- ctrl-c ----------------------------------------------------------------- */

static ax_poll_t ctrl_c_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_ctrl_c_t *c = (ax_ctrl_c_t *)f;
  int rc;
  if (c->phase == F_DONE) return AX_READY;
  if (c->phase == F_START) {
    if ((rc = ax_signal_open(SIGINT, &c->sig)) != 0) {
      c->result = rc;
      c->phase = F_DONE;
      return AX_READY;
    }
    ax_signal_recv(&c->recv, c->sig);
    c->phase = F_WAIT;
  }
  if (ax_poll(&c->recv.base, cx) == AX_PENDING) return AX_PENDING;
  c->result = c->recv.result;
  ax_drop(&c->recv.base);
  ax_signal_close(c->sig);
  c->sig = NULL;
  c->phase = F_DONE;
  return AX_READY;
}

static void ctrl_c_drop(ax_future_t *f) {
  ax_ctrl_c_t *c = (ax_ctrl_c_t *)f;
  if (c->phase == F_WAIT) {
    ax_drop(&c->recv.base);
    ax_signal_close(c->sig);
    c->sig = NULL;
  }
  c->phase = F_DONE;
}

static const ax_future_vtable_t ctrl_c_vtable = {ctrl_c_poll, ctrl_c_drop,
                                                 "ax_ctrl_c"};

ax_future_t *ax_ctrl_c(ax_ctrl_c_t *f) {
  f->base.vtable = &ctrl_c_vtable;
  f->sig = NULL;
  f->phase = F_START;
  f->result = 0;
  return &f->base;
}
