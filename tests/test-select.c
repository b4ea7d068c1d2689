/* Combinators (include/axle/select.h) and the semantics of ax_timeout
 * (include/axle/time.h; the timer itself is tested in test-time.c).
 *
 * Select: the first ready child wins, every loser is dropped at once and
 * exactly once, the winner is never dropped by the select, biased selects
 * poll in order, unbiased ones start anywhere.  Join-all: every child is
 * polled until ready and never after.  Timeout: the inner future wins ties,
 * is dropped once when the deadline wins, and once by the timeout's drop
 * otherwise.
 */
#include "helpers.h"

/* ---- select, polled by hand ---------------------------------------------- */

START_TEST(select_first_ready_wins) {
  th_counts_t c[3] = {{0}};
  th_leaf_t l[3];
  ax_select_t s;
  th_cx_t cx;
  ax_future_t *f;
  th_cx_init(&cx);

  f = ax_select_biased(&s, th_leaf(&l[0], &c[0], -1, 0),
                       th_leaf(&l[1], &c[1], 2, 0),
                       th_leaf(&l[2], &c[2], -1, 0));
  ck_assert_int_eq(s.winner, -1);
  for (int k = 0; k < 3; k++)  /* lazy: nothing polled yet */
    ck_assert_int_eq(atomic_load(&c[k].polls), 0);

  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(s.winner, -1);
  for (int k = 0; k < 3; k++) ck_assert_int_eq(atomic_load(&c[k].drops), 0);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(s.winner, 1);
  ck_assert_int_eq(l[1].out, 42);
  /* Losers dropped at once, exactly once; the winner is not dropped. */
  ck_assert_int_eq(atomic_load(&c[0].drops), 1);
  ck_assert_int_eq(atomic_load(&c[1].drops), 0);
  ck_assert_int_eq(atomic_load(&c[2].drops), 1);
  /* Biased: branch 0 polled before 1 on each poll, branch 2 only while
   * 1 was pending. */
  ck_assert_int_eq(atomic_load(&c[0].polls), 3);
  ck_assert_int_eq(atomic_load(&c[1].polls), 3);
  ck_assert_int_eq(atomic_load(&c[2].polls), 2);

  /* Polled again: still ready, nothing re-polled; dropped: nothing dropped
   * twice, the winner still not dropped (it is the caller's). */
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(atomic_load(&c[1].polls), 3);
  ax_drop(f);
  ck_assert_int_eq(atomic_load(&c[0].drops), 1);
  ck_assert_int_eq(atomic_load(&c[1].drops), 0);
  ck_assert_int_eq(atomic_load(&c[2].drops), 1);
  ax_drop(&l[1].base);
  ck_assert_int_eq(cx.w.refs, 0);
}
END_TEST

START_TEST(select_dropped_while_pending) {
  th_counts_t c[4] = {{0}};
  th_leaf_t l[4];
  ax_select_t s;
  th_cx_t cx;
  ax_future_t *f;
  th_cx_init(&cx);
  f = ax_select(&s, th_leaf(&l[0], &c[0], -1, 0), th_leaf(&l[1], &c[1], -1, 0),
                th_leaf(&l[2], &c[2], -1, 0), th_leaf(&l[3], &c[3], -1, 0));
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  for (int k = 0; k < 4; k++) ck_assert_int_eq(atomic_load(&c[k].polls), 1);
  ax_drop(f);
  for (int k = 0; k < 4; k++) ck_assert_int_eq(atomic_load(&c[k].drops), 1);
  ax_drop(f);  /* a second drop drops nothing again */
  for (int k = 0; k < 4; k++) ck_assert_int_eq(atomic_load(&c[k].drops), 1);

  /* Never polled, then dropped: every child dropped once. */
  for (int k = 0; k < 4; k++) th_counts_reset(&c[k]);
  f = ax_select(&s, th_leaf(&l[0], &c[0], 0, 0), th_leaf(&l[1], &c[1], 0, 0));
  ax_drop(f);
  ck_assert_int_eq(atomic_load(&c[0].drops), 1);
  ck_assert_int_eq(atomic_load(&c[1].drops), 1);
  ck_assert_int_eq(atomic_load(&c[0].polls), 0);
}
END_TEST

