/* JoinSet: a group of tasks joined in the order they finish (Tokio's
 * JoinSet, task.h).
 *
 * Each task of a set has an entry: its join handle, and a waker of its
 * own that the handle registers once, at the spawn (polled with a context
 * whose waker is the entry's).  The task wakes that waker when it ends,
 * on whatever thread ends it; the wake moves the entry from the set's
 * `idle` list to its `ready` list and wakes the task awaiting
 * ax_join_set_next, if any.  So finding the next finished task is a list
 * pop, not a scan of every handle (Tokio's IdleNotifiedSet).
 *
 * Who touches what:
 *   - the owner (the one task using the set at a time, as Tokio's &mut
 *     JoinSet): spawns, pops, aborts, drops; it alone adds and removes
 *     entries, and walks `all`, a list of every entry that no waker
 *     touches, without a lock;
 *   - wakers (any thread): move an entry from idle to ready and take the
 *     stored waker, under `lock`.
 * Memory: the shared part and each entry are counted.  An entry's counts:
 * one while it is in the set, one per clone of its waker (the task keeps
 * one until it is freed, which may be after the set is gone).  The shared
 * part's: one for the set, one per entry alive.
 */
#include <assert.h>
#include <string.h>

#include "axle/leaf.h"
#include "axle/task.h"
#include "core/alloc.h"
#include "core/context.h"
#include "core/list.h"
#include "core/spin.h"

enum { E_IDLE, E_READY, E_GONE };

struct ax__join_set_shared_s {
  ax__spin_t lock;        /* guards idle, ready, waker, entries' where */
  ax__link_t idle;        /* entries whose task has not ended */
  ax__link_t ready;       /* entries whose task has ended, not joined */
  ax_waker_t *waker;      /* the pending ax_join_set_next's, or NULL */
  _Atomic size_t refs;    /* the set's + one per entry alive */
  ax__link_t all;         /* every entry in the set (owner only) */
  size_t len;             /* entries in the set (owner only) */
};

typedef struct entry_s {
  ax_waker_t waker;             /* registered in the task's join slot */
  _Atomic size_t refs;          /* in the set + waker clones */
  ax__link_t link;              /* in idle or ready (lock) */
  ax__link_t all;               /* in the set's `all` (owner) */
  int where;                    /* E_* (lock) */
  ax_join_t handle;             /* the task's join handle (owner) */
  ax__join_set_shared_t *set;   /* counted */
} entry_t;

static void shared_unref(ax__join_set_shared_t *sh) {
  if (atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) == 1) {
    if (sh->waker != NULL) ax_waker_drop(sh->waker);
    ax__free(sh);
  }
}

static void entry_unref(entry_t *e) {
  if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
    ax__join_set_shared_t *sh = e->set;
    ax__free(e);
    shared_unref(sh);
  }
}

/* ---- the entry's waker ---------------------------------------------------- */

static entry_t *entry_of(ax_waker_t *w) {
  return ax__container_of(w, entry_t, waker);
}

static ax_waker_t *entry_clone(ax_waker_t *w) {
  atomic_fetch_add_explicit(&entry_of(w)->refs, 1, memory_order_relaxed);
  return w;
}

/* The task ended: its entry is ready to be joined. */
static void entry_wake_by_ref(ax_waker_t *w) {
  entry_t *e = entry_of(w);
  ax__join_set_shared_t *sh = e->set;
  ax_waker_t *wake = NULL;
  ax__spin_lock(&sh->lock);
  if (e->where == E_IDLE) {
    ax__list_remove(&e->link);
    ax__list_push_back(&sh->ready, &e->link);
    e->where = E_READY;
    wake = sh->waker;
    sh->waker = NULL;
  }
  ax__spin_unlock(&sh->lock);
  if (wake != NULL) ax_waker_wake(wake);
}

static void entry_drop_ref(ax_waker_t *w) { entry_unref(entry_of(w)); }

static void entry_wake(ax_waker_t *w) {
  entry_wake_by_ref(w);
  entry_drop_ref(w);
}

