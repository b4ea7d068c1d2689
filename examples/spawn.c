/* Spawning a task and awaiting its JoinHandle.
 *
 *   let handle = tokio::spawn(async {
 *       sleep(Duration::from_millis(100)).await;
 *       println!("Task completed");
 *       42_u32
 *   });
 *   println!("Doing other things");
 *   let result = handle.await.expect("task panicked");
 *   println!("Task returned: {result}");
 */
#include <axle.h>
#include <stdio.h>

typedef struct {               /* the spawned async block */
  ax_async_t co;
  ax_sleep_t delay;            /* a child future lives inside its parent */
  uint32_t out;                /* the task's output */
} work_t;

AX_ASYNC(work, work_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->delay, 100));
  puts("Task completed");
  self->out = 42;
  AX_END();
}

typedef struct {               /* async fn main() */
  ax_async_t co;
  ax_join_t handle;            /* JoinHandle<u32> */
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  {
    work_t job = AX_ZERO(work_t);  /* copied into the task by AX_SPAWN */
    AX_SPAWN(work, &job, &self->handle);
  }

  /* Do other work here while the task runs... */
  puts("Doing other things");

  AX_AWAIT(ax_join_wait(&self->handle));
  if (self->handle.result != 0)        /* .expect("task panicked") */
    ax_panic("task failed: %s", ax_strerror(self->handle.result));
  printf("Task returned: %u\n",
         (unsigned)AX_JOIN_OUTPUT(&self->handle, work_t)->out);
  ax_join_drop(&self->handle);                   /* releases the task */
  AX_END();
}

AX_MAIN(app, app_t)
