/* Stress on the multi-thread runtime (issue 3's "Correctness"): these run
 * in every setup and must stay clean under TSan, ASan and valgrind.
 *
 *   - 1,000,000 spawns from inside the runtime (tasks on workers) and from
 *     outside (the test thread and foreign uv_threads);
 *   - tasks woken from foreign threads, many at once and in ping-pong;
 *   - aborts racing completion; join handles dropped racing completion
 *     (panics reach the hook exactly once);
 *   - shutdown while tasks are being spawned, yielded and stolen;
 *   - wakes from foreign threads racing the shutdown itself.
 *
 * Sizes go through ax_test_iters() (AX_TEST_SCALE: the slow setups scale
 * them down); the plain setup runs the full million.  Nothing is timed:
 * every check is a count, a result code or a drop count.
 */
#include "helpers.h"

#define WORKERS 4   /* more than this machine may have CPUs: preemption */

static ax_runtime_t *mt_runtime(th_hook_t *hook) {
  return th_runtime(1, WORKERS, hook);
}

/* ---- a leaf task that counts --------------------------------------------- */

typedef struct {
  ax_future_t base;
  _Atomic long *ran;
  _Atomic long *drops;
  th_latch_t *done;     /* may be NULL */
  int yields;           /* self-wakes before ready */
  long out;
} tick_t;

/* While *yields > 0: one less, and the task woken to be polled again at
 * once (the poll then returns pending).  Returns whether it yielded. */
static int spend_yield(int *yields, ax_cx_t *cx) {
  if (*yields <= 0) return 0;
  (*yields)--;
  ax_waker_wake_by_ref(ax_cx_waker(cx));
  return 1;
}

static ax_poll_t tick_poll(ax_future_t *f, ax_cx_t *cx) {
  tick_t *t = (tick_t *)f;
  if (spend_yield(&t->yields, cx)) return AX_PENDING;
  t->out = atomic_fetch_add(t->ran, 1) + 1;
  if (t->done != NULL) th_latch_down(t->done);
  return AX_READY;
}

static void tick_drop(ax_future_t *f) {
  atomic_fetch_add(((tick_t *)f)->drops, 1);
}

static const ax_future_vtable_t tick_vt = {tick_poll, tick_drop, "tick"};

static tick_t tick(_Atomic long *ran, _Atomic long *drops, th_latch_t *done,
                   int yields) {
  tick_t t = {{&tick_vt}, ran, drops, done, yields, 0};
  return t;
}

/* ---- 1,000,000 spawns from inside ---------------------------------------- */

#define BATCH 64

typedef struct {
  ax_async_t co;
  long n;                 /* tasks to spawn */
  _Atomic long *ran, *drops, *spawned, *bad;
  th_latch_t *done;
  ax_join_t h[BATCH];
  long i;
  int k, m;
} spawner_t;

AX_ASYNC(spawner_fn, spawner_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < self->n;) {
    /* Half with handles, awaited; half detached. */
    self->m = 0;
    for (int k = 0; k < BATCH && self->i < self->n; k++, self->i++) {
      tick_t t = tick(self->ran, self->drops, self->done, (int)(self->i % 3));
      if (ax_spawn(&t.base, sizeof(t), (k & 1) ? NULL : &self->h[self->m]) !=
          0) {
        atomic_fetch_add(self->bad, 1);
        continue;
      }
      atomic_fetch_add(self->spawned, 1);
      if (!(k & 1)) self->m++;
    }
    for (self->k = 0; self->k < self->m; self->k++) {
      AX_AWAIT(ax_join_wait(&self->h[self->k]));
      if (self->h[self->k].result != 0 ||
          ((tick_t *)ax_join_output(&self->h[self->k]))->out <= 0)
        atomic_fetch_add(self->bad, 1);
      ax_join_drop(&self->h[self->k]);
    }
  }
  AX_END();
}

typedef struct {
  ax_async_t co;
  long n;
  int spawners, k, nsh;
  _Atomic long ran, drops, spawned, bad;
  th_latch_t done;
  th_latchwait_t lw;
  ax_join_t sh[8];
} inside_t;

/* The spawners are joined, not only the latch awaited: the latch opens
 * when the last tick has run, and a spawner may still be about to join
 * its last handles then.  Freeing the runtime would cancel it with
 * those handles held, and the ticks they own would never be dropped. */
