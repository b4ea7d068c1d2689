/* Tokio parity suite: Tokio's own integration tests for sync, channels and
 * time, ported to axle.
 *
 * Each test is named after the Tokio test it ports, and the comment above
 * it names the Tokio file (tokio/tests/<file>.rs).  Tests for axle APIs
 * that Tokio has no test for carry a name of their own and say so.
 *
 * Two kinds of tests, as in the sync and channel suites:
 *  - hand-polled: futures polled directly with a counting test waker
 *    (synchelpers.h), so wake-ups and cancellation are checked exactly;
 *  - runtime: real tasks on the current-thread (_i == 0) and multi-thread
 *    (_i == 1) runtimes.  Nothing is timed: a test waits for events and
 *    asserts counts and states; a hang is a failure through the test
 *    case's timeout.
 * Every hand-polled test checks that no waker clone is left behind
 * (refs == 0); valgrind checks that nothing leaks.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "axle.h"
#include "axtest.h"
#include "synchelpers.h"

static atomic_int join_errors;  /* spawns or joins that failed */

/* Spawns fut (an AX_ASYNC state of `size` bytes) and awaits it: the body of
 * a runtime test runs as a real task, so it gets the cooperative budget
 * that a block_on future may not. */
typedef struct {
  ax_async_t co;
  ax_future_t *fut;   /* the test body, never polled yet */
  size_t size;        /* its size, for ax_spawn */
  ax_join_t h;        /* its task */
} as_task_t;

AX_ASYNC(as_task, as_task_t, s) {
  AX_BEGIN(s);
  if (ax_spawn(s->fut, s->size, &s->h) != 0) {
    atomic_fetch_add(&join_errors, 1);
    AX_RETURN();
  }
  AX_AWAIT(ax_join_wait(&s->h));
  if (s->h.result != 0) atomic_fetch_add(&join_errors, 1);
  ax_join_drop(&s->h);
  AX_END;
}

/* Runs the async function body over *state as a task on runtime flavour
 * multi (0 current-thread, 1 multi-thread) and checks it ended well. */
#define RUN_TASK(multi, fn, state)                                         \
  do {                                                                     \
    as_task_t t_;                                                          \
    memset(&t_, 0, sizeof t_);                                             \
    t_.fut = AX_FUTURE(fn, (state));                                       \
    t_.size = sizeof *(state);                                             \
    atomic_store(&join_errors, 0);                                         \
    run_main((multi), AX_FUTURE(as_task, &t_));                            \
    ck_assert_int_eq(atomic_load(&join_errors), 0);                        \
  } while (0)

/* ======================================================================
 * time
 * ====================================================================== */

/* tokio/tests/time_timeout.rs: timeout_is_not_exhausted_by_future.  The
 * inner future is ready-but-costly on every poll (Tokio's io::empty()
 * read): it spends the whole cooperative budget each time it is polled.
 * The timeout must still see its deadline. */
typedef struct {
  ax_async_t co;
  ax_consume_budget_t cb;   /* one budget unit per await */
} busy_t;

AX_ASYNC(busy_forever, busy_t, s) {
  AX_BEGIN(s);
  for (;;)
    AX_AWAIT(ax_consume_budget(&s->cb));
  AX_END;
}

static atomic_int to_busy_result;

typedef struct {
  ax_async_t co;
  busy_t busy;              /* the inner future */
  ax_timeout_t to;          /* 1 ms around it */
} to_busy_t;

AX_ASYNC(to_busy, to_busy_t, s) {
  AX_BEGIN(s);
  AX_AWAIT(ax_timeout(&s->to, AX_FUTURE(busy_forever, &s->busy), 1));
  atomic_store(&to_busy_result, s->to.result);
  ax_drop(&s->to.base);
  AX_END;
}

START_TEST(timeout_is_not_exhausted_by_future) {
  to_busy_t m;
  memset(&m, 0, sizeof m);
  atomic_store(&to_busy_result, 1);
  RUN_TASK(_i, to_busy, &m);
  ck_assert_int_eq(atomic_load(&to_busy_result), AX_ETIMEDOUT);
}
END_TEST

Suite *ax_tokio_sync_suite(void) {
  Suite *s = suite_create("tokio-sync");
  TCase *tc;

  tc = tcase_create("time");
  tcase_set_timeout(tc, 10);
  tcase_add_loop_test(tc, timeout_is_not_exhausted_by_future, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}
