/* Panics in spawned tasks are captured in the JoinHandle.
 *
 *   let handle = tokio::spawn(async { panic!("something went wrong") });
 *   match handle.await {
 *       Ok(v) => ...,
 *       Err(e) if e.is_panic() => println!("task panicked: {e}"),
 *       Err(_) => println!("task was cancelled"),
 *   }
 *
 * ax_panic() unwinds the task to its poll boundary: the task's future is
 * dropped (its drop handler runs), the message goes to the join handle, and
 * the runtime keeps going.
 */
#include <axle.h>
#include <stdio.h>

typedef struct {
  ax_async_t co;
  ax_sleep_t nap;
  int id;
} faulty_t;

AX_ASYNC(faulty, faulty_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_sleep(&self->nap, 10));
  ax_panic("something went wrong in task %d", self->id);
  AX_END();
}

/* Release resources here, not after ax_panic: the drop handler runs. */
AX_ASYNC_DROP(faulty_drop, faulty_t, self) {
  printf("task %d: drop handler ran\n", self->id);
}

typedef struct {
  ax_async_t co;
  ax_join_t handle;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  {
    faulty_t job = AX_ZERO(faulty_t);
    job.id = 7;
    ax_spawn(AX_FUTURE_DROP(faulty, faulty_drop, &job), sizeof job, &self->handle);
  }

  AX_AWAIT(ax_join_wait(&self->handle));
  switch (self->handle.result) {
  case 0:
    puts("task finished");
    break;
  case AX_EPANIC:
    printf("task panicked: %s\n", ax_join_panic_message(&self->handle));
    break;
  default:                                   /* AX_ECANCELED: aborted */
    printf("task failed: %s\n", ax_strerror(self->handle.result));
    break;
  }
  ax_join_drop(&self->handle);
  puts("the runtime is still running");
  AX_END();
}

AX_MAIN(app, app_t)
