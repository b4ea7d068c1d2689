/* axle — async I/O: streams (Tokio's AsyncRead / AsyncWrite and their
 * helpers), byte buffers, buffered reading.  Streams come from <axle/net.h>
 * (TCP, local sockets), <axle/process.h> (child pipes) and stdio.
 *
 *   Tokio                                      axle
 *   stream.read(&mut buf).await                AX_AWAIT(ax_read(&s->rd, stream, buf, sizeof buf))
 *   stream.read_exact(&mut buf).await          AX_AWAIT(ax_read_exact(&s->rd, stream, buf, n))
 *   stream.read_to_end(&mut v).await           AX_AWAIT(ax_read_to_end(&s->rd, stream, &bytes, max))
 *   stream.write_all(&buf).await               AX_AWAIT(ax_write_all(&s->wr, stream, buf, n))
 *   stream.shutdown().await                    AX_AWAIT(ax_shutdown(&s->sh, stream))
 *   io::copy(&mut r, &mut w).await             AX_AWAIT(ax_copy(&s->cp, r, w))
 *   let (r, w) = stream.into_split();          ax_stream_split(stream, &r, &w)
 *   BufReader::new(s).read_line(&mut l).await  AX_AWAIT(ax_read_line(&s->rl, &s->reader, &line))
 *   drop(stream)                               ax_stream_close(stream)
 *
 * Streams.  A stream (ax_stream_t) is a handle the caller owns: a TCP
 * connection, a local socket or pipe, stdio, a child's pipe.
 * One small vtable (<axle/leaf.h> users may implement their own), so the
 * helpers here are written once.  A stream may have one read and one write
 * in flight at a time, from different tasks if need be (ax_stream_split
 * makes that ownership explicit); a second concurrent read or write
 * completes at once with AX_EBUSY.  Close it with ax_stream_close once no
 * future uses it any more.
 *
 * Where the work happens.  A stream lives on the loop of the worker that
 * created it (its home; DESIGN 3): every libuv call on it runs there.  A
 * read or write polled on another worker hands the operation to the home
 * and completes when the home's callback wakes the task, which then runs on
 * the home worker: a connection task normally runs where its socket lives,
 * and its reads and writes make no cross-thread hop.
 *
 * Cancellation.  Every future here may be dropped in any state (a select
 * loser, a timeout, an aborted task):
 *   - a dropped read loses nothing: bytes the kernel had already handed
 *     over go back to the stream, and the next read returns them;
 *   - a dropped write never lets libuv read the caller's buffer afterwards:
 *     what the kernel did not take at once was copied, and is still sent.
 *
 * Backpressure.  A stream reads from the kernel into the caller's buffer
 * while a read waits, and otherwise into a buffer of its own of at most
 * AX_STREAM_BUFFER bytes; when that is full it stops reading until the
 * task reads again: whatever the peer sends, a stream holds at most
 * AX_STREAM_BUFFER bytes it read.  Writes complete when the kernel has
 * taken the bytes; what it cannot take at once is copied (so libuv never
 * reads the caller's buffer after a drop) and stays until the kernel takes
 * it: a write in flight costs at most its own length again, which the
 * writer chooses (write a large payload in pieces to bound it).  In
 * exchange, a dropped ax_write_all arrives whole, or not at all if it
 * never started: the stream is never left with half a message.  (Tokio's
 * write_all promises neither.)
 *
 * Errors are negative codes (libuv's, through ax_strerror): UV_ECONNREFUSED,
 * UV_ECONNRESET, UV_EADDRINUSE, UV_EPIPE, UV_ENOENT, UV_EACCES...  The end
 * of a stream is not an error: a read completes with nread 0.  A write to
 * a connection the peer closed fails (UV_EPIPE, UV_ECONNRESET) rather than
 * killing the process: on POSIX systems the first stream axle makes sets
 * SIGPIPE to be ignored, as Rust programs do, unless the program has set
 * a disposition of its own for it.
 */
