/* A worker's mailbox: see mailbox.h. */
#include "core/list.h"
#include "runtime/mailbox.h"

void ax__mailbox_init(ax__mailbox_t *m) {
  ax__spin_init(&m->lock);
  ax__list_init(&m->ops);
  atomic_init(&m->pending, 0);
}

void ax__mailbox_post(ax__mailbox_t *m, ax__op_t *op) {
  ax__spin_lock(&m->lock);
  ax__list_push_back(&m->ops, &op->link);
  atomic_store_explicit(&m->pending, 1, memory_order_relaxed);
  ax__spin_unlock(&m->lock);
}

unsigned ax__mailbox_run(ax__mailbox_t *m) {
  ax__link_t batch, *l;
  unsigned n = 0;
  ax__list_init(&batch);
  ax__spin_lock(&m->lock);
  ax__list_move_all(&m->ops, &batch);
  atomic_store_explicit(&m->pending, 0, memory_order_relaxed);
  ax__spin_unlock(&m->lock);
  while ((l = ax__list_first(&batch)) != NULL) {
    ax__list_remove(l);  /* before fn, which may free the op */
    ax__container_of(l, ax__op_t, link)->fn(
        ax__container_of(l, ax__op_t, link));
    n++;
  }
  return n;
}
