/* Internal: a tiny spin lock for critical sections of a few instructions
 * (list links, a wait queue), where a mutex's bookkeeping costs more than
 * the work.  One int: it needs no init that can fail and no destroy, and
 * it fits inside public structs (sync.h declares AX__ATOMIC(int) lock).
 * Uncontended: one atomic exchange to take, one store to release.
 * Contended: spin on a plain load a little, then yield the CPU so that a
 * preempted holder can run (2-vCPU machines make that case real).  Never
 * call out (wakers, user code) while holding one. */
#ifndef AX_CORE_SPIN_H
#define AX_CORE_SPIN_H

#include <stdatomic.h>

/* The same type as the AX__ATOMIC(int) of public structs, seen from C. */
typedef _Atomic int ax__spin_t;

/* A pause hint inside spin loops (nothing where there is none). */
#if defined(__x86_64__) || defined(__i386__)
#  define ax__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__) || defined(__arm__)
#  define ax__cpu_relax() __asm__ __volatile__("yield")
#else
#  define ax__cpu_relax() ((void)0)
#endif

/* Gives the CPU to another runnable thread (spin.c). */
void ax__cpu_yield(void);
void ax__spin_lock_slow(ax__spin_t *l);

static inline void ax__spin_init(ax__spin_t *l) { atomic_init(l, 0); }

static inline void ax__spin_lock(ax__spin_t *l) {
  if (atomic_exchange_explicit(l, 1, memory_order_acquire) != 0)
    ax__spin_lock_slow(l);
}

static inline void ax__spin_unlock(ax__spin_t *l) {
  atomic_store_explicit(l, 0, memory_order_release);
}

#endif
