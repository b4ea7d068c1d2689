/* select!: racing two futures, the loser is cancelled.
 *
 *   async fn fetch_data() -> String {
 *       sleep(Duration::from_millis(200)).await;
 *       "data".to_string()
 *   }
 *
 *   async fn fetch_with_timeout() -> Option<String> {
 *       tokio::select! {
 *           data = fetch_data() => Some(data),
 *           _ = sleep(Duration::from_millis(100)) => {
 *               println!("Timed out waiting for data");
 *               None
 *           }
 *       }
 *   }
 */
#include <axle.h>
#include <stdio.h>

typedef struct {               /* async fn fetch_data() -> String */
  ax_async_t co;
  ax_sleep_t delay;
  const char *out;             /* NULL until it finished */
} fetch_data_t;

AX_ASYNC(fetch_data, fetch_data_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->delay, 200));
  self->out = "data";
  AX_END();
}

/* Runs when the future is dropped, in any state: here it shows that the
 * losing branch was cancelled at its await (its sleep was dropped first). */
AX_ASYNC_DROP(fetch_data_drop, fetch_data_t, self) {
  if (self->out == NULL) puts("fetch_data was cancelled at its await");
}

typedef struct {               /* async fn fetch_with_timeout() -> Option<String> */
  ax_async_t co;
  fetch_data_t fetch;          /* both branches live inside the parent */
  ax_sleep_t timer;
  ax_select_t race;
  const char *out;             /* Some(data) or NULL for None */
} fetch_with_timeout_t;

AX_ASYNC(fetch_with_timeout, fetch_with_timeout_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_select(&self->race,
                     AX_FUTURE_DROP(fetch_data, fetch_data_drop, &self->fetch),
                     ax_sleep(&self->timer, 100)));
  if (self->race.winner == 0) {
    self->out = self->fetch.out;                /* data => Some(data) */
    ax_drop(AX_FUTURE_OF(&self->fetch));       /* the winner is ours to drop */
  } else {
    puts("Timed out waiting for data");         /* fetch was dropped already */
    self->out = NULL;
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  fetch_with_timeout_t call;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(AX_FUTURE(fetch_with_timeout, &self->call));
  printf("fetch_with_timeout() = %s\n", self->call.out ? self->call.out : "None");
  AX_END();
}

AX_MAIN(app, app_t)