AX_ASYNC(inside_fn, inside_t, self) {
  AX_BEGIN(self);
  for (int k = 0; k < self->spawners; k++) {
    spawner_t s = {0};
    s.n = self->n / self->spawners + (k < self->n % self->spawners ? 1 : 0);
    s.ran = &self->ran;
    s.drops = &self->drops;
    s.spawned = &self->spawned;
    s.bad = &self->bad;
    s.done = &self->done;
    if (AX_SPAWN(spawner_fn, &s, &self->sh[self->nsh]) != 0)
      atomic_fetch_add(&self->bad, 1);
    else
      self->nsh++;
  }
  AX_AWAIT(th_latch_wait(&self->lw, &self->done));
  for (self->k = 0; self->k < self->nsh; self->k++) {
    AX_AWAIT(ax_join_wait(&self->sh[self->k]));
    if (self->sh[self->k].result != 0) atomic_fetch_add(&self->bad, 1);
    ax_join_drop(&self->sh[self->k]);
  }
  AX_END();
}

START_TEST(spawn_million_inside) {
  inside_t *s = calloc(1, sizeof(*s));
  ck_assert_ptr_nonnull(s);
  s->n = (long)ax_test_iters(1000000);
  s->spawners = 8;
  th_latch_init(&s->done, s->n);
  th_run(MULTI, WORKERS, AX_FUTURE(inside_fn, s));
  ck_assert_int_eq(atomic_load(&s->bad), 0);
  ck_assert_int_eq(atomic_load(&s->spawned), s->n);
  ck_assert_int_eq(atomic_load(&s->ran), s->n);
  ck_assert_int_eq(atomic_load(&s->drops), s->n);
  th_latch_destroy(&s->done);
  free(s);
}
END_TEST

/* ---- 1,000,000 spawns from outside --------------------------------------- */

typedef struct {
  ax_runtime_t *rt;
  long n;
  _Atomic long *ran, *drops, *bad;
  th_latch_t *done;
} outside_arg_t;

static void outside_spawner(void *arg) {
  outside_arg_t *a = arg;
  for (long i = 0; i < a->n; i++) {
    tick_t t = tick(a->ran, a->drops, a->done, (int)(i % 2));
    if (ax_spawn_on(a->rt, &t.base, sizeof(t), NULL) != 0)
      atomic_fetch_add(a->bad, 1);
  }
}

/* The handles of the last part are awaited by a block_on future. */
typedef struct {
  ax_async_t co;
  ax_join_t *h;
  long n, i;
  long bad;
} await_all_t;

AX_ASYNC(await_all_fn, await_all_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < self->n; self->i++) {
    AX_AWAIT(ax_join_wait(&self->h[self->i]));
    if (self->h[self->i].result != 0) self->bad++;
    ax_join_drop(&self->h[self->i]);
  }
  AX_END();
}

START_TEST(spawn_million_outside) {
  enum { THREADS = 3 };
  ax_runtime_t *rt = mt_runtime(NULL);
  long n = (long)ax_test_iters(1000000);
  long with_handles = n / 10, detached = n - with_handles;
  _Atomic long ran = 0, drops = 0, bad = 0;
  th_latch_t done;
  outside_arg_t args[THREADS];
  uv_thread_t thr[THREADS];
  ax_join_t *h = calloc((size_t)with_handles + 1, sizeof(*h));
  await_all_t aw;
  ck_assert_ptr_nonnull(h);
  th_latch_init(&done, n);
  /* Two foreign threads and this one spawn concurrently. */
  for (int k = 0; k < THREADS; k++) {
    args[k].rt = rt;
    args[k].n = detached / THREADS + (k < detached % THREADS ? 1 : 0);
    args[k].ran = &ran;
    args[k].drops = &drops;
    args[k].bad = &bad;
    args[k].done = &done;
  }
  for (int k = 1; k < THREADS; k++)
    ck_assert_int_eq(uv_thread_create(&thr[k], outside_spawner, &args[k]), 0);
  outside_spawner(&args[0]);
  for (long i = 0; i < with_handles; i++) {
    tick_t t = tick(&ran, &drops, &done, 0);
    TH_ASSERT_OK(ax_spawn_on(rt, &t.base, sizeof(t), &h[i]));
  }
  for (int k = 1; k < THREADS; k++) uv_thread_join(&thr[k]);
  memset(&aw, 0, sizeof(aw));
  aw.h = h;
  aw.n = with_handles;
  th_block_on(rt, AX_FUTURE(await_all_fn, &aw));
  ck_assert_int_eq(aw.bad, 0);
  th_latch_wait_blocking(&done);
  ck_assert_int_eq(atomic_load(&bad), 0);
  ck_assert_int_eq(atomic_load(&ran), n);
  th_finish(rt, AX_FUTURE_OF(&aw));
  ck_assert_int_eq(atomic_load(&drops), n);
  th_latch_destroy(&done);
  free(h);
}
END_TEST

