/* Blocking waits for threads that are not runtime threads (Tokio's
 * blocking_send / blocking_recv): the channel future is polled on the
 * calling thread with a waker that posts a semaphore, and the thread
 * sleeps on that semaphore between polls.
 *
 * The waker lives on this function's stack, so before returning it waits
 * until every clone handed out has been released: a waker taken by a
 * sender on another thread may still be on its way to wake() it.
 */
#include "sync/chan.h"

#include "axle/runtime.h"
#include "core/context.h"

#if defined(_WIN32)
#  include <windows.h>
#  define ax__chan_yield() SwitchToThread()
#else
#  include <sched.h>
#  define ax__chan_yield() sched_yield()
#endif

typedef struct {
  ax_waker_t base;
  _Atomic int refs;   /* clones held by others */
  uv_sem_t sem;       /* posted per wake */
} parker_t;

static ax_waker_t *pk_clone(ax_waker_t *w) {
  atomic_fetch_add_explicit(&((parker_t *)w)->refs, 1, memory_order_relaxed);
  return w;
}
static void pk_wake_by_ref(ax_waker_t *w) { uv_sem_post(&((parker_t *)w)->sem); }
static void pk_drop(ax_waker_t *w) {
  /* The last access to the parker: its owner may return right after. */
  atomic_fetch_sub_explicit(&((parker_t *)w)->refs, 1, memory_order_release);
}
static void pk_wake(ax_waker_t *w) {
  pk_wake_by_ref(w);
  pk_drop(w);
}
static const ax_waker_vtable_t pk_vtable = {pk_clone, pk_wake, pk_wake_by_ref,
                                            pk_drop};

/* Runs f (prepared, never polled) to completion on this thread, then drops
 * it.  0, AX_ENESTED (a runtime thread must not block) or a libuv error. */
static int chan_block(ax_future_t *f) {
  parker_t pk;
  ax_cx_t cx;
  int err;
  /* A thread that runs a loop (a worker, block_on's) must not block; a
   * blocking-pool thread has a current runtime but no loop, and is where
   * these calls belong. */
  if (ax__ctx_current() != NULL) {
    ax_drop(f);
    return AX_ENESTED;
  }
  if ((err = uv_sem_init(&pk.sem, 0)) != 0) {
    ax_drop(f);
    return err;
  }
  pk.base.vtable = &pk_vtable;
  atomic_init(&pk.refs, 0);
  ax_cx_init(&cx, &pk.base);
  while (ax_poll(f, &cx) == AX_PENDING)
    uv_sem_wait(&pk.sem);
  ax_drop(f);
  while (atomic_load_explicit(&pk.refs, memory_order_acquire) != 0)
    ax__chan_yield();
  uv_sem_destroy(&pk.sem);
  return 0;
}

int ax_mpsc_blocking_send(ax_mpsc_tx_t *tx, const void *value) {
  ax_mpsc_send_t f;
  int r = chan_block(ax_mpsc_send(&f, tx, value));
  return r != 0 ? r : f.result;
}

int ax_mpsc_blocking_recv(ax_mpsc_rx_t *rx, void *out) {
  ax_mpsc_recv_t f;
  int r = chan_block(ax_mpsc_recv(&f, rx, out));
  return r != 0 ? r : f.result;
}

int ax_oneshot_blocking_recv(ax_oneshot_rx_t *rx, void *out) {
  ax_oneshot_recv_t f;
  int r = chan_block(ax_oneshot_recv(&f, rx, out));
  return r != 0 ? r : f.result;
}
