/* Semaphore: the permit word, the FIFO hand-off to waiters, and the permit
 * (acquire future / guard).  See semaphore.h for the invariants. */
#include "sync/semaphore.h"

#include <assert.h>

#include "core/alloc.h"
#include "core/context.h"

enum {
  PERMIT_IDLE = 0,  /* prepared, holds nothing, not queued */
  PERMIT_WAITING,   /* node queued (or just woken, not yet seen) */
  PERMIT_HELD,      /* ready: holds p->held permits */
  PERMIT_DONE       /* ready or dropped: holds nothing */
};

static const ax_future_vtable_t permit_vtable = {
  ax__permit_poll, ax__permit_drop, "ax_semaphore_acquire"
};

#define SEM_PERMITS(word) ((word) >> AX__SEM_SHIFT)

/* Lock-free attempt: succeeds only when n permits are free, which (by the
 * invariant) also means nobody is queued. */
static int sem_try(ax_semaphore_t *s, size_t n) {
  size_t cur = atomic_load_explicit(&s->word, memory_order_relaxed);
  for (;;) {
    if (cur & AX__SEM_CLOSED)
      return AX_ECLOSED;
    if (SEM_PERMITS(cur) < n)
      return AX_EAGAIN;
    if (atomic_compare_exchange_weak_explicit(
            &s->word, &cur, cur - (n << AX__SEM_SHIFT), memory_order_acquire,
            memory_order_relaxed))
      return 0;
  }
}

/* Lock held.  Hands n permits to the waiters, oldest first; when the queue
 * runs empty the rest go back into the word and WAITERS is cleared.
 * Returns the permits still in hand: non-zero only when wl filled up while
 * waiters remain (the caller flushes wl outside the lock and calls again). */
static size_t sem_assign_locked(ax_semaphore_t *s, size_t n,
                                ax__wakelist_t *wl) {
  ax__waiter_t *w;
  while (n > 0 && (w = ax__waitq_first_locked(&s->q)) != NULL) {
    size_t take;
    if (ax__wakelist_full(wl))
      return n;
    take = w->n < n ? w->n : n;
    w->n -= take;
    n -= take;
    if (w->n == 0)
      ax__waitq_wake_locked(&s->q, w, 0, AX__WAITER_WOKEN, wl);
  }
  if (ax__waitq_empty_locked(&s->q)) {
    size_t cur = atomic_load_explicit(&s->word, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        &s->word, &cur, (cur & ~AX__SEM_WAITERS) + (n << AX__SEM_SHIFT),
        memory_order_release, memory_order_relaxed)) {
    }
  }
  return 0;
}

/* Gives n permits back: lock-free while nobody waits. */
static void sem_release(ax_semaphore_t *s, size_t n) {
  ax__wakelist_t wl;
  size_t cur;
  if (n == 0)
    return;
  cur = atomic_load_explicit(&s->word, memory_order_relaxed);
  while (!(cur & AX__SEM_WAITERS)) {
    if (atomic_compare_exchange_weak_explicit(
            &s->word, &cur, cur + (n << AX__SEM_SHIFT), memory_order_release,
            memory_order_relaxed))
      return;
  }
  ax__wakelist_init(&wl);
  ax__waitq_lock(&s->q);
  while ((n = sem_assign_locked(s, n, &wl)) != 0) {
    ax__waitq_unlock(&s->q);
    ax__wakelist_flush(&wl);
    ax__waitq_lock(&s->q);
  }
  ax__waitq_unlock(&s->q);
  ax__wakelist_flush(&wl);
}

/* A request no semaphore can ever grant (more than the word can count)
 * would wait forever: it is ready at once with AX_EINVAL instead. */
ax_future_t *ax__permit_prepare(ax_permit_t *p, ax_semaphore_t *s, size_t n,
                                const ax_future_vtable_t *vt) {
  p->base.vtable = vt;
  ax__waiter_init(&p->w);
  p->sem = s;
  p->want = n;
  p->held = 0;
  p->phase = PERMIT_IDLE;
  p->result = 0;
  if (s == NULL || n > AX_SEMAPHORE_MAX_PERMITS) {
    p->phase = PERMIT_DONE;
    p->result = AX_EINVAL;
  }
  return &p->base;
}

int ax__permit_try(ax_permit_t *p, ax_semaphore_t *s, size_t n,
                   const ax_future_vtable_t *vt) {
  int r;
  ax__permit_prepare(p, s, n, vt);
  if (p->result != 0)
    return p->result;
  r = sem_try(s, n);
  if (r == 0) {
    p->held = n;
    p->phase = PERMIT_HELD;
  }
  return r;
}

/* Slow path of the first poll: under the lock, either take the permits
 * after all, or take what is free and queue for the rest. */
