/* axle — async synchronisation: Mutex, RwLock, Semaphore, Notify, Barrier,
 * OnceCell.
 *
 *   Tokio                                   axle
 *   Mutex::new(())                          ax_mutex_init(&m)
 *   let g = m.lock().await;                 AX_AWAIT(ax_mutex_lock(&s->g, &m));
 *   drop(g)                                 ax_mutex_unlock(&s->g)
 *   m.try_lock()                            ax_mutex_try_lock(&s->g, &m)
 *   RwLock::with_max_readers(v, n)          ax_rwlock_init(&rw, n)
 *   rw.read().await / rw.write().await      ax_rwlock_read(&g, &rw) / _write
 *   Semaphore::new(n)                       ax_semaphore_init(&sem, n)
 *   sem.acquire_many(k).await               ax_semaphore_acquire(&p, &sem, k)
 *   sem.add_permits(k) / sem.close()        ax_semaphore_add_permits / _close
 *   sem.forget_permits(k)                   ax_semaphore_forget_permits(&sem, k)
 *   p.merge(q) / p.split(k)                 ax_semaphore_merge(&p, &q) / ax_semaphore_split(&q, &p, k)
 *   RwLockWriteGuard::downgrade(g)          ax_rwlock_downgrade(&g)
 *   RwLockReadGuard::map(g, |d| &d.f)       ax_rwlock_map(&mg, &g, &data.f); mg.data
 *   notify.notify_last()                    ax_notify_last(&n)
 *   notified.as_mut().enable()              ax_notify_wait_enable(&f)
 *   cell.set(v) -> Err(AlreadyInit / Initializing)  AX_EALREADY / AX_EBUSY
 *   notify.notified().await                 ax_notify_wait(&f, &n)
 *   notify.notify_one() / notify_waiters()  ax_notify_one / ax_notify_waiters
 *   barrier.wait().await.is_leader()        ax_barrier_wait(&f, &b); f.is_leader
 *   cell.get_or_init(|| async {..}).await   ax_oncecell_get_or_init(&f, &c, init, &out)
 *
 * Every primitive is a struct the caller owns: init it, use it, destroy it
 * when no task uses it any more.  A primitive must not be moved (copied)
 * after init: waiting futures point into it.  Every primitive may be used
 * from any thread and from both runtime flavours.
 *
 * Every waiting future is a caller-embedded struct, like ax_sleep_t:
 * prepare it with the function that returns its ax_future_t *, await it,
 * and (at the latest when the enclosing state dies) drop it with ax_drop().
 * Waiting is FIFO-fair.  Dropping a waiting future is cancellation: it
 * leaves the wait queue, and a wake-up or permit it had already been
 * handed, but not yet seen, passes on to the next waiter.  Nothing is lost.
 *
 * Guards.  A lock or acquire future, once ready, IS the guard: it holds the
 * lock (or the permits) until ax_mutex_unlock(&g) / ax_rwlock_unlock(&g) /
 * ax_semaphore_release(&p), or until it is dropped, whichever comes first.
 * So a task that may be cancelled while holding a guard across an await
 * releases it by dropping the guard in its drop handler (AX_FUTURE_DROP):
 * ax_drop() is safe on a guard in every state (never used, waiting, held,
 * already released).  Unlike other futures, a guard that holds its lock
 * (and is not waiting) may be copied to another place and used from there.
 *
 * NULL (common.h's rule): init and try functions return AX_EINVAL;
 * destroy, release, unlock, forget and close do nothing; a lock or acquire
 * future of a NULL primitive is ready with result AX_EINVAL; the guard or
 * future struct being prepared, and the primitive of every other call,
 * must not be NULL (asserted).
 *
 * The chapter's shared cache:
 *
 *   typedef struct {
 *     ax_async_t co;
 *     cache_t *cache;               // { ax_mutex_t lock; map_t map; }
 *     const char *key, *value, *out;
 *     ax_mutex_guard_t g;
 *   } get_or_set_t;
 *
 *   AX_ASYNC(get_or_set, get_or_set_t, s) {
 *     AX_BEGIN(s);
 *     AX_AWAIT(ax_mutex_lock(&s->g, &s->cache->lock));
 *     s->out = map_get_or_insert(&s->cache->map, s->key, s->value);
 *     ax_mutex_unlock(&s->g);
 *     AX_END();
 *   }
 */
