/* The stream helpers, written once over the stream vtable (leaf.h):
 * read, read_exact, read_to_end, write, write_all, shutdown, copy, split,
 * and byte buffers.  Each future takes part in the cooperative budget: a
 * stream whose data is always there still lets its worker run others. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/context.h"
#include "io/stream.h"

/* The futures' phases.  (Not P_WAIT & co: Windows' <process.h>, which
 * uv.h brings in there, defines those as macros.) */
enum { PH_START, PH_WAIT, PH_DONE };

/* ---- byte buffers ---------------------------------------------------------- */

void ax_bytes_free(ax_bytes_t *b) {
  if (b == NULL) return;
  ax__free(b->data);
  ax_bytes_init(b);
}

/* Room for at least n more bytes: 0 or AX_ENOMEM. */
static int bytes_reserve(ax_bytes_t *b, size_t n) {
  size_t cap;
  char *p;
  if (b->cap - b->len >= n) return 0;
  if (n > SIZE_MAX - b->len) return AX_ENOMEM;
  cap = b->cap ? b->cap : 64;
  while (cap < b->len + n) cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
  if ((p = ax__realloc(b->data, cap)) == NULL) return AX_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int ax_bytes_append(ax_bytes_t *b, const void *p, size_t n) {
  int rc;
  if (n == 0) return 0;
  if ((rc = bytes_reserve(b, n)) != 0) return rc;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

void ax_bytes_consume(ax_bytes_t *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

/* ---- read / read_exact ------------------------------------------------------- */

static ax_poll_t read_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_read_t *r = (ax_read_t *)f;
  size_t n;
  int err;
  if (r->phase == PH_DONE) return AX_READY;
  if (r->s == NULL) {
    r->result = AX_EINVAL;
    goto done;
  }
  if (r->len == 0) goto done;
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  for (;;) {
    ax_poll_t st = r->s->vtable->poll_read(r->s, cx, r->buf + r->nread,
                                           r->len - r->nread, &n, &err);
    if (st == AX_PENDING) {
      r->phase = PH_WAIT;
      ax__coop_refund(cx);
      return AX_PENDING;
    }
    r->phase = PH_START;
    if (err != 0) {
      r->result = err;
      goto done;
    }
    if (n == 0) {  /* the end of the stream */
      if (r->nread < r->min) r->result = AX_EOF;
      goto done;
    }
    r->nread += n;
    if (r->nread >= r->min) goto done;
  }
done:
  r->phase = PH_DONE;
  return AX_READY;
}

static void read_drop(ax_future_t *f) {
  ax_read_t *r = (ax_read_t *)f;
  if (r->phase == PH_WAIT) r->s->vtable->cancel_read(r->s, r->buf + r->nread);
  r->phase = PH_DONE;
}

static const ax_future_vtable_t read_vtable = {read_poll, read_drop, "ax_read"};

static ax_future_t *read_init(ax_read_t *f, ax_stream_t *s, void *buf,
                              size_t len, size_t min) {
  f->base.vtable = &read_vtable;
  f->s = s;
  f->buf = (char *)buf;
  f->len = len;
  f->min = min;
  f->phase = PH_START;
  f->result = 0;
  f->nread = 0;
  return &f->base;
}

/* min 0: any read completes it, the end of the stream included, which is
 * then no error (io.h: "a read completes with nread 0").  Only read_exact
 * (min = len) turns an early end into AX_EOF; a min of 1 here would make
 * every reader of a stream's end (read_to_end, copy, the buffered reader)
 * see AX_EOF instead of the end. */
ax_future_t *ax_read(ax_read_t *f, ax_stream_t *s, void *buf, size_t len) {
  return read_init(f, s, buf, len, 0);
}

ax_future_t *ax_read_exact(ax_read_t *f, ax_stream_t *s, void *buf,
                           size_t len) {
  return read_init(f, s, buf, len, len);
}

/* ---- read_to_end ---------------------------------------------------------------- */

#define READ_STEP 4096

/* read_to_end at its max: one byte more? */
enum { PH_PROBE = PH_DONE + 1 };

static ax_poll_t read_to_end_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_read_to_end_t *t = (ax_read_to_end_t *)f;
  if (t->phase == PH_DONE) return AX_READY;
  for (;;) {
    if (t->phase == PH_START) {
      size_t room = t->max - t->out->len;
      if (room > READ_STEP) room = READ_STEP;
      /* At the bound, one byte more says whether that was the end.  It is
       * read into out's spare room, never counted in len: a read that
       * waits keeps its buffer until it completes or is dropped (libuv may
       * fill it later, on the stream's home), so the buffer must live in
       * memory that outlives this poll, never on its stack. */
      if ((t->result = bytes_reserve(t->out, room != 0 ? room : 1)) != 0) {
        t->phase = PH_DONE;
        return AX_READY;
      }
      read_init(&t->rd, t->rd.s, t->out->data + t->out->len,
                room != 0 ? room : 1, 0);
      t->phase = room != 0 ? PH_WAIT : PH_PROBE;
    }
    if (ax_poll(&t->rd.base, cx) == AX_PENDING) return AX_PENDING;
    if (t->phase == PH_PROBE) {
      /* A byte past the bound is not the caller's: it is dropped. */
      t->result = t->rd.result != 0 ? t->rd.result
                  : t->rd.nread != 0 ? UV_ENOBUFS : 0;
      t->phase = PH_DONE;
      return AX_READY;
    }
    t->out->len += t->rd.nread;
    if (t->rd.result != 0 || t->rd.nread == 0) {
      t->result = t->rd.result;
      t->phase = PH_DONE;
      return AX_READY;
    }
    t->phase = PH_START;
  }
}

static void read_to_end_drop(ax_future_t *f) {
  ax_read_to_end_t *t = (ax_read_to_end_t *)f;
  /* The probe too: its read may wait with its buffer at the stream. */
  if (t->phase == PH_WAIT || t->phase == PH_PROBE) ax_drop(&t->rd.base);
  t->phase = PH_DONE;
}

static const ax_future_vtable_t read_to_end_vtable = {
  read_to_end_poll, read_to_end_drop, "ax_read_to_end"};

ax_future_t *ax_read_to_end(ax_read_to_end_t *f, ax_stream_t *s,
                            ax_bytes_t *out, size_t max) {
  f->base.vtable = &read_to_end_vtable;
  read_init(&f->rd, s, NULL, 0, 0);
  f->out = out;
  f->max = max < out->len ? out->len : max;
  f->phase = PH_START;
  f->result = 0;
  return &f->base;
}

/* ---- write / write_all ------------------------------------------------------- */

static ax_poll_t write_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_write_t *w = (ax_write_t *)f;
  size_t n;
  int err;
  if (w->phase == PH_DONE) return AX_READY;
  if (w->s == NULL) {
    w->result = AX_EINVAL;
    goto done;
  }
  if (w->nwritten == w->len) goto done;
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  for (;;) {
    ax_poll_t st = w->s->vtable->poll_write(w->s, cx, w->buf + w->nwritten,
                                            w->len - w->nwritten, &n, &err);
    if (st == AX_PENDING) {
      w->phase = PH_WAIT;
      ax__coop_refund(cx);
      return AX_PENDING;
    }
    w->phase = PH_START;
    w->nwritten += n;
    if (err != 0) {
      w->result = err;
      goto done;
    }
    if (!w->all || w->nwritten == w->len) goto done;
  }
done:
  w->phase = PH_DONE;
  return AX_READY;
}

