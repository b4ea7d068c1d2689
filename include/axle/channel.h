/* axle — channels: mpsc, oneshot, broadcast, watch.
 *
 *   Tokio                                  axle
 *   mpsc::channel::<T>(32)                 ax_mpsc_new(sizeof(T), 32, drop, &tx, &rx)
 *   mpsc::unbounded_channel::<T>()         ax_mpsc_new_unbounded(sizeof(T), drop, &tx, &rx)
 *   tx.send(v).await                       AX_AWAIT(ax_mpsc_send(&s->send, tx, &v))
 *   tx.try_send(v) / utx.send(v)           ax_mpsc_try_send(tx, &v)
 *   tx.reserve().await; permit.send(v)     AX_AWAIT(ax_mpsc_reserve(&s->res, tx));
 *                                          ax_mpsc_permit_send(&s->res.permit, &v)
 *   tx.clone() / drop(tx)                  ax_mpsc_sender_clone(tx) / ax_mpsc_sender_drop(tx)
 *   rx.recv().await                        AX_AWAIT(ax_mpsc_recv(&s->recv, rx, &out))
 *   rx.try_recv() / rx.close()             ax_mpsc_try_recv(rx, &out) / ax_mpsc_close(rx)
 *   tx.blocking_send(v) / rx.blocking_recv() ax_mpsc_blocking_send(tx, &v) / _recv(rx, &out)
 *   rx.recv_many(&mut buf, n).await        AX_AWAIT(ax_mpsc_recv_many(&s->rm, rx, buf, n)); s->rm.count
 *   tx.reserve_many(n).await               AX_AWAIT(ax_mpsc_reserve_many(&s->res, tx, n))
 *   tx.reserve_owned().await               ax_mpsc_reserve (the permit owns a sender)
 *   tx.send_timeout(v, d).await            AX_AWAIT(ax_mpsc_send_timeout(&s->st, tx, &v, ms))
 *   tx.downgrade() / weak.upgrade()        ax_mpsc_sender_downgrade(tx) / ax_mpsc_weak_upgrade(w)
 *   weak.strong_count() / rx.sender_strong_count()  ax_mpsc_weak_strong_count(w) / ax_mpsc_receiver_sender_strong_count(rx)
 *   rx.len() / is_empty() / is_closed()    ax_mpsc_len(rx) / ax_mpsc_is_empty / ax_mpsc_receiver_is_closed
 *   tx.max_capacity()                      ax_mpsc_max_capacity(tx)
 *   oneshot::channel::<T>()                ax_oneshot_new(sizeof(T), drop, &tx, &rx)
 *   tx.send(v)                             ax_oneshot_send(tx, &v)
 *   rx.await                               AX_AWAIT(ax_oneshot_recv(&s->r, rx, &out))
 *   tx.closed().await / tx.is_closed()     ax_oneshot_closed(&s->c, tx) / ax_oneshot_is_closed(tx)
 *   rx.is_terminated() / rx.is_empty()     ax_oneshot_is_terminated(rx) / ax_oneshot_is_empty(rx)
 *   broadcast::channel::<T>(16)            ax_broadcast_new(sizeof(T), 16, clone, drop, &tx, &rx)
 *   tx.subscribe()                         ax_broadcast_subscribe(tx, &rx2)
 *   rx.recv().await -> Err(Lagged(n))      result AX_ELAGGED, f.lagged == n
 *   tx.len() / rx.len()                    ax_broadcast_len(tx) / ax_broadcast_receiver_len(rx)
 *   tx.downgrade() / weak.upgrade()        ax_broadcast_sender_downgrade / ax_broadcast_weak_upgrade
 *   watch::channel(v)                      ax_watch_new(sizeof(T), &v, clone, drop, &tx, &rx)
 *   rx.changed().await; *rx.borrow()       AX_AWAIT(ax_watch_changed(&s->ch, rx)); ax_watch_borrow(rx, &v)
 *   rx.has_changed()                       ax_watch_has_changed(rx, &changed)
 *   rx.wait_for(|v| ..).await              AX_AWAIT(ax_watch_wait_for(&s->wf, rx, pred, arg, &out))
 *   rx.mark_changed() / mark_unchanged()   ax_watch_mark_changed(rx) / ax_watch_mark_unchanged(rx)
 *   tx.send_modify(|v| ..)                 ax_watch_send_modify(tx, fn, arg)
 *   tx.send_if_modified(|v| ..)            ax_watch_send_if_modified(tx, fn, arg)
 *   tx.closed().await (watch, broadcast)   ax_watch_closed(&s->c, tx) / ax_broadcast_closed(&s->c, tx)
 *
 * Values.  Every channel carries elements of one size, fixed at creation.
 * Values are copied in and out with memcpy: sending copies the caller's
 * bytes into the channel and ownership of whatever they refer to moves with
 * them; receiving copies them into the caller's buffer and ownership moves
 * to the caller.  A channel may take an element destructor (`drop`): it is
 * run exactly once on every value the channel still owns when it dies (or,
 * for broadcast and watch, when a value is overwritten).  A send that fails
 * (AX_ECLOSED, AX_EFULL) never touched ownership: the caller's value is
 * still the caller's.  Nothing is lost.
 *
 * Handles.  Every channel is one reference-counted object.  Its handles
 * (ax_mpsc_tx_t *, ax_mpsc_rx_t *, ...) are pointers; each one a function
 * returns is owned by the caller, who releases it exactly once with the
 * matching _drop function.  Cloning a sender returns a new handle (often
 * the same pointer value: it is still one more handle to drop).  The
 * channel is freed when its last handle goes.  Every handle may be used
 * and dropped on any thread; the one-consumer handles (mpsc receiver,
 * oneshot receiver, each broadcast/watch receiver) by one thread at a time.
 *
 * Futures.  Each waiting operation is a caller-embedded future struct,
 * prepared by the function that returns its ax_future_t *, awaited, and
 * dropped with ax_drop() (safe in every state, twice too).  The future
 * borrows the handle and the value/output buffers passed to it: they must
 * stay valid until it is ready or dropped.  Dropping a waiting future is
 * cancellation and loses nothing: a recv that did not complete took no
 * value, a send that did not complete left the value with the caller, and
 * a capacity slot it had been handed passes on to the next waiting sender.
 *
 * NULL (common.h's rule).  Constructors: every out-parameter is required
 * (broadcast's first receiver excepted), NULL: AX_EINVAL.  Operations that
 * return a code: a NULL handle, or a NULL value or out buffer on a channel
 * whose elem_size is not 0, is AX_EINVAL and does nothing.  Futures: the
 * same given to a send, reserve, recv or changed future makes it ready at
 * its first poll with result AX_EINVAL (the future struct itself must not
 * be NULL, asserted).  Every _drop, _close, _release and
 * ax_watch_borrow_unlock accepts NULL and does nothing.  The rest (clones,
 * counts, is_closed, capacity, borrows, send_replace, the closed() future)
 * assert their handle and buffers.
 */