#ifndef AXLE_SYNC_H
#define AXLE_SYNC_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Private building blocks (see src/sync/waitq.h) -------------------
 * Shown only because futures embed them.  Do not touch their fields. */
typedef struct ax__waiter_s {
  ax__link_t link;            /* first member: position in a wait queue */
  ax_waker_t *waker;          /* clone owned by the waiter while linked */
  AX__ATOMIC(int) state;      /* idle / queued / woken (waitq.h) */
  int result;                 /* written by the waking side before state */
  size_t n;                   /* owner's count (semaphore: permits missing) */
  void *data;                 /* owner's pointer (channels) */
} ax__waiter_t;

typedef struct ax__waitq_s {
  AX__ATOMIC(int) lock;       /* spin lock guarding the list and owner data */
  ax__link_t head;            /* sentinel: head.next is the oldest waiter */
} ax__waitq_t;

/* ---- Semaphore ---------------------------------------------------------
 * Counting semaphore, FIFO-fair: a waiter asking for many permits at the
 * head of the queue is served before later, smaller requests (it collects
 * permits as they come back), so large requests are never starved. */
#define AX_SEMAPHORE_MAX_PERMITS ((size_t)-1 >> 3)

typedef struct ax_semaphore_s {
  AX__ATOMIC(size_t) word;    /* private: permits << 2 | waiters | closed */
  ax__waitq_t q;              /* private: waiting acquire futures */
} ax_semaphore_t;

/* A permit holder: the acquire future, and once ready the permits' owner. */
typedef struct ax_permit_s {
  ax_future_t base;           /* the future */
  ax__waiter_t w;             /* private: wait-queue node */
  ax_semaphore_t *sem;        /* private: borrowed, must outlive the permit */
  size_t want;                /* private: permits requested */
  size_t held;                /* read-only: permits held now (0 or want) */
  int phase;                  /* private: idle / waiting / done */
  int result;                 /* read-only once ready: 0, AX_ECLOSED or
                                 AX_EINVAL (see ax_semaphore_acquire) */
} ax_permit_t;

/* permits <= AX_SEMAPHORE_MAX_PERMITS; returns 0 or AX_EINVAL (also for
 * s NULL). */
AX_EXTERN int ax_semaphore_init(ax_semaphore_t *s, size_t permits);
/* No future may wait on s any more (held permits may remain: they are
 * simply forgotten).  NULL: no-op. */
AX_EXTERN void ax_semaphore_destroy(ax_semaphore_t *s);
/* Prepares p to acquire n permits of s.  When ready, p->result is 0 (p now
 * holds n permits), AX_ECLOSED (s was closed; p holds nothing) or
 * AX_EINVAL (n > AX_SEMAPHORE_MAX_PERMITS, which no semaphore can grant,
 * or s NULL: ready at the first poll instead of waiting forever).  n == 0
 * completes at once. */
AX_EXTERN ax_future_t *ax_semaphore_acquire(ax_permit_t *p, ax_semaphore_t *s,
                                            size_t n);
/* Takes n permits now if they are free and nobody waits ahead: returns 0
 * (p holds them, as if acquire had completed), AX_EAGAIN, AX_ECLOSED or
 * AX_EINVAL (n > AX_SEMAPHORE_MAX_PERMITS, or p or s NULL). */
AX_EXTERN int ax_semaphore_try_acquire(ax_permit_t *p, ax_semaphore_t *s,
                                       size_t n);
/* Gives p's permits back to s (to the waiters first).  No-op when p holds
 * none, or is NULL.  Dropping p does the same. */
