/* LocalSet: tasks pinned to the thread that polls their set (Tokio's
 * LocalSet and spawn_local, task.h).
 *
 * A local task is an ordinary task of its runtime (on its owned list, in
 * its dumps, cancelled by its shutdown) whose kind is AX__TASK_LOCAL: the
 * scheduler (sched.c) hands it to ax__local_schedule instead of a worker
 * queue, and only the set's poll (ax_local_set_run_until) ever polls it,
 * nested inside the poll of the task (or block_on future) that awaits the
 * set (ax__task_run_nested).  So it runs on that thread and no other, and
 * never moves: no worker steals it, since no worker queue holds it.
 *
 * Memory: the set's shared part is counted (the set, and each task's
 * header), since a task can be woken from any thread after its set is
 * gone; the task block carries the header in front of its future
 * (AX__LOCAL_PREFIX bytes, local tasks only: the task struct did not
 * grow).  The set's list of its tasks holds a reference to each, dropped
 * once the set has seen it end (after running it) or at the set's drop,
 * which cancels what is left, on the set's thread.  The queue links tasks
 * through inject_next, free while a task is queued (it never is on the
 * injection queue).
 */
#include <assert.h>
#include <string.h>

#include "core/alloc.h"
#include "core/list.h"
#include "core/spin.h"
#include "core/tls.h"
#include "runtime/local.h"
#include "runtime/sched.h"
#include "runtime/spawn.h"
#include "runtime/runtime.h"
#include "runtime/task/state.h"
#include "runtime/worker.h"

/* Polls of local tasks per poll of the set, before it lets its poller
 * go (it wakes itself to come back): the set's tasks must not starve the
 * worker's other tasks, timers and I/O (Tokio: 61 per tick). */
#define LOCAL_TICK 61

struct ax__local_shared_s {
  ax__spin_t lock;          /* guards everything below but refs */
  ax__task_t *head, *tail;  /* run queue (through inject_next) */
  ax__link_t tasks;         /* its tasks not seen ended (their headers) */
  ax_waker_t *waker;        /* the set's poller, or NULL */
  int closed;               /* dropped: wakes drop their notification */
  _Atomic size_t refs;      /* the set's + one per task header */
};

/* The set whose poll runs on this thread (spawn_local's target). */
static AX__TLS ax__local_shared_t *tls_set;

static void shared_unref(ax__local_shared_t *sh) {
  if (atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) == 1) {
    if (sh->waker != NULL) ax_waker_drop(sh->waker);
    ax__free(sh);
  }
}

static ax__local_shared_t *shared_get(ax_local_set_t *s) {
  ax__local_shared_t *sh = s->ax__shared;
  if (sh != NULL) return sh;
  if ((sh = ax__malloc(sizeof(*sh))) == NULL) return NULL;
  memset(sh, 0, sizeof(*sh));
  ax__spin_init(&sh->lock);
  ax__list_init(&sh->tasks);
  atomic_init(&sh->refs, 1);
  s->ax__shared = sh;
  return sh;
}

/* Lock held. */
static void push(ax__local_shared_t *sh, ax__task_t *t) {
  t->inject_next = NULL;
  if (sh->tail != NULL)
    sh->tail->inject_next = t;
  else
    sh->head = t;
  sh->tail = t;
}

static ax__task_t *pop(ax__local_shared_t *sh) {
  ax__task_t *t;
  ax__spin_lock(&sh->lock);
  if ((t = sh->head) != NULL) {
    sh->head = t->inject_next;
    if (sh->head == NULL) sh->tail = NULL;
    t->inject_next = NULL;  /* panic_msg's room (task.h) */
  }
  ax__spin_unlock(&sh->lock);
  return t;
}

void ax__local_schedule(ax__task_t *t) {
  ax__local_shared_t *sh = ax__task_local_hdr(t)->set;
  ax_waker_t *w = NULL;
  ax__spin_lock(&sh->lock);
  if (sh->closed) {
    ax__spin_unlock(&sh->lock);
    ax__task_drop_ref(t);  /* the set's drop cancelled it */
    return;
  }
  push(sh, t);
  /* From inside the set's own poll, the loop there will see it. */
  if (tls_set != sh && sh->waker != NULL) w = ax_waker_clone(sh->waker);
  ax__spin_unlock(&sh->lock);
  if (w != NULL) ax_waker_wake(w);
}