#ifndef AXLE_CHANNEL_H
#define AXLE_CHANNEL_H

#include "future.h"
#include "sync.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Releases what a queued value owns (called on the channel's copy).
 * Element callbacks may run on any thread, and for broadcast and watch
 * under the channel's lock: they must be quick and must not call
 * functions of the same channel.
 *
 * Panics.  A clone callback, a watch modifier (send_modify,
 * send_if_modified) or a wait_for predicate may ax_panic(): the channel's
 * lock is released as the panic passes and the channel stays usable, as
 * Tokio's does when the closure panics (a modifier's partial change stays
 * and is not announced; a broadcast receiver whose clone panicked has
 * moved past that value).  A drop callback must not panic: it may run
 * where nothing can give the lock back. */
typedef void (*ax_elem_drop_fn)(void *elem);
/* Makes dst (uninitialised, elem_size bytes) an independent copy of src:
 * for broadcast and watch, whose values are read by many receivers.
 * NULL means memcpy (plain data). */
typedef void (*ax_elem_clone_fn)(void *dst, const void *src);

/* ==== mpsc: many producers, one consumer ================================
 *
 * FIFO per sender.  Bounded channels hold at most `capacity` values; their
 * send future waits for room (FIFO-fair among waiting senders).  Unbounded
 * channels never wait: ax_mpsc_try_send always succeeds unless closed, or
 * out of memory (AX_ENOMEM: values are stored in blocks of 32, and a send
 * that needs a new block that cannot be allocated sends nothing; the
 * value stays the caller's).
 *
 * recv reports AX_ECLOSED once every sender is gone (or the receiver
 * closed the channel) and every value sent before is received.  A send
 * racing with ax_mpsc_close may still succeed; its value is then received
 * by a later recv, or dropped with the channel.
 *
 * Permits survive the receiver's close (as in Tokio; in axle unbounded
 * channels' permits too): a slot reserved
 * before ax_mpsc_close is a promise that its send succeeds, so after the
 * close recv waits (try_recv says AX_EEMPTY) until every permit out there
 * has been used or released; the last one to go wakes it, and only then
 * does it report AX_ECLOSED.  A send or reserve future that had not
 * completed when the receiver closed completes with AX_ECLOSED (even if a
 * slot had just been handed to it: it gives the slot back).
 */
typedef struct ax_mpsc_tx_s ax_mpsc_tx_t;  /* a sender handle */
typedef struct ax_mpsc_rx_s ax_mpsc_rx_t;  /* the receiver handle */
/* A weak sender handle: keeps the memory, not the channel, open. */
typedef struct ax_mpsc_weak_tx_s ax_mpsc_weak_tx_t;

/* Creates a bounded channel of capacity >= 1 values of elem_size bytes
 * (0 allowed: pure signals).  drop may be NULL.  On success *tx and *rx
 * are new handles owned by the caller.  0, AX_EINVAL (also tx or rx NULL)
 * or AX_ENOMEM. */
AX_EXTERN int ax_mpsc_new(size_t elem_size, size_t capacity,
                              ax_elem_drop_fn drop, ax_mpsc_tx_t **tx,
                              ax_mpsc_rx_t **rx);
/* Same, unbounded. */
AX_EXTERN int ax_mpsc_new_unbounded(size_t elem_size, ax_elem_drop_fn drop,
                                ax_mpsc_tx_t **tx, ax_mpsc_rx_t **rx);

/* A new sender handle (owned by the caller).  Never fails.  tx: not NULL,
 * asserted. */
AX_EXTERN ax_mpsc_tx_t *ax_mpsc_sender_clone(ax_mpsc_tx_t *tx);
/* Releases one sender handle; the last one closes the channel for the
 * receiver (after it drained the queue).  NULL is ignored. */
AX_EXTERN void ax_mpsc_sender_drop(ax_mpsc_tx_t *tx);
/* Closes the channel (if not yet), drops every value still queued and
 * releases the receiver handle.  NULL is ignored. */
AX_EXTERN void ax_mpsc_receiver_drop(ax_mpsc_rx_t *rx);

