/* Configuring the runtime explicitly.
 *
 *   fn main() {
 *       tokio::runtime::Builder::new_multi_thread()
 *           .worker_threads(4)          // Fix the thread count
 *           .max_blocking_threads(64)   // Limit blocking thread pool
 *           .thread_name("my-runtime")  // Useful for profiling
 *           .enable_all()
 *           .build()
 *           .expect("Failed to build runtime")
 *           .block_on(run());
 *   }
 *
 * max_blocking_threads sets libuv's UV_THREADPOOL_SIZE, which libuv reads
 * once per process: the pool is shared with file-system requests and DNS
 * lookups.  Worker threads are named my-runtime-0 .. my-runtime-3.
 */
#include <axle.h>
#include <stdio.h>
#if defined(__linux__)
#  include <sys/prctl.h>
#endif

typedef struct {               /* a task that reports where it runs */
  ax_async_t co;
  char thread[16];
} where_t;

AX_ASYNC(where, where_t, self) {
  AX_BEGIN(self);
#if defined(__linux__)
  prctl(PR_GET_NAME, self->thread);              /* the name top -H shows */
#else
  snprintf(self->thread, sizeof self->thread, "a worker thread");
#endif
  AX_END();
}

typedef struct {               /* async fn run(): your application here */
  ax_async_t co;
  ax_join_t handle;
} run_t;

AX_ASYNC(run, run_t, self) {
  AX_BEGIN(self);
  printf("worker threads: %u\n", ax_runtime_workers(ax_runtime_current()));
  {
    char size[16];
    size_t len = sizeof size;
    where_t w = AX_ZERO(where_t);
    if (uv_os_getenv("UV_THREADPOOL_SIZE", size, &len) == 0)
      printf("blocking pool: UV_THREADPOOL_SIZE=%s\n", size);
    AX_SPAWN(where, &w, &self->handle);
  }
  AX_AWAIT(ax_join_wait(&self->handle));
  if (self->handle.result == 0)
    printf("task ran on %s\n", AX_JOIN_OUTPUT(&self->handle, where_t)->thread);
  ax_join_drop(&self->handle);
  AX_END();
}

int main(void) {
  ax_builder_t b;
  ax_runtime_t *rt;
  run_t state = AX_ZERO(run_t);
  int rc;

  ax_builder_init(&b, AX_MULTI_THREAD);     /* Builder::new_multi_thread() */
  b.worker_threads = 4;                     /* .worker_threads(4) */
  b.max_blocking_threads = 64;              /* .max_blocking_threads(64) */
  b.thread_name = "my-runtime";             /* .thread_name("my-runtime") */
  rc = ax_runtime_new(&b, &rt);             /* .enable_all().build() */
  if (rc != 0) {                            /* .expect("Failed to build runtime") */
    fprintf(stderr, "Failed to build runtime: %s\n", ax_strerror(rc));
    return 1;
  }
  rc = ax_block_on(rt, AX_FUTURE(run, &state));   /* .block_on(run()) */
  ax_drop(AX_FUTURE_OF(&state));
  ax_runtime_free(rt);
  return rc == 0 ? 0 : 1;
}