#ifndef AXLE_IO_H
#define AXLE_IO_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AX_EOF UV_EOF   /* read_exact: the stream ended before len bytes */

/* Bytes a stream buffers when nobody is reading (per stream). */
#define AX_STREAM_BUFFER 65536

/* ---- Byte buffers: a growable array the caller owns -------------------- */
typedef struct ax_bytes_s {
  char *data;       /* len bytes, then room; NULL while empty and unused */
  size_t len;       /* bytes held */
  size_t cap;       /* bytes allocated */
} ax_bytes_t;

/* An empty buffer (AX_ZERO(ax_bytes_t) is one too). */
static inline void ax_bytes_init(ax_bytes_t *b) {
  b->data = NULL;
  b->len = b->cap = 0;
}
/* Frees the memory; the buffer is empty again.  NULL is ignored. */
AX_EXTERN void ax_bytes_free(ax_bytes_t *b);
/* Appends n bytes: 0 or AX_ENOMEM. */
AX_EXTERN int ax_bytes_append(ax_bytes_t *b, const void *p, size_t n);
/* Drops the first n bytes (n <= len). */
AX_EXTERN void ax_bytes_consume(ax_bytes_t *b, size_t n);

/* ---- Streams -------------------------------------------------------------- */
typedef struct ax_stream_s ax_stream_t;

/* Releases the caller's handle: the connection closes (the write side
 * first delivers what was already handed to the kernel) and its memory is
 * freed when libuv is done with it.  No future may use s any more.  Any
 * thread; NULL is ignored.  A split half closes its half only: the
 * connection closes when both halves are closed. */
AX_EXTERN void ax_stream_close(ax_stream_t *s);

/* Splits s into a read half and a write half (Tokio's into_split), for
 * two tasks to own: *rd may only read, *wr may only write or shut down
 * (others complete with AX_EINVAL).  s itself is consumed.  0 or
 * AX_ENOMEM (then s is unchanged and still the caller's). */
AX_EXTERN int ax_stream_split(ax_stream_t *s, ax_stream_t **rd,
                              ax_stream_t **wr);

/* The read future: up to len bytes into buf (the caller's, borrowed until
 * ready or dropped).  When ready: result 0 and nread bytes (0 only at the
 * end of the stream), or result < 0. */
typedef struct ax_read_s {
  ax_future_t base;       /* the future */
  ax_stream_t *s;         /* private: borrowed */
  char *buf;              /* private: borrowed */
  size_t len;             /* private: room in buf */
  size_t min;             /* private: complete only with this many */
  int phase;              /* private */
  int result;             /* read-only once ready: 0, AX_EOF (read_exact:
                             the stream ended first), or an error */
  size_t nread;           /* read-only once ready: bytes in buf */
} ax_read_t;
AX_EXTERN ax_future_t *ax_read(ax_read_t *f, ax_stream_t *s, void *buf,
                               size_t len);
/* Exactly len bytes: result 0, or AX_EOF when the stream ended first
 * (nread says how many came), or an error. */
AX_EXTERN ax_future_t *ax_read_exact(ax_read_t *f, ax_stream_t *s, void *buf,
                                     size_t len);

/* Everything up to the end of the stream, appended to *out (the caller's):
 * result 0, or UV_ENOBUFS when more than max bytes came (out holds the
 * first max), or an error (out holds what came before it). */
typedef struct ax_read_to_end_s {
  ax_future_t base;       /* the future */
  ax_read_t rd;           /* private */
  ax_bytes_t *out;        /* private: borrowed */
  size_t max;             /* private */
  int phase;              /* private */
  int result;             /* read-only once ready */
} ax_read_to_end_t;
AX_EXTERN ax_future_t *ax_read_to_end(ax_read_to_end_t *f, ax_stream_t *s,
                                      ax_bytes_t *out, size_t max);

