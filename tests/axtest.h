/* Shared helpers for axle's Check suites.
 *
 * Every tests/test-<area>.c includes this header and defines
 *
 *     Suite *ax_<area>_suite(void);
 *
 * (tests/meson.build compiles tests/main.c next to it with
 * -DAX_TEST_SUITE_FN=ax_<area>_suite, and declares that function here so
 * -Wmissing-prototypes stays quiet).  Add the area's word to
 * axle_test_suites in tests/meson.build and that is all.
 *
 * AX_TEST_SCALE: the valgrind and TSan setups run 10-100x slower, so they
 * set AX_TEST_SCALE (a factor, default 1) and stress tests size their loops
 * with ax_test_iters(n) instead of a bare n.
 */
#ifndef AX_TESTS_AXTEST_H
#define AX_TESTS_AXTEST_H

#include <check.h>
#include <stdlib.h>

#include <axle.h>
#include <axle/leaf.h>   /* the tests write leaf futures and wakers */

#ifdef AX_TEST_SUITE_FN
Suite *AX_TEST_SUITE_FN(void);
#endif

/* The AX_TEST_SCALE factor (> 0; 1 when unset or invalid). */
static inline double ax_test_scale(void) {
  const char *s = getenv("AX_TEST_SCALE");
  double v = s ? strtod(s, NULL) : 1.0;
  return v > 0 ? v : 1.0;
}

/* n scaled by AX_TEST_SCALE, at least 1. */
static inline unsigned long ax_test_iters(unsigned long n) {
  double v = (double)n * ax_test_scale();
  return v < 1.0 ? 1ul : (unsigned long)v;
}

#endif /* AX_TESTS_AXTEST_H */
