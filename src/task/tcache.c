/* The task block cache: see tcache.h. */
#include "core/alloc.h"
#include "task/tcache.h"

#define CLASS_BYTES(c) ((size_t)((c) + 1) * 64)

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

/* Moves the blocks other threads gave back onto w's lists. */
static int take_remote(ax__worker_t *w) {
  void *p;
  size_t bytes = 0;
  if (atomic_load_explicit(&w->tcache_remote, memory_order_relaxed) == NULL)
    return 0;
  p = atomic_exchange_explicit(&w->tcache_remote, NULL, memory_order_acquire);
  while (p != NULL) {
    ax__task_t *t = p;
    void *next = *(void **)p;
    unsigned c = t->tclass - 1u;
    *(void **)p = w->tcache[c];
    w->tcache[c] = p;
    bytes += CLASS_BYTES(c);
    p = next;
  }
  atomic_fetch_sub_explicit(&w->tcache_remote_bytes, bytes,
                            memory_order_relaxed);
  w->tcache_bytes += bytes;
  return 1;
}

ax__task_t *ax__tcache_alloc(ax_runtime_t *rt, size_t n) {
  ax__worker_t *w = ax__worker_current();
  ax__task_t *t;
  unsigned c;
  if (NO_CACHE || n > CLASS_BYTES(AX__TCACHE_CLASSES - 1) || w == NULL ||
      w->rt != rt) {
    t = ax__malloc(n);
    if (t != NULL) {
      t->home = NULL;
      t->tclass = 0;
    }
    return t;
  }
  c = (unsigned)((n + 63) / 64 - 1);
  t = w->tcache[c];
  if (t == NULL && take_remote(w)) t = w->tcache[c];
  if (t != NULL) {
    w->tcache[c] = *(void **)t;
    w->tcache_bytes -= CLASS_BYTES(c);
  } else if ((t = ax__malloc(CLASS_BYTES(c))) == NULL) {
    return NULL;
  }
  t->home = w;
  t->tclass = (uint8_t)(c + 1);
  return t;
}

void ax__tcache_free(ax__task_t *t) {
  ax__worker_t *home = t->home;
  size_t bytes;
  if (home == NULL) {
    ax__free(t);
    return;
  }
  bytes = CLASS_BYTES(t->tclass - 1u);
  if (home == ax__worker_current()) {
    if (home->tcache_bytes + bytes > AX__TCACHE_BYTES) {
      ax__free(t);
      return;
    }
    *(void **)t = home->tcache[t->tclass - 1u];
    home->tcache[t->tclass - 1u] = t;
    home->tcache_bytes += bytes;
    return;
  }
  /* Another thread: give it back to its home, within the bound. */
  if (atomic_fetch_add_explicit(&home->tcache_remote_bytes, bytes,
                                memory_order_relaxed) + bytes >
      AX__TCACHE_BYTES) {
    atomic_fetch_sub_explicit(&home->tcache_remote_bytes, bytes,
                              memory_order_relaxed);
    ax__free(t);
    return;
  }
  {
    void *head = atomic_load_explicit(&home->tcache_remote,
                                      memory_order_relaxed);
    do {
      *(void **)t = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &home->tcache_remote, &head, t, memory_order_release,
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

void ax__tcache_drain(ax__worker_t *w) {
  unsigned c;
  for (c = 0; c < AX__TCACHE_CLASSES; c++) {
    free_list(w->tcache[c]);
    w->tcache[c] = NULL;
  }
  w->tcache_bytes = 0;
}

void ax__tcache_drain_remote(ax__worker_t *w) {
  free_list(atomic_exchange(&w->tcache_remote, NULL));
  atomic_store(&w->tcache_remote_bytes, 0);
}