static void write_drop(ax_future_t *f) {
  ax_write_t *w = (ax_write_t *)f;
  if (w->phase == PH_WAIT)
    w->s->vtable->cancel_write(w->s, w->buf + w->nwritten);
  w->phase = PH_DONE;
}

static const ax_future_vtable_t write_vtable = {write_poll, write_drop,
                                                "ax_write"};

static ax_future_t *write_init(ax_write_t *f, ax_stream_t *s,
                               const void *buf, size_t len, int all) {
  f->base.vtable = &write_vtable;
  f->s = s;
  f->buf = (const char *)buf;
  f->len = len;
  f->all = all;
  f->phase = PH_START;
  f->result = 0;
  f->nwritten = 0;
  return &f->base;
}

ax_future_t *ax_write(ax_write_t *f, ax_stream_t *s, const void *buf,
                      size_t len) {
  return write_init(f, s, buf, len, 0);
}

ax_future_t *ax_write_all(ax_write_t *f, ax_stream_t *s, const void *buf,
                          size_t len) {
  return write_init(f, s, buf, len, 1);
}

/* ---- shutdown ------------------------------------------------------------------ */

static ax_poll_t shutdown_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_shutdown_t *sh = (ax_shutdown_t *)f;
  int err = 0;
  if (sh->phase == PH_DONE) return AX_READY;
  if (sh->s == NULL) {
    sh->result = AX_EINVAL;
  } else if (sh->s->vtable->poll_shutdown(sh->s, cx, &err) == AX_PENDING) {
    sh->phase = PH_WAIT;
    return AX_PENDING;
  } else {
    sh->result = err;
  }
  sh->phase = PH_DONE;
  return AX_READY;
}