/* Races three leaves that are all ready at once (biased or not) with one
 * poll and returns the winner, after checking that it alone was polled
 * (once) and kept, and that each loser was dropped exactly once. */
static int race_three_ready(int biased) {
  th_counts_t c[3] = {{0}};
  th_leaf_t l[3];
  ax_future_t *f0 = th_leaf(&l[0], &c[0], 0, 0);
  ax_future_t *f1 = th_leaf(&l[1], &c[1], 0, 0);
  ax_future_t *f2 = th_leaf(&l[2], &c[2], 0, 0);
  ax_select_t s;
  th_cx_t cx;
  ax_future_t *f = biased ? ax_select_biased(&s, f0, f1, f2)
                          : ax_select(&s, f0, f1, f2);
  int w;
  th_cx_init(&cx);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  w = s.winner;
  ck_assert(w >= 0 && w < 3);
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(atomic_load(&c[k].drops), k == w ? 0 : 1);
    ck_assert_int_eq(atomic_load(&c[k].polls), k == w ? 1 : 0);
  }
  ax_drop(f);
  ax_drop(&l[w].base);
  return w;
}

START_TEST(select_biased_order) {
  /* All ready at once: biased always picks branch 0 and never polls the
   * others. */
  for (int trial = 0; trial < 100; trial++)
    ck_assert_int_eq(race_three_ready(1), 0);
}
END_TEST

START_TEST(select_random_start) {
  /* Unbiased, all ready at once: over 300 races each of 3 branches wins
   * at least once (the chance that one never wins is 3 * (2/3)^300), and
   * in every race the two others are dropped exactly once. */
  int wins[3] = {0, 0, 0};
  for (int trial = 0; trial < 300; trial++) wins[race_three_ready(0)]++;
  for (int k = 0; k < 3; k++) ck_assert_int_gt(wins[k], 0);
}
END_TEST

START_TEST(select_array_many) {
  /* More futures than fit inline: the array form. */
  enum { N = 12 };
  th_counts_t c[N];
  th_leaf_t l[N];
  ax_future_t *futs[N];
  ax_select_t s;
  th_cx_t cx;
  th_cx_init(&cx);
  for (int k = 0; k < N; k++) {
    th_counts_reset(&c[k]);
    futs[k] = th_leaf(&l[k], &c[k], k == 10 ? 1 : -1, 0);
  }
  ax_future_t *f = ax_select_array(&s, futs, N, 0);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(s.winner, 10);
  for (int k = 0; k < N; k++)
    ck_assert_int_eq(atomic_load(&c[k].drops), k == 10 ? 0 : 1);
  ax_drop(f);
  for (int k = 0; k < N; k++)
    ck_assert_int_eq(atomic_load(&c[k].drops), k == 10 ? 0 : 1);

  /* ax_select_n, the function behind the macros. */
  {
    ax_future_t *three[3];
    for (int k = 0; k < 3; k++) {
      th_counts_reset(&c[k]);
      three[k] = th_leaf(&l[k], &c[k], k == 2 ? 0 : -1, 0);
    }
    f = ax_select_n(&s, three, 3, 1);
    ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
    ck_assert_int_eq(s.winner, 2);
    ck_assert_int_eq(atomic_load(&c[0].drops), 1);
    ck_assert_int_eq(atomic_load(&c[1].drops), 1);
    ck_assert_int_eq(atomic_load(&c[2].drops), 0);
    ax_drop(f);
  }
}
END_TEST

START_TEST(select_loser_leaves_no_waker) {
  /* A loser that registered its waker somewhere unregisters it when
   * dropped. */
  th_signal_t sig;
  th_sigwait_t sw;
  th_leaf_t l;
  ax_select_t s;
  th_cx_t cx;
  th_cx_init(&cx);
  th_signal_init(&sig);
  ax_future_t *f = ax_select_biased(&s, th_sigwait(&sw, &sig, NULL),
                                    th_leaf(&l, NULL, 1, 0));
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_ptr_nonnull(sig.waker);
  ck_assert_int_eq(cx.w.refs, 1);
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(s.winner, 1);
  ck_assert_ptr_null(sig.waker);
  ck_assert_int_eq(cx.w.refs, 0);
  ax_drop(f);
  th_signal_fire(&sig);   /* too late for anyone: wakes nothing */
  ck_assert_int_eq(cx.w.wakes, 0);
  th_signal_destroy(&sig);
}
END_TEST

