/* The injection queue: see inject.h. */
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
  q->over_head = q->over_tail = NULL;
  q->over_n = 0;
  atomic_init(&q->len, 0);
}

void ax__inject_free(ax__inject_t *q) {
  ax__free(q->buf);
  q->buf = NULL;
  q->cap = q->head = q->n = 0;
}

/* Lock held: a ring of at least `need` slots holding the same tasks, or 0
 * (out of memory: nothing changed). */
static int grow(ax__inject_t *q, size_t need) {
  size_t cap = q->cap ? q->cap : FIRST_CAP, i;
  ax__task_t **nb;
  while (cap < need) cap *= 2;
  nb = ax__malloc(cap * sizeof(*nb));
  if (nb == NULL) return 0;
  for (i = 0; i < q->n; i++) nb[i] = q->buf[(q->head + i) & (q->cap - 1)];
  ax__free(q->buf);
  q->buf = nb;
  q->cap = cap;
  q->head = 0;
  return 1;
}

/* Lock held: room in the ring for the overflow list and `more` tasks, the
 * list moved into it (behind the ring's tasks: it is newer); 0 when the
 * ring cannot grow. */
static int make_room(ax__inject_t *q, size_t more) {
  size_t need = q->n + q->over_n + more;
  if (need > q->cap && !grow(q, need)) return 0;
  while (q->over_head != NULL) {
    ax__task_t *t = q->over_head;
    q->over_head = t->inject_next;
    t->inject_next = NULL;
    q->buf[(q->head + q->n++) & (q->cap - 1)] = t;
  }
  q->over_tail = NULL;
  q->over_n = 0;
  return 1;
}

void ax__inject_push_locked(ax__inject_t *q, ax__task_t *const *v, size_t n) {
  size_t i, tail;
  if (q->over_head != NULL || q->n + n > q->cap) {
    if (!make_room(q, n)) {
      for (i = 0; i < n; i++) {   /* behind everything queued: FIFO */
        v[i]->inject_next = NULL;
        if (q->over_tail != NULL)
          q->over_tail->inject_next = v[i];
        else
          q->over_head = v[i];
        q->over_tail = v[i];
      }
      q->over_n += n;
      atomic_store(&q->len, q->n + q->over_n);
      return;
    }
  }
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
  while (k < max && q->over_head != NULL) {  /* the ring is empty now */
    ax__task_t *t = q->over_head;
    q->over_head = t->inject_next;
    t->inject_next = NULL;  /* it is panic_msg again */
    if (q->over_head == NULL) q->over_tail = NULL;
    q->over_n--;
    v[k++] = t;
  }
  atomic_store_explicit(&q->len, q->n + q->over_n, memory_order_relaxed);
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
