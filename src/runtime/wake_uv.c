/* A worker's wake-up on uv_async_t: the portable one (see wake.h). */
#include "runtime/wake.h"

static void async_cb(uv_async_t *a) {
  ax__wake_t *k = a->data;
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
  rc = uv_async_init(loop, &k->async, async_cb);
  if (rc == 0) k->async.data = k;
  return rc;
}

void ax__wake_send(ax__wake_t *k) {
  if (!atomic_load_explicit(&k->closed, memory_order_acquire))
    uv_async_send(&k->async);
}

void ax__wake_set_ref(ax__wake_t *k, int ref) {
  if (ref)
    uv_ref((uv_handle_t *)&k->async);
  else
    uv_unref((uv_handle_t *)&k->async);
}

static void async_closed(uv_handle_t *h) {
  ax__wake_t *k = h->data;
  if (k->on_closed != NULL) k->on_closed(k->on_closed_arg);
}

void ax__wake_close(ax__wake_t *k, void (*closed)(void *arg), void *arg) {
  atomic_store(&k->closed, 1);
  k->on_closed = closed;
  k->on_closed_arg = arg;
  uv_close((uv_handle_t *)&k->async, async_closed);
}