/* Sends without waiting: 0 (the value is in the channel), AX_EFULL (bounded
 * and no room, or senders already waiting for room), AX_ECLOSED, AX_ENOMEM
 * or AX_EINVAL (tx NULL, or value NULL with elem_size > 0).  On error
 * *value is untouched and still the caller's.  The send of unbounded
 * channels. */
AX_EXTERN int ax_mpsc_try_send(ax_mpsc_tx_t *tx, const void *value);
/* 1 when the receiver is gone or closed the channel, else 0.  tx: not
 * NULL, asserted (and for ax_mpsc_capacity). */
AX_EXTERN int ax_mpsc_is_closed(const ax_mpsc_tx_t *tx);
/* Free capacity right now (a snapshot; SIZE_MAX when unbounded). */
AX_EXTERN size_t ax_mpsc_capacity(const ax_mpsc_tx_t *tx);
/* The capacity the channel was created with (SIZE_MAX when unbounded). */
AX_EXTERN size_t ax_mpsc_max_capacity(const ax_mpsc_tx_t *tx);
/* Strong sender handles alive, live permits included (each permit owns a
 * sender handle), and weak sender handles alive.  Snapshots. */
AX_EXTERN size_t ax_mpsc_sender_strong_count(const ax_mpsc_tx_t *tx);
AX_EXTERN size_t ax_mpsc_sender_weak_count(const ax_mpsc_tx_t *tx);

/* Weak senders (Tokio's WeakSender).  A weak handle does not keep the
 * channel open: once every (strong) sender and permit is gone the
 * receiver sees AX_ECLOSED, weak handles or not.  It keeps the channel's
 * memory, so it is always safe to upgrade, and must be released with
 * ax_mpsc_weak_drop.
 *   downgrade: a new weak handle (owned by the caller).  Never fails.
 *   upgrade:   a new sender handle (owned by the caller), or NULL when
 *              every sender is already gone (the channel stays closed for
 *              good: a weak sender never reopens it) or w is NULL.
 *   weak_clone: another weak handle.  weak_drop: NULL is ignored. */
AX_EXTERN ax_mpsc_weak_tx_t *ax_mpsc_sender_downgrade(ax_mpsc_tx_t *tx);
AX_EXTERN ax_mpsc_tx_t *ax_mpsc_weak_upgrade(ax_mpsc_weak_tx_t *w);
AX_EXTERN ax_mpsc_weak_tx_t *ax_mpsc_weak_clone(ax_mpsc_weak_tx_t *w);
AX_EXTERN void ax_mpsc_weak_drop(ax_mpsc_weak_tx_t *w);
/* The same two counts seen from a weak handle (Tokio's
 * WeakSender::strong_count / weak_count) and from the receiver
 * (Receiver::sender_strong_count / sender_weak_count).  Snapshots; the
 * handle: not NULL, asserted. */
AX_EXTERN size_t ax_mpsc_weak_strong_count(const ax_mpsc_weak_tx_t *w);
AX_EXTERN size_t ax_mpsc_weak_weak_count(const ax_mpsc_weak_tx_t *w);
AX_EXTERN size_t ax_mpsc_receiver_sender_strong_count(const ax_mpsc_rx_t *rx);
AX_EXTERN size_t ax_mpsc_receiver_sender_weak_count(const ax_mpsc_rx_t *rx);

/* Receives without waiting: 0 (the oldest value moved to *out), AX_EEMPTY
 * (nothing queued now; after ax_mpsc_close also while a permit is still
 * out), AX_ECLOSED (closed and drained) or AX_EINVAL (rx NULL, or out NULL
 * with elem_size > 0). */
AX_EXTERN int ax_mpsc_try_recv(ax_mpsc_rx_t *rx, void *out);
/* Stops further sends (they fail with AX_ECLOSED, waiting senders wake with
 * it) while the receiver drains what is queued; permits already reserved
 * can still send (see above).  NULL: no-op. */
AX_EXTERN void ax_mpsc_close(ax_mpsc_rx_t *rx);
/* Receiver-side snapshots (the receiver's thread only):
 *   len:       values queued (a send in progress may count already);
 *   is_empty:  len == 0;
 *   receiver_is_closed: 1 once ax_mpsc_close was called or every sender
 *              (and permit) is gone -- values may still be queued;
 *   receiver_capacity / receiver_max_capacity: as for the sender. */
AX_EXTERN size_t ax_mpsc_len(const ax_mpsc_rx_t *rx);
AX_EXTERN int ax_mpsc_is_empty(const ax_mpsc_rx_t *rx);
AX_EXTERN int ax_mpsc_receiver_is_closed(const ax_mpsc_rx_t *rx);
AX_EXTERN size_t ax_mpsc_receiver_capacity(const ax_mpsc_rx_t *rx);
AX_EXTERN size_t ax_mpsc_receiver_max_capacity(const ax_mpsc_rx_t *rx);

/* The send future: waits for room, then copies *value in. */
typedef struct ax_mpsc_send_s {
  ax_future_t base;       /* the future */
  ax_permit_t room;       /* private: the capacity slot being acquired */
  ax_mpsc_tx_t *tx;       /* private: borrowed sender */
  const void *value;      /* private: borrowed until ready or dropped */
  int phase;              /* private */
  int result;             /* read-only once ready: 0 (sent), AX_ECLOSED,
                             AX_ENOMEM or AX_EINVAL (*value untouched,
                             still the caller's) */
} ax_mpsc_send_t;
AX_EXTERN ax_future_t *ax_mpsc_send(ax_mpsc_send_t *f, ax_mpsc_tx_t *tx,
                                    const void *value);