AX_EXTERN void ax_semaphore_release(ax_permit_t *p);
/* p stops holding its permits without returning them: they are gone (use
 * with ax_semaphore_add_permits to hand permits across tasks).  NULL:
 * no-op. */
AX_EXTERN void ax_semaphore_forget(ax_permit_t *p);
/* Adds n new permits (waiters are served first): 0, or AX_EINVAL (nothing
 * added) when the free permits plus n would exceed
 * AX_SEMAPHORE_MAX_PERMITS, as Tokio's add_permits refuses, or s is
 * NULL. */
AX_EXTERN int ax_semaphore_add_permits(ax_semaphore_t *s, size_t n);
/* Permits free right now (a snapshot).  s: not NULL, asserted. */
AX_EXTERN size_t ax_semaphore_available(const ax_semaphore_t *s);
/* Removes up to n free permits from s for good (Tokio's forget_permits):
 * returns how many it removed (fewer than n when fewer are free; permits
 * held or promised to waiters are not touched). */
AX_EXTERN size_t ax_semaphore_forget_permits(ax_semaphore_t *s, size_t n);
/* Permit surgery (Tokio's SemaphorePermit::merge / split), for permits of
 * ax_semaphore_acquire / _try_acquire only (not lock guards).
 *   merge: src's permits move to dst; both must hold permits (be ready
 *     with result 0, not released) of the same semaphore.  src holds
 *     nothing afterwards.  0 or AX_EINVAL (nothing changes).
 *   split: n of src's permits move to dst, a new permit holder (whatever
 *     dst was is overwritten: it must not be waiting or hold permits);
 *     src must hold permits, n <= src->held (n == src->held leaves src
 *     holding 0; n == 0 gives dst 0).  Release (or drop) both.  0 or
 *     AX_EINVAL (nothing changes). */
AX_EXTERN int ax_semaphore_merge(ax_permit_t *dst, ax_permit_t *src);
AX_EXTERN int ax_semaphore_split(ax_permit_t *dst, ax_permit_t *src,
                                 size_t n);
/* Closes s: every waiter and every later acquire completes with
 * AX_ECLOSED.  Permits already held stay valid and may be released.  NULL:
 * no-op.  is_closed: s not NULL, asserted. */
AX_EXTERN void ax_semaphore_close(ax_semaphore_t *s);
AX_EXTERN int ax_semaphore_is_closed(const ax_semaphore_t *s);

/* ---- Mutex --------------------------------------------------------------
 * An async mutex: lock is a future, FIFO-fair, the guard may be held across
 * awaits.  Uncontended lock and unlock are one atomic operation each.  The
 * mutex protects whatever data the caller keeps beside it. */
typedef struct ax_mutex_s {
  ax_semaphore_t sem;         /* private: one permit */
} ax_mutex_t;
typedef ax_permit_t ax_mutex_guard_t;

/* 0, or AX_EINVAL for NULL. */
AX_EXTERN int ax_mutex_init(ax_mutex_t *m);
/* The mutex must be unlocked and have no waiters.  NULL: no-op. */
AX_EXTERN void ax_mutex_destroy(ax_mutex_t *m);
/* Prepares g to lock m; once ready, g holds the lock (result 0), or m was
 * NULL (result AX_EINVAL). */
AX_EXTERN ax_future_t *ax_mutex_lock(ax_mutex_guard_t *g, ax_mutex_t *m);
/* 0 (g now holds the lock), AX_EBUSY, or AX_EINVAL (g or m NULL). */
AX_EXTERN int ax_mutex_try_lock(ax_mutex_guard_t *g, ax_mutex_t *m);
/* Unlocks if g holds the lock (the next waiter gets it); else (NULL too)
 * no-op. */
AX_EXTERN void ax_mutex_unlock(ax_mutex_guard_t *g);
/* 1 when some guard holds m (a snapshot, for assertions).  m: not NULL,
 * asserted. */
