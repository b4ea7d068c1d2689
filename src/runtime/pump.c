/* Runtimes that live in a loop the application runs: pumped runtimes
 * (<axle/embed.h>) and current-thread runtimes on the application's own
 * libuv loop (builder.loop).  pump.h has the model; docs/internals.md
 * ("Living in the application's loop") the reasons. */
#include "core/fence.h"
#include "runtime/idle.h"
#include "runtime/pump.h"

/* ---- asking the application for a pump --------------------------------- */

/* Counted in `calling` before `closed` is read, so that ax__pump_close,
 * which sets `closed` and then waits for `calling` to be 0, returns only
 * once no call can still be running or start: the application may free
 * what wake_arg points to as soon as on_free is called. */
void ax__pump_signal(ax__pump_t *p) {
  atomic_fetch_add(&p->calling, 1);
  if (!atomic_load(&p->closed) && p->cfg.wake != NULL &&
      !atomic_exchange(&p->signalled, 1))
    p->cfg.wake(p->cfg.wake_arg);
  atomic_fetch_sub_explicit(&p->calling, 1, memory_order_release);
}

static void io_ready(void *arg) { ax__pump_signal(arg); }

void ax__pump_close(ax__pump_t *p) {
  atomic_store(&p->closed, 1);
  while (atomic_load_explicit(&p->calling, memory_order_acquire) != 0)
    ax__cpu_yield();
  /* Before the loop closes: the thread waits on its backend. */
  if (p->io != NULL) ax__iowatch_stop(p->io);
  p->io = NULL;
}

void ax__pump_free(ax__pump_t *p) {
  if (p->cfg.on_free != NULL) p->cfg.on_free(p->cfg.wake_arg);
  ax__free(p);
}

/* ---- the worker between pumps ------------------------------------------ */

/* The same Dekker handshake as a worker going to sleep (idle.c): parked,
 * fence, look at the queues; a waker pushes, then reads `parked`.  Either
 * we see its task here, or it sees us parked and asks for a pump. */
int ax__pump_idle(ax__worker_t *w) {
  ax_runtime_t *rt = w->ctx.rt;
  atomic_store(&w->parked, 1);
  ax__fence();
  if (ax__lq_len(&w->q) == 0 && ax__inject_len(&rt->inject) == 0 &&
      !ax__mailbox_pending(&w->mail))
    return 0;
  ax__idle_unpark(w);
  return 1;
}

void ax__pump_woken(ax__worker_t *w) {
  /* Inside a poll context already: ax_block_on parked in this loop (its
   * run loop takes the tasks), or some runtime's task running the loop. */
  if (ax__ctx_current() != NULL) return;
  if (atomic_load_explicit(&w->ctx.rt->shutdown, memory_order_acquire)) {
    ax__runtime_free_on_wake(w->ctx.rt);  /* w may be gone after this */
    return;
  }
  atomic_store(&w->parked, 0);
  /* Inside the application's uv_run: no uv_run of our own. */
  ax__worker_pump(w, AX_PUMP_BUDGET, 0);
  ax__pump_idle(w);
}

/* ---- the public API ------------------------------------------------------ */

int ax_runtime_new_pumped(const ax_builder_t *b, const ax_pump_config_t *cfg,
                          ax_runtime_t **out) {
  ax_builder_t defaults;
  ax_runtime_t *rt;
  ax__worker_t *w;
  ax__pump_t *p;
  int rc;

  *out = NULL;
  if (b == NULL) {
    ax_builder_init(&defaults, AX_CURRENT_THREAD);
    b = &defaults;
  }
  /* The runtime's loop is its own: a loop the application runs itself is
   * the other way in (builder.loop, without a pump). */
  if (b->flavor != AX_CURRENT_THREAD || b->loop != NULL) return AX_EINVAL;
  p = ax__calloc(1, sizeof(*p));
  if (p == NULL) return AX_ENOMEM;
  if (cfg != NULL) p->cfg = *cfg;
  p->owner = uv_thread_self();
  atomic_init(&p->signalled, 0);
  atomic_init(&p->closed, 0);
  atomic_init(&p->calling, 0);
  if ((rc = ax_runtime_new(b, &rt)) != 0) {
    ax__free(p);
    return rc;
  }
  /* Nobody else knows rt yet. */
  w = rt->workers[0];
  w->pump = p;
  atomic_store(&w->parked, 1);
  if (p->cfg.io_thread &&
      (rc = ax__iowatch_start(&p->io, w->ctx.loop, io_ready, p)) != 0) {
    w->pump = NULL;
    ax_runtime_free(rt);
    ax__free(p);   /* a failed call calls nothing back, on_free included */
    return rc;
  }
  *out = rt;
  return 0;
}

/* The worker of a runtime the application drives, or NULL (AX_EINVAL):
 * a pumped one on its own thread, or one on the application's loop. */
static ax__worker_t *driven_worker(ax_runtime_t *rt) {
  ax__worker_t *w;
  uv_thread_t self;
  if (rt == NULL || rt->flavor != AX_CURRENT_THREAD) return NULL;
  w = rt->workers[0];
  if (w->pump == NULL && !ax__worker_on_user_loop(w)) return NULL;
  /* Only the loop's thread: tasks run where their widgets are. */
  self = uv_thread_self();
  return uv_thread_equal(&rt->home_thread, &self) ? w : NULL;
}

int ax_pump(ax_runtime_t *rt, unsigned budget) {
  ax__worker_t *w = driven_worker(rt);
  ax__pump_t *p;
  int more;
  if (w == NULL) return AX_EINVAL;
  if (ax__ctx_current() != NULL) return AX_ENESTED;
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return AX_ESHUTDOWN;
  p = w->pump;
  /* Running: wakers from now on push without asking (the check at the end
   * sees their tasks), and a wake-up asked for from now on is a new one. */
  atomic_store(&w->parked, 0);
  if (p != NULL) atomic_store(&p->signalled, 0);
  ax__worker_pump(w, budget, p != NULL);
  more = ax__pump_idle(w);
  /* The turn above took the loop's ready events: the I/O thread may look
   * again. */
  if (p != NULL && p->io != NULL) ax__iowatch_arm(p->io);
  return more;
}

int ax_pump_timeout(ax_runtime_t *rt) {
  ax__worker_t *w = driven_worker(rt);
  uv_loop_t *loop;
  if (w == NULL) return AX_EINVAL;
  /* Stopped by a shutdown_background from elsewhere: nothing will run
   * (ax_pump says so too), and a 0 here would spin the loop until the
   * application frees the runtime. */
  if (atomic_load_explicit(&rt->shutdown, memory_order_acquire))
    return AX_ESHUTDOWN;
  if (ax__lq_len(&w->q) != 0 || ax__inject_len(&rt->inject) != 0 ||
      ax__mailbox_pending(&w->mail))
    return 0;
  loop = w->ctx.loop;
  /* The loop's clock is the one of its last turn: bring it up to date, or
   * the time to the next timer comes out too long by the time since. */
  uv_update_time(loop);
  if (!uv_loop_alive(loop)) return -1;
  return uv_backend_timeout(loop);
}

int ax_pump_fd(ax_runtime_t *rt) {
  ax__worker_t *w = driven_worker(rt);
  int fd;
  if (w == NULL) return AX_EINVAL;
  fd = uv_backend_fd(w->ctx.loop);
  return fd >= 0 ? fd : UV_ENOTSUP;
}