/* The write future: some of buf's len bytes (write) or all of them
 * (write_all).  buf is borrowed until ready or dropped.  When ready:
 * result 0 and nwritten bytes, or result < 0 (nwritten were written
 * before the error). */
typedef struct ax_write_s {
  ax_future_t base;       /* the future */
  ax_stream_t *s;         /* private: borrowed */
  const char *buf;        /* private: borrowed */
  size_t len;             /* private */
  int all;                /* private: write_all */
  int phase;              /* private */
  int result;             /* read-only once ready */
  size_t nwritten;        /* read-only once ready */
} ax_write_t;
AX_EXTERN ax_future_t *ax_write(ax_write_t *f, ax_stream_t *s,
                                const void *buf, size_t len);
AX_EXTERN ax_future_t *ax_write_all(ax_write_t *f, ax_stream_t *s,
                                    const void *buf, size_t len);

/* Shuts the write side down once what was written is delivered (the peer
 * reads the end of the stream); reading goes on.  result 0 or an error. */
typedef struct ax_shutdown_s {
  ax_future_t base;       /* the future */
  ax_stream_t *s;         /* private: borrowed */
  int phase;              /* private */
  int result;             /* read-only once ready */
} ax_shutdown_t;
AX_EXTERN ax_future_t *ax_shutdown(ax_shutdown_t *f, ax_stream_t *s);

/* Copies from `from` to `to` until from ends (to is not shut down):
 * result 0 or the first error, `copied` bytes either way. */
typedef struct ax_copy_s {
  ax_future_t base;       /* the future */
  ax_read_t rd;           /* private */
  ax_write_t wr;          /* private */
  ax_stream_t *from, *to; /* private: borrowed */
  char *buf;              /* private: 16 KiB, owned */
  int phase;              /* private */
  int result;             /* read-only once ready */
  uint64_t copied;        /* read-only: bytes copied */
} ax_copy_t;
AX_EXTERN ax_future_t *ax_copy(ax_copy_t *f, ax_stream_t *from,
                               ax_stream_t *to);

/* ---- Buffered reading: lines and delimiters (Tokio's BufReader) -------------
 *
 * A reader the caller owns, over a stream it borrows.  Bytes read past a
 * delimiter stay in the reader for the next call. */
typedef struct ax_bufreader_s {
  ax_stream_t *s;         /* private: borrowed */
  ax_bytes_t buf;         /* private: bytes read, not consumed */
  size_t max;             /* private: longest item (line) accepted */
} ax_bufreader_t;
/* max: the longest item read_until accepts (0: 64 KiB). */
AX_EXTERN void ax_bufreader_init(ax_bufreader_t *r, ax_stream_t *s,
                                 size_t max);
AX_EXTERN void ax_bufreader_free(ax_bufreader_t *r);

/* Appends to *out the bytes up to and including delim (or up to the end of
 * the stream).  result 0 with `nread` bytes appended (0: the stream had
 * ended), UV_ENOBUFS (no delim within the reader's max: nothing consumed
 * beyond it), or an error. */
typedef struct ax_read_until_s {
  ax_future_t base;       /* the future */
  ax_read_t rd;           /* private */
  ax_bufreader_t *r;      /* private: borrowed */
  ax_bytes_t *out;        /* private: borrowed */
  int delim;              /* private */
  size_t scanned;         /* private */
  int phase;              /* private */
  int result;             /* read-only once ready */
  size_t nread;           /* read-only once ready */
} ax_read_until_t;
AX_EXTERN ax_future_t *ax_read_until(ax_read_until_t *f, ax_bufreader_t *r,
                                     int delim, ax_bytes_t *out);
/* read_until '\n' (the newline is kept, as Tokio's read_line does). */
AX_EXTERN ax_future_t *ax_read_line(ax_read_until_t *f, ax_bufreader_t *r,
                                    ax_bytes_t *out);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_IO_H */