/* ---- select in tasks ----------------------------------------------------- */

/* The chapter's fetch_with_timeout, made deterministic: the "fetch" waits
 * for a signal, the timer is either 1 ms (the fetch never comes: timeout)
 * or an hour (the fetch comes: data). */
typedef struct {
  ax_async_t co;
  th_sigwait_t w;
  th_signal_t *sig;
  int *drops;
  const char *out;
} fetch_t;

AX_ASYNC(fetch_fn, fetch_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(th_sigwait(&self->w, self->sig, NULL));
  self->out = "data";
  AX_END();
}

AX_ASYNC_DROP(fetch_on_drop, fetch_t, f) { (*f->drops)++; }

typedef struct {
  ax_async_t co;
  fetch_t fetch;
  ax_sleep_t timer;
  ax_select_t race;
  th_signal_t sig;
  uint64_t timer_ms;
  int fire;
  int fetch_drops;
  int winner;
  const char *out;
} fetch_timeout_t;

AX_ASYNC(fetch_timeout_fn, fetch_timeout_t, self) {
  AX_BEGIN(self);
  self->fetch.sig = &self->sig;
  self->fetch.drops = &self->fetch_drops;
  if (self->fire) th_signal_fire(&self->sig);
  AX_AWAIT(ax_select(&self->race,
                     AX_FUTURE_DROP(fetch_fn, fetch_on_drop, &self->fetch),
                     ax_sleep(&self->timer, self->timer_ms)));
  self->winner = self->race.winner;
  self->out = self->winner == 0 ? self->fetch.out : NULL;
  ax_drop(&self->race.base);
  /* The winner is ours to drop. */
  if (self->winner == 0)
    ax_drop(AX_FUTURE_OF(&self->fetch));
  else
    ax_drop(&self->timer.base);
  AX_END();
}

START_TEST(select_fetch_with_timeout) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  for (int fire = 0; fire < 2; fire++) {
    fetch_timeout_t f = {0};
    th_signal_init(&f.sig);
    f.fire = fire;
    f.timer_ms = fire ? 3600u * 1000u : 1;
    th_block_on(rt, AX_FUTURE(fetch_timeout_fn, &f));
    if (fire) {
      ck_assert_int_eq(f.winner, 0);
      ck_assert_str_eq(f.out, "data");
    } else {
      ck_assert_int_eq(f.winner, 1);
      ck_assert_ptr_null(f.out);
    }
    ck_assert_int_eq(f.fetch_drops, 1);  /* dropped once, by whoever */
    ax_drop(AX_FUTURE_OF(&f));
    th_signal_destroy(&f.sig);
  }
  ax_runtime_free(rt);
}
END_TEST

/* Racing join handles: the loser handle is dropped, which detaches its
 * task (it is not aborted). */
typedef struct {
  ax_async_t co;
  th_leaf_t leaf;
  th_signal_t *sig;
  th_sigwait_t w;
  _Atomic int *drops;
  int out;
} worker_task_t;

AX_ASYNC(worker_task_fn, worker_task_t, self) {
  AX_BEGIN(self);
  if (self->sig != NULL) AX_AWAIT(th_sigwait(&self->w, self->sig, NULL));
  self->out = 5;
  AX_END();
}

AX_ASYNC_DROP(worker_task_drop, worker_task_t, t) {
  atomic_fetch_add(t->drops, 1);
}

typedef struct {
  ax_async_t co;
  ax_join_t h[2];
  ax_select_t race;
  th_signal_t sig;
  _Atomic int drops;
  int winner, out, loser_drops_after_race, loser_task_ptr_null;
} race_tasks_t;

