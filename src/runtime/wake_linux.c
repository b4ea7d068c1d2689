/* A worker's wake-up on an eventfd (Linux only; see wake.h for why). */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "runtime/wake.h"

static void async_cb(uv_async_t *a) {
  ax__wake_t *k = a->data;
  k->woken(k->arg);
}

static void poll_cb(uv_poll_t *p, int status, int events) {
  ax__wake_t *k = p->data;
  uint64_t v;
  (void)status;
  (void)events;
  /* Reset the counter first: a send after this read is a new wake-up and
   * will make the fd readable again, so none is lost. */
  while (read(k->fd, &v, sizeof v) < 0 && errno == EINTR) {
  }
  k->woken(k->arg);
}

int ax__wake_init(ax__wake_t *k, uv_loop_t *loop, void (*woken)(void *arg),
                  void *arg) {
  int rc;
  atomic_init(&k->closed, 0);
  k->woken = woken;
  k->arg = arg;
  k->on_closed = NULL;
  k->on_closed_arg = NULL;
  k->fd = -1;
  k->async.data = k;
  k->poll.data = k;
  k->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (k->fd >= 0) {
    if (uv_poll_init(loop, &k->poll, k->fd) == 0) {
      if (uv_poll_start(&k->poll, UV_READABLE, poll_cb) == 0) return 0;
      uv_close((uv_handle_t *)&k->poll, NULL);
      /* the loop finishes that close before the worker's first turn */
    }
    close(k->fd);
    k->fd = -1;
  }
  rc = uv_async_init(loop, &k->async, async_cb);
  if (rc == 0) k->async.data = k;
  return rc;
}

void ax__wake_send(ax__wake_t *k) {
  if (atomic_load_explicit(&k->closed, memory_order_acquire)) return;
  if (k->fd >= 0) {
    uint64_t one = 1;
    /* EAGAIN means the counter is near overflow: certainly non-zero, so
     * the loop wakes anyway. */
    while (write(k->fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
    return;
  }
  uv_async_send(&k->async);
}

static void poll_closed(uv_handle_t *h) {
  ax__wake_t *k = h->data;
  close(k->fd);
  k->fd = -1;
  if (k->on_closed != NULL) k->on_closed(k->on_closed_arg);
}

static void async_closed(uv_handle_t *h) {
  ax__wake_t *k = h->data;
  if (k->on_closed != NULL) k->on_closed(k->on_closed_arg);
}

void ax__wake_set_ref(ax__wake_t *k, int ref) {
  uv_handle_t *h = k->fd >= 0 ? (uv_handle_t *)&k->poll
                              : (uv_handle_t *)&k->async;
  if (ref)
    uv_ref(h);
  else
    uv_unref(h);
}

void ax__wake_close(ax__wake_t *k, void (*closed)(void *arg), void *arg) {
  atomic_store(&k->closed, 1);
  k->on_closed = closed;
  k->on_closed_arg = arg;
  if (k->fd >= 0)
    uv_close((uv_handle_t *)&k->poll, poll_closed);
  else
    uv_close((uv_handle_t *)&k->async, async_closed);
}