AX_EXTERN int ax_mutex_is_locked(const ax_mutex_t *m);

/* ---- RwLock -------------------------------------------------------------
 * Many readers or one writer, fair: requests are served in arrival order,
 * so a waiting writer holds back readers that came after it and is never
 * starved by a stream of readers. */
#define AX_RWLOCK_MAX_READERS ((size_t)0x1fffffff)  /* fits 32-bit too */
typedef struct ax_rwlock_s {
  ax_semaphore_t sem;         /* private: max_readers permits */
  size_t max_readers;         /* read-only */
} ax_rwlock_t;
typedef ax_permit_t ax_rwlock_guard_t;

/* max_readers 0 means AX_RWLOCK_MAX_READERS (the largest allowed).  0, or
 * AX_EINVAL (too many readers, or rw NULL).  destroy: NULL is a no-op.
 * read/write: a NULL rw gives a guard ready with result AX_EINVAL. */
AX_EXTERN int ax_rwlock_init(ax_rwlock_t *rw, size_t max_readers);
AX_EXTERN void ax_rwlock_destroy(ax_rwlock_t *rw);
AX_EXTERN ax_future_t *ax_rwlock_read(ax_rwlock_guard_t *g, ax_rwlock_t *rw);
AX_EXTERN ax_future_t *ax_rwlock_write(ax_rwlock_guard_t *g, ax_rwlock_t *rw);
/* 0, AX_EBUSY, or AX_EINVAL (g or rw NULL). */
AX_EXTERN int ax_rwlock_try_read(ax_rwlock_guard_t *g, ax_rwlock_t *rw);
AX_EXTERN int ax_rwlock_try_write(ax_rwlock_guard_t *g, ax_rwlock_t *rw);
/* Releases the read or write lock g holds; no-op if it holds none or is
 * NULL. */
AX_EXTERN void ax_rwlock_unlock(ax_rwlock_guard_t *g);
/* Turns the write lock g holds into a read lock, atomically: no writer
 * can take the lock in between; readers queued (up to the next queued
 * writer) get in at once (Tokio's RwLockWriteGuard::downgrade).  g stays
 * the guard (release it with ax_rwlock_unlock as before).  0, or
 * AX_EINVAL when g does not hold a write lock.  With max_readers 1 a
 * downgraded guard still excludes everyone else. */
AX_EXTERN int ax_rwlock_downgrade(ax_rwlock_guard_t *g);

/* Mapped guards (Tokio's MappedRwLockReadGuard / MappedRwLockWriteGuard).
 * In Tokio the lock owns its data and map() narrows a guard to a part of
 * it.  In C the lock does not own the data, so a mapped guard is a guard
 * that carries the pointer it grants access to: the lock, moved out of an
 * ordinary guard, plus `data` (usually a part of what the lock protects)
 * and whether the access is a write.  Handing a mapped guard to a
 * function gives it access to that part and the duty to unlock, and
 * nothing else.  Map again (narrower) with ax_rwlock_map(&m2, &m.guard,
 * part).  As with Tokio's mapped guards, there is no downgrade of a
 * mapped write guard: downgrade the guard before mapping it (do not pass
 * &m.guard to ax_rwlock_downgrade: `write` would be wrong afterwards).  A
 * mapped guard may be copied like a held guard. */
typedef struct ax_rwlock_mapped_s {
  ax_rwlock_guard_t guard;    /* read-only: the lock held (moved in) */
  void *data;                 /* read-only: what this guard gives access to */
  int write;                  /* read-only: 1 for write access, 0 read */
} ax_rwlock_mapped_t;
/* Moves the lock src holds into dst (src holds nothing afterwards) and
 * points dst->data at data (may be NULL).  0, or AX_EINVAL when src holds
 * no rwlock lock (dst untouched). */
AX_EXTERN int ax_rwlock_map(ax_rwlock_mapped_t *dst, ax_rwlock_guard_t *src,
                            void *data);
