/* Operations a future hands to a home: see hop.h. */
#include "io/hop.h"

enum { RUNNING, DONE, ABANDONED };

int ax__hop_init(ax__hop_t *h, void (*start)(ax__op_t *op),
                 void (*discard)(ax__hop_t *h), void (*free)(ax__hop_t *h)) {
  ax__ctx_t *c = ax__ctx_current();
  if (c == NULL) return AX_ENORUNTIME;
  h->op.fn = start;
  h->home = c->home;
  ax_waker_slot_init(&h->waker);
  atomic_init(&h->state, RUNNING);
  h->result = 0;
  h->discard = discard;
  h->free = free;
  return 0;
}

int ax__hop_poll(ax__hop_t *h, ax_cx_t *cx, int first) {
  ax_waker_slot_register(&h->waker, ax_cx_waker(cx));
  if (first) h->home->post(h->home, &h->op);
  return atomic_load_explicit(&h->state, memory_order_acquire) == DONE;
}

static void release(ax__hop_t *h) {
  if (h->discard != NULL) h->discard(h);
  ax_waker_slot_drop(&h->waker);
  h->free(h);
}

void ax__hop_finish(ax__hop_t *h, int result) {
  int expect = RUNNING;
  h->result = result;
  if (atomic_compare_exchange_strong(&h->state, &expect, DONE))
    ax_waker_slot_wake(&h->waker);
  else
    release(h);   /* abandoned: nobody takes what was made */
}

int ax__hop_abandoned(ax__hop_t *h) {
  return atomic_load_explicit(&h->state, memory_order_acquire) == ABANDONED;
}

void ax__hop_abandon(ax__hop_t *h) {
  int expect = RUNNING;
  if (!atomic_compare_exchange_strong(&h->state, &expect, ABANDONED))
    release(h);   /* finished already: what it made is ours to drop */
}

void ax__hop_done(ax__hop_t *h) {
  ax_waker_slot_drop(&h->waker);
  h->free(h);
}
