/* Internal: the mpsc queue, a linked list of blocks of AX__BLK_CAP slots
 * (the design of Tokio's mpsc list, written for values of any size).
 *
 * Senders (any number, any thread) claim a slot index with one fetch_add
 * on tail_pos, find the block that holds it by walking from block_tail,
 * copy the value in and publish it with one fetch_or of the slot's bit in
 * the block's `ready` word.  No lock, no allocation except one block per
 * AX__BLK_CAP values -- and blocks are recycled, so a channel in steady
 * state allocates nothing.  When that block cannot be allocated, the
 * sender gives its claim back (blk_grow) and the send fails with
 * AX_ENOMEM.
 *
 * The receiver (one thread at a time) reads slot `index` of block `head`
 * when its ready bit is set.  Blocks the receiver has left are recycled
 * once no sender can still be walking through them: a block is RELEASED
 * when block_tail moved past it (which happens only once all its slots are
 * written), and `observed_tail` records tail_pos at that moment, so every
 * sender that may hold a pointer to it claimed an index below
 * observed_tail; once the receiver has read past observed_tail, those
 * senders are all done.  Recycled blocks are appended after the tail
 * (Tokio's trick: three attempts, then free).
 *
 * Ownership: the list owns its blocks and the values in them; free() runs
 * the element destructor on every value nobody received.
 */
#ifndef AX_SYNC_CHAN_LIST_H
#define AX_SYNC_CHAN_LIST_H

#include <stdint.h>

#include "sync/chan.h"

#define AX__BLK_CAP 32
#define AX__BLK_MASK ((size_t)(AX__BLK_CAP - 1))
#define AX__BLK_READY_ALL ((uint64_t)0xffffffffu)
#define AX__BLK_RELEASED ((uint64_t)1 << 32)

typedef struct ax__blk_s {
  size_t start;                      /* index of slot 0; fixed while linked */
  _Atomic(struct ax__blk_s *) next;  /* the following block, or NULL */
  _Atomic uint64_t ready;            /* slot bits | RELEASED */
  size_t observed_tail;              /* tail_pos when RELEASED was set */
} ax__blk_t;

#define AX__BLK_HDR AX__VALUE_OFFSET(sizeof(ax__blk_t))

typedef struct ax__blist_s {
  /* Senders' line. */
  struct {
    _Atomic size_t tail_pos;             /* next index to claim */
    _Atomic(ax__blk_t *) block_tail;     /* where senders start looking */
  } tx;
  char pad_tx_[AX__CACHELINE];
  /* Receiver's line (one thread at a time). */
  struct {
    ax__blk_t *head;                     /* block holding `index` (or before) */
    ax__blk_t *free_head;                /* oldest block not recycled yet */
    size_t index;                        /* next index to read */
  } rx;
  char pad_rx_[AX__CACHELINE];
  size_t elem_size;                      /* bytes per value */
} ax__blist_t;

/* 0 or AX_ENOMEM (the first block). */
int ax__blist_init(ax__blist_t *l, size_t elem_size);
/* No sender or receiver may use l any more: drops unreceived values with
 * `drop` (if not NULL) and frees every block. */
void ax__blist_free(ax__blist_t *l, ax_elem_drop_fn drop);
/* Receiver: drops (with `drop`, if not NULL) every value ready now. */
void ax__blist_drain(ax__blist_t *l, ax_elem_drop_fn drop);
/* Slow paths of push / pop.  find_block returns NULL when the block for
 * index could not be allocated and the claim on index was given back. */
ax__blk_t *ax__blist_find_block(ax__blist_t *l, ax__blk_t *b, size_t index);
ax__blk_t *ax__blist_advance_head(ax__blist_t *l);

static inline void *ax__blk_slot(ax__blist_t *l, ax__blk_t *b, size_t off) {
  return (char *)b + AX__BLK_HDR + off * l->elem_size;
}

/* Appends *value (any thread): 0, or AX_ENOMEM when a new block was
 * needed and could not be allocated (nothing was appended; blk_grow in
 * chan_list.c).  The publishing fetch_or is seq_cst: the caller's
 * following load of the receiver's waker pairs with the receiver's
 * store-then-recheck (see chan_mpsc.c). */
static inline int ax__blist_push(ax__blist_t *l, const void *value) {
  size_t i = atomic_fetch_add_explicit(&l->tx.tail_pos, 1,
                                       memory_order_seq_cst);
  ax__blk_t *b = atomic_load_explicit(&l->tx.block_tail,
                                      memory_order_seq_cst);
  size_t off = i & AX__BLK_MASK;
  if (b->start != i - off && (b = ax__blist_find_block(l, b, i)) == NULL)
    return AX_ENOMEM;
  ax__chan_copy(ax__blk_slot(l, b, off), value, l->elem_size);
  atomic_fetch_or_explicit(&b->ready, (uint64_t)1 << off,
                           memory_order_seq_cst);
  return 0;
}

/* Receiver: moves the oldest value to *out.  1, or 0 when none is ready. */
static inline int ax__blist_pop(ax__blist_t *l, void *out) {
  size_t i = l->rx.index, off = i & AX__BLK_MASK;
  ax__blk_t *b = l->rx.head;
  if (b->start != i - off && (b = ax__blist_advance_head(l)) == NULL)
    return 0;
  if (!(atomic_load_explicit(&b->ready, memory_order_seq_cst) &
        ((uint64_t)1 << off)))
    return 0;
  ax__chan_copy(out, ax__blk_slot(l, b, off), l->elem_size);
  l->rx.index = i + 1;
  return 1;
}

/* Receiver: 1 when some sender claimed a slot it has not published yet
 * (or published it after the caller's last pop). */
static inline int ax__blist_in_flight(ax__blist_t *l) {
  return atomic_load_explicit(&l->tx.tail_pos, memory_order_seq_cst) !=
         l->rx.index;
}

#endif