/* A send that gives up after ms milliseconds (the clock starts at this
 * call): result 0 (sent), AX_ECLOSED or AX_ETIMEDOUT (in both failures
 * *value is untouched, still the caller's, and a slot the send was handed
 * passed on).  The polling rules are ax_timeout's. */
typedef struct ax_mpsc_send_timeout_s {
  ax_future_t base;       /* the future */
  ax_mpsc_send_t send;    /* private: the send, owned by `to` */
  ax_timeout_t to;        /* private: the deadline around it */
  int result;             /* read-only once ready */
} ax_mpsc_send_timeout_t;
AX_EXTERN ax_future_t *ax_mpsc_send_timeout(ax_mpsc_send_timeout_t *f,
                                            ax_mpsc_tx_t *tx,
                                            const void *value, uint64_t ms);

/* Reserved slots of capacity: sending through them never waits.
 *
 * A permit holds its own sender handle (counted by
 * ax_mpsc_sender_strong_count), so it keeps the channel open and may
 * outlive the handle it was reserved through: drop that handle right
 * after reserving and the permit is Tokio's OwnedPermit (what
 * reserve_owned gives); there is no separate owned type.  Tokio's
 * OwnedPermit::release hands back the sender; in axle release only gives
 * the slots back (take a sender with ax_mpsc_sender_clone first if one is
 * still wanted).  A permit may be copied to another place while it is not
 * in use (then zero `tx` in the old place), and used from any thread. */
typedef struct ax_mpsc_permit_s {
  ax_mpsc_tx_t *tx;       /* private: NULL when the permit holds nothing */
  size_t count;           /* read-only: slots held (0 when tx is NULL) */
} ax_mpsc_permit_t;

/* The reserve future: when ready with result 0, f->permit holds the slots
 * asked for (none when n was 0: then permit.tx stays NULL). */
typedef struct ax_mpsc_reserve_s {
  ax_future_t base;       /* the future */
  ax_permit_t room;       /* private */
  ax_mpsc_tx_t *tx;       /* private: borrowed sender */
  size_t want;            /* private: slots asked for */
  int phase;              /* private */
  int result;             /* read-only once ready: 0, AX_ECLOSED or
                             AX_EINVAL (tx NULL; reserve_many: n above
                             the capacity, so it could never succeed) */
  ax_mpsc_permit_t permit; /* public once ready: the slots.  Use it in place
                              (ax_mpsc_permit_send(&f->permit, v)); dropping
                              the future releases what is still unused.  To
                              keep it longer, copy it out and zero `tx`. */
} ax_mpsc_reserve_t;
/* One slot (tx.reserve() / reserve_owned()). */
AX_EXTERN ax_future_t *ax_mpsc_reserve(ax_mpsc_reserve_t *f, ax_mpsc_tx_t *tx);
/* n slots at once (Tokio's reserve_many): waits, FIFO among senders, until
 * n slots are free together (a waiter collects slots as they come back, so
 * a large request is not starved).  n == 0 completes at once with result 0
 * and an empty permit, or AX_ECLOSED if closed.  n above the capacity of a
 * bounded channel: AX_EINVAL (Tokio reports that as a send error).
 * Unbounded channels never wait. */
AX_EXTERN ax_future_t *ax_mpsc_reserve_many(ax_mpsc_reserve_t *f,
                                            ax_mpsc_tx_t *tx, size_t n);
/* Without waiting: 0 (*p holds a slot), AX_EFULL, AX_ECLOSED or AX_EINVAL
 * (tx or p NULL).  *p is emptied first in every case. */
AX_EXTERN int ax_mpsc_try_reserve(ax_mpsc_permit_t *p, ax_mpsc_tx_t *tx);
/* Same for n slots: also AX_EINVAL when n is above the capacity (Tokio:
 * Full).  n == 0 gives 0 and an empty permit (AX_ECLOSED if closed). */
AX_EXTERN int ax_mpsc_try_reserve_many(ax_mpsc_permit_t *p, ax_mpsc_tx_t *tx,
                                        size_t n);
/* Sends *value through one reserved slot: 0, or AX_ECLOSED only when the
 * receiver handle is gone (dropped: nobody could receive it; *value
 * untouched and the slot released all the same), or AX_ENOMEM (likewise).
 * A receiver that merely closed still gets the value.  p->count goes down
 * by one; the permit releases its sender handle with its last slot.
 * AX_EINVAL when p is NULL or holds no slot, or value is NULL with
 * elem_size > 0 (nothing done: the slot stays held). */
AX_EXTERN int ax_mpsc_permit_send(ax_mpsc_permit_t *p, const void *value);
/* Moves n of src's slots to dst (which must hold nothing: it is
 * overwritten), so that they can be used or passed on separately (Tokio's
 * PermitIterator hands out one slot at a time).  0 <  n < src->count;
 * otherwise AX_EINVAL and nothing changes. */
AX_EXTERN int ax_mpsc_permit_split(ax_mpsc_permit_t *dst,
                                   ax_mpsc_permit_t *src, size_t n);
/* Gives every unused slot back (a closed receiver waiting for the last
 * permit is woken).  No-op when p holds none or is NULL. */
AX_EXTERN void ax_mpsc_permit_release(ax_mpsc_permit_t *p);

