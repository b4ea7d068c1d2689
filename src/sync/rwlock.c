/* RwLock: a semaphore with max_readers permits; a reader takes one, a
 * writer takes them all.  The semaphore's FIFO hand-off makes it fair: a
 * queued writer collects permits as readers leave, and readers arriving
 * after it queue behind it instead of taking the permits it waits for. */
#include <assert.h>

#include "sync/semaphore.h"

#include "core/alloc.h"

static const ax_future_vtable_t read_vtable = {
  ax__permit_poll, ax__permit_drop, "ax_rwlock_read"
};
static const ax_future_vtable_t write_vtable = {
  ax__permit_poll, ax__permit_drop, "ax_rwlock_write"
};

int ax_rwlock_init(ax_rwlock_t *rw, size_t max_readers) {
  if (rw == NULL)
    return AX_EINVAL;
  if (max_readers == 0)
    max_readers = AX_RWLOCK_MAX_READERS;
  if (max_readers > AX_RWLOCK_MAX_READERS)
    return AX_EINVAL;
  rw->max_readers = max_readers;
  return ax_semaphore_init(&rw->sem, max_readers);
}

void ax_rwlock_destroy(ax_rwlock_t *rw) {
  if (rw != NULL) ax_semaphore_destroy(&rw->sem);
}

/* rw NULL: the guard is ready with AX_EINVAL (the permit's NULL case). */
ax_future_t *ax_rwlock_read(ax_rwlock_guard_t *g, ax_rwlock_t *rw) {
  assert(g != NULL);
  return ax__permit_prepare(g, rw != NULL ? &rw->sem : NULL, 1, &read_vtable);
}

ax_future_t *ax_rwlock_write(ax_rwlock_guard_t *g, ax_rwlock_t *rw) {
  assert(g != NULL);
  return ax__permit_prepare(g, rw != NULL ? &rw->sem : NULL,
                            rw != NULL ? rw->max_readers : 1, &write_vtable);
}

int ax_rwlock_try_read(ax_rwlock_guard_t *g, ax_rwlock_t *rw) {
  if (g == NULL || rw == NULL)
    return AX_EINVAL;
  return ax__permit_try(g, &rw->sem, 1, &read_vtable) == 0 ? 0 : AX_EBUSY;
}

int ax_rwlock_try_write(ax_rwlock_guard_t *g, ax_rwlock_t *rw) {
  if (g == NULL || rw == NULL)
    return AX_EINVAL;
  return ax__permit_try(g, &rw->sem, rw->max_readers, &write_vtable) == 0
             ? 0
             : AX_EBUSY;
}

void ax_rwlock_unlock(ax_rwlock_guard_t *g) { ax_semaphore_release(g); }

/* ---- Downgrade and mapped guards ------------------------------------------ */

static ax_rwlock_t *guard_lock(ax_rwlock_guard_t *g) {
  return ax__container_of(g->sem, ax_rwlock_t, sem);
}

static int holds_write(ax_rwlock_guard_t *g) {
  return g->base.vtable == &write_vtable && g->held > 0 &&
         g->held == guard_lock(g)->max_readers;
}

int ax_rwlock_downgrade(ax_rwlock_guard_t *g) {
  if (g == NULL || !holds_write(g))
    return AX_EINVAL;
  /* Keep one permit: no writer can get in between, and the readers (and
   * a writer) queued first get the rest, in their order. */
  ax__permit_give_back(g, g->held - 1);
  g->base.vtable = &read_vtable;
  return 0;
}

int ax_rwlock_map(ax_rwlock_mapped_t *dst, ax_rwlock_guard_t *src,
                  void *data) {
  if (dst == NULL || src == NULL || &dst->guard == src || src->held == 0 ||
      (src->base.vtable != &read_vtable && src->base.vtable != &write_vtable))
    return AX_EINVAL;
  dst->write = holds_write(src);
  dst->guard = *src;  /* a held guard may be copied (sync.h) ... */
  dst->data = data;
  ax_semaphore_forget(src);  /* ... and the old place holds nothing now */
  return 0;
}

void ax_rwlock_mapped_unlock(ax_rwlock_mapped_t *m) {
  if (m == NULL)
    return;
  ax_semaphore_release(&m->guard);
  m->data = NULL;
}
