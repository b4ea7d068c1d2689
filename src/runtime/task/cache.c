/* The task block cache: see cache.h. */
#include "runtime/task/cache.h"

#define CLASS_BYTES(c) ((size_t)((c) + 1) * AX__TCACHE_GRAIN)

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

void ax__tcache_init(ax__tcache_t *c) {
  unsigned i;
  for (i = 0; i < AX__TCACHE_CLASSES; i++) c->head[i] = NULL;
  c->bytes = 0;
  atomic_init(&c->remote.head, NULL);
  atomic_init(&c->remote.bytes, 0);
}

static void lists_push(ax__tcache_t *c, void *p, unsigned cls) {
  *(void **)p = c->head[cls];
  c->head[cls] = p;
  c->bytes += CLASS_BYTES(cls);
}

/* Moves the blocks other threads gave back onto the owner's lists. */
static void take_remote(ax__tcache_t *c) {
  ax__tremote_t *r = &c->remote;
  void *p;
  size_t bytes = 0;
  if (atomic_load_explicit(&r->head, memory_order_relaxed) == NULL) return;
  p = atomic_exchange_explicit(&r->head, NULL, memory_order_acquire);
  while (p != NULL) {
    void *next = *(void **)p;
    unsigned cls = ((ax__task_t *)p)->tclass - 1u;
    lists_push(c, p, cls);
    bytes += CLASS_BYTES(cls);
    p = next;
  }
  atomic_fetch_sub_explicit(&r->bytes, bytes, memory_order_relaxed);
}

static void *lists_pop(ax__tcache_t *c, unsigned cls) {
  void *p = c->head[cls];
  if (p == NULL) {
    take_remote(c);
    p = c->head[cls];
    if (p == NULL) return NULL;
  }
  c->head[cls] = *(void **)p;
  c->bytes -= CLASS_BYTES(cls);
  return p;
}

ax__task_t *ax__tcache_alloc(ax__tcache_t *own, ax__tcache_shared_t *shared,
                             size_t n) {
  ax__tcache_t *home;
  ax__task_t *t;
  unsigned cls;
  if (NO_CACHE || n > CLASS_BYTES(AX__TCACHE_CLASSES - 1)) {
    t = ax__malloc(n);
    if (t != NULL) {
      t->home = NULL;
      t->tclass = 0;
    }
    return t;
  }
  cls = (unsigned)((n + AX__TCACHE_GRAIN - 1) / AX__TCACHE_GRAIN - 1);
  if (own != NULL) {
    home = own;
    t = lists_pop(own, cls);
  } else {
    home = &shared->cache;
    ax__spin_lock(&shared->lock);
    t = lists_pop(home, cls);
    ax__spin_unlock(&shared->lock);
  }
  if (t == NULL && (t = ax__malloc(CLASS_BYTES(cls))) == NULL) return NULL;
  t->home = &home->remote;
  t->tclass = (uint8_t)(cls + 1);
  return t;
}

void ax__tcache_free(ax__task_t *t) {
  ax__tremote_t *home = t->home;
  ax__ctx_t *ctx;
  size_t bytes;
  if (home == NULL) {
    ax__free(t);
    return;
  }
  bytes = CLASS_BYTES(t->tclass - 1u);
  ctx = ax__ctx_current();
  if (ctx != NULL && ctx->tcache != NULL && home == &ctx->tcache->remote) {
    ax__tcache_t *c = ctx->tcache;
    if (c->bytes + bytes > AX__TCACHE_BYTES)
      ax__free(t);
    else
      lists_push(c, t, t->tclass - 1u);
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

void ax__tcache_drain_lists(ax__tcache_t *c) {
  unsigned i;
  for (i = 0; i < AX__TCACHE_CLASSES; i++) {
    free_list(c->head[i]);
    c->head[i] = NULL;
  }
  c->bytes = 0;
}

void ax__tcache_drain(ax__tcache_t *c) {
  ax__tcache_drain_lists(c);
  free_list(atomic_exchange(&c->remote.head, NULL));
  atomic_store(&c->remote.bytes, 0);
}
