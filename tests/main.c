/* The runner of one Check suite: tests/meson.build builds it once per suite
 * (and per sanitizer variant) with -DAX_TEST_SUITE_FN=ax_<area>_suite.
 *
 *   build/tests/test-time                 run every case
 *   build/tests/test-time sleep           run only the test case "sleep"
 *   CK_FORK=no CK_VERBOSITY=verbose ...   Check's own knobs still apply
 */
#include <stdio.h>
#include <stdlib.h>

#include "axtest.h"

#ifndef AX_TEST_SUITE_FN
#error "build with -DAX_TEST_SUITE_FN=ax_<area>_suite (see tests/meson.build)"
#endif

int main(int argc, char **argv) {
  const char *tcase = argc > 1 ? argv[1] : NULL;
  SRunner *sr = srunner_create(AX_TEST_SUITE_FN());
  int run, failed;

  srunner_run(sr, NULL, tcase, CK_ENV);
  run = srunner_ntests_run(sr);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  if (run == 0) {
    /* A suite that runs nothing (empty, or a filter that matches nothing)
     * must not look like a pass. */
    fprintf(stderr, "no test ran%s%s\n", tcase ? " for case " : "",
            tcase ? tcase : "");
    return EXIT_FAILURE;
  }
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
