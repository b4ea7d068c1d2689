/* The injection queue: see inject.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "runtime/inject.h"

#define FIRST_CAP 256
/* A ring grown past this many slots by a burst (a million spawns from
 * outside) is freed when it empties, not kept for the runtime's life;
 * smaller ones stay, so steady traffic allocates nothing. */
#define KEEP_CAP 65536

void ax__inject_init(ax__inject_t *q) {
  ax__spin_init(&q->lock);
  q->buf = NULL;
  q->cap = q->head = q->n = 0;
  atomic_init(&q->len, 0);
}

void ax__inject_free(ax__inject_t *q) {
  ax__free(q->buf);
  q->buf = NULL;
  q->cap = q->head = q->n = 0;
}

static void grow(ax__inject_t *q, size_t need) {
  size_t cap = q->cap ? q->cap : FIRST_CAP, i;
  ax__task_t **nb;
  while (cap < need) cap *= 2;
  nb = ax__malloc(cap * sizeof(*nb));
  if (nb == NULL) {
    fprintf(stderr, "axle: out of memory growing the injection queue\n");
    abort();
  }
  for (i = 0; i < q->n; i++) nb[i] = q->buf[(q->head + i) & (q->cap - 1)];
  ax__free(q->buf);
  q->buf = nb;
  q->cap = cap;
  q->head = 0;
}

void ax__inject_push_locked(ax__inject_t *q, ax__task_t *const *v, size_t n) {
  size_t i, tail;
  if (q->n + n > q->cap) grow(q, q->n + n);
  tail = q->head + q->n;
  for (i = 0; i < n; i++) q->buf[(tail + i) & (q->cap - 1)] = v[i];
  q->n += n;
  /* seq_cst: the Dekker pairing with a parking worker (sched.c). */
  atomic_store(&q->len, q->n);
}

void ax__inject_push(ax__inject_t *q, ax__task_t *const *v, size_t n) {
  ax__spin_lock(&q->lock);
  ax__inject_push_locked(q, v, n);
  ax__spin_unlock(&q->lock);
}

size_t ax__inject_pop_n(ax__inject_t *q, ax__task_t **v, size_t max) {
  size_t i, k;
  if (atomic_load_explicit(&q->len, memory_order_acquire) == 0) return 0;
  ax__spin_lock(&q->lock);
  k = q->n < max ? q->n : max;
  for (i = 0; i < k; i++) v[i] = q->buf[(q->head + i) & (q->cap - 1)];
  q->head = (q->head + k) & (q->cap ? q->cap - 1 : 0);
  q->n -= k;
  atomic_store_explicit(&q->len, q->n, memory_order_relaxed);
  if (q->n == 0 && q->cap > KEEP_CAP) {
    ax__free(q->buf);   /* a burst is over */
    q->buf = NULL;
    q->cap = q->head = 0;
  }
  ax__spin_unlock(&q->lock);
  return k;
}

ax__task_t *ax__inject_pop(ax__inject_t *q) {
  ax__task_t *t;
  return ax__inject_pop_n(q, &t, 1) == 1 ? t : NULL;
}
