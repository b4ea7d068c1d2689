/* What #[tokio::main] desugars to:
 *
 *   fn main() {
 *       tokio::runtime::Builder::new_multi_thread()
 *           .enable_all()
 *           .build()
 *           .unwrap()
 *           .block_on(async { println!("Hello from async land"); });
 *   }
 *
 * ax_block_on is the bridge between the synchronous main and the async
 * world: it drives the future on this thread until it is ready.
 */
#include <axle.h>
#include <stdio.h>

typedef struct {
  ax_async_t co;
} hello_t;

AX_ASYNC(hello, hello_t, self) {
  AX_BEGIN(self);
  puts("Hello from async land");
  AX_END();
}

int main(void) {
  ax_builder_t b;
  ax_runtime_t *rt;
  hello_t state = AX_ZERO(hello_t);
  int rc;

  ax_builder_init(&b, AX_MULTI_THREAD);     /* Builder::new_multi_thread() */
  rc = ax_runtime_new(&b, &rt);              /* .enable_all().build() */
  if (rc != 0) {                             /* .unwrap() */
    fprintf(stderr, "cannot build the runtime: %s\n", ax_strerror(rc));
    return 1;
  }
  rc = ax_block_on(rt, AX_FUTURE(hello, &state));  /* .block_on(async { ... }) */
  ax_drop(AX_FUTURE_OF(&state));             /* block_on leaves it to us */
  ax_runtime_free(rt);                       /* drop(runtime) */
  return rc == 0 ? 0 : 1;
}
