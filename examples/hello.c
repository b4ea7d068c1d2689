/* The simplest possible async program.
 *
 *   #[tokio::main]
 *   async fn main() { println!("Hello from async land"); }
 *
 * AX_MAIN builds the default (multi-thread) runtime, blocks on the async
 * function and shuts the runtime down when it returns.
 */
#include <axle.h>
#include <stdio.h>

typedef struct {               /* async fn main(): no state but the resume point */
  ax_async_t co;
} app_t;

AX_ASYNC(app, app_t, self) {
  AX_BEGIN(self);
  puts("Hello from async land");
  AX_END();
}

AX_MAIN(app, app_t)