/* ---- wakes from foreign threads ------------------------------------------ */

/* A mailbox: posts from any thread, one async consumer (or a blocking
 * one). */
typedef struct {
  uv_mutex_t lock;
  uv_cond_t cond;
  long posted;          /* under lock */
  ax_waker_t *waker;    /* under lock */
} mbox_t;

static void mbox_init(mbox_t *m) {
  uv_mutex_init(&m->lock);
  uv_cond_init(&m->cond);
  m->posted = 0;
  m->waker = NULL;
}

static void mbox_destroy(mbox_t *m) {
  ck_assert_ptr_null(m->waker);
  uv_cond_destroy(&m->cond);
  uv_mutex_destroy(&m->lock);
}

static void mbox_post(mbox_t *m) {
  ax_waker_t *w;
  uv_mutex_lock(&m->lock);
  m->posted++;
  w = m->waker;
  m->waker = NULL;
  uv_cond_signal(&m->cond);
  uv_mutex_unlock(&m->lock);
  if (w != NULL) ax_waker_wake(w);
}

/* Blocks the calling (non-runtime) thread until posted > *seen. */
static void mbox_wait_blocking(mbox_t *m, long *seen) {
  uv_mutex_lock(&m->lock);
  while (m->posted <= *seen) uv_cond_wait(&m->cond, &m->lock);
  *seen = m->posted;
  uv_mutex_unlock(&m->lock);
}

typedef struct {
  ax_future_t base;
  mbox_t *m;
  long *seen;
} mbox_recv_t;

static ax_poll_t mbox_recv_poll(ax_future_t *f, ax_cx_t *cx) {
  mbox_recv_t *r = (mbox_recv_t *)f;
  ax_waker_t *old = NULL;
  ax_poll_t p = AX_PENDING;
  uv_mutex_lock(&r->m->lock);
  if (r->m->posted > *r->seen) {
    *r->seen = r->m->posted;
    p = AX_READY;
  } else if (r->m->waker == NULL ||
             !ax_waker_will_wake(r->m->waker, ax_cx_waker(cx))) {
    old = r->m->waker;
    r->m->waker = ax_waker_clone(ax_cx_waker(cx));
  }
  uv_mutex_unlock(&r->m->lock);
  if (old != NULL) ax_waker_drop(old);
  return p;
}

static void mbox_recv_drop(ax_future_t *f) {
  mbox_recv_t *r = (mbox_recv_t *)f;
  ax_waker_t *w;
  uv_mutex_lock(&r->m->lock);
  w = r->m->waker;
  r->m->waker = NULL;
  uv_mutex_unlock(&r->m->lock);
  if (w != NULL) ax_waker_drop(w);
}

static const ax_future_vtable_t mbox_recv_vt = {mbox_recv_poll,
                                                mbox_recv_drop, "mbox_recv"};

static ax_future_t *mbox_recv(mbox_recv_t *r, mbox_t *m, long *seen) {
  r->base.vtable = &mbox_recv_vt;
  r->m = m;
  r->seen = seen;
  return &r->base;
}

/* Consumer task: receives until it has seen `target` posts. */
typedef struct {
  ax_async_t co;
  mbox_t *m;
  mbox_recv_t r;
  long seen, target;
  long wakeups;
  th_latch_t *done;
} consumer_t;

AX_ASYNC(consumer_fn, consumer_t, self) {
  AX_BEGIN(self);
  while (self->seen < self->target) {
    AX_AWAIT(mbox_recv(&self->r, self->m, &self->seen));
    self->wakeups++;
  }
  th_latch_down(self->done);
  AX_END();
}

typedef struct {
  mbox_t *boxes;
  int nboxes;
  long rounds;
} poster_arg_t;