/* The recv future: when ready, result is 0 (a value was moved to *out),
 * AX_ECLOSED or AX_EINVAL (rx NULL, or out NULL with elem_size > 0).
 * Dropped before ready, it took nothing. */
typedef struct ax_mpsc_recv_s {
  ax_future_t base;       /* the future */
  ax_mpsc_rx_t *rx;       /* private: borrowed receiver */
  void *out;              /* private: borrowed, elem_size bytes */
  int waiting;            /* private: our waker may be registered */
  int result;             /* read-only once ready */
} ax_mpsc_recv_t;
AX_EXTERN ax_future_t *ax_mpsc_recv(ax_mpsc_recv_t *f, ax_mpsc_rx_t *rx,
                                    void *out);

/* Receives up to `limit` values at once into buf (an array of limit
 * elements: limit * elem_size bytes), oldest first (Tokio's recv_many).
 * Waits while nothing is queued; once at least one value is there it takes
 * every value queued then, up to limit, and completes.  When ready:
 *   result 0 and count >= 1 values in buf[0 .. count-1], or
 *   result AX_ECLOSED and count 0 (closed and drained: as recv), or
 *   limit 0: result 0 and count 0 at once, whatever the channel's state
 *   (as Tokio; the channel is not looked at), or
 *   AX_EINVAL (rx NULL, or buf NULL with limit > 0).
 * Dropped before ready, it took nothing. */
typedef struct ax_mpsc_recv_many_s {
  ax_future_t base;       /* the future */
  ax_mpsc_rx_t *rx;       /* private: borrowed receiver */
  void *buf;              /* private: borrowed, limit elements */
  size_t limit;           /* private: most values to take */
  int waiting;            /* private: our waker may be registered */
  int result;             /* read-only once ready */
  size_t count;           /* read-only once ready: values written to buf */
} ax_mpsc_recv_many_t;
AX_EXTERN ax_future_t *ax_mpsc_recv_many(ax_mpsc_recv_many_t *f,
                                         ax_mpsc_rx_t *rx, void *buf,
                                         size_t limit);

/* From a thread that is not a runtime thread (a plain thread, a
 * spawn_blocking job): send or receive, sleeping the thread while the
 * channel makes it wait.  Results as for the futures (AX_EINVAL for NULL
 * arguments), or AX_ENESTED when called on a runtime thread (never block
 * a worker: await instead). */
AX_EXTERN int ax_mpsc_blocking_send(ax_mpsc_tx_t *tx, const void *value);
AX_EXTERN int ax_mpsc_blocking_recv(ax_mpsc_rx_t *rx, void *out);

/* ==== oneshot: one value, once ==========================================
 * One allocation per channel (header and value slot together). */
typedef struct ax_oneshot_tx_s ax_oneshot_tx_t;
typedef struct ax_oneshot_rx_s ax_oneshot_rx_t;

/* 0, AX_EINVAL (elem_size too large to allocate, or tx or rx NULL) or
 * AX_ENOMEM.  *tx and *rx are owned by the caller. */
AX_EXTERN int ax_oneshot_new(size_t elem_size, ax_elem_drop_fn drop,
                             ax_oneshot_tx_t **tx, ax_oneshot_rx_t **rx);
/* Sends and ALWAYS consumes the sender handle: 0 (the value is the
 * receiver's) or AX_ECLOSED (the receiver is gone or closed: *value
 * untouched and still the caller's).  AX_EINVAL for tx NULL, or for value
 * NULL with elem_size > 0 (the handle is consumed all the same: the
 * receiver sees AX_ECLOSED). */
AX_EXTERN int ax_oneshot_send(ax_oneshot_tx_t *tx, const void *value);
/* Drops the sender without sending: the receiver gets AX_ECLOSED.  NULL:
 * no-op. */
AX_EXTERN void ax_oneshot_sender_drop(ax_oneshot_tx_t *tx);
/* 1 when the receiver is gone or closed.  tx: not NULL, asserted. */
AX_EXTERN int ax_oneshot_is_closed(const ax_oneshot_tx_t *tx);

/* Sender side: completes when the receiver is dropped or closed.  f and
 * tx: not NULL, asserted (the future has no result field). */
typedef struct ax_oneshot_closed_s {
  ax_future_t base;       /* the future */
  ax_oneshot_tx_t *tx;    /* private: borrowed sender */
  int registered;         /* private */
} ax_oneshot_closed_t;
AX_EXTERN ax_future_t *ax_oneshot_closed(ax_oneshot_closed_t *f,
                                         ax_oneshot_tx_t *tx);

/* Without waiting: 0 (value moved to *out), AX_EEMPTY, or AX_ECLOSED (the
 * sender went away without sending, the receiver closed the channel before
 * a value came, or the value was already received), or AX_EINVAL (rx NULL,
 * or out NULL with elem_size > 0). */
AX_EXTERN int ax_oneshot_try_recv(ax_oneshot_rx_t *rx, void *out);
/* The recv future; result 0, AX_ECLOSED or AX_EINVAL as for try_recv. */
typedef struct ax_oneshot_recv_s {
  ax_future_t base;       /* the future */
  ax_oneshot_rx_t *rx;    /* private: borrowed receiver */
  void *out;              /* private: borrowed, elem_size bytes */
  int registered;         /* private */
  int result;             /* read-only once ready */
} ax_oneshot_recv_t;
AX_EXTERN ax_future_t *ax_oneshot_recv(ax_oneshot_recv_t *f,
                                       ax_oneshot_rx_t *rx, void *out);
