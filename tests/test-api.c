/* The public API's edges (the hardened-API issue): what a misuse does at
 * run time, the cleanup rule (a task's future is dropped when the task
 * ends), select without giving a future up (ax_by_ref), spawn_blocking's
 * destructors, ax_main_with, and the combinators' refusal of more futures
 * than they can hold.  What C can refuse at compile time is checked by
 * tests/check-compile-errors.py.
 */
#include "helpers.h"

/* ---- an await inside a switch -------------------------------------------- */

/* The await's resume label belongs to the user's switch, so the function's
 * own switch cannot find it: it must panic when it resumes there, not end
 * silently as if done. */
typedef struct {
  ax_async_t co;
  ax_yield_t y;
  int mode;
  int after;          /* set by the code after the await */
} in_switch_t;

AX_ASYNC(in_switch_fn, in_switch_t, self) {
  AX_BEGIN(self);
  switch (self->mode) {
  case 1:
    AX_AWAIT(ax_yield_now(&self->y));
    self->after = 1;
    break;
  default:
    break;
  }
  AX_END();
}

START_TEST(await_in_switch_panics) {
  th_join_t j;
  in_switch_t s = {0};
  s.mode = 1;
  th_run(_i, 2, th_join(&j, AX_FUTURE(in_switch_fn, &s), sizeof(s)));
  ck_assert_int_eq(j.result, AX_EPANIC);
  ck_assert_msg(strstr(j.panic, "inside a switch") != NULL, "panic: %s",
                j.panic);
}
END_TEST

/* ---- a task's future is dropped when the task ends ------------------------ */

/* The chapter's producer: it owns a sender clone, which its drop handler
 * releases.  The consumer receives until the channel closes, and only then
 * joins the producer, as Tokio code does.  That needs the producer's
 * future (its sender) dropped when the producer finishes, not when its
 * join handle is dropped. */
typedef struct {
  ax_async_t co;
  ax_mpsc_tx_t *tx;
  ax_mpsc_send_t send;
  int i, v;
} producer_t;

AX_ASYNC(producer_fn, producer_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < 5; self->i++) {
    self->v = self->i;
    AX_AWAIT(ax_mpsc_send(&self->send, self->tx, &self->v));
  }
  AX_END();
}

AX_ASYNC_DROP(producer_drop, producer_t, self) {
  ax_mpsc_sender_drop(self->tx);
  self->tx = NULL;
}

typedef struct {
  ax_async_t co;
  ax_join_t h;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_t recv;
  int v, got, sum, join_result;
} consumer_t;

AX_ASYNC(consumer_fn, consumer_t, self) {
  AX_BEGIN(self);
  {
    ax_mpsc_tx_t *tx;
    producer_t p = {0};
    ck_assert_int_eq(ax_mpsc_new(sizeof(int), 2, NULL, &tx, &self->rx), 0);
    p.tx = ax_mpsc_sender_clone(tx);
    TH_ASSERT_OK(ax_spawn(AX_FUTURE_DROP(producer_fn, producer_drop, &p),
                          sizeof(p), &self->h));
    ax_mpsc_sender_drop(tx);      /* drop(tx): only the producer's is left */
  }
  for (;;) {
    AX_AWAIT(ax_mpsc_recv(&self->recv, self->rx, &self->v));
    if (self->recv.result != 0) break;   /* closed: every sender is gone */
    self->got++;
    self->sum += self->v;
  }
  AX_AWAIT(ax_join_wait(&self->h));
  self->join_result = self->h.result;
  ax_join_drop(&self->h);
  ax_mpsc_receiver_drop(self->rx);
  AX_END();
}

START_TEST(task_future_dropped_when_it_ends) {
  consumer_t c = {0};
  th_run(_i, 2, AX_FUTURE(consumer_fn, &c));
  ck_assert_int_eq(c.got, 5);
  ck_assert_int_eq(c.sum, 0 + 1 + 2 + 3 + 4);
  ck_assert_int_eq(c.join_result, 0);
}
END_TEST

