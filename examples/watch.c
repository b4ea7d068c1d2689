/* watch: broadcasting the latest value, here a shutdown signal.
 *
 *   let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
 *   tokio::spawn(async move {
 *       tokio::time::sleep(Duration::from_secs(1)).await;
 *       shutdown_tx.send(true).unwrap();
 *   });
 *   loop {
 *       tokio::select! {
 *           _ = shutdown_rx.changed() => {
 *               if *shutdown_rx.borrow() {
 *                   println!("Shutting down");
 *                   break;
 *               }
 *           }
 *       }
 *   }
 *
 * The loop also races a 100 ms "unit of work" against the signal, which is
 * what such a select! usually looks like in a real server.
 */
#include <axle.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct {               /* async move { ... }: owns the sender */
  ax_async_t co;
  ax_watch_tx_t *tx;
  ax_sleep_t delay;
} signal_t;

AX_ASYNC(signal_after_1s, signal_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->delay, 1000));
  {
    bool yes = true;
    ax_assert(ax_watch_send(self->tx, &yes) == 0);   /* shutdown_tx.send(true).unwrap() */
  }
  AX_END();
}

AX_ASYNC_DROP(signal_drop, signal_t, self) {
  ax_watch_sender_drop(self->tx);
}

typedef struct {
  ax_async_t co;
  ax_watch_rx_t *rx;
  ax_watch_changed_t changed;
  ax_sleep_t work;
  ax_select_t race;
  int rounds;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  {
    bool no = false;
    signal_t sig = AX_ZERO(signal_t);
    if (ax_watch_new(sizeof(bool), &no, NULL, NULL, &sig.tx, &self->rx) != 0)
      ax_panic("out of memory");
    ax_spawn(AX_FUTURE_DROP(signal_after_1s, signal_drop, &sig), sizeof sig, NULL);
  }

  for (;;) {
    AX_AWAIT(ax_select(&self->race,
                       ax_watch_changed(&self->changed, self->rx),
                       ax_sleep(&self->work, 100)));
    if (self->race.winner == 1) {    /* a round of work is done */
      self->rounds++;
      continue;                                  /* changed() was dropped: */
    }                                            /* it loses nothing */
    if (self->changed.result != 0) break;        /* every sender gone */
    {
      bool stop;
      ax_watch_borrow(self->rx, &stop);          /* *shutdown_rx.borrow() */
      if (stop) {
        puts("Shutting down");
        break;
      }
    }
  }
  printf("did %d rounds of work before that\n", self->rounds);
  ax_watch_receiver_drop(self->rx);
  AX_END();
}

AX_MAIN(app, app_t)
