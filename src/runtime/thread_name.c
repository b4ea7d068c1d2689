/* Platform code: naming the calling thread (visible in top -H, gdb, perf).
 * The only non-portable piece of the runtime; a no-op where unsupported. */
#if defined(__linux__)
#  include <pthread.h>
#elif defined(__APPLE__)
#  include <pthread.h>
#endif

#include "runtime/thread_name.h"

void ax__thread_set_name(const char *name) {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), name);  /* Linux: max 15 chars + NUL */
#elif defined(__APPLE__)
  pthread_setname_np(name);
#else
  (void)name;
#endif
}