/* ---- ax_by_ref: one deadline across many selects ------------------------- */

typedef struct {
  ax_async_t co;
  ax_sleep_t deadline;        /* raced every round, never given up */
  ax_by_ref_t r;
  ax_select_t race;
  ax_mpsc_rx_t *rx;
  ax_mpsc_recv_t recv;
  int v, got, rounds_won_by_recv;
  int deadline_dropped_midway;  /* the sleep was elapsed after a round */
  int final_winner;
} deadline_loop_t;

AX_ASYNC(deadline_loop_fn, deadline_loop_t, self) {
  AX_BEGIN(self);
  for (;;) {
    /* Biased, the receive first: it wins while values are queued, and the
     * deadline only once the channel is empty (whatever the clock says). */
    AX_AWAIT(ax_select_biased(&self->race,
                              ax_mpsc_recv(&self->recv, self->rx, &self->v),
                              ax_by_ref(&self->r, &self->deadline.base)));
    if (self->race.winner == 1) break;
    if (ax_sleep_is_elapsed(&self->deadline))
      self->deadline_dropped_midway = 1;
    if (self->recv.result != 0) break;
    self->rounds_won_by_recv++;
    self->got += self->v;
  }
  self->final_winner = self->race.winner;
  ax_drop(&self->deadline.base);  /* the caller's, as always */
  AX_END();
}

START_TEST(by_ref_keeps_the_loser) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);   /* before the deadline */
  deadline_loop_t d = {0};
  ax_mpsc_tx_t *tx;
  int k;
  TH_ASSERT_OK(ax_mpsc_new_unbounded(sizeof(int), NULL, &tx, &d.rx));
  for (k = 1; k <= 3; k++) TH_ASSERT_OK(ax_mpsc_try_send(tx, &k));
  /* Three rounds won by the receive; then, the channel empty and open,
   * the same deadline (a millisecond after the start) wins. */
  ax_sleep(&d.deadline, 1);
  th_run_on(rt, AX_FUTURE(deadline_loop_fn, &d));
  ck_assert_int_eq(d.rounds_won_by_recv, 3);
  ck_assert_int_eq(d.got, 1 + 2 + 3);
  ck_assert_int_eq(d.deadline_dropped_midway, 0);
  ck_assert_int_eq(d.final_winner, 1);
  ck_assert_int_eq(ax_sleep_result(&d.deadline), 0);  /* it fired, not
                                                          cancelled */
  ax_mpsc_sender_drop(tx);
  ax_mpsc_receiver_drop(d.rx);
}
END_TEST

/* ---- spawn_blocking's destructors ----------------------------------------- */

static _Atomic int arg_drops, result_drops;
static uv_sem_t result_dropped;   /* posted per result drop: it may run on
                                     a pool thread after the joiner left */

static void count_free_arg(void *p) {
  free(p);
  atomic_fetch_add(&arg_drops, 1);
}

static void count_free_result(void *p) {
  free(p);
  atomic_fetch_add(&result_drops, 1);
  uv_sem_post(&result_dropped);
}

/* Returns a heap copy of its argument (which it frees): a job that owns
 * both its argument and its result. */
static void *dup_job(void *arg) {
  char *r = (char *)malloc(16);
  if (r != NULL) snprintf(r, 16, "%s!", (char *)arg);
  free(arg);
  return r;
}

static char *heap_str(const char *s) {
  char *p = (char *)malloc(strlen(s) + 1);
  ck_assert_ptr_nonnull(p);
  strcpy(p, s);
  return p;
}

typedef struct {
  ax_async_t co;
  ax_join_t h;
  int take;           /* take the value (else drop the handle unread) */
  char *taken;        /* the value, when taken */
} blocking_user_t;

AX_ASYNC(blocking_user_fn, blocking_user_t, self) {
  AX_BEGIN(self);
  TH_ASSERT_OK(ax_spawn_blocking_with(NULL, dup_job, heap_str("hi"),
                                      count_free_arg, count_free_result,
                                      &self->h));
  AX_AWAIT(ax_join_wait(&self->h));
  TH_ASSERT_OK(self->h.result);
  if (self->take) self->taken = (char *)ax_join_value(&self->h);
  ax_join_drop(&self->h);
  AX_END();
}

