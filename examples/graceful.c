/* Graceful shutdown on ctrl-c: workers run until ctrl-c, then a watch
 * channel tells them to stop, and main waits for every one of them.
 *
 *   let (stop_tx, stop_rx) = watch::channel(false);
 *   for i in 1..=3 {
 *       let mut stop = stop_rx.clone();
 *       handles.push(tokio::spawn(async move {
 *           let mut tick = interval(Duration::from_millis(50));
 *           loop {
 *               tokio::select! {
 *                   _ = stop.changed() => break,
 *                   _ = tick.tick() => { work() }
 *               }
 *           }
 *       }));
 *   }
 *   signal::ctrl_c().await?;
 *   stop_tx.send(true)?;
 *   for h in handles { h.await?; }
 *
 * usage: graceful [--self-test]
 * With --self-test the program presses ctrl-c itself after 200 ms (it
 * sends itself SIGINT; Windows cannot, so there a timer stands in for the
 * key), which is how its test runs it.  A second ctrl-c while the workers
 * finish ends the process at once: the listener is gone by then.
 */
#include <axle.h>
#include <stdio.h>
#include <string.h>

#define WORKERS 3

typedef struct {               /* one worker */
  ax_async_t co;
  int id;
  ax_watch_rx_t *stop;         /* its own receiver: dropped by the drop */
  ax_watch_changed_t changed;
  ax_interval_t tick;
  ax_select_t race;
  int ticks;                   /* output: units of work done */
} worker_t;

AX_ASYNC(worker, worker_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_select(&self->race, ax_watch_changed(&self->changed, self->stop),
                       ax_interval_tick(&self->tick)));
    if (self->race.winner == 0) break;   /* told to stop (or main is gone) */
    self->ticks++;                       /* a unit of work */
  }
  AX_END();
}

AX_ASYNC_DROP(worker_drop, worker_t, self) {
  ax_drop(&self->tick.base);
  ax_watch_receiver_drop(self->stop);
}

typedef struct {               /* --self-test: "presses" ctrl-c */
  ax_async_t co;
  ax_sleep_t delay, forever;
} press_t;

AX_ASYNC(press, press_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->delay, 200));
#ifndef _WIN32
  uv_kill(uv_os_getpid(), SIGINT);       /* ctrl_c's listener catches it */
  AX_AWAIT(ax_sleep(&self->forever, 60 * 1000));
#endif
  AX_END();                              /* Windows: the timer is the key */
}

typedef struct {
  ax_async_t co;
  int self_test;
  ax_watch_tx_t *stop_tx;
  ax_watch_rx_t *stop_rx;
  ax_join_t handles[WORKERS];
  int spawned;
  ax_ctrl_c_t ctrl_c;
  press_t press;
  ax_select_t race;
  int i;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  {
    int no = 0;
    if (ax_watch_new(sizeof(int), &no, NULL, NULL, &self->stop_tx,
                     &self->stop_rx) != 0)
      ax_panic("out of memory");
  }
  for (self->i = 0; self->i < WORKERS; self->i++) {
    worker_t w;
    memset(&w, 0, sizeof w);
    w.id = self->i + 1;
    ax_interval_init(&w.tick, 50);   /* unpolled: copied with the task */
    if (ax_watch_receiver_clone(self->stop_rx, &w.stop) != 0)
      ax_panic("out of memory");
    if (ax_spawn(AX_FUTURE_DROP(worker, worker_drop, &w), sizeof w,
                 &self->handles[self->i]) != 0)
      ax_panic("spawn failed");
    self->spawned++;
  }
  printf("graceful: %d workers running; press ctrl-c to stop\n", WORKERS);
  fflush(stdout);

  if (self->self_test) {
    /* Biased: ctrl_c is polled first, so its listener is in place before
     * the presser's timer starts. */
    AX_AWAIT(ax_select_biased(&self->race, ax_ctrl_c(&self->ctrl_c),
                              AX_FUTURE(press, &self->press)));
  } else {
    AX_AWAIT(ax_ctrl_c(&self->ctrl_c));
  }
  if (self->ctrl_c.result != 0)
    printf("cannot listen for ctrl-c: %s\n", ax_strerror(self->ctrl_c.result));
  puts("ctrl-c: telling the workers to stop");
  {
    int yes = 1;
    ax_watch_send(self->stop_tx, &yes);
  }
  for (self->i = 0; self->i < WORKERS; self->i++) {
    AX_AWAIT(ax_join_wait(&self->handles[self->i]));
    {
      worker_t *w = ax_join_output(&self->handles[self->i]);
      printf("worker %d stopped after %d ticks\n", w->id, w->ticks);
    }
  }
  puts("all workers stopped: bye");
  AX_END();
}

AX_ASYNC_DROP(app_drop, app_t, self) {
  int i;
  for (i = 0; i < self->spawned; i++) ax_join_drop(&self->handles[i]);
  ax_watch_sender_drop(self->stop_tx);
  ax_watch_receiver_drop(self->stop_rx);
}

int main(int argc, char **argv) {
  static app_t st;
  st.self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
  return ax_main(AX_FUTURE_DROP(app, app_drop, &st)) == 0 ? 0 : 1;
}