static void poster(void *arg) {
  poster_arg_t *p = arg;
  for (long r = 0; r < p->rounds; r++)
    for (int k = 0; k < p->nboxes; k++) mbox_post(&p->boxes[k]);
}

START_TEST(wakes_from_foreign_threads) {
  enum { TASKS = 64, POSTERS = 3 };
  ax_runtime_t *rt = mt_runtime(NULL);
  long rounds = (long)ax_test_iters(2000);
  mbox_t boxes[TASKS];
  ax_join_t h[TASKS];
  th_latch_t done;
  uv_thread_t thr[POSTERS];
  poster_arg_t pa = {boxes, TASKS, rounds};
  th_latch_init(&done, TASKS);
  for (int k = 0; k < TASKS; k++) {
    consumer_t c = {0};
    mbox_init(&boxes[k]);
    c.m = &boxes[k];
    c.target = rounds * POSTERS;
    c.done = &done;
    TH_ASSERT_OK(ax_spawn_on(rt, AX_FUTURE(consumer_fn, &c), sizeof(c), &h[k]));
  }
  for (int k = 0; k < POSTERS; k++)
    ck_assert_int_eq(uv_thread_create(&thr[k], poster, &pa), 0);
  for (int k = 0; k < POSTERS; k++) uv_thread_join(&thr[k]);
  th_latch_wait_blocking(&done);
  for (int k = 0; k < TASKS; k++) {
    /* It counted down just before returning ready: wait for the end. */
    while (!ax_join_is_finished(&h[k])) uv_sleep(1);
    consumer_t *c = ax_join_output(&h[k]);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->seen, rounds * POSTERS);
    ck_assert_int_ge(c->wakeups, 1);
    ck_assert_int_le(c->wakeups, rounds * POSTERS);
    ax_join_drop(&h[k]);
  }
  ax_runtime_free(rt);
  for (int k = 0; k < TASKS; k++) mbox_destroy(&boxes[k]);
  th_latch_destroy(&done);
}
END_TEST

/* Ping-pong with a foreign thread: strict alternation, n round trips. */
typedef struct {
  ax_async_t co;
  mbox_t *ping, *pong;
  mbox_recv_t r;
  long seen, n, i;
} ponger_t;

AX_ASYNC(ponger_fn, ponger_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < self->n; self->i++) {
    AX_AWAIT(mbox_recv(&self->r, self->ping, &self->seen));
    mbox_post(self->pong);
  }
  AX_END();
}

START_TEST(ping_pong_foreign_thread) {
  ax_runtime_t *rt = mt_runtime(NULL);
  mbox_t ping, pong;
  ax_join_t h;
  ponger_t p = {0};
  long n = (long)ax_test_iters(20000), seen = 0;
  mbox_init(&ping);
  mbox_init(&pong);
  p.ping = &ping;
  p.pong = &pong;
  p.n = n;
  TH_ASSERT_OK(ax_spawn_on(rt, AX_FUTURE(ponger_fn, &p), sizeof(p), &h));
  for (long i = 0; i < n; i++) {
    mbox_post(&ping);
    mbox_wait_blocking(&pong, &seen);
    ck_assert_int_eq(seen, i + 1);   /* exactly one answer per ping */
  }
  while (!ax_join_is_finished(&h)) uv_sleep(1);
  ck_assert_int_eq(((ponger_t *)ax_join_output(&h))->seen, n);
  ax_join_drop(&h);
  ax_runtime_free(rt);
  mbox_destroy(&ping);
  mbox_destroy(&pong);
}
END_TEST

/* ---- aborts racing completion -------------------------------------------- */

typedef struct {
  ax_join_t *h;
  long n;
  int stride;
} aborter_arg_t;

static void aborter_thread(void *arg) {
  aborter_arg_t *a = arg;
  /* Visit the handles in a scattered order. */
  for (long k = 0; k < a->n; k++) {
    long i = (k * a->stride) % a->n;
    ax_abort(&a->h[i]);
  }
}

/* What both races share: n ticks (spawned with kinds 0..kinds-1 in turn)
 * and how their joins ended. */
typedef struct {
  ax_join_t *h;
  long n;
  long ok, cancelled, other, bad_out;
  _Atomic long ran, drops;
} race_t;

static void race_init(race_t *r) {
  r->n = (long)ax_test_iters(100000);
  if (r->n % 7919 == 0) r->n++;   /* the aborter thread's stride */
  r->h = calloc((size_t)r->n, sizeof(*r->h));
  ck_assert_ptr_nonnull(r->h);
}