AX_ASYNC(race_tasks_fn, race_tasks_t, self) {
  AX_BEGIN(self);
  for (int k = 0; k < 2; k++) {
    worker_task_t t = {0};
    t.sig = k == 0 ? &self->sig : NULL;   /* task 0 waits forever */
    t.drops = &self->drops;
    ax_spawn(AX_FUTURE_DROP(worker_task_fn, worker_task_drop, &t), sizeof(t),
             &self->h[k]);
  }
  AX_AWAIT(ax_select(&self->race, ax_join_wait(&self->h[0]),
                     ax_join_wait(&self->h[1])));
  self->winner = self->race.winner;
  self->out = ((worker_task_t *)ax_join_output(&self->h[1]))->out;
  self->loser_task_ptr_null = self->h[0].task == NULL;
  self->loser_drops_after_race = atomic_load(&self->drops);
  ax_drop(&self->race.base);
  ax_join_drop(&self->h[1]);
  AX_END();
}

START_TEST(select_over_join_handles) {
  race_tasks_t r = {0};
  th_signal_init(&r.sig);
  th_run(_i, 2, AX_FUTURE(race_tasks_fn, &r));   /* its end cancels it */
  ck_assert_int_eq(r.winner, 1);
  ck_assert_int_eq(r.out, 5);
  ck_assert(r.loser_task_ptr_null);          /* handle dropped by select */
  /* The winner's future was dropped when its task completed; the loser's
   * was not: its handle's drop detached it, it did not abort it. */
  ck_assert_int_eq(r.loser_drops_after_race, 1);
  ck_assert_int_eq(atomic_load(&r.drops), 2);
  th_signal_destroy(&r.sig);
}
END_TEST

/* ---- join-all ------------------------------------------------------------ */

START_TEST(join_all_polls_until_each_ready) {
  th_counts_t c[3] = {{0}};
  th_leaf_t l[3];
  ax_join_all_t j;
  th_cx_t cx;
  int polls = 0;
  th_cx_init(&cx);
  ax_future_t *f = ax_join_all(&j, th_leaf(&l[0], &c[0], 0, 1),
                               th_leaf(&l[1], &c[1], 3, 1),
                               th_leaf(&l[2], &c[2], 1, 1));
  ck_assert_uint_eq(j.remaining, 3);
  ck_assert_int_eq(atomic_load(&c[0].polls), 0);   /* lazy */
  while (TH_POLL(f, &cx) == AX_PENDING) ck_assert_int_lt(++polls, 100);
  ck_assert_int_eq(polls, 3);
  ck_assert_uint_eq(j.remaining, 0);
  /* Each child polled until it was ready, and never after. */
  ck_assert_int_eq(atomic_load(&c[0].polls), 1);
  ck_assert_int_eq(atomic_load(&c[1].polls), 4);
  ck_assert_int_eq(atomic_load(&c[2].polls), 2);
  for (int k = 0; k < 3; k++) {
    ck_assert_int_eq(l[k].out, 42);
    ck_assert_int_eq(atomic_load(&c[k].drops), 0);  /* the caller's */
  }
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(atomic_load(&c[1].polls), 4);
  ax_drop(f);
  for (int k = 0; k < 3; k++) ck_assert_int_eq(atomic_load(&c[k].drops), 0);
}
END_TEST

START_TEST(join_all_dropped_while_pending) {
  th_counts_t c[3] = {{0}};
  th_leaf_t l[3];
  ax_join_all_t j;
  th_cx_t cx;
  th_cx_init(&cx);
  ax_future_t *f = ax_join_all(&j, th_leaf(&l[0], &c[0], 0, 0),
                               th_leaf(&l[1], &c[1], -1, 0),
                               th_leaf(&l[2], &c[2], -1, 0));
  ck_assert_int_eq(TH_POLL(f, &cx), AX_PENDING);
  ck_assert_uint_eq(j.remaining, 2);
  ax_drop(f);
  /* The finished child is the caller's; the others are dropped once. */
  ck_assert_int_eq(atomic_load(&c[0].drops), 0);
  ck_assert_int_eq(atomic_load(&c[1].drops), 1);
  ck_assert_int_eq(atomic_load(&c[2].drops), 1);
  ax_drop(f);
  ck_assert_int_eq(atomic_load(&c[1].drops), 1);
  ck_assert_int_eq(atomic_load(&c[2].drops), 1);
}
END_TEST