/* Releases the lock m holds (no-op if none: safe twice) and clears
 * m->data.  NULL is ignored.  A mapped guard is released only this way
 * (or with ax_rwlock_unlock(&m->guard)); it is not a future. */
AX_EXTERN void ax_rwlock_mapped_unlock(ax_rwlock_mapped_t *m);

/* ---- Notify ---------------------------------------------------------------
 * Wakes tasks.  notify_one wakes the oldest waiter, or, when nobody waits,
 * stores one permit (at most one) that the next notified() consumes at
 * once.  notify_waiters wakes every task waiting at the time of the call
 * (futures created before the call count as waiting, even if not polled
 * yet) and stores no permit. */
typedef struct ax_notify_s {
  AX__ATOMIC(size_t) word;    /* private: generation << 2 | state */
  ax__waitq_t q;              /* private */
} ax_notify_t;

typedef struct ax_notify_wait_s {
  ax_future_t base;           /* the future */
  ax__waiter_t w;             /* private */
  ax_notify_t *notify;        /* private: borrowed */
  size_t gen;                 /* private: notify_waiters generation at
                                 creation */
  int phase;                  /* private */
} ax_notify_wait_t;

/* init: 0, or AX_EINVAL for NULL.  destroy: NULL is a no-op.  one and
 * waiters: n not NULL, asserted. */
AX_EXTERN int ax_notify_init(ax_notify_t *n);
AX_EXTERN void ax_notify_destroy(ax_notify_t *n);
AX_EXTERN void ax_notify_one(ax_notify_t *n);
/* As notify_one, but wakes the NEWEST waiter (LIFO; Tokio's notify_last);
 * stores the permit when nobody waits.  A woken waiter dropped before it
 * saw the wake-up passes it on to the newest waiter again. */
AX_EXTERN void ax_notify_last(ax_notify_t *n);
AX_EXTERN void ax_notify_waiters(ax_notify_t *n);
/* Prepares f to wait for a notification of n.  The notify_waiters
 * generation is taken now, so the pattern "create f, check the condition,
 * await f" misses no notify_waiters.  f and n: not NULL, asserted (the
 * future has no result to report an error in). */
AX_EXTERN ax_future_t *ax_notify_wait(ax_notify_wait_t *f, ax_notify_t *n);
/* Tokio's Notified::enable: puts f in n's wait queue now, without
 * polling it, so a notify_one / notify_last from now on can pick it (it
 * keeps its place in the FIFO).  Returns 1 when f is already notified
 * (a notify_waiters since ax_notify_wait, the stored permit -- which
 * f takes now -- or a wake-up since an earlier enable): its first poll
 * completes; 0 when it waits; AX_EINVAL for NULL.  Cancel-safe like a
 * poll: dropping f passes on a permit or wake-up it took and never saw.
 * Calling it again, or after a poll, changes nothing. */
AX_EXTERN int ax_notify_wait_enable(ax_notify_wait_t *f);

/* ---- Barrier ---------------------------------------------------------------
 * n parties meet: each awaits wait(); when the n-th arrives, all complete and
 * exactly one of them (the last to arrive) is told it is the leader.  The
 * barrier then starts over for the next n.  A waiter dropped before the
 * barrier opens withdraws its arrival. */
typedef struct ax_barrier_s {
  ax__waitq_t q;              /* private: lock also guards the fields below */
  size_t parties;             /* read-only */
  size_t arrived;             /* private: arrivals in this generation */
  size_t gen;                 /* private: generation number */
} ax_barrier_t;

typedef struct ax_barrier_wait_s {
  ax_future_t base;           /* the future */
  ax__waiter_t w;             /* private */
  ax_barrier_t *barrier;      /* private: borrowed */
  size_t gen;                 /* private */
  int phase;                  /* private */
  int is_leader;              /* read-only once ready */
} ax_barrier_wait_t;

/* parties >= 1 (0 is treated as 1).  init: 0, or AX_EINVAL for NULL.
 * destroy: NULL is a no-op.  wait: f and b not NULL, asserted. */
