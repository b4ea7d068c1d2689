/* mpsc: many producers, one consumer.
 *
 *   let (tx, mut rx) = mpsc::channel::<String>(32);
 *   let tx_clone = tx.clone();
 *   tokio::spawn(async move {
 *       for i in 0..5 {
 *           tx_clone.send(format!("message {i}")).await.unwrap();
 *       }
 *   });
 *   drop(tx);
 *   while let Some(msg) = rx.recv().await {
 *       println!("Got: {msg}");
 *   }
 *   println!("Channel closed");
 *
 * Values are copied in and out by size: a message here is a fixed-size
 * struct.  (For heap strings, send the pointer and give the channel a drop
 * function that frees whatever is still queued when it dies.)
 */
#include <axle.h>
#include <stdio.h>

typedef struct {
  char text[32];
} message_t;

typedef struct {               /* async move { ... }: owns its sender */
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_send_t send;
  message_t msg;               /* must stay put until the send is done */
  int i;
} producer_t;

AX_ASYNC(producer, producer_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < 5; self->i++) {
    snprintf(self->msg.text, sizeof self->msg.text, "message %d", self->i);
    AX_AWAIT(ax_mpsc_send(&self->send, self->tx, &self->msg));
    ax_assert(self->send.result == 0);           /* .unwrap() */
  }
  AX_END();
}

/* Runs when the task is done (or cancelled): dropping the captured sender
 * is what lets the receiver see the end of the channel. */
AX_ASYNC_DROP(producer_drop, producer_t, self) {
  ax_mpsc_sender_drop(self->tx);
}

typedef struct {
  ax_async_t co;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_t recv;
  message_t msg;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  {                                              /* tx does not cross an await */
    ax_mpsc_tx_t *tx;
    producer_t p = AX_ZERO(producer_t);
    if (ax_mpsc_new(sizeof(message_t), 32, NULL, &tx, &self->rx) != 0)
      ax_panic("out of memory");
    p.tx = ax_mpsc_sender_clone(tx);             /* let tx_clone = tx.clone(); */
    ax_spawn(AX_FUTURE_DROP(producer, producer_drop, &p), sizeof p, NULL);
    ax_mpsc_sender_drop(tx);                     /* drop(tx) */
  }
  for (;;) {                                     /* while let Some(msg) = ... */
    AX_AWAIT(ax_mpsc_recv(&self->recv, self->rx, &self->msg));
    if (self->recv.result != 0) break;           /* AX_ECLOSED: None */
    printf("Got: %s\n", self->msg.text);
  }
  puts("Channel closed");
  ax_mpsc_receiver_drop(self->rx);
  AX_END();
}

AX_MAIN(app, app_t)
