/* The spin lock's slow path and the CPU yield (see spin.h). */
#include "core/spin.h"

#if defined(_WIN32)
#  include <windows.h>
void ax__cpu_yield(void) { SwitchToThread(); }
#else
#  include <sched.h>
void ax__cpu_yield(void) { sched_yield(); }
#endif

void ax__spin_lock_slow(ax__spin_t *l) {
  unsigned spins = 0;
  for (;;) {
    /* Test before test-and-set: spinning on a plain load keeps the line
     * shared instead of bouncing it between cores. */
    while (atomic_load_explicit(l, memory_order_relaxed) != 0) {
      if (++spins < 64) {
        ax__cpu_relax();
      } else {
        /* The holder is probably preempted (2 vCPUs, many threads): let
         * it run instead of burning our slice. */
        ax__cpu_yield();
        spins = 0;
      }
    }
    if (atomic_exchange_explicit(l, 1, memory_order_acquire) == 0)
      return;
  }
}