static ax_poll_t permit_enqueue(ax_permit_t *p, ax_cx_t *cx) {
  ax_semaphore_t *s = p->sem;
  size_t cur, avail = 0;
  ax__waitq_lock(&s->q);
  cur = atomic_load_explicit(&s->word, memory_order_relaxed);
  for (;;) {
    if (cur & AX__SEM_CLOSED) {
      ax__waitq_unlock(&s->q);
      p->result = AX_ECLOSED;
      p->phase = PERMIT_DONE;
      return AX_READY;
    }
    avail = SEM_PERMITS(cur);
    if (avail >= p->want) {
      if (atomic_compare_exchange_weak_explicit(
              &s->word, &cur, cur - (p->want << AX__SEM_SHIFT),
              memory_order_acquire, memory_order_relaxed)) {
        ax__waitq_unlock(&s->q);
        p->held = p->want;
        p->phase = PERMIT_HELD;
        return AX_READY;
      }
      continue;
    }
    /* Take every free permit (there are some only if the queue is empty,
     * i.e. we become the head) and announce a waiter. */
    if (atomic_compare_exchange_weak_explicit(
            &s->word, &cur, (cur & AX__SEM_CLOSED) | AX__SEM_WAITERS,
            memory_order_acquire, memory_order_relaxed))
      break;
  }
  p->w.n = p->want - avail;
  ax__waitq_push_locked(&s->q, &p->w, ax_cx_waker(cx));
  ax__waitq_unlock(&s->q);
  p->phase = PERMIT_WAITING;
  return AX_PENDING;
}

ax_poll_t ax__permit_poll(ax_future_t *f, ax_cx_t *cx) {
  ax_permit_t *p = (ax_permit_t *)f;
  int r;
  switch (p->phase) {
  case PERMIT_IDLE:
    if (!ax__coop_proceed(cx)) return AX_PENDING;
    r = sem_try(p->sem, p->want);
    if (r == 0) {
      p->held = p->want;
      p->phase = PERMIT_HELD;
      return AX_READY;
    }
    if (r == AX_ECLOSED) {
      p->result = AX_ECLOSED;
      p->phase = PERMIT_DONE;
      return AX_READY;
    }
    ax__coop_refund(cx);  /* waiting is a yield already */
    return permit_enqueue(p, cx);
  case PERMIT_WAITING:
    if (!ax__waitq_poll_woken(&p->sem->q, &p->w, ax_cx_waker(cx)))
      return AX_PENDING;
    /* Woken: the node is ours again. */
    p->result = p->w.result;
    if (p->result == 0) {
      p->held = p->want;
      p->phase = PERMIT_HELD;
    } else {
      p->phase = PERMIT_DONE;
    }
    return AX_READY;
  default:
    return AX_READY;
  }
}

void ax__permit_drop(ax_future_t *f) {
  ax_permit_t *p = (ax_permit_t *)f;
  ax_semaphore_t *s = p->sem;
  ax__wakelist_t wl;
  ax_waker_t *dropped;
  size_t give = 0;
  int st;

  switch (p->phase) {
  case PERMIT_WAITING:
    ax__wakelist_init(&wl);
    ax__waitq_lock(&s->q);
    st = ax__waitq_cancel_locked(&s->q, &p->w, &dropped);
    if (st == AX__WAITER_QUEUED)
      give = p->want - p->w.n;   /* permits collected so far at the head */
    else if (st == AX__WAITER_WOKEN && p->w.result == 0)
      give = p->want;            /* handed over but never seen: pass on */
    /* With give == 0 this still clears WAITERS if we were the last. */
    while ((give = sem_assign_locked(s, give, &wl)) != 0) {
      ax__waitq_unlock(&s->q);
      ax__wakelist_flush(&wl);
      ax__waitq_lock(&s->q);
    }
    ax__waitq_unlock(&s->q);
    ax__wakelist_flush(&wl);
    if (dropped != NULL)
      ax_waker_drop(dropped);
    break;
  case PERMIT_HELD:
    sem_release(s, p->held);
    p->held = 0;
    break;
  default:
    break;
  }
  p->phase = PERMIT_DONE;
}

/* ---- Public API --------------------------------------------------------- */

int ax_semaphore_init(ax_semaphore_t *s, size_t permits) {
  if (s == NULL || permits > AX_SEMAPHORE_MAX_PERMITS)
    return AX_EINVAL;
  atomic_init(&s->word, permits << AX__SEM_SHIFT);
  ax__waitq_init(&s->q);
  return 0;
}

void ax_semaphore_destroy(ax_semaphore_t *s) {
  if (s != NULL) ax__waitq_destroy(&s->q);
}

ax_future_t *ax_semaphore_acquire(ax_permit_t *p, ax_semaphore_t *s,
                                  size_t n) {
  assert(p != NULL);
  return ax__permit_prepare(p, s, n, &permit_vtable);
}

int ax_semaphore_try_acquire(ax_permit_t *p, ax_semaphore_t *s, size_t n) {
  if (p == NULL) return AX_EINVAL;
  return ax__permit_try(p, s, n, &permit_vtable);
}

void ax_semaphore_release(ax_permit_t *p) {
  if (p == NULL || p->phase != PERMIT_HELD)
    return;
  p->phase = PERMIT_DONE;
  sem_release(p->sem, p->held);
  p->held = 0;
}

