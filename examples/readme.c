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
  {                                          /* locals: in a block with no await */
    answer_t a = AX_ZERO(answer_t);
    AX_SPAWN(answer, &a, &self->handle);     /* let handle = tokio::spawn(answer()); */
  }
  AX_AWAIT(ax_join_wait(&self->handle));     /* handle.await */
  printf("the task returned %d\n", AX_JOIN_OUTPUT(&self->handle, answer_t)->out);
  ax_join_drop(&self->handle);
  AX_END();
}

AX_MAIN(app, app_t)                          /* #[tokio::main] */