/* Blocking receive for non-runtime threads (see ax_mpsc_blocking_recv). */
AX_EXTERN int ax_oneshot_blocking_recv(ax_oneshot_rx_t *rx, void *out);
/* Receiver snapshots (the receiver's thread only), as Tokio's:
 *   is_terminated: 1 once a receive (recv future or try_recv) reported the
 *     final outcome -- the value, or AX_ECLOSED; nothing more will come,
 *     so do not await it again (Tokio: FusedFuture::is_terminated).
 *   is_empty: 1 when no value is waiting to be received: none sent yet,
 *     sender gone without one, closed, or already received. */
AX_EXTERN int ax_oneshot_is_terminated(const ax_oneshot_rx_t *rx);
AX_EXTERN int ax_oneshot_is_empty(const ax_oneshot_rx_t *rx);
/* Refuses a value not sent yet (the sender sees AX_ECLOSED); a value sent
 * before can still be received.  NULL: no-op. */
AX_EXTERN void ax_oneshot_close(ax_oneshot_rx_t *rx);
/* Drops the receiver (and a value it did not take).  NULL: no-op. */
AX_EXTERN void ax_oneshot_receiver_drop(ax_oneshot_rx_t *rx);

/* ==== broadcast: many producers, many consumers, all see all ===========
 * A ring of `capacity` values.  A receiver that falls more than capacity
 * values behind gets AX_ELAGGED once, with the number of values it
 * missed, and then continues from the oldest value still kept.  Each
 * receiver gets its own copy (made with `clone`, memcpy when NULL); the
 * channel's copy is dropped when every receiver has read it or when it is
 * overwritten.  Set `clone` whenever `drop` is set.
 *
 * Capacity versus Tokio: axle keeps exactly `capacity` values, where
 * Tokio's broadcast::channel(n) rounds n up to a power of two.  So the
 * lag counts differ when n is not a power of two: with capacity 3 and 5
 * values sent to a receiver that read none, Tokio (which keeps 4) reports
 * Lagged(1) and then yields values 2..5 (1-based), while axle reports
 * AX_ELAGGED with lagged == 2 and then yields the last 3.  Pass the
 * power of two yourself to get Tokio's numbers exactly. */
typedef struct ax_broadcast_tx_s ax_broadcast_tx_t;
typedef struct ax_broadcast_rx_s ax_broadcast_rx_t;
/* A weak sender handle: keeps the memory, not the channel, open. */
typedef struct ax_broadcast_weak_tx_s ax_broadcast_weak_tx_t;

/* capacity >= 1.  rx may be NULL (no first receiver).  0, AX_EINVAL (also
 * tx NULL) or AX_ENOMEM. */
AX_EXTERN int ax_broadcast_new(size_t elem_size, size_t capacity,
                               ax_elem_clone_fn clone, ax_elem_drop_fn drop,
                               ax_broadcast_tx_t **tx,
                               ax_broadcast_rx_t **rx);
/* 0 (queued for every current receiver) or AX_ECLOSED (no receiver:
 * *value untouched, still the caller's); AX_EINVAL for tx NULL or value
 * NULL with elem_size > 0.  sender_clone and receiver_count: tx not NULL,
 * asserted; the _drop functions: NULL is a no-op. */
AX_EXTERN int ax_broadcast_send(ax_broadcast_tx_t *tx, const void *value);
AX_EXTERN ax_broadcast_tx_t *ax_broadcast_sender_clone(ax_broadcast_tx_t *tx);
AX_EXTERN void ax_broadcast_sender_drop(ax_broadcast_tx_t *tx);
/* A new receiver that sees values sent from now on.  0, AX_ENOMEM or
 * AX_EINVAL (a NULL argument). */
AX_EXTERN int ax_broadcast_subscribe(ax_broadcast_tx_t *tx,
                                     ax_broadcast_rx_t **rx);
/* Same, from a receiver (Tokio's resubscribe). */
AX_EXTERN int ax_broadcast_resubscribe(ax_broadcast_rx_t *rx,
                                       ax_broadcast_rx_t **out);
AX_EXTERN void ax_broadcast_receiver_drop(ax_broadcast_rx_t *rx);
/* Number of receivers now. */
AX_EXTERN size_t ax_broadcast_receiver_count(ax_broadcast_tx_t *tx);
/* 0 (*out holds the receiver's copy), AX_EEMPTY, AX_ELAGGED (*lagged, if
 * not NULL, gets the number of values missed; nothing is copied), or
 * AX_ECLOSED (every sender gone and everything read); AX_EINVAL for rx
 * NULL, or out NULL with elem_size > 0. */
AX_EXTERN int ax_broadcast_try_recv(ax_broadcast_rx_t *rx, void *out,
                                    uint64_t *lagged);
typedef struct ax_broadcast_recv_s {
  ax_future_t base;       /* the future */
  ax__waiter_t w;         /* private */
  ax_broadcast_rx_t *rx;  /* private: borrowed receiver */
  void *out;              /* private: borrowed, elem_size bytes */
  int result;             /* read-only once ready: as try_recv (AX_EINVAL
                             included), never AX_EEMPTY */
  uint64_t lagged;        /* read-only: values missed when AX_ELAGGED */
} ax_broadcast_recv_t;
AX_EXTERN ax_future_t *ax_broadcast_recv(ax_broadcast_recv_t *f,
                                         ax_broadcast_rx_t *rx, void *out);

