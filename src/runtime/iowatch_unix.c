/* The I/O thread of a pumped runtime on Unix (iowatch.h): poll() on the
 * loop's backend descriptor (an epoll or kqueue descriptor polls readable
 * while it has events), with a pipe that ends the wait at shutdown. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "core/alloc.h"
#include "runtime/iowatch.h"

struct ax__iowatch_s {
  uv_thread_t thread;        /* watch_main */
  int backend;               /* the loop's backend descriptor */
  uv_file stop_pipe[2];      /* written once by ax__iowatch_stop */
  void (*ready)(void *arg);  /* tells the loop's thread */
  void *arg;
  uv_mutex_t lock;           /* guards the two below */
  uv_cond_t cond;            /* signalled by arm and stop */
  uint64_t pumps;            /* arms so far */
  int stop;                  /* set by ax__iowatch_stop */
};

/* Waits for the first arm after `seen`; 0 when stopped instead. */
static int wait_pump(ax__iowatch_t *io, uint64_t seen) {
  int go;
  uv_mutex_lock(&io->lock);
  while (io->pumps == seen && !io->stop) uv_cond_wait(&io->cond, &io->lock);
  go = !io->stop;
  uv_mutex_unlock(&io->lock);
  return go;
}

static void watch_main(void *arg) {
  ax__iowatch_t *io = arg;
  struct pollfd fds[2];
  fds[0].fd = io->backend;
  fds[0].events = POLLIN;
  fds[1].fd = io->stop_pipe[0];
  fds[1].events = POLLIN;
  for (;;) {
    uint64_t seen;
    fds[0].revents = fds[1].revents = 0;
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;  /* cannot watch: the application still has ax_pump_timeout */
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    /* The pump that ready() brings about starts after this read, so its
     * arm moves `pumps` past `seen`: no arm is missed, and until then the
     * ready descriptor is not polled again (it stays ready until the
     * loop's turn takes its events). */
    uv_mutex_lock(&io->lock);
    seen = io->pumps;
    uv_mutex_unlock(&io->lock);
    io->ready(io->arg);
    if (!wait_pump(io, seen)) return;
  }
}

int ax__iowatch_start(ax__iowatch_t **out, uv_loop_t *loop,
                      void (*ready)(void *arg), void *arg) {
  ax__iowatch_t *io;
  int rc;
  *out = NULL;
  if (uv_backend_fd(loop) < 0) return UV_ENOTSUP;
  io = ax__calloc(1, sizeof(*io));
  if (io == NULL) return UV_ENOMEM;
  io->backend = uv_backend_fd(loop);
  io->ready = ready;
  io->arg = arg;
  if ((rc = uv_pipe(io->stop_pipe, 0, 0)) != 0) goto fail_pipe;
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
  close(io->stop_pipe[0]);
  close(io->stop_pipe[1]);
fail_pipe:
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
  char b = 0;
  uv_mutex_lock(&io->lock);
  io->stop = 1;
  uv_cond_signal(&io->cond);
  uv_mutex_unlock(&io->lock);
  while (write(io->stop_pipe[1], &b, 1) < 0 && errno == EINTR) {
  }
  uv_thread_join(&io->thread);
  close(io->stop_pipe[0]);
  close(io->stop_pipe[1]);
  uv_cond_destroy(&io->cond);
  uv_mutex_destroy(&io->lock);
  ax__free(io);
}
