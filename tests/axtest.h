/* Shared helpers for axle's Check suites.
 *
 * Every tests/test-<area>.c includes this header and defines
 *
 *     Suite *ax_<area>_suite(void);
 *
 * (tests/meson.build compiles tests/main.c next to it with
 * -DAX_TEST_SUITE_FN=ax_<area>_suite, and declares that function here so
 * -Wmissing-prototypes stays quiet).  Add the area's word to
 * axle_test_suites in tests/meson.build and that is all.  The suite
 * function builds its suite from a table with AX_SUITE (below).
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

/* ---- registering tests ---------------------------------------------------
 *
 *   Suite *ax_time_suite(void) {
 *     return AX_SUITE("time",
 *                     AX_CASE("wheel", 30),
 *                     AX_ONCE(wheel_order_never_early),
 *                     AX_CASE("sleep", 0),
 *                     AX_FLAVOURS(sleep_reset));
 *   }
 *
 * builds the suite from one table: each AX_CASE starts a test case (its
 * timeout in seconds; 0 keeps Check's default) and the tests after it
 * join that case, in that order. */
typedef struct ax_test_entry_s {
  const char *tcase;   /* AX_CASE: the case's name; NULL for a test */
  const TTest *fn;     /* the test (from START_TEST); NULL: none */
  int start, end;      /* its loop: _i runs from start to end - 1 */
  int signal;          /* the signal it must end with, or 0 */
  double timeout;      /* AX_CASE: seconds, 0 = Check's default */
} ax_test_entry_t;

#define AX_CASE(name, timeout) {(name), NULL, 0, 0, 0, (timeout)}
/* A plain test: one run, _i == 0 (tcase_add_test). */
#define AX_ONCE(fn) {NULL, (fn), 0, 1, 0, 0}
/* A loop test (tcase_add_loop_test). */
#define AX_LOOP(fn, start, end) {NULL, (fn), (start), (end), 0, 0}
/* A loop test run on both runtime flavours: _i == 0 on the current-thread
 * runtime, _i == 1 on the multi-thread one (helpers.h: CURRENT, MULTI). */
#define AX_FLAVOURS(fn) AX_LOOP(fn, 0, 2)
/* A test that must end with signal sig (tcase_add_test_raise_signal). */
#define AX_SIGNAL(fn, sig) {NULL, (fn), 0, 1, (sig), 0}

static inline Suite *ax_test_suite(const char *name, const ax_test_entry_t *t,
                                   size_t n) {
  Suite *s = suite_create(name);
  TCase *tc = NULL;
  for (; n > 0; n--, t++) {
    if (t->tcase != NULL) {
      tc = tcase_create(t->tcase);
      if (t->timeout > 0) tcase_set_timeout(tc, t->timeout);
      suite_add_tcase(s, tc);
    } else if (t->fn != NULL) {
      tcase_add_loop_test_raise_signal(tc, t->fn, t->signal, t->start,
                                       t->end);
    }
  }
  return s;
}

#define AX_SUITE(name, ...)                                                  \
  ax_test_suite((name), (const ax_test_entry_t[]){__VA_ARGS__},            \
                sizeof((const ax_test_entry_t[]){__VA_ARGS__}) /          \
                    sizeof(ax_test_entry_t))

#endif /* AX_TESTS_AXTEST_H */