static void shutdown_drop(ax_future_t *f) {
  ax_shutdown_t *sh = (ax_shutdown_t *)f;
  if (sh->phase == PH_WAIT) sh->s->vtable->cancel_shutdown(sh->s);
  sh->phase = PH_DONE;
}

static const ax_future_vtable_t shutdown_vtable = {
  shutdown_poll, shutdown_drop, "ax_shutdown"};

ax_future_t *ax_shutdown(ax_shutdown_t *f, ax_stream_t *s) {
  f->base.vtable = &shutdown_vtable;
  f->s = s;
  f->phase = PH_START;
  f->result = 0;
  return &f->base;
}

/* ---- copy -------------------------------------------------------------------------- */

#define COPY_BUF 16384

enum { PH_READ = PH_DONE + 1, PH_WRITE };  /* copy, after PH_* */

static ax_poll_t copy_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_copy_t *c = (ax_copy_t *)f;
  for (;;) {
    switch (c->phase) {
    case PH_DONE:
      return AX_READY;
    case PH_START:
      if (c->buf == NULL && (c->buf = ax__malloc(COPY_BUF)) == NULL) {
        c->result = AX_ENOMEM;
        c->phase = PH_DONE;
        return AX_READY;
      }
      ax_read(&c->rd, c->from, c->buf, COPY_BUF);
      c->phase = PH_READ;
      /* fall through */
    case PH_READ:
      if (ax_poll(&c->rd.base, cx) == AX_PENDING) return AX_PENDING;
      if (c->rd.result != 0 || c->rd.nread == 0) {
        c->result = c->rd.result;
        c->phase = PH_DONE;
        break;
      }
      ax_write_all(&c->wr, c->to, c->buf, c->rd.nread);
      c->phase = PH_WRITE;
      /* fall through */
    case PH_WRITE:
      if (ax_poll(&c->wr.base, cx) == AX_PENDING) return AX_PENDING;
      c->copied += c->wr.nwritten;
      if (c->wr.result != 0) {
        c->result = c->wr.result;
        c->phase = PH_DONE;
        break;
      }
      c->phase = PH_START;
      break;
    }
  }
}

static void copy_drop(ax_future_t *f) {
  ax_copy_t *c = (ax_copy_t *)f;
  if (c->phase == PH_READ) ax_drop(&c->rd.base);
  if (c->phase == PH_WRITE) ax_drop(&c->wr.base);
  ax__free(c->buf);
  c->buf = NULL;
  c->phase = PH_DONE;
}

static const ax_future_vtable_t copy_vtable = {copy_poll, copy_drop,
                                               "ax_copy"};

