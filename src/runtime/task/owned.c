/* The owned lists: see owned.h. */
#include "core/list.h"
#include "runtime/task/owned.h"
#include "runtime/task/state.h"

void ax__owned_init(ax__owned_t *o) {
  unsigned i;
  for (i = 0; i < AX__SHARDS; i++) {
    ax__spin_init(&o->shard[i].lock);
    ax__list_init(&o->shard[i].head);
  }
}

int ax__owned_insert(ax__owned_t *o, ax__task_t *t, _Atomic int *closed) {
  unsigned i = (unsigned)((t->id >> 6) % AX__SHARDS);
  t->shard = (uint8_t)i;
  ax__spin_lock(&o->shard[i].lock);
  if (atomic_load_explicit(closed, memory_order_relaxed)) {
    ax__spin_unlock(&o->shard[i].lock);
    return AX_ESHUTDOWN;
  }
  ax__list_push_front(&o->shard[i].head, &t->owned);
  ax__spin_unlock(&o->shard[i].lock);
  return 0;
}

void ax__owned_remove(ax__owned_t *o, ax__task_t *t) {
  unsigned i = t->shard;
  ax__spin_lock(&o->shard[i].lock);
  if (ax__list_linked(&t->owned)) ax__list_remove(&t->owned);
  ax__spin_unlock(&o->shard[i].lock);
}

ax__task_t *ax__owned_first(ax__owned_t *o, unsigned i) {
  ax__link_t *l;
  ax__task_t *t = NULL;
  ax__spin_lock(&o->shard[i].lock);
  if ((l = ax__list_first(&o->shard[i].head)) != NULL) {
    t = ax__container_of(l, ax__task_t, owned);
    ax__state_ref_inc(&t->state);
  }
  ax__spin_unlock(&o->shard[i].lock);
  return t;
}

void ax__owned_dump(ax__owned_t *o, FILE *out) {
  unsigned i;
  for (i = 0; i < AX__SHARDS; i++) {
    ax__link_t *l, *h = &o->shard[i].head;
    ax__spin_lock(&o->shard[i].lock);
    for (l = h->next; l != h; l = l->next) {
      ax__task_t *t = ax__container_of(l, ax__task_t, owned);
      size_t s = ax__state_load(&t->state);
      const char *file = ax__wait_file(&t->wait);
      fprintf(out, "task %llu %s %s%s at %s:%d, spawned at %s\n",
              (unsigned long long)t->id, t->name ? t->name : "-",
              (s & AX__RUNNING) ? "running" : (s & AX__NOTIFIED) ? "queued"
                                                                 : "idle",
              (s & AX__CANCELLED) ? " cancelling" : "",
              file ? file : "(not started)", ax__wait_line(&t->wait),
              t->site ? t->site : "(unknown)");
    }
    ax__spin_unlock(&o->shard[i].lock);
  }
}