static void race_spawn(race_t *r, int kinds) {
  for (long i = 0; i < r->n; i++) {
    tick_t t = tick(&r->ran, &r->drops, NULL, (int)(i % kinds));
    ax_spawn(&t.base, sizeof(t), &r->h[i]);
  }
}

/* Counts how joined task i ended: a completed tick has its output, a
 * cancelled one none. */
static void race_tally(race_t *r, long i) {
  switch (r->h[i].result) {
    case 0:
      r->ok++;
      if (((tick_t *)ax_join_output(&r->h[i]))->out <= 0) r->bad_out++;
      break;
    case AX_ECANCELED:
      r->cancelled++;
      if (ax_join_output(&r->h[i]) != NULL) r->bad_out++;
      break;
    default:
      r->other++;
  }
}

/* Every task ended one way or the other; every completed one ran exactly
 * once, no cancelled one completed; every one was dropped. */
static void race_check(race_t *r) {
  ck_assert_int_eq(r->other, 0);
  ck_assert_int_eq(r->bad_out, 0);
  ck_assert_int_eq(r->ok + r->cancelled, r->n);
  ck_assert_int_eq(atomic_load(&r->ran), r->ok);
  ck_assert_int_eq(atomic_load(&r->drops), r->n);
  free(r->h);
}

/* Aborts from a task on a worker (the second race). */
typedef struct {
  ax_async_t co;
  ax_join_t *h;
  long n;
  long i;
  ax_yield_t y;
} task_aborter_t;

AX_ASYNC(task_aborter_fn, task_aborter_t, self) {
  AX_BEGIN(self);
  for (self->i = 0; self->i < self->n; self->i++) {
    ax_abort(&self->h[self->i]);
    if (self->i % 16 == 0) AX_AWAIT(ax_yield_now(&self->y));
  }
  AX_END();
}

/* The race: spawn the ticks, abort them from a foreign thread (first
 * race) or from a task on a worker (from_task), and join them all. */
typedef struct {
  ax_async_t co;
  race_t r;
  int from_task;
  long i;
  aborter_arg_t aa;     /* the foreign thread's */
  uv_thread_t thr;
  int thr_ok;
  ax_join_t ah;         /* the aborter task */
} abort_race_t;

AX_ASYNC(abort_race_fn, abort_race_t, self) {
  AX_BEGIN(self);
  race_spawn(&self->r, self->from_task ? 3 : 4);
  if (self->from_task) {
    task_aborter_t a = {0};
    a.h = self->r.h;
    a.n = self->r.n;
    AX_SPAWN(task_aborter_fn, &a, &self->ah);
  } else {
    /* It aborts them while they run on the workers and while this future
     * awaits them. */
    self->aa.h = self->r.h;
    self->aa.n = self->r.n;
    self->aa.stride = 7919;   /* prime: a permutation of 0..n-1 */
    self->thr_ok =
        uv_thread_create(&self->thr, aborter_thread, &self->aa) == 0;
  }
  if (self->from_task) {
    AX_AWAIT(ax_join_wait(&self->ah));   /* aborter done before any drop */
    ax_join_drop(&self->ah);
  }
  for (self->i = 0; self->i < self->r.n; self->i++) {
    AX_AWAIT(ax_join_wait(&self->r.h[self->i]));
    race_tally(&self->r, self->i);
    if (self->from_task) ax_join_drop(&self->r.h[self->i]);
  }
  if (!self->from_task) {
    if (self->thr_ok) uv_thread_join(&self->thr);   /* before any drop */
    for (long i = 0; i < self->r.n; i++) ax_join_drop(&self->r.h[i]);
  }
  AX_END();
}

START_TEST(aborts_race_completion) {
  abort_race_t s = {0};
  race_init(&s.r);
  th_run(MULTI, WORKERS, AX_FUTURE(abort_race_fn, &s));
  ck_assert(s.thr_ok);
  race_check(&s.r);
}
END_TEST

START_TEST(aborts_from_task_race_completion) {
  abort_race_t s = {0};
  s.from_task = 1;
  race_init(&s.r);
  th_run(MULTI, WORKERS, AX_FUTURE(abort_race_fn, &s));
  race_check(&s.r);
}
END_TEST

/* ---- join handles dropped racing completion ------------------------------ */

