/* Smoke suite: the build, the runner and the setups work (error strings). */
#include <string.h>

#include "axle/common.h"
#include "axtest.h"

START_TEST(strerror_own_codes) {
  ck_assert_str_eq(ax_err_name(AX_EPANIC), "AX_EPANIC");
  ck_assert_str_eq(ax_strerror(AX_EPANIC), "task panicked");
  ck_assert_str_eq(ax_strerror(0), "success");
}
END_TEST

START_TEST(strerror_libuv_codes) {
  ck_assert_str_eq(ax_err_name(UV_ENOMEM), "ENOMEM");
  ck_assert_str_eq(ax_err_name(AX_ECANCELED), "ECANCELED");
  ck_assert_ptr_nonnull(ax_strerror(UV_EINVAL));
}
END_TEST

START_TEST(test_scale) {
  ck_assert_uint_ge(ax_test_iters(1000), 1);
  ck_assert_uint_ge(ax_test_iters(0), 1);
}
END_TEST

Suite *ax_smoke_suite(void) {
  Suite *s = suite_create("smoke");
  TCase *tc = tcase_create("errors");
  tcase_add_test(tc, strerror_own_codes);
  tcase_add_test(tc, strerror_libuv_codes);
  tcase_add_test(tc, test_scale);
  suite_add_tcase(s, tc);
  return s;
}
