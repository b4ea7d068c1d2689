/* The I/O thread of a pumped runtime on Windows (iowatch.h).  libuv's loop
 * waits on an I/O completion port and has no descriptor another loop could
 * watch (uv_backend_fd is -1), so this thread waits on the port itself:
 * each packet it takes is posted back at once, unchanged (libuv reads a
 * request's status from its OVERLAPPED, not from the wait's return), for
 * the loop's next turn to find; then it tells the loop's thread.  A packet
 * with no OVERLAPPED and this watcher as its key stops it (libuv skips
 * such packets if one is left in the port). */
#include <stdint.h>

/* uv.h first: it brings winsock2.h, which must come before windows.h. */
#include "core/alloc.h"
#include "runtime/iowatch.h"

#include <windows.h>

struct ax__iowatch_s {
  uv_thread_t thread;        /* watch_main */
  HANDLE port;               /* the loop's completion port (loop->iocp) */
  void (*ready)(void *arg);  /* tells the loop's thread */
  void *arg;
  uv_mutex_t lock;           /* guards the two below */
  uv_cond_t cond;            /* signalled by arm and stop */
  uint64_t pumps;            /* arms so far */
  int stop;                  /* set by ax__iowatch_stop */
};

static void watch_main(void *arg) {
  ax__iowatch_t *io = arg;
  for (;;) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED *ov = NULL;
    uint64_t seen;
    int go;
    BOOL ok = GetQueuedCompletionStatus(io->port, &bytes, &key, &ov, INFINITE);
    if (!ok && ov == NULL) return;  /* the port itself failed */
    if (ov == NULL && key == (ULONG_PTR)io) return;  /* our stop packet */
    PostQueuedCompletionStatus(io->port, bytes, key, ov);
    /* As in iowatch_unix.c: the pump that ready() brings about arms after
     * this read, and the port is not waited on again before it. */
    uv_mutex_lock(&io->lock);
    seen = io->pumps;
    uv_mutex_unlock(&io->lock);
    io->ready(io->arg);
    uv_mutex_lock(&io->lock);
    while (io->pumps == seen && !io->stop) uv_cond_wait(&io->cond, &io->lock);
    go = !io->stop;
    uv_mutex_unlock(&io->lock);
    if (!go) return;
  }
}

int ax__iowatch_start(ax__iowatch_t **out, uv_loop_t *loop,
                      void (*ready)(void *arg), void *arg) {
  ax__iowatch_t *io;
  int rc;
  *out = NULL;
  io = ax__calloc(1, sizeof(*io));
  if (io == NULL) return UV_ENOMEM;
  io->port = loop->iocp;
  io->ready = ready;
  io->arg = arg;
  if ((rc = uv_mutex_init(&io->lock)) != 0) goto fail_lock;
  if ((rc = uv_cond_init(&io->cond)) != 0) goto fail_cond;
  if ((rc = uv_thread_create(&io->thread, watch_main, io)) != 0) goto fail;
  *out = io;
  return 0;
fail:
  uv_cond_destroy(&io->cond);
fail_cond:
  uv_mutex_destroy(&io->lock);
fail_lock:
  ax__free(io);
  return rc;
}

void ax__iowatch_arm(ax__iowatch_t *io) {
  uv_mutex_lock(&io->lock);
  io->pumps++;
  uv_cond_signal(&io->cond);
  uv_mutex_unlock(&io->lock);
}

void ax__iowatch_stop(ax__iowatch_t *io) {
  uv_mutex_lock(&io->lock);
  io->stop = 1;
  uv_cond_signal(&io->cond);
  uv_mutex_unlock(&io->lock);
  PostQueuedCompletionStatus(io->port, 0, (ULONG_PTR)io, NULL);
  uv_thread_join(&io->thread);
  uv_cond_destroy(&io->cond);
  uv_mutex_destroy(&io->lock);
  ax__free(io);
}
