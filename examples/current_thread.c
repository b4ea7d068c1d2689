/* The current-thread runtime: everything on the thread that calls
 * block_on, in a deterministic order (good for tests and small tools).
 *
 *   tokio::runtime::Builder::new_current_thread()
 *       .enable_all()
 *       .build()
 *       .unwrap()
 *       .block_on(run());
 *
 * Three tasks take turns: each prints a step and yields.  On this runtime
 * the interleaving is the same on every run.
 */
#include <axle.h>
#include <stdio.h>

typedef struct {
  ax_async_t co;
  const char *name;
  int step;                    /* a loop counter that lives across awaits */
} worker_t;

AX_ASYNC(worker, worker_t, self) {
  AX_BEGIN(self);
  for (self->step = 1; self->step <= 3; self->step++) {
    printf("%s: step %d\n", self->name, self->step);
    AX_YIELD();                /* tokio::task::yield_now().await */
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  ax_join_t handles[3];
  int i;
} run_t;

static const char *const names[] = {"A", "B", "C"};

AX_ASYNC(run, run_t, self) {
  AX_BEGIN(self);
  for (int i = 0; i < 3; i++) {
    worker_t w = AX_ZERO(worker_t);
    w.name = names[i];
    AX_SPAWN(worker, &w, &self->handles[i]);
  }
  for (self->i = 0; self->i < 3; self->i++) {
    AX_AWAIT(ax_join_wait(&self->handles[self->i]));
    ax_join_drop(&self->handles[self->i]);
  }
  puts("all tasks done");
  AX_END();
}

int main(void) {
  ax_builder_t b;
  ax_runtime_t *rt;
  run_t state = AX_ZERO(run_t);
  int rc;

  ax_builder_init(&b, AX_CURRENT_THREAD);   /* Builder::new_current_thread() */
  if ((rc = ax_runtime_new(&b, &rt)) != 0) {
    fprintf(stderr, "cannot build the runtime: %s\n", ax_strerror(rc));
    return 1;
  }
  rc = ax_block_on(rt, AX_FUTURE(run, &state));
  ax_drop(AX_FUTURE_OF(&state));
  ax_runtime_free(rt);
  return rc == 0 ? 0 : 1;
}
