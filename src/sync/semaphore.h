/* Internal: the semaphore engine shared by Semaphore, Mutex, RwLock and
 * OnceCell (and usable by channels).
 *
 * The permit count lives in one atomic word, so the uncontended acquire and
 * release are one compare-and-swap each and never touch the wait queue:
 *
 *   word = permits << AX__SEM_SHIFT | AX__SEM_WAITERS | AX__SEM_CLOSED
 *
 * Invariants (all changes of WAITERS happen under the queue lock):
 *   - WAITERS is set exactly while the wait queue is non-empty;
 *   - WAITERS set => the permit count in the word is 0: released permits go
 *     to the queued waiters first (oldest first, the head collecting
 *     permits until it has all it asked for), so nobody can barge past a
 *     waiter: the semaphore is FIFO-fair.
 */
#ifndef AX_SYNC_SEMAPHORE_H
#define AX_SYNC_SEMAPHORE_H

#include "sync/waitq.h"

#define AX__SEM_CLOSED ((size_t)1)
#define AX__SEM_WAITERS ((size_t)2)
#define AX__SEM_SHIFT 2

/* Prepares p to acquire n permits of s, with vt as its vtable (its name
 * shows in task dumps; poll and drop must be the two below). */
ax_future_t *ax__permit_prepare(ax_permit_t *p, ax_semaphore_t *s, size_t n,
                                const ax_future_vtable_t *vt);
ax_poll_t ax__permit_poll(ax_future_t *f, ax_cx_t *cx);
void ax__permit_drop(ax_future_t *f);
/* Non-blocking: 0 (p holds n), AX_EAGAIN or AX_ECLOSED. */
int ax__permit_try(ax_permit_t *p, ax_semaphore_t *s, size_t n,
                   const ax_future_vtable_t *vt);

/* p holds permits (ready, not released): gives n of them (n <= p->held)
 * back to s -- to the waiters first, as a release does -- and keeps the
 * rest.  RwLock's downgrade. */
void ax__permit_give_back(ax_permit_t *p, size_t n);

#endif
