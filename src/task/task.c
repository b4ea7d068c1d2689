/* Tasks: allocation, the state machine, the task waker.
 * Where a woken task goes is in runtime/sched.c (ax__schedule). */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "runtime/runtime.h"
#include "task/coop.h"
#include "task/tcache.h"
#include "task/task.h"

#define REFS(s) ((s) >> AX__REF_SHIFT)

/* ---- the waker ------------------------------------------------------- */

static ax__task_t *task_of(ax_waker_t *w) {
  return ax__container_of(w, ax__task_t, waker);
}

static ax_waker_t *task_waker_clone(ax_waker_t *w) {
  atomic_fetch_add_explicit(&task_of(w)->state, AX__REF_ONE,
                            memory_order_relaxed);
  return w;
}

void ax__task_drop_ref(ax__task_t *t);

/* Wake consuming one reference: it becomes the notification reference. */
static void task_waker_wake(ax_waker_t *w) {
  ax__task_t *t = task_of(w);
  size_t s = atomic_load_explicit(&t->state, memory_order_acquire), n;
  for (;;) {
    if (s & (AX__COMPLETE | AX__NOTIFIED)) {
      ax__task_drop_ref(t);
      return;
    }
    if (s & AX__RUNNING)  /* the poller re-queues it; our ref goes */
      n = (s | AX__NOTIFIED) - AX__REF_ONE;
    else
      n = s | AX__NOTIFIED;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s, n,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  if (!(s & AX__RUNNING)) ax__schedule(t, 0);
}

void ax__task_wake_by_ref(ax__task_t *t) {
  size_t s = atomic_load_explicit(&t->state, memory_order_acquire), n;
  for (;;) {
    if (s & (AX__COMPLETE | AX__NOTIFIED)) return;
    if (s & AX__RUNNING)
      n = s | AX__NOTIFIED;
    else
      n = (s | AX__NOTIFIED) + AX__REF_ONE;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s, n,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  if (!(s & AX__RUNNING)) ax__schedule(t, 0);
}

static void task_waker_wake_by_ref(ax_waker_t *w) {
  ax__task_wake_by_ref(task_of(w));
}

static void task_waker_drop(ax_waker_t *w) { ax__task_drop_ref(task_of(w)); }

static const ax_waker_vtable_t task_waker_vtable = {
  task_waker_clone, task_waker_wake, task_waker_wake_by_ref, task_waker_drop,
};

/* ---- life ------------------------------------------------------------ */

ax__task_t *ax__task_new(ax_runtime_t *rt, ax_future_t *fut, size_t size,
                         uint32_t out_off, int join) {
  /* size 0: block_on's task stores only a pointer to the caller's. */
  ax__task_t *t =
      ax__tcache_alloc(rt, sizeof(*t) + (size > 0 ? size : sizeof(fut)));
  size_t refs = 2 + (join ? 1 : 0);  /* owned + notification (+ join) */
  if (t == NULL) return NULL;
  t->waker.vtable = &task_waker_vtable;
  atomic_init(&t->state, AX__NOTIFIED | (join ? AX__JOIN_INTEREST : 0) |
                             refs * AX__REF_ONE);
  t->owned_prev = t->owned_next = NULL;
  t->rt = rt;
  if (size > 0)
    memcpy(t->storage, fut, size);
  else
    memcpy(t->storage, &fut, sizeof(fut));  /* block_on: borrowed */
  t->join_waker = NULL;
  t->panic_msg = NULL;
  t->name = NULL;
  atomic_init(&t->wait_file, NULL);
  atomic_init(&t->wait_line, 0);
  t->id = atomic_fetch_add_explicit(&rt->next_id, 1, memory_order_relaxed);
  ax__runtime_ref_task(rt);
  t->result = 0;
  t->out_off = out_off;
  t->shard = (uint8_t)((t->id >> 6) % AX__SHARDS);
  t->dropped = 0;
  t->is_main = size == 0;
  return t;
}

static void task_dealloc(ax__task_t *t) {
  ax_runtime_t *rt = t->rt;
  if (!t->dropped && !t->is_main) {
    t->dropped = 1;
    ax_drop(ax__task_fut(t));  /* a completed task's output goes with its handle */
  }
  if (t->join_waker != NULL) ax_waker_drop(t->join_waker);
  ax__free(t->panic_msg);
  ax__free(t->name);
  ax__tcache_free(t);
  ax__runtime_unref_task(rt);
}

static void drop_refs(ax__task_t *t, size_t n) {
  size_t prev = atomic_fetch_sub_explicit(&t->state, n * AX__REF_ONE,
                                          memory_order_acq_rel);
  if (REFS(prev) == n) task_dealloc(t);
}

void ax__task_drop_ref(ax__task_t *t) { drop_refs(t, 1); }

/* The task has finished (any way): publish, wake the joiner, leave the
 * owned list.  The caller then drops the owned list's reference together
 * with its own (one atomic operation for both). */
static void task_complete(ax__task_t *t) {
  ax_runtime_t *rt = t->rt;
  size_t s = atomic_load_explicit(&t->state, memory_order_relaxed);
  for (;;) {
    size_t n = (s & ~AX__RUNNING) | AX__COMPLETE;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s, n,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  if (!(s & AX__JOIN_INTEREST)) {
    if (t->result == AX_EPANIC) ax__report_panic(rt, t);
  } else if (s & AX__JOIN_WAKER) {
    ax_waker_wake_by_ref(t->join_waker);
  }
  ax__owned_remove(rt, t);
}

static void task_cancel(ax__task_t *t) {
  if (!t->dropped) {
    t->dropped = 1;
    ax_drop(ax__task_fut(t));
  }
  t->result = AX_ECANCELED;
  task_complete(t);
}

void ax__task_panicked(ax__worker_t *w, ax__task_t *t, char *msg) {
  (void)w;
  if (t->panic_msg == NULL)
    t->panic_msg = msg;
  else
    ax__free(msg);  /* a panic inside the drop of a panicked future */
  if (!t->dropped) {
    t->dropped = 1;
    ax_drop(ax__task_fut(t));  /* may panic again: then dropped is already set */
  }
  t->result = AX_EPANIC;
  task_complete(t);
  drop_refs(t, 2);  /* owned list + notification */
}

/* The poll; `watch` is a constant in each of the two callers below, so
 * that the watchdog costs the unwatched polls nothing here. */
static inline void task_run(ax__worker_t *w, ax__task_t *t, int watch) {
  size_t s = atomic_load_explicit(&t->state, memory_order_acquire), n;
  ax_cx_t cx;
  ax_poll_t r;

  for (;;) {
    if (s & AX__COMPLETE) {  /* cancelled at shutdown while queued */
      ax__task_drop_ref(t);
      return;
    }
    n = (s & ~AX__NOTIFIED) | AX__RUNNING;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s, n,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  if (n & AX__CANCELLED) {
    task_cancel(t);
    drop_refs(t, 2);
    return;
  }

  cx.waker = &t->waker;
  cx.ax__task = t;
  cx.ax__worker = w;
  atomic_store_explicit(&t->wait_line, 0, memory_order_relaxed);
  w->current = t;
  w->yielded = 0;
  w->budget = AX__COOP_BUDGET;
  w->jump.armed = 1;
  {
    ax_future_t *f = ax__task_fut(t);
    r = f->vtable->poll(f, &cx);
  }
  w->jump.armed = 0;
  w->current = NULL;
  if (watch) ax__watch_end(w, t);

  if (r == AX_READY) {
    t->result = 0;
    task_complete(t);
    drop_refs(t, 2);
    return;
  }
  s = atomic_load_explicit(&t->state, memory_order_acquire);
  for (;;) {
    if (s & AX__CANCELLED) {
      task_cancel(t);
      drop_refs(t, 2);
      return;
    }
    /* Woken during its poll (or yielded): keep the ref as the notification
     * and queue it at the back. */
    if ((s & AX__NOTIFIED) || w->yielded)
      n = (s & ~AX__RUNNING) | AX__NOTIFIED;
    else
      n = (s & ~AX__RUNNING) - AX__REF_ONE;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s, n,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  if (n & AX__NOTIFIED) ax__schedule(t, 1);
  /* else: the owned list still holds a reference, so t is alive */
}

void ax__task_run(ax__worker_t *w, ax__task_t *t) { task_run(w, t, 0); }

void ax__task_run_watched(ax__worker_t *w, ax__task_t *t) {
  task_run(w, t, 1);
}

int ax__task_claim(ax__task_t *t) {
  size_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  for (;;) {
    if (s & (AX__COMPLETE | AX__RUNNING | AX__NOTIFIED)) return 0;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s,
                                              s | AX__RUNNING,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      return 1;
  }
}

void ax__task_finish(ax__task_t *t, int result) {
  t->result = result;
  task_complete(t);
  drop_refs(t, 2);  /* owned list + the caller's */
}

int ax__task_shutdown(ax__task_t *t) {
  size_t s = atomic_load_explicit(&t->state, memory_order_acquire);
  for (;;) {
    if (s & AX__COMPLETE) return 0;
    /* No worker runs any more, so RUNNING means a pool thread claimed it
     * (ax__task_claim) and is finishing it this instant. */
    if (s & AX__RUNNING) return 1;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s,
                                              s | AX__RUNNING,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  task_cancel(t);
  drop_refs(t, 1);  /* the owned list's; the caller keeps its own */
  return 0;
}

/* ---- join handles ---------------------------------------------------- */

static ax_poll_t join_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_join_t *h = (ax_join_t *)f;
  ax__task_t *t = h->task;
  ax_waker_t *w = cx->waker;
  size_t s;

  if (t == NULL || h->consumed) {
    h->result = AX_EJOINED;
    return AX_READY;
  }
  if (!ax__coop_proceed(cx)) return AX_PENDING;
  s = atomic_load_explicit(&t->state, memory_order_acquire);
  if (s & AX__COMPLETE) goto done;
  ax__coop_refund(cx);  /* from here on, done is reached only by a race */

  if (s & AX__JOIN_WAKER) {
    if (ax_waker_will_wake(t->join_waker, w)) return AX_PENDING;
    /* Take the slot back to replace the waker. */
    for (;;) {
      if (s & AX__COMPLETE) goto done;
      if (atomic_compare_exchange_weak_explicit(&t->state, &s,
                                                s & ~AX__JOIN_WAKER,
                                                memory_order_acq_rel,
                                                memory_order_acquire))
        break;
    }
  }
  if (t->join_waker != NULL) ax_waker_drop(t->join_waker);
  t->join_waker = ax_waker_clone(w);
  s = atomic_load_explicit(&t->state, memory_order_acquire);
  for (;;) {
    if (s & AX__COMPLETE) goto done;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s,
                                              s | AX__JOIN_WAKER,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      return AX_PENDING;
  }
done:
  h->result = t->result;
  h->consumed = 1;
  return AX_READY;
}

static void join_drop(ax_future_t *f) { ax_join_drop((ax_join_t *)f); }

static const ax_future_vtable_t join_vtable = {join_poll, join_drop,
                                               "ax_join"};

void ax__join_attach(ax_join_t *h, ax__task_t *t) {
  h->base.vtable = &join_vtable;
  h->task = t;
  h->result = AX_ENOTREADY;
  h->consumed = 0;
}

ax_future_t *ax_join_wait(ax_join_t *h) {
  if (h->base.vtable == NULL) h->base.vtable = &join_vtable;
  return &h->base;
}

void ax_join_drop(ax_join_t *h) {
  ax__task_t *t = h->task;
  size_t s;
  if (t == NULL) return;
  h->task = NULL;
  s = atomic_load_explicit(&t->state, memory_order_acquire);
  for (;;) {
    if (atomic_compare_exchange_weak_explicit(&t->state, &s,
                                              s & ~AX__JOIN_INTEREST,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  /* Completed with a panic nobody looked at: report it now. */
  if ((s & AX__COMPLETE) && t->result == AX_EPANIC && !h->consumed)
    ax__report_panic(t->rt, t);
  ax__task_drop_ref(t);
}

void *ax_join_output(ax_join_t *h) {
  ax__task_t *t = h->task;
  if (t == NULL || !(ax__task_state(t) & AX__COMPLETE) || t->result != 0)
    return NULL;
  return (char *)ax__task_fut(t) + t->out_off;
}

void *ax_join_value(ax_join_t *h) {
  void **p = ax_join_output(h);
  return p != NULL ? *p : NULL;
}

const char *ax_join_panic_message(ax_join_t *h) {
  ax__task_t *t = h->task;
  if (t == NULL || !(ax__task_state(t) & AX__COMPLETE)) return NULL;
  return t->result == AX_EPANIC ? t->panic_msg : NULL;
}

int ax_join_is_finished(const ax_join_t *h) {
  return h->task != NULL && (ax__task_state(h->task) & AX__COMPLETE) != 0;
}

int ax_abort(ax_join_t *h) {
  ax__task_t *t = h->task;
  size_t s, n;
  if (t == NULL) return AX_EJOINED;
  s = atomic_load_explicit(&t->state, memory_order_acquire);
  for (;;) {
    if (s & (AX__COMPLETE | AX__CANCELLED)) return 0;
    if (s & (AX__RUNNING | AX__NOTIFIED))
      n = s | AX__CANCELLED;  /* the poller / the queue sees it */
    else
      n = (s | AX__CANCELLED | AX__NOTIFIED) + AX__REF_ONE;
    if (atomic_compare_exchange_weak_explicit(&t->state, &s, n,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  if (!(s & (AX__RUNNING | AX__NOTIFIED))) ax__schedule(t, 0);
  return 0;
}