/* Lengths, as Tokio's (snapshots):
 *   len (Sender::len): values still queued for the slowest receiver --
 *     sent, not yet read by every receiver alive when it was sent, and
 *     not yet overwritten; at most capacity.  is_empty: len == 0.
 *   receiver_len (Receiver::len): values sent that this receiver has not
 *     received yet, the ones it already lost to lag included (so it may
 *     exceed capacity).  receiver_is_empty: receiver_len == 0. */
AX_EXTERN size_t ax_broadcast_len(ax_broadcast_tx_t *tx);
AX_EXTERN int ax_broadcast_is_empty(ax_broadcast_tx_t *tx);
AX_EXTERN uint64_t ax_broadcast_receiver_len(ax_broadcast_rx_t *rx);
AX_EXTERN int ax_broadcast_receiver_is_empty(ax_broadcast_rx_t *rx);

/* Weak senders (Tokio's WeakSender), as for mpsc: a weak handle does not
 * keep the channel open (receivers get AX_ECLOSED once every strong
 * sender is gone); upgrade returns a new sender handle, or NULL once every
 * strong sender is gone (final) or when w is NULL; weak_drop ignores
 * NULL.  The counts are snapshots. */
AX_EXTERN ax_broadcast_weak_tx_t *ax_broadcast_sender_downgrade(
    ax_broadcast_tx_t *tx);
AX_EXTERN ax_broadcast_tx_t *ax_broadcast_weak_upgrade(
    ax_broadcast_weak_tx_t *w);
AX_EXTERN ax_broadcast_weak_tx_t *ax_broadcast_weak_clone(
    ax_broadcast_weak_tx_t *w);
AX_EXTERN void ax_broadcast_weak_drop(ax_broadcast_weak_tx_t *w);
AX_EXTERN size_t ax_broadcast_sender_strong_count(ax_broadcast_tx_t *tx);
AX_EXTERN size_t ax_broadcast_sender_weak_count(ax_broadcast_tx_t *tx);
/* The same counts seen from a weak handle and from a receiver (Tokio's
 * WeakSender::strong_count / weak_count, Receiver::sender_strong_count /
 * sender_weak_count).  The handle: not NULL, asserted. */
AX_EXTERN size_t ax_broadcast_weak_strong_count(ax_broadcast_weak_tx_t *w);
AX_EXTERN size_t ax_broadcast_weak_weak_count(ax_broadcast_weak_tx_t *w);
AX_EXTERN size_t ax_broadcast_receiver_sender_strong_count(
    ax_broadcast_rx_t *rx);
AX_EXTERN size_t ax_broadcast_receiver_sender_weak_count(
    ax_broadcast_rx_t *rx);

/* Sender side: completes when no receiver is left (Tokio's
 * Sender::closed), at once if there is none now (or if tx is NULL).  A
 * later subscribe does not undo a completed one.  Dropping it while it
 * waits leaves nothing behind. */
typedef struct ax_broadcast_closed_s {
  ax_future_t base;       /* the future */
  ax__waiter_t w;         /* private */
  ax_broadcast_tx_t *tx;  /* private: borrowed sender */
} ax_broadcast_closed_t;
AX_EXTERN ax_future_t *ax_broadcast_closed(ax_broadcast_closed_t *f,
                                           ax_broadcast_tx_t *tx);

/* ==== watch: the latest value ===========================================
 * Receivers see the current value and can wait for a newer one; values in
 * between may be skipped.  A receiver created later starts with the
 * current value marked seen. */
typedef struct ax_watch_tx_s ax_watch_tx_t;
typedef struct ax_watch_rx_s ax_watch_rx_t;

/* *initial is moved in (the channel owns it).  0, AX_ENOMEM, AX_EINVAL
 * (tx or rx NULL, initial NULL with elem_size > 0, elem_size too large)
 * or a libuv error from creating the lock. */
AX_EXTERN int ax_watch_new(size_t elem_size, const void *initial,
                           ax_elem_clone_fn clone, ax_elem_drop_fn drop,
                           ax_watch_tx_t **tx, ax_watch_rx_t **rx);
/* Replaces the value and wakes every changed() waiter: 0, or AX_ECLOSED
 * when no receiver is left (*value untouched, still the caller's), or
 * AX_EINVAL (tx NULL, or value NULL with elem_size > 0). */
AX_EXTERN int ax_watch_send(ax_watch_tx_t *tx, const void *value);
/* Replaces the value even without receivers.  The previous value is moved
 * to *old, or dropped when old is NULL.  tx and value: not NULL (value:
 * when elem_size > 0), asserted; so is tx for sender_clone and
 * receiver_count. */
AX_EXTERN void ax_watch_send_replace(ax_watch_tx_t *tx, const void *value,
                                     void *old);
AX_EXTERN ax_watch_tx_t *ax_watch_sender_clone(ax_watch_tx_t *tx);
/* The last sender's drop wakes the receivers: changed() says AX_ECLOSED.
 * NULL: no-op (also for ax_watch_receiver_drop). */
AX_EXTERN void ax_watch_sender_drop(ax_watch_tx_t *tx);
/* Number of receivers now. */
AX_EXTERN size_t ax_watch_receiver_count(ax_watch_tx_t *tx);
/* New receivers (current value marked seen).  0, AX_ENOMEM or AX_EINVAL
 * (a NULL argument). */
AX_EXTERN int ax_watch_subscribe(ax_watch_tx_t *tx, ax_watch_rx_t **rx);
AX_EXTERN int ax_watch_receiver_clone(ax_watch_rx_t *rx, ax_watch_rx_t **out);
AX_EXTERN void ax_watch_receiver_drop(ax_watch_rx_t *rx);
/* Copies the current value to *out (with clone).  _and_update also marks
 * it seen.  rx and out (when elem_size > 0): not NULL, asserted. */
