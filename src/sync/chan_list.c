/* The mpsc block list: slow paths (growing, moving the tail, recycling).
 * See chan_list.h for the invariants. */
#include "sync/chan_list.h"

#if defined(_WIN32)
#  include <windows.h>
#  define ax__blist_yield() SwitchToThread()
#else
#  include <sched.h>
#  define ax__blist_yield() sched_yield()
#endif

/* Wrap-around safe "a >= b" for indices. */
static int idx_ge(size_t a, size_t b) { return (size_t)(a - b) <= SIZE_MAX / 2; }

static ax__blk_t *blk_alloc(ax__blist_t *l, size_t start) {
  ax__blk_t *b = ax__malloc(AX__BLK_HDR + AX__BLK_CAP * l->elem_size);
  if (b == NULL)
    return NULL;
  b->start = start;
  atomic_init(&b->next, NULL);
  atomic_init(&b->ready, 0);
  b->observed_tail = 0;
  return b;
}

int ax__blist_init(ax__blist_t *l, size_t elem_size) {
  ax__blk_t *b;
  l->elem_size = elem_size;
  b = blk_alloc(l, 0);
  if (b == NULL)
    return AX_ENOMEM;
  atomic_init(&l->tx.tail_pos, 0);
  atomic_init(&l->tx.block_tail, b);
  l->rx.head = b;
  l->rx.free_head = b;
  l->rx.index = 0;
  return 0;
}

/* Links a block after b, or finds the one another thread linked first.
 *
 * Out of memory, the sender that claimed `index` (in a block not linked
 * yet) gives its claim back: tail_pos goes from index + 1 to index, which
 * only works while no later index is claimed, and then nothing is lost
 * (the slot was never written, and the receiver never waits at an index
 * not below tail_pos).  Until then it yields and looks again, for a block
 * another sender linked, for memory, or for the senders that claimed
 * after it to give theirs back: they are past the same missing block
 * (blocks are linked in order), so they too can only link one or give
 * up, and the last claim always can.  NULL: the claim was given back. */
static ax__blk_t *blk_grow(ax__blist_t *l, ax__blk_t *b, size_t index) {
  ax__blk_t *nb, *next = NULL, *cur;
  while ((nb = blk_alloc(l, b->start + AX__BLK_CAP)) == NULL) {
    size_t last = index + 1;
    if ((next = atomic_load_explicit(&b->next, memory_order_acquire)) != NULL)
      return next;
    if (atomic_compare_exchange_strong_explicit(&l->tx.tail_pos, &last, index,
                                                memory_order_seq_cst,
                                                memory_order_relaxed))
      return NULL;
    ax__blist_yield();
  }
  if (atomic_compare_exchange_strong_explicit(&b->next, &next, nb,
                                              memory_order_acq_rel,
                                              memory_order_acquire))
    return nb;
  /* Lost the race: keep the block anyway, further down the list. */
  cur = next;
  for (;;) {
    ax__blk_t *exp = NULL;
    nb->start = cur->start + AX__BLK_CAP;
    if (atomic_compare_exchange_strong_explicit(&cur->next, &exp, nb,
                                                memory_order_acq_rel,
                                                memory_order_acquire))
      return next;
    cur = exp;
  }
}

