/* Internal: an operation a future hands to a home (the "hop").
 *
 * Some I/O work must happen on a loop's thread (a handle's creation, a
 * request), while the future that wants it may be polled on any worker.
 * The future allocates the hop, hands it to the home (at once when it is
 * already there), and registers its waker; the home does the libuv work
 * and finishes the hop, which wakes the future.  Either side may go first
 * at the end: a future dropped before the hop is finished abandons it, and
 * the home, finishing it, releases what it made (`discard`) and frees it;
 * a future dropped after takes what was made and releases it.  A state
 * word decides which came last: it cleans up.
 *
 * The hop is embedded at the start of a larger struct per kind of work.
 */
#ifndef AX_IO_HOP_H
#define AX_IO_HOP_H

#include "axle/leaf.h"
#include "core/context.h"

typedef struct ax__hop_s ax__hop_t;
struct ax__hop_s {
  ax__op_t op;                  /* the hand-off (op.fn: start, on home) */
  ax__ctx_t *home;              /* where the work happens */
  ax_waker_slot_t waker;        /* the future's */
  _Atomic int state;            /* running / done / abandoned */
  int result;                   /* written before done */
  void (*discard)(ax__hop_t *h);  /* releases what a finished hop made
                                     (nobody took it); may be NULL */
  void (*free)(ax__hop_t *h);     /* frees the hop's own memory */
};

/* Prepares h for the calling thread's home: 0, or AX_ENORUNTIME. */
int ax__hop_init(ax__hop_t *h, void (*start)(ax__op_t *op),
                 void (*discard)(ax__hop_t *h), void (*free)(ax__hop_t *h));
/* The future's poll: registers its waker, hands h over the first time
 * (first = 1), and says whether h is finished (1) or still running (0). */
int ax__hop_poll(ax__hop_t *h, ax_cx_t *cx, int first);
/* The home finished h with `result` (what it made is in the outer struct). */
void ax__hop_finish(ax__hop_t *h, int result);
/* 1 when the future is gone: the home may stop early (then finish). */
int ax__hop_abandoned(ax__hop_t *h);
/* The future is dropped, before or after the end (see above). */
void ax__hop_abandon(ax__hop_t *h);
/* The future took what h made (after finish): frees h. */
void ax__hop_done(ax__hop_t *h);

#endif