void ax__sched_local_free(ax__task_t *t) {
  ax__local_hdr_t *hdr = ax__task_local_hdr(t);
  if (hdr->set != NULL) shared_unref(hdr->set);  /* NULL: never linked */
}

/* ---- spawning ------------------------------------------------------------ */

static int spawn_into(const char *site, ax__local_shared_t *sh,
                      ax_runtime_t *rt, ax_future_t *fut, size_t size,
                      ax_join_t *join) {
  size_t total;
  char *buf;
  ax__task_t *t;
  ax__local_hdr_t *hdr;
  int rc;
  if (join != NULL) memset(join, 0, sizeof(*join));
  if (rt == NULL) return AX_ENORUNTIME;
  if (fut == NULL || size < sizeof(ax_future_t) ||
      size > AX__TASK_MAX_FUTURE - AX__LOCAL_PREFIX)
    return AX_EINVAL;
  /* The task copies [header | future] in one go (ax__task_new is not
   * touched for the rare local kind). */
  total = AX__LOCAL_PREFIX + size;
  if ((buf = ax__malloc(total)) == NULL) return AX_ENOMEM;
  memset(buf, 0, AX__LOCAL_PREFIX);
  memcpy(buf + AX__LOCAL_PREFIX, fut, size);
  rc = ax__spawn_kind_idle(site, rt, (ax_future_t *)(void *)buf, total,
                           AX__TASK_LOCAL, join, &t);
  ax__free(buf);
  if (rc != 0) return rc;
  hdr = ax__task_local_hdr(t);
  hdr->set = sh;
  atomic_fetch_add_explicit(&sh->refs, 1, memory_order_relaxed);
  ax__task_ref(t);  /* the set's list's */
  ax__spin_lock(&sh->lock);
  ax__list_push_back(&sh->tasks, &hdr->link);
  ax__spin_unlock(&sh->lock);
  ax__local_schedule(t);  /* with the notification spawn left us */
  return 0;
}

int ax__local_set_spawn_at(const char *site, ax_local_set_t *s,
                           ax_future_t *fut, size_t size, ax_join_t *join) {
  ax__local_shared_t *sh;
  if (join != NULL) memset(join, 0, sizeof(*join));
  if (s == NULL) return AX_EINVAL;
  if ((sh = shared_get(s)) == NULL) return AX_ENOMEM;
  return spawn_into(site, sh, ax_runtime_current(), fut, size, join);
}

int ax__spawn_local_at(const char *site, ax_future_t *fut, size_t size,
                       ax_join_t *join) {
  ax_runtime_t *rt = ax_runtime_current();
  ax__ctx_t *c = ax__ctx_current();
  if (tls_set != NULL) return spawn_into(site, tls_set, rt, fut, size, join);
  /* Outside a set, a current-thread runtime's tasks all run on its one
   * thread (the desktop's pumped runtime too): an ordinary spawn is
   * pinned already.  Only from that thread: a spawn from elsewhere would
   * not be "local" to the caller. */
  if (c != NULL && rt != NULL && rt->flavor == AX_CURRENT_THREAD)
    return ax__spawn_here(site, fut, size, join);
  if (join != NULL) memset(join, 0, sizeof(*join));
  return AX_ENORUNTIME;
}

/* ---- running ------------------------------------------------------------- */

/* t was polled by this set and may have ended: forget it then. */
static void after_run(ax__local_shared_t *sh, ax__task_t *t) {
  ax__local_hdr_t *hdr = ax__task_local_hdr(t);
  if (!(ax__task_state(t) & AX__COMPLETE)) return;
  ax__spin_lock(&sh->lock);
  if (ax__list_linked(&hdr->link)) {
    ax__list_remove(&hdr->link);
    ax__spin_unlock(&sh->lock);
    ax__task_drop_ref(t);
    return;
  }
  ax__spin_unlock(&sh->lock);
}