typedef struct {
  ax_future_t base;
  long i;
  _Atomic long *finished, *drops;
  int yields;
} maybe_panic_t;

static ax_poll_t maybe_panic_poll(ax_future_t *f, ax_cx_t *cx) {
  maybe_panic_t *m = (maybe_panic_t *)f;
  if (spend_yield(&m->yields, cx)) return AX_PENDING;
  atomic_fetch_add(m->finished, 1);
  if (m->i % 3 == 0) ax_panic("task %ld gave up", m->i);
  return AX_READY;
}

static void maybe_panic_drop(ax_future_t *f) {
  atomic_fetch_add(((maybe_panic_t *)f)->drops, 1);
}

static const ax_future_vtable_t maybe_panic_vt = {maybe_panic_poll,
                                                  maybe_panic_drop, NULL};

typedef struct {
  ax_join_t *h;
  long n;
} dropper_arg_t;

static void dropper_thread(void *arg) {
  dropper_arg_t *d = arg;
  for (long i = 0; i < d->n; i++) ax_join_drop(&d->h[i]);
}

START_TEST(join_drops_race_completion) {
  th_hook_t hook;
  th_hook_init(&hook);
  ax_runtime_t *rt = mt_runtime(&hook);
  long n = (long)ax_test_iters(100000), panics = 0;
  _Atomic long finished = 0, drops = 0;
  ax_join_t *h = calloc((size_t)n, sizeof(*h));
  dropper_arg_t da = {h, n};
  uv_thread_t thr;
  ck_assert_ptr_nonnull(h);
  for (long i = 0; i < n; i++) {
    maybe_panic_t m = {{&maybe_panic_vt}, i, &finished, &drops, (int)(i % 4)};
    TH_ASSERT_OK(ax_spawn_on(rt, &m.base, sizeof(m), &h[i]));
    if (i % 3 == 0) panics++;
  }
  /* Dropped by a foreign thread while they run. */
  ck_assert_int_eq(uv_thread_create(&thr, dropper_thread, &da), 0);
  uv_thread_join(&thr);
  /* Wait until every task has finished its last poll (an event). */
  while (atomic_load(&finished) < n) uv_sleep(1);
  ax_runtime_free(rt);   /* joins the workers: every report is done */
  /* Every unjoined panic was reported exactly once, nothing else was. */
  ck_assert_int_eq(atomic_load(&hook.calls), panics);
  ck_assert_int_eq(atomic_load(&drops), n);
  th_hook_destroy(&hook);
  free(h);
}
END_TEST

/* ---- shutdown while tasks are being stolen ------------------------------- */

/* A fan-out tree: each node spawns `fan` children (detached) until `depth`
 * 0, yielding between spawns, so local queues overflow and idle workers
 * steal, while the test thread shuts the runtime down in the middle. */
typedef struct {
  ax_async_t co;
  int depth, fan, k;
  _Atomic long *spawned, *drops, *progress;
  ax_yield_t y;
} node_t;

AX_ASYNC_DROP(node_on_drop, node_t, n) { atomic_fetch_add(n->drops, 1); }

AX_ASYNC(node_fn, node_t, self) {
  AX_BEGIN(self);
  atomic_fetch_add(self->progress, 1);
  for (self->k = 0; self->depth > 0 && self->k < self->fan; self->k++) {
    node_t c = *self;
    c.depth = self->depth - 1;
    c.k = 0;
    if (ax_spawn(AX_FUTURE_DROP(node_fn, node_on_drop, &c), sizeof(c), NULL) ==
        0)
      atomic_fetch_add(self->spawned, 1);
    AX_AWAIT(ax_yield_now(&self->y));
  }
  for (self->k = 0; self->k < 4; self->k++) AX_AWAIT(ax_yield_now(&self->y));
  AX_END();
}

START_TEST(shutdown_while_stealing) {
  int rounds = (int)ax_test_iters(20);
  for (int round = 0; round < rounds; round++) {
    ax_runtime_t *rt = mt_runtime(NULL);
    _Atomic long spawned = 0, drops = 0, progress = 0;
    for (int r = 0; r < 4; r++) {
      node_t root = {0};
      root.depth = 6;
      root.fan = 6;   /* up to 6^6 tasks per root: shutdown comes first */
      root.spawned = &spawned;
      root.drops = &drops;
      root.progress = &progress;
      TH_ASSERT_OK(ax_spawn_on(rt, AX_FUTURE_DROP(node_fn, node_on_drop, &root),
                               sizeof(root), NULL));
      atomic_fetch_add(&spawned, 1);
    }
    /* Shut down once the tree is well under way (an event, not a time). */
    while (atomic_load(&progress) < 2000 + round * 200) uv_sleep(1);
    ax_runtime_free(rt);
    ck_assert_int_eq(atomic_load(&drops), atomic_load(&spawned));
  }
}
END_TEST

