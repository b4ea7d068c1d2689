/* OnceCell: the right to run an initialiser is one semaphore permit, so
 * initialisers queue FIFO and a cancelled or failed one hands the permit
 * (through the semaphore's cancellation rules) to the next caller.  Setting
 * the value closes the semaphore, which releases every waiter at once. */
#include <assert.h>

#include "sync/semaphore.h"

enum { G_START = 0, G_ACQUIRING, G_INIT, G_DONE };

static ax_poll_t get_poll(ax_future_t *f, ax_cx_t *cx);
static void get_drop(ax_future_t *f);
static const ax_future_vtable_t get_vtable = {
  get_poll, get_drop, "ax_oncecell_get_or_init"
};
static const ax_future_vtable_t permit_vtable = {
  ax__permit_poll, ax__permit_drop, "ax_oncecell_init_permit"
};

int ax_oncecell_init(ax_oncecell_t *c, ax_oncecell_dtor_fn dtor) {
  if (c == NULL)
    return AX_EINVAL;
  atomic_init(&c->set, 0);
  c->value = NULL;
  c->dtor = dtor;
  return ax_semaphore_init(&c->init_lock, 1);
}

void ax_oncecell_destroy(ax_oncecell_t *c) {
  if (c == NULL)
    return;
  if (atomic_load_explicit(&c->set, memory_order_acquire) && c->dtor != NULL)
    c->dtor(c->value);
  c->value = NULL;
  ax_semaphore_destroy(&c->init_lock);
}

void *ax_oncecell_get(ax_oncecell_t *c) {
  assert(c != NULL);
  return atomic_load_explicit(&c->set, memory_order_acquire) ? c->value
                                                             : NULL;
}

/* Caller holds the init permit (and forgets it: the cell is closed). */
static void publish(ax_oncecell_t *c, ax_permit_t *p, void *value) {
  c->value = value;
  atomic_store_explicit(&c->set, 1, memory_order_release);
  ax_semaphore_forget(p);
  ax_semaphore_close(&c->init_lock);
}

int ax_oncecell_set(ax_oncecell_t *c, void *value) {
  ax_permit_t p;
  int r;
  if (c == NULL || value == NULL)
    return AX_EINVAL;
  if (atomic_load_explicit(&c->set, memory_order_acquire))
    return AX_EALREADY;
  r = ax__permit_try(&p, &c->init_lock, 1, &permit_vtable);
  if (r != 0) {
    /* Closed: set meanwhile.  Otherwise an initialiser holds (or was just
     * handed) the permit -- unless it finished meanwhile. */
    return atomic_load_explicit(&c->set, memory_order_acquire) ||
                   r == AX_ECLOSED
               ? AX_EALREADY
               : AX_EBUSY;
  }
  if (atomic_load_explicit(&c->set, memory_order_acquire)) {
    ax_semaphore_release(&p);  /* unreachable in practice: set closes */
    return AX_EALREADY;
  }
  publish(c, &p, value);
  return 0;
}

int ax_oncecell_initialized(ax_oncecell_t *c) {
  return atomic_load_explicit(&c->set, memory_order_acquire) != 0;
}

ax_future_t *ax_oncecell_get_or_init(ax_oncecell_get_t *f, ax_oncecell_t *c,
                                     ax_future_t *init, void **init_out) {
  assert(f != NULL);
  f->base.vtable = &get_vtable;
  f->cell = c;
  f->init = init;
  f->init_out = init_out;
  ax__permit_prepare(&f->permit, c != NULL ? &c->init_lock : NULL, 1,
                     &permit_vtable);
  f->phase = G_START;
  f->result = 0;
  f->value = NULL;
  if (c == NULL || (init != NULL && init_out == NULL)) {
    /* Ready with AX_EINVAL; init is f's from this call on: dropped. */
    f->init = NULL;
    if (init != NULL)
      ax_drop(init);
    f->result = AX_EINVAL;
    f->phase = G_DONE;
  }
  return &f->base;
}

static void drop_init(ax_oncecell_get_t *f) {
  ax_future_t *init = f->init;
  f->init = NULL;
  if (init != NULL)
    ax_drop(init);
}

static ax_poll_t finish(ax_oncecell_get_t *f, int result) {
  drop_init(f);
  ax__permit_drop(&f->permit.base);  /* releases it if still held */
  f->result = result;
  f->value = result == 0 ? f->cell->value : NULL;
  f->phase = G_DONE;
  return AX_READY;
}

static ax_poll_t get_poll(ax_future_t *fut, ax_cx_t *cx) {
  ax_oncecell_get_t *f = (ax_oncecell_get_t *)fut;
  ax_oncecell_t *c = f->cell;
  void *v;
  switch (f->phase) {
  case G_START:
    if (atomic_load_explicit(&c->set, memory_order_acquire))
      return finish(f, 0);
    f->phase = G_ACQUIRING;
    /* fall through */
  case G_ACQUIRING:
    if (ax__permit_poll(&f->permit.base, cx) == AX_PENDING)
      return AX_PENDING;
    /* Closed (the value was set while we waited) or a permit obtained
     * after the value was set: either way the value is there. */
    if (atomic_load_explicit(&c->set, memory_order_acquire))
      return finish(f, 0);
    if (f->permit.result != 0 || f->init == NULL)
      return finish(f, AX_ENOTREADY);
    f->phase = G_INIT;
    /* fall through */
  case G_INIT:
    if (ax_poll(f->init, cx) == AX_PENDING)
      return AX_PENDING;
    v = *f->init_out;
    drop_init(f);
    if (v == NULL)
      return finish(f, AX_ENOTREADY);  /* next waiter gets the permit */
    publish(c, &f->permit, v);
    return finish(f, 0);
  default:
    return AX_READY;
  }
}

static void get_drop(ax_future_t *fut) {
  ax_oncecell_get_t *f = (ax_oncecell_get_t *)fut;
  /* Init first, so the next initialiser never overlaps with the cleanup
   * of a cancelled one; then the permit (held or awaited) moves on. */
  drop_init(f);
  ax__permit_drop(&f->permit.base);
  f->phase = G_DONE;
}
