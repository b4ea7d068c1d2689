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
  return AX_SUITE("smoke",
                  AX_CASE("errors", 0),
                  AX_ONCE(strerror_own_codes),
                  AX_ONCE(strerror_libuv_codes),
                  AX_ONCE(test_scale));
}
