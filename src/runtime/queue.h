/* Internal: a worker's bounded local run queue.
 *
 * A ring of AX__LQ_CAP task pointers.  Only the owning worker pushes and
 * pops (no lock, one CAS to pop); other workers steal half of it with CASes
 * on `head`, the scheme of Tokio's queue: head packs two 32-bit positions,
 * `steal` (where a thief is copying from) and `real` (the next task to pop);
 * they differ only while a steal is in progress, and the owner may not
 * overwrite slots at or after `steal`.
 */
#ifndef AX_RUNTIME_QUEUE_H
#define AX_RUNTIME_QUEUE_H

#include <stdatomic.h>
#include <stdint.h>

#include "runtime/task/task.h"

#define AX__LQ_CAP 256u
#define AX__LQ_MASK (AX__LQ_CAP - 1)

typedef struct ax__lqueue_s {
  _Atomic uint64_t head;               /* steal << 32 | real */
  _Atomic uint32_t tail;               /* written by the owner only */
  _Atomic(ax__task_t *) buf[AX__LQ_CAP];
} ax__lqueue_t;

void ax__lq_init(ax__lqueue_t *q);
/* Owner: pushes t; returns 0, or -1 when full (t not pushed). */
static inline int ax__lq_push(ax__lqueue_t *q, ax__task_t *t) {
  uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
  uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
  if (tail - (uint32_t)(h >> 32) >= AX__LQ_CAP) return -1;
  atomic_store_explicit(&q->buf[tail & AX__LQ_MASK], t, memory_order_relaxed);
  atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
  return 0;
}
/* Owner: when full, takes the older half of the queue plus t, in order,
 * into batch (room for AX__LQ_CAP / 2 + 1) for the injection queue and
 * returns the count.  Returns 0 (nothing taken) when thieves made room
 * since the push failed: the caller pushes again. */
uint32_t ax__lq_push_overflow(ax__lqueue_t *q, ax__task_t *t,
                              ax__task_t **batch);
/* Owner: pops the oldest task or NULL.  A CAS because a thief may be
 * advancing `real` at the same time. */
static inline ax__task_t *ax__lq_pop(ax__lqueue_t *q) {
  uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
  for (;;) {
    uint32_t steal = (uint32_t)(h >> 32), real = (uint32_t)h;
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t nr = (uint64_t)(uint32_t)(real + 1);
    uint64_t nh = steal == real ? (nr << 32) | nr : ((uint64_t)steal << 32) | nr;
    if (real == tail) return NULL;
    if (atomic_compare_exchange_weak_explicit(&q->head, &h, nh,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      return atomic_load_explicit(&q->buf[real & AX__LQ_MASK],
                                  memory_order_relaxed);
  }
}
/* Owner of a queue nobody steals from (a runtime with one worker): the
 * same pop without the locked instruction. */
static inline ax__task_t *ax__lq_pop_unshared(ax__lqueue_t *q) {
  uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
  uint32_t real = (uint32_t)h;
  uint64_t nr = (uint64_t)(uint32_t)(real + 1);
  if (real == atomic_load_explicit(&q->tail, memory_order_relaxed))
    return NULL;
  atomic_store_explicit(&q->head, (nr << 32) | nr, memory_order_release);
  return atomic_load_explicit(&q->buf[real & AX__LQ_MASK],
                              memory_order_relaxed);
}

/* Thief: moves half of src into dst (dst's owner calls this) and returns
 * one of the stolen tasks to run at once, or NULL. */
ax__task_t *ax__lq_steal_into(ax__lqueue_t *src, ax__lqueue_t *dst);
/* Approximate length (stats, emptiness checks from other threads). */
uint32_t ax__lq_len(ax__lqueue_t *q);
/* Free slots, for the owner. */
uint32_t ax__lq_room(ax__lqueue_t *q);

#endif