AX_EXTERN void ax_watch_borrow(ax_watch_rx_t *rx, void *out);
AX_EXTERN void ax_watch_borrow_and_update(ax_watch_rx_t *rx, void *out);
/* In-place access under a read lock (senders wait meanwhile): returns the
 * current value; call ax_watch_borrow_unlock soon, and never hold it
 * across an await.  lock: rx not NULL, asserted; unlock: NULL is a no-op. */
AX_EXTERN const void *ax_watch_borrow_lock(ax_watch_rx_t *rx);
AX_EXTERN void ax_watch_borrow_unlock(ax_watch_rx_t *rx);
/* Whether a value not seen yet is there: returns 0 and sets *changed to 1
 * (unseen value) or 0; or returns AX_ECLOSED (*changed = 0) once every
 * sender is gone -- even when an unseen value is there, as Tokio's
 * has_changed does (its Err(RecvError) wins over the change; the value
 * can still be read with ax_watch_borrow, or awaited: changed() reports
 * it before it reports AX_ECLOSED).  AX_EINVAL if rx or changed is NULL. */
AX_EXTERN int ax_watch_has_changed(ax_watch_rx_t *rx, int *changed);
/* Marks the current value unseen (changed() completes at once, has_changed
 * says 1) or seen (as if borrowed with _and_update).  Wakes nobody: it
 * only concerns rx.  rx: not NULL, asserted. */
AX_EXTERN void ax_watch_mark_changed(ax_watch_rx_t *rx);
AX_EXTERN void ax_watch_mark_unchanged(ax_watch_rx_t *rx);
/* Completes when a value not seen yet is there (and marks it seen):
 * result 0, or AX_ECLOSED when every sender is gone, or AX_EINVAL (rx
 * NULL: ready at the first poll). */
typedef struct ax_watch_changed_s {
  ax_future_t base;       /* the future */
  ax__waiter_t w;         /* private */
  ax_watch_rx_t *rx;      /* private: borrowed receiver */
  int result;             /* read-only once ready */
} ax_watch_changed_t;
AX_EXTERN ax_future_t *ax_watch_changed(ax_watch_changed_t *f,
                                        ax_watch_rx_t *rx);

/* Modifies the value in place (Tokio's send_modify / send_if_modified):
 * modify(value, arg) runs under the write lock (receivers' borrows wait;
 * keep it short, never await or call this channel inside it), then every
 * changed() waiter is woken.  Works without receivers too.
 *   send_modify: always counts as a change.  0, or AX_EINVAL (tx or
 *     modify NULL).
 *   send_if_modified: a change (version bump and wake-up) only if modify
 *     returns nonzero.  Returns 1 (changed, receivers notified), 0 (left
 *     as it was: nobody is woken, nothing is marked unseen) or AX_EINVAL. */
typedef int (*ax_watch_modify_fn)(void *value, void *arg);
AX_EXTERN int ax_watch_send_modify(ax_watch_tx_t *tx,
                                   void (*modify)(void *value, void *arg),
                                   void *arg);
AX_EXTERN int ax_watch_send_if_modified(ax_watch_tx_t *tx,
                                        ax_watch_modify_fn modify, void *arg);

/* Completes once pred(value, arg) holds for the current value (Tokio's
 * wait_for).  The current value is checked first, seen or not; then each
 * new value as it comes.  Every value checked is marked seen.  pred runs
 * under the read lock (quick, no await, no call into this channel).  When
 * ready: result 0 (a copy of the matching value, made with `clone`, is in
 * *out unless out is NULL) or AX_ECLOSED (every sender gone and the last
 * value did not match), or AX_EINVAL (rx or pred NULL).  Dropping it
 * before ready is cancellation: nothing is lost (values it checked stay
 * marked seen, as in Tokio). */
typedef int (*ax_watch_pred_fn)(const void *value, void *arg);
typedef struct ax_watch_wait_for_s {
  ax_future_t base;       /* the future */
  ax_watch_changed_t ch;  /* private: waits for the next value */
  ax_watch_rx_t *rx;      /* private: borrowed receiver */
  ax_watch_pred_fn pred;  /* private */
  void *arg;              /* private: pred's argument */
  void *out;              /* private: borrowed, elem_size bytes, or NULL */
  int phase;              /* private */
  int result;             /* read-only once ready */
} ax_watch_wait_for_t;
AX_EXTERN ax_future_t *ax_watch_wait_for(ax_watch_wait_for_t *f,
                                         ax_watch_rx_t *rx,
                                         ax_watch_pred_fn pred, void *arg,
                                         void *out);

/* Sender side: completes when no receiver is left (Tokio's
 * Sender::closed), at once if there is none now (or if tx is NULL).  A
 * later subscribe does not undo a completed one.  Dropping it while it
 * waits leaves nothing behind. */
typedef struct ax_watch_closed_s {
  ax_future_t base;       /* the future */
  ax__waiter_t w;         /* private */
  ax_watch_tx_t *tx;      /* private: borrowed sender */
} ax_watch_closed_t;
AX_EXTERN ax_future_t *ax_watch_closed(ax_watch_closed_t *f,
                                       ax_watch_tx_t *tx);
/* 1 when no receiver is left (a snapshot). */
AX_EXTERN int ax_watch_is_closed(ax_watch_tx_t *tx);

#ifdef __cplusplus
}
#endif
#endif /* AXLE_CHANNEL_H */