START_TEST(blocking_result_dropped_unless_taken) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  ck_assert_int_eq(uv_sem_init(&result_dropped, 0), 0);
  for (int take = 0; take <= 1; take++) {
    blocking_user_t u = {0};
    u.take = take;
    atomic_store(&arg_drops, 0);
    atomic_store(&result_drops, 0);
    th_block_on(rt, AX_FUTURE(blocking_user_fn, &u));
    ax_drop(AX_FUTURE_OF(&u));
    ck_assert_int_eq(atomic_load(&arg_drops), 0);      /* fn had it */
    if (take) {
      ck_assert_str_eq(u.taken, "hi!");
      ck_assert_int_eq(atomic_load(&result_drops), 0);  /* ours now */
      free(u.taken);
    } else {
      /* Nobody took it: it goes with the task, whose last reference may
       * be the pool thread's, after the joiner was woken. */
      uv_sem_wait(&result_dropped);
      ck_assert_int_eq(atomic_load(&result_drops), 1);
    }
  }
  ax_runtime_free(rt);
  uv_sem_destroy(&result_dropped);
}
END_TEST

/* Jobs that hold a pool thread until released. */
static uv_sem_t hold;
static void *held_job(void *arg) {
  uv_sem_wait(&hold);
  return arg;
}

/* More held jobs than any pool this suite runs with has threads, so that
 * the job spawned after them waits in axle's queue. */
#define HOLDERS 64

START_TEST(blocking_arg_dropped_when_never_run) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  ax_join_t holders[HOLDERS], h;
  int k;
  ck_assert_int_eq(uv_sem_init(&result_dropped, 0), 0);
  ck_assert_int_eq(uv_sem_init(&hold, 0), 0);
  atomic_store(&arg_drops, 0);
  atomic_store(&result_drops, 0);
  for (k = 0; k < HOLDERS; k++)
    TH_ASSERT_OK(ax_spawn_blocking_on(rt, held_job, NULL, &holders[k]));
  TH_ASSERT_OK(ax_spawn_blocking_with(rt, dup_job, heap_str("never"),
                                      count_free_arg, count_free_result, &h));
  TH_ASSERT_OK(ax_abort(&h));   /* queued behind the holders: never runs */
  th_block_on(rt, ax_join_wait(&h));  /* cancelled on a worker */
  ck_assert_int_eq(h.result, AX_ECANCELED);
  ck_assert_int_eq(atomic_load(&arg_drops), 1);
  ax_join_drop(&h);
  for (k = 0; k < HOLDERS; k++) uv_sem_post(&hold);
  for (k = 0; k < HOLDERS; k++) ax_join_drop(&holders[k]);
  ax_runtime_free(rt);
  ck_assert_int_eq(atomic_load(&result_drops), 0);
  uv_sem_destroy(&hold);
  uv_sem_destroy(&result_dropped);
}
END_TEST

/* The guide's hash example, cancelled mid-hash: the awaiting task goes,
 * the job runs to its end, and its result must not leak. */
typedef struct {
  ax_async_t co;
  ax_join_t job;
  th_latch_t *started;
} hash_waiter_t;

static void *held_dup_job(void *arg) {
  uv_sem_wait(&hold);
  return dup_job(arg);
}

AX_ASYNC(hash_waiter_fn, hash_waiter_t, self) {
  AX_BEGIN(self);
  TH_ASSERT_OK(ax_spawn_blocking_with(NULL, held_dup_job, heap_str("mid"),
                                      count_free_arg, count_free_result,
                                      &self->job));
  th_latch_down(self->started);
  AX_AWAIT(ax_join_wait(&self->job));
  AX_END();
}

AX_ASYNC_DROP(hash_waiter_drop, hash_waiter_t, self) {
  ax_join_drop(&self->job);       /* detaches the job; it keeps running */
}