static ax_poll_t run_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_local_run_t *r = (ax_local_run_t *)f;
  ax__local_shared_t *sh, *prev;
  ax__ctx_t *ctx = cx->ax__ctx;
  ax_waker_t *old = NULL;
  unsigned n;
  if (r->result != AX_ENOTREADY) return AX_READY;
  if (r->set == NULL || r->inner == NULL) {
    r->result = AX_EINVAL;
    return AX_READY;
  }
  if (ctx == NULL) {  /* polled by hand: no worker to run tasks on */
    r->result = AX_ENORUNTIME;
    return AX_READY;
  }
  /* Only from a thread that stays put: block_on's (the multi-thread
   * driver), a current-thread runtime's, or inside another set's poll.
   * A task on a multi-thread worker may be polled by another worker next
   * time, and its local tasks with it (Tokio's RunUntil is !Send: a
   * compile error there). */
  if (tls_set == NULL && ctx->rt->flavor == AX_MULTI_THREAD &&
      !ax__container_of(ctx, ax__worker_t, ctx)->is_driver) {
    r->result = AX_EINVAL;
    return AX_READY;
  }
  if ((sh = shared_get(r->set)) == NULL) {
    r->result = AX_ENOMEM;
    return AX_READY;
  }
  ax__spin_lock(&sh->lock);
  if (sh->waker == NULL || !ax_waker_will_wake(sh->waker, cx->waker)) {
    old = sh->waker;
    sh->waker = ax_waker_clone(cx->waker);
  }
  ax__spin_unlock(&sh->lock);
  if (old != NULL) ax_waker_drop(old);

  prev = tls_set;
  tls_set = sh;
  if (!r->inner_done && ax_poll(r->inner, cx) == AX_READY) r->inner_done = 1;
  if (!r->inner_done) {
    ax__task_t *t;
    for (n = 0; n < LOCAL_TICK && (t = pop(sh)) != NULL; n++) {
      ax__task_ref(t);  /* to look at it after the poll */
      ax__task_run_nested(ctx, t);
      after_run(sh, t);
      ax__task_drop_ref(t);
    }
    /* More queued than one tick: come back after the worker's others. */
    if (n == LOCAL_TICK) ax_waker_wake_by_ref(cx->waker);
  }
  tls_set = prev;
  if (!r->inner_done) return AX_PENDING;
  r->result = 0;
  return AX_READY;
}

static void run_drop(ax_future_t *f) {
  ax_local_run_t *r = (ax_local_run_t *)f;
  ax__local_shared_t *prev = tls_set;
  if (r->inner == NULL) return;
  /* inner's drop may spawn_local (into its set) or drop local handles. */
  tls_set = r->set != NULL ? r->set->ax__shared : NULL;
  ax_drop(r->inner);
  tls_set = prev;
  r->inner = NULL;
  if (r->result == AX_ENOTREADY) r->result = AX_ECANCELED;
}

static const ax_future_vtable_t run_vtable = {run_poll, run_drop,
                                              "ax_local_set_run_until"};

ax_future_t *ax_local_set_run_until(ax_local_run_t *r, ax_local_set_t *s,
                                    ax_future_t *inner) {
  assert(r != NULL);
  r->base.vtable = &run_vtable;
  r->set = s;
  r->inner = inner;
  r->inner_done = 0;
  r->result = AX_ENOTREADY;
  return &r->base;
}

void ax_local_set_init(ax_local_set_t *s) {
  assert(s != NULL);
  s->ax__shared = NULL;
}

void ax_local_set_drop(ax_local_set_t *s) {
  ax__local_shared_t *sh;
  ax__link_t *l;
  ax__task_t *t;
  ax_waker_t *w;
  if (s == NULL || (sh = s->ax__shared) == NULL) return;
  s->ax__shared = NULL;
  ax__spin_lock(&sh->lock);
  sh->closed = 1;
  w = sh->waker;
  sh->waker = NULL;
  ax__spin_unlock(&sh->lock);
  if (w != NULL) ax_waker_drop(w);
  /* Cancel what is left, here (this thread is the set's): each drop runs
   * as its task's code (ax__task_shutdown: its id, its panics caught). */
  for (;;) {
    ax__spin_lock(&sh->lock);
    l = ax__list_first(&sh->tasks);
    if (l != NULL) ax__list_remove(l);
    ax__spin_unlock(&sh->lock);
    if (l == NULL) break;
    t = (ax__task_t *)(void *)((char *)ax__container_of(l, ax__local_hdr_t,
                                                         link) -
                               offsetof(ax__task_t, storage));
    while (ax__task_shutdown(t)) ax__cpu_yield();  /* never busy: ours */
    ax__task_drop_ref(t);  /* the list's */
  }
  /* Queued notifications: theirs to drop now (wakes from now on find the
   * set closed). */
  while ((t = pop(sh)) != NULL) ax__task_drop_ref(t);
  shared_unref(sh);
}
