/* The buffered reader: read_until and read_line over any stream. */
#include <string.h>

#include "core/alloc.h"
#include "core/context.h"
#include "io/stream.h"

#define DEFAULT_MAX 65536
#define FILL_STEP 4096

enum { U_START, U_READ, U_DONE };

void ax_bufreader_init(ax_bufreader_t *r, ax_stream_t *s, size_t max) {
  r->s = s;
  ax_bytes_init(&r->buf);
  r->max = max ? max : DEFAULT_MAX;
}

void ax_bufreader_free(ax_bufreader_t *r) {
  if (r != NULL) ax_bytes_free(&r->buf);
}

static ax_poll_t until_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_read_until_t *u = (ax_read_until_t *)f;
  ax_bufreader_t *r = u->r;
  for (;;) {
    if (u->phase == U_DONE) return AX_READY;
    if (u->phase == U_READ) {
      if (ax_poll(&u->rd.base, cx) == AX_PENDING) return AX_PENDING;
      u->phase = U_START;
      r->buf.len += u->rd.nread;
      if (u->rd.result != 0 || u->rd.nread == 0) {
        /* The end (or an error): what is buffered is the last item. */
        u->result = u->rd.result;
        if (u->result == 0 && r->buf.len != 0) {
          if ((u->result = ax_bytes_append(u->out, r->buf.data,
                                           r->buf.len)) == 0)
            u->nread = r->buf.len, r->buf.len = 0;
        }
        u->phase = U_DONE;
        continue;
      }
    }
    /* Look for the delimiter in what came since the last look. */
    {
      char *p = r->buf.len > u->scanned
                    ? memchr(r->buf.data + u->scanned, u->delim,
                             r->buf.len - u->scanned)
                    : NULL;
      if (p != NULL) {
        size_t n = (size_t)(p - r->buf.data) + 1;
        u->result = ax_bytes_append(u->out, r->buf.data, n);
        if (u->result == 0) {
          ax_bytes_consume(&r->buf, n);
          u->nread = n;
        }
        u->phase = U_DONE;
        continue;
      }
      u->scanned = r->buf.len;
    }
    if (r->buf.len >= r->max) {
      u->result = UV_ENOBUFS;  /* no delimiter within max bytes */
      u->phase = U_DONE;
      continue;
    }
    {
      size_t room = r->max - r->buf.len;
      if (room > FILL_STEP) room = FILL_STEP;
      if (r->buf.cap - r->buf.len < room) {
        char *np = ax__realloc(r->buf.data, r->buf.len + room);
        if (np == NULL) {
          u->result = AX_ENOMEM;
          u->phase = U_DONE;
          continue;
        }
        r->buf.data = np;
        r->buf.cap = r->buf.len + room;
      }
      ax_read(&u->rd, r->s, r->buf.data + r->buf.len, room);
      u->phase = U_READ;
    }
  }
}

static void until_drop(ax_future_t *f) {
  ax_read_until_t *u = (ax_read_until_t *)f;
  /* A read in flight gives back what it was handed (the stream's rule);
   * what is buffered stays in the reader. */
  if (u->phase == U_READ) ax_drop(&u->rd.base);
  u->phase = U_DONE;
}

static const ax_future_vtable_t until_vtable = {until_poll, until_drop,
                                                "ax_read_until"};

ax_future_t *ax_read_until(ax_read_until_t *f, ax_bufreader_t *r, int delim,
                           ax_bytes_t *out) {
  f->base.vtable = &until_vtable;
  f->r = r;
  f->out = out;
  f->delim = delim;
  f->scanned = 0;
  f->phase = U_START;
  f->result = 0;
  f->nread = 0;
  return &f->base;
}

ax_future_t *ax_read_line(ax_read_until_t *f, ax_bufreader_t *r,
                          ax_bytes_t *out) {
  return ax_read_until(f, r, '\n', out);
}
