/* Mutex: a semaphore with one permit.  Lock and unlock are the semaphore's
 * lock-free fast paths (one CAS each) when nobody waits; contended, the
 * unlock hands the lock straight to the oldest waiter (FIFO, no barging). */
#include <assert.h>

#include "sync/semaphore.h"

static const ax_future_vtable_t mutex_lock_vtable = {
  ax__permit_poll, ax__permit_drop, "ax_mutex_lock"
};

int ax_mutex_init(ax_mutex_t *m) {
  return m != NULL ? ax_semaphore_init(&m->sem, 1) : AX_EINVAL;
}

void ax_mutex_destroy(ax_mutex_t *m) {
  if (m != NULL) ax_semaphore_destroy(&m->sem);
}

/* m NULL: the guard is ready with AX_EINVAL (the permit's NULL case). */
ax_future_t *ax_mutex_lock(ax_mutex_guard_t *g, ax_mutex_t *m) {
  assert(g != NULL);
  return ax__permit_prepare(g, m != NULL ? &m->sem : NULL, 1,
                            &mutex_lock_vtable);
}

int ax_mutex_try_lock(ax_mutex_guard_t *g, ax_mutex_t *m) {
  if (g == NULL || m == NULL) return AX_EINVAL;
  return ax__permit_try(g, &m->sem, 1, &mutex_lock_vtable) == 0 ? 0
                                                                 : AX_EBUSY;
}

void ax_mutex_unlock(ax_mutex_guard_t *g) { ax_semaphore_release(g); }

int ax_mutex_is_locked(const ax_mutex_t *m) {
  assert(m != NULL);
  return ax_semaphore_available(&m->sem) == 0;
}
