/* Join handles: a caller-owned future holding one task reference.
 *
 * The task's join_waker slot belongs to the handle while JOIN_WAKER is
 * clear and to the task while it is set (state.h), so neither side locks:
 * the handle writes its waker, then hands the slot over; the task wakes it
 * at completion if it owns the slot. */
#include <assert.h>

#include "core/context.h"
#include "runtime/sched.h"
#include "runtime/task/state.h"

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
  s = ax__state_load(&t->state);
  if (s & AX__COMPLETE) goto done;
  ax__coop_refund(cx);  /* from here on, done is reached only by a race */

  if (s & AX__JOIN_WAKER) {
    if (ax_waker_will_wake(t->join_waker, w)) return AX_PENDING;
    if (ax__state_unset_join_waker(&t->state)) goto done;
  }
  if (t->join_waker != NULL) ax_waker_drop(t->join_waker);
  t->join_waker = ax_waker_clone(w);
  if (ax__state_set_join_waker(&t->state)) goto done;
  return AX_PENDING;
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
  assert(h != NULL);
  if (h->base.vtable == NULL) h->base.vtable = &join_vtable;
  return &h->base;
}

void ax_join_drop(ax_join_t *h) {
  ax__task_t *t;
  size_t s;
  if (h == NULL || (t = h->task) == NULL) return;
  h->task = NULL;
  s = ax__state_drop_join_interest(&t->state);
  /* Completed with a panic nobody looked at: report it now. */
  if ((s & AX__COMPLETE) && t->result == AX_EPANIC && !h->consumed)
    ax__sched_report_panic(t);
  ax__task_drop_ref(t);
}

void *ax_join_output(ax_join_t *h) {
  ax__task_t *t;
  assert(h != NULL);
  t = h->task;
  if (t == NULL || !(ax__state_load(&t->state) & AX__COMPLETE) ||
      t->result != 0)
    return NULL;
  return (char *)ax__task_fut(t) +
         (t->kind == AX__TASK_VALUE ? AX__TASK_VALUE_OFF : 0);
}

void *ax_join_value(ax_join_t *h) {
  void **p = ax_join_output(h);
  void *v;
  if (p == NULL) return NULL;
  v = *p;
  *p = NULL;  /* the caller's now: a result destructor must not see it */
  return v;
}

const char *ax_join_panic_message(ax_join_t *h) {
  ax__task_t *t;
  assert(h != NULL);
  t = h->task;
  if (t == NULL || !(ax__state_load(&t->state) & AX__COMPLETE)) return NULL;
  return t->result == AX_EPANIC ? t->panic_msg : NULL;
}

int ax_join_is_finished(const ax_join_t *h) {
  assert(h != NULL);
  return h->task != NULL &&
         (ax__state_load(&h->task->state) & AX__COMPLETE) != 0;
}

static void abort_task(ax__task_t *t) {
  if (ax__state_notify_cancel(&t->state) == AX__NOTIFY_SUBMIT)
    ax__sched_schedule(t, 0);
}

int ax_abort(ax_join_t *h) {
  ax__task_t *t;
  if (h == NULL) return AX_EINVAL;
  if ((t = h->task) == NULL) return AX_EJOINED;
  abort_task(t);
  return 0;
}

const char *ax_join_spawn_site(const ax_join_t *h) {
  assert(h != NULL);
  return h->task != NULL ? h->task->site : NULL;
}

uint64_t ax_join_id(const ax_join_t *h) {
  assert(h != NULL);
  return h->task != NULL ? h->task->id : 0;
}

/* ---- abort handles: a plain task reference (no join interest) --------- */

int ax_join_abort_handle(const ax_join_t *h, ax_abort_handle_t *out) {
  if (out != NULL) out->task = NULL;
  if (h == NULL || out == NULL) return AX_EINVAL;
  if (h->task == NULL) return AX_EJOINED;
  ax__task_ref(h->task);
  out->task = h->task;
  return 0;
}

int ax_abort_handle_clone(const ax_abort_handle_t *a, ax_abort_handle_t *out) {
  if (out != NULL) out->task = NULL;
  if (a == NULL || out == NULL) return AX_EINVAL;
  if (a->task == NULL) return AX_EJOINED;
  ax__task_ref(a->task);
  out->task = a->task;
  return 0;
}

int ax_abort_handle_abort(const ax_abort_handle_t *a) {
  if (a == NULL) return AX_EINVAL;
  if (a->task == NULL) return AX_EJOINED;
  abort_task(a->task);
  return 0;
}

int ax_abort_handle_is_finished(const ax_abort_handle_t *a) {
  assert(a != NULL);
  return a->task != NULL &&
         (ax__state_load(&a->task->state) & AX__COMPLETE) != 0;
}

uint64_t ax_abort_handle_id(const ax_abort_handle_t *a) {
  assert(a != NULL);
  return a->task != NULL ? a->task->id : 0;
}

void ax_abort_handle_drop(ax_abort_handle_t *a) {
  ax__task_t *t;
  if (a == NULL || (t = a->task) == NULL) return;
  a->task = NULL;
  ax__task_drop_ref(t);
}