START_TEST(join_all_array_many) {
  enum { N = 20 };
  th_counts_t c[N];
  th_leaf_t l[N];
  ax_future_t *futs[N];
  uint8_t done[N];
  ax_join_all_t j;
  th_cx_t cx;
  int polls = 0;
  th_cx_init(&cx);
  for (int k = 0; k < N; k++) {
    th_counts_reset(&c[k]);
    futs[k] = th_leaf(&l[k], &c[k], k % 5, 1);
  }
  ax_future_t *f = ax_join_all_array(&j, futs, N, done);
  while (TH_POLL(f, &cx) == AX_PENDING) ck_assert_int_lt(++polls, 100);
  ck_assert_int_eq(polls, 4);
  for (int k = 0; k < N; k++) {
    ck_assert_int_eq(atomic_load(&c[k].polls), k % 5 + 1);
    ck_assert_int_eq(done[k], 1);
  }
  ax_drop(f);
}
END_TEST

/* Waiting for a group of tasks with join-all. */
typedef struct {
  ax_async_t co;
  ax_join_t h[8];
  ax_join_all_t all;
  int in[8];
  int outs[8];
} join_tasks_t;

/* The tasks yield once, then double their input (th_task, helpers.h). */
AX_ASYNC(join_tasks_fn, join_tasks_t, self) {
  AX_BEGIN(self);
  for (int k = 0; k < 8; k++) {
    th_task_t t;
    ax_spawn(th_task(&t, k, 1), sizeof(t), &self->h[k]);
  }
  AX_AWAIT(ax_join_all(&self->all, ax_join_wait(&self->h[0]),
                       ax_join_wait(&self->h[1]), ax_join_wait(&self->h[2]),
                       ax_join_wait(&self->h[3]), ax_join_wait(&self->h[4]),
                       ax_join_wait(&self->h[5]), ax_join_wait(&self->h[6]),
                       ax_join_wait(&self->h[7])));
  for (int k = 0; k < 8; k++) {
    self->outs[k] = self->h[k].result == 0
                        ? AX_JOIN_OUTPUT(&self->h[k], th_task_t)->out
                        : -1;
    ax_join_drop(&self->h[k]);
  }
  AX_END();
}

START_TEST(join_all_tasks) {
  join_tasks_t s = {0};
  th_run(_i, 2, AX_FUTURE(join_tasks_fn, &s));
  for (int k = 0; k < 8; k++) ck_assert_int_eq(s.outs[k], 2 * k);
}
END_TEST

/* ---- timeout (the combinator's contract) --------------------------------- */

typedef struct {
  ax_async_t co;
  ax_timeout_t t;
  th_leaf_t inner;
  th_counts_t c;
  int inner_pending;     /* < 0: never ready */
  uint64_t ms;
  int result;
  int drops_at_ready;
  int inner_out;
} to_t;

AX_ASYNC(to_fn, to_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_timeout(&self->t, th_leaf(&self->inner, &self->c,
                                        self->inner_pending, 1),
                      self->ms));
  self->result = self->t.result;
  self->drops_at_ready = atomic_load(&self->c.drops);
  self->inner_out = self->inner.out;
  ax_drop(&self->t.base);
  AX_END();
}

START_TEST(timeout_fires) {
  to_t s = {0};
  s.inner_pending = -1;   /* wakes itself, never ready */
  s.ms = 1;
  th_run(_i, 2, AX_FUTURE(to_fn, &s));
  ck_assert_int_eq(s.result, AX_ETIMEDOUT);
  ck_assert_int_eq(s.drops_at_ready, 1);   /* dropped when the deadline won */
  ck_assert_int_eq(atomic_load(&s.c.drops), 1);  /* and not again */
  ck_assert_int_eq(atomic_load(&s.c.readies), 0);
}
END_TEST

START_TEST(timeout_does_not_fire) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  for (int k = 0; k < 2; k++) {
    to_t s = {0};
    /* k == 0: ready after a few polls, an hour to go; k == 1: ready at
     * once with a 0 ms timeout (the inner future wins the tie). */
    s.inner_pending = k == 0 ? 3 : 0;
    s.ms = k == 0 ? 3600u * 1000u : 0;
    th_block_on(rt, AX_FUTURE(to_fn, &s));
    ck_assert_int_eq(s.result, 0);
    ck_assert_int_eq(s.inner_out, 42);
    ck_assert_int_eq(s.drops_at_ready, 0);   /* output still readable */
    ck_assert_int_eq(atomic_load(&s.c.drops), 1);  /* by ax_drop(timeout) */
    ax_drop(AX_FUTURE_OF(&s));
  }
  ax_runtime_free(rt);   /* the hour-long timer was unregistered */
}
END_TEST