static const ax_waker_vtable_t entry_waker_vtable = {
  entry_clone, entry_wake, entry_wake_by_ref, entry_drop_ref,
};

/* Polls e's handle with e's waker: registers it, or says the task ended. */
static ax_poll_t entry_poll(entry_t *e) {
  ax_cx_t cx;
  ax_cx_init(&cx, &e->waker);
  return ax_poll(ax_join_wait(&e->handle), &cx);
}

/* ---- the set ------------------------------------------------------------- */

void ax_join_set_init(ax_join_set_t *s) {
  assert(s != NULL);
  s->ax__shared = NULL;
}

static ax__join_set_shared_t *shared_get(ax_join_set_t *s) {
  ax__join_set_shared_t *sh = s->ax__shared;
  if (sh != NULL) return sh;
  if ((sh = ax__malloc(sizeof(*sh))) == NULL) return NULL;
  ax__spin_init(&sh->lock);
  ax__list_init(&sh->idle);
  ax__list_init(&sh->ready);
  ax__list_init(&sh->all);
  sh->waker = NULL;
  atomic_init(&sh->refs, 1);
  sh->len = 0;
  s->ax__shared = sh;
  return sh;
}

int ax__join_set_spawn_at(const char *site, ax_join_set_t *s, int on,
                          ax_runtime_t *rt, ax_future_t *fut, size_t size,
                          ax_abort_handle_t *abort) {
  ax__join_set_shared_t *sh;
  entry_t *e;
  int rc;
  if (abort != NULL) abort->task = NULL;
  if (s == NULL) return AX_EINVAL;
  if ((sh = shared_get(s)) == NULL) return AX_ENOMEM;
  if ((e = ax__malloc(sizeof(*e))) == NULL) return AX_ENOMEM;
  rc = ax__spawn_at(site, on, rt, NULL, fut, size, &e->handle);
  if (rc != 0) {
    ax__free(e);
    return rc;
  }
  if (abort != NULL) (void)ax_join_abort_handle(&e->handle, abort);
  e->waker.vtable = &entry_waker_vtable;
  atomic_init(&e->refs, 1);
  e->set = sh;
  atomic_fetch_add_explicit(&sh->refs, 1, memory_order_relaxed);
  e->where = E_IDLE;
  ax__spin_lock(&sh->lock);
  ax__list_push_back(&sh->idle, &e->link);
  ax__spin_unlock(&sh->lock);
  ax__list_push_back(&sh->all, &e->all);
  sh->len++;
  /* Registers e's waker with the task; a task that ended already (another
   * worker ran it) goes to ready now. */
  if (entry_poll(e) == AX_READY) entry_wake_by_ref(&e->waker);
  return 0;
}

size_t ax_join_set_len(const ax_join_set_t *s) {
  assert(s != NULL);
  return s->ax__shared != NULL ? s->ax__shared->len : 0;
}

int ax_join_set_is_empty(const ax_join_set_t *s) {
  return ax_join_set_len(s) == 0;
}

void ax_join_set_abort_all(ax_join_set_t *s) {
  ax__join_set_shared_t *sh;
  ax__link_t *l;
  assert(s != NULL);
  if ((sh = s->ax__shared) == NULL) return;
  for (l = sh->all.next; l != &sh->all; l = l->next)
    (void)ax_abort(&ax__container_of(l, entry_t, all)->handle);
}

/* Takes e out of the set (the owner's side); its handle stays in e. */
static void entry_remove(ax__join_set_shared_t *sh, entry_t *e) {
  ax__spin_lock(&sh->lock);
  if (e->where != E_GONE) {
    ax__list_remove(&e->link);
    e->where = E_GONE;
  }
  ax__spin_unlock(&sh->lock);
  ax__list_remove(&e->all);
  sh->len--;
}

void ax_join_set_detach_all(ax_join_set_t *s) {
  ax__join_set_shared_t *sh;
  ax__link_t *l;
  assert(s != NULL);
  if ((sh = s->ax__shared) == NULL) return;
  while ((l = ax__list_first(&sh->all)) != NULL) {
    entry_t *e = ax__container_of(l, entry_t, all);
    entry_remove(sh, e);
    ax_join_drop(&e->handle);
    entry_unref(e);
  }
}

