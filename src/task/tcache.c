/* The task block cache: see tcache.h. */
#include "core/alloc.h"
#include "task/tcache.h"

#define CLASS_BYTES(c) ((size_t)((c) + 1) * AX__TCACHE_GRAIN)

/* Under AddressSanitizer every task block goes back to malloc, so that a
 * use after free of a task is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#  define NO_CACHE 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define NO_CACHE 1
#  endif
#endif
#ifndef NO_CACHE
#  define NO_CACHE 0
#endif

static void lists_push(ax__tlists_t *l, void *p, unsigned c) {
  *(void **)p = l->head[c];
  l->head[c] = p;
  l->bytes += CLASS_BYTES(c);
}

/* Moves the blocks other threads gave back onto l. */
static void take_remote(ax__tremote_t *r, ax__tlists_t *l) {
  void *p;
  size_t bytes = 0;
  if (atomic_load_explicit(&r->head, memory_order_relaxed) == NULL) return;
  p = atomic_exchange_explicit(&r->head, NULL, memory_order_acquire);
  while (p != NULL) {
    void *next = *(void **)p;
    unsigned c = ((ax__task_t *)p)->tclass - 1u;
    lists_push(l, p, c);
    bytes += CLASS_BYTES(c);
    p = next;
  }
  atomic_fetch_sub_explicit(&r->bytes, bytes, memory_order_relaxed);
}

static void *lists_pop(ax__tlists_t *l, ax__tremote_t *r, unsigned c) {
  void *p = l->head[c];
  if (p == NULL) {
    take_remote(r, l);
    p = l->head[c];
    if (p == NULL) return NULL;
  }
  l->head[c] = *(void **)p;
  l->bytes -= CLASS_BYTES(c);
  return p;
}

ax__task_t *ax__tcache_alloc(ax_runtime_t *rt, size_t n) {
  ax__worker_t *w;
  ax__tremote_t *home;
  ax__task_t *t;
  unsigned c;
  if (NO_CACHE || n > CLASS_BYTES(AX__TCACHE_CLASSES - 1)) {
    t = ax__malloc(n);
    if (t != NULL) {
      t->home = NULL;
      t->tclass = 0;
    }
    return t;
  }
  c = (unsigned)((n + AX__TCACHE_GRAIN - 1) / AX__TCACHE_GRAIN - 1);
  w = ax__worker_current();
  if (w != NULL && w->rt == rt) {
    home = &w->tremote;
    t = lists_pop(&w->tcache, home, c);
  } else {
    /* Outside the workers (a foreign thread, another runtime's worker):
     * the runtime's shared lists, under their lock. */
    home = &rt->fremote;
    ax__spin_lock(&rt->flock);
    t = lists_pop(&rt->fcache, home, c);
    ax__spin_unlock(&rt->flock);
  }
  if (t == NULL && (t = ax__malloc(CLASS_BYTES(c))) == NULL) return NULL;
  t->home = home;
  t->tclass = (uint8_t)(c + 1);
  return t;
}

void ax__tcache_free(ax__task_t *t) {
  ax__tremote_t *home = t->home;
  ax__worker_t *w;
  size_t bytes;
  if (home == NULL) {
    ax__free(t);
    return;
  }
  bytes = CLASS_BYTES(t->tclass - 1u);
  w = ax__worker_current();
  if (w != NULL && home == &w->tremote) {
    if (w->tcache.bytes + bytes > AX__TCACHE_BYTES)
      ax__free(t);
    else
      lists_push(&w->tcache, t, t->tclass - 1u);
    return;
  }
  /* Another thread: give it back to its home, within the bound. */
  if (atomic_fetch_add_explicit(&home->bytes, bytes, memory_order_relaxed) +
          bytes >
      AX__TCACHE_BYTES) {
    atomic_fetch_sub_explicit(&home->bytes, bytes, memory_order_relaxed);
    ax__free(t);
    return;
  }
  {
    void *head = atomic_load_explicit(&home->head, memory_order_relaxed);
    do {
      *(void **)t = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &home->head, &head, (void *)t, memory_order_release,
        memory_order_relaxed));
  }
}

static void free_list(void *p) {
  while (p != NULL) {
    void *next = *(void **)p;
    ax__free(p);
    p = next;
  }
}

void ax__tcache_drain(ax__tlists_t *l) {
  unsigned c;
  for (c = 0; c < AX__TCACHE_CLASSES; c++) {
    free_list(l->head[c]);
    l->head[c] = NULL;
  }
  l->bytes = 0;
}

void ax__tcache_drain_remote(ax__tremote_t *r) {
  free_list(atomic_exchange(&r->head, NULL));
  atomic_store(&r->bytes, 0);
}