typedef struct {
  ax_async_t co;
  ax_join_t h;
  th_latch_t started;
  th_latchwait_t lw;
} hash_canceller_t;

AX_ASYNC(hash_canceller_fn, hash_canceller_t, self) {
  AX_BEGIN(self);
  {
    hash_waiter_t w = {0};
    w.started = &self->started;
    TH_ASSERT_OK(ax_spawn(AX_FUTURE_DROP(hash_waiter_fn, hash_waiter_drop, &w),
                          sizeof(w), &self->h));
  }
  AX_AWAIT(th_latch_wait(&self->lw, &self->started));
  TH_ASSERT_OK(ax_abort(&self->h));
  AX_AWAIT(ax_join_wait(&self->h));
  ck_assert_int_eq(self->h.result, AX_ECANCELED);
  ax_join_drop(&self->h);
  uv_sem_post(&hold);            /* the job finishes after its waiter left */
  AX_END();
}

START_TEST(blocking_result_dropped_when_awaiter_cancelled) {
  ax_runtime_t *rt = th_runtime(_i, 2, NULL);
  hash_canceller_t c = {0};
  ck_assert_int_eq(uv_sem_init(&hold, 0), 0);
  ck_assert_int_eq(uv_sem_init(&result_dropped, 0), 0);
  atomic_store(&arg_drops, 0);
  atomic_store(&result_drops, 0);
  th_latch_init(&c.started, 1);
  th_block_on(rt, AX_FUTURE(hash_canceller_fn, &c));
  ax_drop(AX_FUTURE_OF(&c));
  uv_sem_wait(&result_dropped);  /* on the pool thread, once the job ends */
  ck_assert_int_eq(atomic_load(&arg_drops), 0);
  ck_assert_int_eq(atomic_load(&result_drops), 1);
  ax_runtime_free(rt);
  th_latch_destroy(&c.started);
  uv_sem_destroy(&hold);
  uv_sem_destroy(&result_dropped);
}
END_TEST

/* ---- ax_main_with ---------------------------------------------------------- */

typedef struct {
  ax_async_t co;
  int ran;
  unsigned workers;
} main_with_t;

AX_ASYNC(main_with_fn, main_with_t, self) {
  AX_BEGIN(self);
  self->ran = 1;
  self->workers = ax_runtime_workers(ax_runtime_current());
  AX_END();
}

START_TEST(main_with_builder) {
  ax_builder_t b;
  main_with_t m = {0};
  ax_builder_init(&b, AX_CURRENT_THREAD);
  TH_ASSERT_OK(ax_main_with(&b, AX_FUTURE(main_with_fn, &m)));
  ck_assert_int_eq(m.ran, 1);
  ck_assert_uint_eq(m.workers, 1);
  ax_drop(AX_FUTURE_OF(&m));
}
END_TEST

/* ---- more futures than a combinator can hold ------------------------------ */

START_TEST(select_n_refuses_more_than_inline) {
  const size_t n = AX_SELECT_INLINE + 2;
  th_leaves_t lv;
  ax_select_t s;
  ax_join_all_t j;
  th_assert_refused(ax_select_n(&s, th_leaves(&lv, n), n, 0), &s.result, &lv,
                    n);
  ck_assert_int_eq(s.winner, -1);
  th_assert_refused(ax_join_all_array(&j, th_leaves(&lv, n), n, NULL),
                    &j.result, &lv, n);
}
END_TEST

Suite *ax_api_suite(void) {
  return AX_SUITE("api",
                  AX_CASE("api", 20),
                  AX_FLAVOURS(await_in_switch_panics),
                  AX_FLAVOURS(task_future_dropped_when_it_ends),
                  AX_FLAVOURS(by_ref_keeps_the_loser),
                  AX_FLAVOURS(blocking_result_dropped_unless_taken),
                  AX_FLAVOURS(blocking_arg_dropped_when_never_run),
                  AX_FLAVOURS(blocking_result_dropped_when_awaiter_cancelled),
                  AX_ONCE(main_with_builder),
                  AX_ONCE(select_n_refuses_more_than_inline));
}
