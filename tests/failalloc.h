/* A test allocator for ax_replace_allocator: counts the blocks it hands
 * out and fails the allocations it is told to fail.
 *
 *   fa_install()          once, before the suite's first runtime (the
 *                         allocator cannot change while a runtime lives);
 *                         fa_install_for(suite) aborts when it cannot
 *   fa_fail_nth(n, rest)  the n-th allocation from now fails (1 = the
 *                         next); rest = 1: that one and every later one
 *   fa_fail_size(s)       every allocation of exactly s bytes fails
 *   fa_reset()            nothing fails any more
 *   fa_live()             blocks handed out and not freed yet
 *
 * Allocations are malloc, calloc and a realloc of NULL; a realloc that
 * grows a block counts as one too (it may fail).  Thread-safe: the
 * counters are atomics, and axle allocates from every thread.
 */
#ifndef AX_TESTS_FAILALLOC_H
#define AX_TESTS_FAILALLOC_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <axle.h>

typedef struct fa_state_s {
  _Atomic long live;        /* blocks handed out, not freed */
  _Atomic long calls;       /* allocation calls so far */
  _Atomic long fail_at;     /* the call number that fails; 0: none */
  _Atomic int fail_rest;    /* 1: every call from fail_at on fails */
  _Atomic size_t fail_size; /* every allocation of this size fails; 0: none */
  _Atomic long failed;      /* allocations refused so far */
} fa_state_t;

static fa_state_t fa;

/* Should this allocation of n bytes fail? */
static inline int fa_refuse(size_t n) {
  long k = atomic_fetch_add(&fa.calls, 1) + 1;
  long at = atomic_load(&fa.fail_at);
  size_t sz = atomic_load(&fa.fail_size);
  if ((at != 0 && (k == at || (k > at && atomic_load(&fa.fail_rest)))) ||
      (sz != 0 && n == sz)) {
    atomic_fetch_add(&fa.failed, 1);
    return 1;
  }
  return 0;
}

static inline void *fa_malloc(size_t n) {
  void *p;
  if (fa_refuse(n)) return NULL;
  if ((p = malloc(n)) != NULL) atomic_fetch_add(&fa.live, 1);
  return p;
}

static inline void *fa_calloc(size_t count, size_t n) {
  void *p;
  if (fa_refuse(count * n)) return NULL;
  if ((p = calloc(count, n)) != NULL) atomic_fetch_add(&fa.live, 1);
  return p;
}

static inline void *fa_realloc(void *old, size_t n) {
  void *p;
  if (fa_refuse(n)) return NULL;
  if ((p = realloc(old, n)) != NULL && old == NULL)
    atomic_fetch_add(&fa.live, 1);
  return p;
}

static inline void fa_free(void *p) {
  if (p == NULL) return;
  atomic_fetch_sub(&fa.live, 1);
  free(p);
}

static inline int fa_install(void) {
  return ax_replace_allocator(fa_malloc, fa_realloc, fa_calloc, fa_free);
}

/* fa_install() for the suite `suite`, from its suite function: a suite
 * that cannot install it cannot run at all. */
static inline void fa_install_for(const char *suite) {
  if (fa_install() != 0) {
    fprintf(stderr, "%s: cannot install the test allocator\n", suite);
    abort();
  }
}

static inline void fa_reset(void) {
  atomic_store(&fa.fail_at, 0);
  atomic_store(&fa.fail_rest, 0);
  atomic_store(&fa.fail_size, 0);
}

static inline void fa_fail_nth(long n, int rest) {
  atomic_store(&fa.fail_rest, rest);
  atomic_store(&fa.fail_at, atomic_load(&fa.calls) + n);
}

static inline void fa_fail_size(size_t n) { atomic_store(&fa.fail_size, n); }

static inline long fa_live(void) { return atomic_load(&fa.live); }
static inline long fa_calls(void) { return atomic_load(&fa.calls); }
static inline long fa_failed(void) { return atomic_load(&fa.failed); }

#endif /* AX_TESTS_FAILALLOC_H */