/* ---- wakes from foreign threads racing the shutdown ---------------------- */

typedef struct {
  ax_future_t base;
  _Atomic(ax_waker_t *) *slot;
  _Atomic long *drops;
} sitter_t;

static ax_poll_t sitter_poll(ax_future_t *f, ax_cx_t *cx) {
  sitter_t *s = (sitter_t *)f;
  if (atomic_load(s->slot) == NULL)
    atomic_store(s->slot, ax_waker_clone(ax_cx_waker(cx)));
  return AX_PENDING;   /* forever; woken again and again */
}

static void sitter_drop(ax_future_t *f) {
  atomic_fetch_add(((sitter_t *)f)->drops, 1);
}

static const ax_future_vtable_t sitter_vt = {sitter_poll, sitter_drop,
                                             "sitter"};

typedef struct {
  _Atomic(ax_waker_t *) *slots;
  int n;
  _Atomic int *stop;
  _Atomic long *wakes;
} waker_arg_t;

static void waker_thread(void *arg) {
  waker_arg_t *a = arg;
  while (!atomic_load(a->stop)) {
    for (int k = 0; k < a->n; k++) {
      ax_waker_t *w = atomic_load(&a->slots[k]);
      if (w != NULL) {
        ax_waker_wake_by_ref(w);   /* the slot owns the clone */
        atomic_fetch_add(a->wakes, 1);
      }
    }
  }
}

START_TEST(foreign_wakes_race_shutdown) {
  enum { TASKS = 256, THREADS = 2 };
  int rounds = (int)ax_test_iters(20);
  for (int round = 0; round < rounds; round++) {
    ax_runtime_t *rt = mt_runtime(NULL);
    _Atomic(ax_waker_t *) slots[TASKS];
    _Atomic long drops = 0, wakes = 0;
    _Atomic int stop = 0;
    uv_thread_t thr[THREADS];
    waker_arg_t wa;
    for (int k = 0; k < TASKS; k++) atomic_init(&slots[k], NULL);
    wa.slots = slots;
    wa.n = TASKS;
    wa.stop = &stop;
    wa.wakes = &wakes;
    for (int k = 0; k < TASKS; k++) {
      sitter_t s = {{&sitter_vt}, &slots[k], &drops};
      TH_ASSERT_OK(ax_spawn_on(rt, &s.base, sizeof(s), NULL));
    }
    for (int k = 0; k < THREADS; k++)
      ck_assert_int_eq(uv_thread_create(&thr[k], waker_thread, &wa), 0);
    /* Let the wakes flow, then shut down under them. */
    while (atomic_load(&wakes) < 10000) uv_sleep(1);
    ax_runtime_free(rt);
    atomic_store(&stop, 1);
    for (int k = 0; k < THREADS; k++) uv_thread_join(&thr[k]);
    ck_assert_int_eq(atomic_load(&drops), TASKS);
    /* The wakers outlive the runtime; dropping them frees the tasks. */
    for (int k = 0; k < TASKS; k++) {
      ax_waker_t *w = atomic_load(&slots[k]);
      if (w != NULL) ax_waker_drop(w);
    }
  }
}
END_TEST

Suite *ax_stress_suite(void) {
  return AX_SUITE("stress",
                  AX_CASE("spawn", 120),
                  AX_ONCE(spawn_million_inside),
                  AX_ONCE(spawn_million_outside),
                  AX_CASE("wake", 120),
                  AX_ONCE(wakes_from_foreign_threads),
                  AX_ONCE(ping_pong_foreign_thread),
                  AX_CASE("race", 120),
                  AX_ONCE(aborts_race_completion),
                  AX_ONCE(aborts_from_task_race_completion),
                  AX_ONCE(join_drops_race_completion),
                  AX_CASE("shutdown", 120),
                  AX_ONCE(shutdown_while_stealing),
                  AX_ONCE(foreign_wakes_race_shutdown));
}