void ax_semaphore_forget(ax_permit_t *p) {
  if (p == NULL || p->phase != PERMIT_HELD)
    return;
  p->phase = PERMIT_DONE;
  p->held = 0;
}

/* The free permits plus n must stay within AX_SEMAPHORE_MAX_PERMITS (as
 * Tokio's add_permits asserts): the word has room for twice that, so
 * permits still held can come back on top without overflowing it.  While
 * waiters are queued the free count is 0 and the permits go to them. */
int ax_semaphore_add_permits(ax_semaphore_t *s, size_t n) {
  size_t cur;
  if (s == NULL || n > AX_SEMAPHORE_MAX_PERMITS)
    return AX_EINVAL;
  cur = atomic_load_explicit(&s->word, memory_order_relaxed);
  while (!(cur & AX__SEM_WAITERS)) {
    if (SEM_PERMITS(cur) + n > AX_SEMAPHORE_MAX_PERMITS)
      return AX_EINVAL;
    if (atomic_compare_exchange_weak_explicit(
            &s->word, &cur, cur + (n << AX__SEM_SHIFT), memory_order_release,
            memory_order_relaxed))
      return 0;
  }
  sem_release(s, n);
  return 0;
}

size_t ax_semaphore_available(const ax_semaphore_t *s) {
  assert(s != NULL);
  return SEM_PERMITS(atomic_load_explicit(
      (AX__ATOMIC(size_t) *)&s->word, memory_order_relaxed));
}

int ax_semaphore_is_closed(const ax_semaphore_t *s) {
  assert(s != NULL);
  return (atomic_load_explicit((AX__ATOMIC(size_t) *)&s->word,
                               memory_order_acquire) &
          AX__SEM_CLOSED) != 0;
}

void ax_semaphore_close(ax_semaphore_t *s) {
  ax__wakelist_t wl;
  ax__waiter_t *w;
  size_t back = 0, cur;

  if (s == NULL) return;
  ax__wakelist_init(&wl);
  ax__waitq_lock(&s->q);
  atomic_fetch_or_explicit(&s->word, AX__SEM_CLOSED, memory_order_release);
  /* Nobody queues after CLOSED is set, so draining the queue reaches an
   * end.  The permits a head waiter had collected go back to the word. */
  while ((w = ax__waitq_first_locked(&s->q)) != NULL) {
    ax_permit_t *p = ax__container_of(w, ax_permit_t, w);
    if (ax__wakelist_full(&wl)) {
      ax__waitq_unlock(&s->q);
      ax__wakelist_flush(&wl);
      ax__waitq_lock(&s->q);
      continue;
    }
    back += p->want - w->n;
    ax__waitq_wake_locked(&s->q, w, AX_ECLOSED, AX__WAITER_WOKEN_ALL, &wl);
  }
  cur = atomic_load_explicit(&s->word, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(
      &s->word, &cur, (cur & ~AX__SEM_WAITERS) + (back << AX__SEM_SHIFT),
      memory_order_release, memory_order_relaxed)) {
  }
  ax__waitq_unlock(&s->q);
  ax__wakelist_flush(&wl);
}

/* ---- Permit surgery: forget, merge, split, partial give-back -------------- */

void ax__permit_give_back(ax_permit_t *p, size_t n) {
  if (p->phase != PERMIT_HELD || n == 0 || n > p->held)
    return;
  p->held -= n;
  p->want = p->held;
  sem_release(p->sem, n);
}

size_t ax_semaphore_forget_permits(ax_semaphore_t *s, size_t n) {
  size_t cur, take;
  if (s == NULL)
    return 0;
  cur = atomic_load_explicit(&s->word, memory_order_relaxed);
  for (;;) {
    take = SEM_PERMITS(cur) < n ? SEM_PERMITS(cur) : n;
    if (take == 0)
      return 0;
    if (atomic_compare_exchange_weak_explicit(
            &s->word, &cur, cur - (take << AX__SEM_SHIFT),
            memory_order_acquire, memory_order_relaxed))
      return take;
  }
}

int ax_semaphore_merge(ax_permit_t *dst, ax_permit_t *src) {
  if (dst == NULL || src == NULL || dst == src ||
      dst->phase != PERMIT_HELD || src->phase != PERMIT_HELD ||
      dst->sem != src->sem)
    return AX_EINVAL;
  dst->held += src->held;
  dst->want = dst->held;
  src->held = 0;
  src->phase = PERMIT_DONE;
  return 0;
}

int ax_semaphore_split(ax_permit_t *dst, ax_permit_t *src, size_t n) {
  if (dst == NULL || src == NULL || dst == src ||
      src->phase != PERMIT_HELD || n > src->held)
    return AX_EINVAL;
  ax__permit_prepare(dst, src->sem, n, src->base.vtable);
  dst->held = n;
  dst->phase = PERMIT_HELD;
  src->held -= n;
  src->want = src->held;
  return 0;
}