ax_future_t *ax_copy(ax_copy_t *f, ax_stream_t *from, ax_stream_t *to) {
  f->base.vtable = &copy_vtable;
  f->from = from;
  f->to = to;
  f->buf = NULL;
  f->phase = PH_START;
  f->result = 0;
  f->copied = 0;
  return &f->base;
}

/* ---- split: two halves over one stream -------------------------------------- */

typedef struct split_s split_t;
typedef struct half_s {
  ax_stream_t base;       /* the half's vtable */
  split_t *sp;            /* the pair */
  int reads;              /* the read half (else the write half) */
} half_t;
struct split_s {
  _Atomic int refs;       /* halves not closed yet */
  ax_stream_t *inner;     /* the stream, closed with the last half */
  half_t rd, wr;
};

static ax_stream_t *inner_of(ax_stream_t *s) { return ((half_t *)s)->sp->inner; }

static ax_poll_t half_poll_read(ax_stream_t *s, ax_cx_t *cx, char *buf,
                                size_t len, size_t *n, int *err) {
  ax_stream_t *in = inner_of(s);
  if (!((half_t *)s)->reads) {
    *n = 0;
    *err = AX_EINVAL;
    return AX_READY;
  }
  return in->vtable->poll_read(in, cx, buf, len, n, err);
}

static void half_cancel_read(ax_stream_t *s, char *buf) {
  ax_stream_t *in = inner_of(s);
  in->vtable->cancel_read(in, buf);
}

static ax_poll_t half_poll_write(ax_stream_t *s, ax_cx_t *cx, const char *buf,
                                 size_t len, size_t *n, int *err) {
  ax_stream_t *in = inner_of(s);
  if (((half_t *)s)->reads) {
    *n = 0;
    *err = AX_EINVAL;
    return AX_READY;
  }
  return in->vtable->poll_write(in, cx, buf, len, n, err);
}

static void half_cancel_write(ax_stream_t *s, const char *buf) {
  ax_stream_t *in = inner_of(s);
  in->vtable->cancel_write(in, buf);
}

static ax_poll_t half_poll_shutdown(ax_stream_t *s, ax_cx_t *cx, int *err) {
  ax_stream_t *in = inner_of(s);
  if (((half_t *)s)->reads) {
    *err = AX_EINVAL;
    return AX_READY;
  }
  return in->vtable->poll_shutdown(in, cx, err);
}

static void half_cancel_shutdown(ax_stream_t *s) {
  ax_stream_t *in = inner_of(s);
  in->vtable->cancel_shutdown(in);
}

static void half_close(ax_stream_t *s) {
  split_t *sp = ((half_t *)s)->sp;
  if (atomic_fetch_sub_explicit(&sp->refs, 1, memory_order_acq_rel) != 1)
    return;
  sp->inner->vtable->close(sp->inner);
  ax__free(sp);
}

static const ax_stream_vtable_t half_vtable = {
  half_poll_read, half_cancel_read, half_poll_write, half_cancel_write,
  half_poll_shutdown, half_cancel_shutdown, half_close,
};

int ax_stream_split(ax_stream_t *s, ax_stream_t **rd, ax_stream_t **wr) {
  split_t *sp;
  if (s == NULL || rd == NULL || wr == NULL) return AX_EINVAL;
  if ((sp = ax__malloc(sizeof(*sp))) == NULL) return AX_ENOMEM;
  atomic_init(&sp->refs, 2);
  sp->inner = s;
  sp->rd.base.vtable = sp->wr.base.vtable = &half_vtable;
  sp->rd.sp = sp->wr.sp = sp;
  sp->rd.reads = 1;
  sp->wr.reads = 0;
  *rd = &sp->rd.base;
  *wr = &sp->wr.base;
  return 0;
}

ax_stream_t *ax__stream_inner(ax_stream_t *s) {
  return s != NULL && s->vtable == &half_vtable ? inner_of(s) : s;
}

void ax_stream_close(ax_stream_t *s) {
  if (s != NULL) s->vtable->close(s);
}