void ax_join_set_drop(ax_join_set_t *s) {
  ax__join_set_shared_t *sh;
  if (s == NULL || (sh = s->ax__shared) == NULL) return;
  ax__link_t *l;
  ax_waker_t *w;
  /* Abort and detach in one walk: each task is aborted before its handle
   * goes. */
  while ((l = ax__list_first(&sh->all)) != NULL) {
    entry_t *e = ax__container_of(l, entry_t, all);
    (void)ax_abort(&e->handle);
    entry_remove(sh, e);
    ax_join_drop(&e->handle);
    entry_unref(e);
  }
  /* The waiter's waker holds its task: not until the last entry's task is
   * freed. */
  ax__spin_lock(&sh->lock);
  w = sh->waker;
  sh->waker = NULL;
  ax__spin_unlock(&sh->lock);
  if (w != NULL) ax_waker_drop(w);
  s->ax__shared = NULL;
  shared_unref(sh);
}

/* Pops a finished task into *out: 0, AX_EEMPTY (no task in the set), or
 * AX_EAGAIN (none has ended yet; cx, if given, is woken when one does). */
static int take_next(ax_join_set_t *s, ax_join_t *out, ax_cx_t *cx) {
  ax__join_set_shared_t *sh = s->ax__shared;
  ax_waker_t *old = NULL;
  ax__link_t *l;
  entry_t *e;
  ax_poll_t r;
  if (sh == NULL || sh->len == 0) return AX_EEMPTY;
  ax__spin_lock(&sh->lock);
  l = ax__list_first(&sh->ready);
  if (l == NULL) {
    if (cx != NULL &&
        (sh->waker == NULL || !ax_waker_will_wake(sh->waker, cx->waker))) {
      old = sh->waker;
      sh->waker = ax_waker_clone(cx->waker);
    }
    ax__spin_unlock(&sh->lock);
    if (old != NULL) ax_waker_drop(old);
    return AX_EAGAIN;
  }
  ax__spin_unlock(&sh->lock);
  e = ax__container_of(l, entry_t, link);
  entry_remove(sh, e);
  /* Ended: this poll fills in handle.result, unless the spawn's did. */
  if (!e->handle.consumed) {
    r = entry_poll(e);
    assert(r == AX_READY);
    (void)r;
  }
  *out = e->handle;
  memset(&e->handle, 0, sizeof(e->handle));
  entry_unref(e);
  return 0;
}

int ax_join_set_try_next(ax_join_set_t *s, ax_join_t *out) {
  if (out != NULL) memset(out, 0, sizeof(*out));
  if (s == NULL || out == NULL) return AX_EINVAL;
  return take_next(s, out, NULL);
}

static ax_poll_t next_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_join_next_t *n = (ax_join_next_t *)f;
  int rc;
  if (n->result != AX_ENOTREADY) return AX_READY;
  if (n->set == NULL || n->out == NULL) {
    n->result = AX_EINVAL;
    return AX_READY;
  }
  /* A unit of budget per task joined (Tokio: join_set_coop): a loop over
   * a set whose tasks have all ended still yields now and then. */
  if (!ax_coop_proceed(cx)) return AX_PENDING;
  rc = take_next(n->set, n->out, cx);
  if (rc == AX_EAGAIN) {
    ax_coop_refund(cx);
    return AX_PENDING;
  }
  if (rc == AX_EEMPTY) ax_coop_refund(cx);
  n->result = rc;
  return AX_READY;
}

static const ax_future_vtable_t next_vtable = {next_poll, NULL,
                                               "ax_join_set_next"};

ax_future_t *ax_join_set_next(ax_join_next_t *n, ax_join_set_t *s,
                              ax_join_t *out) {
  assert(n != NULL);
  n->base.vtable = &next_vtable;
  n->set = s;
  n->out = out;
  n->result = AX_ENOTREADY;
  if (out != NULL) memset(out, 0, sizeof(*out));
  return &n->base;
}
