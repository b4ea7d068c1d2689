/* The big rule: don't block the async runtime.
 *
 *   // DON'T DO THIS
 *   async fn bad_handler() {
 *       std::thread::sleep(std::time::Duration::from_secs(5)); // BLOCKS
 *   }
 *
 * A heartbeat task ticks every 10 ms.  bad_handler blocks the thread for
 * 200 ms with a synchronous sleep: on this one-thread runtime nothing else
 * runs meanwhile, so the heartbeat stops (on a multi-thread runtime the same
 * happens to every task queued on that worker).  good_handler hands the
 * same blocking call to libuv's threadpool with ax_spawn_blocking and
 * awaits it: the heartbeat keeps ticking.
 */
#include <axle.h>
#include <stdio.h>

static int ticks;              /* one thread: no atomics needed */

typedef struct {
  ax_async_t co;
  ax_sleep_t nap;
} heartbeat_t;

AX_ASYNC(heartbeat, heartbeat_t, self) {
  AX_BEGIN(self);
  for (;;) {
    AX_AWAIT(ax_sleep(&self->nap, 10));
    ticks++;
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t job;
} handler_t;

/* DON'T DO THIS: a synchronous sleep (or read(), or a long computation)
 * inside an async function blocks the worker thread. */
AX_ASYNC(bad_handler, handler_t, self) {
  AX_BEGIN(self);
  uv_sleep(200);                                   /* <- BLOCKS */
  AX_END();
}

/* The fix: the blocking call runs on libuv's threadpool. */
static void *slow_call(void *arg) {
  (void)arg;
  uv_sleep(200);                                   /* blocking is fine here */
  return NULL;
}

AX_ASYNC(good_handler, handler_t, self) {
  AX_BEGIN(self);
  ax_spawn_blocking(slow_call, NULL, &self->job);
  AX_AWAIT(ax_join_wait(&self->job));              /* the worker is free */
  ax_join_drop(&self->job);
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t beat;
  ax_sleep_t warmup;
  handler_t handler;
  int before;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  {
    heartbeat_t hb = AX_ZERO(heartbeat_t);
    AX_SPAWN(heartbeat, &hb, &self->beat);
  }
  AX_AWAIT(ax_sleep(&self->warmup, 50));

  self->before = ticks;
  AX_AWAIT(AX_FUTURE(bad_handler, &self->handler));
  printf("bad_handler: %d heartbeats in 200 ms\n", ticks - self->before);

  self->before = ticks;
  AX_AWAIT(AX_FUTURE(good_handler, &self->handler));
  printf("good_handler: %d heartbeats in 200 ms\n", ticks - self->before);

  ax_abort(&self->beat);                            /* stop the heartbeat */
  AX_AWAIT(ax_join_wait(&self->beat));
  ax_join_drop(&self->beat);
  AX_END();
}

int main(void) {
  ax_builder_t b;
  ax_runtime_t *rt;
  app_t state = AX_ZERO(app_t);
  int rc;

  ax_builder_init(&b, AX_CURRENT_THREAD);
  if ((rc = ax_runtime_new(&b, &rt)) != 0) {
    fprintf(stderr, "cannot build the runtime: %s\n", ax_strerror(rc));
    return 1;
  }
  rc = ax_block_on(rt, AX_FUTURE(app, &state));
  ax_drop(AX_FUTURE_OF(&state));
  ax_runtime_free(rt);
  return rc == 0 ? 0 : 1;
}
