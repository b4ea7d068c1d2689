/* Internal: a worker's wake-up, the one thing other threads may do to its
 * loop.  ax__wake_send ends the worker's uv_run (parked in UV_RUN_ONCE) and
 * makes it call its `woken` callback on its own thread.
 *
 * Two implementations, chosen by meson:
 *   wake_uv.c     uv_async_t: portable (Windows, macOS, the BSDs).
 *   wake_linux.c  an eventfd under a uv_poll_t.  Why not uv_async_send:
 *                 libuv 1.44's async handshake makes the woken loop spin
 *                 (uv__async_spin) until the sender has finished its
 *                 write() system call; with tasks handed back and forth
 *                 between two workers that spin was 13-41% of the profile
 *                 (BENCHMARKS.md).  An eventfd needs no handshake: the
 *                 counter is the state, read() resets it.  It falls back to
 *                 uv_async_t if eventfd() fails.
 * Both coalesce: many sends before the worker runs are one wake-up.
 */
#ifndef AX_RUNTIME_WAKE_H
#define AX_RUNTIME_WAKE_H

#include <stdatomic.h>
#include <uv.h>

typedef struct ax__wake_s {
  _Atomic int closed; /* set by ax__wake_close: later sends do nothing */
  void (*woken)(void *arg);  /* called on the loop's thread per wake-up */
  void *arg;          /* its argument */
  void (*on_closed)(void *arg);  /* ax__wake_close's callback, or NULL */
  void *on_closed_arg;  /* its argument */
  uv_async_t async;   /* wake_uv.c, or wake_linux.c's fallback */
#ifdef __linux__
  uv_poll_t poll;     /* wake_linux.c: watches fd */
  int fd;             /* eventfd, or -1 when async is used */
#endif
} ax__wake_t;

/* On loop's thread.  0 or a negative error code. */
int ax__wake_init(ax__wake_t *k, uv_loop_t *loop, void (*woken)(void *arg),
                  void *arg);
/* Any thread, any time after init (a no-op once close has begun: the
 * runtime never relies on a send after that, this only keeps a stray one
 * harmless). */
void ax__wake_send(ax__wake_t *k);
/* ref = 0: the wake-up does not keep its loop alive (uv_unref), as on a
 * loop the application runs; 1: it does again.  On loop's thread. */
void ax__wake_set_ref(ax__wake_t *k, int ref);
/* Starts closing the handles (the loop must run once more to finish);
 * closed(arg), unless NULL, is called from the last close callback: after
 * it, k's memory may go. */
void ax__wake_close(ax__wake_t *k, void (*closed)(void *arg), void *arg);

#endif