AX_EXTERN int ax_barrier_init(ax_barrier_t *b, size_t parties);
AX_EXTERN void ax_barrier_destroy(ax_barrier_t *b);
AX_EXTERN ax_future_t *ax_barrier_wait(ax_barrier_wait_t *f, ax_barrier_t *b);

/* ---- OnceCell ----------------------------------------------------------
 * A value set once.  get_or_init runs the caller's init future in exactly
 * one caller at a time: others wait; when the value is set they all get it.
 * If the running initialiser is dropped (cancelled) or fails, the next
 * waiting caller runs its own init future.  The cell stores a non-NULL
 * void *; what it points to is the caller's (see `dtor`). */
typedef void (*ax_oncecell_dtor_fn)(void *value);

typedef struct ax_oncecell_s {
  AX__ATOMIC(int) set;        /* private: 1 once value is published */
  void *value;                /* private: read with ax_oncecell_get */
  ax_semaphore_t init_lock;   /* private: one permit = right to initialise */
  ax_oncecell_dtor_fn dtor;   /* private: run on the value by destroy */
} ax_oncecell_t;

typedef struct ax_oncecell_get_s {
  ax_future_t base;           /* the future */
  ax_oncecell_t *cell;        /* private: borrowed */
  ax_future_t *init;          /* private: the caller's init future, owned
                                 by this future from the call on */
  void **init_out;            /* private: where init leaves its value */
  ax_permit_t permit;         /* private: the right to initialise */
  int phase;                  /* private */
  int result;                 /* read-only once ready: 0, AX_ENOTREADY or
                                 AX_EINVAL (see get_or_init) */
  void *value;                /* read-only once ready: the cell's value */
} ax_oncecell_get_t;

/* dtor (may be NULL) is called on the value by ax_oncecell_destroy.  0, or
 * AX_EINVAL for a NULL c. */
AX_EXTERN int ax_oncecell_init(ax_oncecell_t *c, ax_oncecell_dtor_fn dtor);
/* No future may use c any more.  Runs dtor on the value if set.  NULL:
 * no-op. */
AX_EXTERN void ax_oncecell_destroy(ax_oncecell_t *c);
/* The value, or NULL while unset.  Never waits.  c: not NULL, asserted. */
AX_EXTERN void *ax_oncecell_get(ax_oncecell_t *c);
/* Sets the value when the cell is empty and nobody is initialising it:
 * 0, AX_EALREADY (a value is set: Tokio's AlreadyInitializedError; final),
 * AX_EBUSY (a get_or_init is running its initialiser right now: Tokio's
 * InitializingError; the cell may still end up empty if it fails or is
 * cancelled) or AX_EINVAL (c or value NULL).  On error the value is still
 * the caller's. */
AX_EXTERN int ax_oncecell_set(ax_oncecell_t *c, void *value);
/* 1 once a value is set (Tokio's initialized()). */
AX_EXTERN int ax_oncecell_initialized(ax_oncecell_t *c);
/* Prepares f: when ready, f->result is 0 and f->value the cell's value.
 * If the cell is empty and no other caller is initialising it, this caller
 * polls `init` (never polled yet; may be NULL only if the caller accepts
 * AX_ENOTREADY); when init is ready, *init_out must be the value (non-NULL),
 * or NULL to report failure: f->result is then AX_ENOTREADY, the cell stays
 * empty and the next waiting caller tries its own init.  f owns init from
 * this call on: it drops init as soon as init is ready or when f is
 * dropped, whichever comes first; an init that was not needed is dropped
 * unpolled.  f: not NULL, asserted.  c NULL, or an init without init_out:
 * init is dropped now and f is ready with result AX_EINVAL. */
AX_EXTERN ax_future_t *ax_oncecell_get_or_init(ax_oncecell_get_t *f,
                                               ax_oncecell_t *c,
                                               ax_future_t *init,
                                               void **init_out);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_SYNC_H */
