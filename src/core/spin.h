/* Internal: a tiny spinlock for critical sections of a few instructions
 * (list links), where a pthread mutex's bookkeeping costs more than the
 * work.  Spins briefly, then yields the CPU so a preempted holder can run
 * (2-core machines make that case real). */
#ifndef AX_CORE_SPIN_H
#define AX_CORE_SPIN_H

#include <stdatomic.h>
#include <uv.h>

typedef struct {
  atomic_flag f;
} ax__spin_t;

#define AX__SPIN_INIT {ATOMIC_FLAG_INIT}

static inline void ax__spin_init(ax__spin_t *s) { atomic_flag_clear(&s->f); }

static inline void ax__spin_lock(ax__spin_t *s) {
  unsigned n = 0;
  while (atomic_flag_test_and_set_explicit(&s->f, memory_order_acquire)) {
    if (++n >= 64) {
      uv_sleep(0);
      n = 0;
    }
  }
}

static inline void ax__spin_unlock(ax__spin_t *s) {
  atomic_flag_clear_explicit(&s->f, memory_order_release);
}

#endif
