/* A worker's local run queue: owner pushes/pops, thieves steal half.
 * See queue.h for the head/steal/real protocol. */
#include "runtime/queue.h"

#define PACK(steal, real) (((uint64_t)(steal) << 32) | (uint64_t)(real))
#define STEAL(h) ((uint32_t)((h) >> 32))
#define REAL(h) ((uint32_t)(h))

void ax__lq_init(ax__lqueue_t *q) {
  uint32_t i;
  atomic_init(&q->head, 0);
  atomic_init(&q->tail, 0);
  for (i = 0; i < AX__LQ_CAP; i++) atomic_init(&q->buf[i], NULL);
}

uint32_t ax__lq_len(ax__lqueue_t *q) {
  uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
  uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
  return t - REAL(h);
}

uint32_t ax__lq_room(ax__lqueue_t *q) {
  uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
  uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
  return AX__LQ_CAP - (t - STEAL(h));
}

uint32_t ax__lq_push_overflow(ax__lqueue_t *q, ax__task_t *t,
                              ax__task_t **batch) {
  const uint32_t n = AX__LQ_CAP / 2;
  uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire);
  uint32_t real = REAL(h), i;
  uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);

  batch[0] = t;
  /* A thief is copying: leave the queue alone, overflow only t. */
  if (STEAL(h) != real) return 1;
  /* The caller's push saw the queue full, but thieves may have taken from
   * it since (this head is a fresh load): moving n tasks from a queue that
   * holds fewer would hand out stale slots, tasks that already ran.  Let
   * the caller push again instead.  The CAS below then proves that nothing
   * changed between this check and the claim. */
  if (tail - real < AX__LQ_CAP) return 0;
  if (!atomic_compare_exchange_strong_explicit(&q->head, &h,
                                               PACK(real + n, real + n),
                                               memory_order_acq_rel,
                                               memory_order_acquire))
    return 1;
  for (i = 0; i < n; i++)
    batch[i] = atomic_load_explicit(&q->buf[(real + i) & AX__LQ_MASK],
                                    memory_order_relaxed);
  batch[n] = t;
  return n + 1;
}

ax__task_t *ax__lq_steal_into(ax__lqueue_t *src, ax__lqueue_t *dst) {
  uint32_t dtail = atomic_load_explicit(&dst->tail, memory_order_relaxed);
  uint64_t dh = atomic_load_explicit(&dst->head, memory_order_acquire);
  uint64_t h, nh;
  uint32_t steal, real, n, i;
  ax__task_t *ret;

  if (dtail - STEAL(dh) > AX__LQ_CAP / 2) return NULL;  /* no room */

  /* Claim: advance `real` by n, keep `steal` to fence off the slots. */
  h = atomic_load_explicit(&src->head, memory_order_acquire);
  for (;;) {
    uint32_t stail;
    steal = STEAL(h);
    real = REAL(h);
    if (steal != real) return NULL;  /* another thief is at work */
    stail = atomic_load_explicit(&src->tail, memory_order_acquire);
    n = stail - real;
    n -= n / 2;
    if (n == 0) return NULL;
    if (n > AX__LQ_CAP / 2) n = AX__LQ_CAP / 2;
    nh = PACK(steal, real + n);
    if (atomic_compare_exchange_weak_explicit(&src->head, &h, nh,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  for (i = 0; i < n; i++) {
    ax__task_t *x = atomic_load_explicit(&src->buf[(steal + i) & AX__LQ_MASK],
                                         memory_order_relaxed);
    atomic_store_explicit(&dst->buf[(dtail + i) & AX__LQ_MASK], x,
                          memory_order_relaxed);
  }
  /* Release the claim; the owner may have popped meanwhile. */
  h = nh;
  for (;;) {
    uint32_t r = REAL(h);
    if (atomic_compare_exchange_weak_explicit(&src->head, &h, PACK(r, r),
                                              memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  n--;
  ret = atomic_load_explicit(&dst->buf[(dtail + n) & AX__LQ_MASK],
                             memory_order_relaxed);
  if (n > 0)
    atomic_store_explicit(&dst->tail, dtail + n, memory_order_release);
  return ret;
}