ax__blk_t *ax__blist_find_block(ax__blist_t *l, ax__blk_t *b, size_t index) {
  size_t start = index & ~AX__BLK_MASK;
  /* Only senders far enough ahead try to move block_tail (Tokio's rule):
   * fewer CAS fights on it. */
  int try_tail = (size_t)(start - b->start) / AX__BLK_CAP >
                 (index & AX__BLK_MASK);
  while (b->start != start) {
    ax__blk_t *next = atomic_load_explicit(&b->next, memory_order_acquire);
    if (next == NULL && (next = blk_grow(l, b, index)) == NULL)
      return NULL;
    /* block_tail only moves past blocks whose every slot is written. */
    try_tail = try_tail &&
               (atomic_load_explicit(&b->ready, memory_order_acquire) &
                AX__BLK_READY_ALL) == AX__BLK_READY_ALL;
    if (try_tail) {
      ax__blk_t *exp = b;
      if (atomic_compare_exchange_strong_explicit(&l->tx.block_tail, &exp,
                                                  next, memory_order_seq_cst,
                                                  memory_order_seq_cst)) {
        /* Every sender that can still reach b claimed its index before
         * this fetch_add (seq_cst with their claim and block_tail load). */
        b->observed_tail = atomic_fetch_add_explicit(&l->tx.tail_pos, 0,
                                                     memory_order_seq_cst);
        atomic_fetch_or_explicit(&b->ready, AX__BLK_RELEASED,
                                 memory_order_release);
      } else {
        try_tail = 0;
      }
    }
    b = next;
  }
  return b;
}

/* Receiver: appends a block it finished with after the current tail. */
static void blk_recycle(ax__blist_t *l, ax__blk_t *b) {
  ax__blk_t *cur = atomic_load_explicit(&l->tx.block_tail,
                                        memory_order_acquire);
  int i;
  atomic_store_explicit(&b->ready, 0, memory_order_relaxed);
  atomic_store_explicit(&b->next, NULL, memory_order_relaxed);
  for (i = 0; i < 3; i++) {
    ax__blk_t *exp = NULL;
    b->start = cur->start + AX__BLK_CAP;
    if (atomic_compare_exchange_strong_explicit(&cur->next, &exp, b,
                                                memory_order_acq_rel,
                                                memory_order_acquire))
      return;
    cur = exp;
  }
  ax__free(b);
}

static void reclaim(ax__blist_t *l) {
  while (l->rx.free_head != l->rx.head) {
    ax__blk_t *b = l->rx.free_head;
    uint64_t r = atomic_load_explicit(&b->ready, memory_order_acquire);
    if (!(r & AX__BLK_RELEASED) || !idx_ge(l->rx.index, b->observed_tail))
      return;
    l->rx.free_head = atomic_load_explicit(&b->next, memory_order_acquire);
    blk_recycle(l, b);
  }
}

ax__blk_t *ax__blist_advance_head(ax__blist_t *l) {
  size_t start = l->rx.index & ~AX__BLK_MASK;
  ax__blk_t *b = l->rx.head;
  while (b->start != start) {
    b = atomic_load_explicit(&b->next, memory_order_acquire);
    if (b == NULL)
      return NULL;
    l->rx.head = b;
  }
  reclaim(l);
  return b;
}

void ax__blist_free(ax__blist_t *l, ax_elem_drop_fn drop) {
  ax__blk_t *b = l->rx.free_head;
  while (b != NULL) {
    ax__blk_t *next = atomic_load_explicit(&b->next, memory_order_relaxed);
    if (drop != NULL) {
      uint64_t r = atomic_load_explicit(&b->ready, memory_order_relaxed);
      size_t k;
      for (k = 0; k < AX__BLK_CAP; k++)
        if ((r & ((uint64_t)1 << k)) && idx_ge(b->start + k, l->rx.index))
          drop(ax__blk_slot(l, b, k));
    }
    ax__free(b);
    b = next;
  }
  l->rx.free_head = l->rx.head = NULL;
}

void ax__blist_drain(ax__blist_t *l, ax_elem_drop_fn drop) {
  for (;;) {
    size_t i = l->rx.index, off = i & AX__BLK_MASK;
    ax__blk_t *b = l->rx.head;
    if (b->start != i - off && (b = ax__blist_advance_head(l)) == NULL)
      return;
    if (!(atomic_load_explicit(&b->ready, memory_order_seq_cst) &
          ((uint64_t)1 << off)))
      return;
    if (drop != NULL)
      drop(ax__blk_slot(l, b, off));
    l->rx.index = i + 1;
  }
}
