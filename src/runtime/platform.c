/* What differs between systems in the runtime (platform.h): naming
 * threads, SIGPIPE.  A no-op where a system has nothing to do. */
#if defined(__linux__) || defined(__APPLE__)
#  include <pthread.h>
#endif
#ifndef _WIN32
#  include <signal.h>
#endif
#include <uv.h>

#include "runtime/platform.h"

void ax__thread_set_name(const char *name) {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), name);  /* Linux: max 15 chars + NUL */
#elif defined(__APPLE__)
  pthread_setname_np(name);
#else
  (void)name;
#endif
}

static uv_once_t init_once = UV_ONCE_INIT;

static void init(void) {
#ifndef _WIN32
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
  }
#endif
}

void ax__platform_init(void) { uv_once(&init_once, init); }
