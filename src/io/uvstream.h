/* Internal: a libuv stream (TCP, pipe, TTY) behind axle's stream vtable.
 *
 * The bridge between libuv's pushed reads and axle's pulled ones:
 *   - while a read waits on the home thread, libuv reads straight into the
 *     caller's buffer (alloc_cb hands it out: no copy, as raw libuv);
 *   - otherwise it reads into the stream's own buffer (`stash`, at most
 *     AX_STREAM_BUFFER bytes; reading stops when it is full), which the
 *     next read drains first: nothing the kernel gave is lost, and a
 *     reader that does not read stops the reading (backpressure).
 * Reading stays on between reads (no uv_read_stop/start, i.e. no epoll_ctl,
 * per read), as the raw libuv servers do.  A write tries uv_try_write at
 * once (no copy); what the kernel does not take is copied and handed to
 * uv_write, so a dropped write never leaves libuv reading the caller's
 * memory.
 *
 * Threads: libuv calls happen on the home thread only.  The state shared
 * with pollers on other threads is under `lock` (a spin lock: uncontended
 * on the home thread, a few stores long).  A poll on another thread hands
 * its work to the home (an op) and completes when the home wakes it.
 *
 * Memory: two references, the owner's (ax_stream_close) and the handle's
 * (its close callback); the last frees the object.
 */
#ifndef AX_IO_UVSTREAM_H
#define AX_IO_UVSTREAM_H

#include "axle/leaf.h"
#include "core/context.h"
#include "core/spin.h"

enum { AX__UVS_TCP = 1, AX__UVS_PIPE, AX__UVS_TTY };

/* The read side's states (rstate), here so that white-box tests can see
 * which path a read is on. */
enum {
  AX__UVS_R_IDLE,     /* no read waits */
  AX__UVS_R_WAIT,     /* a read polled on another thread waits (stash mode) */
  AX__UVS_R_ARMED,    /* a read on the home thread waits with its buffer */
  AX__UVS_R_IN_USE,   /* libuv is reading into rbuf (alloc_cb .. read_cb) */
  AX__UVS_R_FILLED    /* rgot bytes are in rbuf, not yet seen by the read */
};
/* The write side's (wstate) and shutdown's (sstate). */
enum { AX__UVS_W_IDLE, AX__UVS_W_BUSY, AX__UVS_W_DONE };
enum { AX__UVS_S_IDLE, AX__UVS_S_BUSY, AX__UVS_S_DONE };

/* Which of the bridge's paths a stream's bytes took (lock): a few counters
 * per stream, under the lock already held there, so that tests can tell
 * the paths were exercised and a debugger can tell what a stream did. */
typedef struct ax__uvs_stats_s {
  unsigned long zero_copy;     /* libuv reads into a waiting read's buffer */
  unsigned long stashed;       /* libuv reads into the stash */
  unsigned long given_back;    /* dropped reads whose bytes went back */
  unsigned long cancel_waits;  /* drops on another thread that waited for
                                  libuv to finish reading into their buffer */
  unsigned long full_stops;    /* times a full stash stopped the reading */
  unsigned long copies;        /* writes the kernel did not take at once */
  size_t copy_max;             /* the longest such copy (<= that write's len) */
} ax__uvs_stats_t;

typedef struct ax__uvs_s {
  ax_stream_t base;             /* the vtable */
  ax__homed_t homed;            /* in home->homed while the handle is open */
  ax__ctx_t *home;              /* the loop the handle lives on */
  int kind;                     /* AX__UVS_* */
  _Atomic int refs;             /* owner + handle */
  _Atomic int dead;             /* the home closed it (loop closing) */
  ax__spin_t lock;              /* guards the fields marked (lock) */
  /* Read side. */
  char *stash;                  /* (lock) buffered bytes: [off, off+len) */
  size_t stash_off, stash_len, stash_cap;  /* (lock) */
  char *ret;                    /* (lock) bytes a dropped read gave back,
                                   read before the stash */
  size_t ret_off, ret_len;      /* (lock) */
  int reading;                  /* (lock) uv_read_start is on */
  int read_posted;              /* (lock) a start-reading op is queued */
  int rerr;                     /* (lock) sticky: UV_EOF or an error */
  int rstate;                   /* (lock) R_* in uvstream.c */
  char *rbuf;                   /* (lock) the waiting read's buffer */
  size_t rlen, rgot;            /* (lock) its room; bytes put in it */
  ax_waker_t *rwaker;           /* (lock) the waiting read's waker */
  ax__uvs_stats_t stats;        /* (lock) */
  /* Write side. */
  int wstate;                   /* (lock) W_* in uvstream.c */
  const char *wowner;           /* (lock) the write future's buffer: whose
                                   completion this is (NULL: dropped) */
  char *wbuf;                   /* the copy being written (home) */
  size_t wlen;                  /* its length */
  size_t wfirst;                /* home: of those, what the kernel took at
                                   once (write_owned), before uv_write */
  size_t wdone;                 /* (lock) bytes the finished write took */
  int wresult;                  /* (lock) its result */
  ax_waker_t *wwaker;           /* (lock) the write future's waker */
  uv_write_t wreq;              /* home */
  /* Shutdown. */
  int sstate;                   /* (lock) S_* in uvstream.c */
  int sresult;                  /* (lock) */
  ax_waker_t *swaker;           /* (lock) */
  uv_shutdown_t sreq;           /* home */
  /* Operations handed to the home. */
  ax__op_t read_op, write_op, shutdown_op, close_op, opt_op;
  int opt_nodelay;              /* (lock) the option opt_op applies: -1 none */
  int opt_keepalive;            /* (lock) -1 none, else on */
  unsigned opt_keepalive_s;     /* (lock) */
  int opt_posted;               /* (lock) opt_op is queued at the home */
  ax__link_t queued;            /* in a listener's accepted queue */
  /* TCP: the addresses, copied when connected or accepted. */
  struct sockaddr_storage local, peer;
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } h;                          /* home */
} ax__uvs_t;

/* Tests only: when set, called on the home thread each time libuv has
 * been handed a waiting read's buffer (R_IN_USE), just before it reads into
 * it, so that a test can hold the home there while another thread drops
 * that read (the wait in cancel_read).  NULL otherwise: one relaxed load
 * per zero-copy read. */
typedef void (*ax__uvs_hook_fn)(ax__uvs_t *u);
extern _Atomic(ax__uvs_hook_fn) ax__uvs_in_use_hook;

/* A new stream of `kind` on home's loop (home thread): its handle is
 * initialised by the caller (uv_tcp_init / uv_pipe_init / uv_tty_init on
 * home->loop, h.handle.data left to this module) before ax__uvs_open. */
ax__uvs_t *ax__uvs_alloc(ax__ctx_t *home, int kind);
/* The handle is initialised: the stream is live. */
void ax__uvs_open(ax__uvs_t *u);
/* Frees a stream whose handle was never initialised. */
void ax__uvs_free_unopened(ax__uvs_t *u);
/* The stream behind s if it is a libuv stream of `kind` (0: any), else
 * NULL (a split half is looked through). */
ax__uvs_t *ax__uvs_of(ax_stream_t *s, int kind);
/* Closes a handle of this module's (home thread), e.g. a connect that
 * failed: uv_close and free in its callback. */
void ax__uvs_close_now(ax__uvs_t *u);

#endif