START_TEST(timeout_dropped_while_pending) {
  th_counts_t c = {0};
  th_leaf_t inner;
  ax_timeout_t t;
  th_cx_t cx;
  th_cx_init(&cx);
  /* Polled by hand, outside a runtime: the deadline cannot be timed, so
   * the timeout ends with AX_ENORUNTIME and drops inner once. */
  ax_future_t *f = ax_timeout(&t, th_leaf(&inner, &c, -1, 0), 3600u * 1000u);
  ck_assert_int_eq(atomic_load(&c.polls), 0);   /* lazy */
  ck_assert_int_eq(TH_POLL(f, &cx), AX_READY);
  ck_assert_int_eq(t.result, AX_ENORUNTIME);
  ck_assert_int_eq(atomic_load(&c.drops), 1);
  ax_drop(f);
  ck_assert_int_eq(atomic_load(&c.drops), 1);

  /* Never polled, then dropped: inner dropped once. */
  th_counts_reset(&c);
  f = ax_timeout(&t, th_leaf(&inner, &c, -1, 0), 10);
  ax_drop(f);
  ck_assert_int_eq(atomic_load(&c.drops), 1);
  ck_assert_int_eq(atomic_load(&c.polls), 0);
  ck_assert_int_eq(cx.w.refs, 0);
}
END_TEST

/* A timeout dropped while pending inside a task (a select loser): inner is
 * dropped once, the timer unregistered. */
typedef struct {
  ax_async_t co;
  ax_select_t race;
  ax_timeout_t t;
  th_leaf_t inner;
  th_counts_t c;
  ax_yield_t y;
  int winner;
} to_loser_t;

AX_ASYNC(to_loser_fn, to_loser_t, self) {
  AX_BEGIN(self);
  AX_AWAIT(ax_select_biased(
      &self->race,
      ax_timeout(&self->t, th_leaf(&self->inner, &self->c, -1, 0),
                 3600u * 1000u),
      ax_yield_now(&self->y)));
  self->winner = self->race.winner;
  ax_drop(&self->race.base);
  AX_END();
}

START_TEST(timeout_as_select_loser) {
  to_loser_t s = {0};
  ax_runtime_t *rt = th_start(_i, 2, AX_FUTURE(to_loser_fn, &s));
  ck_assert_int_eq(s.winner, 1);
  ck_assert_int_eq(atomic_load(&s.c.drops), 1);
  ck_assert_int_eq(atomic_load(&s.c.polls), 2);
  th_finish(rt, AX_FUTURE_OF(&s));
  ck_assert_int_eq(atomic_load(&s.c.drops), 1);   /* not again */
}
END_TEST

Suite *ax_select_suite(void) {
  return AX_SUITE("select",
                  AX_CASE("select", 0),
                  AX_ONCE(select_first_ready_wins),
                  AX_ONCE(select_dropped_while_pending),
                  AX_ONCE(select_biased_order),
                  AX_ONCE(select_random_start),
                  AX_ONCE(select_array_many),
                  AX_ONCE(select_loser_leaves_no_waker),
                  AX_FLAVOURS(select_fetch_with_timeout),
                  AX_FLAVOURS(select_over_join_handles),
                  AX_CASE("join_all", 0),
                  AX_ONCE(join_all_polls_until_each_ready),
                  AX_ONCE(join_all_dropped_while_pending),
                  AX_ONCE(join_all_array_many),
                  AX_FLAVOURS(join_all_tasks),
                  AX_CASE("timeout", 0),
                  AX_FLAVOURS(timeout_fires),
                  AX_FLAVOURS(timeout_does_not_fire),
                  AX_ONCE(timeout_dropped_while_pending),
                  AX_FLAVOURS(timeout_as_select_loser));
}
