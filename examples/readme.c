#include <axle.h>
#include <stdio.h>

typedef struct {                             /* async fn answer() -> int */
  ax_async_t co;
  ax_sleep_t nap;
  int out;
} answer_t;

AX_ASYNC(answer, answer_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->nap, 10));        /* sleep(10 ms).await */
  self->out = 42;
  AX_END();
}

typedef struct { ax_async_t co; ax_join_t handle; } app_t;   /* async fn main() */

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  puts("hello from axle");
  answer_t a = {0};
  AX_SPAWN(answer, &a, &self->handle);       /* let handle = tokio::spawn(answer()); */
  AX_AWAIT(ax_join_wait(&self->handle));     /* handle.await */
  printf("the task returned %d\n", ((answer_t *)ax_join_output(&self->handle))->out);
  ax_join_drop(&self->handle);
  AX_END();
}

AX_MAIN(app, app_t)                          /* #[tokio::main] */
